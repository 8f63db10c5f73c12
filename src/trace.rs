//! `jit` tracing: while a trace is active on this thread, `op()` records into its graph
//! instead of computing, and returns *tracer* handles (shape and dtype, no data). Reading a
//! tracer's values throws JAX's `ConcretizationTypeError`; using one after its trace ended
//! throws `UnexpectedTracerError` (the error `code` is the class name, as for every JAX class).

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use flaxen_core::ops::table::Meta;
use flaxen_core::plan::{Graph, Src};
use node_api::{CallbackInfo, Env, JsError, TypeTag, Value};

use crate::{args, handle};

static TRACE_TAG: TypeTag = TypeTag::new(0x666c_6178_656e_0002, 0x7472_6163_6500_0001);

/// One trace: its graph, open until `traceEnd`/`traceAbort`.
pub struct TraceCtx {
    pub graph: RefCell<Graph>,
    open: Cell<bool>,
}

/// A traced value: which trace, where in it, its meta and the op that made it (for messages).
#[derive(Clone)]
pub struct Tracer {
    pub ctx: Rc<TraceCtx>,
    pub src: Src,
    pub meta: Meta,
    pub op: &'static str,
}

thread_local! {
    /// The traces open on this thread, innermost last.
    static ACTIVE: RefCell<Vec<Rc<TraceCtx>>> = const { RefCell::new(Vec::new()) };
}

/// The innermost open trace of this thread, if any.
pub fn active() -> Option<Rc<TraceCtx>> {
    ACTIVE.with(|a| a.borrow().last().cloned())
}

impl Tracer {
    pub fn concretization_error(&self, what: &str) -> JsError {
        let shape = &self.meta.shape;
        JsError::error(
            "ConcretizationTypeError",
            format!(
                "Abstract tracer value encountered where concrete value is expected: {what} is the output of `{}` \
                 (shape {shape:?}, dtype {}) inside a jit trace, where values are not computed yet. Return it from \
                 the jitted function instead, or mark the argument it depends on static (staticArgnums/staticArgnames).",
                self.op, self.meta.dtype
            ),
        )
    }

    /// This tracer's source in `ctx`; `UnexpectedTracerError` if it belongs to another or a
    /// finished trace.
    pub fn src_in(&self, ctx: &Rc<TraceCtx>, what: &str) -> Result<Src, JsError> {
        if Rc::ptr_eq(&self.ctx, ctx) && ctx.open.get() {
            return Ok(self.src);
        }
        Err(self.escaped(what))
    }

    pub fn escaped(&self, what: &str) -> JsError {
        JsError::error(
            "UnexpectedTracerError",
            format!(
                "Encountered an unexpected tracer: {what} is the output of `{}` (shape {:?}, dtype {}) from a jit \
                 trace that has ended or is not the current one. A traced value escaped its function (stored in a \
                 closure or object); return it instead.",
                self.op, self.meta.shape, self.meta.dtype
            ),
        )
    }
}

fn ctx<'a>(env: Env, v: Value) -> Result<&'a Rc<TraceCtx>, JsError> {
    let c = env
        .get_external::<Rc<TraceCtx>>(v, &TRACE_TAG)
        .map_err(|_| JsError::type_error("E_TYPE", "trace: expected a trace handle"))?;
    if !c.open.get() {
        return Err(JsError::error("E_ARG", "trace: this trace has already ended"));
    }
    Ok(c)
}

/// `traceBegin(abstractOnly)` → a new trace, now the innermost on this thread. An abstract
/// trace (`evalShape`) is only for shapes and dtypes: it can be aborted, never compiled.
pub fn begin(env: Env, info: CallbackInfo) -> Result<Value, JsError> {
    let graph = if args::boolean(env, info.arg(0), "abstractOnly")? { Graph::abstract_only() } else { Graph::new() };
    let c = Rc::new(TraceCtx { graph: RefCell::new(graph), open: Cell::new(true) });
    ACTIVE.with(|a| a.borrow_mut().push(c.clone()));
    env.create_external(c, &TRACE_TAG)
}

