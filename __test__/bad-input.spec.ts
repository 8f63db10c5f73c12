import test from 'ava'
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'

import { getMaxBytes, jnp, nn, random, setMaxBytes, tree } from '../ts'

// The generated matrix runs in a child process: a native abort (SIGABRT, "memory allocation of
// N bytes failed") or a stack overflow there is a failed test, not a crashed ava worker.
// `BAD_INPUT_RANDOM` adds seeded random mixes of good and bad arguments (the long variant is
// `npm run test:bad-input`).
interface Report {
  entryPoints: number
  calls: number
  returned: number
  coded: number
  byCode: Record<string, number>
  uncoded: { name: string; args: string; error: string }[]
  baselineFailures: { name: string; args: string; error: string }[]
  slowest: { ms: number; name: string; args: string }
  slowestGroups: string[]
  totalMs: number
}

function runMatrix(env: Record<string, string>): Report {
  const script = join(__dirname, 'helpers', 'bad-input-matrix.ts')
  const r = spawnSync(process.execPath, ['--import=tsx', script], {
    encoding: 'utf8',
    // No call may hang: the whole matrix has a deadline.
    timeout: Number(process.env.BAD_INPUT_TIMEOUT_MS ?? 90_000),
    maxBuffer: 64 << 20,
    env: { ...process.env, FLAXEN_MAX_BYTES: '256M', ...env },
  })
  if (r.error) throw r.error
  if (r.signal !== null || r.status !== 0) {
    throw new Error(`the matrix process died: signal ${r.signal}, status ${r.status}\n${r.stderr.slice(-4000)}`)
  }
  return JSON.parse(r.stdout) as Report
}

test('every public entry point survives the bad-input matrix: no crash, no hang, every error coded', (t) => {
  const extra = process.env.BAD_INPUT_RANDOM ?? '2000'
  const report = runMatrix({ BAD_INPUT_RANDOM: extra, BAD_INPUT_SEED: process.env.BAD_INPUT_SEED ?? '1' })
  t.log(`slowest groups: ${report.slowestGroups.join(', ')}`)
  t.log(`${report.entryPoints} entry points, ${report.calls} calls: ${report.returned} returned, ${report.coded} coded errors ${JSON.stringify(report.byCode)}, ${report.uncoded.length} uncoded; slowest ${report.slowest.ms} ms (${report.slowest.name} ${report.slowest.args}); ${report.totalMs} ms`)
  t.true(report.entryPoints >= 100, `entry points: ${report.entryPoints}`)
  t.true(report.calls >= 9000, `calls: ${report.calls}`)
  t.deepEqual(report.baselineFailures, [], 'every entry point works with its baseline arguments')
  t.deepEqual(report.uncoded, [], 'every error carries a string code')
  t.true(report.slowest.ms < 10_000, `slowest call ${JSON.stringify(report.slowest)}`)
})

test('native errors thrown while tensors are being collected never abort the process', (t) => {
  // A tiny young generation makes GCs (and tensor finalizers) run inside the error paths.
  const script = join(__dirname, 'helpers', 'gc-throw.ts')
  const calls = 100_000
  const r = spawnSync(process.execPath, ['--max-semi-space-size=1', '--import=tsx', script], {
    encoding: 'utf8',
    timeout: 120_000,
    env: { ...process.env, GC_THROW_CALLS: String(calls) },
  })
  t.is(r.signal, null, r.stderr.slice(-4000))
  t.is(r.status, 0, r.stderr.slice(-4000))
  // JS exceptions met inside a native call come back as they were thrown; a non-Error value is
  // the cause of an E_THROWN Error.
  t.deepEqual(JSON.parse(r.stdout), { E_SHAPE: calls, 'from a getter': calls / 16, 'E_THROWN(42)': calls / 16 })
})

