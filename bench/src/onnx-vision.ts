// ONNX graphs of two Flax vision models, built from the models' Flax variables, so that
// onnxruntime runs the same function with the same weights as flaxen:
//   - the CNN of Flax's mnist example (examples/mnist/train.py, `class CNN`),
//   - the ResNet V1 of Flax's imagenet example (examples/imagenet/models.py, `ResNet` with
//     `ResNetBlock` or `BottleneckResNetBlock`), in eval mode (BatchNorm on running averages).
//
// Variables: the Flax variables tree as plain nested objects, as `model.init` returns it
// ({ params: { Conv_0: { kernel, bias }, ... }, batch_stats: { ... } }). Each leaf is
// `{ shape: number[], data }` with `data` the float32 values in row-major (C) order: a
// Float32Array, a plain number array (what a JSON dump of `np.asarray(x).tolist()` flattened
// gives) or anything array-like. A float32 flaxen Tensor is such a leaf as it is (`.shape`,
// `.data`).
//
// Layout: the graph's input `x` is NHWC float32, as Flax and flaxen take it; the graph starts
// with one Transpose to NCHW (ort's Conv layout) and stays NCHW. Kernels are Flax's HWIO,
// written as OIHW initializers. Its output `y` is [N, classes] logits.
//
// Padding: Flax's 'SAME' is JAX's `padtype_to_pads` (out = ceil(n / stride), total =
// max((out - 1) * stride + window - n, 0), lower = total // 2, upper = the rest), which for a
// stride-2 window over an even size pads only at the end: not ONNX's symmetric pads, and not
// SAME_UPPER in general either. Every Conv / MaxPool gets its explicit `pads` from that formula
// at the size it sees (so the graph is for one input shape, given in the options).
//
// BatchNorm (eval: y = (x - mean) · scale / sqrt(var + eps) + bias, eps 1e-5) is folded into
// the preceding bias-free Conv by default, as a production ONNX export does (weights scaled
// per output channel, the shift becoming the Conv's bias); `batchNorm: 'node'` keeps ort's
// BatchNormalization nodes instead (its default epsilon is Flax's 1e-5).
import { onnxModel, type OnnxGraph, type OnnxNode } from './onnx-model'

/** A leaf of the variables tree: float32 values, row-major. */
export interface Leaf {
  readonly shape: readonly number[]
  readonly data: ArrayLike<number>
}

/** A Flax variables (or params) tree of plain nested objects. */
export interface VariableTree {
  readonly [name: string]: VariableTree | Leaf
}

export interface VisionOptions {
  /** The NHWC input shape the graph is built for. */
  inputShape?: readonly [number, number, number, number]
}

export interface ResNetOptions extends VisionOptions {
  stageSizes: readonly number[]
  block: 'basic' | 'bottleneck'
  numClasses: number
  /** Filters of the first stage (Flax's default 64). */
  numFilters?: number
  /** 'fold' (default): BatchNorm folded into the conv; 'node': ort BatchNormalization nodes. */
  batchNorm?: 'fold' | 'node'
}

const BN_EPS = 1e-5

/** JAX's `padtype_to_pads` for 'SAME' along one axis: [lower, upper]. */
export function samePads(n: number, window: number, stride: number): [number, number] {
  const out = Math.ceil(n / stride)
  const total = Math.max((out - 1) * stride + window - n, 0)
  const lower = Math.floor(total / 2)
  return [lower, total - lower]
}

const outSize = (n: number, window: number, stride: number, [lo, hi]: readonly [number, number]) => Math.floor((n + lo + hi - window) / stride) + 1

const isLeaf = (v: unknown): v is Leaf =>
  typeof v === 'object' && v !== null && 'shape' in v && 'data' in v && isShapeLike((v as Leaf).shape) && typeof (v as Leaf).data?.length === 'number'
function isShapeLike(s: unknown): boolean {
  return typeof s === 'object' && s !== null && typeof (s as ArrayLike<number>).length === 'number' && Array.from(s as ArrayLike<number>).every((d) => Number.isInteger(d) && d >= 0)
}

