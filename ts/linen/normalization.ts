// `nn.LayerNorm` and `nn.RMSNorm` (flax.linen.normalization, spec e.4), and the machinery every
// normalisation layer shares (nn.BatchNorm in batch-norm.ts, nn.GroupNorm and nn.InstanceNorm in
// group-norm.ts): Flax's `_compute_stats` then `_normalize`, in the same operation order. When
// both the reduction and the feature axes are exactly the last axis and there is no mask (the
// common LayerNorm / RMSNorm case) one fused native kernel does the whole layer; anything else
// composes jnp ops. Both round the same steps to float32 and sum in float64, so the path does
// not change an output (bit-identical on every case measured; the sums' order differs, which
// could in principle move a mean by one float32 ulp).
import { codedError, codedTypeError, optionsArg, showShape } from '../coded-error'
import * as jnp from '../jnp'
import { op1, opCode } from '../ops'
import { describe, Tensor, type DType } from '../tensor'
import { compact } from './compact'
import { type Initializer, ones, zeros } from './initializers'
import { Module, type ModuleProps } from './module'
import { constructed, intsProp, tensorArg } from './module-internals'
import { canonicalizeDtype, checkDtypeField } from './dtypes'
import { canonicalizeAxes } from './norm-helpers'

const LAYER_NORM = opCode('layer_norm')

// ---- the shared machinery ----------------------------------------------------------------------

/** What `_compute_stats` is asked for. */
export interface StatsSettings {
  /** RMSNorm (`use_mean=False`): mean 0, var = mean(x²). */
  rms: boolean
  useFastVariance: boolean
  /** Only where it is true enter the means (JAX's `mean(where=mask)`); bool, broadcastable to x. */
  mask?: Tensor | null
}

/**
 * `_compute_stats` of float32 `x` over the canonical axes `red`, keeping the reduced axes (Flax
 * expands them back before use, which is the same). The mean is null for RMSNorm (zero).
 */
export function computeStats(x: Tensor, red: number[], s: StatsSettings): [Tensor | null, Tensor] {
  const keep = { keepdims: true }
  const mask = s.mask ?? null
  // `mean(v, where=mask)` is JAX's `sum(where(mask, v, 0)) / sum(broadcast mask)`, in float32.
  // (XLA sometimes turns the division into a product with the count's float32 reciprocal — e.g.
  // for a mask broadcast over the features — which can move a mean by one ulp.)
  const count = mask === null ? null : jnp.sum(jnp.broadcastTo(mask, x.shape).astype('float32'), red, keep)
  const mean = (v: Tensor): Tensor => (mask === null ? jnp.mean(v, red, keep) : jnp.divide(jnp.sum(jnp.where(mask, v, 0), red, keep), count!))
  if (s.rms) return [null, mean(jnp.square(x))]
  const mu = mean(x)
  if (s.useFastVariance) {
    const mu2 = mean(jnp.square(x))
    // mean(x²) − mean² can round below zero; Flax clips it.
    return [mu, jnp.maximum(0, jnp.subtract(mu2, jnp.square(mu)))]
  }
  return [mu, mean(jnp.square(jnp.subtract(x, mu)))]
}

/**
 * `_normalize`'s arithmetic on float32 operands, in its order: `y = x - mean`, `mul =
 * rsqrt(var + eps) * scale`, `y * mul + bias`. mean and var broadcast against x; scale and bias
 * have the feature axes' sizes and are reshaped to `featureShape` (x's shape, 1 elsewhere).
 */
function scaleAndShift(x: Tensor, mean: Tensor | null, variance: Tensor, scale: Tensor | null, bias: Tensor | null, featureShape: number[], epsilon: number): Tensor {
  let y = mean === null ? x : jnp.subtract(x, mean) // RMS: x - 0 is x
  let mul = jnp.rsqrt(jnp.add(variance, epsilon))
  if (scale !== null) mul = jnp.multiply(mul, scale.reshape(featureShape))
  y = jnp.multiply(y, mul)
  if (bias !== null) y = jnp.add(y, bias.reshape(featureShape))
  return y
}

/**
 * Axes outside the input's rank: Flax fails with an IndexError (`tuple index out of range`);
 * JS's analogue is a RangeError, thrown before any param is created.
 */
function checkAxes(axes: readonly number[], nd: number): readonly number[] {
  for (const a of axes) {
    if (!Number.isInteger(a) || a < -nd || a >= nd) {
      throw Object.assign(new RangeError(`axis ${a} is out of bounds for array of dimension ${nd}`), { code: 'E_ARG' })
    }
  }
  return axes
}

/** An axes prop (an integer or a list) of `mdl`, checked against rank `nd` and canonicalised. */
export function axesProp(mdl: Module, prop: string, value: unknown, nd: number): number[] {
  return canonicalizeAxes(nd, checkAxes(intsProp(mdl, prop, value), nd))
}

/**
 * A call's `mask` (null when absent): a tensor that broadcasts to `shape`, as bool (JAX's
 * `asarray(mask, bool)`: non-zero is true). A mask larger than the input is refused.
 */
