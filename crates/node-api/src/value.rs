//! `Value` and the plain value helpers: primitives, strings, arrays, objects.
//!
//! A `Value` is a handle in the current handle scope: it is valid until the native callback
//! (or [`Env::with_handle_scope`] closure) that created it returns. Never store one across
//! calls; keep a [`crate::Ref`] instead.

use std::ffi::{c_char, CString};
use std::ptr;

use crate::env::Env;
use crate::error::{JsError, Result, E_TYPE};
use crate::sys;

/// A JS value handle (a `napi_value`). `Copy` because it is just a pointer into the handle
/// scope; `#[repr(transparent)]` so a `&[Value]` can be passed to Node as `napi_value*`.
#[derive(Clone, Copy, Debug)]
#[repr(transparent)]
pub struct Value(pub(crate) sys::napi_value);

impl Value {
    /// Wraps a raw `napi_value`.
    ///
    /// # Safety
    /// `raw` must be a live handle of the env it will be used with (in the current scope).
    pub unsafe fn from_raw(raw: sys::napi_value) -> Self {
        Value(raw)
    }

    pub fn raw(self) -> sys::napi_value {
        self.0
    }
}

/// The result of `typeof`, as Node-API reports it (`null` has its own variant; externals are
/// distinguished from objects).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ValueType {
    Undefined,
    Null,
    Boolean,
    Number,
    String,
    Symbol,
    Object,
    Function,
    External,
    BigInt,
}

impl ValueType {
    fn from_raw(t: sys::napi_valuetype) -> Self {
        match t {
            sys::napi_undefined => ValueType::Undefined,
            sys::napi_null => ValueType::Null,
            sys::napi_boolean => ValueType::Boolean,
            sys::napi_number => ValueType::Number,
            sys::napi_string => ValueType::String,
            sys::napi_symbol => ValueType::Symbol,
            sys::napi_function => ValueType::Function,
            sys::napi_external => ValueType::External,
            sys::napi_bigint => ValueType::BigInt,
            // napi_object, and anything a later Node may add.
            _ => ValueType::Object,
        }
    }
}

/// Calls `f` with `name` as a NUL-terminated C string. Names are short property keys, so they
/// are copied to the stack rather than allocated; long ones fall back to a `CString`.
pub(crate) fn with_cstr<R>(name: &str, f: impl FnOnce(*const c_char) -> R) -> Result<R> {
    const STACK: usize = 64;
    let bytes = name.as_bytes();
    if bytes.contains(&0) {
        return Err(JsError::type_error(
            E_TYPE,
            format!("property name {name:?} contains a NUL byte"),
        ));
    }
    if bytes.len() < STACK {
        let mut buf = [0u8; STACK];
        buf[..bytes.len()].copy_from_slice(bytes);
        Ok(f(buf.as_ptr().cast()))
    } else {
        // Cannot fail: NUL bytes were rejected above.
        let c = CString::new(bytes).map_err(|e| JsError::type_error(E_TYPE, e.to_string()))?;
        Ok(f(c.as_ptr()))
    }
}