test('impossible sizes are RangeErrors with code E_ALLOC under the default cap, and the process lives on', (t) => {
  const allocs: [string, () => unknown][] = [
    ['jnp.zeros([1e6, 1e6])', () => jnp.zeros([1e6, 1e6])],
    ['jnp.eye(3, 2**31) at a 1 GiB cap', () => jnp.eye(3, 2 ** 31)],
    ['nn.initializers.normal at [1e6, 1e6]', () => nn.initializers.normal()(random.key(0), [1e6, 1e6])],
    ['nn.initializers.lecunNormal at [1e6, 1e6]', () => nn.initializers.lecunNormal()(random.key(0), [1e6, 1e6])],
    ['Dense features 2**31 at a 1 GiB cap', () => new nn.Dense({ features: 2 ** 31 }).init(random.key(0), jnp.ones([1, 3]))],
    ['broadcasting add to [1e6, 1e6]', () => jnp.add(jnp.zeros([1e6, 1]), jnp.zeros([1, 1e6]))],
  ]
  const cap = getMaxBytes()
  try {
    for (const [what, f] of allocs) {
      // A machine with more than 24 GiB of RAM could hold the 2**31 cases: a 1 GiB cap makes
      // them impossible everywhere.
      if (what.includes('1 GiB')) setMaxBytes(1 << 30)
      const err = t.throws(f, { instanceOf: RangeError }, what) as (RangeError & { code?: string }) | undefined
      t.is(err?.code, 'E_ALLOC', what)
      t.regex(err?.message ?? '', /needs \d+ bytes, more than the byte cap of \d+ bytes/, what)
      setMaxBytes(cap)
    }
  } finally {
    setMaxBytes(cap)
  }
  // Still alive and allocating.
  t.deepEqual(jnp.zeros([2]).toArray(), [0, 0])
})

test('the byte cap: setMaxBytes/getMaxBytes, FLAXEN_MAX_BYTES, and what it refuses', (t) => {
  const cap = getMaxBytes()
  t.true(cap >= 1 << 20)
  try {
    setMaxBytes(1 << 20)
    t.is(getMaxBytes(), 1 << 20)
    t.deepEqual(jnp.zeros([512, 512]).shape, [512, 512]) // exactly 1 MiB
    const err = t.throws(() => jnp.zeros([513, 512]), { instanceOf: RangeError }) as RangeError & { code: string }
    t.is(err.code, 'E_ALLOC')
    t.is(err.message, 'full: output of shape [513, 512] (float32): needs 1050624 bytes, more than the byte cap of 1048576 bytes (set it with FLAXEN_MAX_BYTES or setMaxBytes)')
    // The JS array behind jnp.array is staged at 8 bytes an element: refused before allocating
    // (a claimed length over 2^20 is refused even earlier, E_ARG).
    const e2 = t.throws(() => jnp.array(new Array(200_000).fill(0)), { instanceOf: RangeError }) as RangeError & { code: string }
    t.is(e2.code, 'E_ALLOC')
    t.is((t.throws(() => jnp.array(new Array(2 ** 32 - 1)), { instanceOf: RangeError }) as RangeError & { code: string }).code, 'E_ARG')
    // random.split makes one small key per output: its bound is on the count (2^20 keys).
    const e3 = t.throws(() => random.split(random.key(0), 2 ** 31)) as Error & { code: string }
    t.is(e3.code, 'E_ARG')
    t.is(e3.message, 'split: n is 2147483648; at most 1048576 keys are made by one split')
    for (const bad of [0, -1, 0.5, NaN, 2 ** 63]) {
      const e = t.throws(() => setMaxBytes(bad), { instanceOf: RangeError }) as RangeError & { code: string }
      t.is(e.code, 'E_ARG', String(bad))
    }
    t.is((t.throws(() => setMaxBytes('1G' as any), { instanceOf: TypeError }) as TypeError & { code: string }).code, 'E_TYPE')
  } finally {
    setMaxBytes(cap)
  }
  t.is(getMaxBytes(), cap)

  const load = (value: string) =>
    spawnSync(process.execPath, ['--import=tsx', '-e', "const f = require('./ts'); process.stdout.write(String(f.getMaxBytes()))"], {
      cwd: join(__dirname, '..'),
      encoding: 'utf8',
      env: { ...process.env, FLAXEN_MAX_BYTES: value },
    })
  const ok = load('64M')
  t.is(ok.status, 0, ok.stderr)
  t.is(ok.stdout, String(64 << 20))
  const bad = load('lots')
  t.not(bad.status, 0)
  t.regex(bad.stderr, /FLAXEN_MAX_BYTES: expected a positive number of bytes/)
})

