//! Flax's msgpack (`flax.serialization`): a msgpack tree of maps with string keys whose leaves
//! are msgpack scalars, strings, bytes, and numpy arrays as extension types:
//! ext 1 = ndarray, payload `packb([shape ints, dtype name, C-order bytes])`; ext 3 = numpy
//! scalar, same payload with shape `[]`; ext 2 = Python complex, payload `packb([re, im])`.
//! Arrays over `MAX_CHUNK_SIZE` bytes that are dict values (or the root) are written as
//! `{"__msgpack_chunked_array__": true, "shape": {"0": d0, ...}, "chunks": {"0": ext1, ...}}`.
//!
//! [`restore`] is `msgpack_restore`: iterative (no recursion on the input's nesting), at most
//! 1024 nested containers (msgpack-python's own limit), every length checked against the bytes
//! left before anything is reserved, arrays returned as slices of the input (no copy; a
//! chunked array as the list of its chunks' slices). [`serialize`] is `msgpack_serialize` /
//! `to_bytes`: the same bytes as Flax for the same tree (msgpack-python's smallest int forms,
//! floats as float 64, `use_bin_type`, map order as given).

use super::{err, show_name, show_shape, FileDType, FileError};
use crate::error::{Error, Result};
use std::borrow::Cow;

/// Flax's `MAX_CHUNK_SIZE`: arrays with more bytes than this are chunked when written.
pub const MAX_CHUNK_SIZE: u64 = 1 << 30;
/// Most containers nested in one another (msgpack-python's limit, reading and writing).
pub const MAX_DEPTH: usize = 1024;
/// The marker key of a chunked array.
pub const CHUNKED_KEY: &str = "__msgpack_chunked_array__";

/// Flax's msgpack extension type codes.
pub const EXT_NDARRAY: i8 = 1;
pub const EXT_COMPLEX: i8 = 2;
pub const EXT_NPSCALAR: i8 = 3;

/// A node of a Flax msgpack tree. Bytes borrow the input when parsed (`'a`), or the caller's
/// buffers when written.
#[derive(Clone, Debug, PartialEq)]
pub enum Value<'a> {
    Nil,
    Bool(bool),
    /// A Python int that fits i64.
    Int(i64),
    /// A Python int over i64::MAX (up to u64::MAX). Parsing yields `Int` whenever it fits.
    UInt(u64),
    /// A Python float (always written as float 64; a float 32 read is widened, as Python does).
    Float(f64),
    Str(String),
    Bin(Cow<'a, [u8]>),
    /// A numpy array (ext 1) or numpy scalar (ext 3), reassembled if it was chunked.
    Array(Box<Array<'a>>),
    /// A Python complex (ext 2).
    Complex(f64, f64),
    /// Any other extension type, kept as is (msgpack-python returns an `ExtType`).
    Ext(Box<(i8, Cow<'a, [u8]>)>),
    /// A msgpack array (Python list).
    List(Vec<Value<'a>>),
    /// A msgpack map with string keys, in file order (Python dict).
    Map(Vec<(String, Value<'a>)>),
}

/// A numpy array leaf.
#[derive(Clone, Debug, PartialEq)]
pub struct Array<'a> {
    pub dtype: FileDType,
    pub shape: Vec<usize>,
    pub data: ArrayData<'a>,
    /// A numpy scalar (`np.float32(1.5)`, ext 3) rather than an array (ext 1).
    pub scalar: bool,
}

/// An array's C-order, little-endian bytes. Equality compares the bytes, however held.
#[derive(Clone, Debug)]
pub enum ArrayData<'a> {
    Borrowed(&'a [u8]),
    /// The chunks of a chunked array, in order: the array is their concatenation. Left
    /// unconcatenated so a binding copies once, into the tensor it makes.
    Chunked(Vec<&'a [u8]>),
    Owned(Vec<u8>),
}

impl PartialEq for ArrayData<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.to_cow() == other.to_cow()
    }
}

impl<'a> ArrayData<'a> {
    pub fn len(&self) -> usize {
        match self {
            ArrayData::Borrowed(b) => b.len(),
            ArrayData::Chunked(c) => c.iter().map(|b| b.len()).sum(),
            ArrayData::Owned(v) => v.len(),
        }
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The bytes as one slice, when they are one (not chunked, or a single chunk).
    pub fn contiguous(&self) -> Option<&[u8]> {
        match self {
            ArrayData::Borrowed(b) => Some(b),
            ArrayData::Owned(v) => Some(v),
            ArrayData::Chunked(c) if c.len() == 1 => Some(c[0]),
            ArrayData::Chunked(c) if c.is_empty() => Some(&[]),
            ArrayData::Chunked(_) => None,
        }
    }
    /// Copies the bytes into `dst`, which must be exactly `len()` long.
    pub fn copy_to(&self, dst: &mut [u8]) {
        assert_eq!(
            dst.len(),
            self.len(),
            "ArrayData::copy_to: wrong destination length"
        );
        match self {
            ArrayData::Borrowed(b) => dst.copy_from_slice(b),
            ArrayData::Owned(v) => dst.copy_from_slice(v),
            ArrayData::Chunked(c) => {
                let mut at = 0;
                for b in c {
                    dst[at..at + b.len()].copy_from_slice(b);
                    at += b.len();
                }
            }
        }
    }
    /// The bytes as one slice, concatenating chunks if needed.
    pub fn to_cow(&self) -> Cow<'_, [u8]> {
        match self.contiguous() {
            Some(b) => Cow::Borrowed(b),
            None => {
                let mut v = vec![0; self.len()];
                self.copy_to(&mut v);
                Cow::Owned(v)
            }
        }
    }
    /// Calls `f` on the pieces of the byte range `[from, to)` of the concatenated data.
    fn for_range(
        &self,
        from: usize,
        to: usize,
        f: &mut dyn FnMut(&[u8]) -> Result<()>,
    ) -> Result<()> {
        match self {
            ArrayData::Borrowed(b) => f(&b[from..to]),
            ArrayData::Owned(v) => f(&v[from..to]),
            ArrayData::Chunked(c) => {
                let mut base = 0;
                for b in c {
                    let (lo, hi) = (base, base + b.len());
                    base = hi;
                    let (s, e) = (from.max(lo), to.min(hi));
                    if s < e {
                        f(&b[s - lo..e - lo])?;
                    }
                    if hi >= to {
                        break;
                    }
                }
                Ok(())
            }
        }
    }
}

impl Array<'_> {
    /// Number of elements.
    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }
    /// Bytes the shape and dtype imply (numpy itemsize), or None on overflow.
    pub fn expected_bytes(&self) -> Option<usize> {
        numpy_bytes(self.dtype, &self.shape)
    }
}

impl<'a> Value<'a> {
    /// The value under `key` in a map.
    pub fn get(&self, key: &str) -> Option<&Value<'a>> {
        match self {
            Value::Map(m) => m.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }
    /// A short name of the kind of value, for messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Nil => "nil",
            Value::Bool(_) => "bool",
            Value::Int(_) | Value::UInt(_) => "int",
            Value::Float(_) => "float",
            Value::Str(_) => "str",
            Value::Bin(_) => "bytes",
            Value::Array(a) if a.scalar => "numpy scalar",
            Value::Array(_) => "ndarray",
            Value::Complex(..) => "complex",
            Value::Ext(_) => "ext",
            Value::List(_) => "list",
            Value::Map(_) => "dict",
        }
    }
    /// Sorts every map's keys, as `flax.serialization.msgpack_serialize(tree)` does by default
    /// (its copy goes through `jax.tree_util.tree_map`, which rebuilds dicts in sorted key
    /// order; `to_bytes` passes `in_place=True` and keeps insertion order). Python sorts str
    /// by code point, the same as UTF-8 byte order.
    pub fn sort_keys(&mut self) {
        let mut stack: Vec<&mut Value<'a>> = vec![self];
        while let Some(v) = stack.pop() {
            match v {
                Value::Map(m) => {
                    m.sort_by(|a, b| a.0.cmp(&b.0));
                    stack.extend(m.iter_mut().map(|(_, v)| v));
                }
                Value::List(l) => stack.extend(l.iter_mut()),
                _ => {}
            }
        }
    }
}

