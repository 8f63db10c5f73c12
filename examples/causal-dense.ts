// The seed example, ported line by line from the docstring of Flax's `nn.map_variables`:
// a Dense layer whose kernel is masked to its upper triangle (a causal mixing of features).
// Flax's `__call__` is `call`; Flax keyword arguments go in a trailing options object.
//
//   class CausalDense(nn.Module):
//     features: int
//     def apply_mask(self, variables):
//       return (jax.tree_util.tree_map(jnp.triu, variables) if not self.is_initializing() else variables)
//     def setup(self):
//       _CausalDense = nn.map_variables(nn.Dense, 'params', self.apply_mask, init=self.is_initializing())
//       self.dense = _CausalDense(features=self.features, use_bias=False)
//     def __call__(self, x):
//       return self.dense(x)
//
//   module = CausalDense(features=5)
//   variables = module.init(random.key(0), jnp.ones((1, 5)))
import { jnp, nn, random, tree, type Tensor, type Variables } from '../ts/index'

class CausalDense extends nn.Module<{ features: number }> {
  features!: number
  declare dense: nn.Dense

  applyMask = (variables: Variables) => (this.isInitializing() ? variables : tree.map(jnp.triu, variables))

  setup() {
    const Masked = nn.mapVariables(nn.Dense, 'params', this.applyMask, undefined, { init: this.isInitializing() })
    this.dense = new Masked({ features: this.features, useBias: false })
  }

  call(x: Tensor): Tensor {
    return this.dense.call(x)
  }
}

const module = new CausalDense({ features: 5 })
const variables = module.init(random.key(0), jnp.ones([1, 5]))

// `{ params: { dense: { kernel: [5, 5] } } }`: the variables tree with each tensor's shape.
const shapes = (x: unknown): string =>
  Array.isArray(x)
    ? `[${x.join(', ')}]`
    : `{ ${Object.entries(x as object).map(([k, v]) => `${k}: ${shapes(v)}`).join(', ')} }`
const rows = (t: Tensor) => '\n' + (t.toArray() as number[][]).map((r) => '  [' + r.map((v) => v.toFixed(7).padStart(11)).join(',') + ' ]').join('\n')

console.log(shapes(tree.map((t: Tensor) => [...t.shape], variables)))
const kernel: Tensor = variables.params.dense.kernel
console.log('params/dense/kernel:', rows(kernel))

const x = jnp.divide(jnp.reshape(jnp.arange(0, 10, 1, 'float32'), [2, 5]), 4)
const y: Tensor = module.apply(variables, x)
console.log('x:', rows(x))
console.log('apply(x):', rows(y))

const expected = jnp.matmul(x, jnp.triu(kernel))
const same = y.data.every((v, i) => v === expected.data[i])
console.log('apply(x) == x @ triu(kernel):', same)
if (!same) process.exitCode = 1
