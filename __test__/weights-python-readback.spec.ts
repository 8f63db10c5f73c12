// Files flaxen writes load in Python (issue 11): flaxen still writes exactly the bytes that
// scripts/golden/python_readback.py read with Flax's msgpack_restore and safetensors, and the
// hash of what Python read equals the hash of flaxen's own values.
import test from 'ava'
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { Tensor, safetensors, serialization } from '../ts/index'
import { valuesHash, writtenMsgpackTree, writtenTree } from './helpers/flaxen-written'

const python = JSON.parse(readFileSync(join(__dirname, 'golden', 'weights', 'python_readback.json'), 'utf8'))
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex')

function leaves(x: unknown, path: string, out: [string, Tensor | string | number][], sep = '/'): typeof out {
  if (x instanceof Tensor || typeof x === 'string' || typeof x === 'number') out.push([path, x])
  else if (Array.isArray(x)) x.forEach((v, i) => leaves(v, `${path}${sep}${i}`, out, sep))
  else for (const [k, v] of Object.entries(x as object)) leaves(v, path === '' ? k : `${path}${sep}${k}`, out, sep)
  return out
}

test('msgpack: the bytes Python read are what toBytes writes; Python read the values flaxen holds', (t) => {
  const tree = writtenMsgpackTree()
  const bytes = serialization.toBytes(tree)
  t.is(sha(bytes), python.msgpack.sha256)
  t.is(valuesHash(leaves(tree, '', [])), python.msgpack.values)
  // and flaxen reads its own file back to the same values
  t.is(valuesHash(leaves(serialization.msgpackRestore(bytes), '', [])), python.msgpack.values)
})

test('safetensors: the bytes Python read are what save writes; Python read the values flaxen holds', (t) => {
  const tree = writtenTree()
  const bytes = safetensors.save(tree, { format: 'flax' })
  t.is(sha(bytes), python.safetensors.sha256)
  const flat = Object.entries(safetensors.load(bytes))
  t.is(valuesHash(flat), python.safetensors.values)
  t.is(valuesHash(leaves(tree, '', [], '.')), python.safetensors.values)
})
