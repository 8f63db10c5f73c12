//! max/min/prod/var/std, argmax/argmin and softmax/log_softmax/logsumexp against naive f64
//! references over every axis layout (innermost, outer, several, non-adjacent, all), the
//! parallel paths, NaN/inf handling and error codes.

use flaxen_core::ops::*;
use flaxen_core::{DType, ErrorCode, Tensor};

mod common;
use common::values;

/// Groups the elements of `x` by their index over the kept axes (output order).
fn groups(x: &[f64], shape: &[usize], red: &[usize]) -> Vec<Vec<f64>> {
    let kept: Vec<usize> = (0..shape.len()).filter(|i| !red.contains(i)).collect();
    let out_n: usize = kept.iter().map(|&i| shape[i]).product();
    let mut g = vec![Vec::new(); out_n];
    for (flat, &v) in x.iter().enumerate() {
        let mut rem = flat;
        let mut idx = vec![0; shape.len()];
        for d in (0..shape.len()).rev() {
            idx[d] = rem % shape[d];
            rem /= shape[d];
        }
        let o = kept.iter().fold(0, |o, &k| o * shape[k] + idx[k]);
        g[o].push(v);
    }
    g
}

fn close(got: &[f32], want: &[f64], rtol: f64, atol: f64, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let ok = (w.is_nan() && g.is_nan())
            || (g as f64 == w)
            || ((g as f64 - w).abs() <= atol + rtol * w.abs());
        assert!(ok, "{what}: index {i}: got {g}, want {w}");
    }
}

const LAYOUTS: &[(&[usize], &[i64])] = &[
    (&[5, 7, 9], &[2]),
    (&[5, 7, 9], &[0]),
    (&[5, 7, 9], &[1]),
    (&[5, 7, 9], &[0, 1]),
    (&[5, 7, 9], &[1, 2]),
    (&[5, 7, 9], &[0, 2]),
    (&[5, 7, 9], &[0, 1, 2]),
    (&[2, 3, 4, 5], &[-1, -3]),
    (&[300, 600], &[1]),
    (&[300, 600], &[0]),
    (&[70000], &[0]),
];

fn red_of(shape: &[usize], axes: &[i64]) -> Vec<usize> {
    axes.iter()
        .map(|&a| {
            if a < 0 {
                (a + shape.len() as i64) as usize
            } else {
                a as usize
            }
        })
        .collect()
}

