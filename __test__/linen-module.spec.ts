// nn.Module: construction, naming, setup vs compact, adoption (spec c.1–c.3; flax-cases section 4).
import test from 'ava'
import { jnp, nn, random, type Tensor } from '../ts/index'
import { Scope, foldInStatic, withConfig } from '../ts/core'
import {
  AssignSubModuleError,
  NameInUseError,
  ReservedModuleAttributeError,
  SetAttributeFrozenModuleError,
  SetAttributeInModuleSetupError,
  ValueError,
} from '../ts/errors'
import { keyWords, shapes } from './helpers/variables'

const URL = 'https://flax.readthedocs.io/en/latest/api_reference/flax.errors.html#flax.errors.'
const onesInit = nn.initializers.ones
const data = (x: Tensor) => Array.from(x.data)

class DummyModule extends nn.Module {
  @nn.compact
  call(x: Tensor): Tensor {
    const bias = this.param('bias', onesInit, x.shape)
    return jnp.add(x, bias)
  }
}

test('a Scope-bound module (test_init_module); rewound scope gives the same output', (t) => {
  const scope = new Scope({}, { params: random.key(0) }, { mutable: ['params'] })
  const x = jnp.array([1])
  const y = new DummyModule({ parent: scope }).call(x)
  t.deepEqual(data(y), [2])
  t.deepEqual(shapes(scope.variables()), { params: { bias: [1] } })
  t.deepEqual(data(scope.variables().params.bias), [1])
  const y2 = new DummyModule({ parent: scope.rewound() }).call(x)
  t.deepEqual(data(y2), [2])
})

class SetupParam extends nn.Module<{ xshape: number[] }> {
  xshape!: number[]
  declare bias: Tensor
  setup() {
    this.bias = this.param('bias', onesInit, this.xshape)
  }
  call(x: Tensor): Tensor {
    return jnp.add(x, this.bias)
  }
}

test('param in setup (test_param_in_setup)', (t) => {
  const x = jnp.array([1])
  const scope = new Scope({}, { params: random.key(0) }, { mutable: ['params'] })
  const y = new SetupParam({ xshape: [1], parent: scope }).call(x)
  t.deepEqual(data(y), [2])
  t.deepEqual(data(scope.variables().params.bias), [1])
})

class NoBiasDense extends nn.Module<{ features: number }> {
  features!: number
  @nn.compact
  call(x: Tensor): Tensor {
    const k = this.param('kernel', nn.initializers.lecunNormal(), [x.shape[x.shape.length - 1], this.features])
    return jnp.matmul(x, k)
  }
}

class MLPHelper extends nn.Module {
  helper(x: Tensor, f: number) {
    return new NoBiasDense({ features: f }).call(x)
  }
  @nn.compact
  call(x: Tensor) {
    return this.helper(this.helper(x, 3), 3)
  }
}

test('autonaming in helper methods (test_util_fun): per-class counters', (t) => {
  const v = new MLPHelper().init(random.key(0), jnp.ones([1, 10]))
  t.deepEqual(shapes(v), { params: { NoBiasDense_0: { kernel: [10, 3] }, NoBiasDense_1: { kernel: [3, 3] } } })
})

class Top extends nn.Module {
  @nn.compact
  call(x: Tensor) {
    const mlp = new MLPHelper()
    return mlp.call(mlp.call(jnp.reshape(x, [1, 3])))
  }
}

test('reusing a module instance shares its scope (test_nested_module_reuse)', (t) => {
  const v = new Top().init(random.key(0), jnp.ones([3]))
  t.deepEqual(shapes(v), { params: { MLPHelper_0: { NoBiasDense_0: { kernel: [3, 3] }, NoBiasDense_1: { kernel: [3, 3] } } } })
})

class CompactTwice extends nn.Module {
  @nn.compact
  call(x: Tensor) {
    const a = new nn.Dense({ features: 2 }).call(x)
    const b = this.method(x)
    return [a, b]
  }
  @nn.compact
  method(x: Tensor) {
    return new nn.Dense({ features: 2 }).call(x)
  }
}

