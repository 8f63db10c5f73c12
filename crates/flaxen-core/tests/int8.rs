//! int8 (numpy semantics: wrapping integer arithmetic, saturating float casts) and jnp.round.

use flaxen_core::ops::*;
use flaxen_core::{DType, ErrorCode, Tensor};

fn i8s(v: &[i8]) -> Tensor {
    Tensor::from_vec(v.to_vec(), &[v.len()]).unwrap()
}

fn f32s(v: &[f32]) -> Tensor {
    Tensor::from_vec(v.to_vec(), &[v.len()]).unwrap()
}

#[test]
fn int8_is_a_one_byte_signed_integer() {
    assert_eq!(DType::from_name("int8").unwrap(), DType::I8);
    assert_eq!(DType::I8.size(), 1);
    assert!(DType::I8.is_int() && !DType::I8.is_unsigned() && !DType::I8.is_float());
}

#[test]
fn casts_follow_numpy() {
    // float → int8 truncates toward zero and saturates; NaN → 0
    let x = f32s(&[-1.7, 2.9, 300.0, -300.0, f32::NAN]);
    assert_eq!(
        x.astype(DType::I8).as_slice::<i8>().unwrap(),
        &[-1, 2, 127, -128, 0]
    );
    // int32 → int8 wraps
    let y = Tensor::from_vec(vec![127i32, 128, -129, 255], &[4]).unwrap();
    assert_eq!(
        y.astype(DType::I8).as_slice::<i8>().unwrap(),
        &[127, -128, 127, -1]
    );
    // int8 → float32 / int32 / uint8 / bool
    let q = i8s(&[-128, -1, 0, 127]);
    assert_eq!(
        q.astype(DType::F32).to_f64_vec(),
        vec![-128.0, -1.0, 0.0, 127.0]
    );
    assert_eq!(
        q.astype(DType::I32).as_slice::<i32>().unwrap(),
        &[-128, -1, 0, 127]
    );
    assert_eq!(
        q.astype(DType::U8).as_slice::<u8>().unwrap(),
        &[128, 255, 0, 127]
    );
    assert_eq!(q.astype(DType::Bool).to_f64_vec(), vec![1.0, 1.0, 0.0, 1.0]);
    // full wraps integral values like numpy's C casts
    assert_eq!(
        full(&[2], -129.0, DType::I8).as_slice::<i8>().unwrap(),
        &[127, 127]
    );
}

#[test]
fn arithmetic_wraps_and_promotes_with_float32() {
    let a = i8s(&[100, -100, 7, -128]);
    let b = i8s(&[100, -100, -2, 1]);
    assert_eq!(
        binary(BinaryOp::Add, &a, &b)
            .unwrap()
            .as_slice::<i8>()
            .unwrap(),
        &[-56, 56, 5, -127]
    );
    assert_eq!(
        binary(BinaryOp::Mul, &a, &b)
            .unwrap()
            .as_slice::<i8>()
            .unwrap(),
        &[16, 16, -14, -128]
    );
    assert_eq!(
        binary(BinaryOp::Max, &a, &b)
            .unwrap()
            .as_slice::<i8>()
            .unwrap(),
        &[100, -100, 7, 1]
    );
    // with float32: promoted (the dequantisation q * scale)
    let s = f32s(&[0.5]);
    let y = binary(BinaryOp::Mul, &a, &s).unwrap();
    assert_eq!(y.dtype(), DType::F32);
    assert_eq!(y.to_f64_vec(), vec![50.0, -50.0, 3.5, -64.0]);
    // an integral scalar keeps int8; a fractional one gives float32
    assert_eq!(
        binary_scalar(BinaryOp::Sub, &a, 1.0, false)
            .unwrap()
            .as_slice::<i8>()
            .unwrap(),
        &[99, -101, 6, 127]
    );
    assert_eq!(
        binary_scalar(BinaryOp::Mul, &a, 0.5, false)
            .unwrap()
            .dtype(),
        DType::F32
    );
    // int8 with int32 is not in the supported promotion subset
    let c = Tensor::from_vec(vec![1i32; 4], &[4]).unwrap();
    assert_eq!(
        binary(BinaryOp::Add, &a, &c).unwrap_err().code,
        ErrorCode::DType
    );
}

