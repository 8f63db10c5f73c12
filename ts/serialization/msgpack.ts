// Flax's msgpack (`flax.serialization.msgpack_serialize` / `msgpack_restore`, `to_bytes` /
// `from_bytes`): byte-identical to Flax for the same tree. The parser and writer are Rust; a tree
// crosses the boundary as tagged JSON with tensors passed by handle (see core io/load.rs).
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { checkArrayLength, codedError, codedTypeError, optionsArg } from '../coded-error'
import { native, type TensorHandle } from '../native'
import { Tensor, describe } from '../tensor'
import { flattenDict, unflattenDict } from '../traverse-util'
import { MAX_TREE_DEPTH, isPlainObject } from '../tree'
import { fromStateDict, toStateDict, type FromStateDictOptions, type Restored } from './state-dict'

/** Flax's `MAX_CHUNK_SIZE`: arrays with more bytes are written in chunks. */
export const MAX_CHUNK_SIZE = 2 ** 30

/** An array described by its dtype (numpy's name) and shape, not loaded (`flaxen inspect`). */
export class ArrayInfo {
  constructor(
    readonly dtype: string,
    readonly shape: readonly number[],
  ) {}
}

const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex')
const f64Tag = (x: number) => {
  const b = Buffer.alloc(8)
  b.writeDoubleLE(x)
  return ['F', b.toString('hex')]
}

