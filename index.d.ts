// Types of the native addon loaded by index.js. The TypeScript façade (dist/, from ts/) is the
// public API; these are the raw entry points it wraps. Every entry point validates its arguments
// and throws an Error with a stable `code` (E_SHAPE, E_DTYPE, E_ARG, E_DISPOSED, E_PANIC) or a
// TypeError with code E_TYPE for a wrong JS type.

/** An opaque native tensor handle (a Node-API external owning Rust storage). */
export interface TensorHandle {
  readonly __flaxenTensorHandle: unique symbol
}

/** dtype names accepted and returned by the addon. */
export type NativeDType = 'float32' | 'int32' | 'uint32' | 'uint16' | 'uint8' | 'bool'

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
export function view(h: TensorHandle): Float32Array | Int32Array | Uint32Array | Uint16Array | Uint8Array
/** Frees the tensor's storage now (when no other tensor shares it); detaches `view` if given. */
export function dispose(h: TensorHandle, view?: ArrayBufferView): void
/** Bytes of tensor storage currently alive in this process. */
export function liveBytes(): number

// ops
export function matmul(a: TensorHandle, b: TensorHandle): TensorHandle
/** op: 0 add, 1 subtract, 2 multiply, 3 divide. */
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

// JAX threefry PRNG (keys are Uint32Array(2) of key data)
export function threefry2x32(key: Uint32Array, counter: Uint32Array): Uint32Array
export function keyFromSeed(seed: number): Uint32Array
export function foldIn(key: Uint32Array, data: number): Uint32Array
/** `n` keys, flattened: Uint32Array(2n). */
export function split(key: Uint32Array, n: number): Uint32Array
export function bits(key: Uint32Array, width: number, shape: number[]): TensorHandle
export function uniform(key: Uint32Array, shape: number[], minval: number, maxval: number): TensorHandle
export function normal(key: Uint32Array, shape: number[]): TensorHandle
export function truncatedNormal(key: Uint32Array, lower: number, upper: number, shape: number[]): TensorHandle
export function randint(key: Uint32Array, shape: number[], minval: number, maxval: number): TensorHandle
export function bernoulli(key: Uint32Array, p: number, shape: number[]): TensorHandle

/** Test hook: panics inside Rust; the panic must surface as an Error with code E_PANIC. */
export function panicForTest(message: string): never
