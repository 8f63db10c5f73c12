//! `op(code, ...operands, ...attributes)`: the one entry point for every row of the core's op
//! table. Operands and attributes are read by the kinds the row declares, so every op validates
//! its JS arguments the same way. With a `jit` trace open on this thread the op is recorded
//! (tracer handles come back); otherwise it runs now.
//!
//! Eager only: a float32 `triu`/`tril` is deferred and `matmul` by such a lazy handle skips the
//! zero triangle (see `handle.rs`); plans get the same through their mask-fusion pass.

use std::cell::Ref;
use std::rc::Rc;

use flaxen_core::ops::table::{self, Arg, Attr, AttrKind, In, MArg, Meta, OpDef};
use flaxen_core::plan::Src;
use flaxen_core::Tensor;
use node_api::{CallbackInfo, Env, JsError, Value, ValueType};

use crate::trace::{TraceCtx, Tracer};
use crate::{args, handle};

/// An operand read from JS, owning or borrowing its tensor for the call.
enum Held<'a> {
    Ref(Ref<'a, Tensor>),
    Own(Tensor),
    Scalar(f64),
    None,
    List(Vec<Tensor>),
}

impl Held<'_> {
    fn arg(&self) -> Arg<'_> {
        match self {
            Held::Ref(t) => Arg::T(t),
            Held::Own(t) => Arg::T(t),
            Held::Scalar(s) => Arg::S(*s),
            Held::None => Arg::None,
            Held::List(l) => Arg::L(l),
        }
    }
}

fn type_name(env: Env, v: Value) -> String {
    env.type_of(v).map(|t| format!("{t:?}").to_lowercase()).unwrap_or_else(|_| "unknown".into())
}

fn expected(def: &OpDef, what: &str, kind: &str, env: Env, v: Value) -> JsError {
    JsError::type_error("E_TYPE", format!("{}: {what}: expected {kind}, got {}", def.name, type_name(env, v)))
}


/// Reads attribute `v` of `kind`.
fn attr(env: Env, v: Value, def: &OpDef, name: &str, kind: AttrKind) -> Result<Attr, JsError> {
    read_attr(env, v, name, kind).map_err(|e| in_op(def, e))
}

fn read_attr(env: Env, v: Value, what: &str, kind: AttrKind) -> Result<Attr, JsError> {
    let nullish = matches!(env.type_of(v)?, ValueType::Null | ValueType::Undefined);
    Ok(match kind {
        AttrKind::Bool => Attr::Bool(args::boolean(env, v, what)?),
        AttrKind::Int => Attr::Int(args::integer(env, v, what)?),
        AttrKind::Count => Attr::Int(args::count(env, v, what)? as i64),
        AttrKind::OptInt if nullish => Attr::None,
        AttrKind::OptInt => Attr::Int(args::integer(env, v, what)?),
        AttrKind::Num => Attr::Num(args::number(env, v, what)?),
        AttrKind::Finite => Attr::Num(args::finite(env, v, what)?),
        AttrKind::OptInts if nullish => Attr::None,
        AttrKind::Ints | AttrKind::OptInts => Attr::Ints(args::integers(env, v, what)?),
        AttrKind::Shape => Attr::Shape(args::shape(env, v, what)?),
        AttrKind::DType => Attr::DType(args::dtype(env, v, what)?),
        AttrKind::Choice(options) => {
            let s = args::string(env, v, what)?;
            let i = options.iter().position(|o| *o == s).ok_or_else(|| {
                JsError::error("E_ARG", format!("{what}: expected one of {options:?}, got {s:?}"))
            })?;
            Attr::Choice(i)
        }
        AttrKind::Internal => {
            return Err(JsError::error("E_ARG", "this op is made by the plan compiler and cannot be called"));
        }
    })
}

