// The generated bad-input matrix (issue 10: "no input aborts the process").
//
// Run as its own process (`node --import=tsx __test__/helpers/bad-input-matrix.ts`), so that a
// native abort (SIGABRT) or a stack overflow kills this script, not the test runner: the spec
// (`__test__/bad-input.spec.ts`) sees the signal and fails. It calls every public entry point
// — jnp.*, random.*, tree.*, linalg.*, nn.initializers.*, layer constructors/init/apply,
// Tensor methods, the byte cap — with one argument at a time replaced by a bad value (and, in the
// long variant, with random mixes of good and bad arguments), and checks that each call either
// returns or throws an Error carrying a string `code`. It prints one JSON report on stdout.
//
// Environment:
//   BAD_INPUT_RANDOM  number of extra random-mix calls (default 0; the long variant sets more)
//   BAD_INPUT_SEED    seed of those mixes (default 1)
//   BAD_INPUT_LONG=1  every bad value for the layers too (by default they get a representative
//                     dozen: a layer call builds, inits and applies a module, ~100x a jnp call)
// The byte cap is lowered (FLAXEN_MAX_BYTES, set by the spec) so an accepted large-but-possible
// shape cannot make a run slow; the cap itself is one of the things under test.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as flaxen from '../../ts'
import { Tensor } from '../../ts/tensor'

const { jnp, lax, random, tree, linalg, nn } = flaxen

type Factory = () => unknown
interface Sample {
  label: string
  make: Factory
}

// ---- values ----------------------------------------------------------------------------------

const x23 = (): Tensor => jnp.array([[1, 2, 3], [4, 5, 6]])

function cyclicObject(): unknown {
  const o: Record<string, unknown> = { a: 1 }
  o.self = o
  return o
}

function cyclicArray(): unknown {
  const a: unknown[] = [1]
  a.push(a)
  return a
}

function deepObject(depth: number): unknown {
  let o: unknown = { leaf: 1 }
  for (let i = 0; i < depth; i++) o = { a: o }
  return o
}

function deepArray(depth: number): unknown {
  let o: unknown = [1]
  for (let i = 0; i < depth; i++) o = [o]
  return o
}

function disposed(): Tensor {
  const t = x23()
  t.dispose()
  return t
}

/** Values a correct call could use: the baselines are built from these. */
const GOOD: Sample[] = [
  { label: 'tensor f32[2,3]', make: x23 },
  { label: 'tensor i32[3]', make: () => jnp.array([0, 1, 2], 'int32') },
  { label: 'tensor f32[3,3]', make: () => jnp.eye(3) },
  { label: 'tensor f32[]', make: () => jnp.array(2) },
  { label: 'key', make: () => random.key(0) },
  { label: '0', make: () => 0 },
  { label: '1', make: () => 1 },
  { label: '2', make: () => 2 },
  { label: 'shape [2,3]', make: () => [2, 3] },
  { label: '[0]', make: () => [0] },
  { label: "'float32'", make: () => 'float32' },
  { label: 'true', make: () => true },
  { label: 'tensor list', make: () => [x23(), x23()] },
  { label: 'tree {a,b}', make: () => ({ a: x23(), b: [x23()] }) },
  { label: 'identity fn', make: () => (v: unknown) => v },
  { label: '{}', make: () => ({}) },
]

/** Made once: building them per call was most of the matrix's time (no call mutates them). */
function once<T>(make: () => T): () => T {
  let v: T | undefined
  return () => (v ??= make())
}

