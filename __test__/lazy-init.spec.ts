// module.lazyInit (Flax's lazy_init, case 13 of flax-cases): the variables init makes, with the
// arguments given as ShapeDtypeStructs and the input-dependent work skipped; a variable that
// depends on an input is LazyInitError.
import test from 'ava'
import { ShapeDtypeStruct, errors, jnp, nn, random, tree, type Tensor } from '../ts/index'
import { CausalDense } from './helpers/causal-dense'
import * as quant from '../examples/int8-quantisation'
import * as tied from '../examples/tied-autoencoder'

const bytes = (v: unknown) => tree.leaves(v).map((l: Tensor) => `${l.dtype}[${l.shape}] ${Buffer.from(l.data.buffer, l.data.byteOffset, l.data.byteLength).toString('hex')}`)
const abstract = (args: unknown[]) => args.map((a) => (a && typeof a === 'object' && 'shape' in a && 'dtype' in a ? new ShapeDtypeStruct((a as Tensor).shape, (a as Tensor).dtype) : a))

const x = random.normal(random.key(1), [4, 6])
const cases: [string, () => nn.Module, unknown[]][] = [
  ['Dense', () => new nn.Dense({ features: 5 }), [x]],
  ['DenseGeneral', () => new nn.DenseGeneral({ features: [2, 5], axis: [-2, -1] }), [random.normal(random.key(3), [2, 3, 4])]],
  ['Embed', () => new nn.Embed({ numEmbeddings: 7, features: 3 }), [jnp.array([[0, 6], [3, 2]], 'int32')]],
  ['LayerNorm', () => new nn.LayerNorm(), [x]],
  ['RMSNorm', () => new nn.RMSNorm(), [x]],
  ['WeightNorm', () => new nn.WeightNorm({ layerInstance: new nn.Dense({ features: 3 }) }), [x]],
  ['SpectralNorm (batch_stats)', () => new nn.SpectralNorm({ layerInstance: new nn.Dense({ features: 3 }) }), [x, { updateStats: true }]],
  ['Sequential MLP', () => new nn.Sequential({ layers: [new nn.Dense({ features: 8 }), nn.relu, new nn.Dense({ features: 2 })] }), [x]],
  ['CausalDense', () => new CausalDense({ features: 5 }), [random.normal(random.key(2), [5, 6])]],
  ['TiedAutoencoder', () => new tied.TiedAutoencoder({ features: 4, latents: 5 }), [random.normal(random.key(2), [3, 4])]],
  ['int8 QuantisedMLP', () => new quant.QuantisedMLP({ features: [4, 3] }), [random.normal(random.key(2), [2, 4])]],
]

for (const [name, make, args] of cases) {
  test(`lazyInit of ${name} from ShapeDtypeStructs gives init's variables bit for bit`, (t) => {
    const m = make()
    const lazy = (m.lazyInit as (k: unknown, ...a: unknown[]) => unknown)(random.key(0), ...abstract(args))
    const eager = (m.init as (k: unknown, ...a: unknown[]) => unknown)(random.key(0), ...args)
    t.deepEqual(bytes(lazy), bytes(eager))
    t.deepEqual(Object.keys(lazy as object).sort(), Object.keys(eager as object).sort())
  })
}

class Square extends nn.Module {
  @nn.compact
  call(x: Tensor) {
    const k = this.param('kernel', nn.initializers.lecunNormal(), [x.shape.at(-1)!, x.shape.at(-1)!])
    return jnp.matmul(x, k)
  }
}

test('case 13: a 1024³×128 input costs nothing; the kernel is init\'s (the product is never run)', (t) => {
  const v = new Square().lazyInit(random.key(0), new ShapeDtypeStruct([1024 ** 3, 128], 'float32'))
  const kernel = v.params.kernel as Tensor
  t.deepEqual(kernel.shape, [128, 128])
  const eager = new Square().init(random.key(0), jnp.ones([1, 128]))
  t.deepEqual(bytes(v), bytes(eager))
  // The result is an ordinary, writable tensor.
  kernel.data[0] = 5
  t.is(jnp.add(kernel, 0).data[0], 5)
})

class FromInput extends nn.Module {
  @nn.compact
  call(x: Tensor) {
    return this.param('p', () => jnp.sum(x, 0), null)
  }
}

test('case 13: a variable that depends on the input raises LazyInitError', (t) => {
  const e = t.throws(() => new FromInput().lazyInit(random.key(0), new ShapeDtypeStruct([3, 2], 'float32')), { instanceOf: errors.LazyInitError, code: 'LazyInitError' })
  t.regex(e!.message, /^Lazy init encountered a value that could with the given inputs \(shape: ShapedArray\(float32\[2\]\)\)/)
  // With a concrete input there is nothing abstract: its value is computed.
  const v = new FromInput().lazyInit(random.key(0), jnp.array([[1, 2], [3, 4]]))
  t.deepEqual((v.params.p as Tensor).toArray(), [4, 6])
})

test('lazyInitWith: method and mutable as initWith; bad arguments keep their errors', (t) => {
  const m = new nn.Dense({ features: 3 })
  const v = m.lazyInitWith(random.key(0), { mutable: ['params'] }, new ShapeDtypeStruct([2, 4], 'float32'))
  t.deepEqual(bytes(v), bytes(m.init(random.key(0), jnp.ones([2, 4]))))
  // The trace is closed after an error: the next call works.
  t.throws(() => new nn.Dense({ features: 3 }).lazyInit(random.key(0), new ShapeDtypeStruct([], 'float32')), { code: 'E_ARG', message: /initializer: shape\[0\]/ })
  t.deepEqual((new Square().lazyInit(random.key(0), new ShapeDtypeStruct([2, 3], 'float32')).params.kernel as Tensor).shape, [3, 3])
})
