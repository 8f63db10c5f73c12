// `flaxen bench` (bench/dist/cli.js, the private bench package) end to end on its quick settings: the JSON report's structure and
// that every figure is a positive number. No timing thresholds: speed targets live in the
// benchmark's report, never in tests. Peers are switched off for the structural run (so the test
// does not depend on python3/numpy or onnxruntime being installed) and left as found for the
// tiny-op run.
import test from 'ava'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const root = join(__dirname, '..')
const cli = join(root, 'bench', 'dist', 'cli.js')

function bench(args: string[], env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(process.execPath, [cli, 'bench', ...args], { cwd: root, encoding: 'utf8', env: { ...process.env, ...env }, timeout: 110_000 })
  return { status: r.status, stdout: r.stdout, stderr: r.stderr }
}

const positive = (v: unknown) => typeof v === 'number' && Number.isFinite(v) && v > 0

test('bench --json --svg: report structure, positive figures and ratios, absent peers noted, a chart', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'flaxen-bench-'))
  try {
    const svg = join(dir, 'matmul.svg')
    const r = bench(['matmul', 'tiny-op', '--quick', '--json', '--threads', '1', '--svg', svg], {
      FLAXEN_BENCH_PYTHON: join(dir, 'no-python'),
      FLAXEN_BENCH_ORT: join(dir, 'no-ort'),
    })
    t.is(r.status, 0, r.stderr)
    const report = JSON.parse(r.stdout)
    t.deepEqual(report.meta.threads, [1])
    t.true(report.meta.quick)
    t.false(report.meta.peers.numpy.available)
    t.false(report.meta.peers.onnxruntime.available)
    t.deepEqual(report.suites.map((s: { name: string }) => s.name), ['matmul', 'tiny-op'])
    for (const s of report.suites) {
      t.truthy(s.title)
      t.truthy(s.unit)
      t.true(s.columns.some((c: { key: string }) => c.key === s.primary))
      t.deepEqual(s.notes, [])
      t.true(s.rows.length > 0)
      for (const row of s.rows) {
        t.is(row.threads, 1)
        t.true(positive(row.results[s.primary]?.value), `${s.name} ${row.id}: primary figure`)
        for (const [key, m] of Object.entries<any>(row.results)) {
          t.true(positive(m.value), `${s.name} ${row.id} ${key}`)
          t.true(positive(m.stats.medianNs) && m.stats.batches >= 3, `${s.name} ${row.id} ${key} stats`)
        }
        for (const [key, ratio] of Object.entries(row.ratios)) {
          t.true(positive(ratio), `${s.name} ${row.id} ratio ${key}`)
          t.is(ratio, row.results[s.primary].value / row.results[key].value)
        }
      }
    }
    const matmul = report.suites[0]
    t.deepEqual(matmul.rows.map((row: { id: string }) => row.id), ['matmul-64', 'matmul-256'])
    t.true(positive(matmul.rows[0].results.js.value), 'the JS baseline always runs')
    t.true(matmul.rows[0].notes.some((n: string) => n.startsWith('numpy:')))
    t.true(matmul.rows[0].notes.some((n: string) => n.startsWith('onnxruntime:')))
    t.true(report.targets.some((x: { id: string; pass: boolean | null }) => x.id === 'tiny-add' && x.pass !== null))
    const add16 = report.suites[1].rows.find((row: { id: string }) => row.id === 'add16')
    t.deepEqual(['floor', 'jit', 'jit-async'].filter((k) => !positive(add16.results[k]?.value)), [], 'the floor and both jit columns ran')
    for (const id of ['tiny-jit-sync', 'tiny-jit-async']) t.true(report.targets.some((x: { id: string; pass: boolean | null }) => x.id === id && x.pass !== null), id)
    t.true(report.targets.every((x: { suite: string }) => ['matmul', 'tiny-op'].includes(x.suite)))
    const chart = readFileSync(svg, 'utf8')
    t.true(chart.startsWith('<svg'))
    t.true(chart.includes('<polyline'))
    t.true(chart.includes('flaxen, 1 thread'))
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('bench event-loop without onnxruntime: rows from one flaxen run each (f.async, Batcher), the peer noted, its target', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'flaxen-bench-'))
  try {
    const r = bench(['event-loop', '--quick', '--json', '--threads', '1'], { FLAXEN_BENCH_PYTHON: join(dir, 'no-python'), FLAXEN_BENCH_ORT: join(dir, 'no-ort') })
    t.is(r.status, 0, r.stderr)
    const [suite] = JSON.parse(r.stdout).suites
    t.deepEqual(suite.rows.map((row: { id: string }) => row.id), ['eld-p99', 'total', 'requests', 'requests-merged'])
    const [p99, total, requests, merged] = suite.rows
    t.true(positive(p99.results.flaxen.value) && positive(total.results.flaxen.value) && positive(requests.results.flaxen.value))
    t.deepEqual(p99.results.flaxen.extra, total.results.flaxen.extra, 'one experiment feeds both rows')
    t.deepEqual(requests.results.flaxen.extra, merged.results.flaxen.extra, 'one Batcher experiment feeds both request rows')
    t.is(requests.results.flaxen.value, requests.results.flaxen.extra.totalMs)
    t.is(requests.results.ort, undefined)
    t.is(p99.results.ort, undefined)
    t.true(p99.notes.some((n: string) => n.startsWith('onnxruntime:')))
    const target = JSON.parse(r.stdout).targets.find((x: { id: string }) => x.id === 'event-loop-p99-1T')
    t.is(target?.measured, p99.results.flaxen.value)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('bench tiny-op with the peers this machine has: a table with ratios', (t) => {
  const r = bench(['tiny-op', '--quick'])
  t.is(r.status, 0, r.stderr)
  t.regex(r.stdout, /tiny-op overhead/)
  t.regex(r.stdout, /add 16 \(new output\)\s+1\s+[\d.]+ +[\d.]+ \([\d.]+×\)/)
  t.regex(r.stdout, /Targets \(issues 5, 9, 11, 12, 13\)/)
})

test('bench --help, and usage errors exit with 2', (t) => {
  const help = bench(['--help'])
  t.is(help.status, 0)
  t.regex(help.stdout, /Usage: flaxen bench/)
  t.is(bench(['no-such-suite']).status, 2)
  t.is(bench(['--svg']).status, 2)
  t.is(bench(['tiny-op', '--svg', 'x.svg']).status, 2)
})

test('issue 11 targets: bf16 rows/s ratio from the two matvec rows, io figures from the 512 MiB rows only', (t) => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { evaluateTargets } = require(join(root, 'bench', 'dist', 'targets.js'))
  const row = (id: string, threads: number, value: number, extra?: Record<string, number>) => ({ id, label: id, threads, params: {}, results: { flaxen: { value, extra } }, ratios: {}, notes: [] })
  const suite = (name: string, rows: unknown[]) => ({ name, title: name, unit: '', higherIsBetter: true, primary: 'flaxen', columns: [], method: '', rows, notes: [] })
  const targets = evaluateTargets(
    [
      suite('matvec', [row('matvec-4096', 1, 40), row('matvec-bf16-4096', 1, 36), row('matvec-4096', 2, 100), row('matvec-bf16-4096', 2, 80)]),
      suite('io', [
        row('safetensors-loadfile-512mib', 2, 1.5, { rssGrowthMB: 0 }),
        row('msgpack-restore-512mib', 2, 80, { GBps: 6.7 }),
        row('msgpack-save-16mib', 2, 5, { GBps: 3.3 }),
      ]),
    ],
    [1, 2],
  )
  const get = (id: string) => targets.find((x: { id: string }) => x.id === id)
  t.like(get('matvec-bf16-1T'), { measured: 1.8, pass: true })
  t.like(get('matvec-bf16-2T'), { measured: 1.6, pass: false })
  t.like(get('io-loadfile'), { measured: 1.5, pass: true })
  t.like(get('io-loadfile-rss'), { measured: 0, pass: true })
  t.like(get('io-restore'), { measured: 6.7, pass: true })
  // A --quick run's 16 MiB rows are not the target's 512 MiB: n/a, not a pass.
  t.like(get('io-save'), { measured: null, pass: null })
})

