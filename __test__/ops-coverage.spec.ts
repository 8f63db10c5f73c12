// Ops added for issue 10 against real JAX (goldens from scripts/golden/ops_coverage.py; float32
// arrays are stored as bit patterns, so inputs are exact and comparisons are bit for bit).
// Exactness vs JAX 0.10.2 on CPU, asserted below:
//   bit-exact: log1p, isnan, isfinite, sin, cos (glibc's sinf/cosf, which XLA calls), exp, expm1,
//     tanh (XLA's own kernels), remainder/mod, floorDivide (float, int, uint, number divisor),
//     flip, outer, takeAlongAxis, cumsum, cumprod, random.gumbel, random.categorical (gumbel
//     through jnp.log, which follows XLA's log bit for bit);
//   dot, tensordot: float32 in matmul's summation order, within float32 rounding of the sums
//     (1e-6 rel.); integers exact in their own dtype (wrapping, as JAX).
import test, { type ExecutionContext } from 'ava'
import { jit, jnp, nn, random, tree } from '../ts/index'
import { Tensor } from '../ts/tensor'
import { assertSameBits } from './helpers/jit'
import { loadLocalGolden } from './helpers/golden'

const G = loadLocalGolden('ops_coverage').expect

interface Arr {
  shape: number[]
  dtype: string
  bits?: number[]
  data?: (number | boolean)[]
}

/** A golden array as a tensor (float32 from its bits). */
function T(name: string): Tensor {
  const g: Arr = G[name]
  if (g.bits) return jnp.array(new Float32Array(Uint32Array.from(g.bits).buffer)).reshape(g.shape)
  const dt = g.dtype === 'bool' ? 'bool' : g.dtype === 'uint32' ? 'uint32' : 'int32'
  return jnp.array(g.data!.map(Number), dt).reshape(g.shape)
}

/** Exact equality with the golden: dtype, shape and every bit. */
function same(t: ExecutionContext, got: Tensor, name: string): void {
  const want = T(name)
  t.is(got.dtype, want.dtype, `${name}: dtype`)
  t.deepEqual([...got.shape], [...want.shape], `${name}: shape`)
  const bytes = (x: Tensor) => Buffer.from(x.data.buffer, x.data.byteOffset, x.data.byteLength)
  const diff = got.data.findIndex((v, i) => !Object.is(v, want.data[i]) && !(Number.isNaN(v) && Number.isNaN(want.data[i] as number)))
  t.is(diff, -1, `${name}: first difference at ${diff}: ${got.data[diff]} vs ${want.data[diff]}`)
  if (got.dtype !== 'float32') t.true(bytes(got).equals(bytes(want)), `${name}: bytes`)
}

function close(t: ExecutionContext, got: Tensor, name: string, rel = 1e-6): void {
  const want = T(name)
  t.deepEqual([...got.shape], [...want.shape], `${name}: shape`)
  const scale = Math.max(...Array.from(want.data as Float32Array, Math.abs), 1)
  got.data.forEach((v, i) => {
    if (Math.abs((v as number) - (want.data[i] as number)) > rel * scale * 4) t.fail(`${name}[${i}]: ${v} vs ${want.data[i]}`)
  })
  t.pass()
}

function code(t: ExecutionContext, fn: () => unknown, expected: string, message?: RegExp): void {
  const err = t.throws(fn) as Error & { code?: string }
  t.is(err.code, expected, err.message)
  if (message) t.regex(err.message, message)
}

test('log1p, isnan, isfinite: JAX bit for bit (specials, subnormals, sweeps over every branch)', (t) => {
  const x = T('x')
  same(t, jnp.log1p(x), 'log1p')
  same(t, jnp.isnan(x), 'isnan')
  same(t, jnp.isfinite(x), 'isfinite')
  t.is(jnp.isnan(jnp.array([1, 2], 'int32')).dtype, 'bool')
  t.deepEqual(Array.from(jnp.isfinite(jnp.array([1, 2], 'int32')).data), [1, 1])
})

