//! The op table: every kernel family described once — its name, operands, attributes, how its
//! output shapes and dtypes follow from its inputs (`infer`, without running anything), and how
//! it runs (`run`). Eager calls from JS, tracing and plans all go through this table, so an op
//! added here is callable, traceable and plannable with no further code.
//!
//! `infer` is where arguments are validated before anything is allocated: a plan checks every
//! node when it is built, and the binding's eager path relies on the same checks inside the
//! kernels (which compute the same shapes first).

use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::linalg;
use crate::ops::{self, BinaryOp, CompareOp, Cumulative, LogicalOp, NormStats, Operand, TakeMode, UnaryOp};
use crate::prng::{self, Layout};
use crate::shape::{broadcast_shapes_named, check_shape, normalize_axis};
use crate::tensor::Tensor;

/// Output shape and dtype of a value, known without its data.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Meta {
    pub shape: Vec<usize>,
    pub dtype: DType,
}

impl Meta {
    pub fn new(shape: Vec<usize>, dtype: DType) -> Meta {
        Meta { shape, dtype }
    }
    pub fn of(t: &Tensor) -> Meta {
        Meta::new(t.shape().to_vec(), t.dtype())
    }
}

/// What an operand slot accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum In {
    /// A tensor.
    Tensor,
    /// A tensor or a JS number (weakly typed scalar).
    Operand,
    /// A tensor or nothing (null).
    Optional,
    /// A PRNG key: uint32 data of shape [2].
    Key,
    /// Any number of tensors (the op's only operand).
    List,
}

/// What an attribute slot accepts (the binding reads JS values by kind).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttrKind {
    Bool,
    /// An integer within ±2^53.
    Int,
    /// A non-negative integer.
    Count,
    /// An integer or null.
    OptInt,
    /// Any number.
    Num,
    /// A finite number.
    Finite,
    /// An array of integers.
    Ints,
    /// An array of integers or null.
    OptInts,
    /// An array of non-negative integers whose product is within the core's limit.
    Shape,
    DType,
    /// One of the listed strings.
    Choice(&'static [&'static str]),
    /// Made by the plan compiler only (a fused program): JS cannot call such a row.
    Internal,
}

/// An attribute value, already checked against its kind.
#[derive(Clone, Debug, PartialEq)]
pub enum Attr {
    None,
    Bool(bool),
    Int(i64),
    Num(f64),
    Ints(Vec<i64>),
    Shape(Vec<usize>),
    DType(DType),
    Choice(usize),
    Program(std::sync::Arc<crate::ops::fused::Program>),
}

impl Attr {
    pub fn bool(&self) -> bool {
        matches!(self, Attr::Bool(true))
    }
    pub fn int(&self) -> i64 {
        match self {
            Attr::Int(i) => *i,
            _ => 0,
        }
    }
    pub fn opt_int(&self) -> Option<i64> {
        match self {
            Attr::Int(i) => Some(*i),
            _ => None,
        }
    }
    pub fn num(&self) -> f64 {
        match self {
            Attr::Num(x) => *x,
            Attr::Int(i) => *i as f64,
            _ => f64::NAN,
        }
    }
    pub fn ints(&self) -> &[i64] {
        match self {
            Attr::Ints(v) => v,
            _ => &[],
        }
    }
    pub fn opt_ints(&self) -> Option<&[i64]> {
        match self {
            Attr::Ints(v) => Some(v),
            _ => None,
        }
    }
    pub fn shape(&self) -> &[usize] {
        match self {
            Attr::Shape(v) => v,
            _ => &[],
        }
    }
    pub fn dtype(&self) -> DType {
        match self {
            Attr::DType(d) => *d,
            _ => DType::F32,
        }
    }
    pub fn choice(&self) -> usize {
        match self {
            Attr::Choice(i) => *i,
            _ => 0,
        }
    }
    pub fn program(&self) -> Option<&crate::ops::fused::Program> {
        match self {
            Attr::Program(p) => Some(p),
            _ => None,
        }
    }
    pub fn layout(&self) -> Layout {
        if self.bool() {
            Layout::Partitionable
        } else {
            Layout::Original
        }
    }
}

/// An operand at run time.
#[derive(Clone, Copy, Debug)]
pub enum Arg<'a> {
    T(&'a Tensor),
    S(f64),
    None,
    L(&'a [Tensor]),
}

/// An operand at trace time: its meta, a scalar, nothing, or a list of metas.
#[derive(Clone, Copy, Debug)]
pub enum MArg<'a> {
    T(&'a Meta),
    S(f64),
    None,
    L(&'a [Meta]),
}

/// Broad classes the plan optimiser cares about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    /// Output i depends only on input element i (after broadcasting); no reductions.
    Elementwise,
    /// Output shares the input's storage (reshape-like): no kernel runs.
    View,
    /// A random draw or other op whose value depends on nothing but its operands (pure).
    Other,
}

pub type InferFn = fn(&[Attr], &[MArg]) -> Result<Vec<Meta>>;
pub type RunFn = fn(&[Attr], &[Arg]) -> Result<Vec<Tensor>>;

/// One row of the table. Callers go through `infer_metas` and `execute`, which apply the row's
/// `half` policy around its `infer` and `run`.
pub struct OpDef {
    pub name: &'static str,
    pub inputs: &'static [(&'static str, In)],
    pub attrs: &'static [(&'static str, AttrKind)],
    pub class: Class,
    pub infer: InferFn,
    pub run: RunFn,
    /// What the row does with float16 / bfloat16 operands.
    pub half: Half,
}

/// The run function of a `Half::Steps` row: the operands already widened to float32 (numbers
/// rounded to the half dtype), the half dtype the result takes; returns the results in it.
pub type StepsFn = fn(&[Attr], &[Arg], DType) -> Result<Vec<Tensor>>;

/// How an op family treats float16 and bfloat16 operands: decided once per row, here, for
/// eager calls, traces and plans alike (`OpDef::infer_metas` / `OpDef::execute`).
#[derive(Clone, Copy)]
pub enum Half {
    /// The kernel takes them itself: it moves their 2-byte elements (layout, gathers, `where`,
    /// masks, creation), converts them (`astype`) or reads them directly (`matmul`'s weights).
    Native,
    /// One JAX primitive: the operand slots listed promote together by JAX's lattice (float16
    /// with bfloat16 is float32, a half dtype with an integer or bool is the half dtype, a
    /// number takes the tensor's dtype). When that dtype P is a half dtype, the slots' operands
    /// are cast to P, widened to float32 and numbers rounded to P (through float32, as JAX's weak
    /// scalars are); the float32 kernel runs, and its float32 outputs are rounded to P once,
    /// which is how XLA's CPU backend computes a half primitive. Half operands in other slots
    /// are widened alone (their value is used, not their dtype).
    F32(&'static [usize]),
    /// A composite that JAX computes as several primitives, each rounded to P (softmax, gelu,
    /// cumsum, `x ** 3`...): promotion as `F32`, then `ops::half`'s version, which rounds where
    /// JAX 0.10.2 does. When P is float32 (float16 with bfloat16) the float32 kernel runs.
    Steps(&'static [usize], StepsFn),
    /// Refused with E_DTYPE naming the op and the dtype.
    Refuse,
}

impl OpDef {
    /// `infer` under the row's half policy: the output metas of this call.
    pub fn infer_metas(&self, at: &[Attr], args: &[MArg]) -> Result<Vec<Meta>> {
        if matches!(self.half, Half::Native) || !args.iter().any(marg_has_half) {
            return (self.infer)(at, args);
        }
        let slots = match self.half {
            Half::F32(s) | Half::Steps(s, _) => s,
            _ => return Err(refused(self.name, args.iter().find_map(marg_half).expect("a half operand"))),
        };
        let p = promoted(self.name, slots, args.iter().map(|a| match a {
            MArg::T(m) => Some(m.dtype),
            _ => None,
        }))?;
        let mut metas: Vec<Meta> = Vec::with_capacity(args.len());
        let mut lists: Vec<Vec<Meta>> = Vec::new();
        for (i, a) in args.iter().enumerate() {
            match a {
                MArg::T(m) => metas.push(Meta::new(m.shape.clone(), widened_dtype(m.dtype, slots.contains(&i), p))),
                MArg::L(l) => lists.push(l.iter().map(|m| Meta::new(m.shape.clone(), widened_dtype(m.dtype, false, None))).collect()),
                _ => {}
            }
        }
        let (mut mi, mut li) = (metas.iter(), lists.iter());
        let wide: Vec<MArg> = args
            .iter()
            .map(|a| match a {
                MArg::T(_) => MArg::T(mi.next().expect("one meta per tensor")),
                MArg::L(_) => MArg::L(li.next().expect("one list per list")),
                other => *other,
            })
            .collect();
        let outs = (self.infer)(at, &wide)?;
        Ok(outs.into_iter().map(|m| Meta { dtype: rounded_dtype(m.dtype, p), ..m }).collect())
    }

    /// `run` under the row's half policy: the outputs of this call.
    pub fn execute(&self, at: &[Attr], args: &[Arg]) -> Result<Vec<Tensor>> {
        if matches!(self.half, Half::Native) || !args.iter().any(arg_has_half) {
            return (self.run)(at, args);
        }
        let (slots, steps) = match self.half {
            Half::F32(s) => (s, None),
            Half::Steps(s, f) => (s, Some(f)),
            _ => return Err(refused(self.name, args.iter().find_map(arg_half).expect("a half operand"))),
        };
        let p = promoted(self.name, slots, args.iter().map(|a| match a {
            Arg::T(t) => Some(t.dtype()),
            _ => None,
        }))?;
        let mut held: Vec<Tensor> = Vec::with_capacity(args.len());
        let mut lists: Vec<Vec<Tensor>> = Vec::new();
        for (i, a) in args.iter().enumerate() {
            match a {
                Arg::T(t) => held.push(widen(t, slots.contains(&i), p)),
                Arg::L(l) => lists.push(l.iter().map(|t| widen(t, false, None)).collect()),
                _ => {}
            }
        }
        let half_p = p.filter(|d| d.is_half());
        let (mut hi, mut li) = (held.iter(), lists.iter());
        let wide: Vec<Arg> = args
            .iter()
            .enumerate()
            .map(|(i, a)| match a {
                Arg::T(_) => Arg::T(hi.next().expect("one tensor per tensor")),
                Arg::L(_) => Arg::L(li.next().expect("one list per list")),
                // A weak number with a half operand: rounded to it through float32.
                Arg::S(s) => match half_p {
                    Some(p) if slots.contains(&i) => Arg::S(round_to(*s as f32, p) as f64),
                    _ => Arg::S(*s),
                },
                Arg::None => Arg::None,
            })
            .collect();
        if let (Some(f), Some(p)) = (steps, half_p) {
            return f(at, &wide, p);
        }
        let outs = (self.run)(at, &wide)?;
        Ok(match half_p {
            Some(p) => outs.into_iter().map(|t| if t.dtype() == DType::F32 { t.astype(p) } else { t }).collect(),
            None => outs,
        })
    }
}

/// A run that takes operand 0 by value, so the kernel may write its result into that buffer
/// (`Tensor::raw_mut`: only when nothing else holds the storage). A plan calls it at the
/// operand's last use; a donated or intermediate buffer then becomes the output.
pub type ConsumeFn = fn(&[Attr], Tensor, &[Arg]) -> Result<Vec<Tensor>>;

impl OpDef {
    /// The row's in-place form, if it has one (the rows that update a buffer: a decode cache).
    pub fn consume(&self) -> Option<ConsumeFn> {
        match self.name {
            "dynamic_update_slice" => Some(|_, x, a| out(ops::dynamic_update_slice(x, tensor(&a[0]), tensor(&a[1])))),
            _ => None,
        }
    }
}

fn marg_half(a: &MArg) -> Option<DType> {
    match a {
        MArg::T(m) if m.dtype.is_half() => Some(m.dtype),
        MArg::L(l) => l.iter().map(|m| m.dtype).find(DType::is_half),
        _ => None,
    }
}

fn marg_has_half(a: &MArg) -> bool {
    marg_half(a).is_some()
}

fn arg_half(a: &Arg) -> Option<DType> {
    match a {
        Arg::T(t) if t.dtype().is_half() => Some(t.dtype()),
        Arg::L(l) => l.iter().map(|t| t.dtype()).find(DType::is_half),
        _ => None,
    }
}

fn arg_has_half(a: &Arg) -> bool {
    arg_half(a).is_some()
}

fn refused(op: &str, dt: DType) -> Error {
    Error::dtype(format!("{op}: {dt} is not supported by this op (cast with astype('float32'))"))
}

/// The promoted dtype of the tensors in `slots` (None if the slots hold no tensor).
fn promoted(op: &str, slots: &[usize], dts: impl Iterator<Item = Option<DType>>) -> Result<Option<DType>> {
    let mut p: Option<DType> = None;
    for (i, d) in dts.enumerate() {
        if let (Some(d), true) = (d, slots.contains(&i)) {
            p = Some(match p {
                None => d,
                Some(q) => ops::binary::promote(q, d, op)?,
            });
        }
    }
    Ok(p)
}

/// The dtype an operand of `dt` is computed in: a promoted slot with a half P is float32 after
/// its cast to P; other half operands are widened; the rest stay.
fn widened_dtype(dt: DType, promoted_slot: bool, p: Option<DType>) -> DType {
    if dt.is_half() || (promoted_slot && p.is_some_and(|p| p.is_half())) {
        DType::F32
    } else {
        dt
    }
}

fn widen(t: &Tensor, promoted_slot: bool, p: Option<DType>) -> Tensor {
    match p {
        // An integer or bool operand promoted to a half dtype is rounded to it first.
        Some(p) if promoted_slot && p.is_half() && t.dtype() != p => t.astype(p).astype(DType::F32),
        _ if widened_dtype(t.dtype(), promoted_slot, p) == DType::F32 && t.dtype() != DType::F32 => t.astype(DType::F32),
        _ => t.clone(),
    }
}

/// The dtype of an output of the float32 computation: float32 results take P when it is a
/// half dtype.
fn rounded_dtype(dt: DType, p: Option<DType>) -> DType {
    match p {
        Some(p) if p.is_half() && dt == DType::F32 => p,
        _ => dt,
    }
}

/// `x` rounded to the half dtype `p` (as a float32).
pub(crate) fn round_to(x: f32, p: DType) -> f32 {
    match p {
        DType::BF16 => crate::halfconv::round_bf16(x),
        DType::F16 => crate::halfconv::round_f16(x),
        _ => x,
    }
}

/// E_ALLOC unless every output of `op` fits the byte cap (`storage::max_bytes`), computed with
/// checked arithmetic: run on `infer`'s metas before anything is allocated, so an impossible
/// request is an error instead of an allocation failure inside a kernel's scratch buffers.
/// An abstract output's size only has to be representable: its element count times its
/// element size fits in a `usize`.
pub fn check_out_size(op: &str, metas: &[Meta]) -> Result<()> {
    for m in metas {
        let bytes = m.shape.iter().try_fold(m.dtype.size(), |a, &d| a.checked_mul(d));
        if bytes.is_none_or(|b| b > isize::MAX as usize) {
            return Err(Error::alloc(format!("{op}: output of shape {:?} ({}) has more bytes than an address space holds", m.shape, m.dtype.name())));
        }
    }
    Ok(())
}

pub fn check_out_bytes(op: &str, metas: &[Meta]) -> Result<()> {
    for m in metas {
        let n = m.shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d)).unwrap_or(usize::MAX);
        crate::storage::check_alloc(n, m.dtype.size(), &format!("{op}: output of shape {:?} ({})", m.shape, m.dtype.name()))?;
    }
    Ok(())
}

