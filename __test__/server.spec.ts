// examples/server.ts: the digits classifier over HTTP. Every endpoint, answers equal to the
// model's own (JSON and binary bodies, one image and several, concurrent requests merged by the
// Batcher), the bad-request matrix (each a JSON error with a code), and a graceful shutdown
// that answers the requests in flight. Serial: the batch counts are the server's.
import { request } from 'node:http'
import test from 'ava'
import { jit, type Tensor, jnp } from '../ts/index'
import { loadClassifier, loadTestSet } from '../examples/digits'
import { serve, type Running } from '../examples/server'

const { model, variables } = loadClassifier()
const { images, labels } = loadTestSet()
const direct = jit((x: Tensor) => model.apply(variables, x) as Tensor)
const pixels = Array.from(images.data as Float32Array)
const image = (i: number) => pixels.slice(i * 64, (i + 1) * 64)

let running: Running
test.before(async () => {
  running = await serve({ port: 0, maxBodyBytes: 64 << 10, maxImages: 100 })
})
test.after.always(async () => {
  await running?.close()
})

const post = (body: string | Buffer, type = 'application/json') => fetch(`${running.url}/v1/digits`, { method: 'POST', body, headers: { 'content-type': type } })

/** What the server answers: logits and labels, or an error. */
interface Answer {
  labels: number[]
  logits: number[][]
  error?: { code: string; message: string }
  status?: string
  pending?: number
  batches?: number
}
const json = (r: Response) => r.json() as Promise<Answer>

/** The model's logits for images lo..hi of the test set. */
function want(lo: number, hi: number): number[][] {
  const y = direct(jnp.array(Float32Array.from(pixels.slice(lo * 64, hi * 64))).reshape([hi - lo, 8, 8, 1]))
  const d = Array.from(y.data as Float32Array)
  return Array.from({ length: hi - lo }, (_, i) => d.slice(i * 10, (i + 1) * 10))
}

function closeRows(t: import('ava').ExecutionContext, got: number[][], expected: number[][]): void {
  t.is(got.length, expected.length)
  got.forEach((row, i) => row.forEach((v, j) => t.true(Math.abs(v - expected[i][j]) <= 1e-5 * (1 + Math.abs(expected[i][j])), `logit ${i},${j}: ${v} vs ${expected[i][j]}`)))
}

test.serial('GET /healthz reports the batcher', async (t) => {
  const r = await fetch(`${running.url}/healthz`)
  t.is(r.status, 200)
  const body = await json(r)
  t.is(body.status, 'ok')
  t.is(typeof body.pending, 'number')
  t.is(typeof body.batches, 'number')
})

test.serial('POST /v1/digits: one image as 64 numbers, as 8 rows, several, and a binary body give the model\'s logits', async (t) => {
  const one = await json(await post(JSON.stringify({ image: image(0) })))
  closeRows(t, one.logits, want(0, 1))
  t.deepEqual(one.labels, [labels[0]])
  const rows = Array.from({ length: 8 }, (_, r) => image(1).slice(r * 8, r * 8 + 8))
  const nested = await json(await post(JSON.stringify({ image: rows })))
  closeRows(t, nested.logits, want(1, 2))
  const five = await json(await post(JSON.stringify({ images: [0, 1, 2, 3, 4].map(image) })))
  closeRows(t, five.logits, want(0, 5))
  t.deepEqual(five.labels, labels.slice(0, 5))
  const bin = Buffer.from(Float32Array.from(pixels.slice(0, 5 * 64)).buffer)
  const binary = await post(bin, 'application/octet-stream')
  t.is(binary.status, 200)
  closeRows(t, (await json(binary)).logits, want(0, 5))
})

test.serial('concurrent requests are merged into few batches and each gets its own answer', async (t) => {
  const before = running.batcher.stats
  const answers = await Promise.all(Array.from({ length: 48 }, (_, i) => post(JSON.stringify({ image: image(i) })).then(json)))
  const expected = want(0, 48)
  answers.forEach((a, i) => closeRows(t, a.logits, [expected[i]]))
  const after = running.batcher.stats
  t.is(after.requests - before.requests, 48)
  t.true(after.batches - before.batches < 48, `${after.batches - before.batches} batches for 48 requests`)
  const correct = answers.filter((a, i) => a.labels[0] === labels[i]).length
  t.true(correct >= 44, `${correct}/48 correct`)
})

