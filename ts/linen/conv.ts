// flax.linen's convolutions: `nn.Conv` (one kernel shared by every position), `nn.ConvLocal`
// (one kernel per output position) and `nn.ConvTranspose`. Inputs are channels-last
// (batch..., spatial..., features): extra batch axes are flattened into one for the
// convolution and restored, a missing one is added, as in Flax.
import { codedError, codedTypeError } from '../coded-error'
import { NotImplementedError, ValueError, pyRepr, shapeRepr } from '../errors'
import * as jnp from '../jnp'
import { type ConvPadding, convGeneralDilated, convGeneralDilatedLocal, convTranspose, padtypeToPads } from '../lax'
import { describe, type DType, Tensor } from '../tensor'
import { compact } from './compact'
import { checkDtypeField, promoteDtype } from './dtypes'
import { type Initializer, lecunNormal, zerosInit } from './initializers'
import { Module, type ModuleProps } from './module'
import { constructed, intsProp, tensorArg } from './module-internals'

/** 'SAME', 'VALID', 'CIRCULAR', 'REFLECT', 'CAUSAL' (1-D), an int, or one int or (lo, hi) pair per spatial axis. */
export type PaddingLike = string | number | readonly (number | readonly [number, number])[]

/** Flax's `canonicalize_padding`: a string as it is, else one (lo, hi) pair per spatial axis. */
export function canonicalizePadding(padding: PaddingLike, rank: number): string | [number, number][] {
  if (typeof padding === 'string') return padding
  if (Number.isInteger(padding)) return new Array(rank).fill(0).map(() => [padding as number, padding as number])
  if (Array.isArray(padding) && padding.length === rank) {
    const pairs = padding.map((p: unknown) =>
      Number.isInteger(p) ? [p, p] : Array.isArray(p) && p.length === 2 && p.every(Number.isInteger) ? [p[0], p[1]] : null,
    )
    if (pairs.every((p) => p !== null)) return pairs as [number, number][]
  }
  throw new ValueError(`Invalid padding format: ${pyRepr(padding)}, should be str, int, or a sequence of len ${rank} where each element is an int or pair of ints.`)
}

const prod = (xs: readonly number[]) => xs.reduce((a, b) => a * b, 1)

/** Flax's `maybe_broadcast`: null means 1, an int is repeated for every spatial axis. */
function perAxis(m: Module, prop: string, v: unknown, rank: number): number[] {
  if (v === null || v === undefined) v = 1
  return typeof v === 'number' ? intsProp(m, prop, new Array(rank).fill(v)) : intsProp(m, prop, v)
}

/** (batch..., spatial..., features) as (N, spatial..., features), with the batch shape to restore. */
function flattenBatch(m: Module, x: Tensor, rank: number): [Tensor, number[] | null] {
  const nBatch = x.ndim - (rank + 1)
  if (nBatch < 0) {
    throw codedError('E_SHAPE', `${m.constructor.name}: inputs of shape ${shapeRepr(x.shape)} need (batch..., ${rank} spatial axes, features): at least ${rank + 1} axes`)
  }
  if (nBatch === 1) return [x, null]
  return [x.reshape([-1, ...x.shape.slice(nBatch)]), x.shape.slice(0, nBatch)]
}

const restoreBatch = (y: Tensor, batch: number[] | null): Tensor => (batch === null ? y : y.reshape([...batch, ...y.shape.slice(1)]))

function checkMask(mask: unknown, kernelShape: number[]): Tensor | null {
  if (mask === null || mask === undefined) return null
  if (!(mask instanceof Tensor)) throw codedTypeError(`mask must be a Tensor of the kernel's shape ${shapeRepr(kernelShape)} or null, got ${describe(mask)}`)
  if (mask.shape.length !== kernelShape.length || mask.shape.some((d, i) => d !== kernelShape[i])) {
    throw new ValueError(`Mask needs to have the same shape as weights. Shapes are: ${shapeRepr(mask.shape)}, ${shapeRepr(kernelShape)}`)
  }
  return mask
}

/** `y + bias`, the bias broadcast over y's leading axes. */
function addBias(y: Tensor, bias: Tensor | null): Tensor {
  if (bias === null) return y
  return jnp.add(y, bias.reshape([...new Array<number>(y.ndim - bias.ndim).fill(1), ...bias.shape]))
}

export interface ConvProps {
  features: number
  /** An int is a 1-D kernel (`[k]`). */
  kernelSize: number | readonly number[]
  strides?: number | readonly number[] | null
  padding?: PaddingLike
  inputDilation?: number | readonly number[] | null
  kernelDilation?: number | readonly number[] | null
  featureGroupCount?: number
  useBias?: boolean
  /** Multiplies the kernel (same shape) before use: a masked convolution. */
  mask?: Tensor | null
  dtype?: DType | null
  paramDtype?: DType
  kernelInit?: Initializer
  biasInit?: Initializer
}

