// random.config: JAX's original threefry layout (jax_threefry_partitionable=False) with the
// known answers upstream asserts (spec g.3, g.6; flax-cases 115–118), the seed offset and the
// bits dtype errors (case 119).
import test from 'ava'
import { jnp, nn, random, type Tensor } from '../ts/index'
import { ValueError } from '../ts/errors'
import { firstMismatch } from './helpers/close'
import { loadLocalGolden } from './helpers/golden'
import { assertMatches } from './helpers/variables'

const original = <T>(fn: () => T): T => random.withConfig({ threefryPartitionable: false }, fn)
const words = (keys: random.Key[]) => keys.map((k) => Array.from(k.words))

test('split (testPRNGValues, case 115): original layout known answer; partitionable split is fold_in', (t) => {
  t.deepEqual(
    original(() => words(random.split(random.key(0), 4))),
    [[2285895361, 1501764800], [1518642379, 4090693311], [433833334, 4221794875], [839183663, 3740430601]],
  )
  // fold_in is the same in both layouts
  t.deepEqual(original(() => Array.from(random.foldIn(random.key(0), 4).words)), [2285895361, 433833334])
  // partitionable (default): split(k, n)[i] == fold_in(k, i) (test_threefry_split_fold_in_symmetry)
  const k = random.key(72)
  t.deepEqual(words(random.split(k, 3)), [0, 1, 2].map((i) => Array.from(random.foldIn(k, i).words)))
  t.deepEqual(words(random.split(random.key(0), 4))[0], [1797259609, 2579123966])
  t.is(original(() => random.config.threefryPartitionable), false)
  t.true(random.config.threefryPartitionable, 'restored afterwards')
})

test('randint (testPRNGValues, case 116): original [[2,1,3],[6,1,5],[6,3,4]], partitionable [[5,0,0],[5,3,3],[0,7,5]]', (t) => {
  const r = original(() => random.randint(random.key(0), [3, 3], 0, 8))
  t.is(r.dtype, 'int32')
  t.deepEqual(r.toArray(), [[2, 1, 3], [6, 1, 5], [6, 3, 4]])
  t.deepEqual(random.randint(random.key(0), [3, 3], 0, 8).toArray(), [[5, 0, 0], [5, 3, 3], [0, 7, 5]])
})

test('random bits seed 1701 (testRngRandomBits, case 117), original layout; uint64 gives the uint32 words in x32', (t) => {
  const k = random.key(1701)
  const bits = (dtype: random.BitsDType) => original(() => random.bits(k, [3], dtype))
  t.deepEqual(Array.from(bits('uint8').data), [216, 115, 43])
  t.deepEqual(Array.from(bits('uint16').data), [41682, 1300, 55017])
  t.deepEqual(Array.from(bits('uint32').data), [56197195, 4200222568, 961309823])
  const b64 = bits('uint64')
  t.is(b64.dtype, 'uint32')
  t.deepEqual(Array.from(b64.data), [56197195, 4200222568, 961309823])
})

test('_RANDOM_VALUES_CASES (case 118), original layout', (t) => {
  const k = random.key(942802475)
  t.deepEqual(Array.from(original(() => random.bits(k, [5], 'uint8')).data), [10, 158, 82, 54, 158])
  t.deepEqual(Array.from(original(() => random.bits(k, [5], 'uint16')).data), [6738, 38161, 50695, 57337, 61600])
  t.deepEqual(Array.from(original(() => random.bits(k, [5])).data), [1978747883, 4134381225, 3628107870, 689687174, 2788938207])
  // upstream prints 6 decimals
  const close = (x: Tensor, e: number[]) => t.is(firstMismatch(x.data, e, 0, 1e-6), undefined)
  close(original(() => random.uniform(random.key(1338574713), [5])), [0.298671, 0.073213, 0.873356, 0.260549, 0.412797])
  close(original(() => random.normal(random.key(1193674498), [5])), [-1.173234, -1.511662, 0.070593, -0.099764, 1.052845])
  close(original(() => random.truncatedNormal(random.key(2846034731), 0, 2, [5])), [0.582807, 1.709771, 0.159513, 0.861376, 0.36148])
  t.deepEqual(Array.from(original(() => random.randint(random.key(1319372649), [5], 0, 10)).data), [0, 5, 7, 7, 5])
  // bernoulli follows uniform's layout
  const u = original(() => random.uniform(random.key(3), [64]))
  const b = original(() => random.bernoulli(random.key(3), 0.4, [64]))
  t.deepEqual(Array.from(b.data), Array.from(u.data, (v) => (v < Math.fround(0.4) ? 1 : 0)))
})

test('the original layout reaches parameters and masks: Dense init and Dropout as Flax under the flag', (t) => {
  const golden = loadLocalGolden('layers').expect
  const v = original(() => new nn.Dense({ features: 4 }).init(random.key(0), jnp.ones([1, 3])))
  assertMatches(t, v, golden.original_layout_dense, 0)
  const xs = jnp.reshape(jnp.arange(1, 25, 1, 'float32'), [4, 6])
  const y = original(() => new nn.Dropout({ rate: 0.3 }).applyWith({}, { rngs: { dropout: random.key(2) } }, xs, { deterministic: false }))
  assertMatches(t, y, golden.original_layout_dropout, 0)
  // the default layout gives other numbers, and withConfig restores the flag (also on a throw)
  t.notDeepEqual(Array.from(new nn.Dense({ features: 4 }).init(random.key(0), jnp.ones([1, 3])).params.kernel.data), golden.original_layout_dense.params.kernel.data)
  t.throws(() => original(() => { throw new Error('x') }))
  t.true(random.config.threefryPartitionable)
})

test('seed offset (test_random_seed_offset, case 119): key(17) differs under an offset of 3; it is key(20)', (t) => {
  const plain = Array.from(random.key(17).words)
  const offset = random.withConfig({ randomSeedOffset: 3 }, () => Array.from(random.key(17).words))
  t.notDeepEqual(plain, offset)
  t.deepEqual(offset, Array.from(random.key(20).words))
  // the int32 seed wraps: -1 + 3 = 2
  t.deepEqual(random.withConfig({ randomSeedOffset: 3 }, () => Array.from(random.key(-1).words)), [0, 2])
})

test('bits dtype errors (test_random_bits_error, case 119): JAX ValueError text, code E_DTYPE', (t) => {
  for (const dtype of ['int8', 'float16', 'int32', 'float32']) {
    const err = t.throws(() => random.bits(random.key(0), [3, 4], dtype as random.BitsDType), { instanceOf: ValueError })
    t.regex(err.message, /dtype argument .* must be an unsigned int dtype/)
    t.is(err.message, `dtype argument to \`bits\` must be an unsigned int dtype, got ${dtype}`)
    t.is((err as ValueError & { code: string }).code, 'E_DTYPE')
  }
})
