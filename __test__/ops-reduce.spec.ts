import test from 'ava'
import * as jnp from '../ts/jnp'
import { native } from '../ts/native'
import * as random from '../ts/random'
import { Tensor } from '../ts/tensor'
import { firstMismatch } from './helpers/close'
import { nop } from './helpers/native-op'

function code(t: any, fn: () => unknown, expected: string, message?: RegExp, type: any = Error) {
  const err = t.throws(fn, { instanceOf: type })
  t.is(err.code, expected, err.message)
  if (message) t.regex(err.message, message)
}

const f32 = (v: number) => Math.fround(v)

/** Groups of element values per output position when reducing `axes` of a row-major `shape`. */
function groups(data: ArrayLike<number>, shape: number[], axes: number[]): number[][] {
  const red = axes.map((a) => (a < 0 ? a + shape.length : a))
  const kept = shape.map((_, i) => i).filter((i) => !red.includes(i))
  const outN = kept.reduce((p, i) => p * shape[i], 1)
  const g: number[][] = Array.from({ length: outN }, () => [])
  const idx = new Array(shape.length).fill(0)
  for (let flat = 0; flat < data.length; flat++) {
    let rem = flat
    for (let d = shape.length - 1; d >= 0; d--) {
      idx[d] = rem % shape[d]
      rem = Math.floor(rem / shape[d])
    }
    g[kept.reduce((o, k) => o * shape[k] + idx[k], 0)].push(data[flat])
  }
  return g
}

const layouts: [number[], number[]][] = [
  [[4, 6, 5], [2]],
  [[4, 6, 5], [0]],
  [[4, 6, 5], [1]],
  [[4, 6, 5], [0, 2]],
  [[4, 6, 5], [0, 1, 2]],
  [[300, 300], [1]],
  [[300, 300], [0]],
]

for (const [shape, axes] of layouts) {
  test(`max/min/prod/var/std over ${JSON.stringify(axes)} of ${JSON.stringify(shape)} match float64 references`, (t) => {
    const x = random.uniform(random.key(shape.length + axes.length), shape, { minval: -2, maxval: 2 })
    const g = groups(x.data as Float32Array, shape, axes)
    t.deepEqual(Array.from(jnp.max(x, axes).data as Float32Array), g.map((r) => Math.max(...r)))
    t.deepEqual(Array.from(jnp.min(x, axes).data as Float32Array), g.map((r) => Math.min(...r)))
    const near1 = jnp.add(jnp.divide(x, 200), 1)
    const pg = groups(near1.data as Float32Array, shape, axes)
    t.is(firstMismatch(jnp.prod(near1, axes).data as Float32Array, pg.map((r) => r.reduce((a, b) => a * b, 1)), 2 ** -22), undefined)
    for (const ddof of [0, 1]) {
      const v = g.map((r) => {
        const m = r.reduce((a, b) => a + b, 0) / r.length
        return r.reduce((a, b) => a + (b - m) ** 2, 0) / (r.length - ddof)
      })
      t.is(firstMismatch(jnp.var(x, axes, { ddof }).data as Float32Array, v, 2 ** -22), undefined)
      t.is(firstMismatch(jnp.std(x, axes, { ddof }).data as Float32Array, v.map(Math.sqrt), 2 ** -22), undefined)
    }
    const keep = shape.map((d, i) => (axes.includes(i) ? 1 : d))
    t.deepEqual(jnp.max(x, axes, { keepdims: true }).shape, keep)
    t.deepEqual(jnp.var(x, axes, { keepdims: true }).shape, keep)
  })
}

