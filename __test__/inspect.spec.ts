// `flaxen inspect FILE` (dist/cli.js, the published command) on the golden weights files: the
// tree of paths with shapes, dtypes and bytes, totals, --json, and clear errors for bad files.
import test from 'ava'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const root = join(__dirname, '..')
const DIR = join(__dirname, 'golden', 'weights')
const manifest = JSON.parse(readFileSync(join(DIR, 'manifest.json'), 'utf8'))
const run = (...args: string[]) => spawnSync(process.execPath, [join(root, 'dist', 'cli.js'), ...args], { encoding: 'utf8' })

/** Every array of a manifest tree: [path, dtype, shape]. */
function arrays(tree: any, path = ''): [string, string, number[]][] {
  const [kind, v] = Object.entries(tree)[0] as [string, any]
  if (kind === 'map') return v.flatMap(([k, sub]: [string, any]) => arrays(sub, path === '' ? k : `${path}/${k}`))
  if (kind === 'list') return v.flatMap((sub: any, i: number) => arrays(sub, path === '' ? String(i) : `${path}/${i}`))
  if (kind === 'ndarray') return [[path, v.dtype, v.shape]]
  return []
}

test('inspect --json lists every array of a Flax msgpack file (HF flax_model.msgpack) with totals, loading no values', (t) => {
  const f = manifest.files.find((x: any) => x.path === 'flax_model.msgpack')
  const r = run('inspect', join(DIR, f.path), '--json')
  t.is(r.status, 0, r.stderr)
  const report = JSON.parse(r.stdout)
  t.is(report.format, 'msgpack')
  const want = arrays(f.tree)
  t.deepEqual(report.entries.map((e: any) => [e.path, e.dtype, e.shape]), want)
  const params = want.reduce((s, [, , shape]) => s + shape.reduce((a, d) => a * d, 1), 0)
  t.is(report.totals.parameters, params)
  t.is(report.totals.bytes, params * 4)
  t.deepEqual(report.totals.bytesByDtype, { float32: params * 4 })
})

test('inspect of a safetensors file reads only its header: names, dtypes, shapes, bytes, metadata; the text tree', (t) => {
  const f = manifest.files.find((x: any) => x.path === 'st_torch.safetensors')
  const r = run('inspect', join(DIR, f.path), '--json')
  t.is(r.status, 0, r.stderr)
  const report = JSON.parse(r.stdout)
  t.is(report.format, 'safetensors')
  t.deepEqual(report.metadata, { format: 'pt' })
  t.deepEqual(
    report.entries.map((e: any) => [e.path, e.shape, e.bytes]),
    f.tensors.map((x: any) => [x.name, x.shape, x.data_offsets[1] - x.data_offsets[0]]),
  )
  const text = run('inspect', join(DIR, f.path))
  t.is(text.status, 0)
  t.regex(text.stdout, /^safetensors: \d+ arrays, [\d,]+ parameters/)
  t.regex(text.stdout, /\n  conv\n    bias  float32\[3\]  12 B\n    weight  float32\[3, 2, 3, 3\]  216 B\n/)
  t.regex(text.stdout, /metadata: \{"format":"pt"\}/)
})

test('inspect names what is wrong in a malformed file, with its code, and exits 1; usage errors exit 2', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'flaxen-inspect-'))
  try {
    const bad = join(dir, 'bad.safetensors')
    const good = readFileSync(join(DIR, 'st_flax.safetensors'))
    writeFileSync(bad, good.subarray(0, good.length - 3)) // truncated data
    const r = run('inspect', bad)
    t.is(r.status, 1)
    t.regex(r.stderr, /^flaxen inspect: .*bad\.safetensors: safetensors: .* \[E_SAFETENSORS_\w+\]/)
    const junk = join(dir, 'junk.msgpack')
    writeFileSync(junk, Buffer.from([0x92, 0x01]))
    t.regex(run('inspect', junk).stderr, /\[E_MSGPACK_TRUNCATED\]/)
    t.regex(run('inspect', join(dir, 'missing')).stderr, /\[ENOENT\]/)
    t.is(run('inspect').status, 2)
    t.is(run('frobnicate').status, 2)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('inside the repository, `flaxen` (the bench workspace\'s bin) runs both `flaxen inspect` and `flaxen bench`', (t) => {
  // (npm links either this bin or the root package's dist/cli.js as `flaxen`; both dispatch)
  const bin = join(root, 'bench', 'bin', 'flaxen.js')
  const inspect = spawnSync(process.execPath, [bin, 'inspect', join(DIR, 'st_empty_metadata.safetensors'), '--json'], { encoding: 'utf8' })
  t.is(inspect.status, 0, inspect.stderr)
  t.deepEqual(JSON.parse(inspect.stdout).entries, [{ path: 'x', shape: [3], dtype: 'float32', bytes: 12 }])
  const bench = spawnSync(process.execPath, [bin, 'bench', '--help'], { encoding: 'utf8' })
  // the published command delegates `bench` to the flaxen-bench workspace package
  t.regex(spawnSync(process.execPath, [join(root, 'dist', 'cli.js'), 'bench', '--help'], { encoding: 'utf8' }).stdout, /Usage: flaxen bench/)
  t.regex(bench.stdout, /Usage: flaxen bench/)
})