/** Values no call should accept silently (and none may crash on). */
const BAD: Sample[] = [
  { label: 'undefined', make: () => undefined },
  { label: 'null', make: () => null },
  { label: 'NaN', make: () => NaN },
  { label: '0.5', make: () => 0.5 },
  { label: '-1', make: () => -1 },
  { label: '2**31', make: () => 2 ** 31 },
  { label: '2**53', make: () => 2 ** 53 },
  { label: 'Infinity', make: () => Infinity },
  { label: '-Infinity', make: () => -Infinity },
  { label: "'abc'", make: () => 'abc' },
  { label: "''", make: () => '' },
  { label: 'Symbol', make: () => Symbol('bad') },
  { label: 'BigInt 10n', make: () => 10n },
  { label: 'shape [1e6,1e6]', make: () => [1e6, 1e6] },
  { label: 'shape [2**31,2**31]', make: () => [2 ** 31, 2 ** 31] },
  { label: 'shape [2**31]', make: () => [2 ** 31] },
  { label: 'shape [-1,2]', make: () => [-1, 2] },
  { label: 'shape [1.5]', make: () => [1.5] },
  { label: 'shape [NaN]', make: () => [NaN] },
  { label: "['a']", make: () => ['a'] },
  { label: 'new Array(2**32-1)', make: once(() => new Array(2 ** 32 - 1)) },
  { label: 'new Array(1e6)', make: once(() => new Array(1e6)) },
  { label: 'ragged [[1],[2,3]]', make: () => [[1], [2, 3]] },
  { label: 'Float64Array(3)', make: () => new Float64Array(3) },
  { label: 'Uint32Array(2)', make: () => new Uint32Array(2) },
  { label: 'Uint8Array(5)', make: () => new Uint8Array(5) },
  { label: 'DataView', make: () => new DataView(new ArrayBuffer(8)) },
  { label: 'cyclic object', make: cyclicObject },
  { label: 'cyclic array', make: cyclicArray },
  { label: 'object nested 1e5 deep', make: once(() => deepObject(1e5)) },
  { label: 'array nested 1e5 deep', make: once(() => deepArray(1e5)) },
  { label: 'disposed tensor', make: disposed },
  { label: 'fake tensor (Tensor prototype)', make: () => Object.create(Tensor.prototype) },
  { label: 'bool tensor', make: () => jnp.array([true, false]) },
  { label: 'int8 tensor', make: () => jnp.array([1, 2], 'int8') },
  { label: 'bfloat16 tensor', make: () => jnp.array([[1, -2, 0.5], [3, 4, 5]], 'bfloat16') },
  { label: 'float16 tensor', make: () => jnp.array([1, 65520], 'float16') },
  { label: "'bfloat16'", make: () => 'bfloat16' },
  { label: 'tensor f32[1e4,1]', make: () => jnp.zeros([1e4, 1]) },
  { label: '{shape:[2]}', make: () => ({ shape: [2] }) },
  { label: 'fn returning 42', make: () => () => 42 },
  { label: 'Date', make: () => new Date(0) },
]

// ---- entry points ----------------------------------------------------------------------------

interface Entry {
  name: string
  fn: (...args: any[]) => unknown
  /** Arguments that make a correct call: bad values replace one at a time. */
  baseline: Factory
}

const t = () => x23()
/** Weights files the file-reading entry points start from (written once, in a temp folder). */
const WEIGHTS = (() => {
  const dir = mkdtempSync(join(tmpdir(), 'flaxen-bad-input-'))
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }))
  const files = { msgpack: join(dir, 'w.msgpack'), safetensors: join(dir, 'w.safetensors'), out: join(dir, 'out.safetensors') }
  writeFileSync(files.msgpack, flaxen.serialization.toBytes({ a: jnp.ones([2, 3]) }))
  flaxen.safetensors.saveFile({ a: jnp.ones([2, 3]) }, files.safetensors)
  return files
})()
const k = () => random.key(1)

