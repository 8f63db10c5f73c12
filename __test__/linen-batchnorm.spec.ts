// nn.BatchNorm, nn.GroupNorm and nn.InstanceNorm (spec e.4; flax-cases 96, 98, 99): the
// docstring shapes, Flax's own tests ported, golden values from real Flax 0.12.8
// (scripts/golden/norm_vision.py), Flax's errors, the call forms and jit.
//
// What is bit-exact: params and initial batch_stats (same RNG paths); every output that needs
// no reduction (eval mode with given statistics, including Flax's own); the running averages
// whenever the batch statistics are exact in float32 (`bn_exact`: the momentum arithmetic).
// What is within float32 rounding: anything computed from sums. XLA sums in float32 in its
// own order and multiplies by the float32 reciprocal of the count; flaxen sums in float64 and
// divides; and lax.rsqrt on XLA's CPU is not `1 / sqrt` (flaxen's), so one ulp moves even
// when the statistics agree bit for bit. Outputs are within 2e-6 of Flax (values up to ~8), or
// — where the mean is far from zero and float32 rounding dominates both — no further from the
// exact float64 value than Flax's own output is.
import test from 'ava'
import { jit, jnp, nn, random, type Tensor, type Variables } from '../ts/index'
import { ModifyScopeVariableError, ScopeCollectionNotFound, ValueError } from '../ts/errors'
import { assertClose, bitsTensor, loadLocalGolden, type GoldenBits } from './helpers/golden'
import { assertSameBits } from './helpers/jit'
import { closeOrMoreAccurate, exactNorm } from './helpers/norm-reference'
import { shapes } from './helpers/variables'

const golden = loadLocalGolden('norm_vision').expect
const T = (g: GoldenBits): Tensor => bitsTensor(g)

const scaleInit = nn.initializers.normal(1.0)
const biasInit = nn.initializers.uniform(2.0)

/** Outputs far from any cancellation: within this of Flax. */
const ATOL = 2e-6
/** Running averages (values near 0 and 1): two float32 ulps at 1. */
const ATOL_STATS = 3e-7

const bitsOf = (x: Tensor): number[] => Array.from(new Uint32Array((x.data as Float32Array).slice().buffer))

/** Same float32 bit patterns (NaN payloads and signed zeros included). */
function sameBits(t: any, got: Tensor, want: GoldenBits, name: string): void {
  t.deepEqual([...got.shape], want.shape, `${name}: shape`)
  t.is(got.dtype, 'float32', `${name}: dtype`)
  t.deepEqual(bitsOf(got), want.bits, `${name}: bits`)
}

/**
 * One float32 ulp of the largest outputs (values in [4, 8)): where only lax.rsqrt's rounding
 * separates flaxen from Flax, an element moves by at most this.
 */
const ULP8 = 2 ** -20

/** A golden tree (`bits` leaves) against variables: same keys, leaves bit-exact or within `atol`. */
function matchTree(t: any, got: any, want: any, atol: number, name: string): void {
  if (want !== null && typeof want === 'object' && 'shape' in want) {
    if (atol === 0) sameBits(t, got, want, name)
    else assertClose(t, got, T(want), name, atol, 0)
    return
  }
  t.deepEqual(Object.keys(got).sort(), Object.keys(want).sort(), `${name}: keys`)
  for (const k of Object.keys(want)) matchTree(t, got[k], want[k], atol, `${name}/${k}`)
}

const x = T(golden.x)
const x2 = T(golden.x2)
const mask = T(golden.mask)

test('the golden inputs are what flaxen draws from the same keys', (t) => {
  sameBits(t, jnp.add(jnp.multiply(random.normal(random.key(1), [4, 5, 5, 3]), 2), 0.5), golden.x, 'x')
  t.deepEqual(Array.from(random.bernoulli(random.key(3), 0.6, [4, 5, 5, 1]).data), golden.mask.data!.map(Number))
  sameBits(t, jnp.multiply(random.randint(random.key(12), [4, 4, 4, 3], -4, 5).astype('float32'), 0.5), golden.xi, 'xi')
})

