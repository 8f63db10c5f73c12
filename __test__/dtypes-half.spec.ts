// float16 and bfloat16 (issue 11, deliverable 1) against real JAX 0.10.2 / Flax 0.12.8 on CPU:
// golden/dtypes_half.json from scripts/golden/dtypes_half.py, every array as its raw bytes, so
// each comparison below is bit for bit (NaN payloads, -0 and subnormals included).
import { createHash } from 'node:crypto'
import test, { type ExecutionContext } from 'ava'
import { jit, jnp, linalg, nn, random, Tensor, type DType } from '../ts/index'
import { loadLocalGolden } from './helpers/golden'

const G = loadLocalGolden('dtypes_half').expect
const HALVES = ['bfloat16', 'float16'] as const
type Half = (typeof HALVES)[number]

interface Arr {
  shape: number[]
  dtype: string
  b64?: string
  sha256?: string
}

const DTYPE_OF: Record<string, DType> = {
  float32: 'float32',
  float16: 'float16',
  bfloat16: 'bfloat16',
  int32: 'int32',
  uint32: 'uint32',
  uint16: 'uint16',
  uint8: 'uint8',
  int8: 'int8',
  bool: 'bool',
  int64: 'int32',
}

function bytesOf(x: Tensor): Buffer {
  const d = x.data
  return Buffer.from(d.buffer, d.byteOffset, d.byteLength)
}

/** A golden array as a tensor with exactly its bytes. */
function T(g: Arr): Tensor {
  const dt = DTYPE_OF[g.dtype]
  const t = jnp.zeros(g.shape, dt)
  bytesOf(t).set(Buffer.from(g.b64!, 'base64'))
  return t
}

/** Describes up to 5 differing elements of two same-sized byte arrays of element size `w`. */
function diff(got: Buffer, want: Buffer, w: number): string {
  const out: string[] = []
  let n = 0
  for (let i = 0; i < want.length; i += w) {
    if (!got.subarray(i, i + w).equals(want.subarray(i, i + w))) {
      if (out.length < 5) out.push(`[${i / w}] got 0x${got.subarray(i, i + w).reverse().toString('hex')} want 0x${want.subarray(i, i + w).reverse().toString('hex')}`)
      n++
    }
  }
  return `${n} of ${want.length / w} elements differ: ${out.join(', ')}`
}

/** Why `got` differs from the golden array `want` (dtype, shape, bytes), or null if it does not. */
function mismatch(got: Tensor, want: Arr, what: string): string | null {
  if (got.dtype !== DTYPE_OF[want.dtype]) return `${what}: dtype ${got.dtype}, want ${want.dtype}`
  if (got.shape.join() !== want.shape.join()) return `${what}: shape [${got.shape}], want [${want.shape}]`
  if (want.sha256 !== undefined) {
    const h = createHash('sha256').update(bytesOf(got)).digest('hex')
    return h === want.sha256 ? null : `${what}: sha256 ${h}, want ${want.sha256}`
  }
  const w = Buffer.from(want.b64!, 'base64')
  const g = bytesOf(got)
  return g.equals(w) ? null : `${what}: ${diff(g, w, got.data.BYTES_PER_ELEMENT)}`
}

/** `got` equals the golden array `want` in dtype, shape and every byte. */
function same(t: ExecutionContext, got: Tensor, want: Arr, what: string): void {
  const m = mismatch(got, want, what)
  if (m === null) t.pass()
  else t.fail(m)
}

/** float32 values of `got` within `atol · max(1, |want|)` of the golden's (NaN matching NaN). */
function nearMismatch(got: Tensor, want: Arr, atol: number, what: string): string | null {
  if (got.dtype !== 'float32' || want.dtype !== 'float32') return `${what}: dtype ${got.dtype}, want ${want.dtype} (float32 expected)`
  if (got.shape.join() !== want.shape.join()) return `${what}: shape [${got.shape}], want [${want.shape}]`
  const w = new Float32Array(new Uint8Array(Buffer.from(want.b64!, 'base64')).buffer)
  const g = got.data as Float32Array
  const bad = [...w.keys()].filter((i) => !(Number.isNaN(w[i]) ? Number.isNaN(g[i]) : Math.abs(g[i] - w[i]) <= atol * Math.max(1, Math.abs(w[i]))))
  return bad.length === 0 ? null : `${what}: ${bad.length} elements beyond ${atol}: ${bad.slice(0, 5).map((i) => `[${i}] ${g[i]} vs ${w[i]}`).join(', ')}`
}

