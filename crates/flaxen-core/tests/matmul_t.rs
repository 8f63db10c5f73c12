//! `matmul_t(a, w)` = `matmul(a, transpose(w))` without the transposed copy: against the
//! transposed product, bit for bit (one row sums as the matrix-vector product does, more rows
//! as the microkernel does), and a naive f64 reference (1e-5 of Σ|a||w|), over the shapes that reach each path: one row (the dot products, with
//! and without a ragged k tail, split across threads), bands of W (partial last panel and band,
//! several bands per thread), batched and 1-D a, k = 0, and the fallback for other dtypes.
//! The row and band tests also run in children at `FLAXEN_CPU=avx2` and `baseline`, where w is
//! read in place by matrixmultiply (`BKind::F32T`) instead of the AVX-512 `gemm_nt`.

mod common;

use flaxen_core::ops::{matmul, matmul_t, transpose};
use flaxen_core::{DType, Tensor};

fn t(shape: &[usize], seed: u64) -> Tensor {
    Tensor::from_vec(common::values(shape.iter().product(), seed, 2.0), shape).unwrap()
}

/// Checks matmul_t(a, w) for a of shape `ashape` (last axis k) and w of shape [n, k].
fn check(ashape: &[usize], n: usize) {
    let k = *ashape.last().unwrap();
    let (a, w) = (t(ashape, (n * 7 + k) as u64), t(&[n, k], (k * 13 + n) as u64));
    let got = matmul_t(&a, &w).unwrap();
    let want = matmul(&a, &transpose(&w, None).unwrap()).unwrap();
    assert_eq!(got.shape(), want.shape(), "{ashape:?} @ [{n}, {k}]ᵀ");
    let m: usize = ashape[..ashape.len() - 1].iter().product();
    let (g, wv) = (got.to_vec::<f32>().unwrap(), want.to_vec::<f32>().unwrap());
    assert_eq!(g, wv, "{ashape:?} @ [{n}, {k}]ᵀ: not the transposed product's bits");
    // Against f64, scaled by Σ|a||w| per output.
    let (av, ww) = (a.to_vec::<f32>().unwrap(), w.to_vec::<f32>().unwrap());
    for i in 0..m {
        for j in 0..n {
            let (mut s, mut abs) = (0f64, 0f64);
            for d in 0..k {
                let p = av[i * k + d] as f64 * ww[j * k + d] as f64;
                s += p;
                abs += p.abs();
            }
            let e = (g[i * n + j] as f64 - s).abs();
            assert!(e <= 1e-5 * abs + 1e-30, "{ashape:?} @ [{n}, {k}]ᵀ [{i}, {j}]: {} vs {s}", g[i * n + j]);
        }
    }
}

#[test]
fn one_row_dot_products() {
    for (k, n) in [(1, 1), (16, 4), (17, 5), (768, 2304), (100, 3), (31, 130), (3, 16), (13, 35), (2048, 520)] {
        check(&[1, k], n);
        check(&[k], n);
    }
}

#[test]
fn bands_of_w_give_the_transposed_products_bits() {
    // (150, 70, 2000): two blocks of A rows and three blocks of w's rows in the AVX2 product.
    for (m, k, n) in [(2, 3, 1), (5, 17, 33), (12, 64, 128), (13, 96, 129), (64, 768, 300), (65, 40, 257), (130, 256, 96), (150, 70, 2000)] {
        check(&[m, k], n);
    }
    // Leading axes of a flatten into rows.
    check(&[2, 3, 20], 40);
    check(&[4, 1, 16], 7);
}

#[test]
fn on_one_thread_and_two() {
    for threads in [1, 2] {
        rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap().install(|| {
            check(&[1, 1024], 1024);
            check(&[1, 3], 1 << 17);
            check(&[48, 512], 700);
        });
    }
}

#[test]
fn empty_and_fallback_cases() {
    // k = 0: zeros.
    let z = matmul_t(&Tensor::zeros(&[3, 0], DType::F32), &Tensor::zeros(&[4, 0], DType::F32)).unwrap();
    assert_eq!((z.shape(), z.to_vec::<f32>().unwrap()), (&[3usize, 4][..], vec![0f32; 12]));
    // Half-precision weights and 3-D w take the transposed product itself, errors included.
    let (a, w) = (t(&[2, 8], 1), t(&[5, 8], 2).astype(DType::BF16));
    let want = matmul(&a, &transpose(&w, None).unwrap()).unwrap();
    assert_eq!(matmul_t(&a, &w).unwrap().as_bytes(), want.as_bytes());
    let e = matmul_t(&t(&[2, 8], 3), &t(&[5, 9], 4)).unwrap_err();
    let e2 = matmul(&t(&[2, 8], 3), &transpose(&t(&[5, 9], 4), None).unwrap()).unwrap_err();
    assert_eq!(e.to_string(), e2.to_string());
}

/// Re-runs the tests above at the lower CPU levels (chosen once per process, so in children).
#[test]
fn at_the_lower_cpu_levels() {
    if std::env::var_os("FLAXEN_MATMUL_T_CHILD").is_some() {
        return;
    }
    for level in ["avx2", "baseline"] {
        for name in ["one_row_dot_products", "bands_of_w_give_the_transposed_products_bits", "on_one_thread_and_two"] {
            common::passes_in_child(name, "FLAXEN_CPU", level, "FLAXEN_MATMUL_T_CHILD");
        }
    }
}
