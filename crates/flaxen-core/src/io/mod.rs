//! Weights files: parsers and writers for safetensors and Flax's msgpack (`flax.serialization`),
//! byte-compatible with the Python libraries. Pure Rust over byte slices: no file access, no
//! Node, no tensors. Parsing never copies array bytes; arrays come back as slices of the
//! caller's buffer (a binding maps the file with `memmap2` and makes zero-copy views where the
//! slice is aligned), and every malformed input ends in an [`Error`] whose code is an
//! [`ErrorCode::File`] naming the rule that failed.
//!
//! * [`safetensors`] has `parse` (header, offsets, validation as strict as the reference crate's,
//!   stricter on duplicate keys), `serialize` / `prepare` (bytes equal to Python's
//!   `safetensors.numpy.save`).
//! * [`msgpack`] has `restore` (= `flax.serialization.msgpack_restore`, chunked arrays reassembled)
//!   and `serialize` (= `msgpack_serialize` / `to_bytes`, with a chunk size parameter).

pub mod load;
pub mod msgpack;
pub mod safetensors;
pub mod tensors;

use crate::error::{Error, ErrorCode};
use std::fmt;

/// The dtype of an array in a file, named as safetensors spells it. Independent of the core's
/// tensor `DType`: a file may hold dtypes the core cannot compute in (a binding converts or
/// refuses). [`FileDType::numpy_name`] gives numpy's/ml_dtypes' name, which Flax's msgpack
/// stores.
#[allow(non_camel_case_types)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FileDType {
    BOOL,
    U8,
    I8,
    U16,
    I16,
    F16,
    BF16,
    U32,
    I32,
    F32,
    U64,
    I64,
    F64,
    C64,
    /// numpy `complex128`; not a safetensors dtype (msgpack only).
    C128,
    /// `float8_e5m2`
    F8_E5M2,
    /// `float8_e4m3fn`
    F8_E4M3,
    /// `float8_e8m0fnu`
    F8_E8M0,
    /// `float8_e4m3fnuz`
    F8_E4M3FNUZ,
    /// `float8_e5m2fnuz`
    F8_E5M2FNUZ,
    /// `float6_e2m3fn`: 6 bits packed in safetensors, one byte per element in numpy.
    F6_E2M3,
    /// `float6_e3m2fn`: 6 bits packed in safetensors, one byte per element in numpy.
    F6_E3M2,
    /// `float4_e2m1fn`: 4 bits packed in safetensors, one byte per element in numpy.
    F4,
}

impl FileDType {
    /// Every dtype, for tests and tables.
    pub const ALL: [FileDType; 23] = [
        FileDType::BOOL,
        FileDType::U8,
        FileDType::I8,
        FileDType::U16,
        FileDType::I16,
        FileDType::F16,
        FileDType::BF16,
        FileDType::U32,
        FileDType::I32,
        FileDType::F32,
        FileDType::U64,
        FileDType::I64,
        FileDType::F64,
        FileDType::C64,
        FileDType::C128,
        FileDType::F8_E5M2,
        FileDType::F8_E4M3,
        FileDType::F8_E8M0,
        FileDType::F8_E4M3FNUZ,
        FileDType::F8_E5M2FNUZ,
        FileDType::F6_E2M3,
        FileDType::F6_E3M2,
        FileDType::F4,
    ];

