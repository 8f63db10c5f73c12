// jnp.einsum (ts/einsum.ts): a composition of jnp ops, checked against
//   (a) a naive reference written here (JS loops over the data, float64 sums) on random subscripts
//       from a seeded generator: 1-3 operands, ranks 0-4, repeated indices, '...', implicit
//       mode, size-1 broadcasting, spaces; float32 within 1e-5 of the sum of |terms|, int32 exact;
//   (b) JAX 0.10.2 goldens (scripts/golden/einsum.py → __test__/golden/einsum.json), within 1e-6
//       of the sum of |terms|. Bit for bit with JAX (asserted): the cases that only move data or
//       multiply without summing ('ii->i', '...ii->...i', 'ij->ji', 'ijk->kji', 'i,i->i',
//       'i,j->ij', 'ij,ij->ij') and the int32 contraction. Also bit for bit when this was written,
//       not asserted (they hang on the GEMM's summation order): 'ij,kj->ik', 'i,i', 'ij,j->i',
//       'bij,bjk->bik', 'ij,jk,kl->il', 'Ab,bC'. Within rounding only: the attention pair
//       'bqhd,bkhd->bhqk' / 'bhqk,bkhd->bqhd', '...d,df->...f', 'btd,de->bte', 'bqd,bkd',
//       '...ij,...jk->...ik', the size-1 'ij,jk->ik', 'ij,ij->' (a 1×12·12×1 GEMM), and the
//       sums 'ii' (the trace: take, then jnp.sum), 'ijk->', 'ijk->j' (summed in another order);
//   (c) jit(einsum) equal to eager einsum bit for bit;
//   (d) coded errors naming einsum;
//   (e) no native bytes left behind in eager mode (every intermediate disposed).
import test, { type ExecutionContext } from 'ava'
import { jit, jnp } from '../ts/index'
import { native } from '../ts/native'
import type { Tensor } from '../ts/tensor'
import { loadLocalGolden } from './helpers/golden'
import { assertSameBits } from './helpers/jit'

// ---- the reference ----------------------------------------------------------------------------

/** mulberry32: a small seeded PRNG, uniform in [0, 1). */
function prng(seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (s + 0x6d2b79f5) >>> 0
    let r = Math.imul(s ^ (s >>> 15), 1 | s)
    r = (r + Math.imul(r ^ (r >>> 7), 61 | r)) ^ r
    return ((r ^ (r >>> 14)) >>> 0) / 4294967296
  }
}

interface Ref {
  shape: number[]
  out: Float64Array
  /** Per output element, the sum of |terms| (the scale of float32 rounding error). */
  scale: Float64Array
}

/**
 * numpy's einsum by definition: every assignment of every index, the product of the operands'
 * entries (a size-1 axis reads entry 0: broadcasting), summed into the output entry. Parsed here
 * independently of ts/einsum.ts; '...' axes get labels outside a-zA-Z, aligned from the right.
 */
function reference(subscripts: string, shapes: number[][], data: ArrayLike<number>[]): Ref {
  const s = subscripts.replace(/ /g, '')
  const [lhs, rhs] = s.includes('->') ? s.split('->') : [s, null]
  const terms = lhs.split(',')
  const ellRank = terms.map((term, i) => (term.includes('...') ? shapes[i].length - (term.length - 3) : 0))
  const E = Math.max(0, ...ellRank)
  const ell = (e: number) => Array.from({ length: e }, (_, k) => String.fromCharCode(0x100 + E - e + k))
  const expand = (term: string, e: number) => {
    const [head, tail] = term.includes('...') ? term.split('...') : [term, null]
    return tail === null ? [...head] : [...head, ...ell(e), ...tail]
  }
  const ins = terms.map((term, i) => expand(term, ellRank[i]))
  let out: string[]
  if (rhs !== null) out = expand(rhs, E)
  else {
    const letters = terms.join('').replace(/\./g, '')
    out = [...ell(E), ...[...new Set(letters)].filter((c) => letters.split(c).length === 2).sort()]
  }
  const size = new Map<string, number>()
  ins.forEach((labels, i) => labels.forEach((l, ax) => size.set(l, Math.max(size.get(l) ?? 1, shapes[i][ax]))))
  const all = [...size.keys()]
  const outShape = out.map((l) => size.get(l)!)
  const outSize = outShape.reduce((a, b) => a * b, 1)
  const ref: Ref = { shape: outShape, out: new Float64Array(outSize), scale: new Float64Array(outSize) }
  const value = new Map<string, number>(all.map((l) => [l, 0]))
  const flat = (labels: string[], shape: number[]) => labels.reduce((f, l, ax) => f * shape[ax] + (shape[ax] === 1 ? 0 : value.get(l)!), 0)
  if (all.some((l) => size.get(l) === 0)) return ref
  for (;;) {
    let p = 1
    for (let i = 0; i < ins.length; i++) p *= data[i][flat(ins[i], shapes[i])]
    const o = flat(out, outShape)
    ref.out[o] += p
    ref.scale[o] += Math.abs(p)
    let k = all.length - 1
    for (; k >= 0; k--) {
      const l = all[k]
      value.set(l, value.get(l)! + 1)
      if (value.get(l)! < size.get(l)!) break
      value.set(l, 0)
    }
    if (k < 0) return ref
  }
}

