// M = 1 matrix-vector products, 1×k @ k×n: bound by reading the weights, so the figure is GB/s of
// weights read (4kn bytes / time). numpy gets a 1-D x so that it calls sgemv, OpenBLAS's best path.
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

export const matvec: Suite = {
  name: 'matvec',
  title: 'matrix-vector f32, 1×k @ k×k',
  unit: 'GB/s',
  higherIsBetter: true,
  primary: 'flaxen',
  columns: [FLAXEN, OPENBLAS, ORT, JS],
  method: `GB/s of weights read: 4k² bytes / median time per call. numpy: 1-D x @ W (sgemv). ${THREAD_NOTE}`,
  threads: oneAndMax,
  cases: (ctx) => (ctx.quick ? QUICK_SIZES : SIZES).map((k) => matvecCase(ctx, k)),
}
