// GPT-2 ported from Hugging Face's Flax definitions (transformers 4.57.6,
// transformers/models/gpt2/modeling_flax_gpt2.py), module by module, so that its parameter tree
// is FlaxGPT2LMHeadModel's and a `flax_model.msgpack` saved by `save_pretrained` loads by name
// (or the same tree flattened with '.' in a `model.safetensors`, mapped without a copy; see
// loadGpt2 and examples/gpt2-safetensors.ts):
//
//   transformer/wte/embedding                    [vocab, n_embd]
//   transformer/wpe/embedding                    [n_positions, n_embd]
//   transformer/h/{i}/ln_1/{scale,bias}
//   transformer/h/{i}/attn/c_attn/{kernel,bias}  kernel [3 n_embd, n_embd]  (FlaxConv1D: (out, in))
//   transformer/h/{i}/attn/c_proj/{kernel,bias}
//   transformer/h/{i}/ln_2/{scale,bias}
//   transformer/h/{i}/mlp/c_fc/{kernel,bias}     kernel [n_inner, n_embd]
//   transformer/h/{i}/mlp/c_proj/{kernel,bias}   kernel [n_embd, n_inner]
//   transformer/ln_f/{scale,bias}
//
// The LM head is tied to wte (`tie_word_embeddings`, GPT-2's default): logits = h @ wteᵀ, no
// parameters of its own. The decode cache is HF's (`cache` collection: cached_key, cached_value,
// cache_index per attention layer), written with lax.dynamicUpdateSlice, so a prompt prefilled
// in one call and then one token per call gives the logits of the full forward.
//
// `generate` is an async generator of token ids on that cache: greedy, or sampling with a
// temperature and top-k as HF's FlaxGenerationMixin does (the same key splits, so the same
// samples), the prompt in one call and then one jit-compiled decode step per token, each run
// with `f.async`; an AbortSignal stops it mid-step, and its cache is freed when it ends.
//
// Run `npx tsx examples/gpt2.ts [dir]` (default: the tiny test fixture): streams token ids.
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { ShapeDtypeStruct, Tensor, evalShape, jit, jnp, lax, nn, random, safetensors, serialization, traverseUtil, tree, type DType, type Jitted, type Variables } from '../ts/index'

// ---------------------------------------------------------------------------------------------
// Configuration (GPT2Config; only the fields FlaxGPT2 reads)

export interface GPT2Config {
  vocabSize: number
  nPositions: number
  nEmbd: number
  nLayer: number
  nHead: number
  /** The MLP's width; null = 4 * nEmbd. */
  nInner: number | null
  /** A key of HF's Flax ACT2FN: gelu_new (GPT-2), gelu, relu, silu, swish, quick_gelu, gelu_pytorch_tanh, tanh. */
  activationFunction: string
  layerNormEpsilon: number
  initializerRange: number
  embdPdrop: number
  attnPdrop: number
  residPdrop: number
  tieWordEmbeddings: boolean
  bosTokenId: number | null
  eosTokenId: number | null
}

/** HF's GPT2Config defaults (GPT-2 small). */
export const GPT2_DEFAULTS: GPT2Config = {
  vocabSize: 50257, nPositions: 1024, nEmbd: 768, nLayer: 12, nHead: 12, nInner: null, activationFunction: 'gelu_new',
  layerNormEpsilon: 1e-5, initializerRange: 0.02, embdPdrop: 0.1, attnPdrop: 0.1, residPdrop: 0.1, tieWordEmbeddings: true,
  bosTokenId: 50256, eosTokenId: 50256,
}

/** A GPT2Config from a Hugging Face `config.json` (snake_case keys; missing keys take HF's defaults). */
export function configFromJson(json: Record<string, unknown>): GPT2Config {
  if (json.model_type !== undefined && json.model_type !== 'gpt2') throw new Error(`configFromJson: model_type is ${String(json.model_type)}, not gpt2`)
  if (json.add_cross_attention === true) throw new Error('configFromJson: add_cross_attention (the encoder-decoder form) is not ported')
  const pick = <K extends keyof GPT2Config>(key: K, name: string): GPT2Config[K] => (json[name] === undefined ? GPT2_DEFAULTS[key] : (json[name] as GPT2Config[K]))
  return {
    vocabSize: pick('vocabSize', 'vocab_size'),
    nPositions: pick('nPositions', 'n_positions'),
    nEmbd: pick('nEmbd', 'n_embd'),
    nLayer: pick('nLayer', 'n_layer'),
    nHead: pick('nHead', 'n_head'),
    nInner: pick('nInner', 'n_inner'),
    activationFunction: pick('activationFunction', 'activation_function'),
    layerNormEpsilon: pick('layerNormEpsilon', 'layer_norm_epsilon'),
    initializerRange: pick('initializerRange', 'initializer_range'),
    embdPdrop: pick('embdPdrop', 'embd_pdrop'),
    attnPdrop: pick('attnPdrop', 'attn_pdrop'),
    residPdrop: pick('residPdrop', 'resid_pdrop'),
    tieWordEmbeddings: pick('tieWordEmbeddings', 'tie_word_embeddings'),
    bosTokenId: pick('bosTokenId', 'bos_token_id'),
    eosTokenId: pick('eosTokenId', 'eos_token_id'),
  }
}

