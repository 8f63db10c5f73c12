// Collection filters (spec a.3; flax-cases section 1).
import test from 'ava'
import {
  DenyList,
  filterEquals,
  filterToSet,
  groupCollections,
  inFilter,
  intersectFilters,
  isFilterEmpty,
  subtractFilters,
  unionFilters,
  type CollectionFilter,
} from '../ts/core'
import { FlaxError, InvalidFilterError } from '../ts/errors'

const URL = 'https://flax.readthedocs.io/en/latest/api_reference/flax.errors.html#flax.errors.'

/** A set result compares as a set; booleans and DenyLists by value. */
function same(t: any, actual: CollectionFilter, expected: CollectionFilter) {
  t.true(filterEquals(actual, expected), `${String(actual instanceof Set ? [...actual] : actual)} vs ${String(expected)}`)
  t.is(actual instanceof Set, expected instanceof Set, 'same kind (set)')
  t.is(actual instanceof DenyList, expected instanceof DenyList, 'same kind (DenyList)')
  t.is(typeof actual === 'boolean', typeof expected === 'boolean', 'same kind (bool)')
}

test('in_filter (test_in_filter)', (t) => {
  t.true(inFilter(true, 'any'))
  t.false(inFilter(false, 'any'))
  t.true(inFilter('exact_match', 'exact_match'))
  t.false(inFilter('no_match1', 'no_match2'))
  t.true(inFilter(['one', 'two'], 'one'))
  t.false(inFilter(['one', 'two'], 'three'))
  t.false(inFilter([], 'one'))
  t.false(inFilter([], null))
  t.true(inFilter(new Set(['a']), 'a'))
  t.false(inFilter(new DenyList('a'), 'a'))
  t.true(inFilter(new DenyList('a'), 'b'))
  t.true(inFilter(new DenyList(['a', 'b']), 'c'))
  t.false(inFilter(new DenyList(true), 'c'))
})

test('union_filters (test_union_filter), symmetric', (t) => {
  const cases: [CollectionFilter, CollectionFilter, CollectionFilter][] = [
    [['a', 'b'], ['b', 'c'], new Set(['a', 'b', 'c'])],
    [true, false, true],
    [false, false, new Set()],
    [true, true, true],
    [new DenyList(['a', 'b']), new DenyList(['b', 'c']), new DenyList(new Set(['b']))],
    [new DenyList(['a', 'b']), ['b', 'c'], new DenyList(new Set(['a']))],
  ]
  for (const [a, b, want] of cases) {
    same(t, unionFilters(a, b), want)
    same(t, unionFilters(b, a), want)
  }
})

test('intersect_filters (test_intersect_filter), symmetric', (t) => {
  const cases: [CollectionFilter, CollectionFilter, CollectionFilter][] = [
    [['a', 'b'], ['b', 'c'], new Set(['b'])],
    [true, false, false],
    [false, false, new Set()],
    [true, true, true],
    [new DenyList(['a', 'b']), new DenyList(['b', 'c']), new DenyList(new Set(['a', 'b', 'c']))],
    [new DenyList(['a', 'b']), ['b', 'c'], new Set(['c'])],
  ]
  for (const [a, b, want] of cases) {
    same(t, intersectFilters(a, b), want)
    same(t, intersectFilters(b, a), want)
  }
})

test('subtract_filters (test_subtract_filter)', (t) => {
  same(t, subtractFilters(['a', 'b'], ['b', 'c']), new Set(['a']))
  same(t, subtractFilters(true, false), new DenyList(false))
  same(t, subtractFilters(false, false), new Set())
  same(t, subtractFilters(true, true), false)
  same(t, subtractFilters(true, 'a'), new DenyList('a'))
  same(t, subtractFilters(new DenyList(['a', 'b']), new DenyList(['b', 'c'])), new Set(['c']))
  same(t, subtractFilters(new DenyList(['a', 'b']), ['b', 'c']), new DenyList(new Set(['a', 'b', 'c'])))
  // b DenyList: a ∩ b.deny
  same(t, subtractFilters(['a', 'b'], new DenyList('a')), new Set(['a']))
})

test('is_filter_empty and filter_to_set', (t) => {
  t.false(isFilterEmpty('x'))
  t.true(isFilterEmpty([]))
  t.true(isFilterEmpty(new Set()))
  t.false(isFilterEmpty(['a']))
  t.true(isFilterEmpty(false))
  t.false(isFilterEmpty(true))
  t.true(isFilterEmpty(new DenyList(true)))
  t.false(isFilterEmpty(new DenyList('params')))
  t.deepEqual([...filterToSet(false)], [])
  t.deepEqual([...filterToSet('a')], ['a'])
  t.deepEqual([...filterToSet(['a', 'b', 'a'])].sort(), ['a', 'b'])
  t.throws(() => filterToSet(true), { message: 'Infinite set' })
  t.throws(() => filterToSet(new DenyList('a')), { message: 'Infinite set' })
})

test('DenyList equality is by value', (t) => {
  t.true(new DenyList('a').equals(new DenyList('a')))
  t.true(new DenyList(['a', 'b']).equals(new DenyList(new Set(['b', 'a']))))
  t.false(new DenyList('a').equals(new DenyList('b')))
  t.is(String(new DenyList('intermediates')), "DenyList(deny='intermediates')")
})

test('invalid filters raise InvalidFilterError', (t) => {
  // @ts-expect-error deliberately wrong argument
  const err = t.throws(() => inFilter(3, 'a'), { instanceOf: InvalidFilterError })
  t.true(err instanceof FlaxError)
  t.is(err.name, 'InvalidFilterError')
  t.is(err.code, 'InvalidFilterError')
  t.is(err.message, `Invalid Filter: "3" (${URL}InvalidFilterError)`)
  // @ts-expect-error deliberately wrong argument
  t.throws(() => isFilterEmpty({}), { instanceOf: InvalidFilterError })
  // @ts-expect-error deliberately wrong argument
  t.throws(() => unionFilters(['a'], 7), { message: `Invalid Filter: "7" (${URL}InvalidFilterError)` })
})

test('group_collections (test_group_collections)', (t) => {
  const xs = { params: { dense1: { x: [10, 20] } }, batch_stats: { dense1: { ema: 5 } } }
  t.deepEqual(groupCollections(xs, ['params', 'params']), [{ params: { dense1: { x: [10, 20] } } }, {}])
  t.deepEqual(groupCollections(xs, ['vars']), [{}])
  t.deepEqual(groupCollections(xs, [false, true, true]), [{}, xs, {}])
  // containers are copies, leaves are shared
  const leaf = { notAContainer: true }
  const ys = { state: { a: new Map([[1, leaf]]) } }
  const [g] = groupCollections(ys, [true])
  t.not(g.state, ys.state)
  t.is(g.state.a, ys.state.a)
})
