// Does the event loop stay free while inference runs? 64 forward passes of the MLP suite's
// 512→2048→512 model at batch 32 are started at once and awaited together, while
// `perf_hooks.monitorEventLoopDelay({ resolution: 1 })` samples the loop: flaxen through
// `jit(...).async` (plans run on the addon's async pool), onnxruntime-node through
// `session.run` (64 promises of one session, same weights as initializers, built by
// ../onnx-model). Reported side by side: the loop delay's p99 and the time the 64 calls take.
//
// Then 64 requests of one row each (a server's single-image requests) against the same model:
// flaxen through a `Batcher` (merged into one batch-64 run, split back); onnxruntime with one
// `session.run` per request, and again with the 64 rows merged in JS into one run (the same
// batching by hand), each its own row.
//
// One experiment per implementation gives both rows: after a warm-up round (flaxen's trace and
// plan compile, onnxruntime's session start, thread pools), rounds of 64 calls run until the
// suite's minimum time and batch count are met; the histogram covers all of them (more samples
// than one round gives, hence a steadier p99), the total is the median round.
import { monitorEventLoopDelay } from 'node:perf_hooks'
import type { Tensor } from 'flaxen'
import { Batcher, jnp } from 'flaxen'
import { onnxModel } from '../onnx-model'
import { sessionOptions, type Ort } from '../ort-peer'
import { ORT, oneAndMax, type Case, type Ctx, type Impl, type Suite } from '../suite'
import { summarize } from '../timing'
import type { Measurement, TimingOptions } from '../types'
import { jitMlp, mlpInput, mlpOnnx, mlpTensors } from './mlp'

const IN_FLIGHT = 64
const BATCH = 32

const now = (): number => Number(process.hrtime.bigint())

interface Outcome {
  p99Ms: number
  p50Ms: number
  maxMs: number
  meanMs: number
  samples: number
  totalMs: number
  minTotalMs: number
  rounds: number
}

/**
 * Runs `round` (start IN_FLIGHT calls, await them all, free their outputs) once to warm up, then
 * under the loop-delay monitor until `o.minTimeMs` and `o.minBatches` rounds (or `o.maxTimeMs`
 * once 3 rounds exist).
 */
async function underLoad(round: () => Promise<void>, o: TimingOptions): Promise<Outcome> {
  await round()
  const h = monitorEventLoopDelay({ resolution: 1 })
  const totals: number[] = []
  let elapsed = 0
  h.enable()
  try {
    for (;;) {
      const t0 = now()
      await round()
      const ns = now() - t0
      totals.push(ns)
      elapsed += ns
      if (totals.length >= o.minBatches && elapsed >= o.minTimeMs * 1e6) break
      if (totals.length >= 3 && elapsed >= o.maxTimeMs * 1e6) break
    }
  } finally {
    h.disable()
  }
  if (h.count === 0) throw new Error('the event-loop monitor recorded no samples')
  const total = summarize(totals, 1)
  return {
    p99Ms: h.percentile(99) / 1e6,
    p50Ms: h.percentile(50) / 1e6,
    maxMs: h.max / 1e6,
    meanMs: h.mean / 1e6,
    samples: h.count,
    totalMs: total.medianNs / 1e6,
    minTotalMs: total.minNs / 1e6,
    rounds: totals.length,
  }
}

async function flaxenRun(ctx: Ctx): Promise<Outcome> {
  const t = mlpTensors(BATCH)
  const variables = { params: { hidden: { kernel: t.w1, bias: t.b1 }, out: { kernel: t.w2, bias: t.b2 } } }
  const f = jitMlp()
  // Every call gets its own x, and rounds alternate two sets, as requests bring new inputs (a
  // plan reuses sub-results of arguments unchanged since its last call).
  const sets = [0, 1].map(() => Array.from({ length: IN_FLIGHT }, () => jnp.array(t.x)))
  let round = 0
  try {
    return await underLoad(async () => {
      const xs = sets[round++ & 1]
      const pending: Promise<Tensor>[] = []
      for (let i = 0; i < IN_FLIGHT; i++) pending.push(f.async(variables, xs[i]))
      for (const y of await Promise.all(pending)) y.dispose()
    }, ctx.timing)
  } finally {
    Object.values(t).forEach((v) => v.dispose())
    sets.flat().forEach((x) => x.dispose())
  }
}

/** A session of `graph` with the other suites' onnxruntime options. */
const ortSession = (ort: Ort, ctx: Ctx, graph: ReturnType<typeof mlpOnnx>) => ort.InferenceSession.create(onnxModel(graph), sessionOptions(ctx.threads))

async function ortRun(ort: Ort, ctx: Ctx): Promise<Outcome> {
  const graph = mlpOnnx(BATCH)
  const session = await ortSession(ort, ctx, graph)
  try {
    const feeds = { x: new ort.Tensor('float32', mlpInput(BATCH), graph.inputs[0].shape) }
    return await underLoad(async () => {
      const pending: Promise<unknown>[] = []
      for (let i = 0; i < IN_FLIGHT; i++) pending.push(session.run(feeds))
      await Promise.all(pending)
    }, ctx.timing)
  } finally {
    await session.release()
  }
}

