// evalShape (jax.eval_shape): the shapes and dtypes a function makes, by an abstract trace that
// runs no kernel and allocates no tensor data. For every layer, evalShape(init) equals the
// shapes init makes.
import test from 'ava'
import { ConcretizationTypeError, ShapeDtypeStruct, evalShape, jit, jnp, nn, random, tree, type Tensor, type Variables } from '../ts/index'
import { native } from '../ts/native'
import { CausalDense } from './helpers/causal-dense'
import * as quant from '../examples/int8-quantisation'
import * as tied from '../examples/tied-autoencoder'

const describeLeaf = (l: Tensor | ShapeDtypeStruct) => `${l.dtype}[${l.shape.join(',')}]`
const shapesOf = (v: unknown): unknown => tree.map(describeLeaf, v)

class MLP extends nn.Module<{ features: number[] }> {
  features!: number[]
  @nn.compact
  call(x: Tensor) {
    this.features.slice(0, -1).forEach((f) => (x = nn.relu(new nn.Dense({ features: f }).call(x))))
    return new nn.Dense({ features: this.features.at(-1)! }).call(new nn.LayerNorm().call(x))
  }
}

const x = random.normal(random.key(1), [4, 6])
const ids = jnp.array([[0, 6], [3, 2]], 'int32')

const cases: [string, () => nn.Module, unknown[], Record<string, unknown>?][] = [
  ['Dense', () => new nn.Dense({ features: 5 }), [x]],
  ['Dense without bias', () => new nn.Dense({ features: 5, useBias: false }), [x]],
  ['DenseGeneral', () => new nn.DenseGeneral({ features: [2, 5], axis: [-2, -1] }), [random.normal(random.key(3), [2, 3, 4])]],
  ['Embed', () => new nn.Embed({ numEmbeddings: 7, features: 3 }), [ids]],
  ['LayerNorm', () => new nn.LayerNorm({ reductionAxes: [1, 2], featureAxes: -1 }), [random.normal(random.key(3), [2, 3, 4])]],
  ['RMSNorm', () => new nn.RMSNorm(), [x]],
  ['Dropout (no variables)', () => new nn.Dropout({ rate: 0.5, deterministic: true }), [x]],
  ['WeightNorm', () => new nn.WeightNorm({ layerInstance: new nn.Dense({ features: 3 }) }), [x]],
  ['SpectralNorm (batch_stats)', () => new nn.SpectralNorm({ layerInstance: new nn.Dense({ features: 3 }) }), [x, { updateStats: true }]],
  ['Sequential MLP', () => new nn.Sequential({ layers: [new nn.Dense({ features: 8 }), nn.relu, new nn.Dense({ features: 2 })] }), [x]],
  ['user module', () => new MLP({ features: [7, 3] }), [x]],
  ['CausalDense', () => new CausalDense({ features: 5 }), [random.normal(random.key(2), [5, 6])]],
  ['TiedAutoencoder', () => new tied.TiedAutoencoder({ features: 4, latents: 5 }), [random.normal(random.key(2), [3, 4])]],
  ['int8 QuantisedMLP', () => new quant.QuantisedMLP({ features: [4, 3] }), [random.normal(random.key(2), [2, 4])]],
]

for (const [name, make, args] of cases) {
  test(`evalShape(init) of ${name} equals the shapes and dtypes init makes, in the same tree`, (t) => {
    const m = make()
    const key = random.key(0)
    const init = () => m.init(key, ...args)
    const abstract = evalShape(init)
    const concrete = init()
    t.deepEqual(shapesOf(abstract), shapesOf(concrete))
    t.true(tree.leaves(abstract).every((l) => l instanceof ShapeDtypeStruct))
  })
}

test('int8 QuantisedMLP over a quantised checkpoint: evalShape(apply) equals apply', (t) => {
  const xs = random.normal(random.key(2), [2, 4])
  const vars = quant.quantiseCheckpoint(new quant.MLP({ features: [4, 3] }).init(random.key(0), xs))
  const m = new quant.QuantisedMLP({ features: [4, 3] })
  t.deepEqual(shapesOf(evalShape((v: Variables, a: Tensor) => m.apply(v, a), vars, xs)), shapesOf(m.apply(vars, xs)))
})

test('ShapeDtypeStructs stand in for tensors anywhere in the arguments; keys and static leaves too', (t) => {
  const m = new nn.Dense({ features: 3 })
  const v = evalShape((k, inp: Tensor) => m.init(k, inp), random.key(0), new ShapeDtypeStruct([2, 5], 'float32'))
  t.deepEqual(shapesOf(v), { params: { kernel: 'float32[5,3]', bias: 'float32[3]' } })
  // a tree of abstract variables is itself an argument: apply's output shape
  const y = evalShape((vars: Variables, inp: Tensor) => m.apply(vars, inp), v, new ShapeDtypeStruct([7, 5], 'float32'))
  t.is(describeLeaf(y), 'float32[7,3]')
  // numbers are static; a key output is its raw uint32[2] data
  const out = evalShape((a: Tensor, s: number, k) => ({ y: jnp.sum(jnp.multiply(a, s), 0), n: s, k: random.split(k)[1] }), new ShapeDtypeStruct([4, 2], 'int32'), 3, random.key(1))
  t.is(describeLeaf(out.y), 'int32[2]')
  t.is(out.n, 3)
  t.is(describeLeaf(out.k), 'uint32[2]')
})