/** The subtree at `path` (names separated by '/'). */
function subtree(tree: VariableTree, path: string): VariableTree {
  let at: VariableTree | Leaf = tree
  for (const name of path.split('/')) {
    const next: VariableTree | Leaf | undefined = isLeaf(at) ? undefined : (at as VariableTree)[name]
    if (next === undefined || isLeaf(next)) throw new Error(`variables: no module ${JSON.stringify(path)} (missing ${JSON.stringify(name)})`)
    at = next
  }
  return at as VariableTree
}

const has = (tree: VariableTree, name: string): boolean => Object.prototype.hasOwnProperty.call(tree, name)

/** The leaf `tree[name]` as a Float32Array of the expected rank (and shape, where given). */
function leaf(tree: VariableTree, name: string, where: string, shape: (number | null)[]): { shape: number[]; data: Float32Array } {
  const v = tree[name]
  if (v === undefined || !isLeaf(v)) throw new Error(`variables: ${where}/${name} is missing or not a { shape, data } leaf`)
  const s = Array.from(v.shape)
  if (s.length !== shape.length || shape.some((d, i) => d !== null && d !== s[i])) {
    throw new Error(`variables: ${where}/${name} has shape [${s}], expected [${shape.map((d) => d ?? '*')}]`)
  }
  const n = s.reduce((a, b) => a * b, 1)
  const d = v.data
  if (d.length !== n) throw new Error(`variables: ${where}/${name} has ${d.length} values for shape [${s}]`)
  if (ArrayBuffer.isView(d) && !(d instanceof Float32Array || d instanceof Float64Array)) {
    throw new Error(`variables: ${where}/${name}: data must be float values (a Float32Array, Float64Array or number array), got ${d.constructor.name}`)
  }
  return { shape: s, data: d instanceof Float32Array ? d : Float32Array.from(d) }
}

/** HWIO (Flax) → OIHW (ONNX), each output channel scaled by `scale[o]` when given. */
function hwioToOihw(w: Float32Array, [kh, kw, ci, co]: number[], scale?: Float64Array): Float32Array {
  const out = new Float32Array(w.length)
  for (let h = 0; h < kh; h++)
    for (let x = 0; x < kw; x++)
      for (let i = 0; i < ci; i++)
        for (let o = 0; o < co; o++) {
          const v = w[((h * kw + x) * ci + i) * co + o]
          out[((o * ci + i) * kh + h) * kw + x] = scale === undefined ? v : v * scale[o]
        }
  return out
}

/** An activation in the graph: its value name and NCHW shape. */
interface Act {
  name: string
  n: number
  c: number
  h: number
  w: number
}

class Builder {
  readonly nodes: OnnxNode[] = []
  readonly initializers: NonNullable<OnnxGraph['initializers']> = []
  private count = 0

  constructor(readonly batchNorm: 'fold' | 'node' = 'fold') {}

  node(op: string, inputs: string[], attrs: Pick<OnnxNode, 'ints' | 'intLists'> = {}, output?: string): string {
    const out = output ?? `t${this.count++}`
    this.nodes.push({ op, inputs, outputs: [out], ...attrs })
    return out
  }

  init(name: string, shape: number[], data: Float32Array): string {
    this.initializers.push({ name, shape, data })
    return name
  }

  /** NHWC input `x` → NCHW. */
  input([n, h, w, c]: readonly number[]): Act {
    return { name: this.node('Transpose', ['x'], { intLists: { perm: [0, 3, 1, 2] } }), n, c, h, w }
  }

