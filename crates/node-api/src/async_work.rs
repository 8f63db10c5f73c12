//! Promises resolved by work on libuv's thread pool (`napi_create_async_work`).
//!
//! `compute` runs on a pool thread and must not touch JS (its `Send` bound keeps `Env` and
//! `Value` out, as they are `!Send`); `complete` runs back on the JS thread and turns the result
//! into a JS value. Errors and panics on either side reject the promise with a JS `Error`
//! carrying a `code` (`E_PANIC` for panics), so `await` sees the same errors a synchronous call
//! would throw.

use std::ffi::c_void;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;

use crate::env::Env;
use crate::error::{JsError, Result};
use crate::sys;
use crate::value::Value;

/// The state of one spawned job, shared by the pool thread and the JS thread through the
/// async work's data pointer. libuv hands the job over (execute, then complete), so the two
/// never touch it at the same time.
struct Task<C, F, T> {
    /// Taken by the pool thread.
    compute: Option<C>,
    /// Written by the pool thread, read on the JS thread.
    output: Option<Result<T>>,
    /// Only touched on the JS thread.
    complete: Option<F>,
    deferred: sys::napi_deferred,
    work: sys::napi_async_work,
}

/// `napi_async_execute_callback`: runs `compute` on a pool thread.
unsafe extern "C" fn execute<C, F, T>(_env: sys::napi_env, data: *mut c_void)
where
    C: FnOnce() -> Result<T> + Send,
    T: Send,
{
    let task = data as *mut Task<C, F, T>;
    // SAFETY: `data` is the live task box; during execute the JS thread does not touch it, and
    // we only access the `Send` fields (`compute`, `output`), never `complete` (not `Send`).
    let compute = unsafe { (*task).compute.take() };
    let output = match compute {
        Some(c) => {
            catch_unwind(AssertUnwindSafe(c)).unwrap_or_else(|p| Err(JsError::from_panic(&*p)))
        }
        None => Err(JsError::error("E_NAPI", "async work executed twice")),
    };
    // SAFETY: as above.
    unsafe { (*task).output = Some(output) };
}

/// `napi_async_complete_callback`: settles the promise on the JS thread and frees the job.
unsafe extern "C" fn complete<C, F, T>(
    env: sys::napi_env,
    status: sys::napi_status,
    data: *mut c_void,
) where
    F: FnOnce(Env, T) -> Result<Value>,
{
    // SAFETY: `data` is the task box leaked by `spawn`; Node calls complete once, after execute
    // has finished (or instead of it when cancelled), so we own it again.
    let mut task = unsafe { Box::from_raw(data as *mut Task<C, F, T>) };
    let env = Env(env);
    // SAFETY: live env (Node calls complete on the JS thread); `work` was created by `spawn`
    // and is deleted once, here.
    unsafe { sys::napi_delete_async_work(env.0, task.work) };

    let output = if status == sys::napi_cancelled {
        Err(JsError::error(
            "E_CANCELLED",
            "the async work was cancelled",
        ))
    } else {
        task.output.take().unwrap_or_else(|| {
            Err(JsError::error(
                "E_NAPI",
                "async work finished without a result",
            ))
        })
    };
    let settled = match (output, task.complete.take()) {
        (Ok(t), Some(f)) => catch_unwind(AssertUnwindSafe(|| f(env, t)))
            .unwrap_or_else(|p| Err(JsError::from_panic(&*p))),
        (Ok(_), None) => Err(JsError::error("E_NAPI", "async work completed twice")),
        (Err(e), _) => Err(e),
    };
    settle_deferred(env, task.deferred, settled);
}

/// Resolves or rejects `deferred` with `settled` (on the JS thread). An exception pending from
/// the code that produced `settled` is the real cause, so it is the rejection reason.
pub(crate) fn settle_deferred(env: Env, deferred: sys::napi_deferred, settled: Result<Value>) {
    // Failures below mean the env is shutting down; nobody is left to tell.
    match settled {
        Ok(v) => {
            // SAFETY: live env; `deferred` comes from napi_create_promise and is settled once,
            // here (settling frees it); `v` is a handle of the current scope.
            unsafe { sys::napi_resolve_deferred(env.0, deferred, v.0) };
        }
        Err(e) => {
            let reason = match env.take_exception() {
                Some(exc) => Some(exc),
                None => env.create_error(&e).ok(),
            };
            if let Some(reason) = reason {
                // SAFETY: as for resolve.
                unsafe { sys::napi_reject_deferred(env.0, deferred, reason.0) };
            }
        }
    }
}

impl Env {
    /// Runs `compute` on libuv's thread pool and returns a promise that `complete` (on the JS
    /// thread) resolves with its JS value. Errors from either side, and panics (code
    /// `E_PANIC`), reject it with a JS `Error` carrying the error's `code`.
    pub fn spawn<T, C, F>(self, compute: C, complete: F) -> Result<Value>
    where
        T: Send + 'static,
        C: FnOnce() -> Result<T> + Send + 'static,
        F: FnOnce(Env, T) -> Result<Value> + 'static,
    {
        let task = Box::into_raw(Box::new(Task::<C, F, T> {
            compute: Some(compute),
            output: None,
            complete: Some(complete),
            deferred: ptr::null_mut(),
            work: ptr::null_mut(),
        }));
        // SAFETY: `task` was just leaked and is not shared yet.
        let started = unsafe { self.start(task) };
        if started.is_err() {
            // SAFETY: the work was never queued, so no callback will free the box.
            drop(unsafe { Box::from_raw(task) });
        }
        started
    }

    /// Creates the work and the promise and queues the work. On error nothing was queued and
    /// the caller still owns `task`.
    ///
    /// # Safety
    /// `task` must be a leaked, unshared `Task` box.
    unsafe fn start<C, F, T>(self, task: *mut Task<C, F, T>) -> Result<Value>
    where
        T: Send + 'static,
        C: FnOnce() -> Result<T> + Send + 'static,
        F: FnOnce(Env, T) -> Result<Value> + 'static,
    {
        let name = self.create_string("node-api:spawn")?;
        let mut work = ptr::null_mut();
        // SAFETY: live env; `name` is a string handle; the callbacks are instantiated for this
        // task's types; `task` stays alive until `complete` frees it.
        let status = unsafe {
            sys::napi_create_async_work(
                self.0,
                ptr::null_mut(),
                name.0,
                Some(execute::<C, F, T>),
                Some(complete::<C, F, T>),
                task.cast(),
                &mut work,
            )
        };
        self.check(status)?;
        let mut deferred = ptr::null_mut();
        let mut promise = ptr::null_mut();
        // SAFETY: live env; valid out-pointers.
        let status = unsafe { sys::napi_create_promise(self.0, &mut deferred, &mut promise) };
        if let Err(e) = self.check(status) {
            // SAFETY: `work` was created above and never queued.
            unsafe { sys::napi_delete_async_work(self.0, work) };
            return Err(e);
        }
        // SAFETY: the task is not shared until the work is queued below.
        unsafe {
            (*task).work = work;
            (*task).deferred = deferred;
        }
        // SAFETY: live env; `work` is a fresh async work.
        let status = unsafe { sys::napi_queue_async_work(self.0, work) };
        if let Err(e) = self.check(status) {
            // Never queued: no callback will run. The deferred cannot be freed without settling
            // it, and rejecting would raise an unhandled rejection, so it is left to env teardown.
            // SAFETY: `work` was created above and never queued.
            unsafe { sys::napi_delete_async_work(self.0, work) };
            return Err(e);
        }
        Ok(Value(promise))
    }
}
