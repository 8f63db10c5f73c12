//! Native functions callable from JS, and calls from Rust into JS.
//!
//! Every native function goes through one `extern "C"` trampoline; the Rust function to run is
//! a plain `fn` pointer stored as the function's callback data. A call therefore costs one
//! `napi_get_cb_info` (arguments, `this` and the `fn` pointer in one go, into a stack array) and
//! an indirect call: no boxing, no allocation. The trampoline also turns `Err` into a JS error
//! and a panic into an `Error` with code `E_PANIC` (unwinding into C is undefined behaviour, and
//! a panicking kernel must not take the process down). That error is the function's *return
//! value*: the JS side throws any `Error` a native function returns (the package's loader wraps
//! every export so). See `trampoline` for why.

use std::ffi::c_void;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;

use crate::env::Env;
use crate::error::{JsError, Result};
use crate::sys;
use crate::value::Value;

/// A native function body. `this`, the arguments and the env come in; the return value or a
/// JS exception goes out.
pub type Callback = fn(Env, CallbackInfo) -> Result<Value, JsError>;

/// How many arguments are fetched eagerly, on the stack. Calls with more still work: see
/// [`CallbackInfo::arg`].
pub const MAX_ARGS: usize = 8;

/// The arguments and receiver of one native call.
pub struct CallbackInfo {
    env: Env,
    info: sys::napi_callback_info,
    argc: usize,
    argv: [Value; MAX_ARGS],
    this: Value,
}

impl CallbackInfo {
    /// The number of arguments JS actually passed (may exceed [`MAX_ARGS`]).
    pub fn argc(&self) -> usize {
        self.argc
    }

    /// Argument `i`, or `undefined` if JS passed fewer.
    pub fn arg(&self, i: usize) -> Value {
        if i < MAX_ARGS {
            // Node fills the slots past `argc` with `undefined`.
            return self.argv[i];
        }
        if i < self.argc {
            if let Some(v) = self.all_args().get(i) {
                return *v;
            }
        }
        // Getting `undefined` does not fail in practice; a null handle would only make the next
        // Node-API call report napi_invalid_arg.
        self.env.undefined().unwrap_or(Value(ptr::null_mut()))
    }

    /// The arguments that fit on the stack: the first `min(argc, MAX_ARGS)`.
    pub fn args(&self) -> &[Value] {
        &self.argv[..self.argc.min(MAX_ARGS)]
    }

    /// All arguments, however many (allocates; only needed past [`MAX_ARGS`]).
    pub fn all_args(&self) -> Vec<Value> {
        if self.argc <= MAX_ARGS {
            return self.args().to_vec();
        }
        let mut argc = self.argc;
        let mut argv = vec![Value(ptr::null_mut()); argc];
        // SAFETY: the env and `info` are those of the call still in progress; `argv` has room
        // for `argc` handles (Value is repr(transparent) over napi_value).
        let status = unsafe {
            sys::napi_get_cb_info(
                self.env.0,
                self.info,
                &mut argc,
                argv.as_mut_ptr().cast(),
                ptr::null_mut(),
                ptr::null_mut(),
            )
        };
        if status != sys::napi_ok {
            return self.args().to_vec();
        }
        argv
    }

    /// The receiver (`this`; the new object when called as a constructor).
    pub fn this(&self) -> Value {
        self.this
    }

    /// `new.target`: `None` when called without `new`.
    pub fn new_target(&self) -> Result<Option<Value>> {
        let mut out = ptr::null_mut();
        // SAFETY: env and info of the call in progress; valid out-pointer.
        let status = unsafe { sys::napi_get_new_target(self.env.0, self.info, &mut out) };
        self.env.check(status)?;
        Ok((!out.is_null()).then_some(Value(out)))
    }

    pub fn env(&self) -> Env {
        self.env
    }
}

