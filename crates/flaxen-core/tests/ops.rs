//! triu/tril, sign/relu, transpose, sum/mean, constructors.

use flaxen_core::ops::*;
use flaxen_core::{DType, ErrorCode, Tensor};

fn iota(shape: &[usize]) -> Tensor {
    let n: usize = shape.iter().product();
    Tensor::from_vec((0..n).map(|i| i as f32 + 1.0).collect::<Vec<f32>>(), shape).unwrap()
}

fn mask_ref(x: &Tensor, k: i64, upper: bool) -> Vec<f64> {
    let (r, c) = (x.shape()[x.ndim() - 2], x.shape()[x.ndim() - 1]);
    x.to_f64_vec()
        .iter()
        .enumerate()
        .map(|(f, &v)| {
            let (i, j) = (((f / c) % r) as i64, (f % c) as i64);
            let keep = if upper { j >= i + k } else { j <= i + k };
            if keep {
                v
            } else {
                0.0
            }
        })
        .collect()
}

#[test]
fn triu_tril_match_reference() {
    for shape in [
        vec![3, 3],
        vec![4, 6],
        vec![6, 4],
        vec![2, 3, 5],
        vec![1, 1],
        vec![300, 300],
    ] {
        let x = iota(&shape);
        for k in [-7, -2, -1, 0, 1, 2, 7] {
            assert_eq!(
                triu(&x, k).unwrap().to_f64_vec(),
                mask_ref(&x, k, true),
                "triu {shape:?} k={k}"
            );
            assert_eq!(
                tril(&x, k).unwrap().to_f64_vec(),
                mask_ref(&x, k, false),
                "tril {shape:?} k={k}"
            );
        }
    }
}

#[test]
fn triu_other_dtypes_and_errors() {
    let b = Tensor::from_vec(vec![true; 9], &[3, 3]).unwrap();
    assert_eq!(
        tril(&b, 0).unwrap().as_slice::<bool>().unwrap(),
        &[true, false, false, true, true, false, true, true, true]
    );
    let i = Tensor::from_vec(vec![5u16; 4], &[2, 2]).unwrap();
    assert_eq!(
        triu(&i, 1).unwrap().as_slice::<u16>().unwrap(),
        &[0, 5, 0, 0]
    );
    assert_eq!(
        triu(&Tensor::zeros(&[0, 3], DType::F32), 0)
            .unwrap()
            .shape(),
        &[0, 3]
    );
    let e = triu(&iota(&[3]), 0).unwrap_err();
    assert_eq!(e.code, ErrorCode::Shape);
    assert!(e.message.contains("[3]"));
    assert_eq!(
        tril(&Tensor::scalar(1.0f32), 0).unwrap_err().code,
        ErrorCode::Shape
    );
}

#[test]
fn sign_and_relu() {
    let x = Tensor::from_vec(vec![-2.5f32, -0.0, 0.0, 3.0, f32::NAN], &[5]).unwrap();
    let s = sign(&x).unwrap();
    let sv = s.as_slice::<f32>().unwrap();
    assert_eq!(&sv[..4], &[-1.0, -0.0, 0.0, 1.0]);
    assert!(sv[4].is_nan());
    let r = relu(&x).unwrap();
    let rv = r.as_slice::<f32>().unwrap();
    assert_eq!(&rv[..4], &[0.0, 0.0, 0.0, 3.0]);
    assert!(rv[4].is_nan());
    let i = Tensor::from_vec(vec![-4i32, 0, 9], &[3]).unwrap();
    assert_eq!(sign(&i).unwrap().as_slice::<i32>().unwrap(), &[-1, 0, 1]);
    assert_eq!(relu(&i).unwrap().as_slice::<i32>().unwrap(), &[0, 0, 9]);
    let u = Tensor::from_vec(vec![0u32, 7], &[2]).unwrap();
    assert_eq!(sign(&u).unwrap().as_slice::<u32>().unwrap(), &[0, 1]);
    assert_eq!(relu(&u).unwrap_err().code, ErrorCode::DType);
    assert_eq!(
        sign(&Tensor::from_vec(vec![true], &[1]).unwrap())
            .unwrap_err()
            .code,
        ErrorCode::DType
    );
    let big = relu(&iota(&[100_000])).unwrap();
    assert_eq!(big.as_slice::<f32>().unwrap()[99_999], 100_000.0);
}

