// nn.Module init/apply/bind and the in-method API (spec c.4, c.5, c.6; flax-cases section 4).
import test from 'ava'
import { jnp, nn, random, type Tensor } from '../ts/index'
import { DenyList, foldInStatic } from '../ts/core'
import {
  ApplyModuleInvalidMethodError,
  AttributeError,
  CallCompactUnboundModuleError,
  CallSetupUnboundModuleError,
  CallUnbindOnUnboundModuleError,
  InvalidInstanceModuleError,
  InvalidRngError,
  ValueError,
} from '../ts/errors'
import { keyWords, shapes } from './helpers/variables'

const URL = 'https://flax.readthedocs.io/en/latest/api_reference/flax.errors.html#flax.errors.'
const data = (x: Tensor) => Array.from(x.data)

class Model extends nn.Module {
  @nn.compact
  call(x: Tensor, { addDropout = false }: { addDropout?: boolean } = {}) {
    if (addDropout) this.makeRng('dropout')
    return new nn.Dense({ features: 2 }).call(x)
  }
}

test('default rng handling and errors (test_default_params_rng_equivalence)', (t) => {
  const x = jnp.ones([1, 3])
  // @ts-expect-error not a key
  t.throws(() => new Model().init({ params: 'test' }, x), {
    instanceOf: ValueError,
    message: /^First argument passed to an init function should be a ``jax.PRNGKey``/,
  })
  // @ts-expect-error not a key
  const err = t.throws(() => new Model().init('test', x), { instanceOf: InvalidRngError })
  t.is(err.message, `RNGs should be of shape (2,) or PRNGKey in Module Model, but rngs are: test (${URL}InvalidRngError)`)
  const v1 = new Model().init(random.key(1), x)
  t.notThrows(() => new Model().init(random.key(1), x, { addDropout: true }), 'dropout falls back to params')
  t.deepEqual(data(new Model().init({ params: random.key(1) }, x).params.Dense_0.kernel), data(v1.params.Dense_0.kernel))
  t.deepEqual(data(new Model().applyWith(v1, { rngs: { params: random.key(2) } }, x)), data(new Model().applyWith(v1, { rngs: random.key(2) }, x)))
  // @ts-expect-error not a key
  t.throws(() => new Model().applyWith(v1, { rngs: { params: 'test' } }, x), {
    instanceOf: ValueError,
    message: /^The ``rngs`` argument passed to an apply function should be a ``jax.PRNGKey``/,
  })
  // @ts-expect-error not a key
  const err2 = t.throws(() => new Model().applyWith(v1, { rngs: 'test' }, x), { instanceOf: InvalidRngError })
  t.is(err2.message, `RNGs should be of shape (2,) or PRNGKey in Module Model, but rngs are: test (${URL}InvalidRngError)`)
})

test('missing params stream (test_default_rng_error)', (t) => {
  const err = t.throws(() => new Model().init({ other_rng_stream: random.key(0) }, jnp.ones([1, 2])), { instanceOf: InvalidRngError })
  t.is(err.message, `Dense_0 needs PRNG for "params" (${URL}InvalidRngError)`)
  class Root extends nn.Module {
    call() {
      return this.makeRng()
    }
  }
  const err2 = t.throws(() => new Root().init({ other_rng_stream: random.key(0) }), { instanceOf: InvalidRngError })
  t.is(err2.message, `None needs PRNG for "params" (${URL}InvalidRngError)`)
})

test("makeRng() means makeRng('params') (test_default_make_rng)", (t) => {
  class A extends nn.Module {
    call() {
      return [keyWords(this.makeRng()), keyWords(this.makeRng('params'))]
    }
  }
  const [y] = new A().initWithOutput(random.key(0))
  t.deepEqual(y, [keyWords(foldInStatic(random.key(0), [1])), keyWords(foldInStatic(random.key(0), [2]))])
})

class Foo extends nn.Module {
  notCallable = 5
  call() {
    return 'call'
  }
  test() {
    return 'test'
  }
}