// ---- the random cases -------------------------------------------------------------------------

interface Case {
  subscripts: string
  shapes: number[][]
  features: Set<string>
}

const LETTERS = 'abcdefgAB'

/** Random valid subscripts and operand shapes; the product of all index sizes stays small. */
function randomCase(rand: () => number): Case {
  const int = (n: number) => Math.floor(rand() * n)
  for (;;) {
    const features = new Set<string>()
    const nOps = 1 + int(3)
    const letters = [...LETTERS].sort(() => rand() - 0.5).slice(0, 1 + int(5))
    const size = new Map(letters.map((l) => [l, rand() < 0.15 ? 1 : 1 + int(4)]))
    const ellShape = Array.from({ length: int(3) }, () => 1 + int(3))
    const terms: string[] = []
    const shapes: number[][] = []
    let anyEll = false
    for (let i = 0; i < nOps; i++) {
      const useEll = rand() < 0.3
      const nLetters = int(useEll ? 4 : 5)
      const chosen = Array.from({ length: nLetters }, () => letters[int(letters.length)])
      if (new Set(chosen).size < chosen.length) features.add('repeated index')
      const shape = chosen.map((l) => {
        if (chosen.indexOf(l) === chosen.lastIndexOf(l) && size.get(l)! > 1 && rand() < 0.15) {
          features.add('size-1 broadcast')
          return 1
        }
        return size.get(l)!
      })
      let term = chosen.join('')
      if (useEll) {
        anyEll = true
        features.add('ellipsis')
        const e = int(ellShape.length + 1)
        const dims = ellShape.slice(ellShape.length - e).map((n) => (n > 1 && rand() < 0.2 ? 1 : n))
        const at = int(chosen.length + 1)
        term = chosen.slice(0, at).join('') + '...' + chosen.slice(at).join('')
        shape.splice(at, 0, ...dims)
      }
      terms.push(term)
      shapes.push(shape)
    }
    let subscripts = terms.join(',')
    if (rand() < 0.3) features.add('implicit')
    else {
      const used = [...new Set(terms.join('').replace(/\./g, ''))].sort(() => rand() - 0.5)
      const out = used.slice(0, int(used.length + 1))
      if (anyEll && rand() < 0.7) out.splice(int(out.length + 1), 0, '...')
      subscripts += '->' + out.join('')
    }
    if (rand() < 0.2) {
      const at = int(subscripts.length + 1)
      subscripts = subscripts.slice(0, at) + ' ' + subscripts.slice(at)
    }
    if (rank(shapes) > 4) continue // ranks 0-4 for the operands ('...' included)
    const work = [...size.values(), ...ellShape].reduce((a, b) => a * b, 1)
    if (work > 3000) continue
    features.add(`${nOps} operand${nOps > 1 ? 's' : ''}`)
    return { subscripts, shapes, features }
  }
}

const rank = (shapes: number[][]) => Math.max(0, ...shapes.map((s) => s.length))

function tensorOf(data: Float32Array | Int32Array, shape: number[]): Tensor {
  return jnp.array(data).reshape(shape)
}

