// The JS Tensor: a native handle (Rust-owned storage) plus cached shape and dtype.
import { codedError, codedTypeError, showShape } from './coded-error'
import { native, type NativeDType, type TensorHandle } from './native'
import { op1, opCode } from './ops'
import { track } from './tidy'
// Registers JAX's tracing error classes with the addon before any tensor exists.
import './jax-errors'

export type DType = NativeDType
export const DTYPES: readonly DType[] = native.DTYPE_NAMES

export type TypedArray = Float32Array | Int32Array | Uint32Array | Uint16Array | Uint8Array | Int8Array

/** Nested arrays as returned by `toArray()`. */
export type NestedArray = number | boolean | NestedArray[]

/** float16 and bfloat16: 2-byte floats, stored as their bits (`t.data` is a Uint16Array). */
export type HalfDType = 'float16' | 'bfloat16'

/** The floating-point dtypes. */
export function isFloatDtype(dtype: unknown): dtype is 'float32' | HalfDType {
  return dtype === 'float32' || dtype === 'float16' || dtype === 'bfloat16'
}

const HALF_F32 = new Float32Array(1)
const HALF_U32 = new Uint32Array(HALF_F32.buffer)

/** The number a bfloat16 bit pattern stands for (exact: the top half of a float32). */
export function bfloat16ToNumber(bits: number): number {
  HALF_U32[0] = (bits & 0xffff) << 16
  return HALF_F32[0]
}

/** The number a float16 bit pattern stands for (exact). */
export function float16ToNumber(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1
  const e = (bits >> 10) & 0x1f
  const m = bits & 0x3ff
  if (e === 0) return sign * m * 2 ** -24
  if (e === 0x1f) return m === 0 ? sign * Infinity : NaN
  return sign * (1 + m / 1024) * 2 ** (e - 15)
}

/** A scalar of dtype `D` in JS: `boolean` for bool, `number` for the others. */
export type ScalarOf<D extends DType> = D extends 'bool' ? boolean : number
/** `toArray()` of a dtype-`D` tensor: its scalar, or nested arrays of it. */
export type NestedArrayOf<D extends DType> = ScalarOf<D> | NestedArrayOf<D>[]

const RESHAPE = opCode('reshape')
const ASTYPE = opCode('astype')

/**
 * `D` is the dtype when it is known statically (`x.astype('bool')` is a `Tensor<'bool'>`); it
 * types `dtype`, `item()` and `toArray()`. Plain `Tensor` is any dtype.
 */
export class Tensor<D extends DType = DType> {
  #handle: TensorHandle | null
  #shape: readonly number[] | undefined
  #dtype: DType | undefined
  #sig: string | undefined
  #view: TypedArray | undefined
  #donated = false

  /** @internal Use `jnp.*` to make tensors. */
  constructor(handle: TensorHandle) {
    this.#handle = handle
    track(this)
  }

  /**
   * Throws a coded TypeError unless `t` was made by this class: an object that only shares the
   * prototype (`Object.create(Tensor.prototype)`, a method called on another `this`) passes
   * `instanceof` but has no private fields, and reading one would throw an uncoded TypeError.
   */
  static #brand(t: unknown): void {
    if (!(typeof t === 'object' && t !== null && #handle in t)) {
      throw codedTypeError(`tensor: expected a Tensor made by flaxen (jnp.*), got ${describe(t)}`)
    }
  }

  /** @internal The live native handle; throws E_DISPOSED after `dispose()`, E_DONATED after donation. */
  get handle(): TensorHandle {
    Tensor.#brand(this)
    if (this.#handle === null) {
      if (this.#donated) throw codedError('E_DONATED', 'tensor: used after it was donated to a jit call (donateArgnums); a donated tensor is consumed, as JAX deletes donated buffers')
      throw codedError('E_DISPOSED', 'tensor: used after dispose()')
    }
    return this.#handle
  }

  /** @internal Called by `jit` after the addon consumed this tensor (donateArgnums). */
  markDonated(): void {
    Tensor.#brand(this)
    this.#handle = null
    this.#view = undefined
    this.#donated = true
  }

  get isDisposed(): boolean {
    Tensor.#brand(this)
    return this.#handle === null
  }

  #meta(): void {
    const m = native.meta(this.handle)
    this.#dtype = DTYPES[m[0]]
    this.#shape = Object.freeze(m.slice(1))
  }

