// An inference server under load: examples/server.ts's digits CNN (POST /v1/digits, one 8×8
// image per request, JSON body) driven by autocannon over loopback at 1, 16 and 64
// connections. Per connection count: requests/s, p50 and p99 latency (client side), and the
// server process's event-loop delay p99 (perf_hooks.monitorEventLoopDelay inside the server).
//
// Three servers, each in its own process (../serve-server), all running the example's HTTP
// handling and differing only in the model call (same model, same weights: flaxen maps
// examples/digits/digits.safetensors, and the ONNX graphs built by ../onnx-vision for
// onnxruntime hold the same values, read from digits.msgpack):
//   flaxen      the example as it is: a Batcher (maxBatchSize 64, maxWaitUs 500) over jit, run
//               with f.async off the JS thread;
//   ort         onnxruntime-node, a session.run per request;
//   ort-merged  onnxruntime-node, concurrent requests merged into one run (../serve-ort: a
//               queue with the Batcher's rule). ort's run is synchronous on the JS
//               thread, so it blocks the server's loop: that is what the comparison shows.
// Before any load, 16 test images go to every server and the onnxruntime servers' logits are
// checked against flaxen's (|Δ| ≤ 1e-4, else that server is not measured).
//
// One autocannon run per (server, connection count) gives all four rows of that count: the
// requests/s row runs it (a short warm-up run first), the others read it. With --rounds N the
// requests/s row runs N interleaved times and every row reads the run with the most requests/s.
// Servers start when first needed and stay up until the worker exits. Each cell is 4 s (1 s
// under --quick, which also measures at 16 connections only); the suite runs at the largest
// thread count only (a server uses every core; autocannon shares them).
import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { createHistogram } from 'node:perf_hooks'
import { BENCH_DIR } from '../ort-peer'
import { measureStreams, streamMeasurements } from '../serve-stream'
import type { ServerArgs, StatsReply, Variant } from '../serve-server'
import type { Case, Ctx, Impl, Suite } from '../suite'
import type { Measurement } from '../types'

const CONNECTIONS = [1, 16, 64]
const QUICK_CONNECTIONS = [16]
/** Seconds: measured per cell, warm-up per cell, and a first warm-up per server (traces, sessions, V8). */
const TIMES = { cell: 4, cellWarmup: 0.5, serverWarmup: 1.5 }
const QUICK_TIMES = { cell: 1, cellWarmup: 0.2, serverWarmup: 0.5 }
/** Test images per server checked for agreement, and cycled through by every connection. */
const IMAGES = 16
const TOLERANCE = 1e-4

const REPO = join(BENCH_DIR, '..')
const SERVER_JS = join(__dirname, '..', 'serve-server.js')

/** The parts of autocannon's programmatic API used here (it ships no types). */
interface AutocannonResult {
  '2xx': number
  non2xx: number
  errors: number
  timeouts: number
  start: Date
  finish: Date
}
interface AutocannonInstance {
  on(event: 'response', f: (client: unknown, statusCode: number, bytes: number, ms: number) => void): void
}
type Autocannon = (options: object, done: (err: Error | null, result: AutocannonResult) => void) => AutocannonInstance

interface Outcome {
  rps: number
  p50Ms: number
  p90Ms: number
  p99Ms: number
  maxMs: number
  requests: number
  seconds: number
  loopP50Ms: number
  loopP99Ms: number
  loopMaxMs: number
  loopSamples: number
  /** Mean requests per model run over the cell (1 for a run per request). */
  requestsPerRun: number
}

/** The first IMAGES images of the held-out split as request bodies. */
function bodies(): string[] {
  const set = JSON.parse(readFileSync(join(REPO, 'examples', 'digits', 'test-set.json'), 'utf8')) as { images: number[][] }
  return set.images.slice(0, IMAGES).map((image) => JSON.stringify({ image: image.flat() }))
}

const fail = (code: string, message: string) => Object.assign(new Error(message), { code })

/** A server process: its URL and its stats over IPC. */
class ServerProcess {
  private constructor(
    private readonly child: ChildProcess,
    readonly url: string,
  ) {}

