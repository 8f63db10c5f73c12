// nn.Embed, nn.Dropout, nn.PReLU and nn.mergeParam (spec e.3, e.5, e.9; flax-cases 86, 100, 103),
// against real Flax (scripts/golden/layers.py).
import test from 'ava'
import { jnp, nn, random, type Tensor } from '../ts/index'
import { ValueError } from '../ts/errors'
import { loadLocalGolden } from './helpers/golden'
import { assertMatches, shapes } from './helpers/variables'

const golden = loadLocalGolden('layers').expect

// ---- Embed ---------------------------------------------------------------------------------

test('Embed (test_embed): a counting table, lookup and attend', (t) => {
  // embedding_init = broadcast(arange(4)[:, None], (4, 3)): row i is all i.
  const init = (_key: unknown, shape: readonly number[]) => jnp.broadcastTo(jnp.reshape(jnp.arange(0, 4, 1, 'float32'), [4, 1]), shape)
  const embed = new nn.Embed({ numEmbeddings: 4, features: 3, embeddingInit: init })
  const x = jnp.reshape(jnp.arange(4), [1, 4])
  const [y, v] = embed.initWithOutput(random.key(0), x)
  t.deepEqual(shapes(v), { params: { embedding: [4, 3] } })
  t.deepEqual(y.toArray(), [[[0, 0, 0], [1, 1, 1], [2, 2, 2], [3, 3, 3]]])
  const z: Tensor = embed.applyWith(v, { method: 'attend' }, jnp.ones([3]))
  t.deepEqual(z.toArray(), [0, 3, 6, 9])
})

test('Embed docstring: default init N(0, 1/features), negative indices wrap; bit-identical to Flax', (t) => {
  const embed = new nn.Embed({ numEmbeddings: 5, features: 3 })
  const idx = jnp.array([[0, 2], [4, -1]], 'int32')
  const v = embed.init(random.key(0), idx)
  assertMatches(t, v, golden.embed_init, 0)
  assertMatches(t, embed.apply(v, idx), golden.embed_lookup, 0)
  // the docstring's own lookup: the first three rows and the last three, reversed
  const rows: Tensor = embed.apply(v, jnp.array([[0, 1, 2], [-1, -2, -3]], 'int32'))
  const table = v.params.embedding.toArray() as number[][]
  t.deepEqual(rows.toArray(), [[table[0], table[1], table[2]], [table[4], table[3], table[2]]])
  // indices outside [-5, 5) give NaN rows (jnp.take's fill mode), as in Flax
  assertMatches(t, embed.apply(v, jnp.array([5, 7, -6], 'int32')), golden.embed_out_of_range, 0)
  assertMatches(t, embed.applyWith(v, { method: 'attend' }, jnp.reshape(jnp.linspace(-1, 1, 6), [2, 3])), golden.embed_attend, 1e-6)
})

test('Embed: integer inputs only (Flax ValueError); one embedding broadcasts; unsigned indices', (t) => {
  const embed = new nn.Embed({ numEmbeddings: 5, features: 3 })
  const v = embed.init(random.key(0), jnp.zeros([2], 'int32'))
  t.throws(() => embed.apply(v, jnp.zeros([2])), { instanceOf: ValueError, message: 'Input type must be an integer or unsigned integer.' })
  t.throws(() => embed.init(random.key(0), jnp.zeros([2], 'bool')), { instanceOf: ValueError, message: 'Input type must be an integer or unsigned integer.' })
  const u: Tensor = embed.apply(v, jnp.array([4, 0], 'uint8'))
  t.deepEqual(u.toArray(), [(v.params.embedding.toArray() as number[][])[4], (v.params.embedding.toArray() as number[][])[0]])
  // num_embeddings == 1: the single row broadcast to inputs.shape + (features,), whatever the index
  const one = new nn.Embed({ numEmbeddings: 1, features: 2, embeddingInit: nn.initializers.constant(0.5) })
  const v1 = one.init(random.key(0), jnp.zeros([1], 'int32'))
  t.deepEqual(one.apply(v1, jnp.array([[0, 3, -1]], 'int32')).toArray(), [[[0.5, 0.5], [0.5, 0.5], [0.5, 0.5]]])
})

// ---- Dropout -------------------------------------------------------------------------------

class MLP extends nn.Module {
  @nn.compact
  call(x: Tensor, train: boolean): Tensor {
    x = new nn.Dense({ features: 4 }).call(x)
    return new nn.Dropout({ rate: 0.5, deterministic: !train }).call(x)
  }
}

test('Dropout docstring: eval output, then the key(1) mask of Dropout_0; bit-identical to Flax', (t) => {
  const model = new MLP()
  const x = jnp.ones([1, 3])
  const v = model.init(random.key(0), x, false)
  assertMatches(t, v, golden.dropout_mlp_params, 0)
  assertMatches(t, model.apply(v, x, false), golden.dropout_mlp_eval, 1e-6)
  const y: Tensor = model.applyWith(v, { rngs: { dropout: random.key(1) } }, x, true)
  assertMatches(t, y, golden.dropout_mlp_train, 1e-6)
  t.deepEqual(Array.from(y.data, (a, i) => a === 0 || a === 2 * golden.dropout_mlp_eval.data[i]).every(Boolean), true)
})

