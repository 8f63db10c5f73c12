// jnp: array creation and ops, each a Rust kernel behind the addon.
import { codedError, codedTypeError, showShape } from './coded-error'
import { native, type NumericArray, type TensorHandle } from './native'
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
  [Int8Array, 'int8'],
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
  Maximum = 4,
  Minimum = 5,
  Power = 6,
}

/**
 * A two-operand op of tensors and/or JS numbers: tensor-tensor through `both`, else through
 * `scalar(op, tensor, number, numberOnLeft)` (two numbers: the left one as a 0-d float32).
 */
function twoOperands(
  both: (op: number, a: TensorHandle, b: TensorHandle) => TensorHandle,
  scalar: (op: number, a: TensorHandle, s: number, left: boolean) => TensorHandle,
  op: number,
  name: string,
  a: Operand,
  b: Operand,
): Tensor {
  if (a instanceof Tensor) {
    if (b instanceof Tensor) return new Tensor(both(op, a.handle, b.handle))
    if (typeof b === 'number') return new Tensor(scalar(op, a.handle, b, false))
    throw codedTypeError(`${name}: b must be a Tensor or a number, got ${describe(b)}`)
  }
  if (typeof a === 'number') {
    if (b instanceof Tensor) return new Tensor(scalar(op, b.handle, a, true))
    if (typeof b === 'number') return new Tensor(scalar(op, native.full([], a, 'float32'), b, false))
    throw codedTypeError(`${name}: b must be a Tensor or a number, got ${describe(b)}`)
  }
  throw codedTypeError(`${name}: a must be a Tensor or a number, got ${describe(a)}`)
}

const binary = (op: Op, name: string, a: Operand, b: Operand): Tensor => twoOperands(native.binary, native.binaryScalar, op, name, a, b)

export const add = (a: Operand, b: Operand): Tensor => binary(Op.Add, 'add', a, b)
export const subtract = (a: Operand, b: Operand): Tensor => binary(Op.Subtract, 'subtract', a, b)
export const multiply = (a: Operand, b: Operand): Tensor => binary(Op.Multiply, 'multiply', a, b)
export const divide = (a: Operand, b: Operand): Tensor => binary(Op.Divide, 'divide', a, b)
/** Elementwise maximum; NaN if either operand is NaN. */
export const maximum = (a: Operand, b: Operand): Tensor => binary(Op.Maximum, 'maximum', a, b)
/** Elementwise minimum; NaN if either operand is NaN. */
export const minimum = (a: Operand, b: Operand): Tensor => binary(Op.Minimum, 'minimum', a, b)
/**
 * `a ** b`. An integer-valued number exponent is `lax.integer_pow` (repeated multiplication, so
 * `power(x, 2)` is exactly `x * x`); integer tensors need non-negative exponents (E_ARG).
 */
export const power = (a: Operand, b: Operand): Tensor => binary(Op.Power, 'power', a, b)

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

// ---- elementwise math: one native entry point, `unary(op, x)` ---------------------------------

/** Codes of the native `unary(op, x)`, in the order of the core's `UnaryOp::ALL`. */
const enum Unary {
  Exp = 0,
  Log = 1,
  Sqrt = 2,
  Rsqrt = 3,
  Tanh = 4,
  Abs = 5,
  Negative = 6,
  Square = 7,
  Reciprocal = 8,
  Floor = 9,
  Ceil = 10,
  Sigmoid = 11,
  Silu = 12,
  Gelu = 13,
  GeluExact = 14,
  Erf = 15,
  LogicalNot = 16,
}

/** A tensor operand's handle; a JS number becomes a float32 scalar. */
function operandHandle(x: unknown, name: string, what: string): TensorHandle {
  if (x instanceof Tensor) return x.handle
  if (typeof x === 'number') return native.full([], x, 'float32')
  throw codedTypeError(`${name}: ${what} must be a Tensor or a number, got ${describe(x)}`)
}

function unary(op: Unary, name: string, x: Operand): Tensor {
  return new Tensor(native.unary(op, operandHandle(x, name, 'x')))
}

