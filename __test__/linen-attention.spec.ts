// flax.linen.attention against real Flax (scripts/golden/attention.py → golden/attention.json):
// the attention functions and masks, MultiHeadDotProductAttention's parameter tree (bit for bit
// from the same key), its outputs (mask, cross-attention, dropout, normalizeQk, sowWeights) and
// the decode cache, step by step.
import test, { type ExecutionContext } from 'ava'
import { jit, jnp, lax, nn, random, tree } from '../ts/index'
import { Tensor } from '../ts/tensor'
import { assertSameBits } from './helpers/jit'
import { bitsTensor as fromGolden, loadLocalGolden } from './helpers/golden'

const G = loadLocalGolden('attention').expect

const T = (name: string): Tensor => fromGolden(G[name])

/** Same shape and dtype, values within `tol` (relative to the largest magnitude, at least 1). */
function close(t: ExecutionContext, got: Tensor, want: Tensor, name: string, tol = 1e-6): void {
  t.is(got.dtype, want.dtype, `${name}: dtype`)
  t.deepEqual([...got.shape], [...want.shape], `${name}: shape`)
  const w = Array.from(want.data as ArrayLike<number>, Number)
  const scale = Math.max(1, ...w.map(Math.abs))
  const bad = Array.from(got.data as ArrayLike<number>, Number).findIndex((v, i) => !(Math.abs(v - w[i]) <= tol * scale))
  t.is(bad, -1, `${name}[${bad}]: ${got.data[bad]} vs ${w[bad]}`)
}

/** A golden pytree against a flaxen one: same keys; tensors bit for bit (`exact`) or close. */
function sameTree(t: ExecutionContext, got: any, want: any, path: string, exact: boolean): void {
  if (want && typeof want === 'object' && 'shape' in want && 'dtype' in want) {
    const w = fromGolden(want)
    if (exact) assertSameBits(t, got, w, path)
    else close(t, got, w, path)
    return
  }
  t.deepEqual(Object.keys(got).sort(), Object.keys(want).sort(), `${path}: keys`)
  for (const k of Object.keys(want)) sameTree(t, got[k], want[k], `${path}/${k}`, exact)
}

const q = T('q'), k = T('k'), v = T('v')

test('dotProductAttentionWeights and dotProductAttention (bias, mask, dropout) match Flax', (t) => {
  close(t, nn.dotProductAttentionWeights(q, k), T('weights'), 'weights')
  close(t, nn.dotProductAttentionWeights(q, k, { bias: T('bias'), mask: T('mask') }), T('weights_bias_mask'), 'weights_bias_mask')
  close(t, nn.dotProductAttention(q, k, v), T('attn'), 'attn')
  close(t, nn.dotProductAttention(q, k, v, { mask: T('mask') }), T('attn_mask'), 'attn_mask')
  const drop = { dropoutRng: random.key(4), dropoutRate: 0.3, deterministic: false }
  close(t, nn.dotProductAttention(q, k, v, drop), T('attn_dropout'), 'attn_dropout')
  close(t, nn.dotProductAttention(q, k, v, { ...drop, broadcastDropout: false }), T('attn_dropout_nb'), 'attn_dropout_nb')
})

test('makeCausalMask, makeAttentionMask and combineMasks equal Flax exactly', (t) => {
  const toks = T('toks')
  assertSameBits(t, nn.makeCausalMask(jnp.ones([3, 16])), T('causal'))
  assertSameBits(t, nn.makeCausalMask(toks, { extraBatchDims: 1, dtype: 'int32' }), T('causal_extra'))
  const pad = nn.makeAttentionMask(jnp.greater(toks, 0), jnp.greater(toks, 0))
  assertSameBits(t, pad, T('pad_mask'))
  assertSameBits(t, nn.combineMasks(pad, nn.makeCausalMask(toks), null), T('combined'))
  t.is(nn.combineMasks(null, undefined), null)
})

const x = T('x'), y = T('y')

