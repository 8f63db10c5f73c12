//! Winograd's minimal filtering F(2×2, 3×3) for the commonest convolution of vision models: a
//! 3×3 window, unit strides and dilations, one feature group, channels-last. Each 2×2 block of
//! outputs comes from a 4×4 block of input with 16 multiplications per (input, output feature)
//! pair instead of 36: the input tiles and the kernel are transformed (additions only, and
//! halvings for the kernel), 16 independent products run on the sgemm microkernel, and the
//! products are transformed back to the outputs (additions only). 2.25× fewer multiply-adds;
//! the sums are reassociated, so results differ from the direct convolution by rounding
//! (within a few ulps of the sum's magnitude, as for any change of summation order).
//!
//! Layout: input [N, H, W, C], kernel [3, 3, C, O], output [N, Ho, Wo, O]. Tiles (2×2 outputs)
//! are taken in blocks small enough for the transformed block (tiles × 16 × C and tiles × 16 ×
//! O floats, tile-major: each tile's transform is written and read as one contiguous run, and
//! product ξ reads rows ξ·C.. of it at the tile stride) to stay in L2; blocks run in parallel.
//! Its products and transforms use AVX-512 (the path is taken only where it is available). The
//! transformed kernel is laid out in the microkernel's panels (`BKind::Panels`): each product
//! then reads its B as contiguous runs (ResNet-18 at batch 1 on two threads, with panels kept
//! for its late im2col products too: median 10.1–10.3 → 9.5–9.9 ms; batch 8: 69 → 60–63 ms).

use std::cell::RefCell;
use std::sync::Arc;

use std::arch::x86_64::*;

use rayon::prelude::*;

use crate::ops::conv::ConvSpec;
use crate::ops::fused::Epilogue;
use crate::ops::kept::{kept, Floats, Form, Make};
use crate::ops::gemm::{gemm_st, BKind, Gemm, PANEL};
use crate::ops::simd::{lanes, store};
use crate::par::{each, SendPtr};
use crate::storage::Storage;

/// Lanes per vector step of the transforms (one zmm of features).
const L: usize = 16;

/// Bytes of one block's transformed input and products together.
const BLOCK_BYTES: usize = 384 << 10;
/// Most bytes of transformed input and products for all tiles at once (`whole`).
const WHOLE_BYTES: usize = 4 << 20;

/// Whether the convolution takes this path: a 3×3 window with unit strides and dilations, no
/// groups, non-negative padding, at least 48 output tiles (below that the 16 small products and
/// the kernel transform cost more than they save; with the transform kept, ResNet's 7×7×512 at
/// batch 1 was still slower: its kept kernel, 16/9 of the weights, streams from memory with
/// the model's other weights, 1.31 → 1.44 ms on one thread) and AVX-512 (the microkernel it
/// feeds).
pub fn applies(ls: &[usize], rs: &[usize], out: &[usize], spec: &ConvSpec) -> bool {
    let tiles = out[0] * out[1].div_ceil(2) * out[2].div_ceil(2);
    let ones = |v: &[usize]| v.iter().all(|&s| s == 1);
    ls.len() == 4
        && rs[..2] == [3, 3]
        && spec.groups == 1
        && ones(&spec.strides)
        && ones(&spec.lhs_dilation)
        && ones(&spec.rhs_dilation)
        && spec.padding.iter().all(|&(lo, hi)| lo >= 0 && hi >= 0)
        && ls[3] >= 8
        && rs[3] >= 16
        && tiles >= 48
        && crate::cpu::has_avx512f()
}

/// The geometry of one call.
#[derive(Clone, Copy)]
struct Geo {
    h: usize,
    w: usize,
    c: usize,
    o: usize,
    pt: i64,
    pl: i64,
    ho: usize,
    wo: usize,
    /// Tiles per image row and per image.
    tw: usize,
    per_image: usize,
}

