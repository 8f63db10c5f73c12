// Memory: RSS growth over N synchronous 64×64 matmuls that are never disposed (no await, so the
// event loop never turns): native memory must be reclaimed by GC inside the loop (see
// docs/architecture.md, "Memory and GC"). The same measurement as
// __test__/fixtures/sync-loop-memory.cjs (which the safety test runs at 20k); here at 100k, in a
// fresh worker process so nothing else has touched the heap.
import { jnp } from 'flaxen'
import type { Tensor } from 'flaxen'
import type { Case, Ctx, Suite } from '../suite'

function loopCase(ctx: Ctx): Case {
  const n = ctx.quick ? 10_000 : 100_000
  return {
    id: `sync-matmul-64-x${n}`,
    label: `${n / 1000}k × matmul 64² (sync)`,
    params: { n, size: 64 },
    toValue: (mb) => mb,
    impls: [
      {
        key: 'flaxen',
        run: async () => {
          const a = jnp.ones([64, 64])
          const b = jnp.ones([64, 64])
          for (let i = 0; i < 200; i++) jnp.matmul(a, b) // warm up the allocator and the JIT
          const before = process.memoryUsage().rss
          const t0 = process.hrtime.bigint()
          let last: Tensor | undefined
          for (let i = 0; i < n; i++) last = jnp.matmul(a, b)
          const ns = Number(process.hrtime.bigint() - t0)
          const grownMB = (process.memoryUsage().rss - before) / 2 ** 20
          if (last!.data[0] !== 64) throw new Error(`memory: wrong matmul result ${last!.data[0]}`)
          return { value: grownMB, extra: { n, perOpNs: ns / n, peakRssMB: process.memoryUsage().rss / 2 ** 20 } }
        },
      },
    ],
  }
}

export const memory: Suite = {
  name: 'memory',
  title: 'memory: RSS growth, synchronous loop without dispose',
  unit: 'MB',
  higherIsBetter: false,
  primary: 'flaxen',
  columns: [{ key: 'flaxen', label: 'flaxen RSS growth' }],
  method: 'process RSS after the loop minus before it (after 200 warm-up calls), in MiB, in a fresh process.',
  threads: (configured) => [Math.max(...configured)],
  cases: (ctx) => [loopCase(ctx)],
}
