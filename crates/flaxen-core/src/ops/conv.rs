//! `lax.conv_general_dilated` in its channels-last form: lhs [N, *spatial, C], rhs
//! [*window, C/G, O] (Flax's NHWC / HWIO), out [N, *out_spatial, O], for 1 to 3 spatial axes,
//! with window strides, (lo, hi) padding (negative crops), lhs (input) and rhs (kernel)
//! dilation and G feature groups. Other layouts are transposes in front of it (`ts/lax.ts`).
//!
//! The products go through the sgemm microkernel (`conv_gemm.rs`, which lowers the convolution
//! to them); depthwise convolutions (one input feature per group) skip the product: each output
//! row adds its window's input rows, scaled. Both index the input by lines: an output line is
//! the outputs along the last spatial axis for a fixed batch and other spatial indices, and its
//! windows cover one input line per window position over the other axes
//! (`Geometry::for_outer`). 3×3 windows with unit strides (most of a ResNet) take
//! Winograd's F(2×2, 3×3) or F(4×4, 3×3) instead (`winograd.rs`): 2.25× or 4× fewer
//! multiply-adds; windows of at most 32 floats (first layers over 1 or 3 features) a direct
//! kernel (`conv_direct.rs`).

use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::ops::fused::Epilogue;
use crate::shape::{check_shape, numel};
use crate::tensor::Tensor;

/// The attributes of one convolution, per spatial axis.
#[derive(Clone, Debug)]
pub struct ConvSpec {
    pub strides: Vec<usize>,
    /// (lo, hi) per axis; negative values crop.
    pub padding: Vec<(i64, i64)>,
    pub lhs_dilation: Vec<usize>,
    pub rhs_dilation: Vec<usize>,
    pub groups: usize,
}

/// Output rows per parallel chunk of the depthwise path.
const DEPTHWISE_ROWS: usize = 128;

impl ConvSpec {
    /// Builds the spec from the op table's attributes, checked against `nsp` spatial axes.
    pub fn new(nsp: usize, strides: &[i64], padding: &[i64], lhs_dilation: &[i64], rhs_dilation: &[i64], groups: i64) -> Result<ConvSpec> {
        let positive = |v: &[i64], what: &str| -> Result<Vec<usize>> {
            if v.len() != nsp {
                return Err(Error::arg(format!("conv_general_dilated: {what} has {} entries; expected one per spatial axis ({nsp})", v.len())));
            }
            v.iter()
                .map(|&x| {
                    if (1..=1 << 30).contains(&x) {
                        Ok(x as usize)
                    } else {
                        Err(Error::arg(format!("conv_general_dilated: {what} must be positive integers, got {v:?}")))
                    }
                })
                .collect()
        };
        if padding.len() != 2 * nsp {
            return Err(Error::arg(format!(
                "conv_general_dilated: padding has {} entries; expected a (lo, hi) pair per spatial axis ({} entries)",
                padding.len(),
                2 * nsp
            )));
        }
        if padding.iter().any(|p| p.unsigned_abs() > 1 << 40) {
            return Err(Error::arg(format!("conv_general_dilated: padding {padding:?} is out of range")));
        }
        if !(1..=1 << 30).contains(&groups) {
            return Err(Error::arg(format!("conv_general_dilated: feature_group_count must be a positive integer, got {groups}")));
        }
        Ok(ConvSpec {
            strides: positive(strides, "window_strides")?,
            padding: padding.chunks_exact(2).map(|p| (p[0], p[1])).collect(),
            lhs_dilation: positive(lhs_dilation, "lhs_dilation")?,
            rhs_dilation: positive(rhs_dilation, "rhs_dilation")?,
            groups: groups as usize,
        })
    }

    /// Output size along axis `d` for an input of `n` and a window of `k`, as XLA computes it:
    /// the dilated, padded input against the dilated window (0 when the window does not fit).
    fn out_len(&self, d: usize, n: usize, k: usize) -> usize {
        let dilated_in = if n == 0 { 0 } else { ((n - 1) * self.lhs_dilation[d] + 1) as i64 };
        let padded = dilated_in + self.padding[d].0 + self.padding[d].1;
        let window = ((k.max(1) - 1) * self.rhs_dilation[d] + 1) as i64;
        if k == 0 || padded < window {
            0
        } else {
            ((padded - window) / self.strides[d] as i64 + 1) as usize
        }
    }
}

