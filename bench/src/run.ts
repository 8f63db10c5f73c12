// The orchestrating side: detects the peers once, then runs each (suite, thread count) in a
// fresh worker process of this same CLI, one after the other (never two at once: they would
// compete for the cores), and assembles the report.
import { spawn } from 'node:child_process'
import { availableParallelism, cpus } from 'node:os'
import { detectNumpy } from './numpy-peer'
import { detectOrt } from './ort-peer'
import { Progress } from './progress'
import type { Suite } from './suite'
import { SUITES } from './suites'
import { evaluateTargets } from './targets'
import { DEFAULT_TIMING, QUICK_TIMING } from './timing'
import type { BenchReport, Row, SuiteResult, TimingOptions } from './types'
import { PROGRESS, type WorkerArgs } from './worker'

export interface BenchOptions {
  suites: Suite[]
  quick: boolean
  /** Thread counts; default 1 and every core. */
  threads?: number[]
  timing?: TimingOptions
  /** Interleaved rounds per implementation, best kept (default 1). */
  rounds?: number
}

export const defaultThreads = (): number[] => [...new Set([1, availableParallelism()])]

/** Every thread-count variable the libraries involved read, set to one value. */
export function threadEnv(threads: number, openblasCoretype?: string): NodeJS.ProcessEnv {
  const n = String(threads)
  const env = { ...process.env, RAYON_NUM_THREADS: n, OPENBLAS_NUM_THREADS: n, OMP_NUM_THREADS: n, MKL_NUM_THREADS: n }
  return openblasCoretype ? { ...env, OPENBLAS_CORETYPE: openblasCoretype } : env
}

/** Starts `node <this CLI> --worker-suite <json>` and resolves with its rows. */
function runJob(args: WorkerArgs, env: NodeJS.ProcessEnv, progress: Progress): Promise<Row[]> {
  return new Promise((resolve, reject) => {
    // process.argv[1] is the CLI being run (bench/dist/cli.js, or bench/src/cli.ts under tsx: execArgv
    // carries the loader); --expose-gc lets the worker collect between implementations.
    const child = spawn(process.execPath, [...process.execArgv, '--expose-gc', process.argv[1], '--worker-suite', JSON.stringify(args)], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let pending = ''
    const errors: string[] = []
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d))
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      pending += d
      let nl: number
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl)
        pending = pending.slice(nl + 1)
        if (line.startsWith(PROGRESS)) {
          const p = JSON.parse(line.slice(PROGRESS.length))
          progress.update(p.done, p.total, p.label)
        } else {
          errors.push(line)
          progress.log(line)
        }
      }
    })
    child.on('error', reject)
    child.on('close', (code, signal) => {
      if (code !== 0) return reject(new Error(`worker exited with ${signal ?? code}: ${errors.slice(-3).join(' | ')}`))
      try {
        resolve(JSON.parse(stdout).rows)
      } catch (e) {
        reject(new Error(`worker output is not JSON: ${(e as Error).message}`))
      }
    })
  })
}

export async function runBench(o: BenchOptions): Promise<BenchReport> {
  const threads = o.threads ?? defaultThreads()
  const timing = o.timing ?? (o.quick ? QUICK_TIMING : DEFAULT_TIMING)
  const { coretype, ...numpy } = detectNumpy()
  const onnxruntime = detectOrt()
  const jobs = o.suites.flatMap((suite) => suite.threads(threads).map((t) => ({ suite, threads: t })))
  const progress = new Progress(jobs.length)
  const results = new Map<string, SuiteResult>()
  for (const s of o.suites) {
    const { threads: _, cases: __, ...info } = s
    results.set(s.name, { ...info, rows: [], notes: [] })
  }
  for (const [i, job] of jobs.entries()) {
    progress.startJob(i, `${job.suite.name} ${job.threads}T`)
    const args: WorkerArgs = {
      suite: job.suite.name,
      threads: job.threads,
      quick: o.quick,
      timing,
      rounds: o.rounds ?? 1,
      python: numpy.available ? numpy.path! : null,
      numpyMissing: numpy.reason ?? '',
      ortDir: onnxruntime.available ? onnxruntime.path! : null,
      ortMissing: onnxruntime.reason ?? '',
    }
    const result = results.get(job.suite.name)!
    try {
      result.rows.push(...(await runJob(args, threadEnv(job.threads, coretype), progress)))
      progress.endJob()
    } catch (e) {
      result.notes.push(`${job.threads}T: ${(e as Error).message}`)
      progress.endJob((e as Error).message)
    }
  }
  progress.clear()
  const suites = [...results.values()]
  return {
    meta: {
      date: new Date().toISOString(),
      node: process.version,
      cpu: cpus()[0]?.model.trim() ?? 'unknown CPU',
      cores: availableParallelism(),
      threads,
      quick: o.quick,
      timing,
      rounds: o.rounds ?? 1,
      peers: { numpy, onnxruntime },
    },
    suites,
    targets: evaluateTargets(suites, threads),
  }
}

export const suiteNames = (): string[] => SUITES.map((s) => s.name)
