//! JS classes backed by Rust values (`napi_define_class` + `napi_wrap`).
//!
//! The constructor callback receives the new object as `this` and attaches the Rust value with
//! [`Env::wrap`]; methods get it back with [`Env::unwrap`], which checks a type tag first so a
//! method called on a foreign object (`Foo.prototype.m.call({})`) is a TypeError.

use std::ptr;

use crate::env::Env;
use crate::error::Result;
use crate::external::{drop_box, expected, Tagged, TypeTag};
use crate::function::{callback_data, trampoline, Callback};
use crate::sys;
use crate::value::{Value, ValueType};

impl Env {
    /// Defines a class `name` whose constructor runs `constructor` and whose prototype has
    /// `methods` (writable, configurable, not enumerable, like class syntax). Returns the
    /// constructor function; cache it in instance data (via a [`crate::Ref`]) to reuse it.
    pub fn define_class(
        self,
        name: &str,
        constructor: Callback,
        methods: &[(&str, Callback)],
    ) -> Result<Value> {
        let mut props = Vec::with_capacity(methods.len());
        for &(method_name, cb) in methods {
            props.push(sys::napi_property_descriptor {
                utf8name: ptr::null(),
                name: self.create_string(method_name)?.0,
                method: Some(trampoline),
                getter: None,
                setter: None,
                value: ptr::null_mut(),
                attributes: sys::napi_default_method,
                data: callback_data(cb),
            });
        }
        let mut out = ptr::null_mut();
        // SAFETY: live env; `name` is valid for `name.len()` bytes (explicit length); every
        // descriptor names its method by a string handle of the current scope and carries a
        // `Callback` as data, as `trampoline` expects; valid out-pointer.
        self.check(unsafe {
            sys::napi_define_class(
                self.0,
                name.as_ptr().cast(),
                name.len(),
                Some(trampoline),
                callback_data(constructor),
                props.len(),
                props.as_ptr(),
                &mut out,
            )
        })?;
        Ok(Value(out))
    }

    /// Attaches `native` to the JS object `this` (usually in a constructor) and tags it with
    /// `tag`. The value is dropped by a pure-Rust finalizer when the object is collected.
    pub fn wrap<T: 'static>(self, this: Value, native: T, tag: &'static TypeTag) -> Result<()> {
        self.type_tag_object(this, tag)?;
        let data = Tagged::boxed(native);
        // SAFETY: live env; `this` is an object handle of the current scope; `data` is a leaked
        // box that `drop_box::<T>` frees exactly once; no napi_ref is requested.
        let status = unsafe {
            sys::napi_wrap(
                self.0,
                this.0,
                data.cast(),
                Some(drop_box::<T>),
                ptr::null_mut(),
                ptr::null_mut(),
            )
        };
        if let Err(e) = self.check(status) {
            // SAFETY: Node did not take the pointer, so we still own the box.
            drop(unsafe { Box::from_raw(data) });
            return Err(e);
        }
        Ok(())
    }

    /// The Rust value wrapped in `obj` by [`Env::wrap`] with `tag`; TypeError `E_TYPE`
    /// ("expected a T") otherwise. Valid while `obj` is reachable (the current callback).
    pub fn unwrap<'a, T: 'static>(self, obj: Value, tag: &TypeTag) -> Result<&'a T> {
        let p = self.wrapped_ptr::<T>(obj, tag, false)?;
        // SAFETY: `wrapped_ptr` returns a pointer from `napi_unwrap` on an object carrying one
        // of our tags, i.e. a live `Tagged<_>` set by `wrap`, kept alive by `obj`.
        let tagged = unsafe { Tagged::<T>::cast(p) }.ok_or_else(expected::<T>)?;
        Ok(&tagged.value)
    }

    /// Detaches and returns the wrapped value; its finalizer will not run. The object keeps its
    /// tag, so later `unwrap`s fail with `E_TYPE`.
    pub fn remove_wrap<T: 'static>(self, obj: Value, tag: &TypeTag) -> Result<T> {
        // Check the type before removing, so a wrong `T` leaves the object intact.
        self.unwrap::<T>(obj, tag)?;
        let p = self.wrapped_ptr::<T>(obj, tag, true)?;
        // SAFETY: `unwrap::<T>` just confirmed `p` is a `Tagged<T>` box leaked by `wrap::<T>`;
        // napi_remove_wrap cancelled its finalizer, so ownership is back with us.
        let tagged = unsafe { Box::from_raw(p as *mut Tagged<T>) };
        Ok(tagged.value)
    }

    fn wrapped_ptr<T>(
        self,
        obj: Value,
        tag: &TypeTag,
        remove: bool,
    ) -> Result<*mut std::ffi::c_void> {
        if !matches!(self.type_of(obj)?, ValueType::Object | ValueType::Function)
            || !self.check_type_tag(obj, tag)?
        {
            return Err(expected::<T>());
        }
        let mut p = ptr::null_mut();
        // SAFETY: live env; `obj` is an object handle of the current scope; valid out-pointer.
        let status = unsafe {
            if remove {
                sys::napi_remove_wrap(self.0, obj.0, &mut p)
            } else {
                sys::napi_unwrap(self.0, obj.0, &mut p)
            }
        };
        // A tagged object whose wrap was removed (or never set) is not a `T` either.
        if status != sys::napi_ok || p.is_null() {
            return Err(expected::<T>());
        }
        Ok(p)
    }
}
