// `nn.Module`: the base class of every layer and model (flax.linen.Module).
//
// Port conventions: Flax's `__call__` is `call`; dataclass fields are the constructor's props
// (`new Dense({ features: 3 })`). A subclass gives their type as the generic argument
// (`extends Module<{ features: number; useBias?: boolean }>`: required props required,
// defaulted ones optional) and declares them as class fields — `features!: number` (required)
// or `useBias = true` (default) — which is what tells the run-time check which props exist
// (`declare`d attributes leave no trace in JS: they are setup attributes, not fields). `name`
// and `parent` are reserved. Flax
// keyword arguments of init/apply become an options object (`applyWith(vars, { mutable }, x)`).
// Module-valued fields are adopted under the field name; a built-in layer whose Flax field name
// differs from the camelCase prop declares it (`static flaxFieldNames = { layerInstance:
// 'layer_instance' }`) so variables keep Flax's keys. The machinery (proxy, naming, setup,
// method wrapping) lives in module-internals.ts.
import type { CollectionFilter } from '../core/filters'
import { DenyList, unionFilters } from '../core/filters'
import * as core from '../core/init-apply'
import type { RngsArg } from '../core/init-apply'
import { isValidRng } from '../core/rng'
import type { PRNGKey } from '../core/rng'
import type { InitFn, Scope, VariableDict } from '../core/scope'
import type { Variable } from '../core/variable'
import { ApplyModuleInvalidMethodError, AttributeError, CallUnbindOnUnboundModuleError, InvalidInstanceModuleError, InvalidRngError, NameInUseError, ValueError, pyStr, PyTypeError } from '../errors'
import * as jnp from '../jnp'
import { Tensor } from '../tensor'
import type { AbstractArgs } from '../eval-shape'
import { lazyEval } from '../lazy-init'
import { isPlainObject } from '../tree'
import { codedError, codedTypeError } from '../coded-error'
import { type CaptureFilter, callRecorders, captureStack } from './context'
import {
  METHOD_OF,
  type MethodInfo,
  type ModuleBaseProps,
  type ModuleConstructorProps,
  className,
  cloneModule,
  constructModule,
  endConstruction,
  initializationAllowed,
  internals,
  invokeMethod,
  isModule,
  nameTaken,
  registerModulePrototype,
  UNSPECIFIED_PARENT,
} from './module-internals'

/** A module's constructor props: its fields `P` plus `name` and `parent`. */
export type ModuleProps<P extends object = {}> = P & ModuleBaseProps

// A type-only key: the props type rides on the instance type without a run-time property.
declare const PROPS: unique symbol

/** The fields type a module class was declared with (`Module<P>` → `P`). */
export type PropsOf<M> = M extends { readonly [PROPS]?: infer P } ? (P extends object ? P : {}) : {}

/**
 * A node of a variable dict as read back from `init`: a `Tensor` leaf, typed so that paths read
 * without narrowing (`v.params.Dense_0.kernel.shape`). Inner dicts are typed as nodes too;
 * `tree.leaves` gives the real leaves.
 */
export type VariableNode = Tensor & { [child: string]: VariableNode }
/** One collection (`params`, `batch_stats`, ...): names → variables or nested dicts. */
export type Collection = { [name: string]: VariableNode }
/** Flax's variable dict: collections by name (`{ params: {...}, batch_stats: {...} }`). */
export type Variables = { [collection: string]: Collection }
/**
 * What `apply`/`bind` accept: any dict of collections. A collection is a dict, never a tensor —
 * which is how `m.apply(v.params, x)` (a collection in place of the dict of collections) is a
 * type error.
 */
export type VariablesArg = { readonly [collection: string]: { readonly [name: string]: unknown } & NotALeaf }
type NotALeaf = { readonly shape?: never; readonly dtype?: never }

