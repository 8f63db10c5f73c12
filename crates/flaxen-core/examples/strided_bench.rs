//! Timings of the strided layout kernels (generic transpose, swapaxes/moveaxis, concatenate
//! along an inner axis, take along an inner axis). Each case prints the best and median of
//! its runs and an FNV-1a hash of the result's bytes, so two builds can be compared for speed
//! and for bit-identical output.
//!
//!   cargo run --release --locked -p flaxen-core --example strided_bench [-- reps]

use std::time::{Duration, Instant};

use flaxen_core::ops::*;
use flaxen_core::{DType, Tensor};

/// Deterministic pseudo-random f32 data (an LCG), so every build sees the same input.
fn data(shape: &[usize]) -> Tensor {
    let n: usize = shape.iter().product();
    let mut s = 0x2545_f491_4f6c_dd1du64;
    let v: Vec<f32> = (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 40) as f32) / (1u64 << 24) as f32 - 0.5
        })
        .collect();
    Tensor::from_vec(v, shape).unwrap()
}

fn indices(n: usize, bound: i32) -> Tensor {
    let mut s = 12345u64;
    let v: Vec<i32> = (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 33) % bound as u64) as i32
        })
        .collect();
    Tensor::from_vec(v, &[n]).unwrap()
}

fn hash(t: &Tensor) -> u64 {
    let bytes: Vec<u8> = match t.dtype() {
        DType::F32 => t
            .to_vec::<f32>()
            .unwrap()
            .iter()
            .flat_map(|v| v.to_bits().to_le_bytes())
            .collect(),
        DType::U8 => t.to_vec::<u8>().unwrap(),
        DType::U16 => t
            .to_vec::<u16>()
            .unwrap()
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect(),
        dt => panic!("hash: dtype {dt} not used here"),
    };
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    for b in bytes {
        h = (h ^ b as u64).wrapping_mul(0x100_0000_01b3);
    }
    h ^ (t.shape().len() as u64) << 56
}

fn case(name: &str, reps: usize, f: impl Fn() -> Tensor) {
    let out = f(); // warm-up (and the pool)
    let mut times: Vec<Duration> = (0..reps)
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(f());
            t.elapsed()
        })
        .collect();
    times.sort();
    println!(
        "{name:<44} best {:>9.1} us  median {:>9.1} us  hash {:016x}",
        times[0].as_secs_f64() * 1e6,
        times[reps / 2].as_secs_f64() * 1e6,
        hash(&out)
    );
}

fn main() {
    let reps: usize = std::env::args().nth(1).map_or(41, |s| s.parse().unwrap());
    let big = data(&[64, 128, 256]);
    let big_u8 = big.astype(DType::U8);
    let big_u16 = big.astype(DType::U16);
    let mid = data(&[32, 64, 64]);
    let small = data(&[8, 16, 32]);
    case("transpose f32 [64,128,256] (2,0,1)", reps, || {
        transpose(&big, Some(&[2, 0, 1])).unwrap()
    });
    case("transpose f32 [64,128,256] (1,2,0)", reps, || {
        transpose(&big, Some(&[1, 2, 0])).unwrap()
    });
    case("transpose f32 [64,128,256] reverse", reps, || {
        transpose(&big, None).unwrap()
    });
    case("transpose u8 [64,128,256] (2,0,1)", reps, || {
        transpose(&big_u8, Some(&[2, 0, 1])).unwrap()
    });
    case("transpose u16 [64,128,256] (2,0,1)", reps, || {
        transpose(&big_u16, Some(&[2, 0, 1])).unwrap()
    });
    case("transpose f32 [8,16,32] (2,0,1)", reps * 10, || {
        transpose(&small, Some(&[2, 0, 1])).unwrap()
    });
    case("swapaxes f32 [64,128,256] (0,1)", reps, || {
        swapaxes(&big, 0, 1).unwrap()
    });
    case("moveaxis f32 [32,64,64] 0 -> -1", reps, || {
        moveaxis(&mid, &[0], &[-1]).unwrap()
    });
    case("moveaxis f32 [32,64,64] -1 -> 0", reps, || {
        moveaxis(&mid, &[-1], &[0]).unwrap()
    });
    let parts = [
        data(&[64, 100, 256]),
        data(&[64, 28, 256]),
        data(&[64, 128, 256]),
    ];
    case("concatenate 3 x [64,*,256] axis 1", reps, || {
        concatenate(&parts, 1).unwrap()
    });
    let cols = [data(&[4096, 3]), data(&[4096, 5])];
    case("concatenate [4096,3]+[4096,5] axis 1", reps, || {
        concatenate(&cols, 1).unwrap()
    });
    case("stack 3 x [32,64,64] axis 1", reps, || {
        stack(&[mid.clone(), mid.clone(), mid.clone()], 1).unwrap()
    });
    let idx = indices(96, 128);
    case("take [64,128,256] 96 idx axis 1", reps, || {
        take(&big, &idx, Some(1), TakeMode::Fill).unwrap()
    });
    let idx2 = indices(200, 256);
    case("take [64,128,256] 200 idx axis 2", reps, || {
        take(&big, &idx2, Some(2), TakeMode::Fill).unwrap()
    });
    let idx3 = indices(1 << 18, 1 << 21);
    case("take [64,128,256] 2^18 idx flattened", reps, || {
        take(&big, &idx3, None, TakeMode::Fill).unwrap()
    });
    let (x4, idx4) = (data(&[8, 1000]), indices(300, 1000));
    case("take [8,1000] 300 idx axis 1 (small)", reps * 10, || {
        take(&x4, &idx4, Some(1), TakeMode::Clip).unwrap()
    });
}