/** Flax's `_Conv`: what Conv and ConvLocal share; `sharedWeights` tells them apart. */
abstract class ConvBase extends Module<ConvProps> {
  features!: number
  kernelSize!: number | readonly number[]
  strides: number | readonly number[] | null = 1
  padding: PaddingLike = 'SAME'
  inputDilation: number | readonly number[] | null = 1
  kernelDilation: number | readonly number[] | null = 1
  featureGroupCount = 1
  useBias = true
  mask: Tensor | null = null
  dtype: DType | null = null
  paramDtype: DType = 'float32'
  kernelInit: Initializer = lecunNormal()
  biasInit: Initializer = zerosInit()

  protected abstract get sharedWeights(): boolean

  @compact
  call(inputs: Tensor): Tensor {
    const who = this.constructor.name
    inputs = tensorArg(this, 'call', 'inputs', inputs)
    checkDtypeField(this.dtype, who)
    const kernelSize = intsProp(this, 'kernelSize', this.kernelSize)
    const rank = kernelSize.length
    let [x, batch] = flattenBatch(this, inputs, rank)
    const strides = perAxis(this, 'strides', this.strides, rank)
    const inputDilation = perAxis(this, 'inputDilation', this.inputDilation, rank)
    const kernelDilation = perAxis(this, 'kernelDilation', this.kernelDilation, rank)
    let padding: string | [number, number][] = canonicalizePadding(this.padding, rank)
    if (padding === 'CIRCULAR' || padding === 'REFLECT') {
      const dilated = kernelSize.map((k, i) => (k - 1) * kernelDilation[i] + 1)
      const pads = [[0, 0], ...dilated.map((k) => [Math.floor((k - 1) / 2), Math.floor(k / 2)]), [0, 0]]
      x = jnp.pad(x, pads, { mode: padding === 'CIRCULAR' ? 'wrap' : 'reflect' })
      padding = 'VALID'
    } else if (padding === 'CAUSAL') {
      if (rank !== 1) throw new ValueError('Causal padding is only implemented for 1D convolutions.')
      x = jnp.pad(x, [[0, 0], [kernelDilation[0] * (kernelSize[0] - 1), 0], [0, 0]])
      padding = 'VALID'
    }
    const inFeatures = x.shape[x.ndim - 1]
    const groups = this.featureGroupCount
    if (!Number.isInteger(groups) || groups < 1) throw codedTypeError(`${who}: featureGroupCount must be a positive integer, got ${describe(groups)}`)

    let kernelShape: number[]
    let biasShape: number[]
    if (this.sharedWeights) {
      if (inFeatures % groups !== 0) {
        throw codedError('E_SHAPE', `${who}: input features (${inFeatures}) must be divisible by featureGroupCount (${groups})`)
      }
      kernelShape = [...kernelSize, inFeatures / groups, this.features]
      biasShape = [this.features]
    } else {
      if (groups !== 1) {
        throw new NotImplementedError(`\`lax.conv_general_dilated_local\` does not support \`feature_group_count != 1\`, got \`${groups}\`.`)
      }
      const out = convOutputSpatial(x.shape.slice(1, -1), kernelSize, strides, padding, inputDilation, kernelDilation)
      kernelShape = [...out, prod(kernelSize) * inFeatures, this.features]
      biasShape = [...out, this.features]
    }
    const mask = checkMask(this.mask, kernelShape)
    let kernel: Tensor = this.param('kernel', this.kernelInit, kernelShape, this.paramDtype)
    if (mask !== null) kernel = jnp.multiply(kernel, mask)
    let bias: Tensor | null = this.useBias ? this.param('bias', this.biasInit, biasShape, this.paramDtype) : null
    ;[x, kernel, bias] = promoteDtype(x, kernel, bias, this.dtype, who)

    const dimensionNumbers = channelsLast(rank)
    const y = this.sharedWeights
      ? convGeneralDilated(x, kernel, strides, padding as ConvPadding, { lhsDilation: inputDilation, rhsDilation: kernelDilation, dimensionNumbers, featureGroupCount: groups })
      : convGeneralDilatedLocal(x, kernel, strides, padding as ConvPadding, kernelSize, { lhsDilation: inputDilation, rhsDilation: kernelDilation, dimensionNumbers })
    return restoreBatch(addBias(y, bias), batch)
  }
}

/** Flax's `_conv_dimension_numbers`: NHWC / HWIO / NHWC for `rank` spatial axes. */
function channelsLast(rank: number): [string, string, string] {
  const sp = 'HWD'.slice(0, rank)
  return [`N${sp}C`, `${sp}IO`, `N${sp}C`]
}

/** The spatial shape of a convolution's output (what Flax gets from `eval_shape` for ConvLocal). */
function convOutputSpatial(inShape: number[], kernel: number[], strides: number[], padding: string | [number, number][], lhsDil: number[], rhsDil: number[]): number[] {
  const window = kernel.map((k, i) => (k - 1) * rhsDil[i] + 1)
  const pads = typeof padding === 'string' ? padtypeToPads(inShape, window, strides, padding, 'ConvLocal') : padding
  return inShape.map((n, i) => {
    const size = (n === 0 ? 0 : (n - 1) * lhsDil[i] + 1) + pads[i][0] + pads[i][1]
    return size < window[i] ? 0 : Math.floor((size - window[i]) / strides[i]) + 1
  })
}