// ---- helpers shared by the rows ------------------------------------------------------------

fn one(m: Meta) -> Result<Vec<Meta>> {
    Ok(vec![m])
}

fn out(t: Result<Tensor>) -> Result<Vec<Tensor>> {
    t.map(|t| vec![t])
}

fn tensor<'a>(a: &Arg<'a>) -> &'a Tensor {
    match a {
        Arg::T(t) => t,
        _ => unreachable!("the binding and the planner pass a tensor for In::Tensor"),
    }
}

fn meta<'a>(a: &MArg<'a>) -> &'a Meta {
    match a {
        MArg::T(m) => m,
        _ => unreachable!("a tensor meta for In::Tensor"),
    }
}

fn opt_meta<'a>(a: &MArg<'a>) -> Option<&'a Meta> {
    match a {
        MArg::T(m) => Some(m),
        _ => None,
    }
}

fn opt_tensor<'a>(a: &Arg<'a>) -> Option<&'a Tensor> {
    match a {
        Arg::T(t) => Some(t),
        _ => None,
    }
}

/// A scalar operand as a 0-d tensor of `dt`.
fn scalar(s: f64, dt: DType) -> Tensor {
    ops::full(&[], s, dt)
}

/// An operand's tensor; a number becomes a float32 scalar (jnp.asarray of a Python float).
fn operand_tensor(a: &Arg) -> Tensor {
    match a {
        Arg::T(t) => (*t).clone(),
        Arg::S(s) => scalar(*s, DType::F32),
        _ => unreachable!("an operand"),
    }
}

fn operand_meta(a: &MArg) -> Meta {
    match a {
        MArg::T(m) => (*m).clone(),
        _ => Meta::new(vec![], DType::F32),
    }
}

/// A truth operand (logical ops): a number is a bool scalar (`x != 0`).
fn truth_tensor(a: &Arg) -> Tensor {
    match a {
        Arg::T(t) => (*t).clone(),
        Arg::S(s) => scalar((*s != 0.0) as u8 as f64, DType::Bool),
        _ => unreachable!("an operand"),
    }
}

fn operand_shape<'a>(a: &MArg<'a>) -> &'a [usize] {
    match a {
        MArg::T(m) => &m.shape,
        _ => &[],
    }
}

fn key_words(a: &Arg, what: &str) -> Result<[u32; 2]> {
    let t = tensor(a);
    if t.dtype() != DType::U32 || t.shape() != [2] {
        return Err(Error::dtype(format!(
            "{what}: expected key data (uint32 of shape [2]), got {} of shape {:?}",
            t.dtype().name(),
            t.shape()
        )));
    }
    let w = t.raw::<u32>();
    Ok([w[0], w[1]])
}

fn check_key(m: &MArg, what: &str) -> Result<()> {
    let m = meta(m);
    if m.dtype != DType::U32 || m.shape != [2] {
        return Err(Error::dtype(format!(
            "{what}: expected key data (uint32 of shape [2]), got {} of shape {:?}",
            m.dtype.name(),
            m.shape
        )));
    }
    Ok(())
}

fn key_tensor(w: [u32; 2]) -> Tensor {
    Tensor::from_slice(&w, &[2]).expect("two words fit shape [2]")
}

fn is_integral(s: f64) -> bool {
    s.is_finite() && s.fract() == 0.0
}

/// jnp's weak-type rule for a tensor of `dt` with a number `s` (see `ops::binary_scalar`).
fn weak(dt: DType, s: f64, div: bool) -> DType {
    match dt {
        DType::F32 | DType::F16 | DType::BF16 => dt,
        _ if div || !is_integral(s) => DType::F32,
        DType::Bool => DType::I32,
        d => d,
    }
}

// ---- binary arithmetic ---------------------------------------------------------------------

/// `conv_general_dilated`'s attributes, then `extra` ones (its fused rows' programs and pooling).
macro_rules! conv_attrs {
    ($($extra:expr),* $(,)?) => {
        &[
            ("window_strides", AttrKind::Ints),
            ("padding", AttrKind::Ints),
            ("lhs_dilation", AttrKind::Ints),
            ("rhs_dilation", AttrKind::Ints),
            ("feature_group_count", AttrKind::Count),
            $($extra),*
        ]
    };
}

/// `reduce_window`'s attributes, then `extra` ones (its fused row's program).
macro_rules! window_attrs {
    ($($extra:expr),* $(,)?) => {
        &[
            ("init_value", AttrKind::Num),
            ("computation", AttrKind::Choice(ops::WindowOp::NAMES)),
            ("window_dimensions", AttrKind::Ints),
            ("window_strides", AttrKind::Ints),
            ("padding", AttrKind::Ints),
            $($extra),*
        ]
    };
}

/// The binary op a row names, resolved at compile time (a wrong name fails the build).
macro_rules! binary_op {
    ($name:literal) => {
        const {
            match BinaryOp::from_name($name) {
                Some(op) => op,
                None => panic!(concat!("no BinaryOp is named ", $name)),
            }
        }
    };
}

fn infer_binary(op: BinaryOp, args: &[MArg]) -> Result<Vec<Meta>> {
    let name = op.name();
    let div = op == BinaryOp::Div;
    match (&args[0], &args[1]) {
        (MArg::T(a), MArg::T(b)) => {
            let shape = broadcast_shapes_named(&a.shape, &b.shape, name, "a", "b")?;
            let common = ops::binary::promote(a.dtype, b.dtype, name)?;
            if common == DType::Bool && matches!(op, BinaryOp::Sub | BinaryOp::Pow | BinaryOp::Rem | BinaryOp::FloorDiv) {
                return Err(Error::dtype(format!("{name}: bool operands are not supported; cast to an integer dtype first")));
            }
            one(Meta::new(shape, if div { DType::F32 } else { common }))
        }
        (MArg::T(a), MArg::S(s)) | (MArg::S(s), MArg::T(a)) => {
            let dt = weak(a.dtype, *s, div);
            if op == BinaryOp::Pow && matches!(args[1], MArg::S(_)) && dt.is_int() && negative_exponent(*s, dt) {
                return Err(Error::arg(format!(
                    "power: exponent {s} is negative; integers to negative integer powers are not allowed"
                )));
            }
            one(Meta::new(a.shape.clone(), dt))
        }
        _ => one(Meta::new(vec![], DType::F32)),
    }
}