/// y = conv(x, w) for shapes `applies` accepted; `y` is the output [N, Ho, Wo, O] (every
/// element is written). `tail` runs on each block's outputs once they are final. `src`: the
/// storage of `w`, when there is one: its transformed kernel is then kept (`kept_kernel`).
#[allow(clippy::too_many_arguments)]
pub fn conv(x: &[f32], w: &[f32], src: Option<&Arc<Storage>>, y: &mut [f32], ls: &[usize], out: &[usize], spec: &ConvSpec, tail: Option<&Epilogue>) {
    let (c, o) = (ls[3], out[3]);
    let (ho, wo) = (out[1], out[2]);
    let (th, tw) = (ho.div_ceil(2), wo.div_ceil(2));
    let g = Geo { h: ls[1], w: ls[2], c, o, pt: spec.padding[0].0, pl: spec.padding[1].0, ho, wo, tw, per_image: th * tw };
    if let Some(u) = src.and_then(|s| kept_kernel(s, w, c, o)) {
        return run(&g, x, &u, y, out[0] * g.per_image, tail);
    }
    // Not kept: the buffer is kept per calling thread instead: fresh pages for it (4 MiB for
    // 256 features) cost more page faults than the transform itself. Taken out of the cell,
    // so a convolution started on this thread meanwhile (rayon runs other tasks while it
    // waits) simply makes its own.
    let mut u = KERNEL.take();
    if u.len() < 16 * kmat(c, o) {
        u.resize(16 * kmat(c, o), 0.0);
    }
    transform_kernel(w, c, o, &mut u);
    run(&g, x, &u, y, out[0] * g.per_image, tail);
    KERNEL.set(u);
}

/// The convolution with the transformed kernel `u`.
fn run(g: &Geo, x: &[f32], u: &[f32], y: &mut [f32], tiles: usize, tail: Option<&Epilogue>) {
    let (c, o) = (g.c, g.o);
    // Blocks of at most the L2 budget, as many as a multiple of the threads (49 tiles in 3
    // blocks on 2 threads would leave one idle a third of the time).
    let threads = rayon::current_num_threads();
    let most = (BLOCK_BYTES / (64 * (c + o))).clamp(24, 192);
    let blocks = tiles.div_ceil(most).next_multiple_of(threads).min(tiles.div_ceil(12)).max(1);
    let per = tiles.div_ceil(blocks);
    let blocks = tiles.div_ceil(per);
    let yp = SendPtr(y.as_mut_ptr());
    // Few tiles over many features (ResNet's 14² and 28² stages at batch 1): each block would
    // read the whole transformed kernel again for a product of a dozen rows (and a single
    // block would run on one thread). Then all tiles go through each stage together instead,
    // the 16 products split across the threads. Taken when re-reading the kernel would cost
    // more than the transform buffers spilling from L2 (written and read back once), and
    // those fit a few MiB. With several threads the margin is scaled by their count: in the
    // whole path each stage reads what the other cores wrote in the stage before, while a
    // block stays on its core. ResNet's 28²×128 at batch 1 (blocks·C·O 1.6× the transform
    // bytes) was 604/513 µs whole against 510/441 in blocks on two threads (p10 of two runs);
    // its 14²×256 (5.2×) stays whole: 460 against 788.
    if blocks * c * o > 2 * tiles * (c + o) * threads && tiles * 64 * (c + o) <= WHOLE_BYTES {
        let mut s = SCRATCH.with(|s| std::mem::take(&mut *s.borrow_mut()));
        // SAFETY: AVX-512F was checked by `applies`.
        unsafe { whole(g, x, u, &mut s, yp, tiles, tail) };
        SCRATCH.with(|cell| *cell.borrow_mut() = s);
        return;
    }
    let run = |b: usize| {
        let (t0, t1) = (b * per, ((b + 1) * per).min(tiles));
        SCRATCH.with(|s| {
            let mut s = s.borrow_mut();
            let (v, m) = s.split(per * stride(16 * c), per * stride(16 * o));
            // SAFETY: AVX-512F was checked by `applies`; the buffers hold `per` tile rows; each
            // block writes only its own tiles' outputs (tiles partition the output).
            unsafe { block(g, x, u, v, m, yp, t0, t1) };
        });
        if let Some(tail) = tail {
            for t in t0..t1 {
                // SAFETY: tile t's outputs belong to this block, which has finished them.
                unsafe { tile_rows(g, t, yp, |start, run| tail.apply(start, run)) };
            }
        }
    };
    if blocks > 1 && threads > 1 {
        each(blocks, |b| {
            let _ = yp;
            run(b)
        });
    } else {
        (0..blocks).for_each(run);
    }
}

