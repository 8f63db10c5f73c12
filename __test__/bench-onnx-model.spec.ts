// The benchmark's hand-written ONNX writer, checked structurally: onnxruntime is never a test
// dependency, so the bytes are decoded here with a minimal protobuf reader and compared field by
// field against onnx.proto3 (ModelProto, GraphProto, NodeProto, AttributeProto, TensorProto,
// ValueInfoProto).
import test from 'ava'
import { onnxModel } from '../bench/src/onnx-model'

type Field = { field: number; wire: number; int?: bigint; bytes?: Uint8Array }

function readVarint(b: Uint8Array, at: number): [bigint, number] {
  let v = 0n
  let shift = 0n
  for (;;) {
    const byte = b[at++]
    v |= BigInt(byte & 0x7f) << shift
    shift += 7n
    if ((byte & 0x80) === 0) return [v, at]
  }
}

/** Top-level fields of one message (wire types 0 and 2 only: all the writer emits). */
function decode(b: Uint8Array): Field[] {
  const out: Field[] = []
  let at = 0
  while (at < b.length) {
    const [key, next] = readVarint(b, at)
    at = next
    const field = Number(key >> 3n)
    const wire = Number(key & 7n)
    if (wire === 0) {
      const [v, n] = readVarint(b, at)
      out.push({ field, wire, int: v })
      at = n
    } else if (wire === 2) {
      const [len, n] = readVarint(b, at)
      out.push({ field, wire, bytes: b.subarray(n, n + Number(len)) })
      at = n + Number(len)
    } else throw new Error(`unexpected wire type ${wire}`)
  }
  if (at !== b.length) throw new Error('message overruns its buffer')
  return out
}

const all = (m: Field[], f: number) => m.filter((x) => x.field === f)
const one = (m: Field[], f: number) => {
  const xs = all(m, f)
  if (xs.length !== 1) throw new Error(`field ${f}: ${xs.length} occurrences`)
  return xs[0]
}
const text = (x: Field) => new TextDecoder().decode(x.bytes)
const msg = (x: Field) => decode(x.bytes!)
/** int64 fields are two's complement in 64 bits. */
const int64 = (x: Field) => BigInt.asIntN(64, x.int!)

const weights = Float32Array.from([1, -2, 3.5, 0, 1e-3, 7])
const model = onnxModel({
  inputs: [{ name: 'x', shape: [300, 2] }],
  outputs: [{ name: 'y', shape: [300, 3] }],
  initializers: [{ name: 'w', shape: [2, 3], data: weights }],
  nodes: [
    { op: 'MatMul', inputs: ['x', 'w'], outputs: ['h'] },
    { op: 'Trilu', inputs: ['h'], outputs: ['t'], ints: { upper: 1 } },
    { op: 'Softmax', inputs: ['t'], outputs: ['y'], ints: { axis: -1 } },
  ],
})

test('ModelProto: IR version 8, producer, default-domain opset 17, one graph', (t) => {
  const m = decode(model)
  t.is(one(m, 1).int, 8n)
  t.is(text(one(m, 2)), 'flaxen-bench')
  const opset = msg(one(m, 8))
  t.is(text(one(opset, 1)), '')
  t.is(one(opset, 2).int, 17n)
  t.is(all(m, 7).length, 1)
})

test('NodeProto: inputs, outputs, unique names, op types, int attributes (negative as int64)', (t) => {
  const nodes = all(msg(one(decode(model), 7)), 1).map(msg)
  t.deepEqual(
    nodes.map((n) => [all(n, 1).map(text), all(n, 2).map(text), text(one(n, 4))]),
    [
      [['x', 'w'], ['h'], 'MatMul'],
      [['h'], ['t'], 'Trilu'],
      [['t'], ['y'], 'Softmax'],
    ],
  )
  t.is(new Set(nodes.map((n) => text(one(n, 3)))).size, 3)
  t.is(all(nodes[0], 5).length, 0)
  const attr = (n: Field[]) => {
    const a = msg(one(n, 5))
    return { name: text(one(a, 1)), i: int64(one(a, 3)), type: one(a, 20).int }
  }
  t.deepEqual(attr(nodes[1]), { name: 'upper', i: 1n, type: 2n }) // AttributeType INT = 2
  t.deepEqual(attr(nodes[2]), { name: 'axis', i: -1n, type: 2n })
})

