//! Which of JAX's two threefry layouts a draw uses (`jax_threefry_partitionable`). Only
//! `split` and `random_bits` differ; `fold_in`, the block function and the mapping from words to
//! floats/ints are shared, so every distribution takes its words from a `Words` source.

use super::original;
use super::threefry::bits_chunk;

/// `jax_threefry_partitionable`: `Partitionable` (JAX's default since 0.5) or `Original`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Layout {
    /// Element i hashes the counter (hi32(i), lo32(i)); independent of the array size.
    #[default]
    Partitionable,
    /// `threefry_2x32(key, iota(n))`: first-half/second-half pairing (see `original`).
    Original,
}

/// The 32-bit words of one draw of `count` words from `key`.
#[derive(Clone, Copy)]
pub(crate) struct Words {
    pub key: [u32; 2],
    pub layout: Layout,
    pub count: u64,
}

impl Words {
    /// Words `start..start + out.len()`.
    #[inline(always)]
    pub(crate) fn fill(self, start: usize, out: &mut [u32]) {
        match self.layout {
            Layout::Partitionable => bits_chunk(self.key, start, out),
            Layout::Original => original::words_chunk(self.key, self.count, start, out),
        }
    }
}