test('sin, cos, exp, expm1, tanh: JAX bit for bit (sweeps, thresholds, huge and subnormal inputs)', (t) => {
  const x = T('x')
  same(t, jnp.sin(x), 'sin')
  same(t, jnp.cos(x), 'cos')
  same(t, jnp.exp(x), 'exp')
  same(t, jnp.expm1(x), 'expm1')
  // every branch threshold and its neighbours, floats nearest multiples of pi/2, 3.4e38, random bits
  const xe = T('xe')
  same(t, jnp.sin(xe), 'sin_e')
  same(t, jnp.cos(xe), 'cos_e')
  same(t, jnp.exp(xe), 'exp_e')
  same(t, jnp.expm1(xe), 'expm1_e')
  same(t, jnp.tanh(xe), 'tanh_e')
  // integers are computed in float32, as jnp
  t.is(jnp.sin(jnp.array([1, 2], 'int32')).dtype, 'float32')
})

test('remainder (mod) and floorDivide: Python sign semantics, JAX bit for bit', (t) => {
  const [a, b] = [T('fa'), T('fb')]
  same(t, jnp.remainder(a, b), 'remainder_f')
  same(t, jnp.mod(a, b), 'remainder_f')
  same(t, jnp.floorDivide(a, b), 'floor_divide_f')
  same(t, jnp.remainder(a, 3), 'remainder_f_scalar')
  same(t, jnp.floorDivide(a, 3), 'floor_divide_f_scalar')
  const [ia, ib] = [T('ia'), T('ib')]
  same(t, jnp.remainder(ia, ib), 'remainder_i')
  same(t, jnp.floorDivide(ia, ib), 'floor_divide_i')
  same(t, jnp.mod(ia, 4), 'mod_i_scalar')
  same(t, jnp.remainder(T('ua'), T('ub')), 'remainder_u')
  same(t, jnp.floorDivide(T('ua'), T('ub')), 'floor_divide_u')
  t.deepEqual(Array.from(jnp.mod(jnp.array([-7, 7], 'int32'), 3).data), [2, 1])
  code(t, () => jnp.remainder(jnp.array([true]), jnp.array([true])), 'E_DTYPE', /remainder: bool operands/)
})

test('flip over all, one and several axes', (t) => {
  const m = jnp.arange(24).reshape([2, 3, 4])
  same(t, jnp.flip(m), 'flip_all')
  same(t, jnp.flip(m, 1), 'flip_1')
  same(t, jnp.flip(m, [0, -1]), 'flip_02')
  code(t, () => jnp.flip(m, 3), 'E_ARG', /flip: axis/)
})

test('dot, outer, tensordot: JAX values (outer exactly; sums within float32 rounding)', (t) => {
  const [p, q, v, w, t3, t4] = ['p', 'q', 'v', 'w', 't3', 't4'].map(T)
  close(t, jnp.dot(p, q), 'dot_mm')
  close(t, jnp.dot(p, v), 'dot_mv')
  close(t, jnp.dot(v, w), 'dot_vv')
  same(t, jnp.dot(p, jnp.full([], 2.5)), 'dot_scalar')
  close(t, jnp.dot(t3, t4), 'dot_nd')
  const q0 = jnp.squeeze(jnp.take(q, [0], 1), 1)
  same(t, jnp.outer(v, q0), 'outer')
  close(t, jnp.tensordot(t3, t4), 'tensordot_2')
  close(t, jnp.tensordot(t3, jnp.squeeze(jnp.take(t4, [0], 0), 0), 1), 'tensordot_1')
  close(t, jnp.tensordot(t3, t4, [[1, 2], [0, 1]]), 'tensordot_pairs')
  same(t, jnp.tensordot(v, jnp.take(w, [0, 1, 2]), 0), 'tensordot_0')
  code(t, () => jnp.dot(p, p), 'E_SHAPE', /dot: a has shape \[5, 7\] and b has shape \[5, 7\]/)
  code(t, () => jnp.tensordot(t3, t4, 4), 'E_ARG', /tensordot: axes = 4/)
  code(t, () => jnp.tensordot(t3, t4, 3), 'E_SHAPE', /contracted axes a\[0\] = 2 and b\[0\] = 3 differ/)
  code(t, () => jnp.tensordot(t3, t4, [[1], [0, 1]]), 'E_ARG', /pair up/)
})

