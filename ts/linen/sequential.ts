// `nn.Sequential(layers)` (flax.linen.Sequential, spec e.7): applies its layers in order.
import { ValueError } from '../errors'
import { compact } from './compact'
import { Module, type MethodArgs, type MethodResult, type ModuleProps } from './module'
import { constructed, isModule } from './module-internals'

/** A layer: a module (its `call` is used) or a function (which may create modules inline). */
export type SequentialLayer = Module | ((...args: any[]) => any)

type LayerArgs<L> = L extends Module ? MethodArgs<L> : L extends (...args: infer A) => any ? A : unknown[]
type LayerResult<L> = L extends Module ? MethodResult<L> : L extends (...args: any[]) => infer R ? R : unknown
/** The arguments of the first layer (a tuple of layers; any array: unknown). */
export type SequentialArgs<L extends readonly SequentialLayer[]> = L extends readonly [infer F, ...unknown[]] ? LayerArgs<F> : unknown[]
/** What the last layer returns. */
export type SequentialResult<L extends readonly SequentialLayer[]> = L extends readonly [...unknown[], infer Last] ? LayerResult<Last> : unknown

function typeName(x: unknown): string {
  if (x === null || x === undefined) return 'NoneType'
  if (typeof x === 'object') return (x as object).constructor?.name ?? 'object'
  return typeof x
}

function callLayer(layer: SequentialLayer, args: unknown[]): unknown {
  return isModule(layer) ? (layer as Module).call(...args) : (layer as (...a: unknown[]) => unknown)(...args)
}

/**
 * Unbound modules in `layers` are adopted as `layers_0`, `layers_1`, ... (their index, counting
 * non-module entries too); modules created by function layers during the call are compact
 * children (`Dense_0`, ...). The first layer receives all arguments; after that an array output
 * is spread over the next layer's arguments (Flax: a tuple), anything else — including a plain
 * object, the JS form of Flax's keyword arguments — is passed as the single argument.
 */
export class Sequential<const L extends readonly SequentialLayer[] = readonly SequentialLayer[]> extends Module<{ layers: L }> {
  layers!: L

  constructor(props: ModuleProps<{ layers: L }>) {
    if (!Array.isArray(props?.layers)) throw new ValueError(`'layers' must be a sequence, got '${typeName(props?.layers)}'.`)
    super(props)
    constructed(this, new.target, Sequential)
  }

  // Typed from the layers: the first layer's arguments, the last layer's result.
  @compact
  call(...args: SequentialArgs<L>): SequentialResult<L> {
    if (this.layers.length === 0) throw new ValueError(`Empty Sequential module ${this.name ?? 'None'}.`)
    let outputs = callLayer(this.layers[0], args)
    for (const layer of this.layers.slice(1)) outputs = callLayer(layer, Array.isArray(outputs) ? outputs : [outputs])
    return outputs as SequentialResult<L>
  }
}