/** HF's Flax ACT2FN. */
const ACT2FN: Record<string, (x: Tensor) => Tensor> = {
  gelu: (x) => nn.gelu(x, { approximate: false }),
  relu: nn.relu,
  silu: nn.swish,
  swish: nn.swish,
  gelu_new: (x) => nn.gelu(x, { approximate: true }),
  quick_gelu: (x) => jnp.multiply(x, nn.sigmoid(jnp.multiply(x, 1.702))),
  gelu_pytorch_tanh: (x) => nn.gelu(x, { approximate: true }),
  tanh: nn.tanh,
}

/** `jnp.finfo(float32).min`: HF's additive mask value. */
const F32_MIN = -3.4028234663852886e38

// ---------------------------------------------------------------------------------------------
// Modules (FlaxConv1D, FlaxGPT2Attention, FlaxGPT2MLP, FlaxGPT2Block, FlaxGPT2BlockCollection,
// FlaxGPT2Module, FlaxGPT2LMHeadModule)

/**
 * FlaxConv1D: a linear layer whose kernel is stored `(features, in)` — the layout of the
 * PyTorch Conv1D weights it was converted from, transposed — and transposed back for the product.
 */
export class Conv1D extends nn.Module<{ features: number; useBias?: boolean; dtype?: DType }> {
  features!: number
  useBias = true
  dtype: DType = 'float32'

  @nn.compact
  call(inputs: Tensor): Tensor {
    inputs = inputs.dtype === this.dtype ? inputs : inputs.astype(this.dtype)
    const inFeatures = inputs.shape[inputs.ndim - 1]
    const kernel: Tensor = this.param('kernel', nn.initializers.normal(0.02), [this.features, inFeatures])
    // lax.dot_general(inputs, kernel.T, contracting the last axis of inputs with axis 0).
    const flat = inputs.reshape([-1, inFeatures])
    // A float16/bfloat16 kernel in a float32 product is read as it is (the matmul widens it in
    // registers: the same float32 product as the widened copy HF makes, half the bytes).
    const asIs = kernel.dtype === this.dtype || (this.dtype === 'float32' && (kernel.dtype === 'bfloat16' || kernel.dtype === 'float16'))
    let y = jnp.matmul(flat, jnp.transpose(asIs ? kernel : kernel.astype(this.dtype)))
    if (this.useBias) {
      const bias: Tensor = this.param('bias', nn.initializers.zeros, [this.features])
      y = jnp.add(y, bias.dtype === this.dtype ? bias : bias.astype(this.dtype))
    }
    return y.reshape([...inputs.shape.slice(0, -1), this.features])
  }
}

export interface BlockCallOptions {
  /** `[batch, keyLength]`, 1 where a position may be attended to, 0 for padding. */
  attentionMask?: Tensor | null
  deterministic?: boolean
  /** Create the `cache` collection (at init; see `initCache`). */
  initCache?: boolean
}

type GPT2Props = { config: GPT2Config; dtype?: DType }

/** FlaxGPT2Attention (causal self-attention; the cross-attention form is not ported). */
export class GPT2Attention extends nn.Module<GPT2Props & { causal?: boolean }> {
  config!: GPT2Config
  dtype: DType = 'float32'
  causal = true
  declare embedDim: number
  declare numHeads: number
  declare headDim: number
  declare cAttn: Conv1D
  declare cProj: Conv1D
  declare residDropout: nn.Dropout

  setup(): void {
    const config = this.config
    this.embedDim = config.nEmbd
    this.numHeads = config.nHead
    this.headDim = this.embedDim / this.numHeads
    this.cAttn = new Conv1D({ features: 3 * this.embedDim, dtype: this.dtype, name: 'c_attn' })
    this.cProj = new Conv1D({ features: this.embedDim, dtype: this.dtype, name: 'c_proj' })
    this.residDropout = new nn.Dropout({ rate: config.residPdrop, name: 'resid_dropout' })
    // HF keeps `make_causal_mask(ones((1, n_positions)))` ([1, 1, n_positions, n_positions]) and
    // slices it per call; `causalRows` computes the same slice without the n_positions² table.
  }

  /**
   * `lax.dynamic_slice(causal_mask, (0, 0, start, 0), (1, 1, rows, cols))` of the
   * `[n_positions, n_positions]` lower-triangular mask: `row + start >= col` (start clamped as
   * dynamic_slice clamps it), bool `[1, 1, rows, cols]`.
   */
  private causalRows(start: Tensor | number, rows: number, cols: number): Tensor {
    const n = this.config.nPositions
    if (rows > n || cols > n) throw new Error(`GPT2Attention: ${Math.max(rows, cols)} positions, more than n_positions = ${n}`)
    const s = typeof start === 'number' ? Math.min(Math.max(start, 0), n - rows) : jnp.clip(start, 0, n - rows)
    const r = jnp.add(jnp.arange(rows, undefined, 1, 'int32'), s).reshape([rows, 1])
    const c = jnp.arange(cols, undefined, 1, 'int32').reshape([1, cols])
    return jnp.greaterEqual(r, c).reshape([1, 1, rows, cols])
  }

