// The chart: matmul GFLOP/s against size, one line per implementation and thread count (solid:
// the most threads, dashed: one thread), log2 size axis, linear GFLOP/s axis from 0, legend on the
// right (the JS baseline, one thread in every run, is drawn once). Plain SVG written by hand: no dependency, and it renders on GitHub.
import type { BenchReport, SuiteResult } from './types'

const COLORS: Record<string, string> = { flaxen: '#d1495b', numpy: '#00798c', ort: '#edae49', js: '#66a182' }
const FALLBACK = ['#30638e', '#8d6a9f', '#3d3b30']

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')

/** Round tick steps (1, 2, 5 × 10^k) giving about `count` ticks up to `max`. */
function ticks(max: number, count = 6): number[] {
  const raw = max / count
  const mag = 10 ** Math.floor(Math.log10(raw))
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw)!
  const out: number[] = []
  for (let v = 0; v <= max + 1e-9; v += step) out.push(Number(v.toPrecision(12)))
  return out
}

export function matmulSvg(report: BenchReport): string {
  const suite = report.suites.find((s) => s.name === 'matmul') as SuiteResult | undefined
  if (!suite) throw new Error('the SVG chart needs the matmul suite')
  const [W, H] = [900, 460]
  const m = { left: 64, right: 250, top: 48, bottom: 56 }
  const [pw, ph] = [W - m.left - m.right, H - m.top - m.bottom]
  const sizes = [...new Set(suite.rows.map((r) => Number(r.params.n)))].sort((a, b) => a - b)
  const maxThreads = Math.max(...suite.rows.map((r) => r.threads))
  const series: { name: string; color: string; dashed: boolean; points: [number, number][] }[] = []
  let fallback = 0
  for (const col of suite.columns) {
    const color = COLORS[col.key] ?? FALLBACK[fallback++ % FALLBACK.length]
    // The JS baseline is one thread in every run: drawn once, from the 1-thread run.
    const counts = [...new Set(suite.rows.map((r) => r.threads))].sort((a, b) => b - a)
    for (const t of col.key === 'js' ? counts.slice(-1) : counts) {
      const points = suite.rows
        .filter((r) => r.threads === t && r.results[col.key])
        .map((r) => [Number(r.params.n), r.results[col.key].value] as [number, number])
        .sort((a, b) => a[0] - b[0])
      if (points.length) series.push({ name: `${col.label}, ${t} thread${t > 1 ? 's' : ''}`, color, dashed: t !== maxThreads && col.key !== 'js', points })
    }
  }
  const yMax = Math.max(1, ...series.flatMap((s) => s.points.map((p) => p[1]))) * 1.08
  const lo = Math.log2(sizes[0] ?? 1)
  const hi = Math.log2(sizes[sizes.length - 1] ?? 2)
  const x = (n: number) => m.left + (hi === lo ? pw / 2 : ((Math.log2(n) - lo) / (hi - lo)) * pw)
  const y = (v: number) => m.top + ph - (v / yMax) * ph
  const out: string[] = []
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="system-ui, sans-serif" font-size="12">`)
  out.push(`<rect width="${W}" height="${H}" fill="#fff"/>`)
  out.push(`<text x="${m.left}" y="24" font-size="15" font-weight="600">${esc(`matmul f32: GFLOP/s vs size (n×n @ n×n)`)}</text>`)
  out.push(`<text x="${m.left}" y="40" fill="#555">${esc(`${report.meta.cpu}, ${report.meta.date.slice(0, 10)}${report.meta.quick ? ', --quick' : ''}`)}</text>`)
  for (const v of ticks(yMax / 1.08)) {
    out.push(`<line x1="${m.left}" x2="${m.left + pw}" y1="${y(v)}" y2="${y(v)}" stroke="#e5e5e5"/>`)
    out.push(`<text x="${m.left - 8}" y="${y(v) + 4}" text-anchor="end">${v}</text>`)
  }
  for (const n of sizes) {
    out.push(`<line x1="${x(n)}" x2="${x(n)}" y1="${m.top + ph}" y2="${m.top + ph + 5}" stroke="#333"/>`)
    out.push(`<text x="${x(n)}" y="${m.top + ph + 19}" text-anchor="middle">${n}</text>`)
  }
  out.push(`<line x1="${m.left}" x2="${m.left + pw}" y1="${m.top + ph}" y2="${m.top + ph}" stroke="#333"/>`)
  out.push(`<line x1="${m.left}" x2="${m.left}" y1="${m.top}" y2="${m.top + ph}" stroke="#333"/>`)
  out.push(`<text x="${m.left + pw / 2}" y="${H - 14}" text-anchor="middle">n (log scale)</text>`)
  out.push(`<text transform="translate(18 ${m.top + ph / 2}) rotate(-90)" text-anchor="middle">GFLOP/s</text>`)
  for (const s of series) {
    const d = s.points.map(([n, v]) => `${x(n).toFixed(1)},${y(v).toFixed(1)}`).join(' ')
    out.push(`<polyline fill="none" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''} points="${d}"/>`)
    for (const [n, v] of s.points) out.push(`<circle cx="${x(n).toFixed(1)}" cy="${y(v).toFixed(1)}" r="3" fill="${s.color}"/>`)
  }
  series.forEach((s, i) => {
    const ly = m.top + 8 + i * 20
    const lx = m.left + pw + 16
    out.push(`<line x1="${lx}" x2="${lx + 26}" y1="${ly}" y2="${ly}" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`)
    out.push(`<text x="${lx + 32}" y="${ly + 4}">${esc(s.name)}</text>`)
  })
  out.push('</svg>')
  return out.join('\n') + '\n'
}
