//! Traced graphs and the plans compiled from them (`jit`).
//!
//! A `Graph` records ops of the table (`ops::table`) as a tracer runs: each node names its op,
//! attributes and operand sources, and its output metas are inferred when it is added, so a bad
//! call fails at trace time with the eager error and nothing is allocated. `Plan::compile` turns
//! a graph plus its outputs into a straight-line program (see `compile.rs` for the passes) that
//! `Plan::run` executes in one call, with no JS per op.

mod compile;
mod exec;
mod partial;
mod reuse;

use std::sync::Arc;

use crate::error::{Error, Result};
use crate::ops::table::{self, Attr, In, MArg, Meta, OpDef};
use crate::tensor::Tensor;

pub use exec::Plan;
pub use partial::eval_known;

/// Where an operand comes from.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Src {
    /// The i-th traced input.
    Input(usize),
    /// The i-th captured constant.
    Const(usize),
    /// Output `.1` of node `.0`.
    Node(usize, usize),
    /// A JS number operand.
    Scalar(f64),
    /// An absent optional operand.
    None,
}

/// One recorded op.
#[derive(Clone, Debug)]
pub struct Node {
    pub op: usize,
    pub attrs: Vec<Attr>,
    /// One source per operand; a list operand (`In::List`) contributes all its elements.
    pub args: Vec<Src>,
    pub outs: Vec<Meta>,
}

impl Node {
    pub fn def(&self) -> &'static OpDef {
        table::op(self.op).expect("nodes hold valid op codes")
    }
}

/// A trace in progress.
#[derive(Clone, Default)]
pub struct Graph {
    pub inputs: Vec<Meta>,
    pub consts: Vec<Tensor>,
    pub nodes: Vec<Node>,
    /// The tensors `constant` copied, index for index with the leading `consts` (to
    /// recognise a tensor captured again); folded constants have none.
    captured: Vec<Tensor>,
    /// An abstract trace (`evalShape`): only its metas are wanted, it never becomes a plan. Its
    /// outputs are not checked against the byte cap (nothing is allocated), only for overflow,
    /// and captured tensors are referenced rather than copied.
    pub abstract_only: bool,
}

impl Graph {
    pub fn new() -> Graph {
        Graph::default()
    }

    /// A graph for shapes and dtypes only (see `abstract_only`).
    pub fn abstract_only() -> Graph {
        Graph { abstract_only: true, ..Graph::default() }
    }

    /// A new traced input.
    pub fn input(&mut self, m: Meta) -> Src {
        self.inputs.push(m);
        Src::Input(self.inputs.len() - 1)
    }

    /// Drops the references to the captured originals (a compiled plan needs only the copies).
    pub(crate) fn forget_captured(&mut self) {
        self.captured = Vec::new();
    }

    /// A captured tensor, copied: constants are snapshots, so a later write through a view of
    /// the original (made before or after the trace) is never seen by the plan. The same tensor
    /// captured twice is one constant.
    pub fn constant(&mut self, t: &Tensor) -> Src {
        if let Some(i) = self.captured.iter().position(|c| Arc::ptr_eq(c.storage(), t.storage()) && c.shape() == t.shape() && c.dtype() == t.dtype()) {
            return Src::Const(i);
        }
        self.captured.push(t.clone());
        self.consts.push(if self.abstract_only { t.clone() } else { t.astype(t.dtype()) });
        Src::Const(self.consts.len() - 1)
    }

    /// The metas of `args` for `def`'s infer (constants are described from their tensors).
    fn metas(&self, def: &OpDef, args: &[Src]) -> Result<Vec<Meta>> {
        let mut out = Vec::with_capacity(args.len());
        for (i, s) in args.iter().enumerate() {
            let what = def.inputs.get(i).map_or("xs", |x| x.0);
            out.push(match *s {
                Src::Input(j) => self.inputs.get(j).cloned().ok_or_else(|| bad_src(def, what))?,
                Src::Const(j) => self.consts.get(j).map(Meta::of).ok_or_else(|| bad_src(def, what))?,
                Src::Node(n, o) => self.nodes.get(n).and_then(|n| n.outs.get(o)).cloned().ok_or_else(|| bad_src(def, what))?,
                Src::Scalar(_) | Src::None => Meta::new(vec![], crate::DType::F32),
            });
        }
        Ok(out)
    }

    /// Records `op(args; attrs)` after inferring (and so validating) its outputs.
    pub fn add(&mut self, op: usize, attrs: Vec<Attr>, args: Vec<Src>) -> Result<&[Meta]> {
        let def = table::op(op)?;
        let outs = infer(def, &attrs, &args, &self.metas(def, &args)?)?;
        if self.abstract_only {
            table::check_out_size(def.name, &outs)?;
        } else {
            table::check_out_bytes(def.name, &outs)?;
        }
        self.nodes.push(Node { op, attrs, args, outs });
        Ok(&self.nodes.last().expect("just pushed").outs)
    }
}

fn bad_src(def: &OpDef, what: &str) -> Error {
    Error::arg(format!("{}: {what} refers to a value that is not part of this trace", def.name))
}

/// `def.infer` over operand sources (`metas[i]` describes `args[i]`).
pub fn infer(def: &OpDef, attrs: &[Attr], args: &[Src], metas: &[Meta]) -> Result<Vec<Meta>> {
    if def.inputs.first().is_some_and(|i| i.1 == In::List) {
        return def.infer_metas(attrs, &[MArg::L(metas)]);
    }
    let margs: Vec<MArg> = args
        .iter()
        .zip(metas)
        .map(|(s, m)| match *s {
            Src::Scalar(x) => MArg::S(x),
            Src::None => MArg::None,
            _ => MArg::T(m),
        })
        .collect();
    def.infer_metas(attrs, &margs)
}
