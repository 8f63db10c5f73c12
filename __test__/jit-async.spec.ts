// `f.async` / `f.asyncWith`: jit plans run on the native async pool (libuv work →
// flaxen_core::par::in_async_pool), with AbortSignal cancellation, write protection of inputs
// and setNumThreads. Serial: the tests share the async pool (and one resizes it), and the timer
// test needs the pool to itself.
import test from 'ava'
import { getNumThreads, jit, jnp, random, setNumThreads, Tensor } from '../ts/index'
import { native, type PlanHandle, type TensorHandle } from '../ts/native'
import { nop } from './helpers/native-op'

type T = Tensor

/** The tensor's bytes (bit-exact comparison; NaN payloads and -0 included). */
function bytes(x: T): Buffer {
  const d = x.data
  return Buffer.from(d.buffer, d.byteOffset, d.byteLength)
}

/** Asserts that `got` and `want` have the same shape, dtype and bytes. */
function sameBits(t: import('ava').ExecutionContext, got: T, want: T, what: string) {
  t.deepEqual(got.shape, want.shape, `${what}: shape`)
  t.is(got.dtype, want.dtype, `${what}: dtype`)
  const g = bytes(got)
  const w = bytes(want)
  if (!g.equals(w)) {
    const a = new Uint32Array(g.buffer, g.byteOffset, g.byteLength / 4)
    const b = new Uint32Array(w.buffer, w.byteOffset, w.byteLength / 4)
    let first = -1
    let n = 0
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) (n++, first < 0 && (first = i))
    t.fail(`${what}: ${n} of ${a.length} words differ, first at ${first}`)
  } else t.pass()
}

// An MLP block: matmul + add + relu + matmul.
const mlp = (x: T, w1: T, b1: T, w2: T) => jnp.matmul(jnp.maximum(jnp.add(jnp.matmul(x, w1), b1), 0), w2)
const W1 = random.normal(random.key(101), [256, 512])
const B1 = random.normal(random.key(102), [512])
const W2 = random.normal(random.key(103), [512, 128])
const xs = Array.from({ length: 64 }, (_, i) => random.normal(random.key(i), [32, 256]))

/** A chain of `n` [512,512] matmuls (a plan of 2n steps, about 1 ms per matmul on 2 cores). */
const chainFn = (n: number) => (a: T, b: T) => {
  let y = a
  for (let i = 0; i < n; i++) y = jnp.matmul(jnp.multiply(y, 0.044), b)
  return y
}
const A = random.normal(random.key(7), [512, 512])
const B = random.normal(random.key(8), [512, 512])

/** A jit'd chain whose synchronous run takes about `ms` on this machine (measured). */
function longPlan(ms: number) {
  const probe = jit(chainFn(10))
  probe(A, B)
  const t0 = performance.now()
  probe(A, B)
  const per = Math.max((performance.now() - t0) / 10, 0.05)
  const n = Math.min(Math.max(Math.ceil(ms / per), 10), 4000)
  const f = jit(chainFn(n))
  return { f, n }
}

const ticker = () => {
  const s = { ticks: 0, stop: () => clearInterval(id) }
  const id = setInterval(() => s.ticks++, 5)
  return s
}

const nextMacrotask = () => new Promise((r) => setImmediate(r))

test.serial('64 concurrent f.async calls of an MLP are bit-identical to the synchronous f calls', async (t) => {
  const f = jit(mlp)
  // Launch all 64, then compute the sync references while they run (both pools busy at once).
  const pending = xs.map((x) => f.async(x, W1, B1, W2))
  const refs = xs.map((x) => f(x, W1, B1, W2))
  const got = await Promise.all(pending)
  t.is(f.traceCount, 1)
  t.is(got.length, 64)
  for (let i = 0; i < 64; i++) sameBits(t, got[i], refs[i], `call ${i}`)
  // Different inputs give different outputs (so a swapped or shared result would be caught).
  t.false(bytes(refs[0]).equals(bytes(refs[1])))
  // And the plan computes the MLP: the eager ops give the same bits.
  sameBits(t, refs[5], mlp(xs[5], W1, B1, W2), 'eager')
})

