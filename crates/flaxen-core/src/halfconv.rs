//! Conversions between float32 (and f64) and the 2-byte floats, bit for bit as JAX 0.10.2 does
//! them on CPU (checked against `__test__/golden/dtypes_half.json`):
//!
//! * float32 → bfloat16 and → float16 round to nearest, ties to even; values beyond float16's
//!   range (|x| ≥ 65520) become ±inf; float16 subnormals are exact multiples of 2^-24.
//! * NaN → bfloat16 is the quiet NaN `0x7fc0` with the sign kept (XLA drops the payload);
//!   NaN → float16 keeps the sign and the top 10 payload bits and sets the quiet bit (the
//!   hardware `vcvtps2ph` rule, which XLA's CPU code uses).
//! * bfloat16 → float32 is exact (a shift; signalling NaNs stay signalling); float16 → float32
//!   is exact with NaNs quieted (`vcvtph2ps`).
//! * f64 → float16 rounds directly (numpy's `astype`, what `jnp.array(x, float16)` and
//!   `jnp.full` do); f64 → bfloat16 rounds through float32 (ml_dtypes' conversion).
//!
//! The slice functions are written branch-free so the compiler vectorises them.

/// float32 → bfloat16 bits (round to nearest even; NaN → ±0x7fc0).
#[inline(always)]
pub fn f32_to_bf16(x: f32) -> u16 {
    let b = x.to_bits();
    let rounded = (b.wrapping_add(0x7fff + ((b >> 16) & 1)) >> 16) as u16;
    let nan = ((b >> 16) as u16 & 0x8000) | 0x7fc0;
    if (b & 0x7fff_ffff) > 0x7f80_0000 {
        nan
    } else {
        rounded
    }
}

/// bfloat16 bits → float32 (exact).
#[inline(always)]
pub fn bf16_to_f32(h: u16) -> f32 {
    f32::from_bits((h as u32) << 16)
}

/// float32 → float16 bits (round to nearest even, overflow to ±inf, subnormals rounded, NaN
/// quieted with its top payload bits).
#[inline(always)]
pub fn f32_to_f16(x: f32) -> u16 {
    let b = x.to_bits();
    let sign = ((b >> 16) & 0x8000) as u16;
    let a = b & 0x7fff_ffff;
    if a > 0x7f80_0000 {
        return sign | 0x7e00 | ((a >> 13) & 0x3ff) as u16;
    }
    if a >= 0x477f_f000 {
        // 65520 = the largest float16 plus half an ulp: the tie rounds to inf (0x7bff is odd).
        return sign | 0x7c00;
    }
    if a >= 0x3880_0000 {
        // Normal (≥ 2^-14): rebias the exponent (127 → 15), round 23 mantissa bits to 10.
        let v = a - 0x3800_0000;
        return sign | ((v + 0xfff + ((v >> 13) & 1)) >> 13) as u16;
    }
    if a < 0x3300_0000 {
        // Below 2^-25 (half the smallest subnormal; 2^-25 itself ties to 0).
        return sign;
    }
    // Subnormal: round m · 2^(e-150) to a multiple of 2^-24.
    let e = a >> 23;
    let m = (a & 0x7f_ffff) | 0x80_0000;
    let shift = 126 - e;
    let q = m >> shift;
    let rem = m & ((1 << shift) - 1);
    let half = 1 << (shift - 1);
    let q = q + (rem > half || (rem == half && q & 1 == 1)) as u32;
    sign | q as u16
}

/// float16 bits → float32 (exact; NaN quieted, payload kept).
#[inline(always)]
pub fn f16_to_f32(h: u16) -> f32 {
    let sign = ((h & 0x8000) as u32) << 16;
    let e = ((h >> 10) & 0x1f) as u32;
    let m = (h & 0x3ff) as u32;
    if e == 0x1f {
        let quiet = if m != 0 { 0x40_0000 } else { 0 };
        return f32::from_bits(sign | 0x7f80_0000 | (m << 13) | quiet);
    }
    if e == 0 {
        // Zero or subnormal: m · 2^-24, exact in float32.
        let v = m as f32 * (1.0 / 16_777_216.0);
        return f32::from_bits(sign | v.to_bits());
    }
    f32::from_bits(sign | ((e + 112) << 23) | (m << 13))
}

