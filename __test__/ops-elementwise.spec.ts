import test from 'ava'
import * as jnp from '../ts/jnp'
import { native } from '../ts/native'
import * as random from '../ts/random'
import { Tensor } from '../ts/tensor'
import { firstMismatch } from './helpers/close'
import { nop } from './helpers/native-op'

function code(t: any, fn: () => unknown, expected: string, message?: RegExp, type: any = Error) {
  const err = t.throws(fn, { instanceOf: type })
  t.is(err.code, expected, err.message)
  if (message) t.regex(err.message, message)
}

const f32 = (v: number) => Math.fround(v)

/** erfc in float64: Taylor series of erf below 2.5, continued fraction above. */
function erfc(x: number): number {
  if (x < 0) return 2 - erfc(-x)
  if (x < 2.5) {
    let sum = 0
    let term = x
    for (let n = 0; n < 200; n++) {
      sum += term / (2 * n + 1)
      term *= (-x * x) / (n + 1)
    }
    return 1 - (2 / Math.sqrt(Math.PI)) * sum
  }
  let t = x
  for (let k = 200; k >= 1; k--) t = x + k / 2 / t
  return Math.exp(-x * x) / Math.sqrt(Math.PI) / t
}

const xs = Array.from({ length: 801 }, (_, i) => (i - 400) / 40) // -10 .. 10
const ulp = 2 ** -23

const cases: [string, (x: Tensor) => Tensor, (x: number) => number, number, number][] = [
  ['exp', jnp.exp, Math.exp, 2 * ulp, 0],
  ['tanh', jnp.tanh, Math.tanh, 4 * ulp, 0], // XLA's rational tanh: ~4 ulp just below ±1
  ['abs', jnp.abs, Math.abs, 0, 0],
  ['negative', jnp.negative, (x) => -x, 0, 0],
  ['square', jnp.square, (x) => x * x, ulp, 0],
  ['floor', jnp.floor, Math.floor, 0, 0],
  ['ceil', jnp.ceil, Math.ceil, 0, 0],
  ['sigmoid', jnp.sigmoid, (x) => 1 / (1 + Math.exp(-x)), 4 * ulp, 0],
  ['silu', jnp.silu, (x) => x / (1 + Math.exp(-x)), 4 * ulp, 1e-30],
  ['gelu', (x) => jnp.gelu(x), (x) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3))), 8 * ulp, 20 * ulp],
  ['gelu exact', (x) => jnp.gelu(x, false), (x) => 0.5 * x * erfc(-x / Math.SQRT2), 2e-5, 1e-30],
  ['erf', jnp.erf, (x) => 1 - erfc(x), 4 * ulp, 2 * ulp],
]

for (const [name, op, ref, rtol, atol] of cases) {
  test(`${name} matches a float64 reference on [-10, 10]`, (t) => {
    const x = jnp.array(Float32Array.from(xs))
    const y = op(x)
    t.is(y.dtype, 'float32')
    t.deepEqual(y.shape, [xs.length])
    const want = Array.from(x.data as Float32Array, (v) => f32(ref(v)))
    t.is(firstMismatch(y.data as Float32Array, want, rtol, atol), undefined)
  })
}

test('log, sqrt, rsqrt, reciprocal on positive values; special values', (t) => {
  const pos = Float32Array.from({ length: 500 }, (_, i) => 1e-3 * 1.05 ** i)
  const x = jnp.array(pos)
  const check = (y: Tensor, f: (v: number) => number, rtol: number) =>
    t.is(firstMismatch(y.data as Float32Array, Array.from(pos, (v) => f32(f(v))), rtol), undefined)
  check(jnp.log(x), Math.log, 2 * ulp)
  check(jnp.sqrt(x), Math.sqrt, ulp)
  check(jnp.rsqrt(x), (v) => 1 / Math.sqrt(v), 2 * ulp)
  check(jnp.reciprocal(x), (v) => 1 / v, ulp)
  const s = jnp.array([0, -1, Infinity, -Infinity, NaN])
  t.deepEqual((jnp.log(s).toArray() as number[]).slice(0, 3), [-Infinity, NaN, Infinity])
  t.deepEqual(jnp.sigmoid(s).toArray(), [0.5, f32(1 / (1 + Math.E)), 1, 0, NaN])
  t.deepEqual((jnp.sqrt(s).toArray() as number[]).slice(0, 3), [0, NaN, Infinity])
  t.deepEqual(jnp.rsqrt(jnp.array([0, 4])).toArray(), [Infinity, 0.5])
  t.deepEqual(jnp.tanh(jnp.array([-Infinity, Infinity])).toArray(), [-1, 1])
})

