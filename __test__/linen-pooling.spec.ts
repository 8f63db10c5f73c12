// lax.reduceWindow and flax.linen pooling against real JAX / Flax (scripts/golden/pooling.py →
// golden/pooling.json). max / min are exact; sums (add, avg) and the composed product are
// checked within 1e-6 (XLA may take a window in another order). jit gives the eager bits.
import test, { type ExecutionContext } from 'ava'
import { jit, jnp, lax, nn, type Tensor } from '../ts/index'
import { assertClose, bitsTensor, loadLocalGolden } from './helpers/golden'

const G = loadLocalGolden('pooling').expect
const T = (name: string): Tensor => bitsTensor(G[name])

function same(t: ExecutionContext, got: Tensor, name: string, tol = 0): void {
  const want = T(name)
  t.deepEqual([...got.shape], [...want.shape], `${name}: shape`)
  const [g, w] = [got.data as Float32Array, want.data as Float32Array]
  for (let i = 0; i < w.length; i++) {
    const ok = Number.isNaN(w[i]) ? Number.isNaN(g[i]) : Math.abs(g[i] - w[i]) <= tol * (1 + Math.abs(w[i]))
    if (!ok) return void t.fail(`${name}[${i}]: ${g[i]} vs ${w[i]}`)
  }
  t.pass()
}

const x = T('x')
const y = T('y')

test('lax.reduceWindow: add / max / min with identity and other inits, SAME / VALID / explicit (negative) padding, a composed computation', (t) => {
  same(t, lax.reduceWindow(x, 0, 'add', [1, 3, 2, 1], [1, 2, 2, 1], 'SAME'), 'rw_add', 1e-6)
  same(t, lax.reduceWindow(x, 1.5, 'add', [1, 3, 2, 1], [1, 2, 1, 1], [[0, 0], [1, 2], [0, 1], [0, 0]]), 'rw_add_init', 1e-6)
  same(t, lax.reduceWindow(x, -Infinity, 'max', [1, 3, 3, 1], [1, 2, 2, 1], 'VALID'), 'rw_max')
  same(t, lax.reduceWindow(x, 0.25, 'max', [1, 2, 2, 2], [1, 1, 1, 1], [[0, 0], [1, 1], [-1, 2], [0, 1]]), 'rw_max_init')
  same(t, lax.reduceWindow(x, Infinity, 'min', [2, 2, 1, 3], [1, 3, 1, 1], 'SAME'), 'rw_min')
  same(t, lax.reduceWindow(x, 1, (a, b) => jnp.multiply(a, b), [1, 2, 2, 1], [1, 2, 2, 1], [[0, 0], [0, 1], [1, 0], [0, 0]]), 'rw_mul', 1e-6)
})

test('nn.avgPool / maxPool / minPool / pool equal Flax: strides, SAME, pairs, countIncludePad, unbatched, 1-d and 3-d windows', (t) => {
  same(t, nn.avgPool(y, [2, 2], { strides: [2, 2] }), 'avg_valid', 1e-6)
  same(t, nn.avgPool(y, [3, 3], { strides: [2, 2], padding: 'SAME' }), 'avg_same', 1e-6)
  same(t, nn.avgPool(y, [3, 3], { strides: [2, 2], padding: 'SAME', countIncludePad: false }), 'avg_same_nopad', 1e-6)
  same(t, nn.avgPool(y, [2, 3], { padding: [[1, 0], [2, 1]], countIncludePad: false }), 'avg_pairs_nopad', 1e-6)
  same(t, nn.maxPool(y, [3, 3], { strides: [2, 2], padding: 'SAME' }), 'max_3x3_s2')
  same(t, nn.maxPool(y, [2, 2], { strides: [1, 2], padding: [[1, 1], [0, 1]] }), 'max_pairs')
  same(t, nn.minPool(y, [2, 3], { strides: [1, 1] }), 'min_valid')
  const y0 = jnp.squeeze(lax.slice(y, [0, 0, 0, 0], [1, 9, 8, 4]), 0)
  same(t, nn.pool(y0, 0, 'add', [2, 2], { strides: [1, 1], padding: 'VALID' }), 'pool_unbatched', 1e-6)
  same(t, nn.avgPool(y0, [3, 3], { padding: 'SAME', countIncludePad: false }), 'avg_unbatched_nopad', 1e-6)
  same(t, nn.maxPool(T('z1'), [3], { strides: [2], padding: 'SAME' }), 'max_1d')
  same(t, nn.avgPool(T('z3'), [2, 2, 3], { strides: [2, 1, 3], padding: 'SAME', countIncludePad: false }), 'avg_3d', 1e-6)
})

test('pooling under jit gives the eager bits', (t) => {
  const f = jit((a: Tensor) => [nn.maxPool(a, [3, 3], { strides: [2, 2], padding: 'SAME' }), nn.avgPool(a, [3, 3], { padding: 'SAME', countIncludePad: false })])
  const [m, a] = f(y)
  t.deepEqual(Array.from(m.data), Array.from(nn.maxPool(y, [3, 3], { strides: [2, 2], padding: 'SAME' }).data))
  t.deepEqual(Array.from(a.data), Array.from(nn.avgPool(y, [3, 3], { padding: 'SAME', countIncludePad: false }).data))
})

test('reduceWindow and pooling: bad arguments raise coded errors naming what was expected', (t) => {
  const err = (f: () => unknown) => {
    const e = t.throws(f) as Error & { code: string }
    return `${e.code}: ${e.message}`
  }
  t.regex(err(() => lax.reduceWindow(x, 0, 'add', [1, 2], [1, 1], 'VALID')), /^E_ARG: reduceWindow: windowDimensions has 2 entries; expected one per axis of the operand \[2, 7, 6, 3\]/)
  t.regex(err(() => lax.reduceWindow(x, 0, 'add', [1, 2, 2, 1], [1, 0, 1, 1], 'VALID')), /^E_ARG: reduceWindow: windowStrides must be positive integers/)
  t.regex(err(() => lax.reduceWindow(x, 0, 'mean' as 'add', [1, 2, 2, 1], [1, 1, 1, 1], 'VALID')), /^E_TYPE: reduceWindow: computation must be 'add', 'max', 'min' or a function/)
  t.regex(err(() => lax.reduceWindow(x, 0, (a, b) => jnp.add(a, b), [1, 2, 2, 1], [1, 1, 1, 1], [[0, 0], [-1, 0], [0, 0], [0, 0]])), /^E_ARG: reduceWindow: negative padding needs computation/)
  t.regex(err(() => nn.maxPool(jnp.zeros([4, 3]), [2, 2])), /^E_SHAPE: pool: inputs of shape \[4, 3\] need .* at least 3 axes/)
  t.regex(err(() => nn.maxPool(y, [2, 2], { strides: [1] })), /^E_ARG: pool: len\(\[2,2\]\) must equal len\(\[1\]\)/)
  t.regex(err(() => nn.avgPool(y, [2, 2], { padding: [[1, 1]] })), /^E_TYPE: pool: padding .* must specify pads for same number of dims/)
  t.regex(err(() => nn.maxPool(jnp.zeros([1, 4, 4, 2], 'int32'), [2, 2])), /E_DTYPE/)
})