test('dot and tensordot of integers stay in their dtype, exact and wrapping, as JAX (bool: any of the ands)', (t) => {
  const a = jnp.array([[1, 2, 3], [4, 5, 6]], 'int32')
  const b = jnp.array([[7, 8], [9, 10], [11, 12]], 'int32')
  const r = jnp.dot(a, b)
  t.is(r.dtype, 'int32')
  t.deepEqual(r.toArray(), [[58, 64], [139, 154]])
  t.deepEqual(jnp.tensordot(a, b, 1).toArray(), [[58, 64], [139, 154]])
  // 2147483647·2 + 2·3 wraps to 4 in int32; 100·2 + 100·1 = 300 wraps to 44 in int8.
  t.deepEqual(jnp.dot(jnp.array([[2147483647, 2]], 'int32'), jnp.array([2, 3], 'int32')).toArray(), [4])
  const i8 = jnp.dot(jnp.array([[100, 100]], 'int8'), jnp.array([2, 1], 'int8'))
  t.is(i8.dtype, 'int8')
  t.deepEqual(i8.toArray(), [44])
  const bo = jnp.dot(jnp.array([[true, false], [false, false]]), jnp.array([true, true]))
  t.is(bo.dtype, 'bool')
  t.deepEqual(bo.toArray(), [true, false])
})

test('takeAlongAxis: fill (negative wrap, out of range), clip, flattened, argsort order; integer indices only', (t) => {
  const xa = T('xa')
  same(t, jnp.takeAlongAxis(xa, T('ix'), 1), 'take_along_1')
  same(t, jnp.takeAlongAxis(xa, jnp.array([[2, 0, 1, 5]], 'int32'), 0), 'take_along_0')
  same(t, jnp.takeAlongAxis(xa, [11, 0, -1, 12], null), 'take_along_none')
  same(t, jnp.takeAlongAxis(xa, T('ix'), 1, { mode: 'clip' }), 'take_along_clip')
  same(t, jnp.takeAlongAxis(xa, T('argsort'), 1), 'take_along_sorted')
  code(t, () => jnp.takeAlongAxis(xa, jnp.array([[0.5]]), 1), 'E_DTYPE', /take_along_axis: indices has dtype float32; expected an integer dtype/)
  code(t, () => jnp.takeAlongAxis(xa, jnp.array([0], 'int32'), 1), 'E_SHAPE', /same number of dimensions/)
})

test('cumsum and cumprod: XLA order (bit-exact to length 1000), every axis, int and bool', (t) => {
  const [c, c2] = [T('c'), T('c2')]
  same(t, jnp.cumsum(c), 'cumsum')
  same(t, jnp.cumsum(c2, 0), 'cumsum_0')
  same(t, jnp.cumsum(c2, 1), 'cumsum_1')
  same(t, jnp.cumprod(c2, 1), 'cumprod_1')
  same(t, jnp.cumprod(c2), 'cumprod_none')
  same(t, jnp.cumsum(T('ia')), 'cumsum_i')
  same(t, jnp.cumprod(jnp.take(T('ia'), jnp.arange(12))), 'cumprod_i')
  same(t, jnp.cumsum(jnp.array([true, false, true, true])), 'cumsum_bool')
  code(t, () => jnp.cumsum(c2, 2), 'E_ARG', /cumsum: axis/)
})

test('random.gumbel and categorical equal JAX bit for bit', (t) => {
  same(t, random.gumbel(random.key(0), [5, 7]), 'gumbel')
  same(t, random.gumbel(random.key(3), [2000]), 'gumbel_big')
  const logits = T('logits')
  same(t, random.categorical(random.key(1), logits), 'categorical')
  same(t, random.categorical(random.key(2), logits, { axis: 0 }), 'categorical_axis0')
  same(t, random.categorical(random.key(5), logits, { shape: [3, 4] }), 'categorical_shape')
  const p = jnp.log(jnp.array([0.1, 0.2, 0.7]))
  const draws = random.categorical(random.key(7), p, { shape: [2000] })
  same(t, draws, 'categorical_1d')
  // and the frequencies are what the logits say
  const freq = [0, 1, 2].map((k) => Array.from(draws.data).filter((v) => v === k).length / 2000)
  t.true(Math.abs(freq[2] - 0.7) < 0.04, String(freq))
  code(t, () => random.categorical(random.key(0), logits, { shape: [3, 5] }), 'E_SHAPE', /batch shape \[4\]/)
  code(t, () => random.categorical(random.key(0), logits, { axis: 2 }), 'E_ARG', /axis 2 is out of range/)
  code(t, () => random.gumbel(random.key(0), [2], { mode: 'high' as 'low' }), 'E_ARG', /only 'low'/)
})

