// nn.LayerNorm and nn.RMSNorm (spec e.4; flax-cases 96, 97): docstring params, the formulas,
// the fused kernel against the composed jnp path, golden values from real Flax
// (scripts/golden/norm_layers.py), and the native entry point's argument checks.
import test from 'ava'
import { jnp, nn, random, type Tensor } from '../ts/index'
import { ValueError } from '../ts/errors'
import { native } from '../ts/native'
import { Tensor as TensorClass } from '../ts/tensor'
import { composedNormalize } from '../ts/linen/normalization'
import { firstMismatch } from './helpers/close'
import { bitsTensor, loadLocalGolden } from './helpers/golden'
import { closeOrMoreAccurate, exactNorm, maxAbsDiff } from './helpers/norm-reference'
import { assertMatches, shapes } from './helpers/variables'
import { nop } from './helpers/native-op'

const golden = loadLocalGolden('norm_layers').expect

function close(t: any, actual: Tensor, expected: Tensor, atol: number, rtol = 0, what = '') {
  t.deepEqual([...actual.shape], [...expected.shape], `${what}: shape`)
  const bad = firstMismatch(actual.data, expected.data, rtol, atol)
  t.is(bad, undefined, `${what}: ${bad}`)
}

// ---- case 96: docstrings -------------------------------------------------------------------

test('LayerNorm / RMSNorm docstrings (case 96): params {scale: ones, bias: zeros}, {scale: ones}', (t) => {
  const x = random.normal(random.key(0), [3, 4, 5, 6])
  const v = new nn.LayerNorm().init(random.key(1), x)
  t.deepEqual(Object.keys(v), ['params'])
  t.deepEqual(Object.keys(v.params), ['scale', 'bias']) // creation order
  t.deepEqual(shapes(v), { params: { scale: [6], bias: [6] } })
  t.deepEqual(Array.from(v.params.scale.data), [1, 1, 1, 1, 1, 1])
  t.deepEqual(Array.from(v.params.bias.data), [0, 0, 0, 0, 0, 0])
  const y: Tensor = new nn.LayerNorm().apply(v, x)
  t.deepEqual([...y.shape], [3, 4, 5, 6])

  const r = new nn.RMSNorm().init(random.key(1), random.normal(random.key(0), [5, 6]))
  t.deepEqual(shapes(r), { params: { scale: [6] } })
  t.deepEqual(Array.from(r.params.scale.data), [1, 1, 1, 1, 1, 1])
})

// ---- case 97: the formulas -----------------------------------------------------------------

const [key1, key2] = random.split(random.key(0))
const x97 = random.normal(key1, [2, 3, 4])
const EPS = 1e-5
const AXES: (number | number[])[] = [-1, 1, [1, 2], [0, 1, 2]]

/**
 * `x.var(axis, keepdims=True)` as JAX computes it for float32: the squared deviations from the
 * float32 mean. flaxen's `jnp.var` sums in float64 around the exact mean, which at x ≈ 1e6
 * (float32 spacing 1/16) leaves out the square of the float32 mean's rounding (up to 1/32)
 * that JAX's var and Flax's layer both carry: ~2e-3 apart over 3 elements.
 */
const jaxVar = (x: Tensor, axes: number | number[]): Tensor =>
  jnp.mean(jnp.square(jnp.subtract(x, jnp.mean(x, axes, { keepdims: true }))), axes, { keepdims: true })

for (const reductionAxes of AXES) {
  for (const useFastVariance of [true, false]) {
    test(`LayerNorm formula (case 97, test_layer_norm): reductionAxes ${JSON.stringify(reductionAxes)}, useFastVariance ${useFastVariance}`, (t) => {
      // Flax's test shifts x by 1e6 for the two-pass variance (the fast one cannot take it).
      const x = useFastVariance ? x97 : jnp.add(x97, 1e6)
      const layer = new nn.LayerNorm({ useBias: false, useScale: false, epsilon: EPS, reductionAxes, useFastVariance })
      const [y, v] = layer.initWithOutput(key2, x)
      t.deepEqual(v, {})
      t.is(y.dtype, x.dtype)
      const oneLiner = jnp.multiply(jnp.subtract(x, jnp.mean(x, reductionAxes, { keepdims: true })), jnp.rsqrt(jnp.add(jaxVar(x, reductionAxes), EPS)))
      close(t, y, oneLiner, 1e-3, 1e-3)
    })
  }
  test(`RMSNorm formula (case 97, test_rms_norm): reductionAxes ${JSON.stringify(reductionAxes)}`, (t) => {
    const [y, v] = new nn.RMSNorm({ useScale: false, epsilon: EPS, reductionAxes }).initWithOutput(key2, x97)
    t.deepEqual(v, {})
    t.is(y.dtype, 'float32')
    const oneLiner = jnp.multiply(x97, jnp.rsqrt(jnp.add(jnp.mean(jnp.square(x97), reductionAxes, { keepdims: true }), EPS)))
    close(t, y, oneLiner, 1e-4)
  })
}

