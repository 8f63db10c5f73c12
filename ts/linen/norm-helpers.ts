// Helpers shared by nn.WeightNorm and nn.SpectralNorm (flax/linen/normalization.py).
import { ValueError } from '../errors'
import * as jnp from '../jnp'
import { describe, type DType, type Tensor } from '../tensor'
import type { Path } from '../tree'
import type { Module } from './module'

/** `_l2_normalize(x, axis, eps)`: `x * rsqrt(sum(x*x over axis, keepdims) + eps)`; axis null = all axes. */
export function l2Normalize(x: Tensor, axis: readonly number[] | null, eps: number): Tensor {
  return jnp.multiply(x, jnp.rsqrt(jnp.add(jnp.sum(jnp.multiply(x, x), axis, { keepdims: true }), eps)))
}

/** `_canonicalize_axes`: non-negative, deduplicated, sorted (Python's set of small ints iterates sorted). */
export function canonicalizeAxes(rank: number, axes: number | readonly number[]): number[] {
  const list = typeof axes === 'number' ? [axes] : axes
  return [...new Set(list.map((a) => (a < 0 ? rank + a : a)))].sort((a, b) => a - b)
}

/** `'<layer name>/<keys below the collection>'`, the names WeightNorm / SpectralNorm derive per leaf. */
export function leafPathName(layer: Module, path: Path): string {
  return `${layer.name}/${path.slice(1).join('/')}`
}

/** The output dtype, `canonicalize_dtype(..., dtype=self.dtype)`: float32 is the only float dtype. */
export function checkedDtype(dtype: DType | null, who: string): void {
  if ((dtype ?? 'float32') !== 'float32') throw new ValueError(`${who}: only float32 computation is supported, got dtype ${typeof dtype === 'string' ? dtype : describe(dtype)}`)
}
