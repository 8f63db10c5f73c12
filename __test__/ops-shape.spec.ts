import test from 'ava'
import * as jnp from '../ts/jnp'
import { native } from '../ts/native'
import * as random from '../ts/random'
import { nop } from './helpers/native-op'

function code(t: any, fn: () => unknown, expected: string, message?: RegExp, type: any = Error) {
  const err = t.throws(fn, { instanceOf: type })
  t.is(err.code, expected, err.message)
  if (message) t.regex(err.message, message)
}

const iota = (shape: number[]) => jnp.arange(shape.reduce((a, b) => a * b, 1), undefined, 1, 'float32').reshape(shape)

test('take along an axis: negative indices wrap, out of range gives NaN rows (fill mode)', (t) => {
  const x = iota([4, 3])
  const y = jnp.take(x, jnp.array([[0, -1], [4, 2]], 'int32'), 0)
  t.deepEqual(y.shape, [2, 2, 3])
  t.deepEqual(y.toArray(), [[[0, 1, 2], [9, 10, 11]], [[NaN, NaN, NaN], [6, 7, 8]]])
  t.deepEqual(jnp.take(x, [2, 0, -4], 1).toArray(), [[2, 0, NaN], [5, 3, NaN], [8, 6, NaN], [11, 9, NaN]])
  t.deepEqual(jnp.take(x, [11, -12, 12]).toArray(), [11, 0, NaN], 'no axis: the flattened x')
  t.deepEqual(jnp.take(x, 1, 0).toArray(), [3, 4, 5], 'a number index drops the axis')
  t.deepEqual(jnp.take(x, [5, -1], 0, { mode: 'clip' }).toArray(), [[9, 10, 11], [0, 1, 2]])
  t.deepEqual(jnp.take(x, [5, -1], 0, { mode: 'wrap' }).toArray(), [[3, 4, 5], [9, 10, 11]])
  // Fill values of the other dtypes (jnp: most negative int, largest unsigned, true).
  t.deepEqual(jnp.take(jnp.arange(3), [3]).toArray(), [-2147483648])
  t.deepEqual(jnp.take(jnp.arange(3).astype('uint8'), [3]).toArray(), [255])
  t.deepEqual(jnp.take(jnp.array([false]), [3]).toArray(), [true])
  t.deepEqual(jnp.take(x, jnp.array([1], 'uint8'), 0).toArray(), [[3, 4, 5]])
  code(t, () => jnp.take(x, jnp.array([0.5]), 0), 'E_DTYPE', /indices has dtype float32/)
  code(t, () => jnp.take(x, [0], 2), 'E_ARG', /take: axis/)
  code(t, () => jnp.take(x, [0], 0, { mode: 'raise' as any }), 'E_ARG', /mode/)
  code(t, () => jnp.take(x, 'a' as any), 'E_TYPE', /indices/, TypeError)
  code(t, () => nop('take', x.handle, x.handle, null, 3), 'E_TYPE', /mode/, TypeError)
})

test('take as an embedding lookup (large, parallel) matches a plain gather', (t) => {
  const table = random.normal(random.key(0), [1000, 64])
  const ids = jnp.array(Int32Array.from({ length: 2048 }, (_, i) => ((i * 7919) % 1000) - (i % 5 === 0 ? 1000 : 0)))
  const y = jnp.take(table, ids.reshape([32, 64]), 0)
  t.deepEqual(y.shape, [32, 64, 64])
  const td = table.data as Float32Array
  const yd = y.data as Float32Array
  const idd = ids.data as Int32Array
  for (let k = 0; k < 2048; k += 97) {
    const r = idd[k] < 0 ? idd[k] + 1000 : idd[k]
    for (let j = 0; j < 64; j++) t.is(yd[k * 64 + j], td[r * 64 + j])
  }
})