/// Whether `binary_scalar` rejects the number `s` as the exponent of an integer tensor of `dt`:
/// an integer exponent within i32 when negative, a larger one when negative as a scalar of `dt`.
fn negative_exponent(s: f64, dt: DType) -> bool {
    if s.abs() <= i32::MAX as f64 {
        return s < 0.0;
    }
    dt == DType::I32 && scalar(s, dt).to_f64_vec()[0] < 0.0
}

/// A two-operand op of tensors and/or numbers: `both` for two tensors, else `scalar(tensor,
/// number, number_on_left)` (two numbers: the left one as a float32 scalar tensor).
fn run_pair(args: &[Arg], both: impl Fn(&Tensor, &Tensor) -> Result<Tensor>, scalar: impl Fn(&Tensor, f64, bool) -> Result<Tensor>) -> Result<Vec<Tensor>> {
    out(match (&args[0], &args[1]) {
        (Arg::T(a), Arg::T(b)) => both(a, b),
        (Arg::T(a), Arg::S(s)) => scalar(a, *s, false),
        (Arg::S(s), Arg::T(b)) => scalar(b, *s, true),
        (a, Arg::S(s)) => scalar(&operand_tensor(a), *s, false),
        _ => unreachable!("operands"),
    })
}

fn run_binary(op: BinaryOp, args: &[Arg]) -> Result<Vec<Tensor>> {
    run_pair(args, |a, b| ops::binary(op, a, b), |a, s, left| ops::binary_scalar(op, a, s, left))
}

macro_rules! binary_row {
    ($name:literal) => {
        binary_row!($name, Half::F32(&[0, 1]))
    };
    ($name:literal, $half:expr) => {
        OpDef {
            name: $name,
            inputs: &[("a", In::Operand), ("b", In::Operand)],
            attrs: &[],
            class: Class::Elementwise,
            infer: |_, a| infer_binary(binary_op!($name), a),
            run: |_, a| run_binary(binary_op!($name), a),
            half: $half,
        }
    };
}

// ---- comparisons and logic -----------------------------------------------------------------

/// The comparison a row names, resolved at compile time.
macro_rules! compare_op {
    ($name:literal) => {
        const {
            match CompareOp::from_name($name) {
                Some(op) => op,
                None => panic!(concat!("no CompareOp is named ", $name)),
            }
        }
    };
}

fn infer_broadcast_bool(name: &str, args: &[MArg]) -> Result<Vec<Meta>> {
    let shape = broadcast_shapes_named(operand_shape(&args[0]), operand_shape(&args[1]), name, "a", "b")?;
    one(Meta::new(shape, DType::Bool))
}

/// Comparisons: broadcast, then two tensors' dtypes must promote (`ops::compare`).
fn infer_compare(name: &str, args: &[MArg]) -> Result<Vec<Meta>> {
    let out = infer_broadcast_bool(name, args)?;
    if let (MArg::T(a), MArg::T(b)) = (&args[0], &args[1]) {
        ops::binary::promote(a.dtype, b.dtype, name)?;
    }
    Ok(out)
}

fn run_compare(op: CompareOp, args: &[Arg]) -> Result<Vec<Tensor>> {
    run_pair(args, |a, b| ops::compare(op, a, b), |a, s, left| ops::compare_scalar(op, a, s, left))
}

macro_rules! compare_row {
    ($name:literal) => {
        OpDef {
            name: $name,
            inputs: &[("a", In::Operand), ("b", In::Operand)],
            attrs: &[],
            class: Class::Elementwise,
            infer: |_, a| infer_compare($name, a),
            run: |_, a| run_compare(compare_op!($name), a),
            half: Half::F32(&[0, 1]),
        }
    };
}

fn logical_op(name: &str) -> LogicalOp {
    match name {
        "logical_and" => LogicalOp::And,
        "logical_or" => LogicalOp::Or,
        _ => LogicalOp::Xor,
    }
}

macro_rules! logical_row {
    ($name:literal) => {
        OpDef {
            name: $name,
            inputs: &[("a", In::Operand), ("b", In::Operand)],
            attrs: &[],
            class: Class::Elementwise,
            infer: |_, a| infer_broadcast_bool($name, a),
            run: |_, a| out(ops::logical(logical_op($name), &truth_tensor(&a[0]), &truth_tensor(&a[1]))),
            // Truth values of any dtype (`x != 0`, by value for the half dtypes).
            half: Half::Native,
        }
    };
}

fn infer_where(args: &[MArg]) -> Result<Vec<Meta>> {
    let xy = broadcast_shapes_named(operand_shape(&args[1]), operand_shape(&args[2]), "where", "x", "y")?;
    let shape = broadcast_shapes_named(operand_shape(&args[0]), &xy, "where", "condition", "x and y")?;
    let dt = match (&args[1], &args[2]) {
        (MArg::T(a), MArg::T(b)) => ops::binary::promote_named(a.dtype, b.dtype, "where", "x", "y")?,
        (MArg::T(a), MArg::S(s)) | (MArg::S(s), MArg::T(a)) => weak(a.dtype, *s, false),
        (MArg::S(s), MArg::S(t)) => {
            if is_integral(*s) && is_integral(*t) {
                DType::I32
            } else {
                DType::F32
            }
        }
        _ => unreachable!("operands"),
    };
    one(Meta::new(shape, dt))
}

fn run_where(args: &[Arg]) -> Result<Vec<Tensor>> {
    fn op<'a>(a: &Arg<'a>) -> Operand<'a> {
        match *a {
            Arg::T(t) => Operand::Tensor(t),
            Arg::S(s) => Operand::Scalar(s),
            _ => unreachable!("operands"),
        }
    }
    out(ops::where_(&truth_tensor(&args[0]), op(&args[1]), op(&args[2])))
}

// ---- unary ---------------------------------------------------------------------------------

fn unary_op(name: &str) -> UnaryOp {
    *UnaryOp::ALL.iter().find(|o| o.name() == name).expect("a unary row names a UnaryOp")
}

fn infer_unary(op: UnaryOp, args: &[MArg]) -> Result<Vec<Meta>> {
    use UnaryOp::*;
    let m = operand_meta(&args[0]);
    let dt = match (op, m.dtype) {
        (LogicalNot, _) => DType::Bool,
        (_, DType::F32) => DType::F32,
        (Exp | Log | Sqrt | Tanh | Reciprocal | Erf | Sin | Cos | Log1p | Expm1, _) => DType::F32,
        (Rsqrt | Sigmoid | Silu | Gelu | GeluExact, dt) => {
            return Err(Error::dtype(format!("{}: x has dtype {dt}; expected float32 (cast with astype)", op.name())))
        }
        (Square, DType::Bool) => DType::I32,
        (Negative, DType::Bool) => {
            return Err(Error::dtype(format!("{}: x has dtype bool; expected a numeric dtype (jnp rejects bool here)", op.name())))
        }
        (_, dt) => dt,
    };
    one(Meta::new(m.shape, dt))
}

macro_rules! unary_row {
    ($name:literal) => {
        unary_row!($name, Half::F32(&[0]))
    };
    ($name:literal, $half:expr) => {
        OpDef {
            name: $name,
            inputs: &[("x", In::Operand)],
            attrs: &[],
            class: Class::Elementwise,
            infer: |_, a| infer_unary(unary_op($name), a),
            run: |_, a| out(ops::unary(unary_op($name), &operand_tensor(&a[0]))),
            half: $half,
        }
    };
}

// ---- reductions ----------------------------------------------------------------------------

fn reduced_shape(m: &Meta, axis: Option<&[i64]>, keepdims: bool, what: &str) -> Result<Vec<usize>> {
    Ok(ops::reduce::axes(&m.shape, axis, keepdims, what)?.out_shape)
}

/// jnp's sum dtypes: float32 stays, int32, int8 and bool give int32, unsigned give uint32.
fn sum_dtype(dt: DType) -> DType {
    match dt {
        DType::F32 => DType::F32,
        DType::U32 | DType::U16 | DType::U8 => DType::U32,
        _ => DType::I32,
    }
}

/// `ops::prod`'s dtypes: as `sum_dtype`, except that int8 gives uint32 (what the kernel does;
/// jnp would give int32).
fn prod_dtype(dt: DType) -> DType {
    match dt {
        DType::I8 => DType::U32,
        dt => sum_dtype(dt),
    }
}

/// `ops::max`/`ops::min`: E_SHAPE when some output element reduces no elements.
fn infer_extremum(at: &[Attr], args: &[MArg], what: &str) -> Result<Vec<Meta>> {
    let m = meta(&args[0]);
    let axes = ops::reduce::axes(&m.shape, at[0].opt_ints(), at[1].bool(), what)?;
    if axes.count == 0 && crate::shape::numel(&axes.out_shape) > 0 {
        return Err(Error::shape(format!(
            "{what}: x has shape {:?} and axis {:?} selects no elements; the {what} of an empty set is undefined",
            m.shape,
            at[0].opt_ints()
        )));
    }
    one(Meta::new(axes.out_shape, m.dtype))
}

macro_rules! reduce_row {
    ($name:literal, $f:path, $dt:expr) => {
        OpDef {
            name: $name,
            inputs: &[("x", In::Tensor)],
            attrs: &[("axis", AttrKind::OptInts), ("keepdims", AttrKind::Bool)],
            class: Class::Other,
            infer: |at, a| {
                let m = meta(&a[0]);
                let dt: fn(DType) -> DType = $dt;
                one(Meta::new(reduced_shape(m, at[0].opt_ints(), at[1].bool(), $name)?, dt(m.dtype)))
            },
            run: |at, a| out($f(tensor(&a[0]), at[0].opt_ints(), at[1].bool())),
            half: Half::F32(&[0]),
        }
    };
}

macro_rules! moments_row {
    ($name:literal, $f:path, $half:expr) => {
        OpDef {
            name: $name,
            inputs: &[("x", In::Tensor)],
            attrs: &[("axis", AttrKind::OptInts), ("keepdims", AttrKind::Bool), ("ddof", AttrKind::Finite)],
            class: Class::Other,
            infer: |at, a| one(Meta::new(reduced_shape(meta(&a[0]), at[0].opt_ints(), at[1].bool(), $name)?, DType::F32)),
            run: |at, a| out($f(tensor(&a[0]), at[0].opt_ints(), at[1].bool(), at[2].num())),
            half: $half,
        }
    };
}

