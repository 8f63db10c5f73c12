//! Comparisons (jnp.equal ... greater_equal), logical and/or/xor and jnp.where, with numpy
//! broadcasting. Comparisons and logical ops give bool tensors.
//!
//! dtypes: tensor operands follow the arithmetic rule (equal dtypes, or float32 with an integer
//! or bool, compared in float32). A JS number compares with jnp's weak typing: against a
//! float32 tensor it is rounded to float32 first; against an integer or bool tensor an
//! integer-valued number is compared exactly (no wrapping), a fractional one promotes the tensor
//! to float32. NaN compares unequal to everything (`not_equal` is true). Logical ops read any
//! dtype as `x != 0` (so NaN is true, as numpy's bool(nan)).

use crate::dtype::DType;
use crate::error::Result;
use crate::ops::bcast::{run2, run3, Plan};
use crate::ops::binary::{cast_if, promote, promote_named};
use crate::shape::{broadcast_shapes_named, numel};
use crate::tensor::{dispatch, Tensor};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompareOp {
    Equal,
    NotEqual,
    Less,
    LessEqual,
    Greater,
    GreaterEqual,
}

impl CompareOp {
    /// Every op; the index is its code in the binding.
    pub const ALL: [CompareOp; 6] = [
        CompareOp::Equal,
        CompareOp::NotEqual,
        CompareOp::Less,
        CompareOp::LessEqual,
        CompareOp::Greater,
        CompareOp::GreaterEqual,
    ];

    /// The op with this jnp name (the op table's row names).
    pub const fn from_name(name: &str) -> Option<CompareOp> {
        crate::ops::const_from_name!(name)
    }

    pub const fn name(&self) -> &'static str {
        match self {
            CompareOp::Equal => "equal",
            CompareOp::NotEqual => "not_equal",
            CompareOp::Less => "less",
            CompareOp::LessEqual => "less_equal",
            CompareOp::Greater => "greater",
            CompareOp::GreaterEqual => "greater_equal",
        }
    }

    /// The op with its operands swapped: `a op b` == `b op.swapped() a`.
    pub fn swapped(self) -> CompareOp {
        match self {
            CompareOp::Less => CompareOp::Greater,
            CompareOp::LessEqual => CompareOp::GreaterEqual,
            CompareOp::Greater => CompareOp::Less,
            CompareOp::GreaterEqual => CompareOp::LessEqual,
            o => o,
        }
    }

    #[inline(always)]
    fn eval<T: PartialOrd>(self, x: T, y: T) -> bool {
        match self {
            CompareOp::Equal => x == y,
            CompareOp::NotEqual => x != y,
            CompareOp::Less => x < y,
            CompareOp::LessEqual => x <= y,
            CompareOp::Greater => x > y,
            CompareOp::GreaterEqual => x >= y,
        }
    }
}

/// `$go!(CompareOp::X)` for the `CompareOp::X` that `$op` is: one monomorphised loop per op
/// (the op is a constant inside each).
macro_rules! by_op {
    ($op:expr, $go:ident) => {
        match $op {
            CompareOp::Equal => $go!(CompareOp::Equal),
            CompareOp::NotEqual => $go!(CompareOp::NotEqual),
            CompareOp::Less => $go!(CompareOp::Less),
            CompareOp::LessEqual => $go!(CompareOp::LessEqual),
            CompareOp::Greater => $go!(CompareOp::Greater),
            CompareOp::GreaterEqual => $go!(CompareOp::GreaterEqual),
        }
    };
}

/// `a op b` elementwise with broadcasting; a bool tensor.
pub fn compare(op: CompareOp, a: &Tensor, b: &Tensor) -> Result<Tensor> {
    let name = op.name();
    let out = broadcast_shapes_named(a.shape(), b.shape(), name, "a", "b")?;
    let dt = promote(a.dtype(), b.dtype(), name)?;
    let (a, b) = (cast_if(a, dt), cast_if(b, dt));
    Ok(match dt {
        DType::F32 => cmp_typed::<f32, f32>(op, &a, &b, out, |v| v),
        DType::I32 => cmp_typed::<i32, i32>(op, &a, &b, out, |v| v),
        DType::U32 => cmp_typed::<u32, u32>(op, &a, &b, out, |v| v),
        DType::U16 => cmp_typed::<u16, u16>(op, &a, &b, out, |v| v),
        DType::U8 => cmp_typed::<u8, u8>(op, &a, &b, out, |v| v),
        DType::I8 => cmp_typed::<i8, i8>(op, &a, &b, out, |v| v),
        // Any non-zero byte is true.
        DType::Bool => cmp_typed::<u8, u8>(op, &a, &b, out, |v| (v != 0) as u8),
        dt @ (DType::F16 | DType::BF16) => return Err(crate::ops::half_in_kernel(name, dt)),
    })
}

