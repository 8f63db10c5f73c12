// Pytree utilities over nested plain objects and arrays (`jax.tree_util`).
//
// A tree is made of containers — arrays and plain objects (`{}` literals, prototype
// Object.prototype or null) — and leaves: everything else (Tensors, numbers, keys, modules...).
// `null` and `undefined` are empty subtrees, like Python's None: they hold no leaves and map to
// themselves. Object keys are visited in sorted order, like JAX visits dict keys, so leaf order
// and the key order of mapped objects match `jax.tree_util`.

import { checkArrayLength, codedError, codedTypeError } from './coded-error'

export type Path = string[]

/**
 * Deepest nesting of containers a tree helper walks. Real variable trees are a few levels deep;
 * a bound keeps a pathological (or hostile) input from exhausting the stack, which would
 * surface as a bare RangeError far from its cause.
 */
export const MAX_TREE_DEPTH = 1000

/** True for `{}` literals and `Object.create(null)` objects: the dict containers of a tree. */
export function isPlainObject(x: unknown): x is Record<string, any> {
  if (x === null || typeof x !== 'object') return false
  const proto = Object.getPrototypeOf(x)
  return proto === Object.prototype || proto === null
}

function isContainer(x: unknown): x is any[] | Record<string, any> {
  return Array.isArray(x) || isPlainObject(x)
}

function sortedKeys(x: Record<string, unknown>): string[] {
  // JAX sorts dict keys; plain string comparison (code units) is Python's str ordering for
  // the ASCII names that variable trees use.
  return Object.keys(x).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
}

function showPath(path: Path): string {
  return path.length ? path.join('/') : '<root>'
}

function structureError(path: Path, what: string): Error {
  const err = new TypeError(`tree: structures differ at ${showPath(path)}: ${what}`) as TypeError & { code: string }
  err.code = 'E_TREE'
  return err
}

function checkFn(fn: unknown, who: string): void {
  if (typeof fn !== 'function') throw codedTypeError(`tree.${who}: fn must be a function, got ${fn === null ? 'null' : typeof fn}`)
}

type LeafFn = (path: Path, leaves: unknown[]) => unknown

/**
 * `onPath` holds the containers between the root and `x` (this walk's own: a leaf callback may
 * start another walk over the same objects), to tell a cycle from a shared subtree.
 */
function mapImpl(fn: LeafFn, trees: unknown[], path: Path, isLeaf?: (x: unknown) => boolean, onPath = new Set<object>()): unknown {
  const x = trees[0]
  if (x === null || x === undefined) return x
  if (isLeaf?.(x) || !isContainer(x)) return fn(path, trees)
  if (path.length >= MAX_TREE_DEPTH) {
    throw codedError('E_TREE', `tree: containers nested deeper than ${MAX_TREE_DEPTH} levels at ${showPath(path.slice(0, 8))}/...`)
  }
  if (onPath.has(x)) throw codedError('E_TREE', `tree: the tree contains a cycle: ${showPath(path)} is one of its own ancestors`)
  onPath.add(x)
  try {
    return mapContainer(fn, x, trees, path, isLeaf, onPath)
  } finally {
    onPath.delete(x)
  }
}

function mapContainer(fn: LeafFn, x: any[] | Record<string, any>, trees: unknown[], path: Path, isLeaf: ((x: unknown) => boolean) | undefined, onPath: Set<object>): unknown {
  if (Array.isArray(x)) {
    checkArrayLength(x, `tree: array at ${showPath(path)}`)
    for (const other of trees) {
      if (!Array.isArray(other) || other.length !== x.length) throw structureError(path, 'array length or kind')
    }
    return x.map((_, i) => mapImpl(fn, trees.map((t) => (t as unknown[])[i]), [...path, String(i)], isLeaf, onPath))
  }
  const keys = sortedKeys(x)
  for (const other of trees) {
    if (!isPlainObject(other)) throw structureError(path, 'object vs non-object')
    const okeys = sortedKeys(other)
    if (okeys.length !== keys.length || okeys.some((k, i) => k !== keys[i])) throw structureError(path, `keys ${keys} vs ${okeys}`)
  }
  const out: Record<string, unknown> = {}
  for (const k of keys) out[k] = mapImpl(fn, trees.map((t) => (t as Record<string, unknown>)[k]), [...path, k], isLeaf, onPath)
  return out
}

/**
 * `jax.tree_util.tree_map(fn, tree, *rest)`: a new tree of `fn(leaf, ...restLeaves)`. Only the
 * leaves are passed, so `tree.map(jnp.triu, vars)` calls `triu(leaf)`.
 */
export function map<T = any>(fn: (leaf: any, ...rest: any[]) => unknown, tree: T, ...rest: unknown[]): T {
  checkFn(fn, 'map')
  return mapImpl((_path, ls) => fn(...(ls as [any, ...any[]])), [tree, ...rest], []) as T
}

/** `jax.tree_util.tree_map_with_path`: `fn(path, leaf, ...restLeaves)` with path = the keys from the root. */
export function mapWithPath<T = any>(fn: (path: Path, leaf: any, ...rest: any[]) => unknown, tree: T, ...rest: unknown[]): T {
  checkFn(fn, 'mapWithPath')
  return mapImpl((path, ls) => fn(path, ...(ls as [any, ...any[]])), [tree, ...rest], []) as T
}

/** `jax.tree_util.tree_leaves`, in JAX's order (sorted object keys). */
export function leaves(tree: unknown, isLeaf?: (x: unknown) => boolean): any[] {
  if (isLeaf !== undefined && isLeaf !== null) checkFn(isLeaf, 'leaves: isLeaf')
  const out: unknown[] = []
  mapImpl((_p, ls) => out.push(ls[0]), [tree], [], isLeaf)
  return out
}

/** Leaves with their paths, in JAX's order. */
export function leavesWithPath(tree: unknown): [Path, any][] {
  const out: [Path, unknown][] = []
  mapImpl((p, ls) => out.push([p, ls[0]]), [tree], [])
  return out
}

/** Same containers, same keys, same lengths (leaves are not compared). */
export function structureEqual(a: unknown, b: unknown): boolean {
  try {
    mapImpl(() => undefined, [a, b], [])
    return true
  } catch (e) {
    // Only a difference answers false; a cycle or runaway depth is still an error.
    if (e instanceof TypeError && (e as { code?: string }).code === 'E_TREE') return false
    throw e
  }
}

/**
 * A copy of every container with the leaves shared (`tree_map(lambda x: x, tree)`): what Flax
 * uses to make sure a variable dict handed to someone else cannot be mutated through aliasing.
 */
export function copy<T>(tree: T): T {
  return mapImpl((_p, ls) => ls[0], [tree], []) as T
}
