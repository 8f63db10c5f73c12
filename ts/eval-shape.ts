// `jax.eval_shape`: what `fn` would return, as ShapeDtypeStructs, found by tracing it without
// running a kernel or allocating a tensor. `evalShape(() => model.init(key, x))` is the template
// of a model's variables at no cost, ready for `serialization.fromStateDict`.
import { codedTypeError } from './coded-error'
import { native } from './native'
import { Key } from './random'
import { ShapeDtypeStruct } from './shape-dtype'
import { Tensor } from './tensor'
import { callTraced, flattenArgs, isSlot } from './trace-args'
import { isPlainObject } from './tree'

/** `T` with each tensor (and key) a ShapeDtypeStruct; other leaves as they are. */
export type Abstract<T> = T extends Tensor
  ? string extends keyof T
    ? ShapeDtypeStruct & { [child: string]: Abstract<T> }
    : ShapeDtypeStruct
  : T extends Key
    ? ShapeDtypeStruct
    : T extends readonly unknown[]
      ? { -readonly [K in keyof T]: Abstract<T[K]> }
      : T extends (...args: any[]) => any
        ? T
        : T extends object
          ? { -readonly [K in keyof T]: Abstract<T[K]> }
          : T

/** `fn`'s parameters, where any tensor in them may also be given as its ShapeDtypeStruct. */
export type AbstractArgs<P extends readonly unknown[]> = { [K in keyof P]: P[K] | Abstract<P[K]> }

const NONE = { statics: new Set<number>(), names: new Set<string>(), donated: new Set<number>() }

/**
 * The shapes and dtypes of `fn(...args)`. Tensors, ShapeDtypeStructs and keys among the
 * arguments (anywhere in their trees) are abstract; every other leaf is passed as it is. Reading
 * a value inside `fn` throws `ConcretizationTypeError`, as in JAX.
 */
export function evalShape<F extends (...args: any[]) => any>(fn: F, ...args: AbstractArgs<Parameters<F>>): Abstract<ReturnType<F>> {
  if (typeof fn !== 'function') throw codedTypeError(`evalShape: fn must be a function, got ${typeof fn}`)
  const tr = native.traceBegin(true)
  try {
    const out = callTraced(tr, fn, flattenArgs(args, NONE, true), 'evalShape')
    const metas = out.leaves.map((l) => (l instanceof Tensor || l instanceof ShapeDtypeStruct ? new ShapeDtypeStruct(l.shape, l.dtype) : new ShapeDtypeStruct([2], 'uint32')))
    const build = (spec: unknown): unknown => {
      if (isSlot(spec)) return metas[spec.i]
      if (Array.isArray(spec)) return spec.map(build)
      if (isPlainObject(spec)) return Object.fromEntries(Object.keys(spec).map((k) => [k, build(spec[k])]))
      return spec
    }
    return build(out.spec) as Abstract<ReturnType<F>>
  } finally {
    native.traceAbort(tr)
  }
}
