// The numpy peer: OpenBLAS (for matmul) and numpy's own loops, measured in a `python3`
// subprocess. One process per measurement: its BLAS threads exit with it, so they cannot spin
// on a core while the next implementation is timed. The thread count comes from the worker's
// environment (OPENBLAS_NUM_THREADS, set by the parent for the whole worker).
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { FILL_PY } from './inputs'
import { summarize } from './timing'
import type { PeerInfo, Stats, TimingOptions } from './types'

/** A numpy computation, described as data so that Python builds it. */
export type NumpyTask =
  | { op: 'matmul'; m: number; k: number; n: number }
  | { op: 'matvec'; k: number; n: number }
  | { op: 'triu' | 'copy' | 'copyto'; rows: number; cols: number }
  | { op: 'unary'; name: string; rows: number; cols: number }
  | { op: 'binary'; name: string; rows: number; cols: number }
  | { op: 'mlp'; batch: number; dims: [number, number, number] }

const SCRIPT = `
import json, sys, time
import numpy as np
${FILL_PY}
def measure(fn, o):
    # Same algorithm as bench/src/timing.ts.
    now = time.perf_counter_ns
    def run(n):
        t0 = now()
        for _ in range(n):
            fn()
        return now() - t0
    warm_end = now() + o['warmupMs'] * 1e6
    fastest = run(1)
    while now() < warm_end:
        fastest = min(fastest, run(1))
    iters = max(1, int((o['minTimeMs'] * 1e6 / o['minBatches']) // max(fastest, 1)))
    per, total = [], 0
    while True:
        ns = run(iters)
        per.append(ns / iters)
        total += ns
        if len(per) >= o['minBatches'] and total >= o['minTimeMs'] * 1e6: break
        if len(per) >= 3 and total >= o['maxTimeMs'] * 1e6: break
    return per, iters

def mat(r, c, seed=0, scale=1.0):
    return fill(r * c, seed, scale).reshape(r, c)

def softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)

C = np.float32(0.7978845608028654)
UNARY = {
    'exp': np.exp, 'log': np.log, 'tanh': np.tanh, 'sqrt': np.sqrt,
    'relu': lambda x: np.maximum(x, np.float32(0)),
    'sigmoid': lambda x: np.float32(1) / (np.float32(1) + np.exp(-x)),
    'gelu': lambda x: np.float32(0.5) * x * (np.float32(1) + np.tanh(C * (x + np.float32(0.044715) * x * x * x))),
    'softmax': softmax,
    'sin': np.sin, 'cos': np.cos, 'log1p': np.log1p, 'expm1': np.expm1,
}
BINARY = {'add': np.add, 'multiply': np.multiply}

def build(t):
    op = t['op']
    if op == 'matmul':
        a, b = mat(t['m'], t['k']), mat(t['k'], t['n'], 1)
        return lambda: a @ b
    if op == 'matvec':
        # A 1-D x, so numpy calls sgemv: the best OpenBLAS has for M = 1.
        x, w = fill(t['k']), mat(t['k'], t['n'], 1)
        return lambda: x @ w
    if op in ('triu', 'copy', 'copyto'):
        a = mat(t['rows'], t['cols'])
        if op == 'triu': return lambda: np.triu(a)
        if op == 'copy': return lambda: a.copy()
        dst = np.empty_like(a)
        return lambda: np.copyto(dst, a)
    if op == 'unary':
        x, f = mat(t['rows'], t['cols']), UNARY[t['name']]
        if t['name'] in ('log', 'sqrt'): x = np.abs(x) + np.float32(0.5)
        return lambda: f(x)
    if op == 'binary':
        a, b, f = mat(t['rows'], t['cols']), mat(t['rows'], t['cols'], 1), BINARY[t['name']]
        return lambda: f(a, b)
    if op == 'mlp':
        d0, d1, d2 = t['dims']
        x, w1, b1 = mat(t['batch'], d0), mat(d0, d1, 1, 0.05), fill(d1, 2, 0.05)
        w2, b2 = mat(d1, d2, 3, 0.05), fill(d2, 4, 0.05)
        return lambda: np.maximum(x @ w1 + b1, np.float32(0)) @ w2 + b2
    raise ValueError('unknown task ' + op)

def blas():
    try:
        libs = sorted({l.split()[-1] for l in open('/proc/self/maps') if 'blas' in l.lower() and '/' in l})
    except OSError:
        return 'unknown', None
    # The implementation (libopenblas*.so) rather than the libblas.so.3 alternative in front of it.
    best = [p for p in libs if 'openblas' in p.rsplit('/', 1)[-1]] or [p for p in libs if 'lapack' not in p]
    if not best:
        return 'unknown', None
    core = None
    try:
        import ctypes
        f = ctypes.CDLL(best[0]).openblas_get_corename
        f.restype = ctypes.c_char_p
        core = f().decode()
    except Exception:
        pass
    return best[0], core

req = json.loads(sys.stdin.read())
if req.get('info'):
    np.ones((2, 2), np.float32) @ np.ones((2, 2), np.float32)  # loads the BLAS
    lib, core = blas()
    print(json.dumps({'version': np.__version__, 'blas': lib, 'core': core}))
else:
    per, iters = measure(build(req['task']), req['timing'])
    print(json.dumps({'perOp': per, 'iters': iters}))
`

