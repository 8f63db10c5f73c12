//! Runtime CPU feature dispatch for hot scalar loops. The crate is built for baseline x86-64
//! (no FMA), where `f32::mul_add` is a libm call per operation and threefry's rotates stay
//! scalar. `fast_fn!` compiles a kernel twice, once with AVX2+FMA, and picks at runtime.
//! Results are identical either way: a fused multiply-add is exact by definition, and Rust never
//! contracts or reassociates float operations on its own.

/// The widest instruction set the kernels may use. Every kernel has a portable version; the
/// AVX2+FMA (`fast_fn!`, F16C conversions) and AVX-512 (GEMM, matvec, conv, attention) ones
/// run only at their level or above.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Baseline = 1,
    Avx2 = 2,
    Avx512 = 3,
}

impl Level {
    pub fn name(self) -> &'static str {
        match self {
            Level::Baseline => "baseline",
            Level::Avx2 => "avx2",
            Level::Avx512 => "avx512",
        }
    }
}

/// Cached `level()`: 0 unknown, else a `Level` discriminant.
static LEVEL: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(0);

/// The level the kernels run at: what the CPU has, lowered by `FLAXEN_CPU` (`baseline`, `avx2`
/// or `avx512`; it never raises it) or by `FLAXEN_NO_SIMD` (= baseline). The variables exist so
/// tests and operators can force each fallback path on a machine that has them all. Read once.
#[inline]
pub fn level() -> Level {
    use std::sync::atomic::Ordering;
    match LEVEL.load(Ordering::Relaxed) {
        1 => Level::Baseline,
        2 => Level::Avx2,
        3 => Level::Avx512,
        _ => {
            // An unparsable FLAXEN_CPU counts as no cap here; the binding reports it at load.
            let cap = cap_from_env().ok().flatten().unwrap_or(Level::Avx512);
            let l = detect().min(cap);
            LEVEL.store(l as u8, Ordering::Relaxed);
            l
        }
    }
}

/// The cap the environment sets, or an E_ARG naming the variable and the values it takes.
pub fn cap_from_env() -> crate::error::Result<Option<Level>> {
    if std::env::var_os("FLAXEN_NO_SIMD").is_some() {
        return Ok(Some(Level::Baseline));
    }
    let Some(v) = std::env::var_os("FLAXEN_CPU") else { return Ok(None) };
    match v.to_str().map(str::trim) {
        Some("baseline") => Ok(Some(Level::Baseline)),
        Some("avx2") => Ok(Some(Level::Avx2)),
        Some("avx512") | Some("native") | Some("") => Ok(None),
        _ => Err(crate::error::Error::arg(format!(
            "FLAXEN_CPU: expected one of baseline, avx2, avx512, native, got {v:?}"
        ))),
    }
}

/// Whether to run the AVX2+FMA versions of `fast_fn!` kernels.
#[inline]
#[allow(dead_code)]
pub(crate) fn has_avx2_fma() -> bool {
    level() >= Level::Avx2
}

/// Whether to run the AVX-512 kernels (the GEMM microkernel, matvec, conv, attention).
#[inline]
pub(crate) fn has_avx512f() -> bool {
    level() >= Level::Avx512
}

/// What the CPU itself offers. AVX-512 kernels also use AVX2 and FMA instructions, so that level
/// asks for all three.
fn detect() -> Level {
    #[cfg(target_arch = "x86_64")]
    {
        let avx2 = std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma");
        if avx2 && std::is_x86_feature_detected!("avx512f") {
            Level::Avx512
        } else if avx2 {
            Level::Avx2
        } else {
            Level::Baseline
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        Level::Baseline
    }
}

/// Defines `fn name(args)` whose body is compiled both plainly and with AVX2+FMA; the call picks
/// the best version for the running CPU. Everything the body calls must be `#[inline(always)]`
/// (or small enough that LLVM inlines it) to benefit.
macro_rules! fast_fn {
    ($(#[$m:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $body:block) => {
        $(#[$m])*
        $vis fn $name($($arg: $ty),*) {
            #[inline(always)]
            fn generic($($arg: $ty),*) $body
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx2,fma")]
                unsafe fn fast($($arg: $ty),*) {
                    generic($($arg),*)
                }
                if $crate::cpu::has_avx2_fma() {
                    // SAFETY: the features were detected at runtime.
                    return unsafe { fast($($arg),*) };
                }
            }
            generic($($arg),*)
        }
    };
}
pub(crate) use fast_fn;
