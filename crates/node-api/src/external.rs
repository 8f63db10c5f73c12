//! Externals: JS values that own a boxed Rust value, with a type tag so that a value of the
//! wrong kind coming back from JS is a TypeError instead of a wild pointer cast.

use std::any::TypeId;
use std::ffi::c_void;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;

use crate::bulk::{queue_box, BulkValue};
use crate::env::Env;
use crate::error::{JsError, Result, E_TYPE};
use crate::sys;
use crate::value::Value;

/// A 128-bit type tag (`napi_type_tag`). Give every native type its own random constant, e.g.
/// `static TENSOR_TAG: TypeTag = TypeTag::new(0x8d1c_..., 0x41f2_...);`
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(C)]
pub struct TypeTag {
    pub lower: u64,
    pub upper: u64,
}

impl TypeTag {
    pub const fn new(lower: u64, upper: u64) -> Self {
        TypeTag { lower, upper }
    }

    pub(crate) fn raw(&self) -> *const sys::napi_type_tag {
        // `TypeTag` is repr(C) with the same two u64 fields as napi_type_tag.
        (self as *const TypeTag).cast()
    }
}

/// The short name of `T` for "expected a ..." messages (`flaxen::TensorHandle` -> `TensorHandle`).
pub(crate) fn short_type_name<T>() -> &'static str {
    let full = std::any::type_name::<T>();
    let base = full.split('<').next().unwrap_or(full);
    base.rsplit("::").next().unwrap_or(base)
}

pub(crate) fn expected<T>() -> JsError {
    JsError::type_error(E_TYPE, format!("expected a {}", short_type_name::<T>()))
}

/// How externals and wraps store their value: the type id first, so that even two Rust types
/// sharing a tag by mistake cannot be confused (the tag is the cheap first check, this is the
/// guarantee).
#[repr(C)]
pub(crate) struct Tagged<T> {
    type_id: TypeId,
    pub(crate) value: T,
}

impl<T: 'static> Tagged<T> {
    pub(crate) fn boxed(value: T) -> *mut Tagged<T> {
        Box::into_raw(Box::new(Tagged {
            type_id: TypeId::of::<T>(),
            value,
        }))
    }

    /// # Safety
    /// `p` must point to a live `Tagged<U>` for some `U` (any `U`: only the repr(C) header is
    /// read before the type is confirmed).
    pub(crate) unsafe fn cast<'a>(p: *mut c_void) -> Option<&'a Tagged<T>> {
        // SAFETY: the caller guarantees a `Tagged<_>`, whose first field (offset 0, repr(C)) is
        // a TypeId; the cast to `Tagged<T>` happens only once the ids match.
        unsafe { (*(p as *const TypeId) == TypeId::of::<T>()).then(|| &*(p as *const Tagged<T>)) }
    }
}

/// Finalizer of externals and wraps: drops the `Box<Tagged<T>>` passed as the data.
///
/// Runs synchronously inside GC under the experimental module version, so it must stay pure
/// Rust: no Node-API call at all (see the crate docs).
pub(crate) unsafe extern "C" fn drop_box<T>(
    _env: sys::napi_env,
    data: *mut c_void,
    _hint: *mut c_void,
) {
    // SAFETY: `data` is the `Box<Tagged<T>>` leaked by `create_external::<T>` or `wrap::<T>`;
    // Node calls the finalizer once.
    let boxed = unsafe { Box::from_raw(data as *mut Tagged<T>) };
    // A panicking Drop must not unwind into V8's GC; leaking its remains is the lesser evil.
    let _ = catch_unwind(AssertUnwindSafe(move || drop(boxed)));
}

impl Env {
    /// Marks an object (or external) with `tag`. An object can be tagged only once.
    pub fn type_tag_object(self, v: Value, tag: &TypeTag) -> Result<()> {
        // SAFETY: live env; handle of the current scope; `tag.raw()` points to a napi_type_tag
        // that Node copies.
        self.check(unsafe { sys::napi_type_tag_object(self.0, v.0, tag.raw()) })
    }

    /// Whether `v` carries `tag`.
    pub fn check_type_tag(self, v: Value, tag: &TypeTag) -> Result<bool> {
        let mut out = false;
        // SAFETY: as in `type_tag_object`; valid out-pointer.
        self.check(unsafe { sys::napi_check_object_type_tag(self.0, v.0, tag.raw(), &mut out) })?;
        Ok(out)
    }

