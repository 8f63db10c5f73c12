//! The MLP 512→2048→512's roofline on this machine (not a test): its two products alone, the
//! whole plan, and the read bandwidth over 8 MB (the batch-1 weights, which stay in L3), so the
//! bench's MLP rows can be set against what the hardware allows.
//! `cargo run --release -p flaxen-core --example mlp_roofline` (RAYON_NUM_THREADS=1 for one thread).
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
    // As the addon does: the calling thread is the pool's worker 0 (with a pool of its own
    // workers, every product would be handed over and waited for).
    let threads = flaxen_core::par::configured_threads();
    if threads >= 2 {
        flaxen_core::par::join_global_pool(threads);
    } else {
        flaxen_core::par::size_global_pool(1);
    }
    for batch in [1usize, 32] {
        let x = t(&[batch, 512], 1);
        let w1 = t(&[512, 2048], 2);
        let h = t(&[batch, 2048], 3);
        let w2 = t(&[2048, 512], 4);
        time(&format!("b{batch} [{batch},512]x[512,2048]"), 200, || drop(ops::matmul(&x, &w1).unwrap()));
        time(&format!("b{batch} [{batch},2048]x[2048,512]"), 200, || drop(ops::matmul(&h, &w2).unwrap()));
    }
    // Read bandwidth over the 8 MB the batch-1 MLP streams (two 4 MB weights, L3-resident).
    for batch in [1usize, 32] {
        let (plan, ins) = mlp_plan(batch);
        let x2 = t(&[batch, 512], 9);
        let mut flip = false;
        time(&format!("b{batch} MLP plan {:?}", plan.stats().ops), 200, || {
            flip = !flip;
            let mut i = ins.clone();
            if flip {
                i[0] = x2.clone();
            }
            drop(plan.run(i).unwrap())
        });
    }
    // Integer adds vectorise freely, so this is bound by reading the bytes.
    let buf: Vec<u32> = (0..2 * 1024 * 1024).collect();
    use rayon::prelude::*;
    let fold = |c: &[u32]| c.iter().fold(0u32, |a, &b| a.wrapping_add(b));
    time("read 8 MB, 1 thread", 200, || {
        std::hint::black_box(fold(&buf));
    });
    time(&format!("read 8 MB, {threads} threads"), 200, || {
        let s: u32 = buf.par_chunks(buf.len() / threads).map(fold).reduce(|| 0, |a, b| a.wrapping_add(b));
        std::hint::black_box(s);
    });
}

fn mlp_plan(batch: usize) -> (flaxen_core::plan::Plan, Vec<Tensor>) {
    use flaxen_core::ops::table::{code, Meta};
    use flaxen_core::plan::{Graph, Src};
    use flaxen_core::DType;
    let mut g = Graph::new();
    let x = g.input(Meta::new(vec![batch, 512], DType::F32));
    let w1 = g.input(Meta::new(vec![512, 2048], DType::F32));
    let b1 = g.input(Meta::new(vec![2048], DType::F32));
    let w2 = g.input(Meta::new(vec![2048, 512], DType::F32));
    let b2 = g.input(Meta::new(vec![512], DType::F32));
    let add = |g: &mut Graph, op: &str, args: Vec<Src>| {
        g.add(code(op).unwrap(), vec![], args).unwrap();
        Src::Node(g.nodes.len() - 1, 0)
    };
    let h = add(&mut g, "matmul", vec![x, w1]);
    let h = add(&mut g, "add", vec![h, b1]);
    let h = add(&mut g, "relu", vec![h]);
    let y = add(&mut g, "matmul", vec![h, w2]);
    let y = add(&mut g, "add", vec![y, b2]);
    let plan = flaxen_core::plan::Plan::compile(g, vec![y]).unwrap();
    (plan, vec![t(&[batch, 512], 1), t(&[512, 2048], 2), t(&[2048], 3), t(&[2048, 512], 4), t(&[512], 5)])
}
