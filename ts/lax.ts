// lax: the jax.lax ops models call directly: static and dynamic slices (a decode cache is read
// and written with them), top_k and the general convolution (lax-conv.ts). Each is one op-table
// row, so each traces under `jit`.
import { checkArrayLength, codedError, codedTypeError, intArray } from './coded-error'
import type { TensorHandle } from './native'
import { op1, opCode, opN } from './ops'
import { Tensor, asTensor, describe } from './tensor'
import * as jnp from './jnp'

/** An index: a JS integer or an integer scalar tensor (traced under `jit`). */
export type Index = number | Tensor

const intList = (xs: unknown, name: string, what: string): number[] => intArray(xs, `${name}: ${what}`)

/**
 * `lax.slice(operand, startIndices, limitIndices, strides?)`: the elements from `startIndices`
 * (inclusive) to `limitIndices` (exclusive) of every axis, every `strides[d]`-th one.
 */
export function slice(operand: Tensor, startIndices: readonly number[], limitIndices: readonly number[], strides?: readonly number[] | null): Tensor {
  const x = asTensor(operand, 'slice: operand')
  const st = strides === undefined || strides === null ? null : intList(strides, 'slice', 'strides')
  return new Tensor(op1(opCode('slice'), x.handle, intList(startIndices, 'slice', 'startIndices'), intList(limitIndices, 'slice', 'limitIndices'), st))
}

/**
 * The start indices as one int32 tensor of shape [n] and the temporaries to free after the op.
 * JS numbers become constants; scalar tensors are stacked (under `jit` that is a traced op, so a
 * traced `cacheIndex` stays an input of the plan).
 */
function startIndices(xs: unknown, name: string): [TensorHandle, Tensor[]] {
  if (xs instanceof Tensor) return [xs.handle, []]
  if (!Array.isArray(xs)) throw codedTypeError(`${name}: startIndices must be an array of integers or integer scalar tensors, got ${describe(xs)}`)
  checkArrayLength(xs, `${name}: startIndices`)
  if (xs.every((v) => typeof v === 'number')) {
    const t = jnp.array(intList(xs, name, 'startIndices'), 'int32')
    return [t.handle, [t]]
  }
  const temps: Tensor[] = []
  const parts = xs.map((v, i) => {
    if (typeof v === 'number') {
      if (!Number.isInteger(v)) throw codedTypeError(`${name}: startIndices[${i}] must be an integer, got ${v}`)
      const t = jnp.full([], v, 'int32')
      temps.push(t)
      return t
    }
    if (!(v instanceof Tensor) || v.ndim !== 0) {
      throw codedTypeError(`${name}: startIndices[${i}] must be an integer or an integer scalar tensor, got ${describe(v)}`)
    }
    if (v.dtype === 'int32') return v
    if (!['uint32', 'uint16', 'uint8', 'int8'].includes(v.dtype)) {
      throw codedError('E_DTYPE', `${name}: startIndices[${i}] has dtype ${v.dtype}; expected an integer dtype`)
    }
    const c = v.astype('int32')
    temps.push(c)
    return c
  })
  const s = jnp.stack(parts) // not empty: an empty list took the all-numbers branch
  temps.push(s)
  return [s.handle, temps]
}

function withStarts(xs: unknown, name: string, run: (starts: TensorHandle) => TensorHandle): Tensor {
  const [h, temps] = startIndices(xs, name)
  try {
    return new Tensor(run(h))
  } finally {
    for (const t of temps) t.dispose()
  }
}

/**
 * `lax.dynamic_slice(operand, startIndices, sliceSizes)`: the `sliceSizes` box at
 * `startIndices`, which may be traced. As XLA, each start is clamped so the box stays inside
 * `operand` (`clamp(0, start, dim - size)`).
 */
export function dynamicSlice(operand: Tensor, startIndices: readonly Index[] | Tensor, sliceSizes: readonly number[]): Tensor {
  const x = asTensor(operand, 'dynamicSlice: operand')
  const sizes = intList(sliceSizes, 'dynamicSlice', 'sliceSizes')
  return withStarts(startIndices, 'dynamicSlice', (s) => op1(opCode('dynamic_slice'), x.handle, s, sizes))
}

/**
 * `lax.dynamic_update_slice(operand, update, startIndices)`: `operand` with the box at
 * `startIndices` (clamped as in `dynamicSlice`) replaced by `update` (same dtype and rank). Eager
 * calls return a copy; under `jit` with `operand` donated the write happens in its buffer.
 */
export function dynamicUpdateSlice(operand: Tensor, update: Tensor, startIndices: readonly Index[] | Tensor): Tensor {
  const x = asTensor(operand, 'dynamicUpdateSlice: operand')
  const u = asTensor(update, 'dynamicUpdateSlice: update')
  return withStarts(startIndices, 'dynamicUpdateSlice', (s) => op1(opCode('dynamic_update_slice'), x.handle, u.handle, s))
}

/**
 * `lax.top_k(operand, k)`: the `k` largest entries along the last axis, largest first, and their
 * int32 indices (`[values, indices]`). Ties go to the lower index; NaN ranks above +inf and -0
 * below +0 (XLA's total order).
 */
export function topK(operand: Tensor, k: number): [Tensor, Tensor] {
  const x = asTensor(operand, 'topK: operand')
  if (!Number.isInteger(k)) throw codedTypeError(`topK: k must be an integer, got ${describe(k)}`)
  const [v, i] = opN(opCode('top_k'), x.handle, k) as TensorHandle[]
  return [new Tensor(v), new Tensor(i)]
}

export { convGeneralDilated, padtypeToPads, type ConvDimensionNumbers, type ConvOptions, type ConvPadding } from './lax-conv'
export { convGeneralDilatedLocal, convGeneralDilatedPatches, convTranspose, type ConvTransposeOptions, type PatchesOptions } from './lax-conv-derived'
export { reduceWindow, type WindowComputation } from './lax-window'