  /**
   * `nn.Conv(features, kernel, strides, padding)` of the module at `path` (`kernel`, and `bias`
   * when `useBias`), then, when `norm` is a module path, its eval-mode BatchNorm.
   */
  conv(
    x: Act,
    params: VariableTree,
    stats: VariableTree | null,
    path: string,
    o: { window: number; stride: number; padding: 'SAME' | [number, number]; useBias: boolean; norm?: string },
  ): Act {
    const mod = subtree(params, path)
    const k = leaf(mod, 'kernel', path, [o.window, o.window, x.c, null])
    const co = k.shape[3]
    const padH = o.padding === 'SAME' ? samePads(x.h, o.window, o.stride) : o.padding
    const padW = o.padding === 'SAME' ? samePads(x.w, o.window, o.stride) : o.padding
    let bias: Float32Array | null = o.useBias ? leaf(mod, 'bias', path, [co]).data : null
    let scale: Float64Array | undefined
    let bn: { scale: Float32Array; bias: Float32Array; mean: Float32Array; var: Float32Array } | null = null
    if (o.norm !== undefined) {
      if (stats === null) throw new Error(`variables: ${o.norm} needs batch_stats`)
      const p = subtree(params, o.norm)
      const s = subtree(stats, o.norm)
      bn = {
        scale: leaf(p, 'scale', `params/${o.norm}`, [co]).data,
        bias: leaf(p, 'bias', `params/${o.norm}`, [co]).data,
        mean: leaf(s, 'mean', `batch_stats/${o.norm}`, [co]).data,
        var: leaf(s, 'var', `batch_stats/${o.norm}`, [co]).data,
      }
    }
    const name = bn !== null && this.batchNorm === 'fold' ? `${path}+${o.norm!.split('/').pop()}` : path
    if (bn !== null && this.batchNorm === 'fold') {
      // y = conv(x, W)·m + (β − μ·m) with m = γ / sqrt(σ² + ε), per output channel; the conv
      // bias (none in this ResNet) would be scaled too.
      scale = new Float64Array(co)
      const b = new Float32Array(co)
      for (let c = 0; c < co; c++) {
        scale[c] = bn.scale[c] / Math.sqrt(bn.var[c] + BN_EPS)
        b[c] = bn.bias[c] - (bn.mean[c] - (bias === null ? 0 : bias[c])) * scale[c]
      }
      bias = b
    }
    const inputs = [x.name, this.init(`${name}/weight`, [co, x.c, o.window, o.window], hwioToOihw(k.data, k.shape, scale))]
    if (bias !== null) inputs.push(this.init(`${name}/bias`, [co], bias))
    let y = this.node('Conv', inputs, {
      ints: { group: 1 },
      intLists: { kernel_shape: [o.window, o.window], strides: [o.stride, o.stride], pads: [padH[0], padW[0], padH[1], padW[1]], dilations: [1, 1] },
    })
    if (bn !== null && this.batchNorm === 'node') {
      const p = o.norm!
      y = this.node('BatchNormalization', [
        y,
        this.init(`${p}/scale`, [co], bn.scale),
        this.init(`${p}/bias`, [co], bn.bias),
        this.init(`${p}/mean`, [co], bn.mean),
        this.init(`${p}/var`, [co], bn.var),
      ])
    }
    return { name: y, n: x.n, c: co, h: outSize(x.h, o.window, o.stride, padH), w: outSize(x.w, o.window, o.stride, padW) }
  }

  relu(x: Act): Act {
    return { ...x, name: this.node('Relu', [x.name]) }
  }

  add(a: Act, b: Act): Act {
    return { ...a, name: this.node('Add', [a.name, b.name]) }
  }

  /** `nn.max_pool` / `nn.avg_pool` (count_include_pad; only VALID is used with it here). */
  pool(op: 'MaxPool' | 'AveragePool', x: Act, window: number, stride: number, padding: 'SAME' | 'VALID'): Act {
    const padH: [number, number] = padding === 'SAME' ? samePads(x.h, window, stride) : [0, 0]
    const padW: [number, number] = padding === 'SAME' ? samePads(x.w, window, stride) : [0, 0]
    const name = this.node(op, [x.name], {
      ...(op === 'AveragePool' ? { ints: { count_include_pad: 1 } } : {}),
      intLists: { kernel_shape: [window, window], strides: [stride, stride], pads: [padH[0], padW[0], padH[1], padW[1]] },
    })
    return { name, n: x.n, c: x.c, h: outSize(x.h, window, stride, padH), w: outSize(x.w, window, stride, padW) }
  }

  /** `nn.Dense` on [N, K] → [N, features] as Gemm (kernel [K, features] as B, bias as C). */
  dense(x: string, k: { shape: number[]; data: Float32Array }, bias: Float32Array, path: string, output?: string): string {
    return this.node('Gemm', [x, this.init(`${path}/kernel`, k.shape, k.data), this.init(`${path}/bias`, [k.shape[1]], bias)], {}, output)
  }

