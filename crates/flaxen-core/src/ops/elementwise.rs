//! Elementwise unary math behind one enum and one dispatch: jnp's exp, log, sqrt, tanh, abs,
//! negative, square, reciprocal, floor, ceil, logical_not; lax.rsqrt; jax.nn's sigmoid, silu and
//! gelu (tanh approximation or exact); lax.erf.
//!
//! dtypes (jnp's rules): transcendental jnp functions promote integers and bool to float32;
//! lax / jax.nn functions (rsqrt, sigmoid, silu, gelu) accept float32 only; abs, negative and
//! square keep an integer dtype (wrapping; bool squares as int32); floor/ceil of integers are
//! the identity; logical_not of anything is bool.
//!
//! Kernels: every float32 op is one plain slice loop compiled twice (`fast_fn!`: baseline and
//! AVX2+FMA, chosen at runtime), so the loops vectorise and the polynomial erf/erfc/tanh use
//! hardware FMA. `exp` is a branch-free Cephes-style polynomial (within 1 ulp of the exact
//! value, so sigmoid/silu/softmax vectorise too); `tanh` is XLA's float32 rational
//! approximation (`EmitFastTanh`); `log` is XLA's polynomial (`prng::erf::log`). Large tensors
//! are split into chunks run by rayon (`par::chunks`).

#![allow(clippy::excessive_precision)]

use crate::cpu::fast_fn;
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::par;
use crate::prng::erf::{erf, log, log1p};
use crate::tensor::Tensor;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnaryOp {
    Exp,
    Log,
    Sqrt,
    /// lax.rsqrt: 1 / sqrt(x).
    Rsqrt,
    Tanh,
    Abs,
    Negative,
    Square,
    Reciprocal,
    Floor,
    Ceil,
    /// jax.nn.sigmoid: 1 / (1 + exp(-x)).
    Sigmoid,
    /// jax.nn.silu: x * sigmoid(x).
    Silu,
    /// jax.nn.gelu(approximate=True): x * 0.5 * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3))).
    Gelu,
    /// jax.nn.gelu(approximate=False): 0.5 * x * erfc(-x * sqrt(1/2)).
    GeluExact,
    /// lax.erf (XLA's float32 rational approximation).
    Erf,
    LogicalNot,
    /// jnp.sin: the float32 nearest to a double-precision evaluation. XLA's CPU result differs
    /// by 1 ulp on ~1.3% of inputs (tested: at most 1 ulp).
    Sin,
    /// jnp.cos (as sin: at most 1 ulp from XLA's).
    Cos,
    /// jnp.log1p: XLA's Cephes rational approximation near 0, else `log(1 + x)`.
    Log1p,
    /// jnp.expm1: XLA's `tanh(x/2) * (exp(x) + 1)` near 0, else `exp(x) - 1`.
    Expm1,
}

impl UnaryOp {
    /// Every op; an op's index here is its code in the binding (`unary(code, x)`).
    pub const ALL: [UnaryOp; 21] = [
        UnaryOp::Exp,
        UnaryOp::Log,
        UnaryOp::Sqrt,
        UnaryOp::Rsqrt,
        UnaryOp::Tanh,
        UnaryOp::Abs,
        UnaryOp::Negative,
        UnaryOp::Square,
        UnaryOp::Reciprocal,
        UnaryOp::Floor,
        UnaryOp::Ceil,
        UnaryOp::Sigmoid,
        UnaryOp::Silu,
        UnaryOp::Gelu,
        UnaryOp::GeluExact,
        UnaryOp::Erf,
        UnaryOp::LogicalNot,
        UnaryOp::Sin,
        UnaryOp::Cos,
        UnaryOp::Log1p,
        UnaryOp::Expm1,
    ];

