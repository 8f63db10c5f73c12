// lax.conv_general_dilated: JAX's signature and dimension numbers over one op-table row that
// computes in Flax's channels-last layout (lhs NHWC, rhs HWIO, out NHWC). Other layouts are
// transposed in front of it and behind it (under `jit` those are traced ops like any other).
import { codedError, codedTypeError, intArray, optionsArg, showShape } from './coded-error'
import { op1, opCode } from './ops'
import { ValueError } from './errors'
import { Tensor, asTensor, describe } from './tensor'
import * as jnp from './jnp'

/** JAX's padding: a string, or one (lo, hi) pair per spatial axis (negative values crop). */
export type ConvPadding = 'SAME' | 'SAME_LOWER' | 'VALID' | readonly (readonly [number, number])[]

/** `ConvDimensionNumbers`: for lhs and out the axes of (batch, feature, spatial...), for rhs of (out feature, in feature, spatial...). */
export interface ConvDimensionNumbers {
  lhsSpec: readonly number[]
  rhsSpec: readonly number[]
  outSpec: readonly number[]
}

export interface ConvOptions {
  /** Input dilation per spatial axis (a transposed convolution); default all 1. */
  lhsDilation?: readonly number[] | null
  /** Kernel (atrous) dilation per spatial axis; default all 1. */
  rhsDilation?: readonly number[] | null
  /** Three layout strings such as `['NHWC', 'HWIO', 'NHWC']`, or `ConvDimensionNumbers`; default JAX's NCHW / OIHW / NCHW. */
  dimensionNumbers?: readonly [string, string, string] | ConvDimensionNumbers | null
  featureGroupCount?: number
  /** Only 1 (JAX uses other values for the gradients of grouped convolutions). */
  batchGroupCount?: number
}

const WHO = 'convGeneralDilated'

/** JAX's `conv_general_permutations`: each spec's (N, C | O, I, spatial...) axes, spatial axes ordered as in the rhs string. */
function permutations(specs: readonly unknown[]): ConvDimensionNumbers {
  if (specs.length !== 3 || !specs.every((s) => typeof s === 'string')) {
    throw codedTypeError(`${WHO}: dimensionNumbers must be three layout strings (lhs, rhs, out) or { lhsSpec, rhsSpec, outSpec }, got ${describe(specs)}`)
  }
  const [lhs, rhs, out] = specs as string[]
  const pairs: [string, string][] = [['N', 'C'], ['O', 'I'], ['N', 'C']]
  ;[lhs, rhs, out].forEach((s, i) => {
    const [a, b] = pairs[i]
    if (s.split(a).length !== 2 || s.split(b).length !== 2) {
      throw codedTypeError(`${WHO}: dimensionNumbers[${i}] ${JSON.stringify(s)} must have exactly one '${a}' and one '${b}'`)
    }
    if (new Set(s).size !== s.length) throw codedTypeError(`${WHO}: dimensionNumbers[${i}] ${JSON.stringify(s)} repeats a dimension`)
  })
  const spatial = (s: string, [a, b]: [string, string]) => [...s].filter((c) => c !== a && c !== b).sort().join('')
  if (spatial(lhs, pairs[0]) !== spatial(rhs, pairs[1]) || spatial(rhs, pairs[1]) !== spatial(out, pairs[2])) {
    throw codedTypeError(`${WHO}: dimensionNumbers ${JSON.stringify(specs)} must name the same spatial dimensions in lhs, rhs and out`)
  }
  const perm = (s: string, [a, b]: [string, string]) => {
    const sp = [...s].map((c, i) => [c, i] as const).filter(([c]) => c !== a && c !== b)
    if (s !== rhs) sp.sort((x, y) => rhs.indexOf(x[0]) - rhs.indexOf(y[0]))
    return [s.indexOf(a), s.indexOf(b), ...sp.map(([, i]) => i)]
  }
  return { lhsSpec: perm(lhs, pairs[0]), rhsSpec: perm(rhs, pairs[1]), outSpec: perm(out, pairs[2]) }
}

