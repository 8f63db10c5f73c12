// Pytree utilities over nested plain objects and arrays (`jax.tree_util`).
import type { Tensor } from './tensor'
//
// A tree is made of containers — arrays and plain objects (`{}` literals, prototype
// Object.prototype or null) — and leaves: everything else (Tensors, numbers, keys, modules...).
// `null` and `undefined` are empty subtrees, like Python's None: they hold no leaves and map to
// themselves. Object keys are visited in sorted order, like JAX visits dict keys, so leaf order
// and the key order of mapped objects match `jax.tree_util`.

import { checkArrayLength, codedError, codedTypeError } from './coded-error'

export type Path = string[]

/**
 * The type of `map(fn, tree)` when `fn` returns `R`: the same containers with every leaf an `R`
 * (`null`/`undefined` stay). A variable dict's nodes (typed as tensors that are also dicts, see
 * `nn.VariableNode`) map to nodes of `R`, so paths still read (`shapes.params.Dense_0.kernel`).
 */
export type TreeMapped<T, R> = T extends null | undefined
  ? T
  : T extends Tensor
    ? string extends keyof T
      ? MappedNode<R>
      : R
    : T extends readonly unknown[]
      ? { -readonly [K in keyof T]: TreeMapped<T[K], R> }
      : T extends (...args: any[]) => any
        ? R
        : T extends object
          ? { -readonly [K in keyof T]: TreeMapped<T[K], R> }
          : R
/** A dict node of a mapped variable dict: an `R`, and its children by name. */
export type MappedNode<R> = R & { [child: string]: MappedNode<R> }

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
export function map<T, R>(fn: (leaf: any, ...rest: any[]) => R, tree: T, ...rest: unknown[]): TreeMapped<T, R> {
  checkFn(fn, 'map')
  return mapImpl((_path, ls) => fn(...(ls as [any, ...any[]])), [tree, ...rest], []) as TreeMapped<T, R>
}

/** `jax.tree_util.tree_map_with_path`: `fn(path, leaf, ...restLeaves)` with path = the keys from the root. */
export function mapWithPath<T, R>(fn: (path: Path, leaf: any, ...rest: any[]) => R, tree: T, ...rest: unknown[]): TreeMapped<T, R> {
  checkFn(fn, 'mapWithPath')
  return mapImpl((path, ls) => fn(path, ...(ls as [any, ...any[]])), [tree, ...rest], []) as TreeMapped<T, R>
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

/**
 * A tree's structure without its leaves (`jax.tree_util.PyTreeDef`), from `flatten`. Pass it
 * to `unflatten` with a list of leaves in the same order.
 */
export class TreeDef {
  /** @internal The tree with every leaf replaced by the LEAF marker. */
  readonly skeleton: unknown
  readonly numLeaves: number

  /** @internal Use `flatten`. */
  constructor(skeleton: unknown, numLeaves: number) {
    this.skeleton = skeleton
    this.numLeaves = numLeaves
  }

  toString(): string {
    return `PyTreeDef(${JSON.stringify(this.skeleton, (_k, v) => (v === LEAF ? '*' : v))})`
  }
}

/** Stands for a leaf inside a TreeDef's skeleton (a unique object, never a user leaf). */
const LEAF: unknown = Object.freeze({ leaf: true })

/**
 * `jax.tree_util.tree_flatten`: `[leaves, treedef]`, the leaves in JAX's order (sorted object
 * keys); `unflatten(treedef, leaves)` rebuilds the tree. null/undefined are empty subtrees.
 */
export function flatten(tree: unknown, isLeaf?: (x: unknown) => boolean): [any[], TreeDef] {
  if (isLeaf !== undefined && typeof isLeaf !== 'function') throw codedTypeError(`tree.flatten: isLeaf must be a function, got ${typeof isLeaf}`)
  const out: unknown[] = []
  const skeleton = mapImpl(
    (_p, ls) => {
      out.push(ls[0])
      return LEAF
    },
    [tree],
    [],
    isLeaf,
  )
  return [out, new TreeDef(skeleton, out.length)]
}

/** `jax.tree_util.tree_unflatten(treedef, leaves)`: the tree `flatten` took apart, with these leaves. */
export function unflatten<T = any>(treedef: TreeDef, leaves: readonly unknown[]): T {
  if (!(treedef instanceof TreeDef)) {
    throw codedTypeError(`tree.unflatten: treedef must come from tree.flatten, got ${describe(treedef)}`)
  }
  if (!Array.isArray(leaves) || leaves.length !== treedef.numLeaves) {
    const got = Array.isArray(leaves) ? `${leaves.length}` : describe(leaves)
    throw codedError('E_ARG', `tree.unflatten: leaves must be an array of ${treedef.numLeaves} leaves (the treedef's), got ${got}`)
  }
  let i = 0
  return mapImpl(() => leaves[i++], [treedef.skeleton], [], (x) => x === LEAF) as T
}

/**
 * `jax.tree_util.tree_reduce(fn, tree, initializer)`: folds `fn(acc, leaf)` over the leaves
 * in order; without an initializer the first leaf starts (a tree without leaves is then an
 * error, as in Python's functools.reduce).
 */
export function reduce<A = any>(fn: (acc: A, leaf: any) => A, tree: unknown, ...initializer: [A?]): A {
  if (typeof fn !== 'function') {
    throw codedTypeError(`tree.reduce: fn must be a function, got ${describe(fn)}`)
  }
  const ls = leaves(tree)
  if (initializer.length === 0) {
    if (ls.length === 0) {
      throw codedError('E_ARG', 'tree.reduce: the tree has no leaves and no initializer was given')
    }
    return ls.slice(1).reduce(fn, ls[0])
  }
  return ls.reduce(fn, initializer[0] as A)
}

function describe(x: unknown): string {
  if (x === null) return 'null'
  if (Array.isArray(x)) return 'an array'
  if (typeof x === 'object') return `an object (${(x as object).constructor?.name ?? 'Object'})`
  return `${typeof x} ${String(x)}`
}