/** `near`: float32 results JAX sums in another order (see NEAR). */
function near(t: ExecutionContext, got: Tensor, want: Arr, atol: number, what: string): void {
  const m = nearMismatch(got, want, atol, what)
  if (m === null) t.pass()
  else t.fail(m)
}

/** Runs every check, then fails once listing all mismatches (so one run shows them all). */
function all(t: ExecutionContext, checks: [string, () => Tensor, Arr][]): void {
  const bad: string[] = []
  for (const [what, f, want] of checks) {
    try {
      const name = what.split(' ').pop()!
      const m = name in NEAR ? nearMismatch(f(), want, NEAR[name], what) : mismatch(f(), want, what)
      if (m !== null) bad.push(m)
    } catch (e) {
      bad.push(`${what}: threw ${(e as Error).message}`)
    }
  }
  t.deepEqual(bad, [])
}

/** Every leaf of a variables tree equal to the golden tree's. */
function sameTree(t: ExecutionContext, got: any, want: any, what: string): void {
  if (want !== null && typeof want === 'object' && 'b64' in want) {
    t.true(got instanceof Tensor, `${what}: a tensor`)
    same(t, got, want, what)
    return
  }
  t.deepEqual(Object.keys(got).sort(), Object.keys(want).sort(), `${what}: keys`)
  for (const k of Object.keys(want)) sameTree(t, got[k], want[k], `${what}/${k}`)
}

// ---- storage, views and values ----------------------------------------------------------------

test('half tensors: Uint16Array views of the bits, numbers from toArray and item', (t) => {
  const b = jnp.array([1, -2.5, 0.1, 65520, -0], 'bfloat16')
  t.is(b.dtype, 'bfloat16')
  t.true(b.data instanceof Uint16Array)
  t.deepEqual(Array.from(b.data), [0x3f80, 0xc020, 0x3dcd, 0x4780, 0x8000])
  t.deepEqual(b.toArray(), [1, -2.5, 0.10009765625, 65536, -0])
  const h = jnp.array([[1, -2.5], [65520, 1e-7]], 'float16')
  t.deepEqual(Array.from(h.data), [0x3c00, 0xc100, 0x7c00, 0x0002])
  t.deepEqual(h.toArray(), [[1, -2.5], [Infinity, 2 ** -23]])
  t.is(jnp.full([], 0.1, 'float16').item(), 0.0999755859375)
  t.is(Number(jnp.ones([], 'bfloat16')), 1)
  t.deepEqual(jnp.zeros([2], 'float16').toArray(), [0, 0])
  t.deepEqual(jnp.ones([2], 'bfloat16').toArray(), [1, 1])
  t.true(Number.isNaN(jnp.full([], NaN, 'bfloat16').item()))
  t.is(String(jnp.array([0.5], 'bfloat16')), 'Tensor([0.5], dtype=bfloat16, shape=[1])')
  // A write through the view is seen by the next op.
  const w = jnp.zeros([2], 'bfloat16')
  w.data[1] = 0x4040
  t.deepEqual(jnp.add(w, 1).toArray(), [1, 4])
})

// ---- conversions ---------------------------------------------------------------------------------

const C = G.conversions

test('float32 → bfloat16 / float16 (astype): edge cases and a sweep over float32 bit patterns', (t) => {
  for (const name of ['edge', 'sweep']) {
    const x = T(C[`f32_${name}`])
    for (const h of HALVES) same(t, x.astype(h), C[`f32_${name}_to_${h}`], `f32 ${name} → ${h}`)
  }
})

test('every bfloat16 and float16 bit pattern → float32, and float16 ↔ bfloat16', (t) => {
  const bits = Uint16Array.from({ length: 65536 }, (_, i) => i)
  const all = (dt: Half) => {
    const x = jnp.zeros([65536], dt)
    ;(x.data as Uint16Array).set(bits)
    return x
  }
  same(t, all('bfloat16').astype('float32'), C.all_bf16_to_f32, 'bf16 → f32')
  same(t, all('float16').astype('float32'), C.all_f16_to_f32, 'f16 → f32')
  same(t, all('bfloat16').astype('float16'), C.all_bf16_to_f16, 'bf16 → f16')
  same(t, all('float16').astype('bfloat16'), C.all_f16_to_bf16, 'f16 → bf16')
})

