//! Tensor handles: the JS side holds a Node-API external owning a `TensorHandle`.
//!
//! Memory reporting: V8 only collects what it knows about, so each handle accounts the bytes of
//! freshly made storage for `napi_adjust_external_memory`. Finalizers run inside GC and may not
//! call Node-API, so a dropped handle only adds its bytes to the env's pending-free counter.
//! Handles made later settle both with V8, in batches: the call happens once the unreported
//! net exceeds `REPORT_BATCH` bytes (a Node-API call per tiny op is a measurable share of it).
//!
//! Deferred masks: `triu`/`tril` of a float32 tensor make a *lazy* handle holding the source
//! and the diagonal (no kernel runs). Any use of the handle materialises it once (the result
//! then replaces the lazy state), except `matmul(x, lazy)`, which multiplies by the masked
//! source directly without materialising (see `flaxen_core::ops::matmul_masked`). Deferring is
//! only sound while nothing can write the source's bytes: the core never writes a storage after
//! it was returned, but JS can through a zero-copy view. So a source whose storage has ever had
//! a view is masked eagerly, and making a view of a storage first materialises every pending
//! lazy handle that reads it (the registry `PENDING`).

use std::cell::{Cell, Ref, RefCell};
use std::rc::{Rc, Weak};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use flaxen_core::{DType, Storage, Tensor};
use node_api::{Env, JsError, TypeTag, Value};

use crate::args::core_error;

/// dtype codes as the JS side sees them (`DTYPE_NAMES`), in this order.
pub const DTYPES: [DType; 9] = [DType::F32, DType::I32, DType::U32, DType::U16, DType::U8, DType::Bool, DType::I8, DType::F16, DType::BF16];

static TENSOR_TAG: TypeTag = TypeTag::new(0x666c_6178_656e_0001, 0x7465_6e73_6f72_0001);

pub fn dtype_code(dt: DType) -> u32 {
    DTYPES.iter().position(|&d| d == dt).expect("every dtype has a code") as u32
}

/// Net bytes (allocated minus freed) accumulated before V8 is told.
const REPORT_BATCH: i64 = 1 << 20;

/// Per-env state (instance data): bytes freed by finalizers, not yet settled, and the net of
/// allocations and frees not yet reported to V8.
struct EnvState {
    pending_free: Arc<AtomicI64>,
    unreported: Cell<i64>,
    /// The channel async calls settle their promises through, made on first use.
    completer: std::cell::OnceCell<node_api::Completer>,
}

pub fn init_env(env: Env) -> Result<(), JsError> {
    env.set_instance_data(EnvState { pending_free: Arc::new(AtomicI64::new(0)), unreported: Cell::new(0), completer: Default::default() })
}

/// This env's [`node_api::Completer`].
pub fn completer<'a>(env: Env) -> Result<&'a node_api::Completer, JsError> {
    let state = env.instance_data::<EnvState>().ok_or_else(|| JsError::error("E_NAPI", "the addon's env state is missing"))?;
    if let Some(c) = state.completer.get() {
        return Ok(c);
    }
    let c = node_api::Completer::new(env)?;
    Ok(state.completer.get_or_init(|| c))
}

/// What a handle holds.
enum Slot {
    Ready(Tensor),
    /// A deferred triu/tril (see the module docs).
    Lazy(Rc<LazyMask>),
    /// A value recorded by a `jit` trace (see `trace.rs`): shape and dtype, no data.
    Traced(crate::trace::Tracer),
    Disposed,
}

/// `triu(src, k)` (upper) or `tril(src, k)`, computed on first use.
pub struct LazyMask {
    state: RefCell<LazyState>,
    k: i64,
    upper: bool,
}

enum LazyState {
    Pending(Tensor),
    /// Materialised by the registry (a view of the source was made); the handle adopts it.
    Done(Tensor),
}

impl LazyMask {
    fn compute(src: &Tensor, k: i64, upper: bool) -> flaxen_core::Result<Tensor> {
        if upper {
            flaxen_core::ops::triu(src, k)
        } else {
            flaxen_core::ops::tril(src, k)
        }
    }
}

