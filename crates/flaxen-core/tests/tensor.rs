//! Tensor construction, typed access, reshape, astype; dtypes; shape helpers; errors.

use std::sync::Arc;

use flaxen_core::shape::{broadcast_shapes, check_shape, normalize_axis};
use flaxen_core::{DType, Error, ErrorCode, Storage, Tensor};

#[test]
fn error_codes_and_display() {
    let codes = [
        (ErrorCode::Shape, "E_SHAPE"),
        (ErrorCode::DType, "E_DTYPE"),
        (ErrorCode::Arg, "E_ARG"),
        (ErrorCode::Disposed, "E_DISPOSED"),
        (ErrorCode::Panic, "E_PANIC"),
    ];
    for (c, s) in codes {
        assert_eq!(c.as_str(), s);
    }
    let e = Error::shape("x: bad");
    assert_eq!(
        (e.code, e.to_string()),
        (ErrorCode::Shape, "x: bad".to_string())
    );
    assert_eq!(Error::dtype("d").code, ErrorCode::DType);
    assert_eq!(Error::arg("a").code, ErrorCode::Arg);
    let boxed: Box<dyn std::error::Error> = Box::new(Error::arg("boxed"));
    assert_eq!(boxed.to_string(), "boxed");
}

#[test]
fn dtypes() {
    for d in DType::ALL {
        assert_eq!(DType::from_name(d.name()).unwrap(), d);
    }
    let names: Vec<&str> = DType::ALL.iter().map(|d| d.name()).collect();
    assert_eq!(
        names,
        ["float32", "int32", "uint32", "uint16", "uint8", "bool", "int8", "float16", "bfloat16"]
    );
    let sizes: Vec<usize> = DType::ALL.iter().map(|d| d.size()).collect();
    assert_eq!(sizes, [4, 4, 4, 2, 1, 1, 1, 2, 2]);
    let e = DType::from_name("float64").unwrap_err();
    assert_eq!(e.code, ErrorCode::DType);
    assert!(
        e.message.contains("float64") && e.message.contains("uint16, uint8, bool"),
        "{}",
        e.message
    );
}

#[test]
fn construction_and_access() {
    let t = Tensor::from_vec(vec![1i32, 2, 3, 4, 5, 6], &[2, 3]).unwrap();
    assert_eq!(
        (t.shape(), t.dtype(), t.size(), t.ndim(), t.nbytes()),
        (&[2usize, 3][..], DType::I32, 6, 2, 24)
    );
    assert_eq!(t.as_slice::<i32>().unwrap(), &[1, 2, 3, 4, 5, 6]);
    assert_eq!(t.to_vec::<i32>().unwrap(), vec![1, 2, 3, 4, 5, 6]);
    assert_eq!(t.storage().as_ptr() as usize % 64, 0);
    let e = t.as_slice::<f32>().unwrap_err();
    assert_eq!(e.code, ErrorCode::DType);
    assert!(e.message.contains("int32") && e.message.contains("float32"));
    assert_eq!(t.to_vec::<u32>().unwrap_err().code, ErrorCode::DType);

    let e = Tensor::from_vec(vec![1.0f32; 5], &[2, 3]).unwrap_err();
    assert_eq!(e.code, ErrorCode::Shape);
    assert!(
        e.message.contains("5") && e.message.contains("[2, 3]"),
        "{}",
        e.message
    );

    let s = Tensor::scalar(2.5f32);
    assert_eq!((s.size(), s.ndim()), (1, 0));
    let z = Tensor::zeros(&[3, 0], DType::U16);
    assert_eq!((z.size(), z.nbytes()), (0, 0));
    assert_eq!(z.as_slice::<u16>().unwrap(), &[] as &[u16]);
    let z = Tensor::zeros(&[2], DType::F32);
    assert_eq!(z.as_slice::<f32>().unwrap(), &[0.0, 0.0]);

    let b = Tensor::from_bytes(DType::U16, &[1, 0, 0, 1], &[2]).unwrap();
    assert_eq!(b.as_slice::<u16>().unwrap(), &[1, 256]);
    assert_eq!(
        Tensor::from_bytes(DType::F32, &[0; 7], &[2])
            .unwrap_err()
            .code,
        ErrorCode::Shape
    );
    let bb = Tensor::from_bytes(DType::Bool, &[0, 7, 1], &[3]).unwrap();
    assert_eq!(bb.as_slice::<bool>().unwrap(), &[false, true, true]);
    assert_eq!(bb.as_bytes(), &[0, 1, 1]);

    let st = Arc::new(Storage::zeroed(8));
    let w = Tensor::from_storage(st.clone(), &[2], DType::F32).unwrap();
    assert!(Arc::ptr_eq(w.storage(), &st));
    assert_eq!(
        Tensor::from_storage(st, &[3], DType::F32).unwrap_err().code,
        ErrorCode::Shape
    );
}

