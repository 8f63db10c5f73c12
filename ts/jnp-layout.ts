// jnp's layout compositions: pad (one kernel), and split, arraySplit, tile and repeat, built
// from lax.slice, broadcasting and take as JAX builds them (so they trace under `jit`).
import { checkArrayLength, codedError, codedRangeError, codedTypeError, intArray, optionsArg } from './coded-error'
import { native } from './native'
import { op1, opCode } from './ops'
import { Tensor, asTensor, describe } from './tensor'
import * as jnp from './jnp'
import * as lax from './lax'

const PAD_MODES = ['constant', 'edge', 'reflect', 'symmetric', 'wrap'] as const

export interface PadOptions {
  /** 'constant' (default), 'edge', 'reflect', 'symmetric' or 'wrap' (numpy's meanings). */
  mode?: (typeof PAD_MODES)[number]
  /** The value of 'constant' padding (default 0). */
  constantValues?: number | boolean
}

type PadWidth = number | readonly number[] | readonly (readonly number[])[]

/** pad_width as numpy reads it: n, [before, after] or [[n]] for every axis, or a pair per axis. */
function padPairs(w: unknown, ndim: number): number[] {
  const bad = () => codedTypeError(`pad: padWidth must be an integer, a [before, after] pair, or one pair per axis (${ndim}), got ${describe(w)}`)
  if (typeof w === 'number') w = [[w, w]]
  if (!Array.isArray(w)) throw bad()
  checkArrayLength(w, 'pad: padWidth')
  if (w.length > 0 && w.every((v) => typeof v === 'number')) w = [w.length === 1 ? [w[0], w[0]] : w]
  const rows = (w as unknown[]).map((r) => (Array.isArray(r) && r.length === 1 ? [r[0], r[0]] : r))
  if (!rows.every((r) => Array.isArray(r) && r.length === 2 && r.every((v) => Number.isInteger(v)))) throw bad()
  const pairs = rows as number[][]
  if (pairs.length !== 1 && pairs.length !== ndim) {
    throw codedError('E_ARG', `pad: padWidth has ${pairs.length} pairs for an array of rank ${ndim}; expected 1 or ${ndim}`)
  }
  return Array.from({ length: ndim }, (_, d) => pairs[pairs.length === 1 ? 0 : d]).flat()
}

/** jnp.pad(x, padWidth, { mode, constantValues }). */
export function pad(x: Tensor, padWidth: PadWidth, options: PadOptions = {}): Tensor {
  const { mode = 'constant', constantValues = 0 } = optionsArg(options, 'pad')
  const t = asTensor(x, 'pad: x')
  if (!PAD_MODES.includes(mode)) {
    throw codedError('E_ARG', `pad: mode ${typeof mode === 'string' ? JSON.stringify(mode) : describe(mode)} is not supported; expected one of ${PAD_MODES.map((m) => `'${m}'`).join(', ')}`)
  }
  if (typeof constantValues !== 'number' && typeof constantValues !== 'boolean') {
    throw codedTypeError(`pad: constantValues must be a number (one value for every side), got ${describe(constantValues)}`)
  }
  return new Tensor(op1(opCode('pad'), t.handle, padPairs(padWidth, t.ndim), mode, Number(constantValues)))
}

function axisOf(x: Tensor, axis: unknown, name: string): number {
  if (!Number.isInteger(axis)) throw codedTypeError(`${name}: axis must be an integer, got ${describe(axis)}`)
  const a = axis as number
  if (a < -x.ndim || a >= x.ndim) throw codedError('E_ARG', `${name}: axis ${a} is out of bounds for an array of shape [${x.shape.join(', ')}]`)
  return a < 0 ? a + x.ndim : a
}

/** The pieces of `x` along `ax` between consecutive cut points (lax.slice each). */
function pieces(x: Tensor, ax: number, cuts: number[]): Tensor[] {
  const n = x.shape[ax]
  const bounds = [0, ...cuts.map((c) => Math.min(Math.max(c < 0 ? c + n : c, 0), n)), n]
  return bounds.slice(1).map((end, i) => {
    const start = Math.min(bounds[i], end)
    const lo = x.shape.map((_, d) => (d === ax ? start : 0))
    const hi = x.shape.map((s, d) => (d === ax ? Math.max(end, start) : s))
    return lax.slice(x, lo, hi)
  })
}

const MAX_SECTIONS = 1 << 16

function splitImpl(name: string, x: Tensor, sections: unknown, axis: unknown, even: boolean): Tensor[] {
  const t = asTensor(x, `${name}: x`)
  const ax = axisOf(t, axis, name)
  const n = t.shape[ax]
  if (Array.isArray(sections)) return pieces(t, ax, intArray(sections, `${name}: indices`))
  if (!Number.isInteger(sections) || (sections as number) <= 0) {
    throw codedTypeError(`${name}: indicesOrSections must be a positive integer or an array of indices, got ${describe(sections)}`)
  }
  const k = sections as number
  // Every section is a tensor: more than any real split needs would exhaust memory.
  if (k > MAX_SECTIONS) throw codedError('E_ARG', `${name}: ${k} sections is more than the ${MAX_SECTIONS} supported`)
  if (even && n % k !== 0) throw codedError('E_ARG', `${name}: array split does not result in an equal division: axis ${ax} of length ${n} into ${k} sections`)
  // numpy's array_split: the first n % k pieces are one longer.
  const base = Math.floor(n / k)
  const cuts: number[] = []
  for (let i = 1, at = 0; i < k; i++) cuts.push((at += base + (i <= n % k ? 1 : 0)))
  return pieces(t, ax, cuts)
}

