// The full worker soak of issue 9 point 5: 8 workers running a jit'd plan sync and async for
// 10 s (or argv[2] ms), checked against the main thread's reference; then 100 short-lived
// workers. Exits non-zero on any mismatch, worker error or crash.
//   node scripts/soak-workers.mjs [ms=10000] [workers=8]
import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const fixture = fileURLToPath(new URL('../__test__/fixtures/jit-workers.cjs', import.meta.url))
const ms = process.argv[2] ?? '10000'
const workers = process.argv[3] ?? '8'
const run = (...args) => JSON.parse(execFileSync(process.execPath, [fixture, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }))

let failed = false
const soak = run('soak', ms, workers)
for (const w of soak.workers) {
  const m = w.message
  const ok = w.code === 0 && !w.error && m && m.hashes === m.sync + m.async && m.aborted === m.sync
  failed ||= !ok
  console.log(`worker ${w.id}: exit ${w.code}, ${m ? `${m.sync} sync, ${m.async} async, ${m.aborted} aborted` : 'no result'}${w.error ? `, ${w.error}` : ''}`)
}
console.log(`mismatches: ${soak.mismatches}`)
failed ||= soak.mismatches !== 0

const churn = run('churn', '100', '8')
const bad = churn.results.filter((r) => r.error || r.code !== (r.kind === 'terminated' ? 1 : 0) || (r.kind !== 'exit-in-flight' && String(r.message?.sync) !== String(churn.expected)))
console.log(`churn: ${churn.results.length} workers, ${bad.length} bad`)
for (const r of bad) console.log(JSON.stringify(r))
failed ||= bad.length > 0 || churn.results.length !== 100
console.log(failed ? 'FAIL' : 'ok')
process.exit(failed ? 1 : 0)
