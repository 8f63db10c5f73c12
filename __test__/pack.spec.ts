import test from 'ava'
import { execFileSync, spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'

const root = join(__dirname, '..')

test('pack-all tarballs install into an empty folder without Rust, both require and import work, traces show the TypeScript', (t) => {
  execFileSync('npm', ['run', '--silent', 'pack-all'], { cwd: root, stdio: 'pipe' })
  const tarballs = readdirSync(join(root, 'pack')).filter((f) => f.endsWith('.tgz'))
  t.true(tarballs.includes('flaxen-0.1.0.tgz'))
  t.true(tarballs.some((f) => /^flaxen-linux-x64-gnu-.*\.tgz$/.test(f)))
  // The bench harness is a private workspace package: nothing of it is published (the flaxen
  // command is, for `flaxen inspect`).
  const files = execFileSync('tar', ['-tzf', join(root, 'pack', 'flaxen-0.1.0.tgz')], { encoding: 'utf8' }).split('\n').filter(Boolean)
  t.true(files.includes('package/dist/index.js'))
  t.deepEqual(files.filter((f) => /bench/.test(f)), [])
  t.true(files.includes('package/dist/cli.js'), 'the flaxen command (inspect) is published')

  const dir = mkdtempSync(join(tmpdir(), 'flaxen-install-'))
  try {
    // node and npm only: no cargo/rustc on this PATH
    const env = { ...process.env, PATH: [dirname(process.execPath), '/usr/bin', '/bin'].join(':') }
    t.not(spawnSync('sh', ['-c', 'command -v cargo'], { env }).status, 0, 'cargo must not be reachable')
    writeFileSync(join(dir, 'package.json'), '{"name":"consumer","version":"1.0.0","private":true}')
    execFileSync('npm', ['install', '--no-audit', '--no-fund', ...tarballs.map((f) => join(root, 'pack', f))], { cwd: dir, env, stdio: 'pipe' })
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
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