// ---- the fused kernel and the composed path ------------------------------------------------

const MODES = [
  { name: 'LayerNorm fast variance', rms: false, useFastVariance: true },
  { name: 'LayerNorm two-pass variance', rms: false, useFastVariance: false },
  { name: 'RMSNorm', rms: true, useFastVariance: false },
]

test('fused kernel == composed jnp ops on last-axis cases, within 1e-6 (odd widths, with/without scale and bias)', (t) => {
  let k = 10
  for (const shape of [[5, 1], [5, 7], [4, 33], [2, 3, 1000], [64, 1025]]) {
    const F = shape[shape.length - 1]
    const x = jnp.add(jnp.multiply(random.normal(random.key(k++), shape), 3), 0.5)
    const scale = random.normal(random.key(k++), [F])
    const bias = random.normal(random.key(k++), [F])
    const featureShape = shape.map((d, i) => (i === shape.length - 1 ? d : 1))
    for (const m of MODES) {
      for (const [s, b] of [[null, null], [scale, null], [null, bias], [scale, bias]] as const) {
        if (m.rms && b !== null) continue
        const fused = new TensorClass(nop('layer_norm', x.handle, s?.handle ?? null, b?.handle ?? null, 1e-6, m.rms, m.useFastVariance))
        const composed = composedNormalize(x, s, b, { epsilon: 1e-6, rms: m.rms, useFastVariance: m.useFastVariance, red: [shape.length - 1], featureShape })
        close(t, fused, composed, 1e-6, 1e-6, `${m.name} [${shape}] scale=${s !== null} bias=${b !== null}`)
      }
    }
  }
})

test('the layers take the fused path for the last axis and agree with the same layer on a trailing size-1 axis (composed)', (t) => {
  const x = random.normal(random.key(3), [6, 9])
  const x3 = x.reshape([6, 9, 1])
  const init = nn.initializers.normal(1.0)
  for (const make of [
    () => new nn.LayerNorm({ scaleInit: init, biasInit: init }),
    () => new nn.LayerNorm({ scaleInit: init, biasInit: init, useFastVariance: false }),
    () => new nn.RMSNorm({ scaleInit: init }),
  ]) {
    const [y, v] = make().initWithOutput(random.key(0), x)
    // reduction and features on axis 1 of [6, 9, 1]: not the last axis, so composed
    const composed = make().clone({ reductionAxes: 1, featureAxes: 1 })
    const [y3, v3] = composed.initWithOutput(random.key(0), x3)
    t.deepEqual(Object.keys(v3.params), Object.keys(v.params))
    for (const name of Object.keys(v.params)) t.deepEqual(Array.from(v3.params[name].data), Array.from(v.params[name].data))
    close(t, y3.reshape([6, 9]), y, 1e-6, 1e-6)
  }
})

test('integer inputs compute in float32; dtype other than float32 is refused (ValueError)', (t) => {
  const xi = jnp.array([[1, 2, 3], [4, 6, 8]], 'int32')
  const [y] = new nn.LayerNorm().initWithOutput(random.key(0), xi)
  t.is(y.dtype, 'float32')
  const [yf] = new nn.LayerNorm().initWithOutput(random.key(0), xi.astype('float32'))
  t.deepEqual(Array.from(y.data), Array.from(yf.data))
  t.throws(() => new nn.LayerNorm({ dtype: 'int32' }).init(random.key(0), xi), { instanceOf: ValueError, message: /float32/ })
  t.throws(() => new nn.RMSNorm({ dtype: 'int32' }).init(random.key(0), xi), { instanceOf: ValueError, message: /float32/ })
})

