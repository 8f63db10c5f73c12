// Prints a module-definition (.def) file naming node.exe as the home of every Node-API function
// crates/node-api/src/sys.rs declares. Windows links a DLL's imports against an import library,
// and this is the input for one (the addon has no other way to say "resolve these against the
// executable that loads me"):
//   node scripts/node-api-def.mjs > node_api.def
//   lib.exe /def:node_api.def /machine:x64 /out:node_api.lib
// Unused entries cost nothing: the linker imports only what the addon references.
import { readFileSync } from 'node:fs'

const sys = readFileSync(new URL('../crates/node-api/src/sys.rs', import.meta.url), 'utf8')
const block = sys.slice(sys.indexOf('unsafe extern "C" {'))
const names = [...new Set([...block.matchAll(/^\s*pub fn ((?:napi|node_api)_\w+)\s*\(/gm)].map((m) => m[1]))].sort()
if (names.length === 0) {
  const err = new Error('node-api-def: no napi_* declarations found in crates/node-api/src/sys.rs')
  err.code = 'E_NO_SYMBOLS'
  throw err
}
process.stdout.write(`LIBRARY node.exe\nEXPORTS\n${names.map((n) => `  ${n}\n`).join('')}`)
