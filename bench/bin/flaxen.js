#!/usr/bin/env node
// `flaxen` inside the repository (linked into node_modules/.bin by the bench workspace; the root
// package's own bin is not linked for itself): `flaxen bench ...` runs the harness compiled into
// bench/dist, every other command goes to the published CLI (dist/cli.js: `flaxen inspect`).
// A committed file, so that npm links the command at install time, before anything is built.
'use strict'
const { existsSync } = require('node:fs')
const { join } = require('node:path')

const bench = process.argv[2] === 'bench' || process.argv[2] === '--worker-suite'
const cli = bench ? join(__dirname, '..', 'dist', 'cli.js') : join(__dirname, '..', '..', 'dist', 'cli.js')
if (!existsSync(cli)) {
  process.stderr.write(`flaxen: ${bench ? 'the bench harness' : 'flaxen'} is not built; run \`npm run build\` (or \`npm run bench\`, which builds what is stale) at the repository root\n`)
  process.exit(1)
}
require(cli)
