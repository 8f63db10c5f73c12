// Activations (flax.linen re-exports of jax.nn) and the one with a parameter, PReLU.
import { withAbstractShape } from '../core'
import * as jnp from '../jnp'
import { codedTypeError } from '../coded-error'
import { describe, type DType, type Tensor } from '../tensor'
import { compact } from './compact'
import { Module } from './module'

/** `relu(x) = max(x, 0)`. */
export function relu(x: Tensor): Tensor {
  return jnp.relu(x)
}

// jax.nn's keyword arguments are an options object here (`nn.gelu(x, { approximate: false })`);
// jnp's own functions keep JAX's positional form (`jnp.gelu(x, false)`).

function options<T extends object>(opts: unknown, name: string): Partial<T> {
  if (opts === undefined) return {}
  if (opts === null || typeof opts !== 'object' || Array.isArray(opts)) {
    throw codedTypeError(`${name}: options must be an object, got ${describe(opts)}`)
  }
  return opts as Partial<T>
}

export interface GeluOptions {
  /** The tanh approximation (JAX's default, true) or the exact erf form (false). */
  approximate?: boolean
}

/** `jax.nn.gelu(x, approximate=True)`. */
export function gelu(x: Tensor, opts?: GeluOptions): Tensor {
  const { approximate = true } = options<GeluOptions>(opts, 'gelu')
  return jnp.gelu(x, approximate)
}

/** `jax.nn.sigmoid`: `1 / (1 + exp(-x))`. */
export function sigmoid(x: Tensor): Tensor {
  return jnp.sigmoid(x)
}

/** `jax.nn.silu` (= swish): `x * sigmoid(x)`. */
export function silu(x: Tensor): Tensor {
  return jnp.silu(x)
}
export const swish = silu

/** `jax.nn.tanh`. */
export function tanh(x: Tensor): Tensor {
  return jnp.tanh(x)
}

export interface AxisOptions {
  /** The axis or axes to normalise over (default -1; null: all). */
  axis?: number | readonly number[] | null
}

/** `jax.nn.softmax(x, axis=-1)`. */
export function softmax(x: Tensor, opts?: AxisOptions): Tensor {
  const { axis = -1 } = options<AxisOptions>(opts, 'softmax')
  return jnp.softmax(x, axis)
}

/** `jax.nn.log_softmax(x, axis=-1)`. */
export function logSoftmax(x: Tensor, opts?: AxisOptions): Tensor {
  const { axis = -1 } = options<AxisOptions>(opts, 'logSoftmax')
  return jnp.logSoftmax(x, axis)
}

/** `jax.nn.one_hot(x, num_classes, dtype=float32, axis=-1)`. */
export function oneHot(x: Tensor | number | readonly number[], numClasses: number, opts?: jnp.OneHotOptions): Tensor {
  return jnp.oneHot(x, numClasses, options<jnp.OneHotOptions>(opts, 'oneHot'))
}

/** `nn.PReLU`: `where(x >= 0, x, slope * x)` with a learned scalar `negative_slope`. */
export class PReLU extends Module<{ paramDtype?: DType; negativeSlopeInit?: number }> {
  paramDtype: DType = 'float32'
  negativeSlopeInit = 0.01

  @compact
  call(inputs: Tensor): Tensor {
    const init = this.negativeSlopeInit
    const dtype = this.paramDtype
    // `lambda k: jnp.asarray(negative_slope_init, param_dtype)`: a scalar, the key unused.
    const slopeInit = withAbstractShape((_key: unknown) => jnp.full([], init, dtype), () => [])
    const negativeSlope: Tensor = this.param('negative_slope', slopeInit)
    return jnp.where(jnp.greaterEqual(inputs, 0), inputs, jnp.multiply(negativeSlope.astype(inputs.dtype), inputs))
  }
}
