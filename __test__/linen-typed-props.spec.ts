// Typed props and Flax's argument errors at run time (issue 10): the dataclass check of the
// constructor's props, tensor arguments checked at the layer boundary, Flax keyword options
// given to apply, codes on every error class, and use-after-dispose naming the argument/path.
// The deliberately wrong calls are type errors too, hence the `@ts-expect-error` lines.
import { execFileSync } from 'node:child_process'
import * as path from 'node:path'
import test from 'ava'
import { errors, jnp, nn, random, type Tensor } from '../ts/index'
import { AttributeError, PyTypeError, ValueError } from '../ts/errors'

class MLP extends nn.Module<{ features: number[]; dropout?: number }> {
  features!: number[]
  dropout = 0.1

  @nn.compact
  call(x: Tensor): Tensor {
    for (const f of this.features) x = new nn.Dense({ features: f }).call(x)
    return x
  }
}

class Pair extends nn.Module<{ a: number; b: number; c: number }> {
  a!: number
  b!: number
  c!: number
  call(x: Tensor): Tensor {
    return x
  }
}

/** A layer with a trailing options object of its own. */
class Masked extends nn.Module {
  call(x: Tensor, { mask = null }: { mask?: Tensor | null } = {}): Tensor {
    return mask === null ? x : jnp.multiply(x, mask)
  }
}

const x = jnp.ones([1, 3])

function typeError(t: any, fn: () => unknown, message: string | RegExp, code = 'TypeError') {
  const err = t.throws(fn, { instanceOf: TypeError })
  t.is(err.code, code)
  if (typeof message === 'string') t.is(err.message, message)
  else t.regex(err.message, message)
}

test("an unknown prop is Flax's TypeError: unexpected keyword argument (user module and built-in layer)", (t) => {
  // @ts-expect-error misspelt prop
  typeError(t, () => new MLP({ hiden: 4 }).init(random.key(0), x), "MLP.__init__() got an unexpected keyword argument 'hiden'")
  // @ts-expect-error misspelt prop
  typeError(t, () => new nn.Dense({ featurs: 3 }).init(random.key(0), x), "Dense.__init__() got an unexpected keyword argument 'featurs'")
  // a built-in layer checks at `new` itself (its constructor knows all its fields)
  // @ts-expect-error misspelt prop
  typeError(t, () => new nn.Dense({ featurs: 3 }), "Dense.__init__() got an unexpected keyword argument 'featurs'")
  // @ts-expect-error missing features
  typeError(t, () => new nn.DenseGeneral({ axis: 0 }), "DenseGeneral.__init__() missing 1 required positional argument: 'features'")
  // @ts-expect-error misspelt prop
  typeError(t, () => new nn.RMSNorm({ eps: 1e-5 }), "RMSNorm.__init__() got an unexpected keyword argument 'eps'")
  // a subclass adding a field is checked once its own fields are declared
  class Wider extends nn.Dense {
    extra = 1
  }
  t.is(new Wider({ features: 2 }).extra, 1)
  // inside a compact method: before the layer creates anything
  class Host extends nn.Module {
    @nn.compact
    call(y: Tensor): Tensor {
      // @ts-expect-error misspelt prop
      return new nn.Dense({ features: 2, usebias: false }).call(y)
    }
  }
  typeError(t, () => new Host().init(random.key(0), x), "Dense.__init__() got an unexpected keyword argument 'usebias'")
  // @ts-expect-error Flax's LayerNorm field is use_scale
  const err = t.throws(() => new nn.LayerNorm({ epsilon: 1e-5, scale: true }).init(random.key(0), x))
  t.true(err instanceof PyTypeError)
  t.is(err.name, 'TypeError')
})

test('a missing required field fails at construction, naming it (Python: missing N required positional arguments)', (t) => {
  // @ts-expect-error features is required
  typeError(t, () => new MLP({ dropout: 0.2 }).init(random.key(0), x), "MLP.__init__() missing 1 required positional argument: 'features'")
  // @ts-expect-error features is required
  typeError(t, () => new nn.Dense({}).init(random.key(0), x), "Dense.__init__() missing 1 required positional argument: 'features'")
  // @ts-expect-error rate is required
  typeError(t, () => new nn.Dropout({ deterministic: true }).init(random.key(0), x), "Dropout.__init__() missing 1 required positional argument: 'rate'")
  // @ts-expect-error b and c are required
  typeError(t, () => new Pair({ a: 1 }).init(random.key(0), x), "Pair.__init__() missing 2 required positional arguments: 'b' and 'c'")
  // @ts-expect-error all three are required
  typeError(t, () => new Pair().init(random.key(0), x), "Pair.__init__() missing 3 required positional arguments: 'a', 'b', and 'c'")
})

