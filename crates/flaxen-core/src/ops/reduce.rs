//! jnp.sum / mean / max / min / prod / var / std over a set of axes.
//!
//! Accumulation: float32 inputs are summed in f64 (eight independent lanes, so it vectorises)
//! and rounded to f32 once at the end, which keeps results within ~1 ulp of a float64
//! reference for any realistic length. Integer sums accumulate in i64 and wrap to 32 bits at the
//! end (same result as jnp's wrapping int32/uint32 sum). Result dtypes follow jnp: float32 →
//! float32, int32/bool → int32, unsigned → uint32; mean is always float32.
//!
//! Layout: axes of size 1 are dropped and neighbouring axes of the same kind (kept/reduced) are
//! merged, then a recursion walks the input once, contiguous along the innermost axis.

use rayon::prelude::*;

use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::ops::binary::{fmax_nan, fmin_nan};
use crate::shape::{normalize_axis, numel};
use crate::tensor::Tensor;

pub fn sum(x: &Tensor, axis: Option<&[i64]>, keepdims: bool) -> Result<Tensor> {
    reduce(x, axis, keepdims, false, "sum")
}

pub fn mean(x: &Tensor, axis: Option<&[i64]>, keepdims: bool) -> Result<Tensor> {
    reduce(x, axis, keepdims, true, "mean")
}

/// jnp.max: the largest element (NaN if any is NaN); same dtype. E_SHAPE for an empty reduction.
pub fn max(x: &Tensor, axis: Option<&[i64]>, keepdims: bool) -> Result<Tensor> {
    extremum(x, axis, keepdims, true)
}

/// jnp.min: the smallest element (NaN if any is NaN); same dtype. E_SHAPE for an empty reduction.
pub fn min(x: &Tensor, axis: Option<&[i64]>, keepdims: bool) -> Result<Tensor> {
    extremum(x, axis, keepdims, false)
}

/// jnp.prod: float32 products in f64 (rounded once); integer products wrap; dtypes as `sum`.
pub fn prod(x: &Tensor, axis: Option<&[i64]>, keepdims: bool) -> Result<Tensor> {
    let Axes { red, out_shape, .. } = axes(x.shape(), axis, keepdims, "prod")?;
    let plan = Plan::new(x.shape(), &red);
    let out_n = numel(&out_shape);
    let mul = |a: f64, b: f64| a * b;
    let imul = |a: i64, b: i64| a.wrapping_mul(b);
    if x.dtype() == DType::F32 {
        let acc = plan.run_with(x.raw::<f32>(), out_n, 1.0f64, |v| v as f64, prod_f32, mul);
        return Ok(finish_f(acc, out_shape, false, 1));
    }
    let acc = match x.dtype() {
        DType::I32 => plan.run_with(x.raw::<i32>(), out_n, 1i64, |v| v as i64, prod_int, imul),
        DType::U32 => plan.run_with(x.raw::<u32>(), out_n, 1i64, |v| v as i64, prod_int, imul),
        DType::U16 => plan.run_with(x.raw::<u16>(), out_n, 1i64, |v| v as i64, prod_int, imul),
        DType::U8 => plan.run_with(x.raw::<u8>(), out_n, 1i64, |v| v as i64, prod_int, imul),
        DType::I8 => plan.run_with(x.raw::<i8>(), out_n, 1i64, |v| v as i64, prod_int, imul),
        dt @ (DType::F16 | DType::BF16) => return Err(crate::ops::half_in_kernel("prod", dt)),
        DType::Bool => plan.run_with(
            x.raw::<u8>(),
            out_n,
            1i64,
            |v| (v != 0) as i64,
            |r: &[u8]| r.iter().all(|&v| v != 0) as i64,
            imul,
        ),
        DType::F32 => unreachable!(),
    };
    Ok(if matches!(x.dtype(), DType::I32 | DType::Bool) {
        Tensor::build::<i32>(out_shape, DType::I32, |o| {
            o.iter_mut().zip(&acc).for_each(|(z, &v)| *z = v as i32)
        })
    } else {
        Tensor::build::<u32>(out_shape, DType::U32, |o| {
            o.iter_mut().zip(&acc).for_each(|(z, &v)| *z = v as u32)
        })
    })
}