/// Reads operand `v` of `kind` for an eager call.
fn eager_operand<'a>(env: Env, v: Value, def: &OpDef, name: &str, kind: In) -> Result<Held<'a>, JsError> {
    // Tensor handles first: the type-tag check rejects anything else, so the usual operand
    // costs no `napi_typeof` (a tenth of a tiny op's overhead went to reading types).
    if kind != In::List {
        if let Some(h) = handle::try_handle(env, v) {
            if let Some(t) = h.tracer() {
                return Err(t.escaped(&format!("{}: {name}", def.name)));
            }
            return Ok(Held::Ref(h.ready(env, name).map_err(|e| in_op(def, e))?));
        }
    }
    let ty = env.type_of(v)?;
    match (kind, ty) {
        (In::Operand, ValueType::Number) => return Ok(Held::Scalar(env.get_f64(v)?)),
        (In::Optional, ValueType::Null | ValueType::Undefined) => return Ok(Held::None),
        (In::Key, ValueType::Object) => {
            return args::key_tensor(env, v).map(Held::Own).ok_or_else(|| expected(def, name, "key data (a Uint32Array of length 2)", env, v));
        }
        (In::List, _) => {
            if !env.is_array(v)? {
                return Err(expected(def, name, "an array of tensor handles", env, v));
            }
            let list = (0..args::array_len(env, v, name).map_err(|e| in_op(def, e))?)
                .map(|i| handle::tensor_owned(env, env.get_element(v, i)?, &format!("{}: {name}[{i}]", def.name)))
                .collect::<Result<_, _>>()?;
            return Ok(Held::List(list));
        }
        _ => {
            let k = match kind {
                In::Operand => "a tensor handle or a number",
                In::Optional => "a tensor handle or null",
                In::Key => "key data (a Uint32Array of length 2) or a tensor handle",
                _ => "a tensor handle",
            };
            return Err(expected(def, name, k, env, v));
        }
    }
}

/// `e` with the op's name in front of its message (`add: b: ...`).
fn in_op(def: &OpDef, mut e: JsError) -> JsError {
    e.message = format!("{}: {}", def.name, e.message);
    e
}

/// Reads operand `v` of `kind` as a source of trace `ctx` (concrete tensors become constants).
fn traced_operand(env: Env, ctx: &Rc<TraceCtx>, v: Value, def: &OpDef, name: &str, kind: In, out: &mut Vec<Src>) -> Result<(), JsError> {
    let what = format!("{}: {name}", def.name);
    let ty = env.type_of(v)?;
    match (kind, ty) {
        (In::Operand, ValueType::Number) => out.push(Src::Scalar(env.get_f64(v)?)),
        (In::Optional, ValueType::Null | ValueType::Undefined) => out.push(Src::None),
        (In::Key, ValueType::Object) => {
            let t = args::key_tensor(env, v).ok_or_else(|| expected(def, name, "key data (a Uint32Array of length 2)", env, v))?;
            out.push(ctx.graph.borrow_mut().constant(&t));
        }
        (In::List, _) => {
            if !env.is_array(v)? {
                return Err(expected(def, name, "an array of tensor handles", env, v));
            }
            for i in 0..args::array_len(env, v, name).map_err(|e| in_op(def, e))? {
                traced_operand(env, ctx, env.get_element(v, i)?, def, &format!("{name}[{i}]"), In::Tensor, out)?;
            }
        }
        (_, ValueType::External) => {
            let h = handle::handle(env, v, &what)?;
            if let Some(t) = h.tracer() {
                out.push(t.src_in(ctx, &what)?);
            } else if let Some((src, k, upper)) = h.pending_mask(&what)? {
                // A deferred mask captured by the trace: record the mask, so plans can fuse it.
                let mut g = ctx.graph.borrow_mut();
                let c = g.constant(&src);
                let op = table::code(if upper { "triu" } else { "tril" }).expect("triu and tril are in the table");
                g.add(op, vec![Attr::Int(k)], vec![c]).map_err(args::core_error)?;
                out.push(Src::Node(g.nodes.len() - 1, 0));
            } else {
                let t = h.ready(env, &what)?;
                out.push(ctx.graph.borrow_mut().constant(&t));
            }
        }
        _ => return Err(expected(def, name, "a tensor handle", env, v)),
    }
    Ok(())
}

