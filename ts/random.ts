// random: JAX's PRNG (threefry2x32, partitionable layout), computed in Rust.
import { codedError, codedTypeError } from './coded-error'
import { native } from './native'
import { Tensor, checkShapeArg, describe } from './tensor'

/** A threefry key: two uint32 words, like `jax.random.key(seed)` (key data `[k0, k1]`). */
export class Key {
  readonly words: Uint32Array

  /** @internal Use `random.key(seed)`, or `Key.fromWords` for raw key data. */
  constructor(words: Uint32Array) {
    this.words = words
  }

  static fromWords(k0: number, k1: number): Key {
    return new Key(Uint32Array.of(k0, k1))
  }

  toString(): string {
    return `Key([${this.words[0]}, ${this.words[1]}])`
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString()
  }
}

/** A valid key: a Key, or raw key data (a Uint32Array of length 2), as Flax accepts both. */
export function isKey(x: unknown): x is Key | Uint32Array {
  return x instanceof Key || (x instanceof Uint32Array && x.length === 2)
}

function words(k: unknown, what = 'key'): Uint32Array {
  if (k instanceof Key) return k.words
  if (k instanceof Uint32Array && k.length === 2) return k
  throw codedTypeError(`${what}: expected a random.Key (or a Uint32Array of length 2), got ${describe(k)}`)
}

/** `jax.random.key(seed)` in JAX's default 32-bit mode: `[0, seed mod 2^32]`. */
export function key(seed: number): Key {
  if (typeof seed !== 'number' && typeof seed !== 'bigint') throw codedTypeError(`key: seed must be an integer, got ${describe(seed)}`)
  return new Key(native.keyFromSeed(Number(seed)))
}

/** Alias of `key` (JAX's raw-key constructor behaves identically in flaxen). */
export const PRNGKey = key

export function keyData(k: Key | Uint32Array): Uint32Array {
  return Uint32Array.from(words(k))
}

export function split(k: Key | Uint32Array, n = 2): Key[] {
  const flat = native.split(words(k), n)
  const out: Key[] = []
  for (let i = 0; i < flat.length; i += 2) out.push(new Key(flat.slice(i, i + 2)))
  return out
}

export function foldIn(k: Key | Uint32Array, data: number): Key {
  return new Key(native.foldIn(words(k), data))
}

export type BitsDType = 'uint8' | 'uint16' | 'uint32'
const BIT_WIDTH: Record<BitsDType, number> = { uint8: 8, uint16: 16, uint32: 32 }

export function bits(k: Key | Uint32Array, shape: readonly number[] = [], dtype: BitsDType = 'uint32'): Tensor {
  const width = BIT_WIDTH[dtype]
  if (width === undefined) throw codedError('E_DTYPE', `bits: dtype must be one of uint8, uint16, uint32, got ${String(dtype)}`)
  return new Tensor(native.bits(words(k), width, checkShapeArg(shape, 'shape')))
}

export interface UniformOptions {
  minval?: number
  maxval?: number
}

export function uniform(k: Key | Uint32Array, shape: readonly number[] = [], { minval = 0, maxval = 1 }: UniformOptions = {}): Tensor {
  return new Tensor(native.uniform(words(k), checkShapeArg(shape, 'shape'), minval, maxval))
}

export function normal(k: Key | Uint32Array, shape: readonly number[] = []): Tensor {
  return new Tensor(native.normal(words(k), checkShapeArg(shape, 'shape')))
}

export function truncatedNormal(k: Key | Uint32Array, lower: number, upper: number, shape: readonly number[] = []): Tensor {
  return new Tensor(native.truncatedNormal(words(k), lower, upper, checkShapeArg(shape, 'shape')))
}

export function randint(k: Key | Uint32Array, shape: readonly number[], minval: number, maxval: number): Tensor {
  return new Tensor(native.randint(words(k), checkShapeArg(shape, 'shape'), minval, maxval))
}

export function bernoulli(k: Key | Uint32Array, p = 0.5, shape: readonly number[] = []): Tensor {
  return new Tensor(native.bernoulli(words(k), p, checkShapeArg(shape, 'shape')))
}
