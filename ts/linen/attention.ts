// flax.linen.attention: dot-product attention (weights and output), the mask helpers, and
// MultiHeadDotProductAttention with Flax's parameter tree, RNG use and decode cache.
import { codedTypeError, optionsArg } from '../coded-error'
import type { PRNGKey } from '../core'
import { ValueError } from '../errors'
import * as jnp from '../jnp'
import * as lax from '../lax'
import * as random from '../random'
import { op1, opCode } from '../ops'
import { Tensor, describe, type DType } from '../tensor'
import { compact } from './compact'
import { DenseGeneral } from './dense'
import { canonicalizeDtype, checkDtypeField } from './dtypes'
import { type Initializer, lecunNormal, zerosInit } from './initializers'
import { mergeParam } from './merge-param'
import { Module, type ModuleProps } from './module'
import { constructed, tensorArg } from './module-internals'
import { LayerNorm } from './normalization'

/** float32's most negative finite value (`jnp.finfo(float32).min`): masked logits, not -inf. */
const F32_MIN = -3.4028234663852886e38
const ATTENTION = opCode('dot_product_attention')
const FINFO_MIN: Partial<Record<DType, number>> = { float32: F32_MIN, float16: -65504, bfloat16: -3.3895313892515355e38 }

export interface AttentionWeightsOptions {
  /** Added to the logits, broadcast to `[batch..., heads, q, kv]`. */
  bias?: Tensor | null
  /** Where false, the logit becomes `finfo(dtype).min`. */
  mask?: Tensor | null
  /** One dropout mask for every batch entry and head (default true). */
  broadcastDropout?: boolean
  dropoutRng?: PRNGKey | null
  dropoutRate?: number
  deterministic?: boolean
  /** Computation dtype; null = the promoted dtype of the inputs. */
  dtype?: DType | null
  /** A module to sow the weights into (`intermediates/attention_weights`). */
  module?: Module | null
  /** Softmax in float32 when the computation dtype is a half one. */
  forceFp32ForSoftmax?: boolean
}

function check(cond: boolean, message: string): void {
  if (!cond) throw new ValueError(message)
}

/** `promote_dtype(*xs, dtype=dtype)`: every input in the computation dtype. */
function promote(xs: Tensor[], dtype: DType | null | undefined): Tensor[] {
  const dt = canonicalizeDtype(xs, checkDtypeField(dtype, 'attention'))
  return xs.map((x) => (x.dtype === dt ? x : x.astype(dt)))
}

/**
 * `nn.dot_product_attention_weights(query, key, ...)`: `softmax(q·kᵀ / sqrt(depth) + bias)`
 * over the key axis, masked and dropped out as Flax does. Inputs `[batch..., len, heads, depth]`;
 * result `[batch..., heads, q_len, kv_len]`.
 */
export function dotProductAttentionWeights(query: Tensor, key: Tensor, options: AttentionWeightsOptions = {}): Tensor {
  const o = optionsArg(options, 'dotProductAttentionWeights')
  ;[query, key] = promote([tensorIn(query, 'query'), tensorIn(key, 'key')], o.dtype)
  const dtype = query.dtype
  check(query.ndim === key.ndim, 'q, k must have same rank.')
  check(sameDims(query.shape.slice(0, -3), key.shape.slice(0, -3)), 'q, k batch dims must match.')
  check(query.shape.at(-2) === key.shape.at(-2), 'q, k num_heads must match.')
  check(query.shape.at(-1) === key.shape.at(-1), 'q, k depths must match.')
  const depth = query.shape[query.ndim - 1]
  // `query / jnp.sqrt(depth).astype(dtype)`: the query is scaled, not the logits.
  const scale = jnp.full([], Math.sqrt(depth), dtype)
  const q = jnp.divide(query, scale)
  let w = jnp.einsum('...qhd,...khd->...hqk', q, key)
  if (o.bias !== undefined && o.bias !== null) w = jnp.add(w, o.bias)
  if (o.mask !== undefined && o.mask !== null) w = jnp.where(o.mask, w, FINFO_MIN[dtype] ?? F32_MIN)
  if (o.forceFp32ForSoftmax && dtype !== 'float32') w = jnp.softmax(w.astype('float32'))
  else {
    w = jnp.softmax(w)
    if (w.dtype !== dtype) w = w.astype(dtype)
  }
  if (o.module) o.module.sow('intermediates', 'attention_weights', w)
  const rate = o.dropoutRate ?? 0
  if (!(o.deterministic ?? false) && rate > 0) {
    const keepProb = 1 - rate
    const shape = o.broadcastDropout ?? true ? [...Array(key.ndim - 2).fill(1), ...w.shape.slice(-2)] : w.shape
    if (o.dropoutRng === undefined || o.dropoutRng === null) throw new ValueError('dropout_rng must be given when dropout is applied (dropout_rate > 0 and not deterministic).')
    const keep = random.bernoulli(o.dropoutRng, keepProb, shape)
    const multiplier = jnp.divide(keep.astype(dtype), jnp.full([], keepProb, dtype))
    w = jnp.multiply(w, multiplier)
  }
  return w
}

