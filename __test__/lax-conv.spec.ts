// lax.convGeneralDilated against real JAX (scripts/golden/conv.py → golden/conv.json): JAX's and
// Flax's layouts and a mixed one, 1 to 3 spatial axes, string and explicit (negative) padding,
// strides, both dilations, feature groups. Sums run in another order than XLA's, so values agree
// within float32 rounding (1e-5); jit gives the eager bits.
import test from 'ava'
import { jit, jnp, lax, type Tensor } from '../ts/index'
import { assertClose, bitsTensor, loadLocalGolden } from './helpers/golden'

const G = loadLocalGolden('conv').expect
const T = (name: string): Tensor => bitsTensor(G[name])
const NHWC = ['NHWC', 'HWIO', 'NHWC'] as const

type Args = [number[], lax.ConvPadding, lax.ConvOptions?]
const CASES: Record<string, Args> = {
  nchw_valid: [[1, 1], 'VALID'],
  nchw_same_s2: [[2, 2], 'SAME'],
  nhwc_same: [[1, 1], 'SAME', { dimensionNumbers: NHWC }],
  nhwc_same_lower_s2: [[2, 3], 'SAME_LOWER', { dimensionNumbers: NHWC }],
  nhwc_pads: [[1, 2], [[2, -1], [0, 3]], { dimensionNumbers: NHWC }],
  nhwc_rhs_dil: [[1, 1], 'SAME', { rhsDilation: [2, 3], dimensionNumbers: NHWC }],
  nhwc_lhs_dil: [[1, 1], [[2, 2], [1, 2]], { lhsDilation: [2, 2], dimensionNumbers: NHWC }],
  nhwc_groups: [[1, 1], 'SAME', { featureGroupCount: 3, dimensionNumbers: NHWC }],
  nhwc_depthwise: [[2, 2], 'SAME', { featureGroupCount: 4, dimensionNumbers: NHWC }],
  nhwc_1x1: [[1, 1], 'VALID', { dimensionNumbers: NHWC }],
  nhwc_1x1_s2: [[2, 2], 'VALID', { dimensionNumbers: NHWC }],
  nwc_1d: [[2], 'SAME', { rhsDilation: [2], dimensionNumbers: ['NWC', 'WIO', 'NWC'] }],
  ndhwc_3d: [[1, 2, 1], 'SAME', { dimensionNumbers: ['NDHWC', 'DHWIO', 'NDHWC'] }],
  mixed_layouts: [[1, 1], 'SAME', { dimensionNumbers: ['NWCH', 'IHOW', 'CNHW'] }],
}

for (const [name, [strides, padding, options]] of Object.entries(CASES)) {
  test(`convGeneralDilated ${name} equals JAX, and jit gives the eager bits`, (t) => {
    const [x, w] = [T(`${name}_x`), T(`${name}_w`)]
    const got = lax.convGeneralDilated(x, w, strides, padding, options)
    assertClose(t, got, T(name), name, 1e-5, 1e-5)
    const f = jit((a: Tensor, b: Tensor) => lax.convGeneralDilated(a, b, strides, padding, options))
    t.deepEqual(Array.from(f(x, w).data), Array.from(got.data))
  })
}

test('convGeneralDilated: ConvDimensionNumbers as axis indices equal the layout strings', (t) => {
  const [x, w] = [T('nhwc_same_x'), T('nhwc_same_w')]
  const got = lax.convGeneralDilated(x, w, [1, 1], 'SAME', { dimensionNumbers: { lhsSpec: [0, 3, 1, 2], rhsSpec: [3, 2, 0, 1], outSpec: [0, 3, 1, 2] } })
  assertClose(t, got, T('nhwc_same'), 'nhwc_same (indices)', 1e-5, 1e-5)
})

