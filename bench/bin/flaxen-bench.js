#!/usr/bin/env node
// `flaxen-bench` (and `flaxen bench` through the published CLI) inside the repository (linked into node_modules/.bin by the bench workspace): runs the
// harness compiled into bench/dist. A committed file, so that npm links the command at install
// time, before anything is built.
'use strict'
const { existsSync } = require('node:fs')
const { join } = require('node:path')

const cli = join(__dirname, '..', 'dist', 'cli.js')
if (!existsSync(cli)) {
  process.stderr.write('flaxen: the bench harness is not built; run `npm run bench` (which builds what is stale) or `npm run build:bench` at the repository root\n')
  process.exit(1)
}
require(cli)
