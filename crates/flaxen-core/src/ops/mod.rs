//! Kernels. Each file is one family of operations; all take `&Tensor` and return a new tensor.

pub mod binary;
pub mod create;
pub mod mask;
pub mod matmul;
pub mod reduce;
pub mod transpose;
pub mod unary;

pub use binary::{binary, binary_scalar, BinaryOp};
pub use create::{arange, eye, full, linspace};
pub use mask::{tril, triu};
pub use matmul::matmul;
pub use reduce::{mean, sum};
pub use transpose::transpose;
pub use unary::{relu, sign};
