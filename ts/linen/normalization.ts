// `nn.LayerNorm` and `nn.RMSNorm` (flax.linen.normalization, spec e.4): Flax's `_compute_stats`
// then `_normalize`, in the same operation order. When both the reduction and the feature axes
// are exactly the last axis (the common case) one fused native kernel does the whole layer;
// any other axes compose jnp ops. Both round the same steps to float32 and sum in float64, so
// the path does not change an output (bit-identical on every case measured; the sums' order
// differs, which could in principle move a mean by one float32 ulp).
import { codedTypeError } from '../coded-error'
import * as jnp from '../jnp'
import { op1, opCode } from '../ops'

const LAYER_NORM = opCode('layer_norm')
import { describe, Tensor, type DType } from '../tensor'
import { compact } from './compact'
import { type Initializer, ones, zeros } from './initializers'
import { Module, type ModuleProps } from './module'
import { constructed, intsProp, tensorArg } from './module-internals'
import { canonicalizeDtype, checkDtypeField } from './dtypes'
import { canonicalizeAxes } from './norm-helpers'

interface NormSettings {
  epsilon: number
  /** RMSNorm: mean 0, var = mean(x²). */
  rms: boolean
  useFastVariance: boolean
  reductionAxes: number | readonly number[]
  featureAxes: number | readonly number[]
  useScale: boolean
  useBias: boolean
  scaleInit: Initializer
  biasInit: Initializer
  paramDtype: DType
  /** The layer's `dtype` (the result's; null: promoted from x and the params). */
  dtype: DType | null
}

/** `_compute_stats` over `red`, keeping the reduced axes (Flax expands them back before use). */
function stats(x: Tensor, red: number[], s: { rms: boolean; useFastVariance: boolean }): [Tensor | null, Tensor] {
  const keep = { keepdims: true }
  if (s.rms) return [null, jnp.mean(jnp.square(x), red, keep)]
  const mu = jnp.mean(x, red, keep)
  if (s.useFastVariance) {
    const mu2 = jnp.mean(jnp.square(x), red, keep)
    // mean(x²) − mean² can round below zero; Flax clips it.
    return [mu, jnp.maximum(0, jnp.subtract(mu2, jnp.square(mu)))]
  }
  return [mu, jnp.mean(jnp.square(jnp.subtract(x, mu)), red, keep)]
}

/**
 * Axes outside the input's rank: Flax fails with an IndexError (`tuple index out of range`);
 * JS's analogue is a RangeError, thrown before any param is created.
 */
function checkAxes(axes: number | readonly number[], nd: number): number | readonly number[] {
  for (const a of typeof axes === 'number' ? [axes] : axes) {
    if (!Number.isInteger(a) || a < -nd || a >= nd) {
      throw Object.assign(new RangeError(`axis ${a} is out of bounds for array of dimension ${nd}`), { code: 'E_ARG' })
    }
  }
  return axes
}

/** A param as the float32 computation uses it (`mul *= scale` and `y += bias` promote to it). */
const asF32 = (t: Tensor): Tensor => {
  // An init function may return anything; say so rather than fail on `t.dtype`.
  if (!(t instanceof Tensor)) throw codedTypeError(`normalization: scaleInit/biasInit must return a Tensor, got ${describe(t)}`)
  return t.dtype === 'float32' ? t : t.astype('float32')
}

const checkParam = (t: Tensor): Tensor => {
  if (!(t instanceof Tensor)) throw codedTypeError(`normalization: scaleInit/biasInit must return a Tensor, got ${describe(t)}`)
  return t
}

/** Settings of the composed path: the layer's, with the axes canonicalised. */
export interface ComposedNorm {
  epsilon: number
  rms: boolean
  useFastVariance: boolean
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
  const [mean, variance] = stats(x, s.red, s)
  let y = mean === null ? x : jnp.subtract(x, mean) // RMS: x - 0 is x
  let mul = jnp.rsqrt(jnp.add(variance, s.epsilon))
  if (scale !== null) mul = jnp.multiply(mul, scale.reshape(s.featureShape))
  y = jnp.multiply(y, mul)
  if (bias !== null) y = jnp.add(y, bias.reshape(s.featureShape))
  return y
}

/**
 * Statistics and normalisation of `x` inside `mdl` (which owns the params): scale is created
 * before bias (their 'params' RNG counters), both with the shape of x's feature axes.
 */
