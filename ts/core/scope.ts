// Scope (`flax.core.scope.Scope`): a cursor into a variable dict plus RNG state. Every module
// owns one; `push` makes a child scope one path level down.
//
// Only the root owns the real variable dict. A child keeps, per collection, a reference to the
// sub-dict at its path (created lazily), so writes through any scope land in the root's dict
// and every scope that cached the same sub-dict sees them. RNG counters live in a tree of
// counter objects that children look up *by name*: re-pushing a child with the same name (after
// a rewind) continues its counters, which is what makes Flax's keys a function of (path,
// per-path call count) only.
import {
  InvalidRngError,
  InvalidScopeError,
  ModifyScopeVariableError,
  PyTypeError,
  ScopeCollectionNotFound,
  ScopeParamNotFoundError,
  ScopeParamShapeError,
  ScopeVariableNotFoundError,
  ValueError,
} from '../errors'
import { codedTypeError } from '../coded-error'
import { tidy } from '../jnp'
import { key as randomKey } from '../random'
import { isTensor } from '../tensor'
import { isPlainObject, leaves } from '../tree'
import { type CollectionFilter, inFilter } from './filters'
import { LazyRng, type PRNGKey } from './rng'
import { Variable } from './variable'

export type Collection = Record<string, any>
export type VariableDict = Record<string, Collection>
/** A variable dict: `{ collection: { name | child: ... } }`. */
export type Variables = VariableDict
export type Flags = Readonly<Record<string, unknown>>

/** Per-scope RNG counters: one count per stream, plus the counters of each child by name. */
export class RngCounters {
  readonly counts = new Map<string, number>()
  readonly children = new Map<string, RngCounters>()

  constructor(streams: Iterable<string> = []) {
    for (const s of streams) this.counts.set(s, 0)
  }
}

/** Stands in for a collection this scope has no entry in; never cached, never written. */
const EMPTY_COLLECTION: Collection = Object.freeze({})

const hasOwn = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k)

export interface ScopeOptions {
  name?: string | null
  mutable?: CollectionFilter
  parent?: Scope | null
  path?: readonly string[]
  debugPath?: readonly string[]
  flags?: Record<string, unknown> | null
}

/**
 * An initializer may carry its output shape for given init args (`initFn[ABSTRACT_SHAPE](...args)`),
 * so `Scope.param` can check an existing parameter's shape without computing anything.
 * Initializers without it are called once with a dummy key, in a `tidy`, to learn the shape.
 */
export const ABSTRACT_SHAPE: unique symbol = Symbol('flaxen.abstractShape')

export type InitFn<T = any> = ((key: PRNGKey, ...args: any[]) => T) & { [ABSTRACT_SHAPE]?: (...args: any[]) => unknown }

/** Marks `fn` with a function computing the shape tree of its output from its init args. */
export function withAbstractShape<F extends (...args: any[]) => any>(fn: F, shapeOf: (...args: any[]) => unknown): F {
  ;(fn as any)[ABSTRACT_SHAPE] = shapeOf
  return fn
}

/** `jnp.shape` of a leaf: tensors their shape, raw key data [2], scalars and keys (). */
export function shapeOf(x: unknown): readonly number[] {
  if (isTensor(x)) return x.shape
  if (ArrayBuffer.isView(x) && !(x instanceof DataView)) return [(x as Uint32Array).length]
  return []
}

const isShape = (x: unknown): x is number[] => Array.isArray(x) && x.every((d) => typeof d === 'number')

/** An init function (a layer's `kernelInit` prop, say): a coded TypeError naming the variable otherwise. */
function checkInitFn(initFn: unknown, what: string, name: string): void {
  if (typeof initFn !== 'function') {
    const got = initFn === null ? 'null' : Array.isArray(initFn) ? 'an array' : typeof initFn
    throw codedTypeError(`${what} '${name}': the init function must be a function (an initializer), got ${got}`)
  }
}

function abstractShapes(initFn: InitFn, initArgs: readonly unknown[]): (readonly number[])[] {
  const declared = initFn[ABSTRACT_SHAPE]
  if (declared !== undefined) return leaves(declared(...initArgs), isShape)
  // jax.eval_shape stand-in: run with a dummy key, keep only the shapes, free the values.
  return tidy(() => leaves(initFn(randomKey(0), ...initArgs)).map((leaf) => [...shapeOf(leaf)]))
}

