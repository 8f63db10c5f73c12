// examples/server.ts: the digits classifier and the GPT-2 example over HTTP. Every endpoint,
// answers equal to the model's own (JSON and binary bodies, one image and several, concurrent
// requests merged by the Batcher; token streams equal to `generate`'s, alone and concurrent),
// the bad-request matrices (each a JSON error with a code), a client leaving a stream, and a
// graceful shutdown that answers the requests and drains the streams in flight. Serial: the
// batch and stream counts are the server's.
import { request } from 'node:http'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import test from 'ava'
import { jit, type Tensor, jnp, random } from '../ts/index'
import { DIGITS_SAFETENSORS, loadClassifier, loadTestSet } from '../examples/digits'
import { FIXTURE_DIR, generateAll, loadGpt2 } from '../examples/gpt2'
import { writeGpt2Safetensors } from '../examples/gpt2-safetensors'
import { serve, type Running } from '../examples/server'
import { measureStreams, readStream, StreamError, type StreamRequest } from '../bench/src/serve-stream'

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

test('the digits weights are mapped from examples/digits/digits.safetensors, not read', (t) => {
  // serve() ran in this process: the file is one of its mappings (Linux's /proc).
  if (process.platform !== 'linux') return t.pass()
  const maps = readFileSync('/proc/self/maps', 'utf8')
  t.true(maps.split('\n').some((l) => l.endsWith(DIGITS_SAFETENSORS)), 'digits.safetensors is mapped')
})

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

// ---------------------------------------------------------------------------------------------
// POST /v1/generate: the GPT-2 example, tokens as Server-Sent Events

const gpt = loadGpt2(FIXTURE_DIR) // the same weights as the server's, read from the msgpack file
/** `generate`'s tokens for one prompt (greedy unless temperature > 0). */
const expected = async (r: StreamRequest) => {
  const sampling = (r.temperature ?? 0) > 0 ? { doSample: true, temperature: r.temperature, topK: r.topK ?? 50, key: random.key(r.seed ?? 0) } : {}
  return (await generateAll(gpt.model, gpt.variables, jnp.array([r.prompt], 'int32'), { maxNewTokens: r.maxNewTokens, ...sampling }))[0]
}
const generatePost = (body: string, url = running.url) => fetch(`${url}/v1/generate`, { method: 'POST', body, headers: { 'content-type': 'application/json' } })
const until = async (what: () => boolean, ms = 5000) => {
  for (let waited = 0; !what() && waited < ms; waited += 10) await new Promise((r) => setTimeout(r, 10))
  return what()
}

/** A GPT-2 with 1024 positions (tiny otherwise) in safetensors form: streams long enough to leave or close mid-way. */
let longDir = ''
test.before(() => {
  longDir = mkdtempSync(join(tmpdir(), 'flaxen-gpt-long-'))
  writeGpt2Safetensors(longDir, { config: { vocabSize: 64, nPositions: 1024, nEmbd: 32, nLayer: 2, nHead: 4 }, seed: 1 })
})
test.after.always(() => {
  if (longDir !== '') rmSync(longDir, { recursive: true, force: true })
})

test.serial('POST /v1/generate streams generate\'s greedy tokens as SSE events, then a done event', async (t) => {
  const r = await generatePost(JSON.stringify({ prompt: [51, 5, 11, 15, 11, 51, 55], maxNewTokens: 12 }))
  t.is(r.status, 200)
  t.regex(r.headers.get('content-type') ?? '', /^text\/event-stream/)
  t.is(r.headers.get('cache-control'), 'no-cache')
  const text = await r.text()
  const want = await expected({ prompt: [51, 5, 11, 15, 11, 51, 55], maxNewTokens: 12 })
  const events = text.split('\n\n').filter((e) => e !== '')
  t.is(events.length, 13)
  want.forEach((token, index) => t.is(events[index], `data: ${JSON.stringify({ token, index })}`))
  t.regex(events[12], /^event: done\ndata: \{"tokens":12,"promptTokens":7,"ms":[\d.]+,"firstTokenMs":[\d.]+\}$/)
  // Other lengths (one cache bucket, other prefill plans), and the bench's client agrees.
  for (const req of [{ prompt: [3], maxNewTokens: 31 }, { prompt: Array.from({ length: 20 }, (_, i) => (i * 7) % 64), maxNewTokens: 5 }]) {
    const got = await readStream(running.url, req)
    t.deepEqual(got.tokens, await expected(req))
    t.true(got.ttftMs > 0 && got.ttftMs <= got.totalMs)
  }
})

test.serial('sampling (temperature, topK, seed) streams generate\'s samples for the same key', async (t) => {
  const req = { prompt: [1, 2, 3, 4], maxNewTokens: 10, temperature: 0.8, topK: 5, seed: 7 }
  const got = await readStream(running.url, req)
  t.deepEqual(got.tokens, await expected(req))
  t.deepEqual((await readStream(running.url, req)).tokens, got.tokens, 'reproducible')
  t.deepEqual((await readStream(running.url, { ...req, temperature: 0 })).tokens, await expected({ prompt: req.prompt, maxNewTokens: 10 }), 'temperature 0 is greedy')
})