/** JAX's `conv_dimension_numbers`: the specs of `dn` (default NCHW / OIHW / NCHW) for operands of `rank`. */
export function dimensionNumbers(dn: ConvOptions['dimensionNumbers'], rank: number): ConvDimensionNumbers {
  if (dn === undefined || dn === null) {
    const id = Array.from({ length: rank }, (_, i) => i)
    return { lhsSpec: id, rhsSpec: id, outSpec: id }
  }
  if (Array.isArray(dn)) return permutations(dn)
  const d = dn as ConvDimensionNumbers
  const spec = (v: unknown, name: string) => {
    const s = intArray(v, `${WHO}: dimensionNumbers.${name}`)
    if (s.length !== rank || [...s].sort((a, b) => a - b).some((x, i) => x !== i)) {
      throw codedError('E_ARG', `${WHO}: dimensionNumbers.${name} ${JSON.stringify(s)} must be a permutation of the ${rank} axes`)
    }
    return s
  }
  return { lhsSpec: spec(d.lhsSpec, 'lhsSpec'), rhsSpec: spec(d.rhsSpec, 'rhsSpec'), outSpec: spec(d.outSpec, 'outSpec') }
}

/** JAX's `padtype_to_pads`: SAME pads so the output is ceil(in / stride), the odd pixel at the end (SAME_LOWER: at the start). */
export function padtypeToPads(inShape: readonly number[], window: readonly number[], strides: readonly number[], padding: string, who = WHO): [number, number][] {
  ;[inShape, window, strides] = [intArray(inShape, `${who}: inShape`), intArray(window, `${who}: window`), intArray(strides, `${who}: strides`)]
  if (window.length !== inShape.length || strides.length !== inShape.length) {
    throw codedError('E_ARG', `${who}: inShape ${JSON.stringify(inShape)}, window ${JSON.stringify(window)} and strides ${JSON.stringify(strides)} must have the same length`)
  }
  if (strides.some((s) => s < 1)) throw codedError('E_ARG', `${who}: strides must be positive integers, got ${JSON.stringify(strides)}`)
  if (padding === 'VALID') return inShape.map(() => [0, 0])
  if (padding !== 'SAME' && padding !== 'SAME_LOWER') {
    throw codedError('E_ARG', `${who}: padding ${typeof padding === 'string' ? JSON.stringify(padding) : describe(padding)} is not supported; expected 'SAME', 'SAME_LOWER', 'VALID' or (lo, hi) pairs`)
  }
  return inShape.map((n, i) => {
    const out = Math.ceil(n / strides[i])
    const total = Math.max((out - 1) * strides[i] + window[i] - n, 0)
    const small = Math.floor(total / 2)
    return padding === 'SAME' ? [small, total - small] : [total - small, small]
  })
}

/** A convolution's lhs and rhs as tensors of the same rank, 3 to 5. */
export function convOperands(lhs: Tensor, rhs: Tensor, who: string): [Tensor, Tensor] {
  const x = asTensor(lhs, `${who}: lhs`)
  const w = asTensor(rhs, `${who}: rhs`)
  if (x.ndim !== w.ndim || x.ndim < 3 || x.ndim > 5) {
    throw codedError('E_SHAPE', `${who}: lhs ${showShape(x.shape)} and rhs ${showShape(w.shape)} must have the same rank, 3 to 5 (batch, feature, 1 to 3 spatial axes)`)
  }
  return [x, w]
}

/**
 * `lax.conv_general_dilated(lhs, rhs, window_strides, padding, lhs_dilation, rhs_dilation,
 * dimension_numbers, feature_group_count)`: JAX's general convolution (as cross-correlation,
 * like XLA), 1 to 3 spatial axes. Float operands (float16 / bfloat16 are computed in float32
 * and rounded once, as XLA's CPU backend does).
 */
