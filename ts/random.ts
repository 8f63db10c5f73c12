// random: JAX's PRNG (threefry2x32), computed in Rust. The threefry layout and the seed offset
// follow `random.config` (JAX's defaults: partitionable, offset 0).
import { type CodedError, codedError, codedRangeError, codedTypeError, optionsArg } from './coded-error'
import { ValueError } from './errors'
import * as jnp from './jnp'
import { native, type TensorHandle } from './native'
import { op1, opCode, opN } from './ops'
import { config } from './random-config'
import { Tensor, checkShapeArg, describe } from './tensor'

export { config, withConfig, type RandomConfig } from './random-config'

/**
 * A threefry key: two uint32 words, like `jax.random.key(seed)` (key data `[k0, k1]`). Inside
 * `jit` a key argument is traced: its words are not known until the plan runs.
 */
export class Key {
  #words: Uint32Array | undefined
  #tensor: Tensor | undefined

  /** @internal Use `random.key(seed)`, or `Key.fromWords` for raw key data. */
  constructor(data: Uint32Array | Tensor) {
    if (data instanceof Tensor) this.#tensor = data
    else this.#words = data
  }

  /** A key from its two uint32 words (each an integer in 0 ..= 2^32 - 1). */
  static fromWords(k0: number, k1: number): Key {
    return new Key(Uint32Array.of(keyWord(k0, 'k0'), keyWord(k1, 'k1')))
  }

