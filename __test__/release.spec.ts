// Release plumbing: one version everywhere (scripts/release-version.mjs), pack-all refusing
// drift, a platform package for every napi target that the loader asks for by that name, and
// the README's deployment recipe naming things that exist. Everything that writes works on a
// temporary copy: other processes read the repository's own package.json and lockfiles.
import test from 'ava'
import { execFileSync, spawnSync } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runInNewContext } from 'node:vm'

const root = join(__dirname, '..')
const readJson = (f: string) => JSON.parse(readFileSync(f, 'utf8'))
const rootPkg = readJson(join(root, 'package.json'))

// napi target -> npm/<dir>, and the os/cpu/libc npm matches it with.
const PLATFORMS: Record<string, { dir: string; os: string; cpu: string; libc?: string }> = {
  'x86_64-unknown-linux-gnu': { dir: 'linux-x64-gnu', os: 'linux', cpu: 'x64', libc: 'glibc' },
  'aarch64-unknown-linux-gnu': { dir: 'linux-arm64-gnu', os: 'linux', cpu: 'arm64', libc: 'glibc' },
  'x86_64-unknown-linux-musl': { dir: 'linux-x64-musl', os: 'linux', cpu: 'x64', libc: 'musl' },
  'aarch64-unknown-linux-musl': { dir: 'linux-arm64-musl', os: 'linux', cpu: 'arm64', libc: 'musl' },
  'x86_64-apple-darwin': { dir: 'darwin-x64', os: 'darwin', cpu: 'x64' },
  'aarch64-apple-darwin': { dir: 'darwin-arm64', os: 'darwin', cpu: 'arm64' },
  'x86_64-pc-windows-msvc': { dir: 'win32-x64-msvc', os: 'win32', cpu: 'x64' },
}

const VERSIONED = ['package.json', 'package-lock.json', 'Cargo.toml', 'Cargo.lock', 'crates/flaxen-core/Cargo.toml', 'crates/node-api/Cargo.toml']

// A copy of what the release scripts read and write (no node_modules, no binaries).
function copyTree(): string {
  const dir = mkdtempSync(join(tmpdir(), 'flaxen-release-'))
  for (const f of VERSIONED) cpSync(join(root, f), join(dir, f))
  cpSync(join(root, 'npm'), join(dir, 'npm'), { recursive: true })
  mkdirSync(join(dir, 'scripts'))
  for (const f of ['release-version.mjs', 'pack-all.mjs']) cpSync(join(root, 'scripts', f), join(dir, 'scripts', f))
  return dir
}

const npmDirs = (dir: string) => readdirSync(join(dir, 'npm')).filter((d) => existsSync(join(dir, 'npm', d, 'package.json'))).sort()

