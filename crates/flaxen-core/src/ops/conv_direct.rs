//! Direct convolution for shallow windows (kh·kw·C ≤ 32 floats: a network's first layer over
//! 1 or 3 input features). Its products are too shallow for sgemm (the microkernel would mostly
//! store its accumulators) and an im2col gather per output position costs more than the
//! multiply-adds. Per output line, the kh input lines under it are copied once, padded with
//! zeros, into a small block; every window tap is then a fixed offset from its output
//! position's first input float, and each 8 output positions × 32 features are summed in 16
//! registers over the taps (one broadcast and two FMAs per tap). Sums run over the taps in
//! window order (kh, kw, C), as the sgemm paths do.

use std::arch::x86_64::*;
use std::cell::RefCell;

use crate::ops::conv::{copy_padded, Geometry};
use crate::ops::fused::Epilogue;
use crate::ops::simd::{lanes, store};
use crate::shape::numel;

/// Deepest window taken (floats per output position's window).
const MAX_DEPTH: usize = 32;
/// Output positions per register block.
const PX: usize = 8;

thread_local! {
    static LINES: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// Whether this path serves the convolution: two spatial axes, no groups or input dilation, a
/// window of at most `MAX_DEPTH` floats, and AVX-512.
pub(super) fn applies(geo: &Geometry) -> bool {
    geo.window.len() == 2 && geo.cg == geo.c && geo.spec.lhs_dilation.iter().all(|&d| d == 1) && geo.kdepth() <= MAX_DEPTH && crate::cpu::has_avx512f()
}

/// What every line needs: the padded input span per window row and each tap's offset in the
/// block of padded lines.
struct LineTaps {
    /// Input pixels per padded line: (ol − 1)·stride + (kw − 1)·dilation + 1.
    span: usize,
    /// The padded line's first pixel (negative in the padding).
    first: i64,
    taps: [usize; MAX_DEPTH],
}

/// The convolution into `y` ([rows, O], every element written), in parallel over output
/// lines; `tail` runs on each line once it is final.
pub(super) fn conv(geo: &Geometry, x: &[f32], w: &[f32], y: &mut [f32], tail: Option<&Epilogue>) {
    let (ol, o, c, kw, l) = (geo.line_len(), geo.o, geo.c, geo.kw(), geo.last());
    let (stride, rd) = (geo.spec.strides[l], geo.spec.rhs_dilation[l]);
    let span = (ol - 1) * stride + (kw - 1) * rd + 1;
    let mut taps = [0; MAX_DEPTH];
    for (k, t) in taps.iter_mut().enumerate().take(geo.kdepth()) {
        let (ko, kj, ci) = (k / (kw * c), k / c % kw, k % c);
        *t = (ko * span + kj * rd) * c + ci;
    }
    let plan = LineTaps { span, first: -geo.spec.padding[l].0, taps };
    // A bias (and relu) epilogue is applied to the accumulators: no second pass over the line.
    let bias = tail.and_then(|t| t.row_bias(o));
    let tail = if bias.is_some() { None } else { tail };
    // Lines per task: about 64 Ki outputs, so small layers stay on one thread.
    let lines = (65536 / (ol * o).max(1)).max(1);
    crate::par::chunks(y, lines * ol * o, |start, out| {
        LINES.with(|buf| {
            let mut buf = buf.borrow_mut();
            for (i, line_out) in out.chunks_mut(ol * o).enumerate() {
                padded_lines(geo, x, start / (ol * o) + i, plan.span, plan.first, &mut buf);
                // SAFETY: AVX-512F (`applies`); the block holds kh padded lines of span pixels,
                // so every tap of every position is inside it; the kernel has kdepth rows of o,
                // line_out ol rows of o.
                unsafe { line_product(geo, &plan, &buf, w, bias, line_out) };
                if let Some(tail) = tail {
                    tail.apply(start + i * ol * o, line_out);
                }
            }
        })
    });
}

/// The kh input lines under output line `line`, pixels first..first+span each, zeros in the
/// padding, one after another in `buf` (also the depthwise kernel's).
pub(super) fn padded_lines(geo: &Geometry, x: &[f32], line: usize, span: usize, first: i64, buf: &mut Vec<f32>) {
    let (c, wl) = (geo.c, geo.in_len());
    let kh = numel(geo.window) / geo.kw();
    // Every float is written below (copied, or zero in the padding): no clearing pass first.
    buf.resize(kh * span * c, 0.0);
    geo.for_outer(line, |ko, base| {
        let dst = &mut buf[ko * span * c..(ko + 1) * span * c];
        match base {
            Some(base) => copy_padded(&x[base * wl * c..(base + 1) * wl * c], c, first, dst),
            None => dst.fill(0.0),
        }
    });
}

/// `out[p, :] = Σ_k tap_k(p) · w[k, :]` for the line's positions, then `bias` (the
/// epilogue's `row_bias`: the same operations as the separate pass would do).
///
/// # Safety
/// AVX-512F; `lines` holds the kh padded lines `padded_lines` made for this geometry, `w` the
/// kdepth × o kernel, `out` the line's ol × o outputs.
#[target_feature(enable = "avx512f")]
unsafe fn line_product(geo: &Geometry, plan: &LineTaps, lines: &[f32], w: &[f32], bias: Option<(&[f32], bool, bool)>, out: &mut [f32]) {
    let (ol, o, kd) = (geo.line_len(), geo.o, geo.kdepth());
    let step = geo.spec.strides[geo.last()] * geo.c;
    assert!(w.len() >= kd * o && out.len() >= ol * o && plan.taps[..kd].iter().all(|&t| (ol - 1) * step + t < lines.len()));
    assert!(bias.is_none_or(|(b, ..)| b.len() == o));
    let k = Kernel { taps: &plan.taps[..kd], w: w.as_ptr(), o, step, bias };
    for o0 in (0..o).step_by(32) {
        let mut p0 = 0;
        // SAFETY (both): positions p0..p0+N < ol, columns o0.. < o; the taps of positions < ol
        // lie inside `lines` (asserted).
        while p0 + PX <= ol {
            unsafe { k.block::<PX>(lines.as_ptr(), out.as_mut_ptr(), p0, o0) };
            p0 += PX;
        }
        for p in p0..ol {
            unsafe { k.block::<1>(lines.as_ptr(), out.as_mut_ptr(), p, o0) };
        }
    }
}

struct Kernel<'a> {
    taps: &'a [usize],
    w: *const f32,
    o: usize,
    /// Floats between consecutive positions' first input floats.
    step: usize,
    /// o floats added to every output row (as the left operand when `.1`), then relu if `.2`.
    bias: Option<(&'a [f32], bool, bool)>,
}

impl Kernel<'_> {
    /// Output positions p0..p0+N, columns o0..o0+32 (masked to o), summed in 2N registers.
    ///
    /// # Safety
    /// AVX-512F; every tap of positions p0..p0+N is inside `lines`; `out` holds those
    /// positions' rows of o floats; `w` is the kdepth × o kernel.
    #[target_feature(enable = "avx512f")]
    #[inline]
    unsafe fn block<const N: usize>(&self, lines: *const f32, out: *mut f32, p0: usize, o0: usize) {
        let o = self.o;
        let (m0, m1) = (lanes(o - o0), lanes((o - o0).saturating_sub(16)));
        // SAFETY: the caller's contract; masked loads and stores touch only lanes of columns
        // < o (a mask of 0 touches nothing; `wrapping_add` keeps such an unused address
        // computation defined).
        unsafe {
            let x = lines.add(p0 * self.step);
            let mut acc = [[_mm512_setzero_ps(); 2]; N];
            for (k, &t) in self.taps.iter().enumerate() {
                let w0 = _mm512_maskz_loadu_ps(m0, self.w.add(k * o + o0));
                let w1 = _mm512_maskz_loadu_ps(m1, self.w.wrapping_add(k * o + o0 + 16));
                for (p, a) in acc.iter_mut().enumerate() {
                    let v = _mm512_set1_ps(*x.add(p * self.step + t));
                    a[0] = _mm512_fmadd_ps(v, w0, a[0]);
                    a[1] = _mm512_fmadd_ps(v, w1, a[1]);
                }
            }
            if let Some((b, left, relu)) = self.bias {
                let b = [_mm512_maskz_loadu_ps(m0, b.as_ptr().add(o0)), _mm512_maskz_loadu_ps(m1, b.as_ptr().wrapping_add(o0 + 16))];
                for a in acc.iter_mut() {
                    for (x, &bv) in a.iter_mut().zip(&b) {
                        // Operand order kept: with two NaNs x86 returns the first one's payload.
                        *x = if left { _mm512_add_ps(bv, *x) } else { _mm512_add_ps(*x, bv) };
                        if relu {
                            // Kept where not (x <= 0): x > 0 or NaN, as relu_f32.
                            *x = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask::<_CMP_NLE_UQ>(*x, _mm512_setzero_ps()), *x);
                        }
                    }
                }
            }
            for (p, a) in acc.iter().enumerate() {
                let dst = out.add((p0 + p) * o + o0);
                store(dst, m0, a[0]);
                store(dst.wrapping_add(16), m1, a[1]);
            }
        }
    }
}

