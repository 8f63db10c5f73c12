// nn.mapVariables and lift_transform (spec d.3; flax-cases 19–21, 77).
import test from 'ava'
import { jnp, nn, random, tree, type Tensor } from '../ts/index'
import { type Variables } from '../ts/core'
import { ScopeCollectionNotFound, TransformTargetError, TransformedMethodReturnValueError, ValueError } from '../ts/errors'
import { shapes } from './helpers/variables'

const URL = 'https://flax.readthedocs.io/en/latest/api_reference/flax.errors.html#flax.errors.'
const data = (x: Tensor) => Array.from(x.data)
const sign = (v: Variables) => tree.map((x: Tensor) => jnp.sign(x), v)

test('a transformed class is a subclass named Map_variables<Name>', (t) => {
  const BitDense = nn.mapVariables(nn.Dense, 'params', sign, undefined, { init: true })
  t.is(BitDense.name, 'Map_variablesDense')
  t.true(new BitDense({ features: 2 }) instanceof nn.Dense)
  t.is(nn.mapVariables(nn.Dense).name, 'Map_variablesDense')
})

test('an explicit name places the variables there; the inner module has the same path', (t) => {
  class M extends nn.Module {
    @nn.compact
    call(x: Tensor) {
      const BitDense = nn.mapVariables(nn.Dense, 'params', sign, undefined, { init: this.isInitializing() })
      return new BitDense({ features: 3, name: 'bits' }).call(x)
    }
  }
  const v = new M().init(random.key(0), jnp.ones([1, 2]))
  t.deepEqual(shapes(v), { params: { bits: { kernel: [2, 3], bias: [3] } } })
  // same key as an untransformed Dense named 'bits': the counters are shared
  class Plain extends nn.Module {
    @nn.compact
    call(x: Tensor) {
      return new nn.Dense({ features: 3, name: 'bits' }).call(x)
    }
  }
  const p = new Plain().init(random.key(0), jnp.ones([1, 2]))
  t.deepEqual(data(v.params.bits.kernel), data(jnp.sign(p.params.bits.kernel)))
})

test('init=false cannot create the target (case 20): ScopeCollectionNotFound at the decorated path', (t) => {
  class M extends nn.Module {
    @nn.compact
    call(x: Tensor) {
      return new (nn.mapVariables(nn.Dense, 'params', sign))({ features: 2 }).call(x)
    }
  }
  const err = t.throws(() => new M().init(random.key(0), jnp.ones([1, 2])), { instanceOf: ScopeCollectionNotFound })
  t.is(
    err.message,
    `Tried to access "kernel" from collection "params" in "/map_variables(Map_variablesDense_0)" but the collection is empty. (${URL}ScopeCollectionNotFound)`,
  )
})

test('init=true with a partially mutable apply drops the immutable target (d.2 item 4)', (t) => {
  class M extends nn.Module {
    @nn.compact
    call(x: Tensor) {
      return new (nn.mapVariables(nn.Dense, 'params', sign, undefined, { init: true }))({ features: 2 }).call(x)
    }
  }
  const x = jnp.ones([1, 2])
  const v = new M().init(random.key(0), x)
  t.notThrows(() => new M().apply(v, x), 'nothing mutable: pass 1 is skipped')
  t.throws(() => new M().applyWith(v, { mutable: ['batch_stats'] }, x), { instanceOf: ScopeCollectionNotFound })
})

test('transforming an instance is a TransformTargetError (test_lift_instance_error)', (t) => {
  // @ts-expect-error an instance, not a class
  const err = t.throws(() => nn.mapVariables(new nn.Dense({ features: 2 }), 'params'), { instanceOf: TransformTargetError })
  t.true(
    err.message.startsWith(
      'Linen transformations must be applied to Modules classes or functions taking a Module instance as the first argument. ' +
        'The provided target is not a Module class or callable: Dense(features=2)',
    ),
  )
  t.true(err.message.endsWith(`(${URL}TransformTargetError)`))
  // @ts-expect-error not a class or function
  t.throws(() => nn.mapVariables(3), { instanceOf: TransformTargetError })
})

test('a transformed method may not return Modules or Variables (test_returned_module_warning)', (t) => {
  class ReturnsModule extends nn.Module {
    @nn.compact
    call(): unknown {
      const f = function leak(m: nn.Module) {
        return new nn.Dense({ features: 1, parent: m })
      }
      return nn.mapVariables(f, 'params')(this)
    }
  }
  const err = t.throws(() => new ReturnsModule().init(random.key(0)), { instanceOf: TransformedMethodReturnValueError })
  t.is(err.message, `Transformed module method leak cannot return Modules or Variables. (${URL}TransformedMethodReturnValueError)`)
  class ReturnsVariable extends nn.Module {
    @nn.compact
    call(): unknown {
      return nn.mapVariables(function getVar(m: nn.Module) {
        return m.variable('state', 'v', () => 1)
      }, 'params')(this)
    }
  }
  t.throws(() => new ReturnsVariable().init(random.key(0)), { instanceOf: TransformedMethodReturnValueError, message: /method getVar cannot return/ })
})

