// JAX's configuration flags that change random values (`jax.config`): each keeps JAX's default,
// so code that never touches them gets JAX's default numbers.
import { withFlags } from './config-flags'

export interface RandomConfig {
  /**
   * `jax_threefry_partitionable` (default true since JAX 0.5): the layout of `split`, `bits`
   * and every distribution. false selects JAX's original layout — the one older checkpoints
   * were initialised with and upstream's known-answer tests were written for.
   */
  threefryPartitionable: boolean
  /** `jax_random_seed_offset` (default 0): added to every seed given to `random.key`. */
  randomSeedOffset: number
}

export const config: RandomConfig = {
  threefryPartitionable: true,
  randomSeedOffset: 0,
}

/** Runs `fn` with some flags changed, restoring them afterwards (like `jax.threefry_partitionable(False)`). */
export function withConfig<T>(changes: Partial<RandomConfig>, fn: () => T): T {
  return withFlags(config, changes, fn)
}
