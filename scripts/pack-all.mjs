// Writes ./pack/flaxen-<version>.tgz (loader, types, dist/) and the platform package tarball
// holding the built binary, ./pack/flaxen-<platform>-<version>.tgz. Installing both into an empty
// folder needs no Rust toolchain.
import { execFileSync } from 'node:child_process'
import { copyFileSync, mkdirSync, readdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'

const root = new URL('..', import.meta.url).pathname
const out = join(root, 'pack')
rmSync(out, { recursive: true, force: true })
mkdirSync(out)

const npm = (args, cwd) => execFileSync('npm', [...args, '--pack-destination', out, '--ignore-scripts'], { cwd, stdio: ['ignore', 'pipe', 'inherit'] })

for (const binary of readdirSync(root).filter((f) => /^flaxen\..+\.node$/.test(f))) {
  const triple = binary.slice('flaxen.'.length, -'.node'.length)
  const dir = join(root, 'npm', triple)
  copyFileSync(join(root, binary), join(dir, binary))
  npm(['pack'], dir)
  rmSync(join(dir, binary))
}
npm(['pack'], root)
console.log(readdirSync(out).map((f) => `pack/${f}`).join('\n'))
