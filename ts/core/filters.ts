// Collection filters (`flax.core.scope`): which collections are mutable, which are lifted into a
// transform, which RNG streams are visible.
//
// A filter is `true` (everything), `false` (nothing), a collection name, a collection of names
// (array or Set; empty matches nothing) or a DenyList (everything its own filter does not
// match). The set algebra below follows Flax rule by rule, including the exact kind of each
// result (a Set, a boolean, or a DenyList), because transforms combine filters with it and the
// kind decides e.g. whether `isFilterEmpty` can answer.
import { InvalidFilterError, ValueError } from '../errors'
import { copy } from '../tree'

export type CollectionFilter = boolean | string | readonly string[] | ReadonlySet<string> | DenyList
export type PRNGSequenceFilter = CollectionFilter

/** Opt-out filter: matches every collection that `deny` does not match. Equality is by value. */
export class DenyList {
  readonly deny: CollectionFilter

  constructor(deny: CollectionFilter) {
    this.deny = deny
  }

  equals(other: unknown): boolean {
    return other instanceof DenyList && filterEquals(this.deny, other.deny)
  }

  toString(): string {
    return `DenyList(deny=${filterRepr(this.deny)})`
  }
}

function isCollection(f: unknown): f is readonly string[] | ReadonlySet<string> {
  return Array.isArray(f) || f instanceof Set
}

function contains(f: readonly string[] | ReadonlySet<string>, col: unknown): boolean {
  if (f instanceof Set ? f.has(col as string) : (f as readonly unknown[]).includes(col)) return true
  // Checked on a miss only (filters are tiny, hits are the common case): an entry that is not a
  // collection name (`mutable: [42]`) can never match, and would silently drop the collection.
  for (const c of f) if (typeof c !== 'string') throw new InvalidFilterError(f)
  return false
}

/** `in_filter`: does `filter` match collection `col`? (A string is checked before the collection case.) */
export function inFilter(filter: CollectionFilter, col: string | null): boolean {
  if (typeof filter === 'string') return col === filter
  if (isCollection(filter)) return contains(filter, col)
  if (typeof filter === 'boolean') return filter
  if (filter instanceof DenyList) return !inFilter(filter.deny, col)
  throw new InvalidFilterError(filter)
}

/** `is_filter_empty`: false for strings, emptiness for collections, `!f` for booleans; a DenyList is empty when its deny matches everything. */
export function isFilterEmpty(filter: CollectionFilter): boolean {
  if (typeof filter === 'string') return false
  if (isCollection(filter)) return filter instanceof Set ? filter.size === 0 : (filter as readonly string[]).length === 0
  if (typeof filter === 'boolean') return !filter
  // Flax probes "matches everything" with a stub name no real collection uses.
  if (filter instanceof DenyList) return inFilter(filter.deny, '__flax_internal_stub__')
  throw new InvalidFilterError(filter)
}

/** `filter_to_set`: the finite set a filter stands for; `true` and DenyLists are infinite. */
export function filterToSet(filter: CollectionFilter): Set<string> {
  if (filter === true || filter instanceof DenyList) throw new ValueError('Infinite set')
  if (filter === false) return new Set()
  if (typeof filter === 'string') return new Set([filter])
  if (isCollection(filter)) return new Set(filter)
  throw new InvalidFilterError(filter)
}

/** `union_filters(a, b)`: matches what either matches. */
export function unionFilters(a: CollectionFilter, b: CollectionFilter): CollectionFilter {
  if (a === true || b === true) return true
  if (a instanceof DenyList && b instanceof DenyList) return new DenyList(intersectFilters(a.deny, b.deny))
  if (b instanceof DenyList) [a, b] = [b, a]
  if (a instanceof DenyList) return new DenyList(subtractFilters(a.deny, b))
  const out = filterToSet(a)
  for (const c of filterToSet(b)) out.add(c)
  return out
}

/** `subtract_filters(a, b)`: matches what `a` matches and `b` does not. */
export function subtractFilters(a: CollectionFilter, b: CollectionFilter): CollectionFilter {
  if (b === true) return false
  if (a === true) return new DenyList(b)
  if (a instanceof DenyList && b instanceof DenyList) return subtractFilters(b.deny, a.deny)
  if (a instanceof DenyList) return new DenyList(unionFilters(a.deny, b))
  if (b instanceof DenyList) return intersectFilters(a, b.deny)
  const bs = filterToSet(b)
  return new Set([...filterToSet(a)].filter((c) => !bs.has(c)))
}

/** `intersect_filters(a, b)`: matches what both match. */
export function intersectFilters(a: CollectionFilter, b: CollectionFilter): CollectionFilter {
  if (a === true) return b
  if (b === true) return a
  if (a instanceof DenyList && b instanceof DenyList) return new DenyList(unionFilters(b.deny, a.deny))
  if (b instanceof DenyList) [a, b] = [b, a]
  if (a instanceof DenyList) return subtractFilters(b, a.deny)
  const bs = filterToSet(b)
  return new Set([...filterToSet(a)].filter((c) => bs.has(c)))
}

/**
 * `group_collections(xs, filters)`: each filter, in order, claims every not-yet-claimed
 * collection of `xs` it matches. Returns one object per filter; containers are copied, leaves
 * shared.
 */
export function groupCollections<V>(xs: Record<string, V>, filters: readonly CollectionFilter[]): Record<string, V>[] {
  let cols = Object.keys(xs)
  const groups: Record<string, V>[] = []
  for (const filter of filters) {
    const remaining: string[] = []
    const group: Record<string, V> = {}
    for (const col of cols) {
      if (inFilter(filter, col)) group[col] = copy(xs[col])
      else remaining.push(col)
    }
    cols = remaining
    groups.push(group)
  }
  return groups
}

/** Value equality of filters: sets and arrays compare as sets, DenyLists by their deny. */
export function filterEquals(a: CollectionFilter, b: CollectionFilter): boolean {
  if (a instanceof DenyList || b instanceof DenyList) return a instanceof DenyList && a.equals(b)
  if (typeof a !== 'object' || typeof b !== 'object') return a === b
  const as = filterToSet(a)
  const bs = filterToSet(b)
  return as.size === bs.size && [...as].every((c) => bs.has(c))
}

/** Python-like repr of a filter, for messages. */
export function filterRepr(f: CollectionFilter): string {
  if (typeof f === 'string') return `'${f}'`
  if (typeof f === 'boolean') return f ? 'True' : 'False'
  if (f instanceof DenyList) return f.toString()
  if (f instanceof Set) return f.size === 0 ? 'set()' : `{${[...f].map((c) => `'${c}'`).join(', ')}}`
  if (Array.isArray(f)) return `[${f.map((c) => `'${c}'`).join(', ')}]`
  return String(f)
}