test('integers and bool into half dtypes, half dtypes into integers and bool', (t) => {
  for (const h of HALVES) {
    same(t, T(C.ints).astype(h), C[`ints_to_${h}`], `int32 → ${h}`)
    same(t, T(C.u32).astype(h), C[`u32_to_${h}`], `uint32 → ${h}`)
    same(t, jnp.arange(256, undefined, 1, 'uint8').astype(h), C[`u8_to_${h}`], `uint8 → ${h}`)
    same(t, jnp.array([true, false]).astype(h), C[`bool_to_${h}`], `bool → ${h}`)
    const v = T(C[`${h}_vals`])
    for (const to of ['int32', 'uint32', 'int8', 'uint8', 'uint16', 'bool'] as const) same(t, v.astype(to), C[`${h}_vals_to_${to}`], `${h} → ${to}`)
  }
})

test('JS numbers: jnp.array and jnp.full round float16 directly, bfloat16 through float32; weak scalars both through float32', (t) => {
  const f64: number[] = C.f64
  for (const h of HALVES) {
    same(t, jnp.array(f64, h), C[`f64_array_${h}`], `array(${h})`)
    same(t, jnp.stack(f64.map((v) => jnp.full([], v, h))), C[`f64_full_${h}`], `full(${h})`)
    same(t, jnp.stack(f64.map((v) => jnp.add(jnp.zeros([], h), v))), C[`f64_weak_${h}`], `zeros(${h}) + number`)
  }
})

// ---- ops ---------------------------------------------------------------------------------------

type Op = (o: Record<string, Tensor>) => Tensor
const OPS: Record<string, Op> = {
  add: (o) => jnp.add(o.x, o.y),
  subtract: (o) => jnp.subtract(o.x, o.y),
  multiply: (o) => jnp.multiply(o.x, o.y),
  divide: (o) => jnp.divide(o.x, o.y),
  divide_3: (o) => jnp.divide(o.x, 3),
  divide_07: (o) => jnp.divide(o.x, 0.7),
  rdivide_3: (o) => jnp.divide(3, o.x),
  maximum: (o) => jnp.maximum(o.x, o.y),
  add_weak_01: (o) => jnp.add(o.x, 0.1),
  mul_weak_01: (o) => jnp.multiply(o.x, 0.1),
  add_weak_2: (o) => jnp.add(o.x, 2),
  power_3: (o) => jnp.power(o.x, 3),
  power_5: (o) => jnp.power(o.x, 5),
  power_m2: (o) => jnp.power(o.x, -2),
  power_15: (o) => jnp.power(o.pos, 1.5),
  remainder: (o) => jnp.remainder(o.x, o.y),
  floor_divide: (o) => jnp.floorDivide(o.x, o.y),
  floor_divide_07: (o) => jnp.floorDivide(o.x, 0.7),
  exp: (o) => jnp.exp(o.x),
  tanh: (o) => jnp.tanh(o.x),
  sin: (o) => jnp.sin(o.x),
  cos: (o) => jnp.cos(o.x),
  expm1: (o) => jnp.expm1(o.x),
  abs: (o) => jnp.abs(o.x),
  negative: (o) => jnp.negative(o.x),
  square: (o) => jnp.square(o.x),
  floor: (o) => jnp.floor(o.x),
  ceil: (o) => jnp.ceil(o.x),
  sign: (o) => jnp.sign(o.x),
  log: (o) => jnp.log(o.pos),
  sqrt: (o) => jnp.sqrt(o.pos),
  log1p: (o) => jnp.log1p(o.pos),
  reciprocal: (o) => jnp.reciprocal(o.pos),
  rsqrt: (o) => jnp.rsqrt(o.pos),
  erf: (o) => jnp.erf(o.x),
  round: (o) => jnp.round(o.x),
  round_1: (o) => jnp.round(o.x, 1),
  sigmoid: (o) => jnp.sigmoid(o.x),
  silu: (o) => jnp.silu(o.x),
  gelu: (o) => jnp.gelu(o.x),
  gelu_exact: (o) => jnp.gelu(o.x, false),
  relu: (o) => jnp.relu(o.x),
  sum: (o) => jnp.sum(o.x),
  sum_1: (o) => jnp.sum(o.x, 1),
  mean_1: (o) => jnp.mean(o.x, 1),
  mean_0: (o) => jnp.mean(o.x, 0),
  max_1: (o) => jnp.max(o.x, 1),
  var_1: (o) => jnp.var(o.x, 1),
  std_1: (o) => jnp.std(o.x, 1),
  prod_1: (o) => jnp.prod(jnp.add(1, jnp.multiply(o.x, 0.05)), 1),
  argmax_1: (o) => jnp.argmax(o.x, 1),
  softmax: (o) => jnp.softmax(o.x),
  softmax_0: (o) => jnp.softmax(o.x, 0),
  log_softmax: (o) => jnp.logSoftmax(o.x),
  logsumexp_1: (o) => jnp.logsumexp(o.x, 1),
  cumsum: (o) => jnp.cumsum(o.x.reshape([-1])),
  cumsum_1: (o) => jnp.cumsum(o.x, 1),
  cumprod_1: (o) => jnp.cumprod(jnp.add(1, jnp.multiply(o.x, 0.05)), 1),
  less: (o) => jnp.less(o.x, o.y),
  equal_weak: (o) => jnp.equal(o.x, 0.1),
  where: (o) => jnp.where(jnp.greater(o.x, 0), o.x, o.y),
  where_weak: (o) => jnp.where(jnp.greater(o.x, 0), o.x, 0.1),
  isnan: (o) => jnp.isnan(jnp.multiply(jnp.divide(o.x, 0), 0)),
  take: (o) => jnp.take(o.x, [3, 0, -1, 9], 0),
  transpose: (o) => jnp.transpose(o.x),
  concat: (o) => jnp.concatenate([o.x, o.y], 0),
  add_f32: (o) => jnp.add(o.x, o.f32),
  add_i32: (o) => jnp.add(o.x, o.i32),
  mul_i32: (o) => jnp.multiply(o.i32, o.x),
  add_bool: (o) => jnp.add(o.x, jnp.greater(o.i32, 0)),
  matmul: (o) => jnp.matmul(o.mm_a, o.mm_w),
  matmul_pref_f32: (o) => jnp.matmul(o.mm_a, o.mm_w, { preferredElementType: 'float32' }),
  matmul_f32_w: (o) => jnp.matmul(o.mm_a32, o.mm_w),
  matmul_a_f32: (o) => jnp.matmul(o.mm_a, o.mm_b32),
  matvec: (o) => jnp.matmul(jnp.take(o.mm_a, 0, 0), o.mm_w),
}

