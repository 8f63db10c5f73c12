// jit (issue 9): traced plans give eager's results bit for bit for every op family, and the
// tracing rules: what retraces, static arguments, tracer errors, donation, aborted traces, the
// bounded cache and captured constants. Models under jit: jit-modules.spec.ts.
import test from 'ava'
import { ConcretizationTypeError, Tensor, UnexpectedTracerError, jit, jnp, random } from '../ts/index'
import { Key } from '../ts/random'
import { assertSameBits, countLeaves } from './helpers/jit'

const data = (x: Tensor) => Array.from(x.data)

/** The `code` of what `fn` throws ('no error' if it returns). */
function codeOf(fn: () => unknown): unknown {
  try {
    fn()
  } catch (e) {
    return (e as { code?: unknown }).code
  }
  return 'no error'
}

const x34 = jnp.array([
  [-1.5, -0.5, 0, 0.5],
  [2.5, -3.25, 1e-3, 7],
  [0.75, -0, 4, -2],
])
const y34 = random.normal(random.key(7), [3, 4])
const w45 = random.uniform(random.key(8), [4, 5], { minval: -1, maxval: 1 })
const idx = jnp.array([2, 0, -1, 1], 'int32')

// ---- 1. every op family, jit == eager bit for bit ------------------------------------------

