// nn.initializers (spec f; flax-cases 103): the builders, the aliases, orthogonal, and errors.
import test from 'ava'
import { jnp, linalg, nn, random, type Tensor } from '../ts/index'
import { ValueError } from '../ts/errors'
import { firstMismatch } from './helpers/close'
import { loadLocalGolden } from './helpers/golden'
import { assertMatches } from './helpers/variables'

const I = nn.initializers
const golden = loadLocalGolden('layers').expect

test('zeros_init / ones_init builders (initializers_test) and Dense(kernel_init=zeros_init())', (t) => {
  const z = I.zerosInit()(random.key(42), [2, 3], 'float32')
  t.deepEqual(z.toArray(), [[0, 0, 0], [0, 0, 0]])
  t.is(z.dtype, 'float32')
  t.deepEqual(I.onesInit()(random.key(42), [2, 3], 'float32').toArray(), [[1, 1, 1], [1, 1, 1]])
  const v = new nn.Dense({ features: 5, kernelInit: I.zerosInit() }).init(random.key(0), jnp.ones([3, 2]))
  t.deepEqual(v.params.kernel.toArray(), [[0, 0, 0, 0, 0], [0, 0, 0, 0, 0]])
  // dtype defaults to float32 for every initializer
  for (const init of [I.zeros, I.ones, I.constant(2), I.normal(), I.uniform(), I.truncatedNormal(), I.lecunNormal(), I.orthogonal()]) {
    t.is(init(random.key(0), [2, 2]).dtype, 'float32')
  }
  t.deepEqual(I.constant(7, 'int32')(random.key(0), [2]).toArray(), [7, 7])
})

test('aliases: xavier = glorot, kaiming = he (the same values)', (t) => {
  const k = random.key(3)
  const same = (a: nn.Initializer, b: nn.Initializer) => t.deepEqual(Array.from(a(k, [4, 5]).data), Array.from(b(k, [4, 5]).data))
  same(I.xavierNormal(), I.glorotNormal())
  same(I.xavierUniform(), I.glorotUniform())
  same(I.kaimingNormal(), I.heNormal())
  same(I.kaimingUniform(), I.heUniform())
  // each is variance_scaling with Flax's arguments
  same(I.glorotNormal(), I.varianceScaling(1.0, 'fan_avg', 'truncated_normal'))
  same(I.heUniform(), I.varianceScaling(2.0, 'fan_in', 'uniform'))
  same(I.lecunUniform(), I.varianceScaling(1.0, 'fan_in', 'uniform'))
})

test('variance_scaling errors use JAX texts', (t) => {
  t.throws(() => I.varianceScaling(1, 'fan_x' as any, 'normal')(random.key(0), [2, 2]), {
    instanceOf: ValueError,
    message: 'invalid mode for variance scaling initializer: fan_x',
  })
  t.throws(() => I.varianceScaling(1, 'fan_in', 'cauchy' as any)(random.key(0), [2, 2]), {
    instanceOf: ValueError,
    message: 'invalid distribution for variance scaling initializer: cauchy',
  })
  t.throws(() => I.lecunNormal()(random.key(0), [3]), {
    instanceOf: ValueError,
    message: "Can't compute input and output sizes of a 1-dimensional weights tensor with default in_axis. Must be at least 2D or specify in_axis explicitly.",
  })
  // an explicit in_axis makes 1-D shapes fine
  t.deepEqual([...I.varianceScaling(1, 'fan_in', 'normal', { inAxis: 0, outAxis: 0 })(random.key(0), [3]).shape], [3])
})

/** Max |AᵀA - I| over the smaller side's Gram matrix of a 2-D matrix. */
function orthogonalityError(m: Tensor): number {
  const [r, c] = m.shape
  const g = r >= c ? jnp.matmul(jnp.transpose(m), m) : jnp.matmul(m, jnp.transpose(m))
  const n = Math.min(r, c)
  let worst = 0
  g.data.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - (Math.floor(i / n) === i % n ? 1 : 0)))))
  return worst
}

