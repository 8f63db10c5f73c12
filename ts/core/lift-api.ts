// `flax.core.lift` as one namespace (`core.lift.cond(...)`), as Flax users write it.
export { mapVariables, pack, swapCollection } from './lift'
export { cond, switchBranch as switch, whileLoop, type CondOptions, type SplitRngs, type WhileLoopOptions } from './lift-control'
