import test from 'ava'
import { jnp, Tensor } from '../ts/index'
import { native } from '../ts/native'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'

test('t.data is a zero-copy view: repeated access returns the same memory, writes are seen by the next op', (t) => {
  const x = jnp.array([[1, 2, 3], [4, 5, 6]])
  const d1 = x.data
  const d2 = x.data
  t.is(d1, d2)
  t.true(d1 instanceof Float32Array)
  t.deepEqual(Array.from(d1), [1, 2, 3, 4, 5, 6])
  d1[4] = 50
  t.deepEqual(jnp.sum(x).item(), 1 + 2 + 3 + 4 + 50 + 6)
  // the view is over native (external) memory, not a copy made per access
  t.is(d1.buffer.byteLength, 6 * 4)
})

test('reshape is a view sharing storage: a write through one is seen through the other', (t) => {
  const x = jnp.arange(6, undefined, 1, 'float32')
  const y = x.reshape([2, 3])
  t.deepEqual(y.shape, [2, 3])
  y.data[5] = -1
  t.is(x.data[5], -1)
  t.deepEqual(x.reshape([3, -1]).shape, [3, 2])
})

test('shape, dtype, size, ndim, toArray, item', (t) => {
  const x = jnp.zeros([2, 3, 4], 'int32')
  t.deepEqual(x.shape, [2, 3, 4])
  t.is(x.dtype, 'int32')
  t.is(x.size, 24)
  t.is(x.ndim, 3)
  t.deepEqual(jnp.array([[1, 2], [3, 4]]).toArray(), [[1, 2], [3, 4]])
  t.deepEqual(jnp.array([true, false]).toArray(), [true, false])
  t.is(jnp.full([], 7.5).item(), 7.5)
  t.is(jnp.full([1, 1], 3, 'int32').item(), 3)
  const err = t.throws(() => jnp.ones([2]).item())
  t.like(err, { code: 'E_SHAPE' })
  t.regex(err!.message, /\[2\]/)
})

test('creation: array from typed arrays and nested arrays, zeros/ones/full/arange/linspace/eye', (t) => {
  t.is(jnp.array(new Int32Array([1, 2])).dtype, 'int32')
  t.is(jnp.array(new Uint8Array([1, 2])).dtype, 'uint8')
  t.is(jnp.array(new Uint32Array([1, 2])).dtype, 'uint32')
  t.is(jnp.array(new Float64Array([0.1])).dtype, 'float32')
  t.is(jnp.array(new Float64Array([0.1])).item(), Math.fround(0.1))
  t.is(jnp.array([[1, 2]], 'int32').dtype, 'int32')
  t.deepEqual(jnp.ones([2], 'bool').toArray(), [true, true])
  t.deepEqual(jnp.full([2, 2], 2.5).toArray(), [[2.5, 2.5], [2.5, 2.5]])
  t.deepEqual(jnp.arange(5).toArray(), [0, 1, 2, 3, 4])
  t.is(jnp.arange(5).dtype, 'int32')
  t.deepEqual(jnp.arange(1, 2, 0.25).toArray(), [1, 1.25, 1.5, 1.75])
  t.deepEqual(jnp.arange(5, 0, -2).toArray(), [5, 3, 1])
  t.deepEqual(jnp.linspace(0, 1, 5).toArray(), [0, 0.25, 0.5, 0.75, 1])
  t.deepEqual(jnp.eye(3).toArray(), [[1, 0, 0], [0, 1, 0], [0, 0, 1]])
  t.deepEqual(jnp.eye(2, 3).toArray(), [[1, 0, 0], [0, 1, 0]])
  t.deepEqual(jnp.zeros([0, 3]).shape, [0, 3])
  t.deepEqual(Array.from(jnp.zeros([0]).data), [])
})

test('jnp.array copies: writing the source afterwards does not change the tensor', (t) => {
  const src = new Float32Array([1, 2, 3])
  const x = jnp.array(src)
  src[0] = 100
  t.is(x.data[0], 1)
  const y = jnp.array(x)
  y.data[1] = 7
  t.is(x.data[1], 2)
})

test('dispose frees now; any later use throws E_DISPOSED; the old view is detached', (t) => {
  const before = native.liveBytes()
  const x = jnp.zeros([1024, 256])
  t.is(native.liveBytes() - before, 1024 * 256 * 4)
  x.dispose()
  t.is(native.liveBytes() - before, 0)
  t.true(x.isDisposed)
  for (const use of [() => x.shape, () => x.data, () => jnp.add(x, 1), () => x.reshape([4]), () => x.toArray()]) {
    const err = t.throws(use)
    t.like(err, { code: 'E_DISPOSED' })
  }
  const y = jnp.ones([4])
  const view = y.data
  y.dispose()
  t.is(view.length, 0, 'the view of a disposed tensor is detached, so freed memory is unreachable')
  x.dispose() // disposing twice is harmless
})

test('dispose keeps storage alive for other tensors sharing it (reshape views)', (t) => {
  const x = jnp.arange(4, undefined, 1, 'float32')
  const y = x.reshape([2, 2])
  x.dispose()
  t.deepEqual(y.toArray(), [[0, 1], [2, 3]])
})

test('tidy frees every tensor created inside except what it returns (also nested and in containers)', (t) => {
  const before = native.liveBytes()
  let inner: Tensor | undefined
  const out = jnp.tidy(() => {
    const a = jnp.ones([64, 64])
    inner = jnp.add(a, a)
    const kept = jnp.tidy(() => {
      const tmp = jnp.multiply(inner!, 3)
      return { y: jnp.add(tmp, 1) }
    })
    return [kept.y, jnp.sum(a)]
  })
  t.true(inner!.isDisposed)
  t.false(out[0].isDisposed)
  t.is(out[0].data[0], 7)
  t.is(out[1].item(), 64 * 64)
  out[0].dispose()
  out[1].dispose()
  t.is(native.liveBytes() - before, 0)
  const err = t.throws(() => jnp.tidy(() => { jnp.ones([2]); throw new Error('boom') }))
  t.is(err!.message, 'boom')
  t.is(native.liveBytes() - before, 0, 'tensors are freed when fn throws too')
})

test('tensors left to GC give their memory back: finalized handles are dropped in batches, the rest by the next op', (t) => {
  setFlagsFromString('--expose-gc')
  const gc = runInNewContext('gc') as () => void
  // Earlier tests' garbage first.
  gc()
  jnp.zeros([1]).dispose()
  const before = native.liveBytes()
  // 1000 tensors: several full batches and a partial one.
  const make = (): void => {
    for (let i = 0; i < 1000; i++) jnp.add(jnp.ones([64]), i)
  }
  make()
  t.true(native.liveBytes() - before > 0)
  gc()
  gc()
  // The partial batch is dropped before the next handle is made.
  const probe = jnp.zeros([1])
  t.is(native.liveBytes() - before, 4, 'only the probe is left')
  probe.dispose()
  t.is(native.liveBytes() - before, 0)
})
