// flax.linen: Module, compact, layers, initializers, lifted transforms.
export {
  PReLU, celu, elu, gelu, glu, hardSigmoid, hardSilu, hardSwish, hardTanh, leakyRelu, logSigmoid, logSoftmax, oneHot, relu, relu6, selu, sigmoid, silu,
  softSign, softmax, softplus, standardize, swish, tanh,
  type AlphaOptions, type AxisOptions, type GeluOptions, type GluOptions, type LeakyReluOptions, type StandardizeOptions,
} from './activation'
export {
  MultiHeadAttention, MultiHeadDotProductAttention, SelfAttention, combineMasks, dotProductAttention, dotProductAttentionWeights, makeAttentionMask, makeCausalMask,
  type AttentionCallOptions, type AttentionFn, type AttentionMaskOptions, type AttentionWeightsOptions, type MaskOptions, type MultiHeadDotProductAttentionProps,
  type SelfAttentionCallOptions,
} from './attention'
export { compact, nowrap } from './compact'
export { Dense, DenseGeneral, type DenseProps, type DenseGeneralProps } from './dense'
export { Embed, defaultEmbedInit, type EmbedProps } from './embed'
export { mergeParam } from './merge-param'
export { LayerNorm, RMSNorm, type LayerNormProps, type NormCallOptions, type RMSNormProps } from './normalization'
export { BatchNorm, type BatchNormCallOptions, type BatchNormProps } from './batch-norm'
export { GroupNorm, InstanceNorm, type GroupNormProps, type InstanceNormProps } from './group-norm'
export { Dropout, type DropoutCallOptions, type DropoutProps } from './stochastic'
export { Conv, ConvLocal, ConvTranspose, canonicalizePadding, type ConvProps, type ConvTransposeProps, type PaddingLike } from './conv'
export { avgPool, maxPool, minPool, pool, type AvgPoolOptions, type PoolOptions, type PoolPadding } from './pooling'
export { jit } from './jit'
export * as initializers from './initializers'
export { type Initializer, lecunNormal, onesInit, varianceScaling, zerosInit } from './initializers'
export {
  Module,
  apply,
  init,
  initWithOutput,
  type ApplyWithOptions,
  type InitWithOptions,
  type MethodArg,
  type ModuleProps,
  type PropsOf,
  type MethodArgs,
  type MethodResult,
  type ApplyResult,
  type SowOptions,
  type Variables,
  type VariablesArg,
  type Collection,
  type VariableNode,
} from './module'
export { liftTransform, mapVariables, type NNMapVariablesOptions } from './transforms'
export { CompactNameScope, compactNameScope } from './compact-name-scope'
export { Sequential, type SequentialLayer, type SequentialArgs, type SequentialResult } from './sequential'
export { shareScope } from './share-scope'
export { WeightNorm, type WeightNormProps } from './weight-norm'
export { SpectralNorm, type SpectralNormCallOptions, type SpectralNormProps } from './spectral-norm'
export { DenyList } from '../core/filters'
export { Variable } from '../core/variable'
export { Scope } from '../core/scope'