// ---- case 96: the docstring ------------------------------------------------------------------

test('BatchNorm docstring (case 96): variables {batch_stats: {mean, var}, params: {scale, bias}} of the feature shape', (t) => {
  const bn = new nn.BatchNorm({ momentum: 0.9, epsilon: 1e-5, dtype: 'float32' })
  const xs = random.normal(random.key(0), [5, 6])
  const v = bn.init(random.key(1), xs, false)
  t.deepEqual(shapes(v), golden.bn_docstring_shapes)
  t.deepEqual(Object.keys(v), ['batch_stats', 'params']) // batch_stats are created first
  t.deepEqual(Object.keys(v.params), ['scale', 'bias'])
  t.deepEqual(Array.from(v.batch_stats.mean.data), [0, 0, 0, 0, 0, 0])
  t.deepEqual(Array.from(v.batch_stats.var.data), [1, 1, 1, 1, 1, 1])
  // training updates batch_stats (mutable); eval needs nothing mutable
  const [y, updated] = bn.applyWith(v, { mutable: ['batch_stats'] }, xs, false)
  t.deepEqual([...y.shape], [5, 6])
  t.deepEqual(Object.keys(updated), ['batch_stats'])
  const yEval: Tensor = bn.apply({ ...v, ...updated }, xs, true)
  t.deepEqual([...yEval.shape], [5, 6])
})

// ---- case 98: test_batch_norm ----------------------------------------------------------------

/** mean / var over `axes` of the entries where `m` (broadcast) is true, as jnp's `where=`. */
function maskedMoments(v: Tensor, axes: number[], m: Tensor | null): [Tensor, Tensor] {
  const w = m === null ? jnp.ones(v.shape) : jnp.broadcastTo(m, v.shape).astype('float32')
  const n = jnp.sum(w, axes, { keepdims: true })
  const mean = jnp.divide(jnp.sum(jnp.multiply(v, w), axes, { keepdims: true }), n)
  const variance = jnp.divide(jnp.sum(jnp.multiply(jnp.square(jnp.subtract(v, mean)), w), axes, { keepdims: true }), n)
  return [mean.reshape([-1]), variance.reshape([-1])]
}

for (const useMask of [false, true]) {
  test(`test_batch_norm (case 98)${useMask ? ', masked' : ''}: output mean 0 / var 1, then the running averages move by 0.1`, (t) => {
    const [key1, key2] = random.split(random.key(0))
    const xb = random.normal(key1, [4, 3, 2])
    const m = useMask ? jnp.broadcastTo(random.bernoulli(key2, 0.5, [4, 3, 1]), [4, 3, 2]) : null
    const bn = new nn.BatchNorm({ momentum: 0.9, useRunningAverage: false })
    const [y, initial] = bn.initWithOutput(key2, xb, { mask: m })
    const [yMean, yVar] = maskedMoments(y, [0, 1], m)
    assertClose(t, yMean, jnp.zeros([2]), 'output mean', 1e-4, 0)
    assertClose(t, yVar, jnp.ones([2]), 'output var', 0, 1e-4)
    // init did not update the running statistics
    t.deepEqual(Array.from(initial.batch_stats.mean.data), [0, 0])
    t.deepEqual(Array.from(initial.batch_stats.var.data), [1, 1])
    const [, out] = bn.applyWith(initial, { mutable: ['batch_stats'] }, xb, { mask: m })
    const [xMean, xVar] = maskedMoments(xb, [0, 1], m)
    assertClose(t, out.batch_stats.mean, jnp.multiply(xMean, 0.1), 'ema mean', 1e-4, 0)
    assertClose(t, out.batch_stats.var, jnp.add(0.9, jnp.multiply(xVar, 0.1)), 'ema var', 0, 1e-4)
  })
}

// ---- case 99: equivalences -------------------------------------------------------------------