test('convGeneralDilated: bad shapes and arguments raise coded errors naming both shapes', (t) => {
  const x = jnp.zeros([1, 5, 5, 4])
  const code = (f: () => unknown) => {
    const e = t.throws(f) as Error & { code: string }
    return `${e.code}: ${e.message}`
  }
  const features = code(() => lax.convGeneralDilated(x, jnp.zeros([3, 3, 3, 8]), [1, 1], 'SAME', { dimensionNumbers: NHWC }))
  t.regex(features, /^E_SHAPE: .*\[1, 5, 5, 4\].*\[3, 3, 3, 8\]/)
  t.regex(code(() => lax.convGeneralDilated(x, jnp.zeros([3, 3, 4]), [1, 1], 'SAME')), /^E_SHAPE: .*\[1, 5, 5, 4\].*\[3, 3, 4\]/)
  t.regex(code(() => lax.convGeneralDilated(x, jnp.zeros([3, 3, 4, 8]), [1], 'SAME', { dimensionNumbers: NHWC })), /^E_ARG: .*windowStrides has 1 entries/)
  t.regex(code(() => lax.convGeneralDilated(x, jnp.zeros([3, 3, 4, 8]), [1, 0], 'SAME', { dimensionNumbers: NHWC })), /^E_ARG: .*windowStrides must be positive integers, got \[1,0\]/)
  t.regex(code(() => lax.convGeneralDilated(x, jnp.zeros([3, 3, 4, 8]), [1, 1], 'FULL' as 'SAME', { dimensionNumbers: NHWC })), /^E_ARG: .*padding "FULL" is not supported/)
  t.regex(code(() => lax.convGeneralDilated(x, jnp.zeros([3, 3, 4, 8]), [1, 1], 'SAME', { dimensionNumbers: ['NHWC', 'HWIO', 'NHWX'] as never })), /^E_TYPE: .*dimensionNumbers\[2\] "NHWX" must have exactly one 'N' and one 'C'/)
  t.regex(code(() => lax.convGeneralDilated(x, jnp.zeros([3, 3, 2, 8]), [1, 1], 'SAME', { dimensionNumbers: NHWC, featureGroupCount: 3 })), /^E_SHAPE: .*feature_group_count is 3/)
  t.regex(code(() => lax.convGeneralDilated(x, jnp.zeros([3, 3, 4, 8]), [1, 1], 'SAME', { dimensionNumbers: NHWC, batchGroupCount: 2 })), /^E_ARG: .*batchGroupCount must be 1/)
  t.regex(code(() => lax.convGeneralDilated(jnp.zeros([1, 5, 5, 4], 'int32'), jnp.zeros([3, 3, 4, 8]), [1, 1], 'SAME', { dimensionNumbers: NHWC })), /E_DTYPE/)
})

test('convGeneralDilated: a Winograd kernel kept across calls never outlives a write to the weights', (t) => {
  // 3×3, unit strides, 64 tiles: the Winograd path, which keeps each weight tensor's
  // transformed kernel for the next call. Writing the weights through .data must be seen.
  const values = (n: number, seed: number) => Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898 + seed) * 0.5)
  const x = jnp.array(values(16 * 16 * 16, 1)).reshape([1, 16, 16, 16])
  const wv = values(9 * 16 * 16, 2)
  const w = jnp.array(wv).reshape([3, 3, 16, 16])
  const conv = (a: Tensor, b: Tensor) => lax.convGeneralDilated(a, b, [1, 1], 'SAME', { dimensionNumbers: NHWC })
  const f = jit(conv)
  const fresh = (v: number[]) => conv(x, jnp.array(v).reshape([3, 3, 16, 16]))
  const first = Array.from(conv(x, w).data)
  t.deepEqual(Array.from(conv(x, w).data), first, 'the kept kernel gives the same bits')
  t.deepEqual(first, Array.from(fresh(wv).data), 'and the same as a new tensor of the same values')
  t.deepEqual(Array.from(f(x, w).data), first)
  const view = w.data as Float32Array
  view[5] += 1
  wv[5] = view[5]
  const second = Array.from(conv(x, w).data)
  t.notDeepEqual(second, first)
  t.deepEqual(second, Array.from(fresh(wv).data), 'the written weights, not the kept transform')
  t.deepEqual(Array.from(f(x, w).data), second, 'jit sees the write too')
})
