// jnp.einsum: Einstein summation composed of existing jnp ops (transpose, reshape, take, sum,
// multiply, matmul); no JS loop ever reads tensor data, so it traces under `jit` like any op.
import { codedError, codedTypeError, optionsArg, showShape } from './coded-error'
import { array, matmul, multiply, notEqual, sum, take, transpose } from './jnp'
import { Tensor, describe, isFloatDtype, type DType } from './tensor'

export interface EinsumOptions {
  /**
   * JAX's `preferred_element_type`: the result's dtype (float32, float16 or bfloat16). When set,
   * every operand is read as float32 (integers too), all products and sums are float32, and the
   * result is rounded to this dtype once at the end. null (the default) keeps JAX's dtype: the
   * operands' float dtype, or their shared integer dtype.
   */
  preferredElementType?: DType | null
  /**
   * Accepted for JAX compatibility and ignored: the contraction order is always the greedy one
   * described on `einsum`.
   */
  optimize?: unknown
}

/** One operand (or intermediate) and the label of each of its axes. */
interface Term {
  t: Tensor
  labels: string[]
  /** Made here (disposed when replaced), as opposed to a caller's operand. */
  owned: boolean
}

/**
 * jnp.einsum: `einsum('ij,jk->ik', a, b)`, numpy's subscripts.
 *
 * - Explicit (`'ij,jk->ik'`) and implicit (`'ij,jk'`: the output is `...` then the letters that
 *   appear exactly once, in ASCII order, so upper case before lower case) modes; spaces are
 *   ignored.
 * - `...` stands for broadcast batch axes (aligned from the right across operands, size 1
 *   broadcasting); in explicit mode without `...` in the output, those axes are summed.
 * - A letter repeated in one operand takes the diagonal (`'ii->i'`; `'ii'` is the trace); a
 *   letter used by one operand only and absent from the output is summed first. A size-1 axis
 *   broadcasts against the same letter's larger size in other operands.
 * - Several operands are contracted two at a time in greedy order (opt_einsum's greedy rule):
 *   among the pairs sharing a letter (every pair when none does), the one whose result is
 *   smallest relative to its two inputs (`size(result) - size(a) - size(b)`), the first such
 *   pair on ties. Each contraction is one `matmul` of `[batch, M, K] × [batch, K, N]` after
 *   moving the axes into place, so float sums round as the GEMM does (within float32 rounding
 *   of JAX's); pairs with nothing to contract multiply with broadcasting (exact, as JAX).
 * - Dtypes: float operands (any mix of float32/float16/bfloat16) give matmul's dtype; integer
 *   or bool operands must all share one dtype and stay in it, exact and wrapping, as `dot`
 *   (broadcast products summed: no GEMM for integers; bool is "any of the ands"). A mix of
 *   integer and float operands is refused (E_DTYPE), as `dot` refuses it; cast with `astype`.
 *
 * A trailing options object takes `preferredElementType` (and `optimize`, ignored).
 */
