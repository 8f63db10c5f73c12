// core.lift.cond / switch / whileLoop (flax-cases 12 second half, 15; core_lift_test), against
// values computed by real Flax (scripts/golden/lift_control.py).
import test from 'ava'
import { jnp, nn, random, type Tensor } from '../ts/index'
import { Scope, apply, init, lift, type PRNGKey } from '../ts/core'
import { InvalidRngError, ModifyScopeVariableError, ValueError } from '../ts/errors'
import { loadLocalGolden } from './helpers/golden'
import { assertMatches, keyWords } from './helpers/variables'

const golden = loadLocalGolden('lift_control').expect

/** `flax.core.nn.dense`: kernel (lecun_normal) then bias (zeros). */
function dense(scope: Scope, x: Tensor, features: number): Tensor {
  const kernel: Tensor = scope.param('kernel', nn.initializers.lecunNormal(), [x.shape[x.ndim - 1], features])
  const bias: Tensor = scope.param('bias', nn.initializers.zerosInit(), [features])
  return jnp.add(jnp.matmul(x, kernel), bias)
}

const neg = (x: Tensor) => jnp.multiply(x, -1)
const x = jnp.ones([1, 3])

function condModel(scope: Scope, x: Tensor, pred: boolean): Tensor {
  scope.variable('state', 'true_count', () => 0)
  scope.variable('state', 'false_count', () => 0)
  const trueFn = (scope: Scope, x: Tensor) => {
    scope.variable('state', 'true_count').value += 1
    return scope.child(dense)(x, 2)
  }
  const falseFn = (scope: Scope, x: Tensor) => {
    scope.variable('state', 'false_count').value += 1
    return neg(scope.child(dense)(x, 2))
  }
  return lift.cond(pred, trueFn, falseFn, scope, [x])
}

test('lift.cond (test_cond): counters, shared dense_0, y1 == -y2; values as Flax', (t) => {
  const [y1, vars] = init(condModel)(random.key(0), x, true)
  t.deepEqual(vars.state, { true_count: 1, false_count: 0 })
  assertMatches(t, y1, golden.cond_init_true.y, 1e-6)
  assertMatches(t, vars.params, golden.cond_init_true.vars.params, 0)
  const [y2, state] = apply(condModel, { mutable: 'state' })(vars, x, false)
  t.deepEqual(state, { state: { true_count: 1, false_count: 1 } })
  t.deepEqual(Array.from(y2.data), Array.from(neg(y1).data))
})

test('lift.cond traces both branches: at init the false branch gets the second key', (t) => {
  // dense_0's counters are shared by both branches: true draws counter 1, false counter 2.
  const [y, vars] = init(condModel)(random.key(0), x, false)
  t.deepEqual(vars.state, { true_count: 0, false_count: 1 })
  assertMatches(t, vars.params, golden.cond_init_false.vars.params, 0)
  assertMatches(t, y, golden.cond_init_false.y, 1e-6)
})

function switchModel(scope: Scope, x: Tensor, index: number): Tensor {
  for (const n of ['a', 'b', 'c']) scope.variable('state', `${n}_count`, () => 0)
  const branch = (n: string, sign: number) => (scope: Scope, x: Tensor) => {
    scope.variable('state', `${n}_count`).value += 1
    return jnp.multiply(scope.child(dense)(x, 2), sign)
  }
  return lift.switch(index, [branch('a', 1), branch('b', -1), branch('c', 1)], scope, [x])
}

test('lift.switch (test_switch): counts (1,0,0) → (1,1,0) → (1,1,1); y1 == -y2 == y3', (t) => {
  const [y1, vars] = init(switchModel)(random.key(0), x, 0)
  t.deepEqual(vars.state, { a_count: 1, b_count: 0, c_count: 0 })
  assertMatches(t, vars.params, golden.switch_init_0.vars.params, 0)
  const [y2, s2] = apply(switchModel, { mutable: 'state' })(vars, x, 1)
  t.deepEqual(s2.state, { a_count: 1, b_count: 1, c_count: 0 })
  const [y3, s3] = apply(switchModel, { mutable: 'state' })({ ...vars, ...s2 }, x, 2)
  t.deepEqual(s3.state, { a_count: 1, b_count: 1, c_count: 1 })
  t.deepEqual(Array.from(y2.data), Array.from(neg(y1).data))
  t.deepEqual(Array.from(y3.data), Array.from(y1.data))
  // init through the last branch: its params come from the third draw of dense_0
  const [y4, v4] = init(switchModel)(random.key(0), x, 2)
  t.deepEqual(v4.state, { a_count: 0, b_count: 0, c_count: 1 })
  assertMatches(t, v4.params, golden.switch_init_2.vars.params, 0)
  assertMatches(t, y4, golden.switch_init_2.y, 1e-6)
  // the index is clamped like lax.switch's
  const [yHigh] = apply(switchModel, { mutable: 'state' })(vars, x, 7)
  const [yLow] = apply(switchModel, { mutable: 'state' })(vars, x, -3)
  t.deepEqual([Array.from(yHigh.data), Array.from(yLow.data)], [Array.from(y3.data), Array.from(y1.data)])
})