test.serial('concurrent streams: each has its own cache and gets its own tokens; digits are answered meanwhile', async (t) => {
  const reqs: StreamRequest[] = [
    { prompt: [10, 20, 30], maxNewTokens: 25 },
    { prompt: [5, 6, 7, 8, 9, 10, 11, 12], maxNewTokens: 20 },
    { prompt: [10, 20, 30], maxNewTokens: 25, temperature: 1.2, topK: 0, seed: 3 },
    { prompt: [63], maxNewTokens: 30 },
  ]
  const [streams, digit] = await Promise.all([Promise.all(reqs.map((r) => readStream(running.url, r))), post(JSON.stringify({ image: image(0) })).then(json)])
  for (const [i, s] of streams.entries()) t.deepEqual(s.tokens, await expected(reqs[i]), `stream ${i}`)
  closeRows(t, digit.logits, want(0, 1))
  t.is(running.gpt?.active, 0)
  // The bench's load helper: 6 streams, 3 at a time.
  const report = await measureStreams(running.url, { concurrency: 3, streams: 6, request: (i) => ({ prompt: [i + 1, 2], maxNewTokens: 8 }) })
  t.is(report.failed, 0, report.errors.join('; '))
  t.is(report.tokens, 48)
  t.true(report.ttftMs.n === 6 && report.ttftMs.p50 > 0 && report.aggregateTokensPerSec > 0)
  t.log(`6 streams of 8 tokens, 3 at once: TTFT p50 ${report.ttftMs.p50.toFixed(1)} ms, ${report.aggregateTokensPerSec.toFixed(0)} tokens/s in all`)
})

