// Naming and lifting through transforms (flax-cases section 5), with nn.mapVariables — the lifted
// transform flaxen has — standing in for jit / remat / vmap where the case tests plain modules.
import test from 'ava'
import { jnp, nn, random, tree, type Tensor } from '../ts/index'
import type { Variables } from '../ts/core'
import { NameInUseError } from '../ts/errors'
import { shapes } from './helpers/variables'

const URL = 'https://flax.readthedocs.io/en/latest/api_reference/flax.errors.html#flax.errors.'
const data = (x: Tensor) => Array.from(x.data)
const id = (v: Variables) => v

class Foo extends nn.Module {
  @nn.compact
  call(x: Tensor): Tensor {
    return new nn.Dense({ features: 4 }).call(x)
  }
}

test('transformed class names (case 72): Map_variablesFoo_0/Dense_0, keys as the untransformed Foo at that path', (t) => {
  class Bar extends nn.Module {
    @nn.compact
    call(x: Tensor) {
      const T = nn.mapVariables(Foo, 'params', id, id, { init: this.isInitializing() })
      return new T().call(x)
    }
  }
  class Plain extends nn.Module {
    @nn.compact
    call(x: Tensor) {
      return new Foo({ name: 'Map_variablesFoo_0' }).call(x)
    }
  }
  const x = random.normal(random.key(1), [2, 3])
  const v = new Bar().init(random.key(0), x)
  t.deepEqual(shapes(v), { params: { Map_variablesFoo_0: { Dense_0: { kernel: [3, 4], bias: [4] } } } })
  t.deepEqual(data(v.params.Map_variablesFoo_0.Dense_0.kernel), data(new Plain().init(random.key(0), x).params.Map_variablesFoo_0.Dense_0.kernel))
})

test("equivalence of transformed models (case 73): mapVariables(Dense) layers run the untransformed model's variables", (t) => {
  class MLP extends nn.Module<{ transform: boolean }> {
    transform!: boolean
    @nn.compact
    call(x: Tensor) {
      const D = this.transform ? nn.mapVariables(nn.Dense, 'params', id, id, { init: this.isInitializing() }) : nn.Dense
      ;[3, 4, 5].forEach((features, i) => (x = new D({ features, name: `layers_${i}` }).call(x)))
      return x
    }
  }
  const x = random.normal(random.key(2), [2, 3])
  const v = new MLP({ transform: false }).init(random.key(0), x)
  t.deepEqual(data(new MLP({ transform: true }).apply(v, x)), data(new MLP({ transform: false }).apply(v, x)))
  // and the transformed model initialises the same variables
  const vt = new MLP({ transform: true }).init(random.key(0), x)
  t.deepEqual(tree.leaves(vt).map(data), tree.leaves(v).map(data))
})

class Counter extends nn.Module {
  @nn.compact
  call(): Tensor {
    const c = this.variable('counter', 'foo', () => jnp.array([0], 'int32'))
    c.value = jnp.add(c.value, 1)
    return c.value
  }
}

test('a module shared across transforms is lifted once (case 74, test_multiscope_lifting_simple)', (t) => {
  class Outer extends nn.Module {
    declare cntr: nn.Module
    setup() {
      this.cntr = new (nn.mapVariables(Counter, 'params'))()
    }
    call() {
      return this.cntr.call()
    }
  }
  class Test extends nn.Module {
    declare outer: Outer
    setup() {
      this.outer = new Outer()
    }
    call() {
      // the module itself and a submodule passed as an argument: nested scopes, deduplicated
      const twice = (self: Test, o: Outer) => {
        o.call()
        return self.outer.call()
      }
      return nn.mapVariables(twice, 'params')(this, this.outer)
    }
  }
  const v = new Test().init(random.key(0))
  t.deepEqual(data(v.counter.outer.cntr.foo), [2])
  const [, state] = new Test().applyWith(v, { mutable: ['counter'] })
  t.deepEqual(data(state.counter.outer.cntr.foo), [4])
})

class A extends nn.Module {
  @nn.compact
  call(x: Tensor): Tensor {
    return new nn.Dense({ features: 3, useBias: false }).call(x)
  }
}
class B extends nn.Module<{ A: A }> {
  A!: A
  call(x: Tensor): Tensor {
    return this.A.call(x)
  }
}
class C extends nn.Module<{ A: A; B: B }> {
  A!: A
  B!: B
  @nn.compact
  call(x: Tensor): Tensor {
    return jnp.add(this.B.call(x), this.A.call(x))
  }
}
const MappedC = nn.mapVariables(C, 'params', id, id, { init: true })

