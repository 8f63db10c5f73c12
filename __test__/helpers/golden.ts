// Golden values computed by real Flax / JAX, in ../shared/fixtures/golden (beside the repo).
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { ExecutionContext } from 'ava'
import { jnp, type Tensor } from '../../ts/index'

export interface GoldenArray {
  shape: number[]
  dtype: string
  /** NaN is written as null (JSON has no NaN). */
  data: (number | null)[]
}

export interface Golden {
  name: string
  about: string
  flax: string
  expect: Record<string, any>
}

export const GOLDEN_DIR = join(__dirname, '..', '..', '..', 'shared', 'fixtures', 'golden')

export function loadGolden(name: string): Golden {
  return JSON.parse(readFileSync(join(GOLDEN_DIR, `${name}.json`), 'utf8'))
}

/** Golden values generated for this repository (scripts/golden/*.py → __test__/golden/*.json). */
export const LOCAL_GOLDEN_DIR = join(__dirname, '..', 'golden')

export function loadLocalGolden(name: string): Golden {
  return JSON.parse(readFileSync(join(LOCAL_GOLDEN_DIR, `${name}.json`), 'utf8'))
}

export function isGoldenArray(x: unknown): x is GoldenArray {
  return typeof x === 'object' && x !== null && 'shape' in x && 'dtype' in x && 'data' in x
}

/** A golden array as a flaxen tensor (float32 unless the golden dtype is int32 or bool). */
export function goldenTensor(g: GoldenArray): Tensor {
  const dtype = g.dtype === 'int32' || g.dtype === 'bool' ? g.dtype : 'float32'
  return jnp.reshape(jnp.array(g.data.map((v) => (v === null ? NaN : v)), dtype), g.shape)
}

/** A golden array from the generators' `enc_bits` (scripts/golden/golden_doc.py): float32 as bits. */
export interface GoldenBits {
  shape: number[]
  dtype: string
  bits?: number[]
  data?: (number | boolean)[]
}

/** A `GoldenBits` array as a tensor: float32 from its bit patterns (exact), others from values. */
export function bitsTensor(g: GoldenBits): Tensor {
  if (g.bits) return jnp.array(new Float32Array(Uint32Array.from(g.bits).buffer)).reshape(g.shape)
  return jnp.array(g.data!.map(Number), g.dtype as 'int32').reshape(g.shape)
}

/**
 * Same dtype and shape, every element within `atol + rtol·|want|` (a failed assertion names the
 * first element outside); returns the largest |got - want|.
 */
export function assertClose(t: ExecutionContext, got: Tensor, want: Tensor, name: string, atol = 1e-5, rtol = 1e-5): number {
  t.is(got.dtype, want.dtype, `${name}: dtype`)
  t.deepEqual([...got.shape], [...want.shape], `${name}: shape`)
  const g = got.data as Float32Array
  const w = want.data as Float32Array
  let worst = 0
  let bad = -1
  for (let i = 0; i < w.length; i++) {
    const d = Math.abs(g[i] - w[i])
    worst = Math.max(worst, d)
    if (bad < 0 && !(d <= atol + rtol * Math.abs(w[i]))) bad = i
  }
  t.is(bad, -1, `${name}[${bad}]: ${g[bad]} vs ${w[bad]}`)
  return worst
}
