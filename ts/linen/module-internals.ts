// The machinery behind `nn.Module`: what Flax does with dataclass hooks, `__setattr__`,
// `__getattr__` and method wrapping, done here with one Proxy per instance.
//
// * Construction (`constructModule`): the constructor's props become the module's fields (own
//   properties); subclass class-field initializers run afterwards and arrive on the proxy as
//   defineProperty calls (native fields), where a prop of the same name wins (so
//   `useBias = true` is a default), or as assignments of new properties (fields lowered by a
//   compiler), accepted while the instance has not been used yet.
//   Then `postInit` attaches the module to its parent (explicit, or the module whose method is
//   running), autonames it (`Dense_0`) and pushes its scope.
// * Attribute writes (`set` trap): frozen outside `setup()`; inside setup a field may not be
//   reassigned and anything else is registered — submodules in it are adopted and named after
//   the attribute (`layers_0`, `heads_a`).
// * Attribute reads (`get` trap): a missing attribute on a bound module runs `setup()` lazily;
//   methods of user classes come back wrapped so each call runs setup first, sits on the module
//   stack, and (for compact methods) rewinds the scope and resets autonaming afterwards.
import { config } from '../core/config'
import { Scope } from '../core/scope'
import { AssignSubModuleError, NameInUseError, ReservedModuleAttributeError, SetAttributeFrozenModuleError, SetAttributeInModuleSetupError, ValueError, CallCompactUnboundModuleError, CallSetupUnboundModuleError, PyTypeError } from '../errors'
import { isPlainObject, map as treeMap } from '../tree'
import { codedError, codedTypeError } from '../coded-error'
import { Tensor, describe } from '../tensor'
import { callRecorders, captureStack, currentModule, moduleStack } from './context'
import type { Module } from './module'
import { ModuleInternalState, SetupState } from './module-state'

export const INTERNALS: unique symbol = Symbol('flaxen.module.internals')
/** Marks a function that already runs the method protocol itself (compact methods, transformed methods). */
export const WRAPPED: unique symbol = Symbol('flaxen.module.wrapped')
/** Marks a compact method. */
export const COMPACT: unique symbol = Symbol('flaxen.module.compact')
/** Marks a method that must not be wrapped (`@nn.nowrap`). */
export const NOWRAP: unique symbol = Symbol('flaxen.module.nowrap')
/** On a method read from a module: the raw function and its name, for `apply(..., { method })`. */
export const METHOD_OF: unique symbol = Symbol('flaxen.module.methodOf')

/** `parent` was not given: take the current module from the module stack. */
export const UNSPECIFIED_PARENT: unique symbol = Symbol('flaxen.module.unspecifiedParent')

export interface Internals {
  /** The object behind the proxy: all reads/writes here bypass the traps. */
  readonly target: any
  proxy: Module
  /** The constructor props except parent/name: the module's dataclass fields. */
  readonly fieldNames: readonly string[]
  readonly id: number
  state: ModuleInternalState
  readonly methodCache: Map<Function, Function>
  /**
   * True from the base constructor until the module is first used. Subclass class fields are
   * initialised after the base constructor returns — by defineProperty, or (when a compiler
   * lowers them, e.g. esbuild with decorators) by plain assignment of a new property — and must
   * not be mistaken for assignments to a frozen module.
   */
  constructing: boolean
  /**
   * The fields the class declares at run time, recorded while constructing: class fields with
   * an initializer (`useBias = true`) or without (`features!: number`). `declare`d fields leave
   * no trace in JS and are not fields (they are setup attributes).
   */
  readonly declaredFields: Set<string>
  /**
   * Options of a lifted transform's class (`nn.mapVariables(Dense, ...)`), per method name.
   * The transformed class is shared by every call with the same target and methods (see
   * transforms.ts), so the options travel with the instance and its clones instead.
   */
  liftOptions?: Readonly<Record<string, unknown>>
}

export interface MethodInfo {
  fn: Function
  key: string
}