fn infer_arg_reduce(at: &[Attr], args: &[MArg], what: &str) -> Result<Vec<Meta>> {
    let m = meta(&args[0]);
    let (shape, n) = match at[0].opt_int() {
        None if at[1].bool() => (vec![1; m.shape.len()], crate::shape::numel(&m.shape)),
        None => (vec![], crate::shape::numel(&m.shape)),
        Some(ax) => (reduced_shape(m, Some(&[ax]), at[1].bool(), what)?, m.shape[normalize_axis(ax, m.shape.len(), what)?]),
    };
    if n == 0 && crate::shape::numel(&shape) > 0 {
        return Err(Error::shape(format!(
            "{what}: x has shape {:?} and the reduced axis is empty; {what} of an empty sequence is undefined",
            m.shape
        )));
    }
    if n > i32::MAX as usize {
        return Err(Error::shape(format!("{what}: the reduced axis has {n} elements; indices must fit int32")));
    }
    one(Meta::new(shape, DType::I32))
}

macro_rules! arg_reduce_row {
    ($name:literal, $f:path) => {
        OpDef {
            name: $name,
            inputs: &[("x", In::Tensor)],
            attrs: &[("axis", AttrKind::OptInt), ("keepdims", AttrKind::Bool)],
            class: Class::Other,
            infer: |at, a| infer_arg_reduce(at, a, $name),
            run: |at, a| out($f(tensor(&a[0]), at[0].opt_int(), at[1].bool())),
            half: Half::F32(&[0]),
        }
    };
}

fn infer_softmax(at: &[Attr], args: &[MArg], what: &str) -> Result<Vec<Meta>> {
    let m = meta(&args[0]);
    ops::reduce::axes(&m.shape, at[0].opt_ints(), false, what)?;
    one(Meta::new(m.shape.clone(), DType::F32))
}

macro_rules! logical_reduce_row {
    ($name:literal, $all:literal) => {
        OpDef {
            name: $name,
            inputs: &[("x", In::Tensor)],
            attrs: AXIS_KEEP,
            class: Class::Other,
            infer: |at, a| one(Meta::new(reduced_shape(meta(&a[0]), at[0].opt_ints(), at[1].bool(), $name)?, DType::Bool)),
            run: |at, a| out(ops::any_all(tensor(&a[0]), at[0].opt_ints(), at[1].bool(), $all)),
            half: Half::Native,
        }
    };
}

/// jnp.sort / argsort: `axis` (an int: JAX's None flattens, which the façade does first) and
/// `descending`; argsort returns int32.
macro_rules! sort_row {
    ($name:literal, $f:expr, $indices:literal) => {
        OpDef {
            name: $name,
            inputs: &[("x", In::Tensor)],
            attrs: &[("axis", AttrKind::Int), ("descending", AttrKind::Bool)],
            class: Class::Other,
            infer: |at, a| {
                let m = meta(&a[0]);
                if m.shape.is_empty() {
                    return Err(Error::shape(concat!($name, ": x is a scalar (shape []); it needs at least one axis")));
                }
                normalize_axis(at[0].int(), m.shape.len(), concat!($name, ": axis"))?;
                one(Meta::new(m.shape.clone(), if $indices { DType::I32 } else { m.dtype }))
            },
            run: |at, a| {
                let f: fn(&Tensor, i64, bool) -> Result<Tensor> = $f;
                out(f(tensor(&a[0]), at[0].int(), at[1].bool()))
            },
            half: Half::Native,
        }
    };
}

macro_rules! cumulative_row {
    ($name:literal, $op:expr, $steps:path) => {
        OpDef {
            name: $name,
            inputs: &[("x", In::Tensor)],
            attrs: &[("axis", AttrKind::OptInt)],
            class: Class::Other,
            infer: |at, a| {
                let m = meta(&a[0]);
                let (shape, _) = ops::scan::cumulative_shape(&m.shape, at[0].opt_int(), $name)?;
                one(Meta::new(shape, ops::scan::cumulative_dtype(m.dtype)))
            },
            run: |at, a| out(ops::cumulative($op, tensor(&a[0]), at[0].opt_int())),
            half: Half::Steps(&[0], $steps),
        }
    };
}

// ---- shapes and layout ---------------------------------------------------------------------

fn infer_matmul(args: &[MArg]) -> Result<Vec<Meta>> {
    let (a, b) = (meta(&args[0]), meta(&args[1]));
    let shape = ops::matmul::out_shape(&a.shape, a.dtype, &b.shape, b.dtype)?;
    one(Meta::new(shape, ops::matmul::out_dtype(a.dtype, b.dtype)))
}

fn infer_mask(args: &[MArg], what: &str) -> Result<Vec<Meta>> {
    let m = meta(&args[0]);
    if m.shape.len() < 2 {
        return Err(Error::shape(format!("{what}: x has shape {:?}; it needs at least 2 dimensions", m.shape)));
    }
    one(m.clone())
}

fn permutation(perm: Option<&[i64]>, nd: usize, what: &str) -> Result<Vec<usize>> {
    let Some(ax) = perm else { return Ok((0..nd).rev().collect()) };
    if ax.len() != nd {
        return Err(Error::arg(format!(
            "{what}: axes {ax:?} has {} entries but x has {nd} axes; axes must be a permutation of 0..{nd}",
            ax.len()
        )));
    }
    let mut seen = vec![false; nd];
    ax.iter()
        .map(|&a| {
            let i = normalize_axis(a, nd, &format!("{what}: axes"))?;
            if std::mem::replace(&mut seen[i], true) {
                return Err(Error::arg(format!("{what}: axes {ax:?} repeats axis {i}; axes must be a permutation of 0..{nd}")));
            }
            Ok(i)
        })
        .collect()
}

fn permuted(m: &Meta, perm: &[usize]) -> Vec<Meta> {
    vec![Meta::new(perm.iter().map(|&p| m.shape[p]).collect(), m.dtype)]
}

fn unique_axes(axes: &[i64], nd: usize, what: &str) -> Result<Vec<usize>> {
    let mut seen = vec![false; nd];
    axes.iter()
        .map(|&a| {
            let i = normalize_axis(a, nd, what)?;
            if std::mem::replace(&mut seen[i], true) {
                return Err(Error::arg(format!("{what}: {axes:?} repeats axis {i}")));
            }
            Ok(i)
        })
        .collect()
}

fn infer_expand_dims(at: &[Attr], args: &[MArg]) -> Result<Vec<Meta>> {
    let m = meta(&args[0]);
    let axes = at[0].ints();
    let nd = m.shape.len() + axes.len();
    let ins = unique_axes(axes, nd, "expand_dims: axis")?;
    let mut src = m.shape.iter();
    let shape = (0..nd).map(|i| if ins.contains(&i) { 1 } else { *src.next().expect("one source axis per slot") }).collect();
    one(Meta::new(shape, m.dtype))
}

fn infer_squeeze(at: &[Attr], args: &[MArg]) -> Result<Vec<Meta>> {
    let m = meta(&args[0]);
    let nd = m.shape.len();
    let drop: Vec<usize> = match at[0].opt_ints() {
        None => (0..nd).filter(|&i| m.shape[i] == 1).collect(),
        Some(ax) => {
            let v = unique_axes(ax, nd, "squeeze: axis")?;
            if let Some(&i) = v.iter().find(|&&i| m.shape[i] != 1) {
                return Err(Error::arg(format!(
                    "squeeze: axis {i} of shape {:?} has size {}; only axes of size 1 can be squeezed",
                    m.shape, m.shape[i]
                )));
            }
            v
        }
    };
    one(Meta::new((0..nd).filter(|i| !drop.contains(i)).map(|i| m.shape[i]).collect(), m.dtype))
}

fn infer_reshape(at: &[Attr], args: &[MArg]) -> Result<Vec<Meta>> {
    let m = meta(&args[0]);
    let shape = crate::shape::resolve_reshape(&m.shape, at[0].ints())?;
    one(Meta::new(shape, m.dtype))
}

/// `ops::concatenate` / `ops::stack`, checking in their order (so the first error is theirs).
fn infer_concatenate(at: &[Attr], args: &[MArg], stack: bool) -> Result<Vec<Meta>> {
    let MArg::L(xs) = args[0] else { unreachable!("a list") };
    let what = if stack { "stack" } else { "concatenate" };
    let Some(first) = xs.first() else {
        return Err(Error::arg(format!("{what}: xs is empty; need at least one array to {what}")));
    };
    let promoted = || {
        xs.iter().enumerate().skip(1).try_fold(first.dtype, |dt, (i, x)| {
            ops::binary::promote_named(dt, x.dtype, what, "the inputs before it", &format!("xs[{i}]"))
        })
    };
    if stack {
        if let Some((i, x)) = xs.iter().enumerate().find(|(_, x)| x.shape != first.shape) {
            return Err(Error::shape(format!(
                "stack: xs[0] has shape {:?} and xs[{i}] has shape {:?}; all inputs must have the same shape",
                first.shape, x.shape
            )));
        }
        let ax = normalize_axis(at[0].int(), first.shape.len() + 1, "stack: axis")?;
        let mut shape = first.shape.clone();
        shape.insert(ax, xs.len());
        let dt = promoted()?;
        return one(Meta::new(check_shape(&shape, "stack: result")?, dt));
    }
    let nd = first.shape.len();
    for (i, x) in xs.iter().enumerate() {
        if x.shape.is_empty() {
            return Err(Error::shape(format!(
                "concatenate: xs[{i}] has shape [] (a scalar); zero-dimensional arrays cannot be concatenated"
            )));
        }
        if x.shape.len() != nd {
            return Err(Error::shape(format!(
                "concatenate: xs[0] has shape {:?} and xs[{i}] has shape {:?}; all inputs must have the same number of dimensions",
                first.shape, x.shape
            )));
        }
    }
    let ax = normalize_axis(at[0].int(), nd, "concatenate: axis")?;
    let mut shape = first.shape.clone();
    for (i, x) in xs.iter().enumerate().skip(1) {
        if let Some(d) = (0..nd).find(|&d| d != ax && x.shape[d] != first.shape[d]) {
            return Err(Error::shape(format!(
                "concatenate: xs[0] has shape {:?} and xs[{i}] has shape {:?}; they must match except along axis {ax} (they differ at axis {d})",
                first.shape, x.shape
            )));
        }
        shape[ax] += x.shape[ax];
    }
    let dt = promoted()?;
    one(Meta::new(check_shape(&shape, "concatenate: result")?, dt))
}

fn infer_take(at: &[Attr], args: &[MArg]) -> Result<Vec<Meta>> {
    let (x, idx) = (meta(&args[0]), meta(&args[1]));
    if !idx.dtype.is_int() {
        return Err(Error::dtype(format!("take: indices has dtype {}; expected an integer dtype", idx.dtype)));
    }
    let (shape, ax) = match at[0].opt_int() {
        None => (vec![x.shape.iter().product()], 0),
        Some(a) => (x.shape.clone(), normalize_axis(a, x.shape.len(), "take: axis")?),
    };
    let mut o = shape[..ax].to_vec();
    o.extend_from_slice(&idx.shape);
    o.extend_from_slice(&shape[ax + 1..]);
    let o = check_shape(&o, "take: result")?;
    let rest: usize = shape[..ax].iter().chain(&shape[ax + 1..]).product();
    let fill = TAKE_MODES[at[1].choice()] == "fill";
    if shape[ax] == 0 && !fill && crate::shape::numel(&idx.shape) > 0 && rest > 0 {
        return Err(Error::arg(format!(
            "take: x has shape {shape:?}: cannot take from an empty axis {ax} with mode {}",
            TAKE_MODES[at[1].choice()]
        )));
    }
    one(Meta::new(o, x.dtype))
}

