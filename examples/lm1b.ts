// Flax's lm1b example model, ported from its Flax definition (google/flax,
// examples/lm1b/models.py): a decoder-only Transformer language model.
//
//   TransformerConfig      the hyperparameters (camelCase; `transformerConfig` fills the defaults)
//   shiftRight             shift_right / shift_inputs: pad one 0 in front along an axis, drop the last
//   sinusoidalInit         the fixed sinusoidal position table, [1, max_len, d]
//   AddPositionEmbs        learned (posembInit) or sinusoidal position embeddings; with `decode`
//                          a `cache_index` (uint32, collection 'cache') picks one position per call
//   MlpBlock               Dense(mlp) → relu → dropout → Dense(out) → dropout
//   EncoderDecoder1DBlock  pre-LayerNorm self-attention and MLP, each with a residual
//   Decoder                embedding, positions, the blocks, the final LayerNorm, and logits from a
//                          `logitdense` Dense or, with logitsViaEmbedding, the embedding's `attend`
//   TransformerLM          the padding + causal mask and the Decoder (named 'decoder')
//
// The parameter tree and names are Flax's:
//
//   decoder/Embed_0/embedding                                               [vocab, emb]
//   decoder/posembed_output/pos_embedding                                   [1, max_len, emb] (learned only)
//   decoder/encoderdecoderblock_{i}/LayerNorm_{0,1}/{scale,bias}
//   decoder/encoderdecoderblock_{i}/MultiHeadDotProductAttention_0/{query,key,value,out}/kernel
//   decoder/encoderdecoderblock_{i}/MlpBlock_0/Dense_{0,1}/{kernel,bias}
//   decoder/encoderdecoder_norm/{scale,bias}
//   decoder/logitdense/{kernel,bias}                                        (unless logitsViaEmbedding)
//
// Decoding (decode: true): `init` on `[batch, maxDecodeLength]` creates the cache (keys and values
// per attention layer, and the position index); then each `applyWith(..., { mutable: ['cache'] })`
// on one token per row (`[batch, 1]`, already shifted: the first token is 0) gives that position's
// logits. Flax's `with_logical_partitioning` annotations are sharding metadata only (they do not
// change what the initializers draw) and are not ported.
//
// Run `npx tsx examples/lm1b.ts`: inits a small model, runs it, then decodes greedily.
import { jnp, lax, nn, random, type DType, type Tensor, type Variables } from '../ts/index'

// ---------------------------------------------------------------------------------------------
// Configuration

export interface TransformerConfig {
  vocabSize: number
  outputVocabSize: number
  shareEmbeddings: boolean
  logitsViaEmbedding: boolean
  dtype: DType
  embDim: number
  numHeads: number
  numLayers: number
  qkvDim: number
  mlpDim: number
  maxLen: number
  dropoutRate: number
  attentionDropoutRate: number
  deterministic: boolean
  decode: boolean
  kernelInit: nn.Initializer
  biasInit: nn.Initializer
  /** null: the fixed sinusoidal table; otherwise the initializer of a learned `pos_embedding`. */
  posembInit: nn.Initializer | null
}

/** A TransformerConfig with the dataclass's defaults for what `config` leaves out. */
export function transformerConfig(config: Partial<TransformerConfig> & Pick<TransformerConfig, 'vocabSize' | 'outputVocabSize'>): TransformerConfig {
  return {
    shareEmbeddings: false,
    logitsViaEmbedding: false,
    dtype: 'float32',
    embDim: 512,
    numHeads: 8,
    numLayers: 6,
    qkvDim: 512,
    mlpDim: 2048,
    maxLen: 2048,
    dropoutRate: 0.1,
    attentionDropoutRate: 0.1,
    deterministic: false,
    decode: false,
    kernelInit: nn.initializers.xavierUniform(),
    biasInit: nn.initializers.normal(1e-6),
    posembInit: null,
    ...config,
  }
}

// ---------------------------------------------------------------------------------------------
// Helpers