function checkClose(t: ExecutionContext, got: Tensor, ref: Ref, rel: number, what: string): boolean {
  if (JSON.stringify([...got.shape]) !== JSON.stringify(ref.shape)) {
    t.fail(`${what}: shape ${JSON.stringify(got.shape)}, expected ${JSON.stringify(ref.shape)}`)
    return false
  }
  const d = got.data
  for (let i = 0; i < ref.out.length; i++) {
    if (!(Math.abs(d[i] - ref.out[i]) <= rel * ref.scale[i] + 1e-30)) {
      t.fail(`${what}: entry ${i} is ${d[i]}, expected ${ref.out[i]} (sum of |terms| ${ref.scale[i]})`)
      return false
    }
  }
  return true
}

const N_RANDOM = 320

test(`${N_RANDOM} random subscripts (float32): the naive reference within 1e-5 of the sum of |terms|`, (t) => {
  const rand = prng(20240611)
  const seen = new Map<string, number>()
  let passed = 0
  for (let c = 0; c < N_RANDOM; c++) {
    const { subscripts, shapes, features } = randomCase(rand)
    for (const f of features) seen.set(f, (seen.get(f) ?? 0) + 1)
    const data = shapes.map((s) => Float32Array.from({ length: s.reduce((a, b) => a * b, 1) }, () => rand() * 2 - 1))
    const ops = data.map((d, i) => tensorOf(d, shapes[i]))
    const what = `case ${c}: einsum('${subscripts}') of ${JSON.stringify(shapes)}`
    const got = jnp.einsum(subscripts, ...ops)
    t.is(got.dtype, 'float32', what)
    if (checkClose(t, got, reference(subscripts, shapes, data), 1e-5, what)) passed++
    got.dispose()
    ops.forEach((o) => o.dispose())
  }
  t.is(passed, N_RANDOM)
  // the generator reaches every feature, many times
  for (const f of ['1 operand', '2 operands', '3 operands', 'repeated index', 'ellipsis', 'implicit', 'size-1 broadcast']) {
    t.true((seen.get(f) ?? 0) >= 20, `${f}: ${seen.get(f) ?? 0} cases`)
  }
})

test('random subscripts (int32): exact, in int32, as the reference', (t) => {
  const rand = prng(777)
  for (let c = 0; c < 80; c++) {
    const { subscripts, shapes } = randomCase(rand)
    const data = shapes.map((s) => Int32Array.from({ length: s.reduce((a, b) => a * b, 1) }, () => Math.floor(rand() * 7) - 3))
    const ops = data.map((d, i) => tensorOf(d, shapes[i]))
    const got = jnp.einsum(subscripts, ...ops)
    const ref = reference(subscripts, shapes, data)
    const what = `einsum('${subscripts}') of ${JSON.stringify(shapes)}`
    t.is(got.dtype, 'int32', what)
    t.deepEqual([...got.shape], ref.shape, what)
    t.deepEqual(Array.from(got.data), Array.from(ref.out), what)
    got.dispose()
    ops.forEach((o) => o.dispose())
  }
})

// ---- JAX goldens ------------------------------------------------------------------------------

interface Arr {
  shape: number[]
  dtype: string
  bits?: number[]
  data?: number[]
}

interface GoldenCase {
  subscripts: string
  operands: Arr[]
  out: Arr
}

const CASES: GoldenCase[] = loadLocalGolden('einsum').expect.cases

const values = (g: Arr): Float32Array | Int32Array => (g.bits ? new Float32Array(Uint32Array.from(g.bits).buffer) : Int32Array.from(g.data!))

/** Asserted bit for bit: no float sums (data movement and single products), and integers. */
const EXACT = new Set(['ii->i', '...ii->...i', 'ij->ji', 'ijk->kji', 'i,i->i', 'i,j->ij', 'ij,ij->ij'])

