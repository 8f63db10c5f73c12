// An HTTP inference server on node:http: the digits classifier trained in Flax
// (examples/digits.ts; its weights mapped from examples/digits/digits.safetensors) behind a
// `Batcher`, so concurrent requests share one forward pass and the event loop stays free while
// it runs; and the GPT-2 example (examples/gpt2.ts), its
// tokens streamed as Server-Sent Events (examples/server-gpt.ts). `npm run serve` starts it
// (PORT, default 8080; GPT_DIR, a folder with config.json and model.safetensors, default the
// tiny test fixture).
//
//   GET  /healthz      {"status":"ok","pending":0,"inFlight":0,"batches":12,"streams":0}
//   POST /v1/digits    JSON {"image": 64 numbers (or 8 rows of 8)} or {"images": [...]}, or an
//                      application/octet-stream body of n × 64 float32 (little-endian)
//                      → {"labels": [n], "logits": [n × 10]}
//   POST /v1/generate  JSON {"prompt": [token ids], "maxNewTokens": n, "temperature"?, "topK"?, "seed"?}
//                      → text/event-stream: `data: {"token", "index"}` per token, then `event: done`
//
// Bad requests get a JSON error {"error": {"code", "message"}}: 400 for malformed JSON, a
// missing "image"/"images"/"prompt", wrong shapes, wrong types, non-finite or out-of-range
// values, a prompt + maxNewTokens over the model's positions (E_PROMPT_TOO_LONG); 404 / 405 for
// other paths and methods; 413 for bodies over `maxBodyBytes`; 503 while shutting down, when the
// batcher's queue is full or `gpt.maxStreams` streams are running. An error after a stream
// started is its last event (`event: error`). SIGTERM / SIGINT close it gracefully: no new
// connections, requests in flight answered and streams in flight run to their end (those still
// running after `gpt.drainMs`, default 10 s, end with an `error` event E_CLOSED), then the
// process exits.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Batcher, jnp, type BatcherOptions, type Tensor } from '../ts/index'
import { DIGITS_SAFETENSORS, loadClassifier } from './digits'
import { HttpError } from './http-error'
import { gptRoute, type GptOptions, type GptRoute } from './server-gpt'

const SIDE = 8
const PIXELS = SIDE * SIDE
const CLASSES = 10

export interface ServeOptions {
  port?: number
  host?: string
  /** Largest request body in bytes (default 1 MiB). */
  maxBodyBytes?: number
  /** Most images in one request (default 256). */
  maxImages?: number
  /** The classifier's weights: a `.safetensors` file (mapped) or the Flax msgpack checkpoint
   * (read); default examples/digits/digits.safetensors. */
  digitsWeights?: string
  batcher?: BatcherOptions
  /** The GPT route (/v1/generate); false: not served. */
  gpt?: GptOptions | false
}

export interface Running {
  server: Server
  url: string
  batcher: Batcher<(x: Tensor) => Tensor>
  gpt: GptRoute | null
  /** Stops taking connections, answers the requests in flight and drains the streams, then resolves. */
  close(): Promise<void>
}

