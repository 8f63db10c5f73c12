// Activations (flax.linen re-exports of jax.nn) and the one with a parameter, PReLU.
import { withAbstractShape } from '../core'
import * as jnp from '../jnp'
import type { DType, Tensor } from '../tensor'
import { compact } from './compact'
import { Module } from './module'

/** `relu(x) = max(x, 0)`. */
export function relu(x: Tensor): Tensor {
  return jnp.relu(x)
}

/** `nn.PReLU`: `where(x >= 0, x, slope * x)` with a learned scalar `negative_slope`. */
export class PReLU extends Module<{ paramDtype?: DType; negativeSlopeInit?: number }> {
  paramDtype: DType = 'float32'
  negativeSlopeInit = 0.01

  @compact
  call(inputs: Tensor): Tensor {
    const init = this.negativeSlopeInit
    const dtype = this.paramDtype
    // `lambda k: jnp.asarray(negative_slope_init, param_dtype)`: a scalar, the key unused.
    const slopeInit = withAbstractShape((_key: unknown) => jnp.full([], init, dtype), () => [])
    const negativeSlope: Tensor = this.param('negative_slope', slopeInit)
    return jnp.where(jnp.greaterEqual(inputs, 0), inputs, jnp.multiply(negativeSlope.astype(inputs.dtype), inputs))
  }
}