/// The transformed kernel of `w` (the [3, 3, C, O] weights in `src`), kept while `src` lives
/// (`kept.rs`): its transform writes 16/9 of the weights' bytes per layer and call. None (the
/// caller transforms into scratch) when it cannot be kept.
fn kept_kernel(src: &Arc<Storage>, w: &[f32], c: usize, o: usize) -> Option<Arc<Floats>> {
    kept(src, Form::Winograd { c, o }, 16 * kmat(c, o), Make::Now, |u| transform_kernel(w, c, o, u))
}

/// All `tiles` at once, each stage split across the pool: the input transforms (by tiles), the
/// 16 products (one task each, over every tile: the transformed kernel is read once), the
/// output transforms and `tail` (by tiles).
///
/// # Safety
/// AVX-512F; `y` is the output, written by this call only.
#[target_feature(enable = "avx512f")]
unsafe fn whole(g: &Geo, x: &[f32], u: &[f32], s: &mut Scratch, y: SendPtr<f32>, tiles: usize, tail: Option<&Epilogue>) {
    let (c, o) = (g.c, g.o);
    let (sv, sm) = (stride(16 * c), stride(16 * o));
    let (v, m) = s.split(tiles * sv, tiles * sm);
    let (vp, mp) = (SendPtr(v.as_mut_ptr()), SendPtr(m.as_mut_ptr()));
    // Tiles per task of the transforms.
    const CHUNK: usize = 8;
    let chunks = tiles.div_ceil(CHUNK);
    let rows = |i: usize| i * CHUNK..((i + 1) * CHUNK).min(tiles);
    each(chunks, |i| {
        let r = rows(i);
        // SAFETY: this task's tile rows of v (tasks take disjoint rows).
        let mine = unsafe { std::slice::from_raw_parts_mut(vp.get().add(r.start * sv), r.len() * sv) };
        for t in r.clone() {
            // SAFETY: AVX-512F (checked by `applies`); row t - r.start of `mine` is tile t's.
            unsafe { input_tile(g, x, mine, t - r.start, t) };
        }
    });
    each(16, |xi| {
        // SAFETY: A is the tiles' rows of transform ξ (c floats from column ξ·c of v), B the
        // c×o matrix ξ of the kernel, C the tiles' rows of product ξ (o floats from column
        // ξ·o of m): inside the buffers; product ξ's columns are this task's alone.
        unsafe {
            let prod = Gemm {
                m: tiles,
                n: o,
                k: c,
                a: vp.get().add(xi * c),
                lda: sv,
                b: u[xi * kmat(c, o)..].as_ptr() as *const u8,
                bkind: BKind::Panels,
                ldb: c,
                c: mp.get().add(xi * o),
                ldc: sm,
                accumulate: false,
            };
            gemm_st(&prod)
        };
    });
    each(chunks, |i| {
        let r = rows(i);
        // SAFETY: the products' tile rows of this chunk, finished by the stage before.
        let mine = unsafe { std::slice::from_raw_parts(mp.get().add(r.start * sm), r.len() * sm) };
        for t in r.clone() {
            // SAFETY: AVX-512F; tile t's outputs are this task's (tiles partition the output).
            unsafe { output_tile(g, mine, t - r.start, t, y) };
            if let Some(tail) = tail {
                // SAFETY: as above; tile t's outputs are final.
                unsafe { tile_rows(g, t, y, |start, run| tail.apply(start, run)) };
            }
        }
    });
}