/// `a op s` (or `s op a` when `scalar_on_left`) for a JS number `s`; a bool tensor of a's shape.
pub fn compare_scalar(op: CompareOp, a: &Tensor, s: f64, scalar_on_left: bool) -> Result<Tensor> {
    let op = if scalar_on_left { op.swapped() } else { op };
    let integral = s.is_finite() && s.fract() == 0.0;
    let shape = a.shape().to_vec();
    Ok(match a.dtype() {
        DType::F32 => cmp_scalar::<f32, f32>(op, a, s as f32, shape, |v| v),
        _ if !integral => cmp_scalar::<f32, f32>(op, &a.astype(DType::F32), s as f32, shape, |v| v),
        // Exact: elements widened to i64, s saturating to i64 (beyond every 32-bit value).
        DType::I32 => cmp_scalar::<i32, i64>(op, a, s as i64, shape, |v| v as i64),
        DType::U32 => cmp_scalar::<u32, i64>(op, a, s as i64, shape, |v| v as i64),
        DType::U16 => cmp_scalar::<u16, i64>(op, a, s as i64, shape, |v| v as i64),
        DType::U8 => cmp_scalar::<u8, i64>(op, a, s as i64, shape, |v| v as i64),
        DType::I8 => cmp_scalar::<i8, i64>(op, a, s as i64, shape, |v| v as i64),
        DType::Bool => cmp_scalar::<u8, i64>(op, a, s as i64, shape, |v| (v != 0) as i64),
        dt @ (DType::F16 | DType::BF16) => return Err(crate::ops::half_in_kernel(op.name(), dt)),
    })
}

fn cmp_typed<T: Copy + Sync, K: PartialOrd>(
    op: CompareOp,
    a: &Tensor,
    b: &Tensor,
    out: Vec<usize>,
    key: impl Fn(T) -> K + Copy + Sync + Send,
) -> Tensor {
    let (av, bv) = (a.raw::<T>(), b.raw::<T>());
    let plan = Plan::new(&out, [a.shape(), b.shape()]);
    macro_rules! go {
        ($op:expr) => {
            Tensor::build::<u8>(out, DType::Bool, |o| {
                plan.runs(o, |r, off, inc| {
                    run2(r, &av[off[0]..], inc[0], &bv[off[1]..], inc[1], |x, y| {
                        $op.eval(key(x), key(y)) as u8
                    })
                })
            })
        };
    }
    if numel(&out) == 0 {
        return Tensor::zeros(&out, DType::Bool);
    }
    by_op!(op, go)
}

fn cmp_scalar<T: Copy + Sync, K: PartialOrd + Copy + Sync + Send>(
    op: CompareOp,
    a: &Tensor,
    s: K,
    shape: Vec<usize>,
    key: impl Fn(T) -> K + Copy + Sync + Send,
) -> Tensor {
    let xs = a.raw::<T>();
    macro_rules! go {
        ($op:expr) => {
            Tensor::build::<u8>(shape, DType::Bool, |o| {
                crate::par::chunks(o, crate::par::CHUNK, |st, c| {
                    let src = &xs[st..st + c.len()];
                    for (z, &v) in c.iter_mut().zip(src) {
                        *z = $op.eval(key(v), s) as u8;
                    }
                })
            })
        };
    }
    by_op!(op, go)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogicalOp {
    And,
    Or,
    Xor,
}

impl LogicalOp {
    /// Every op; the index is its code in the binding.
    pub const ALL: [LogicalOp; 3] = [LogicalOp::And, LogicalOp::Or, LogicalOp::Xor];

    pub fn name(&self) -> &'static str {
        match self {
            LogicalOp::And => "logical_and",
            LogicalOp::Or => "logical_or",
            LogicalOp::Xor => "logical_xor",
        }
    }
}

/// `x != 0` as a bool tensor (shared storage when `x` is already bool).
fn truth(x: &Tensor) -> Tensor {
    cast_if(x, DType::Bool)
}

