// examples/lm1b.ts against Flax's lm1b TransformerLM (flax/examples/lm1b/models.py, copied into
// scripts/golden/lm1b.py and run on jax 0.10.2 / flax 0.12.8): golden/lm1b.json holds, for a small
// config in two variants (sinusoidal positions + `logitdense`; learned positions + logits via the
// embedding's `attend`), init's params from random.key(0), apply's logits, the decode cache tree
// and the per-step logits of a decode run.
import test, { type ExecutionContext } from 'ava'
import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import { jit, jnp, lax, nn, random, traverseUtil, type Variables } from '../ts/index'
import { Tensor } from '../ts/tensor'
import * as lm1b from '../examples/lm1b'
import { bitsTensor as fromGolden, assertClose as close, loadLocalGolden } from './helpers/golden'
import { assertSameBits, countLeaves } from './helpers/jit'

const G = loadLocalGolden('lm1b').expect

const goldenTree = (x: any): any => ('shape' in x && 'dtype' in x ? fromGolden(x) : Object.fromEntries(Object.entries(x).map(([k, v]) => [k, goldenTree(v)])))

const inputs = fromGolden(G.inputs)
const [batch, length] = inputs.shape
const base = {
  vocabSize: 40, outputVocabSize: 40, embDim: 16, numHeads: 2, numLayers: 2, qkvDim: 16, mlpDim: 32, maxLen: 20,
  dropoutRate: 0, attentionDropoutRate: 0, deterministic: true,
}
const VARIANTS = {
  sinusoidal: lm1b.transformerConfig({ ...base, posembInit: null, logitsViaEmbedding: false }),
  learned: lm1b.transformerConfig({ ...base, posembInit: nn.initializers.normal(0.02), logitsViaEmbedding: true }),
} as const
type Name = keyof typeof VARIANTS
const NAMES = Object.keys(VARIANTS) as Name[]

const models = (name: Name) => ({
  model: new lm1b.TransformerLM({ config: VARIANTS[name] }),
  decoder: new lm1b.TransformerLM({ config: { ...VARIANTS[name], decode: true } }),
})

/** The shifted inputs fed one token per call on a fresh cache: the per-step logits, stacked. */
function decodeAll(decoder: lm1b.TransformerLM, params: Variables[string]): { logits: Tensor; cache: Variables } {
  let cache = lm1b.initCache(decoder, batch, length)
  const shifted = lm1b.shiftRight(inputs)
  const steps: Tensor[] = []
  for (let i = 0; i < length; i++) {
    let logits: Tensor
    ;[logits, cache] = lm1b.decodeStep(decoder, params, cache, lax.slice(shifted, [0, i], [batch, i + 1]))
    steps.push(logits)
  }
  return { logits: jnp.concatenate(steps, 1), cache }
}

test('shiftRight pads a 0 in front and drops the last position (shift_right)', (t) => {
  t.deepEqual(lm1b.shiftRight(inputs).toArray(), (inputs.toArray() as number[][]).map((r) => [0, ...r.slice(0, -1)]))
  t.deepEqual(lm1b.shiftRight(jnp.array([[1, 2], [3, 4]], 'int32'), 0).toArray(), [[0, 0], [1, 2]])
})

