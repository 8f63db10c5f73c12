//! Weights files: binds `flaxen_core::io::load`. A source is a path (string) or the file's bytes
//! (a Uint8Array, read in place: the core copies what it keeps, once).

use std::path::Path;

use flaxen_core::io::{load, msgpack};
use flaxen_core::{Storage, Tensor};
use node_api::{CallbackInfo, Env, JsError, TypedArrayType, Value, ValueType};

use crate::{args, handle};

enum Source<'a> {
    Path(String),
    Bytes(&'a [u8]),
}

/// The bytes borrow the JS buffer: use them before making any JS value (no JS may run while
/// they are read, and nothing here keeps them).
fn source<'a>(env: Env, v: Value, what: &str) -> Result<Source<'a>, JsError> {
    if env.type_of(v)? == ValueType::String {
        return Ok(Source::Path(env.get_string(v)?));
    }
    if env.is_typedarray(v)? {
        let ta = env.typedarray_info(v)?;
        if matches!(ta.kind, TypedArrayType::Uint8 | TypedArrayType::Uint8Clamped) {
            let n = ta.byte_len();
            // SAFETY: V8 gives `n` bytes at `ta.data` (a byte array: any alignment), kept alive
            // by the argument for this callback; the callers read the slice to the end before
            // creating any JS value, so no JS runs meanwhile.
            return Ok(Source::Bytes(if n == 0 { &[] } else { unsafe { std::slice::from_raw_parts(ta.data, n) } }));
        }
    }
    Err(JsError::type_error("E_TYPE", format!("{what}: expected a path (string) or the file's bytes (Uint8Array)")))
}

fn strings(env: Env, items: impl ExactSizeIterator<Item = String>) -> Result<Value, JsError> {
    let arr = env.create_array(items.len())?;
    for (i, s) in items.enumerate() {
        env.set_element(arr, i as u32, env.create_string(&s)?)?;
    }
    Ok(arr)
}

fn pairs(env: Env, m: Option<Vec<(String, String)>>) -> Result<Value, JsError> {
    match m {
        None => env.null(),
        Some(m) => strings(env, m.into_iter().flat_map(|(k, v)| [k, v]).collect::<Vec<_>>().into_iter()),
    }
}

/// `safetensorsLoad(source)` → `[names, tensors, metadata (flat [key, value, ...]) | null]`.
pub fn safetensors_load(env: Env, info: CallbackInfo) -> Result<Value, JsError> {
    let loaded = match source(env, info.arg(0), "safetensors.load")? {
        Source::Path(p) => load::safetensors_file(Path::new(&p)),
        Source::Bytes(b) => load::safetensors_bytes(b, None),
    }
    .map_err(args::core_error)?;
    let (names, tensors): (Vec<String>, Vec<Tensor>) = loaded.tensors.into_iter().unzip();
    let out = env.create_array(3)?;
    env.set_element(out, 0, strings(env, names.into_iter())?)?;
    env.set_element(out, 1, handle::wrap_list(env, tensors)?)?;
    env.set_element(out, 2, pairs(env, loaded.metadata)?)?;
    Ok(out)
}

/// `safetensorsHeader(path)` → JSON `{tensors: [[name, dtype, shape, bytes]...], metadata}`,
/// reading only the header.
pub fn safetensors_header(env: Env, info: CallbackInfo) -> Result<Value, JsError> {
    let path = args::string(env, info.arg(0), "path")?;
    let h = load::safetensors_header_file(Path::new(&path)).map_err(args::core_error)?;
    let tensors: Vec<serde_json::Value> = h
        .tensors
        .iter()
        .map(|t| serde_json::json!([t.name, t.dtype.numpy_name(), t.shape, t.data.len()]))
        .collect();
    let meta = h.metadata.map(|m| m.into_iter().map(|(k, v)| (k, serde_json::Value::String(v))).collect::<serde_json::Map<_, _>>());
    env.create_string(&serde_json::json!({ "tensors": tensors, "metadata": meta }).to_string())
}

fn tensor_list(env: Env, v: Value, what: &str) -> Result<Vec<Tensor>, JsError> {
    if !env.is_array(v)? {
        return Err(JsError::type_error("E_TYPE", format!("{what}: expected an array of tensors")));
    }
    (0..args::array_len(env, v, what)?).map(|i| handle::tensor_owned(env, env.get_element(v, i)?, &format!("{what}[{i}]"))).collect()
}

fn string_list(env: Env, v: Value, what: &str) -> Result<Vec<String>, JsError> {
    if !env.is_array(v)? {
        return Err(JsError::type_error("E_TYPE", format!("{what}: expected an array of strings")));
    }
    (0..args::array_len(env, v, what)?).map(|i| args::string(env, env.get_element(v, i)?, &format!("{what}[{i}]"))).collect()
}