fn infer_one_hot(at: &[Attr], args: &[MArg]) -> Result<Vec<Meta>> {
    let mut shape = meta(&args[0]).shape.clone();
    let n = at[0].int() as usize;
    let ax = normalize_axis(at[2].int(), shape.len() + 1, "one_hot: axis")?;
    shape.insert(ax, n);
    one(Meta::new(check_shape(&shape, "one_hot: result")?, at[1].dtype()))
}

fn infer_broadcast_to(at: &[Attr], args: &[MArg]) -> Result<Vec<Meta>> {
    let m = meta(&args[0]);
    let shape = at[0].shape();
    let fits = shape.len() >= m.shape.len() && crate::shape::broadcast_shapes(&m.shape, shape).is_ok_and(|s| s == shape);
    if !fits {
        return Err(Error::shape(format!(
            "broadcast_to: cannot broadcast x of shape {:?} to shape {shape:?} (each dimension of x must equal the target's trailing dimension or be 1)",
            m.shape
        )));
    }
    one(Meta::new(shape.to_vec(), m.dtype))
}


fn infer_layer_norm(args: &[MArg]) -> Result<Vec<Meta>> {
    let x = meta(&args[0]);
    let Some(&f) = x.shape.last() else {
        return Err(Error::shape("layer_norm: x is a scalar; it needs at least one axis"));
    };
    if x.dtype != DType::F32 {
        return Err(Error::dtype(format!("layer_norm: x has dtype {}; expected float32", x.dtype)));
    }
    for (i, what) in [(1, "scale"), (2, "bias")] {
        if let MArg::T(p) = &args[i] {
            if p.dtype != DType::F32 {
                return Err(Error::dtype(format!("layer_norm: {what} has dtype {}; expected float32", p.dtype)));
            }
            if p.shape != [f] {
                return Err(Error::shape(format!(
                    "layer_norm: {what} has shape {:?}; expected [{f}] (x has shape {:?})",
                    p.shape, x.shape
                )));
            }
        }
    }
    one(x.clone())
}

// ---- creation ------------------------------------------------------------------------------

fn infer_arange(at: &[Attr]) -> Result<Vec<Meta>> {
    let (start, stop, step) = (at[0].num(), at[1].num(), at[2].num());
    if step == 0.0 {
        return Err(Error::arg("arange: step must not be 0"));
    }
    let n = ((stop - start) / step).ceil().max(0.0);
    let shape = check_shape(&[n], "arange: length")?;
    one(Meta::new(shape, at[3].dtype()))
}

// ---- random --------------------------------------------------------------------------------

fn infer_draw(at: &[Attr], args: &[MArg], shape_at: usize, dt: DType, what: &str) -> Result<Vec<Meta>> {
    check_key(&args[0], what)?;
    one(Meta::new(at[shape_at].shape().to_vec(), dt))
}

const KEY: &[(&str, In)] = &[("key", In::Key)];

/// The dtype of a float draw: float32, float16 or bfloat16 (JAX's ValueError otherwise).
fn float_draw(dt: DType, what: &str) -> Result<DType> {
    if dt.is_float() {
        Ok(dt)
    } else {
        Err(Error::dtype(format!("{what}: dtype argument to `{what}` must be a float dtype, got {dt}")))
    }
}
const AXIS_KEEP: &[(&str, AttrKind)] = &[("axis", AttrKind::OptInts), ("keepdims", AttrKind::Bool)];
const TAKE_MODES: &[&str] = &["fill", "clip", "wrap"];