test('tree.flatten / unflatten / reduce: jax.tree_util order (sorted keys), null is empty', (t) => {
  const a = jnp.ones([2])
  const tr = { b: [1, { z: 2, y: 3 }], a, c: null, d: [] as number[] }
  const [leaves, def] = tree.flatten(tr)
  t.deepEqual(leaves.slice(1), [1, 3, 2])
  t.is(leaves[0], a)
  t.is(def.numLeaves, 4)
  const back = tree.unflatten(def, ['A', 'B', 'C', 'D'])
  t.deepEqual(back, { a: 'A', b: ['B', { y: 'C', z: 'D' }], c: null, d: [] })
  t.is(tree.reduce((s: number, x: number) => s + x, { p: 1, q: [2, 3] }), 6)
  t.is(tree.reduce((s: number, x: number) => s * x, [2, 3], 10), 60)
  code(t, () => tree.unflatten(def, [1, 2]), 'E_ARG', /4 leaves/)
  code(t, () => tree.unflatten({} as any, []), 'E_TYPE', /treedef must come from tree.flatten/)
  code(t, () => tree.reduce((s: number) => s, {}), 'E_ARG', /no leaves and no initializer/)
})

test('jnp.array takes a dtype positionally or as { dtype }', (t) => {
  for (const x of [jnp.array([1, 2], 'int32'), jnp.array([1, 2], { dtype: 'int32' }), jnp.array([[1], [2]], { dtype: 'uint8' })]) {
    t.deepEqual(Array.from(x.data), [1, 2])
  }
  t.is(jnp.array([1, 2], { dtype: 'int32' }).dtype, 'int32')
  t.is(jnp.array([1.5], {}).dtype, 'float32')
  code(t, () => jnp.array([1], 7 as any), 'E_TYPE', /array: dtype must be a dtype name or \{ dtype \}/)
})

test('nn activations take options objects; jnp.gelu keeps the positional form', (t) => {
  const x = T('c2')
  assertSameBits(t, nn.gelu(x, { approximate: false }), jnp.gelu(x, false))
  assertSameBits(t, nn.gelu(x), jnp.gelu(x, true))
  assertSameBits(t, nn.softmax(x, { axis: 0 }), jnp.softmax(x, 0))
  assertSameBits(t, nn.softmax(x), jnp.softmax(x, -1))
  assertSameBits(t, nn.logSoftmax(x, { axis: null }), jnp.logSoftmax(x, null))
  assertSameBits(t, nn.oneHot([0, 2], 3, { dtype: 'int32' }), jnp.oneHot([0, 2], 3, { dtype: 'int32' }))
  assertSameBits(t, nn.silu(x), jnp.silu(x))
  assertSameBits(t, nn.sigmoid(x), jnp.sigmoid(x))
  code(t, () => nn.gelu(x, false as any), 'E_TYPE', /gelu: options must be an object/)
})

/** Every new op in one traced function. */
function newOps(x: Tensor, i: Tensor, k: random.Key) {
  return {
    sin: jnp.sin(x),
    cos: jnp.cos(x),
    log1p: jnp.log1p(jnp.abs(x)),
    expm1: jnp.expm1(x),
    chain: jnp.expm1(jnp.sin(jnp.multiply(x, 2))), // a fused chain
    isnan: jnp.isnan(jnp.log(x)),
    isfinite: jnp.isfinite(jnp.divide(1, x)),
    mod: jnp.mod(x, 0.7),
    floorDivide: jnp.floorDivide(x, jnp.add(jnp.abs(x), 0.25)),
    intMod: jnp.remainder(i, 3),
    flip: jnp.flip(x, 0),
    dot: jnp.dot(x, jnp.transpose(x)),
    outer: jnp.outer(x, x),
    tensordot: jnp.tensordot(x, x, [[0], [0]]),
    take: jnp.takeAlongAxis(x, jnp.argmax(x, 1, { keepdims: true }), 1),
    cumsum: jnp.cumsum(x, 1),
    cumprod: jnp.cumprod(x),
    gumbel: random.gumbel(k, [3, 4]),
    categorical: random.categorical(k, x, { shape: [2, 3] }),
  }
}

test('jit: a function of every new op traces and equals eager bit for bit', (t) => {
  const x = random.normal(random.key(11), [3, 20])
  const i = jnp.array([5, -4, 7, 0, 3], 'int32')
  const k = random.key(4)
  const f = jit(newOps)
  assertSameBits(t, f(x, i, k), newOps(x, i, k))
  const x2 = random.normal(random.key(12), [3, 20])
  assertSameBits(t, f(x2, i, random.key(9)), newOps(x2, i, random.key(9)))
  t.is(f.traceCount, 1)
})