/// A new Uint8Array of `len` bytes that `write` fills (the bytes are written in place, once).
/// The bytes are a core `Storage` lent to JS: large outputs then get huge pages (first touch of
/// a fresh 512 MiB buffer from V8's allocator alone took 1.4 s here, in 4 KiB page faults).
fn new_bytes(env: Env, len: usize, write: impl FnOnce(&mut [u8]) -> flaxen_core::Result<()>) -> Result<Value, JsError> {
    flaxen_core::storage::check_alloc(len, 1, "the output").map_err(args::core_error)?;
    let storage = Storage::try_uninit(len).map_err(args::core_error)?;
    storage.populate();
    let ptr = storage.as_mut_ptr();
    // SAFETY: the fresh storage has `len` writable bytes and is ours alone until handed to JS.
    let dst: &mut [u8] = if len == 0 { &mut [] } else { unsafe { std::slice::from_raw_parts_mut(ptr, len) } };
    write(dst).map_err(args::core_error)?;
    // SAFETY: the storage, given as owner, keeps the `len` bytes alive as long as the buffer
    // object; nothing in Rust refers to them after this call.
    let ab = unsafe { env.create_external_arraybuffer(ptr, len, storage)? };
    env.create_typedarray(TypedArrayType::Uint8, len, ab, 0)
}

/// `safetensorsSave(names, tensors, metadata | null, path | null)` → the file's bytes, or
/// undefined once written to `path`.
pub fn safetensors_save(env: Env, info: CallbackInfo) -> Result<Value, JsError> {
    let names = string_list(env, info.arg(0), "names")?;
    let tensors = tensor_list(env, info.arg(1), "tensors")?;
    if names.len() != tensors.len() {
        return Err(JsError::error("E_ARG", format!("safetensors.save: {} names for {} tensors", names.len(), tensors.len())));
    }
    let metadata = match env.type_of(info.arg(2))? {
        ValueType::Null | ValueType::Undefined => None,
        _ => {
            let flat = string_list(env, info.arg(2), "metadata")?;
            Some(flat.chunks(2).map(|kv| (kv[0].clone(), kv.get(1).cloned().unwrap_or_default())).collect::<Vec<_>>())
        }
    };
    let entries: Vec<(String, Tensor)> = names.into_iter().zip(tensors).collect();
    let metadata = metadata.as_deref();
    match env.type_of(info.arg(3))? {
        ValueType::Null | ValueType::Undefined => {
            let len = load::safetensors_len(&entries, metadata).map_err(args::core_error)?;
            new_bytes(env, len, |mut dst| load::safetensors_write(&entries, metadata, &mut dst))
        }
        _ => {
            let path = args::string(env, info.arg(3), "path")?;
            let io = |e: std::io::Error| JsError::error("E_IO", format!("safetensors.saveFile: cannot write '{path}': {e}"));
            let mut w = std::io::BufWriter::new(std::fs::File::create(&path).map_err(io)?);
            load::safetensors_write(&entries, metadata, &mut w).map_err(args::core_error)?;
            std::io::Write::flush(&mut w).map_err(io)?;
            env.undefined()
        }
    }
}

/// `msgpackRestore(source, abstractOnly)` → `[tagged JSON tree, tensors]`.
pub fn msgpack_restore(env: Env, info: CallbackInfo) -> Result<Value, JsError> {
    let abstract_only = args::boolean(env, info.arg(1), "abstractOnly")?;
    let r = match source(env, info.arg(0), "msgpackRestore")? {
        Source::Path(p) => load::msgpack_file(Path::new(&p), abstract_only),
        Source::Bytes(b) => load::msgpack_bytes(b, abstract_only),
    }
    .map_err(args::core_error)?;
    let out = env.create_array(2)?;
    env.set_element(out, 0, env.create_string(&r.json)?)?;
    env.set_element(out, 1, handle::wrap_list(env, r.tensors)?)?;
    Ok(out)
}

/// `msgpackSerialize(json, tensors, maxChunkSize)` → the bytes, written straight into the
/// ArrayBuffer returned.
pub fn msgpack_serialize(env: Env, info: CallbackInfo) -> Result<Value, JsError> {
    let json = args::string(env, info.arg(0), "tree")?;
    let tensors = tensor_list(env, info.arg(1), "tensors")?;
    let chunk = args::count(env, info.arg(2), "maxChunkSize")?;
    if chunk == 0 {
        return Err(JsError::error("E_ARG", "msgpackSerialize: maxChunkSize must be at least 1"));
    }
    let tree = load::tree_from_json(&json, &tensors).map_err(args::core_error)?;
    let opts = msgpack::WriteOptions { max_chunk_size: chunk as u64 };
    let len = msgpack::encoded_len(&tree, opts).map_err(args::core_error)?;
    let len = usize::try_from(len).map_err(|_| JsError::range_error("E_ALLOC", "msgpackSerialize: the output is larger than the address space"))?;
    new_bytes(env, len, |mut dst| msgpack::write_to(&tree, opts, &mut dst))
}
