// Types of the native addon loaded by index.js. The TypeScript façade (dist/, from ts/) is the
// public API; these are the raw entry points it wraps. Every entry point validates its arguments
// and throws an Error with a stable `code` (E_SHAPE, E_DTYPE, E_ARG, E_DISPOSED, E_PANIC) or a
// TypeError with code E_TYPE for a wrong JS type.

/** An opaque native tensor handle (a Node-API external owning Rust storage). */
export interface TensorHandle {
  readonly __flaxenTensorHandle: unique symbol
}

/** dtype names accepted and returned by the addon. */
export type NativeDType = 'float32' | 'int32' | 'uint32' | 'uint16' | 'uint8' | 'bool' | 'int8' | 'float16' | 'bfloat16'

export type NumericArray =
  | Float32Array
  | Float64Array
  | Int32Array
  | Uint32Array
  | Uint16Array
  | Uint8Array
  | Int8Array
  | Int16Array

/** dtype codes in `meta()` results, in this order. */
export const DTYPE_NAMES: readonly NativeDType[]

// creation (copies Rust storage)
export function fromData(data: NumericArray, dtype: NativeDType, shape: number[]): TensorHandle

// metadata and memory
/** `[dtypeCode, ...shape]`; dtypeCode indexes DTYPE_NAMES. Works for tracers too. */
export function meta(h: TensorHandle): number[]
/** A typed array viewing the tensor's native memory (no copy); float16 and bfloat16 are Uint16Arrays of their bits. */
export function view(h: TensorHandle): Float32Array | Int32Array | Uint32Array | Uint16Array | Uint8Array | Int8Array
/** Frees the tensor's storage now (when no other tensor shares it); detaches `view` if given. */
export function dispose(h: TensorHandle, view?: ArrayBufferView): void
/** Runs the tensor's deferred work now (a lazy triu/tril is materialised). */
export function blockUntilReady(h: TensorHandle): void
/** Bytes of tensor storage currently alive in this process. */
export function liveBytes(): number
/** Sets the byte cap: the largest single tensor buffer the core allocates (1 ..= 2^62). */
export function setMaxBytes(bytes: number): void
/** The byte cap (FLAXEN_MAX_BYTES, or the machine's physical memory by default). */
export function getMaxBytes(): number
/** The widest instruction set the kernels use: what the CPU has, capped by FLAXEN_CPU. */
export const CPU_LEVEL: 'baseline' | 'avx2' | 'avx512'

// the op table
/** Op names by code: `op(OP_NAMES.indexOf('add'), a, b)`. The one source of op codes. */
export const OP_NAMES: readonly string[]
/** An operand: a tensor handle, a number (weakly typed scalar), key data, null (absent) or a list. */
export type OpArg = TensorHandle | number | boolean | string | null | undefined | Uint32Array | readonly (number | TensorHandle)[]
/**
 * Runs (or, inside a trace, records) op `code` with its operands then its attributes, in the
 * order the core's table declares them. One output: its handle; several: an array of handles.
 */
export function op(code: number, ...args: OpArg[]): TensorHandle | TensorHandle[]

// random
/** `[0, seed mod 2^32]` (JAX's default 32-bit mode). */
export function keyFromSeed(seed: number): Uint32Array

// tracing and plans (jit)
export interface TraceHandle {
  readonly __flaxenTrace: unique symbol
}
export interface PlanHandle {
  readonly __flaxenPlan: unique symbol
}
// weights files (safetensors, Flax msgpack)
/** `[names, tensors, metadata as [key, value, ...] | null]` of a safetensors file (path) or its bytes. */
export function safetensorsLoad(source: string | Uint8Array): [string[], TensorHandle[], string[] | null]
/** JSON `{tensors: [[name, dtype, shape, bytes]...], metadata}`: the header only. */
export function safetensorsHeader(path: string): string
/** The file's bytes, or undefined once written to `path`. */
export function safetensorsSave(names: string[], tensors: TensorHandle[], metadata: string[] | null, path: string | null): Uint8Array | undefined
/** `[tagged JSON tree, tensors]` of a Flax msgpack file (path) or its bytes. */
export function msgpackRestore(source: string | Uint8Array, abstractOnly: boolean): [string, TensorHandle[]]
/** Flax msgpack bytes of a tagged JSON tree whose arrays index `tensors`. */
export function msgpackSerialize(tree: string, tensors: TensorHandle[], maxChunkSize: number): Uint8Array
/** Opens a trace on this thread: until it ends, `op` records instead of computing. An abstract trace (evalShape) is never compiled. */
export function traceBegin(abstractOnly: boolean): TraceHandle
/** A tracer for the trace's next input. */
export function traceInput(trace: TraceHandle, shape: number[], dtype: NativeDType): TensorHandle
/** Ends the trace and compiles the plan computing `outputs` (tracers or concrete tensors). */
export function traceEnd(trace: TraceHandle, outputs: TensorHandle[]): PlanHandle
/** Ends the trace without a plan. */
export function traceAbort(trace: TraceHandle): void
/** Ends the trace and computes `outputs` from its constants alone (lazyInit), or gives the index of the first output that depends on an input. */
export function traceEvalKnown(trace: TraceHandle, outputs: TensorHandle[]): TensorHandle[] | number
/** Runs a plan on the JS thread; donated inputs (`donate[i]`) are disposed. */
export function planRun(plan: PlanHandle, inputs: (TensorHandle | Uint32Array)[], donate: boolean[] | null): TensorHandle[]
export interface CancelToken {
  readonly __flaxenCancelToken: unique symbol
}
/** Runs a plan on the async pool; cancelling `token` stops it before its next step (ABORT_ERR). */
export function planRunAsync(plan: PlanHandle, inputs: (TensorHandle | Uint32Array)[], donate: boolean[] | null, token: CancelToken | null): Promise<TensorHandle[]>
export function cancelToken(): CancelToken
export function cancel(token: CancelToken): void
/** What the plan's passes left. */
export function planStats(plan: PlanHandle): { steps: number; consts: number; ops: string[]; reused: number; skipped: number; allocated: number }
/** Threads of the pool that runs async plans (0 = FLAXEN_NUM_THREADS or the cores). */
export function setNumThreads(n: number): void
export function getNumThreads(): number

/** A new external holding nothing: the Node-API floor of a call returning a handle (benchmark only). */
export function floorExternal(): object

/** Errors with this code are thrown as `new ctor(message)` from then on (this thread). */
export function registerErrorClass(code: string, ctor: new (message: string) => Error): void

/** Panics inside the addon on purpose (tests prove it becomes an Error with code E_PANIC). */
export function panicForTest(message: string): never