test('axes outside the rank: RangeError (Flax: IndexError), scalar inputs too', (t) => {
  const x = jnp.ones([2, 3, 4])
  const e = t.throws(() => new nn.LayerNorm({ reductionAxes: 3 }).init(random.key(0), x), { instanceOf: RangeError, message: 'axis 3 is out of bounds for array of dimension 3' })
  t.like(e, { code: 'E_ARG' })
  // RMSNorm accepts Flax's useFastVariance and ignores it.
  const xs = random.normal(random.key(2), [3, 5])
  const vr = new nn.RMSNorm().init(random.key(0), xs)
  t.deepEqual(
    Array.from(new nn.RMSNorm({ useFastVariance: false }).apply(vr, xs).data),
    Array.from(new nn.RMSNorm().apply(vr, xs).data),
  )
  t.throws(() => new nn.LayerNorm({ featureAxes: [-4] }).init(random.key(0), x), { instanceOf: RangeError, message: /axis -4/ })
  t.throws(() => new nn.RMSNorm().init(random.key(0), jnp.ones([])), { instanceOf: RangeError, message: /dimension 0/ })
})

// ---- golden values from Flax 0.12.8 --------------------------------------------------------

// Params come from the same RNG paths, so they are bit-exact. Outputs: XLA sums in float32 and
// its rsqrt is not correctly rounded, the core sums in float64: about one ulp apart.
const ATOL = 2e-6
// The fast variance on x + 3 cancels (mean(x²) ≈ 10 against var ≈ 1), so the summation order
// shows: measured against the exact float64 layer, Flax's outputs are up to 6.4e-6 off and
// flaxen's up to 4.0e-6, which leaves them 8.8e-6 apart at most (2x3x8).
const ATOL_SHIFTED_FAST = 1e-5

for (const [shapeName, shape] of [['4x7', [4, 7]], ['2x3x8', [2, 3, 8]]] as const) {
  test(`golden ${shapeName}: LayerNorm / RMSNorm with normal(1.0) scale and bias init, as Flax`, (t) => {
    const g = golden[shapeName]
    const x = random.normal(random.key(1), shape)
    assertMatches(t, x, g.x, 0, 'x')
    const init = nn.initializers.normal(1.0)
    const layers: Record<string, () => nn.Module> = {
      layer_norm: () => new nn.LayerNorm({ scaleInit: init, biasInit: init }),
      layer_norm_slow_var: () => new nn.LayerNorm({ scaleInit: init, biasInit: init, useFastVariance: false }),
      layer_norm_axes_1_2: () => new nn.LayerNorm({ scaleInit: init, biasInit: init, reductionAxes: [1, 2] }),
      rms_norm: () => new nn.RMSNorm({ scaleInit: init }),
    }
    let seen = 0
    for (const [name, make] of Object.entries(layers)) {
      if (!(name in g)) continue
      seen++
      const [y, v] = make().initWithOutput(random.key(0), x)
      assertMatches(t, v, g[name].vars, 0, `${name}/vars`)
      assertMatches(t, y, g[name].y, ATOL, `${name}/y`)
      const atol = name === 'layer_norm' || name === 'layer_norm_axes_1_2' ? ATOL_SHIFTED_FAST : ATOL
      assertMatches(t, make().apply(v, jnp.add(x, 3)), g[name].apply_x_plus_3, atol, `${name}/apply`)
    }
    t.is(seen, Object.keys(g).length - 1)
  })
}

// ---- the native entry point's argument checks ----------------------------------------------

function code(t: any, fn: () => unknown, expected: string, message?: RegExp, type: any = Error) {
  const err = t.throws(fn, { instanceOf: type })
  t.is(err.code, expected, err.message)
  if (message) t.regex(err.message, message)
}

test('layerNorm (native): wrong JS types → E_TYPE naming the argument', (t) => {
  const x = jnp.ones([2, 4]).handle
  const ln = (...a: unknown[]) => nop('layer_norm', ...a)
  code(t, () => ln({}, null, null, 1e-6, false, true), 'E_TYPE', /x: expected a tensor handle/, TypeError)
  code(t, () => ln(x, 3, null, 1e-6, false, true), 'E_TYPE', /scale: expected a tensor handle/, TypeError)
  code(t, () => ln(x, null, 'b', 1e-6, false, true), 'E_TYPE', /bias: expected a tensor handle/, TypeError)
  code(t, () => ln(x, null, null, '1e-6', false, true), 'E_TYPE', /eps: expected a number/, TypeError)
  code(t, () => ln(x, null, null, 1e-6, 0, true), 'E_TYPE', /rms: expected a boolean/, TypeError)
  code(t, () => ln(x, null, null, 1e-6, false), 'E_TYPE', /fastVariance: expected a boolean/, TypeError)
  code(t, () => ln(x, null, null, NaN, false, true), 'E_ARG', /eps: expected a finite number/)
})

