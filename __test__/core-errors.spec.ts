// ts/errors.ts: Flax's error classes, names, codes and message suffix (spec a.5).
import test from 'ava'
import * as errors from '../ts/errors'

const URL = 'https://flax.readthedocs.io/en/latest/api_reference/flax.errors.html#flax.errors.'

test('every Flax error is a FlaxError named after its Flax class, with the docs suffix', (t) => {
  const cases: [errors.FlaxError, string, string][] = [
    [new errors.ScopeParamNotFoundError('kernel', '/dense'), 'ScopeParamNotFoundError', 'Could not find parameter named "kernel" in scope "/dense".'],
    [new errors.ScopeCollectionNotFound('params', 'w', '/'), 'ScopeCollectionNotFound', 'Tried to access "w" from collection "params" in "/" but the collection is empty.'],
    [new errors.ScopeVariableNotFoundError('v', 'state', '/a'), 'ScopeVariableNotFoundError', 'No Variable named "v" for collection "state" exists in "/a".'],
    [
      new errors.ScopeParamShapeError('test', '/', [2], [4]),
      'ScopeParamShapeError',
      'For parameter "test" in "/", the given initializer is expected to generate shape (4,), but the existing parameter it received has shape (2,).',
    ],
    [new errors.ModifyScopeVariableError('state', 'test', '/'), 'ModifyScopeVariableError', 'Cannot update variable "test" in "/" because collection "state" is immutable.'],
    [new errors.InvalidScopeError(null), 'InvalidScopeError', 'The scope "None" is no longer valid.'],
    [new errors.NameInUseError('param', 'bias', 'Dummy'), 'NameInUseError', 'Could not create param "bias" in Module Dummy: Name in use.'],
    [new errors.SetAttributeFrozenModuleError('Foo', 'i', 2), 'SetAttributeFrozenModuleError', "Can't set i=2 for Module of type Foo: Module instance is frozen outside of setup method."],
    [new errors.CallCompactUnboundModuleError(), 'CallCompactUnboundModuleError', "Can't call compact methods on unbound modules"],
    [new errors.TransformedMethodReturnValueError('call'), 'TransformedMethodReturnValueError', 'Transformed module method call cannot return Modules or Variables.'],
    [new errors.InvalidFilterError(['a', 1]), 'InvalidFilterError', "Invalid Filter: \"['a', 1]\""],
    [new errors.MultipleMethodsCompactError(), 'MultipleMethodsCompactError', 'Only one method per class can be @compact'],
  ]
  for (const [err, name, text] of cases) {
    t.true(err instanceof errors.FlaxError)
    t.true(err instanceof Error)
    t.is(err.name, name)
    t.is(err.code, name)
    t.is(err.message, `${text} (${URL}${name})`)
  }
})

test('shapes print as Python tuples; values as Python reprs', (t) => {
  t.is(errors.shapeRepr([]), '()')
  t.is(errors.shapeRepr([4]), '(4,)')
  t.is(errors.shapeRepr([2, 3]), '(2, 3)')
  t.is(errors.pyRepr(null), 'None')
  t.is(errors.pyRepr(true), 'True')
  t.is(errors.pyRepr(['a', 1]), "['a', 1]")
  t.is(errors.pyRepr(new Set(['a'])), "{'a'}")
  t.is(errors.pyStr('x'), 'x')
})

test('Python builtins of the contract', (t) => {
  t.is(new errors.ValueError('m').name, 'ValueError')
  t.is(new errors.AttributeError('m').name, 'AttributeError')
  t.false(new errors.ValueError('m') instanceof errors.FlaxError)
})