const xs = jnp.reshape(jnp.arange(1, 25, 1, 'float32'), [4, 6])

test('Dropout masks as Flax: top level, params fallback, explicit rng, broadcast dims, other collection', (t) => {
  const d = new nn.Dropout({ rate: 0.3 })
  const apply = (m: nn.Module, rngs: Record<string, random.Key>, opts: nn.DropoutCallOptions = {}) =>
    m.applyWith({}, { rngs }, xs, { deterministic: false, ...opts })
  assertMatches(t, apply(d, { dropout: random.key(2) }), golden.dropout_top_level, 0)
  // no 'dropout' stream: the key falls back to 'params' (same path, same counter)
  assertMatches(t, apply(d, { params: random.key(2) }), golden.dropout_params_fallback, 0)
  assertMatches(t, d.applyWith({}, {}, xs, { deterministic: false, rng: random.key(5) }), golden.dropout_manual_rng, 0)
  assertMatches(t, apply(new nn.Dropout({ rate: 0.5, broadcastDims: [0] }), { dropout: random.key(3) }), golden.dropout_broadcast_dims_0, 0)
  assertMatches(t, apply(new nn.Dropout({ rate: 0.5, rngCollection: 'noise' }), { noise: random.key(4) }), golden.dropout_other_collection, 0)
})

test('Dropout limits (test_dropout_rate_limits, test_dropout): rate 0, rate 1, deterministic, keys', (t) => {
  const rngs = (k: number) => ({ dropout: random.key(k) })
  const y0: Tensor = new nn.Dropout({ rate: 0.0 }).applyWith({}, { rngs: rngs(0) }, xs, { deterministic: false })
  t.is(y0, xs, 'rate 0 returns the input itself')
  const y1: Tensor = new nn.Dropout({ rate: 1.0 }).applyWith({}, { rngs: rngs(0) }, xs, { deterministic: false })
  t.deepEqual(Array.from(y1.data), new Array(24).fill(0))
  const d = new nn.Dropout({ rate: 0.5 })
  const det = (k: number) => Array.from(d.applyWith({}, { rngs: rngs(k) }, xs, { deterministic: true }).data)
  t.deepEqual(det(1), det(2))
  t.deepEqual(det(1), Array.from(xs.data))
  const stoch = (k: number) => Array.from(d.applyWith({}, { rngs: rngs(k) }, xs, { deterministic: false }).data)
  t.notDeepEqual(stoch(1), stoch(2))
  t.deepEqual(stoch(1), stoch(1))
  // kept values are scaled by 1 / keep
  t.true(stoch(1).every((v, i) => v === 0 || v === 2 * xs.data[i]))
})

test('Dropout broadcast / manual rng (test_dropout_broadcast, test_dropout_manual_rng)', (t) => {
  const x = jnp.ones([10, 10, 10])
  const d = new nn.Dropout({ rate: 0.5, broadcastDims: [0, 2] })
  const y: Tensor = d.applyWith({}, { rngs: { dropout: random.key(0) } }, x, { deterministic: false })
  // every broadcast slice y[:, j, :] is all kept (value 2) or all dropped
  const v = y.toArray() as number[][][]
  for (let j = 0; j < 10; j++) {
    const slice = v.flatMap((a) => a[j])
    const s = slice.reduce((p, q) => p + q, 0)
    t.true(s === 0 || s === 200, `slice ${j} sums to ${s}`)
  }
  const m = new nn.Dropout({ rate: 0.5 })
  const a: Tensor = m.applyWith({}, {}, x, { deterministic: false, rng: random.key(7) })
  const b: Tensor = m.applyWith({}, {}, x, { deterministic: false, rng: random.keyData(random.key(7)) })
  t.deepEqual(Array.from(a.data), Array.from(b.data))
})

test('merge_param: deterministic given exactly once (Flax ValueErrors)', (t) => {
  t.throws(() => new nn.Dropout({ rate: 0.5 }).apply({}, xs), {
    instanceOf: ValueError,
    message: 'Parameter "deterministic" must be passed to the constructor or at call time.',
  })
  t.throws(() => new nn.Dropout({ rate: 0.5, deterministic: true }).apply({}, xs, { deterministic: true }), {
    instanceOf: ValueError,
    message: 'Parameter "deterministic" was passed to the constructor and at call time. Should be passed just once.',
  })
  t.is(nn.mergeParam('x', 1, null), 1)
  t.is(nn.mergeParam('x', undefined, false), false)
})

// ---- PReLU ---------------------------------------------------------------------------------

test('PReLU (linen_activation_test): negative_slope param 0.01, where(x >= 0, x, 0.01 x); as Flax', (t) => {
  const x = jnp.subtract(random.uniform(random.key(1), [2, 3]), 0.5)
  assertMatches(t, x, golden.prelu_x, 0)
  const [y, v] = new nn.PReLU().initWithOutput(random.key(0), x)
  assertMatches(t, v, golden.prelu_params, 0)
  t.is(v.params.negative_slope.dtype, 'float32')
  t.deepEqual([...v.params.negative_slope.shape], [])
  assertMatches(t, y, golden.prelu_y, 0)
  const expected = Array.from(x.data, (a) => (a < 0 ? Math.fround(Math.fround(0.01) * a) : a))
  t.deepEqual(Array.from(y.data), expected)
})
