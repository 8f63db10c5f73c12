//! Unary math, maximum/minimum/power, comparisons, logical ops and where: kernels against f64
//! references, dtype rules and error codes.

use flaxen_core::ops::*;
use flaxen_core::{DType, ErrorCode, Tensor};

fn t32(v: &[f32], shape: &[usize]) -> Tensor {
    Tensor::from_slice(v, shape).unwrap()
}

/// Values covering the interesting ranges: dense near 0, wide magnitudes, both signs.
fn probe() -> Vec<f32> {
    let mut v: Vec<f32> = (-2000..=2000).map(|i| i as f32 / 100.0).collect();
    for e in -30..30 {
        let m = 1.37f32 * 10f32.powi(e);
        v.push(m);
        v.push(-m);
    }
    v
}

/// f64 erf by its Taylor series (|x| < 2.5) and erfc by its continued fraction beyond.
fn erfc64(x: f64) -> f64 {
    if x < 0.0 {
        return 2.0 - erfc64(-x);
    }
    if x < 2.5 {
        let mut sum = 0.0;
        let mut term = x; // (-1)^n x^(2n+1) / n!
        for n in 0..200 {
            sum += term / (2 * n + 1) as f64;
            term *= -x * x / (n + 1) as f64;
        }
        return 1.0 - 2.0 / std::f64::consts::PI.sqrt() * sum;
    }
    let mut t = x;
    for k in (1..=200).rev() {
        t = x + (k as f64 / 2.0) / t;
    }
    (-x * x).exp() / std::f64::consts::PI.sqrt() / t
}

/// Asserts `|got - ref| <= atol + atol_x * |x| + rtol * |ref|` for every probe value.
fn check(op: UnaryOp, reference: impl Fn(f64) -> f64, rtol: f64, atol: f64) {
    check_x(op, reference, rtol, atol, 0.0)
}

fn check_x(op: UnaryOp, reference: impl Fn(f64) -> f64, rtol: f64, atol: f64, atol_x: f64) {
    let v = probe();
    let y = unary(op, &t32(&v, &[v.len()])).unwrap();
    assert_eq!(y.dtype(), DType::F32);
    for (i, &got) in y.as_slice::<f32>().unwrap().iter().enumerate() {
        let want = reference(v[i] as f64);
        // The reference rounded to float32 (so underflow and overflow match).
        let (g, w) = (got as f64, want as f32 as f64);
        let ok = if w.is_nan() {
            g.is_nan()
        } else if w.is_infinite() {
            g == w
        } else {
            (g - w).abs() <= atol.max(2e-45) + atol_x * (v[i] as f64).abs() + rtol * w.abs()
        };
        assert!(ok, "{op:?}({}) = {got}, reference {want}", v[i]);
    }
}

#[test]
fn unary_float_ops_match_f64_references() {
    let ulp = f32::EPSILON as f64;
    check(UnaryOp::Exp, f64::exp, 2.0 * ulp, 1e-45);
    check(UnaryOp::Log, f64::ln, 2.0 * ulp, 0.0);
    check(UnaryOp::Sqrt, f64::sqrt, ulp, 0.0);
    check(UnaryOp::Rsqrt, |x| 1.0 / x.sqrt(), 2.0 * ulp, 0.0);
    // XLA's rational tanh: within ~4.3 ulp (worst just below ±1, where it saturates).
    check(UnaryOp::Tanh, f64::tanh, 4.0 * ulp, 0.0);
    check(UnaryOp::Abs, f64::abs, 0.0, 0.0);
    check(UnaryOp::Negative, |x| -x, 0.0, 0.0);
    check(UnaryOp::Square, |x| x * x, ulp, 0.0);
    check(UnaryOp::Reciprocal, |x| 1.0 / x, ulp, 0.0);
    check(UnaryOp::Floor, f64::floor, 0.0, 0.0);
    check(UnaryOp::Ceil, f64::ceil, 0.0, 0.0);
    let sig = |x: f64| 1.0 / (1.0 + (-x).exp());
    check(UnaryOp::Sigmoid, sig, 4.0 * ulp, 1e-45);
    check(UnaryOp::Silu, move |x| x * sig(x), 4.0 * ulp, 1e-44);
    let c = (2.0 / std::f64::consts::PI).sqrt();
    // The tanh form cancels in `1 + tanh(..)` for negative x: absolute error ~ |x| ulp.
    check_x(
        UnaryOp::Gelu,
        move |x| 0.5 * x * (1.0 + (c * (x + 0.044715 * x * x * x)).tanh()),
        8.0 * ulp,
        1e-44,
        2.0 * ulp,
    );
    // erfc's tail is relative-accurate to ~x² ulp (exp(-x²) of a rounded x², as in XLA).
    check(
        UnaryOp::GeluExact,
        |x| 0.5 * x * erfc64(-x / std::f64::consts::SQRT_2),
        3e-5,
        f32::MIN_POSITIVE as f64, // erfc flushes to 0 below exp(-88.7), like XLA
    );
    check(UnaryOp::Erf, |x| 1.0 - erfc64(x), 4.0 * ulp, 2.0 * ulp);
}

