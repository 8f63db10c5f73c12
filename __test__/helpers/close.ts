// Numeric comparisons for tests: report the first mismatching index with both values.

export function maxRelError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  let worst = 0
  for (let i = 0; i < expected.length; i++) {
    const scale = Math.max(Math.abs(expected[i]), 1e-30)
    worst = Math.max(worst, Math.abs(actual[i] - expected[i]) / scale)
  }
  return worst
}

/** Index and values of the first element outside `atol + rtol * |expected|`, or undefined. */
export function firstMismatch(actual: ArrayLike<number>, expected: ArrayLike<number>, rtol: number, atol = 0): string | undefined {
  if (actual.length !== expected.length) return `length ${actual.length} vs expected ${expected.length}`
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]
    const e = expected[i]
    if (Number.isNaN(e) && Number.isNaN(a)) continue
    if (!(Math.abs(a - e) <= atol + rtol * Math.abs(e))) return `index ${i}: got ${a}, expected ${e}`
  }
  return undefined
}