/** Elementwise, comparisons, where, reductions, softmax family, matmul, shape ops, creation. */
function opFamilies(x: Tensor, y: Tensor, w: Tensor, ix: Tensor): Record<string, Tensor> {
  const pos = jnp.add(jnp.abs(x), 0.25)
  const c = jnp.greater(x, y)
  return {
    // unary
    exp: jnp.exp(x),
    log: jnp.log(pos),
    sqrt: jnp.sqrt(pos),
    rsqrt: jnp.rsqrt(pos),
    tanh: jnp.tanh(x),
    abs: jnp.abs(x),
    negative: jnp.negative(x),
    square: jnp.square(x),
    reciprocal: jnp.reciprocal(pos),
    floor: jnp.floor(y),
    ceil: jnp.ceil(y),
    round: jnp.round(jnp.multiply(y, 4)),
    round2: jnp.round(y, 2),
    erf: jnp.erf(x),
    sigmoid: jnp.sigmoid(x),
    silu: jnp.silu(x),
    gelu: jnp.gelu(x),
    geluExact: jnp.gelu(x, false),
    sign: jnp.sign(x),
    relu: jnp.relu(x),
    // binary, with JS number operands on either side
    add: jnp.add(x, y),
    addNum: jnp.add(x, 2.5),
    subNum: jnp.subtract(1, x),
    mulNum: jnp.multiply(0.1, y),
    divNum: jnp.divide(x, 3),
    numDiv: jnp.divide(1, pos),
    maximum: jnp.maximum(x, y),
    minimumNum: jnp.minimum(x, 0.5),
    powInt: jnp.power(y, 2),
    powHalf: jnp.power(pos, 0.5),
    powTensor: jnp.power(pos, y),
    broadcast: jnp.add(x, jnp.array([1, 2, 3, 4])),
    // comparisons, logical ops, where, clip
    equal: jnp.equal(x, 0),
    notEqual: jnp.notEqual(x, y),
    less: jnp.less(x, y),
    lessEqual: jnp.lessEqual(x, 0.5),
    greater: c,
    greaterEqual: jnp.greaterEqual(y, x),
    and: jnp.logicalAnd(c, jnp.less(x, 1)),
    or: jnp.logicalOr(c, true),
    xor: jnp.logicalXor(c, jnp.less(y, 0)),
    not: jnp.logicalNot(c),
    where: jnp.where(c, x, y),
    whereNum: jnp.where(c, x, 0),
    whereBool: jnp.where(c, true, jnp.less(y, 0)),
    clip: jnp.clip(y, -0.5, 0.5),
    // reductions with axes / keepdims
    sumAll: jnp.sum(x),
    sum0: jnp.sum(x, 0),
    sum1k: jnp.sum(y, 1, { keepdims: true }),
    meanAxes: jnp.mean(y, [0, 1]),
    mean1k: jnp.mean(x, -1, { keepdims: true }),
    max0: jnp.max(y, 0),
    min1k: jnp.min(y, 1, { keepdims: true }),
    prod1: jnp.prod(x, 1),
    var0: jnp.var(y, 0),
    std1: jnp.std(y, 1, { keepdims: true, ddof: 1 }),
    argmax: jnp.argmax(y, 1),
    argminAll: jnp.argmin(y),
    sumInt: jnp.sum(ix),
    // softmax family
    softmax: jnp.softmax(y),
    softmax0: jnp.softmax(y, 0),
    logSoftmax: jnp.logSoftmax(x),
    logsumexp: jnp.logsumexp(y, 1),
    logsumexpAllK: jnp.logsumexp(x, null, { keepdims: true }),
    // matmul and masks
    matmul: jnp.matmul(x, w),
    matmulTriu: jnp.matmul(w, jnp.triu(jnp.matmul(jnp.transpose(w), w))),
    tril: jnp.tril(y, -1),
    // shape ops
    transpose: jnp.transpose(x),
    transposeAxes: jnp.transpose(jnp.reshape(y, [3, 2, 2]), [2, 0, 1]),
    reshape: jnp.reshape(x, [2, -1]),
    methodReshape: y.reshape([4, 3]),
    concatenate0: jnp.concatenate([x, y], 0),
    concatenate1: jnp.concatenate([x, y, x], 1),
    stack: jnp.stack([x, y], 1),
    take: jnp.take(w, ix, 0),
    takeFlat: jnp.take(x, ix),
    takeClip: jnp.take(x, jnp.add(ix, 3), 1, { mode: 'clip' }),
    oneHot: jnp.oneHot(ix, 5),
    oneHotInt: jnp.oneHot(jnp.array([0, 2], 'int32'), 3, { dtype: 'int32', axis: 0 }),
    expandDims: jnp.expandDims(x, [0, 2]),
    squeeze: jnp.squeeze(jnp.sum(x, 1, { keepdims: true })),
    broadcastTo: jnp.broadcastTo(jnp.sum(x, 0), [2, 4]),
    swapaxes: jnp.swapaxes(x, 0, 1),
    moveaxis: jnp.moveaxis(jnp.reshape(y, [3, 2, 2]), 0, -1),
    astypeInt: x.astype('int32'),
    astypeInt8: jnp.clip(jnp.round(jnp.multiply(y, 50)), -127, 127).astype('int8'),
    astypeBool: x.astype('bool'),
    int8Times: jnp.multiply(jnp.round(jnp.multiply(y, 10)).astype('int8'), jnp.array([0.5, 0.25, 1, 2])),
    // creation inside the trace (constants of the plan)
    created: jnp.add(jnp.add(jnp.zeros([3, 4]), jnp.ones([3, 4])), jnp.reshape(jnp.arange(12, undefined, 1, 'float32'), [3, 4])),
    eye: jnp.matmul(x, jnp.eye(4)),
    linspace: jnp.multiply(x, jnp.linspace(0, 1, 4)),
  }
}

test('op families: jit == eager bit for bit (elementwise, comparisons, where, reductions, softmax, matmul, shape ops, creation)', (t) => {
  const eager = opFamilies(x34, y34, w45, idx)
  const f = jit(opFamilies)
  const traced = f(x34, y34, w45, idx)
  t.true(countLeaves(eager) > 90)
  assertSameBits(t, traced, eager)
  // a second call with new values runs the plan (no retrace) and still matches eager
  const x2 = random.normal(random.key(3), [3, 4])
  const ix2 = jnp.array([4, 3, 0, -2], 'int32')
  assertSameBits(t, f(x2, y34, w45, ix2), opFamilies(x2, y34, w45, ix2))
  t.is(f.traceCount, 1)
})