#[test]
fn erfc_is_accurate_in_both_tails() {
    for i in -900..=1000 {
        let x = i as f32 / 100.0;
        let (got, want) = (erfc(x) as f64, erfc64(x as f64));
        // Relative accuracy where 1 - erf(x) would have lost everything.
        assert!(
            (got - want).abs() <= 1e-5 * want.abs() + f32::MIN_POSITIVE as f64,
            "erfc({x}) = {got}, reference {want}"
        );
    }
    assert_eq!(erfc(f32::INFINITY), 0.0);
    assert_eq!(erfc(f32::NEG_INFINITY), 2.0);
    assert!(erfc(f32::NAN).is_nan());
}

#[test]
fn unary_special_values() {
    let v = [0.0, -0.0, f32::INFINITY, f32::NEG_INFINITY, f32::NAN, -1.0];
    let x = t32(&v, &[6]);
    let get = |op| unary(op, &x).unwrap().to_vec::<f32>().unwrap();
    let log = get(UnaryOp::Log);
    assert_eq!(log[0], f32::NEG_INFINITY);
    assert_eq!(log[2], f32::INFINITY);
    assert!(log[4].is_nan() && log[5].is_nan());
    assert_eq!(get(UnaryOp::Sigmoid)[..4], [0.5, 0.5, 1.0, 0.0]);
    // -inf * 0 is NaN in jax's formulas too.
    assert!(get(UnaryOp::Silu)[3].is_nan());
    assert_eq!(get(UnaryOp::Gelu)[..3], [0.0, -0.0, f32::INFINITY]);
    assert!(get(UnaryOp::Gelu)[3].is_nan());
    assert_eq!(get(UnaryOp::GeluExact)[2], f32::INFINITY);
    // XLA's array erf kernel: ±1 for |x| >= 3.8325069, the rational approximation below it
    // (values from jax.lax.erf on this float32[8] array, JAX 0.10.2).
    let near_one = unary(
        UnaryOp::Erf,
        &t32(&[3.743_921_2, 3.8, 3.85, -3.8, 0.0, 0.0, 0.0, 0.0], &[8]),
    )
    .unwrap()
    .to_vec::<f32>()
    .unwrap();
    let bits: Vec<u32> = near_one[..4].iter().map(|v| v.to_bits()).collect();
    assert_eq!(bits, [1065353213, 1065353214, 1065353216, 3212836862]);
    assert_eq!(get(UnaryOp::Erf)[2..4], [1.0, -1.0]);
    assert_eq!(get(UnaryOp::Rsqrt)[0], f32::INFINITY);
    assert!(get(UnaryOp::Tanh)[4].is_nan());
    // Large tensors take the parallel path and give the same values.
    let big: Vec<f32> = (0..200_000)
        .map(|i| (i as f32 * 0.001).sin() * 5.0)
        .collect();
    let y = unary(UnaryOp::Gelu, &t32(&big, &[200_000])).unwrap();
    let small = unary(UnaryOp::Gelu, &t32(&big[..1000], &[1000])).unwrap();
    assert_eq!(
        &y.as_slice::<f32>().unwrap()[..1000],
        small.as_slice::<f32>().unwrap()
    );
}

