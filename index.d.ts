// Types of the native addon loaded by index.js. The TypeScript façade (dist/, from ts/) is the
// public API; these are the raw entry points it wraps. Every entry point validates its arguments
// and throws an Error with a stable `code` (E_SHAPE, E_DTYPE, E_ARG, E_DISPOSED, E_PANIC) or a
// TypeError with code E_TYPE for a wrong JS type.

/** An opaque native tensor handle (a Node-API external owning Rust storage). */
export interface TensorHandle {
  readonly __flaxenTensorHandle: unique symbol
}

/** dtype names accepted and returned by the addon. */
export type NativeDType = 'float32' | 'int32' | 'uint32' | 'uint16' | 'uint8' | 'bool' | 'int8'

export type NumericArray =
  | Float32Array
  | Float64Array
  | Int32Array
  | Uint32Array
  | Uint16Array
  | Uint8Array
  | Int8Array
  | Int16Array

/** dtype codes in `meta()` results, in this order. */
export const DTYPE_NAMES: readonly NativeDType[]

// creation (copies / fills Rust storage)
export function fromData(data: NumericArray, dtype: NativeDType, shape: number[]): TensorHandle
export function full(shape: number[], value: number, dtype: NativeDType): TensorHandle
export function arange(start: number, stop: number, step: number, dtype: NativeDType): TensorHandle
export function linspace(start: number, stop: number, num: number): TensorHandle
export function eye(n: number, m: number, dtype: NativeDType): TensorHandle

// metadata and memory
/** `[dtypeCode, ...shape]`; dtypeCode indexes DTYPE_NAMES. */
export function meta(h: TensorHandle): number[]
/** A typed array viewing the tensor's native memory (no copy). */
export function view(h: TensorHandle): Float32Array | Int32Array | Uint32Array | Uint16Array | Uint8Array | Int8Array
/** Frees the tensor's storage now (when no other tensor shares it); detaches `view` if given. */
export function dispose(h: TensorHandle, view?: ArrayBufferView): void
/** Runs the tensor's deferred work now (a lazy triu/tril is materialised). */
export function blockUntilReady(h: TensorHandle): void
/** Bytes of tensor storage currently alive in this process. */
export function liveBytes(): number

// ops
export function matmul(a: TensorHandle, b: TensorHandle): TensorHandle
/** op: 0 add, 1 subtract, 2 multiply, 3 divide, 4 maximum, 5 minimum, 6 power. */
export function binary(op: number, a: TensorHandle, b: TensorHandle): TensorHandle
export function binaryScalar(op: number, a: TensorHandle, scalar: number, scalarOnLeft: boolean): TensorHandle
export function triu(x: TensorHandle, k: number): TensorHandle
export function tril(x: TensorHandle, k: number): TensorHandle
export function sign(x: TensorHandle): TensorHandle
export function relu(x: TensorHandle): TensorHandle
export function transpose(x: TensorHandle, axes: number[] | null): TensorHandle
export function sum(x: TensorHandle, axes: number[] | null, keepdims: boolean): TensorHandle
export function mean(x: TensorHandle, axes: number[] | null, keepdims: boolean): TensorHandle
export function reshape(x: TensorHandle, shape: number[]): TensorHandle
export function astype(x: TensorHandle, dtype: NativeDType): TensorHandle
/**
 * Elementwise math, one entry point: op 0 exp, 1 log, 2 sqrt, 3 rsqrt, 4 tanh, 5 abs, 6 negative,
 * 7 square, 8 reciprocal, 9 floor, 10 ceil, 11 sigmoid, 12 silu, 13 gelu (tanh form),
 * 14 gelu (exact, erfc), 15 erf, 16 logical_not (→ bool).
 */
