//! Reduced QR (linalg::qr): shapes, orthonormal Q, upper-triangular R, A = QR, LAPACK's signs.

use flaxen_core::linalg::qr;
use flaxen_core::prng::normal;
use flaxen_core::{prng::key_from_seed, DType, ErrorCode, Tensor};

fn mat(t: &Tensor) -> (Vec<f64>, usize, usize) {
    let s = t.shape();
    (t.to_f64_vec(), s[0], s[1])
}

fn check(a: &Tensor) {
    let (q, r) = qr(a).unwrap();
    let (av, m, n) = mat(a);
    let k = m.min(n);
    assert_eq!(q.shape(), &[m, k]);
    assert_eq!(r.shape(), &[k, n]);
    let (qv, _, _) = mat(&q);
    let (rv, _, _) = mat(&r);
    for i in 0..k {
        for c in 0..i {
            assert_eq!(rv[i * n + c], 0.0, "R is upper triangular");
        }
    }
    for i in 0..k {
        for j in 0..k {
            let dot: f64 = (0..m).map(|t| qv[t * k + i] * qv[t * k + j]).sum();
            let want = if i == j { 1.0 } else { 0.0 };
            assert!((dot - want).abs() < 1e-5, "QᵀQ[{i},{j}] = {dot}");
        }
    }
    for i in 0..m {
        for c in 0..n {
            let x: f64 = (0..k).map(|t| qv[i * k + t] * rv[t * n + c]).sum();
            assert!(
                (x - av[i * n + c]).abs() < 1e-5 * (1.0 + av[i * n + c].abs()),
                "QR[{i},{c}]"
            );
        }
    }
}

#[test]
fn factorises_tall_wide_and_square() {
    let k = key_from_seed(0);
    for shape in [[5, 3], [3, 5], [4, 4], [1, 1], [7, 1], [1, 7], [64, 48]] {
        check(&normal(k, &shape));
    }
}

#[test]
fn lapack_sign_convention_and_known_answer() {
    // [[3], [4]]: x0 > 0 gives R = -5, Q = -x/5.
    let a = Tensor::from_vec(vec![3.0f32, 4.0], &[2, 1]).unwrap();
    let (q, r) = qr(&a).unwrap();
    assert_eq!(r.to_vec::<f32>().unwrap(), vec![-5.0]);
    assert_eq!(q.to_vec::<f32>().unwrap(), vec![-0.6, -0.8]);
    // numpy.linalg.qr([[1, 2], [3, 4]]) = Q [[-0.316, -0.949], [-0.949, 0.316]], R [[-3.162, -4.427], [0, -0.632]].
    let a = Tensor::from_vec(vec![1.0f32, 2.0, 3.0, 4.0], &[2, 2]).unwrap();
    let (q, r) = qr(&a).unwrap();
    let s10 = 10f32.sqrt();
    let want_q = [-1.0 / s10, -3.0 / s10, -3.0 / s10, 1.0 / s10];
    let want_r = [-s10, -14.0 / s10, 0.0, -2.0 / s10];
    for (g, w) in q.to_vec::<f32>().unwrap().iter().zip(want_q) {
        assert!((g - w).abs() < 1e-6, "q {g} vs {w}");
    }
    for (g, w) in r.to_vec::<f32>().unwrap().iter().zip(want_r) {
        assert!((g - w).abs() < 1e-6, "r {g} vs {w}");
    }
}

#[test]
fn zero_columns_and_empty_matrices() {
    // Nothing below the diagonal: no reflection, the entry keeps its sign (R = [[-2]], Q = [[1]]).
    let (q, r) = qr(&Tensor::from_vec(vec![-2.0f32], &[1, 1]).unwrap()).unwrap();
    assert_eq!(
        (q.to_vec::<f32>().unwrap(), r.to_vec::<f32>().unwrap()),
        (vec![1.0], vec![-2.0])
    );
    // A zero column: no reflection, R's diagonal entry 0.
    let a = Tensor::from_vec(vec![0.0f32, 1.0, 0.0, 2.0], &[2, 2]).unwrap();
    let (_, r) = qr(&a).unwrap();
    assert_eq!(r.to_vec::<f32>().unwrap()[0], 0.0);
    let (q, r) = qr(&Tensor::zeros(&[0, 3], DType::F32)).unwrap();
    assert_eq!((q.shape(), r.shape()), (&[0usize, 0][..], &[0usize, 3][..]));
}

#[test]
fn rejects_non_matrices() {
    assert_eq!(
        qr(&Tensor::zeros(&[2, 2, 2], DType::F32)).unwrap_err().code,
        ErrorCode::Shape
    );
    assert_eq!(
        qr(&Tensor::zeros(&[2, 2], DType::I32)).unwrap_err().code,
        ErrorCode::DType
    );
}