/// Declares an `Env` method that calls a Node-API getter `f(env, ..inputs, &mut out)`.
macro_rules! getter {
    ($(#[$m:meta])* $name:ident($($arg:ident: $ty:ty => $conv:expr),*) -> $out:ty = $init:expr, $f:path, $wrap:expr) => {
        $(#[$m])*
        pub fn $name(self $(, $arg: $ty)*) -> Result<$out> {
            let mut out = $init;
            // SAFETY: live env (type invariant of `Env`); the inputs are handles of the current
            // scope or plain numbers; `out` is a valid out-pointer of the type Node writes.
            self.check(unsafe { $f(self.0 $(, $conv)*, &mut out) })?;
            #[allow(clippy::redundant_closure_call)]
            Ok(($wrap)(out))
        }
    };
}

impl Env {
    getter!(/** `undefined` */ undefined() -> Value = ptr::null_mut(), sys::napi_get_undefined, Value);
    getter!(/** `null` */ null() -> Value = ptr::null_mut(), sys::napi_get_null, Value);
    getter!(/** `globalThis` */ global() -> Value = ptr::null_mut(), sys::napi_get_global, Value);
    getter!(create_bool(v: bool => v) -> Value = ptr::null_mut(), sys::napi_get_boolean, Value);
    getter!(create_f64(v: f64 => v) -> Value = ptr::null_mut(), sys::napi_create_double, Value);
    getter!(create_i32(v: i32 => v) -> Value = ptr::null_mut(), sys::napi_create_int32, Value);
    getter!(create_u32(v: u32 => v) -> Value = ptr::null_mut(), sys::napi_create_uint32, Value);
    getter!(/** Loses precision above 2^53, like any JS number. */
        create_i64(v: i64 => v) -> Value = ptr::null_mut(), sys::napi_create_int64, Value);

    getter!(/** A JS number as `f64`; TypeError `E_TYPE` if not a number. */
        get_f64(v: Value => v.0) -> f64 = 0.0, sys::napi_get_value_double, |x| x);
    getter!(/** A JS number truncated to `i32` (Node-API semantics: NaN/±inf give 0). */
        get_i32(v: Value => v.0) -> i32 = 0, sys::napi_get_value_int32, |x| x);
    getter!(/** A JS number truncated to `u32` (Node-API semantics: wraps like `>>> 0`). */
        get_u32(v: Value => v.0) -> u32 = 0, sys::napi_get_value_uint32, |x| x);
    getter!(/** A JS number truncated to `i64` (Node-API semantics). */
        get_i64(v: Value => v.0) -> i64 = 0, sys::napi_get_value_int64, |x| x);
    getter!(/** A JS boolean; TypeError `E_TYPE` if not a boolean (no coercion). */
        get_bool(v: Value => v.0) -> bool = false, sys::napi_get_value_bool, |x| x);

    getter!(/** `typeof v`, Node-API flavour. */
        type_of(v: Value => v.0) -> ValueType = sys::napi_undefined, sys::napi_typeof, ValueType::from_raw);
    getter!(is_array(v: Value => v.0) -> bool = false, sys::napi_is_array, |x| x);
    getter!(is_typedarray(v: Value => v.0) -> bool = false, sys::napi_is_typedarray, |x| x);
    getter!(is_arraybuffer(v: Value => v.0) -> bool = false, sys::napi_is_arraybuffer, |x| x);

    getter!(create_object() -> Value = ptr::null_mut(), sys::napi_create_object, Value);
    getter!(/** A JS array of `len` holes. */
        create_array(len: usize => len) -> Value = ptr::null_mut(), sys::napi_create_array_with_length, Value);
    getter!(/** `arr.length`; TypeError `E_TYPE` if not an array. */
        array_len(arr: Value => arr.0) -> u32 = 0, sys::napi_get_array_length, |x| x);
    getter!(/** `obj[index]` */
        get_element(obj: Value => obj.0, index: u32 => index) -> Value = ptr::null_mut(), sys::napi_get_element, Value);
    getter!(/** `obj[key]` */
        get_property(obj: Value => obj.0, key: Value => key.0) -> Value = ptr::null_mut(), sys::napi_get_property, Value);

    /// A JS string from UTF-8.
    pub fn create_string(self, s: &str) -> Result<Value> {
        let mut out = ptr::null_mut();
        // SAFETY: live env; `s` is valid for `s.len()` bytes of UTF-8 (explicit length, so no
        // NUL terminator is needed); valid out-pointer.
        self.check(unsafe {
            sys::napi_create_string_utf8(self.0, s.as_ptr().cast(), s.len(), &mut out)
        })?;
        Ok(Value(out))
    }

    /// A JS string as UTF-8; TypeError `E_TYPE` if not a string (no coercion).
    pub fn get_string(self, v: Value) -> Result<String> {
        let mut len = 0usize;
        // SAFETY: live env; a null buffer asks Node for the length only.
        self.check(unsafe {
            sys::napi_get_value_string_utf8(self.0, v.0, ptr::null_mut(), 0, &mut len)
        })?;
        let mut buf = vec![0u8; len + 1];
        let mut written = 0usize;
        // SAFETY: `buf` has room for `len` bytes plus the NUL terminator Node always writes.
        self.check(unsafe {
            sys::napi_get_value_string_utf8(
                self.0,
                v.0,
                buf.as_mut_ptr().cast(),
                buf.len(),
                &mut written,
            )
        })?;
        buf.truncate(written);
        // Node writes whole UTF-8 characters, so this only fails if V8 broke its contract.
        String::from_utf8(buf).map_err(|e| JsError::error("E_NAPI", e.to_string()))
    }

    /// `arr[index] = value`
    pub fn set_element(self, arr: Value, index: u32, value: Value) -> Result<()> {
        // SAFETY: live env; handles of the current scope.
        self.check(unsafe { sys::napi_set_element(self.0, arr.0, index, value.0) })
    }

    /// `obj[key] = value`
    pub fn set_property(self, obj: Value, key: Value, value: Value) -> Result<()> {
        // SAFETY: live env; handles of the current scope.
        self.check(unsafe { sys::napi_set_property(self.0, obj.0, key.0, value.0) })
    }

    /// `obj.name`
    pub fn get_named_property(self, obj: Value, name: &str) -> Result<Value> {
        let mut out = ptr::null_mut();
        // SAFETY: live env; `c` is a NUL-terminated string alive during the call; valid
        // out-pointer.
        let status = with_cstr(name, |c| unsafe {
            sys::napi_get_named_property(self.0, obj.0, c, &mut out)
        })?;
        self.check(status)?;
        Ok(Value(out))
    }

    /// `obj.name = value`
    pub fn set_named_property(self, obj: Value, name: &str, value: Value) -> Result<()> {
        // SAFETY: live env; `c` is a NUL-terminated string alive during the call.
        let status = with_cstr(name, |c| unsafe {
            sys::napi_set_named_property(self.0, obj.0, c, value.0)
        })?;
        self.check(status)
    }

    /// `name in obj`
    pub fn has_named_property(self, obj: Value, name: &str) -> Result<bool> {
        let mut out = false;
        // SAFETY: live env; `c` is a NUL-terminated string alive during the call; valid
        // out-pointer.
        let status = with_cstr(name, |c| unsafe {
            sys::napi_has_named_property(self.0, obj.0, c, &mut out)
        })?;
        self.check(status)?;
        Ok(out)
    }
}
