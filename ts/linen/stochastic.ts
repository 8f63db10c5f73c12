// `nn.Dropout` (flax.linen.stochastic): zeroes inputs with probability `rate` and scales the
// kept ones by 1 / (1 - rate), from JAX's bernoulli mask — bit for bit Flax's mask for the same
// key, since the key comes from the same path and counter.
import { codedRangeError, codedTypeError } from '../coded-error'
import type { PRNGKey } from '../core'
import * as jnp from '../jnp'
import * as random from '../random'
import { describe, type Tensor } from '../tensor'
import { compact } from './compact'
import { mergeParam } from './merge-param'
import { Module } from './module'
import { tensorArg } from './module-internals'

export interface DropoutCallOptions {
  /** Overrides nothing: must be given here if and only if it was not given to the constructor. */
  deterministic?: boolean | null
  /** An explicit key; otherwise `makeRng(rngCollection)` in the Dropout's own scope. */
  rng?: PRNGKey | null
}

export interface DropoutProps {
  rate: number
  broadcastDims?: readonly number[]
  deterministic?: boolean | null
  rngCollection?: string
}

export class Dropout extends Module<DropoutProps> {
  rate!: number
  /** Axes along which the mask is shared (set to 1 in the mask shape). */
  broadcastDims: readonly number[] = []
  deterministic: boolean | null = null
  rngCollection = 'dropout'

  @compact
  call(inputs: Tensor, { deterministic = null, rng = null }: DropoutCallOptions = {}): Tensor {
    inputs = tensorArg(this, 'call', 'inputs', inputs)
    const det = mergeParam('deterministic', this.deterministic, deterministic)
    // Flax fails on `1.0 - None`; in JS `1 - null` is 1 and would silently drop nothing.
    if (typeof this.rate !== 'number') throw codedTypeError(`Dropout: rate must be a number, got ${describe(this.rate)}`)
    if (!(this.rate >= 0 && this.rate <= 1)) throw codedRangeError('E_ARG', `Dropout: rate must be in [0, 1], got ${this.rate}`)
    if (this.rate === 0.0 || det) return inputs
    // rate 1 would divide by zero: Flax returns zeros (and keeps gradients finite).
    if (this.rate === 1.0) return jnp.zeros(inputs.shape, inputs.dtype)
    const keepProb = 1.0 - this.rate
    const key = rng ?? this.makeRng(this.rngCollection)
    const maskShape = [...inputs.shape]
    if (!Array.isArray(this.broadcastDims)) throw codedTypeError(`Dropout: broadcastDims must be an array of axes, got ${describe(this.broadcastDims)}`)
    for (const d of this.broadcastDims) {
      // Python's list index raises on 1.5 and on out-of-range axes; a JS array would take them.
      if (typeof d !== 'number' || !Number.isInteger(d)) throw codedTypeError(`Dropout: broadcastDims entries must be integers, got ${typeof d === 'number' ? d : describe(d)}`)
      if (d < -maskShape.length || d >= maskShape.length) {
        throw codedRangeError('E_ARG', `Dropout: broadcastDims axis ${d} is out of bounds for inputs of shape [${maskShape.join(', ')}]`)
      }
      maskShape[d < 0 ? d + maskShape.length : d] = 1
    }
    // bernoulli = uniform(key, maskShape) < float32(keep): the mask of the broadcast shape, not
    // of the full one (the random bits depend on the shape drawn).
    const mask = jnp.broadcastTo(random.bernoulli(key, keepProb, maskShape), inputs.shape)
    return jnp.where(mask, divideByScalar(inputs, keepProb), 0)
  }
}

/**
 * `inputs / keep` as JAX computes it on CPU: XLA's vectorised loop multiplies by the float32
 * reciprocal of a broadcast scalar divisor instead of dividing (measured with jax 0.10.2: 0 of
 * 100k values differ from `x * f32(1 / f32(keep))`, 9% differ by an ulp from true division);
 * a one-element array is divided exactly.
 */
function divideByScalar(inputs: Tensor, divisor: number): Tensor {
  if (inputs.size < 2) return jnp.divide(inputs, divisor)
  return jnp.multiply(inputs, Math.fround(1 / Math.fround(divisor)))
}
