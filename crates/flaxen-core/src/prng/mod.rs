//! JAX's default PRNG (threefry2x32), bit-for-bit: keys, split, fold_in, random bits and the
//! float32 distributions Flax initialisers use, in the partitionable layout (JAX's default) and,
//! through `Layout::Original`, in the original layout.

pub mod distributions;
pub mod erf;
pub mod layout;
pub mod original;
pub mod threefry;

pub use distributions::{bernoulli, normal, randint, truncated_normal, uniform};
pub use erf::{erf, erf_inv, erf_scalar, log, log1p};
pub use layout::Layout;
pub use threefry::{fold_in, key_from_seed, random_bits, split, threefry2x32};
