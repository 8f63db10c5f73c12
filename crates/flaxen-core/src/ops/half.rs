//! float16 / bfloat16 versions of the ops JAX computes as several primitives (the op table's
//! `Half::Steps` rows). XLA's CPU backend computes each primitive of a half dtype in float32 and
//! rounds its result to the half dtype, so a composite rounds after every step; these functions
//! do the same steps on float32 data with the same roundings. Their operands arrive widened to
//! float32 (numbers already rounded to the half dtype `p`); they return tensors of `p`.
//!
//! The two half dtypes differ where XLA treats them differently (measured with JAX 0.10.2 on
//! CPU): bfloat16 is widened to float32 before XLA's simplifier runs, float16 is not, so for
//! float16 a division by a constant becomes a multiplication by its reciprocal rounded to
//! float16 (`x / 3`, the last step of softmax), and `expm1`'s formula is rounded step by step;
//! `log_softmax`, which JAX compiles as one function, keeps bfloat16's `exp` unrounded inside
//! its sum (XLA drops the round trip through bfloat16 there) but rounds float16's.

use crate::dtype::DType;
use crate::error::Result;
use crate::ops::elementwise::{erfc, exp, tanh, UnaryOp};
use crate::ops::table::{round_to, Arg, Attr};
use crate::ops::{self, BinaryOp, Cumulative};
use crate::par;
use crate::tensor::Tensor;

/// `x` (float32) with every element rounded to `p` (still float32): in place when unshared.
fn rounded(mut x: Tensor, p: DType) -> Tensor {
    let r: fn(f32) -> f32 = match p {
        DType::BF16 => crate::halfconv::round_bf16,
        _ => crate::halfconv::round_f16,
    };
    if let Some(v) = x.raw_mut::<f32>() {
        par::chunks(v, par::CHUNK, |_, c| c.iter_mut().for_each(|z| *z = r(*z)));
        return x;
    }
    map(&x, move |v| r(v))
}

/// A float32 tensor of `f` applied to each element of the float32 tensor `x`.
fn map(x: &Tensor, f: impl Fn(f32) -> f32 + Send + Sync + Copy) -> Tensor {
    crate::ops::elementwise::map::<f32, f32>(x, DType::F32, f)
}

/// The half dtype `p`'s rounding as a function.
fn rounder(p: DType) -> impl Fn(f32) -> f32 + Send + Sync + Copy {
    move |x| round_to(x, p)
}

fn tensor<'a>(a: &Arg<'a>) -> &'a Tensor {
    match a {
        Arg::T(t) => t,
        _ => unreachable!("a tensor operand"),
    }
}

fn one(t: Tensor, p: DType) -> Result<Vec<Tensor>> {
    Ok(vec![t.astype(p)])
}

/// A constant written in JAX as `np.array(c).astype(dtype)` / `np.sqrt(...).astype(dtype)`:
/// numpy's conversion of the f64 (float16 directly, bfloat16 through float32).
fn np_const(c: f64, p: DType) -> f32 {
    match p {
        DType::F16 => crate::halfconv::f16_to_f32(crate::halfconv::f64_to_f16(c)),
        _ => round_to(c as f32, p),
    }
}

/// A Python number in a jnp expression with a half array (weakly typed): through float32.
fn weak_const(c: f64, p: DType) -> f32 {
    round_to(c as f32, p)
}

// ---- binary ------------------------------------------------------------------------------

/// jnp.divide. Tensor by number: bfloat16 divides; float16 multiplies by the reciprocal
/// rounded to float16 (XLA rewrites `x / c` into `x * (1 / c)` in the half type itself).
pub(crate) fn divide(_: &[Attr], a: &[Arg], p: DType) -> Result<Vec<Tensor>> {
    let t = match (&a[0], &a[1]) {
        (Arg::T(x), Arg::S(s)) if p == DType::F16 => {
            let recip = round_to(1.0 / (*s as f32), p);
            ops::binary_scalar(BinaryOp::Mul, x, recip as f64, false)?
        }
        (Arg::T(x), Arg::S(s)) => ops::binary(BinaryOp::Div, x, &Tensor::scalar(*s as f32))?,
        (Arg::S(s), Arg::T(x)) => ops::binary_scalar(BinaryOp::Div, x, *s, true)?,
        (Arg::T(x), Arg::T(y)) => ops::binary(BinaryOp::Div, x, y)?,
        _ => unreachable!("a half operand"),
    };
    one(t, p)
}

