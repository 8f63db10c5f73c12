// `safetensors` (mirrors `safetensors.flax`): flat dicts of tensors keyed by '.'-joined names.
// `loadFile` maps the file: tensors are views of the (private, copy-on-write) mapping where
// aligned, so processes serving one file share its pages and a write never reaches the file.
import { dirname, join } from 'node:path'
import { codedError, codedTypeError } from '../coded-error'
import { native } from '../native'
import { shardFiles } from '../serialization/msgpack'
import { Tensor, describe } from '../tensor'
import { MAX_TREE_DEPTH, isPlainObject } from '../tree'

export type Metadata = Record<string, string>

function loaded([names, handles, meta]: [string[], any[], string[] | null]): { tensors: Record<string, Tensor>; metadata: Metadata | null } {
  const tensors: Record<string, Tensor> = {}
  names.forEach((n, i) => Object.defineProperty(tensors, n, { value: new Tensor(handles[i]), enumerable: true, writable: true, configurable: true }))
  let metadata: Metadata | null = null
  if (meta !== null) {
    metadata = {}
    for (let i = 0; i < meta.length; i += 2) metadata[meta[i]] = meta[i + 1]
  }
  return { tensors, metadata }
}

/** `safetensors.flax.load(bytes)`: `{name: Tensor}` (copied out of `bytes`). */
export function load(bytes: Uint8Array): Record<string, Tensor> {
  if (!(bytes instanceof Uint8Array)) throw codedTypeError(`safetensors.load: expected the file's bytes (a Uint8Array), got ${describe(bytes)}`)
  return loaded(native.safetensorsLoad(bytes)).tensors
}

/**
 * `safetensors.flax.load_file(path)`: `{name: Tensor}`, zero-copy from a mapping. A
 * `*.index.json` path (a sharded checkpoint) loads every shard its `weight_map` names.
 */
export function loadFile(path: string): Record<string, Tensor> {
  return loadFileWithMetadata(path).tensors
}

/** `loadFile` and the header's `__metadata__` (`format: "pt"` marks a PyTorch checkpoint). */
export function loadFileWithMetadata(path: string): { tensors: Record<string, Tensor>; metadata: Metadata | null } {
  if (typeof path !== 'string') throw codedTypeError(`safetensors.loadFile: path must be a string, got ${describe(path)}`)
  if (!path.endsWith('.index.json')) return loaded(native.safetensorsLoad(path))
  const tensors: Record<string, Tensor> = {}
  let metadata: Metadata | null = null
  for (const shard of shardFiles(path, 'safetensors.loadFile')) {
    const part = loaded(native.safetensorsLoad(join(dirname(path), shard)))
    for (const k of Object.keys(part.tensors)) {
      if (Object.hasOwn(tensors, k)) throw codedError('E_ARG', `safetensors.loadFile: the tensor '${k}' is in two shards of '${path}'`)
    }
    Object.assign(tensors, part.tensors)
    metadata ??= part.metadata
  }
  return { tensors, metadata }
}

/** Flattens a nested tree of tensors with '.' (a flat dict stays as it is). */
function flatten(tree: unknown, who: string): [string[], Tensor[]] {
  if (!isPlainObject(tree)) throw codedTypeError(`${who}: expected a dict of tensors (nested dicts are joined with '.'), got ${describe(tree)}`)
  const names: string[] = []
  const tensors: Tensor[] = []
  const go = (x: Record<string, unknown>, prefix: string, depth: number) => {
    if (depth > MAX_TREE_DEPTH) throw codedError('E_TREE', `${who}: the tree nests deeper than ${MAX_TREE_DEPTH} levels`)
    for (const [k, v] of Object.entries(x)) {
      if (prefix !== '' && k.includes('.')) throw codedError('E_ARG', `${who}: the key '${k}' under '${prefix}' contains '.', the separator of flattened names`)
      const name = prefix === '' ? k : `${prefix}.${k}`
      if (v instanceof Tensor) {
        names.push(name)
        tensors.push(v)
      } else if (isPlainObject(v)) go(v, name, depth + 1)
      else throw codedTypeError(`${who}: '${name}' is ${describe(v)}; safetensors holds tensors only`)
    }
  }
  go(tree, '', 0)
  return [names, tensors]
}

function metadataArg(metadata: Metadata | undefined | null, who: string): string[] | null {
  if (metadata === undefined || metadata === null) return null
  if (!isPlainObject(metadata)) throw codedTypeError(`${who}: metadata must be a dict of strings, got ${describe(metadata)}`)
  return Object.entries(metadata).flatMap(([k, v]) => {
    if (typeof v !== 'string') throw codedTypeError(`${who}: metadata['${k}'] must be a string, got ${describe(v)}`)
    return [k, v]
  })
}

/** `safetensors.flax.save(tensors, metadata)`: the file's bytes, as Python writes them. */
export function save(tree: Record<string, unknown>, metadata?: Metadata): Uint8Array {
  const [names, tensors] = flatten(tree, 'safetensors.save')
  return native.safetensorsSave(names, tensors.map((t) => t.handle), metadataArg(metadata, 'safetensors.save'), null) as Uint8Array
}

/** `safetensors.flax.save_file(tensors, path, metadata)`. */
export function saveFile(tree: Record<string, unknown>, path: string, metadata?: Metadata): void {
  if (typeof path !== 'string') throw codedTypeError(`safetensors.saveFile: path must be a string, got ${describe(path)}`)
  const [names, tensors] = flatten(tree, 'safetensors.saveFile')
  native.safetensorsSave(names, tensors.map((t) => t.handle), metadataArg(metadata, 'safetensors.saveFile'), path)
}