/** Baselines for entry points whose arguments are not (tensor, tensor, ...). */
const BASELINES: Record<string, Factory> = {
  'jnp.array': () => [[1, 2]],
  'jnp.full': () => [[2], 1],
  'jnp.zeros': () => [[2, 3]],
  'jnp.ones': () => [[2, 3]],
  'jnp.arange': () => [0, 4, 1],
  'jnp.linspace': () => [0, 1, 5],
  'jnp.eye': () => [3, 2],
  'jnp.reshape': () => [t(), [3, 2]],
  'jnp.matmul': () => [t(), jnp.ones([3, 2])],
  'jnp.transpose': () => [t(), [1, 0]],
  'jnp.sum': () => [t(), 0, {}],
  'jnp.mean': () => [t(), 0, {}],
  'jnp.max': () => [t(), 0, {}],
  'jnp.min': () => [t(), 0, {}],
  'jnp.prod': () => [t(), 0, {}],
  'jnp.var': () => [t(), 0, {}],
  'jnp.std': () => [t(), 0, {}],
  'jnp.argmax': () => [t(), 0, {}],
  'jnp.argmin': () => [t(), 0, {}],
  'jnp.softmax': () => [t(), -1],
  'jnp.logSoftmax': () => [t(), -1],
  'jnp.logsumexp': () => [t(), 0, {}],
  'jnp.round': () => [t(), 1],
  'jnp.take': () => [t(), [0, 1], 1, {}],
  'jnp.oneHot': () => [jnp.array([0, 2], 'int32'), 3, {}],
  'jnp.concatenate': () => [[t(), t()], 0],
  'jnp.stack': () => [[t(), t()], 0],
  'jnp.expandDims': () => [t(), 0],
  'jnp.squeeze': () => [jnp.ones([1, 3]), 0],
  'jnp.broadcastTo': () => [t(), [4, 2, 3]],
  'jnp.swapaxes': () => [t(), 0, 1],
  'jnp.moveaxis': () => [t(), 0, 1],
  'jnp.astype': () => [t(), 'int32'],
  'jnp.triu': () => [t(), 0],
  'jnp.tril': () => [t(), 0],
  'jnp.where': () => [jnp.array([true, false, true]), t(), 0],
  'jnp.clip': () => [t(), 1, 4],
  'jnp.gelu': () => [t(), true],
  'jnp.cumsum': () => [t(), 1],
  'jnp.cumprod': () => [t(), 1],
  'jnp.flip': () => [t(), [0]],
  'jnp.takeAlongAxis': () => [t(), jnp.array([[0, 1, 2], [2, 1, 0]], 'int32'), 1],
  'jnp.dot': () => [t(), jnp.ones([3, 2])],
  'jnp.tensordot': () => [t(), jnp.ones([3, 2]), 1],
  'jnp.einsum': () => ['ij,jk->ik', t(), jnp.ones([3, 2]), {}],
  'jnp.any': () => [t(), 0, {}],
  'jnp.all': () => [t(), 0, {}],
  'jnp.sort': () => [t(), 1, {}],
  'jnp.argsort': () => [t(), 1, {}],
  'jnp.searchsorted': () => [jnp.array([1, 2, 3]), t(), {}],
  'jnp.pad': () => [t(), [[1, 0], [0, 2]], {}],
  'jnp.split': () => [t(), 3, 1],
  'jnp.arraySplit': () => [t(), 2, 1],
  'jnp.tile': () => [t(), [2, 1]],
  'jnp.repeat': () => [t(), 2, 1, {}],
  'lax.slice': () => [t(), [0, 1], [2, 3], [1, 1]],
  'lax.dynamicSlice': () => [t(), [1, 1], [1, 2]],
  'lax.dynamicUpdateSlice': () => [t(), jnp.ones([1, 2]), [1, 1]],
  'lax.topK': () => [t(), 2],
  'lax.reduceWindow': () => [jnp.ones([1, 4, 4, 2]), 0, 'max', [1, 2, 2, 1], [1, 2, 2, 1], 'VALID'],
  'nn.pool': () => [jnp.ones([1, 4, 4, 2]), 0, 'add', [2, 2], { strides: [2, 2] }],
  'nn.avgPool': () => [jnp.ones([1, 4, 4, 2]), [2, 2], { strides: [2, 2], padding: 'SAME', countIncludePad: false }],
  'nn.maxPool': () => [jnp.ones([1, 4, 4, 2]), [2, 2], { strides: [2, 2] }],
  'nn.minPool': () => [jnp.ones([1, 4, 4, 2]), [2, 2], {}],
  'lax.convGeneralDilated': () => [jnp.ones([1, 4, 5, 2]), jnp.ones([3, 2, 2, 3]), [1, 2], 'SAME', { dimensionNumbers: ['NHWC', 'HWIO', 'NHWC'] }],
  'lax.padtypeToPads': () => [[5, 6], [3, 3], [2, 1], 'SAME'],
  'lax.convTranspose': () => [jnp.ones([1, 4, 5, 2]), jnp.ones([3, 2, 2, 3]), [2, 1], 'SAME', { transposeKernel: false }],
  'lax.convGeneralDilatedPatches': () => [jnp.ones([1, 2, 4, 5]), [2, 2], [1, 1], 'VALID', { rhsDilation: [1, 1] }],
  'lax.convGeneralDilatedLocal': () => [jnp.ones([1, 2, 4, 5]), jnp.ones([3, 8, 3, 4]), [1, 1], 'VALID', [2, 2], { rhsDilation: [1, 1] }],
  'random.permutation': () => [k(), 5, {}],
  'random.choice': () => [k(), 5, { shape: [3] }],
  'jnp.tidy': () => [() => t()],
  'linalg.qr': () => [t()],
  'random.key': () => [0],
  'random.PRNGKey': () => [0],
  'random.keyData': () => [k()],
  'random.split': () => [k(), 3],
  'random.foldIn': () => [k(), 7],
  'random.bits': () => [k(), [2, 3], 'uint32'],
  'random.uniform': () => [k(), [2, 3], {}],
  'random.normal': () => [k(), [2, 3]],
  'random.truncatedNormal': () => [k(), -1, 1, [2, 3]],
  'random.randint': () => [k(), [2, 3], 0, 10],
  'random.bernoulli': () => [k(), 0.5, [2, 3]],
  'random.isKey': () => [k()],
  'random.gumbel': () => [k(), [2, 3]],
  'random.categorical': () => [k(), t()],
  'random.Key.fromWords': () => [1, 2],
  'random.withConfig': () => [{}, () => 1],
  'tree.map': () => [(v: unknown) => v, { a: t(), b: [t()] }],
  'tree.mapWithPath': () => [(_p: unknown, v: unknown) => v, { a: t() }],
  'tree.leaves': () => [{ a: t(), b: [t()] }],
  'tree.leavesWithPath': () => [{ a: t() }],
  'tree.structureEqual': () => [{ a: 1 }, { a: 2 }],
  'tree.copy': () => [{ a: t() }],
  'tree.flatten': () => [{ a: t(), b: [t()] }],
  'tree.unflatten': () => [tree.flatten({ a: 1, b: [2] })[1], [3, 4]],
  'tree.reduce': () => [(_acc: unknown, leaf: unknown) => leaf, { a: 1, b: [2] }, 0],
  'tree.isPlainObject': () => [{}],
  'setMaxBytes': () => [1 << 28],
  'getMaxBytes': () => [],
  'evalShape': () => [(a: Tensor) => jnp.sin(a), new flaxen.ShapeDtypeStruct([2, 3], 'float32')],
  'ShapeDtypeStruct': () => [[2, 3], 'float32'],
  'jit': () => [(a: Tensor) => jnp.sin(a), { staticArgnums: 1 }],
  'jit(...)': () => [t(), 2],
  'serialization.toStateDict': () => [{ a: [t(), 1], b: { c: t() } }],
  'serialization.fromStateDict': () => [{ a: [t()], b: 1 }, { a: { '0': t() }, b: 2 }],
  'serialization.msgpackSerialize': () => [{ a: [t(), 1], b: 'x' }],
  'serialization.msgpackRestore': () => [flaxen.serialization.toBytes({ a: t() })],
  'serialization.msgpackRestoreFile': () => [WEIGHTS.msgpack],
  'serialization.toBytes': () => [{ a: t() }],
  'serialization.fromBytes': () => [{ a: t() }, flaxen.serialization.toBytes({ a: t() })],
  'safetensors.load': () => [flaxen.safetensors.save({ a: t() })],
  'safetensors.loadFile': () => [WEIGHTS.safetensors],
  'safetensors.loadFileWithMetadata': () => [WEIGHTS.safetensors],
  'safetensors.save': () => [{ a: t(), b: { c: t() } }, { format: 'flax' }],
  'safetensors.saveFile': () => [{ a: t() }, WEIGHTS.out],
  'serialization.convertPytorchStateDict': () => [{ 'fc.weight': t(), 'fc.bias': jnp.zeros([2]) }, { params: { fc: { kernel: jnp.zeros([3, 2]), bias: jnp.zeros([2]) } } }],
  'traverseUtil.flattenDict': () => [{ a: { b: t() }, c: 1 }, { sep: '.' }],
  'traverseUtil.unflattenDict': () => [{ 'a.b': t(), c: 1 }, { sep: '.' }],
  'traverseUtil.pathAwareMap': () => [(_p: unknown, v: unknown) => v, { a: { b: t() } }],
  'nn.initializers.computeFans': () => [[2, 3]],
}