/** `override` (an environment variable's value), else `FLAXEN_BENCH_PYTHON`, else Debian's `/usr/bin/python3` (numpy on the system OpenBLAS), else `python3`. */
export function pythonCandidates(override = process.env.FLAXEN_BENCH_PYTHON): string[] {
  if (override) return [override]
  return ['/usr/bin/python3', 'python3'].filter((p) => !p.startsWith('/') || existsSync(p))
}

/** Runs `script` in `python` with `request` as JSON on stdin; its stdout is parsed as JSON. */
export function callPython(python: string, script: string, request: object, timeoutMs: number, env = process.env): { ok: true; out: any } | { ok: false; error: string } {
  const r = spawnSync(python, ['-c', script], { input: JSON.stringify(request), encoding: 'utf8', timeout: timeoutMs, maxBuffer: 1 << 24, env })
  if (r.error) return { ok: false, error: r.error.message }
  if (r.status !== 0) return { ok: false, error: (r.stderr || `exit ${r.status}`).trim().split('\n').pop()! }
  return { ok: true, out: JSON.parse(r.stdout) }
}

const call = (python: string, request: object, timeoutMs: number, env = process.env) => callPython(python, SCRIPT, request, timeoutMs, env)

/** OpenBLAS kernels sets that use AVX-512, and those older than AVX2 + FMA. */
const AVX512_CORES = new Set(['SkylakeX', 'Cooperlake', 'SapphireRapids'])
const PRE_AVX2_CORES = new Set(['Prescott', 'Core2', 'Penryn', 'Dunnington', 'Nehalem', 'Sandybridge', 'Atom', 'Opteron', 'Barcelona', 'Bobcat', 'Bulldozer', 'Piledriver', 'Steamroller', 'Excavator', 'Katmai', 'Coppermine', 'Northwood', 'Banias'])

function cpuFlags(): Set<string> {
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8').split('\n').find((l) => l.startsWith('flags'))
    return new Set(line?.split(':')[1].trim().split(/\s+/) ?? [])
  } catch {
    return new Set()
  }
}

/**
 * The OPENBLAS_CORETYPE to run with, or null to keep OpenBLAS's choice. OpenBLAS's DYNAMIC_ARCH
 * picks its kernels from the CPU's vendor and model numbers, which virtual machines often mask
 * (a generic "Intel Xeon Processor"): 0.3.21 then falls back to Prescott (SSE3) kernels, several
 * times slower than the hardware allows, which would make a straw man of the peer. When the CPU
 * flags show AVX-512 (or AVX2 + FMA) and the detected kernels do not use them, the matching
 * kernel set is forced. A user's own OPENBLAS_CORETYPE is always kept.
 */
function coretypeFor(detected: string | null): string | null {
  if (process.env.OPENBLAS_CORETYPE || detected === null) return null
  const f = cpuFlags()
  if (['avx512f', 'avx512bw', 'avx512dq', 'avx512vl', 'avx512cd'].every((x) => f.has(x)) && !AVX512_CORES.has(detected)) return 'SkylakeX'
  if (f.has('avx2') && f.has('fma') && PRE_AVX2_CORES.has(detected)) return 'Haswell'
  return null
}

/**
 * Finds a python3 with numpy and decides the OpenBLAS kernels (`coretype`, to be put in the
 * environment of every process that runs numpy); never throws: an absent peer is a note.
 */
export function detectNumpy(): PeerInfo & { coretype?: string } {
  const errors: string[] = []
  for (const python of pythonCandidates()) {
    const r = call(python, { info: true }, 30_000)
    if (!r.ok) {
      errors.push(`${python}: ${r.error}`)
      continue
    }
    const info: PeerInfo & { coretype?: string } = { available: true, path: python, version: r.out.version, blas: r.out.blas }
    if (r.out.core) info.blasCore = process.env.OPENBLAS_CORETYPE ? `${r.out.core} (OPENBLAS_CORETYPE=${process.env.OPENBLAS_CORETYPE} from the environment)` : r.out.core
    const coretype = coretypeFor(r.out.core ?? null)
    if (coretype) {
      const forced = call(python, { info: true }, 30_000, { ...process.env, OPENBLAS_CORETYPE: coretype })
      if (forced.ok && forced.out.core === coretype) {
        info.coretype = coretype
        info.blasCore = `${coretype} (forced with OPENBLAS_CORETYPE: autodetection chose ${r.out.core} on this CPU, which has ${coretype === 'SkylakeX' ? 'AVX-512' : 'AVX2 + FMA'})`
      }
    }
    return info
  }
  return { available: false, reason: errors.join('; ') || 'no python3 found' }
}

/** Times one numpy task in a fresh Python process. */
export function measureNumpy(python: string, task: NumpyTask, timing: TimingOptions): Stats {
  const r = call(python, { task, timing }, 600_000)
  if (!r.ok) throw new Error(`numpy: ${r.error}`)
  return summarize(r.out.perOp, r.out.iters)
}
