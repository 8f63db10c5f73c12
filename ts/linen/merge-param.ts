// `nn.merge_param`: a layer option that may be given either at construction or at call time
// (Dropout's `deterministic`, attention's `deterministic`), but exactly once.
import { ValueError } from '../errors'

/** Returns whichever of `a` (constructor) and `b` (call) is set; null and undefined are Python's None. */
export function mergeParam<T>(name: string, a: T | null | undefined, b: T | null | undefined): T {
  const aSet = a !== null && a !== undefined
  const bSet = b !== null && b !== undefined
  if (aSet && bSet) throw new ValueError(`Parameter "${name}" was passed to the constructor and at call time. Should be passed just once.`)
  if (!aSet && !bSet) throw new ValueError(`Parameter "${name}" must be passed to the constructor or at call time.`)
  return (aSet ? a : b) as T
}
