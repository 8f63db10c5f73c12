//! matmul against a naive f64 reference.

use flaxen_core::ops::{matmul, matmul_masked};
use flaxen_core::shape::broadcast_shapes;
use flaxen_core::{DType, ErrorCode, Tensor};

mod common;

/// Deterministic pseudo-random data in [-1, 1).
fn data(n: usize, seed: u64) -> Vec<f32> {
    common::values(n, seed, 1.0)
}

fn t(shape: &[usize], seed: u64) -> Tensor {
    Tensor::from_vec(data(shape.iter().product(), seed), shape).unwrap()
}

/// numpy matmul in f64, written out plainly.
fn reference(a: &Tensor, b: &Tensor) -> (Vec<usize>, Vec<f64>) {
    let (sa, sb) = (a.shape().to_vec(), b.shape().to_vec());
    let a2 = if sa.len() == 1 {
        vec![1, sa[0]]
    } else {
        sa.clone()
    };
    let b2 = if sb.len() == 1 {
        vec![sb[0], 1]
    } else {
        sb.clone()
    };
    let (m, k, n) = (a2[a2.len() - 2], a2[a2.len() - 1], b2[b2.len() - 1]);
    let (ba, bb) = (&a2[..a2.len() - 2], &b2[..b2.len() - 2]);
    let batch = broadcast_shapes(ba, bb).unwrap();
    let nb: usize = batch.iter().product();
    let av = a.to_f64_vec();
    let bv = b.to_f64_vec();
    // Map a batch index to an operand's matrix index (broadcast axes pinned to 0).
    let idx = |i: usize, bs: &[usize]| -> usize {
        let mut rem = i;
        let mut coords = vec![0; batch.len()];
        for d in (0..batch.len()).rev() {
            coords[d] = rem % batch[d];
            rem /= batch[d];
        }
        let off = batch.len() - bs.len();
        let mut r = 0;
        for d in 0..bs.len() {
            r = r * bs[d] + if bs[d] == 1 { 0 } else { coords[d + off] };
        }
        r
    };
    let mut out = vec![0.0; nb * m * n];
    for bi in 0..nb {
        let (ai, bj) = (idx(bi, ba) * m * k, idx(bi, bb) * k * n);
        for i in 0..m {
            for j in 0..n {
                out[bi * m * n + i * n + j] = (0..k)
                    .map(|p| av[ai + i * k + p] * bv[bj + p * n + j])
                    .sum();
            }
        }
    }
    let mut shape = batch;
    if sa.len() > 1 {
        shape.push(m);
    }
    if sb.len() > 1 {
        shape.push(n);
    }
    (shape, out)
}

fn check(sa: &[usize], sb: &[usize]) {
    let (a, b) = (t(sa, 1 + sa.len() as u64), t(sb, 100 + sb.len() as u64));
    let c = matmul(&a, &b).unwrap();
    let (shape, want) = reference(&a, &b);
    assert_eq!(c.shape(), &shape[..], "{sa:?} @ {sb:?}");
    assert_eq!(c.dtype(), DType::F32);
    let got = c.as_slice::<f32>().unwrap();
    for (i, (&g, &w)) in got.iter().zip(&want).enumerate() {
        // 1e-4 relative, with an absolute floor of 1e-4 for results that cancel to ~0.
        assert!(
            (g as f64 - w).abs() <= 1e-4 * w.abs().max(1.0),
            "{sa:?} @ {sb:?} [{i}]: {g} vs {w}"
        );
    }
}

#[test]
fn matrices_of_odd_sizes() {
    check(&[1, 1], &[1, 1]);
    check(&[3, 5], &[5, 7]);
    check(&[17, 33], &[33, 9]);
    check(&[130, 257], &[257, 65]); // parallel path (row blocks)
    check(&[20, 300], &[300, 200]); // parallel path (column blocks)
    check(&[64, 64], &[64, 64]);
}

#[test]
fn weights_passed_again_give_the_same_bits() {
    // From the second call, products of 2..=64 rows read weights of 64 Ki floats or more kept
    // in the microkernel's panels: every call gives the first call's bits, on the last column
    // panel's edge too.
    for (m, k, n) in [(2, 300, 260), (13, 256, 257), (32, 512, 160), (64, 129, 515), (5, 7, 33)] {
        let (a, b) = (t(&[m, k], 5), t(&[k, n], 6));
        let first = matmul(&a, &b).unwrap().as_slice::<f32>().unwrap().to_vec();
        let (_, want) = reference(&a, &b);
        assert!(first.iter().zip(&want).all(|(&g, &w)| (g as f64 - w).abs() <= 1e-4 * w.abs().max(1.0)));
        for call in 1..4 {
            let again = matmul(&a, &b).unwrap();
            let same = again.as_slice::<f32>().unwrap().iter().zip(&first).all(|(x, y)| x.to_bits() == y.to_bits());
            assert!(same, "[{m}, {k}] @ [{k}, {n}]: call {call} differs from the first");
        }
    }
}