/** Each initializer builder, and the initializer it builds called as `(key, shape)`. */
const INIT_BUILDERS: Record<string, Factory> = {
  constant: () => [1],
  uniform: () => [0.1],
  normal: () => [0.1],
  truncatedNormal: () => [0.1, {}],
  varianceScaling: () => [1, 'fan_in', 'normal', {}],
  lecunNormal: () => [{}],
  lecunUniform: () => [{}],
  glorotNormal: () => [{}],
  glorotUniform: () => [{}],
  heNormal: () => [{}],
  heUniform: () => [{}],
  xavierNormal: () => [{}],
  xavierUniform: () => [{}],
  kaimingNormal: () => [{}],
  kaimingUniform: () => [{}],
  orthogonal: () => [1, -1],
  deltaOrthogonal: () => [1, -1],
  zerosInit: () => [],
  onesInit: () => [],
}

function defaultBaseline(fn: Function): Factory {
  const n = Math.max(1, Math.min(fn.length, 3))
  return () => Array.from({ length: n }, t)
}

function namespaceEntries(prefix: string, ns: Record<string, unknown>): Entry[] {
  const out: Entry[] = []
  for (const [name, fn] of Object.entries(ns)) {
    if (typeof fn !== 'function' || /^[A-Z]/.test(name)) continue
    const full = `${prefix}.${name}`
    out.push({ name: full, fn: fn as Entry['fn'], baseline: BASELINES[full] ?? defaultBaseline(fn) })
  }
  return out
}

