// The byte cap: the largest single tensor buffer the native core allocates. A request above it
// (a shape from a request body, say) is a RangeError with code E_ALLOC instead of an
// allocation failure that would abort the process. It starts as FLAXEN_MAX_BYTES (bytes,
// optionally with a K/M/G/T suffix) or, unset, the machine's physical memory. It bounds one
// allocation, not the process: see docs/architecture.md for what it cannot prevent (the
// Linux OOM killer under overcommit).
import { codedRangeError, codedTypeError } from './coded-error'
import { native } from './native'
import { describe } from './tensor'

/** Sets the byte cap (a positive integer, at most 2^62). */
export function setMaxBytes(bytes: number): void {
  if (typeof bytes !== 'number') throw codedTypeError(`setMaxBytes: bytes must be a number, got ${describe(bytes)}`)
  if (!Number.isInteger(bytes) || bytes < 1 || bytes > 2 ** 62) {
    throw codedRangeError('E_ARG', `setMaxBytes: bytes must be an integer in 1 ..= 2^62, got ${bytes}`)
  }
  native.setMaxBytes(bytes)
}

/** The byte cap in bytes. */
export function getMaxBytes(): number {
  return native.getMaxBytes()
}
