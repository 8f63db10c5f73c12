// The trees flaxen writes for Python to read back (issue 11): scripts/golden/flaxen_written.ts
// writes them to __test__/golden/weights/flaxen_written.*, scripts/golden/python_readback.py
// reads those files with Flax and safetensors and records a hash of the values it read, and
// __test__/weights-python-readback.spec.ts checks that flaxen still writes those bytes and that
// the hash of its own values equals Python's.
import { createHash } from 'node:crypto'
import { jnp, random, type Tensor } from '../../ts/index'

export function writtenTree(): Record<string, any> {
  return {
    params: {
      Dense_0: { kernel: random.normal(random.key(0), [3, 5]), bias: jnp.arange(5).astype('float32') },
      embed: { embedding: random.uniform(random.key(1), [4, 2]) },
      'Dense_1/kernel/scale': jnp.ones([2]),
    },
    ints: { i8: jnp.array([-128, 0, 127], 'int8'), u8: jnp.array([0, 255], 'uint8'), i32: jnp.array([[-(2 ** 31), 2 ** 31 - 1]], 'int32'), u32: jnp.array([2 ** 32 - 1], 'uint32') },
    mask: jnp.array([true, false, true], 'bool'),
    scalar: jnp.array(1.5),
  }
}

/** Extra msgpack leaves: a list, a string, ints and a float. */
export function writtenMsgpackTree(): Record<string, any> {
  return { ...writtenTree(), step: 1234, name: 'flaxen', lr: 2.5, layers: [jnp.zeros([2]), 7] }
}

/** sha256 over the leaves in path order: `path|dtype|shape\n` then the raw bytes (arrays), or `path|value\n`. */
export function valuesHash(leaves: [string, Tensor | string | number][]): string {
  const h = createHash('sha256')
  for (const [path, v] of [...leaves].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (typeof v === 'string' || typeof v === 'number') h.update(`${path}|${JSON.stringify(v)}\n`)
    else {
      h.update(`${path}|${v.dtype}|${v.shape.join(',')}\n`)
      h.update(Buffer.from(v.data.buffer, v.data.byteOffset, v.data.byteLength))
    }
  }
  return h.digest('hex')
}