export function unary(op: number, x: TensorHandle): TensorHandle
/** Broadcasting comparison → bool. op: 0 equal, 1 not_equal, 2 less, 3 less_equal, 4 greater, 5 greater_equal. */
export function compare(op: number, a: TensorHandle, b: TensorHandle): TensorHandle
/** `a op scalar`, or `scalar op a` when `scalarOnLeft` (jnp's weak typing of the number). */
export function compareScalar(op: number, a: TensorHandle, scalar: number, scalarOnLeft: boolean): TensorHandle
/** Broadcasting logical op of any dtypes (non-zero is true) → bool. op: 0 and, 1 or, 2 xor. */
export function logical(op: number, a: TensorHandle, b: TensorHandle): TensorHandle
/** jnp.where: x and y are tensors or (weakly typed) numbers; all three broadcast. */
export function where(condition: TensorHandle, x: TensorHandle | number, y: TensorHandle | number): TensorHandle
export function max(x: TensorHandle, axes: number[] | null, keepdims: boolean): TensorHandle
export function min(x: TensorHandle, axes: number[] | null, keepdims: boolean): TensorHandle
export function prod(x: TensorHandle, axes: number[] | null, keepdims: boolean): TensorHandle
/** Variance with divisor `n - ddof`, float32. */
export function variance(x: TensorHandle, axes: number[] | null, keepdims: boolean, ddof: number): TensorHandle
export function std(x: TensorHandle, axes: number[] | null, keepdims: boolean, ddof: number): TensorHandle
/** First index of the maximum along `axis` (null: flattened), int32. */
export function argmax(x: TensorHandle, axis: number | null, keepdims: boolean): TensorHandle
export function argmin(x: TensorHandle, axis: number | null, keepdims: boolean): TensorHandle
/** Softmax over `axes` (null: all axes). */
export function softmax(x: TensorHandle, axes: number[] | null): TensorHandle
export function logSoftmax(x: TensorHandle, axes: number[] | null): TensorHandle
export function logsumexp(x: TensorHandle, axes: number[] | null, keepdims: boolean): TensorHandle
/**
 * Fused layer normalisation over the last axis (float32): `(x - mean) * (rsqrt(var + eps) * scale) + bias`
 * with Flax's statistics; `rms`: mean 0 and var = mean(x²); else `fastVariance` picks
 * max(0, mean(x²) - mean²) over mean((x - mean)²). scale/bias: shape [x.shape[-1]] or null.
 */
export function layerNorm(x: TensorHandle, scale: TensorHandle | null, bias: TensorHandle | null, eps: number, rms: boolean, fastVariance: boolean): TensorHandle
/** jnp.round: half to even (float32); integers unchanged for decimals >= 0. */
export function round(x: TensorHandle, decimals: number): TensorHandle
/** jnp.take along `axis` (null: flattened x); mode 'fill' (jnp's default), 'clip' or 'wrap'. */
export function take(x: TensorHandle, indices: TensorHandle, axis: number | null, mode: string): TensorHandle
export function oneHot(x: TensorHandle, numClasses: number, dtype: NativeDType, axis: number): TensorHandle
export function concatenate(xs: TensorHandle[], axis: number): TensorHandle
export function stack(xs: TensorHandle[], axis: number): TensorHandle
/** Shares storage. */
export function expandDims(x: TensorHandle, axes: number[]): TensorHandle
/** Shares storage; null removes every size-1 axis. */
export function squeeze(x: TensorHandle, axes: number[] | null): TensorHandle
export function broadcastTo(x: TensorHandle, shape: number[]): TensorHandle
export function swapaxes(x: TensorHandle, axis1: number, axis2: number): TensorHandle
export function moveaxis(x: TensorHandle, source: number[], destination: number[]): TensorHandle

// JAX threefry PRNG (keys are Uint32Array(2) of key data). `partitionable` selects the layout
// (`jax_threefry_partitionable`): true = JAX's default, false = the original layout.
export function threefry2x32(key: Uint32Array, counter: Uint32Array): Uint32Array
export function keyFromSeed(seed: number): Uint32Array
export function foldIn(key: Uint32Array, data: number): Uint32Array
/** `n` keys, flattened: Uint32Array(2n). */
export function split(key: Uint32Array, n: number, partitionable: boolean): Uint32Array
export function bits(key: Uint32Array, width: number, shape: number[], partitionable: boolean): TensorHandle
export function uniform(key: Uint32Array, shape: number[], minval: number, maxval: number, partitionable: boolean): TensorHandle
export function normal(key: Uint32Array, shape: number[], partitionable: boolean): TensorHandle
export function truncatedNormal(key: Uint32Array, lower: number, upper: number, shape: number[], partitionable: boolean): TensorHandle
export function randint(key: Uint32Array, shape: number[], minval: number, maxval: number, partitionable: boolean): TensorHandle
export function bernoulli(key: Uint32Array, p: number, shape: number[], partitionable: boolean): TensorHandle

// linear algebra
/** Reduced QR of a float32 [m, n] matrix: `[q [m, k], r [k, n]]`, k = min(m, n). */
export function qr(a: TensorHandle): [TensorHandle, TensorHandle]

/** Test hook: panics inside Rust; the panic must surface as an Error with code E_PANIC. */
export function panicForTest(message: string): never
