// examples/gpt2.ts against Hugging Face's FlaxGPT2LMHeadModel (transformers 4.57.6 on jax 0.10.2):
// a tiny model with every weight perturbed, saved by `save_pretrained` into
// __test__/fixtures/gpt2-tiny/, and its outputs in golden/gpt2.json (scripts/golden/gpt2.py).
// The fixture's model.safetensors is the same tree, converted by examples/gpt2-safetensors.ts.
import test, { type ExecutionContext } from 'ava'
import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import { jit, jnp, lax, random, serialization, traverseUtil, tree } from '../ts/index'
import { Tensor } from '../ts/tensor'
import * as gpt2 from '../examples/gpt2'
import { bitsTensor as fromGolden, assertClose as close, loadLocalGolden, type GoldenBits } from './helpers/golden'
import { assertSameBits, countLeaves } from './helpers/jit'

const G = loadLocalGolden('gpt2').expect

const rowsOf = (x: Tensor): number[][] => x.toArray() as number[][]

const loaded = gpt2.loadGpt2(gpt2.FIXTURE_DIR)
const { config, model, variables } = loaded
const ids = fromGolden(G.input_ids)
// Read once here: an in-flight f.async call holding `ids` refuses .data (E_BUSY) to everyone else.
const promptRows = rowsOf(ids)
const [batch, promptLength] = ids.shape
const maxLength: number = G.max_length
const maxNewTokens = maxLength - promptLength
/** The new tokens of an HF `generate` result (`sequences` holds the prompt first). */
const newTokens = (g: GoldenBits) => rowsOf(fromGolden(g)).map((r) => r.slice(promptLength))

test('config.json and flax_model.msgpack load by name: the tree is HF\'s and what init makes, shape for shape', (t) => {
  t.like(config, { vocabSize: 64, nPositions: 32, nEmbd: 32, nLayer: 2, nHead: 4, nInner: null, activationFunction: 'gelu_new', layerNormEpsilon: 1e-5, tieWordEmbeddings: true })
  const shapes = (v: unknown) => Object.fromEntries(Object.entries(traverseUtil.flattenDict(v as Record<string, any>, { sep: '/' })).map(([k, x]) => [k, [...(x as Tensor).shape]]))
  t.deepEqual(shapes(variables.params), G.params_tree)
  const init = model.init(random.key(0), ids)
  t.deepEqual(Object.keys(init), ['params'])
  t.deepEqual(shapes(init.params), G.params_tree)
  t.deepEqual(tree.map((x: Tensor) => x.dtype, init), tree.map((x: Tensor) => x.dtype, variables))
  // The loaded values are the file's, untouched (every leaf was perturbed in Python: no zero
  // bias, no unit LayerNorm scale).
  const raw = serialization.msgpackRestoreFile(join(gpt2.FIXTURE_DIR, 'flax_model.msgpack'))
  assertSameBits(t, variables.params, raw)
  t.true(countLeaves(raw) === Object.keys(G.params_tree).length)
  t.false((variables.params.transformer.h['0'].attn.c_attn.bias.data as Float32Array).every((v) => v === 0))
  t.false((variables.params.transformer.ln_f.scale.data as Float32Array).every((v) => v === 1))
})

test('the logits equal HF\'s within atol = rtol = 1e-5 (no mask; left padding with cumsum positions)', (t) => {
  const full = close(t, model.apply(variables, ids), fromGolden(G.logits), 'logits')
  const mask = fromGolden(G.attention_mask)
  const pos = fromGolden(G.position_ids)
  const masked = close(t, model.apply(variables, ids, { attentionMask: mask, positionIds: pos }), fromGolden(G.logits_masked), 'logits_masked')
  t.log(`max |flaxen - HF|: ${full.toExponential(2)} (logits), ${masked.toExponential(2)} (left padding)`)
  // An all-ones mask and default positions change nothing.
  assertSameBits(t, model.apply(variables, ids, { attentionMask: jnp.ones(ids.shape, 'int32') }), model.apply(variables, ids))
})

test('training mode: dropout (embeddings, attention weights, residuals, MLP) draws HF\'s masks from the same key', (t) => {
  const train = model.applyWith(variables, { rngs: { dropout: random.key(G.dropout_seed) } }, ids, { deterministic: false })
  const worst = close(t, train, fromGolden(G.logits_train), 'logits_train')
  t.log(`max |flaxen - HF| in training mode: ${worst.toExponential(2)}`)
  t.notDeepEqual(Array.from(train.data), Array.from(model.apply(variables, ids).data))
})

