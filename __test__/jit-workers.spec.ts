// jit in worker_threads (issue 9 point 5). The fixture runs as a child process: execFileSync
// throws on a non-zero exit or a signal, so a crash at worker or process teardown fails the test.
// FLAXEN_SOAK_MS sets the soak's duration (default 3000 ms; `node scripts/soak-workers.mjs`
// runs the full 10 s).
import test from 'ava'
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { join } from 'node:path'
import { jit, jnp, random, type Tensor } from '../ts/index'

const fixture = join(__dirname, 'fixtures', 'jit-workers.cjs')
const run = (...args: string[]) => JSON.parse(execFileSync(process.execPath, [fixture, ...args], { encoding: 'utf8', timeout: 120_000 }))

interface WorkerResult {
  id: number
  code: number
  error?: string
  message?: { id: number; sync: number; async: number; aborted: number; hashes: number }
}

/** The fixture's model, computed here (tsx, ts/ sources) for a cross-check of its reference. */
function referenceHashes(): string[] {
  type T = Tensor
  const mlp = (x: T, w1: T, b1: T, w2: T) => jnp.matmul(jnp.maximum(jnp.add(jnp.matmul(x, w1), b1), 0), w2)
  const f = jit(mlp)
  const w1 = random.normal(random.key(101), [256, 1024])
  const b1 = random.normal(random.key(102), [1024])
  const w2 = random.normal(random.key(103), [1024, 64])
  return Array.from({ length: 6 }, (_, i) => {
    const d = f(random.normal(random.key(i), [128, 256]), w1, b1, w2).data
    return createHash('sha256').update(Buffer.from(d.buffer, d.byteOffset, d.byteLength)).digest('hex')
  })
}

test.serial('8 workers run a jit plan sync and async at once: every result equals the main thread reference, all exit 0', (t) => {
  const ms = Number(process.env.FLAXEN_SOAK_MS ?? 3000)
  const out = run('soak', String(ms), '8')
  const workers = out.workers as WorkerResult[]
  t.is(workers.length, 8)
  for (const w of workers) {
    t.is(w.error, undefined, `worker ${w.id}`)
    t.is(w.code, 0, `worker ${w.id} exit code`)
    const m = w.message
    if (m === undefined) {
      t.fail(`worker ${w.id} sent no result`)
      continue
    }
    t.true(m.sync >= 1, `worker ${w.id}: ${m.sync} sync calls`)
    t.is(m.async, 4 * m.sync, `worker ${w.id}: async calls`)
    t.is(m.aborted, m.sync, `worker ${w.id}: every aborted call rejected with AbortError`)
    t.is(m.hashes, m.sync + m.async, `worker ${w.id}: a hash per result`)
  }
  t.is(out.mismatches, 0, 'results differing from the reference')
  // The fixture's reference (dist/, main thread of the child) is what ts/ computes here too.
  t.deepEqual(out.reference, referenceHashes())
  t.is(new Set(out.reference).size, 6, 'the six inputs give six different results')
})

test.serial('100 short-lived workers load the package, make a jit call and exit (some mid-call): no crash', (t) => {
  const out = run('churn', '100', '8')
  const results = out.results as (WorkerResult & { kind: string; message?: { sync: number[]; async?: number[] } })[]
  t.deepEqual(out.expected, [6, 9, 12])
  t.is(results.length, 100)
  const kinds: Record<string, number> = {}
  for (const r of results) {
    kinds[r.kind] = (kinds[r.kind] ?? 0) + 1
    t.is(r.error, undefined, `worker ${r.id} (${r.kind})`)
    if (r.kind === 'clean') {
      t.is(r.code, 0, `worker ${r.id} exit code`)
      t.deepEqual(r.message?.sync, out.expected, `worker ${r.id} sync`)
      t.deepEqual(r.message?.async, out.expected, `worker ${r.id} async`)
    } else if (r.kind === 'exit-in-flight') {
      // process.exit(0) in a worker with two async calls queued.
      t.is(r.code, 0, `worker ${r.id} exit code`)
    } else {
      // terminate()d by the parent with async calls in flight: exit code 1 by definition.
      t.is(r.kind, 'terminated')
      t.is(r.code, 1, `worker ${r.id} exit code`)
      t.deepEqual(r.message?.sync, out.expected, `worker ${r.id} sync`)
    }
  }
  t.deepEqual(kinds, { clean: 53, 'exit-in-flight': 27, terminated: 20 })
})