#[test]
fn max_min_prod_var_std_match_references() {
    for (k, &(shape, axes)) in LAYOUTS.iter().enumerate() {
        let n: usize = shape.iter().product();
        let v = values(n, k as u64, 3.0);
        let x = Tensor::from_slice(&v, shape).unwrap();
        let g = groups(
            &v.iter().map(|&a| a as f64).collect::<Vec<_>>(),
            shape,
            &red_of(shape, axes),
        );
        let what = format!("{shape:?} axes {axes:?}");
        let mx: Vec<f64> = g
            .iter()
            .map(|r| r.iter().cloned().fold(f64::MIN, f64::max))
            .collect();
        let mn: Vec<f64> = g
            .iter()
            .map(|r| r.iter().cloned().fold(f64::MAX, f64::min))
            .collect();
        close(
            &max(&x, Some(axes), false).unwrap().to_vec::<f32>().unwrap(),
            &mx,
            0.0,
            0.0,
            &what,
        );
        close(
            &min(&x, Some(axes), false).unwrap().to_vec::<f32>().unwrap(),
            &mn,
            0.0,
            0.0,
            &what,
        );
        // Products of values near 1 stay finite.
        let pv: Vec<f32> = v.iter().map(|a| 1.0 + a / 300.0).collect();
        let px = Tensor::from_slice(&pv, shape).unwrap();
        let pg = groups(
            &pv.iter().map(|&a| a as f64).collect::<Vec<_>>(),
            shape,
            &red_of(shape, axes),
        );
        let pr: Vec<f64> = pg.iter().map(|r| r.iter().product()).collect();
        close(
            &prod(&px, Some(axes), false)
                .unwrap()
                .to_vec::<f32>()
                .unwrap(),
            &pr,
            2e-7,
            0.0,
            &what,
        );
        for ddof in [0.0, 1.0] {
            let var_ref: Vec<f64> = g
                .iter()
                .map(|r| {
                    let m = r.iter().sum::<f64>() / r.len() as f64;
                    r.iter().map(|a| (a - m) * (a - m)).sum::<f64>() / (r.len() as f64 - ddof)
                })
                .collect();
            let sd: Vec<f64> = var_ref.iter().map(|v| v.sqrt()).collect();
            close(
                &var(&x, Some(axes), false, ddof)
                    .unwrap()
                    .to_vec::<f32>()
                    .unwrap(),
                &var_ref,
                2e-7,
                0.0,
                &what,
            );
            close(
                &std(&x, Some(axes), false, ddof)
                    .unwrap()
                    .to_vec::<f32>()
                    .unwrap(),
                &sd,
                2e-7,
                0.0,
                &what,
            );
        }
        let kd = max(&x, Some(axes), true).unwrap();
        let want: Vec<usize> = (0..shape.len())
            .map(|i| {
                if red_of(shape, axes).contains(&i) {
                    1
                } else {
                    shape[i]
                }
            })
            .collect();
        assert_eq!(kd.shape(), &want[..]);
    }
}

#[test]
fn var_is_accurate_with_a_large_mean() {
    let v: Vec<f32> = values(10000, 9, 1.0).iter().map(|a| 1000.0 + a).collect();
    let x = Tensor::from_slice(&v, &[10000]).unwrap();
    let m = v.iter().map(|&a| a as f64).sum::<f64>() / 1e4;
    let want = v.iter().map(|&a| (a as f64 - m).powi(2)).sum::<f64>() / 1e4;
    close(
        &var(&x, None, false, 0.0).unwrap().to_vec::<f32>().unwrap(),
        &[want],
        1e-6,
        0.0,
        "var",
    );
}

