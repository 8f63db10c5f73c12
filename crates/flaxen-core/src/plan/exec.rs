//! A compiled plan and its execution: a straight-line list of steps over value slots.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

use crate::storage::Arena;

use crate::error::{Error, Result};
use crate::ops::table::{ConsumeFn, Meta, OpDef};
use crate::tensor::Tensor;

use super::compile::{fold_constants, fuse_conv_pool, fuse_elementwise, fuse_masks, fuse_transposed, live_nodes, operands, run_op};
use super::reuse::Reuse;
use super::{Graph, Src};

/// Operands of compiled steps are graph sources, except that `Src::Node(slot, 0)` names value
/// slot `slot` of the run (each node output gets its own slot).
struct Step {
    node: usize,
    args: Vec<Src>,
    outs: Vec<usize>,
    /// Slots whose last use is this step: dropped right after it runs.
    free: Vec<usize>,
    /// The op's in-place form, when operand 0 is read here for the last time (and by no other
    /// operand of this step): the step then hands that tensor over (`OpDef::consume`).
    consume: Option<ConsumeFn>,
}

/// A compiled trace: run it with `run`. Immutable once built, so it can run on any thread and
/// several calls can run it at once.
pub struct Plan {
    inputs: Vec<Meta>,
    graph: Graph,
    steps: Vec<Step>,
    outputs: Vec<Src>,
    slots: usize,
    /// Inputs dropped after their last use (in input order); a donated input's storage then
    /// returns to the pool as soon as the plan no longer needs it.
    input_free: Vec<Vec<usize>>,
    const_storages: HashSet<usize>,
    reuse: Reuse,
    /// The static memory plan: intermediate blocks kept between runs (see `storage::Arena`).
    /// A run takes it; a run that finds it taken (a concurrent run) uses the global pool.
    arena: Mutex<Option<Arena>>,
    /// Allocations the last arena run made outside its arena.
    arena_misses: AtomicUsize,
    /// Rough work of one run (elements written, multiply-adds of products).
    work: usize,
}

/// What the passes left, for tests and `jit(...).lower()`-style inspection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlanStats {
    pub steps: usize,
    pub consts: usize,
    pub ops: Vec<&'static str>,
    /// Steps whose kept outputs the last finished run reused (see `reuse.rs`).
    pub reused: usize,
    /// Steps the last finished run skipped: only reused steps read their outputs.
    pub skipped: usize,
    /// Storages the last run with the plan's arena allocated outside it: in steady state, its
    /// outputs only.
    pub allocated: usize,
}

impl Plan {
    /// Compiles `graph` with the given outputs (sources in that graph).
    pub fn compile(mut graph: Graph, outputs: Vec<Src>) -> Result<Plan> {
        let mut outputs = outputs;
        graph.forget_captured();
        fuse_masks(&mut graph);
        fuse_transposed(&mut graph);
        fold_constants(&mut graph, &mut outputs)?;
        fuse_elementwise(&mut graph, &outputs);
        fuse_conv_pool(&mut graph, &outputs);
        // Dead-code elimination: only the nodes the outputs need get steps.
        let n = graph.nodes.len();
        let live = live_nodes(&graph, &outputs);
        // Slots for the outputs of live nodes.
        let mut slot_of: Vec<Vec<usize>> = vec![Vec::new(); n];
        let mut slots = 0;
        for i in (0..n).filter(|&i| live[i]) {
            slot_of[i] = (slots..slots + graph.nodes[i].outs.len()).collect();
            slots += graph.nodes[i].outs.len();
        }
        let loc = |s: Src| match s {
            Src::Node(m, o) => Src::Node(slot_of[m][o], 0),
            other => other,
        };
        let mut steps: Vec<Step> = (0..n)
            .filter(|&i| live[i])
            .map(|i| Step { node: i, args: graph.nodes[i].args.iter().map(|&s| loc(s)).collect(), outs: slot_of[i].clone(), free: vec![], consume: None })
            .collect();
        let outputs: Vec<Src> = outputs.into_iter().map(loc).collect();
        // Liveness: the last step reading each slot or input frees it (outputs are never freed).
        let mut last_slot = vec![usize::MAX; slots];
        let mut last_input = vec![usize::MAX; graph.inputs.len()];
        for (si, st) in steps.iter().enumerate() {
            for a in &st.args {
                match *a {
                    Src::Node(s, _) => last_slot[s] = si,
                    Src::Input(i) => last_input[i] = si,
                    _ => {}
                }
            }
        }
        for o in &outputs {
            match *o {
                Src::Node(s, _) => last_slot[s] = usize::MAX - 1,
                Src::Input(i) => last_input[i] = usize::MAX - 1,
                _ => {}
            }
        }
        for (s, &si) in last_slot.iter().enumerate() {
            if si < steps.len() {
                steps[si].free.push(s);
            }
        }
        let mut input_free = vec![Vec::new(); steps.len()];
        for (i, &si) in last_input.iter().enumerate() {
            if si < steps.len() {
                input_free[si].push(i);
            }
        }
        for (si, st) in steps.iter_mut().enumerate() {
            let last = match st.args.first() {
                Some(&Src::Node(s, _)) => last_slot[s] == si,
                Some(&Src::Input(i)) => last_input[i] == si,
                _ => false,
            };
            if last && st.args.iter().filter(|&&a| a == st.args[0]).count() == 1 {
                st.consume = graph.nodes[st.node].def().consume();
            }
        }
        let const_storages = graph.consts.iter().map(|c| std::sync::Arc::as_ptr(c.storage()) as usize).collect();
        let reuse = reuse_info(&steps, &outputs, slots, graph.inputs.len());
        let arena = Mutex::new(Some(Arena::default()));
        let work = steps.iter().map(|st| node_work(&graph, st.node)).fold(0usize, usize::saturating_add);
        Ok(Plan { inputs: graph.inputs.clone(), graph, steps, outputs, slots, input_free, const_storages, reuse, arena, arena_misses: AtomicUsize::new(0), work })
    }