/** Draws from a traced key, split and foldIn of it. */
function draws(k: Key, x: Tensor) {
  const [k1, k2, k3] = random.split(k, 3)
  const kf = random.foldIn(k, 42)
  const [ka, kb] = random.split(k2)
  return {
    normal: random.normal(k1, [3, 4]),
    uniform: random.uniform(k2, [5], { minval: -2, maxval: 3 }),
    bits: random.bits(k3, [2, 3]),
    bits8: random.bits(ka, [4], 'uint8'),
    randint: random.randint(kb, [6], -5, 5),
    bernoulli: random.bernoulli(kf, 0.3, [3, 4]),
    truncated: random.truncatedNormal(k, -1, 1, [4]),
    noise: jnp.add(x, random.normal(random.foldIn(kf, 1), [3, 4])),
    keys: [k1, k3, kf, random.split(kf, 1)[0]],
  }
}

test('random: draws, split and foldIn of a traced key == eager; a new key does not retrace', (t) => {
  const f = jit(draws)
  for (const seed of [0, 1, 12345]) {
    const k = random.key(seed)
    assertSameBits(t, f(k, x34), draws(k, x34))
  }
  // a split output (a key held as a tensor) is a traced input too
  const [, sub] = random.split(random.key(5))
  assertSameBits(t, f(sub, x34), draws(sub, x34))
  t.is(f.traceCount, 1)
  // the returned keys are usable keys
  const out = f(random.key(0), x34)
  assertSameBits(t, random.normal(out.keys[2], [2]), random.normal(random.foldIn(random.key(0), 42), [2]))
})

test('f.async and f.lower: the same plan off the JS thread; lower reports ops, steps, consts', async (t) => {
  const f = jit((x: Tensor, w: Tensor) => jnp.relu(jnp.matmul(x, w)))
  const lowered = f.lower(x34, w45)
  t.deepEqual(lowered.ops, ['matmul_fused'], 'relu runs as the matmul epilogue')
  t.true(lowered.steps >= 1)
  t.is(lowered.consts, 0)
  assertSameBits(t, await f.async(x34, w45), jnp.relu(jnp.matmul(x34, w45)))
  assertSameBits(t, f(x34, w45), jnp.relu(jnp.matmul(x34, w45)))
  t.is(f.traceCount, 1)
})

// ---- 2. the tracing rules ------------------------------------------------------------------

test('retrace on a new shape or dtype; not on new tensor values; signatures are cached', (t) => {
  const fn = (x: Tensor) => jnp.multiply(jnp.exp(x), 2)
  const f = jit(fn)
  const a = jnp.array([1, 2, 3])
  assertSameBits(t, f(a), fn(a))
  t.is(f.traceCount, 1)
  const b = jnp.array([-4, 0.5, 9])
  assertSameBits(t, f(b), fn(b))
  t.is(f.traceCount, 1, 'new values, same shape: the plan runs')
  const c = jnp.array([[1, 2, 3]])
  assertSameBits(t, f(c), fn(c))
  t.is(f.traceCount, 2, 'new shape: retrace')
  const d = jnp.array([1, 2, 3], 'int32')
  assertSameBits(t, f(d), fn(d))
  t.is(f.traceCount, 3, 'new dtype: retrace')
  assertSameBits(t, f(a), fn(a))
  assertSameBits(t, f(c), fn(c))
  t.is(f.traceCount, 3, 'seen signatures stay compiled')
})