/**
 * `nn.dot_product_attention(query, key, value, ...)`: the attention weights applied to `value`;
 * result `[batch..., q_len, heads, v_depth]`.
 */
export function dotProductAttention(query: Tensor, key: Tensor, value: Tensor, options: AttentionWeightsOptions = {}): Tensor {
  const o = optionsArg(options, 'dotProductAttention')
  ;[query, key, value] = promote([tensorIn(query, 'query'), tensorIn(key, 'key'), tensorIn(value, 'value')], o.dtype)
  check(key.ndim === query.ndim && query.ndim === value.ndim, 'q, k, v must have same rank.')
  check(sameDims(query.shape.slice(0, -3), key.shape.slice(0, -3)) && sameDims(key.shape.slice(0, -3), value.shape.slice(0, -3)), 'q, k, v batch dims must match.')
  check(query.shape.at(-2) === key.shape.at(-2) && key.shape.at(-2) === value.shape.at(-2), 'q, k, v num_heads must match.')
  check(key.shape.at(-3) === value.shape.at(-3), 'k, v lengths must match.')
  for (const name of ['bias', 'mask'] as const) if (o[name] !== undefined && o[name] !== null) tensorIn(o[name], name)
  const dropping = !(o.deterministic ?? false) && (o.dropoutRate ?? 0) > 0
  if (!dropping && !o.module && query.dtype === 'float32' && !o.forceFp32ForSoftmax) {
    // The weights are not needed: the fused kernel (blocked online softmax, masked blocks
    // skipped), equal to the composition below within float32 rounding.
    return new Tensor(op1(ATTENTION, query.handle, key.handle, value.handle, o.bias?.handle ?? null, o.mask?.handle ?? null))
  }
  const w = dotProductAttentionWeights(query, key, { ...o, dtype: query.dtype })
  return jnp.einsum('...hqk,...khd->...qhd', w, value)
}

export interface MaskOptions {
  /** Leading singleton axes added in front (default 0). */
  extraBatchDims?: number
  /** The mask's dtype (default float32: 1 where attention is allowed, 0 elsewhere). */
  dtype?: DType
}

export interface AttentionMaskOptions extends MaskOptions {
  /** Combines each query entry with each key entry (default `jnp.multiply`). */
  pairwiseFn?: (a: Tensor, b: Tensor) => Tensor
}

/**
 * `nn.make_attention_mask(query_input, key_input, ...)`: `pairwiseFn(q[..., :, None],
 * k[..., None, :])` with a heads axis at -3: shape `[extra..., batch..., 1, len_q, len_kv]`.
 */
export function makeAttentionMask(queryInput: Tensor, keyInput: Tensor, options: AttentionMaskOptions = {}): Tensor {
  const { pairwiseFn = jnp.multiply, extraBatchDims = 0, dtype = 'float32' } = optionsArg(options, 'makeAttentionMask')
  const q = jnp.expandDims(tensorIn(queryInput, 'queryInput'), -1)
  const k = jnp.expandDims(tensorIn(keyInput, 'keyInput'), -2)
  let mask = jnp.expandDims(pairwiseFn(q, k), -3)
  if (!Number.isInteger(extraBatchDims) || extraBatchDims < 0) throw codedTypeError(`makeAttentionMask: extraBatchDims must be a non-negative integer, got ${describe(extraBatchDims)}`)
  if (extraBatchDims > 0) mask = jnp.expandDims(mask, Array.from({ length: extraBatchDims }, (_, i) => i))
  return mask.astype(dtype)
}

/** `nn.make_causal_mask(x, ...)`: `mask[..., 0, i, j] = (i >= j)` over x's last axis. */
export function makeCausalMask(x: Tensor, options: MaskOptions = {}): Tensor {
  const { extraBatchDims = 0, dtype = 'float32' } = optionsArg(options, 'makeCausalMask')
  const t = tensorIn(x, 'x')
  const idx = jnp.broadcastTo(jnp.arange(t.shape[t.ndim - 1], undefined, 1, 'int32'), t.shape)
  return makeAttentionMask(idx, idx, { pairwiseFn: jnp.greaterEqual, extraBatchDims, dtype })
}

