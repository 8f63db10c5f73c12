// Per-call overhead: jnp.add of two 16-element tensors with a new output, in µs per call, against
// numpy's ufunc call, an onnxruntime Add session run (awaited: its only API) and a JS loop. One
// thread (nothing here is big enough to go parallel). The GC row is how users write it; the
// dispose row frees each output at once. Beside them, in the same worker run: the Node-API floor
// (an addon call that returns one new external object and does nothing else, which every op
// returning a tensor pays at least) and the same add through `jit`, called synchronously (one
// plan run per call) and awaited through `f.async` (the round trip through the async pool).
import { pbkdf2 } from 'node:crypto'
import { jnp } from 'flaxen'
import { jit } from 'flaxen'
import { native } from '../native'
import type { Tensor } from 'flaxen'
import { fill } from '../inputs'
import * as js from '../js-baselines'
import { measureAsync } from '../timing'
import { FLAXEN, JS, NUMPY, ORT, numpyImpl, ortImpl, syncImpl, type Case, type Ctx, type Impl, type Suite } from '../suite'

const N = 16

function addCase(ctx: Ctx, dispose: boolean): Case {
  const flaxen = syncImpl('flaxen', ctx, () => {
    const a = jnp.array(fill(N))
    const b = jnp.array(fill(N, 1))
    return { fn: dispose ? () => jnp.add(a, b).dispose() : () => jnp.add(a, b), dispose: () => (a.dispose(), b.dispose()) }
  })
  const jitted = () => ({ a: jnp.array(fill(N)), b: jnp.array(fill(N, 1)), f: jit((a: Tensor, b: Tensor) => jnp.add(a, b)) })
  const jitSync = syncImpl('jit', ctx, () => {
    const { a, b, f } = jitted()
    return { fn: dispose ? () => f(a, b).dispose() : () => f(a, b), dispose: () => (a.dispose(), b.dispose()) }
  })
  const jitAsync: Impl = {
    key: 'jit-async',
    run: async () => {
      const { a, b, f } = jitted()
      try {
        return await measureAsync(dispose ? async () => (await f.async(a, b)).dispose() : () => f.async(a, b), ctx.timing)
      } finally {
        a.dispose()
        b.dispose()
      }
    },
  }
  if (dispose) {
    return { id: 'add16-dispose', label: `add ${N}, + dispose()`, params: { n: N }, toValue: (ns) => ns / 1e3, impls: [flaxen, jitSync, jitAsync] }
  }
  return {
    id: 'add16',
    label: `add ${N} (new output)`,
    params: { n: N },
    toValue: (ns) => ns / 1e3,
    impls: [
      flaxen,
      syncImpl('floor', ctx, () => ({ fn: () => native.floorExternal() })),
      jitSync,
      jitAsync,
      {
        // Node's own round trip through its libuv thread pool (the pool f.async work is queued
        // on), for the least work it can do: the floor of any async addon call.
        key: 'libuv-floor',
        run: () => measureAsync(() => new Promise((done) => pbkdf2('', '', 1, 4, 'sha1', done)), ctx.timing),
      },
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
  columns: [
    FLAXEN,
    { key: 'floor', label: 'N-API floor' },
    { key: 'jit', label: 'jit sync' },
    { key: 'jit-async', label: 'jit await f.async' },
    { key: 'libuv-floor', label: 'libuv pool floor' },
    NUMPY,
    { key: 'ort', label: `${ORT.label} (await run)` },
    JS,
  ],
  method:
    'median time per call, 1 thread. flaxen outputs (jnp.add and both jit columns) are reclaimed by GC (first row) or disposed (second row). N-API floor = an addon call returning one new external object (floorExternal), nothing else. jit sync = f(a, b) with f = jit((a, b) => jnp.add(a, b)); jit await f.async = one awaited f.async(a, b) at a time (round trip through the async pool). libuv pool floor = one awaited crypto.pbkdf2 of 1 iteration: the round trip of Node itself through the thread pool that f.async uses.',
  threads: (configured) => [Math.min(...configured)],
  cases: (ctx) => [addCase(ctx, false), addCase(ctx, true)],
}