test('two compact methods continue numbering (test_multiple_compact_methods)', (t) => {
  const v = new CompactTwice().init(random.key(0), jnp.ones([1, 2]))
  t.deepEqual(Object.keys(v.params), ['Dense_0', 'Dense_1'])
  // calling the outer compact method twice re-creates Dense_0 and reuses its params
  const [[[a1], [a2]], v2] = new CompactTwice().initWithOutputWith(
    random.key(0),
    { method: (m: CompactTwice, x: Tensor) => [m.call(x), m.call(x)] },
    jnp.ones([1, 2]),
  )
  t.deepEqual(data(a1), data(a2))
  t.deepEqual(Object.keys(v2.params), ['Dense_0', 'Dense_1'])
})

class Foo extends nn.Module {
  @nn.compact
  call(x: Tensor): Tensor {
    return new nn.Dense({ features: 4 }).call(x)
  }
}
class Bar extends Foo {
  @nn.compact
  call(x: Tensor): Tensor {
    const y = super.call(x)
    return new nn.Dense({ features: 3 }).call(y)
  }
}

test('super() in a compact method (test_super_compact)', (t) => {
  const [y, v] = new Bar().initWithOutput(random.key(0), jnp.ones([4, 7]))
  t.deepEqual(shapes(v), { params: { Dense_0: { kernel: [7, 4], bias: [4] }, Dense_1: { kernel: [4, 3], bias: [3] } } })
  t.deepEqual([...y.shape], [4, 3])
})

class DictSetup extends nn.Module {
  declare lyrs1: Record<string, NoBiasDense>
  declare lyrs2: NoBiasDense[]
  setup() {
    this.lyrs1 = { a: new NoBiasDense({ features: 3 }), b: new NoBiasDense({ features: 3 }) }
    this.lyrs2 = [new NoBiasDense({ features: 3 }), new NoBiasDense({ features: 3 })]
  }
  call(x: Tensor) {
    return this.lyrs1.b.call(this.lyrs1.a.call(x))
  }
}

test('dict/list attributes in setup (test_setup_dict_assignment); unused modules create nothing', (t) => {
  const v = new DictSetup().init(random.key(0), jnp.ones([1, 10]))
  t.deepEqual(shapes(v), { params: { lyrs1_a: { kernel: [10, 3] }, lyrs1_b: { kernel: [3, 3] } } })
})

class Mixed extends nn.Module {
  declare layers: readonly (nn.Dense | ((x: Tensor) => Tensor))[]
  setup() {
    this.layers = [new nn.Dense({ features: 10 }), nn.relu, new nn.Dense({ features: 10 })]
  }
  call(x: Tensor): Tensor {
    for (const l of this.layers) x = typeof l === 'function' ? l(x) : l.call(x)
    return x
  }
}

test('mixed list [Dense, relu, Dense] (test_mixed_list_assignment_in_setup)', (t) => {
  const x = random.uniform(random.key(0), [5, 5])
  const v = new Mixed().init(random.key(0), x)
  t.deepEqual(Object.keys(v.params).sort(), ['layers_0', 'layers_2'])
  const y: Tensor = new Mixed().apply(v, x)
  const m0 = v.params.layers_0.kernel
  const m1 = v.params.layers_2.kernel
  t.deepEqual(data(y), data(jnp.matmul(nn.relu(jnp.matmul(x, m0)), m1)))
  t.true(Object.isFrozen(new Mixed().bind(v).layers), 'stored arrays are frozen (Flax: tuples)')
})

