// The MLP 512→2048→512 (Dense, relu, Dense) at batch 1 and 32, in µs per forward pass. Every
// implementation uses the same weights (from ../inputs, scaled small). flaxen runs the module
// through `apply` (and, to separate the module system's cost from the kernels', the same ops as
// bare jnp calls), both inside `jnp.tidy` so intermediates are freed at once as numpy's
// refcounting frees them, and through `jit` (the same apply traced once into a native plan, each
// call one native call). A last row times jit's trace + plan compile. onnxruntime gets the weights as initializers, as an exported model has
// them (it may prepack them: that is its real advantage in inference).
import { jnp } from 'flaxen'
import { jit } from 'flaxen'
import { nn } from 'flaxen'
import type { Tensor } from 'flaxen'
import { fill } from '../inputs'
import type { OnnxGraph } from '../onnx-model'
import * as js from '../js-baselines'
import { measure, summarize } from '../timing'
import type { Measurement } from '../types'
import { FLAXEN, JS, NUMPY, ORT, THREAD_NOTE, numpyImpl, oneAndMax, ortImpl, syncImpl, type Case, type Ctx, type Suite, withModuleWarmup } from '../suite'

const [D0, D1, D2] = [512, 2048, 512]
const BATCHES = [1, 32]

class MLP extends nn.Module {
  declare hidden: nn.Dense
  declare out: nn.Dense

  setup() {
    this.hidden = new nn.Dense({ features: D1 })
    this.out = new nn.Dense({ features: D2 })
  }

  call(x: Tensor): Tensor {
    return this.out.call(nn.relu(this.hidden.call(x)))
  }
}

/** The weights, seeded as the numpy peer seeds them. */
export const weights = () => ({ w1: fill(D0 * D1, 1, 0.05), b1: fill(D1, 2, 0.05), w2: fill(D1 * D2, 3, 0.05), b2: fill(D2, 4, 0.05) })

/** The MLP's input and weights as flaxen tensors (free them with `free`). */
export function mlpTensors(batch: number) {
  const w = weights()
  return {
    x: jnp.reshape(jnp.array(fill(batch * D0)), [batch, D0]),
    w1: jnp.reshape(jnp.array(w.w1), [D0, D1]),
    b1: jnp.array(w.b1),
    w2: jnp.reshape(jnp.array(w.w2), [D1, D2]),
    b2: jnp.array(w.b2),
  }
}

const free = (t: Record<string, Tensor>) => () => Object.values(t).forEach((v) => v.dispose())

/** The module's variables tree over `mlpTensors`' weights. */
const mlpVariables = (t: ReturnType<typeof mlpTensors>) => ({ params: { hidden: { kernel: t.w1, bias: t.b1 }, out: { kernel: t.w2, bias: t.b2 } } })

/** `jit` of the module apply: what the jit rows (and the event-loop suite) call. */
export function jitMlp() {
  const model = new MLP({})
  return jit((variables: ReturnType<typeof mlpVariables>, x: Tensor) => model.apply(variables, x) as Tensor)
}

/** The same graph for onnxruntime, the weights as initializers. */
export function mlpOnnx(batch: number): OnnxGraph {
  const w = weights()
  return {
    inputs: [{ name: 'x', shape: [batch, D0] }],
    outputs: [{ name: 'y', shape: [batch, D2] }],
    initializers: [
      { name: 'w1', shape: [D0, D1], data: w.w1 },
      { name: 'b1', shape: [D1], data: w.b1 },
      { name: 'w2', shape: [D1, D2], data: w.w2 },
      { name: 'b2', shape: [D2], data: w.b2 },
    ],
    nodes: [
      { op: 'MatMul', inputs: ['x', 'w1'], outputs: ['h1'] },
      { op: 'Add', inputs: ['h1', 'b1'], outputs: ['h2'] },
      { op: 'Relu', inputs: ['h2'], outputs: ['h3'] },
      { op: 'MatMul', inputs: ['h3', 'w2'], outputs: ['h4'] },
      { op: 'Add', inputs: ['h4', 'b2'], outputs: ['y'] },
    ],
  }
}

export const mlpInput = (batch: number) => fill(batch * D0)

function mlpCase(ctx: Ctx, batch: number): Case {
  const x = () => mlpInput(batch)
  const tensors = () => mlpTensors(batch)
  const w = weights()
  return {
    id: `mlp-b${batch}`,
    label: `batch ${batch}`,
    params: { batch, dims: `${D0}→${D1}→${D2}`, flops: 2 * batch * (D0 * D1 + D1 * D2) },
    toValue: (ns) => ns / 1e3,
    impls: [
      syncImpl('flaxen', ctx, () => {
        const t = tensors()
        const variables = mlpVariables(t)
        const model = new MLP({})
        return { fn: () => jnp.tidy(() => model.apply(variables, t.x)).dispose(), dispose: free(t) }
      }),
      syncImpl('jnp', ctx, () => {
        const t = tensors()
        const forward = () => jnp.add(jnp.matmul(jnp.relu(jnp.add(jnp.matmul(t.x, t.w1), t.b1)), t.w2), t.b2)
        return { fn: () => jnp.tidy(forward).dispose(), dispose: free(t) }
      }),
      numpyImpl(ctx, { op: 'mlp', batch, dims: [D0, D1, D2] }),
      ortImpl(ctx, mlpOnnx(batch), () => ({ x: x() })),
      syncImpl('js', ctx, () => {
        const xs = x()
        return { fn: () => js.biasAct(js.matmul(js.biasAct(js.matmul(xs, w.w1, batch, D0, D1), w.b1, true), w.w2, batch, D1, D2), w.b2, false) }
      }),
      syncImpl('jit', ctx, () => {
        const t = tensors()
        const variables = mlpVariables(t)
        const f = jitMlp()
        // Two inputs (same values, different storage) alternate, as a server gets a new x per
        // request: with the same x every call the plan would reuse its first layer (its
        // arguments are unchanged), which no real request stream allows.
        const xs = [t.x, jnp.array(t.x)]
        let i = 0
        return { fn: () => f(variables, xs[i++ & 1]).dispose(), dispose: () => (free(t)(), xs[1].dispose()) }
      }),
    ],
  }
}