  private splitHeads(x: Tensor): Tensor {
    return x.reshape([x.shape[0], x.shape[1], this.numHeads, this.headDim])
  }

  private mergeHeads(x: Tensor): Tensor {
    return x.reshape([x.shape[0], x.shape[1], this.embedDim])
  }

  /**
   * `_concatenate_to_cache`: at init creates the cache (zeros of the key's shape: the
   * `[batch, max_length, heads, head_dim]` of `initCache`); afterwards writes this call's keys
   * and values at `cache_index`, advances it by the query length and masks the positions not
   * written yet.
   */
  @nn.compact
  concatenateToCache(key: Tensor, value: Tensor, query: Tensor, attentionMask: Tensor | null): [Tensor, Tensor, Tensor | null] {
    const isInitialized = this.hasVariable('cache', 'cached_key')
    const cachedKey = this.variable('cache', 'cached_key', jnp.zeros, key.shape, key.dtype)
    const cachedValue = this.variable('cache', 'cached_value', jnp.zeros, value.shape, value.dtype)
    const cacheIndex = this.variable('cache', 'cache_index', () => jnp.full([], 0, 'int32'))
    if (isInitialized) {
      const shape = (cachedKey.value as Tensor).shape
      const batchDims = shape.slice(0, -3)
      const maxLength = shape[shape.length - 3]
      const curIndex = cacheIndex.value as Tensor
      const indices = [...batchDims.map(() => 0), curIndex, 0, 0]
      key = lax.dynamicUpdateSlice(cachedKey.value, key, indices)
      value = lax.dynamicUpdateSlice(cachedValue.value, value, indices)
      cachedKey.value = key
      cachedValue.value = value
      const numUpdated = query.shape[1]
      const nextIndex = jnp.add(curIndex, jnp.full([], numUpdated, 'int32'))
      cacheIndex.value = nextIndex
      const written = jnp.less(jnp.arange(maxLength, undefined, 1, 'int32'), nextIndex)
      const padMask = jnp.broadcastTo(written, [...batchDims, 1, numUpdated, maxLength])
      attentionMask = nn.combineMasks(padMask, attentionMask)
    }
    return [key, value, attentionMask]
  }

  call(hiddenStates: Tensor, { attentionMask = null, deterministic = true, initCache = false }: BlockCallOptions = {}): Tensor {
    const batchSize = hiddenStates.shape[0]
    const qkvOut = this.cAttn.call(hiddenStates)
    let [query, key, value] = jnp.split(qkvOut, 3, 2)
    query = this.splitHeads(query)
    key = this.splitHeads(key)
    value = this.splitHeads(value)
    const queryLength = query.shape[1]
    const keyLength = key.shape[1]

    let causalMask: Tensor | null = null
    const hasCache = this.hasVariable('cache', 'cached_key')
    if (this.causal) {
      if (hasCache) {
        const cache = this.variables.cache as Record<string, Tensor>
        causalMask = this.causalRows(cache.cache_index, queryLength, cache.cached_key.shape[1])
      } else {
        causalMask = this.causalRows(0, queryLength, keyLength)
      }
      causalMask = jnp.broadcastTo(causalMask, [batchSize, ...causalMask.shape.slice(1)])
    }

    // combine masks if needed
    let mask: Tensor | null = null
    if (attentionMask !== null && causalMask !== null) {
      mask = jnp.broadcastTo(jnp.expandDims(attentionMask, [-3, -2]), causalMask.shape)
      mask = nn.combineMasks(mask, causalMask)
    } else if (causalMask !== null) {
      mask = causalMask
    } else if (attentionMask !== null) {
      mask = jnp.expandDims(attentionMask, [-3, -2])
    }

    let dropoutRng = null
    if (!deterministic && this.config.attnPdrop > 0) dropoutRng = this.makeRng('dropout')

    // During fast autoregressive decoding, we feed one position at a time, and cache the keys
    // and values step by step.
    if (this.causal && (hasCache || initCache)) [key, value, mask] = this.concatenateToCache(key, value, query, mask)

    // transform the boolean mask into an additive one (0 or finfo.min)
    const attentionBias = mask === null ? null : jnp.where(jnp.greater(mask, 0), jnp.full([], 0, this.dtype), jnp.full([], F32_MIN, this.dtype))

    // HF: dot_product_attention_weights(query, key, bias) then einsum with the values;
    // nn.dotProductAttention is that composition (fused into one kernel when deterministic).
    let attnOutput = nn.dotProductAttention(query, key, value, {
      bias: attentionBias, dropoutRng, dropoutRate: this.config.attnPdrop, deterministic, dtype: this.dtype,
    })
    attnOutput = this.mergeHeads(attnOutput)
    attnOutput = this.cProj.call(attnOutput)
    return this.residDropout.call(attnOutput, { deterministic })
  }
}