/// One block of tiles t0..t1: transform the input tiles, 16 products, transform back.
///
/// # Safety
/// AVX-512F; `v` and `m` hold `per` tile rows (`stride(16·C)` and `stride(16·O)` floats); `y`
/// is the output and no other thread writes these tiles' outputs.
#[target_feature(enable = "avx512f")]
#[allow(clippy::too_many_arguments)]
unsafe fn block(g: &Geo, x: &[f32], u: &[f32], v: &mut [f32], m: &mut [f32], y: SendPtr<f32>, t0: usize, t1: usize) {
    let (c, o, n) = (g.c, g.o, t1 - t0);
    for t in t0..t1 {
        // SAFETY: AVX-512F (this function's); row t - t0 < per.
        unsafe { input_tile(g, x, v, t - t0, t) };
    }
    for xi in 0..16 {
        let prod = Gemm {
            m: n,
            n: o,
            k: c,
            a: v[xi * c..].as_ptr(),
            lda: stride(16 * c),
            b: u[xi * kmat(c, o)..].as_ptr() as *const u8,
            bkind: BKind::Panels,
            ldb: c,
            c: m[xi * o..].as_mut_ptr(),
            ldc: stride(16 * o),
            accumulate: false,
        };
        // SAFETY: A is n tile rows, c floats each from column ξ·c, of the transformed input; B
        // the c×o matrix ξ of the kernel; C n tile rows, o floats from column ξ·o, of the
        // products: all inside the buffers, C owned by this thread.
        unsafe { gemm_st(&prod) };
    }
    for t in t0..t1 {
        // SAFETY: forwarded (tile t's outputs belong to this block).
        unsafe { output_tile(g, m, t - t0, t, y) };
    }
}

/// The row stride of `len` floats in the transform buffers: one cache line more, so the 12
/// rows a microkernel reads (and the 16 kernel matrices) do not all start on the same L1 sets,
/// as rows of 4 KiB multiples would.
#[inline(always)]
fn stride(len: usize) -> usize {
    len + L
}

/// Floats from one transformed kernel matrix (C×O, in the microkernel's panels of depth C: B
/// is then one contiguous run per 32 output features, `BKind::Panels`) to the next.
fn kmat(c: usize, o: usize) -> usize {
    stride(c * o.next_multiple_of(PANEL))
}


/// Writes tile `t`'s transformed input `Bᵀ d B` (d its 4×4 input block, zero outside the
/// image) as tile row `row` of `v` (transform ξ at column ξ·C),
/// Bᵀ = [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]].
///
/// # Safety
/// AVX-512F; `v` holds tile row `row`.
#[target_feature(enable = "avx512f")]
unsafe fn input_tile(g: &Geo, x: &[f32], v: &mut [f32], row: usize, t: usize) {
    let (img, rest) = (t / g.per_image, t % g.per_image);
    let (r0, c0) = (2 * (rest / g.tw) as i64 - g.pt, 2 * (rest % g.tw) as i64 - g.pl);
    let inside = r0 >= 0 && c0 >= 0 && r0 as usize + 4 <= g.h && c0 as usize + 4 <= g.w;
    // Offsets of the 16 input pixels (None in the padding).
    let mut at = [None; 16];
    for (p, a) in at.iter_mut().enumerate() {
        let (r, col) = (r0 + (p / 4) as i64, c0 + (p % 4) as i64);
        if r >= 0 && (r as usize) < g.h && col >= 0 && (col as usize) < g.w {
            *a = Some(((img * g.h + r as usize) * g.w + col as usize) * g.c);
        }
    }
    let vp = v.as_mut_ptr();
    let xp = x.as_ptr();
    // SAFETY: loads read features f0..f0+len of in-image pixels (offsets computed above, inside
    // x); stores write tile row `row`, features f0..f0+len of each transform, inside v.
    unsafe {
        for f0 in (0..g.c).step_by(L) {
            let mask = lanes(g.c - f0);
            let d: [__m512; 16] = if inside {
                // Interior tiles (almost all): no padding test per pixel.
                let base = xp.add(((img * g.h + r0 as usize) * g.w + c0 as usize) * g.c + f0);
                std::array::from_fn(|p| _mm512_maskz_loadu_ps(mask, base.add(((p / 4) * g.w + p % 4) * g.c)))
            } else {
                std::array::from_fn(|p| match at[p] {
                    Some(off) => _mm512_maskz_loadu_ps(mask, xp.add(off + f0)),
                    None => _mm512_setzero_ps(),
                })
            };
            // e = Bᵀ d (combining rows), then e B (combining columns).
            let mut e = [_mm512_setzero_ps(); 16];
            for col in 0..4 {
                let r = |i: usize| d[4 * i + col];
                e[col] = _mm512_sub_ps(r(0), r(2));
                e[4 + col] = _mm512_add_ps(r(1), r(2));
                e[8 + col] = _mm512_sub_ps(r(2), r(1));
                e[12 + col] = _mm512_sub_ps(r(1), r(3));
            }
            let dst = vp.add(row * stride(16 * g.c) + f0);
            for i in 0..4 {
                let q = |j: usize| e[4 * i + j];
                let out = [_mm512_sub_ps(q(0), q(2)), _mm512_add_ps(q(1), q(2)), _mm512_sub_ps(q(2), q(1)), _mm512_sub_ps(q(1), q(3))];
                for (j, &val) in out.iter().enumerate() {
                    store(dst.add((4 * i + j) * g.c), mask, val);
                }
            }
        }
    }
}

