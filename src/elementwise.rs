//! Elementwise entry points: the unary family (one op code per function), comparisons,
//! logical ops and `where`.

use flaxen_core::ops::{self, CompareOp, LogicalOp, UnaryOp};
use node_api::{CallbackInfo, Env, JsError, Value};

use crate::operands::{op_code, tensor_or_number};
use crate::{args, handle};

/// `unary(op, x)`: op indexes `UnaryOp::ALL` (0 exp, 1 log, 2 sqrt, 3 rsqrt, 4 tanh, 5 abs,
/// 6 negative, 7 square, 8 reciprocal, 9 floor, 10 ceil, 11 sigmoid, 12 silu, 13 gelu (tanh),
/// 14 gelu (exact), 15 erf, 16 logical_not).
pub fn unary(env: Env, info: CallbackInfo) -> Result<Value, JsError> {
    let op = op_code(env, info.arg(0), &UnaryOp::ALL, |o| o.name())?;
    let x = handle::tensor(env, info.arg(1), "x")?;
    handle::wrap(env, ops::unary(op, &x))
}

/// `compare(op, a, b)`: op 0 equal, 1 not_equal, 2 less, 3 less_equal, 4 greater, 5 greater_equal.
pub fn compare(env: Env, info: CallbackInfo) -> Result<Value, JsError> {
    let op = op_code(env, info.arg(0), &CompareOp::ALL, |o| o.name())?;
    let a = handle::tensor(env, info.arg(1), "a")?;
    let b = handle::tensor(env, info.arg(2), "b")?;
    handle::wrap(env, ops::compare(op, &a, &b))
}

/// `compareScalar(op, a, scalar, scalarOnLeft)`: `a op s`, or `s op a` when `scalarOnLeft`.
pub fn compare_scalar(env: Env, info: CallbackInfo) -> Result<Value, JsError> {
    let op = op_code(env, info.arg(0), &CompareOp::ALL, |o| o.name())?;
    let a = handle::tensor(env, info.arg(1), "a")?;
    let s = args::number(env, info.arg(2), "scalar")?;
    let left = args::boolean(env, info.arg(3), "scalarOnLeft")?;
    handle::wrap(env, ops::compare_scalar(op, &a, s, left))
}

/// `logical(op, a, b)`: op 0 and, 1 or, 2 xor.
pub fn logical(env: Env, info: CallbackInfo) -> Result<Value, JsError> {
    let op = op_code(env, info.arg(0), &LogicalOp::ALL, |o| o.name())?;
    let a = handle::tensor(env, info.arg(1), "a")?;
    let b = handle::tensor(env, info.arg(2), "b")?;
    handle::wrap(env, ops::logical(op, &a, &b))
}

/// `where(condition, x, y)`: x and y are tensor handles or numbers.
pub fn where_(env: Env, info: CallbackInfo) -> Result<Value, JsError> {
    let c = handle::tensor(env, info.arg(0), "condition")?;
    let x = tensor_or_number(env, info.arg(1), "x")?;
    let y = tensor_or_number(env, info.arg(2), "y")?;
    handle::wrap(env, ops::where_(&c, x.operand(), y.operand()))
}
