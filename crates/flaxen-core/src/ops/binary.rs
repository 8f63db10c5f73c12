//! Elementwise add/sub/mul/div/maximum/minimum/power with numpy broadcasting and jnp's dtype
//! rules (the subset we support): equal dtypes, or float32 with an integer/bool (cast to
//! float32); integer division is true division giving float32; integer add/sub/mul/power wrap.
//! maximum/minimum propagate NaN (like jnp); power of integers is exact repeated squaring and
//! rejects negative exponents (jnp: "Integers to negative integer powers are not allowed").
//!
//! Kernel shape: the broadcast is reduced to "rows" of the innermost (coalesced) axis, where
//! each operand either walks contiguously (stride 1) or repeats one element (stride 0). Each row
//! is then a plain slice loop the compiler vectorises. Same-shape and scalar operands skip the
//! row machinery entirely.

use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::par;
use crate::shape::{broadcast_shapes_named, broadcast_strides, numel};
use crate::tensor::Tensor;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinaryOp {
    Add,
    Sub,
    Mul,
    Div,
    /// jnp.maximum (NaN-propagating).
    Max,
    /// jnp.minimum (NaN-propagating).
    Min,
    /// jnp.power.
    Pow,
    /// jnp.remainder (= jnp.mod): Python's `%`, the result has the divisor's sign.
    Rem,
    /// jnp.floor_divide: Python's `//`.
    FloorDiv,
}

impl BinaryOp {
    pub const ALL: [BinaryOp; 9] = [
        BinaryOp::Add,
        BinaryOp::Sub,
        BinaryOp::Mul,
        BinaryOp::Div,
        BinaryOp::Max,
        BinaryOp::Min,
        BinaryOp::Pow,
        BinaryOp::Rem,
        BinaryOp::FloorDiv,
    ];

    /// The op with this jnp name (the op table's row names).
    pub const fn from_name(name: &str) -> Option<BinaryOp> {
        crate::ops::const_from_name!(name)
    }

    /// jnp name, used in error messages.
    pub const fn name(&self) -> &'static str {
        match self {
            BinaryOp::Add => "add",
            BinaryOp::Sub => "subtract",
            BinaryOp::Mul => "multiply",
            BinaryOp::Div => "divide",
            BinaryOp::Max => "maximum",
            BinaryOp::Min => "minimum",
            BinaryOp::Pow => "power",
            BinaryOp::Rem => "remainder",
            BinaryOp::FloorDiv => "floor_divide",
        }
    }
}

/// The common dtype of two tensor operands, JAX's lattice on the dtypes flaxen has: equal
/// dtypes; float32 when either is float32; float16 with bfloat16 is float32; a half dtype with
/// an integer or bool is the half dtype. Two different integer dtypes are E_DTYPE (cast one).
/// `name` is the operation in the message.
pub(crate) fn promote(da: DType, db: DType, name: &str) -> Result<DType> {
    promote_named(da, db, name, "a", "b")
}

/// `promote` with the operands' names used in the message.
pub(crate) fn promote_named(da: DType, db: DType, name: &str, an: &str, bn: &str) -> Result<DType> {
    if da == db {
        Ok(da)
    } else if da == DType::F32 || db == DType::F32 || (da.is_half() && db.is_half()) {
        Ok(DType::F32)
    } else if da.is_half() {
        Ok(da)
    } else if db.is_half() {
        Ok(db)
    } else {
        Err(Error::dtype(format!(
            "{name}: {an} has dtype {da} and {bn} has dtype {db}; they must match (only a float with an \
             integer or bool, or two floats, are promoted); cast one of them with astype"
        )))
    }
}

/// jnp.remainder of float32s: lax.rem (C's fmod, exact), plus the divisor when the signs
/// differ and the remainder is non-zero (so the result takes the divisor's sign).
#[inline(always)]
pub(crate) fn rem_f32(x: f32, y: f32) -> f32 {
    let t = x % y;
    if t != 0.0 && ((t < 0.0) != (y < 0.0)) {
        t + y
    } else {
        t
    }
}

/// jnp.floor_divide of float32s, step for step as jnp's `_float_divmod` (CPython's
/// float_divmod): `(x - fmod(x, y)) / y`, minus 1 when the remainder's sign differs from y's,
/// rounded half away from zero (lax.round's default).
#[inline(always)]
pub(crate) fn floor_div_f32(x: f32, y: f32) -> f32 {
    let m = x % y;
    let corrected = if y == 0.0 { x } else { x - m };
    let div = corrected / y;
    let ind = m != 0.0 && crate::ops::unary::sign_f32(y) != crate::ops::unary::sign_f32(m);
    let div = if ind { div - 1.0 } else { div };
    div.round()
}

