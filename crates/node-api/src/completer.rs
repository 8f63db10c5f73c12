//! Promises settled from any thread, through one thread-safe function per env.
//!
//! [`Env::spawn`] ties a promise to libuv's thread pool. A [`Completer`] lets work run on
//! threads the addon owns (a worker that does not sleep between jobs, say) and still settle
//! the promise on the JS thread: [`Completer::promise`] makes the promise and a [`Settle`], which
//! any thread may fulfil; the result crosses back through `napi_call_threadsafe_function`.
//!
//! Teardown: a thread-safe function must not be called once its env is gone (Node ≤ 25.3 reads
//! freed memory then). The handle sits behind a lock that an env cleanup hook, registered after
//! the function was made (hooks run in reverse order, so before Node's own), empties; callers
//! hold it (shared) across the call. A settle arriving later drops its result in Rust and never
//! touches JS. While no promise is pending, the function is unref'd so the process can exit.

use std::ffi::c_void;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};

use crate::async_work::settle_deferred;
use crate::env::Env;
use crate::error::{JsError, Result};
use crate::sys;
use crate::value::Value;

/// What crosses to the JS thread: settles its promise given the env (None at teardown, when it
/// only drops its data).
type Posted = Box<dyn FnOnce(Option<Env>) + Send>;

struct Tsfn(sys::napi_threadsafe_function);
// SAFETY: Node-API documents `napi_call_threadsafe_function` as callable from any thread, and
// concurrently; the pointer is only used for that (under `Gate::tsfn`'s read lock) and for
// ref/unref on the JS thread.
unsafe impl Send for Tsfn {}
unsafe impl Sync for Tsfn {}

struct Gate {
    /// None once the env is being torn down. Posting threads and the JS thread share it (read);
    /// only teardown writes, so the JS thread never waits for a post in progress (a wake-up of
    /// a sleeping thread costs ~10 µs here).
    tsfn: RwLock<Option<Tsfn>>,
    /// Promises made and not yet settled (JS thread only; atomic to be `Sync`).
    pending: AtomicUsize,
}

/// One env's channel back to its JS thread. Made and used on that thread.
pub struct Completer {
    gate: Arc<Gate>,
    env: sys::napi_env,
}

/// The right to settle one promise, from any thread. Dropping it unsettled rejects the promise
/// (code `E_NAPI`), so a lost job cannot leave a promise pending for ever.
pub struct Settle<T: Send + 'static> {
    gate: Arc<Gate>,
    deferred: Deferred,
    complete: Option<Box<dyn FnOnce(Env, T) -> Result<Value> + Send>>,
}

struct Deferred(sys::napi_deferred);
// SAFETY: the deferred is only settled on its env's JS thread (inside `call_js`); other threads
// merely carry the pointer there.
unsafe impl Send for Deferred {}

impl Deferred {
    /// A method, so closures capture the whole `Send` wrapper rather than the raw field.
    fn get(&self) -> sys::napi_deferred {
        self.0
    }
}

impl Completer {
    /// Makes the env's thread-safe function (unref'd until a promise is pending).
    pub fn new(env: Env) -> Result<Completer> {
        let gate = Arc::new(Gate { tsfn: RwLock::new(None), pending: AtomicUsize::new(0) });
        let name = env.create_string("flaxen:completer")?;
        let context = Arc::into_raw(gate.clone()) as *mut c_void;
        let mut tsfn = ptr::null_mut();
        // SAFETY: live env; no JS function (call_js does the work); unlimited queue; one
        // initial thread reference, never released (env teardown finalizes the function);
        // `context` is an Arc reference freed by `finalize`, which Node calls once.
        let status = unsafe {
            sys::napi_create_threadsafe_function(
                env.0,
                ptr::null_mut(),
                ptr::null_mut(),
                name.0,
                0,
                1,
                ptr::null_mut(),
                Some(finalize),
                context,
                Some(call_js),
                &mut tsfn,
            )
        };
        if let Err(e) = env.check(status) {
            // SAFETY: Node did not take `context`.
            drop(unsafe { Arc::from_raw(context as *const Gate) });
            return Err(e);
        }
        // SAFETY: live env; `tsfn` was just made on this thread.
        env.check(unsafe { sys::napi_unref_threadsafe_function(env.0, tsfn) })?;
        *gate.tsfn.write().unwrap_or_else(|e| e.into_inner()) = Some(Tsfn(tsfn));
        let closing = gate.clone();
        env.add_cleanup_hook(move || {
            closing.tsfn.write().unwrap_or_else(|e| e.into_inner()).take();
        })?;
        Ok(Completer { gate, env: env.0 })
    }

