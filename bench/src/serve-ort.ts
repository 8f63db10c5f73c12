// The model call of the onnxruntime digits servers (./serve-server): the digits CNN as ONNX
// graphs built from the classifier's own variables (./onnx-vision), and two ways for a request
// handler to call it:
//   - `perRequest`: a `session.run` per request;
//   - `merged`: concurrent requests merged into one run, as the Batcher merges them for flaxen:
//     a run when 64 rows wait or at the next turn of the event loop (the example's maxWaitUs is
//     500, under a timer tick), one run at a time.
// One session, its graph's batch axis left free (ONNX dim_param): ort takes any row count, so
// rows are not padded (the Batcher pads so that `jit` traces a few shapes only). A session per
// size would also give a thread pool per size, whose spinning threads then compete for the
// cores. onnxruntime-node's `session.run` runs the graph synchronously on the JS thread (inside
// a setImmediate): the event loop is blocked while a forward pass runs, whichever way it is
// called.
import { mnistCnnGraph, type VariableTree } from './onnx-vision'
import { onnxModel } from './onnx-model'
import { sessionOptions, type Ort, type OrtSession } from './ort-peer'

export const PIXELS = 64
export const CLASSES = 10
/** Most rows in one run: the example server's Batcher maxBatchSize. */
export const MAX_ROWS = 64
/** The example's Batcher maxWaitUs. */
const MAX_WAIT_MS = 0.5

export interface OrtModel {
  /** Logits [n × 10] of n images of 64 pixels (NHWC 8×8×1). */
  infer(x: Float32Array, n: number): Promise<Float32Array>
  /** Runs made so far, the requests they served and their rows (before padding). */
  readonly stats: { batches: number; requests: number; rows: number }
  release(): Promise<void>
}

/**
 * Intra-op threads that sleep when idle instead of spinning (ort's default). In a server the
 * cores are shared with the JS thread parsing requests (and here with the load generator), and
 * a spinning pool takes them away: on the 2-core VM at 64 connections (2026-12-07, a busy
 * machine) spinning cost both ort servers requests/s and p99 (a run per request 2.3–3.6k req/s
 * against 4.1–4.7k; merged 4.2–8.5k against 8.7–10k), so the comparison is with ort's better
 * setting.
 */
const NO_SPIN = { session: { intra_op: { allow_spinning: '0' } } }

/** A session of the CNN for any batch size: the session options of the other suites' onnxruntime columns, but for spinning. */
function session(ort: Ort, params: VariableTree, threads: number): Promise<OrtSession> {
  const graph = mnistCnnGraph(params, { inputShape: [1, 8, 8, 1] })
  for (const v of [...graph.inputs, ...graph.outputs]) v.symbolic = { 0: 'N' }
  return ort.InferenceSession.create(onnxModel(graph), { ...sessionOptions(threads), extra: NO_SPIN })
}

/** Any number of rows, in runs of at most 64 (the example's largest batch). */
async function runAll(ort: Ort, s: OrtSession, x: Float32Array, n: number, stats: OrtModel['stats']): Promise<Float32Array> {
  const y = new Float32Array(n * CLASSES)
  for (let at = 0; at < n; at += MAX_ROWS) {
    const k = Math.min(MAX_ROWS, n - at)
    const out = await s.run({ x: new ort.Tensor('float32', x.subarray(at * PIXELS, (at + k) * PIXELS), [k, 8, 8, 1]) })
    y.set(out.y.data as Float32Array, at * CLASSES)
    stats.batches++
  }
  return y
}

export async function perRequest(ort: Ort, params: VariableTree, threads: number): Promise<OrtModel> {
  const s = await session(ort, params, threads)
  const stats = { batches: 0, requests: 0, rows: 0 }
  return {
    stats,
    infer: (x, n) => {
      stats.requests++
      stats.rows += n
      return runAll(ort, s, x, n, stats)
    },
    release: () => s.release(),
  }
}

interface Waiting {
  x: Float32Array
  n: number
  since: number
  resolve: (y: Float32Array) => void
  reject: (e: unknown) => void
}

export async function merged(ort: Ort, params: VariableTree, threads: number): Promise<OrtModel> {
  const s = await session(ort, params, threads)
  const stats = { batches: 0, requests: 0, rows: 0 }
  const queue: Waiting[] = []
  let queuedRows = 0
  let running = false
  let scheduled = false

  const pump = (): void => {
    if (running || queue.length === 0) return
    if (queuedRows >= MAX_ROWS || performance.now() - queue[0].since >= MAX_WAIT_MS) return void flush()
    if (!scheduled) {
      scheduled = true
      setImmediate(() => {
        scheduled = false
        flush()
      })
    }
  }

  const flush = (): void => {
    if (running || queue.length === 0) return
    // Requests in arrival order up to 64 rows; a request of more rows runs alone (in chunks).
    const take: Waiting[] = [queue.shift()!]
    let rows = take[0].n
    while (queue.length > 0 && rows + queue[0].n <= MAX_ROWS) {
      rows += queue[0].n
      take.push(queue.shift()!)
    }
    queuedRows -= rows
    const x = take.length === 1 ? take[0].x : new Float32Array(rows * PIXELS)
    if (take.length > 1) {
      let at = 0
      for (const w of take) {
        x.set(w.x, at * PIXELS)
        at += w.n
      }
    }
    running = true
    stats.requests += take.length
    stats.rows += rows
    runAll(ort, s, x, rows, stats).then(
      (y) => {
        let at = 0
        for (const w of take) {
          w.resolve(y.slice(at * CLASSES, (at + w.n) * CLASSES))
          at += w.n
        }
      },
      (e) => take.forEach((w) => w.reject(e)),
    ).finally(() => {
      running = false
      pump()
    })
  }

  return {
    stats,
    infer: (x, n) =>
      new Promise((resolve, reject) => {
        queue.push({ x, n, since: performance.now(), resolve, reject })
        queuedRows += n
        pump()
      }),
    release: () => s.release(),
  }
}
