// The GPT route of examples/server.ts: POST /v1/generate streams the tokens of examples/gpt2.ts's
// `generate` as Server-Sent Events, one event per token as it is decoded.
//
//   POST /v1/generate  JSON {"prompt": [token ids], "maxNewTokens": n (default 16),
//                      "temperature": t (optional; > 0 samples, absent or 0 is greedy),
//                      "topK": k (sampling only, default 50; 0 = all), "seed": s (default 0)}
//   → text/event-stream:  data: {"token": 464, "index": 0}            one per new token
//                         event: done   data: {"tokens": n, "promptTokens": p, "ms": …, "firstTokenMs": …}
//                     or  event: error  data: {"code": …, "message": …}  (after the stream started)
//
// Token ids, not text: there is no tokenizer here. The weights are mapped at start
// (`safetensors.loadFile` through loadGpt2's `weights: 'safetensors'`): no copy, and workers
// serving one file share its pages. Each stream has its own KV cache; every decode step runs
// with `f.async`, so the event loop serves other requests and streams between and during steps
// (the steps of concurrent streams queue on the async pool in turn). A client that disconnects
// aborts its step in flight and frees its cache.
//
// Plans: a step is two jit'd functions, the model (`makeForward`: logits of the last position,
// the cache written in place) and the choice of the token (`makeChoice`: argmax, or temperature,
// top-k and a draw). A decode plan (one row) keeps the transposed kernels between calls (on
// GPT-2 small ~500 MB, private to the process: the matrix-vector product streams them fastest);
// prompt plans read the kernels where they lie. Their number is bounded: one per prompt length
// and cache length, at most `planCache` kept (least recently used dropped), and
// the cache is allocated at prompt + maxNewTokens rounded up to `cacheBucket` positions so that
// requests of other lengths share the decode plan. Sampling settings only pick the choice
// function, whose plans are small: `maxSamplers` kept, so a client choosing a new temperature
// each time costs a trace of a few ops, not memory.
import type { IncomingMessage, ServerResponse } from 'node:http'
import { jit, jnp, random, tree, type AsyncOptions, type Jitted, type Tensor, type Variables } from '../ts/index'
import { FIXTURE_DIR, generate, loadGpt2, makeChoice, makeForward, type AsyncStep, type GPT2Config, type LoadedGpt2, type StepOutput } from './gpt2'
import { HttpError } from './http-error'

export interface GptOptions {
  /** A folder with config.json and model.safetensors (default: the tiny test fixture). */
  dir?: string
  /** Most new tokens one request may ask for (default 256, at most n_positions - 1). */
  maxNewTokens?: number
  /** Streams at once; more get 503 E_BUSY (default 32). */
  maxStreams?: number
  /** The cache length is rounded up to a multiple of this (default 64; capped at n_positions). */
  cacheBucket?: number
  /** The model's plans kept (default 8; a decode plan holds the transposed kernels: ~500 MB on GPT-2 small). */
  planCache?: number
  /** Sampling settings with a compiled choice kept (default 16; greedy's is always kept). */
  maxSamplers?: number
  /** At close, streams still running after this many ms end with an `error` event E_CLOSED (default 10 s). */
  drainMs?: number
}

export interface GptStats {
  /** Streams started, finished with `done`, ended by the client, ended by an error. */
  streams: number
  done: number
  aborted: number
  failed: number
  /** Tokens sent. */
  tokens: number
}

export interface GptRoute {
  loaded: LoadedGpt2
  readonly dir: string
  /** Streams running now. */
  readonly active: number
  readonly stats: GptStats
  /** Streams a validated request (throws HttpError for a bad one, before any byte is sent). */
  handle(req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<void>
  /** Waits for the running streams (ended with E_CLOSED after `drainMs`). */
  close(): Promise<void>
}

/** A validated request. */
export interface GenerateRequest {
  prompt: number[]
  maxNewTokens: number
  /** 0: greedy. */
  temperature: number
  topK: number
  seed: number
}

const DEFAULT_NEW_TOKENS = 16

const typeName = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v)