type AnyFn = (...args: any) => any
/** The `method` an options object names (undefined: `call`). */
export type MethodIn<O> = O extends { method: infer X } ? X : undefined
/** `method` of init/apply for module `M`: one of its attribute names (a method or a submodule), or a function. */
export type MethodOf<M> = { method?: Extract<keyof M, string> | AnyFn }
/** The function `init`/`apply` run for `method` (undefined: `call`). */
type MethodFn<M, X> = [X] extends [undefined]
  ? M extends { call: infer F extends AnyFn } ? F : AnyFn
  : X extends keyof M
    ? M[X] extends infer F extends AnyFn ? F : AnyFn
    : X extends (module: M, ...args: infer A) => infer R
      ? (...args: A) => R
      : X extends AnyFn
        ? X
        : AnyFn
/** The arguments `init`/`apply` take after the variables/rngs, for `method`. */
export type MethodArgs<M, X = undefined> = Parameters<MethodFn<M, X>>
/** What that method returns. */
export type MethodResult<M, X = undefined> = ReturnType<MethodFn<M, X>>
/** apply's result: `y`, or `[y, updatedCollections]` when anything is mutable (or intermediates are captured). */
export type ApplyResult<Y, O> = O extends { mutable: infer F }
  ? [F] extends [false | undefined]
    ? CaptureResult<Y, O>
    : [Y, Variables]
  : CaptureResult<Y, O>
type CaptureResult<Y, O> = O extends { captureIntermediates: infer C } ? ([C] extends [false | undefined] ? Y : [Y, Variables]) : Y

/** Which method `init`/`apply` run: a method name, a method of the class, or `(module, ...args) => y`. */
export type MethodArg = string | ((...args: any[]) => any)

export interface InitWithOptions {
  method?: MethodArg
  /** Default `DenyList('intermediates')`: everything but intermediates may be created. */
  mutable?: CollectionFilter
  captureIntermediates?: boolean | CaptureFilter
}

export interface ApplyWithOptions {
  rngs?: RngsArg | null
  method?: MethodArg
  /** Default `false`. Anything else (even `[]`) makes apply return `[y, mutatedVariables]`. */
  mutable?: CollectionFilter
  captureIntermediates?: boolean | CaptureFilter
}

export interface SowOptions<T, A> {
  reduceFn?: (acc: A, value: T) => A
  initFn?: () => A
}

const unboundSuffix = (name: string) => ` If "${name}" is defined in '.setup()', remember these fields are only accessible from inside 'init' or 'apply'.`

function noAttribute(m: Module, name: string): AttributeError {
  return new AttributeError(`"${className(m)}" object has no attribute "${name}".` + (m.scope === null ? unboundSuffix(name) : ''))
}

/** `capture_call_intermediates`: capture_intermediates=true records the output of `call`. */
const captureCallIntermediates: CaptureFilter = (_m, methodName) => methodName === 'call'

function moduleChecks(m: unknown): asserts m is Module {
  if (!isModule(m)) throw new InvalidInstanceModuleError()
  endConstruction(internals(m))
}

type ScopeModuleFn<M extends Module = Module> = (module: M, ...args: any[]) => any