test(`JAX goldens (${CASES.length} subscripts): within 1e-6 of the sum of |terms|, exact where nothing is summed`, (t) => {
  t.true(CASES.length >= 20)
  for (const g of CASES) {
    const data = g.operands.map(values)
    const ops = g.operands.map((o, i) => tensorOf(data[i], o.shape))
    const got = jnp.einsum(g.subscripts, ...ops)
    const want = values(g.out)
    const what = `einsum('${g.subscripts}') of ${JSON.stringify(g.operands.map((o) => o.shape))}`
    t.is(got.dtype as string, g.out.dtype, what)
    t.deepEqual([...got.shape], g.out.shape, what)
    // JAX's values, within float32 rounding of the sums
    checkClose(t, got, { shape: g.out.shape, out: Float64Array.from(want), scale: reference(g.subscripts, g.operands.map((o) => o.shape), data).scale }, 1e-6, what)
    if (EXACT.has(g.subscripts) || g.out.dtype === 'int32') t.deepEqual(Array.from(got.data), Array.from(want), `${what}: bit for bit`)
    got.dispose()
    ops.forEach((o) => o.dispose())
  }
})

// ---- jit --------------------------------------------------------------------------------------

test('jit(einsum) equals eager einsum bit for bit (fixed and random subscripts)', (t) => {
  const fixed = CASES.filter((g) => g.out.dtype === 'float32').map((g) => ({ subscripts: g.subscripts, shapes: g.operands.map((o) => o.shape) }))
  const rand = prng(99)
  const random = Array.from({ length: 40 }, () => randomCase(rand))
  for (const { subscripts, shapes } of [...fixed, ...random]) {
    const ops = shapes.map((s) => tensorOf(Float32Array.from({ length: s.reduce((a, b) => a * b, 1) }, () => rand() * 2 - 1), s))
    const f = jit((...xs: Tensor[]) => jnp.einsum(subscripts, ...xs))
    assertSameBits(t, f(...ops), jnp.einsum(subscripts, ...ops), `einsum('${subscripts}')`)
  }
  // integers and a dtype option trace too
  const a = jnp.array([[1, 2], [3, 4]], 'int32')
  const g = jit((x: Tensor, y: Tensor) => jnp.einsum('ij,jk->ik', x, y))
  assertSameBits(t, g(a, a), jnp.einsum('ij,jk->ik', a, a))
  const h = jit((x: Tensor) => jnp.einsum('ii', x, { preferredElementType: 'bfloat16' }))
  assertSameBits(t, h(jnp.eye(3)), jnp.einsum('ii', jnp.eye(3), { preferredElementType: 'bfloat16' }))
})

// ---- semantics in brief -----------------------------------------------------------------------

test('modes, diagonals, broadcasting and spaces, on small known values', (t) => {
  const a = jnp.arange(6).astype('float32').reshape([2, 3])
  const b = jnp.arange(12).astype('float32').reshape([3, 4])
  const m = jnp.arange(9).astype('float32').reshape([3, 3])
  t.deepEqual(jnp.einsum('ij,jk->ik', a, b).toArray(), [[20, 23, 26, 29], [56, 68, 80, 92]])
  t.deepEqual(jnp.einsum(' i j , j k ', a, b).toArray(), [[20, 23, 26, 29], [56, 68, 80, 92]])
  t.is(jnp.einsum('ii', m).item(), 12)
  t.deepEqual(jnp.einsum('ii->i', m).toArray(), [0, 4, 8])
  t.deepEqual(jnp.einsum('ij->ji', a).toArray(), [[0, 3], [1, 4], [2, 5]])
  t.deepEqual(jnp.einsum('...i->i', a).toArray(), [3, 5, 7], "'...' axes missing from the output are summed")
  // implicit output: A-Z before a-z, as numpy and opt_einsum sort
  t.deepEqual([...jnp.einsum('bA,aB', jnp.ones([2, 3]), jnp.ones([4, 5])).shape], [3, 5, 4, 2])
  // a size-1 contracted axis broadcasts (the other operand's axis is summed)
  t.deepEqual(jnp.einsum('ij,jk->ik', jnp.ones([2, 1]), b).toArray(), [[12, 15, 18, 21], [12, 15, 18, 21]])
  // '...' broadcasting from the right, size 1 included
  t.deepEqual([...jnp.einsum('...ij,...jk', jnp.ones([2, 1, 2, 3]), jnp.ones([5, 3, 4])).shape], [2, 5, 2, 4])
  // three-fold diagonal, an index repeated across three operands, scalars
  t.is(jnp.einsum('iii', jnp.arange(27).astype('float32').reshape([3, 3, 3])).item(), 0 + 13 + 26)
  t.deepEqual(jnp.einsum('i,i,i->i', jnp.arange(3).astype('float32'), jnp.arange(3).astype('float32'), jnp.arange(3).astype('float32')).toArray(), [0, 1, 8])
  t.is(jnp.einsum(',->', jnp.full([], 3), jnp.full([], 4)).item(), 12)
  t.deepEqual(jnp.einsum('i,->i', jnp.arange(3).astype('float32'), jnp.full([], 2)).toArray(), [0, 2, 4])
  // empty axes
  t.deepEqual(jnp.einsum('ij,jk->ik', jnp.ones([2, 0]), jnp.ones([0, 3])).toArray(), [[0, 0, 0], [0, 0, 0]])
  t.deepEqual([...jnp.einsum('ii->i', jnp.ones([0, 0])).shape], [0])
  // the result is never the operand itself, even when nothing is computed
  const same = jnp.einsum('ij', a)
  t.not(same, a)
  same.dispose()
  t.false(a.isDisposed)
  // `optimize` is accepted and ignored
  t.deepEqual(jnp.einsum('ij,jk', a, b, { optimize: 'greedy' }).toArray(), [[20, 23, 26, 29], [56, 68, 80, 92]])
})