    /// jnp / jax.nn name, used in error messages.
    pub fn name(&self) -> &'static str {
        match self {
            UnaryOp::Exp => "exp",
            UnaryOp::Log => "log",
            UnaryOp::Sqrt => "sqrt",
            UnaryOp::Rsqrt => "rsqrt",
            UnaryOp::Tanh => "tanh",
            UnaryOp::Abs => "abs",
            UnaryOp::Negative => "negative",
            UnaryOp::Square => "square",
            UnaryOp::Reciprocal => "reciprocal",
            UnaryOp::Floor => "floor",
            UnaryOp::Ceil => "ceil",
            UnaryOp::Sigmoid => "sigmoid",
            UnaryOp::Silu => "silu",
            UnaryOp::Gelu => "gelu",
            UnaryOp::GeluExact => "gelu(approximate=false)",
            UnaryOp::Erf => "erf",
            UnaryOp::LogicalNot => "logical_not",
            UnaryOp::Sin => "sin",
            UnaryOp::Cos => "cos",
            UnaryOp::Log1p => "log1p",
            UnaryOp::Expm1 => "expm1",
        }
    }
}

/// Applies `op` elementwise.
pub fn unary(op: UnaryOp, x: &Tensor) -> Result<Tensor> {
    use UnaryOp::*;
    let dt = x.dtype();
    if op == LogicalNot {
        return Ok(logical_not(x));
    }
    if dt != DType::F32 {
        match op {
            // Transcendental jnp functions compute integers in float32.
            Exp | Log | Sqrt | Tanh | Reciprocal | Erf | Sin | Cos | Log1p | Expm1 => {
                return unary(op, &x.astype(DType::F32));
            }
            Rsqrt | Sigmoid | Silu | Gelu | GeluExact => {
                return Err(Error::dtype(format!(
                    "{}: x has dtype {dt}; expected float32 (cast with astype)",
                    op.name()
                )));
            }
            Floor | Ceil => return Ok(x.astype(dt)),
            Abs | Negative | Square => return int_unary(op, x),
            LogicalNot => unreachable!(),
        }
    }
    Ok(map_f32(x, f32_kernel(op)))
}

/// The float32 slice kernel of `op` (`dst[i] = op(src[i])`), shared by the eager op and fused
/// plans so both give the same bits. `LogicalNot` has none (its output is bool).
pub(crate) fn f32_kernel(op: UnaryOp) -> fn(&[f32], &mut [f32]) {
    use UnaryOp::*;
    match op {
        Exp => k_exp,
        Log => k_log,
        Sqrt => k_sqrt,
        Rsqrt => k_rsqrt,
        Tanh => k_tanh,
        Abs => k_abs,
        Negative => k_neg,
        Square => k_square,
        Reciprocal => k_recip,
        Floor => k_floor,
        Ceil => k_ceil,
        Sigmoid => k_sigmoid,
        Silu => k_silu,
        Gelu => k_gelu_tanh,
        GeluExact => k_gelu_exact,
        Erf => k_erf,
        Sin => k_sin,
        Cos => k_cos,
        Log1p => k_log1p,
        Expm1 => k_expm1,
        LogicalNot => unreachable!("logical_not is not a float32 kernel"),
    }
}

/// A float32 tensor from `k` applied chunk by chunk.
fn map_f32(x: &Tensor, k: fn(&[f32], &mut [f32])) -> Tensor {
    let xs = x.raw::<f32>();
    Tensor::build::<f32>(x.shape().to_vec(), DType::F32, |o| {
        par::chunks(o, par::CHUNK, |s, c| k(&xs[s..s + c.len()], c))
    })
}

/// A tensor of `dt` (storage type `U`) from `f` applied to each element of `x` (storage `T`).
pub(crate) fn map<T: Copy + Sync, U: Copy + Send>(
    x: &Tensor,
    dt: DType,
    f: impl Fn(T) -> U + Send + Sync + Copy,
) -> Tensor {
    let xs = x.raw::<T>();
    Tensor::build::<U>(x.shape().to_vec(), dt, |o| {
        par::chunks(o, par::CHUNK, |s, c| {
            let src = &xs[s..s + c.len()];
            for (z, &v) in c.iter_mut().zip(src) {
                *z = f(v);
            }
        })
    })
}

