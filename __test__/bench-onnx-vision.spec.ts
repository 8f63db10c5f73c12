// The benchmark's ONNX graphs of Flax's mnist CNN and imagenet ResNet (bench/src/onnx-vision.ts),
// built from small random Flax-layout variables and checked against the models computed here
// with flaxen's own ops in Flax's layout (lax.convGeneralDilated on NHWC / HWIO with 'SAME'
// padding, nn.avgPool / nn.maxPool, BatchNorm as jnp ops), within 1e-4:
//   - always: each graph evaluated by a small interpreter of its ONNX nodes written with flaxen
//     ops in ONNX's own layout (NCHW / OIHW Conv, explicit pads, Gemm...), so weights, pads,
//     the flatten order and the BatchNorm folding are checked without onnxruntime;
//   - when onnxruntime-node is installed in bench/peers (`npm run bench:peers`; it is never a
//     test dependency, so these tests are skipped without it): the serialised model run by ort.
// Checked once by hand against real Flax 0.12.8 / JAX 0.10.2 (the example's ResNet and CNN, eval
// mode, run by onnxruntime-node): max |diff| about 1e-6, see the commit adding this file.
import test, { type ExecutionContext } from 'ava'
import { jnp, lax, nn, type Tensor } from '../ts/index'
import { mnistCnnGraph, mnistCnnOnnx, resnetGraph, resnetOnnx, samePads, type Leaf, type ResNetOptions, type VariableTree } from '../bench/src/onnx-vision'
import type { OnnxGraph } from '../bench/src/onnx-model'
import { detectOrt, loadOrt } from '../bench/src/ort-peer'

const TOL = 1e-4

/** mulberry32: reproducible uniforms in [-1, 1). */
function rng(seed: number) {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 31 - 1
  }
}

type Rand = () => number
const leaf = (r: Rand, shape: number[], scale: number, offset = 0): Leaf => {
  const data = new Float32Array(shape.reduce((a, b) => a * b, 1))
  for (let i = 0; i < data.length; i++) data[i] = offset + scale * r()
  return { shape, data }
}
/** He-like scale so activations stay O(1) through the network. */
const kernel = (r: Rand, kh: number, kw: number, ci: number, co: number) => leaf(r, [kh, kw, ci, co], Math.sqrt(3 / (kh * kw * ci)))

// ---------------------------------------------------------------------------------------------
// Variables as Flax's init lays them out (random values, BatchNorm stats away from 0 / 1).

interface Tree {
  [k: string]: Tree | Leaf
}

function mnistParams(r: Rand, [, h, w, c]: number[]): Tree {
  const flat = Math.floor(Math.floor(h / 2) / 2) * Math.floor(Math.floor(w / 2) / 2) * 64
  return {
    Conv_0: { kernel: kernel(r, 3, 3, c, 32), bias: leaf(r, [32], 0.1) },
    Conv_1: { kernel: kernel(r, 3, 3, 32, 64), bias: leaf(r, [64], 0.1) },
    Dense_0: { kernel: leaf(r, [flat, 256], Math.sqrt(3 / flat)), bias: leaf(r, [256], 0.1) },
    Dense_1: { kernel: leaf(r, [256, 10], Math.sqrt(3 / 256)), bias: leaf(r, [10], 0.1) },
  }
}

function resnetVariables(r: Rand, o: ResNetOptions, cin: number, hw: [number, number]): { params: Tree; batch_stats: Tree } {
  const params: Tree = {}
  const stats: Tree = {}
  const f = o.numFilters ?? 64
  const bn = (ps: Tree, ss: Tree, name: string, c: number) => {
    ps[name] = { scale: leaf(r, [c], 0.5, 1), bias: leaf(r, [c], 0.2) }
    ss[name] = { mean: leaf(r, [c], 0.2), var: leaf(r, [c], 0.4, 1) }
  }
  params.conv_init = { kernel: kernel(r, 7, 7, cin, f) }
  bn(params, stats, 'bn_init', f)
  let [h, w] = hw.map((n) => Math.ceil(Math.ceil(n / 2) / 2))
  let c = f
  let index = 0
  o.stageSizes.forEach((size, i) => {
    for (let j = 0; j < size; j++) {
      const stride = i > 0 && j === 0 ? 2 : 1
      const filters = f * 2 ** i
      const name = `${o.block === 'basic' ? 'ResNetBlock' : 'BottleneckResNetBlock'}_${index++}`
      const [p, s]: [Tree, Tree] = [{}, {}]
      const convs = o.block === 'basic' ? [[3, c, filters], [3, filters, filters]] : [[1, c, filters], [3, filters, filters], [1, filters, 4 * filters]]
      convs.forEach(([k, ci, co], n) => {
        p[`Conv_${n}`] = { kernel: kernel(r, k, k, ci, co) }
        bn(p, s, `BatchNorm_${n}`, co)
      })
      const out = convs[convs.length - 1][2]
      const [oh, ow] = [Math.ceil(h / stride), Math.ceil(w / stride)]
      if (out !== c || oh !== h || ow !== w) {
        p.conv_proj = { kernel: kernel(r, 1, 1, c, out) }
        bn(p, s, 'norm_proj', out)
      }
      params[name] = p
      stats[name] = s
      ;[h, w, c] = [oh, ow, out]
    }
  })
  params.Dense_0 = { kernel: leaf(r, [c, o.numClasses], Math.sqrt(3 / c)), bias: leaf(r, [o.numClasses], 0.1) }
  return { params, batch_stats: stats }
}

