// The Python peer of the io suite: Flax's `msgpack_restore` / `to_bytes` and
// `safetensors.flax.load_file` on the very files flaxen reads, timed in a python3 that has flax
// and safetensors (optional: a missing one is a note). Timed as the io suite times flaxen: best
// of n wall times in one process, page cache warm.
import { callPython, pythonCandidates } from './numpy-peer'

export type FlaxTask = { op: 'restore' | 'save' | 'loadfile'; path: string }

const SCRIPT = `
import json, sys, time
req = json.loads(sys.stdin.read())
import flax, safetensors
if req.get('info'):
    print(json.dumps({'version': 'flax %s, safetensors %s' % (flax.__version__, safetensors.__version__)}))
    sys.exit(0)
from flax import serialization
import safetensors.flax as sf
def best(n, f):
    ms = float('inf')
    for _ in range(n):
        t0 = time.perf_counter_ns()
        f()
        ms = min(ms, (time.perf_counter_ns() - t0) / 1e6)
    return ms
def read(path):
    with open(path, 'rb') as fh:
        return fh.read()
t = req['task']
if t['op'] == 'restore':
    ms = best(3, lambda: serialization.msgpack_restore(read(t['path'])))
elif t['op'] == 'save':
    tree = serialization.msgpack_restore(read(t['path']))
    ms = best(3, lambda: serialization.to_bytes(tree))
else:
    ms = best(5, lambda: sf.load_file(t['path']))
print(json.dumps({'ms': ms}))
`

/** A python3 with flax and safetensors: `FLAXEN_BENCH_FLAX_PYTHON`, else the numpy peer's candidates. */
export function detectFlax(): { python: string; version: string } | { python: null; reason: string } {
  const errors: string[] = []
  for (const python of pythonCandidates(process.env.FLAXEN_BENCH_FLAX_PYTHON ?? process.env.FLAXEN_BENCH_PYTHON)) {
    const r = callPython(python, SCRIPT, { info: true }, 60_000)
    if (r.ok) return { python, version: r.out.version }
    errors.push(`${python}: ${r.error}`)
  }
  return { python: null, reason: `no python3 with flax and safetensors (set FLAXEN_BENCH_FLAX_PYTHON): ${errors.join('; ')}` }
}

/** Milliseconds of the best of Python's runs of `task`. */
export function measureFlax(python: string, task: FlaxTask): number {
  const r = callPython(python, SCRIPT, { task }, 600_000)
  if (!r.ok) throw new Error(`flax: ${r.error}`)
  return r.out.ms
}