fn logical_not(x: &Tensor) -> Tensor {
    match x.dtype() {
        DType::F32 => map::<f32, u8>(x, DType::Bool, |v| (v == 0.0) as u8),
        DType::I32 | DType::U32 => map::<u32, u8>(x, DType::Bool, |v| (v == 0) as u8),
        DType::U16 => map::<u16, u8>(x, DType::Bool, |v| (v == 0) as u8),
        DType::U8 | DType::I8 | DType::Bool => map::<u8, u8>(x, DType::Bool, |v| (v == 0) as u8),
        dt @ (DType::F16 | DType::BF16) => panic!("{}", crate::ops::half_in_kernel("logical_not", dt)),
    }
}

/// abs / negative / square of integer and bool tensors (wrapping, like numpy's integers).
fn int_unary(op: UnaryOp, x: &Tensor) -> Result<Tensor> {
    use UnaryOp::*;
    let dt = x.dtype();
    macro_rules! int_ops {
        ($T:ty, $abs:expr) => {
            match op {
                Abs => map::<$T, $T>(x, dt, $abs),
                Negative => map::<$T, $T>(x, dt, |v| v.wrapping_neg()),
                Square => map::<$T, $T>(x, dt, |v| v.wrapping_mul(v)),
                _ => unreachable!(),
            }
        };
    }
    Ok(match dt {
        DType::I32 => int_ops!(i32, |v: i32| v.wrapping_abs()),
        DType::U32 => int_ops!(u32, |v: u32| v),
        DType::U16 => int_ops!(u16, |v: u16| v),
        DType::U8 => int_ops!(u8, |v: u8| v),
        DType::I8 => int_ops!(i8, |v: i8| v.wrapping_abs()),
        DType::Bool => match op {
            Abs => x.astype(DType::Bool),
            Square => int_unary(op, &x.astype(DType::I32))?,
            _ => {
                return Err(Error::dtype(format!(
                    "{}: x has dtype bool; expected a numeric dtype (jnp rejects bool here)",
                    op.name()
                )))
            }
        },
        DType::F32 => unreachable!(),
        dt @ (DType::F16 | DType::BF16) => return Err(crate::ops::half_in_kernel(op.name(), dt)),
    })
}

/// One float32 kernel per op: `fn name(src, dst)` writing `dst[i] = f(src[i])`, built twice by
/// `fast_fn!` (baseline and AVX2+FMA).
macro_rules! f32_kernels {
    ($($name:ident = |$v:ident| $e:expr;)*) => {$(
        fast_fn!(fn $name(src: &[f32], dst: &mut [f32]) {
            let src = &src[..dst.len()];
            for (z, &$v) in dst.iter_mut().zip(src) {
                *z = $e;
            }
        });
    )*};
}

f32_kernels! {
    k_exp = |v| exp(v);
    k_log = |v| log(v);
    k_sqrt = |v| v.sqrt();
    k_rsqrt = |v| 1.0 / v.sqrt();
    k_tanh = |v| tanh(v);
    k_abs = |v| v.abs();
    k_neg = |v| -v;
    k_square = |v| v * v;
    k_recip = |v| 1.0 / v;
    k_floor = |v| v.floor();
    k_ceil = |v| v.ceil();
    k_sigmoid = |v| sigmoid(v);
    k_silu = |v| v * sigmoid(v);
    k_gelu_tanh = |v| gelu_tanh(v);
    k_gelu_exact = |v| (0.5 * v) * erfc(-v * SQRT_HALF);
    k_erf = |v| erf(v);
    // XLA gives ±0 for subnormal x (measured with JAX 0.10.2); the polynomial would return x.
    k_log1p = |v| if v.abs() < f32::MIN_POSITIVE { v * 0.0 } else { log1p(v) };
    k_expm1 = |v| expm1(v);
}

