// Initializers (`flax.linen.initializers` = `jax.nn.initializers` + Flax's builders).
//
// An initializer is `(key, shape, dtype = 'float32') => Tensor`. Scalars are rounded to float32
// exactly where JAX rounds them (JAX computes `variance` in Python floats, then every array
// operation is float32), so the values match JAX bit for bit given the same random bits.
// float16 / bfloat16 (Flax's `param_dtype`): JAX draws in that dtype (its own random bits, not
// a rounded float32 draw) and every following array operation is one of that dtype, rounded;
// here the same operations run on 0-d tensors of the dtype, which round the same way.
// Every initializer carries its output shape (ABSTRACT_SHAPE) so checking an existing
// parameter's shape computes nothing.
import { checkArrayLength, codedRangeError, codedTypeError, optionsArg, type CodedError } from '../coded-error'
import { ABSTRACT_SHAPE, type PRNGKey } from '../core'
import { ValueError } from '../errors'
import * as jnp from '../jnp'
import * as linalg from '../linalg'
import * as random from '../random'
import { describe, isFloatDtype, type DType, type Tensor } from '../tensor'

export type Initializer = ((key: PRNGKey, shape: readonly number[], dtype?: DType) => Tensor) & {
  [ABSTRACT_SHAPE]?: (shape: readonly number[], dtype?: DType) => readonly number[]
}

const f32 = Math.fround

/**
 * A builder's number argument (scale, stddev, bounds): JAX would fail on `normal('abc')` when
 * multiplying by the string; JS would quietly give NaN tensors, so it is checked when the
 * initializer is built.
 */
function finiteArg(x: unknown, who: string, what: string): number {
  if (typeof x !== 'number') throw codedTypeError(`${who}: ${what} must be a number, got ${describe(x)}`)
  if (!Number.isFinite(x)) throw codedRangeError('E_ARG', `${who}: ${what} must be finite, got ${x}`)
  return x
}

/** A ValueError (Flax's class) that also carries a flaxen code. */
function valueError(code: 'E_ARG' | 'E_SHAPE' | 'E_DTYPE', message: string): ValueError {
  const err = new ValueError(message) as ValueError & CodedError
  err.code = code
  return err
}

/** `shape` as an initializer receives it: an array of non-negative integers. */
function checkInitShape(shape: unknown, who: string): readonly number[] {
  if (!Array.isArray(shape)) throw codedTypeError(`${who}: shape must be an array of integers, got ${describe(shape)}`)
  checkArrayLength(shape, `${who}: shape`)
  shape.forEach((d, i) => {
    if (typeof d !== 'number' || !Number.isInteger(d) || d < 0) {
      throw codedRangeError('E_ARG', `${who}: shape[${i}] must be a non-negative integer, got ${typeof d === 'number' ? d : describe(d)}`)
    }
  })
  return shape
}

/**
 * An initializer whose dtype argument defaults to the builder's `dtype` (JAX's
 * `def init(key, shape, dtype=dtype)`): a dtype given at call time — Flax layers always pass
 * `param_dtype` — wins.
 */
function initializer(fn: (key: PRNGKey, shape: readonly number[], dtype: DType) => Tensor, defaultDtype: DType = 'float32'): Initializer {
  const init: Initializer = (key, shape, dtype = defaultDtype) => fn(key, checkInitShape(shape, 'initializer'), dtype)
  init[ABSTRACT_SHAPE] = (shape) => [...checkInitShape(shape, 'initializer')]
  return init
}

function checkFloat32(dtype: DType, who: string): void {
  if (dtype !== 'float32') throw valueError('E_DTYPE', `${who}: only float32 parameters are supported, got ${typeof dtype === 'string' ? dtype : describe(dtype)}`)
}

/** float32, float16 or bfloat16 (JAX's random samplers refuse other dtypes with a ValueError). */
function checkFloat(dtype: DType, who: string): random.FloatDType {
  if (!isFloatDtype(dtype)) throw valueError('E_DTYPE', `${who}: dtype must be a float dtype (float32, float16 or bfloat16), got ${typeof dtype === 'string' ? dtype : describe(dtype)}`)
  return dtype
}

/**
 * `draw * jnp.array(c, dtype)`: float32 multiplies by `c` rounded to float32; a half dtype by
 * `c` converted as `jnp.array` converts it (float16 directly, bfloat16 through float32), and
 * the product rounds to the half dtype.
 */
function scaled(draw: Tensor, c: number, dtype: random.FloatDType): Tensor {
  if (dtype === 'float32') return jnp.multiply(draw, f32(c))
  const s = jnp.full([], c, dtype)
  const out = jnp.multiply(draw, s)
  s.dispose()
  draw.dispose()
  return out
}