  static start(variant: Variant, threads: number, gptDir?: string): Promise<ServerProcess> {
    const args: ServerArgs = { variant, threads, gptDir }
    // The server's stderr is the worker's (the parent prints it); the IPC channel carries the port.
    const child = spawn(process.execPath, [SERVER_JS, JSON.stringify(args)], { cwd: REPO, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] })
    process.once('exit', () => child.kill())
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => (child.kill(), reject(fail('E_SERVER', `${variant} server: not listening after 120 s`))), 120_000)
      child.once('message', (m: { port?: number }) => {
        clearTimeout(timer)
        const server = new ServerProcess(child, `http://127.0.0.1:${m.port}`)
        server.idle()
        resolve(server)
      })
      child.once('exit', (code, signal) => {
        clearTimeout(timer)
        reject(fail('E_SERVER', `${variant} server exited with ${signal ?? code} before listening`))
      })
      child.once('error', reject)
    })
  }

  /** Lets the worker exit with the server still up (it exits when its channel closes). */
  private idle(): void {
    this.child.unref()
    this.child.channel?.unref()
  }

  async stats(reset: boolean): Promise<StatsReply> {
    this.child.channel?.ref()
    try {
      return await new Promise<StatsReply>((resolve, reject) => {
        const gone = () => reject(fail('E_SERVER', 'the server process is gone'))
        this.child.once('exit', gone)
        this.child.once('message', (m: StatsReply) => {
          this.child.off('exit', gone)
          resolve(m)
        })
        this.child.send({ op: 'stats', reset }, (e) => e && gone())
      })
    } finally {
      this.child.channel?.unref()
    }
  }

  /** Logits of one image, posted as the load does. */
  async logits(body: string): Promise<number[]> {
    const r = await fetch(`${this.url}/v1/digits`, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
    if (r.status !== 200) throw fail('E_SERVER', `POST /v1/digits: ${r.status} ${await r.text()}`)
    return ((await r.json()) as { logits: number[][] }).logits[0]
  }
}

/** autocannon against `server` for `seconds` at `connections`, the bodies cycled per connection. */
function load(server: ServerProcess, requests: string[], connections: number, seconds: number): Promise<{ result: AutocannonResult; latencyUs: ReturnType<typeof createHistogram> }> {
  const autocannon = require('autocannon') as Autocannon
  // autocannon's own latency histogram keeps whole milliseconds; responses here take less.
  const latencyUs = createHistogram()
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: `${server.url}/v1/digits`,
        connections,
        duration: seconds,
        pipelining: 1,
        timeout: 10,
        headers: { 'content-type': 'application/json' },
        requests: requests.map((body) => ({ method: 'POST', body })),
      },
      (err, result) => (err ? reject(err) : resolve({ result, latencyUs })),
    )
    instance.on('response', (_c, status, _b, ms) => {
      if (status === 200) latencyUs.record(Math.max(1, Math.round(ms * 1000)))
    })
  })
}

/** One measured cell: a warm-up run, then the measured run with the server's loop monitor reset at its start. */
async function cell(server: ServerProcess, requests: string[], connections: number, times: typeof TIMES): Promise<Outcome> {
  await load(server, requests, connections, times.cellWarmup)
  const before = await server.stats(true)
  const { result, latencyUs } = await load(server, requests, connections, times.cell)
  const after = await server.stats(true)
  const bad = result.non2xx + result.errors + result.timeouts
  if (bad > 0) throw fail('E_LOAD', `${bad} failed requests (non-2xx ${result.non2xx}, errors ${result.errors}, timeouts ${result.timeouts})`)
  const seconds = (result.finish.getTime() - result.start.getTime()) / 1000
  const runs = after.batches.batches - before.batches.batches
  return {
    rps: result['2xx'] / seconds,
    p50Ms: latencyUs.percentile(50) / 1000,
    p90Ms: latencyUs.percentile(90) / 1000,
    p99Ms: latencyUs.percentile(99) / 1000,
    maxMs: latencyUs.max / 1000,
    requests: result['2xx'],
    seconds,
    loopP50Ms: after.loop.p50Ms,
    loopP99Ms: after.loop.p99Ms,
    loopMaxMs: after.loop.maxMs,
    loopSamples: after.loop.samples,
    requestsPerRun: runs > 0 ? (after.batches.requests - before.batches.requests) / runs : 0,
  }
}

const COLUMNS: { key: Variant; label: string }[] = [
  { key: 'flaxen', label: 'flaxen Batcher' },
  { key: 'ort', label: 'onnxruntime run/request' },
  { key: 'ort-merged', label: 'onnxruntime merged' },
  { key: 'http', label: 'no model (HTTP only)' },
]