const shapesEqual = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((d, i) => d === b[i])

export class Scope {
  /** This scope's view: collection → the dict at this path (the root's real dict at the root). */
  _variables: VariableDict
  readonly rngs: Record<string, LazyRng>
  readonly name: string | null
  readonly mutable: CollectionFilter
  /** Writable only for `nn.shareScope`, which re-attaches child scopes (as Flax assigns `scope.parent`). */
  parent: Scope | null
  readonly path: readonly string[]
  /** Like `path`, but may carry transform decorations such as `map_variables(dense)`. */
  readonly debugPath: readonly string[]
  readonly flags: Flags
  rngCounters: RngCounters
  /** name → the collections it is reserved in; `null` = reserved for a child scope. */
  readonly reservations = new Map<string, Set<string | null>>()
  private _invalid = false
  private readonly _root: Scope | null

  constructor(variables: VariableDict, rngs: Record<string, LazyRng | PRNGKey> | null = null, options: ScopeOptions = {}) {
    const { name = null, mutable = false, parent = null, path = [], debugPath = [], flags = null } = options
    this._variables = variables
    this.rngs = {}
    for (const [k, v] of Object.entries(rngs ?? {})) this.rngs[k] = LazyRng.create(v)
    this.name = name
    this.mutable = mutable
    this.parent = parent
    this.path = Object.freeze([...path])
    this.debugPath = Object.freeze(debugPath.length ? [...debugPath] : [...path])
    this.flags = Object.freeze({ ...(flags ?? {}) })
    this._root = parent ? parent.root : null
    this.rngCounters = new RngCounters(Object.keys(this.rngs))
  }

  get root(): Scope {
    return this._root ?? this
  }

  /** The debug path as `/a/b`; the root is `/`. Used in every error message. */
  get pathText(): string {
    return '/' + this.debugPath.join('/')
  }

  get invalid(): boolean {
    return this._invalid
  }

  /** Same root variable dict, same path, same counters object: scopes that behave identically. */
  equals(other: unknown): boolean {
    if (!(other instanceof Scope)) return false
    if (this === other) return true
    return (
      this.root._variables === other.root._variables &&
      this.rngCounters === other.rngCounters &&
      this.path.length === other.path.length &&
      this.path.every((p, i) => p === other.path[i])
    )
  }

  private checkValid(): void {
    if (this._invalid) throw new InvalidScopeError(this.name)
  }

  invalidate(): void {
    this._invalid = true
  }

  /** Runs `fn(this)`, then invalidates this scope (Flax's `with scope.temporary()`). */
  temporary<T>(fn: (scope: Scope) => T): T {
    try {
      return fn(this)
    } finally {
      this.invalidate()
    }
  }

  // -- names ---------------------------------------------------------------------------------

  /** Taken if reserved before and (as a child, or asked for a child, or in the same collection). */
  nameReserved(name: string, col: string | null = null): boolean {
    const cols = this.reservations.get(name)
    if (cols === undefined) return false
    return cols.has(null) || col === null || cols.has(col)
  }

  reserve(name: string, col: string | null = null): void {
    if (typeof name !== 'string') throw new PyTypeError(`The type of scope "${String(name)}" should be string but it is ${typeof name}`)
    if (this.nameReserved(name, col)) throw new ValueError(`Duplicate use of scope name: "${name}"`)
    let cols = this.reservations.get(name)
    if (cols === undefined) this.reservations.set(name, (cols = new Set()))
    cols.add(col)
  }

  /** First of `prefix0`, `prefix1`, ... not reserved (no underscore is added here). */
  defaultName(prefix: string): string {
    for (let i = 0; ; i++) {
      const name = `${prefix}${i}`
      if (!this.reservations.has(name)) return name
    }
  }