test('unary dtype rules: ints promote for jnp math, stay for abs/negative/square/floor, bool/int rejected for nn ops', (t) => {
  const i = jnp.array([-3, 0, 4], 'int32')
  const e = jnp.exp(i)
  t.is(e.dtype, 'float32')
  t.is(firstMismatch(e.data as Float32Array, [Math.exp(-3), 1, Math.exp(4)].map(f32), ulp), undefined)
  t.is(jnp.sqrt(jnp.array([4, 9], 'uint8')).dtype, 'float32')
  t.deepEqual(jnp.abs(i).toArray(), [3, 0, 4])
  t.is(jnp.abs(i).dtype, 'int32')
  t.deepEqual(jnp.negative(i).toArray(), [3, 0, -4])
  t.deepEqual(jnp.square(i).toArray(), [9, 0, 16])
  t.deepEqual(jnp.floor(i).toArray(), [-3, 0, 4])
  t.is(jnp.ceil(i).dtype, 'int32')
  t.deepEqual(jnp.abs(jnp.array([-2147483648], 'int32')).toArray(), [-2147483648], 'wraps like numpy')
  t.deepEqual(jnp.negative(jnp.array([1, 200], 'uint8')).toArray(), [255, 56])
  t.deepEqual(jnp.square(jnp.array([true, false])).toArray(), [1, 0])
  t.deepEqual(jnp.abs(jnp.array([true, false])).toArray(), [true, false])
  for (const f of [jnp.rsqrt, jnp.sigmoid, jnp.silu, jnp.gelu]) code(t, () => f(i), 'E_DTYPE', /int32/)
  code(t, () => jnp.negative(jnp.array([true])), 'E_DTYPE', /bool/)
  t.is(jnp.exp(0).item(), 1, 'a number is a float32 scalar')
  code(t, () => jnp.exp('1' as any), 'E_TYPE', /exp: x must be/, TypeError)
  code(t, () => jnp.gelu(jnp.ones([1]), 'no' as any), 'E_TYPE', /approximate/, TypeError)
  code(t, () => native.op(10_000, jnp.ones([1]).handle), 'E_ARG', /op: expected an op code in 0\.\.\d+, got 10000/)
  code(t, () => native.op('exp' as any, jnp.ones([1]).handle), 'E_TYPE', /op/, TypeError)
  code(t, () => nop('exp', 'three'), 'E_TYPE', /exp: x: expected a tensor handle or a number, got string/, TypeError)
})

test('maximum / minimum broadcast, take scalars, and propagate NaN', (t) => {
  const a = jnp.array([[1, NaN, 3], [-1, 5, 0.5]])
  const b = jnp.array([2, 2, NaN])
  t.deepEqual(jnp.maximum(a, b).toArray(), [[2, NaN, NaN], [2, 5, NaN]])
  t.deepEqual(jnp.minimum(a, b).toArray(), [[1, NaN, NaN], [-1, 2, NaN]])
  t.deepEqual(jnp.maximum(a, 0).toArray(), [[1, NaN, 3], [0, 5, 0.5]])
  t.deepEqual(jnp.minimum(0, jnp.array([-1, 1])).toArray(), [-1, 0])
  const i = jnp.arange(5)
  t.is(jnp.maximum(i, 2).dtype, 'int32')
  t.deepEqual(jnp.maximum(i, 2).toArray(), [2, 2, 2, 3, 4])
  t.is(jnp.maximum(i, 2.5).dtype, 'float32')
  code(t, () => jnp.maximum(jnp.ones([2]), jnp.ones([3])), 'E_SHAPE', /\[2\].*\[3\]/)
  code(t, () => jnp.minimum(i, jnp.ones([5], 'uint8')), 'E_DTYPE', /int32.*uint8/)
})

