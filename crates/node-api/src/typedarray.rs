//! ArrayBuffers and typed arrays, including zero-copy views on memory owned by Rust.
//!
//! A tensor's bytes stay in Rust; JS sees them through an *external* ArrayBuffer whose finalizer
//! owns a keep-alive (`owner`, e.g. an `Arc` clone), so the memory outlives every view, and
//! detaching the buffer cuts JS off from it before Rust lets it go.

use std::ffi::c_void;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;

use crate::env::Env;
use crate::error::{JsError, Result, E_TYPE};
use crate::sys;
use crate::value::Value;

/// The element type of a typed array.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TypedArrayType {
    Int8,
    Uint8,
    Uint8Clamped,
    Int16,
    Uint16,
    Int32,
    Uint32,
    Float32,
    Float64,
    BigInt64,
    BigUint64,
}

impl TypedArrayType {
    fn from_raw(t: sys::napi_typedarray_type) -> Option<Self> {
        use TypedArrayType::*;
        Some(match t {
            sys::napi_int8_array => Int8,
            sys::napi_uint8_array => Uint8,
            sys::napi_uint8_clamped_array => Uint8Clamped,
            sys::napi_int16_array => Int16,
            sys::napi_uint16_array => Uint16,
            sys::napi_int32_array => Int32,
            sys::napi_uint32_array => Uint32,
            sys::napi_float32_array => Float32,
            sys::napi_float64_array => Float64,
            sys::napi_bigint64_array => BigInt64,
            sys::napi_biguint64_array => BigUint64,
            _ => return None,
        })
    }

    fn raw(self) -> sys::napi_typedarray_type {
        use TypedArrayType::*;
        match self {
            Int8 => sys::napi_int8_array,
            Uint8 => sys::napi_uint8_array,
            Uint8Clamped => sys::napi_uint8_clamped_array,
            Int16 => sys::napi_int16_array,
            Uint16 => sys::napi_uint16_array,
            Int32 => sys::napi_int32_array,
            Uint32 => sys::napi_uint32_array,
            Float32 => sys::napi_float32_array,
            Float64 => sys::napi_float64_array,
            BigInt64 => sys::napi_bigint64_array,
            BigUint64 => sys::napi_biguint64_array,
        }
    }

    /// Bytes per element.
    pub fn element_size(self) -> usize {
        use TypedArrayType::*;
        match self {
            Int8 | Uint8 | Uint8Clamped => 1,
            Int16 | Uint16 => 2,
            Int32 | Uint32 | Float32 => 4,
            Float64 | BigInt64 | BigUint64 => 8,
        }
    }

    /// The JS class name, for error messages.
    pub fn js_name(self) -> &'static str {
        use TypedArrayType::*;
        match self {
            Int8 => "Int8Array",
            Uint8 => "Uint8Array",
            Uint8Clamped => "Uint8ClampedArray",
            Int16 => "Int16Array",
            Uint16 => "Uint16Array",
            Int32 => "Int32Array",
            Uint32 => "Uint32Array",
            Float32 => "Float32Array",
            Float64 => "Float64Array",
            BigInt64 => "BigInt64Array",
            BigUint64 => "BigUint64Array",
        }
    }
}

/// A Rust element type that a typed array kind stores.
///
/// # Safety
/// `Self` must be plain data of exactly `KIND.element_size()` bytes for which every bit pattern
/// is valid.
pub unsafe trait TypedArrayElement: Copy + 'static {
    const KIND: TypedArrayType;
}

macro_rules! element {
    ($($t:ty => $k:ident),*) => {$(
        // SAFETY: a primitive number of the typed array's element size; all bit patterns valid.
        unsafe impl TypedArrayElement for $t {
            const KIND: TypedArrayType = TypedArrayType::$k;
        }
    )*};
}
element!(i8 => Int8, u8 => Uint8, i16 => Int16, u16 => Uint16, i32 => Int32, u32 => Uint32,
         f32 => Float32, f64 => Float64, i64 => BigInt64, u64 => BigUint64);

/// What `napi_get_typedarray_info` reports about a typed array.
#[derive(Clone, Copy, Debug)]
pub struct TypedArrayInfo {
    pub kind: TypedArrayType,
    /// Length in elements.
    pub len: usize,
    /// First element (already offset by `byte_offset`); null or dangling when `len == 0`.
    pub data: *mut u8,
    pub arraybuffer: Value,
    /// Offset of the view in its ArrayBuffer, in bytes.
    pub byte_offset: usize,
}

impl TypedArrayInfo {
    /// Length in bytes.
    pub fn byte_len(&self) -> usize {
        self.len * self.kind.element_size()
    }

    fn check_kind<T: TypedArrayElement>(&self) -> Result<()> {
        let ok = self.kind == T::KIND
            || (self.kind == TypedArrayType::Uint8Clamped && T::KIND == TypedArrayType::Uint8);
        if !ok {
            return Err(JsError::type_error(
                E_TYPE,
                format!("expected a {}", T::KIND.js_name()),
            ));
        }
        if self.len > 0 && !self.data.cast::<T>().is_aligned() {
            return Err(JsError::range_error(
                "E_ALIGN",
                format!("{} data is not aligned", T::KIND.js_name()),
            ));
        }
        Ok(())
    }

