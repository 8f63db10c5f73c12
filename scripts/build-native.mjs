// `npm run build:native`: the addon, optimised, as `flaxen.<platform>.node` beside index.js.
// On a Linux x64 glibc host it links against a glibc 2.17 sysroot (napi's --use-napi-cross), so
// the binary the tests load is the one that ships, and it loads on glibc 2.17 and later (CentOS
// 7, Amazon Linux 2, Ubuntu 18.04+, Debian 10+), not only on systems as new as the build
// machine. The toolchain comes from npm once, into ~/.napi-rs. Pins in package.json:
// @napi-rs/cross-toolchain 1.0.0 (later versions ask for a target package npm does not have) and
// its @napi-rs/lzma 1.4.5 (1.5's native part needs Node >= 22.20, so npm on Node 20 skips it).
// FLAXEN_HOST_TOOLCHAIN=1 links with the host's compiler instead (the result then needs the
// host's glibc or newer).
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'

const root = new URL('..', import.meta.url).pathname

function glibcHost() {
  if (process.platform !== 'linux' || process.arch !== 'x64') return false
  try {
    return !readFileSync('/usr/bin/ldd', 'utf8').includes('musl')
  } catch {
    return true
  }
}

const cross = glibcHost() && process.env.FLAXEN_HOST_TOOLCHAIN !== '1'
const args = ['napi', 'build', '--platform', '--release']
if (cross) args.push('--use-napi-cross', '--target', 'x86_64-unknown-linux-gnu')
args.push('--', '--locked')
execFileSync('npx', args, { cwd: root, stdio: 'inherit' })