/** Layers: props, then init(key, x), then apply(variables, x), each stage a bad-value target. */
interface LayerCase {
  name: string
  cls: any
  props: Factory
  /** The props replaced by bad values: the layer's own (unknown props are another test's). */
  fields: string[]
  input: Factory
  /** init/apply extra arguments (Dropout wants deterministic / rngs). */
  applyOpts?: Factory
}

const LAYERS: LayerCase[] = [
  { name: 'Dense', cls: nn.Dense, props: () => ({ features: 4 }), fields: ['features', 'useBias', 'kernelInit', 'biasInit', 'dtype', 'paramDtype'], input: () => jnp.ones([2, 3]) },
  { name: 'DenseGeneral', cls: nn.DenseGeneral, props: () => ({ features: [2, 2] }), fields: ['features', 'axis', 'batchDims', 'useBias', 'kernelInit', 'dtype', 'paramDtype'], input: () => jnp.ones([2, 3]) },
  { name: 'Embed', cls: nn.Embed, props: () => ({ numEmbeddings: 5, features: 3 }), fields: ['numEmbeddings', 'features', 'embeddingInit', 'dtype', 'paramDtype'], input: () => jnp.array([0, 1], 'int32') },
  { name: 'Conv', cls: nn.Conv, props: () => ({ features: 2, kernelSize: [3, 3] }), fields: ['features', 'kernelSize', 'strides', 'padding', 'inputDilation', 'kernelDilation', 'featureGroupCount', 'mask', 'kernelInit', 'dtype'], input: () => jnp.ones([1, 4, 4, 2]) },
  { name: 'ConvTranspose', cls: nn.ConvTranspose, props: () => ({ features: 2, kernelSize: [3], strides: [2] }), fields: ['features', 'kernelSize', 'strides', 'padding', 'kernelDilation', 'mask', 'transposeKernel', 'dtype'], input: () => jnp.ones([1, 4, 2]) },
  { name: 'ConvLocal', cls: nn.ConvLocal, props: () => ({ features: 2, kernelSize: [2], padding: 'VALID' }), fields: ['features', 'kernelSize', 'strides', 'padding', 'kernelDilation', 'mask', 'biasInit'], input: () => jnp.ones([1, 4, 2]) },
  { name: 'LayerNorm', cls: nn.LayerNorm, props: () => ({}), fields: ['epsilon', 'useBias', 'useScale', 'reductionAxes', 'featureAxes', 'scaleInit', 'dtype', 'paramDtype'], input: () => jnp.ones([2, 3]) },
  { name: 'RMSNorm', cls: nn.RMSNorm, props: () => ({}), fields: ['epsilon', 'useScale', 'reductionAxes', 'scaleInit', 'dtype', 'paramDtype'], input: () => jnp.ones([2, 3]) },
  { name: 'BatchNorm', cls: nn.BatchNorm, props: () => ({ useRunningAverage: true }), fields: ['useRunningAverage', 'axis', 'momentum', 'epsilon', 'useBias', 'useScale', 'scaleInit', 'biasInit', 'dtype', 'paramDtype', 'useFastVariance'], input: () => jnp.ones([2, 3]) },
  { name: 'GroupNorm', cls: nn.GroupNorm, props: () => ({ numGroups: 3 }), fields: ['numGroups', 'groupSize', 'epsilon', 'useBias', 'useScale', 'reductionAxes', 'scaleInit', 'dtype', 'paramDtype'], input: () => jnp.ones([2, 3]) },
  { name: 'InstanceNorm', cls: nn.InstanceNorm, props: () => ({}), fields: ['epsilon', 'useBias', 'useScale', 'featureAxes', 'scaleInit', 'biasInit', 'dtype', 'paramDtype'], input: () => jnp.ones([2, 3]) },
  { name: 'Dense (bfloat16)', cls: nn.Dense, props: () => ({ features: 4, dtype: 'bfloat16', paramDtype: 'bfloat16' }), fields: ['features', 'dtype', 'paramDtype'], input: () => jnp.ones([2, 3], 'float16') },
  { name: 'Dropout', cls: nn.Dropout, props: () => ({ rate: 0.5, deterministic: false }), fields: ['rate', 'broadcastDims', 'deterministic', 'rngCollection'], input: () => jnp.ones([2, 3]) },
  { name: 'PReLU', cls: nn.PReLU, props: () => ({}), fields: ['negativeSlopeInit', 'paramDtype'], input: () => jnp.ones([2, 3]) },
  { name: 'MultiHeadDotProductAttention', cls: nn.MultiHeadDotProductAttention, props: () => ({ numHeads: 2, decode: true }), fields: ['numHeads', 'qkvFeatures', 'outFeatures', 'dropoutRate', 'deterministic', 'kernelInit', 'useBias', 'decode', 'normalizeQk', 'dtype', 'paramDtype'], input: () => jnp.ones([2, 3, 4]) },
]

