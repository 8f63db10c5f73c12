#!/usr/bin/env node
// The `flaxen` command of the published package.
//   flaxen inspect FILE [--json]   what a weights file holds, without loading its values
//   flaxen bench ...               the benchmark harness, when the flaxen-bench package (the
//                                  repository's private workspace) is installed beside it
import { formatReport, inspectFile } from './inspect'

const USAGE = `Usage: flaxen inspect FILE [--json]
       flaxen bench [suite...] [options]   (needs the flaxen-bench package of the repository)

inspect: the arrays of a Flax msgpack or safetensors file (told apart by its bytes) with their
shapes, dtypes and bytes, and totals (parameters, bytes per dtype). Values are not loaded.
`

function main(argv: string[]): number {
  const [cmd, ...rest] = argv
  if (cmd === 'inspect') {
    const json = rest.includes('--json')
    const files = rest.filter((a) => a !== '--json')
    if (files.length !== 1 || files[0].startsWith('-')) {
      process.stderr.write(USAGE)
      return 2
    }
    try {
      const report = inspectFile(files[0])
      process.stdout.write(json ? JSON.stringify(report, (_k, v) => (typeof v === 'bigint' ? v.toString() : v), 2) + '\n' : formatReport(report) + '\n')
      return 0
    } catch (e) {
      const err = e as { code?: string; message?: string }
      process.stderr.write(`flaxen inspect: ${files[0]}: ${err.message ?? String(e)}${err.code ? ` [${err.code}]` : ''}\n`)
      return 1
    }
  }
  if (cmd === 'bench') {
    let harness: string
    try {
      harness = require.resolve('flaxen-bench/dist/cli.js')
    } catch {
      process.stderr.write('flaxen bench: the benchmark harness is the flaxen-bench package of the flaxen repository (run `npm run bench` there)\n')
      return 1
    }
    process.argv = [process.argv[0], harness, 'bench', ...rest]
    require(harness)
    return -1
  }
  process.stderr.write(USAGE)
  return cmd === undefined || cmd === '-h' || cmd === '--help' ? 0 : 2
}

const code = main(process.argv.slice(2))
if (code >= 0) process.exitCode = code
