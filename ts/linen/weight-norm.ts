// `nn.WeightNorm` (flax.linen.WeightNorm, spec d.4(1)): the wrapped layer computes with
// l2-normalised, learnably scaled weights, through `nn.mapVariables`.
import type { Variables } from '../core/scope'
import * as jnp from '../jnp'
import type { DType, Tensor } from '../tensor'
import { mapWithPath, type Path } from '../tree'
import { compact } from './compact'
import { type Initializer, ones } from './initializers'
import { Module, type MethodArgs, type MethodResult, type ModuleProps } from './module'
import { constructed } from './module-internals'
import { canonicalizeAxes, checkedDtype, l2Normalize, leafPathName } from './norm-helpers'
import { mapVariables } from './transforms'

export interface WeightNormProps<L extends Module = Module> {
  /** The layer whose variables are normalised (adopted as `layer_instance` when unbound). */
  layerInstance: L
  epsilon?: number
  dtype?: DType | null
  paramDtype?: DType
  useScale?: boolean
  scaleInit?: Initializer
  /** Axes with one norm (and one scale) each; the norm reduces over the others. null: one norm over all axes. */
  featureAxes?: number | readonly number[] | null
  /** Only leaves whose path name contains one of these strings are normalised; empty or null: all. */
  variableFilter?: Iterable<string> | null
}

/**
 * Weight normalisation: each selected variable `v` of the layer is used as
 * `scale * v / ||v||` (norm over the non-feature axes). The scales are params of the WeightNorm
 * itself named after the leaf, e.g. `params/WeightNorm_0/'Dense_1/kernel/scale'`; the layer's
 * own variables stay at the layer's path. During init the stored layer variables are the
 * normalised ones (mapVariables with init=true publishes the mapped values).
 */
export class WeightNorm<L extends Module = Module> extends Module<WeightNormProps<L>> {
  static flaxFieldNames = { layerInstance: 'layer_instance' }

  layerInstance!: L
  epsilon = 1e-12
  dtype: DType | null = null
  paramDtype: DType = 'float32'
  useScale = true
  scaleInit: Initializer = ones
  featureAxes: number | readonly number[] | null = -1
  variableFilter: Iterable<string> | null = ['kernel']

  constructor(props: ModuleProps<WeightNormProps<L>>) {
    super(props)
    constructed(this, new.target, WeightNorm)
  }

  /** The layer's call, on normalised variables: its arguments and result. */
  @compact
  call(...args: MethodArgs<L>): MethodResult<L> {
    const layerForward = (layer: Module) => layer.call(...(args as unknown[]))
    const transIn = (vs: Variables) => mapWithPath((path: Path, leaf: Tensor) => this._l2Normalize(path, leaf), vs)
    return mapVariables(layerForward, true, transIn, undefined, { init: this.isInitializing() })(this.layerInstance)
  }

  _l2Normalize(path: Path, value: Tensor): Tensor {
    const strPath = leafPathName(this.layerInstance, path)
    const filter = this.variableFilter === null ? [] : [...this.variableFilter]
    if (filter.length > 0 && !filter.some((name) => strPath.includes(name))) return value
    const featureAxes = this.featureAxes === null ? [] : canonicalizeAxes(value.ndim, this.featureAxes)
    const reductionAxes = [...Array(value.ndim).keys()].filter((i) => !featureAxes.includes(i))
    const featureShape = new Array<number>(value.ndim).fill(1)
    const reducedFeatureShape: number[] = []
    for (const ax of featureAxes) {
      featureShape[ax] = value.shape[ax]
      reducedFeatureShape.push(value.shape[ax])
    }
    let valueBar = l2Normalize(value, reductionAxes, this.epsilon)
    if (this.useScale) {
      const scale: Tensor = this.param(`${strPath}/scale`, this.scaleInit, reducedFeatureShape, this.paramDtype)
      valueBar = jnp.multiply(valueBar, scale.reshape(featureShape))
    }
    checkedDtype(this.dtype, 'WeightNorm')
    return valueBar
  }
}
