// Batcher: concurrent requests merged along axis 0 into one jit run, outputs split back. Checked
// against unbatched calls of the same function, with trees in and out, padding to the batch
// sizes, separate queues per signature, the bounded queue, AbortSignal, close() draining, and
// coded errors for bad requests and options.
import test, { type ExecutionContext } from 'ava'
import { Batcher, jit, jnp, nn, random, Tensor } from '../ts/index'

const model = new nn.Dense({ features: 8 })
const variables = model.init(random.key(0), jnp.zeros([1, 16]))
const apply = (x: Tensor) => model.apply(variables, x) as Tensor
const direct = jit(apply)
const inputs = Array.from({ length: 20 }, (_, i) => random.normal(random.key(100 + i), [i % 5 === 4 ? 3 : 1, 16]))

/** Same shape and values within float32 rounding of a 16-term product (kernels differ by rows). */
function close(t: ExecutionContext, got: Tensor, want: Tensor, what: string): void {
  t.deepEqual(got.shape, want.shape, `${what}: shape`)
  const [g, w] = [got.data as Float32Array, want.data as Float32Array]
  let worst = 0
  for (let i = 0; i < w.length; i++) worst = Math.max(worst, Math.abs(g[i] - w[i]) / (1 + Math.abs(w[i])))
  t.true(worst <= 1e-6, `${what}: largest relative difference ${worst}`)
}

test('concurrent requests run in few batches and equal unbatched calls', async (t) => {
  const b = new Batcher(apply, { maxBatchSize: 8, maxWaitUs: 2000 })
  const got = await Promise.all(inputs.map((x) => b.run(x)))
  got.forEach((y, i) => close(t, y, direct(inputs[i]), `request ${i}`))
  const s = b.stats
  t.is(s.requests, 20)
  t.is(s.rows, 28) // 16 single rows, 4 requests of 3
  t.true(s.batches >= 4 && s.batches <= 6, `${s.batches} batches of at most 8 rows for 28 rows`)
  await b.close()
})

test('merged rows are padded to the batch sizes: one trace per size, results unchanged', async (t) => {
  let traces = 0
  const counted = jit((x: Tensor) => (traces++, apply(x)))
  const b = new Batcher(counted, { maxBatchSize: 8, sizes: [4, 8], maxWaitUs: 5000 })
  // 5 rows → padded to 8; then 2 rows → padded to 4; then 8 rows exactly.
  const first = await Promise.all(inputs.slice(0, 5).map((x) => b.run(x)))
  t.is(b.stats.rows, 7) // request 4 holds 3 rows
  first.forEach((y, i) => close(t, y, direct(inputs[i]), `padded request ${i}`))
  const second = await Promise.all([b.run(inputs[0]), b.run(inputs[1])])
  second.forEach((y, i) => close(t, y, direct(inputs[i]), `second batch ${i}`))
  const eight = random.normal(random.key(7), [8, 16])
  close(t, await b.run(eight), direct(eight), 'a full batch of one request')
  t.is(traces, 2, 'sizes 8 and 4 traced once each')
  t.deepEqual(b.sizes, [4, 8])
  t.deepEqual(new Batcher(apply, { maxBatchSize: 24 }).sizes, [1, 2, 4, 8, 16, 24])
})

test('a wait under 1 ms merges the requests made in one turn of the event loop', async (t) => {
  const b = new Batcher(apply, { maxWaitUs: 800 })
  await b.run(inputs[0]) // compiles the code paths: the three calls below then take well under 800 µs
  const got = await Promise.all([b.run(inputs[0]), b.run(inputs[1]), b.run(inputs[2])])
  got.forEach((y, i) => close(t, y, direct(inputs[i]), `request ${i}`))
  t.deepEqual(b.stats, { batches: 2, requests: 4, rows: 4 })
  const zero = new Batcher(apply, { maxWaitUs: 0 })
  await Promise.all([zero.run(inputs[0]), zero.run(inputs[1])])
  t.deepEqual(zero.stats, { batches: 2, requests: 2, rows: 2 }, 'no wait: the first runs at once, the second after it')
})

test('trees in and out; requests with other feature shapes or dtypes get their own batches', async (t) => {
  const f = (p: { a: Tensor; b: Tensor }) => ({ sum: jnp.sum(p.a, 1), both: jnp.concatenate([p.a, p.b], 1) })
  const b = new Batcher(f, { maxWaitUs: 3000 })
  const reqs = [
    { a: random.normal(random.key(1), [1, 3]), b: random.normal(random.key(2), [1, 2]) },
    { a: random.normal(random.key(3), [2, 3]), b: random.normal(random.key(4), [2, 2]) },
    { a: random.normal(random.key(5), [1, 5]), b: random.normal(random.key(6), [1, 2]) },
  ]
  const got = await Promise.all(reqs.map((r) => b.run(r)))
  reqs.forEach((r, i) => {
    const want = f(r)
    t.deepEqual(Array.from(got[i].sum.data as Float32Array), Array.from(want.sum.data as Float32Array), `sum ${i}`)
    t.deepEqual(Array.from(got[i].both.data as Float32Array), Array.from(want.both.data as Float32Array), `both ${i}`)
  })
  t.is(b.stats.batches, 2, 'the 3-feature requests merge; the 5-feature one runs alone')
})