/// The output shape of `conv(lhs, rhs, spec)`, every argument checked.
pub fn conv_shape(lhs: &[usize], rhs: &[usize], spec: &ConvSpec) -> Result<Vec<usize>> {
    let nsp = spec.strides.len();
    if !(1..=3).contains(&nsp) || lhs.len() != nsp + 2 || rhs.len() != nsp + 2 {
        return Err(Error::shape(format!(
            "conv_general_dilated: lhs {lhs:?} and rhs {rhs:?} must both have rank {} (batch, {nsp} spatial, features); 1 to 3 spatial axes are supported",
            nsp + 2
        )));
    }
    let (c, ci, o, g) = (lhs[nsp + 1], rhs[nsp], rhs[nsp + 1], spec.groups);
    if c % g != 0 || c / g != ci {
        return Err(Error::shape(format!(
            "conv_general_dilated: lhs {lhs:?} has {c} input features and feature_group_count is {g}; rhs {rhs:?} must have {c}/{g} input features, has {ci}"
        )));
    }
    if o % g != 0 {
        return Err(Error::shape(format!("conv_general_dilated: rhs {rhs:?} has {o} output features, not a multiple of feature_group_count {g}")));
    }
    let mut out = vec![lhs[0]];
    out.extend((0..nsp).map(|d| spec.out_len(d, lhs[1 + d], rhs[d])));
    out.push(o);
    check_shape(&out, "conv_general_dilated: output")
}

/// The convolution (float32 operands; see the module docs for the layout).
pub fn conv(lhs: &Tensor, rhs: &Tensor, spec: &ConvSpec) -> Result<Tensor> {
    conv_with(lhs, rhs, spec, None)
}

/// The convolution with `tail` (a plan's fused epilogue: bias, activation) run on each region
/// of the output as soon as the region is final, while it is still in cache.
pub fn conv_with(lhs: &Tensor, rhs: &Tensor, spec: &ConvSpec, tail: Option<&Epilogue>) -> Result<Tensor> {
    for (t, what) in [(lhs, "lhs"), (rhs, "rhs")] {
        if t.dtype() != DType::F32 {
            return Err(Error::dtype(format!("conv_general_dilated: {what} has dtype {}; expected a float dtype", t.dtype())));
        }
    }
    let (ls, rs) = (lhs.shape(), rhs.shape());
    let out_shape = conv_shape(ls, rs, spec)?;
    if let Some(tail) = tail {
        tail.check(&out_shape, "conv_general_dilated")?;
    }
    let winograd = takes_winograd(ls, rs, &out_shape, spec);
    let (x, w) = (lhs.raw::<f32>(), rhs.raw::<f32>());
    // Every path writes every output element (no zeroing pass first).
    Tensor::try_build::<f32>(&out_shape, DType::F32, "conv_general_dilated: output", |y| conv_into(x, ls, w, Some(rhs.storage()), rs, spec, &out_shape, winograd, y, tail))
}

/// Whether the convolution takes Winograd's path: decided once for the whole batch, so that a
/// batch slice run on its own (`conv_pool`) computes the same bits.
pub(super) fn takes_winograd(ls: &[usize], rs: &[usize], out: &[usize], spec: &ConvSpec) -> bool {
    #[cfg(target_arch = "x86_64")]
    return super::winograd::applies(ls, rs, out, spec);
    #[cfg(not(target_arch = "x86_64"))]
    false
}

