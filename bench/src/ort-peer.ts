// The onnxruntime-node peer. Never a dependency of flaxen: `npm run bench:peers` installs it into
// bench/peers (or FLAXEN_BENCH_ORT points at a package folder), and the benchmark loads it
// by path when present. Graphs come from our own ONNX writer (./onnx-model).
import { existsSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { onnxModel, type OnnxGraph } from './onnx-model'
import { measureAsync } from './timing'
import type { PeerInfo, Stats, TimingOptions } from './types'

/** The few parts of onnxruntime-node's API the benchmark uses. */
export interface OrtTensor {
  dims: readonly number[]
  data?: unknown
}
export interface OrtSession {
  run(feeds: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>>
  release(): Promise<void>
}
export interface Ort {
  Tensor: {
    new (type: 'float32', data: Float32Array, dims: readonly number[]): OrtTensor
    new (type: 'int64', data: BigInt64Array, dims: readonly number[]): OrtTensor
  }
  /** `model` is the bytes of a model or the path of a .onnx file. */
  InferenceSession: { create(model: Uint8Array | string, options: object): Promise<OrtSession> }
}

/** The bench package: this file is bench/src/ort-peer.ts, compiled to bench/dist/ort-peer.js. */
export const BENCH_DIR = resolve(__dirname, '..')

export function ortPackageDir(): string {
  return process.env.FLAXEN_BENCH_ORT ?? join(BENCH_DIR, 'peers', 'node_modules', 'onnxruntime-node')
}

export function detectOrt(): PeerInfo {
  const dir = ortPackageDir()
  if (!existsSync(join(dir, 'package.json'))) return { available: false, reason: `not installed at ${dir} (run \`npm run bench:peers\`)` }
  try {
    require(dir)
    return { available: true, path: dir, version: JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).version }
  } catch (e) {
    return { available: false, path: dir, reason: (e as Error).message.split('\n')[0] }
  }
}

export const loadOrt = (dir: string): Ort => require(dir)

/** The session options of every onnxruntime column: `threads` intra-op threads, the sequential executor. */
export const sessionOptions = (threads: number) => ({ intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all' })

/**
 * Times `session.run` of `graph` (each run awaited) with `threads` intra-op threads and the
 * sequential executor. Feeds are built once, as a user keeps their input buffers; the session is
 * released afterwards so its thread pool is gone before the next implementation runs.
 */
export async function measureOrt(ort: Ort, graph: OnnxGraph, feeds: Record<string, Float32Array>, threads: number, timing: TimingOptions): Promise<Stats> {
  const session = await ort.InferenceSession.create(onnxModel(graph), sessionOptions(threads))
  try {
    const shapes = new Map(graph.inputs.map((i) => [i.name, i.shape]))
    const tensors: Record<string, OrtTensor> = {}
    for (const [name, data] of Object.entries(feeds)) tensors[name] = new ort.Tensor('float32', data, shapes.get(name)!)
    return await measureAsync(() => session.run(tensors), timing)
  } finally {
    await session.release()
  }
}
