//! Tensor ops: read handles and arguments, run the core kernel, wrap the result.

use flaxen_core::ops::{self, BinaryOp};
use node_api::{CallbackInfo, Env, JsError, Value};

use crate::{args, handle};

/// `matmul(a, b)`; a lazy `triu`/`tril` b is multiplied without materialising it.
pub fn matmul(env: Env, info: CallbackInfo) -> Result<Value, JsError> {
    let a = handle::tensor(env, info.arg(0), "a")?;
    let hb = handle::handle(env, info.arg(1), "b")?;
    if let Some((src, k, upper)) = hb.pending_mask("b")? {
        return handle::wrap(env, ops::matmul_masked(&a, &src, k, upper));
    }
    let b = hb.ready(env, "b")?;
    handle::wrap(env, ops::matmul(&a, &b))
}

fn binary_op(env: Env, v: Value) -> Result<BinaryOp, JsError> {
    Ok(match args::integer(env, v, "op")? {
        0 => BinaryOp::Add,
        1 => BinaryOp::Sub,
        2 => BinaryOp::Mul,
        3 => BinaryOp::Div,
        4 => BinaryOp::Max,
        5 => BinaryOp::Min,
        6 => BinaryOp::Pow,
        other => {
            return Err(JsError::error(
                "E_ARG",
                format!("op: expected 0 (add), 1 (subtract), 2 (multiply), 3 (divide), 4 (maximum), 5 (minimum) or 6 (power), got {other}"),
            ))
        }
    })
}

/// `binary(op, a, b)` with numpy broadcasting.
pub fn binary(env: Env, info: CallbackInfo) -> Result<Value, JsError> {
    let op = binary_op(env, info.arg(0))?;
    let a = handle::tensor(env, info.arg(1), "a")?;
    let b = handle::tensor(env, info.arg(2), "b")?;
    handle::wrap(env, ops::binary(op, &a, &b))
}

/// `binaryScalar(op, a, scalar, scalarOnLeft)`: `a op s`, or `s op a` when `scalarOnLeft`.
pub fn binary_scalar(env: Env, info: CallbackInfo) -> Result<Value, JsError> {
    let op = binary_op(env, info.arg(0))?;
    let a = handle::tensor(env, info.arg(1), "a")?;
    let s = args::number(env, info.arg(2), "scalar")?;
    let left = args::boolean(env, info.arg(3), "scalarOnLeft")?;
    handle::wrap(env, ops::binary_scalar(op, &a, s, left))
}

/// `triu(x, k)`: deferred (a lazy handle) for float32, see `handle.rs`.
pub fn triu(env: Env, info: CallbackInfo) -> Result<Value, JsError> {
    let x = handle::tensor(env, info.arg(0), "x")?;
    let k = args::integer(env, info.arg(1), "k")?;
    handle::wrap_mask(env, &x, k, true)
}

/// `tril(x, k)`: deferred like `triu`.
pub fn tril(env: Env, info: CallbackInfo) -> Result<Value, JsError> {
    let x = handle::tensor(env, info.arg(0), "x")?;
    let k = args::integer(env, info.arg(1), "k")?;
    handle::wrap_mask(env, &x, k, false)
}

pub fn sign(env: Env, info: CallbackInfo) -> Result<Value, JsError> {
    let x = handle::tensor(env, info.arg(0), "x")?;
    handle::wrap(env, ops::sign(&x))
}

pub fn relu(env: Env, info: CallbackInfo) -> Result<Value, JsError> {
    let x = handle::tensor(env, info.arg(0), "x")?;
    handle::wrap(env, ops::relu(&x))
}

/// `transpose(x, axes | null)`
pub fn transpose(env: Env, info: CallbackInfo) -> Result<Value, JsError> {
    let x = handle::tensor(env, info.arg(0), "x")?;
    let axes = args::optional_integers(env, info.arg(1), "axes")?;
    handle::wrap(env, ops::transpose(&x, axes.as_deref()))
}

pub(crate) fn reduce(
    env: Env,
    info: CallbackInfo,
    f: fn(&flaxen_core::Tensor, Option<&[i64]>, bool) -> flaxen_core::Result<flaxen_core::Tensor>,
) -> Result<Value, JsError> {
    let x = handle::tensor(env, info.arg(0), "x")?;
    let axes = args::optional_integers(env, info.arg(1), "axis")?;
    let keepdims = args::boolean(env, info.arg(2), "keepdims")?;
    handle::wrap(env, f(&x, axes.as_deref(), keepdims))
}

/// `sum(x, axes | null, keepdims)`
pub fn sum(env: Env, info: CallbackInfo) -> Result<Value, JsError> {
    reduce(env, info, ops::sum)
}

/// `mean(x, axes | null, keepdims)`
pub fn mean(env: Env, info: CallbackInfo) -> Result<Value, JsError> {
    reduce(env, info, ops::mean)
}

/// `reshape(x, shape)`: shares storage; one -1 is inferred.
pub fn reshape(env: Env, info: CallbackInfo) -> Result<Value, JsError> {
    let x = handle::tensor(env, info.arg(0), "x")?;
    let shape = args::integers(env, info.arg(1), "shape")?;
    handle::wrap(env, x.reshape(&shape))
}

/// `astype(x, dtype)`: always a copy (also for the same dtype), so `jnp.array(t)` never aliases.
pub fn astype(env: Env, info: CallbackInfo) -> Result<Value, JsError> {
    let x = handle::tensor(env, info.arg(0), "x")?;
    let dtype = args::dtype(env, info.arg(1), "dtype")?;
    handle::wrap(env, Ok(x.astype(dtype)))
}
