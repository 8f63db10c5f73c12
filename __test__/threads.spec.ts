// The kernels' pool follows FLAXEN_NUM_THREADS: its threads are named `flaxen-kernel-<i>`, so a
// child process can count them in /proc (Linux). With one thread the kernels run on the caller
// (one pool worker exists, idle); with n ≥ 2 the main thread is worker 0 and n - 1 are spawned.
import test from 'ava'
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'

const script = `
const { jnp } = require(${JSON.stringify(join(__dirname, '..', 'dist', 'index.js'))})
const a = jnp.ones([512, 512])
jnp.matmul(a, a).dispose()
const fs = require('node:fs')
const names = fs.readdirSync('/proc/self/task').map((t) => fs.readFileSync('/proc/self/task/' + t + '/comm', 'utf8').trim())
console.log(JSON.stringify(names.filter((n) => n.startsWith('flaxen-kernel')).sort()))
`

function kernelThreads(env: Record<string, string>): string[] {
  const base = { ...process.env }
  delete base.RAYON_NUM_THREADS
  delete base.FLAXEN_NUM_THREADS
  const r = spawnSync(process.execPath, ['-e', script], { env: { ...base, ...env }, encoding: 'utf8' })
  if (r.status !== 0) throw new Error(r.stderr)
  return JSON.parse(r.stdout)
}

const linux = existsSync('/proc/self/task') ? test : test.skip

linux('FLAXEN_NUM_THREADS sizes the kernels pool, 1 included (rayon alone would take every core)', (t) => {
  t.deepEqual(kernelThreads({ FLAXEN_NUM_THREADS: '1' }), ['flaxen-kernel-0'])
  t.deepEqual(kernelThreads({ FLAXEN_NUM_THREADS: '3' }), ['flaxen-kernel-1', 'flaxen-kernel-2'])
  t.deepEqual(kernelThreads({ RAYON_NUM_THREADS: '2' }), ['flaxen-kernel-1'])
})
