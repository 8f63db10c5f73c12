// Core lifted transforms (spec d.1, d.2, d.4(5); flax-cases 16, 20, 33).
import test from 'ava'
import { jnp, random, tree, type Tensor } from '../ts/index'
import { Scope, apply, foldInStatic, init, mapVariables, pack, swapCollection, type PRNGKey, type Variables } from '../ts/core'
import { ModifyScopeVariableError, ScopeCollectionNotFound, ScopeParamNotFoundError } from '../ts/errors'
import { keyWords, shapes } from './helpers/variables'

const URL = 'https://flax.readthedocs.io/en/latest/api_reference/flax.errors.html#flax.errors.'

/** Random-normal kernel so transposes are visible; `bias=false` as in the core tests. */
function dense(scope: Scope, x: Tensor, features: number): Tensor {
  const kernel: Tensor = scope.param('kernel', (k: PRNGKey, shape: number[]) => random.normal(k, shape), [x.shape[1], features])
  return jnp.matmul(x, kernel)
}

const T = (v: Variables) => tree.map((x: Tensor) => jnp.transpose(x), v)
const decode = mapVariables(dense, 'params', T, T, { mutable: true })

function autoencoder(scope: Scope, x: Tensor): Tensor {
  const z = dense(scope, x, 2)
  return decode(scope, z, 4)
}

test('core tied auto-encoder (core_tied_autoencoder_test)', (t) => {
  const [y, vars] = init(autoencoder)(random.key(0), jnp.ones([1, 4]))
  t.deepEqual(shapes(vars), { params: { kernel: [4, 2] } })
  t.deepEqual([...y.shape], [1, 4])
  // the decoder uses the encoder's kernel, transposed
  const k: Tensor = vars.params.kernel
  const z = jnp.matmul(jnp.ones([1, 4]), k)
  t.deepEqual(Array.from(y.data), Array.from(jnp.matmul(z, jnp.transpose(k)).data))
  // the decoder alone creates the kernel as (2, 4) inside and stores it transposed
  const [y2, vars2] = init(decode)(random.key(0), jnp.ones([1, 2]), 4)
  t.deepEqual(shapes(vars2), { params: { kernel: [4, 2] } })
  t.deepEqual([...y2.shape], [1, 4])
})

test('keys inside map_variables equal the untransformed keys (shared counters)', (t) => {
  const f = (scope: Scope) => [keyWords(scope.makeRng()), keyWords(scope.push('c').makeRng())]
  const lifted = mapVariables(f, 'params', undefined, undefined, { init: true })
  const plain = init(f)(random.key(0))[0]
  t.deepEqual(plain, [keyWords(foldInStatic(random.key(0), [1])), keyWords(foldInStatic(random.key(0), ['c', 1]))])
  // init=true with something mutable runs fn twice: pass 2 draws continue the counters
  const [[a, b]] = init(lifted)(random.key(0))
  t.deepEqual(a, keyWords(foldInStatic(random.key(0), [2])))
  t.deepEqual(b, keyWords(foldInStatic(random.key(0), ['c', 2])))
  // without init: one pass, same keys as the plain function
  t.deepEqual(init(mapVariables(f, 'params'))(random.key(0))[0], plain)
})

test('init=true stores map_out(map_in(map_out(raw))) and runs fn twice', (t) => {
  let calls = 0
  const f = (scope: Scope) => {
    calls++
    return scope.param('w', (k: PRNGKey, shape: number[]) => jnp.subtract(random.normal(k, shape), 0), [6])
  }
  const sign = (v: Variables) => tree.map((x: Tensor) => jnp.sign(x), v)
  const [y, vars] = init(mapVariables(f, 'params', sign, undefined, { init: true }))(random.key(0))
  t.is(calls, 2)
  const raw = random.normal(foldInStatic(random.key(0), [1]), [6])
  t.deepEqual(Array.from(vars.params.w.data), Array.from(jnp.sign(raw).data))
  t.deepEqual(Array.from(y.data), Array.from(jnp.sign(raw).data))
  // plain apply (nothing mutable): pass 1 is skipped
  calls = 0
  apply(mapVariables(f, 'params', sign, undefined, { init: true }))(vars)
  t.is(calls, 1)
})

