// `jit`: JAX's execution model. The first call per signature traces `fn` with tracer tensors
// (ops record into a native graph instead of computing); the addon compiles that graph into a
// plan, and later calls with the same signature run the plan in one native call: no JS per op,
// no JS object per intermediate. `f.async(...)` runs the plan off the JS thread.
//
// Signature = the arguments' tree structure, each tensor's shape and dtype, and every other
// leaf by value (JS numbers, strings and booleans are static, unlike JAX's weakly typed
// scalars: pass `jnp.array(x)` to trace a number). Keys (`random.Key`) are traced inputs, so a
// new key does not retrace. Tensors captured by `fn`'s closure become plan constants: a later
// write to them through `.data` is not seen by the plan.
import { codedError, codedTypeError } from './coded-error'
import { native, type PlanHandle, type TensorHandle } from './native'
import { Key } from './random'
import { Tensor } from './tensor'
import { isPlainObject } from './tree'

export interface JitOptions {
  /** Positional arguments that are static: hashed by value (tensors by identity), never traced. */
  staticArgnums?: number | readonly number[]
  /** Keys of a trailing options object that are static (JS arguments have no names). */
  staticArgnames?: string | readonly string[]
  /** Positional arguments whose tensors are consumed by the call (JAX deletes donated buffers). */
  donateArgnums?: number | readonly number[]
  /** Signatures kept compiled (least recently used dropped first); default 64. */
  cacheSize?: number
}

export interface AsyncOptions {
  /** Cancels the call while it is queued (an AbortError rejects the promise). */
  signal?: AbortSignal
}

export interface Lowered {
  /** Ops the plan runs, in order, after fusion, constant folding and dead-code elimination. */
  ops: string[]
  steps: number
  consts: number
  /** Steps whose results the last finished call reused (their argument tensors were unchanged). */
  reused: number
  /** Storages the last call allocated outside the plan's arena: in steady state, its outputs. */
  allocated: number
}

export type Jitted<F extends (...args: any[]) => any> = ((...args: Parameters<F>) => ReturnType<F>) & {
  /** The same call on the async pool: the JS thread keeps running. */
  async(...args: Parameters<F>): Promise<ReturnType<F>>
  /** `async` with options (an AbortSignal). */
  asyncWith(options: AsyncOptions, ...args: Parameters<F>): Promise<ReturnType<F>>
  /** The plan for these arguments (traced if new): what will run. */
  lower(...args: Parameters<F>): Lowered
  /** Traces made so far (one per new signature). */
  readonly traceCount: number
}

/** A leaf slot in a flattened tree: the i-th traced tensor or key. */
const TENSOR = 1
const KEY = 2
type Slot = { kind: typeof TENSOR | typeof KEY; i: number }

interface Flat {
  /** Whether `spec` is built (only a trace needs it; a call needs the signature and leaves). */
  build: boolean
  sig: string
  leaves: (Tensor | Key | Uint32Array)[]
  donate: boolean[]
  /** The tree with each traced leaf replaced by its Slot. */
  spec: unknown
}

let objectIds = new WeakMap<object, number>()
let nextId = 0
function idOf(x: object): number {
  let id = objectIds.get(x)
  if (id === undefined) objectIds.set(x, (id = nextId++))
  return id
}

function isSlot(x: unknown): x is Slot {
  return x instanceof SlotBox
}
class SlotBox implements Slot {
  constructor(
    readonly kind: typeof TENSOR | typeof KEY,
    readonly i: number,
  ) {}
}

/** Flattens `x`, appending traced leaves and the signature to `flat` (and returning the spec). */
function walk(x: unknown, flat: Flat, isStatic: boolean, donate: boolean, depth: number): unknown {
  if (depth > 512) throw codedError('E_ARG', 'jit: arguments nest deeper than 512 levels (a cyclic structure?)')
  if (x instanceof Tensor && !isStatic) {
    flat.sig += `T${x.dtype}[${x.shape.join(',')}]`
    flat.leaves.push(x)
    flat.donate.push(donate)
    return flat.build ? new SlotBox(TENSOR, flat.leaves.length - 1) : undefined
  }
  if ((x instanceof Key || (x instanceof Uint32Array && x.length === 2)) && !isStatic) {
    flat.sig += 'K'
    flat.leaves.push(x)
    flat.donate.push(false)
    // Raw key data (a Uint32Array of length 2) is a key too, as Flax accepts both.
    return flat.build ? new SlotBox(KEY, flat.leaves.length - 1) : undefined
  }
  if (Array.isArray(x)) {
    flat.sig += '['
    const out = flat.build ? new Array<unknown>(x.length) : undefined
    for (let i = 0; i < x.length; i++) {
      const v = walk(x[i], flat, isStatic, donate, depth + 1)
      if (out !== undefined) out[i] = v
    }
    flat.sig += ']'
    return out
  }
  if (isPlainObject(x)) {
    flat.sig += '{'
    const out: Record<string, unknown> | undefined = flat.build ? {} : undefined
    for (const k of Object.keys(x).sort()) {
      flat.sig += `${JSON.stringify(k)}:`
      const v = walk(x[k], flat, isStatic, donate, depth + 1)
      if (out !== undefined) out[k] = v
    }
    flat.sig += '}'
    return out
  }
  if (typeof x === 'number') flat.sig += Object.is(x, -0) ? 'n-0' : `n${x}`
  else if (typeof x === 'string') flat.sig += `s${JSON.stringify(x)}`
  else if (typeof x === 'boolean' || x === null || x === undefined) flat.sig += String(x)
  else if (typeof x === 'bigint') flat.sig += `b${x}`
  else flat.sig += `o${idOf(x as object)}`
  return x
}

