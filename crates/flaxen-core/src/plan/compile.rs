//! The passes from a traced graph to a plan, in order:
//! 1. mask fusion: `matmul(a, triu(w, k))` / `tril` becomes `matmul_masked(a, w)`, which skips
//!    the zero triangle and never makes the masked copy (the eager deferred mask, in plans);
//!    likewise `matmul(a, transpose(w))` of a 2-D float32 w and rows of a becomes
//!    `matmul_t(a, w)`, which reads w where it lies (before folding, so a captured weight is
//!    not folded into a copy);
//! 2. constant folding: a node whose operands are all constants runs once, at compile time;
//! 3. elementwise fusion: chains of float32 elementwise ops become one pass (`ops::fused`),
//!    run in place as the epilogue of a matmul or convolution they follow (bias add +
//!    activation, an inference BatchNorm's scale and shift, a residual add), and a pooling
//!    right after a convolution becomes one node that runs both per batch slice;
//! 4. dead-code elimination: only nodes an output depends on are kept;
//! 5. liveness: each intermediate is dropped right after its last use, so its storage returns
//!    to the pool and the next intermediate of that size reuses it (the static memory plan).

use std::collections::HashMap;
use std::sync::Arc;

use crate::dtype::DType;
use crate::error::Result;
use crate::ops::fused::{self, Other, Program, Start, Step};
use crate::ops::table::{self, Arg, Attr, In, Meta};
use crate::ops::{BinaryOp, UnaryOp};
use crate::tensor::Tensor;

use super::{Graph, Node, Src};

/// Rewrites `matmul(a, triu/tril(w, k))` into `matmul_masked(a, w; k, upper)`.
pub(super) fn fuse_masks(g: &mut Graph) {
    let (Some(matmul), Some(masked), Some(triu), Some(tril)) =
        (table::code("matmul"), table::code("matmul_masked"), table::code("triu"), table::code("tril"))
    else {
        return;
    };
    for i in 0..g.nodes.len() {
        if g.nodes[i].op != matmul {
            continue;
        }
        let Src::Node(m, 0) = g.nodes[i].args[1] else { continue };
        let mask = &g.nodes[m];
        if mask.op != triu && mask.op != tril {
            continue;
        }
        let (k, upper, src) = (mask.attrs[0].clone(), Attr::Bool(mask.op == triu), mask.args[0]);
        let node = &mut g.nodes[i];
        node.op = masked;
        node.args[1] = src;
        node.attrs = vec![k, upper];
    }
}

/// Rewrites `matmul(a, transpose(w))` into `matmul_t(a, w)` for a 2-D float32 w and a float32
/// a of two rows or more (per batch entry): no transposed copy of the weights is made, kept by
/// plan reuse or folded as a constant. The
/// transpose stays for any other use, and dead-code elimination drops it otherwise.
pub(super) fn fuse_transposed(g: &mut Graph) {
    let (Some(matmul), Some(matmul_t), Some(transpose)) = (table::code("matmul"), table::code("matmul_t"), table::code("transpose")) else {
        return;
    };
    for i in 0..g.nodes.len() {
        // Products of one row (a decode step) keep the transposed copy, which plan reuse keeps
        // between calls: the matrix-vector product streams it fastest (ops::matmul_t).
        if g.nodes[i].op != matmul {
            continue;
        }
        let rows = f32_meta(g, g.nodes[i].args[0]).map(|a| if a.len() >= 2 { a[a.len() - 2] } else { 1 });
        if rows.is_none_or(|r| r < 2) {
            continue;
        }
        let Src::Node(t, 0) = g.nodes[i].args[1] else { continue };
        let tr = &g.nodes[t];
        if tr.op != transpose {
            continue;
        }
        let w = tr.args[0];
        let swapped = match tr.attrs[0].opt_ints() {
            None => true,
            Some(axes) => matches!(axes, [1, 0] | [-1, -2] | [1, -2] | [-1, 0]),
        };
        if !swapped || f32_meta(g, w).is_none_or(|shape| shape.len() != 2) {
            continue;
        }
        let node = &mut g.nodes[i];
        node.op = matmul_t;
        node.args[1] = w;
    }
}

/// Runs every node whose operands are constants (or scalars) and makes its outputs constants.
/// Ops are pure, so this gives the values a run would; random draws from a captured key fold
/// too. `outputs` are remapped like node operands.
pub(super) fn fold_constants(g: &mut Graph, outputs: &mut [Src]) -> Result<()> {
    for i in 0..g.nodes.len() {
        let foldable = g.nodes[i].args.iter().all(|s| matches!(s, Src::Const(_) | Src::Scalar(_) | Src::None));
        if !foldable || g.nodes[i].outs.iter().any(|m| crate::shape::numel(&m.shape) > FOLD_MAX) {
            continue;
        }
        let outs = run_op(&g.nodes[i], &g.nodes[i].args, &|s| match s {
            Src::Const(c) => g.consts.get(c),
            _ => None,
        })?;
        let base = g.consts.len();
        g.consts.extend(outs);
        replace_uses(g, outputs, i, |o| Src::Const(base + o));
    }
    Ok(())
}

