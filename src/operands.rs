//! Argument readers for the op families of `elementwise.rs`, `reductions.rs` and `shape.rs`
//! (same conventions as `args.rs`: wrong JS types are TypeErrors `E_TYPE`, wrong values `E_ARG`,
//! each message naming the argument).

use flaxen_core::ops::Operand;
use flaxen_core::Tensor;
use node_api::{Env, JsError, Value, ValueType};

use crate::{args, handle};

fn got(env: Env, v: Value) -> String {
    env.type_of(v).map(|t| format!("{t:?}").to_lowercase()).unwrap_or_else(|_| "unknown".into())
}

/// A tensor handle or a JS number (a weakly typed scalar).
pub enum Arg {
    Tensor(Tensor),
    Scalar(f64),
}

impl Arg {
    pub fn operand(&self) -> Operand<'_> {
        match self {
            Arg::Tensor(t) => Operand::Tensor(t),
            Arg::Scalar(s) => Operand::Scalar(*s),
        }
    }
}

pub fn tensor_or_number(env: Env, v: Value, what: &str) -> Result<Arg, JsError> {
    match env.type_of(v)? {
        ValueType::Number => Ok(Arg::Scalar(env.get_f64(v)?)),
        ValueType::External => Ok(Arg::Tensor(handle::tensor_owned(env, v, what)?)),
        _ => Err(JsError::type_error("E_TYPE", format!("{what}: expected a tensor handle or a number, got {}", got(env, v)))),
    }
}

/// A non-empty-or-empty JS array of tensor handles.
pub fn tensors(env: Env, v: Value, what: &str) -> Result<Vec<Tensor>, JsError> {
    if !env.is_array(v)? {
        return Err(JsError::type_error("E_TYPE", format!("{what}: expected an array of tensor handles, got {}", got(env, v))));
    }
    (0..env.array_len(v)?).map(|i| handle::tensor_owned(env, env.get_element(v, i)?, &format!("{what}[{i}]"))).collect()
}

/// `null`/`undefined` → None, else an integer.
pub fn optional_integer(env: Env, v: Value, what: &str) -> Result<Option<i64>, JsError> {
    match env.type_of(v)? {
        ValueType::Null | ValueType::Undefined => Ok(None),
        _ => args::integer(env, v, what).map(Some),
    }
}

/// An op code: an integer indexing `all` (E_ARG listing the valid codes otherwise).
pub fn op_code<T: Copy>(env: Env, v: Value, all: &[T], names: impl Fn(T) -> &'static str) -> Result<T, JsError> {
    let code = args::integer(env, v, "op")?;
    usize::try_from(code).ok().and_then(|i| all.get(i).copied()).ok_or_else(|| {
        let valid: Vec<String> = all.iter().enumerate().map(|(i, &op)| format!("{i} ({})", names(op))).collect();
        JsError::error("E_ARG", format!("op: expected one of {}, got {code}", valid.join(", ")))
    })
}
