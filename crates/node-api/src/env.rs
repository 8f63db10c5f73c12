//! `Env`: the handle every Node-API call goes through, plus the env-wide services (errors and
//! exceptions, handle scopes, instance data, external-memory accounting, cleanup hooks).
//!
//! An `Env` is only valid on the JS thread that owns it, while that environment is alive.
//! Holding a raw pointer makes it `!Send`, so it cannot leak into thread-pool work.

use std::any::TypeId;
use std::ffi::{c_void, CStr};
use std::ptr;

use crate::error::{ErrorKind, JsError, Result};
use crate::sys;
use crate::value::Value;

/// A Node-API environment (one per main thread or worker thread that loaded the addon).
#[derive(Clone, Copy, Debug)]
#[repr(transparent)]
pub struct Env(pub(crate) sys::napi_env);

thread_local! {
    /// Classes registered with `register_error_class`, by code.
    static ERROR_CLASSES: std::cell::RefCell<Vec<(String, crate::reference::Ref)>> = const { std::cell::RefCell::new(Vec::new()) };
}

impl Env {
    /// Wraps a raw `napi_env`.
    ///
    /// # Safety
    /// `raw` must be the env Node passed to the current callback (or module init), and the
    /// `Env` must only be used on that env's JS thread while the env is alive.
    pub unsafe fn from_raw(raw: sys::napi_env) -> Self {
        Env(raw)
    }

    pub fn raw(self) -> sys::napi_env {
        self.0
    }

    /// Turns a Node-API status into a `Result`.
    ///
    /// Must be called right after the call that produced `status`: the extended error info is
    /// reset by the next Node-API call.
    #[inline]
    pub fn check(self, status: sys::napi_status) -> Result<()> {
        if status == sys::napi_ok {
            Ok(())
        } else {
            Err(self.last_error(status))
        }
    }

    #[cold]
    #[inline(never)]
    fn last_error(self, status: sys::napi_status) -> JsError {
        let mut info: *const sys::napi_extended_error_info = ptr::null();
        // SAFETY: self.0 is a live env (type invariant); `info` is a valid out-pointer.
        let got = unsafe { sys::napi_get_last_error_info(self.0, &mut info) };
        let message = if got == sys::napi_ok && !info.is_null() {
            // SAFETY: Node returned a pointer to its static error-info record, valid until the
            // next Node-API call; we only read it here.
            let m = unsafe { (*info).error_message };
            // SAFETY: a non-null `error_message` is a NUL-terminated static C string.
            (!m.is_null()).then(|| unsafe { CStr::from_ptr(m) })
        } else {
            None
        };
        JsError::from_status(status, message)
    }

    /// From now on, errors with code `code` are created as `new ctor(message)` (a JS class
    /// that sets its own `name` and `code`), so callers can use `instanceof`. Per thread, as an
    /// env is: Node runs one env per thread.
    pub fn register_error_class(self, code: &str, ctor: Value) -> Result<()> {
        let r = self.create_reference(ctor, 1)?;
        ERROR_CLASSES.with(|c| {
            let mut c = c.borrow_mut();
            c.retain(|(k, _)| k != code);
            c.push((code.to_string(), r));
        });
        Ok(())
    }

    /// The registered class for `code`, if any.
    fn error_class(self, code: &str) -> Option<Value> {
        ERROR_CLASSES.with(|c| {
            let c = c.borrow();
            let (_, r) = c.iter().find(|(k, _)| k == code)?;
            self.get_reference_value(r).ok().flatten()
        })
    }

    /// Creates the JS error object for `err`: the class from `err.kind`, with `err.code` set as
    /// its `code` property (napi_create_error sets it when a code is given), or the class
    /// registered for the code.
    pub fn create_error(self, err: &JsError) -> Result<Value> {
        if let Some(ctor) = self.error_class(&err.code) {
            let msg = self.create_string(&err.message)?;
            return self.new_instance(ctor, &[msg]);
        }
        let code = if err.code.is_empty() {
            Value(ptr::null_mut())
        } else {
            self.create_string(&err.code)?
        };
        let msg = self.create_string(&err.message)?;
        let mut out = ptr::null_mut();
        // SAFETY: live env; `code` is null or a string and `msg` a string made just above in
        // the current handle scope; `out` is a valid out-pointer.
        let status = unsafe {
            match err.kind {
                ErrorKind::Error => sys::napi_create_error(self.0, code.0, msg.0, &mut out),
                ErrorKind::TypeError => {
                    sys::napi_create_type_error(self.0, code.0, msg.0, &mut out)
                }
                ErrorKind::RangeError => {
                    sys::napi_create_range_error(self.0, code.0, msg.0, &mut out)
                }
            }
        };
        self.check(status)?;
        Ok(Value(out))
    }

