// Lifted transforms on Modules (flax.linen.transforms): `lift_transform` and `nn.mapVariables`.
//
// A core transform works on scope functions. To apply one to a module method, the module's
// scope (plus the scopes of modules/variables in its fields and arguments) is handed to the core
// transform, and inside, a clone of the module is bound *directly* to the inner scope — same
// path, no extra nesting level — and the original method runs on it. The clone continues the
// outer module's autonaming state, which is copied back afterwards.
import { mapVariables as coreMapVariables } from '../core/lift'
import type { MapVariablesOptions, ScopeTree, VariableMapFn } from '../core/lift'
import type { CollectionFilter } from '../core/filters'
import { Scope } from '../core/scope'
import { Variable } from '../core/variable'
import { TransformTargetError, TransformedMethodReturnValueError, ValueError } from '../errors'
import { isPlainObject, leaves, map as treeMap } from '../tree'
import { codedError } from '../coded-error'
import type { Module } from './module'
import {
  COMPACT,
  WRAPPED,
  callWrappedMethod,
  cloneModule,
  fieldValues,
  internals,
  type Internals,
  invokeMethod,
  isModule,
  isModuleClass,
  trySetup,
} from './module-internals'

type ModuleClass<M extends Module = Module> = (abstract new (...args: any[]) => M) & { prototype: M }

/** A core transform factory: `(scopeFn, options) => (scopeTree, ...args) => y`. */
type CoreTransform<O> = (fn: (scopes: any, ...args: any[]) => any, options: O) => (scopeTree: ScopeTree, ...args: any[]) => any

// Module instances and Variables passed as arguments cross the boundary as placeholders.
class VariablePlaceholder {
  constructor(readonly collection: string, readonly name: string, readonly unbox: boolean, readonly id: number) {}
}
class InstancePlaceholder {
  constructor(
    readonly cls: ModuleClass,
    readonly attrs: Record<string, unknown>,
    readonly id: number,
    readonly liftOptions: Internals['liftOptions'],
  ) {}
}

const isPlaceholder = (x: unknown) => x instanceof VariablePlaceholder || x instanceof InstancePlaceholder

function idOf(x: unknown): number | undefined {
  if (x instanceof VariablePlaceholder || x instanceof InstancePlaceholder) return x.id
  if (x instanceof Variable) return x.id
  if (isModule(x)) return internals(x).id
  return undefined
}

/** `_memoize_by_id`: aliased modules/variables are visited once and map to one result. */
function memoizeById<T>(fn: (x: unknown) => T): (x: unknown) => T | unknown {
  const refs = new Map<number, T>()
  return (x) => {
    const id = idOf(x)
    if (id === undefined) return fn(x)
    if (!refs.has(id)) refs.set(id, fn(x))
    return refs.get(id)
  }
}

function mapArgs(fn: (x: unknown) => unknown, args: unknown[]): unknown[] {
  // Modules, Variables and placeholders are class instances, hence leaves of the tree.
  return args.map((a) => (Array.isArray(a) || isPlainObject(a) ? treeMap(fn, a) : a === null || a === undefined ? a : fn(a)))
}

/**
 * `get_module_scopes`: every scope the transform must lift, in a fixed order — those of
 * Variables/Modules in the arguments, then (depth first) those in the module's fields, then the
 * module's own — and the arguments with Variables/Modules replaced by placeholders.
 */
