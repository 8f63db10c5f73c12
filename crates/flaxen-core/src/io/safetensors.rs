//! safetensors: an 8-byte little-endian header length N, N bytes of UTF-8 JSON
//! (`{"name": {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {str: str}}`),
//! then the data buffer; offsets count from the buffer's start.
//!
//! [`parse`] validates the way the reference crate (`safetensors::tensor::SafeTensors::
//! read_metadata`, v0.8) does, rule for rule, and refuses duplicate keys on top (serde's map
//! there keeps the last). It copies no tensor bytes: [`TensorInfo::data`] is a range of the
//! caller's buffer. [`serialize`] writes what the reference `serialize` (and so Python's
//! `safetensors.numpy.save` / `safetensors.flax.save`) writes for the same dict, byte for byte.

use super::{err, show_name, show_shape, FileDType, FileError};
use crate::error::Result;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use std::cell::RefCell;
use std::fmt;
use std::ops::Range;

/// The reference parser's limit on the JSON header (bytes).
pub const MAX_HEADER_SIZE: usize = 100_000_000;

/// One tensor of a parsed file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TensorInfo {
    pub name: String,
    pub dtype: FileDType,
    pub shape: Vec<usize>,
    /// The tensor's bytes as a range of the whole file buffer (not of the data section):
    /// `&file[info.data.clone()]`. Within bounds once [`parse`] returned Ok.
    pub data: Range<usize>,
}

impl TensorInfo {
    /// The number of elements (the product of the shape; validated not to overflow).
    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }
}

/// A parsed safetensors file: what the header says, validated against the file's length.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// N, the JSON header's length as stored (padding spaces included).
    pub header_len: usize,
    /// 8 + N: where the data buffer starts in the file.
    pub data_start: usize,
    /// `__metadata__` in the header's order; `None` when the key is absent (or null), which is
    /// not the same file as an empty map.
    pub metadata: Option<Vec<(String, String)>>,
    /// The tensors in the header's order (for files the reference writer made, that is data
    /// order).
    pub tensors: Vec<TensorInfo>,
}

impl Header {
    /// The tensor called `name`.
    pub fn get(&self, name: &str) -> Option<&TensorInfo> {
        self.tensors.iter().find(|t| t.name == name)
    }

    /// The value of a `__metadata__` key.
    pub fn metadata_value(&self, key: &str) -> Option<&str> {
        self.metadata
            .as_ref()?
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// A tensor's bytes in `file` (the buffer given to [`parse`]).
    pub fn bytes<'a>(&self, file: &'a [u8], tensor: &TensorInfo) -> &'a [u8] {
        &file[tensor.data.clone()]
    }

    /// The tensors in data (offset) order.
    pub fn in_data_order(&self) -> Vec<&TensorInfo> {
        let mut v: Vec<&TensorInfo> = self.tensors.iter().collect();
        v.sort_by_key(|t| (t.data.start, t.data.end));
        v
    }
}

/// Parses and validates a whole safetensors file held in `file` (a mapping or a read buffer).
/// Nothing is copied from the data section.
pub fn parse(file: &[u8]) -> Result<Header> {
    parse_header(file, file.len() as u64)
}

