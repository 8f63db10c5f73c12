import test from 'ava'
import { jnp, nn, random, Tensor } from '../ts/index'

/** Row-major naive matmul in float64: values, and per entry the scale sum_p |a_ip * b_pj|. */
function naive(a: Float32Array, b: Float32Array, m: number, k: number, n: number) {
  const out = new Float64Array(m * n)
  const scale = new Float64Array(m * n)
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let s = 0
      let abs = 0
      for (let p = 0; p < k; p++) {
        s += a[i * k + p] * b[p * n + j]
        abs += Math.abs(a[i * k + p] * b[p * n + j])
      }
      out[i * n + j] = s
      scale[i * n + j] = abs
    }
  return { out, scale }
}

/** Largest error relative to the entry's magnitude scale (plain relative error blows up on entries that cancel to ~0). */
function matmulError(got: ArrayLike<number>, ref: { out: Float64Array; scale: Float64Array }): number {
  let worst = 0
  for (let i = 0; i < ref.out.length; i++) worst = Math.max(worst, Math.abs(got[i] - ref.out[i]) / Math.max(ref.scale[i], 1e-30))
  return worst
}

function rand(seed: number, shape: number[]): Tensor {
  return random.uniform(random.key(seed), shape, { minval: -1, maxval: 1 })
}

for (const [m, k, n] of [[1, 1, 1], [3, 5, 7], [17, 33, 9], [64, 64, 64], [130, 257, 65], [1, 300, 200], [200, 300, 1]]) {
  test(`matmul ${m}x${k} @ ${k}x${n} matches a naive loop (1e-4 relative)`, (t) => {
    const a = rand(1, [m, k])
    const b = rand(2, [k, n])
    const y = jnp.matmul(a, b)
    t.deepEqual(y.shape, [m, n])
    t.true(matmulError(y.data, naive(a.data as Float32Array, b.data as Float32Array, m, k, n)) < 1e-4)
  })
}

test('matmul: batched leading dims broadcast, and 1-D operands', (t) => {
  const a = rand(3, [2, 1, 3, 4])
  const b = rand(4, [5, 4, 2])
  const y = jnp.matmul(a, b)
  t.deepEqual(y.shape, [2, 5, 3, 2])
  const ad = a.data as Float32Array
  const bd = b.data as Float32Array
  for (let i = 0; i < 2; i++)
    for (let j = 0; j < 5; j++) {
      const ref = naive(ad.subarray(i * 12, i * 12 + 12), bd.subarray(j * 8, j * 8 + 8), 3, 4, 2)
      const got = (y.data as Float32Array).subarray((i * 5 + j) * 6, (i * 5 + j) * 6 + 6)
      t.true(matmulError(got, ref) < 1e-4)
    }
  const v = jnp.array([1, 2, 3])
  t.is(jnp.matmul(v, v).item(), 14)
  t.deepEqual(jnp.matmul(v, jnp.eye(3)).toArray(), [1, 2, 3])
  t.deepEqual(jnp.matmul(jnp.array([[1, 0, 0], [0, 0, 1]]), v).toArray(), [1, 3])
  t.deepEqual(jnp.matmul(jnp.zeros([2, 0]), jnp.zeros([0, 3])).toArray(), [[0, 0, 0], [0, 0, 0]])
})

test('elementwise ops broadcast, and a JS number is a scalar operand', (t) => {
  const a = jnp.array([[1, 2, 3], [4, 5, 6]])
  const row = jnp.array([10, 20, 30])
  const col = jnp.array([[1], [2]])
  t.deepEqual(jnp.add(a, row).toArray(), [[11, 22, 33], [14, 25, 36]])
  t.deepEqual(jnp.subtract(a, col).toArray(), [[0, 1, 2], [2, 3, 4]])
  t.deepEqual(jnp.multiply(a, 2).toArray(), [[2, 4, 6], [8, 10, 12]])
  t.deepEqual(jnp.divide(a, 4).toArray(), [[0.25, 0.5, 0.75], [1, 1.25, 1.5]])
  t.deepEqual(jnp.subtract(10, a).toArray(), [[9, 8, 7], [6, 5, 4]])
  t.deepEqual(jnp.divide(1, jnp.array([2, 4])).toArray(), [0.5, 0.25])
  t.deepEqual(jnp.add(jnp.array([[1], [2]]), jnp.array([[10, 20]])).toArray(), [[11, 21], [12, 22]])
  t.deepEqual(jnp.add(jnp.arange(3), jnp.arange(3)).toArray(), [0, 2, 4])
  t.is(jnp.add(jnp.arange(3), jnp.arange(3)).dtype, 'int32')
  t.is(jnp.add(jnp.arange(3), jnp.ones([3])).dtype, 'float32', 'int32 with float32 promotes to float32')
  t.is(jnp.divide(jnp.arange(3), jnp.arange(1, 4)).dtype, 'float32', 'divide is true division')
})