test('normalization equivalences (case 99): LayerNorm over [1,2,3] == GroupNorm(1), LayerNorm over [1,2] == InstanceNorm == GroupNorm(groupSize 1), bit for bit', (t) => {
  const xe = random.normal(random.key(0), [3, 4, 5, 6])
  const init = nn.initializers.uniform(1.0)
  const props = { scaleInit: init, biasInit: init }
  const pairs: [string, nn.Module, nn.Module][] = [
    ['LayerNorm([1,2,3]) / GroupNorm(1)', new nn.LayerNorm({ ...props, reductionAxes: [1, 2, 3] }), new nn.GroupNorm({ ...props, numGroups: 1 })],
    ['LayerNorm([1,2], -1) / InstanceNorm(-1)', new nn.LayerNorm({ ...props, reductionAxes: [1, 2], featureAxes: -1 }), new nn.InstanceNorm({ ...props, featureAxes: -1 })],
    ['InstanceNorm / GroupNorm(groupSize 1)', new nn.InstanceNorm(props), new nn.GroupNorm({ ...props, numGroups: null, groupSize: 1 })],
    ['InstanceNorm / GroupNorm(numGroups 6)', new nn.InstanceNorm(props), new nn.GroupNorm({ ...props, numGroups: 6 })],
  ]
  for (const [name, a, b] of pairs) {
    const [ya, va] = a.initWithOutput(random.key(1), xe)
    const [yb, vb] = b.initWithOutput(random.key(1), xe)
    assertSameBits(t, vb, va, `${name}: variables`)
    // Flax checks atol 1e-7; flaxen's f64 sums make them identical
    assertSameBits(t, yb, ya, `${name}: outputs`)
  }
})

// ---- golden: BatchNorm -----------------------------------------------------------------------

const BN_CASES: Record<string, Partial<nn.BatchNorm>> = {
  fast: { momentum: 0.9 },
  slow: { momentum: 0.9, useFastVariance: false },
  default_momentum: {},
  axis_1: { momentum: 0.8, axis: 1 },
  axis_1_3: { momentum: 0.9, axis: [1, 3] },
  axis_1_3_slow: { momentum: 0.9, axis: [1, 3], useFastVariance: false },
  no_scale_bias: { momentum: 0.9, useScale: false, useBias: false },
}

const canon = (nd: number, a: number | readonly number[]) => [...new Set((typeof a === 'number' ? [a] : a).map((v) => (v < 0 ? v + nd : v)))].sort()
const complement = (nd: number, axes: number[]) => Array.from({ length: nd }, (_, i) => i).filter((i) => !axes.includes(i))

for (const [name, props] of Object.entries(BN_CASES)) {
  test(`golden BatchNorm ${name}: init, two training steps, eval (NHWC [4,5,5,3])`, (t) => {
    const g = golden.bn[name]
    const train = new nn.BatchNorm({ useRunningAverage: false, scaleInit, biasInit, ...(props as object) })
    const evalm = train.clone({ useRunningAverage: true })
    const feat = canon(4, props.axis ?? -1)
    const red = complement(4, feat)
    const eps = 1e-5
    const outputClose = (got: Tensor, want: GoldenBits, input: Tensor, v: Variables, what: string) =>
      closeOrMoreAccurate(t, got, T(want), exactNorm(input, red, feat, v.params?.scale ?? null, v.params?.bias ?? null, eps), ATOL, `${name}/${what}`)

    const [y0, v0] = train.initWithOutput(random.key(0), x)
    matchTree(t, v0, g.init.vars, 0, 'init vars') // bit-exact: zeros, ones, the params' RNG paths
    outputClose(y0, g.init.y, x, v0, 'init y')
    const [y1, s1] = train.applyWith(v0, { mutable: ['batch_stats'] }, x)
    outputClose(y1, g.step1.y, x, v0, 'step1 y')
    matchTree(t, s1, g.step1.state, ATOL_STATS, 'step1 state')
    const v1 = { ...v0, ...s1 }
    const [y2, s2] = train.applyWith(v1, { mutable: ['batch_stats'] }, x2)
    outputClose(y2, g.step2.y, x2, v0, 'step2 y')
    matchTree(t, s2, g.step2.state, ATOL_STATS, 'step2 state')
    // eval with flaxen's running averages, and with Flax's (no reduction left: the same bits
    // but for lax.rsqrt's ulp, see the header)
    assertClose(t, evalm.apply({ ...v0, ...s2 }, x), T(g.eval), 'eval', ATOL, 0)
    const flaxStats = { mean: T(g.step2.state.batch_stats.mean), var: T(g.step2.state.batch_stats.var) }
    assertClose(t, evalm.apply({ ...v0, batch_stats: flaxStats }, x), T(g.eval), 'eval (Flax stats)', ULP8, 0)
    // eval straight after init: the initial stats (0, 1) normalise, bit for bit
    const [ye, ve] = evalm.initWithOutput(random.key(0), x)
    matchTree(t, ve, g.init_eval.vars, 0, 'init_eval vars')
    sameBits(t, ye, g.init_eval.y, 'init_eval y')
  })
}