export function getModuleScopes(module: Module, args: unknown[] = []): [Scope[], unknown[]] {
  const scopes: Scope[] = []
  const getArgScope = memoizeById((x: unknown): unknown => {
    if (x instanceof Variable && x.scope instanceof Scope) {
      scopes.push(x.scope)
      return new VariablePlaceholder(x.collection, x.name, x.unbox, x.id)
    }
    if (isModule(x) && x.scope instanceof Scope) {
      trySetup(x, true)
      scopes.push(x.scope)
      const attrs = treeMap(getArgScope, fieldValues(x))
      return new InstancePlaceholder(internals(x).target.constructor, attrs, internals(x).id, internals(x).liftOptions)
    }
    return x
  })
  const newArgs = mapArgs(getArgScope, args)

  const getScopes = memoizeById((m: unknown): void => {
    const mod = m as Module
    trySetup(mod, true)
    for (const leaf of leaves(fieldValues(mod))) {
      if (isModule(leaf) && leaf.scope instanceof Scope) getScopes(leaf)
      else if (leaf instanceof Variable && leaf.scope instanceof Scope) scopes.push(leaf.scope)
    }
    scopes.push(mod.scope as Scope)
  })
  getScopes(module)
  return [scopes, newArgs]
}

/** `set_module_scopes`: the inverse of getModuleScopes on the inner scopes (same traversal order). */
export function setModuleScopes(module: Module, args: unknown[], scopes: Scope[]): [Module, unknown[]] {
  let idx = 0
  const setArgScope = memoizeById((x: unknown): unknown => {
    if (x instanceof VariablePlaceholder) return new Variable(scopes[idx++], x.collection, x.name, x.unbox)
    if (x instanceof InstancePlaceholder) {
      const instanceScope = scopes[idx++]
      const attrs = treeMap(setArgScope, x.attrs) as Record<string, unknown>
      const Cls = x.cls as unknown as new (props: Record<string, unknown>) => Module
      const instance = new Cls({ ...attrs, parent: instanceScope })
      internals(instance).liftOptions ??= x.liftOptions
      return instance
    }
    return x
  })
  const newArgs = args.map((a) =>
    Array.isArray(a) || isPlainObject(a) ? treeMap(setArgScope, a) : isPlaceholder(a) ? setArgScope(a) : a,
  )

  const setScopes = memoizeById((m: unknown): Module => {
    const mod = m as Module
    const attrs = treeMap((x: unknown) => {
      if (isModule(x) && x.scope instanceof Scope) return setScopes(x)
      if (x instanceof Variable && x.scope instanceof Scope) return new Variable(scopes[idx++], x.collection, x.name, x.unbox)
      return x
    }, fieldValues(mod)) as Record<string, unknown>
    const newModule = cloneModule(mod, { parent: scopes[idx], updates: attrs })
    idx++
    return newModule
  }) as (m: unknown) => Module
  const newModule = setScopes(module)
  if (idx !== scopes.length) throw new ValueError(`scope list mismatch ${scopes.length} != ${idx}`)
  return [newModule, newArgs]
}

/** `_test_transformed_return_values`: a transformed method may not leak Modules or Variables. */
function testTransformedReturnValues(tree: unknown, methodName: string | null): void {
  if (leaves(tree).some((x) => isModule(x) || x instanceof Variable)) throw new TransformedMethodReturnValueError(methodName)
}

/** Python's `str.capitalize()`: first character upper-cased, the rest lower-cased. */
function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1).toLowerCase()
}

type MethodsArg<O> = readonly string[] | Record<string, O> | null | undefined

/**
 * The transformed classes made so far: per core transform and target class, by transform name
 * and method names. Flax makes a new class on every call, and models call `nn.mapVariables`
 * inside `setup`, i.e. on every apply; in JS a class per apply gives every module object a new
 * hidden class, and V8 then deoptimises and recompiles the module machinery without end
 * (measured: a CausalDense apply at 1024 features, batch 32, 2 threads, 530 µs against 400 µs
 * with one class). So one class serves every call with the same target and methods; each call
 * returns a thin constructor over it that attaches that call's options to the instance.
 */
const transformedClasses = new WeakMap<Function, WeakMap<Function, Map<string, Function>>>()

function sharedTransformedClass<O>(transform: CoreTransform<O>, transformName: string, moduleClass: ModuleClass, fnNames: string[]): Function {
  let byTarget = transformedClasses.get(transform)
  if (byTarget === undefined) transformedClasses.set(transform, (byTarget = new WeakMap()))
  let byKey = byTarget.get(moduleClass)
  if (byKey === undefined) byTarget.set(moduleClass, (byKey = new Map()))
  const key = JSON.stringify([transformName, fnNames])
  let Transformed = byKey.get(key)
  if (Transformed === undefined) {
    Transformed = makeTransformedClass(transform, transformName, moduleClass, fnNames)
    byKey.set(key, Transformed)
  }
  return Transformed
}

