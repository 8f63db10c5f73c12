// `@nn.compact` and `@nn.nowrap`, as TC39 (TypeScript 5, non-experimental) method decorators
// that also work as plain functions: `nn.compact(fn)` for code without decorators.
import type { Module } from './module'
import { COMPACT, NOWRAP, WRAPPED, callWrappedMethod, isModule } from './module-internals'

type Method<This, Args extends unknown[], Return> = (this: This, ...args: Args) => Return

/**
 * Marks a method in which submodules and variables may be declared inline. Each call of the
 * outermost compact method starts autonaming at `Name_0` again and rewinds the scope, so a
 * second call re-creates the same names and reuses their variables.
 */
export function compact<This, Args extends unknown[], Return>(
  fn: Method<This, Args, Return>,
  context?: ClassMethodDecoratorContext<This, Method<This, Args, Return>>,
): Method<This, Args, Return> {
  const name = context !== undefined && typeof context.name === 'string' ? context.name : fn.name
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
): Method<This, Args, Return> {
  Object.assign(fn, { [NOWRAP]: true })
  return fn
}
