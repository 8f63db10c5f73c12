// CausalDense as in examples/causal-dense.ts (which runs its demo when imported), for the tests
// that check it against Flax and under jit.
import { jnp, nn, tree, type Tensor } from '../../ts/index'
import type { Variables } from '../../ts/core'

export class CausalDense extends nn.Module<{ features: number }> {
  features!: number
  declare dense: nn.Dense
  applyMask = (v: Variables) => (this.isInitializing() ? v : tree.map(jnp.triu, v))

  setup() {
    const Masked = nn.mapVariables(nn.Dense, 'params', this.applyMask, undefined, { init: this.isInitializing() })
    this.dense = new Masked({ features: this.features, useBias: false })
  }

  call(x: Tensor) {
    return this.dense.call(x)
  }
}