#[test]
fn transpose_permutations() {
    let x = iota(&[2, 3]);
    let t = transpose(&x, None).unwrap();
    assert_eq!(t.shape(), &[3, 2]);
    assert_eq!(
        t.as_slice::<f32>().unwrap(),
        &[1.0, 4.0, 2.0, 5.0, 3.0, 6.0]
    );
    let y = iota(&[2, 3, 4]);
    let p = transpose(&y, Some(&[1, -1, 0])).unwrap();
    assert_eq!(p.shape(), &[3, 4, 2]);
    let (yv, pv) = (y.as_slice::<f32>().unwrap(), p.as_slice::<f32>().unwrap());
    for a in 0..2 {
        for b in 0..3 {
            for c in 0..4 {
                assert_eq!(pv[b * 8 + c * 2 + a], yv[a * 12 + b * 4 + c]);
            }
        }
    }
    // Identity, scalar, other widths, large.
    assert_eq!(
        transpose(&y, Some(&[0, 1, 2]))
            .unwrap()
            .as_slice::<f32>()
            .unwrap(),
        yv
    );
    assert_eq!(
        transpose(&Tensor::scalar(3i32), None)
            .unwrap()
            .as_slice::<i32>()
            .unwrap(),
        &[3]
    );
    let u = Tensor::from_vec(vec![1u8, 2, 3, 4, 5, 6], &[3, 2]).unwrap();
    assert_eq!(
        transpose(&u, None).unwrap().as_slice::<u8>().unwrap(),
        &[1, 3, 5, 2, 4, 6]
    );
    let big = iota(&[300, 500]);
    let bt = transpose(&big, None).unwrap();
    assert_eq!(
        bt.as_slice::<f32>().unwrap()[7 * 300 + 123],
        big.as_slice::<f32>().unwrap()[123 * 500 + 7]
    );
    assert_eq!(
        transpose(&bt, None).unwrap().as_slice::<f32>().unwrap(),
        big.as_slice::<f32>().unwrap()
    );
}

/// Reference permute via multi-indices.
fn permute_ref(x: &Tensor, perm: &[usize]) -> Vec<f64> {
    let s = x.shape();
    let out: Vec<usize> = perm.iter().map(|&p| s[p]).collect();
    let n: usize = out.iter().product();
    let v = x.to_f64_vec();
    (0..n)
        .map(|f| {
            let mut rem = f;
            let mut idx = vec![0; s.len()];
            for d in (0..out.len()).rev() {
                idx[perm[d]] = rem % out[d];
                rem /= out[d];
            }
            v[idx.iter().zip(s).fold(0, |a, (&i, &d)| a * d + i)]
        })
        .collect()
}