    /// A promise, and the [`Settle`] that fulfils it: `complete` turns the value into JS on the
    /// JS thread; an `Err` (from either side) rejects with a coded `Error`.
    pub fn promise<T: Send + 'static>(
        &self,
        env: Env,
        complete: impl FnOnce(Env, T) -> Result<Value> + Send + 'static,
    ) -> Result<(Settle<T>, Value)> {
        if env.0 != self.env {
            return Err(JsError::error("E_NAPI", "completer: used from another env"));
        }
        let mut deferred = ptr::null_mut();
        let mut promise = ptr::null_mut();
        // SAFETY: live env; valid out-pointers.
        env.check(unsafe { sys::napi_create_promise(env.0, &mut deferred, &mut promise) })?;
        if self.gate.pending.fetch_add(1, Ordering::Relaxed) == 0 {
            if let Some(t) = &*self.gate.tsfn.read().unwrap_or_else(|e| e.into_inner()) {
                // SAFETY: live env, its own function, on the JS thread. Keeps the loop alive
                // while a promise is pending, as pending async work does.
                unsafe { sys::napi_ref_threadsafe_function(env.0, t.0) };
            }
        }
        let settle = Settle { gate: self.gate.clone(), deferred: Deferred(deferred), complete: Some(Box::new(complete)) };
        Ok((settle, Value(promise)))
    }
}

impl<T: Send + 'static> Settle<T> {
    /// Settles the promise with `output` (from any thread).
    pub fn settle(mut self, output: Result<T>) {
        self.post(output);
    }

    fn post(&mut self, output: Result<T>) {
        let Some(complete) = self.complete.take() else { return };
        let deferred = Deferred(self.deferred.0);
        let posted: Posted = Box::new(move |env| {
            let Some(env) = env else { return };
            let settled = match output {
                Ok(t) => catch_unwind(AssertUnwindSafe(|| complete(env, t))).unwrap_or_else(|p| Err(JsError::from_panic(&*p))),
                Err(e) => Err(e),
            };
            settle_deferred(env, deferred.get(), settled);
        });
        let data = Box::into_raw(Box::new(posted));
        let guard = self.gate.tsfn.read().unwrap_or_else(|e| e.into_inner());
        let queued = match &*guard {
            // SAFETY: the function is live while the gate holds it (the cleanup hook empties
            // the gate before Node finalizes it, and we hold the lock across the call); `data`
            // is handed over on success and freed by `call_js`.
            Some(t) => {
                let status = unsafe { sys::napi_call_threadsafe_function(t.0, data.cast(), sys::napi_tsfn_nonblocking) };
                status == sys::napi_ok
            }
            None => false,
        };
        drop(guard);
        if !queued {
            // SAFETY: Node did not take `data`; the env is going away, so only Rust is dropped.
            drop(unsafe { Box::from_raw(data) });
        }
    }
}

impl<T: Send + 'static> Drop for Settle<T> {
    fn drop(&mut self) {
        self.post(Err(JsError::error("E_NAPI", "completer: the job was dropped before it settled its promise")));
    }
}

/// `napi_threadsafe_function_call_js`: on the JS thread, inside Node's handle and callback
/// scopes (so promise reactions run right after).
unsafe extern "C" fn call_js(env: sys::napi_env, _js: sys::napi_value, context: *mut c_void, data: *mut c_void) {
    // SAFETY: `data` is the `Posted` box leaked by `Settle::post`; Node hands each item over once.
    let posted = unsafe { Box::from_raw(data as *mut Posted) };
    if env.is_null() {
        let _ = catch_unwind(AssertUnwindSafe(move || posted(None)));
        return;
    }
    let env = Env(env);
    let _ = catch_unwind(AssertUnwindSafe(move || posted(Some(env))));
    // SAFETY: `context` is the gate's Arc reference, alive until `finalize`, which Node runs
    // after the last item.
    let gate = unsafe { &*(context as *const Gate) };
    if gate.pending.fetch_sub(1, Ordering::Relaxed) == 1 {
        if let Some(t) = &*gate.tsfn.write().unwrap_or_else(|e| e.into_inner()) {
            // SAFETY: live env, on its JS thread; nothing pending keeps the loop alive.
            unsafe { sys::napi_unref_threadsafe_function(env.0, t.0) };
        }
    }
}

/// `thread_finalize_cb`: frees the gate reference Node held as the function's context (it
/// arrives as the hint).
unsafe extern "C" fn finalize(_env: sys::napi_env, _data: *mut c_void, context: *mut c_void) {
    // SAFETY: `context` is the Arc reference leaked in `Completer::new`; Node finalizes once,
    // after the last `call_js`.
    drop(unsafe { Arc::from_raw(context as *const Gate) });
}
