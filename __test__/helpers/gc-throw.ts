// Native calls that fail while tensors die, run under a tiny young generation (the spec passes
// --max-semi-space-size=1) so that GCs, and with them tensor finalizers, happen during the error
// paths. Node-API used to abort here ("AllowJavascriptExecution::IsAllowed") when a finalizer
// ran before Node rethrew a native exception. Prints the codes it caught, by count.
import { native } from '../../ts/native'
import { jnp } from '../../ts'

const n = Number(process.env.GC_THROW_CALLS ?? 100_000)
const codes: Record<string, number> = {}
function count(e: unknown): void {
  const err = e as { code?: string; cause?: unknown }
  const key = err.code === 'E_THROWN' ? `E_THROWN(${String(err.cause)})` : String(err.code ?? (e as Error).message)
  codes[key] = (codes[key] ?? 0) + 1
}
// A shape whose element getter throws: the native reader meets a pending JS exception.
function throwingShape(value: unknown): number[] {
  const shape = [2, 2]
  Object.defineProperty(shape, 1, {
    get() {
      throw value
    },
  })
  return shape
}
for (let i = 0; i < n; i++) {
  void jnp.add(jnp.ones([4]), 1) // garbage with finalizers
  try {
    jnp.reshape(jnp.ones([3]), [2, 2])
  } catch (e) {
    count(e)
  }
  if (i % 16 === 0) {
    for (const value of [new RangeError('from a getter'), 42]) {
      try {
        native.fromData(new Float32Array(4), 'float32', throwingShape(value))
      } catch (e) {
        count(e)
      }
    }
  }
}
process.stdout.write(JSON.stringify(codes))
