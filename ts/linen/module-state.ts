// The transient, per-instance state of a Module (`_ModuleInternalState`): flags used for
// autonaming and for the rules on where submodules and variables may be declared. It is reset
// after each outermost compact call and after setup, and exported/re-imported across transform
// boundaries (the module inside a transform is a clone that must continue the outer numbering).
import type { Module } from './module'

/** Whether `setup()` ran: not yet, outside a transform boundary only, or here. */
export const SetupState = { NEW: 0, TRANSFORMED: 1, DONE: 2 } as const
export type SetupState = (typeof SetupState)[keyof typeof SetupState]

export class ModuleInternalState {
  inCompactMethod = false
  inSetup = false
  setupCalled: SetupState = SetupState.NEW
  isInitialized = false
  /** class name → next index for `Name_<i>` autonames. */
  autonameCursor = new Map<string, number>()
  /** child name → submodule, or the collection of a variable declared under that name. */
  children = new Map<string, Module | string>()

  /** After a method: only the method-dependent flags are cleared. */
  reset(): void {
    this.inCompactMethod = false
    this.inSetup = false
    this.autonameCursor = new Map()
  }

  /** The part of the state that crosses a transform boundary; setup done outside counts as TRANSFORMED. */
  export(): ModuleInternalState {
    const s = new ModuleInternalState()
    s.inCompactMethod = this.inCompactMethod
    s.inSetup = this.inSetup
    s.setupCalled = this.setupCalled !== SetupState.NEW ? SetupState.TRANSFORMED : SetupState.NEW
    s.isInitialized = this.isInitialized
    s.autonameCursor = new Map(this.autonameCursor)
    return s
  }

  /** Takes back what the inner clone changed (e.g. the autoname cursor) after a transform. */
  reimport(other: ModuleInternalState): void {
    this.inCompactMethod = other.inCompactMethod
    this.inSetup = other.inSetup
    this.isInitialized = other.isInitialized
    this.autonameCursor = new Map(other.autonameCursor)
  }
}