#[test]
fn unary_dtype_rules() {
    let i = Tensor::from_vec(vec![i32::MIN, -3, 0, 4], &[4]).unwrap();
    assert_eq!(
        unary(UnaryOp::Abs, &i).unwrap().to_vec::<i32>().unwrap(),
        [i32::MIN, 3, 0, 4]
    );
    assert_eq!(
        unary(UnaryOp::Negative, &i)
            .unwrap()
            .to_vec::<i32>()
            .unwrap(),
        [i32::MIN, 3, 0, -4]
    );
    assert_eq!(
        unary(UnaryOp::Square, &i).unwrap().to_vec::<i32>().unwrap(),
        [0, 9, 0, 16]
    );
    assert_eq!(
        unary(UnaryOp::Floor, &i).unwrap().to_vec::<i32>().unwrap(),
        [i32::MIN, -3, 0, 4]
    );
    let e = unary(UnaryOp::Exp, &i).unwrap();
    assert_eq!(e.dtype(), DType::F32);
    let ev = e.to_vec::<f32>().unwrap();
    assert_eq!(ev[2], 1.0);
    assert!((ev[3] as f64 - 4f64.exp()).abs() < 1e-7 * 4f64.exp());
    let u = Tensor::from_vec(vec![1u8, 200], &[2]).unwrap();
    assert_eq!(
        unary(UnaryOp::Negative, &u)
            .unwrap()
            .to_vec::<u8>()
            .unwrap(),
        [255, 56]
    );
    assert_eq!(
        unary(UnaryOp::Abs, &u).unwrap().to_vec::<u8>().unwrap(),
        [1, 200]
    );
    let b = Tensor::from_vec(vec![true, false], &[2]).unwrap();
    assert_eq!(
        unary(UnaryOp::Abs, &b).unwrap().to_vec::<bool>().unwrap(),
        [true, false]
    );
    let sq = unary(UnaryOp::Square, &b).unwrap();
    assert_eq!(
        (sq.dtype(), sq.to_vec::<i32>().unwrap()),
        (DType::I32, vec![1, 0])
    );
    for op in [
        UnaryOp::Rsqrt,
        UnaryOp::Sigmoid,
        UnaryOp::Silu,
        UnaryOp::Gelu,
        UnaryOp::GeluExact,
    ] {
        let err = unary(op, &i).unwrap_err();
        assert_eq!(err.code, ErrorCode::DType, "{op:?}");
        assert!(err.message.contains("int32"), "{}", err.message);
    }
    assert_eq!(
        unary(UnaryOp::Negative, &b).unwrap_err().code,
        ErrorCode::DType
    );
    let f = t32(&[0.0, 2.0, f32::NAN, -0.0], &[4]);
    let n = unary(UnaryOp::LogicalNot, &f).unwrap();
    assert_eq!(n.to_vec::<bool>().unwrap(), [true, false, false, true]);
    assert_eq!(
        unary(UnaryOp::LogicalNot, &i)
            .unwrap()
            .to_vec::<bool>()
            .unwrap(),
        [false, false, true, false]
    );
    // sin, cos, log1p and expm1 compute integers in float32, as jnp.
    for op in [UnaryOp::Sin, UnaryOp::Cos, UnaryOp::Log1p, UnaryOp::Expm1] {
        let y = unary(op, &i).unwrap();
        assert_eq!(y.dtype(), DType::F32, "{op:?}");
        let bits = |t: &Tensor| t.to_vec::<f32>().unwrap().iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&y), bits(&unary(op, &i.astype(DType::F32)).unwrap()), "{op:?}");
    }
    assert_eq!(UnaryOp::ALL.len(), 21);
}