/** e^x (integers and bool are computed in float32, as in jnp). */
export const exp = (x: Operand): Tensor => unary(Unary.Exp, 'exp', x)
/** Natural logarithm. */
export const log = (x: Operand): Tensor => unary(Unary.Log, 'log', x)
export const sqrt = (x: Operand): Tensor => unary(Unary.Sqrt, 'sqrt', x)
/** `1 / sqrt(x)` (jax.lax.rsqrt; float32 only). */
export const rsqrt = (x: Operand): Tensor => unary(Unary.Rsqrt, 'rsqrt', x)
export const tanh = (x: Operand): Tensor => unary(Unary.Tanh, 'tanh', x)
/** |x|; integer dtypes are kept (int32's minimum wraps, as in numpy). */
export const abs = (x: Operand): Tensor => unary(Unary.Abs, 'abs', x)
/** -x; integer dtypes are kept (unsigned values wrap). */
export const negative = (x: Operand): Tensor => unary(Unary.Negative, 'negative', x)
/** x * x; integer dtypes are kept (wrapping), bool becomes int32. */
export const square = (x: Operand): Tensor => unary(Unary.Square, 'square', x)
/** 1 / x (integers are computed in float32). */
export const reciprocal = (x: Operand): Tensor => unary(Unary.Reciprocal, 'reciprocal', x)
/** Round toward -inf; integers are returned unchanged (a copy). */
export const floor = (x: Operand): Tensor => unary(Unary.Floor, 'floor', x)
/** Round toward +inf; integers are returned unchanged (a copy). */
export const ceil = (x: Operand): Tensor => unary(Unary.Ceil, 'ceil', x)
/** The error function (jax.lax.erf, XLA's float32 rational approximation). */
export const erf = (x: Operand): Tensor => unary(Unary.Erf, 'erf', x)
/** `1 / (1 + exp(-x))` (jax.nn.sigmoid; float32 only). */
export const sigmoid = (x: Operand): Tensor => unary(Unary.Sigmoid, 'sigmoid', x)
/** `x * sigmoid(x)` (jax.nn.silu, a.k.a. swish; float32 only). */
export const silu = (x: Operand): Tensor => unary(Unary.Silu, 'silu', x)

/**
 * jax.nn.gelu. `approximate = true` (jax's default) is the tanh form
 * `x * 0.5 * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3)))`; false is `0.5 x erfc(-x / sqrt(2))`.
 * float32 only.
 */
export function gelu(x: Operand, approximate = true): Tensor {
  if (typeof approximate !== 'boolean') throw codedTypeError(`gelu: approximate must be a boolean, got ${describe(approximate)}`)
  return unary(approximate ? Unary.Gelu : Unary.GeluExact, 'gelu', x)
}

// ---- comparisons and logical ops: bool tensors ------------------------------------------------

const enum Cmp {
  Equal = 0,
  NotEqual = 1,
  Less = 2,
  LessEqual = 3,
  Greater = 4,
  GreaterEqual = 5,
}

const compare = (op: Cmp, name: string, a: Operand, b: Operand): Tensor => twoOperands(native.compare, native.compareScalar, op, name, a, b)

/** `a == b` elementwise (broadcasting); a number compares with jnp's weak typing. */
export const equal = (a: Operand, b: Operand): Tensor => compare(Cmp.Equal, 'equal', a, b)
export const notEqual = (a: Operand, b: Operand): Tensor => compare(Cmp.NotEqual, 'notEqual', a, b)
export const less = (a: Operand, b: Operand): Tensor => compare(Cmp.Less, 'less', a, b)
export const lessEqual = (a: Operand, b: Operand): Tensor => compare(Cmp.LessEqual, 'lessEqual', a, b)
export const greater = (a: Operand, b: Operand): Tensor => compare(Cmp.Greater, 'greater', a, b)
export const greaterEqual = (a: Operand, b: Operand): Tensor => compare(Cmp.GreaterEqual, 'greaterEqual', a, b)

