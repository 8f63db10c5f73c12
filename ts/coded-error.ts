// Errors of the tensor façade carry a stable `code`, like the addon's own: callers branch on the
// code, never on the message text.

export type ErrorCode = 'E_SHAPE' | 'E_DTYPE' | 'E_ARG' | 'E_DISPOSED' | 'E_DONATED' | 'E_TYPE' | 'E_PANIC' | 'E_ALLOC' | 'E_TREE' | 'E_RANGE' | 'E_IO' | 'ENOENT' | 'E_QUEUE_FULL' | 'E_CLOSED'

export interface CodedError extends Error {
  code: ErrorCode
}

export function codedError(code: ErrorCode, message: string): CodedError {
  const err = new Error(message) as CodedError
  err.code = code
  return err
}

/** A RangeError with `code`: a size, length or index out of what can be served. */
export function codedRangeError(code: ErrorCode, message: string): CodedError {
  const err = new RangeError(message) as unknown as CodedError
  err.code = code
  return err
}

export function codedTypeError(message: string): CodedError {
  const err = new TypeError(message) as unknown as CodedError
  err.code = 'E_TYPE'
  return err
}

/**
 * Most entries the façade walks in one JS array (the addon's own bound, `MAX_ARRAY_LEN`). A JS
 * array claims any length (`new Array(2 ** 32 - 1)` is one line and holds nothing), and a loop
 * over that many indices would hang the process.
 */
export const MAX_ARRAY_LEN = 1 << 20

/** Throws a coded RangeError (E_ARG) if array `xs` is longer than `MAX_ARRAY_LEN`. */
export function checkArrayLength(xs: readonly unknown[], what: string): void {
  if (xs.length > MAX_ARRAY_LEN) {
    throw codedRangeError('E_ARG', `${what}: expected an array of at most ${MAX_ARRAY_LEN} entries, got length ${xs.length}`)
  }
}

/**
 * An array of integers (a list of axes, indices or sizes): coded errors for anything else,
 * including holes (`every` skips them) and claimed lengths beyond what could be real.
 */
export function intArray(xs: unknown, what: string): number[] {
  const describeValue = (x: unknown) => (x === null ? 'null' : Array.isArray(x) ? 'an array' : typeof x === 'number' ? String(x) : typeof x)
  if (!Array.isArray(xs)) throw codedTypeError(`${what}: expected an array of integers, got ${describeValue(xs)}`)
  checkArrayLength(xs, what)
  for (let i = 0; i < xs.length; i++) {
    if (!Number.isInteger(xs[i])) throw codedTypeError(`${what}: expected an array of integers, got ${describeValue(xs[i])} at index ${i}`)
  }
  return xs as number[]
}

/**
 * An options argument: `{}` when omitted, else it must be an object. Destructuring `null` in a
 * parameter list throws an uncoded "Cannot read properties of null".
 */
export function optionsArg<T extends object>(options: T | undefined | null, who: string): T {
  if (options === undefined) return {} as T
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    const got = options === null ? 'null' : Array.isArray(options) ? 'an array' : typeof options
    throw codedTypeError(`${who}: options must be an object, got ${got}`)
  }
  return options
}

/** `[2, 3]`: how shapes appear in every message. */
export function showShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`
}
