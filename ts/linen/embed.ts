// `nn.Embed` (flax.linen.linear.Embed): a `[numEmbeddings, features]` table looked up by
// integer indices, and `attend` to use it as an output projection (weight sharing).
import { ValueError } from '../errors'
import * as jnp from '../jnp'
import { type DType, type Tensor } from '../tensor'
import { asOperand, canonicalizeDtype, checkDtypeField } from './dtypes'
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
  /** Output dtype; null = the embedding's (`param_dtype`). */
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
    // promote_dtype(embedding, dtype=dtype, inexact=False): the table in `dtype`. The cast is
    // elementwise, so the rows are taken first and only they are cast (Flax casts the table).
    const dt = canonicalizeDtype([this.embedding], checkDtypeField(this.dtype, 'Embed'), false)
    const rows =
      this.numEmbeddings === 1
        ? jnp.broadcastTo(this.embedding, [...inputs.shape, this.features])
        : // jnp.take's default 'fill' mode: negative indices count from the end, out-of-range rows are NaN.
          jnp.take(this.embedding, inputs, 0)
    if (rows.dtype === dt) return rows
    const out = rows.astype(dt)
    rows.dispose()
    return out
  }

  /** `query @ embedding.T`: logits over the `numEmbeddings` entries. */
  attend(query: Tensor): Tensor {
    query = tensorArg(this, 'attend', 'query', query)
    // promote_dtype(query, embedding, dtype=dtype) (inexact: an integer query computes in a
    // float); a half-precision table in a float32 product is widened inside the matmul.
    const dt = canonicalizeDtype([query, this.embedding], checkDtypeField(this.dtype, 'Embed'))
    const q = query.dtype === dt ? query : query.astype(dt)
    return jnp.matmul(q, jnp.transpose(asOperand(this.embedding, dt)))
  }
}