/** The request in `body`, or an HttpError saying what is wrong with it. */
export function parseGenerate(body: Buffer, config: GPT2Config, maxNewTokens: number): GenerateRequest {
  let o: unknown
  try {
    o = JSON.parse(body.toString('utf8'))
  } catch (e) {
    throw new HttpError(400, 'E_JSON', `the body is not JSON: ${(e as Error).message}`)
  }
  if (o === null || typeof o !== 'object' || Array.isArray(o)) throw new HttpError(400, 'E_ARG', 'expected a JSON object with "prompt" (an array of token ids)')
  const r = o as Record<string, unknown>
  if (r.prompt === undefined) throw new HttpError(400, 'E_ARG', 'missing "prompt" (an array of token ids)')
  if (typeof r.prompt === 'string') throw new HttpError(400, 'E_DTYPE', '"prompt" must be token ids, not text (this server has no tokenizer)')
  if (!Array.isArray(r.prompt)) throw new HttpError(400, 'E_SHAPE', `"prompt" must be an array of token ids, got ${typeName(r.prompt)}`)
  const prompt = r.prompt as unknown[]
  if (prompt.length === 0) throw new HttpError(400, 'E_SHAPE', '"prompt" must be a non-empty array of token ids')
  // Before looking at each id: a body of up to maxBodyBytes can hold ~500k of them.
  if (prompt.length >= config.nPositions) {
    throw new HttpError(400, 'E_PROMPT_TOO_LONG', `the prompt (${prompt.length} tokens) leaves no room for a new token in the model's ${config.nPositions} positions`)
  }
  const vocab = config.vocabSize
  prompt.forEach((v, i) => {
    if (Array.isArray(v)) throw new HttpError(400, 'E_SHAPE', `"prompt" must be a flat array of token ids; element ${i} is an array`)
    if (typeof v !== 'number' || !Number.isInteger(v)) throw new HttpError(400, 'E_DTYPE', `"prompt"[${i}] must be an integer token id, got ${typeof v === 'number' ? v : typeName(v)}`)
    if (v < 0 || v >= vocab) throw new HttpError(400, 'E_VALUE', `"prompt"[${i}] is ${v}; token ids are in [0, ${vocab})`)
  })
  const int = (name: string, fallback: number, lo: number, hi: number): number => {
    const v = r[name]
    if (v === undefined || v === null) return fallback
    if (typeof v !== 'number' || !Number.isInteger(v)) throw new HttpError(400, 'E_DTYPE', `"${name}" must be an integer, got ${typeof v === 'number' ? v : typeName(v)}`)
    if (v < lo || v > hi) throw new HttpError(400, 'E_VALUE', `"${name}" is ${v}; it must be in [${lo}, ${hi}]`)
    return v
  }
  const n = int('maxNewTokens', Math.min(DEFAULT_NEW_TOKENS, maxNewTokens), 1, maxNewTokens)
  if (prompt.length + n > config.nPositions) {
    throw new HttpError(400, 'E_PROMPT_TOO_LONG', `the prompt (${prompt.length} tokens) + maxNewTokens (${n}) is over the model's ${config.nPositions} positions`)
  }
  let temperature = 0
  if (r.temperature !== undefined && r.temperature !== null) {
    if (typeof r.temperature !== 'number') throw new HttpError(400, 'E_DTYPE', `"temperature" must be a number, got ${typeName(r.temperature)}`)
    if (!Number.isFinite(r.temperature) || r.temperature < 0 || r.temperature > 100) throw new HttpError(400, 'E_VALUE', `"temperature" is ${r.temperature}; it must be in [0, 100] (0: greedy)`)
    temperature = r.temperature
  }
  const topK = int('topK', 50, 0, vocab)
  const seed = int('seed', 0, 0, 2 ** 32 - 1)
  return { prompt: prompt as number[], maxNewTokens: n, temperature, topK, seed }
}

/** Resolves once the response is written out (or its connection gone): then close() may cut idle sockets. */
const flushed = (res: ServerResponse) =>
  new Promise<void>((resolve) => {
    if (res.writableFinished || res.destroyed) return resolve()
    res.once('finish', resolve)
    res.once('close', resolve)
  })

/** One SSE event; `event` absent: the default `message` event. */
const sse = (data: unknown, event?: string) => `${event === undefined ? '' : `event: ${event}\n`}data: ${JSON.stringify(data)}\n\n`

