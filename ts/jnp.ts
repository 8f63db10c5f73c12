// jnp: array creation and ops, each a Rust kernel behind the addon.
import { checkArrayLength, codedError, codedRangeError, codedTypeError, optionsArg, showShape } from './coded-error'
import { native, type NumericArray, type TensorHandle } from './native'
import { op1, opCode } from './ops'
import { Tensor, asTensor, checkShapeArg, describe, isFloatDtype, type DType, type NestedArray } from './tensor'
export { tidy } from './tidy'
export { einsum } from './einsum'

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

export interface ArrayOptions {
  dtype?: DType
}

/** `array`'s dtype argument: a dtype name, `{ dtype }`, or nothing. */
function dtypeArg(dtype: unknown): DType | undefined {
  if (dtype === undefined || dtype === null) return undefined
  if (typeof dtype === 'string') return dtype as DType
  if (typeof dtype === 'object' && !Array.isArray(dtype)) return (dtype as ArrayOptions).dtype ?? undefined
  throw codedTypeError(`array: dtype must be a dtype name or { dtype }, got ${describe(dtype)}`)
}

/**
 * A new tensor from nested arrays or a typed array (always a copy into native storage).
 * Default dtype: the typed array's (Float64Array → float32), `bool` for booleans, else float32
 * (JS has no int/float literal distinction, and float32 is what models consume). Integer data
 * takes an explicit dtype: `array([1, 2], 'int32')` or `array([1, 2], { dtype: 'int32' })`
 * (numbers are converted as numpy does: fractions truncate toward zero).
 */
export function array(data: ArrayLike | Tensor, dtypeOrOptions?: DType | ArrayOptions): Tensor {
  const dtype = dtypeArg(dtypeOrOptions)
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
    checkArrayLength(probe, 'array: data')
    // NumPy's limit on dimensions: deeper nesting is a mistake (or a cycle), and the recursive
    // walk below would overflow the stack on it.
    if (shape.length === 64) throw codedRangeError('E_ARG', 'array: data is nested more than 64 levels deep (at most 64 dimensions)')
    shape.push(probe.length)
    probe = probe[0]
  }
  const size = shape.reduce((a, b) => a * b, 1)
  // A JS array claims any length (`new Array(2 ** 32 - 1)` is empty): refuse what could not be
  // staged (8 bytes an element) before allocating for it.
  if (size * 8 > native.getMaxBytes()) {
    throw codedRangeError('E_ALLOC', `array: data of shape ${showShape(shape)} needs ${size * 8} bytes to copy, more than the byte cap of ${native.getMaxBytes()} bytes (setMaxBytes)`)
  }
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

const FULL = opCode('full')

export function full(shape: readonly number[], value: number | boolean, dtype?: DType): Tensor {
  const dt = dtype ?? (typeof value === 'boolean' ? 'bool' : 'float32')
  if (typeof value !== 'number' && typeof value !== 'boolean') throw codedTypeError(`full: value must be a number or boolean, got ${describe(value)}`)
  return new Tensor(op1(FULL, checkShapeArg(shape, 'shape'), Number(value), dt))
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
  return new Tensor(op1(opCode('arange'), start, end, step, dt))
}

export function linspace(start: number, stop: number, num = 50): Tensor {
  return new Tensor(op1(opCode('linspace'), start, stop, num))
}

export function eye(n: number, m?: number, dtype: DType = 'float32'): Tensor {
  return new Tensor(op1(opCode('eye'), n, m ?? n, dtype))
}

export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  return asTensor(x, 'x').reshape(shape)
}

const MATMUL = opCode('matmul')

export interface MatmulOptions {
  /**
   * JAX's `preferred_element_type`: the result's dtype. Products are always summed in float32,
   * so `'float32'` with bfloat16 or float16 operands returns those float32 sums unrounded
   * (null, the default, gives JAX's promoted dtype: bfloat16 for two bfloat16 operands).
   */
  preferredElementType?: DType | null
}

/**
 * jnp.matmul of float tensors. float16 / bfloat16 `b` (weights) are read as they are, widened to
 * float32 inside the kernel: `matmul(x, w)` with a bfloat16 `w` equals
 * `matmul(x, w.astype('float32'))` bit for bit, reading half the bytes.
 */