const INPUTS = ['x', 'y', 'pos', 'f32', 'i32', 'mm_a', 'mm_w', 'mm_a32', 'mm_b32']

/**
 * The ops whose result is a float32 sum of products: XLA's dot sums in its own order, ours in
 * the GEMM's, so they agree within float32 rounding of the sums (as float32 matmuls do; the
 * bfloat16 and float16 results above round those sums and come out equal).
 */
const NEAR: Record<string, number> = { matmul_pref_f32: 1e-5, matmul_f32_w: 1e-5, matmul_a_f32: 1e-5 }

for (const h of HALVES) {
  test(`ops on ${h} equal JAX's bit for bit (promotion, rounding steps and all)`, (t) => {
    const g = G.ops[h]
    const o: Record<string, Tensor> = {}
    for (const k of INPUTS) o[k] = T(g[k])
    all(t, Object.entries(OPS).map(([name, f]) => [`${h} ${name}`, () => f(o), g[name]]))
  })

  test(`ops on ${h} give the same bits under jit (plans apply the same half policy)`, (t) => {
    const g = G.ops[h]
    const o: Record<string, Tensor> = {}
    for (const k of INPUTS) o[k] = T(g[k])
    for (const name of ['add', 'divide_3', 'softmax', 'gelu', 'matmul', 'matmul_f32_w', 'cumsum_1', 'std_1']) {
      const f = jit((x: Tensor, y: Tensor, a: Tensor, w: Tensor, a32: Tensor) => OPS[name]({ ...o, x, y, mm_a: a, mm_w: w, mm_a32: a32 }))
      same(t, f(o.x, o.y, o.mm_a, o.mm_w, o.mm_a32), g[name], `jit ${h} ${name}`)
    }
  })
}