test('layerNorm (native): non-float32 → E_DTYPE, wrong scale/bias shape → E_SHAPE with both shapes, scalar x → E_SHAPE', (t) => {
  const x = jnp.ones([2, 4])
  code(t, () => nop('layer_norm', jnp.ones([2, 4], 'int32').handle, null, null, 1e-6, false, true), 'E_DTYPE', /x has dtype int32.*float32/)
  code(t, () => nop('layer_norm', x.handle, jnp.ones([4], 'int32').handle, null, 1e-6, false, true), 'E_DTYPE', /scale has dtype int32/)
  code(t, () => nop('layer_norm', x.handle, jnp.ones([5]).handle, null, 1e-6, false, true), 'E_SHAPE', /scale has shape \[5\].*\[2, 4\]/)
  code(t, () => nop('layer_norm', x.handle, null, jnp.ones([1, 4]).handle, 1e-6, true, false), 'E_SHAPE', /bias has shape \[1, 4\].*\[2, 4\]/)
  code(t, () => nop('layer_norm', jnp.ones([]).handle, null, null, 1e-6, false, true), 'E_SHAPE', /scalar/)
})

test('layerNorm (native): disposed tensors → E_DISPOSED', (t) => {
  const x = jnp.ones([2, 4])
  const s = jnp.ones([4])
  const hs = s.handle
  s.dispose()
  code(t, () => nop('layer_norm', x.handle, hs, null, 1e-6, false, true), 'E_DISPOSED', /scale/)
  const hx = x.handle
  x.dispose()
  code(t, () => nop('layer_norm', hx, null, null, 1e-6, false, true), 'E_DISPOSED', /x/)
})

// ---- mask and axes, against Flax 0.12.8 (scripts/golden/norm_vision.py) -----------------------

const vision = loadLocalGolden('norm_vision').expect
const xl = bitsTensor(vision.xl)
const scaleInit = nn.initializers.normal(1.0)
const biasInit = nn.initializers.uniform(2.0)
const canonAxes = (a: number | readonly number[]) => [...new Set((typeof a === 'number' ? [a] : a).map((v) => (v < 0 ? v + 3 : v)))].sort()

test('mask (call(x, { mask })): the statistics are means over the masked entries, as Flax (full and broadcast masks)', (t) => {
  const layers: Record<string, [() => nn.Module, boolean, number[]]> = {
    ln: [() => new nn.LayerNorm({ scaleInit, biasInit }), false, [2]],
    ln_slow: [() => new nn.LayerNorm({ scaleInit, biasInit, useFastVariance: false }), false, [2]],
    ln_axes_1_2: [() => new nn.LayerNorm({ scaleInit, biasInit, reductionAxes: [1, 2] }), false, [1, 2]],
    rms: [() => new nn.RMSNorm({ scaleInit }), true, [2]],
    rms_axes_1_2: [() => new nn.RMSNorm({ scaleInit, reductionAxes: [1, 2] }), true, [1, 2]],
  }
  for (const [name, [make, rms, red]] of Object.entries(layers)) {
    const g = vision.ln_mask[name]
    const v = make().init(random.key(0), xl)
    for (const k of Object.keys(g.vars.params)) t.deepEqual(Array.from(v.params[k].data), Array.from(bitsTensor(g.vars.params[k]).data), `${name}/${k}`)
    for (const [which, m] of [['y', bitsTensor(vision.lmask)], ['y_b', bitsTensor(vision.lmask_b)]] as const) {
      const y = make().apply(v, xl, { mask: m })
      const exact = exactNorm(xl, red, [2], v.params.scale, v.params.bias ?? null, 1e-6, { rms, mask: m })
      closeOrMoreAccurate(t, y, bitsTensor(g[which]), exact, ATOL, `${name}/${which}`)
    }
  }
})