test('dtypes: integers and bool stay in their dtype (exact, wrapping), halves as matmul, preferredElementType', (t) => {
  const i = jnp.array([[1, 2, 3], [4, 5, 6]], 'int32')
  const r = jnp.einsum('ij,kj->ik', i, i)
  t.is(r.dtype, 'int32')
  t.deepEqual(r.toArray(), [[14, 32], [32, 77]])
  // 100·2 + 100·1 = 300 wraps to 44 in int8, as jnp.dot and JAX; a sum alone too
  const i8 = jnp.einsum('ij,j->i', jnp.array([[100, 100]], 'int8'), jnp.array([2, 1], 'int8'))
  t.is(i8.dtype, 'int8')
  t.deepEqual(i8.toArray(), [44])
  t.deepEqual(jnp.einsum('ij->i', jnp.array([[100, 100, 100]], 'int8')).toArray(), [44])
  const bo = jnp.einsum('ij,j->i', jnp.array([[true, false], [false, false]]), jnp.array([true, true]))
  t.is(bo.dtype, 'bool')
  t.deepEqual(bo.toArray(), [true, false])
  t.deepEqual(jnp.einsum('ij->i', jnp.array([[true, false], [false, false]])).toArray(), [true, false])
  // bfloat16 operands: a bfloat16 result, matmul's; preferredElementType float32 = the float32 sums
  const x = jnp.array([[1.5, -2], [0.25, 3]]).astype('bfloat16')
  const y = jnp.array([[0.125, 1], [7, -0.5]]).astype('bfloat16')
  t.is(jnp.einsum('ij,jk', x, y).dtype, 'bfloat16')
  assertSameBits(t, jnp.einsum('ij,jk', x, y), jnp.matmul(x, y))
  const f32 = jnp.einsum('ij,jk', x, y, { preferredElementType: 'float32' })
  assertSameBits(t, f32, jnp.matmul(x, y, { preferredElementType: 'float32' }))
  t.is(jnp.einsum('ij,jk', i, jnp.array([[1], [1], [1]], 'int32'), { preferredElementType: 'float32' }).dtype, 'float32')
  t.is(jnp.einsum('ij,jk', x, y, { preferredElementType: null }).dtype, 'bfloat16')
})

// ---- errors -----------------------------------------------------------------------------------

function code(t: ExecutionContext, fn: () => unknown, expected: string, ...messages: RegExp[]): void {
  const err = t.throws(fn) as Error & { code?: string }
  t.is(err?.code, expected, err?.message)
  for (const m of messages) t.regex(err?.message ?? '', m)
}