thread_local! {
    /// Pending lazy masks of this thread's env(s), so that a new view of a source can
    /// materialise them first. Dead or finished entries are pruned as it grows.
    static PENDING: RefCell<Vec<Weak<LazyMask>>> = const { RefCell::new(Vec::new()) };
}

/// Materialises every pending lazy mask whose source shares `storage` (called before JS gets
/// a view of it, after which JS may write those bytes).
pub fn materialise_readers_of(storage: &Arc<Storage>) -> Result<(), JsError> {
    PENDING.with(|p| {
        let mut p = p.borrow_mut();
        if p.is_empty() {
            return Ok(());
        }
        for w in p.iter() {
            let Some(lazy) = w.upgrade() else { continue };
            let mut st = lazy.state.borrow_mut();
            if let LazyState::Pending(src) = &*st {
                if Arc::ptr_eq(src.storage(), storage) {
                    let done = LazyMask::compute(src, lazy.k, lazy.upper).map_err(core_error)?;
                    *st = LazyState::Done(done);
                }
            }
        }
        p.retain(|w| w.upgrade().is_some_and(|l| matches!(*l.state.borrow(), LazyState::Pending(_))));
        Ok(())
    })
}

fn register_pending(lazy: &Rc<LazyMask>) {
    PENDING.with(|p| {
        let mut p = p.borrow_mut();
        if p.len() >= 64 && p.len().is_power_of_two() {
            p.retain(|w| w.upgrade().is_some_and(|l| matches!(*l.state.borrow(), LazyState::Pending(_))));
        }
        p.push(Rc::downgrade(lazy));
    });
}

pub struct TensorHandle {
    slot: RefCell<Slot>,
    /// Bytes this handle reported to V8 (0 for views that share storage reported elsewhere).
    reported: Cell<i64>,
    pending_free: Arc<AtomicI64>,
    /// The storage reference held on behalf of this tensor's zero-copy views, if any were made.
    views: RefCell<Option<Rc<ViewSlot>>>,
}

/// Keeps a tensor's storage alive for its ArrayBuffer views. Every view's ArrayBuffer owns an
/// `Rc` of the slot; `dispose()` empties the slot once every view made has been detached, so
/// the memory is freed at once instead of when GC collects the ArrayBuffers.
pub struct ViewSlot {
    storage: RefCell<Option<Arc<Storage>>>,
    made: Cell<u32>,
    detached: Cell<u32>,
}

impl ViewSlot {
    pub fn data_ptr(&self) -> Option<*mut u8> {
        self.storage.borrow().as_ref().map(|s| s.as_mut_ptr())
    }

    /// Counts a view of this slot that has just been detached (JS can no longer reach it).
    pub fn note_detached(&self) {
        self.detached.set(self.detached.get() + 1);
    }
}

impl TensorHandle {
    /// The slot for a new view of `tensor`, counting the view.
    pub fn view_slot(&self, tensor: &Tensor) -> Rc<ViewSlot> {
        let mut views = self.views.borrow_mut();
        let slot = views.get_or_insert_with(|| {
            Rc::new(ViewSlot {
                storage: RefCell::new(Some(tensor.storage().clone())),
                made: Cell::new(0),
                detached: Cell::new(0),
            })
        });
        slot.made.set(slot.made.get() + 1);
        slot.clone()
    }

    pub fn views(&self) -> Option<Rc<ViewSlot>> {
        self.views.borrow().clone()
    }

    /// Drops the tensor now; its reported bytes become pending for the next settlement. The
    /// views' storage reference goes too when every view has been detached.
    pub fn dispose(&self) {
        let old = self.slot.replace(Slot::Disposed);
        drop(old);
        if let Some(slot) = self.views.borrow().as_ref() {
            if slot.made.get() == slot.detached.get() {
                slot.storage.borrow_mut().take();
            }
        }
        self.pending_free.fetch_add(self.reported.replace(0), Ordering::Relaxed);
    }
}

impl node_api::BulkValue for TensorHandle {
    fn prefetch(&self) {
        if let Ok(slot) = self.slot.try_borrow() {
            if let Slot::Ready(t) = &*slot {
                node_api::bulk::prefetch(Arc::as_ptr(t.storage()));
            }
        }
    }
}

