//! Compiled plans in JS: `planRun` (one native call, on the JS thread), `planRunAsync` (on the
//! async pool; a Promise), `planStats`.
//!
//! Write protection of async inputs: an input whose storage JS can write (its `.data` was
//! taken) is copied when the call is made, so later writes through the typed array are not
//! seen by the queued or running plan (donated inputs included: a typed array taken before the
//! donation can still write them). Other storages are immutable (the core never writes a
//! storage after returning it), so they are shared without a copy, and pinned: taking `.data`
//! of a pinned storage throws E_BUSY until the calls reading it have finished.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use flaxen_core::plan::Plan;
use flaxen_core::Tensor;
use node_api::{CallbackInfo, Env, JsError, TypeTag, Value, ValueType};

use crate::{args, handle};

static PLAN_TAG: TypeTag = TypeTag::new(0x666c_6178_656e_0003, 0x706c_616e_0000_0001);

pub fn wrap(env: Env, plan: Plan) -> Result<Value, JsError> {
    env.create_external(Arc::new(plan), &PLAN_TAG)
}

fn plan<'a>(env: Env, v: Value) -> Result<&'a Arc<Plan>, JsError> {
    env.get_external::<Arc<Plan>>(v, &PLAN_TAG).map_err(|_| JsError::type_error("E_TYPE", "plan: expected a plan handle"))
}


/// The inputs: tensor handles or key data. Donated handles (`donate[i]` true) are disposed
/// once read: the plan holds the last reference and may reuse the storage. Also the storages JS
/// can still reach (neither donated nor copied): an async call pins those.
fn inputs(env: Env, v: Value, donate: Value, snapshot: bool) -> Result<(Vec<Tensor>, Vec<Arc<flaxen_core::Storage>>), JsError> {
    if !env.is_array(v)? {
        return Err(JsError::type_error("E_TYPE", "inputs: expected an array of tensors"));
    }
    let has_donate = !matches!(env.type_of(donate)?, ValueType::Null | ValueType::Undefined);
    let n = args::array_len(env, v, "inputs")?;
    let mut out = Vec::with_capacity(n as usize);
    let mut reachable = Vec::new();
    // Donated handles are disposed only once every input is read: the same tensor may also be
    // passed as a non-donated argument.
    let mut donated_handles = Vec::new();
    for i in 0..n {
        let what = format!("inputs[{i}]");
        let e = env.get_element(v, i)?;
        if env.type_of(e)? != ValueType::External {
            out.push(args::key_tensor(env, e).ok_or_else(|| JsError::type_error("E_TYPE", format!("{what}: expected a tensor or key data")))?);
            continue;
        }
        let h = handle::handle(env, e, &what)?;
        if let Some(t) = h.tracer() {
            return Err(t.escaped(&what));
        }
        let t = h.ready(env, &what)?.clone();
        let donated = has_donate && args::boolean(env, env.get_element(donate, i)?, &format!("donate[{i}]"))?;
        if donated {
            donated_handles.push(h);
        }
        // Donated inputs too: a typed array taken before the donation still writes the storage
        // (dispose does not detach it, and it keeps the storage alive, so the plan could not
        // reuse it in place anyway; the copy it can).
        let copied = snapshot && t.storage().is_exposed();
        if !donated && !copied {
            reachable.push(t.storage().clone());
        }
        out.push(if copied { t.astype(t.dtype()) } else { t });
    }
    for h in donated_handles {
        h.dispose();
    }
    Ok((out, reachable))
}

/// `planRun(plan, inputs, donate | null)` → output handles.
pub fn run(env: Env, info: CallbackInfo) -> Result<Value, JsError> {
    let p = plan(env, info.arg(0))?;
    let (ins, _) = inputs(env, info.arg(1), info.arg(2), false)?;
    // The JS thread is worker 0 of the kernels' pool: keep the other workers awake meanwhile.
    let _warm = (!p.is_light()).then(flaxen_core::par::warm);
    let outs = p.run(ins).map_err(args::core_error)?;
    handle::wrap_list(env, outs)
}

/// `planRunAsync(plan, inputs, donate | null, token | null)` → a Promise of output handles,
/// computed on the async pool (not the JS thread). Input shapes are checked now, so a bad call
/// throws at once. Cancelling `token` stops the call before its next step (code `ABORT_ERR`, as DOM's
/// AbortError).
pub fn run_async(env: Env, info: CallbackInfo) -> Result<Value, JsError> {
    let p = plan(env, info.arg(0))?.clone();
    let (ins, reachable) = inputs(env, info.arg(1), info.arg(2), true)?;
    let token = match env.type_of(info.arg(3))? {
        ValueType::Null | ValueType::Undefined => Arc::new(AtomicBool::new(false)),
        _ => cancel_token(env, info.arg(3))?.clone(),
    };
    p.check_inputs(&ins).map_err(args::core_error)?;
    let pins = Pins::new(reachable);
    let complete = move |env: Env, outs: Vec<Tensor>| {
        drop(pins);
        handle::wrap_list(env, outs)
    };
    if p.is_light() {
        // A light plan runs on the executor thread, which spins between jobs, and settles
        // through the env's thread-safe function: the libuv pool would add a sleeping
        // thread's wake-up to a call that takes microseconds.
        let (settle, promise) = handle::completer(env)?.promise(env, complete)?;
        let job = move || {
            let out = if token.load(Ordering::Relaxed) { Err(aborted()) } else { p.run_cancellable(ins, &token).map_err(args::core_error) };
            settle.settle(out);
        };
        if let Err(job) = flaxen_core::executor::submit(job) {
            // No executor thread: run it here (the promise still settles asynchronously).
            job();
        }
        return Ok(promise);
    }
    env.spawn(
        move || {
            if token.load(Ordering::Relaxed) {
                return Err(aborted());
            }
            flaxen_core::par::in_async_pool(|| p.run_cancellable(ins, &token)).map_err(args::core_error)
        },
        complete,
    )
}

