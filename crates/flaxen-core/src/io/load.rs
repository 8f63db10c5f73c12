//! Whole weights files to and from tensors. safetensors files are mapped (a private
//! copy-on-write mapping, so N processes share the page cache and a write through a tensor's
//! view never reaches the file) and aligned tensors borrow the mapping. Flax msgpack files are
//! read once into one buffer; each array is then moved back in place to an address its element
//! type suits (over header bytes already parsed; chunks are joined the same way), and borrowed
//! from that buffer: the file is held once, and no array is copied a second time.
//!
//! A msgpack tree crosses to JS as tagged JSON (`tree_json`): maps, lists and leaves, with each
//! array as an index into a list of tensors.

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use super::msgpack::{self, Array, ArrayData, Value};
use super::tensors::{save_dtype, to_tensor, Source};
use super::{offset_in, safetensors, FileDType};
use crate::error::{Error, ErrorCode, Result};
use crate::storage::Storage;
use crate::tensor::Tensor;

/// A loaded safetensors file: tensors by name (header order) and `__metadata__`.
pub struct Loaded {
    pub tensors: Vec<(String, Tensor)>,
    pub metadata: Option<Vec<(String, String)>>,
}

fn io_error(path: &Path, what: &str, e: std::io::Error) -> Error {
    let code = if e.kind() == std::io::ErrorKind::NotFound {
        ErrorCode::NotFound
    } else {
        ErrorCode::Io
    };
    Error::new(code, format!("cannot {what} '{}': {e}", path.display()))
}

/// A private copy-on-write mapping of `path` (None for an empty file, which cannot be mapped).
fn map_file(path: &Path) -> Result<Option<memmap2::MmapMut>> {
    let f = File::open(path).map_err(|e| io_error(path, "open", e))?;
    let len = f.metadata().map_err(|e| io_error(path, "read", e))?.len();
    if len == 0 {
        return Ok(None);
    }
    // SAFETY: a private mapping: our writes never reach the file or other processes. Another
    // process truncating the file while it is mapped would fault on access; that is the caveat
    // of every mapped loader (Python's safetensors included) and outside what a file can do.
    let m = unsafe { memmap2::MmapOptions::new().map_copy(&f) }
        .map_err(|e| io_error(path, "map", e))?;
    Ok(Some(m))
}

/// `safetensors.loadFile`: tensors borrow the mapping where aligned.
pub fn safetensors_file(path: &Path) -> Result<Loaded> {
    let Some(map) = map_file(path)? else {
        return safetensors_bytes(&[], None);
    };
    let map = Arc::new(map);
    let keeper: Arc<dyn Send + Sync> = map.clone();
    safetensors_bytes(&map[..], Some(&keeper))
}

/// `safetensors.load`: `bytes` a whole file; with a keeper, tensors may borrow `bytes`.
pub fn safetensors_bytes(bytes: &[u8], keeper: Option<&Arc<dyn Send + Sync>>) -> Result<Loaded> {
    let header = safetensors::parse(bytes)?;
    let mut tensors = Vec::with_capacity(header.tensors.len());
    for t in &header.tensors {
        let src = Source {
            bytes: &bytes[t.data.clone()],
            keeper,
        };
        tensors.push((
            t.name.clone(),
            to_tensor(
                t.dtype,
                &t.shape,
                src,
                &format!("safetensors: tensor '{}'", t.name),
            )?,
        ));
    }
    Ok(Loaded {
        tensors,
        metadata: header.metadata,
    })
}

/// The entries `safetensors::prepare` and `write_to` take, borrowing the tensors' bytes.
fn entries(tensors: &[(String, Tensor)]) -> Vec<safetensors::TensorEntry<'_>> {
    tensors
        .iter()
        .map(|(name, t)| safetensors::TensorEntry {
            name,
            dtype: save_dtype(t.dtype()),
            shape: t.shape(),
            data: t.as_bytes(),
        })
        .collect()
}

/// The byte length of the safetensors file for `tensors` (names unique) and metadata; also
/// validates them, so a writer can size its output before writing.
pub fn safetensors_len(
    tensors: &[(String, Tensor)],
    metadata: Option<&[(String, String)]>,
) -> Result<usize> {
    Ok(safetensors::prepare(&entries(tensors), metadata)?.total_len())
}

/// `safetensors.save`: writes the file for `tensors` to `w`, streaming each tensor's bytes.
pub fn safetensors_write<W: std::io::Write>(
    tensors: &[(String, Tensor)],
    metadata: Option<&[(String, String)]>,
    w: &mut W,
) -> Result<()> {
    safetensors::write_to(&entries(tensors), metadata, w)
}

