// `flax.serialization`'s state dicts: a pytree as nested dicts of leaves (arrays become dicts
// keyed '0', '1', ...), and back into the shape of a target. Flax returns a state leaf as it is;
// flaxen also checks each tensor leaf's shape and dtype against the target (flax#2436 loads a
// wrong-shaped checkpoint silently), unless `strict: false`.
import { checkArrayLength, codedError, codedTypeError, optionsArg } from '../coded-error'
import { ValueError, pyRepr } from '../errors'
import { ShapeDtypeStruct } from '../shape-dtype'
import { Tensor, describe } from '../tensor'
import { MAX_TREE_DEPTH, isPlainObject } from '../tree'

export type StateDict = { [key: string]: StateDict | unknown }

/** A variables node: a tensor that is also a dict (as `nn.Variables` types them). */
type Node = Tensor & { [child: string]: Node }
/** What `fromStateDict` gives for a target `T`: its ShapeDtypeStructs (evalShape's) become tensors. */
export type Restored<T> = T extends ShapeDtypeStruct
  ? string extends keyof T
    ? Node
    : Tensor
  : T extends Tensor
    ? T
    : T extends readonly unknown[]
      ? { -readonly [K in keyof T]: Restored<T[K]> }
      : T extends (...args: any[]) => any
        ? T
        : T extends object
          ? { -readonly [K in keyof T]: Restored<T[K]> }
          : T

const path = (names: readonly string[]) => names.join('/')

function guard(names: readonly string[], seen: Set<object>, x: object, who: string): void {
  if (names.length > MAX_TREE_DEPTH) throw codedError('E_TREE', `${who}: the tree nests deeper than ${MAX_TREE_DEPTH} levels at ${path(names)}`)
  if (seen.has(x)) throw codedError('E_TREE', `${who}: the tree contains itself at ${path(names)}`)
}

/** `to_state_dict(target)`: dicts stay dicts, arrays become dicts keyed '0', '1', ...; leaves as they are. */
export function toStateDict(target: unknown): any {
  const seen = new Set<object>()
  const go = (x: unknown, names: string[]): unknown => {
    if (!Array.isArray(x) && !isPlainObject(x)) return x
    guard(names, seen, x, 'toStateDict')
    seen.add(x)
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(x)) out[k] = go(v, [...names, k])
    seen.delete(x)
    return out
  }
  return go(target, ['.'])
}

export interface FromStateDictOptions {
  /** The root's name in error paths (Flax's `name`, default '.'). */
  name?: string
  /** Check every tensor leaf's shape and dtype against the target's (default true). */
  strict?: boolean
}

const metaOf = (x: Tensor | ShapeDtypeStruct) => `shape [${x.shape.join(', ')}] (${x.dtype})`

/**
 * `from_state_dict(target, state)`: `state` rebuilt in the structure of `target` (a tree of
 * tensors or the ShapeDtypeStructs `evalShape` gives). Missing keys and wrong list lengths raise
 * Flax's ValueErrors; keys the target lacks are dropped, as in Flax.
 */
export function fromStateDict<T>(target: T, state: unknown, options?: FromStateDictOptions): Restored<T> {
  const { name = '.', strict = true } = optionsArg(options, 'fromStateDict')
  if (typeof name !== 'string') throw codedTypeError(`fromStateDict: name must be a string, got ${describe(name)}`)
  if (typeof strict !== 'boolean') throw codedTypeError(`fromStateDict: strict must be a boolean, got ${describe(strict)}`)
  const seen = new Set<object>()
  const go = (t: unknown, s: unknown, names: string[]): unknown => {
    const isList = Array.isArray(t)
    if (!isList && !isPlainObject(t)) return leaf(t, s, names)
    guard(names, seen, t as object, 'fromStateDict')
    if (!isPlainObject(s) && !Array.isArray(s)) {
      throw codedTypeError(`fromStateDict: at ${path(names)} the target is ${isList ? 'a list' : 'a dict'} but the state is ${describe(s)}`)
    }
    const st = s as Record<string, unknown>
    seen.add(t as object)
    try {
      if (isList) {
        checkArrayLength(t, `fromStateDict: the list at ${path(names)}`)
        const n = Object.keys(st).length
        if (n !== t.length) throw new ValueError(`The size of the list and the state dict do not match, got ${t.length} and ${n} at path ${path(names)}`)
        return t.map((v, i) => go(v, st[String(i)], [...names, String(i)]))
      }
      const keys = Object.keys(t as object)
      const missing = keys.filter((k) => !Object.hasOwn(st, k))
      if (missing.length > 0) {
        throw new ValueError(`The target dict keys and state dict keys do not match, target dict contains keys ${pyRepr(new Set(missing))} which are not present in state dict at path ${path(names)}`)
      }
      const out: Record<string, unknown> = {}
      for (const k of keys) out[k] = go((t as Record<string, unknown>)[k], st[k], [...names, k])
      return out
    } finally {
      seen.delete(t as object)
    }
  }
  const leaf = (t: unknown, s: unknown, names: string[]): unknown => {
    if (!strict || !(t instanceof Tensor || t instanceof ShapeDtypeStruct)) return s
    const at = path(names)
    if (!(s instanceof Tensor)) throw codedTypeError(`fromStateDict: at ${at} the target is a tensor of ${metaOf(t)}, the state has ${describe(s)}`)
    if (s.shape.length !== t.shape.length || s.shape.some((d, i) => d !== t.shape[i])) {
      throw codedError('E_SHAPE', `fromStateDict: at ${at} the state has ${metaOf(s)}, the target ${metaOf(t)}`)
    }
    if (s.dtype !== t.dtype) throw codedError('E_DTYPE', `fromStateDict: at ${at} the state has ${metaOf(s)}, the target ${metaOf(t)}`)
    return s
  }
  return go(target, state, [name]) as Restored<T>
}