/** Loads the model (mapped) and returns the route; a warm-up traces the decode step. */
export async function gptRoute(options: GptOptions = {}): Promise<GptRoute> {
  const dir = options.dir ?? FIXTURE_DIR
  const loaded = loadGpt2(dir, { weights: 'safetensors' })
  const { config, model, variables } = loaded
  const maxNewTokens = Math.max(1, Math.min(options.maxNewTokens ?? 256, config.nPositions - 1))
  const maxStreams = options.maxStreams ?? 32
  const bucket = options.cacheBucket ?? 64
  const planCache = options.planCache ?? 8
  const maxSamplers = options.maxSamplers ?? 16
  const drainMs = options.drainMs ?? 10_000
  const forward = jit(makeForward(model), { donateArgnums: 1, cacheSize: planCache })
  type Choice = ReturnType<typeof makeChoice>
  const compileChoice = (temperature: number, topK: number): Jitted<Choice> => jit(makeChoice(temperature > 0 ? { doSample: true, temperature, topK } : {}))
  const greedyChoice = compileChoice(0, 0)
  // Least recently used first (a Map keeps insertion order).
  const samplers = new Map<string, Jitted<Choice>>()
  const choiceFor = (temperature: number, topK: number): Jitted<Choice> => {
    if (temperature === 0) return greedyChoice
    const key = `${temperature}/${topK}`
    let choice = samplers.get(key)
    if (choice !== undefined) samplers.delete(key)
    else choice = compileChoice(temperature, topK)
    samplers.set(key, choice)
    if (samplers.size > maxSamplers) samplers.delete(samplers.keys().next().value as string)
    return choice
  }
  /** `makeStep`'s work as two plans: the same ops, so the same tokens. */
  const stepFor = (temperature: number, topK: number): AsyncStep => {
    const choose = choiceFor(temperature, topK)
    const run = async (o: AsyncOptions, params: Variables[string], cache: Variables, ids: Tensor, mask: Tensor, positions: Tensor, key: random.Key): Promise<StepOutput> => {
      const f = await forward.asyncWith(o, params, cache, ids, mask, positions)
      try {
        const c = await choose.asyncWith(o, f.last, key)
        return { token: c.token, cache: f.cache, positionIds: f.positionIds, key: c.key }
      } catch (e) {
        // generate never sees this cache (its own was donated to the forward): free it here.
        for (const t of tree.leaves(f.cache) as Tensor[]) t.dispose()
        throw e
      } finally {
        f.last.dispose()
      }
    }
    return { async: (...a) => run({}, ...a), asyncWith: (o, ...a) => run(o, ...a) }
  }
  const cacheLength = (n: number) => Math.min(config.nPositions, Math.ceil(n / bucket) * bucket)

  const stats: GptStats = { streams: 0, done: 0, aborted: 0, failed: 0, tokens: 0 }
  /** Running streams: the controller that ends each early (at close, after drainMs). */
  const running = new Map<Promise<void>, AbortController>()

  // Trace the prefill of one token and the first bucket's decode step now, not in a request.
  for await (const _ of generate(model, variables, jnp.array([[0]], 'int32'), { maxNewTokens: 2, step: stepFor(0, 0), cacheLength: cacheLength(2) }));

  /** `stop`: aborted by the client going away, or by close() after drainMs; stops the step in flight. */
  async function stream(req: IncomingMessage, res: ServerResponse, r: GenerateRequest, stop: AbortController): Promise<void> {
    const start = performance.now()
    const gone = () => res.writableFinished || stop.abort(new HttpError(499, 'E_GONE', 'the client disconnected'))
    res.on('close', gone)
    req.socket.setNoDelay(true) // one small write per token: no Nagle delay
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      'x-accel-buffering': 'no', // a proxy in front (nginx) must not buffer the stream either
    })
    res.flushHeaders()
    let index = 0
    let firstTokenMs: number | null = null
    const ids = jnp.array([r.prompt], 'int32')
    try {
      const tokens = generate(model, variables, ids, {
        maxNewTokens: r.maxNewTokens,
        doSample: r.temperature > 0,
        temperature: r.temperature > 0 ? r.temperature : 1,
        topK: r.topK,
        key: random.key(r.seed),
        step: stepFor(r.temperature, r.topK),
        cacheLength: cacheLength(r.prompt.length + r.maxNewTokens),
        signal: stop.signal,
      })
      for await (const [token] of tokens) {
        firstTokenMs ??= performance.now() - start
        res.write(sse({ token, index: index++ }))
        stats.tokens++
      }
      res.end(sse({ tokens: index, promptTokens: r.prompt.length, ms: performance.now() - start, firstTokenMs }, 'done'))
      stats.done++
      await flushed(res)
    } catch (e) {
      if (stop.signal.aborted && res.destroyed) {
        stats.aborted++
        return
      }
      stats.failed++
      const err = (stop.signal.aborted ? stop.signal.reason : e) as { code?: unknown; message?: string }
      if (!res.destroyed) {
        res.end(sse({ code: typeof err?.code === 'string' ? err.code : 'E_INTERNAL', message: String(err?.message ?? e), tokens: index }, 'error'))
        await flushed(res)
      }
    } finally {
      res.off('close', gone)
      ids.dispose() // generate ran on its own copy
    }
  }

  return {
    loaded,
    dir,
    get active() {
      return running.size
    },
    stats,
    async handle(req, res, body) {
      const r = parseGenerate(body, config, maxNewTokens)
      if (running.size >= maxStreams) throw new HttpError(503, 'E_BUSY', `${running.size} streams are running, the most this server takes; retry later`)
      stats.streams++
      const stop = new AbortController()
      const p = stream(req, res, r, stop)
      running.set(p, stop)
      try {
        await p
      } finally {
        running.delete(p)
      }
    },
    async close() {
      if (running.size === 0) return
      const all = Promise.all(running.keys())
      let timer: NodeJS.Timeout | undefined
      const late = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, drainMs)
      })
      await Promise.race([all, late])
      clearTimeout(timer)
      for (const c of running.values()) c.abort(new HttpError(503, 'E_CLOSED', `the server is shutting down; the stream was ended after ${drainMs} ms`))
      await all
    },
  }
}

