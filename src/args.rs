//! Reading and validating JS arguments. Wrong JS types are TypeErrors with code `E_TYPE`; wrong
//! values are `E_ARG`; each message names the argument.

use flaxen_core::shape::check_shape;
use flaxen_core::DType;
use node_api::{Env, JsError, TypedArrayType, Value, ValueType};

/// A core error as a JS error: E_ALLOC (the byte cap, or the allocator refused) is a
/// `RangeError`, like JS's own `new ArrayBuffer(2 ** 53)`; every other code a plain `Error`.
pub fn core_error(e: flaxen_core::Error) -> JsError {
    if e.code == flaxen_core::ErrorCode::Alloc {
        return JsError::range_error(e.code.as_str(), e.message);
    }
    JsError::error(e.code.as_str(), e.message)
}

/// Most entries read from one JS array (shapes, axes, lists of tensors). A JS array's length
/// is whatever it claims (`new Array(2 ** 32 - 1)` is one line), so it is checked before
/// anything is reserved for it.
pub const MAX_ARRAY_LEN: u32 = 1 << 20;

/// The length of JS array `v` (the caller checked it is one), E_ARG if over `MAX_ARRAY_LEN`.
pub fn array_len(env: Env, v: Value, what: &str) -> Result<u32, JsError> {
    let len = env.array_len(v)?;
    if len > MAX_ARRAY_LEN {
        return Err(JsError::range_error(
            "E_ARG",
            format!("{what}: expected an array of at most {MAX_ARRAY_LEN} entries, got length {len}"),
        ));
    }
    Ok(len)
}

fn type_error(what: &str, expected: &str, env: Env, v: Value) -> JsError {
    let got = env.type_of(v).map(|t| format!("{t:?}").to_lowercase()).unwrap_or_else(|_| "unknown".into());
    JsError::type_error("E_TYPE", format!("{what}: expected {expected}, got {got}"))
}

pub fn number(env: Env, v: Value, what: &str) -> Result<f64, JsError> {
    // `napi_get_value_double` itself rejects non-numbers (no coercion), so one call suffices on
    // the hot path; the message is built only on failure.
    env.get_f64(v).map_err(|_| type_error(what, "a number", env, v))
}

/// A finite number (E_ARG for NaN and infinities).
pub fn finite(env: Env, v: Value, what: &str) -> Result<f64, JsError> {
    let x = number(env, v, what)?;
    if !x.is_finite() {
        return Err(JsError::error("E_ARG", format!("{what}: expected a finite number, got {x}")));
    }
    Ok(x)
}

/// An integer-valued number within ±2^53 (E_ARG otherwise).
pub fn integer(env: Env, v: Value, what: &str) -> Result<i64, JsError> {
    let x = number(env, v, what)?;
    if !x.is_finite() || x.fract() != 0.0 || x.abs() > 9_007_199_254_740_992.0 {
        return Err(JsError::error("E_ARG", format!("{what}: expected an integer, got {x}")));
    }
    Ok(x as i64)
}

/// A non-negative integer count.
pub fn count(env: Env, v: Value, what: &str) -> Result<usize, JsError> {
    let n = integer(env, v, what)?;
    if n < 0 {
        return Err(JsError::error("E_ARG", format!("{what}: expected a non-negative integer, got {n}")));
    }
    Ok(n as usize)
}

pub fn boolean(env: Env, v: Value, what: &str) -> Result<bool, JsError> {
    if env.type_of(v)? != ValueType::Boolean {
        return Err(type_error(what, "a boolean", env, v));
    }
    env.get_bool(v)
}

pub fn string(env: Env, v: Value, what: &str) -> Result<String, JsError> {
    if env.type_of(v)? != ValueType::String {
        return Err(type_error(what, "a string", env, v));
    }
    env.get_string(v)
}

pub fn dtype(env: Env, v: Value, what: &str) -> Result<DType, JsError> {
    DType::from_name(&string(env, v, what)?).map_err(|e| JsError::error(e.code.as_str(), format!("{what}: {}", e.message)))
}

/// The numbers of a JS array (E_TYPE if not an array of numbers).
fn numbers(env: Env, v: Value, what: &str) -> Result<Vec<f64>, JsError> {
    if !env.is_array(v)? {
        return Err(type_error(what, "an array of numbers", env, v));
    }
    let len = array_len(env, v, what)?;
    let mut out = Vec::with_capacity(len as usize);
    for i in 0..len {
        out.push(number(env, env.get_element(v, i)?, &format!("{what}[{i}]"))?);
    }
    Ok(out)
}

/// A shape: an array of non-negative integers whose product is within the core's limit.
pub fn shape(env: Env, v: Value, what: &str) -> Result<Vec<usize>, JsError> {
    check_shape(&numbers(env, v, what)?, what).map_err(core_error)
}

/// An array of integers (axes, or a shape that may hold -1).
pub fn integers(env: Env, v: Value, what: &str) -> Result<Vec<i64>, JsError> {
    numbers(env, v, what)?
        .into_iter()
        .enumerate()
        .map(|(i, x)| {
            if x.is_finite() && x.fract() == 0.0 && x.abs() <= 9_007_199_254_740_992.0 {
                Ok(x as i64)
            } else {
                Err(JsError::error("E_ARG", format!("{what}[{i}]: expected an integer, got {x}")))
            }
        })
        .collect()
}

/// Key data (a Uint32Array of length 2) as a uint32 tensor of shape [2]; None for anything else.
pub fn key_tensor(env: Env, v: Value) -> Option<flaxen_core::Tensor> {
    if !env.is_typedarray(v).ok()? {
        return None;
    }
    let info = env.typedarray_info(v).ok()?;
    if info.kind != TypedArrayType::Uint32 || info.len != 2 {
        return None;
    }
    // SAFETY: kind and length were checked; the view is read during this callback while no JS runs.
    let s = unsafe { info.as_slice::<u32>() }.ok()?;
    flaxen_core::Tensor::from_slice(s, &[2]).ok()
}
