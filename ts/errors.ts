// Flax's error classes (`flax.errors`), with Flax's message texts.
//
// A user porting a model compares what flaxen says with what Flax says, so every class keeps
// Flax's class name (`err.name`, also `err.code`) and Flax's message, including the link to the
// error's documentation page that `FlaxError.__init__` appends. Values interpolated into the
// messages are rendered the way Python's f-strings render them (`None`, `(4,)`, `['a', 'b']`).
//
// Python's own exception types that are part of Flax's observable contract (ValueError,
// AttributeError) get small classes here too; Python's TypeError is JavaScript's TypeError.

const ERROR_PAGE = 'https://flax.readthedocs.io/en/latest/api_reference/flax.errors.html'

/** Base class of every Flax error; `code` is the Flax class name, for branching without `instanceof`. */
export class FlaxError extends Error {
  readonly code: string

  constructor(message: string) {
    // new.target is the concrete class, so subclasses need no boilerplate.
    super(`${message} (${ERROR_PAGE}#flax.errors.${new.target.name})`)
    this.name = new.target.name
    this.code = new.target.name
  }
}

// ---------------------------------------------------------------------------------------------
// Python-style rendering of values inside messages.

/** `str(x)` as Python would print it inside an f-string. */
export function pyStr(x: unknown): string {
  return typeof x === 'string' ? x : pyRepr(x)
}

/**
 * `repr(x)`: strings quoted, null as None, booleans capitalised, arrays as lists, Sets as sets.
 * Bounded for messages about bad input: containers nest at most 8 levels and show at most 32
 * entries (a cyclic object or `new Array(2 ** 32 - 1)` must not hang or overflow the stack).
 */
export function pyRepr(x: unknown, depth: number = 0): string {
  if (depth > 8 && x !== null && typeof x === 'object') return '...'
  const items = (xs: Iterable<unknown>, n: number, show: (y: unknown) => string): string => {
    const out: string[] = []
    for (const y of xs) {
      if (out.length === 32) {
        out.push(`... (${n} items)`)
        break
      }
      out.push(show(y))
    }
    return out.join(', ')
  }
  if (Array.isArray(x)) return `[${items(x.length > 32 ? x.slice(0, 33) : x, x.length, (y) => pyRepr(y, depth + 1))}]`
  if (x instanceof Set) return x.size === 0 ? 'set()' : `{${items(x, x.size, (y) => pyRepr(y, depth + 1))}}`
  if (x === null || x === undefined) return 'None'
  if (typeof x === 'string') return `'${x.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`
  if (typeof x === 'boolean') return x ? 'True' : 'False'
  if (typeof x === 'number' || typeof x === 'bigint') return String(x)
  if (typeof x === 'function') return x.name ? `<function ${x.name}>` : '<function <anonymous>>'
  if (typeof x === 'object') {
    const custom = (x as { toString?: () => string }).toString
    if (custom !== Object.prototype.toString && typeof custom === 'function') return custom.call(x)
    const proto = Object.getPrototypeOf(x)
    if (proto === Object.prototype || proto === null) {
      const entries = Object.entries(x as object)
      return `{${items(entries, entries.length, (e) => `${pyRepr((e as [string, unknown])[0])}: ${pyRepr((e as [string, unknown])[1], depth + 1)}`)}}`
    }
    return `<${(x as object).constructor?.name ?? 'object'}>`
  }
  return String(x)
}