export const serve: Suite = {
  name: 'serve',
  title: 'HTTP server under load: digits CNN, POST /v1/digits, 1 image per request (autocannon, loopback)',
  unit: 'req/s (higher is better) or ms',
  higherIsBetter: false,
  primary: 'flaxen',
  columns: COLUMNS,
  method:
    `four servers, each its own process, all examples/server.ts serve() (same node:http handling, JSON parsing and response; same weights: digits.safetensors mapped for flaxen, the same values from digits.msgpack in the ONNX graphs), only the model call differs: ` +
    `flaxen Batcher = the example (Batcher { maxBatchSize: 64, maxWaitUs: 500 } over jit, f.async); onnxruntime run/request = a session.run per request; ` +
    `onnxruntime merged = concurrent requests merged into one session.run (queue: 64 rows or the next event-loop turn, one run at a time, as the Batcher); no model = the same server answering zero logits at once (the HTTP handling's own ceiling). ` +
    `ort: one session, batch axis free (dim_param), intra-op threads = the thread count, not spinning (ort's better setting here), sequential, graph optimisation all. run at the largest thread count only; autocannon in the bench worker (another process, sharing the cores), pipelining 1, ${IMAGES} test images cycled; ` +
    `per cell a ${TIMES.cellWarmup} s warm-up then ${TIMES.cell} s measured (${QUICK_TIMES.cell} s and ${QUICK_CONNECTIONS.join(', ')} connections only under --quick). ` +
    `req/s = 2xx responses ÷ the run's time; p50/p99 = client-side latency of each response (µs histogram); loop delay = monitorEventLoopDelay({ resolution: 1 }) in the server over the measured run (an idle loop reads ≈ 1 ms). ` +
    `Every ort server's logits for ${IMAGES} test images are checked against flaxen's first (|Δ| ≤ ${TOLERANCE}).`,
  threads: (configured) => [Math.max(...configured)],
  cases: (ctx) => {
    const times = ctx.quick ? QUICK_TIMES : TIMES
    const connections = ctx.quick ? QUICK_CONNECTIONS : CONNECTIONS
    const requests = bodies()
    const servers = new Map<Variant, Promise<{ server: ServerProcess; answers: number[][]; maxLogitDiff: number }>>()

    /** The server of `variant`, started, checked against flaxen's answers and warmed up on first use. */
    const server = (variant: Variant): Promise<{ server: ServerProcess; answers: number[][]; maxLogitDiff: number }> => {
      let s = servers.get(variant)
      if (s === undefined) {
        s = (async () => {
          const proc = await ServerProcess.start(variant, ctx.threads)
          const answers: number[][] = []
          for (const body of requests) answers.push(await proc.logits(body))
          let maxLogitDiff = 0
          if (variant !== 'flaxen' && variant !== 'http') {
            const want = (await server('flaxen')).answers
            answers.forEach((row, i) => row.forEach((v, j) => (maxLogitDiff = Math.max(maxLogitDiff, Math.abs(v - want[i][j])))))
            if (!(maxLogitDiff <= TOLERANCE)) throw fail('E_MISMATCH', `logits differ from flaxen's by up to ${maxLogitDiff.toExponential(2)} (> ${TOLERANCE})`)
          }
          await load(proc, requests, Math.max(...connections), times.serverWarmup)
          return { server: proc, answers, maxLogitDiff }
        })()
        servers.set(variant, s)
      }
      return s
    }
    // Runs per (variant, connection count); the later rows read the one with the most req/s.
    const runs = new Map<string, Outcome[]>()
    const run = async (variant: Variant, c: number): Promise<{ best: Outcome; maxLogitDiff: number }> => {
      const { server: s, maxLogitDiff } = await server(variant)
      const key = `${variant}/${c}`
      const list = runs.get(key) ?? []
      runs.set(key, list)
      list.push(await cell(s, requests, c, times))
      return { best: list.reduce((a, b) => (b.rps > a.rps ? b : a)), maxLogitDiff }
    }
    const best = async (variant: Variant, c: number): Promise<{ best: Outcome; maxLogitDiff: number }> => {
      const list = runs.get(`${variant}/${c}`)
      if (!list?.length) throw fail('E_NOT_RUN', 'its requests/s run failed')
      return { best: list.reduce((a, b) => (b.rps > a.rps ? b : a)), maxLogitDiff: (await server(variant)).maxLogitDiff }
    }
    const extra = (o: Outcome, variant: Variant, maxLogitDiff: number): Record<string, number> => (variant === 'flaxen' ? { ...o } : { ...o, maxLogitDiff })

    const impls = (c: number, measure: (variant: Variant) => Promise<Measurement>): Impl[] =>
      COLUMNS.map(({ key }) => {
        if (key === 'flaxen' || key === 'http' || ctx.ort !== null) return { key, foreign: key !== 'flaxen', run: () => measure(key) }
        // One note for both onnxruntime columns (the report prints each distinct note once).
        return { key, skip: key === 'ort' ? `onnxruntime: ${ctx.ortMissing}` : 'onnxruntime merged: not run either' }
      })

    const cases: Case[] = []
    for (const c of connections) {
      const conn = `${c} connection${c === 1 ? '' : 's'}`
      const params = { connections: c, seconds: times.cell }
      cases.push({
        id: `rps-c${c}`,
        label: `requests/s, ${conn}`,
        params,
        toValue: (ns) => 1e9 / ns,
        // stats.medianNs = ns per request at that rate, so that --rounds keeps the fastest run.
        impls: impls(c, async (v) => {
          const { best: o, maxLogitDiff } = await run(v, c)
          const ns = 1e9 / o.rps
          return { value: o.rps, stats: { medianNs: ns, minNs: ns, p10Ns: ns, p90Ns: ns, batches: 1, itersPerBatch: o.requests }, extra: extra(o, v, maxLogitDiff) }
        }),
      })
      const read = (id: string, label: string, pick: (o: Outcome) => number): Case => ({
        id: `${id}-c${c}`,
        label: `${label}, ${conn}`,
        params,
        toValue: (ns) => ns / 1e6,
        impls: impls(c, async (v) => {
          const { best: o, maxLogitDiff } = await best(v, c)
          return { value: pick(o), extra: extra(o, v, maxLogitDiff) }
        }),
      })
      cases.push(read('p50', 'p50 latency (ms)', (o) => o.p50Ms), read('p99', 'p99 latency (ms)', (o) => o.p99Ms), read('eld-p99', 'server loop delay p99 (ms)', (o) => o.loopP99Ms))
    }
    cases.push(...gptCases(ctx))
    return cases
  },
}