test('pytree keys in the signature: insertion order does not retrace; keys that only look alike do', (t) => {
  const first = (tree: any): Tensor => (tree instanceof Tensor ? tree : first(Object.values(tree).find((v) => typeof v === 'object')))
  const f = jit((tree: Record<string, any>) => jnp.add(first(tree), 1))
  const x = jnp.array([1, 2])
  f({ a: x, b: 1 })
  f({ b: 1, a: x })
  t.is(f.traceCount, 1, 'the same keys in another order: one signature')
  // A key holding the signature's own delimiters is quoted, so it cannot pass for a nested
  // tree or another key: each of these is its own signature.
  f({ 'a:T': x, b: 1 })
  f({ a: { T: x }, b: 1 })
  f({ '"a"': x, b: 1 })
  f({ 'a b': x, b: 1 })
  f({ é: x, b: 1 })
  t.is(f.traceCount, 6)
  f({ '"a"': x, b: 1 })
  f({ é: x, b: 1 })
  t.is(f.traceCount, 6)
})

// Raw key data (a Uint32Array of length 2, which random.* and Flax's rngs accept as a key) is
// traced like a Key: new words, even written in place, give new draws from the same plan.
test('raw key data (Uint32Array) is a traced key: new words give new draws without a retrace', (t) => {
  const fn = (k: Uint32Array) => random.normal(k, [3])
  const f = jit(fn)
  const k = Uint32Array.of(0, 0)
  assertSameBits(t, f(k), fn(k))
  k[1] = 5
  assertSameBits(t, f(k), fn(k))
  assertSameBits(t, f(Uint32Array.of(0, 9)), fn(Uint32Array.of(0, 9)))
  t.is(f.traceCount, 1)
})

test('JS numbers are static: a new value retraces and is baked into the plan', (t) => {
  const f = jit((x: Tensor, s: number) => jnp.multiply(x, s))
  t.deepEqual(data(f(jnp.array([1, 2]), 3)), [3, 6])
  t.deepEqual(data(f(jnp.array([1, 2]), 3)), [3, 6])
  t.is(f.traceCount, 1)
  t.deepEqual(data(f(jnp.array([1, 2]), 4)), [4, 8])
  t.is(f.traceCount, 2)
})

test('staticArgnums: a static array/value retraces when it changes; a static tensor is concrete in the trace', (t) => {
  const sumOver = jit((x: Tensor, axes: number[]) => jnp.sum(x, axes), { staticArgnums: 1 })
  assertSameBits(t, sumOver(x34, [0]), jnp.sum(x34, [0]))
  assertSameBits(t, sumOver(y34, [0]), jnp.sum(y34, [0]))
  t.is(sumOver.traceCount, 1)
  assertSameBits(t, sumOver(x34, [1]), jnp.sum(x34, [1]))
  t.is(sumOver.traceCount, 2, 'a new static array: retrace')
  assertSameBits(t, sumOver(x34, [0, 1]), jnp.sum(x34, [0, 1]))
  t.is(sumOver.traceCount, 3)
  assertSameBits(t, sumOver(x34, [1]), jnp.sum(x34, [1]))
  t.is(sumOver.traceCount, 3, 'a static value seen before: cached')

  // a static tensor is not traced: its value can be read while tracing (hashed by identity)
  const scaleBy = jit((x: Tensor, s: Tensor) => jnp.multiply(x, s.item() as number), { staticArgnums: [1] })
  const three = jnp.array(3)
  t.deepEqual(data(scaleBy(jnp.array([1, 2]), three)), [3, 6])
  t.deepEqual(data(scaleBy(jnp.array([5, 6]), three)), [15, 18])
  t.is(scaleBy.traceCount, 1)
  t.deepEqual(data(scaleBy(jnp.array([1, 2]), jnp.array(-1))), [-1, -2])
  t.is(scaleBy.traceCount, 2, 'another static tensor: retrace')
  // the same read of a non-static tensor cannot be made while tracing
  const traced = jit((x: Tensor, s: Tensor) => jnp.multiply(x, s.item() as number))
  t.throws(() => traced(jnp.array([1, 2]), three), { instanceOf: ConcretizationTypeError })
})

