// A float64 reference for the normalisation layers, and the comparison the norm goldens use
// where float32 rounding alone separates flaxen from Flax (large offsets, cancellation).
import type { ExecutionContext } from 'ava'
import { jnp, type Tensor } from '../../ts/index'

export interface ReferenceOptions {
  /** RMSNorm: no centring. */
  rms?: boolean
  /** Only where true enter the statistics (broadcast to x's shape). */
  mask?: Tensor | null
}

/**
 * The layer's exact value for x's float32 values, in float64: mean and (two-pass) variance over
 * the canonical axes `red`, `(x - mean) / sqrt(var + eps) * scale + bias`, scale and bias
 * indexed by the canonical feature axes `feat` (row-major over them, as the params are).
 */
export function exactNorm(x: Tensor, red: number[], feat: number[], scale: Tensor | null, bias: Tensor | null, eps: number, { rms = false, mask = null }: ReferenceOptions = {}): Float64Array {
  const shape = [...x.shape]
  const xs = x.data as Float32Array
  const ms = mask === null ? null : jnp.broadcastTo(mask, shape).astype('float32').data
  const strides = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1))
  const idxOf = (f: number) => strides.map((s, i) => Math.floor(f / s) % shape[i])
  const groupOf = (idx: number[]) => idx.map((v, i) => (red.includes(i) ? 0 : v)).join(',')
  const featureOf = (idx: number[]) => feat.reduce((acc, a) => acc * shape[a] + idx[a], 0)
  const groups = new Map<string, { sum: number; sq: number; n: number }>()
  const group = (f: number) => {
    const k = groupOf(idxOf(f))
    let g = groups.get(k)
    if (g === undefined) groups.set(k, (g = { sum: 0, sq: 0, n: 0 }))
    return g
  }
  const counted = (f: number) => ms === null || ms[f] !== 0
  for (let f = 0; f < xs.length; f++) {
    if (!counted(f)) continue
    const g = group(f)
    g.sum += xs[f]
    g.n++
  }
  const mean = (g: { sum: number; n: number }) => (rms ? 0 : g.sum / g.n)
  for (let f = 0; f < xs.length; f++) if (counted(f)) group(f).sq += (xs[f] - mean(group(f))) ** 2
  const sc = scale?.data as Float32Array | undefined
  const bi = bias?.data as Float32Array | undefined
  const out = new Float64Array(xs.length)
  for (let f = 0; f < xs.length; f++) {
    const g = group(f)
    const j = featureOf(idxOf(f))
    out[f] = ((xs[f] - mean(g)) / Math.sqrt(g.sq / g.n + eps)) * (sc ? sc[j] : 1) + (bi ? bi[j] : 0)
  }
  return out
}

/** Largest |a - b| (a float32 tensor against a tensor or float64 values of the same size). */
export function maxAbsDiff(a: Tensor, b: Tensor | Float64Array): number {
  const x = a.data as Float32Array
  const y = b instanceof Float64Array ? b : (b.data as Float32Array)
  let worst = 0
  for (let i = 0; i < y.length; i++) worst = Math.max(worst, Math.abs(x[i] - y[i]))
  return worst
}

/**
 * flaxen's output `got` against Flax's `flax`: within `atol`, or else no further from the exact
 * value than Flax is (worst element, with 10% slack). The second branch is for results that
 * float32 rounding dominates (a mean far from zero), where the two libraries round differently
 * (XLA sums in float32 in its own order, flaxen in float64) and neither is the "right" one.
 * Returns which branch passed, for the test's message.
 */
export function closeOrMoreAccurate(t: ExecutionContext, got: Tensor, flax: Tensor, exact: Float64Array, atol: number, name: string): 'close' | 'as accurate' {
  t.deepEqual([...got.shape], [...flax.shape], `${name}: shape`)
  const apart = maxAbsDiff(got, flax)
  if (apart <= atol) return 'close'
  const ours = maxAbsDiff(got, exact)
  const theirs = maxAbsDiff(flax, exact)
  t.true(ours <= 1.1 * theirs, `${name}: ${apart} from Flax, and flaxen's error ${ours} exceeds Flax's ${theirs}`)
  return 'as accurate'
}