/** `shift_right`: pad one 0 in front along `axis` and drop the last entry (same shape). */
export function shiftRight(x: Tensor, axis = 1): Tensor {
  const ax = axis < 0 ? axis + x.ndim : axis
  const padWidths = x.shape.map((_, i) => (i === ax ? [1, 0] : [0, 0]) as [number, number])
  const padded = jnp.pad(x, padWidths, { mode: 'constant', constantValues: 0 })
  // lax.dynamic_slice_in_dim(padded, 0, padded.shape[axis] - 1, axis)
  const sizes = padded.shape.map((d, i) => (i === ax ? d - 1 : d))
  return lax.dynamicSlice(padded, padded.shape.map(() => 0), sizes)
}

/** `shift_inputs`: shiftRight, and for packed inputs a 0 where a new segment starts. */
export function shiftInputs(x: Tensor, segmentIds: Tensor | null = null, axis = 1): Tensor {
  let shifted = shiftRight(x, axis)
  if (segmentIds !== null) shifted = jnp.multiply(shifted, jnp.equal(segmentIds, shiftRight(segmentIds, axis)).astype(shifted.dtype))
  return shifted
}

/**
 * `sinusoidal_init(max_len, min_scale, max_scale)`: an initializer (the key and dtype ignored)
 * of the `[1, maxLen, d]` float32 table: sin(position · div) in the first d/2 features, cos in
 * the next d/2 (computed in float64 as numpy does, then rounded to float32).
 */
export function sinusoidalInit(maxLen = 2048, minScale = 1.0, maxScale = 10000.0) {
  return (_key: unknown, shape: readonly number[]): Tensor => {
    const dFeature = shape[shape.length - 1]
    const half = Math.floor(dFeature / 2)
    const pe = new Float32Array(maxLen * dFeature)
    const scaleFactor = -Math.log(maxScale / minScale) / (half - 1)
    const divTerm = Array.from({ length: half }, (_, j) => minScale * Math.exp(j * scaleFactor))
    for (let p = 0; p < maxLen; p++) {
      for (let j = 0; j < half; j++) {
        pe[p * dFeature + j] = Math.sin(p * divTerm[j])
        pe[p * dFeature + half + j] = Math.cos(p * divTerm[j])
      }
    }
    return jnp.array(pe).reshape([1, maxLen, dFeature])
  }
}

type ConfigProps = { config: TransformerConfig }

// ---------------------------------------------------------------------------------------------
// Modules

/** AddPositionEmbs: adds (optionally learned) position embeddings; `decode` for one position per call. */
export class AddPositionEmbs extends nn.Module<ConfigProps & { decode?: boolean }> {
  config!: TransformerConfig
  decode = false

  @nn.compact
  call(inputs: Tensor, { inputsPositions = null }: { inputsPositions?: Tensor | null } = {}): Tensor {
    const config = this.config
    if (inputs.ndim !== 3) throw new Error(`Number of dimensions should be 3, but it is: ${inputs.ndim}`)
    const length = inputs.shape[1]
    const posEmbShape = [1, config.maxLen, inputs.shape[inputs.ndim - 1]]
    const posEmbedding: Tensor =
      config.posembInit === null ? sinusoidalInit(config.maxLen)(null, posEmbShape) : this.param('pos_embedding', config.posembInit, posEmbShape)
    const df = posEmbShape[2]
    let pe = lax.slice(posEmbedding, [0, 0, 0], [1, length, df])

    // A cache position index tracks the decoding position.
    if (this.decode) {
      const isInitialized = this.hasVariable('cache', 'cache_index')
      const cacheIndex = this.variable('cache', 'cache_index', () => jnp.full([], 0, 'uint32'))
      if (isInitialized) {
        const i = cacheIndex.value as Tensor
        cacheIndex.value = jnp.add(i, jnp.full([], 1, 'uint32'))
        pe = lax.dynamicSlice(posEmbedding, [0, i, 0], [1, 1, df])
      }
    }
    if (inputsPositions === null) return jnp.add(inputs, pe)
    // packed data: the known position indices
    const table = pe.reshape(pe.shape.slice(1))
    return jnp.add(inputs, jnp.take(table, inputsPositions, 0))
  }
}

/** MlpBlock: the Transformer feed-forward block. */
export class MlpBlock extends nn.Module<ConfigProps & { outDim?: number | null }> {
  config!: TransformerConfig
  outDim: number | null = null