/// Parses the header from `head`, which holds at least the first 8 + N bytes of a file of
/// `file_len` bytes, and checks the tensors against `file_len` (so a tool can read the header of
/// a huge file without mapping it). The header's own length is read from `head`'s first 8 bytes;
/// a `head` shorter than 8 + N (when the file is not) is the caller's error, `E_ARG`.
pub fn parse_header(head: &[u8], file_len: u64) -> Result<Header> {
    use FileError::*;
    if head.len() < 8 || file_len < 8 {
        return Err(err(
            SafetensorsHeaderTooSmall,
            format!(
                "safetensors: the file has {} bytes, fewer than the 8 of the header length",
                head.len().min(file_len as usize)
            ),
        ));
    }
    let n = u64::from_le_bytes(head[..8].try_into().unwrap());
    if n > MAX_HEADER_SIZE as u64 {
        return Err(err(
            SafetensorsHeaderTooLarge,
            format!("safetensors: header length {n} is over the limit of {MAX_HEADER_SIZE} bytes"),
        ));
    }
    let n = n as usize;
    let stop = 8 + n;
    if stop as u64 <= file_len && stop > head.len() {
        return Err(crate::error::Error::arg(format!(
            "safetensors: parse_header was given {} bytes of the file, the header needs the first {stop}",
            head.len()
        )));
    }
    if stop as u64 > file_len {
        return Err(err(
            SafetensorsHeaderLength,
            format!(
                "safetensors: header length {n} runs past the end of the file ({} bytes after the length)",
                file_len.min(head.len() as u64) - 8
            ),
        ));
    }
    let text = std::str::from_utf8(&head[8..stop]).map_err(|e| {
        err(
            SafetensorsInvalidUtf8,
            format!("safetensors: the header is not UTF-8 ({e})"),
        )
    })?;
    let (metadata, tensors) = parse_json(text)?;
    let mut header = Header {
        header_len: n,
        data_start: stop,
        metadata,
        tensors,
    };
    validate(&header, file_len)?;
    // Offsets are relative to the data section in the file; the API gives file ranges.
    for t in &mut header.tensors {
        t.data = t.data.start + stop..t.data.end + stop;
    }
    Ok(header)
}

/// The reference `Metadata::validate` plus the buffer-end check of `read_metadata`, on offsets
/// still relative to the data section.
fn validate(h: &Header, file_len: u64) -> Result<()> {
    use FileError::*;
    let mut order: Vec<usize> = (0..h.tensors.len()).collect();
    order.sort_by_key(|&i| (h.tensors[i].data.start, h.tensors[i].data.end));
    let mut start = 0usize;
    for &i in &order {
        let t = &h.tensors[i];
        let (s, e) = (t.data.start, t.data.end);
        if s != start || e < s {
            let why = if e < s {
                "end before begin".to_string()
            } else if s > start {
                format!("a hole: the previous tensor ends at {start}")
            } else {
                format!("an overlap: the previous tensor ends at {start}")
            };
            return Err(err(
                SafetensorsOffsets,
                format!(
                    "safetensors: tensor '{}' has data_offsets [{s}, {e}]: {why} (offsets must tile the buffer from 0)",
                    show_name(&t.name)
                ),
            ));
        }
        start = e;
        let size = byte_size(t.dtype, &t.shape).map_err(|code| {
            let what = match code {
                SafetensorsOverflow => "overflows computing its byte size",
                _ => "is not a whole number of bytes",
            };
            err(
                code,
                format!(
                    "safetensors: tensor '{}' ({} {}) {what}",
                    show_name(&t.name),
                    t.dtype,
                    show_shape(&t.shape)
                ),
            )
        })?;
        if e - s != size {
            return Err(err(
                SafetensorsSizeMismatch,
                format!(
                    "safetensors: tensor '{}' is {} {}, {size} bytes, but its data_offsets [{s}, {e}] hold {}",
                    show_name(&t.name),
                    t.dtype,
                    show_shape(&t.shape),
                    e - s
                ),
            ));
        }
    }
    let data_len = file_len - h.data_start as u64;
    if (start as u64) > data_len {
        return Err(err(
            SafetensorsTruncated,
            format!(
                "safetensors: the tensors need {start} bytes of data but the file has {data_len} after the header (truncated)"
            ),
        ));
    }
    if (start as u64) < data_len {
        return Err(err(
            SafetensorsTrailingData,
            format!(
                "safetensors: {} bytes after the last tensor (the data ends at {start}, the file at {data_len} after the header)",
                data_len - start as u64
            ),
        ));
    }
    Ok(())
}

/// Bytes of `shape` elements of `dtype` in a safetensors buffer, with the reference's checks.
pub fn byte_size(dtype: FileDType, shape: &[usize]) -> std::result::Result<usize, FileError> {
    let n = shape
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .ok_or(FileError::SafetensorsOverflow)?;
    let bits = n
        .checked_mul(dtype.safetensors_bits() as usize)
        .ok_or(FileError::SafetensorsOverflow)?;
    if bits % 8 != 0 {
        return Err(FileError::SafetensorsMisaligned);
    }
    Ok(bits / 8)
}