test('cond/switch: branches must agree in structure and types (JAX TypeErrors); bad predicates', (t) => {
  const f = (a: (s: Scope) => unknown, b: (s: Scope) => unknown) => (scope: Scope) => lift.cond(true, a, b, scope, [])
  t.throws(() => init(f(() => [1, 2], () => 1))(random.key(0)), {
    instanceOf: TypeError,
    message: /^cond branch outputs must have the same pytree structure, but they differ/,
  })
  t.throws(() => init(f(() => jnp.ones([2]), () => jnp.ones([3])))(random.key(0)), {
    instanceOf: TypeError,
    message: /^cond branches must have equal output types but they differ\.[\s\S]*float32\[2\][\s\S]*float32\[3\]/,
  })
  // a variable created in one branch only changes the variables' structure
  const onlyTrue = (s: Scope) => s.variable('state', 'v', () => 1).value
  t.throws(() => init(f(onlyTrue, () => 1))(random.key(0)), { instanceOf: TypeError, message: /same pytree structure/ })
  t.throws(() => init((s: Scope) => lift.switch(0, [() => jnp.ones([2]), () => jnp.ones([3])], s, []))(random.key(0)), {
    instanceOf: TypeError,
    message: /^switch branches must have equal output types but they differ/,
  })
  t.throws(() => init((s: Scope) => lift.switch(0, [], s, []))(random.key(0)), { instanceOf: ValueError, message: 'Empty branch sequence' })
  t.throws(() => init((s: Scope) => lift.switch(1.5, [() => 1, () => 2], s, []))(random.key(0)), {
    instanceOf: TypeError,
    message: 'Index type must be an integer, got 1.5 as float32',
  })
  t.throws(() => init((s: Scope) => lift.cond(jnp.ones([2]), () => 1, () => 2, s, []))(random.key(0)), {
    instanceOf: TypeError,
    message: /^Pred must be a scalar/,
  })
  // numbers and 0-d tensors are predicates (nonzero is true)
  t.is(init((s: Scope) => lift.cond(2, () => 1, () => 2, s, []))(random.key(0))[0], 1)
  t.is(init((s: Scope) => lift.cond(jnp.zeros([]), () => 1, () => 2, s, []))(random.key(0))[0], 2)
})

test('cond: variables/rngs filters limit what the branches see; writes need outer mutability', (t) => {
  const f = (scope: Scope) =>
    lift.cond(true, (s: Scope) => s.putVariable('state', 'x', 1), (s: Scope) => s.putVariable('state', 'x', 2), scope, [], { variables: 'params' })
  t.throws(() => init(f)(random.key(0)), { instanceOf: ModifyScopeVariableError })
  const g = (scope: Scope) => lift.cond(true, (s: Scope) => s.makeRng('params'), (s: Scope) => s.makeRng('params'), scope, [], { rngs: 'dropout' })
  t.throws(() => init(g)(random.key(0)), { instanceOf: InvalidRngError })
})

/** test_while_loop, with key words stored in nested arrays (the state tree keeps its shape). */
function whileModel(scope: Scope, x: number): [number, number[], number[]] {
  scope.param('inc', () => 1)
  scope.putVariable('state', 'acc', 0)
  scope.putVariable('state', 'rng_params', [[0, 0], [0, 0]])
  scope.putVariable('state', 'rng_loop', [[0, 0], [0, 0]])
  const set = (rows: number[][], i: number, k: PRNGKey) => rows.map((r, j) => (j === i ? keyWords(k) : r))
  const condFn = (scope: Scope) => scope.getVariable('state', 'acc') < x
  const bodyFn = (scope: Scope, c: number) => {
    const i: number = scope.getVariable('state', 'acc')
    const pRng = scope.makeRng('params')
    const lRng = scope.makeRng('loop')
    scope.putVariable('state', 'rng_params', set(scope.getVariable('state', 'rng_params'), i, pRng))
    scope.putVariable('state', 'rng_loop', set(scope.getVariable('state', 'rng_loop'), i, lRng))
    scope.putVariable('state', 'acc', i + scope.getVariable('params', 'inc'))
    return c + 2
  }
  const c = lift.whileLoop(condFn, bodyFn, scope, 0, { carryVariables: 'state', splitRngs: { params: false, loop: true } })
  return [c, keyWords(scope.makeRng('params')), keyWords(scope.makeRng('loop'))]
}

