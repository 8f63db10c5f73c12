// The transformer issue's ops against real JAX (scripts/golden/lax_ops.py → golden/lax_ops.json):
// slices, pad, split/tile/repeat, sort/argsort/top_k/searchsorted, any/all, and
// random.permutation / random.choice. Every comparison is exact (dtype, shape, bits).
import test, { type ExecutionContext } from 'ava'
import { jit, jnp, lax, random } from '../ts/index'
import { native } from '../ts/native'
import { Tensor } from '../ts/tensor'
import { assertSameBits } from './helpers/jit'
import { bitsTensor as fromGolden, loadLocalGolden, type GoldenBits } from './helpers/golden'

const G = loadLocalGolden('lax_ops').expect

const T = (name: string): Tensor => fromGolden(G[name])

function sameAs(t: ExecutionContext, got: Tensor, want: GoldenBits, name: string): void {
  const w = fromGolden(want)
  t.is(got.dtype, w.dtype, `${name}: dtype`)
  t.deepEqual([...got.shape], [...w.shape], `${name}: shape`)
  const bytes = (x: Tensor) => Buffer.from(x.data.buffer, x.data.byteOffset, x.data.byteLength)
  t.true(bytes(got).equals(bytes(w)), `${name}: values ${Array.from(got.data).slice(0, 12)} vs ${Array.from(w.data).slice(0, 12)}`)
}
const same = (t: ExecutionContext, got: Tensor, name: string) => sameAs(t, got, G[name], name)

const x = T('x')

test('lax.slice, dynamicSlice (numbers, traced index, clamping) and dynamicUpdateSlice equal JAX', (t) => {
  same(t, lax.slice(x, [1, 0, 2], [4, 5, 6], [2, 3, 1]), 'slice')
  same(t, lax.dynamicSlice(x, [1, jnp.full([], 3, 'int32'), 2], [2, 2, 3]), 'dslice')
  same(t, lax.dynamicSlice(x, [3, -4, 5], [2, 2, 3]), 'dslice_clamped')
  const u = T('u')
  same(t, lax.dynamicUpdateSlice(x, u, [2, 0, 1]), 'dus')
  same(t, lax.dynamicUpdateSlice(x, u, [9, -3, 5]), 'dus_clamped')
  // Eager dynamicUpdateSlice never writes into its operand.
  same(t, x, 'x')
})

test('jnp.pad in every mode, including pads wider than the axis, equals JAX', (t) => {
  const p = T('p')
  for (const mode of ['constant', 'edge', 'reflect', 'symmetric', 'wrap'] as const) {
    same(t, jnp.pad(p, [[2, 1], [3, 5]], { mode }), `pad_${mode}`)
    same(t, jnp.pad(p, [[7, 4], [9, 6]], { mode }), `pad_big_${mode}`)
  }
  same(t, jnp.pad(p, 2, { constantValues: 7.5 }), 'pad_const7')
  same(t, jnp.pad(jnp.arange(5, undefined, 1, 'int32'), [1, 2], { mode: 'reflect' }), 'pad_int')
})

test('sort and argsort (NaN, -0, ties, descending, axes) equal JAX', (t) => {
  const s = T('s')
  same(t, jnp.sort(s), 'sort')
  same(t, jnp.argsort(s), 'argsort')
  same(t, jnp.sort(s, -1, { descending: true }), 'sort_desc')
  same(t, jnp.argsort(s, -1, { descending: true }), 'argsort_desc')
  const m = T('m')
  same(t, jnp.argsort(m, 0), 'argsort_m0')
  same(t, jnp.sort(m, 1), 'sort_m1')
  same(t, jnp.sort(m, null), 'sort_mnone')
  same(t, jnp.argsort(m, 1, { descending: true }), 'argsort_m_desc')
})

test('lax.topK, searchsorted, any and all equal JAX', (t) => {
  const [v, i] = lax.topK(T('s'), 12)
  same(t, v, 'topk_v')
  same(t, i, 'topk_i')
  const [mv, mi] = lax.topK(T('m'), 3)
  same(t, mv, 'topk_m_v')
  same(t, mi, 'topk_m_i')
  same(t, jnp.searchsorted(T('a'), T('q')), 'ss_left')
  same(t, jnp.searchsorted(T('a'), T('q'), { side: 'right' }), 'ss_right')
  same(t, jnp.searchsorted(jnp.array([1, 3, 3, 7], 'int32'), jnp.array([[0, 3], [5, 9]], 'int32'), { side: 'right' }), 'ss_int')
  const b = T('b')
  same(t, jnp.any(b, 0), 'any0')
  same(t, jnp.all(b, 1), 'all1')
  same(t, jnp.any(b), 'any')
  same(t, jnp.all(jnp.notEqual(b, 0), 1, { keepdims: true }), 'all_keep')
})