// ---------------------------------------------------------------------------------------------
// The references: Flax's models in Flax's layout, with flaxen's ops.

const T = (l: Leaf): Tensor => jnp.reshape(jnp.array(Float32Array.from(l.data)), [...l.shape])
const at = (tree: Tree, path: string): Tree => path.split('/').reduce((t, k) => t[k] as Tree, tree)
const get = (tree: Tree, path: string, name: string): Tensor => T(at(tree, path)[name] as Leaf)

const conv = (x: Tensor, k: Tensor, stride: number, padding: 'SAME' | [number, number][]) =>
  lax.convGeneralDilated(x, k, [stride, stride], padding, { dimensionNumbers: ['NHWC', 'HWIO', 'NHWC'] })

/** Flax's BatchNorm with use_running_average: (x − mean) · (scale · rsqrt(var + eps)) + bias. */
const batchNorm = (x: Tensor, v: { params: Tree; batch_stats: Tree }, path: string) =>
  jnp.add(
    jnp.multiply(jnp.subtract(x, get(v.batch_stats, path, 'mean')), jnp.multiply(get(v.params, path, 'scale'), jnp.rsqrt(jnp.add(get(v.batch_stats, path, 'var'), 1e-5)))),
    get(v.params, path, 'bias'),
  )

const dense = (x: Tensor, p: Tree, path: string) => jnp.add(jnp.matmul(x, get(p, path, 'kernel')), get(p, path, 'bias'))

function mnistRef(p: Tree, x: Tensor): Tensor {
  for (const path of ['Conv_0', 'Conv_1']) x = nn.avgPool(jnp.relu(jnp.add(conv(x, get(p, path, 'kernel'), 1, 'SAME'), get(p, path, 'bias'))), [2, 2], { strides: [2, 2] })
  x = jnp.reshape(x, [x.shape[0], x.size / x.shape[0]])
  return dense(jnp.relu(dense(x, p, 'Dense_0')), p, 'Dense_1')
}

function resnetRef(v: { params: Tree; batch_stats: Tree }, o: ResNetOptions, x: Tensor): Tensor {
  const cbn = (x: Tensor, c: string, n: string, stride: number, padding: 'SAME' | [number, number][] = 'SAME') => batchNorm(conv(x, get(v.params, c, 'kernel'), stride, padding), v, n)
  x = jnp.relu(cbn(x, 'conv_init', 'bn_init', 2, [[3, 3], [3, 3]]))
  x = nn.maxPool(x, [3, 3], { strides: [2, 2], padding: 'SAME' })
  let index = 0
  o.stageSizes.forEach((size, i) => {
    for (let j = 0; j < size; j++) {
      const s = i > 0 && j === 0 ? 2 : 1
      const m = `${o.block === 'basic' ? 'ResNetBlock' : 'BottleneckResNetBlock'}_${index++}`
      let y =
        o.block === 'basic'
          ? cbn(jnp.relu(cbn(x, `${m}/Conv_0`, `${m}/BatchNorm_0`, s)), `${m}/Conv_1`, `${m}/BatchNorm_1`, 1)
          : cbn(jnp.relu(cbn(jnp.relu(cbn(x, `${m}/Conv_0`, `${m}/BatchNorm_0`, 1)), `${m}/Conv_1`, `${m}/BatchNorm_1`, s)), `${m}/Conv_2`, `${m}/BatchNorm_2`, 1)
      const residual = x.shape.every((d, k) => d === y.shape[k]) ? x : cbn(x, `${m}/conv_proj`, `${m}/norm_proj`, s)
      x = jnp.relu(jnp.add(residual, y))
    }
  })
  return dense(jnp.mean(x, [1, 2]), v.params, 'Dense_0')
}

