//! take, one_hot, concatenate, stack, expand_dims, squeeze, broadcast_to, swapaxes, moveaxis.

use flaxen_core::ops::*;
use flaxen_core::{DType, ErrorCode, Tensor};

fn iota(shape: &[usize]) -> Tensor {
    let n: usize = shape.iter().product();
    Tensor::from_vec((0..n).map(|i| i as f32).collect::<Vec<f32>>(), shape).unwrap()
}

fn ints(v: &[i32], shape: &[usize]) -> Tensor {
    Tensor::from_slice(v, shape).unwrap()
}

#[test]
fn take_fill_mode_wraps_negatives_and_fills_out_of_range() {
    let x = iota(&[4, 3]);
    let idx = ints(&[0, -1, 4, -5, 2, 1], &[2, 3]);
    let y = take(&x, &idx, Some(0), TakeMode::Fill).unwrap();
    assert_eq!(y.shape(), &[2, 3, 3]);
    let v = y.to_vec::<f32>().unwrap();
    let row = |r: usize| &v[r * 3..r * 3 + 3];
    assert_eq!(row(0), [0.0, 1.0, 2.0]);
    assert_eq!(row(1), [9.0, 10.0, 11.0], "-1 is the last row");
    assert!(
        row(2).iter().all(|a| a.is_nan()),
        "index 4 >= 4 gives NaN (spec e.3)"
    );
    assert!(row(3).iter().all(|a| a.is_nan()), "-5 < -4 gives NaN");
    assert_eq!(row(4), [6.0, 7.0, 8.0]);
    // Along the last axis (element gather), and over the flattened tensor.
    let c = take(&x, &ints(&[2, 0, 3], &[3]), Some(-1), TakeMode::Fill).unwrap();
    assert_eq!(c.shape(), &[4, 3]);
    let cv = c.to_vec::<f32>().unwrap();
    assert_eq!(cv[..2], [2.0, 0.0]);
    assert!(cv[2].is_nan());
    let f = take(&x, &ints(&[11, -12, 5], &[3]), None, TakeMode::Fill).unwrap();
    assert_eq!(f.to_vec::<f32>().unwrap(), [11.0, 0.0, 5.0]);
    // Fill values by dtype: int32 min, unsigned max, bool true.
    let xi = x.astype(DType::I32);
    let o = ints(&[7], &[1]);
    assert_eq!(
        take(&xi, &o, None, TakeMode::Fill)
            .unwrap()
            .to_vec::<i32>()
            .unwrap_or_default(),
        vec![7]
    );
    let o = ints(&[12], &[1]);
    assert_eq!(
        take(&xi, &o, None, TakeMode::Fill)
            .unwrap()
            .to_vec::<i32>()
            .unwrap(),
        [i32::MIN]
    );
    assert_eq!(
        take(&x.astype(DType::U8), &o, None, TakeMode::Fill)
            .unwrap()
            .to_vec::<u8>()
            .unwrap(),
        [255]
    );
    assert_eq!(
        take(&x.astype(DType::U16), &o, None, TakeMode::Fill)
            .unwrap()
            .to_vec::<u16>()
            .unwrap(),
        [65535]
    );
    assert_eq!(
        take(&x.astype(DType::Bool), &o, None, TakeMode::Fill)
            .unwrap()
            .to_vec::<bool>()
            .unwrap(),
        [true]
    );
    // Unsigned index dtypes work too.
    let u = Tensor::from_vec(vec![3u8, 1], &[2]).unwrap();
    assert_eq!(
        take(&x, &u, Some(1), TakeMode::Fill).unwrap().shape(),
        &[4, 2]
    );
}

