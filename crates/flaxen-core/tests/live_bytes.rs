//! The global live-bytes counter. Alone in its own test binary (one test) so no other test's
//! allocations race with the measurements.

use flaxen_core::ops::matmul;
use flaxen_core::{live_bytes, DType, Storage, Tensor};

#[test]
fn live_bytes_follow_allocations() {
    let base = live_bytes();
    let a = Tensor::zeros(&[1000], DType::F32);
    assert_eq!(live_bytes() - base, 4000);
    let b = a.reshape(&[10, 100]).unwrap(); // shares storage: no new bytes
    assert_eq!(live_bytes() - base, 4000);
    let c = Tensor::from_vec(vec![1u8; 10], &[10]).unwrap();
    assert_eq!(live_bytes() - base, 4010);
    drop(a);
    assert_eq!(live_bytes() - base, 4010); // b still holds the storage
    drop(b);
    assert_eq!(live_bytes() - base, 10);
    drop(c);
    assert_eq!(live_bytes(), base);

    // Zero-size storages allocate nothing.
    let z = Storage::zeroed(0);
    assert!(z.is_empty() && (z.as_ptr() as usize).is_multiple_of(64));
    let u = Storage::uninit(0);
    assert_eq!(live_bytes(), base);
    drop((z, u));
    let e = Tensor::zeros(&[0, 5], DType::I32);
    assert_eq!(live_bytes(), base);
    drop(e);

    // Kernel outputs are counted and released too.
    {
        let x = Tensor::zeros(&[64, 64], DType::F32);
        let y = matmul(&x, &x).unwrap();
        assert_eq!(live_bytes() - base, 2 * 64 * 64 * 4);
        drop(y);
    }
    assert_eq!(live_bytes(), base);
}