  graph(inputShape: readonly number[], outputShape: number[]): OnnxGraph {
    return { inputs: [{ name: 'x', shape: [...inputShape] }], outputs: [{ name: 'y', shape: outputShape }], initializers: this.initializers, nodes: this.nodes }
  }
}

function checkInputShape(s: readonly number[], who: string): void {
  if (s.length !== 4 || s.some((d) => !Number.isInteger(d) || d < 1)) throw new Error(`${who}: inputShape must be [N, H, W, C] positive integers, got [${s}]`)
}

/** `{ params: {...} }` or the params collection itself. */
const paramsOf = (v: VariableTree, probe: string): VariableTree =>
  !has(v, probe) && has(v, 'params') && !isLeaf(v.params) ? (v.params as VariableTree) : v

/**
 * The graph of Flax's mnist CNN: Conv(32, 3×3, SAME) → relu → avg_pool 2×2/2 → Conv(64, 3×3) →
 * relu → avg_pool → flatten (NHWC order) → Dense(256) → relu → Dense(10). `params` is the params
 * collection (`Conv_0`, `Conv_1`, `Dense_0`, `Dense_1`, each `kernel` and `bias`) or a variables
 * tree holding it under `params`; feature counts come from the kernels. Input default
 * [1, 28, 28, 1].
 *
 * Flax flattens NHWC, the graph's activations are NCHW: rather than a second Transpose, the
 * rows of `Dense_0`'s kernel are permuted from (h, w, c) to (c, h, w) order, which is the same
 * function.
 */
export function mnistCnnGraph(params: VariableTree, options: VisionOptions = {}): OnnxGraph {
  const inputShape = options.inputShape ?? [1, 28, 28, 1]
  checkInputShape(inputShape, 'mnistCnnGraph')
  const p = paramsOf(params, 'Conv_0')
  const b = new Builder()
  let x = b.input(inputShape)
  for (const path of ['Conv_0', 'Conv_1']) {
    x = b.conv(x, p, null, path, { window: 3, stride: 1, padding: 'SAME', useBias: true })
    x = b.pool('AveragePool', b.relu(x), 2, 2, 'VALID')
  }
  const flat = b.node('Flatten', [x.name], { ints: { axis: 1 } })
  const { c, h, w } = x
  const k0 = leaf(subtree(p, 'Dense_0'), 'kernel', 'Dense_0', [c * h * w, null])
  const hidden = k0.shape[1]
  const rows = new Float32Array(k0.data.length)
  for (let ci = 0; ci < c; ci++)
    for (let hi = 0; hi < h; hi++)
      for (let wi = 0; wi < w; wi++) {
        const from = ((hi * w + wi) * c + ci) * hidden
        rows.set(k0.data.subarray(from, from + hidden), ((ci * h + hi) * w + wi) * hidden)
      }
  const h0 = b.dense(flat, { shape: k0.shape, data: rows }, leaf(subtree(p, 'Dense_0'), 'bias', 'Dense_0', [hidden]).data, 'Dense_0')
  const h1 = b.node('Relu', [h0])
  const k1 = leaf(subtree(p, 'Dense_1'), 'kernel', 'Dense_1', [hidden, null])
  b.dense(h1, k1, leaf(subtree(p, 'Dense_1'), 'bias', 'Dense_1', [k1.shape[1]]).data, 'Dense_1', 'y')
  return b.graph(inputShape, [inputShape[0], k1.shape[1]])
}

/** `mnistCnnGraph` serialised: the .onnx bytes. */
export const mnistCnnOnnx = (params: VariableTree, options: VisionOptions = {}): Uint8Array => onnxModel(mnistCnnGraph(params, options))

/**
 * The graph of Flax's imagenet ResNet V1 in eval mode (`model.apply(variables, x, train=False)`):
 * conv_init 7×7/2 (padding 3) + bn_init → relu → max_pool 3×3/2 SAME → blocks → mean over H, W
 * → Dense_0. `variables` is `{ params, batch_stats }`. Blocks are named as Flax names them
 * (`ResNetBlock_<i>` or `BottleneckResNetBlock_<i>`, counted across stages); the first block of
 * every stage after the first has stride 2, and a block projects its residual (`conv_proj` +
 * `norm_proj`) exactly when Flax's `residual.shape != y.shape`. Input default [1, 224, 224, 3].
 */
