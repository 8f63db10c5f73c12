// `@nn.compactNameScope` (flax.linen.compact_name_scope): a method whose inline submodules live
// in a child scope named after the method (`params/up/Dense_0`), as Haiku's name scopes do.
//
// Flax creates one `CompactNameScope` child per such method at the end of setup; calling the
// method calls that child, whose compact `call` runs the original function on the owner. The
// owner is `this` inside the function, while submodules created there get the child as parent.
import { ValueError } from '../errors'
import { compact } from './compact'
import { Module } from './module'
import { NOWRAP, internals, registerAfterSetupHook, trySetup } from './module-internals'

const COMPACT_NAME_SCOPE: unique symbol = Symbol('flaxen.module.compactNameScope')
const SCOPE_MODULES: unique symbol = Symbol('flaxen.module.compactNameScopeModules')

type Method<This, Args extends unknown[], Return> = (this: This, ...args: Args) => Return

/** The child module that gives a compact-name-scope method its scope. */
export class CompactNameScope extends Module<{ fn: Function; moduleFn: () => Module }> {
  fn!: Function
  moduleFn!: () => Module

  @compact
  call(...args: unknown[]): unknown {
    return this.fn.apply(this.moduleFn(), args)
  }
}

/**
 * Marks a method whose submodules are declared inline in a child scope named after it. Usable as
 * a decorator or as a plain function (`Foo.prototype.up = nn.compactNameScope(function up(x) {...})`).
 * Such a method can also be run directly by `init`/`apply` with `{ method: 'up' }`.
 */
export function compactNameScope<This, Args extends unknown[], Return>(
  fn: Method<This, Args, Return>,
  context?: ClassMethodDecoratorContext<This, Method<This, Args, Return>>,
): Method<This, Args, Return> {
  const name = context !== undefined && typeof context.name === 'string' ? context.name : fn.name
  const wrapper = function (this: This, ...args: Args): Return {
    const m = this as unknown as Module
    // Flax's hasattr(self, '_compact_name_scope_modules') runs setup lazily through __getattr__.
    if (m.scope !== null) trySetup(m)
    const scopes = (internals(m).target as any)[SCOPE_MODULES] as Map<string, Module> | undefined
    if (scopes === undefined) {
      throw new ValueError(
        `Cannot call compact_name_scope method '${name}' on a Module that has not been setup. ` +
          `This is likely because you are calling '${name}' from outside of init or apply.`,
      )
    }
    return (scopes.get(name) as CompactNameScope).call(...args) as Return
  }
  Object.defineProperty(wrapper, 'name', { value: name })
  // Not wrapped: the child's compact call carries the module protocol.
  Object.assign(wrapper, { [NOWRAP]: true, [COMPACT_NAME_SCOPE]: { fn, name } })
  return wrapper
}

/** The compact-name-scope methods of a module: its class chain and own (class-field) properties. */
function scopeMethods(target: object): { fn: Function; name: string }[] {
  const found = new Map<string, { fn: Function; name: string }>()
  const visit = (o: object) => {
    for (const key of Object.getOwnPropertyNames(o)) {
      const d = Object.getOwnPropertyDescriptor(o, key)
      const info = d !== undefined && 'value' in d && typeof d.value === 'function' ? d.value[COMPACT_NAME_SCOPE] : undefined
      if (info !== undefined && !found.has(key)) found.set(key, info)
    }
  }
  visit(target)
  for (let o = Object.getPrototypeOf(target); o !== null && o !== Module.prototype; o = Object.getPrototypeOf(o)) visit(o)
  return [...found.values()]
}

// After setup: one CompactNameScope child per method, bound under the method's name.
registerAfterSetupHook((m: Module) => {
  const target = internals(m).target
  const methods = scopeMethods(target)
  if (methods.length === 0) return
  const modules = new Map<string, Module>()
  for (const { fn, name } of methods) {
    modules.set(name, new CompactNameScope({ fn, moduleFn: () => m, name, parent: m }))
  }
  Object.defineProperty(target, SCOPE_MODULES, { value: modules, configurable: true })
})