test('declared fields: defaults apply, props win, clones keep them; setup attributes (declare) are not props', (t) => {
  const m = new MLP({ features: [2] })
  t.is(m.dropout, 0.1)
  t.is(new MLP({ features: [2], dropout: 0.5 }).dropout, 0.5)
  t.deepEqual(m.clone({ dropout: 0.3 }).features, [2])
  t.is(m.clone({ dropout: 0.3 }).dropout, 0.3)
  class WithSetup extends nn.Module<{ features: number }> {
    features!: number
    declare dense: nn.Dense
    setup() {
      this.dense = new nn.Dense({ features: this.features })
    }
    call(y: Tensor): Tensor {
      return this.dense.call(y)
    }
  }
  const y = new WithSetup({ features: 4 }).initWithOutput(random.key(0), x)[0]
  t.deepEqual(y.shape, [1, 4])
  // @ts-expect-error dense is a setup attribute, not a prop
  typeError(t, () => new WithSetup({ features: 4, dense: new nn.Dense({ features: 2 }) }).init(random.key(0), x), /unexpected keyword argument 'dense'/)
})

test('a plain array, typed array or undefined given for a tensor: E_TYPE naming the module, the method and the argument', (t) => {
  const m = new MLP({ features: [2] })
  const v = m.init(random.key(0), x)
  // @ts-expect-error not a Tensor
  typeError(t, () => m.apply(v, [[1, 2, 3]]), "Dense.call (at 'Dense_0'): argument 'inputs' must be a Tensor, got an array", 'E_TYPE')
  // @ts-expect-error not a Tensor
  typeError(t, () => m.apply(v, new Float32Array(3)), "Dense.call (at 'Dense_0'): argument 'inputs' must be a Tensor, got a Float32Array", 'E_TYPE')
  // @ts-expect-error not a Tensor
  typeError(t, () => m.apply(v, undefined), "Dense.call (at 'Dense_0'): argument 'inputs' must be a Tensor, got undefined", 'E_TYPE')
  // @ts-expect-error not a Tensor
  typeError(t, () => new nn.Dense({ features: 2 }).init(random.key(0), [1, 2]), "Dense.call: argument 'inputs' must be a Tensor, got an array", 'E_TYPE')
  const e = new nn.Embed({ numEmbeddings: 4, features: 2 })
  const ve = e.init(random.key(0), jnp.zeros([2], 'int32'))
  // @ts-expect-error not a Tensor
  typeError(t, () => e.applyWith(ve, { method: 'attend' }, [0.5, 0.5]), "Embed.attend: argument 'query' must be a Tensor, got an array", 'E_TYPE')
  // @ts-expect-error not a Tensor
  typeError(t, () => new nn.LayerNorm().init(random.key(0), new Int32Array(2)), "LayerNorm.call: argument 'x' must be a Tensor, got an Int32Array", 'E_TYPE')
})

test("Flax keyword options given to apply are refused, pointing to applyWith; a module's own options pass", (t) => {
  const m = new MLP({ features: [2] })
  const v = m.init(random.key(0), x)
  const msg = (keys: string) =>
    `MLP.apply: the last argument {${keys}} holds applyWith's options, which apply passes to the module as an argument; use MLP.applyWith(variables, { ${keys} }, ...args)`
  // @ts-expect-error apply takes call's arguments only
  typeError(t, () => m.apply(v, x, { mutable: ['intermediates'] }), msg('mutable'), 'E_TYPE')
  // @ts-expect-error apply takes call's arguments only
  typeError(t, () => m.apply(v, x, { rngs: { dropout: random.key(1) }, method: 'call' }), msg('rngs, method'), 'E_TYPE')
  // @ts-expect-error init takes call's arguments only
  typeError(t, () => m.init(random.key(0), x, { captureIntermediates: true }), /^MLP\.init: .*use MLP\.initWith\(rngs, \{ captureIntermediates \}, \.\.\.args\)$/, 'E_TYPE')
  // the same options through applyWith work
  const [y, state] = m.applyWith(v, { mutable: ['intermediates'], captureIntermediates: true }, x)
  t.deepEqual(y.shape, [1, 2])
  t.deepEqual(Object.keys(state), ['intermediates'])
  // trailing options objects of the module's own pass
  const masked = new Masked()
  const mask = jnp.zeros([1, 3])
  t.deepEqual(Array.from(masked.apply({}, x, { mask }).data), [0, 0, 0])
  const drop = new nn.Dropout({ rate: 0.5 })
  t.deepEqual(Array.from(drop.apply({}, x, { deterministic: true }).data), [1, 1, 1])
})