/** A tensor, or a JS number or boolean used as a scalar. */
export type LogicalOperand = Tensor | number | boolean

/** A logical operand's handle: numbers and booleans become a bool scalar (`x != 0`). */
function truthHandle(x: unknown, name: string, what: string): TensorHandle {
  if (x instanceof Tensor) return x.handle
  if (typeof x === 'number' || typeof x === 'boolean') return native.full([], Number(x), 'bool')
  throw codedTypeError(`${name}: ${what} must be a Tensor, a number or a boolean, got ${describe(x)}`)
}

const enum Logic {
  And = 0,
  Or = 1,
  Xor = 2,
}

function logical(op: Logic, name: string, a: LogicalOperand, b: LogicalOperand): Tensor {
  return new Tensor(native.logical(op, truthHandle(a, name, 'a'), truthHandle(b, name, 'b')))
}

/** Elementwise `a && b` of any dtypes (non-zero is true); a bool tensor. */
export const logicalAnd = (a: LogicalOperand, b: LogicalOperand): Tensor => logical(Logic.And, 'logicalAnd', a, b)
export const logicalOr = (a: LogicalOperand, b: LogicalOperand): Tensor => logical(Logic.Or, 'logicalOr', a, b)
export const logicalXor = (a: LogicalOperand, b: LogicalOperand): Tensor => logical(Logic.Xor, 'logicalXor', a, b)
export function logicalNot(x: LogicalOperand): Tensor {
  return new Tensor(native.unary(Unary.LogicalNot, truthHandle(x, 'logicalNot', 'x')))
}

/** A `where` branch: a tensor handle, a number (weakly typed) or a bool scalar for a boolean. */
function branch(x: unknown, what: string): TensorHandle | number {
  if (x instanceof Tensor) return x.handle
  if (typeof x === 'number') return x
  if (typeof x === 'boolean') return native.full([], Number(x), 'bool')
  throw codedTypeError(`where: ${what} must be a Tensor, a number or a boolean, got ${describe(x)}`)
}

/**
 * `x` where `condition` is true (non-zero), else `y`; all three broadcast together. The result
 * has the dtype of x and y (numbers are weakly typed: `where(c, t, 0)` keeps t's dtype).
 */
export function where(condition: LogicalOperand, x: LogicalOperand, y: LogicalOperand): Tensor {
  return new Tensor(native.where(truthHandle(condition, 'where', 'condition'), branch(x, 'x'), branch(y, 'y')))
}

/** `minimum(maximum(x, min), max)`; either bound may be omitted (null/undefined). */
export function clip(x: Operand, min?: Operand | null, max?: Operand | null): Tensor {
  if (!(x instanceof Tensor) && typeof x !== 'number') throw codedTypeError(`clip: x must be a Tensor or a number, got ${describe(x)}`)
  const noMin = min === undefined || min === null
  const noMax = max === undefined || max === null
  if (noMin && noMax) return x instanceof Tensor ? x.astype(x.dtype) : new Tensor(native.full([], x, 'float32'))
  const lo = noMin ? x : maximum(x, min)
  if (noMax) return lo as Tensor
  const out = minimum(lo, max)
  if (lo !== x) (lo as Tensor).dispose()
  return out
}

// ---- reductions -------------------------------------------------------------------------------

export interface VarianceOptions extends ReduceOptions {
  /** Delta degrees of freedom: the divisor is `n - ddof` (default 0, the population variance). */
  ddof?: number
}

/** Largest element over `axis` (all axes when omitted); NaN propagates; E_SHAPE if empty. */
export function max(x: Tensor, axis?: number | readonly number[] | null, { keepdims = false }: ReduceOptions = {}): Tensor {
  return new Tensor(native.max(asTensor(x, 'x').handle, axesArg(axis), keepdims))
}

/** Smallest element over `axis` (all axes when omitted); NaN propagates; E_SHAPE if empty. */
export function min(x: Tensor, axis?: number | readonly number[] | null, { keepdims = false }: ReduceOptions = {}): Tensor {
  return new Tensor(native.min(asTensor(x, 'x').handle, axesArg(axis), keepdims))
}