for (const name of NAMES) {
  test(`${name}: init from random.key(0) gives Flax's params, same tree and same bits`, (t) => {
    const { model } = models(name)
    const variables = model.init(random.key(0), inputs)
    t.deepEqual(Object.keys(variables), ['params'])
    const want = goldenTree(G[name].params)
    const flatKeys = (v: unknown) => Object.keys(traverseUtil.flattenDict(v as Record<string, any>, { sep: '/' })).sort()
    t.deepEqual(flatKeys(variables.params), flatKeys(want))
    assertSameBits(t, variables.params, want)
    // 29 leaves with the sinusoidal table and logitdense; 28 with pos_embedding and attend.
    t.is(countLeaves(variables.params), name === 'sinusoidal' ? 29 : 28)
    t.is(name === 'learned', 'posembed_output' in variables.params.decoder)
    t.is(name === 'sinusoidal', 'logitdense' in variables.params.decoder)
    t.true(G[name].decode_init_params_same)
    // The decode=True model's init draws the same params (and adds the cache).
    const dvars = models(name).decoder.init(random.key(0), inputs)
    t.deepEqual(Object.keys(dvars).sort(), ['cache', 'params'])
    assertSameBits(t, dvars.params, want)
  })

  test(`${name}: apply's logits equal Flax's within atol = rtol = 1e-5`, (t) => {
    const { model } = models(name)
    const params = goldenTree(G[name].params)
    const worst = close(t, model.apply({ params }, inputs) as Tensor, fromGolden(G[name].logits), 'logits')
    t.log(`max |flaxen - Flax| (${name} logits): ${worst.toExponential(2)}`)
  })

  test(`${name}: the decode cache is Flax's tree; token-by-token logits equal Flax's per step and the full forward's positions`, (t) => {
    const { model, decoder } = models(name)
    const params = goldenTree(G[name].params)
    const cache0 = lm1b.initCache(decoder, batch, length)
    const flat = traverseUtil.flattenDict(cache0 as Record<string, any>, { sep: '/' }) as Record<string, Tensor>
    t.deepEqual(Object.fromEntries(Object.entries(flat).map(([k, x]) => [k, [[...x.shape], x.dtype]])), G[name].cache_tree)

    const { logits, cache } = decodeAll(decoder, params)
    const eFlax = close(t, logits, fromGolden(G[name].decode_logits), 'decode vs Flax')
    // The final cache: indices exact, keys and values close.
    const wantCache = goldenTree(G[name].final_cache)
    const got = traverseUtil.flattenDict(cache as Record<string, any>, { sep: '/' }) as Record<string, Tensor>
    const want = traverseUtil.flattenDict(wantCache, { sep: '/' }) as Record<string, Tensor>
    t.deepEqual(Object.keys(got).sort(), Object.keys(want).sort())
    for (const k of Object.keys(want)) {
      if (k.endsWith('cache_index')) assertSameBits(t, got[k], want[k], k)
      else close(t, got[k], want[k], k)
    }
    t.deepEqual(Array.from(got['decoder/posembed_output/cache_index'].data), [length])

    // The full forward's positions: all of row 0; row 1 up to its trailing padding (a padded
    // query is masked out entirely in the full forward, while decoding has no padding mask).
    const full = model.apply({ params }, inputs) as Tensor
    const vocab = VARIANTS[name].outputVocabSize
    const real = (inputs.toArray() as number[][])[1].filter((v) => v > 0).length
    t.is(real, 5)
    const e0 = close(t, lax.slice(logits, [0, 0, 0], [1, length, vocab]), lax.slice(full, [0, 0, 0], [1, length, vocab]), 'decode vs full, row 0')
    const e1 = close(t, lax.slice(logits, [1, 0, 0], [2, real, vocab]), lax.slice(full, [1, 0, 0], [2, real, vocab]), 'decode vs full, row 1')
    t.log(`max |decode - Flax decode| ${eFlax.toExponential(2)}; |decode - full forward| ${Math.max(e0, e1).toExponential(2)} (${name})`)
  })

  test(`${name}: jit(decode step) equals the eager step bit for bit (logits and cache), one trace`, (t) => {
    const { decoder } = models(name)
    const params = goldenTree(G[name].params)
    const step = (p: Variables[string], c: Variables, x: Tensor) => lm1b.decodeStep(decoder, p, c, x)
    const compiled = jit(step)
    const shifted = lm1b.shiftRight(inputs)
    let ce = lm1b.initCache(decoder, batch, length)
    let cj = lm1b.initCache(decoder, batch, length)
    for (let i = 0; i < length; i++) {
      const x = lax.slice(shifted, [0, i], [batch, i + 1])
      const e = step(params, ce, x)
      const j = compiled(params, cj, x)
      assertSameBits(t, j, e, `step ${i}`)
      ce = e[1]
      cj = j[1]
    }
    t.is(compiled.traceCount, 1)
    t.is(countLeaves(ce), 7)
  })
}

test('the demo runs (npx tsx examples/lm1b.ts)', (t) => {
  const root = join(__dirname, '..')
  const out = execFileSync(process.execPath, ['--import=tsx', join(root, 'examples', 'lm1b.ts')], { cwd: root, encoding: 'utf8' })
  t.regex(out, /^TransformerLM logits: \[1, 8, 40\]$/m)
  t.regex(out, /^greedy: \d+( \d+){11}$/m)
})
