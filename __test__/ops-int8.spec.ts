// The int8 dtype and jnp.round across the binding (core semantics: crates/flaxen-core/tests/int8.rs).
import test from 'ava'
import { DTYPES } from '../ts/tensor'
import { jnp } from '../ts/index'

test('int8 tensors: Int8Array views, creation, casts (float → int8 truncates and saturates)', (t) => {
  t.true(DTYPES.includes('int8'))
  const fromTyped = jnp.array(new Int8Array([-128, -1, 0, 127]))
  t.is(fromTyped.dtype, 'int8', 'an Int8Array keeps its dtype, as numpy int8 in jnp.array')
  t.true(fromTyped.data instanceof Int8Array)
  t.deepEqual(fromTyped.toArray(), [-128, -1, 0, 127])
  t.deepEqual(jnp.array([1.9, -1.9, 300, -300]).astype('int8').toArray(), [1, -1, 127, -128])
  t.deepEqual(jnp.zeros([2], 'int8').toArray(), [0, 0])
  t.deepEqual(jnp.array([-3, 4], 'int8').astype('float32').toArray(), [-3, 4])
  // a write through the zero-copy view is seen by the next op
  const q = jnp.zeros([2], 'int8')
  q.data[1] = -5
  t.deepEqual(jnp.multiply(q, 2).toArray(), [0, -10])
})

test('int8 arithmetic: wraps like numpy; with float32 it promotes (dequantisation); sum accumulates in int32', (t) => {
  const a = jnp.array([100, -100, 7], 'int8')
  t.deepEqual(jnp.add(a, a).toArray(), [-56, 56, 14])
  const y = jnp.multiply(a, jnp.array([0.5]))
  t.is(y.dtype, 'float32')
  t.deepEqual(y.toArray(), [50, -50, 3.5])
  t.is(jnp.sum(a).dtype, 'int32')
  t.is(jnp.sum(a).item(), 7)
  t.deepEqual(jnp.max(jnp.abs(a)).toArray(), 100)
  t.throws(() => jnp.add(a, jnp.array([1], 'int32')), { code: 'E_DTYPE' })
})

test('jnp.round: half to even, decimals; integers unchanged; bool rejected', (t) => {
  t.deepEqual(jnp.round(jnp.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 2.6])).toArray(), [-2, -2, -0, 0, 2, 2, 3])
  t.deepEqual(jnp.round(jnp.array([1250, 1350]), -2).toArray(), [1200, 1400])
  t.deepEqual(Array.from(jnp.round(jnp.array([0.125, 0.375]), 2).data), [Math.fround(0.12), Math.fround(0.38)])
  t.deepEqual(jnp.round(jnp.array([3, -4], 'int8')).toArray(), [3, -4])
  t.throws(() => jnp.round(jnp.array([true])), { code: 'E_DTYPE' })
})