test('MultiHeadDotProductAttention: params bit for bit from the same key; outputs as Flax', (t) => {
  const mha = new nn.MultiHeadDotProductAttention({ numHeads: 2, qkvFeatures: 8 })
  const vs = mha.init(random.key(0), x)
  sameTree(t, vs.params, G.mha_params, 'mha_params', true)
  close(t, mha.apply(vs, x), T('mha_self'), 'mha_self')
  const cm = nn.makeCausalMask(jnp.ones([2, 7]))
  close(t, mha.apply(vs, x, { mask: cm }), T('mha_causal'), 'mha_causal')
  const cross = new nn.MultiHeadDotProductAttention({ numHeads: 4, qkvFeatures: 8, outFeatures: 5 })
  const cvs = cross.init(random.key(1), x, y)
  sameTree(t, cvs.params, G.cross_params, 'cross_params', true)
  close(t, cross.apply(cvs, x, y), T('cross'), 'cross')
  const drop = new nn.MultiHeadDotProductAttention({ numHeads: 2, dropoutRate: 0.4, deterministic: false })
  const dvs = drop.init({ params: random.key(2), dropout: random.key(3) }, x)
  sameTree(t, dvs.params, G.drop_params, 'drop_params', true)
  close(t, drop.applyWith(dvs, { rngs: { dropout: random.key(5) } }, x), T('drop'), 'drop')
  const nq = new nn.MultiHeadDotProductAttention({ numHeads: 2, normalizeQk: true, useBias: false })
  const nvs = nq.init(random.key(6), x)
  sameTree(t, nvs.params, G.nqk_params, 'nqk_params', true)
  close(t, nq.apply(nvs, x), T('nqk'), 'nqk')
  const [, st] = mha.applyWith(vs, { mutable: ['intermediates'] }, x, { sowWeights: true })
  close(t, (st as any).intermediates.attention_weights[0], T('sowed'), 'sowed')
})

test('decode: the cache is created at init and each step writes one position, as Flax', (t) => {
  const dec = new nn.MultiHeadDotProductAttention({ numHeads: 2, qkvFeatures: 8, decode: true })
  const vars = dec.init(random.key(0), x)
  sameTree(t, vars.cache, G.dec_cache_init, 'cache_init', true)
  // The full causal forward of the same params: each decode step is one of its positions.
  const mha = new nn.MultiHeadDotProductAttention({ numHeads: 2, qkvFeatures: 8 })
  const full = mha.apply({ params: vars.params }, x, { mask: nn.makeCausalMask(jnp.ones([2, 7])) })
  close(t, full, T('dec_full'), 'full')
  let cache = vars.cache
  for (let i = 0; i < 4; i++) {
    const [yi, upd] = dec.applyWith({ params: vars.params, cache }, { mutable: ['cache'] }, lax.slice(x, [0, i, 0], [2, i + 1, 8]))
    cache = (upd as any).cache
    close(t, yi, fromGolden(G.dec_steps[i]), `step ${i}`)
    close(t, yi, lax.slice(full, [0, i, 0], [2, i + 1, 8]), `step ${i} against the full forward`, 1e-5)
  }
  sameTree(t, cache, G.dec_cache_after, 'cache_after', false)
  const e = t.throws(() => dec.applyWith({ params: vars.params, cache }, { mutable: ['cache'] }, x)) as Error
  t.is(e.constructor.name, 'ValueError')
  t.is(e.message, 'Autoregressive cache shape error, expected query shape (2, 1, 2, 4) instead got (2, 7, 2, 4).')
})

