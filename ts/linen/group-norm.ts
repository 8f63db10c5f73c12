// `nn.GroupNorm` and `nn.InstanceNorm` (flax.linen.normalization, spec e.4): LayerNorm's
// statistics and normalisation (normalization.ts) over other axes. GroupNorm takes its
// statistics per group of channels (x reshaped to `[..., groups, groupSize]`) and repeats them
// back over the channels; InstanceNorm reduces every axis but the batch and the feature axes.
import { codedError, codedRangeError, codedTypeError, optionsArg, showShape } from '../coded-error'
import { ValueError } from '../errors'
import { describe, type DType, type Tensor } from '../tensor'
import * as jnp from '../jnp'
import { compact } from './compact'
import { type Initializer, ones, zeros } from './initializers'
import { Module, type ModuleProps } from './module'
import { constructed, tensorArg } from './module-internals'
import { axesProp, computeStats, maskArg, normalize, normParams, type NormBiasProps, type NormCallOptions } from './normalization'

export interface GroupNormProps extends NormBiasProps {
  /** Number of channel groups (32, the paper's, by default); null when `groupSize` is given. */
  numGroups?: number | null
  /** Channels per group, instead of `numGroups` (which must then be null). */
  groupSize?: number | null
  /** Statistics axes; must include the last (the channels). Default: all but the first. */
  reductionAxes?: number | readonly number[] | null
}

export interface InstanceNormProps extends NormBiasProps {
  /** Axes of the learned scale and bias (never the batch axis 0); the others but 0 are reduced. */
  featureAxes?: number | readonly number[]
}

/** An integer-or-null prop: Flax asserts `isinstance(num_groups, int)`; JS says which prop. */
function optionalInt(mdl: Module, prop: string, v: unknown): number | null {
  if (v === null || v === undefined) return null
  if (!Number.isInteger(v)) throw codedTypeError(`${mdl.constructor.name}: ${prop} must be an integer or null, got ${describe(v)}`)
  return v as number
}

/** Python's `a % b` for integers (the sign of b), as Flax's divisibility checks compute it. */
const pyMod = (a: number, b: number): number => ((a % b) + b) % b

/**
 * Group normalisation (Wu & He, 2018): statistics shared by groups of channels (the last axis)
 * and over `reductionAxes`, never across the batch; learned per-channel `scale` and `bias`.
 * `numGroups = 1` is LayerNorm over all but the batch axis, `groupSize = 1` is InstanceNorm.
 * `call(x, { mask })`.
 */
export class GroupNorm extends Module<GroupNormProps> {
  numGroups: number | null = 32
  groupSize: number | null = null
  epsilon = 1e-6
  dtype: DType | null = null
  paramDtype: DType = 'float32'
  useBias = true
  useScale = true
  biasInit: Initializer = zeros
  scaleInit: Initializer = ones
  reductionAxes: number | readonly number[] | null = null
  useFastVariance = true

  constructor(props: ModuleProps<GroupNormProps> = {}) {
    super(props)
    constructed(this, new.target, GroupNorm)
  }

