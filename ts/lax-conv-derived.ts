// The convolutions JAX builds on conv_general_dilated: conv_transpose (a convolution of the
// input dilated by the strides), conv_general_dilated_patches (a grouped convolution with an
// identity kernel) and conv_general_dilated_local (those patches contracted with one kernel per
// output position). Each is composed of op-table ops, so each traces under `jit`.
import { codedError, intArray, optionsArg, showShape } from './coded-error'
import { type ConvDimensionNumbers, type ConvOptions, type ConvPadding, convGeneralDilated, convOperands, dimensionNumbers } from './lax-conv'
import { asTensor, type Tensor } from './tensor'
import * as jnp from './jnp'

export interface ConvTransposeOptions {
  /** Kernel dilation per spatial axis; default all 1. */
  rhsDilation?: readonly number[] | null
  /** Default TensorFlow's: NHC/HIO, NHWC/HWIO or NHWDC/HWDIO by rank. */
  dimensionNumbers?: ConvOptions['dimensionNumbers']
  /** Flip the spatial axes and swap the kernel's in and out features (Keras' Conv2DTranspose). */
  transposeKernel?: boolean
  /** Read explicit pairs as the forward convolution's padding (PyTorch's convention). */
  useConsistentPadding?: boolean
}

const DEFAULT_TRANSPOSE_DN: Record<number, [string, string, string]> = {
  3: ['NHC', 'HIO', 'NHC'],
  4: ['NHWC', 'HWIO', 'NHWC'],
  5: ['NHWDC', 'HWDIO', 'NHWDC'],
}

/** JAX's `_conv_transpose_padding`: the pads of the transposed convolution for one axis. */
function transposePadding(k: number, s: number, padding: string | readonly number[]): [number, number] {
  let padA: number
  let padLen: number
  if (padding === 'SAME') {
    padLen = k + s - 2
    padA = s > k - 1 ? k - 1 : Math.ceil(padLen / 2)
  } else if (padding === 'VALID') {
    padLen = k + s - 2 + Math.max(k - s, 0)
    padA = k - 1
  } else if (typeof padding !== 'string') {
    padA = k - padding[0] - 1
    padLen = padA + k - padding[1] - 1
  } else {
    throw codedError('E_ARG', `convTranspose: padding ${JSON.stringify(padding)} is not supported; expected 'SAME', 'VALID' or (lo, hi) pairs`)
  }
  return [padA, padLen - padA]
}

/**
 * `lax.conv_transpose(lhs, rhs, strides, padding, rhs_dilation, dimension_numbers,
 * transpose_kernel)`: the "deconvolution" computed directly, as a unit-stride convolution of the
 * input dilated by `strides`. 'SAME' and 'VALID' name the forward convolution's padding (the
 * output is `in * stride` and `in * stride + max(k - stride, 0)` long); explicit pairs pad the
 * dilated input as they are.
 */
export function convTranspose(lhs: Tensor, rhs: Tensor, strides: readonly number[], padding: ConvPadding, options: ConvTransposeOptions = {}): Tensor {
  const WHO = 'convTranspose'
  const o = optionsArg(options, WHO)
  const [x, w0] = convOperands(lhs, rhs, WHO)
  let w = w0
  const nsp = x.ndim - 2
  const dn = dimensionNumbers(o.dimensionNumbers ?? DEFAULT_TRANSPOSE_DN[x.ndim], x.ndim)
  const st = intArray(strides, `${WHO}: strides`)
  if (st.length !== nsp) throw codedError('E_ARG', `${WHO}: strides has ${st.length} entries; expected one per spatial axis (${nsp})`)
  const rhsDil = o.rhsDilation === undefined || o.rhsDilation === null ? st.map(() => 1) : intArray(o.rhsDilation, `${WHO}: rhsDilation`)
  let pads: ConvPadding = padding
  if (o.useConsistentPadding || padding === 'SAME' || padding === 'VALID') {
    const kernel = dn.rhsSpec.slice(2).map((a, i) => (w.shape[a] - 1) * (rhsDil[i] ?? 1) + 1)
    const each = typeof padding === 'string' ? st.map(() => padding) : padding
    if (each.length !== nsp) throw codedError('E_ARG', `${WHO}: padding has ${each.length} pairs; expected one per spatial axis (${nsp})`)
    pads = kernel.map((k, i) => transposePadding(k, st[i], typeof each[i] === 'string' ? (each[i] as string) : intArray(each[i], `${WHO}: padding[${i}]`)))
  }
  const temps: Tensor[] = []
  try {
    if (o.transposeKernel) {
      w = jnp.flip(w, dn.rhsSpec.slice(2))
      temps.push(w)
      const perm = w.shape.map((_, i) => i)
      ;[perm[dn.rhsSpec[0]], perm[dn.rhsSpec[1]]] = [dn.rhsSpec[1], dn.rhsSpec[0]]
      w = jnp.transpose(w, perm)
      temps.push(w)
    }
    return convGeneralDilated(x, w, st.map(() => 1), pads, { lhsDilation: st, rhsDilation: rhsDil, dimensionNumbers: dn })
  } finally {
    for (const t of temps) t.dispose()
  }
}

export interface PatchesOptions {
  lhsDilation?: readonly number[] | null
  rhsDilation?: readonly number[] | null
  /** As convGeneralDilated's (default NCHW / OIHW / NCHW); the rhs string orders `filterShape`. */
  dimensionNumbers?: ConvOptions['dimensionNumbers']
}

