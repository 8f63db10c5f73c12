// What a suite is: a description for the report (SuiteInfo) plus, in the worker, a list of cases,
// each timed by several implementations (columns). Helpers here build the usual implementations
// so that every suite times flaxen, numpy, onnxruntime and JS the same way.
import type { OnnxGraph } from './onnx-model'
import { measureNumpy, type NumpyTask } from './numpy-peer'
import { measureOrt, type Ort } from './ort-peer'
import { measure } from './timing'
import type { Measurement, Stats, SuiteInfo, TimingOptions } from './types'

/** What a worker process knows: its thread count (already in its environment) and its peers. */
export interface Ctx {
  threads: number
  quick: boolean
  timing: TimingOptions
  /** The python3 with numpy, or null with the reason in `numpyMissing`. */
  python: string | null
  numpyMissing: string
  ort: Ort | null
  ortMissing: string
}

export interface Impl {
  key: string
  /** When set the implementation is not run and this becomes the row's note. */
  skip?: string
  /** Another library with its own threads: pause after it (see `settle`). */
  foreign?: boolean
  /** Times it; a throw skips it, with the message as the note. */
  run?: () => Promise<Stats | Measurement>
}

export interface Case {
  id: string
  label: string
  params: Record<string, number | string>
  /** The suite's unit from a median time per operation, e.g. GFLOP/s = flops / ns. */
  toValue: (medianNs: number) => number
  impls: Impl[]
  notes?: string[]
}

export interface Suite extends SuiteInfo {
  /** The thread counts this suite runs at, from those configured (one worker per count). */
  threads(configured: number[]): number[]
  /** Called in the worker. */
  cases(ctx: Ctx): Case[]
}

/**
 * `ctx` with a warm-up long enough for module applies. An `nn` apply runs a lot of JS that V8
 * tiers up over ~1500 calls (~0.7 s here), compiling on background threads that meanwhile take
 * the kernels' second core; a server sees the steady state, so module suites warm up for 2 s
 * (every implementation of the suite alike). `--quick` keeps its short timings.
 */
export function withModuleWarmup(ctx: Ctx): Ctx {
  return ctx.quick ? ctx : { ...ctx, timing: { ...ctx.timing, warmupMs: Math.max(ctx.timing.warmupMs, 2000) } }
}

/** Runs at 1 thread and at the largest configured count (deduplicated). */
export const oneAndMax = (configured: number[]): number[] => [...new Set([Math.min(...configured), Math.max(...configured)])]

/**
 * A synchronous implementation: `setup` makes the inputs (outside the timing) and returns the
 * function to time and what to free afterwards.
 */
export function syncImpl(key: string, ctx: Ctx, setup: () => { fn: () => unknown; dispose?: () => void }): Impl {
  return {
    key,
    run: async () => {
      const { fn, dispose } = setup()
      try {
        return await measure(fn, ctx.timing)
      } finally {
        dispose?.()
      }
    },
  }
}

export function numpyImpl(ctx: Ctx, task: NumpyTask, key = 'numpy'): Impl {
  if (ctx.python === null) return { key, skip: `numpy: ${ctx.numpyMissing}` }
  const python = ctx.python
  return { key, foreign: true, run: async () => measureNumpy(python, task, ctx.timing) }
}

export function ortImpl(ctx: Ctx, graph: OnnxGraph | string, feeds: () => Record<string, Float32Array>, key = 'ort'): Impl {
  if (ctx.ort === null) return { key, skip: `onnxruntime: ${ctx.ortMissing}` }
  if (typeof graph === 'string') return { key, skip: `onnxruntime: ${graph}` }
  const ort = ctx.ort
  return { key, foreign: true, run: () => measureOrt(ort, graph, feeds(), ctx.threads, ctx.timing) }
}

/** Labels of the usual columns. */
export const FLAXEN = { key: 'flaxen', label: 'flaxen' }
export const NUMPY = { key: 'numpy', label: 'numpy' }
export const OPENBLAS = { key: 'numpy', label: 'OpenBLAS(numpy)' }
export const ORT = { key: 'ort', label: 'onnxruntime' }
export const JS = { key: 'js', label: 'JS' }

export const THREAD_NOTE = 'JS baselines are single-threaded at every thread count.'