/// `traceInput(trace, shape, dtype)` → a tracer for the next traced input.
pub fn input(env: Env, info: CallbackInfo) -> Result<Value, JsError> {
    let c = ctx(env, info.arg(0))?;
    let shape = args::shape(env, info.arg(1), "shape")?;
    let dtype = args::dtype(env, info.arg(2), "dtype")?;
    let meta = Meta::new(shape, dtype);
    let src = c.graph.borrow_mut().input(meta.clone());
    handle::wrap_tracer(env, Tracer { ctx: c.clone(), src, meta, op: "argument" })
}

/// Closes `c` and removes it from this thread's stack (it must be the innermost).
fn close(c: &Rc<TraceCtx>) -> Result<(), JsError> {
    let top = ACTIVE.with(|a| {
        let mut a = a.borrow_mut();
        let is_top = a.last().is_some_and(|t| Rc::ptr_eq(t, c));
        if is_top {
            a.pop();
        }
        is_top
    });
    c.open.set(false);
    if !top {
        return Err(JsError::error("E_ARG", "trace: traces must end innermost first"));
    }
    Ok(())
}

/// `traceAbort(trace)`: ends a trace without a plan (the traced function threw).
pub fn abort(env: Env, info: CallbackInfo) -> Result<Value, JsError> {
    let c = ctx(env, info.arg(0))?;
    close(c)?;
    c.graph.replace(Graph::new());
    env.undefined()
}

/// Closes the trace `v` and gives its graph with the sources of `outs` (tracers of this trace,
/// or concrete tensors, which become constants). The trace is closed even when an output is bad.
fn finish(env: Env, v: Value, outs: Value) -> Result<(Graph, Vec<Src>), JsError> {
    let c = ctx(env, v)?.clone();
    let mut srcs = Vec::new();
    let read = (|| {
        if !env.is_array(outs)? {
            return Err(JsError::type_error("E_TYPE", "outputs: expected an array of tensor handles"));
        }
        for i in 0..args::array_len(env, outs, "outputs")? {
            let what = format!("outputs[{i}]");
            let h = handle::handle(env, env.get_element(outs, i)?, &what)?;
            srcs.push(match h.tracer() {
                Some(t) => t.src_in(&c, &what)?,
                None => {
                    let t = h.ready(env, &what)?;
                    c.graph.borrow_mut().constant(&t)
                }
            });
        }
        Ok(())
    })();
    close(&c)?;
    read?;
    Ok((c.graph.replace(Graph::new()), srcs))
}

/// `traceEnd(trace, outputs)` → a plan computing `outputs` (tracers of this trace, or concrete
/// tensors, which become constants).
pub fn end(env: Env, info: CallbackInfo) -> Result<Value, JsError> {
    let (graph, srcs) = finish(env, info.arg(0), info.arg(1))?;
    if graph.abstract_only {
        return Err(JsError::error("E_ARG", "traceEnd: an abstract trace (evalShape) has no plan; end it with traceAbort"));
    }
    let plan = flaxen_core::plan::Plan::compile(graph, srcs).map_err(args::core_error)?;
    crate::plan::wrap(env, plan)
}

/// `traceEvalKnown(trace, outputs)` → the values of `outputs` computed from the trace's
/// constants (`lazyInit`: its inputs are abstract, never given values), or the index of the
/// first output that depends on an input. Ends the trace.
pub fn eval_known(env: Env, info: CallbackInfo) -> Result<Value, JsError> {
    let (graph, srcs) = finish(env, info.arg(0), info.arg(1))?;
    match flaxen_core::plan::eval_known(&graph, &srcs).map_err(args::core_error)? {
        Ok(values) => handle::wrap_list(env, values),
        Err(i) => env.create_u32(i as u32),
    }
}