  /** A child scope one level down. `reuse` allows pushing a name that is already reserved. */
  push(name: string | null = null, prefix = '', reuse = false): Scope {
    this.checkValid()
    if (name === null) name = this.defaultName(prefix)
    if (!reuse || !this.reservations.has(name)) this.reserve(name)
    const rngs: Record<string, LazyRng> = {}
    for (const [k, r] of Object.entries(this.rngs)) rngs[k] = LazyRng.create(r, name)
    let counters = this.rngCounters.children.get(name)
    if (counters === undefined) {
      counters = new RngCounters(Object.keys(rngs))
      this.rngCounters.children.set(name, counters)
    }
    const child = new Scope({}, rngs, {
      name,
      parent: this,
      mutable: this.mutable,
      path: [...this.path, name],
      debugPath: [...this.debugPath, name],
      flags: this.flags,
    })
    child.rngCounters = counters
    return child
  }

  /**
   * Pushes one child (named `name`, or `prefix`/`fn.name + '_'` numbered) and returns a function
   * calling `fn(child.rewound(), ...args)`: same variables each call, counters continuing.
   */
  child<A extends unknown[], R>(fn: (scope: Scope, ...args: A) => R, name: string | null = null, prefix: string | null = null): (...args: A) => R {
    if (name === null) name = this.defaultName(prefix ?? (fn.name ? `${fn.name}_` : ''))
    const scope = this.push(name)
    return (...args: A) => fn(scope.rewound(), ...args)
  }

  /** A fresh scope over the same variables and path with empty reservations; counters shared unless `rewindRngs`. */
  rewound(rewindRngs = false): Scope {
    this.checkValid()
    const scope = new Scope(this._variables, this.rngs, {
      name: this.name,
      mutable: this.mutable,
      parent: this.parent,
      path: this.path,
      debugPath: this.debugPath,
      flags: this.flags,
    })
    if (!rewindRngs) scope.rngCounters = this.rngCounters
    return scope
  }

  // -- collections ---------------------------------------------------------------------------

  isMutableCollection(col: string): boolean {
    return inFilter(this.mutable, col)
  }

  /** Whether the *root* has no (or an empty) collection `col`. */
  isCollectionEmpty(col: string): boolean {
    const rootVars = this.root._variables
    if (!hasOwn(rootVars, col)) return true
    return Object.keys(rootVars[col]).length === 0
  }

  /** Read view of `col` at this path; cached once found, an empty frozen object otherwise. */
  _collection(col: string): Collection {
    if (hasOwn(this._variables, col)) return this._variables[col]
    if (this.parent === null) return EMPTY_COLLECTION
    const parentCol = this.parent._collection(col)
    if (!hasOwn(parentCol, this.name as string)) return EMPTY_COLLECTION
    this._variables[col] = parentCol[this.name as string]
    return this._variables[col]
  }

  /** Write view of `col`: creates the nested dicts from the root down to this path. */
  _mutableCollection(col: string): Collection {
    if (!this.isMutableCollection(col)) throw new ValueError(`Collection ${col} is not mutable`)
    if (!hasOwn(this._variables, col)) {
      if (this.parent === null) {
        this._variables[col] = {}
      } else {
        const parentCol = this.parent._mutableCollection(col)
        const name = this.name as string
        if (!hasOwn(parentCol, name)) parentCol[name] = {}
        this._variables[col] = parentCol[name]
      }
    }
    return this._variables[col]
  }

  /** Fills the view cache with every collection of the root that has an entry at this path. */
  _populateCollections(): void {
    for (const col of Object.keys(this.root._variables)) this._collection(col)
  }

  /** All collections visible at this path (the live view, like Flax with frozen dicts off). */
  variables(): VariableDict {
    this._populateCollections()
    return this._variables
  }

  /** The collections of `variables()` that are mutable. */
  mutableVariables(): VariableDict {
    this._populateCollections()
    const out: VariableDict = {}
    for (const [k, v] of Object.entries(this._variables)) if (inFilter(this.mutable, k)) out[k] = v
    return out
  }

  // -- variables -----------------------------------------------------------------------------

  hasVariable(col: string, name: string): boolean {
    return hasOwn(this._collection(col), name)
  }

  getVariable(col: string, name: string, defaultValue: any = undefined): any {
    const c = this._collection(col)
    return hasOwn(c, name) ? c[name] : defaultValue
  }