export function einsum(subscripts: string, ...operands: Tensor[]): Tensor
export function einsum(subscripts: string, ...operandsAndOptions: [...Tensor[], EinsumOptions]): Tensor
export function einsum(subscripts: string, ...args: (Tensor | EinsumOptions)[]): Tensor {
  if (typeof subscripts !== 'string') throw codedTypeError(`einsum: subscripts must be a string such as 'ij,jk->ik', got ${describe(subscripts)}`)
  let options: EinsumOptions = {}
  if (args.length > 0 && !(args[args.length - 1] instanceof Tensor)) {
    const last = args[args.length - 1]
    if (last !== null && typeof last === 'object' && !Array.isArray(last) && !ArrayBuffer.isView(last)) {
      options = optionsArg(last as EinsumOptions, 'einsum')
      args = args.slice(0, -1)
    }
  }
  const operands = args.map((x, i) => {
    if (x instanceof Tensor) return x
    throw codedTypeError(`einsum: operands[${i}] must be a Tensor, got ${describe(x)}`)
  })
  const preferred = options.preferredElementType ?? null
  if (preferred !== null && !isFloatDtype(preferred)) {
    throw codedError('E_DTYPE', `einsum: preferredElementType must be float32, float16 or bfloat16, got ${typeof preferred === 'string' ? preferred : describe(preferred)}`)
  }

  const spec = parse(subscripts, operands)
  const dtype = workingDtype(operands, preferred)
  const terms: Term[] = operands.map((t, i) => ({ t, labels: spec.inputs[i], owned: false }))
  try {
    if (preferred !== null) for (const term of terms) if (term.t.dtype !== 'float32') replace(term, term.t.astype('float32'), term.labels)
    for (const term of terms) {
      diagonals(term)
      // A size-1 axis whose letter is larger elsewhere broadcasts: drop it from this operand.
      const ones = term.labels.flatMap((l, ax) => (term.t.shape[ax] === 1 && spec.sizes.get(l)! > 1 ? [ax] : []))
      if (ones.length > 0) {
        const keep = term.labels.filter((_, ax) => !ones.includes(ax))
        replace(term, term.t.reshape(keep.map((l) => spec.sizes.get(l)!)), keep)
      }
    }
    // Indices of one operand only, not in the output: summed before any product.
    if (terms.length > 1) {
      terms.forEach((term, k) => {
        const needed = new Set(spec.output)
        terms.forEach((other, m) => {
          if (m !== k) for (const l of other.labels) needed.add(l)
        })
        sumUnneeded(term, needed, dtype)
      })
    }
    while (terms.length > 1) {
      const [i, j] = pickPair(terms, spec)
      const needed = new Set(spec.output)
      terms.forEach((term, k) => {
        if (k !== i && k !== j) for (const l of term.labels) needed.add(l)
      })
      const out = contractPair(terms[i], terms[j], needed, spec.sizes, dtype)
      for (const k of [j, i]) {
        if (terms[k].owned) terms[k].t.dispose()
        terms.splice(k, 1)
      }
      terms.splice(i, 0, out)
    }
    const last = terms[0]
    sumUnneeded(last, new Set(spec.output), dtype)
    const perm = spec.output.map((l) => last.labels.indexOf(l))
    if (perm.some((p, k) => p !== k)) replace(last, transpose(last.t, perm), spec.output)
    // Never hand back the caller's tensor itself (`einsum('ij', x)`): a copy, as JAX's is new.
    if (!last.owned) replace(last, last.t.astype(last.t.dtype), last.labels)
    if (preferred !== null && last.t.dtype !== preferred) replace(last, last.t.astype(preferred), last.labels)
    terms.length = 0
    return last.t
  } finally {
    for (const term of terms) if (term.owned) term.t.dispose()
  }
}

interface Spec {
  /** Each operand's axis labels: letters, and `.0`, `.1`, ... for the broadcast `...` axes. */
  inputs: string[][]
  output: string[]
  /** Every label's size (the largest over the operands: size 1 broadcasts). */
  sizes: Map<string, number>
}