/// `op(code, ...operands, ...attributes)` → a handle, or an array of handles for ops with
/// several outputs (split, qr).
pub fn op(env: Env, info: CallbackInfo) -> Result<Value, JsError> {
    let code = args::count(env, info.arg(0), "op")?;
    let def = table::op(code).map_err(args::core_error)?;
    let n_in = def.inputs.len();
    let mut attrs = Vec::with_capacity(def.attrs.len());
    for (j, &(name, kind)) in def.attrs.iter().enumerate() {
        attrs.push(attr(env, info.arg(1 + n_in + j), def, name, kind)?);
    }
    if let Some(ctx) = crate::trace::active() {
        return record(env, &info, &ctx, code, def, attrs);
    }
    // A matmul by a lazy triu/tril multiplies by its source without materialising it: checked
    // before the operands are read, since reading one materialises it.
    if def.name == "matmul" {
        if let Some(hb) = handle::try_handle(env, info.arg(2)) {
            if let Some((src, k, upper)) = hb.pending_mask("b").map_err(|e| in_op(def, e))? {
                let a = eager_operand(env, info.arg(1), def, "a", In::Tensor)?;
                let Held::Ref(a) = &a else { unreachable!("In::Tensor") };
                return handle::wrap(env, flaxen_core::ops::matmul_masked(a, &src, k, upper));
            }
        }
    }
    // Operands live on the stack for the usual ≤ 4 (a tiny op allocates nothing but its output).
    let n = n_in;
    let mut held: [Held; MAX_INLINE] = std::array::from_fn(|_| Held::None);
    let mut spill: Vec<Held> = Vec::new();
    for (i, &(name, kind)) in def.inputs.iter().enumerate() {
        let h = eager_operand(env, info.arg(1 + i), def, name, kind)?;
        if n <= MAX_INLINE {
            held[i] = h;
        } else {
            spill.push(h);
        }
    }
    let held: &[Held] = if n <= MAX_INLINE { &held[..n] } else { &spill };
    // Deferred masks: see the module docs.
    if def.name == "triu" || def.name == "tril" {
        let Held::Ref(x) = &held[0] else { unreachable!("In::Tensor") };
        return handle::wrap_mask(env, x, attrs[0].int(), def.name == "triu");
    }
    let mut slots = [Arg::None; MAX_INLINE];
    let spilled: Vec<Arg>;
    let operands: &[Arg] = if n <= MAX_INLINE {
        for (a, h) in slots.iter_mut().zip(held) {
            *a = h.arg();
        }
        &slots[..n]
    } else {
        spilled = held.iter().map(Held::arg).collect();
        &spilled
    };
    if takes_sizes(def) {
        check_outputs(def, &attrs, operands)?;
    }
    // A refused output allocation inside the kernel unwinds with `AllocFailure`: caught here
    // (free on the normal path) so the error names the op.
    let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| def.execute(&attrs, operands)));
    let mut outs = match run {
        Ok(r) => r.map_err(args::core_error)?,
        Err(p) => match p.downcast::<flaxen_core::storage::AllocFailure>() {
            Ok(f) => return Err(in_op(def, args::core_error(f.0))),
            Err(p) => std::panic::resume_unwind(p),
        },
    };
    if outs.len() == 1 {
        return handle::wrap(env, Ok(outs.pop().expect("one output")));
    }
    wrap_all(env, outs.into_iter().map(Ok).collect(), |env, t| handle::wrap(env, Ok(t)))
}

