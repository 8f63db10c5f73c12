//! Metadata, zero-copy views and explicit freeing.

use flaxen_core::DType;
use node_api::{CallbackInfo, Env, JsError, TypeTag, TypedArrayType, Value, ValueType};

use crate::handle;

/// `meta(h)` → `[dtypeCode, ...shape]`: one call gives the JS side everything it caches.
/// A lazy triu/tril stays lazy (its shape and dtype are its source's).
pub fn meta(env: Env, info: CallbackInfo) -> Result<Value, JsError> {
    let (dt, shape) = handle::handle(env, info.arg(0), "h")?.meta("h", |s, d| (d, s.to_vec()))?;
    let out = env.create_array(shape.len() + 1)?;
    env.set_element(out, 0, env.create_u32(handle::dtype_code(dt))?)?;
    for (i, &d) in shape.iter().enumerate() {
        env.set_element(out, i as u32 + 1, env.create_f64(d as f64)?)?;
    }
    Ok(out)
}

fn view_kind(dt: DType) -> TypedArrayType {
    match dt {
        DType::F32 => TypedArrayType::Float32,
        DType::I32 => TypedArrayType::Int32,
        DType::U32 => TypedArrayType::Uint32,
        // float16 / bfloat16: their bits (Node 20 has no Float16Array).
        DType::U16 | DType::F16 | DType::BF16 => TypedArrayType::Uint16,
        DType::U8 | DType::Bool => TypedArrayType::Uint8,
        DType::I8 => TypedArrayType::Int8,
    }
}

/// `view(h)` → a typed array over the tensor's native memory (no copy). The ArrayBuffer owns
/// the handle's view slot, which holds an `Arc` of the storage, so the memory outlives the view
/// unless `dispose` detaches every view first.
pub fn view(env: Env, info: CallbackInfo) -> Result<Value, JsError> {
    let h = handle::handle(env, info.arg(0), "tensor")?;
    let t = h.ready(env, "the tensor read (.data, toArray, item)")?;
    // From here on JS may write these bytes: async calls reading them must have finished,
    // deferred masks reading them must run first, and no new ones may defer on them.
    crate::plan::check_not_pinned(t.storage())?;
    handle::materialise_readers_of(t.storage())?;
    t.storage().mark_exposed();
    let slot = h.view_slot(&t);
    // SAFETY: the storage holds at least `nbytes` bytes (contiguous tensor, offset 0). The slot
    // given as owner keeps its `Arc` for as long as the ArrayBuffer object exists, except that
    // `dispose` empties it only after every view of the slot has been detached, when JS can no
    // longer reach the bytes. Kernels read storage only inside a native call, when no JS (and
    // so no write through this view) runs on this thread; outputs are always fresh storage.
    let ab = unsafe { env.create_external_arraybuffer(t.storage().as_mut_ptr(), t.nbytes(), slot)? };
    env.create_typedarray(view_kind(t.dtype()), t.size(), ab, 0)
}

/// `dispose(h, view?)`: frees the tensor now (storage shared with other tensors lives on). The
/// given view (the one the JS Tensor cached) is detached first, so JS can no longer reach
/// memory that is about to be freed.
pub fn dispose(env: Env, info: CallbackInfo) -> Result<Value, JsError> {
    let h = handle::handle(env, info.arg(0), "h")?;
    let view = info.arg(1);
    if !matches!(env.type_of(view)?, ValueType::Undefined | ValueType::Null) {
        if !env.is_typedarray(view)? {
            return Err(JsError::type_error("E_TYPE", "view: expected the tensor's typed array view"));
        }
        let ta = env.typedarray_info(view)?;
        if !env.is_detached_arraybuffer(ta.arraybuffer)? {
            // Count it as one of this handle's views only if it views this handle's storage.
            let slot = h.views().filter(|s| s.data_ptr() == Some(ta.data.wrapping_sub(ta.byte_offset)));
            env.detach_arraybuffer(ta.arraybuffer)?;
            if let Some(slot) = slot {
                slot.note_detached();
            }
        }
    }
    h.dispose();
    env.undefined()
}

/// `blockUntilReady(h)`: runs any deferred work of the tensor (a lazy triu/tril) now.
pub fn block_until_ready(env: Env, info: CallbackInfo) -> Result<Value, JsError> {
    handle::tensor(env, info.arg(0), "the tensor passed to blockUntilReady")?;
    env.undefined()
}

/// `liveBytes()`: bytes of tensor storage alive in this process.
pub fn live_bytes(env: Env, _info: CallbackInfo) -> Result<Value, JsError> {
    env.create_f64(flaxen_core::live_bytes() as f64)
}

static FLOOR_TAG: TypeTag = TypeTag::new(0x666c_6178_656e_0005, 0x666c_6f6f_7200_0001);

/// `floorExternal()` → a new external holding nothing: the least an op returning a tensor does
/// (one Node-API call, one boxed value, one tagged external). The benchmark's per-call floor.
pub fn floor_external(env: Env, _info: CallbackInfo) -> Result<Value, JsError> {
    env.create_external((), &FLOOR_TAG)
}

/// Makes a refused allocation inside a kernel (a panic carrying `AllocFailure`, see
/// `flaxen_core::storage`) a thrown `RangeError` with code `E_ALLOC`, and keeps the panic hook
/// from printing it (it is an ordinary error, not a bug). Other panics print as before.
pub fn init_alloc_failures() {
    use flaxen_core::storage::AllocFailure;
    node_api::set_panic_translator(|p| p.downcast_ref::<AllocFailure>().map(|f| crate::args::core_error(f.0.clone())));
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if info.payload().downcast_ref::<AllocFailure>().is_none() {
                previous(info);
            }
        }));
    });
}

/// `setMaxBytes(n)`: the largest single tensor buffer the core will allocate (bytes, a
/// positive integer up to 2^62).
pub fn set_max_bytes(env: Env, info: CallbackInfo) -> Result<Value, JsError> {
    let n = crate::args::integer(env, info.arg(0), "maxBytes")?;
    if n <= 0 || n as u64 > flaxen_core::storage::MAX_BYTES_LIMIT as u64 {
        return Err(JsError::range_error("E_ARG", format!("maxBytes: expected a positive integer number of bytes up to 2^62, got {n}")));
    }
    flaxen_core::set_max_bytes(n as usize).map_err(crate::args::core_error)?;
    env.undefined()
}

/// `getMaxBytes()` → the byte cap.
pub fn get_max_bytes(env: Env, _info: CallbackInfo) -> Result<Value, JsError> {
    env.create_f64(flaxen_core::max_bytes() as f64)
}