/// f64 → float16 bits, rounded directly (numpy's conversion): round to nearest even, ±inf from
/// 65520, NaN keeps its sign and top 10 payload bits (numpy sets the lowest one if those are 0).
pub fn f64_to_f16(x: f64) -> u16 {
    let b = x.to_bits();
    let sign = ((b >> 48) & 0x8000) as u16;
    let a = b & 0x7fff_ffff_ffff_ffff;
    if a > 0x7ff0_0000_0000_0000 {
        let p = ((a >> 42) & 0x3ff) as u16;
        return sign | 0x7c00 | if p == 0 { 1 } else { p };
    }
    if a >= 0x40ef_fe00_0000_0000 {
        // 65520 and above (and inf).
        return sign | 0x7c00;
    }
    if a >= 0x3f10_0000_0000_0000 {
        // Normal (≥ 2^-14): rebias 1023 → 15, round 52 mantissa bits to 10.
        let v = a - (1008u64 << 52);
        let r = (v + (1 << 41) - 1 + ((v >> 42) & 1)) >> 42;
        return sign | r as u16;
    }
    if a <= 0x3e60_0000_0000_0000 {
        // At most 2^-25: rounds to zero.
        return sign;
    }
    let e = (a >> 52) as u32; // biased; 998..=1008
    let m = (a & 0xf_ffff_ffff_ffff) | (1 << 52);
    // value = m · 2^(e - 1075); in units of 2^-24: m · 2^(e - 1051); shift = 1051 - e.
    let shift = 1051 - e;
    let q = m >> shift;
    let rem = m & ((1u64 << shift) - 1);
    let half = 1u64 << (shift - 1);
    let q = q + (rem > half || (rem == half && q & 1 == 1)) as u64;
    sign | q as u16
}

/// f64 → bfloat16 bits, through float32 (ml_dtypes' conversion; JS numbers given for bfloat16).
#[inline(always)]
pub fn f64_to_bf16(x: f64) -> u16 {
    f32_to_bf16(x as f32)
}

/// The float32 nearest `x` among bfloat16 values (`x` rounded to bfloat16 and back).
#[inline(always)]
pub fn round_bf16(x: f32) -> f32 {
    bf16_to_f32(f32_to_bf16(x))
}

/// The float32 nearest `x` among float16 values.
#[inline(always)]
pub fn round_f16(x: f32) -> f32 {
    f16_to_f32(f32_to_f16(x))
}

/// `dst[i] = widen(src[i])` for bfloat16 bits.
pub fn widen_bf16(src: &[u16], dst: &mut [f32]) {
    for (d, &s) in dst.iter_mut().zip(src) {
        *d = bf16_to_f32(s);
    }
}

/// `dst[i] = widen(src[i])` for float16 bits.
pub fn widen_f16(src: &[u16], dst: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if has_f16c() {
        // SAFETY: F16C (and AVX) were detected.
        return unsafe { widen_f16_f16c(src, dst) };
    }
    for (d, &s) in dst.iter_mut().zip(src) {
        *d = f16_to_f32(s);
    }
}

/// `dst[i] = round(src[i])` to bfloat16 bits.
pub fn narrow_bf16(src: &[f32], dst: &mut [u16]) {
    for (d, &s) in dst.iter_mut().zip(src) {
        *d = f32_to_bf16(s);
    }
}

/// `dst[i] = round(src[i])` to float16 bits.
pub fn narrow_f16(src: &[f32], dst: &mut [u16]) {
    #[cfg(target_arch = "x86_64")]
    if has_f16c() {
        // SAFETY: F16C (and AVX) were detected.
        return unsafe { narrow_f16_f16c(src, dst) };
    }
    for (d, &s) in dst.iter_mut().zip(src) {
        *d = f32_to_f16(s);
    }
}

/// Whether the CPU converts float16 in hardware (F16C); below the AVX2 level (`FLAXEN_CPU`) the
/// portable code runs, so tests can exercise it. The results are the same either way.
#[cfg(target_arch = "x86_64")]
pub(crate) fn has_f16c() -> bool {
    use std::sync::atomic::{AtomicU8, Ordering};
    static F16C: AtomicU8 = AtomicU8::new(0);
    match F16C.load(Ordering::Relaxed) {
        1 => false,
        2 => true,
        _ => {
            let yes = std::is_x86_feature_detected!("f16c")
                && std::is_x86_feature_detected!("avx")
                && crate::cpu::level() >= crate::cpu::Level::Avx2;
            F16C.store(if yes { 2 } else { 1 }, Ordering::Relaxed);
            yes
        }
    }
}

/// # Safety
/// F16C and AVX must be available.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx,f16c")]
unsafe fn widen_f16_f16c(src: &[u16], dst: &mut [f32]) {
    use std::arch::x86_64::*;
    let n = src.len().min(dst.len());
    let mut i = 0;
    // SAFETY: i + 8 <= n for every vector access.
    unsafe {
        while i + 8 <= n {
            let h = _mm_loadu_si128(src.as_ptr().add(i) as *const __m128i);
            _mm256_storeu_ps(dst.as_mut_ptr().add(i), _mm256_cvtph_ps(h));
            i += 8;
        }
    }
    for j in i..n {
        dst[j] = f16_to_f32(src[j]);
    }
}

