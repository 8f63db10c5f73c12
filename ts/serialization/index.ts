// `flax.serialization`: state dicts (and, with the Rust parsers, msgpack bytes and files).
export { fromStateDict, toStateDict, type FromStateDictOptions, type Restored, type StateDict } from './state-dict'
export { convertPytorchStateDict, type ConvertPytorchOptions } from './pytorch'
export { MAX_CHUNK_SIZE, fromBytes, msgpackRestore, msgpackRestoreFile, msgpackSerialize, toBytes, type ArrayInfo } from './msgpack'
