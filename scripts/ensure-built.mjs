// Builds what is stale before tests, the demo, packing or the bench: first makes sure cargo knows
// where the crates come from (scripts/setup/setup.mjs --ensure: a no-op once setup has run, else
// it runs setup), then the addon when any Rust source is newer than the .node file, the
// TypeScript output when any ts/ source is newer than dist/, and the bench harness likewise.
import { execSync } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { setup, SetupError } from './setup/setup.mjs'

const root = new URL('..', import.meta.url).pathname

function newest(paths) {
  let t = 0
  const visit = (p) => {
    if (!existsSync(p)) return
    const s = statSync(p)
    if (s.isDirectory()) for (const e of readdirSync(p)) visit(join(p, e))
    else t = Math.max(t, s.mtimeMs)
  }
  for (const p of paths) visit(join(root, p))
  return t
}

function mtime(p) {
  const f = join(root, p)
  return existsSync(f) ? statSync(f).mtimeMs : 0
}

try {
  await setup({ ensure: true })
} catch (e) {
  process.stderr.write(`setup: ${e instanceof SetupError ? `error: ${e.message}` : e.stack}\n`)
  process.exit(1)
}

const binary = readdirSync(root).find((f) => /^flaxen\..*\.node$/.test(f))
const rust = newest(['src', 'crates/flaxen-core/src', 'crates/node-api/src', 'Cargo.toml', 'Cargo.lock', 'build.rs',
  'crates/flaxen-core/Cargo.toml', 'crates/node-api/Cargo.toml'])
const run = (script) => execSync(`npm run --silent ${script}`, { cwd: root, stdio: 'inherit' })

if (!binary || mtime(binary) < rust) run('build:native')
if (mtime('dist/index.mjs') < newest(['ts', 'index.d.ts'])) run('build:ts')
if (mtime('bench/dist/cli.js') < Math.max(newest(['bench/src', 'bench/tsconfig.json']), mtime('dist/index.d.ts'))) run('build:bench')
