//! flaxen-core: tensors, kernels and the JAX threefry PRNG behind flaxen. Knows nothing of Node:
//! the binding (`flaxen-node`) converts between JS values and these types.

pub mod cpu;
pub mod dtype;
pub mod error;
pub mod executor;
pub mod halfconv;
mod hugepages;
pub mod io;
pub mod linalg;
pub mod ops;
pub mod par;
pub mod plan;
pub mod prng;
pub mod shape;
pub mod storage;
pub mod tensor;

pub use dtype::{Bf16, DType, Element, F16};
pub use error::{Error, ErrorCode, Result};
pub use storage::{live_bytes, max_bytes, pool_bytes, set_max_bytes, trim_pool, Storage};
pub use tensor::Tensor;
