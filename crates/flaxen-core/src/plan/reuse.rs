//! Reuse of sub-results whose argument tensors are unchanged since the last call.
//!
//! A served model is called with the same parameter tensors every time: its masked, transposed
//! or dequantised weights need not be recomputed per request. After each run the plan keeps the
//! values of its *frontier*: steps that depend only on inputs that were unchanged in that run
//! (the same storage as in the run before), are not plan outputs, and feed a step that is not
//! such a step (it depends on a changed input, or is an output). The
//! next run reuses a kept value when every input it depends on is still the same storage.
//!
//! Soundness: the core never writes a storage it has returned, so equal storage means equal
//! bytes, except that JS can write through a zero-copy view. A storage that has ever been
//! exposed as `t.data` is therefore never "unchanged" (exposure is permanent), so nothing
//! computed from it is reused. Identity is checked with a `Weak` of the previous run's storage,
//! which keeps its address from being recycled while the plan remembers it. Plan outputs are
//! not kept (JS may write them).

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};

use crate::storage::Storage;
use crate::tensor::Tensor;

#[derive(Default)]
struct State {
    /// The inputs of the last run that updated the state.
    prev: Vec<Weak<Storage>>,
    /// Kept step outputs, by step.
    kept: HashMap<usize, Vec<Tensor>>,
}

pub(super) struct Reuse {
    /// Per step: the inputs it depends on (directly or through other steps).
    deps: Vec<Vec<usize>>,
    /// Per step: the steps reading its outputs.
    consumers: Vec<Vec<usize>>,
    /// Per step: whether an output of it is a plan output.
    is_output: Vec<bool>,
    state: Mutex<State>,
    reused: AtomicUsize,
    skipped: AtomicUsize,
}

/// One run's view: which inputs are unchanged and what may be reused.
pub(super) struct RunState {
    stable: Vec<bool>,
    current: Vec<Weak<Storage>>,
    kept: HashMap<usize, Vec<Tensor>>,
    keep: HashMap<usize, Vec<Tensor>>,
    reused: usize,
    skipped: usize,
}

impl Reuse {
    pub(super) fn new(deps: Vec<Vec<usize>>, consumers: Vec<Vec<usize>>, is_output: Vec<bool>) -> Reuse {
        Reuse { deps, consumers, is_output, state: Mutex::new(State::default()), reused: AtomicUsize::new(0), skipped: AtomicUsize::new(0) }
    }

    fn within(&self, step: usize, stable: &[bool]) -> bool {
        self.deps[step].iter().all(|&i| stable[i])
    }

    /// Starts a run over `inputs`.
    pub(super) fn begin(&self, inputs: &[Option<Tensor>]) -> RunState {
        let st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let stable = inputs
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let Some(t) = t else { return false };
                !t.storage().is_exposed() && st.prev.get(i).and_then(Weak::upgrade).is_some_and(|p| Arc::ptr_eq(&p, t.storage()))
            })
            .collect();
        let current = inputs.iter().map(|t| t.as_ref().map_or_else(Weak::new, |t| Arc::downgrade(t.storage()))).collect();
        RunState { stable, current, kept: st.kept.clone(), keep: HashMap::new(), reused: 0, skipped: 0 }
    }

    /// Whether `step`'s kept outputs are valid for this run.
    fn reusable(&self, run: &RunState, step: usize) -> bool {
        // A kept value that reached JS through a view (a plan output sharing its storage) may
        // have been written since.
        self.within(step, &run.stable) && run.kept.get(&step).is_some_and(|outs| outs.iter().all(|t| !t.storage().is_exposed()))
    }

    /// The kept outputs of `step`, if still valid for this run.
    pub(super) fn reuse(&self, run: &mut RunState, step: usize) -> Option<Vec<Tensor>> {
        if !self.reusable(run, step) {
            return None;
        }
        run.reused += 1;
        run.kept.get(&step).cloned()
    }

    /// Per step, whether this run can skip it: every step reading its outputs is itself reused
    /// or skipped, and it makes no plan output (the steps upstream of a reused value: a weight's
    /// cast before its reused transpose, a dequantisation chain...).
    /// None when nothing is kept (every first call, and every plan without weights to reuse):
    /// then nothing can be skipped and a tiny plan's run pays no pass over its steps.
    pub(super) fn skippable(&self, run: &mut RunState) -> Option<Vec<bool>> {
        run.skipped = 0;
        if run.kept.is_empty() {
            return None;
        }
        let n = self.consumers.len();
        let mut skip = vec![false; n];
        let mut runs = vec![false; n];
        for step in (0..n).rev() {
            let needed = self.is_output[step] || self.consumers[step].iter().any(|&c| runs[c]);
            runs[step] = needed && !self.reusable(run, step);
            skip[step] = !needed;
        }
        run.skipped = skip.iter().filter(|&&s| s).count();
        Some(skip)
    }

    /// Records `outs` of `step` if it is on this run's frontier.
    pub(super) fn note(&self, run: &mut RunState, step: usize, outs: &[Tensor]) {
        let keepable = |s: usize| !self.is_output[s] && self.within(s, &run.stable);
        let frontier = keepable(step) && self.consumers[step].iter().any(|&c| !keepable(c));
        if frontier && outs.iter().all(|t| !t.storage().is_exposed()) {
            run.keep.insert(step, outs.to_vec());
        }
    }

    /// Input `i` is about to be written in place (an in-place step consumes it): forget its
    /// storage, so no weak reference blocks the write (`Arc::get_mut`) and the next run, which
    /// may pass the same storage back with new bytes, does not take it for unchanged.
    pub(super) fn release_input(&self, run: &mut RunState, i: usize) {
        run.current[i] = Weak::new();
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(p) = st.prev.get_mut(i) {
            *p = Weak::new();
        }
    }

    /// Ends a run: remembers its inputs and frontier values for the next one.
    pub(super) fn finish(&self, run: RunState) {
        self.reused.store(run.reused, Ordering::Relaxed);
        self.skipped.store(run.skipped, Ordering::Relaxed);
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        st.prev = run.current;
        st.kept = run.keep;
    }

    /// Steps skipped by the last finished run.
    pub(super) fn last_skipped(&self) -> usize {
        self.skipped.load(Ordering::Relaxed)
    }

    /// Steps reused by the last finished run.
    pub(super) fn last_reused(&self) -> usize {
        self.reused.load(Ordering::Relaxed)
    }
}
