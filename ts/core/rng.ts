// Flax's RNG key derivation (`LazyRng`, `_fold_in_static`): the part that must be bit-exact for
// parameters to match Flax.
//
// A scope's stream key is the root key plus a *suffix* of path names and counters that has not
// been folded in yet. Only when a key is actually needed is the whole suffix folded in, once:
// SHA-1 over the concatenated UTF-8 names and minimal big-endian counters, whose first four
// bytes (big-endian) are one `random.foldIn`. Concatenating without a separator means
// ('ab', 'c') and ('a', 'bc') collide; Flax keeps that by default (config.flaxFixRngSeparator).
import { createHash } from 'node:crypto'
import { ValueError } from '../errors'
import { Key, foldIn, isKey } from '../random'
import { config } from './config'

/** A raw PRNG key: a `random.Key` or its data (a Uint32Array of length 2). */
export type PRNGKey = Key | Uint32Array
export type PRNGFoldable = string | number

/** The bytes of a non-negative integer, big-endian, as few as possible (0 → no bytes), like `int.to_bytes`. */
function minimalBigEndian(x: number): Buffer {
  if (!Number.isSafeInteger(x) || x < 0) throw new ValueError(`Expected int or string, got: ${x}`)
  let hex = x === 0 ? '' : x.toString(16)
  if (hex.length % 2 === 1) hex = '0' + hex
  return Buffer.from(hex, 'hex')
}

/**
 * `_fold_in_static(key, data)`: folds strings and non-negative integers into `key` with one
 * `foldIn` of a SHA-1 word. Empty data returns the key itself.
 */
export function foldInStatic(key: PRNGKey, data: readonly PRNGFoldable[]): PRNGKey {
  if (data.length === 0) return key
  return foldIn(key, staticHashWord(data))
}

/** The uint32 folded in for `data`: the first 4 bytes (big-endian) of SHA-1 over its elements. */
export function staticHashWord(data: readonly PRNGFoldable[]): number {
  const h = createHash('sha1')
  for (const x of data) {
    if (config.flaxFixRngSeparator) h.update(Buffer.of(0))
    if (typeof x === 'string') h.update(x, 'utf8')
    else if (typeof x === 'number') h.update(minimalBigEndian(x))
    else throw new ValueError(`Expected int or string, got: ${String(x)}`)
  }
  return h.digest().readUInt32BE(0)
}

/** A key plus a suffix of names/counters still to be folded in (`flax.core.scope.LazyRng`). */
export class LazyRng {
  readonly rng: PRNGKey
  readonly suffix: readonly PRNGFoldable[]

  constructor(rng: PRNGKey, suffix: readonly PRNGFoldable[] = []) {
    this.rng = rng
    this.suffix = Object.freeze([...suffix])
  }

  /** `LazyRng.create(rng, *suffix)`: extends a lazy key's suffix, or starts one from a raw key. */
  static create(rng: LazyRng | PRNGKey, ...suffix: PRNGFoldable[]): LazyRng {
    if (rng instanceof LazyRng) return new LazyRng(rng.rng, [...rng.suffix, ...suffix])
    return new LazyRng(rng, suffix)
  }

  /** The real key: the suffix folded in once. */
  asJaxRng(): PRNGKey {
    return foldInStatic(this.rng, this.suffix)
  }

  clearSuffix(): LazyRng {
    return new LazyRng(this.rng, [])
  }
}

/** `_is_valid_rng`: a LazyRng, a Key, or raw key data of shape [2] (a split key array is not a key). */
export function isValidRng(x: unknown): x is LazyRng | PRNGKey {
  return x instanceof LazyRng || isKey(x)
}
