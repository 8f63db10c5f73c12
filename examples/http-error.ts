// The request error of the example servers (examples/server.ts and its routes): an HTTP status
// and a stable code, answered as {"error": {"code", "message"}}.
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message)
  }
}
