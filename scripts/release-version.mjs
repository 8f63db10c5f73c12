// Sets one version everywhere a release embeds it, so the root package, the platform packages
// (which the root lists as optionalDependencies at that exact version) and the Rust crates never
// drift apart:
//   node scripts/release-version.mjs 0.2.0      (npm run release:version -- 0.2.0)
//   node scripts/release-version.mjs --check    exit 1, naming each file that disagrees
// `--root DIR` works on another copy of the tree (the tests use a temporary one).
//
// What it rewrites: package.json `version`; every npm/<platform>/package.json `version`;
// package-lock.json's own version (twice: top level and packages[""], or `npm install` would
// rewrite the lockfile, which CI refuses); the [package] version of each workspace crate's
// Cargo.toml and that crate's entry in Cargo.lock (the build runs `--locked`, which fails when
// the two disagree). Each file is edited line by line, not re-serialised, so formatting and
// whatever else is in it stay as they are. index.js embeds no version, and the tests read it
// from package.json.
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { pathToFileURL } from 'node:url'

// semver 2.0.0's own grammar, without the leading `v`.
const SEMVER =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/

export class ReleaseVersionError extends Error {
  constructor(code, message) {
    super(message)
    this.name = 'ReleaseVersionError'
    this.code = code
  }
}

// Replaces the value of the first line matching `re` (whose group 2 is the version) after line
// `from`; returns the old value. Throws if there is none, since a silently skipped file is the
// drift this script exists to prevent.
function replaceLine(lines, from, re, version, where) {
  for (let i = from; i < lines.length; i++) {
    const m = lines[i].match(re)
    if (m) {
      lines[i] = lines[i].replace(re, (_all, pre, _old, post) => `${pre}${version}${post}`)
      return m[2]
    }
  }
  throw new ReleaseVersionError('E_VERSION_FIELD', `${where}: no version field found`)
}

function npmDirs(root) {
  const npm = join(root, 'npm')
  return readdirSync(npm, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(npm, d.name, 'package.json')))
    .map((d) => join(npm, d.name))
    .sort()
}

// The workspace's crates: `members` of the root Cargo.toml's [workspace] ("." is the root).
function crateDirs(root) {
  const toml = readFileSync(join(root, 'Cargo.toml'), 'utf8')
  const m = toml.match(/^\[workspace\][^[]*?^members\s*=\s*\[([^\]]*)\]/ms)
  if (!m) throw new ReleaseVersionError('E_VERSION_FIELD', 'Cargo.toml: no [workspace] members')
  return [...m[1].matchAll(/"([^"]+)"/g)].map((x) => join(root, x[1]))
}

function crateName(toml, where) {
  const lines = toml.split('\n')
  const start = lines.findIndex((l) => l.trim() === '[package]')
  const name = lines.slice(start + 1).find((l) => /^name\s*=/.test(l))?.match(/"([^"]+)"/)?.[1]
  if (start < 0 || !name) throw new ReleaseVersionError('E_VERSION_FIELD', `${where}: no [package] name`)
  return name
}

