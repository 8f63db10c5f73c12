// JAX's own error classes for tracing (`jax.errors`). As with Flax's classes, `name` and `code`
// are the class name. They are registered with the addon, which throws instances of them
// wherever the error arises (eager ops, traces, plans).
import { native } from './native'

/** Base of JAX's errors: `code` is the class name. */
export class JaxError extends Error {
  readonly code: string

  constructor(message: string) {
    super(message)
    this.name = new.target.name
    this.code = new.target.name
  }
}

/** A traced value's data was read inside `jit` (`.data`, `toArray()`, `item()`, `Number(t)`). */
export class ConcretizationTypeError extends JaxError {}

/** A tracer escaped its trace and was used after it ended (or in another trace). */
export class UnexpectedTracerError extends JaxError {}

const CLASSES: Record<string, new (message: string) => JaxError> = { ConcretizationTypeError, UnexpectedTracerError }

// The addon throws these as instances of the classes wherever they arise (eager ops too).
for (const [code, cls] of Object.entries(CLASSES)) native.registerErrorClass(code, cls)