function normalize(mdl: Module, x: Tensor, s: NormSettings): Tensor {
  const input = x
  // Statistics are at least float32 (`promote_types(dtype, float32)`), and `x - mean`, the
  // scale and the bias all compute in float32 with them: integer, bool and half-precision
  // inputs and params are widened (exactly, for the half dtypes). The result is cast once to
  // `dtype`, else to the promoted dtype of x and the params (Flax's `canonicalize_dtype`).
  if (x.dtype !== 'float32') x = x.astype('float32')
  const nd = x.ndim
  const red = canonicalizeAxes(nd, checkAxes(intsProp(mdl, 'reductionAxes', s.reductionAxes), nd))
  const feat = canonicalizeAxes(nd, checkAxes(intsProp(mdl, 'featureAxes', s.featureAxes), nd))
  const reducedFeatureShape = feat.map((a) => x.shape[a])
  const scaleP: Tensor | null = s.useScale ? checkParam(mdl.param('scale', s.scaleInit, reducedFeatureShape, s.paramDtype)) : null
  const biasP: Tensor | null = s.useBias ? checkParam(mdl.param('bias', s.biasInit, reducedFeatureShape, s.paramDtype)) : null
  const outDtype = canonicalizeDtype([input, scaleP, biasP], s.dtype)
  const scale = scaleP === null ? null : asF32(scaleP)
  const bias = biasP === null ? null : asF32(biasP)

  const lastOnly = (axes: number[]) => axes.length === 1 && axes[0] === nd - 1
  let y: Tensor
  if (lastOnly(red) && lastOnly(feat)) {
    y = new Tensor(op1(LAYER_NORM, x.handle, scale?.handle ?? null, bias?.handle ?? null, s.epsilon, s.rms, s.useFastVariance))
  } else {
    const featureShape = x.shape.map((d, i) => (feat.includes(i) ? d : 1))
    y = composedNormalize(x, scale, bias, { epsilon: s.epsilon, rms: s.rms, useFastVariance: s.useFastVariance, red, featureShape })
  }
  if (x !== input) x.dispose()
  if (scale !== scaleP) scale?.dispose()
  if (bias !== biasP) bias?.dispose()
  if (y.dtype === outDtype) return y
  const out = y.astype(outDtype)
  y.dispose()
  return out
}

/**
 * Layer normalisation (Ba et al., 2016): each example normalised over `reductionAxes` to mean
 * 0 and variance 1, then a learned per-feature `scale` and `bias` (params `{scale, bias}` of
 * the feature shape, created in that order).
 */
/** The fields LayerNorm and RMSNorm share. */
interface NormProps {
  epsilon?: number
  dtype?: DType | null
  paramDtype?: DType
  useScale?: boolean
  scaleInit?: Initializer
  reductionAxes?: number | readonly number[]
  featureAxes?: number | readonly number[]
  useFastVariance?: boolean
}

export interface LayerNormProps extends NormProps {
  useBias?: boolean
  biasInit?: Initializer
}

export type RMSNormProps = NormProps

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
  call(x: Tensor): Tensor {
    x = tensorArg(this, 'call', 'x', x)
    const dtype = checkDtypeField(this.dtype, 'LayerNorm')
    const { epsilon, reductionAxes, featureAxes, useScale, scaleInit, useBias, biasInit, paramDtype, useFastVariance } = this
    return normalize(this, x, { epsilon, reductionAxes, featureAxes, useScale, scaleInit, useBias, biasInit, paramDtype, useFastVariance, rms: false, dtype })
  }
}

/**
 * RMS layer normalisation (Zhang & Sennrich, 2019): `x * rsqrt(mean(x²) + eps) * scale`, no
 * centring and no bias (params `{scale}`).
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
  call(x: Tensor): Tensor {
    x = tensorArg(this, 'call', 'x', x)
    const dtype = checkDtypeField(this.dtype, 'RMSNorm')
    const { epsilon, reductionAxes, featureAxes, useScale, scaleInit, paramDtype } = this
    const rmsOnly = { rms: true, useBias: false, biasInit: zeros, useFastVariance: false }
    return normalize(this, x, { epsilon, reductionAxes, featureAxes, useScale, scaleInit, paramDtype, ...rmsOnly, dtype })
  }
}