// ---------------------------------------------------------------------------------------------
// An interpreter of the graph's ONNX nodes (ONNX semantics, NCHW), with flaxen's ops.

function runGraph(g: OnnxGraph, x: Float32Array): Float32Array {
  return jnp.tidy(() => {
    const env = new Map<string, Tensor>()
    for (const i of g.initializers ?? []) env.set(i.name, jnp.reshape(jnp.array(i.data), i.shape))
    env.set('x', jnp.reshape(jnp.array(x), g.inputs[0].shape))
    const perChannel = (t: Tensor) => jnp.reshape(t, [1, t.size, 1, 1])
    const pool = (v: Tensor, n: (typeof g.nodes)[number], f: typeof nn.maxPool) => {
      const [k, s, p] = [n.intLists!.kernel_shape, n.intLists!.strides, n.intLists!.pads]
      const nhwc = f(jnp.transpose(v, [0, 2, 3, 1]), k, { strides: s, padding: [[p[0], p[2]], [p[1], p[3]]] })
      return jnp.transpose(nhwc, [0, 3, 1, 2])
    }
    for (const n of g.nodes) {
      const [a, b, c, d, e] = n.inputs.map((name) => env.get(name)!)
      let y: Tensor
      switch (n.op) {
        case 'Transpose':
          y = jnp.transpose(a, n.intLists!.perm)
          break
        case 'Conv': {
          const p = n.intLists!.pads
          y = lax.convGeneralDilated(a, b, n.intLists!.strides, [[p[0], p[2]], [p[1], p[3]]], { dimensionNumbers: ['NCHW', 'OIHW', 'NCHW'], featureGroupCount: n.ints!.group })
          if (c !== undefined) y = jnp.add(y, perChannel(c))
          break
        }
        case 'BatchNormalization':
          y = jnp.add(jnp.multiply(jnp.divide(jnp.subtract(a, perChannel(d)), jnp.sqrt(jnp.add(perChannel(e), 1e-5))), perChannel(b)), perChannel(c))
          break
        case 'Relu':
          y = jnp.relu(a)
          break
        case 'Add':
          y = jnp.add(a, b)
          break
        case 'MaxPool':
          y = pool(a, n, nn.maxPool)
          break
        case 'AveragePool':
          if (n.ints?.count_include_pad !== 1) throw new Error('AveragePool: expected count_include_pad 1')
          y = pool(a, n, nn.avgPool)
          break
        case 'GlobalAveragePool':
          y = jnp.mean(a, [2, 3], { keepdims: true })
          break
        case 'Flatten':
          if (n.ints!.axis !== 1) throw new Error('Flatten: expected axis 1')
          y = jnp.reshape(a, [a.shape[0], a.size / a.shape[0]])
          break
        case 'Gemm':
          y = jnp.add(jnp.matmul(a, b), c)
          break
        default:
          throw new Error(`no interpreter for ${n.op}`)
      }
      env.set(n.outputs[0], y)
    }
    const y = env.get('y')!
    if (JSON.stringify(y.shape) !== JSON.stringify(g.outputs[0].shape)) throw new Error(`output shape [${y.shape}] vs declared [${g.outputs[0].shape}]`)
    return Float32Array.from(y.data as Float32Array)
  })
}

const input = (shape: number[], seed: number) => leaf(rng(seed), shape, 1).data as Float32Array

function close(t: ExecutionContext, got: ArrayLike<number>, want: Float32Array, what: string): void {
  t.is(got.length, want.length, `${what}: length`)
  let worst = 0
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]))
  t.true(worst <= TOL, `${what}: max |diff| ${worst} > ${TOL}`)
  t.log(`${what}: max |diff| ${worst.toExponential(2)}`)
}

const ref = (f: () => Tensor): Float32Array =>
  jnp.tidy(() => {
    const y = f()
    return Float32Array.from(y.data as Float32Array)
  })

// ---------------------------------------------------------------------------------------------
// Cases.

const MNIST_SHAPE = [2, 28, 28, 1]
const mnist = mnistParams(rng(1), MNIST_SHAPE)

