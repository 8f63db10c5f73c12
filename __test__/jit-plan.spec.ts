// jit's plans: fusion and reuse as seen from JS, and nn.jit (Flax's lifted jit for Module
// classes). Model-by-model equality with eager runs is in jit.spec.ts.
import test from 'ava'
import { jit, jnp, nn, random, type Tensor } from '../ts/index'

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
  // Call 1 has nothing to compare with; call 2 sees w unchanged and keeps tanh(w)ᵀ; 3 and 4 reuse it.
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
