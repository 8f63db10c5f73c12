//! Threefry-2x32 (20 rounds), JAX's default PRNG, in the partitionable layout that JAX uses by
//! default (`jax_threefry_partitionable=True`): every output element is a pure function of
//! (key, flat index), so results are identical however the work is split across threads.
//! `Layout::Original` (original.rs) is the layout of JAX before that default changed.

use crate::cpu;
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::par;
use crate::tensor::Tensor;

use super::layout::Layout;
use super::original;

const ROT: [[u32; 4]; 2] = [[13, 15, 26, 6], [17, 29, 16, 24]];

/// The block function (spec g.2): key (k0, k1), counter (x0, x1) → two words.
#[inline(always)]
pub fn threefry2x32(key: [u32; 2], ctr: [u32; 2]) -> [u32; 2] {
    let ks = [key[0], key[1], key[0] ^ key[1] ^ 0x1BD1_1BDA];
    let (mut x0, mut x1) = (ctr[0].wrapping_add(ks[0]), ctr[1].wrapping_add(ks[1]));
    for i in 0..5 {
        for &r in &ROT[i % 2] {
            x0 = x0.wrapping_add(x1);
            x1 = x1.rotate_left(r);
            x1 ^= x0;
        }
        x0 = x0.wrapping_add(ks[(i + 1) % 3]);
        x1 = x1.wrapping_add(ks[(i + 2) % 3]).wrapping_add(i as u32 + 1);
    }
    [x0, x1]
}

/// jax.random.key(seed) in the default 32-bit mode: the seed wraps to 32 bits and the high word
/// is 0 (a 32-bit value shifted right by 32).
pub fn key_from_seed(seed: i64) -> [u32; 2] {
    [0, seed as u32]
}

/// jax.random.fold_in: the block function on counter (0, data). Same in both layouts.
pub fn fold_in(key: [u32; 2], data: u32) -> [u32; 2] {
    threefry2x32(key, [0, data])
}

/// Counter of flat index `i`: (hi32(i), lo32(i)).
#[inline(always)]
fn ctr(i: u64) -> [u32; 2] {
    [(i >> 32) as u32, i as u32]
}

/// jax.random.split(key, n) in the default (partitionable) layout: key i = block(key, (hi32(i),
/// lo32(i))), i.e. `fold_in(key, i)` for i < 2^32. For a shape, split by its element count and
/// reshape.
pub fn split(key: [u32; 2], n: usize) -> Vec<[u32; 2]> {
    (0..n as u64).map(|i| threefry2x32(key, ctr(i))).collect()
}

/// jax.random.bits for 8/16/32-bit widths (uint8/uint16/uint32 tensor of `shape`) in the default
/// (partitionable) layout: element i = low bits of (b0 ^ b1) where (b0, b1) = block(key,
/// (hi32(i), lo32(i))).
pub fn random_bits(key: [u32; 2], bit_width: u32, shape: &[usize]) -> Result<Tensor> {
    Layout::Partitionable.random_bits(key, bit_width, shape)
}

impl Layout {
    /// jax.random.split(key, n) in this layout (E_ARG only for original draws beyond 2^32 words).
    pub fn split(self, key: [u32; 2], n: usize) -> Result<Vec<[u32; 2]>> {
        match self {
            Layout::Partitionable => Ok(split(key, n)),
            Layout::Original => original::split(key, n),
        }
    }

    /// jax.random.bits for 8/16/32-bit widths in this layout.
    pub fn random_bits(self, key: [u32; 2], bit_width: u32, shape: &[usize]) -> Result<Tensor> {
        if self == Layout::Original {
            return original::random_bits(key, bit_width, shape);
        }
        let shape = shape.to_vec();
        Ok(match bit_width {
            32 => fill_bits::<u32>(key, shape, DType::U32, bits_u32),
            16 => fill_bits::<u16>(key, shape, DType::U16, bits_u16),
            8 => fill_bits::<u8>(key, shape, DType::U8, bits_u8),
            _ => return Err(Error::arg(format!(
                "random_bits: bit_width is {bit_width}; expected 8, 16 or 32 (64 needs x64 mode)"
            ))),
        })
    }
}

/// `b0 ^ b1` of the blocks at flat indices `start..start + out.len()`: the 32-bit words of
/// `bits(key, shape)` for one chunk (the distributions build on it).
#[inline(always)]
pub(crate) fn bits_chunk(key: [u32; 2], start: usize, out: &mut [u32]) {
    for (j, z) in out.iter_mut().enumerate() {
        let [b0, b1] = threefry2x32(key, ctr((start + j) as u64));
        *z = b0 ^ b1;
    }
}

macro_rules! narrow_bits {
    ($name:ident, $t:ty) => {
        cpu::fast_fn! {
            /// Low bits of `b0 ^ b1` for flat indices `start..`.
            fn $name(key: [u32; 2], start: usize, out: &mut [$t]) {
                for (j, z) in out.iter_mut().enumerate() {
                    let [b0, b1] = threefry2x32(key, ctr((start + j) as u64));
                    *z = (b0 ^ b1) as $t;
                }
            }
        }
    };
}
narrow_bits!(bits_u32, u32);
narrow_bits!(bits_u16, u16);
narrow_bits!(bits_u8, u8);

fn fill_bits<T: Copy + Send + Sync>(
    key: [u32; 2],
    shape: Vec<usize>,
    dt: DType,
    chunk: fn([u32; 2], usize, &mut [T]),
) -> Tensor {
    Tensor::build::<T>(shape, dt, |o| {
        par::chunks(o, par::CHUNK, |s, c| chunk(key, s, c))
    })
}