export async function serve(options: ServeOptions = {}): Promise<Running> {
  const maxBodyBytes = options.maxBodyBytes ?? 1 << 20
  const maxImages = options.maxImages ?? 256
  const { model, variables } = loadClassifier(options.digitsWeights ?? DIGITS_SAFETENSORS)
  const gpt = options.gpt === false ? null : await gptRoute(options.gpt) // first: a bad folder leaves nothing running
  const batcher = new Batcher((x: Tensor) => model.apply(variables, x) as Tensor, { maxBatchSize: 64, maxWaitUs: 500, ...options.batcher })
  let closing = false

  const server = createServer((req, res) => {
    handle(req, res).catch((e) => fail(res, e, closing))
  })

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0]
    if (path === '/healthz') {
      if (req.method !== 'GET') throw new HttpError(405, 'E_METHOD', `${path} takes GET, got ${req.method}`)
      const status = { status: closing ? 'closing' : 'ok', pending: batcher.pending, inFlight: batcher.inFlight, batches: batcher.stats.batches, ...(gpt === null ? {} : { streams: gpt.active }) }
      return send(res, closing ? 503 : 200, status, closing)
    }
    if (path === '/v1/generate' && gpt !== null) {
      if (req.method !== 'POST') throw new HttpError(405, 'E_METHOD', `${path} takes POST, got ${req.method}`)
      if (closing) throw new HttpError(503, 'E_CLOSED', 'the server is shutting down')
      return gpt.handle(req, res, await readBody(req, maxBodyBytes))
    }
    if (path !== '/v1/digits') throw new HttpError(404, 'E_NOT_FOUND', `no route ${path}; try POST /v1/digits${gpt === null ? '' : ', POST /v1/generate'} or GET /healthz`)
    if (req.method !== 'POST') throw new HttpError(405, 'E_METHOD', `${path} takes POST, got ${req.method}`)
    if (closing) throw new HttpError(503, 'E_CLOSED', 'the server is shutting down')
    const body = await readBody(req, maxBodyBytes)
    const pixels = (req.headers['content-type'] ?? '').startsWith('application/octet-stream') ? fromBinary(body, maxImages) : fromJson(body, maxImages)
    const n = pixels.length / PIXELS
    // A client that goes away takes its rows out of the batch.
    const gone = new AbortController()
    res.on('close', () => res.writableFinished || gone.abort())
    const x = jnp.array(pixels).reshape([n, SIDE, SIDE, 1])
    let logits: Float32Array
    try {
      const y = await batcher.runWith({ signal: gone.signal }, x)
      logits = (y.data as Float32Array).slice() // a copy: disposing y detaches its view
      y.dispose()
    } finally {
      x.dispose()
    }
    const rows = Array.from({ length: n }, (_, i) => Array.from(logits.subarray(i * CLASSES, (i + 1) * CLASSES)))
    const labels = rows.map((r) => r.indexOf(Math.max(...r)))
    send(res, 200, { labels, logits: rows }, closing)
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 8080, options.host ?? '127.0.0.1', () => resolve())
  })
  const { port } = server.address() as AddressInfo
  let closed: Promise<void> | null = null
  return {
    server,
    url: `http://${options.host ?? '127.0.0.1'}:${port}`,
    batcher,
    gpt,
    close: () =>
      (closed ??= (async () => {
        closing = true
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()))
        server.closeIdleConnections()
        await batcher.close()
        // Streams started before close() run to their end (or drainMs); their keep-alive
        // connections are idle afterwards.
        await gpt?.close()
        server.closeIdleConnections()
        // The drained requests' responses say `connection: close`; sockets still open after a
        // grace period (a client that never reads) are cut.
        const cut = setTimeout(() => server.closeAllConnections(), 5000)
        await stopped
        clearTimeout(cut)
      })()),
  }
}

/** The body, refused with 413 past `limit` bytes. A body up to 64× the limit is read to its
 * end and dropped, so that the client, still sending, gets the 413 rather than a reset; past
 * that (declared or received) the connection is cut. */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const cap = 64 * limit
  const tooLarge = () => new HttpError(413, 'E_TOO_LARGE', `the body is over the limit of ${limit} bytes`)
  if (Number(req.headers['content-length'] ?? 0) > cap) {
    req.pause()
    return Promise.reject(tooLarge())
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (c: Buffer) => {
      size += c.length
      if (size <= limit) chunks.push(c)
      else if (size > cap) {
        req.destroy()
        reject(tooLarge())
      }
    })
    req.on('end', () => (size > limit ? reject(tooLarge()) : resolve(Buffer.concat(chunks))))
    req.on('error', reject)
  })
}

/** n × 64 float32 from a binary body. */
function fromBinary(body: Buffer, maxImages: number): Float32Array {
  const per = PIXELS * 4
  if (body.length === 0 || body.length % per !== 0) {
    throw new HttpError(400, 'E_SHAPE', `a binary body holds n images of ${PIXELS} float32 (${per} bytes each), got ${body.length} bytes`)
  }
  const n = body.length / per
  if (n > maxImages) throw new HttpError(400, 'E_SHAPE', `at most ${maxImages} images per request, got ${n}`)
  const out = new Float32Array(n * PIXELS)
  for (let i = 0; i < out.length; i++) out[i] = body.readFloatLE(4 * i)
  return checkFinite(out)
}