// ---- the JSON header --------------------------------------------------------------------------

type Parsed = (Option<Vec<(String, String)>>, Vec<TensorInfo>);

/// A specific refusal found inside serde's visitors (unknown dtype, duplicate key); serde only
/// carries a message through its error, so the code travels here.
type Side = RefCell<Option<(FileError, String)>>;

fn fail<E: de::Error>(side: &Side, code: FileError, message: String) -> E {
    let e = E::custom(&message);
    side.borrow_mut().get_or_insert((code, message));
    e
}

fn parse_json(text: &str) -> Result<Parsed> {
    let side: Side = RefCell::new(None);
    let mut de = serde_json::Deserializer::from_str(text);
    let parsed = HeaderSeed { side: &side }
        .deserialize(&mut de)
        .and_then(|v| de.end().map(|_| v));
    let (metadata, tensors) = match parsed {
        Ok(v) => v,
        Err(e) => {
            if let Some((code, message)) = side.into_inner() {
                return Err(err(code, message));
            }
            use serde_json::error::Category;
            let code = match e.classify() {
                Category::Data => FileError::SafetensorsInvalidHeader,
                _ => FileError::SafetensorsInvalidJson,
            };
            let what = if code == FileError::SafetensorsInvalidJson {
                "the header is not valid JSON"
            } else {
                "the header is not a safetensors header"
            };
            return Err(err(code, format!("safetensors: {what}: {e}")));
        }
    };
    check_unique(tensors.iter().map(|t| t.name.as_str()), "tensor name")?;
    if let Some(m) = &metadata {
        check_unique(m.iter().map(|(k, _)| k.as_str()), "__metadata__ key")?;
    }
    Ok((metadata, tensors))
}

fn check_unique<'a>(names: impl Iterator<Item = &'a str> + Clone, what: &str) -> Result<()> {
    let mut v: Vec<&str> = names.collect();
    v.sort_unstable();
    if let Some(w) = v.windows(2).find(|w| w[0] == w[1]) {
        return Err(err(
            FileError::SafetensorsDuplicateKey,
            format!(
                "safetensors: {what} '{}' appears twice in the header",
                show_name(w[0])
            ),
        ));
    }
    Ok(())
}

struct HeaderSeed<'s> {
    side: &'s Side,
}

impl<'de> DeserializeSeed<'de> for HeaderSeed<'_> {
    type Value = Parsed;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> std::result::Result<Parsed, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for HeaderSeed<'_> {
    type Value = Parsed;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object of tensors")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<Parsed, A::Error> {
        let mut metadata: Option<Option<Vec<(String, String)>>> = None;
        let mut tensors = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            if key == "__metadata__" {
                if metadata.is_some() {
                    return Err(fail(
                        self.side,
                        FileError::SafetensorsDuplicateKey,
                        "safetensors: '__metadata__' appears twice in the header".into(),
                    ));
                }
                metadata = Some(map.next_value_seed(MetaSeed)?);
            } else {
                let (dtype, shape, offsets) = map.next_value_seed(InfoSeed {
                    side: self.side,
                    name: &key,
                })?;
                tensors.push(TensorInfo {
                    name: key,
                    dtype,
                    shape,
                    data: offsets.0..offsets.1,
                });
            }
        }
        Ok((metadata.flatten(), tensors))
    }
}

/// `__metadata__`: null or an object of strings, in file order.
struct MetaSeed;

impl<'de> DeserializeSeed<'de> for MetaSeed {
    type Value = Option<Vec<(String, String)>>;
    fn deserialize<D: de::Deserializer<'de>>(
        self,
        d: D,
    ) -> std::result::Result<Self::Value, D::Error> {
        d.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for MetaSeed {
    type Value = Option<Vec<(String, String)>>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("__metadata__ as an object of strings")
    }
    fn visit_none<E: de::Error>(self) -> std::result::Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E: de::Error>(self) -> std::result::Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_some<D: de::Deserializer<'de>>(
        self,
        d: D,
    ) -> std::result::Result<Self::Value, D::Error> {
        d.deserialize_map(MetaMap).map(Some)
    }
}

