// The dynamic context of module execution (Flax's `_context`): the stack of modules whose
// methods are running — the top is the implicit parent of a module constructed now — and the
// stack of capture_intermediates filters of the enclosing init/apply calls.
import type { Module } from './module'

export type CaptureFilter = (module: Module, methodName: string) => boolean

export const moduleStack: (Module | null)[] = [null]
export const captureStack: (CaptureFilter | false)[] = []

export function currentModule(): Module | null {
  return moduleStack[moduleStack.length - 1]
}
