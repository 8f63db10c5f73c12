// serialization.convertPytorchStateDict: a PyTorch state dict (golden from torch, made by
// scripts/golden/pytorch_port.py) loads into the flaxen port of the same model, which then
// gives torch's output; conv and batch-norm layouts follow Hugging Face's rules.
import test from 'ava'
import { ShapeDtypeStruct, errors, evalShape, jnp, nn, random, serialization, type Tensor } from '../ts/index'
import { loadLocalGolden } from './helpers/golden'

type G = { shape: number[]; dtype: string; bits?: number[]; data?: number[] }
const tensorOf = (g: G): Tensor =>
  g.bits ? jnp.reshape(jnp.array(new Float32Array(Uint32Array.from(g.bits).buffer)), g.shape) : jnp.reshape(jnp.array(g.data!, g.dtype as 'int32'), g.shape)
const golden = loadLocalGolden('pytorch_port') as any
const stateOf = (s: Record<string, G>) => Object.fromEntries(Object.entries(s).map(([k, v]) => [k, tensorOf(v)]))

class Net extends nn.Module {
  declare embed: nn.Embed
  declare norm: nn.LayerNorm
  declare layers: nn.Dense[]
  setup() {
    this.embed = new nn.Embed({ numEmbeddings: 11, features: 8 })
    this.norm = new nn.LayerNorm({ epsilon: 1e-5 })
    this.layers = [new nn.Dense({ features: 16 }), new nn.Dense({ features: 4 })]
  }
  call(ids: Tensor): Tensor {
    const h = nn.relu(this.layers[0].call(this.norm.call(this.embed.call(ids))))
    return this.layers[1].call(h)
  }
}

test('a PyTorch model\'s state dict loads into its flaxen port (Embedding, LayerNorm, ModuleList of Linear) and gives torch\'s output', (t) => {
  const ids = tensorOf(golden.net.ids)
  const net = new Net()
  const template = evalShape((x: Tensor) => net.init(random.key(0), x), new ShapeDtypeStruct(ids.shape, 'int32'))
  const converted = serialization.convertPytorchStateDict(stateOf(golden.net.state), template)
  t.deepEqual(Object.keys(converted.params).sort(), ['embed', 'layers_0', 'layers_1', 'norm'])
  t.deepEqual(converted.params.layers_0.kernel.shape, [8, 16])
  t.deepEqual(Object.keys(converted.params.norm).sort(), ['bias', 'scale'])
  const variables = serialization.fromStateDict(template, converted)
  const y = net.apply(variables, ids) as Tensor
  const want = tensorOf(golden.net.out)
  const got = Array.from(y.data as Float32Array)
  const ref = Array.from(want.data as Float32Array)
  t.is(got.length, 24)
  // torch and flaxen sum in different orders: equal to float32 rounding
  got.forEach((v, i) => t.true(Math.abs(v - ref[i]) <= 2e-6 * Math.max(1, Math.abs(ref[i])), `out[${i}]: ${v} vs torch ${ref[i]}`))
  // the kernel is the transposed Linear weight, bit for bit
  t.deepEqual(jnp.transpose(variables.params.layers_1.kernel).toArray(), stateOf(golden.net.state)['layers.1.weight'].toArray())
})

test('conv weights OIHW → HWIO (and OIW → WIO); BatchNorm running stats → batch_stats mean/var; num_batches_tracked dropped', (t) => {
  const state = stateOf(golden.conv.state)
  const f32 = (shape: number[]) => new ShapeDtypeStruct(shape, 'float32')
  const template = {
    params: { conv: { kernel: f32([2, 4, 3, 5]), bias: f32([5]) }, conv1d: { kernel: f32([3, 2, 6]), bias: f32([6]) }, bn: { scale: f32([5]), bias: f32([5]) } },
    batch_stats: { bn: { mean: f32([5]), var: f32([5]) } },
  }
  const v = serialization.convertPytorchStateDict(state, template)
  t.deepEqual(v.params.conv.kernel.toArray(), tensorOf(golden.conv.conv_kernel_hwio).toArray())
  t.deepEqual(v.params.conv1d.kernel.toArray(), tensorOf(golden.conv.conv1d_kernel_wio).toArray())
  t.deepEqual(v.params.bn.scale.toArray(), state['bn.weight'].toArray())
  t.deepEqual(v.batch_stats.bn.mean.toArray(), state['bn.running_mean'].toArray())
  t.deepEqual(v.batch_stats.bn.var.toArray(), state['bn.running_var'].toArray())
  t.false('num_batches_tracked' in v.params.bn || 'num_batches_tracked' in v.batch_stats.bn)
  // the whole result fits the template exactly
  t.notThrows(() => serialization.fromStateDict(template, v))
})

test('old names, weight norm and the base-model prefix, as Hugging Face renames them', (t) => {
  const s = (...shape: number[]) => jnp.zeros(shape)
  const v = serialization.convertPytorchStateDict(
    { 'ln.gamma': s(3), 'ln.beta': s(3), 'conv.parametrizations.weight.original0': s(4, 1, 1), 'conv.parametrizations.weight.original1': s(4, 2, 3) },
    { params: {} },
  )
  t.deepEqual(Object.keys(v.params.ln).sort(), ['bias', 'weight'])
  t.deepEqual(Object.keys(v.params.conv).sort(), ['weight_g', 'weight_v'])
  const f32 = (shape: number[]) => new ShapeDtypeStruct(shape, 'float32')
  // a checkpoint of the model with its head ('bert.' keys) into the base model, and back
  const base = { params: { dense: { kernel: f32([2, 3]) } } }
  const withHead = serialization.convertPytorchStateDict({ 'bert.dense.weight': s(3, 2) }, base, { prefix: 'bert' })
  t.deepEqual(withHead.params.dense.kernel.shape, [2, 3])
  const head = { params: { bert: { dense: { kernel: f32([2, 3]) } }, cls: { kernel: f32([3, 1]) } } }
  const intoHead = serialization.convertPytorchStateDict({ 'dense.weight': s(3, 2) }, head, { prefix: 'bert' })
  t.deepEqual(intoHead.params.bert.dense.kernel.shape, [2, 3])
})

test('a weight of the wrong shape raises Hugging Face\'s ValueError; bad arguments are coded', (t) => {
  const target = { params: { fc: { kernel: new ShapeDtypeStruct([4, 3], 'float32') } } }
  t.throws(() => serialization.convertPytorchStateDict({ 'fc.weight': jnp.zeros([4, 3]) }, target), {
    instanceOf: errors.ValueError,
    message: 'PyTorch checkpoint seems to be incorrect. Weight fc.weight was expected to be of shape (4, 3), but is (3, 4).',
  })
  t.throws(() => serialization.convertPytorchStateDict({ 'fc.weight': [1, 2] as any }, target), { code: 'E_TYPE', message: /state\['fc.weight'\] must be a Tensor/ })
  t.throws(() => serialization.convertPytorchStateDict(null as any, target), { code: 'E_TYPE' })
  t.throws(() => serialization.convertPytorchStateDict({}, 3 as any), { code: 'E_TYPE' })
})