test('MultiHeadDotProductAttention runs under jit (decode step with the cache as input) with the eager bits', (t) => {
  const dec = new nn.MultiHeadDotProductAttention({ numHeads: 2, qkvFeatures: 8, decode: true })
  const vars = dec.init(random.key(0), x)
  const step = (params: any, cache: any, xi: Tensor) => dec.applyWith({ params, cache }, { mutable: ['cache'] }, xi)
  const jstep = jit(step)
  let [ce, cj] = [vars.cache, vars.cache]
  for (let i = 0; i < 3; i++) {
    const xi = lax.slice(x, [0, i, 0], [2, i + 1, 8])
    const [ye, ue] = step(vars.params, ce, xi)
    const [yj, uj] = jstep(vars.params, cj, xi) as any
    assertSameBits(t, yj, ye, `step ${i}`)
    assertSameBits(t, uj, ue, `cache ${i}`)
    ce = (ue as any).cache
    cj = uj.cache
  }
})

test('call arguments: kv defaulting, inputsKv, and Flax errors', (t) => {
  const mha = new nn.MultiHeadDotProductAttention({ numHeads: 2 })
  const vs = mha.init(random.key(43279), x, y)
  const a = mha.apply(vs, x, y, y)
  assertSameBits(t, mha.apply(vs, x, y), a)
  assertSameBits(t, mha.apply(vs, x, { inputsKv: y }), a)
  const e1 = t.throws(() => mha.apply(vs, x, null, y)) as Error
  t.regex(e1.message, /^`inputs_k` cannot be None if `inputs_v` is not None\./)
  const e2 = t.throws(() => mha.apply(vs, x, y, { inputsKv: y })) as Error
  t.regex(e2.message, /^If either `inputs_k` or `inputs_v` is not None, `inputs_kv` must be None\./)
  const e3 = t.throws(() => new nn.MultiHeadDotProductAttention({ numHeads: 3 }).init(random.key(0), x)) as Error
  t.is(e3.message, 'Memory dimension (8) must be divisible by number of heads (3).')
})

test('a donated decode cache is written in place under jit: no copy of the cache per token', (t) => {
  const dec = new nn.MultiHeadDotProductAttention({ numHeads: 2, qkvFeatures: 8, decode: true })
  const long = random.normal(random.key(9), [1, 128, 8])
  const vars = dec.init(random.key(0), long)
  const fn = (params: any, cache: any, xi: Tensor) => dec.applyWith({ params, cache }, { mutable: ['cache'] }, xi)
  const donating = jit(fn, { donateArgnums: 1 })
  const copying = jit(fn)
  let [cd, cc] = [tree.map((x: Tensor) => x.astype(x.dtype), vars.cache), vars.cache]
  let allocDonating = 0
  let allocCopying = 0
  for (let i = 0; i < 4; i++) {
    const xi = lax.slice(long, [0, i, 0], [1, i + 1, 8])
    const [yc, uc] = copying(vars.params, cc, xi) as any
    const [yd, ud] = donating(vars.params, cd, xi) as any
    // Reading a cache's bytes would expose its storage to JS, which rules out writing it in
    // place: the caches are compared after the last step.
    assertSameBits(t, yd, yc, `step ${i}`)
    allocCopying = copying.lower(vars.params, uc.cache, xi).allocated
    allocDonating = donating.lower(vars.params, ud.cache, xi).allocated
    cc = uc.cache
    cd = ud.cache
  }
  assertSameBits(t, cd, cc, 'cache after the steps')
  // The copying plan allocates its four outputs (y and the three cache entries). The donating
  // one writes cached_key and cached_value into the donated buffers (and the new cache_index
  // takes the donated index's freed block): it allocates y alone.
  t.is(allocCopying, 4)
  t.is(allocDonating, 1)
})