    /// A JS external owning `value` (boxed), tagged with `tag`. The box is dropped by the
    /// finalizer when the external is collected.
    pub fn create_external<T: 'static>(self, value: T, tag: &'static TypeTag) -> Result<Value> {
        let (out, _) = self.external_with(value, drop_box::<T>)?;
        // If tagging fails the external still owns the box; the finalizer frees it.
        self.type_tag_object(out, tag)?;
        Ok(out)
    }

    /// [`Env::create_external`] for values made and collected in bulk: the finalizer only
    /// queues the box, and queued boxes are dropped in batches (see `bulk`).
    pub fn create_bulk_external<T: BulkValue>(self, value: T, tag: &'static TypeTag) -> Result<Value> {
        let (out, _) = self.external_with(value, queue_box::<T>)?;
        // If tagging fails the external still owns the box; the finalizer queues it.
        self.type_tag_object(out, tag)?;
        Ok(out)
    }

    /// The external and its box.
    fn external_with<T: 'static>(self, value: T, finalize: unsafe extern "C" fn(sys::napi_env, *mut c_void, *mut c_void)) -> Result<(Value, *mut Tagged<T>)> {
        let data = Tagged::boxed(value);
        let mut out = ptr::null_mut();
        // SAFETY: live env; `data` is a leaked box that `finalize` (drop_box::<T> or
        // queue_box::<T>) frees exactly once; valid out-pointer.
        let status = unsafe {
            sys::napi_create_external(
                self.0,
                data.cast(),
                Some(finalize),
                ptr::null_mut(),
                &mut out,
            )
        };
        if let Err(e) = self.check(status) {
            // SAFETY: Node did not take the pointer, so we still own the box.
            drop(unsafe { Box::from_raw(data) });
            return Err(e);
        }
        Ok((Value(out), data))
    }

    /// The Rust value inside an external made by [`Env::create_external`] with the same `tag`;
    /// TypeError `E_TYPE` ("expected a T") for anything else.
    ///
    /// The reference is valid while `v` is reachable, which the current callback's handle scope
    /// guarantees until it returns: do not keep it beyond that. Use interior mutability
    /// (`Cell`, `RefCell`) for state that changes.
    /// [`Env::get_external`] without building an error: `None` for anything that is not an
    /// external of this type. Non-externals are turned away by `napi_get_value_external`
    /// before the tag check (which would box a number into an object), so probing a number or
    /// `undefined` costs one failed call.
    pub fn try_external<'a, T: 'static>(self, v: Value, tag: &TypeTag) -> Option<&'a T> {
        let mut data = ptr::null_mut();
        // SAFETY: live env; `data` is a valid out-pointer; the pointer is not read unless the
        // type tag below proves the external is one of ours.
        if unsafe { sys::napi_get_value_external(self.0, v.0, &mut data) } != sys::napi_ok {
            return None;
        }
        if !self.check_type_tag(v, tag).unwrap_or(false) {
            return None;
        }
        // SAFETY: the tag says `create_external` made this external, so `data` is a live
        // `Tagged` box; `cast` checks the Rust type.
        unsafe { Tagged::<T>::cast(data) }.map(|t| &t.value)
    }

    pub fn get_external<'a, T: 'static>(self, v: Value, tag: &TypeTag) -> Result<&'a T> {
        // The tag check fails (or errors, for non-objects) on anything we did not tag, and only
        // externals are tagged by `create_external`; `napi_get_value_external` then rejects any
        // other tagged object. No `typeof` call is needed on this hot path.
        if !self.check_type_tag(v, tag).unwrap_or(false) {
            // For `undefined`/`null` the check itself throws ("Cannot convert undefined or null
            // to object"); drop that so the caller's typed error is the one JS sees.
            let _ = self.take_exception();
            return Err(expected::<T>());
        }
        let mut data = ptr::null_mut();
        // SAFETY: live env; `v` is an external; valid out-pointer.
        self.check(unsafe { sys::napi_get_value_external(self.0, v.0, &mut data) })?;
        // SAFETY: externals carrying one of our tags are only made by `create_external`, so
        // `data` is a live `Tagged<_>`, kept alive by the handle `v` until the callback returns.
        let tagged = unsafe { Tagged::<T>::cast(data) }.ok_or_else(expected::<T>)?;
        Ok(&tagged.value)
    }
}