/** Resolves `method=` of init/apply to a function of the (cloned) module, as Flax's `_get_unbound_fn`. */
function resolveMethod(m: Module, method: MethodArg | undefined): ScopeModuleFn {
  const target = internals(m).target
  if (method === undefined || method === null) {
    const fn = Reflect.get(target, 'call') as Function
    if (fn === Module.prototype.call) throw noAttribute(m, 'call')
    return (mod, ...args) => invokeMethod(mod, fn, 'call', args)
  }
  if (typeof method === 'string') {
    const value = Reflect.get(target, method)
    if (value === undefined) throw noAttribute(m, method)
    // A string naming a submodule attribute calls that submodule.
    if (isModule(value)) return (mod, ...args) => (mod as any)[method].call(...args)
    if (typeof value !== 'function') throw new PyTypeError(`'${className(m)}.${method}' must be a callable, got ${typeof value}.`)
    return (mod, ...args) => invokeMethod(mod, value, method, args)
  }
  if (typeof method !== 'function') throw new ApplyModuleInvalidMethodError(method)
  // A method read from some module instance (`ae.encode`): run its function on the clone.
  const info = (method as any)[METHOD_OF] as MethodInfo | undefined
  if (info !== undefined) return (mod, ...args) => invokeMethod(mod, info.fn, info.key, args)
  // A function of the class itself (`Foo.prototype.encode`): a method, `this` is the module.
  for (let o = Object.getPrototypeOf(target); o !== null && o !== Module.prototype; o = Object.getPrototypeOf(o)) {
    for (const key of Object.getOwnPropertyNames(o)) {
      const d = Object.getOwnPropertyDescriptor(o, key)
      if (d && d.value === method) return (mod, ...args) => invokeMethod(mod, method, key, args)
    }
  }
  // Anything else is `(module, ...args) => y`, which needs at least the module parameter.
  if (method.length < 1) throw new ApplyModuleInvalidMethodError(method)
  return method as ScopeModuleFn
}

function captureFilterOf(ci: boolean | CaptureFilter | undefined): CaptureFilter | false {
  if (ci === true) return captureCallIntermediates
  return typeof ci === 'function' ? ci : false
}

function withCapture<T>(filter: CaptureFilter | false, fn: () => T): T {
  captureStack.push(filter)
  try {
    return fn()
  } finally {
    captureStack.pop()
  }
}

/** `nn.apply(fn, module, mutable, capture_intermediates)(variables, *args, rngs=...)`. */
export function apply<M extends Module>(fn: ScopeModuleFn<M>, module: M, options: ApplyWithOptions = {}): (variables: Variables, ...args: any[]) => any {
  const filter = captureFilterOf(options.captureIntermediates)
  let mutable = options.mutable ?? false
  if (filter) mutable = unionFilters(mutable, 'intermediates')
  const scopeFn = (scope: Scope, ...args: any[]) =>
    withCapture(filter, () => fn(cloneModule(module, { parent: scope, deepClone: true }) as M, ...args))
  return core.apply(scopeFn, { mutable, rngs: options.rngs ?? null })
}

/** `nn.init_with_output(fn, module, mutable, capture_intermediates)(rngs, *args)` → `[y, variables]`. */
export function initWithOutput<M extends Module>(fn: ScopeModuleFn<M>, module: M, options: InitWithOptions = {}): (rngs: RngsArg, ...args: any[]) => [any, Variables] {
  const filter = captureFilterOf(options.captureIntermediates)
  let mutable = options.mutable ?? new DenyList('intermediates')
  if (filter) mutable = unionFilters(mutable, 'intermediates')
  const scopeFn = (scope: Scope, ...args: any[]) =>
    withCapture(filter, () => fn(cloneModule(module, { parent: scope, deepClone: true }) as M, ...args))
  return core.init(scopeFn, { mutable })
}

/** `nn.init(fn, module, ...)(rngs, *args)` → variables. */
export function init<M extends Module>(fn: ScopeModuleFn<M>, module: M, options: InitWithOptions = {}): (rngs: RngsArg, ...args: any[]) => Variables {
  const f = initWithOutput(fn, module, options)
  return (rngs, ...args) => f(rngs, ...args)[1]
}

function initImpl(m: Module, rngs: RngsArg, options: InitWithOptions, args: unknown[]): [any, Variables] {
  if (!isPlainObject(rngs)) {
    if (!isValidRng(rngs)) {
      throw new InvalidRngError(`RNGs should be of shape (2,) or PRNGKey in Module ${className(m)}, but rngs are: ${pyStr(rngs)}`)
    }
    rngs = { params: rngs as PRNGKey }
  }
  return initWithOutput(resolveMethod(m, options.method), m, options)(rngs, ...args)
}

