// Writes __test__/golden/weights/flaxen_written.{msgpack,safetensors} (what flaxen writes), for
// scripts/golden/python_readback.py to read in Python. Run: npx tsx scripts/golden/flaxen_written.ts
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { safetensors, serialization } from '../../ts/index'
import { writtenMsgpackTree, writtenTree } from '../../__test__/helpers/flaxen-written'

const dir = join(__dirname, '..', '..', '__test__', 'golden', 'weights')
writeFileSync(join(dir, 'flaxen_written.msgpack'), serialization.toBytes(writtenMsgpackTree()))
writeFileSync(join(dir, 'flaxen_written.safetensors'), safetensors.save(writtenTree(), { format: 'flax' }))