/// jnp.any / jnp.all (`all`): whether some / every element is nonzero (NaN counts as
/// nonzero, as `x != 0`); bool result. Empty reductions give False / True.
pub fn any_all(x: &Tensor, axis: Option<&[i64]>, keepdims: bool, all: bool) -> Result<Tensor> {
    let what = if all { "all" } else { "any" };
    let Axes { red, out_shape, .. } = axes(x.shape(), axis, keepdims, what)?;
    let plan = Plan::new(x.shape(), &red);
    let out_n = numel(&out_shape);
    let acc = crate::tensor::dispatch!(x.dtype(), T => {
        let truth = |v: T| (<T as crate::dtype::Element>::to_f64(v) != 0.0) as u8;
        let fold = move |r: &[T]| if all { r.iter().all(|&v| truth(v) == 1) as u8 } else { r.iter().any(|&v| truth(v) == 1) as u8 };
        let comb = move |a: u8, b: u8| if all { a & b } else { a | b };
        plan.run_with(x.raw::<T>(), out_n, all as u8, truth, fold, comb)
    });
    Ok(Tensor::build::<u8>(out_shape, DType::Bool, |o| o.copy_from_slice(&acc)))
}

/// jnp.var: `sum((x - mean)²) / (n - ddof)`, from f64 sums of x and x²; float32 result
/// (integers and bool too). NaN for an empty reduction.
pub fn var(x: &Tensor, axis: Option<&[i64]>, keepdims: bool, ddof: f64) -> Result<Tensor> {
    moments(x, axis, keepdims, ddof, false, "var")
}

/// jnp.std: the square root of `var`.
pub fn std(x: &Tensor, axis: Option<&[i64]>, keepdims: bool, ddof: f64) -> Result<Tensor> {
    moments(x, axis, keepdims, ddof, true, "std")
}

fn extremum(x: &Tensor, axis: Option<&[i64]>, keepdims: bool, is_max: bool) -> Result<Tensor> {
    let what = if is_max { "max" } else { "min" };
    let Axes {
        red,
        out_shape,
        count,
    } = axes(x.shape(), axis, keepdims, what)?;
    let out_n = numel(&out_shape);
    if count == 0 && out_n > 0 {
        return Err(Error::shape(format!(
            "{what}: x has shape {:?} and axis {} selects no elements; the {what} of an empty \
             set is undefined (numpy: zero-size array to reduction operation)",
            x.shape(),
            match axis {
                Some(a) => format!("{a:?}"),
                None => "None".to_string(),
            }
        )));
    }
    let plan = Plan::new(x.shape(), &red);
    let dt = x.dtype();
    // Closures and fn items (never fn pointers), so every fold inlines and vectorises.
    macro_rules! int {
        ($T:ty, $conv:expr) => {{
            let conv = $conv;
            let acc = if is_max {
                plan.run_with(
                    x.raw::<$T>(),
                    out_n,
                    <$T>::MIN,
                    conv,
                    |r: &[$T]| r.iter().fold(<$T>::MIN, |m, &v| m.max(conv(v))),
                    |a: $T, b: $T| a.max(b),
                )
            } else {
                plan.run_with(
                    x.raw::<$T>(),
                    out_n,
                    <$T>::MAX,
                    conv,
                    |r: &[$T]| r.iter().fold(<$T>::MAX, |m, &v| m.min(conv(v))),
                    |a: $T, b: $T| a.min(b),
                )
            };
            Tensor::build::<$T>(out_shape, dt, |o| o.copy_from_slice(&acc))
        }};
    }
    Ok(match dt {
        DType::F32 => {
            let xs = x.raw::<f32>();
            let acc = if is_max {
                plan.run_with(xs, out_n, f32::NEG_INFINITY, |v| v, max_f32, fmax_nan)
            } else {
                plan.run_with(xs, out_n, f32::INFINITY, |v| v, min_f32, fmin_nan)
            };
            Tensor::build::<f32>(out_shape, dt, |o| o.copy_from_slice(&acc))
        }
        DType::I32 => int!(i32, |v: i32| v),
        DType::U32 => int!(u32, |v: u32| v),
        DType::U16 => int!(u16, |v: u16| v),
        DType::U8 => int!(u8, |v: u8| v),
        DType::I8 => int!(i8, |v: i8| v),
        DType::Bool => int!(u8, |v: u8| (v != 0) as u8),
        dt @ (DType::F16 | DType::BF16) => return Err(crate::ops::half_in_kernel(if is_max { "max" } else { "min" }, dt)),
    })
}