  /** The key data (throws ConcretizationTypeError for a key traced by `jit`). */
  get words(): Uint32Array {
    if (this.#words === undefined) this.#words = Uint32Array.from(this.#tensor!.data)
    return this.#words
  }

  /** @internal The op table's operand: the key data, or the tensor holding it. */
  get operand(): Uint32Array | TensorHandle {
    return this.#words ?? this.#tensor!.handle
  }

  /** @internal The key as a uint32 tensor of shape [2], if it is one (a split output or a tracer). */
  get tensor(): Tensor | undefined {
    return this.#tensor
  }

  toString(): string {
    if (this.#words === undefined && String(this.#tensor).startsWith('Traced')) return 'Key(<traced>)'
    return `Key([${this.words[0]}, ${this.words[1]}])`
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString()
  }
}

/** A key word as given: `Uint32Array.of` would turn 'abc' or NaN into 0 and wrap -1. */
function keyWord(w: unknown, what: string): number {
  if (typeof w !== 'number') throw codedTypeError(`Key.fromWords: ${what} must be a number, got ${describe(w)}`)
  if (!Number.isInteger(w) || w < 0 || w > 0xffffffff) {
    throw codedRangeError('E_ARG', `Key.fromWords: ${what} must be an integer in 0 ..= 2^32 - 1 (a uint32 word), got ${w}`)
  }
  return w
}

/** A valid key: a Key, or raw key data (a Uint32Array of length 2), as Flax accepts both. */
export function isKey(x: unknown): x is Key | Uint32Array {
  return x instanceof Key || (x instanceof Uint32Array && x.length === 2)
}

function keyOperand(k: unknown, what = 'key'): Uint32Array | TensorHandle {
  if (k instanceof Key) return k.operand
  if (k instanceof Uint32Array && k.length === 2) return k
  throw codedTypeError(`${what}: expected a random.Key (or a Uint32Array of length 2), got ${describe(k)}`)
}

/**
 * `jax.random.key(seed)` in JAX's default 32-bit mode: `[0, (seed + offset) mod 2^32]`, the
 * offset being `config.randomSeedOffset` (JAX adds it to the int32 seed, wrapping).
 */
export function key(seed: number): Key {
  if (typeof seed !== 'number' && typeof seed !== 'bigint') throw codedTypeError(`key: seed must be an integer, got ${describe(seed)}`)
  const words = native.keyFromSeed(Number(seed))
  if (config.randomSeedOffset !== 0) words[1] = (words[1] + native.keyFromSeed(config.randomSeedOffset)[1]) >>> 0
  return new Key(words)
}

/** Alias of `key` (JAX's raw-key constructor behaves identically in flaxen). */
export const PRNGKey = key

export function keyData(k: Key | Uint32Array): Uint32Array {
  if (k instanceof Key) return Uint32Array.from(k.words)
  return Uint32Array.from(keyOperand(k) as Uint32Array)
}

const SPLIT = opCode('split')
const FOLD_IN = opCode('fold_in')

export function split(k: Key | Uint32Array, n = 2): Key[] {
  const out = opN(SPLIT, keyOperand(k), n, config.threefryPartitionable)
  return (Array.isArray(out) ? out : [out]).map((h) => new Key(new Tensor(h)))
}

export function foldIn(k: Key | Uint32Array, data: number): Key {
  return new Key(new Tensor(op1(FOLD_IN, keyOperand(k), data)))
}

/** uint64 is accepted and gives uint32 values, as JAX's 32-bit mode canonicalizes it. */
export type BitsDType = 'uint8' | 'uint16' | 'uint32' | 'uint64'
const BIT_WIDTH: Record<string, number> = { uint8: 8, uint16: 16, uint32: 32, uint64: 32 }

/** `jax.random.bits(key, shape, dtype)`: raw random bits of an unsigned dtype. */
export function bits(k: Key | Uint32Array, shape: readonly number[] = [], dtype: BitsDType = 'uint32'): Tensor {
  // Only a string is looked up: a property key made from an array joins all its entries.
  const width = typeof dtype === 'string' && Object.prototype.hasOwnProperty.call(BIT_WIDTH, dtype) ? BIT_WIDTH[dtype] : undefined
  if (width === undefined) {
    // JAX's ValueError text; the code keeps it branchable like every other dtype error.
    const got = typeof dtype === 'string' ? dtype : describe(dtype)
    const err = new ValueError(`dtype argument to \`bits\` must be an unsigned int dtype, got ${got}`) as ValueError & CodedError
    err.code = 'E_DTYPE'
    throw err
  }
  return new Tensor(op1(opCode('bits'), keyOperand(k), width, checkShapeArg(shape, 'shape'), config.threefryPartitionable))
}

/** The float dtypes a draw can have (JAX: a ValueError for any other). */
export type FloatDType = 'float32' | 'float16' | 'bfloat16'

export interface UniformOptions {
  minval?: number
  maxval?: number
  /**
   * float32 (default), float16 or bfloat16. A half dtype draws as JAX does: 8 random bits per
   * element for bfloat16, 16 for float16 (not a rounded float32 draw), every step rounded.
   */
  dtype?: FloatDType
}

export function uniform(k: Key | Uint32Array, shape: readonly number[] = [], options: UniformOptions = {}): Tensor {
  const { minval = 0, maxval = 1, dtype = 'float32' } = optionsArg(options, 'uniform')
  return new Tensor(op1(opCode('uniform'), keyOperand(k), checkShapeArg(shape, 'shape'), minval, maxval, dtype, config.threefryPartitionable))
}

/** `jax.random.normal(key, shape, dtype)`: `sqrt(2) * erf_inv(u)`, in the dtype's precision. */
export function normal(k: Key | Uint32Array, shape: readonly number[] = [], dtype: FloatDType = 'float32'): Tensor {
  return new Tensor(op1(opCode('normal'), keyOperand(k), checkShapeArg(shape, 'shape'), dtype, config.threefryPartitionable))
}

/** `jax.random.truncated_normal(key, lower, upper, shape, dtype)`. */
export function truncatedNormal(k: Key | Uint32Array, lower: number, upper: number, shape: readonly number[] = [], dtype: FloatDType = 'float32'): Tensor {
  return new Tensor(op1(opCode('truncated_normal'), keyOperand(k), lower, upper, checkShapeArg(shape, 'shape'), dtype, config.threefryPartitionable))
}

export function randint(k: Key | Uint32Array, shape: readonly number[], minval: number, maxval: number): Tensor {
  return new Tensor(op1(opCode('randint'), keyOperand(k), checkShapeArg(shape, 'shape'), minval, maxval, config.threefryPartitionable))
}

export function bernoulli(k: Key | Uint32Array, p = 0.5, shape: readonly number[] = []): Tensor {
  return new Tensor(op1(opCode('bernoulli'), keyOperand(k), p, checkShapeArg(shape, 'shape'), config.threefryPartitionable))
}

/** float32's smallest normal number (`jnp.finfo(float32).tiny`): gumbel's lower uniform bound. */
const F32_TINY = 1.1754943508222875e-38

export interface GumbelOptions {
  /** JAX's `mode`: only 'low' (JAX's default, `-log(-log(u))`) is implemented. */
  mode?: 'low'
}

/**
 * `jax.random.gumbel(key, shape)`: standard Gumbel samples, `-log(-log(u))` with
 * `u = uniform(key, shape, { minval: tiny, maxval: 1 })`, JAX's default 'low' mode: the same uniform
 * draws; within 8 ulp of JAX (our `log` is within 1 ulp of XLA's, amplified for results near 0).
 */
export function gumbel(k: Key | Uint32Array, shape: readonly number[] = [], options: GumbelOptions = {}): Tensor {
  const { mode = 'low' } = optionsArg(options, 'gumbel')
  if (mode !== 'low') {
    throw codedError('E_ARG', `gumbel: mode ${JSON.stringify(mode)} is not supported; only 'low' (JAX's default) is implemented`)
  }
  const u = uniform(k, shape, { minval: F32_TINY, maxval: 1 })
  const a = jnp.log(u)
  const b = jnp.negative(a)
  const c = jnp.log(b)
  const out = jnp.negative(c)
  for (const t of [u, a, b, c]) t.dispose()
  return out
}

export interface CategoricalOptions {
  /** The axis of `logits` holding the categories (default -1). */
  axis?: number
  /**
   * The sample shape; it must end with (or broadcast from) the batch shape, i.e. `logits.shape`
   * without `axis` (the default).
   */
  shape?: readonly number[]
}

/**
 * `jax.random.categorical(key, logits, axis, shape)`: samples category indices (int32) from
 * unnormalised log-probabilities, as JAX does: `argmax(gumbel(key, ...) + logits, axis)` (the
 * same draws, so the same samples). Sampling with replacement only.
 */
export function categorical(k: Key | Uint32Array, logits: Tensor, options: CategoricalOptions = {}): Tensor {
  const { axis = -1, shape } = optionsArg(options, 'categorical')
  if (!(logits instanceof Tensor)) throw codedTypeError(`categorical: logits must be a Tensor, got ${describe(logits)}`)
  const nd = logits.ndim
  if (!Number.isInteger(axis) || axis < -nd || axis >= nd) {
    throw codedError('E_ARG', `categorical: axis ${axis} is out of range for logits of shape [${logits.shape.join(', ')}]`)
  }
  const ax = axis < 0 ? axis + nd : axis
  const batch = logits.shape.filter((_, i) => i !== ax)
  const sampleShape = shape === undefined ? batch : checkShapeArg(shape, 'categorical: shape')
  // JAX's _check_shape: the batch shape must broadcast to `shape`.
  const tail = sampleShape.slice(sampleShape.length - batch.length)
  if (sampleShape.length < batch.length || batch.some((d, i) => d !== 1 && d !== tail[i])) {
    throw codedError('E_SHAPE', `categorical: shape [${sampleShape.join(', ')}] is not compatible with the batch shape [${batch.join(', ')}] (logits' shape without axis ${ax})`)
  }
  const prefix = sampleShape.slice(0, sampleShape.length - batch.length)
  const logitsShape = [...tail]
  logitsShape.splice(ax, 0, logits.shape[ax])
  const g = gumbel(k, [...prefix, ...logitsShape])
  const l = prefix.length > 0 ? jnp.expandDims(logits, prefix.map((_, i) => i)) : logits
  const y = jnp.add(g, l)
  const out = jnp.argmax(y, ax - nd)
  g.dispose()
  y.dispose()
  if (l !== logits) l.dispose()
  return out
}
export { permutation, choice, type PermutationOptions, type ChoiceOptions } from './random-shuffle'
