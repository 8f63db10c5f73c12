// Lifted transforms of the core (`flax.core.lift`): `pack`, the machinery every lifted transform
// is built on, and `mapVariables` / `swapCollection` on top of it.
//
// pack takes the variables and RNGs out of one or more outer scopes, lets the transform build
// fresh *inner root* scopes from them (same name and path, decorated debug path, and — what keeps
// RNG keys identical to the untransformed code — the outer scope's counter object, shared), runs
// the transform, and writes the variables the transform hands back into the outer scopes.
import { codedTypeError } from '../coded-error'
import { ValueError } from '../errors'
import { describe, isTensor } from '../tensor'
import { copy, leaves, map } from '../tree'
import { unfreeze } from './frozen-dict'
import { type CollectionFilter, groupCollections, inFilter, intersectFilters, isFilterEmpty, subtractFilters, unionFilters } from './filters'
import type { LazyRng } from './rng'
import { type RngCounters, Scope, type VariableDict } from './scope'

/** A Scope, or arrays / plain objects of them. */
export type ScopeTree = Scope | readonly ScopeTree[] | { readonly [k: string]: ScopeTree }

/** Per filter, one group per (deduplicated) outer scope. */
export type VariableGroups = VariableDict[][]
export type RngGroups = Record<string, LazyRng>[][]

export type ScopeFn = (variableGroups: VariableGroups, rngGroups: RngGroups, mutableFilter?: CollectionFilter) => any
export type RepackFn = (innerScopeTree: any) => VariableGroups

export type PackedFn<A extends unknown[]> = (
  scopeFn: ScopeFn,
  repack: RepackFn,
  variableGroups: VariableGroups,
  rngGroups: RngGroups,
  ...args: A
) => [any, VariableGroups]

function flattenScopes(tree: ScopeTree): { scopes: Scope[]; unflatten: (xs: Scope[]) => any } {
  const isScope = (x: unknown) => x instanceof Scope
  const scopes = leaves(tree, isScope) as Scope[]
  return {
    scopes,
    unflatten: (xs: Scope[]) => {
      if (tree instanceof Scope) return xs[0]
      let i = 0
      return map(() => xs[i++], tree as unknown)
    },
  }
}

function transpose<T>(xs: T[][]): T[][] {
  if (xs.length === 0) return []
  return xs[0].map((_, j) => xs.map((row) => row[j]))
}

function indexOfScope(list: Scope[], s: Scope): number {
  return list.findIndex((x) => x.equals(s))
}

/**
 * `_dedup_scopes`: keeps only scopes that have no ancestor in the list; each input scope is
 * described as (kept ancestor, relative path), so descendants can be re-pushed inside.
 */
function dedupScopes(scopes: Scope[]): { minimal: Scope[]; paths: [Scope, string[]][] } {
  const minimal = [...scopes].filter((s, i, all) => indexOfScope(all, s) === i)
  const paths: [Scope, string[]][] = []
  for (const leaf of scopes) {
    let maxParent = leaf
    let maxParentPath: string[] = []
    const path = [leaf.name as string]
    for (let scope = leaf.parent; scope !== null; scope = scope.parent) {
      if (indexOfScope(minimal, scope) >= 0) {
        maxParent = scope
        maxParentPath = [...path].reverse()
      }
      path.push(scope.name as string)
    }
    const at = indexOfScope(minimal, leaf)
    if (maxParent !== leaf && at >= 0) minimal.splice(at, 1)
    paths.push([maxParent, maxParentPath])
  }
  return { minimal, paths }
}

/** `_dup_scopes`: the inner counterpart of every input scope, pushing (reuse) along relative paths. */
function dupScopes(origScopes: Scope[], innerScopes: Scope[], paths: [Scope, string[]][]): Scope[] {
  return paths.map(([root, path]) => {
    let scope = innerScopes[indexOfScope(origScopes, root)]
    for (const name of path) scope = scope.push(name, '', true)
    return scope
  })
}

/**
 * `lift.pack(fn, in_variable_filters, out_variable_filters, rng_filters, name)`.
 * Returns `(scopeTree, ...args) => y`; `fn(scopeFn, repack, variableGroups, rngGroups, ...args)`
 * must return `[y, outVariableGroups]`.
 */
