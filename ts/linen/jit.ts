// `nn.jit`: Flax's lifted `jit` for Module classes. `nn.jit(MLP)` is a subclass whose top-level
// `apply` / `applyWith` run through `jit` (one compiled plan per instance and signature);
// variables, tensor arguments and the keys in `rngs` are traced inputs, and updated mutable
// collections come back as outputs. Used as a submodule inside another module's apply, it runs
// as written, as a jit inside a traced function is inlined in JAX. `init` is not compiled.
import { jit as jitFn, type JitOptions, type Jitted } from '../jit'
import { type ApplyWithOptions, Module, type Variables } from './module'

type ModuleCtor = abstract new (...args: any[]) => Module

/** `flax.linen.jit(target)`: `target` with its top-level apply compiled per signature. */
export function jit<C extends ModuleCtor>(target: C, options: JitOptions = {}): C {
  const plans = new WeakMap<Module, Jitted<(v: Variables, o: ApplyWithOptions, ...a: any[]) => any>>()
  // Untyped: the plan calls it with whatever the typed applyWith of `target` accepted.
  const applyWith = target.prototype.applyWith as unknown as (this: Module, v: Variables, o: ApplyWithOptions, ...a: any[]) => any
  abstract class Jit extends (target as unknown as typeof Module) {
    applyWith(variables: Variables, opts: ApplyWithOptions, ...args: any[]): any {
      let f = plans.get(this)
      if (f === undefined) {
        f = jitFn((v: Variables, o: ApplyWithOptions, ...a: any[]) => applyWith.call(this, v, o, ...a), options)
        plans.set(this, f)
      }
      return f(variables, opts, ...args)
    }
  }
  Object.defineProperty(Jit, 'name', { value: `Jit${target.name}` })
  return Jit as unknown as C
}