test('the cache tree is HF\'s init_cache', (t) => {
  const cache = gpt2.initCache(model, batch, maxLength)
  const flat = traverseUtil.flattenDict(cache as Record<string, any>, { sep: '/' }) as Record<string, Tensor>
  t.deepEqual(Object.fromEntries(Object.entries(flat).map(([k, x]) => [k, [[...x.shape], x.dtype]])), G.cache_tree)
  t.true(Object.values(flat).every((x) => Array.from(x.data as ArrayLike<number>).every((v) => v === 0)))
})

test('decoding token by token on the cache gives the full forward\'s logits within 1e-5 (also after a prefill, and with left padding)', (t) => {
  const stepLogits = (pieces: [number, number][], attentionMask: Tensor | null, positions: Tensor) => {
    let cache = gpt2.initCache(model, batch, maxLength)
    const extended = attentionMask === null ? jnp.ones([batch, maxLength], 'int32') : lax.dynamicUpdateSlice(jnp.ones([batch, maxLength], 'int32'), attentionMask, [0, 0])
    const outs: Tensor[] = []
    for (const [a, b] of pieces) {
      const x = lax.slice(ids, [0, a], [batch, b])
      const p = lax.slice(positions, [0, a], [batch, b])
      const [logits, upd] = model.applyWith({ params: variables.params, cache }, { mutable: ['cache'] }, x, { attentionMask: extended, positionIds: p })
      cache = (upd as any).cache
      outs.push(logits)
    }
    t.deepEqual(Array.from((cache as any).transformer.h['1'].attn.cache_index.data), [promptLength])
    return jnp.concatenate(outs, 1)
  }
  const arange = jnp.broadcastTo(jnp.arange(promptLength, undefined, 1, 'int32').reshape([1, promptLength]), [batch, promptLength])
  const full = model.apply(variables, ids)
  const oneByOne = Array.from({ length: promptLength }, (_, i) => [i, i + 1] as [number, number])
  const e1 = close(t, stepLogits(oneByOne, null, arange), full, 'token by token')
  const e2 = close(t, stepLogits([[0, 4], [4, 5], [5, 6], [6, 7]], null, arange), full, 'prefill 4 + 3 steps')
  const e3 = close(t, stepLogits(oneByOne, null, arange), fromGolden(G.logits), 'token by token vs HF')
  t.log(`max |cached - full forward|: ${e1.toExponential(2)} (token by token), ${e2.toExponential(2)} (prefill + steps); vs HF ${e3.toExponential(2)}`)
  // Left padding: positions cumsum - 1 (pads at -1), as generate makes them.
  const mask = fromGolden(G.attention_mask)
  const pos = fromGolden(G.position_ids)
  // Only the real tokens' logits: a pad query attends to nothing, so its softmax is uniform over
  // every key, which are the prompt's 7 without a cache and the cache's 13 with one (in HF too).
  const padded = stepLogits([[0, 4], [4, 5], [5, 6], [6, 7]], mask, pos)
  const want = fromGolden(G.logits_masked)
  t.deepEqual(rowsOf(mask), [[0, 0, 0, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1, 1]])
  const vocab = config.vocabSize
  close(t, lax.slice(padded, [0, 3, 0], [1, 7, vocab]), lax.slice(want, [0, 3, 0], [1, 7, vocab]), 'left padding, row 0 tokens, prefill + steps vs HF')
  close(t, lax.slice(padded, [1, 0, 0], [2, 7, vocab]), lax.slice(want, [1, 0, 0], [2, 7, vocab]), 'left padding, row 1, prefill + steps vs HF')
  // Without positions the cached model refuses, as HF does.
  const cache = gpt2.initCache(model, batch, maxLength)
  const e = t.throws(() => model.applyWith({ params: variables.params, cache }, { mutable: ['cache'] }, ids)) as Error
  t.regex(e.message, /position_ids/)
})

test('greedy generate gives HF\'s tokens exactly (jit and eager; with left padding too)', async (t) => {
  t.true(G.greedy_margin > 1e-3, 'the golden\'s top-2 logit gaps are far above the port\'s error')
  const want = newTokens(G.greedy)
  t.deepEqual(await gpt2.generateAll(model, variables, ids, { maxNewTokens }), want)
  t.deepEqual(await gpt2.generateAll(model, variables, ids, { maxNewTokens, jit: false }), want)
  const attentionMask = fromGolden(G.attention_mask)
  t.deepEqual(await gpt2.generateAll(model, variables, ids, { maxNewTokens, attentionMask }), newTokens(G.greedy_masked))
  // The compiled step is kept per model and options: later calls trace nothing new.
  const traces = gpt2.compiledStep(model).traceCount
  t.deepEqual(await gpt2.generateAll(model, variables, ids, { maxNewTokens }), want)
  t.is(gpt2.compiledStep(model).traceCount, traces)
  // The stream: one array of batch tokens per step.
  const steps: number[][] = []
  for await (const tokens of gpt2.generate(model, variables, ids, { maxNewTokens: 3 })) steps.push(tokens)
  t.deepEqual(steps, [0, 1, 2].map((i) => want.map((r) => r[i])))
})

