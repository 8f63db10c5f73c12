// nn.WeightNorm and nn.SpectralNorm against real Flax (spec d.4; flax-cases 23–26, 28, 30):
// golden/normalization.json from scripts/golden/normalization.py.
import test from 'ava'
import { jnp, nn, random, tree, type Tensor } from '../ts/index'
import type { Variables } from '../ts/core'
import { ValueError } from '../ts/errors'
import { goldenTensor, loadLocalGolden } from './helpers/golden'
import { assertMatches, shapes } from './helpers/variables'

const golden = loadLocalGolden('normalization').expect
const x = random.normal(random.key(1), [1, 4])
const plus = (v: Variables, d: number): Variables => tree.map((a: Tensor) => jnp.add(a, d), v)

// XLA's CPU rsqrt is not correctly rounded (measured: ~12% of float32 inputs differ from the
// rounded 1/sqrt, depending on the host's vector instructions) and it sums in float32 where the
// core sums in float64: normalised values agree with Flax to about one ulp, not bit for bit.
const ATOL = 2e-6

test('the input is the golden one (normal(key(1), (1, 4)))', (t) => {
  assertMatches(t, x, golden.x, 0)
})

class WN extends nn.Module {
  @nn.compact
  call(x: Tensor): Tensor {
    x = new nn.Dense({ features: 8 }).call(x)
    x = new nn.WeightNorm({ layerInstance: new nn.Dense({ features: 6 }) }).call(x)
    return new nn.Dense({ features: 4 }).call(x)
  }
}

test("WeightNorm in a compact module (test_weight_norm_train): scale 'Dense_1/kernel/scale' in WeightNorm_0, normalised kernel stored", (t) => {
  const [y, v] = new WN().initWithOutput(random.key(0), x)
  t.deepEqual(Object.keys(v.params.WeightNorm_0), ['Dense_1/kernel/scale'])
  t.deepEqual(shapes(v.params.WeightNorm_0), { 'Dense_1/kernel/scale': [6] })
  assertMatches(t, v, golden.wn_init, ATOL)
  assertMatches(t, y, golden.wn_init_y, ATOL)
  assertMatches(t, new WN().apply(v, x), golden.wn_apply, ATOL)
  // away from normalised params: x @ (scale * k / ||k||)
  assertMatches(t, new WN().apply(plus(v, 0.5), x), golden.wn_apply_shifted, ATOL)
  // the untransformed layers are bit-identical to Flax
  assertMatches(t, v.params.Dense_0, golden.wn_init.params.Dense_0, 0)
  assertMatches(t, v.params.Dense_2, golden.wn_init.params.Dense_2, 0)
})

const MANUAL: [string, number | number[] | null, string[]][] = [
  ['fa=-1,kernel', -1, ['kernel']],
  ['fa=0,kernel', 0, ['kernel']],
  ['fa=(0,1),kernel', [0, 1], ['kernel']],
  ['fa=(),kernel', [], ['kernel']],
  ['fa=None,kernel', null, ['kernel']],
  ['fa=0,bias', 0, ['bias']],
  ['fa=(),bias', [], ['bias']],
]

test('manual weight norm (test_manual_weight_norm): every featureAxes / variableFilter set as Flax', (t) => {
  const [key1, key2] = random.split(random.key(1))
  const xm = random.normal(key1, [1, 3])
  assertMatches(t, xm, golden.wn_manual_x, 0)
  for (const [name, featureAxes, variableFilter] of MANUAL) {
    const m = new nn.WeightNorm({ layerInstance: new nn.Dense({ features: 2, biasInit: nn.initializers.normal() }), featureAxes, variableFilter })
    const v = m.init(key2, xm)
    assertMatches(t, v, golden.wn_manual[name].init, ATOL, name)
    assertMatches(t, m.apply(plus(v, 0.5), xm), golden.wn_manual[name].apply, ATOL, name)
  }
})

