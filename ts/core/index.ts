// flax.core: filters, Scope, RNG derivation, functional init/apply, lifted transforms.
export { config, withConfig, type FlaxConfig } from './config'
export {
  DenyList,
  filterEquals,
  filterRepr,
  filterToSet,
  groupCollections,
  inFilter,
  intersectFilters,
  isFilterEmpty,
  subtractFilters,
  unionFilters,
  type CollectionFilter,
  type PRNGSequenceFilter,
} from './filters'
export { unfreeze } from './frozen-dict'
export { apply, bind, init, isValidRngs, type ApplyOptions, type InitOptions, type RNGSequences, type RngsArg } from './init-apply'
export {
  mapVariables,
  pack,
  swapCollection,
  type MapVariablesOptions,
  type PackedFn,
  type RepackFn,
  type RngGroups,
  type ScopeFn,
  type ScopeTree,
  type VariableGroups,
  type VariableMapFn,
} from './lift'
export { cond, switchBranch, whileLoop, type CondOptions, type SplitRngs, type WhileLoopOptions } from './lift-control'
export * as lift from './lift-api'
export { LazyRng, foldInStatic, isValidRng, staticHashWord, type PRNGFoldable, type PRNGKey } from './rng'
export {
  ABSTRACT_SHAPE,
  RngCounters,
  Scope,
  shapeOf,
  withAbstractShape,
  type Collection,
  type Flags,
  type InitFn,
  type ScopeOptions,
  type VariableDict,
  type Variables,
} from './scope'
export { Variable } from './variable'
