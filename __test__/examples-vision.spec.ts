// The vision examples against real Flax (scripts/golden/vision_models_golden.py →
// golden/vision-models.json; scripts/train_digits.py → golden/digits.json): Flax's mnist CNN and
// imagenet ResNet blocks / ResNets init bit-identical from key(0) and compute Flax's outputs
// (within 1e-5) in train mode (batch statistics, updated batch_stats) and eval mode; the digits
// classifier trained in Flax gives Flax's logits and accuracy from its msgpack checkpoint.
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import test, { type ExecutionContext } from 'ava'
import { ShapeDtypeStruct, evalShape, jit, jnp, nn, random, safetensors, serialization, traverseUtil, type Tensor } from '../ts/index'
import { DIGITS_DIR, DIGITS_SAFETENSORS, loadClassifier, loadTestSet } from '../examples/digits'
import { CNN } from '../examples/mnist-cnn'
import { BottleneckResNetBlock, ResNet, ResNet18, ResNet50, ResNetBlock, type ConvDef, type NormDef } from '../examples/resnet'
import { assertClose, bitsTensor, loadLocalGolden, type GoldenBits } from './helpers/golden'

const V = loadLocalGolden('vision-models').expect
type Tree = { [k: string]: Tree | GoldenBits }

const flat = (tree: unknown): Record<string, Tensor> => traverseUtil.flattenDict(tree as any, { sep: '/' }) as Record<string, Tensor>
const goldenTree = (tree: Tree): any => Object.fromEntries(Object.entries(tree).map(([k, v]) => [k, 'shape' in v && !('config' in v) && Array.isArray(v.shape) ? bitsTensor(v as GoldenBits) : goldenTree(v as Tree)]))
const bits = (t: Tensor) => Array.from(new Uint32Array((t.data as Float32Array).slice().buffer))

function sameTreeBits(t: ExecutionContext, got: unknown, want: Tree, what: string): void {
  const [g, w] = [flat(got), flat(goldenTree(want))]
  t.deepEqual(Object.keys(g).sort(), Object.keys(w).sort(), `${what}: paths`)
  for (const [k, v] of Object.entries(w)) t.deepEqual(bits(g[k]), bits(v), `${what}: ${k}`)
}

function closeTree(t: ExecutionContext, got: unknown, want: Tree, what: string): void {
  const [g, w] = [flat(got), flat(goldenTree(want))]
  t.deepEqual(Object.keys(g).sort(), Object.keys(w).sort(), `${what}: paths`)
  for (const [k, v] of Object.entries(w)) assertClose(t, g[k], v, `${what}: ${k}`, 1e-5, 1e-5)
}

test('mnist CNN: init from key(0) is Flax\'s bit for bit (Dense_0 by SHA-256), logits within 1e-5', (t) => {
  const g = V.cnn
  const x = bitsTensor(g.x)
  const model = new CNN()
  const variables = model.init(random.key(0), x) as any
  const params = flat(variables.params)
  for (const [path, digest] of Object.entries(g.sha256 as Record<string, string>)) {
    const p = params[path]
    t.deepEqual([...p.shape], g.param_shapes[path], path)
    t.is(createHash('sha256').update(new Uint8Array((p.data as Float32Array).slice().buffer)).digest('hex'), digest, path)
  }
  assertClose(t, model.apply(variables, x) as Tensor, bitsTensor(g.logits), 'logits')
})

/** `block_layers(train)`: the conv / norm partials ResNet hands its blocks. */
function blockLayers(train: boolean): { conv: ConvDef; norm: NormDef } {
  return {
    conv: (features, kernelSize, strides, props = {}) => new nn.Conv({ features, kernelSize, strides, useBias: false, ...props }),
    norm: (props = {}) => new nn.BatchNorm({ useRunningAverage: !train, momentum: 0.9, epsilon: 1e-5, ...props }),
  }
}

for (const name of ['resnet_block', 'resnet_block_proj', 'bottleneck_block', 'bottleneck_block_proj']) {
  test(`imagenet ${name}: variables bit-identical, train (output, new batch_stats) and eval outputs within 1e-5, also with perturbed stats`, (t) => {
    const g = V[name]
    const cls = g.config.block === 'ResNetBlock' ? ResNetBlock : BottleneckResNetBlock
    const make = (train: boolean) => new cls({ filters: g.config.filters, strides: g.config.strides, act: nn.relu, ...blockLayers(train) })
    const x = bitsTensor(g.x)
    const variables = make(false).init(random.key(0), x)
    sameTreeBits(t, variables, g.variables, 'init')
    for (const [vars, want, what] of [[variables, g, 'init'], [goldenTree(g.perturbed.variables), g.perturbed, 'perturbed']] as const) {
      const [y, updated] = make(true).applyWith(vars, { mutable: ['batch_stats'] }, x) as [Tensor, any]
      assertClose(t, y, bitsTensor(want.train.y), `${what} train y`)
      closeTree(t, updated.batch_stats, want.train.batch_stats, `${what} batch_stats`)
      assertClose(t, make(false).apply(vars, x) as Tensor, bitsTensor(want.eval.y), `${what} eval y`)
    }
  })
}

