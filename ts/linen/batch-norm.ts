// `nn.BatchNorm` (flax.linen.normalization, spec e.4): statistics over every axis but the
// feature axes, either of the batch (training: the running averages in `batch_stats` move
// toward them) or the stored running averages (evaluation). The normalisation itself is
// LayerNorm's (normalization.ts), as in Flax, where both call `_compute_stats` / `_normalize`.
import { codedTypeError, optionsArg } from '../coded-error'
import * as jnp from '../jnp'
import { describe, Tensor, type DType } from '../tensor'
import { compact } from './compact'
import { type Initializer, ones, zeros } from './initializers'
import { mergeParam } from './merge-param'
import { Module, type ModuleProps } from './module'
import { constructed, tensorArg } from './module-internals'
import { axesProp, computeStats, maskArg, normalize, normParams, type NormBiasProps } from './normalization'

export interface BatchNormProps extends NormBiasProps {
  /** Normalise with the stored statistics; null: must be given at call time instead. */
  useRunningAverage?: boolean | null
  /** The feature axis or axes (the others are reduced); params and statistics have their shape. */
  axis?: number | readonly number[]
  /** Decay of the running averages: `ra = momentum * ra + (1 - momentum) * batch`. */
  momentum?: number
}

/** The options of `BatchNorm.call` (Flax's keyword `mask`; `useRunningAverage` may be given here too). */
export interface BatchNormCallOptions {
  /** Where the batch statistics are taken: a tensor broadcastable to x (non-zero = included). */
  mask?: Tensor | null
  /** As the second argument (when the options come second). */
  useRunningAverage?: boolean | null
}

const isOptions = (v: unknown): v is BatchNormCallOptions => typeof v === 'object' && v !== null

/**
 * Batch normalisation (Ioffe & Szegedy, 2015). Variables `batch_stats/mean` (zeros) and
 * `batch_stats/var` (ones) of the feature shape, float32, then params `scale`, `bias`.
 * `call(x, useRunningAverage?, { mask })` or `call(x, { useRunningAverage, mask })`;
 * `useRunningAverage` is given to the constructor or to the call, exactly once. Training
 * (`false`) updates the running averages unless initialising: `batch_stats` must be mutable
 * (`applyWith(v, { mutable: ['batch_stats'] }, x)`).
 */
export class BatchNorm extends Module<BatchNormProps> {
  useRunningAverage: boolean | null = null
  axis: number | readonly number[] = -1
  momentum = 0.99
  epsilon = 1e-5
  /** Result dtype; null = the promoted dtype of x and the params (statistics are float32). */
  dtype: DType | null = null
  paramDtype: DType = 'float32'
  useBias = true
  useScale = true
  biasInit: Initializer = zeros
  scaleInit: Initializer = ones
  /** `E[x²] − E[x]²` (one pass) rather than `E[(x − E[x])²]`; less accurate far from zero. */
  useFastVariance = true

  constructor(props: ModuleProps<BatchNormProps> = {}) {
    super(props)
    constructed(this, new.target, BatchNorm)
  }

  @compact
  call(x: Tensor, useRunningAverage?: boolean | null | BatchNormCallOptions, options?: BatchNormCallOptions): Tensor {
    x = tensorArg(this, 'call', 'x', x)
    let ura: unknown = useRunningAverage
    let opts: BatchNormCallOptions = {}
    if (isOptions(useRunningAverage)) {
      if (options !== undefined) throw codedTypeError('BatchNorm.call: the options come once, second or third (call(x, useRunningAverage, { mask }) or call(x, { useRunningAverage, mask }))')
      opts = optionsArg(useRunningAverage, 'BatchNorm.call')
      ura = opts.useRunningAverage
    } else {
      opts = optionsArg(options, 'BatchNorm.call')
      if (opts.useRunningAverage !== undefined) throw codedTypeError("BatchNorm.call() got multiple values for argument 'useRunningAverage'")
    }
    for (const [name, v] of [['useRunningAverage', this.useRunningAverage], ['call: useRunningAverage', ura]] as const) {
      if (v !== null && v !== undefined && typeof v !== 'boolean') throw codedTypeError(`BatchNorm: ${name} must be a boolean or null, got ${describe(v)}`)
    }
    const running = mergeParam('use_running_average', this.useRunningAverage, ura as boolean | null | undefined)
    if (typeof this.momentum !== 'number') throw codedTypeError(`BatchNorm: momentum must be a number, got ${describe(this.momentum)}`)
    const params = normParams(this, 'BatchNorm')
    const nd = x.ndim
    const feat = axesProp(this, 'axis', this.axis, nd)
    const red = Array.from({ length: nd }, (_, i) => i).filter((i) => !feat.includes(i))
    const featureShape = feat.map((a) => x.shape[a])

    const raMean = this.variable('batch_stats', 'mean', (s: number[]) => jnp.zeros(s, 'float32'), featureShape)
    const raVar = this.variable('batch_stats', 'var', (s: number[]) => jnp.ones(s, 'float32'), featureShape)

    let stats: (x32: Tensor) => [Tensor, Tensor]
    if (running) {
      // The stored statistics, expanded over the reduction axes (`jnp.expand_dims`, as Flax).
      const stored = (v: unknown, name: string): Tensor => {
        if (!(v instanceof Tensor)) throw codedTypeError(`BatchNorm: batch_stats/${name} must be a Tensor, got ${describe(v)}`)
        return jnp.expandDims(v.dtype === 'float32' ? v : v.astype('float32'), red)
      }
      stats = () => [stored(raMean.value, 'mean'), stored(raVar.value, 'var')]
    } else {
      // Only the batch statistics read the mask (Flax ignores it with the running averages).
      const mask = maskArg(this, opts.mask, x.shape)
      stats = (x32) => {
        const [mean, variance] = computeStats(x32, red, { rms: false, useFastVariance: this.useFastVariance, mask }) as [Tensor, Tensor]
        // During init the running averages stay at their initial values.
        if (!this.isInitializing()) {
          const m = this.momentum
          // `momentum * ra + (1 - momentum) * batch`: both factors are float32 (weakly typed
          // scalars), 1 - momentum rounded from the float64 difference, as in Python.
          raMean.value = jnp.add(jnp.multiply(raMean.value, m), jnp.multiply(mean.reshape(featureShape), 1 - m))
          raVar.value = jnp.add(jnp.multiply(raVar.value, m), jnp.multiply(variance.reshape(featureShape), 1 - m))
        }
        return [mean, variance]
      }
    }
    return normalize(this, x, feat, params, stats)
  }
}
