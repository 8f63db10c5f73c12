// ts/tree.ts: jax.tree_util over nested plain objects and arrays.
import test from 'ava'
import { jnp, tree, type Tensor } from '../ts/index'

test('map visits leaves in sorted key order and builds objects with sorted keys', (t) => {
  const seen: number[] = []
  const out = tree.map((x: number) => {
    seen.push(x)
    return x * 10
  }, { b: 2, a: [1, { d: 4, c: 3 }] })
  t.deepEqual(seen, [1, 3, 4, 2])
  t.deepEqual(out, { a: [10, { c: 30, d: 40 }], b: 20 })
  t.deepEqual(Object.keys(out), ['a', 'b'])
})

test('map over several trees; structure mismatch throws', (t) => {
  t.deepEqual(tree.map((a: number, b: number) => a + b, { x: 1, y: [2] }, { x: 10, y: [20] }), { x: 11, y: [22] })
  t.throws(() => tree.map((a: number, b: number) => a + b, { x: 1 }, { y: 1 }), { instanceOf: TypeError })
  t.throws(() => tree.map((a: number, b: number) => a + b, [1], [1, 2]), { instanceOf: TypeError })
})

test('tensors, null and class instances are leaves or empty subtrees', (t) => {
  const k = jnp.ones([2, 2])
  const vars = { params: { dense: { kernel: k, bias: null } } }
  t.deepEqual(tree.leaves(vars), [k])
  const mapped = tree.map(jnp.triu, { params: { kernel: jnp.ones([2, 2]) } })
  t.deepEqual(Array.from(mapped.params.kernel.data), [1, 1, 0, 1])
  t.is(tree.map((x: unknown) => x, { a: null }).a, null)
})

test('mapWithPath, leavesWithPath, structureEqual, copy', (t) => {
  t.deepEqual(tree.mapWithPath((p: string[], x: number) => `${p.join('/')}=${x}`, { a: { b: 1 }, c: [2] }), { a: { b: 'a/b=1' }, c: ['c/0=2'] })
  t.deepEqual(tree.leavesWithPath({ z: 1, a: { y: 2 } }), [[['a', 'y'], 2], [['z'], 1]])
  t.true(tree.structureEqual({ a: [1, 2] }, { a: [3, 4] }))
  t.false(tree.structureEqual({ a: [1, 2] }, { a: [3] }))
  const leaf = { notPlain: true }
  Object.setPrototypeOf(leaf, { kind: 'x' })
  const src = { a: { b: leaf } }
  const c = tree.copy(src)
  t.not(c.a, src.a)
  t.is(c.a.b, leaf)
})