test('sampling with temperature and top-k: HF\'s tokens for the same key, valid, reproducible', async (t) => {
  const sample = (key: random.Key, temperature: number, topK: number, useJit = true) =>
    gpt2.generateAll(model, variables, ids, { maxNewTokens, doSample: true, temperature, topK, key, jit: useJit })
  const s = await sample(random.key(G.sample_seed), G.temperature, G.top_k)
  t.deepEqual(s, newTokens(G.sample))
  t.deepEqual(await sample(random.key(G.sample_seed), G.temperature, G.top_k, false), s)
  t.deepEqual(await sample(random.key(G.sample_plain_seed), 1, 0), newTokens(G.sample_plain))
  // Valid ids, the same for the same key, others for another key.
  for (const row of s) t.true(row.every((v) => Number.isInteger(v) && v >= 0 && v < config.vocabSize))
  t.deepEqual(await sample(random.key(G.sample_seed), G.temperature, G.top_k), s)
  t.notDeepEqual(await sample(random.key(123), 1.5, 0), s)
  // top-k = 1 is greedy whatever the key and temperature.
  t.deepEqual(await sample(random.key(9), 2, 1), newTokens(G.greedy))
})

test('top-k keeps exactly the k largest scores (others -inf), after the temperature', (t) => {
  const scores = random.normal(random.key(3), [2, 64])
  const w = gpt2.warpLogits(scores, { temperature: 0.5, topK: 5 })
  const s = rowsOf(scores)
  const ws = rowsOf(w)
  for (let r = 0; r < 2; r++) {
    const top = [...s[r]].sort((a, b) => b - a).slice(0, 5)
    const kept = ws[r].filter((v) => v !== -Infinity)
    t.is(kept.length, 5)
    t.deepEqual([...kept].sort((a, b) => b - a), top.map((v) => Math.fround(v / 0.5)))
  }
  assertSameBits(t, gpt2.warpLogits(scores, { temperature: 1, topK: 0 }), scores)
})

test('the jit-compiled step (prefill and decode) equals the eager one bit for bit: tokens, cache, positions, keys', (t) => {
  for (const sampling of [{}, { doSample: true, temperature: 0.7, topK: 8 }]) {
    const eager = gpt2.makeStep(model, sampling)
    const compiled = jit(eager)
    const mask = jnp.ones([batch, maxLength], 'int32')
    let [ce, cj] = [gpt2.initCache(model, batch, maxLength), gpt2.initCache(model, batch, maxLength)]
    let x = ids
    let pos = jnp.broadcastTo(jnp.arange(promptLength, undefined, 1, 'int32').reshape([1, promptLength]), [batch, promptLength])
    let key = random.key(11)
    for (let i = 0; i < 4; i++) {
      const e = eager(variables.params, ce, x, mask, pos, key)
      const j = compiled(variables.params, cj, x, mask, pos, key)
      assertSameBits(t, j, e, `step ${i}`)
      ce = e.cache
      cj = j.cache
      x = e.token.reshape([batch, 1])
      pos = e.positionIds
      key = e.key
    }
    t.is(compiled.traceCount, 2, 'one trace for the prefill, one for every decode step')
  }
})

test('the jit decode step runs on the async pool with a donated cache: same bits as the synchronous plan', async (t) => {
  const step = gpt2.makeStep(model)
  const sync = jit(step)
  const donating = jit(step, { donateArgnums: 1 })
  const mask = jnp.ones([batch, maxLength], 'int32')
  const pos = jnp.broadcastTo(jnp.arange(promptLength, undefined, 1, 'int32').reshape([1, promptLength]), [batch, promptLength])
  const a = sync(variables.params, gpt2.initCache(model, batch, maxLength), ids, mask, pos, random.key(0))
  const b = await donating.async(variables.params, gpt2.initCache(model, batch, maxLength), ids, mask, pos, random.key(0))
  assertSameBits(t, b, a)
  const x = a.token.reshape([batch, 1])
  const copy = tree.map((v: Tensor) => v.astype(v.dtype), a.cache)
  const a2 = sync(variables.params, a.cache, x, mask, a.positionIds, a.key)
  const b2 = await donating.async(variables.params, copy, x, mask, a.positionIds, a.key)
  assertSameBits(t, b2, a2)
})

