// Every suite, in report order. `flaxen bench NAME...` selects by `name`.
import type { Suite } from '../suite'
import { causalDense } from './causal-dense'
import { elementwise } from './elementwise'
import { eventLoop } from './event-loop'
import { io } from './io'
import { masking } from './masking'
import { matmul } from './matmul'
import { matvec } from './matvec'
import { memory } from './memory'
import { mlp } from './mlp'
import { serve } from './serve'
import { tinyOp } from './tiny-op'
import { attention, transformer } from './transformer'
import { vision } from './vision'

export const SUITES: Suite[] = [matmul, matvec, masking, elementwise, mlp, causalDense, transformer, attention, vision, tinyOp, eventLoop, serve, memory, io]