/** FlaxGPT2MLP. */
export class GPT2MLP extends nn.Module<GPT2Props & { intermediateSize: number }> {
  config!: GPT2Config
  intermediateSize!: number
  dtype: DType = 'float32'
  declare cFc: Conv1D
  declare cProj: Conv1D
  declare act: (x: Tensor) => Tensor
  declare dropout: nn.Dropout

  setup(): void {
    const act = ACT2FN[this.config.activationFunction]
    if (act === undefined) throw new Error(`GPT2MLP: activation_function ${this.config.activationFunction} is not one of ${Object.keys(ACT2FN).join(', ')}`)
    this.cFc = new Conv1D({ features: this.intermediateSize, dtype: this.dtype, name: 'c_fc' })
    this.cProj = new Conv1D({ features: this.config.nEmbd, dtype: this.dtype, name: 'c_proj' })
    this.act = act
    this.dropout = new nn.Dropout({ rate: this.config.residPdrop, name: 'dropout' })
  }

  call(hiddenStates: Tensor, { deterministic = true }: { deterministic?: boolean } = {}): Tensor {
    hiddenStates = this.cFc.call(hiddenStates)
    hiddenStates = this.act(hiddenStates)
    hiddenStates = this.cProj.call(hiddenStates)
    return this.dropout.call(hiddenStates, { deterministic })
  }
}

/** FlaxGPT2Block: pre-LayerNorm attention and MLP, each with a residual connection. */
export class GPT2Block extends nn.Module<GPT2Props> {
  config!: GPT2Config
  dtype: DType = 'float32'
  declare ln1: nn.LayerNorm
  declare attn: GPT2Attention
  declare ln2: nn.LayerNorm
  declare mlp: GPT2MLP

  setup(): void {
    const c = this.config
    const innerDim = c.nInner ?? 4 * c.nEmbd
    this.ln1 = new nn.LayerNorm({ epsilon: c.layerNormEpsilon, dtype: this.dtype, name: 'ln_1' })
    this.attn = new GPT2Attention({ config: c, dtype: this.dtype, name: 'attn' })
    this.ln2 = new nn.LayerNorm({ epsilon: c.layerNormEpsilon, dtype: this.dtype, name: 'ln_2' })
    this.mlp = new GPT2MLP({ config: c, intermediateSize: innerDim, dtype: this.dtype, name: 'mlp' })
  }

  call(hiddenStates: Tensor, options: BlockCallOptions = {}): Tensor {
    const { deterministic = true } = options
    let residual = hiddenStates
    hiddenStates = this.ln1.call(hiddenStates)
    const attnOutput = this.attn.call(hiddenStates, options)
    hiddenStates = jnp.add(attnOutput, residual)
    residual = hiddenStates
    hiddenStates = this.ln2.call(hiddenStates)
    const feedForward = this.mlp.call(hiddenStates, { deterministic })
    return jnp.add(residual, feedForward)
  }
}

/** FlaxGPT2BlockCollection: the blocks, named "0", "1", ... (so `h/0/...` in the tree). */
export class GPT2BlockCollection extends nn.Module<GPT2Props> {
  config!: GPT2Config
  dtype: DType = 'float32'
  declare blocks: GPT2Block[]

  setup(): void {
    this.blocks = Array.from({ length: this.config.nLayer }, (_, i) => new GPT2Block({ config: this.config, dtype: this.dtype, name: String(i) }))
  }

  call(hiddenStates: Tensor, options: BlockCallOptions = {}): Tensor {
    for (const block of this.blocks) hiddenStates = block.call(hiddenStates, options)
    return hiddenStates
  }
}

export interface GPT2CallOptions extends BlockCallOptions {
  /** `[batch, length]` positions (int32). Default `arange(length)`; required with a cache. */
  positionIds?: Tensor | null
}

/** FlaxGPT2Module: embeddings, the blocks and the final LayerNorm (hidden states out). */
export class GPT2Model extends nn.Module<GPT2Props> {
  config!: GPT2Config
  dtype: DType = 'float32'
  declare wte: nn.Embed
  declare wpe: nn.Embed
  declare dropout: nn.Dropout
  declare h: GPT2BlockCollection
  declare lnF: nn.LayerNorm

  setup(): void {
    const c = this.config
    const embeddingInit = nn.initializers.normal(c.initializerRange)
    this.wte = new nn.Embed({ numEmbeddings: c.vocabSize, features: c.nEmbd, embeddingInit, dtype: this.dtype, name: 'wte' })
    this.wpe = new nn.Embed({ numEmbeddings: c.nPositions, features: c.nEmbd, embeddingInit, dtype: this.dtype, name: 'wpe' })
    this.dropout = new nn.Dropout({ rate: c.embdPdrop, name: 'dropout' })
    this.h = new GPT2BlockCollection({ config: c, dtype: this.dtype, name: 'h' })
    this.lnF = new nn.LayerNorm({ epsilon: c.layerNormEpsilon, dtype: this.dtype, name: 'ln_f' })
  }

