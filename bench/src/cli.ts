#!/usr/bin/env node
// The `flaxen` command of the repository (the private bench package's bin; the published flaxen
// has no command). One subcommand, `bench`: measures flaxen against its peers (numpy/OpenBLAS,
// onnxruntime-node, plain JS) in the same run and prints a table with ratios, or JSON, and
// optionally an SVG chart. The hidden `--worker-suite` mode is the same file started as a child
// process per (suite, thread count), see run.ts.
import { writeFileSync } from 'node:fs'
import { matmulSvg } from './report-svg'
import { textReport } from './report-table'
import { runBench, suiteNames } from './run'
import { SUITES } from './suites'
import { runWorker } from './worker'

const HELP = `Usage: flaxen bench [suite...] [options]

Measures flaxen against numpy/OpenBLAS (python3 with numpy, when present), onnxruntime-node
(when installed by \`npm run bench:peers\`) and plain JS, in the same run, with the same shapes,
inputs and thread counts. Each suite runs at 1 thread and at every core, each in its own process.

Suites (default: all):
${SUITES.map((s) => `  ${s.name.padEnd(13)} ${s.title}`).join('\n')}

Options:
  --json          print the full report as JSON on stdout (instead of the table)
  --svg FILE      also write a chart of matmul GFLOP/s vs size (needs the matmul suite)
  --quick         fewer sizes and short timings: a smoke test, not a measurement
  --threads LIST  thread counts, comma-separated (default: 1,<cores>)
  --rounds N      measure every implementation N times, interleaved, keep the best (default 1;
                  2-3 on a machine with background load)
  -h, --help      this text

Environment: FLAXEN_BENCH_PYTHON (a python3 with numpy; default /usr/bin/python3, then python3),
FLAXEN_BENCH_ORT (an onnxruntime-node package folder; default bench/peers/node_modules/onnxruntime-node),
OPENBLAS_CORETYPE (kept when set; otherwise set to the CPU's AVX-512/AVX2 kernels when OpenBLAS's
autodetection falls back to older ones, as it does on VMs that mask the CPU model).
Progress goes to stderr.
`

class UsageError extends Error {}

interface Parsed {
  suites: string[]
  json: boolean
  svg?: string
  quick: boolean
  threads?: number[]
  rounds: number
  help: boolean
}

function parse(argv: string[]): Parsed {
  const p: Parsed = { suites: [], json: false, quick: false, rounds: 1, help: false }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    const value = () => {
      const v = argv[++i]
      if (v === undefined || v.startsWith('--')) throw new UsageError(`${a} needs a value`)
      return v
    }
    if (a === '--json') p.json = true
    else if (a === '--quick') p.quick = true
    else if (a === '-h' || a === '--help') p.help = true
    else if (a === '--svg') p.svg = value()
    else if (a.startsWith('--svg=')) p.svg = a.slice(6)
    else if (a === '--threads' || a.startsWith('--threads=')) {
      const list = a === '--threads' ? value() : a.slice(10)
      p.threads = list.split(',').map(Number)
      if (p.threads.some((t) => !Number.isInteger(t) || t < 1)) throw new UsageError(`--threads: positive integers, got ${list}`)
    } else if (a === '--rounds' || a.startsWith('--rounds=')) {
      const v = a === '--rounds' ? value() : a.slice(9)
      p.rounds = Number(v)
      if (!Number.isInteger(p.rounds) || p.rounds < 1) throw new UsageError(`--rounds: a positive integer, got ${v}`)
    } else if (a.startsWith('-')) throw new UsageError(`unknown option ${a}`)
    else if (!suiteNames().includes(a)) throw new UsageError(`unknown suite ${a} (one of: ${suiteNames().join(', ')})`)
    else p.suites.push(a)
  }
  if (p.svg !== undefined && p.suites.length > 0 && !p.suites.includes('matmul')) throw new UsageError('--svg charts the matmul suite: select it too')
  return p
}

async function main(argv: string[]): Promise<number> {
  if (argv[0] === '--worker-suite') {
    process.stdout.write(JSON.stringify(await runWorker(JSON.parse(argv[1]))))
    return 0
  }
  const [command, ...rest] = argv
  if (command === undefined || command === '-h' || command === '--help') {
    process.stdout.write(HELP)
    return command === undefined ? 1 : 0
  }
  if (command !== 'bench') throw new UsageError(`unknown command ${command} (flaxen bench --help)`)
  const p = parse(rest)
  if (p.help) {
    process.stdout.write(HELP)
    return 0
  }
  const selected = p.suites.length ? SUITES.filter((s) => p.suites.includes(s.name)) : SUITES
  const report = await runBench({ suites: selected, quick: p.quick, threads: p.threads, rounds: p.rounds })
  process.stdout.write(p.json ? JSON.stringify(report, null, 2) + '\n' : textReport(report))
  if (p.svg !== undefined) {
    writeFileSync(p.svg, matmulSvg(report))
    process.stderr.write(`wrote ${p.svg}\n`)
  }
  return 0
}

main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (e) => {
    process.stderr.write(`flaxen: ${e instanceof UsageError ? e.message : (e as Error).stack}\n`)
    process.exitCode = e instanceof UsageError ? 2 : 1
  },
)
