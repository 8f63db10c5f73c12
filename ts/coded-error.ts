// Errors of the tensor façade carry a stable `code`, like the addon's own: callers branch on the
// code, never on the message text.

export type ErrorCode = 'E_SHAPE' | 'E_DTYPE' | 'E_ARG' | 'E_DISPOSED' | 'E_DONATED' | 'E_TYPE' | 'E_PANIC'

export interface CodedError extends Error {
  code: ErrorCode
}

export function codedError(code: ErrorCode, message: string): CodedError {
  const err = new Error(message) as CodedError
  err.code = code
  return err
}

export function codedTypeError(message: string): CodedError {
  const err = new TypeError(message) as unknown as CodedError
  err.code = 'E_TYPE'
  return err
}

/** `[2, 3]`: how shapes appear in every message. */
export function showShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`
}