    /// Throws `err` as a JS exception (see [`Env::create_error`]).
    ///
    /// If an exception is already pending (JS code called from Rust threw, or a Node-API call
    /// raised one), that one is kept: it is the real cause, and throwing again would only
    /// replace it.
    pub fn throw(self, err: JsError) {
        if self.is_exception_pending() {
            return;
        }
        if let Ok(e) = self.create_error(&err) {
            self.throw_value(e);
        }
    }

    /// The JS value for `err` as a callback returns it: the pending exception if there is one
    /// (taken, so nothing stays parked in the env; a thrown non-`Error` becomes the `cause` of
    /// an `Error` with code `E_THROWN`, so the loader still recognises it), else `err` made
    /// with [`Env::create_error`].
    pub fn error_value(self, err: JsError) -> Result<Value> {
        let Some(thrown) = self.take_exception() else {
            return self.create_error(&err);
        };
        let mut is_error = false;
        // SAFETY: live env; a value of the current scope; valid out-pointer.
        self.check(unsafe { sys::napi_is_error(self.0, thrown.0, &mut is_error) })?;
        if is_error {
            return Ok(thrown);
        }
        let e = self.create_error(&JsError::error("E_THROWN", "a non-Error value was thrown (see its cause)"))?;
        self.set_named_property(e, "cause", thrown)?;
        Ok(e)
    }

    /// Throws an arbitrary JS value.
    pub fn throw_value(self, value: Value) {
        // SAFETY: live env and a value from the current scope. A failure leaves nothing to do.
        unsafe { sys::napi_throw(self.0, value.0) };
    }

    pub fn is_exception_pending(self) -> bool {
        let mut pending = false;
        // SAFETY: live env; valid out-pointer.
        let status = unsafe { sys::napi_is_exception_pending(self.0, &mut pending) };
        status == sys::napi_ok && pending
    }

    /// Takes the pending exception (if any) so that it can be handled in Rust, e.g. passed on as
    /// a promise rejection.
    pub fn take_exception(self) -> Option<Value> {
        if !self.is_exception_pending() {
            return None;
        }
        let mut out = ptr::null_mut();
        // SAFETY: live env; valid out-pointer.
        let status = unsafe { sys::napi_get_and_clear_last_exception(self.0, &mut out) };
        (status == sys::napi_ok && !out.is_null()).then_some(Value(out))
    }

    /// Runs `f` inside a fresh handle scope, so the `Value`s it creates are released when it
    /// returns. Use it in long native loops that create JS values; `f` must not return or store
    /// any `Value` created inside it (use a [`crate::Ref`] to keep one).
    pub fn with_handle_scope<R>(self, f: impl FnOnce(Env) -> R) -> Result<R> {
        struct Scope(Env, sys::napi_handle_scope);
        impl Drop for Scope {
            fn drop(&mut self) {
                // SAFETY: the scope was opened on this env and is the innermost one: anything
                // opened inside `f` was closed before `f` returned or unwound.
                unsafe { sys::napi_close_handle_scope(self.0 .0, self.1) };
            }
        }
        let mut raw = ptr::null_mut();
        // SAFETY: live env; valid out-pointer.
        self.check(unsafe { sys::napi_open_handle_scope(self.0, &mut raw) })?;
        let _scope = Scope(self, raw);
        Ok(f(self))
    }

    /// Tells V8 that `delta` bytes of native memory were allocated (positive) or freed
    /// (negative) on behalf of JS objects, so it can schedule GC by the real memory pressure.
    /// Returns V8's adjusted total.
    ///
    /// Not for finalizers (see the crate docs): report frees from the next ordinary call.
    pub fn adjust_external_memory(self, delta: i64) -> Result<i64> {
        let mut total = 0;
        // SAFETY: live env; valid out-pointer.
        self.check(unsafe { sys::napi_adjust_external_memory(self.0, delta, &mut total) })?;
        Ok(total)
    }