test('staticArgnames: named keys of a trailing options object are static; the others are traced', (t) => {
  interface Opts {
    train: boolean
    scale: Tensor
    bias: Tensor
  }
  const fn = (x: Tensor, { train, scale, bias }: Opts) => jnp.add(jnp.multiply(x, train ? (scale.item() as number) : 1), bias)
  const f = jit(fn, { staticArgnames: ['train', 'scale'] })
  const x = jnp.array([1, 2, 3])
  const two = jnp.array(2)
  const opts = (train: boolean, scale: Tensor, b: number[]) => ({ train, scale, bias: jnp.array(b) })
  assertSameBits(t, f(x, opts(true, two, [0, 0, 1])), fn(x, opts(true, two, [0, 0, 1])))
  t.deepEqual(data(f(x, opts(true, two, [0, 0, 1]))), [2, 4, 7])
  // the traced key (bias) takes new values without a retrace
  t.deepEqual(data(f(x, opts(true, two, [10, 10, 10]))), [12, 14, 16])
  t.is(f.traceCount, 1)
  t.deepEqual(data(f(x, opts(false, two, [0, 0, 0]))), [1, 2, 3])
  t.is(f.traceCount, 2, 'a static key changed: retrace')
  t.deepEqual(data(f(x, opts(true, jnp.array(5), [0, 0, 0]))), [5, 10, 15])
  t.is(f.traceCount, 3, 'another tensor under a static name: retrace')
  // without staticArgnames the scale is traced and cannot be read
  const g = jit(fn)
  const err = t.throws(() => g(x, opts(true, two, [0, 0, 0])), { instanceOf: ConcretizationTypeError })
  t.is(err?.code, 'ConcretizationTypeError')
})

test('reading a tracer (.data, toArray, item, Number) raises ConcretizationTypeError naming the op', (t) => {
  const x = jnp.array([1, 2, 3])
  const reads: [string, (v: Tensor) => unknown][] = [
    ['.data', (v) => v.data],
    ['toArray()', (v) => v.toArray()],
    ['item()', (v) => jnp.sum(v).item()],
    ['Number(t)', (v) => Number(jnp.sum(v))],
    ['+t', (v) => +jnp.max(v)],
  ]
  for (const [what, read] of reads) {
    const f = jit((v: Tensor) => {
      read(jnp.exp(v))
      return v
    })
    const err = t.throws(() => f(x), { instanceOf: ConcretizationTypeError }, what)
    t.is(err?.code, 'ConcretizationTypeError', what)
    t.is(err?.name, 'ConcretizationTypeError', what)
    const op = what === '.data' || what === 'toArray()' ? 'exp' : what === '+t' ? 'max' : 'sum'
    t.true(err!.message.includes(`\`${op}\``), `${what}: ${err?.message}`)
    t.is(f.traceCount, 0, `${what}: no plan was made`)
  }
  // an argument's tracer is named as such
  const g = jit((v: Tensor) => v.data)
  t.regex(t.throws(() => g(x), { instanceOf: ConcretizationTypeError })!.message, /`argument`/)
  // a traced key's words cannot be read either
  const h = jit((k: Key) => k.words)
  t.is(codeOf(() => h(random.key(0))), 'ConcretizationTypeError')
  // after all of these, eager ops compute again
  t.deepEqual(data(jnp.exp(jnp.array([0]))), [1])
})