/** Product over `axis`; dtypes as `sum` (int32/bool → int32, unsigned → uint32, wrapping). */
export function prod(x: Tensor, axis?: number | readonly number[] | null, { keepdims = false }: ReduceOptions = {}): Tensor {
  return new Tensor(native.prod(asTensor(x, 'x').handle, axesArg(axis), keepdims))
}

function ddofArg(ddof: unknown, name: string): number {
  if (typeof ddof !== 'number') throw codedTypeError(`${name}: ddof must be a number, got ${describe(ddof)}`)
  return ddof
}

/** Variance `sum((x - mean)^2) / (n - ddof)` over `axis`, float32 (computed in f64). */
function variance(x: Tensor, axis?: number | readonly number[] | null, { keepdims = false, ddof = 0 }: VarianceOptions = {}): Tensor {
  return new Tensor(native.variance(asTensor(x, 'x').handle, axesArg(axis), keepdims, ddofArg(ddof, 'var')))
}
export { variance as var }

/** Standard deviation: `sqrt(var(x, axis, { ddof }))`. */
export function std(x: Tensor, axis?: number | readonly number[] | null, { keepdims = false, ddof = 0 }: VarianceOptions = {}): Tensor {
  return new Tensor(native.std(asTensor(x, 'x').handle, axesArg(axis), keepdims, ddofArg(ddof, 'std')))
}

function axisArg(axis: unknown, name: string): number | null {
  if (axis === undefined || axis === null) return null
  if (typeof axis !== 'number') throw codedTypeError(`${name}: axis must be a number or null, got ${describe(axis)}`)
  return axis
}

/** Index of the first maximum along `axis` (of the flattened tensor when omitted), int32. */
export function argmax(x: Tensor, axis?: number | null, { keepdims = false }: ReduceOptions = {}): Tensor {
  return new Tensor(native.argmax(asTensor(x, 'x').handle, axisArg(axis, 'argmax'), keepdims))
}

/** Index of the first minimum along `axis` (of the flattened tensor when omitted), int32. */
export function argmin(x: Tensor, axis?: number | null, { keepdims = false }: ReduceOptions = {}): Tensor {
  return new Tensor(native.argmin(asTensor(x, 'x').handle, axisArg(axis, 'argmin'), keepdims))
}

/** jax.nn.softmax: `exp(x - max) / sum(exp(x - max))` over `axis` (default -1; null = all). */
export function softmax(x: Tensor, axis: number | readonly number[] | null = -1): Tensor {
  return new Tensor(native.softmax(asTensor(x, 'x').handle, axesArg(axis)))
}

/** jax.nn.log_softmax: `(x - max) - log(sum(exp(x - max)))` over `axis` (default -1). */
export function logSoftmax(x: Tensor, axis: number | readonly number[] | null = -1): Tensor {
  return new Tensor(native.logSoftmax(asTensor(x, 'x').handle, axesArg(axis)))
}

/** jax.nn.logsumexp: `log(sum(exp(x)))` over `axis` (all axes when omitted), computed stably. */
export function logsumexp(x: Tensor, axis?: number | readonly number[] | null, { keepdims = false }: ReduceOptions = {}): Tensor {
  return new Tensor(native.logsumexp(asTensor(x, 'x').handle, axesArg(axis), keepdims))
}

/** jnp.round: half to even, like lax.round(ROUND_TO_NEAREST_EVEN); integers come back unchanged. */
export function round(x: Tensor, decimals = 0): Tensor {
  return new Tensor(native.round(asTensor(x, 'x').handle, decimals))
}

// ---- indexing and shape ops -------------------------------------------------------------------

export interface TakeOptions {
  /**
   * Out-of-range indices: 'fill' (jnp's default: NaN for float32, the most negative int32, the
   * largest unsigned value, true for bool), 'clip' (clamp) or 'wrap' (modulo the axis size).
   * Negative indices count from the end in 'fill' mode.
   */
  mode?: 'fill' | 'clip' | 'wrap'
}