fn numpy_bytes(dtype: FileDType, shape: &[usize]) -> Option<usize> {
    shape
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))?
        .checked_mul(dtype.numpy_itemsize() as usize)
}

// ---- reading ----------------------------------------------------------------------------------

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

fn truncated(what: &str, need: u64, at: usize, left: usize) -> Error {
    err(
        FileError::MsgpackTruncated,
        format!("msgpack: {what} at byte {at} needs {need} bytes, {left} are left (truncated)"),
    )
}

impl<'a> Reader<'a> {
    fn left(&self) -> usize {
        self.buf.len() - self.pos
    }
    fn take(&mut self, n: u64, what: &str) -> Result<&'a [u8]> {
        if n > self.left() as u64 {
            return Err(truncated(what, n, self.pos, self.left()));
        }
        let s = &self.buf[self.pos..self.pos + n as usize];
        self.pos += n as usize;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1, "a type byte")?[0])
    }
    fn be(&mut self, n: u64) -> Result<u64> {
        let b = self.take(n, "a number")?;
        Ok(b.iter().fold(0u64, |a, &x| (a << 8) | x as u64))
    }
}

/// One msgpack item's head: a scalar complete in itself, or the start of a container.
enum Head<'a> {
    Leaf(Value<'a>),
    /// A str: kept apart so map keys need no conversion.
    Str(&'a [u8]),
    List(u64),
    Map(u64),
    Ext(i8, &'a [u8]),
}

fn read_head<'a>(r: &mut Reader<'a>) -> Result<Head<'a>> {
    let at = r.pos;
    let b = r.u8()?;
    Ok(match b {
        0x00..=0x7f => Head::Leaf(Value::Int(b as i64)),
        0x80..=0x8f => Head::Map((b & 0x0f) as u64),
        0x90..=0x9f => Head::List((b & 0x0f) as u64),
        0xa0..=0xbf => Head::Str(r.take((b & 0x1f) as u64, "a str")?),
        0xc0 => Head::Leaf(Value::Nil),
        0xc1 => {
            return Err(err(
                FileError::MsgpackInvalidByte,
                format!("msgpack: byte {at} is 0xc1, which msgpack never uses"),
            ))
        }
        0xc2 => Head::Leaf(Value::Bool(false)),
        0xc3 => Head::Leaf(Value::Bool(true)),
        0xc4..=0xc6 => {
            let n = r.be(1 << (b - 0xc4))?;
            Head::Leaf(Value::Bin(Cow::Borrowed(r.take(n, "a bin")?)))
        }
        0xc7..=0xc9 => {
            let n = r.be(1 << (b - 0xc7))?;
            let t = r.take(1, "an ext type")?[0] as i8;
            Head::Ext(t, r.take(n, "an ext")?)
        }
        0xca => Head::Leaf(Value::Float(f32::from_bits(r.be(4)? as u32) as f64)),
        0xcb => Head::Leaf(Value::Float(f64::from_bits(r.be(8)?))),
        0xcc..=0xcf => {
            let v = r.be(1 << (b - 0xcc))?;
            Head::Leaf(if v <= i64::MAX as u64 {
                Value::Int(v as i64)
            } else {
                Value::UInt(v)
            })
        }
        0xd0..=0xd3 => {
            let n = 1u32 << (b - 0xd0);
            let v = r.be(n as u64)?;
            // sign-extend from n bytes
            let shift = 64 - 8 * n;
            Head::Leaf(Value::Int(((v << shift) as i64) >> shift))
        }
        0xd4..=0xd8 => {
            let t = r.take(1, "an ext type")?[0] as i8;
            Head::Ext(t, r.take(1 << (b - 0xd4), "a fixext")?)
        }
        0xd9..=0xdb => {
            let n = r.be(1 << (b - 0xd9))?;
            Head::Str(r.take(n, "a str")?)
        }
        0xdc | 0xdd => Head::List(r.be(if b == 0xdc { 2 } else { 4 })?),
        0xde | 0xdf => Head::Map(r.be(if b == 0xde { 2 } else { 4 })?),
        0xe0..=0xff => Head::Leaf(Value::Int((b as i8) as i64)),
    })
}