  call(inputIds: Tensor, { attentionMask = null, positionIds = null, deterministic = true, initCache = false }: GPT2CallOptions = {}): Tensor {
    if (positionIds === null) {
      // FlaxGPT2PreTrainedModel.__call__'s default, and its refusal once a cache is in use.
      if (Object.keys(this.variables.cache ?? {}).length > 0) throw new Error('Make sure to provide `position_ids` when passing `past_key_values`.')
      const [batch, length] = inputIds.shape
      positionIds = jnp.broadcastTo(jnp.arange(length, undefined, 1, 'int32').reshape([1, length]), [batch, length])
    }
    const inputEmbeds = this.wte.call(inputIds.dtype === 'int32' ? inputIds : inputIds.astype('int32'))
    const positionEmbeds = this.wpe.call(positionIds.dtype === 'int32' ? positionIds : positionIds.astype('int32'))
    let hiddenStates = jnp.add(inputEmbeds, positionEmbeds)
    hiddenStates = this.dropout.call(hiddenStates, { deterministic })
    hiddenStates = this.h.call(hiddenStates, { attentionMask, deterministic, initCache })
    return this.lnF.call(hiddenStates)
  }
}

/** FlaxGPT2LMHeadModule: the model and the LM head (tied to wte unless `tieWordEmbeddings` is false). */
export class GPT2LMHeadModel extends nn.Module<GPT2Props> {
  config!: GPT2Config
  dtype: DType = 'float32'
  declare transformer: GPT2Model
  declare lmHead: nn.Dense | null

  setup(): void {
    this.transformer = new GPT2Model({ config: this.config, dtype: this.dtype, name: 'transformer' })
    this.lmHead = this.config.tieWordEmbeddings
      ? null
      : new nn.Dense({ features: this.config.vocabSize, useBias: false, dtype: this.dtype, kernelInit: nn.initializers.normal(this.config.initializerRange), name: 'lm_head' })
  }

  /** Logits `[batch, length, vocab]` (float32). */
  call(inputIds: Tensor, options: GPT2CallOptions = {}): Tensor {
    const hiddenStates = this.transformer.call(inputIds, options)
    // HF: lm_head.apply({'params': {'kernel': wte.embedding.T}}, h), i.e. h @ wteᵀ = wte.attend(h).
    return this.lmHead === null ? this.transformer.wte.attend(hiddenStates) : this.lmHead.call(hiddenStates)
  }
}

// ---------------------------------------------------------------------------------------------
// Loading, the cache, generation

export interface LoadedGpt2 {
  config: GPT2Config
  model: GPT2LMHeadModel
  /** `{ params }`, HF's parameter tree. */
  variables: Variables
}

/** The parameter template of a model: shapes and dtypes only (nothing runs). */
export function paramsTemplate(model: GPT2LMHeadModel): Record<string, any> {
  const template = evalShape((ids: Tensor) => model.init(random.key(0), ids), new ShapeDtypeStruct([1, 1], 'int32'))
  return (template as Record<string, any>).params
}

/** Where a folder's weights come from: `auto` takes the first of these that exists. */
export type Gpt2Weights = 'auto' | 'msgpack' | 'safetensors'

/** The file holding Flax-named weights in safetensors form (`transformer.h.0.attn.c_attn.kernel`, ...). */
export const SAFETENSORS_FILE = 'model.safetensors'

const coded = (code: string, message: string) => Object.assign(new Error(message), { code })

/**
 * Reads a GPT-2 folder: `config.json` and the weights, each leaf checked against the model's
 * template (path, shape and dtype). `weights`:
 *
 * - `msgpack`: Hugging Face's Flax `flax_model.msgpack` (or, without it, the sharded
 *   `flax_model.msgpack.index.json`), read into memory;
 * - `safetensors`: `model.safetensors` (or `model.safetensors.index.json`) holding the same tree
 *   flattened with '.', mapped by `safetensors.loadFile`: no copy, and processes serving one
 *   file share its pages. A PyTorch checkpoint (HF's own `model.safetensors`, `format: "pt"`,
 *   other names and layouts) is refused with E_FORMAT;
 * - `auto` (default): msgpack if present, as `from_pretrained` for Flax, else safetensors.
 */
