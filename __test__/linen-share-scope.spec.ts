// nn.shareScope (spec c.7; flax-cases 70, ShareScopeTest): a LoRA wrapper whose params sit
// beside its inner layer's. Kernel rows: printed by Flax 0.12.8 for the same models.
import test from 'ava'
import { jnp, nn, random, type Tensor } from '../ts/index'
import { CallShareScopeOnUnboundModuleError } from '../ts/errors'
import { shapes } from './helpers/variables'

class DenseLoRA extends nn.Module<{ inner: nn.Dense; rank: number }> {
  inner!: nn.Dense
  rank!: number
  setup() {
    nn.shareScope(this, this.inner)
  }
  @nn.compact
  call(x: Tensor): Tensor {
    const din = x.shape[x.shape.length - 1]
    const A: Tensor = this.param('A', nn.initializers.normal(), [din, this.rank])
    const B: Tensor = this.param('B', nn.initializers.normal(), [this.rank, this.inner.features])
    return jnp.add(this.inner.call(x), jnp.matmul(jnp.matmul(x, A), B))
  }
}

const LORA = { params: { A: [3, 2], B: [2, 4], bias: [4], kernel: [3, 4] } }
const x = jnp.ones([1, 3])
// Flax: [float(a) for a in v['params'][...]['kernel'][0]] for the models below, key(0), x = ones((1, 3))
const row = (k: Tensor, n: number) => Array.from(k.data.slice(0, n))

test('top level: the adopted inner Dense moves onto the wrapper scope — kernel, bias, A, B side by side', (t) => {
  const v = new DenseLoRA({ inner: new nn.Dense({ features: 4 }), rank: 2 }).init(random.key(0), x)
  t.deepEqual(shapes(v), LORA)
  t.deepEqual(row(v.params.kernel, 4), [0.7882416248321533, 0.5627193450927734, 0.2548399269580841, 0.63498854637146])
  t.deepEqual(row(v.params.A, 2), [0.0007614249479956925, -0.01615745946764946])
})

test('inside a model: a Dense bound elsewhere lends its scope (params under Dense_0)', (t) => {
  class Model extends nn.Module {
    @nn.compact
    call(x: Tensor) {
      return new DenseLoRA({ inner: new nn.Dense({ features: 4 }), rank: 2 }).call(x)
    }
  }
  const v = new Model().init(random.key(0), x)
  t.deepEqual(shapes(v), { params: { Dense_0: LORA.params } })
  t.deepEqual(row(v.params.Dense_0.kernel, 4), [0.40365567803382874, -1.2673195600509644, -0.8802424073219299, 0.7149651050567627])
})

test('inside a model with an unbound inner layer: params under the wrapper (DenseLoRA_0 or its name)', (t) => {
  class Named extends nn.Module {
    @nn.compact
    call(x: Tensor) {
      return new DenseLoRA({ inner: new nn.Dense({ features: 4, parent: null }), rank: 2, name: 'dense_lora' }).call(x)
    }
  }
  const v = new Named().init(random.key(0), x)
  t.deepEqual(shapes(v), { params: { dense_lora: LORA.params } })
  t.deepEqual(row(v.params.dense_lora.kernel, 4), [0.1462949514389038, 0.6863134503364563, 0.05942992866039276, 0.7223401665687561])
  class Auto extends nn.Module {
    @nn.compact
    call(x: Tensor) {
      return new DenseLoRA({ inner: new nn.Dense({ features: 4, parent: null }), rank: 2 }).call(x)
    }
  }
  t.deepEqual(shapes(new Auto().init(random.key(0), x)), { params: { DenseLoRA_0: LORA.params } })
})

test('shareScope on unbound modules: CallShareScopeOnUnboundModuleError', (t) => {
  t.throws(() => nn.shareScope(new nn.Dense({ features: 2 }), new nn.Dense({ features: 2 })), {
    instanceOf: CallShareScopeOnUnboundModuleError,
    message: /Can't call `share_scope` on unbound modules/,
  })
})
