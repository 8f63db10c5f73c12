// Native loader for flaxen (hand-written: the napi CLI writes none without napi-derive).
// Order: `flaxen.<platform>.node` beside this file (a local build), then the platform package
// `flaxen-<platform>` (an install from the registry or from ./pack), which must have flaxen's own
// version. <platform> is what npm/ names: linux-{x64,arm64}-{gnu,musl}, darwin-{x64,arm64},
// win32-x64-msvc. If neither loads, throw an Error with code E_NO_NATIVE_BINDING that names
// everything tried and why each failed.
'use strict'

const { existsSync, readFileSync } = require('node:fs')
const { join } = require('node:path')

function isMusl() {
  if (process.platform !== 'linux') return false
  try {
    return readFileSync('/usr/bin/ldd', 'utf8').includes('musl')
  } catch {
    const report = typeof process.report?.getReport === 'function' ? process.report.getReport() : null
    return !report?.header?.glibcVersionRuntime
  }
}

function platformTriple() {
  const { platform, arch } = process
  if (platform === 'linux') return `linux-${arch}-${isMusl() ? 'musl' : 'gnu'}`
  if (platform === 'win32') return `win32-${arch}-msvc`
  return `${platform}-${arch}`
}

function loadBinding() {
  const triple = platformTriple()
  const tried = []
  const local = join(__dirname, `flaxen.${triple}.node`)
  if (existsSync(local)) {
    try {
      return require(local)
    } catch (e) {
      tried.push(`${local}: ${e.message}`)
    }
  } else {
    tried.push(`${local}: not found`)
  }
  const pkg = `flaxen-${triple}`
  try {
    // The binary's exports change between releases, so a platform package of another version
    // (a stale lockfile, a hand-pinned dependency) is refused rather than half working.
    const want = require('./package.json').version
    const have = require(`${pkg}/package.json`).version
    if (have !== want) throw new Error(`version ${have}, but flaxen is ${want}: install ${pkg}@${want}`)
    return require(pkg)
  } catch (e) {
    tried.push(`${pkg}: ${e.message}`)
  }
  const err = new Error(
    `flaxen: no native binding for ${triple}. Tried:\n  ${tried.join('\n  ')}\n` +
      'Build from source with `npm run build` (needs Rust >= 1.89) or install the platform package.',
  )
  err.code = 'E_NO_NATIVE_BINDING'
  err.tried = tried
  throw err
}

// Native functions return their errors rather than throwing them (a Node-API throw can abort
// the process when a GC runs finalizers before Node rethrows it; crates/node-api/src/function.rs
// has the details). Each exported function is wrapped here to throw them. The stack is taken
// again without this wrapper, so that it starts at the caller, as for an error thrown natively
// (the source line Node prints above an uncaught error is still this `throw`).
function throwing(f) {
  const wrapped = function (...args) {
    const r = f(...args)
    if (r instanceof Error) {
      Error.captureStackTrace(r, wrapped)
      throw r
    }
    return r
  }
  Object.defineProperty(wrapped, 'name', { value: f.name })
  return wrapped
}

const binding = loadBinding()
for (const [name, value] of Object.entries(binding)) {
  if (typeof value === 'function') binding[name] = throwing(value)
}
module.exports = binding