test('manual weight norm: apply(v, x) == x @ (s_k k/||k||) + b for featureAxes -1 (the formula)', (t) => {
  const m = new nn.WeightNorm({ layerInstance: new nn.Dense({ features: 2 }) })
  const xm = random.normal(random.key(3), [1, 3])
  const v = plus(m.init(random.key(4), xm), 0.5)
  const k: Tensor = v.params.layer_instance.kernel
  const s: Tensor = v.params['layer_instance/kernel/scale']
  const kHat = jnp.multiply(jnp.divide(k, jnp.sqrt(jnp.sum(jnp.square(k), 0, { keepdims: true }))), jnp.reshape(s, [1, 2]))
  const expected = jnp.add(jnp.matmul(xm, kHat), v.params.layer_instance.bias)
  const y = m.apply(v, xm)
  for (let i = 0; i < 2; i++) t.true(Math.abs(y.data[i] - expected.data[i]) < 1e-5)
})

class Baz extends nn.Module {
  @nn.compact
  call(x: Tensor): Tensor {
    return new nn.Dense({ features: 2 }).call(x)
  }
}
class Bar extends nn.Module {
  @nn.compact
  call(x: Tensor): Tensor {
    x = new Baz().call(x)
    x = new nn.Dense({ features: 3 }).call(x)
    x = new Baz().call(x)
    return new nn.Dense({ features: 3 }).call(x)
  }
}

test('WeightNorm variableFilter is a substring match on the leaf path (test_weight_norm_variable_filter)', (t) => {
  const filters: [string, Iterable<string> | null][] = [
    ['{}', []],
    ['None', null],
    ['kernel', ['kernel']],
    ['kernel,bias', new Set(['kernel', 'bias'])],
    ['Bar', ['Bar']],
    ['Baz,kernel', ['Baz', 'kernel']],
  ]
  for (const [name, variableFilter] of filters) {
    class Foo extends nn.Module {
      @nn.compact
      call(x: Tensor) {
        return new nn.WeightNorm({ layerInstance: new Bar(), variableFilter }).call(x)
      }
    }
    const v = new Foo().init(random.key(0), jnp.ones([1, 4]))
    t.deepEqual(Object.keys(v.params.WeightNorm_0).sort(), golden.wn_filter_keys[name], name)
  }
  class FooBK extends nn.Module {
    @nn.compact
    call(x: Tensor) {
      return new nn.WeightNorm({ layerInstance: new Bar(), variableFilter: ['Baz', 'kernel'] }).call(x)
    }
  }
  const [y, v] = new FooBK().initWithOutput(random.key(0), jnp.ones([1, 4]))
  assertMatches(t, v, golden.wn_filter_baz_kernel.init, ATOL)
  assertMatches(t, y, golden.wn_filter_baz_kernel.y, ATOL)
})

test("a top-level WeightNorm adopts its layer as layer_instance; scale 'layer_instance/kernel/scale' (test_weight_norm_compatibility_with_partitioning)", (t) => {
  const top = new nn.WeightNorm({ layerInstance: new nn.Dense({ features: 10 }) })
  const [y, v] = top.initWithOutput(random.key(0), jnp.ones([10, 10]))
  t.deepEqual(shapes(v), { params: { layer_instance: { kernel: [10, 10], bias: [10] }, 'layer_instance/kernel/scale': [10] } })
  assertMatches(t, v, golden.wn_top.init, ATOL)
  assertMatches(t, y, golden.wn_top.y, ATOL)
})

function snModel(nSteps: number) {
  return class SN extends nn.Module {
    @nn.compact
    call(x: Tensor, train: boolean): Tensor {
      x = new nn.Dense({ features: 8 }).call(x)
      x = new nn.SpectralNorm({ layerInstance: new nn.Dense({ features: 6 }), nSteps }).call(x, { updateStats: train })
      return new nn.Dense({ features: 4 }).call(x)
    }
  }
}

