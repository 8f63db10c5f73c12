// Module naming helpers: copy / clone (flax-cases 69), relaxed naming (68), modulePaths (66),
// compactNameScope (spec c.7), explicit names.
import test from 'ava'
import { jnp, nn, random, type Tensor } from '../ts/index'
import { Scope, withConfig } from '../ts/core'
import { NameInUseError, ValueError } from '../ts/errors'
import { shapes } from './helpers/variables'

const URL = 'https://flax.readthedocs.io/en/latest/api_reference/flax.errors.html#flax.errors.'
const data = (x: Tensor) => Array.from(x.data)

class Child extends nn.Module {
  @nn.compact
  call(x: Tensor): Tensor {
    return new nn.Dense({ features: 2, useBias: false }).call(x)
  }
}

test('copy(): a sibling with the next autoname (test_copy_method); copy({ name }) uses the name', (t) => {
  class Parent extends nn.Module {
    @nn.compact
    call(x: Tensor): Tensor {
      const dense = new nn.Dense({ features: 2 })
      const y = dense.call(x)
      const next = dense.copy()
      const named = dense.copy({ name: 'next_layer_0', features: 3 })
      return named.call(next.call(y))
    }
  }
  const v = new Parent().init(random.key(0), jnp.ones([1, 2]))
  t.deepEqual(shapes(v), {
    params: { Dense_0: { kernel: [2, 2], bias: [2] }, Dense_1: { kernel: [2, 2], bias: [2] }, next_layer_0: { kernel: [2, 3], bias: [3] } },
  })
  // outside any module a copy is an unbound orphan without a name
  const d = new nn.Dense({ features: 4, name: 'x' })
  const c = d.copy()
  t.is(c.name, null)
  t.is(c.parent, null)
  t.is(c.features, 4)
})

test('copies of a template field get Child_0, Child_1; the template itself creates no params (test_copy_from_template, test_internal_deep_clone)', (t) => {
  class Parent extends nn.Module<{ childTemplate: Child }> {
    childTemplate!: Child
    @nn.compact
    call(x: Tensor): Tensor {
      const a = this.childTemplate.copy().call(x)
      return this.childTemplate.clone({ parent: this, name: null }).call(a)
    }
  }
  const v = new Parent({ childTemplate: new Child() }).init(random.key(0), jnp.ones([1, 2]))
  t.deepEqual(shapes(v), { params: { Child_0: { Dense_0: { kernel: [2, 2] } }, Child_1: { Dense_0: { kernel: [2, 2] } } } })
})

test('copy() deep-clones module fields (sharing kept), so the sibling owns fresh submodules', (t) => {
  class Wrap extends nn.Module<{ a: Child; b: Child }> {
    a!: Child
    b!: Child
    @nn.compact
    call(x: Tensor): Tensor {
      return this.b.call(this.a.call(x))
    }
  }
  class Host extends nn.Module {
    @nn.compact
    call(x: Tensor): Tensor {
      const shared = new Child({ parent: null })
      const w = new Wrap({ a: shared, b: shared })
      return w.copy().call(w.call(x))
    }
  }
  const v = new Host().init(random.key(0), jnp.ones([1, 2]))
  // one adopted child per Wrap (shared instance adopted once, under the first field name)
  t.deepEqual(shapes(v), { params: { Wrap_0: { a: { Dense_0: { kernel: [2, 2] } } }, Wrap_1: { a: { Dense_0: { kernel: [2, 2] } } } } })
})