struct MetaMap;

impl<'de> Visitor<'de> for MetaMap {
    type Value = Vec<(String, String)>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("__metadata__ as an object of strings")
    }
    fn visit_map<A: MapAccess<'de>>(
        self,
        mut map: A,
    ) -> std::result::Result<Self::Value, A::Error> {
        let mut v = Vec::new();
        while let Some((k, val)) = map.next_entry::<String, String>()? {
            v.push((k, val));
        }
        Ok(v)
    }
}

/// One tensor entry: an object with dtype, shape and data_offsets (other fields ignored, as the
/// reference's derived deserializer does).
struct InfoSeed<'s, 'n> {
    side: &'s Side,
    name: &'n str,
}

type Info = (FileDType, Vec<usize>, (usize, usize));

impl<'de> DeserializeSeed<'de> for InfoSeed<'_, '_> {
    type Value = Info;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> std::result::Result<Info, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for InfoSeed<'_, '_> {
    type Value = Info;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "tensor '{}' as an object {{\"dtype\", \"shape\", \"data_offsets\"}}",
            show_name(self.name)
        )
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<Info, A::Error> {
        let mut dtype = None;
        let mut shape: Option<Vec<usize>> = None;
        let mut offsets: Option<(usize, usize)> = None;
        while let Some(key) = map.next_key::<FieldName>()? {
            let dup = match key {
                FieldName::Dtype => dtype.is_some(),
                FieldName::Shape => shape.is_some(),
                FieldName::Offsets => offsets.is_some(),
                FieldName::Other => false,
            };
            if dup {
                return Err(fail(
                    self.side,
                    FileError::SafetensorsDuplicateKey,
                    format!(
                        "safetensors: tensor '{}' has a field twice in the header",
                        show_name(self.name)
                    ),
                ));
            }
            match key {
                FieldName::Dtype => {
                    dtype = Some(map.next_value_seed(DtypeSeed {
                        side: self.side,
                        name: self.name,
                    })?)
                }
                FieldName::Shape => shape = Some(map.next_value()?),
                FieldName::Offsets => offsets = Some(map.next_value::<Offsets>()?.0),
                FieldName::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        let missing = |f: &str| {
            de::Error::custom(format!("tensor '{}' has no \"{f}\"", show_name(self.name)))
        };
        Ok((
            dtype.ok_or_else(|| missing("dtype"))?,
            shape.ok_or_else(|| missing("shape"))?,
            offsets.ok_or_else(|| missing("data_offsets"))?,
        ))
    }
}

/// `data_offsets`: exactly two non-negative integers (a schema error otherwise, where serde's
/// tuple would call a third element a JSON syntax error).
struct Offsets((usize, usize));

impl<'de> de::Deserialize<'de> for Offsets {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Offsets;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("data_offsets as [begin, end]")
            }
            fn visit_seq<A: de::SeqAccess<'de>>(
                self,
                mut s: A,
            ) -> std::result::Result<Offsets, A::Error> {
                let b = s.next_element::<usize>()?;
                let e = s.next_element::<usize>()?;
                match (b, e) {
                    (Some(b), Some(e)) if s.next_element::<IgnoredAny>()?.is_none() => {
                        Ok(Offsets((b, e)))
                    }
                    _ => Err(de::Error::custom("data_offsets must be [begin, end]")),
                }
            }
        }
        d.deserialize_seq(V)
    }
}

enum FieldName {
    Dtype,
    Shape,
    Offsets,
    Other,
}

impl<'de> de::Deserialize<'de> for FieldName {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = FieldName;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a field name")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> std::result::Result<FieldName, E> {
                Ok(match s {
                    "dtype" => FieldName::Dtype,
                    "shape" => FieldName::Shape,
                    "data_offsets" => FieldName::Offsets,
                    _ => FieldName::Other,
                })
            }
        }
        d.deserialize_identifier(V)
    }
}

