// lax.reduce_window: add / max / min run as one op-table row (as JAX computes it: each window
// starts from the init value and combines the input elements under it; padded positions add
// nothing); any other computation is composed from pad and strided slices, one per window
// position, in the same row-major order, a padded position leaving the accumulator as it is.
import { codedError, codedTypeError, intArray } from './coded-error'
import { padtypeToPads } from './lax-conv'
import { slice } from './lax'
import { op1, opCode } from './ops'
import { Tensor, asTensor, describe } from './tensor'
import * as jnp from './jnp'

export type WindowComputation = 'add' | 'max' | 'min' | ((a: Tensor, b: Tensor) => Tensor)

const WHO = 'reduceWindow'

/**
 * `lax.reduce_window(operand, init_value, computation, window_dimensions, window_strides,
 * padding)`: `computation` over every window of `operand` (one entry per axis in each list;
 * padding 'SAME' / 'SAME_LOWER' / 'VALID' or (lo, hi) pairs).
 */
export function reduceWindow(
  operand: Tensor,
  initValue: number,
  computation: WindowComputation,
  windowDimensions: readonly number[],
  windowStrides: readonly number[],
  padding: 'SAME' | 'SAME_LOWER' | 'VALID' | readonly (readonly [number, number])[],
): Tensor {
  const x = asTensor(operand, `${WHO}: operand`)
  if (typeof initValue !== 'number') throw codedTypeError(`${WHO}: initValue must be a number, got ${describe(initValue)}`)
  const list = (v: readonly number[], name: string) => {
    const xs = intArray(v, `${WHO}: ${name}`)
    if (xs.length !== x.ndim) throw codedError('E_ARG', `${WHO}: ${name} has ${xs.length} entries; expected one per axis of the operand [${x.shape.join(', ')}]`)
    if (xs.some((d) => d < 1)) throw codedError('E_ARG', `${WHO}: ${name} must be positive integers, got ${JSON.stringify(xs)}`)
    return xs
  }
  const dims = list(windowDimensions, 'windowDimensions')
  const strides = list(windowStrides, 'windowStrides')
  let pads: [number, number][]
  if (typeof padding === 'string') pads = padtypeToPads([...x.shape], dims, strides, padding, WHO)
  else {
    if (!Array.isArray(padding) || padding.length !== x.ndim) throw codedTypeError(`${WHO}: padding must be 'SAME', 'SAME_LOWER', 'VALID' or ${x.ndim} (lo, hi) pairs, got ${describe(padding)}`)
    pads = padding.map((p, i) => {
      const q = intArray(p, `${WHO}: padding[${i}]`)
      if (q.length !== 2) throw codedError('E_ARG', `${WHO}: padding[${i}] must be a (lo, hi) pair, got ${JSON.stringify(q)}`)
      return [q[0], q[1]] as [number, number]
    })
  }
  if (computation === 'add' || computation === 'max' || computation === 'min') {
    return new Tensor(op1(opCode('reduce_window'), x.handle, initValue, computation, dims, strides, pads.flat()))
  }
  if (typeof computation !== 'function') throw codedTypeError(`${WHO}: computation must be 'add', 'max', 'min' or a function (a, b) => tensor, got ${describe(computation)}`)
  return composed(x, initValue, computation, dims, strides, pads)
}

/** A general computation: init, then `fn(acc, window element)` per window position where that element is in the input, as strided slices of the padded operand. */
function composed(x: Tensor, init: number, fn: (a: Tensor, b: Tensor) => Tensor, dims: number[], strides: number[], pads: [number, number][]): Tensor {
  if (pads.some(([lo, hi]) => lo < 0 || hi < 0)) throw codedError('E_ARG', `${WHO}: negative padding needs computation 'add', 'max' or 'min', got ${JSON.stringify(pads)}`)
  const out = x.shape.map((n, d) => {
    const padded = n + pads[d][0] + pads[d][1]
    return padded < dims[d] ? 0 : Math.floor((padded - dims[d]) / strides[d]) + 1
  })
  return jnp.tidy(() => {
    const p = jnp.pad(x, pads, { constantValues: init })
    const inside = jnp.pad(jnp.ones(x.shape, 'bool'), pads, { constantValues: false })
    let acc: Tensor = jnp.full(out, init, x.dtype)
    const count = dims.reduce((a, b) => a * b, 1)
    for (let k = 0; k < count; k++) {
      // Window position k, row-major.
      const at = new Array<number>(dims.length)
      for (let d = dims.length - 1, r = k; d >= 0; d--) {
        at[d] = r % dims[d]
        r = Math.floor(r / dims[d])
      }
      const start = at
      const limit = at.map((a, d) => (out[d] === 0 ? a : a + (out[d] - 1) * strides[d] + 1))
      const next = asTensor(fn(acc, slice(p, start, limit, strides)), `${WHO}: the computation's result`)
      acc = jnp.where(slice(inside, start, limit, strides), next, acc)
    }
    return acc
  })
}
