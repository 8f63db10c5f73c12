//! A small Node-API layer for flaxen, written from Node's C headers (no `napi` crates, no
//! dependencies): raw declarations in [`sys`] and thin safe wrappers around them.
//!
//! # Model
//! * [`Env`] and [`Value`] are `Copy` handles, valid on the env's JS thread during the current
//!   native call. Every wrapper checks the `napi_status` and returns [`Result`]; a failed call
//!   becomes a [`JsError`] built from `napi_get_last_error_info`.
//! * Native functions are plain `fn(Env, CallbackInfo) -> Result<Value, JsError>` pointers
//!   ([`Callback`]); one trampoline turns `Err` into a thrown JS error with a `code` property and
//!   a panic into an `Error` with code `E_PANIC`.
//! * Per-env state lives in [`Env::set_instance_data`], never in statics, so the addon can be
//!   loaded by several worker threads at once.
//!
//! # Finalizers
//! The addon declares module API version `NAPI_VERSION_EXPERIMENTAL` (see
//! [`register_module!`]), under which Node runs the finalizers of externals and wraps
//! synchronously inside GC. Node aborts the process ("Finalizer is calling a function that may
//! affect GC state") if such a finalizer calls a Node-API function that needs a full
//! `napi_env`: creating or reading values, throwing, references, `napi_delete_async_work` and so
//! on. Only the "basic" functions taking `node_api_basic_env` (e.g.
//! `napi_adjust_external_memory`, `napi_get_instance_data`) are tolerated. This crate's
//! finalizers call none of them: they drop a Rust box and nothing else, so a `Drop` impl of a
//! value stored in an external, a wrap or an external ArrayBuffer owner must be pure Rust too
//! (drop an `Arc`, update an atomic counter). Report freed memory to V8 from the next ordinary
//! call instead.
//!
//! External ArrayBuffers follow the same rule: their owner hangs on the ArrayBuffer object
//! (`napi_add_finalizer`), because the finalizer of `napi_create_external_arraybuffer` itself is
//! deferred by Node to the next event-loop turn (see [`Env::create_external_arraybuffer`]).

pub mod sys;

mod async_work;
mod class;
mod completer;
pub mod bulk;
mod env;
mod error;
mod external;
mod function;
pub mod module;
mod reference;
mod typedarray;
mod value;

pub use completer::{Completer, Settle};
pub use bulk::BulkValue;
pub use env::Env;
pub use error::{set_panic_translator, ErrorKind, JsError, PanicTranslator, Result, E_PANIC, E_TYPE};
pub use external::TypeTag;
pub use function::{Callback, CallbackInfo, MAX_ARGS};
pub use reference::Ref;
pub use typedarray::{TypedArrayElement, TypedArrayInfo, TypedArrayType};
pub use value::{Value, ValueType};
