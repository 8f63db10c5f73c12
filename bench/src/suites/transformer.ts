// Transformers. GPT-2-small (12 layers, d = 768, 12 heads, vocab 50257; HF's FlaxGPT2 random
// weights from key 0, the same file for every implementation): a prefill of 128 tokens and one
// decode step on the KV cache at context 128 and 1024, batch 1, in tokens/s. flaxen runs
// examples/gpt2.ts's step under `jit` with the cache donated (written in place), with float32
// weights and with the weights stored as bfloat16 (read as they are, widened in the kernels);
// onnxruntime runs the PyTorch twin exported to ONNX (bench/python/gpt2_onnx.py).
//
// Then causal self-attention alone (one batch entry, GPT-2-small's 12 heads of 64)
// at 128, 1024 and 4096 positions, in ms per call. flaxen's `nn.dotProductAttention` runs the
// fused kernel (blocked online softmax, masked blocks skipped); the naive column is the same
// function composed from jnp ops as Flax writes it (weights materialised, then einsum), and
// onnxruntime runs the same composition as a graph (MatMul, scale, additive causal mask,
// Softmax, MatMul) in its own [batch, heads, length, depth] layout, the keys given transposed.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { jnp, nn, type Tensor } from 'flaxen'
import { fill } from '../inputs'
import type { OnnxGraph } from '../onnx-model'
import { FLAXEN, ORT, THREAD_NOTE, oneAndMax, ortImpl, syncImpl, type Case, type Ctx, type Impl, type Suite } from '../suite'
import { ensureGpt2, measureOrtGpt2, type Gpt2Run } from '../gpt2-peer'
import { measure } from '../timing'

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

/**
 * The example model through its own copy of the library (examples import ../ts): loaded with
 * tsx, so the bench needs no second copy of the model code. Tensors of the two copies never mix.
 */
function gpt2Example(): { g: any; lib: any } {
  const api = require('tsx/cjs/api')
  return { g: api.require('../../../examples/gpt2.ts', __filename), lib: api.require('../../../ts/index.ts', __filename) }
}

const GPT2_RUNS: { run: Gpt2Run; label: string; prompt: number; context: number }[] = [
  { run: 'prefill-128', label: 'GPT-2 prefill, 128 tokens', prompt: 128, context: 128 },
  { run: 'decode-128', label: 'GPT-2 decode, 1 token at context 128', prompt: 1, context: 128 },
  { run: 'decode-1024', label: 'GPT-2 decode, 1 token at context 1024', prompt: 1, context: 1024 },
]

/** flaxen's step for one GPT-2 row: prefill from a fresh cache, or one decode step on a full one. */
function flaxenGpt2(ctx: Ctx, dir: () => string, r: (typeof GPT2_RUNS)[number], bf16: boolean, key: string): Impl {
  return {
    key,
    run: async () => {
      const { g, lib } = gpt2Example()
      const { model, variables } = g.loadGpt2(join(dir(), 'flax'))
      const params = bf16 ? lib.tree.map((t: any) => (t.dtype === 'float32' ? t.astype('bfloat16') : t), variables.params) : variables.params
      const step = lib.jit(g.makeStep(model, {}), { donateArgnums: 1 })
      const mask = lib.jnp.ones([1, r.context], 'int32')
      const key0 = lib.random.key(0)
      let fn: () => void
      if (r.prompt > 1) {
        const ids = lib.jnp.ones([1, r.prompt], 'int32')
        const pos = lib.jnp.arange(r.prompt, undefined, 1, 'int32').reshape([1, r.prompt])
        fn = () => {
          const out = step(params, g.initCache(model, 1, r.context), ids, mask, pos, key0)
          lib.tree.map((t: any) => t.dispose(), out.cache)
          out.token.dispose()
        }
      } else {
        let cache = g.initCache(model, 1, r.context)
        const one = lib.jnp.ones([1, 1], 'int32')
        const pos = lib.jnp.full([1, 1], r.context - 1, 'int32')
        fn = () => {
          const out = step(params, cache, one, mask, pos, key0)
          cache = out.cache
          out.token.dispose()
        }
      }
      return measure(fn, ctx.timing)
    },
  }
}

/** Bytes a float32 decode step reads at `context`: every weight once (of the position table,
 * one row), and the cache's keys and values up to the context. */
function decodeBytes(dir: string, context: number): number {
  const c = JSON.parse(readFileSync(join(dir, 'flax', 'config.json'), 'utf8'))
  const [d, inner] = [c.n_embd, c.n_inner ?? 4 * c.n_embd]
  const layer = 4 * d + (d * 3 * d + 3 * d) + (d * d + d) + (d * inner + inner) + (inner * d + d)
  const params = c.vocab_size * d + d + c.n_layer * layer + 2 * d
  return 4 * (params + c.n_layer * 2 * context * d)
}