let nextModuleId = 0
let modulePrototype: object | null = null

/** Called once by module.ts: methods found at or above Module.prototype are the base API, never wrapped. */
export function registerModulePrototype(proto: object): void {
  modulePrototype = proto
}

export function isModule(x: unknown): x is Module {
  return typeof x === 'object' && x !== null && (x as any)[INTERNALS] !== undefined
}

/** A subclass of Module (or Module itself). */
export function isModuleClass(x: unknown): x is abstract new (...args: any[]) => Module {
  if (typeof x !== 'function' || modulePrototype === null) return false
  for (let o = x.prototype; o !== null && o !== undefined; o = Object.getPrototypeOf(o)) if (o === modulePrototype) return true
  return false
}

export function internals(m: Module): Internals {
  return (m as any)[INTERNALS]
}

export function className(m: Module): string {
  return internals(m).target.constructor.name
}

/** Writes an attribute bypassing the traps (Flax's `object.__setattr__`). */
export function setRaw(i: Internals, key: string, value: unknown): void {
  Object.defineProperty(i.target, key, { value, writable: true, enumerable: true, configurable: true })
}

/**
 * The module is being used: from now on every attribute assignment follows the frozen rules.
 * The first time, the props are checked against the declared fields, as Python checks a
 * dataclass `__init__`'s keyword arguments (JS has no hook after a subclass's field
 * initializers, so this is the earliest point at which all fields are known).
 */
export function endConstruction(i: Internals): void {
  if (!i.constructing) return
  i.constructing = false
  checkFields(i)
}

/** Python's list of argument names in `missing 2 required positional arguments: 'a' and 'b'`. */
function pyNameList(names: string[]): string {
  const q = names.map((n) => `'${n}'`)
  if (q.length <= 2) return q.join(' and ')
  return `${q.slice(0, -1).join(', ')}, and ${q[q.length - 1]}`
}

function checkFields(i: Internals): void {
  const cls = i.target.constructor.name
  for (const key of i.fieldNames) {
    if (!i.declaredFields.has(key)) throw new PyTypeError(`${cls}.__init__() got an unexpected keyword argument '${key}'`)
  }
  const missing = [...i.declaredFields].filter((k) => !i.fieldNames.includes(k) && i.target[k] === undefined)
  if (missing.length > 0) {
    const n = missing.length
    throw new PyTypeError(`${cls}.__init__() missing ${n} required positional argument${n === 1 ? '' : 's'}: ${pyNameList(missing)}`)
  }
}

// ---------------------------------------------------------------------------------------------
// Construction

const RESERVED = new Set(['name', 'parent', 'scope'])

/** The props every module takes besides its fields. */
export interface ModuleBaseProps {
  name?: string | null
  parent?: Module | Scope | null
}

export type ModuleConstructorProps = ModuleBaseProps & Record<string, unknown>

export function constructModule(target: Module, props: ModuleConstructorProps | undefined): Module {
  const { name = null, parent = UNSPECIFIED_PARENT, ...fields } = props ?? {}
  if (name !== null && typeof name !== 'string') throw new PyTypeError(`Module name must be a string or null, got ${typeof name}`)
  if ('scope' in fields) throw new ReservedModuleAttributeError({ scope: fields.scope })
  const i: Internals = {
    target,
    proxy: undefined as unknown as Module,
    fieldNames: Object.keys(fields),
    id: nextModuleId++,
    state: new ModuleInternalState(),
    methodCache: new Map(),
    constructing: true,
    declaredFields: new Set(),
  }
  Object.defineProperty(target, INTERNALS, { value: i })
  for (const [k, v] of Object.entries(fields)) setRaw(i, k, v)
  setRaw(i, 'name', name)
  setRaw(i, 'parent', parent)
  setRaw(i, 'scope', null)
  i.proxy = new Proxy(target, handler)
  postInit(i.proxy)
  return i.proxy
}

