// Transformer pieces: causal self-attention alone (one batch entry, GPT-2-small's 12 heads of 64)
// at 128, 1024 and 4096 positions, in ms per call. flaxen's `nn.dotProductAttention` runs the
// fused kernel (blocked online softmax, masked blocks skipped); the naive column is the same
// function composed from jnp ops as Flax writes it (weights materialised, then einsum), and
// onnxruntime runs the same composition as a graph (MatMul, scale, additive causal mask,
// Softmax, MatMul) in its own [batch, heads, length, depth] layout, the keys given transposed.
import { jnp, nn, type Tensor } from 'flaxen'
import { fill } from '../inputs'
import type { OnnxGraph } from '../onnx-model'
import { FLAXEN, ORT, THREAD_NOTE, oneAndMax, ortImpl, syncImpl, type Case, type Ctx, type Suite } from '../suite'

const [H, D] = [12, 64]
const LENGTHS = [128, 1024, 4096]
const QUICK_LENGTHS = [128]

/** flaxen's operands, [1, L, H, D], and the causal mask [1, 1, L, L] (as makeCausalMask gives). */
function operands(l: number): { q: Tensor; k: Tensor; v: Tensor; mask: Tensor } {
  const t = (seed: number) => jnp.reshape(jnp.array(fill(l * H * D, seed, 0.5)), [1, l, H, D])
  return { q: t(1), k: t(2), v: t(3), mask: nn.makeCausalMask(jnp.ones([1, l])) }
}

function ortGraph(l: number): OnnxGraph {
  const mask = new Float32Array(l * l)
  for (let i = 0; i < l; i++) for (let j = i + 1; j < l; j++) mask[i * l + j] = -3.4028234663852886e38
  return {
    inputs: [{ name: 'q', shape: [1, H, l, D] }, { name: 'kt', shape: [1, H, D, l] }, { name: 'v', shape: [1, H, l, D] }],
    outputs: [{ name: 'y', shape: [1, H, l, D] }],
    initializers: [{ name: 'scale', shape: [1], data: Float32Array.of(1 / Math.sqrt(D)) }, { name: 'mask', shape: [l, l], data: mask }],
    nodes: [
      { op: 'MatMul', inputs: ['q', 'kt'], outputs: ['s'] },
      { op: 'Mul', inputs: ['s', 'scale'], outputs: ['s2'] },
      { op: 'Add', inputs: ['s2', 'mask'], outputs: ['s3'] },
      { op: 'Softmax', inputs: ['s3'], outputs: ['p'], ints: { axis: -1 } },
      { op: 'MatMul', inputs: ['p', 'v'], outputs: ['y'] },
    ],
  }
}

function attentionCase(ctx: Ctx, l: number): Case {
  const flops = 2 * 2 * H * l * l * D // q·kᵀ and p·v, unmasked
  const free = (o: ReturnType<typeof operands>) => () => Object.values(o).forEach((t) => t.dispose())
  return {
    id: `attention-${l}`,
    label: `attention, causal, ${l} positions`,
    params: { length: l, heads: H, depth: D, flops },
    toValue: (ns) => ns / 1e6,
    impls: [
      syncImpl('flaxen', ctx, () => {
        const o = operands(l)
        return { fn: () => nn.dotProductAttention(o.q, o.k, o.v, { mask: o.mask }).dispose(), dispose: free(o) }
      }),
      syncImpl('naive', ctx, () => {
        const o = operands(l)
        const naive = () => jnp.einsum('...hqk,...khd->...qhd', nn.dotProductAttentionWeights(o.q, o.k, { mask: o.mask }), o.v)
        return { fn: () => jnp.tidy(naive).dispose(), dispose: free(o) }
      }),
      ortImpl(ctx, ortGraph(l), () => ({ q: fill(l * H * D, 1, 0.5), kt: fill(l * H * D, 2, 0.5), v: fill(l * H * D, 3, 0.5) })),
    ],
  }
}

export const transformer: Suite = {
  name: 'transformer',
  title: `Causal self-attention, batch 1, ${H} heads × ${D}`,
  unit: 'ms',
  higherIsBetter: false,
  primary: 'flaxen',
  columns: [FLAXEN, { key: 'naive', label: 'flaxen jnp composition' }, ORT],
  method: `median time per call. flaxen = nn.dotProductAttention with a causal mask (fused kernel); jnp composition = dotProductAttentionWeights then einsum, as Flax computes it; onnxruntime = MatMul, Mul, Add (causal mask), Softmax, MatMul. ${THREAD_NOTE}`,
  threads: oneAndMax,
  cases: (ctx) => (ctx.quick ? QUICK_LENGTHS : LENGTHS).map((l) => attentionCase(ctx, l)),
}