test('TensorProto initializer: dims, FLOAT, name, raw little-endian data', (t) => {
  const graph = msg(one(decode(model), 7))
  t.is(text(one(graph, 2)), 'bench')
  const init = msg(one(graph, 5))
  t.deepEqual(all(init, 1).map((d) => d.int), [2n, 3n])
  t.is(one(init, 2).int, 1n) // DataType FLOAT = 1
  t.is(text(one(init, 8)), 'w')
  const raw = one(init, 9).bytes!
  t.deepEqual(Array.from(new Float32Array(raw.slice().buffer)), Array.from(weights))
})

test('ValueInfoProto inputs and outputs: name, float tensor type, shape dims (multi-byte varints)', (t) => {
  const graph = msg(one(decode(model), 7))
  const info = (f: Field) => {
    const v = msg(f)
    const tensor = msg(one(msg(one(v, 2)), 1)) // TypeProto.tensor_type
    const dims = all(msg(one(tensor, 2)), 1).map((d) => one(msg(d), 1).int) // TensorShapeProto.dim.dim_value
    return { name: text(one(v, 1)), elem: one(tensor, 1).int, dims }
  }
  t.deepEqual(all(graph, 11).map(info), [{ name: 'x', elem: 1n, dims: [300n, 2n] }])
  t.deepEqual(all(graph, 12).map(info), [{ name: 'y', elem: 1n, dims: [300n, 3n] }])
  // dim_value 300 is field 1, varint 0xac 0x02 (300 = 0b10_0101100).
  const hex = Buffer.from(model).toString('hex')
  t.true(hex.includes('08ac02'))
})

test('ValueInfoProto symbolic axes: dim_param (field 2) in place of dim_value', (t) => {
  const m = onnxModel({
    inputs: [{ name: 'x', shape: [1, 2], symbolic: { 0: 'N' } }],
    outputs: [{ name: 'y', shape: [1, 2], symbolic: { 0: 'N' } }],
    nodes: [{ op: 'Relu', inputs: ['x'], outputs: ['y'] }],
  })
  const graph = msg(one(decode(m), 7))
  for (const f of [11, 12]) {
    const tensor = msg(one(msg(one(msg(one(graph, f)), 2)), 1))
    const dims = all(msg(one(tensor, 2)), 1).map(msg)
    t.deepEqual(dims.map((d) => d.map((x) => x.field)), [[2], [1]])
    t.is(text(one(dims[0], 2)), 'N')
    t.is(one(dims[1], 1).int, 2n)
  }
})

test('AttributeProto INTS: list attributes as repeated int64 (field 8), type INTS, beside INT ones', (t) => {
  const conv = onnxModel({
    inputs: [{ name: 'x', shape: [1, 2, 5, 5] }],
    outputs: [{ name: 'y', shape: [1, 4, 3, 3] }],
    initializers: [{ name: 'w', shape: [4, 1, 3, 3], data: new Float32Array(36) }],
    nodes: [{ op: 'Conv', inputs: ['x', 'w'], outputs: ['y'], ints: { group: 2 }, intLists: { pads: [1, 0, 1, 0], strides: [2, 2] } }],
  })
  const node = msg(one(msg(one(decode(conv), 7)), 1))
  const attrs = all(node, 5).map(msg).map((a) => ({ name: text(one(a, 1)), ints: all(a, 8).map(int64), i: all(a, 3).map(int64), type: one(a, 20).int }))
  t.deepEqual(attrs, [
    { name: 'group', ints: [], i: [2n], type: 2n },
    { name: 'pads', ints: [1n, 0n, 1n, 0n], i: [], type: 7n }, // AttributeType INTS = 7
    { name: 'strides', ints: [2n, 2n], i: [], type: 7n },
  ])
})