  @nn.compact
  call(inputs: Tensor): Tensor {
    const config = this.config
    const actualOutDim = this.outDim ?? inputs.shape[inputs.ndim - 1]
    let x = new nn.Dense({ features: config.mlpDim, dtype: config.dtype, kernelInit: config.kernelInit, biasInit: config.biasInit }).call(inputs)
    x = nn.relu(x)
    x = new nn.Dropout({ rate: config.dropoutRate }).call(x, { deterministic: config.deterministic })
    let output = new nn.Dense({ features: actualOutDim, dtype: config.dtype, kernelInit: config.kernelInit, biasInit: config.biasInit }).call(x)
    output = new nn.Dropout({ rate: config.dropoutRate }).call(output, { deterministic: config.deterministic })
    return output
  }
}

export interface BlockCallOptions {
  decoderMask?: Tensor | null
  encoderDecoderMask?: Tensor | null
}

/** EncoderDecoder1DBlock: pre-LayerNorm self-attention and MLP (the decoder-only form). */
export class EncoderDecoder1DBlock extends nn.Module<ConfigProps> {
  config!: TransformerConfig

  @nn.compact
  call(inputs: Tensor, { decoderMask = null }: BlockCallOptions = {}): Tensor {
    const config = this.config
    if (inputs.ndim !== 3) throw new Error(`EncoderDecoder1DBlock: inputs must be 3-D, got [${inputs.shape.join(', ')}]`)
    // Decoder block.
    let x = new nn.LayerNorm({ dtype: config.dtype, biasInit: nn.initializers.zeros, scaleInit: nn.initializers.ones }).call(inputs)
    x = new nn.MultiHeadDotProductAttention({
      numHeads: config.numHeads,
      dtype: config.dtype,
      qkvFeatures: config.qkvDim,
      kernelInit: config.kernelInit,
      biasInit: config.biasInit,
      useBias: false,
      broadcastDropout: false,
      dropoutRate: config.attentionDropoutRate,
      deterministic: config.deterministic,
      decode: config.decode,
    }).call(x, { mask: decoderMask })
    x = new nn.Dropout({ rate: config.dropoutRate }).call(x, { deterministic: config.deterministic })
    x = jnp.add(x, inputs)

    // MLP block.
    let z = new nn.LayerNorm({ dtype: config.dtype, biasInit: nn.initializers.zeros, scaleInit: nn.initializers.ones }).call(x)
    z = new MlpBlock({ config }).call(z)
    return jnp.add(x, z)
  }
}

export interface DecoderCallOptions extends BlockCallOptions {
  inputsPositions?: Tensor | null
  inputsSegmentation?: Tensor | null
}

/** Decoder: the Transformer decoder stack, with its own embedding or a shared one. */
export class Decoder extends nn.Module<ConfigProps & { sharedEmbedding?: nn.Embed | null }> {
  config!: TransformerConfig
  sharedEmbedding: nn.Embed | null = null

  @nn.compact
  call(inputs: Tensor, { inputsPositions = null, inputsSegmentation = null, decoderMask = null, encoderDecoderMask = null }: DecoderCallOptions = {}): Tensor {
    const config = this.config
    if (inputs.ndim !== 2) throw new Error(`Decoder: inputs must be [batch, length], got [${inputs.shape.join(', ')}]`)

    // Target Embedding
    const outputEmbed =
      this.sharedEmbedding ?? new nn.Embed({ numEmbeddings: config.outputVocabSize, features: config.embDim, embeddingInit: nn.initializers.normal(1.0) })

    let ids: Tensor = inputs.astype('int32')
    if (!config.decode) ids = shiftInputs(ids, inputsSegmentation)
    let y = outputEmbed.call(ids)
    y = new AddPositionEmbs({ config, decode: config.decode, name: 'posembed_output' }).call(y, { inputsPositions })
    y = new nn.Dropout({ rate: config.dropoutRate }).call(y, { deterministic: config.deterministic })
    y = y.astype(config.dtype)

    // Target-Input Decoder
    for (let lyr = 0; lyr < config.numLayers; lyr++) {
      y = new EncoderDecoder1DBlock({ config, name: `encoderdecoderblock_${lyr}` }).call(y, { decoderMask, encoderDecoderMask })
    }
    y = new nn.LayerNorm({ dtype: config.dtype, name: 'encoderdecoder_norm', biasInit: nn.initializers.zeros, scaleInit: nn.initializers.ones }).call(y)

    // Decoded Logits
    if (config.logitsViaEmbedding) {
      // The transpose of the embedding matrix as the logit transform, normalised for the shared case.
      const logits = outputEmbed.attend(y.astype('float32'))
      return jnp.divide(logits, jnp.sqrt(jnp.full([], y.shape[y.ndim - 1], 'float32')))
    }
    return new nn.Dense({ features: config.outputVocabSize, dtype: config.dtype, kernelInit: config.kernelInit, biasInit: config.biasInit, name: 'logitdense' }).call(y)
  }
}

