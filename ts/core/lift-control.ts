// Lifted control flow (`flax.core.lift.cond`, `switch`, `while_loop`), built on `pack`.
//
// Flax hands these to `jax.lax.cond/switch/while_loop`, which *trace* the functions before
// running anything. flaxen runs on concrete values, so it reproduces what tracing makes
// observable instead:
// * cond/switch trace every branch, in order, each in fresh inner scopes: every branch runs
//   here too (its RNG draws advance the shared counters, as during tracing), and only the
//   selected branch's output and variables are kept. All branches must return the same tree
//   structure and leaf types, as JAX checks.
// * while_loop traces `condFn` once, then `bodyFn` once; the loop then repeats those traces.
//   So every evaluation of `condFn` sees the RNG counters as they were before the loop, every
//   evaluation of `bodyFn` sees them as they were after the first `condFn`, and afterwards they
//   stand where one `condFn` plus one `bodyFn` left them — also when the loop runs zero times
//   (the body is then run once, for its counter effects only; its results are discarded).
// Caveat: branches and bodies run on real values, so code that only fails on real data (not on
// shapes) fails here even in a branch that is not taken. JAX's retracing of a loop whose carry
// changes from weak to strong types has no counterpart (JS values have no weak types).
import { ValueError, PyTypeError } from '../errors'
import { Key, foldIn } from '../random'
import { isTensor } from '../tensor'
import { leaves, structureEqual } from '../tree'
import type { CollectionFilter, PRNGSequenceFilter } from './filters'
import { type PackedFn, type RngGroups, type ScopeTree, type VariableGroups, pack } from './lift'
import { LazyRng } from './rng'
import { RngCounters, Scope } from './scope'

export interface CondOptions {
  /** Collections visible (and, when mutable outside, writable) in the branches. Default all. */
  variables?: CollectionFilter
  /** RNG streams visible in the branches. Default all. */
  rngs?: PRNGSequenceFilter
}

/** Same tree structure both ways (tree.structureEqual only checks the first tree's containers). */
const sameStructure = (a: unknown, b: unknown): boolean => structureEqual(a, b) && structureEqual(b, a)

/** The type JAX compares for a leaf: dtype and shape for tensors, the JS kind otherwise. */
function leafType(x: unknown): string {
  if (isTensor(x)) return `${x.dtype}[${x.shape.join(',')}]`
  if (x instanceof Key || x instanceof Uint32Array) return 'key'
  return typeof x
}

/** JAX's checks that two traced outputs agree: same tree structure, then same leaf types. */
function checkSameOutputs(kind: 'cond' | 'switch', outputs: unknown[]): void {
  const name = (i: number) => (kind === 'cond' ? (i === 0 ? 'true_fun' : 'false_fun') : `branch ${i}`)
  for (let i = 1; i < outputs.length; i++) {
    const [a, b] = [outputs[0], outputs[i]]
    if (!sameStructure(a, b)) {
      throw new PyTypeError(
        `${kind} branch outputs must have the same pytree structure, but they differ:\n\n` +
          `Revise ${name(0)} and/or ${name(i)} so that they have the same pytree structure.`,
      )
    }
    const [ta, tb] = [leaves(a).map(leafType), leaves(b).map(leafType)]
    const j = ta.findIndex((t, k) => t !== tb[k])
    if (j >= 0) {
      throw new PyTypeError(
        `${kind} branches must have equal output types but they differ.\n\n` +
          `The output of ${name(0)} has type ${ta[j]} but the corresponding output of ${name(i)} has type ${tb[j]}.\n\n` +
          `Revise ${name(0)} and/or ${name(i)} so that all output types match.`,
      )
    }
  }
}

/** Runs every branch in order in fresh inner scopes; keeps the selected one's output and variables. */
function liftedBranches<A extends unknown[], C>(
  kind: 'cond' | 'switch',
  index: number,
  branches: readonly ((scope: any, ...operands: A) => C)[],
  scope: ScopeTree,
  operands: A,
  { variables = true, rngs = true }: CondOptions,
): C {
  const inner: PackedFn<[]> = (scopeFn, repack, variableGroups, rngGroups) => {
    const results = branches.map((branch): [C, VariableGroups] => {
      const inner = scopeFn(variableGroups, rngGroups)
      const y = branch(inner, ...operands)
      return [y, repack(inner)]
    })
    checkSameOutputs(kind, results)
    return results[index]
  }
  return pack(inner, [variables], [variables], [rngs], kind)(scope)
}

