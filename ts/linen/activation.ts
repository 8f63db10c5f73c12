// Activations (flax.linen re-exports of jax.nn) and the one with a parameter, PReLU.
import { withAbstractShape } from '../core'
import * as jnp from '../jnp'
import { codedError, codedTypeError } from '../coded-error'
import { describe, type DType, type Tensor } from '../tensor'
import { compact } from './compact'
import { normalizeAxis } from './initializers'
import { Module } from './module'

/** `relu(x) = max(x, 0)`. */
export function relu(x: Tensor): Tensor {
  return jnp.relu(x)
}

// jax.nn's keyword arguments are an options object here (`nn.gelu(x, { approximate: false })`);
// jnp's own functions keep JAX's positional form (`jnp.gelu(x, false)`).

function options<T extends object>(opts: unknown, name: string): Partial<T> {
  if (opts === undefined) return {}
  if (opts === null || typeof opts !== 'object' || Array.isArray(opts)) {
    throw codedTypeError(`${name}: options must be an object, got ${describe(opts)}`)
  }
  return opts as Partial<T>
}

export interface GeluOptions {
  /** The tanh approximation (JAX's default, true) or the exact erf form (false). */
  approximate?: boolean
}

/** `jax.nn.gelu(x, approximate=True)`. */
export function gelu(x: Tensor, opts?: GeluOptions): Tensor {
  const { approximate = true } = options<GeluOptions>(opts, 'gelu')
  return jnp.gelu(x, approximate)
}

/** `jax.nn.sigmoid`: `1 / (1 + exp(-x))`. */
export function sigmoid(x: Tensor): Tensor {
  return jnp.sigmoid(x)
}

/** `jax.nn.silu` (= swish): `x * sigmoid(x)`. */
export function silu(x: Tensor): Tensor {
  return jnp.silu(x)
}
export const swish = silu

/** `jax.nn.tanh`. */
export function tanh(x: Tensor): Tensor {
  return jnp.tanh(x)
}

export interface AxisOptions {
  /** The axis or axes to normalise over (default -1; null: all). */
  axis?: number | readonly number[] | null
}

/** `jax.nn.softmax(x, axis=-1)`. */
export function softmax(x: Tensor, opts?: AxisOptions): Tensor {
  const { axis = -1 } = options<AxisOptions>(opts, 'softmax')
  return jnp.softmax(x, axis)
}

/** `jax.nn.log_softmax(x, axis=-1)`. */
export function logSoftmax(x: Tensor, opts?: AxisOptions): Tensor {
  const { axis = -1 } = options<AxisOptions>(opts, 'logSoftmax')
  return jnp.logSoftmax(x, axis)
}

/** `jax.nn.one_hot(x, num_classes, dtype=float32, axis=-1)`. */
export function oneHot(x: Tensor | number | readonly number[], numClasses: number, opts?: jnp.OneHotOptions): Tensor {
  return jnp.oneHot(x, numClasses, options<jnp.OneHotOptions>(opts, 'oneHot'))
}

// The rest of jax.nn, composed from jnp ops exactly as JAX composes them (same ops, same operand
// order, same constants), so values match JAX bit for bit and every one is traceable by `jit`.

/** `jax.nn.softplus`: `logaddexp(x, 0)`, i.e. `max(x, 0) + log1p(exp(-|x|))` (x itself where that is NaN). */
export function softplus(x: Tensor): Tensor {
  const delta = jnp.subtract(x, 0)
  return jnp.where(jnp.isnan(delta), jnp.add(x, 0), jnp.add(jnp.maximum(x, 0), jnp.log1p(jnp.exp(jnp.negative(jnp.abs(delta))))))
}

/** `jax.nn.log_sigmoid`: `-softplus(-x)`. */
export function logSigmoid(x: Tensor): Tensor {
  return jnp.negative(softplus(jnp.negative(x)))
}

export interface AlphaOptions {
  /** The scale of the negative part (default 1). */
  alpha?: number
}

/** `jax.nn.elu(x, alpha=1.0)`: `x` where `x > 0`, else `alpha * expm1(x)`. */
export function elu(x: Tensor, opts?: AlphaOptions): Tensor {
  const { alpha = 1 } = options<AlphaOptions>(opts, 'elu')
  const positive = jnp.greater(x, 0)
  return jnp.where(positive, x, jnp.multiply(alpha, jnp.expm1(jnp.where(positive, 0, x))))
}

/** `jax.nn.celu(x, alpha=1.0)`: `max(x, 0) + alpha * expm1(min(x, 0) / alpha)`. */
export function celu(x: Tensor, opts?: AlphaOptions): Tensor {
  const { alpha = 1 } = options<AlphaOptions>(opts, 'celu')
  return jnp.add(jnp.maximum(x, 0), jnp.multiply(alpha, jnp.expm1(jnp.divide(jnp.minimum(x, 0), alpha))))
}

/** `jax.nn.selu`: `scale * elu(x, alpha)` with the self-normalising constants. */
export function selu(x: Tensor): Tensor {
  return jnp.multiply(1.0507009873554805, elu(x, { alpha: 1.6732632423543772 }))
}

export interface LeakyReluOptions {
  /** The slope for `x < 0` (default 0.01). */
  negativeSlope?: number
}

