// Pure-JS baselines: what a Node user writes without a native library. Plain loops over
// Float32Array, one thread, each allocating its output as the library ops do. Written the
// cache-friendly way (i-k-j matmul, row-wise set for triu), not deliberately slow.

/** `a [m,k] @ b [k,n]`, i-k-j order so the inner loop streams rows of b and c. */
export function matmul(a: Float32Array, b: Float32Array, m: number, k: number, n: number): Float32Array {
  const c = new Float32Array(m * n)
  for (let i = 0; i < m; i++) {
    const ci = i * n
    for (let p = 0; p < k; p++) {
      const av = a[i * k + p]
      const bp = p * n
      for (let j = 0; j < n; j++) c[ci + j] += av * b[bp + j]
    }
  }
  return c
}

/** `x + bias` over rows, then max(·, 0) when `relu`, in place. */
export function biasAct(x: Float32Array, bias: Float32Array, relu: boolean): Float32Array {
  const n = bias.length
  for (let i = 0; i < x.length; i += n) {
    for (let j = 0; j < n; j++) {
      const v = x[i + j] + bias[j]
      x[i + j] = relu && v < 0 ? 0 : v
    }
  }
  return x
}

/** Upper triangle: a zeroed output, then each row's kept tail copied with `set`. */
export function triu(x: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols)
  for (let i = 0; i < rows && i < cols; i++) out.set(x.subarray(i * cols + i, (i + 1) * cols), i * cols + i)
  return out
}

/** Elementwise maps: a new output per call; one explicit loop each (a shared loop over a callback
 * would see several callees and stop being inlined). */
export const unary: Record<string, (x: Float32Array) => Float32Array> = {
  sin: (x) => {
    const out = new Float32Array(x.length)
    for (let i = 0; i < x.length; i++) out[i] = Math.sin(x[i])
    return out
  },
  cos: (x) => {
    const out = new Float32Array(x.length)
    for (let i = 0; i < x.length; i++) out[i] = Math.cos(x[i])
    return out
  },
  log1p: (x) => {
    const out = new Float32Array(x.length)
    for (let i = 0; i < x.length; i++) out[i] = Math.log1p(x[i])
    return out
  },
  expm1: (x) => {
    const out = new Float32Array(x.length)
    for (let i = 0; i < x.length; i++) out[i] = Math.expm1(x[i])
    return out
  },
  exp: (x) => {
    const out = new Float32Array(x.length)
    for (let i = 0; i < x.length; i++) out[i] = Math.exp(x[i])
    return out
  },
  log: (x) => {
    const out = new Float32Array(x.length)
    for (let i = 0; i < x.length; i++) out[i] = Math.log(x[i])
    return out
  },
  tanh: (x) => {
    const out = new Float32Array(x.length)
    for (let i = 0; i < x.length; i++) out[i] = Math.tanh(x[i])
    return out
  },
  sqrt: (x) => {
    const out = new Float32Array(x.length)
    for (let i = 0; i < x.length; i++) out[i] = Math.sqrt(x[i])
    return out
  },
  relu: (x) => {
    const out = new Float32Array(x.length)
    for (let i = 0; i < x.length; i++) out[i] = x[i] > 0 ? x[i] : 0
    return out
  },
  sigmoid: (x) => {
    const out = new Float32Array(x.length)
    for (let i = 0; i < x.length; i++) out[i] = 1 / (1 + Math.exp(-x[i]))
    return out
  },
  gelu: (x) => {
    const out = new Float32Array(x.length)
    const c = Math.sqrt(2 / Math.PI)
    for (let i = 0; i < x.length; i++) {
      const v = x[i]
      out[i] = 0.5 * v * (1 + Math.tanh(c * (v + 0.044715 * v * v * v)))
    }
    return out
  },
}

/** Softmax over rows of length `cols`. */
export function softmax(x: Float32Array, cols: number): Float32Array {
  const out = new Float32Array(x.length)
  for (let r = 0; r < x.length; r += cols) {
    let max = -Infinity
    for (let j = 0; j < cols; j++) if (x[r + j] > max) max = x[r + j]
    let sum = 0
    for (let j = 0; j < cols; j++) sum += out[r + j] = Math.exp(x[r + j] - max)
    const inv = 1 / sum
    for (let j = 0; j < cols; j++) out[r + j] *= inv
  }
  return out
}

export const binary: Record<string, (a: Float32Array, b: Float32Array) => Float32Array> = {
  add: (a, b) => {
    const out = new Float32Array(a.length)
    for (let i = 0; i < a.length; i++) out[i] = a[i] + b[i]
    return out
  },
  multiply: (a, b) => {
    const out = new Float32Array(a.length)
    for (let i = 0; i < a.length; i++) out[i] = a[i] * b[i]
    return out
  },
}