for (const [name, blockCls, numFilters] of [['tiny_resnet', ResNetBlock, 8], ['tiny_bottleneck_resnet', BottleneckResNetBlock, 4]] as const) {
  test(`${name}: ResNet([1, 1]) init, eval logits under jit, train logits and batch_stats equal Flax's`, (t) => {
    const g = V[name]
    const model = new ResNet({ stageSizes: [1, 1], blockCls, numClasses: 10, numFilters })
    const x = bitsTensor(g.x)
    const variables = model.init(random.key(0), x, false)
    sameTreeBits(t, variables, g.variables, 'init')
    for (const [vars, want, what] of [[variables, g, 'init'], [goldenTree(g.perturbed.variables), g.perturbed, 'perturbed']] as const) {
      const evalFn = jit((v: any, a: Tensor) => model.apply(v, a, false) as Tensor)
      assertClose(t, evalFn(vars, x), bitsTensor(want.eval.y), `${what} eval`)
      const trainFn = jit((v: any, a: Tensor) => model.applyWith(v, { mutable: ['batch_stats'] }, a, true) as [Tensor, any])
      const [y, updated] = trainFn(vars, x)
      assertClose(t, y, bitsTensor(want.train.y), `${what} train`)
      closeTree(t, updated.batch_stats, want.train.batch_stats, `${what} batch_stats`)
    }
  })
}

test('ResNet-18 / ResNet-50: evalShape of init gives Flax\'s variable shapes; ResNet-50\'s equal a real init\'s', (t) => {
  const x = new ShapeDtypeStruct([1, 224, 224, 3], 'float32')
  const shapes = (tree: unknown) => Object.fromEntries(Object.entries(flat(tree)).map(([k, v]) => [k, [...v.shape]]))
  for (const [model, g] of [[ResNet18({ numClasses: 1000 }), V.resnet18], [ResNet50({ numClasses: 1000 }), V.resnet50]] as const) {
    const abstract = evalShape((a: Tensor) => model.init(random.key(0), a, false), x) as any
    t.deepEqual(shapes(abstract.params), g.params)
    t.deepEqual(shapes(abstract.batch_stats), g.batch_stats)
    t.is(Object.values(shapes(abstract.params)).reduce((n, s) => n + s.reduce((a, b) => a * b, 1), 0), g.param_count)
  }
  // Parameter shapes do not depend on the image size: a real init on a small image.
  const real = ResNet50({ numClasses: 1000 }).init(random.key(0), jnp.zeros([1, 32, 32, 3]), false) as any
  t.deepEqual(shapes(real.params), V.resnet50.params)
  t.deepEqual(shapes(real.batch_stats), V.resnet50.batch_stats)
})

const D = loadLocalGolden('digits').expect

test('digits: the Flax-trained checkpoint gives Flax\'s logits (within 1e-5), predictions and accuracy in Node', (t) => {
  const { model, variables } = loadClassifier()
  const { images, labels } = loadTestSet()
  t.deepEqual(labels, D.labels.data)
  const logits = jit((x: Tensor) => model.apply(variables, x) as Tensor)(images)
  assertClose(t, logits, bitsTensor(D.logits), 'logits', 1e-5, 1e-5)
  const predicted = Array.from(jnp.argmax(logits, -1).data)
  t.deepEqual(predicted, D.predicted.data)
  t.is(predicted.filter((p, i) => p === labels[i]).length, D.correct)
})

test('digits: digits.safetensors (what the server maps) holds the checkpoint\'s variables bit for bit, and is what --write-safetensors writes', (t) => {
  const fromMsgpack = flat(loadClassifier().variables)
  const fromSafetensors = flat(loadClassifier(DIGITS_SAFETENSORS).variables)
  t.deepEqual(Object.keys(fromSafetensors).sort(), Object.keys(fromMsgpack).sort())
  t.true(Object.keys(fromMsgpack).length >= 8)
  for (const [name, v] of Object.entries(fromMsgpack)) {
    t.deepEqual(fromSafetensors[name].shape, v.shape, name)
    t.deepEqual(bits(fromSafetensors[name]), bits(v), name)
  }
  // The committed file is the generator's output for the checkpoint, byte for byte.
  t.deepEqual(Buffer.from(safetensors.save(loadClassifier().variables as Record<string, unknown>, { format: 'flax' })), readFileSync(DIGITS_SAFETENSORS))
})

test('digits: the checkpoint round-trips byte for byte (restore, then serialize)', (t) => {
  const file = readFileSync(join(DIGITS_DIR, 'digits.msgpack'))
  const { variables } = loadClassifier()
  t.deepEqual(Buffer.from(serialization.toBytes(variables)), file)
  const again = serialization.fromBytes(variables, serialization.toBytes(variables)) as any
  t.deepEqual(bits(again.params.Dense_1.kernel), bits((variables as any).params.Dense_1.kernel))
})