test('init=false cannot create the target: ScopeCollectionNotFound at /map_variables()', (t) => {
  const f = (scope: Scope) => scope.param('w', (_k: PRNGKey, shape: number[]) => jnp.zeros(shape), [2])
  const err = t.throws(() => init(mapVariables(f, 'params'))(random.key(0)), { instanceOf: ScopeCollectionNotFound })
  t.is(err.message, `Tried to access "w" from collection "params" in "/map_variables()" but the collection is empty. (${URL}ScopeCollectionNotFound)`)
  // in a child scope the debug path decorates the last element
  const g = (scope: Scope) => mapVariables(f, 'params')(scope.push('dense'))
  const err2 = t.throws(() => apply(g)({ params: { dense: { other: jnp.ones([1]) } } }), { instanceOf: ScopeParamNotFoundError })
  t.is(err2.message, `Could not find parameter named "w" in scope "/map_variables(dense)". (${URL}ScopeParamNotFoundError)`)
})

test('target collections are read-only inside without init/mutable; others follow the outer mutability', (t) => {
  const f = (scope: Scope) => {
    scope.putVariable('state', 'n', 1)
    scope.putVariable('params', 'w', 1)
  }
  const err = t.throws(() => init(mapVariables(f, 'params'))(random.key(0)), { instanceOf: ModifyScopeVariableError })
  t.is(err.message, `Cannot update variable "w" in "/map_variables()" because collection "params" is immutable. (${URL}ModifyScopeVariableError)`)
  const g = (scope: Scope) => scope.putVariable('state', 'n', 2)
  const [, vars] = init(mapVariables(g, 'params'))(random.key(0))
  t.deepEqual(vars, { state: { n: 2 } })
})

test('mutable=true writes mapped-back targets; immutable outer collections are skipped silently', (t) => {
  const bump = (scope: Scope) => {
    const v = scope.variable('counter', 'n', () => 0)
    v.value = v.value + 1
    return v.value
  }
  const x10 = (v: Variables) => tree.map((n: number) => n * 10, v)
  const d10 = (v: Variables) => tree.map((n: number) => n / 10, v)
  const f = mapVariables(bump, 'counter', x10, d10, { mutable: true })
  const [y, state] = apply(f, { mutable: 'counter' })({ counter: { n: 0.5 } })
  t.is(y, 6)
  t.deepEqual(state, { counter: { n: 0.6 } })
  // outer apply not mutable: the inner write is refused
  t.throws(() => apply(f)({ counter: { n: 0.5 } }), { instanceOf: ModifyScopeVariableError })
})

test('swap_collection: a and b exchange contents inside, writes land in the other one', (t) => {
  const f = (scope: Scope) => {
    const seen = [scope.getVariable('a', 'x'), scope.getVariable('b', 'x')]
    scope.putVariable('a', 'y', 'written-to-a')
    return seen
  }
  const [seen, state] = apply(swapCollection(f, 'a', 'b'), { mutable: true })({ a: { x: 'A' }, b: { x: 'B' } })
  t.deepEqual(seen, ['B', 'A'])
  t.deepEqual(state, { a: { x: 'A' }, b: { x: 'B', y: 'written-to-a' } })
  // only a mutable outside: inside writes to a go to b, immutable outside, and are dropped
  const [, state2] = apply(swapCollection(f, 'a', 'b'), { mutable: 'a' })({ a: { x: 'A' }, b: { x: 'B' } })
  t.deepEqual(state2, { a: { x: 'A' } })
})

test('pack: nested scopes are deduplicated and re-pushed inside; counters shared', (t) => {
  const root = new Scope({}, { params: random.key(0) }, { mutable: true })
  const child = root.push('c')
  const lifted = pack(
    (scopeFn, repack, variableGroups, rngGroups) => {
      const [innerRoot, innerChild] = scopeFn(variableGroups, rngGroups)
      t.is(innerRoot.parent, null)
      t.is(innerChild.parent, innerRoot, 'the descendant is pushed under the kept ancestor')
      t.deepEqual([...innerChild.path], ['c'])
      t.deepEqual([...innerRoot.debugPath], ['lift()'])
      innerChild.putVariable('state', 'k', keyWords(innerChild.makeRng()))
      return [null, repack([innerRoot, innerChild])]
    },
    [true],
    [true],
    [true],
    'lift',
  )
  lifted([root, child])
  t.deepEqual(root.variables(), { state: { c: { k: keyWords(foldInStatic(random.key(0), ['c', 1])) } } })
  t.deepEqual(keyWords(child.makeRng()), keyWords(foldInStatic(random.key(0), ['c', 2])), 'inner draws advanced the outer counter')
})