test('jit: a float32 chain after a matmul of half operands is not fused into its epilogue (the product is a half tensor)', (t) => {
  const [k1, k2, k3] = random.split(random.key(4), 3)
  const a = random.normal(k1, [8, 24], 'bfloat16')
  const w = random.normal(k2, [24, 16], 'bfloat16')
  const b = random.normal(k3, [16])
  const f = (a: Tensor, w: Tensor, b: Tensor) => jnp.tanh(jnp.add(jnp.matmul(a, w), b))
  const eager = f(a, w, b)
  t.is(eager.dtype, 'float32')
  t.true(bytesOf(jit(f)(a, w, b)).equals(bytesOf(eager)))
  // float32 x with bfloat16 weights: the epilogue is fused, on the widening product.
  const x = random.normal(k1, [8, 24])
  t.true(bytesOf(jit(f)(x, w, b)).equals(bytesOf(f(x, w, b))))
})

test('float16 with bfloat16 promotes to float32', (t) => {
  const xb = T(G.ops.bfloat16.x)
  const xh = T(G.ops.float16.x)
  same(t, jnp.add(xb, xh), G.ops.mixed_add, 'bf16 + f16')
  same(t, jnp.multiply(xb, xh), G.ops.mixed_mul, 'bf16 * f16')
  same(t, jnp.matmul(T(G.ops.bfloat16.mm_a), T(G.ops.float16.mm_w)), G.ops.mixed_matmul, 'bf16 @ f16')
})

// ---- sampling and initializers ---------------------------------------------------------------------

test('jax.random.uniform / normal / truncated_normal in float16 and bfloat16 (their own bits, each step rounded)', (t) => {
  const S = G.sampling
  for (const h of HALVES) {
    for (const seed of [0, 7]) {
      const k = random.key(seed)
      same(t, random.uniform(k, [1000], { dtype: h }), S[`uniform_${h}_${seed}`], `uniform ${h} ${seed}`)
      same(t, random.uniform(k, [300], { dtype: h, minval: -1, maxval: 2.5 }), S[`uniform_m1_${h}_${seed}`], `uniform(-1, 2.5) ${h} ${seed}`)
      same(t, random.normal(k, [1000], h), S[`normal_${h}_${seed}`], `normal ${h} ${seed}`)
      same(t, random.truncatedNormal(k, -2, 2, [1000], h), S[`truncated_normal_${h}_${seed}`], `truncated_normal ${h} ${seed}`)
      same(t, random.truncatedNormal(k, 0, 1.5, [300], h), S[`truncated_normal_01_${h}_${seed}`], `truncated_normal(0, 1.5) ${h} ${seed}`)
    }
    const k = random.key(3)
    const I = nn.initializers
    same(t, I.uniform(0.5)(k, [4, 9], h), S[`init_uniform_${h}`], `init uniform ${h}`)
    same(t, I.normal(0.3)(k, [4, 9], h), S[`init_normal_${h}`], `init normal ${h}`)
    same(t, I.truncatedNormal(0.7)(k, [4, 9], h), S[`init_truncated_normal_${h}`], `init truncated_normal ${h}`)
    same(t, I.lecunNormal()(k, [13, 9], h), S[`init_lecun_normal_${h}`], `lecun_normal ${h}`)
    same(t, I.glorotUniform()(k, [13, 9], h), S[`init_glorot_uniform_${h}`], `glorot_uniform ${h}`)
    same(t, I.heNormal()(k, [13, 9], h), S[`init_he_normal_${h}`], `he_normal ${h}`)
    same(t, I.varianceScaling(2.0, 'fan_avg', 'normal')(k, [13, 9], h), S[`init_variance_scaling_normal_${h}`], `variance_scaling normal ${h}`)
  }
})

// ---- Flax layers -----------------------------------------------------------------------------------