    pub fn inputs(&self) -> &[Meta] {
        &self.inputs
    }

    /// Whether a run is too small for any kernel to go parallel: then an async caller runs it
    /// on its own thread rather than handing it to a pool (a thread wake-up each way).
    pub fn is_light(&self) -> bool {
        self.work < crate::par::PAR_MIN
    }

    pub fn stats(&self) -> PlanStats {
        PlanStats {
            steps: self.steps.len(),
            consts: self.graph.consts.len(),
            ops: self.steps.iter().map(|s| self.graph.nodes[s.node].def().name).collect(),
            reused: self.reuse.last_reused(),
            skipped: self.reuse.last_skipped(),
            allocated: self.arena_misses.load(Ordering::Relaxed),
        }
    }

    /// Checks `inputs` against the traced metas (E_ARG for the count, E_SHAPE / E_DTYPE naming
    /// the argument and both metas otherwise).
    pub fn check_inputs(&self, inputs: &[Tensor]) -> Result<()> {
        if inputs.len() != self.inputs.len() {
            return Err(Error::arg(format!("plan: expected {} input tensors, got {}", self.inputs.len(), inputs.len())));
        }
        for (i, (t, m)) in inputs.iter().zip(&self.inputs).enumerate() {
            if t.shape() != m.shape {
                return Err(Error::shape(format!("plan: input {i} has shape {:?}; the plan was traced for shape {:?}", t.shape(), m.shape)));
            }
            if t.dtype() != m.dtype {
                return Err(Error::dtype(format!("plan: input {i} has dtype {}; the plan was traced for dtype {}", t.dtype(), m.dtype)));
            }
        }
        Ok(())
    }

    /// Runs the plan. Inputs are taken by value and dropped after their last use, so a donated
    /// input (one the caller no longer holds) frees its storage for the plan's own buffers.
    pub fn run(&self, inputs: Vec<Tensor>) -> Result<Vec<Tensor>> {
        self.run_cancellable(inputs, &AtomicBool::new(false))
    }

    /// `run`, checking `cancelled` before each step: once set, the run stops with E_ABORTED.
    pub fn run_cancellable(&self, inputs: Vec<Tensor>, cancelled: &AtomicBool) -> Result<Vec<Tensor>> {
        self.check_inputs(&inputs)?;
        let taken = self.arena.lock().unwrap_or_else(|e| e.into_inner()).take();
        let Some(mut arena) = taken else {
            return self.run_steps(inputs, cancelled);
        };
        let out = arena.install(|| self.run_steps(inputs, cancelled));
        self.arena_misses.store(arena.misses(), Ordering::Relaxed);
        *self.arena.lock().unwrap_or_else(|e| e.into_inner()) = Some(arena);
        out
    }

    /// Drops the values whose last use is step `si` (run or skipped).
    fn release(&self, si: usize, slots: &mut [Option<Tensor>], inputs: &mut [Option<Tensor>]) {
        for &s in &self.steps[si].free {
            slots[s] = None;
        }
        for &i in &self.input_free[si] {
            inputs[i] = None;
        }
    }