test('apply(method=...) (test_module_apply_method)', (t) => {
  t.is(new Foo().applyWith({}, { method: Foo.prototype.test }), 'test')
  t.is(new Foo().applyWith({}, { method: new Foo().test }), 'test')
  t.is(new Foo().applyWith({}, { method: 'test' }), 'test')
  t.is(new Foo().apply({}), 'call')
  t.true(new Foo().applyWith({}, { method: (m: Foo) => m }) instanceof Foo)
  const err = t.throws(() => new Foo().applyWith({}, { method: () => true }), { instanceOf: ApplyModuleInvalidMethodError })
  t.regex(err.message, /^Cannot call apply\(\): .* is not a valid function for apply\(\)\. \(https:/)
  // @ts-expect-error not an attribute of Foo: a type error too
  const err2 = t.throws(() => new Foo().applyWith({}, { method: 'allowedApplyFn' }), { instanceOf: AttributeError })
  t.regex(err2.message, /^"Foo" object has no attribute "allowedApplyFn"\./)
  t.throws(() => new Foo().applyWith({}, { method: 'notCallable' }), { instanceOf: TypeError, message: "'Foo.notCallable' must be a callable, got number." })
})

test('a string method naming a submodule field calls it (test_module_apply_method_submodule)', (t) => {
  class Holder extends nn.Module<{ sub: nn.Dense }> {
    sub!: nn.Dense
    call(x: Tensor) {
      return this.sub.call(x)
    }
  }
  const h = new Holder({ sub: new nn.Dense({ features: 2 }) })
  const v = h.init(random.key(0), jnp.ones([1, 3]))
  t.deepEqual(data(h.applyWith(v, { method: 'sub' }, jnp.ones([1, 3]))), data(h.apply(v, jnp.ones([1, 3]))))
})

test('no call method (test_module_call_not_implemented)', (t) => {
  class Empty extends nn.Module {}
  const err = t.throws(() => new Empty().init(random.key(0)), { instanceOf: AttributeError })
  t.regex(err.message, /^"Empty" object has no attribute "call"\./)
})

test('unbound usage (test_call_unbound_*)', (t) => {
  const err = t.throws(() => new nn.Dense({ features: 2 }).call(jnp.ones([1, 2])), { instanceOf: CallCompactUnboundModuleError })
  t.is(err.message, `Can't call compact methods on unbound modules (${URL}CallCompactUnboundModuleError)`)
  const d = new nn.Dense({ features: 2 })
  t.throws(() => d.hasVariable('params', 'kernel'), { instanceOf: ValueError, message: "Can't access variables on unbound modules" })
  t.throws(() => d.getVariable('params', 'kernel'), { instanceOf: ValueError, message: "Can't access variables on unbound modules" })
  t.throws(() => d.putVariable('params', 'kernel', 1), { instanceOf: ValueError, message: "Can't store variables on unbound modules" })
  t.throws(() => d.makeRng('dropout'), { instanceOf: ValueError, message: "Can't use RNGs on unbound modules" })
  t.throws(() => d.hasRng('dropout'), { instanceOf: ValueError, message: "Can't query for RNGs on unbound modules" })
  t.throws(() => d.isMutableCollection('params'), { instanceOf: ValueError, message: "Can't check mutability on unbound modules" })
  t.throws(() => d.isInitializing(), { instanceOf: ValueError, message: "Can't check if running under init() on unbound modules" })
  t.throws(() => d.variables, { instanceOf: ValueError, message: "Can't access variables on unbound modules" })
  t.throws(() => d.path, { instanceOf: ValueError, message: "Can't access module paths on unbound modules." })
  t.throws(() => d.unbind(), { instanceOf: CallUnbindOnUnboundModuleError, message: `Can't call \`unbind()\` on unbound modules (${URL}CallUnbindOnUnboundModuleError)` })
  class WithSetup extends nn.Module {
    setup() {}
  }
  t.throws(() => new WithSetup().setup(), {
    instanceOf: CallSetupUnboundModuleError,
    message: `Can't call compact methods on unbound modules (${URL}CallSetupUnboundModuleError)`,
  })

  class EmptyModule extends nn.Module {
    declare foo: number | undefined
    setup() {
      this.foo = 1
    }
    bar() {
      return 3
    }
    readsFoo() {
      return this.foo
    }
  }
  t.is(new EmptyModule().bar(), 3, 'a non-compact method that needs no setup works unbound')
  t.is(new EmptyModule().readsFoo(), undefined, 'setup never runs on an unbound module')
})

test('calling init/apply on the class (test_throws_invalid_instance_module_error)', (t) => {
  const msg = `Can only call init, init_with_output or apply methods on an instance of the Module class, not the Module class itself (${URL}InvalidInstanceModuleError)`
  // The class's static init/apply exist only to throw this (typed `never`).
  t.throws(() => nn.Dense.init(random.key(0), jnp.ones([1, 2])), { instanceOf: InvalidInstanceModuleError, message: msg })
  t.throws(() => nn.Dense.initWithOutput(random.key(0), jnp.ones([1, 2])), { instanceOf: InvalidInstanceModuleError })
  t.throws(() => nn.Dense.applyWith({}, {}, jnp.ones([1, 2])), { instanceOf: InvalidInstanceModuleError })
  t.throws(() => nn.Module.prototype.init.call({}, random.key(0)), { instanceOf: InvalidInstanceModuleError })
})

test('apply return convention: [y, state] whenever mutable is not false', (t) => {
  class Stateful extends nn.Module {
    @nn.compact
    call() {
      const c = this.variable('counter', 'n', () => 0)
      if (this.isMutableCollection('counter')) c.value = c.value + 1
      return c.value
    }
  }
  const v = new Stateful().init(random.key(0))
  t.deepEqual(v, { counter: { n: 1 } })
  t.is(new Stateful().apply(v), 1)
  t.deepEqual(new Stateful().applyWith(v, { mutable: ['counter'] }), [2, { counter: { n: 2 } }])
  t.deepEqual(new Stateful().applyWith(v, { mutable: [] }), [1, {}])
  t.deepEqual(new Stateful().applyWith(v, { mutable: true }), [2, { counter: { n: 2 } }])
  t.deepEqual(v, { counter: { n: 1 } }, 'input variables are never mutated')
  t.deepEqual(new Stateful().initWith(random.key(0), { mutable: ['counter'] }), { counter: { n: 1 } })
  // without 'counter' mutable, creating it fails as in Flax
  t.throws(() => new Stateful().initWith(random.key(0), { mutable: new DenyList('counter') }), { message: /collection "counter" in "\/" but the collection is empty/ })
})

test('is_mutable_collection, has_rng, is_initializing (test_is_mutable_collection, test_has_rng, test_is_initializing)', (t) => {
  class Q extends nn.Module {
    call() {
      return [this.isMutableCollection('test'), this.hasRng('bar'), this.isInitializing()]
    }
  }
  t.deepEqual(new Q().applyWith({}, { mutable: ['test'], rngs: { bar: random.key(0) } })[0], [true, true, false])
  t.deepEqual(new Q().applyWith({}, { rngs: { baz: random.key(0) } }), [false, false, false])
  t.deepEqual(new Q().initWithOutput(random.key(0))[0], [true, false, true])
})

test('get/put/has_variable in compact, non-compact and setup methods (test_module_get_put_has_variable)', (t) => {
  const x = jnp.array([1, 2, 3])
  class InCall extends nn.Module {
    call() {
      this.putVariable('test_col', 'a', x)
      return [this.hasVariable('test_col', 'a'), this.getVariable('test_col', 'a')]
    }
  }
  class InSetup extends nn.Module {
    setup() {
      this.putVariable('test_col', 'a', x)
    }
    call() {
      return [this.hasVariable('test_col', 'a'), this.getVariable('test_col', 'a')]
    }
  }
  for (const M of [InCall, InSetup]) {
    const [[has, got], state] = new M().applyWith({}, { mutable: ['test_col'] })
    t.true(has)
    t.is(got, x)
    t.deepEqual(state, { test_col: { a: x } })
  }
})

test('sow (test_sow): tuples by default, custom reduce/init, no-op when immutable', (t) => {
  class Sower extends nn.Module<{ add: boolean }> {
    add!: boolean
    call(x: number) {
      if (this.add) {
        this.sow('intermediates', 'h', x, { initFn: () => 0, reduceFn: (a: number, b: number) => a + b })
        this.sow('intermediates', 'h', 2 * x, { initFn: () => 0, reduceFn: (a: number, b: number) => a + b })
      } else {
        this.sow('intermediates', 'h', x)
        this.sow('intermediates', 'h', 2 * x)
      }
      return 3 * x
    }
  }
  t.deepEqual(new Sower({ add: false }).init(random.key(0), 1), {})
  t.deepEqual(new Sower({ add: false }).initWith(random.key(0), { mutable: true }, 1), { intermediates: { h: [1, 2] } })
  t.deepEqual(new Sower({ add: false }).applyWith({}, { mutable: ['intermediates'] }, 1), [3, { intermediates: { h: [1, 2] } }])
  t.deepEqual(new Sower({ add: true }).applyWith({}, { mutable: ['intermediates'] }, 1), [3, { intermediates: { h: 3 } }])
  t.is(new Sower({ add: false }).apply({}, 1), 3)
})

test('capture_intermediates (test_capture_intermediates)', (t) => {
  class Bar extends nn.Module {
    test(x: number) {
      return x + 1
    }
  }
  class Foo2 extends nn.Module {
    @nn.compact
    call(x: number) {
      return new Bar().test(x) + 1
    }
  }
  t.deepEqual(new Foo2().applyWith({}, { captureIntermediates: true }, 1), [3, { intermediates: { call: [3] } }])
  const filter = (m: nn.Module) => m instanceof Bar
  t.deepEqual(new Foo2().applyWith({}, { captureIntermediates: filter }, 1), [3, { intermediates: { Bar_0: { test: [2] } } }])
})

class AE extends nn.Module {
  declare encoder: nn.Dense
  declare decoder: nn.Dense
  setup() {
    this.encoder = new nn.Dense({ features: 4 })
    this.decoder = new nn.Dense({ features: 2 })
  }
  call(x: Tensor) {
    return this.decoder.call(this.encoder.call(x))
  }
}

test('bind / unbind (test_bind, test_unbind, test_bind_unbind_equality)', (t) => {
  const x = jnp.ones([1, 2])
  const ae = new AE()
  const v = ae.init(random.key(0), x)
  const bound = ae.bind(v)
  t.deepEqual(data(bound.call(x)), data(ae.apply(v, x)))
  t.deepEqual(data(bound.decoder.call(bound.encoder.call(x))), data(ae.apply(v, x)))
  const [enc, encVars] = bound.encoder.unbind()
  t.true(enc instanceof nn.Dense)
  t.is(enc.name, null)
  t.is(enc.scope, null)
  t.is(enc.features, 4)
  t.is(encVars.params, v.params.encoder)
  const [m2, v2] = ae.bind(v).unbind()
  t.deepEqual(shapes(v2), shapes(v))
  t.deepEqual(data(m2.apply(v2, x)), data(ae.apply(v, x)))
})

test('nn.apply / nn.initWithOutput with a function of the module (test_functional_apply)', (t) => {
  const f = (m: AE, x: Tensor) => m.decoder.call(m.encoder.call(x))
  const x = jnp.ones([1, 2])
  const [y, v] = nn.initWithOutput(f, new AE())(random.key(0), x)
  t.deepEqual(data(nn.apply(f, new AE())(v, x)), data(y))
  t.deepEqual(data(f(new AE().bind(v), x)), data(y))
  t.deepEqual(shapes(nn.init(f, new AE())(random.key(0), x)), shapes(v))
})

test('module variables and path inside methods', (t) => {
  class Inner extends nn.Module {
    @nn.compact
    call() {
      this.param('w', nn.initializers.zeros, [1])
      return [[...this.path], shapes(this.variables)]
    }
  }
  class OuterM extends nn.Module {
    @nn.compact
    call() {
      return new Inner({ name: 'in' }).call()
    }
  }
  const [[path, vars]] = new OuterM().initWithOutput(random.key(0))
  t.deepEqual(path, ['in'])
  t.deepEqual(vars, { params: { w: [1] } })
})

test('perturb (test_perturb_noop): zeros created when mutable, added when present, error when missing', (t) => {
  class P extends nn.Module {
    @nn.compact
    call(x: Tensor) {
      const y = new nn.Dense({ features: 2 }).call(x)
      return this.perturb('after', jnp.multiply(y, 4))
    }
  }
  const x = jnp.ones([1, 2])
  const v = new P().init(random.key(0), x)
  t.deepEqual(shapes(v), { params: { Dense_0: { kernel: [2, 2], bias: [2] } }, perturbations: { after: [1, 2] } })
  t.deepEqual(data(v.perturbations.after), [0, 0])
  const y = new P().apply({ params: v.params }, x)
  t.deepEqual(data(new P().apply(v, x)), data(y))
  t.throws(() => new P().apply({ params: v.params, perturbations: {} }, x), {
    instanceOf: ValueError,
    message: 'Perturbation collection perturbations present, but missing perturbation variable after',
  })
  const bumped = new P().apply({ params: v.params, perturbations: { after: jnp.ones([1, 2]) } }, x)
  t.deepEqual(data(bumped), data(jnp.add(y, 1)))
})