test('use after dispose names the argument, or the variable path of a parameter (code E_DISPOSED kept)', (t) => {
  const m = new MLP({ features: [2] })
  const v = m.init(random.key(0), x)
  const gone = jnp.ones([1, 3])
  gone.dispose()
  let err = t.throws(() => m.apply(v, gone))
  t.is((err as { code?: string }).code, 'E_DISPOSED')
  t.is(err.message, "Dense.call (at 'Dense_0'): argument 'inputs' is a tensor used after dispose()")
  const v2 = m.init(random.key(0), x)
  v2.params.Dense_0.kernel.dispose()
  err = t.throws(() => m.apply(v2, x))
  t.is((err as { code?: string }).code, 'E_DISPOSED')
  t.is(err.message, "Dense: variable 'params/Dense_0/kernel' is a tensor used after dispose()")
})

test('every Flax error class, and the Python ones, carries code = its class name', (t) => {
  const classes = Object.entries(errors).filter(([, v]) => typeof v === 'function' && (v as Function).prototype instanceof Error) as [string, new (...a: unknown[]) => Error][]
  t.true(classes.length > 30)
  for (const [name, Cls] of classes) {
    const err = new Cls('x', 'y', 'z', [1], [2]) as Error & { code?: unknown }
    const expected = name === 'PyTypeError' ? 'TypeError' : name === 'FlaxError' ? 'FlaxError' : name
    t.is(err.code, expected, name)
    t.is(err.name, expected, name)
  }
  t.is(new ValueError('v').code, 'ValueError')
  t.is(new AttributeError('a').code, 'AttributeError')
  // thrown by the library: a ValueError and an AttributeError with their codes
  class NoCall extends nn.Module {}
  const attr = t.throws(() => new NoCall().init(random.key(0)), { instanceOf: AttributeError })
  t.is((attr as { code?: string }).code, 'AttributeError')
  const val = t.throws(() => new nn.Sequential({ layers: [] }).init(random.key(0), x), { instanceOf: ValueError })
  t.is((val as { code?: string }).code, 'ValueError')
})

test('nn.compact / nn.nowrap under experimentalDecorators (legacy decorators) work; a non-function is a clear E_TYPE error', (t) => {
  const root = path.join(__dirname, '..')
  const out = execFileSync(
    process.execPath,
    ['--import=tsx', path.join(root, '__test__/fixtures/legacy-decorators.ts')],
    { cwd: root, env: { ...process.env, TSX_TSCONFIG_PATH: path.join(root, '__test__/fixtures/tsconfig.legacy.json') }, encoding: 'utf8' },
  )
  t.is(out.trim(), '["Dense_0"] [2,3]')
  // the legacy call shape, applied by hand: the descriptor comes back with the wrapped method
  class Legacy extends nn.Module {
    call(x: Tensor): Tensor {
      return new nn.Dense({ features: 2 }).call(x)
    }
  }
  const desc = Object.getOwnPropertyDescriptor(Legacy.prototype, 'call')!
  Object.defineProperty(Legacy.prototype, 'call', nn.compact(Legacy.prototype, 'call', desc))
  t.deepEqual(Object.keys(new Legacy().init(random.key(0), x).params), ['Dense_0'])
  // @ts-expect-error not a method
  typeError(t, () => nn.compact(3), 'nn.compact: expected a method (as a decorator, or nn.compact(fn)), got number 3', 'E_TYPE')
})