test('lift.whileLoop (test_while_loop): acc == x, c == 2x, params keys equal, loop keys differ; keys as Flax', (t) => {
  const rngs = { params: random.key(0), loop: random.key(1) }
  const [[c, afterP, afterL], vars] = apply(whileModel, { mutable: true, rngs })({}, 2)
  const g = golden.while_loop
  t.is(vars.state.acc, 2)
  t.is(c, 4)
  t.deepEqual(vars.state.rng_params[0], vars.state.rng_params[1])
  t.notDeepEqual(vars.state.rng_loop[0], vars.state.rng_loop[1])
  t.deepEqual(vars.state.rng_params.flat(), g.state.rng_params.data)
  t.deepEqual(vars.state.rng_loop.flat(), g.state.rng_loop.data)
  // after the loop the counters stand where one trace of the body left them
  t.deepEqual([afterP, afterL], [g.after_params.data, g.after_loop.data])
  // zero iterations: the body is not applied, but its (traced) draws still count
  const [[c0, p0, l0], vars0] = apply(whileModel, { mutable: true, rngs })({}, 0)
  const z = golden.while_loop_zero_iterations
  t.is(c0, 0)
  t.deepEqual(vars0.state.rng_params, [[0, 0], [0, 0]])
  t.deepEqual([p0, l0], [z.after_params.data, z.after_loop.data])
})

test('lift.whileLoop: carried collections only are writable; the carry keeps its structure; cond returns a boolean', (t) => {
  const writesParams = (scope: Scope) =>
    lift.whileLoop(
      (s: Scope) => s.getVariable('state', 'n') < 1,
      (s: Scope, c: number) => {
        s.putVariable('params', 'p', 1)
        return c
      },
      scope,
      0,
      { carryVariables: 'state' },
    )
  const start = { state: { n: 0 }, params: { p: 0 } }
  t.throws(() => apply(writesParams, { mutable: true })(start), { instanceOf: ModifyScopeVariableError })
  const changesCarry = (scope: Scope) => lift.whileLoop(() => true, (_s: Scope, c: number) => [c] as unknown as number, scope, 0)
  t.throws(() => init(changesCarry)(random.key(0)), {
    instanceOf: TypeError,
    message: /^while_loop body function carry input and carry output must have the same pytree structure/,
  })
  const tensorCarry = (scope: Scope) => lift.whileLoop(() => true, () => jnp.ones([2]), scope, jnp.ones([]))
  t.throws(() => init(tensorCarry)(random.key(0)), { instanceOf: TypeError, message: /must have equal types, but they differ/ })
  const numberCond = (scope: Scope) => lift.whileLoop(() => 1, (_s: Scope, c: number) => c, scope, 0)
  t.throws(() => init(numberCond)(random.key(0)), { instanceOf: TypeError, message: 'cond_fun must return a boolean scalar, but got output type(s) [number].' })
  // streams not named in splitRngs are not visible inside
  const noStream = (scope: Scope) => lift.whileLoop((_s: Scope, c: number) => c < 1, (s: Scope, c: number) => (s.makeRng('params'), c + 1), scope, 0)
  t.throws(() => init(noStream)(random.key(0)), { instanceOf: InvalidRngError })
  // a 0-d bool tensor is a valid condition
  const counted = (scope: Scope) => lift.whileLoop((_s: Scope, c: Tensor) => jnp.array(c.item() as number < 3, 'bool').reshape([]), (_s: Scope, c: Tensor) => jnp.add(c, 1), scope, jnp.zeros([]))
  t.is(init(counted)(random.key(0))[0].item(), 3)
})

test('sub-scope aliasing through a no-op while loop (test_subscope_var_aliasing)', (t) => {
  const f = (scope: Scope, x: number) => {
    const sub = scope.push('a')
    sub.putVariable('state', 'x', 0)
    lift.whileLoop(() => false, (_s: Scope, c: number) => c, scope, 0, { carryVariables: ['state'] })
    sub.putVariable('state', 'x', 1)
    t.is(scope.variables().state.a.x, sub.variables().state.x)
    t.is(sub.variables().state.x, 1)
    return x
  }
  t.is(init(f)(random.key(0), 1)[0], 1)
})