function encode(tree: unknown, tensors: TensorHandle[], sortKeys: boolean): unknown {
  const seen = new Set<object>()
  const go = (x: unknown, path: string, depth: number): unknown => {
    if (depth > MAX_TREE_DEPTH) throw codedError('E_TREE', `msgpackSerialize: the tree nests deeper than ${MAX_TREE_DEPTH} levels at ${path}`)
    if (x === null || x === undefined) return null
    if (typeof x === 'string' || typeof x === 'boolean') return x
    if (typeof x === 'bigint') return ['i', x.toString()]
    if (typeof x === 'number') {
      if (Number.isInteger(x) && !Object.is(x, -0)) return Number.isSafeInteger(x) ? x : Math.abs(x) < 2 ** 64 ? ['i', BigInt(x).toString()] : f64Tag(x)
      return f64Tag(x)
    }
    if (x instanceof Tensor) {
      tensors.push(x.handle)
      return ['t', tensors.length - 1]
    }
    if (x instanceof Uint8Array) return ['b', hex(x)]
    if (typeof x !== 'object') throw codedTypeError(`msgpackSerialize: ${path} is ${describe(x)}, which msgpack cannot hold`)
    if (seen.has(x)) throw codedError('E_TREE', `msgpackSerialize: the tree contains itself at ${path}`)
    seen.add(x)
    try {
      if (Array.isArray(x)) {
        checkArrayLength(x, `msgpackSerialize: the array at ${path}`)
        return ['l', ...x.map((v, i) => go(v, `${path}/${i}`, depth + 1))]
      }
      if (isPlainObject(x)) {
        const entries = Object.entries(x)
        // Python sorts str keys by code point: UTF-8 byte order is the same order.
        if (sortKeys) entries.sort(([a], [b]) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
        return ['m', ...entries.flatMap(([k, v]) => [k, go(v, `${path}/${k}`, depth + 1)])]
      }
    } finally {
      seen.delete(x)
    }
    throw codedTypeError(`msgpackSerialize: ${path} is ${describe(x)}; a tree holds dicts, arrays, tensors, numbers, strings, booleans, null and Uint8Arrays`)
  }
  return go(tree, '.', 0)
}

function decode(node: unknown, handles: TensorHandle[]): unknown {
  if (!Array.isArray(node)) return node
  const [tag, ...rest] = node as [string, ...any[]]
  switch (tag) {
    case 'm': {
      const out: Record<string, unknown> = {}
      for (let i = 0; i < rest.length; i += 2) Object.defineProperty(out, rest[i], { value: decode(rest[i + 1], handles), enumerable: true, writable: true, configurable: true })
      return out
    }
    case 'l':
      return rest.map((v) => decode(v, handles))
    case 't':
      return new Tensor(handles[rest[0]])
    case 'a':
      return new ArrayInfo(rest[0], Object.freeze(rest[1]))
    case 'f':
      return Number(rest[0])
    case 'i':
      return BigInt(rest[0])
    case 'b':
      return new Uint8Array(Buffer.from(rest[0], 'hex'))
    case 'c':
      return { real: decode(rest[0], handles), imag: decode(rest[1], handles) }
    case 'x':
      return { extType: rest[0], data: new Uint8Array(Buffer.from(rest[1], 'hex')) }
  }
  throw codedError('E_ARG', `msgpackRestore: unknown node tag ${String(tag)}`)
}

/**
 * `msgpack_serialize(tree, in_place=False)`: Flax's bytes for a tree of dicts, arrays and
 * tensors. Like Flax (whose copy of the tree goes through `tree_map`), dict keys are written
 * sorted unless `inPlace`, which keeps their order (what `to_bytes` does).
 */
export function msgpackSerialize(tree: unknown, options?: { maxChunkSize?: number; inPlace?: boolean }): Uint8Array {
  const { maxChunkSize = MAX_CHUNK_SIZE, inPlace = false } = optionsArg(options, 'msgpackSerialize')
  const handles: TensorHandle[] = []
  const json = JSON.stringify(encode(tree, handles, !inPlace))
  return native.msgpackSerialize(json, handles, maxChunkSize)
}

function restore(source: Uint8Array | string, abstractOnly: boolean): any {
  const [json, handles] = native.msgpackRestore(source, abstractOnly)
  return decode(JSON.parse(json), handles)
}

/** `msgpack_restore(bytes)`: the tree; arrays become tensors (int64/float64 narrowed to 32 bits). */
export function msgpackRestore(bytes: Uint8Array): any {
  if (!(bytes instanceof Uint8Array)) throw codedTypeError(`msgpackRestore: expected the file's bytes (a Uint8Array), got ${describe(bytes)}`)
  return restore(bytes, false)
}

/**
 * `msgpack_restore` of the file at `path`, read once: tensors are views of that one buffer
 * where their alignment allows. A `*.index.json` path (Hugging Face's sharded
 * `flax_model.msgpack.index.json`) loads every shard it names and merges them.
 */
export function msgpackRestoreFile(path: string): any {
  if (typeof path !== 'string') throw codedTypeError(`msgpackRestoreFile: path must be a string, got ${describe(path)}`)
  if (!path.endsWith('.index.json')) return restore(path, false)
  const merged: Record<string, unknown> = {}
  for (const shard of shardFiles(path, 'msgpackRestoreFile')) {
    Object.assign(merged, flattenDict(restore(join(dirname(path), shard), false), { sep: '/' }))
  }
  return unflattenDict(merged, { sep: '/' })
}

/** The shard files a `*.index.json` names (its `weight_map` values), in first-use order. */
export function shardFiles(indexPath: string, who: string): string[] {
  let index: unknown
  try {
    index = JSON.parse(readFileSync(indexPath, 'utf8'))
  } catch (e) {
    throw codedError((e as { code?: string }).code === 'ENOENT' ? 'ENOENT' : 'E_ARG', `${who}: cannot read the index '${indexPath}': ${(e as Error).message}`)
  }
  const map = isPlainObject(index) ? index.weight_map : undefined
  if (!isPlainObject(map)) throw codedError('E_ARG', `${who}: '${indexPath}' has no weight_map object`)
  const files = [...new Set(Object.values(map))]
  for (const f of files) {
    if (typeof f !== 'string' || f.includes('/') || f.includes('\\') || f === '..' || f === '.') {
      throw codedError('E_ARG', `${who}: '${indexPath}' names the shard ${JSON.stringify(f)}; shards are file names beside the index`)
    }
  }
  return files as string[]
}

/** Array leaves restored without their values (dtype and shape): what `flaxen inspect` shows. */
export function msgpackDescribe(source: Uint8Array | string): any {
  return restore(source, true)
}

/** `to_bytes(target)`: `msgpackSerialize(toStateDict(target), { inPlace: true })`. */
export function toBytes(target: unknown): Uint8Array {
  return msgpackSerialize(toStateDict(target), { inPlace: true })
}

/** `from_bytes(target, bytes)`: the restored state in `target`'s structure, leaves checked. */
export function fromBytes<T>(target: T, bytes: Uint8Array, options?: FromStateDictOptions): Restored<T> {
  return fromStateDict(target, msgpackRestore(bytes), options)
}
