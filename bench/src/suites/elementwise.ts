// Elementwise ops and softmax on a [rows, cols] float32 array, in Gelem/s (output elements per
// second). The op list is what ts/jnp.ts exports when the benchmark runs: an op that is missing
// (or whose native entry point this build of the addon lacks) is skipped with a note.
import { jnp as jnpAll } from 'flaxen'
import type { Tensor } from 'flaxen'
import { fill } from '../inputs'
import * as js from '../js-baselines'
import { FLAXEN, JS, NUMPY, ORT, THREAD_NOTE, numpyImpl, oneAndMax, ortImpl, syncImpl, type Case, type Ctx, type Impl, type Suite } from '../suite'

const SHAPE: [number, number] = [1024, 1024]
const QUICK_SHAPE: [number, number] = [256, 256]

interface Op {
  name: string
  arity: 1 | 2
  /** The onnxruntime operator, or why there is none. */
  ort: string | { none: string }
  /** numpy has no single function for it: the peer is an expression of several ufuncs. */
  composite?: boolean
  /** Inputs |x| + 0.5 (log). */
  positive?: boolean
}

const OPS: Op[] = [
  { name: 'add', arity: 2, ort: 'Add' },
  { name: 'multiply', arity: 2, ort: 'Mul' },
  { name: 'exp', arity: 1, ort: 'Exp' },
  { name: 'log', arity: 1, ort: 'Log', positive: true },
  { name: 'tanh', arity: 1, ort: 'Tanh' },
  { name: 'relu', arity: 1, ort: 'Relu' },
  { name: 'sigmoid', arity: 1, ort: 'Sigmoid', composite: true },
  { name: 'gelu', arity: 1, ort: { none: 'no Gelu before ONNX opset 20 (the graphs use opset 17)' }, composite: true },
  { name: 'softmax', arity: 1, ort: 'Softmax', composite: true },
  { name: 'sin', arity: 1, ort: 'Sin' },
  { name: 'cos', arity: 1, ort: 'Cos' },
  { name: 'log1p', arity: 1, ort: { none: 'ONNX has no Log1p' }, positive: true },
  { name: 'expm1', arity: 1, ort: { none: 'ONNX has no Expm1' } },
]

const jnp = jnpAll as unknown as Record<string, (...xs: Tensor[]) => Tensor>

/** The jnp function if it exists and runs in this build; else the reason to skip. */
function available(op: Op): string | null {
  const f = jnp[op.name]
  if (typeof f !== 'function') return `flaxen: jnp.${op.name} does not exist yet (skipped, not implemented here)`
  try {
    const x = jnpAll.ones([2, 2])
    f(...(op.arity === 2 ? [x, x] : [x])).dispose()
    x.dispose()
    return null
  } catch (e) {
    return `flaxen: jnp.${op.name} fails in this build: ${(e as Error).message.split('\n')[0]}`
  }
}

function opCase(ctx: Ctx, op: Op): Case {
  const [rows, cols] = ctx.quick ? QUICK_SHAPE : SHAPE
  const size = rows * cols
  const input = (seed: number) => {
    const x = fill(size, seed)
    if (op.positive) for (let i = 0; i < size; i++) x[i] = Math.abs(x[i]) + 0.5
    return x
  }
  const missing = available(op)
  const flaxen: Impl = missing
    ? { key: 'flaxen', skip: missing }
    : syncImpl('flaxen', ctx, () => {
        const f = jnp[op.name]
        const xs = [0, 1].slice(0, op.arity).map((s) => jnpAll.reshape(jnpAll.array(input(s)), [rows, cols]))
        return { fn: () => f(...xs).dispose(), dispose: () => xs.forEach((x) => x.dispose()) }
      })
  const names = op.arity === 2 ? ['a', 'b'] : ['x']
  const graph =
    typeof op.ort === 'string'
      ? { inputs: names.map((name) => ({ name, shape: [rows, cols] })), outputs: [{ name: 'y', shape: [rows, cols] }], nodes: [{ op: op.ort, inputs: names, outputs: ['y'] }] }
      : op.ort.none
  const jsImpl: Impl = syncImpl('js', ctx, () => {
    const [a, b] = [input(0), input(1)]
    const fn = op.arity === 2 ? () => js.binary[op.name](a, b) : op.name === 'softmax' ? () => js.softmax(a, cols) : () => js.unary[op.name](a)
    return { fn }
  })
  return {
    id: `${op.name}-${rows}x${cols}`,
    label: `${op.name} ${rows}×${cols}`,
    params: { op: op.name, rows, cols },
    toValue: (ns) => size / ns,
    impls: [
      flaxen,
      numpyImpl(ctx, op.arity === 2 ? { op: 'binary', name: op.name, rows, cols } : { op: 'unary', name: op.name, rows, cols }),
      ortImpl(ctx, graph, () => Object.fromEntries(names.map((n, i) => [n, input(i)]))),
      jsImpl,
    ],
    notes: op.composite ? [`numpy: ${op.name} is an expression of several ufuncs (numpy has no ${op.name})`] : [],
  }
}

export const elementwise: Suite = {
  name: 'elementwise',
  title: 'elementwise and softmax, float32',
  unit: 'Gelem/s',
  higherIsBetter: true,
  primary: 'flaxen',
  columns: [FLAXEN, NUMPY, ORT, JS],
  method: `output elements / median time per call; a new output per call. gelu is the tanh form (jax's default). numpy ufuncs are single-threaded. ${THREAD_NOTE}`,
  threads: oneAndMax,
  cases: (ctx) => OPS.map((op) => opCase(ctx, op)),
}