#[test]
fn reshape_shares_storage() {
    let t = Tensor::from_vec((0..12).map(|i| i as f32).collect::<Vec<_>>(), &[3, 4]).unwrap();
    let r = t.reshape(&[2, -1, 2]).unwrap();
    assert_eq!(r.shape(), &[2, 3, 2]);
    assert!(Arc::ptr_eq(r.storage(), t.storage()));
    assert_eq!(r.as_slice::<f32>().unwrap(), t.as_slice::<f32>().unwrap());
    assert_eq!(t.reshape(&[12]).unwrap().shape(), &[12]);
    assert_eq!(
        Tensor::scalar(1i32).reshape(&[1, 1]).unwrap().shape(),
        &[1, 1]
    );
    assert_eq!(
        Tensor::from_vec(vec![5u8], &[1, 1])
            .unwrap()
            .reshape(&[])
            .unwrap()
            .shape(),
        &[] as &[usize]
    );
    assert_eq!(
        Tensor::zeros(&[0, 4], DType::F32)
            .reshape(&[4, 0])
            .unwrap()
            .shape(),
        &[4, 0]
    );

    let e = t.reshape(&[5, 3]).unwrap_err();
    assert_eq!(e.code, ErrorCode::Shape);
    assert!(
        e.message.contains("[3, 4]") && e.message.contains("[5, 3]"),
        "{}",
        e.message
    );
    assert_eq!(t.reshape(&[5, -1]).unwrap_err().code, ErrorCode::Shape);
    assert_eq!(t.reshape(&[-1, -1]).unwrap_err().code, ErrorCode::Arg);
    assert_eq!(t.reshape(&[-2, 6]).unwrap_err().code, ErrorCode::Arg);
    assert_eq!(
        Tensor::zeros(&[0, 4], DType::F32)
            .reshape(&[0, -1])
            .unwrap_err()
            .code,
        ErrorCode::Shape
    );
}

#[test]
fn astype_like_numpy() {
    let f = Tensor::from_vec(vec![-2.7f32, -0.5, 0.0, 1.9, 300.0, f32::NAN], &[6]).unwrap();
    assert_eq!(
        f.astype(DType::I32).as_slice::<i32>().unwrap(),
        &[-2, 0, 0, 1, 300, 0]
    );
    assert_eq!(
        f.astype(DType::Bool).as_slice::<bool>().unwrap(),
        &[true, true, false, true, true, true]
    );
    assert_eq!(
        f.astype(DType::U8).as_slice::<u8>().unwrap()[3..5],
        [1, 255]
    );
    let i = Tensor::from_vec(vec![-1i32, 256, 3], &[3]).unwrap();
    assert_eq!(i.astype(DType::U8).as_slice::<u8>().unwrap(), &[255, 0, 3]); // wraps
    assert_eq!(
        i.astype(DType::U32).as_slice::<u32>().unwrap(),
        &[u32::MAX, 256, 3]
    );
    assert_eq!(
        i.astype(DType::F32).as_slice::<f32>().unwrap(),
        &[-1.0, 256.0, 3.0]
    );
    let u = Tensor::from_vec(vec![u32::MAX], &[1]).unwrap();
    assert_eq!(
        u.astype(DType::F32).as_slice::<f32>().unwrap(),
        &[4294967296.0]
    );
    assert_eq!(u.astype(DType::I32).as_slice::<i32>().unwrap(), &[-1]);
    let b = Tensor::from_vec(vec![true, false], &[2]).unwrap();
    assert_eq!(b.astype(DType::F32).as_slice::<f32>().unwrap(), &[1.0, 0.0]);
    assert_eq!(b.astype(DType::U16).as_slice::<u16>().unwrap(), &[1, 0]);
    // Same dtype: a copy (JS may write through either view).
    let c = i.astype(DType::I32);
    assert!(!Arc::ptr_eq(c.storage(), i.storage()));
    assert_eq!(c.as_slice::<i32>().unwrap(), i.as_slice::<i32>().unwrap());
    assert_eq!(i.astype(DType::F32).shape(), &[3]);
}