#[test]
fn maximum_minimum_propagate_nan_and_broadcast() {
    let a = t32(&[1.0, f32::NAN, 3.0, -1.0, 5.0, 0.5], &[2, 3]);
    let b = t32(&[2.0, 2.0, f32::NAN], &[3]);
    let mx = binary(BinaryOp::Max, &a, &b)
        .unwrap()
        .to_vec::<f32>()
        .unwrap();
    let mn = binary(BinaryOp::Min, &a, &b)
        .unwrap()
        .to_vec::<f32>()
        .unwrap();
    let show = |v: &[f32]| format!("{v:?}");
    assert_eq!(
        show(&mx),
        show(&[2.0, f32::NAN, f32::NAN, 2.0, 5.0, f32::NAN])
    );
    assert_eq!(
        show(&mn),
        show(&[1.0, f32::NAN, f32::NAN, -1.0, 2.0, f32::NAN])
    );
    let s = binary_scalar(BinaryOp::Max, &a, 2.5, false)
        .unwrap()
        .to_vec::<f32>()
        .unwrap();
    assert_eq!(show(&s), show(&[2.5, f32::NAN, 3.0, 2.5, 5.0, 2.5]));
    let i = Tensor::from_vec(vec![-5i32, 7, 0], &[3]).unwrap();
    let m = binary_scalar(BinaryOp::Min, &i, 1.0, true).unwrap();
    assert_eq!(
        (m.dtype(), m.to_vec::<i32>().unwrap()),
        (DType::I32, vec![-5, 1, 0])
    );
    let m = binary_scalar(BinaryOp::Max, &i, 0.5, false).unwrap();
    assert_eq!(m.dtype(), DType::F32, "a fractional scalar promotes");
    let bb = Tensor::from_vec(vec![true, false], &[2]).unwrap();
    let bc = Tensor::from_vec(vec![false, false], &[2]).unwrap();
    assert_eq!(
        binary(BinaryOp::Max, &bb, &bc)
            .unwrap()
            .to_vec::<bool>()
            .unwrap(),
        [true, false]
    );
    assert_eq!(
        binary(BinaryOp::Min, &bb, &bc)
            .unwrap()
            .to_vec::<bool>()
            .unwrap(),
        [false, false]
    );
}

