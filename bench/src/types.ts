// The shapes shared by the benchmark's worker (which measures) and its parent (which reports).
// A worker returns rows as JSON over stdout, so everything here is plain data.

/** How long to measure: the same numbers drive flaxen, the JS baselines, onnxruntime and numpy. */
export interface TimingOptions {
  /** Run the function for at least this long (and at least once) before measuring. */
  warmupMs: number
  /** Measure for at least this long in total... */
  minTimeMs: number
  /** ...and over at least this many batches (the figure is the median batch). */
  minBatches: number
  /** Stop after this long once 3 batches exist (slow baselines, e.g. a JS 1024² matmul). */
  maxTimeMs: number
}

/** One implementation timed: per-operation nanoseconds over the batches. */
export interface Stats {
  medianNs: number
  minNs: number
  p10Ns: number
  p90Ns: number
  batches: number
  itersPerBatch: number
}

/** One implementation's figure in a row: `value` is in the suite's unit. */
export interface Measurement {
  value: number
  stats?: Stats
  /** Timings: how many interleaved rounds it was measured in (the best round is kept). */
  rounds?: number
  /** Anything else worth keeping (e.g. the memory suite's per-op time). */
  extra?: Record<string, number>
}

export interface Row {
  /** Stable id of the case within its suite, e.g. `matmul-1024`. */
  id: string
  /** What the table prints, e.g. `1024²`. */
  label: string
  threads: number
  params: Record<string, number | string>
  /** Keyed by implementation (column) key. Absent: skipped, with the reason in `notes`. */
  results: Record<string, Measurement>
  /** `results[primary].value / results[key].value` for every other key present. */
  ratios: Record<string, number>
  notes: string[]
}

export interface Column {
  key: string
  label: string
}

/** What a suite tells the report about itself (the worker fills in the rows). */
export interface SuiteInfo {
  name: string
  title: string
  /** e.g. `GFLOP/s`, `µs`. */
  unit: string
  higherIsBetter: boolean
  /** The column every ratio is taken against (normally `flaxen`). */
  primary: string
  columns: Column[]
  /** Printed under the table: how the figures are made. */
  method: string
}

export interface SuiteResult extends SuiteInfo {
  rows: Row[]
  notes: string[]
}

export interface PeerInfo {
  available: boolean
  /** Why not, when unavailable. */
  reason?: string
  version?: string
  path?: string
  /** numpy: the BLAS library numpy loaded (from /proc/self/maps). */
  blas?: string
  /** numpy: OpenBLAS's kernel set (openblas_get_corename) and why. */
  blasCore?: string
}

export interface Target {
  id: string
  /** The suite whose rows it reads. */
  suite: string
  label: string
  /** null: the figures it needs were not measured (suite not run, peer missing). */
  measured: number | null
  /** e.g. `≥ 0.90×`. */
  goal: string
  pass: boolean | null
}

export interface BenchReport {
  meta: {
    date: string
    node: string
    cpu: string
    cores: number
    threads: number[]
    quick: boolean
    timing: TimingOptions
    rounds: number
    peers: { numpy: PeerInfo; onnxruntime: PeerInfo }
  }
  suites: SuiteResult[]
  targets: Target[]
}
