//! `JsError`: the one error type of this crate.
//!
//! Every wrapper returns `Result<_, JsError>`, so a binding function can use `?` all the way up
//! to the callback trampoline, which turns the error into a thrown JS exception whose class
//! follows [`ErrorKind`] and whose `code` property is [`JsError::code`] (JS code switches on
//! `err.code`, never on the message).

use std::any::Any;
use std::ffi::CStr;
use std::fmt;

use crate::sys;

/// `Result` with [`JsError`] as the default error.
pub type Result<T, E = JsError> = std::result::Result<T, E>;

/// Which JS error class an error becomes when thrown.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    Error,
    TypeError,
    RangeError,
}

/// An error bound for JS: a class, a stable `code` and a human message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JsError {
    pub kind: ErrorKind,
    pub code: String,
    pub message: String,
}

/// Code of the errors made from Rust panics.
pub const E_PANIC: &str = "E_PANIC";
/// Code of the errors raised when a value has the wrong JS type (or the wrong native type).
pub const E_TYPE: &str = "E_TYPE";

impl JsError {
    pub fn new(kind: ErrorKind, code: impl Into<String>, message: impl Into<String>) -> Self {
        JsError {
            kind,
            code: code.into(),
            message: message.into(),
        }
    }
    /// A plain `Error`.
    pub fn error(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Error, code, message)
    }
    /// A `TypeError`.
    pub fn type_error(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::TypeError, code, message)
    }
    /// A `RangeError`.
    pub fn range_error(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::RangeError, code, message)
    }

    /// The error for a caught panic: what the translator set with [`set_panic_translator`] makes
    /// of the payload, else code `E_PANIC` with the panic message as message.
    pub fn from_panic(payload: &(dyn Any + Send)) -> Self {
        if let Some(translate) = PANIC_TRANSLATOR.get() {
            if let Some(e) = translate(payload) {
                return e;
            }
        }
        let msg = if let Some(s) = payload.downcast_ref::<&'static str>() {
            (*s).to_owned()
        } else if let Some(s) = payload.downcast_ref::<String>() {
            s.clone()
        } else {
            "native code panicked".to_owned()
        };
        Self::error(E_PANIC, msg)
    }

    /// The error for a failed Node-API call, from the status and napi's own message.
    ///
    /// `*_expected` statuses mean JS passed a value of the wrong type, so they become a
    /// `TypeError` with code `E_TYPE`; anything else is an internal failure (`E_NAPI`).
    pub(crate) fn from_status(status: sys::napi_status, napi_message: Option<&CStr>) -> Self {
        let text = napi_message
            .map(|m| m.to_string_lossy().into_owned())
            .unwrap_or_else(|| format!("Node-API call failed with status {status}"));
        match status {
            sys::napi_object_expected
            | sys::napi_string_expected
            | sys::napi_name_expected
            | sys::napi_function_expected
            | sys::napi_number_expected
            | sys::napi_boolean_expected
            | sys::napi_array_expected
            | sys::napi_bigint_expected
            | sys::napi_date_expected
            | sys::napi_arraybuffer_expected
            | sys::napi_detachable_arraybuffer_expected => Self::type_error(E_TYPE, text),
            sys::napi_pending_exception => Self::error("E_PENDING_EXCEPTION", text),
            _ => Self::error("E_NAPI", format!("{text} (napi_status {status})")),
        }
    }
}

/// Turns a panic payload the addon raised on purpose into its error (None: an ordinary panic).
pub type PanicTranslator = fn(&(dyn Any + Send)) -> Option<JsError>;

static PANIC_TRANSLATOR: std::sync::OnceLock<PanicTranslator> = std::sync::OnceLock::new();

/// Lets the addon map its own panic payloads (say, a refused allocation deep in a kernel) to
/// coded errors instead of `E_PANIC`. The first call wins; later calls are ignored.
pub fn set_panic_translator(f: PanicTranslator) {
    let _ = PANIC_TRANSLATOR.set(f);
}

impl fmt::Display for JsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} [{}]: {}", self.kind, self.code, self.message)
    }
}

impl std::error::Error for JsError {}
