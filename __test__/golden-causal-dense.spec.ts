// The seed example against real Flax: CausalDense with nn.mapVariables(nn.Dense, 'params', triu, init=isInitializing).
import test from 'ava'
import { jnp, nn, random, tree, type Tensor } from '../ts/index'
import type { Variables } from '../ts/core'
import { loadGolden } from './helpers/golden'
import { assertMatches, goldenShapes, shapes } from './helpers/variables'
import { CausalDense } from './helpers/causal-dense'


const golden = loadGolden('causal_dense_seed').expect

test('init: params/dense/kernel (5, 5), bit-identical to Flax', (t) => {
  const variables = new CausalDense({ features: 5 }).init(random.key(0), jnp.ones([1, 5]))
  t.deepEqual(shapes(variables), { params: { dense: { kernel: [5, 5] } } })
  t.deepEqual(shapes(variables), goldenShapes(golden.variables))
  assertMatches(t, variables, golden.variables, 0)
})

test('apply: x @ triu(kernel), as Flax', (t) => {
  const m = new CausalDense({ features: 5 })
  const variables = m.init(random.key(0), jnp.ones([1, 5]))
  const x = jnp.divide(jnp.reshape(jnp.arange(0, 10, 1, 'float32'), [2, 5]), 4)
  assertMatches(t, x, golden.x, 0)
  const y = m.apply(variables, x)
  assertMatches(t, y, golden['apply(x)'], 1e-6)
  const direct = jnp.matmul(x, jnp.triu(variables.params.dense.kernel))
  assertMatches(t, y, { shape: [2, 5], dtype: 'float32', data: Array.from(direct.data) }, 0)
})

test('the stored kernel is not masked (identity map during init) and apply does not change it', (t) => {
  const m = new CausalDense({ features: 5 })
  const variables = m.init(random.key(0), jnp.ones([1, 5]))
  const before = Array.from(variables.params.dense.kernel.data)
  t.true(before[5] !== 0, 'below-diagonal entries are kept')
  m.apply(variables, jnp.ones([1, 5]))
  t.deepEqual(Array.from(variables.params.dense.kernel.data), before)
})
