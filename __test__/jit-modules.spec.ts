// jit (issue 9) over linen models: `jit((variables, x, ...) => model.apply(...))` equals eager
// `model.apply(...)` bit for bit, for the layers, the normalisation wrappers (with mutable
// collections as outputs), Dropout with a traced rng, and the examples.
import test from 'ava'
import { jit, jnp, nn, random, tree, type Tensor, type Variables } from '../ts/index'
import type { Key } from '../ts/random'
import * as quant from '../examples/int8-quantisation'
import * as tied from '../examples/tied-autoencoder'
import { assertSameBits, countLeaves } from './helpers/jit'
import { CausalDense } from './helpers/causal-dense'

const x = random.normal(random.key(1), [4, 6])

/** jit(apply) on `args` == eager apply, and a second input of the same shape runs without retracing. */
function checkApply(t: any, model: nn.Module, variables: Variables, args: unknown[], again: unknown[]) {
  const f = jit((v: Variables, ...a: unknown[]) => model.apply(v, ...a))
  const eager = model.apply(variables, ...args)
  t.true(countLeaves(eager) > 0)
  assertSameBits(t, f(variables, ...args), eager)
  assertSameBits(t, f(variables, ...again), model.apply(variables, ...again))
  t.is(f.traceCount, 1)
  return f
}

test('nn.Dense', (t) => {
  const m = new nn.Dense({ features: 5 })
  const v = m.init(random.key(0), x)
  checkApply(t, m, v, [x], [random.normal(random.key(2), [4, 6])])
  // new parameter values (same shapes) do not retrace either
  const f = jit((vars: Variables, inp: Tensor) => m.apply(vars, inp))
  const v2 = m.init(random.key(9), x)
  assertSameBits(t, f(v, x), m.apply(v, x))
  assertSameBits(t, f(v2, x), m.apply(v2, x))
  t.is(f.traceCount, 1)
})

test('nn.DenseGeneral (two output features, two contracted axes, no bias)', (t) => {
  const x3 = random.normal(random.key(3), [2, 3, 4])
  const m = new nn.DenseGeneral({ features: [2, 5], axis: [-2, -1] })
  const v = m.init(random.key(0), x3)
  checkApply(t, m, v, [x3], [jnp.multiply(x3, -2)])
  const m2 = new nn.DenseGeneral({ features: 3, useBias: false })
  checkApply(t, m2, m2.init(random.key(1), x3), [x3], [jnp.add(x3, 1)])
})

test('nn.Embed: lookup (negative and out-of-range indices) and attend', (t) => {
  const m = new nn.Embed({ numEmbeddings: 7, features: 3 })
  const ids = jnp.array([[0, 6, -1], [3, 9, 2]], 'int32')
  const v = m.init(random.key(0), ids)
  checkApply(t, m, v, [ids], [jnp.array([[1, 1, 1], [-7, 4, 5]], 'int32')])
  const q = random.normal(random.key(4), [2, 3])
  const attend = jit((vars: Variables, query: Tensor) => m.applyWith(vars, { method: 'attend' }, query))
  assertSameBits(t, attend(v, q), m.applyWith(v, { method: 'attend' }, q))
})

test('nn.LayerNorm and nn.RMSNorm (last axis, several axes, no fast variance)', (t) => {
  const x3 = jnp.add(random.normal(random.key(5), [2, 3, 4]), 3)
  const again = random.normal(random.key(6), [2, 3, 4])
  const layers = [
    new nn.LayerNorm(),
    new nn.LayerNorm({ reductionAxes: [1, 2], featureAxes: -1, scaleInit: nn.initializers.normal(1.0), biasInit: nn.initializers.normal(1.0) }),
    new nn.LayerNorm({ useFastVariance: false, useBias: false }),
    new nn.RMSNorm(),
    new nn.RMSNorm({ reductionAxes: [1, 2], scaleInit: nn.initializers.normal(1.0) }),
  ]
  for (const m of layers) checkApply(t, m, m.init(random.key(0), x3), [x3], [again])
})

