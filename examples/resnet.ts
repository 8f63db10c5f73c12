// Flax's imagenet ResNet (ResNet v1.5), ported from its Flax definition (google/flax,
// examples/imagenet/models.py): `ResNetBlock`, `BottleneckResNetBlock`, `ResNet` and the
// ResNet18 … ResNet200 configurations. Param / batch_stats tree (Flax's names):
//
//   conv_init/kernel [7, 7, 3, F]      bn_init/{scale, bias} + batch_stats bn_init/{mean, var}
//   ResNetBlock_{i}/Conv_{0,1}/kernel  ResNetBlock_{i}/BatchNorm_{0,1}/...
//   ResNetBlock_{i}/conv_proj/kernel, norm_proj/...   (when the block changes the shape)
//   BottleneckResNetBlock_{i}/Conv_{0,1,2}, BatchNorm_{0,1,2}, conv_proj, norm_proj
//   Dense_0/{kernel [F * 2^(stages-1) (* 4 bottleneck), classes], bias}
//
// Convolutions have no bias; BatchNorm uses momentum 0.9 and epsilon 1e-5, the batch statistics
// when `train` and the running ones otherwise (the example's `axis_name='batch'` is for pmap
// across devices and is not ported). Inputs are NHWC.
//
// Run `npx tsx examples/resnet.ts`: ResNet-18 from key 0, one 224×224 image in eval mode under
// `jit`, then one training-mode step that updates batch_stats.
import { jit, jnp, nn, random, type DType, type Tensor } from '../ts/index'

/** `partial(nn.Conv, use_bias=False, dtype=dtype)` as ResNet hands it to its blocks. */
export type ConvDef = (features: number, kernelSize: number[], strides?: number[], props?: { padding?: nn.PaddingLike; name?: string }) => nn.Conv
/** `partial(nn.BatchNorm, use_running_average=not train, momentum=0.9, epsilon=1e-5, dtype=dtype)`. */
export type NormDef = (props?: { scaleInit?: nn.Initializer; name?: string }) => nn.BatchNorm

interface BlockProps {
  filters: number
  conv: ConvDef
  norm: NormDef
  act: (x: Tensor) => Tensor
  strides?: number[]
}

const sameShape = (a: Tensor, b: Tensor) => a.ndim === b.ndim && a.shape.every((d, i) => d === b.shape[i])

/** Two 3×3 convolutions; a 1×1 projection of the input when the shape changes. */
export class ResNetBlock extends nn.Module<BlockProps> {
  filters!: number
  conv!: ConvDef
  norm!: NormDef
  act!: (x: Tensor) => Tensor
  strides: number[] = [1, 1]

  @nn.compact
  call(x: Tensor): Tensor {
    let residual = x
    let y = this.conv(this.filters, [3, 3], this.strides).call(x)
    y = this.norm().call(y)
    y = this.act(y)
    y = this.conv(this.filters, [3, 3]).call(y)
    y = this.norm({ scaleInit: nn.initializers.zerosInit() }).call(y)
    if (!sameShape(residual, y)) {
      residual = this.conv(this.filters, [1, 1], this.strides, { name: 'conv_proj' }).call(residual)
      residual = this.norm({ name: 'norm_proj' }).call(residual)
    }
    return this.act(jnp.add(residual, y))
  }
}

/** 1×1 reduce, 3×3, 1×1 expand (×4); a 1×1 projection of the input when the shape changes. */
export class BottleneckResNetBlock extends nn.Module<BlockProps> {
  filters!: number
  conv!: ConvDef
  norm!: NormDef
  act!: (x: Tensor) => Tensor
  strides: number[] = [1, 1]

  @nn.compact
  call(x: Tensor): Tensor {
    let residual = x
    let y = this.conv(this.filters, [1, 1]).call(x)
    y = this.norm().call(y)
    y = this.act(y)
    y = this.conv(this.filters, [3, 3], this.strides).call(y)
    y = this.norm().call(y)
    y = this.act(y)
    y = this.conv(this.filters * 4, [1, 1]).call(y)
    y = this.norm({ scaleInit: nn.initializers.zerosInit() }).call(y)
    if (!sameShape(residual, y)) {
      residual = this.conv(this.filters * 4, [1, 1], this.strides, { name: 'conv_proj' }).call(residual)
      residual = this.norm({ name: 'norm_proj' }).call(residual)
    }
    return this.act(jnp.add(residual, y))
  }
}