for (const h of HALVES) {
  test(`Flax layers with param_dtype / dtype ${h}: init bit for bit, apply as Flax`, (t) => {
    const L = G.layers
    const o = L[h]
    const x = T(L.x)
    const x3 = T(L.x3)

    const d = new nn.Dense({ features: 7, paramDtype: h })
    const v = d.init(random.key(0), x)
    sameTree(t, v, o.dense_params, 'Dense init')
    same(t, d.apply(v, x) as Tensor, o.dense_f32_out, 'Dense apply (float32 x, promoted to float32)')
    same(t, new nn.Dense({ features: 7, paramDtype: h, dtype: h }).apply(v, x) as Tensor, o.dense_half_out, 'Dense apply dtype')
    same(t, d.apply(v, x.astype(h)) as Tensor, o.dense_half_in_out, 'Dense apply (half x)')
    const d32 = new nn.Dense({ features: 7, dtype: h })
    const v32 = d32.init(random.key(1), x)
    sameTree(t, v32, o.dense_f32params, 'Dense float32 params')
    same(t, d32.apply(v32, x) as Tensor, o.dense_f32params_out, 'Dense float32 params, dtype')

    const dg = new nn.DenseGeneral({ features: [2, 3], axis: [-2, -1], paramDtype: h, dtype: h })
    const vg = dg.init(random.key(2), x3)
    sameTree(t, vg, o.dense_general_params, 'DenseGeneral init')
    same(t, dg.apply(vg, x3) as Tensor, o.dense_general_out, 'DenseGeneral apply')

    const e = new nn.Embed({ numEmbeddings: 10, features: 6, paramDtype: h })
    const idx = jnp.array([[0, 3, 9], [2, -1, 5]], 'int32')
    const ve = e.init(random.key(3), idx)
    sameTree(t, ve, o.embed_params, 'Embed init')
    same(t, e.apply(ve, idx) as Tensor, o.embed_out, 'Embed lookup')
    same(t, new nn.Embed({ numEmbeddings: 10, features: 6, paramDtype: h, dtype: 'float32' }).apply(ve, idx) as Tensor, o.embed_out_f32, 'Embed lookup dtype float32')
    const q = T(o.embed_query)
    same(t, e.applyWith(ve, { method: 'attend' }, q) as Tensor, o.embed_attend, 'Embed attend')
    same(t, new nn.Embed({ numEmbeddings: 10, features: 6, paramDtype: h, dtype: h }).applyWith(ve, { method: 'attend' }, q) as Tensor, o.embed_attend_half, 'Embed attend dtype')

    const xs = T(o.norm_x)
    const ln = new nn.LayerNorm({ paramDtype: h })
    const vl = ln.init(random.key(4), xs)
    sameTree(t, vl, o.layer_norm_params, 'LayerNorm init')
    // A float32 result: XLA's rsqrt is not correctly rounded and it sums in float32 (see
    // golden-normalization.spec.ts), so float32 outputs agree to about an ulp; the half-dtype
    // outputs round that away and are compared exactly.
    near(t, ln.apply(vl, xs) as Tensor, o.layer_norm_f32_out, 2e-6, 'LayerNorm apply (float32 x)')
    same(t, ln.apply(vl, xs.astype(h)) as Tensor, o.layer_norm_half_in, 'LayerNorm apply (half x)')
    same(t, new nn.LayerNorm({ paramDtype: h, dtype: h }).apply(vl, xs) as Tensor, o.layer_norm_dtype_out, 'LayerNorm dtype')
    const vl2 = { params: { scale: T(o.layer_norm_params2.params.scale), bias: T(o.layer_norm_params2.params.bias) } }
    same(t, new nn.LayerNorm({ paramDtype: h, dtype: h }).apply(vl2, xs) as Tensor, o.layer_norm_params2_out, 'LayerNorm dtype, other params')
    const rn = new nn.RMSNorm({ paramDtype: h, dtype: h })
    const vr = rn.init(random.key(5), xs)
    sameTree(t, vr, o.rms_norm_params, 'RMSNorm init')
    same(t, rn.apply(vr, xs) as Tensor, o.rms_norm_out, 'RMSNorm apply')
    same(t, new nn.RMSNorm({ paramDtype: h }).apply(vr, xs.astype(h)) as Tensor, o.rms_norm_half_in, 'RMSNorm apply (half x)')

    class MLP extends nn.Module {
      @nn.compact
      call(x: Tensor): Tensor {
        x = new nn.Dense({ features: 8, paramDtype: h, dtype: h }).call(x)
        x = nn.gelu(x)
        x = new nn.LayerNorm({ paramDtype: h, dtype: h }).call(x)
        return new nn.Dense({ features: 3, paramDtype: h, dtype: h }).call(x)
      }
    }
    const m = new MLP()
    const vm = m.init(random.key(6), x)
    sameTree(t, vm, o.mlp_params, 'MLP init')
    same(t, m.apply(vm, x) as Tensor, o.mlp_out, 'MLP apply')
  })
}

// ---- the widening matmul ---------------------------------------------------------------------------

