// PyTorch state dicts (`format: "pt"` safetensors) into Flax variables, by Hugging Face's rules
// (`convert_pytorch_state_dict_to_flax`): the target (a model's variables or the template
// `evalShape` gives) decides what each `weight` becomes. Linear `weight` → `kernel` transposed;
// conv OIHW → HWIO; norm `weight`/`gamma` → `scale`; `running_mean`/`running_var` →
// `batch_stats` `mean`/`var`; embeddings keep their layout; `num_batches_tracked` is dropped.
// One addition: a PyTorch list index (`layers.0.weight`) also matches Flax's `layers_0`.
import { codedTypeError, optionsArg } from '../coded-error'
import { ValueError, shapeRepr } from '../errors'
import { transpose } from '../jnp'
import { ShapeDtypeStruct } from '../shape-dtype'
import { Tensor, describe } from '../tensor'
import { flattenDict, unflattenDict } from '../traverse-util'
import { isPlainObject } from '../tree'

export interface ConvertPytorchOptions {
  /** Hugging Face's `base_model_prefix`: a key may carry it or not on either side. */
  prefix?: string
}

type Leaf = Tensor | ShapeDtypeStruct
const SEP = '\u0000'

/** The target's leaves by path (joined with NUL), for `collection` (params or batch_stats). */
function leavesOf(target: Record<string, unknown>, collection: string): Map<string, Leaf> {
  const leaves = new Map<string, Leaf>()
  const c = target[collection]
  if (!isPlainObject(c)) return leaves
  for (const [p, v] of flattenDict(c)) if (v instanceof Tensor || v instanceof ShapeDtypeStruct) leaves.set(p.join(SEP), v)
  return leaves
}

const same = (t: Tensor) => t
/** OIHW → HWIO (and OIW → WIO, OIDHW → DHWIO): spatial axes in order, then in, then out. */
function convLayout(t: Tensor): Tensor {
  const spatial = Array.from({ length: t.ndim - 2 }, (_, i) => i + 2)
  return transpose(t, [...spatial, 1, 0])
}

/** A PyTorch list index joined to its list's name: ['layers', '0', 'weight'] → ['layers_0', 'weight']. */
function joinIndices(key: string[]): string[] {
  const out: string[] = []
  for (const k of key) {
    if (/^\d+$/.test(k) && out.length > 0) out[out.length - 1] += `_${k}`
    else out.push(k)
  }
  return out
}

/**
 * `state` (flat, PyTorch names: `{'encoder.fc1.weight': Tensor}`) as a Flax variables tree
 * (`{ params, batch_stats? }`) for `target`. Shapes are checked where the target has the key
 * (Hugging Face's ValueError); keys the target lacks are kept, renamed, so `fromStateDict`
 * reports them if they matter.
 */
export function convertPytorchStateDict(state: Record<string, Tensor>, target: Record<string, unknown>, options?: ConvertPytorchOptions): Record<string, any> {
  const { prefix } = optionsArg(options, 'convertPytorchStateDict')
  if (!isPlainObject(state)) throw codedTypeError(`convertPytorchStateDict: state must be a dict of tensors keyed by PyTorch names, got ${describe(state)}`)
  if (!isPlainObject(target)) throw codedTypeError(`convertPytorchStateDict: target must be a variables dict (or its evalShape template), got ${describe(target)}`)
  if (prefix !== undefined && typeof prefix !== 'string') throw codedTypeError(`convertPytorchStateDict: prefix must be a string, got ${describe(prefix)}`)
  const params = leavesOf(target, 'params')
  const stats = leavesOf(target, 'batch_stats')
  const known = (k: readonly string[]) => {
    const keys = prefix === undefined ? [k] : [k, [prefix, ...k]]
    return keys.some((key) => params.has(key.join(SEP)) || stats.has(key.join(SEP)))
  }
  const ptNames = Object.keys(state)
  const targetHasPrefix = prefix !== undefined && [...params.keys()].some((k) => k.split(SEP)[0] === prefix)
  const stateHasPrefix = prefix !== undefined && ptNames.some((k) => k.split('.')[0] === prefix)

  // The Flax key for a PyTorch key, and how the tensor's layout changes (applied once chosen).
  const rename = (key: string[], ndim: number): [string[], (t: Tensor) => Tensor] => {
    const last = key[key.length - 1]
    const as = (name: string) => [...key.slice(0, -1), name]
    if ((last === 'weight' || last === 'gamma') && known(as('scale'))) return [as('scale'), same]
    if (last === 'running_mean' && !known(key)) return [as('mean'), same]
    if (last === 'running_var' && !known(key)) return [as('var'), same]
    if (last === 'weight' && known(as('embedding'))) return [as('embedding'), same]
    if (last === 'weight' && ndim >= 3 && !known(key)) return [as('kernel'), convLayout]
    if (last === 'weight' && !known(key)) return [as('kernel'), ndim === 2 ? (t) => transpose(t) : same]
    if (last === 'gamma') return [as('weight'), same]
    if (last === 'beta') return [as('bias'), same]
    // torch.nn.utils.parametrizations.weight_norm
    if (key.length >= 3 && key[key.length - 3] === 'parametrizations' && (last === 'original0' || last === 'original1')) {
      return [[...key.slice(0, -3), `${key[key.length - 2]}${last === 'original0' ? '_g' : '_v'}`], same]
    }
    return [key, same]
  }

  const converted = new Map<string[], Tensor>()
  for (const ptName of ptNames) {
    const value = state[ptName]
    if (!(value instanceof Tensor)) throw codedTypeError(`convertPytorchStateDict: state['${ptName}'] must be a Tensor, got ${describe(value)}`)
    let key = ptName.split('.')
    if (!targetHasPrefix && stateHasPrefix && key[0] === prefix) key = key.slice(1)
    const joined = joinIndices(key)
    if (!known(rename(key, value.ndim)[0]) && known(rename(joined, value.ndim)[0])) key = joined
    let [flaxKey, layout] = rename(key, value.ndim)
    if (targetHasPrefix && !stateHasPrefix && params.has([prefix!, ...flaxKey].join(SEP))) flaxKey = [prefix!, ...flaxKey]
    const last = flaxKey[flaxKey.length - 1]
    if (last === 'num_batches_tracked') continue
    const isStat = stats.size > 0 && (last === 'mean' || last === 'var') && !params.has(flaxKey.join(SEP))
    const tensor = layout(value)
    const expected = (isStat ? stats : params).get(flaxKey.join(SEP))
    if (expected !== undefined && (expected.shape.length !== tensor.ndim || expected.shape.some((d, i) => d !== tensor.shape[i]))) {
      throw new ValueError(`PyTorch checkpoint seems to be incorrect. Weight ${ptName} was expected to be of shape ${shapeRepr(expected.shape)}, but is ${shapeRepr(tensor.shape)}.`)
    }
    converted.set([isStat ? 'batch_stats' : 'params', ...flaxKey], tensor)
  }
  return unflattenDict(converted)
}