/** `draw * s` for a 0-d tensor `s` of the draw's dtype (disposing both). */
function times(draw: Tensor, s: Tensor): Tensor {
  const out = jnp.multiply(draw, s)
  draw.dispose()
  s.dispose()
  return out
}

/** `zeros`: the key is ignored (Flax still spends a 'params' counter tick on it). */
export const zeros: Initializer = initializer((_key, shape, dtype) => jnp.zeros(shape, dtype))
/** `ones`. */
export const ones: Initializer = initializer((_key, shape, dtype) => jnp.ones(shape, dtype))

/** Flax's `zeros_init()`. */
export function zerosInit(): Initializer {
  return zeros
}

/** Flax's `ones_init()`. */
export function onesInit(): Initializer {
  return ones
}

/** `constant(value, dtype=float32)`: `full(shape, value)`. */
export function constant(value: number, dtype: DType = 'float32'): Initializer {
  finiteArg(value, 'constant', 'value')
  return initializer((_key, shape, dt) => jnp.full(shape, value, dt), dtype)
}

/** `uniform(scale=1e-2, dtype=float32)`: U[0, scale). */
export function uniform(scale = 1e-2, dtype: DType = 'float32'): Initializer {
  finiteArg(scale, 'uniform', 'scale')
  return initializer((key, shape, dt) => {
    const d = checkFloat(dt, 'uniform')
    return scaled(random.uniform(key, shape, { dtype: d }), scale, d)
  }, dtype)
}

/** `normal(stddev=1e-2, dtype=float32)`. */
export function normal(stddev = 1e-2, dtype: DType = 'float32'): Initializer {
  finiteArg(stddev, 'normal', 'stddev')
  return initializer((key, shape, dt) => {
    const d = checkFloat(dt, 'normal')
    return scaled(random.normal(key, shape, d), stddev, d)
  }, dtype)
}

export interface TruncatedNormalOptions {
  lower?: number
  upper?: number
  dtype?: DType
}

/** `truncated_normal(stddev=1e-2, dtype=float32, lower=-2, upper=2)`: no variance correction. */
export function truncatedNormal(stddev = 1e-2, options: TruncatedNormalOptions = {}): Initializer {
  const { lower = -2.0, upper = 2.0, dtype = 'float32' } = optionsArg(options, 'truncatedNormal')
  finiteArg(stddev, 'truncated_normal', 'stddev')
  finiteArg(lower, 'truncated_normal', 'lower')
  finiteArg(upper, 'truncated_normal', 'upper')
  return initializer((key, shape, dt) => {
    const d = checkFloat(dt, 'truncated_normal')
    return scaled(random.truncatedNormal(key, lower, upper, shape, d), stddev, d)
  }, dtype)
}

export type Axis = number | readonly number[]

/**
 * An axis of a rank-`ndim` shape, made non-negative. Out of range is an error, as Python's
 * `shape[in_axis]` raises IndexError (an unchecked index read `undefined` and made NaN fans).
 */
export function normalizeAxis(axis: unknown, ndim: number, what = 'axis'): number {
  if (typeof axis !== 'number' || !Number.isInteger(axis)) {
    throw codedTypeError(`${what} must be an integer, got ${typeof axis === 'number' ? axis : describe(axis)}`)
  }
  if (axis < -ndim || axis >= ndim) {
    throw codedRangeError('E_ARG', `${what} ${axis} is out of bounds for a shape of rank ${ndim} (expected ${-ndim} ..= ${ndim - 1})`)
  }
  return axis < 0 ? axis + ndim : axis
}

function sizeOf(shape: readonly number[], axis: Axis, what: string): number {
  if (typeof axis !== 'number' && !Array.isArray(axis)) throw codedTypeError(`computeFans: ${what} must be an integer or an array of integers, got ${describe(axis)}`)
  const axes = typeof axis === 'number' ? [axis] : axis
  checkArrayLength(axes, `computeFans: ${what}`)
  return axes.reduce((p, a) => p * shape[normalizeAxis(a, shape.length, `computeFans: ${what}`)], 1)
}

/** `_compute_fans(shape, in_axis, out_axis, batch_axis)` → [fanIn, fanOut] (Python float arithmetic). */
export function computeFans(shape: readonly number[], inAxis: Axis = -2, outAxis: Axis = -1, batchAxis: Axis = []): [number, number] {
  checkInitShape(shape, 'computeFans')
  if (inAxis === -2 && shape.length <= 1) {
    throw valueError('E_SHAPE', 
      `Can't compute input and output sizes of a ${shape.length}-dimensional weights tensor with default in_axis. ` +
        'Must be at least 2D or specify in_axis explicitly.',
    )
  }
  const inSize = sizeOf(shape, inAxis, 'inAxis')
  const outSize = sizeOf(shape, outAxis, 'outAxis')
  const batchSize = sizeOf(shape, batchAxis, 'batchAxis')
  const receptiveFieldSize = shape.reduce((p, d) => p * d, 1) / inSize / outSize / batchSize
  return [inSize * receptiveFieldSize, outSize * receptiveFieldSize]
}