test('golden BatchNorm eval with given statistics: bit-exact', (t) => {
  const g = golden.bn_given_stats
  const v = { params: { scale: T(g.params.scale), bias: T(g.params.bias) }, batch_stats: { mean: T(g.stats.mean), var: T(g.stats.var) } }
  sameBits(t, new nn.BatchNorm({ useRunningAverage: true }).apply(v, x), g.y, 'y')
  // the init drew the same params
  const p = new nn.BatchNorm({ useRunningAverage: true, scaleInit, biasInit }).init(random.key(0), x).params
  matchTree(t, p, g.params, 0, 'params')
})

test('golden BatchNorm with useRunningAverage at call time (positional or in the options)', (t) => {
  const g = golden.bn_call_time
  const bn = new nn.BatchNorm({ momentum: 0.9, scaleInit, biasInit })
  const [y0, v0] = bn.initWithOutput(random.key(0), x, false)
  matchTree(t, v0, g.vars, 0, 'vars')
  assertClose(t, y0, T(g.init_y), 'init y', ATOL, 0)
  for (const call of [(v: Variables) => bn.applyWith(v, { mutable: ['batch_stats'] }, x, false), (v: Variables) => bn.applyWith(v, { mutable: ['batch_stats'] }, x, { useRunningAverage: false })]) {
    const [y1, s1] = call(v0)
    assertClose(t, y1, T(g.step_y), 'step y', ATOL, 0)
    matchTree(t, s1, g.state, ATOL_STATS, 'state')
  }
  const vFlax = { params: v0.params, batch_stats: { mean: T(g.state.batch_stats.mean), var: T(g.state.batch_stats.var) } }
  assertClose(t, bn.apply(vFlax, x, true), T(g.eval_y), 'eval y', ULP8, 0)
  assertSameBits(t, bn.apply(vFlax, x, { useRunningAverage: true }), bn.apply(vFlax, x, true, {}))
})

for (const name of ['fast', 'slow']) {
  test(`golden BatchNorm with a mask (${name} variance): masked batch statistics and their running averages`, (t) => {
    const g = golden.bn_mask[name]
    const bn = new nn.BatchNorm({ momentum: 0.9, useRunningAverage: false, useFastVariance: name === 'fast', scaleInit, biasInit })
    const [y0, v0] = bn.initWithOutput(random.key(0), x, { mask })
    matchTree(t, v0, g.vars, 0, 'vars')
    const exact = exactNorm(x, [0, 1, 2], [3], v0.params.scale, v0.params.bias, 1e-5, { mask })
    closeOrMoreAccurate(t, y0, T(g.init_y), exact, ATOL, 'init y')
    const [y1, s1] = bn.applyWith(v0, { mutable: ['batch_stats'] }, x, { mask })
    closeOrMoreAccurate(t, y1, T(g.step_y), exact, ATOL, 'step y')
    matchTree(t, s1, g.state, ATOL_STATS, 'state')
  })
}