export interface ResNetProps {
  stageSizes: number[]
  blockCls: typeof ResNetBlock | typeof BottleneckResNetBlock
  numClasses: number
  numFilters?: number
  dtype?: DType
  act?: (x: Tensor) => Tensor
}

/** ResNetV1.5. */
export class ResNet extends nn.Module<ResNetProps> {
  stageSizes!: number[]
  blockCls!: typeof ResNetBlock | typeof BottleneckResNetBlock
  numClasses!: number
  numFilters = 64
  dtype: DType = 'float32'
  act: (x: Tensor) => Tensor = nn.relu

  @nn.compact
  call(x: Tensor, train = true): Tensor {
    const dtype = this.dtype
    const conv: ConvDef = (features, kernelSize, strides, props = {}) => new nn.Conv({ features, kernelSize, strides, useBias: false, dtype, ...props })
    const norm: NormDef = (props = {}) => new nn.BatchNorm({ useRunningAverage: !train, momentum: 0.9, epsilon: 1e-5, dtype, ...props })
    x = conv(this.numFilters, [7, 7], [2, 2], { padding: [[3, 3], [3, 3]], name: 'conv_init' }).call(x)
    x = norm({ name: 'bn_init' }).call(x)
    x = nn.relu(x)
    x = nn.maxPool(x, [3, 3], { strides: [2, 2], padding: 'SAME' })
    this.stageSizes.forEach((blockSize, i) => {
      for (let j = 0; j < blockSize; j++) {
        const strides = i > 0 && j === 0 ? [2, 2] : [1, 1]
        x = new this.blockCls({ filters: this.numFilters * 2 ** i, strides, conv, norm, act: this.act }).call(x)
      }
    })
    x = jnp.mean(x, [1, 2])
    x = new nn.Dense({ features: this.numClasses, dtype }).call(x)
    return x.dtype === dtype ? x : x.astype(dtype)
  }
}

type Config = Omit<ResNetProps, 'stageSizes' | 'blockCls'>
export const ResNet18 = (p: Config) => new ResNet({ stageSizes: [2, 2, 2, 2], blockCls: ResNetBlock, ...p })
export const ResNet34 = (p: Config) => new ResNet({ stageSizes: [3, 4, 6, 3], blockCls: ResNetBlock, ...p })
export const ResNet50 = (p: Config) => new ResNet({ stageSizes: [3, 4, 6, 3], blockCls: BottleneckResNetBlock, ...p })
export const ResNet101 = (p: Config) => new ResNet({ stageSizes: [3, 4, 23, 3], blockCls: BottleneckResNetBlock, ...p })
export const ResNet152 = (p: Config) => new ResNet({ stageSizes: [3, 8, 36, 3], blockCls: BottleneckResNetBlock, ...p })
export const ResNet200 = (p: Config) => new ResNet({ stageSizes: [3, 24, 36, 3], blockCls: BottleneckResNetBlock, ...p })

function main(): void {
  const model = ResNet18({ numClasses: 1000 })
  const x = random.normal(random.key(1), [1, 224, 224, 3])
  let t0 = performance.now()
  const variables = model.init(random.key(0), x, false)
  console.log(`init ${(performance.now() - t0).toFixed(0)} ms`)
  const infer = jit((v: nn.Variables, img: Tensor) => model.apply(v, img, false) as Tensor)
  infer(variables, x) // traces and plans
  t0 = performance.now()
  const logits = infer(variables, x)
  console.log(`eval ${(performance.now() - t0).toFixed(1)} ms; class ${Array.from(jnp.argmax(logits, -1).data)}`)
  const [, updated] = model.applyWith(variables, { mutable: ['batch_stats'] }, x, true) as [Tensor, nn.Variables]
  const mean = (updated as any).batch_stats.bn_init.mean as Tensor
  console.log(`train step: bn_init running mean[0..3] ${Array.from(mean.data.slice(0, 3)).map((v) => v.toFixed(4)).join(' ')}`)
}

if (require.main === module) main()
