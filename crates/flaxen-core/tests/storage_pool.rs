//! The pool of large storage blocks. Alone in its own test binary (one test) because the pool
//! and the live-bytes counter are process-wide: other tests' allocations would race with the
//! pointer and byte checks.

use flaxen_core::ops::{matmul, triu};
use flaxen_core::storage::{POOL_CAP, POOL_MIN};
use flaxen_core::{live_bytes, pool_bytes, trim_pool, DType, Storage, Tensor};

#[test]
fn large_blocks_are_reused_and_zeroed_when_asked() {
    trim_pool();
    let base = live_bytes();
    let len = POOL_MIN + 12_345; // not a class size: rounds up to the next class

    // A freed block comes back for a request of the same class, and only the requested length
    // counts as live.
    let s = Storage::uninit(len);
    let addr = s.as_ptr() as usize;
    assert_eq!(addr % 64, 0);
    assert_eq!(live_bytes() - base, len as i64);
    // SAFETY: fresh block of len bytes owned by this test.
    unsafe { std::ptr::write_bytes(s.as_mut_ptr(), 0xAB, len) };
    drop(s);
    assert_eq!(live_bytes(), base);
    assert!(pool_bytes() >= len);
    let again = Storage::uninit(len - 1000);
    assert_eq!(again.as_ptr() as usize, addr, "same class reuses the freed block");
    assert_eq!(again.len(), len - 1000);
    drop(again);

    // A zeroed request served from the pool is cleared (the block still holds 0xAB bytes).
    let z = Storage::zeroed(len);
    assert_eq!(z.as_ptr() as usize, addr);
    assert!(z.as_bytes().iter().all(|&b| b == 0), "pooled block must be zeroed");
    drop(z);

    // Tensors built on dirty pooled blocks: zeros() reads as zeros, kernels overwrite fully.
    let n = 256; // 256x256 f32 = 256 KiB: pooled
    let dirty = Tensor::from_vec(vec![7.0f32; n * n], &[n, n]).unwrap();
    drop(dirty);
    let zeros = Tensor::zeros(&[n, n], DType::F32);
    assert!(zeros.as_slice::<f32>().unwrap().iter().all(|&v| v == 0.0));
    let ones = Tensor::from_vec(vec![1.0f32; n * n], &[n, n]).unwrap();
    drop(zeros);
    let up = triu(&ones, 1).unwrap(); // reuses the dirty block; the lower triangle must be 0
    let v = up.as_slice::<f32>().unwrap();
    for i in 0..n {
        for j in 0..n {
            assert_eq!(v[i * n + j], if j >= i + 1 { 1.0 } else { 0.0 });
        }
    }
    drop(up);
    let prod = matmul(&ones, &ones).unwrap();
    assert!(prod.as_slice::<f32>().unwrap().iter().all(|&x| x == n as f32));
    drop((prod, ones));

    // A block shared by reshape goes back only when the last reference drops.
    let t = Tensor::zeros(&[n, n], DType::F32);
    let p = t.storage().as_ptr() as usize;
    let r = t.reshape(&[-1]).unwrap();
    drop(t);
    let other = Tensor::zeros(&[n, n], DType::F32);
    assert_ne!(other.storage().as_ptr() as usize, p, "still referenced by the reshape");
    drop(r);
    drop(other);
    assert_eq!(live_bytes(), base);

    // The pool never holds more than its cap.
    let blocks: Vec<Storage> = (0..(POOL_CAP / (8 << 20)) + 4).map(|_| Storage::uninit(8 << 20)).collect();
    drop(blocks);
    assert!(pool_bytes() <= POOL_CAP);
    trim_pool();
    assert_eq!(pool_bytes(), 0);
    assert_eq!(live_bytes(), base);

    // Small blocks go to this thread's cache instead (not the process-wide pool), and are
    // reused and zeroed the same way.
    let s = Storage::uninit(1000);
    let small = s.as_ptr() as usize;
    assert_eq!(small % 64, 0);
    // SAFETY: fresh block of 1000 bytes owned by this test.
    unsafe { std::ptr::write_bytes(s.as_mut_ptr(), 0xCD, 1000) };
    drop(s);
    assert_eq!(pool_bytes(), 0);
    let z = Storage::zeroed(990);
    assert_eq!(z.as_ptr() as usize, small, "same class reuses the cached block");
    assert!(z.as_bytes().iter().all(|&b| b == 0));
    drop(z);
    let t = Tensor::zeros(&[250], DType::F32);
    assert!(t.as_slice::<f32>().unwrap().iter().all(|&v| v == 0.0));
    drop(t);
    assert_eq!(live_bytes(), base);
}
