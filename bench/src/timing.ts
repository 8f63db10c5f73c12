// Timing: warm up, size batches so that each is long enough for the clock, repeat until a
// minimum time and a minimum number of batches, report the median batch (robust to the odd
// GC pause or scheduler hiccup, which a mean is not). The same algorithm is reimplemented in the
// numpy peer's Python so that every implementation is timed identically.
import type { Stats, TimingOptions } from './types'

export const DEFAULT_TIMING: TimingOptions = { warmupMs: 200, minTimeMs: 600, minBatches: 7, maxTimeMs: 3000 }
export const QUICK_TIMING: TimingOptions = { warmupMs: 30, minTimeMs: 40, minBatches: 3, maxTimeMs: 300 }

const now = (): number => Number(process.hrtime.bigint())

function quantile(sorted: number[], q: number): number {
  const at = (sorted.length - 1) * q
  const lo = Math.floor(at)
  const hi = Math.ceil(at)
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (at - lo)
}

export function summarize(perOpNs: number[], itersPerBatch: number): Stats {
  const s = [...perOpNs].sort((a, b) => a - b)
  return { medianNs: quantile(s, 0.5), minNs: s[0], p10Ns: quantile(s, 0.1), p90Ns: quantile(s, 0.9), batches: s.length, itersPerBatch }
}

/**
 * The loop shared by the sync and async variants, written once over a `run(n)` that performs n
 * calls and returns the elapsed nanoseconds.
 */
async function loop(run: (n: number) => number | Promise<number>, o: TimingOptions): Promise<Stats> {
  // Warm-up: JIT, allocator, caches, thread pools. At least one call; the fastest single call
  // sizes the batches (the first calls are slow, and any call may take a GC pause).
  const warmEnd = now() + o.warmupMs * 1e6
  let fastest = Infinity
  do fastest = Math.min(fastest, await run(1))
  while (now() < warmEnd)
  const batchNs = (o.minTimeMs * 1e6) / o.minBatches
  const iters = Math.max(1, Math.floor(batchNs / Math.max(fastest, 1)))
  const perOp: number[] = []
  let total = 0
  for (;;) {
    const ns = await run(iters)
    perOp.push(ns / iters)
    total += ns
    if (perOp.length >= o.minBatches && total >= o.minTimeMs * 1e6) break
    if (perOp.length >= 3 && total >= o.maxTimeMs * 1e6) break
  }
  return summarize(perOp, iters)
}

/** Times a synchronous function. */
export function measure(fn: () => unknown, o: TimingOptions): Promise<Stats> {
  return loop((n) => {
    const t0 = now()
    for (let i = 0; i < n; i++) fn()
    return now() - t0
  }, o)
}

/** Times an asynchronous function, each call awaited before the next (latency, not throughput). */
export function measureAsync(fn: () => Promise<unknown>, o: TimingOptions): Promise<Stats> {
  return loop(async (n) => {
    const t0 = now()
    for (let i = 0; i < n; i++) await fn()
    return now() - t0
  }, o)
}

/** A pause between implementations: lets another library's spinning worker threads go to sleep. */
export const settle = (ms = 50): Promise<void> => new Promise((r) => setTimeout(r, ms))