const LAYER_BAD_LABELS = new Set(['undefined', 'null', 'NaN', '0.5', '-1', '2**31', "'abc'", 'Symbol', 'shape [1e6,1e6]', 'new Array(2**32-1)', 'cyclic object', 'fn returning 42', 'disposed tensor', 'bfloat16 tensor', "'bfloat16'"])
const LAYER_BAD = process.env.BAD_INPUT_LONG === '1' ? BAD : BAD.filter((b) => LAYER_BAD_LABELS.has(b.label))

/** Each prop of a layer replaced by a bad value, plus bad init/apply arguments. */
function layerCalls(c: LayerCase): Call[] {
  const BAD = LAYER_BAD
  const calls: Call[] = []
  const rngs = () => ({ params: random.key(0), dropout: random.key(1) })
  const run = (props: unknown, key: unknown, x: unknown, variables?: unknown): unknown => {
    const m = new c.cls(props)
    const v = variables ?? m.init(key, x)
    return m.applyWith(v, { rngs: rngs() }, x)
  }
  for (const p of c.fields) {
    for (const b of BAD) {
      calls.push({
        name: `nn.${c.name}({ ${p} })`,
        args: b.label,
        run: () => run({ ...(c.props() as object), [p]: b.make() }, rngs(), c.input()),
      })
    }
  }
  for (const b of BAD) {
    calls.push({ name: `nn.${c.name}.init(key)`, args: b.label, run: () => new c.cls(c.props()).init(b.make(), c.input()) })
    calls.push({ name: `nn.${c.name}.init(x)`, args: b.label, run: () => new c.cls(c.props()).init(rngs(), b.make()) })
    calls.push({ name: `nn.${c.name}.lazyInit(key)`, args: b.label, run: () => new c.cls(c.props()).lazyInit(b.make(), c.input()) })
    calls.push({ name: `nn.${c.name}.lazyInit(x)`, args: b.label, run: () => new c.cls(c.props()).lazyInit(rngs(), b.make()) })
    calls.push({ name: `nn.${c.name}.apply(variables)`, args: b.label, run: () => new c.cls(c.props()).apply(b.make(), c.input()) })
    calls.push({ name: `nn.${c.name}.apply(x)`, args: b.label, run: () => run(c.props(), rngs(), b.make()) })
  }
  return calls
}

