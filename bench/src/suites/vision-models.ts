// Whole vision models, in GFLOP/s of the model's convolutions and Dense layers (2 · MACs /
// time, so the figure compares with the FMA peak): Flax's imagenet ResNet-18 (224², batch 1
// and 8) and Flax's mnist CNN (28², batch 1 and 256), random weights from key(0), eval mode.
// flaxen runs the example model (examples/resnet.ts, examples/mnist-cnn.ts) under `jit`;
// onnxruntime runs the same function with the same weights as an ONNX graph built from those
// variables (onnx-vision.ts: BatchNorm folded into the convolutions, as an exported model has it).
import { mnistCnnGraph, resnetGraph } from '../onnx-vision'
import { fill } from '../inputs'
import { ortImpl, type Case, type Ctx, type Impl } from '../suite'
import { measure } from '../timing'

/** The example models through their own copy of the library (examples import ../ts). */
function examples(): { resnet: any; cnn: any; lib: any } {
  const api = require('tsx/cjs/api')
  const load = (p: string) => api.require(p, __filename)
  return { resnet: load('../../../examples/resnet.ts'), cnn: load('../../../examples/mnist-cnn.ts'), lib: load('../../../ts/index.ts') }
}

interface ModelRow {
  id: string
  label: string
  batch: number
  hw: number
  channels: number
  /** The flaxen model, from the examples module. */
  make: (ex: ReturnType<typeof examples>) => any
  /** init / apply's extra arguments after x (ResNet's `train`). */
  args: unknown[]
  graph: (variables: any, inputShape: [number, number, number, number]) => any
  macs: number
}

/** MACs of one ResNet-18 image at `hw`² (convolutions and the classifier). */
function resnet18Macs(hw: number, classes = 1000, f = 64): number {
  let s = Math.ceil(hw / 2)
  let macs = s * s * 49 * 3 * f
  s = Math.ceil(s / 2)
  let cin = f
  ;[2, 2, 2, 2].forEach((n, i) => {
    const filters = f * 2 ** i
    for (let j = 0; j < n; j++) {
      const stride = i > 0 && j === 0 ? 2 : 1
      const so = Math.ceil(s / stride)
      macs += so * so * 9 * (cin * filters + filters * filters)
      if (cin !== filters || stride !== 1) macs += so * so * cin * filters
      ;[s, cin] = [so, filters]
    }
  })
  return macs + cin * classes
}

const CNN_MACS = 28 * 28 * 9 * 32 + 14 * 14 * 9 * 32 * 64 + 7 * 7 * 64 * 256 + 256 * 10

const ROWS: ModelRow[] = [1, 8].map((batch) => ({
  id: `resnet18-b${batch}`,
  label: `ResNet-18, 224², batch ${batch}`,
  batch,
  hw: 224,
  channels: 3,
  make: (ex) => ex.resnet.ResNet18({ numClasses: 1000 }),
  args: [false],
  graph: (v, inputShape) => resnetGraph(v, { stageSizes: [2, 2, 2, 2], block: 'basic', numClasses: 1000, inputShape }),
  macs: batch * resnet18Macs(224),
}))
ROWS.push(
  ...[1, 256].map((batch) => ({
    id: `mnist-cnn-b${batch}`,
    label: `mnist CNN, 28², batch ${batch}`,
    batch,
    hw: 28,
    channels: 1,
    make: (ex: ReturnType<typeof examples>) => new ex.cnn.CNN(),
    args: [],
    graph: (v: any, inputShape: [number, number, number, number]) => mnistCnnGraph(v.params, { inputShape }),
    macs: batch * CNN_MACS,
  })),
)

/** The model's variables from key(0) (made once per row and worker: the ort graph needs them too). */
const variablesCache = new Map<string, any>()
function variablesOf(r: ModelRow): any {
  if (!variablesCache.has(r.id)) {
    const ex = examples()
    const x = ex.lib.jnp.zeros([1, r.hw, r.hw, r.channels])
    variablesCache.set(r.id, r.make(ex).init(ex.lib.random.key(0), x, ...r.args))
  }
  return variablesCache.get(r.id)
}

/** A copy of every tensor of `variables` (jnp.array copies). */
function copied(variables: any): any {
  const { lib } = examples()
  return lib.tree.map((t: any) => lib.jnp.array(t), variables)
}

function flaxenImpl(ctx: Ctx, r: ModelRow): Impl {
  return {
    key: 'flaxen',
    run: async () => {
      const ex = examples()
      const model = r.make(ex)
      const variables = variablesOf(r)
      // A new input per call, as requests bring: with the same input tensor every call, jit
      // would reuse its results (plan/reuse.rs) and the row would time almost nothing.
      const xs = [0, 1, 2].map((seed) => ex.lib.jnp.array(fill(r.batch * r.hw * r.hw * r.channels, seed)).reshape([r.batch, r.hw, r.hw, r.channels]))
      const f = ex.lib.jit((v: unknown, a: unknown) => model.apply(v, a, ...r.args))
      let i = 0
      try {
        return await measure(() => f(variables, xs[i++ % xs.length]).dispose(), ctx.timing)
      } finally {
        xs.forEach((x: any) => x.dispose())
      }
    },
  }
}

export function modelCases(ctx: Ctx): Case[] {
  const rows = ctx.quick ? ROWS.filter((r) => r.batch === 1) : ROWS
  return rows.map((r) => {
    const shape: [number, number, number, number] = [r.batch, r.hw, r.hw, r.channels]
    return {
      id: r.id,
      label: r.label,
      params: { batch: r.batch, hw: r.hw, flops: 2 * r.macs },
      toValue: (ns: number) => (2 * r.macs) / ns,
      // The graph needs the variables: build it only when ort is there to run it, and from
      // copies. Reading a tensor's `.data` exposes its storage to JS writes, after which jit
      // can no longer keep what it derived from it (Winograd kernels, BatchNorm folding): a
      // served model's weights are never read so, and the row must time that model.
      impls: [flaxenImpl(ctx, r), ortImpl(ctx, ctx.ort === null ? '' : r.graph(copied(variablesOf(r)), shape), () => ({ x: fill(r.batch * r.hw * r.hw * r.channels) }))],
    }
  })
}
