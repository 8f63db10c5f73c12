// Functional entry points of the core (`flax.core.bind/apply/init`): they validate what the
// user passed, build a root Scope, and run a scope function in it.
import { ApplyScopeInvalidVariablesStructureError, ApplyScopeInvalidVariablesTypeError, InvalidRngError, ValueError } from '../errors'
import { isPlainObject } from '../tree'
import { unfreeze } from './frozen-dict'
import { type CollectionFilter, inFilter } from './filters'
import { LazyRng, type PRNGKey, isValidRng } from './rng'
import { Scope, type VariableDict } from './scope'

export type RNGSequences = Record<string, PRNGKey | LazyRng>
/** A single key (meaning `{ params: key }`) or a record of named streams. */
export type RngsArg = PRNGKey | LazyRng | RNGSequences


/** `_is_valid_variables`: a dict of collections, each a dict (keys are strings by construction in JS). */
function isValidVariables(variables: unknown): variables is VariableDict {
  if (!isPlainObject(variables)) return false
  return Object.values(variables).every((col) => isPlainObject(col))
}

/** `_is_valid_rngs`: a dict mapping names to valid keys. */
export function isValidRngs(rngs: unknown): rngs is RNGSequences {
  return isPlainObject(rngs) && Object.values(rngs).every(isValidRng)
}

/**
 * `core.bind`: a root Scope over `variables`. Mutable collections are deep-copied so the input
 * is never changed; immutable ones are used by reference.
 */
export function bind(variables: VariableDict, rngs: RNGSequences | null = null, mutable: CollectionFilter = false, flags: Record<string, unknown> | null = null): Scope {
  if (!isValidVariables(variables)) throw new ApplyScopeInvalidVariablesTypeError()
  if (rngs !== null && rngs !== undefined && !isValidRngs(rngs)) {
    throw new InvalidRngError('rngs should be a dictionary mapping strings to `jax.PRNGKey`.')
  }
  const newVariables: VariableDict = {}
  for (const [col, v] of Object.entries(variables)) newVariables[col] = inFilter(mutable, col) ? unfreeze(v) : v
  return new Scope(newVariables, rngs, { mutable, flags })
}

export interface ApplyOptions {
  mutable?: CollectionFilter
  flags?: Record<string, unknown> | null
  rngs?: RngsArg | null
}

/**
 * `core.apply(fn, mutable, flags)(variables, *args, rngs=...)`. Flax's call-time `rngs=` keyword
 * is an option here. Returns `y` when `mutable === false`, else `[y, mutatedVariables]`.
 */
export function apply<A extends unknown[], Y>(fn: (scope: Scope, ...args: A) => Y, options: ApplyOptions = {}): (variables: VariableDict, ...args: A) => any {
  const { mutable = false, flags = null } = options
  return (variables: VariableDict, ...args: A) => {
    let rngs = options.rngs ?? null
    if (rngs !== null) {
      if (!isValidRng(rngs) && !isValidRngs(rngs)) {
        throw new ValueError('The ``rngs`` argument passed to an apply function should be a ``jax.PRNGKey`` or a dictionary mapping strings to ``jax.PRNGKey``.')
      }
      if (!isPlainObject(rngs)) rngs = { params: rngs as PRNGKey | LazyRng }
    }
    // Catch the common mistake of passing {'params': {'params': ...}}.
    if (isPlainObject(variables) && isPlainObject(variables.params) && Object.prototype.hasOwnProperty.call(variables.params, 'params')) {
      throw new ApplyScopeInvalidVariablesStructureError(variables)
    }
    const root = bind(variables, rngs as RNGSequences | null, mutable, flags)
    const y = root.temporary((scope) => fn(scope, ...args))
    return mutable !== false ? [y, root.mutableVariables()] : y
  }
}

export interface InitOptions {
  mutable?: CollectionFilter
  flags?: Record<string, unknown> | null
}

/**
 * `core.init(fn, mutable=True, flags)(rngs, *args)`: apply on empty variables with the
 * `initializing` flag; a single key means `{ params: key }`. Returns `[y, variables]`.
 */
export function init<A extends unknown[], Y>(fn: (scope: Scope, ...args: A) => Y, options: InitOptions = {}): (rngs: RngsArg, ...args: A) => [Y, VariableDict] {
  const { mutable = true, flags = null } = options
  return (rngs: RngsArg, ...args: A) => {
    if (!isValidRng(rngs) && !isValidRngs(rngs)) {
      throw new ValueError('First argument passed to an init function should be a ``jax.PRNGKey`` or a dictionary mapping strings to ``jax.PRNGKey``.')
    }
    const streams: RNGSequences = isPlainObject(rngs) ? (rngs as RNGSequences) : { params: rngs as PRNGKey | LazyRng }
    const initFlags = { ...(flags ?? {}), initializing: true }
    // Like Flax, the result is apply's: `[y, variables]` unless mutable is false.
    return apply(fn, { mutable, flags: initFlags, rngs: streams })({}, ...args)
  }
}
