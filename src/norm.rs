//! The fused layer / RMS normalisation over the last axis (nn.LayerNorm, nn.RMSNorm).

use flaxen_core::ops::{self, NormStats};
use flaxen_core::Tensor;
use node_api::{CallbackInfo, Env, JsError, Value, ValueType};

use crate::{args, handle};

/// `null`/`undefined` → None, else a tensor handle (E_TYPE naming `what` otherwise).
fn optional_tensor(env: Env, v: Value, what: &str) -> Result<Option<Tensor>, JsError> {
    match env.type_of(v)? {
        ValueType::Null | ValueType::Undefined => Ok(None),
        _ => handle::tensor_owned(env, v, what).map(Some),
    }
}

/// `layerNorm(x, scale | null, bias | null, eps, rms, fastVariance)`: float32 only; scale and
/// bias of shape `[x.shape[-1]]`; `fastVariance` is ignored when `rms`.
pub fn layer_norm(env: Env, info: CallbackInfo) -> Result<Value, JsError> {
    let x = handle::tensor(env, info.arg(0), "x")?;
    let scale = optional_tensor(env, info.arg(1), "scale")?;
    let bias = optional_tensor(env, info.arg(2), "bias")?;
    let eps = args::finite(env, info.arg(3), "eps")?;
    let rms = args::boolean(env, info.arg(4), "rms")?;
    let fast_variance = args::boolean(env, info.arg(5), "fastVariance")?;
    let stats = if rms { NormStats::Rms } else { NormStats::Mean { fast_variance } };
    handle::wrap(env, ops::layer_norm(&x, scale.as_ref(), bias.as_ref(), eps, stats))
}