/** `_initialization_allowed`: a parent may create children and variables during its own construction, in setup, or in a compact method. */
export function initializationAllowed(i: Internals): boolean {
  return !i.state.isInitialized || i.state.inSetup || i.state.inCompactMethod
}

/** `_name_taken` (relaxed naming, Flax's default): the scope's reservations decide. */
export function nameTaken(i: Internals, name: string, reuseScopes = false, collection: string | null = null): boolean {
  if (reuseScopes) return false
  return i.target.scope.nameReserved(name, collection)
}

/** `Module.__post_init__`: attach to the parent, autoname, push the scope, adopt module fields. */
export function postInit(m: Module): void {
  const i = internals(m)
  i.state = new ModuleInternalState()
  let parent = i.target.parent
  if (parent === UNSPECIFIED_PARENT) {
    parent = currentModule()
    setRaw(i, 'parent', parent)
  }
  // An orphan: bound later, when adopted or used at the top of init/apply.
  if (parent === null) return

  if (isModule(parent)) {
    const pi = internals(parent)
    // A parent adopting its module fields from its own postInit is still being constructed:
    // its subclass field initializers run after this, and must not hit the frozen rules.
    if (pi.state.isInitialized) endConstruction(pi)
    // Unnamed in setup: named when assigned to an attribute.
    if (pi.state.inSetup && i.target.name === null) return
    if (!initializationAllowed(pi) || pi.target.scope === null) throw new AssignSubModuleError(className(m))
    if (i.target.name === null) {
      const prefix = className(m)
      const cursor = pi.state.autonameCursor.get(prefix) ?? 0
      setRaw(i, 'name', `${prefix}_${cursor}`)
      pi.state.autonameCursor.set(prefix, cursor + 1)
    }
    const name: string = i.target.name
    // Setup re-run inside a transform re-creates the same children: reuse their scopes.
    const reuseScopes = pi.state.inSetup && pi.state.setupCalled === SetupState.TRANSFORMED
    if (nameTaken(pi, name, reuseScopes)) throw new NameInUseError('submodule', name, className(parent))
    pi.state.children.set(name, m)
    setRaw(i, 'scope', (pi.target.scope as Scope).push(name, '', reuseScopes))
  } else if (parent instanceof Scope) {
    setRaw(i, 'scope', parent)
  } else {
    throw new ValueError('parent must be None, Module or Scope')
  }

  // Eagerly bind module-valued fields now that a scope is available.
  if (i.target.scope !== null) registerFields(m)
  i.state.isInitialized = true
}

// ---------------------------------------------------------------------------------------------
// Attribute registration (setup assignments and module fields)

/** Adoption caches per root variable dict: an outside module shared by several attributes is cloned once. */
const adoptionCaches = new WeakMap<object, Map<number, Module>>()

type Key = string
function flattenWithPaths(tree: unknown, path: Key[], out: [Key[], unknown][]): void {
  const isEmptyContainer = (x: unknown) => (Array.isArray(x) ? x.length === 0 : isPlainObject(x) && Object.keys(x).length === 0)
  if ((Array.isArray(tree) || isPlainObject(tree)) && !isEmptyContainer(tree)) {
    for (const [k, v] of Object.entries(tree as object)) flattenWithPaths(v, [...path, k], out)
  } else {
    out.push([path, tree])
  }
}

function comparePaths(a: Key[], b: Key[]): number {
  for (let j = 0; j < Math.min(a.length, b.length); j++) if (a[j] !== b[j]) return a[j] < b[j] ? -1 : 1
  return a.length - b.length
}

/**
 * `_map_over_modules_in_tree`: calls `fn(suffix, leaf)` for every leaf of a tree of arrays and
 * plain objects, in sorted key order, suffix = `_` + keys joined by `_` (`''` for a bare value).
 */