test('golden BatchNorm on inputs with exact statistics: running averages bit-exact (momentum arithmetic, masked counts)', (t) => {
  const xi = T(golden.xi)
  const maskFull = T(golden.mask_full)
  const cases: [string, Partial<nn.BatchNorm>, Tensor | null][] = [
    ['fast', {}, null],
    ['slow', { useFastVariance: false }, null],
    ['fast_mask', {}, maskFull],
    ['default_momentum', { momentum: 0.99 }, null],
  ]
  for (const [name, props, m] of cases) {
    const g = golden.bn_exact[name]
    const bn = new nn.BatchNorm({ momentum: 0.9, useRunningAverage: false, scaleInit, biasInit, ...(props as object) })
    const v = bn.init(random.key(0), xi, { mask: m })
    matchTree(t, v, g.vars, 0, `${name} vars`)
    const [y1, s1] = bn.applyWith(v, { mutable: ['batch_stats'] }, xi, { mask: m })
    matchTree(t, s1, g.step1, 0, `${name} step1 stats`)
    sameBits(t, y1, g.step1_y, `${name} step1 y`)
    const xr = jnp.add(jnp.multiply(jnp.flip(xi, 0), 0.5), 1)
    const [y2, s2] = bn.applyWith({ ...v, ...s1 }, { mutable: ['batch_stats'] }, xr, { mask: m })
    matchTree(t, s2, g.step2, 0, `${name} step2 stats`)
    // the same statistics, but XLA's rsqrt of two of the variances is one ulp off 1/sqrt
    assertClose(t, y2, T(g.step2_y), `${name} step2 y`, ULP8, 0)
  }
})

// ---- golden: GroupNorm / InstanceNorm --------------------------------------------------------

const xg = T(golden.xg)
const gmask = T(golden.gmask)

const GN_CASES: Record<string, Partial<nn.GroupNorm>> = {
  groups_2: { numGroups: 2 },
  groups_3_slow: { numGroups: 3, useFastVariance: false },
  group_size_1: { numGroups: null, groupSize: 1 },
  group_size_3: { numGroups: null, groupSize: 3 },
  groups_1: { numGroups: 1 },
  red_2_3: { numGroups: 2, reductionAxes: [2, 3] },
  red_0_1_2_3: { numGroups: 3, reductionAxes: [0, 1, 2, 3] },
  red_neg: { numGroups: 2, reductionAxes: [-2, -1] },
  no_scale: { numGroups: 2, useScale: false },
}

/** GroupNorm's exact value: the reference over x reshaped to [..., groups, groupSize]. */
function exactGroupNorm(xin: Tensor, groups: number, red: number[], v: Variables, m: Tensor | null = null): Float64Array {
  const nd = xin.ndim
  const c = xin.shape[nd - 1]
  const gshape = [...xin.shape.slice(0, -1), groups, c / groups]
  const gmaskShaped = m === null ? null : m.reshape(gshape)
  // the features of the grouped shape are its last two axes: row-major, the channel index
  return exactNorm(xin.reshape(gshape), [...red.slice(0, -1), nd], [nd - 1, nd], v.params.scale ?? null, v.params.bias ?? null, 1e-6, { mask: gmaskShaped })
}

for (const [name, props] of Object.entries(GN_CASES)) {
  test(`golden GroupNorm ${name}`, (t) => {
    const g = golden.gn[name]
    const m = new nn.GroupNorm({ scaleInit, biasInit, ...(props as object) })
    const [y, v] = m.initWithOutput(random.key(0), xg)
    matchTree(t, v, g.vars, 0, 'vars')
    const groups = props.numGroups ?? 6 / props.groupSize!
    const red = props.reductionAxes === undefined || props.reductionAxes === null ? [1, 2, 3] : canon(4, props.reductionAxes)
    closeOrMoreAccurate(t, y, T(g.y), exactGroupNorm(xg, groups, red, v), ATOL, 'y')
    const shifted = jnp.add(xg, 100)
    closeOrMoreAccurate(t, m.apply(v, shifted), T(g.apply_offset), exactGroupNorm(shifted, groups, red, v), ATOL, 'apply x + 100')
  })
}