/// Writes tile `t`'s outputs `Aᵀ m A` (m its 16 products, tile row `row` of `m`),
/// Aᵀ = [[1, 1, 1, 0], [0, 1, -1, -1]]; outputs past the image edge are dropped.
///
/// # Safety
/// AVX-512F; `m` holds tile row `row`; `y` is the [N, Ho, Wo, O] output and
/// tile t's outputs are this thread's.
#[target_feature(enable = "avx512f")]
unsafe fn output_tile(g: &Geo, m: &[f32], row: usize, t: usize, y: SendPtr<f32>) {
    let (img, rest) = (t / g.per_image, t % g.per_image);
    let (r0, c0) = (2 * (rest / g.tw), 2 * (rest % g.tw));
    // SAFETY: loads read tile row `row`, features f0..f0+len of the 16 products (inside m); stores
    // write in-image outputs of this tile (checked against Ho, Wo), features f0..f0+len.
    unsafe {
        for f0 in (0..g.o).step_by(L) {
            let mask = lanes(g.o - f0);
            let p: [__m512; 16] = std::array::from_fn(|xi| _mm512_maskz_loadu_ps(mask, m.as_ptr().add(row * stride(16 * g.o) + xi * g.o + f0)));
            // s = Aᵀ p (two rows), then s A (two columns each).
            let mut s = [_mm512_setzero_ps(); 8];
            for col in 0..4 {
                let r = |i: usize| p[4 * i + col];
                s[col] = _mm512_add_ps(_mm512_add_ps(r(0), r(1)), r(2));
                s[4 + col] = _mm512_sub_ps(_mm512_sub_ps(r(1), r(2)), r(3));
            }
            for i in 0..2 {
                let q = |j: usize| s[4 * i + j];
                let outs = [_mm512_add_ps(_mm512_add_ps(q(0), q(1)), q(2)), _mm512_sub_ps(_mm512_sub_ps(q(1), q(2)), q(3))];
                for (j, &val) in outs.iter().enumerate() {
                    let (r, col) = (r0 + i, c0 + j);
                    if r < g.ho && col < g.wo {
                        store(y.get().add(((img * g.ho + r) * g.wo + col) * g.o + f0), mask, val);
                    }
                }
            }
        }
    }
}

/// Calls `f(start, run)` on each of tile `t`'s output rows (up to 2 pixels × O floats, clipped
/// to the image) with its flat offset in the output.
///
/// # Safety
/// `y` is the output and no other thread accesses tile t's outputs meanwhile.
unsafe fn tile_rows(g: &Geo, t: usize, y: SendPtr<f32>, mut f: impl FnMut(usize, &mut [f32])) {
    let (img, rest) = (t / g.per_image, t % g.per_image);
    let (r0, c0) = (2 * (rest / g.tw), 2 * (rest % g.tw));
    let cols = (g.wo - c0).min(2);
    for r in r0..(r0 + 2).min(g.ho) {
        let start = ((img * g.ho + r) * g.wo + c0) * g.o;
        // SAFETY: pixels (r, c0..c0+cols) of image img are inside the output and the caller's.
        f(start, unsafe { std::slice::from_raw_parts_mut(y.get().add(start), cols * g.o) });
    }
}