test('max/min/prod dtypes, NaN, defaults and empty reductions', (t) => {
  const x = jnp.array([[1, NaN, 3], [-1, 5, 0.5]])
  t.deepEqual(jnp.max(x, 1).toArray(), [NaN, 5])
  t.deepEqual(jnp.min(x, 0).toArray(), [-1, NaN, 0.5])
  t.true(Number.isNaN(jnp.max(x).item() as number))
  const i = jnp.array([[3, -7], [2, 9]], 'int32')
  t.is(jnp.max(i).dtype, 'int32')
  t.is(jnp.max(i).item(), 9)
  t.deepEqual(jnp.min(i, -1).toArray(), [-7, 2])
  t.deepEqual(jnp.prod(i, 0).toArray(), [6, -63])
  t.is(jnp.prod(i).dtype, 'int32')
  t.is(jnp.prod(jnp.array([200, 100], 'uint8')).dtype, 'uint32')
  t.is(jnp.prod(jnp.array([200, 100], 'uint8')).item(), 20000)
  t.deepEqual(jnp.max(jnp.array([[true, false], [false, false]]), 1).toArray(), [true, false])
  t.is(jnp.var(i).item(), 32.6875)
  t.is(jnp.std(jnp.array([1, 3])).item(), 1)
  code(t, () => jnp.max(jnp.zeros([0, 3]), 0), 'E_SHAPE', /\[0, 3\]/)
  t.deepEqual(jnp.max(jnp.zeros([0, 3]), 1).shape, [0])
  t.deepEqual(jnp.prod(jnp.zeros([0, 2]), 0).toArray(), [1, 1])
  t.true(Number.isNaN(jnp.var(jnp.zeros([0])).item() as number))
  code(t, () => jnp.max(x, 2), 'E_ARG', /axis 2 is out of bounds for rank 2/)
  code(t, () => jnp.min(x, [1, -1]), 'E_ARG', /axis/)
  code(t, () => jnp.prod(x, 'a' as any), 'E_TYPE', /axis/, TypeError)
  code(t, () => jnp.var(x, null, { ddof: 'a' as any }), 'E_TYPE', /ddof/, TypeError)
  code(t, () => nop('var', x.handle, null, false, NaN), 'E_ARG', /ddof/)
  code(t, () => nop('max', x.handle, null, 1), 'E_TYPE', /keepdims/, TypeError)
})

test('argmax / argmin: first index, NaN wins, any axis, int32 results', (t) => {
  const x = jnp.array([[1, 5, 5, 2], [7, 0, 0, 7]])
  t.deepEqual(jnp.argmax(x, 1).toArray(), [1, 0])
  t.deepEqual(jnp.argmin(x, 1).toArray(), [0, 1])
  t.deepEqual(jnp.argmax(x, 0).toArray(), [1, 0, 0, 1])
  t.deepEqual(jnp.argmin(x, -2).toArray(), [0, 1, 1, 0])
  t.is(jnp.argmax(x).item(), 4, 'flattened when no axis')
  t.is(jnp.argmax(x).dtype, 'int32')
  t.deepEqual(jnp.argmax(x, 1, { keepdims: true }).shape, [2, 1])
  t.deepEqual(jnp.argmax(x, null, { keepdims: true }).shape, [1, 1])
  t.deepEqual(jnp.argmax(jnp.array([1, NaN, 3, NaN])).toArray(), 1)
  t.deepEqual(jnp.argmin(jnp.array([1, NaN, -3])).toArray(), 1)
  t.is(jnp.argmax(jnp.array([3, 9, 9], 'uint8')).item(), 1)
  t.is(jnp.argmin(jnp.array([true, false, false])).item(), 1)
  // Large rows (lane scan) and columns against a plain loop.
  const big = random.normal(random.key(5), [64, 5000])
  const d = big.data as Float32Array
  const rows = jnp.argmax(big, 1).data as Int32Array
  const cols = jnp.argmin(big, 0).data as Int32Array
  for (let r = 0; r < 64; r++) {
    let b = 0
    for (let c = 1; c < 5000; c++) if (d[r * 5000 + c] > d[r * 5000 + b]) b = c
    t.is(rows[r], b)
  }
  for (const c of [0, 1, 2500, 4999]) {
    let b = 0
    for (let r = 1; r < 64; r++) if (d[r * 5000 + c] < d[b * 5000 + c]) b = r
    t.is(cols[c], b)
  }
  code(t, () => jnp.argmax(jnp.zeros([2, 0]), 1), 'E_SHAPE', /\[2, 0\]/)
  code(t, () => jnp.argmax(x, 2), 'E_ARG', /axis/)
  code(t, () => jnp.argmax(x, [0] as any), 'E_TYPE', /axis/, TypeError)
  code(t, () => nop('argmin', x.handle, 0.5, false), 'E_ARG', /axis: expected an integer/)
})

/** softmax / log_softmax / logsumexp of one group in float64. */
function softRef(r: number[]) {
  const m = Math.max(...r)
  const s = r.reduce((a, v) => a + Math.exp(v - m), 0)
  return { sm: r.map((v) => Math.exp(v - m) / s), lsm: r.map((v) => v - m - Math.log(s)), lse: Math.log(s) + m }
}

function scatter(shape: number[], axes: number[], per: number[][]): number[] {
  const n = shape.reduce((a, b) => a * b, 1)
  const g = groups(Array.from({ length: n }, (_, i) => i), shape, axes)
  const out = new Array(n)
  g.forEach((members, gi) => members.forEach((flat, k) => (out[flat] = per[gi][k])))
  return out
}