test('errors: coded, naming einsum, the operand and what was expected', (t) => {
  const a = jnp.ones([2, 3])
  const b = jnp.ones([4, 5])
  code(t, () => jnp.einsum('ij#', a), 'E_ARG', /^einsum: /, /contain '#'/, /expected letters/)
  code(t, () => jnp.einsum('ij->i->j', a), 'E_ARG', /'->' 2 times/)
  code(t, () => jnp.einsum('ij-i', a), 'E_ARG', /contain '-'|outside '->'/)
  code(t, () => jnp.einsum('ij,jk', a), 'E_ARG', /name 2 operands but 1 was given/)
  code(t, () => jnp.einsum('ij', a, b), 'E_ARG', /name 1 operand but 2 were given/)
  code(t, () => jnp.einsum('ijk', a), 'E_SHAPE', /operands\[0\] has shape \[2, 3\] \(2 dimensions\)/, /'ijk'.*name 3/)
  code(t, () => jnp.einsum('ijkl...', a), 'E_SHAPE', /name 4 besides '\.\.\.'/)
  code(t, () => jnp.einsum('...i...', a), 'E_ARG', /more than one '\.\.\.'/)
  code(t, () => jnp.einsum('i.j', a), 'E_ARG', /'\.' outside '\.\.\.'/)
  code(t, () => jnp.einsum('ij->iz', a), 'E_ARG', /output index 'z'/, /appears in no input/)
  code(t, () => jnp.einsum('ij->ii', a), 'E_ARG', /output index 'i'/, /more than once/)
  code(t, () => jnp.einsum('ij,jk->i,k', a, b), 'E_ARG', /output subscripts 'i,k'/)
  code(t, () => jnp.einsum('ij,jk->ik', a, b), 'E_SHAPE', /index 'j'/, /operands\[0\] \(shape \[2, 3\]\)/, /operands\[1\] \(shape \[4, 5\]\)/, /sizes 3 and 4 differ/)
  code(t, () => jnp.einsum('ii', a), 'E_SHAPE', /index 'i' repeats in operands\[0\]/, /shape \[2, 3\]/, /sizes 2 and 3/)
  code(t, () => jnp.einsum('...i,...i', jnp.ones([2, 3]), jnp.ones([4, 3])), 'E_SHAPE', /'\.\.\.' dimensions/, /\[2, 3\]/, /\[4, 3\]/, /do not broadcast/)
  code(t, () => jnp.einsum('ij,jk', a, jnp.ones([3, 2], 'int32')), 'E_DTYPE', /einsum: operands have dtypes operands\[0\] float32, operands\[1\] int32/)
  code(t, () => jnp.einsum('ij', a, { preferredElementType: 'int32' }), 'E_DTYPE', /einsum: preferredElementType must be float32/)
  code(t, () => jnp.einsum(3 as unknown as string, a), 'E_TYPE', /einsum: subscripts must be a string/)
  code(t, () => jnp.einsum('ij,jk', a, [[1]] as unknown as Tensor), 'E_TYPE', /einsum: operands\[1\] must be a Tensor, got an array/)
  code(t, () => jnp.einsum('ij,jk', a, 2 as unknown as Tensor), 'E_TYPE', /operands\[1\] must be a Tensor, got number 2/)
})

// ---- memory -----------------------------------------------------------------------------------

test.serial('eager einsum leaves no native bytes behind: only its result, freed by dispose', (t) => {
  const ops = [jnp.ones([2, 3, 4]), jnp.ones([4, 3, 5]), jnp.ones([5, 2]), jnp.ones([3, 3, 2]), jnp.ones([3, 3]).astype('int32')]
  const cases: [string, Tensor[]][] = [
    ['ijk,kjl,li->', ops.slice(0, 3)],
    ['ijk,kjl->il', ops.slice(0, 2)],
    ['iij->j', [ops[3]]],
    ['iij,kj->ik', [ops[3], ops[2]]],
    ['...k,kjl', ops.slice(0, 2)],
    ['ij,jk->ik', [ops[4], ops[4]]],
    ['ij', [ops[4]]],
    ['ij,ij->ij', [ops[2], ops[2]]],
  ]
  for (const [s, xs] of cases) jnp.einsum(s, ...xs).dispose() // first calls set up any caches
  // Garbage from earlier (the float32 ones behind the astype, earlier tests' tensors) may be
  // collected at any allocation, which only lowers the count: so "at most", per case.
  for (const [s, xs] of cases) {
    const before = native.liveBytes()
    const r = jnp.einsum(s, ...xs)
    t.true(native.liveBytes() - before <= r.size * 4, `${s}: only the result is alive`)
    r.dispose()
    t.true(native.liveBytes() - before <= 0, `${s}: nothing left after dispose (${native.liveBytes() - before} bytes)`)
  }
})
