// Python exceptions of Flax's contract not covered beside their feature (spec a.5, last list).
import test from 'ava'
import { Scope } from '../ts/core'

test('Scope.reserve: a non-string name is a TypeError; a reused name a ValueError', (t) => {
  const scope = new Scope({})
  // @ts-expect-error deliberately wrong argument
  t.throws(() => scope.reserve(3), { instanceOf: TypeError, message: /^The type of scope "3" should be string but it is number/ })
  scope.reserve('a')
  t.throws(() => scope.reserve('a'), { message: 'Duplicate use of scope name: "a"' })
})