/// jnp.power. A number exponent that is an integer is lax.integer_pow: repeated squaring with
/// every product rounded to `p` (so `x ** 3` is `x * (x * x)`, two roundings); a negative one
/// is the reciprocal of that, rounded. Anything else is one `pow`, rounded once.
pub(crate) fn power(_: &[Attr], a: &[Arg], p: DType) -> Result<Vec<Tensor>> {
    let t = match (&a[0], &a[1]) {
        (Arg::T(x), Arg::S(s)) if s.is_finite() && s.fract() == 0.0 && s.abs() <= i32::MAX as f64 => {
            let y = *s as i64;
            let r = rounder(p);
            map(x, move |v| integer_pow(v, y, r))
        }
        (Arg::T(x), Arg::S(s)) => ops::binary_scalar(BinaryOp::Pow, x, *s, false)?,
        (Arg::S(s), Arg::T(x)) => ops::binary_scalar(BinaryOp::Pow, x, *s, true)?,
        (Arg::T(x), Arg::T(y)) => ops::binary(BinaryOp::Pow, x, y)?,
        _ => unreachable!("a half operand"),
    };
    one(t, p)
}

/// `v ** y` by the same squaring order as `ops::integer_pow`, rounding each product with `r`.
#[inline(always)]
fn integer_pow(v: f32, y: i64, r: impl Fn(f32) -> f32) -> f32 {
    let mut e = y.unsigned_abs();
    if e == 0 {
        return 1.0;
    }
    let (mut acc, mut base, mut have) = (1.0f32, v, false);
    loop {
        if e & 1 != 0 {
            acc = if have { r(acc * base) } else { base };
            have = true;
        }
        e >>= 1;
        if e == 0 {
            break;
        }
        base = r(base * base);
    }
    if y < 0 {
        r(1.0 / acc)
    } else {
        acc
    }
}

/// jnp.floor_divide of floats, jnp's `_float_divmod` step by step with each result rounded:
/// `div = (x - fmod(x, y)) / y`, minus 1 when the remainder's sign differs from y's, rounded
/// half away from zero. A float16 number divisor is a multiplication by its rounded reciprocal.
pub(crate) fn floor_divide(_: &[Attr], a: &[Arg], p: DType) -> Result<Vec<Tensor>> {
    let r = rounder(p);
    let step = move |x: f32, y: f32, recip: Option<f32>| -> f32 {
        let m = x % y;
        let corrected = if y == 0.0 { x } else { r(x - m) };
        let div = r(match recip {
            Some(q) => corrected * q,
            None => corrected / y,
        });
        let ind = m != 0.0 && ops::unary::sign_f32(y) != ops::unary::sign_f32(m);
        let div = if ind { r(div - 1.0) } else { div };
        div.round()
    };
    let t = match (&a[0], &a[1]) {
        (Arg::T(x), Arg::S(s)) => {
            let y = *s as f32;
            let recip = (p == DType::F16).then(|| r(1.0 / y));
            map(x, move |v| step(v, y, recip))
        }
        (Arg::S(s), Arg::T(y)) => {
            let x = *s as f32;
            map(y, move |v| step(x, v, None))
        }
        (Arg::T(x), Arg::T(y)) => {
            // Broadcast both, then step pairwise.
            let shape = crate::shape::broadcast_shapes_named(x.shape(), y.shape(), "floor_divide", "a", "b")?;
            let (xb, yb) = (ops::broadcast_to(x, &shape)?, ops::broadcast_to(y, &shape)?);
            let (xs, ys) = (xb.raw::<f32>(), yb.raw::<f32>());
            Tensor::build::<f32>(shape, DType::F32, |o| {
                par::chunks(o, par::CHUNK, |s, c| {
                    for (i, z) in c.iter_mut().enumerate() {
                        *z = step(xs[s + i], ys[s + i], None);
                    }
                })
            })
        }
        _ => unreachable!("a half operand"),
    };
    one(t, p)
}

// ---- unary -------------------------------------------------------------------------------

/// lax.logistic as XLA expands it: `1 / (1 + exp(-x))`, each step rounded.
#[inline(always)]
fn sigmoid_r(v: f32, r: impl Fn(f32) -> f32) -> f32 {
    r(1.0 / r(1.0 + r(exp(-v))))
}

fn unary_steps(a: &[Arg], p: DType, f: impl Fn(f32, DType) -> f32 + Send + Sync + Copy) -> Result<Vec<Tensor>> {
    one(map(tensor(&a[0]), move |v| f(v, p)), p)
}