/// Every op, by code (its index). The binding exports the names in this order as `OP_NAMES`.
pub static OPS: &[OpDef] = &[
    binary_row!("add"),
    binary_row!("subtract"),
    binary_row!("multiply"),
    binary_row!("divide", Half::Steps(&[0, 1], ops::half::divide)),
    binary_row!("maximum"),
    binary_row!("minimum"),
    binary_row!("power", Half::Steps(&[0, 1], ops::half::power)),
    compare_row!("equal"),
    compare_row!("not_equal"),
    compare_row!("less"),
    compare_row!("less_equal"),
    compare_row!("greater"),
    compare_row!("greater_equal"),
    logical_row!("logical_and"),
    logical_row!("logical_or"),
    logical_row!("logical_xor"),
    OpDef {
        name: "where",
        inputs: &[("condition", In::Operand), ("x", In::Operand), ("y", In::Operand)],
        attrs: &[],
        class: Class::Elementwise,
        half: Half::Native,
        infer: |_, a| infer_where(a),
        run: |_, a| run_where(a),
    },
    unary_row!("exp"),
    unary_row!("log"),
    unary_row!("sqrt"),
    unary_row!("rsqrt"),
    unary_row!("tanh"),
    unary_row!("abs"),
    unary_row!("negative"),
    unary_row!("square"),
    unary_row!("reciprocal"),
    unary_row!("floor"),
    unary_row!("ceil"),
    unary_row!("sigmoid", Half::Steps(&[0], ops::half::sigmoid)),
    unary_row!("silu", Half::Steps(&[0], ops::half::silu)),
    unary_row!("gelu", Half::Steps(&[0], ops::half::gelu)),
    unary_row!("gelu(approximate=false)", Half::Steps(&[0], ops::half::gelu_exact)),
    unary_row!("erf"),
    unary_row!("logical_not", Half::F32(&[])),
    OpDef {
        name: "sign",
        inputs: &[("x", In::Tensor)],
        attrs: &[],
        class: Class::Elementwise,
        half: Half::F32(&[0]),
        infer: |_, a| {
            let m = meta(&a[0]);
            if m.dtype == DType::Bool {
                return Err(Error::dtype("sign: x has dtype bool; expected a numeric dtype"));
            }
            one(m.clone())
        },
        run: |_, a| out(ops::sign(tensor(&a[0]))),
    },
    OpDef {
        name: "relu",
        inputs: &[("x", In::Tensor)],
        attrs: &[],
        class: Class::Elementwise,
        half: Half::F32(&[0]),
        infer: |_, a| {
            let m = meta(&a[0]);
            if !matches!(m.dtype, DType::F32 | DType::I32) {
                return Err(Error::dtype(format!("relu: x has dtype {}; expected float32 or int32", m.dtype)));
            }
            one(m.clone())
        },
        run: |_, a| out(ops::relu(tensor(&a[0]))),
    },
    OpDef {
        name: "round",
        inputs: &[("x", In::Tensor)],
        attrs: &[("decimals", AttrKind::Int)],
        class: Class::Elementwise,
        half: Half::Steps(&[0], ops::half::round),
        infer: |at, a| {
            let m = meta(&a[0]);
            match m.dtype {
                DType::Bool => Err(Error::dtype("round: x has dtype bool; expected a numeric dtype")),
                dt if dt != DType::F32 && at[0].int() < 0 => Err(Error::arg(format!(
                    "round: decimals is {}; negative decimals are only supported for float32 (x has dtype {dt})",
                    at[0].int()
                ))),
                _ => one(m.clone()),
            }
        },
        run: |at, a| out(ops::round(tensor(&a[0]), at[0].int().clamp(i32::MIN as i64, i32::MAX as i64) as i32)),
    },
    OpDef {
        name: "astype",
        inputs: &[("x", In::Tensor)],
        attrs: &[("dtype", AttrKind::DType)],
        class: Class::Elementwise,
        half: Half::Native,
        infer: |at, a| one(Meta::new(meta(&a[0]).shape.clone(), at[0].dtype())),
        run: |at, a| Ok(vec![tensor(&a[0]).astype(at[0].dtype())]),
    },
    OpDef {
        name: "matmul",
        inputs: &[("a", In::Tensor), ("b", In::Tensor)],
        attrs: &[],
        class: Class::Other,
        half: Half::Native,
        infer: |_, a| infer_matmul(a),
        run: |_, a| out(ops::matmul(tensor(&a[0]), tensor(&a[1]))),
    },
    OpDef {
        name: "matmul_masked",
        inputs: &[("a", In::Tensor), ("b", In::Tensor)],
        attrs: &[("k", AttrKind::Int), ("upper", AttrKind::Bool)],
        class: Class::Other,
        half: Half::Native,
        infer: |at, a| {
            // A 1-D b falls back to the eager mask, which rejects it first.
            infer_mask(&a[1..], if at[1].bool() { "triu" } else { "tril" })?;
            infer_matmul(a)
        },
        run: |at, a| out(ops::matmul_masked(tensor(&a[0]), tensor(&a[1]), at[0].int(), at[1].bool())),
    },
    OpDef {
        name: "matmul_t",
        inputs: &[("a", In::Tensor), ("w", In::Tensor)],
        attrs: &[],
        class: Class::Other,
        half: Half::Native,
        infer: |_, a| {
            let (x, w) = (meta(&a[0]), meta(&a[1]));
            let shape = ops::matmul::out_shape(&x.shape, x.dtype, &ops::matmul::t_shape(&w.shape)?, w.dtype)?;
            one(Meta::new(shape, ops::matmul::out_dtype(x.dtype, w.dtype)))
        },
        run: |_, a| out(ops::matmul_t(tensor(&a[0]), tensor(&a[1]))),
    },
    OpDef {
        name: "triu",
        inputs: &[("x", In::Tensor)],
        attrs: &[("k", AttrKind::Int)],
        class: Class::Other,
        half: Half::Native,
        infer: |_, a| infer_mask(a, "triu"),
        run: |at, a| out(ops::triu(tensor(&a[0]), at[0].int())),
    },
    OpDef {
        name: "tril",
        inputs: &[("x", In::Tensor)],
        attrs: &[("k", AttrKind::Int)],
        class: Class::Other,
        half: Half::Native,
        infer: |_, a| infer_mask(a, "tril"),
        run: |at, a| out(ops::tril(tensor(&a[0]), at[0].int())),
    },
    OpDef {
        name: "transpose",
        inputs: &[("x", In::Tensor)],
        attrs: &[("axes", AttrKind::OptInts)],
        class: Class::Other,
        half: Half::Native,
        infer: |at, a| {
            let m = meta(&a[0]);
            Ok(permuted(m, &permutation(at[0].opt_ints(), m.shape.len(), "transpose")?))
        },
        run: |at, a| out(ops::transpose(tensor(&a[0]), at[0].opt_ints())),
    },
    reduce_row!("sum", ops::sum, sum_dtype),
    reduce_row!("mean", ops::mean, |_| DType::F32),
    OpDef {
        name: "max",
        inputs: &[("x", In::Tensor)],
        attrs: AXIS_KEEP,
        class: Class::Other,
        half: Half::F32(&[0]),
        infer: |at, a| infer_extremum(at, a, "max"),
        run: |at, a| out(ops::max(tensor(&a[0]), at[0].opt_ints(), at[1].bool())),
    },
    OpDef {
        name: "min",
        inputs: &[("x", In::Tensor)],
        attrs: AXIS_KEEP,
        class: Class::Other,
        half: Half::F32(&[0]),
        infer: |at, a| infer_extremum(at, a, "min"),
        run: |at, a| out(ops::min(tensor(&a[0]), at[0].opt_ints(), at[1].bool())),
    },
    reduce_row!("prod", ops::prod, prod_dtype),
    moments_row!("var", ops::var, Half::F32(&[0])),
    moments_row!("std", ops::std, Half::Steps(&[0], ops::half::std)),
    arg_reduce_row!("argmax", ops::argmax),
    arg_reduce_row!("argmin", ops::argmin),
    OpDef {
        name: "softmax",
        inputs: &[("x", In::Tensor)],
        attrs: &[("axis", AttrKind::OptInts)],
        class: Class::Other,
        half: Half::Steps(&[0], ops::half::softmax),
        infer: |at, a| infer_softmax(at, a, "softmax"),
        run: |at, a| out(ops::softmax(tensor(&a[0]), at[0].opt_ints())),
    },
    OpDef {
        name: "log_softmax",
        inputs: &[("x", In::Tensor)],
        attrs: &[("axis", AttrKind::OptInts)],
        class: Class::Other,
        half: Half::Steps(&[0], ops::half::log_softmax),
        infer: |at, a| infer_softmax(at, a, "log_softmax"),
        run: |at, a| out(ops::log_softmax(tensor(&a[0]), at[0].opt_ints())),
    },
    OpDef {
        name: "logsumexp",
        inputs: &[("x", In::Tensor)],
        attrs: AXIS_KEEP,
        class: Class::Other,
        half: Half::Steps(&[0], ops::half::logsumexp),
        infer: |at, a| one(Meta::new(reduced_shape(meta(&a[0]), at[0].opt_ints(), at[1].bool(), "logsumexp")?, DType::F32)),
        run: |at, a| out(ops::logsumexp(tensor(&a[0]), at[0].opt_ints(), at[1].bool())),
    },
    OpDef {
        name: "layer_norm",
        inputs: &[("x", In::Tensor), ("scale", In::Optional), ("bias", In::Optional)],
        attrs: &[("eps", AttrKind::Finite), ("rms", AttrKind::Bool), ("fastVariance", AttrKind::Bool)],
        class: Class::Other,
        half: Half::F32(&[0, 1, 2]),
        infer: |_, a| infer_layer_norm(a),
        run: |at, a| {
            let stats = if at[1].bool() { NormStats::Rms } else { NormStats::Mean { fast_variance: at[2].bool() } };
            out(ops::layer_norm(tensor(&a[0]), opt_tensor(&a[1]), opt_tensor(&a[2]), at[0].num(), stats))
        },
    },
    OpDef {
        name: "take",
        inputs: &[("x", In::Tensor), ("indices", In::Tensor)],
        attrs: &[("axis", AttrKind::OptInt), ("mode", AttrKind::Choice(TAKE_MODES))],
        class: Class::Other,
        half: Half::Native,
        infer: infer_take,
        run: |at, a| {
            let mode = TakeMode::from_name(TAKE_MODES[at[1].choice()])?;
            out(ops::take(tensor(&a[0]), tensor(&a[1]), at[0].opt_int(), mode))
        },
    },
    OpDef {
        name: "one_hot",
        inputs: &[("x", In::Tensor)],
        attrs: &[("numClasses", AttrKind::Count), ("dtype", AttrKind::DType), ("axis", AttrKind::Int)],
        class: Class::Other,
        half: Half::F32(&[]),
        infer: infer_one_hot,
        run: |at, a| out(ops::one_hot(tensor(&a[0]), at[0].int() as usize, at[1].dtype(), at[2].int())),
    },
    OpDef {
        name: "concatenate",
        inputs: &[("xs", In::List)],
        attrs: &[("axis", AttrKind::Int)],
        class: Class::Other,
        half: Half::Native,
        infer: |at, a| infer_concatenate(at, a, false),
        run: |at, a| out(ops::concatenate(list(a), at[0].int())),
    },
    OpDef {
        name: "stack",
        inputs: &[("xs", In::List)],
        attrs: &[("axis", AttrKind::Int)],
        class: Class::Other,
        half: Half::Native,
        infer: |at, a| infer_concatenate(at, a, true),
        run: |at, a| out(ops::stack(list(a), at[0].int())),
    },
    OpDef {
        name: "expand_dims",
        inputs: &[("x", In::Tensor)],
        attrs: &[("axis", AttrKind::Ints)],
        class: Class::View,
        half: Half::Native,
        infer: infer_expand_dims,
        run: |at, a| out(ops::expand_dims(tensor(&a[0]), at[0].ints())),
    },
    OpDef {
        name: "squeeze",
        inputs: &[("x", In::Tensor)],
        attrs: &[("axis", AttrKind::OptInts)],
        class: Class::View,
        half: Half::Native,
        infer: infer_squeeze,
        run: |at, a| out(ops::squeeze(tensor(&a[0]), at[0].opt_ints())),
    },
    OpDef {
        name: "reshape",
        inputs: &[("x", In::Tensor)],
        attrs: &[("shape", AttrKind::Ints)],
        class: Class::View,
        half: Half::Native,
        infer: infer_reshape,
        run: |at, a| out(tensor(&a[0]).reshape(at[0].ints())),
    },
    OpDef {
        name: "broadcast_to",
        inputs: &[("x", In::Tensor)],
        attrs: &[("shape", AttrKind::Shape)],
        class: Class::Other,
        half: Half::Native,
        infer: infer_broadcast_to,
        run: |at, a| out(ops::broadcast_to(tensor(&a[0]), at[0].shape())),
    },
    OpDef {
        name: "swapaxes",
        inputs: &[("x", In::Tensor)],
        attrs: &[("axis1", AttrKind::Int), ("axis2", AttrKind::Int)],
        class: Class::Other,
        half: Half::Native,
        infer: |at, a| {
            let m = meta(&a[0]);
            let nd = m.shape.len();
            let i = normalize_axis(at[0].int(), nd, "swapaxes: axis1")?;
            let j = normalize_axis(at[1].int(), nd, "swapaxes: axis2")?;
            let mut perm: Vec<usize> = (0..nd).collect();
            perm.swap(i, j);
            Ok(permuted(m, &perm))
        },
        run: |at, a| out(ops::swapaxes(tensor(&a[0]), at[0].int(), at[1].int())),
    },
    OpDef {
        name: "moveaxis",
        inputs: &[("x", In::Tensor)],
        attrs: &[("source", AttrKind::Ints), ("destination", AttrKind::Ints)],
        class: Class::Other,
        half: Half::Native,
        infer: |at, a| {
            let m = meta(&a[0]);
            Ok(permuted(m, &ops::layout::moveaxis_order(m.shape.len(), at[0].ints(), at[1].ints())?))
        },
        run: |at, a| out(ops::moveaxis(tensor(&a[0]), at[0].ints(), at[1].ints())),
    },
    OpDef {
        name: "full",
        inputs: &[],
        attrs: &[("shape", AttrKind::Shape), ("value", AttrKind::Num), ("dtype", AttrKind::DType)],
        class: Class::Other,
        half: Half::Native,
        infer: |at, _| one(Meta::new(at[0].shape().to_vec(), at[2].dtype())),
        run: |at, _| Ok(vec![ops::full(at[0].shape(), at[1].num(), at[2].dtype())]),
    },
    OpDef {
        name: "arange",
        inputs: &[],
        attrs: &[("start", AttrKind::Finite), ("stop", AttrKind::Finite), ("step", AttrKind::Finite), ("dtype", AttrKind::DType)],
        class: Class::Other,
        half: Half::Native,
        infer: |at, _| infer_arange(at),
        run: |at, _| out(ops::arange(at[0].num(), at[1].num(), at[2].num(), at[3].dtype())),
    },
    OpDef {
        name: "linspace",
        inputs: &[],
        attrs: &[("start", AttrKind::Finite), ("stop", AttrKind::Finite), ("num", AttrKind::Count)],
        class: Class::Other,
        half: Half::Native,
        infer: |at, _| one(Meta::new(check_shape(&[at[2].int() as usize], "linspace: num")?, DType::F32)),
        run: |at, _| Ok(vec![ops::linspace(at[0].num(), at[1].num(), at[2].int() as usize)]),
    },
    OpDef {
        name: "eye",
        inputs: &[],
        attrs: &[("n", AttrKind::Count), ("m", AttrKind::Count), ("dtype", AttrKind::DType)],
        class: Class::Other,
        half: Half::Native,
        infer: |at, _| one(Meta::new(check_shape(&[at[0].int() as usize, at[1].int() as usize], "eye")?, at[2].dtype())),
        run: |at, _| Ok(vec![ops::eye(at[0].int() as usize, at[1].int() as usize, at[2].dtype())]),
    },
    OpDef {
        name: "qr",
        inputs: &[("a", In::Tensor)],
        attrs: &[],
        class: Class::Other,
        half: Half::Refuse,
        infer: |_, a| {
            let m = meta(&a[0]);
            if m.dtype != DType::F32 {
                return Err(Error::dtype(format!("qr: expected a float32 matrix, got {}", m.dtype.name())));
            }
            let &[r, c] = &m.shape[..] else {
                return Err(Error::shape(format!("qr: expected a 2-D matrix, got shape {:?}", m.shape)));
            };
            let k = r.min(c);
            Ok(vec![Meta::new(vec![r, k], DType::F32), Meta::new(vec![k, c], DType::F32)])
        },
        run: |_, a| linalg::qr(tensor(&a[0])).map(|(q, r)| vec![q, r]),
    },
    OpDef {
        name: "threefry2x32",
        inputs: &[("key", In::Key), ("counter", In::Key)],
        attrs: &[],
        class: Class::Other,
        half: Half::Native,
        infer: |_, a| {
            check_key(&a[0], "threefry2x32: key")?;
            check_key(&a[1], "threefry2x32: counter")?;
            one(Meta::new(vec![2], DType::U32))
        },
        run: |_, a| Ok(vec![key_tensor(prng::threefry2x32(key_words(&a[0], "key")?, key_words(&a[1], "counter")?))]),
    },
    OpDef {
        name: "fold_in",
        inputs: KEY,
        attrs: &[("data", AttrKind::Int)],
        class: Class::Other,
        half: Half::Native,
        infer: |_, a| {
            check_key(&a[0], "fold_in: key")?;
            one(Meta::new(vec![2], DType::U32))
        },
        // JAX casts the data to uint32 (wrapping).
        run: |at, a| Ok(vec![key_tensor(prng::fold_in(key_words(&a[0], "fold_in: key")?, at[0].int() as u32))]),
    },
    OpDef {
        name: "split",
        inputs: KEY,
        attrs: &[("n", AttrKind::Count), ("partitionable", AttrKind::Bool)],
        class: Class::Other,
        half: Half::Native,
        infer: |at, a| {
            check_key(&a[0], "split: key")?;
            let n = at[0].int() as usize;
            check_shape(&[n, 2], "split: n")?;
            if n > MAX_SPLIT {
                return Err(Error::arg(format!("split: n is {n}; at most {MAX_SPLIT} keys are made by one split")));
            }
            Ok(vec![Meta::new(vec![2], DType::U32); n])
        },
        run: |at, a| {
            let keys = at[1].layout().split(key_words(&a[0], "split: key")?, at[0].int() as usize)?;
            Ok(keys.into_iter().map(key_tensor).collect())
        },
    },
    OpDef {
        name: "bits",
        inputs: KEY,
        attrs: &[("width", AttrKind::Int), ("shape", AttrKind::Shape), ("partitionable", AttrKind::Bool)],
        class: Class::Other,
        half: Half::Native,
        infer: |at, a| {
            check_key(&a[0], "bits: key")?;
            let dt = match at[0].int() {
                8 => DType::U8,
                16 => DType::U16,
                32 => DType::U32,
                w => return Err(Error::dtype(format!("bits: width must be 8, 16 or 32 bits, got {w}"))),
            };
            infer_draw(at, a, 1, dt, "bits: key")
        },
        run: |at, a| out(at[2].layout().random_bits(key_words(&a[0], "bits: key")?, at[0].int() as u32, at[1].shape())),
    },
    OpDef {
        name: "uniform",
        inputs: KEY,
        attrs: &[("shape", AttrKind::Shape), ("minval", AttrKind::Finite), ("maxval", AttrKind::Finite), ("dtype", AttrKind::DType), ("partitionable", AttrKind::Bool)],
        class: Class::Other,
        half: Half::Native,
        infer: |at, a| infer_draw(at, a, 0, float_draw(at[3].dtype(), "uniform")?, "uniform: key"),
        run: |at, a| {
            let k = key_words(&a[0], "uniform: key")?;
            let dt = float_draw(at[3].dtype(), "uniform")?;
            out(at[4].layout().uniform_dtype(k, at[0].shape(), at[1].num(), at[2].num(), dt))
        },
    },
    OpDef {
        name: "normal",
        inputs: KEY,
        attrs: &[("shape", AttrKind::Shape), ("dtype", AttrKind::DType), ("partitionable", AttrKind::Bool)],
        class: Class::Other,
        half: Half::Native,
        infer: |at, a| infer_draw(at, a, 0, float_draw(at[1].dtype(), "normal")?, "normal: key"),
        run: |at, a| {
            let dt = float_draw(at[1].dtype(), "normal")?;
            out(at[2].layout().normal_dtype(key_words(&a[0], "normal: key")?, at[0].shape(), dt))
        },
    },
    OpDef {
        name: "truncated_normal",
        inputs: KEY,
        attrs: &[("lower", AttrKind::Num), ("upper", AttrKind::Num), ("shape", AttrKind::Shape), ("dtype", AttrKind::DType), ("partitionable", AttrKind::Bool)],
        class: Class::Other,
        half: Half::Native,
        infer: |at, a| {
            check_key(&a[0], "truncated_normal: key")?;
            float_draw(at[3].dtype(), "truncated_normal")?;
            if at[0].num().is_nan() || at[1].num().is_nan() {
                return Err(Error::arg("truncatedNormal: lower and upper must not be NaN"));
            }
            infer_draw(at, a, 2, float_draw(at[3].dtype(), "truncated_normal")?, "truncated_normal: key")
        },
        run: |at, a| {
            let k = key_words(&a[0], "truncated_normal: key")?;
            let dt = float_draw(at[3].dtype(), "truncated_normal")?;
            out(at[4].layout().truncated_normal_dtype(k, at[0].num(), at[1].num(), at[2].shape(), dt))
        },
    },
    OpDef {
        name: "randint",
        inputs: KEY,
        attrs: &[("shape", AttrKind::Shape), ("minval", AttrKind::Int), ("maxval", AttrKind::Int), ("partitionable", AttrKind::Bool)],
        class: Class::Other,
        half: Half::Native,
        infer: |at, a| infer_draw(at, a, 0, DType::I32, "randint: key"),
        run: |at, a| {
            let k = key_words(&a[0], "randint: key")?;
            out(at[3].layout().randint(k, at[0].shape(), at[1].int(), at[2].int()))
        },
    },
    OpDef {
        name: "bernoulli",
        inputs: KEY,
        attrs: &[("p", AttrKind::Finite), ("shape", AttrKind::Shape), ("partitionable", AttrKind::Bool)],
        class: Class::Other,
        half: Half::Native,
        infer: |at, a| infer_draw(at, a, 1, DType::Bool, "bernoulli: key"),
        run: |at, a| out(at[2].layout().bernoulli(key_words(&a[0], "bernoulli: key")?, at[0].num() as f32, at[1].shape())),
    },
    // ---- issue 10: coverage rows (appended; codes are looked up by name) ----
    unary_row!("sin"),
    unary_row!("cos"),
    unary_row!("log1p"),
    unary_row!("expm1", Half::Steps(&[0], ops::half::expm1)),
    binary_row!("remainder"),
    binary_row!("floor_divide", Half::Steps(&[0, 1], ops::half::floor_divide)),
    OpDef {
        name: "isnan",
        inputs: &[("x", In::Operand)],
        attrs: &[],
        class: Class::Elementwise,
        half: Half::F32(&[]),
        infer: |_, a| one(Meta::new(operand_meta(&a[0]).shape, DType::Bool)),
        run: |_, a| Ok(vec![ops::isnan(&operand_tensor(&a[0]))]),
    },
    OpDef {
        name: "isfinite",
        inputs: &[("x", In::Operand)],
        attrs: &[],
        class: Class::Elementwise,
        half: Half::F32(&[]),
        infer: |_, a| one(Meta::new(operand_meta(&a[0]).shape, DType::Bool)),
        run: |_, a| Ok(vec![ops::isfinite(&operand_tensor(&a[0]))]),
    },
    OpDef {
        name: "flip",
        inputs: &[("x", In::Tensor)],
        attrs: &[("axis", AttrKind::OptInts)],
        class: Class::Other,
        half: Half::Native,
        infer: |at, a| {
            let m = meta(&a[0]);
            if let Some(ax) = at[0].opt_ints() {
                unique_axes(ax, m.shape.len(), "flip: axis")?;
            }
            one(m.clone())
        },
        run: |at, a| out(ops::flip(tensor(&a[0]), at[0].opt_ints())),
    },
    OpDef {
        name: "take_along_axis",
        inputs: &[("x", In::Tensor), ("indices", In::Tensor)],
        attrs: &[("axis", AttrKind::OptInt), ("mode", AttrKind::Choice(TAKE_MODES))],
        class: Class::Other,
        half: Half::Native,
        infer: |at, a| {
            let (x, i) = (meta(&a[0]), meta(&a[1]));
            if !i.dtype.is_int() {
                return Err(Error::dtype(format!(
                    "take_along_axis: indices has dtype {}; expected an integer dtype (int32, uint32, uint16, uint8)",
                    i.dtype
                )));
            }
            let (shape, ax) = ops::gather::take_along_axis_shape(&x.shape, &i.shape, at[0].opt_int())?;
            let n = if at[0].opt_int().is_none() { crate::shape::numel(&x.shape) } else { x.shape[ax] };
            if n == 0 && TAKE_MODES[at[1].choice()] != "fill" && crate::shape::numel(&shape) > 0 {
                return Err(Error::arg(format!(
                    "take_along_axis: x has shape {:?}: cannot take from an empty axis {ax} with mode {:?}",
                    x.shape,
                    TakeMode::from_name(TAKE_MODES[at[1].choice()])?
                )));
            }
            one(Meta::new(shape, x.dtype))
        },
        run: |at, a| {
            let mode = TakeMode::from_name(TAKE_MODES[at[1].choice()])?;
            out(ops::take_along_axis(tensor(&a[0]), tensor(&a[1]), at[0].opt_int(), mode))
        },
    },
    cumulative_row!("cumsum", Cumulative::Sum, ops::half::cumsum),
    cumulative_row!("cumprod", Cumulative::Prod, ops::half::cumprod),
    logical_reduce_row!("any", false),
    logical_reduce_row!("all", true),
    OpDef {
        name: "slice",
        inputs: &[("x", In::Tensor)],
        attrs: &[("start_indices", AttrKind::Ints), ("limit_indices", AttrKind::Ints), ("strides", AttrKind::OptInts)],
        class: Class::Other,
        half: Half::Native,
        infer: |at, a| {
            let m = meta(&a[0]);
            one(Meta::new(ops::slice::slice_shape(&m.shape, at[0].ints(), at[1].ints(), at[2].opt_ints())?, m.dtype))
        },
        run: |at, a| out(ops::slice(tensor(&a[0]), at[0].ints(), at[1].ints(), at[2].opt_ints())),
    },
    OpDef {
        name: "dynamic_slice",
        inputs: &[("x", In::Tensor), ("start_indices", In::Tensor)],
        attrs: &[("slice_sizes", AttrKind::Shape)],
        class: Class::Other,
        half: Half::Native,
        infer: |at, a| {
            let (x, s) = (meta(&a[0]), meta(&a[1]));
            one(Meta::new(ops::slice::dynamic_slice_shape(&x.shape, &s.shape, s.dtype, at[0].shape())?, x.dtype))
        },
        run: |at, a| out(ops::dynamic_slice(tensor(&a[0]), tensor(&a[1]), at[0].shape())),
    },
    OpDef {
        name: "dynamic_update_slice",
        inputs: &[("x", In::Tensor), ("update", In::Tensor), ("start_indices", In::Tensor)],
        attrs: &[],
        class: Class::Other,
        half: Half::Native,
        infer: |_, a| {
            let (x, u, s) = (meta(&a[0]), meta(&a[1]), meta(&a[2]));
            ops::slice::dynamic_update_slice_check(&x.shape, x.dtype, &u.shape, u.dtype, &s.shape, s.dtype)?;
            one(x.clone())
        },
        run: |_, a| out(ops::dynamic_update_slice(tensor(&a[0]).clone(), tensor(&a[1]), tensor(&a[2]))),
    },
    OpDef {
        name: "pad",
        inputs: &[("x", In::Tensor)],
        attrs: &[("pad_width", AttrKind::Ints), ("mode", AttrKind::Choice(ops::PadMode::NAMES)), ("constant_values", AttrKind::Num)],
        class: Class::Other,
        half: Half::Native,
        infer: |at, a| {
            let m = meta(&a[0]);
            let mode = ops::PadMode::from_index(at[1].choice());
            one(Meta::new(ops::slice::pad_shape(&m.shape, at[0].ints(), mode)?, m.dtype))
        },
        run: |at, a| out(ops::pad(tensor(&a[0]), at[0].ints(), ops::PadMode::from_index(at[1].choice()), at[2].num())),
    },
    sort_row!("sort", |x: &Tensor, ax, d| ops::sort(x, ax, d), false),
    sort_row!("argsort", |x: &Tensor, ax, d| ops::argsort(x, ax, d), true),
    OpDef {
        name: "top_k",
        inputs: &[("x", In::Tensor)],
        attrs: &[("k", AttrKind::Int)],
        class: Class::Other,
        half: Half::Native,
        infer: |at, a| {
            let m = meta(&a[0]);
            let shape = ops::sort::top_k_shape(&m.shape, at[0].int())?;
            Ok(vec![Meta::new(shape.clone(), m.dtype), Meta::new(shape, DType::I32)])
        },
        run: |at, a| ops::top_k(tensor(&a[0]), at[0].int()).map(|(v, i)| vec![v, i]),
    },
    OpDef {
        name: "dot_product_attention",
        inputs: &[("query", In::Tensor), ("key", In::Tensor), ("value", In::Tensor), ("bias", In::Optional), ("mask", In::Optional)],
        attrs: &[],
        class: Class::Other,
        half: Half::F32(&[0, 1, 2, 3]),
        infer: |_, a| {
            let (q, k, v) = (meta(&a[0]), meta(&a[1]), meta(&a[2]));
            let (bias, mask) = (opt_meta(&a[3]), opt_meta(&a[4]));
            let shape = ops::attention::attention_shape(&q.shape, &k.shape, &v.shape, bias.map(|m| m.shape.as_slice()), mask.map(|m| m.shape.as_slice()))?;
            for (m, what) in [(Some(q), "query"), (Some(k), "key"), (Some(v), "value"), (bias, "bias")] {
                if let Some(m) = m.filter(|m| m.dtype != DType::F32) {
                    return Err(Error::dtype(format!("dot_product_attention: {what} has dtype {}; expected a float dtype", m.dtype)));
                }
            }
            one(Meta::new(shape, DType::F32))
        },
        run: |_, a| out(ops::attention::attention(tensor(&a[0]), tensor(&a[1]), tensor(&a[2]), opt_tensor(&a[3]), opt_tensor(&a[4]))),
    },
    OpDef {
        name: "conv_general_dilated",
        inputs: &[("lhs", In::Tensor), ("rhs", In::Tensor)],
        attrs: conv_attrs!(),
        class: Class::Other,
        half: Half::F32(&[0, 1]),
        infer: |at, a| {
            let (l, r) = (meta(&a[0]), meta(&a[1]));
            let spec = conv_spec(at)?;
            for (m, what) in [(l, "lhs"), (r, "rhs")] {
                if m.dtype != DType::F32 {
                    return Err(Error::dtype(format!("conv_general_dilated: {what} has dtype {}; expected a float dtype", m.dtype)));
                }
            }
            one(Meta::new(ops::conv_shape(&l.shape, &r.shape, &spec)?, DType::F32))
        },
        run: |at, a| out(ops::conv(tensor(&a[0]), tensor(&a[1]), &conv_spec(at)?)),
    },
    OpDef {
        name: "reduce_window",
        inputs: &[("operand", In::Tensor)],
        attrs: window_attrs!(),
        class: Class::Other,
        half: Half::F32(&[0]),
        infer: |at, a| {
            let m = meta(&a[0]);
            let w = window(at, m.shape.len())?;
            if m.dtype != DType::F32 {
                return Err(Error::dtype(format!("reduce_window: operand has dtype {}; expected a float dtype", m.dtype)));
            }
            one(Meta::new(ops::reduce_window_shape(&m.shape, &w)?, DType::F32))
        },
        run: |at, a| {
            let x = tensor(&a[0]);
            out(ops::reduce_window(x, at[0].num(), ops::WindowOp::from_index(at[1].choice()), &window(at, x.ndim())?))
        },
    },
    OpDef {
        name: "searchsorted",
        inputs: &[("a", In::Tensor), ("v", In::Tensor)],
        attrs: &[("side", AttrKind::Choice(&["left", "right"]))],
        class: Class::Other,
        half: Half::Native,
        infer: |_, a| {
            let (x, v) = (meta(&a[0]), meta(&a[1]));
            ops::sort::searchsorted_check(&x.shape, x.dtype, v.dtype)?;
            one(Meta::new(v.shape.clone(), DType::I32))
        },
        run: |at, a| out(ops::searchsorted(tensor(&a[0]), tensor(&a[1]), at[0].choice() == 1)),
    },
];