test('relaxed naming: preserved adopted names can clash (NameInUseError); one name in two collections is fine (test_relaxed_*)', (t) => {
  class Foo extends nn.Module {
    @nn.compact
    call(x: Tensor) {
      return jnp.add(x, this.param('p', nn.initializers.zeros, x.shape))
    }
  }
  class Bar extends nn.Module<{ sub1: Foo; sub2: Foo }> {
    sub1!: Foo
    sub2!: Foo
    call(x: Tensor) {
      return this.sub2.call(this.sub1.call(x))
    }
  }
  const x = jnp.ones([2])
  const make = () => new Bar({ sub1: new Foo({ name: 'foo' }), sub2: new Foo({ name: 'foo' }) })
  t.deepEqual(Object.keys(make().init(random.key(0), x).params).sort(), ['sub1', 'sub2'])
  const err = t.throws(() => withConfig({ flaxPreserveAdoptedNames: true }, () => make().init(random.key(0), x)), { instanceOf: NameInUseError })
  t.is(err.message, `Could not create submodule "foo" in Module Bar: Name in use. (${URL}NameInUseError)`)

  class TwoCols extends nn.Module<{ third: boolean }> {
    third!: boolean
    static dummy = 0
    @nn.compact
    call() {
      this.variable('col1', 'v', () => 1)
      this.variable('col2', 'v', () => 2)
      this.param('dummy', () => 3) // named like a class attribute: fine
      if (this.third) this.variable('col1', 'v', () => 3)
      return null
    }
  }
  t.deepEqual(new TwoCols({ third: false }).init(random.key(0)), { col1: { v: 1 }, col2: { v: 2 }, params: { dummy: 3 } })
  const err2 = t.throws(() => new TwoCols({ third: true }).init(random.key(0)), { instanceOf: NameInUseError })
  t.is(err2.message, `Could not create variable "v" in Module TwoCols: Name in use. (${URL}NameInUseError)`)
})

test('an explicit name is used as is; a second module with it is a NameInUseError', (t) => {
  class Host extends nn.Module<{ twice: boolean }> {
    twice!: boolean
    @nn.compact
    call(x: Tensor) {
      const y = new nn.Dense({ features: 2, name: 'proj' }).call(x)
      return this.twice ? new nn.Dense({ features: 2, name: 'proj' }).call(y) : y
    }
  }
  t.deepEqual(shapes(new Host({ twice: false }).init(random.key(0), jnp.ones([1, 2]))), { params: { proj: { kernel: [2, 2], bias: [2] } } })
  t.throws(() => new Host({ twice: true }).init(random.key(0), jnp.ones([1, 2])), {
    instanceOf: NameInUseError,
    message: `Could not create submodule "proj" in Module Host: Name in use. (${URL}NameInUseError)`,
  })
})

test('modulePaths (test_module_paths): paths → unbound copies, in call order', (t) => {
  class Bar extends nn.Module {
    @nn.compact
    call(x: Tensor) {
      x = new nn.Dense({ features: 3 }).call(x)
      return new nn.Dense({ features: 4 }).call(x)
    }
  }
  class Foo extends nn.Module {
    @nn.compact
    call(x: Tensor) {
      x = new Bar().call(x)
      return new nn.Dense({ features: 5 }).call(x)
    }
  }
  const paths = new Foo().modulePaths(random.key(0), jnp.ones([16, 9]))
  t.deepEqual(Object.keys(paths), ['', 'Bar_0', 'Bar_0/Dense_0', 'Bar_0/Dense_1', 'Dense_0'])
  t.deepEqual(
    Object.values(paths).map((m) => m.constructor.name),
    ['Foo', 'Bar', 'Dense', 'Dense', 'Dense'],
  )
  t.true(Object.values(paths).every((m) => m.scope === null && m.parent === null))
  t.is((paths['Bar_0/Dense_1'] as nn.Dense).features, 4)
  // a module called twice is listed once, unless showRepeated
  class Twice extends nn.Module {
    @nn.compact
    call(x: Tensor) {
      const d = new nn.Dense({ features: 9 })
      return d.call(d.call(x))
    }
  }
  t.deepEqual(Object.keys(new Twice().modulePaths(random.key(0), jnp.ones([1, 9]))), ['', 'Dense_0'])
})

class Updown extends nn.Module {
  @nn.compactNameScope
  up(x: Tensor): Tensor {
    return new nn.Dense({ features: 3 }).call(x)
  }