test('oneHot like jax.nn.one_hot', (t) => {
  t.deepEqual(jnp.oneHot(jnp.array([0, 2, -1, 3], 'int32'), 3).toArray(), [[1, 0, 0], [0, 0, 1], [0, 0, 0], [0, 0, 0]])
  t.deepEqual(jnp.oneHot([1, 0], 2, { axis: 0 }).toArray(), [[0, 1], [1, 0]])
  const f = jnp.oneHot(jnp.array([1, 1.5, NaN]), 2, { dtype: 'int32' })
  t.is(f.dtype, 'int32')
  t.deepEqual(f.toArray(), [[0, 1], [0, 0], [0, 0]])
  t.deepEqual(jnp.oneHot(jnp.zeros([2, 3], 'int32'), 4).shape, [2, 3, 4])
  code(t, () => jnp.oneHot([1], -1), 'E_ARG', /numClasses/)
  code(t, () => jnp.oneHot([1], 2, { axis: 2 }), 'E_ARG', /axis/)
  code(t, () => jnp.oneHot([1], 2, { dtype: 'float64' as any }), 'E_DTYPE', /float64/)
})

test('concatenate and stack', (t) => {
  const a = iota([2, 3])
  const b = jnp.array([[10], [11]])
  t.deepEqual(jnp.concatenate([a, b], 1).toArray(), [[0, 1, 2, 10], [3, 4, 5, 11]])
  t.deepEqual(jnp.concatenate([a, a]).shape, [4, 3])
  t.deepEqual(jnp.concatenate([a, jnp.array([[7, 8, 9]], 'int32')], -2).toArray(), [[0, 1, 2], [3, 4, 5], [7, 8, 9]])
  t.is(jnp.concatenate([jnp.arange(2), jnp.arange(3)]).dtype, 'int32')
  t.deepEqual(jnp.stack([a, a], 1).toArray(), [[[0, 1, 2], [0, 1, 2]], [[3, 4, 5], [3, 4, 5]]])
  t.deepEqual(jnp.stack([a, a], -1).shape, [2, 3, 2])
  t.deepEqual(jnp.stack([jnp.array(1), jnp.array(2)]).toArray(), [1, 2])
  const big = jnp.concatenate([iota([500, 200]), jnp.zeros([500, 100])], 1)
  t.deepEqual(big.shape, [500, 300])
  t.is((big.data as Float32Array)[499 * 300 + 199], 499 * 200 + 199)
  code(t, () => jnp.concatenate([a, b], 0), 'E_SHAPE', /\[2, 3\].*\[2, 1\]/)
  code(t, () => jnp.concatenate([a, jnp.ones([6])]), 'E_SHAPE', /same number of dimensions/)
  code(t, () => jnp.concatenate([jnp.array(1)]), 'E_SHAPE', /zero-dimensional/)
  code(t, () => jnp.concatenate([]), 'E_ARG', /empty/)
  code(t, () => jnp.concatenate([a], 2), 'E_ARG', /concatenate: axis/)
  code(t, () => jnp.concatenate([jnp.arange(2), jnp.ones([2], 'uint8')]), 'E_DTYPE', /uint8/)
  code(t, () => jnp.stack([a, b]), 'E_SHAPE', /\[2, 3\].*\[2, 1\]/)
  code(t, () => jnp.stack([a], 3), 'E_ARG', /stack: axis/)
  code(t, () => jnp.concatenate(a as any), 'E_TYPE', /xs must be an array/, TypeError)
  code(t, () => jnp.stack([a, 1 as any]), 'E_TYPE', /xs\[1\]/, TypeError)
  code(t, () => nop('concatenate', [a.handle, {}], 0), 'E_TYPE', /concatenate: xs\[1\]: expected a tensor handle/, TypeError)
})

