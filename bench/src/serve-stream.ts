// Load on a token-streaming endpoint (examples/server.ts's POST /v1/generate: Server-Sent
// Events, `data: {"token", "index"}` per token, then `event: done` or `event: error`): N streams
// open at once, each client opening its next when one ends, and per stream the time to first
// token (from sending the request to its first token event) and the decode rate after it. The
// clock is the client's, so the figures include HTTP and the event loop, as a user sees them.
// Plain `fetch`: it runs against any server speaking that protocol (an onnxruntime one too).
import type { Measurement } from './types'

export interface StreamRequest {
  prompt: number[]
  maxNewTokens: number
  temperature?: number
  topK?: number
  seed?: number
}

export interface StreamLoadOptions {
  /** Streams open at once. */
  concurrency: number
  /** Streams in all (default: `concurrency`, one round). */
  streams?: number
  /** The request of stream i (a fixed one, or per stream). */
  request: StreamRequest | ((i: number) => StreamRequest)
  /** Default `/v1/generate`. */
  path?: string
  /** Streams started first and not counted (default 0): the server's traces, the client's sockets. */
  warmup?: number
  signal?: AbortSignal
}

/** One stream as the client saw it. */
export interface StreamResult {
  tokens: number[]
  /** Request sent → first token event. */
  ttftMs: number
  /** Request sent → the `done` event. */
  totalMs: number
  /** Tokens after the first over the time after the first (NaN for one token). */
  decodeTokensPerSec: number
  /** Gaps between consecutive token events. */
  gapsMs: number[]
  /** The `done` event's data (the server's own summary). */
  done: Record<string, unknown>
}

export interface Summary {
  n: number
  mean: number
  p50: number
  p90: number
  p99: number
  min: number
  max: number
}

export interface StreamLoadReport {
  concurrency: number
  streams: number
  /** Streams that did not end with `done`, and why (first 10). */
  failed: number
  errors: string[]
  ttftMs: Summary
  /** Per stream, tokens/s after the first token. */
  decodeTokensPerSec: Summary
  /** Gaps between token events, over all streams: a stalled stream shows in p99. */
  interTokenMs: Summary
  /** Every token received over the wall time of the measured streams. */
  aggregateTokensPerSec: number
  tokens: number
  wallMs: number
}

/** A stream's protocol error: the server's `error` event, a non-200 answer, or a cut stream. */
export class StreamError extends Error {
  constructor(
    readonly code: string,
    message: string,
    /** Tokens received before it. */
    readonly tokens: number[] = [],
  ) {
    super(message)
  }
}

export function summary(xs: number[]): Summary {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b)
  if (v.length === 0) return { n: 0, mean: NaN, p50: NaN, p90: NaN, p99: NaN, min: NaN, max: NaN }
  const q = (p: number) => v[Math.min(v.length - 1, Math.floor(p * v.length))]
  return { n: v.length, mean: v.reduce((a, b) => a + b, 0) / v.length, p50: q(0.5), p90: q(0.9), p99: q(0.99), min: v[0], max: v[v.length - 1] }
}