/** Tensor methods and accessors, with bad arguments and with a `this` that is not a tensor. */
function tensorCalls(): Call[] {
  const calls: Call[] = []
  const methods: [string, (x: Tensor, v: unknown) => unknown][] = [
    ['reshape', (x, v) => x.reshape(v as number[])],
    ['astype', (x, v) => x.astype(v as any)],
    ['item', (x) => x.item()],
    ['toArray', (x) => x.toArray()],
    ['data', (x) => x.data],
    ['shape', (x) => x.shape],
    ['dtype', (x) => x.dtype],
    ['size', (x) => x.size],
    ['blockUntilReady', (x) => x.blockUntilReady()],
    ['toString', (x) => x.toString()],
    ['Number(x)', (x) => Number(x)],
    ['dispose', (x) => x.dispose()],
  ]
  const proto = Tensor.prototype as any
  for (const [m, f] of methods) {
    for (const b of BAD) calls.push({ name: `Tensor.${m}`, args: b.label, run: () => f(x23(), b.make()) })
    calls.push({ name: `Tensor.${m}`, args: 'disposed this', run: () => f(disposed(), [3, 2]) })
    for (const b of [...BAD.slice(0, 3), { label: '{}', make: () => ({}) }, { label: 'fake tensor', make: () => Object.create(proto) }]) {
      calls.push({
        name: `Tensor.prototype.${m}.call`,
        args: b.label,
        run: () => {
          const d = Object.getOwnPropertyDescriptor(proto, m)
          if (d?.get) return d.get.call(b.make())
          if (typeof d?.value === 'function') return d.value.call(b.make(), [3, 2])
          return f(b.make() as Tensor, [3, 2])
        },
      })
    }
  }
  return calls
}

interface Call {
  name: string
  args: string
  run: () => unknown
}

function substitutions(e: Entry): Call[] {
  const calls: Call[] = []
  const n = Math.max((e.baseline() as unknown[]).length, 1)
  for (let p = 0; p < n; p++) {
    for (const b of BAD) {
      calls.push({
        name: e.name,
        args: `arg ${p} = ${b.label}`,
        run: () => {
          const args = [...(e.baseline() as unknown[])]
          args[p] = b.make()
          return e.fn(...args)
        },
      })
    }
  }
  // The baseline itself must work: a matrix of failures against a broken baseline tests little.
  calls.push({ name: e.name, args: 'baseline', run: () => e.fn(...(e.baseline() as unknown[])) })
  return calls
}

/** mulberry32: a small seeded generator, so a failing random mix can be replayed. */
function rng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let r = Math.imul(a ^ (a >>> 15), 1 | a)
    r = (r + Math.imul(r ^ (r >>> 7), 61 | r)) ^ r
    return ((r ^ (r >>> 14)) >>> 0) / 4294967296
  }
}

function randomMixes(entries: Entry[], count: number, seed: number): Call[] {
  const next = rng(seed)
  const pool = [...GOOD, ...BAD]
  const calls: Call[] = []
  for (let i = 0; i < count; i++) {
    const e = entries[Math.floor(next() * entries.length)]
    const n = 1 + Math.floor(next() * 4)
    const picks = Array.from({ length: n }, () => pool[Math.floor(next() * pool.length)])
    calls.push({ name: e.name, args: `mix ${picks.map((s) => s.label).join(', ')}`, run: () => e.fn(...picks.map((s) => s.make())) })
  }
  return calls
}

// ---- running ---------------------------------------------------------------------------------

function release(x: unknown, depth = 0): void {
  if (depth > 3) return
  if (x instanceof Tensor) x.dispose()
  else if (Array.isArray(x)) for (const y of x) release(y, depth + 1)
}

interface Failure {
  name: string
  args: string
  error: string
}