test('a claimed JS array length is checked before anything is reserved for it', (t) => {
  const x = jnp.ones([2, 3])
  for (const f of [() => jnp.sum(x, new Array(2 ** 32 - 1)), () => jnp.transpose(x, new Array(2 ** 32 - 1)), () => jnp.zeros(new Array(2 ** 32 - 1)), () => random.normal(random.key(0), new Array(2 ** 31))]) {
    const err = t.throws(f, { instanceOf: RangeError }) as RangeError & { code: string }
    t.is(err.code, 'E_ARG')
    t.regex(err.message, /expected an array of at most 1048576 entries, got length \d+/)
  }
  t.throws(() => jnp.concatenate(new Array(2 ** 32 - 1)), { instanceOf: RangeError })
})

test('accepted-but-wrong calls now behave as in JAX/Flax', (t) => {
  // one_hot compares x with each class: a non-integer matches none (JAX), not class 0.
  t.deepEqual(jnp.oneHot(NaN, 3).toArray(), [0, 0, 0])
  t.deepEqual(jnp.oneHot(0.5, 3).toArray(), [0, 0, 0])
  t.deepEqual(jnp.oneHot([2, 0.5, 1], 3).toArray(), [[0, 0, 1], [0, 0, 0], [0, 1, 0]])
  t.deepEqual(jnp.oneHot(-1, 3).toArray(), [0, 0, 0])
  // take: float indices are refused, not truncated to 0.
  const x = jnp.array([[1, 2], [3, 4]])
  const te = t.throws(() => jnp.take(x, 0.5, 1), { instanceOf: TypeError }) as TypeError & { code: string }
  t.is(te.code, 'E_TYPE')
  t.is(te.message, 'take: indices must be integers, got 0.5')
  t.is((t.throws(() => jnp.take(x, [0, NaN], 1)) as Error & { code: string }).message, 'take: indices must be integers, got NaN at flat position 1')
  t.is((t.throws(() => jnp.take(x, 2 ** 31, 1)) as Error & { code: string }).code, 'E_ARG')
  t.deepEqual(jnp.take(x, 1, 1).toArray(), [2, 4])
  // initializers: non-number scales are refused when the initializer is built.
  for (const [what, f] of [
    ['normal', () => nn.initializers.normal('abc' as any)],
    ['uniform', () => nn.initializers.uniform(null as any)],
    ['truncatedNormal', () => nn.initializers.truncatedNormal(undefined, { lower: 'x' as any })],
    ['constant', () => nn.initializers.constant('1' as any)],
    ['varianceScaling', () => nn.initializers.varianceScaling({} as any, 'fan_in', 'normal')],
    ['orthogonal', () => nn.initializers.orthogonal('big' as any)],
  ] as [string, () => unknown][]) {
    const e = t.throws(f, { instanceOf: TypeError }, what) as TypeError & { code: string }
    t.is(e.code, 'E_TYPE', what)
  }
  t.is((t.throws(() => nn.initializers.normal(NaN)) as Error & { code: string }).code, 'E_ARG')
  // varianceScaling / computeFans: axes out of range raise (Python's IndexError), not NaN fans.
  const vs = t.throws(() => nn.initializers.varianceScaling(1, 'fan_in', 'normal', { inAxis: 99 })(random.key(0), [2, 3]), { instanceOf: RangeError }) as RangeError & { code: string }
  t.is(vs.code, 'E_ARG')
  t.is(vs.message, 'computeFans: inAxis 99 is out of bounds for a shape of rank 2 (expected -2 ..= 1)')
  const cf = t.throws(() => nn.initializers.computeFans([2, -3]), { instanceOf: RangeError }) as RangeError & { code: string }
  t.is(cf.code, 'E_ARG')
  t.is(cf.message, 'computeFans: shape[1] must be a non-negative integer, got -3')
  t.deepEqual(nn.initializers.computeFans([2, 3]), [2, 3])
  // Key.fromWords: words must be uint32 integers.
  t.is((t.throws(() => random.Key.fromWords('abc' as any, 0), { instanceOf: TypeError }) as TypeError & { code: string }).code, 'E_TYPE')
  for (const w of [-1, 0.5, 2 ** 32, NaN]) {
    t.is((t.throws(() => random.Key.fromWords(w, 0), { instanceOf: RangeError }) as RangeError & { code: string }).code, 'E_ARG', String(w))
  }
  t.deepEqual([...random.Key.fromWords(2 ** 32 - 1, 7).words], [2 ** 32 - 1, 7])
})

