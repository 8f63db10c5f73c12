// `flaxen inspect FILE`: what a weights file holds (msgpack or safetensors, told apart by its
// bytes) without loading its values: every array's path, shape, dtype and bytes, and totals.
import { closeSync, openSync, readSync } from 'node:fs'
import { codedTypeError } from './coded-error'
import { native } from './native'
import { ArrayInfo, msgpackDescribe } from './serialization/msgpack'
import { isPlainObject } from './tree'

export interface InspectEntry {
  path: string
  shape: number[]
  dtype: string
  bytes: number
}

export interface InspectReport {
  format: 'safetensors' | 'msgpack'
  entries: InspectEntry[]
  /** Non-array leaves of a msgpack tree (step counters, strings...), by path. */
  values: Record<string, unknown>
  metadata: Record<string, string> | null
  totals: { arrays: number; parameters: number; bytes: number; bytesByDtype: Record<string, number> }
}

const ITEMSIZE: Record<string, number> = { bool: 1, int8: 1, uint8: 1, int16: 2, uint16: 2, float16: 2, bfloat16: 2, int32: 4, uint32: 4, float32: 4, int64: 8, uint64: 8, float64: 8, complex64: 8, complex128: 16 }

function isSafetensors(path: string): boolean {
  const fd = openSync(path, 'r')
  try {
    const head = Buffer.alloc(9)
    const n = readSync(fd, head, 0, 9, 0)
    return n === 9 && head.readBigUInt64LE(0) > 0n && head[8] === 0x7b // '{'
  } finally {
    closeSync(fd)
  }
}

export function inspectFile(path: string): InspectReport {
  if (typeof path !== 'string') throw codedTypeError('inspect: the file must be a path')
  const entries: InspectEntry[] = []
  const values: Record<string, unknown> = {}
  let metadata: Record<string, string> | null = null
  let format: InspectReport['format']
  if (isSafetensors(path)) {
    format = 'safetensors'
    const h = JSON.parse(native.safetensorsHeader(path)) as { tensors: [string, string, number[], number][]; metadata: Record<string, string> | null }
    for (const [name, dtype, shape, bytes] of h.tensors) entries.push({ path: name, shape, dtype, bytes })
    metadata = h.metadata
  } else {
    format = 'msgpack'
    const walk = (x: unknown, p: string) => {
      const at = (k: string | number) => (p === '' ? String(k) : `${p}/${k}`)
      if (x instanceof ArrayInfo) {
        const n = x.shape.reduce((s, d) => s * d, 1)
        entries.push({ path: p, shape: [...x.shape], dtype: x.dtype, bytes: n * (ITEMSIZE[x.dtype] ?? 1) })
      } else if (Array.isArray(x)) x.forEach((v, i) => walk(v, at(i)))
      else if (isPlainObject(x)) for (const [k, v] of Object.entries(x)) walk(v, at(k))
      else values[p] = x
    }
    walk(msgpackDescribe(path), '')
  }
  const bytesByDtype: Record<string, number> = {}
  for (const e of entries) bytesByDtype[e.dtype] = (bytesByDtype[e.dtype] ?? 0) + e.bytes
  const parameters = entries.reduce((s, e) => s + e.shape.reduce((a, d) => a * d, 1), 0)
  return { format, entries, values, metadata, totals: { arrays: entries.length, parameters, bytes: entries.reduce((s, e) => s + e.bytes, 0), bytesByDtype } }
}

const human = (n: number) => (n < 1024 ? `${n} B` : n < 2 ** 20 ? `${(n / 1024).toFixed(1)} KiB` : n < 2 ** 30 ? `${(n / 2 ** 20).toFixed(1)} MiB` : `${(n / 2 ** 30).toFixed(2)} GiB`)

/** The report as an indented tree (paths split on '/' for msgpack, '.' for safetensors). */
export function formatReport(r: InspectReport): string {
  const sep = r.format === 'safetensors' ? '.' : '/'
  const lines = [`${r.format}: ${r.totals.arrays} arrays, ${r.totals.parameters.toLocaleString('en-US')} parameters, ${human(r.totals.bytes)}`]
  let prev: string[] = []
  for (const e of r.entries) {
    const parts = e.path.split(sep)
    let same = 0
    while (same < parts.length - 1 && same < prev.length - 1 && parts[same] === prev[same]) same++
    for (let i = same; i < parts.length - 1; i++) lines.push(`${'  '.repeat(i + 1)}${parts[i]}`)
    lines.push(`${'  '.repeat(parts.length)}${parts.at(-1)}  ${e.dtype}[${e.shape.join(', ')}]  ${human(e.bytes)}`)
    prev = parts
  }
  for (const [p, v] of Object.entries(r.values)) lines.push(`  ${p} = ${typeof v === 'bigint' ? `${v}` : JSON.stringify(v)}`)
  lines.push('bytes by dtype: ' + Object.entries(r.totals.bytesByDtype).map(([d, b]) => `${d} ${human(b)}`).join(', '))
  if (r.metadata !== null) lines.push('metadata: ' + JSON.stringify(r.metadata))
  return lines.join('\n')
}