#[test]
fn power_float_integer_and_errors() {
    let v: Vec<f32> = (1..200).map(|i| i as f32 * 0.37 - 30.0).collect();
    let x = t32(&v, &[v.len()]);
    // Integer exponents are lax.integer_pow: repeated squaring, bit-exact.
    let cube = binary_scalar(BinaryOp::Pow, &x, 3.0, false)
        .unwrap()
        .to_vec::<f32>()
        .unwrap();
    let inv2 = binary_scalar(BinaryOp::Pow, &x, -2.0, false)
        .unwrap()
        .to_vec::<f32>()
        .unwrap();
    let p0 = binary_scalar(BinaryOp::Pow, &x, 0.0, false)
        .unwrap()
        .to_vec::<f32>()
        .unwrap();
    let p5 = binary_scalar(BinaryOp::Pow, &x, 5.0, false)
        .unwrap()
        .to_vec::<f32>()
        .unwrap();
    for (k, &a) in v.iter().enumerate() {
        assert_eq!(cube[k], a * (a * a));
        assert_eq!(inv2[k], 1.0 / (a * a));
        assert_eq!(p0[k], 1.0);
        let a2 = a * a;
        assert_eq!(p5[k], a * (a2 * a2));
    }
    // Fractional exponents and tensor exponents are powf (vs f64 reference).
    let pos: Vec<f32> = v.iter().map(|a| a.abs() + 0.1).collect();
    let xp = t32(&pos, &[pos.len()]);
    let h = binary_scalar(BinaryOp::Pow, &xp, 0.5, false)
        .unwrap()
        .to_vec::<f32>()
        .unwrap();
    let e = t32(&[1.5, -0.25, 2.0], &[3, 1]);
    let xr = xp.reshape(&[1, -1]).unwrap();
    let pt = binary(BinaryOp::Pow, &xr, &e).unwrap();
    assert_eq!(pt.shape(), &[3, pos.len()]);
    let pt = pt.to_vec::<f32>().unwrap();
    for (k, &a) in pos.iter().enumerate() {
        let a = a as f64;
        assert!((h[k] as f64 - a.sqrt()).abs() <= 2e-7 * a.sqrt());
        for (r, ex) in [1.5f64, -0.25, 2.0].iter().enumerate() {
            let want = a.powf(*ex);
            let got = pt[r * pos.len() + k] as f64;
            assert!(
                (got - want).abs() <= 3e-7 * want,
                "{a}^{ex}: {got} vs {want}"
            );
        }
    }
    let s = binary_scalar(BinaryOp::Pow, &t32(&[2.0, 3.0], &[2]), 2.0, true).unwrap();
    assert_eq!(s.to_vec::<f32>().unwrap(), [4.0, 8.0], "scalar base");
    // Integers: exact wrapping powers; negative exponents are rejected.
    let i = Tensor::from_vec(vec![2i32, -3, 7, 0], &[4]).unwrap();
    let j = Tensor::from_vec(vec![10i32, 3, 0, 5], &[4]).unwrap();
    assert_eq!(
        binary(BinaryOp::Pow, &i, &j)
            .unwrap()
            .to_vec::<i32>()
            .unwrap(),
        [1024, -27, 1, 0]
    );
    assert_eq!(
        binary_scalar(BinaryOp::Pow, &i, 2.0, false)
            .unwrap()
            .to_vec::<i32>()
            .unwrap(),
        [4, 9, 49, 0]
    );
    assert_eq!(
        binary_scalar(BinaryOp::Pow, &i, 31.0, false)
            .unwrap()
            .to_vec::<i32>()
            .unwrap()[0],
        i32::MIN,
        "wraps"
    );
    let err = binary_scalar(BinaryOp::Pow, &i, -1.0, false).unwrap_err();
    assert_eq!(err.code, ErrorCode::Arg);
    let neg = Tensor::from_vec(vec![1i32, -1, 2, 3], &[4]).unwrap();
    assert_eq!(
        binary(BinaryOp::Pow, &i, &neg).unwrap_err().code,
        ErrorCode::Arg
    );
    assert_eq!(
        binary_scalar(BinaryOp::Pow, &neg, 2.0, true)
            .unwrap_err()
            .code,
        ErrorCode::Arg
    );
    let b = Tensor::from_vec(vec![true], &[1]).unwrap();
    assert_eq!(
        binary(BinaryOp::Pow, &b, &b).unwrap_err().code,
        ErrorCode::DType
    );
    let fl = binary_scalar(BinaryOp::Pow, &i, 0.5, false).unwrap();
    assert_eq!(fl.dtype(), DType::F32);
}

fn cmp_ref(op: CompareOp, x: f64, y: f64) -> bool {
    match op {
        CompareOp::Equal => x == y,
        CompareOp::NotEqual => x != y,
        CompareOp::Less => x < y,
        CompareOp::LessEqual => x <= y,
        CompareOp::Greater => x > y,
        CompareOp::GreaterEqual => x >= y,
    }
}

#[test]
fn comparisons_broadcast_against_reference() {
    let av: Vec<f32> = (0..24).map(|i| ((i * 7) % 5) as f32 - 2.0).collect();
    let a = t32(&av, &[2, 3, 4]);
    let mut bv: Vec<f32> = (0..12).map(|i| ((i * 3) % 4) as f32 - 1.0).collect();
    bv[5] = f32::NAN;
    let b = t32(&bv, &[3, 1, 1, 4]);
    for op in CompareOp::ALL {
        let y = compare(op, &a, &b).unwrap();
        assert_eq!((y.dtype(), y.shape()), (DType::Bool, &[3, 2, 3, 4][..]));
        let got = y.to_vec::<bool>().unwrap();
        for bi in 0..3 {
            for ai in 0..2 {
                for r in 0..3 {
                    for c in 0..4 {
                        let x = av[ai * 12 + r * 4 + c] as f64;
                        let z = bv[bi * 4 + c] as f64;
                        assert_eq!(
                            got[((bi * 2 + ai) * 3 + r) * 4 + c],
                            cmp_ref(op, x, z),
                            "{op:?}"
                        );
                    }
                }
            }
        }
        // Scalar operands on either side.
        let s = compare_scalar(op, &a, 0.0, false)
            .unwrap()
            .to_vec::<bool>()
            .unwrap();
        let l = compare_scalar(op, &a, 0.0, true)
            .unwrap()
            .to_vec::<bool>()
            .unwrap();
        for (k, &x) in av.iter().enumerate() {
            assert_eq!(s[k], cmp_ref(op, x as f64, 0.0));
            assert_eq!(l[k], cmp_ref(op, 0.0, x as f64));
        }
    }
}

