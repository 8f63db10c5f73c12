//! Shared by the integration tests: deterministic test data, and the golden-fixture readers.

#![allow(dead_code)]

pub mod golden;

/// Deterministic values in [-lo, lo) (an LCG; enough for references).
pub fn values(n: usize, seed: u64, lo: f32) -> Vec<f32> {
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0) * lo
        })
        .collect()
}
