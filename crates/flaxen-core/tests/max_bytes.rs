//! The byte cap (`storage::max_bytes`): its own test binary, since it changes a process-wide
//! setting that other tests' allocations would see.

use flaxen_core::ops::table::{self, Attr, Meta};
use flaxen_core::{storage, DType, ErrorCode, Storage, Tensor};

#[test]
fn the_cap_refuses_storage_tensors_and_op_outputs_above_it() {
    let default = storage::max_bytes();
    assert!(default >= 1 << 20, "default cap {default}");
    storage::set_max_bytes(1 << 20).unwrap();
    assert_eq!(storage::max_bytes(), 1 << 20);

    assert!(Storage::try_zeroed(1 << 20).is_ok());
    let e = Storage::try_uninit((1 << 20) + 1).unwrap_err();
    assert_eq!(e.code, ErrorCode::Alloc);
    assert!(e.message.contains("1048577 bytes") && e.message.contains("1048576"), "{}", e.message);

    let e = Tensor::try_zeros(&[1000, 1000], DType::F32).unwrap_err();
    assert_eq!(e.code, ErrorCode::Alloc);
    assert_eq!(Tensor::try_zeros(&[512, 512], DType::F32).unwrap().shape(), &[512, 512]);

    // `infer` then the check: what the binding does before running a row with size attributes.
    let eye = table::code("eye").unwrap();
    let def = table::op(eye).unwrap();
    let metas = def.infer_metas(&[Attr::Int(3), Attr::Int(1 << 31), Attr::DType(DType::F32)], &[]).unwrap();
    assert_eq!(metas, vec![Meta::new(vec![3, 1 << 31], DType::F32)]);
    let e = table::check_out_bytes("eye", &metas).unwrap_err();
    assert_eq!(e.code, ErrorCode::Alloc);
    assert!(e.message.starts_with("eye: output of shape [3, 2147483648] (float32)"), "{}", e.message);
    assert!(table::check_out_bytes("eye", &[Meta::new(vec![3, 3], DType::F32)]).is_ok());

    // A graph refuses the node when it is added (trace time), with the same error.
    let mut g = flaxen_core::plan::Graph::new();
    let e = g.add(eye, vec![Attr::Int(3), Attr::Int(1 << 31), Attr::DType(DType::F32)], vec![]).unwrap_err();
    assert_eq!(e.code, ErrorCode::Alloc);

    assert_eq!(storage::set_max_bytes(0).unwrap_err().code, ErrorCode::Arg);
    assert_eq!(storage::set_max_bytes(storage::MAX_BYTES_LIMIT + 1).unwrap_err().code, ErrorCode::Arg);
    storage::set_max_bytes(default).unwrap();
}
