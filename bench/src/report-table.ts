// The text report: a header describing the machine and the peers, one table per suite with the
// ratio to the primary column beside every figure, the notes (skips, composites) and the targets.
import type { BenchReport, PeerInfo, Row, SuiteResult, Target } from './types'

/** Three significant digits, without exponent notation for the usual ranges. */
export function fmt(v: number): string {
  const a = Math.abs(v)
  if (!Number.isFinite(v)) return String(v)
  if (a >= 100) return v.toFixed(0)
  if (a >= 10) return v.toFixed(1)
  if (a >= 1) return v.toFixed(2)
  if (a >= 0.01) return v.toFixed(3)
  return v.toPrecision(3)
}

export const fmtRatio = (r: number): string => `${r >= 100 ? r.toFixed(0) : r.toFixed(2)}×`

function grid(head: string[], body: string[][], rightFrom: number): string[] {
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => r[i].length)))
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i >= rightFrom ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd()
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)]
}

/** Identical notes are printed once, with the rows they concern unless that is every row. */
function notes(s: SuiteResult): string[] {
  const where = new Map<string, string[]>()
  for (const r of s.rows) for (const n of r.notes) where.set(n, [...(where.get(n) ?? []), `${r.label} ${r.threads}T`])
  const out = [...s.notes]
  for (const [n, rows] of where) out.push(rows.length === s.rows.length ? n : `${n} [${rows.join('; ')}]`)
  return out
}

export function suiteTable(s: SuiteResult): string {
  const primary = s.columns.find((c) => c.key === s.primary)!
  const others = s.columns.filter((c) => c.key !== s.primary)
  const better = s.higherIsBetter ? 'higher is better' : 'lower is better'
  const title = `${s.title} — ${s.unit}, ${better}${others.length ? `; ×: ${primary.label} ÷ column` : ''}`
  const head = ['case', 'thr', primary.label, ...others.map((c) => c.label)]
  const cell = (r: Row, key: string) => {
    const m = r.results[key]
    if (!m) return '—'
    return key === s.primary || r.ratios[key] === undefined ? fmt(m.value) : `${fmt(m.value)} (${fmtRatio(r.ratios[key])})`
  }
  const rows = [...s.rows].sort((a, b) => a.threads - b.threads)
  const body = rows.map((r) => [r.label, String(r.threads), cell(r, s.primary), ...others.map((c) => cell(r, c.key))])
  const lines = [title, ...grid(head, body, 1).map((l) => '  ' + l)]
  lines.push(`  method: ${s.method}`)
  for (const n of notes(s)) lines.push(`  note: ${n}`)
  return lines.join('\n')
}

function peer(name: string, p: PeerInfo): string {
  if (!p.available) return `  ${name}: absent (${p.reason})`
  const blas = p.blas ? `; BLAS ${p.blas}${p.blasCore ? `, kernels ${p.blasCore}` : ''}` : ''
  return `  ${name} ${p.version}${p.path ? ` [${p.path}]` : ''}${blas}`
}

export function targetsTable(targets: Target[]): string {
  const mark = (t: Target) => (t.pass === null ? 'n/a' : t.pass ? 'ok' : 'MISS')
  const body = targets.map((t) => [mark(t), t.label, t.measured === null ? '—' : fmt(t.measured), t.goal])
  return ['Targets (issues 5, 9, 11, 12, 13)', ...grid(['', 'target', 'measured', 'goal'], body, 2).map((l) => '  ' + l)].join('\n')
}

export function textReport(r: BenchReport): string {
  const m = r.meta
  const t = m.timing
  const header = [
    `flaxen bench — ${m.date}${m.quick ? ' (--quick: fewer sizes, short timings; a smoke test, not a measurement)' : ''}`,
    `  machine: ${m.cpu}, ${m.cores} cores; node ${m.node}; thread counts ${m.threads.join(', ')} (T = threads)`,
    peer('numpy', m.peers.numpy),
    peer('onnxruntime-node', m.peers.onnxruntime),
    '  JS: always (plain loops, one thread)',
    `  timing: median of ≥${t.minBatches} batches over ≥${t.minTimeMs} ms after ≥${t.warmupMs} ms warm-up (≥3 batches when one call takes long)${m.rounds > 1 ? `, best of ${m.rounds} interleaved rounds` : ''}; every implementation measured in the same worker run, same shapes and inputs, same thread count`,
  ].join('\n')
  return [header, ...r.suites.map(suiteTable), targetsTable(r.targets)].join('\n\n') + '\n'
}