fn moments(
    x: &Tensor,
    axis: Option<&[i64]>,
    keepdims: bool,
    ddof: f64,
    sqrt: bool,
    what: &str,
) -> Result<Tensor> {
    let Axes {
        red,
        out_shape,
        count,
    } = axes(x.shape(), axis, keepdims, what)?;
    let plan = Plan::new(x.shape(), &red);
    let out_n = numel(&out_shape);
    let z = (0.0f64, 0.0f64);
    let comb = |a: (f64, f64), b: (f64, f64)| (a.0 + b.0, a.1 + b.1);
    let sq = |v: f64| (v, v * v);
    // One pass of (sum, sum of squares) in f64, whatever the element type.
    macro_rules! sums {
        ($t:ty, $to_f64:expr) => {
            plan.run_with(x.raw::<$t>(), out_n, z, |v| sq($to_f64(v)), |r| sum2(r, $to_f64), comb)
        };
    }
    let acc = match x.dtype() {
        DType::F32 => sums!(f32, |v: f32| v as f64),
        DType::I32 => sums!(i32, |v: i32| v as f64),
        DType::U32 => sums!(u32, |v: u32| v as f64),
        DType::U16 => sums!(u16, |v: u16| v as f64),
        DType::U8 => sums!(u8, |v: u8| v as f64),
        DType::I8 => sums!(i8, |v: i8| v as f64),
        DType::Bool => sums!(u8, |v: u8| (v != 0) as u8 as f64),
        dt @ (DType::F16 | DType::BF16) => return Err(crate::ops::half_in_kernel(what, dt)),
    };
    let n = count as f64;
    Ok(Tensor::build::<f32>(out_shape, DType::F32, |o| {
        o.iter_mut().zip(&acc).for_each(|(z, &(s, s2))| {
            let v = (s2 - s * (s / n)).max(0.0) / (n - ddof);
            *z = if sqrt { v.sqrt() } else { v } as f32
        })
    }))
}

/// Sums of `f(x)` and `f(x)²` over a contiguous run, eight independent lanes each.
fn sum2<T: Copy>(xs: &[T], f: impl Fn(T) -> f64) -> (f64, f64) {
    let (mut s, mut s2) = ([0.0f64; 8], [0.0f64; 8]);
    let mut it = xs.chunks_exact(8);
    for c in &mut it {
        for j in 0..8 {
            let v = f(c[j]);
            s[j] += v;
            s2[j] += v * v;
        }
    }
    let (mut a, mut b) = (s.iter().sum::<f64>(), s2.iter().sum::<f64>());
    for &v in it.remainder() {
        let v = f(v);
        a += v;
        b += v * v;
    }
    (a, b)
}

/// Product of a contiguous run of f32 in f64, eight independent lanes.
fn prod_f32(xs: &[f32]) -> f64 {
    let mut lanes = [1.0f64; 8];
    let mut it = xs.chunks_exact(8);
    for c in &mut it {
        for j in 0..8 {
            lanes[j] *= c[j] as f64;
        }
    }
    let tail: f64 = it.remainder().iter().map(|&v| v as f64).product();
    lanes.iter().product::<f64>() * tail
}

fn prod_int<T: Copy + Into<i64>>(xs: &[T]) -> i64 {
    xs.iter().fold(1i64, |a, &v| a.wrapping_mul(v.into()))
}

/// NaN-propagating max of a contiguous run, eight lanes.
#[inline(always)]
pub(crate) fn max_f32(xs: &[f32]) -> f32 {
    fold8(xs, f32::NEG_INFINITY, fmax_nan)
}