export function maskArg(mdl: Module, mask: unknown, shape: readonly number[]): Tensor | null {
  if (mask === null || mask === undefined) return null
  const m = tensorArg(mdl, 'call', 'mask', mask)
  const off = shape.length - m.ndim
  if (off < 0 || !m.shape.every((d, i) => d === 1 || d === shape[off + i])) {
    throw codedError('E_SHAPE', `${mdl.constructor.name}.call: mask of shape ${showShape(m.shape)} does not broadcast to the input's shape ${showShape(shape)}`)
  }
  return m.dtype === 'bool' ? m : jnp.notEqual(m, 0)
}

/** A param as the float32 computation uses it (`mul *= scale` and `y += bias` promote to it). */
const asF32 = (t: Tensor): Tensor => (t.dtype === 'float32' ? t : t.astype('float32'))

const checkParam = (t: Tensor): Tensor => {
  // An init function may return anything; say so rather than fail on `t.dtype`.
  if (!(t instanceof Tensor)) throw codedTypeError(`normalization: scaleInit/biasInit must return a Tensor, got ${describe(t)}`)
  return t
}

/** The fields `_normalize` takes from the layer. */
export interface NormParams {
  epsilon: number
  useScale: boolean
  useBias: boolean
  scaleInit: Initializer
  biasInit: Initializer
  paramDtype: DType
  /** The layer's `dtype` (the result's; null: promoted from x and the params). */
  dtype: DType | null
}

/**
 * A layer's `NormParams` from its fields (its `dtype` field checked); a layer without a bias
 * (RMSNorm) has no `useBias` / `biasInit` fields and gets none.
 */
export function normParams(mdl: Module & Omit<NormParams, 'useBias' | 'biasInit'> & Partial<NormParams>, who: string): NormParams {
  const { epsilon, useScale, scaleInit, useBias = false, biasInit = zeros, paramDtype } = mdl
  return { epsilon, useScale, scaleInit, useBias, biasInit, paramDtype, dtype: checkDtypeField(mdl.dtype, who) }
}

/**
 * Where the statistics come from: `_compute_stats` over the canonical axes `red` (`StatsSettings`
 * plus `red`), or the caller's function of the float32 input, returning mean (null: zero) and
 * var broadcastable to it (BatchNorm's running averages, GroupNorm's per-group statistics).
 */
export type StatsSource = (StatsSettings & { red: number[] }) | ((x: Tensor) => [Tensor | null, Tensor])

/** Settings of the composed path: `StatsSettings` with the canonical reduction axes. */
export interface ComposedNorm extends StatsSettings {
  epsilon: number
  /** Canonical (non-negative, sorted) reduction axes. */
  red: number[]
  /** x's shape with 1 on every non-feature axis: how scale and bias broadcast. */
  featureShape: number[]
}

/**
 * `_compute_stats` and `_normalize` from jnp ops, for any axes (float32 `x`). Exported so the
 * tests can check that it agrees with the fused kernel on last-axis cases.
 */
export function composedNormalize(x: Tensor, scale: Tensor | null, bias: Tensor | null, s: ComposedNorm): Tensor {
  const [mean, variance] = computeStats(x, s.red, s)
  return scaleAndShift(x, mean, variance, scale, bias, s.featureShape, s.epsilon)
}

/**
 * Statistics and normalisation of `x` inside `mdl` (which owns the params), features on the
 * canonical axes `feat`: the statistics first (as in Flax, where `_compute_stats` runs before
 * `_normalize`), then scale before bias (their 'params' RNG counters), both with the sizes of
 * x's feature axes.
 */
export function normalize(mdl: Module, x: Tensor, feat: number[], p: NormParams, stats: StatsSource): Tensor {
  const input = x
  // Statistics are at least float32 (`promote_types(dtype, float32)`), and `x - mean`, the
  // scale and the bias all compute in float32 with them: integer, bool and half-precision
  // inputs and params are widened (exactly, for the half dtypes). The result is cast once to
  // `dtype`, else to the promoted dtype of x and the params (Flax's `canonicalize_dtype`).
  if (x.dtype !== 'float32') x = x.astype('float32')
  const nd = x.ndim
  const lastOnly = (axes: number[]) => axes.length === 1 && axes[0] === nd - 1
  const fused = typeof stats !== 'function' && !stats.mask && lastOnly(stats.red) && lastOnly(feat)
  const [mean, variance] = fused ? [null, null] : typeof stats === 'function' ? stats(x) : computeStats(x, stats.red, stats)
  const reducedFeatureShape = feat.map((a) => x.shape[a])
  const scaleP: Tensor | null = p.useScale ? checkParam(mdl.param('scale', p.scaleInit, reducedFeatureShape, p.paramDtype)) : null
  const biasP: Tensor | null = p.useBias ? checkParam(mdl.param('bias', p.biasInit, reducedFeatureShape, p.paramDtype)) : null
  const outDtype = canonicalizeDtype([input, scaleP, biasP], p.dtype)
  const scale = scaleP === null ? null : asF32(scaleP)
  const bias = biasP === null ? null : asF32(biasP)

  let y: Tensor
  if (fused) {
    const s = stats as StatsSettings
    y = new Tensor(op1(LAYER_NORM, x.handle, scale?.handle ?? null, bias?.handle ?? null, p.epsilon, s.rms, s.useFastVariance))
  } else {
    const featureShape = x.shape.map((d, i) => (feat.includes(i) ? d : 1))
    y = scaleAndShift(x, mean, variance!, scale, bias, featureShape, p.epsilon)
  }
  if (x !== input) x.dispose()
  if (scale !== scaleP) scale?.dispose()
  if (bias !== biasP) bias?.dispose()
  if (y.dtype === outDtype) return y
  const out = y.astype(outDtype)
  y.dispose()
  return out
}