struct DtypeSeed<'s, 'n> {
    side: &'s Side,
    name: &'n str,
}

impl<'de> DeserializeSeed<'de> for DtypeSeed<'_, '_> {
    type Value = FileDType;
    fn deserialize<D: de::Deserializer<'de>>(
        self,
        d: D,
    ) -> std::result::Result<FileDType, D::Error> {
        d.deserialize_str(self)
    }
}

impl Visitor<'_> for DtypeSeed<'_, '_> {
    type Value = FileDType;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a dtype name")
    }
    fn visit_str<E: de::Error>(self, s: &str) -> std::result::Result<FileDType, E> {
        FileDType::from_safetensors_name(s).ok_or_else(|| {
            let shown: String = s.chars().take(40).collect();
            fail(
                self.side,
                FileError::SafetensorsUnknownDtype,
                format!(
                    "safetensors: tensor '{}' has dtype \"{shown}\", not one of BOOL, U8, I8, U16, I16, F16, BF16, U32, I32, F32, U64, I64, F64, C64, F8_E5M2, F8_E4M3, F8_E8M0, F8_E4M3FNUZ, F8_E5M2FNUZ, F6_E2M3, F6_E3M2, F4",
                    show_name(self.name)
                ),
            )
        })
    }
}

// ---- the writer -------------------------------------------------------------------------------

/// One tensor to write: everything borrowed from the caller.
#[derive(Clone, Copy, Debug)]
pub struct TensorEntry<'a> {
    pub name: &'a str,
    pub dtype: FileDType,
    pub shape: &'a [usize],
    /// Little-endian, C-order bytes: exactly the size shape × dtype implies.
    pub data: &'a [u8],
}

/// A file ready to write: the header bytes (8-byte length, JSON, space padding to a multiple of
/// 8), then the entries' data in `order`.
#[derive(Clone, Debug)]
pub struct Prepared {
    pub header: Vec<u8>,
    /// Indices into the entries, in the order their bytes follow the header.
    pub order: Vec<usize>,
    /// The data section's length.
    pub data_len: usize,
}

impl Prepared {
    /// The file's length.
    pub fn total_len(&self) -> usize {
        self.header.len() + self.data_len
    }
}