test('the fused attention kernel equals the unfused composition within 2e-6 (causal, padding, bias, decode, under jit)', (t) => {
  const unfused = (q: Tensor, k: Tensor, v: Tensor, o: nn.AttentionWeightsOptions = {}) =>
    jnp.einsum('...hqk,...khd->...qhd', nn.dotProductAttentionWeights(q, k, o), v)
  const cases: [number[], number[], number[]][] = [
    [[2, 9, 3, 8], [2, 9, 3, 8], [2, 9, 3, 8]],
    [[1, 150, 2, 16], [1, 150, 2, 16], [1, 150, 2, 16]],
    [[2, 1, 4, 16], [2, 40, 4, 16], [2, 40, 4, 8]],
  ]
  let seed = 0
  for (const [qs, ks, vs] of cases) {
    const [q, k, v] = [qs, ks, vs].map((s) => random.normal(random.key(seed++), s))
    const lq = qs[1]
    const lk = ks[1]
    const causal = nn.makeCausalMask(jnp.ones([qs[0], lk]))
    const mask = lq === lk ? causal : jnp.greater(random.uniform(random.key(seed++), [qs[0], 1, 1, lk]), 0.3)
    const bias = random.normal(random.key(seed++), [qs[2], lq, lk])
    for (const o of [{}, { mask }, { bias, mask }]) {
      const fused = nn.dotProductAttention(q, k, v, o)
      close(t, fused, unfused(q, k, v, o), `fused ${qs} ${Object.keys(o)}`, 2e-6)
      assertSameBits(t, jit((a: Tensor, b: Tensor, c: Tensor) => nn.dotProductAttention(a, b, c, o))(q, k, v), fused)
    }
  }
})

// Flax's own attention tests (spec/flax-cases.md 89, 90, 93, 95).

test('case 89: MHA basics (ones kernel: shapes and dtype) and the out initialisers', (t) => {
  const mha = new nn.MultiHeadDotProductAttention({ numHeads: 8, qkvFeatures: 16, kernelInit: nn.initializers.ones, biasInit: nn.initializers.zeros, deterministic: false })
  const x = jnp.ones([4, 6, 5])
  const y = mha.apply(mha.init(random.key(0), x), x)
  t.deepEqual([...y.shape], [4, 6, 5])
  t.is(y.dtype, 'float32')
  const q = jnp.ones([4, 2, 3, 5])
  t.deepEqual([...mha.apply(mha.init(random.key(0), q), q).shape], [4, 2, 3, 5])
  const m = new nn.MultiHeadDotProductAttention({ numHeads: 8, qkvFeatures: 16, kernelInit: nn.initializers.ones, outKernelInit: nn.initializers.zeros, biasInit: nn.initializers.zeros, outBiasInit: nn.initializers.ones })
  const p: any = m.init(random.key(0), x).params
  const all = (v: Tensor, want: number) => Array.from(v.data as Float32Array).every((e) => e === want)
  for (const name of ['query', 'key', 'value']) {
    t.true(all(p[name].kernel, 1), `${name}/kernel`)
    t.true(all(p[name].bias, 0), `${name}/bias`)
  }
  t.true(all(p.out.kernel, 0))
  t.true(all(p.out.bias, 1))
})

class TwoAttentions extends nn.Module<{ rate: number; deterministic?: boolean }> {
  rate!: number
  deterministic = false

  @nn.compact
  call(x: Tensor, dropoutRng: random.Key | null = null): [Tensor, Tensor] {
    // Ones kernels, as Flax's test: the two modules have equal params, so only dropout differs.
    const mha = () => new nn.MultiHeadDotProductAttention({ numHeads: 2, dropoutRate: this.rate, deterministic: this.deterministic, kernelInit: nn.initializers.ones, biasInit: nn.initializers.zeros })
    return [mha().call(x, { dropoutRng }), mha().call(x, { dropoutRng })]
  }
}

