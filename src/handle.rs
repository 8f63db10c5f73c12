//! Tensor handles: the JS side holds a Node-API external owning a `TensorHandle`.
//!
//! Memory reporting: V8 only collects what it knows about, so each handle reports the bytes of
//! freshly made storage with `napi_adjust_external_memory`. Finalizers run inside GC and may not
//! call Node-API, so a dropped handle only adds its bytes to the env's pending-free counter;
//! the next handle made in that env settles the difference with V8.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use flaxen_core::{DType, Storage, Tensor};
use node_api::{Env, JsError, TypeTag, Value};

use crate::args::core_error;

/// dtype codes as the JS side sees them (`DTYPE_NAMES`), in this order.
pub const DTYPES: [DType; 7] = [DType::F32, DType::I32, DType::U32, DType::U16, DType::U8, DType::Bool, DType::I8];

pub fn dtype_code(dt: DType) -> u32 {
    DTYPES.iter().position(|&d| d == dt).expect("every dtype has a code") as u32
}

static TENSOR_TAG: TypeTag = TypeTag::new(0x666c_6178_656e_0001, 0x7465_6e73_6f72_0001);

/// Per-env state (instance data): bytes freed by finalizers, not yet reported to V8.
struct EnvState {
    pending_free: Arc<AtomicI64>,
}

pub fn init_env(env: Env) -> Result<(), JsError> {
    env.set_instance_data(EnvState { pending_free: Arc::new(AtomicI64::new(0)) })
}

pub struct TensorHandle {
    tensor: RefCell<Option<Tensor>>,
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
        self.tensor.borrow_mut().take();
        if let Some(slot) = self.views.borrow().as_ref() {
            if slot.made.get() == slot.detached.get() {
                slot.storage.borrow_mut().take();
            }
        }
        self.pending_free.fetch_add(self.reported.replace(0), Ordering::Relaxed);
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

/// Wraps a core result into a new JS handle, reporting its native bytes.
pub fn wrap(env: Env, result: flaxen_core::Result<Tensor>) -> Result<Value, JsError> {
    let tensor = result.map_err(core_error)?;
    let st = state(env)?;
    // A storage shared with another tensor (reshape) was already reported by that tensor.
    let fresh = Arc::strong_count(tensor.storage()) == 1;
    let reported = if fresh { tensor.nbytes() as i64 } else { 0 };
    let delta = reported - st.pending_free.swap(0, Ordering::Relaxed);
    if delta != 0 {
        env.adjust_external_memory(delta)?;
    }
    let handle = TensorHandle {
        tensor: RefCell::new(Some(tensor)),
        reported: Cell::new(reported),
        pending_free: st.pending_free.clone(),
        views: RefCell::new(None),
    };
    env.create_external(handle, &TENSOR_TAG)
}

/// The handle behind a JS value; TypeError `E_TYPE` naming `what` for anything else.
pub fn handle<'a>(env: Env, v: Value, what: &str) -> Result<&'a TensorHandle, JsError> {
    env.get_external::<TensorHandle>(v, &TENSOR_TAG)
        .map_err(|_| JsError::type_error("E_TYPE", format!("{what}: expected a tensor handle")))
}

/// The tensor behind a JS handle (a cheap clone: storage is shared); `E_DISPOSED` after dispose.
pub fn tensor(env: Env, v: Value, what: &str) -> Result<Tensor, JsError> {
    handle(env, v, what)?
        .tensor
        .borrow()
        .clone()
        .ok_or_else(|| JsError::error("E_DISPOSED", format!("{what}: tensor used after dispose()")))
}
