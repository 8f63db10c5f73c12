// flax.linen's activation re-exports of jax.nn against real JAX (goldens from
// scripts/golden/activations.py; float32 arrays are stored as bit patterns, so inputs are exact).
// Every function here is composed from jnp ops as JAX composes it, so each is asserted bit for
// bit, eagerly and under jit (NaN payloads aside: any NaN matches any NaN). standardize reduces:
// XLA sums in float32 where flaxen sums in float64, so it agrees to a few ulps of its outputs.
import test, { type ExecutionContext } from 'ava'
import { jit, jnp, nn } from '../ts/index'
import { Tensor } from '../ts/tensor'
import { loadLocalGolden } from './helpers/golden'

const G = loadLocalGolden('activations').expect

function T(name: string): Tensor {
  const g: { shape: number[]; bits: number[] } = G[name]
  return jnp.array(new Float32Array(Uint32Array.from(g.bits).buffer)).reshape(g.shape)
}

function same(t: ExecutionContext, got: Tensor, name: string): void {
  const want = T(name)
  t.is(got.dtype, 'float32', `${name}: dtype`)
  t.deepEqual([...got.shape], [...want.shape], `${name}: shape`)
  const w = want.data as Float32Array
  const diff = (got.data as Float32Array).findIndex((v, i) => !Object.is(v, w[i]) && !(Number.isNaN(v) && Number.isNaN(w[i])))
  t.is(diff, -1, `${name}: first difference at ${diff}: ${got.data[diff]} vs ${w[diff]} (x = ${diff >= 0 ? T('x').data[diff] : ''})`)
}

/** Within `atol` of the golden: for reductions, which XLA sums in float32 and flaxen in float64. */
function near(t: ExecutionContext, got: Tensor, name: string, atol: number): void {
  const want = T(name).data as Float32Array
  t.deepEqual([...got.shape], [...T(name).shape], `${name}: shape`)
  let worst = 0
  ;(got.data as Float32Array).forEach((v, i) => (worst = Math.max(worst, Math.abs(v - want[i]))))
  t.true(worst <= atol, `${name}: largest difference ${worst} > ${atol}`)
}

/** Within `ulps` float32 ulps of the golden, everywhere. */
function ulpsOff(t: ExecutionContext, got: Tensor, name: string, ulps: number): void {
  const want = new Int32Array(T(name).data.buffer.slice(0))
  const have = new Int32Array((got.data as Float32Array).slice().buffer)
  const bad = have.findIndex((v, i) => Math.abs(v - want[i]) > ulps && !(Number.isNaN(got.data[i]) && Number.isNaN(T(name).data[i])))
  t.is(bad, -1, `${name}: more than ${ulps} ulps off at ${bad}`)
}

const elementwise: [string, (x: Tensor) => Tensor][] = [
  ['softplus', nn.softplus],
  ['log_sigmoid', nn.logSigmoid],
  ['elu', (x) => nn.elu(x)],
  ['elu_alpha', (x) => nn.elu(x, { alpha: 0.5 })],
  ['celu', (x) => nn.celu(x)],
  ['selu', nn.selu],
  ['leaky_relu', (x) => nn.leakyRelu(x)],
  ['leaky_relu_slope', (x) => nn.leakyRelu(x, { negativeSlope: 0.2 })],
  ['relu6', nn.relu6],
  ['hard_sigmoid', nn.hardSigmoid],
  ['hard_swish', nn.hardSwish],
  ['hard_silu', nn.hardSilu],
  ['hard_tanh', nn.hardTanh],
  ['soft_sign', nn.softSign],
]

for (const [name, fn] of elementwise) {
  test(`nn.${name}: JAX bit for bit over specials and sweeps, eager and under jit`, (t) => {
    const x = T('x')
    same(t, fn(x), name)
    same(t, jit(fn)(x), name)
  })
}

test('nn.celu with alpha != 1: within 3 ulps of JAX (XLA evaluates expm1 differently inside its fused loop)', (t) => {
  // XLA's compiled celu is max(x, 0) + 0.7 * expm1(min(x, 0) * fround(1 / 0.7)): the same ops
  // as here (a division by a constant becomes the reciprocal's product in both), and flaxen's
  // expm1 equals XLA's standalone expm1 bit for bit (ops-coverage); inside the fused loop XLA's
  // result moves by up to 3 ulps for 26 of these 2838 inputs (1 ulp: 14, 2: 10, 3: 2).
  const x = T('x')
  ulpsOff(t, nn.celu(x, { alpha: 0.7 }), 'celu_alpha', 3)
  ulpsOff(t, jit((v: Tensor) => nn.celu(v, { alpha: 0.7 }))(x), 'celu_alpha', 3)
})

test('nn.glu: halves along the last axis or a given one, bit for bit; an odd axis is E_SHAPE', (t) => {
  const g = T('g')
  same(t, nn.glu(g), 'glu')
  same(t, nn.glu(g, { axis: 0 }), 'glu_axis0')
  same(t, jit((x: Tensor) => nn.glu(x, { axis: 0 }))(g), 'glu_axis0')
  const err = t.throws(() => nn.glu(jnp.ones([2, 3])), { code: 'E_SHAPE' })
  t.regex(err.message, /glu: axis -1 of x \(shape \[2, 3\]\) must have an even size, got 3/)
  t.throws(() => nn.glu(g, { axis: 2 }), { code: 'E_ARG' })
})

test('nn.standardize: fast and stable variance, several axes, given mean/variance, a constant row (variance clipped at 0)', (t) => {
  const s = T('s')
  const ATOL = 2e-6
  near(t, nn.standardize(s), 'standardize', ATOL)
  near(t, nn.standardize(s, { axis: [0, 2], epsilon: 1e-3 }), 'standardize_axis', ATOL)
  // No reduction left, but XLA's CPU rsqrt is not correctly rounded (golden-normalization):
  // 101 of 320 values differ, by at most 2 ulps.
  ulpsOff(t, nn.standardize(s, { mean: T('std_mean'), variance: T('std_var') }), 'standardize_given', 2)
  near(t, nn.standardize(s, { algorithm: 'stable' }), 'standardize_stable', ATOL)
  near(t, jit((x: Tensor) => nn.standardize(x))(s), 'standardize', ATOL)
  // A constant row: the mean is exact in flaxen's float64 sum (JAX's float32 sum is off by an
  // ulp of 1000.1, which rsqrt(epsilon) then scales to ~2.4e-4); the fast variance, ≤ 0 from
  // rounding, is clipped, so the result is finite: exact zeros here.
  const c = nn.standardize(T('c'))
  t.deepEqual(Array.from(c.data), new Array(32).fill(0))
  near(t, c, 'standardize_const', 3e-4)
  // @ts-expect-error: an unknown algorithm is refused at run time too
  t.throws(() => nn.standardize(s, { algorithm: 'exact' }), { code: 'E_ARG' })
})

test('activation options must be objects (E_TYPE)', (t) => {
  const x = jnp.ones([2])
  // @ts-expect-error: a bare number where an options object belongs
  t.throws(() => nn.elu(x, 0.5), { code: 'E_TYPE' })
  // @ts-expect-error: likewise
  t.throws(() => nn.leakyRelu(x, 0.2), { code: 'E_TYPE' })
})