test('suffix computation (test_get_suffix_value_pairs) through setup naming', async (t) => {
  const { mapOverModulesInTree } = await import('../ts/linen/module-internals')
  const pairs = (x: unknown) => {
    const out: [string, unknown][] = []
    mapOverModulesInTree((s, v) => {
      out.push([s, v])
      return v
    }, x)
    return out
  }
  for (const x of [[], {}, null, 0]) t.deepEqual(pairs(x), [['', x]])
  t.deepEqual(pairs({ a: 1, b: 2 }), [['_a', 1], ['_b', 2]])
  t.deepEqual(pairs([1, 2, 3]), [['_0', 1], ['_1', 2], ['_2', 3]])
  const f = () => 0
  t.deepEqual(pairs({ a: 1, b: { c: 'm', d: f } }), [['_a', 1], ['_b_c', 'm'], ['_b_d', f]])
})

class Inner extends nn.Module {
  setup() {
    this.param('x', () => 40)
  }
  call() {
    return 0
  }
}
class Outer extends nn.Module<{ inner: Inner }> {
  inner!: Inner
  call() {
    return this.inner.call()
  }
}
class Wrapper extends nn.Module {
  declare inner: Inner
  declare outer: Outer
  setup() {
    this.inner = new Inner()
    this.outer = new Outer({ inner: this.inner })
  }
  call() {
    return this.outer.call()
  }
}

test('variables are registered at the owner (test_submodule_attr)', (t) => {
  const v = new Wrapper().init(random.key(0))
  t.deepEqual(v, { params: { inner: { x: 40 } } })
})

class OutsideParam extends nn.Module {
  call() {
    return this.param('p', () => 1)
  }
}

test('param outside setup/compact: ValueError (test_init_outside_setup_without_compact)', (t) => {
  t.throws(() => new OutsideParam().init(random.key(0)), {
    instanceOf: ValueError,
    message: 'Parameters must be initialized in `setup()` or in a method wrapped in `@compact`',
  })
  class OutsideVariable extends nn.Module {
    call() {
      return this.variable('state', 'v', () => 1)
    }
  }
  t.throws(() => new OutsideVariable().init(random.key(0)), {
    instanceOf: ValueError,
    message: 'Variables must be initialized in `setup()` or in a method wrapped in `@compact`',
  })
})

test('name collisions raise NameInUseError (test_*_var_collision)', (t) => {
  class Dummy extends nn.Module<{ mode: string }> {
    mode!: string
    declare bias: unknown
    setup() {
      if (this.mode === 'setup-twice') {
        this.param('bias', onesInit, [1])
        this.param('bias', onesInit, [1])
      }
      if (this.mode === 'setup-then-call') this.bias = this.param('bias', onesInit, [1])
    }
    @nn.compact
    call(x: Tensor) {
      if (this.mode === 'setup-then-call' || this.mode === 'call-twice') this.param('bias', onesInit, [1])
      if (this.mode === 'call-twice') this.param('bias', onesInit, [1])
      if (this.mode === 'submodule-after-param') {
        this.param('bias', onesInit, [1])
        new DummyModule({ name: 'bias' }).call(x)
      }
      if (this.mode === 'variable-twice') {
        this.variable('col1', 'v', () => 1)
        this.variable('col2', 'v', () => 1)
        this.variable('col1', 'v', () => 1)
      }
      return x
    }
  }
  const x = jnp.ones([1])
  const paramMsg = `Could not create param "bias" in Module Dummy: Name in use. (${URL}NameInUseError)`
  for (const mode of ['setup-twice', 'setup-then-call', 'call-twice']) {
    const err = t.throws(() => new Dummy({ mode }).init(random.key(0), x), { instanceOf: NameInUseError })
    t.is(err.message, paramMsg, mode)
  }
  const err = t.throws(() => new Dummy({ mode: 'submodule-after-param' }).init(random.key(0), x), { instanceOf: NameInUseError })
  t.is(err.message, `Could not create submodule "bias" in Module Dummy: Name in use. (${URL}NameInUseError)`)
  const err2 = t.throws(() => new Dummy({ mode: 'variable-twice' }).init(random.key(0), x), { instanceOf: NameInUseError })
  t.is(err2.message, `Could not create variable "v" in Module Dummy: Name in use. (${URL}NameInUseError)`)
})

