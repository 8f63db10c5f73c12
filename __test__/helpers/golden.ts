// Golden values computed by real Flax / JAX, in ../shared/fixtures/golden (beside the repo).
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
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