export type FanMode = 'fan_in' | 'fan_out' | 'fan_avg' | 'fan_geo_avg'
export type Distribution = 'truncated_normal' | 'normal' | 'uniform'

export interface VarianceScalingOptions {
  inAxis?: Axis
  outAxis?: Axis
  batchAxis?: Axis
  dtype?: DType
}

/** Standard deviation of a standard normal truncated to (-2, 2). */
const TRUNCATED_STDDEV = 0.87962566103423978

/**
 * `variance_scaling(scale, mode, distribution, in_axis=-2, out_axis=-1, batch_axis=())`: samples
 * with variance `scale / denominator(fans)`.
 */
export function varianceScaling(scale: number, mode: FanMode, distribution: Distribution, options: VarianceScalingOptions = {}): Initializer {
  const { inAxis = -2, outAxis = -1, batchAxis = [], dtype = 'float32' } = optionsArg(options, 'varianceScaling')
  finiteArg(scale, 'variance_scaling', 'scale')
  return initializer((key, shape, dt) => {
    const d = checkFloat(dt, 'variance_scaling')
    const [fanIn, fanOut] = computeFans(shape, inAxis, outAxis, batchAxis)
    let denominator: number
    if (mode === 'fan_in') denominator = fanIn
    else if (mode === 'fan_out') denominator = fanOut
    else if (mode === 'fan_avg') denominator = (fanIn + fanOut) / 2
    else if (mode === 'fan_geo_avg') denominator = Math.sqrt(fanIn * fanOut)
    else throw valueError('E_ARG', `invalid mode for variance scaling initializer: ${typeof mode === 'string' ? mode : describe(mode)}`)
    if (d !== 'float32') return halfVarianceScaling(key, shape, scale / denominator, distribution, d)
    // Python float64 division, then one cast to float32 (`jnp.array(scale / denominator, dtype)`).
    const variance = f32(scale / denominator)
    if (distribution === 'truncated_normal') {
      // float32 sqrt, then float32 division by float32(0.8796...).
      const stddev = f32(f32(Math.sqrt(variance)) / f32(TRUNCATED_STDDEV))
      return jnp.multiply(random.truncatedNormal(key, -2, 2, shape), stddev)
    }
    if (distribution === 'normal') return jnp.multiply(random.normal(key, shape), f32(Math.sqrt(variance)))
    if (distribution === 'uniform') {
      return jnp.multiply(random.uniform(key, shape, { minval: -1, maxval: 1 }), f32(Math.sqrt(f32(3 * variance))))
    }
    throw valueError('E_ARG', `invalid distribution for variance scaling initializer: ${typeof distribution === 'string' ? distribution : describe(distribution)}`)
  }, dtype)
}

/**
 * variance_scaling's draw for a half dtype, JAX's operations on 0-d arrays of that dtype:
 * `variance = jnp.array(scale / denominator, dtype)`, then `jnp.sqrt(variance) /
 * jnp.array(0.8796..., dtype)` (truncated normal), `jnp.sqrt(variance)` (normal) or
 * `jnp.sqrt(3 * variance)` (uniform on [-1, 1)), each rounded to the dtype, times the draw.
 */
function halfVarianceScaling(key: PRNGKey, shape: readonly number[], v: number, distribution: Distribution, d: 'float16' | 'bfloat16'): Tensor {
  const variance = jnp.full([], v, d)
  try {
    if (distribution === 'truncated_normal') {
      const root = jnp.sqrt(variance)
      const c = jnp.full([], TRUNCATED_STDDEV, d)
      const stddev = jnp.divide(root, c)
      root.dispose()
      c.dispose()
      return times(random.truncatedNormal(key, -2, 2, shape, d), stddev)
    }
    if (distribution === 'normal') return times(random.normal(key, shape, d), jnp.sqrt(variance))
    if (distribution === 'uniform') {
      const three = jnp.multiply(variance, 3)
      const root = jnp.sqrt(three)
      three.dispose()
      return times(random.uniform(key, shape, { minval: -1, maxval: 1, dtype: d }), root)
    }
    throw valueError('E_ARG', `invalid distribution for variance scaling initializer: ${typeof distribution === 'string' ? distribution : describe(distribution)}`)
  } finally {
    variance.dispose()
  }
}

/** `lecun_normal()`: the default kernel init of Dense. */
export function lecunNormal(options: VarianceScalingOptions = {}): Initializer {
  return varianceScaling(1.0, 'fan_in', 'truncated_normal', options)
}

