// `flax.serialization`: state dicts (and, with the Rust parsers, msgpack bytes and files).
export { fromStateDict, toStateDict, type FromStateDictOptions, type StateDict } from './state-dict'