/** GPT streaming (POST /v1/generate, Server-Sent Events): concurrent streams at once. */
const STREAMS = [1, 8]
const GPT_REQUEST = { prompt: Array.from({ length: 32 }, (_, i) => (i * 37 + 11) % 1000), maxNewTokens: 32 }
const QUICK_GPT_REQUEST = { prompt: [5, 6, 7, 8], maxNewTokens: 8 }

/**
 * Time to first token and tokens/s of the flaxen server streaming GPT-2 small (124M parameters,
 * random weights from key 0 written once as safetensors; the tiny test fixture under --quick),
 * flaxen only: there is no onnxruntime GPT-2 here to stream (its export needs PyTorch).
 */
function gptCases(ctx: Ctx): Case[] {
  let started: Promise<ServerProcess> | undefined
  const server = () =>
    (started ??= (async () => {
      const gpt = require('tsx/cjs/api').require(join('..', '..', '..', 'examples', 'gpt2-safetensors.ts'), __filename)
      let dir: string = gpt.FIXTURE_DIR ?? join(REPO, '__test__', 'fixtures', 'gpt2-tiny')
      if (!ctx.quick) {
        dir = join(require('node:os').tmpdir(), 'flaxen-bench-gpt2-small-random')
        if (!require('node:fs').existsSync(join(dir, 'model.safetensors'))) gpt.writeGpt2Safetensors(dir, { seed: 0 })
      }
      return ServerProcess.start('flaxen-gpt', ctx.threads, dir)
    })())
  const request = ctx.quick ? QUICK_GPT_REQUEST : GPT_REQUEST
  const runs = new Map<number, Promise<ReturnType<typeof streamMeasurements>>>()
  const measured = (n: number) => {
    let r = runs.get(n)
    if (r === undefined) {
      r = (async () => {
        const s = await server()
        const report = await measureStreams(s.url, { concurrency: n, streams: ctx.quick ? n : 3 * n, request, warmup: 1 })
        if (report.failed > 0) throw fail('E_STREAM', `${report.failed} streams failed: ${report.errors.join('; ')}`)
        return streamMeasurements(report)
      })()
      runs.set(n, r)
    }
    return r
  }
  const impls = (pick: (m: ReturnType<typeof streamMeasurements>) => Measurement, n: number): Impl[] =>
    COLUMNS.map(({ key }): Impl => (key === 'flaxen' ? { key, run: async () => pick(await measured(n)) } : { key, skip: 'GPT streaming rows: flaxen only (no onnxruntime GPT-2 without the PyTorch export)' }))
  const what = `${request.prompt.length}-token prompt, ${request.maxNewTokens} new tokens`
  return STREAMS.flatMap((n): Case[] => {
    const streams = `${n} stream${n === 1 ? '' : 's'} at once`
    return [
      { id: `gpt-ttft-s${n}`, label: `GPT time to first token (ms), ${streams}`, params: { streams: n, what }, toValue: (ns) => ns / 1e6, impls: impls((m) => m.ttft, n) },
      { id: `gpt-tps-s${n}`, label: `GPT tokens/s (all streams), ${streams}`, params: { streams: n, what }, toValue: (ns) => 1e9 / ns, impls: impls((m) => m.tokensPerSec, n) },
    ]
  })
}