/// jnp.logical_and / logical_or / logical_xor of any dtypes, broadcasting; a bool tensor.
pub fn logical(op: LogicalOp, a: &Tensor, b: &Tensor) -> Result<Tensor> {
    let out = broadcast_shapes_named(a.shape(), b.shape(), op.name(), "a", "b")?;
    let (a, b) = (truth(a), truth(b));
    if numel(&out) == 0 {
        return Ok(Tensor::zeros(&out, DType::Bool));
    }
    let (av, bv) = (a.raw::<u8>(), b.raw::<u8>());
    let plan = Plan::new(&out, [a.shape(), b.shape()]);
    macro_rules! go {
        ($f:expr) => {
            Tensor::build::<u8>(out, DType::Bool, |o| {
                plan.runs(o, |r, off, inc| {
                    run2(r, &av[off[0]..], inc[0], &bv[off[1]..], inc[1], $f)
                })
            })
        };
    }
    Ok(match op {
        LogicalOp::And => go!(|x: u8, y: u8| ((x != 0) & (y != 0)) as u8),
        LogicalOp::Or => go!(|x: u8, y: u8| ((x | y) != 0) as u8),
        LogicalOp::Xor => go!(|x: u8, y: u8| ((x != 0) ^ (y != 0)) as u8),
    })
}

/// An operand that may be a tensor or a JS number (weakly typed, like a Python scalar in jnp).
#[derive(Clone, Copy, Debug)]
pub enum Operand<'a> {
    Tensor(&'a Tensor),
    Scalar(f64),
}

impl Operand<'_> {
    fn shape(&self) -> &[usize] {
        match self {
            Operand::Tensor(t) => t.shape(),
            Operand::Scalar(_) => &[],
        }
    }
}

fn integral(s: f64) -> bool {
    s.is_finite() && s.fract() == 0.0
}

/// The result dtype of two weakly-or-strongly typed operands (jnp's rules, our subset).
fn result_dtype(x: Operand, y: Operand, name: &str) -> Result<DType> {
    let weak = |d: DType, s: f64| match d {
        DType::F32 | DType::F16 | DType::BF16 => d,
        _ if !integral(s) => DType::F32,
        DType::Bool => DType::I32,
        d => d,
    };
    Ok(match (x, y) {
        (Operand::Tensor(a), Operand::Tensor(b)) => {
            promote_named(a.dtype(), b.dtype(), name, "x", "y")?
        }
        (Operand::Tensor(a), Operand::Scalar(s)) | (Operand::Scalar(s), Operand::Tensor(a)) => {
            weak(a.dtype(), s)
        }
        (Operand::Scalar(s), Operand::Scalar(t)) => {
            if integral(s) && integral(t) {
                DType::I32
            } else {
                DType::F32
            }
        }
    })
}

fn materialise(x: Operand, dt: DType) -> Tensor {
    match x {
        Operand::Tensor(t) => cast_if(t, dt),
        // A weak number takes a half dtype through float32 (JAX converts the Python scalar to a
        // weak float32 first), unlike `jnp.full`, which rounds float16 directly.
        Operand::Scalar(s) if dt.is_half() => crate::ops::create::full(&[], s as f32 as f64, dt),
        Operand::Scalar(s) => crate::ops::create::full(&[], s, dt),
    }
}

/// jnp.where(condition, x, y): `x` where `condition` is non-zero, else `y`, all three
/// broadcast together. The result dtype is that of x and y (numbers are weakly typed).
pub fn where_(cond: &Tensor, x: Operand, y: Operand) -> Result<Tensor> {
    let xy = broadcast_shapes_named(x.shape(), y.shape(), "where", "x", "y")?;
    let out = broadcast_shapes_named(cond.shape(), &xy, "where", "condition", "x and y")?;
    let dt = result_dtype(x, y, "where")?;
    let (c, x, y) = (truth(cond), materialise(x, dt), materialise(y, dt));
    if numel(&out) == 0 {
        return Ok(Tensor::zeros(&out, dt));
    }
    if let Some(t) = crate::ops::mask::select_fast(&c, &x, &y, &out) {
        return Ok(t);
    }
    let plan = Plan::new(&out, [c.shape(), x.shape(), y.shape()]);
    let cv = c.raw::<u8>();
    Ok(dispatch!(dt, T => {
        let (xv, yv) = (x.raw::<T>(), y.raw::<T>());
        Tensor::build::<T>(out, dt, |o| {
            plan.runs(o, |r, off, inc| {
                run3(
                    r,
                    &cv[off[0]..],
                    inc[0],
                    &xv[off[1]..],
                    inc[1],
                    &yv[off[2]..],
                    inc[2],
                    |c, a, b| if c != 0 { a } else { b },
                )
            })
        })
    }))
}
