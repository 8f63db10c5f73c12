// jnp: array creation and ops, each a Rust kernel behind the addon.
import { codedError, codedTypeError, showShape } from './coded-error'
import { native, type NumericArray } from './native'
import { Tensor, asTensor, checkShapeArg, describe, type DType, type NestedArray } from './tensor'
export { tidy } from './tidy'

export type ArrayLike = NestedArray | NumericArray | readonly NestedArray[]
/** A tensor, or a JS number used as a scalar operand. */
export type Operand = Tensor | number

const TYPED_DTYPE = new Map<Function, DType>([
  [Float32Array, 'float32'],
  [Float64Array, 'float32'],
  [Int32Array, 'int32'],
  [Int16Array, 'int32'],
  [Int8Array, 'int32'],
  [Uint32Array, 'uint32'],
  [Uint16Array, 'uint16'],
  [Uint8Array, 'uint8'],
])

/**
 * A new tensor from nested arrays or a typed array (always a copy into native storage).
 * Default dtype: the typed array's (Float64Array → float32), `bool` for booleans, else float32
 * (JS has no int/float literal distinction, and float32 is what models consume).
 */
export function array(data: ArrayLike | Tensor, dtype?: DType): Tensor {
  if (data instanceof Tensor) return data.astype(dtype ?? data.dtype) // a copy, as jnp.array copies
  if (ArrayBuffer.isView(data) && !(data instanceof DataView)) {
    const typed = data as NumericArray
    const dt = dtype ?? TYPED_DTYPE.get(typed.constructor)
    if (dt === undefined) throw codedTypeError(`array: unsupported typed array ${typed.constructor.name}`)
    return new Tensor(native.fromData(typed, dt, [typed.length]))
  }
  const shape: number[] = []
  let probe: unknown = data
  while (Array.isArray(probe)) {
    shape.push(probe.length)
    probe = probe[0]
  }
  const size = shape.reduce((a, b) => a * b, 1)
  const flat = new Float64Array(size)
  let isBool = typeof probe === 'boolean'
  let n = 0
  const walk = (x: unknown, dim: number, path: string): void => {
    if (dim === shape.length) {
      if (typeof x === 'number') flat[n++] = x
      else if (typeof x === 'boolean') flat[n++] = x ? 1 : 0
      else throw codedTypeError(`array: element at data${path} is ${describe(x)}; expected a number or boolean`)
      if (typeof x !== 'boolean') isBool = false
      return
    }
    if (!Array.isArray(x) || x.length !== shape[dim]) {
      const got = Array.isArray(x) ? `length ${x.length}` : describe(x)
      throw codedError('E_SHAPE', `array: ragged nesting at data${path}: expected an array of length ${shape[dim]} (shape ${showShape(shape)}), got ${got}`)
    }
    for (let i = 0; i < x.length; i++) walk(x[i], dim + 1, `${path}[${i}]`)
  }
  walk(data, 0, '')
  return new Tensor(native.fromData(flat, dtype ?? (isBool ? 'bool' : 'float32'), shape))
}

export function full(shape: readonly number[], value: number | boolean, dtype?: DType): Tensor {
  const dt = dtype ?? (typeof value === 'boolean' ? 'bool' : 'float32')
  if (typeof value !== 'number' && typeof value !== 'boolean') throw codedTypeError(`full: value must be a number or boolean, got ${describe(value)}`)
  return new Tensor(native.full(checkShapeArg(shape, 'shape'), Number(value), dt))
}

export function zeros(shape: readonly number[], dtype: DType = 'float32'): Tensor {
  return full(shape, 0, dtype)
}

export function ones(shape: readonly number[], dtype: DType = 'float32'): Tensor {
  return full(shape, 1, dtype)
}

