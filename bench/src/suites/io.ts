// Weights files (issue 11): safetensors.loadFile of a 512 MiB float32 file (mapped: the time to
// a usable dict of tensors, and RSS growth before any value is read), and Flax msgpack restore
// from a path and serialisation, in GB/s. Files are written by the bench into a temp folder.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { random, safetensors, serialization } from 'flaxen'
import type { Tensor } from 'flaxen'
import type { Case, Ctx, Suite } from '../suite'

/** A tree of float32 tensors totalling `mib` MiB (64 MiB layers, like a large model's). */
function weights(mib: number): Record<string, Tensor> {
  const layer = Math.min(mib, 64)
  const rows = (layer * 2 ** 20) / 4 / 1024
  const out: Record<string, Tensor> = {}
  for (let i = 0; i < mib / layer; i++) out[`layer_${i}`] = random.normal(random.key(i), [rows, 1024])
  return out
}

function best<T>(n: number, f: () => T): { ms: number; last: T } {
  let ms = Infinity
  let last!: T
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint()
    last = f()
    ms = Math.min(ms, Number(process.hrtime.bigint() - t0) / 1e6)
  }
  return { ms, last }
}

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
    written = true
  }
  const gbps = (ms: number) => (mib * 2 ** 20) / 1e9 / (ms / 1e3)
  const one = (id: string, label: string, run: () => { ms: number; extra: Record<string, number> }): Case => ({
    id,
    label,
    params: { mib },
    toValue: (x) => x,
    impls: [{ key: 'flaxen', run: async () => { write(); const r = run(); return { value: r.ms, extra: r.extra } } }],
  })
  return [
    one(`safetensors-loadfile-${mib}mib`, `safetensors.loadFile ${mib} MiB f32`, () => {
      const rss0 = process.memoryUsage().rss
      const first = best(1, () => safetensors.loadFile(files.st))
      const grownMB = (process.memoryUsage().rss - rss0) / 2 ** 20
      const { ms, last } = best(5, () => safetensors.loadFile(files.st))
      if (Object.keys(last).length !== mib / Math.min(mib, 64) || first.last.layer_0.shape[1] !== 1024) throw new Error('io: wrong tensors')
      return { ms, extra: { rssGrowthMB: grownMB, firstLoadMs: first.ms } }
    }),
    one(`msgpack-restore-${mib}mib`, `msgpackRestoreFile ${mib} MiB f32`, () => {
      const { ms } = best(3, () => serialization.msgpackRestoreFile(files.mp))
      return { ms, extra: { GBps: gbps(ms) } }
    }),
    one(`msgpack-save-${mib}mib`, `toBytes ${mib} MiB f32`, () => {
      const tree = safetensors.loadFile(files.st)
      const { ms } = best(3, () => serialization.toBytes(tree))
      return { ms, extra: { GBps: gbps(ms) } }
    }),
  ]
}

export const io: Suite = {
  name: 'io',
  title: 'io: weights files (safetensors mapped load, Flax msgpack restore and save)',
  unit: 'ms',
  higherIsBetter: false,
  primary: 'flaxen',
  columns: [{ key: 'flaxen', label: 'flaxen' }],
  method: 'best of 5 (loadFile) or 3 (msgpack) wall times in one process, page cache warm; GB/s = file bytes / time; RSS growth of the first load, before any value is read.',
  threads: (configured) => [Math.max(...configured)],
  cases,
}