#[test]
fn take_element_gather_large_matches_reference() {
    // Along the last axis (one element per index), big enough for the parallel path.
    let (rows, n) = (300, 500);
    let x = iota(&[rows, n]);
    let ids: Vec<i32> = (0..400).map(|i| i * 53 % 1040 - 520).collect();
    let y = take(&x, &ints(&ids, &[20, 20]), Some(1), TakeMode::Fill).unwrap();
    assert_eq!(y.shape(), &[rows, 20, 20]);
    let yv = y.to_vec::<f32>().unwrap();
    for r in 0..rows {
        for (j, &i) in ids.iter().enumerate() {
            let got = yv[r * ids.len() + j];
            let s = if i < 0 { i + n as i32 } else { i };
            if (0..n as i32).contains(&s) {
                assert_eq!(got, (r * n + s as usize) as f32, "row {r} index {i}");
            } else {
                assert!(got.is_nan(), "row {r} index {i} is out of range: fill");
            }
        }
    }
}

#[test]
fn take_clip_wrap_large_and_errors() {
    let x = iota(&[5]);
    let idx = ints(&[-7, -1, 0, 4, 9], &[5]);
    assert_eq!(
        take(&x, &idx, None, TakeMode::Clip)
            .unwrap()
            .to_vec::<f32>()
            .unwrap(),
        [0.0, 0.0, 0.0, 4.0, 4.0]
    );
    assert_eq!(
        take(&x, &idx, None, TakeMode::Wrap)
            .unwrap()
            .to_vec::<f32>()
            .unwrap(),
        [3.0, 4.0, 0.0, 4.0, 4.0]
    );
    // An embedding lookup big enough for the parallel path.
    let (n, f) = (1000, 64);
    let table = iota(&[n, f]);
    let ids: Vec<i32> = (0..3000).map(|i| i * 37 % 1100 - 50).collect();
    let y = take(&table, &ints(&ids, &[30, 100]), Some(0), TakeMode::Fill).unwrap();
    assert_eq!(y.shape(), &[30, 100, f]);
    let yv = y.to_vec::<f32>().unwrap();
    for (k, &i) in ids.iter().enumerate() {
        let r = if i < 0 { i + n as i32 } else { i };
        for j in 0..f {
            let got = yv[k * f + j];
            if (0..n as i32).contains(&r) {
                assert_eq!(got, (r as usize * f + j) as f32);
            } else {
                assert!(got.is_nan());
            }
        }
    }
    let e = take(&x, &iota(&[2]), None, TakeMode::Fill).unwrap_err();
    assert_eq!(e.code, ErrorCode::DType);
    assert!(e.message.contains("float32"), "{}", e.message);
    assert_eq!(
        take(&x, &ints(&[0], &[1]), Some(1), TakeMode::Fill)
            .unwrap_err()
            .code,
        ErrorCode::Arg
    );
    assert_eq!(
        TakeMode::from_name("raise").unwrap_err().code,
        ErrorCode::Arg
    );
    let empty = Tensor::zeros(&[0], DType::F32);
    assert_eq!(
        take(&empty, &ints(&[0], &[1]), None, TakeMode::Clip)
            .unwrap_err()
            .code,
        ErrorCode::Arg
    );
    assert!(take(&empty, &ints(&[0], &[1]), None, TakeMode::Fill)
        .unwrap()
        .to_vec::<f32>()
        .unwrap()[0]
        .is_nan());
}