/** `arange(stop)` or `arange(start, stop, step = 1)`; int32 when every argument is an integer. */
export function arange(startOrStop: number, stop?: number, step = 1, dtype?: DType): Tensor {
  const [start, end] = stop === undefined ? [0, startOrStop] : [startOrStop, stop]
  const dt = dtype ?? ([start, end, step].every(Number.isInteger) ? 'int32' : 'float32')
  return new Tensor(native.arange(start, end, step, dt))
}

export function linspace(start: number, stop: number, num = 50): Tensor {
  return new Tensor(native.linspace(start, stop, num))
}

export function eye(n: number, m?: number, dtype: DType = 'float32'): Tensor {
  return new Tensor(native.eye(n, m ?? n, dtype))
}

export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  return asTensor(x, 'x').reshape(shape)
}

export function matmul(a: Tensor, b: Tensor): Tensor {
  return new Tensor(native.matmul(asTensor(a, 'a').handle, asTensor(b, 'b').handle))
}

const enum Op {
  Add = 0,
  Subtract = 1,
  Multiply = 2,
  Divide = 3,
}

function binary(op: Op, name: string, a: Operand, b: Operand): Tensor {
  if (a instanceof Tensor) {
    if (b instanceof Tensor) return new Tensor(native.binary(op, a.handle, b.handle))
    if (typeof b === 'number') return new Tensor(native.binaryScalar(op, a.handle, b, false))
    throw codedTypeError(`${name}: b must be a Tensor or a number, got ${describe(b)}`)
  }
  if (typeof a === 'number') {
    if (b instanceof Tensor) return new Tensor(native.binaryScalar(op, b.handle, a, true))
    if (typeof b === 'number') return new Tensor(native.binaryScalar(op, native.full([], a, 'float32'), b, false))
    throw codedTypeError(`${name}: b must be a Tensor or a number, got ${describe(b)}`)
  }
  throw codedTypeError(`${name}: a must be a Tensor or a number, got ${describe(a)}`)
}

export const add = (a: Operand, b: Operand): Tensor => binary(Op.Add, 'add', a, b)
export const subtract = (a: Operand, b: Operand): Tensor => binary(Op.Subtract, 'subtract', a, b)
export const multiply = (a: Operand, b: Operand): Tensor => binary(Op.Multiply, 'multiply', a, b)
export const divide = (a: Operand, b: Operand): Tensor => binary(Op.Divide, 'divide', a, b)

/** Upper triangle of the last two axes: zeroes entries below the k-th diagonal. */
export function triu(x: Tensor, k = 0): Tensor {
  return new Tensor(native.triu(asTensor(x, 'x').handle, k))
}

/** Lower triangle of the last two axes: zeroes entries above the k-th diagonal. */
export function tril(x: Tensor, k = 0): Tensor {
  return new Tensor(native.tril(asTensor(x, 'x').handle, k))
}

export function sign(x: Tensor): Tensor {
  return new Tensor(native.sign(asTensor(x, 'x').handle))
}

/** max(x, 0); exported to users as `nn.relu`. */
export function relu(x: Tensor): Tensor {
  return new Tensor(native.relu(asTensor(x, 'x').handle))
}

export function transpose(x: Tensor, axes?: readonly number[]): Tensor {
  return new Tensor(native.transpose(asTensor(x, 'x').handle, axes === undefined ? null : checkShapeArg(axes, 'axes')))
}

export interface ReduceOptions {
  keepdims?: boolean
}

function axesArg(axis: number | readonly number[] | undefined | null): number[] | null {
  if (axis === undefined || axis === null) return null
  if (typeof axis === 'number') return [axis]
  return checkShapeArg(axis, 'axis')
}

export function sum(x: Tensor, axis?: number | readonly number[] | null, { keepdims = false }: ReduceOptions = {}): Tensor {
  return new Tensor(native.sum(asTensor(x, 'x').handle, axesArg(axis), keepdims))
}

export function mean(x: Tensor, axis?: number | readonly number[] | null, { keepdims = false }: ReduceOptions = {}): Tensor {
  return new Tensor(native.mean(asTensor(x, 'x').handle, axesArg(axis), keepdims))
}
