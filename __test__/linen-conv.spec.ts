// flax.linen's convolution layers and the lax functions behind them, against real Flax / JAX
// (scripts/golden/conv_layers.py → golden/conv-layers.json). Params from `init(key(0), x)` are
// bit-identical; outputs are within 1e-5 (XLA sums a window in another order); jit gives the
// eager bits.
import test, { type ExecutionContext } from 'ava'
import { jit, jnp, lax, nn, random, type Tensor } from '../ts/index'
import { assertClose, bitsTensor, loadLocalGolden, type GoldenBits } from './helpers/golden'

const G = loadLocalGolden('conv-layers').expect
const LAYERS = { Conv: nn.Conv, ConvTranspose: nn.ConvTranspose, ConvLocal: nn.ConvLocal } as const

interface LayerCase {
  layer: keyof typeof LAYERS
  props: Record<string, unknown>
  maskShape: number[] | null
  x: GoldenBits
  variables: Record<string, Record<string, GoldenBits>>
  y: GoldenBits
}

/** The golden's props as flaxen props (the generator's two markers become an init and a mask). */
function props(c: LayerCase): any {
  const { biasNormal, ...p } = c.props
  return { ...p, ...(biasNormal ? { biasInit: nn.initializers.normal(1.0) } : {}), ...(c.maskShape ? { mask: jnp.tril(jnp.ones(c.maskShape)) } : {}) }
}

function sameBits(t: ExecutionContext, got: Tensor, want: Tensor, name: string): void {
  t.deepEqual([...got.shape], [...want.shape], `${name}: shape`)
  t.deepEqual(new Uint32Array((got.data as Float32Array).slice().buffer), new Uint32Array((want.data as Float32Array).slice().buffer), `${name}: bits`)
}

const layerCases = Object.entries(G).filter(([, v]) => (v as LayerCase).layer !== undefined) as [string, LayerCase][]

test('the golden file holds every layer case the generator writes', (t) => {
  t.is(layerCases.length, 30)
})

for (const [name, c] of layerCases) {
  test(`nn.${c.layer} ${name}: params bit-identical to Flax's init, output within 1e-5, jit = eager`, (t) => {
    const m = new LAYERS[c.layer](props(c))
    const x = bitsTensor(c.x)
    const variables = m.init(random.key(0), x) as any
    t.deepEqual(Object.keys(variables.params).sort(), Object.keys(c.variables.params).sort(), 'param names')
    for (const [k, v] of Object.entries(c.variables.params)) sameBits(t, variables.params[k], bitsTensor(v), `${name} params.${k}`)
    const y = m.apply(variables, x) as Tensor
    assertClose(t, y, bitsTensor(c.y), name, 1e-5, 1e-5)
    const f = jit((v: any, a: Tensor) => m.apply(v, a) as Tensor)
    sameBits(t, f(variables, x), y, `${name} under jit`)
  })
}

test('lax.convTranspose: SAME, explicit pairs with rhs dilation, consistent padding, NCHW with a transposed kernel', (t) => {
  const g = (k: string) => G[k] as Record<string, GoldenBits>
  const T = (k: string, f: string) => bitsTensor(g(k)[f])
  assertClose(t, lax.convTranspose(T('lax_conv_transpose_same', 'lhs'), T('lax_conv_transpose_same', 'rhs'), [2, 2], 'SAME'), T('lax_conv_transpose_same', 'y'), 'same')
  const p = 'lax_conv_transpose_pairs'
  assertClose(t, lax.convTranspose(T(p, 'lhs'), T(p, 'rhs'), [1, 2], [[2, 1], [0, 2]], { rhsDilation: [2, 1] }), T(p, 'y'), 'pairs')
  const c = 'lax_conv_transpose_consistent'
  assertClose(t, lax.convTranspose(T(c, 'lhs'), T(c, 'rhs'), [2, 2], [[1, 1], [0, 1]], { useConsistentPadding: true }), T(c, 'y'), 'consistent')
  const n = 'lax_conv_transpose_nchw_tk'
  assertClose(t, lax.convTranspose(T(n, 'lhs'), T(n, 'rhs'), [2, 1], 'VALID', { dimensionNumbers: ['NCHW', 'OIHW', 'NCHW'], transposeKernel: true }), T(n, 'y'), 'nchw transposed kernel')
})

test('lax.convGeneralDilatedPatches and convGeneralDilatedLocal equal JAX (patches exactly: a 0/1 kernel)', (t) => {
  const g = (k: string, f: string) => bitsTensor((G[k] as Record<string, GoldenBits>)[f])
  sameBits(t, lax.convGeneralDilatedPatches(g('lax_patches', 'lhs'), [2, 3], [1, 2], 'SAME'), g('lax_patches', 'y'), 'patches NCHW')
  const q = 'lax_patches_nhwc_dil'
  sameBits(t, lax.convGeneralDilatedPatches(g(q, 'lhs'), [3, 2], [2, 1], 'VALID', { rhsDilation: [1, 2], dimensionNumbers: ['NHWC', 'HWIO', 'NHWC'] }), g(q, 'y'), 'patches NHWC dilated')
  assertClose(t, lax.convGeneralDilatedLocal(g('lax_local', 'lhs'), g('lax_local', 'rhs'), [1, 1], 'VALID', [2, 2]), g('lax_local', 'y'), 'local')
})

