// Dynamic batching for serving: concurrent requests to one function merged along axis 0 into
// one `jit` run on the async pool, the outputs split back per request. A server handling one
// image per request runs its model once per batch instead of once per request, while the JS
// thread keeps serving.
//
// Requests with the same signature (tree structure, dtypes, shapes past axis 0) share a queue;
// others never meet (a malformed request fails alone). A batch runs when its queue holds
// `maxBatchSize` rows, when its oldest request has waited `maxWaitUs`, or at `close()`, and only
// while fewer than `maxInFlight` batches run: requests arriving meanwhile form the next batch.
// Merged rows are padded with zeros up to the next of `sizes`, so `jit` traces a few batch
// sizes only. The function must treat rows independently (inference does; a train-mode
// BatchNorm does not). Results equal unbatched calls' within rounding: a product over 1 row
// and over 32 may take different kernels, as in XLA.
import { abortError, jit, type Jitted } from './jit'
import { codedError, codedRangeError, codedTypeError, optionsArg } from './coded-error'
import { concatenate, zeros } from './jnp'
import { slice } from './lax'
import { Tensor, describe, isTensor } from './tensor'
import { flatten, unflatten, type TreeDef } from './tree'

export interface BatcherOptions {
  /** Most rows (along axis 0, summed over the requests) in one run. Default 32. */
  maxBatchSize?: number
  /** Longest a request waits for others before its batch runs, in µs. Default 1000. Timers
   * tick in milliseconds: under 1000, the batch runs at the next turn of the event loop. */
  maxWaitUs?: number
  /** Most requests waiting to run; beyond it `run` rejects with code E_QUEUE_FULL. Default 1024. */
  maxQueue?: number
  /** Batches running at once. Default 1. */
  maxInFlight?: number
  /** Row counts a merged batch is padded up to (with zeros). Default: the powers of two below
   * `maxBatchSize`, and `maxBatchSize`. `[]` pads nothing. */
  sizes?: readonly number[]
}

export interface BatchRunOptions {
  /** Cancels the request: it leaves the queue, or its rows of a running batch are dropped. */
  signal?: AbortSignal
}

interface Request {
  leaves: Tensor[]
  rows: number
  key: string
  treedef: TreeDef
  since: number
  resolve: (v: any) => void
  reject: (e: unknown) => void
  signal?: AbortSignal
  onAbort?: () => void
  /** Settled already (aborted): its rows are dropped. */
  done: boolean
}

const positiveInt = (v: unknown, what: string, dflt: number): number => {
  if (v === undefined) return dflt
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 2 ** 31) {
    throw codedRangeError('E_ARG', `Batcher: ${what} must be an integer in 1 ..= 2^31, got ${describe(v)}`)
  }
  return v
}

export class Batcher<F extends (...args: any[]) => any> {
  readonly maxBatchSize: number
  readonly maxWaitUs: number
  readonly maxQueue: number
  readonly maxInFlight: number
  readonly sizes: readonly number[]
  private readonly fn: Jitted<F>
  private readonly queues = new Map<string, Request[]>()
  private queued = 0
  private running = 0
  private ran = { batches: 0, requests: 0, rows: 0 }
  private closing: Promise<void> | null = null
  private drained: (() => void) | null = null
  private timer: { at: number; cancel: () => void } | null = null

  /** `fn` takes tensors (or trees of them) whose axis 0 is the batch; it is jitted unless it is already. */
  constructor(fn: F | Jitted<F>, options?: BatcherOptions) {
    if (typeof fn !== 'function') throw codedTypeError(`Batcher: fn must be a function, got ${describe(fn)}`)
    const o = optionsArg(options, 'Batcher') as BatcherOptions
    this.maxBatchSize = positiveInt(o.maxBatchSize, 'maxBatchSize', 32)
    this.maxQueue = positiveInt(o.maxQueue, 'maxQueue', 1024)
    this.maxInFlight = positiveInt(o.maxInFlight, 'maxInFlight', 1)
    if (o.maxWaitUs !== undefined && (typeof o.maxWaitUs !== 'number' || !Number.isFinite(o.maxWaitUs) || o.maxWaitUs < 0 || o.maxWaitUs > 60e6)) {
      throw codedRangeError('E_ARG', `Batcher: maxWaitUs must be a number of µs in 0 ..= 60e6, got ${describe(o.maxWaitUs)}`)
    }
    this.maxWaitUs = o.maxWaitUs ?? 1000
    this.sizes = this.checkSizes(o.sizes)
    this.fn = typeof (fn as Jitted<F>).asyncWith === 'function' ? (fn as Jitted<F>) : jit(fn as F)
  }

  /** Requests waiting to run. */
  get pending(): number {
    return this.queued
  }

  /** Batches running now. */
  get inFlight(): number {
    return this.running
  }

