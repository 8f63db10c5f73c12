//! `lax.reduce_window` with the monoids pooling uses (add, max, min), as JAX 0.10.2 computes
//! it: each output starts from `init` and combines, in row-major window order, every input
//! element under its window; padded positions add nothing (with a non-identity init,
//! `reduce_window(x, 1.5, add, (3,), (1,), ((1, 2),))` of [1..6] starts 4.5 = 1.5 + 1 + 2).
//! Padding may be negative (it crops).
//!
//! When the last axis is not windowed (window 1, stride 1, no padding: the features of NHWC
//! pooling), each output row of that axis combines whole contiguous input rows, so the inner
//! loop is a vector loop over the features; otherwise the last axis is windowed like the others
//! and rows are one element long.

use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::ops::binary::{fmax_nan, fmin_nan};
use crate::ops::fused::Epilogue;
use crate::shape::check_shape;
use crate::tensor::Tensor;

/// The reduction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WindowOp {
    Add,
    Max,
    Min,
}

impl WindowOp {
    pub const NAMES: &'static [&'static str] = &["add", "max", "min"];

    pub fn from_index(i: usize) -> WindowOp {
        [WindowOp::Add, WindowOp::Max, WindowOp::Min][i.min(2)]
    }
}

/// The window attributes, checked against the operand's rank.
#[derive(Clone, Debug)]
pub struct Window {
    pub dims: Vec<usize>,
    pub strides: Vec<usize>,
    pub padding: Vec<(i64, i64)>,
}

impl Window {
    pub fn new(rank: usize, dims: &[i64], strides: &[i64], padding: &[i64]) -> Result<Window> {
        let positive = |v: &[i64], what: &str| -> Result<Vec<usize>> {
            if v.len() != rank {
                return Err(Error::arg(format!("reduce_window: {what} has {} entries; expected one per axis of the operand ({rank})", v.len())));
            }
            v.iter()
                .map(|&x| if (1..=1 << 30).contains(&x) { Ok(x as usize) } else { Err(Error::arg(format!("reduce_window: {what} must be positive integers, got {v:?}"))) })
                .collect()
        };
        if padding.len() != 2 * rank {
            return Err(Error::arg(format!("reduce_window: padding has {} entries; expected a (lo, hi) pair per axis ({} entries)", padding.len(), 2 * rank)));
        }
        if padding.iter().any(|p| p.unsigned_abs() > 1 << 40) {
            return Err(Error::arg(format!("reduce_window: padding {padding:?} is out of range")));
        }
        Ok(Window { dims: positive(dims, "window_dimensions")?, strides: positive(strides, "window_strides")?, padding: padding.chunks_exact(2).map(|p| (p[0], p[1])).collect() })
    }
}

/// The output shape: per axis, the windows that fit in the padded operand.
pub fn reduce_window_shape(shape: &[usize], w: &Window) -> Result<Vec<usize>> {
    let out: Vec<usize> = shape
        .iter()
        .enumerate()
        .map(|(d, &n)| {
            let padded = n as i64 + w.padding[d].0 + w.padding[d].1;
            let k = w.dims[d] as i64;
            if padded < k { 0 } else { ((padded - k) / w.strides[d] as i64 + 1) as usize }
        })
        .collect();
    check_shape(&out, "reduce_window: output")
}

/// The reduction of `x` (float32) over every window.
pub fn reduce_window(x: &Tensor, init: f64, op: WindowOp, w: &Window) -> Result<Tensor> {
    reduce_window_with(x, init, op, w, None)
}

/// `reduce_window` with `tail` (a plan's fused epilogue: average pooling's division) run on each
/// chunk of the output once it is final.
pub fn reduce_window_with(x: &Tensor, init: f64, op: WindowOp, w: &Window, tail: Option<&Epilogue>) -> Result<Tensor> {
    if x.dtype() != DType::F32 {
        return Err(Error::dtype(format!("reduce_window: operand has dtype {}; expected a float dtype", x.dtype())));
    }
    let shape = x.shape();
    let out_shape = reduce_window_shape(shape, w)?;
    if let Some(tail) = tail {
        tail.check(&out_shape, "reduce_window")?;
    }
    Tensor::try_build::<f32>(&out_shape, DType::F32, "reduce_window: output", |y| reduce_window_into(x.raw::<f32>(), shape, init, op, w, &out_shape, y, tail))
}