export function lecunUniform(options: VarianceScalingOptions = {}): Initializer {
  return varianceScaling(1.0, 'fan_in', 'uniform', options)
}

export function glorotNormal(options: VarianceScalingOptions = {}): Initializer {
  return varianceScaling(1.0, 'fan_avg', 'truncated_normal', options)
}

export function glorotUniform(options: VarianceScalingOptions = {}): Initializer {
  return varianceScaling(1.0, 'fan_avg', 'uniform', options)
}

export function heNormal(options: VarianceScalingOptions = {}): Initializer {
  return varianceScaling(2.0, 'fan_in', 'truncated_normal', options)
}

export function heUniform(options: VarianceScalingOptions = {}): Initializer {
  return varianceScaling(2.0, 'fan_in', 'uniform', options)
}

export const xavierNormal = glorotNormal
export const xavierUniform = glorotUniform
export const kaimingNormal = heNormal
export const kaimingUniform = heUniform

/**
 * `orthogonal(scale=1.0, column_axis=-1)`: a uniformly distributed orthogonal matrix (QR of a
 * normal matrix, with Q's columns multiplied by the signs of R's diagonal), viewed as
 * `[prod(other axes), shape[columnAxis]]`; rows or columns orthonormal, whichever side is
 * smaller. The normal draw is JAX's bit for bit; the QR agrees with LAPACK's to float32
 * rounding.
 */
export function orthogonal(scale = 1.0, columnAxis = -1, dtype: DType = 'float32'): Initializer {
  finiteArg(scale, 'orthogonal', 'scale')
  return initializer((key, shape, dt) => {
    checkFloat32(dt, 'orthogonal')
    if (shape.length < 2) throw valueError('E_SHAPE', 'orthogonal initializer requires at least a 2D shape')
    const col = normalizeAxis(columnAxis, shape.length, 'orthogonal: columnAxis')
    const size = shape.reduce((p, d) => p * d, 1)
    if (size === 0) return jnp.zeros(shape)
    const nCols = shape[col]
    const nRows = size / nCols
    // The QR runs on the tall orientation; a wide result is its transpose.
    const a = random.normal(key, nRows < nCols ? [nCols, nRows] : [nRows, nCols])
    const [q, r] = linalg.qr(a)
    const k = r.shape[0]
    // jnp.sign of R's diagonal (0 stays 0), broadcast over Q's rows. Gathered with ops, not read
    // through `.data`, so the initializer also runs under jit (where R is a tracer).
    const diagonal = Array.from({ length: k }, (_, i) => i * r.shape[1] + i)
    const signs = jnp.sign(jnp.take(r, diagonal))
    let m = jnp.multiply(q, signs.reshape([1, k]))
    if (nRows < nCols) m = jnp.transpose(m)
    // Rows are the other axes in order, columns the column axis: move it back into place.
    const others = shape.filter((_, i) => i !== col)
    const axes = [...others.map((_, i) => i)]
    axes.splice(col, 0, others.length)
    return jnp.multiply(jnp.transpose(m.reshape([...others, nCols]), axes), f32(scale))
  }, dtype)
}

/**
 * `delta_orthogonal(scale=1.0, column_axis=-1)` for 3-D/4-D/5-D conv kernels: zeros except the
 * spatial centre, which is `orthogonal(scale, column_axis)` of shape `shape[-2:]`.
 */
export function deltaOrthogonal(scale = 1.0, columnAxis = -1, dtype: DType = 'float32'): Initializer {
  return initializer((key, shape, dt) => {
    checkFloat32(dt, 'delta_orthogonal')
    if (![3, 4, 5].includes(shape.length)) throw valueError('E_SHAPE', 'Delta orthogonal initializer requires a 3D, 4D or 5D shape.')
    const [fanIn, fanOut] = shape.slice(-2)
    if (fanOut < fanIn) throw valueError('E_SHAPE', '`fan_in` must be less or equal than `fan_out`. ')
    const ortho = orthogonal(scale, columnAxis, dt)(key, [fanIn, fanOut])
    // W.at[(k1-1)//2, (k2-1)//2, ..., :, :].set(ortho): one contiguous block at the centre.
    const spatial = shape.slice(0, -2)
    let offset = 0
    for (const k of spatial) offset = offset * k + Math.floor((k - 1) / 2)
    // Built with ops, not through `.data`, so it also runs under jit.
    const size = shape.reduce((p, d) => p * d, 1)
    const before = offset * fanIn * fanOut
    const after = size - before - fanIn * fanOut
    return jnp.concatenate([jnp.zeros([before]), ortho.reshape([-1]), jnp.zeros([after])]).reshape(shape)
  }, dtype)
}