function asSet<T>(v: T | readonly T[] | undefined): Set<T> {
  return new Set(v === undefined ? [] : Array.isArray(v) ? v : [v as T])
}

/** Argument positions as given (negative ones count from the end); E_ARG naming the option if one is out of range. */
function positions(nums: Set<number>, n: number, option: string): Set<number> {
  if (nums.size === 0) return nums
  const out = new Set<number>()
  for (const i of nums) {
    const j = i < 0 ? i + n : i
    if (!Number.isInteger(i) || j < 0 || j >= n) {
      throw codedError('E_ARG', `jit: ${option} names argument ${String(i)}, but the function was called with ${n} argument${n === 1 ? '' : 's'}`)
    }
    out.add(j)
  }
  return out
}

function flattenArgs(args: unknown[], options: { statics: Set<number>; names: Set<string>; donated: Set<number> }, build: boolean): Flat {
  const statics = positions(options.statics, args.length, 'staticArgnums')
  const donated = positions(options.donated, args.length, 'donateArgnums')
  const flat: Flat = { build, sig: `${args.length}(`, leaves: [], donate: [], spec: undefined }
  const spec = args.map((a, i) => {
    flat.sig += `|${i}:`
    const last = i === args.length - 1 && options.names.size > 0 && isPlainObject(a)
    if (last) {
      // A trailing options object: the named keys are static, the rest as usual.
      const o = a as Record<string, unknown>
      const out: Record<string, unknown> = {}
      flat.sig += '{'
      for (const k of Object.keys(o).sort()) {
        flat.sig += `${JSON.stringify(k)}:`
        out[k] = walk(o[k], flat, options.names.has(k), donated.has(i), 1)
      }
      flat.sig += '}'
      return out
    }
    return walk(a, flat, statics.has(i), donated.has(i), 0)
  })
  if (build) flat.spec = spec
  return flat
}

/** `spec` with each Slot replaced by `values[slot.i]`. */
function fill(spec: unknown, values: (Tensor | Key)[]): unknown {
  if (isSlot(spec)) return values[spec.i]
  if (Array.isArray(spec)) return spec.map((v) => fill(v, values))
  if (isPlainObject(spec)) {
    const out: Record<string, unknown> = {}
    for (const k of Object.keys(spec)) out[k] = fill(spec[k], values)
    return out
  }
  return spec
}

interface Compiled {
  plan: PlanHandle
  /** The output tree with each tensor or key replaced by its Slot (index into the plan's outputs). */
  out: unknown
}

/** Depth of traces open in this thread's JS: a jit called while tracing is inlined. */
let tracing = 0

function trace(fn: (...a: any[]) => any, args: unknown[], flat: Flat): Compiled {
  const tr = native.traceBegin()
  let open = true
  tracing++
  try {
    const tracers = flat.leaves.map((leaf) => {
      if (!(leaf instanceof Tensor)) return new Key(new Tensor(native.traceInput(tr, [2], 'uint32')))
      return new Tensor(native.traceInput(tr, [...leaf.shape], leaf.dtype))
    })
    const result = fn(...(fill(flat.spec, tracers) as unknown[]))
    if (result instanceof Promise) throw codedTypeError('jit: the function returned a Promise; jit traces synchronous functions')
    const outFlat: Flat = { build: true, sig: '', leaves: [], donate: [], spec: undefined }
    const out = walk(result, outFlat, false, false, 0)
    const handles = outFlat.leaves.map((l) => (l instanceof Tensor ? l.handle : l instanceof Key ? keyHandle(l) : native.fromData(l, 'uint32', [2])))
    open = false
    return { plan: native.traceEnd(tr, handles), out }
  } catch (e) {
    if (open) native.traceAbort(tr)
    throw e
  } finally {
    tracing--
  }
}

/** A key output as a tensor handle (eager key data becomes a constant of the plan). */
function keyHandle(k: Key): TensorHandle {
  if (k.tensor !== undefined) return k.tensor.handle
  return native.fromData(k.words, 'uint32', [2])
}

function inputs(flat: Flat): (TensorHandle | Uint32Array)[] {
  return flat.leaves.map((l) => (l instanceof Tensor ? l.handle : l instanceof Key ? l.operand : l))
}

