//! `Ref`: a JS value kept beyond the current callback (e.g. a cached class constructor in the
//! env's instance data).
//!
//! A `Ref` has no `Drop`: releasing it takes a Node-API call, which needs an `Env` and is not
//! allowed from finalizers. Call [`Env::delete_reference`] when done; references still alive at
//! env teardown (e.g. inside instance data) are freed by Node itself.

use std::ptr;

use crate::env::Env;
use crate::error::Result;
use crate::sys;
use crate::value::Value;

/// A `napi_ref`. Strong while its count is above zero, weak at zero. `!Send`: it belongs to the
/// env that created it.
#[derive(Debug)]
pub struct Ref(sys::napi_ref);

impl Ref {
    pub fn raw(&self) -> sys::napi_ref {
        self.0
    }
}

impl Env {
    /// A reference to `value` with the given initial count (1 keeps the value alive, 0 is weak).
    pub fn create_reference(self, value: Value, initial_refcount: u32) -> Result<Ref> {
        let mut out = ptr::null_mut();
        // SAFETY: live env; `value` is a handle of the current scope; valid out-pointer.
        self.check(unsafe {
            sys::napi_create_reference(self.0, value.0, initial_refcount, &mut out)
        })?;
        Ok(Ref(out))
    }

    /// The referenced value, or `None` if it was weak and has been collected.
    pub fn get_reference_value(self, r: &Ref) -> Result<Option<Value>> {
        let mut out = ptr::null_mut();
        // SAFETY: live env; `r` was created on this env (a `Ref` never leaves its thread) and
        // not yet deleted (deleting consumes it); valid out-pointer.
        self.check(unsafe { sys::napi_get_reference_value(self.0, r.0, &mut out) })?;
        Ok((!out.is_null()).then_some(Value(out)))
    }

    /// Deletes the reference; the value may then be collected.
    pub fn delete_reference(self, r: Ref) -> Result<()> {
        // SAFETY: live env; `r` is consumed, so it is deleted exactly once.
        self.check(unsafe { sys::napi_delete_reference(self.0, r.0) })
    }
}