const prod = (xs: readonly number[]) => xs.reduce((a, b) => a * b, 1)

/** The specs of an HWIO kernel (spatial..., in, out) for `nsp` spatial axes. */
const hwio = (nsp: number): number[] => [nsp + 1, nsp, ...Array.from({ length: nsp }, (_, i) => i)]

/**
 * `lax.conv_general_dilated_patches`: each output position's receptive field, flattened into
 * the output's feature axis in the order (input feature, then the filter's spatial positions).
 * A grouped convolution with a 0/1 kernel, as in JAX (so an infinity in a field gives NaN in the
 * patches of its neighbours there too).
 */
export function convGeneralDilatedPatches(lhs: Tensor, filterShape: readonly number[], windowStrides: readonly number[], padding: ConvPadding, options: PatchesOptions = {}): Tensor {
  const WHO = 'convGeneralDilatedPatches'
  const o = optionsArg(options, WHO)
  const x = asTensor(lhs, `${WHO}: lhs`)
  const nsp = x.ndim - 2
  const filter = intArray(filterShape, `${WHO}: filterShape`)
  if (nsp < 1 || filter.length !== nsp || filter.some((f) => f < 1)) {
    throw codedError('E_SHAPE', `${WHO}: filterShape ${JSON.stringify(filter)} must give one positive size per spatial axis of lhs ${showShape(x.shape)}`)
  }
  const dn = dimensionNumbers(o.dimensionNumbers, x.ndim)
  const channels = x.shape[dn.lhsSpec[1]]
  const s = prod(filter)
  // Kernel (filter..., 1, channels * s): output feature c * s + j copies filter position j.
  const eye = jnp.eye(s, s, x.dtype)
  const kernel = jnp.tile(eye.reshape([...filter, 1, s]), [...filter.map(() => 1), 1, channels])
  eye.dispose()
  try {
    const spec: ConvDimensionNumbers = { lhsSpec: dn.lhsSpec, rhsSpec: hwio(nsp), outSpec: dn.outSpec }
    return convGeneralDilated(x, kernel, windowStrides, padding, { lhsDilation: o.lhsDilation, rhsDilation: o.rhsDilation, dimensionNumbers: spec, featureGroupCount: channels })
  } finally {
    kernel.dispose()
  }
}

/**
 * `lax.conv_general_dilated_local`: an unshared convolution, one kernel per output position.
 * `rhs` holds, along its spatial axes, the output positions; along I, the flattened patch
 * (input feature, then `filterShape`); along O, the output features.
 */
export function convGeneralDilatedLocal(lhs: Tensor, rhs: Tensor, windowStrides: readonly number[], padding: ConvPadding, filterShape: readonly number[], options: PatchesOptions = {}): Tensor {
  const WHO = 'convGeneralDilatedLocal'
  const o = optionsArg(options, WHO)
  const x = asTensor(lhs, `${WHO}: lhs`)
  const w = asTensor(rhs, `${WHO}: rhs`)
  if (w.ndim !== x.ndim) throw codedError('E_SHAPE', `${WHO}: lhs ${showShape(x.shape)} and rhs ${showShape(w.shape)} must have the same rank`)
  const nsp = x.ndim - 2
  const dn = dimensionNumbers(o.dimensionNumbers, x.ndim)
  // Patches channels-last: (N, positions..., K).
  const canonical = [0, nsp + 1, ...Array.from({ length: nsp }, (_, i) => 1 + i)]
  const patches = convGeneralDilatedPatches(x, filterShape, windowStrides, padding, { ...o, dimensionNumbers: { lhsSpec: dn.lhsSpec, rhsSpec: hwio(nsp), outSpec: canonical } })
  const temps: Tensor[] = [patches]
  const keep = (t: Tensor) => (temps.push(t), t)
  try {
    const [n, k] = [patches.shape[0], patches.shape[nsp + 1]]
    const positions = patches.shape.slice(1, nsp + 1)
    const kernel = keep(jnp.transpose(w, [...dn.rhsSpec.slice(2), dn.rhsSpec[1], dn.rhsSpec[0]]))
    const want = [...positions, k]
    if (want.some((d, i) => kernel.shape[i] !== d)) {
      throw codedError('E_SHAPE', `${WHO}: rhs ${showShape(w.shape)} must hold a (${want.join(', ')}, features) kernel per output position (spatial, in, out) for patches ${showShape(patches.shape)}`)
    }
    const p = prod(positions)
    const features = kernel.shape[nsp + 1]
    // One [N, K] x [K, F] product per output position, batched on the matmul kernel.
    const lhsB = keep(jnp.transpose(keep(patches.reshape([n, p, k])), [1, 0, 2]))
    const y = keep(jnp.matmul(lhsB, keep(kernel.reshape([p, k, features]))))
    const nhwc = keep(keep(jnp.transpose(y, [1, 0, 2])).reshape([n, ...positions, features]))
    const back = new Array<number>(x.ndim)
    dn.outSpec.forEach((axis, j) => (back[axis] = canonical[j]))
    temps.pop()
    if (back.every((a, i) => a === i)) return nhwc
    temps.push(nhwc)
    return jnp.transpose(nhwc, back)
  } finally {
    for (const t of temps) t.dispose()
  }
}