export function pack<A extends unknown[]>(
  fn: PackedFn<A>,
  inVariableFilters: readonly CollectionFilter[],
  outVariableFilters: readonly CollectionFilter[],
  rngFilters: readonly CollectionFilter[],
  name: string | null = null,
): (scopeTree: ScopeTree, ...args: A) => any {
  return (scopeTree: ScopeTree, ...args: A) => {
    const { scopes: allScopes, unflatten } = flattenScopes(scopeTree)
    const { minimal: scopes, paths } = dedupScopes(allScopes)

    const variableGroupsXs = scopes.map((scope) => {
      scope._populateCollections()
      return groupCollections(scope._variables, inVariableFilters)
    })
    // Flax freezes in-only collections here; plain objects stay plain in flaxen — writes to them
    // are already refused by the inner scope's mutability.
    const variableGroupsXsT = transpose(variableGroupsXs)
    const rngGroupsXs = scopes.map((scope) => groupCollections(scope.rngs, rngFilters))
    const rngGroupsXsT = transpose(rngGroupsXs)
    const innerRngCounters: RngCounters[] = scopes.map((s) => s.rngCounters)

    let innerScopes: Scope[] = []
    const scopeFn: ScopeFn = (variableGroupsT, rngGroupsT, mutableFilter = true) => {
      for (const s of innerScopes) s.invalidate()
      innerScopes = []
      let mutable: CollectionFilter = false
      for (const f of outVariableFilters) mutable = unionFilters(mutable, f)
      const variableGroups = variableGroupsT.length ? transpose(variableGroupsT) : scopes.map(() => [])
      const rngGroups = rngGroupsT.length ? transpose(rngGroupsT) : scopes.map(() => [])
      scopes.forEach((scope, i) => {
        const variables: VariableDict = {}
        for (const group of variableGroups[i]) Object.assign(variables, group)
        const rngs: Record<string, LazyRng> = {}
        for (const group of rngGroups[i]) Object.assign(rngs, group)
        let debugPath = [...scope.debugPath]
        if (name) {
          debugPath = debugPath.length ? [...debugPath.slice(0, -1), `${name}(${debugPath[debugPath.length - 1]})`] : [`${name}()`]
        }
        const inner = new Scope(copy(variables), rngs, {
          name: scope.name,
          mutable: intersectFilters(intersectFilters(scope.root.mutable, mutable), mutableFilter),
          parent: null,
          path: scope.path,
          debugPath,
          flags: scope.flags,
        })
        // Shared with the outer scope: keys inside equal those of the untransformed code.
        inner.rngCounters = innerRngCounters[i]
        innerScopes.push(inner)
      })
      return unflatten(dupScopes(scopes, innerScopes, paths))
    }

    const repack: RepackFn = (innerScopeTree) => {
      const { scopes: inner } = flattenScopes(innerScopeTree)
      const { minimal } = dedupScopes(inner)
      const outXs = minimal.map((innerScope) => {
        innerScope.invalidate()
        const mutableVariables: VariableDict = {}
        for (const [k, v] of Object.entries(innerScope._variables)) if (inFilter(innerScope.mutable, k)) mutableVariables[k] = v
        const groups = groupCollections(mutableVariables, [...outVariableFilters, true])
        const remainder = Object.keys(groups[groups.length - 1])
        if (remainder.length) throw new ValueError(`unmapped output variables: (${remainder.map((r) => `'${r}'`).join(', ')}${remainder.length === 1 ? ',' : ''})`)
        return groups.slice(0, -1)
      })
      return transpose(outXs)
    }

    let y: any
    let outGroupsT: VariableGroups
    try {
      ;[y, outGroupsT] = fn(scopeFn, repack, variableGroupsXsT, rngGroupsXsT, ...args)
    } finally {
      for (const s of innerScopes) s.invalidate()
    }
    const outGroupsXs = outGroupsT.length ? transpose(outGroupsT) : scopes.map(() => [])
    scopes.forEach((scope, i) => {
      for (const group of outGroupsXs[i]) {
        for (const [col, collection] of Object.entries(group)) {
          // Collections immutable outside are dropped silently (e.g. swapCollection's other side).
          if (!scope.isMutableCollection(col)) continue
          for (const [varName, value] of Object.entries(collection)) scope.putVariable(col, varName, value)
        }
      }
    })
    return y
  }
}