/// Sorts and checks the entries and builds the header as the reference `prepare` does: tensors
/// by dtype rank (reference `Dtype` order) descending, then by name; `__metadata__` first; compact
/// JSON padded with spaces to a multiple of 8. Metadata keeps the order given (the reference
/// takes a `HashMap`, so Python's order for two or more keys is the hash map's).
pub fn prepare(
    entries: &[TensorEntry<'_>],
    metadata: Option<&[(String, String)]>,
) -> Result<Prepared> {
    use FileError::*;
    check_unique(entries.iter().map(|e| e.name), "tensor name")?;
    if let Some(m) = metadata {
        check_unique(m.iter().map(|(k, _)| k.as_str()), "__metadata__ key")?;
    }
    for e in entries {
        if e.name == "__metadata__" {
            return Err(err(
                SafetensorsInvalidHeader,
                "safetensors: a tensor cannot be called '__metadata__'",
            ));
        }
        if e.dtype.safetensors_name().is_none() {
            return Err(err(
                SafetensorsUnknownDtype,
                format!(
                    "safetensors: tensor '{}': {} has no safetensors dtype",
                    show_name(e.name),
                    e.dtype
                ),
            ));
        }
        let size = byte_size(e.dtype, e.shape).map_err(|code| {
            err(
                code,
                format!(
                    "safetensors: tensor '{}' ({} {}) has no byte size",
                    show_name(e.name),
                    e.dtype,
                    show_shape(e.shape)
                ),
            )
        })?;
        if size != e.data.len() {
            return Err(err(
                SafetensorsSizeMismatch,
                format!(
                    "safetensors: tensor '{}' is {} {}, {size} bytes, but {} bytes were given",
                    show_name(e.name),
                    e.dtype,
                    show_shape(e.shape),
                    e.data.len()
                ),
            ));
        }
    }
    let mut order: Vec<usize> = (0..entries.len()).collect();
    order.sort_by(|&a, &b| {
        let (ea, eb) = (&entries[a], &entries[b]);
        eb.dtype
            .safetensors_sort_rank()
            .cmp(&ea.dtype.safetensors_sort_rank())
            .then(ea.name.cmp(eb.name))
    });

    let mut json = Vec::with_capacity(64 + 80 * entries.len());
    json.push(b'{');
    let mut first = true;
    if let Some(m) = metadata {
        json.extend_from_slice(b"\"__metadata__\":{");
        for (i, (k, v)) in m.iter().enumerate() {
            if i > 0 {
                json.push(b',');
            }
            json_str(&mut json, k);
            json.push(b':');
            json_str(&mut json, v);
        }
        json.push(b'}');
        first = false;
    }
    let mut offset = 0usize;
    for &i in &order {
        let e = &entries[i];
        if !first {
            json.push(b',');
        }
        first = false;
        json_str(&mut json, e.name);
        json.extend_from_slice(b":{\"dtype\":\"");
        json.extend_from_slice(e.dtype.safetensors_name().unwrap().as_bytes());
        json.extend_from_slice(b"\",\"shape\":[");
        for (j, d) in e.shape.iter().enumerate() {
            if j > 0 {
                json.push(b',');
            }
            json.extend_from_slice(d.to_string().as_bytes());
        }
        let end = offset.checked_add(e.data.len()).ok_or_else(|| {
            err(
                SafetensorsOverflow,
                "safetensors: the data is over usize::MAX bytes",
            )
        })?;
        json.extend_from_slice(format!("],\"data_offsets\":[{offset},{end}]}}").as_bytes());
        offset = end;
    }
    json.push(b'}');
    let padded = json.len().next_multiple_of(8);
    json.resize(padded, b' ');
    if padded > MAX_HEADER_SIZE {
        return Err(err(
            SafetensorsHeaderTooLarge,
            format!("safetensors: the header would be {padded} bytes, over the limit of {MAX_HEADER_SIZE}"),
        ));
    }
    let mut header = Vec::with_capacity(8 + padded);
    header.extend_from_slice(&(padded as u64).to_le_bytes());
    header.extend_from_slice(&json);
    Ok(Prepared {
        header,
        order,
        data_len: offset,
    })
}

/// The whole file as bytes (Python's `safetensors.numpy.save(tensors, metadata)`).
pub fn serialize(
    entries: &[TensorEntry<'_>],
    metadata: Option<&[(String, String)]>,
) -> Result<Vec<u8>> {
    let p = prepare(entries, metadata)?;
    let mut out = Vec::new();
    out.try_reserve_exact(p.total_len()).map_err(|_| {
        crate::error::Error::alloc(format!(
            "safetensors: cannot allocate {} bytes for the file",
            p.total_len()
        ))
    })?;
    out.extend_from_slice(&p.header);
    for &i in &p.order {
        out.extend_from_slice(entries[i].data);
    }
    Ok(out)
}

/// Streams the file to `w` (for writing straight to disk without building it in memory).
pub fn write_to<W: std::io::Write>(
    entries: &[TensorEntry<'_>],
    metadata: Option<&[(String, String)]>,
    w: &mut W,
) -> Result<()> {
    let p = prepare(entries, metadata)?;
    let io =
        |e: std::io::Error| crate::error::Error::arg(format!("safetensors: write failed: {e}"));
    w.write_all(&p.header).map_err(io)?;
    for &i in &p.order {
        w.write_all(entries[i].data).map_err(io)?;
    }
    Ok(())
}

/// A JSON string exactly as serde_json writes it (which the reference writer uses).
fn json_str(out: &mut Vec<u8>, s: &str) {
    serde_json::to_writer(&mut *out, s).expect("writing JSON to a Vec cannot fail");
}