/// `a op b` with numpy broadcasting.
pub fn binary(op: BinaryOp, a: &Tensor, b: &Tensor) -> Result<Tensor> {
    // Fast path (the common case, and most of a tiny op's cost): float32 operands of one shape
    // need no broadcasting, promotion or casts.
    if a.dtype() == DType::F32 && b.dtype() == DType::F32 && a.shape() == b.shape() {
        return Ok(typed(op, a, b, a.shape().to_vec()));
    }
    let name = op.name();
    let out_shape = broadcast_shapes_named(a.shape(), b.shape(), name, "a", "b")?;
    let common = promote(a.dtype(), b.dtype(), name)?;
    // True division of integers/bools happens in float32 (jnp.divide).
    let common = if op == BinaryOp::Div {
        DType::F32
    } else {
        common
    };
    if common == DType::Bool && matches!(op, BinaryOp::Rem | BinaryOp::FloorDiv) {
        return Err(Error::dtype(format!(
            "{name}: bool operands are not supported; cast to an integer dtype first"
        )));
    }
    if common == DType::Bool && op == BinaryOp::Sub {
        return Err(Error::dtype(format!(
            "{name}: subtracting bool tensors is not supported (like numpy); cast to an integer dtype first"
        )));
    }
    if common == DType::Bool && op == BinaryOp::Pow {
        return Err(Error::dtype(format!(
            "{name}: raising bool tensors to bool powers is not supported; cast to an integer dtype first"
        )));
    }
    let ca = cast_if(a, common);
    let cb = cast_if(b, common);
    if op == BinaryOp::Pow && common.is_int() {
        check_int_exponents(&cb, name)?;
    }
    Ok(typed(op, &ca, &cb, out_shape))
}

/// `a op s` (or `s op a` when `scalar_on_left`) where `s` is a JS number, with jnp's weak-type
/// rule: an integer-valued scalar keeps an integer tensor's dtype (bool becomes int32); a
/// fractional scalar, or division, gives float32.
pub fn binary_scalar(op: BinaryOp, a: &Tensor, s: f64, scalar_on_left: bool) -> Result<Tensor> {
    let integral = s.is_finite() && s.fract() == 0.0;
    let dt = match a.dtype() {
        DType::F32 => DType::F32,
        _ if op == BinaryOp::Div || !integral => DType::F32,
        DType::Bool => DType::I32,
        d => d,
    };
    let x = cast_if(a, dt);
    if op == BinaryOp::Pow && !scalar_on_left && integral && s.abs() <= i32::MAX as f64 {
        // An integer exponent is lax.integer_pow (like a Python int in jnp.power).
        if dt.is_int() && s < 0.0 {
            return Err(Error::arg(format!(
                "power: exponent {s} is negative; integers to negative integer powers are not allowed"
            )));
        }
        return Ok(integer_pow(&x, s as i64));
    }
    if op == BinaryOp::Div && !scalar_on_left && dt == DType::F32 {
        // JAX stages a Python scalar divisor as a constant and XLA rewrites `x / c` into
        // `x * f32(1 / f32(c))`: measured with JAX 0.10.2 on CPU, `x / 3.0` equals that product
        // bit for bit and differs from true division in the last bit for a third of the values.
        // Array / array and scalar / array stay true divisions, as in JAX.
        let reciprocal = 1.0f32 / (s as f32);
        return binary_scalar(BinaryOp::Mul, &x, reciprocal as f64, false);
    }
    let st = scalar_of(dt, s);
    if op == BinaryOp::Pow && dt.is_int() {
        check_int_exponents(if scalar_on_left { &x } else { &st }, "power")?;
    }
    let shape = x.shape().to_vec();
    Ok(if scalar_on_left {
        typed(op, &st, &x, shape)
    } else {
        typed(op, &x, &st, shape)
    })
}

/// A 0-d tensor of `dt` holding `s`. Integers wrap (a negative scalar with an unsigned tensor is
/// taken modulo 2^bits, like numpy's integer arithmetic).
fn scalar_of(dt: DType, s: f64) -> Tensor {
    crate::ops::create::full(&[], s, dt)
}