/** 64 one-row requests through a Batcher of the same model, rounds as above. */
async function flaxenBatched(ctx: Ctx): Promise<Outcome> {
  const t = mlpTensors(1)
  const variables = { params: { hidden: { kernel: t.w1, bias: t.b1 }, out: { kernel: t.w2, bias: t.b2 } } }
  const f = jitMlp()
  const batcher = new Batcher((x: Tensor) => f(variables, x), { maxBatchSize: IN_FLIGHT })
  const sets = [0, 1].map(() => Array.from({ length: IN_FLIGHT }, () => jnp.array(t.x)))
  let round = 0
  try {
    return await underLoad(async () => {
      const xs = sets[round++ & 1]
      for (const y of await Promise.all(xs.map((x) => batcher.run(x)))) y.dispose()
    }, ctx.timing)
  } finally {
    await batcher.close()
    Object.values(t).forEach((v) => v.dispose())
    sets.flat().forEach((x) => x.dispose())
  }
}

/** 64 one-row requests to onnxruntime: a run each, or (`merged`) their rows in one run, split back. */
async function ortRequests(ort: Ort, ctx: Ctx, merged: boolean): Promise<Outcome> {
  const rows = merged ? IN_FLIGHT : 1
  const graph = mlpOnnx(rows)
  const session = await ortSession(ort, ctx, graph)
  try {
    const row = mlpInput(1)
    const requests = Array.from({ length: IN_FLIGHT }, () => row.slice())
    return await underLoad(async () => {
      if (!merged) {
        await Promise.all(requests.map((x) => session.run({ x: new ort.Tensor('float32', x, [1, row.length]) })))
        return
      }
      const x = new Float32Array(IN_FLIGHT * row.length)
      requests.forEach((r, i) => x.set(r, i * row.length))
      const out = (await session.run({ x: new ort.Tensor('float32', x, [IN_FLIGHT, row.length]) })) as Record<string, { data: Float32Array }>
      const y = out[graph.outputs[0].name].data
      const per = y.length / IN_FLIGHT
      requests.forEach((_, i) => y.subarray(i * per, (i + 1) * per))
    }, ctx.timing)
  } finally {
    await session.release()
  }
}

/** Each implementation's experiment runs once per worker; both rows read it. */
function once<T>(f: () => Promise<T>): () => Promise<T> {
  let p: Promise<T> | undefined
  return () => (p ??= f())
}

const extra = (o: Outcome): Record<string, number> => ({ ...o })

export const eventLoop: Suite = {
  name: 'event-loop',
  title: `event loop under load: ${IN_FLIGHT} MLP 512→2048→512 batch ${BATCH} calls in flight`,
  unit: 'ms',
  higherIsBetter: false,
  primary: 'flaxen',
  columns: [
    { key: 'flaxen', label: 'flaxen jit f.async' },
    { key: 'ort', label: `${ORT.label} session.run` },
  ],
  method: `${IN_FLIGHT} calls started at once and awaited together, repeated (≥ the minimum batches and time) after one warm-up round. Loop delay = perf_hooks.monitorEventLoopDelay({ resolution: 1 }) over all rounds (as Node records it: timer intervals, so an idle loop reads ≈ 1 ms). Total = median time of one round of ${IN_FLIGHT} calls. flaxen = jit((variables, x) => model.apply(variables, x)).async, outputs disposed; onnxruntime = one session (intra-op threads = the thread count, weights as initializers). Requests rows: ${IN_FLIGHT} one-row inputs per round; flaxen = new Batcher(x => f(variables, x), { maxBatchSize: ${IN_FLIGHT} }).run per request; onnxruntime = a session.run per request, or the rows copied into one [${IN_FLIGHT}, 512] input and the output split (subarray views).`,
  threads: oneAndMax,
  cases: (ctx) => {
    const flaxen = once(() => flaxenRun(ctx))
    const ort = ctx.ort === null ? null : once(() => ortRun(ctx.ort!, ctx))
    const impls = (pick: (o: Outcome) => number): Impl[] => [
      { key: 'flaxen', run: async (): Promise<Measurement> => flaxen().then((o) => ({ value: pick(o), extra: extra(o) })) },
      ort === null
        ? { key: 'ort', skip: `onnxruntime: ${ctx.ortMissing}` }
        : { key: 'ort', foreign: true, run: async (): Promise<Measurement> => ort().then((o) => ({ value: pick(o), extra: extra(o) })) },
    ]
    const params = { inFlight: IN_FLIGHT, batch: BATCH }
    const batched = once(() => flaxenBatched(ctx))
    const requests = (merged: boolean): Impl[] => {
      const peer = ctx.ort === null ? null : once(() => ortRequests(ctx.ort!, ctx, merged))
      return [
        { key: 'flaxen', run: async (): Promise<Measurement> => batched().then((o) => ({ value: o.totalMs, extra: extra(o) })) },
        peer === null
          ? { key: 'ort', skip: `onnxruntime: ${ctx.ortMissing}` }
          : { key: 'ort', foreign: true, run: async (): Promise<Measurement> => peer().then((o) => ({ value: o.totalMs, extra: extra(o) })) },
      ]
    }
    const one = { inFlight: IN_FLIGHT, batch: 1 }
    const cases: Case[] = [
      { id: 'eld-p99', label: 'loop delay p99', params, toValue: (ns) => ns / 1e6, impls: impls((o) => o.p99Ms) },
      { id: 'total', label: `total, ${IN_FLIGHT} calls`, params, toValue: (ns) => ns / 1e6, impls: impls((o) => o.totalMs) },
      { id: 'requests', label: `total, ${IN_FLIGHT} requests of 1 row: Batcher; ort a run each`, params: one, toValue: (ns) => ns / 1e6, impls: requests(false) },
      { id: 'requests-merged', label: `total, ${IN_FLIGHT} requests of 1 row: Batcher; ort merged by hand`, params: one, toValue: (ns) => ns / 1e6, impls: requests(true) },
    ]
    return cases
  },
}
