//! The passes from a traced graph to a plan, in order:
//! 1. mask fusion: `matmul(a, triu(w, k))` / `tril` becomes `matmul_masked(a, w)`, which skips
//!    the zero triangle and never makes the masked copy (the eager deferred mask, in plans);
//! 2. constant folding: a node whose operands are all constants runs once, at compile time;
//! 3. dead-code elimination: only nodes an output depends on are kept;
//! 4. liveness: each intermediate is dropped right after its last use, so its storage returns
//!    to the pool and the next intermediate of that size reuses it (the static memory plan).

use crate::error::Result;
use crate::ops::table::{self, Arg, Attr, In};
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
        return (def.run)(&node.attrs, &[Arg::L(&list)]);
    }
    let args: Vec<Arg> = args
        .iter()
        .map(|&s| match s {
            Src::Scalar(x) => Arg::S(x),
            Src::None => Arg::None,
            s => Arg::T(get(s).expect("a tensor operand")),
        })
        .collect();
    (def.run)(&node.attrs, &args)
}