/// `safetensors` header of the file at `path`, reading only the header (for `flaxen inspect`).
pub fn safetensors_header_file(path: &Path) -> Result<safetensors::Header> {
    use std::io::Read;
    let mut f = File::open(path).map_err(|e| io_error(path, "open", e))?;
    let len = f.metadata().map_err(|e| io_error(path, "read", e))?.len();
    let mut n = [0u8; 8];
    let got = f.read(&mut n).map_err(|e| io_error(path, "read", e))?;
    let want = if got == 8 {
        u64::from_le_bytes(n)
            .min(safetensors::MAX_HEADER_SIZE as u64 + 1)
            .min(len.saturating_sub(8))
    } else {
        0
    };
    let mut head = n[..got].to_vec();
    head.resize(got + want as usize, 0);
    f.read_exact(&mut head[got..])
        .map_err(|e| io_error(path, "read", e))?;
    safetensors::parse_header(&head, len)
}

// ---- Flax msgpack --------------------------------------------------------------------------

/// A restored msgpack tree: tagged JSON (see `tree_json`) and the tensors it indexes.
pub struct Restored {
    pub json: String,
    pub tensors: Vec<Tensor>,
}

/// An array found while writing the JSON: where its bytes are in the buffer.
struct Pending {
    dtype: FileDType,
    shape: Vec<usize>,
    /// (offset, length) of each piece in the buffer, in order (one unless it was chunked).
    pieces: Vec<(usize, usize)>,
}

/// `msgpack_restore` of the file at `path`. `abstract_only`: arrays become their dtype and
/// shape (nothing is copied; for `flaxen inspect`).
pub fn msgpack_file(path: &Path, abstract_only: bool) -> Result<Restored> {
    use std::io::Read;
    if abstract_only {
        let map = map_file(path)?;
        return msgpack_abstract(map.as_deref().unwrap_or(&[]));
    }
    let mut f = File::open(path).map_err(|e| io_error(path, "open", e))?;
    let len = f.metadata().map_err(|e| io_error(path, "read", e))?.len();
    let len = usize::try_from(len).map_err(|_| {
        Error::alloc(format!(
            "'{}' is larger than the address space",
            path.display()
        ))
    })?;
    let buf = Storage::try_uninit(len)?;
    buf.populate();
    // SAFETY: `buf` is fresh, `len` bytes, ours alone; every byte is written by read_exact.
    let dst = unsafe { std::slice::from_raw_parts_mut(buf.as_mut_ptr(), len) };
    f.read_exact(dst).map_err(|e| io_error(path, "read", e))?;
    msgpack_owned(buf)
}

/// `msgpack_restore(bytes)`: the bytes are copied once into a buffer the tensors borrow.
pub fn msgpack_bytes(bytes: &[u8], abstract_only: bool) -> Result<Restored> {
    if abstract_only {
        return msgpack_abstract(bytes);
    }
    let buf = Storage::try_uninit(bytes.len())?;
    buf.populate();
    // SAFETY: `buf` is fresh and exactly bytes.len() long.
    unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), buf.as_mut_ptr(), bytes.len()) };
    msgpack_owned(buf)
}

fn msgpack_abstract(bytes: &[u8]) -> Result<Restored> {
    let v = msgpack::restore(bytes)?;
    let mut json = String::new();
    tree_json(
        &v,
        &mut json,
        &mut |a, out| {
            out.push_str(&format!(
                "[\"a\",\"{}\",{:?}]",
                a.dtype.numpy_name(),
                a.shape
            ));
            Ok(())
        },
        0,
    )?;
    Ok(Restored {
        json,
        tensors: Vec::new(),
    })
}

