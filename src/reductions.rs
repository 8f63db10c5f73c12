//! Reductions beyond sum/mean (max, min, prod, var, std, argmax, argmin) and the softmax family.

use flaxen_core::{ops, Result as CoreResult, Tensor};
use node_api::{CallbackInfo, Env, JsError, Value};

use crate::operands::optional_integer;
use crate::ops::reduce;
use crate::{args, handle};

/// `max(x, axes | null, keepdims)`
pub fn max(env: Env, info: CallbackInfo) -> Result<Value, JsError> {
    reduce(env, info, ops::max)
}

/// `min(x, axes | null, keepdims)`
pub fn min(env: Env, info: CallbackInfo) -> Result<Value, JsError> {
    reduce(env, info, ops::min)
}

/// `prod(x, axes | null, keepdims)`
pub fn prod(env: Env, info: CallbackInfo) -> Result<Value, JsError> {
    reduce(env, info, ops::prod)
}

/// A core variance-like kernel: (x, axes, keepdims, ddof).
type Moments = fn(&Tensor, Option<&[i64]>, bool, f64) -> CoreResult<Tensor>;

fn moments(env: Env, info: CallbackInfo, f: Moments) -> Result<Value, JsError> {
    let x = handle::tensor(env, info.arg(0), "x")?;
    let axes = args::optional_integers(env, info.arg(1), "axis")?;
    let keepdims = args::boolean(env, info.arg(2), "keepdims")?;
    let ddof = args::finite(env, info.arg(3), "ddof")?;
    handle::wrap(env, f(&x, axes.as_deref(), keepdims, ddof))
}

/// `variance(x, axes | null, keepdims, ddof)` (jnp.var)
pub fn var(env: Env, info: CallbackInfo) -> Result<Value, JsError> {
    moments(env, info, ops::var)
}

/// `std(x, axes | null, keepdims, ddof)`
pub fn std(env: Env, info: CallbackInfo) -> Result<Value, JsError> {
    moments(env, info, ops::std)
}

fn arg_reduce(
    env: Env,
    info: CallbackInfo,
    f: fn(&Tensor, Option<i64>, bool) -> CoreResult<Tensor>,
) -> Result<Value, JsError> {
    let x = handle::tensor(env, info.arg(0), "x")?;
    let axis = optional_integer(env, info.arg(1), "axis")?;
    let keepdims = args::boolean(env, info.arg(2), "keepdims")?;
    handle::wrap(env, f(&x, axis, keepdims))
}

/// `argmax(x, axis | null, keepdims)`
pub fn argmax(env: Env, info: CallbackInfo) -> Result<Value, JsError> {
    arg_reduce(env, info, ops::argmax)
}

/// `argmin(x, axis | null, keepdims)`
pub fn argmin(env: Env, info: CallbackInfo) -> Result<Value, JsError> {
    arg_reduce(env, info, ops::argmin)
}

/// `softmax(x, axes | null)`
pub fn softmax(env: Env, info: CallbackInfo) -> Result<Value, JsError> {
    let x = handle::tensor(env, info.arg(0), "x")?;
    let axes = args::optional_integers(env, info.arg(1), "axis")?;
    handle::wrap(env, ops::softmax(&x, axes.as_deref()))
}

/// `logSoftmax(x, axes | null)`
pub fn log_softmax(env: Env, info: CallbackInfo) -> Result<Value, JsError> {
    let x = handle::tensor(env, info.arg(0), "x")?;
    let axes = args::optional_integers(env, info.arg(1), "axis")?;
    handle::wrap(env, ops::log_softmax(&x, axes.as_deref()))
}

/// `logsumexp(x, axes | null, keepdims)`
pub fn logsumexp(env: Env, info: CallbackInfo) -> Result<Value, JsError> {
    reduce(env, info, ops::logsumexp)
}