test('split, arraySplit, tile and repeat equal JAX', (t) => {
  const check = (got: Tensor[], name: string) => {
    t.is(got.length, G[name].length, `${name}: pieces`)
    got.forEach((g, i) => sameAs(t, g, G[name][i], `${name}[${i}]`))
  }
  check(jnp.split(x, 2, 0), 'split')
  check(jnp.split(x, [1, 4], 2), 'split_idx')
  check(jnp.arraySplit(x, 4, 2), 'array_split')
  const p = T('p')
  same(t, jnp.tile(p, [2, 1, 3]), 'tile')
  same(t, jnp.repeat(p, 2, 1), 'repeat')
  same(t, jnp.repeat(p, [1, 0, 3], 0), 'repeat_list')
  same(t, jnp.repeat(p, 2), 'repeat_flat')
  const e = t.throws(() => jnp.split(x, 3, 0)) as Error & { code: string }
  t.is(e.code, 'E_ARG')
  t.regex(e.message, /equal division/)
})

test('random.permutation and random.choice equal JAX bit for bit', (t) => {
  const k = random.key(3)
  same(t, random.permutation(k, 10), 'perm10')
  same(t, random.permutation(k, x, { axis: 1 }), 'perm_x')
  same(t, random.permutation(k, x, { axis: 2, independent: true }), 'perm_ind')
  same(t, random.permutation(random.key(5), 2000), 'perm2000')
  same(t, random.choice(k, 50, { shape: [3, 4] }), 'choice_r')
  same(t, random.choice(k, 50, { shape: [7], replace: false }), 'choice_nr')
  const w = T('w')
  same(t, random.choice(k, 7, { shape: [20], p: w }), 'choice_p')
  same(t, random.choice(k, 7, { shape: [4], replace: false, p: w }), 'choice_p_nr')
  same(t, random.choice(k, x, { shape: [2, 3], axis: 1 }), 'choice_x')
  same(t, random.choice(random.key(9), x, { shape: [3], replace: false, axis: 2 }), 'choice_x_nr')
})

test('the new ops trace under jit and give the eager bits (dynamic index traced, key traced)', (t) => {
  const u = T('u')
  const f = (x: Tensor, u: Tensor, i: Tensor) => {
    const upd = lax.dynamicUpdateSlice(x, u, [i, 0, 1])
    const win = lax.dynamicSlice(upd, [i, 0, 0], [2, 5, 6])
    const [v, idx] = lax.topK(win, 2)
    return {
      upd, win, v, idx,
      sorted: jnp.sort(win, 1), arg: jnp.argsort(win, -1, { descending: true }),
      padded: jnp.pad(win, [[1, 0], [0, 2], [3, 3]], { mode: 'reflect' }),
      ss: jnp.searchsorted(jnp.sort(jnp.reshape(win, [-1])), u),
      anyPos: jnp.any(jnp.greater(win, 1), [1, 2]),
      parts: jnp.split(win, 3, 2), tiled: jnp.tile(u, [2, 1, 1]), rep: jnp.repeat(u, 3, 2),
      sl: lax.slice(upd, [0, 1, 0], [4, 5, 6], [3, 2, 2]),
    }
  }
  const g = jit(f)
  for (const i of [0, 2, 7]) {
    const idx = jnp.full([], i, 'int32')
    assertSameBits(t, g(x, u, idx), f(x, u, idx))
  }
  const sample = (k: random.Key) => ({ perm: random.permutation(k, x, { axis: 1 }), c: random.choice(k, 7, { shape: [9], p: T('w') }), nr: random.choice(k, 20, { shape: [5], replace: false }) })
  const gs = jit(sample)
  for (const seed of [1, 2]) assertSameBits(t, gs(random.key(seed)), sample(random.key(seed)))
})

