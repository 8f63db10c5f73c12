// nn.Dense, a compact MLP and setup() naming against real Flax.
import test from 'ava'
import { jnp, nn, random, type Tensor } from '../ts/index'
import { loadGolden } from './helpers/golden'
import { assertMatches, goldenShapes, shapes } from './helpers/variables'

test('dense_init: Dense(4).init(key(0), ones((1,3))) and apply on arange/3', (t) => {
  const golden = loadGolden('dense_init').expect
  const d = new nn.Dense({ features: 4 })
  const v = d.init(random.key(0), jnp.ones([1, 3]))
  t.deepEqual(Object.keys(v.params), ['kernel', 'bias'], 'kernel is created before bias')
  assertMatches(t, v, golden.dense, 0)
  const x = jnp.divide(jnp.reshape(jnp.arange(0, 6, 1, 'float32'), [2, 3]), 3)
  assertMatches(t, d.apply(v, x), golden.dense_apply, 1e-6)
})

test('dense_init: DenseGeneral((2, 3)) and DenseGeneral(5, axis=(1, 2)) as Flax', (t) => {
  const golden = loadGolden('dense_init').expect
  const x = jnp.divide(jnp.reshape(jnp.arange(0, 6, 1, 'float32'), [2, 3]), 3)
  const dg = new nn.DenseGeneral({ features: [2, 3], axis: -1 })
  const vg = dg.init(random.key(0), jnp.ones([1, 3]))
  assertMatches(t, vg, golden['dense_general_(2,3)'], 0)
  assertMatches(t, dg.apply(vg, x), golden['dense_general_(2,3)_apply'], 1e-6)
  const dg2 = new nn.DenseGeneral({ features: 5, axis: [1, 2] })
  const x2 = jnp.divide(jnp.reshape(jnp.arange(0, 24, 1, 'float32'), [2, 3, 4]), 10)
  const vg2 = dg2.init(random.key(2), x2)
  assertMatches(t, vg2, golden['dense_general_axis(1,2)'], 0)
  assertMatches(t, dg2.apply(vg2, x2), golden['dense_general_axis(1,2)_apply'], 1e-6)
})

test('DenseGeneral(features=4) is Dense(4); batch dims; bad batch dims', (t) => {
  const x = random.normal(random.key(1), [2, 3])
  const vd = new nn.Dense({ features: 4 }).init(random.key(0), x)
  const vg = new nn.DenseGeneral({ features: 4 }).init(random.key(0), x)
  assertMatches(t, vg, { params: { kernel: { shape: [3, 4], dtype: 'float32', data: Array.from(vd.params.kernel.data) }, bias: { shape: [4], dtype: 'float32', data: [0, 0, 0, 0] } } }, 0)
  const xb = random.normal(random.key(1), [2, 5, 3])
  const db = new nn.DenseGeneral({ features: 4, batchDims: [0] })
  const vb = db.init(random.key(0), xb)
  t.deepEqual(shapes(vb), { params: { kernel: [2, 3, 4], bias: [2, 4] } })
  const yb: Tensor = db.apply(vb, xb)
  t.deepEqual([...yb.shape], [2, 5, 4])
  // batch 1 equals its own matmul
  const kernel: Tensor = vb.params.kernel
  const k1 = jnp.reshape(jnp.array(kernel.data.slice(12) as Float32Array), [3, 4])
  const x1 = jnp.reshape(jnp.array(xb.data.slice(15) as Float32Array), [5, 3])
  const y1 = jnp.reshape(jnp.array(yb.data.slice(20) as Float32Array), [5, 4])
  assertMatches(t, y1, { shape: [5, 4], dtype: 'float32', data: Array.from(jnp.matmul(x1, k1).data) }, 1e-6)
  t.throws(() => new nn.DenseGeneral({ features: 4, batchDims: [1] }).init(random.key(0), xb), {
    message: 'batch_dims (1,) must be consecutive leading dimensions starting from 0.',
  })
})

test('Dense works on any number of leading dims and without bias', (t) => {
  const d = new nn.Dense({ features: 4, useBias: false })
  const v = d.init(random.key(0), jnp.ones([1, 2, 3]))
  t.deepEqual(shapes(v), { params: { kernel: [3, 4] } })
  // same kernel as with a bias: the kernel always takes counter 1
  const withBias = new nn.Dense({ features: 4 }).init(random.key(0), jnp.ones([1, 3]))
  t.deepEqual(Array.from(v.params.kernel.data), Array.from(withBias.params.kernel.data))
  const y: Tensor = d.apply(v, jnp.ones([1, 2, 3]))
  t.deepEqual([...y.shape], [1, 2, 4])
})

class MLP extends nn.Module {
  features = [8, 6, 4]

  @nn.compact
  call(x: Tensor): Tensor {
    this.features.forEach((f, i) => {
      x = new nn.Dense({ features: f }).call(x)
      if (i !== this.features.length - 1) x = nn.relu(x)
    })
    return x
  }
}

test('mlp_compact: autonamed Dense_0..2, relu between, key(0)', (t) => {
  const golden = loadGolden('mlp_compact').expect
  const x = jnp.reshape(jnp.linspace(-1, 1, 10), [2, 5])
  const [y, v] = new MLP().initWithOutput(random.key(0), x)
  t.deepEqual(shapes(v), goldenShapes(golden.variables))
  assertMatches(t, v, golden.variables, 0)
  assertMatches(t, y, golden.y, 1e-6)
  assertMatches(t, new MLP().apply(v, x), golden.y, 1e-6)
})

class Net extends nn.Module {
  declare enc: nn.Dense
  declare layers: nn.Dense[]
  declare heads: Record<string, nn.Dense>

  setup() {
    this.enc = new nn.Dense({ features: 3 })
    this.layers = [new nn.Dense({ features: 2 }), new nn.Dense({ features: 2 })]
    this.heads = { a: new nn.Dense({ features: 1 }), b: new nn.Dense({ features: 1 }) }
  }

  call(x: Tensor): Tensor {
    x = this.enc.call(x)
    for (const l of this.layers) x = l.call(x)
    return jnp.add(this.heads.a.call(x), this.heads.b.call(x))
  }
}

test('setup_naming: attribute, list and dict submodules are enc, layers_0/1, heads_a/b', (t) => {
  const golden = loadGolden('setup_naming').expect
  const [y, v] = new Net().initWithOutput(random.key(7), jnp.ones([1, 4]))
  t.deepEqual(Object.keys(v.params).sort(), ['enc', 'heads_a', 'heads_b', 'layers_0', 'layers_1'])
  assertMatches(t, v, golden.variables, 0)
  assertMatches(t, y, golden.y, 1e-6)
})