/** A shape as a Python tuple: `()`, `(4,)`, `(2, 3)`. */
export function shapeRepr(shape: readonly number[]): string {
  return shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`
}

// ---------------------------------------------------------------------------------------------
// Python builtin exceptions that Flax raises as part of its contract.

// Like Flax's classes, `code` is the Python class name.
export class ValueError extends Error {
  code: string = 'ValueError'
  constructor(message: string) {
    super(message)
    this.name = 'ValueError'
  }
}

export class NotImplementedError extends Error {
  code: string = 'NotImplementedError'
  constructor(message: string) {
    super(message)
    this.name = 'NotImplementedError'
  }
}

export class AttributeError extends Error {
  code: string = 'AttributeError'
  constructor(message: string) {
    super(message)
    this.name = 'AttributeError'
  }
}

/**
 * Python's TypeError as Flax raises it (bad keyword arguments, wrong argument kinds). A
 * JavaScript TypeError (`instanceof TypeError`) whose `code` is `'TypeError'`.
 */
export class PyTypeError extends TypeError {
  code: string = 'TypeError'
  constructor(message: string) {
    super(message)
    this.name = 'TypeError'
  }
}

// ---------------------------------------------------------------------------------------------
// flax.errors, in the order of the Flax docs.

export class LazyInitError extends FlaxError {
  constructor(partialVal: unknown) {
    super(`Lazy init encountered a value that could with the given inputs (shape: ${pyStr(partialVal)}).`)
  }
}

export class InvalidRngError extends FlaxError {
  // Flax passes the whole message: there are several kinds of RNG errors sharing one page.
  constructor(msg: string) {
    super(msg)
  }
}

export class ApplyScopeInvalidVariablesTypeError extends FlaxError {
  constructor() {
    super(
      'The first argument passed to an apply function should be a dictionary of collections. ' +
        'Each collection should be a dictionary with string keys.',
    )
  }
}

export class ApplyScopeInvalidVariablesStructureError extends FlaxError {
  constructor(_variables?: unknown) {
    super(
      'Expect the `variables` (first argument) passed to apply() to be a dict with the structure ' +
        '{"params": ...}, but got a dict with an extra params layer, i.e.  {"params": ' +
        '{"params": ... } }. You should instead pass in your dict\'s ["params"].',
    )
  }
}

export class ScopeParamNotFoundError extends FlaxError {
  constructor(paramName: string, scopePath: string) {
    super(`Could not find parameter named "${paramName}" in scope "${scopePath}".`)
  }
}

export class ScopeCollectionNotFound extends FlaxError {
  constructor(colName: string, varName: string, scopePath: string) {
    super(`Tried to access "${varName}" from collection "${colName}" in "${scopePath}" but the collection is empty.`)
  }
}

export class ScopeVariableNotFoundError extends FlaxError {
  constructor(name: string, col: string, scopePath: string) {
    super(`No Variable named "${name}" for collection "${col}" exists in "${scopePath}".`)
  }
}

export class ScopeParamShapeError extends FlaxError {
  constructor(paramName: string, scopePath: string, valueShape: readonly number[], initShape: readonly number[]) {
    super(
      `For parameter "${paramName}" in "${scopePath}", the given initializer is expected to generate shape ` +
        `${shapeRepr(initShape)}, but the existing parameter it received has shape ${shapeRepr(valueShape)}.`,
    )
  }
}

export class ModifyScopeVariableError extends FlaxError {
  constructor(col: string, variableName: string, scopePath: string) {
    super(`Cannot update variable "${variableName}" in "${scopePath}" because collection "${col}" is immutable.`)
  }
}

export class InvalidScopeError extends FlaxError {
  constructor(scopeName: string | null) {
    super(`The scope "${pyStr(scopeName)}" is no longer valid.`)
  }
}

export class InvalidFilterError extends FlaxError {
  constructor(filterLike: unknown) {
    super(`Invalid Filter: "${pyStr(filterLike)}"`)
  }
}

export class NameInUseError extends FlaxError {
  constructor(keyType: 'param' | 'variable' | 'submodule', value: string, moduleName: string) {
    super(`Could not create ${keyType} "${value}" in Module ${moduleName}: Name in use.`)
  }
}

export class AssignSubModuleError extends FlaxError {
  constructor(cls: string) {
    super(`Submodule ${cls} must be defined in \`setup()\` or in a method wrapped in \`@compact\``)
  }
}

export class SetAttributeInModuleSetupError extends FlaxError {
  constructor() {
    super('Module construction attributes are frozen.')
  }
}

export class SetAttributeFrozenModuleError extends FlaxError {
  constructor(moduleCls: string, attrName: string, attrVal: unknown) {
    super(`Can't set ${attrName}=${pyStr(attrVal)} for Module of type ${moduleCls}: Module instance is frozen outside of setup method.`)
  }
}

export class MultipleMethodsCompactError extends FlaxError {
  constructor() {
    super('Only one method per class can be @compact')
  }
}

export class ReservedModuleAttributeError extends FlaxError {
  constructor(annotations: unknown) {
    super(`properties \`parent\` and \`name\` are reserved: ${pyStr(annotations)}`)
  }
}

export class ApplyModuleInvalidMethodError extends FlaxError {
  constructor(method: unknown) {
    super(`Cannot call apply(): ${pyStr(method)} is not a valid function for apply().`)
  }
}

export class CallCompactUnboundModuleError extends FlaxError {
  constructor() {
    super("Can't call compact methods on unbound modules")
  }
}

export class CallSetupUnboundModuleError extends FlaxError {
  constructor() {
    // (sic) Flax reuses the compact text here.
    super("Can't call compact methods on unbound modules")
  }
}

export class CallUnbindOnUnboundModuleError extends FlaxError {
  constructor() {
    super("Can't call `unbind()` on unbound modules")
  }
}

export class CallShareScopeOnUnboundModuleError extends FlaxError {
  constructor() {
    super("Can't call `share_scope` on unbound modules")
  }
}

export class InvalidInstanceModuleError extends FlaxError {
  constructor() {
    super(
      'Can only call init, init_with_output or apply methods on an instance of the Module class, ' +
        'not the Module class itself',
    )
  }
}

export class IncorrectPostInitOverrideError extends FlaxError {
  constructor() {
    super('Overrode `.__post_init__()` without calling `super().__post_init__()`')
  }
}

export class DescriptorAttributeError extends FlaxError {
  constructor() {
    super('Trying to access a property that is accessing a non-existent attribute.')
  }
}

export class TransformedMethodReturnValueError extends FlaxError {
  constructor(name: string | null | undefined) {
    super(`Transformed module method ${pyStr(name)} cannot return Modules or Variables.`)
  }
}

export class TransformTargetError extends FlaxError {
  constructor(target: unknown) {
    super(
      'Linen transformations must be applied to Modules classes or functions taking a Module ' +
        `instance as the first argument. The provided target is not a Module class or callable: ${pyStr(target)}`,
    )
  }
}