/** An integer index tensor: a Tensor, a number (0-d) or an array of numbers (int32). */
function indicesHandle(indices: unknown, name: string): TensorHandle {
  if (indices instanceof Tensor) return indices.handle
  if (typeof indices === 'number' || Array.isArray(indices)) return array(indices as ArrayLike, 'int32').handle
  throw codedTypeError(`${name}: indices must be a Tensor, a number or an array of numbers, got ${describe(indices)}`)
}

/**
 * jnp.take: entries of `x` along `axis` (of the flattened `x` when omitted) at `indices`; the
 * result shape is `x.shape[:axis] + indices.shape + x.shape[axis+1:]`.
 */
export function take(x: Tensor, indices: Tensor | number | readonly number[], axis?: number | null, { mode = 'fill' }: TakeOptions = {}): Tensor {
  return new Tensor(native.take(asTensor(x, 'x').handle, indicesHandle(indices, 'take'), axisArg(axis, 'take'), mode))
}

export interface OneHotOptions {
  dtype?: DType
  /** Where the class axis goes (default -1, last). */
  axis?: number
}

/** jax.nn.one_hot: `x[..., None] == arange(numClasses)` as `dtype` (default float32). */
export function oneHot(x: Tensor | number | readonly number[], numClasses: number, { dtype = 'float32', axis = -1 }: OneHotOptions = {}): Tensor {
  const h = x instanceof Tensor ? x.handle : indicesHandle(x, 'oneHot')
  return new Tensor(native.oneHot(h, numClasses, dtype, axis))
}

function handles(xs: unknown, name: string): TensorHandle[] {
  if (!Array.isArray(xs)) throw codedTypeError(`${name}: xs must be an array of Tensors, got ${describe(xs)}`)
  return xs.map((t, i) => asTensor(t, `${name}: xs[${i}]`).handle)
}

/** Joins tensors along an existing axis (all other dimensions must match). */
export function concatenate(xs: readonly Tensor[], axis = 0): Tensor {
  return new Tensor(native.concatenate(handles(xs, 'concatenate'), axis))
}

/** Joins tensors of equal shape along a new axis. */
export function stack(xs: readonly Tensor[], axis = 0): Tensor {
  return new Tensor(native.stack(handles(xs, 'stack'), axis))
}

function axesList(axis: unknown, name: string): number[] {
  if (typeof axis === 'number') return [axis]
  return checkShapeArg(axis, `${name}: axis`)
}

/** Inserts size-1 axes at `axis` (positions in the result); shares storage. */
export function expandDims(x: Tensor, axis: number | readonly number[]): Tensor {
  return new Tensor(native.expandDims(asTensor(x, 'x').handle, axesList(axis, 'expandDims')))
}

/** Removes size-1 axes (`axis`, or all of them when omitted); shares storage. */
export function squeeze(x: Tensor, axis?: number | readonly number[] | null): Tensor {
  return new Tensor(native.squeeze(asTensor(x, 'x').handle, axesArg(axis)))
}

/** A copy of `x` repeated along broadcast axes to exactly `shape`. */
export function broadcastTo(x: Tensor, shape: readonly number[]): Tensor {
  return new Tensor(native.broadcastTo(asTensor(x, 'x').handle, checkShapeArg(shape, 'shape')))
}

export function swapaxes(x: Tensor, axis1: number, axis2: number): Tensor {
  return new Tensor(native.swapaxes(asTensor(x, 'x').handle, axis1, axis2))
}

/** Moves axes `source` to positions `destination`; the other axes keep their order. */
export function moveaxis(x: Tensor, source: number | readonly number[], destination: number | readonly number[]): Tensor {
  return new Tensor(native.moveaxis(asTensor(x, 'x').handle, axesList(source, 'moveaxis'), axesList(destination, 'moveaxis')))
}

/** A copy of `x` cast to `dtype` (numpy rules: float→int truncates, x→bool is x != 0). */
export function astype(x: Tensor, dtype: DType): Tensor {
  return asTensor(x, 'x').astype(dtype)
}
