// Per-call overhead: jnp.add of two 16-element tensors with a new output, in µs per call, against
// numpy's ufunc call, an onnxruntime Add session run (awaited: its only API) and a JS loop. One
// thread (nothing here is big enough to go parallel). The GC row is how users write it; the
// dispose row frees each output at once.
import * as jnp from '../../jnp'
import { fill } from '../inputs'
import * as js from '../js-baselines'
import { FLAXEN, JS, NUMPY, ORT, numpyImpl, ortImpl, syncImpl, type Case, type Ctx, type Suite } from '../suite'

const N = 16

function addCase(ctx: Ctx, dispose: boolean): Case {
  const flaxen = syncImpl('flaxen', ctx, () => {
    const a = jnp.array(fill(N))
    const b = jnp.array(fill(N, 1))
    return { fn: dispose ? () => jnp.add(a, b).dispose() : () => jnp.add(a, b), dispose: () => (a.dispose(), b.dispose()) }
  })
  if (dispose) {
    return { id: 'add16-dispose', label: `add ${N}, + dispose()`, params: { n: N }, toValue: (ns) => ns / 1e3, impls: [flaxen] }
  }
  return {
    id: 'add16',
    label: `add ${N} (new output)`,
    params: { n: N },
    toValue: (ns) => ns / 1e3,
    impls: [
      flaxen,
      numpyImpl(ctx, { op: 'binary', name: 'add', rows: 1, cols: N }),
      ortImpl(
        ctx,
        { inputs: [{ name: 'a', shape: [N] }, { name: 'b', shape: [N] }], outputs: [{ name: 'y', shape: [N] }], nodes: [{ op: 'Add', inputs: ['a', 'b'], outputs: ['y'] }] },
        () => ({ a: fill(N), b: fill(N, 1) }),
      ),
      syncImpl('js', ctx, () => {
        const [a, b] = [fill(N), fill(N, 1)]
        return { fn: () => js.binary.add(a, b) }
      }),
    ],
  }
}

export const tinyOp: Suite = {
  name: 'tiny-op',
  title: 'tiny-op overhead: add of 16 elements',
  unit: 'µs',
  higherIsBetter: false,
  primary: 'flaxen',
  columns: [FLAXEN, NUMPY, { key: 'ort', label: `${ORT.label} (await run)` }, JS],
  method: 'median time per call, 1 thread. flaxen outputs are reclaimed by GC (first row) or disposed (second row).',
  threads: (configured) => [Math.min(...configured)],
  cases: (ctx) => [addCase(ctx, false), addCase(ctx, true)],
}