test('power: float powf, integer exponents are repeated multiplication, integer tensors wrap', (t) => {
  const x = random.normal(random.key(3), [1000])
  const d = x.data as Float32Array
  const cube = jnp.power(x, 3).data as Float32Array
  const sq = jnp.power(x, 2).data as Float32Array
  const inv = jnp.power(x, -1).data as Float32Array
  for (let k = 0; k < 1000; k++) {
    const v = d[k]
    t.is(cube[k], f32(v * f32(v * v)))
    t.is(sq[k], f32(v * v))
    t.is(inv[k], f32(1 / v))
  }
  const pos = jnp.abs(x)
  const half = jnp.power(pos, 0.5)
  t.is(firstMismatch(half.data as Float32Array, Array.from(pos.data as Float32Array, (v) => f32(Math.sqrt(v))), ulp), undefined)
  const e = jnp.array([[1.5], [-0.25]])
  const p = jnp.power(jnp.array([2, 3]), e)
  t.is(firstMismatch(p.data as Float32Array, [2 ** 1.5, 3 ** 1.5, 2 ** -0.25, 3 ** -0.25].map(f32), 2 * ulp), undefined)
  t.deepEqual(jnp.power(2, jnp.array([0, 1, 10])).toArray(), [1, 2, 1024])
  const i = jnp.array([2, -3, 7], 'int32')
  t.deepEqual(jnp.power(i, jnp.array([10, 3, 0], 'int32')).toArray(), [1024, -27, 1])
  t.deepEqual(jnp.power(i, 2).toArray(), [4, 9, 49])
  t.is(jnp.power(i, 2).dtype, 'int32')
  t.deepEqual(jnp.power(jnp.array([2], 'int32'), 31).toArray(), [-2147483648], 'wraps')
  code(t, () => jnp.power(i, -1), 'E_ARG', /negative integer powers/)
  code(t, () => jnp.power(i, jnp.array([1, -1, 2], 'int32')), 'E_ARG', /-1/)
  code(t, () => jnp.power(jnp.array([true]), jnp.array([true])), 'E_DTYPE', /bool/)
})

test('comparisons broadcast to bool tensors; numbers compare with weak typing', (t) => {
  const a = jnp.array([[1, 2, 3], [4, NaN, 6]])
  const b = jnp.array([2, 2, 7])
  t.deepEqual(jnp.equal(a, b).toArray(), [[false, true, false], [false, false, false]])
  t.deepEqual(jnp.notEqual(a, b).toArray(), [[true, false, true], [true, true, true]])
  t.deepEqual(jnp.less(a, b).toArray(), [[true, false, true], [false, false, true]])
  t.deepEqual(jnp.lessEqual(a, b).toArray(), [[true, true, true], [false, false, true]])
  t.deepEqual(jnp.greater(a, b).toArray(), [[false, false, false], [true, false, false]])
  t.deepEqual(jnp.greaterEqual(a, b).toArray(), [[false, true, false], [true, false, false]])
  t.is(jnp.less(a, b).dtype, 'bool')
  t.deepEqual(jnp.less(a, 3).toArray(), [[true, true, false], [false, false, false]])
  t.deepEqual(jnp.less(3, a).toArray(), [[false, false, false], [true, false, true]])
  t.deepEqual(jnp.equal(jnp.array([0.1, 0.2]), 0.1).toArray(), [true, false], '0.1 is rounded to float32 first')
  t.deepEqual(jnp.less(jnp.array([0, 255], 'uint8'), 300).toArray(), [true, true], 'no wrapping')
  t.deepEqual(jnp.greater(jnp.arange(3), 0.5).toArray(), [false, true, true])
  t.deepEqual(jnp.equal(jnp.arange(3), jnp.array([0, 1.5, 2])).toArray(), [true, false, true])
  t.deepEqual(jnp.equal(jnp.array([true, false]), 1).toArray(), [true, false])
  t.is(jnp.less(1, 2).item(), true)
  code(t, () => jnp.equal(jnp.ones([2, 3]), jnp.ones([2])), 'E_SHAPE', /\[2, 3\].*\[2\]/)
  code(t, () => jnp.equal(jnp.arange(2), jnp.ones([2], 'uint8')), 'E_DTYPE', /int32/)
  code(t, () => jnp.less(jnp.ones([2]), 'x' as any), 'E_TYPE', /b must be/, TypeError)
  code(t, () => nop('less', jnp.ones([1]).handle, {}), 'E_TYPE', /less: b: expected a tensor handle or a number/, TypeError)
  code(t, () => nop('less', jnp.ones([1]).handle, 'no'), 'E_TYPE', /less: b/, TypeError)
})

test('logical and/or/xor/not of any dtype; booleans and numbers as operands', (t) => {
  const a = jnp.array([0, 1, NaN, -2])
  const b = jnp.array([[true], [false]])
  t.deepEqual(jnp.logicalAnd(a, b).toArray(), [[false, true, true, true], [false, false, false, false]])
  t.deepEqual(jnp.logicalOr(a, b).toArray(), [[true, true, true, true], [false, true, true, true]])
  t.deepEqual(jnp.logicalXor(a, true).toArray(), [true, false, false, false])
  t.deepEqual(jnp.logicalNot(a).toArray(), [true, false, false, false])
  t.deepEqual(jnp.logicalNot(jnp.arange(3)).toArray(), [true, false, false])
  t.deepEqual(jnp.logicalAnd(jnp.arange(3), 1).toArray(), [false, true, true])
  t.is(jnp.logicalOr(false, 0).item(), false)
  code(t, () => jnp.logicalAnd(jnp.ones([2]), jnp.ones([3])), 'E_SHAPE', /\[2\].*\[3\]/)
  code(t, () => jnp.logicalAnd(jnp.ones([2]), 'y' as any), 'E_TYPE', /b must be/, TypeError)
})