/// # Safety
/// F16C and AVX must be available.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx,f16c")]
unsafe fn narrow_f16_f16c(src: &[f32], dst: &mut [u16]) {
    use std::arch::x86_64::*;
    let n = src.len().min(dst.len());
    let mut i = 0;
    // SAFETY: i + 8 <= n for every vector access.
    unsafe {
        while i + 8 <= n {
            let v = _mm256_loadu_ps(src.as_ptr().add(i));
            let h = _mm256_cvtps_ph::<_MM_FROUND_TO_NEAREST_INT>(v);
            _mm_storeu_si128(dst.as_mut_ptr().add(i) as *mut __m128i, h);
            i += 8;
        }
    }
    for j in i..n {
        dst[j] = f32_to_f16(src[j]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The value a bfloat16 or float16 bit pattern stands for, as f64 (reference decoder).
    fn f16_value(h: u16) -> f64 {
        let s = if h & 0x8000 != 0 { -1.0 } else { 1.0 };
        let e = ((h >> 10) & 0x1f) as i32;
        let m = (h & 0x3ff) as f64;
        match e {
            0 => s * m * 2f64.powi(-24),
            0x1f if m == 0.0 => s * f64::INFINITY,
            0x1f => f64::NAN,
            _ => s * (1.0 + m / 1024.0) * 2f64.powi(e - 15),
        }
    }

    /// Reference: the float16 nearest `x` by exhaustive comparison with its neighbours.
    fn nearest_f16(x: f64) -> u16 {
        if x.is_nan() {
            unreachable!()
        }
        let sign: u16 = if x.is_sign_negative() { 0x8000 } else { 0 };
        let a = x.abs();
        if a >= 65520.0 {
            return sign | 0x7c00;
        }
        // Candidates: all finite magnitudes; pick the nearest, ties to even.
        let mut best = 0u16;
        let mut best_d = f64::INFINITY;
        for h in 0..0x7c00u16 {
            let d = (f16_value(h) - a).abs();
            if d < best_d || (d == best_d && h & 1 == 0) {
                best = h;
                best_d = d;
            }
        }
        sign | best
    }

    #[test]
    fn f16_widening_is_exact_and_roundtrips() {
        for h in 0..=u16::MAX {
            let f = f16_to_f32(h);
            let v = f16_value(h);
            if v.is_nan() {
                assert!(f.is_nan());
                // Quiet bit set, payload kept.
                assert_eq!(f.to_bits() & 0x40_0000, 0x40_0000);
                assert_eq!((f.to_bits() >> 13) & 0x1ff, (h & 0x1ff) as u32);
                assert_eq!(f32_to_f16(f), h | 0x200);
            } else {
                assert_eq!(f as f64, v, "{h:#x}");
                assert_eq!(f.is_sign_negative(), h & 0x8000 != 0);
                assert_eq!(f32_to_f16(f), h, "{h:#x}");
                assert_eq!(f64_to_f16(f as f64), h, "{h:#x}");
            }
        }
    }

    #[test]
    fn bf16_widening_is_exact_and_roundtrips() {
        for h in 0..=u16::MAX {
            let f = bf16_to_f32(h);
            assert_eq!(f.to_bits(), (h as u32) << 16);
            if f.is_nan() {
                assert_eq!(f32_to_bf16(f), (h & 0x8000) | 0x7fc0);
            } else {
                assert_eq!(f32_to_bf16(f), h);
            }
        }
    }

    #[test]
    fn f32_to_f16_rounds_to_nearest_even() {
        // Every float16 interval's midpoint, and points just around it, across the range.
        for h in 0..0x7bffu16 {
            let lo = f16_value(h);
            let hi = f16_value(h + 1);
            let mid = (lo + hi) / 2.0;
            let even = if h & 1 == 0 { h } else { h + 1 };
            for (x, want) in [(mid, even), (mid.next_down_f32(), h), (mid.next_up_f32(), h + 1)] {
                let xf = x as f32;
                assert_eq!(xf as f64, x, "midpoints of float16 are float32 values");
                assert_eq!(f32_to_f16(xf), want, "{x} (between {h:#x} and {:#x})", h + 1);
                assert_eq!(f32_to_f16(-xf), want | 0x8000);
                assert_eq!(f64_to_f16(x), want);
            }
        }
        assert_eq!(f32_to_f16(65519.996), 0x7bff);
        assert_eq!(f32_to_f16(65520.0), 0x7c00);
        assert_eq!(f32_to_f16(-1e10), 0xfc00);
        assert_eq!(f32_to_f16(f32::INFINITY), 0x7c00);
        assert_eq!(f32_to_f16(-0.0), 0x8000);
        assert_eq!(f32_to_f16(f32::from_bits(1)), 0);
        assert_eq!(f32_to_f16(f32::from_bits(0x3300_0000)), 0, "2^-25 ties to 0");
        assert_eq!(f32_to_f16(f32::from_bits(0x3300_0001)), 1);
        assert_eq!(f32_to_f16(f32::from_bits(0x387f_c000)), 0x3ff);
        assert_eq!(f32_to_f16(f32::from_bits(0x387f_f000)), 0x400, "the largest subnormal rounds up into the normals");
        // NaN payloads as JAX gives them.
        for (x, want) in [(0x7f80_0001u32, 0x7e00u16), (0x7fc0_0001, 0x7e00), (0xffc1_2345, 0xfe09), (0x7fa0_0000, 0x7f00), (0x7f81_2345, 0x7e09)] {
            assert_eq!(f32_to_f16(f32::from_bits(x)), want, "{x:#x}");
        }
    }

    #[test]
    fn f64_to_f16_rounds_directly() {
        // 1 + 2^-11 + 2^-30: through float32 it would be a tie (→ 1.0); directly it rounds up.
        assert_eq!(f64_to_f16(1.0 + 2f64.powi(-11) + 2f64.powi(-30)), 0x3c01);
        assert_eq!(f32_to_f16((1.0 + 2f64.powi(-11) + 2f64.powi(-30)) as f32), 0x3c00);
        assert_eq!(f64_to_f16(2f64.powi(-25)), 0);
        assert_eq!(f64_to_f16(2f64.powi(-25) * (1.0 + f64::EPSILON)), 1);
        assert_eq!(f64_to_f16(65519.99999), 0x7bff);
        assert_eq!(f64_to_f16(f64::NAN), 0x7e00);
        assert_eq!(f64_to_f16(-f64::NAN), 0xfe00);
        for x in [0.1, -3.75, 1e-5, 6.1e-5, 1e-7, 3.0e4, 12345.678] {
            assert_eq!(f64_to_f16(x), nearest_f16(x), "{x}");
        }
    }

    #[test]
    fn f32_to_bf16_rounds_to_nearest_even() {
        for (x, want) in [
            (0x3f80_8000u32, 0x3f80u16),
            (0x3f81_8000, 0x3f82),
            (0x3f80_8001, 0x3f81),
            (0x7f7f_ffff, 0x7f80),
            (0x7f7f_7fff, 0x7f7f),
            (0x8000_0000, 0x8000),
            (0x0000_8000, 0x0000),
            (0x0001_8000, 0x0002),
            (0x7f80_0001, 0x7fc0),
            (0xffc1_2345, 0xffc0),
        ] {
            assert_eq!(f32_to_bf16(f32::from_bits(x)), want, "{x:#x}");
        }
        // f64 goes through float32: 1 + 2^-8 + 2^-30 is a float32 tie, rounding to 1.0.
        assert_eq!(f64_to_bf16(1.0 + 2f64.powi(-8) + 2f64.powi(-30)), 0x3f80);
    }

    #[test]
    fn slices_match_scalars() {
        let xs: Vec<f32> = (0..70_000u32).map(|i| f32::from_bits(i.wrapping_mul(2_654_435_761))).collect();
        let mut h = vec![0u16; xs.len()];
        let mut back = vec![0f32; xs.len()];
        narrow_f16(&xs, &mut h);
        for (x, &v) in xs.iter().zip(&h) {
            assert_eq!(v, f32_to_f16(*x), "{:#x}", x.to_bits());
        }
        widen_f16(&h, &mut back);
        for (b, &v) in back.iter().zip(&h) {
            assert_eq!(b.to_bits(), f16_to_f32(v).to_bits());
        }
        narrow_bf16(&xs, &mut h);
        for (x, &v) in xs.iter().zip(&h) {
            assert_eq!(v, f32_to_bf16(*x));
        }
        widen_bf16(&h, &mut back);
        for (b, &v) in back.iter().zip(&h) {
            assert_eq!(b.to_bits(), bf16_to_f32(v).to_bits());
        }
    }

    trait Neighbours {
        fn next_down_f32(self) -> f64;
        fn next_up_f32(self) -> f64;
    }
    impl Neighbours for f64 {
        fn next_down_f32(self) -> f64 {
            let f = self as f32;
            f32::from_bits(if f > 0.0 { f.to_bits() - 1 } else { 0x8000_0001 }) as f64
        }
        fn next_up_f32(self) -> f64 {
            let f = self as f32;
            f32::from_bits(f.to_bits() + 1) as f64
        }
    }
}