#[test]
fn transpose_matches_reference() {
    let cases: Vec<(Vec<usize>, Vec<usize>)> = vec![
        (vec![3, 37, 45], vec![0, 2, 1]), // batched matrix transpose (blocked kernel)
        (vec![65, 33], vec![1, 0]),
        (vec![2, 300, 257], vec![0, 2, 1]), // blocked + parallel
        (vec![1, 5], vec![1, 0]),
        (vec![4, 5, 6, 7], vec![3, 1, 0, 2]), // general path
        (vec![4, 5, 6, 7], vec![0, 1, 3, 2]),
        (vec![40, 50, 60], vec![2, 0, 1]), // general + parallel
        (vec![3, 4, 5, 2, 3], vec![4, 2, 0, 3, 1]), // general, largest fixed rank
        (vec![2, 3, 2, 3, 2, 2], vec![5, 0, 4, 1, 3, 2]), // general, dynamic rank
        (vec![3, 0, 4], vec![2, 0, 1]),    // empty
    ];
    for (shape, perm) in cases {
        let x = iota(&shape);
        let axes: Vec<i64> = perm.iter().map(|&p| p as i64).collect();
        let t = transpose(&x, Some(&axes)).unwrap();
        assert_eq!(t.to_f64_vec(), permute_ref(&x, &perm), "{shape:?} {perm:?}");
        let u = x.astype(DType::U16);
        assert_eq!(
            transpose(&u, Some(&axes)).unwrap().to_f64_vec(),
            permute_ref(&u, &perm)
        );
    }
}

#[test]
fn transpose_errors() {
    let y = iota(&[2, 3, 4]);
    for bad in [&[0, 1][..], &[0, 0, 1], &[0, 1, 3], &[0, 1, -4]] {
        let e = transpose(&y, Some(bad)).unwrap_err();
        assert_eq!(e.code, ErrorCode::Arg, "{bad:?}");
        assert!(
            e.message.contains("axes") || e.message.contains("axis"),
            "{}",
            e.message
        );
    }
}

/// f64 reference of a reduction over `axes` (sorted, no keepdims).
fn sum_ref(x: &Tensor, axes: &[usize]) -> Vec<f64> {
    let s = x.shape();
    let kept: Vec<usize> = (0..s.len()).filter(|d| !axes.contains(d)).collect();
    let out_n: usize = kept.iter().map(|&d| s[d]).product();
    let mut out = vec![0.0; out_n];
    for (f, v) in x.to_f64_vec().into_iter().enumerate() {
        let mut rem = f;
        let mut idx = vec![0; s.len()];
        for d in (0..s.len()).rev() {
            idx[d] = rem % s[d];
            rem /= s[d];
        }
        let o = kept.iter().fold(0, |o, &d| o * s[d] + idx[d]);
        out[o] += v;
    }
    out
}

#[test]
fn sum_and_mean_match_reference() {
    let x = Tensor::from_vec(
        (0..2 * 3 * 4 * 5)
            .map(|i| ((i * 37 % 101) as f32 - 50.0) / 7.0)
            .collect::<Vec<f32>>(),
        &[2, 3, 4, 5],
    )
    .unwrap();
    let cases: Vec<Vec<i64>> = vec![
        vec![0],
        vec![1],
        vec![3],
        vec![-1],
        vec![0, 2],
        vec![1, 3],
        vec![0, 1, 2, 3],
        vec![2, 0],
        vec![],
    ];
    for axes in cases {
        let norm: Vec<usize> = {
            let mut v: Vec<usize> = axes
                .iter()
                .map(|&a| if a < 0 { (a + 4) as usize } else { a as usize })
                .collect();
            v.sort();
            v
        };
        let want = sum_ref(&x, &norm);
        let got = sum(&x, Some(&axes), false).unwrap();
        let count: usize = norm.iter().map(|&d| x.shape()[d]).product();
        for (g, w) in got.as_slice::<f32>().unwrap().iter().zip(&want) {
            assert!(
                (*g as f64 - w).abs() <= 1e-5 * w.abs().max(1e-3),
                "sum {axes:?}: {g} vs {w}"
            );
        }
        let m = mean(&x, Some(&axes), true).unwrap();
        assert_eq!(m.ndim(), 4);
        for (g, w) in m.as_slice::<f32>().unwrap().iter().zip(&want) {
            let w = w / count as f64;
            assert!(
                (*g as f64 - w).abs() <= 1e-5 * w.abs().max(1e-3),
                "mean {axes:?}: {g} vs {w}"
            );
        }
    }
    let all = sum(&x, None, false).unwrap();
    assert_eq!(all.shape(), &[] as &[usize]);
    let kd = sum(&x, None, true).unwrap();
    assert_eq!(kd.shape(), &[1, 1, 1, 1]);
    let s = sum(&x, Some(&[1]), true).unwrap();
    assert_eq!(s.shape(), &[2, 1, 4, 5]);
}