pub(crate) fn sigmoid(_: &[Attr], a: &[Arg], p: DType) -> Result<Vec<Tensor>> {
    unary_steps(a, p, |v, p| sigmoid_r(v, rounder(p)))
}

/// jax.nn.silu: `x * sigmoid(x)`.
pub(crate) fn silu(_: &[Attr], a: &[Arg], p: DType) -> Result<Vec<Tensor>> {
    unary_steps(a, p, |v, p| {
        let r = rounder(p);
        r(v * sigmoid_r(v, r))
    })
}

/// jax.nn.gelu(approximate=True):
/// `x * (0.5 * (1 + tanh(sqrt(2/pi) * (x + 0.044715 * x**3))))`, each operation rounded.
pub(crate) fn gelu(_: &[Attr], a: &[Arg], p: DType) -> Result<Vec<Tensor>> {
    let c = np_const((2.0 / std::f64::consts::PI).sqrt(), p);
    let k = weak_const(0.044_715, p);
    unary_steps(a, p, move |v, p| {
        let r = rounder(p);
        let cube = r(v * r(v * v));
        let inner = r(v + r(k * cube));
        let t = r(tanh(r(c * inner)));
        let cdf = r(0.5 * r(1.0 + t));
        r(v * cdf)
    })
}

/// jax.nn.gelu(approximate=False): `0.5 * x * erfc(-x * sqrt(0.5))`, each operation rounded.
pub(crate) fn gelu_exact(_: &[Attr], a: &[Arg], p: DType) -> Result<Vec<Tensor>> {
    let c = np_const(0.5f64.sqrt(), p);
    unary_steps(a, p, move |v, p| {
        let r = rounder(p);
        r(r(0.5 * v) * r(erfc(r(-v * c))))
    })
}

/// jnp.expm1. bfloat16: the float32 result, rounded once. float16: XLA's formula in float16,
/// every step rounded: `tanh(x/2) * (exp(x) + 1)` for |x| ≤ 0.5, `exp(x) - 1` beyond, x itself
/// once x/2 underflows.
pub(crate) fn expm1(_: &[Attr], a: &[Arg], p: DType) -> Result<Vec<Tensor>> {
    if p == DType::BF16 {
        return one(ops::unary(UnaryOp::Expm1, tensor(&a[0]))?, p);
    }
    unary_steps(a, p, |x, p| {
        let r = rounder(p);
        let half = r(x * 0.5);
        let e = r(exp(x));
        if half == 0.0 {
            x
        } else if x.abs() > 0.5 {
            r(e - 1.0)
        } else {
            r(r(tanh(half)) * r(e + 1.0))
        }
    })
}

/// jnp.round(x, decimals). bfloat16: `round_half_even(x * 10^d) / 10^d` with each step rounded
/// (the factor a bfloat16 constant). float16: jnp computes it in float32 itself (its
/// `_round_float` upcasts float16), so the float32 result is rounded once.
pub(crate) fn round(at: &[Attr], a: &[Arg], p: DType) -> Result<Vec<Tensor>> {
    let decimals = at[0].int().clamp(i32::MIN as i64, i32::MAX as i64) as i32;
    let x = tensor(&a[0]);
    if decimals == 0 || p == DType::F16 {
        return one(ops::round(x, decimals)?, p);
    }
    let factor = weak_const(10f64.powi(decimals), p);
    unary_steps(a, p, move |v, p| {
        let r = rounder(p);
        r(r(v * factor).round_ties_even() / factor)
    })
}

// ---- reductions --------------------------------------------------------------------------

/// jnp.std: `sqrt(var(x))`, the variance rounded first.
pub(crate) fn std(at: &[Attr], a: &[Arg], p: DType) -> Result<Vec<Tensor>> {
    let v = ops::var(tensor(&a[0]), at[0].opt_ints(), at[1].bool(), at[2].num())?;
    let v = rounded(v, p);
    one(ops::unary(UnaryOp::Sqrt, &v)?, p)
}

/// The max over `axis` kept as size-1 axes, `x - max` rounded, and its `exp`: the first steps
/// of softmax, log_softmax and logsumexp. Returns (shifted, exp, max).
fn shifted_exp(x: &Tensor, axis: Option<&[i64]>, p: DType, round_exp: bool, finite_max: bool) -> Result<(Tensor, Tensor, Tensor)> {
    let m = ops::max(x, axis, true)?;
    // logsumexp: a max that is not finite is replaced by 0.
    let m = if finite_max { map(&m, |v| if v.is_finite() { v } else { 0.0 }) } else { m };
    let d = rounded(ops::binary(BinaryOp::Sub, x, &m)?, p);
    let e = ops::unary(UnaryOp::Exp, &d)?;
    let e = if round_exp { rounded(e, p) } else { e };
    Ok((d, e, m))
}

