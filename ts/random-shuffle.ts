// random.permutation and random.choice, composed as JAX 0.10.2 composes them (the same splits,
// bits, sorts and draws), so a key gives JAX's permutation and JAX's choices.
import { codedError, codedTypeError, optionsArg } from './coded-error'
import { ValueError } from './errors'
import * as jnp from './jnp'
import * as lax from './lax'
import { type Key, bits, gumbel, randint, split, uniform } from './random'
import { Tensor, checkShapeArg, describe } from './tensor'

type AnyKey = Key | Uint32Array

/**
 * JAX's `_shuffle`: `rounds` sorts of `x` along `axis` by fresh uint32 keys (3·ln(size)/ln(2^32 - 1)
 * rounds, rounded up: one below ~1600 elements), each key from a split of the previous.
 */
function shuffle(k: AnyKey, x: Tensor, axis: number): Tensor {
  const rounds = Math.ceil((3 * Math.log(Math.max(1, x.size))) / Math.log(4294967295))
  let key = k
  let out = x
  for (let r = 0; r < rounds; r++) {
    const [next, sub] = split(key)
    if (key !== k) (key as Key).tensor?.dispose()
    key = next
    const sortKeys = bits(sub, out.shape)
    sub.tensor?.dispose()
    const order = jnp.argsort(sortKeys, axis)
    const shuffled = jnp.takeAlongAxis(out, order, axis)
    sortKeys.dispose()
    order.dispose()
    if (out !== x) out.dispose()
    out = shuffled
  }
  if (key !== k) (key as Key).tensor?.dispose()
  return out === x ? x.astype(x.dtype) : out
}

function axisIn(axis: unknown, ndim: number, name: string): number {
  if (!Number.isInteger(axis)) throw codedTypeError(`${name}: axis must be an integer, got ${describe(axis)}`)
  const a = axis as number
  if (a < -ndim || a >= ndim) throw codedError('E_ARG', `${name}: axis ${a} is out of bounds for rank ${ndim}`)
  return a < 0 ? a + ndim : a
}

function count(n: unknown, name: string): number {
  if (!Number.isInteger(n) || (n as number) < 0) throw codedTypeError(`${name}: x must be a non-negative integer or an array, got ${describe(n)}`)
  return n as number
}

export interface PermutationOptions {
  /** The axis shuffled (default 0). */
  axis?: number
  /** Shuffle each lane along `axis` independently (default false: whole slices move together). */
  independent?: boolean
}

/**
 * `jax.random.permutation(key, x, axis, independent)`: a shuffled `arange(x)` for an integer,
 * else `x` shuffled along `axis`.
 */
export function permutation(k: AnyKey, x: number | Tensor, options: PermutationOptions = {}): Tensor {
  const { axis = 0, independent = false } = optionsArg(options, 'permutation')
  if (!(x instanceof Tensor)) {
    const r = jnp.arange(count(x, 'permutation'), undefined, 1, 'int32')
    const out = shuffle(k, r, axisIn(axis, 1, 'permutation'))
    if (out !== r) r.dispose()
    return out
  }
  if (x.ndim === 0) throw codedTypeError('permutation: x must be an integer or at least 1-dimensional')
  const ax = axisIn(axis, x.ndim, 'permutation')
  if (independent || x.ndim === 1) return shuffle(k, x, ax)
  const r = jnp.arange(x.shape[ax], undefined, 1, 'int32')
  const ind = shuffle(k, r, 0)
  const out = jnp.take(x, ind, ax)
  r.dispose()
  ind.dispose()
  return out
}

export interface ChoiceOptions {
  /** The sample shape (default []). */
  shape?: readonly number[]
  /** With replacement (default true). */
  replace?: boolean
  /** Probabilities of the entries of `a` along `axis` (default uniform). */
  p?: Tensor | null
  /** The axis of `a` drawn from (default 0). */
  axis?: number
}

/**
 * `jax.random.choice(key, a, shape, replace, p, axis)`: draws from `arange(a)` for an integer, else
 * from the entries of `a` along `axis`, as JAX draws them: `randint` (uniform, with replacement),
 * a permutation's first entries (uniform, without), inverse-CDF `searchsorted` on `cumsum(p)`
 * (weighted, with), or Gumbel top-k (weighted, without).
 */
export function choice(k: AnyKey, a: number | Tensor, options: ChoiceOptions = {}): Tensor {
  const { shape = [], replace = true, p = null, axis = 0 } = optionsArg(options, 'choice')
  const sh = checkShapeArg(shape, 'choice: shape')
  const scalar = !(a instanceof Tensor) || a.ndim === 0
  const arr = a instanceof Tensor ? a : null
  const ax = scalar ? 0 : axisIn(axis, arr!.ndim, 'choice')
  const n = scalar ? count(a instanceof Tensor ? a.item() : a, 'choice') : arr!.shape[ax]
  const draws = sh.reduce((x, y) => x * y, 1)
  if (draws === 0) return jnp.zeros(sh, arr?.dtype ?? 'int32')
  if (n <= 0) throw new ValueError('a must be greater than 0 unless no samples are taken')
  if (!replace && draws > n) {
    throw new ValueError(`Cannot take a larger sample (size ${draws}) than population (size ${n}) when 'replace=False'`)
  }
  const temps: Tensor[] = []
  const keep = (t: Tensor): Tensor => (temps.push(t), t)
  try {
    let ind: Tensor
    if (p === null || p === undefined) {
      if (replace) ind = keep(randint(k, sh, 0, n))
      else {
        const perm = keep(permutation(k, scalar ? n : arr!, { axis: ax }))
        const lo = perm.shape.map(() => 0)
        const hi = perm.shape.map((s, d) => (d === ax ? draws : s))
        const first = lax.slice(perm, lo, hi)
        if (!scalar) return reshapeOut(keep(first), arr!, ax, sh)
        ind = keep(first)
      }
    } else {
      if (!(p instanceof Tensor)) throw codedTypeError(`choice: p must be a Tensor or null, got ${describe(p)}`)
      if (p.ndim !== 1 || p.shape[0] !== n) {
        throw new ValueError(`p must be None or a 1D vector with the same size as a.shape[axis]. p has shape (${p.shape.join(', ')}${p.ndim === 1 ? ',' : ''}) and a.shape[axis] is ${n}.`)
      }
      const pf = p.dtype === 'float32' || p.dtype === 'float16' || p.dtype === 'bfloat16' ? p : keep(p.astype('float32'))
      if (replace) {
        const cuml = keep(jnp.cumsum(pf))
        const total = keep(keep(lax.slice(cuml, [n - 1], [n])).reshape([]))
        const u = keep(uniform(k, sh, { dtype: pf.dtype as 'float32' }))
        const r = keep(jnp.multiply(total, keep(jnp.subtract(1, u))))
        ind = keep(jnp.searchsorted(cuml, r))
      } else {
        const g = keep(jnp.add(keep(gumbel(k, [n])), keep(jnp.log(pf))))
        const [values, indices] = lax.topK(g, draws)
        keep(values)
        ind = keep(indices)
      }
    }
    if (scalar) return ind.reshape(sh)
    return reshapeOut(keep(jnp.take(arr!, keep(ind.reshape([-1])), ax)), arr!, ax, sh)
  } finally {
    for (const t of temps) t.dispose()
  }
}

/** `a.shape[:axis] + shape + a.shape[axis+1:]`, as JAX shapes a choice from an array. */
function reshapeOut(t: Tensor, a: Tensor, ax: number, shape: number[]): Tensor {
  return t.reshape([...a.shape.slice(0, ax), ...shape, ...a.shape.slice(ax + 1)])
}