test('Flax test_conv / test_multibatch_input_conv: ones inits, VALID → 10 everywhere (9 without bias)', (t) => {
  const ones = nn.initializers.ones
  const conv = new nn.Conv({ features: 4, kernelSize: [3], padding: 'VALID', kernelInit: ones, biasInit: ones })
  const [y, v] = conv.initWithOutput(random.key(0), jnp.ones([1, 8, 3])) as [Tensor, any]
  t.deepEqual([...v.params.kernel.shape], [3, 3, 4])
  t.deepEqual([...y.shape], [1, 6, 4])
  t.true(Array.from(y.data).every((e) => e === 10))
  const y2 = conv.apply(v, jnp.ones([2, 5, 8, 3])) as Tensor
  t.deepEqual([...y2.shape], [2, 5, 6, 4])
  t.true(Array.from(y2.data).every((e) => e === 10))
  const noBias = new nn.Conv({ features: 4, kernelSize: [3], padding: 'VALID', kernelInit: ones, useBias: false })
  t.true(Array.from((noBias.initWithOutput(random.key(0), jnp.ones([1, 8, 3]))[0] as Tensor).data).every((e) => e === 9))
})

test('Flax docstring shapes: Conv / ConvLocal / ConvTranspose variables and outputs', (t) => {
  const shapes = (m: any, x: Tensor) => {
    const [y, v] = m.initWithOutput(random.key(0), x) as [Tensor, any]
    return { y: [...y.shape], params: Object.fromEntries(Object.entries(v.params).map(([k, p]) => [k, [...(p as Tensor).shape]])) }
  }
  const x = jnp.ones([1, 8, 3])
  t.deepEqual(shapes(new nn.Conv({ features: 4, kernelSize: [3, 3], strides: 2, padding: 'CIRCULAR' }), x), { y: [1, 4, 4], params: { kernel: [3, 3, 3, 4], bias: [4] } })
  t.deepEqual(shapes(new nn.ConvLocal({ features: 4, kernelSize: [3], padding: 'VALID' }), x), { y: [1, 6, 4], params: { kernel: [6, 9, 4], bias: [6, 4] } })
  t.deepEqual(shapes(new nn.ConvLocal({ features: 4, kernelSize: [3, 3], strides: 2, padding: 'CIRCULAR' }), x), { y: [1, 4, 4], params: { kernel: [1, 4, 27, 4], bias: [1, 4, 4] } })
  t.deepEqual(shapes(new nn.ConvTranspose({ features: 4, kernelSize: [3], padding: 'VALID' }), x), { y: [1, 10, 4], params: { kernel: [3, 3, 4], bias: [4] } })
  const tk = new nn.ConvTranspose({ features: 4, kernelSize: [6, 6], strides: [2, 2], padding: 'CIRCULAR', transposeKernel: true })
  t.deepEqual(shapes(tk, jnp.ones([1, 15, 15, 3])), { y: [1, 30, 30, 4], params: { kernel: [6, 6, 4, 3], bias: [4] } })
})

test('convolution layers: Flax errors keep their classes and texts; bad props raise coded errors', (t) => {
  const x = jnp.ones([1, 8, 3])
  const err = (f: () => unknown) => {
    const e = t.throws(f) as Error & { code: string }
    return `${e.code}: ${e.message}`
  }
  const init = (m: any, a: Tensor = x) => m.init(random.key(0), a)
  t.is(err(() => init(new nn.Conv({ features: 4, kernelSize: [3], mask: jnp.ones([3, 3]) }))), 'ValueError: Mask needs to have the same shape as weights. Shapes are: (3, 3), (3, 3, 4)')
  t.is(err(() => init(new nn.Conv({ features: 4, kernelSize: [3, 3], padding: 'CAUSAL' }), jnp.ones([1, 5, 5, 3]))), 'ValueError: Causal padding is only implemented for 1D convolutions.')
  t.is(err(() => init(new nn.Conv({ features: 4, kernelSize: [3], padding: [1, 2] }))), 'ValueError: Invalid padding format: [1, 2], should be str, int, or a sequence of len 1 where each element is an int or pair of ints.')
  t.is(err(() => init(new nn.ConvLocal({ features: 4, kernelSize: [3], featureGroupCount: 3 }))), 'NotImplementedError: `lax.conv_general_dilated_local` does not support `feature_group_count != 1`, got `3`.')
  t.is(err(() => init(new nn.Conv({ features: 4, kernelSize: [3], inputDilation: 2 }))), 'ValueError: String padding is not implemented for transposed convolution using this op. Please either exactly specify the required padding or use conv_transpose.')
  t.regex(err(() => init(new nn.Conv({ features: 4, kernelSize: [3], featureGroupCount: 2 }))), /^E_SHAPE: Conv: input features \(3\) must be divisible by featureGroupCount \(2\)/)
  t.regex(err(() => init(new nn.Conv({ features: 4, kernelSize: [3, 3] }), jnp.ones([8, 3]))), /^E_SHAPE: Conv: inputs of shape \(8, 3\) need \(batch\.\.\., 2 spatial axes, features\)/)
  t.regex(err(() => init(new nn.Conv({ features: 4, kernelSize: 'x' as any }))), /^E_ARG|^E_TYPE/)
  t.regex(err(() => init(new nn.Conv({ features: 4, kernelSize: [3], padding: 'BOGUS' }))), /BOGUS/)
})