impl Drop for TensorHandle {
    // Runs inside GC: pure Rust only (see node_api's crate docs).
    fn drop(&mut self) {
        self.pending_free.fetch_add(self.reported.get(), Ordering::Relaxed);
    }
}

fn state<'a>(env: Env) -> Result<&'a EnvState, JsError> {
    env.instance_data::<EnvState>()
        .ok_or_else(|| JsError::error("E_NAPI", "flaxen: the addon was not initialised in this env"))
}

/// Accounts `bytes` newly held by a handle (and the frees finalizers left pending), telling V8
/// once the net exceeds `REPORT_BATCH`.
fn account(env: Env, st: &EnvState, bytes: i64) -> Result<(), JsError> {
    let mut net = st.unreported.get() + bytes;
    if st.pending_free.load(Ordering::Relaxed) != 0 {
        net -= st.pending_free.swap(0, Ordering::Relaxed);
    }
    if net.abs() >= REPORT_BATCH {
        env.adjust_external_memory(net)?;
        net = 0;
    }
    st.unreported.set(net);
    Ok(())
}

fn new_handle(env: Env, st: &EnvState, slot: Slot, reported: i64) -> Result<Value, JsError> {
    let handle = TensorHandle {
        slot: RefCell::new(slot),
        reported: Cell::new(reported),
        pending_free: st.pending_free.clone(),
        views: RefCell::new(None),
    };
    node_api::bulk::drain();
    env.create_bulk_external(handle, &TENSOR_TAG)
}

/// Wraps a core result into a new JS handle, accounting its native bytes.
pub fn wrap(env: Env, result: flaxen_core::Result<Tensor>) -> Result<Value, JsError> {
    let tensor = result.map_err(core_error)?;
    let st = state(env)?;
    let reported = fresh_bytes(&tensor);
    account(env, st, reported)?;
    new_handle(env, st, Slot::Ready(tensor), reported)
}

/// The bytes a new handle for `t` reports: 0 when its storage is shared with another tensor
/// (a reshape), which already reported them.
fn fresh_bytes(t: &Tensor) -> i64 {
    if Arc::strong_count(t.storage()) == 1 { t.nbytes() as i64 } else { 0 }
}

/// A JS array of new handles for `tensors`, accounted in one settlement: a plan that updates a
/// donated cache in place frees and re-makes the same bytes, and settled handle by handle V8
/// would see the frees first, then the new handles climb past its external-memory limit, and
/// start a major GC every few calls (a GPT-2 decode step at 1024 positions re-makes 75 MB).
pub fn wrap_list(env: Env, tensors: Vec<Tensor>) -> Result<Value, JsError> {
    let st = state(env)?;
    let sizes: Vec<i64> = tensors.iter().map(fresh_bytes).collect();
    account(env, st, sizes.iter().sum())?;
    let arr = env.create_array(tensors.len())?;
    for (i, (t, reported)) in tensors.into_iter().zip(sizes).enumerate() {
        env.set_element(arr, i as u32, new_handle(env, st, Slot::Ready(t), reported)?)?;
    }
    Ok(arr)
}

/// A new handle for a traced value (no bytes to report).
pub fn wrap_tracer(env: Env, tracer: crate::trace::Tracer) -> Result<Value, JsError> {
    let st = state(env)?;
    new_handle(env, st, Slot::Traced(tracer), 0)
}

/// A lazy `triu(src, k)` (upper) or `tril(src, k)` handle, or the eager result when deferring
/// is not possible or not useful (see the module docs). Same errors as the eager ops.
pub fn wrap_mask(env: Env, src: &Tensor, k: i64, upper: bool) -> Result<Value, JsError> {
    let defer = src.dtype() == DType::F32 && src.ndim() >= 2 && src.size() > 0 && !src.storage().is_exposed();
    if !defer {
        return wrap(env, LazyMask::compute(src, k, upper));
    }
    let lazy = Rc::new(LazyMask { state: RefCell::new(LazyState::Pending(src.clone())), k, upper });
    register_pending(&lazy);
    let st = state(env)?;
    new_handle(env, st, Slot::Lazy(lazy), 0)
}

