//! Shape and indexing entry points: take, oneHot, concatenate, stack, expandDims, squeeze,
//! broadcastTo, swapaxes, moveaxis.

use flaxen_core::ops::{self, TakeMode};
use node_api::{CallbackInfo, Env, JsError, Value};

use crate::operands::{optional_integer, tensors};
use crate::{args, handle};

/// `take(x, indices, axis | null, mode)`: mode "fill" (jnp's default), "clip" or "wrap".
pub fn take(env: Env, info: CallbackInfo) -> Result<Value, JsError> {
    let x = handle::tensor(env, info.arg(0), "x")?;
    let indices = handle::tensor(env, info.arg(1), "indices")?;
    let axis = optional_integer(env, info.arg(2), "axis")?;
    let mode = TakeMode::from_name(&args::string(env, info.arg(3), "mode")?).map_err(args::core_error)?;
    handle::wrap(env, ops::take(&x, &indices, axis, mode))
}

/// `oneHot(x, numClasses, dtype, axis)`
pub fn one_hot(env: Env, info: CallbackInfo) -> Result<Value, JsError> {
    let x = handle::tensor(env, info.arg(0), "x")?;
    let n = args::count(env, info.arg(1), "numClasses")?;
    let dtype = args::dtype(env, info.arg(2), "dtype")?;
    let axis = args::integer(env, info.arg(3), "axis")?;
    handle::wrap(env, ops::one_hot(&x, n, dtype, axis))
}

/// `concatenate(xs, axis)`
pub fn concatenate(env: Env, info: CallbackInfo) -> Result<Value, JsError> {
    let xs = tensors(env, info.arg(0), "xs")?;
    let axis = args::integer(env, info.arg(1), "axis")?;
    handle::wrap(env, ops::concatenate(&xs, axis))
}

/// `stack(xs, axis)`
pub fn stack(env: Env, info: CallbackInfo) -> Result<Value, JsError> {
    let xs = tensors(env, info.arg(0), "xs")?;
    let axis = args::integer(env, info.arg(1), "axis")?;
    handle::wrap(env, ops::stack(&xs, axis))
}

/// `expandDims(x, axes)`: shares storage.
pub fn expand_dims(env: Env, info: CallbackInfo) -> Result<Value, JsError> {
    let x = handle::tensor(env, info.arg(0), "x")?;
    let axes = args::integers(env, info.arg(1), "axis")?;
    handle::wrap(env, ops::expand_dims(&x, &axes))
}

/// `squeeze(x, axes | null)`: shares storage.
pub fn squeeze(env: Env, info: CallbackInfo) -> Result<Value, JsError> {
    let x = handle::tensor(env, info.arg(0), "x")?;
    let axes = args::optional_integers(env, info.arg(1), "axis")?;
    handle::wrap(env, ops::squeeze(&x, axes.as_deref()))
}

/// `broadcastTo(x, shape)`
pub fn broadcast_to(env: Env, info: CallbackInfo) -> Result<Value, JsError> {
    let x = handle::tensor(env, info.arg(0), "x")?;
    let shape = args::shape(env, info.arg(1), "shape")?;
    handle::wrap(env, ops::broadcast_to(&x, &shape))
}

/// `swapaxes(x, axis1, axis2)`
pub fn swapaxes(env: Env, info: CallbackInfo) -> Result<Value, JsError> {
    let x = handle::tensor(env, info.arg(0), "x")?;
    let a = args::integer(env, info.arg(1), "axis1")?;
    let b = args::integer(env, info.arg(2), "axis2")?;
    handle::wrap(env, ops::swapaxes(&x, a, b))
}

/// `moveaxis(x, source, destination)`: arrays of axes.
pub fn moveaxis(env: Env, info: CallbackInfo) -> Result<Value, JsError> {
    let x = handle::tensor(env, info.arg(0), "x")?;
    let src = args::integers(env, info.arg(1), "source")?;
    let dst = args::integers(env, info.arg(2), "destination")?;
    handle::wrap(env, ops::moveaxis(&x, &src, &dst))
}