test('Dropout refuses a non-number rate and non-integer broadcastDims', (t) => {
  const x = jnp.ones([2, 3])
  const rngs = { dropout: random.key(0) }
  const apply = (props: object) => new nn.Dropout({ deterministic: false, ...props } as any).applyWith({}, { rngs }, x)
  const e1 = t.throws(() => apply({ rate: null }), { instanceOf: TypeError }) as TypeError & { code: string }
  t.is(e1.code, 'E_TYPE')
  t.is(e1.message, 'Dropout: rate must be a number, got null')
  t.is((t.throws(() => apply({ rate: 1.5 }), { instanceOf: RangeError }) as RangeError & { code: string }).code, 'E_ARG')
  const e2 = t.throws(() => apply({ rate: 0.5, broadcastDims: [1.5] }), { instanceOf: TypeError }) as TypeError & { code: string }
  t.is(e2.message, 'Dropout: broadcastDims entries must be integers, got 1.5')
  t.is((t.throws(() => apply({ rate: 0.5, broadcastDims: [2] }), { instanceOf: RangeError }) as RangeError & { code: string }).code, 'E_ARG')
  // Valid broadcastDims still share the mask along the axis.
  const y = apply({ rate: 0.5, broadcastDims: [0] }) as ReturnType<typeof jnp.ones>
  const rows = y.toArray() as number[][]
  t.deepEqual(rows[0], rows[1])
})

test('mutable filters and mapVariables functions that would silently drop collections raise', (t) => {
  class M extends nn.Module {
    @nn.compact
    call(x: any) {
      const s = this.variable('stats', 'count', () => jnp.zeros([]))
      s.value = jnp.add(s.value, 1)
      return x
    }
  }
  const x = jnp.ones([2])
  const v = new M().init(random.key(0), x)
  const e = t.throws(() => new M().applyWith(v, { mutable: [42] as any }, x)) as Error & { code: string }
  t.is(e.name, 'InvalidFilterError')
  t.is(e.code, 'InvalidFilterError')
  const CausalDense = nn.mapVariables(nn.Dense, 'params', (p: any) => p, () => 42 as any, { init: true })
  const e2 = t.throws(() => new CausalDense({ features: 2 }).init(random.key(0), jnp.ones([1, 3]))) as TypeError & { code: string }
  t.is(e2.code, 'E_TYPE')
  t.is(e2.message, 'mapVariables: mapOutFn must return an object of variables (a collection), got number 42')
})

test('tree helpers detect cycles and runaway depth with a coded error', (t) => {
  const cyc: any = { a: jnp.ones([1]) }
  cyc.b = { back: cyc }
  for (const f of [() => tree.leaves(cyc), () => tree.map((l: unknown) => l, cyc), () => tree.copy(cyc), () => tree.structureEqual(cyc, cyc)]) {
    const e = t.throws(f) as Error & { code: string }
    t.is(e.code, 'E_TREE')
    t.is(e.message, 'tree: the tree contains a cycle: b/back is one of its own ancestors')
  }
  let deep: unknown = 1
  for (let i = 0; i < 5000; i++) deep = [deep]
  const e = t.throws(() => tree.leaves(deep)) as Error & { code: string }
  t.is(e.code, 'E_TREE')
  t.regex(e.message, /nested deeper than 1000 levels/)
  // Shared (non-cyclic) subtrees are fine, and a leaf callback may walk the same objects.
  const shared = { w: jnp.ones([1]) }
  t.is(tree.leaves({ a: shared, b: shared }).length, 2)
  const outer = { a: shared }
  t.deepEqual(tree.map(() => tree.leaves(outer).length, outer), { a: { w: 1 } })
  // A structure difference is still `false`, not an error.
  t.false(tree.structureEqual({ a: 1 }, { b: 1 }))
})

test('a method called on something that is not a tensor is a coded TypeError', (t) => {
  const fake = Object.create((jnp.ones([1]) as any).constructor.prototype)
  for (const f of [() => fake.shape, () => fake.reshape([1]), () => fake.dispose(), () => jnp.add(fake, 1)]) {
    const e = t.throws(f, { instanceOf: TypeError }) as TypeError & { code: string }
    t.is(e.code, 'E_TYPE')
    t.regex(e.message, /expected a Tensor made by flaxen/)
  }
})