test('param names may differ from attribute names (test_setattr_name_var_disagreement_allowed_in_lists)', (t) => {
  class Biases extends nn.Module {
    declare biases: Tensor[]
    setup() {
      this.biases = [0, 1, 2, 3].map((i) => this.param(`bias_${i}`, onesInit, [1]))
    }
    call(x: Tensor) {
      return jnp.add(x, this.biases[0])
    }
  }
  const [y, v] = new Biases().initWithOutput(random.key(0), jnp.array([1]))
  t.deepEqual(data(y), [2])
  t.deepEqual(Object.keys(v.params), ['bias_0', 'bias_1', 'bias_2', 'bias_3'])
})

test('forgotten @compact: AssignSubModuleError (test_forgotten_compact_annotation)', (t) => {
  class NotCompact extends nn.Module<{ explicit: boolean }> {
    explicit!: boolean
    call(x: Tensor): Tensor {
      return new nn.Dense(this.explicit ? { features: 1, parent: this } : { features: 1 }).call(x)
    }
  }
  for (const explicit of [false, true]) {
    const err = t.throws(() => new NotCompact({ explicit }).init(random.key(0), jnp.ones([1, 2])), { instanceOf: AssignSubModuleError })
    t.is(err.message, `Submodule Dense must be defined in \`setup()\` or in a method wrapped in \`@compact\` (${URL}AssignSubModuleError)`)
  }
})

