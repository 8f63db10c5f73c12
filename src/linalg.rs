//! Linear algebra: the reduced QR factorisation (the orthogonal initializer's core).

use flaxen_core::linalg;
use node_api::{CallbackInfo, Env, JsError, Value};

use crate::{args, handle};

/// `qr(a)` → `[q, r]` (two handles) for a float32 `[m, n]` matrix; `k = min(m, n)`.
pub fn qr(env: Env, info: CallbackInfo) -> Result<Value, JsError> {
    let a = handle::tensor(env, info.arg(0), "a")?;
    let (q, r) = linalg::qr(&a).map_err(args::core_error)?;
    let out = env.create_array(2)?;
    env.set_element(out, 0, handle::wrap(env, Ok(q))?)?;
    env.set_element(out, 1, handle::wrap(env, Ok(r))?)?;
    Ok(out)
}
