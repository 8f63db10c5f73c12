// matmul f32, square n×n @ n×n, in GFLOP/s (2n³ / time) over a range of sizes, at 1 thread and
// at the machine's thread count. Both operands are runtime inputs everywhere (no constant-weight
// prepacking in onnxruntime), and every implementation allocates its output, as jnp.matmul does.
import { jnp } from 'flaxen'
import { fill } from '../inputs'
import * as js from '../js-baselines'
import { FLAXEN, JS, OPENBLAS, ORT, THREAD_NOTE, numpyImpl, oneAndMax, ortImpl, syncImpl, type Case, type Ctx, type Suite } from '../suite'

const SIZES = [64, 128, 256, 512, 1024, 2048]
const QUICK_SIZES = [64, 256]
/** Above this the JS baseline takes seconds per call; it is skipped with a note. */
const JS_MAX = 1024

function matmulCase(ctx: Ctx, n: number): Case {
  const a = () => fill(n * n)
  const b = () => fill(n * n, 1)
  return {
    id: `matmul-${n}`,
    label: `${n}²`,
    params: { m: n, k: n, n },
    toValue: (ns) => (2 * n * n * n) / ns,
    impls: [
      syncImpl('flaxen', ctx, () => {
        const ta = jnp.reshape(jnp.array(a()), [n, n])
        const tb = jnp.reshape(jnp.array(b()), [n, n])
        return { fn: () => jnp.matmul(ta, tb).dispose(), dispose: () => (ta.dispose(), tb.dispose()) }
      }),
      numpyImpl(ctx, { op: 'matmul', m: n, k: n, n }),
      ortImpl(
        ctx,
        { inputs: [{ name: 'a', shape: [n, n] }, { name: 'b', shape: [n, n] }], outputs: [{ name: 'y', shape: [n, n] }], nodes: [{ op: 'MatMul', inputs: ['a', 'b'], outputs: ['y'] }] },
        () => ({ a: a(), b: b() }),
      ),
      n > JS_MAX
        ? { key: 'js', skip: `JS: skipped above ${JS_MAX}² (seconds per call)` }
        : syncImpl('js', ctx, () => {
            const [x, y] = [a(), b()]
            return { fn: () => js.matmul(x, y, n, n, n) }
          }),
    ],
  }
}

export const matmul: Suite = {
  name: 'matmul',
  title: 'matmul f32, n×n @ n×n',
  unit: 'GFLOP/s',
  higherIsBetter: true,
  primary: 'flaxen',
  columns: [FLAXEN, OPENBLAS, ORT, JS],
  method: `2n³ flops / median time per call; outputs allocated per call (flaxen's disposed at once). ${THREAD_NOTE}`,
  threads: oneAndMax,
  cases: (ctx) => (ctx.quick ? QUICK_SIZES : SIZES).map((n) => matmulCase(ctx, n)),
}