    /// The name in a safetensors header (`"F32"`), or `None` for C128, which safetensors lacks.
    pub fn safetensors_name(self) -> Option<&'static str> {
        use FileDType::*;
        Some(match self {
            BOOL => "BOOL",
            U8 => "U8",
            I8 => "I8",
            U16 => "U16",
            I16 => "I16",
            F16 => "F16",
            BF16 => "BF16",
            U32 => "U32",
            I32 => "I32",
            F32 => "F32",
            U64 => "U64",
            I64 => "I64",
            F64 => "F64",
            C64 => "C64",
            C128 => return None,
            F8_E5M2 => "F8_E5M2",
            F8_E4M3 => "F8_E4M3",
            F8_E8M0 => "F8_E8M0",
            F8_E4M3FNUZ => "F8_E4M3FNUZ",
            F8_E5M2FNUZ => "F8_E5M2FNUZ",
            F6_E2M3 => "F6_E2M3",
            F6_E3M2 => "F6_E3M2",
            F4 => "F4",
        })
    }

    /// The dtype of a safetensors header name (exact, case-sensitive, as the reference parser).
    pub fn from_safetensors_name(name: &str) -> Option<FileDType> {
        FileDType::ALL
            .iter()
            .copied()
            .find(|d| d.safetensors_name() == Some(name))
    }

    /// numpy's `dtype.name` (with ml_dtypes for bfloat16 and the small floats): what Flax's
    /// msgpack stores.
    pub fn numpy_name(self) -> &'static str {
        use FileDType::*;
        match self {
            BOOL => "bool",
            U8 => "uint8",
            I8 => "int8",
            U16 => "uint16",
            I16 => "int16",
            F16 => "float16",
            BF16 => "bfloat16",
            U32 => "uint32",
            I32 => "int32",
            F32 => "float32",
            U64 => "uint64",
            I64 => "int64",
            F64 => "float64",
            C64 => "complex64",
            C128 => "complex128",
            F8_E5M2 => "float8_e5m2",
            F8_E4M3 => "float8_e4m3fn",
            F8_E8M0 => "float8_e8m0fnu",
            F8_E4M3FNUZ => "float8_e4m3fnuz",
            F8_E5M2FNUZ => "float8_e5m2fnuz",
            F6_E2M3 => "float6_e2m3fn",
            F6_E3M2 => "float6_e3m2fn",
            F4 => "float4_e2m1fn",
        }
    }

    /// The dtype of a numpy name, as `np.dtype(name).name` spells it.
    pub fn from_numpy_name(name: &[u8]) -> Option<FileDType> {
        FileDType::ALL
            .iter()
            .copied()
            .find(|d| d.numpy_name().as_bytes() == name)
    }

    /// Bits per element in a safetensors buffer (4 for F4, 6 for the F6 types, packed).
    pub fn safetensors_bits(self) -> u64 {
        use FileDType::*;
        match self {
            F4 => 4,
            F6_E2M3 | F6_E3M2 => 6,
            _ => 8 * self.numpy_itemsize(),
        }
    }

    /// Bytes per element in numpy (and so in Flax msgpack): 1 for every sub-byte float.
    pub fn numpy_itemsize(self) -> u64 {
        use FileDType::*;
        match self {
            BOOL | U8 | I8 | F8_E5M2 | F8_E4M3 | F8_E8M0 | F8_E4M3FNUZ | F8_E5M2FNUZ | F6_E2M3
            | F6_E3M2 | F4 => 1,
            U16 | I16 | F16 | BF16 => 2,
            U32 | I32 | F32 => 4,
            U64 | I64 | F64 | C64 => 8,
            C128 => 16,
        }
    }

    /// The rank of the reference safetensors writer's sort: tensors are written by this key
    /// descending, then by name (the reference `Dtype` enum's declaration order).
    pub(crate) fn safetensors_sort_rank(self) -> u8 {
        use FileDType::*;
        match self {
            BOOL => 0,
            F4 => 1,
            F6_E2M3 => 2,
            F6_E3M2 => 3,
            U8 => 4,
            I8 => 5,
            F8_E5M2 => 6,
            F8_E4M3 => 7,
            F8_E8M0 => 8,
            F8_E4M3FNUZ => 9,
            F8_E5M2FNUZ => 10,
            I16 => 11,
            U16 => 12,
            F16 => 13,
            BF16 => 14,
            I32 => 15,
            U32 => 16,
            F32 => 17,
            C64 => 18,
            F64 => 19,
            I64 => 20,
            U64 => 21,
            C128 => 22,
        }
    }
}

impl fmt::Display for FileDType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.safetensors_name().unwrap_or("C128"))
    }
}