/// The `napi_callback` of every function made by this crate. `data` is the [`Callback`].
pub(crate) unsafe extern "C" fn trampoline(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> sys::napi_value {
    let env = Env(env);
    let mut argc = MAX_ARGS;
    let mut argv = [Value(ptr::null_mut()); MAX_ARGS];
    let mut this = ptr::null_mut();
    let mut data: *mut c_void = ptr::null_mut();
    // SAFETY: Node calls us with a live env and the info of this call; `argv` has room for
    // MAX_ARGS handles (Value is repr(transparent) over napi_value); valid out-pointers.
    let status = unsafe {
        sys::napi_get_cb_info(
            env.0,
            info,
            &mut argc,
            argv.as_mut_ptr().cast(),
            &mut this,
            &mut data,
        )
    };
    if let Err(e) = env.check(status) {
        env.throw(e);
        return ptr::null_mut();
    }
    // SAFETY: every function using this trampoline was created by `create_function` or
    // `define_class` with a `Callback` fn pointer as its data; fn pointers and data pointers
    // have the same size and representation on the platforms Node supports.
    let cb: Callback = unsafe { std::mem::transmute::<*mut c_void, Callback>(data) };
    let call = CallbackInfo {
        env,
        info,
        argc,
        argv,
        this: Value(this),
    };
    let err = match catch_unwind(AssertUnwindSafe(|| cb(env, call))) {
        Ok(Ok(v)) => return v.0,
        Ok(Err(e)) => e,
        Err(panic) => JsError::from_panic(&*panic),
    };
    // The error is returned, not thrown; the loader throws it. napi_throw would park it in the
    // env until Node rethrows it after this callback, and a GC during that rethrow runs the
    // synchronous finalizers, which Node-API then fails as if they had thrown it (a fatal abort).
    match env.error_value(err) {
        Ok(e) => e.0,
        Err(e) => {
            env.throw(e);
            ptr::null_mut()
        }
    }
}

/// Turns module init's outcome into what Node expects: the exports, or null with an exception
/// pending (`require()` throws it; nothing can be finalized yet, so throwing is safe here).
pub(crate) fn finish(env: Env, outcome: std::thread::Result<Result<Value>>) -> sys::napi_value {
    match outcome {
        Ok(Ok(v)) => v.0,
        Ok(Err(e)) => {
            env.throw(e);
            ptr::null_mut()
        }
        Err(panic) => {
            env.throw(JsError::from_panic(&*panic));
            ptr::null_mut()
        }
    }
}

/// A callback as the `void*` data of a Node-API function.
pub(crate) fn callback_data(cb: Callback) -> *mut c_void {
    cb as *mut c_void
}

impl Env {
    /// A JS function named `name` that runs `cb`.
    pub fn create_function(self, name: &str, cb: Callback) -> Result<Value> {
        let mut out = ptr::null_mut();
        // SAFETY: live env; `name` is valid for `name.len()` bytes (explicit length); the data is
        // a `Callback`, which is what `trampoline` expects; valid out-pointer.
        self.check(unsafe {
            sys::napi_create_function(
                self.0,
                name.as_ptr().cast(),
                name.len(),
                Some(trampoline),
                callback_data(cb),
                &mut out,
            )
        })?;
        Ok(Value(out))
    }

    /// `func.call(this, ...args)`. If JS throws, the exception stays pending and the error has
    /// code `E_PENDING_EXCEPTION`; returning it from a callback returns the original.
    pub fn call_function(self, this: Value, func: Value, args: &[Value]) -> Result<Value> {
        let mut out = ptr::null_mut();
        // SAFETY: live env; handles of the current scope; `args` is `args.len()` napi_values
        // (Value is repr(transparent)); valid out-pointer.
        self.check(unsafe {
            sys::napi_call_function(
                self.0,
                this.0,
                func.0,
                args.len(),
                args.as_ptr().cast(),
                &mut out,
            )
        })?;
        Ok(Value(out))
    }

    /// `new ctor(...args)`
    pub fn new_instance(self, ctor: Value, args: &[Value]) -> Result<Value> {
        let mut out = ptr::null_mut();
        // SAFETY: as in `call_function`.
        self.check(unsafe {
            sys::napi_new_instance(self.0, ctor.0, args.len(), args.as_ptr().cast(), &mut out)
        })?;
        Ok(Value(out))
    }
}