fn utf8(b: &[u8], at: usize) -> Result<&str> {
    std::str::from_utf8(b).map_err(|e| {
        err(
            FileError::MsgpackInvalidUtf8,
            format!("msgpack: the str ending before byte {at} is not UTF-8 ({e})"),
        )
    })
}

enum Frame<'a> {
    List {
        items: Vec<Value<'a>>,
        left: u64,
    },
    Map {
        entries: Vec<(String, Value<'a>)>,
        left: u64,
        key: Option<String>,
    },
}

/// `flax.serialization.msgpack_restore`: parses `buf` (one msgpack object, nothing after it)
/// and reassembles chunked arrays. Arrays borrow `buf`.
pub fn restore(buf: &[u8]) -> Result<Value<'_>> {
    let mut v = parse(buf)?;
    unchunk_tree(&mut v)?;
    Ok(v)
}

/// Parses one msgpack object (Flax's ext types decoded) without reassembling chunked arrays.
pub fn parse(buf: &[u8]) -> Result<Value<'_>> {
    let mut r = Reader { buf, pos: 0 };
    let v = parse_one(&mut r)?;
    if r.left() > 0 {
        return Err(err(
            FileError::MsgpackTrailingData,
            format!(
                "msgpack: {} bytes after the end of the object at byte {}",
                r.left(),
                r.pos
            ),
        ));
    }
    Ok(v)
}

fn parse_one<'a>(r: &mut Reader<'a>) -> Result<Value<'a>> {
    let mut stack: Vec<Frame<'a>> = Vec::new();
    // Bytes the open containers are still owed: each element after the one in progress takes
    // at least one byte (a map entry two). Checked with a new container's count against the
    // bytes left, so the vectors reserved across all open containers never exceed the input
    // (counting each container alone would let 1024 nested ones each reserve the rest).
    let mut owed: u64 = 0;
    loop {
        let want_key = matches!(stack.last(), Some(Frame::Map { key: None, .. }));
        let at = r.pos;
        let head = read_head(r)?;
        if want_key {
            let Head::Str(s) = head else {
                return Err(err(
                    FileError::MsgpackKeyType,
                    format!("msgpack: the map key at byte {at} is not a str"),
                ));
            };
            let key = utf8(s, r.pos)?.to_owned();
            if let Some(Frame::Map { key: k, .. }) = stack.last_mut() {
                *k = Some(key);
            }
            continue;
        }
        let mut v = match head {
            Head::Leaf(v) => v,
            Head::Str(s) => Value::Str(utf8(s, r.pos)?.to_owned()),
            Head::Ext(t, payload) => ext(t, payload, at)?,
            Head::List(n) | Head::Map(n) => {
                let is_map = matches!(head, Head::Map(_));
                if n == 0 {
                    if stack.len() >= MAX_DEPTH {
                        return Err(too_deep(at));
                    }
                    if is_map {
                        Value::Map(Vec::new())
                    } else {
                        Value::List(Vec::new())
                    }
                } else {
                    if stack.len() >= MAX_DEPTH {
                        return Err(too_deep(at));
                    }
                    // Each element takes at least one byte (two for a map entry): a count
                    // beyond that is a lie, refused before anything is reserved.
                    let min: u64 = if is_map { 2 } else { 1 };
                    if n > (r.left() as u64).saturating_sub(owed) / min {
                        return Err(truncated(
                            if is_map { "a map" } else { "an array" },
                            n * min + owed,
                            at,
                            r.left(),
                        ));
                    }
                    owed += (n - 1) * min;
                    stack.push(if is_map {
                        Frame::Map {
                            entries: Vec::with_capacity(n as usize),
                            left: n,
                            key: None,
                        }
                    } else {
                        Frame::List {
                            items: Vec::with_capacity(n as usize),
                            left: n,
                        }
                    });
                    continue;
                }
            }
        };
        // Hand the finished value to its parent, closing every container it completes.
        loop {
            match stack.last_mut() {
                None => return Ok(v),
                Some(Frame::List { items, left }) => {
                    items.push(v);
                    *left -= 1;
                    if *left > 0 {
                        owed -= 1;
                        break;
                    }
                    let Some(Frame::List { items, .. }) = stack.pop() else {
                        unreachable!()
                    };
                    v = Value::List(items);
                }
                Some(Frame::Map { entries, left, key }) => {
                    entries.push((key.take().expect("a key precedes every map value"), v));
                    *left -= 1;
                    if *left > 0 {
                        owed -= 2;
                        break;
                    }
                    let Some(Frame::Map { entries, .. }) = stack.pop() else {
                        unreachable!()
                    };
                    check_unique_keys(&entries)?;
                    v = Value::Map(entries);
                }
            }
        }
    }
}

