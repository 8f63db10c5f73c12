// The dynamic context of module execution (Flax's `_context`): the stack of modules whose
// methods are running — the top is the implicit parent of a module constructed now — and the
// stack of capture_intermediates filters of the enclosing init/apply calls.
import type { Module } from './module'

export type CaptureFilter = (module: Module, methodName: string) => boolean

export const moduleStack: (Module | null)[] = [null]
export const captureStack: (CaptureFilter | false)[] = []

/** Told about every wrapped (non-setup) method call as it starts, for `Module.modulePaths` (Flax's call_info_stack). */
export type CallRecorder = (module: Module, methodName: string) => void
export const callRecorders: CallRecorder[] = []

export function currentModule(): Module | null {
  return moduleStack[moduleStack.length - 1]
}