#[test]
fn comparison_weak_scalars_and_dtypes() {
    let f = t32(&[0.1, 0.2], &[2]);
    // 0.1 is rounded to float32 first, like jnp's weak typing.
    assert_eq!(
        compare_scalar(CompareOp::Equal, &f, 0.1, false)
            .unwrap()
            .to_vec::<bool>()
            .unwrap(),
        [true, false]
    );
    let u = Tensor::from_vec(vec![0u8, 44, 255], &[3]).unwrap();
    // No wrapping: 300 is above every uint8, -1 below.
    assert_eq!(
        compare_scalar(CompareOp::Less, &u, 300.0, false)
            .unwrap()
            .to_vec::<bool>()
            .unwrap(),
        [true; 3]
    );
    assert_eq!(
        compare_scalar(CompareOp::Equal, &u, 300.0, false)
            .unwrap()
            .to_vec::<bool>()
            .unwrap(),
        [false; 3]
    );
    assert_eq!(
        compare_scalar(CompareOp::Greater, &u, -1.0, false)
            .unwrap()
            .to_vec::<bool>()
            .unwrap(),
        [true; 3]
    );
    let i = Tensor::from_vec(vec![2i32, 3], &[2]).unwrap();
    assert_eq!(
        compare_scalar(CompareOp::Less, &i, 2.5, false)
            .unwrap()
            .to_vec::<bool>()
            .unwrap(),
        [true, false]
    );
    assert_eq!(
        compare_scalar(CompareOp::NotEqual, &i, f64::NAN, false)
            .unwrap()
            .to_vec::<bool>()
            .unwrap(),
        [true, true]
    );
    let fi = compare(CompareOp::Equal, &t32(&[2.0, 2.5], &[2]), &i).unwrap();
    assert_eq!(
        fi.to_vec::<bool>().unwrap(),
        [true, false],
        "int32 with float32 compares in float32"
    );
    let e = compare(CompareOp::Equal, &i, &u.reshape(&[3, 1]).unwrap()).unwrap_err();
    assert_eq!(e.code, ErrorCode::DType);
    let e = compare(
        CompareOp::Less,
        &t32(&[1.0; 3], &[3]),
        &t32(&[1.0; 2], &[2]),
    )
    .unwrap_err();
    assert_eq!(e.code, ErrorCode::Shape);
    assert!(
        e.message.contains("[3]") && e.message.contains("[2]"),
        "{}",
        e.message
    );
    let b = Tensor::from_vec(vec![true, false], &[2]).unwrap();
    assert_eq!(
        compare_scalar(CompareOp::Equal, &b, 1.0, false)
            .unwrap()
            .to_vec::<bool>()
            .unwrap(),
        [true, false]
    );
    assert_eq!(
        compare(
            CompareOp::Greater,
            &b,
            &Tensor::from_vec(vec![false, false], &[2]).unwrap()
        )
        .unwrap()
        .to_vec::<bool>()
        .unwrap(),
        [true, false]
    );
}