/** n × 64 values from {"image": …} or {"images": [...]}, each image 64 numbers or 8 rows of 8. */
function fromJson(body: Buffer, maxImages: number): Float32Array {
  let parsed: unknown
  try {
    parsed = JSON.parse(body.toString('utf8'))
  } catch (e) {
    throw new HttpError(400, 'E_JSON', `the body is not JSON: ${(e as Error).message}`)
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new HttpError(400, 'E_ARG', 'expected a JSON object with "image" or "images"')
  const o = parsed as { image?: unknown; images?: unknown }
  const images = o.images !== undefined ? o.images : o.image !== undefined ? [o.image] : undefined
  if (!Array.isArray(images) || images.length === 0) throw new HttpError(400, 'E_ARG', 'expected "image" (64 numbers, or 8 rows of 8) or "images" (a non-empty array of them)')
  if (images.length > maxImages) throw new HttpError(400, 'E_SHAPE', `at most ${maxImages} images per request, got ${images.length}`)
  const out = new Float32Array(images.length * PIXELS)
  images.forEach((img, i) => {
    const flat = Array.isArray(img) && img.length === SIDE && img.every((r) => Array.isArray(r)) ? (img as unknown[][]).flat() : img
    if (!Array.isArray(flat) || flat.length !== PIXELS) {
      const got = Array.isArray(img) ? `an array of ${img.length}` : img === null ? 'null' : typeof img
      throw new HttpError(400, 'E_SHAPE', `image ${i}: expected ${PIXELS} numbers (or ${SIDE} rows of ${SIDE}), got ${got}`)
    }
    flat.forEach((v, j) => {
      if (typeof v !== 'number') throw new HttpError(400, 'E_DTYPE', `image ${i}: value ${j} must be a number, got ${v === null ? 'null' : typeof v}`)
      out[i * PIXELS + j] = v
    })
  })
  return checkFinite(out)
}

function checkFinite(x: Float32Array): Float32Array {
  const i = x.findIndex((v) => !Number.isFinite(v))
  if (i >= 0) throw new HttpError(400, 'E_VALUE', `value ${i} is ${x[i]}; pixels must be finite`)
  return x
}

/** Writes `body` as JSON; `close` ends the connection after it (shutting down, or a body left unread). */
function send(res: ServerResponse, status: number, body: unknown, close: boolean): void {
  if (res.headersSent) return
  const text = JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...(close ? { connection: 'close' } : {}) })
  res.end(text)
}

function fail(res: ServerResponse, e: unknown, closing: boolean): void {
  const err = e as { code?: unknown; message?: string; name?: string }
  if (e instanceof HttpError) return send(res, e.status, { error: { code: e.code, message: e.message } }, closing || e.status === 413)
  if (err?.name === 'AbortError') return // the client is gone
  const busy = err?.code === 'E_QUEUE_FULL' || err?.code === 'E_CLOSED'
  send(res, busy ? 503 : 500, { error: { code: typeof err?.code === 'string' ? err.code : 'E_INTERNAL', message: String(err?.message ?? e) } }, closing)
}

async function main(): Promise<void> {
  const running = await serve({ port: Number(process.env.PORT ?? 8080), host: process.env.HOST ?? '0.0.0.0', gpt: process.env.GPT_DIR ? { dir: process.env.GPT_DIR } : {} })
  const gpt = running.gpt === null ? '' : ` and GPT-2 from ${running.gpt.dir} (POST /v1/generate)`
  console.log(`serving the digits classifier on ${running.url} (POST /v1/digits, GET /healthz)${gpt}`)
  const stop = (signal: string) => {
    console.log(`${signal}: draining`)
    running.close().then(() => process.exit(0))
  }
  process.once('SIGTERM', () => stop('SIGTERM'))
  process.once('SIGINT', () => stop('SIGINT'))
}

if (require.main === module) void main()
