// `nn.SpectralNorm` (flax.linen.SpectralNorm, spec d.4(2)): the wrapped layer computes with its
// matrices divided by their largest singular value, estimated by power iteration.
import type { Variables } from '../core/scope'
import { ValueError, PyTypeError } from '../errors'
import * as jnp from '../jnp'
import * as random from '../random'
import type { DType, Tensor } from '../tensor'
import { mapWithPath, type Path } from '../tree'
import { compact } from './compact'
import { Module, type MethodResult, type ModuleProps } from './module'
import { constructed } from './module-internals'
import { mapVariables } from './transforms'
import { checkedDtype, l2Normalize, leafPathName } from './norm-helpers'

export interface SpectralNormProps<L extends Module = Module> {
  /** The layer whose matrices are normalised (adopted as `layer_instance` when unbound). */
  layerInstance: L
  /** Power-iteration steps per call. */
  nSteps?: number
  epsilon?: number
  dtype?: DType | null
  paramDtype?: DType
  /** Throw for variables of more than 2 dims instead of flattening their leading dims. */
  errorOnNonMatrix?: boolean
  /** Where `u` and `sigma` are kept. */
  collectionName?: string
}

/** The last argument of `SpectralNorm.call`: Flax's required keyword `update_stats`, plus the layer's own keyword options. */
export interface SpectralNormCallOptions {
  updateStats: boolean
  [layerOption: string]: unknown
}

/**
 * Spectral normalisation: each variable of 2 or more dims (flattened to `(-1, last)`) is used
 * as `W / sigma`, sigma estimated by `nSteps` power iterations from the stored `u`. `u` and
 * `sigma` live in `collectionName` of the SpectralNorm itself, named after the leaf
 * (`batch_stats/SpectralNorm_0/'Dense_1/kernel/u'`); `u` starts as `normal(makeRng('params'))`,
 * sigma as 1. With `updateStats` both are stored (the collection must be mutable). Called as
 * `call(...layerArgs, { updateStats })`; during init the stored layer kernel is `W / sigma`.
 */
export class SpectralNorm<L extends Module = Module> extends Module<SpectralNormProps<L>> {
  static flaxFieldNames = { layerInstance: 'layer_instance' }

  layerInstance!: L
  nSteps = 1
  epsilon = 1e-12
  dtype: DType | null = null
  paramDtype: DType = 'float32'
  errorOnNonMatrix = false
  collectionName = 'batch_stats'

  constructor(props: ModuleProps<SpectralNormProps<L>>) {
    super(props)
    constructed(this, new.target, SpectralNorm)
  }

  /** The layer's arguments, then `{ updateStats }`; the layer's result. */
  @compact
  call(...argsAndOptions: [...unknown[], SpectralNormCallOptions]): MethodResult<L> {
    const options = argsAndOptions[argsAndOptions.length - 1] as SpectralNormCallOptions | undefined
    if (options === null || typeof options !== 'object' || typeof options.updateStats !== 'boolean') {
      throw new PyTypeError("SpectralNorm.call() missing 1 required keyword-only argument: 'updateStats' (pass { updateStats } last)")
    }
    const { updateStats, ...layerOptions } = options
    const args = argsAndOptions.slice(0, -1)
    if (Object.keys(layerOptions).length > 0) args.push(layerOptions)
    const layerForward = (layer: Module) => layer.call(...args)
    const transIn = (vs: Variables) => mapWithPath((path: Path, leaf: Tensor) => this._spectralNormalize(path, leaf, updateStats), vs)
    return mapVariables(layerForward, true, transIn, undefined, { init: this.isInitializing(), mutable: true })(this.layerInstance)
  }

  _spectralNormalize(path: Path, leaf: Tensor, updateStats: boolean): Tensor {
    const valueShape = leaf.shape
    // Scalars, vectors (biases) and nSteps < 1 pass through.
    if (leaf.ndim <= 1 || this.nSteps < 1) return leaf
    let value = leaf
    if (leaf.ndim > 2) {
      if (this.errorOnNonMatrix) throw new ValueError(`Input is ${leaf.ndim}D but error_on_non_matrix is True`)
      value = leaf.reshape([-1, leaf.shape[leaf.ndim - 1]])
    }
    const name = leafPathName(this.layerInstance, path)
    const uName = `${name}/u`
    // The key is drawn only when u does not exist yet (Flax evaluates the init args eagerly).
    const uKey = this.hasVariable(this.collectionName, uName) ? null : this.makeRng('params')
    const uVar = this.variable(this.collectionName, uName, (k: random.Key) => random.normal(k, [1, value.shape[1]]), uKey)
    let u0: Tensor = uVar.value
    const sigmaVar = this.variable(this.collectionName, `${name}/sigma`, () => jnp.ones([], this.paramDtype))
    let v0 = u0
    for (let i = 0; i < this.nSteps; i++) {
      v0 = l2Normalize(jnp.matmul(u0, jnp.transpose(value, [1, 0])), null, this.epsilon)
      u0 = l2Normalize(jnp.matmul(v0, value), null, this.epsilon)
    }
    const sigma = jnp.matmul(jnp.matmul(v0, value), jnp.transpose(u0)).reshape([])
    // Array / array: a true division (not a scalar reciprocal), as in Flax.
    const valueBar = jnp.divide(value, jnp.where(jnp.notEqual(sigma, 0), sigma, 1)).reshape(valueShape)
    if (updateStats) {
      uVar.value = u0
      sigmaVar.value = sigma
    }
    checkedDtype(this.dtype, 'SpectralNorm')
    return valueBar
  }
}