/** Checks the subscripts against the operands and labels every axis. */
function parse(subscripts: string, operands: Tensor[]): Spec {
  const s = subscripts.replace(/\s+/g, '')
  const quoted = `'${subscripts}'`
  const bad = /[^a-zA-Z,.\->]/.exec(s)
  if (bad !== null) {
    throw codedError('E_ARG', `einsum: subscripts ${quoted} contain '${bad[0]}'; expected letters a-z and A-Z, ',' between operands, '...' and one '->'`)
  }
  const halves = s.split('->')
  if (halves.length > 2) throw codedError('E_ARG', `einsum: subscripts ${quoted} contain '->' ${halves.length - 1} times; expected at most one`)
  if (/[->]/.test(halves.join(''))) throw codedError('E_ARG', `einsum: subscripts ${quoted} contain a '-' or '>' outside '->'`)
  const explicit = halves.length === 2
  if (explicit && halves[1].includes(',')) throw codedError('E_ARG', `einsum: the output subscripts '${halves[1]}' in ${quoted} contain ','; expected one output`)
  const terms = halves[0].split(',')
  if (terms.length !== operands.length) {
    throw codedError('E_ARG', `einsum: subscripts ${quoted} name ${terms.length} operand${terms.length === 1 ? '' : 's'} but ${operands.length} ${operands.length === 1 ? 'was' : 'were'} given`)
  }
  const split = (term: string, what: string): { head: string[]; tail: string[] | null } => {
    const parts = term.split('...')
    if (parts.length > 2) throw codedError('E_ARG', `einsum: ${what} '${term}' in ${quoted} has more than one '...'`)
    if (parts.some((p) => p.includes('.'))) throw codedError('E_ARG', `einsum: ${what} '${term}' in ${quoted} has a '.' outside '...'`)
    return { head: [...parts[0]], tail: parts.length === 2 ? [...parts[1]] : null }
  }

  // The `...` axes: each operand's are aligned from the right with the longest.
  const parsed = terms.map((term, i) => split(term, `the subscripts of operands[${i}]`))
  const ellRanks = parsed.map(({ head, tail }, i) => {
    const shape = operands[i].shape
    const letters = head.length + (tail?.length ?? 0)
    const what = `einsum: operands[${i}] has shape ${showShape(shape)} (${shape.length} dimension${shape.length === 1 ? '' : 's'})`
    if (tail === null && letters !== shape.length) throw codedError('E_SHAPE', `${what} but its subscripts '${terms[i]}' in ${quoted} name ${letters}`)
    if (tail !== null && letters > shape.length) throw codedError('E_SHAPE', `${what} but its subscripts '${terms[i]}' in ${quoted} name ${letters} besides '...'`)
    return tail === null ? 0 : shape.length - letters
  })
  const ell = Math.max(0, ...ellRanks)
  const inputs = parsed.map(({ head, tail }, i) => {
    if (tail === null) return head
    const e = ellRanks[i]
    return [...head, ...Array.from({ length: e }, (_, k) => `.${ell - e + k}`), ...tail]
  })

  // Sizes: equal, or 1 (broadcast); a letter repeated in one operand takes equal sizes only.
  const sizes = new Map<string, number>()
  const from = new Map<string, number>()
  inputs.forEach((labels, i) => {
    const shape = operands[i].shape
    labels.forEach((l, ax) => {
      const n = shape[ax]
      const first = labels.indexOf(l)
      if (first !== ax && shape[first] !== n) {
        throw codedError('E_SHAPE', `einsum: index '${l}' repeats in operands[${i}] (subscripts '${terms[i]}', shape ${showShape(shape)}) with sizes ${shape[first]} and ${n}; a repeated index takes the diagonal and needs equal sizes`)
      }
      const m = sizes.get(l)
      if (m === undefined || m === 1) {
        if (m === undefined || n !== 1) {
          sizes.set(l, n)
          from.set(l, i)
        }
      } else if (n !== 1 && n !== m) {
        const j = from.get(l)!
        const name = l.startsWith('.') ? `the '...' dimensions` : `index '${l}'`
        const sizesOf = l.startsWith('.') ? `they do not broadcast` : `sizes ${m} and ${n} differ`
        throw codedError('E_SHAPE', `einsum: ${name} of operands[${j}] (shape ${showShape(operands[j].shape)}) and operands[${i}] (shape ${showShape(shape)}) in ${quoted}: ${sizesOf}`)
      }
    })
  })

  const ellLabels = Array.from({ length: ell }, (_, k) => `.${k}`)
  let output: string[]
  if (explicit) {
    const { head, tail } = split(halves[1], 'the output subscripts')
    for (const [k, l] of [...head, ...(tail ?? [])].entries()) {
      if (!sizes.has(l)) throw codedError('E_ARG', `einsum: output index '${l}' in ${quoted} appears in no input subscripts`)
      if ([...head, ...(tail ?? [])].indexOf(l) !== k) throw codedError('E_ARG', `einsum: output index '${l}' in ${quoted} appears more than once; each output index must be unique`)
    }
    output = tail === null ? head : [...head, ...ellLabels, ...tail]
  } else {
    const counts = new Map<string, number>()
    for (const labels of parsed) for (const l of [...labels.head, ...(labels.tail ?? [])]) counts.set(l, (counts.get(l) ?? 0) + 1)
    const once = [...counts.keys()].filter((l) => counts.get(l) === 1).sort() // UTF-16 order: A-Z before a-z
    output = [...ellLabels, ...once]
  }
  return { inputs, output, sizes }
}