/// Folded results above this many elements stay computed per call (they would pin memory).
const FOLD_MAX: usize = 1 << 24;

/// Points every use of node `n`'s outputs (in later nodes) at `to(output)`.
fn replace_uses(g: &mut Graph, outputs: &mut [Src], n: usize, to: impl Fn(usize) -> Src) {
    let uses = g.nodes[n + 1..].iter_mut().flat_map(|node| node.args.iter_mut()).chain(outputs.iter_mut());
    for s in uses {
        if let Src::Node(m, o) = *s {
            if m == n {
                *s = to(o);
            }
        }
    }
}

/// Runs `node`'s op on operands `args`, resolving tensor operands through `get`.
pub(super) fn run_op<'a>(node: &Node, args: &[Src], get: &dyn Fn(Src) -> Option<&'a Tensor>) -> Result<Vec<Tensor>> {
    let def = node.def();
    if def.inputs.first().is_some_and(|x| x.1 == In::List) {
        let list: Vec<Tensor> = args.iter().map(|&s| get(s).expect("a tensor operand").clone()).collect();
        return def.execute(&node.attrs, &[Arg::L(&list)]);
    }
    def.execute(&node.attrs, &operands(args, get))
}

/// The run-time operands of `args`, tensors resolved through `get`.
pub(super) fn operands<'a>(args: &[Src], get: &dyn Fn(Src) -> Option<&'a Tensor>) -> Vec<Arg<'a>> {
    args.iter()
        .map(|&s| match s {
            Src::Scalar(x) => Arg::S(x),
            Src::None => Arg::None,
            s => Arg::T(get(s).expect("a tensor operand")),
        })
        .collect()
}

/// A chain being fused: where it starts, its steps, and the extra operands they read.
struct Chain {
    /// The matmul, convolution or window reduction whose output the chain updates in place, if
    /// it is an epilogue.
    matmul: Option<usize>,
    steps: Vec<Step>,
    extras: Vec<Src>,
}

/// How often each node output is used (by later nodes and as a plan output).
fn use_counts(g: &Graph, outputs: &[Src]) -> HashMap<(usize, usize), usize> {
    let mut uses = HashMap::new();
    for s in g.nodes.iter().flat_map(|n| n.args.iter()).chain(outputs) {
        if let Src::Node(n, o) = *s {
            *uses.entry((n, o)).or_insert(0) += 1;
        }
    }
    uses
}

/// Which nodes the outputs need (directly or through other nodes), walking backwards.
pub(super) fn live_nodes(g: &Graph, outputs: &[Src]) -> Vec<bool> {
    let mut live = vec![false; g.nodes.len()];
    let mark = |s: &Src, live: &mut Vec<bool>| {
        if let Src::Node(m, _) = *s {
            live[m] = true;
        }
    };
    outputs.iter().for_each(|s| mark(s, &mut live));
    for i in (0..g.nodes.len()).rev() {
        if live[i] {
            g.nodes[i].args.iter().for_each(|s| mark(s, &mut live));
        }
    }
    live
}

/// The float32 meta of a tensor source (None for scalars, absent operands or other dtypes).
fn f32_meta(g: &Graph, s: Src) -> Option<Vec<usize>> {
    let m = match s {
        Src::Input(i) => g.inputs.get(i).cloned(),
        Src::Const(i) => g.consts.get(i).map(Meta::of),
        Src::Node(n, o) => g.nodes.get(n).and_then(|n| n.outs.get(o)).cloned(),
        _ => None,
    }?;
    (m.dtype == DType::F32).then_some(m.shape)
}

