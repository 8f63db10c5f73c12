//! The Winograd path of the convolution (3×3 window, unit strides and dilations, one group),
//! F(2×2, 3×3) and F(4×4, 3×3), against a float64 direct convolution: odd output sizes (a
//! partial last tile), each padding, feature counts that are not multiples of the 16-lane
//! vectors, batches, and enough tiles for several blocks on several threads. Its sums are
//! reassociated: F(2×2) results are compared within rounding of the window's depth, as the
//! direct path's are; F(4×4)'s transforms scale terms by up to 8 before they cancel, so its
//! results are compared within 32 ulps (2e-6) of the sum of the terms' magnitudes, a bound
//! every summation order of the direct convolution also meets for windows of 32 terms and
//! more (measured: at most 9.3e-7 on random 128-feature layers).

#![cfg(target_arch = "x86_64")]

mod common;

use flaxen_core::ops::conv::{conv, ConvSpec};
use flaxen_core::ops::winograd;
use flaxen_core::tensor::Tensor;

/// Direct 3×3 convolution in float64: x [N, H, W, C], w [3, 3, C, O], (top, bottom, left, right)
/// pads; with each output's Σ|x·w|.
fn reference(x: &[f32], w: &[f32], xs: [usize; 4], o: usize, pads: [i64; 4]) -> (Vec<f64>, Vec<f64>, [usize; 4]) {
    let [n, h, wd, c] = xs;
    let ho = (h as i64 + pads[0] + pads[1] - 2) as usize;
    let wo = (wd as i64 + pads[2] + pads[3] - 2) as usize;
    let mut y = vec![0f64; n * ho * wo * o];
    let mut mag = vec![0f64; n * ho * wo * o];
    for b in 0..n {
        for i in 0..ho {
            for j in 0..wo {
                for kh in 0..3 {
                    for kw in 0..3 {
                        let (r, s) = (i as i64 + kh as i64 - pads[0], j as i64 + kw as i64 - pads[2]);
                        if r < 0 || s < 0 || r >= h as i64 || s >= wd as i64 {
                            continue;
                        }
                        let xin = &x[((b * h + r as usize) * wd + s as usize) * c..][..c];
                        for (ci, &xv) in xin.iter().enumerate() {
                            let wr = &w[((kh * 3 + kw) * c + ci) * o..][..o];
                            let at = ((b * ho + i) * wo + j) * o;
                            for ((yv, mv), &wv) in y[at..at + o].iter_mut().zip(&mut mag[at..at + o]).zip(wr) {
                                *yv += xv as f64 * wv as f64;
                                *mv += (xv as f64 * wv as f64).abs();
                            }
                        }
                    }
                }
            }
        }
    }
    (y, mag, [n, ho, wo, o])
}

/// Checks the convolution of random values with these shapes, which must take output tiles of
/// `side` × `side`.
fn check(xs: [usize; 4], o: usize, pads: [i64; 4], seed: u64, side: usize) {
    let c = xs[3];
    let xv = common::values(xs.iter().product(), seed, 1.0);
    let wv = common::values(9 * c * o, seed + 1, 1.0);
    let spec = ConvSpec { strides: vec![1, 1], padding: vec![(pads[0], pads[1]), (pads[2], pads[3])], lhs_dilation: vec![1, 1], rhs_dilation: vec![1, 1], groups: 1 };
    let (want, mag, shape) = reference(&xv, &wv, xs, o, pads);
    assert!(winograd::applies(&xs, &[3, 3, c, o], &shape, &spec), "{xs:?} {o} {pads:?} takes the Winograd path");
    assert_eq!(winograd::side(&shape), side, "{xs:?}: output tiles");
    let x = Tensor::from_vec(xv, &xs).unwrap();
    let w = Tensor::from_vec(wv, &[3, 3, c, o]).unwrap();
    let got = conv(&x, &w, &spec).unwrap();
    assert_eq!(got.shape(), shape.as_slice());
    let depth = (9 * c) as f64;
    let got = got.to_vec::<f32>().unwrap();
    for (i, ((&g, &e), &m)) in got.iter().zip(&want).zip(&mag).enumerate() {
        let tol = if side == 2 { 1e-6 * depth.sqrt() * (1.0 + e.abs()) } else { 2e-6 * m };
        assert!((g as f64 - e).abs() <= tol, "{xs:?} {o} {pads:?}: element {i} is {g}, expected {e} (Σ|terms| {m})");
    }
    // Weights JS can write are never kept: their kernel is transformed into per-thread scratch
    // each call, in the same layout, so the same bits.
    let exposed = Tensor::from_vec(w.to_vec::<f32>().unwrap(), &[3, 3, c, o]).unwrap();
    exposed.storage().mark_exposed();
    let again = conv(&x, &exposed, &spec).unwrap().to_vec::<f32>().unwrap();
    assert!(again.iter().zip(&got).all(|(a, b)| a.to_bits() == b.to_bits()), "{xs:?} {o} {pads:?}: scratch kernel differs from the kept one");
}

#[test]
fn winograd_equals_the_direct_convolution() {
    if !winograd::applies(&[1, 16, 16, 16], &[3, 3, 16, 16], &[1, 16, 16, 16], &ConvSpec { strides: vec![1, 1], padding: vec![(1, 1), (1, 1)], lhs_dilation: vec![1, 1], rhs_dilation: vec![1, 1], groups: 1 }) {
        return; // no AVX-512 here: the direct path serves these shapes (tested in conv.rs)
    }
    check([1, 16, 16, 16], 16, [1, 1, 1, 1], 1, 2); // SAME, even sizes
    check([2, 15, 13, 20], 40, [1, 1, 1, 1], 2, 2); // odd sizes: partial last tiles; C, O not multiples of 16
    check([1, 19, 17, 8], 24, [0, 0, 0, 0], 3, 2); // VALID
    check([1, 14, 18, 32], 17, [2, 0, 0, 1], 4, 2); // asymmetric padding, 17 outputs
    check([3, 22, 22, 48], 64, [1, 1, 1, 1], 5, 2); // several blocks, run in parallel
    check([1, 13, 15, 200], 144, [1, 1, 1, 1], 6, 2); // few tiles, many features: all tiles at once (up to 2 threads)
    check([1, 14, 14, 256], 256, [1, 1, 1, 1], 7, 2); // ResNet's 14² stage at batch 1
    // F(4×4): outputs of 24 and more each way.
    check([1, 24, 24, 16], 16, [1, 1, 1, 1], 8, 4); // SAME, whole tiles
    check([2, 27, 25, 20], 40, [1, 1, 1, 1], 9, 4); // partial last tiles of 3 and 1; C, O not multiples of 16
    check([1, 28, 30, 8], 24, [0, 0, 0, 0], 10, 4); // VALID: 26×28, a last tile of 2
    check([1, 25, 27, 32], 17, [2, 0, 0, 1], 11, 4); // asymmetric padding, 17 outputs
    check([3, 30, 30, 48], 64, [1, 1, 1, 1], 12, 4); // several blocks, run in parallel
    check([1, 24, 26, 200], 144, [1, 1, 1, 1], 13, 4); // few tiles, many features: all tiles at once
    check([1, 56, 56, 64], 64, [1, 1, 1, 1], 14, 4); // ResNet's 56² stage at batch 1
    check([1, 28, 28, 128], 128, [1, 1, 1, 1], 15, 4); // and its 28² stage
}