  @compact
  call(x: Tensor, options: NormCallOptions = {}): Tensor {
    x = tensorArg(this, 'call', 'x', x)
    const { mask = null } = optionsArg(options, 'GroupNorm.call')
    const params = normParams(this, 'GroupNorm')
    const nd = x.ndim
    const given = this.reductionAxes
    const defaultAxes = [...Array.from({ length: Math.max(nd - 2, 0) }, (_, i) => i + 1), -1]
    const red = axesProp(this, 'reductionAxes', given === null || given === undefined ? defaultAxes : given, nd)
    if (red[red.length - 1] !== nd - 1) throw new ValueError('The reduction axes must include the final dimension as this is assumed to be the feature axis.')
    const numGroupsProp = optionalInt(this, 'numGroups', this.numGroups)
    const groupSizeProp = optionalInt(this, 'groupSize', this.groupSize)
    if ((numGroupsProp === null) === (groupSizeProp === null)) {
      throw new ValueError(
        'Either `num_groups` or `group_size` should be specified. If `group_size` is to be specified, pass `num_groups=None` as argument to override the default `num_groups` value of 32.',
      )
    }
    const channels = x.shape[nd - 1]
    let numGroups: number
    if (groupSizeProp !== null) {
      // Flax fails on `channels % 0` with Python's ZeroDivisionError.
      if (groupSizeProp === 0) throw codedRangeError('E_ARG', 'GroupNorm: groupSize must not be 0 (Python: integer modulo by zero)')
      if (pyMod(channels, groupSizeProp) !== 0) throw new ValueError(`Number of channels (${channels}) is not multiple of the group size (${groupSizeProp}).`)
      numGroups = Math.floor(channels / groupSizeProp)
    } else {
      numGroups = numGroupsProp!
    }
    if (numGroups <= 0 || channels % numGroups !== 0) throw new ValueError(`Number of groups (${numGroups}) does not divide the number of channels (${channels}).`)
    const groupSize = channels / numGroups
    const groupShape = [...x.shape.slice(0, -1), numGroups, groupSize]
    let groupMask: Tensor | null = null
    if (mask !== null && mask !== undefined) {
      // Flax reshapes the mask's last axis into (groups, group size): it must be the channels.
      const m = tensorArg(this, 'call', 'mask', mask)
      if (m.ndim === 0 || m.shape[m.ndim - 1] !== channels) {
        throw codedError('E_SHAPE', `GroupNorm.call: mask of shape ${showShape(m.shape)} must have the ${channels} channels on its last axis`)
      }
      groupMask = maskArg(this, m.reshape([...m.shape.slice(0, -1), numGroups, groupSize]), groupShape)
    }
    // Reduced over the grouped shape's axes `red[:-1]` and the group (its new last axis); the
    // statistics (1 on the group axis) are repeated over the group's channels.
    const groupRed = [...red.slice(0, -1), nd]
    const stats = (x32: Tensor): [Tensor | null, Tensor] => {
      const [mean, variance] = computeStats(x32.reshape(groupShape), groupRed, { rms: false, useFastVariance: this.useFastVariance, mask: groupMask })
      const repeat = (t: Tensor): Tensor => {
        const kept = [...t.shape]
        kept[nd] = groupSize
        return jnp.broadcastTo(t, kept).reshape([...kept.slice(0, nd - 1), channels])
      }
      return [repeat(mean!), repeat(variance)]
    }
    return normalize(this, x, [nd - 1], params, stats)
  }
}

/**
 * Instance normalisation (Ulyanov et al., 2016): each example and each feature normalised over
 * the remaining axes (the spatial ones, for NHWC input); learned `scale` and `bias` of the
 * feature axes' shape. `call(x, { mask })`.
 */
export class InstanceNorm extends Module<InstanceNormProps> {
  epsilon = 1e-6
  dtype: DType | null = null
  paramDtype: DType = 'float32'
  useBias = true
  useScale = true
  biasInit: Initializer = zeros
  scaleInit: Initializer = ones
  featureAxes: number | readonly number[] = -1
  useFastVariance = true

  constructor(props: ModuleProps<InstanceNormProps> = {}) {
    super(props)
    constructed(this, new.target, InstanceNorm)
  }

  @compact
  call(x: Tensor, options: NormCallOptions = {}): Tensor {
    x = tensorArg(this, 'call', 'x', x)
    const { mask = null } = optionsArg(options, 'InstanceNorm.call')
    const params = normParams(this, 'InstanceNorm')
    const nd = x.ndim
    const feat = axesProp(this, 'featureAxes', this.featureAxes, nd)
    if (feat.includes(0)) throw new ValueError('The channel axes cannot include the leading dimension as this is assumed to be the batch axis.')
    const red = Array.from({ length: Math.max(nd - 1, 0) }, (_, i) => i + 1).filter((a) => !feat.includes(a))
    const stats = { red, rms: false, useFastVariance: this.useFastVariance, mask: maskArg(this, mask, x.shape) }
    return normalize(this, x, feat, params, stats)
  }
}