fn aborted() -> JsError {
    JsError::error("ABORT_ERR", "plan: the call was aborted")
}

// Storages read by async calls in flight, with their counts. JS cannot write them: inputs it
// could already write (exposed) were copied, and `view` refuses to expose a pinned storage
// (E_BUSY) until the calls reading it have finished. Per thread: a storage is only reachable
// from the JS thread whose env made its handles.
thread_local! {
    static PINNED: std::cell::RefCell<std::collections::HashMap<usize, usize>> = std::cell::RefCell::new(std::collections::HashMap::new());
}

/// The pins of one async call, released on the JS thread when it completes (or fails to start).
/// Only storages JS can still reach are pinned (a donated or copied input is the plan's alone),
/// and each pin holds its storage: the plan may free an input after its last use, and the
/// address of a freed storage could come back as another call's output, which would then look
/// pinned. (Holding a donated input would stop the plan writing it in place; it is not held.)
struct Pins(Vec<Arc<flaxen_core::Storage>>);

impl Pins {
    fn new(storages: Vec<Arc<flaxen_core::Storage>>) -> Pins {
        PINNED.with(|p| {
            let mut p = p.borrow_mut();
            for s in &storages {
                *p.entry(Arc::as_ptr(s) as usize).or_insert(0) += 1;
            }
        });
        Pins(storages)
    }
}

impl Drop for Pins {
    fn drop(&mut self) {
        let _ = PINNED.try_with(|p| {
            let mut p = p.borrow_mut();
            for s in &self.0 {
                let k = Arc::as_ptr(s) as usize;
                if let Some(c) = p.get_mut(&k) {
                    *c -= 1;
                    if *c == 0 {
                        p.remove(&k);
                    }
                }
            }
        });
    }
}

/// E_BUSY if an async call in flight reads `storage` (called before JS gets a view of it).
pub fn check_not_pinned(storage: &Arc<flaxen_core::Storage>) -> Result<(), JsError> {
    let key = Arc::as_ptr(storage) as usize;
    if PINNED.with(|p| p.borrow().contains_key(&key)) {
        return Err(JsError::error(
            "E_BUSY",
            "tensor: an async jit call (f.async) is reading this tensor; await it before taking .data (a write could change its result)",
        ));
    }
    Ok(())
}

static TOKEN_TAG: TypeTag = TypeTag::new(0x666c_6178_656e_0004, 0x746f_6b65_6e00_0001);

fn cancel_token<'a>(env: Env, v: Value) -> Result<&'a Arc<AtomicBool>, JsError> {
    env.get_external::<Arc<AtomicBool>>(v, &TOKEN_TAG).map_err(|_| JsError::type_error("E_TYPE", "token: expected a cancel token"))
}

/// `cancelToken()` → a token for `planRunAsync`; `cancel(token)` sets it.
pub fn new_cancel_token(env: Env, _info: CallbackInfo) -> Result<Value, JsError> {
    env.create_external(Arc::new(AtomicBool::new(false)), &TOKEN_TAG)
}

pub fn cancel(env: Env, info: CallbackInfo) -> Result<Value, JsError> {
    cancel_token(env, info.arg(0))?.store(true, Ordering::Relaxed);
    env.undefined()
}

/// `planStats(plan)` → `{ steps, consts, ops, reused, skipped }` (what the passes left; steps the
/// last finished run reused, and those it skipped because only reused steps read them).
pub fn stats(env: Env, info: CallbackInfo) -> Result<Value, JsError> {
    let s = plan(env, info.arg(0))?.stats();
    let o = env.create_object()?;
    env.set_named_property(o, "steps", env.create_f64(s.steps as f64)?)?;
    env.set_named_property(o, "consts", env.create_f64(s.consts as f64)?)?;
    env.set_named_property(o, "reused", env.create_f64(s.reused as f64)?)?;
    env.set_named_property(o, "skipped", env.create_f64(s.skipped as f64)?)?;
    env.set_named_property(o, "allocated", env.create_f64(s.allocated as f64)?)?;
    let ops = env.create_array(s.ops.len())?;
    for (i, name) in s.ops.iter().enumerate() {
        env.set_element(ops, i as u32, env.create_string(name)?)?;
    }
    env.set_named_property(o, "ops", ops)?;
    Ok(o)
}

/// `setNumThreads(n)`: threads of the async pool (0 = default); `getNumThreads()` reads it.
pub fn set_num_threads(env: Env, info: CallbackInfo) -> Result<Value, JsError> {
    let n = args::count(env, info.arg(0), "n")?;
    if n > 1024 {
        return Err(JsError::range_error("E_ARG", format!("n: expected at most 1024 threads, got {n}")));
    }
    flaxen_core::par::set_async_threads(n);
    env.undefined()
}

pub fn get_num_threads(env: Env, _info: CallbackInfo) -> Result<Value, JsError> {
    env.create_f64(flaxen_core::par::async_threads() as f64)
}
