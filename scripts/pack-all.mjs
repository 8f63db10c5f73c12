// Writes ./pack/flaxen-<version>.tgz (loader, types, dist/) and, for each built binary, the
// platform package tarball ./pack/flaxen-<platform>-<version>.tgz holding it. Installing both
// into an empty folder needs no Rust toolchain:
//   npm i ./pack/flaxen-<version>.tgz ./pack/flaxen-<platform>-<version>.tgz
// The packed root package.json is the publishable one: the platform packages become optional
// dependencies (as the loader expects) and `workspaces` is dropped.
import { execFileSync } from 'node:child_process'
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const root = new URL('..', import.meta.url).pathname
const out = join(root, 'pack')
rmSync(out, { recursive: true, force: true })
mkdirSync(out)

const npmPack = (cwd) =>
  execFileSync('npm', ['pack', '--pack-destination', out, '--ignore-scripts'], { cwd, stdio: ['ignore', 'pipe', 'inherit'] })

const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
const optional = {}

for (const binary of readdirSync(root).filter((f) => /^flaxen\..+\.node$/.test(f))) {
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