interface ResNetCase {
  label: string
  o: ResNetOptions
  shape: [number, number, number, number]
}
const RESNETS: ResNetCase[] = [
  { label: 'basic [1, 1], 8 filters, 2×32×32×3', o: { stageSizes: [1, 1], block: 'basic', numClasses: 10, numFilters: 8 }, shape: [2, 32, 32, 3] },
  { label: 'basic [2, 1, 1], 4 filters, 1×37×37×3 (odd sizes)', o: { stageSizes: [2, 1, 1], block: 'basic', numClasses: 6, numFilters: 4 }, shape: [1, 37, 37, 3] },
  { label: 'bottleneck [1, 2], 4 filters, 1×33×35×3 (odd, not square)', o: { stageSizes: [1, 2], block: 'bottleneck', numClasses: 5, numFilters: 4 }, shape: [1, 33, 35, 3] },
]
const resnets = RESNETS.map((c, i) => {
  const v = resnetVariables(rng(10 + i), c.o, c.shape[3], [c.shape[1], c.shape[2]])
  const x = input(c.shape, 20 + i)
  return { ...c, v, x, want: ref(() => resnetRef(v, c.o, jnp.reshape(jnp.array(x), c.shape))) }
})
const mnistX = input(MNIST_SHAPE, 2)
const mnistWant = ref(() => mnistRef(mnist, jnp.reshape(jnp.array(mnistX), MNIST_SHAPE)))

test('samePads is JAX padtype_to_pads (flaxen lax.padtypeToPads) for SAME', (t) => {
  for (let n = 1; n <= 20; n++)
    for (const k of [1, 2, 3, 5, 7])
      for (const s of [1, 2, 3]) t.deepEqual(samePads(n, k, s), lax.padtypeToPads([n], [k], [s], 'SAME')[0], `n ${n} window ${k} stride ${s}`)
  t.deepEqual(samePads(56, 3, 2), [0, 1]) // even input, stride 2: the padding is all at the end
  t.deepEqual(samePads(57, 3, 2), [1, 1])
})

test('mnist CNN graph: one Transpose to NCHW, OIHW kernels, explicit pads, Dense_0 rows in (c, h, w) order', (t) => {
  const g = mnistCnnGraph(mnist, { inputShape: MNIST_SHAPE as [number, number, number, number] })
  t.deepEqual(g.nodes.map((n) => n.op), ['Transpose', 'Conv', 'Relu', 'AveragePool', 'Conv', 'Relu', 'AveragePool', 'Flatten', 'Gemm', 'Relu', 'Gemm'])
  t.deepEqual(g.nodes[0].intLists, { perm: [0, 3, 1, 2] })
  t.deepEqual(g.nodes[1].intLists!.pads, [1, 1, 1, 1])
  t.deepEqual(g.inputs, [{ name: 'x', shape: [2, 28, 28, 1] }])
  t.deepEqual(g.outputs, [{ name: 'y', shape: [2, 10] }])
  const inits = new Map(g.initializers!.map((i) => [i.name, i]))
  t.deepEqual(inits.get('Conv_1/weight')!.shape, [64, 32, 3, 3])
  // OIHW[o][i][h][w] = HWIO[h][w][i][o]
  const [hwio, oihw] = [(at(mnist, 'Conv_1').kernel as Leaf).data, inits.get('Conv_1/weight')!.data]
  t.is(oihw[((5 * 32 + 7) * 3 + 2) * 3 + 1], hwio[((2 * 3 + 1) * 32 + 7) * 64 + 5])
  // Flax flattens (h, w, c) of a 7×7×64 map; the graph's Flatten gives (c, h, w).
  const [k0, d0] = [(at(mnist, 'Dense_0').kernel as Leaf).data, inits.get('Dense_0/kernel')!.data]
  t.is(d0[(11 * 49 + 3 * 7 + 4) * 256 + 9], k0[((3 * 7 + 4) * 64 + 11) * 256 + 9])
  t.is(mnistCnnOnnx({ params: mnist }, { inputShape: [2, 28, 28, 1] }).length, mnistCnnOnnx(mnist, { inputShape: [2, 28, 28, 1] }).length)
})

test('mnist CNN graph computes Flax CNN (ONNX nodes interpreted with flaxen ops, within 1e-4)', (t) => {
  close(t, runGraph(mnistCnnGraph(mnist, { inputShape: [2, 28, 28, 1] }), mnistX), mnistWant, 'mnist')
})

