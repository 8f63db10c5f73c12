// The one FrozenDict operation flaxen needs. Flax returns plain dicts by default
// (`flax_return_frozendict=False`), so flaxen has no FrozenDict type: collections are plain
// objects, and wherever Flax would `unfreeze` (to hand out a dict nobody else aliases) flaxen
// deep-copies the nested plain objects instead.
import { isPlainObject } from '../tree'

/** Deep copy of nested plain objects, keeping key order; leaves (tensors...) are shared. */
export function unfreeze<T>(x: T): T {
  if (!isPlainObject(x)) return x
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(x)) out[k] = unfreeze(v)
  return out as T
}