/// The enum, its stable codes and the list of all of them, from one table.
macro_rules! file_errors {
    ($($(#[$doc:meta])* $v:ident => $code:literal,)*) => {
        /// Why a weights file was refused. Each rule has its own stable code (`as_str`), carried
        /// as `ErrorCode::File(..)` on the [`Error`].
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum FileError {
            $($(#[$doc])* $v,)*
        }

        impl FileError {
            pub fn as_str(&self) -> &'static str {
                match self {
                    $(FileError::$v => $code,)*
                }
            }

            /// Every code, for tests and documentation.
            pub const ALL: &'static [FileError] = &[$(FileError::$v,)*];
        }
    };
}

file_errors! {
    /// File shorter than the 8-byte header length.
    SafetensorsHeaderTooSmall => "E_SAFETENSORS_HEADER_TOO_SMALL",
    /// Header length over 100,000,000 bytes (the reference limit), or a header to write over it.
    SafetensorsHeaderTooLarge => "E_SAFETENSORS_HEADER_TOO_LARGE",
    /// The header runs past the end of the file.
    SafetensorsHeaderLength => "E_SAFETENSORS_HEADER_LENGTH",
    /// The header is not UTF-8.
    SafetensorsInvalidUtf8 => "E_SAFETENSORS_INVALID_UTF8",
    /// The header is not JSON (syntax, early end, trailing characters, nesting over 128).
    SafetensorsInvalidJson => "E_SAFETENSORS_INVALID_JSON",
    /// The header is JSON of the wrong shape: not an object, an entry not an object, a missing,
    /// repeated or mistyped field, a metadata value that is not a string.
    SafetensorsInvalidHeader => "E_SAFETENSORS_INVALID_HEADER",
    /// A tensor name or metadata key appears twice (the reference keeps the last; we refuse).
    SafetensorsDuplicateKey => "E_SAFETENSORS_DUPLICATE_KEY",
    /// A dtype name the format does not define.
    SafetensorsUnknownDtype => "E_SAFETENSORS_UNKNOWN_DTYPE",
    /// `data_offsets` not contiguous from 0 in offset order (a hole or an overlap), or end < begin.
    SafetensorsOffsets => "E_SAFETENSORS_OFFSETS",
    /// The byte size implied by shape × dtype overflows.
    SafetensorsOverflow => "E_SAFETENSORS_OVERFLOW",
    /// A sub-byte dtype whose bit count is not a whole number of bytes.
    SafetensorsMisaligned => "E_SAFETENSORS_MISALIGNED",
    /// `end - begin` differs from the size shape × dtype implies (also: bytes given to the
    /// writer of the wrong length).
    SafetensorsSizeMismatch => "E_SAFETENSORS_SIZE_MISMATCH",
    /// The data buffer is shorter than the offsets say.
    SafetensorsTruncated => "E_SAFETENSORS_TRUNCATED",
    /// Bytes after the last tensor (the buffer must end at the file's end).
    SafetensorsTrailingData => "E_SAFETENSORS_TRAILING_DATA",

    /// The data ends inside an object.
    MsgpackTruncated => "E_MSGPACK_TRUNCATED",
    /// Bytes after the root object.
    MsgpackTrailingData => "E_MSGPACK_TRAILING_DATA",
    /// The reserved type byte 0xc1.
    MsgpackInvalidByte => "E_MSGPACK_INVALID_BYTE",
    /// Containers nested deeper than 1024 (msgpack-python's own limit, reading and writing).
    MsgpackTooDeep => "E_MSGPACK_TOO_DEEP",
    /// A str that is not UTF-8 (msgpack-python with `raw=False` refuses it too).
    MsgpackInvalidUtf8 => "E_MSGPACK_INVALID_UTF8",
    /// A map key that is not a string (Flax state dicts have string keys only).
    MsgpackKeyType => "E_MSGPACK_KEY_TYPE",
    /// A map key that appears twice (Python keeps the last; we refuse).
    MsgpackDuplicateKey => "E_MSGPACK_DUPLICATE_KEY",
    /// A malformed ext payload: ndarray (ext 1/3) not `[shape ints, dtype name, bytes]`, a
    /// negative dimension, or a complex (ext 2) that is not two numbers.
    MsgpackExt => "E_MSGPACK_EXT",
    /// An ndarray dtype name that numpy/ml_dtypes would not restore (or that we do not know).
    MsgpackUnknownDtype => "E_MSGPACK_UNKNOWN_DTYPE",
    /// shape product × itemsize overflows.
    MsgpackOverflow => "E_MSGPACK_OVERFLOW",
    /// The byte count differs from shape × itemsize.
    MsgpackSizeMismatch => "E_MSGPACK_SIZE_MISMATCH",
    /// A malformed `__msgpack_chunked_array__` dict.
    MsgpackChunked => "E_MSGPACK_CHUNKED",
    /// Writing: a value msgpack cannot hold (a str, bin or ext over 2^32 - 1 bytes).
    MsgpackTooLarge => "E_MSGPACK_TOO_LARGE",
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name for a message: at most 60 characters.
pub(crate) fn show_name(s: &str) -> String {
    if s.chars().count() > 60 {
        let t: String = s.chars().take(60).collect();
        format!("{t}...")
    } else {
        s.to_string()
    }
}

/// A shape for a message: at most 8 dimensions shown.
pub(crate) fn show_shape(shape: &[usize]) -> String {
    if shape.len() > 8 {
        format!("{:?}... ({} dims)", &shape[..8], shape.len())
    } else {
        format!("{shape:?}")
    }
}

pub(crate) fn err(code: FileError, message: impl Into<String>) -> Error {
    Error::new(ErrorCode::File(code), message)
}

/// The byte offset of `part` inside `whole`, when `part` is a slice of it (what a binding needs
/// to turn an array's bytes into a view of its own mapping).
pub fn offset_in(whole: &[u8], part: &[u8]) -> Option<usize> {
    let base = whole.as_ptr() as usize;
    let p = part.as_ptr() as usize;
    if p >= base && p + part.len() <= base + whole.len() {
        Some(p - base)
    } else {
        None
    }
}

/// Which format a file is, from its first bytes (for `flaxen inspect`): a safetensors file
/// starts with a little-endian header length whose header opens with `{`; anything else is
/// tried as msgpack.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileFormat {
    Safetensors,
    Msgpack,
}

pub fn detect_format(buf: &[u8]) -> FileFormat {
    if buf.len() >= 9 {
        let n = u64::from_le_bytes(buf[..8].try_into().unwrap());
        if n >= 2 && n <= (buf.len() - 8) as u64 {
            let first = buf[8..8 + n as usize]
                .iter()
                .find(|b| !b" \t\r\n".contains(b));
            if first == Some(&b'{') {
                return FileFormat::Safetensors;
            }
        }
    }
    FileFormat::Msgpack
}