function applyImpl(m: Module, variables: VariablesArg, options: ApplyWithOptions, args: unknown[]): any {
  let rngs = options.rngs ?? null
  if (rngs !== null && !isPlainObject(rngs)) {
    if (!isValidRng(rngs)) {
      throw new InvalidRngError(`RNGs should be of shape (2,) or PRNGKey in Module ${className(m)}, but rngs are: ${pyStr(rngs)}`)
    }
    rngs = { params: rngs as PRNGKey }
  }
  return apply(resolveMethod(m, options.method), m, { ...options, rngs })(variables as Variables, ...args)
}

/** The keyword arguments of Flax's `apply`/`init`, which flaxen takes as `applyWith`'s / `initWith`'s options. */
const APPLY_OPTION_KEYS = new Set(['mutable', 'rngs', 'method', 'captureIntermediates'])

/**
 * Flax's keyword arguments given to `apply` as a trailing object (`m.apply(v, x, { mutable })`)
 * would reach the module's `call` as an argument and fail later with an unrelated error. An
 * object whose keys are all apply options is refused here; a trailing options object of the
 * module's own (`{ mask }`, `{ deterministic }`) has other keys and passes.
 */
function checkApplyArgs(m: Module, method: 'apply' | 'init' | 'initWithOutput', args: readonly unknown[]): void {
  const last = args[args.length - 1]
  if (!isPlainObject(last)) return
  const keys = Object.keys(last)
  if (keys.length === 0 || !keys.every((k) => APPLY_OPTION_KEYS.has(k))) return
  const withName = method === 'apply' ? 'applyWith' : method === 'init' ? 'initWith' : 'initWithOutputWith'
  const first = method === 'apply' ? 'variables' : 'rngs'
  throw codedTypeError(
    `${className(m)}.${method}: the last argument {${keys.join(', ')}} holds ${withName}'s options, which ${method} passes to the module as an argument; ` +
      `use ${className(m)}.${withName}(${first}, { ${keys.join(', ')} }, ...args)`,
  )
}

/**
 * A stored variable that was disposed fails with a message naming only "tensor"; this names the
 * variable's path (`params/Dense_0/kernel`) and keeps the code. Checked on the way out too, as
 * a stored value is returned without being touched.
 */
function disposedAsPath<T>(m: Module, col: string, name: string, get: () => T): T {
  const what = () => `${className(m)}: variable '${[col, ...(m.scope as Scope).path, name].join('/')}' is a tensor used after dispose()`
  let v: T
  try {
    v = get()
  } catch (e) {
    if ((e as { code?: unknown }).code === 'E_DISPOSED') throw codedError('E_DISPOSED', what())
    throw e
  }
  if (v instanceof Tensor && v.isDisposed) throw codedError('E_DISPOSED', what())
  return v
}

export class Module<P extends object = {}> {
  /** Type-only: the props type (see `PropsOf`). */
  declare readonly [PROPS]?: P

  /** The name in the parent (`Dense_0`, an attribute name, or explicit); ignored for the top-level module's path. */
  declare readonly name: string | null
  /** The parent module or scope; `null` for an unbound orphan. */
  declare readonly parent: Module | Scope | null
  /** The scope once bound, else `null`. */
  declare readonly scope: Scope | null

  constructor(...[props]: {} extends P ? [props?: ModuleProps<P>] : [props: ModuleProps<P>]) {
    // Returning the proxy makes it `this` for subclass field initializers and for every method.
    return constructModule(this, props as ModuleConstructorProps) as unknown as Module<P>
  }

  // Calling init/apply on the class instead of an instance is a Flax error too.
  static init(..._args: unknown[]): never {
    throw new InvalidInstanceModuleError()
  }
  static initWithOutput(..._args: unknown[]): never {
    throw new InvalidInstanceModuleError()
  }
  static initWith(..._args: unknown[]): never {
    throw new InvalidInstanceModuleError()
  }
  static applyWith(..._args: unknown[]): never {
    throw new InvalidInstanceModuleError()
  }