/** jnp.split: `sections` equal pieces along `axis`, or pieces between the given indices. */
export function split(x: Tensor, indicesOrSections: number | readonly number[], axis = 0): Tensor[] {
  return splitImpl('split', x, indicesOrSections, axis, true)
}

/** jnp.array_split: as `split`, but `sections` need not divide the axis. */
export function arraySplit(x: Tensor, indicesOrSections: number | readonly number[], axis = 0): Tensor[] {
  return splitImpl('arraySplit', x, indicesOrSections, axis, false)
}

/** jnp.tile: `x` repeated `reps` times along each axis (broadcast, then one reshape). */
export function tile(x: Tensor, reps: number | readonly number[]): Tensor {
  const t = asTensor(x, 'tile: x')
  const r = intArray(typeof reps === 'number' ? [reps] : reps, 'tile: reps')
  if (r.some((v) => v < 0)) throw codedError('E_ARG', `tile: reps must be non-negative, got [${r.join(', ')}]`)
  const nd = Math.max(t.ndim, r.length)
  const shape = [...Array(nd - t.ndim).fill(1), ...t.shape]
  const rr = [...Array(nd - r.length).fill(1), ...r]
  const a = t.reshape(shape.flatMap((s) => [1, s]))
  const b = jnp.broadcastTo(a, shape.flatMap((s, i) => [rr[i], s]))
  const out = b.reshape(shape.map((s, i) => s * rr[i]))
  a.dispose()
  b.dispose()
  return out
}

export interface RepeatOptions {
  /** The static output length along `axis`, needed when `repeats` is traced (as JAX). */
  totalRepeatLength?: number | null
}

/**
 * jnp.repeat: each element repeated `repeats` times along `axis` (of the flattened `x` when
 * null). `repeats` is one count or one count per element of that axis.
 */
export function repeat(x: Tensor, repeats: number | readonly number[] | Tensor, axis: number | null = null, options: RepeatOptions = {}): Tensor {
  const { totalRepeatLength = null } = optionsArg(options, 'repeat')
  let t = asTensor(x, 'repeat: x')
  const temps: Tensor[] = []
  try {
    if (axis === null) {
      t = t.reshape([-1])
      temps.push(t)
      axis = 0
    }
    const ax = axisOf(t, axis, 'repeat')
    const n = t.shape[ax]
    const counts = intArray(repeats instanceof Tensor ? Array.from(repeats.data as ArrayLike<number>, Number) : typeof repeats === 'number' ? [repeats] : repeats, 'repeat: repeats')
    if (counts.some((v) => v < 0)) throw codedError('E_ARG', `repeat: repeats must be non-negative, got ${counts.length === 1 ? counts[0] : 'a negative count'}`)
    if (counts.length !== 1 && counts.length !== n) {
      throw codedError('E_SHAPE', `repeat: repeats has ${counts.length} entries for axis ${ax} of length ${n} (shape [${t.shape.join(', ')}]); expected 1 or ${n}`)
    }
    if (counts.length === 1 && totalRepeatLength === null) {
      // One count: each element broadcast along a new axis after `ax`, then merged into it.
      const e = jnp.expandDims(t, ax + 1)
      const shape = [...t.shape]
      shape.splice(ax + 1, 0, counts[0])
      const b = jnp.broadcastTo(e, shape)
      temps.push(e, b)
      const out = [...t.shape]
      out[ax] *= counts[0]
      return b.reshape(out)
    }
    // The index list is built in JS: its length is checked against the byte cap first.
    const total = totalRepeatLength ?? counts.reduce((a: number, c: number, i: number) => a + (counts.length === 1 ? (i === 0 ? c * n : 0) : c), 0)
    const rowBytes = (t.size / Math.max(n, 1)) * 4
    if (total > 0x7fffffff || total * Math.max(rowBytes, 4) > native.getMaxBytes()) {
      throw codedRangeError('E_ALLOC', `repeat: the result would have ${total} entries along axis ${ax}, more than the byte cap of ${native.getMaxBytes()} bytes allows (setMaxBytes)`)
    }
    const index: number[] = []
    for (let i = 0; i < n; i++) for (let j = 0; j < counts[counts.length === 1 ? 0 : i]; j++) index.push(i)
    if (totalRepeatLength !== null) {
      // JAX pads with the last index (or cuts) to the static length.
      if (!Number.isInteger(totalRepeatLength) || totalRepeatLength < 0) throw codedTypeError(`repeat: totalRepeatLength must be a non-negative integer, got ${describe(totalRepeatLength)}`)
      while (index.length < totalRepeatLength) index.push(index.length > 0 ? index[index.length - 1] : 0)
      index.length = totalRepeatLength
    }
    return jnp.take(t, index, ax)
  } finally {
    for (const tmp of temps) tmp.dispose()
  }
}