#[test]
fn extremes_nan_dtypes_and_errors() {
    let x = Tensor::from_vec(vec![1.0f32, f32::NAN, 3.0, -1.0, 5.0, 0.5], &[2, 3]).unwrap();
    let m = max(&x, Some(&[1]), false).unwrap().to_vec::<f32>().unwrap();
    assert!(m[0].is_nan() && m[1] == 5.0);
    let m = min(&x, Some(&[0]), false).unwrap().to_vec::<f32>().unwrap();
    assert_eq!(format!("{m:?}"), "[-1.0, NaN, 0.5]");
    let i = Tensor::from_vec(vec![3i32, -7, 2, 9], &[2, 2]).unwrap();
    let mi = max(&i, None, false).unwrap();
    assert_eq!(
        (mi.dtype(), mi.to_vec::<i32>().unwrap()),
        (DType::I32, vec![9])
    );
    assert_eq!(
        min(&i, Some(&[1]), true).unwrap().to_vec::<i32>().unwrap(),
        [-7, 2]
    );
    let p = prod(&i, Some(&[0]), false).unwrap();
    assert_eq!(
        (p.dtype(), p.to_vec::<i32>().unwrap()),
        (DType::I32, vec![6, -63])
    );
    let u = Tensor::from_vec(vec![200u8, 100, 7], &[3]).unwrap();
    let pu = prod(&u, None, false).unwrap();
    assert_eq!(
        (pu.dtype(), pu.to_vec::<u32>().unwrap()),
        (DType::U32, vec![140000])
    );
    assert_eq!(max(&u, None, false).unwrap().to_vec::<u8>().unwrap(), [200]);
    let big = Tensor::from_vec(vec![65536i32, 65536], &[2]).unwrap();
    assert_eq!(
        prod(&big, None, false).unwrap().to_vec::<i32>().unwrap(),
        [0],
        "wraps like int32"
    );
    let b = Tensor::from_vec(vec![true, false, true, true], &[2, 2]).unwrap();
    assert_eq!(
        max(&b, Some(&[1]), false)
            .unwrap()
            .to_vec::<bool>()
            .unwrap(),
        [true, true]
    );
    assert_eq!(
        min(&b, Some(&[1]), false)
            .unwrap()
            .to_vec::<bool>()
            .unwrap(),
        [false, true]
    );
    assert_eq!(
        prod(&b, Some(&[1]), false)
            .unwrap()
            .to_vec::<i32>()
            .unwrap(),
        [0, 1]
    );
    let vi = var(&i, None, false, 0.0).unwrap();
    assert_eq!(
        (vi.dtype(), vi.to_vec::<f32>().unwrap()),
        (DType::F32, vec![32.6875])
    );
    // Empty reductions: max/min have no identity; prod is 1; var is NaN.
    let e = Tensor::zeros(&[0, 3], DType::F32);
    let err = max(&e, Some(&[0]), false).unwrap_err();
    assert_eq!(err.code, ErrorCode::Shape);
    assert!(err.message.contains("[0, 3]"), "{}", err.message);
    assert_eq!(max(&e, Some(&[1]), false).unwrap().shape(), &[0]);
    assert_eq!(
        prod(&e, Some(&[0]), false)
            .unwrap()
            .to_vec::<f32>()
            .unwrap(),
        [1.0; 3]
    );
    assert!(var(&e, Some(&[0]), false, 0.0)
        .unwrap()
        .to_vec::<f32>()
        .unwrap()[0]
        .is_nan());
    assert_eq!(max(&x, Some(&[2]), false).unwrap_err().code, ErrorCode::Arg);
    assert_eq!(
        min(&x, Some(&[1, -1]), false).unwrap_err().code,
        ErrorCode::Arg
    );
}

fn arg_ref(r: &[f64], is_max: bool) -> usize {
    if let Some(p) = r.iter().position(|v| v.is_nan()) {
        return p;
    }
    let mut b = 0;
    for (i, &v) in r.iter().enumerate() {
        if (is_max && v > r[b]) || (!is_max && v < r[b]) {
            b = i;
        }
    }
    b
}