/// Checks `axis` the way the float32 ops do (so errors match) and whether any element exists.
fn reduce_checks(x: &Tensor, axis: Option<&[i64]>, what: &str) -> Result<bool> {
    ops::reduce::reduced_axes(x.shape(), axis, what)?;
    Ok(x.size() > 0)
}

/// jax.nn.softmax (eager): `e = exp(x - max)` rounded, `s = sum(e)` rounded, then `e / s`
/// (bfloat16) or `e * (1 / s)` with the reciprocal rounded (float16).
pub(crate) fn softmax(at: &[Attr], a: &[Arg], p: DType) -> Result<Vec<Tensor>> {
    let (x, axis) = (tensor(&a[0]), at[0].opt_ints());
    if !reduce_checks(x, axis, "softmax")? {
        return one(ops::softmax(x, axis)?, p);
    }
    let (_, e, _) = shifted_exp(x, axis, p, true, false)?;
    let s = rounded(ops::sum(&e, axis, true)?, p);
    let y = if p == DType::F16 {
        let inv = rounded(ops::unary(UnaryOp::Reciprocal, &s)?, p);
        ops::binary(BinaryOp::Mul, &e, &inv)?
    } else {
        ops::binary(BinaryOp::Div, &e, &s)?
    };
    one(y, p)
}

/// jax.nn.log_softmax: `shifted - log(sum(exp(shifted)))`, `shifted = x - max` rounded; the sum
/// rounded, its log rounded. bfloat16 sums the unrounded exps (XLA fuses them into the sum).
pub(crate) fn log_softmax(at: &[Attr], a: &[Arg], p: DType) -> Result<Vec<Tensor>> {
    let (x, axis) = (tensor(&a[0]), at[0].opt_ints());
    if !reduce_checks(x, axis, "log_softmax")? {
        return one(ops::log_softmax(x, axis)?, p);
    }
    let (d, e, _) = shifted_exp(x, axis, p, p == DType::F16, false)?;
    let s = rounded(ops::sum(&e, axis, true)?, p);
    let l = rounded(ops::unary(UnaryOp::Log, &s)?, p);
    one(ops::binary(BinaryOp::Sub, &d, &l)?, p)
}

/// jax.nn.logsumexp: `log(sum(exp(x - m))) + m`, m the max (0 where not finite); the exps, the
/// sum and the log each rounded.
pub(crate) fn logsumexp(at: &[Attr], a: &[Arg], p: DType) -> Result<Vec<Tensor>> {
    let (x, axis, keepdims) = (tensor(&a[0]), at[0].opt_ints(), at[1].bool());
    if !reduce_checks(x, axis, "logsumexp")? {
        return one(ops::logsumexp(x, axis, keepdims)?, p);
    }
    let (_, e, m) = shifted_exp(x, axis, p, true, true)?;
    let s = rounded(ops::sum(&e, axis, keepdims)?, p);
    let l = rounded(ops::unary(UnaryOp::Log, &map(&s, f32::abs))?, p);
    let m = if keepdims { m } else { m.reshape(&l.shape().iter().map(|&d| d as i64).collect::<Vec<_>>())? };
    one(ops::binary(BinaryOp::Add, &l, &m)?, p)
}

/// jnp.cumsum / jnp.cumprod: XLA's blocked scan (see `ops::scan`) with every combination
/// rounded, as XLA's reduce-window rounds inside its body.
pub(crate) fn cumulative(op: Cumulative, at: &[Attr], a: &[Arg], p: DType) -> Result<Vec<Tensor>> {
    let r = rounder(p);
    one(ops::scan::cumulative_rounded(op, tensor(&a[0]), at[0].opt_int(), r)?, p)
}

pub(crate) fn cumsum(at: &[Attr], a: &[Arg], p: DType) -> Result<Vec<Tensor>> {
    cumulative(Cumulative::Sum, at, a, p)
}

pub(crate) fn cumprod(at: &[Attr], a: &[Arg], p: DType) -> Result<Vec<Tensor>> {
    cumulative(Cumulative::Prod, at, a, p)
}
