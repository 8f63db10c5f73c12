// The native addon, loaded once through the hand-written loader at the package root.
// `index.d.ts` beside that loader types every entry point.
import type * as Binding from '../index'

export type { TensorHandle, NativeDType, NumericArray, OpArg, TraceHandle, PlanHandle, CancelToken } from '../index'

// eslint-disable-next-line @typescript-eslint/no-require-imports
export const native: typeof Binding = require('../index.js')
