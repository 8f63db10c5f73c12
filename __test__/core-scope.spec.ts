// Scope behaviour (spec b; flax-cases section 2) and core init/apply/bind (b.4).
import test from 'ava'
import { jnp, random, type Tensor } from '../ts/index'
import { DenyList, Scope, apply, bind, foldInStatic, init, withAbstractShape } from '../ts/core'
import {
  ApplyScopeInvalidVariablesStructureError,
  ApplyScopeInvalidVariablesTypeError,
  InvalidRngError,
  InvalidScopeError,
  ModifyScopeVariableError,
  ScopeCollectionNotFound,
  ScopeParamNotFoundError,
  ScopeParamShapeError,
  ScopeVariableNotFoundError,
  ValueError,
} from '../ts/errors'
import { keyWords } from './helpers/variables'

const URL = 'https://flax.readthedocs.io/en/latest/api_reference/flax.errors.html#flax.errors.'
const ones = (_key: unknown, shape: number[]) => jnp.ones(shape)
const zeros = (_key: unknown, shape: number[]) => jnp.zeros(shape)

/** `nn.dense` of the core tests: kernel (lecun-like stand-in: ones) and bias. */
function dense(scope: Scope, x: Tensor, features: number): Tensor {
  const kernel = scope.param('kernel', ones, [x.shape[x.shape.length - 1], features])
  const bias = scope.param('bias', zeros, [features])
  return jnp.add(jnp.matmul(x, kernel), bias)
}

test('shape check on an existing param (test_inconsistent_param_shapes)', (t) => {
  const f = (scope: Scope) => scope.param('test', ones, [4])
  const err = t.throws(() => apply(f)({ params: { test: jnp.ones([2]) } }), { instanceOf: ScopeParamShapeError })
  t.is(err.name, 'ScopeParamShapeError')
  t.is(
    err.message,
    'For parameter "test" in "/", the given initializer is expected to generate shape (4,), but the existing parameter ' +
      `it received has shape (2,). (${URL}ScopeParamShapeError)`,
  )
  t.is(apply(f)({ params: { test: jnp.ones([4]) } }).shape.length, 1)
})

test('the shape check computes nothing and consumes no counter', (t) => {
  let calls = 0
  const counted = withAbstractShape((_key: unknown, shape: number[]) => {
    calls++
    return jnp.ones(shape)
  }, (shape: number[]) => shape)
  const [keys] = init((scope: Scope) => {
    scope.param('w', counted, [3])
    return keyWords(scope.makeRng('params'))
  })(random.key(0))
  t.is(calls, 1)
  t.deepEqual(keys, keyWords(foldInStatic(random.key(0), [2])), 'the new param took counter 1')
  // existing param: no call of the initializer, and the next draw is counter 1
  const y = apply((scope: Scope) => {
    scope.param('w', counted, [3])
    return keyWords(scope.makeRng('params'))
  }, { rngs: random.key(0) })({ params: { w: jnp.ones([3]) } })
  t.is(calls, 1)
  t.deepEqual(y, keyWords(foldInStatic(random.key(0), [1])))
  // an initializer without a declared shape is run once on a dummy key, still without counters
  const plain = (_key: unknown, shape: number[]) => jnp.ones(shape)
  const z = apply((scope: Scope) => {
    scope.param('w', plain, [3])
    return keyWords(scope.makeRng('params'))
  }, { rngs: random.key(0) })({ params: { w: jnp.ones([3]) } })
  t.deepEqual(z, keyWords(foldInStatic(random.key(0), [1])))
})

test('extra params layer (test_apply_variables_bad_pytree)', (t) => {
  const f = (scope: Scope) => scope.param('kernel', ones, [4])
  const params = { params: { kernel: jnp.ones([4]) } }
  t.notThrows(() => apply(f)(params))
  const err = t.throws(() => apply(f)({ params }), { instanceOf: ApplyScopeInvalidVariablesStructureError })
  t.is(
    err.message,
    'Expect the `variables` (first argument) passed to apply() to be a dict with the structure {"params": ...}, but got a dict ' +
      'with an extra params layer, i.e.  {"params": {"params": ... } }. You should instead pass in your dict\'s ["params"]. ' +
      `(${URL}ApplyScopeInvalidVariablesStructureError)`,
  )
})

test('write to an undefined immutable collection (test_mutate_undefined_collection)', (t) => {
  const f = (scope: Scope) => scope.putVariable('state', 'test', 123)
  const err = t.throws(() => init(f, { mutable: 'params' })(random.key(0)), { instanceOf: ModifyScopeVariableError })
  t.is(err.message, `Cannot update variable "test" in "/" because collection "state" is immutable. (${URL}ModifyScopeVariableError)`)
})

