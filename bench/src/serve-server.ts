// A digits server in a process of its own, for the serve suite (./suites/serve): the load
// generator must not share the server's event loop or be counted in its loop delay.
//
// Every variant is examples/server.ts's `serve()`: the example's own HTTP handling (routing,
// body limit, JSON parsing and checks, the input tensor, the response). For onnxruntime only
// the model call behind it is replaced: the server's `batcher.runWith` is swapped, on that one
// instance, for the onnxruntime call of ./serve-ort, so both servers run the same request code
// and differ in the forward pass alone (the example's Batcher is then never used).
//
// Started as `node serve-server.js '<json ServerArgs>'` with an IPC channel. It sends
// { port } once listening; { op: 'stats', reset } is answered with the event-loop delay
// (perf_hooks.monitorEventLoopDelay, 1 ms resolution) recorded since the last reset and the
// model's cumulative batch counts. It exits when the channel closes (its parent is gone).
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { join } from 'node:path'
import { loadOrt, ortPackageDir } from './ort-peer'
import { merged, perRequest, type OrtModel } from './serve-ort'
import type { VariableTree } from './onnx-vision'

export type Variant = 'flaxen' | 'ort' | 'ort-merged' | 'http' | 'flaxen-gpt'

export interface ServerArgs {
  variant: Variant
  /** onnxruntime's intra-op threads (flaxen's pools read RAYON_NUM_THREADS from the environment). */
  threads: number
  /** flaxen-gpt: the GPT-2 folder (config.json, model.safetensors) its /v1/generate serves. */
  gptDir?: string
}

export interface LoopStats {
  p50Ms: number
  p99Ms: number
  maxMs: number
  meanMs: number
  samples: number
}

export interface StatsReply {
  loop: LoopStats
  batches: { batches: number; requests: number; rows: number }
}

/** The examples, through their own copy of the library (they import ../ts), as the vision suite loads them. */
function example(name: string): any {
  const api = require('tsx/cjs/api')
  return api.require(join('..', '..', 'examples', name), __filename)
}

/** A tensor as far as the example's handler uses the model's output. */
const asOutput = (data: Float32Array) => ({ data, dispose: () => undefined })

async function main(args: ServerArgs): Promise<void> {
  const { serve } = example('server.ts')
  let model: OrtModel | null = null
  if (args.variant === 'http') {
    // No model: zero logits at once. What the same HTTP handling serves with nothing behind it,
    // the ceiling of any model's server here.
    const stats = { batches: 0, requests: 0, rows: 0 }
    model = { stats, infer: async (_x, n) => (stats.batches++, stats.requests++, (stats.rows += n), new Float32Array(n * 10)), release: async () => undefined }
  } else if (args.variant === 'ort' || args.variant === 'ort-merged') {
    const ort = loadOrt(ortPackageDir())
    const { variables } = example('digits.ts').loadClassifier()
    const make = args.variant === 'ort' ? perRequest : merged
    model = await make(ort, variables.params as VariableTree, args.threads)
  }
  // The digits route only (`gpt: false`: no GPT-2 route loaded beside it), except for the GPT
  // streaming rows (flaxen-gpt), which serve the folder given.
  const running = await serve({ port: 0, host: '127.0.0.1', gpt: args.variant === 'flaxen-gpt' ? { dir: args.gptDir } : false })
  if (model !== null) {
    const m = model
    // x is the handler's [n, 8, 8, 1] float32 tensor, disposed once this settles: copied.
    const runWith = async (_options: unknown, x: { shape: number[]; data: Float32Array }) => asOutput(await m.infer(x.data.slice(), x.shape[0]))
    Object.defineProperty(running.batcher, 'runWith', { value: runWith })
  }
  const loop = monitorEventLoopDelay({ resolution: 1 })
  loop.enable()
  process.on('message', (msg: { op?: string; reset?: boolean }) => {
    if (msg?.op !== 'stats') return
    const reply: StatsReply = {
      loop: { p50Ms: loop.percentile(50) / 1e6, p99Ms: loop.percentile(99) / 1e6, maxMs: loop.max / 1e6, meanMs: loop.mean / 1e6, samples: loop.count },
      batches: model !== null ? { ...model.stats } : running.batcher.stats,
    }
    if (msg.reset) loop.reset()
    process.send!(reply)
  })
  process.once('disconnect', () => {
    void running.close().finally(() => process.exit(0))
  })
  process.send!({ port: Number(new URL(running.url).port) })
}

if (require.main === module) {
  if (typeof process.send !== 'function') {
    process.stderr.write('serve-server: start it with an IPC channel (the serve suite does)\n')
    process.exit(2)
  }
  main(JSON.parse(process.argv[2])).catch((e) => {
    process.stderr.write(`serve-server: ${(e as Error).stack ?? e}\n`)
    process.exit(1)
  })
}