fn too_deep(at: usize) -> Error {
    err(
        FileError::MsgpackTooDeep,
        format!("msgpack: containers nest deeper than {MAX_DEPTH} at byte {at}"),
    )
}

fn check_unique_keys(entries: &[(String, Value<'_>)]) -> Result<()> {
    let dup = if entries.len() <= 8 {
        let mut d = None;
        'o: for i in 0..entries.len() {
            for j in 0..i {
                if entries[i].0 == entries[j].0 {
                    d = Some(entries[i].0.as_str());
                    break 'o;
                }
            }
        }
        d
    } else {
        let mut keys: Vec<&str> = entries.iter().map(|(k, _)| k.as_str()).collect();
        keys.sort_unstable();
        keys.windows(2).find(|w| w[0] == w[1]).map(|w| w[0])
    };
    match dup {
        Some(k) => Err(err(
            FileError::MsgpackDuplicateKey,
            format!(
                "msgpack: the key '{}' appears twice in one map",
                show_name(k)
            ),
        )),
        None => Ok(()),
    }
}

fn ext_err(at: usize, what: impl std::fmt::Display) -> Error {
    err(
        FileError::MsgpackExt,
        format!("msgpack: the ext at byte {at}: {what}"),
    )
}

/// Decodes an extension value as Flax's `_msgpack_ext_unpack` does.
fn ext(t: i8, payload: &[u8], at: usize) -> Result<Value<'_>> {
    match t {
        EXT_NDARRAY | EXT_NPSCALAR => Ok(Value::Array(Box::new(ndarray(
            payload,
            t == EXT_NPSCALAR,
            at,
        )?))),
        EXT_COMPLEX => {
            let mut r = Reader {
                buf: payload,
                pos: 0,
            };
            let bad = || ext_err(at, "a complex (ext 2) must be [real, imag]");
            let Head::List(2) = read_head(&mut r).map_err(|_| bad())? else {
                return Err(bad());
            };
            let mut num = || -> Result<f64> {
                match read_head(&mut r).map_err(|_| bad())? {
                    Head::Leaf(Value::Float(f)) => Ok(f),
                    Head::Leaf(Value::Int(i)) => Ok(i as f64),
                    Head::Leaf(Value::UInt(u)) => Ok(u as f64),
                    _ => Err(bad()),
                }
            };
            let (re, im) = (num()?, num()?);
            if r.left() != 0 {
                return Err(bad());
            }
            Ok(Value::Complex(re, im))
        }
        _ => Ok(Value::Ext(Box::new((t, Cow::Borrowed(payload))))),
    }
}

/// `_ndarray_from_bytes`: `unpackb(payload, raw=True)` must be exactly `(shape, dtype name,
/// buffer)`; numpy then checks the buffer against the shape. The dtype name and the buffer may
/// be str or bin (raw=True reads both as bytes).
fn ndarray(payload: &[u8], scalar: bool, at: usize) -> Result<Array<'_>> {
    let mut r = Reader {
        buf: payload,
        pos: 0,
    };
    let what = if scalar {
        "numpy scalar (ext 3)"
    } else {
        "ndarray (ext 1)"
    };
    let bad = |m: &str| ext_err(at, format!("the {what} payload {m}"));
    match read_head(&mut r) {
        Ok(Head::List(3)) => {}
        _ => return Err(bad("is not a 3-element array [shape, dtype, bytes]")),
    }
    let Ok(Head::List(rank)) = read_head(&mut r) else {
        return Err(bad("has a shape that is not an array of ints"));
    };
    if rank > r.left() as u64 {
        return Err(bad("has a shape longer than the payload"));
    }
    let mut shape = Vec::with_capacity(rank as usize);
    for _ in 0..rank {
        match read_head(&mut r) {
            Ok(Head::Leaf(Value::Int(d))) if d >= 0 => shape.push(d as usize),
            Ok(Head::Leaf(Value::Int(d))) => {
                return Err(bad(&format!("has a negative dimension {d}")))
            }
            Ok(Head::Leaf(Value::UInt(d))) => shape.push(d as usize),
            _ => return Err(bad("has a shape that is not an array of ints")),
        }
    }
    let name = match read_head(&mut r) {
        Ok(Head::Str(s)) => s,
        Ok(Head::Leaf(Value::Bin(Cow::Borrowed(s)))) => s,
        _ => return Err(bad("has a dtype name that is not a str")),
    };
    let data = match read_head(&mut r) {
        Ok(Head::Leaf(Value::Bin(Cow::Borrowed(s)))) => s,
        Ok(Head::Str(s)) => s,
        _ => return Err(bad("has data that is not bytes")),
    };
    if r.left() != 0 {
        return Err(bad(&format!("has {} bytes after its 3 elements", r.left())));
    }
    let dtype = FileDType::from_numpy_name(name).ok_or_else(|| {
        let shown = String::from_utf8_lossy(&name[..name.len().min(40)]).into_owned();
        err(
            FileError::MsgpackUnknownDtype,
            format!("msgpack: the {what} at byte {at} has dtype '{shown}', which is not a numeric numpy dtype flaxen reads"),
        )
    })?;
    let need = numpy_bytes(dtype, &shape).ok_or_else(|| {
        err(
            FileError::MsgpackOverflow,
            format!(
                "msgpack: the {what} at byte {at} ({} {}) overflows computing its byte size",
                dtype.numpy_name(),
                show_shape(&shape)
            ),
        )
    })?;
    if need != data.len() {
        return Err(err(
            FileError::MsgpackSizeMismatch,
            format!(
                "msgpack: the {what} at byte {at} is {} {}, {need} bytes, but holds {}",
                dtype.numpy_name(),
                show_shape(&shape),
                data.len()
            ),
        ));
    }
    Ok(Array {
        dtype,
        shape,
        data: ArrayData::Borrowed(data),
        scalar,
    })
}

