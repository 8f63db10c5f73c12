//! Errors of the core. Every failure carries a stable machine-readable code (the binding puts it
//! on the JS Error as `code`) and a message that names the offending argument and what was
//! expected, so a user can fix the call without reading Rust.

use std::fmt;

/// Stable error categories. The string forms are part of the JS API.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// Shapes do not fit (wrong element count, non-broadcastable, wrong rank...).
    Shape,
    /// Unsupported or mismatched dtype.
    DType,
    /// Any other bad argument (bad axis, negative size, step 0...).
    Arg,
    /// Used by the binding: the tensor was disposed. The core never raises it.
    Disposed,
    /// Used by the binding: a Rust panic was caught at the boundary.
    Panic,
    /// A cancellable run was cancelled.
    Aborted,
    /// A buffer larger than the byte cap (`storage::max_bytes`) or than the allocator could
    /// give was requested. The binding throws it as a `RangeError`.
    Alloc,
    /// A value that does not fit the dtype it must take (an int64 in a file beyond int32).
    Range,
    /// A file that does not exist (Node's code for it).
    NotFound,
    /// Any other failure reading or writing a file.
    Io,
    /// A malformed or unsupported weights file (safetensors, Flax msgpack). The inner code
    /// names the rule that failed (`E_SAFETENSORS_...`, `E_MSGPACK_...`; see `crate::io`).
    File(crate::io::FileError),
}

impl ErrorCode {
    pub fn as_str(&self) -> &'static str {
        match self {
            ErrorCode::Shape => "E_SHAPE",
            ErrorCode::DType => "E_DTYPE",
            ErrorCode::Arg => "E_ARG",
            ErrorCode::Disposed => "E_DISPOSED",
            ErrorCode::Panic => "E_PANIC",
            ErrorCode::Aborted => "ABORT_ERR",
            ErrorCode::Alloc => "E_ALLOC",
            ErrorCode::Range => "E_RANGE",
            ErrorCode::NotFound => "ENOENT",
            ErrorCode::Io => "E_IO",
            ErrorCode::File(f) => f.as_str(),
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error: a code plus a human message. `Display` prints only the message (the code travels
/// separately so the binding can set `err.code`); `Debug` shows both.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    pub code: ErrorCode,
    pub message: String,
}

impl Error {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Error {
        Error {
            code,
            message: message.into(),
        }
    }
    pub fn shape(message: impl Into<String>) -> Error {
        Error::new(ErrorCode::Shape, message)
    }
    pub fn dtype(message: impl Into<String>) -> Error {
        Error::new(ErrorCode::DType, message)
    }
    pub fn arg(message: impl Into<String>) -> Error {
        Error::new(ErrorCode::Arg, message)
    }
    pub fn disposed(message: impl Into<String>) -> Error {
        Error::new(ErrorCode::Disposed, message)
    }
    pub fn panic(message: impl Into<String>) -> Error {
        Error::new(ErrorCode::Panic, message)
    }
    pub fn alloc(message: impl Into<String>) -> Error {
        Error::new(ErrorCode::Alloc, message)
    }
    pub fn file(code: crate::io::FileError, message: impl Into<String>) -> Error {
        Error::new(ErrorCode::File(code), message)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

pub type Result<T> = std::result::Result<T, Error>;
