// A minimal ONNX model writer (protobuf encoded by hand), so the benchmark can run the same
// computation through onnxruntime-node without Python or an `onnx` package. Only what the
// benchmark graphs need: float tensors, initializers, nodes with int attributes.

type Field = Uint8Array

function varint(n: number | bigint): number[] {
  let v = BigInt(n)
  if (v < 0n) v += 1n << 64n
  const out: number[] = []
  do {
    let byte = Number(v & 0x7fn)
    v >>= 7n
    if (v > 0n) byte |= 0x80
    out.push(byte)
  } while (v > 0n)
  return out
}

const concat = (parts: Field[]): Field => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.length
  }
  return out
}

/** Wire type 0 (varint) field. */
const int = (field: number, v: number | bigint): Field => Uint8Array.from([...varint(field << 3), ...varint(v)])
/** Wire type 2 (length-delimited) field. */
const bytes = (field: number, payload: Field): Field => concat([Uint8Array.from([...varint((field << 3) | 2), ...varint(payload.length)]), payload])
const str = (field: number, s: string): Field => bytes(field, new TextEncoder().encode(s))

const FLOAT = 1

export interface OnnxNode {
  op: string
  inputs: string[]
  outputs: string[]
  ints?: Record<string, number>
  /** List attributes (Conv's `pads`, `strides`...): non-negative integers. */
  intLists?: Record<string, number[]>
}

/** A graph input or output. `symbolic` names axes whose size is left free (ONNX dim_param), e.g.
 * `{ 0: 'N' }` for any batch size; `shape` still gives every axis a size (used elsewhere). */
export interface OnnxValue {
  name: string
  shape: number[]
  symbolic?: Record<number, string>
}

export interface OnnxGraph {
  inputs: OnnxValue[]
  outputs: OnnxValue[]
  initializers?: { name: string; shape: number[]; data: Float32Array }[]
  nodes: OnnxNode[]
}

const valueInfo = (field: number, { name, shape, symbolic }: OnnxValue): Field => {
  const dims = shape.map((d, i) => bytes(1, symbolic?.[i] !== undefined ? str(2, symbolic[i]) : int(1, d)))
  const tensorType = concat([int(1, FLOAT), bytes(2, concat(dims))])
  return bytes(field, concat([str(1, name), bytes(2, bytes(1, tensorType))]))
}

const node = (n: OnnxNode, i: number): Field => {
  const attrs = Object.entries(n.ints ?? {}).map(([name, v]) => bytes(5, concat([str(1, name), int(3, v), int(20, 2 /* INT */)])))
  const lists = Object.entries(n.intLists ?? {}).map(([name, vs]) => bytes(5, concat([str(1, name), ...vs.map((v) => int(8, v)), int(20, 7 /* INTS */)])))
  return bytes(1, concat([...n.inputs.map((x) => str(1, x)), ...n.outputs.map((x) => str(2, x)), str(3, `n${i}`), str(4, n.op), ...attrs, ...lists]))
}

const initializer = (t: { name: string; shape: number[]; data: Float32Array }): Field =>
  bytes(5, concat([...t.shape.map((d) => int(1, d)), int(2, FLOAT), str(8, t.name), bytes(9, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength))]))

/** Serialised ModelProto (IR version 8, default opset 17). */
export function onnxModel(g: OnnxGraph): Uint8Array {
  const graph = concat([
    ...g.nodes.map(node),
    str(2, 'bench'),
    ...(g.initializers ?? []).map(initializer),
    ...g.inputs.map((x) => valueInfo(11, x)),
    ...g.outputs.map((x) => valueInfo(12, x)),
  ])
  return concat([int(1, 8), str(2, 'flaxen-bench'), bytes(7, graph), bytes(8, concat([str(1, ''), int(2, 17)]))])
}