  /** Batches run so far, the requests they served and their rows (before padding). */
  get stats(): { batches: number; requests: number; rows: number } {
    return { ...this.ran }
  }

  /** `fn(...args)` as part of a batch: its rows of the batch's outputs, in `fn`'s output structure. */
  run(...args: Parameters<F>): Promise<Awaited<ReturnType<F>>> {
    return this.runWith({}, ...args)
  }

  /** `run` with options (an AbortSignal). */
  runWith(options: BatchRunOptions, ...args: Parameters<F>): Promise<Awaited<ReturnType<F>>> {
    return new Promise((resolve, reject) => {
      const o = optionsArg(options, 'Batcher.runWith') as BatchRunOptions
      if (this.closing) throw codedError('E_CLOSED', 'Batcher: closed, no new requests are taken')
      if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) throw codedTypeError(`Batcher.runWith: signal must be an AbortSignal, got ${describe(o.signal)}`)
      if (o.signal?.aborted) throw abortError(o.signal, 'Batcher')
      if (this.queued >= this.maxQueue) throw codedError('E_QUEUE_FULL', `Batcher: the queue is full (maxQueue ${this.maxQueue} requests waiting)`)
      const r = this.request(args, resolve, reject)
      if (o.signal) {
        const signal = o.signal
        r.signal = signal
        r.onAbort = () => this.abort(r, abortError(signal, 'Batcher'))
        signal.addEventListener('abort', r.onAbort, { once: true })
      }
      const q = this.queues.get(r.key) ?? []
      if (q.length === 0) this.queues.set(r.key, q)
      q.push(r)
      this.queued++
      this.pump()
    })
  }

  /** Takes no new requests, runs the queued ones at once, and settles when every batch has finished. */
  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      this.drained = resolve
    })
    this.pump()
    return this.closing
  }

  private checkSizes(sizes: unknown): number[] {
    if (sizes === undefined) {
      const out: number[] = []
      for (let s = 1; s < this.maxBatchSize; s *= 2) out.push(s)
      return [...out, this.maxBatchSize]
    }
    if (!Array.isArray(sizes) || sizes.length > 64) throw codedTypeError(`Batcher: sizes must be an array of at most 64 row counts, got ${describe(sizes)}`)
    sizes.forEach((s, i) => positiveInt(s, `sizes[${i}]`, 0))
    return [...sizes].sort((a, b) => a - b)
  }

  /** A request for `args`, checked: tensors only, each with the same rows along axis 0. */
  private request(args: unknown[], resolve: (v: any) => void, reject: (e: unknown) => void): Request {
    const [leaves, treedef] = flatten(args)
    if (leaves.length === 0) throw codedError('E_ARG', 'Batcher.run: expected at least one tensor argument')
    let rows = -1
    const sig: string[] = []
    leaves.forEach((l, i) => {
      if (!isTensor(l)) throw codedTypeError(`Batcher.run: argument leaf ${i} must be a Tensor (axis 0 is the batch), got ${describe(l)}`)
      // Read when its batch runs: a disposed one would fail its batch-mates too.
      if (l.isDisposed) throw codedError('E_DISPOSED', `Batcher.run: argument leaf ${i} was disposed`)
      const shape = l.shape
      if (shape.length === 0 || shape[0] === 0) throw codedError('E_SHAPE', `Batcher.run: argument leaf ${i} needs rows along axis 0, got shape [${shape.join(', ')}]`)
      if (rows >= 0 && shape[0] !== rows) {
        throw codedError('E_SHAPE', `Batcher.run: every argument leaf needs the same rows along axis 0: leaf 0 has ${rows}, leaf ${i} has shape [${shape.join(', ')}]`)
      }
      rows = shape[0]
      sig.push(`${l.dtype}[${shape.slice(1).join(',')}]`)
    })
    return { leaves: leaves as Tensor[], rows, key: `${treedef.toString()}|${sig.join(';')}`, treedef, since: performance.now(), resolve, reject, done: false }
  }

  private abort(r: Request, err: Error): void {
    if (r.done) return
    r.done = true
    for (const [key, q] of this.queues) {
      const i = q.indexOf(r)
      if (i < 0) continue
      q.splice(i, 1)
      this.queued--
      if (q.length === 0) this.queues.delete(key)
      break
    }
    r.reject(err)
    this.pump()
  }

  /** Runs every batch that is due while slots are free, then arms the timer for the next one.
   * From the timer, deadlines within `slackMs` count as reached: timers tick in milliseconds,
   * and a wait under one is the next turn of the loop, not a spin until it has passed. */
  private pump(slackMs = 0): void {
    const now = performance.now()
    while (this.running < this.maxInFlight) {
      const q = this.due(now + slackMs)
      if (!q) break
      this.dispatch(q)
    }
    if (this.closing && this.queued === 0 && this.running === 0) this.drained?.()
    this.arm(now)
  }

  /** The queue whose batch should run now (full, waited long enough, or closing), oldest first. */
  private due(now: number): Request[] | undefined {
    let best: Request[] | undefined
    for (const q of this.queues.values()) {
      const rows = q.reduce((s, r) => s + r.rows, 0)
      const ready = this.closing !== null || rows >= this.maxBatchSize || (now - q[0].since) * 1000 >= this.maxWaitUs
      if (ready && (!best || q[0].since < best[0].since)) best = q
    }
    return best
  }

  /** One timer for the earliest deadline among the waiting queues. None while every slot is
   * busy: a finishing batch pumps (a deadline already passed would otherwise spin the loop). */
  private arm(now: number): void {
    let at = Infinity
    if (this.running < this.maxInFlight) for (const q of this.queues.values()) at = Math.min(at, q[0].since + this.maxWaitUs / 1000)
    if (this.timer && this.timer.at <= at) return
    this.timer?.cancel()
    this.timer = null
    if (at === Infinity) return
    const fire = () => {
      this.timer = null
      this.pump(1)
    }
    const ms = at - now
    if (ms < 1) {
      const h = setImmediate(fire)
      this.timer = { at, cancel: () => clearImmediate(h) }
    } else {
      const h = setTimeout(fire, Math.ceil(ms))
      this.timer = { at, cancel: () => clearTimeout(h) }
    }
  }

  /** Takes up to `maxBatchSize` rows from the head of `q` (at least one request) and runs them. */
  private dispatch(q: Request[]): void {
    const batch: Request[] = []
    let rows = 0
    while (q.length > 0 && (batch.length === 0 || rows + q[0].rows <= this.maxBatchSize)) {
      const r = q.shift()!
      batch.push(r)
      rows += r.rows
    }
    this.queued -= batch.length
    if (q.length === 0) this.queues.delete(batch[0].key)
    this.running++
    this.ran.batches++
    this.ran.requests += batch.length
    this.ran.rows += rows
    void this.execute(batch, rows).finally(() => {
      this.running--
      this.pump()
    })
  }

  private async execute(batch: Request[], rows: number): Promise<void> {
    const padded = this.sizes.find((s) => s >= rows) ?? rows
    const made: Tensor[] = []
    let outLeaves: Tensor[] = []
    let outDef: TreeDef
    try {
      // One request filling its batch runs on its own tensors; otherwise each leaf is the
      // requests' rows concatenated, then zero rows up to the padded size.
      const inputs = batch[0].leaves.map((first, i) => {
        if (batch.length === 1 && padded === rows) return first
        const parts = batch.map((r) => r.leaves[i])
        if (padded > rows) {
          const pad = zeros([padded - rows, ...first.shape.slice(1)], first.dtype)
          made.push(pad)
          parts.push(pad)
        }
        const merged = concatenate(parts, 0)
        made.push(merged)
        return merged
      })
      const out = await this.fn.async(...(unflatten(batch[0].treedef, inputs) as Parameters<F>))
      ;[outLeaves, outDef] = flatten(out)
      outLeaves.forEach((l, i) => {
        if (!isTensor(l) || l.shape.length === 0 || l.shape[0] !== padded) {
          throw codedError('E_SHAPE', `Batcher: output leaf ${i} must be a Tensor with the batch's ${padded} rows along axis 0, got ${isTensor(l) ? `shape [${l.shape.join(', ')}]` : describe(l)}`)
        }
      })
    } catch (e) {
      made.forEach((t) => t.dispose())
      outLeaves.forEach((t) => isTensor(t) && t.dispose())
      for (const r of batch) this.settle(r, () => r.reject(e))
      return
    }
    made.forEach((t) => t.dispose())
    if (batch.length === 1 && padded === rows) {
      this.settle(batch[0], () => batch[0].resolve(unflatten(outDef, outLeaves)), () => outLeaves.forEach((t) => t.dispose()))
      return
    }
    let start = 0
    for (const r of batch) {
      const [lo, hi] = [start, start + r.rows]
      start = hi
      this.settle(r, () => r.resolve(unflatten(outDef, outLeaves.map((l) => slice(l, [lo, ...l.shape.slice(1).map(() => 0)], [hi, ...l.shape.slice(1)])))))
    }
    outLeaves.forEach((t) => t.dispose())
  }

  /** Settles `r` with `ok` unless it was aborted meanwhile (then `dropped` frees what it would have got). */
  private settle(r: Request, ok: () => void, dropped?: () => void): void {
    if (r.signal && r.onAbort) r.signal.removeEventListener('abort', r.onAbort)
    if (r.done) {
      dropped?.()
      return
    }
    r.done = true
    ok()
  }
}