// ---- chunked arrays ---------------------------------------------------------------------------

fn is_chunked(v: &Value<'_>) -> bool {
    matches!(v, Value::Map(m) if m.iter().any(|(k, _)| k == CHUNKED_KEY))
}

/// `_unchunk_array_leaves_in_place`: the root if it is a chunked dict, else every dict value
/// that is one, descending through dicts only (not lists), as Flax does. Depth-first with an
/// explicit stack; `path` (for messages) is one buffer grown and cut back along the descent.
fn unchunk_tree(root: &mut Value<'_>) -> Result<()> {
    if is_chunked(root) {
        let Value::Map(m) = &*root else {
            unreachable!()
        };
        let whole = unchunk(m, "")?;
        *root = whole;
        return Ok(());
    }
    let Value::Map(m) = root else { return Ok(()) };
    let mut path = String::new();
    let mut stack = vec![(m.iter_mut(), 0usize)];
    while let Some((it, _)) = stack.last_mut() {
        let Some((k, child)) = it.next() else {
            let (_, len) = stack.pop().unwrap();
            path.truncate(len);
            continue;
        };
        if !matches!(child, Value::Map(_)) {
            continue;
        }
        let len = path.len();
        path.push('/');
        path.push_str(k);
        if is_chunked(child) {
            let Value::Map(cm) = &*child else {
                unreachable!()
            };
            let whole = unchunk(cm, &path)?;
            *child = whole;
            path.truncate(len);
        } else if let Value::Map(cm) = child {
            stack.push((cm.iter_mut(), len));
        }
    }
    Ok(())
}

/// `E_MSGPACK_CHUNKED` for the chunked array at `path`.
fn chunked_error(path: &str, m: String) -> Error {
    let at = if path.is_empty() {
        "/".to_string()
    } else {
        show_name(path)
    };
    err(
        FileError::MsgpackChunked,
        format!("msgpack: the chunked array at '{at}': {m}"),
    )
}

/// `{'0': x0, '1': x1, ...}` as `[x0, x1, ...]` (Flax's `_dict_to_tuple`: keys are exactly
/// '0'..'n-1').
fn ndict<'v, 'a>(v: Option<&'v Value<'a>>, what: &str, path: &str) -> Result<Vec<&'v Value<'a>>> {
    let bad = |m: String| chunked_error(path, m);
    let Some(Value::Map(m)) = v else {
        return Err(bad(format!("'{what}' is not a dict")));
    };
    let mut out: Vec<Option<&Value<'a>>> = vec![None; m.len()];
    for (k, x) in m {
        let i = k
            .parse::<usize>()
            .ok()
            .filter(|i| *i < m.len() && i.to_string() == *k)
            .ok_or_else(|| {
                bad(format!(
                    "'{what}' has the key '{}', not an index below {}",
                    show_name(k),
                    m.len()
                ))
            })?;
        out[i] = Some(x);
    }
    // Keys are unique (checked when parsed), so every slot is filled.
    Ok(out
        .into_iter()
        .map(|x| x.expect("unique keys fill every slot"))
        .collect())
}

fn unchunk<'a>(m: &[(String, Value<'a>)], path: &str) -> Result<Value<'a>> {
    let bad = |m: String| chunked_error(path, m);
    let get = |k: &str| m.iter().find(|(kk, _)| kk == k).map(|(_, v)| v);
    let mut shape = Vec::new();
    for d in ndict(get("shape"), "shape", path)? {
        match d {
            Value::Int(i) if *i >= 0 => shape.push(*i as usize),
            Value::UInt(u) => shape.push(*u as usize),
            _ => {
                return Err(bad(format!(
                    "a dimension is a {}, not a non-negative int",
                    d.kind()
                )))
            }
        }
    }
    let chunks = ndict(get("chunks"), "chunks", path)?;
    if chunks.is_empty() {
        return Err(bad("it has no chunks".into()));
    }
    let mut dtype = None;
    let mut pieces = Vec::with_capacity(chunks.len());
    for c in chunks {
        let Value::Array(a) = c else {
            return Err(bad(format!("a chunk is a {}, not an ndarray", c.kind())));
        };
        if a.scalar || a.shape.len() != 1 {
            return Err(bad(format!(
                "a chunk has shape {}, not one dimension",
                show_shape(&a.shape)
            )));
        }
        if *dtype.get_or_insert(a.dtype) != a.dtype {
            return Err(bad("its chunks have different dtypes".into()));
        }
        let ArrayData::Borrowed(b) = a.data else {
            return Err(bad("a chunk is itself chunked".into()));
        };
        pieces.push(b);
    }
    let dtype = dtype.expect("at least one chunk");
    let have: usize = pieces.iter().map(|b| b.len()).sum();
    let need = numpy_bytes(dtype, &shape).ok_or_else(|| {
        err(
            FileError::MsgpackOverflow,
            format!(
                "msgpack: the chunked array at '{}' ({} {}) overflows computing its byte size",
                show_name(path),
                dtype.numpy_name(),
                show_shape(&shape)
            ),
        )
    })?;
    if need != have {
        return Err(err(
            FileError::MsgpackSizeMismatch,
            format!(
                "msgpack: the chunked array at '{}' is {} {}, {need} bytes, but its chunks hold {have}",
                show_name(path),
                dtype.numpy_name(),
                show_shape(&shape)
            ),
        ));
    }
    let data = if pieces.len() == 1 {
        ArrayData::Borrowed(pieces[0])
    } else {
        ArrayData::Chunked(pieces)
    };
    Ok(Value::Array(Box::new(Array {
        dtype,
        shape,
        data,
        scalar: false,
    })))
}

