// `flax.linen.dtypes`: canonicalize_dtype over flaxen's dtypes, with JAX's type promotion
// (float16 with bfloat16 is float32, a float with an integer is the float); the layers apply
// promote_dtype with it (casting each operand to the canonical dtype).
import { codedTypeError } from '../coded-error'
import { ValueError } from '../errors'
import { describe, isFloatDtype, Tensor, type DType } from '../tensor'

const SIGNED: readonly DType[] = ['int8', 'int32']
const UNSIGNED: readonly DType[] = ['uint8', 'uint16', 'uint32']

/** `jnp.promote_types(a, b)` on flaxen's dtypes (x64 off: wider integers become int32). */
export function promoteTypes(a: DType, b: DType): DType {
  if (a === b) return a
  if (a === 'float32' || b === 'float32') return 'float32'
  const fa = isFloatDtype(a)
  const fb = isFloatDtype(b)
  if (fa && fb) return 'float32' // float16 with bfloat16
  if (fa) return a
  if (fb) return b
  if (a === 'bool') return b
  if (b === 'bool') return a
  const rank = (d: DType, list: readonly DType[]) => list.indexOf(d)
  if (SIGNED.includes(a) && SIGNED.includes(b)) return rank(a, SIGNED) > rank(b, SIGNED) ? a : b
  if (UNSIGNED.includes(a) && UNSIGNED.includes(b)) return rank(a, UNSIGNED) > rank(b, UNSIGNED) ? a : b
  // Signed with unsigned: int16/int64 in JAX, which canonicalise to int32 here.
  return 'int32'
}

/** `jnp.result_type` of the given dtypes. */
export function resultType(...dtypes: DType[]): DType {
  return dtypes.reduce((a, b) => promoteTypes(a, b))
}

/**
 * `canonicalize_dtype(*args, dtype=dtype, inexact=inexact)`: `dtype` when given, else the
 * result type of the args (null args are skipped), made inexact (float32) if it is not.
 */
export function canonicalizeDtype(args: readonly (Tensor | null | undefined)[], dtype: DType | null | undefined, inexact = true): DType {
  let dt = dtype ?? null
  if (dt !== null && typeof dt !== 'string') throw codedTypeError(`dtype must be a dtype name or null, got ${describe(dt)}`)
  if (dt === null) {
    const dts = args.filter((x): x is Tensor => x instanceof Tensor).map((x) => x.dtype)
    dt = dts.length === 0 ? 'float32' : resultType(...dts)
    if (inexact && !isFloatDtype(dt)) dt = 'float32'
  }
  if (inexact && !isFloatDtype(dt)) {
    const err = new ValueError(`Dtype must be inexact: ${dt}`) as ValueError & { code: string }
    err.code = 'E_DTYPE'
    throw err
  }
  return dt
}

/**
 * A weight as an operand of a float32 product: a float16 / bfloat16 weight is kept as it is
 * (the matmul widens it in registers, which gives the float32 product of the widened weight bit
 * for bit, without the widened copy `promote_dtype` would make); otherwise cast to `dt`.
 */
export function asOperand(w: Tensor, dt: DType): Tensor {
  // A param made by a user's initializer may be anything: say so with a coded error.
  if (!(w instanceof Tensor)) throw codedTypeError(`expected the parameter to be a Tensor (what the initializer returned), got ${describe(w)}`)
  if (w.dtype === dt) return w
  if (dt === 'float32' && (w.dtype === 'float16' || w.dtype === 'bfloat16')) return w
  return w.astype(dt)
}

/**
 * `promote_dtype(inputs, kernel, bias, dtype=dtype)`: the computation dtype (`dtype`, else the
 * promoted dtype of all three, made a float) and the operands in it. A float16 / bfloat16
 * kernel or bias in a float32 computation is left as it is: the matmul and the add widen it
 * exactly, so the result is the one of the widened copy JAX makes.
 */
export function promoteDtype(inputs: Tensor, kernel: Tensor, bias: Tensor | null, dtype: unknown, layer: string): [Tensor, Tensor, Tensor | null] {
  const dt = canonicalizeDtype([inputs, kernel, bias], checkDtypeField(dtype, layer))
  const x = inputs.dtype === dt ? inputs : inputs.astype(dt)
  return [x, asOperand(kernel, dt), bias === null ? null : asOperand(bias, dt)]
}

/** A float dtype or null (Flax's `dtype` field): anything else is refused up front. */
export function checkDtypeField(dtype: unknown, who: string): DType | null {
  if (dtype === null || dtype === undefined) return null
  if (!isFloatDtype(dtype)) {
    const err = new ValueError(`${who}: dtype must be float32, float16, bfloat16 or null, got ${typeof dtype === 'string' ? dtype : describe(dtype)}`) as ValueError & { code: string }
    err.code = 'E_DTYPE'
    throw err
  }
  return dtype
}