/// The reduction of `src` (shape `shape`) into `y` (shape `out`, every element written).
#[allow(clippy::too_many_arguments)]
pub(super) fn reduce_window_into(src: &[f32], shape: &[usize], init: f64, op: WindowOp, w: &Window, out: &[usize], y: &mut [f32], tail: Option<&Epilogue>) {
    let nd = shape.len();
    // The contiguous rows combined at once: the last axis when it is not windowed, else 1.
    let last_free = nd > 0 && w.dims[nd - 1] == 1 && w.strides[nd - 1] == 1 && w.padding[nd - 1] == (0, 0);
    let (outer, v) = if last_free { (nd - 1, shape[nd - 1]) } else { (nd, 1) };
    if y.is_empty() {
        return;
    }
    let rows = Rows::new(src, shape, out, w, outer, v, init as f32, op);
    // Every output row is filled with `init`, then combined.
    crate::par::chunks(y, (crate::par::CHUNK / v.max(1)).max(1) * v, |start, chunk| {
        match op {
            WindowOp::Add => rows.run(start / v, chunk, |a, b| a + b),
            WindowOp::Max => rows.run(start / v, chunk, fmax_nan),
            WindowOp::Min => rows.run(start / v, chunk, fmin_nan),
        }
        if let Some(tail) = tail {
            tail.apply(start, chunk);
        }
    });
}

/// What every chunk of output rows needs.
struct Rows<'a> {
    src: &'a [f32],
    shape: &'a [usize],
    out_shape: &'a [usize],
    w: &'a Window,
    outer: usize,
    /// Contiguous elements per row (the features when the last axis is not windowed).
    v: usize,
    init: f32,
    op: WindowOp,
    /// Per window position (row-major), its input row's offset from the window's first row
    /// when the window lies wholly inside the input (most windows): no per-position bounds
    /// tests or index arithmetic for those.
    offsets: Vec<usize>,
}

