// flax.serialization state dicts and flax.traverse_util (flax-cases 105, 110, 111), plus what
// flaxen adds: shape and dtype checks of every tensor leaf against the target.
import test from 'ava'
import { ShapeDtypeStruct, errors, evalShape, jnp, nn, random, serialization, traverseUtil, type Tensor } from '../ts/index'

const { toStateDict, fromStateDict } = serialization
const values = (x: any): any => (x instanceof Object && 'toArray' in x ? x.toArray() : x && typeof x === 'object' ? Object.fromEntries(Object.entries(x).map(([k, v]) => [k, values(v)])) : x)

class TwoDense extends nn.Module {
  @nn.compact
  call(x: Tensor) {
    return new nn.Dense({ features: 2 }).call(new nn.Dense({ features: 3 }).call(x))
  }
}
class OneDense extends nn.Module {
  @nn.compact
  call(x: Tensor) {
    return new nn.Dense({ features: 3 }).call(x)
  }
}

test('model state dict (case 105): Dense(1, ones) round-trips; from_state_dict takes the state values', (t) => {
  const v = new nn.Dense({ features: 1, kernelInit: nn.initializers.ones }).init(random.key(0), jnp.ones([1, 1]))
  const state = toStateDict(v)
  t.deepEqual(values(state), { params: { kernel: [[1]], bias: [0] } })
  const restored = fromStateDict(v, { params: { kernel: jnp.zeros([1, 1]), bias: jnp.zeros([1]) } })
  t.deepEqual(values(restored), { params: { kernel: [[0]], bias: [0] } })
})

test('lists become dicts keyed by index and back; other leaves pass through', (t) => {
  const tree = { a: [1, 'two', [true, null]], b: { c: 2.5 } }
  const state = toStateDict(tree)
  t.deepEqual(state, { a: { '0': 1, '1': 'two', '2': { '0': true, '1': null } }, b: { c: 2.5 } })
  t.deepEqual(fromStateDict(tree, state), tree)
  // extra state keys are dropped (Flax's behaviour); the result follows the target's structure
  t.deepEqual(fromStateDict({ b: { c: 0 } }, { b: { c: 7, extra: 1 }, more: 2 }), { b: { c: 7 } })
})

test('restore errors keep Flax\'s messages verbatim (case 110)', (t) => {
  const e1 = t.throws(() => fromStateDict([[[1, 2, 3], [4]]], toStateDict([[[1, 2, 3], [4, 5]]])), { instanceOf: errors.ValueError, code: 'ValueError' })
  t.is(e1!.message, 'The size of the list and the state dict do not match, got 1 and 2 at path ./0/1')
  const target = { a: { b: { c: 1, d: [2] } } }
  t.throws(() => fromStateDict(target, toStateDict({ a: { b: { c: 1, d: [2, 3] } } })), {
    instanceOf: errors.ValueError,
    message: 'The size of the list and the state dict do not match, got 1 and 2 at path ./a/b/d',
  })
  t.throws(() => fromStateDict({ a: { b: { c: 1, e: 2 } } }, { a: { b: { c: 1 } } }), {
    instanceOf: errors.ValueError,
    message: "The target dict keys and state dict keys do not match, target dict contains keys {'e'} which are not present in state dict at path ./a/b",
  })
  const x = jnp.ones([1, 4])
  const one = new OneDense().init(random.key(0), x)
  const two = new TwoDense().init(random.key(0), x)
  t.throws(() => fromStateDict(two, toStateDict(one)), {
    instanceOf: errors.ValueError,
    message: "The target dict keys and state dict keys do not match, target dict contains keys {'Dense_1'} which are not present in state dict at path ./params",
  })
  // inside a larger structure (a train state holding the variables): the path grows
  t.throws(() => fromStateDict({ step: 0, params: two }, toStateDict({ step: 3, params: one })), {
    message: "The target dict keys and state dict keys do not match, target dict contains keys {'Dense_1'} which are not present in state dict at path ./params/params",
  })
  t.throws(() => fromStateDict({ a: 1 }, {}, { name: 'ckpt' }), { message: /at path ckpt$/ })
})