test('ResNet graph: stem pads 3, max pool and stride-2 convs padded as JAX SAME, BatchNorm folded by default', (t) => {
  const c = resnets[0]
  const g = resnetGraph(c.v, { ...c.o, inputShape: c.shape })
  const ops = g.nodes.map((n) => n.op)
  t.false(ops.includes('BatchNormalization'))
  t.is(ops.filter((o) => o === 'Transpose').length, 1)
  t.deepEqual(ops.slice(0, 4), ['Transpose', 'Conv', 'Relu', 'MaxPool'])
  t.deepEqual(ops.slice(-3), ['GlobalAveragePool', 'Flatten', 'Gemm'])
  const convs = g.nodes.filter((n) => n.op === 'Conv')
  t.is(convs.length, 1 + 2 + 3) // stem, block 0 (identity residual), block 1 (two convs + conv_proj)
  t.deepEqual(convs[0].intLists!.pads, [3, 3, 3, 3])
  t.deepEqual(convs[0].intLists!.strides, [2, 2])
  t.deepEqual(g.nodes[3].intLists, { kernel_shape: [3, 3], strides: [2, 2], pads: [0, 0, 1, 1] }) // 16² → 8²
  const s2 = convs.filter((n) => n.intLists!.strides[0] === 2 && n.intLists!.kernel_shape[0] === 3)
  t.deepEqual(s2.map((n) => n.intLists!.pads), [[0, 0, 1, 1]]) // 8² → 4²: lower 0, upper 1
  t.true(convs.every((n) => n.inputs.length === 3)) // the folded BatchNorm's shift is the bias
  const g2 = resnetGraph(c.v, { ...c.o, inputShape: c.shape, batchNorm: 'node' })
  t.is(g2.nodes.filter((n) => n.op === 'BatchNormalization').length, convs.length)
  t.true(g2.nodes.filter((n) => n.op === 'Conv').every((n) => n.inputs.length === 2))
})

test('ResNet graph rejects variables that do not fit the options', (t) => {
  const c = resnets[0]
  t.throws(() => resnetGraph(c.v, { ...c.o, stageSizes: [1, 1, 1], inputShape: c.shape }), { message: /ResNetBlock_2/ })
  t.throws(() => resnetGraph(c.v, { ...c.o, block: 'bottleneck', inputShape: c.shape }), { message: /BottleneckResNetBlock_0/ })
  t.throws(() => resnetGraph(c.v, { ...c.o, numClasses: 3, inputShape: c.shape }), { message: /Dense_0\/kernel has shape/ })
  t.throws(() => resnetGraph(c.v, { ...c.o, numFilters: 16, inputShape: c.shape }), { message: /numFilters/ })
  t.throws(() => resnetGraph(c.v, { ...c.o, inputShape: [2, 32, 32, 4] }), { message: /conv_init\/kernel has shape/ })
  t.throws(() => mnistCnnGraph(mnist, { inputShape: [1, 32, 32, 1] }), { message: /Dense_0\/kernel has shape/ })
})

for (const c of resnets) {
  for (const bn of ['fold', 'node'] as const) {
    test(`ResNet ${c.label}, BatchNorm ${bn}: the graph computes Flax's eval-mode ResNet (interpreted, within 1e-4)`, (t) => {
      close(t, runGraph(resnetGraph(c.v, { ...c.o, inputShape: c.shape, batchNorm: bn }), c.x), c.want, `${c.label} ${bn}`)
    })
  }
}

// ---------------------------------------------------------------------------------------------
// onnxruntime-node, when installed.

const ortInfo = detectOrt()
const ortTest = ortInfo.available ? test : test.skip

async function runOrt(model: Uint8Array, x: Float32Array, shape: readonly number[]): Promise<{ dims: readonly number[]; data: Float32Array }> {
  const ort = loadOrt(ortInfo.path!)
  const session = await ort.InferenceSession.create(model, { intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'all' })
  try {
    const out = await session.run({ x: new ort.Tensor('float32', x, shape) })
    return { dims: out.y.dims, data: out.y.data as Float32Array }
  } finally {
    await session.release()
  }
}

ortTest('onnxruntime: mnist CNN model equals Flax CNN within 1e-4', async (t) => {
  const y = await runOrt(mnistCnnOnnx(mnist, { inputShape: [2, 28, 28, 1] }), mnistX, MNIST_SHAPE)
  t.deepEqual([...y.dims], [2, 10])
  close(t, y.data, mnistWant, 'ort mnist')
})

for (const c of resnets) {
  for (const bn of ['fold', 'node'] as const) {
    ortTest(`onnxruntime: ResNet ${c.label}, BatchNorm ${bn}, equals Flax's eval-mode ResNet within 1e-4`, async (t) => {
      const y = await runOrt(resnetOnnx(c.v as unknown as VariableTree, { ...c.o, inputShape: c.shape, batchNorm: bn }), c.x, c.shape)
      t.deepEqual([...y.dims], [c.shape[0], c.o.numClasses])
      close(t, y.data, c.want, `ort ${c.label} ${bn}`)
    })
  }
}
