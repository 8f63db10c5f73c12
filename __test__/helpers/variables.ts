// Comparing flaxen variable trees and outputs with Flax's golden JSON (tensors as {shape, dtype, data}).
import type { ExecutionContext } from 'ava'
import { isTensor, tree, type Tensor } from '../../ts/index'
import { firstMismatch } from './close'
import { isGoldenArray } from './golden'

/** The shapes of a variable tree: `{ params: { dense: { kernel: [5, 5] } } }`. */
export function shapes(vars: unknown): any {
  return tree.map((t: Tensor) => [...t.shape], vars)
}

/** The golden tree's shapes, in the same form. */
export function goldenShapes(expected: any): any {
  if (isGoldenArray(expected)) return expected.shape
  if (Array.isArray(expected)) return expected.map(goldenShapes)
  const out: Record<string, unknown> = {}
  for (const k of Object.keys(expected).sort()) out[k] = goldenShapes(expected[k])
  return out
}

/**
 * Asserts that `actual` (tensors, numbers, arrays, objects) equals the golden `expected`:
 * same structure and shapes, values within `atol` (exact when 0).
 */
export function assertMatches(t: ExecutionContext, actual: unknown, expected: any, atol = 0, where = '<root>'): void {
  if (isGoldenArray(expected)) {
    if (!isTensor(actual)) {
      t.fail(`${where}: expected a tensor of shape [${expected.shape}], got ${String(actual)}`)
      return
    }
    t.deepEqual([...actual.shape], expected.shape, `${where}: shape`)
    if (expected.dtype === 'bool') t.deepEqual(Array.from(actual.data, (v) => v !== 0), expected.data as unknown as boolean[], where)
    else {
      const bad = firstMismatch(actual.data, expected.data.map((v) => (v === null ? NaN : v)), 0, atol)
      t.is(bad, undefined, `${where}: ${bad}`)
    }
    return
  }
  if (Array.isArray(expected)) {
    t.true(Array.isArray(actual), `${where}: expected an array`)
    t.is((actual as unknown[]).length, expected.length, `${where}: length`)
    expected.forEach((e, i) => assertMatches(t, (actual as unknown[])[i], e, atol, `${where}/${i}`))
    return
  }
  if (expected !== null && typeof expected === 'object') {
    t.deepEqual(Object.keys(actual as object).sort(), Object.keys(expected).sort(), `${where}: keys`)
    for (const k of Object.keys(expected)) assertMatches(t, Reflect.get(actual as object, k), expected[k], atol, `${where}/${k}`)
    return
  }
  t.is(actual, expected, where)
}

/** Key words of a key (Key or raw data), as numbers. */
export function keyWords(k: unknown): number[] {
  const w = (k as { words?: Uint32Array }).words ?? (k as Uint32Array)
  return Array.from(w)
}
