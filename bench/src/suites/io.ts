// Weights files (issue 11): safetensors.loadFile of a 512 MiB float32 file (mapped: the time to
// a usable dict of tensors, and RSS growth before any value is read), and Flax msgpack restore
// from a path and serialisation, in GB/s. Files are written by the bench into a temp folder.
// Where a python3 with flax and safetensors is found, Python reads and writes the same files.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { random, safetensors, serialization, tree } from 'flaxen'
import type { Tensor } from 'flaxen'
import { detectFlax, measureFlax, type FlaxTask } from '../flax-peer'
import type { Case, Ctx, Impl, Suite } from '../suite'

/** A tree of float32 tensors totalling `mib` MiB (64 MiB layers, like a large model's). */
function weights(mib: number): Record<string, Tensor> {
  const layer = Math.min(mib, 64)
  const rows = (layer * 2 ** 20) / 4 / 1024
  const out: Record<string, Tensor> = {}
  for (let i = 0; i < mib / layer; i++) out[`layer_${i}`] = random.normal(random.key(i), [rows, 1024])
  return out
}

/**
 * Best of `n` wall times, and the first (a first call also pays for fresh memory). Between calls,
 * outside the timing, the last result is freed (`release`, then a GC: the worker runs with
 * --expose-gc) as a server replacing its weights would; otherwise every call maps new memory
 * until a GC happens to run.
 */
function best<T>(n: number, f: () => T, release?: (r: T) => void): { ms: number; firstMs: number; last: T } {
  let ms = Infinity
  let firstMs = 0
  let last: T | undefined
  for (let i = 0; i < n; i++) {
    if (last !== undefined) {
      release?.(last)
      last = undefined
      ;(globalThis as { gc?: () => void }).gc?.()
    }
    const t0 = process.hrtime.bigint()
    last = f()
    const t = Number(process.hrtime.bigint() - t0) / 1e6
    if (i === 0) firstMs = t
    ms = Math.min(ms, t)
  }
  return { ms, firstMs, last: last! }
}

const disposeAll = (t: unknown) => tree.leaves(t).forEach((l: Tensor) => l.dispose())

function cases(ctx: Ctx): Case[] {
  const mib = ctx.quick ? 16 : 512
  const dir = mkdtempSync(join(tmpdir(), 'flaxen-bench-io-'))
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }))
  const files = { st: join(dir, 'w.safetensors'), mp: join(dir, 'w.msgpack') }
  let written = false
  const write = () => {
    if (written) return
    const tree = weights(mib)
    safetensors.saveFile(tree, files.st)
    writeFileSync(files.mp, serialization.toBytes(tree))
    disposeAll(tree) // not left for a GC to free during the measurements
    written = true
  }
  const gbps = (ms: number) => (mib * 2 ** 20) / 1e9 / (ms / 1e3)
  const flax = detectFlax()
  const python = (task: FlaxTask): Impl =>
    flax.python === null
      ? { key: 'flax', skip: `Python: ${flax.reason}` }
      : { key: 'flax', foreign: true, run: async () => { write(); const ms = measureFlax(flax.python!, task); return { value: ms, extra: { GBps: gbps(ms) } } } }
  const one = (id: string, label: string, task: FlaxTask, run: () => { ms: number; extra: Record<string, number> }): Case => ({
    id,
    label,
    params: { mib },
    toValue: (x) => x,
    impls: [{ key: 'flaxen', run: async () => { write(); const r = run(); return { value: r.ms, extra: r.extra } } }, python(task)],
    notes: flax.python === null ? [] : [`Python: ${flax.version} (${flax.python}); safetensors.flax.load_file, msgpack_restore(f.read()), to_bytes`],
  })
  return [
    one(`safetensors-loadfile-${mib}mib`, `safetensors.loadFile ${mib} MiB f32`, { op: 'loadfile', path: files.st }, () => {
      const rss0 = process.memoryUsage().rss
      const first = best(1, () => safetensors.loadFile(files.st))
      const grownMB = (process.memoryUsage().rss - rss0) / 2 ** 20
      const { ms, last } = best(5, () => safetensors.loadFile(files.st))
      if (Object.keys(last).length !== mib / Math.min(mib, 64) || first.last.layer_0.shape[1] !== 1024) throw new Error('io: wrong tensors')
      return { ms, extra: { rssGrowthMB: grownMB, firstLoadMs: first.ms } }
    }),
    one(`msgpack-restore-${mib}mib`, `msgpackRestoreFile ${mib} MiB f32`, { op: 'restore', path: files.mp }, () => {
      const { ms, firstMs } = best(3, () => serialization.msgpackRestoreFile(files.mp), disposeAll)
      return { ms, extra: { GBps: gbps(ms), firstMs } }
    }),
    one(`msgpack-save-${mib}mib`, `toBytes ${mib} MiB f32`, { op: 'save', path: files.mp }, () => {
      const tree = safetensors.loadFile(files.st)
      const { ms, firstMs } = best(3, () => serialization.toBytes(tree))
      return { ms, extra: { GBps: gbps(ms), firstMs } }
    }),
  ]
}

export const io: Suite = {
  name: 'io',
  title: 'io: weights files (safetensors mapped load, Flax msgpack restore and save)',
  unit: 'ms',
  higherIsBetter: false,
  primary: 'flaxen',
  columns: [
    { key: 'flaxen', label: 'flaxen' },
    { key: 'flax', label: 'Python (Flax)' },
  ],
  method: 'best of 5 (loadFile) or 3 (msgpack) wall times in one process, page cache warm, for flaxen and for Python alike; GB/s = file bytes / time (in the targets); RSS growth of the first load, before any value is read.',
  threads: (configured) => [Math.max(...configured)],
  cases,
}
