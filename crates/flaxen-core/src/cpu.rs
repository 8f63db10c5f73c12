//! Runtime CPU feature dispatch for hot scalar loops. The crate is built for baseline x86-64
//! (no FMA), where `f32::mul_add` is a libm call per operation and threefry's rotates stay
//! scalar. `fast_fn!` compiles a kernel twice, once with AVX2+FMA, and picks at runtime.
//! Results are identical either way: a fused multiply-add is exact by definition, and Rust never
//! contracts or reassociates float operations on its own.

/// Cached answer of `has_avx2_fma`: 0 unknown, 1 no, 2 yes.
static FAST: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(0);

/// Whether to run the AVX2+FMA versions: the CPU has both and the environment variable
/// `FLAXEN_NO_SIMD` is unset (it exists so tests can exercise the plain versions). Read once.
#[inline]
#[allow(dead_code)]
pub(crate) fn has_avx2_fma() -> bool {
    use std::sync::atomic::Ordering;
    match FAST.load(Ordering::Relaxed) {
        1 => false,
        2 => true,
        _ => {
            let yes = detect() && std::env::var_os("FLAXEN_NO_SIMD").is_none();
            FAST.store(if yes { 2 } else { 1 }, Ordering::Relaxed);
            yes
        }
    }
}

/// Cached answer of `has_avx512f`: 0 unknown, 1 no, 2 yes.
static AVX512: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(0);

/// Whether to run the AVX-512 kernels (the GEMM microkernel, matvec): the CPU has AVX-512F and
/// `FLAXEN_NO_SIMD` is unset (then the portable paths run). Read once.
#[inline]
pub(crate) fn has_avx512f() -> bool {
    use std::sync::atomic::Ordering;
    match AVX512.load(Ordering::Relaxed) {
        1 => false,
        2 => true,
        _ => {
            #[cfg(target_arch = "x86_64")]
            let hw = std::is_x86_feature_detected!("avx512f");
            #[cfg(not(target_arch = "x86_64"))]
            let hw = false;
            let yes = hw && std::env::var_os("FLAXEN_NO_SIMD").is_none();
            AVX512.store(if yes { 2 } else { 1 }, Ordering::Relaxed);
            yes
        }
    }
}

fn detect() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
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
