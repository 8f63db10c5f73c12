// `npm run setup`: decides where cargo gets the Rust crates, and records it in the project's own
// .cargo/config.toml (gitignored), so that every cargo run in the project (napi build, cargo test,
// a plain `cargo build` in any shell) uses it with nothing to source.
//   * crates.io reachable: the config replaces nothing; cargo downloads as usual.
//   * crates.io not reachable: the crates pinned in scripts/setup/debian-crates.tsv are fetched
//     from Debian's archive into .cargo/debian-crates/ (scripts/setup/debian-crates.sh) and the
//     config points crates.io at that directory source.
// Usage: node scripts/setup/setup.mjs [--online | --offline | --ensure]
//   (none)     detect again and rewrite the config (FLAXEN_CRATES=online|offline forces a path)
//   --ensure   what the build scripts call: keep a config this script wrote (rebuilding the
//              registry when the pin list changed), else set up as with no option.
// Exits non-zero with a message saying what to do when something is missing.
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('../..', import.meta.url))
const here = join(root, 'scripts', 'setup')
const pinsPath = join(here, 'debian-crates.tsv')
const configPath = join(root, '.cargo', 'config.toml')
const offlineDir = join(root, '.cargo', 'debian-crates')
const MARK = '# Written by scripts/setup/setup.mjs'
const CRATES_IO = 'https://index.crates.io/config.json'
const CRATES_IO_SOURCE = 'registry+https://github.com/rust-lang/crates.io-index'

export class SetupError extends Error {}

const log = (msg) => process.stderr.write(`setup: ${msg}\n`)
const pinsHash = () => createHash('sha256').update(readFileSync(pinsPath)).digest('hex').slice(0, 16)

/** The pins: [{ crate, version, suite, deb, debSha256, crateSha256 }]. */
export function readPins() {
  const rows = readFileSync(pinsPath, 'utf8').split('\n').filter((l) => l && !l.startsWith('#') && !l.startsWith('crate\t'))
  return rows.map((l) => {
    const [crate, version, suite, deb, debSha256, crateSha256] = l.split('\t')
    return { crate, version, suite, deb, debSha256, crateSha256 }
  })
}

/** crates.io packages of Cargo.lock: [{ name, version, checksum }]. */
export function lockedCrates() {
  const lock = readFileSync(join(root, 'Cargo.lock'), 'utf8')
  return lock.split('[[package]]').slice(1).map((block) => {
    const field = (k) => block.match(new RegExp(`^${k} = "([^"]*)"`, 'm'))?.[1]
    return { name: field('name'), version: field('version'), source: field('source'), checksum: field('checksum') }
  }).filter((p) => p.source === CRATES_IO_SOURCE)
}

/**
 * Every crates.io package Cargo.lock names must be pinned with the same checksum: otherwise the
 * offline build fails later with cargo's less helpful "no matching package".
 */
function checkPinsCoverLock() {
  const pins = new Map(readPins().map((p) => [`${p.crate} ${p.version}`, p]))
  const problems = []
  for (const c of lockedCrates()) {
    const pin = pins.get(`${c.name} ${c.version}`)
    if (!pin) problems.push(`${c.name} ${c.version}: Cargo.lock needs it, no row pins it`)
    else if (pin.crateSha256 !== c.checksum) problems.push(`${c.name} ${c.version}: pin's crate_sha256 ${pin.crateSha256} != Cargo.lock's ${c.checksum}`)
  }
  if (problems.length) {
    throw new SetupError(`scripts/setup/debian-crates.tsv does not cover Cargo.lock:\n  ${problems.join('\n  ')}\n` +
      'Add or fix those pins (README.md, "Adding or bumping a crate"), or run where crates.io is reachable.')
  }
}

async function cratesIoReachable() {
  try {
    const r = await fetch(CRATES_IO, { signal: AbortSignal.timeout(8000) })
    return r.ok
  } catch {
    return false
  }
}

function readConfig() {
  if (!existsSync(configPath)) return null
  const text = readFileSync(configPath, 'utf8')
  if (!text.startsWith(MARK)) return { foreign: true }
  return { mode: text.match(/^# mode: (\w+)/m)?.[1], pins: text.match(/^# pins: (\w+)/m)?.[1] }
}

function writeConfig(body) {
  mkdirSync(join(root, '.cargo'), { recursive: true })
  writeFileSync(configPath, `${MARK} (npm run setup); rerun that to change it.\n${body}`)
}

function setupOffline() {
  checkPinsCoverLock()
  log(`building the offline registry from Debian's packages in ${relative(root, offlineDir)}/`)
  try {
    execFileSync('bash', [join(here, 'debian-crates.sh'), pinsPath, offlineDir], { stdio: 'inherit' })
  } catch {
    throw new SetupError('could not build the offline crate registry (the message above says why)')
  }
  // Cargo resolves a relative `directory` against the folder holding .cargo/, so the clone can move.
  writeConfig(`# mode: offline\n# pins: ${pinsHash()}\n` +
    '# crates.io\'s crates come from Debian\'s packages pinned in scripts/setup/debian-crates.tsv.\n' +
    '[source.crates-io]\nreplace-with = "debian-crates"\n\n' +
    `[source.debian-crates]\ndirectory = "${relative(root, join(offlineDir, 'registry'))}"\n`)
  log('cargo will use the offline registry (.cargo/config.toml)')
}

function setupOnline() {
  writeConfig('# mode: online\n# cargo downloads crates from crates.io as usual.\n')
  log('crates.io is reachable: cargo downloads crates as usual (.cargo/config.toml replaces nothing)')
}

export async function setup({ mode = process.env.FLAXEN_CRATES || 'auto', ensure = false } = {}) {
  if (!['auto', 'online', 'offline'].includes(mode)) throw new SetupError(`FLAXEN_CRATES must be auto, online or offline, not ${mode}`)
  const current = readConfig()
  if (current?.foreign) {
    log('.cargo/config.toml was not written by this script: left as it is')
    return
  }
  if (ensure && current) {
    const fresh = current.mode === 'online' || (current.pins === pinsHash() && existsSync(join(offlineDir, 'registry')))
    if (fresh && (mode === 'auto' || mode === current.mode)) return
    // A stale offline registry (the pins changed) is rebuilt without asking the network again.
    if (mode === 'auto') mode = current.mode
  }
  if (mode === 'auto') {
    mode = (await cratesIoReachable()) ? 'online' : 'offline'
    if (mode === 'offline') log(`crates.io (${CRATES_IO}) is not reachable: taking the crates from Debian's archive`)
  }
  if (mode === 'online') setupOnline()
  else setupOffline()
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2)
  const known = ['--online', '--offline', '--ensure']
  const bad = args.find((a) => !known.includes(a))
  if (bad) {
    log(`unknown option ${bad} (one of ${known.join(', ')})`)
    process.exit(2)
  }
  const mode = args.includes('--online') ? 'online' : args.includes('--offline') ? 'offline' : undefined
  setup({ mode, ensure: args.includes('--ensure') }).catch((e) => {
    log(e instanceof SetupError ? `error: ${e.message}` : e.stack)
    process.exit(1)
  })
}