  /**
   * Writes `value` (collection must be mutable). When both the stored value and `value` are
   * dicts the write is a recursive merge into the existing dict, so views that child scopes
   * cached on it stay valid.
   */
  putVariable(col: string, name: string, value: any): void {
    this.checkValid()
    if (!this.isMutableCollection(col)) throw new ModifyScopeVariableError(col, name, this.pathText)
    const put = (target: Collection, key: string, val: any): void => {
      if (hasOwn(target, key) && isPlainObject(target[key]) && isPlainObject(val)) {
        for (const [k, v] of Object.entries(val)) put(target[key], k, v)
      } else {
        target[key] = val
      }
    }
    put(this._mutableCollection(col), name, value)
  }

  /**
   * Declares variable `name` in `col`: creates it with `initFn(...initArgs)` if missing (no key
   * is passed), else reads it. Missing and not creatable → ScopeCollectionNotFound when the root
   * collection is empty, ScopeVariableNotFoundError otherwise.
   */
  variable<T = any>(col: string, name: string, initFn?: ((...args: any[]) => T) | null, ...initArgs: unknown[]): Variable<T> {
    if (initFn != null) checkInitFn(initFn, 'variable', name)
    this.reserve(name, col)
    if (!this.hasVariable(col, name)) {
      if (!this.isMutableCollection(col) || initFn == null) {
        if (this.isCollectionEmpty(col)) throw new ScopeCollectionNotFound(col, name, this.pathText)
        throw new ScopeVariableNotFoundError(name, col, this.pathText)
      }
      this.putVariable(col, name, initFn(...initArgs))
    }
    return new Variable<T>(this, col, name)
  }

  /**
   * Declares parameter `name`: an existing value is returned after checking its shapes against
   * what `initFn` would produce (nothing computed, no counter consumed); a new one is
   * `initFn(makeRng('params'), ...initArgs)` — one 'params' counter tick per new parameter,
   * even for initializers that ignore the key.
   */
  param<T = any>(name: string, initFn: InitFn<T>, ...initArgs: unknown[]): T {
    checkInitFn(initFn, 'param', name)
    this.reserve(name, 'params')
    if (this.hasVariable('params', name)) {
      const value = this.getVariable('params', name)
      const expected = abstractShapes(initFn, initArgs)
      const actual = leaves(value)
      for (let i = 0; i < Math.min(actual.length, expected.length); i++) {
        const valueShape = shapeOf(actual[i])
        if (!shapesEqual(valueShape, expected[i])) throw new ScopeParamShapeError(name, this.pathText, valueShape, expected[i])
      }
      return value
    }
    if (!this.isMutableCollection('params')) {
      if (this.isCollectionEmpty('params')) throw new ScopeCollectionNotFound('params', name, this.pathText)
      throw new ScopeParamNotFoundError(name, this.pathText)
    }
    const value = initFn(this.makeRng('params'), ...initArgs)
    this.putVariable('params', name, value)
    return value
  }

  // -- rngs and flags ------------------------------------------------------------------------

  hasRng(name: string): boolean {
    return hasOwn(this.rngs, name)
  }

  /**
   * The next key of stream `name` at this path. A stream that was not supplied silently falls
   * back to 'params' (and advances the 'params' counter), as in Flax.
   */
  makeRng(name = 'params'): PRNGKey {
    if (typeof name !== 'string') throw codedTypeError(`makeRng: the RNG stream name must be a string, got ${name === null ? 'null' : typeof name}`)
    if (!this.hasRng(name)) {
      if (this.hasRng('params')) name = 'params'
      else throw new InvalidRngError(`${this.name ?? 'None'} needs PRNG for "${name}"`)
    }
    this.checkValid()
    const n = (this.rngCounters.counts.get(name) ?? 0) + 1
    this.rngCounters.counts.set(name, n)
    return LazyRng.create(this.rngs[name], n).asJaxRng()
  }

  hasFlag(key: string): boolean {
    return hasOwn(this.flags, key)
  }

  getFlag(key: string, defaultValue?: unknown): unknown {
    return hasOwn(this.flags, key) ? this.flags[key] : defaultValue
  }
}