export function mapOverModulesInTree(fn: (suffix: string, leaf: unknown) => unknown, tree: unknown): unknown {
  const flat: [Key[], unknown][] = []
  flattenWithPaths(tree, [], flat)
  if (flat.length === 1 && flat[0][0].length === 0) return fn('', tree)
  flat.sort((a, b) => comparePaths(a[0], b[0]))
  const mapped = new Map<string, unknown>()
  for (const [path, leaf] of flat) mapped.set(path.join('\u0000'), fn('_' + path.join('_'), leaf))
  const rebuild = (x: unknown, path: Key[]): unknown => {
    const key = path.join('\u0000')
    if (mapped.has(key) && (path.length > 0 || !(Array.isArray(x) || isPlainObject(x)))) return mapped.get(key)
    if (Array.isArray(x)) return x.map((v, j) => rebuild(v, [...path, String(j)]))
    if (isPlainObject(x)) {
      const out: Record<string, unknown> = {}
      for (const [k, v] of Object.entries(x)) out[k] = rebuild(v, [...path, k])
      return out
    }
    return x
  }
  return rebuild(tree, [])
}

/** `_freeze_attr`: arrays and plain objects stored on a module are frozen (Flax: tuples, FrozenDicts). */
function freezeAttr(x: unknown): unknown {
  if (Array.isArray(x)) return Object.freeze(x.map(freezeAttr))
  if (isPlainObject(x)) {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(x)) out[k] = freezeAttr(v)
    return Object.freeze(out)
  }
  return x
}

/**
 * Adopts the modules held by the dataclass fields. A class may give a field's Flax name in
 * `static flaxFieldNames` (`{ layerInstance: 'layer_instance' }`): the adopted modules are named
 * after it, so their variables sit under Flax's data keys while the prop stays camelCase.
 */
function registerFields(m: Module): void {
  const i = internals(m)
  const flaxNames = (i.target.constructor as { flaxFieldNames?: Record<string, string> }).flaxFieldNames ?? {}
  for (const key of i.fieldNames) registerSubmodules(m, key, i.target[key], flaxNames[key])
}

/** `_register_submodules`: stores `val` as attribute `name`, adopting the unnamed modules inside it (named after `adoptAs`, default `name`). */
export function registerSubmodules(m: Module, name: string, val: unknown, adoptAs: string = name): void {
  const i = internals(m)
  const scope: Scope = i.target.scope
  const rootVars = scope.root._variables
  let cache = adoptionCaches.get(rootVars)
  if (cache === undefined) adoptionCaches.set(rootVars, (cache = new Map()))
  const cls = i.target.constructor as { preserveAdoptedNames?: boolean }
  const preserveAdoptedNames = cls.preserveAdoptedNames ?? config.flaxPreserveAdoptedNames
  const queue: Module[] = []

  const adopt = (suffix: string, sub: unknown): unknown => {
    if (!isModule(sub)) return sub
    endConstruction(internals(sub))
    let adoptedName: string | null = null
    if (internals(sub).target.parent === null) {
      // Created outside (e.g. passed to the constructor): adopt a clone, once per instance.
      if (preserveAdoptedNames) adoptedName = internals(sub).target.name
      const key = internals(sub).id
      let clone = cache!.get(key)
      if (clone === undefined) {
        clone = cloneModule(sub, { updates: { name: null } })
        cache!.set(key, clone)
      }
      sub = clone
    }
    const si = internals(sub as Module)
    if (si.target.name === null) {
      setRaw(si, 'parent', m)
      setRaw(si, 'name', adoptedName ?? `${adoptAs}${suffix}`)
      queue.push(sub as Module)
    }
    return sub
  }

  setRaw(i, name, freezeAttr(mapOverModulesInTree(adopt, val)))
  for (const x of queue) postInit(x)
}

// ---------------------------------------------------------------------------------------------
// Setup and the method protocol

/** Run at the end of every (non-shallow) setup, still in setup: e.g. creating the `compactNameScope` children. */
const afterSetupHooks: ((m: Module) => void)[] = []
export function registerAfterSetupHook(hook: (m: Module) => void): void {
  afterSetupHooks.push(hook)
}