#[test]
fn argmax_argmin_match_reference() {
    for (shape, axis) in [
        (vec![4usize, 37], Some(1i64)),
        (vec![4, 37], Some(0)),
        (vec![3, 5, 6], Some(1)),
        (vec![3, 5, 6], Some(-1)),
        (vec![3, 5, 6], None),
        (vec![200, 700], Some(1)),
        (vec![200, 700], Some(0)),
        (vec![100_000], Some(0)),
    ] {
        let n: usize = shape.iter().product();
        // Few distinct values, so ties are common and the first index must win.
        let mut v: Vec<f32> = values(n, n as u64, 4.0).iter().map(|a| a.round()).collect();
        if n > 50 {
            v[n / 3] = f32::NAN;
            v[2 * n / 3] = f32::NAN;
        }
        let x = Tensor::from_slice(&v, &shape).unwrap();
        let vd: Vec<f64> = v.iter().map(|&a| a as f64).collect();
        let red: Vec<usize> = match axis {
            None => (0..shape.len()).collect(),
            Some(a) => vec![if a < 0 {
                (a + shape.len() as i64) as usize
            } else {
                a as usize
            }],
        };
        let g = groups(&vd, &shape, &red);
        for is_max in [true, false] {
            let y = if is_max {
                argmax(&x, axis, false)
            } else {
                argmin(&x, axis, false)
            }
            .unwrap();
            assert_eq!(y.dtype(), DType::I32);
            let want: Vec<i32> = g.iter().map(|r| arg_ref(r, is_max) as i32).collect();
            assert_eq!(
                y.to_vec::<i32>().unwrap(),
                want,
                "{shape:?} {axis:?} max={is_max}"
            );
            // Integers take the same path without NaN.
            let xi = x.astype(DType::I32);
            let gi = groups(&xi.to_f64_vec(), &shape, &red);
            let yi = if is_max {
                argmax(&xi, axis, false)
            } else {
                argmin(&xi, axis, false)
            }
            .unwrap();
            let want: Vec<i32> = gi.iter().map(|r| arg_ref(r, is_max) as i32).collect();
            assert_eq!(yi.to_vec::<i32>().unwrap(), want, "int {shape:?} {axis:?}");
        }
    }
    let x = Tensor::from_vec(vec![1.0f32, 5.0, 5.0, 2.0], &[2, 2]).unwrap();
    assert_eq!(argmax(&x, Some(0), true).unwrap().shape(), &[1, 2]);
    assert_eq!(argmax(&x, None, true).unwrap().shape(), &[1, 1]);
    assert_eq!(
        argmax(&x, None, false).unwrap().to_vec::<i32>().unwrap(),
        [1]
    );
    let b = Tensor::from_vec(vec![false, true, true], &[3]).unwrap();
    assert_eq!(
        argmax(&b, None, false).unwrap().to_vec::<i32>().unwrap(),
        [1]
    );
    let e = Tensor::zeros(&[2, 0], DType::F32);
    assert_eq!(
        argmax(&e, Some(1), false).unwrap_err().code,
        ErrorCode::Shape
    );
    assert_eq!(argmax(&e, Some(0), false).unwrap().shape(), &[0]);
    assert_eq!(argmin(&x, Some(2), false).unwrap_err().code, ErrorCode::Arg);
}

/// softmax / log_softmax / logsumexp of one group, in f64 (max subtracted first).
fn soft_ref(r: &[f64]) -> (Vec<f64>, Vec<f64>, f64) {
    let m = r.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let s: f64 = r.iter().map(|a| (a - m).exp()).sum();
    let sm = r.iter().map(|a| (a - m).exp() / s).collect();
    let lsm = r.iter().map(|a| (a - m) - s.ln()).collect();
    (sm, lsm, s.ln() + m)
}

/// Scatters per-group results back to element order.
fn ungroup(shape: &[usize], red: &[usize], per: &[Vec<f64>]) -> Vec<f64> {
    let n: usize = shape.iter().product();
    let idx: Vec<f64> = (0..n).map(|i| i as f64).collect();
    let g = groups(&idx, shape, red);
    let mut out = vec![0.0; n];
    for (gi, members) in g.iter().enumerate() {
        for (k, &flat) in members.iter().enumerate() {
            out[flat as usize] = per[gi][k];
        }
    }
    out
}

#[test]
fn softmax_family_matches_reference_on_every_layout() {
    for (k, &(shape, axes)) in LAYOUTS.iter().enumerate() {
        let n: usize = shape.iter().product();
        let v = values(n, 100 + k as u64, 30.0);
        let x = Tensor::from_slice(&v, shape).unwrap();
        let red = red_of(shape, axes);
        let g = groups(
            &v.iter().map(|&a| a as f64).collect::<Vec<_>>(),
            shape,
            &red,
        );
        let refs: Vec<_> = g.iter().map(|r| soft_ref(r)).collect();
        let what = format!("{shape:?} axes {axes:?}");
        let sm = ungroup(
            shape,
            &red,
            &refs.iter().map(|r| r.0.clone()).collect::<Vec<_>>(),
        );
        let lsm = ungroup(
            shape,
            &red,
            &refs.iter().map(|r| r.1.clone()).collect::<Vec<_>>(),
        );
        let lse: Vec<f64> = refs.iter().map(|r| r.2).collect();
        let y = softmax(&x, Some(axes)).unwrap();
        assert_eq!(y.shape(), shape);
        close(&y.to_vec::<f32>().unwrap(), &sm, 4e-6, 1e-37, &what);
        // Each softmax is exp(x - max) with x - max exact-ish; log-softmax errors are absolute.
        close(
            &log_softmax(&x, Some(axes))
                .unwrap()
                .to_vec::<f32>()
                .unwrap(),
            &lsm,
            2e-7,
            1e-5,
            &what,
        );
        close(
            &logsumexp(&x, Some(axes), false)
                .unwrap()
                .to_vec::<f32>()
                .unwrap(),
            &lse,
            2e-7,
            1e-6,
            &what,
        );
        let kd = logsumexp(&x, Some(axes), true).unwrap();
        let want: Vec<usize> = (0..shape.len())
            .map(|i| if red.contains(&i) { 1 } else { shape[i] })
            .collect();
        assert_eq!(kd.shape(), &want[..]);
    }
}