test('triu / tril on the last two axes, with k, batched, any dtype', (t) => {
  const x = jnp.add(jnp.arange(12, undefined, 1, 'float32').reshape([3, 4]), 1)
  t.deepEqual(jnp.triu(x).toArray(), [[1, 2, 3, 4], [0, 6, 7, 8], [0, 0, 11, 12]])
  t.deepEqual(jnp.triu(x, 1).toArray(), [[0, 2, 3, 4], [0, 0, 7, 8], [0, 0, 0, 12]])
  t.deepEqual(jnp.triu(x, -1).toArray(), [[1, 2, 3, 4], [5, 6, 7, 8], [0, 10, 11, 12]])
  t.deepEqual(jnp.tril(x).toArray(), [[1, 0, 0, 0], [5, 6, 0, 0], [9, 10, 11, 0]])
  t.deepEqual(jnp.tril(x, 2).toArray(), [[1, 2, 3, 0], [5, 6, 7, 8], [9, 10, 11, 12]])
  t.deepEqual(jnp.tril(x, -5).toArray(), [[0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]])
  const b = jnp.ones([2, 2, 2], 'int32')
  t.deepEqual(jnp.triu(b).toArray(), [[[1, 1], [0, 1]], [[1, 1], [0, 1]]])
  t.is(jnp.triu(b).dtype, 'int32')
})

test('sign, relu, transpose, sum, mean', (t) => {
  t.deepEqual(jnp.sign(jnp.array([-2, 0, 3.5])).toArray(), [-1, 0, 1])
  t.true(Number.isNaN(jnp.sign(jnp.array([NaN])).item() as number))
  t.deepEqual(nn.relu(jnp.array([-1, 0, 2])).toArray(), [0, 0, 2])
  const x = jnp.arange(6, undefined, 1, 'float32').reshape([2, 3])
  t.deepEqual(jnp.transpose(x).toArray(), [[0, 3], [1, 4], [2, 5]])
  const y = jnp.arange(24, undefined, 1, 'float32').reshape([2, 3, 4])
  const p = jnp.transpose(y, [1, 2, 0])
  t.deepEqual(p.shape, [3, 4, 2])
  t.is((p.toArray() as number[][][])[2][1][0], 9)
  t.is((p.toArray() as number[][][])[2][1][1], 21)
  t.is(jnp.sum(x).item(), 15)
  t.deepEqual(jnp.sum(x, 0).toArray(), [3, 5, 7])
  t.deepEqual(jnp.sum(x, -1).toArray(), [3, 12])
  t.deepEqual(jnp.sum(x, 1, { keepdims: true }).shape, [2, 1])
  t.deepEqual(jnp.mean(x, 0).toArray(), [1.5, 2.5, 3.5])
  t.is(jnp.mean(x).item(), 2.5)
  t.deepEqual(jnp.sum(y, [0, 2]).toArray(), [60, 92, 124])
})

test('reductions against float64 references on a large random tensor', (t) => {
  const x = random.normal(random.key(7), [300, 500])
  const d = x.data as Float32Array
  let total = 0
  const cols = new Float64Array(500)
  for (let i = 0; i < 300; i++) for (let j = 0; j < 500; j++) { total += d[i * 500 + j]; cols[j] += d[i * 500 + j] }
  t.true(Math.abs((jnp.sum(x).item() as number) - total) < 1e-5 * 300 * 500 ** 0.5)
  t.true(Math.abs((jnp.mean(x).item() as number) - total / 150000) < 1e-6)
  const got = jnp.sum(x, 0).data
  for (let j = 0; j < 500; j++) t.true(Math.abs(got[j] - cols[j]) < 1e-4, `column ${j}`)
})

test('dividing by a JS number multiplies by its float32 reciprocal, as JAX on CPU does (bit for bit)', (t) => {
  const x = random.normal(random.key(0), [1000])
  const viaReciprocal = jnp.multiply(x, Math.fround(1 / 3))
  t.deepEqual(Array.from(jnp.divide(x, 3).data), Array.from(viaReciprocal.data))
  // true division differs in the last bit for some values: the rewrite is observable
  const d = x.data as Float32Array
  t.true(Array.from(d).some((v, i) => Math.fround(v / 3) !== viaReciprocal.data[i]))
  // array / array and number / array stay true divisions
  const three = jnp.full([1000], 3)
  t.deepEqual(Array.from(jnp.divide(x, three).data), Array.from(d, (v) => Math.fround(v / 3)))
  t.deepEqual(Array.from(jnp.divide(3, x).data), Array.from(d, (v) => Math.fround(3 / v)))
})