pub(crate) fn cast_if(t: &Tensor, dt: DType) -> Tensor {
    if t.dtype() == dt {
        t.clone()
    } else {
        t.astype(dt)
    }
}

trait Wrapping: Copy + Ord {
    fn w_add(self, o: Self) -> Self;
    fn w_sub(self, o: Self) -> Self;
    fn w_mul(self, o: Self) -> Self;
    /// `self ** e` by repeated squaring (wrapping); `e` is non-negative (checked before).
    fn w_pow(self, e: Self) -> Self;
    /// jnp.remainder: Python's `%`; a zero divisor gives 0 (jnp divides by 1 instead).
    fn py_mod(self, o: Self) -> Self;
    /// jnp.floor_divide with XLA's integer division: `x / 0` is -1 (all bits set), then
    /// jnp's correction subtracts 1 where the signs differ and the remainder is non-zero.
    fn floor_div(self, o: Self) -> Self;
}
macro_rules! wrapping {
    ($($t:ty),*) => {$(
        impl Wrapping for $t {
            #[inline(always)] fn w_add(self, o: Self) -> Self { self.wrapping_add(o) }
            #[inline(always)] fn w_sub(self, o: Self) -> Self { self.wrapping_sub(o) }
            #[inline(always)] fn w_mul(self, o: Self) -> Self { self.wrapping_mul(o) }
            #[inline(always)] fn w_pow(self, e: Self) -> Self {
                // Unrolled over every exponent bit (no data-dependent loop), like jnp's
                // _pow_int_int; exponents are non-negative so bit 31 never matters for i32.
                let (mut acc, mut base, mut e) = (1 as $t, self, e);
                for _ in 0..(8 * std::mem::size_of::<$t>()) {
                    acc = if e & 1 != 0 { acc.wrapping_mul(base) } else { acc };
                    base = base.wrapping_mul(base);
                    e >>= 1;
                }
                acc
            }
            #[inline(always)] fn py_mod(self, o: Self) -> Self {
                // `as i64` reads the sign of signed types and is never negative for unsigned.
                let o = if o == 0 { 1 } else { o };
                let t = self.wrapping_rem(o);
                if t != 0 && (((t as i64) < 0) != ((o as i64) < 0)) { t.wrapping_add(o) } else { t }
            }
            #[inline(always)] fn floor_div(self, o: Self) -> Self {
                // XLA: x / 0 is all bits set; MIN / -1 wraps; x % 0 is x.
                let q = if o == 0 { !0 } else { self.wrapping_div(o) };
                if <$t>::MIN == 0 {
                    return q; // jnp: unsigned floor division is lax.div itself
                }
                let r = if o == 0 { self } else { self.wrapping_rem(o) };
                let differ = (self as i64).signum() != (o as i64).signum();
                if differ && r != 0 { q.wrapping_sub(1) } else { q }
            }
        }
    )*};
}
wrapping!(i32, u32, u16, u8, i8);

/// E_ARG if a signed integer exponent tensor holds a negative value.
fn check_int_exponents(e: &Tensor, name: &str) -> Result<()> {
    if e.dtype() == DType::I32 {
        if let Some(&v) = e.raw::<i32>().iter().find(|&&v| v < 0) {
            return Err(Error::arg(format!(
                "{name}: exponent {v} is negative; integers to negative integer powers are not allowed"
            )));
        }
    }
    Ok(())
}

