//! JAX's threefry PRNG: keys cross as Uint32Array(2) key data. Every draw that depends on the
//! threefry layout (split, bits and the distributions) takes a last argument `partitionable`
//! (JAX's `jax_threefry_partitionable`; the façade passes its config flag).

use flaxen_core::prng::{self, Layout};
use node_api::{CallbackInfo, Env, JsError, TypedArrayType, Value};

use crate::{args, handle};

/// A new Uint32Array holding `words`.
fn u32_array(env: Env, words: &[u32]) -> Result<Value, JsError> {
    let (ab, ptr) = env.create_arraybuffer(words.len() * 4)?;
    if !words.is_empty() {
        // SAFETY: V8 just allocated `words.len() * 4` bytes at `ptr` for this fresh buffer, which
        // no JS has seen yet; u32 has no invalid bit patterns and the copy is bytewise.
        unsafe { std::ptr::copy_nonoverlapping(words.as_ptr().cast::<u8>(), ptr, words.len() * 4) };
    }
    env.create_typedarray(TypedArrayType::Uint32, words.len(), ab, 0)
}

/// The layout argument: `true` → partitionable (JAX's default), `false` → original.
fn layout(env: Env, v: Value) -> Result<Layout, JsError> {
    Ok(if args::boolean(env, v, "partitionable")? { Layout::Partitionable } else { Layout::Original })
}

/// `threefry2x32(key, counter)`: the raw block function (spec g.2).
pub fn threefry2x32(env: Env, info: CallbackInfo) -> Result<Value, JsError> {
    let key = args::key(env, info.arg(0), "key")?;
    let ctr = args::key(env, info.arg(1), "counter")?;
    u32_array(env, &prng::threefry2x32(key, ctr))
}

/// `keyFromSeed(seed)` → `[0, seed mod 2^32]` (JAX's default 32-bit mode).
pub fn key_from_seed(env: Env, info: CallbackInfo) -> Result<Value, JsError> {
    let seed = args::integer(env, info.arg(0), "seed")?;
    u32_array(env, &prng::key_from_seed(seed))
}

/// `foldIn(key, data)`; `data` is taken modulo 2^32 like JAX's uint32 cast.
pub fn fold_in(env: Env, info: CallbackInfo) -> Result<Value, JsError> {
    let key = args::key(env, info.arg(0), "key")?;
    let data = args::integer(env, info.arg(1), "data")?;
    u32_array(env, &prng::fold_in(key, data as u32))
}

/// `split(key, n, partitionable)` → Uint32Array(2n) (partitionable: key i is `fold_in(key, i)`).
pub fn split(env: Env, info: CallbackInfo) -> Result<Value, JsError> {
    let key = args::key(env, info.arg(0), "key")?;
    let n = args::count(env, info.arg(1), "n")?;
    let layout = layout(env, info.arg(2))?;
    flaxen_core::shape::check_shape(&[n, 2], "n").map_err(args::core_error)?;
    let flat: Vec<u32> = layout.split(key, n).map_err(args::core_error)?.into_iter().flatten().collect();
    u32_array(env, &flat)
}

/// `bits(key, width, shape, partitionable)` with width 8, 16 or 32.
pub fn bits(env: Env, info: CallbackInfo) -> Result<Value, JsError> {
    let key = args::key(env, info.arg(0), "key")?;
    let width = args::integer(env, info.arg(1), "width")?;
    if !matches!(width, 8 | 16 | 32) {
        return Err(JsError::error("E_DTYPE", format!("width: expected 8, 16 or 32 bits, got {width}")));
    }
    let shape = args::shape(env, info.arg(2), "shape")?;
    let layout = layout(env, info.arg(3))?;
    handle::wrap(env, layout.random_bits(key, width as u32, &shape))
}

pub fn uniform(env: Env, info: CallbackInfo) -> Result<Value, JsError> {
    let key = args::key(env, info.arg(0), "key")?;
    let shape = args::shape(env, info.arg(1), "shape")?;
    let minval = args::finite(env, info.arg(2), "minval")? as f32;
    let maxval = args::finite(env, info.arg(3), "maxval")? as f32;
    let layout = layout(env, info.arg(4))?;
    handle::wrap(env, layout.uniform(key, &shape, minval, maxval))
}

pub fn normal(env: Env, info: CallbackInfo) -> Result<Value, JsError> {
    let key = args::key(env, info.arg(0), "key")?;
    let shape = args::shape(env, info.arg(1), "shape")?;
    let layout = layout(env, info.arg(2))?;
    handle::wrap(env, layout.normal(key, &shape))
}

pub fn truncated_normal(env: Env, info: CallbackInfo) -> Result<Value, JsError> {
    let key = args::key(env, info.arg(0), "key")?;
    let lower = args::number(env, info.arg(1), "lower")? as f32;
    let upper = args::number(env, info.arg(2), "upper")? as f32;
    if lower.is_nan() || upper.is_nan() {
        return Err(JsError::error("E_ARG", "truncatedNormal: lower and upper must not be NaN"));
    }
    let shape = args::shape(env, info.arg(3), "shape")?;
    let layout = layout(env, info.arg(4))?;
    handle::wrap(env, layout.truncated_normal(key, lower, upper, &shape))
}

pub fn randint(env: Env, info: CallbackInfo) -> Result<Value, JsError> {
    let key = args::key(env, info.arg(0), "key")?;
    let shape = args::shape(env, info.arg(1), "shape")?;
    let minval = args::integer(env, info.arg(2), "minval")?;
    let maxval = args::integer(env, info.arg(3), "maxval")?;
    let layout = layout(env, info.arg(4))?;
    handle::wrap(env, layout.randint(key, &shape, minval, maxval))
}

pub fn bernoulli(env: Env, info: CallbackInfo) -> Result<Value, JsError> {
    let key = args::key(env, info.arg(0), "key")?;
    let p = args::finite(env, info.arg(1), "p")? as f32;
    let shape = args::shape(env, info.arg(2), "shape")?;
    let layout = layout(env, info.arg(3))?;
    handle::wrap(env, layout.bernoulli(key, p, &shape))
}