for (const [shape, axes] of [...layouts, [[2, 3, 4, 5], [1, 3]] as [number[], number[]]]) {
  test(`softmax / logSoftmax / logsumexp over ${JSON.stringify(axes)} of ${JSON.stringify(shape)}`, (t) => {
    const x = jnp.multiply(random.normal(random.key(9), shape), 5)
    const g = groups(x.data as Float32Array, shape, axes).map(softRef)
    const sm = jnp.softmax(x, axes)
    t.deepEqual(sm.shape, shape)
    t.is(firstMismatch(sm.data as Float32Array, scatter(shape, axes, g.map((r) => r.sm)), 4e-6, 1e-37), undefined)
    t.is(firstMismatch(jnp.logSoftmax(x, axes).data as Float32Array, scatter(shape, axes, g.map((r) => r.lsm)), 1e-6, 1e-5), undefined)
    t.is(firstMismatch(jnp.logsumexp(x, axes).data as Float32Array, g.map((r) => r.lse), 1e-6, 1e-6), undefined)
    t.deepEqual(jnp.logsumexp(x, axes, { keepdims: true }).shape, shape.map((d, i) => (axes.includes(i) ? 1 : d)))
  })
}

test('softmax defaults to the last axis; rows sum to 1; stable for large logits; -inf masks', (t) => {
  const x = jnp.array([[1, 2, 3], [1000, 1000, -1e30]])
  const s = jnp.softmax(x)
  t.deepEqual(s.shape, [2, 3])
  t.deepEqual((s.toArray() as number[][])[1], [0.5, 0.5, 0])
  const sums = jnp.sum(jnp.softmax(random.normal(random.key(2), [50, 37])), -1).data as Float32Array
  for (const v of sums) t.true(Math.abs(v - 1) < 1e-6)
  const e = [Math.exp(1), Math.exp(2), Math.exp(3)]
  const tot = e[0] + e[1] + e[2]
  t.is(firstMismatch(jnp.softmax(jnp.array([1, 2, 3])).data as Float32Array, e.map((v) => v / tot), 2 ** -22), undefined)
  t.is(firstMismatch(jnp.logSoftmax(jnp.array([1, 2, 3])).data as Float32Array, e.map((v) => Math.log(v / tot)), 2 ** -22), undefined)
  t.true(Math.abs((jnp.logsumexp(jnp.array([1000, 1000])).item() as number) - (1000 + Math.LN2)) < 1e-3)
  const masked = jnp.array([[0, -Infinity, 0], [-Infinity, -Infinity, -Infinity]])
  const m = jnp.softmax(masked).toArray() as number[][]
  t.deepEqual(m[0], [0.5, 0, 0.5])
  t.true(m[1].every(Number.isNaN), 'an all -inf row is NaN, as in jax')
  t.deepEqual(jnp.logsumexp(masked, 1).toArray(), [f32(Math.LN2), -Infinity])
  t.deepEqual(jnp.softmax(jnp.arange(2).astype('int32')).toArray(), [f32(1 / (1 + Math.E)), f32(Math.E / (1 + Math.E))])
  t.deepEqual(jnp.softmax(jnp.ones([2, 2]), null).toArray(), [[0.25, 0.25], [0.25, 0.25]])
  t.deepEqual(jnp.logsumexp(jnp.zeros([3, 0]), 1).toArray(), [-Infinity, -Infinity, -Infinity])
  code(t, () => jnp.softmax(x, 2), 'E_ARG', /softmax: axis 2/)
  code(t, () => jnp.logsumexp(x, [0, 0]), 'E_ARG', /twice/)
  code(t, () => jnp.logSoftmax('x' as any), 'E_TYPE', /x: expected a Tensor/, TypeError)
})

test('a large softmax over the first axis (strided, parallel) matches the transposed one', (t) => {
  const x = random.normal(random.key(4), [100, 1000])
  const a = jnp.softmax(x, 0)
  const b = jnp.transpose(jnp.softmax(jnp.transpose(x), -1))
  t.is(firstMismatch(a.data as Float32Array, b.data as Float32Array, 1e-6), undefined)
  const l = jnp.logsumexp(x, 0)
  t.deepEqual(l.shape, [1000])
  t.is(firstMismatch(l.data as Float32Array, jnp.logsumexp(jnp.transpose(x), 1).data as Float32Array, 1e-6), undefined)
})