test('case 90: MHA dropout: per-module keys from rngs, reproducible; an explicit dropoutRng overrides; rate 0 or deterministic ignore rngs', (t) => {
  const x = random.normal(random.key(1), [2, 4, 8])
  const model = new TwoAttentions({ rate: 0.5 })
  const v = model.init({ params: random.key(0), dropout: random.key(9) }, x)
  const run = (m: TwoAttentions, r: number, rng: random.Key | null = null) => m.applyWith(v, { rngs: { dropout: random.key(r) } }, x, rng) as [Tensor, Tensor]
  const bits = (y: Tensor) => Array.from(new Uint32Array((y.data as Float32Array).slice().buffer))
  const [a, b] = run(model, 3)
  t.notDeepEqual(bits(a), bits(b), 'the two modules draw different masks')
  const [a2] = run(model, 3)
  t.deepEqual(bits(a2), bits(a), 'the same key reproduces them')
  const [a3] = run(model, 4)
  t.notDeepEqual(bits(a3), bits(a), 'another key changes them')
  const [e1, e2] = run(model, 3, random.key(7))
  t.deepEqual(bits(e1), bits(e2), 'one explicit dropoutRng for both: equal outputs')
  for (const off of [new TwoAttentions({ rate: 0 }), new TwoAttentions({ rate: 0.5, deterministic: true })]) {
    const [o1] = run(off, 3)
    const [o2] = run(off, 4)
    t.deepEqual(bits(o1), bits(o2), 'independent of rngs')
  }
})

class ThreeAttentions extends nn.Module<{ sowing: boolean }> {
  sowing!: boolean

  @nn.compact
  call(x: Tensor): Tensor {
    const mha = () => new nn.MultiHeadDotProductAttention({ numHeads: 8, qkvFeatures: 16 })
    x = mha().call(x, { sowWeights: this.sowing })
    x = mha().call(x)
    return mha().call(x, { sowWeights: this.sowing })
  }
}

test('case 93: sowWeights sows attention_weights [batch, heads, q, kv] only where asked', (t) => {
  const x = jnp.ones([4, 6, 5])
  const model = new ThreeAttentions({ sowing: true })
  const v = model.init(random.key(0), x)
  const [, st] = model.applyWith(v, { mutable: ['intermediates'] }, x) as [Tensor, any]
  t.deepEqual([...st.intermediates.MultiHeadDotProductAttention_0.attention_weights[0].shape], [4, 8, 6, 6])
  t.deepEqual([...st.intermediates.MultiHeadDotProductAttention_2.attention_weights[0].shape], [4, 8, 6, 6])
  t.false('MultiHeadDotProductAttention_1' in st.intermediates)
  const [, none] = new ThreeAttentions({ sowing: false }).applyWith(v, { mutable: ['intermediates'] }, x) as [Tensor, any]
  t.false('intermediates' in none)
})

class Wrap extends nn.Module<{ alias: boolean; name2?: string | null }> {
  alias!: boolean
  name2: string | null = null

  @nn.compact
  call(x: Tensor): Tensor {
    const props = { numHeads: 2, ...(this.name2 ? { name: this.name2 } : {}) }
    return (this.alias ? new nn.MultiHeadAttention(props) : new nn.MultiHeadDotProductAttention(props)).call(x)
  }
}

test('case 95: MultiHeadAttention is the same layer under its own name', (t) => {
  const x = random.normal(random.key(2), [2, 3, 4])
  const a = new nn.MultiHeadAttention({ numHeads: 2 })
  const b = new nn.MultiHeadDotProductAttention({ numHeads: 2 })
  const [va, vb] = [a.init(random.key(0), x), b.init(random.key(0), x)]
  assertSameBits(t, va, vb)
  assertSameBits(t, a.apply(va, x), b.apply(vb, x))
  const wa = new Wrap({ alias: true }).init(random.key(0), x) as any
  const wb = new Wrap({ alias: false }).init(random.key(0), x) as any
  t.deepEqual(Object.keys(wa.params), ['MultiHeadAttention_0'])
  t.deepEqual(Object.keys(wb.params), ['MultiHeadDotProductAttention_0'])
  t.notDeepEqual(Array.from(wa.params.MultiHeadAttention_0.query.kernel.data), Array.from(wb.params.MultiHeadDotProductAttention_0.query.kernel.data))
  const named = new Wrap({ alias: true, name2: 'MultiHeadDotProductAttention_0' }).init(random.key(0), x)
  assertSameBits(t, named, wb)
})
