// `nn.Embed` (flax.linen.linear.Embed): a `[numEmbeddings, features]` table looked up by
// integer indices, and `attend` to use it as an output projection (weight sharing).
import { ValueError } from '../errors'
import * as jnp from '../jnp'
import { describe, type DType, type Tensor } from '../tensor'
import { type Initializer, varianceScaling } from './initializers'
import { Module, type ModuleProps } from './module'
import { constructed, tensorArg } from './module-internals'

/** Flax's `default_embed_init`: N(0, 1/features) per entry (fan_in over the feature axis). */
export const defaultEmbedInit: Initializer = varianceScaling(1.0, 'fan_in', 'normal', { outAxis: 0 })

const INTEGER_DTYPES: readonly DType[] = ['int32', 'uint32', 'uint16', 'uint8']

export interface EmbedProps {
  numEmbeddings: number
  features: number
  dtype?: DType | null
  paramDtype?: DType
  embeddingInit?: Initializer
}

export class Embed extends Module<EmbedProps> {
  numEmbeddings!: number
  features!: number
  /** Output dtype; null = the embedding's (float32 is the only float dtype). */
  dtype: DType | null = null
  paramDtype: DType = 'float32'
  embeddingInit: Initializer = defaultEmbedInit
  declare embedding: Tensor

  constructor(props: ModuleProps<EmbedProps>) {
    super(props)
    constructed(this, new.target, Embed)
  }

  setup(): void {
    this.embedding = this.param('embedding', this.embeddingInit, [this.numEmbeddings, this.features], this.paramDtype)
  }

  /** `embedding[inputs]`: output shape `inputs.shape + [features]`. */
  call(inputs: Tensor): Tensor {
    inputs = tensorArg(this, 'call', 'inputs', inputs)
    if (!INTEGER_DTYPES.includes(inputs.dtype)) throw new ValueError('Input type must be an integer or unsigned integer.')
    const embedding = promoteDtype(this.embedding, this.dtype)
    if (this.numEmbeddings === 1) return jnp.broadcastTo(embedding, [...inputs.shape, this.features])
    // jnp.take's default 'fill' mode: negative indices count from the end, out-of-range rows are NaN.
    return jnp.take(embedding, inputs, 0)
  }

  /** `query @ embedding.T`: logits over the `numEmbeddings` entries. */
  attend(query: Tensor): Tensor {
    query = tensorArg(this, 'attend', 'query', query)
    const embedding = promoteDtype(this.embedding, this.dtype)
    // promote_dtype (inexact): an integer query computes in float32.
    const q = query.dtype === 'float32' ? query : query.astype('float32')
    return jnp.matmul(q, jnp.transpose(embedding))
  }
}

/** `promote_dtype(embedding, dtype=dtype)`: float32 is the only float dtype, so only a check. */
function promoteDtype(embedding: Tensor, dtype: DType | null): Tensor {
  if ((dtype ?? embedding.dtype) !== embedding.dtype) throw new ValueError(`Embed: only float32 computation is supported, got dtype ${typeof dtype === 'string' ? dtype : describe(dtype)}`)
  return embedding
}