#[test]
fn softmax_special_values() {
    // Large logits do not overflow (the max is subtracted first).
    let x = Tensor::from_vec(vec![1000.0f32, 1000.0, -1e30], &[3]).unwrap();
    assert_eq!(
        softmax(&x, None).unwrap().to_vec::<f32>().unwrap(),
        [0.5, 0.5, 0.0]
    );
    let l = logsumexp(&x, None, false).unwrap().to_vec::<f32>().unwrap()[0];
    assert!((l - (1000.0 + 2f32.ln())).abs() < 1e-3);
    // -inf entries get probability 0; a row of only -inf is NaN for softmax (as in jax) and
    // -inf for logsumexp (its max is replaced by 0).
    let ni = f32::NEG_INFINITY;
    let x = Tensor::from_vec(vec![0.0, ni, 0.0, ni, ni, ni], &[2, 3]).unwrap();
    let s = softmax(&x, Some(&[1])).unwrap().to_vec::<f32>().unwrap();
    assert_eq!(s[..3], [0.5, 0.0, 0.5]);
    assert!(s[3..].iter().all(|v| v.is_nan()));
    let l = logsumexp(&x, Some(&[1]), false)
        .unwrap()
        .to_vec::<f32>()
        .unwrap();
    assert!((l[0] - 2f32.ln()).abs() < 1e-7 && l[1] == ni);
    let ls = log_softmax(&x, Some(&[-1]))
        .unwrap()
        .to_vec::<f32>()
        .unwrap();
    assert_eq!(ls[1], ni);
    // Integers are computed in float32; empty reductions give -inf for logsumexp.
    let i = Tensor::from_vec(vec![0i32, 0], &[2]).unwrap();
    assert_eq!(
        softmax(&i, None).unwrap().to_vec::<f32>().unwrap(),
        [0.5, 0.5]
    );
    let e = Tensor::zeros(&[3, 0], DType::F32);
    assert_eq!(
        logsumexp(&e, Some(&[1]), false)
            .unwrap()
            .to_vec::<f32>()
            .unwrap(),
        [ni; 3]
    );
    assert_eq!(softmax(&e, Some(&[1])).unwrap().shape(), &[3, 0]);
    // A scalar and an explicit empty axis list.
    let s = Tensor::scalar(3.0f32);
    assert_eq!(softmax(&s, None).unwrap().to_vec::<f32>().unwrap(), [1.0]);
    let x = Tensor::from_vec(vec![1.0f32, 2.0], &[2]).unwrap();
    assert_eq!(
        softmax(&x, Some(&[])).unwrap().to_vec::<f32>().unwrap(),
        [1.0, 1.0]
    );
    assert_eq!(softmax(&x, Some(&[1])).unwrap_err().code, ErrorCode::Arg);
    assert_eq!(
        logsumexp(&x, Some(&[0, 0]), false).unwrap_err().code,
        ErrorCode::Arg
    );
}