/// lax.integer_pow: `x ** y` for a fixed integer `y` by repeated squaring (so `x ** 2` is
/// exactly `x * x` and `x ** 3` is `x * (x * x)`); a negative `y` is `1 / x ** -y` (float32
/// only; integers were rejected by the caller).
pub fn integer_pow(x: &Tensor, y: i64) -> Tensor {
    // Per chunk: `acc` lives in the output, `base` in a scratch copy; each exponent bit is one
    // vectorised pass (multiply into acc, then square base).
    fn go<T: Copy + Send + Sync>(
        x: &Tensor,
        y: i64,
        one: T,
        mul: impl Fn(T, T) -> T + Copy + Send + Sync,
    ) -> Tensor {
        let xs = x.raw::<T>();
        Tensor::build::<T>(x.shape().to_vec(), x.dtype(), |o| {
            par::chunks(o, par::CHUNK, |s, c| {
                let mut e = y.unsigned_abs();
                if e == 0 {
                    c.fill(one);
                    return;
                }
                let mut base = xs[s..s + c.len()].to_vec();
                let mut have = false;
                loop {
                    if e & 1 != 0 {
                        if have {
                            for (a, &b) in c.iter_mut().zip(&base) {
                                *a = mul(*a, b);
                            }
                        } else {
                            c.copy_from_slice(&base);
                            have = true;
                        }
                    }
                    e >>= 1;
                    if e == 0 {
                        break;
                    }
                    for b in base.iter_mut() {
                        *b = mul(*b, *b);
                    }
                }
            })
        })
    }
    match x.dtype() {
        DType::F32 => {
            let p = go::<f32>(x, y, 1.0, |a, b| a * b);
            if y < 0 {
                crate::ops::elementwise::unary(crate::ops::elementwise::UnaryOp::Reciprocal, &p)
                    .expect("reciprocal of float32 is defined")
            } else {
                p
            }
        }
        DType::I32 => go::<i32>(x, y, 1, |a, b| a.wrapping_mul(b)),
        DType::U32 => go::<u32>(x, y, 1, |a, b| a.wrapping_mul(b)),
        DType::U16 => go::<u16>(x, y, 1, |a, b| a.wrapping_mul(b)),
        DType::U8 => go::<u8>(x, y, 1, |a, b| a.wrapping_mul(b)),
        DType::I8 => go::<i8>(x, y, 1, |a, b| a.wrapping_mul(b)),
        DType::Bool => go::<u8>(x, y, 1, |a, b| ((a != 0) & (b != 0)) as u8),
        dt @ (DType::F16 | DType::BF16) => panic!("{}", crate::ops::half_in_kernel("integer_pow", dt)),
    }
}

/// Both operands already have the same dtype (float32 for Div).
fn typed(op: BinaryOp, a: &Tensor, b: &Tensor, out: Vec<usize>) -> Tensor {
    use BinaryOp::*;
    macro_rules! int_op {
        ($T:ty) => {
            match op {
                Add => kernel::<$T>(a, b, out, |x, y| x.w_add(y)),
                Sub => kernel::<$T>(a, b, out, |x, y| x.w_sub(y)),
                Mul => kernel::<$T>(a, b, out, |x, y| x.w_mul(y)),
                Max => kernel::<$T>(a, b, out, |x, y| x.max(y)),
                Min => kernel::<$T>(a, b, out, |x, y| x.min(y)),
                Pow => kernel::<$T>(a, b, out, |x, y| x.w_pow(y)),
                Rem => kernel::<$T>(a, b, out, |x, y| x.py_mod(y)),
                FloorDiv => kernel::<$T>(a, b, out, |x, y| x.floor_div(y)),
                Div => unreachable!("integer division is done in float32"),
            }
        };
    }
    match a.dtype() {
        DType::F32 => match op {
            Add => kernel::<f32>(a, b, out, |x, y| x + y),
            Sub => kernel::<f32>(a, b, out, |x, y| x - y),
            Mul => kernel::<f32>(a, b, out, |x, y| x * y),
            Div => kernel::<f32>(a, b, out, |x, y| x / y),
            Max => kernel::<f32>(a, b, out, fmax_nan),
            Min => kernel::<f32>(a, b, out, fmin_nan),
            Pow => kernel::<f32>(a, b, out, f32::powf),
            Rem => kernel::<f32>(a, b, out, rem_f32),
            FloorDiv => kernel::<f32>(a, b, out, floor_div_f32),
        },
        DType::I32 => int_op!(i32),
        DType::U32 => int_op!(u32),
        DType::U16 => int_op!(u16),
        DType::U8 => int_op!(u8),
        DType::I8 => int_op!(i8),
        // bool: add is logical or, multiply is logical and (numpy); bytes may be any non-zero.
        DType::Bool => match op {
            Add => kernel::<u8>(a, b, out, |x, y| ((x | y) != 0) as u8),
            Mul | Min => kernel::<u8>(a, b, out, |x, y| ((x != 0) & (y != 0)) as u8),
            Max => kernel::<u8>(a, b, out, |x, y| ((x | y) != 0) as u8),
            Sub | Div | Pow | Rem | FloorDiv => unreachable!("rejected or promoted earlier"),
        },
        dt @ (DType::F16 | DType::BF16) => panic!("{}", crate::ops::half_in_kernel(op.name(), dt)),
    }
}

/// jnp.maximum for float32: NaN if either operand is NaN. Selects only (vectorises).
#[inline(always)]
pub(crate) fn fmax_nan(x: f32, y: f32) -> f32 {
    if x.is_nan() | y.is_nan() {
        x + y
    } else if x > y {
        x
    } else {
        y
    }
}

