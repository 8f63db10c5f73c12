// Flax configuration flags that change observable behaviour (`flax.config`).
//
// Only flags whose default flaxen reproduces live here; each keeps Flax's default so a model
// ported without touching the config gets Flax's default numbers.
import { withFlags } from '../config-flags'

export interface FlaxConfig {
  /**
   * `flax_fix_rng_separator` (default false): when true, a zero byte is hashed before every
   * path element and counter when deriving RNG keys, so ('ab', 'c') and ('a', 'bc') differ.
   * Turning it on changes every parameter Flax would initialise.
   */
  flaxFixRngSeparator: boolean
  /**
   * `flax_preserve_adopted_names` (default false): when true, a module created outside a
   * parent and adopted in `setup()` keeps an explicitly given name instead of the attribute name.
   */
  flaxPreserveAdoptedNames: boolean
}

export const config: FlaxConfig = {
  flaxFixRngSeparator: false,
  flaxPreserveAdoptedNames: false,
}

/** Runs `fn` with some flags changed, restoring them afterwards (like `flax.config.temp_flip_flag`). */
export function withConfig<T>(changes: Partial<FlaxConfig>, fn: () => T): T {
  return withFlags(config, changes, fn)
}
