//! ops::layer_norm against a naive float64 reference: odd row lengths (so the eight-lane sums
//! have remainders), with and without scale/bias, both variance modes and RMS, rows far from
//! zero, the parallel path, and the error codes.

use flaxen_core::ops::{layer_norm, NormStats};
use flaxen_core::{DType, ErrorCode, Tensor};

mod common;
use common::values;

const FAST: NormStats = NormStats::Mean {
    fast_variance: true,
};
const TWO_PASS: NormStats = NormStats::Mean {
    fast_variance: false,
};

/// The formula in float64, except that the mean is rounded to float32 as Flax's float32
/// statistics are: for rows far from zero (x ≈ 1e4) the rounding of the mean alone moves
/// `x − mean` by up to half an ulp of 1e4 (~5e-4), which no float32 algorithm avoids.
fn reference(
    x: &[f32],
    f: usize,
    scale: Option<&[f32]>,
    bias: Option<&[f32]>,
    eps: f64,
    stats: NormStats,
) -> Vec<f64> {
    let mut out = Vec::with_capacity(x.len());
    for row in x.chunks(f) {
        let n = f as f64;
        let mean = match stats {
            NormStats::Rms => 0.0,
            _ => (row.iter().map(|&v| v as f64).sum::<f64>() / n) as f32 as f64,
        };
        let var = row.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n;
        let mul = 1.0 / (var + eps).sqrt();
        for (j, &v) in row.iter().enumerate() {
            let s = scale.map_or(1.0, |s| s[j] as f64);
            let b = bias.map_or(0.0, |b| b[j] as f64);
            out.push((v as f64 - mean) * mul * s + b);
        }
    }
    out
}

fn check(got: &Tensor, want: &[f64], tol: f64, what: &str) {
    let got = got.to_vec::<f32>().unwrap();
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g as f64 - w).abs() <= tol * (1.0 + w.abs()),
            "{what}: index {i}: got {g}, want {w}"
        );
    }
}

fn run(
    rows: usize,
    f: usize,
    offset: f32,
    stats: NormStats,
    with_scale: bool,
    with_bias: bool,
    tol: f64,
) {
    let x: Vec<f32> = values(rows * f, (f * 31 + rows) as u64, 1.0)
        .iter()
        .map(|v| v + offset)
        .collect();
    let s = values(f, 7, 2.0);
    let b = values(f, 11, 3.0);
    let xt = Tensor::from_slice(&x, &[rows, f]).unwrap();
    let st = Tensor::from_slice(&s, &[f]).unwrap();
    let bt = Tensor::from_slice(&b, &[f]).unwrap();
    let eps = 1e-5;
    let y = layer_norm(
        &xt,
        with_scale.then_some(&st),
        with_bias.then_some(&bt),
        eps,
        stats,
    )
    .unwrap();
    assert_eq!(y.shape(), &[rows, f]);
    let want = reference(
        &x,
        f,
        with_scale.then_some(&s[..]),
        with_bias.then_some(&b[..]),
        eps,
        stats,
    );
    check(
        &y,
        &want,
        tol,
        &format!("F={f} rows={rows} offset={offset} {stats:?} scale={with_scale} bias={with_bias}"),
    );
}

#[test]
fn odd_lengths_every_mode_with_and_without_params() {
    for &f in &[1usize, 7, 33, 1000] {
        for stats in [FAST, TWO_PASS, NormStats::Rms] {
            for (sc, bi) in [(false, false), (true, false), (false, true), (true, true)] {
                run(5, f, 0.0, stats, sc, bi, 1e-5);
            }
        }
    }
}

#[test]
fn rows_far_from_zero_two_pass_variance() {
    // x ≈ 1e4 ± 1: the two-pass variance stays accurate (the fast one cancels catastrophically,
    // as in Flax, and is not checked against the formula here).
    for &f in &[7usize, 33, 1000] {
        run(4, f, 1e4, TWO_PASS, true, true, 1e-5);
    }
}

#[test]
fn fast_variance_never_negative() {
    // A constant row far from zero: mean(x²) − mean² rounds below zero, Flax clips to 0.
    let x = Tensor::from_slice(&[1e4f32 + 0.1; 33], &[1, 33]).unwrap();
    let y = layer_norm(&x, None, None, 1e-6, FAST).unwrap();
    assert!(y.to_vec::<f32>().unwrap().iter().all(|v| v.is_finite()));
}

#[test]
fn parallel_path_matches_the_reference() {
    // 300 × 257 = 77100 elements: above the parallel threshold, rows not a multiple of 8.
    run(300, 257, 0.0, FAST, true, true, 1e-5);
    run(300, 257, 0.5, TWO_PASS, true, false, 1e-5);
}

#[test]
fn leading_axes_are_rows() {
    let x = values(2 * 3 * 7, 3, 1.0);
    let xt = Tensor::from_slice(&x, &[2, 3, 7]).unwrap();
    let y = layer_norm(&xt, None, None, 1e-6, NormStats::Rms).unwrap();
    assert_eq!(y.shape(), &[2, 3, 7]);
    check(
        &y,
        &reference(&x, 7, None, None, 1e-6, NormStats::Rms),
        1e-5,
        "rank 3",
    );
}

#[test]
fn empty_inputs() {
    let x = Tensor::zeros(&[0, 4], DType::F32);
    assert_eq!(
        layer_norm(&x, None, None, 1e-6, FAST).unwrap().shape(),
        &[0, 4]
    );
    let x = Tensor::zeros(&[3, 0], DType::F32);
    let s = Tensor::zeros(&[0], DType::F32);
    assert_eq!(
        layer_norm(&x, Some(&s), None, 1e-6, FAST).unwrap().shape(),
        &[3, 0]
    );
}

#[test]
fn errors() {
    let x = Tensor::zeros(&[2, 4], DType::F32);
    let e = layer_norm(&Tensor::scalar(1.0f32), None, None, 1e-6, FAST).unwrap_err();
    assert_eq!(e.code, ErrorCode::Shape);
    let e = layer_norm(&Tensor::zeros(&[2, 4], DType::I32), None, None, 1e-6, FAST).unwrap_err();
    assert_eq!(e.code, ErrorCode::DType);
    assert!(e.message.contains("x has dtype int32"), "{}", e.message);
    let e = layer_norm(&x, Some(&Tensor::zeros(&[4], DType::I32)), None, 1e-6, FAST).unwrap_err();
    assert_eq!(e.code, ErrorCode::DType);
    let e = layer_norm(&x, Some(&Tensor::zeros(&[5], DType::F32)), None, 1e-6, FAST).unwrap_err();
    assert_eq!(e.code, ErrorCode::Shape);
    assert!(
        e.message.contains("scale has shape [5]") && e.message.contains("[2, 4]"),
        "{}",
        e.message
    );
    let e = layer_norm(
        &x,
        None,
        Some(&Tensor::zeros(&[1, 4], DType::F32)),
        1e-6,
        FAST,
    )
    .unwrap_err();
    assert_eq!(e.code, ErrorCode::Shape);
    assert!(e.message.contains("bias has shape [1, 4]"), "{}", e.message);
}