    fn run_steps(&self, inputs: Vec<Tensor>, cancelled: &AtomicBool) -> Result<Vec<Tensor>> {
        let mut inputs: Vec<Option<Tensor>> = inputs.into_iter().map(Some).collect();
        let mut slots: Vec<Option<Tensor>> = vec![None; self.slots];
        let mut reuse = self.reuse.begin(&inputs);
        let skip = self.reuse.skippable(&mut reuse);
        for (si, st) in self.steps.iter().enumerate() {
            if cancelled.load(Ordering::Relaxed) {
                return Err(Error::new(crate::ErrorCode::Aborted, "plan: the call was aborted"));
            }
            if skip.as_ref().is_some_and(|k| k[si]) {
                // Nothing this run computes reads its outputs.
                self.release(si, &mut slots, &mut inputs);
                continue;
            }
            let kept = self.reuse.reuse(&mut reuse, si);
            // An in-place step takes operand 0 (its last use) out of its slot before the others
            // are borrowed.
            let owned = match (&kept, st.consume, st.args.first()) {
                (None, Some(_), Some(&Src::Node(slot, _))) => slots[slot].take(),
                (None, Some(_), Some(&Src::Input(i))) => {
                    self.reuse.release_input(&mut reuse, i);
                    inputs[i].take()
                }
                _ => None,
            };
            let get = |s: Src| -> Option<&Tensor> {
                match s {
                    Src::Input(i) => inputs[i].as_ref(),
                    Src::Const(i) => self.graph.consts.get(i),
                    Src::Node(slot, _) => slots[slot].as_ref(),
                    _ => None,
                }
            };
            let node = &self.graph.nodes[st.node];
            let outs = match (kept, st.consume, owned) {
                (Some(kept), _, _) => kept,
                (None, Some(consume), Some(owned)) => {
                    consume(&node.attrs, owned, &operands(&st.args[1..], &get)).map_err(|e| at_step(e, node.def()))?
                }
                _ => run_op(node, &st.args, &get).map_err(|e| at_step(e, node.def()))?,
            };
            self.reuse.note(&mut reuse, si, &outs);
            for (&slot, t) in st.outs.iter().zip(outs) {
                slots[slot] = Some(t);
            }
            self.release(si, &mut slots, &mut inputs);
        }
        self.reuse.finish(reuse);
        self.outputs
            .iter()
            .map(|o| {
                let t = match *o {
                    Src::Input(i) => inputs[i].clone(),
                    Src::Const(i) => self.graph.consts.get(i).cloned(),
                    Src::Node(s, _) => slots[s].clone(),
                    _ => None,
                }
                .ok_or_else(|| Error::arg("plan: an output has no value"))?;
                // An output must not share bytes with a constant or an argument: JS may write
                // it through `t.data`, which would change the plan or the caller's tensor.
                let shared = matches!(o, Src::Input(_)) || self.const_storages.contains(&(std::sync::Arc::as_ptr(t.storage()) as usize));
                Ok(if shared { t.astype(t.dtype()) } else { t })
            })
            .collect()
    }
}


/// Elements node `n` writes, plus the multiply-adds of a product (its output times the depth).
fn node_work(g: &Graph, n: usize) -> usize {
    let node = &g.nodes[n];
    let written: usize = node.outs.iter().map(|m| crate::shape::numel(&m.shape)).sum();
    if !node.def().name.starts_with("matmul") {
        return written;
    }
    let depth = match node.args.first() {
        Some(&Src::Input(i)) => g.inputs.get(i).and_then(|m| m.shape.last().copied()),
        Some(&Src::Const(i)) => g.consts.get(i).and_then(|t| t.shape().last().copied()),
        Some(&Src::Node(m, o)) => g.nodes.get(m).and_then(|x| x.outs.get(o)).and_then(|m| m.shape.last().copied()),
        _ => None,
    };
    written.saturating_mul(depth.unwrap_or(1).max(1))
}

/// Per step: the inputs it depends on, the steps consuming it, and whether it makes an output.
fn reuse_info(steps: &[Step], outputs: &[Src], slots: usize, n_inputs: usize) -> Reuse {
    let mut producer = vec![usize::MAX; slots];
    for (si, st) in steps.iter().enumerate() {
        for &o in &st.outs {
            producer[o] = si;
        }
    }
    let mut deps: Vec<Vec<usize>> = Vec::with_capacity(steps.len());
    let mut consumers = vec![Vec::new(); steps.len()];
    for (si, st) in steps.iter().enumerate() {
        let mut d = Vec::new();
        for a in &st.args {
            match *a {
                Src::Input(i) => d.push(i),
                Src::Node(s, _) => {
                    let p = producer[s];
                    d.extend_from_slice(&deps[p]);
                    consumers[p].push(si);
                }
                _ => {}
            }
        }
        d.sort_unstable();
        d.dedup();
        debug_assert!(d.iter().all(|&i| i < n_inputs));
        deps.push(d);
    }
    let mut is_output = vec![false; steps.len()];
    for o in outputs {
        if let Src::Node(s, _) = *o {
            is_output[producer[s]] = true;
        }
    }
    Reuse::new(deps, consumers, is_output)
}

fn at_step(e: Error, def: &OpDef) -> Error {
    Error::new(e.code, format!("{} (in a jit plan, op {})", e.message, def.name))
}