test('release:version sets every version in lockstep and changes nothing else (on a copy)', (t) => {
  const dir = copyTree()
  try {
    const before = new Map<string, string>()
    const files = [...VERSIONED, ...npmDirs(dir).map((d) => `npm/${d}/package.json`)]
    for (const f of files) before.set(f, readFileSync(join(dir, f), 'utf8'))
    const old = rootPkg.version as string
    const next = '9.8.7-rc.1'

    // Through the npm script, as a release runs it.
    const out = execFileSync('npm', ['run', '--silent', 'release:version', '--', next], { cwd: dir, encoding: 'utf8' })
    t.regex(out, new RegExp(`package\\.json: ${old.replace(/\./g, '\\.')} -> ${next.replace(/\./g, '\\.')}`))

    t.is(readJson(join(dir, 'package.json')).version, next)
    for (const d of npmDirs(dir)) t.is(readJson(join(dir, 'npm', d, 'package.json')).version, next, `npm/${d}`)
    const lock = readJson(join(dir, 'package-lock.json'))
    t.is(lock.version, next)
    t.is(lock.packages[''].version, next)
    t.is(lock.packages.bench.version, '0.0.0', 'the private bench package keeps its own version')
    for (const f of ['Cargo.toml', 'crates/flaxen-core/Cargo.toml', 'crates/node-api/Cargo.toml']) {
      t.regex(readFileSync(join(dir, f), 'utf8'), new RegExp(`\\[package\\]\\nname = "[^"]+"\\nversion = "${next.replace(/\./g, '\\.')}"`), f)
    }
    const cargoLock = readFileSync(join(dir, 'Cargo.lock'), 'utf8')
    for (const name of ['flaxen-node', 'flaxen-core', 'node-api']) {
      t.true(cargoLock.includes(`[[package]]\nname = "${name}"\nversion = "${next}"\n`), `Cargo.lock ${name}`)
    }
    // Only version lines moved: putting the old version back gives the files byte for byte.
    for (const f of files) {
      const now = readFileSync(join(dir, f), 'utf8')
      t.not(now, before.get(f), `${f} changed`)
      t.is(now.split(next).join(old), before.get(f)!, `${f}: nothing but the version changed`)
    }
    t.regex(execFileSync(process.execPath, ['scripts/release-version.mjs', '--check'], { cwd: dir, encoding: 'utf8' }), /all versions are 9\.8\.7-rc\.1/)

    // A bad version is refused before anything is written.
    const bad = spawnSync(process.execPath, ['scripts/release-version.mjs', '1.2'], { cwd: dir, encoding: 'utf8' })
    t.is(bad.status, 1)
    t.regex(bad.stderr, /E_VERSION_ARG/)
    t.is(readJson(join(dir, 'package.json')).version, next)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('--check and pack-all fail loudly when one platform package lags (on a copy)', (t) => {
  const dir = copyTree()
  try {
    const f = join(dir, 'npm', 'linux-arm64-musl', 'package.json')
    writeFileSync(f, readFileSync(f, 'utf8').replace(`"version": "${rootPkg.version}"`, '"version": "0.0.1"'))
    const check = spawnSync(process.execPath, ['scripts/release-version.mjs', '--check'], { cwd: dir, encoding: 'utf8' })
    t.is(check.status, 1)
    t.regex(check.stderr, /E_VERSION_MISMATCH/)
    t.regex(check.stderr, /npm\/linux-arm64-musl\/package\.json: 0\.0\.1/)

    // pack-all refuses before it touches ./pack (so nothing is packed from the copy).
    mkdirSync(join(dir, 'pack'))
    writeFileSync(join(dir, 'pack', 'earlier.tgz'), '')
    const pack = spawnSync(process.execPath, ['scripts/pack-all.mjs'], { cwd: dir, encoding: 'utf8' })
    t.not(pack.status, 0)
    t.regex(pack.stderr, /code: 'E_VERSION_MISMATCH'/)
    t.regex(pack.stderr, /npm\/linux-arm64-musl 0\.0\.1/)
    t.true(existsSync(join(dir, 'pack', 'earlier.tgz')))

    // A release packs only with a binary for every platform package.
    execFileSync(process.execPath, ['scripts/release-version.mjs', rootPkg.version], { cwd: dir })
    const all = spawnSync(process.execPath, ['scripts/pack-all.mjs', '--require-all'], { cwd: dir, encoding: 'utf8' })
    t.not(all.status, 0)
    t.regex(all.stderr, /code: 'E_MISSING_BINARY'/)
    t.regex(all.stderr, /flaxen\.win32-x64-msvc\.node/)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('in the repository now, every version agrees', (t) => {
  const r = spawnSync(process.execPath, ['scripts/release-version.mjs', '--check'], { cwd: root, encoding: 'utf8' })
  t.is(r.status, 0, r.stderr)
  t.is(r.stdout.trim(), `all versions are ${rootPkg.version}`)
})

test('every napi target has a platform package with matching os/cpu/libc, and nothing else does', (t) => {
  t.deepEqual([...rootPkg.napi.targets].sort(), Object.keys(PLATFORMS).sort())
  t.deepEqual(npmDirs(root), Object.values(PLATFORMS).map((p) => p.dir).sort())
  for (const [target, p] of Object.entries(PLATFORMS)) {
    const pkg = readJson(join(root, 'npm', p.dir, 'package.json'))
    const binary = `flaxen.${p.dir}.node`
    t.is(pkg.name, `flaxen-${p.dir}`)
    t.is(pkg.main, binary)
    t.deepEqual(pkg.files, [binary], `${p.dir}: publishes the binary only`)
    t.deepEqual(pkg.os, [p.os], `${p.dir} os`)
    t.deepEqual(pkg.cpu, [p.cpu], `${p.dir} cpu`)
    t.deepEqual(pkg.libc, p.libc ? [p.libc] : undefined, `${p.dir} libc`)
    t.deepEqual(pkg.engines, rootPkg.engines)
    t.is(pkg.license, rootPkg.license)
    t.true(readFileSync(join(root, 'npm', p.dir, 'README.md'), 'utf8').includes(`**${target}**`), `${p.dir} README names ${target}`)
  }
})

// index.js run with a stand-in `process` and `require`: which platform package it asks for.
function loaderChoice(platform: string, arch: string, libc?: 'glibc' | 'musl', withLdd = true, modules: Record<string, unknown> = {}): string[] {
  const src = readFileSync(join(root, 'index.js'), 'utf8')
  const fakeFs = {
    existsSync: () => false,
    readFileSync: (p: string) => {
      if (p === '/usr/bin/ldd' && withLdd) return libc === 'musl' ? '#!/bin/sh\nexec /lib/ld-musl-x86_64.so.1 --list "$@"\n' : '#!/bin/bash\n# GNU C Library\n'
      throw Object.assign(new Error(`ENOENT: ${p}`), { code: 'ENOENT' })
    },
  }
  const fakeRequire = (id: string) => {
    if (id === 'node:fs') return fakeFs
    if (id === 'node:path') return require('node:path')
    if (id in modules) return modules[id]
    throw Object.assign(new Error(`Cannot find module '${id}'`), { code: 'MODULE_NOT_FOUND' })
  }
  const fakeProcess = {
    platform,
    arch,
    report: { getReport: () => ({ header: libc === 'glibc' ? { glibcVersionRuntime: '2.36' } : {} }) },
  }
  const module = { exports: {} }
  try {
    runInNewContext(`(function (require, module, exports, __dirname, process) {${src}\n})`, { Error })(fakeRequire, module, module.exports, '/pkg', fakeProcess)
  } catch (e: any) {
    if (e.code !== 'E_NO_NATIVE_BINDING') throw e
    return e.tried
  }
  throw new Error('the loader loaded something from nothing')
}

test('the loader asks for each platform package by its npm/ name (musl detected with or without ldd)', (t) => {
  for (const p of Object.values(PLATFORMS)) {
    const libc = p.libc as 'glibc' | 'musl' | undefined
    const tried = loaderChoice(p.os, p.cpu, libc)
    t.is(tried.length, 2)
    t.true(tried[0].startsWith(`/pkg/flaxen.${p.dir}.node: not found`), tried[0])
    t.true(tried[1].startsWith(`flaxen-${p.dir}: `), tried[1])
    if (libc) t.true(loaderChoice(p.os, p.cpu, libc, false)[1].startsWith(`flaxen-${p.dir}: `), `${p.dir} without /usr/bin/ldd`)
  }
  // A platform package of another version is refused, naming the one to install.
  const stale = loaderChoice('linux', 'x64', 'glibc', true, {
    './package.json': { version: '1.2.0' },
    'flaxen-linux-x64-gnu/package.json': { version: '1.1.0' },
    'flaxen-linux-x64-gnu': { loaded: true },
  })
  t.is(stale[1], 'flaxen-linux-x64-gnu: version 1.1.0, but flaxen is 1.2.0: install flaxen-linux-x64-gnu@1.2.0')
})

test('the README deployment recipe names a package, files, scripts and variables that exist', (t) => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8')
  const start = readme.indexOf('\n## Deploying')
  t.true(start > readme.indexOf('\n## Serving'), '"Deploying" follows the serving section')
  const section = readme.slice(start, readme.indexOf('\n## ', start + 1))
  const blocks = [...section.matchAll(/```(\w+)[^\n]*\n([\s\S]*?)```/g)].map((m) => ({ lang: m[1], body: m[2] }))
  const dockerfile = blocks.find((b) => b.lang === 'dockerfile')?.body
  t.truthy(dockerfile, 'a ```dockerfile block')
  if (!dockerfile) return

  const from = dockerfile.match(/^FROM (\S+)/m)?.[1]
  t.is(from, 'node:20-bookworm-slim')
  // The base image's Node satisfies engines (>=20) and its glibc (bookworm: 2.36) the gnu build's.
  t.is(rootPkg.engines.node, '>=20')
  // Files it copies are the ones the section writes out (each block's first line names it).
  for (const m of dockerfile.matchAll(/^COPY (?!--)(.+) \S+$/gm)) {
    for (const f of m[1].split(/\s+/)) {
      if (!/\.m?js$/.test(f)) continue // package.json, the lockfile and the weights are the service's own
      t.true(blocks.some((b) => b.body.startsWith(`// ${f}\n`)), `${f} is written out in the section`)
    }
  }
  t.regex(dockerfile, /npm ci --omit=dev/)
  const cmd = dockerfile.match(/^CMD \[(.+)\]$/m)?.[1]
  t.truthy(cmd)
  t.true(blocks.some((b) => b.body.startsWith(`// ${JSON.parse(`[${cmd}]`)[1]}\n`)), 'CMD runs a file the section writes out')

  // The install line in the section installs this package and names its linux platform package.
  t.regex(section, new RegExp(`npm install ${rootPkg.name}\\b`))
  t.true(section.includes(`flaxen-${PLATFORMS['x86_64-unknown-linux-gnu'].dir}`))
  // The thread variable is the one the binding reads; the cluster code sets it per worker.
  const threadVar = readFileSync(join(root, 'crates', 'flaxen-core', 'src', 'par.rs'), 'utf8').match(/var\("(FLAXEN_NUM_THREADS)"\)/)?.[1]
  t.is(threadVar, 'FLAXEN_NUM_THREADS')
  const cluster = blocks.find((b) => /node:cluster/.test(b.body))?.body ?? ''
  t.regex(cluster, /FLAXEN_NUM_THREADS/)
  // What the JS blocks import from flaxen is exported.
  const exported = readFileSync(join(root, 'ts', 'index.ts'), 'utf8')
  for (const b of blocks) {
    for (const m of b.body.matchAll(/import \{([^}]+)\} from 'flaxen'/g)) {
      for (const name of m[1].split(',').map((s) => s.trim().replace(/^type /, '')).filter(Boolean)) {
        t.regex(exported, new RegExp(`\\b${name}\\b`), `flaxen exports ${name}`)
      }
    }
  }
  t.regex(section, /RSS per extra worker, measured here/, 'the measured memory per worker')
})

test('the Windows import-library .def names node.exe and every Node-API symbol the built addon imports', (t) => {
  const def = execFileSync(process.execPath, ['scripts/node-api-def.mjs'], { cwd: root, encoding: 'utf8' })
  const lines = def.trimEnd().split('\n')
  t.deepEqual(lines.slice(0, 2), ['LIBRARY node.exe', 'EXPORTS'])
  const exported = new Set(lines.slice(2).map((l) => l.trim()))
  t.true(exported.size > 50)
  const binary = readdirSync(root).find((f) => /^flaxen\.linux-.*\.node$/.test(f))
  if (!binary || spawnSync('sh', ['-c', 'command -v objdump']).status !== 0) return t.log('no linux binary or objdump here: import list not compared')
  // The addon's undefined dynamic symbols are its imports from node.
  const imports = execFileSync('objdump', ['-T', join(root, binary)], { encoding: 'utf8' })
    .split('\n')
    .filter((l) => l.includes('*UND*'))
    .map((l) => l.trim().split(/\s+/).pop()!)
    .filter((n) => /^(napi|node_api)_/.test(n))
  t.true(imports.length > 20)
  t.deepEqual(imports.filter((n) => !exported.has(n)), [])
})