/// sqrt(2 / pi) rounded to float32 (jax: `np.sqrt(2 / np.pi).astype(x.dtype)`).
const SQRT_2_OVER_PI: f32 = 0.797_884_560_802_865_4;
/// sqrt(1/2) rounded to float32 (jax: `np.sqrt(0.5).astype(x.dtype)`).
const SQRT_HALF: f32 = std::f32::consts::FRAC_1_SQRT_2;

#[inline(always)]
fn sigmoid(v: f32) -> f32 {
    1.0 / (1.0 + exp(-v))
}

/// jax.nn.gelu's tanh form in jax's operation order: `x**3` is `x * (x * x)`.
#[inline(always)]
fn gelu_tanh(v: f32) -> f32 {
    let cube = v * (v * v);
    let cdf = 0.5 * (1.0 + tanh(SQRT_2_OVER_PI * (v + 0.044_715 * cube)));
    v * cdf
}

/// 1.5 * 2^23: adding it rounds an f32 of magnitude < 2^22 to an integer (ties to even) and
/// leaves that integer in the low mantissa bits, without SSE4.1's `roundps`.
const ROUND_MAGIC: f32 = 12_582_912.0;

/// e^x in float32, branch-free so loops over it vectorise (also on baseline x86-64): Cephes
/// expf's range reduction `x = n ln2 + r` (ln2 split so `n * C1` is exact) and degree-6
/// polynomial, then `2^n` built from exponent bits in two halves so results that are
/// subnormal, or overflow to inf, round correctly. Within 1 ulp of e^x; NaN stays NaN.
#[inline(always)]
pub(crate) fn exp(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const C1: f32 = 0.693_359_375;
    const C2: f32 = -2.121_944_4e-4;
    const P: [f32; 6] = [
        1.987_569_150_0e-4,
        1.398_199_950_7e-3,
        8.333_451_907_3e-3,
        4.166_579_589_4e-2,
        1.666_666_545_9e-1,
        5.000_000_120_1e-1,
    ];
    // Beyond these e^x is inf / 0 in float32; the clamp keeps n within the bit tricks below.
    let x = x.clamp(-104.0, 89.0);
    let t = x * LOG2E + ROUND_MAGIC;
    let n = (t.to_bits() as i32).wrapping_sub(ROUND_MAGIC.to_bits() as i32);
    let nf = t - ROUND_MAGIC;
    let r = x - nf * C1 - nf * C2;
    let mut p = P[0];
    for &c in &P[1..] {
        p = p * r + c;
    }
    let y = p * (r * r) + r + 1.0;
    // 2^n = 2^n1 * 2^n2 with both halves normal (n in -150..=129).
    let n1 = n >> 1;
    let n2 = n - n1;
    let s1 = f32::from_bits(((n1 + 127) as u32) << 23);
    let s2 = f32::from_bits(((n2 + 127) as u32) << 23);
    y * s1 * s2
}

/// tanh in float32 as XLA's CPU backend emits it (`EmitFastTanh`, from Eigen): x itself for
/// |x| < 0.0004, else a 13/6-degree rational function of x clamped to ±7.998811721801758
/// (where it reaches exactly ±1), Horner steps fused like XLA. NaN stays NaN.
#[inline(always)]
pub(crate) fn tanh(x: f32) -> f32 {
    const NUM: [f32; 7] = [
        -2.760_768_477_423_55e-16,
        2.000_187_904_824_77e-13,
        -8.604_671_522_137_35e-11,
        5.122_297_090_371_14e-8,
        1.485_722_357_179_79e-5,
        6.372_619_288_754_36e-4,
        4.893_524_558_917_86e-3,
    ];
    const DEN: [f32; 4] = [
        1.198_258_394_667_02e-6,
        1.185_347_056_866_54e-4,
        2.268_434_632_439_00e-3,
        4.893_525_185_543_85e-3,
    ];
    const CLAMP: f32 = 7.998_811_721_801_758;
    let c = x.clamp(-CLAMP, CLAMP);
    let x2 = c * c;
    let p = c * horner(&NUM, x2);
    let q = horner(&DEN, x2);
    if x.abs() < 0.0004 {
        x
    } else {
        p / q
    }
}

