// Masking: jnp.triu of an n×n float32 matrix, in GB/s of the array (4n² bytes / time; a copy
// reads and writes that many bytes each). Beside the triu of each library, two bandwidth
// baselines made in JS with the same array: `dst.set(src)` into an existing array (memcpy speed:
// the ceiling for an op that reads and writes every byte) and `new Float32Array(n); .set(src)`
// (what any op producing a fresh array at least pays: allocation, first touch of the pages, copy).
// flaxen defers float32 triu until its result is used, so each call ends in blockUntilReady():
// what is timed is the masking kernel itself.
import { jnp } from 'flaxen'
import { fill } from '../inputs'
import * as js from '../js-baselines'
import { FLAXEN, JS, NUMPY, ORT, numpyImpl, oneAndMax, ortImpl, syncImpl, type Case, type Ctx, type Suite } from '../suite'

const SIZES = [1024, 4096]
const QUICK_SIZES = [1024]

function triuCase(ctx: Ctx, n: number): Case {
  const src = () => fill(n * n)
  return {
    id: `triu-${n}`,
    label: `triu ${n}²`,
    params: { rows: n, cols: n },
    toValue: (ns) => (4 * n * n) / ns,
    impls: [
      syncImpl('flaxen', ctx, () => {
        const x = jnp.reshape(jnp.array(src()), [n, n])
        return { fn: () => jnp.triu(x).blockUntilReady().dispose(), dispose: () => x.dispose() }
      }),
      // Outputs left to the GC, as the JS alloc+copy baseline leaves its arrays: whether freed
      // memory is reused or returned to the OS (and faulted in again) differs between the two.
      syncImpl('flaxenGc', ctx, () => {
        const x = jnp.reshape(jnp.array(src()), [n, n])
        return { fn: () => jnp.triu(x).blockUntilReady(), dispose: () => x.dispose() }
      }),
      numpyImpl(ctx, { op: 'triu', rows: n, cols: n }),
      ortImpl(
        ctx,
        { inputs: [{ name: 'x', shape: [n, n] }], outputs: [{ name: 'y', shape: [n, n] }], nodes: [{ op: 'Trilu', inputs: ['x'], outputs: ['y'], ints: { upper: 1 } }] },
        () => ({ x: src() }),
      ),
      syncImpl('js', ctx, () => {
        const x = src()
        return { fn: () => js.triu(x, n, n) }
      }),
      syncImpl('memcpy', ctx, () => {
        const [x, dst] = [src(), new Float32Array(n * n)]
        return { fn: () => dst.set(x) }
      }),
      syncImpl('alloc', ctx, () => {
        const x = src()
        return {
          fn: () => {
            const out = new Float32Array(x.length)
            out.set(x)
            return out
          },
        }
      }),
      numpyImpl(ctx, { op: 'copyto', rows: n, cols: n }, 'npcopy'),
    ],
  }
}

export const masking: Suite = {
  name: 'masking',
  title: 'masking: jnp.triu vs copy bandwidth',
  unit: 'GB/s',
  higherIsBetter: true,
  primary: 'flaxen',
  columns: [
    FLAXEN,
    { key: 'flaxenGc', label: 'flaxen, GC frees' },
    { key: 'numpy', label: 'np.triu' },
    { key: 'ort', label: `${ORT.label} Trilu` },
    { key: 'js', label: `${JS.label} triu` },
    { key: 'memcpy', label: 'JS memcpy' },
    { key: 'alloc', label: 'JS alloc+copy' },
    { key: 'npcopy', label: `${NUMPY.label} copyto` },
  ],
  method:
    'GB/s = 4n² bytes (the array) / median time per call. flaxen disposes each output at once (as jnp.tidy does); ' +
    '"flaxen, GC frees" leaves them to the GC. JS memcpy = dst.set(src) into an existing array; ' +
    'JS alloc+copy = new Float32Array(n²).set(src); numpy copyto = np.copyto(dst, src). The copies are single-threaded.',
  threads: oneAndMax,
  cases: (ctx) => (ctx.quick ? QUICK_SIZES : SIZES).map((n) => triuCase(ctx, n)),
}