const identity = <T>(x: T): T => x

/** Maps `{collection: {...}}` for one scope to the same kind of dict. */
export type VariableMapFn = (variables: VariableDict) => VariableDict

export interface MapVariablesOptions {
  /** Let `fn` create target variables (they are initialised before mapping). */
  init?: boolean
  /** Let `fn` mutate target variables; they are mapped back with `mapOutFn`. */
  mutable?: boolean
  /** RNG streams visible inside. */
  rngs?: CollectionFilter
  /** Additional (non-target) collections visible inside. */
  variables?: CollectionFilter
}


/**
 * `f` refusing a result that is not a collection's variables: a `transOutFn` returning 42 would
 * otherwise drop the collection without a word (Flax fails on the non-dict).
 */
function checkedMapFn(f: VariableMapFn, what: string): VariableMapFn {
  if (typeof f !== 'function') throw codedTypeError(`mapVariables: ${what} must be a function, got ${describe(f)}`)
  return (v) => {
    const out = f(v)
    if (out === null || typeof out !== 'object' || Array.isArray(out) || isTensor(out)) {
      throw codedTypeError(`mapVariables: ${what} must return an object of variables (a collection), got ${describe(out)}`)
    }
    return out
  }
}

/**
 * `lift.map_variables(fn, mapped_collections, map_in_fn, map_out_fn, init, mutable, rngs, variables)`:
 * `fn` sees the target collections through `mapInFn`; mutable target collections come back out
 * through `mapOutFn`. With `init`, `fn` first runs once on the raw variables (when anything is
 * mutable) so it can create them; only the mutable target collections of that pass survive.
 */
export function mapVariables<A extends unknown[]>(
  fn: (scope: any, ...args: A) => any,
  mappedCollections: CollectionFilter,
  mapInFn: VariableMapFn = identity,
  mapOutFn: VariableMapFn = identity,
  { init = false, mutable = false, rngs = true, variables = true }: MapVariablesOptions = {},
): (scopeTree: ScopeTree, ...args: A) => any {
  const isTargetOut = mutable || init
  mapInFn = checkedMapFn(mapInFn, 'mapInFn')
  mapOutFn = checkedMapFn(mapOutFn, 'mapOutFn')
  const inFilters: CollectionFilter[] = [mappedCollections, variables]
  const outFilters: CollectionFilter[] = isTargetOut ? inFilters : [false, subtractFilters(variables, mappedCollections)]

  const inner: PackedFn<A> = (scopeFn, repack, variableGroups, rngGroups, ...args) => {
    let [target] = variableGroups
    const [, others] = variableGroups
    if (init) {
      const scopes = scopeFn([target, others], rngGroups)
      const innerScopes = flattenScopes(scopes).scopes
      if (innerScopes.some((s) => !isFilterEmpty(s.mutable))) {
        fn(scopes, ...args)
        // Only mutable target collections survive pass 1; the other groups are discarded.
        target = repack(scopes)[0].map(mapOutFn)
      }
    }
    target = target.map((t) => mapInFn(unfreeze(t)))
    const mfilter: CollectionFilter = isTargetOut ? true : subtractFilters(true, mappedCollections)
    const scopes = scopeFn([target, others], rngGroups, mfilter)
    const y = fn(scopes, ...args)
    let [outTarget, outOthers] = repack(scopes)
    if (isTargetOut) outTarget = outTarget.map(mapOutFn)
    return [y, [outTarget, outOthers]]
  }
  return pack(inner, inFilters, outFilters, [rngs], 'map_variables')
}

/**
 * `lift.swap_collection(fn, col_a, col_b)`: inside `fn` the two collections exchange contents;
 * they are swapped back on the way out.
 */
export function swapCollection<A extends unknown[]>(fn: (scope: any, ...args: A) => any, colA: string, colB: string): (scopeTree: ScopeTree, ...args: A) => any {
  const swap: VariableMapFn = (target) => {
    const a = target[colA] ?? {}
    const b = target[colB] ?? {}
    target[colB] = a
    target[colA] = b
    return target
  }
  return mapVariables(fn, [colA, colB], swap, swap, { mutable: true })
}