#[test]
fn shape_checks() {
    assert_eq!(check_shape(&[2.0f64, 3.0], "shape").unwrap(), vec![2, 3]);
    assert_eq!(check_shape(&[4i64, 0], "shape").unwrap(), vec![4, 0]);
    assert_eq!(
        check_shape::<f64>(&[], "shape").unwrap(),
        Vec::<usize>::new()
    );
    for bad in [-1.0f64, 1.5, f64::NAN, f64::INFINITY] {
        let e = check_shape(&[2.0, bad], "zeros: shape").unwrap_err();
        assert_eq!(e.code, ErrorCode::Arg, "{bad}");
        assert!(
            e.message.starts_with("zeros: shape") && e.message.contains("dimension 1"),
            "{}",
            e.message
        );
    }
    assert_eq!(check_shape(&[-3i64], "s").unwrap_err().code, ErrorCode::Arg);
    let e = check_shape(&[1048576.0f64, 1048577.0], "shape").unwrap_err();
    assert_eq!(e.code, ErrorCode::Shape);
    assert!(check_shape(&[1048576.0f64, 1048576.0], "shape").is_ok()); // exactly 2^40
    assert_eq!(
        check_shape(&[1i64 << 40, 1 << 40, 1 << 40], "shape")
            .unwrap_err()
            .code,
        ErrorCode::Shape
    );
    assert_eq!(
        check_shape(&[0i64, i64::MAX], "shape").unwrap_err().code,
        ErrorCode::Shape
    );

    assert_eq!(
        broadcast_shapes(&[2, 1, 3], &[4, 1]).unwrap(),
        vec![2, 4, 3]
    );
    assert_eq!(broadcast_shapes(&[], &[5]).unwrap(), vec![5]);
    assert_eq!(broadcast_shapes(&[0], &[1]).unwrap(), vec![0]);
    let e = broadcast_shapes(&[2, 3], &[3, 2]).unwrap_err();
    assert_eq!(e.code, ErrorCode::Shape);
    assert!(e.message.contains("[2, 3]") && e.message.contains("[3, 2]"));

    assert_eq!(normalize_axis(-1, 3, "sum").unwrap(), 2);
    assert_eq!(normalize_axis(0, 3, "sum").unwrap(), 0);
    let e = normalize_axis(3, 3, "sum").unwrap_err();
    assert_eq!(e.code, ErrorCode::Arg);
    assert!(e.message.starts_with("sum:"));
    assert_eq!(
        normalize_axis(-4, 3, "sum").unwrap_err().code,
        ErrorCode::Arg
    );
    assert_eq!(
        normalize_axis(0, 0, "sum").unwrap_err().code,
        ErrorCode::Arg
    );
}

#[test]
fn tensors_cross_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Tensor>();
    assert_send_sync::<Storage>();
    let t = Tensor::from_vec(vec![1.0f32, 2.0], &[2]).unwrap();
    let h = std::thread::spawn(move || t.as_slice::<f32>().unwrap().iter().sum::<f32>());
    assert_eq!(h.join().unwrap(), 3.0);
}