/// Cephes erff polynomial for |x| < 1: `x * T(x²)`.
const ERF_T: [f32; 7] = [
    7.853_861_353_153_693e-5,
    -8.010_193_625_184_903e-4,
    5.188_327_685_732_524e-3,
    -2.685_381_193_529_856e-2,
    1.128_358_514_861_418e-1,
    -3.761_262_582_423_300e-1,
    1.128_379_165_726_710,
];
/// Cephes erfcf: `erfc(x) = exp(-x²) / x * P(1/x²)` for 1 <= x < 2.
const ERFC_P: [f32; 9] = [
    2.326_819_970_068_386e-2,
    -1.387_039_388_740_657e-1,
    3.687_424_674_597_105e-1,
    -5.824_733_027_278_666e-1,
    6.210_004_621_745_983e-1,
    -4.944_515_323_274_145e-1,
    3.404_879_937_665_872e-1,
    -2.741_127_028_184_656e-1,
    5.638_259_427_386_472e-1,
];
/// ... and `R(1/x²)` for x >= 2.
const ERFC_R: [f32; 8] = [
    -1.047_766_399_936_249e1,
    1.297_719_955_372_516e1,
    -7.495_518_717_768_503,
    2.921_019_019_210_786,
    -1.015_265_279_202_700,
    4.218_463_358_204_948e-1,
    -2.820_767_439_740_514e-1,
    5.641_895_067_754_075e-1,
];

#[inline(always)]
fn horner(c: &[f32], x: f32) -> f32 {
    c[1..].iter().fold(c[0], |p, &ci| p.mul_add(x, ci))
}

/// Complementary error function in float32, as XLA decomposes lax.erfc (Cephes erfcf):
/// `1 - x T(x²)` for |x| < 1, else `exp(-x²)/|x| * P or R(1/x²)`, reflected as `2 - erfc(-x)`
/// for negative x; 0 once x² exceeds float32's largest log (88.72). Accurate where
/// `1 - erf(x)` would cancel (the tail of gelu(approximate=false) at large negative x).
#[inline(always)]
pub fn erfc(x: f32) -> f32 {
    let ax = x.abs();
    if ax < 1.0 {
        return 1.0 - x * horner(&ERF_T, x * x);
    }
    let z = -x * x;
    let q = 1.0 / ax;
    let y = q * q;
    let e = exp(z) * q;
    let p = if ax < 2.0 {
        horner(&ERFC_P, y)
    } else {
        horner(&ERFC_R, y)
    };
    let r = if z < -88.722_839_052_068_35 {
        0.0
    } else {
        e * p
    };
    if x < 0.0 {
        2.0 - r
    } else {
        r
    }
}

/// expm1 in float32 as XLA's elemental emitter decomposes it (`EmitExpm1`): `exp(x) - 1` for
/// |x| > 0.5; else `tanh(x/2) * (exp(x) + 1)`, which keeps the relative accuracy that the
/// subtraction would cancel away; x itself once x/2 underflows to zero. Uses the same `exp` and
/// `tanh` as the rest of this file.
#[inline(always)]
pub(crate) fn expm1(x: f32) -> f32 {
    let half = x * 0.5;
    let e = exp(x);
    let small = tanh(half) * (e + 1.0);
    let r = if x.abs() > 0.5 { e - 1.0 } else { small };
    if half == 0.0 {
        x
    } else {
        r
    }
}

/// Inputs below this magnitude take the vectorised path of sin/cos: the quadrant count stays
/// under 2^20, so `n * PIO2_1` (a 33-bit constant) is exact and the three-part reduction
/// keeps ~2^-80 absolute accuracy. Larger (and non-finite) inputs go to libm in a second pass.
const TRIG_FAST_MAX: f32 = 262_144.0;