test('orthogonal: shapes, orthonormal rows or columns, scale, column_axis', (t) => {
  for (const shape of [[4, 4], [6, 3], [3, 6], [1, 5], [64, 32]]) {
    const q = I.orthogonal()(random.key(7), shape)
    t.deepEqual([...q.shape], shape)
    t.true(orthogonalityError(q) < 2e-6, `shape ${shape}`)
  }
  const s = I.orthogonal(3.0)(random.key(7), [4, 4])
  t.true(orthogonalityError(jnp.divide(s, 3)) < 2e-6)
  // column_axis=0 on (5, 2, 3): matrix = moveaxis(x, 0, -1).reshape(6, 5), rows orthonormal
  const x = I.orthogonal(1.0, 0)(random.key(1), [5, 2, 3])
  t.deepEqual([...x.shape], [5, 2, 3])
  t.true(orthogonalityError(jnp.transpose(x, [1, 2, 0]).reshape([6, 5])) < 2e-6)
  // the sign fix makes R's diagonal positive: Q equals the QR of the same normal draw with that fix
  const a = random.normal(random.key(7), [6, 3])
  const [q, r] = linalg.qr(a)
  const fixed = jnp.multiply(q, jnp.array([0, 1, 2].map((i) => Math.sign(r.data[i * 3 + i]))).reshape([1, 3]))
  t.deepEqual(Array.from(I.orthogonal()(random.key(7), [6, 3]).data), Array.from(fixed.data))
})

test('orthogonal: the values of JAX (LAPACK QR) to float32 rounding', (t) => {
  const cases: [string, Tensor][] = [
    ['orthogonal (2, 3)', I.orthogonal()(random.key(42), [2, 3])],
    ['orthogonal (5, 3)', I.orthogonal()(random.key(0), [5, 3])],
    ['orthogonal(2.0, column_axis=0) (3, 4, 2)', I.orthogonal(2.0, 0)(random.key(1), [3, 4, 2])],
    ['delta_orthogonal (3, 3, 2, 4)', I.deltaOrthogonal()(random.key(2), [3, 3, 2, 4])],
    ['delta_orthogonal(0.5) (2, 3, 3)', I.deltaOrthogonal(0.5)(random.key(3), [2, 3, 3])],
  ]
  for (const [name, got] of cases) assertMatches(t, got, golden[name], 5e-6, name)
})

test('delta_orthogonal: errors for bad ranks and fan_in > fan_out; zeros off the centre', (t) => {
  t.throws(() => I.deltaOrthogonal()(random.key(0), [3, 3]), { instanceOf: ValueError, message: 'Delta orthogonal initializer requires a 3D, 4D or 5D shape.' })
  t.throws(() => I.deltaOrthogonal()(random.key(0), [3, 4, 2]), { instanceOf: ValueError, message: '`fan_in` must be less or equal than `fan_out`. ' })
  const w = I.deltaOrthogonal()(random.key(0), [3, 3, 3, 2, 2])
  const nonzero = Array.from(w.data).flatMap((v, i) => (v !== 0 ? [Math.floor(i / 4)] : []))
  t.true(nonzero.every((block) => block === 13), 'only the centre (1, 1, 1) block is set')
})

test('a dtype given at call time wins over the builder default (JAX: def init(key, shape, dtype=dtype))', (t) => {
  t.is(I.constant(7, 'int32')(random.key(0), [2]).dtype, 'int32')
  t.is(I.constant(7, 'int32')(random.key(0), [2], 'float32').dtype, 'float32')
  t.throws(() => I.normal(1, 'float32')(random.key(0), [2], 'int32'), { instanceOf: ValueError })
})

test('orthogonal: fewer than 2 dims is a ValueError; zero-size gives zeros', (t) => {
  t.throws(() => I.orthogonal()(random.key(0), [3]), { instanceOf: ValueError, message: 'orthogonal initializer requires at least a 2D shape' })
  const z = I.orthogonal()(random.key(0), [0, 3])
  t.deepEqual([...z.shape], [0, 3])
})

test('linalg.qr: reduced factors with A = QR', (t) => {
  const a = random.normal(random.key(2), [5, 3])
  const [q, r] = linalg.qr(a)
  t.deepEqual([...q.shape], [5, 3])
  t.deepEqual([...r.shape], [3, 3])
  t.is(firstMismatch(jnp.matmul(q, r).data, a.data, 0, 1e-5), undefined)
  t.is(r.data[3], 0, 'R is upper triangular')
  const [qw, rw] = linalg.qr(jnp.transpose(a))
  t.deepEqual([[...qw.shape], [...rw.shape]], [[3, 3], [3, 5]])
  t.throws(() => linalg.qr(jnp.ones([2, 2, 2])), { code: 'E_SHAPE' })
})