test.serial('bad generate requests: 400 with a JSON error code before any event; 405, 413; the route lives on', async (t) => {
  const long = (n: number) => JSON.stringify({ prompt: Array.from({ length: n }, (_, i) => i % 64), maxNewTokens: 3 })
  const cases: [string, () => Promise<Response>, number, string, RegExp][] = [
    ['malformed JSON', () => generatePost('{"prompt": [1, 2'), 400, 'E_JSON', /not JSON/],
    ['not an object', () => generatePost('[1, 2]'), 400, 'E_ARG', /JSON object/],
    ['null', () => generatePost('null'), 400, 'E_ARG', /JSON object/],
    ['no prompt', () => generatePost('{"maxNewTokens": 3}'), 400, 'E_ARG', /missing "prompt"/],
    ['text prompt', () => generatePost('{"prompt": "hello"}'), 400, 'E_DTYPE', /no tokenizer/],
    ['object prompt', () => generatePost('{"prompt": {"0": 1}}'), 400, 'E_SHAPE', /array of token ids, got object/],
    ['nested prompt', () => generatePost('{"prompt": [[1, 2]]}'), 400, 'E_SHAPE', /flat array/],
    ['empty prompt', () => generatePost('{"prompt": []}'), 400, 'E_SHAPE', /non-empty/],
    ['non-integer id', () => generatePost('{"prompt": [1, 2.5]}'), 400, 'E_DTYPE', /"prompt"\[1\] must be an integer token id, got 2.5/],
    ['string id', () => generatePost('{"prompt": [1, "2"]}'), 400, 'E_DTYPE', /got string/],
    ['null id', () => generatePost('{"prompt": [null]}'), 400, 'E_DTYPE', /got null/],
    ['id = vocab', () => generatePost('{"prompt": [1, 64]}'), 400, 'E_VALUE', /"prompt"\[1\] is 64; token ids are in \[0, 64\)/],
    ['negative id', () => generatePost('{"prompt": [-1]}'), 400, 'E_VALUE', /is -1/],
    ['prompt + maxNewTokens over n_positions', () => generatePost(long(30)), 400, 'E_PROMPT_TOO_LONG', /prompt \(30 tokens\) \+ maxNewTokens \(3\) is over the model's 32 positions/],
    ['prompt over n_positions', () => generatePost(JSON.stringify({ prompt: Array(40).fill(1) })), 400, 'E_PROMPT_TOO_LONG', /40 tokens/],
    ['maxNewTokens a string', () => generatePost('{"prompt": [1], "maxNewTokens": "5"}'), 400, 'E_DTYPE', /"maxNewTokens" must be an integer, got string/],
    ['maxNewTokens 2.5', () => generatePost('{"prompt": [1], "maxNewTokens": 2.5}'), 400, 'E_DTYPE', /got 2.5/],
    ['maxNewTokens 0', () => generatePost('{"prompt": [1], "maxNewTokens": 0}'), 400, 'E_VALUE', /in \[1, 31\]/],
    ['maxNewTokens over the bound', () => generatePost('{"prompt": [1], "maxNewTokens": 1000}'), 400, 'E_VALUE', /is 1000/],
    ['temperature a string', () => generatePost('{"prompt": [1], "temperature": "hot"}'), 400, 'E_DTYPE', /"temperature" must be a number/],
    ['negative temperature', () => generatePost('{"prompt": [1], "temperature": -1}'), 400, 'E_VALUE', /"temperature" is -1/],
    ['topK 1.5', () => generatePost('{"prompt": [1], "temperature": 1, "topK": 1.5}'), 400, 'E_DTYPE', /"topK"/],
    ['topK over vocab', () => generatePost('{"prompt": [1], "temperature": 1, "topK": 65}'), 400, 'E_VALUE', /"topK" is 65/],
    ['negative seed', () => generatePost('{"prompt": [1], "temperature": 1, "seed": -1}'), 400, 'E_VALUE', /"seed" is -1/],
    ['GET', () => fetch(`${running.url}/v1/generate`), 405, 'E_METHOD', /takes POST, got GET/],
    ['over the body limit', () => generatePost(JSON.stringify({ prompt: Array(40_000).fill(1) })), 413, 'E_TOO_LARGE', /over the limit of 65536 bytes/],
  ]
  for (const [what, call, status, code, message] of cases) {
    const r = await call()
    t.is(r.status, status, what)
    t.regex(r.headers.get('content-type') ?? '', /^application\/json/, what)
    const body = await json(r)
    t.is(body.error?.code, code, what)
    t.regex(body.error?.message ?? '', message, what)
  }
  const e = await t.throwsAsync(readStream(running.url, { prompt: [1, 2], maxNewTokens: 31 }), { instanceOf: StreamError })
  t.is(e?.code, 'E_PROMPT_TOO_LONG')
  t.deepEqual((await readStream(running.url, { prompt: [1, 2], maxNewTokens: 3 })).tokens, await expected({ prompt: [1, 2], maxNewTokens: 3 }), 'still serving')
})

test.serial('a client that leaves mid-stream stops its generation; the server stays healthy', async (t) => {
  const local = await serve({ port: 0, gpt: { dir: longDir, maxNewTokens: 1000, maxStreams: 1 } })
  try {
    const g = local.gpt!
    const leave = new AbortController()
    const r = await fetch(`${local.url}/v1/generate`, { method: 'POST', body: JSON.stringify({ prompt: [1, 2, 3], maxNewTokens: 1000 }), signal: leave.signal })
    const reader = r.body!.getReader()
    const first = await reader.read()
    t.regex(new TextDecoder().decode(first.value), /^data: \{"token":\d+,"index":0\}/)
    t.is(g.active, 1)
    const busy = await generatePost(JSON.stringify({ prompt: [1], maxNewTokens: 2 }), local.url)
    t.is(busy.status, 503, 'maxStreams: 1')
    t.is((await json(busy)).error?.code, 'E_BUSY')
    leave.abort()
    t.true(await until(() => g.active === 0), 'the stream ended')
    t.is(g.stats.aborted, 1)
    t.is(g.stats.done, 0)
    t.true(g.stats.tokens < 1000, `${g.stats.tokens} tokens sent of 1000`)
    t.log(`the client left after the first event; ${g.stats.tokens} tokens were sent`)
    const health = await (await fetch(`${local.url}/healthz`)).json()
    t.like(health, { status: 'ok', streams: 0 })
    const again = await readStream(local.url, { prompt: [1, 2, 3], maxNewTokens: 5 })
    t.is(again.tokens.length, 5)
  } finally {
    await local.close()
  }
})

test.serial('close(): streams in flight run to their done event (or, past drainMs, end with an error event); new ones are refused', async (t) => {
  for (const drainMs of [10_000, 30]) {
    const local = await serve({ port: 0, gpt: { dir: longDir, maxNewTokens: 1000, drainMs } })
    // Cut: long enough that both streams are still running 30 ms after close() on a fast machine.
    const req = { prompt: [1, 2, 3], maxNewTokens: drainMs === 30 ? 1000 : 300 }
    const streams = [readStream(local.url, req).catch((e: StreamError) => e), readStream(local.url, { ...req, prompt: [4] }).catch((e: StreamError) => e)]
    t.true(await until(() => local.gpt!.stats.tokens > 0 && local.gpt!.active === 2), 'both streams started')
    const closed = local.close()
    const refused = await generatePost(JSON.stringify(req), local.url).catch(() => null)
    if (refused !== null) t.true(refused.status === 503, `a new stream during close: ${refused.status}`)
    await closed
    const ended = await Promise.all(streams)
    if (drainMs === 10_000) {
      for (const s of ended) t.is((s as { tokens: number[] }).tokens.length, 300, 'drained to the end')
    } else {
      for (const s of ended) {
        t.true(s instanceof StreamError)
        t.is((s as StreamError).code, 'E_CLOSED')
        t.true((s as StreamError).tokens.length < 1000)
      }
    }
    t.is(local.gpt!.active, 0)
    await t.throwsAsync(fetch(`${local.url}/healthz`))
  }
})
