// jnp.tidy: free every tensor created inside a function except what it returns.
// Tensors register with the innermost open scope when they are made; nothing is tracked outside
// tidy, so the common path costs one array-length check.

interface Disposable {
  dispose(): void
}

const scopes: Disposable[][] = []

/** @internal Called by the Tensor constructor. */
export function track(t: Disposable): void {
  if (scopes.length > 0) scopes[scopes.length - 1].push(t)
}

function collectKept(x: unknown, kept: Set<unknown>, seen: Set<unknown>): void {
  if (x === null || typeof x !== 'object' || seen.has(x)) return
  seen.add(x)
  if (typeof (x as Disposable).dispose === 'function' && !(Symbol.iterator in (x as object))) {
    kept.add(x)
    return
  }
  const values = x instanceof Map ? x.values() : Array.isArray(x) ? x : Object.values(x)
  for (const v of values) collectKept(v, kept, seen)
}

export function tidy<T>(fn: () => T): T {
  if (typeof fn !== 'function') {
    const err = new TypeError(`tidy: expected a function, got ${typeof fn}`) as TypeError & { code: string }
    err.code = 'E_TYPE'
    throw err
  }
  const scope: Disposable[] = []
  scopes.push(scope)
  let result: T
  try {
    result = fn()
  } catch (e) {
    scopes.pop()
    for (const t of scope) t.dispose()
    throw e
  }
  scopes.pop()
  const kept = new Set<unknown>()
  collectKept(result, kept, new Set())
  const outer = scopes.length > 0 ? scopes[scopes.length - 1] : undefined
  for (const t of scope) {
    if (kept.has(t)) outer?.push(t)
    else t.dispose()
  }
  return result
}