// ---- writing ----------------------------------------------------------------------------------

/// Options of the writer.
#[derive(Clone, Copy, Debug)]
pub struct WriteOptions {
    /// Arrays with more bytes than this (dict values and the root) are chunked (Flax's
    /// `MAX_CHUNK_SIZE`, 2^30). Tests use small values.
    pub max_chunk_size: u64,
}

impl Default for WriteOptions {
    fn default() -> Self {
        WriteOptions {
            max_chunk_size: MAX_CHUNK_SIZE,
        }
    }
}

/// `flax.serialization.msgpack_serialize(tree, in_place=True)` (= `to_bytes` of a state dict):
/// maps in the order given (call [`Value::sort_keys`] first for `msgpack_serialize`'s default).
pub fn serialize(v: &Value<'_>) -> Result<Vec<u8>> {
    serialize_with(v, WriteOptions::default())
}

/// [`serialize`] with a chosen chunk size.
pub fn serialize_with(v: &Value<'_>, opts: WriteOptions) -> Result<Vec<u8>> {
    let n = encoded_len(v, opts)?;
    let mut out = Vec::new();
    out.try_reserve_exact(n as usize)
        .map_err(|_| Error::alloc(format!("msgpack: cannot allocate {n} bytes for the output")))?;
    let mut w = VecSink(&mut out);
    write_value(&mut w, v, opts)?;
    debug_assert_eq!(out.len() as u64, n);
    Ok(out)
}

/// The length [`serialize_with`] would produce (and every check it makes), writing nothing.
pub fn encoded_len(v: &Value<'_>, opts: WriteOptions) -> Result<u64> {
    let mut c = Counter(0);
    write_value(&mut c, v, opts)?;
    Ok(c.0)
}

/// Streams the encoding to `w` (to write a file without holding it in memory).
pub fn write_to<W: std::io::Write>(v: &Value<'_>, opts: WriteOptions, w: &mut W) -> Result<()> {
    encoded_len(v, opts)?;
    let mut s = IoSink(w);
    write_value(&mut s, v, opts)
}

trait Sink {
    fn put(&mut self, b: &[u8]) -> Result<()>;
}
struct Counter(u64);
impl Sink for Counter {
    fn put(&mut self, b: &[u8]) -> Result<()> {
        self.0 += b.len() as u64;
        Ok(())
    }
}
struct VecSink<'v>(&'v mut Vec<u8>);
impl Sink for VecSink<'_> {
    fn put(&mut self, b: &[u8]) -> Result<()> {
        self.0.extend_from_slice(b);
        Ok(())
    }
}
struct IoSink<'w, W: std::io::Write>(&'w mut W);
impl<W: std::io::Write> Sink for IoSink<'_, W> {
    fn put(&mut self, b: &[u8]) -> Result<()> {
        self.0
            .write_all(b)
            .map_err(|e| Error::arg(format!("msgpack: write failed: {e}")))
    }
}

fn too_large(what: &str, n: u64) -> Error {
    err(
        FileError::MsgpackTooLarge,
        format!("msgpack: a {what} of {n} bytes is over msgpack's limit of 2^32 - 1"),
    )
}

/// A container header: `fix` for counts up to `fixmax`, then the 16- and 32-bit forms.
fn put_len(s: &mut dyn Sink, n: u64, fix: u8, fixmax: u64, b16: u8, what: &str) -> Result<()> {
    if n <= fixmax {
        s.put(&[fix | n as u8])
    } else if n <= 0xffff {
        s.put(&[b16])?;
        s.put(&(n as u16).to_be_bytes())
    } else if n <= 0xffff_ffff {
        s.put(&[b16 + 1])?;
        s.put(&(n as u32).to_be_bytes())
    } else {
        Err(too_large(what, n))
    }
}

fn str_head_len(n: u64) -> u64 {
    match n {
        0..=31 => 1,
        32..=0xff => 2,
        0x100..=0xffff => 3,
        _ => 5,
    }
}

fn put_str(s: &mut dyn Sink, v: &[u8]) -> Result<()> {
    let n = v.len() as u64;
    if n <= 31 {
        s.put(&[0xa0 | n as u8])?;
    } else if n <= 0xff {
        s.put(&[0xd9, n as u8])?;
    } else {
        put_len(s, n, 0, 0, 0xda, "str")?;
    }
    s.put(v)
}