  /** Declares submodules and variables lazily, once per bound instance. Override it. */
  setup(): void {}

  /** Flax's `__call__`. Subclasses define it; the base has none. */
  call(..._args: any[]): any {
    throw noAttribute(this, 'call')
  }

  // -- init / apply --------------------------------------------------------------------------

  /** `init(rngs, *args)` → variables. `rngs` is a key (meaning `{ params: key }`) or a record of keys. */
  init(rngs: RngsArg, ...args: MethodArgs<this>): Variables {
    moduleChecks(this)
    checkApplyArgs(this, 'init', args)
    return initImpl(this, rngs, {}, args)[1]
  }

  /** `init(rngs, *args, method=..., mutable=...)`. */
  initWith<const O extends InitWithOptions>(rngs: RngsArg, options: O & MethodOf<this>, ...args: MethodArgs<this, MethodIn<O>>): Variables {
    moduleChecks(this)
    return initImpl(this, rngs, options, args)[1]
  }

  /**
   * Flax's `lazy_init(rngs, *args)`: the variables `init` makes, without the work that depends
   * on the inputs. Arguments may be ShapeDtypeStructs (`new ShapeDtypeStruct([1024 ** 3, 128],
   * 'float32')` costs nothing); only the ops the variables need are run. A variable that
   * depends on an abstract argument raises Flax's LazyInitError.
   */
  lazyInit(rngs: RngsArg, ...args: AbstractArgs<MethodArgs<this>>): Variables {
    moduleChecks(this)
    return lazyEval((...a: unknown[]) => this.init(rngs, ...(a as MethodArgs<this>)), args)
  }

  /** `lazy_init(rngs, *args, method=..., mutable=...)`. */
  lazyInitWith<const O extends InitWithOptions>(rngs: RngsArg, options: O & MethodOf<this>, ...args: AbstractArgs<MethodArgs<this, MethodIn<O>>>): Variables {
    moduleChecks(this)
    return lazyEval((...a: unknown[]) => this.initWith(rngs, options, ...(a as MethodArgs<this, MethodIn<O>>)), args)
  }

  /** `init_with_output(rngs, *args)` → `[y, variables]`. */
  initWithOutput(rngs: RngsArg, ...args: MethodArgs<this>): [MethodResult<this>, Variables] {
    moduleChecks(this)
    checkApplyArgs(this, 'initWithOutput', args)
    return initImpl(this, rngs, {}, args) as [MethodResult<this>, Variables]
  }

  initWithOutputWith<const O extends InitWithOptions>(rngs: RngsArg, options: O & MethodOf<this>, ...args: MethodArgs<this, MethodIn<O>>): [MethodResult<this, MethodIn<O>>, Variables] {
    moduleChecks(this)
    return initImpl(this, rngs, options, args) as [MethodResult<this, MethodIn<O>>, Variables]
  }

  /** `apply(variables, *args)` → y (nothing mutable). Keyword options go to `applyWith`. */
  apply(variables: VariablesArg, ...args: MethodArgs<this>): MethodResult<this> {
    moduleChecks(this)
    checkApplyArgs(this, 'apply', args)
    return applyImpl(this, variables, {}, args)
  }

  /** `apply(variables, *args, rngs=, method=, mutable=)`: y, or `[y, state]` when mutable is not false. */
  applyWith<const O extends ApplyWithOptions>(variables: VariablesArg, options: O & MethodOf<this>, ...args: MethodArgs<this, MethodIn<O>>): ApplyResult<MethodResult<this, MethodIn<O>>, O> {
    moduleChecks(this)
    return applyImpl(this, variables, options, args)
  }

  /**
   * `module_paths`: runs `init` and returns, for every module whose method ran, its path
   * (`''`, `'Bar_0'`, `'Bar_0/Dense_0'`, ...) → an unbound copy of it, in the order the calls
   * started. A path called again is listed once unless `showRepeated`.
   */
  modulePaths(rngs: RngsArg, ...args: any[]): Record<string, Module> {
    return this.modulePathsWith(rngs, {}, ...args)
  }