#[test]
fn one_hot_like_jax() {
    let x = ints(&[0, 2, -1, 3], &[2, 2]);
    let y = one_hot(&x, 3, DType::F32, -1).unwrap();
    assert_eq!(y.shape(), &[2, 2, 3]);
    assert_eq!(
        y.to_vec::<f32>().unwrap(),
        [1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
    );
    let f = Tensor::from_vec(vec![1.0f32, 1.5, f32::NAN], &[3]).unwrap();
    assert_eq!(
        one_hot(&f, 2, DType::I32, -1)
            .unwrap()
            .to_vec::<i32>()
            .unwrap(),
        [0, 1, 0, 0, 0, 0]
    );
    let t = one_hot(&ints(&[1, 0], &[2]), 3, DType::F32, 0).unwrap();
    assert_eq!(t.shape(), &[3, 2]);
    assert_eq!(t.to_vec::<f32>().unwrap(), [0.0, 1.0, 1.0, 0.0, 0.0, 0.0]);
    assert_eq!(one_hot(&x, 0, DType::F32, -1).unwrap().shape(), &[2, 2, 0]);
    assert_eq!(
        one_hot(&x, 3, DType::F32, 3).unwrap_err().code,
        ErrorCode::Arg
    );
}

#[test]
fn concatenate_and_stack() {
    let a = iota(&[2, 3]);
    let b = Tensor::from_vec(vec![10.0f32, 11.0], &[2, 1]).unwrap();
    let c = concatenate(&[a.clone(), b.clone()], 1).unwrap();
    assert_eq!(c.shape(), &[2, 4]);
    assert_eq!(
        c.to_vec::<f32>().unwrap(),
        [0.0, 1.0, 2.0, 10.0, 3.0, 4.0, 5.0, 11.0]
    );
    let r = concatenate(&[a.clone(), a.clone()], 0).unwrap();
    assert_eq!(r.shape(), &[4, 3]);
    assert_eq!(
        r.to_vec::<f32>().unwrap()[6..],
        [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    );
    // Promotion: int32 with float32 gives float32.
    let i = ints(&[7, 8, 9], &[1, 3]);
    let p = concatenate(&[a.clone(), i.clone()], -2).unwrap();
    assert_eq!((p.dtype(), p.shape()), (DType::F32, &[3, 3][..]));
    assert_eq!(p.to_vec::<f32>().unwrap()[6..], [7.0, 8.0, 9.0]);
    let u = Tensor::from_vec(vec![1u8, 2, 3], &[1, 3]).unwrap();
    assert_eq!(
        concatenate(&[i.clone(), u], 0).unwrap_err().code,
        ErrorCode::DType
    );
    let e = concatenate(&[a.clone(), b.clone()], 0).unwrap_err();
    assert_eq!(e.code, ErrorCode::Shape);
    assert!(
        e.message.contains("[2, 3]") && e.message.contains("[2, 1]"),
        "{}",
        e.message
    );
    assert_eq!(
        concatenate(&[a.clone(), iota(&[6])], 0).unwrap_err().code,
        ErrorCode::Shape
    );
    assert_eq!(
        concatenate(&[Tensor::scalar(1.0f32)], 0).unwrap_err().code,
        ErrorCode::Shape
    );
    assert_eq!(concatenate(&[], 0).unwrap_err().code, ErrorCode::Arg);
    assert_eq!(
        concatenate(std::slice::from_ref(&a), 2).unwrap_err().code,
        ErrorCode::Arg
    );
    // Large (parallel) against a naive interleave.
    let x = iota(&[400, 300]);
    let y = iota(&[400, 100]);
    let z = concatenate(&[x.clone(), y.clone()], 1)
        .unwrap()
        .to_vec::<f32>()
        .unwrap();
    for r in [0, 17, 399] {
        assert_eq!(z[r * 400 + 299], (r * 300 + 299) as f32);
        assert_eq!(z[r * 400 + 300], (r * 100) as f32);
    }
    let s = stack(&[a.clone(), a.clone()], 1).unwrap();
    assert_eq!(s.shape(), &[2, 2, 3]);
    assert_eq!(
        s.to_vec::<f32>().unwrap(),
        [0.0, 1.0, 2.0, 0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 3.0, 4.0, 5.0]
    );
    assert_eq!(
        stack(&[a.clone(), a.clone()], -1).unwrap().shape(),
        &[2, 3, 2]
    );
    assert_eq!(
        stack(&[Tensor::scalar(1i32), Tensor::scalar(2i32)], 0)
            .unwrap()
            .to_vec::<i32>()
            .unwrap(),
        [1, 2]
    );
    let e = stack(&[a.clone(), b], 0).unwrap_err();
    assert_eq!(e.code, ErrorCode::Shape);
    assert_eq!(
        stack(std::slice::from_ref(&a), 3).unwrap_err().code,
        ErrorCode::Arg
    );
}

#[test]
fn expand_squeeze_broadcast_swap_move() {
    let x = iota(&[2, 3]);
    assert_eq!(expand_dims(&x, &[0]).unwrap().shape(), &[1, 2, 3]);
    assert_eq!(expand_dims(&x, &[-1, 1]).unwrap().shape(), &[2, 1, 3, 1]);
    let e = expand_dims(&x, &[0, 0]).unwrap_err();
    assert_eq!(e.code, ErrorCode::Arg);
    assert_eq!(expand_dims(&x, &[3]).unwrap_err().code, ErrorCode::Arg);
    assert!(std::sync::Arc::ptr_eq(
        expand_dims(&x, &[0]).unwrap().storage(),
        x.storage()
    ));
    let y = iota(&[1, 2, 1, 3, 1]);
    assert_eq!(squeeze(&y, None).unwrap().shape(), &[2, 3]);
    assert_eq!(squeeze(&y, Some(&[0, -1])).unwrap().shape(), &[2, 1, 3]);
    let e = squeeze(&y, Some(&[1])).unwrap_err();
    assert_eq!(e.code, ErrorCode::Arg);
    assert!(e.message.contains("size 2"), "{}", e.message);

    let b = broadcast_to(
        &Tensor::from_vec(vec![1.0f32, 2.0, 3.0], &[3, 1]).unwrap(),
        &[2, 3, 2],
    )
    .unwrap();
    assert_eq!(
        b.to_vec::<f32>().unwrap(),
        [1.0, 1.0, 2.0, 2.0, 3.0, 3.0, 1.0, 1.0, 2.0, 2.0, 3.0, 3.0]
    );
    let r = broadcast_to(&iota(&[4]), &[3, 4])
        .unwrap()
        .to_vec::<f32>()
        .unwrap();
    assert_eq!(r[4..8], [0.0, 1.0, 2.0, 3.0]);
    let big = broadcast_to(&iota(&[1, 500]), &[300, 500])
        .unwrap()
        .to_vec::<f32>()
        .unwrap();
    assert!((0..300 * 500).all(|k| big[k] == (k % 500) as f32));
    let e = broadcast_to(&x, &[3, 3]).unwrap_err();
    assert_eq!(e.code, ErrorCode::Shape);
    assert!(
        e.message.contains("[2, 3]") && e.message.contains("[3, 3]"),
        "{}",
        e.message
    );
    assert_eq!(broadcast_to(&x, &[3]).unwrap_err().code, ErrorCode::Shape);
    assert_eq!(broadcast_to(&x, &[0, 2, 3]).unwrap().shape(), &[0, 2, 3]);

    let z = iota(&[2, 3, 4]);
    let s = swapaxes(&z, 0, -1).unwrap();
    assert_eq!(s.shape(), &[4, 3, 2]);
    assert_eq!(s.to_vec::<f32>().unwrap()[..4], [0.0, 12.0, 4.0, 16.0]);
    assert_eq!(swapaxes(&z, 0, 3).unwrap_err().code, ErrorCode::Arg);
    let m = moveaxis(&z, &[0], &[-1]).unwrap();
    assert_eq!(m.shape(), &[3, 4, 2]);
    assert_eq!(m.to_vec::<f32>().unwrap()[..4], [0.0, 12.0, 1.0, 13.0]);
    assert_eq!(moveaxis(&z, &[0, 1], &[2, 0]).unwrap().shape(), &[3, 4, 2]);
    assert_eq!(moveaxis(&z, &[2, 0], &[0, 1]).unwrap().shape(), &[4, 2, 3]);
    assert_eq!(
        moveaxis(&z, &[0], &[0, 1]).unwrap_err().code,
        ErrorCode::Arg
    );
    assert_eq!(
        moveaxis(&z, &[0, 0], &[1, 2]).unwrap_err().code,
        ErrorCode::Arg
    );
}