/// NaN-propagating min of a contiguous run, eight lanes.
fn min_f32(xs: &[f32]) -> f32 {
    fold8(xs, f32::INFINITY, fmin_nan)
}

/// `xs` folded with `f` from `init` in eight independent lanes (so the loop vectorises).
#[inline(always)]
fn fold8(xs: &[f32], init: f32, f: impl Fn(f32, f32) -> f32 + Copy) -> f32 {
    let mut lanes = [init; 8];
    let mut it = xs.chunks_exact(8);
    for c in &mut it {
        for j in 0..8 {
            lanes[j] = f(lanes[j], c[j]);
        }
    }
    let m = it.remainder().iter().fold(init, |m, &v| f(m, v));
    lanes.iter().fold(m, |m, &v| f(m, v))
}

/// Which axes a reduction folds, and the resulting shape.
pub(crate) struct Axes {
    pub red: Vec<bool>,
    pub out_shape: Vec<usize>,
    /// Elements folded into each output.
    pub count: usize,
}

/// Which axes of `x` `axis` folds (all for None); E_ARG for an axis out of range or named twice.
pub(crate) fn reduced_axes(shape: &[usize], axis: Option<&[i64]>, what: &str) -> Result<Vec<bool>> {
    let nd = shape.len();
    let mut red = vec![axis.is_none(); nd];
    if let Some(ax) = axis {
        for &a in ax {
            let i = normalize_axis(a, nd, what)?;
            if red[i] {
                return Err(Error::arg(format!(
                    "{what}: axis {ax:?} names axis {i} twice"
                )));
            }
            red[i] = true;
        }
    }
    Ok(red)
}

pub(crate) fn axes(shape: &[usize], axis: Option<&[i64]>, keepdims: bool, what: &str) -> Result<Axes> {
    let nd = shape.len();
    let red = reduced_axes(shape, axis, what)?;
    let out_shape: Vec<usize> = (0..nd)
        .filter_map(|i| {
            if !red[i] {
                Some(shape[i])
            } else if keepdims {
                Some(1)
            } else {
                None
            }
        })
        .collect();
    let count: usize = (0..nd).filter(|&i| red[i]).map(|i| shape[i]).product();
    Ok(Axes {
        red,
        out_shape,
        count,
    })
}

fn reduce(
    x: &Tensor,
    axis: Option<&[i64]>,
    keepdims: bool,
    is_mean: bool,
    what: &str,
) -> Result<Tensor> {
    let Axes {
        red,
        out_shape,
        count,
    } = axes(x.shape(), axis, keepdims, what)?;
    let plan = Plan::new(x.shape(), &red);
    let out_n = numel(&out_shape);

    let out_dt = match (is_mean, x.dtype()) {
        (true, _) | (false, DType::F32) => DType::F32,
        (false, DType::I32 | DType::I8 | DType::Bool) => DType::I32,
        (false, _) => DType::U32,
    };
    if x.dtype() == DType::F32 {
        let acc = plan.run(x.raw::<f32>(), out_n, 0.0f64, |v| v as f64, sum_f32);
        return Ok(finish_f(acc, out_shape, is_mean, count));
    }
    let acc = match x.dtype() {
        DType::I32 => plan.run(x.raw::<i32>(), out_n, 0i64, |v| v as i64, sum_int),
        DType::U32 => plan.run(x.raw::<u32>(), out_n, 0i64, |v| v as i64, sum_int),
        DType::U16 => plan.run(x.raw::<u16>(), out_n, 0i64, |v| v as i64, sum_int),
        DType::U8 => plan.run(x.raw::<u8>(), out_n, 0i64, |v| v as i64, sum_int),
        DType::I8 => plan.run(x.raw::<i8>(), out_n, 0i64, |v| v as i64, sum_int),
        DType::Bool => plan.run(x.raw::<u8>(), out_n, 0i64, |v| (v != 0) as i64, sum_int),
        DType::F32 => unreachable!(),
        dt @ (DType::F16 | DType::BF16) => return Err(crate::ops::half_in_kernel(what, dt)),
    };
    Ok(if is_mean {
        finish_f(
            acc.into_iter().map(|v| v as f64).collect(),
            out_shape,
            true,
            count,
        )
    } else if out_dt == DType::I32 {
        Tensor::build::<i32>(out_shape, out_dt, |o| {
            o.iter_mut().zip(&acc).for_each(|(z, &v)| *z = v as i32)
        })
    } else {
        Tensor::build::<u32>(out_shape, out_dt, |o| {
            o.iter_mut().zip(&acc).for_each(|(z, &v)| *z = v as u32)
        })
    })
}

