// Activations (flax.linen re-exports of jax.nn).
import * as jnp from '../jnp'
import type { Tensor } from '../tensor'

/** `relu(x) = max(x, 0)`. */
export function relu(x: Tensor): Tensor {
  return jnp.relu(x)
}