/// The step node `n` applies to the chain's value `acc` (operand `ai` of `n`), adding its other
/// tensor operand to `extras`; None if `n` cannot join a float32 chain.
fn step_of(g: &Graph, n: usize, ai: usize, extras: &mut Vec<Src>) -> Option<Step> {
    let node = &g.nodes[n];
    let out = &node.outs[0];
    if out.dtype != DType::F32 || node.outs.len() != 1 {
        return None;
    }
    let name = node.def().name;
    if let Some(op) = UnaryOp::ALL.iter().copied().find(|o| o.name() == name && *o != UnaryOp::LogicalNot) {
        return Some(Step::Unary(op));
    }
    match name {
        "relu" => return Some(Step::Relu),
        "sign" => return Some(Step::Sign),
        _ => {}
    }
    let op = BinaryOp::from_name(name)?;
    let acc_right = ai == 1;
    match node.args[1 - ai] {
        // `binary_scalar`'s rules for a float32 tensor and a JS number.
        Src::Scalar(s) if !acc_right && op == BinaryOp::Div => {
            Some(Step::Binary { op: BinaryOp::Mul, other: Other::Scalar(1.0f32 / (s as f32)), acc_right })
        }
        Src::Scalar(s) if !acc_right && op == BinaryOp::Pow && s.is_finite() && s.fract() == 0.0 && s.abs() <= i32::MAX as f64 => {
            Some(Step::IntPow(s as i64))
        }
        Src::Scalar(s) => Some(Step::Binary { op, other: Other::Scalar(s as f32), acc_right }),
        other => {
            let shape = f32_meta(g, other)?;
            if !fused::fits(&shape, &out.shape) {
                return None;
            }
            extras.push(other);
            Some(Step::Binary { op, other: Other::Extra(extras.len() - 1), acc_right })
        }
    }
}

/// Fuses chains of float32 elementwise ops into one `fused_elementwise` node, and such a chain
/// right after a matmul, a convolution or a window reduction into its `matmul_fused` /
/// `conv_fused` / `reduce_window_fused` epilogue (average pooling's division). A
/// value joins a chain only if the next op is its one use (so nothing else needs it
/// materialised) and keeps its shape.
pub(super) fn fuse_elementwise(g: &mut Graph, outputs: &[Src]) {
    let (Some(matmul), Some(masked), Some(transposed), Some(ew), Some(mm_fused), Some(conv), Some(conv_fused), Some(rw), Some(rw_fused)) = (
        table::code("matmul"),
        table::code("matmul_masked"),
        table::code("matmul_t"),
        table::code("fused_elementwise"),
        table::code("matmul_fused"),
        table::code("conv_general_dilated"),
        table::code("conv_fused"),
        table::code("reduce_window"),
        table::code("reduce_window_fused"),
    ) else {
        return;
    };
    let uses = use_counts(g, outputs);
    // Chains by the node that currently ends them.
    let mut chains: HashMap<usize, Chain> = HashMap::new();
    for n in 0..g.nodes.len() {
        let out_shape = g.nodes[n].outs[0].shape.clone();
        // Extend a chain (or start an epilogue) ending in one of n's operands.
        let mut joined = false;
        for ai in 0..g.nodes[n].args.len().min(2) {
            let Src::Node(p, 0) = g.nodes[n].args[ai] else { continue };
            if uses.get(&(p, 0)) != Some(&1) || g.nodes[p].outs[0].shape != out_shape {
                continue;
            }
            // An epilogue runs on the float32 product (a matmul of two half operands gives a
            // half product, which no float32 chain may extend). `conv_fused` runs the float32
            // kernel directly, so its operands must be float32 too (half ones are widened by
            // the plain row only); so does `reduce_window_fused`.
            let f32_args = |n: &Node| n.args.iter().take(2).all(|&a| f32_meta(g, a).is_some());
            let op = g.nodes[p].op;
            let is_mm = (op == matmul || op == masked || op == transposed || ((op == conv || op == rw) && f32_args(&g.nodes[p]))) && g.nodes[p].outs[0].dtype == DType::F32;
            if !chains.contains_key(&p) && !is_mm {
                continue;
            }
            let mut chain = chains.remove(&p).unwrap_or(Chain { matmul: Some(p), steps: vec![], extras: vec![] });
            let before = chain.extras.len();
            match step_of(g, n, ai, &mut chain.extras) {
                Some(step) => {
                    chain.steps.push(step);
                    chains.insert(n, chain);
                    joined = true;
                    break;
                }
                None => {
                    chain.extras.truncate(before);
                    chains.insert(p, chain);
                }
            }
        }
        if joined || g.nodes[n].outs.len() != 1 {
            continue;
        }
        // Start a chain at n from a float32 operand of n's own shape.
        for ai in 0..g.nodes[n].args.len().min(2) {
            let a = g.nodes[n].args[ai];
            if f32_meta(g, a).as_deref() != Some(&out_shape[..]) {
                continue;
            }
            let mut extras = vec![a];
            if let Some(step) = step_of(g, n, ai, &mut extras) {
                chains.insert(n, Chain { matmul: None, steps: vec![step], extras });
                break;
            }
        }
    }
    for (tail, chain) in chains {
        if chain.matmul.is_none() && chain.steps.len() < 2 {
            continue; // a single op gains nothing
        }
        let shape = g.nodes[tail].outs[0].shape.clone();
        let node = &mut g.nodes[tail];
        match chain.matmul {
            Some(m) => {
                let (mm_args, mm_attrs, mm_op) = {
                    let mm = &g.nodes[m];
                    (mm.args.clone(), mm.attrs.clone(), mm.op)
                };
                let node = &mut g.nodes[tail];
                let prog = Attr::Program(Arc::new(Program { start: Start::Product, steps: chain.steps, shape }));
                node.args = mm_args.into_iter().chain(chain.extras).collect();
                if mm_op == conv || mm_op == rw {
                    node.op = if mm_op == conv { conv_fused } else { rw_fused };
                    node.attrs = mm_attrs.into_iter().chain([prog]).collect();
                } else {
                    let (k, upper) = if mm_op == masked { (mm_attrs[0].clone(), mm_attrs[1].clone()) } else { (Attr::None, Attr::Bool(false)) };
                    node.op = mm_fused;
                    node.attrs = vec![k, upper, prog, Attr::Bool(mm_op == transposed)];
                }
            }
            None => {
                let prog = Program { start: Start::Extra(0), steps: chain.steps, shape };
                node.op = ew;
                node.args = chain.extras;
                node.attrs = vec![Attr::Program(Arc::new(prog))];
            }
        }
    }
}