/// The convolution of `x` (shape `ls`) with `w` (shape `rs`, the bytes of `src` when given)
/// into `y` (shape `out`, every element written), Winograd's path if `winograd`.
#[allow(clippy::too_many_arguments)]
pub(super) fn conv_into(x: &[f32], ls: &[usize], w: &[f32], src: Option<&std::sync::Arc<crate::storage::Storage>>, rs: &[usize], spec: &ConvSpec, out: &[usize], winograd: bool, y: &mut [f32], tail: Option<&Epilogue>) {
    let nsp = spec.strides.len();
    let (c, o, g) = (ls[nsp + 1], rs[nsp + 1], spec.groups);
    if y.is_empty() {
        return;
    }
    // Nothing to add: an empty kernel, or an empty input (a zero-sized axis under padding: every
    // window reads padding only).
    if numel(rs) == 0 || numel(ls) == 0 {
        y.fill(0.0);
        if let Some(tail) = tail {
            tail.apply(0, y);
        }
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if winograd {
        return super::winograd::conv(x, w, src, y, ls, out, spec, tail);
    }
    let _ = (winograd, src);
    let geo = Geometry { ls, window: &rs[..nsp], out, spec, c, o, cg: c / g, og: o / g };
    #[cfg(target_arch = "x86_64")]
    if super::conv_direct::applies(&geo) {
        return super::conv_direct::conv(&geo, x, w, y, tail);
    }
    #[cfg(target_arch = "x86_64")]
    if super::conv_depthwise::applies(&geo) {
        return super::conv_depthwise::conv(&geo, x, w, y, tail);
    }
    if geo.cg == 1 && g > 1 {
        depthwise(&geo, x, w, y, tail);
    } else {
        super::conv_gemm::conv_gemm(&geo, x, w, src, y, tail);
    }
}

/// Copies pixels `start..` of an input line (`row`, pixels of `c` floats) into `dst` (whole
/// pixels), with zeros for the pixels outside the line (padding on either side).
pub(super) fn copy_padded(row: &[f32], c: usize, start: i64, dst: &mut [f32]) {
    let (wl, span) = ((row.len() / c.max(1)) as i64, (dst.len() / c.max(1)) as i64);
    // Pixels lo..hi of dst are input pixels start+lo..start+hi.
    let lo = (-start).clamp(0, span) as usize;
    let hi = (wl - start).clamp(lo as i64, span) as usize;
    dst[..lo * c].fill(0.0);
    if hi > lo {
        dst[lo * c..hi * c].copy_from_slice(&row[(start + lo as i64) as usize * c..][..(hi - lo) * c]);
    }
    dst[hi * c..].fill(0.0);
}

/// One call's shapes and the index arithmetic the lowerings share.
pub(super) struct Geometry<'a> {
    pub ls: &'a [usize],
    pub window: &'a [usize],
    pub out: &'a [usize],
    pub spec: &'a ConvSpec,
    pub c: usize,
    pub o: usize,
    /// Input and output features per group.
    pub cg: usize,
    pub og: usize,
}

impl Geometry<'_> {
    /// The last spatial axis (the one lines run along).
    pub fn last(&self) -> usize {
        self.window.len() - 1
    }

    /// Output positions per line.
    pub fn line_len(&self) -> usize {
        self.out[self.window.len()]
    }

    /// Output rows (positions): lines × line_len.
    pub fn rows(&self) -> usize {
        numel(&self.out[..=self.window.len()])
    }

    /// Input pixels per input line.
    pub fn in_len(&self) -> usize {
        self.ls[self.window.len()]
    }

    /// Window positions along the last axis.
    pub fn kw(&self) -> usize {
        self.window[self.last()]
    }

    /// Floats per im2col row: the window times the group's features.
    pub fn kdepth(&self) -> usize {
        numel(self.window) * self.cg
    }

    /// The input index along spatial axis `d` under window index `k` of output index `p`, or
    /// None in padding or between dilated input elements.
    #[inline]
    pub fn input_index(&self, d: usize, p: usize, k: usize) -> Option<usize> {
        let s = self.spec;
        let q = (p * s.strides[d] + k * s.rhs_dilation[d]) as i64 - s.padding[d].0;
        let ld = s.lhs_dilation[d] as i64;
        // (Without lhs dilation, no division: this runs per window position in the gathers.)
        let q = if ld == 1 { q } else if q % ld == 0 { q / ld } else { -1 };
        (q >= 0 && (q as usize) < self.ls[1 + d]).then_some(q as usize)
    }

    /// Calls `f(ko, base)` for each window position `ko` over the spatial axes but the last
    /// (row-major) of output line `line` (its flat batch and output indices but the last):
    /// `base` is the input line under it (flat batch and input indices but the last), or None
    /// where that falls in padding or between dilated input elements.
    pub fn for_outer(&self, line: usize, mut f: impl FnMut(usize, Option<usize>)) {
        let l = self.last();
        let mut rem = line;
        let mut pos = [0usize; 3];
        for d in (0..l).rev() {
            pos[d] = rem % self.out[1 + d];
            rem /= self.out[1 + d];
        }
        let batch = rem;
        let mut k = [0usize; 3];
        for ko in 0..numel(&self.window[..l]) {
            let mut base = Some(batch);
            for d in 0..l {
                base = base.and_then(|b| Some(b * self.ls[1 + d] + self.input_index(d, pos[d], k[d])?));
            }
            f(ko, base);
            // Next position, last axis fastest.
            for d in (0..l).rev() {
                k[d] += 1;
                if k[d] < self.window[d] {
                    break;
                }
                k[d] = 0;
            }
        }
    }
}

