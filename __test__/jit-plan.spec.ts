// jit's plans: fusion and reuse as seen from JS, and nn.jit (Flax's lifted jit for Module
// classes). Model-by-model equality with eager runs is in jit.spec.ts.
import test from 'ava'
import { jit, jnp, nn, random, type Tensor } from '../ts/index'
import { native } from '../ts/native'

const bits = (t: Tensor) => Array.from(t.data)

class MLP extends nn.Module {
  declare hidden: nn.Dense
  declare out: nn.Dense
  setup() {
    this.hidden = new nn.Dense({ features: 16 })
    this.out = new nn.Dense({ features: 4 })
  }
  call(x: Tensor): Tensor {
    return this.out.call(jnp.gelu(this.hidden.call(x)))
  }
}

test('Dense + bias + activation compile to fused matmul epilogues, bit for bit with eager', (t) => {
  const m = new MLP({})
  const x = random.normal(random.key(1), [3, 8])
  const v = m.init(random.key(0), x)
  const f = jit((v: any, x: Tensor) => m.apply(v, x))
  t.deepEqual(f.lower(v, x).ops, ['matmul_fused', 'matmul_fused'])
  t.deepEqual(bits(f(v, x)), bits(m.apply(v, x)))
})

test('sub-results of unchanged weights are reused; a weight whose .data was taken never is', (t) => {
  const w = random.normal(random.key(2), [6, 5])
  const f = jit((w: Tensor, x: Tensor) => jnp.matmul(x, jnp.transpose(jnp.tanh(w))))
  const eager = (w: Tensor, x: Tensor) => bits(jnp.matmul(x, jnp.transpose(jnp.tanh(w))))
  const xs = [1, 2, 3, 4].map((s) => random.normal(random.key(10 + s), [2, 5]))
  // Call 1 has nothing to compare with; call 2 sees w unchanged and keeps tanh(w) (the product
  // reads it transposed in place); 3 and 4 reuse it.
  xs.forEach((x, i) => {
    t.deepEqual(bits(f(w, x)), eager(w, x))
    t.is(f.lower(w, x).reused, i >= 2 ? 1 : 0, `call ${i + 1}`)
  })
  // Exposing w's bytes to JS (a later write could change them) stops the reuse for good.
  const view = w.data
  view[0] = 7
  t.deepEqual(bits(f(w, xs[0])), eager(w, xs[0]))
  t.is(f.lower(w, xs[0]).reused, 0)
  f(w, xs[1])
  t.is(f.lower(w, xs[1]).reused, 0)
})

test('x @ w.T over rows of x reads w where it lies: no transposed copy is made or kept, the same bits as eager', (t) => {
  // A Dense kernel kept as (out, in), as PyTorch and Hugging Face's Conv1D store it, passed in or
  // captured. (One row keeps the copy, which the matrix-vector product streams fastest.)
  const w = random.normal(random.key(3), [384, 256])
  for (const rows of [2, 7]) {
    const xs = [1, 2, 3].map((s) => random.normal(random.key(20 + s), [rows, 256]))
    const passed = jit((w: Tensor, x: Tensor) => jnp.matmul(x, jnp.transpose(w)))
    const captured = jit((x: Tensor) => nn.relu(jnp.matmul(x, jnp.transpose(w))))
    t.deepEqual(passed.lower(w, xs[0]).ops, ['matmul_t'])
    t.deepEqual(captured.lower(xs[0]).ops, ['matmul_fused'])
    const wt = jnp.transpose(w) // the eager reference's copy, made before counting
    const before = native.liveBytes()
    for (const x of xs) {
      const [a, b] = [passed(w, x), captured(x)]
      const [ea, eb] = [jnp.matmul(x, wt), nn.relu(jnp.matmul(x, wt))]
      t.deepEqual(bits(a), bits(ea))
      t.deepEqual(bits(b), bits(eb))
      for (const r of [a, b, ea, eb]) r.dispose()
    }
    // Only the results, freed: nothing of w's size (384 KiB) stays behind for the next call.
    t.true(native.liveBytes() - before < 384 * 256 * 4, `${native.liveBytes() - before} bytes kept`)
    t.is(passed.lower(w, xs[0]).reused, 0)
  }
})

test('nn.jit(MLP): apply compiles once per signature and equals the eager module', (t) => {
  const JitMLP = nn.jit(MLP)
  const m = new JitMLP({})
  const x = random.normal(random.key(1), [3, 8])
  const v = m.init(random.key(0), x)
  const eager = new MLP({}).apply(v, x)
  t.deepEqual(bits(m.apply(v, x)), bits(eager))
  t.deepEqual(bits(m.apply(v, random.normal(random.key(1), [3, 8]))), bits(eager))
  t.is(JitMLP.name, 'JitMLP')
})
