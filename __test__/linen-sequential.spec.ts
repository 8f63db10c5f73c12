// nn.Sequential (spec e.7; flax-cases 102, linen_combinators_test).
import test from 'ava'
import { jnp, nn, random, type Tensor } from '../ts/index'
import { ValueError } from '../ts/errors'
import { shapes } from './helpers/variables'

const data = (x: Tensor) => Array.from(x.data)
const onesDense = (features: number) => new nn.Dense({ features, kernelInit: nn.initializers.ones, biasInit: nn.initializers.ones })

test('Sequential([Dense(4), Dense(2)]) on (3, 1, 5) → (3, 1, 2); layers adopted as layers_0, layers_1', (t) => {
  const seq = new nn.Sequential({ layers: [new nn.Dense({ features: 4 }), new nn.Dense({ features: 2 })] })
  const x = random.uniform(random.key(0), [3, 1, 5])
  const [y, v] = seq.initWithOutput(random.key(0), x)
  t.deepEqual([...y.shape], [3, 1, 2])
  t.deepEqual(shapes(v), { params: { layers_0: { kernel: [5, 4], bias: [4] }, layers_1: { kernel: [4, 2], bias: [2] } } })
})

test('empty Sequential: Flax ValueError on init; layers must be an array', (t) => {
  t.throws(() => new nn.Sequential({ layers: [] }).init(random.key(0), jnp.ones([1, 2])), { instanceOf: ValueError, message: 'Empty Sequential module None.' })
  class Host extends nn.Module {
    @nn.compact
    call(x: Tensor) {
      return new nn.Sequential({ layers: [] }).call(x)
    }
  }
  t.throws(() => new Host().init(random.key(0), jnp.ones([1, 2])), { message: 'Empty Sequential module Sequential_0.' })
  // @ts-expect-error not an array
  t.throws(() => new nn.Sequential({ layers: { a: new nn.Dense({ features: 2 }) } }), { instanceOf: ValueError, message: "'layers' must be a sequence, got 'Object'." })
})

test('Sequential equals the compact MLP exactly (ones inits, relu and log_softmax between)', (t) => {
  class MLP extends nn.Module {
    @nn.compact
    call(x: Tensor) {
      x = onesDense(3).call(x)
      x = nn.relu(x)
      x = onesDense(2).call(x)
      return jnp.logSoftmax(x)
    }
  }
  const seq = new nn.Sequential({ layers: [onesDense(3), nn.relu, onesDense(2), (x: Tensor) => jnp.logSoftmax(x)] })
  const x = random.normal(random.key(1), [4, 5])
  const ys = seq.apply(seq.init(random.key(0), x), x)
  const ym = new MLP().apply(new MLP().init(random.key(0), x), x)
  t.deepEqual(data(ys), data(ym))
})

test('array outputs are spread over the next layer; an object is passed whole (the JS form of keyword arguments)', (t) => {
  const seq = new nn.Sequential({
    layers: [
      (x: Tensor) => [x, jnp.multiply(x, 2)],
      (a: Tensor, b: Tensor) => ({ a, b }),
      ({ a, b }: { a: Tensor; b: Tensor }) => jnp.add(a, b),
    ],
  })
  t.deepEqual(data(seq.apply({}, jnp.array([1, 2]))), [3, 6])
})

test('function layers create compact children Dense_0, Dense_1, Dense_2', (t) => {
  const seq = new nn.Sequential({
    layers: [
      (x: Tensor) => new nn.Dense({ features: x.shape[1] }).call(x),
      (x: Tensor) => new nn.Dense({ features: x.shape[1] }).call(x),
      (x: Tensor) => new nn.Dense({ features: 1 }).call(x),
    ],
  })
  const v = seq.init(random.key(0), jnp.ones([1, 3]))
  t.deepEqual(shapes(v), {
    params: { Dense_0: { kernel: [3, 3], bias: [3] }, Dense_1: { kernel: [3, 3], bias: [3] }, Dense_2: { kernel: [3, 1], bias: [1] } },
  })
})

test('nested Sequentials bound with bind() have scopes on every module layer (test_setup_called_bounded_submodules)', (t) => {
  const model = new nn.Sequential({
    layers: [new nn.Sequential({ layers: [new nn.Dense({ features: 2 }), nn.relu, new nn.Dense({ features: 2 })] }), nn.relu, new nn.Dense({ features: 2 })],
  })
  const x = jnp.ones([1, 3])
  const v = model.init(random.key(0), x)
  t.deepEqual(Object.keys(v.params).sort(), ['layers_0', 'layers_2'])
  t.deepEqual(Object.keys(v.params.layers_0).sort(), ['layers_0', 'layers_2'])
  const bound = model.bind(v)
  const inner = bound.layers[0]
  t.deepEqual([...inner.layers[0].scope!.path], ['layers_0', 'layers_0'])
  t.deepEqual([...inner.layers[2].scope!.path], ['layers_0', 'layers_2'])
  t.deepEqual([...bound.layers[2].scope!.path], ['layers_2'])
  t.deepEqual(data(bound.call(x)), data(model.apply(v, x)))
})

test('layers bound elsewhere keep their names (created in the parent compact method)', (t) => {
  class Host extends nn.Module {
    @nn.compact
    call(x: Tensor) {
      const d = new nn.Dense({ features: 2 })
      return new nn.Sequential({ layers: [d, nn.relu] }).call(x)
    }
  }
  const v = new Host().init(random.key(0), jnp.ones([1, 3]))
  t.deepEqual(shapes(v), { params: { Dense_0: { kernel: [3, 2], bias: [2] } } })
})