#[test]
fn logical_ops_and_where() {
    let a = t32(&[0.0, 1.0, f32::NAN, -2.0], &[4]);
    let b = Tensor::from_vec(vec![true, false], &[2, 1]).unwrap();
    let and = logical(LogicalOp::And, &a, &b).unwrap();
    assert_eq!(and.shape(), &[2, 4]);
    assert_eq!(
        and.to_vec::<bool>().unwrap(),
        [false, true, true, true, false, false, false, false]
    );
    let or = logical(LogicalOp::Or, &a, &b)
        .unwrap()
        .to_vec::<bool>()
        .unwrap();
    assert_eq!(or, [true, true, true, true, false, true, true, true]);
    let xor = logical(LogicalOp::Xor, &a, &b)
        .unwrap()
        .to_vec::<bool>()
        .unwrap();
    assert_eq!(xor, [true, false, false, false, false, true, true, true]);

    let cond = Tensor::from_vec(vec![true, false, true], &[3]).unwrap();
    let x = t32(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
    let y = where_(&cond, Operand::Tensor(&x), Operand::Scalar(-1.0)).unwrap();
    assert_eq!(y.to_vec::<f32>().unwrap(), [1.0, -1.0, 3.0, 4.0, -1.0, 6.0]);
    let col = t32(&[10.0, 20.0], &[2, 1]);
    let y = where_(&cond, Operand::Scalar(0.0), Operand::Tensor(&col)).unwrap();
    assert_eq!(
        (y.shape(), y.to_vec::<f32>().unwrap()),
        (&[2, 3][..], vec![0.0, 10.0, 0.0, 0.0, 20.0, 0.0])
    );
    let yi = where_(&cond, Operand::Scalar(1.0), Operand::Scalar(2.0)).unwrap();
    assert_eq!(
        (yi.dtype(), yi.to_vec::<i32>().unwrap()),
        (DType::I32, vec![1, 2, 1])
    );
    let yf = where_(&cond, Operand::Scalar(1.5), Operand::Scalar(2.0)).unwrap();
    assert_eq!(yf.dtype(), DType::F32);
    let i = Tensor::from_vec(vec![7i32, 8, 9], &[3]).unwrap();
    let fc = t32(&[1.0, 0.0, f32::NAN], &[3]);
    let w = where_(&fc, Operand::Tensor(&i), Operand::Scalar(0.0)).unwrap();
    assert_eq!(
        (w.dtype(), w.to_vec::<i32>().unwrap()),
        (DType::I32, vec![7, 0, 9]),
        "NaN is true"
    );
    let w = where_(&fc, Operand::Tensor(&i), Operand::Tensor(&x)).unwrap();
    assert_eq!(w.dtype(), DType::F32);
    assert_eq!(w.to_vec::<f32>().unwrap(), [7.0, 2.0, 9.0, 7.0, 5.0, 9.0]);
    // Large mixed broadcast against a naive loop (parallel path).
    let (r, c) = (300, 500);
    let cv: Vec<bool> = (0..c).map(|k| k % 3 == 0).collect();
    let cond = Tensor::from_vec(cv.clone(), &[c]).unwrap();
    let xv: Vec<f32> = (0..r * c).map(|k| k as f32).collect();
    let xt = t32(&xv, &[r, c]);
    let yv: Vec<f32> = (0..r).map(|k| -(k as f32)).collect();
    let yt = t32(&yv, &[r, 1]);
    let w = where_(&cond, Operand::Tensor(&xt), Operand::Tensor(&yt))
        .unwrap()
        .to_vec::<f32>()
        .unwrap();
    for k in 0..r * c {
        assert_eq!(w[k], if cv[k % c] { xv[k] } else { yv[k / c] });
    }
    let e = where_(
        &cond,
        Operand::Tensor(&t32(&[1.0; 4], &[4])),
        Operand::Scalar(0.0),
    )
    .unwrap_err();
    assert_eq!(e.code, ErrorCode::Shape);
    let u = Tensor::from_vec(vec![1u8], &[1]).unwrap();
    let e = where_(&b, Operand::Tensor(&i), Operand::Tensor(&u)).unwrap_err();
    assert_eq!(e.code, ErrorCode::DType);
    assert!(e.message.contains("x has dtype int32"), "{}", e.message);
}