test('flaxen checks every tensor leaf against the target: shape and dtype, naming the path and both', (t) => {
  const v = new nn.Dense({ features: 3 }).init(random.key(0), jnp.ones([2, 4]))
  const wrong = { params: { kernel: jnp.zeros([3, 4]), bias: jnp.zeros([3]) } }
  t.throws(() => fromStateDict(v, wrong), {
    code: 'E_SHAPE',
    message: 'fromStateDict: at ./params/kernel the state has shape [3, 4] (float32), the target shape [4, 3] (float32)',
  })
  t.throws(() => fromStateDict(v, { params: { kernel: jnp.zeros([4, 3], 'int32'), bias: jnp.zeros([3]) } }), {
    code: 'E_DTYPE',
    message: 'fromStateDict: at ./params/kernel the state has shape [4, 3] (int32), the target shape [4, 3] (float32)',
  })
  t.throws(() => fromStateDict(v, { params: { kernel: [[1, 2, 3]], bias: jnp.zeros([3]) } }), { code: 'E_TYPE', message: /at \.\/params\/kernel the target is a tensor of shape \[4, 3\]/ })
  t.throws(() => fromStateDict(v, { params: jnp.zeros([3]) }), { code: 'E_TYPE', message: /at \.\/params the target is a dict but the state is/ })
  // strict: false is Flax's behaviour: state leaves as they are
  const loose = fromStateDict(v, wrong, { strict: false })
  t.deepEqual(loose.params.kernel.shape, [3, 4])
})

test('an evalShape template is a target: the checkpoint fills it without the model ever being initialised', (t) => {
  const x = jnp.ones([1, 4])
  const model = new TwoDense()
  const template = evalShape((inp: Tensor) => model.init(random.key(0), inp), new ShapeDtypeStruct([1, 4], 'float32'))
  const trained = model.init(random.key(7), x)
  const restored = fromStateDict(template, toStateDict(trained))
  t.deepEqual(values(restored), values(trained))
  t.deepEqual(values(model.apply(restored, x)), values(model.apply(trained, x)))
  t.throws(() => fromStateDict(template, toStateDict(new TwoDense().init(random.key(0), jnp.ones([1, 5])))), { code: 'E_SHAPE', message: /\.\/params\/Dense_1\/kernel the state has shape \[5, 3\].*the target shape \[4, 3\]/ })
})

test('state dict helpers refuse cycles, runaway depth and bad options with codes', (t) => {
  const cyc: any = { a: {} }
  cyc.a.b = cyc
  t.throws(() => toStateDict(cyc), { code: 'E_TREE', message: /contains itself at \.\/a\/b/ })
  t.throws(() => fromStateDict(cyc, cyc), { code: 'E_TREE' })
  let deep: any = 1
  for (let i = 0; i < 2000; i++) deep = { d: deep }
  t.throws(() => toStateDict(deep), { code: 'E_TREE', message: /deeper than 1000/ })
  t.throws(() => fromStateDict({}, {}, { strict: 'yes' as any }), { code: 'E_TYPE' })
  t.throws(() => fromStateDict({}, {}, null as any), { code: 'E_TYPE' })
})

test('traverseUtil.flattenDict / unflattenDict (case 111)', (t) => {
  const xs = { foo: 1, bar: { a: 2, b: {} } }
  const flat = traverseUtil.flattenDict(xs)
  t.deepEqual([...flat], [[['foo'], 1], [['bar', 'a'], 2]])
  t.deepEqual(traverseUtil.flattenDict(xs, { sep: '/' }), { foo: 1, 'bar/a': 2 })
  const kept = traverseUtil.flattenDict(xs, { keepEmptyNodes: true })
  t.deepEqual([...kept], [[['foo'], 1], [['bar', 'a'], 2], [['bar', 'b'], traverseUtil.emptyNode]])
  t.deepEqual(traverseUtil.unflattenDict(kept), xs)
  const isLeaf = (k: readonly string[], x: unknown) => k.length === 1 && Object.keys(x as object).length === 2
  t.deepEqual([...traverseUtil.flattenDict({ foo: { c: 4 }, bar: { a: 2, b: {} } }, { isLeaf })], [[['foo', 'c'], 4], [['bar'], { a: 2, b: {} }]])
  t.deepEqual(traverseUtil.unflattenDict({ foo: 1, 'bar/a': 2 }, { sep: '/' }), { foo: 1, bar: { a: 2 } })
  t.deepEqual(traverseUtil.pathAwareMap((p, x) => (p.includes('b') ? (x as number) + 1 : -(x as number)), { a: { b: 10, c: 2 } }), { a: { b: 11, c: -2 } })
  // WeightNorm-style names with '/' survive a '.' separator
  const params = { WeightNorm_0: { 'Dense_0/kernel/scale': 1 } }
  t.deepEqual(traverseUtil.unflattenDict(traverseUtil.flattenDict(params, { sep: '.' }), { sep: '.' }), params)
  t.throws(() => traverseUtil.flattenDict([1] as any), { code: 'E_TYPE' })
  t.throws(() => traverseUtil.unflattenDict({ a: 1 }), { code: 'E_TYPE', message: /needs options.sep/ })
  t.throws(() => traverseUtil.unflattenDict({ a: 1, 'a.b': 2 }, { sep: '.' }), { code: 'E_TYPE', message: /goes through the leaf at a/ })
})