test('nn.Dropout: deterministic is the identity; with a traced rng a new key does not retrace and equals eager', (t) => {
  const det = new nn.Dropout({ rate: 0.5, deterministic: true })
  const f0 = checkApply(t, det, {}, [x], [jnp.negative(x)])
  assertSameBits(t, f0({}, x), x)

  const m = new nn.Dropout({ rate: 0.3 })
  const eager = (k: Key, inp: Tensor, deterministic: boolean) => m.applyWith({}, { rngs: { dropout: k } }, inp, { deterministic })
  const f = jit((k: Key, inp: Tensor, deterministic: boolean) => m.applyWith({}, { rngs: { dropout: k } }, inp, { deterministic }))
  const outs: Tensor[] = []
  for (const seed of [0, 1, 2]) {
    const k = random.key(seed)
    const y = f(k, x, false)
    assertSameBits(t, y, eager(k, x, false))
    outs.push(y)
  }
  t.is(f.traceCount, 1, 'new keys: no retrace')
  t.notDeepEqual(Array.from(outs[0].data), Array.from(outs[1].data), 'the masks differ by key')
  t.true(Array.from(outs[0].data).some((v) => v === 0))
  // deterministic is a static JS boolean: a new value retraces
  assertSameBits(t, f(random.key(0), x, true), x)
  t.is(f.traceCount, 2)
  // Dropout inside a model, its rng given through the top-level rngs
  class Net extends nn.Module {
    @nn.compact
    call(inp: Tensor, train: boolean): Tensor {
      const h = new nn.Dense({ features: 8 }).call(inp)
      return new nn.Dense({ features: 2 }).call(new nn.Dropout({ rate: 0.5, deterministic: !train }).call(nn.relu(h)))
    }
  }
  const net = new Net()
  const v = net.init(random.key(0), x, false)
  const g = jit((vars: Variables, k: Key, inp: Tensor) => net.applyWith(vars, { rngs: { dropout: k } }, inp, true))
  for (const seed of [3, 4]) {
    assertSameBits(t, g(v, random.key(seed), x), net.applyWith(v, { rngs: { dropout: random.key(seed) } }, x, true))
  }
  t.is(g.traceCount, 1)
})

test('nn.WeightNorm around Dense', (t) => {
  const m = new nn.WeightNorm({ layerInstance: new nn.Dense({ features: 3 }) })
  const v = m.init(random.key(0), x)
  checkApply(t, m, v, [x], [jnp.multiply(x, 3)])
})

test('nn.SpectralNorm with mutable batch_stats: updated collections come back as outputs, equal to eager', (t) => {
  class SN extends nn.Module {
    @nn.compact
    call(inp: Tensor, train: boolean): Tensor {
      const h = new nn.Dense({ features: 8 }).call(inp)
      const s = new nn.SpectralNorm({ layerInstance: new nn.Dense({ features: 6 }), nSteps: 2 }).call(h, { updateStats: train })
      return new nn.Dense({ features: 4 }).call(s)
    }
  }
  const m = new SN()
  const v0 = m.init(random.key(0), x, true)
  t.deepEqual(Object.keys(v0).sort(), ['batch_stats', 'params'])
  const step = (vars: Variables, inp: Tensor) => m.applyWith(vars, { mutable: ['batch_stats'] }, inp, true)
  const f = jit(step)
  // two training steps, each feeding the updated stats back in
  let vEager = v0
  let vJit = v0
  for (let i = 0; i < 2; i++) {
    const [yE, sE] = step(vEager, x)
    const [yJ, sJ] = f(vJit, x)
    assertSameBits(t, [yJ, sJ], [yE, sE])
    t.deepEqual(Object.keys(sJ), ['batch_stats'])
    t.notDeepEqual(Array.from(sE.batch_stats.SpectralNorm_0['Dense_1/kernel/u'].data), Array.from((i === 0 ? v0 : vEager).batch_stats.SpectralNorm_0['Dense_1/kernel/u'].data))
    vEager = { ...vEager, ...sE }
    vJit = { ...vJit, ...sJ }
  }
  t.is(f.traceCount, 1)
  // eval: nothing mutable, the stored stats used
  const evalF = jit((vars: Variables, inp: Tensor) => m.apply(vars, inp, false))
  assertSameBits(t, evalF(vJit, x), m.apply(vEager, x, false))
})


