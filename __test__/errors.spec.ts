import test from 'ava'
import { jnp, random } from '../ts/index'
import { native } from '../ts/native'
import { nop } from './helpers/native-op'

function code(t: any, fn: () => unknown, expected: string, message?: RegExp, type: any = Error) {
  const err = t.throws(fn, { instanceOf: type })
  t.is(err.code, expected, err.message)
  if (message) t.regex(err.message, message)
}

test('shape mismatches give E_SHAPE and print both shapes', (t) => {
  code(t, () => jnp.matmul(jnp.ones([2, 3]), jnp.ones([4, 5])), 'E_SHAPE', /\[2, 3\].*\[4, 5\]/)
  code(t, () => jnp.add(jnp.ones([2, 3]), jnp.ones([4])), 'E_SHAPE', /\[2, 3\].*\[4\]/)
  code(t, () => jnp.ones([6]).reshape([4, 2]), 'E_SHAPE', /\[6\].*\[4, 2\]/)
  code(t, () => jnp.triu(jnp.ones([3])), 'E_SHAPE', /\[3\]/)
  code(t, () => jnp.array([[1, 2], [3]]), 'E_SHAPE', /ragged/)
  code(t, () => jnp.matmul(jnp.ones([2, 2, 3]), jnp.ones([3, 3, 2])), 'E_SHAPE', /\[2, 2, 3\].*\[3, 3, 2\]/)
})

test('bad sizes give E_ARG naming the argument: negative, NaN, fractional, overflowing', (t) => {
  code(t, () => jnp.zeros([-1]), 'E_ARG', /shape/)
  code(t, () => jnp.zeros([NaN]), 'E_ARG', /shape/)
  code(t, () => jnp.zeros([1.5]), 'E_ARG', /shape/)
  code(t, () => jnp.zeros([2 ** 40, 2 ** 40]), 'E_SHAPE', /shape.*too many elements/)
  code(t, () => jnp.ones([2]).reshape([-1, -1]), 'E_ARG', /-1/)
  code(t, () => jnp.arange(0, 10, 0), 'E_ARG', /step/)
  code(t, () => jnp.linspace(0, 1, -3), 'E_ARG', /num/)
  code(t, () => jnp.sum(jnp.ones([2, 3]), 2), 'E_ARG', /axis/)
  code(t, () => jnp.transpose(jnp.ones([2, 3]), [0, 0]), 'E_ARG', /axes/)
  code(t, () => random.split(random.key(0), -2), 'E_ARG', /n/)
  code(t, () => random.randint(random.key(0), [2], 0, NaN), 'E_ARG', /maxval/)
})

test('dtype mismatches give E_DTYPE', (t) => {
  code(t, () => jnp.matmul(jnp.ones([2, 2], 'int32'), jnp.ones([2, 2], 'int32')), 'E_DTYPE', /float32/)
  code(t, () => jnp.zeros([2], 'float64' as any), 'E_DTYPE', /float64/)
  code(t, () => random.bits(random.key(0), [2], 'int8' as any), 'E_DTYPE', /int8/)
})

test('wrong JS types give a TypeError with code E_TYPE, from the façade and from the addon itself', (t) => {
  code(t, () => jnp.matmul([1, 2] as any, jnp.ones([2])), 'E_TYPE', /a: expected a Tensor/, TypeError)
  code(t, () => jnp.add(jnp.ones([2]), 'x' as any), 'E_TYPE', /b must be/, TypeError)
  code(t, () => jnp.zeros(3 as any), 'E_TYPE', /shape/, TypeError)
  code(t, () => random.normal({} as any, [2]), 'E_TYPE', /key/, TypeError)
  // the addon validates on its own, whatever the façade does
  code(t, () => nop('matmul', {}, {}), 'E_TYPE', /a/, TypeError)
  code(t, () => nop('triu', jnp.ones([2, 2]).handle, 'x'), 'E_TYPE', /k/, TypeError)
  code(t, () => nop('full', ['a'], 1, 'float32'), 'E_TYPE', /shape/, TypeError)
  code(t, () => nop('fold_in', new Uint32Array(3), 1), 'E_TYPE', /key/, TypeError)
  code(t, () => native.fromData(new Float32Array(3), 'float32', [4]), 'E_SHAPE', /\[4\]/)
  code(t, () => nop('sum'), 'E_TYPE', /x/, TypeError)
})

test('disposed tensors give E_DISPOSED from the addon too', (t) => {
  const x = jnp.ones([2])
  const h = x.handle
  x.dispose()
  code(t, () => nop('add', h, h), 'E_DISPOSED')
  code(t, () => native.meta(h), 'E_DISPOSED')
})

test('a panic inside the addon becomes an Error with code E_PANIC, and the addon keeps working', (t) => {
  code(t, () => native.panicForTest('deliberate'), 'E_PANIC', /deliberate/)
  t.is(jnp.sum(jnp.ones([3])).item(), 3)
})