fn msgpack_owned(buf: Storage) -> Result<Restored> {
    let (json, pending) = {
        let bytes = buf.as_bytes();
        let v = msgpack::restore(bytes)?;
        let mut pending: Vec<Pending> = Vec::new();
        let mut json = String::new();
        tree_json(
            &v,
            &mut json,
            &mut |a, out| {
                let pieces: Vec<&[u8]> = match &a.data {
                    ArrayData::Borrowed(b) => vec![b],
                    ArrayData::Chunked(c) => c.clone(),
                    ArrayData::Owned(_) => unreachable!("restore borrows every array"),
                };
                let pieces = pieces
                    .iter()
                    .map(|p| {
                        (
                            offset_in(bytes, p).expect("arrays lie in the buffer"),
                            p.len(),
                        )
                    })
                    .collect();
                out.push_str(&format!("[\"t\",{}]", pending.len()));
                pending.push(Pending {
                    dtype: a.dtype,
                    shape: a.shape.clone(),
                    pieces,
                });
                Ok(())
            },
            0,
        )?;
        (json, pending)
    };
    // Move each array back to an address its elements suit, joining chunks, over bytes already
    // parsed. Arrays are visited in buffer order and never moved below the previous one's end.
    let len = buf.len();
    // SAFETY: nothing borrows `buf` now (the tree was dropped) and no tensor shares it yet.
    let whole = unsafe { std::slice::from_raw_parts_mut(buf.as_mut_ptr(), len) };
    let mut order: Vec<usize> = (0..pending.len()).collect();
    order.sort_by_key(|&i| pending[i].pieces.first().map_or(0, |p| p.0));
    let mut floor = 0usize;
    let mut placed: Vec<Option<(usize, usize)>> = vec![None; pending.len()];
    for i in order {
        let p = &pending[i];
        let total: usize = p.pieces.iter().map(|x| x.1).sum();
        let Some(&(first, _)) = p.pieces.first() else {
            continue;
        };
        let align = p.dtype.numpy_itemsize().clamp(1, 4) as usize;
        let dest = first - first % align;
        if dest < floor {
            continue; // copied when its tensor is made
        }
        let mut at = dest;
        for &(off, n) in &p.pieces {
            whole.copy_within(off..off + n, at);
            at += n;
        }
        placed[i] = Some((dest, total));
        floor = at;
    }
    let buf = Arc::new(buf);
    let keeper: Arc<dyn Send + Sync> = buf.clone();
    let bytes = buf.as_bytes();
    let mut tensors = Vec::with_capacity(pending.len());
    for (i, p) in pending.iter().enumerate() {
        let what = format!(
            "msgpack: array {i} ({} {:?})",
            p.dtype.numpy_name(),
            p.shape
        );
        let t = match placed[i] {
            Some((at, n)) => to_tensor(
                p.dtype,
                &p.shape,
                Source {
                    bytes: &bytes[at..at + n],
                    keeper: Some(&keeper),
                },
                &what,
            )?,
            None => {
                let joined: Vec<u8> = p
                    .pieces
                    .iter()
                    .flat_map(|&(o, n)| bytes[o..o + n].iter().copied())
                    .collect();
                to_tensor(
                    p.dtype,
                    &p.shape,
                    Source {
                        bytes: &joined,
                        keeper: None,
                    },
                    &what,
                )?
            }
        };
        tensors.push(t);
    }
    Ok(Restored { json, tensors })
}

/// Most nested levels `tree_json` writes (msgpack's own limit, plus the root).
const MAX_JSON_DEPTH: usize = msgpack::MAX_DEPTH + 1;

fn push_f64(x: f64, out: &mut String) {
    if x.is_finite() {
        out.push_str(&serde_json::to_string(&x).expect("a finite float serialises"));
    } else {
        out.push_str(if x.is_nan() {
            "[\"f\",\"NaN\"]"
        } else if x > 0.0 {
            "[\"f\",\"Infinity\"]"
        } else {
            "[\"f\",\"-Infinity\"]"
        });
    }
}

fn push_hex(b: &[u8], out: &mut String) {
    out.push('"');
    for x in b {
        out.push_str(&format!("{x:02x}"));
    }
    out.push('"');
}

/// The tree as tagged JSON: a map is `["m", key, value, ...]`, a list `["l", ...]`; numbers,
/// strings, booleans and null are themselves, except non-finite floats (`["f", "NaN"]`) and
/// ints beyond 2^53 (`["i", "digits"]`); bytes are `["b", hex]`, complex `["c", re, im]`,
/// another ext `["x", code, hex]`; arrays are whatever `array` writes.
fn tree_json(
    v: &Value<'_>,
    out: &mut String,
    array: &mut dyn FnMut(&Array<'_>, &mut String) -> Result<()>,
    depth: usize,
) -> Result<()> {
    if depth > MAX_JSON_DEPTH {
        return Err(Error::arg("msgpack: the tree nests too deep"));
    }
    const SAFE: i64 = 1 << 53;
    match v {
        Value::Nil => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) if (-SAFE..=SAFE).contains(i) => out.push_str(&i.to_string()),
        Value::Int(i) => out.push_str(&format!("[\"i\",\"{i}\"]")),
        Value::UInt(u) => out.push_str(&format!("[\"i\",\"{u}\"]")),
        Value::Float(x) => push_f64(*x, out),
        Value::Str(s) => out.push_str(&serde_json::to_string(s).expect("a str serialises")),
        Value::Bin(b) => {
            out.push_str("[\"b\",");
            push_hex(b, out);
            out.push(']');
        }
        Value::Array(a) => array(a, out)?,
        Value::Complex(re, im) => {
            out.push_str("[\"c\",");
            push_f64(*re, out);
            out.push(',');
            push_f64(*im, out);
            out.push(']');
        }
        Value::Ext(e) => {
            out.push_str(&format!("[\"x\",{},", e.0));
            push_hex(&e.1, out);
            out.push(']');
        }
        Value::List(items) => {
            out.push_str("[\"l\"");
            for x in items {
                out.push(',');
                tree_json(x, out, array, depth + 1)?;
            }
            out.push(']');
        }
        Value::Map(entries) => {
            out.push_str("[\"m\"");
            for (k, x) in entries {
                out.push(',');
                out.push_str(&serde_json::to_string(k).expect("a str serialises"));
                out.push(',');
                tree_json(x, out, array, depth + 1)?;
            }
            out.push(']');
        }
    }
    Ok(())
}