export function convGeneralDilated(lhs: Tensor, rhs: Tensor, windowStrides: readonly number[], padding: ConvPadding, options: ConvOptions = {}): Tensor {
  const o = optionsArg(options, WHO)
  const [x, w] = convOperands(lhs, rhs, WHO)
  const nsp = x.ndim - 2
  const list = (v: readonly number[] | null | undefined, name: string) => {
    const xs = v === undefined || v === null ? new Array<number>(nsp).fill(1) : intArray(v, `${WHO}: ${name}`)
    if (xs.length !== nsp) throw codedError('E_ARG', `${WHO}: ${name} has ${xs.length} entries; expected one per spatial axis (${nsp})`)
    if (xs.some((v) => v < 1)) throw codedError('E_ARG', `${WHO}: ${name} must be positive integers, got ${JSON.stringify(xs)}`)
    return xs
  }
  const strides = list(windowStrides, 'windowStrides')
  const lhsDil = list(o.lhsDilation, 'lhsDilation')
  const rhsDil = list(o.rhsDilation, 'rhsDilation')
  const groups = o.featureGroupCount ?? 1
  if (!Number.isInteger(groups) || groups < 1) throw codedTypeError(`${WHO}: featureGroupCount must be a positive integer, got ${describe(groups)}`)
  if ((o.batchGroupCount ?? 1) !== 1) throw codedError('E_ARG', `${WHO}: batchGroupCount must be 1 (other values are not supported), got ${describe(o.batchGroupCount)}`)
  const dn = dimensionNumbers(o.dimensionNumbers, x.ndim)
  // Channels-last operands: lhs [N, spatial..., C], rhs [spatial..., I, O].
  const sp = (spec: readonly number[]) => spec.slice(2)
  const lhsPerm = [dn.lhsSpec[0], ...sp(dn.lhsSpec), dn.lhsSpec[1]]
  const rhsPerm = [...sp(dn.rhsSpec), dn.rhsSpec[1], dn.rhsSpec[0]]
  let pads: [number, number][]
  if (typeof padding === 'string') {
    if (lhsDil.some((d) => d !== 1)) {
      throw new ValueError('String padding is not implemented for transposed convolution using this op. Please either exactly specify the required padding or use conv_transpose.')
    }
    const inShape = sp(dn.lhsSpec).map((a) => x.shape[a])
    const window = sp(dn.rhsSpec).map((a, i) => (w.shape[a] - 1) * rhsDil[i] + 1)
    pads = padtypeToPads(inShape, window, strides, padding)
  } else {
    if (!Array.isArray(padding) || padding.length !== nsp) {
      throw codedTypeError(`${WHO}: padding must be 'SAME', 'SAME_LOWER', 'VALID' or ${nsp} (lo, hi) pairs, got ${describe(padding)}`)
    }
    pads = padding.map((p, i) => intArray(p, `${WHO}: padding[${i}]`) as unknown as [number, number])
    pads.forEach((p, i) => {
      if (p.length !== 2) throw codedError('E_ARG', `${WHO}: padding[${i}] must be a (lo, hi) pair, got ${JSON.stringify(p)}`)
    })
  }
  const temps: Tensor[] = []
  const permuted = (t: Tensor, perm: number[]) => {
    if (perm.every((a, i) => a === i)) return t
    const p = jnp.transpose(t, perm)
    temps.push(p)
    return p
  }
  try {
    const xl = permuted(x, lhsPerm)
    const wl = permuted(w, rhsPerm)
    const y = new Tensor(op1(opCode('conv_general_dilated'), xl.handle, wl.handle, strides, pads.flat(), lhsDil, rhsDil, groups))
    // The channels-last result holds logical axis j (N, C, spatial...) at canon[j]; out axis
    // outSpec[j] must hold it.
    const canon = [0, nsp + 1, ...Array.from({ length: nsp }, (_, i) => 1 + i)]
    const back = new Array<number>(x.ndim)
    dn.outSpec.forEach((axis, j) => (back[axis] = canon[j]))
    if (back.every((a, i) => a === i)) return y
    temps.push(y)
    return jnp.transpose(y, back)
  } finally {
    for (const t of temps) t.dispose()
  }
}