/// pi/2 in three pieces (fdlibm's `pio2_1`, `pio2_2`, `pio2_3`): the first two have 33
/// significant bits so their products with a small integer are exact.
const PIO2_1: f64 = 1.570_796_326_734_125_614_17e0;
const PIO2_2: f64 = 6.077_100_506_303_965_976_6e-11;
const PIO2_3: f64 = 2.022_266_248_711_166_455_8e-21;

/// sin(r) and cos(r) for |r| <= pi/4 in double precision: fdlibm's minimax polynomials (error
/// below 2^-58), far more than float32 needs, so the rounded result is the float32 nearest to
/// the true value except in rare double-rounding ties.
#[inline(always)]
fn sincos_kernel(r: f64) -> (f64, f64) {
    const S: [f64; 6] = [
        -1.666_666_666_666_663_243_48e-1,
        8.333_333_333_322_489_461_24e-3,
        -1.984_126_982_985_794_931_34e-4,
        2.755_731_370_707_006_767_89e-6,
        -2.505_076_025_340_686_341_95e-8,
        1.589_690_995_211_550_102_21e-10,
    ];
    const C: [f64; 6] = [
        4.166_666_666_666_660_190_37e-2,
        -1.388_888_888_887_410_957_49e-3,
        2.480_158_728_947_672_941_78e-5,
        -2.755_731_435_139_066_330_35e-7,
        2.087_572_321_298_174_827_90e-9,
        -1.135_964_755_778_819_482_65e-11,
    ];
    let z = r * r;
    let ps = S[..5].iter().rev().fold(S[5], |p, &c| p * z + c);
    let pc = C[..5].iter().rev().fold(C[5], |p, &c| p * z + c);
    let s = r + r * z * ps;
    let c = 1.0 - 0.5 * z + z * z * pc;
    (s, c)
}

/// sin (`cos_shift` 0) or cos (1) of a float32 with |x| < TRIG_FAST_MAX, branch-free: reduce
/// by the nearest multiple n of pi/2, then pick sin or cos of the remainder and its sign from
/// the quadrant `(n + cos_shift) mod 4`.
#[inline(always)]
fn trig_fast(x: f32, cos_shift: i64) -> f32 {
    const ROUND: f64 = 6_755_399_441_055_744.0; // 1.5 * 2^52: adding it rounds to an integer
    let xd = x as f64;
    let t = xd * std::f64::consts::FRAC_2_PI + ROUND;
    let n = t.to_bits() as i64; // low bits hold n (two's complement) since |n| < 2^51
    let nf = t - ROUND;
    let r = ((xd - nf * PIO2_1) - nf * PIO2_2) - nf * PIO2_3;
    let (s, c) = sincos_kernel(r);
    let q = n.wrapping_add(cos_shift) & 3;
    let v = if q & 1 == 0 { s } else { c };
    let v = if q & 2 == 0 { v } else { -v };
    v as f32
}

/// Vectorised pass over every element, then libm (double precision, rounded) for the few
/// elements outside the fast range (huge, infinite or NaN), so their results match too.
fn trig(src: &[f32], dst: &mut [f32], cos_shift: i64) {
    trig_pass(src, dst, cos_shift);
    let src = &src[..dst.len()];
    for (z, &v) in dst.iter_mut().zip(src) {
        if v.abs() >= TRIG_FAST_MAX || v.is_nan() {
            let d = v as f64;
            *z = if cos_shift == 0 { d.sin() } else { d.cos() } as f32;
        }
    }
}

fast_fn!(fn trig_pass(src: &[f32], dst: &mut [f32], cos_shift: i64) {
    let src = &src[..dst.len()];
    for (z, &v) in dst.iter_mut().zip(src) {
        // Clamped so out-of-range lanes compute something harmless; the caller overwrites them.
        let c = if v.abs() < TRIG_FAST_MAX { v } else { 0.0 };
        *z = trig_fast(c, cos_shift);
    }
});

fn k_sin(src: &[f32], dst: &mut [f32]) {
    trig(src, dst, 0);
}

fn k_cos(src: &[f32], dst: &mut [f32]) {
    trig(src, dst, 1);
}