test('expandDims and squeeze relabel the shape (no copy)', (t) => {
  const x = iota([2, 3])
  t.deepEqual(jnp.expandDims(x, 0).shape, [1, 2, 3])
  t.deepEqual(jnp.expandDims(x, [-1, 1]).shape, [2, 1, 3, 1])
  const e = jnp.expandDims(x, 1)
  ;(x.data as Float32Array)[0] = 42
  t.is((e.data as Float32Array)[0], 42, 'shares storage like reshape')
  const y = jnp.zeros([1, 2, 1, 3, 1])
  t.deepEqual(jnp.squeeze(y).shape, [2, 3])
  t.deepEqual(jnp.squeeze(y, [0, -1]).shape, [2, 1, 3])
  t.deepEqual(jnp.squeeze(y, 2).shape, [1, 2, 3, 1])
  code(t, () => jnp.squeeze(y, 1), 'E_ARG', /size 2/)
  code(t, () => jnp.squeeze(y, 5), 'E_ARG', /squeeze: axis/)
  code(t, () => jnp.expandDims(x, [0, 0]), 'E_ARG', /repeats/)
  code(t, () => jnp.expandDims(x, 3), 'E_ARG', /expand_dims: axis/)
  code(t, () => jnp.expandDims(x, 'a' as any), 'E_TYPE', /axis/, TypeError)
})

test('broadcastTo materialises the broadcast', (t) => {
  t.deepEqual(jnp.broadcastTo(jnp.array([1, 2, 3]), [2, 3]).toArray(), [[1, 2, 3], [1, 2, 3]])
  t.deepEqual(jnp.broadcastTo(jnp.array([[1], [2]]), [2, 2, 3]).toArray(), [[[1, 1, 1], [2, 2, 2]], [[1, 1, 1], [2, 2, 2]]])
  t.is(jnp.broadcastTo(jnp.arange(3), [2, 3]).dtype, 'int32')
  const b = jnp.broadcastTo(jnp.arange(400, undefined, 1, 'float32').reshape([1, 400]), [300, 400]).data as Float32Array
  t.is(b[299 * 400 + 7], 7)
  code(t, () => jnp.broadcastTo(jnp.ones([2, 3]), [3, 3]), 'E_SHAPE', /\[2, 3\].*\[3, 3\]/)
  code(t, () => jnp.broadcastTo(jnp.ones([2, 3]), [3]), 'E_SHAPE', /\[2, 3\].*\[3\]/)
  code(t, () => jnp.broadcastTo(jnp.ones([2]), [-2]), 'E_ARG', /shape/)
})

test('swapaxes, moveaxis and astype', (t) => {
  const z = iota([2, 3, 4])
  const s = jnp.swapaxes(z, 0, -1)
  t.deepEqual(s.shape, [4, 3, 2])
  t.deepEqual((s.toArray() as number[][][])[1][2], [9, 21])
  t.deepEqual(jnp.moveaxis(z, 0, -1).shape, [3, 4, 2])
  t.deepEqual((jnp.moveaxis(z, 0, -1).toArray() as number[][][])[0][1], [1, 13])
  t.deepEqual(jnp.moveaxis(z, [0, 1], [2, 0]).shape, [3, 4, 2])
  t.deepEqual(jnp.moveaxis(z, -1, 0).toArray(), jnp.transpose(z, [2, 0, 1]).toArray())
  const c = jnp.astype(jnp.array([1.7, -1.7, 0]), 'int32')
  t.is(c.dtype, 'int32')
  t.deepEqual(c.toArray(), [1, -1, 0])
  t.deepEqual(jnp.astype(jnp.array([2, 0]), 'bool').toArray(), [true, false])
  code(t, () => jnp.swapaxes(z, 0, 3), 'E_ARG', /swapaxes: axis2/)
  code(t, () => jnp.moveaxis(z, [0], [0, 1]), 'E_ARG', /same number of axes/)
  code(t, () => jnp.moveaxis(z, [0, 0], [1, 2]), 'E_ARG', /moveaxis: source/)
  code(t, () => jnp.astype(z, 'int64' as any), 'E_DTYPE', /int64/)
  code(t, () => nop('swapaxes', z.handle, 'a', 0), 'E_TYPE', /axis1/, TypeError)
})
