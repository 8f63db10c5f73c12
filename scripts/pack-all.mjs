// Writes ./pack/flaxen-<version>.tgz (loader, types, dist/) and, for each built binary, the
// platform package tarball ./pack/flaxen-<platform>-<version>.tgz holding it. Installing both
// into an empty folder needs no Rust toolchain:
//   npm i ./pack/flaxen-<version>.tgz ./pack/flaxen-<platform>-<version>.tgz
// The packed root package.json is the publishable one: the platform packages become optional
// dependencies (as the loader expects) and `workspaces` is dropped.
//
// Every npm/<platform>/package.json must carry the root's version (scripts/release-version.mjs
// sets them all): the root pins its optional dependencies to the exact platform versions, so a
// stale one would publish a root that installs no binary. `--require-all` (the release) also
// fails unless a binary is present for every npm/<platform> package, so the published root lists
// every platform.
import { execFileSync } from 'node:child_process'
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const root = new URL('..', import.meta.url).pathname
const out = join(root, 'pack')
const npmPack = (cwd) =>
  execFileSync('npm', ['pack', '--pack-destination', out, '--ignore-scripts'], { cwd, stdio: ['ignore', 'pipe', 'inherit'] })

const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
const optional = {}

const fail = (code, message) => {
  const err = new Error(`pack-all: ${message}`)
  err.code = code
  throw err
}
const platforms = readdirSync(join(root, 'npm')).filter((d) => existsSync(join(root, 'npm', d, 'package.json')))
const stale = platforms
  .map((d) => [d, JSON.parse(readFileSync(join(root, 'npm', d, 'package.json'), 'utf8')).version])
  .filter(([, v]) => v !== pkg.version)
if (stale.length) {
  fail('E_VERSION_MISMATCH', `platform package versions differ from package.json's ${pkg.version}: ${stale.map(([d, v]) => `npm/${d} ${v}`).join(', ')}; run \`npm run release:version -- ${pkg.version}\``)
}
const binaries = readdirSync(root).filter((f) => /^flaxen\..+\.node$/.test(f))
const orphans = binaries.filter((b) => !platforms.includes(b.slice('flaxen.'.length, -'.node'.length)))
if (orphans.length) fail('E_NO_PLATFORM_PACKAGE', `no npm/<platform>/package.json for ${orphans.join(', ')}`)
if (process.argv.includes('--require-all')) {
  const missing = platforms.filter((d) => !existsSync(join(root, `flaxen.${d}.node`)))
  if (missing.length) fail('E_MISSING_BINARY', `--require-all: no binary for ${missing.map((d) => `flaxen.${d}.node`).join(', ')}`)
}

// Checked before the old tarballs are removed, so a refused run leaves ./pack as it was.
rmSync(out, { recursive: true, force: true })
mkdirSync(out)

for (const binary of binaries) {
  const triple = binary.slice('flaxen.'.length, -'.node'.length)
  const dir = join(root, 'npm', triple)
  const platformPkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'))
  copyFileSync(join(root, binary), join(dir, binary))
  try {
    npmPack(dir)
  } finally {
    rmSync(join(dir, binary))
  }
  optional[platformPkg.name] = platformPkg.version
}

// `workspaces` names the private bench package, which lives only in the repository. The
// publishable manifest is written into a staging copy of the `files` list: the repository's own
// package.json is never rewritten, since other processes (tests running beside this) read it.
const { workspaces: _ws, ...published } = pkg
const stage = mkdtempSync(join(tmpdir(), 'flaxen-pack-'))
try {
  for (const f of pkg.files) cpSync(join(root, f), join(stage, f), { recursive: true })
  writeFileSync(join(stage, 'package.json'), JSON.stringify({ ...published, optionalDependencies: optional }, null, 2) + '\n')
  npmPack(stage)
} finally {
  rmSync(stage, { recursive: true, force: true })
}
console.log(readdirSync(out).map((f) => `pack/${f}`).join('\n'))
