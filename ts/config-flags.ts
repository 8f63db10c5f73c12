// The one mechanism behind `random.withConfig` and `core.withConfig` (jax.config / flax.config).

/** Runs `fn` with some of `flags` changed, restoring every flag afterwards, even on a throw. */
export function withFlags<F extends object, T>(flags: F, changes: Partial<F>, fn: () => T): T {
  const saved = { ...flags }
  Object.assign(flags, changes)
  try {
    return fn()
  } finally {
    Object.assign(flags, saved)
  }
}