fn finish_f(acc: Vec<f64>, shape: Vec<usize>, is_mean: bool, count: usize) -> Tensor {
    // Mean of nothing is NaN (0/0), as in numpy.
    let scale = if is_mean { count as f64 } else { 1.0 };
    Tensor::build::<f32>(shape, DType::F32, |o| {
        o.iter_mut()
            .zip(&acc)
            .for_each(|(z, &v)| *z = (v / scale) as f32)
    })
}

/// Sum of a contiguous run of f32 in f64, eight independent lanes. Always inlined: the fused
/// normalisation calls it inside its AVX-512 (`fast_fn!`) body.
#[inline(always)]
pub(crate) fn sum_f32(xs: &[f32]) -> f64 {
    let mut lanes = [0.0f64; 8];
    let mut it = xs.chunks_exact(8);
    for c in &mut it {
        for j in 0..8 {
            lanes[j] += c[j] as f64;
        }
    }
    let tail: f64 = it.remainder().iter().map(|&v| v as f64).sum();
    lanes.iter().sum::<f64>() + tail
}

fn sum_int<T: Copy + Into<i64>>(xs: &[T]) -> i64 {
    xs.iter().fold(0i64, |a, &v| a.wrapping_add(v.into()))
}

/// Accumulator: f64 for floats, i64 (wrapping) for integers.
trait Acc: Copy + Send + Sync {
    fn plus(self, o: Self) -> Self;
}
impl Acc for f64 {
    fn plus(self, o: Self) -> Self {
        self + o
    }
}
impl Acc for i64 {
    fn plus(self, o: Self) -> Self {
        self.wrapping_add(o)
    }
}

/// Coalesced iteration plan: `dims[l]`, whether axis l is reduced, its input stride and its
/// output stride (0 for reduced axes).
struct Plan {
    dims: Vec<usize>,
    red: Vec<bool>,
    ist: Vec<usize>,
    ost: Vec<usize>,
    size: usize,
}

impl Plan {
    fn new(shape: &[usize], red: &[bool]) -> Plan {
        let (mut dims, mut r) = (Vec::<usize>::new(), Vec::<bool>::new());
        for (i, &d) in shape.iter().enumerate() {
            if d == 1 {
                continue;
            }
            if r.last() == Some(&red[i]) {
                *dims.last_mut().unwrap() *= d;
            } else {
                dims.push(d);
                r.push(red[i]);
            }
        }
        let n = dims.len();
        let (mut ist, mut ost) = (vec![0; n], vec![0; n]);
        let (mut si, mut so) = (1, 1);
        for l in (0..n).rev() {
            ist[l] = si;
            si *= dims[l];
            if !r[l] {
                ost[l] = so;
                so *= dims[l];
            }
        }
        Plan {
            dims,
            red: r,
            ist,
            ost,
            size: numel(shape),
        }
    }

    fn run<T: Copy + Sync, A: Acc>(
        &self,
        xs: &[T],
        out_n: usize,
        zero: A,
        conv: impl Fn(T) -> A + Sync + Copy,
        run_sum: impl Fn(&[T]) -> A + Sync + Copy,
    ) -> Vec<A> {
        self.run_with(xs, out_n, zero, conv, run_sum, A::plus)
    }