test('frozen instances (test_noncompact_module_frozen, test_submodule_frozen)', (t) => {
  class Frozen extends nn.Module {
    call() {
      Reflect.set(this, 'i', 2)
    }
  }
  const err = t.throws(() => new Frozen().init(random.key(0)), { instanceOf: SetAttributeFrozenModuleError })
  t.is(err.message, `Can't set i=2 for Module of type Frozen: Module instance is frozen outside of setup method. (${URL}SetAttributeFrozenModuleError)`)
  class SubFrozen extends nn.Module {
    declare dense: nn.Dense
    setup() {
      this.dense = new nn.Dense({ features: 10 })
      this.dense.features = 20
    }
    call() {
      return 0
    }
  }
  const err2 = t.throws(() => new SubFrozen().init(random.key(0)), { instanceOf: SetAttributeFrozenModuleError })
  t.is(err2.message, `Can't set features=20 for Module of type Dense: Module instance is frozen outside of setup method. (${URL}SetAttributeFrozenModuleError)`)
  // As in Flax, an unbound orphan was never attached, so it is not frozen yet; a bound one is.
  const orphan = new nn.Dense({ features: 3 })
  orphan.init(random.key(0), jnp.ones([1, 1]))
  orphan.features = 4
  t.is(orphan.features, 4)
  const bound = new nn.Dense({ features: 3 }).bind({ params: {} })
  t.throws(() => {
    bound.features = 4
  }, { instanceOf: SetAttributeFrozenModuleError, message: /^Can't set features=4 for Module of type Dense/ })
})

test('fields cannot be reassigned in setup (SetAttributeInModuleSetupError)', (t) => {
  class FieldInSetup extends nn.Module<{ features: number }> {
    features!: number
    setup() {
      this.features = 3
    }
    call() {
      return 0
    }
  }
  const err = t.throws(() => new FieldInSetup({ features: 2 }).init(random.key(0)), { instanceOf: SetAttributeInModuleSetupError })
  t.is(err.message, `Module construction attributes are frozen. (${URL}SetAttributeInModuleSetupError)`)
})

test('props win over class-field defaults; defaults apply otherwise; name/parent are reserved', (t) => {
  t.is(new nn.Dense({ features: 2, useBias: false }).useBias, false)
  t.is(new nn.Dense({ features: 2 }).useBias, true)
  t.is(new nn.Dense({ features: 2, name: 'd' }).name, 'd')
  class BadName extends nn.Module {
    name2 = 1
    parent = null
  }
  const err = t.throws(() => new BadName(), { instanceOf: ReservedModuleAttributeError })
  t.regex(err.message, /^properties `parent` and `name` are reserved: /)
  t.true(err.message.endsWith(`(${URL}ReservedModuleAttributeError)`))
})

class LazyA extends nn.Module {
  declare d: nn.Dense
  setup() {
    this.d = new nn.Dense({ features: 2 })
  }
  call(x: Tensor) {
    return this.d.call(x)
  }
}
class LazyB extends nn.Module {
  declare a: LazyA
  setup() {
    this.a = new LazyA()
  }
  call(x: Tensor): [Tensor, Tensor, boolean, boolean] {
    const viaAttr = this.a.d.call(x)
    const viaCall = this.a.call(x)
    return [viaAttr, viaCall, 'd' in this.a, Object.keys(this.a).includes('d')]
  }
}

test('lazy setup on attribute access (test_module_lazy_getattr_setup, _dir_setup)', (t) => {
  const [[y1, y2, has, listed]] = new LazyB().initWithOutput(random.key(0), jnp.ones([1, 3]))
  t.deepEqual(data(y1), data(y2))
  t.true(has)
  t.true(listed)
})

class FieldB extends nn.Module<{ foo: nn.Dense }> {
  foo!: nn.Dense
  call(x: Tensor) {
    return this.foo.call(x)
  }
}
class FieldA extends nn.Module {
  declare b: FieldB
  setup() {
    this.b = new FieldB({ foo: new nn.Dense({ features: 2 }) })
  }
  call(x: Tensor) {
    return this.b.call(x)
  }
}

test('a module passed as a field (test_module_pass_as_attr) and in a closure', (t) => {
  const v = new FieldA().init(random.key(0), jnp.ones([1, 1]))
  t.deepEqual(shapes(v), { params: { b: { foo: { kernel: [1, 2], bias: [2] } } } })
  const outside = new nn.Dense({ features: 2 })
  class Closure extends nn.Module {
    declare foo: nn.Dense
    setup() {
      this.foo = outside
    }
    call(x: Tensor) {
      return this.foo.call(x)
    }
  }
  const v2 = new Closure().init(random.key(0), jnp.ones([1, 1]))
  t.deepEqual(shapes(v2), { params: { foo: { kernel: [1, 2], bias: [2] } } })
  t.is(outside.name, null, 'the outside module is cloned, never renamed')
  t.is(outside.scope, null)
})

class Encoder extends nn.Module<{ nLayers: number; ch: number }> {
  nLayers!: number
  ch!: number
  declare layers: nn.Dense[]
  setup() {
    this.layers = Array.from({ length: this.nLayers }, () => new nn.Dense({ features: this.ch }))
  }
  call(x: Tensor) {
    for (const l of this.layers) x = nn.relu(l.call(x))
    return x
  }
}
class Model extends nn.Module<{ encoder: Encoder; nOut: number }> {
  encoder!: Encoder
  nOut!: number
  declare denseOut: nn.Dense
  setup() {
    this.denseOut = new nn.Dense({ features: this.nOut })
  }
  call(x: Tensor) {
    return this.denseOut.call(this.encoder.call(x))
  }
}

test('top-level adoption of a module field (test_toplevel_submodule_adoption)', (t) => {
  const encoder = new Encoder({ nLayers: 1, ch: 8 })
  const model = new Model({ encoder, nOut: 5 })
  const x = random.uniform(random.key(0), [4, 4])
  const [y, v] = model.initWithOutput(random.key(0), x)
  t.deepEqual([...y.shape], [4, 5])
  t.deepEqual(shapes(v), { params: { denseOut: { bias: [5], kernel: [8, 5] }, encoder: { layers_0: { bias: [8], kernel: [4, 8] } } } })
  t.is(encoder.scope, null, 'the user instance stays unbound')
})

class Shared extends nn.Module {
  @nn.compact
  call(x: Tensor) {
    return new NoBiasDense({ features: 2 }).call(x)
  }
}
class UsesShared extends nn.Module<{ a: Shared }> {
  a!: Shared
  @nn.compact
  call(x: Tensor) {
    return jnp.add(new NoBiasDense({ features: 2 }).call(x), this.a.call(x))
  }
}
class Both extends nn.Module<{ a: Shared; b: UsesShared }> {
  a!: Shared
  b!: UsesShared
  @nn.compact
  call(x: Tensor) {
    return jnp.add(jnp.add(new NoBiasDense({ features: 2 }).call(x), this.b.call(x)), this.a.call(x))
  }
}

test('adoption keeps sharing (test_toplevel_submodule_adoption_sharing)', (t) => {
  const a = new Shared()
  const b = new UsesShared({ a })
  const v = new Both({ a, b }).init(random.key(0), jnp.ones([1, 2]))
  t.deepEqual(shapes(v), { params: { NoBiasDense_0: { kernel: [2, 2] }, a: { NoBiasDense_0: { kernel: [2, 2] } }, b: { NoBiasDense_0: { kernel: [2, 2] } } } })
})

class RngC extends nn.Module {
  @nn.compact
  call() {
    return keyWords(this.makeRng('dropout'))
  }
}
class RngA extends nn.Module {
  @nn.compact
  call() {
    return new RngC().call()
  }
}
class RngB extends nn.Module {
  @nn.compact
  call() {
    const a = new RngA()
    return [a.call(), a.call()]
  }
}

test('counters across calls of one submodule (test_rng_reuse_after_rewind)', (t) => {
  const [k1, k2] = new RngB().applyWith({}, { rngs: { dropout: random.key(0) } })
  t.notDeepEqual(k1, k2)
  t.deepEqual(k1, keyWords(foldInStatic(random.key(0), ['RngA_0', 'RngC_0', 1])))
  t.deepEqual(k2, keyWords(foldInStatic(random.key(0), ['RngA_0', 'RngC_0', 2])))
})

test('module paths (test_module_path_empty, test_module_path_in_nested_module)', (t) => {
  const seen: string[][] = []
  class C extends nn.Module {
    setup() {
      seen.push([...this.path])
    }
    call() {
      return 0
    }
  }
  class B extends nn.Module {
    declare c1: C
    declare c2: C
    setup() {
      seen.push([...this.path])
      this.c1 = new C()
      this.c2 = new C()
      this.c1.call()
      this.c2.call()
    }
    call() {
      return 0
    }
  }
  class A extends nn.Module {
    declare b1: B
    declare b2: B
    declare c1: C
    setup() {
      seen.push([...this.path])
      this.b1 = new B()
      this.b2 = new B()
      this.c1 = new C()
      this.b1.call()
      this.b2.call()
      this.c1.call()
    }
    call() {
      return 0
    }
  }
  new A().init(random.key(0))
  t.deepEqual(seen, [[], ['b1'], ['b1', 'c1'], ['b1', 'c2'], ['b2'], ['b2', 'c1'], ['b2', 'c2'], ['c1']])
  const m = new A({ parent: new Scope({}, null, { path: ['root'] }) })
  t.deepEqual([...m.path], ['root'])
})

test('clone keeps fields and name; copies in a compact method get the next autoname', (t) => {
  const d = new nn.Dense({ features: 3, useBias: false, name: 'x' })
  const c = d.clone({ features: 4 })
  t.is(c.features, 4)
  t.is(c.useBias, false)
  t.is(c.name, 'x')
  t.is(c.parent, null)
  class Templ extends nn.Module<{ template: NoBiasDense }> {
    template!: NoBiasDense
    @nn.compact
    call(x: Tensor): Tensor {
      const a = this.template.clone({ parent: this, name: null }).call(x)
      return this.template.clone({ parent: this, name: null }).call(a)
    }
  }
  const v = new Templ({ template: new NoBiasDense({ features: 2 }) }).init(random.key(0), jnp.ones([1, 2]))
  t.deepEqual(shapes(v), { params: { NoBiasDense_0: { kernel: [2, 2] }, NoBiasDense_1: { kernel: [2, 2] } } })
})

class CounterA extends nn.Module {
  @nn.compact
  call(x: Tensor) {
    const i = this.variable('counter', 'i', () => 0)
    if (this.isMutableCollection('counter')) i.value = i.value + 1
    return new nn.Dense({ features: 1 }).call(x)
  }
}
class DictHolder extends nn.Module<{ A: Record<string, CounterA> }> {
  A!: Record<string, CounterA>
  call(x: Tensor) {
    for (const k of Object.keys(this.A)) x = this.A[k].call(x)
    return x
  }
}

test('adoption of pytrees of modules (test_toplevel_submodule_adoption_pytree)', (t) => {
  const m = new DictHolder({ A: { foo: new CounterA(), bar: new CounterA() } })
  const x = jnp.ones([1, 1])
  const v = m.init(random.key(0), x)
  const [, state] = m.applyWith(v, { mutable: 'counter' }, x)
  t.deepEqual(state, { counter: { A_bar: { i: 2 }, A_foo: { i: 2 } } })
})

test('one instance shared in a dict is adopted once, named by the first sorted key (..._pytree_adoption_sharing)', (t) => {
  const a = new CounterA()
  const m = new DictHolder({ A: { foo: a, bar: a, baz: a } })
  const x = jnp.ones([1, 1])
  const v = m.init(random.key(0), x)
  t.deepEqual(Object.keys(v.params), ['A_bar'])
  t.deepEqual(v.counter, { A_bar: { i: 3 } })
  const [, state] = m.applyWith(v, { mutable: 'counter' }, x)
  t.deepEqual(state.counter, { A_bar: { i: 6 } })
})

class NamedA extends nn.Module {
  @nn.compact
  call(x: Tensor) {
    return new NoBiasDense({ features: 4, name: 'dense' }).call(x)
  }
}
class NamedB extends nn.Module<{ a: NamedA }> {
  a!: NamedA
  @nn.compact
  call(x: Tensor) {
    return new NoBiasDense({ features: 6, name: 'proj' }).call(this.a.call(x))
  }
}

test('an outside module keeps its own name only with preserve_adopted_names (test_toplevel_named_submodule_adoption)', (t) => {
  const x = jnp.ones([1, 5])
  const v = new NamedB({ a: new NamedA({ name: 'foo' }) }).init(random.key(0), x)
  t.deepEqual(shapes(v), { params: { a: { dense: { kernel: [5, 4] } }, proj: { kernel: [4, 6] } } })
  const v2 = withConfig({ flaxPreserveAdoptedNames: true }, () => new NamedB({ a: new NamedA({ name: 'foo' }) }).init(random.key(0), x))
  t.deepEqual(shapes(v2), { params: { foo: { dense: { kernel: [5, 4] } }, proj: { kernel: [4, 6] } } })
  class Preserving extends NamedB {
    static preserveAdoptedNames = true
  }
  const v3 = new Preserving({ a: new NamedA({ name: 'foo' }) }).init(random.key(0), x)
  t.deepEqual(Object.keys(v3.params).sort(), ['foo', 'proj'])
})

test('nn.compact without decorators: on the prototype or as a class field; nn.nowrap', (t) => {
  class ProtoForm extends nn.Module {
    declare call: (x: Tensor) => Tensor
  }
  ProtoForm.prototype.call = nn.compact(function (this: ProtoForm, x: Tensor) {
    return new nn.Dense({ features: 2 }).call(x)
  })
  class FieldForm extends nn.Module {
    call = nn.compact((x: Tensor) => new nn.Dense({ features: 2 }).call(x))
  }
  for (const M of [ProtoForm, FieldForm]) {
    const v = new M().init(random.key(0), jnp.ones([1, 3]))
    t.deepEqual(shapes(v), { params: { Dense_0: { kernel: [3, 2], bias: [2] } } })
  }
  class Helper extends nn.Module {
    @nn.nowrap
    makeDense(n: number) {
      return new nn.Dense({ features: n, parent: null })
    }
  }
  const d = new Helper().makeDense(3)
  t.is(d.features, 3)
  t.is(d.parent, null)
})
