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
import { codedError, codedTypeError, optionsArg } from './coded-error'
import { native, type PlanHandle, type TensorHandle } from './native'
import type { AbstractArgs } from './eval-shape'
import { Key } from './random'
import { ShapeDtypeStruct } from './shape-dtype'
import { Tensor } from './tensor'
import { KEY, asSet, callTraced, flattenArgs, isSlot, isTracing, type Flat } from './trace-args'
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
  /** Steps the last finished call skipped: only reused results depend on them (a weight's cast or dequantisation). */
  skipped: number
  /** Storages the last call allocated outside the plan's arena: in steady state, its outputs. */
  allocated: number
}

export type Jitted<F extends (...args: any[]) => any> = ((...args: Parameters<F>) => ReturnType<F>) & {
  /** The same call on the async pool: the JS thread keeps running. */
  async(...args: Parameters<F>): Promise<ReturnType<F>>
  /** `async` with options (an AbortSignal). */
  asyncWith(options: AsyncOptions, ...args: Parameters<F>): Promise<ReturnType<F>>
  /** The plan for these arguments (traced if new): what will run. Tensors may be ShapeDtypeStructs. */
  lower(...args: AbstractArgs<Parameters<F>>): Lowered
  /** Traces made so far (one per new signature). */
  readonly traceCount: number
}

interface Compiled {
  plan: PlanHandle
  /** The output tree with each tensor or key replaced by its Slot (index into the plan's outputs). */
  out: unknown
}

function trace(fn: (...a: any[]) => any, flat: Flat): Compiled {
  const tr = native.traceBegin(false)
  let open = true
  try {
    const out = callTraced(tr, fn, flat, 'jit')
    const handles = out.leaves.map((l) => (l instanceof Tensor ? l.handle : l instanceof Key ? keyHandle(l) : l instanceof ShapeDtypeStruct ? abstractLeaf() : native.fromData(l, 'uint32', [2])))
    open = false
    return { plan: native.traceEnd(tr, handles), out: out.spec }
  } catch (e) {
    if (open) native.traceAbort(tr)
    throw e
  }
}

function abstractLeaf(): never {
  throw codedError('E_ARG', 'jit: a ShapeDtypeStruct has no values: it can be an argument of f.lower or evalShape, not an argument of a call or an output')
}

/** A key output as a tensor handle (eager key data becomes a constant of the plan). */
function keyHandle(k: Key): TensorHandle {
  if (k.tensor !== undefined) return k.tensor.handle
  return native.fromData(k.words, 'uint32', [2])
}

function inputs(flat: Flat): (TensorHandle | Uint32Array)[] {
  return flat.leaves.map((l) => (l instanceof Tensor ? l.handle : l instanceof Key ? l.operand : l instanceof ShapeDtypeStruct ? abstractLeaf() : l))
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
export function abortError(signal: AbortSignal, who = 'jit'): Error {
  const reason = signal.reason
  const isDefault = reason === undefined || (typeof DOMException !== 'undefined' && reason instanceof DOMException && reason.name === 'AbortError')
  if (reason instanceof Error && !isDefault) return reason
  const err = new Error(`${who}: the call was aborted`, { cause: reason }) as Error & { code: string }
  err.name = 'AbortError'
  err.code = 'ABORT_ERR'
  return err
}

/**
 * `jax.jit(fn, options)`: a function computing the same outputs as `fn`, compiled per input
 * signature into a native plan (see the module docs for what the signature is).
 */
export function jit<F extends (...args: any[]) => any>(fn: F, jitOptions?: JitOptions): Jitted<F> {
  if (typeof fn !== 'function') throw codedTypeError(`jit: fn must be a function, got ${typeof fn}`)
  const options = optionsArg(jitOptions, 'jit')
  const opts = { statics: asSet(options.staticArgnums), names: asSet(options.staticArgnames), donated: asSet(options.donateArgnums) }
  const cacheSize = options.cacheSize ?? 64
  if (!Number.isInteger(cacheSize) || cacheSize < 1) throw codedError('E_ARG', `jit: cacheSize must be a positive integer, got ${String(cacheSize)}`)
  const cache = new Map<string, Compiled>()
  let traces = 0

  const compiled = (args: unknown[]): [Compiled, Flat] => {
    const flat = flattenArgs(args, opts, false)
    let c = cache.get(flat.sig)
    if (c === undefined) {
      c = trace(fn, flattenArgs(args, opts, true))
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
    if (isTracing()) return fn(...args)
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
    if (isTracing()) throw codedError('E_ARG', 'jit: f.async cannot be called while a jit trace is running; call f(...) there (it is inlined)')
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
    lower: (...args: AbstractArgs<Parameters<F>>): Lowered => native.planStats(compiled(args)[0].plan),
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

/**
 * The widest instruction set the kernels run: `avx512`, `avx2` (AVX2+FMA) or `baseline` (x86-64
 * SSE2, or any other CPU). It is what the CPU has, lowered by the `FLAXEN_CPU` environment
 * variable; results agree across levels within float rounding (random bits are identical).
 */
export function cpuLevel(): 'baseline' | 'avx2' | 'avx512' {
  return native.CPU_LEVEL
}
