//! The matmul engine's paths against naive f64 references: microkernel edge tiles (every row
//! count of the last row panel, 1..=12 for AVX-512 and 1..=6 for AVX2, one or two vectors,
//! masked last columns), in-place and
//! packed B, matvec (M = 1), the parallel splits, and the fused masked product
//! `matmul_masked` (= matmul(a, triu/tril(b, k))). Every test also runs in a child process with
//! `FLAXEN_NO_SIMD=1`, where the portable paths (matrixmultiply, plain matvec) run instead, and
//! at `FLAXEN_CPU=avx2` (the AVX2 GEMM and matvec).

mod common;

use flaxen_core::ops::{matmul, matmul_masked, tril, triu};
use flaxen_core::Tensor;

fn data(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_add(7);
    (0..n)
        .map(|_| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

fn t(shape: &[usize], seed: u64) -> Tensor {
    Tensor::from_vec(data(shape.iter().product(), seed), shape).unwrap()
}

/// C = A·B for 2-D row-major data in f64, and Σ|a||b| per element (the error scale).
fn naive(a: &[f32], b: &[f32], m: usize, k: usize, n: usize) -> (Vec<f64>, Vec<f64>) {
    let mut c = vec![0.0; m * n];
    let mut s = vec![0.0; m * n];
    for i in 0..m {
        for p in 0..k {
            let x = a[i * k + p] as f64;
            for j in 0..n {
                let y = b[p * n + j] as f64;
                c[i * n + j] += x * y;
                s[i * n + j] += (x * y).abs();
            }
        }
    }
    (c, s)
}

/// |got - want| ≤ 1e-4 · Σ|a||b| (+ a tiny floor), elementwise.
fn close(got: &[f32], want: &[f64], scale: &[f64], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, ((&g, &w), &s)) in got.iter().zip(want).zip(scale).enumerate() {
        assert!((g as f64 - w).abs() <= 1e-4 * s + 1e-30, "{what} [{i}]: {g} vs {w} (scale {s})");
    }
}

fn check_2d(m: usize, k: usize, n: usize) {
    let (a, b) = (t(&[m, k], (m * 31 + k) as u64), t(&[k, n], (k * 17 + n) as u64));
    let c = matmul(&a, &b).unwrap();
    assert_eq!(c.shape(), &[m, n]);
    let (want, scale) = naive(&a.to_vec::<f32>().unwrap(), &b.to_vec::<f32>().unwrap(), m, k, n);
    close(&c.to_vec::<f32>().unwrap(), &want, &scale, &format!("{m}x{k} @ {k}x{n}"));
}

/// Runs `f` in a pool of `threads` threads.
fn with_threads(threads: usize, f: impl FnOnce() + Send) {
    rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap().install(f);
}

/// Runs the named test again in children at the lower CPU levels (the choice is made once per
/// process): `FLAXEN_CPU=avx2` (the AVX2 GEMM and matvec) and `FLAXEN_NO_SIMD=1`
/// (the portable paths); asserts each passed. On a CPU without AVX-512 the first repeats the
/// parent's run.
fn also_plain(name: &str) {
    if std::env::var_os("FLAXEN_GEMM_CHILD").is_some() {
        return;
    }
    for (var, value) in [("FLAXEN_CPU", "avx2"), ("FLAXEN_NO_SIMD", "1")] {
        common::passes_in_child(name, var, value, "FLAXEN_GEMM_CHILD");
    }
}

#[test]
fn microkernel_edge_tiles() {
    // m covers every last-panel row count; n covers 1 vector, 2 vectors, masked lanes and
    // several panels; k covers short and multi-block depths.
    for m in 1..=26 {
        for &n in &[1, 5, 16, 17, 31, 32, 33, 48, 65] {
            check_2d(m, 7, n);
        }
    }
    for &(m, k, n) in &[(12, 1, 32), (13, 300, 33), (25, 257, 64), (37, 513, 47), (64, 64, 64), (96, 40, 96)] {
        check_2d(m, k, n);
    }
    also_plain("microkernel_edge_tiles");
}

#[test]
fn packed_and_prefetched_b() {
    // ldb ≥ 2048 with m > 48 packs B (and splits columns across threads); k·n > 65536 with
    // B in place prefetches it (with at most 64 rows, the next panel: across a short last
    // column panel and into the next depth block); KC and NC blocking with remainders.
    check_2d(50, 300, 2050);
    check_2d(55, 1100, 300);
    check_2d(64, 700, 129);
    check_2d(49, 70, 2048);
    check_2d(30, 600, 1100);
    check_2d(130, 257, 1030);
    with_threads(1, || check_2d(61, 520, 2080));
    with_threads(3, || check_2d(100, 100, 2100));
    also_plain("packed_and_prefetched_b");
}

#[test]
fn parallel_splits() {
    for threads in [1, 2, 3, 4] {
        with_threads(threads, || {
            check_2d(800, 40, 96); // many row panels: row bands
            check_2d(200, 150, 170); // fewer than 16 panels per thread: column bands
            check_2d(20, 300, 400); // few rows: column bands
            check_2d(7, 500, 300);
        });
    }
    also_plain("parallel_splits");
}

#[test]
fn matvec() {
    for &(k, n) in &[(1, 1), (3, 17), (4, 16), (5, 33), (7, 2049), (1000, 1000), (513, 4100)] {
        check_2d(1, k, n);
        // 1-D x: numpy's vector @ matrix.
        let (x, w) = (t(&[k], k as u64), t(&[k, n], n as u64));
        let y = matmul(&x, &w).unwrap();
        assert_eq!(y.shape(), &[n]);
        let (want, scale) = naive(&x.to_vec::<f32>().unwrap(), &w.to_vec::<f32>().unwrap(), 1, k, n);
        close(&y.to_vec::<f32>().unwrap(), &want, &scale, "vector @ matrix");
    }
    // Batched M = 1 and a parallel split of a wide matvec.
    with_threads(2, || check_2d(1, 1500, 3000));
    let (x, w) = (t(&[3, 1, 40], 1), t(&[40, 50], 2));
    let y = matmul(&x, &w).unwrap();
    assert_eq!(y.shape(), &[3, 1, 50]);
    let xs = x.to_vec::<f32>().unwrap();
    for bi in 0..3 {
        let (want, scale) = naive(&xs[bi * 40..(bi + 1) * 40], &w.to_vec::<f32>().unwrap(), 1, 40, 50);
        close(&y.to_vec::<f32>().unwrap()[bi * 50..(bi + 1) * 50], &want, &scale, "batched matvec");
    }
    also_plain("matvec");
}

/// matmul_masked against the unfused path (1e-5 relative to Σ|a||b|) and the naive reference.
fn check_masked(sa: &[usize], sb: &[usize], k: i64, upper: bool) {
    let (a, b) = (t(sa, 11 + sa.len() as u64), t(sb, 23 + sb.len() as u64));
    let masked = if upper { triu(&b, k).unwrap() } else { tril(&b, k).unwrap() };
    let unfused = matmul(&a, &masked).unwrap();
    let fused = matmul_masked(&a, &b, k, upper).unwrap();
    let what = format!("{sa:?} @ {}({sb:?}, {k})", if upper { "triu" } else { "tril" });
    assert_eq!(fused.shape(), unfused.shape(), "{what}");
    // Scale per output element: Σ|a||masked b| for 2-D operands, else a bound from the norms.
    let (fv, uv) = (fused.to_vec::<f32>().unwrap(), unfused.to_vec::<f32>().unwrap());
    if sa.len() == 2 && sb.len() == 2 {
        let (m, kk, n) = (sa[0], sa[1], sb[1]);
        let (want, scale) = naive(&a.to_vec::<f32>().unwrap(), &masked.to_vec::<f32>().unwrap(), m, kk, n);
        close(&fv, &want, &scale, &what);
        for (i, ((&f, &u), &s)) in fv.iter().zip(&uv).zip(&scale).enumerate() {
            assert!((f as f64 - u as f64).abs() <= 1e-5 * s + 1e-30, "{what} [{i}]: fused {f} vs unfused {u}");
        }
    } else {
        let kk = sa[sa.len() - 1] as f64;
        for (i, (&f, &u)) in fv.iter().zip(&uv).enumerate() {
            assert!((f as f64 - u as f64).abs() <= 1e-5 * kk, "{what} [{i}]: fused {f} vs unfused {u}");
        }
    }
}

#[test]
fn fused_masked_matmul() {
    for upper in [true, false] {
        for &k in &[0i64, 1, -1, 5, -7, 300, -300, 2000, -2000] {
            check_masked(&[5, 13], &[13, 11], k, upper);
            check_masked(&[33, 300], &[300, 290], k, upper); // several row blocks, odd sizes
            check_masked(&[1, 260], &[260, 259], k, upper); // matvec pieces
        }
        for &k in &[0i64, 3, -3] {
            check_masked(&[40, 70], &[70, 100], k, upper); // wide (more columns than rows)
            check_masked(&[3, 40, 20], &[20, 20], k, upper); // batched a, shared b
            check_masked(&[2, 1, 9, 30], &[3, 30, 31], k, upper); // broadcast batch
            check_masked(&[30], &[30, 30], k, upper); // 1-D a
            check_masked(&[4, 0, 5], &[5, 5], k, upper); // empty
        }
        for threads in [1, 2, 3] {
            with_threads(threads, || {
                check_masked(&[32, 520], &[520, 520], 0, upper); // column bands of equal work
                check_masked(&[300, 260], &[260, 270], 1, upper); // row bands
                check_masked(&[64, 1024], &[1024, 1024], -2, upper);
            });
        }
    }
    also_plain("fused_masked_matmul");
}

#[test]
fn fused_masked_matmul_edge_values_and_errors() {
    // A non-finite a falls back to the unfused product (inf·0 must stay NaN).
    let mut av = data(4 * 6, 1);
    av[7] = f32::INFINITY;
    let a = Tensor::from_vec(av, &[4, 6]).unwrap();
    let b = t(&[6, 6], 2);
    let got = matmul_masked(&a, &b, 0, true).unwrap().to_vec::<f32>().unwrap();
    let want = matmul(&a, &triu(&b, 0).unwrap()).unwrap().to_vec::<f32>().unwrap();
    for (g, w) in got.iter().zip(&want) {
        assert!(g == w || (g.is_nan() && w.is_nan()), "{g} vs {w}");
    }
    // NaN in the masked-out part of b is masked away in both paths.
    let mut bv = data(36, 3);
    bv[6] = f32::NAN; // row 1, column 0: below the diagonal
    let b = Tensor::from_vec(bv, &[6, 6]).unwrap();
    let a = t(&[4, 6], 4);
    let fused = matmul_masked(&a, &b, 0, true).unwrap().to_vec::<f32>().unwrap();
    assert!(fused.iter().all(|v| v.is_finite()));
    // Errors are those of matmul(a, triu(b, k)).
    let ints = Tensor::from_vec(vec![1i32; 4], &[2, 2]).unwrap();
    assert_eq!(
        matmul_masked(&ints, &t(&[2, 2], 1), 0, true).unwrap_err().message,
        matmul(&ints, &triu(&t(&[2, 2], 1), 0).unwrap()).unwrap_err().message
    );
    assert_eq!(
        matmul_masked(&t(&[2, 3], 1), &t(&[4, 4], 2), 0, false).unwrap_err().message,
        matmul(&t(&[2, 3], 1), &t(&[4, 4], 2)).unwrap_err().message
    );
    assert!(matmul_masked(&t(&[2, 3], 1), &t(&[3], 2), 0, true).unwrap_err().message.starts_with("triu"));
}