test('methods: a list transforms each named method; anything else is a ValueError', (t) => {
  class Two extends nn.Module {
    @nn.compact
    call(x: Tensor) {
      return jnp.matmul(x, this.param('w', nn.initializers.lecunNormal(), [2, 2]))
    }
    other(x: Tensor) {
      return this.call(x)
    }
  }
  class Host extends nn.Module {
    @nn.compact
    call(x: Tensor) {
      const T = nn.mapVariables(Two, 'params', sign, undefined, { init: this.isInitializing(), methods: ['other'] })
      return new T({ name: 'two' }).other(x)
    }
  }
  const [y, v] = new Host().initWithOutput(random.key(0), jnp.ones([1, 2]))
  t.deepEqual(data(y), data(jnp.matmul(jnp.ones([1, 2]), v.params.two.w)))
  t.true(data(v.params.two.w).every((w) => w === 1 || w === -1), 'stored through the transform (signs)')
  // @ts-expect-error methods is a list or a record
  t.throws(() => nn.mapVariables(Two, 'params', sign, undefined, { methods: 'other' }), {
    instanceOf: ValueError,
    message: 'transform methods argument must be None, tuple, list, or dict.',
  })
  // per-method core options
  const T2 = nn.mapVariables(Two, true, undefined, undefined, { methods: { call: { mappedCollections: 'params', mapInFn: sign, init: true } } })
  class Host2 extends nn.Module {
    @nn.compact
    call(x: Tensor) {
      return new T2({ name: 'two' }).call(x)
    }
  }
  const v2 = new Host2().init(random.key(0), jnp.ones([1, 2]))
  t.deepEqual(data(v2.params.two.w), data(v.params.two.w))
})

class WrapLayer extends nn.Module<{ layer: nn.Dense }> {
  layer!: nn.Dense
  @nn.compact
  call(x: Tensor): Tensor {
    return nn.mapVariables((l: nn.Dense) => l.call(x), 'params', sign, undefined, { init: this.isInitializing() })(this.layer)
  }
}

test('a function target applied to a field module (WeightNorm-style): params stay at the layer path', (t) => {
  const m = new WrapLayer({ layer: new nn.Dense({ features: 3 }) })
  const x = jnp.ones([1, 2])
  const [y, v] = m.initWithOutput(random.key(0), x)
  t.deepEqual(shapes(v), { params: { layer: { kernel: [2, 3], bias: [3] } } })
  t.deepEqual(data(m.apply(v, x)), data(y))
})

class UsesArg extends nn.Module {
  @nn.compact
  call(x: Tensor): Tensor {
    const other = new nn.Dense({ features: 2, name: 'other' })
    const f = (_self: UsesArg, o: nn.Dense) => o.call(x)
    return nn.mapVariables(f, 'params', sign, undefined, { init: this.isInitializing() })(this, other)
  }
}

test('modules passed as arguments are lifted through placeholders', (t) => {
  const [y, v] = new UsesArg().initWithOutput(random.key(0), jnp.ones([1, 2]))
  t.deepEqual(shapes(v), { params: { other: { kernel: [2, 2], bias: [2] } } })
  t.true(data(v.params.other.kernel).every((w) => w === 1 || w === -1))
  t.deepEqual(data(new UsesArg().apply(v, jnp.ones([1, 2]))), data(y))
})

test('one shared class serves every call with the same target: each keeps its own functions, clones and subclasses too', (t) => {
  const neg = (v: Variables) => tree.map((x: Tensor) => jnp.negative(x), v)
  const Neg = nn.mapVariables(nn.Dense, 'params', neg, undefined, { init: true })
  const Sign = nn.mapVariables(nn.Dense, 'params', sign, undefined, { init: true })
  const x = jnp.array([[0.5, -2, 3]])
  const v = new nn.Dense({ features: 2 }).init(random.key(3), x)
  const kernel = data(v.params.kernel)
  const dot = (k: number[]) => [0, 1].map((j) => 0.5 * k[j] - 2 * k[2 + j] + 3 * k[4 + j])
  const close = (a: number[], b: number[]) => a.every((y, i) => Math.abs(y - b[i]) < 1e-5)
  // Same class underneath (one hidden class per target, see transforms.ts), different functions.
  t.is(Object.getPrototypeOf(new Neg({ features: 2 })), Object.getPrototypeOf(new Sign({ features: 2 })))
  t.true(close(data(new Neg({ features: 2 }).apply(v, x)), dot(kernel.map((k) => -k))))
  t.true(close(data(new Sign({ features: 2 }).apply(v, x)), dot(kernel.map(Math.sign))))
  // A clone keeps the functions of the call that made the original.
  const neg2 = new Neg({ features: 2 }).clone()
  t.true(close(data(neg2.apply(v, x)), dot(kernel.map((k) => -k))))
  // A subclass of the returned class keeps them too, clones included.
  class NamedNeg extends Neg {}
  const sub = new NamedNeg({ features: 2 })
  t.true(sub instanceof nn.Dense)
  t.true(close(data(sub.clone().apply(v, x)), dot(kernel.map((k) => -k))))
  // The shared class itself, reached around the returned one, has no functions: a coded error.
  const Shared = Object.getPrototypeOf(new Neg({ features: 2 })).constructor
  const err = t.throws(() => new Shared({ features: 2 }).apply(v, x))
  t.like(err, { code: 'E_ARG' })
  t.regex(err!.message, /Map_variablesDense\.call: this instance was made without the options of nn\.map_variables/)
})
