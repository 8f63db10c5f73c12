// int8 weight quantisation through nn.mapVariables: every Dense kernel is stored as
// `{ q: int8, scale: float32 }` (symmetric, one scale per output feature) — a quarter of the
// bytes — and the layer sees the dequantised float kernel `q * scale` through `transInFn`.
// With `transOutFn` = quantise and `init: isInitializing()`, `init` itself stores int8 kernels;
// a float checkpoint converts with the same `quantise`.
import { jnp, nn, random, tree, type Tensor, type Variables } from '../ts/index'
import { isPlainObject } from '../ts/tree'

export interface QuantisedKernel {
  q: Tensor
  scale: Tensor
}

const isQuantised = (k: unknown): k is QuantisedKernel => isPlainObject(k) && 'q' in k && 'scale' in k

/** Symmetric per-output-feature int8: scale = max|k| / 127 over the input axis; q = round(k / scale). */
export function quantiseKernel(kernel: Tensor): QuantisedKernel {
  const maxAbs = jnp.max(jnp.abs(kernel), 0, { keepdims: true })
  const scale = jnp.where(jnp.equal(maxAbs, 0), 1, jnp.divide(maxAbs, 127))
  const q = jnp.clip(jnp.round(jnp.divide(kernel, scale)), -127, 127).astype('int8')
  return { q, scale }
}

export function dequantiseKernel({ q, scale }: QuantisedKernel): Tensor {
  return jnp.multiply(q, scale) // int8 * float32 → float32
}

/** The `{ params: { kernel, bias } }` of one Dense scope, with the kernel quantised (floats only). */
export const quantise = (v: Variables): Variables =>
  isQuantised(v.params?.kernel) ? v : { ...v, params: { ...v.params, kernel: quantiseKernel(v.params.kernel) } }

/** ... and dequantised for the layer (a float kernel, e.g. created in init's first pass, passes through). */
export const dequantise = (v: Variables): Variables =>
  isQuantised(v.params?.kernel) ? { ...v, params: { ...v.params, kernel: dequantiseKernel(v.params.kernel) } } : v

/** Quantises every Dense kernel of a float variable tree (a checkpoint of the float model). */
export function quantiseCheckpoint(variables: Variables): Variables {
  const walk = (node: any): any => {
    if (!isPlainObject(node)) return node
    if ('kernel' in node && !isQuantised(node.kernel)) return { ...node, kernel: quantiseKernel(node.kernel) }
    return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, walk(v)]))
  }
  return { ...variables, params: walk(variables.params) }
}

/** The float model. */
export class MLP extends nn.Module<{ features: number[] }> {
  features!: number[]

  @nn.compact
  call(x: Tensor): Tensor {
    this.features.forEach((features, i) => {
      x = new nn.Dense({ features, name: `layers_${i}` }).call(x)
      if (i < this.features.length - 1) x = nn.relu(x)
    })
    return x
  }
}

/** The same model with int8 kernels: each Dense runs through mapVariables. */
export class QuantisedMLP extends nn.Module<{ features: number[] }> {
  features!: number[]

  @nn.compact
  call(x: Tensor): Tensor {
    const QDense = nn.mapVariables(nn.Dense, 'params', dequantise, quantise, { init: this.isInitializing() })
    this.features.forEach((features, i) => {
      x = new QDense({ features, name: `layers_${i}` }).call(x)
      if (i < this.features.length - 1) x = nn.relu(x)
    })
    return x
  }
}

/** ||a - b|| / ||b||. */
export function relativeError(a: Tensor, b: Tensor): number {
  let num = 0
  let den = 0
  b.data.forEach((v, i) => {
    num += (a.data[i] - v) ** 2
    den += v ** 2
  })
  return Math.sqrt(num / den)
}

const bytesOf = (v: Variables): number => tree.leaves(v).reduce((n: number, t: Tensor) => n + t.data.byteLength, 0)

export function run() {
  const features = [64, 64, 10]
  const x = random.normal(random.key(1), [8, 32])
  // A float checkpoint, converted; the quantised model runs it.
  const floatVars = new MLP({ features }).init(random.key(0), x)
  const quantVars = quantiseCheckpoint(floatVars)
  const yFloat: Tensor = new MLP({ features }).apply(floatVars, x)
  const yQuant: Tensor = new QuantisedMLP({ features }).apply(quantVars, x)
  // Or initialise the quantised model directly: init stores int8 kernels.
  const initVars = new QuantisedMLP({ features }).init(random.key(0), x)
  return { x, floatVars, quantVars, yFloat, yQuant, initVars, floatBytes: bytesOf(floatVars), quantBytes: bytesOf(quantVars) }
}

if (require.main === module) {
  const { quantVars, yFloat, yQuant, initVars, floatBytes, quantBytes } = run()
  const k: QuantisedKernel = quantVars.params.layers_0.kernel
  console.log(`layers_0 kernel: q ${k.q.dtype} [${k.q.shape}], scale ${k.scale.dtype} [${k.scale.shape}]`)
  console.log(`parameter bytes: float ${floatBytes}, int8 ${quantBytes} (${(floatBytes / quantBytes).toFixed(2)}x smaller)`)
  console.log(`relative error of the outputs: ${relativeError(yQuant, yFloat).toExponential(2)}`)
  console.log('init stores int8 kernels:', initVars.params.layers_2.kernel.q.dtype === 'int8')
}