test('CausalDense (examples/causal-dense.ts): jit == eager; the plan fuses triu into matmul_masked', (t) => {
  const m = new CausalDense({ features: 5 })
  const v = m.init(random.key(0), jnp.ones([1, 5]))
  const xs = jnp.divide(jnp.reshape(jnp.arange(0, 10, 1, 'float32'), [2, 5]), 4)
  const f = checkApply(t, m, v, [xs], [random.normal(random.key(3), [2, 5])])
  const lowered = f.lower(v, xs)
  t.true(lowered.ops.includes('matmul_masked'), lowered.ops.join(','))
  t.false(lowered.ops.includes('triu'), lowered.ops.join(','))
  assertSameBits(t, f(v, xs), jnp.matmul(xs, jnp.triu(v.params.dense.kernel)))
})

test('tied auto-encoder (examples/tied-autoencoder.ts): apply and the encode method', (t) => {
  const { x: xs, variables } = tied.run()
  const ae = new tied.TiedAutoencoder({ features: 4, latents: 5 })
  checkApply(t, ae, variables, [xs], [jnp.multiply(xs, -1)])
  const encode = jit((v: Variables, inp: Tensor) => ae.applyWith(v, { method: 'encode' }, inp))
  assertSameBits(t, encode(variables, xs), ae.applyWith(variables, { method: 'encode' }, xs))
})

test('int8 quantisation (examples/int8-quantisation.ts): int8 kernels as traced inputs', (t) => {
  const features = [64, 64, 10]
  const xs = random.normal(random.key(1), [8, 32])
  const floatVars = new quant.MLP({ features }).init(random.key(0), xs)
  const quantVars = quant.quantiseCheckpoint(floatVars)
  t.is(quantVars.params.layers_0.kernel.q.dtype, 'int8')
  const m = new quant.QuantisedMLP({ features })
  checkApply(t, m, quantVars, [xs], [random.normal(random.key(2), [8, 32])])
  // quantising inside the trace too (float checkpoint in, int8 arithmetic traced)
  const f = jit((v: Variables, inp: Tensor) => m.apply(quant.quantiseCheckpoint(v), inp))
  assertSameBits(t, f(floatVars, xs), m.apply(quantVars, xs))
})

test('init under jit: a traced key gives eager init bit for bit, new keys do not retrace (incl. orthogonal initializers)', (t) => {
  const I = nn.initializers
  const models: [nn.Module, unknown[]][] = [
    [new nn.Dense({ features: 3, kernelInit: I.orthogonal(1.5), biasInit: I.normal(0.5) }), [x]],
    [new nn.Dense({ features: 8, kernelInit: I.orthogonal(1.0, 0) }), [x]],
    [new nn.Embed({ numEmbeddings: 5, features: 3 }), [jnp.array([1, 2], 'int32')]],
    [new nn.SpectralNorm({ layerInstance: new nn.Dense({ features: 3, kernelInit: I.truncatedNormal(0.1) }) }), [x, { updateStats: true }]],
    [new nn.WeightNorm({ layerInstance: new nn.Dense({ features: 3, kernelInit: I.glorotUniform() }) }), [x]],
  ]
  for (const [m, args] of models) {
    const f = jit((k: Key, ...a: unknown[]) => m.init(k, ...a))
    for (const seed of [0, 7]) assertSameBits(t, f(random.key(seed), ...args), m.init(random.key(seed), ...args))
    t.is(f.traceCount, 1)
  }
  // the initializers themselves, from a traced key
  const inits: [string, (k: Key) => Tensor][] = [
    ['orthogonal tall', (k) => I.orthogonal()(k, [6, 2])],
    ['orthogonal wide 3-D', (k) => I.orthogonal(2.0, 0)(k, [3, 2, 4])],
    ['deltaOrthogonal 4-D', (k) => I.deltaOrthogonal()(k, [3, 3, 2, 2])],
  ]
  for (const [what, init] of inits) {
    const f = jit(init)
    for (const seed of [1, 2]) assertSameBits(t, f(random.key(seed)), init(random.key(seed)), what)
    t.is(f.traceCount, 1, what)
  }
})