/// Depthwise (one input feature per group): no product to speak of (a window's worth of
/// multiply-adds per output), so each output row adds its window's input rows, scaled by the
/// kernel, across all features at once (features are contiguous on both sides).
fn depthwise(geo: &Geometry, x: &[f32], w: &[f32], y: &mut [f32], tail: Option<&Epilogue>) {
    crate::par::chunks(y, geo.o * DEPTHWISE_ROWS, |start, rows_out| {
        depthwise_rows(geo, x, w, start, rows_out);
        if let Some(tail) = tail {
            tail.apply(start, rows_out);
        }
    });
}

/// The output rows from flat offset `start`, into `rows_out`: compiled for AVX-512 where the
/// CPU has it (the feature loops vectorise 16 wide; the same operations, so the same results).
fn depthwise_rows(geo: &Geometry, x: &[f32], w: &[f32], start: usize, rows_out: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if crate::cpu::has_avx512f() {
        // SAFETY: AVX-512F was detected at run time.
        return unsafe { depthwise_rows_avx512(geo, x, w, start, rows_out) };
    }
    depthwise_rows_any(geo, x, w, start, rows_out)
}

/// # Safety
/// The CPU must have AVX-512F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn depthwise_rows_avx512(geo: &Geometry, x: &[f32], w: &[f32], start: usize, rows_out: &mut [f32]) {
    depthwise_rows_any(geo, x, w, start, rows_out)
}

#[inline(always)]
fn depthwise_rows_any(geo: &Geometry, x: &[f32], w: &[f32], start: usize, rows_out: &mut [f32]) {
    let (c, o, og, l) = (geo.c, geo.o, geo.og, geo.last());
    let (ol, kw, wl) = (geo.line_len(), geo.kw(), geo.in_len());
    // The row's input pixels along the last axis, per window position there.
    let mut last = Vec::with_capacity(kw);
    rows_out.fill(0.0);
    for (i, yr) in rows_out.chunks_exact_mut(o).enumerate() {
        let r = start / o + i;
        last.clear();
        last.extend((0..kw).map(|k| geo.input_index(l, r % ol, k)));
        geo.for_outer(r / ol, |ko, base| {
            let Some(base) = base else { return };
            for (k, &i) in last.iter().enumerate() {
                let Some(i) = i else { continue };
                let s = base * wl + i;
                let (xs, ws) = (&x[s * c..(s + 1) * c], &w[(ko * kw + k) * o..][..o]);
                if og == 1 {
                    yr.iter_mut().zip(xs).zip(ws).for_each(|((y, &a), &b)| *y += a * b);
                } else {
                    yr.iter_mut().zip(ws).enumerate().for_each(|(oc, (y, &b))| *y += xs[oc / og] * b);
                }
            }
        });
    }
}