test.serial('a timer keeps firing while a >= 200 ms plan runs in f.async; during the sync call it cannot', async (t) => {
  // A plan whose sync run takes >= 200 ms: estimated, then lengthened while the machine (shared,
  // its speed varies) runs it faster than that.
  let { f, n } = longPlan(400)
  let ref: T
  let syncMs = 0
  for (let tries = 0; ; tries++) {
    const t0 = performance.now()
    ref = f(A, B)
    syncMs = performance.now() - t0
    if (syncMs >= 250 || tries === 4) break
    n = Math.ceil(n * Math.max(2, 400 / syncMs))
    f = jit(chainFn(n))
  }
  t.true(syncMs >= 200, `precondition: the plan takes ${syncMs.toFixed(0)} ms synchronously`)

  // Async: the JS thread stays free, so the 5 ms interval keeps ticking.
  const a = ticker()
  const got = await f.async(A, B)
  a.stop()
  t.true(a.ticks >= 10, `only ${a.ticks} ticks during the async call`)
  sameBits(t, got, ref, 'async result')

  // Sync: no tick during the call, and after it the missed ticks collapse into at most one.
  const s = ticker()
  f(A, B)
  const during = s.ticks
  await new Promise((r) => setTimeout(r, 0))
  const after = s.ticks
  s.stop()
  t.is(during, 0)
  t.true(after <= 1, `${after} ticks after a blocking call of >= 200 ms`)
})

test.serial('abort: the last 8 of 16 queued long calls reject with AbortError; the first 8 resolve correctly', async (t) => {
  const { f } = longPlan(40)
  const ref = f(A, B)
  const controllers = Array.from({ length: 16 }, () => new AbortController())
  const order: string[] = []
  const calls = controllers.map((c, i) =>
    f.asyncWith({ signal: c.signal }, A, B).then(
      (v) => (order.push(`ok${i}`), v),
      (e) => (order.push(`err${i}`), Promise.reject(e)),
    ),
  )
  for (let i = 8; i < 16; i++) controllers[i].abort()
  const settled = await Promise.allSettled(calls)
  for (let i = 0; i < 8; i++) {
    const s = settled[i]
    t.is(s.status, 'fulfilled', `call ${i}`)
    if (s.status === 'fulfilled') sameBits(t, s.value, ref, `call ${i}`)
  }
  for (let i = 8; i < 16; i++) {
    const s = settled[i]
    t.is(s.status, 'rejected', `call ${i}`)
    if (s.status === 'rejected') {
      t.true(s.reason instanceof Error)
      t.is(s.reason.name, 'AbortError', `call ${i}`)
    }
  }
  // The aborted calls settle at once, before any queued native call comes back.
  t.deepEqual(order.slice(0, 8).sort(), controllers.slice(8).map((_, i) => `err${i + 8}`).sort())
})

test.serial('abort: an already-aborted signal rejects before anything runs (and does not trace)', async (t) => {
  const f = jit(mlp)
  const c = new AbortController()
  c.abort()
  const p = f.asyncWith({ signal: c.signal }, xs[0], W1, B1, W2)
  const first = await Promise.race([p.then(() => 'resolved', (e: Error) => e), nextMacrotask().then(() => 'pending')])
  t.true(first instanceof Error, `settled as ${String(first)}`)
  t.is((first as Error).name, 'AbortError')
  t.is(f.traceCount, 0)
  // The function still works afterwards.
  sameBits(t, await f.asyncWith({ signal: new AbortController().signal }, xs[0], W1, B1, W2), f(xs[0], W1, B1, W2), 'after')
})

test.serial('abort with a non-Error reason: an AbortError with code ABORT_ERR', async (t) => {
  const { f } = longPlan(40)
  const c = new AbortController()
  const p = f.asyncWith({ signal: c.signal }, A, B)
  c.abort('stop')
  const e = await t.throwsAsync(p)
  t.is(e?.name, 'AbortError')
  t.is((e as Error & { code?: unknown }).code, 'ABORT_ERR')
})

test.serial('abort with an Error reason rejects with that reason', async (t) => {
  const { f } = longPlan(40)
  const c = new AbortController()
  const reason = new Error('mine')
  const p = f.asyncWith({ signal: c.signal }, A, B)
  c.abort(reason)
  t.is(await t.throwsAsync(p), reason)
})

// The default reason is a DOMException whose `code` is the number 20; the rejection carries
// Node's code 'ABORT_ERR' instead, with the reason as its cause.
test.serial('abort with the default reason: the rejection has code ABORT_ERR', async (t) => {
  const f = jit(mlp)
  const c = new AbortController()
  const p = f.asyncWith({ signal: c.signal }, xs[0], W1, B1, W2)
  c.abort()
  const e = (await t.throwsAsync(p)) as Error & { code?: unknown }
  t.is(e.name, 'AbortError')
  t.is(e.code, 'ABORT_ERR')
})

