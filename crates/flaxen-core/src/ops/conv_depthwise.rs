//! Depthwise convolution (one input feature per group, one output per input feature: MobileNet's
//! 3×3 layers), channels-last. Per output line, the input lines under it are copied once,
//! padded with zeros, as the direct kernel does (`conv_direct::padded_lines`); every window tap
//! of an output position is then a fixed offset, and 8 positions × 16 features are summed in 8
//! registers over the taps (a load of the tap's weights, then one load and one FMA per
//! position). Sums run over the taps in window order. Lines before: 9 taps per output pixel
//! went through index arithmetic, bounds checks and a load-add-store of the output each: 4–7
//! GFLOP/s at MobileNet's 112²×32.

use std::arch::x86_64::*;
use std::cell::RefCell;

use crate::ops::conv::Geometry;
use crate::ops::conv_direct::padded_lines;
use crate::ops::fused::Epilogue;
use crate::ops::simd::{lanes, store};

/// Output positions per register block.
const PX: usize = 8;

thread_local! {
    static LINES: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// Whether this path serves the convolution: depthwise with one output per input feature, no
/// input dilation, and AVX-512.
pub(super) fn applies(geo: &Geometry) -> bool {
    geo.cg == 1 && geo.og == 1 && geo.c > 1 && geo.spec.lhs_dilation.iter().all(|&d| d == 1) && crate::cpu::has_avx512f()
}

/// The convolution into `y` ([rows, C], every element written), in parallel over output lines;
/// `tail` runs on each line once it is final.
pub(super) fn conv(geo: &Geometry, x: &[f32], w: &[f32], y: &mut [f32], tail: Option<&Epilogue>) {
    let (ol, c, kw, l) = (geo.line_len(), geo.c, geo.kw(), geo.last());
    let (stride, rd) = (geo.spec.strides[l], geo.spec.rhs_dilation[l]);
    let span = (ol - 1) * stride + (kw - 1) * rd + 1;
    let first = -geo.spec.padding[l].0;
    // Lines per task: about 64 Ki outputs, so small layers stay on one thread.
    let lines = (65536 / (ol * c).max(1)).max(1);
    crate::par::chunks(y, lines * ol * c, |start, out| {
        LINES.with(|buf| {
            let mut buf = buf.borrow_mut();
            for (i, line_out) in out.chunks_mut(ol * c).enumerate() {
                padded_lines(geo, x, start / (ol * c) + i, span, first, &mut buf);
                // SAFETY: AVX-512F (`applies`); the block holds the window's padded lines of
                // `span` pixels, so every tap of every position is inside it; the kernel has a
                // row of c weights per tap, line_out ol rows of c.
                unsafe { line(geo, span, &buf, w, line_out) };
                if let Some(tail) = tail {
                    tail.apply(start + i * ol * c, line_out);
                }
            }
        })
    });
}

/// One output line from its padded input lines.
///
/// # Safety
/// AVX-512F; `lines` holds the window's padded lines of `span` pixels of c floats, `w` the
/// window × c kernel, `out` the line's ol × c outputs.
#[target_feature(enable = "avx512f")]
unsafe fn line(geo: &Geometry, span: usize, lines: &[f32], w: &[f32], out: &mut [f32]) {
    let (ol, c, kw, l) = (geo.line_len(), geo.c, geo.kw(), geo.last());
    let kh = geo.kdepth() / kw;
    let (step, rd) = (geo.spec.strides[l] * c, geo.spec.rhs_dilation[l] * c);
    assert!(lines.len() >= kh * span * c && w.len() >= kh * kw * c && out.len() >= ol * c && (ol - 1) * step + (kw - 1) * rd + c <= span * c);
    let taps: Vec<usize> = (0..kh).flat_map(|ko| (0..kw).map(move |kj| ko * span * c + kj * rd)).collect();
    for c0 in (0..c).step_by(16) {
        let mask = lanes(c - c0);
        let mut p0 = 0;
        // SAFETY (both): positions p0..p0+N < ol and features c0.. < c (masked); the taps of
        // positions < ol lie inside `lines` (asserted).
        while p0 + PX <= ol {
            unsafe { block::<PX>(&taps, lines.as_ptr().add(p0 * step + c0), step, w.as_ptr().add(c0), c, mask, out.as_mut_ptr().add(p0 * c + c0)) };
            p0 += PX;
        }
        for p in p0..ol {
            unsafe { block::<1>(&taps, lines.as_ptr().add(p * step + c0), step, w.as_ptr().add(c0), c, mask, out.as_mut_ptr().add(p * c + c0)) };
        }
    }
}

/// N positions (`x`: the first one's first tap, `step` floats apart) × the 16 features `mask`
/// keeps: out[p] = Σ_taps x[p·step + tap] · w[tap index · c].
///
/// # Safety
/// AVX-512F; every tap of the N positions is readable over the masked lanes, as are the
/// taps' weight rows; `out` holds N rows of c floats over those lanes.
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn block<const N: usize>(taps: &[usize], x: *const f32, step: usize, w: *const f32, c: usize, mask: u16, out: *mut f32) {
    // SAFETY: the caller's contract (masked lanes only).
    unsafe {
        let mut acc = [_mm512_setzero_ps(); N];
        for (k, &t) in taps.iter().enumerate() {
            let wv = _mm512_maskz_loadu_ps(mask, w.add(k * c));
            for (p, a) in acc.iter_mut().enumerate() {
                *a = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mask, x.add(p * step + t)), wv, *a);
            }
        }
        for (p, a) in acc.iter().enumerate() {
            store(out.add(p * c), mask, *a);
        }
    }
}