/// The kernel's transform `G g Gᵀ` for every (input, output) feature pair, as 16 matrices
/// [C, O] in panels (matrix ξ at ξ·`kmat`), G = [[1, 0, 0], [½, ½, ½], [½, -½, ½], [0, 0, 1]].
fn transform_kernel(w: &[f32], c: usize, o: usize, u: &mut [f32]) {
    assert!(u.len() >= 16 * kmat(c, o));
    let up = SendPtr(u.as_mut_ptr());
    let row = |ci: usize| {
        let _ = up;
        // SAFETY: AVX-512F (checked by `applies`); this task writes row ci of each matrix.
        unsafe { kernel_row(w, c, o, ci, up) }
    };
    if crate::par::parallel(16 * c * o) {
        (0..c).into_par_iter().for_each(row);
    } else {
        (0..c).for_each(row);
    }
}

/// Row `ci` (input feature ci, every output feature) of the 16 transformed kernel matrices.
///
/// # Safety
/// AVX-512F; `u` holds the 16 matrices (`kmat`) and no other thread writes row ci of them.
#[target_feature(enable = "avx512f")]
unsafe fn kernel_row(w: &[f32], c: usize, o: usize, ci: usize, u: SendPtr<f32>) {
    // SAFETY: loads read w[kh, kw, ci, f0..f0+len] (inside the [3, 3, C, O] kernel); stores
    // write row ci of each matrix ξ, this task's row.
    unsafe {
        let half = _mm512_set1_ps(0.5);
        for f0 in (0..o).step_by(L) {
            let mask = lanes(o - f0);
            let g: [__m512; 9] = std::array::from_fn(|p| _mm512_maskz_loadu_ps(mask, w.as_ptr().add((p * c + ci) * o + f0)));
            // t = G g (four rows of three), then t Gᵀ (four columns each).
            let mut t = [_mm512_setzero_ps(); 12];
            for col in 0..3 {
                let r = |i: usize| g[3 * i + col];
                t[col] = r(0);
                t[3 + col] = _mm512_mul_ps(half, _mm512_add_ps(_mm512_add_ps(r(0), r(1)), r(2)));
                t[6 + col] = _mm512_mul_ps(half, _mm512_add_ps(_mm512_sub_ps(r(0), r(1)), r(2)));
                t[9 + col] = r(2);
            }
            for i in 0..4 {
                let q = |j: usize| t[3 * i + j];
                let vals = [
                    q(0),
                    _mm512_mul_ps(half, _mm512_add_ps(_mm512_add_ps(q(0), q(1)), q(2))),
                    _mm512_mul_ps(half, _mm512_add_ps(_mm512_sub_ps(q(0), q(1)), q(2))),
                    q(2),
                ];
                for (j, &val) in vals.iter().enumerate() {
                    let at = (f0 / PANEL) * PANEL * c + ci * PANEL + f0 % PANEL;
                    store(u.get().add((4 * i + j) * kmat(c, o) + at), mask, val);
                }
            }
        }
    }
}

/// Per-thread transform buffers, kept for the next call.
#[derive(Default)]
struct Scratch {
    v: Vec<f32>,
    m: Vec<f32>,
}

impl Scratch {
    fn split(&mut self, nv: usize, nm: usize) -> (&mut [f32], &mut [f32]) {
        if self.v.len() < nv {
            self.v.resize(nv, 0.0);
        }
        if self.m.len() < nm {
            self.m.resize(nm, 0.0);
        }
        (&mut self.v[..nv], &mut self.m[..nm])
    }
}

thread_local! {
    static KERNEL: std::cell::Cell<Vec<f32>> = const { std::cell::Cell::new(Vec::new()) };
    static SCRATCH: RefCell<Scratch> = const { RefCell::new(Scratch { v: Vec::new(), m: Vec::new() }) };
}