/** A plan traced through the raw binding: a chain of `n` matmuls of [s,s] inputs a, b. */
function nativeChain(n: number, s = 512): PlanHandle {
  const tr = native.traceBegin(false)
  const a = native.traceInput(tr, [s, s], 'float32')
  const b = native.traceInput(tr, [s, s], 'float32')
  let y: TensorHandle = a
  for (let i = 0; i < n; i++) y = nop('matmul', nop('multiply', y, 0.044), b)
  return native.traceEnd(tr, [y])
}

test.serial('native: cancelled tokens of queued planRunAsync calls reject with ABORT_ERR; the others resolve', async (t) => {
  const { n } = longPlan(40)
  const plan = nativeChain(n)
  const ref = new Tensor(native.planRun(plan, [A.handle, B.handle], null)[0])
  const tokens = Array.from({ length: 16 }, () => native.cancelToken())
  const calls = tokens.map((tok) => native.planRunAsync(plan, [A.handle, B.handle], null, tok))
  for (let i = 8; i < 16; i++) native.cancel(tokens[i])
  const settled = await Promise.allSettled(calls)
  for (let i = 0; i < 8; i++) {
    const s = settled[i]
    t.is(s.status, 'fulfilled', `call ${i}`)
    if (s.status === 'fulfilled') sameBits(t, new Tensor(s.value[0]), ref, `call ${i}`)
  }
  for (let i = 8; i < 16; i++) {
    const s = settled[i]
    t.is(s.status, 'rejected', `call ${i}`)
    if (s.status === 'rejected') t.is(s.reason.code, 'ABORT_ERR', `call ${i}`)
  }
})

test.serial('native: cancelling a running plan stops it before its next step (ABORT_ERR, no result)', async (t) => {
  const { n } = longPlan(600)
  const plan = nativeChain(n)
  const tok = native.cancelToken()
  const p = native.planRunAsync(plan, [A.handle, B.handle], null, tok)
  await new Promise((r) => setTimeout(r, 30))
  native.cancel(tok)
  const e = (await t.throwsAsync(p)) as Error & { code?: string }
  t.is(e.code, 'ABORT_ERR')
  t.regex(e.message, /aborted/)
})

test.serial('write protection: x.data taken before f.async(x), x.data[0] = 999 right after the call: the result is for the original values', async (t) => {
  const add = jit((x: T) => jnp.multiply(jnp.add(x, 1), 2))
  const { f: long } = longPlan(40)
  const x = jnp.array([1, 2, 3, 4])
  const view = x.data // taken before the call: the call copies x
  // Keep the pool busy so the plan is still queued when JS writes.
  const blockers = Array.from({ length: 8 }, () => long.async(A, B))
  const p = add.async(x)
  view[0] = 999
  x.data[3] = -999
  const got = await p
  t.deepEqual(Array.from(got.data), [4, 6, 8, 10])
  t.deepEqual(Array.from(x.data), [999, 2, 3, -999], 'the write itself took effect')
  await Promise.all(blockers)
})

test.serial('write protection: a donated x whose .data was taken, written through that view right after f.async(x): the result is for the original values', async (t) => {
  const add = jit((x: T) => jnp.multiply(jnp.add(x, 1), 2), { donateArgnums: 0 })
  const { f: long } = longPlan(40)
  const x = jnp.array([1, 2, 3, 4])
  const view = x.data // still writable by JS after the donation
  const blockers = Array.from({ length: 8 }, () => long.async(A, B))
  const p = add.async(x)
  t.true(x.isDisposed, 'donated')
  view[0] = 999
  const got = await p
  t.deepEqual(Array.from(got.data), [4, 6, 8, 10])
  t.is(view[0], 999)
  await Promise.all(blockers)
})

// An input whose `.data` was not taken is shared with the queued plan (no copy) and pinned:
// exposing it now would let a write reach the plan, so `.data` refuses until the call is done.
test.serial('write protection: x.data first taken after f.async(x) is refused (E_BUSY) until the call is done; the result is for the original values', async (t) => {
  const add = jit((x: T) => jnp.multiply(jnp.add(x, 1), 2))
  const { f: long } = longPlan(40)
  const x = jnp.array([1, 2, 3, 4])
  const blockers = Array.from({ length: 8 }, () => long.async(A, B))
  const p = add.async(x)
  const err = t.throws(() => x.data) as Error & { code?: string }
  t.is(err.code, 'E_BUSY')
  t.regex(err.message, /async jit call/)
  const got = await p
  await Promise.all(blockers)
  t.deepEqual(Array.from(got.data), [4, 6, 8, 10])
  // Once the call has finished, the tensor can be viewed and written again.
  x.data[0] = 999
  t.is(x.data[0], 999)
})