/** `jax.nn.leaky_relu(x, negative_slope=0.01)`: `x` where `x >= 0`, else `negative_slope * x`. */
export function leakyRelu(x: Tensor, opts?: LeakyReluOptions): Tensor {
  const { negativeSlope = 0.01 } = options<LeakyReluOptions>(opts, 'leakyRelu')
  return jnp.where(jnp.greaterEqual(x, 0), x, jnp.multiply(negativeSlope, x))
}

/** `jax.nn.relu6`: `min(max(x, 0), 6)`. */
export function relu6(x: Tensor): Tensor {
  return jnp.minimum(jnp.maximum(x, 0), 6)
}

/** `jax.nn.hard_sigmoid`: `relu6(x + 3) / 6`. */
export function hardSigmoid(x: Tensor): Tensor {
  return jnp.divide(relu6(jnp.add(x, 3)), 6)
}

/** `jax.nn.hard_silu` (= hard_swish): `x * hard_sigmoid(x)`. */
export function hardSilu(x: Tensor): Tensor {
  return jnp.multiply(x, hardSigmoid(x))
}
export const hardSwish = hardSilu

/** `jax.nn.hard_tanh`: `x` clipped to [-1, 1] (NaN stays NaN). */
export function hardTanh(x: Tensor): Tensor {
  return jnp.where(jnp.greater(x, 1), 1, jnp.where(jnp.less(x, -1), -1, x))
}

/** `jax.nn.soft_sign`: `x / (|x| + 1)`. */
export function softSign(x: Tensor): Tensor {
  return jnp.divide(x, jnp.add(jnp.abs(x), 1))
}

export interface GluOptions {
  /** The axis split in two halves (default -1). */
  axis?: number
}

/** `jax.nn.glu(x, axis=-1)`: the halves `a, b` of `x` along `axis` give `a * sigmoid(b)`. */
export function glu(x: Tensor, opts?: GluOptions): Tensor {
  const { axis = -1 } = options<GluOptions>(opts, 'glu')
  const shape = x.shape
  const ax = normalizeAxis(axis, shape.length, 'glu: axis')
  const size = shape[ax]
  if (size % 2 !== 0) throw codedError('E_SHAPE', `glu: axis ${axis} of x (shape [${shape.join(', ')}]) must have an even size, got ${size}`)
  const half = size / 2
  const a = jnp.take(x, jnp.arange(0, half, 1, 'int32'), ax)
  const b = jnp.take(x, jnp.arange(half, size, 1, 'int32'), ax)
  return jnp.multiply(a, jnp.sigmoid(b))
}

export interface StandardizeOptions {
  /** The axis or axes to normalise over (default -1). */
  axis?: number | readonly number[]
  /** A precomputed mean (broadcastable to x); computed over `axis` when omitted. */
  mean?: Tensor
  /** A precomputed variance (broadcastable to x); computed over `axis` when omitted. */
  variance?: Tensor
  /** Added to the variance (default 1e-5). */
  epsilon?: number
  /** 'fast' (default): `E[x²] − E[x]²`, clipped at 0; 'stable': `E[(x − E[x])²]`. */
  algorithm?: 'fast' | 'stable'
}

/** `jax.nn.standardize`: `(x − mean) · rsqrt(variance + epsilon)` over `axis`. */
export function standardize(x: Tensor, opts?: StandardizeOptions): Tensor {
  const { axis = -1, epsilon = 1e-5, algorithm = 'fast', ...given } = options<StandardizeOptions>(opts, 'standardize')
  if (algorithm !== 'fast' && algorithm !== 'stable') {
    throw codedError('E_ARG', `standardize: algorithm must be 'fast' or 'stable', got ${describe(algorithm)}`)
  }
  const mean = given.mean ?? jnp.mean(x, axis, { keepdims: true })
  let variance = given.variance
  if (variance === undefined) {
    variance = algorithm === 'stable'
      ? jnp.mean(jnp.square(jnp.subtract(x, mean)), axis, { keepdims: true })
      : jnp.clip(jnp.subtract(jnp.mean(jnp.square(x), axis, { keepdims: true }), jnp.square(mean)), 0)
  }
  return jnp.multiply(jnp.subtract(x, mean), jnp.rsqrt(jnp.add(variance, epsilon)))
}

/** `nn.PReLU`: `where(x >= 0, x, slope * x)` with a learned scalar `negative_slope`. */
export class PReLU extends Module<{ paramDtype?: DType; negativeSlopeInit?: number }> {
  paramDtype: DType = 'float32'
  negativeSlopeInit = 0.01

  @compact
  call(inputs: Tensor): Tensor {
    const init = this.negativeSlopeInit
    const dtype = this.paramDtype
    // `lambda k: jnp.asarray(negative_slope_init, param_dtype)`: a scalar, the key unused.
    const slopeInit = withAbstractShape((_key: unknown) => jnp.full([], init, dtype), () => [])
    const negativeSlope: Tensor = this.param('negative_slope', slopeInit)
    return jnp.where(jnp.greaterEqual(inputs, 0), inputs, jnp.multiply(negativeSlope.astype(inputs.dtype), inputs))
  }
}