#[test]
fn reductions_compare_and_unary() {
    let a = i8s(&[100, 100, -3, -128]);
    let s = sum(&a, None, false).unwrap();
    assert_eq!(
        s.dtype(),
        DType::I32,
        "jnp.sum of int8 accumulates in int32"
    );
    assert_eq!(s.as_slice::<i32>().unwrap(), &[69]);
    assert_eq!(
        max(&a, None, false).unwrap().as_slice::<i8>().unwrap(),
        &[100]
    );
    assert_eq!(
        min(&a, None, false).unwrap().as_slice::<i8>().unwrap(),
        &[-128]
    );
    assert_eq!(
        argmin(&a, None, false).unwrap().as_slice::<i32>().unwrap(),
        &[3]
    );
    assert_eq!(sign(&a).unwrap().as_slice::<i8>().unwrap(), &[1, 1, -1, -1]);
    assert_eq!(
        compare_scalar(CompareOp::Less, &a, 0.0, false)
            .unwrap()
            .to_f64_vec(),
        vec![0.0, 0.0, 1.0, 1.0]
    );
    assert_eq!(
        unary(UnaryOp::Abs, &a).unwrap().as_slice::<i8>().unwrap(),
        &[100, 100, 3, -128]
    );
    assert_eq!(
        transpose(&a.reshape(&[2, 2]).unwrap(), None)
            .unwrap()
            .as_slice::<i8>()
            .unwrap(),
        &[100, -3, 100, -128]
    );
    // out-of-range take in fill mode writes iinfo(int8).min, as jnp
    let idx = Tensor::from_vec(vec![0i32, 9], &[2]).unwrap();
    assert_eq!(
        take(&a, &idx, None, TakeMode::Fill)
            .unwrap()
            .as_slice::<i8>()
            .unwrap(),
        &[100, -128]
    );
}

#[test]
fn round_is_half_to_even() {
    let x = f32s(&[
        -2.5,
        -1.5,
        -0.5,
        0.5,
        1.5,
        2.5,
        0.49999997,
        -0.0,
        f32::NAN,
        f32::INFINITY,
    ]);
    let r = round(&x, 0).unwrap().as_slice::<f32>().unwrap().to_vec();
    assert_eq!(&r[..8], &[-2.0, -2.0, -0.0, 0.0, 2.0, 2.0, 0.0, -0.0]);
    assert!(r[2].is_sign_negative() && r[7].is_sign_negative());
    assert!(r[8].is_nan() && r[9] == f32::INFINITY);
    // decimals: round(x * 10^d) / 10^d in float32
    let y = round(&f32s(&[1.25, 1.35, 123.456]), 1).unwrap();
    assert_eq!(
        y.as_slice::<f32>().unwrap(),
        &[
            (12.5f32).round_ties_even() / 10.0,
            (1.35f32 * 10.0).round_ties_even() / 10.0,
            123.5
        ]
    );
    assert_eq!(
        round(&f32s(&[1250.0, 1350.0]), -2)
            .unwrap()
            .as_slice::<f32>()
            .unwrap(),
        &[1200.0, 1400.0]
    );
    // integers come back unchanged; bool is rejected
    assert_eq!(
        round(&i8s(&[-3, 5]), 0).unwrap().as_slice::<i8>().unwrap(),
        &[-3, 5]
    );
    let b = Tensor::from_vec(vec![true, false], &[2]).unwrap();
    assert_eq!(round(&b, 0).unwrap_err().code, ErrorCode::DType);
    assert_eq!(round(&i8s(&[1]), -1).unwrap_err().code, ErrorCode::Arg);
}
