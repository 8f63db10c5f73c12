// Mutable state through bind / apply, perturb from setup-defined modules, sow docstring
// (flax-cases 56, 58, 60).
import test from 'ava'
import { jnp, nn, random, tree, type Tensor } from '../ts/index'
import { shapes } from './helpers/variables'

const data = (x: Tensor) => Array.from(x.data)

/** A running mean in 'batch_stats' (the role BatchNorm plays in test_bind_stateful). */
class RunningMean extends nn.Module {
  @nn.compact
  call(x: Tensor): Tensor {
    const ra = this.variable('batch_stats', 'mean', () => jnp.zeros([x.shape[1]]))
    const mean = jnp.mean(x, 0)
    if (!this.isInitializing()) ra.value = jnp.add(jnp.multiply(ra.value, 0.9), jnp.multiply(mean, 0.1))
    return jnp.subtract(x, mean)
  }
}

class Foo extends nn.Module {
  declare a: nn.Dense
  declare norm: RunningMean
  declare b: nn.Dense
  setup() {
    this.a = new nn.Dense({ features: 3 })
    this.norm = new RunningMean()
    this.b = new nn.Dense({ features: 2 })
  }
}

const f = (foo: Foo, x: Tensor) => foo.b.call(foo.norm.call(foo.a.call(x)))

test('stateful bind (test_bind_stateful): a bound module mutates its own variables like nn.apply(mutable)', (t) => {
  const x = random.normal(random.key(1), [4, 2])
  const [, v] = nn.initWithOutput(f, new Foo())(random.key(0), x)
  t.deepEqual(shapes(v.batch_stats), { norm: { mean: [3] } })
  const [yApply, state] = nn.apply(f, new Foo(), { mutable: 'batch_stats' })(v, x)
  const bound = new Foo().bind(v, { mutable: 'batch_stats' })
  const yBound = f(bound, x)
  t.deepEqual(data(yBound), data(yApply))
  t.deepEqual(data(bound.variables.batch_stats.norm.mean), data(state.batch_stats.norm.mean))
  t.notDeepEqual(data(state.batch_stats.norm.mean), [0, 0, 0])
  // the caller's variables are untouched
  t.deepEqual(data(v.batch_stats.norm.mean), [0, 0, 0])
})

test('perturb from a setup-defined submodule (test_perturb_setup): zeros at init, added at apply', (t) => {
  class P extends nn.Module {
    declare dense: nn.Dense
    setup() {
      this.dense = new nn.Dense({ features: 10 })
    }
    call(x: Tensor) {
      let y = this.dense.call(x)
      y = this.perturb('before_multiply', y)
      y = jnp.multiply(y, 4)
      return this.perturb('after_multiply', y)
    }
  }
  const x = random.uniform(random.key(1), [10, 10])
  const v = new P().init(random.key(0), x)
  t.deepEqual(shapes(v.perturbations), { before_multiply: [10, 10], after_multiply: [10, 10] })
  t.true(data(v.perturbations.after_multiply).every((z) => z === 0))
  const y = new P().apply({ params: v.params }, x)
  const ones = jnp.ones([10, 10])
  const yp = new P().apply({ params: v.params, perturbations: { before_multiply: ones, after_multiply: ones } }, x)
  // (dense + 1) * 4 + 1
  t.deepEqual(data(yp), data(jnp.add(jnp.multiply(jnp.add(jnp.divide(y, 4), 1), 4), 1)))
})

test('sow docstring [exact]: init_fn 0 / add gives [[3.]]; sown Dense outputs keep their shapes', (t) => {
  class Foo2 extends nn.Module {
    @nn.compact
    call(x: Tensor) {
      const add = (a: Tensor | number, b: Tensor) => jnp.add(b, a)
      this.sow('intermediates', 'h', x, { initFn: () => 0 as Tensor | number, reduceFn: add })
      this.sow('intermediates', 'h', jnp.multiply(x, 2), { initFn: () => 0 as Tensor | number, reduceFn: add })
      return x
    }
  }
  const [, state] = new Foo2().applyWith({}, { mutable: ['intermediates'] }, jnp.ones([1, 1]))
  t.deepEqual(state.intermediates.h.toArray(), [[3]])
  class Foo extends nn.Module {
    @nn.compact
    call(x: Tensor) {
      const h = new nn.Dense({ features: 4 }).call(x)
      this.sow('intermediates', 'h', h)
      return new nn.Dense({ features: 2 }).call(h)
    }
  }
  const x = jnp.ones([16, 9])
  const v = new Foo().init(random.key(0), x)
  const [, st] = new Foo().applyWith(v, { mutable: ['intermediates'] }, x)
  t.deepEqual(tree.leaves(st.intermediates.h).map((h: Tensor) => [...h.shape]), [[16, 4]])
})
