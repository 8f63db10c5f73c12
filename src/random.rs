//! JAX's threefry PRNG seeds: key data crosses as a Uint32Array(2). Splits, fold-ins and draws
//! are rows of the op table (`op.rs`).

use flaxen_core::prng;
use node_api::{CallbackInfo, Env, JsError, TypedArrayType, Value};

use crate::args;

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

/// `keyFromSeed(seed)` → `[0, seed mod 2^32]` (JAX's default 32-bit mode).
pub fn key_from_seed(env: Env, info: CallbackInfo) -> Result<Value, JsError> {
    let seed = args::integer(env, info.arg(0), "seed")?;
    u32_array(env, &prng::key_from_seed(seed))
}