    /// The elements as a borrowed slice (TypeError `E_TYPE` if the kind is not `T`'s).
    ///
    /// # Safety
    /// Valid only during the current native callback and only while no JS runs: JS (or a
    /// Node-API call that runs JS) could detach the buffer, or write to it while Rust reads.
    /// The slice must not outlive the callback, nor be alive across `call_function` and the
    /// like.
    pub unsafe fn as_slice<T: TypedArrayElement>(&self) -> Result<&[T]> {
        self.check_kind::<T>()?;
        if self.len == 0 {
            return Ok(&[]);
        }
        // SAFETY: kind and alignment checked; V8 guarantees `len` elements at `data`; the
        // caller guarantees nothing detaches or mutates the buffer while the slice lives.
        Ok(unsafe { std::slice::from_raw_parts(self.data as *const T, self.len) })
    }

    /// The elements as a mutable slice. Same rules as [`TypedArrayInfo::as_slice`], and the
    /// caller must not hold two slices of overlapping views at once.
    ///
    /// # Safety
    /// See [`TypedArrayInfo::as_slice`]; additionally no other Rust reference to these bytes
    /// may be alive.
    #[allow(clippy::mut_from_ref)]
    pub unsafe fn as_mut_slice<T: TypedArrayElement>(&self) -> Result<&mut [T]> {
        self.check_kind::<T>()?;
        if self.len == 0 {
            return Ok(&mut []);
        }
        // SAFETY: as in `as_slice`, plus the caller's exclusivity guarantee.
        Ok(unsafe { std::slice::from_raw_parts_mut(self.data as *mut T, self.len) })
    }
}

/// Finalizer attached to an external ArrayBuffer *object* (napi_add_finalizer): drops the
/// boxed owner passed as the data.
///
/// Runs synchronously inside GC under the experimental module version, so pure Rust only, no
/// Node-API call (see the crate docs on finalizers).
unsafe extern "C" fn drop_owner<T>(_env: sys::napi_env, data: *mut c_void, _hint: *mut c_void) {
    // SAFETY: `data` is the `Box<T>` leaked by `create_external_arraybuffer::<T>`; Node calls the
    // finalizer once.
    let owner = unsafe { Box::from_raw(data as *mut T) };
    let _ = catch_unwind(AssertUnwindSafe(move || drop(owner)));
}

/// Finalizer of the backing store itself: nothing to do, the owner is released by
/// [`drop_owner`] (see [`Env::create_external_arraybuffer`] for why).
unsafe extern "C" fn backing_store_released(
    _env: sys::napi_env,
    _data: *mut c_void,
    _hint: *mut c_void,
) {
}

impl Env {
    /// Kind, length, data pointer, ArrayBuffer and offset of a typed array; TypeError `E_TYPE`
    /// if `v` is not one.
    pub fn typedarray_info(self, v: Value) -> Result<TypedArrayInfo> {
        if !self.is_typedarray(v)? {
            return Err(JsError::type_error(E_TYPE, "expected a typed array"));
        }
        let mut kind = 0;
        let mut len = 0usize;
        let mut data = ptr::null_mut();
        let mut ab = ptr::null_mut();
        let mut byte_offset = 0usize;
        // SAFETY: live env; `v` is a typed array handle of the current scope; valid out-pointers.
        self.check(unsafe {
            sys::napi_get_typedarray_info(
                self.0,
                v.0,
                &mut kind,
                &mut len,
                &mut data,
                &mut ab,
                &mut byte_offset,
            )
        })?;
        let kind = TypedArrayType::from_raw(kind).ok_or_else(|| {
            JsError::type_error(E_TYPE, format!("unsupported typed array type {kind}"))
        })?;
        Ok(TypedArrayInfo {
            kind,
            len,
            data: data.cast(),
            arraybuffer: Value(ab),
            byte_offset,
        })
    }

    /// `new <Kind>Array(arraybuffer, byte_offset, length)`. A misaligned offset or a view past
    /// the end throws a JS RangeError (pending; error code `E_PENDING_EXCEPTION` here).
    pub fn create_typedarray(
        self,
        kind: TypedArrayType,
        length: usize,
        arraybuffer: Value,
        byte_offset: usize,
    ) -> Result<Value> {
        let mut out = ptr::null_mut();
        // SAFETY: live env; `arraybuffer` is a handle of the current scope (Node checks that it
        // is an ArrayBuffer and that the view fits); valid out-pointer.
        self.check(unsafe {
            sys::napi_create_typedarray(
                self.0,
                kind.raw(),
                length,
                arraybuffer.0,
                byte_offset,
                &mut out,
            )
        })?;
        Ok(Value(out))
    }

    /// A new zero-filled ArrayBuffer owned by V8, and a pointer to its bytes (valid while the
    /// buffer is alive and not detached).
    pub fn create_arraybuffer(self, byte_len: usize) -> Result<(Value, *mut u8)> {
        let mut data = ptr::null_mut();
        let mut out = ptr::null_mut();
        // SAFETY: live env; valid out-pointers.
        self.check(unsafe { sys::napi_create_arraybuffer(self.0, byte_len, &mut data, &mut out) })?;
        Ok((Value(out), data.cast()))
    }