test.serial('bad requests: a JSON error with a stable code, and the server lives on', async (t) => {
  const cases: [string, () => Promise<Response>, number, string, RegExp][] = [
    ['malformed JSON', () => post('{"image": [1, 2'), 400, 'E_JSON', /not JSON/],
    ['not an object', () => post('[1, 2, 3]'), 400, 'E_ARG', /JSON object/],
    ['no image', () => post('{"picture": []}'), 400, 'E_ARG', /"image"/],
    ['empty images', () => post('{"images": []}'), 400, 'E_ARG', /non-empty/],
    ['63 values', () => post(JSON.stringify({ image: image(0).slice(1) })), 400, 'E_SHAPE', /image 0: expected 64 numbers .* got an array of 63/],
    ['a string value', () => post(JSON.stringify({ image: [...image(0).slice(1), 'x'] })), 400, 'E_DTYPE', /value 63 must be a number, got string/],
    ['null image', () => post(JSON.stringify({ images: [image(0), null] })), 400, 'E_SHAPE', /image 1: .* got null/],
    ['too many images', () => post(JSON.stringify({ images: Array.from({ length: 101 }, () => image(0)) })), 400, 'E_SHAPE', /at most 100 images per request, got 101/],
    ['binary of 100 bytes', () => post(Buffer.alloc(100), 'application/octet-stream'), 400, 'E_SHAPE', /got 100 bytes/],
    ['binary NaN', () => post(Buffer.from(Float32Array.from({ length: 64 }, (_, i) => (i === 5 ? NaN : 0)).buffer), 'application/octet-stream'), 400, 'E_VALUE', /value 5 is NaN/],
    ['over the limit', () => post(JSON.stringify({ image: image(0), pad: 'x'.repeat(70 << 10) })), 413, 'E_TOO_LARGE', /over the limit of 65536 bytes/],
    ['unknown path', () => fetch(`${running.url}/v2/cats`), 404, 'E_NOT_FOUND', /no route \/v2\/cats/],
    ['GET on the model', () => fetch(`${running.url}/v1/digits`), 405, 'E_METHOD', /takes POST, got GET/],
  ]
  for (const [what, call, status, code, message] of cases) {
    const r = await call()
    t.is(r.status, status, what)
    const body = await json(r)
    t.is(body.error?.code, code, what)
    t.regex(body.error?.message ?? '', message, what)
  }
  const ok = await post(JSON.stringify({ image: image(0) }))
  t.is(ok.status, 200, 'still serving')
})

test.serial('a chunked body over the limit is cut off with 413', async (t) => {
  const url = new URL(`${running.url}/v1/digits`)
  const status = await new Promise<number>((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
      res.resume()
      resolve(res.statusCode ?? 0)
    })
    req.on('error', reject)
    // No content-length: chunks until the server answers.
    const chunk = Buffer.alloc(16 << 10, 0x20)
    let sent = 0
    const more = () => {
      while (sent < 32 && req.write(chunk)) sent++
      if (sent < 32) {
        // write() queued the chunk that returned false: count it, go on once drained.
        sent++
        req.once('drain', more)
      } else req.end()
    }
    more()
  })
  t.is(status, 413)
})

test.serial('close(): requests in flight are answered, then the server refuses connections', async (t) => {
  const local = await serve({ port: 0, batcher: { maxWaitUs: 200_000 } })
  // Held by the batcher's 200 ms wait when close() starts; close() runs them at once.
  const inFlight = [0, 1, 2].map((i) => fetch(`${local.url}/v1/digits`, { method: 'POST', body: JSON.stringify({ image: image(i) }), headers: { 'content-type': 'application/json' } }))
  for (let i = 0; i < 200 && local.batcher.pending < 3; i++) await new Promise((r) => setTimeout(r, 10))
  t.is(local.batcher.pending, 3)
  await local.close()
  const answers = await Promise.all(inFlight)
  t.deepEqual(answers.map((r) => r.status), [200, 200, 200])
  const got = await Promise.all(answers.map(json))
  closeRows(t, got.map((g) => g.logits[0]), want(0, 3))
  await t.throwsAsync(fetch(`${local.url}/healthz`))
})

test.serial('as a script: PORT=0 serves, SIGTERM drains and exits 0', async (t) => {
  const { spawn } = await import('node:child_process')
  const { join } = await import('node:path')
  const root = join(__dirname, '..')
  const child = spawn(process.execPath, ['--import=tsx', join(root, 'examples', 'server.ts')], { cwd: root, env: { ...process.env, PORT: '0', HOST: '127.0.0.1' } })
  let out = ''
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString()
      const m = /on (http:\/\/\S+) /.exec(out)
      if (m) resolve(m[1])
    })
    child.once('exit', (code) => reject(new Error(`exited ${code}: ${out}`)))
  })
  t.is((await fetch(`${url}/healthz`)).status, 200)
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  child.kill('SIGTERM')
  t.is(await exited, 0)
  t.regex(out, /SIGTERM: draining/)
})