/** `module_class_lift_transform`: a subclass `<Transform><Class>` whose listed methods run transformed. */
function moduleClassLiftTransform<C extends ModuleClass, O>(transform: CoreTransform<O>, transformName: string, moduleClass: C, options: O, methods: MethodsArg<O>): C {
  let classTrafoArgs: [string, O][]
  if (methods === null || methods === undefined) classTrafoArgs = [['call', options]]
  else if (Array.isArray(methods)) classTrafoArgs = methods.map((m) => [m, options])
  else if (isPlainObject(methods)) classTrafoArgs = Object.entries(methods as Record<string, O>)
  else throw new ValueError('transform methods argument must be None, tuple, list, or dict.')

  const Transformed = sharedTransformedClass(transform, transformName, moduleClass, classTrafoArgs.map(([name]) => name))
  const liftOptions = Object.freeze(Object.fromEntries(classTrafoArgs))
  // `new Masked(props)`, and `super(props)` in a subclass of it, construct the shared class and
  // give the instance this call's options (clones inherit them, see cloneModule).
  const Lifted: C = new Proxy(Transformed, {
    construct(target, args, newTarget) {
      // `new Lifted()` passes the proxy as newTarget: construct the shared class itself then.
      const instance = Reflect.construct(target, args, newTarget === Lifted ? target : newTarget) as Module
      internals(instance).liftOptions = liftOptions
      return instance
    },
  }) as unknown as C
  return Lifted
}

/** The shared class `<Transform><Class>`: each listed method runs transformed with the instance's options. */
function makeTransformedClass<O>(transform: CoreTransform<O>, transformName: string, moduleClass: ModuleClass, fnNames: string[]): Function {
  const Transformed = class extends (moduleClass as unknown as new (...args: any[]) => Module) {}
  Object.defineProperty(Transformed, 'name', { value: capitalize(transformName) + moduleClass.name })

  for (const fnName of fnNames) {
    const fn = Reflect.get(moduleClass.prototype, fnName) as Function
    const wrapped = function (this: Module, ...args: unknown[]): unknown {
      const self = this
      const liftOptions = internals(self).liftOptions
      if (liftOptions === undefined || !(fnName in liftOptions)) {
        throw codedError('E_ARG', `${Transformed.name}.${fnName}: this instance was made without the options of nn.${transformName}; construct it through the class that nn.${transformName} returned`)
      }
      const fnOptions = liftOptions[fnName] as O
      const state = internals(self).state.export()
      const coreFn = (scopes: Scope[], ...innerArgs: unknown[]) => {
        // The original class (not the transformed one), bound directly to the inner scopes.
        const Original = moduleClass as unknown as new (props: Record<string, unknown>) => Module
        const fresh = new Original({ ...fieldValues(self), parent: null })
        const [bound, boundArgs] = setModuleScopes(fresh, innerArgs, scopes)
        internals(bound).state = state.export()
        const res = invokeMethod(bound, fn, fnName, boundArgs)
        internals(self).state.reimport(internals(bound).state)
        testTransformedReturnValues(res, fnName)
        return res
      }
      const trafoFn = transform(coreFn, fnOptions)
      const [moduleScopes, newArgs] = getModuleScopes(self, args)
      return trafoFn(moduleScopes, ...newArgs)
    }
    // Already carries the protocol (like Flax's copied `method_handler_wrapped`): the outer
    // instance must not run setup or declare anything outside the transform.
    Object.defineProperty(wrapped, 'name', { value: fnName })
    Object.assign(wrapped, { [WRAPPED]: true })
    Object.defineProperty(Transformed.prototype, fnName, { value: wrapped, writable: true, configurable: true })
  }
  return Transformed
}