/**
 * `nn.combine_masks(*masks, dtype)`: the logical AND of the masks given (nulls ignored; null if
 * none), as `dtype` (default float32). A trailing `{ dtype }` object sets the dtype.
 */
export function combineMasks(...masks: (Tensor | null | undefined | { dtype?: DType })[]): Tensor | null {
  let dtype: DType = 'float32'
  const last = masks.at(-1)
  if (last !== undefined && last !== null && !(last instanceof Tensor)) {
    dtype = optionsArg(last as { dtype?: DType }, 'combineMasks').dtype ?? 'float32'
    masks = masks.slice(0, -1)
  }
  const ms = masks.filter((m): m is Tensor => m !== null && m !== undefined)
  ms.forEach((m, i) => tensorIn(m, `masks[${i}]`))
  if (ms.length === 0) return null
  check(ms.every((m) => m.ndim === ms[0].ndim), `masks must have same rank: ${ms.map((m) => m.ndim).join(', ')}`)
  let mask = ms[0]
  for (const m of ms.slice(1)) mask = jnp.logicalAnd(mask, m)
  return mask.astype(dtype)
}

function tensorIn(x: unknown, what: string): Tensor {
  if (!(x instanceof Tensor)) throw codedTypeError(`attention: ${what} must be a Tensor, got ${describe(x)}`)
  return x
}

function sameDims(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i])
}

/** The attention function a MultiHeadDotProductAttention calls (default `dotProductAttention`). */
export type AttentionFn = (query: Tensor, key: Tensor, value: Tensor, options: AttentionWeightsOptions) => Tensor

export interface MultiHeadDotProductAttentionProps {
  numHeads: number
  dtype?: DType | null
  paramDtype?: DType
  qkvFeatures?: number | null
  outFeatures?: number | null
  broadcastDropout?: boolean
  dropoutRate?: number
  deterministic?: boolean | null
  kernelInit?: Initializer
  outKernelInit?: Initializer | null
  biasInit?: Initializer
  outBiasInit?: Initializer | null
  useBias?: boolean
  attentionFn?: AttentionFn
  decode?: boolean
  normalizeQk?: boolean
  forceFp32ForSoftmax?: boolean
}

export interface AttentionCallOptions {
  /** Deprecated: keys and values together (as `inputsK`). */
  inputsKv?: Tensor | null
  /** `[batch..., heads, q_len, kv_len]`; false entries are masked out. */
  mask?: Tensor | null
  deterministic?: boolean | null
  /** An explicit dropout key; otherwise `makeRng('dropout')` in this module's scope. */
  dropoutRng?: PRNGKey | null
  /** Sow the attention weights into `intermediates/attention_weights`. */
  sowWeights?: boolean
}

type KV = Tensor | null | undefined

/** Splits `call`'s arguments: up to two optional tensors, then an optional options object. */
function callArgs(rest: (KV | AttentionCallOptions)[]): [KV, KV, AttentionCallOptions] {
  const tensors: KV[] = []
  let options: AttentionCallOptions = {}
  for (const [i, a] of rest.entries()) {
    if (a instanceof Tensor || a === null || a === undefined) {
      if (tensors.length === 2) throw codedTypeError('MultiHeadDotProductAttention.call: at most three tensors (inputsQ, inputsK, inputsV) before the options object')
      tensors.push(a as KV)
    } else if (i === rest.length - 1 && typeof a === 'object' && !Array.isArray(a)) options = a as AttentionCallOptions
    else throw codedTypeError(`MultiHeadDotProductAttention.call: argument ${i + 1} must be a Tensor, null or the options object, got ${describe(a)}`)
  }
  return [tensors[0], tensors[1], options]
}

/**
 * `nn.MultiHeadDotProductAttention`: projects the inputs to `numHeads` heads of queries, keys
 * and values (`DenseGeneral`s named query/key/value), attends, and projects back (`out`).
 * `call(inputsQ, inputsK?, inputsV?, { mask, deterministic, dropoutRng, sowWeights })`; `inputsK`
 * defaults to `inputsQ` and `inputsV` to `inputsK`. With `decode`, keys and values are kept in the
 * `cache` collection (`cached_key`, `cached_value`, `cache_index`) and each call after the first
 * attends one new position to everything cached so far.
 */