  /** The dimensions (a frozen array; no copy per access). */
  get shape(): readonly number[] {
    Tensor.#brand(this)
    if (this.#shape === undefined || this.#handle === null) this.#meta()
    return this.#shape!
  }

  /** @internal This tensor's part of a `jit` call signature (dtype and shape), made once. */
  signature(): string {
    Tensor.#brand(this)
    if (this.#sig === undefined || this.#handle === null) this.#sig = `T${this.dtype}[${this.shape.join(',')}]`
    return this.#sig
  }

  get dtype(): D {
    Tensor.#brand(this)
    if (this.#dtype === undefined || this.#handle === null) this.#meta()
    return this.#dtype as D
  }

  get ndim(): number {
    return this.shape.length
  }

  get size(): number {
    Tensor.#brand(this)
    let n = 1
    for (const d of this.shape) n *= d
    return n
  }

  /**
   * A typed array viewing the native memory: no copy, and a write through it is seen by the next
   * op. float16 and bfloat16 tensors give a Uint16Array of their bits (Node 20 has no
   * Float16Array); `toArray()` and `item()` give their values.
   */
  get data(): TypedArray {
    Tensor.#brand(this)
    const h = this.handle
    if (this.#view === undefined) this.#view = native.view(h)
    return this.#view
  }

  /** Nested JS arrays (a copy); a 0-d tensor gives its scalar. */
  toArray(): NestedArrayOf<D> {
    Tensor.#brand(this)
    const data = this.data
    const shape = this.shape
    const isBool = this.dtype === 'bool'
    const decode = halfDecoder(this.dtype)
    const build = (dim: number, offset: number): NestedArray => {
      if (dim === shape.length) return isBool ? data[offset] !== 0 : decode !== null ? decode(data[offset]) : data[offset]
      const out: NestedArray[] = []
      let stride = 1
      for (let i = dim + 1; i < shape.length; i++) stride *= shape[i]
      for (let i = 0; i < shape[dim]; i++) out.push(build(dim + 1, offset + i * stride))
      return out
    }
    return build(0, 0) as NestedArrayOf<D>
  }

  /** The single value of a one-element tensor. */
  item(): ScalarOf<D> {
    Tensor.#brand(this)
    if (this.size !== 1) {
      throw codedError('E_SHAPE', `item: the tensor has shape ${showShape(this.shape)}; item() needs exactly one element`)
    }
    const v = this.data[0]
    const decode = halfDecoder(this.dtype)
    return (this.dtype === 'bool' ? v !== 0 : decode !== null ? decode(v) : v) as ScalarOf<D>
  }

  /** Same data in a new shape (a view sharing storage: the storage is contiguous). One -1 is inferred. */
  reshape(shape: readonly number[]): Tensor<D> {
    Tensor.#brand(this)
    return new Tensor<D>(op1(RESHAPE, this.handle, checkShapeArg(shape, 'shape')))
  }

  astype<E extends DType>(dtype: E): Tensor<E> {
    Tensor.#brand(this)
    return new Tensor<E>(op1(ASTYPE, this.handle, dtype))
  }

  /**
   * Finishes any deferred work now and returns this tensor (JAX's `block_until_ready`). flaxen
   * defers float32 `triu`/`tril` until their result is used (so `matmul(x, triu(w))` can skip
   * the zero triangle); call this to pay that cost at a chosen point, e.g. when timing.
   */
  blockUntilReady(): this {
    Tensor.#brand(this)
    native.blockUntilReady(this.handle)
    return this
  }

  /** Frees the storage now (unless another tensor shares it); later use throws E_DISPOSED. */
  dispose(): void {
    Tensor.#brand(this)
    if (this.#handle === null) return
    native.dispose(this.#handle, this.#view)
    this.#handle = null
    this.#view = undefined
  }

  /** `Number(t)`, `+t`, template strings: the value of a one-element tensor (as JAX's `float(x)`). */
  [Symbol.toPrimitive](hint: string): number | string {
    if (hint === 'string') return this.toString()
    return Number(this.item())
  }

  toString(): string {
    Tensor.#brand(this)
    if (this.#handle === null) return 'Tensor(<disposed>)'
    try {
      this.data
    } catch (e) {
      if ((e as { code?: string }).code === 'ConcretizationTypeError') return `Traced<${this.dtype}${showShape(this.shape)}>`
      throw e
    }
    return `Tensor(${JSON.stringify(this.toArray())}, dtype=${this.dtype}, shape=${showShape(this.shape)})`
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString()
  }
}

/** The bits-to-number decoder of a half dtype (null for the others). */
function halfDecoder(dtype: DType): ((bits: number) => number) | null {
  return dtype === 'bfloat16' ? bfloat16ToNumber : dtype === 'float16' ? float16ToNumber : null
}

export function isTensor(x: unknown): x is Tensor {
  return x instanceof Tensor
}

/** Checks a JS shape argument (the addon checks again; this gives the JS-side message). */
export function checkShapeArg(shape: unknown, what: string): number[] {
  if (!Array.isArray(shape)) throw codedTypeError(`${what}: expected an array of integers, got ${typeof shape}`)
  return shape as number[]
}

/** A tensor argument: throws a coded TypeError naming `what` for anything else. */
export function asTensor(x: unknown, what: string): Tensor {
  if (x instanceof Tensor) return x
  throw codedTypeError(`${what}: expected a Tensor, got ${describe(x)}`)
}

export function describe(x: unknown): string {
  if (x === null) return 'null'
  if (x === undefined) return 'undefined'
  if (ArrayBuffer.isView(x)) return `${/^[AEIOU]/.test(x.constructor.name) ? 'an' : 'a'} ${x.constructor.name}`
  if (Array.isArray(x)) return 'an array'
  if (typeof x === 'object') return `an object (${(x as object).constructor?.name ?? 'Object'})`
  return `${typeof x} ${String(x)}`
}
