// The serve bench suite (bench/src/suites/serve.ts) in its --quick configuration (16 connections,
// 1 s per cell): its rows exist with positive figures, one load run feeding all four rows of a
// server, and its targets are listed (n/a: --quick measures no 64-connection cells). When
// onnxruntime-node is installed in bench/peers (`npm run bench:peers`; never a test dependency,
// so those parts are skipped without it), the onnxruntime servers are measured too, and the
// flaxen and onnxruntime servers, started here as the suite starts them, answer the same images
// with the same logits (within 1e-4). No timing thresholds: speed targets live in the report.
import test from 'ava'
import { fork, spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { detectOrt } from '../bench/src/ort-peer'

const root = join(__dirname, '..')
const dist = join(root, 'bench', 'dist')
const ortPresent = detectOrt().available
const positive = (v: unknown) => typeof v === 'number' && Number.isFinite(v) && v > 0

/** Starts bench/dist/serve-server.js as the suite does; resolves with its URL and a stop function. */
function startServer(variant: string): Promise<{ url: string; stop: () => void }> {
  const child = fork(join(dist, 'serve-server.js'), [JSON.stringify({ variant, threads: 1 })], { cwd: root, execArgv: [], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] })
  return new Promise((resolve, reject) => {
    child.once('message', (m: { port: number }) => resolve({ url: `http://127.0.0.1:${m.port}`, stop: () => child.disconnect() }))
    child.once('exit', (code) => reject(new Error(`${variant} server exited with ${code}`)))
  })
}

async function logits(url: string, image: number[]): Promise<number[]> {
  const r = await fetch(`${url}/v1/digits`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ image }) })
  if (r.status !== 200) throw new Error(`${r.status} ${await r.text()}`)
  return ((await r.json()) as { logits: number[][] }).logits[0]
}

test('bench serve --quick: rows with positive figures, one run per server feeding its rows, targets listed', (t) => {
  const r = spawnSync(process.execPath, [join(dist, 'cli.js'), 'bench', 'serve', '--quick', '--json'], { cwd: root, encoding: 'utf8', timeout: 60_000 })
  t.is(r.status, 0, r.stderr)
  const report = JSON.parse(r.stdout)
  const [suite] = report.suites
  t.is(suite.name, 'serve')
  t.deepEqual(suite.notes, [])
  const gptRows = ['gpt-ttft-s1', 'gpt-tps-s1', 'gpt-ttft-s8', 'gpt-tps-s8']
  t.deepEqual(suite.rows.map((row: { id: string }) => row.id), ['rps-c16', 'p50-c16', 'p99-c16', 'eld-p99-c16', ...gptRows])
  // GPT streaming (the tiny fixture under --quick): flaxen's time to first token and tokens/s.
  for (const row of suite.rows.filter((r: { id: string }) => gptRows.includes(r.id))) {
    t.true(positive(row.results.flaxen?.value), `${row.id}: ${JSON.stringify(row.results.flaxen)}`)
    t.is(row.results.flaxen.extra.failed, 0)
    t.true(row.notes.some((n: string) => n.startsWith('GPT streaming rows: flaxen only')))
  }
  // 'http': the same server with no model, the ceiling column (always run).
  const keys = ortPresent ? ['flaxen', 'ort', 'ort-merged', 'http'] : ['flaxen', 'http']
  const digits = suite.rows.filter((r: { id: string }) => !gptRows.includes(r.id))
  for (const row of digits) {
    t.is(row.threads, Math.max(...report.meta.threads))
    for (const key of keys) t.true(positive(row.results[key]?.value), `${row.id} ${key}`)
  }
  const [rps, p50, p99, eld] = digits
  for (const key of keys) {
    const run = rps.results[key].extra
    t.true(positive(run.requests) && positive(run.requestsPerRun) && positive(run.loopSamples), `${key}: ${JSON.stringify(run)}`)
    t.is(rps.results[key].value, run.rps)
    t.deepEqual([p50, p99, eld].map((row) => row.results[key].extra), [run, run, run], `${key}: one run feeds every row`)
    t.deepEqual([p50, p99, eld].map((row) => row.results[key].value), [run.p50Ms, run.p99Ms, run.loopP99Ms])
    t.true(run.p50Ms <= run.p99Ms)
  }
  if (ortPresent) {
    for (const key of ['ort', 'ort-merged']) t.true(rps.results[key].extra.maxLogitDiff <= 1e-4, `${key} agrees with flaxen`)
    // ≈ 1: the counts are read around the run, requests in flight at its edges included.
    t.true(Math.abs(rps.results.ort.extra.requestsPerRun - 1) < 0.05, 'a run per request')
    t.is(rps.results.http.extra.maxLogitDiff, 0, 'no model: nothing to compare')
  } else t.true(rps.notes.some((n: string) => n.startsWith('onnxruntime:')))
  const targets = report.targets.filter((x: { suite: string }) => x.suite === 'serve')
  t.is(targets.length, 3)
  t.true(targets.every((x: { pass: boolean | null }) => x.pass === null))
})

;(ortPresent ? test : test.skip)('the flaxen and onnxruntime digits servers answer the same images with the same logits', async (t) => {
  const set = JSON.parse(readFileSync(join(root, 'examples', 'digits', 'test-set.json'), 'utf8')) as { images: number[][][] }
  const servers = await Promise.all(['flaxen', 'ort', 'ort-merged'].map(startServer))
  try {
    for (const image of set.images.slice(0, 8).map((i) => i.flat())) {
      const [want, ...got] = await Promise.all(servers.map((s) => logits(s.url, image)))
      t.is(want.length, 10)
      for (const g of got) t.true(g.every((v, j) => Math.abs(v - want[j]) <= 1e-4), `${g} vs ${want}`)
    }
  } finally {
    servers.forEach((s) => s.stop())
  }
})

test('serve targets: against the better onnxruntime server per figure, named in the label', (t) => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { evaluateTargets } = require(join(dist, 'targets.js'))
  const row = (id: string, flaxen: number, ort: number, merged: number) => ({
    id,
    label: id,
    threads: 2,
    params: {},
    results: { flaxen: { value: flaxen }, ort: { value: ort }, 'ort-merged': { value: merged } },
    ratios: {},
    notes: [],
  })
  const rows = [row('rps-c64', 9000, 5000, 6000), row('p99-c64', 20, 40, 25), row('eld-p99-c64', 4, 30, 60)]
  const targets = evaluateTargets([{ name: 'serve', title: '', unit: '', higherIsBetter: false, primary: 'flaxen', columns: [], method: '', rows, notes: [] }], [1, 2])
  const get = (id: string) => targets.find((x: { id: string }) => x.id === id)
  t.like(get('serve-rps-c64-2T'), { measured: 1.5, pass: true, goal: '≥ 1.5×' })
  t.regex(get('serve-rps-c64-2T').label, /merged runs/)
  t.like(get('serve-p99-c64-2T'), { measured: 0.8, pass: false, goal: '≤ 0.7×' })
  t.regex(get('serve-p99-c64-2T').label, /merged runs/)
  t.like(get('serve-eld-p99-c64-2T'), { measured: 4, pass: true })
})