export class MultiHeadDotProductAttention extends Module<MultiHeadDotProductAttentionProps> {
  numHeads!: number
  dtype: DType | null = null
  paramDtype: DType = 'float32'
  qkvFeatures: number | null = null
  outFeatures: number | null = null
  broadcastDropout = true
  dropoutRate = 0
  deterministic: boolean | null = null
  kernelInit: Initializer = lecunNormal()
  outKernelInit: Initializer | null = null
  biasInit: Initializer = zerosInit()
  outBiasInit: Initializer | null = null
  useBias = true
  attentionFn: AttentionFn = dotProductAttention
  decode = false
  normalizeQk = false
  forceFp32ForSoftmax = false

  constructor(props: ModuleProps<MultiHeadDotProductAttentionProps>) {
    super(props)
    constructed(this, new.target, MultiHeadDotProductAttention)
  }

  @compact
  call(inputsQ: Tensor, ...rest: (KV | AttentionCallOptions)[]): Tensor {
    inputsQ = tensorArg(this, 'call', 'inputsQ', inputsQ)
    let [inputsK, inputsV, options] = callArgs(rest)
    const { inputsKv = null, deterministic = null, sowWeights = false } = optionsArg(options, 'MultiHeadDotProductAttention.call')
    let { mask = null, dropoutRng = null } = options
    if (inputsKv !== null && inputsKv !== undefined) {
      if (inputsK !== null && inputsK !== undefined || inputsV !== null && inputsV !== undefined) {
        throw new ValueError(
          'If either `inputs_k` or `inputs_v` is not None, `inputs_kv` must be None. If `inputs_kv` is not None, both `inputs_k` and `inputs_v` must be None. ' +
            'We recommend using `inputs_k` and `inputs_v` args, since `inputs_kv` will be deprecated soon. See https://github.com/google/flax/discussions/3389 for more information.',
        )
      }
      inputsK = inputsV = inputsKv
      process.emitWarning('The inputs_kv arg will be deprecated soon. Use inputs_k and inputs_v instead. See https://github.com/google/flax/discussions/3389 for more information.', 'DeprecationWarning')
    } else {
      if (inputsK === null || inputsK === undefined) {
        if (inputsV !== null && inputsV !== undefined) {
          throw new ValueError('`inputs_k` cannot be None if `inputs_v` is not None. To have both `inputs_k` and `inputs_v` be the same value, pass in the value to `inputs_k` and leave `inputs_v` as None.')
        }
        inputsK = inputsQ
      }
      if (inputsV === null || inputsV === undefined) inputsV = inputsK
      else if (inputsV.shape.at(-1) === inputsV.shape.at(-2)) {
        process.emitWarning(
          `You are passing an array of shape (${inputsV.shape.join(', ')}) to the \`inputs_v\` arg, when you may have intended to pass it to the \`mask\` arg. ` +
            'Use the option `mask` instead. See https://github.com/google/flax/discussions/3389.',
          'DeprecationWarning',
        )
      }
    }
    const k = tensorArg(this, 'call', 'inputsK', inputsK)
    const v = tensorArg(this, 'call', 'inputsV', inputsV)
    for (const [name, f] of [['qkvFeatures', this.qkvFeatures], ['outFeatures', this.outFeatures]] as const) {
      if (f !== null && f !== undefined && !(Number.isInteger(f) && f > 0)) throw codedTypeError(`MultiHeadDotProductAttention: ${name} must be a positive integer or null, got ${describe(f)}`)
    }
    if (typeof this.dropoutRate !== 'number' || !(this.dropoutRate >= 0 && this.dropoutRate <= 1)) {
      throw codedTypeError(`MultiHeadDotProductAttention: dropoutRate must be a number in [0, 1], got ${describe(this.dropoutRate)}`)
    }
    const features = this.outFeatures ?? inputsQ.shape[inputsQ.ndim - 1]
    const qkvFeatures = this.qkvFeatures ?? inputsQ.shape[inputsQ.ndim - 1]
    if (!Number.isInteger(this.numHeads) || this.numHeads <= 0) throw codedTypeError(`MultiHeadDotProductAttention: numHeads must be a positive integer, got ${describe(this.numHeads)}`)
    check(qkvFeatures % this.numHeads === 0, `Memory dimension (${qkvFeatures}) must be divisible by number of heads (${this.numHeads}).`)
    const headDim = qkvFeatures / this.numHeads
    const dense = (name: string) =>
      new DenseGeneral({
        axis: -1, dtype: this.dtype, paramDtype: this.paramDtype, features: [this.numHeads, headDim],
        kernelInit: this.kernelInit, biasInit: this.biasInit, useBias: this.useBias, name,
      })
    let query = dense('query').call(inputsQ)
    let key = dense('key').call(k)
    let value = dense('value').call(v)
    if (this.normalizeQk) {
      query = new LayerNorm({ name: 'query_ln', useBias: false, dtype: this.dtype, paramDtype: this.paramDtype }).call(query)
      key = new LayerNorm({ name: 'key_ln', useBias: false, dtype: this.dtype, paramDtype: this.paramDtype }).call(key)
    }
    if (this.decode) [key, value, mask] = this.updateCache(query, key, value, mask)
    let det = true
    if (this.dropoutRate > 0) {
      det = mergeParam('deterministic', this.deterministic, deterministic)
      if (!det && (dropoutRng === null || dropoutRng === undefined)) dropoutRng = this.makeRng('dropout')
    }
    const x = this.attentionFn(query, key, value, {
      mask, dropoutRng, dropoutRate: this.dropoutRate, broadcastDropout: this.broadcastDropout, deterministic: det,
      dtype: this.dtype, forceFp32ForSoftmax: this.forceFp32ForSoftmax, ...(sowWeights ? { module: this } : {}),
    })
    return new DenseGeneral({
      features, axis: [-2, -1], kernelInit: this.outKernelInit ?? this.kernelInit, biasInit: this.outBiasInit ?? this.biasInit,
      useBias: this.useBias, dtype: this.dtype, paramDtype: this.paramDtype, name: 'out',
    }).call(x)
  }