/** `_try_setup`: runs setup once on a bound module (shallow: only registers module fields). */
export function trySetup(m: Module, shallow = false): void {
  const i = internals(m)
  if (i.target.scope === null || i.state.inSetup || i.state.setupCalled === SetupState.DONE) return
  try {
    i.state.inSetup = true
    registerFields(m)
    if (!shallow) {
      const setup = Reflect.get(i.target, 'setup') as Function
      callWrappedMethod(m, setup, [], { setup: true, name: 'setup' })
      for (const hook of afterSetupHooks) hook(m)
    }
  } finally {
    i.state.inSetup = false
    if (!shallow) i.state.setupCalled = SetupState.DONE
  }
}

export interface MethodKind {
  compact?: boolean
  setup?: boolean
  name?: string
}

/**
 * `_call_wrapped_method`: lazy setup, module stack, compact bookkeeping, intermediates capture.
 * After a compact method the scope is rewound (names may be declared again on the next call)
 * and, for the outermost call, autonaming restarts at 0.
 */
export function callWrappedMethod(m: Module, fn: Function, args: unknown[], kind: MethodKind = {}): any {
  const i = internals(m)
  endConstruction(i)
  const isCompact = kind.compact === true
  const isSetup = kind.setup === true
  let isRecurrent = false
  if (isSetup) {
    if (i.target.scope === null) throw new CallSetupUnboundModuleError()
    isRecurrent = i.state.inSetup
    i.state.inSetup = true
  } else {
    trySetup(m)
  }
  if (isCompact) {
    if (i.target.scope === null) throw new CallCompactUnboundModuleError()
    isRecurrent = i.state.inCompactMethod
    i.state.inCompactMethod = true
  }
  moduleStack.push(m)
  try {
    const name = kind.name ?? fn.name
    if (!isSetup && callRecorders.length) callRecorders[callRecorders.length - 1](m, name)
    const y = fn.apply(m, args)
    const filter = captureStack.length ? captureStack[captureStack.length - 1] : false
    if (!isSetup && filter && filter(m, name)) m.sow('intermediates', name, y)
    return y
  } finally {
    moduleStack.pop()
    if (isCompact) setRaw(i, 'scope', (i.target.scope as Scope).rewound())
    if ((isCompact || isSetup) && !isRecurrent) i.state.reset()
  }
}

/** Calls a method found on a module's class with the protocol (unless it carries it already). */
export function invokeMethod(m: Module, fn: Function, key: string, args: unknown[]): any {
  if ((fn as any)[WRAPPED] || (fn as any)[NOWRAP]) return fn.apply(m, args)
  return callWrappedMethod(m, fn, args, { setup: key === 'setup', name: key })
}

/** Per prototype: where each method name was found (prototype chains do not change after class creation). */
const ownerKindCache = new WeakMap<object, Map<string, 'class' | 'base'>>()

/** Where `key` is a data property on the prototype chain: 'own', 'class' (a user class), or 'base'. */
function ownerKind(target: object, key: string): 'own' | 'class' | 'base' {
  if (Object.prototype.hasOwnProperty.call(target, key)) return 'own'
  const proto = Object.getPrototypeOf(target)
  let cache = ownerKindCache.get(proto)
  if (cache === undefined) ownerKindCache.set(proto, (cache = new Map()))
  let kind = cache.get(key)
  if (kind === undefined) {
    kind = 'base'
    for (let o = proto; o !== null && o !== modulePrototype; o = Object.getPrototypeOf(o)) {
      const d = Object.getOwnPropertyDescriptor(o, key)
      if (d !== undefined) {
        kind = 'value' in d ? 'class' : 'base'
        break
      }
    }
    cache.set(key, kind)
  }
  return kind
}

