//! Compares flaxen's float32 sin / cos / exp / expm1 / tanh kernels with XLA's results for every
//! float32 bit pattern, read from stdin in bit-pattern order as scripts/golden/xla_exhaustive.py
//! writes them (not a test: it needs JAX and streams 16 GiB):
//!
//!   python scripts/golden/xla_exhaustive.py sin | \
//!     cargo run --release --locked -p flaxen-core --example xla_exhaustive -- sin
//!
//! Prints the number of differing results (NaNs of any payload count as equal) and the first few.
use std::io::Read;

use flaxen_core::ops::{unary, UnaryOp};
use flaxen_core::Tensor;

const CHUNK: usize = 1 << 26;

fn main() {
    let name = std::env::args()
        .nth(1)
        .expect("usage: xla_exhaustive <sin|cos|exp|expm1|tanh>");
    let op = match name.as_str() {
        "sin" => UnaryOp::Sin,
        "cos" => UnaryOp::Cos,
        "exp" => UnaryOp::Exp,
        "expm1" => UnaryOp::Expm1,
        "tanh" => UnaryOp::Tanh,
        _ => panic!("unknown function {name}"),
    };
    let mut stdin = std::io::stdin().lock();
    let mut buf = vec![0u8; CHUNK * 4];
    let (mut bad, mut compared) = (0u64, 0u64);
    for chunk in 0..(1u64 << 32) / CHUNK as u64 {
        stdin
            .read_exact(&mut buf)
            .expect("XLA results for all 2^32 inputs");
        let start = chunk as u32 * CHUNK as u32;
        let xs: Vec<f32> = (0..CHUNK as u32)
            .map(|i| f32::from_bits(start + i))
            .collect();
        let t = Tensor::from_vec(xs, &[CHUNK]).unwrap();
        let got = unary(op, &t).unwrap().to_vec::<f32>().unwrap();
        for (i, (g, w)) in got.iter().zip(buf.chunks_exact(4)).enumerate() {
            let w = f32::from_le_bytes(w.try_into().unwrap());
            if g.to_bits() != w.to_bits() && !(g.is_nan() && w.is_nan()) {
                bad += 1;
                if bad <= 10 {
                    let x = f32::from_bits(start + i as u32);
                    println!("{name}({x:e} = {:#010x}) = {g:e}, XLA {w:e}", x.to_bits());
                }
            }
        }
        compared += CHUNK as u64;
    }
    println!("{name}: {compared} inputs (every float32) compared, {bad} differ");
}