  modulePathsWith(rngs: RngsArg, { showRepeated = false, ...options }: InitWithOptions & { showRepeated?: boolean }, ...args: any[]): Record<string, Module> {
    moduleChecks(this)
    const calls: [string, Module][] = []
    callRecorders.push((m) => calls.push([(m.scope as Scope).path.join('/'), m.clone()]))
    try {
      initImpl(this, rngs, options, args)
    } finally {
      callRecorders.pop()
    }
    const out: Record<string, Module> = {}
    for (const [path, m] of calls) {
      if (!showRepeated && path in out) continue
      out[path] = m.copy({ parent: null })
    }
    return out
  }

  /** An interactive clone bound to `variables` (a non-temporary root scope). */
  bind(variables: VariablesArg, { rngs = null, mutable = false }: { rngs?: Record<string, PRNGKey> | null; mutable?: CollectionFilter } = {}): this {
    moduleChecks(this)
    const scope = core.bind(variables as Variables, rngs, mutable)
    return cloneModule(this, { parent: scope, deepClone: true }) as this
  }

  /** `[unbound copy with submodule names reset, this module's variables]`. */
  unbind(): [this, Variables] {
    moduleChecks(this)
    if (this.scope === null) throw new CallUnbindOnUnboundModuleError()
    const variables = this.variables
    const module = cloneModule(this, { deepClone: true, resetNames: true, updates: { name: null } }) as this
    return [module, variables]
  }

  /** A new instance with the same fields (no parent unless given) and `updates` applied. */
  clone(updates: Partial<ModuleProps<PropsOf<this>>> = {}): this {
    const { parent = null, ...rest } = updates
    return cloneModule(this, { parent: parent as Module | Scope | null, updates: rest }) as this
  }

  /**
   * A deep clone meant as a sibling: its parent is the module whose method is running (unless
   * `parent` is given) and its name is re-derived (`name: null` → the next autoname, so
   * `Dense_0.copy()` is `Dense_1`), Flax's `Module.copy`.
   */
  copy(updates: Partial<ModuleProps<PropsOf<this>>> = {}): this {
    const { parent = UNSPECIFIED_PARENT, name = null, ...rest } = updates as Record<string, unknown>
    return cloneModule(this, { parent: parent as Module | Scope | null, deepClone: true, updates: { ...rest, name } }) as this
  }

  // -- inside methods ------------------------------------------------------------------------

  /**
   * Declares parameter `name` (created with `initFn(key, ...initArgs)` — the key is passed
   * automatically) and returns its value. Only in setup or a compact method.
   */
  param<T = any>(name: string, initFn: InitFn<T>, ...initArgs: unknown[]): T {
    const i = internals(this)
    if (!initializationAllowed(i)) throw new ValueError('Parameters must be initialized in `setup()` or in a method wrapped in `@compact`')
    if (nameTaken(i, name, false, 'params')) throw new NameInUseError('param', name, className(this))
    const v = disposedAsPath(this, 'params', name, () => (this.scope as Scope).param(name, initFn, ...initArgs))
    i.state.children.set(name, 'params')
    return v
  }

  /** Declares variable `name` in collection `col` (created with `initFn(...initArgs)`, no key). */
  variable<T = any>(col: string, name: string, initFn?: ((...args: any[]) => T) | null, ...initArgs: unknown[]): Variable<T> {
    const i = internals(this)
    if (!initializationAllowed(i)) throw new ValueError('Variables must be initialized in `setup()` or in a method wrapped in `@compact`')
    if (nameTaken(i, name, false, col)) throw new NameInUseError('variable', name, className(this))
    const v = (this.scope as Scope).variable(col, name, initFn, ...initArgs)
    i.state.children.set(name, col)
    return v
  }

  hasVariable(col: string, name: string): boolean {
    if (this.scope === null) throw new ValueError("Can't access variables on unbound modules")
    return this.scope.hasVariable(col, name)
  }