/** The function a module hands out for `module[key]`: user methods come bound and wrapped. */
function methodView(i: Internals, key: string, fn: Function): Function {
  const kind = ownerKind(i.target, key)
  const wrapped = (fn as any)[WRAPPED] === true
  if (kind === 'base' || key === 'constructor' || (fn as any)[NOWRAP]) return fn
  if (kind === 'own' && !wrapped) return fn // a field value (initializer, class...) or a plain arrow
  let bound = i.methodCache.get(fn)
  if (bound === undefined) {
    const m = i.proxy
    bound = wrapped ? (...args: unknown[]) => fn.apply(m, args) : (...args: unknown[]) => invokeMethod(m, fn, key, args)
    Object.defineProperty(bound, 'name', { value: key })
    ;(bound as any)[METHOD_OF] = { fn, key } satisfies MethodInfo
    i.methodCache.set(fn, bound)
  }
  return bound
}

// Property names that probing code (await, JSON, test libraries) reads on any object: never a reason to run setup.
const NO_LAZY_SETUP = new Set(['then', 'toJSON', 'asymmetricMatch', '$$typeof', 'nodeType', 'constructor'])

const handler: ProxyHandler<any> = {
  get(target, key, receiver) {
    if (typeof key === 'symbol') return Reflect.get(target, key, receiver)
    if (!(key in target) && !NO_LAZY_SETUP.has(key)) trySetup(receiver)
    const value = Reflect.get(target, key, receiver)
    return typeof value === 'function' ? methodView(target[INTERNALS], key, value) : value
  },

  set(target, key, value, receiver) {
    if (typeof key === 'symbol') return Reflect.defineProperty(target, key, { value, writable: true, configurable: true })
    const i: Internals = target[INTERNALS]
    if (i.constructing && !Object.prototype.hasOwnProperty.call(target, key)) {
      // A class-field initializer in assignment form (see Internals.constructing).
      if (RESERVED.has(key)) throw new ReservedModuleAttributeError({ [key]: value })
      i.declaredFields.add(key)
      if (value !== undefined) setRaw(i, key, value)
      return true
    }
    if (!i.state.inSetup) {
      if (!i.state.isInitialized) {
        setRaw(i, key, value)
        return true
      }
      throw new SetAttributeFrozenModuleError(className(receiver), key, value)
    }
    if (i.fieldNames.includes(key) || RESERVED.has(key)) throw new SetAttributeInModuleSetupError()
    registerSubmodules(receiver, key, value)
    return true
  },

  // Subclass class fields (useDefineForClassFields) are defined here, after the base constructor.
  defineProperty(target, key, desc) {
    const i: Internals | undefined = target[INTERNALS]
    if (typeof key === 'string' && i !== undefined) {
      if (RESERVED.has(key)) throw new ReservedModuleAttributeError({ [key]: desc.value })
      if (i.constructing && 'value' in desc) i.declaredFields.add(key)
      // A constructor prop wins over the class-field default.
      if (i.fieldNames.includes(key)) return true
      // `dense!: Dense` (no initializer) only declares: leave it missing so reads trigger setup.
      if ('value' in desc && desc.value === undefined && !Object.prototype.hasOwnProperty.call(target, key)) return true
    }
    return Reflect.defineProperty(target, key, desc)
  },

  ownKeys(target) {
    // Listing a bound module's attributes runs setup first, like Python's dir(). (`key in
    // module` does not: it is how compiled class fields probe for existing props while the
    // instance is still being constructed.)
    trySetup(target[INTERNALS].proxy)
    return Reflect.ownKeys(target)
  },
}

// ---------------------------------------------------------------------------------------------
// Cloning

export interface CloneOptions {
  parent?: Module | Scope | null
  /** Clone module-valued fields too (a cache, shared across the recursion, keeps sharing intact). */
  deepClone?: boolean | Map<number, Module>
  /** With deepClone: clear the names of cloned submodules. */
  resetNames?: boolean
  updates?: Record<string, unknown>
}

