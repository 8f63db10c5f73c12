// jnp's orderings: sort, argsort (stable, JAX's order: -0 equals 0, NaN last) and searchsorted
// (JAX's binary search). Kernels in the core's `ops::sort`.
import { codedError, codedTypeError, optionsArg } from './coded-error'
import { op1, opCode } from './ops'
import { Tensor, asTensor, describe, isFloatDtype } from './tensor'
import { promoteTypes } from './linen/dtypes'
import * as jnp from './jnp'

export interface SortOptions {
  /** Largest first (equal elements keep their order). */
  descending?: boolean
  /** Accepted for JAX's signature: flaxen's sorts are always stable. */
  stable?: boolean
}

function sorted(name: 'sort' | 'argsort', a: Tensor, axis: number | null, options: SortOptions): Tensor {
  const { descending = false } = optionsArg(options, name)
  const x = asTensor(a, `${name}: a`)
  if (typeof descending !== 'boolean') throw codedTypeError(`${name}: descending must be a boolean, got ${describe(descending)}`)
  if (axis !== null && !Number.isInteger(axis)) throw codedTypeError(`${name}: axis must be an integer or null, got ${describe(axis)}`)
  if (axis !== null) return new Tensor(op1(opCode(name), x.handle, axis, descending))
  // axis null sorts the flattened array, as JAX.
  const flat = x.reshape([-1])
  const out = new Tensor(op1(opCode(name), flat.handle, 0, descending))
  flat.dispose()
  return out
}

/** jnp.sort along `axis` (default -1; null flattens first). */
export function sort(a: Tensor, axis: number | null = -1, options: SortOptions = {}): Tensor {
  return sorted('sort', a, axis, options)
}

/** jnp.argsort along `axis` (default -1; null flattens first): int32 indices of a stable sort. */
export function argsort(a: Tensor, axis: number | null = -1, options: SortOptions = {}): Tensor {
  return sorted('argsort', a, axis, options)
}

export interface SearchsortedOptions {
  /** 'left' (default): the first index i with a[i] >= v; 'right': the first with a[i] > v. */
  side?: 'left' | 'right'
  /** Indices that sort `a` (`a[sorter]` is searched). */
  sorter?: Tensor | null
}

/**
 * jnp.searchsorted: where each element of `v` would be inserted into the sorted 1-D `a` (int32,
 * the shape of `v`). `a` and `v` are promoted to one dtype as JAX does.
 */
export function searchsorted(a: Tensor, v: Tensor | number | readonly number[], options: SearchsortedOptions = {}): Tensor {
  const { side = 'left', sorter = null } = optionsArg(options, 'searchsorted')
  const sa = asTensor(a, 'searchsorted: a')
  if (side !== 'left' && side !== 'right') throw codedError('E_ARG', `searchsorted: side must be 'left' or 'right', got ${describe(side)}`)
  const temps: Tensor[] = []
  const keep = (t: Tensor): Tensor => (temps.push(t), t)
  try {
    let base = sorter === null ? sa : keep(jnp.take(sa, asTensor(sorter, 'searchsorted: sorter')))
    let q: Tensor
    if (v instanceof Tensor) q = v
    else if (typeof v === 'number' || Array.isArray(v)) {
      // A JS number is weakly typed: it takes a's dtype unless a fraction meets an integer a
      // (`array` validates the nesting first).
      const f = keep(jnp.array(v as number[]))
      const fractional = !isFloatDtype(base.dtype) && Array.from(f.data as Float32Array).some((n) => !Number.isInteger(n))
      q = isFloatDtype(base.dtype) || fractional || base.dtype === 'bool' ? f : keep(jnp.array(v as number[], base.dtype))
    } else throw codedTypeError(`searchsorted: v must be a Tensor, a number or an array of numbers, got ${describe(v)}`)
    const dt = promoteTypes(base.dtype, q.dtype)
    if (base.dtype !== dt) base = keep(base.astype(dt))
    if (q.dtype !== dt) q = keep(q.astype(dt))
    return new Tensor(op1(opCode('searchsorted'), base.handle, q.handle, side))
  } finally {
    for (const t of temps) t.dispose()
  }
}
