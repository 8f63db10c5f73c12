// `jax.ShapeDtypeStruct`: a tensor's shape and dtype without its data. `evalShape` returns these
// for every tensor a function would make, and takes them as arguments in place of tensors.
import { checkArrayLength, codedError } from './coded-error'
import { DTYPES, checkShapeArg, describe, type DType } from './tensor'

export class ShapeDtypeStruct<D extends DType = DType> {
  readonly shape: readonly number[]
  readonly dtype: D

  constructor(shape: readonly number[], dtype: D) {
    const dims = checkShapeArg(shape, 'ShapeDtypeStruct: shape')
    checkArrayLength(dims, 'ShapeDtypeStruct: shape')
    for (let i = 0; i < dims.length; i++) {
      const d = dims[i]
      if (!Number.isSafeInteger(d) || d < 0) throw codedError('E_SHAPE', `ShapeDtypeStruct: shape[${i}] must be a non-negative integer, got ${describe(d)}`)
    }
    this.shape = Object.freeze([...dims])
    if (!DTYPES.includes(dtype)) throw codedError('E_DTYPE', `ShapeDtypeStruct: dtype must be one of ${DTYPES.join(', ')}, got ${typeof dtype === 'string' ? JSON.stringify(dtype.slice(0, 40)) : describe(dtype)}`)
    this.dtype = dtype
  }

  get ndim(): number {
    return this.shape.length
  }

  /** Elements (1 for a scalar). */
  get size(): number {
    return this.shape.reduce((a, b) => a * b, 1)
  }

  toString(): string {
    return `ShapeDtypeStruct(shape=(${this.shape.join(', ')}${this.shape.length === 1 ? ',' : ''}), dtype=${this.dtype})`
  }
}
