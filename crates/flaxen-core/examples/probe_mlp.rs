//! Timing probe for the MLP shapes (not a test): matmul times and L3 read bandwidth.
use std::time::Instant;

use flaxen_core::{ops, Tensor};

fn t(shape: &[usize], seed: u32) -> Tensor {
    let n: usize = shape.iter().product();
    let v: Vec<f32> = (0..n).map(|i| (((i as u32).wrapping_mul(2654435761).wrapping_add(seed)) >> 8) as f32 / 16777216.0 - 0.5).collect();
    Tensor::from_vec(v, shape).unwrap()
}

fn time(label: &str, reps: usize, mut f: impl FnMut()) {
    for _ in 0..reps / 4 {
        f();
    }
    let mut best = f64::MAX;
    for _ in 0..7 {
        let s = Instant::now();
        for _ in 0..reps {
            f();
        }
        best = best.min(s.elapsed().as_secs_f64() / reps as f64);
    }
    println!("{label}: {:.1} µs", best * 1e6);
}

fn main() {
    for batch in [1usize, 32] {
        let x = t(&[batch, 512], 1);
        let w1 = t(&[512, 2048], 2);
        let h = t(&[batch, 2048], 3);
        let w2 = t(&[2048, 512], 4);
        time(&format!("b{batch} [{batch},512]x[512,2048]"), 200, || drop(ops::matmul(&x, &w1).unwrap()));
        time(&format!("b{batch} [{batch},2048]x[2048,512]"), 200, || drop(ops::matmul(&h, &w2).unwrap()));
    }
    // Read bandwidth over the 8 MB the batch-1 MLP streams (two 4 MB weights, L3-resident).
    // Integer adds vectorise freely, so this is bound by reading the bytes.
    let buf: Vec<u32> = (0..2 * 1024 * 1024).collect();
    use rayon::prelude::*;
    let fold = |c: &[u32]| c.iter().fold(0u32, |a, &b| a.wrapping_add(b));
    time("read 8 MB, 1 thread", 200, || {
        std::hint::black_box(fold(&buf));
    });
    let threads = rayon::current_num_threads();
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).use_current_thread().build().unwrap();
    pool.install(|| {
        time(&format!("read 8 MB, {threads} threads"), 200, || {
            let s: u32 = buf.par_chunks(buf.len() / threads).map(fold).reduce(|| 0, |a, b| a.wrapping_add(b));
            std::hint::black_box(s);
        });
        time(&format!("b1 [1,512]x[512,2048] in a pool with this thread, {threads} threads"), 200, || {
            let (x, w1) = (t(&[1, 512], 1), t(&[512, 2048], 2));
            drop(ops::matmul(&x, &w1).unwrap())
        });
    });
}
