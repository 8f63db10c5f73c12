// Benchmark inputs: the same values in every implementation. A formula rather than a PRNG so the
// numpy peer computes exactly the same float32 numbers (both evaluate it in float64, then round):
// values in [-1, 1) times `scale`, no zeros runs, no denormals, no NaN.

export function fill(n: number, seed = 0, scale = 1): Float32Array {
  const out = new Float32Array(n)
  for (let i = 0; i < n; i++) out[i] = ((((i + seed) * 7919) % 2000) / 1000 - 1) * scale
  return out
}

/** The Python twin of `fill` (kept beside it so the two cannot drift apart unnoticed). */
export const FILL_PY = `
def fill(n, seed=0, scale=1.0):
    i = np.arange(n, dtype=np.int64)
    return (((((i + seed) * 7919) % 2000) / 1000.0 - 1.0) * scale).astype(np.float32)
`