  /** The decode step: cache variables created at init; later calls write one position. */
  private updateCache(query: Tensor, key: Tensor, value: Tensor, mask: Tensor | null): [Tensor, Tensor, Tensor | null] {
    const initialized = this.hasVariable('cache', 'cached_key')
    const cachedKey = this.variable('cache', 'cached_key', jnp.zeros, key.shape, key.dtype)
    const cachedValue = this.variable('cache', 'cached_value', jnp.zeros, value.shape, value.dtype)
    const cacheIndex = this.variable('cache', 'cache_index', () => jnp.full([], 0, 'int32'))
    if (!initialized) return [key, value, mask]
    const shape: number[] = [...(cachedKey.value as Tensor).shape]
    const [maxLength, numHeads, depth] = shape.slice(-3)
    const batch = shape.slice(0, -3)
    const expected = [...batch, 1, numHeads, depth]
    if (!sameDims(expected, query.shape)) {
      const tuple = (s: readonly number[]) => `(${s.join(', ')}${s.length === 1 ? ',' : ''})`
      throw new ValueError(`Autoregressive cache shape error, expected query shape ${tuple(expected)} instead got ${tuple(query.shape)}.`)
    }
    const cur = cacheIndex.value as Tensor
    const indices = [...batch.map(() => 0), cur, 0, 0]
    key = lax.dynamicUpdateSlice(cachedKey.value, key, indices)
    value = lax.dynamicUpdateSlice(cachedValue.value, value, indices)
    cachedKey.value = key
    cachedValue.value = value
    cacheIndex.value = jnp.add(cur, 1)
    // The one query attends to the positions written so far, not to the zeros after them.
    const upTo = jnp.lessEqual(jnp.arange(maxLength, undefined, 1, 'int32'), cur)
    return [key, value, combineMasks(mask, jnp.broadcastTo(upTo, [...batch, 1, 1, maxLength]))]
  }
}

/** `nn.MultiHeadAttention`: MultiHeadDotProductAttention under its own name (auto-named `MultiHeadAttention_N`). */
export class MultiHeadAttention extends MultiHeadDotProductAttention {
  constructor(props: ModuleProps<MultiHeadDotProductAttentionProps>) {
    super(props)
    constructed(this, new.target, MultiHeadAttention)
  }
}

export interface SelfAttentionCallOptions {
  mask?: Tensor | null
  deterministic?: boolean | null
  dropoutRng?: PRNGKey | null
  sowWeights?: boolean
}

/** `nn.SelfAttention` (deprecated in Flax): `call(inputsQ, { mask, deterministic, dropoutRng, sowWeights })`. */
export class SelfAttention extends MultiHeadDotProductAttention {
  constructor(props: ModuleProps<MultiHeadDotProductAttentionProps>) {
    super(props)
    constructed(this, new.target, SelfAttention)
  }

  @compact
  call(inputsQ: Tensor, options: SelfAttentionCallOptions = {}): Tensor {
    process.emitWarning('SelfAttention will be deprecated soon. Use `MultiHeadDotProductAttention.__call__(inputs_q)` instead. See https://github.com/google/flax/discussions/3389 for more information.', 'DeprecationWarning')
    return super.call(inputsQ, optionsArg(options, 'SelfAttention.call'))
  }
}
