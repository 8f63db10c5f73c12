// `flax.traverse_util`: nested dicts ⇄ flat dicts. Python's tuple keys become path arrays in a
// `Map` (JS objects cannot key by tuple); with `sep` the keys are joined strings in a plain
// object, the form safetensors files use ('dense.kernel').
import { checkArrayLength, codedTypeError, optionsArg } from './coded-error'
import { describe } from './tensor'
import { MAX_TREE_DEPTH, isPlainObject } from './tree'

/** Flax's `empty_node`: stands for an empty sub-dict when `keepEmptyNodes` is set. */
export const emptyNode: { readonly __emptyNode: true } = Object.freeze({ __emptyNode: true as const, toString: () => 'empty_node' })

export interface FlattenOptions {
  /** Keep empty sub-dicts as `emptyNode` (dropped by default). */
  keepEmptyNodes?: boolean
  /** Stops the descent at a sub-dict for which it returns true. */
  isLeaf?: (path: readonly string[], value: unknown) => boolean
}

type Nested = Record<string, unknown>

function flatEntries(xs: Nested, o: FlattenOptions, who: string): [string[], unknown][] {
  if (!isPlainObject(xs)) throw codedTypeError(`${who}: expected a dict (plain object), got ${describe(xs)}`)
  if (o.isLeaf !== undefined && typeof o.isLeaf !== 'function') throw codedTypeError(`${who}: isLeaf must be a function, got ${describe(o.isLeaf)}`)
  const out: [string[], unknown][] = []
  const seen = new Set<object>()
  const visit = (x: Nested, path: string[]) => {
    if (path.length > MAX_TREE_DEPTH) throw codedTypeError(`${who}: the dict nests deeper than ${MAX_TREE_DEPTH} levels`)
    if (seen.has(x)) throw codedTypeError(`${who}: the dict contains itself at ${path.join('/')}`)
    seen.add(x)
    for (const [k, v] of Object.entries(x)) {
      const p = [...path, k]
      const leaf = !isPlainObject(v) || (o.isLeaf !== undefined && o.isLeaf(p, v))
      if (leaf) out.push([p, v])
      else if (Object.keys(v).length > 0) visit(v, p)
      else if (o.keepEmptyNodes) out.push([p, emptyNode])
    }
    seen.delete(x)
  }
  visit(xs, [])
  return out
}

/** `flatten_dict(xs)`: paths (arrays of keys, depth first) to leaves. */
export function flattenDict(xs: Nested, options?: FlattenOptions): Map<readonly string[], unknown>
/** `flatten_dict(xs, sep=sep)`: joined paths to leaves, e.g. `{ 'Dense_0.kernel': t }`. */
export function flattenDict(xs: Nested, options: FlattenOptions & { sep: string }): Record<string, unknown>
export function flattenDict(xs: Nested, options?: FlattenOptions & { sep?: string }): Map<readonly string[], unknown> | Record<string, unknown> {
  const o = optionsArg(options, 'flattenDict')
  const entries = flatEntries(xs, o, 'flattenDict')
  if (o.sep === undefined) return new Map(entries.map(([p, v]) => [Object.freeze(p), v]))
  if (typeof o.sep !== 'string') throw codedTypeError(`flattenDict: sep must be a string, got ${describe(o.sep)}`)
  const out: Record<string, unknown> = {}
  for (const [p, v] of entries) out[p.join(o.sep)] = v
  return out
}

/**
 * `unflatten_dict(xs, sep=None)`: nested plain objects again. `xs` is what `flattenDict` made:
 * a Map (or array of entries) keyed by paths, or, with `sep`, an object keyed by joined paths.
 * `emptyNode` values become `{}`.
 */
export function unflattenDict(xs: Map<readonly string[], unknown> | Iterable<[readonly string[], unknown]> | Record<string, unknown>, options?: { sep?: string }): Record<string, any> {
  const { sep } = optionsArg(options, 'unflattenDict')
  if (sep !== undefined && typeof sep !== 'string') throw codedTypeError(`unflattenDict: sep must be a string, got ${describe(sep)}`)
  let entries: [readonly string[], unknown][]
  if (isPlainObject(xs)) {
    if (sep === undefined) throw codedTypeError('unflattenDict: an object keyed by strings needs options.sep (path arrays come in a Map)')
    entries = Object.entries(xs).map(([k, v]) => [k.split(sep), v])
  } else if (xs !== null && typeof xs === 'object' && Symbol.iterator in xs) {
    entries = []
    for (const e of xs as Iterable<[readonly string[], unknown]>) {
      if (!Array.isArray(e) || !Array.isArray(e[0])) throw codedTypeError(`unflattenDict: expected [path, value] entries with path an array of keys, got ${describe(e)}`)
      checkArrayLength(e[0], 'unflattenDict: a path')
      if (!e[0].every((k) => typeof k === 'string' || typeof k === 'number')) throw codedTypeError(`unflattenDict: a path's keys must be strings, got ${describe(e[0])}`)
      entries.push([e[0].map(String), e[1]])
    }
  } else {
    throw codedTypeError(`unflattenDict: expected a Map of paths or a dict, got ${describe(xs)}`)
  }
  const out: Record<string, any> = {}
  for (const [path, value] of entries) {
    if (path.length === 0) throw codedTypeError('unflattenDict: an empty path has no key')
    if (path.length > MAX_TREE_DEPTH) throw codedTypeError(`unflattenDict: a path deeper than ${MAX_TREE_DEPTH} keys`)
    let cursor = out
    for (const k of path.slice(0, -1)) {
      const key = String(k)
      if (!Object.hasOwn(cursor, key)) cursor[key] = {}
      else if (!isPlainObject(cursor[key])) throw codedTypeError(`unflattenDict: ${path.join('/')} goes through the leaf at ${key}`)
      cursor = cursor[key]
    }
    cursor[String(path[path.length - 1])] = value === emptyNode ? {} : value
  }
  return out
}

/** `path_aware_map(f, nested)`: `f(path, leaf)` over every leaf; empty sub-dicts kept. */
export function pathAwareMap(f: (path: readonly string[], leaf: unknown) => unknown, nested: Nested): Record<string, any> {
  if (typeof f !== 'function') throw codedTypeError(`pathAwareMap: f must be a function, got ${describe(f)}`)
  const flat = flattenDict(nested, { keepEmptyNodes: true })
  return unflattenDict(new Map([...flat].map(([p, v]) => [p, v === emptyNode ? v : f(p, v)])))
}