/** `matmul(x, w)` with half-precision `w` equals `matmul(x, w.astype('float32'))` bit for bit. */
function widening(t: ExecutionContext, h: Half, m: number, k: number, n: number, seed: number): void {
  const [k1, k2] = random.split(random.key(seed))
  const x = random.normal(k1, [m, k])
  const w = random.normal(k2, [k, n], h)
  const wide = w.astype('float32')
  const got = jnp.matmul(x, w)
  const want = jnp.matmul(x, wide)
  t.is(got.dtype, 'float32')
  const g = bytesOf(got)
  const e = bytesOf(want)
  if (g.equals(e)) t.pass()
  else t.fail(`${h} [${m}, ${k}]·[${k}, ${n}]: ${diff(g, e, 4)}`)
  // A 1-D x (a vector) and a batched x take the same kernels.
  if (m === 1) {
    const v = x.reshape([k])
    t.true(bytesOf(jnp.matmul(v, w)).equals(bytesOf(jnp.matmul(v, wide))), `${h} vector·[${k}, ${n}]`)
  }
  for (const a of [x, got, want, w, wide]) a.dispose()
}

for (const h of HALVES) {
  test(`matmul reads ${h} weights widened in registers: equal to the float32 product of the widened weights (batch 1 and 32, odd shapes)`, (t) => {
    // Shapes off every kernel tile (12×32 microkernel, 16 lanes, 8-row matvec streams, KC = 256,
    // NC = 1024), small enough for one thread and large enough to split across the pool, plus
    // packed-B sizes (row stride ≥ 2048) and the split-k matvec.
    const shapes: [number, number, number][] = [
      [1, 37, 29],
      [1, 1000, 777],
      [1, 4099, 515],
      [1, 300, 2500],
      [32, 37, 29],
      [32, 1000, 777],
      [32, 513, 1100],
      [33, 270, 2049],
      [57, 300, 2100],
      [3, 5, 1],
      [7, 1, 9],
    ]
    shapes.forEach(([m, k, n], i) => widening(t, h, m, k, n, i))
  })

  test(`matmul of two ${h} operands is the float32 product rounded once (preferredElementType: float32 skips the rounding)`, (t) => {
    const [k1, k2] = random.split(random.key(9))
    const a = random.normal(k1, [32, 300], h)
    const w = random.normal(k2, [300, 70], h)
    const f32 = jnp.matmul(a.astype('float32'), w.astype('float32'))
    const y = jnp.matmul(a, w)
    t.is(y.dtype, h)
    t.true(bytesOf(y).equals(bytesOf(f32.astype(h))))
    const p = jnp.matmul(a, w, { preferredElementType: 'float32' })
    t.is(p.dtype, 'float32')
    t.true(bytesOf(p).equals(bytesOf(f32)))
  })
}

test('a Dense layer with bfloat16 params computing in float32 reads the kernel without widening it first', (t) => {
  const d = new nn.Dense({ features: 300, paramDtype: 'bfloat16' })
  const x = random.normal(random.key(1), [1, 200])
  const v = d.init(random.key(0), x)
  const y = d.apply(v, x) as Tensor
  const want = jnp.add(jnp.matmul(x, v.params.kernel.astype('float32')), v.params.bias.astype('float32'))
  t.is(y.dtype, 'float32')
  t.true(bytesOf(y).equals(bytesOf(want)))
})

// ---- refusals --------------------------------------------------------------------------------------

test('ops that do not take half dtypes refuse them with E_DTYPE naming the op and the dtype', (t) => {
  const b = jnp.ones([3, 3], 'bfloat16')
  const e = t.throws(() => linalg.qr(b), { code: 'E_DTYPE' })
  t.regex(e!.message, /qr/)
  t.regex(e!.message, /bfloat16/)
  t.throws(() => jnp.matmul(jnp.ones([2, 2], 'int32'), b), { code: 'E_DTYPE' })
  t.throws(() => random.normal(random.key(0), [2], 'int32' as any), { code: 'E_DTYPE' })
  t.throws(() => random.uniform(random.key(0), [2], { dtype: 'uint8' as any }), { code: 'E_DTYPE' })
  t.throws(() => nn.initializers.lecunNormal()(random.key(0), [2, 2], 'int32'), { code: 'E_DTYPE' })
  t.throws(() => new nn.Dense({ features: 2, dtype: 'int32' }).init(random.key(0), jnp.ones([1, 2])), { code: 'E_DTYPE' })
  t.throws(() => jnp.matmul(b, b, { preferredElementType: 'int32' }), { code: 'E_DTYPE' })
})
