import test from 'ava'
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { execFileSync, spawn, spawnSync } from 'node:child_process'
import { tmpdir } from 'node:os'
import { request } from 'node:http'
import { createServer as createNetServer, type AddressInfo } from 'node:net'
import { dirname, join } from 'node:path'

const root = join(__dirname, '..')
const rootPkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
const version: string = rootPkg.version
const rootTarball = `flaxen-${version}.tgz`
const linuxTarball = `flaxen-linux-x64-gnu-${version}.tgz`
// The install budget of the root package plus the linux x64 platform package, in npm's units
// (npm's "unpacked size" counts 1 MB as 10^6 bytes).
const INSTALLED_BUDGET = 8_000_000

// node and npm only: no cargo/rustc on this PATH
const env = { ...process.env, PATH: [dirname(process.execPath), '/usr/bin', '/bin'].join(':') }

// One pack and one install, shared by the tests below (each of which only reads them).
let tarballs: string[] = []
let installDir = ''
test.before(() => {
  execFileSync('npm', ['run', '--silent', 'pack-all'], { cwd: root, stdio: 'pipe' })
  tarballs = readdirSync(join(root, 'pack')).filter((f) => f.endsWith('.tgz'))
  installDir = mkdtempSync(join(tmpdir(), 'flaxen-install-'))
  writeFileSync(join(installDir, 'package.json'), '{"name":"consumer","version":"1.0.0","private":true}')
  execFileSync('npm', ['install', '--no-audit', '--no-fund', ...tarballs.map((f) => join(root, 'pack', f))], { cwd: installDir, env, stdio: 'pipe' })
})
test.after.always(() => {
  if (installDir) rmSync(installDir, { recursive: true, force: true })
})

const tarList = (tgz: string) => execFileSync('tar', ['-tzf', join(root, 'pack', tgz)], { encoding: 'utf8' }).split('\n').filter(Boolean)