test('adoption + transform (case 76): a transformed top-level C(a, B(a2)) reproduces D, which made A_0, A_1, B_0, C_0', (t) => {
  class D extends nn.Module {
    @nn.compact
    call(x: Tensor) {
      const a1 = new A()
      const a2 = new A()
      const b = new B({ A: a1 })
      return new MappedC({ A: a2, B: b }).call(x)
    }
  }
  const x = random.normal(random.key(3), [2, 3])
  const [y, v] = new D().initWithOutput(random.key(0), x)
  t.deepEqual(shapes(v), { params: { A_0: { Dense_0: { kernel: [3, 3] } }, A_1: { Dense_0: { kernel: [3, 3] } } } })
  const p = v.params
  const top = new MappedC({ A: new A(), B: new B({ A: new A() }) })
  t.deepEqual(data(top.apply({ params: { A: p.A_1, B: { A: p.A_0 } } }, x)), data(y))
})

test('a Variable passed to a transformed function is lifted (case 77, test_variable_in_args_transform)', (t) => {
  class Test extends nn.Module {
    @nn.compact
    call(x: Tensor) {
      const baz = this.variable('test', 'baz', () => jnp.zeros(x.shape))
      const mutate = (_self: Test, y: Tensor, v: nn.Variable<Tensor>) => {
        v.value = jnp.add(v.value, y)
        return v.value
      }
      return nn.mapVariables(mutate, 'params')(this, x, baz)
    }
  }
  const x = jnp.ones([1])
  const v = new Test().init(random.key(0), x)
  t.deepEqual(data(v.test.baz), [1])
  const [, state] = new Test().applyWith(v, { mutable: ['test'] }, x)
  t.deepEqual(data(state.test.baz), [2])
})

test('names stay reserved under transforms (case 78): two submodules named a in a transformed method; setup assigning twice', (t) => {
  class Sub extends nn.Module {
    call(x: Tensor) {
      return x
    }
  }
  class InMethod extends nn.Module {
    @nn.compact
    call(x: Tensor) {
      x = new Sub({ name: 'a' }).call(x)
      return new Sub({ name: 'a' }).call(x)
    }
  }
  const T = nn.mapVariables(InMethod, 'params')
  t.throws(() => new T().init(random.key(0), jnp.ones([1])), {
    instanceOf: NameInUseError,
    message: `Could not create submodule "a" in Module InMethod: Name in use. (${URL}NameInUseError)`,
  })
  class InSetup extends nn.Module {
    declare subs: Sub[]
    setup() {
      this.subs = [new Sub()]
      this.subs = [new Sub()]
    }
    call(x: Tensor) {
      return this.subs[0].call(x)
    }
  }
  const S = nn.mapVariables(InSetup, 'params')
  // Flax finds this clash in an abstract validation run of setup on the outer (transformed)
  // instance and names Map_variablesInSetup; flaxen runs setup only inside, on the original class.
  t.throws(() => new S().init(random.key(0), jnp.ones([1])), {
    instanceOf: NameInUseError,
    message: `Could not create submodule "subs_0" in Module InSetup: Name in use. (${URL}NameInUseError)`,
  })
})

test('debug paths carry the transform (case 65): map_variables(map_variables(c1)) while the path stays plain', (t) => {
  const seen: [string[], string[]][] = []
  class C1 extends nn.Module {
    call() {
      seen.push([[...this.scope!.path], [...this.scope!.debugPath]])
      return 0
    }
  }
  const Twice = nn.mapVariables(nn.mapVariables(C1, 'params'), 'params')
  class B1 extends nn.Module {
    declare c1: nn.Module
    setup() {
      this.c1 = new Twice()
    }
    call() {
      return this.c1.call()
    }
  }
  class Top extends nn.Module {
    declare b1: B1
    setup() {
      this.b1 = new B1()
    }
    call() {
      return this.b1.call()
    }
  }
  new Top().init(random.key(0))
  t.deepEqual(seen, [[['b1', 'c1'], ['b1', 'map_variables(map_variables(c1))']]])
})
