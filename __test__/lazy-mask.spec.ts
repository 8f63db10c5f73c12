// triu/tril of float32 tensors are deferred (a lazy handle: no kernel runs until the result is
// used), and matmul(x, triu(w)) multiplies by the masked w without materialising it. These
// tests pin the observable behaviour: values, errors, memory and aliasing are exactly those of
// the eager ops. Also: pooled storage (large blocks are recycled) never shows stale data.
import test from 'ava'
import { jnp, Tensor } from '../ts/index'
import { native } from '../ts/native'

/** Deterministic float32 data in [-1, 1). */
function data(n: number, seed: number): Float32Array {
  let s = seed * 2654435761 + 12345
  const out = new Float32Array(n)
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1103515245) + 12345) | 0
    out[i] = ((s >>> 8) / 2 ** 24) * 2 - 1
  }
  return out
}

function mat(shape: number[], seed: number): Tensor {
  return jnp.reshape(jnp.array(data(shape.reduce((a, b) => a * b, 1), seed)), shape)
}

/** triu/tril of the last two axes, computed in JS. */
function maskJs(x: Float32Array, shape: readonly number[], k: number, upper: boolean): Float32Array {
  const [r, c] = shape.slice(-2)
  const out = new Float32Array(x)
  for (let i = 0; i < x.length; i++) {
    const row = Math.floor(i / c) % r
    const col = i % c
    if (upper ? col - row < k : col - row > k) out[i] = 0
  }
  return out
}

test('t.data after triu/tril gives the masked values (odd sizes, k != 0, batched, both ways)', (t) => {
  for (const shape of [[5, 7], [7, 5], [3, 4, 6], [1, 1]]) {
    for (const k of [0, 1, -1, 3, -4, 10]) {
      const x = mat(shape, shape.length * 10 + k)
      const src = Float32Array.from(new Float32Array(jnp.array(x).data))
      for (const upper of [true, false]) {
        const m = upper ? jnp.triu(x, k) : jnp.tril(x, k)
        t.deepEqual(m.shape, shape)
        t.is(m.dtype, 'float32')
        t.deepEqual(Array.from(m.data), Array.from(maskJs(src, shape, k, upper)), `${upper ? 'triu' : 'tril'}(${shape}, ${k})`)
      }
    }
  }
  // Other dtypes are masked eagerly, with the same results.
  const ints = jnp.array([[1, 2, 3], [4, 5, 6]], 'int32')
  t.deepEqual(jnp.triu(ints).toArray(), [[1, 2, 3], [0, 5, 6]])
  t.deepEqual(jnp.tril(ints, -1).toArray(), [[0, 0, 0], [4, 0, 0]])
  // Errors are the eager ones.
  const err = t.throws(() => jnp.triu(jnp.ones([3])))
  t.like(err, { code: 'E_SHAPE' })
})

test('a lazy mask allocates nothing until used; shape and dtype do not materialise it', (t) => {
  const w = mat([256, 256], 1)
  const before = native.liveBytes()
  const m = jnp.triu(w, 2)
  t.deepEqual(m.shape, [256, 256])
  t.is(m.dtype, 'float32')
  t.is(native.liveBytes() - before, 0)
  const d = m.data
  t.is(native.liveBytes() - before, 256 * 256 * 4)
  t.is(d[0], 0)
  t.is(d[2], w.data[2])
  m.dispose()
  t.is(native.liveBytes() - before, 0)
  // blockUntilReady() materialises at once, and returns the tensor.
  const r = jnp.tril(w, -1)
  t.is(r.blockUntilReady(), r)
  t.is(native.liveBytes() - before, 256 * 256 * 4)
  t.is(r.data[1], 0)
  t.is(r.data[256], w.data[256])
  r.dispose()
  t.throws(() => r.blockUntilReady(), { code: 'E_DISPOSED' })
  w.dispose()
})

test('matmul(x, triu(w)) leaves the mask lazy: only the product is allocated', (t) => {
  // w made by an op, so JS never viewed its bytes and the mask may defer.
  const w = jnp.multiply(jnp.ones([256, 256]), 0.5)
  const x = jnp.multiply(jnp.ones([4, 256]), 2)
  const m = jnp.triu(w)
  const before = native.liveBytes()
  const y = jnp.matmul(x, m)
  t.is(native.liveBytes() - before, 4 * 256 * 4, 'no masked copy of w was made')
  // Row 0 of x·triu(w): column j sums j + 1 products of 2 · 0.5.
  t.deepEqual(Array.from(y.data.slice(0, 4)), [1, 2, 3, 4])
  for (const v of [w, x, m, y]) v.dispose()
})

