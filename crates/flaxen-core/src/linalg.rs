//! Dense linear algebra the initializers need: the reduced QR factorisation behind
//! `jax.nn.initializers.orthogonal` (`jnp.linalg.qr(a)`, mode 'reduced').
//!
//! Householder reflections in f64 on a float32 matrix, rounded back to float32. JAX calls
//! LAPACK's `geqrf`/`orgqr`, whose reflector convention this follows (R's diagonal entry j is
//! `-sign(x_0) * |x|`), so the signs of R's diagonal agree with JAX and the orthogonal
//! initializer's sign fix gives the same Q up to rounding — not bit for bit (LAPACK blocks
//! and orders its float32 sums differently).

use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// `qr(a)` of a float32 `[m, n]` matrix: `(q [m, k], r [k, n])` with `k = min(m, n)`, `q` with
/// orthonormal columns, `r` upper triangular, `a = q @ r`.
pub fn qr(a: &Tensor) -> Result<(Tensor, Tensor)> {
    if a.dtype() != DType::F32 {
        return Err(Error::dtype(format!(
            "qr: expected a float32 matrix, got {}",
            a.dtype().name()
        )));
    }
    let &[m, n] = a.shape() else {
        return Err(Error::shape(format!(
            "qr: expected a 2-D matrix, got shape {:?}",
            a.shape()
        )));
    };
    let k = m.min(n);
    // Working copy, row-major: overwritten by R above the diagonal.
    let mut w: Vec<f64> = a.as_slice::<f32>()?.iter().map(|&x| x as f64).collect();
    // Householder vectors v_j (length m - j) and their squared norms (0 = no reflection).
    let mut vs: Vec<(Vec<f64>, f64)> = Vec::with_capacity(k);
    for j in 0..k {
        let mut v: Vec<f64> = (j..m).map(|i| w[i * n + j]).collect();
        let below = v[1..].iter().map(|x| x * x).sum::<f64>();
        // As LAPACK's dlarfg: nothing below the diagonal → H = I (R keeps x0 and its sign);
        // else beta = -sign(x0) * |x| (sign(0) = +1) and v = x - beta e0.
        if below == 0.0 {
            vs.push((v, 0.0));
            continue;
        }
        let norm = (v[0] * v[0] + below).sqrt();
        let beta = if v[0] >= 0.0 { -norm } else { norm };
        v[0] -= beta;
        let vnorm2 = v.iter().map(|x| x * x).sum::<f64>();
        reflect(&mut w, n, j, j..n, &v, vnorm2);
        vs.push((v, vnorm2));
    }
    let r: Vec<f32> = (0..k)
        .flat_map(|i| (0..n).map(move |c| (i, c)))
        .map(|(i, c)| if c < i { 0.0 } else { w[i * n + c] as f32 })
        .collect();
    // Q = H_0 H_1 ... H_{k-1} applied to the first k columns of the identity, last reflector first.
    let mut q = vec![0.0f64; m * k];
    for d in 0..k {
        q[d * k + d] = 1.0;
    }
    for (j, (v, vnorm2)) in vs.iter().enumerate().rev() {
        if *vnorm2 > 0.0 {
            reflect(&mut q, k, j, 0..k, v, *vnorm2);
        }
    }
    let q: Vec<f32> = q.into_iter().map(|x| x as f32).collect();
    Ok((Tensor::from_vec(q, &[m, k])?, Tensor::from_vec(r, &[k, n])?))
}

/// Applies `H = I - 2 v vᵀ / |v|²` to rows `row0..` and the given columns of the row-major
/// matrix `x` with `cols` columns.
fn reflect(
    x: &mut [f64],
    cols: usize,
    row0: usize,
    columns: std::ops::Range<usize>,
    v: &[f64],
    vnorm2: f64,
) {
    for c in columns {
        let dot: f64 = v
            .iter()
            .enumerate()
            .map(|(t, vt)| vt * x[(row0 + t) * cols + c])
            .sum();
        let f = 2.0 * dot / vnorm2;
        for (t, vt) in v.iter().enumerate() {
            x[(row0 + t) * cols + c] -= f * vt;
        }
    }
}