export function loadGpt2(dir: string, { dtype = 'float32', weights = 'auto' }: { dtype?: DType; weights?: Gpt2Weights } = {}): LoadedGpt2 {
  const config = configFromJson(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')))
  const model = new GPT2LMHeadModel({ config, dtype })
  const msgpack = join(dir, 'flax_model.msgpack')
  const msgpackIndex = join(dir, 'flax_model.msgpack.index.json')
  const useSafetensors = weights === 'safetensors' || (weights === 'auto' && !existsSync(msgpack) && !existsSync(msgpackIndex))
  let state: unknown
  if (useSafetensors) {
    const single = join(dir, SAFETENSORS_FILE)
    const file = existsSync(single) ? single : `${single.slice(0, -'.safetensors'.length)}.safetensors.index.json`
    const { tensors, metadata } = safetensors.loadFileWithMetadata(file)
    if (metadata?.format === 'pt') throw coded('E_FORMAT', `loadGpt2: ${file} is a PyTorch checkpoint (format "pt"); this loads Flax-named weights (see examples/gpt2-safetensors.ts)`)
    state = traverseUtil.unflattenDict(tensors, { sep: '.' })
  } else {
    // As from_pretrained: the single file first, else the shard index.
    state = serialization.msgpackRestoreFile(existsSync(msgpack) ? msgpack : msgpackIndex)
  }
  const params = serialization.fromStateDict(paramsTemplate(model), state)
  return { config, model, variables: { params } as Variables }
}

/**
 * `init_cache(batch_size, max_length)`: the `cache` collection, zeros (and cache_index 0), in
 * the shapes an init with `initCache` gives (found by evalShape: no forward pass runs).
 */
export function initCache(model: GPT2LMHeadModel, batchSize: number, maxLength: number): Variables {
  const abstract = evalShape(
    (ids: Tensor) => model.init(random.key(0), ids, { attentionMask: jnp.ones(ids.shape, 'int32'), initCache: true }),
    new ShapeDtypeStruct([batchSize, maxLength], 'int32'),
  ) as Record<string, any>
  return tree.map((s: ShapeDtypeStruct) => jnp.zeros(s.shape, s.dtype), abstract.cache) as Variables
}

export interface SamplingOptions {
  /** Sample (true) or take the most likely token (false, the default). */
  doSample?: boolean
  /** Logits are divided by it before sampling (default 1: unchanged). */
  temperature?: number
  /** Only the k most likely tokens can be sampled (default 50, HF's default; 0 = all). */
  topK?: number
}

export interface StepOutput {
  /** `[batch]` int32: the token chosen for each row. */
  token: Tensor
  /** The updated `cache` collection. */
  cache: Variables
  /** `[batch, 1]`: the positions of the next call's tokens. */
  positionIds: Tensor
  /** The key for the next step (the input key when not sampling). */
  key: random.Key
}

/**
 * HF's logits warpers in their order: `scores / temperature`, then top-k (every score below
 * the k largest becomes -inf; ties broken by index as lax.top_k).
 */
export function warpLogits(scores: Tensor, { temperature = 1, topK = 50 }: SamplingOptions = {}): Tensor {
  if (temperature !== 1) scores = jnp.divide(scores, temperature)
  const vocab = scores.shape[scores.ndim - 1]
  if (topK > 0 && topK < vocab) {
    const [, indices] = lax.topK(scores, topK)
    const kept = jnp.any(jnp.oneHot(indices, vocab, { dtype: 'bool' }), -2)
    scores = jnp.where(kept, scores, -Infinity)
  }
  return scores
}

export interface ForwardOutput {
  /** `[batch, vocab]` float32: the logits of each row's last position. */
  last: Tensor
  cache: Variables
  positionIds: Tensor
}

/**
 * The model half of a step: one call on the cache, the last position's logits and the next
 * positions. Its plans hold what the weights make (see `makeStep`); `makeChoice` is the rest.
 */
export function makeForward(model: GPT2LMHeadModel) {
  return (params: Variables[string], cache: Variables, inputIds: Tensor, attentionMask: Tensor, positionIds: Tensor): ForwardOutput => {
    const [logits, updated] = model.applyWith({ params, cache }, { mutable: ['cache'] }, inputIds, { attentionMask, positionIds }) as [Tensor, Variables]
    const [batch, length, vocab] = logits.shape
    const last = lax.slice(logits, [0, length - 1, 0], [batch, length, vocab]).reshape([batch, vocab])
    const lastPosition = lax.slice(positionIds, [0, positionIds.shape[1] - 1], [batch, positionIds.shape[1]])
    return { last, cache: updated.cache as Variables, positionIds: jnp.add(lastPosition, jnp.full([], 1, 'int32')) }
  }
}

/** The choice half of a step: the next token of each row from its logits (`[batch]` int32) and the next key. */
export function makeChoice({ doSample = false, temperature = 1, topK = 50 }: SamplingOptions = {}) {
  return (last: Tensor, key: random.Key): { token: Tensor; key: random.Key } => {
    if (!doSample) return { token: jnp.argmax(last, -1), key }
    const [use, carry] = random.split(key)
    return { token: random.categorical(use, warpLogits(last, { temperature, topK })), key: carry }
  }
}

/**
 * One call of the model on the cache and the choice of the next token (HF's
 * `greedy_search_body_fn` / `sample_search_body_fn` without the finished-row bookkeeping): the
 * prompt (`[batch, promptLength]`) in the first call, then one token (`[batch, 1]`) per call.
 * The same function runs eagerly or under `jit` (same shapes every decode step: one trace).
 */
export function makeStep(model: GPT2LMHeadModel, sampling: SamplingOptions = {}) {
  const forward = makeForward(model)
  const choose = makeChoice(sampling)
  return (params: Variables[string], cache: Variables, inputIds: Tensor, attentionMask: Tensor, positionIds: Tensor, key: random.Key): StepOutput => {
    const f = forward(params, cache, inputIds, attentionMask, positionIds)
    const { token, key: nextKey } = choose(f.last, key)
    return { token, cache: f.cache, positionIds: f.positionIds, key: nextKey }
  }
}

export type Step = ReturnType<typeof makeStep>

/** What `generate` runs a step with: a jit'd step, or anything with its `async` / `asyncWith`. */
export type AsyncStep = Pick<Jitted<Step>, 'async' | 'asyncWith'>
const compiledSteps = new WeakMap<GPT2LMHeadModel, Map<string, Jitted<Step>>>()

/**
 * `jit(makeStep(model, sampling))`, kept per model and sampling options so that later
 * `generate` calls reuse its plans (one per prompt shape and one for the decode step). The cache
 * is donated: the plan writes the new keys and values into its buffers.
 */
export function compiledStep(model: GPT2LMHeadModel, { doSample = false, temperature = 1, topK = 50 }: SamplingOptions = {}): Jitted<Step> {
  let byOptions = compiledSteps.get(model)
  if (byOptions === undefined) compiledSteps.set(model, (byOptions = new Map()))
  const key = JSON.stringify(doSample ? [temperature, topK] : 'greedy')
  let step = byOptions.get(key)
  if (step === undefined) byOptions.set(key, (step = jit(makeStep(model, { doSample, temperature, topK }), { donateArgnums: 1 })))
  return step
}

export interface GenerateOptions extends SamplingOptions {
  /** Tokens to generate per row (the prompt plus these must fit in n_positions). */
  maxNewTokens: number
  /** `[batch, promptLength]`: 1 for tokens, 0 for (left) padding. */
  attentionMask?: Tensor | null
  /** The sampling key (default `random.key(0)`, HF's default); split once per generated token. */
  key?: random.Key
  /** A row that produced it is finished: it gets `padTokenId` afterwards; all finished = stop. */
  eosTokenId?: number | null
  padTokenId?: number | null
  /** Compile the step with `jit` and run it off the JS thread (default true); false runs eagerly. */
  jit?: boolean
  /**
   * The compiled step to run (default `compiledStep(model, options)`, kept for the model's life):
   * a server that takes sampling options from requests keeps its own, bounded set.
   */
  step?: AsyncStep
  /**
   * Positions in the cache (default prompt + maxNewTokens; at most n_positions). A server rounds
   * it up so that requests of other lengths share the decode step's plan; the positions past
   * the written ones are masked, so the tokens are the same.
   */
  cacheLength?: number
  /** Stops a step in flight (with jit) and the generation: the iteration throws an AbortError. */
  signal?: AbortSignal
}

/**
 * Generates token ids on the KV cache, one step at a time: yields, per step, the new token of
 * every row (`number[]`, length batch). The prompt runs in one call, then each token in one
 * call of the same step function (under `jit`, compiled once for the decode shape, with the cache
 * donated so it is written in place, run with `f.async` so the event loop stays free between
 * and during steps). Greedy by default; `doSample` samples as HF's Flax `generate` does
 * (temperature, then top-k, then `random.categorical` with the first half of
 * `random.split(key)`, the second half carried to the next step).
 *
 * While a step is in flight the params are inputs of an async call: taking a param's `.data`
 * then throws E_BUSY, and a param whose `.data` was taken before is copied into each call (see
 * README, "Serving").
 */
export async function* generate(model: GPT2LMHeadModel, variables: Variables, inputIds: Tensor, options: GenerateOptions): AsyncGenerator<number[], void, undefined> {
  const { maxNewTokens, attentionMask = null, key = random.key(0), eosTokenId = null, jit: useJit = true } = options
  const padTokenId = options.padTokenId ?? eosTokenId ?? 0
  if (!Number.isInteger(maxNewTokens) || maxNewTokens < 0) throw new Error(`generate: maxNewTokens must be a non-negative integer, got ${maxNewTokens}`)
  const [batch, promptLength] = inputIds.shape
  const config = model.config
  if (promptLength + maxNewTokens > config.nPositions) throw new Error(`generate: prompt (${promptLength}) + maxNewTokens (${maxNewTokens}) exceeds n_positions (${config.nPositions})`)
  const maxLength = options.cacheLength ?? promptLength + maxNewTokens
  if (!Number.isInteger(maxLength) || maxLength < promptLength + maxNewTokens || maxLength > config.nPositions) {
    throw new Error(`generate: cacheLength must be an integer from prompt + maxNewTokens (${promptLength + maxNewTokens}) to n_positions (${config.nPositions}), got ${maxLength}`)
  }
  if (maxNewTokens === 0) return
  const signal = options.signal
  signal?.throwIfAborted()

  // prepare_inputs_for_generation: the cache, a static [batch, max_length] mask (ones after the
  // prompt: the causal mask hides what is not generated yet) and the positions (cumsum - 1 with
  // a mask: left padding does not shift the real tokens' positions).
  let cache = initCache(model, batch, maxLength)
  let extended = jnp.ones([batch, maxLength], 'int32')
  let positionIds: Tensor
  if (attentionMask !== null) {
    const m = attentionMask.astype('int32')
    extended = lax.dynamicUpdateSlice(extended, m, [0, 0])
    positionIds = jnp.subtract(jnp.cumsum(m, -1), jnp.full([], 1, 'int32'))
  } else {
    positionIds = jnp.broadcastTo(jnp.arange(promptLength, undefined, 1, 'int32').reshape([1, promptLength]), [batch, promptLength])
  }

  const eager = makeStep(model, options)
  const compiled = useJit ? (options.step ?? compiledStep(model, options)) : null
  const step = (ids: Tensor, k: random.Key): Promise<StepOutput> | StepOutput => {
    if (compiled === null) {
      signal?.throwIfAborted()
      return eager(variables.params, cache, ids, extended, positionIds, k)
    }
    return signal === undefined ? compiled.async(variables.params, cache, ids, extended, positionIds, k) : compiled.asyncWith({ signal }, variables.params, cache, ids, extended, positionIds, k)
  }

  const finished = new Array<boolean>(batch).fill(false)
  // A copy: an in-flight async step holds its inputs (reading their .data would throw E_BUSY),
  // and the caller's prompt stays free.
  let ids: Tensor = inputIds.astype('int32')
  let k = key
  try {
    for (let i = 0; i < maxNewTokens; i++) {
      const out = await step(ids, k)
      // This step's small inputs are free again (a long stream would otherwise leave them all to the GC).
      ids.dispose()
      positionIds.dispose()
      cache = out.cache
      positionIds = out.positionIds
      k = out.key
      const chosen = Array.from(out.token.data as Int32Array)
      out.token.dispose()
      const tokens = chosen.map((t, row) => (finished[row] ? padTokenId : t))
      tokens.forEach((t, row) => {
        if (eosTokenId !== null && t === eosTokenId) finished[row] = true
      })
      yield tokens
      if (finished.every(Boolean)) return
      ids = jnp.array(tokens, 'int32').reshape([batch, 1])
    }
  } finally {
    // Done, stopped by the caller (return() at a yield) or aborted: the cache, the largest
    // allocation of a generation, is freed now rather than at the next GC. A cache donated to
    // an aborted step is the addon's (its handle is gone; dispose is then a no-op).
    for (const t of tree.leaves(cache) as Tensor[]) t.dispose()
  }
}

/** All the new tokens of `generate`, `[batch][maxNewTokens]`. */
export async function generateAll(model: GPT2LMHeadModel, variables: Variables, inputIds: Tensor, options: GenerateOptions): Promise<number[][]> {
  const rows: number[][] = Array.from({ length: inputIds.shape[0] }, () => [])
  for await (const tokens of generate(model, variables, inputIds, options)) tokens.forEach((t, r) => rows[r].push(t))
  return rows
}

// ---------------------------------------------------------------------------------------------
// The demo: `npx tsx examples/gpt2.ts [dir]` (npm run demo:gpt)

export const FIXTURE_DIR = join(__dirname, '..', '__test__', 'fixtures', 'gpt2-tiny')

async function main(): Promise<void> {
  const dir = process.argv[2] ?? FIXTURE_DIR
  const { config, model, variables } = loadGpt2(dir)
  const count = tree.leaves(variables).reduce((n: number, t: Tensor) => n + t.size, 0)
  console.log(`GPT-2 from ${dir}: ${config.nLayer} layers, ${config.nHead} heads, n_embd ${config.nEmbd}, vocab ${config.vocabSize}, ${count} parameters`)
  const prompt = [51, 5, 11, 15, 11, 51, 55].map((t) => t % config.vocabSize)
  const ids = jnp.array([prompt], 'int32')
  const maxNewTokens = Math.min(16, config.nPositions - prompt.length)
  const stream = async (label: string, options: GenerateOptions) => {
    process.stdout.write(`${label}: ${prompt.join(' ')} |`)
    for await (const [token] of generate(model, variables, ids, options)) process.stdout.write(` ${token}`)
    process.stdout.write('\n')
  }
  await stream('greedy', { maxNewTokens })
  await stream('sampled (temperature 0.8, top-k 5, key 0)', { maxNewTokens, doSample: true, temperature: 0.8, topK: 5, key: random.key(0) })
}

if (require.main === module) {
  main().catch((e) => {
    console.error(e)
    process.exitCode = 1
  })
}