export function matmul(a: Tensor, b: Tensor, options: MatmulOptions = {}): Tensor {
  const { preferredElementType = null } = optionsArg(options, 'matmul')
  const ha = asTensor(a, 'a').handle
  const hb = asTensor(b, 'b').handle
  if (preferredElementType === null) return new Tensor(op1(MATMUL, ha, hb))
  if (!isFloatDtype(preferredElementType)) {
    throw codedError('E_DTYPE', `matmul: preferredElementType must be float32, float16 or bfloat16, got ${typeof preferredElementType === 'string' ? preferredElementType : describe(preferredElementType)}`)
  }
  // A float32 a makes the product float32 (its sums unrounded); then one rounding to the
  // preferred dtype.
  const a32 = a.dtype === 'float32' ? a : a.astype('float32')
  const out = new Tensor(op1(MATMUL, a32.handle, hb))
  if (a32 !== a) a32.dispose()
  if (out.dtype === preferredElementType) return out
  const cast = out.astype(preferredElementType)
  out.dispose()
  return cast
}

/** A tensor or number operand's handle or value, for the table's `Operand` slots. */
function operand(x: unknown, name: string, what: string): TensorHandle | number {
  if (x instanceof Tensor) return x.handle
  if (typeof x === 'number') return x
  throw codedTypeError(`${name}: ${what} must be a Tensor or a number, got ${describe(x)}`)
}

/** A two-operand op of tensors and/or JS numbers (numbers are weakly typed scalars). */
function binaryOp(name: string): (a: Operand, b: Operand) => Tensor {
  const code = opCode(name)
  return (a, b) => new Tensor(op1(code, operand(a, name, 'a'), operand(b, name, 'b')))
}

export const add = binaryOp('add')
export const subtract = binaryOp('subtract')
export const multiply = binaryOp('multiply')
export const divide = binaryOp('divide')
/** Elementwise maximum; NaN if either operand is NaN. */
export const maximum = binaryOp('maximum')
/** Elementwise minimum; NaN if either operand is NaN. */
export const minimum = binaryOp('minimum')
/**
 * `a ** b`. An integer-valued number exponent is `lax.integer_pow` (repeated multiplication, so
 * `power(x, 2)` is exactly `x * x`); integer tensors need non-negative exponents (E_ARG).
 */
export const power = binaryOp('power')

/** Upper triangle of the last two axes: zeroes entries below the k-th diagonal. */
const TRIU = opCode('triu')
export function triu(x: Tensor, k = 0): Tensor {
  return new Tensor(op1(TRIU, asTensor(x, 'x').handle, k))
}

/** Lower triangle of the last two axes: zeroes entries above the k-th diagonal. */
const TRIL = opCode('tril')
export function tril(x: Tensor, k = 0): Tensor {
  return new Tensor(op1(TRIL, asTensor(x, 'x').handle, k))
}

const SIGN = opCode('sign')
export function sign(x: Tensor): Tensor {
  return new Tensor(op1(SIGN, asTensor(x, 'x').handle))
}

/** max(x, 0); exported to users as `nn.relu`. */
const RELU = opCode('relu')
export function relu(x: Tensor): Tensor {
  return new Tensor(op1(RELU, asTensor(x, 'x').handle))
}

const TRANSPOSE = opCode('transpose')
export function transpose(x: Tensor, axes?: readonly number[]): Tensor {
  return new Tensor(op1(TRANSPOSE, asTensor(x, 'x').handle, axes === undefined ? null : checkShapeArg(axes, 'axes')))
}

const REDUCE = { sum: opCode('sum'), mean: opCode('mean'), max: opCode('max'), min: opCode('min'), prod: opCode('prod'), logsumexp: opCode('logsumexp') }

export interface ReduceOptions {
  keepdims?: boolean
}

function axesArg(axis: number | readonly number[] | undefined | null): number[] | null {
  if (axis === undefined || axis === null) return null
  if (typeof axis === 'number') return [axis]
  return checkShapeArg(axis, 'axis')
}

export function sum(x: Tensor, axis?: number | readonly number[] | null, options: ReduceOptions = {}): Tensor {
  const { keepdims = false } = optionsArg(options, 'sum')
  return new Tensor(op1(REDUCE.sum, asTensor(x, 'x').handle, axesArg(axis), keepdims))
}

export function mean(x: Tensor, axis?: number | readonly number[] | null, options: ReduceOptions = {}): Tensor {
  const { keepdims = false } = optionsArg(options, 'mean')
  return new Tensor(op1(REDUCE.mean, asTensor(x, 'x').handle, axesArg(axis), keepdims))
}