/** `decorator_lift_transform`: `(module, ...args) => y` run transformed, with a clone of `module` bound inside. */
function decoratorLiftTransform<O, A extends unknown[], R>(transform: CoreTransform<O>, classFn: (module: any, ...args: A) => R, options: O): (module: Module, ...args: A) => R {
  const isCompactFn = (classFn as any)[COMPACT] === true
  // wrap_method_once: the function runs with the module protocol on the inner clone.
  const asMethod = function (this: Module, ...args: unknown[]) {
    return classFn(this, ...(args as A))
  }
  const prewrapped = (m: Module, args: unknown[]) => callWrappedMethod(m, asMethod, args, { compact: isCompactFn, name: classFn.name })
  return (self: Module, ...args: A): R => {
    const state = internals(self).state.export()
    const coreFn = (scopes: Scope[], ...innerArgs: unknown[]) => {
      const [cloned, boundArgs] = setModuleScopes(self, innerArgs, scopes)
      internals(cloned).state = state.export()
      const res = prewrapped(cloned, boundArgs)
      internals(self).state.reimport(internals(cloned).state)
      testTransformedReturnValues(res, classFn.name || null)
      return res
    }
    const trafoFn = transform(coreFn, options)
    const [moduleScopes, newArgs] = getModuleScopes(self, args)
    return trafoFn(moduleScopes, ...newArgs)
  }
}

/**
 * `lift_transform`: applies a core transform to a Module class (→ transformed subclass) or to a
 * function taking a module first (→ the same kind of function). A module instance is an error.
 */
export function liftTransform<O>(transform: CoreTransform<O>, transformName: string, target: unknown, options: O, methods?: MethodsArg<O>): any {
  if (isModuleClass(target)) return moduleClassLiftTransform(transform, transformName, target, options, methods)
  if (typeof target === 'function' && !isModule(target)) return decoratorLiftTransform(transform, target as (m: any, ...a: any[]) => any, options)
  throw new TransformTargetError(target)
}

/** Options of `nn.mapVariables` (Flax's keyword arguments). */
export interface NNMapVariablesOptions extends MapVariablesOptions {
  /** Methods to transform (default `['call']`), or per-method core options `{ mappedCollections, mapInFn, mapOutFn, init, mutable, rngs, variables }`. */
  methods?: readonly string[] | Record<string, CoreMapVariablesKw>
}

/** The core `map_variables` parameters as one object (for per-method options). */
export interface CoreMapVariablesKw extends MapVariablesOptions {
  mappedCollections: CollectionFilter
  mapInFn?: VariableMapFn
  mapOutFn?: VariableMapFn
}

const coreMapVariablesKw: CoreTransform<CoreMapVariablesKw> = (fn, { mappedCollections, mapInFn, mapOutFn, ...rest }) =>
  coreMapVariables(fn, mappedCollections, mapInFn, mapOutFn, rest)

const identity = <T>(x: T): T => x

/**
 * `nn.map_variables(target, mapped_collections=True, trans_in_fn, trans_out_fn, init, mutable, rngs, variables, methods)`:
 * the target sees the mapped collections through `transInFn`; mutable ones are written back
 * through `transOutFn`. A Module class gives the subclass `Map_variables<Name>`; a function
 * `(module, ...args) => y` gives the same kind of function.
 */
export function mapVariables<T extends ModuleClass | ((module: any, ...args: any[]) => any)>(
  target: T,
  mappedCollections: CollectionFilter = true,
  transInFn: VariableMapFn = identity,
  transOutFn: VariableMapFn = identity,
  { init = false, mutable = false, rngs = true, variables = true, methods }: NNMapVariablesOptions = {},
): T {
  const options: CoreMapVariablesKw = { mappedCollections, mapInFn: transInFn ?? identity, mapOutFn: transOutFn ?? identity, init, mutable, rngs, variables }
  return liftTransform(coreMapVariablesKw, 'map_variables', target, options, methods)
}