test('golden GroupNorm with a mask, and on a 2-D input', (t) => {
  const m = new nn.GroupNorm({ numGroups: 2, scaleInit, biasInit })
  const v = m.init(random.key(0), xg)
  matchTree(t, v, golden.gn.mask.vars, 0, 'vars')
  closeOrMoreAccurate(t, m.apply(v, xg, { mask: gmask }), T(golden.gn.mask.y), exactGroupNorm(xg, 2, [1, 2, 3], v, gmask), ATOL, 'masked y')
  const x2d = T(golden.x2d)
  const [y, v2] = new nn.GroupNorm({ numGroups: 4, scaleInit, biasInit }).initWithOutput(random.key(0), x2d)
  matchTree(t, v2, golden.gn['2d'].vars, 0, '2d vars')
  closeOrMoreAccurate(t, y, T(golden.gn['2d'].y), exactGroupNorm(x2d, 4, [1], v2), ATOL, '2d y')
})

const IN_CASES: Record<string, Partial<nn.InstanceNorm>> = {
  default: {},
  slow: { useFastVariance: false },
  feat_1_3: { featureAxes: [1, 3] },
  feat_2: { featureAxes: 2 },
  no_bias: { useBias: false },
}

for (const [name, props] of Object.entries(IN_CASES)) {
  test(`golden InstanceNorm ${name}`, (t) => {
    const g = golden.inorm[name]
    const m = new nn.InstanceNorm({ scaleInit, biasInit, ...(props as object) })
    const [y, v] = m.initWithOutput(random.key(0), xg)
    matchTree(t, v, g.vars, 0, 'vars')
    const feat = canon(4, props.featureAxes ?? -1)
    const red = complement(4, [0, ...feat])
    const exact = (xin: Tensor) => exactNorm(xin, red, feat, v.params.scale ?? null, v.params.bias ?? null, 1e-6)
    closeOrMoreAccurate(t, y, T(g.y), exact(xg), ATOL, 'y')
    const shifted = jnp.add(xg, 100)
    closeOrMoreAccurate(t, m.apply(v, shifted), T(g.apply_offset), exact(shifted), ATOL, 'apply x + 100')
  })
}

test('golden InstanceNorm with a mask', (t) => {
  const m = new nn.InstanceNorm({ scaleInit, biasInit })
  const v = m.init(random.key(0), xg)
  matchTree(t, v, golden.inorm.mask.vars, 0, 'vars')
  closeOrMoreAccurate(t, m.apply(v, xg, { mask: gmask }), T(golden.inorm.mask.y), exactNorm(xg, [1, 2], [3], v.params.scale, v.params.bias, 1e-6, { mask: gmask }), ATOL, 'masked y')
})

// ---- Flax's errors ---------------------------------------------------------------------------

function flaxError(t: any, fn: () => unknown, want: { type: string; message: string }, cls: any): void {
  const err = t.throws(fn, { instanceOf: cls })
  t.is(err.name === 'Error' ? 'ValueError' : err.name, want.type)
  t.is(err.message, want.message)
  t.is(typeof err.code, 'string')
}

test("BatchNorm errors are Flax's: useRunningAverage given neither/twice, training without a mutable batch_stats, missing statistics", (t) => {
  const e = golden.bn_errors
  const xs = random.normal(random.key(0), [5, 6])
  flaxError(t, () => new nn.BatchNorm().init(random.key(0), xs), e.neither, ValueError)
  flaxError(t, () => new nn.BatchNorm({ useRunningAverage: true }).init(random.key(0), xs, false), e.both, ValueError)
  const vs = new nn.BatchNorm({ useRunningAverage: false }).init(random.key(1), xs)
  flaxError(t, () => new nn.BatchNorm({ useRunningAverage: false }).apply(vs, xs), e.immutable, ModifyScopeVariableError)
  flaxError(t, () => new nn.BatchNorm({ useRunningAverage: true }).apply({ params: vs.params }, xs), e.missing_stats, ScopeCollectionNotFound)
})

