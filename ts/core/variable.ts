// A handle on one variable of a scope (`flax.core.scope.Variable`): reads and writes go through
// the scope every time, so a Variable always sees the current value and writes obey the
// scope's mutability.
import type { Scope } from './scope'

let nextVariableId = 0

export class Variable<T = any> {
  /** Identity across transform boundaries (placeholders are matched by it). */
  readonly id = nextVariableId++
  readonly scope: Scope
  readonly collection: string
  readonly name: string
  readonly unbox: boolean

  constructor(scope: Scope, collection: string, name: string, unbox = true) {
    this.scope = scope
    this.collection = collection
    this.name = name
    this.unbox = unbox
  }

  get value(): T {
    return this.scope.getVariable(this.collection, this.name)
  }

  set value(value: T) {
    this.scope.putVariable(this.collection, this.name, value)
  }

  isMutable(): boolean {
    return this.scope.isMutableCollection(this.collection)
  }

  toString(): string {
    return `Variable(${this.collection}/${this.name})`
  }
}