test.serial('errors: a wrong-shape input rejects with E_SHAPE (retrace fails); the raw binding throws at once', async (t) => {
  const f = jit(mlp)
  await f.async(xs[0], W1, B1, W2)
  const bad = random.normal(random.key(1), [32, 255])
  const p = f.async(bad, W1, B1, W2)
  t.true(p instanceof Promise)
  const e = (await t.throwsAsync(p)) as Error & { code?: string }
  t.is(e.code, 'E_SHAPE')
  t.regex(e.message, /matmul/)

  // planRunAsync checks inputs before queueing: wrong shape, dtype, count and disposed handles.
  const plan = nativeChain(1, 4)
  const a = jnp.ones([4, 4])
  const check = (inputs: TensorHandle[], code: string) => {
    const err = t.throws(() => native.planRunAsync(plan, inputs, null, null)) as Error & { code?: string }
    t.is(err?.code, code)
  }
  check([jnp.ones([4, 5]).handle, a.handle], 'E_SHAPE')
  check([jnp.ones([4, 4], 'int32').handle, a.handle], 'E_DTYPE')
  check([a.handle], 'E_ARG')
  const gone = jnp.ones([4, 4])
  const h = gone.handle
  gone.dispose()
  check([h, a.handle], 'E_DISPOSED')
  // A disposed tensor through jit: a coded rejection, not a crash.
  const g = jit((x: T) => jnp.add(x, 1))
  const d = jnp.ones([3])
  await g.async(d)
  d.dispose()
  const e2 = (await t.throwsAsync(g.async(d))) as Error & { code?: string }
  t.is(e2.code, 'E_DISPOSED')
})

test.serial('errors: a plan failing at run time rejects with the code (E_ARG: negative integer exponent)', async (t) => {
  const f = jit((x: T, e: T) => jnp.power(x, e))
  const x = jnp.array([2, 3], 'int32')
  t.deepEqual(Array.from((await f.async(x, jnp.array([3, 2], 'int32'))).data), [8, 9])
  const e = (await t.throwsAsync(f.async(x, jnp.array([1, -1], 'int32')))) as Error & { code?: string }
  t.true(e instanceof Error)
  t.is(e.code, 'E_ARG')
  t.regex(e.message, /exponent -1 is negative/)
  t.regex(e.message, /in a jit plan/)
  // The sync call fails the same way.
  const s = t.throws(() => f(x, jnp.array([1, -1], 'int32'))) as Error & { code?: string }
  t.is(s.code, 'E_ARG')
  t.is(s.message, e.message)
})

test.serial('setNumThreads(1): async calls give the same results; 0 restores the default; resizing mid-flight is safe', async (t) => {
  const f = jit(mlp)
  const refs = xs.slice(0, 16).map((x) => f(x, W1, B1, W2))
  const dflt = getNumThreads()
  t.true(dflt >= 1)
  try {
    setNumThreads(1)
    t.is(getNumThreads(), 1)
    const one = await Promise.all(xs.slice(0, 16).map((x) => f.async(x, W1, B1, W2)))
    one.forEach((r, i) => sameBits(t, r, refs[i], `1 thread, call ${i}`))

    // Resize while calls are in flight: they finish on the pool they started on.
    const first = xs.slice(0, 16).map((x) => f.async(x, W1, B1, W2))
    setNumThreads(3)
    t.is(getNumThreads(), 3)
    const second = xs.slice(0, 16).map((x) => f.async(x, W1, B1, W2))
    setNumThreads(2)
    const all = await Promise.all([...first, ...second])
    all.forEach((r, i) => sameBits(t, r, refs[i % 16], `resized, call ${i}`))

    const err = t.throws(() => setNumThreads(-1)) as Error & { code?: string }
    t.is(err.code, 'E_ARG')
    t.is((t.throws(() => setNumThreads(1.5)) as Error & { code?: string }).code, 'E_ARG')
    t.is((t.throws(() => setNumThreads(2000)) as Error & { code?: string }).code, 'E_ARG')
    t.is(getNumThreads(), 2, 'a rejected size changes nothing')
  } finally {
    setNumThreads(0)
  }
  t.is(getNumThreads(), dflt)
  const env = Number(process.env.FLAXEN_NUM_THREADS)
  if (Number.isInteger(env) && env > 0) t.is(dflt, env)
  const again = await Promise.all(xs.slice(0, 4).map((x) => f.async(x, W1, B1, W2)))
  again.forEach((r, i) => sameBits(t, r, refs[i], `restored, call ${i}`))
})