test('a tracer leaked from a trace raises code UnexpectedTracerError when used afterwards', (t) => {
  let leaked: Tensor | undefined
  const f = jit((x: Tensor) => {
    leaked = jnp.tanh(x)
    return jnp.add(x, 1)
  })
  t.deepEqual(data(f(jnp.array([1, 2]))), [2, 3])
  t.true(leaked instanceof Tensor)
  t.deepEqual([...leaked!.shape], [2], 'its shape is still known')
  const inOp = t.throws(() => jnp.add(leaked!, 1))
  t.is((inOp as { code?: string }).code, 'UnexpectedTracerError')
  t.regex(inOp!.message, /^Encountered an unexpected tracer: add: a is the output of `tanh` \(shape \[2\], dtype float32\) from a jit trace that has ended/)
  // in another trace it is just as foreign, and there it is JAX's class
  const g = jit((x: Tensor) => jnp.add(x, leaked!))
  const inTrace = t.throws(() => g(jnp.array([1, 2])), { instanceOf: UnexpectedTracerError })
  t.is(inTrace?.code, 'UnexpectedTracerError')
  t.is(g.traceCount, 0)
  // as a jit argument
  const h = jit((x: Tensor) => jnp.exp(x))
  t.is(codeOf(() => h(leaked!)), 'UnexpectedTracerError')
  // reading its values is still a concretization error (it never had any)
  t.is(codeOf(() => leaked!.data), 'ConcretizationTypeError')
  // the plan of f is unaffected
  t.deepEqual(data(f(jnp.array([5, 6]))), [6, 7])
})

// The addon raises JAX's tracing errors as their registered classes, so `instanceof` holds for
// an eager op on a leaked tracer too, not only inside jit.
test('a leaked tracer used in an eager op throws an UnexpectedTracerError instance', (t) => {
  let leaked: Tensor | undefined
  const f = jit((x: Tensor) => {
    leaked = jnp.tanh(x)
    return x
  })
  f(jnp.array([1, 2]))
  t.throws(() => jnp.add(leaked!, 1), { instanceOf: UnexpectedTracerError })
})

test('donateArgnums: the donated tensor is consumed (E_DONATED), the result is right, others live', (t) => {
  const fn = (a: Tensor, b: Tensor) => jnp.add(jnp.multiply(a, 2), b)
  const f = jit(fn, { donateArgnums: 0 })
  const a = jnp.array([1, 2, 3])
  const b = jnp.array([10, 20, 30])
  const expected = fn(a, b)
  const out = f(a, b)
  assertSameBits(t, out, expected)
  t.deepEqual(data(out), [12, 24, 36])
  t.is(codeOf(() => a.data), 'E_DONATED')
  t.is(codeOf(() => jnp.add(a, 1)), 'E_DONATED')
  t.is(codeOf(() => f(a, b)), 'E_DONATED')
  t.true(a.isDisposed)
  t.deepEqual(data(b), [10, 20, 30], 'the non-donated argument is intact')
  // a second call with fresh tensors reuses the plan
  const a2 = jnp.array([0, 1, 2])
  t.deepEqual(data(f(a2, b)), [10, 22, 34])
  t.is(f.traceCount, 1)
  t.is(codeOf(() => a2.toArray()), 'E_DONATED')
})

// The same tensor passed donated and again not donated: every input is read before the
// donated handles are disposed.
test('donateArgnums: a tensor passed both donated and not donated still gives the right result', (t) => {
  const fn = (a: Tensor, b: Tensor) => jnp.add(jnp.exp(a), b)
  const f = jit(fn, { donateArgnums: 0 })
  const x = jnp.array([1, 2, 3, 4])
  const expected = fn(x, x)
  assertSameBits(t, f(x, x), expected)
})