/** jnp.any: whether some element along `axis` (all axes when omitted) is nonzero (bool). */
export function any(x: Tensor, axis?: number | readonly number[] | null, options: ReduceOptions = {}): Tensor {
  const { keepdims = false } = optionsArg(options, 'any')
  return new Tensor(op1(opCode('any'), asTensor(x, 'x').handle, axesArg(axis), keepdims))
}

/** jnp.all: whether every element along `axis` (all axes when omitted) is nonzero (bool). */
export function all(x: Tensor, axis?: number | readonly number[] | null, options: ReduceOptions = {}): Tensor {
  const { keepdims = false } = optionsArg(options, 'all')
  return new Tensor(op1(opCode('all'), asTensor(x, 'x').handle, axesArg(axis), keepdims))
}

export { sort, argsort, searchsorted, type SortOptions, type SearchsortedOptions } from './jnp-sort'
export { pad, split, arraySplit, tile, repeat, type PadOptions, type RepeatOptions } from './jnp-layout'

// ---- elementwise math: one native entry point, `unary(op, x)` ---------------------------------

/** A one-operand elementwise op of a tensor or a number (a float32 scalar). */
function unaryOp(name: string, jsName = name): (x: Operand) => Tensor {
  const code = opCode(name)
  return (x) => new Tensor(op1(code, operand(x, jsName, 'x')))
}

/** e^x, XLA's CPU kernel bit for bit (integers and bool are computed in float32, as in jnp). */
export const exp = unaryOp('exp')
/** Natural logarithm. */
export const log = unaryOp('log')
export const sqrt = unaryOp('sqrt')
/** `1 / sqrt(x)` (jax.lax.rsqrt; float32 only). */
export const rsqrt = unaryOp('rsqrt')
export const tanh = unaryOp('tanh')
/** |x|; integer dtypes are kept (int32's minimum wraps, as in numpy). */
export const abs = unaryOp('abs')
/** -x; integer dtypes are kept (unsigned values wrap). */
export const negative = unaryOp('negative')
/** x * x; integer dtypes are kept (wrapping), bool becomes int32. */
export const square = unaryOp('square')
/** 1 / x (integers are computed in float32). */
export const reciprocal = unaryOp('reciprocal')
/** Round toward -inf; integers are returned unchanged (a copy). */
export const floor = unaryOp('floor')
/** Round toward +inf; integers are returned unchanged (a copy). */
export const ceil = unaryOp('ceil')
/** The error function (jax.lax.erf, XLA's float32 rational approximation). */
export const erf = unaryOp('erf')
/** `1 / (1 + exp(-x))` (jax.nn.sigmoid; float32 only). */
export const sigmoid = unaryOp('sigmoid')
/** `x * sigmoid(x)` (jax.nn.silu, a.k.a. swish; float32 only). */
export const silu = unaryOp('silu')

/**
 * jax.nn.gelu. `approximate = true` (jax's default) is the tanh form
 * `x * 0.5 * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3)))`; false is `0.5 x erfc(-x / sqrt(2))`.
 * float32 only.
 */
const geluTanh = unaryOp('gelu')
const geluExact = unaryOp('gelu(approximate=false)', 'gelu')

export function gelu(x: Operand, approximate = true): Tensor {
  if (typeof approximate !== 'boolean') throw codedTypeError(`gelu: approximate must be a boolean, got ${describe(approximate)}`)
  return approximate ? geluTanh(x) : geluExact(x)
}

// ---- comparisons and logical ops: bool tensors ------------------------------------------------

/** `a == b` elementwise (broadcasting); a number compares with jnp's weak typing. */
export const equal = binaryOp('equal')
export const notEqual = binaryOp('not_equal')
export const less = binaryOp('less')
export const lessEqual = binaryOp('less_equal')
export const greater = binaryOp('greater')
export const greaterEqual = binaryOp('greater_equal')

/** A tensor, or a JS number or boolean used as a scalar. */
export type LogicalOperand = Tensor | number | boolean

/** A logical operand: a tensor's handle, or a number or boolean as a number (`x != 0` is taken). */
function truth(x: unknown, name: string, what: string): TensorHandle | number {
  if (x instanceof Tensor) return x.handle
  if (typeof x === 'number' || typeof x === 'boolean') return Number(x)
  throw codedTypeError(`${name}: ${what} must be a Tensor, a number or a boolean, got ${describe(x)}`)
}

function logicalOp(name: string, jsName: string): (a: LogicalOperand, b: LogicalOperand) => Tensor {
  const code = opCode(name)
  return (a, b) => new Tensor(op1(code, truth(a, jsName, 'a'), truth(b, jsName, 'b')))
}

