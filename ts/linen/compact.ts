// `@nn.compact` and `@nn.nowrap`, as TC39 (TypeScript 5, non-experimental) method decorators
// that also work as plain functions: `nn.compact(fn)` for code without decorators.
import type { Module } from './module'
import { codedTypeError } from '../coded-error'
import { describe } from '../tensor'
import { COMPACT, NOWRAP, WRAPPED, callWrappedMethod, isModule } from './module-internals'

type Method<This, Args extends unknown[], Return> = (this: This, ...args: Args) => Return

/**
 * A legacy (`experimentalDecorators`) method decorator is called as `(prototype, key, descriptor)`:
 * apply `wrap` to the method and hand back the descriptor. Anything else that is not a function
 * is refused with a message saying what was expected.
 */
function legacyOrFunction(what: string, fn: unknown, key: unknown, descriptor: unknown, wrap: (f: Function, name: string) => Function): PropertyDescriptor | null {
  if (typeof fn === 'function') return null
  if (typeof descriptor === 'object' && descriptor !== null && typeof (descriptor as PropertyDescriptor).value === 'function') {
    const d = descriptor as PropertyDescriptor
    return { ...d, value: wrap(d.value, String(key)) }
  }
  throw codedTypeError(`nn.${what}: expected a method (as a decorator, or nn.${what}(fn)), got ${describe(fn)}`)
}

/**
 * Marks a method in which submodules and variables may be declared inline. Each call of the
 * outermost compact method starts autonaming at `Name_0` again and rewinds the scope, so a
 * second call re-creates the same names and reuses their variables. A TC39 decorator, a legacy
 * (`experimentalDecorators`) one, or a plain function (`call = nn.compact((x) => ...)`).
 */
export function compact<This, Args extends unknown[], Return>(
  fn: Method<This, Args, Return>,
  context?: ClassMethodDecoratorContext<This, Method<This, Args, Return>>,
): Method<This, Args, Return>
export function compact(target: object, key: string | symbol, descriptor: PropertyDescriptor): PropertyDescriptor
export function compact(fn: any, context?: any, descriptor?: PropertyDescriptor): any {
  const legacy = legacyOrFunction('compact', fn, context, descriptor, (f, name) => compactMethod(f as Method<unknown, unknown[], unknown>, name))
  if (legacy !== null) return legacy
  return compactMethod(fn, context !== undefined && typeof context.name === 'string' ? context.name : fn.name)
}

function compactMethod<This, Args extends unknown[], Return>(fn: Method<This, Args, Return>, name: string): Method<This, Args, Return> {
  const wrapper = function (this: This, ...args: Args): Return {
    // Not called on a module (e.g. extracted and called bare): behave like the plain function.
    if (!isModule(this)) return fn.apply(this, args)
    return callWrappedMethod(this as unknown as Module, fn, args, { compact: true, name })
  }
  Object.defineProperty(wrapper, 'name', { value: name })
  Object.assign(wrapper, { [WRAPPED]: true, [COMPACT]: true })
  return wrapper
}

/** Marks a helper method that must not be wrapped (callable on unbound modules, no setup, no module stack). */
export function nowrap<This, Args extends unknown[], Return>(
  fn: Method<This, Args, Return>,
  _context?: ClassMethodDecoratorContext<This, Method<This, Args, Return>>,
): Method<This, Args, Return>
export function nowrap(target: object, key: string | symbol, descriptor: PropertyDescriptor): PropertyDescriptor
export function nowrap(fn: any, key?: unknown, descriptor?: PropertyDescriptor): any {
  const mark = (f: Function) => Object.assign(f, { [NOWRAP]: true })
  return legacyOrFunction('nowrap', fn, key, descriptor, mark) ?? mark(fn)
}