test('issue 13 targets: vision time ratios against onnxruntime from GFLOP/s rows, 0.9x at batch 1 and 1.0x above', (t) => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { evaluateTargets } = require(join(root, 'bench', 'dist', 'targets.js'))
  const row = (id: string, threads: number, flaxen: number, ort: number) => ({ id, label: id, threads, params: {}, results: { flaxen: { value: flaxen }, ort: { value: ort } }, ratios: {}, notes: [] })
  const vision = { name: 'vision', title: 'vision', unit: 'GFLOP/s', higherIsBetter: true, primary: 'flaxen', columns: [], method: '', notes: [] }
  const targets = evaluateTargets([{ ...vision, rows: [row('resnet18-b1', 1, 220, 188), row('mnist-cnn-b1', 2, 90, 94), row('resnet18-b8', 2, 390, 358)] }], [1, 2])
  const get = (id: string) => targets.find((x: { id: string }) => x.id === id)
  t.like(get('resnet18-b1-1T'), { measured: 188 / 220, pass: true, goal: '≤ 0.9×' })
  t.like(get('mnist-cnn-b1-2T'), { measured: 94 / 90, pass: false })
  t.like(get('resnet18-b8-2T'), { measured: 358 / 390, pass: true, goal: '≤ 1×' })
  // Rows not measured are n/a, not passes.
  t.like(get('mnist-cnn-b256-1T'), { measured: null, pass: null })
})