    /// Stores `data` as this env's instance data, dropped when the env is torn down.
    ///
    /// Per-env state (cached constructors, references) must live here rather than in a
    /// `static`: every worker thread that loads the addon has its own env, and JS values of one
    /// env are meaningless in another. Fails if instance data was already set, because Node
    /// replaces old data without finalizing it and outstanding `&T` would dangle; put a `Cell`
    /// or `RefCell` inside `T` for mutable state.
    pub fn set_instance_data<T: 'static>(self, data: T) -> Result<()> {
        if self.raw_instance_data()?.is_some() {
            return Err(JsError::error(
                "E_INSTANCE_DATA",
                "instance data is already set for this env",
            ));
        }
        let slot = Box::into_raw(Box::new(InstanceSlot {
            type_id: TypeId::of::<T>(),
            value: data,
        }));
        // SAFETY: live env; `slot` is a leaked box that `drop_instance_slot::<T>` frees exactly
        // once, when Node finalizes the instance data at env teardown.
        let status = unsafe {
            sys::napi_set_instance_data(
                self.0,
                slot.cast(),
                Some(drop_instance_slot::<T>),
                ptr::null_mut(),
            )
        };
        if let Err(e) = self.check(status) {
            // SAFETY: Node did not take the pointer, so we still own the box.
            drop(unsafe { Box::from_raw(slot) });
            return Err(e);
        }
        Ok(())
    }

    /// This env's instance data, if it was set with the same type `T`.
    ///
    /// The reference is valid while the env is alive, i.e. during any callback on it.
    pub fn instance_data<'a, T: 'static>(self) -> Option<&'a T> {
        let p = self.raw_instance_data().ok()??;
        // SAFETY: every instance data of this env was stored by `set_instance_data` as an
        // `InstanceSlot<_>`, which is `repr(C)` with `type_id` first, so reading a `TypeId` at
        // offset 0 is valid whatever the stored type is.
        let stored = unsafe { *(p as *const TypeId) };
        if stored != TypeId::of::<T>() {
            return None;
        }
        // SAFETY: the type ids match, so `p` is an `InstanceSlot<T>`; it lives until env
        // teardown and is never mutated (set_instance_data refuses to replace it).
        Some(unsafe { &(*(p as *const InstanceSlot<T>)).value })
    }

    fn raw_instance_data(self) -> Result<Option<*mut c_void>> {
        let mut p = ptr::null_mut();
        // SAFETY: live env; valid out-pointer.
        self.check(unsafe { sys::napi_get_instance_data(self.0, &mut p) })?;
        Ok((!p.is_null()).then_some(p))
    }

    /// Runs `f` when this env is torn down (process exit or worker termination). `f` runs
    /// pure Rust only: the env is going away.
    pub fn add_cleanup_hook(self, f: impl FnOnce() + 'static) -> Result<()> {
        let arg: *mut Box<dyn FnOnce()> = Box::into_raw(Box::new(Box::new(f)));
        // SAFETY: live env; `arg` is a leaked box that `run_cleanup_hook` frees exactly once.
        let status =
            unsafe { sys::napi_add_env_cleanup_hook(self.0, Some(run_cleanup_hook), arg.cast()) };
        if let Err(e) = self.check(status) {
            // SAFETY: Node did not take the pointer, so we still own the box.
            drop(unsafe { Box::from_raw(arg) });
            return Err(e);
        }
        Ok(())
    }
}

/// How instance data is stored: the type id first, so [`Env::instance_data`] can check the type
/// before trusting the pointer.
#[repr(C)]
struct InstanceSlot<T> {
    type_id: TypeId,
    value: T,
}

unsafe extern "C" fn drop_instance_slot<T>(
    _env: sys::napi_env,
    data: *mut c_void,
    _hint: *mut c_void,
) {
    // SAFETY: `data` is the `InstanceSlot<T>` box leaked by `set_instance_data::<T>`; Node calls
    // this finalizer once. Only Rust runs here; a panicking Drop is contained.
    let slot = unsafe { Box::from_raw(data as *mut InstanceSlot<T>) };
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || drop(slot)));
}

unsafe extern "C" fn run_cleanup_hook(arg: *mut c_void) {
    // SAFETY: `arg` is the box leaked by `add_cleanup_hook`; Node runs each hook once.
    let f = unsafe { Box::from_raw(arg as *mut Box<dyn FnOnce()>) };
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
}