impl<'a> Rows<'a> {
    #[allow(clippy::too_many_arguments)]
    fn new(src: &'a [f32], shape: &'a [usize], out_shape: &'a [usize], w: &'a Window, outer: usize, v: usize, init: f32, op: WindowOp) -> Rows<'a> {
        // (A window longer than the input along some axis is never wholly inside it.)
        let mut offsets = vec![];
        if (0..outer).all(|d| w.dims[d] <= shape[d]) {
            offsets.push(0);
            let mut stride = 1;
            for d in (0..outer).rev() {
                offsets = (0..w.dims[d]).flat_map(|k| offsets.iter().map(move |&o| k * stride + o)).collect();
                stride *= shape[d];
            }
        }
        Rows { src, shape, out_shape, w, outer, v, init, op, offsets }
    }

    /// Rows `first..` of the output into `chunk`, with the reduction `f` (compiled for AVX-512
    /// where the CPU has it: the row loops vectorise 16 wide; the same operations, so the same
    /// results).
    #[inline(always)]
    fn run(&self, first: usize, chunk: &mut [f32], f: impl Fn(f32, f32) -> f32 + Copy) {
        #[cfg(target_arch = "x86_64")]
        if crate::cpu::has_avx512f() {
            // SAFETY: AVX-512F was detected at run time.
            return unsafe { self.run_avx512(first, chunk, f) };
        }
        self.run_any(first, chunk, f)
    }

    /// # Safety
    /// The CPU must have AVX-512F.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f")]
    unsafe fn run_avx512(&self, first: usize, chunk: &mut [f32], f: impl Fn(f32, f32) -> f32 + Copy) {
        if self.v > 1 && !self.offsets.is_empty() {
            // SAFETY: AVX-512F (this function's); checked just above.
            return unsafe { self.run_rows(first, chunk, f) };
        }
        self.run_any(first, chunk, f)
    }

    /// Output row `row`'s index along each of the outer axes.
    fn position(&self, row: usize) -> Vec<usize> {
        let mut pos = vec![0usize; self.outer];
        let mut rem = row;
        for d in (0..self.outer).rev() {
            pos[d] = rem % self.out_shape[d];
            rem /= self.out_shape[d];
        }
        pos
    }

    /// Per outer axis, the output indices whose window lies inside the input along it.
    fn inside_range(&self, d: usize) -> (i64, i64) {
        let (s, lo, k, n) = (self.w.strides[d] as i64, self.w.padding[d].0, self.w.dims[d] as i64, self.shape[d] as i64);
        // p·s − lo ≥ 0 and p·s − lo + k ≤ n.
        let first = if lo <= 0 { 0 } else { (lo + s - 1) / s };
        let end = if n + lo - k < 0 { 0 } else { (n + lo - k) / s + 1 };
        (first, end.min(self.out_shape[d] as i64))
    }

    /// `run_any` for rows of vectors: each row's first input row is carried from the last (an
    /// odometer over the output axes adding each axis's step), and rows whose window lies inside
    /// the input are combined in registers; only the border rows of padded pooling take
    /// `row_any`. Pooling's whole cost at batch 1 was this per-row work (mnist's 2×2 pooling of
    /// 28²×32: ~100 cycles a row; ResNet's SAME 3×3/2 pooling, padded on one side, took the
    /// per-row path for every row).
    ///
    /// # Safety
    /// AVX-512F; `offsets` non-empty (a window fits inside the input) and `v > 1`.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f")]
    unsafe fn run_rows(&self, first: usize, chunk: &mut [f32], f: impl Fn(f32, f32) -> f32 + Copy) {
        let (outer, v) = (self.outer, self.v);
        let ranges: Vec<(i64, i64)> = (0..outer).map(|d| self.inside_range(d)).collect();
        let mut scratch = Scratch::new(outer);
        // Per axis: its stride in input rows (`span`), and the rows one output step moves (`step`).
        let mut span = vec![0usize; outer];
        let mut step = vec![0usize; outer];
        let mut rows = 1;
        for d in (0..outer).rev() {
            span[d] = rows;
            step[d] = self.w.strides[d] * rows;
            rows *= self.shape[d];
        }
        let mut pos = self.position(first);
        // Signed: a border row's window starts in the padding.
        let mut flat0: i64 = (0..outer).map(|d| (pos[d] as i64 * self.w.strides[d] as i64 - self.w.padding[d].0) * span[d] as i64).sum();
        for yr in chunk.chunks_exact_mut(v) {
            if (0..outer).all(|d| (ranges[d].0..ranges[d].1).contains(&(pos[d] as i64))) {
                // SAFETY: AVX-512F; the window at flat0 (≥ 0) lies inside the input, so each
                // offset's row of v floats is inside `src`.
                unsafe { inside_avx512(self.op, &self.src[flat0 as usize * v..], &self.offsets, self.init, yr) };
            } else {
                self.row_any(&pos, yr, f, &mut scratch);
            }
            for d in (0..outer).rev() {
                pos[d] += 1;
                if pos[d] < self.out_shape[d] {
                    flat0 += step[d] as i64;
                    break;
                }
                pos[d] = 0;
                flat0 -= ((self.out_shape[d] - 1) * step[d]) as i64;
            }
        }
    }

    #[inline(always)]
    fn run_any(&self, first: usize, chunk: &mut [f32], f: impl Fn(f32, f32) -> f32 + Copy) {
        // The output row's index per axis: divided out once, then counted up row by row (a
        // division per axis and row cost more than a small pooling's whole combine).
        let mut pos = self.position(first);
        let mut scratch = Scratch::new(self.outer);
        for yr in chunk.chunks_exact_mut(self.v) {
            self.row_any(&pos, yr, f, &mut scratch);
            for d in (0..self.outer).rev() {
                pos[d] += 1;
                if pos[d] < self.out_shape[d] {
                    break;
                }
                pos[d] = 0;
            }
        }
    }

    /// Output row `pos` into `yr`, wherever its window lies.
    #[inline(always)]
    fn row_any(&self, pos: &[usize], yr: &mut [f32], f: impl Fn(f32, f32) -> f32 + Copy, t: &mut Scratch) {
        let (outer, v, w) = (self.outer, self.v, self.w);
        let Scratch { base, kidx, lo, hi } = t;
        for d in 0..outer {
            // Each axis's input index of window index 0 (may be in the padding).
            base[d] = (pos[d] * w.strides[d]) as i64 - w.padding[d].0;
        }
        let inside = !self.offsets.is_empty() && (0..outer).all(|d| base[d] >= 0 && base[d] as usize + w.dims[d] <= self.shape[d]);
        if inside {
            // (With AVX-512, rows of vectors whose window is inside never come here: `run_rows`
            // combines them in registers.)
            let flat0 = (0..outer).fold(0, |flat, d| flat * self.shape[d] + base[d] as usize);
            yr.fill(self.init);
            for &off in &self.offsets {
                let row = &self.src[(flat0 + off) * v..][..v];
                yr.iter_mut().zip(row).for_each(|(a, &b)| *a = f(*a, b));
            }
            return;
        }
        yr.fill(self.init);
        // Only the window positions over the input, per axis lo..hi (positions in the
        // padding add nothing), in the same row-major order.
        for d in 0..outer {
            lo[d] = (-base[d]).clamp(0, w.dims[d] as i64) as usize;
            hi[d] = (self.shape[d] as i64 - base[d]).clamp(lo[d] as i64, w.dims[d] as i64) as usize;
        }
        if (0..outer).any(|d| lo[d] == hi[d]) {
            return;
        }
        kidx.copy_from_slice(lo);
        'window: loop {
            let flat = (0..outer).fold(0, |flat, d| flat * self.shape[d] + (base[d] + kidx[d] as i64) as usize);
            yr.iter_mut().zip(&self.src[flat * v..(flat + 1) * v]).for_each(|(a, &b)| *a = f(*a, b));
            for d in (0..outer).rev() {
                kidx[d] += 1;
                if kidx[d] < hi[d] {
                    continue 'window;
                }
                kidx[d] = lo[d];
            }
            break;
        }
    }
}

