// How `jit` and `evalShape` see their arguments: a tree flattened into traced leaves (tensors,
// keys, ShapeDtypeStructs) and a signature string for everything else, which is static.
import { checkArrayLength, codedError, codedTypeError } from './coded-error'
import { native, type TraceHandle } from './native'
import { Key } from './random'
import { ShapeDtypeStruct } from './shape-dtype'
import { Tensor } from './tensor'
import { isPlainObject } from './tree'

/** A leaf slot in a flattened tree: the i-th traced tensor or key. */
export const TENSOR = 1
export const KEY = 2
export type Slot = { kind: typeof TENSOR | typeof KEY; i: number }

export interface Flat {
  /** Whether `spec` is built (only a trace needs it; a call needs the signature and leaves). */
  build: boolean
  sig: string
  leaves: (Tensor | ShapeDtypeStruct | Key | Uint32Array)[]
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

export function isSlot(x: unknown): x is Slot {
  return x instanceof SlotBox
}
class SlotBox implements Slot {
  constructor(
    readonly kind: typeof TENSOR | typeof KEY,
    readonly i: number,
  ) {}
}

/** Flattens `x`, appending traced leaves and the signature to `flat` (and returning the spec). */
export function walk(x: unknown, flat: Flat, isStatic: boolean, donate: boolean, depth: number): unknown {
  if (depth > 512) throw codedError('E_ARG', 'jit: arguments nest deeper than 512 levels (a cyclic structure?)')
  if ((x instanceof Tensor || x instanceof ShapeDtypeStruct) && !isStatic) {
    flat.sig += x instanceof Tensor ? x.signature() : `T${x.dtype}[${x.shape.join(',')}]`
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
    checkArrayLength(x, 'jit: an array in the arguments')
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
    for (const k of sortedKeys(x)) {
      flat.sig += `${keySig(k)}:`
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

/** `Object.keys(x)` sorted (checked first: pytrees built in order need no sort). */
function sortedKeys(x: object): string[] {
  const keys = Object.keys(x)
  for (let i = 1; i < keys.length; i++) if (keys[i - 1] > keys[i]) return keys.sort()
  return keys
}

/** A key in the signature: bare when it is an identifier (which cannot contain the signature's
 * delimiters), else JSON-quoted (which starts with a quote, so the two forms never collide). */
function keySig(k: string): string {
  return /^[A-Za-z0-9_]*$/.test(k) ? k : JSON.stringify(k)
}

export function asSet<T>(v: T | readonly T[] | undefined): Set<T> {
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

export function flattenArgs(args: unknown[], options: { statics: Set<number>; names: Set<string>; donated: Set<number> }, build: boolean): Flat {
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
      for (const k of sortedKeys(o)) {
        flat.sig += `${keySig(k)}:`
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

/**
 * `args` with only their ShapeDtypeStructs as traced leaves (`lazyInit`): tensors and keys
 * stay concrete, so whatever depends on them alone can be computed.
 */
export function flattenAbstract(args: unknown[]): Flat {
  const flat: Flat = { build: true, sig: '', leaves: [], donate: [], spec: undefined }
  const go = (x: unknown, depth: number): unknown => {
    if (depth > 512) throw codedError('E_ARG', 'lazyInit: arguments nest deeper than 512 levels (a cyclic structure?)')
    if (x instanceof ShapeDtypeStruct) {
      flat.leaves.push(x)
      flat.donate.push(false)
      return new SlotBox(TENSOR, flat.leaves.length - 1)
    }
    if (Array.isArray(x)) {
      checkArrayLength(x, 'lazyInit: an array in the arguments')
      return Array.from(x, (v) => go(v, depth + 1))
    }
    if (isPlainObject(x)) return Object.fromEntries(Object.keys(x).map((k) => [k, go(x[k], depth + 1)]))
    return x
  }
  flat.spec = args.map((a) => go(a, 0))
  return flat
}

/** `spec` with each Slot replaced by `values[slot.i]`. */
export function fill(spec: unknown, values: (Tensor | Key)[]): unknown {
  if (isSlot(spec)) return values[spec.i]
  if (Array.isArray(spec)) return spec.map((v) => fill(v, values))
  if (isPlainObject(spec)) {
    const out: Record<string, unknown> = {}
    for (const k of Object.keys(spec)) out[k] = fill(spec[k], values)
    return out
  }
  return spec
}


/** @internal For tests: forget object identities used in signatures. */
export function resetSignatureIds(): void {
  objectIds = new WeakMap()
}

/** Depth of traces open in this thread's JS: a jit called while tracing is inlined. */
let depth = 0
export const isTracing = (): boolean => depth > 0

/**
 * Calls `fn` inside trace `tr` on tracers standing for `flat`'s leaves (a key leaf becomes a
 * traced key); returns the result flattened, its `spec` the output tree of Slots.
 */
export function callTraced(tr: TraceHandle, fn: (...a: any[]) => any, flat: Flat, who: string): Flat {
  depth++
  try {
    const tracers = flat.leaves.map((leaf) =>
      leaf instanceof Tensor || leaf instanceof ShapeDtypeStruct
        ? new Tensor(native.traceInput(tr, [...leaf.shape], leaf.dtype))
        : new Key(new Tensor(native.traceInput(tr, [2], 'uint32'))),
    )
    const result = fn(...(fill(flat.spec, tracers) as unknown[]))
    if (result instanceof Promise) throw codedTypeError(`${who}: the function returned a Promise; ${who} traces synchronous functions`)
    const out: Flat = { build: true, sig: '', leaves: [], donate: [], spec: undefined }
    out.spec = walk(result, out, false, false, 0)
    return out
  } finally {
    depth--
  }
}
