//! `round(x, decimals)`: jnp.round (half to even).

use flaxen_core::ops;
use node_api::{CallbackInfo, Env, JsError, Value};

use crate::{args, handle};

pub fn round(env: Env, info: CallbackInfo) -> Result<Value, JsError> {
    let x = handle::tensor(env, info.arg(0), "x")?;
    let decimals = args::integer(env, info.arg(1), "decimals")?;
    let decimals = i32::try_from(decimals)
        .map_err(|_| JsError::error("E_ARG", format!("decimals: {decimals} is out of range")))?;
    handle::wrap(env, ops::round(&x, decimals))
}
