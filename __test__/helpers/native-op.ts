// Calls a row of the addon's op table by name, as the façade does (tests of the raw entry point).
import { native, type OpArg, type TensorHandle } from '../../ts/native'
import { opCode } from '../../ts/ops'

/** `native.op` of the op called `name`; `args` are its operands then its attributes. */
export function nop(name: string, ...args: unknown[]): TensorHandle {
  return native.op(opCode(name), ...(args as OpArg[])) as TensorHandle
}