function main(): void {
  const entries: Entry[] = [
    ...namespaceEntries('jnp', jnp as any),
    ...namespaceEntries('lax', lax as any),
    ...namespaceEntries('random', random as any),
    { name: 'random.Key.fromWords', fn: random.Key.fromWords, baseline: BASELINES['random.Key.fromWords'] },
    ...namespaceEntries('tree', tree as any),
    ...namespaceEntries('linalg', linalg as any),
    ...namespaceEntries('serialization', flaxen.serialization as any),
    ...namespaceEntries('traverseUtil', flaxen.traverseUtil as any),
    // saveFile's path stays the temp one: any string is a path it may write (bad strings would
    // create files in the working directory).
    ...namespaceEntries('safetensors', { ...flaxen.safetensors, saveFile: (tree: any, _path: unknown, meta: any) => flaxen.safetensors.saveFile(tree, WEIGHTS.out, meta) } as any),
    { name: 'setMaxBytes', fn: flaxen.setMaxBytes, baseline: BASELINES.setMaxBytes },
    { name: 'getMaxBytes', fn: flaxen.getMaxBytes, baseline: BASELINES.getMaxBytes },
    { name: 'evalShape', fn: flaxen.evalShape, baseline: BASELINES.evalShape },
    { name: 'ShapeDtypeStruct', fn: (...a: unknown[]) => new (flaxen.ShapeDtypeStruct as any)(...a), baseline: BASELINES.ShapeDtypeStruct },
    { name: 'jit', fn: flaxen.jit, baseline: BASELINES.jit },
    { name: 'jit(...)', fn: flaxen.jit((a: Tensor, b?: unknown) => jnp.add(a, jnp.sum(a)), { staticArgnums: 1 }), baseline: BASELINES['jit(...)'] },
    { name: 'nn.initializers.computeFans', fn: nn.initializers.computeFans, baseline: BASELINES['nn.initializers.computeFans'] },
  ]
  const inits = nn.initializers as Record<string, any>
  for (const [name, args] of Object.entries(INIT_BUILDERS)) {
    entries.push({ name: `nn.initializers.${name}`, fn: inits[name], baseline: args })
    // The built initializer, called with (key, shape, dtype).
    const shape = name === 'deltaOrthogonal' ? [3, 2, 2] : [2, 3]
    entries.push({ name: `nn.initializers.${name}(...)(key, shape)`, fn: (...a: unknown[]) => inits[name](...(args() as unknown[]))(...a), baseline: () => [k(), shape, 'float32'] })
  }
  for (const name of ['zeros', 'ones']) entries.push({ name: `nn.initializers.${name}`, fn: inits[name], baseline: () => [k(), [2, 3], 'float32'] })

  const calls: Call[] = [...entries.flatMap(substitutions), ...LAYERS.flatMap(layerCalls), ...tensorCalls()]
  const extra = Number(process.env.BAD_INPUT_RANDOM ?? 0)
  if (extra > 0) calls.push(...randomMixes(entries, extra, Number(process.env.BAD_INPUT_SEED ?? 1)))

  const cap = flaxen.getMaxBytes()
  const byCode: Record<string, number> = {}
  const uncoded: Failure[] = []
  const baselineFailures: Failure[] = []
  let returned = 0
  let slowest = { ms: 0, name: '', args: '' }
  const started = Date.now()
  const msByGroup: Record<string, number> = {}
  const trace = process.env.BAD_INPUT_TRACE === '1'
  for (const c of calls) {
    // With BAD_INPUT_TRACE=1 each call is named on stderr before it runs: the last line of a
    // run that hung or crashed is the culprit.
    if (trace) process.stderr.write(`${c.name} ${c.args}\n`)
    const t0 = performance.now()
    try {
      release(c.run())
      returned++
    } catch (e) {
      const code = (e as { code?: unknown })?.code
      if (c.args === 'baseline') baselineFailures.push({ name: c.name, args: c.args, error: String((e as Error)?.message ?? e) })
      else if (e instanceof Error && typeof code === 'string' && code.length > 0) byCode[code] = (byCode[code] ?? 0) + 1
      else {
        const f = { name: c.name, args: c.args, error: e instanceof Error ? `${e.name}: ${e.message.slice(0, 160)}` : `non-Error thrown: ${typeof e}` }
        uncoded.push(f)
      }
    } finally {
      // setMaxBytes cases may have changed the cap: every call starts from the same one.
      flaxen.setMaxBytes(cap)
    }
    const ms = performance.now() - t0
    const group = c.name.split(/[.(]/).slice(0, 2).join('.')
    msByGroup[group] = (msByGroup[group] ?? 0) + ms
    if (ms > slowest.ms) slowest = { ms: Math.round(ms), name: c.name, args: c.args }
  }
  const report = {
    entryPoints: new Set(calls.map((c) => c.name.replace(/\(.*$/, ''))).size,
    calls: calls.length,
    returned,
    coded: Object.values(byCode).reduce((a, b) => a + b, 0),
    byCode,
    uncoded,
    baselineFailures,
    slowest,
    slowestGroups: Object.entries(msByGroup).sort((a, b) => b[1] - a[1]).slice(0, 8).map(([g, ms]) => `${g} ${Math.round(ms)} ms`),
    totalMs: Date.now() - started,
  }
  process.stdout.write(JSON.stringify(report))
}

main()