/** Elementwise `a && b` of any dtypes (non-zero is true); a bool tensor. */
export const logicalAnd = logicalOp('logical_and', 'logicalAnd')
export const logicalOr = logicalOp('logical_or', 'logicalOr')
export const logicalXor = logicalOp('logical_xor', 'logicalXor')
const LOGICAL_NOT = opCode('logical_not')
export function logicalNot(x: LogicalOperand): Tensor {
  return new Tensor(op1(LOGICAL_NOT, truth(x, 'logicalNot', 'x')))
}

/** A `where` branch: a tensor handle, a number (weakly typed) or a bool scalar for a boolean. */
function branch(x: unknown, what: string): TensorHandle | number {
  if (x instanceof Tensor) return x.handle
  if (typeof x === 'number') return x
  if (typeof x === 'boolean') return op1(FULL, [], Number(x), 'bool')
  throw codedTypeError(`where: ${what} must be a Tensor, a number or a boolean, got ${describe(x)}`)
}

const WHERE = opCode('where')
/**
 * `x` where `condition` is true (non-zero), else `y`; all three broadcast together. The result
 * has the dtype of x and y (numbers are weakly typed: `where(c, t, 0)` keeps t's dtype).
 */
export function where(condition: LogicalOperand, x: LogicalOperand, y: LogicalOperand): Tensor {
  return new Tensor(op1(WHERE, truth(condition, 'where', 'condition'), branch(x, 'x'), branch(y, 'y')))
}

