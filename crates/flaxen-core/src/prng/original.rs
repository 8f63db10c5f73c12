//! JAX's original threefry layout (`jax_threefry_partitionable=False`, spec g.2–g.4): the layout
//! every upstream known-answer test of `random_test.py` was written for. A draw of `n` 32-bit
//! words is `threefry_2x32(key, iota(n))`: the counters 0..n (padded with one 0 to an even
//! length) are cut into a first and a second half, hashed pairwise, and the outputs are
//! concatenated (first words, then second words).
//!
//! Word `i` of such a draw is still a pure function of (key, n, i), so the kernels fill chunks
//! in parallel exactly like the partitionable ones; each word costs one block (half of it is
//! thrown away), which is fine for a mode that exists for compatibility.

use crate::cpu;
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::par;
use crate::tensor::Tensor;

use super::threefry::threefry2x32;

/// Largest draw in words. JAX switches to a block-splitting scheme beyond `u32::MAX` words
/// (16 GiB of float32), which flaxen does not reproduce; such draws are refused.
pub const MAX_WORDS: u64 = u32::MAX as u64 - 1;

/// Refuses draws the original layout cannot produce (see `MAX_WORDS`).
pub(crate) fn check_words(count: u64) -> Result<()> {
    if count > MAX_WORDS {
        return Err(Error::arg(format!(
            "original threefry layout: a draw of {count} 32-bit words exceeds {MAX_WORDS} \
             (JAX's block-splitting beyond that is not implemented)"
        )));
    }
    Ok(())
}

/// Word `i` of `threefry_2x32(key, iota(count))`.
#[inline(always)]
pub(crate) fn iota_word(key: [u32; 2], count: u64, i: u64) -> u32 {
    let half = count.div_ceil(2);
    if i < half {
        // First half: counter pair (i, half + i); the pad element of an odd count is 0.
        let j = half + i;
        let x1 = if j < count { j as u32 } else { 0 };
        threefry2x32(key, [i as u32, x1])[0]
    } else {
        // Second half: the same pair seen from its second element.
        threefry2x32(key, [(i - half) as u32, i as u32])[1]
    }
}

/// Words `start..start + out.len()` of a `count`-word draw (the distributions build on it).
#[inline(always)]
pub(crate) fn words_chunk(key: [u32; 2], count: u64, start: usize, out: &mut [u32]) {
    for (j, z) in out.iter_mut().enumerate() {
        *z = iota_word(key, count, (start + j) as u64);
    }
}

/// `threefry_split(key, n)`, original: the words of `threefry_2x32(key, iota(2n))`, paired.
pub(crate) fn split(key: [u32; 2], n: usize) -> Result<Vec<[u32; 2]>> {
    let count = 2 * n as u64;
    check_words(count)?;
    Ok((0..n as u64)
        .map(|i| {
            [
                iota_word(key, count, 2 * i),
                iota_word(key, count, 2 * i + 1),
            ]
        })
        .collect())
}

cpu::fast_fn! {
    /// 32-bit elements: element i is word i.
    fn bits_u32(key: [u32; 2], count: u64, start: usize, out: &mut [u32]) {
        words_chunk(key, count, start, out)
    }
}

macro_rules! narrow_bits {
    ($name:ident, $t:ty) => {
        cpu::fast_fn! {
            /// Narrow elements are the little-endian sub-words of the 32-bit words
            /// (`bits.view(uint8/16)` in JAX's words).
            fn $name(key: [u32; 2], count: u64, start: usize, out: &mut [$t]) {
                const PER: u64 = (32 / <$t>::BITS) as u64;
                for (j, z) in out.iter_mut().enumerate() {
                    let e = (start + j) as u64;
                    let w = iota_word(key, count, e / PER);
                    *z = (w >> (<$t>::BITS as u64 * (e % PER))) as $t;
                }
            }
        }
    };
}
narrow_bits!(bits_u16, u16);
narrow_bits!(bits_u8, u8);

/// `random_bits(key, bit_width, shape)`, original layout: `ceil(bit_width * size / 32)` words.
pub(crate) fn random_bits(key: [u32; 2], bit_width: u32, shape: &[usize]) -> Result<Tensor> {
    let size = crate::shape::numel(shape) as u64;
    let count = (bit_width as u64 * size).div_ceil(32);
    check_words(count)?;
    let shape = shape.to_vec();
    Ok(match bit_width {
        32 => fill(key, count, shape, DType::U32, bits_u32),
        16 => fill(key, count, shape, DType::U16, bits_u16),
        8 => fill(key, count, shape, DType::U8, bits_u8),
        _ => {
            return Err(Error::arg(format!(
                "random_bits: bit_width is {bit_width}; expected 8, 16 or 32 (64 needs x64 mode)"
            )))
        }
    })
}

fn fill<T: Copy + Send + Sync>(
    key: [u32; 2],
    count: u64,
    shape: Vec<usize>,
    dt: DType,
    chunk: fn([u32; 2], u64, usize, &mut [T]),
) -> Tensor {
    Tensor::build::<T>(shape, dt, |o| {
        par::chunks(o, par::CHUNK, |s, c| chunk(key, count, s, c))
    })
}
