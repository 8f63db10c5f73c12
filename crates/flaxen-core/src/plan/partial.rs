//! Partial evaluation of a trace (Flax's `lazy_init`): the values of some outputs computed from
//! the graph's constants alone, with every traced input abstract (a `ShapeDtypeStruct`, never
//! given a value). Only the nodes the outputs need run, each dropped after its last use, so
//! input-dependent work (a forward pass over a batch of 1024³ rows) is neither run nor
//! allocated.

use crate::error::Result;
use crate::tensor::Tensor;

use super::compile::run_op;
use super::{Graph, Src};

/// The outputs' values, or `Err(i)` for the first output `i` that depends on a traced input.
pub fn eval_known(g: &Graph, outputs: &[Src]) -> Result<std::result::Result<Vec<Tensor>, usize>> {
    // Which nodes depend on an input (nodes are in trace order: operands come first).
    let mut on_input = vec![false; g.nodes.len()];
    for (n, node) in g.nodes.iter().enumerate() {
        on_input[n] = node.args.iter().any(|a| match *a {
            Src::Input(_) => true,
            Src::Node(m, _) => on_input[m],
            _ => false,
        });
    }
    if let Some(i) = outputs.iter().position(|o| matches!(*o, Src::Input(_)) || matches!(*o, Src::Node(n, _) if on_input[n])) {
        return Ok(Err(i));
    }
    // The nodes the outputs need, and the last node reading each (usize::MAX: an output).
    let mut needed = vec![false; g.nodes.len()];
    let mut last_use = vec![0usize; g.nodes.len()];
    for o in outputs {
        if let Src::Node(n, _) = *o {
            needed[n] = true;
            last_use[n] = usize::MAX;
        }
    }
    for n in (0..g.nodes.len()).rev() {
        if !needed[n] {
            continue;
        }
        for a in &g.nodes[n].args {
            if let Src::Node(m, _) = *a {
                needed[m] = true;
                last_use[m] = last_use[m].max(n);
            }
        }
    }
    let mut values: Vec<Option<Vec<Tensor>>> = vec![None; g.nodes.len()];
    for n in (0..g.nodes.len()).filter(|&n| needed[n]) {
        let node = &g.nodes[n];
        let outs = {
            let get = |s: Src| -> Option<&Tensor> {
                match s {
                    Src::Const(i) => g.consts.get(i),
                    Src::Node(m, o) => values[m].as_ref().and_then(|v| v.get(o)),
                    _ => None,
                }
            };
            run_op(node, &node.args, &get)?
        };
        values[n] = Some(outs);
        for a in &node.args {
            if let Src::Node(m, _) = *a {
                if last_use[m] == n {
                    values[m] = None;
                }
            }
        }
    }
    Ok(Ok(outputs
        .iter()
        .map(|o| match *o {
            Src::Node(n, i) => values[n].as_ref().expect("outputs are kept")[i].clone(),
            // A captured tensor returned as it is: a copy, so that writing the result through
            // `.data` never changes the caller's tensor.
            Src::Const(i) => g.consts[i].astype(g.consts[i].dtype()),
            _ => unreachable!("inputs were refused above; scalars are never outputs"),
        })
        .collect()))
}