fn bin_head_len(n: u64) -> u64 {
    match n {
        0..=0xff => 2,
        0x100..=0xffff => 3,
        _ => 5,
    }
}

fn put_bin_head(s: &mut dyn Sink, n: u64) -> Result<()> {
    if n <= 0xff {
        s.put(&[0xc4, n as u8])
    } else if n <= 0xffff {
        s.put(&[0xc5])?;
        s.put(&(n as u16).to_be_bytes())
    } else if n <= 0xffff_ffff {
        s.put(&[0xc6])?;
        s.put(&(n as u32).to_be_bytes())
    } else {
        Err(too_large("bytes", n))
    }
}

fn put_ext_head(s: &mut dyn Sink, n: u64, t: i8) -> Result<()> {
    match n {
        1 => s.put(&[0xd4, t as u8]),
        2 => s.put(&[0xd5, t as u8]),
        4 => s.put(&[0xd6, t as u8]),
        8 => s.put(&[0xd7, t as u8]),
        16 => s.put(&[0xd8, t as u8]),
        0..=0xff => s.put(&[0xc7, n as u8, t as u8]),
        0x100..=0xffff => {
            s.put(&[0xc8])?;
            s.put(&(n as u16).to_be_bytes())?;
            s.put(&[t as u8])
        }
        0x1_0000..=0xffff_ffff => {
            s.put(&[0xc9])?;
            s.put(&(n as u32).to_be_bytes())?;
            s.put(&[t as u8])
        }
        _ => Err(too_large("ext", n)),
    }
}

/// msgpack-python's int: the smallest form, unsigned forms for non-negative values.
fn put_uint(s: &mut dyn Sink, u: u64) -> Result<()> {
    if u < 0x80 {
        s.put(&[u as u8])
    } else if u <= 0xff {
        s.put(&[0xcc, u as u8])
    } else if u <= 0xffff {
        s.put(&[0xcd])?;
        s.put(&(u as u16).to_be_bytes())
    } else if u <= 0xffff_ffff {
        s.put(&[0xce])?;
        s.put(&(u as u32).to_be_bytes())
    } else {
        s.put(&[0xcf])?;
        s.put(&u.to_be_bytes())
    }
}

fn put_int(s: &mut dyn Sink, i: i64) -> Result<()> {
    if i >= 0 {
        put_uint(s, i as u64)
    } else if i >= -32 {
        s.put(&[i as i8 as u8])
    } else if i >= -128 {
        s.put(&[0xd0, i as i8 as u8])
    } else if i >= -32768 {
        s.put(&[0xd1])?;
        s.put(&(i as i16).to_be_bytes())
    } else if i >= -(1 << 31) {
        s.put(&[0xd2])?;
        s.put(&(i as i32).to_be_bytes())
    } else {
        s.put(&[0xd3])?;
        s.put(&i.to_be_bytes())
    }
}

fn uint_len(u: u64) -> u64 {
    match u {
        0..=0x7f => 1,
        0x80..=0xff => 2,
        0x100..=0xffff => 3,
        0x1_0000..=0xffff_ffff => 5,
        _ => 9,
    }
}

fn put_float(s: &mut dyn Sink, f: f64) -> Result<()> {
    s.put(&[0xcb])?;
    s.put(&f.to_bits().to_be_bytes())
}

fn check_depth(depth: usize) -> Result<()> {
    if depth > MAX_DEPTH {
        return Err(err(
            FileError::MsgpackTooDeep,
            format!("msgpack: the tree nests deeper than {MAX_DEPTH} containers (msgpack-python's limit)"),
        ));
    }
    Ok(())
}

/// A container being written: the rest of its elements, and how many containers enclose them.
enum WFrame<'v, 'a> {
    List(std::slice::Iter<'v, Value<'a>>, usize),
    Map(std::slice::Iter<'v, (String, Value<'a>)>, usize),
}

/// Writes `root` with an explicit stack (no recursion on the tree's depth). A value inside more
/// than 1024 containers is refused, as msgpack-python refuses it.
fn write_value(s: &mut dyn Sink, root: &Value<'_>, opts: WriteOptions) -> Result<()> {
    let mut stack: Vec<WFrame<'_, '_>> = Vec::new();
    if let Some(f) = write_one(s, root, opts, 0, false)? {
        stack.push(f);
    }
    while let Some(top) = stack.last_mut() {
        let next = match top {
            WFrame::List(it, depth) => it.next().map(|v| (v, *depth, true)),
            WFrame::Map(it, depth) => match it.next() {
                Some((k, v)) => {
                    check_depth(*depth)?;
                    put_str(s, k.as_bytes())?;
                    Some((v, *depth, false))
                }
                None => None,
            },
        };
        match next {
            Some((v, depth, in_list)) => {
                if let Some(f) = write_one(s, v, opts, depth, in_list)? {
                    stack.push(f);
                }
            }
            None => {
                stack.pop();
            }
        }
    }
    Ok(())
}