  getVariable<T = any>(col: string, name: string, defaultValue?: T): T {
    if (this.scope === null) throw new ValueError("Can't access variables on unbound modules")
    const scope = this.scope
    return disposedAsPath(this, col, name, () => scope.getVariable(col, name, defaultValue))
  }

  putVariable(col: string, name: string, value: unknown): void {
    if (this.scope === null) throw new ValueError("Can't store variables on unbound modules")
    this.scope.putVariable(col, name, value)
  }

  /** The next key of stream `name` for this module (missing streams fall back to 'params'). */
  makeRng(name = 'params'): PRNGKey {
    if (this.scope === null) throw new ValueError("Can't use RNGs on unbound modules")
    return this.scope.makeRng(name)
  }

  hasRng(name: string): boolean {
    if (this.scope === null) throw new ValueError("Can't query for RNGs on unbound modules")
    return this.scope.hasRng(name)
  }

  isMutableCollection(col: string): boolean {
    if (this.scope === null) throw new ValueError("Can't check mutability on unbound modules")
    return this.scope.isMutableCollection(col)
  }

  /** True only under init / initWithOutput. */
  isInitializing(): boolean {
    if (this.scope === null) throw new ValueError("Can't check if running under init() on unbound modules")
    return this.scope.getFlag('initializing', false) === true
  }

  /**
   * Stores `value` in collection `col` under `name`, accumulating (by default into an array,
   * Flax's tuple). A silent no-op returning false when the collection is immutable.
   */
  sow<T, A = T[]>(col: string, name: string, value: T, { reduceFn, initFn }: SowOptions<T, A> = {}): boolean {
    if (this.scope === null) throw new ValueError("Can't store variables on unbound modules")
    if (!this.scope.isMutableCollection(col)) return false
    let xs: A
    if (this.scope.hasVariable(col, name)) {
      xs = this.scope.getVariable(col, name)
    } else {
      this.scope.reserve(name, col)
      internals(this).state.children.set(name, col)
      xs = initFn ? initFn() : ([] as unknown as A)
    }
    xs = reduceFn ? reduceFn(xs, value) : ([...(xs as unknown as T[]), value] as unknown as A)
    this.scope.putVariable(col, name, xs)
    return true
  }

  /**
   * Adds a zero-initialised perturbation variable to `value` (for gradients w.r.t.
   * intermediates): created when `collection` is mutable; added when the root has the collection.
   */
  perturb(name: string, value: Tensor, collection = 'perturbations'): Tensor {
    if (this.scope === null) throw new ValueError("Can't access perturbations on unbound modules")
    if (this.scope.isMutableCollection(collection) && !this.scope.hasVariable(collection, name)) {
      this.scope.reserve(name, collection)
      internals(this).state.children.set(name, collection)
      this.scope.putVariable(collection, name, jnp.zeros(value.shape, value.dtype))
    }
    if (Object.prototype.hasOwnProperty.call(this.scope.root._variables, collection)) {
      if (!this.scope.hasVariable(collection, name)) {
        throw new ValueError(`Perturbation collection ${collection} present, but missing perturbation variable ${name}`)
      }
      return jnp.add(value, this.scope.getVariable(collection, name))
    }
    return value
  }

  /** The variables visible at this module's path. */
  get variables(): Variables {
    if (this.scope === null) throw new ValueError("Can't access variables on unbound modules")
    return this.scope.variables()
  }

  /** This module's path from the root (`[]` at the top). */
  get path(): readonly string[] {
    if (this.scope === null) throw new ValueError("Can't access module paths on unbound modules.")
    return this.scope.path
  }

  toString(): string {
    const i = internals(this)
    const fields = i.fieldNames.map((k) => `${k}=${pyStr(i.target[k])}`)
    return `${className(this)}(${fields.join(', ')})`
  }
}

registerModulePrototype(Module.prototype)