/** Current field values (Flax: `getattr(self, f.name)` for every init field). */
export function fieldValues(m: Module): Record<string, unknown> {
  const i = internals(m)
  const attrs: Record<string, unknown> = {}
  for (const key of i.fieldNames) attrs[key] = i.target[key]
  attrs.name = i.target.name
  return attrs
}

/** Replaces every module inside a tree of arrays / plain objects. */
export function mapSubmodules(fn: (m: Module) => Module, value: unknown): unknown {
  if (isModule(value)) return fn(value)
  if (!Array.isArray(value) && !isPlainObject(value)) return value
  return treeMap((leaf: unknown) => (isModule(leaf) ? fn(leaf) : leaf), value)
}

/** `Module.clone`: a new instance of the same class with the same fields (parent defaults to none). */
export function cloneModule(m: Module, { parent = null, deepClone = false, resetNames = false, updates = {} }: CloneOptions = {}): Module {
  const i = internals(m)
  endConstruction(i)
  const attrs: Record<string, unknown> = { ...fieldValues(m), ...updates }
  if (deepClone !== false) {
    const cache = deepClone === true ? new Map<number, Module>() : deepClone
    const cloneFn = (sub: Module): Module => {
      const key = internals(sub).id
      let c = cache.get(key)
      if (c === undefined) {
        c = resetNames ? cloneModule(sub, { deepClone: cache, resetNames, updates: { name: null } }) : cloneModule(sub, { deepClone: cache })
        cache.set(key, c)
      }
      return c
    }
    for (const [k, v] of Object.entries(attrs)) if (k !== 'parent') attrs[k] = mapSubmodules(cloneFn, v)
  }
  attrs.parent = parent
  const Cls = i.target.constructor as new (props: Record<string, unknown>) => Module
  const clone = new Cls(attrs)
  internals(clone).liftOptions ??= i.liftOptions
  endConstruction(internals(clone))
  return clone
}

// ---------------------------------------------------------------------------------------------
// Arguments at the module boundary

/** Where an argument error happened: `Dense.call` plus the module's path when bound (`at 'MLP_0/Dense_0'`). */
function methodSite(m: Module, method: string): string {
  const i = internals(m)
  const scope = i.target.scope as Scope | null
  const path = scope !== null && scope.path.length > 0 ? ` (at '${scope.path.join('/')}')` : ''
  return `${className(m)}.${method}${path}`
}

/**
 * A tensor argument of a layer's method. A plain array, a typed array or undefined would
 * otherwise fail deep inside the computation with a message naming neither the layer nor the
 * argument; a disposed tensor, with one naming nothing.
 */
export function tensorArg(m: Module, method: string, arg: string, x: unknown): Tensor {
  if (x instanceof Tensor) {
    if (x.isDisposed) throw codedError('E_DISPOSED', `${methodSite(m, method)}: argument '${arg}' is a tensor used after dispose()`)
    return x
  }
  throw codedTypeError(`${methodSite(m, method)}: argument '${arg}' must be a Tensor, got ${describe(x)}`)
}

/**
 * A prop that is an integer or a list of integers (features, axes), as a list. Anything else
 * would fail later as "x is not iterable", naming neither the layer nor the prop.
 */
export function intsProp(m: Module, prop: string, x: unknown): number[] {
  const list = typeof x === 'number' ? [x] : Array.isArray(x) ? x : null
  if (list === null || list.length > 64 || !list.every((v) => Number.isInteger(v))) {
    throw codedTypeError(`${m.constructor.name}: ${prop} must be an integer or a list of at most 64 integers, got ${describe(x)}`)
  }
  return [...list]
}

/**
 * Called at the end of a built-in layer's constructor: when `cls` itself is being constructed
 * (not a subclass, whose fields are still to come), all fields are known, so the props are
 * checked now — a misspelt or missing prop fails at `new`, as in Flax.
 */
export function constructed(m: Module, newTarget: Function, cls: Function): void {
  if (newTarget === cls) endConstruction(internals(m))
}