/// Fuses a pooling (`reduce_window`, fused or not) of a float32 convolution's output that
/// nothing else uses into one `conv_pool_fused` node, when the window spans one image (size 1,
/// stride 1, no padding along the batch axis): the pair then runs batch slice by batch slice,
/// so the convolution's output is pooled while in cache (`ops::conv_pool`). Runs after
/// `fuse_elementwise`, so both keep their epilogues; the convolution node is left unused.
pub(super) fn fuse_conv_pool(g: &mut Graph, outputs: &[Src]) {
    let code = |name| table::code(name);
    let (Some(conv), Some(conv_fused), Some(rw), Some(rw_fused), Some(conv_pool)) =
        (code("conv_general_dilated"), code("conv_fused"), code("reduce_window"), code("reduce_window_fused"), code("conv_pool_fused"))
    else {
        return;
    };
    // Uses by live nodes only: elementwise fusion leaves the nodes it absorbed in place, unused
    // but still reading their operands.
    let live = live_nodes(g, outputs);
    let mut uses: HashMap<(usize, usize), usize> = HashMap::new();
    for s in g.nodes.iter().enumerate().filter(|(i, _)| live[*i]).flat_map(|(_, n)| n.args.iter()).chain(outputs) {
        if let Src::Node(m, o) = *s {
            *uses.entry((m, o)).or_insert(0) += 1;
        }
    }
    let empty = |shape: &[usize]| Attr::Program(Arc::new(Program { start: Start::Product, steps: vec![], shape: shape.to_vec() }));
    for n in 0..g.nodes.len() {
        let pool = &g.nodes[n];
        if !live[n] || (pool.op != rw && pool.op != rw_fused) {
            continue;
        }
        let Some(&Src::Node(p, 0)) = pool.args.first() else { continue };
        let batch_free = |a: &Attr, v: i64| a.ints().first() == Some(&v);
        let pad = pool.attrs[4].ints();
        if uses.get(&(p, 0)) != Some(&1) || !batch_free(&pool.attrs[2], 1) || !batch_free(&pool.attrs[3], 1) || pad.len() < 2 || pad[..2] != [0, 0] {
            continue;
        }
        let prod = &g.nodes[p];
        let f32_args = prod.args.iter().take(2).all(|&a| f32_meta(g, a).is_some());
        if !((prod.op == conv || prod.op == conv_fused) && f32_args && prod.outs[0].dtype == DType::F32) {
            continue;
        }
        let conv_prog = if prod.op == conv { empty(&prod.outs[0].shape) } else { prod.attrs[5].clone() };
        let pool_prog = if pool.op == rw { empty(&pool.outs[0].shape) } else { pool.attrs[5].clone() };
        let conv_extras = prod.args.len() - 2;
        let args: Vec<Src> = prod.args.iter().chain(&pool.args[1..]).copied().collect();
        let attrs: Vec<Attr> = prod.attrs[..5]
            .iter()
            .cloned()
            .chain([conv_prog])
            .chain(pool.attrs[..5].iter().cloned())
            .chain([pool_prog, Attr::Int(conv_extras as i64)])
            .collect();
        let node = &mut g.nodes[n];
        node.op = conv_pool;
        node.args = args;
        node.attrs = attrs;
    }
}