test('an exception inside the traced function propagates; the trace is aborted and later calls work', (t) => {
  let calls = 0
  const fn = (x: Tensor) => {
    const y = jnp.exp(x)
    if (calls++ === 0) throw new RangeError('boom in trace')
    return jnp.add(y, 1)
  }
  const f = jit(fn)
  const x = jnp.array([0, 1])
  t.throws(() => f(x), { instanceOf: RangeError, message: 'boom in trace' })
  t.is(f.traceCount, 0)
  // no trace is left open: eager ops compute values
  t.deepEqual(data(jnp.add(x, 1)), [1, 2])
  const out = f(x)
  t.is(f.traceCount, 1)
  assertSameBits(t, out, jnp.add(jnp.exp(x), 1))
  assertSameBits(t, f(jnp.array([2, 3])), jnp.add(jnp.exp(jnp.array([2, 3])), 1))
  t.is(f.traceCount, 1)
  // an op error inside the trace (bad shapes) aborts the same way
  const g = jit((a: Tensor, b: Tensor) => jnp.matmul(a, b))
  t.throws(() => g(x34, x34))
  t.deepEqual(data(jnp.sum(jnp.array([1, 2]))), [3])
  assertSameBits(t, g(x34, w45), jnp.matmul(x34, w45))
})

test('the cache is bounded: cacheSize 2 retraces when three shapes cycle; LRU order', (t) => {
  const fn = (x: Tensor) => jnp.sum(jnp.square(x))
  const shapesList = [[2], [3], [4]].map((s) => random.normal(random.key(s[0]), s))
  const small = jit(fn, { cacheSize: 2 })
  const big = jit(fn)
  for (let round = 0; round < 2; round++) {
    for (const x of shapesList) {
      assertSameBits(t, small(x), fn(x))
      assertSameBits(t, big(x), fn(x))
    }
  }
  t.is(big.traceCount, 3)
  t.is(small.traceCount, 6, 'each shape was evicted before it came back')
  // least recently used goes first: [3], [4] cached; touching [3] makes [4] the victim
  small(shapesList[1])
  t.is(small.traceCount, 6)
  small(shapesList[0])
  t.is(small.traceCount, 7)
  small(shapesList[1])
  t.is(small.traceCount, 7, '[3] was kept')
  small(shapesList[2])
  t.is(small.traceCount, 8, '[4] was dropped')
  t.throws(() => jit(fn, { cacheSize: 0 }), { code: 'E_ARG' })
})

// ---- 3. captured constants ------------------------------------------------------------------

/** jit of `x * w` for a captured `w`; returns eager and plan results before and after `w.data[0] = 100`. */
function captureThenWrite(viewFirst: boolean) {
  const w = jnp.array([1, 2, 3])
  if (viewFirst) void w.data // a JS view of w's storage exists before the trace
  const fn = (x: Tensor) => jnp.multiply(x, w)
  const f = jit(fn)
  const x = jnp.array([1, 1, 1])
  const before = data(f(x))
  const consts = f.lower(x).consts
  w.data[0] = 100
  return { before, consts, eagerAfter: data(fn(x)), planAfter: data(f(x)), traces: f.traceCount, retraced: data(f(jnp.array([[1, 1, 1]]))) }
}

test('a captured tensor is a plan constant: a later .data write is not seen by the plan, eager sees it (w viewed before the trace)', (t) => {
  const r = captureThenWrite(true)
  t.deepEqual(r.before, [1, 2, 3])
  t.true(r.consts >= 1, 'w is a constant of the plan')
  t.deepEqual(r.eagerAfter, [100, 2, 3], 'eager reads the new value')
  t.deepEqual(r.planAfter, [1, 2, 3], 'the plan keeps the value seen when tracing')
  t.is(r.traces, 1)
  // a new signature traces again and captures the current value
  t.deepEqual(r.retraced, [100, 2, 3])
})

// Captured tensors are copied into the plan, so a view made after the trace cannot reach the
// plan's constant either.
test('a captured tensor is a plan constant: a later .data write is not seen by the plan, eager sees it (first view after the trace)', (t) => {
  const r = captureThenWrite(false)
  t.deepEqual(r.before, [1, 2, 3])
  t.true(r.consts >= 1, 'w is a constant of the plan')
  t.deepEqual(r.eagerAfter, [100, 2, 3], 'eager reads the new value')
  t.deepEqual(r.planAfter, [1, 2, 3], 'the plan keeps the value seen when tracing')
})