/// Whether the row's output size comes from its attributes rather than its operands: a
/// creation row (no operands: `full`, `arange`, `eye`...) or a shape or count attribute
/// (draws, `broadcast_to`, `one_hot`, `split`...). Those rows run `infer` and check the output
/// bytes against the byte cap before the kernel allocates anything (a kernel may take scratch
/// buffers from the global allocator first, whose failure aborts). Other rows' outputs follow
/// their existing operands (axes only select or reorder; broadcasting and gathers are checked by
/// the storage allocation itself, caught around `run`); skipping `infer` there keeps a tiny op
/// tiny (on a shared VM a 4-element `sum` looked ~20% slower with it; noisy, but not free).
fn takes_sizes(def: &OpDef) -> bool {
    def.inputs.is_empty() || def.attrs.iter().any(|&(_, k)| matches!(k, AttrKind::Count | AttrKind::Shape))
}

/// `infer` on the operands' metas, then the output bytes against the byte cap (E_ALLOC).
fn check_outputs(def: &OpDef, attrs: &[Attr], operands: &[Arg]) -> Result<(), JsError> {
    let metas: Vec<Vec<Meta>> = operands
        .iter()
        .map(|a| match a {
            Arg::T(t) => vec![Meta::of(t)],
            Arg::L(l) => l.iter().map(Meta::of).collect(),
            _ => Vec::new(),
        })
        .collect();
    let margs: Vec<MArg> = operands
        .iter()
        .zip(&metas)
        .map(|(a, m)| match a {
            Arg::T(_) => MArg::T(&m[0]),
            Arg::L(_) => MArg::L(m),
            Arg::S(x) => MArg::S(*x),
            Arg::None => MArg::None,
        })
        .collect();
    let outs = def.infer_metas(attrs, &margs).map_err(args::core_error)?;
    table::check_out_bytes(def.name, &outs).map_err(args::core_error)
}

/// Operands an eager call keeps on the stack (no row has more than 3; a list counts as one).
const MAX_INLINE: usize = 4;

fn record(env: Env, info: &CallbackInfo, ctx: &Rc<TraceCtx>, code: usize, def: &'static OpDef, attrs: Vec<Attr>) -> Result<Value, JsError> {
    let mut srcs = Vec::with_capacity(def.inputs.len());
    for (i, &(name, kind)) in def.inputs.iter().enumerate() {
        traced_operand(env, ctx, info.arg(1 + i), def, name, kind, &mut srcs)?;
    }
    let metas = ctx.graph.borrow_mut().add(code, attrs, srcs).map_err(args::core_error)?.to_vec();
    let node = ctx.graph.borrow().nodes.len() - 1;
    let tracers = metas
        .into_iter()
        .enumerate()
        .map(|(o, meta)| Ok(Tracer { ctx: ctx.clone(), src: Src::Node(node, o), meta, op: def.name }))
        .collect();
    wrap_all(env, tracers, handle::wrap_tracer)
}

/// One output as its handle; several as an array of handles.
fn wrap_all<T>(env: Env, outs: Vec<flaxen_core::Result<T>>, wrap: impl Fn(Env, T) -> Result<Value, JsError>) -> Result<Value, JsError>
where
    T: Sized,
{
    let wrap1 = |t: flaxen_core::Result<T>| wrap(env, t.map_err(args::core_error)?);
    if outs.len() == 1 {
        return wrap1(outs.into_iter().next().expect("one output"));
    }
    let arr = env.create_array(outs.len())?;
    for (i, t) in outs.into_iter().enumerate() {
        env.set_element(arr, i as u32, wrap1(t)?)?;
    }
    Ok(arr)
}

/// `OP_NAMES`: the table's op names by code.
pub fn names(env: Env) -> Result<Value, JsError> {
    let arr = env.create_array(table::OPS.len())?;
    for (i, d) in table::OPS.iter().enumerate() {
        env.set_element(arr, i as u32, env.create_string(d.name)?)?;
    }
    Ok(arr)
}