/** Streaming read bandwidth, measured as flaxen's matvec over a 256 MiB float32 matrix. */
const STREAM: [number, number] = [4096, 16384]

/**
 * The bandwidth roofline of a decode step, as a time per step: the step's bytes at the read
 * bandwidth measured now (interleaved with the other columns, so the same machine state).
 */
function rooflineImpl(ctx: Ctx, dir: () => string, r: (typeof GPT2_RUNS)[number]): Impl {
  return {
    key: 'roofline',
    run: async () => {
      const [k, n] = STREAM
      const x = jnp.reshape(jnp.array(fill(k, 1, 0.5)), [1, k])
      const w = jnp.reshape(jnp.array(fill(k * n, 2, 0.5)), [k, n])
      try {
        const st = await measure(() => jnp.matmul(x, w).dispose(), ctx.timing)
        // The step's time at this bandwidth: the matvec's time × step bytes ÷ matrix bytes.
        const f = decodeBytes(dir(), r.context) / (4 * k * n)
        return { ...st, medianNs: st.medianNs * f, minNs: st.minNs * f, p10Ns: st.p10Ns * f, p90Ns: st.p90Ns * f }
      } finally {
        ;[x, w].forEach((t) => t.dispose())
      }
    },
  }
}

function gpt2Case(ctx: Ctx, r: (typeof GPT2_RUNS)[number]): Case {
  // The export needs jax, flax, transformers and torch: FLAXEN_BENCH_GPT2_PYTHON names such a
  // python when the numpy peer's has not got them (nothing runs once the folder is filled).
  const python = process.env.FLAXEN_BENCH_GPT2_PYTHON ?? ctx.python
  let dir: string | null = null
  const folder = () => (dir ??= ensureGpt2(python!))
  const missing = python === null ? `needs a python with transformers and torch (FLAXEN_BENCH_GPT2_PYTHON): ${ctx.numpyMissing}` : null
  const skip = (key: string): Impl => ({ key, skip: missing! })
  return {
    id: `gpt2-${r.run}`,
    label: r.label,
    params: { prompt: r.prompt, context: r.context },
    // Tokens per second: the prompt's tokens per prefill call, one per decode step.
    toValue: (ns) => (r.prompt * 1e9) / ns,
    impls: [
      missing ? skip('flaxen') : flaxenGpt2(ctx, folder, r, false, 'flaxen'),
      missing ? skip('bf16') : flaxenGpt2(ctx, folder, r, true, 'bf16'),
      ...(r.prompt === 1 ? [missing ? skip('roofline') : rooflineImpl(ctx, folder, r)] : []),
      missing || ctx.ort === null
        ? { key: 'ort', skip: missing ?? `onnxruntime: ${ctx.ortMissing}` }
        : { key: 'ort', foreign: true, run: () => measureOrtGpt2(ctx.ort!, folder(), ctx.threads, ctx.timing, r.run) },
    ],
  }
}

export const transformer: Suite = {
  name: 'transformer',
  title: 'GPT-2-small (124M params), batch 1',
  unit: 'tokens/s',
  higherIsBetter: true,
  primary: 'flaxen',
  columns: [FLAXEN, { key: 'bf16', label: 'flaxen bf16 weights' }, { key: 'roofline', label: 'f32 bandwidth roofline' }, ORT],
  method: `tokens per second from the median time per call (prefill: 128 tokens a call; decode: one). flaxen = examples/gpt2.ts's step under jit, the cache donated (prefill rows include making the cache); bf16 = the same with the weights stored as bfloat16; roofline = the rate if a float32 decode step read its bytes (every weight once, the cache to its context) at the read bandwidth measured in the same rounds (flaxen's matvec over ${(4 * STREAM[0] * STREAM[1]) / 2 ** 20} MiB). onnxruntime = the PyTorch twin exported to ONNX (same weights), session.run with past key/values. ${THREAD_NOTE}`,
  threads: oneAndMax,
  cases: (ctx) => (ctx.quick ? GPT2_RUNS.slice(1, 2) : GPT2_RUNS).map((r) => gpt2Case(ctx, r)),
}

export const attention: Suite = {
  name: 'attention',
  title: `Causal self-attention, batch 1, ${H} heads × ${D}`,
  unit: 'ms',
  higherIsBetter: false,
  primary: 'flaxen',
  columns: [FLAXEN, { key: 'naive', label: 'flaxen jnp composition' }, ORT],
  method: `median time per call. flaxen = nn.dotProductAttention with a causal mask (fused kernel); jnp composition = dotProductAttentionWeights then einsum, as Flax computes it; onnxruntime = MatMul, Mul, Add (causal mask), Softmax, MatMul. ${THREAD_NOTE}`,
  threads: oneAndMax,
  cases: (ctx) => (ctx.quick ? QUICK_LENGTHS : LENGTHS).map((l) => attentionCase(ctx, l)),
}
