//! Elementwise arithmetic: broadcasting against a naive reference, dtype rules, scalars, errors.

use flaxen_core::ops::{binary, binary_scalar, BinaryOp};
use flaxen_core::shape::broadcast_shapes;
use flaxen_core::{DType, ErrorCode, Tensor};

fn seq(shape: &[usize], start: f32) -> Tensor {
    let n: usize = shape.iter().product();
    Tensor::from_vec(
        (0..n).map(|i| start + i as f32 * 0.5).collect::<Vec<f32>>(),
        shape,
    )
    .unwrap()
}

/// Naive broadcasting reference in f64.
fn reference(op: BinaryOp, a: &Tensor, b: &Tensor) -> Vec<f64> {
    let out = broadcast_shapes(a.shape(), b.shape()).unwrap();
    let n: usize = out.iter().product();
    let (av, bv) = (a.to_f64_vec(), b.to_f64_vec());
    let at = |v: &[f64], s: &[usize], flat: usize| {
        let mut rem = flat;
        let mut idx = 0;
        let mut mul = 1;
        for d in (0..out.len()).rev() {
            let c = rem % out[d];
            rem /= out[d];
            let off = out.len() - s.len();
            if d >= off {
                let sd = s[d - off];
                idx += if sd == 1 { 0 } else { c * mul };
                mul *= sd;
            }
        }
        v[idx]
    };
    (0..n)
        .map(|i| {
            let (x, y) = (at(&av, a.shape(), i), at(&bv, b.shape(), i));
            match op {
                BinaryOp::Add => x + y,
                BinaryOp::Sub => x - y,
                BinaryOp::Mul => x * y,
                BinaryOp::Div => x / y,
                BinaryOp::Max => x.max(y),
                BinaryOp::Min => x.min(y),
                BinaryOp::Pow => x.powf(y),
                // Python's `%` and `//` (the divisor's sign).
                BinaryOp::Rem => x - y * (x / y).floor(),
                BinaryOp::FloorDiv => (x / y).floor(),
            }
        })
        .collect()
}

const OPS: [BinaryOp; 8] = [
    BinaryOp::Add,
    BinaryOp::Sub,
    BinaryOp::Mul,
    BinaryOp::Div,
    BinaryOp::Max,
    BinaryOp::Min,
    BinaryOp::Rem,
    BinaryOp::FloorDiv,
];

fn check(sa: &[usize], sb: &[usize]) {
    let (a, b) = (seq(sa, -3.0), seq(sb, 0.75));
    for op in OPS {
        let c = binary(op, &a, &b).unwrap();
        assert_eq!(c.shape(), &broadcast_shapes(sa, sb).unwrap()[..]);
        let want = reference(op, &a, &b);
        for (i, (g, w)) in c.as_slice::<f32>().unwrap().iter().zip(&want).enumerate() {
            assert!(
                (*g as f64 - w).abs() <= 1e-6 * w.abs().max(1.0),
                "{op:?} {sa:?} {sb:?} [{i}] {g} vs {w}"
            );
        }
    }
}

#[test]
fn broadcasting_patterns() {
    check(&[2, 3], &[2, 3]); // same shape
    check(&[], &[4]); // scalar left
    check(&[4, 5], &[]); // scalar right
    check(&[1], &[3, 2]);
    check(&[4, 5], &[5]); // row broadcast
    check(&[4, 5], &[4, 1]); // column broadcast
    check(&[4, 1], &[1, 5]); // outer
    check(&[2, 3, 4], &[3, 1]);
    check(&[2, 1, 4], &[1, 3, 1]);
    check(&[5, 1, 3, 1], &[2, 1, 7]);
    check(&[3, 1, 1], &[1, 1, 1]);
    check(&[0, 3], &[3]); // empty
    check(&[300, 257], &[257]); // parallel row broadcast
    check(&[70_000], &[70_000]); // parallel same shape
    check(&[3, 40_000], &[3, 1]); // parallel column broadcast
}

#[test]
fn integer_arithmetic_wraps() {
    let a = Tensor::from_vec(vec![i32::MAX, -5, 7], &[3]).unwrap();
    let b = Tensor::from_vec(vec![1i32, 3, -2], &[3]).unwrap();
    let s = binary(BinaryOp::Add, &a, &b).unwrap();
    assert_eq!(s.dtype(), DType::I32);
    assert_eq!(s.as_slice::<i32>().unwrap(), &[i32::MIN, -2, 5]);
    assert_eq!(
        binary(BinaryOp::Mul, &a, &b)
            .unwrap()
            .as_slice::<i32>()
            .unwrap(),
        &[i32::MAX, -15, -14]
    );
    let u = Tensor::from_vec(vec![0u8, 200], &[2]).unwrap();
    let v = Tensor::from_vec(vec![1u8, 100], &[2]).unwrap();
    assert_eq!(
        binary(BinaryOp::Sub, &u, &v)
            .unwrap()
            .as_slice::<u8>()
            .unwrap(),
        &[255, 100]
    );
    assert_eq!(
        binary(BinaryOp::Add, &u, &v)
            .unwrap()
            .as_slice::<u8>()
            .unwrap(),
        &[1, 44]
    );
}