/// jnp.minimum for float32: NaN if either operand is NaN.
#[inline(always)]
pub(crate) fn fmin_nan(x: f32, y: f32) -> f32 {
    if x.is_nan() | y.is_nan() {
        x + y
    } else if x < y {
        x
    } else {
        y
    }
}

fn kernel<T>(
    a: &Tensor,
    b: &Tensor,
    out_shape: Vec<usize>,
    f: impl Fn(T, T) -> T + Copy + Send + Sync,
) -> Tensor
where
    T: Copy + Send + Sync,
{
    let dt = a.dtype();
    let (av, bv) = (a.raw::<T>(), b.raw::<T>());
    let n = numel(&out_shape);
    if n == 0 {
        return Tensor::zeros(&out_shape, dt);
    }
    if a.shape() == b.shape() {
        return Tensor::build::<T>(out_shape, dt, |o| {
            par::chunks(o, par::CHUNK, |s, c| seg(c, &av[s..], 1, &bv[s..], 1, f))
        });
    }
    if av.len() == 1 || bv.len() == 1 {
        let (sa, sb) = ((av.len() != 1) as usize, (bv.len() != 1) as usize);
        return Tensor::build::<T>(out_shape, dt, |o| {
            par::chunks(o, par::CHUNK, |s, c| {
                seg(c, &av[s * sa..], sa, &bv[s * sb..], sb, f)
            })
        });
    }
    let (dims, sa, sb) = coalesce(
        &out_shape,
        &broadcast_strides(a.shape(), &out_shape),
        &broadcast_strides(b.shape(), &out_shape),
    );
    let d = dims.len();
    let row = dims[d - 1];
    let (ia, ib) = (sa[d - 1], sb[d - 1]);
    Tensor::build::<T>(out_shape, dt, |o| {
        par::chunks(o, par::CHUNK.max(row), |start, c| {
            let mut p = 0;
            while p < c.len() {
                let flat = start + p;
                let (mut r, col) = (flat / row, flat % row);
                // Offsets of this row in a and b, from its multi-index over the outer axes.
                let (mut oa, mut ob) = (col * ia, col * ib);
                for k in (0..d - 1).rev() {
                    let i = r % dims[k];
                    r /= dims[k];
                    oa += i * sa[k];
                    ob += i * sb[k];
                }
                let len = (row - col).min(c.len() - p);
                seg(&mut c[p..p + len], &av[oa..], ia, &bv[ob..], ib, f);
                p += len;
            }
        })
    })
}

/// One contiguous run of the output. `ia`/`ib` are 1 (walk) or 0 (repeat element 0).
#[inline(always)]
fn seg<T: Copy>(o: &mut [T], a: &[T], ia: usize, b: &[T], ib: usize, f: impl Fn(T, T) -> T) {
    let n = o.len();
    match (ia, ib) {
        (1, 1) => {
            for ((z, &x), &y) in o.iter_mut().zip(&a[..n]).zip(&b[..n]) {
                *z = f(x, y);
            }
        }
        (1, 0) => {
            let y = b[0];
            for (z, &x) in o.iter_mut().zip(&a[..n]) {
                *z = f(x, y);
            }
        }
        (0, 1) => {
            let x = a[0];
            for (z, &y) in o.iter_mut().zip(&b[..n]) {
                *z = f(x, y);
            }
        }
        _ => o.fill(f(a[0], b[0])),
    }
}

/// Drops size-1 axes and merges neighbouring axes that both operands traverse contiguously, so
/// the innermost axis is as long as possible. Returns (dims, strides a, strides b), never empty.
fn coalesce(shape: &[usize], sa: &[usize], sb: &[usize]) -> (Vec<usize>, Vec<usize>, Vec<usize>) {
    let (mut d, mut a, mut b) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..shape.len() {
        if shape[i] == 1 {
            continue;
        }
        if let Some(&last) = d.last() {
            let k = d.len() - 1;
            // Outer axis k merges into axis i if stepping k equals stepping i `shape[i]` times.
            if a[k] == sa[i] * shape[i] && b[k] == sb[i] * shape[i] {
                d[k] = last * shape[i];
                a[k] = sa[i];
                b[k] = sb[i];
                continue;
            }
        }
        d.push(shape[i]);
        a.push(sa[i]);
        b.push(sb[i]);
    }
    if d.is_empty() {
        return (vec![1], vec![0], vec![0]);
    }
    (d, a, b)
}