  @nn.compactNameScope
  down(x: Tensor): Tensor {
    return new nn.Dense({ features: 3 }).call(x)
  }

  call(x: Tensor): Tensor {
    return jnp.add(this.up(x), this.down(x))
  }
}

test('compactNameScope: each method gets a child scope named after it (compact_name_scope docstring)', (t) => {
  const x = jnp.ones([1, 2])
  const v = new Updown().init(random.key(0), x)
  t.deepEqual(shapes(v), { params: { down: { Dense_0: { kernel: [2, 3], bias: [3] } }, up: { Dense_0: { kernel: [2, 3], bias: [3] } } } })
  // callable through apply(method: 'down'); same as the part of the full call
  const yDown = new Updown().applyWith(v, { method: 'down' }, x)
  t.deepEqual([...yDown.shape], [1, 3])
  const yUp = new Updown().applyWith(v, { method: Updown.prototype.up }, x)
  t.deepEqual(data(new Updown().apply(v, x)), data(jnp.add(yUp, yDown)))
  // plain-function form and calls from a compact method: names still from the method
  class Plain extends nn.Module {
    @nn.compact
    call(x: Tensor) {
      return this.block(new nn.Dense({ features: 2 }).call(x))
    }
    declare block: (x: Tensor) => Tensor
  }
  Plain.prototype.block = nn.compactNameScope(function block(this: Plain, x: Tensor) {
    return new nn.Dense({ features: 2 }).call(x)
  })
  const pv = new Plain().init(random.key(0), x)
  t.deepEqual(Object.keys(pv.params).sort(), ['Dense_0', 'block'])
  t.deepEqual(Object.keys(pv.params.block), ['Dense_0'])
  // unbound: Flax's ValueError
  t.throws(() => new Updown().up(x), {
    instanceOf: ValueError,
    message: "Cannot call compact_name_scope method 'up' on a Module that has not been setup. This is likely because you are calling 'up' from outside of init or apply.",
  })
})

test('a module bound to a Scope with a path keeps it (names below it)', (t) => {
  const scope = new Scope({}, { params: random.key(0) }, { mutable: true, path: ['root'] })
  const m = new Child({ parent: scope })
  m.call(jnp.ones([1, 2]))
  t.deepEqual([...m.path], ['root'])
  t.deepEqual(shapes(scope.variables()), { params: { Dense_0: { kernel: [2, 2] } } })
})

test("a dict key is used as given in the adopted name: { '(1, 2)': Dense } → a_(1, 2) (test_setup_dict_nonstring_keys, with JS's string keys)", (t) => {
  class Keys extends nn.Module {
    declare a: Record<string, nn.Dense>
    setup() {
      this.a = { '(1, 2)': new nn.Dense({ features: 2 }) }
    }
    call(x: Tensor) {
      return this.a['(1, 2)'].call(x)
    }
  }
  t.deepEqual(shapes(new Keys().init(random.key(0), jnp.ones([1, 3]))), { params: { 'a_(1, 2)': { kernel: [3, 2], bias: [2] } } })
})

test('super().setup() in a subclass (test_super_setup): parent and child submodules together', (t) => {
  class Foo extends nn.Module {
    declare dense0: nn.Dense
    setup() {
      this.dense0 = new nn.Dense({ features: 4 })
    }
    call(x: Tensor) {
      return this.dense0.call(x)
    }
  }
  class Bar extends Foo {
    declare dense1: nn.Dense
    setup() {
      super.setup()
      this.dense1 = new nn.Dense({ features: 3 })
    }
    call(x: Tensor) {
      return this.dense1.call(super.call(x))
    }
  }
  const [y, v] = new Bar().initWithOutput(random.key(0), jnp.ones([4, 7]))
  t.deepEqual(shapes(v), { params: { dense0: { kernel: [7, 4], bias: [4] }, dense1: { kernel: [4, 3], bias: [3] } } })
  t.deepEqual([...y.shape], [4, 3])
})
