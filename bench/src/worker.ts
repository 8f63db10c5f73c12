// The measuring side: one process per (suite, thread count), started by the parent with
// RAYON_NUM_THREADS / OPENBLAS_NUM_THREADS set, so flaxen's rayon pool and OpenBLAS have exactly
// that many threads (rayon reads the variable once, when its global pool starts) and onnxruntime
// is given the same count. Rows go to stdout as JSON; progress goes to stderr as marked lines.
import { loadOrt } from './ort-peer'
import type { Ctx } from './suite'
import { SUITES } from './suites'
import { settle } from './timing'
import type { Measurement, Row, Stats, TimingOptions } from './types'

/** Prefix of a progress line on a worker's stderr (any other line is passed through). */
export const PROGRESS = '\u0001progress '

export interface WorkerArgs {
  suite: string
  threads: number
  quick: boolean
  timing: TimingOptions
  /** Measure each implementation this many times, interleaved, and keep the best. */
  rounds: number
  /** The python3 with numpy the parent found, or null with the reason. */
  python: string | null
  numpyMissing: string
  ortDir: string | null
  ortMissing: string
}

const isStats = (r: Stats | Measurement): r is Stats => 'medianNs' in r

const gc = (globalThis as { gc?: () => void }).gc

export async function runWorker(args: WorkerArgs): Promise<{ rows: Row[] }> {
  const suite = SUITES.find((s) => s.name === args.suite)
  if (!suite) throw new Error(`unknown suite ${args.suite}`)
  let ortMissing = args.ortMissing
  let ort = null
  if (args.ortDir) {
    try {
      ort = loadOrt(args.ortDir)
    } catch (e) {
      ortMissing = (e as Error).message.split('\n')[0]
    }
  }
  const ctx: Ctx = { threads: args.threads, quick: args.quick, timing: args.timing, python: args.python, numpyMissing: args.numpyMissing, ort, ortMissing }
  const cases = suite.cases(ctx)
  const rounds = Math.max(1, args.rounds)
  const total = cases.reduce((n, c) => n + c.impls.length, 0) * rounds
  let done = 0
  const rows: Row[] = []
  for (const c of cases) {
    const row: Row = { id: c.id, label: c.label, threads: args.threads, params: c.params, results: {}, ratios: {}, notes: [...(c.notes ?? [])] }
    const failed = new Set<string>()
    // Rounds interleave the implementations (a, b, c, a, b, c, ...) so that a slow spell of the
    // machine hits them alike; each keeps its best round (the lowest median time: other load
    // only ever slows a measurement down).
    for (let round = 0; round < rounds; round++) {
      for (const impl of c.impls) {
        process.stderr.write(PROGRESS + JSON.stringify({ done, total, label: `${c.label} ${impl.key}${rounds > 1 ? ` (round ${round + 1}/${rounds})` : ''}` }) + '\n')
        done++
        if (impl.skip !== undefined || impl.run === undefined) {
          if (round === 0) row.notes.push(impl.skip ?? `${impl.key}: nothing to run`)
          continue
        }
        const previous = row.results[impl.key]
        if (failed.has(impl.key) || (previous && !previous.stats)) continue // failed, or not a timing (memory)
        gc?.() // each implementation starts from a collected heap, not the previous one's garbage
        try {
          const r = await impl.run()
          const m: Measurement = isStats(r) ? { value: c.toValue(r.medianNs), stats: r, rounds: 1 } : r
          if (!previous) row.results[impl.key] = m
          else {
            const best = m.stats!.medianNs < previous.stats!.medianNs ? m : previous
            row.results[impl.key] = { ...best, rounds: round + 1 }
          }
        } catch (e) {
          failed.add(impl.key)
          delete row.results[impl.key]
          row.notes.push(`${impl.key}: failed: ${(e as Error).message.split('\n')[0]}`)
        }
        if (impl.foreign) await settle()
      }
    }
    const primary = row.results[suite.primary]
    if (primary) {
      for (const [key, m] of Object.entries(row.results)) if (key !== suite.primary) row.ratios[key] = primary.value / m.value
    }
    rows.push(row)
  }
  process.stderr.write(PROGRESS + JSON.stringify({ done, total, label: 'done' }) + '\n')
  return { rows }
}