/// Writes a scalar or array whole, or a container's header (returning the frame of its
/// elements). `depth`: how many containers enclose `v`. Flax chunks arrays that are dict values
/// or the root, never list items (`in_list`).
fn write_one<'v, 'a>(
    s: &mut dyn Sink,
    v: &'v Value<'a>,
    opts: WriteOptions,
    depth: usize,
    in_list: bool,
) -> Result<Option<WFrame<'v, 'a>>> {
    check_depth(depth)?;
    match v {
        Value::Nil => s.put(&[0xc0])?,
        Value::Bool(b) => s.put(&[if *b { 0xc3 } else { 0xc2 }])?,
        Value::Int(i) => put_int(s, *i)?,
        Value::UInt(u) => put_uint(s, *u)?,
        Value::Float(f) => put_float(s, *f)?,
        Value::Str(t) => put_str(s, t.as_bytes())?,
        Value::Bin(b) => {
            put_bin_head(s, b.len() as u64)?;
            s.put(b)?
        }
        Value::Complex(re, im) => {
            put_ext_head(s, 19, EXT_COMPLEX)?;
            s.put(&[0x92])?;
            put_float(s, *re)?;
            put_float(s, *im)?
        }
        Value::Ext(e) => {
            put_ext_head(s, e.1.len() as u64, e.0)?;
            s.put(&e.1)?
        }
        Value::Array(a) if in_list => write_array(s, a, 0, a.numel(), &a.shape, a.scalar)?,
        Value::Array(a) => write_array_leaf(s, a, opts, depth)?,
        Value::List(l) => {
            put_len(s, l.len() as u64, 0x90, 15, 0xdc, "list")?;
            return Ok(Some(WFrame::List(l.iter(), depth + 1)));
        }
        Value::Map(m) => {
            put_len(s, m.len() as u64, 0x80, 15, 0xde, "dict")?;
            return Ok(Some(WFrame::Map(m.iter(), depth + 1)));
        }
    }
    Ok(None)
}

/// An array as the root or a dict value: chunked when over the chunk size (numpy scalars never
/// are).
fn write_array_leaf(
    s: &mut dyn Sink,
    a: &Array<'_>,
    opts: WriteOptions,
    depth: usize,
) -> Result<()> {
    let nbytes = check_array(a)?;
    if a.scalar || nbytes as u64 <= opts.max_chunk_size {
        return write_array(s, a, 0, a.numel(), &a.shape, a.scalar);
    }
    // {'__msgpack_chunked_array__': True, 'shape': {'0': d0, ...}, 'chunks': {'0': ..., ...}}
    // with max(1, MAX_CHUNK_SIZE // itemsize) elements per chunk.
    check_depth(depth + 2)?;
    let item = a.dtype.numpy_itemsize();
    let per = (opts.max_chunk_size / item).max(1) as usize;
    let numel = a.numel();
    let nchunks = numel.div_ceil(per);
    s.put(&[0x83])?;
    put_str(s, CHUNKED_KEY.as_bytes())?;
    s.put(&[0xc3])?;
    put_str(s, b"shape")?;
    put_len(s, a.shape.len() as u64, 0x80, 15, 0xde, "dict")?;
    for (i, d) in a.shape.iter().enumerate() {
        put_str(s, i.to_string().as_bytes())?;
        put_uint(s, *d as u64)?;
    }
    put_str(s, b"chunks")?;
    put_len(s, nchunks as u64, 0x80, 15, 0xde, "dict")?;
    for c in 0..nchunks {
        put_str(s, c.to_string().as_bytes())?;
        let from = c * per;
        let to = (from + per).min(numel);
        write_array(s, a, from, to, &[to - from], false)?;
    }
    Ok(())
}

fn check_array(a: &Array<'_>) -> Result<usize> {
    let need = a.expected_bytes().ok_or_else(|| {
        err(
            FileError::MsgpackOverflow,
            format!(
                "msgpack: an array {} {} overflows computing its byte size",
                a.dtype.numpy_name(),
                show_shape(&a.shape)
            ),
        )
    })?;
    if need != a.data.len() {
        return Err(err(
            FileError::MsgpackSizeMismatch,
            format!(
                "msgpack: an array {} {} needs {need} bytes but has {}",
                a.dtype.numpy_name(),
                show_shape(&a.shape),
                a.data.len()
            ),
        ));
    }
    Ok(need)
}

/// Elements `[from, to)` of `a` as an ext 1 (or 3) with `shape`: the payload is
/// `packb((shape, dtype.name, bytes), use_bin_type=True)`.
fn write_array(
    s: &mut dyn Sink,
    a: &Array<'_>,
    from: usize,
    to: usize,
    shape: &[usize],
    scalar: bool,
) -> Result<()> {
    check_array(a)?;
    let item = a.dtype.numpy_itemsize() as usize;
    let nbytes = ((to - from) * item) as u64;
    let name = a.dtype.numpy_name().as_bytes();
    let rank = shape.len() as u64;
    let shape_len = match rank {
        0..=15 => 1,
        16..=0xffff => 3,
        _ => 5,
    } + shape.iter().map(|&d| uint_len(d as u64)).sum::<u64>();
    let payload = 1
        + shape_len
        + str_head_len(name.len() as u64)
        + name.len() as u64
        + bin_head_len(nbytes)
        + nbytes;
    if nbytes > 0xffff_ffff {
        return Err(too_large("bytes", nbytes));
    }
    put_ext_head(s, payload, if scalar { EXT_NPSCALAR } else { EXT_NDARRAY })?;
    s.put(&[0x93])?;
    put_len(s, rank, 0x90, 15, 0xdc, "shape")?;
    for &d in shape {
        put_uint(s, d as u64)?;
    }
    put_str(s, name)?;
    put_bin_head(s, nbytes)?;
    a.data.for_range(from * item, to * item, &mut |b| s.put(b))
}
