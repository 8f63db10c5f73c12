// Removes outputs in dist/ whose TypeScript source no longer exists (a moved or deleted file),
// so a stale module is never shipped. Current outputs are left in place: tests running beside
// a rebuild keep loading them while tsc rewrites them.
import { existsSync, readdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'

const root = new URL('..', import.meta.url).pathname
const dist = join(root, 'dist')
const OUT = /\.(d\.ts|js\.map|js|mjs)$/
for (const f of existsSync(dist) ? readdirSync(dist, { recursive: true, encoding: 'utf8' }) : []) {
  const m = f.match(OUT)
  if (m === null || f === 'index.mjs') continue
  const src = join(root, 'ts', f.slice(0, -m[0].length) + '.ts')
  if (!existsSync(src)) rmSync(join(dist, f), { force: true })
}
// folders left empty (deepest first)
for (const d of (existsSync(dist) ? readdirSync(dist, { recursive: true, encoding: 'utf8' }) : []).reverse()) {
  const p = join(dist, d)
  try {
    if (readdirSync(p).length === 0) rmSync(p, { recursive: true })
  } catch {
    // a file, not a folder
  }
}