/** Opens one stream and reads it to its end. Rejects with StreamError unless it ends with `done`. */
export async function readStream(baseUrl: string, request: StreamRequest, { path = '/v1/generate', signal }: { path?: string; signal?: AbortSignal } = {}): Promise<StreamResult> {
  const t0 = performance.now()
  const res = await fetch(new URL(path, baseUrl), { method: 'POST', body: JSON.stringify(request), headers: { 'content-type': 'application/json', accept: 'text/event-stream' }, signal })
  if (res.status !== 200 || !(res.headers.get('content-type') ?? '').startsWith('text/event-stream')) {
    const text = await res.text()
    let code = `HTTP_${res.status}`
    try {
      code = (JSON.parse(text) as { error?: { code?: string } }).error?.code ?? code
    } catch {
      // not JSON: keep the status
    }
    throw new StreamError(code, `${res.status}: ${text.slice(0, 200)}`)
  }
  const tokens: number[] = []
  const times: number[] = []
  let done: Record<string, unknown> | null = null
  let buffered = ''
  const decoder = new TextDecoder()
  const onEvent = (block: string) => {
    let event = 'message'
    let data = ''
    for (const line of block.split('\n')) {
      if (line.startsWith('event:')) event = line.slice(6).trim()
      else if (line.startsWith('data:')) data += line.slice(5).trim()
    }
    const value = JSON.parse(data) as Record<string, unknown>
    if (event === 'message') {
      times.push(performance.now())
      tokens.push(value.token as number)
    } else if (event === 'done') done = value
    else if (event === 'error') throw new StreamError(String(value.code), String(value.message), tokens)
  }
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    buffered += decoder.decode(chunk, { stream: true })
    let end: number
    while ((end = buffered.indexOf('\n\n')) >= 0) {
      onEvent(buffered.slice(0, end))
      buffered = buffered.slice(end + 2)
    }
  }
  if (done === null) throw new StreamError('E_CUT', `the stream ended after ${tokens.length} tokens without a done event`, tokens)
  const totalMs = performance.now() - t0
  const gapsMs = times.slice(1).map((t, i) => t - times[i])
  const decodeMs = times.length > 1 ? times[times.length - 1] - times[0] : NaN
  return { tokens, ttftMs: times.length > 0 ? times[0] - t0 : NaN, totalMs, decodeTokensPerSec: ((tokens.length - 1) / decodeMs) * 1000, gapsMs, done }
}

/** Runs `streams` streams, `concurrency` at a time, against `baseUrl` and summarizes them. */
export async function measureStreams(baseUrl: string, options: StreamLoadOptions): Promise<StreamLoadReport> {
  const { concurrency, path, signal } = options
  const streams = options.streams ?? concurrency
  const requestOf = (i: number) => (typeof options.request === 'function' ? options.request(i) : options.request)
  for (let i = 0; i < (options.warmup ?? 0); i++) await readStream(baseUrl, requestOf(i), { path, signal })
  const results: StreamResult[] = []
  const errors: string[] = []
  let failed = 0
  let cutTokens = 0
  let next = 0
  const t0 = performance.now()
  const client = async () => {
    while (next < streams) {
      const i = next++
      try {
        results.push(await readStream(baseUrl, requestOf(i), { path, signal }))
      } catch (e) {
        if (signal?.aborted) throw e
        failed++
        if (e instanceof StreamError) cutTokens += e.tokens.length
        if (errors.length < 10) errors.push(`stream ${i}: ${(e as Error).message}`)
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, streams) }, client))
  const wallMs = performance.now() - t0
  const tokens = results.reduce((n, r) => n + r.tokens.length, cutTokens)
  return {
    concurrency,
    streams,
    failed,
    errors,
    ttftMs: summary(results.map((r) => r.ttftMs)),
    decodeTokensPerSec: summary(results.map((r) => r.decodeTokensPerSec)),
    interTokenMs: summary(results.flatMap((r) => r.gapsMs)),
    aggregateTokensPerSec: (tokens / wallMs) * 1000,
    tokens,
    wallMs,
  }
}

/**
 * The report as a suite's cells: `ttft` (median ms; lower is better) and `tokensPerSec`
 * (aggregate over all streams; higher is better), the rest in `extra`.
 */
export function streamMeasurements(r: StreamLoadReport): { ttft: Measurement; tokensPerSec: Measurement } {
  const extra = {
    concurrency: r.concurrency,
    streams: r.streams,
    failed: r.failed,
    ttftP90Ms: r.ttftMs.p90,
    ttftP99Ms: r.ttftMs.p99,
    decodeTokensPerSecP50: r.decodeTokensPerSec.p50,
    interTokenP99Ms: r.interTokenMs.p99,
    wallMs: r.wallMs,
    tokens: r.tokens,
  }
  return { ttft: { value: r.ttftMs.p50, extra }, tokensPerSec: { value: r.aggregateTokensPerSec, extra } }
}
