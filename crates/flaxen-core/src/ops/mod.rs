//! Kernels. Each file is one family of operations; all take `&Tensor` and return a new tensor.

pub mod argreduce;
pub mod attention;
pub(crate) mod bcast;
pub mod binary;
pub mod compare;
pub mod conv;
pub mod conv_pool;
#[cfg(target_arch = "x86_64")]
mod conv_direct;
#[cfg(target_arch = "x86_64")]
mod conv_depthwise;
mod conv_gemm;
pub mod create;
pub mod elementwise;
pub mod fused;
pub mod gather;
pub(crate) mod half;
pub(crate) mod gemm;
pub(crate) mod kept;
pub mod layout;
pub mod mask;
pub mod matmul;
mod nd;
pub mod norm;
pub mod reduce;
pub mod round;
pub mod scan;
pub mod slice;
pub mod sort;
pub mod softmax;
pub mod table;
pub mod transpose;
pub mod unary;
pub mod window;
#[cfg(target_arch = "x86_64")]
#[cfg(target_arch = "x86_64")]
pub(crate) mod simd;
pub mod winograd;

pub use argreduce::{argmax, argmin};
pub use binary::{binary, binary_scalar, integer_pow, BinaryOp};
pub use compare::{compare, compare_scalar, logical, where_, CompareOp, LogicalOp, Operand};
pub use conv::{conv, conv_shape, ConvSpec};
pub use create::{arange, eye, full, linspace};
pub use elementwise::{erfc, unary, UnaryOp};
pub use gather::{one_hot, take, take_along_axis, TakeMode};
pub use layout::{broadcast_to, concatenate, expand_dims, flip, moveaxis, squeeze, stack, swapaxes};
pub use mask::{tril, triu};
pub use matmul::{matmul, matmul_masked, matmul_t};
pub use norm::{layer_norm, NormStats};
pub use reduce::{any_all, max, mean, min, prod, std, sum, var};
pub use round::round;
pub use scan::{cumulative, Cumulative};
pub use slice::{dynamic_slice, dynamic_update_slice, pad, slice, PadMode};
pub use sort::{argsort, searchsorted, sort, top_k};
pub use softmax::{log_softmax, logsumexp, softmax};
pub use transpose::transpose;
pub use unary::{isfinite, isnan, relu, sign};
pub use window::{reduce_window, reduce_window_shape, Window, WindowOp};

/// The error of a kernel handed a float16/bfloat16 tensor it does not compute: such kernels
/// compute float32, and the op table (`table::Half`) widens half operands before calling them
/// and rounds the results. Reaching this is a bug in a caller that skipped the table.
pub(crate) fn half_in_kernel(what: &str, dt: crate::dtype::DType) -> crate::error::Error {
    crate::error::Error::dtype(format!(
        "{what}: the kernel computes float32 and got {dt}; half dtypes go through the op table, which widens them"
    ))
}

/// The body of a const `from_name(name)` for an op enum with `ALL` and a const `name()`.
macro_rules! const_from_name {
    ($name:expr) => {{
        let mut i = 0;
        while i < Self::ALL.len() {
            if crate::ops::const_str_eq(Self::ALL[i].name(), $name) {
                return Some(Self::ALL[i]);
            }
            i += 1;
        }
        None
    }};
}
pub(crate) use const_from_name;

/// `a == b` usable in const context: table rows resolve their op enum from the row's name at
/// compile time, so a call pays no name lookup.
pub(crate) const fn const_str_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}