test('bad arguments give coded errors naming the argument (both shapes on a mismatch)', (t) => {
  const err = (f: () => unknown, code: string, re: RegExp) => {
    const e = t.throws(f) as Error & { code: string }
    t.is(e.code, code, e.message)
    t.regex(e.message, re)
  }
  err(() => lax.slice(x, [0, 0], [1, 1]), 'E_ARG', /slice: start_indices has 2 entries for an operand of shape \[4, 5, 6\]/)
  err(() => lax.slice(x, [0, 0, 0], [5, 1, 1]), 'E_ARG', /start 0 and limit 5 must satisfy 0 <= start <= limit <= 4/)
  err(() => lax.slice(x, [0, 0, 0], [1, 1, 1], [1, 0, 1]), 'E_ARG', /strides\[1\] is 0/)
  err(() => lax.dynamicSlice(x, [0, 0], [1, 1, 1]), 'E_SHAPE', /start_indices has shape \[2\]; expected one index per axis of the operand, shape \[3\]/)
  err(() => lax.dynamicSlice(x, [0, 0, 0], [5, 1, 1]), 'E_SHAPE', /slice_sizes \[5, 1, 1\] .* shape \[4, 5, 6\]/)
  err(() => lax.dynamicSlice(x, [0, 0.5, 0], [1, 1, 1]), 'E_TYPE', /dynamicSlice: startIndices: expected an array of integers, got 0.5 at index 1/)
  err(() => lax.dynamicUpdateSlice(x, jnp.zeros([1, 6, 1]), [0, 0, 0]), 'E_SHAPE', /update has shape \[1, 6, 1\] and operand has shape \[4, 5, 6\]/)
  err(() => lax.dynamicUpdateSlice(x, jnp.zeros([1, 1, 1], 'int32'), [0, 0, 0]), 'E_DTYPE', /update has dtype int32 and operand has dtype float32/)
  err(() => jnp.pad(x, [[1, 1]], { mode: 'mean' as 'edge' }), 'E_ARG', /mode "mean" is not supported/)
  err(() => jnp.pad(x, [[1, 1], [1, 1]]), 'E_ARG', /padWidth has 2 pairs for an array of rank 3/)
  err(() => jnp.pad(jnp.zeros([0, 2]), 1, { mode: 'edge' }), 'E_SHAPE', /axis 0 of shape \[0, 2\] is empty/)
  err(() => jnp.pad(x, [[-1, 1]]), 'E_ARG', /widths must be non-negative/)
  err(() => lax.topK(x, 7), 'E_ARG', /top_k: k = 7 must be between 0 and the last axis of the operand's shape \[4, 5, 6\]/)
  err(() => jnp.sort(jnp.full([], 1)), 'E_SHAPE', /sort: x is a scalar/)
  err(() => jnp.argsort(x, 3), 'E_ARG', /argsort: axis/)
  err(() => jnp.searchsorted(x, x), 'E_SHAPE', /searchsorted: a has shape \[4, 5, 6\]; expected a 1-D array/)
  err(() => jnp.any(x, 5), 'E_ARG', /any: axis/)
  err(() => jnp.repeat(x, [1, 2], 0), 'E_SHAPE', /repeats has 2 entries for axis 0 of length 4/)
  const v = t.throws(() => random.choice(random.key(0), 3, { shape: [4], replace: false })) as Error
  t.is(v.constructor.name, 'ValueError')
  t.regex(v.message, /Cannot take a larger sample \(size 4\) than population \(size 3\) when 'replace=False'/)
})

test('eager calls free their temporaries (no native bytes left behind)', (t) => {
  const u = T('u')
  const w = T('w')
  const a = T('a')
  const one = jnp.full([], 1, 'int32')
  const run = () => {
    const outs = [
      lax.dynamicUpdateSlice(x, u, [one, 0, 0]), lax.dynamicSlice(x, [1, 0, 0], [1, 1, 1]),
      jnp.searchsorted(a, 0.5), ...lax.topK(x, 2), jnp.repeat(x, 2, 1), jnp.tile(x, 2), ...jnp.split(x, 2),
      random.permutation(random.key(1), x, { axis: 2 }), random.choice(random.key(1), 7, { shape: [3], p: w }),
      random.choice(random.key(1), 7, { shape: [3], replace: false, p: w }), random.choice(random.key(1), x, { shape: [2], replace: false }),
    ]
    for (const o of outs) o.dispose()
  }
  run()
  const before = native.liveBytes()
  for (let i = 0; i < 3; i++) run()
  t.is(native.liveBytes() - before, 0)
})