// Every place a version lives, as { file, read(): string, write(version) }.
function places(root) {
  const rel = (f) => relative(root, f) || f
  const text = (f) => readFileSync(f, 'utf8')
  const out = []
  // A top-level `"version"` of a JSON manifest: the first one at two spaces of indent.
  const jsonTop = (file) => {
    const re = /^(  "version": ")([^"]*)(",?\s*)$/
    out.push({
      file: rel(file),
      read: () => JSON.parse(text(file)).version,
      write: (v) => {
        const lines = text(file).split('\n')
        replaceLine(lines, 0, re, v, rel(file))
        writeFileSync(file, lines.join('\n'))
      },
    })
  }
  jsonTop(join(root, 'package.json'))
  for (const dir of npmDirs(root)) jsonTop(join(dir, 'package.json'))

  const lock = join(root, 'package-lock.json')
  if (existsSync(lock)) {
    out.push({
      file: rel(lock),
      read: () => {
        const l = JSON.parse(text(lock))
        // Both must agree for the lockfile to count as one version.
        return l.version === l.packages?.['']?.version ? l.version : `${l.version} / packages[""] ${l.packages?.['']?.version}`
      },
      write: (v) => {
        const lines = text(lock).split('\n')
        replaceLine(lines, 0, /^(  "version": ")([^"]*)(",?\s*)$/, v, `${rel(lock)} (top level)`)
        const root = lines.findIndex((l) => /^    "": \{/.test(l))
        if (root < 0) throw new ReleaseVersionError('E_VERSION_FIELD', `${rel(lock)}: no packages[""]`)
        replaceLine(lines, root, /^(      "version": ")([^"]*)(",?\s*)$/, v, `${rel(lock)} packages[""]`)
        writeFileSync(lock, lines.join('\n'))
      },
    })
  }

  const cargoLock = join(root, 'Cargo.lock')
  for (const dir of crateDirs(root)) {
    const file = join(dir, 'Cargo.toml')
    const name = crateName(text(file), rel(file))
    // `version = "…"` inside [package], not `version.workspace = true` nor a dependency's.
    const pkgVersion = (lines) => {
      const start = lines.findIndex((l) => l.trim() === '[package]')
      let end = lines.findIndex((l, i) => i > start && /^\[/.test(l))
      if (end < 0) end = lines.length
      return { start, end }
    }
    const re = /^(version\s*=\s*")([^"]*)("\s*)$/
    out.push({
      file: rel(file),
      read: () => {
        const lines = text(file).split('\n')
        const { start, end } = pkgVersion(lines)
        return lines.slice(start, end).find((l) => re.test(l))?.match(re)?.[2]
      },
      write: (v) => {
        const lines = text(file).split('\n')
        const { start, end } = pkgVersion(lines)
        const i = lines.findIndex((l, k) => k > start && k < end && re.test(l))
        if (i < 0) throw new ReleaseVersionError('E_VERSION_FIELD', `${rel(file)}: no version in [package]`)
        lines[i] = lines[i].replace(re, (_a, pre, _o, post) => `${pre}${v}${post}`)
        writeFileSync(file, lines.join('\n'))
      },
    })
    if (existsSync(cargoLock)) {
      // A workspace crate's lock entry is the [[package]] with its name and no `source`.
      const entry = (lines) => {
        for (let i = 0; i < lines.length; i++) {
          if (lines[i] !== '[[package]]' || lines[i + 1] !== `name = "${name}"`) continue
          let j = i + 1
          while (j < lines.length && lines[j] !== '' && lines[j] !== '[[package]]') j++
          if (!lines.slice(i, j).some((l) => l.startsWith('source = '))) return i
        }
        throw new ReleaseVersionError('E_VERSION_FIELD', `${rel(cargoLock)}: no entry for workspace crate ${name}`)
      }
      out.push({
        file: `${rel(cargoLock)} (${name})`,
        read: () => {
          const lines = text(cargoLock).split('\n')
          return lines[entry(lines) + 2]?.match(re)?.[2]
        },
        write: (v) => {
          const lines = text(cargoLock).split('\n')
          const i = entry(lines) + 2
          if (!re.test(lines[i])) throw new ReleaseVersionError('E_VERSION_FIELD', `${rel(cargoLock)} (${name}): version is not the line after name`)
          lines[i] = lines[i].replace(re, (_a, pre, _o, post) => `${pre}${v}${post}`)
          writeFileSync(cargoLock, lines.join('\n'))
        },
      })
    }
  }
  return out
}

/** Every version in the tree: [{ file, version }]. */
export function readVersions(root) {
  return places(root).map((p) => ({ file: p.file, version: p.read() }))
}

/** Throws E_VERSION_MISMATCH unless every version in the tree equals package.json's. */
export function checkVersions(root) {
  const all = readVersions(root)
  const want = all[0].version
  const bad = all.filter((p) => p.version !== want)
  if (bad.length) {
    throw new ReleaseVersionError(
      'E_VERSION_MISMATCH',
      `versions differ from package.json's ${want}:\n  ${bad.map((p) => `${p.file}: ${p.version}`).join('\n  ')}\n` +
        'Run `npm run release:version -- <version>` to set them all.',
    )
  }
  return want
}

/** Sets `version` everywhere; returns [{ file, from, to }]. */
export function setVersion(root, version) {
  if (typeof version !== 'string' || !SEMVER.test(version)) {
    throw new ReleaseVersionError('E_VERSION_ARG', `not a semver version: ${JSON.stringify(version)} (e.g. 1.2.3 or 1.2.3-rc.1)`)
  }
  // Resolve every place before writing any, so a tree the script cannot read is left untouched.
  const all = places(root).map((p) => ({ ...p, from: p.read() }))
  for (const p of all) p.write(version)
  return all.map((p) => ({ file: p.file, from: p.from, to: version }))
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = process.argv.slice(2)
  let root = new URL('..', import.meta.url).pathname
  const r = args.indexOf('--root')
  if (r >= 0) {
    root = args[r + 1]
    args.splice(r, 2)
  }
  try {
    if (args[0] === '--check' && args.length === 1) {
      console.log(`all versions are ${checkVersions(root)}`)
    } else if (args.length === 1 && !args[0].startsWith('-')) {
      for (const c of setVersion(root, args[0].replace(/^v/, ''))) console.log(`${c.file}: ${c.from} -> ${c.to}`)
    } else {
      throw new ReleaseVersionError('E_VERSION_ARG', 'usage: release-version.mjs <version> | --check  [--root DIR]')
    }
  } catch (e) {
    process.stderr.write(`release-version: ${e.code ?? 'error'}: ${e.message}\n`)
    process.exit(1)
  }
}