/// `conv_general_dilated`'s attributes as a `ConvSpec` (its spatial rank from the strides).
fn conv_spec(at: &[Attr]) -> Result<ops::ConvSpec> {
    ops::ConvSpec::new(at[0].ints().len(), at[0].ints(), at[1].ints(), at[2].ints(), at[3].ints(), at[4].int())
}

/// `reduce_window`'s window attributes, checked against the operand's rank.
fn window(at: &[Attr], rank: usize) -> Result<ops::Window> {
    ops::Window::new(rank, at[2].ints(), at[3].ints(), at[4].ints())
}

fn program<'a>(at: &'a [Attr], i: usize) -> Result<&'a crate::ops::fused::Program> {
    at[i].program().ok_or_else(|| Error::arg("fused ops are made by the plan compiler; they cannot be called directly"))
}

fn list<'a>(a: &[Arg<'a>]) -> &'a [Tensor] {
    match a[0] {
        Arg::L(xs) => xs,
        _ => unreachable!("a list"),
    }
}

fn infer_fused(at: &[Attr], i: usize) -> Result<Vec<Meta>> {
    one(Meta::new(program(at, i)?.shape.clone(), DType::F32))
}

/// Rows the plan compiler makes (see `plan/compile.rs`): fused elementwise chains, alone or as
/// the epilogue of a matmul, a convolution or a window reduction. Their attribute is `AttrKind::Internal`, so JS cannot call them.
const FUSED: &[OpDef] = &[
    OpDef {
        name: "fused_elementwise",
        inputs: &[("xs", In::List)],
        attrs: &[("program", AttrKind::Internal)],
        class: Class::Other,
        half: Half::Native,
        infer: |at, _| infer_fused(at, 0),
        run: |at, a| out(crate::ops::fused::run(program(at, 0)?, list(a))),
    },
    OpDef {
        name: "matmul_fused",
        inputs: &[("xs", In::List)],
        attrs: &[("k", AttrKind::OptInt), ("upper", AttrKind::Bool), ("program", AttrKind::Internal), ("transposed", AttrKind::Bool)],
        class: Class::Other,
        half: Half::Native,
        infer: |at, _| infer_fused(at, 2),
        run: |at, a| {
            let xs = list(a);
            let [x, w, extras @ ..] = xs else {
                return Err(Error::arg("matmul_fused: expected the two matmul operands first"));
            };
            let product = match at[0].opt_int() {
                Some(k) => ops::matmul_masked(x, w, k, at[1].bool())?,
                None if at[3].bool() => ops::matmul_t(x, w)?,
                None => ops::matmul(x, w)?,
            };
            out(crate::ops::fused::run_epilogue(program(at, 2)?, product, extras))
        },
    },
    OpDef {
        name: "conv_fused",
        inputs: &[("xs", In::List)],
        attrs: conv_attrs!(("program", AttrKind::Internal)),
        class: Class::Other,
        half: Half::Native,
        infer: |at, _| infer_fused(at, 5),
        run: |at, a| {
            let xs = list(a);
            let [x, w, extras @ ..] = xs else {
                return Err(Error::arg("conv_fused: expected the two convolution operands first"));
            };
            let tail = crate::ops::fused::Epilogue::new(program(at, 5)?, extras)?;
            out(ops::conv::conv_with(x, w, &conv_spec(at)?, Some(&tail)))
        },
    },
    OpDef {
        name: "reduce_window_fused",
        inputs: &[("xs", In::List)],
        attrs: window_attrs!(("program", AttrKind::Internal)),
        class: Class::Other,
        half: Half::Native,
        infer: |at, _| infer_fused(at, 5),
        run: |at, a| {
            let [x, extras @ ..] = list(a) else {
                return Err(Error::arg("reduce_window_fused: expected the operand first"));
            };
            let tail = crate::ops::fused::Epilogue::new(program(at, 5)?, extras)?;
            out(ops::window::reduce_window_with(x, at[0].num(), ops::WindowOp::from_index(at[1].choice()), &window(at, x.ndim())?, Some(&tail)))
        },
    },
    OpDef {
        name: "conv_pool_fused",
        inputs: &[("xs", In::List)],
        attrs: conv_attrs!(
            ("program", AttrKind::Internal),
            ("init_value", AttrKind::Num),
            ("computation", AttrKind::Choice(ops::WindowOp::NAMES)),
            ("window_dimensions", AttrKind::Ints),
            ("pool_strides", AttrKind::Ints),
            ("pool_padding", AttrKind::Ints),
            ("pool_program", AttrKind::Internal),
            ("conv_extras", AttrKind::Count),
        ),
        class: Class::Other,
        half: Half::Native,
        infer: |at, _| infer_fused(at, 11),
        run: |at, a| {
            let [x, w, extras @ ..] = list(a) else {
                return Err(Error::arg("conv_pool_fused: expected the two convolution operands first"));
            };
            let split = (at[12].int() as usize).min(extras.len());
            let tail = |prog: &'static str, i: usize, ex| -> Result<Option<crate::ops::fused::Epilogue>> {
                let p = at[i].program().ok_or_else(|| Error::arg(format!("conv_pool_fused: {prog} is made by the plan compiler")))?;
                Ok(if p.steps.is_empty() { None } else { Some(crate::ops::fused::Epilogue::new(p, ex)?) })
            };
            let (ct, pt) = (tail("program", 5, &extras[..split])?, tail("pool_program", 11, &extras[split..])?);
            let win = ops::Window::new(x.ndim(), at[8].ints(), at[9].ints(), at[10].ints())?;
            let op = ops::WindowOp::from_index(at[7].choice());
            out(ops::conv_pool::conv_pool(x, w, &conv_spec(at)?, ct.as_ref(), at[6].num(), op, &win, pt.as_ref()))
        },
    },
];

/// The most keys one `split` returns: each is its own JS object, so a request for billions
/// would exhaust memory long before the kernel ran.
pub const MAX_SPLIT: usize = 1 << 20;

/// The row of `code` (codes past `OPS` are the fused rows); E_ARG otherwise.
pub fn op(code: usize) -> Result<&'static OpDef> {
    OPS.get(code)
        .or_else(|| FUSED.get(code.wrapping_sub(OPS.len())))
        .ok_or_else(|| Error::arg(format!("op: expected an op code in 0..{}, got {code}", OPS.len())))
}

/// The code of the op called `name` (plans and tests look ops up by name).
pub fn code(name: &str) -> Option<usize> {
    OPS.iter().chain(FUSED).position(|d| d.name == name)
}