test('missing param in a child (test_undefined_param)', (t) => {
  const f = (scope: Scope) => dense(scope.push('dense'), jnp.ones([1, 2]), 2)
  const err = t.throws(() => apply(f)({ params: { abc: 1 } }), { instanceOf: ScopeParamNotFoundError })
  t.is(err.message, `Could not find parameter named "kernel" in scope "/dense". (${URL}ScopeParamNotFoundError)`)
})

test('Variable.isMutable (test_variable_is_mutable)', (t) => {
  const f = (scope: Scope) => scope.variable('state', 'test', () => 1)
  const [v, state] = apply(f, { mutable: 'state' })({})
  t.true(v.isMutable())
  t.deepEqual(state, { state: { test: 1 } })
  const v2 = apply(f, { mutable: false })(state)
  t.false(v2.isMutable())
})

test('empty-collection errors (test_empty_col_error)', (t) => {
  const e1 = t.throws(() => new Scope({}).param('test', zeros, []), { instanceOf: ScopeCollectionNotFound })
  t.is(e1.message, `Tried to access "test" from collection "params" in "/" but the collection is empty. (${URL}ScopeCollectionNotFound)`)
  t.throws(() => new Scope({ params: {} }).param('test', zeros, []), { instanceOf: ScopeCollectionNotFound })
  const e2 = t.throws(() => new Scope({ params: { abc: 1 } }).variable('state', 'test', jnp.zeros, []), { instanceOf: ScopeCollectionNotFound })
  t.is(e2.message, `Tried to access "test" from collection "state" in "/" but the collection is empty. (${URL}ScopeCollectionNotFound)`)
  t.throws(() => new Scope({ state: {} }).variable('state', 'test', jnp.zeros, []), { instanceOf: ScopeCollectionNotFound })
})

test('variable without init fn (test_variable_no_init)', (t) => {
  t.throws(() => new Scope({}, null, { mutable: 'state' }).variable('state', 'test'), { instanceOf: ScopeCollectionNotFound })
  const scope = new Scope({ state: { abc: 1 } }, null, { mutable: 'state' })
  t.is(scope.variable('state', 'abc').value, 1)
  const err = t.throws(() => scope.variable('state', 'test'), { instanceOf: ScopeVariableNotFoundError })
  t.is(err.message, `No Variable named "test" for collection "state" exists in "/". (${URL}ScopeVariableNotFoundError)`)
})

test('merge-put keeps child views alive (test_variable_alias)', (t) => {
  const scope = new Scope({}, null, { mutable: 'state' })
  const sub = scope.push('a')
  sub.putVariable('state', 'x', 0.0)
  scope.putVariable('state', 'a', { x: 1.0 })
  t.is(scope.variables().state.a.x, sub.variables().state.x)
  t.is(sub.variables().state.x, 1.0)
})

test('names: same variable name in two collections, collisions otherwise', (t) => {
  const scope = new Scope({}, null, { mutable: true })
  scope.variable('col1', 'v', () => 1)
  scope.variable('col2', 'v', () => 2)
  t.throws(() => scope.variable('col1', 'v', () => 3), { instanceOf: ValueError, message: 'Duplicate use of scope name: "v"' })
  t.throws(() => scope.push('v'), { instanceOf: ValueError, message: 'Duplicate use of scope name: "v"' })
  scope.push('child')
  t.throws(() => scope.variable('col1', 'child', () => 1), { instanceOf: ValueError })
  // @ts-expect-error deliberately wrong argument
  t.throws(() => scope.reserve(3), { instanceOf: TypeError })
  t.is(scope.defaultName('f_'), 'f_0')
  scope.reserve('f_0')
  t.is(scope.defaultName('f_'), 'f_1')
  // rewound: empty reservations, same variables
  const again = scope.rewound()
  t.notThrows(() => again.variable('col1', 'v', () => 9))
  t.is(again.getVariable('col1', 'v'), 1)
})

test('push(reuse) continues the child counters; paths and debug paths', (t) => {
  const root = new Scope({}, { params: random.key(0) }, { mutable: true })
  const a = root.push('a')
  t.deepEqual([...a.path], ['a'])
  t.is(a.pathText, '/a')
  t.is(root.pathText, '/')
  const k1 = keyWords(a.makeRng())
  const a2 = root.push('a', '', true)
  const k2 = keyWords(a2.makeRng())
  t.deepEqual(k1, keyWords(foldInStatic(random.key(0), ['a', 1])))
  t.deepEqual(k2, keyWords(foldInStatic(random.key(0), ['a', 2])))
  t.true(a.equals(a2))
  t.false(a.equals(root.push('b')))
  t.deepEqual([...new Scope({}, null, { path: ['root'] }).path], ['root'])
})