test('mask: all true equals no mask (within 1e-6: the masked path composes jnp ops), rows with nothing to average are NaN (0 / 0), bad masks are coded errors', (t) => {
  const ln = new nn.LayerNorm({ scaleInit, biasInit })
  const v = ln.init(random.key(0), xl)
  close(t, ln.apply(v, xl, { mask: jnp.ones([2, 3, 8], 'bool') }), ln.apply(v, xl), 1e-6, 0, 'all-true mask')
  // nothing to average in the first example
  const none = jnp.concatenate([jnp.zeros([1, 3, 8], 'bool'), jnp.ones([1, 3, 8], 'bool')], 0)
  const y = Array.from(ln.apply(v, xl, { mask: none }).data)
  t.true(y.slice(0, 24).every(Number.isNaN))
  t.true(y.slice(24).every(Number.isFinite))
  const err = t.throws(() => ln.apply(v, xl, { mask: jnp.ones([3, 3, 8]) }))
  t.is((err as any).code, 'E_SHAPE')
  t.regex(err!.message, /LayerNorm\.call: mask of shape \[3, 3, 8\] does not broadcast to the input's shape \[2, 3, 8\]/)
  t.is((t.throws(() => new nn.RMSNorm().apply({ params: { scale: jnp.ones([8]) } }, xl, { mask: 'all' as any })) as any).code, 'E_TYPE')
  t.is((t.throws(() => ln.apply(v, xl, 3 as any)) as any).code, 'E_TYPE')
})

const LN_AXES: Record<string, { reductionAxes?: number | number[]; featureAxes?: number | number[] }> = {
  'ra-1_fa-1': {},
  ra1_fa1: { reductionAxes: 1, featureAxes: 1 },
  'ra12_fa-1': { reductionAxes: [1, 2], featureAxes: -1 },
  ra12_fa12: { reductionAxes: [1, 2], featureAxes: [1, 2] },
  'ra-1_fa12': { reductionAxes: -1, featureAxes: [1, 2] },
  ra012_fa0: { reductionAxes: [0, 1, 2], featureAxes: 0 },
}

// Far from zero only the two-pass variance means anything: at x + 1e4 the one-pass
// `mean(x²) − mean²` cancels ~1e8 against ~1e8 in float32 (spacing 8) and Flax's own outputs are
// off by thousands; they are kept in the goldens to show it, not compared.
for (const [name, axes] of Object.entries(LN_AXES)) {
  test(`reductionAxes / featureAxes ${name}: LayerNorm (both variances) and RMSNorm at x, x + 1e4, x + 1e6, against Flax`, (t) => {
    const g = vision.ln_axes[name]
    const red = canonAxes(axes.reductionAxes ?? -1)
    const feat = canonAxes(axes.featureAxes ?? -1)
    for (const fast of [true, false]) {
      const m = new nn.LayerNorm({ scaleInit, biasInit, useFastVariance: fast, ...axes })
      const v = m.init(random.key(0), xl)
      const want = g[fast ? 'fast' : 'slow']
      for (const k of ['scale', 'bias']) t.deepEqual(Array.from(v.params[k].data), Array.from(bitsTensor(want.vars.params[k]).data), `${k}`)
      for (const [off, key] of [[0, 'off_0'], [1e4, 'off_10000'], [1e6, 'off_1e+06']] as const) {
        const xo = jnp.add(xl, off)
        const y = m.apply(v, xo)
        const exact = exactNorm(xo, red, feat, v.params.scale, v.params.bias, 1e-6)
        if (fast && off > 0) {
          t.true(maxAbsDiff(bitsTensor(want[key]), exact) > 100, `Flax's fast variance at +${off} is meaningless`)
          t.true(Array.from(y.data).every(Number.isFinite))
        } else {
          closeOrMoreAccurate(t, y, bitsTensor(want[key]), exact, ATOL, `${fast ? 'fast' : 'slow'} +${off}`)
        }
      }
    }
    const r = new nn.RMSNorm({ scaleInit, ...axes })
    const v = r.init(random.key(0), xl)
    for (const [off, key] of [[0, 'off_0'], [1e4, 'off_10000']] as const) {
      const xo = jnp.add(xl, off)
      closeOrMoreAccurate(t, r.apply(v, xo), bitsTensor(g.rms[key]), exactNorm(xo, red, feat, v.params.scale, null, 1e-6, { rms: true }), ATOL, `rms +${off}`)
    }
  })
}
