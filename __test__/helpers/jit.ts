// Bit-for-bit comparison of jit results with eager ones: same tree, and for every tensor the same
// dtype, shape and bytes (NaN payloads and the sign of zero included); keys by their words.
import type { ExecutionContext } from 'ava'
import { Tensor } from '../../ts/index'
import { Key } from '../../ts/random'
import { isPlainObject } from '../../ts/tree'

/** The raw bytes of a tensor's data, as numbers (a copy). */
export function bytesOf(x: Tensor): number[] {
  const d = x.data
  return Array.from(new Uint8Array(d.buffer, d.byteOffset, d.byteLength))
}

/** Asserts `actual` and `expected` are the same tree with bit-identical tensors and keys. */
export function assertSameBits(t: ExecutionContext, actual: unknown, expected: unknown, where = '<root>'): void {
  if (expected instanceof Tensor) {
    if (!(actual instanceof Tensor)) {
      t.fail(`${where}: expected a Tensor, got ${String(actual)}`)
      return
    }
    t.is(actual.dtype, expected.dtype, `${where}: dtype`)
    t.deepEqual([...actual.shape], [...expected.shape], `${where}: shape`)
    t.deepEqual(Array.from(actual.data), Array.from(expected.data), `${where}: values`)
    t.deepEqual(bytesOf(actual), bytesOf(expected), `${where}: bytes`)
    return
  }
  if (expected instanceof Key) {
    t.true(actual instanceof Key, `${where}: expected a Key`)
    t.deepEqual(Array.from((actual as Key).words), Array.from(expected.words), `${where}: key words`)
    return
  }
  if (Array.isArray(expected)) {
    t.true(Array.isArray(actual), `${where}: expected an array`)
    t.is((actual as unknown[]).length, expected.length, `${where}: length`)
    expected.forEach((e, i) => assertSameBits(t, (actual as unknown[])[i], e, `${where}/${i}`))
    return
  }
  if (isPlainObject(expected)) {
    t.true(isPlainObject(actual), `${where}: expected an object`)
    t.deepEqual(Object.keys(actual as object).sort(), Object.keys(expected).sort(), `${where}: keys`)
    for (const k of Object.keys(expected)) assertSameBits(t, Reflect.get(actual as object, k), expected[k], `${where}/${k}`)
    return
  }
  t.is(actual, expected, where)
}

/** Number of tensors (and keys) in a tree, so a test can check it compared what it meant to. */
export function countLeaves(x: unknown): number {
  if (x instanceof Tensor || x instanceof Key) return 1
  if (Array.isArray(x)) return x.reduce((n: number, v) => n + countLeaves(v), 0)
  if (isPlainObject(x)) return Object.values(x).reduce((n: number, v) => n + countLeaves(v), 0)
  return 0
}
