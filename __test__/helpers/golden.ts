// Golden values computed by real Flax / JAX, in ../shared/fixtures/golden (beside the repo).
import { readFileSync } from 'node:fs'
import { join } from 'node:path'

export interface GoldenArray {
  shape: number[]
  dtype: string
  data: number[]
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

export function isGoldenArray(x: unknown): x is GoldenArray {
  return typeof x === 'object' && x !== null && 'shape' in x && 'dtype' in x && 'data' in x
}
