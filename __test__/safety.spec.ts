import test from 'ava'
import { execFileSync } from 'node:child_process'
import { join } from 'node:path'

const fixture = (name: string) => join(__dirname, 'fixtures', name)

test('the addon works in 8 worker threads at once, repeatedly, and the process exits cleanly', (t) => {
  // execFileSync throws on a non-zero exit or a signal (a crash at worker/process teardown)
  const out = execFileSync(process.execPath, [fixture('workers.cjs'), '3'], { encoding: 'utf8', timeout: 120_000 })
  const results = JSON.parse(out)
  t.is(results.length, 24)
  const expectedKernel = results[0].kernel
  for (const r of results) {
    t.deepEqual(r.shape, [64, 64])
    t.deepEqual(r.kernel, expectedKernel, 'every worker computes the same PRNG values')
  }
  t.is(expectedKernel.length, 3)
})

test('synchronous loop of 20k 64x64 matmuls (no dispose, no await) grows RSS by less than 200 MB', (t) => {
  const out = execFileSync(process.execPath, [fixture('sync-loop-memory.cjs'), '20000'], { encoding: 'utf8', timeout: 120_000 })
  const { grownMB, check } = JSON.parse(out)
  t.is(check, 64)
  t.true(grownMB < 200, `RSS grew by ${grownMB.toFixed(1)} MB`)
})
