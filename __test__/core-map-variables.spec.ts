// lift.mapVariables, rule by rule (spec d.2): the mutability table and one test per edge case 1–9.
import test from 'ava'
import { jnp, random, tree, type Tensor } from '../ts/index'
import { Scope, apply, foldInStatic, init, mapVariables, swapCollection, type PRNGKey, type Variables } from '../ts/core'
import { InvalidRngError, ModifyScopeVariableError, ScopeCollectionNotFound } from '../ts/errors'
import { isPlainObject } from '../ts/tree'
import { keyWords } from './helpers/variables'

const URL = 'https://flax.readthedocs.io/en/latest/api_reference/flax.errors.html#flax.errors.'
const normalInit = (k: PRNGKey, shape: number[]) => random.normal(k, shape)
const data = (x: Tensor) => Array.from(x.data)
const keyAt = (...path: (string | number)[]) => keyWords(foldInStatic(random.key(0), path))

/** Flax's default sow: append to a tuple (an array here); a no-op when the collection is immutable. */
function sow(scope: Scope, col: string, name: string, value: unknown): void {
  if (!scope.isMutableCollection(col)) return
  const xs = scope.hasVariable(col, name) ? scope.getVariable(col, name) : []
  scope.putVariable(col, name, [...xs, value])
}

test('mutability table: (init, mutable) → target / others mutable inside, target written back', (t) => {
  // outer: everything mutable; target 'params', others 'state'
  const probe = (scope: Scope) => [scope.isMutableCollection('params'), scope.isMutableCollection('state')]
  const rows: [boolean, boolean, [boolean, boolean]][] = [
    [false, false, [false, true]],
    [false, true, [true, true]],
    [true, false, [true, true]],
    [true, true, [true, true]],
  ]
  for (const [init_, mutable, expected] of rows) {
    const lifted = mapVariables(probe, 'params', undefined, undefined, { init: init_, mutable })
    const [y] = apply(lifted, { mutable: true })({ params: { w: 1 }, state: { s: 1 } })
    t.deepEqual(y, expected, `init=${init_} mutable=${mutable}`)
  }
  // outer mutability M is intersected in: M = ['state'] leaves the target immutable even with mutable=true
  const [y] = apply(mapVariables(probe, 'params', undefined, undefined, { mutable: true }), { mutable: 'state' })({ params: { w: 1 }, state: {} })
  t.deepEqual(y, [false, true])
  // the `variables` filter restricts the others: 'state' outside it is invisible and immutable
  const seen = (scope: Scope) => [scope.getVariable('state', 's'), scope.isMutableCollection('state')]
  const [z] = apply(mapVariables(seen, 'params', undefined, undefined, { variables: 'other' }), { mutable: true })({ params: {}, state: { s: 1 } })
  t.deepEqual(z, [undefined, false])
  // write-back: target written back (through mapOut) only when init or mutable
  const write = (scope: Scope) => scope.putVariable('params', 'w', 5)
  const x10 = (v: Variables) => tree.map((n: number) => n * 10, v)
  const [, state] = apply(mapVariables(write, 'params', undefined, x10, { mutable: true }), { mutable: true })({ params: { w: 1 } })
  t.deepEqual(state, { params: { w: 50 } })
})

test('edge case 1: without init the target cannot be created (ScopeCollectionNotFound at the decorated path)', (t) => {
  const dense = (scope: Scope) => scope.param('kernel', normalInit, [2, 2])
  const f = (scope: Scope) => mapVariables(dense, 'params')(scope.push('dense'))
  const err = t.throws(() => init(f)(random.key(0)), { instanceOf: ScopeCollectionNotFound })
  t.is(err.message, `Tried to access "kernel" from collection "params" in "/map_variables(dense)" but the collection is empty. (${URL}ScopeCollectionNotFound)`)
  // init: true creates it, with the key the untransformed code would use
  const g = (scope: Scope) => mapVariables(dense, 'params', undefined, undefined, { init: true })(scope.push('dense'))
  const [, v] = init(g)(random.key(0))
  t.deepEqual(data(v.params.dense.kernel), data(random.normal(foldInStatic(random.key(0), ['dense', 1]), [2, 2])))
})

test('edge case 2: with init, fn runs twice; params keep untransformed keys, make_rng and non-target variables see later counters', (t) => {
  let calls = 0
  const f = (scope: Scope) => {
    calls++
    scope.param('w', normalInit, [3])
    // a non-target variable whose init draws a key: thrown away after pass 1, re-created in pass 2
    scope.variable('state', 'r', () => keyWords(scope.makeRng('params')))
    sow(scope, 'intermediates', 'h', calls) // non-target: appears once (pass 2's)
    sow(scope, 'acc', 'h', calls) // target: pass 2 builds on pass 1
    return keyWords(scope.makeRng('params'))
  }
  const lifted = mapVariables(f, ['params', 'acc'], undefined, undefined, { init: true })
  const [drawn, v] = init(lifted)(random.key(0))
  t.is(calls, 2)
  t.deepEqual(data(v.params.w), data(random.normal(foldInStatic(random.key(0), [1]), [3])), 'w: counter 1, as untransformed')
  // pass 1: w=1, r=2, explicit=3; pass 2: w exists, r=4 (re-created), explicit=5
  t.deepEqual(v.state.r, keyAt(4))
  t.deepEqual(drawn, keyAt(5))
  t.deepEqual(v.intermediates, { h: [2] })
  t.deepEqual(v.acc, { h: [1, 2] })
  // nothing mutable (plain apply): one pass
  calls = 0
  apply(lifted, { rngs: { params: random.key(0) } })(v)
  t.is(calls, 1)
})

