// linalg: the linear algebra of `jnp.linalg` that flaxen needs (Rust kernels, f64 inside).
import { opCode, opN } from './ops'
import { Tensor, asTensor } from './tensor'

/**
 * `jnp.linalg.qr(a)` (mode 'reduced') of a float32 `[m, n]` matrix: `[q, r]` with q `[m, k]`
 * orthonormal columns, r `[k, n]` upper triangular, k = min(m, n). Signs follow LAPACK (as JAX);
 * values agree with JAX to float32 rounding, not bit for bit.
 */
export function qr(a: Tensor): [Tensor, Tensor] {
  const [q, r] = opN(opCode('qr'), asTensor(a, 'a').handle)
  return [new Tensor(q), new Tensor(r)]
}
