// flaxen: Flax's linen module system for Node.js.
//   nn      Module, compact, layers, initializers, mapVariables   (ts/linen)
//   core    filters, Scope, init/apply/bind, lift                  (ts/core)
//   jnp     arrays and ops (Rust kernels)                          (ts/jnp.ts)
//   lax     jax.lax: slices, dynamic slices, top_k                 (ts/lax.ts)
//   linalg  jnp.linalg: qr                                         (ts/linalg.ts)
//   random  JAX's threefry PRNG                                    (ts/random.ts)
//   tree    pytree helpers over nested objects of tensors          (ts/tree.ts)
//   errors  Flax's error classes                                   (ts/errors.ts)
//   serialization  state dicts, msgpack (flax.serialization)     (ts/serialization)
//   safetensors    loadFile / saveFile (safetensors.flax)         (ts/safetensors)
//   traverseUtil   flattenDict / unflattenDict (flax.traverse_util) (ts/traverse-util.ts)
import * as core from './core'
import * as errors from './errors'
import * as jnp from './jnp'
import * as lax from './lax'
import * as linalg from './linalg'
import * as nn from './linen'
import * as random from './random'
import * as safetensors from './safetensors'
import * as serialization from './serialization'
import * as traverseUtil from './traverse-util'
import * as tree from './tree'

export { core, errors, jnp, lax, linalg, nn, random, safetensors, serialization, traverseUtil, tree }
export { Tensor, isTensor, type DType, type TypedArray } from './tensor'
export { setMaxBytes, getMaxBytes } from './max-bytes'
export { jit, setNumThreads, getNumThreads, cpuLevel, type JitOptions, type Jitted, type AsyncOptions, type Lowered } from './jit'
export { evalShape, type Abstract, type AbstractArgs } from './eval-shape'
export { Batcher, type BatcherOptions, type BatchRunOptions } from './batcher'
export { ShapeDtypeStruct } from './shape-dtype'
export { ConcretizationTypeError, UnexpectedTracerError, JaxError } from './jax-errors'
export type { Variables } from './core'
