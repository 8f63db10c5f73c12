// Flax's `lazy_init`: a module's real variables without the input-dependent work of `init`.
// The call is traced with its ShapeDtypeStruct arguments abstract; then only the ops the
// variables need run, from the concrete values (keys, tensors) alone (`plan::eval_known`). A
// variable that depends on an abstract argument is Flax's LazyInitError.
import { LazyInitError } from './errors'
import { native } from './native'
import { Key } from './random'
import { Tensor } from './tensor'
import { callTraced, fill, flattenAbstract } from './trace-args'

/** `fn(...args)` with every tensor of its result computed, its ShapeDtypeStruct arguments never given values. */
export function lazyEval<T>(fn: (...a: any[]) => T, args: unknown[]): T {
  const tr = native.traceBegin(true)
  let open = true
  try {
    const out = callTraced(tr, fn, flattenAbstract(args), 'lazyInit')
    // Tensors and keys made in the trace are computed; raw key words are values already.
    const traced = out.leaves.flatMap((l, i) => (l instanceof Tensor ? [[i, l] as const] : l instanceof Key && l.tensor !== undefined ? [[i, l.tensor] as const] : []))
    open = false
    const r = native.traceEvalKnown(tr, traced.map(([, t]) => t.handle))
    if (typeof r === 'number') {
      const t = traced[r][1]
      throw new LazyInitError(`ShapedArray(${t.dtype}[${t.shape.join(',')}])`)
    }
    const values: unknown[] = [...out.leaves]
    traced.forEach(([i], j) => (values[i] = out.leaves[i] instanceof Key ? new Key(new Tensor(r[j])) : new Tensor(r[j])))
    return fill(out.spec, values as (Tensor | Key)[]) as T
  } finally {
    if (open) native.traceAbort(tr)
  }
}