#[test]
fn integer_division_is_true_division() {
    let a = Tensor::from_vec(vec![7i32, -7, 1], &[3]).unwrap();
    let b = Tensor::from_vec(vec![2i32, 2, 0], &[3]).unwrap();
    let q = binary(BinaryOp::Div, &a, &b).unwrap();
    assert_eq!(q.dtype(), DType::F32);
    assert_eq!(q.as_slice::<f32>().unwrap(), &[3.5, -3.5, f32::INFINITY]);
}

#[test]
fn float_with_int_promotes() {
    let f = Tensor::from_vec(vec![0.5f32, 1.5], &[2]).unwrap();
    let i = Tensor::from_vec(vec![2i32, 3], &[2]).unwrap();
    let r = binary(BinaryOp::Mul, &i, &f).unwrap();
    assert_eq!(r.dtype(), DType::F32);
    assert_eq!(r.as_slice::<f32>().unwrap(), &[1.0, 4.5]);
    let m = Tensor::from_vec(vec![true, false], &[2]).unwrap();
    assert_eq!(
        binary(BinaryOp::Add, &f, &m)
            .unwrap()
            .as_slice::<f32>()
            .unwrap(),
        &[1.5, 1.5]
    );
}

#[test]
fn bool_arithmetic() {
    let a = Tensor::from_vec(vec![true, true, false, false], &[4]).unwrap();
    let b = Tensor::from_vec(vec![true, false, true, false], &[4]).unwrap();
    let or = binary(BinaryOp::Add, &a, &b).unwrap();
    assert_eq!(or.dtype(), DType::Bool);
    assert_eq!(or.as_slice::<bool>().unwrap(), &[true, true, true, false]);
    assert_eq!(
        binary(BinaryOp::Mul, &a, &b)
            .unwrap()
            .as_slice::<bool>()
            .unwrap(),
        &[true, false, false, false]
    );
    assert_eq!(
        binary(BinaryOp::Sub, &a, &b).unwrap_err().code,
        ErrorCode::DType
    );
    assert_eq!(
        binary(BinaryOp::Div, &a, &b)
            .unwrap()
            .as_slice::<f32>()
            .unwrap()[0],
        1.0
    );
}

#[test]
fn scalars() {
    let f = Tensor::from_vec(vec![1.0f32, 2.0, 4.0], &[3]).unwrap();
    assert_eq!(
        binary_scalar(BinaryOp::Sub, &f, 1.0, false)
            .unwrap()
            .as_slice::<f32>()
            .unwrap(),
        &[0.0, 1.0, 3.0]
    );
    assert_eq!(
        binary_scalar(BinaryOp::Sub, &f, 1.0, true)
            .unwrap()
            .as_slice::<f32>()
            .unwrap(),
        &[0.0, -1.0, -3.0]
    );
    assert_eq!(
        binary_scalar(BinaryOp::Div, &f, 8.0, true)
            .unwrap()
            .as_slice::<f32>()
            .unwrap(),
        &[8.0, 4.0, 2.0]
    );
    let i = Tensor::from_vec(vec![1i32, 2, 3], &[3]).unwrap();
    let r = binary_scalar(BinaryOp::Mul, &i, 3.0, false).unwrap();
    assert_eq!(r.dtype(), DType::I32);
    assert_eq!(r.as_slice::<i32>().unwrap(), &[3, 6, 9]);
    let r = binary_scalar(BinaryOp::Add, &i, 0.5, false).unwrap();
    assert_eq!(r.dtype(), DType::F32);
    assert_eq!(r.as_slice::<f32>().unwrap(), &[1.5, 2.5, 3.5]);
    let r = binary_scalar(BinaryOp::Div, &i, 2.0, false).unwrap();
    assert_eq!(r.as_slice::<f32>().unwrap(), &[0.5, 1.0, 1.5]);
    let u = Tensor::from_vec(vec![0u8, 5], &[2]).unwrap();
    assert_eq!(
        binary_scalar(BinaryOp::Add, &u, -1.0, false)
            .unwrap()
            .as_slice::<u8>()
            .unwrap(),
        &[255, 4]
    );
    let b = Tensor::from_vec(vec![true, false], &[2]).unwrap();
    let r = binary_scalar(BinaryOp::Add, &b, 2.0, false).unwrap();
    assert_eq!(r.dtype(), DType::I32);
    assert_eq!(r.as_slice::<i32>().unwrap(), &[3, 2]);
    // 0-d tensor with a scalar.
    let z = binary_scalar(BinaryOp::Mul, &Tensor::scalar(2.0f32), 3.0, false).unwrap();
    assert_eq!(z.shape(), &[] as &[usize]);
    assert_eq!(z.as_slice::<f32>().unwrap(), &[6.0]);
}

#[test]
fn errors() {
    let e = binary(BinaryOp::Add, &seq(&[2, 3], 0.0), &seq(&[4], 0.0)).unwrap_err();
    assert_eq!(e.code, ErrorCode::Shape);
    assert!(
        e.message.contains("[2, 3]") && e.message.contains("[4]"),
        "{}",
        e.message
    );
    assert!(e.message.starts_with("add:"), "{}", e.message);
    let i = Tensor::from_vec(vec![1i32], &[1]).unwrap();
    let u = Tensor::from_vec(vec![1u8], &[1]).unwrap();
    let e = binary(BinaryOp::Add, &i, &u).unwrap_err();
    assert_eq!(e.code, ErrorCode::DType);
    assert!(
        e.message.contains("int32") && e.message.contains("uint8"),
        "{}",
        e.message
    );
}