test('a full queue rejects with E_QUEUE_FULL; close() runs what is queued and refuses new requests', async (t) => {
  const b = new Batcher(apply, { maxQueue: 2, maxWaitUs: 10e6 })
  const queued = [b.run(inputs[0]), b.run(inputs[1])]
  t.is(b.pending, 2)
  await t.throwsAsync(b.run(inputs[2]), { code: 'E_QUEUE_FULL', message: /maxQueue 2/ })
  const closed = b.close()
  await t.throwsAsync(b.run(inputs[3]), { code: 'E_CLOSED' })
  const got = await Promise.all(queued)
  await closed
  got.forEach((y, i) => close(t, y, direct(inputs[i]), `drained ${i}`))
  t.is(b.pending, 0)
  t.is(b.inFlight, 0)
})

test('AbortSignal: a queued request leaves the queue; the others still run', async (t) => {
  const b = new Batcher(apply, { maxWaitUs: 10e6 })
  const ac = new AbortController()
  const kept = b.run(inputs[0])
  const aborted = b.runWith({ signal: ac.signal }, inputs[1])
  t.is(b.pending, 2)
  ac.abort()
  await t.throwsAsync(aborted, { name: 'AbortError', code: 'ABORT_ERR', message: /Batcher: the call was aborted/ })
  t.is(b.pending, 1)
  await b.close()
  close(t, await kept, direct(inputs[0]), 'the kept request')
  t.is(b.stats.requests, 1)
  const pre = new AbortController()
  pre.abort(new Error('client went away'))
  await t.throwsAsync(new Batcher(apply).runWith({ signal: pre.signal }, inputs[0]), { message: 'client went away' })
})

test('a request aborted while its batch runs is dropped; its batch-mates get their rows', async (t) => {
  // Two rows fill the batch: it is dispatched as the second request arrives.
  const b = new Batcher(apply, { maxBatchSize: 2, maxWaitUs: 10e6 })
  const ac = new AbortController()
  const a = b.runWith({ signal: ac.signal }, inputs[0])
  const c = b.run(inputs[1])
  t.is(b.inFlight, 1)
  t.is(b.pending, 0)
  ac.abort()
  await t.throwsAsync(a, { name: 'AbortError' })
  close(t, await c, direct(inputs[1]), 'batch-mate')
  t.is(b.stats.requests, 2)
  await b.close()
})

test('a batch whose function fails rejects its requests only', async (t) => {
  const f = (x: Tensor) => (x.shape[1] === 3 ? jnp.matmul(x, jnp.ones([4, 2])) : jnp.add(x, 1))
  const b = new Batcher(f, { maxWaitUs: 2000 })
  const bad = b.run(jnp.ones([1, 3]))
  const good = b.run(jnp.ones([1, 5]))
  await t.throwsAsync(bad, { code: 'E_SHAPE' })
  t.deepEqual(Array.from((await good).data as Float32Array), [2, 2, 2, 2, 2])
  const scalar = new Batcher((x: Tensor) => jnp.sum(x))
  await t.throwsAsync(scalar.run(jnp.ones([2, 2])), { code: 'E_SHAPE', message: /output leaf 0 must be a Tensor with the batch's 2 rows along axis 0, got shape \[\]/ })
})

test('bad requests and options are coded errors naming what was expected', async (t) => {
  const b = new Batcher(apply)
  await t.throwsAsync(b.run(3 as any), { code: 'E_TYPE', message: /argument leaf 0 must be a Tensor/ })
  await t.throwsAsync(b.run(jnp.array(1)), { code: 'E_SHAPE', message: /needs rows along axis 0, got shape \[\]/ })
  await t.throwsAsync(b.run(jnp.zeros([0, 16])), { code: 'E_SHAPE', message: /got shape \[0, 16\]/ })
  const gone = jnp.zeros([1, 16])
  gone.dispose()
  await t.throwsAsync(b.run(gone), { code: 'E_DISPOSED', message: /argument leaf 0 was disposed/ })
  const two = new Batcher((x: Tensor, y: Tensor) => jnp.add(x, y))
  await t.throwsAsync(two.run(jnp.zeros([2, 3]), jnp.zeros([3, 3])), { code: 'E_SHAPE', message: /leaf 0 has 2, leaf 1 has shape \[3, 3\]/ })
  await t.throwsAsync((b.run as any)(), { code: 'E_ARG', message: /at least one tensor/ })
  await t.throwsAsync(b.runWith(null as any, inputs[0]), { code: 'E_TYPE', message: /options must be an object/ })
  await t.throwsAsync(b.runWith({ signal: 'stop' as any }, inputs[0]), { code: 'E_TYPE', message: /signal must be an AbortSignal, got/ })
  t.throws(() => new Batcher(3 as any), { code: 'E_TYPE' })
  t.throws(() => new Batcher(apply, { maxBatchSize: 0 }), { code: 'E_ARG', message: /maxBatchSize must be an integer in 1 \.\.= 2\^31, got number 0/ })
  t.throws(() => new Batcher(apply, { maxWaitUs: -1 }), { code: 'E_ARG', message: /maxWaitUs/ })
  t.throws(() => new Batcher(apply, { maxQueue: 1.5 }), { code: 'E_ARG' })
  t.throws(() => new Batcher(apply, { sizes: [4, 0] }), { code: 'E_ARG', message: /sizes\[1\]/ })
  t.throws(() => new Batcher(apply, { sizes: 'x' as any }), { code: 'E_TYPE' })
  t.throws(() => new Batcher(apply, null as any), { code: 'E_TYPE' })
})