/// The msgpack tree `json` (tagged as `tree_json` writes it, arrays as `["t", i]`, floats as
/// `["F", hex of their 8 little-endian bytes]`) describes,
/// its arrays borrowing `tensors[i]`'s bytes: what `msgpack::write_to` writes.
pub fn tree_from_json<'a>(json: &str, tensors: &'a [Tensor]) -> Result<Value<'a>> {
    let j: serde_json::Value = serde_json::from_str(json).map_err(|e| {
        Error::arg(format!("msgpackSerialize: the tree could not be read ({e}); it nests deeper than about 120 levels, or is not a tree"))
    })?;
    value_of(&j, tensors)
}

fn value_of<'a>(j: &serde_json::Value, tensors: &'a [Tensor]) -> Result<Value<'a>> {
    use serde_json::Value as J;
    let bad = |what: &str| Error::arg(format!("msgpackSerialize: malformed tree node ({what})"));
    Ok(match j {
        J::Null => Value::Nil,
        J::Bool(b) => Value::Bool(*b),
        J::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => Value::Int(i),
            (None, Some(u), _) => Value::UInt(u),
            (_, _, Some(x)) => Value::Float(x),
            _ => return Err(bad("number")),
        },
        J::String(s) => Value::Str(s.clone()),
        J::Object(_) => return Err(bad("object")),
        J::Array(items) => {
            let tag = items
                .first()
                .and_then(J::as_str)
                .ok_or_else(|| bad("untagged array"))?;
            let rest = &items[1..];
            // the string a tag carries (float bits, digits, hex bytes)
            let text = |what: &str| rest.first().and_then(J::as_str).ok_or_else(|| bad(what));
            match tag {
                "m" => {
                    if rest.len() % 2 != 0 {
                        return Err(bad("map with a key and no value"));
                    }
                    let mut entries = Vec::with_capacity(rest.len() / 2);
                    for kv in rest.chunks_exact(2) {
                        let k = kv[0].as_str().ok_or_else(|| bad("map key"))?;
                        entries.push((k.to_string(), value_of(&kv[1], tensors)?));
                    }
                    Value::Map(entries)
                }
                "l" => Value::List(
                    rest.iter()
                        .map(|x| value_of(x, tensors))
                        .collect::<Result<_>>()?,
                ),
                "t" => {
                    let i = rest
                        .first()
                        .and_then(J::as_u64)
                        .ok_or_else(|| bad("tensor index"))? as usize;
                    let t = tensors
                        .get(i)
                        .ok_or_else(|| bad("tensor index out of range"))?;
                    Value::Array(Box::new(Array {
                        dtype: save_dtype(t.dtype()),
                        shape: t.shape().to_vec(),
                        data: ArrayData::Borrowed(t.as_bytes()),
                        scalar: false,
                    }))
                }
                // a float by its bits (exact, whatever JSON parsing would round)
                "F" => {
                    let b: [u8; 8] = unhex(text("float bits")?)
                        .and_then(|v| v.try_into().ok())
                        .ok_or_else(|| bad("float bits"))?;
                    Value::Float(f64::from_le_bytes(b))
                }
                "i" => {
                    let s = text("int")?;
                    match (s.parse::<i64>(), s.parse::<u64>()) {
                        (Ok(i), _) => Value::Int(i),
                        (_, Ok(u)) => Value::UInt(u),
                        _ => {
                            return Err(Error::new(
                                ErrorCode::Range,
                                format!(
                                "msgpackSerialize: the integer {s} does not fit msgpack's 64 bits"
                            ),
                            ))
                        }
                    }
                }
                "b" => Value::Bin(unhex(text("bytes")?).ok_or_else(|| bad("bytes"))?.into()),
                _ => return Err(bad("unknown tag")),
            }
        }
    })
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}