#[test]
fn large_reductions_are_accurate() {
    // 1M values of mixed magnitude: f64 accumulation keeps 1e-5 relative accuracy.
    let n = 1 << 20;
    let v: Vec<f32> = (0..n)
        .map(|i| ((i % 1000) as f32 * 0.001 + 1.0) * if i % 3 == 0 { -1.0 } else { 1.0 })
        .collect();
    let want: f64 = v.iter().map(|&x| x as f64).sum();
    let x = Tensor::from_vec(v, &[n]).unwrap();
    let got = sum(&x, None, false).unwrap().as_slice::<f32>().unwrap()[0] as f64;
    assert!((got - want).abs() <= 1e-5 * want.abs(), "{got} vs {want}");
    // Parallel paths: outer kept and outer reduced.
    let m = x.reshape(&[1024, 1024]).unwrap();
    let rows = sum(&m, Some(&[1]), false).unwrap();
    let cols = sum(&m, Some(&[0]), false).unwrap();
    let rref = sum_ref(&m, &[1]);
    let cref = sum_ref(&m, &[0]);
    for (g, w) in rows.as_slice::<f32>().unwrap().iter().zip(&rref) {
        assert!((*g as f64 - w).abs() <= 1e-5 * w.abs().max(1e-3));
    }
    for (g, w) in cols.as_slice::<f32>().unwrap().iter().zip(&cref) {
        assert!((*g as f64 - w).abs() <= 1e-5 * w.abs().max(1e-3));
    }
    let mm = mean(&m, None, false).unwrap().as_slice::<f32>().unwrap()[0] as f64;
    assert!((mm - want / n as f64).abs() <= 1e-5 * (want / n as f64).abs());
}

#[test]
fn integer_reductions() {
    let i = Tensor::from_vec(vec![1i32, 2, 3, 4, 5, 6], &[2, 3]).unwrap();
    let s = sum(&i, Some(&[0]), false).unwrap();
    assert_eq!(s.dtype(), DType::I32);
    assert_eq!(s.as_slice::<i32>().unwrap(), &[5, 7, 9]);
    let m = mean(&i, Some(&[1]), false).unwrap();
    assert_eq!(m.dtype(), DType::F32);
    assert_eq!(m.as_slice::<f32>().unwrap(), &[2.0, 5.0]);
    let w = Tensor::from_vec(vec![i32::MAX, 1], &[2]).unwrap();
    assert_eq!(
        sum(&w, None, false).unwrap().as_slice::<i32>().unwrap(),
        &[i32::MIN]
    );
    let b = Tensor::from_vec(vec![true, false, true], &[3]).unwrap();
    let bs = sum(&b, None, false).unwrap();
    assert_eq!(bs.dtype(), DType::I32);
    assert_eq!(bs.as_slice::<i32>().unwrap(), &[2]);
    let u = Tensor::from_vec(vec![200u8, 100], &[2]).unwrap();
    let us = sum(&u, None, false).unwrap();
    assert_eq!(us.dtype(), DType::U32);
    assert_eq!(us.as_slice::<u32>().unwrap(), &[300]);
}