/**
 * The dtype products are formed in: float32 with `preferredElementType`; else the float dtypes
 * are left to matmul, and integers (or bool) must share one dtype, which the result keeps.
 */
function workingDtype(operands: Tensor[], preferred: DType | null): DType | null {
  if (preferred !== null) return null
  const ints = operands.filter((t) => !isFloatDtype(t.dtype))
  if (ints.length === 0) return null
  const dts = [...new Set(operands.map((t) => t.dtype))]
  if (dts.length > 1) {
    throw codedError('E_DTYPE', `einsum: operands have dtypes ${operands.map((t, i) => `operands[${i}] ${t.dtype}`).join(', ')}; integer and bool operands must all share one dtype and cannot mix with floats (cast with astype, or pass preferredElementType)`)
  }
  return dts[0]
}

/** Replaces a term's tensor (disposing the old one if it was made here). */
function replace(term: Term, t: Tensor, labels: string[]): void {
  if (term.owned) term.t.dispose()
  term.t = t
  term.labels = labels
  term.owned = true
}

/** An integer result back in the operands' dtype (sum widens; bool is `!= 0`), as jnp's dot. */
function restore(term: Term, dtype: DType | null): void {
  if (dtype === null || term.t.dtype === dtype) return
  replace(term, dtype === 'bool' ? notEqual(term.t, 0) : term.t.astype(dtype), term.labels)
}

/** Moves `labels`' axes into that order (a no-op when they already are). */
function arrange(term: Term, labels: string[]): void {
  const perm = labels.map((l) => term.labels.indexOf(l))
  if (perm.some((p, k) => p !== k)) replace(term, transpose(term.t, perm), labels)
}

/**
 * Takes the diagonal of every letter repeated in the term: its r axes moved last, flattened to
 * n^r entries, and entries i·(1 + n + ... + n^(r-1)) taken, one axis with the letter left.
 */
function diagonals(term: Term): void {
  for (;;) {
    const l = term.labels.find((x, k) => term.labels.indexOf(x) !== k)
    if (l === undefined) return
    const axes = term.labels.flatMap((x, ax) => (x === l ? [ax] : []))
    const restAxes = term.labels.flatMap((x, ax) => (x === l ? [] : [ax]))
    const rest = restAxes.map((ax) => term.labels[ax])
    const n = term.t.shape[axes[0]]
    const restShape = restAxes.map((ax) => term.t.shape[ax])
    const perm = [...restAxes, ...axes]
    if (perm.some((p, k) => p !== k)) replace(term, transpose(term.t, perm), perm.map((ax) => term.labels[ax]))
    replace(term, term.t.reshape([...restShape, n ** axes.length]), [...rest, l])
    let step = 0
    for (let k = 0; k < axes.length; k++) step += n ** k
    const idx = array(Int32Array.from({ length: n }, (_, i) => i * step), 'int32')
    try {
      replace(term, take(term.t, idx, rest.length), [...rest, l])
    } finally {
      idx.dispose()
    }
  }
}

/** Sums out the term's axes whose labels are not in `needed`. */
function sumUnneeded(term: Term, needed: Set<string>, dtype: DType | null): void {
  const axes = term.labels.flatMap((l, ax) => (needed.has(l) ? [] : [ax]))
  if (axes.length === 0) return
  replace(term, sum(term.t, axes), term.labels.filter((l) => needed.has(l)))
  restore(term, dtype)
}

const sizeOf = (labels: Iterable<string>, sizes: Map<string, number>): number => {
  let n = 1
  for (const l of labels) n *= sizes.get(l)!
  return n
}