test.serial('pack-all tarballs install into an empty folder without Rust, both require and import work, traces show the TypeScript', (t) => {
  t.true(tarballs.includes(rootTarball))
  t.true(tarballs.includes(linuxTarball))
  // The bench harness is a private workspace package: nothing of it is published (the flaxen
  // command is, for `flaxen inspect`).
  const files = tarList(rootTarball)
  t.true(files.includes('package/dist/index.js'))
  t.deepEqual(files.filter((f) => /bench/.test(f)), [])
  t.true(files.includes('package/dist/cli.js'), 'the flaxen command (inspect) is published')

  const dir = installDir
  t.not(spawnSync('sh', ['-c', 'command -v cargo'], { env }).status, 0, 'cargo must not be reachable')
  const cjs = execFileSync(process.execPath, ['-e', "const { jnp } = require('flaxen'); console.log(jnp.matmul(jnp.ones([2, 3]), jnp.ones([3, 2])).toArray().flat().join(','))"], { cwd: dir, env, encoding: 'utf8' })
  t.is(cjs.trim(), '3,3,3,3')
  writeFileSync(join(dir, 'esm.mjs'), "import { jnp, nn, random } from 'flaxen'\nconst v = new nn.Dense({ features: 2 }).init(random.key(0), jnp.ones([1, 3]))\nconsole.log(v.params.kernel.shape.join('x'), jnp.sum(jnp.ones([4])).item())\n")
  const esm = execFileSync(process.execPath, ['esm.mjs'], { cwd: dir, env, encoding: 'utf8' })
  t.is(esm.trim(), '3x2 4')

  // Stack traces of the installed package point at readable TypeScript: the maps carry the
  // sources (the ts/ folder is not shipped), and Node shows the original line.
  const dist = join(dir, 'node_modules', 'flaxen', 'dist')
  const maps = readdirSync(dist, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.js.map'))
  t.true(maps.length > 10)
  for (const f of maps) {
    const map = JSON.parse(readFileSync(join(dist, f), 'utf8'))
    t.true(map.sourcesContent?.length === map.sources.length && map.sourcesContent.every((c: unknown) => typeof c === 'string' && c.length > 0), `${f}: sourcesContent`)
  }
  const thrown = spawnSync(process.execPath, ['--enable-source-maps', '-e', "require('flaxen').jnp.reshape(require('flaxen').jnp.ones([2, 3]), [7])"], { cwd: dir, env, encoding: 'utf8' })
  // The stack starts at the TypeScript line that made the failing native call (the loader's
  // wrapper, which throws what native calls return, is left out of it).
  const top = thrown.stderr.split('\n').find((l) => /^\s+at /.test(l)) ?? ''
  const at = top.match(/[/\\]flaxen[/\\]ts[/\\](.+\.ts):(\d+):\d+\)$/)
  t.truthy(at, thrown.stderr)
  t.regex(readFileSync(join(root, 'ts', at![1]), 'utf8').split('\n')[Number(at![2]) - 1], /op1\(RESHAPE/, thrown.stderr)
  t.regex(thrown.stderr, /at .*[/\\]flaxen[/\\]ts[/\\]jnp\.ts:\d+:\d+/)
})

test.serial(`installed size of flaxen + flaxen-linux-x64-gnu is at most ${INSTALLED_BUDGET / 1e6} MB`, (t) => {
  const parts = ['flaxen', 'flaxen-linux-x64-gnu'].map((p) => join(installDir, 'node_modules', p))
  // du -sb: apparent size in bytes (what the files hold, not the blocks they take).
  const sizes = execFileSync('du', ['-sb', ...parts], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .map((l) => Number(l.split('\t')[0]))
  const total = sizes[0] + sizes[1]
  const detail = execFileSync('du', ['-sb', ...['dist', 'README.md', 'index.js', 'index.d.ts'].map((f) => join(parts[0], f))], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .map((l) => `${l.split('\t')[1].slice(parts[0].length + 1)} ${l.split('\t')[0]}`)
    .join(', ')
  const msg = `installed size: ${total} bytes (${(total / 1e6).toFixed(2)} MB) = flaxen ${sizes[0]} (${detail}) + flaxen-linux-x64-gnu ${sizes[1]}; budget ${INSTALLED_BUDGET}`
  t.log(msg)
  console.log(msg)
  t.true(total <= INSTALLED_BUDGET, msg)
})

// `npm publish --dry-run` with a throwaway cache and user config: the registry is an address
// nothing listens on, `--offline` keeps npm from trying it, and the placeholder token only stops
// the "requires you to be logged in" warning (a dry run sends nothing). No npm_config_* of the
// calling npm leaks in.
function dryRun(dir: string) {
  const cfg = mkdtempSync(join(tmpdir(), 'flaxen-npmrc-'))
  try {
    const registry = 'http://127.0.0.1:9/'
    writeFileSync(join(cfg, 'npmrc'), `registry=${registry}\n//127.0.0.1:9/:_authToken=dry-run-placeholder\n`)
    const cleanEnv = Object.fromEntries(Object.entries(env).filter(([k]) => !/^npm_config_/i.test(k)))
    const args = ['publish', '--dry-run', '--ignore-scripts', '--offline', '--json', '--registry', registry, '--userconfig', join(cfg, 'npmrc'), '--cache', join(cfg, 'cache')]
    const r = spawnSync('npm', args, { cwd: dir, env: cleanEnv, encoding: 'utf8', timeout: 60_000 })
    const json = r.status === 0 ? JSON.parse(r.stdout) : {}
    return { status: r.status, stderr: r.stderr, result: Object.values(json)[0] as { name: string; version: string; files: { path: string }[] } | undefined }
  } finally {
    rmSync(cfg, { recursive: true, force: true })
  }
}

// npm checks a manifest (and warns about what it would auto-correct) when it publishes a
// folder, not a tarball; so each tarball is unpacked and published from there, which publishes
// the same files.
function unpack(tgz: string) {
  const dir = mkdtempSync(join(tmpdir(), 'flaxen-dry-'))
  execFileSync('tar', ['-xzf', join(root, 'pack', tgz), '-C', dir])
  return { dir, pkgDir: join(dir, 'package') }
}

const warnings = (stderr: string) => stderr.split('\n').filter((l) => /^npm (warn|error)/i.test(l))

test.serial('npm publish --dry-run of the packed root package is clean and publishes the intended files', (t) => {
  const { dir, pkgDir } = unpack(rootTarball)
  try {
    const r = dryRun(pkgDir)
    t.is(r.status, 0, r.stderr)
    t.deepEqual(warnings(r.stderr), [], 'no npm warnings (invalid or auto-corrected fields)')
    const files = r.result!.files.map((f) => f.path).sort()
    t.is(r.result!.name, 'flaxen')
    t.is(r.result!.version, version)
    t.deepEqual(files, tarList(rootTarball).map((f) => f.replace(/^package\//, '')).sort(), 'the dry run publishes what the tarball holds')
    for (const f of ['package.json', 'README.md', 'index.js', 'index.d.ts', 'dist/index.js', 'dist/index.mjs', 'dist/index.d.ts', 'dist/cli.js']) t.true(files.includes(f), f)
    // No TypeScript sources (the maps carry them), no native binary (the platform packages do),
    // nothing of the repository's bench, tests, scripts, examples or Rust.
    t.deepEqual(files.filter((f) => (f.endsWith('.ts') && !f.endsWith('.d.ts')) || f.endsWith('.node')), [])
    t.deepEqual(files.filter((f) => /^(bench|__test__|scripts|examples|src|crates|ts|npm|target|docs)\//.test(f) || /bench/.test(f)), [])
    t.deepEqual(files.filter((f) => !/^(dist\/|package\.json$|README\.md$|index\.(js|d\.ts)$)/.test(f)), [])

    const manifest = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'))
    t.is(manifest.workspaces, undefined, 'the private workspace is not published')
    t.is(manifest.optionalDependencies['flaxen-linux-x64-gnu'], version)
    for (const v of Object.values<string>(manifest.optionalDependencies)) t.is(v, version, 'platform packages pinned to the same version')
    for (const target of [manifest.main, manifest.types, manifest.bin.flaxen, ...Object.values<string>(manifest.exports['.'])]) {
      t.true(files.includes(target.replace(/^\.\//, '')), `${target} is published`)
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test.serial('npm publish --dry-run of the packed linux-x64-gnu package is clean and holds the binary', (t) => {
  const { dir, pkgDir } = unpack(linuxTarball)
  try {
    const r = dryRun(pkgDir)
    t.is(r.status, 0, r.stderr)
    t.deepEqual(warnings(r.stderr), [])
    t.is(r.result!.name, 'flaxen-linux-x64-gnu')
    t.is(r.result!.version, version)
    t.deepEqual(r.result!.files.map((f) => f.path).sort(), ['README.md', 'flaxen.linux-x64-gnu.node', 'package.json'])
    const manifest = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'))
    t.deepEqual([manifest.os, manifest.cpu, manifest.libc], [['linux'], ['x64'], ['glibc']])
    t.true(readFileSync(join(pkgDir, 'flaxen.linux-x64-gnu.node')).subarray(0, 4).equals(Buffer.from('\x7fELF', 'latin1')))
    // README "Limits": glibc >= 2.17. The newest glibc symbol version the binary asks for.
    if (spawnSync('sh', ['-c', 'command -v objdump']).status === 0) {
      const versions = [...execFileSync('objdump', ['-T', join(pkgDir, 'flaxen.linux-x64-gnu.node')], { encoding: 'utf8' }).matchAll(/GLIBC_(\d+)\.(\d+)/g)]
      const newest = Math.max(...versions.map((m) => Number(m[1]) * 1000 + Number(m[2])))
      t.log(`newest glibc symbol version: ${Math.floor(newest / 1000)}.${newest % 1000}`)
      t.true(newest <= 2017, `needs glibc ${Math.floor(newest / 1000)}.${newest % 1000} (built without --use-napi-cross?)`)
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

// The other platforms' binaries are built by the release workflow, not here. Their manifests
// are dry-run with a placeholder where the binary goes: npm's manifest checks pass, and `files`
// picks up exactly the file the workflow drops in (plus package.json and README.md).
test.serial('npm publish --dry-run of every other platform package (placeholder binary) is clean', (t) => {
  const dirs = readdirSync(join(root, 'npm')).filter((d) => d !== 'linux-x64-gnu')
  t.true(dirs.length >= 6)
  for (const d of dirs) {
    const dir = mkdtempSync(join(tmpdir(), `flaxen-dry-${d}-`))
    try {
      cpSync(join(root, 'npm', d), dir, { recursive: true })
      writeFileSync(join(dir, `flaxen.${d}.node`), 'placeholder')
      mkdirSync(join(dir, 'stray'))
      writeFileSync(join(dir, 'stray', 'x.node'), 'not published')
      const r = dryRun(dir)
      t.is(r.status, 0, `${d}: ${r.stderr}`)
      t.deepEqual(warnings(r.stderr), [], d)
      t.is(r.result?.name, `flaxen-${d}`)
      t.is(r.result?.version, version)
      t.deepEqual(r.result?.files.map((f) => f.path).sort(), ['README.md', `flaxen.${d}.node`, 'package.json'], d)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }
})

// The README's "Deploying" cluster.mjs and server.mjs, as written there, against the installed
// tarballs: two workers of one thread each answer, and SIGTERM to the primary stops them all.
// (The Dockerfile around them is not built here: no Docker engine.)
function readmeFile(name: string): string {
  const readme = readFileSync(join(root, 'README.md'), 'utf8')
  const section = readme.slice(readme.indexOf('\n## Deploying'))
  const block = [...section.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1]).find((b) => b.startsWith(`// ${name}\n`))
  if (!block) throw new Error(`README "Deploying" has no ${name} block`)
  return block
}

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createNetServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo
      s.close(() => resolve(port))
    })
  })

// One request on a fresh connection (cluster hands each connection to the next worker).
const call = (port: number, path: string, body?: string) =>
  new Promise<{ status: number; json: any }>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: body ? 'POST' : 'GET', agent: false }, (res) => {
      let data = ''
      res.setEncoding('utf8')
      res.on('data', (c) => (data += c))
      res.on('end', () => resolve({ status: res.statusCode!, json: JSON.parse(data) }))
    })
    req.on('error', reject)
    req.end(body)
  })

const rssKb = (pid: number) => {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const field = (k: string) => Number(status.match(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm'))?.[1])
  return { rss: field('VmRSS'), anon: field('RssAnon'), file: field('RssFile') }
}

test.serial("the README's cluster.mjs + server.mjs serve from the installed package with N workers and stop on SIGTERM", async (t) => {
  t.timeout(90_000)
  writeFileSync(join(installDir, 'cluster.mjs'), readmeFile('cluster.mjs'))
  writeFileSync(join(installDir, 'server.mjs'), readmeFile('server.mjs'))
  const port = await freePort()
  const child = spawn(process.execPath, ['cluster.mjs'], {
    cwd: installDir,
    env: { ...env, PORT: String(port), CORES: '2', FLAXEN_NUM_THREADS: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout.on('data', (c) => (output += c))
  child.stderr.on('data', (c) => (output += c))
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  try {
    const pids = new Set<number>()
    const deadline = Date.now() + 60_000
    while (pids.size < 2 && Date.now() < deadline) {
      try {
        const h = await call(port, '/healthz')
        t.is(h.json.status, 'ok')
        t.is(h.json.threads, 1, 'FLAXEN_NUM_THREADS reached the worker')
        pids.add(h.json.pid)
      } catch {
        await new Promise((r) => setTimeout(r, 200))
      }
    }
    t.is(pids.size, 2, `two workers answered (2 cores / 1 thread): ${output}`)
    t.regex(output, /2 workers × 1 threads \(2 cores\)/)
    const image = JSON.stringify({ image: Array.from({ length: 64 }, (_, i) => i / 64) })
    const answers = await Promise.all(Array.from({ length: 8 }, () => call(port, '/v1/digits', image)))
    for (const a of answers) {
      t.is(a.status, 200)
      t.is(a.json.logits.length, 10)
    }
    // Same weights in every worker (same key); batches of other sizes round differently.
    for (const a of answers) t.true(a.json.logits.every((v: number, i: number) => Math.abs(v - answers[0].json.logits[i]) < 1e-4), 'every worker computes the same')
    const bad = await call(port, '/v1/digits', '{')
    t.is(bad.status, 400)
    // Reported, not asserted (the README's "RSS per extra worker" table is measured with a model).
    const mem = [...pids].map((pid) => ({ pid, ...rssKb(pid) }))
    const primary = rssKb(child.pid!)
    const msg = `RSS per worker (kB): ${mem.map((m) => `${m.rss} (anon ${m.anon}, file ${m.file})`).join('; ')}; primary ${primary.rss}`
    t.log(msg)
    console.log(msg)
    child.kill('SIGTERM')
    t.is(await exited, 0, output)
  } finally {
    child.kill('SIGKILL')
  }
})