/** `minimum(maximum(x, min), max)`; either bound may be omitted (null/undefined). */
export function clip(x: Operand, min?: Operand | null, max?: Operand | null): Tensor {
  if (!(x instanceof Tensor) && typeof x !== 'number') throw codedTypeError(`clip: x must be a Tensor or a number, got ${describe(x)}`)
  const noMin = min === undefined || min === null
  const noMax = max === undefined || max === null
  if (noMin && noMax) return x instanceof Tensor ? x.astype(x.dtype) : full([], x, 'float32')
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
export function max(x: Tensor, axis?: number | readonly number[] | null, options: ReduceOptions = {}): Tensor {
  const { keepdims = false } = optionsArg(options, 'max')
  return new Tensor(op1(REDUCE.max, asTensor(x, 'x').handle, axesArg(axis), keepdims))
}

/** Smallest element over `axis` (all axes when omitted); NaN propagates; E_SHAPE if empty. */
export function min(x: Tensor, axis?: number | readonly number[] | null, options: ReduceOptions = {}): Tensor {
  const { keepdims = false } = optionsArg(options, 'min')
  return new Tensor(op1(REDUCE.min, asTensor(x, 'x').handle, axesArg(axis), keepdims))
}

/** Product over `axis`; dtypes as `sum` (int32/bool → int32, unsigned → uint32, wrapping). */
export function prod(x: Tensor, axis?: number | readonly number[] | null, options: ReduceOptions = {}): Tensor {
  const { keepdims = false } = optionsArg(options, 'prod')
  return new Tensor(op1(REDUCE.prod, asTensor(x, 'x').handle, axesArg(axis), keepdims))
}

function ddofArg(ddof: unknown, name: string): number {
  if (typeof ddof !== 'number') throw codedTypeError(`${name}: ddof must be a number, got ${describe(ddof)}`)
  return ddof
}

/** Variance `sum((x - mean)^2) / (n - ddof)` over `axis`, float32 (computed in f64). */
function variance(x: Tensor, axis?: number | readonly number[] | null, options: VarianceOptions = {}): Tensor {
  const { keepdims = false, ddof = 0 } = optionsArg(options, 'var')
  return new Tensor(op1(opCode('var'), asTensor(x, 'x').handle, axesArg(axis), keepdims, ddofArg(ddof, 'var')))
}
export { variance as var }

/** Standard deviation: `sqrt(var(x, axis, { ddof }))`. */
export function std(x: Tensor, axis?: number | readonly number[] | null, options: VarianceOptions = {}): Tensor {
  const { keepdims = false, ddof = 0 } = optionsArg(options, 'std')
  return new Tensor(op1(opCode('std'), asTensor(x, 'x').handle, axesArg(axis), keepdims, ddofArg(ddof, 'std')))
}

function axisArg(axis: unknown, name: string): number | null {
  if (axis === undefined || axis === null) return null
  if (typeof axis !== 'number') throw codedTypeError(`${name}: axis must be a number or null, got ${describe(axis)}`)
  return axis
}

/** Index of the first maximum along `axis` (of the flattened tensor when omitted), int32. */
export function argmax(x: Tensor, axis?: number | null, options: ReduceOptions = {}): Tensor {
  const { keepdims = false } = optionsArg(options, 'argmax')
  return new Tensor(op1(opCode('argmax'), asTensor(x, 'x').handle, axisArg(axis, 'argmax'), keepdims))
}

/** Index of the first minimum along `axis` (of the flattened tensor when omitted), int32. */
export function argmin(x: Tensor, axis?: number | null, options: ReduceOptions = {}): Tensor {
  const { keepdims = false } = optionsArg(options, 'argmin')
  return new Tensor(op1(opCode('argmin'), asTensor(x, 'x').handle, axisArg(axis, 'argmin'), keepdims))
}

/** jax.nn.softmax: `exp(x - max) / sum(exp(x - max))` over `axis` (default -1; null = all). */
export function softmax(x: Tensor, axis: number | readonly number[] | null = -1): Tensor {
  return new Tensor(op1(opCode('softmax'), asTensor(x, 'x').handle, axesArg(axis)))
}

/** jax.nn.log_softmax: `(x - max) - log(sum(exp(x - max)))` over `axis` (default -1). */
export function logSoftmax(x: Tensor, axis: number | readonly number[] | null = -1): Tensor {
  return new Tensor(op1(opCode('log_softmax'), asTensor(x, 'x').handle, axesArg(axis)))
}

/** jax.nn.logsumexp: `log(sum(exp(x)))` over `axis` (all axes when omitted), computed stably. */
export function logsumexp(x: Tensor, axis?: number | readonly number[] | null, options: ReduceOptions = {}): Tensor {
  const { keepdims = false } = optionsArg(options, 'logsumexp')
  return new Tensor(op1(REDUCE.logsumexp, asTensor(x, 'x').handle, axesArg(axis), keepdims))
}

/** jnp.round: half to even, like lax.round(ROUND_TO_NEAREST_EVEN); integers come back unchanged. */
export function round(x: Tensor, decimals = 0): Tensor {
  return new Tensor(op1(opCode('round'), asTensor(x, 'x').handle, decimals))
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

/**
 * An integer index tensor: a Tensor, a number (0-d) or an array of numbers (int32). A JS number
 * that is not an integer is refused (E_TYPE), as JAX refuses float indices, instead of being
 * truncated toward 0 by the int32 cast.
 */
function indicesHandle(indices: unknown, name: string): TensorHandle {
  if (indices instanceof Tensor) return indices.handle
  if (typeof indices === 'number' || Array.isArray(indices)) {
    const t = array(indices as ArrayLike)
    if (t.dtype === 'float32' && t.size > 0) {
      const data = t.data
      for (let i = 0; i < data.length; i++) {
        const v = data[i]
        const at = typeof indices === 'number' ? '' : ` at flat position ${i}`
        if (!Number.isInteger(v)) {
          t.dispose()
          throw codedTypeError(`${name}: indices must be integers, got ${v}${at}`)
        }
        if (v > 2147483647 || v < -2147483648) {
          t.dispose()
          throw codedRangeError('E_ARG', `${name}: index ${v}${at} does not fit int32 (JAX's index dtype)`)
        }
      }
    }
    t.dispose()
    return array(indices as ArrayLike, 'int32').handle
  }
  throw codedTypeError(`${name}: indices must be a Tensor, a number or an array of numbers, got ${describe(indices)}`)
}

/**
 * jnp.take: entries of `x` along `axis` (of the flattened `x` when omitted) at `indices`; the
 * result shape is `x.shape[:axis] + indices.shape + x.shape[axis+1:]`.
 */
export function take(x: Tensor, indices: Tensor | number | readonly number[], axis?: number | null, options: TakeOptions = {}): Tensor {
  const { mode = 'fill' } = optionsArg(options, 'take')
  return new Tensor(op1(opCode('take'), asTensor(x, 'x').handle, indicesHandle(indices, 'take'), axisArg(axis, 'take'), mode))
}

export interface OneHotOptions {
  dtype?: DType
  /** Where the class axis goes (default -1, last). */
  axis?: number
}

/** jax.nn.one_hot: `x[..., None] == arange(numClasses)` as `dtype` (default float32). */
export function oneHot(x: Tensor | number | readonly number[], numClasses: number, options: OneHotOptions = {}): Tensor {
  const { dtype = 'float32', axis = -1 } = optionsArg(options, 'oneHot')
  if (x instanceof Tensor) return new Tensor(op1(opCode('one_hot'), x.handle, numClasses, dtype, axis))
  if (typeof x !== 'number' && !Array.isArray(x)) throw codedTypeError(`oneHot: x must be a Tensor, a number or an array of numbers, got ${describe(x)}`)
  // JAX compares `x[..., None] == arange(numClasses)`: a value that is not an integer (0.5,
  // NaN) matches no class and gives a row of zeros. Numbers keep their float values for that
  // compare (an int32 cast would make 0.5 and NaN class 0).
  const xs = array(x as ArrayLike, 'float32')
  try {
    return new Tensor(op1(opCode('one_hot'), xs.handle, numClasses, dtype, axis))
  } finally {
    xs.dispose()
  }
}

function handles(xs: unknown, name: string): TensorHandle[] {
  if (!Array.isArray(xs)) throw codedTypeError(`${name}: xs must be an array of Tensors, got ${describe(xs)}`)
  checkArrayLength(xs, `${name}: xs`)
  return xs.map((t, i) => asTensor(t, `${name}: xs[${i}]`).handle)
}

/** Joins tensors along an existing axis (all other dimensions must match). */
export function concatenate(xs: readonly Tensor[], axis = 0): Tensor {
  return new Tensor(op1(opCode('concatenate'), handles(xs, 'concatenate'), axis))
}

/** Joins tensors of equal shape along a new axis. */
export function stack(xs: readonly Tensor[], axis = 0): Tensor {
  return new Tensor(op1(opCode('stack'), handles(xs, 'stack'), axis))
}

function axesList(axis: unknown, name: string): number[] {
  if (typeof axis === 'number') return [axis]
  return checkShapeArg(axis, `${name}: axis`)
}

/** Inserts size-1 axes at `axis` (positions in the result); shares storage. */
export function expandDims(x: Tensor, axis: number | readonly number[]): Tensor {
  return new Tensor(op1(opCode('expand_dims'), asTensor(x, 'x').handle, axesList(axis, 'expandDims')))
}

/** Removes size-1 axes (`axis`, or all of them when omitted); shares storage. */
export function squeeze(x: Tensor, axis?: number | readonly number[] | null): Tensor {
  return new Tensor(op1(opCode('squeeze'), asTensor(x, 'x').handle, axesArg(axis)))
}

/** A copy of `x` repeated along broadcast axes to exactly `shape`. */
export function broadcastTo(x: Tensor, shape: readonly number[]): Tensor {
  return new Tensor(op1(opCode('broadcast_to'), asTensor(x, 'x').handle, checkShapeArg(shape, 'shape')))
}

export function swapaxes(x: Tensor, axis1: number, axis2: number): Tensor {
  return new Tensor(op1(opCode('swapaxes'), asTensor(x, 'x').handle, axis1, axis2))
}

/** Moves axes `source` to positions `destination`; the other axes keep their order. */
export function moveaxis(x: Tensor, source: number | readonly number[], destination: number | readonly number[]): Tensor {
  return new Tensor(op1(opCode('moveaxis'), asTensor(x, 'x').handle, axesList(source, 'moveaxis'), axesList(destination, 'moveaxis')))
}

/** A copy of `x` cast to `dtype` (numpy rules: float→int truncates, x→bool is x != 0). */
export function astype(x: Tensor, dtype: DType): Tensor {
  return asTensor(x, 'x').astype(dtype)
}

// ---- issue 10: trigonometry, special values, integer division, scans, products --------------

/** Sine: JAX's CPU bits (XLA calls glibc's `sinf`, whose algorithm this follows). */
export const sin = unaryOp('sin')
/** Cosine: JAX's CPU bits (glibc's `cosf`, as `sin`). */
export const cos = unaryOp('cos')
/** `log(1 + x)`, accurate near 0 (XLA's rational approximation: JAX's bits). */
export const log1p = unaryOp('log1p')
/** `exp(x) - 1`, accurate near 0 (XLA's `tanh(x/2) * (exp(x) + 1)` form: JAX's bits). */
export const expm1 = unaryOp('expm1')
/** Elementwise NaN test (a bool tensor; integers are never NaN). */
export const isnan = unaryOp('isnan')
/** Elementwise test for finite values (false for ±inf and NaN; integers are always finite). */
export const isfinite = unaryOp('isfinite')

/**
 * jnp.remainder: Python's `a % b`, the result has the divisor's sign (`mod` is an alias).
 * Integer division by zero gives 0, as in JAX (which divides by 1 instead).
 */
export const remainder = binaryOp('remainder')
export const mod = remainder
/**
 * jnp.floor_divide: Python's `a // b`. Integers follow XLA's division (`x // 0` is -1 for
 * signed dtypes and the largest value for unsigned ones, then jnp's sign correction).
 */
export const floorDivide = binaryOp('floor_divide')

/** Reverses the order of elements along `axis` (every axis when omitted). */
export function flip(x: Tensor, axis?: number | readonly number[] | null): Tensor {
  return new Tensor(op1(opCode('flip'), asTensor(x, 'x').handle, axesArg(axis)))
}

/**
 * jnp.cumsum: running sum along `axis` (of the flattened `x` when omitted). Summed in XLA's
 * order (blocks of 16), so float32 results are JAX's bits; integers and bool accumulate in
 * int32 (unsigned in uint32).
 */
export function cumsum(x: Tensor, axis?: number | null): Tensor {
  return new Tensor(op1(opCode('cumsum'), asTensor(x, 'x').handle, axisArg(axis, 'cumsum')))
}

/** jnp.cumprod: running product along `axis`, as `cumsum`. */
export function cumprod(x: Tensor, axis?: number | null): Tensor {
  return new Tensor(op1(opCode('cumprod'), asTensor(x, 'x').handle, axisArg(axis, 'cumprod')))
}

export interface TakeAlongAxisOptions {
  /** Out-of-range indices: 'fill' (default, as `take`), 'clip' or 'wrap'. */
  mode?: 'fill' | 'clip' | 'wrap'
}

/**
 * jnp.take_along_axis: `out[..., j, ...] = x[..., indices[..., j, ...], ...]` along `axis`
 * (of the flattened `x` when null; then `indices` is 1-D). `x` and `indices` have the same
 * rank and broadcast on the other axes. `indices` must be integers (E_DTYPE otherwise).
 */
export function takeAlongAxis(x: Tensor, indices: Tensor | readonly number[], axis: number | null, options: TakeAlongAxisOptions = {}): Tensor {
  const { mode = 'fill' } = optionsArg(options, 'takeAlongAxis')
  if (axis !== null && typeof axis !== 'number') throw codedTypeError(`takeAlongAxis: axis must be a number or null, got ${describe(axis)}`)
  return new Tensor(op1(opCode('take_along_axis'), asTensor(x, 'x').handle, indicesHandle(indices, 'takeAlongAxis'), axis, mode))
}

/** Disposes intermediate tensors (never the caller's own arguments). */
function drop(...ts: Tensor[]): void {
  for (const t of ts) t.dispose()
}

/** Contracts `a`'s axes `ca` with `b`'s axes `cb` (pairwise) by one matmul: `a` as [free, K]
 * times `b` as [K, free]. The result's axes are a's free axes, then b's. */
function contract(a: Tensor, b: Tensor, ca: number[], cb: number[], name: string): Tensor {
  const norm = (axes: number[], nd: number, what: string): number[] =>
    axes.map((ax) => {
      if (!Number.isInteger(ax) || ax < -nd || ax >= nd) throw codedError('E_ARG', `${name}: ${what} axis ${ax} is out of range for ${nd} dimensions`)
      return ax < 0 ? ax + nd : ax
    })
  const ia = norm(ca, a.ndim, 'a')
  const ib = norm(cb, b.ndim, 'b')
  if (new Set(ia).size !== ia.length || new Set(ib).size !== ib.length) throw codedError('E_ARG', `${name}: axes repeat an axis (a: ${ia}, b: ${ib})`)
  for (let i = 0; i < ia.length; i++) {
    if (a.shape[ia[i]] !== b.shape[ib[i]]) {
      throw codedError('E_SHAPE', `${name}: a has shape ${showShape(a.shape)} and b has shape ${showShape(b.shape)}; contracted axes a[${ia[i]}] = ${a.shape[ia[i]]} and b[${ib[i]}] = ${b.shape[ib[i]]} differ`)
    }
  }
  const freeA = [...a.shape.keys()].filter((d) => !ia.includes(d))
  const freeB = [...b.shape.keys()].filter((d) => !ib.includes(d))
  const k = ia.reduce((p, d) => p * a.shape[d], 1)
  const m = freeA.reduce((p, d) => p * a.shape[d], 1)
  const n = freeB.reduce((p, d) => p * b.shape[d], 1)
  const at = transpose(a, [...freeA, ...ia])
  const bt = transpose(b, [...ib, ...freeB])
  const a2 = at.reshape([m, k])
  const b2 = bt.reshape([k, n])
  const prod = !isFloatDtype(a.dtype) && a.dtype === b.dtype ? intProduct(a2, b2, m, k, n) : matmul(a2, b2)
  const out = prod.reshape([...freeA.map((d) => a.shape[d]), ...freeB.map((d) => b.shape[d])])
  drop(at, bt, a2, b2, prod)
  return out
}

/**
 * An integer (or bool) [m, k]·[k, n] in the operands' dtype, as JAX gives it: exact products,
 * sums that wrap (wrapping addition is associative, so the order cannot change the result;
 * bool is "any of the ands"). Broadcast products, then a sum over k.
 */
function intProduct(a2: Tensor, b2: Tensor, m: number, k: number, n: number): Tensor {
  const a3 = a2.reshape([m, k, 1])
  const b3 = b2.reshape([1, k, n])
  const prods = multiply(a3, b3)
  const sums = sum(prods, 1)
  const out = sums.dtype === a2.dtype ? sums : a2.dtype === 'bool' ? notEqual(sums, 0) : sums.astype(a2.dtype)
  drop(a3, b3, prods)
  if (out !== sums) drop(sums)
  return out
}

/**
 * jnp.dot: a scalar operand multiplies; 1-D · 1-D is the inner product; otherwise the sum over
 * `a`'s last axis and `b`'s second-to-last (its only one when 1-D). Float32 goes through the
 * matmul kernel (sums may round differently from XLA's, within float32 rounding); integers of
 * one dtype stay in that dtype and are exact, as in JAX.
 */
export function dot(a: Tensor, b: Tensor): Tensor {
  asTensor(a, 'dot: a')
  asTensor(b, 'dot: b')
  if (a.ndim === 0 || b.ndim === 0) return multiply(a, b)
  return contract(a, b, [-1], [b.ndim === 1 ? 0 : -2], 'dot')
}

/** jnp.outer: `ravel(a)[:, None] * ravel(b)[None, :]` (JAX's definition: exact products). */
export function outer(a: Tensor, b: Tensor): Tensor {
  const ac = asTensor(a, 'outer: a').reshape([-1, 1])
  const bc = asTensor(b, 'outer: b').reshape([1, -1])
  const out = multiply(ac, bc)
  drop(ac, bc)
  return out
}

/**
 * jnp.tensordot: `axes = n` contracts `a`'s last n axes with `b`'s first n (in order);
 * `axes = [axesA, axesB]` contracts those pairs. One matmul after moving the contracted axes
 * together (float32, as `dot`).
 */
export function tensordot(a: Tensor, b: Tensor, axes: number | readonly [number | readonly number[], number | readonly number[]] = 2): Tensor {
  asTensor(a, 'tensordot: a')
  asTensor(b, 'tensordot: b')
  if (typeof axes === 'number') {
    if (!Number.isInteger(axes) || axes < 0 || axes > a.ndim || axes > b.ndim) {
      throw codedError('E_ARG', `tensordot: axes = ${axes} must be an integer in 0..${Math.min(a.ndim, b.ndim)} (the ranks are ${a.ndim} and ${b.ndim})`)
    }
    const ca = Array.from({ length: axes }, (_, i) => a.ndim - axes + i)
    const cb = Array.from({ length: axes }, (_, i) => i)
    return contract(a, b, ca, cb, 'tensordot')
  }
  if (!Array.isArray(axes) || axes.length !== 2) throw codedTypeError(`tensordot: axes must be an integer or a pair [axesA, axesB], got ${describe(axes)}`)
  const list = (x: unknown, what: string): number[] => {
    if (typeof x === 'number') return [x]
    if (Array.isArray(x) && x.every((v) => typeof v === 'number')) return x as number[]
    throw codedTypeError(`tensordot: ${what} must be an integer or an array of integers, got ${describe(x)}`)
  }
  const ca = list(axes[0], 'axes[0]')
  const cb = list(axes[1], 'axes[1]')
  if (ca.length !== cb.length) throw codedError('E_ARG', `tensordot: axes[0] has ${ca.length} axes and axes[1] has ${cb.length}; they must pair up`)
  return contract(a, b, ca, cb, 'tensordot')
}