for (const nSteps of [1, 3]) {
  test(`SpectralNorm nSteps=${nSteps} (test_spectral_norm_train): u/sigma in batch_stats/SpectralNorm_0, init, two updates, eval as Flax`, (t) => {
    const g = golden[`sn_steps_${nSteps}`]
    const SN = snModel(nSteps)
    const [y0, v0] = new SN().initWithOutput(random.key(0), x, true)
    t.deepEqual(Object.keys(v0.batch_stats.SpectralNorm_0).sort(), ['Dense_1/kernel/sigma', 'Dense_1/kernel/u'])
    t.deepEqual(shapes(v0.batch_stats), { SpectralNorm_0: { 'Dense_1/kernel/u': [1, 6], 'Dense_1/kernel/sigma': [] } })
    assertMatches(t, v0, g.init_train.vars, ATOL)
    assertMatches(t, y0, g.init_train.y, ATOL)
    // the u key is drawn from SpectralNorm_0's params stream: bit-identical
    assertMatches(t, new SN().init(random.key(0), x, false).batch_stats, g.init_eval.vars.batch_stats, 0)
    const [y0e, v0e] = new SN().initWithOutput(random.key(0), x, false)
    assertMatches(t, v0e, g.init_eval.vars, ATOL)
    assertMatches(t, y0e, g.init_eval.y, ATOL)
    const [y1, s1] = new SN().applyWith(v0, { mutable: ['batch_stats'] }, x, true)
    assertMatches(t, y1, g.step1.y, ATOL)
    assertMatches(t, s1, g.step1.state, ATOL)
    const [y2, s2] = new SN().applyWith({ params: v0.params, ...s1 }, { mutable: ['batch_stats'] }, x, true)
    assertMatches(t, y2, g.step2.y, ATOL)
    assertMatches(t, s2, g.step2.state, ATOL)
    assertMatches(t, new SN().apply({ params: v0.params, ...s2 }, x, false), g.eval, ATOL)
  })
}

test('SpectralNorm on a 3-D kernel (test_spectral_norm_3d_tensor): flattened to (6, 4), or Flax ValueError', (t) => {
  const sn = new nn.SpectralNorm({ layerInstance: new nn.DenseGeneral({ features: [3, 4], useBias: false }) })
  const [y, v] = sn.initWithOutput(random.key(0), jnp.ones([1, 2]), { updateStats: true })
  t.deepEqual(shapes(v), { params: { layer_instance: { kernel: [2, 3, 4] } }, batch_stats: { 'layer_instance/kernel/u': [1, 4], 'layer_instance/kernel/sigma': [] } })
  assertMatches(t, v, golden.sn_3d.init, ATOL)
  assertMatches(t, y, golden.sn_3d.y, ATOL)
  const strict = new nn.SpectralNorm({ layerInstance: new nn.DenseGeneral({ features: [3, 4], useBias: false }), errorOnNonMatrix: true })
  t.throws(() => strict.init(random.key(0), jnp.ones([1, 2]), { updateStats: true }), { instanceOf: ValueError, message: golden.sn_3d_error })
})

test('SpectralNorm: updateStats is required; stats need a mutable collection', (t) => {
  const sn = new nn.SpectralNorm({ layerInstance: new nn.Dense({ features: 2 }) })
  // @ts-expect-error the missing { updateStats } is a type error too
  t.throws(() => sn.init(random.key(0), jnp.ones([1, 2])), { instanceOf: TypeError, message: /updateStats/ })
  const v = sn.init(random.key(0), jnp.ones([1, 2]), { updateStats: false })
  t.notThrows(() => sn.apply(v, jnp.ones([1, 2]), { updateStats: false }))
  t.throws(() => sn.apply(v, jnp.ones([1, 2]), { updateStats: true }), { message: /collection "batch_stats" is immutable/ })
})

test('weight standardisation (core_weight_std_test) golden: see examples/weight-standardisation', (t) => {
  const g = golden.weight_std
  assertMatches(t, random.normal(random.key(0), [1, 4]), g.x, 0)
  t.deepEqual(goldenTensor(g.x).shape, [1, 4])
})
