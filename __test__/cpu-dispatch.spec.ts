// CPU dispatch: every kernel with an AVX-512 or AVX2 version also runs, and agrees, on CPUs
// without them. FLAXEN_CPU forces each fallback level on this machine; qemu-user with a CPU
// model that lacks AVX-512 (Haswell) or AVX2 (Nehalem) proves that detection picks the right
// level and that no wider instruction runs outside the dispatch (qemu's TCG has no AVX-512 at
// all, so one would be an illegal instruction). `.ci/run` installs qemu-user and sets
// FLAXEN_REQUIRE_QEMU, so CI cannot skip that half.
import test from 'ava'
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { cpuLevel } from '../ts/index'

const battery = join(__dirname, 'fixtures', 'cpu-battery.cjs')

interface Battery {
  level: string
  results: Record<string, { exact: boolean; values: number[] }>
}

function run(env: Record<string, string>, prefix: string[] = []): Battery {
  const cmd = [...prefix, process.execPath, battery]
  const r = spawnSync(cmd[0], cmd.slice(1), { env: { ...process.env, FLAXEN_CPU: '', ...env }, encoding: 'utf8', maxBuffer: 1 << 28, timeout: 600_000 })
  if (r.status !== 0) throw new Error(`${cmd.join(' ')} (${JSON.stringify(env)}) exited ${r.status ?? r.signal}:\n${r.stderr.slice(-2000)}`)
  return JSON.parse(r.stdout) as Battery
}

/** Asserts `got` equals `ref`: bit for bit where exact, else within 2e-5 of the largest |value|. */
function agree(t: import('ava').ExecutionContext, got: Battery, ref: Battery, label: string) {
  t.deepEqual(Object.keys(got.results), Object.keys(ref.results))
  for (const [name, r] of Object.entries(ref.results)) {
    const g = got.results[name].values
    t.is(g.length, r.values.length, `${label} ${name}: length`)
    if (r.exact) {
      t.deepEqual(g, r.values, `${label} ${name}: the same bits at every level`)
      continue
    }
    const scale = Math.max(...r.values.map(Math.abs))
    let worst = 0
    for (let i = 0; i < g.length; i++) worst = Math.max(worst, Math.abs(g[i] - r.values[i]))
    t.true(Number.isFinite(worst) && worst <= 2e-5 * scale, `${label} ${name}: max |diff| ${worst} vs scale ${scale}`)
  }
}

let widest: Battery | undefined
const reference = () => (widest ??= run({}))

test('this machine runs the widest level, and FLAXEN_CPU only lowers it', (t) => {
  t.is(cpuLevel() as string, reference().level)
  t.true((['avx512', 'avx2', 'baseline'] as string[]).includes(reference().level))
})

for (const level of ['avx2', 'baseline'] as const) {
  test(`FLAXEN_CPU=${level}: every kernel family agrees with the widest level`, (t) => {
    const got = run({ FLAXEN_CPU: level })
    const order = ['baseline', 'avx2', 'avx512']
    t.is(got.level, order[Math.min(order.indexOf(level), order.indexOf(reference().level))])
    agree(t, got, reference(), `FLAXEN_CPU=${level}`)
  })
}

test('FLAXEN_NO_SIMD still means baseline', (t) => {
  t.is(run({ FLAXEN_NO_SIMD: '1' }).level, 'baseline')
})

test('a bad FLAXEN_CPU fails the load, naming the variable and the values it takes', (t) => {
  const r = spawnSync(process.execPath, ['-e', "try { require('./dist/index.js') } catch (e) { console.log(e.message); process.exit(3) }"], {
    cwd: join(__dirname, '..'),
    env: { ...process.env, FLAXEN_CPU: 'avx9000' },
    encoding: 'utf8',
  })
  t.is(r.status, 3, r.stderr)
  t.regex(r.stdout, /FLAXEN_CPU: expected one of baseline, avx2, avx512, native, got "avx9000"/)
})

const qemu = spawnSync('sh', ['-c', 'command -v qemu-x86_64'], { encoding: 'utf8' }).stdout.trim()
const requireQemu = process.env.FLAXEN_REQUIRE_QEMU === '1'
const qemuTest = qemu || requireQemu ? test : test.skip

// Haswell has AVX2, FMA and F16C but no AVX-512; Nehalem stops at SSE4.2.
for (const [model, level] of [
  ['Haswell-v4', 'avx2'],
  ['Nehalem', 'baseline'],
] as const) {
  qemuTest(`under qemu -cpu ${model} (no ${level === 'avx2' ? 'AVX-512' : 'AVX2'}): detected as ${level}, no illegal instruction, same results`, (t) => {
    t.truthy(qemu, 'qemu-x86_64 is required here (FLAXEN_REQUIRE_QEMU=1): apt-get install qemu-user')
    const got = run({}, [qemu, '-cpu', model])
    t.is(got.level, level)
    agree(t, got, reference(), `qemu -cpu ${model}`)
  })
}