/** The next pair to contract: opt_einsum's greedy rule (see `einsum`). */
function pickPair(terms: Term[], spec: Spec): [number, number] {
  const candidates: [number, number][] = []
  for (let i = 0; i < terms.length; i++) for (let j = i + 1; j < terms.length; j++) candidates.push([i, j])
  const shares = candidates.filter(([i, j]) => terms[i].labels.some((l) => terms[j].labels.includes(l)))
  const pool = shares.length > 0 ? shares : candidates
  let best = pool[0]
  let bestCost = Infinity
  for (const [i, j] of pool) {
    const needed = new Set(spec.output)
    terms.forEach((term, k) => {
      if (k !== i && k !== j) for (const l of term.labels) needed.add(l)
    })
    const kept = new Set([...terms[i].labels, ...terms[j].labels].filter((l) => needed.has(l)))
    const cost = sizeOf(kept, spec.sizes) - sizeOf(terms[i].labels, spec.sizes) - sizeOf(terms[j].labels, spec.sizes)
    if (cost < bestCost) {
      best = [i, j]
      bestCost = cost
    }
  }
  return best
}

/**
 * Contracts two terms into one labelled [batch..., a's own..., b's own...]: labels neither
 * needed later nor shared are summed first; shared labels needed later are batch axes, the
 * other shared ones are contracted by one matmul of [B, M, K] × [B, K, N] (floats), or by
 * broadcast products summed over K (integers, exact); with nothing to contract, a broadcast
 * multiply.
 */
function contractPair(x: Term, y: Term, needed: Set<string>, sizes: Map<string, number>, dtype: DType | null): Term {
  const a: Term = { ...x, owned: false }
  const b: Term = { ...y, owned: false }
  // `a` and `b` start as views of x and y, which the caller disposes; from here on whatever
  // they hold is made here.
  const sharedOrNeeded = (l: string, other: Term) => needed.has(l) || other.labels.includes(l)
  try {
    sumUnneeded(a, new Set(a.labels.filter((l) => sharedOrNeeded(l, b))), dtype)
    sumUnneeded(b, new Set(b.labels.filter((l) => sharedOrNeeded(l, a))), dtype)
    const batch = a.labels.filter((l) => b.labels.includes(l) && needed.has(l))
    const contracted = a.labels.filter((l) => b.labels.includes(l) && !needed.has(l))
    const ownA = a.labels.filter((l) => !b.labels.includes(l))
    const ownB = b.labels.filter((l) => !a.labels.includes(l))
    const dims = (ls: string[]) => ls.map((l) => sizes.get(l)!)
    const [nb, m, k, n] = [batch, ownA, contracted, ownB].map((ls) => sizeOf(ls, sizes))
    const labels = [...batch, ...ownA, ...ownB]
    let out: Tensor
    if (contracted.length === 0) {
      arrange(a, [...batch, ...ownA])
      arrange(b, [...batch, ...ownB])
      const a2 = a.t.reshape([...dims(batch), ...dims(ownA), ...ownB.map(() => 1)])
      const b2 = b.t.reshape([...dims(batch), ...ownA.map(() => 1), ...dims(ownB)])
      out = multiply(a2, b2)
      a2.dispose()
      b2.dispose()
    } else {
      arrange(a, [...batch, ...ownA, ...contracted])
      arrange(b, [...batch, ...contracted, ...ownB])
      if (dtype === null) {
        const lead = batch.length > 0 ? [nb] : []
        replace(a, a.t.reshape([...lead, m, k]), a.labels)
        replace(b, b.t.reshape([...lead, k, n]), b.labels)
        const prod = matmul(a.t, b.t)
        out = prod.reshape([...dims(batch), ...dims(ownA), ...dims(ownB)])
        prod.dispose()
      } else {
        replace(a, a.t.reshape([nb, m, k, 1]), a.labels)
        replace(b, b.t.reshape([nb, 1, k, n]), b.labels)
        const prods = multiply(a.t, b.t)
        const sums = sum(prods, 2)
        prods.dispose()
        out = sums.reshape([...dims(batch), ...dims(ownA), ...dims(ownB)])
        sums.dispose()
      }
    }
    const result: Term = { t: out, labels, owned: true }
    restore(result, dtype)
    return result
  } finally {
    if (a.owned) a.t.dispose()
    if (b.owned) b.t.dispose()
  }
}