/**
 * `nn.Conv`: a convolution (cross-correlation) over the spatial axes with one kernel of shape
 * `kernelSize + [inFeatures / featureGroupCount, features]` and a `[features]` bias.
 */
export class Conv extends ConvBase {
  protected get sharedWeights(): boolean {
    return true
  }

  constructor(props: ModuleProps<ConvProps>) {
    super(props)
    constructed(this, new.target, Conv)
  }
}

/**
 * `nn.ConvLocal`: an unshared ("locally connected") convolution: kernel `outSpatial +
 * [prod(kernelSize) * inFeatures, features]`, bias `outSpatial + [features]`.
 */
export class ConvLocal extends ConvBase {
  protected get sharedWeights(): boolean {
    return false
  }

  constructor(props: ModuleProps<ConvProps>) {
    super(props)
    constructed(this, new.target, ConvLocal)
  }
}

export interface ConvTransposeProps {
  features: number
  kernelSize: number | readonly number[]
  strides?: number | readonly number[] | null
  /** 'SAME', 'VALID', 'CIRCULAR', an int or per-axis ints / (lo, hi) pairs. */
  padding?: PaddingLike
  kernelDilation?: number | readonly number[] | null
  useBias?: boolean
  mask?: Tensor | null
  dtype?: DType | null
  paramDtype?: DType
  kernelInit?: Initializer
  biasInit?: Initializer
  /** Kernel `kernelSize + [features, inFeatures]`, flipped and transposed in use (Keras' convention). */
  transposeKernel?: boolean
}

/** `nn.ConvTranspose`: `lax.conv_transpose` with a `kernelSize + [inFeatures, features]` kernel. */
export class ConvTranspose extends Module<ConvTransposeProps> {
  features!: number
  kernelSize!: number | readonly number[]
  strides: number | readonly number[] | null = null
  padding: PaddingLike = 'SAME'
  kernelDilation: number | readonly number[] | null = null
  useBias = true
  mask: Tensor | null = null
  dtype: DType | null = null
  paramDtype: DType = 'float32'
  kernelInit: Initializer = lecunNormal()
  biasInit: Initializer = zerosInit()
  transposeKernel = false

  constructor(props: ModuleProps<ConvTransposeProps>) {
    super(props)
    constructed(this, new.target, ConvTranspose)
  }

  @compact
  call(inputs: Tensor): Tensor {
    inputs = tensorArg(this, 'call', 'inputs', inputs)
    checkDtypeField(this.dtype, 'ConvTranspose')
    const kernelSize = intsProp(this, 'kernelSize', this.kernelSize)
    const rank = kernelSize.length
    let [x, batch] = flattenBatch(this, inputs, rank)
    const strides = perAxis(this, 'strides', this.strides, rank)
    const kernelDilation = perAxis(this, 'kernelDilation', this.kernelDilation, rank)
    const inFeatures = x.shape[x.ndim - 1]
    const kernelShape = [...kernelSize, ...(this.transposeKernel ? [this.features, inFeatures] : [inFeatures, this.features])]
    const mask = checkMask(this.mask, kernelShape)
    let kernel: Tensor = this.param('kernel', this.kernelInit, kernelShape, this.paramDtype)
    if (mask !== null) kernel = jnp.multiply(kernel, mask)
    let padding = canonicalizePadding(this.padding, rank)
    const circular = padding === 'CIRCULAR'
    if (circular) padding = 'VALID'
    let bias: Tensor | null = this.useBias ? this.param('bias', this.biasInit, [this.features], this.paramDtype) : null
    ;[x, kernel, bias] = promoteDtype(x, kernel, bias, this.dtype, 'ConvTranspose')
    let y = convTranspose(x, kernel, strides, padding as ConvPadding, { rhsDilation: kernelDilation, dimensionNumbers: channelsLast(rank), transposeKernel: this.transposeKernel })
    if (circular) y = wrapPeriodic(y, x.shape.slice(1, -1).map((n, i) => n * strides[i]), this.transposeKernel)
    return restoreBatch(addBias(y, bias), batch)
  }
}

/**
 * CIRCULAR ConvTranspose: the output is periodic with period `in * stride` on each spatial
 * axis. Pad it to a whole number of periods (the odd pixel on the left, or on the right with a
 * transposed kernel, as Flax aligns it) and fold the periods onto one by summing.
 */
function wrapPeriodic(y: Tensor, periods: number[], transposeKernel: boolean): Tensor {
  const diffs = periods.map((p, i) => (((p - y.shape[i + 1]) % (2 * p)) + 2 * p) % (2 * p))
  const pads = diffs.map((d) => (transposeKernel ? [Math.floor(d / 2), Math.floor((d + 1) / 2)] : [Math.floor((d + 1) / 2), Math.floor(d / 2)]))
  y = jnp.pad(y, [[0, 0], ...pads, [0, 0]])
  for (let i = 1; i < y.ndim - 1; i++) {
    y = jnp.sum(y.reshape([...y.shape.slice(0, i), -1, periods[i - 1], ...y.shape.slice(i + 1)]), i)
  }
  return y
}