/** TransformerLM: the decoder-only stack for language modelling. */
export class TransformerLM extends nn.Module<ConfigProps> {
  config!: TransformerConfig

  @nn.compact
  call(inputs: Tensor, { inputsPositions = null, inputsSegmentation = null }: { inputsPositions?: Tensor | null; inputsSegmentation?: Tensor | null } = {}): Tensor {
    const config = this.config
    const dtype = config.dtype
    // Padding attention masks (none when decoding one position at a time).
    let decoderMask: Tensor | null = null
    if (!config.decode) {
      const nonPad = jnp.greater(inputs, 0)
      decoderMask = nn.combineMasks(nn.makeAttentionMask(nonPad, nonPad, { dtype }), nn.makeCausalMask(inputs, { dtype }), { dtype })
    }
    // Block-diagonal masks for segmented (packed) data.
    if (inputsSegmentation !== null) {
      decoderMask = nn.combineMasks(decoderMask, nn.makeAttentionMask(inputsSegmentation, inputsSegmentation, { pairwiseFn: jnp.equal, dtype }), { dtype })
    }
    const logits = new Decoder({ config, sharedEmbedding: null, name: 'decoder' }).call(inputs, {
      inputsPositions, inputsSegmentation, decoderMask, encoderDecoderMask: null,
    })
    return logits.astype(dtype)
  }
}

// ---------------------------------------------------------------------------------------------
// Decoding

/** The decode cache for `[batch, maxDecodeLength]`: init of the decode=True model (its params dropped). */
export function initCache(model: TransformerLM, batch: number, maxDecodeLength: number): Variables {
  if (!model.config.decode) throw new Error('initCache: the model must have config.decode = true')
  const vars = model.init(random.key(0), jnp.ones([batch, maxDecodeLength], 'int32'))
  return vars.cache as Variables
}

/** One decode call: `tokens` `[batch, 1]` on the cache → `[logits [batch, 1, vocab], cache]`. */
export function decodeStep(model: TransformerLM, params: Variables[string], cache: Variables, tokens: Tensor): [Tensor, Variables] {
  const [logits, updated] = model.applyWith({ params, cache }, { mutable: ['cache'] }, tokens) as [Tensor, Variables]
  return [logits, updated.cache as Variables]
}

// ---------------------------------------------------------------------------------------------
// Demo: `npx tsx examples/lm1b.ts`

function main(): void {
  const base = { vocabSize: 40, outputVocabSize: 40, embDim: 16, numHeads: 2, numLayers: 2, qkvDim: 16, mlpDim: 32, maxLen: 20, dropoutRate: 0, attentionDropoutRate: 0, deterministic: true }
  const model = new TransformerLM({ config: transformerConfig(base) })
  const inputs = jnp.array([[5, 17, 3, 39, 22, 8, 1, 30]], 'int32')
  const variables = model.init(random.key(0), inputs)
  const logits = model.apply(variables, inputs) as Tensor
  console.log(`TransformerLM logits: [${logits.shape.join(', ')}]`)
  const decoder = new TransformerLM({ config: transformerConfig({ ...base, decode: true }) })
  let cache = initCache(decoder, 1, 12)
  let token: Tensor = jnp.zeros([1, 1], 'int32')
  const out: number[] = []
  for (let i = 0; i < 12; i++) {
    let step: Tensor
    ;[step, cache] = decodeStep(decoder, variables.params, cache, token)
    token = jnp.argmax(step, -1).astype('int32')
    out.push((token.data as Int32Array)[0])
  }
  console.log(`greedy: ${out.join(' ')}`)
}

if (require.main === module) main()