#[test]
fn masked_products_of_weights_passed_again_read_them_in_place() {
    // The banded product reads float32 weights in their own layout: kept panels must never
    // reach it (it would fail its layout check), however often the weights come again.
    let (a, b) = (t(&[32, 256], 7), t(&[256, 256], 8));
    let first = matmul_masked(&a, &b, 0, true).unwrap().as_slice::<f32>().unwrap().to_vec();
    let plain = matmul(&a, &flaxen_core::ops::triu(&b, 0).unwrap()).unwrap();
    let close = plain.as_slice::<f32>().unwrap().iter().zip(&first).all(|(x, y)| (x - y).abs() <= 1e-4 * x.abs().max(1.0));
    assert!(close, "masked product differs from matmul(a, triu(b))");
    for _ in 0..3 {
        matmul(&a, &b).unwrap();
        let again = matmul_masked(&a, &b, 0, true).unwrap();
        assert!(again.as_slice::<f32>().unwrap().iter().zip(&first).all(|(x, y)| x.to_bits() == y.to_bits()));
    }
}

#[test]
fn batched_and_broadcast() {
    check(&[2, 3, 4], &[4, 5]);
    check(&[2, 1, 3, 4], &[5, 4, 2]);
    check(&[4, 5], &[3, 5, 2]);
    check(&[6, 70, 80], &[6, 80, 90]); // parallel over batch
    check(&[1, 100, 100], &[3, 100, 100]);
}

#[test]
fn vectors() {
    let c = matmul(&t(&[7], 1), &t(&[7], 2)).unwrap();
    assert_eq!(c.shape(), &[] as &[usize]);
    check(&[7], &[7]);
    check(&[5], &[5, 3]);
    check(&[4, 5], &[5]);
    check(&[2, 3, 5], &[5]);
    check(&[5], &[2, 5, 3]);
    let one = matmul(
        &Tensor::from_vec(vec![1.0f32, 2.0, 3.0], &[3]).unwrap(),
        &Tensor::from_vec(vec![4.0f32, 5.0, 6.0], &[3]).unwrap(),
    )
    .unwrap();
    assert_eq!(one.as_slice::<f32>().unwrap(), &[32.0]);
}

#[test]
fn empty_dimensions() {
    let c = matmul(
        &Tensor::zeros(&[3, 0], DType::F32),
        &Tensor::zeros(&[0, 4], DType::F32),
    )
    .unwrap();
    assert_eq!(c.shape(), &[3, 4]);
    assert!(c.as_slice::<f32>().unwrap().iter().all(|&v| v == 0.0));
    let c = matmul(
        &Tensor::zeros(&[0, 2], DType::F32),
        &Tensor::zeros(&[2, 4], DType::F32),
    )
    .unwrap();
    assert_eq!(c.shape(), &[0, 4]);
}

#[test]
fn errors() {
    let e = matmul(&t(&[2, 3], 1), &t(&[4, 5], 2)).unwrap_err();
    assert_eq!(e.code, ErrorCode::Shape);
    assert_eq!(
        e.message,
        "matmul: a has shape [2, 3] and b has shape [4, 5]: a's last axis (3) must equal b's second-to-last axis (4)"
    );
    let e = matmul(&t(&[2, 2, 3], 1), &t(&[3, 3, 4], 2)).unwrap_err();
    assert_eq!(e.code, ErrorCode::Shape);
    assert!(e.message.contains("batch"), "{}", e.message);
    let e = matmul(&Tensor::scalar(1.0f32), &t(&[2, 2], 2)).unwrap_err();
    assert_eq!(e.code, ErrorCode::Shape);
    let ints = Tensor::from_vec(vec![1i32, 2, 3, 4], &[2, 2]).unwrap();
    let e = matmul(&ints, &ints).unwrap_err();
    assert_eq!(e.code, ErrorCode::DType);
    assert!(e.message.contains("int32"));
}
