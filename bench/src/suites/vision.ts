// Whole models (vision-models.ts: ResNet-18, the mnist CNN) and single convolution layers at
// ResNet / MobileNet shapes, batch 1, in GFLOP/s (2 · output elements · window · input
// features per group / time), and ResNet's max pool (window elements / time). flaxen runs `lax.convGeneralDilated` in
// Flax's layout (NHWC input, HWIO kernel); onnxruntime runs a Conv node in its own layout (NCHW,
// OIHW kernel as an initializer, as an exported model has it) with the same padding, strides and
// groups. The FMA peak of this machine class is 227 GFLOP/s per core (AVX-512, 2 FMA/cycle).
import { jnp, lax, nn } from 'flaxen'
import { fill } from '../inputs'
import { FLAXEN, ORT, oneAndMax, ortImpl, syncImpl, type Case, type Ctx, type Suite } from '../suite'
import { modelCases } from './vision-models'

interface ConvLayer {
  id: string
  label: string
  /** Input height = width, input features, output features, window, stride, feature groups. */
  hw: number
  cin: number
  cout: number
  k: number
  stride: number
  groups: number
}

const LAYERS: ConvLayer[] = [
  { id: 'stem7x7', label: '7×7/2 3→64 at 224² (ResNet stem)', hw: 224, cin: 3, cout: 64, k: 7, stride: 2, groups: 1 },
  { id: 'conv3x3', label: '3×3 64→64 at 56² (ResNet stage 1)', hw: 56, cin: 64, cout: 64, k: 3, stride: 1, groups: 1 },
  { id: 'conv1x1', label: '1×1 256→64 at 56² (bottleneck)', hw: 56, cin: 256, cout: 64, k: 1, stride: 1, groups: 1 },
  { id: 'dw3x3', label: 'depthwise 3×3 ×32 at 112² (MobileNet)', hw: 112, cin: 32, cout: 32, k: 3, stride: 1, groups: 32 },
]

function convCase(ctx: Ctx, l: ConvLayer): Case {
  const pad = Math.floor((l.k - 1) / 2)
  const out = Math.floor((l.hw + 2 * pad - l.k) / l.stride) + 1
  const flops = 2 * out * out * l.cout * l.k * l.k * (l.cin / l.groups)
  const xData = () => fill(l.hw * l.hw * l.cin)
  const wData = () => fill(l.k * l.k * (l.cin / l.groups) * l.cout, 1, 0.05)
  return {
    id: `conv-${l.id}`,
    label: l.label,
    params: { hw: l.hw, cin: l.cin, cout: l.cout, window: l.k, stride: l.stride, groups: l.groups, flops },
    toValue: (ns) => flops / ns,
    impls: [
      syncImpl('flaxen', ctx, () => {
        const x = jnp.reshape(jnp.array(xData()), [1, l.hw, l.hw, l.cin])
        const w = jnp.reshape(jnp.array(wData()), [l.k, l.k, l.cin / l.groups, l.cout])
        const run = () =>
          lax.convGeneralDilated(x, w, [l.stride, l.stride], [[pad, pad], [pad, pad]], { dimensionNumbers: ['NHWC', 'HWIO', 'NHWC'], featureGroupCount: l.groups }).dispose()
        return { fn: run, dispose: () => (x.dispose(), w.dispose()) }
      }),
      ortImpl(
        ctx,
        {
          inputs: [{ name: 'x', shape: [1, l.cin, l.hw, l.hw] }],
          outputs: [{ name: 'y', shape: [1, l.cout, out, out] }],
          initializers: [{ name: 'w', shape: [l.cout, l.cin / l.groups, l.k, l.k], data: wData() }],
          nodes: [{ op: 'Conv', inputs: ['x', 'w'], outputs: ['y'], ints: { group: l.groups }, intLists: { pads: [pad, pad, pad, pad], strides: [l.stride, l.stride], kernel_shape: [l.k, l.k] } }],
        },
        () => ({ x: xData() }),
      ),
    ],
  }
}

/** ResNet's max pool (3×3, stride 2, SAME) after the stem: 112² × 64 → 56² × 64. */
function maxPoolCase(ctx: Ctx): Case {
  const [hw, c, out] = [112, 64, 56]
  // SAME at stride 2: one row and column of padding, at the end.
  const ops = out * out * c * 9
  const data = () => fill(hw * hw * c)
  return {
    id: 'maxpool3x3s2',
    label: 'max pool 3×3/2 SAME, 112²×64 (ResNet)',
    params: { hw, c, window: 3, stride: 2, ops },
    toValue: (ns) => ops / ns,
    impls: [
      syncImpl('flaxen', ctx, () => {
        const x = jnp.reshape(jnp.array(data()), [1, hw, hw, c])
        return { fn: () => nn.maxPool(x, [3, 3], { strides: [2, 2], padding: 'SAME' }).dispose(), dispose: () => x.dispose() }
      }),
      ortImpl(
        ctx,
        {
          inputs: [{ name: 'x', shape: [1, c, hw, hw] }],
          outputs: [{ name: 'y', shape: [1, c, out, out] }],
          nodes: [{ op: 'MaxPool', inputs: ['x'], outputs: ['y'], intLists: { kernel_shape: [3, 3], strides: [2, 2], pads: [0, 0, 1, 1] } }],
        },
        () => ({ x: data() }),
      ),
    ],
    notes: ['max pool: one comparison per window element counted as one operation (G op/s in the GFLOP/s column).'],
  }
}

export const vision: Suite = {
  name: 'vision',
  title: 'vision models, convolution and pooling layers, float32',
  unit: 'GFLOP/s',
  higherIsBetter: true,
  primary: 'flaxen',
  columns: [FLAXEN, { key: 'ort', label: `${ORT.label} (NCHW)` }],
  method:
    'Models: GFLOP/s = 2 · the convolutions\' and Dense layers\' MACs / median time per batch; flaxen runs the example model (examples/resnet.ts, examples/mnist-cnn.ts) under jit in eval mode, onnxruntime the same function and weights as an ONNX graph (BatchNorm folded). Layers: 2 · output elements · window · input features per group / median time per call (the direct convolution\'s count: Winograd\'s 3×3 layers do 2.25–4× fewer multiply-adds, so their figure can pass the FMA peak), outputs allocated per call; flaxen: lax.convGeneralDilated on NHWC / HWIO; onnxruntime: one Conv (MaxPool) node on NCHW, a kernel as an initializer. FMA peak here: 227 GFLOP/s per core.',
  threads: oneAndMax,
  cases: (ctx) => [...modelCases(ctx), ...(ctx.quick ? LAYERS.slice(1, 3) : LAYERS).map((l) => convCase(ctx, l)), maxPoolCase(ctx)],
}
