//! triu/tril exactly against a naive loop, including outputs large enough (≥ 16 MiB) for the
//! streaming-store path, with unaligned rows (odd column counts), batches, every 4-byte dtype
//! and the plain path for other widths.

use flaxen_core::ops::{tril, triu};
use flaxen_core::{DType, Tensor};

fn naive(x: &[u32], rows: usize, cols: usize, k: i64, upper: bool) -> Vec<u32> {
    x.iter()
        .enumerate()
        .map(|(idx, &v)| {
            let (i, j) = (((idx / cols) % rows) as i64, (idx % cols) as i64);
            let keep = if upper { j - i >= k } else { j - i <= k };
            if keep { v } else { 0 }
        })
        .collect()
}

fn check(shape: &[usize], k: i64) {
    let n: usize = shape.iter().product();
    let (rows, cols) = (shape[shape.len() - 2], shape[shape.len() - 1]);
    // Distinct non-zero bit patterns (including NaN payloads as float32): bits are moved as-is.
    let bits: Vec<u32> = (0..n as u32).map(|i| i.wrapping_mul(2654435761) | 1).collect();
    for dt in [DType::F32, DType::I32, DType::U32] {
        let bytes: Vec<u8> = bits.iter().flat_map(|b| b.to_le_bytes()).collect();
        let x = Tensor::from_bytes(dt, &bytes, shape).unwrap();
        for upper in [true, false] {
            let y = if upper { triu(&x, k).unwrap() } else { tril(&x, k).unwrap() };
            let got: Vec<u32> = y.as_bytes().chunks_exact(4).map(|c| u32::from_le_bytes(c.try_into().unwrap())).collect();
            assert!(got == naive(&bits, rows, cols, k, upper), "{dt:?} {shape:?} k={k} upper={upper}");
        }
    }
}

#[test]
fn large_masks_match_naive_bit_for_bit() {
    check(&[2060, 2061], 0); // 17 MB, rows unaligned
    check(&[9, 700, 701], 5);
    check(&[5, 1024, 1024], -3); // aligned rows
    check(&[4400, 960], 40);
    check(&[960, 4400], -1000);
    check(&[2060, 2061], 5000); // all zero
}

#[test]
fn small_and_narrow_masks() {
    for shape in [[1usize, 1], [3, 17], [17, 3], [33, 15]] {
        for k in [-20i64, -1, 0, 1, 2, 20] {
            check(&shape, k);
        }
    }
    // 2-byte and 1-byte dtypes use the plain path.
    let x = Tensor::from_vec((1..=12u16).collect::<Vec<_>>(), &[3, 4]).unwrap();
    assert_eq!(triu(&x, 1).unwrap().to_vec::<u16>().unwrap(), vec![0, 2, 3, 4, 0, 0, 7, 8, 0, 0, 0, 12]);
    let b = Tensor::from_vec(vec![true; 9], &[3, 3]).unwrap();
    assert_eq!(tril(&b, 0).unwrap().to_vec::<bool>().unwrap(), vec![true, false, false, true, true, false, true, true, true]);
}

/// where(c, x, y) against a naive select, for the fast path's cases (condition of the output's
/// shape; x and y full or scalar) at sizes below and above the streaming threshold, and a
/// broadcast condition (general kernel).
#[test]
fn where_matches_naive() {
    use flaxen_core::ops::{where_, Operand};
    for &n in &[1usize, 15, 17, 1000, 4_300_001] {
        let cond: Vec<bool> = (0..n).map(|i| (i * 7919) % 3 == 0).collect();
        let c = Tensor::from_vec(cond.clone(), &[n]).unwrap();
        let xv: Vec<f32> = (0..n).map(|i| i as f32 + 0.5).collect();
        let yv: Vec<f32> = (0..n).map(|i| -(i as f32)).collect();
        let (x, y) = (Tensor::from_vec(xv.clone(), &[n]).unwrap(), Tensor::from_vec(yv.clone(), &[n]).unwrap());
        let pick = |i: usize, a: f32, b: f32| if cond[i] { a } else { b };
        let got = where_(&c, Operand::Tensor(&x), Operand::Tensor(&y)).unwrap().to_vec::<f32>().unwrap();
        assert!(got.iter().enumerate().all(|(i, &g)| g == pick(i, xv[i], yv[i])), "tensor/tensor n={n}");
        let got = where_(&c, Operand::Tensor(&x), Operand::Scalar(2.5)).unwrap().to_vec::<f32>().unwrap();
        assert!(got.iter().enumerate().all(|(i, &g)| g == pick(i, xv[i], 2.5)), "tensor/scalar n={n}");
        let got = where_(&c, Operand::Scalar(-1.0), Operand::Tensor(&y)).unwrap().to_vec::<f32>().unwrap();
        assert!(got.iter().enumerate().all(|(i, &g)| g == pick(i, -1.0, yv[i])), "scalar/tensor n={n}");
        let got = where_(&c, Operand::Scalar(3.0), Operand::Scalar(4.0)).unwrap().to_vec::<i32>().unwrap();
        assert!(got.iter().enumerate().all(|(i, &g)| g == if cond[i] { 3 } else { 4 }), "ints n={n}");
    }
    // A non-bool condition: non-zero is true.
    let c = Tensor::from_vec(vec![0i32, 2, -255, 0, 1], &[5]).unwrap();
    let got = where_(&c, Operand::Scalar(1.0), Operand::Scalar(0.0)).unwrap().to_vec::<i32>().unwrap();
    assert_eq!(got, vec![0, 1, 1, 0, 1]);
    // Broadcast condition: the general kernel.
    let c = Tensor::from_vec(vec![true, false, true], &[3]).unwrap();
    let x = Tensor::from_vec((0..6).map(|i| i as f32).collect::<Vec<_>>(), &[2, 3]).unwrap();
    let got = where_(&c, Operand::Tensor(&x), Operand::Scalar(-1.0)).unwrap().to_vec::<f32>().unwrap();
    assert_eq!(got, vec![0.0, -1.0, 2.0, 3.0, -1.0, 5.0]);
}