test('variables(), mutableVariables(), isCollectionEmpty, flags', (t) => {
  const root = new Scope({ params: { a: { w: 1 } }, state: { a: { s: 2 } } }, null, { mutable: 'state', flags: { initializing: true } })
  const a = root.push('a')
  t.deepEqual(a.variables(), { params: { w: 1 }, state: { s: 2 } })
  t.deepEqual(a.mutableVariables(), { state: { s: 2 } })
  t.false(a.isCollectionEmpty('params'))
  t.true(a.isCollectionEmpty('other'))
  t.true(a.getFlag('initializing') as boolean)
  t.is(a.getFlag('nope', 5), 5)
  t.true(a.hasFlag('initializing'))
  t.is(a.getVariable('params', 'nope', 'dflt'), 'dflt')
  t.false(a.hasVariable('params', 'nope'))
})

test('temporary(): the scope is invalid afterwards (InvalidScopeError)', (t) => {
  // apply runs the function in a temporary root scope
  let leaked: Scope | undefined
  apply((scope: Scope) => {
    leaked = scope
  }, { mutable: true })({})
  const err = t.throws(() => leaked!.putVariable('state', 'x', 1), { instanceOf: InvalidScopeError })
  t.is(err.message, `The scope "None" is no longer valid. (${URL}InvalidScopeError)`)
  t.throws(() => leaked!.push('x'), { instanceOf: InvalidScopeError })
  t.throws(() => leaked!.rewound(), { instanceOf: InvalidScopeError })
  const named = new Scope({}, { params: random.key(0) }, { name: 'enc' })
  t.is(named.temporary(() => 3), 3)
  t.true(named.invalid)
  t.throws(() => named.makeRng(), { message: `The scope "enc" is no longer valid. (${URL}InvalidScopeError)` })
})

test('bind validates variables and rngs; mutable collections are copied', (t) => {
  // @ts-expect-error deliberately wrong argument
  t.throws(() => bind([]), { instanceOf: ApplyScopeInvalidVariablesTypeError })
  // @ts-expect-error deliberately wrong argument
  const e = t.throws(() => bind({ params: 3 }), { instanceOf: ApplyScopeInvalidVariablesTypeError })
  t.is(
    e.message,
    'The first argument passed to an apply function should be a dictionary of collections. Each collection should be a ' +
      `dictionary with string keys. (${URL}ApplyScopeInvalidVariablesTypeError)`,
  )
  // @ts-expect-error deliberately wrong argument
  const e2 = t.throws(() => bind({}, { a: 'x' }), { instanceOf: InvalidRngError })
  t.is(e2.message, `rngs should be a dictionary mapping strings to \`jax.PRNGKey\`. (${URL}InvalidRngError)`)
  const vars = { state: { a: { x: 1 } }, params: { w: 1 } }
  const scope = bind(vars, null, 'state')
  t.not(scope._variables.state, vars.state)
  t.is(scope._variables.params, vars.params)
  scope.push('a').putVariable('state', 'x', 5)
  t.is(vars.state.a.x, 1, "the caller's dict is untouched")
})

test('core.apply/init: rng arguments and the return convention', (t) => {
  const f = (_scope: Scope) => 7
  t.is(apply(f)({}), 7)
  t.deepEqual(apply(f, { mutable: [] })({}), [7, {}])
  t.deepEqual(apply(f, { mutable: new DenyList('x') })({}), [7, {}])
  // @ts-expect-error deliberately wrong argument
  t.throws(() => apply(f, { rngs: 'test' })({}), {
    instanceOf: ValueError,
    message: 'The ``rngs`` argument passed to an apply function should be a ``jax.PRNGKey`` or a dictionary mapping strings to ``jax.PRNGKey``.',
  })
  // @ts-expect-error deliberately wrong argument
  t.throws(() => init(f)('test'), {
    instanceOf: ValueError,
    message: 'First argument passed to an init function should be a ``jax.PRNGKey`` or a dictionary mapping strings to ``jax.PRNGKey``.',
  })
  // @ts-expect-error deliberately wrong argument
  t.throws(() => init(f)({ params: 'test' }), { instanceOf: ValueError })
  // a single key means { params: key }; rngs may be given as a record
  const g = (scope: Scope) => keyWords(scope.makeRng('params'))
  t.deepEqual(init(g)(random.key(0))[0], init(g)({ params: random.key(0) })[0])
  t.deepEqual(apply(g, { rngs: random.key(0) })({}), apply(g, { rngs: { params: random.key(0) } })({}))
  // init sets the initializing flag
  t.true(init((scope: Scope) => scope.getFlag('initializing'))(random.key(0))[0] as boolean)
  t.is(apply((scope: Scope) => scope.getFlag('initializing', false))({}), false)
})

test('param counters: every new param ticks params, reading does not', (t) => {
  const f = (scope: Scope) => {
    scope.param('a', zeros, [1])
    scope.param('b', zeros, [1])
    return keyWords(scope.makeRng())
  }
  const [k, vars] = init(f)(random.key(0))
  t.deepEqual(k, keyWords(foldInStatic(random.key(0), [3])))
  t.deepEqual(apply(f, { rngs: random.key(0) })(vars), keyWords(foldInStatic(random.key(0), [1])))
  t.deepEqual(Object.keys(vars.params), ['a', 'b'])
})