#[test]
fn reduction_edges_and_errors() {
    let e = Tensor::zeros(&[0, 3], DType::F32);
    assert_eq!(
        sum(&e, Some(&[0]), false)
            .unwrap()
            .as_slice::<f32>()
            .unwrap(),
        &[0.0, 0.0, 0.0]
    );
    assert!(mean(&e, Some(&[0]), false)
        .unwrap()
        .as_slice::<f32>()
        .unwrap()[0]
        .is_nan());
    assert_eq!(
        sum(&Tensor::scalar(4.0f32), None, false)
            .unwrap()
            .as_slice::<f32>()
            .unwrap(),
        &[4.0]
    );
    let x = iota(&[2, 3]);
    let err = sum(&x, Some(&[2]), false).unwrap_err();
    assert_eq!(err.code, ErrorCode::Arg);
    assert!(err.message.contains("axis 2"), "{}", err.message);
    assert_eq!(
        mean(&x, Some(&[1, -1]), false).unwrap_err().code,
        ErrorCode::Arg
    );
}

#[test]
fn constructors() {
    let f = full(&[2, 2], 3.7, DType::I32);
    assert_eq!(f.as_slice::<i32>().unwrap(), &[3, 3, 3, 3]);
    assert_eq!(
        full(&[3], -1.0, DType::U8).as_slice::<u8>().unwrap(),
        &[255, 255, 255]
    ); // integral values wrap
    assert_eq!(
        full(&[1], -1.0, DType::U32).as_slice::<u32>().unwrap(),
        &[u32::MAX]
    );
    assert_eq!(
        full(&[1], -2.7, DType::I32).as_slice::<i32>().unwrap(),
        &[-2]
    );
    assert_eq!(
        full(&[2], 0.5, DType::Bool).as_slice::<bool>().unwrap(),
        &[true, true]
    );
    assert_eq!(
        full(&[], 2.5, DType::F32).as_slice::<f32>().unwrap(),
        &[2.5]
    );

    assert_eq!(
        arange(0.0, 5.0, 1.0, DType::I32)
            .unwrap()
            .as_slice::<i32>()
            .unwrap(),
        &[0, 1, 2, 3, 4]
    );
    assert_eq!(
        arange(1.0, 2.0, 0.25, DType::F32)
            .unwrap()
            .as_slice::<f32>()
            .unwrap(),
        &[1.0, 1.25, 1.5, 1.75]
    );
    assert_eq!(
        arange(5.0, 0.0, -2.0, DType::F32)
            .unwrap()
            .as_slice::<f32>()
            .unwrap(),
        &[5.0, 3.0, 1.0]
    );
    assert_eq!(arange(0.0, 1.0, 0.3, DType::F32).unwrap().size(), 4);
    assert_eq!(arange(3.0, 1.0, 1.0, DType::F32).unwrap().size(), 0);
    assert_eq!(
        arange(0.0, 1.0, 0.0, DType::F32).unwrap_err().code,
        ErrorCode::Arg
    );
    assert_eq!(
        arange(0.0, 1e20, 1.0, DType::F32).unwrap_err().code,
        ErrorCode::Shape
    );

    assert_eq!(
        linspace(0.0, 1.0, 5).as_slice::<f32>().unwrap(),
        &[0.0, 0.25, 0.5, 0.75, 1.0]
    );
    assert_eq!(linspace(2.0, 3.0, 1).as_slice::<f32>().unwrap(), &[2.0]);
    assert_eq!(linspace(0.0, 1.0, 0).size(), 0);
    let l = linspace(-1.0, 0.1, 12);
    assert_eq!(l.as_slice::<f32>().unwrap()[11], 0.1);
    assert!((l.as_slice::<f32>().unwrap()[1] - (-0.9)).abs() < 1e-7);

    let e = eye(2, 3, DType::F32);
    assert_eq!(e.shape(), &[2, 3]);
    assert_eq!(
        e.as_slice::<f32>().unwrap(),
        &[1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
    );
    assert_eq!(
        eye(3, 2, DType::Bool).as_slice::<bool>().unwrap(),
        &[true, false, false, true, false, false]
    );
    assert_eq!(eye(0, 4, DType::I32).size(), 0);
    assert_eq!(eye(2, 0, DType::I32).shape(), &[2, 0]);
}