/// The handle behind a JS value, if it is one (no error is built otherwise).
pub fn try_handle<'a>(env: Env, v: Value) -> Option<&'a TensorHandle> {
    env.try_external::<TensorHandle>(v, &TENSOR_TAG)
}

/// The handle behind a JS value; TypeError `E_TYPE` naming `what` for anything else.
pub fn handle<'a>(env: Env, v: Value, what: &str) -> Result<&'a TensorHandle, JsError> {
    env.get_external::<TensorHandle>(v, &TENSOR_TAG)
        .map_err(|_| JsError::type_error("E_TYPE", format!("{what}: expected a tensor handle")))
}

fn disposed(what: &str) -> JsError {
    JsError::error("E_DISPOSED", format!("{what}: tensor used after dispose()"))
}

impl TensorHandle {
    /// The tensor, materialising a lazy mask first (its bytes are then accounted);
    /// `E_DISPOSED` after dispose.
    pub fn ready(&self, env: Env, what: &str) -> Result<Ref<'_, Tensor>, JsError> {
        let lazy = match &*self.slot.borrow() {
            Slot::Lazy(l) => Some(l.clone()),
            Slot::Disposed => return Err(disposed(what)),
            Slot::Traced(t) => return Err(t.concretization_error(what)),
            Slot::Ready(_) => None,
        };
        if let Some(lazy) = lazy {
            let done = match &*lazy.state.borrow() {
                LazyState::Pending(src) => LazyMask::compute(src, lazy.k, lazy.upper).map_err(core_error)?,
                LazyState::Done(t) => t.clone(),
            };
            let bytes = done.nbytes() as i64;
            account(env, state(env)?, bytes)?;
            self.reported.set(bytes);
            *self.slot.borrow_mut() = Slot::Ready(done);
        }
        Ok(Ref::map(self.slot.borrow(), |s| match s {
            Slot::Ready(t) => t,
            _ => unreachable!("materialised above"),
        }))
    }

    /// (source, k, upper) if this is a lazy triu/tril not materialised yet; `E_DISPOSED` after
    /// dispose.
    pub fn pending_mask(&self, what: &str) -> Result<Option<(Tensor, i64, bool)>, JsError> {
        match &*self.slot.borrow() {
            Slot::Lazy(l) => match &*l.state.borrow() {
                LazyState::Pending(src) => Ok(Some((src.clone(), l.k, l.upper))),
                LazyState::Done(_) => Ok(None),
            },
            Slot::Ready(_) | Slot::Traced(_) => Ok(None),
            Slot::Disposed => Err(disposed(what)),
        }
    }

    /// The tracer, if this handle is a traced value.
    pub fn tracer(&self) -> Option<crate::trace::Tracer> {
        match &*self.slot.borrow() {
            Slot::Traced(t) => Some(t.clone()),
            _ => None,
        }
    }


    /// Shape and dtype without materialising a lazy mask.
    pub fn meta<R>(&self, what: &str, f: impl FnOnce(&[usize], DType) -> R) -> Result<R, JsError> {
        match &*self.slot.borrow() {
            Slot::Ready(t) => Ok(f(t.shape(), t.dtype())),
            Slot::Lazy(l) => match &*l.state.borrow() {
                LazyState::Pending(t) | LazyState::Done(t) => Ok(f(t.shape(), t.dtype())),
            },
            Slot::Traced(t) => Ok(f(&t.meta.shape, t.meta.dtype)),
            Slot::Disposed => Err(disposed(what)),
        }
    }
}

/// The tensor behind a JS handle, borrowed for the current call (a lazy mask is materialised);
/// `E_DISPOSED` after dispose.
pub fn tensor<'a>(env: Env, v: Value, what: &str) -> Result<Ref<'a, Tensor>, JsError> {
    handle(env, v, what)?.ready(env, what)
}

/// `tensor`, as an owned (cheap) clone.
pub fn tensor_owned(env: Env, v: Value, what: &str) -> Result<Tensor, JsError> {
    Ok(tensor(env, v, what)?.clone())
}
