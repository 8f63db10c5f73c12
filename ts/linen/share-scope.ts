// `nn.shareScope(module, other)` (flax.linen.share_scope): two bound modules use one scope, so
// their variables sit side by side — how a wrapper (LoRA) adds params next to its inner layer's.
import type { Scope } from '../core/scope'
import { CallShareScopeOnUnboundModuleError } from '../errors'
import type { Module } from './module'
import { internals, isModule, setRaw } from './module-internals'

function isChildScope(scope: Scope, other: Scope): boolean {
  for (let target: Scope | null = other; target !== null; target = target.parent) if (target === scope) return true
  return false
}

/**
 * Makes `module` and `other` share a scope. When `other`'s scope lies below `module`'s (e.g.
 * `other` is a field adopted by `module`), `other` moves onto `module`'s scope; otherwise
 * (`other` was bound elsewhere) `module` takes `other`'s scope. The children of the moved
 * module are re-attached to the new scope, their names reserved there (a clash is an error).
 */
export function shareScope(module: Module, other: Module): void {
  if (module.scope === null || other.scope === null) throw new CallShareScopeOnUnboundModuleError()
  const [toUpdate, newScope] = isChildScope(module.scope, other.scope) ? [other, module.scope] : [module, other.scope]
  const i = internals(toUpdate)
  const oldScope = toUpdate.scope as Scope
  setRaw(i, 'scope', newScope)
  for (const child of i.state.children.values()) {
    if (!isModule(child) || child.scope === null || child.scope.parent !== oldScope) continue
    if (typeof child.scope.name === 'string') newScope.reserve(child.scope.name)
    child.scope.parent = newScope
  }
}