    /// An ArrayBuffer over `byte_len` bytes at `data` that JS reads and writes in place, with
    /// no copy. `owner` is boxed and dropped by a finalizer once the ArrayBuffer object has been
    /// collected, so it is the owner's job to keep `data` alive until then (e.g. an `Arc` of the
    /// storage).
    ///
    /// The owner hangs on the ArrayBuffer *object* (`napi_add_finalizer`), not on the finalizer
    /// of `napi_create_external_arraybuffer`: Node runs the latter from its `Buffer` machinery on
    /// the next event-loop turn (`SetImmediateThreadsafe`), so a synchronous JS loop would keep
    /// every owner alive until it yields (measured: 100k x 16 KiB buffers in a loop, all 100k
    /// owners alive, 1.6 GB RSS), while object finalizers run inside GC under the experimental
    /// module version. That is sound because once the object is dead nothing in JS can reach the
    /// bytes: typed-array views keep their buffer object alive, and Node copies rather than
    /// transfers these buffers in `postMessage`/`structuredClone` (external buffers are
    /// untransferable).
    ///
    /// `byte_len == 0` gives an ordinary empty ArrayBuffer (Node may reject a null or dangling
    /// pointer) and `owner` is dropped at once. [`Env::detach_arraybuffer`] cuts JS off from the
    /// bytes at once; the owner is still dropped only when the object is collected.
    ///
    /// # Safety
    /// `data` must be valid for reads and writes of `byte_len` bytes for as long as `owner` is
    /// alive, and nothing in Rust may hold a reference to those bytes while JS can reach them
    /// (until [`Env::detach_arraybuffer`]), unless it tolerates writes from JS on this thread.
    pub unsafe fn create_external_arraybuffer<T: 'static>(
        self,
        data: *mut u8,
        byte_len: usize,
        owner: T,
    ) -> Result<Value> {
        if byte_len == 0 {
            drop(owner);
            return Ok(self.create_arraybuffer(0)?.0);
        }
        if data.is_null() {
            return Err(JsError::error(
                "E_NAPI",
                "external ArrayBuffer with a null data pointer",
            ));
        }
        let mut ab = ptr::null_mut();
        // SAFETY: live env; the caller guarantees `data` is valid for `byte_len` bytes while the
        // owner lives, and the owner is attached to the buffer object below; the backing-store
        // finalizer does nothing; valid out-pointer.
        let status = unsafe {
            sys::napi_create_external_arraybuffer(
                self.0,
                data.cast(),
                byte_len,
                Some(backing_store_released),
                ptr::null_mut(),
                &mut ab,
            )
        };
        self.check(status)?;
        let boxed = Box::into_raw(Box::new(owner));
        // SAFETY: live env; `ab` is the object just created; `boxed` is a leaked box that
        // `drop_owner::<T>` frees exactly once; no napi_ref is requested.
        let status = unsafe {
            sys::napi_add_finalizer(
                self.0,
                ab,
                boxed.cast(),
                Some(drop_owner::<T>),
                ptr::null_mut(),
                ptr::null_mut(),
            )
        };
        if let Err(e) = self.check(status) {
            // JS never saw `ab`. Cut it off from the bytes before releasing them; if even that
            // fails, leak the owner rather than leave a buffer over freed memory.
            // SAFETY: live env; `ab` is a detachable external ArrayBuffer.
            if unsafe { sys::napi_detach_arraybuffer(self.0, ab) } == sys::napi_ok {
                // SAFETY: Node did not take the box, so we still own it.
                drop(unsafe { Box::from_raw(boxed) });
            }
            return Err(e);
        }
        Ok(Value(ab))
    }

    /// The data pointer and byte length of an ArrayBuffer (null/0 once detached).
    pub fn arraybuffer_info(self, v: Value) -> Result<(*mut u8, usize)> {
        let mut data = ptr::null_mut();
        let mut len = 0usize;
        // SAFETY: live env; handle of the current scope; valid out-pointers.
        self.check(unsafe { sys::napi_get_arraybuffer_info(self.0, v.0, &mut data, &mut len) })?;
        Ok((data.cast(), len))
    }

    /// Detaches an ArrayBuffer: every view on it now has length 0 and JS can no longer reach the
    /// memory. TypeError `E_TYPE` if it is not a detachable ArrayBuffer.
    pub fn detach_arraybuffer(self, v: Value) -> Result<()> {
        // SAFETY: live env; handle of the current scope.
        self.check(unsafe { sys::napi_detach_arraybuffer(self.0, v.0) })
    }

    pub fn is_detached_arraybuffer(self, v: Value) -> Result<bool> {
        let mut out = false;
        // SAFETY: live env; handle of the current scope; valid out-pointer.
        self.check(unsafe { sys::napi_is_detached_arraybuffer(self.0, v.0, &mut out) })?;
        Ok(out)
    }
}