test('edge case 3: with init the stored target is map_out(map_in(map_out(raw)))', (t) => {
  const f = (scope: Scope) => scope.param('w', (_k: PRNGKey) => jnp.array([1, 2]))
  const mapIn = (v: Variables) => tree.map((x: Tensor) => jnp.multiply(x, 2), v)
  const mapOut = (v: Variables) => tree.map((x: Tensor) => jnp.add(x, 1), v)
  const [y, v] = init(mapVariables(f, 'params', mapIn, mapOut, { init: true }))(random.key(0))
  // raw [1,2] → out [2,3] → in [4,6] (what fn sees in pass 2) → out [5,7] (stored)
  t.deepEqual(data(y), [4, 6])
  t.deepEqual(data(v.params.w), [5, 7])
})

test('edge case 4: init=true outside init with a partially mutable scope drops the immutable target', (t) => {
  const f = (scope: Scope) => {
    scope.variable('batch_stats', 'n', () => 0)
    return scope.param('w', normalInit, [2])
  }
  const lifted = mapVariables(f, 'params', undefined, undefined, { init: true })
  const [, v] = init(lifted)(random.key(0))
  t.notThrows(() => apply(lifted)(v), 'nothing mutable: pass 1 is skipped')
  const err = t.throws(() => apply(lifted, { mutable: ['batch_stats'] })(v), { instanceOf: ScopeCollectionNotFound })
  t.is(err.message, `Tried to access "w" from collection "params" in "/map_variables()" but the collection is empty. (${URL}ScopeCollectionNotFound)`)
})

test('edge case 5: map_in receives plain, unshared dicts (also when the target is read-only)', (t) => {
  const received: unknown[] = []
  const mapIn = (v: Variables) => {
    received.push(v)
    v.params.extra = 1 // must not leak into the caller's variables
    return v
  }
  const f = (scope: Scope) => scope.getVariable('params', 'extra')
  const variables = { params: { w: 1 } }
  const y = apply(mapVariables(f, 'params', mapIn))(variables)
  t.is(y, 1)
  t.true(isPlainObject(received[0]) && isPlainObject((received[0] as Variables).params))
  t.false(Object.isFrozen((received[0] as Variables).params))
  t.deepEqual(variables, { params: { w: 1 } })
})

test('edge case 6: collections outside target ∪ variables are read-only inside (ModifyScopeVariableError, never "unmapped output")', (t) => {
  const f = (scope: Scope) => scope.putVariable('other', 'n', 1)
  const lifted = mapVariables(f, 'params', undefined, undefined, { mutable: true, variables: 'state' })
  const err = t.throws(() => apply(lifted, { mutable: true })({ params: {}, state: {}, other: {} }), { instanceOf: ModifyScopeVariableError })
  t.is(err.message, `Cannot update variable "n" in "/map_variables()" because collection "other" is immutable. (${URL}ModifyScopeVariableError)`)
})

test('edge case 7: write-back skips collections immutable outside (swap_collection)', (t) => {
  const f = (scope: Scope) => {
    scope.putVariable('a', 'y', 'inside-a')
    return scope.getVariable('a', 'x')
  }
  // a mutable outside, b not: inside a holds b's data and the write goes to b → dropped silently
  const [y, state] = apply(swapCollection(f, 'a', 'b'), { mutable: 'a' })({ a: { x: 'A' }, b: { x: 'B' } })
  t.is(y, 'B')
  t.deepEqual(state, { a: { x: 'A' } })
})

test('edge case 8: rng streams outside the rngs filter are invisible; make_rng falls back to params, else InvalidRngError', (t) => {
  const f = (scope: Scope) => [scope.hasRng('dropout'), keyWords(scope.makeRng('dropout'))]
  const rngs = { params: random.key(0), dropout: random.key(1) }
  const visible = apply(mapVariables(f, 'params', undefined, undefined, { rngs: true }), { rngs })({})
  t.deepEqual(visible, [true, keyWords(foldInStatic(random.key(1), [1]))])
  const fallback = apply(mapVariables(f, 'params', undefined, undefined, { rngs: 'params' }), { rngs })({})
  t.deepEqual(fallback, [false, keyWords(foldInStatic(random.key(0), [1]))])
  const err = t.throws(() => apply(mapVariables(f, 'params', undefined, undefined, { rngs: [] }), { rngs })({}), { instanceOf: InvalidRngError })
  t.is(err.message, `None needs PRNG for "dropout" (${URL}InvalidRngError)`)
})

test('edge case 9: names reserved outside are free inside (inner scopes are new roots)', (t) => {
  const f = (scope: Scope) => {
    scope.push('child').putVariable('state', 'n', 'inner')
    scope.reserve('taken')
    return 'ok'
  }
  const g = (scope: Scope) => {
    scope.push('child') // reserved in the outer scope object
    scope.reserve('taken')
    return mapVariables(f, 'params', undefined, undefined, { variables: true })(scope)
  }
  const [y, state] = apply(g, { mutable: true })({})
  t.is(y, 'ok')
  t.deepEqual(state, { state: { child: { n: 'inner' } } })
})
