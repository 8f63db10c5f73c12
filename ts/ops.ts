// The op table's codes by name. The core's `ops::table` is the one source: the addon exports
// its names in code order as `OP_NAMES`, and every façade function looks its code up here once,
// at load, so a name the addon lacks fails on import rather than mid-model.
import { native, type OpArg, type TensorHandle } from './native'

const CODES = new Map(native.OP_NAMES.map((name, code) => [name, code]))

/** The code of op `name`; throws at import time if the addon has no such op. */
export function opCode(name: string): number {
  const code = CODES.get(name)
  if (code === undefined) {
    throw Object.assign(new Error(`flaxen: the native addon has no op '${name}'; rebuild it (npm run build)`), { code: 'E_ADDON' })
  }
  return code
}

/** `native.op` for a one-output op. */
export const op1 = native.op as (code: number, ...args: OpArg[]) => TensorHandle
/** `native.op` for an op with several outputs (split, qr). */
export const opN = native.op as (code: number, ...args: OpArg[]) => TensorHandle[]