function rebuild(c: Compiled, handles: TensorHandle[]): unknown {
  const values = handles.map((h) => new Tensor(h))
  const wrap = (spec: unknown): unknown => {
    if (isSlot(spec)) return spec.kind === KEY ? new Key(values[spec.i]) : values[spec.i]
    if (Array.isArray(spec)) return spec.map(wrap)
    if (isPlainObject(spec)) {
      const out: Record<string, unknown> = {}
      for (const k of Object.keys(spec)) out[k] = wrap(spec[k])
      return out
    }
    return spec
  }
  return wrap(c.out)
}

function markDonated(flat: Flat): void {
  flat.leaves.forEach((l, i) => {
    if (flat.donate[i] && l instanceof Tensor) l.markDonated()
  })
}

/**
 * The rejection of an aborted call: the signal's reason when the caller gave an Error of their
 * own; otherwise (no reason, or the default DOMException, whose `code` is the number 20) an
 * AbortError with Node's code 'ABORT_ERR', the reason as its `cause`.
 */
function abortError(signal: AbortSignal): Error {
  const reason = signal.reason
  const isDefault = reason === undefined || (typeof DOMException !== 'undefined' && reason instanceof DOMException && reason.name === 'AbortError')
  if (reason instanceof Error && !isDefault) return reason
  const err = new Error('jit: the call was aborted', { cause: reason }) as Error & { code: string }
  err.name = 'AbortError'
  err.code = 'ABORT_ERR'
  return err
}

/**
 * `jax.jit(fn, options)`: a function computing the same outputs as `fn`, compiled per input
 * signature into a native plan (see the module docs for what the signature is).
 */
export function jit<F extends (...args: any[]) => any>(fn: F, options: JitOptions = {}): Jitted<F> {
  if (typeof fn !== 'function') throw codedTypeError(`jit: fn must be a function, got ${typeof fn}`)
  const opts = { statics: asSet(options.staticArgnums), names: asSet(options.staticArgnames), donated: asSet(options.donateArgnums) }
  const cacheSize = options.cacheSize ?? 64
  if (!Number.isInteger(cacheSize) || cacheSize < 1) throw codedError('E_ARG', `jit: cacheSize must be a positive integer, got ${String(cacheSize)}`)
  const cache = new Map<string, Compiled>()
  let traces = 0

  const compiled = (args: unknown[]): [Compiled, Flat] => {
    const flat = flattenArgs(args, opts, false)
    let c = cache.get(flat.sig)
    if (c === undefined) {
      c = trace(fn, args, flattenArgs(args, opts, true))
      traces++
      if (cache.size >= cacheSize) cache.delete(cache.keys().next().value as string)
    } else {
      cache.delete(flat.sig) // re-inserted below: the Map's order is least recently used first
    }
    cache.set(flat.sig, c)
    return [c, flat]
  }
  const donateList = (flat: Flat): boolean[] | null => (flat.donate.some(Boolean) ? flat.donate : null)

  const call = (...args: unknown[]): any => {
    if (tracing > 0) return fn(...args)
    const [c, flat] = compiled(args)
    let handles: TensorHandle[]
    try {
      handles = native.planRun(c.plan, inputs(flat), donateList(flat))
    } finally {
      markDonated(flat)
    }
    return rebuild(c, handles)
  }

  const runAsync = async (o: AsyncOptions, args: unknown[]): Promise<any> => {
    if (tracing > 0) throw codedError('E_ARG', 'jit: f.async cannot be called while a jit trace is running; call f(...) there (it is inlined)')
    const signal = o.signal
    if (signal?.aborted) throw abortError(signal)
    const [c, flat] = compiled(args)
    const token = signal === undefined ? null : native.cancelToken()
    let pending: Promise<TensorHandle[]>
    try {
      pending = native.planRunAsync(c.plan, inputs(flat), donateList(flat), token)
    } finally {
      markDonated(flat)
    }
    if (signal === undefined || token === null) return rebuild(c, await pending)
    const aborted = new Promise<never>((_, reject) => {
      const onAbort = () => {
        native.cancel(token)
        reject(abortError(signal))
      }
      signal.addEventListener('abort', onAbort, { once: true })
      pending.finally(() => signal.removeEventListener('abort', onAbort)).catch(() => {})
    })
    pending.catch(() => {}) // settled after an abort: nobody awaits it any more
    return rebuild(c, await Promise.race([pending, aborted]))
  }
  const jitted = Object.assign(call, {
    async: (...args: Parameters<F>) => runAsync({}, args),
    asyncWith: (o: AsyncOptions, ...args: Parameters<F>) => runAsync(o ?? {}, args),
    lower: (...args: Parameters<F>): Lowered => native.planStats(compiled(args)[0].plan),
    traceCount: 0,
  })
  Object.defineProperty(jitted, 'traceCount', { get: () => traces })
  return jitted as Jitted<F>
}

/** Threads of the pool that runs `f.async` plans (0 restores the default: FLAXEN_NUM_THREADS or the cores). */
export function setNumThreads(n: number): void {
  native.setNumThreads(n)
}

export function getNumThreads(): number {
  return native.getNumThreads()
}

/** @internal For tests: forget object identities used in signatures. */
export function resetSignatureIds(): void {
  objectIds = new WeakMap()
}