/** A scalar predicate as `lax.cond` accepts it: a boolean, a number, or a 0-d tensor. */
function predicate(pred: unknown): boolean {
  if (typeof pred === 'boolean' || typeof pred === 'number') return pred !== 0 && pred !== false
  if (isTensor(pred)) {
    if (pred.ndim !== 0) throw new PyTypeError(`Pred must be a scalar, got ${String(pred.toArray())} of shape (${pred.shape.join(', ')},).`)
    return pred.item() !== 0 && pred.item() !== false
  }
  throw new PyTypeError(`Pred must be a scalar, got ${String(pred)} of type ${typeof pred}`)
}

/**
 * `lift.cond(pred, true_fun, false_fun, scope, *operands, variables=True, rngs=True)`: runs
 * `trueFun(scope, ...operands)` or `falseFun(...)`. Both branches run (as JAX traces both) and
 * must return the same structure; RNG draws of both advance the counters, true branch first.
 */
export function cond<A extends unknown[], C>(
  pred: unknown,
  trueFun: (scope: any, ...operands: A) => C,
  falseFun: (scope: any, ...operands: A) => C,
  scope: ScopeTree,
  operands: A,
  options: CondOptions = {},
): C {
  return liftedBranches('cond', predicate(pred) ? 0 : 1, [trueFun, falseFun], scope, operands, options)
}

/**
 * `lift.switch(index, branches, scope, *operands, variables=True, rngs=True)`: runs
 * `branches[index]`, the index clamped to the valid range as `lax.switch` does. Every branch
 * runs, in order (see `cond`).
 */
export function switchBranch<A extends unknown[], C>(
  index: unknown,
  branches: readonly ((scope: any, ...operands: A) => C)[],
  scope: ScopeTree,
  operands: A,
  options: CondOptions = {},
): C {
  if (branches.length === 0) throw new ValueError('Empty branch sequence')
  let i: number
  if (typeof index === 'number') i = index
  else if (isTensor(index)) {
    if (index.ndim !== 0) throw new PyTypeError(`Branch index must be scalar, got ${String(index.toArray())} of shape (${index.shape.join(', ')},).`)
    if (index.dtype === 'float32' || index.dtype === 'float16' || index.dtype === 'bfloat16' || index.dtype === 'bool') throw new PyTypeError(`Index type must be an integer, got ${String(index.item())} as ${index.dtype}`)
    i = Number(index.item())
  } else throw new PyTypeError(`Index type must be an integer, got ${String(index)}`)
  if (!Number.isInteger(i)) throw new PyTypeError(`Index type must be an integer, got ${i} as float32`)
  return liftedBranches('switch', Math.min(Math.max(i, 0), branches.length - 1), branches, scope, operands, options)
}

// ---------------------------------------------------------------------------------------------
// while_loop

/** A frozen copy of a counter tree (counts and children, recursively). */
interface CounterSnapshot {
  counts: Map<string, number>
  children: Map<string, [RngCounters, CounterSnapshot]>
}

function snapshot(c: RngCounters): CounterSnapshot {
  const children = new Map<string, [RngCounters, CounterSnapshot]>()
  for (const [name, child] of c.children) children.set(name, [child, snapshot(child)])
  return { counts: new Map(c.counts), children }
}

/** Puts a counter tree back as it was, in place (scopes hold these objects by reference). */
function restore(c: RngCounters, s: CounterSnapshot): void {
  c.counts.clear()
  for (const [k, v] of s.counts) c.counts.set(k, v)
  c.children.clear()
  for (const [name, [child, childSnap]] of s.children) {
    restore(child, childSnap)
    c.children.set(name, child)
  }
}

/** The counter trees of the outer scopes, to snapshot and restore together. */
class CounterState {
  private readonly trees: RngCounters[]

  constructor(scope: ScopeTree) {
    this.trees = [...new Set((leaves(scope, (x) => x instanceof Scope) as Scope[]).map((s) => s.rngCounters))]
  }

  save(): CounterSnapshot[] {
    return this.trees.map(snapshot)
  }

  load(snaps: CounterSnapshot[]): void {
    this.trees.forEach((t, i) => restore(t, snaps[i]))
  }
}

/** `split_rngs`: stream filter → whether the stream differs per iteration. */
export type SplitRngs = Record<string, boolean> | readonly (readonly [PRNGSequenceFilter, boolean])[]