test('disposing a lazy tensor, and triu of a disposed source', (t) => {
  const w = mat([64, 64], 2)
  const m = jnp.tril(w)
  m.dispose()
  t.true(m.isDisposed)
  const e1 = t.throws(() => m.data)
  t.like(e1, { code: 'E_DISPOSED' })
  const e2 = t.throws(() => jnp.matmul(w, m))
  t.like(e2, { code: 'E_DISPOSED' })
  // The source can go first: the lazy result keeps what it needs.
  const keep = jnp.triu(w, -3)
  const want = maskJs(new Float32Array(jnp.array(w).data), [64, 64], -3, true)
  w.dispose()
  t.deepEqual(Array.from(keep.data), Array.from(want))
  // A disposed source cannot be masked.
  const e3 = t.throws(() => jnp.triu(w))
  t.like(e3, { code: 'E_DISPOSED' })
})

test('writes through a view of the source never leak into an earlier lazy mask', (t) => {
  // View made after the mask: the mask is materialised first.
  const w = mat([8, 8], 3)
  const m = jnp.triu(w)
  const old = w.reshape([8, 8]).data[1] // a view of the same storage, through another handle
  w.data[1] = 123
  t.is(m.data[1], old)
  // Source already exposed: the mask is made eagerly; later writes do not reach it.
  const v = mat([8, 8], 4)
  const before = v.data[2]
  const m2 = jnp.triu(v)
  v.data[2] = -5
  t.is(m2.data[2], before)
  // A lazy mask used by matmul still sees the source as it was.
  const x = mat([3, 8], 5)
  const u = mat([8, 8], 6)
  const lazy = jnp.tril(u)
  const expected = Array.from(jnp.matmul(x, jnp.array(maskJs(new Float32Array(jnp.array(u).data), [8, 8], 0, false)).reshape([8, 8])).data)
  u.data.fill(9)
  const got = Array.from(jnp.matmul(x, lazy).data)
  for (let i = 0; i < got.length; i++) t.true(Math.abs(got[i] - expected[i]) <= 1e-5 * (1 + Math.abs(expected[i])))
})

test('matmul(x, triu(w)) matches the materialised product (odd sizes, k != 0, batched, 1-D x)', (t) => {
  const cases: [number[], number[], number][] = [
    [[5, 13], [13, 11], 0],
    [[33, 70], [70, 65], 3],
    [[33, 70], [70, 65], -5],
    [[2, 3, 40], [40, 41], 1],
    [[3, 9, 20], [3, 20, 20], -2],
    [[40], [40, 40], 0],
    [[1, 300], [300, 300], 7],
  ]
  for (const [sa, sb, k] of cases) {
    for (const upper of [true, false]) {
      const x = mat(sa, sa.length + k + 20)
      const w = mat(sb, sb.length + k + 40)
      const fused = jnp.matmul(x, upper ? jnp.triu(w, k) : jnp.tril(w, k))
      const materialised = jnp.array(maskJs(new Float32Array(jnp.array(w).data), sb, k, upper)).reshape(sb)
      const ref = jnp.matmul(x, materialised)
      t.deepEqual(fused.shape, ref.shape)
      const kk = sa[sa.length - 1]
      const [f, r] = [fused.data, ref.data]
      for (let i = 0; i < f.length; i++) {
        t.true(Math.abs(f[i] - r[i]) <= 1e-5 * kk, `${sa} @ ${upper ? 'triu' : 'tril'}(${sb}, ${k}) [${i}]: ${f[i]} vs ${r[i]}`)
      }
    }
  }
  // An infinite x gives the NaNs the materialised product gives.
  const x = jnp.array([[Infinity, 1], [2, 3]])
  const w = jnp.array([[1, 2], [3, 4]])
  t.deepEqual(Array.from(jnp.matmul(x, jnp.triu(w)).data), Array.from(jnp.matmul(x, jnp.array([[1, 2], [0, 4]])).data))
  // A lazy left operand is materialised.
  t.deepEqual(jnp.matmul(jnp.triu(w), w).toArray(), [[7, 10], [12, 16]])
})

test('tidy and dispose with lazy masks and pooled storage', (t) => {
  const w = mat([300, 300], 7)
  const before = native.liveBytes()
  const kept = jnp.tidy(() => {
    const a = jnp.triu(w)
    const b = jnp.tril(w, -1)
    jnp.add(a, b) // materialises both; disposed by tidy
    return jnp.triu(w, 5)
  })
  t.is(native.liveBytes() - before, 0) // only the lazy result survives, holding no new bytes
  t.is(kept.data[5], w.data[5])
  t.is(kept.data[4], 0)
  kept.dispose()
  t.is(native.liveBytes() - before, 0)

  // Large blocks are recycled: a disposed tensor's block must never show through as stale data.
  for (let i = 0; i < 3; i++) {
    const dirty = jnp.full([256, 300], 7)
    const view = dirty.data
    dirty.dispose()
    t.is(view.length, 0) // detached: JS cannot see the block once it is reused
    const z = jnp.zeros([256, 300])
    t.true(z.data.every((v) => v === 0))
    const m = jnp.triu(jnp.ones([256, 300]), 1)
    const d = m.data
    t.is(d[0], 0)
    t.is(d[300 + 1], 0)
    t.is(d[1], 1)
    z.dispose()
    m.dispose()
  }
  w.dispose()
})