    /// Folds `xs` into `out_n` accumulators starting at `zero` (the identity of `comb`):
    /// `conv` turns one element into an accumulator, `run_fold` folds a contiguous run of the
    /// reduced innermost axis, `comb` combines two accumulators.
    fn run_with<T: Copy + Sync, A: Copy + Send + Sync>(
        &self,
        xs: &[T],
        out_n: usize,
        zero: A,
        conv: impl Fn(T) -> A + Sync + Copy,
        run_sum: impl Fn(&[T]) -> A + Sync + Copy,
        comb: impl Fn(A, A) -> A + Sync + Copy,
    ) -> Vec<A> {
        let mut acc = vec![zero; out_n];
        if self.size == 0 {
            return acc;
        }
        if self.dims.is_empty() {
            acc[0] = conv(xs[0]);
            return acc;
        }
        let d0 = self.dims[0];
        let parts = if crate::par::parallel(self.size) && d0 >= 2 {
            (4 * rayon::current_num_threads()).min(d0)
        } else {
            1
        };
        if parts == 1 {
            self.go(0..d0, xs, &mut acc, 0, conv, run_sum, comb);
        } else if !self.red[0] {
            // Outer axis kept: each part owns a contiguous block of the output.
            let per = d0.div_ceil(parts);
            acc.par_chunks_mut(per * self.ost[0])
                .enumerate()
                .for_each(|(p, out)| {
                    let r = p * per..((p + 1) * per).min(d0);
                    self.go(
                        r.clone(),
                        xs,
                        out,
                        r.start * self.ost[0],
                        conv,
                        run_sum,
                        comb,
                    );
                });
        } else {
            // Outer axis reduced: partial accumulators, added at the end.
            let per = d0.div_ceil(parts);
            let partials: Vec<Vec<A>> = (0..parts)
                .into_par_iter()
                .map(|p| {
                    let mut part = vec![zero; out_n];
                    let r = (p * per).min(d0)..((p + 1) * per).min(d0);
                    self.go(r, xs, &mut part, 0, conv, run_sum, comb);
                    part
                })
                .collect();
            for part in partials {
                acc.iter_mut().zip(part).for_each(|(a, v)| *a = comb(*a, v));
            }
        }
        acc
    }

    /// Folds indices `range` of the outermost axis into `out`, whose element 0 is output offset
    /// `base` (so a parallel part can own a sub-slice of the output).
    #[allow(clippy::too_many_arguments)]
    fn go<T: Copy, A: Copy>(
        &self,
        range: std::ops::Range<usize>,
        xs: &[T],
        out: &mut [A],
        base: usize,
        conv: impl Fn(T) -> A + Copy,
        run_sum: impl Fn(&[T]) -> A + Copy,
        comb: impl Fn(A, A) -> A + Copy,
    ) {
        if self.dims.len() == 1 {
            let src = &xs[range.clone()];
            if self.red[0] {
                out[0] = comb(out[0], run_sum(src));
            } else {
                let o = &mut out[range.start - base..range.end - base];
                o.iter_mut()
                    .zip(src)
                    .for_each(|(a, &v)| *a = comb(*a, conv(v)));
            }
            return;
        }
        for i in range {
            self.go_at(
                1,
                xs,
                i * self.ist[0],
                out,
                base,
                i * self.ost[0],
                conv,
                run_sum,
                comb,
            );
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn go_at<T: Copy, A: Copy>(
        &self,
        l: usize,
        xs: &[T],
        ioff: usize,
        out: &mut [A],
        base: usize,
        ooff: usize,
        conv: impl Fn(T) -> A + Copy,
        run_sum: impl Fn(&[T]) -> A + Copy,
        comb: impl Fn(A, A) -> A + Copy,
    ) {
        let n = self.dims[l];
        if l + 1 == self.dims.len() {
            let src = &xs[ioff..ioff + n];
            if self.red[l] {
                let slot = &mut out[ooff - base];
                *slot = comb(*slot, run_sum(src));
            } else {
                let o = &mut out[ooff - base..ooff - base + n];
                o.iter_mut()
                    .zip(src)
                    .for_each(|(a, &v)| *a = comb(*a, conv(v)));
            }
            return;
        }
        for i in 0..n {
            self.go_at(
                l + 1,
                xs,
                ioff + i * self.ist[l],
                out,
                base,
                ooff + i * self.ost[l],
                conv,
                run_sum,
                comb,
            );
        }
    }
}