test('where broadcasts all three; numbers and booleans as branches keep the tensor dtype', (t) => {
  const cond = jnp.array([true, false, true])
  const x = jnp.array([[1, 2, 3], [4, 5, 6]])
  t.deepEqual(jnp.where(cond, x, -1).toArray(), [[1, -1, 3], [4, -1, 6]])
  t.deepEqual(jnp.where(cond, 0, jnp.array([[10], [20]])).toArray(), [[0, 10, 0], [0, 20, 0]])
  const i = jnp.arange(3)
  const w = jnp.where(jnp.array([1, 0, NaN]), i, 0)
  t.is(w.dtype, 'int32')
  t.deepEqual(w.toArray(), [0, 0, 2], 'a float condition is x != 0 (NaN is true)')
  t.is(jnp.where(cond, i, 0.5).dtype, 'float32')
  t.is(jnp.where(cond, 1, 2).dtype, 'int32')
  t.deepEqual(jnp.where(cond, true, false).toArray(), [true, false, true])
  t.deepEqual(jnp.where(jnp.greater(x, 2), x, jnp.zeros([2, 3])).toArray(), [[0, 0, 3], [4, 5, 6]])
  // The attention-mask idiom: where(mask, logits, finfo.min).
  const logits = random.normal(random.key(1), [2, 4, 4])
  const mask = jnp.greaterEqual(jnp.arange(4).reshape([4, 1]), jnp.arange(4))
  const m = jnp.where(mask, logits, -3.4028234663852886e38)
  const md = m.data as Float32Array
  const ld = logits.data as Float32Array
  for (let k = 0; k < 32; k++) t.is(md[k], (k % 16) % 4 <= Math.floor((k % 16) / 4) ? ld[k] : f32(-3.4028234663852886e38))
  code(t, () => jnp.where(cond, jnp.ones([4]), 0), 'E_SHAPE', /\[3\].*\[4\]/)
  code(t, () => jnp.where(cond, i, jnp.ones([3], 'uint8')), 'E_DTYPE', /x has dtype int32 and y has dtype uint8/)
  code(t, () => jnp.where(cond, 'a' as any, 0), 'E_TYPE', /where: x must be/, TypeError)
  code(t, () => nop('where', cond.handle, 'a', 0), 'E_TYPE', /where: x: expected a tensor handle or a number/, TypeError)
})

test('clip is minimum(maximum(x, min), max); either bound optional', (t) => {
  const x = jnp.array([-2, 0.5, 3, NaN])
  t.deepEqual(jnp.clip(x, 0, 1).toArray(), [0, 0.5, 1, NaN])
  t.deepEqual(jnp.clip(x, null, 1).toArray(), [-2, 0.5, 1, NaN])
  t.deepEqual(jnp.clip(x, 0).toArray(), [0, 0.5, 3, NaN])
  const c = jnp.clip(x)
  t.not(c, x)
  t.deepEqual(c.toArray(), x.toArray())
  t.deepEqual(jnp.clip(jnp.arange(5), 1, 3).toArray(), [1, 1, 2, 3, 3])
  t.is(jnp.clip(jnp.arange(5), 1, 3).dtype, 'int32')
  t.deepEqual(jnp.clip(jnp.array([[-1, 5]]), jnp.array([[0], [2]]), 4).toArray(), [[0, 4], [2, 4]])
  code(t, () => jnp.clip('x' as any, 0, 1), 'E_TYPE', /clip/, TypeError)
})

test('large elementwise ops take the parallel path and agree with small ones', (t) => {
  const x = random.normal(random.key(11), [300, 400])
  const small = jnp.array((x.data as Float32Array).slice(0, 400))
  t.deepEqual(Array.from((jnp.gelu(x).data as Float32Array).slice(0, 400)), Array.from(jnp.gelu(small).data as Float32Array))
  const w = jnp.where(jnp.greater(x, 0), x, 0)
  t.deepEqual(w.toArray(), jnp.maximum(x, 0).toArray())
})