export interface WhileLoopOptions {
  /** Collections carried through the loop, hence mutable (default none). */
  carryVariables?: CollectionFilter
  /** Collections closed over, read-only (default all). */
  broadcastVariables?: CollectionFilter
  /** Streams visible in the loop; true ones get `fold_in(key, i)` in iteration i (default none visible). */
  splitRngs?: SplitRngs
}

/** A boolean scalar, as `cond_fun` must return. */
function loopCondition(c: unknown): boolean {
  if (typeof c === 'boolean') return c
  if (isTensor(c) && c.dtype === 'bool' && c.ndim === 0) return c.item() as boolean
  const type = isTensor(c) ? `ShapedArray(${c.dtype}[${c.shape.join(',')}])` : typeof c
  throw new PyTypeError(`cond_fun must return a boolean scalar, but got output type(s) [${type}].`)
}

/** JAX's check that the body keeps the carry's structure and leaf types. */
function checkCarry(before: unknown, after: unknown): void {
  if (!sameStructure(before, after)) {
    throw new PyTypeError(
      'while_loop body function carry input and carry output must have the same pytree structure, but they differ:\n\n' +
        'Revise the function so that the carry output has the same pytree structure as the carry input.',
    )
  }
  const [ta, tb] = [leaves(before).map(leafType), leaves(after).map(leafType)]
  const j = ta.findIndex((t, k) => t !== tb[k])
  if (j >= 0) {
    throw new PyTypeError(
      'while_loop body function carry input and carry output must have equal types, but they differ:\n\n' +
        `The input carry component has type ${ta[j]} but the corresponding output carry component has type ${tb[j]}.\n\n` +
        'Revise the function so that all output types match the corresponding input types.',
    )
  }
}

/**
 * `lift.while_loop(cond_fn, body_fn, scope, init, carry_variables=False,
 * broadcast_variables=True, split_rngs={})`: `bodyFn(scope, c)` while `condFn(scope, c)`.
 * Carried collections are mutable inside and written back; broadcast ones are read-only. Only
 * the streams named in `splitRngs` are visible; split ones get `fold_in(key, i)` in iteration
 * i (`fold_in(key, -i)` in the condition), the others the same key every iteration.
 */
export function whileLoop<C>(
  condFn: (scope: any, carry: C) => unknown,
  bodyFn: (scope: any, carry: C) => C,
  scope: ScopeTree,
  init: C,
  { carryVariables = false, broadcastVariables = true, splitRngs = {} }: WhileLoopOptions = {},
): C {
  const pairs: (readonly [PRNGSequenceFilter, boolean])[] = Array.isArray(splitRngs) ? [...splitRngs] : Object.entries(splitRngs)
  const rngFilters = pairs.map(([f]) => f)
  const counters = new CounterState(scope)

  const inner: PackedFn<[]> = (scopeFn, repack, variableGroups, rngGroups) => {
    const [, broadcast] = variableGroups
    let [carryVars] = variableGroups
    // make_loop_rngs(i): fold i into the base key of every split stream, keeping the suffix.
    const loopRngs = (i: number): RngGroups =>
      rngGroups.map((group, g) =>
        pairs[g][1] ? group.map((rs) => Object.fromEntries(Object.entries(rs).map(([k, r]) => [k, new LazyRng(foldIn(r.rng, i), r.suffix)]))) : group,
      )
    const evalCond = (i: number, c: C) => loopCondition(condFn(scopeFn([carryVars, broadcast], loopRngs(-i), false), c))
    const evalBody = (i: number, c: C): [VariableGroups[number], C] => {
      const s = scopeFn([carryVars, broadcast], loopRngs(i))
      const out = bodyFn(s, c)
      return [repack(s)[0], out]
    }

    const beforeCond = counters.save()
    let going = evalCond(0, init)
    const beforeBody = counters.save()
    let carry = init
    let afterBody: ReturnType<CounterState['save']> | null = null
    for (let i = 0; going; i++) {
      if (i > 0) counters.load(beforeBody)
      const [vars, out] = evalBody(i, carry)
      checkCarry([carryVars, carry], [vars, out])
      ;[carryVars, carry] = [vars, out]
      afterBody ??= counters.save()
      counters.load(beforeCond)
      going = evalCond(i + 1, carry)
    }
    if (afterBody === null) {
      // Zero iterations: JAX traced the body anyway; replay it for its counter effects only.
      counters.load(beforeBody)
      evalBody(0, carry)
    } else counters.load(afterBody)
    return [carry, [carryVars]]
  }
  return pack(inner, [carryVariables, broadcastVariables], [carryVariables], rngFilters, 'while_loop')(scope)
}