test('a model far larger than memory: its template costs nothing (no byte cap hit, RSS flat)', (t) => {
  // kernel 1024 x 2^26 float32 = 256 GiB, beyond any byte cap; the bias alone would be 256 MiB
  const m = new nn.Dense({ features: 1 << 26 })
  const before = process.memoryUsage().rss
  const v = evalShape((inp: Tensor) => m.init(random.key(0), inp), new ShapeDtypeStruct([1, 1024], 'float32'))
  const grew = process.memoryUsage().rss - before
  t.deepEqual(shapesOf(v), { params: { kernel: `float32[1024,${1 << 26}]`, bias: `float32[${1 << 26}]` } })
  t.true(grew < 64 * 2 ** 20, `RSS grew ${grew} bytes`)
  // the same init for real is refused by the byte cap, before allocating
  t.throws(() => m.init(random.key(0), jnp.ones([1, 1024])), { code: 'E_ALLOC' })
})

test('evalShape checks shapes as a trace does: a mismatch inside fn is the op\'s error', (t) => {
  const e = t.throws(() => evalShape((a: Tensor, b: Tensor) => jnp.matmul(a, b), new ShapeDtypeStruct([2, 3], 'float32'), new ShapeDtypeStruct([4, 5], 'float32')), { code: 'E_SHAPE' })
  t.regex(e!.message, /matmul.*\[2, 3\].*\[4, 5\]|\[4, 5\].*\[2, 3\]/)
  // a shape beyond any address space is still refused
  t.throws(() => evalShape(() => jnp.zeros([2 ** 40, 2 ** 40])), { code: 'E_SHAPE', message: /too many elements/ })
})

test('reading a value inside evalShape throws ConcretizationTypeError; the trace is closed afterwards', (t) => {
  t.throws(() => evalShape((a: Tensor) => jnp.add(a, a.item() as number), new ShapeDtypeStruct([], 'float32')), { instanceOf: ConcretizationTypeError })
  // eager ops work again after the failed trace
  t.deepEqual(jnp.add(jnp.ones([2]), 1).toArray(), [2, 2])
})

test('evalShape inside jit and jit inside evalShape', (t) => {
  const f = jit((a: Tensor) => jnp.exp(a))
  t.is(describeLeaf(evalShape((a: Tensor) => jnp.concatenate([f(a), a]), new ShapeDtypeStruct([3, 2], 'float32'))), 'float32[6,2]')
  t.is(f.traceCount, 0, 'a jit called while tracing is inlined')
  const g = jit((a: Tensor) => {
    const s = evalShape((b: Tensor) => jnp.outer(b, b), a)
    return jnp.zeros([...s.shape])
  })
  t.deepEqual(g(jnp.ones([3])).shape, [3, 3])
})

test('jit: f.lower accepts ShapeDtypeStructs; calling with one is an E_ARG', (t) => {
  const f = jit((a: Tensor) => jnp.multiply(a, 2))
  t.deepEqual(f.lower(new ShapeDtypeStruct([4], 'float32')).ops, ['multiply'])
  t.throws(() => f(new ShapeDtypeStruct([4], 'float32') as unknown as Tensor), { code: 'E_ARG', message: /ShapeDtypeStruct has no values/ })
  t.deepEqual(f(jnp.ones([4])).toArray(), [2, 2, 2, 2])
})

test('an abstract trace has no plan: traceEnd refuses it', (t) => {
  const tr = native.traceBegin(true)
  const a = native.traceInput(tr, [2], 'float32')
  t.throws(() => native.traceEnd(tr, [a]), { code: 'E_ARG', message: /abstract trace/ })
})

test('ShapeDtypeStruct validates its shape and dtype', (t) => {
  const s = new ShapeDtypeStruct([2, 3], 'int8')
  t.is(s.ndim, 2)
  t.is(s.size, 6)
  t.is(String(s), 'ShapeDtypeStruct(shape=(2, 3), dtype=int8)')
  t.throws(() => new ShapeDtypeStruct([2, -1], 'float32'), { code: 'E_SHAPE', message: /shape\[1\] must be a non-negative integer, got number -1/ })
  t.throws(() => new ShapeDtypeStruct([2], 'float64' as any), { code: 'E_DTYPE' })
  t.throws(() => new ShapeDtypeStruct(3 as any, 'float32'), { code: 'E_TYPE' })
  t.throws(() => evalShape(3 as any), { code: 'E_TYPE' })
})