export function resnetGraph(variables: VariableTree, options: ResNetOptions): OnnxGraph {
  const { stageSizes, block, numClasses, numFilters = 64, batchNorm = 'fold' } = options
  const inputShape = options.inputShape ?? [1, 224, 224, 3]
  checkInputShape(inputShape, 'resnetGraph')
  if (block !== 'basic' && block !== 'bottleneck') throw new Error(`resnetGraph: block must be 'basic' or 'bottleneck', got ${JSON.stringify(block)}`)
  if (batchNorm !== 'fold' && batchNorm !== 'node') throw new Error(`resnetGraph: batchNorm must be 'fold' or 'node', got ${JSON.stringify(batchNorm)}`)
  const params = subtree(variables, 'params')
  const stats = subtree(variables, 'batch_stats')
  const b = new Builder(batchNorm)
  const conv = (x: Act, path: string, norm: string, window: number, stride: number, padding: 'SAME' | [number, number] = 'SAME') =>
    b.conv(x, params, stats, path, { window, stride, padding, useBias: false, norm })

  let x = b.input(inputShape)
  x = conv(x, 'conv_init', 'bn_init', 7, 2, [3, 3])
  if (x.c !== numFilters) throw new Error(`resnetGraph: conv_init has ${x.c} filters, numFilters is ${numFilters}`)
  x = b.pool('MaxPool', b.relu(x), 3, 2, 'SAME')
  const cls = block === 'basic' ? 'ResNetBlock' : 'BottleneckResNetBlock'
  let index = 0
  stageSizes.forEach((size, i) => {
    for (let j = 0; j < size; j++) {
      const stride = i > 0 && j === 0 ? 2 : 1
      const filters = numFilters * 2 ** i
      const m = `${cls}_${index++}`
      let y: Act
      if (block === 'basic') {
        y = b.relu(conv(x, `${m}/Conv_0`, `${m}/BatchNorm_0`, 3, stride))
        y = conv(y, `${m}/Conv_1`, `${m}/BatchNorm_1`, 3, 1)
      } else {
        y = b.relu(conv(x, `${m}/Conv_0`, `${m}/BatchNorm_0`, 1, 1))
        y = b.relu(conv(y, `${m}/Conv_1`, `${m}/BatchNorm_1`, 3, stride))
        y = conv(y, `${m}/Conv_2`, `${m}/BatchNorm_2`, 1, 1)
      }
      const want = block === 'basic' ? filters : filters * 4
      if (y.c !== want) throw new Error(`resnetGraph: ${m} outputs ${y.c} features, expected ${want}`)
      let residual = x
      const project = x.c !== y.c || x.h !== y.h || x.w !== y.w
      if (project !== has(subtree(params, m), 'conv_proj')) {
        throw new Error(`resnetGraph: ${m} ${project ? 'needs' : 'must not have'} conv_proj at input [${[x.n, x.h, x.w, x.c]}] (stage sizes or input shape differ from the variables')`)
      }
      if (project) residual = conv(x, `${m}/conv_proj`, `${m}/norm_proj`, 1, stride)
      x = b.relu(b.add(residual, y))
    }
  })
  const pooled = b.node('GlobalAveragePool', [x.name])
  const flat = b.node('Flatten', [pooled], { ints: { axis: 1 } })
  const dense = subtree(params, 'Dense_0')
  b.dense(flat, leaf(dense, 'kernel', 'Dense_0', [x.c, numClasses]), leaf(dense, 'bias', 'Dense_0', [numClasses]).data, 'Dense_0', 'y')
  return b.graph(inputShape, [inputShape[0], numClasses])
}

/** `resnetGraph` serialised: the .onnx bytes. */
export const resnetOnnx = (variables: VariableTree, options: ResNetOptions): Uint8Array => onnxModel(resnetGraph(variables, options))
