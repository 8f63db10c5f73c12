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
//! AVX2+FMA, chosen at runtime), so the loops vectorise and the polynomials use hardware FMA.
//! The transcendentals follow XLA's CPU backend (JAX 0.10.2) operation for operation, fused
//! multiply-adds included, so they give its bits: `exp` is XLA's branch-free Cephes polynomial
//! (so sigmoid/silu/softmax vectorise too), `tanh` its float32 rational approximation
//! (`EmitFastTanh`), `log` its polynomial (`prng::erf::log`), `expm1` its decomposition, and
//! sin/cos glibc's sinf/cosf (which XLA calls). Large tensors are split into chunks run by
//! rayon (`par::chunks`).

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
    /// jnp.sin: glibc's sinf algorithm (what XLA's CPU backend calls), bit for bit.
    Sin,
    /// jnp.cos: glibc's cosf algorithm, bit for bit.
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

/// e^x in float32 exactly as XLA's CPU backend computes it (JAX 0.10.2: `llvm.exp` rewritten
/// to XLA's `exp.cc` intrinsic; operation order and fusion read off the jitted kernel's machine
/// code): clamp x to [-87.8, 88.8]; `n = floor(x log2(e) + 0.5)` clamped to [-127, 127];
/// Cody-Waite `r = x - n C1 - n C2` (two fused steps); Cephes' degree-5 polynomial
/// `1 + r + r² P(r)`, Horner steps fused; times `2^n` built from exponent bits (n = -127 gives
/// 0). XLA runs with denormals flushed, so a subnormal result is 0 here too (no input makes
/// the last product round up to the smallest normal from below, where flushing would differ).
/// NaN stays NaN (the clamps keep it). Bit-identical to XLA on every float32 input (see
/// `docs/architecture.md`).
#[inline(always)]
pub(crate) fn exp(x: f32) -> f32 {
    const C1: f32 = 0.693_359_375; // ln 2 high part (0x3f318000)
    const C2: f32 = -2.121_944_4e-4; // ln 2 - C1 (0xb95e8083)
    const P: [f32; 6] = [
        1.987_569_150_0e-4,
        1.398_199_950_7e-3,
        8.333_451_907_3e-3,
        4.166_579_589_4e-2,
        1.666_666_545_9e-1,
        0.5,
    ];
    let x = x.clamp(-87.8, 88.8);
    let n = x
        .mul_add(std::f32::consts::LOG2_E, 0.5)
        .floor()
        .clamp(-127.0, 127.0);
    let r = (-n).mul_add(C1, x);
    let r = (-n).mul_add(C2, r);
    let p = horner(&P, r);
    let y = p.mul_add(r * r, r) + 1.0;
    let scale = f32::from_bits(((n as i32) << 23).wrapping_add(0x3f80_0000) as u32);
    let e = y * scale;
    if e < f32::MIN_POSITIVE {
        0.0
    } else {
        e
    }
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
/// subtraction would cancel away; x itself once x/2 is zero. XLA runs with denormals flushed,
/// and the CPU flushes a product whose exact value is below the smallest normal even when it
/// would round up to it, so x/2 is zero for every |x| < 2^-125 (x = 2^-125 - 2^-149 included).
/// Over the same `exp` and `tanh` as the rest of this file, so it is bit-identical to XLA too.
#[inline(always)]
pub(crate) fn expm1(x: f32) -> f32 {
    let half = x * 0.5;
    let e = exp(x);
    let small = tanh(half) * (e + 1.0);
    let r = if x.abs() > 0.5 { e - 1.0 } else { small };
    if x.abs() < 2.0 * f32::MIN_POSITIVE {
        x
    } else {
        r
    }
}

// sin and cos. XLA's CPU backend (JAX 0.10.2) lowers them to `llvm.sin`/`llvm.cos`, which become
// calls to the C library's `sinf`/`cosf` per element. On Linux that is glibc's (2.28 and later,
// the ARM optimized-routines algorithm), in its FMA build on CPUs with FMA: the float is widened
// to double, reduced by the nearest multiple n of pi/2 and a short double polynomial evaluated,
// then rounded to float. Not correctly rounded (about 1% of results are 1 ulp from the nearest
// float), so the same steps, and the same fused multiply-adds, are followed here.

/// 2/pi * 2^24: `x * TRIG_INV_HPI` holds the quadrant in bits 24.. of its integer part.
const TRIG_INV_HPI: f64 = 10_680_707.430_881_744; // 0x1.45f306dc9c883p+23
const TRIG_HPI: f64 = std::f64::consts::FRAC_PI_2;
/// Cosine polynomial `1 + c1 z + c2 z² + (c3 + c4 z) z³` in z = r² (the C library's
/// coefficients, a minimax fit on [-pi/4, pi/4]).
const TRIG_C: [f64; 4] = [
    -4.999_999_972_510_822_4e-1, // -0x1.ffffffd0c621cp-2
    4.166_662_332_434_451_6e-2,  // 0x1.55553e1068f19p-5
    -1.388_676_379_437_604e-3,   // -0x1.6c087e89a359dp-10
    2.439_045_070_356_454_2e-5,  // 0x1.99343027bf8c3p-16
];
/// Sine polynomial `r + s1 r³ + (s2 + s3 z) r⁵` in z = r².
const TRIG_S: [f64; 3] = [
    -1.666_665_494_370_108_4e-1, // -0x1.555545995a603p-3
    8.332_178_146_138_854e-3,    // 0x1.1107605230bc4p-7
    -1.951_729_898_138_572_5e-4, // -0x1.994eb3774cf24p-13
];
/// Below this |x| (bits 0x39800000, 2^-12) sin x is x and cos x is 1 in float32.
const TRIG_TINY: u32 = 0x3980_0000;
/// From this |x| on (120.0) the one-step reduction loses accuracy: `trig_large` takes over.
const TRIG_FAST_END: u32 = 0x42f0_0000;

/// sin (`odd` false) or cos (`odd` true) of the reduced argument r in [-pi/4, pi/4] (already
/// multiplied by its quadrant's sign for sine), z = r², rounded to float32. `neg` negates the
/// cosine (quadrants 2 and 3); negating every coefficient is exact, so this equals evaluating
/// the negated coefficients as the C library does.
#[inline(always)]
fn trig_poly(r: f64, z: f64, odd: bool, neg: bool) -> f32 {
    let r3 = r * z;
    let s = z.mul_add(TRIG_S[2], TRIG_S[1]);
    let r5 = r3 * z;
    let sin = r5.mul_add(s, r3.mul_add(TRIG_S[0], r));
    let z2 = z * z;
    let c_hi = z.mul_add(TRIG_C[3], TRIG_C[2]);
    let c_lo = z.mul_add(TRIG_C[0], 1.0);
    let z3 = z2 * z;
    let cos = z3.mul_add(c_hi, z2.mul_add(TRIG_C[1], c_lo));
    let cos = if neg { -cos } else { cos };
    (if odd { cos } else { sin }) as f32
}

/// sin (`cos` false) or cos (true) of a float32 with |y| < 120, branch-free so slice loops
/// over it vectorise: n = round(y 2/pi) computed as the C library does (a scaled truncation),
/// `r = y - n pi/2` in one fused step, then the polynomial of quadrant n.
#[inline(always)]
fn trig_fast(y: f32, cos: bool) -> f32 {
    let x = y as f64;
    let n = (((x * TRIG_INV_HPI) as i32).wrapping_add(0x80_0000)) >> 24;
    let r = (-(n as f64)).mul_add(TRIG_HPI, x);
    let sign = if (n + 1) & 2 == 0 { 1.0 } else { -1.0 }; // quadrants 1 and 2 negate sine
    let v = trig_poly(r * sign, r * r, ((n & 1) != 0) ^ cos, n & 2 != 0);
    if y.to_bits() & 0x7fff_ffff < TRIG_TINY {
        if cos {
            1.0
        } else {
            y
        }
    } else {
        v
    }
}

/// The fraction bits of 2/pi (those of 4/pi, shifted) 8 more per entry, as the C library's
/// reduction table holds them: entry k is the 32 bits ending at bit 8(k+1) (the first three
/// entries shorter).
const TRIG_INV_PIO4: [u32; 24] = {
    const BYTES: [u8; 24] = [
        0xa2, 0xf9, 0x83, 0x6e, 0x4e, 0x44, 0x15, 0x29, 0xfc, 0x27, 0x57, 0xd1, 0xf5, 0x34, 0xdd,
        0xc0, 0xdb, 0x62, 0x95, 0x99, 0x3c, 0x43, 0x90, 0x41,
    ];
    let mut t = [0u32; 24];
    let mut k = 0;
    while k < 24 {
        let mut j = if k >= 3 { k - 3 } else { 0 };
        while j <= k {
            t[k] = (t[k] << 8) | BYTES[j] as u32;
            j += 1;
        }
        k += 1;
    }
    t
};

/// sin or cos of a finite float32 with |y| >= 120: the quadrant and remainder from an exact
/// fixed-point product of y's mantissa with 96 bits of 4/pi (2.62 fixed point), as the C
/// library does; NaN for infinities and NaN as `(y - y) / (y - y)`.
fn trig_large(y: f32, cos: bool) -> f32 {
    let bits = y.to_bits();
    if bits & 0x7fff_ffff >= 0x7f80_0000 {
        return (y - y) / (y - y);
    }
    let t = &TRIG_INV_PIO4[((bits >> 26) & 15) as usize..];
    let m = ((bits & 0xff_ffff) | 0x80_0000) << ((bits >> 23) & 7);
    let hi = m.wrapping_mul(t[0]) as u64;
    let mid = m as u64 * t[4] as u64;
    let lo = m as u64 * t[8] as u64;
    let f = ((lo >> 32) | (hi << 32)).wrapping_add(mid);
    let n = f.wrapping_add(1 << 61) >> 62;
    // The remainder in units of 2^-62 quadrants, times pi/2 * 2^-62 (exact scaling).
    let r = f.wrapping_sub(n << 62) as i64 as f64 * (TRIG_HPI / 4_611_686_018_427_387_904.0);
    let q = n.wrapping_add((bits >> 31) as u64); // quadrant including y's sign
    let sign = if q.wrapping_add(1) & 2 == 0 {
        1.0
    } else {
        -1.0
    };
    trig_poly(r * sign, r * r, ((n & 1) != 0) ^ cos, q & 2 != 0)
}

/// The vectorised pass over every element, then `trig_large` for the few elements outside the
/// fast range (|x| >= 120, infinite or NaN).
fn trig(src: &[f32], dst: &mut [f32], cos: bool) {
    trig_pass(src, dst, cos);
    let src = &src[..dst.len()];
    for (z, &v) in dst.iter_mut().zip(src) {
        if v.to_bits() & 0x7fff_ffff >= TRIG_FAST_END {
            *z = trig_large(v, cos);
        }
    }
}

fast_fn! {
    fn trig_pass(src: &[f32], dst: &mut [f32], cos: bool) {
        let src = &src[..dst.len()];
        for (z, &v) in dst.iter_mut().zip(src) {
            // Out-of-range lanes compute something harmless; the caller overwrites them.
            let c = if v.to_bits() & 0x7fff_ffff < TRIG_FAST_END { v } else { 0.0 };
            *z = trig_fast(c, cos);
        }
    }
}

fn k_sin(src: &[f32], dst: &mut [f32]) {
    trig(src, dst, false);
}

fn k_cos(src: &[f32], dst: &mut [f32]) {
    trig(src, dst, true);
}