test("GroupNorm / InstanceNorm errors are Flax's (ValueError texts)", (t) => {
  const e = golden.gn_errors
  const init = (props: object) => () => new nn.GroupNorm(props).init(random.key(0), xg)
  flaxError(t, init({ numGroups: 2, groupSize: 3 }), e.both, ValueError)
  flaxError(t, init({ numGroups: null }), e.neither, ValueError)
  flaxError(t, init({ numGroups: 4 }), e.groups_not_divisor, ValueError)
  flaxError(t, init({}), e.default_32, ValueError)
  flaxError(t, init({ numGroups: null, groupSize: 4 }), e.group_size_not_divisor, ValueError)
  flaxError(t, init({ numGroups: 0 }), e.zero_groups, ValueError)
  flaxError(t, init({ numGroups: 2, reductionAxes: [1, 2] }), e.no_last_axis, ValueError)
  flaxError(t, () => new nn.InstanceNorm({ featureAxes: [0, -1] }).init(random.key(0), xg), golden.inorm_errors.batch_axis, ValueError)
})

// ---- bad input: coded JS errors naming the argument ------------------------------------------

function coded(t: any, fn: () => unknown, code: string, message: RegExp): void {
  const err = t.throws(fn)
  t.is(err.code, code, err.message)
  t.regex(err.message, message)
}

