// `nn.Dense` (flax.linen.Dense): y = x @ kernel + bias over the last axis, any leading dims.
import { codedTypeError } from '../coded-error'
import { type PRNGKey, withAbstractShape } from '../core'
import * as jnp from '../jnp'
import { describe, type DType, type Tensor } from '../tensor'
import { ValueError } from '../errors'
import { compact } from './compact'
import { checkDtypeField, promoteDtype } from './dtypes'
import { type Initializer, lecunNormal, zerosInit } from './initializers'
import { Module, type ModuleProps } from './module'
import { constructed, intsProp, tensorArg } from './module-internals'

export interface DenseProps {
  features: number
  useBias?: boolean
  dtype?: DType | null
  paramDtype?: DType
  kernelInit?: Initializer
  biasInit?: Initializer
}

export class Dense extends Module<DenseProps> {
  features!: number
  useBias = true
  /** Computation dtype; null = the promoted dtype of inputs and params (`promote_dtype`). */
  dtype: DType | null = null
  paramDtype: DType = 'float32'
  kernelInit: Initializer = lecunNormal()
  biasInit: Initializer = zerosInit()

  constructor(props: ModuleProps<DenseProps>) {
    super(props)
    constructed(this, new.target, Dense)
  }

  @compact
  call(inputs: Tensor): Tensor {
    inputs = tensorArg(this, 'call', 'inputs', inputs)
    const inFeatures = inputs.shape[inputs.shape.length - 1]
    // Creation order matters: kernel takes 'params' counter 1, bias counter 2.
    const kernel: Tensor = this.param('kernel', this.kernelInit, [inFeatures, this.features], this.paramDtype)
    let bias: Tensor | null = this.useBias ? this.param('bias', this.biasInit, [this.features], this.paramDtype) : null
    let kernel2: Tensor
    ;[inputs, kernel2, bias] = promoteDtype(inputs, kernel, bias, this.dtype, 'Dense')
    // dot_general contracting the last axis of x with axis 0 of the kernel: flatten the
    // leading dims, one matmul, restore them (a 2-D input needs neither reshape; the bias
    // broadcasts over the rows as it is).
    const flat = inputs.ndim === 2 ? inputs : inputs.reshape([-1, inFeatures])
    let y = jnp.matmul(flat, kernel2)
    if (bias !== null) y = jnp.add(y, bias)
    return inputs.ndim === 2 ? y : y.reshape([...inputs.shape.slice(0, -1), this.features])
  }
}

const prod = (xs: readonly number[]) => xs.reduce((a, b) => a * b, 1)
const normalizeAxes = (axes: number[], ndim: number) => axes.map((a) => (a < 0 ? a + ndim : a)).sort((a, b) => a - b)

/**
 * `nn.DenseGeneral`: a linear map contracting several input axes (`axis`) into one or more
 * feature axes, optionally batched over leading `batchDims`. The initializers see the
 * flattened 2-D kernel `(prod(batch) * prod(contracted), prod(features))`, which fixes fan-in
 * and fan-out; the result is reshaped. `DenseGeneral({ features: 4 })` ≡ `Dense({ features: 4 })`.
 */
export interface DenseGeneralProps {
  features: number | readonly number[]
  axis?: number | readonly number[]
  batchDims?: readonly number[]
  useBias?: boolean
  dtype?: DType | null
  paramDtype?: DType
  kernelInit?: Initializer
  biasInit?: Initializer
}

export class DenseGeneral extends Module<DenseGeneralProps> {
  features!: number | readonly number[]
  axis: number | readonly number[] = -1
  batchDims: readonly number[] = []
  useBias = true
  dtype: DType | null = null
  paramDtype: DType = 'float32'
  kernelInit: Initializer = lecunNormal()
  biasInit: Initializer = zerosInit()

  constructor(props: ModuleProps<DenseGeneralProps>) {
    super(props)
    constructed(this, new.target, DenseGeneral)
  }

  @compact
  call(inputs: Tensor): Tensor {
    inputs = tensorArg(this, 'call', 'inputs', inputs)
    const features = intsProp(this, 'features', this.features)
    const ndim = inputs.ndim
    const axis = normalizeAxes(intsProp(this, 'axis', this.axis), ndim)
    const batchDims = normalizeAxes(intsProp(this, 'batchDims', this.batchDims), ndim)
    if (batchDims.some((d, i) => d !== i)) {
      throw new ValueError(`batch_dims (${batchDims.join(', ')}${batchDims.length === 1 ? ',' : ''}) must be consecutive leading dimensions starting from 0.`)
    }
    checkDtypeField(this.dtype, 'DenseGeneral')
    const shape = inputs.shape
    const batchShape = batchDims.map((d) => shape[d])
    const contractedShape = axis.map((a) => shape[a])
    const restDims = shape.map((_, d) => d).filter((d) => !axis.includes(d) && !batchDims.includes(d))
    const restShape = restDims.map((d) => shape[d])
    const [B, C, R, F] = [prod(batchShape), prod(contractedShape), prod(restShape), prod(features)]

    const kernelShape = [...batchShape, ...contractedShape, ...features]
    const kernelInit = this.kernelInit
    if (typeof kernelInit !== 'function') throw codedTypeError(`DenseGeneral: kernelInit must be an initializer function, got ${describe(kernelInit)}`)
    const kernelInitWrap = withAbstractShape(
      (key: PRNGKey, s: readonly number[], dtype?: DType) => jnp.reshape(kernelInit(key, [B * C, F], dtype), s),
      (s: readonly number[]) => [...s],
    )
    const kernel: Tensor = this.param('kernel', kernelInitWrap, kernelShape, this.paramDtype)
    let bias: Tensor | null = null
    if (this.useBias) {
      const biasInit = this.biasInit
      const biasInitWrap = withAbstractShape(
        (key: PRNGKey, s: readonly number[], dtype?: DType) => jnp.reshape(biasInit(key, [B * F], dtype), s),
        (s: readonly number[]) => [...s],
      )
      bias = this.param('bias', biasInitWrap, [...batchShape, ...features], this.paramDtype)
    }
    let kernel2: Tensor
    ;[inputs, kernel2, bias] = promoteDtype(inputs, kernel, bias, this.dtype, 'DenseGeneral')

    // dot_general: batch dims first, then the remaining input dims, then the features.
    const x = jnp.transpose(inputs, [...batchDims, ...restDims, ...axis])
    let y: Tensor
    if (batchDims.length === 0) {
      y = jnp.matmul(x.reshape([R, C]), kernel2.reshape([C, F]))
      if (bias !== null) y = jnp.add(y, bias.reshape([1, F]))
    } else {
      y = jnp.matmul(x.reshape([B, R, C]), kernel2.reshape([B, C, F]))
      if (bias !== null) y = jnp.add(y, bias.reshape([B, 1, F]))
    }
    return y.reshape([...batchShape, ...restShape, ...features])
  }
}