const now = (): number => Number(process.hrtime.bigint())

interface CompileTimes {
  /** Median over fresh jits of (first call − steady-state call), ns. */
  warmNs: number
  /** The same for the process's first jit of the model (V8 still compiling the module code), ns. */
  coldNs: number
  extra: Record<string, number>
}

/**
 * jit's trace + plan compile for one batch size: the first call of a fresh `jit` (trace, compile,
 * run) minus a steady-state call of the same plan. Every sample is a new `jit` (own cache, so a
 * new trace); the figure is their median. The process's very first one, which also pays V8
 * parsing and compiling the module code, is its own row (one sample; these cases run first in
 * their worker for that reason). `lowerUs` cross-checks with `f.lower()` on fresh jits: trace and
 * compile without running.
 */
async function compileTimes(ctx: Ctx, batch: number, samples: number): Promise<CompileTimes> {
  const t = mlpTensors(batch)
  const variables = mlpVariables(t)
  try {
    const firstCall = () => {
      const f = jitMlp()
      const t0 = now()
      f(variables, t.x).dispose()
      return { f, ns: now() - t0 }
    }
    const cold = firstCall()
    const first: number[] = []
    const lowered: number[] = []
    for (let i = 0; i < samples; i++) {
      first.push(firstCall().ns)
      const g = jitMlp()
      const t0 = now()
      g.lower(variables, t.x)
      lowered.push(now() - t0)
    }
    const steady = await measure(() => cold.f(variables, t.x).dispose(), ctx.timing)
    if (cold.f.traceCount !== 1) throw new Error(`steady-state calls retraced (${cold.f.traceCount} traces)`)
    const firstNs = summarize(first, 1).medianNs
    return {
      warmNs: firstNs - steady.medianNs,
      coldNs: cold.ns - steady.medianNs,
      extra: { firstCallUs: firstNs / 1e3, coldFirstCallUs: cold.ns / 1e3, steadyUs: steady.medianNs / 1e3, lowerUs: summarize(lowered, 1).medianNs / 1e3, samples },
    }
  } finally {
    free(t)()
  }
}

/** Two rows from one experiment: the first trace of the process, and the median of later ones. */
function compileCases(ctx: Ctx, batch: number): Case[] {
  const samples = ctx.quick ? 3 : 15
  let times: Promise<CompileTimes> | undefined
  const run = (pick: (c: CompileTimes) => number) => async (): Promise<Measurement> => {
    const c = await (times ??= compileTimes(ctx, batch, samples))
    return { value: pick(c) / 1e3, extra: c.extra }
  }
  const params = { batch, dims: `${D0}→${D1}→${D2}`, samples }
  return [
    { id: `mlp-jit-compile-cold-b${batch}`, label: `jit trace+compile, batch ${batch}, first in process`, params, toValue: (ns) => ns / 1e3, impls: [{ key: 'jit', run: run((c) => c.coldNs) }] },
    { id: `mlp-jit-compile-b${batch}`, label: `jit trace+compile, batch ${batch}`, params, toValue: (ns) => ns / 1e3, impls: [{ key: 'jit', run: run((c) => c.warmNs) }] },
  ]
}

export const mlp: Suite = {
  name: 'mlp',
  title: `MLP ${D0}→${D1}→${D2} (Dense, relu, Dense)`,
  unit: 'µs',
  higherIsBetter: false,
  primary: 'flaxen',
  columns: [FLAXEN, { key: 'jnp', label: 'flaxen jnp ops' }, { key: 'jit', label: 'flaxen jit' }, NUMPY, { key: 'ort', label: `${ORT.label} (initializers)` }, JS],
  method: `median time per forward pass after a 2 s warm-up (steady state). flaxen = nn.Module apply in jnp.tidy; flaxen jnp ops = the same five ops called directly; flaxen jit = jit((variables, x) => model.apply(variables, x)), output disposed per call. jit trace+compile rows = first call of a fresh jit − steady-state call (median of fresh jits; "first in process": the worker's first, one sample, also paying V8's compile of the module code). ${THREAD_NOTE}`,
  threads: oneAndMax,
  // The compile rows first: the "first in process" row is then the worker's first trace.
  cases: (ctx) => [...compileCases(ctx, 32), ...BATCHES.map((b) => mlpCase(withModuleWarmup(ctx), b))],
}