test('bad input: coded errors naming the argument or prop', (t) => {
  const bn = new nn.BatchNorm({ useRunningAverage: false })
  const v = bn.init(random.key(0), x)
  const step = (...args: unknown[]) => () => (bn as any).applyWith(v, { mutable: ['batch_stats'] }, x, ...args)
  coded(t, step({ mask: jnp.ones([4, 5, 2, 3]) }), 'E_SHAPE', /BatchNorm\.call: mask of shape \[4, 5, 2, 3\] does not broadcast to the input's shape \[4, 5, 5, 3\]/)
  coded(t, step({ mask: jnp.ones([2, 4, 5, 5, 3]) }), 'E_SHAPE', /mask of shape \[2, 4, 5, 5, 3\]/)
  coded(t, step({ mask: [1, 0] }), 'E_TYPE', /argument 'mask' must be a Tensor/)
  coded(t, step('yes'), 'E_TYPE', /useRunningAverage must be a boolean or null, got/)
  coded(t, step(false, { useRunningAverage: false }), 'E_TYPE', /multiple values for argument 'useRunningAverage'/)
  coded(t, step({ mask: null }, {}), 'E_TYPE', /options come once/)
  coded(t, step(false, 3), 'E_TYPE', /options must be an object/)
  coded(t, () => new nn.BatchNorm({ useRunningAverage: true, axis: 4 }).init(random.key(0), x), 'E_ARG', /axis 4 is out of bounds for array of dimension 4/)
  coded(t, () => new nn.BatchNorm({ useRunningAverage: true, axis: 1.5 as any }).init(random.key(0), x), 'E_TYPE', /BatchNorm: axis must be an integer or a list/)
  coded(t, () => new nn.BatchNorm({ useRunningAverage: false, momentum: 'x' as any }).init(random.key(0), x), 'E_TYPE', /momentum must be a number/)
  coded(t, () => new nn.GroupNorm({ numGroups: 1.5 }).init(random.key(0), xg), 'E_TYPE', /GroupNorm: numGroups must be an integer or null, got number 1\.5/)
  coded(t, () => new nn.GroupNorm({ numGroups: null, groupSize: 0 }).init(random.key(0), xg), 'E_ARG', /groupSize must not be 0/)
  coded(t, () => new nn.GroupNorm({ numGroups: 2 }).init(random.key(0), xg, { mask: jnp.ones([2, 4, 4, 1]) }), 'E_SHAPE', /6 channels on its last axis/)
  coded(t, () => new nn.GroupNorm({ numGroups: 2, reductionAxes: [1, 9] }).init(random.key(0), xg), 'E_ARG', /axis 9/)
  coded(t, () => new nn.InstanceNorm({ featureAxes: 'x' as any }).init(random.key(0), xg), 'E_TYPE', /InstanceNorm: featureAxes must be an integer or a list/)
  coded(t, () => new nn.InstanceNorm().init(random.key(0), xg, { mask: jnp.ones([3]) }), 'E_SHAPE', /InstanceNorm\.call: mask of shape \[3\]/)
  // Flax's own Python semantics where they are defined: a negative group size
  const err = t.throws(() => new nn.GroupNorm({ numGroups: null, groupSize: -2 }).init(random.key(0), xg), { instanceOf: ValueError })
  t.is(err.message, 'Number of groups (-3) does not divide the number of channels (6).')
})

test('BatchNorm ignores the mask with the running averages (as Flax), and takes non-bool masks as non-zero = true', (t) => {
  const bn = new nn.BatchNorm({ useRunningAverage: true })
  const v = bn.init(random.key(0), x)
  assertSameBits(t, bn.apply(v, x, { mask: jnp.zeros([7]) }), bn.apply(v, x))
  const train = new nn.BatchNorm({ useRunningAverage: false })
  const [yb, sb] = train.applyWith(v, { mutable: ['batch_stats'] }, x, { mask })
  const [yf, sf] = train.applyWith(v, { mutable: ['batch_stats'] }, x, { mask: jnp.multiply(mask.astype('float32'), -2.5) })
  assertSameBits(t, [yf, sf], [yb, sb])
})

test('half-precision input: statistics in float32, the output promoted with the float32 params (as Flax)', (t) => {
  const xb = x.astype('bfloat16')
  const bn = new nn.BatchNorm({ useRunningAverage: false })
  const [y, v] = bn.initWithOutput(random.key(0), xb)
  t.is(y.dtype, 'float32')
  t.is(v.batch_stats.mean.dtype, 'float32')
  assertSameBits(t, y, bn.initWithOutput(random.key(0), xb.astype('float32'))[0])
  const [yh] = new nn.GroupNorm({ numGroups: 3, dtype: 'bfloat16' }).initWithOutput(random.key(0), xb)
  t.is(yh.dtype, 'bfloat16')
})

// ---- jit ---------------------------------------------------------------------------------------

test('BatchNorm under jit: training steps (updated batch_stats as outputs) and eval equal eager bit for bit', (t) => {
  for (const props of [{}, { axis: [1, 3] }, { useFastVariance: false }]) {
    const bn = new nn.BatchNorm({ momentum: 0.9, scaleInit, biasInit, ...props })
    const v0 = bn.init(random.key(0), x, false)
    const step = (vars: Variables, inp: Tensor, m: Tensor) => bn.applyWith(vars, { mutable: ['batch_stats'] }, inp, false, { mask: m })
    const f = jit(step)
    const fullMask = jnp.ones([4, 5, 5, 1], 'bool')
    let vE = v0
    let vJ = v0
    for (const [inp, m] of [[x, fullMask], [x2, mask]] as const) {
      const [yE, sE] = step(vE, inp, m)
      const [yJ, sJ] = f(vJ, inp, m)
      assertSameBits(t, [yJ, sJ], [yE, sE])
      vE = { ...vE, ...sE }
      vJ = { ...vJ, ...sJ }
    }
    t.is(f.traceCount, 1)
    const evalF = jit((vars: Variables, inp: Tensor) => bn.apply(vars, inp, true))
    assertSameBits(t, evalF(vJ, x), bn.apply(vE, x, true))
    // and without a mask (a separate trace)
    const plain = jit((vars: Variables, inp: Tensor) => bn.applyWith(vars, { mutable: ['batch_stats'] }, inp, false))
    assertSameBits(t, plain(v0, x), bn.applyWith(v0, { mutable: ['batch_stats'] }, x, false))
  }
})

test('GroupNorm / InstanceNorm under jit equal eager bit for bit', (t) => {
  for (const m of [new nn.GroupNorm({ numGroups: 3, scaleInit }), new nn.GroupNorm({ numGroups: 2, reductionAxes: [2, 3] }), new nn.InstanceNorm({ featureAxes: [1, 3], biasInit })]) {
    const v = m.init(random.key(0), xg)
    const f = jit((vars: Variables, inp: Tensor, mk: Tensor) => m.apply(vars, inp, { mask: mk }))
    assertSameBits(t, f(v, xg, gmask), m.apply(v, xg, { mask: gmask }))
    assertSameBits(t, f(v, jnp.add(xg, 3), gmask), m.apply(v, jnp.add(xg, 3), { mask: gmask }))
    t.is(f.traceCount, 1)
  }
})
