// The one mechanism behind `random.withConfig` and `core.withConfig` (jax.config / flax.config).
import { codedTypeError } from './coded-error'

/**
 * Runs `fn` with some of `flags` changed, restoring every flag afterwards, even on a throw.
 * `changes` may only name existing flags, each with a value of the flag's type: a typo or a
 * string would otherwise be written into the configuration (or ignored) without a word.
 */
export function withFlags<F extends object, T>(flags: F, changes: Partial<F>, fn: () => T): T {
  if (changes === null || typeof changes !== 'object' || Array.isArray(changes)) {
    throw codedTypeError(`withConfig: changes must be an object of flags, got ${changes === null ? 'null' : Array.isArray(changes) ? 'an array' : typeof changes}`)
  }
  for (const [k, v] of Object.entries(changes)) {
    if (!Object.prototype.hasOwnProperty.call(flags, k)) {
      throw codedTypeError(`withConfig: unknown flag '${k}' (known: ${Object.keys(flags).join(', ')})`)
    }
    const want = typeof (flags as Record<string, unknown>)[k]
    if (typeof v !== want) throw codedTypeError(`withConfig: flag '${k}' must be a ${want}, got ${v === null ? 'null' : typeof v}`)
  }
  if (typeof fn !== 'function') throw codedTypeError(`withConfig: fn must be a function, got ${fn === null ? 'null' : typeof fn}`)
  const saved = { ...flags }
  Object.assign(flags, changes)
  try {
    return fn()
  } finally {
    Object.assign(flags, saved)
  }
}
