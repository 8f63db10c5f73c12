//! Module registration: the two symbols Node looks up when it `dlopen`s an addon.

use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::env::Env;
use crate::error::{JsError, Result};
use crate::function::finish;
use crate::sys;
use crate::value::Value;

/// What a module init function may return: nothing (the exports object is filled in place) or
/// a replacement exports value.
pub trait InitOutput {
    fn into_exports(self, exports: Value) -> Result<Value>;
}

impl InitOutput for Result<(), JsError> {
    fn into_exports(self, exports: Value) -> Result<Value> {
        self.map(|()| exports)
    }
}

impl InitOutput for Result<Value, JsError> {
    fn into_exports(self, _exports: Value) -> Result<Value> {
        self
    }
}

/// Body of the generated `napi_register_module_v1`: runs `init`, turning an `Err` or a panic
/// into a JS exception, which `require()` then throws.
///
/// # Safety
/// `env` and `exports` must be the arguments Node passed to `napi_register_module_v1`.
#[doc(hidden)]
pub unsafe fn init_module<R: InitOutput>(
    env: sys::napi_env,
    exports: sys::napi_value,
    init: fn(Env, Value) -> R,
) -> sys::napi_value {
    let env = Env(env);
    let exports = Value(exports);
    finish(
        env,
        catch_unwind(AssertUnwindSafe(|| {
            init(env, exports).into_exports(exports)
        })),
    )
}

/// Registers `init` as the addon's module initializer:
///
/// ```ignore
/// fn init(env: Env, exports: Value) -> Result<(), JsError> { ... }
/// node_api::register_module!(init);
/// ```
///
/// `init` runs once per env (main thread and each worker that loads the addon); errors and
/// panics become the exception `require()` throws.
///
/// The addon declares module API version `NAPI_VERSION_EXPERIMENTAL` (2147483647). Under that
/// version Node >= 20 runs finalizers synchronously inside GC instead of deferring them to the
/// event loop, which is what keeps memory bounded when JS creates tensors in a synchronous loop
/// (measured, see docs/architecture.md). The price: a finalizer must not call any Node-API
/// function other than the GC-safe "basic" ones, and this crate's finalizers call none at all,
/// they only drop Rust values. (Declaring 10 segfaults Node 20; 8 and 9 defer finalizers.)
#[macro_export]
macro_rules! register_module {
    ($init:path) => {
        /// Node-API version of this addon: NAPI_VERSION_EXPERIMENTAL, so that finalizers run
        /// synchronously inside GC (bounded memory in synchronous loops). Finalizers must
        /// therefore not call Node-API functions; ours only drop Rust values. Returning 10
        /// segfaults Node 20; 8 and 9 defer finalizers to the event loop.
        #[unsafe(no_mangle)]
        pub extern "C" fn node_api_module_get_api_version_v1() -> i32 {
            $crate::sys::NAPI_VERSION_EXPERIMENTAL
        }

        /// Node's entry point into the addon, called once per env.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn napi_register_module_v1(
            env: $crate::sys::napi_env,
            exports: $crate::sys::napi_value,
        ) -> $crate::sys::napi_value {
            // SAFETY: Node calls this with the env being initialised and its exports object.
            unsafe { $crate::module::init_module(env, exports, $init) }
        }
    };
}