// ---- the layers --------------------------------------------------------------------------------

/** The last argument of LayerNorm / RMSNorm / GroupNorm / InstanceNorm calls (Flax's keyword `mask`). */
export interface NormCallOptions {
  /** Where the statistics are taken: a tensor broadcastable to x (non-zero = included). */
  mask?: Tensor | null
}

/** The fields every normalisation layer has. */
export interface NormBaseProps {
  epsilon?: number
  /** Result dtype; null = the promoted dtype of x and the params (statistics are float32). */
  dtype?: DType | null
  paramDtype?: DType
  useScale?: boolean
  scaleInit?: Initializer
  /** `E[x²] − E[x]²` (one pass) rather than `E[(x − E[x])²]`; less accurate far from zero. */
  useFastVariance?: boolean
}

/** The fields of the layers with a bias too. */
export interface NormBiasProps extends NormBaseProps {
  useBias?: boolean
  biasInit?: Initializer
}

interface NormAxesProps {
  reductionAxes?: number | readonly number[]
  featureAxes?: number | readonly number[]
}

export type LayerNormProps = NormBiasProps & NormAxesProps
export type RMSNormProps = NormBaseProps & NormAxesProps

/**
 * Layer normalisation (Ba et al., 2016): each example normalised over `reductionAxes` to mean
 * 0 and variance 1, then a learned per-feature `scale` and `bias` (params `{scale, bias}` of
 * the feature shape, created in that order). `call(x, { mask })`.
 */
export class LayerNorm extends Module<LayerNormProps> {
  epsilon = 1e-6
  /** Result dtype; null = the promoted dtype of x and the params (statistics are float32). */
  dtype: DType | null = null
  paramDtype: DType = 'float32'
  useBias = true
  useScale = true
  biasInit: Initializer = zeros
  scaleInit: Initializer = ones
  reductionAxes: number | readonly number[] = -1
  featureAxes: number | readonly number[] = -1
  /** `E[x²] − E[x]²` (one pass) rather than `E[(x − E[x])²]`; less accurate far from zero. */
  useFastVariance = true

  constructor(props: ModuleProps<LayerNormProps> = {}) {
    super(props)
    constructed(this, new.target, LayerNorm)
  }

  @compact
  call(x: Tensor, options: NormCallOptions = {}): Tensor {
    x = tensorArg(this, 'call', 'x', x)
    const { mask = null } = optionsArg(options, 'LayerNorm.call')
    const params = normParams(this, 'LayerNorm')
    const red = axesProp(this, 'reductionAxes', this.reductionAxes, x.ndim)
    const feat = axesProp(this, 'featureAxes', this.featureAxes, x.ndim)
    const stats = { red, rms: false, useFastVariance: this.useFastVariance, mask: maskArg(this, mask, x.shape) }
    return normalize(this, x, feat, params, stats)
  }
}

/**
 * RMS layer normalisation (Zhang & Sennrich, 2019): `x * rsqrt(mean(x²) + eps) * scale`, no
 * centring and no bias (params `{scale}`). `call(x, { mask })`.
 */
export class RMSNorm extends Module<RMSNormProps> {
  epsilon = 1e-6
  dtype: DType | null = null
  paramDtype: DType = 'float32'
  useScale = true
  scaleInit: Initializer = ones
  reductionAxes: number | readonly number[] = -1
  featureAxes: number | readonly number[] = -1
  /** Accepted and ignored, as in Flax (RMSNorm has no mean to subtract). */
  useFastVariance = true

  constructor(props: ModuleProps<RMSNormProps> = {}) {
    super(props)
    constructed(this, new.target, RMSNorm)
  }

  @compact
  call(x: Tensor, options: NormCallOptions = {}): Tensor {
    x = tensorArg(this, 'call', 'x', x)
    const { mask = null } = optionsArg(options, 'RMSNorm.call')
    const params = normParams(this, 'RMSNorm')
    const red = axesProp(this, 'reductionAxes', this.reductionAxes, x.ndim)
    const feat = axesProp(this, 'featureAxes', this.featureAxes, x.ndim)
    const stats = { red, rms: true, useFastVariance: false, mask: maskArg(this, mask, x.shape) }
    return normalize(this, x, feat, params, stats)
  }
}
