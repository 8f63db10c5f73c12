// M = 1 matrix-vector products, 1×k @ k×n: bound by reading the weights, so the figure is GB/s of
// weights read (4kn bytes / time). numpy gets a 1-D x so that it calls sgemv, OpenBLAS's best path.
// The bfloat16-weight rows read 2kn bytes (the matvec widens them in registers); their rows/s
// against the float32 row of the same size is `2 × GB/s(bf16) / GB/s(f32)` (target ≥ 1.7 once
// the weights outgrow the last-level cache, 4096² and up).
import { jnp } from 'flaxen'
import { fill } from '../inputs'
import * as js from '../js-baselines'
import { FLAXEN, JS, OPENBLAS, ORT, THREAD_NOTE, numpyImpl, oneAndMax, ortImpl, syncImpl, type Case, type Ctx, type Suite } from '../suite'

const SIZES = [1024, 4096]
const QUICK_SIZES = [1024]

function matvecCase(ctx: Ctx, k: number): Case {
  const n = k
  const x = () => fill(k)
  const w = () => fill(k * n, 1)
  return {
    id: `matvec-${k}`,
    label: `1×${k} @ ${k}²`,
    params: { m: 1, k, n },
    toValue: (ns) => (4 * k * n) / ns,
    impls: [
      syncImpl('flaxen', ctx, () => {
        const tx = jnp.reshape(jnp.array(x()), [1, k])
        const tw = jnp.reshape(jnp.array(w()), [k, n])
        return { fn: () => jnp.matmul(tx, tw).dispose(), dispose: () => (tx.dispose(), tw.dispose()) }
      }),
      numpyImpl(ctx, { op: 'matvec', k, n }),
      ortImpl(
        ctx,
        { inputs: [{ name: 'x', shape: [1, k] }, { name: 'w', shape: [k, n] }], outputs: [{ name: 'y', shape: [1, n] }], nodes: [{ op: 'MatMul', inputs: ['x', 'w'], outputs: ['y'] }] },
        () => ({ x: x(), w: w() }),
      ),
      syncImpl('js', ctx, () => {
        const [xs, ws] = [x(), w()]
        return { fn: () => js.matmul(xs, ws, 1, k, n) }
      }),
    ],
  }
}

/** float32 x times bfloat16 weights: the float32 product of the widened weights, bit for bit. */
function matvecHalfCase(ctx: Ctx, k: number): Case {
  const n = k
  const none = (who: string) => ({ key: who === 'numpy' ? 'numpy' : who, skip: `${who}: no bfloat16 matrix product to compare with` })
  return {
    id: `matvec-bf16-${k}`,
    label: `1×${k} @ ${k}² bf16 weights`,
    params: { m: 1, k, n, weights: 'bfloat16' },
    toValue: (ns) => (2 * k * n) / ns,
    impls: [
      syncImpl('flaxen', ctx, () => {
        const tx = jnp.reshape(jnp.array(fill(k)), [1, k])
        const tw = jnp.reshape(jnp.array(fill(k * n, 1), 'bfloat16'), [k, n])
        return { fn: () => jnp.matmul(tx, tw).dispose(), dispose: () => (tx.dispose(), tw.dispose()) }
      }),
      none('numpy'),
      none('ort'),
      none('js'),
    ],
    notes: [`bfloat16 weights: GB/s of the 2k² bytes read; rows/s relative to matvec-${k} (float32 weights) = 2 × this / that.`],
  }
}

export const matvec: Suite = {
  name: 'matvec',
  title: 'matrix-vector f32 (and bf16 weights), 1×k @ k×k',
  unit: 'GB/s',
  higherIsBetter: true,
  primary: 'flaxen',
  columns: [FLAXEN, OPENBLAS, ORT, JS],
  method: `GB/s of weights read: 4k² bytes (2k² for bf16 weights) / median time per call. numpy: 1-D x @ W (sgemv). ${THREAD_NOTE}`,
  threads: oneAndMax,
  cases: (ctx) => (ctx.quick ? QUICK_SIZES : SIZES).flatMap((k) => [matvecCase(ctx, k), matvecHalfCase(ctx, k)]),
}
