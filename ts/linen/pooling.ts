// flax.linen.pooling: `pool` over lax.reduceWindow and the average / max / min pools. Inputs are
// (batch..., window dims..., features); an input with no batch axis gets one for the call, as
// Flax adds it. Flax's keyword arguments are one options object: `nn.avgPool(x, [2, 2],
// { strides: [2, 2], padding: 'SAME', countIncludePad: false })`.
import { codedError, codedTypeError, intArray, optionsArg } from '../coded-error'
import * as jnp from '../jnp'
import { reduceWindow, type WindowComputation } from '../lax-window'
import { asTensor, type Tensor } from '../tensor'

export type PoolPadding = 'SAME' | 'SAME_LOWER' | 'VALID' | readonly (readonly [number, number])[]

export interface PoolOptions {
  /** Inter-window strides, one per window dim (default all 1). */
  strides?: readonly number[] | null
  /** Default 'VALID'. */
  padding?: PoolPadding
}

export interface AvgPoolOptions extends PoolOptions {
  /** Divide by the whole window (default) or only by the positions inside the input. */
  countIncludePad?: boolean
}

/** `nn.pool(inputs, init, reduceFn, windowShape, { strides, padding })`. */
export function pool(inputs: Tensor, init: number, reduceFn: WindowComputation, windowShape: readonly number[], options: PoolOptions = {}): Tensor {
  const { strides = null, padding = 'VALID' } = optionsArg(options, 'pool')
  let x = asTensor(inputs, 'pool: inputs')
  const window = intArray(windowShape, 'pool: windowShape')
  const st = strides === null ? window.map(() => 1) : intArray(strides, 'pool: strides')
  if (st.length !== window.length) throw codedError('E_ARG', `pool: len(${JSON.stringify(window)}) must equal len(${JSON.stringify(st)})`)
  const batchDims = x.ndim - (window.length + 1)
  if (batchDims < 0) throw codedError('E_SHAPE', `pool: inputs of shape [${x.shape.join(', ')}] need (batch..., ${window.length} window dims, features): at least ${window.length + 1} axes`)
  const single = batchDims === 0
  if (single) x = jnp.expandDims(x, 0)
  const lead = single ? 1 : batchDims
  const dims = [...new Array<number>(lead).fill(1), ...window, 1]
  const strides2 = [...new Array<number>(lead).fill(1), ...st, 1]
  let pads: PoolPadding = padding
  if (typeof padding !== 'string') {
    if (!Array.isArray(padding) || padding.length !== window.length) {
      throw codedTypeError(`pool: padding ${JSON.stringify(padding)} must specify pads for same number of dims as window_shape ${JSON.stringify(window)}`)
    }
    pads = [...new Array(lead).fill([0, 0]), ...padding, [0, 0]]
  }
  const y = reduceWindow(x, init, reduceFn, dims, strides2, pads)
  if (!single) return y
  x.dispose()
  const out = jnp.squeeze(y, 0)
  y.dispose()
  return out
}

/** `nn.avg_pool`: the mean over each window (padded positions count unless `countIncludePad: false`). */
export function avgPool(inputs: Tensor, windowShape: readonly number[], options: AvgPoolOptions = {}): Tensor {
  const { countIncludePad = true, ...rest } = optionsArg(options, 'avgPool')
  const x = asTensor(inputs, 'avgPool: inputs')
  const sum = pool(x, 0, 'add', windowShape, rest)
  let div: Tensor
  if (countIncludePad) {
    div = jnp.full([], windowShape.reduce((a, b) => a * b, 1), sum.dtype)
  } else {
    // Flax divides by the pool of ones shaped like the input with one feature (batch 1 when the
    // input has one batch axis).
    const shape = [...x.shape.slice(0, -1), 1]
    if (shape.length - 2 === windowShape.length) shape[0] = 1
    const ones = jnp.ones(shape, sum.dtype)
    div = pool(ones, 0, 'add', windowShape, rest)
    ones.dispose()
  }
  const y = jnp.divide(sum, div)
  sum.dispose()
  div.dispose()
  return y
}

/** `nn.max_pool`: the maximum of each window (padding never wins: it counts as -inf). */
export function maxPool(inputs: Tensor, windowShape: readonly number[], options: PoolOptions = {}): Tensor {
  return pool(inputs, -Infinity, 'max', windowShape, optionsArg(options, 'maxPool'))
}

/** `nn.min_pool`: the minimum of each window (padding counts as +inf). */
export function minPool(inputs: Tensor, windowShape: readonly number[], options: PoolOptions = {}): Tensor {
  return pool(inputs, Infinity, 'min', windowShape, optionsArg(options, 'minPool'))
}