/// Per-axis working space of `row_any`, made once per chunk.
struct Scratch {
    base: Vec<i64>,
    kidx: Vec<usize>,
    lo: Vec<usize>,
    hi: Vec<usize>,
}

impl Scratch {
    fn new(outer: usize) -> Scratch {
        Scratch { base: vec![0; outer], kidx: vec![0; outer], lo: vec![0; outer], hi: vec![0; outer] }
    }
}

/// One output row of `y.len()` features whose window lies inside the input: the rows at
/// `offsets` (in rows of `y.len()` floats) from `src` combined in registers, 128 features at a
/// time (a loop over the row in memory waited on its own stores: 38% of a pooling's time).
/// The same operations in the same order as `fmax_nan` / `fmin_nan` / `+`.
///
/// # Safety
/// AVX-512F; `src` holds every offset's row.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn inside_avx512(op: WindowOp, src: &[f32], offsets: &[usize], init: f32, y: &mut [f32]) {
    let v = y.len();
    assert!(offsets.iter().all(|&o| (o + 1) * v <= src.len()));
    for j0 in (0..v).step_by(128) {
        let len = (v - j0).min(128);
        // SAFETY: the rows hold v floats from j0 (asserted above); the blocks mask at len.
        unsafe {
            match (op, len.div_ceil(16)) {
                (WindowOp::Add, 1) => combine_block::<ADD, 1>(src, offsets, v, j0, len, init, y),
                (WindowOp::Add, 2) => combine_block::<ADD, 2>(src, offsets, v, j0, len, init, y),
                (WindowOp::Add, 3 | 4) => combine_block::<ADD, 4>(src, offsets, v, j0, len, init, y),
                (WindowOp::Add, _) => combine_block::<ADD, 8>(src, offsets, v, j0, len, init, y),
                (WindowOp::Max, 1) => combine_block::<MAX, 1>(src, offsets, v, j0, len, init, y),
                (WindowOp::Max, 2) => combine_block::<MAX, 2>(src, offsets, v, j0, len, init, y),
                (WindowOp::Max, 3 | 4) => combine_block::<MAX, 4>(src, offsets, v, j0, len, init, y),
                (WindowOp::Max, _) => combine_block::<MAX, 8>(src, offsets, v, j0, len, init, y),
                (WindowOp::Min, 1) => combine_block::<MIN, 1>(src, offsets, v, j0, len, init, y),
                (WindowOp::Min, 2) => combine_block::<MIN, 2>(src, offsets, v, j0, len, init, y),
                (WindowOp::Min, 3 | 4) => combine_block::<MIN, 4>(src, offsets, v, j0, len, init, y),
                (WindowOp::Min, _) => combine_block::<MIN, 8>(src, offsets, v, j0, len, init, y),
            }
        }
    }
}

const ADD: u8 = 0;
const MAX: u8 = 1;
const MIN: u8 = 2;

/// Features j0..j0+len (len ≤ 16·NV) of one output row, in NV registers.
///
/// # Safety
/// AVX-512F; every offset's row holds v ≥ j0 + len floats in `src`; `y` has v floats.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn combine_block<const OP: u8, const NV: usize>(src: &[f32], offsets: &[usize], v: usize, j0: usize, len: usize, init: f32, y: &mut [f32]) {
    use std::arch::x86_64::*;
    let masks: [u16; NV] = std::array::from_fn(|j| crate::ops::simd::lanes(len.saturating_sub(16 * j)));
    // SAFETY: masked loads and stores touch only lanes < len of rows inside `src` and `y` (the
    // caller's contract); a zero mask touches nothing, and `wrapping_add` keeps such an unused
    // address defined.
    unsafe {
        let mut acc = [_mm512_set1_ps(init); NV];
        for &off in offsets {
            let row = src.as_ptr().add(off * v + j0);
            for (j, a) in acc.iter_mut().enumerate() {
                let x = _mm512_maskz_loadu_ps(masks[j], row.wrapping_add(16 * j));
                *a = match OP {
                    ADD => _mm512_add_ps(*a, x),
                    _ => {
                        // x > y ? x : y (ties to y), or x < y ? x : y; NaN lanes take x + y.
                        let r = if OP == MAX { _mm512_max_ps(*a, x) } else { _mm512_min_ps(*a, x) };
                        _mm512_mask_add_ps(r, _mm512_cmp_ps_mask::<_CMP_UNORD_Q>(*a, x), *a, x)
                    }
                };
            }
        }
        for (j, a) in acc.iter().enumerate() {
            crate::ops::simd::store(y.as_mut_ptr().wrapping_add(j0 + 16 * j), masks[j], *a);
        }
    }
}