test('generate: eos finishes a row (pad after it), and stops when every row has finished', async (t) => {
  const want = newTokens(G.greedy)
  const eos = want[0][1] // the second token of row 0
  const rows = await gpt2.generateAll(model, variables, ids, { maxNewTokens, eosTokenId: eos, padTokenId: 0 })
  const expected = want.map((r) => {
    const at = r.indexOf(eos)
    return at < 0 ? r : [...r.slice(0, at + 1), ...Array(r.length - at - 1).fill(0)]
  })
  t.true(expected.some((r) => !r.includes(eos)), 'one row never ends: generation runs to maxNewTokens')
  t.deepEqual(rows, expected)
  const single = await gpt2.generateAll(model, variables, lax.slice(ids, [0, 0], [1, promptLength]), { maxNewTokens, eosTokenId: eos })
  t.deepEqual(single, [want[0].slice(0, 2)])
  await t.throwsAsync(gpt2.generateAll(model, variables, ids, { maxNewTokens: config.nPositions }), { message: /exceeds n_positions/ })
})

test('the demo runs as a script (npx tsx examples/gpt2.ts) and streams HF\'s greedy tokens for its prompt', (t) => {
  const root = join(__dirname, '..')
  const out = execFileSync(process.execPath, ['--import=tsx', join(root, 'examples', 'gpt2.ts')], { cwd: root, encoding: 'utf8' })
  const greedy = /^greedy: ([\d ]+) \| ([\d ]+)$/m.exec(out)
  t.truthy(greedy, out)
  t.is(greedy![1], promptRows[0].join(' '))
  t.is(greedy![2].split(' ').slice(0, maxNewTokens).join(' '), newTokens(G.greedy)[0].join(' '))
  t.regex(out, /^sampled \(temperature 0\.8, top-k 5, key 0\): [\d ]+ \| \d+( \d+){15}$/m)
})

test('model.safetensors (mapped) holds the same tree as flax_model.msgpack; a PyTorch checkpoint is refused', async (t) => {
  const { mkdtempSync, rmSync, copyFileSync } = await import('node:fs')
  const { tmpdir } = await import('node:os')
  const { safetensors } = await import('../ts/index')
  const mapped = gpt2.loadGpt2(gpt2.FIXTURE_DIR, { weights: 'safetensors' })
  // Compared with a fresh read of the msgpack file: `variables` may be in an async call here.
  assertSameBits(t, mapped.variables.params, serialization.msgpackRestoreFile(join(gpt2.FIXTURE_DIR, 'flax_model.msgpack')))
  const dir = mkdtempSync(join(tmpdir(), 'flaxen-gpt2-st-'))
  try {
    copyFileSync(join(gpt2.FIXTURE_DIR, 'config.json'), join(dir, 'config.json'))
    const e = t.throws(() => gpt2.loadGpt2(dir, { weights: 'safetensors' })) as Error
    t.regex(e.message, /no such file|ENOENT|not found/i)
    safetensors.saveFile({ 'h.0.attn.c_attn.weight': jnp.zeros([32, 96]) }, join(dir, gpt2.SAFETENSORS_FILE), { format: 'pt' })
    const pt = t.throws(() => gpt2.loadGpt2(dir)) as Error & { code?: string }
    t.is(pt.code, 'E_FORMAT')
    t.regex(pt.message, /PyTorch checkpoint/)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('generate: a longer cacheLength gives the same tokens; an AbortSignal stops it between or during steps', async (t) => {
  const want = newTokens(G.greedy)
  t.deepEqual(await gpt2.generateAll(model, variables, ids, { maxNewTokens, cacheLength: config.nPositions }), want)
  await t.throwsAsync(gpt2.generateAll(model, variables, ids, { maxNewTokens, cacheLength: config.nPositions + 1 }), { message: /cacheLength/ })
  const stop = new AbortController()
  const got: number[][] = []
  const e = await t.throwsAsync(
    (async () => {
      for await (const tokens of gpt2.generate(model, variables, ids, { maxNewTokens, signal: stop.signal })) {
        got.push(tokens)
        if (got.length === 2) stop.abort()
      }
    })(),
  )
  t.is(e?.name, 'AbortError')
  t.deepEqual(got, [0, 1].map((i) => want.map((r) => r[i])))
})
