//! Winograd's minimal filtering F(M×M, 3×3) for the commonest convolution of vision models: a
//! 3×3 window, unit strides and dilations, one feature group, channels-last. Each M×M block of
//! outputs comes from an A×A block of input (A = M + 2) with A² multiplications per (input,
//! output feature) pair instead of 9·M²: the input tiles and the kernel are transformed (small
//! constant factors), A² independent products run on the sgemm microkernel, and the products
//! are transformed back to the outputs. The sums are reassociated, so results differ from the
//! direct convolution by rounding.
//!
//! Two tile sizes (`side`):
//! * F(2×2, 3×3), 2.25× fewer multiply-adds, additions only in the input and output transforms:
//!   within a few ulps of the sum's magnitude, as for any change of summation order.
//! * F(4×4, 3×3), 4× fewer, for outputs of at least `WIDE` pixels each way (ResNet's 56² and 28²
//!   stages). Its transforms scale terms by up to 8 before they cancel: rounding errors are
//!   ~5× F(2×2)'s on one layer (at most 9.3e-7 of Σ|x·w| on random 128-feature layers, ~32 ulps;
//!   tested against 2e-6), while ResNet-18's logits at batch 1 differ from onnxruntime's by the
//!   same 5e-7 (relative) with either. Points 0, ±1, 2, -½ (and ∞) rather than the usual ±2: a
//!   third of the largest error. Measured alone on two threads (p10): 56²×64 320 → 230 µs,
//!   28²×128 320 → 250 µs; inside ResNet-18 at batch 1 these seven layers went from ~470 to
//!   ~380 µs each. Smaller outputs keep F(2×2): ResNet's 14² at batch 1 would pad 14 to 16 (30%
//!   more tiles' work) and stream a kernel 36/16 larger from memory for 16 tiles.
//!
//! Layout: input [N, H, W, C], kernel [3, 3, C, O], output [N, Ho, Wo, O]. Tiles (M×M outputs)
//! are taken in blocks small enough for the transformed block (tiles × A² × C and tiles × A² ×
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
/// Least output size, each way, that takes F(4×4, 3×3) (`side`).
const WIDE: usize = 24;

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

/// The output tile side: F(4×4, 3×3) where the output is at least `WIDE` pixels each way,
/// F(2×2, 3×3) below. Decided by the image's sizes alone, so that a batch slice run on its own
/// (`conv_pool`) computes the same bits.
pub fn side(out: &[usize]) -> usize {
    if out[1].min(out[2]) >= WIDE { 4 } else { 2 }
}

/// y = conv(x, w) for shapes `applies` accepted; `y` is the output [N, Ho, Wo, O] (every
/// element is written). `tail` runs on each block's outputs once they are final. `src`: the
/// storage of `w`, when there is one: its transformed kernel is then kept (`kept_kernel`).
#[allow(clippy::too_many_arguments)]
pub fn conv(x: &[f32], w: &[f32], src: Option<&Arc<Storage>>, y: &mut [f32], ls: &[usize], out: &[usize], spec: &ConvSpec, tail: Option<&Epilogue>) {
    if side(out) == 4 {
        conv_with::<4>(x, w, src, y, ls, out, spec, tail)
    } else {
        conv_with::<2>(x, w, src, y, ls, out, spec, tail)
    }
}

/// `conv` with output tiles of M×M.
#[allow(clippy::too_many_arguments)]
fn conv_with<const M: usize>(x: &[f32], w: &[f32], src: Option<&Arc<Storage>>, y: &mut [f32], ls: &[usize], out: &[usize], spec: &ConvSpec, tail: Option<&Epilogue>) {
    let (c, o) = (ls[3], out[3]);
    let (ho, wo) = (out[1], out[2]);
    let (th, tw) = (ho.div_ceil(M), wo.div_ceil(M));
    let g = Geo { h: ls[1], w: ls[2], c, o, pt: spec.padding[0].0, pl: spec.padding[1].0, ho, wo, tw, per_image: th * tw };
    if let Some(u) = src.and_then(|s| kept_kernel::<M>(s, w, c, o)) {
        return run::<M>(&g, x, &u, y, out[0] * g.per_image, tail);
    }
    // Not kept: the buffer is kept per calling thread instead: fresh pages for it (4 MiB for
    // 256 features) cost more page faults than the transform itself. Taken out of the cell,
    // so a convolution started on this thread meanwhile (rayon runs other tasks while it
    // waits) simply makes its own.
    let mut u = KERNEL.take();
    let len = (M + 2) * (M + 2) * kmat(c, o);
    if u.len() < len {
        u.resize(len, 0.0);
    }
    transform_kernel::<M>(w, c, o, &mut u);
    run::<M>(&g, x, &u, y, out[0] * g.per_image, tail);
    KERNEL.set(u);
}

/// The convolution with the transformed kernel `u`.
fn run<const M: usize>(g: &Geo, x: &[f32], u: &[f32], y: &mut [f32], tiles: usize, tail: Option<&Epilogue>) {
    let (c, o, nx) = (g.c, g.o, (M + 2) * (M + 2));
    // Blocks of at most the L2 budget, as many as a multiple of the threads (49 tiles in 3
    // blocks on 2 threads would leave one idle a third of the time).
    let threads = rayon::current_num_threads();
    let most = (BLOCK_BYTES / (4 * nx * (c + o))).clamp(24, 192);
    let blocks = tiles.div_ceil(most).next_multiple_of(threads).min(tiles.div_ceil(12)).max(1);
    let per = tiles.div_ceil(blocks);
    let blocks = tiles.div_ceil(per);
    let yp = SendPtr(y.as_mut_ptr());
    // Few tiles over many features (ResNet's 14² and 28² stages at batch 1): each block would
    // read the whole transformed kernel again for a product of a dozen rows (and a single
    // block would run on one thread). Then all tiles go through each stage together instead,
    // the products split across the threads. Taken when re-reading the kernel would cost
    // more than the transform buffers spilling from L2 (written and read back once), and
    // those fit a few MiB. With several threads the margin is scaled by their count: in the
    // whole path each stage reads what the other cores wrote in the stage before, while a
    // block stays on its core. ResNet's 28²×128 at batch 1 (blocks·C·O 1.6× the transform
    // bytes) was 604/513 µs whole against 510/441 in blocks on two threads (p10 of two runs);
    // its 14²×256 (5.2×) stays whole: 460 against 788. Those were F(2×2); under F(4×4) the
    // 28²×128 goes whole, which is slower with its kernel in cache (274–283 µs against 204–222
    // in blocks) but faster with the kernel from memory, as in a model (333–340 against
    // 361–387; ResNet-18 at batch 1 as fast or faster).
    if blocks * c * o > 2 * tiles * (c + o) * threads && tiles * 4 * nx * (c + o) <= WHOLE_BYTES {
        let mut s = SCRATCH.with(|s| std::mem::take(&mut *s.borrow_mut()));
        // SAFETY: AVX-512F was checked by `applies`.
        unsafe { whole::<M>(g, x, u, &mut s, yp, tiles, tail) };
        SCRATCH.with(|cell| *cell.borrow_mut() = s);
        return;
    }
    let run = |b: usize| {
        let (t0, t1) = (b * per, ((b + 1) * per).min(tiles));
        SCRATCH.with(|s| {
            let mut s = s.borrow_mut();
            let (v, m) = s.split(per * stride(nx * c), per * stride(nx * o));
            // SAFETY: AVX-512F was checked by `applies`; the buffers hold `per` tile rows; each
            // block writes only its own tiles' outputs (tiles partition the output).
            unsafe { block::<M>(g, x, u, v, m, yp, t0, t1) };
        });
        if let Some(tail) = tail {
            for t in t0..t1 {
                // SAFETY: tile t's outputs belong to this block, which has finished them.
                unsafe { tile_rows::<M>(g, t, yp, |start, run| tail.apply(start, run)) };
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
/// (`kept.rs`): its transform writes A²/9 of the weights' bytes per layer and call. None (the
/// caller transforms into scratch) when it cannot be kept.
fn kept_kernel<const M: usize>(src: &Arc<Storage>, w: &[f32], c: usize, o: usize) -> Option<Arc<Floats>> {
    kept(src, Form::Winograd { c, o, side: M }, (M + 2) * (M + 2) * kmat(c, o), Make::Now, |u| transform_kernel::<M>(w, c, o, u))
}

/// All `tiles` at once, each stage split across the pool: the input transforms (by tiles), the
/// A² products (one task each, over every tile: the transformed kernel is read once), the
/// output transforms and `tail` (by tiles).
///
/// # Safety
/// AVX-512F; `y` is the output, written by this call only.
#[target_feature(enable = "avx512f")]
unsafe fn whole<const M: usize>(g: &Geo, x: &[f32], u: &[f32], s: &mut Scratch, y: SendPtr<f32>, tiles: usize, tail: Option<&Epilogue>) {
    let (c, o, nx) = (g.c, g.o, (M + 2) * (M + 2));
    let (sv, sm) = (stride(nx * c), stride(nx * o));
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
            unsafe { input_tile::<M>(g, x, mine, t - r.start, t) };
        }
    });
    each(nx, |xi| {
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
            unsafe { output_tile::<M>(g, mine, t - r.start, t, y) };
            if let Some(tail) = tail {
                // SAFETY: as above; tile t's outputs are final.
                unsafe { tile_rows::<M>(g, t, y, |start, run| tail.apply(start, run)) };
            }
        }
    });
}

/// One block of tiles t0..t1: transform the input tiles, A² products, transform back.
///
/// # Safety
/// AVX-512F; `v` and `m` hold `per` tile rows (`stride(A²·C)` and `stride(A²·O)` floats); `y`
/// is the output and no other thread writes these tiles' outputs.
#[target_feature(enable = "avx512f")]
#[allow(clippy::too_many_arguments)]
unsafe fn block<const M: usize>(g: &Geo, x: &[f32], u: &[f32], v: &mut [f32], m: &mut [f32], y: SendPtr<f32>, t0: usize, t1: usize) {
    let (c, o, n, nx) = (g.c, g.o, t1 - t0, (M + 2) * (M + 2));
    for t in t0..t1 {
        // SAFETY: AVX-512F (this function's); row t - t0 < per.
        unsafe { input_tile::<M>(g, x, v, t - t0, t) };
    }
    for xi in 0..nx {
        let prod = Gemm {
            m: n,
            n: o,
            k: c,
            a: v[xi * c..].as_ptr(),
            lda: stride(nx * c),
            b: u[xi * kmat(c, o)..].as_ptr() as *const u8,
            bkind: BKind::Panels,
            ldb: c,
            c: m[xi * o..].as_mut_ptr(),
            ldc: stride(nx * o),
            accumulate: false,
        };
        // SAFETY: A is n tile rows, c floats each from column ξ·c, of the transformed input; B
        // the c×o matrix ξ of the kernel; C n tile rows, o floats from column ξ·o, of the
        // products: all inside the buffers, C owned by this thread.
        unsafe { gemm_st(&prod) };
    }
    for t in t0..t1 {
        // SAFETY: forwarded (tile t's outputs belong to this block).
        unsafe { output_tile::<M>(g, m, t - t0, t, y) };
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


/// Tile `t`'s transformed input `Bᵀ d B` (d its A×A input block, zero outside the image),
/// written as tile row `row` of `v` (transform ξ at column ξ·C).
///
/// # Safety
/// AVX-512F; `v` holds tile row `row`.
#[target_feature(enable = "avx512f")]
unsafe fn input_tile<const M: usize>(g: &Geo, x: &[f32], v: &mut [f32], row: usize, t: usize) {
    // SAFETY: forwarded. The arrays are sized exactly (A = M + 2, A²), so they live in registers.
    unsafe {
        if M == 2 {
            input_tile_sized::<2, 4, 16>(g, x, v, row, t)
        } else {
            input_tile_sized::<4, 6, 36>(g, x, v, row, t)
        }
    }
}

/// `input_tile` with A = M + 2 and NX = A² as parameters (array lengths).
///
/// # Safety
/// As `input_tile`.
#[target_feature(enable = "avx512f")]
unsafe fn input_tile_sized<const M: usize, const A: usize, const NX: usize>(g: &Geo, x: &[f32], v: &mut [f32], row: usize, t: usize) {
    let (img, rest) = (t / g.per_image, t % g.per_image);
    let (r0, c0) = ((M * (rest / g.tw)) as i64 - g.pt, (M * (rest % g.tw)) as i64 - g.pl);
    let inside = r0 >= 0 && c0 >= 0 && r0 as usize + A <= g.h && c0 as usize + A <= g.w;
    // Offsets of the A×A input pixels (None in the padding).
    let at: [Option<usize>; NX] = std::array::from_fn(|p| {
        let (r, col) = (r0 + (p / A) as i64, c0 + (p % A) as i64);
        (r >= 0 && (r as usize) < g.h && col >= 0 && (col as usize) < g.w).then(|| ((img * g.h + r as usize) * g.w + col as usize) * g.c)
    });
    let vp = v.as_mut_ptr();
    let xp = x.as_ptr();
    // SAFETY: loads read features f0..f0+len of in-image pixels (offsets computed above, inside
    // x); stores write tile row `row`, features f0..f0+len of each transform, inside v.
    unsafe {
        for f0 in (0..g.c).step_by(L) {
            let mask = lanes(g.c - f0);
            let d: [__m512; NX] = if inside {
                // Interior tiles (almost all): no padding test per pixel.
                let base = xp.add(((img * g.h + r0 as usize) * g.w + c0 as usize) * g.c + f0);
                std::array::from_fn(|p| _mm512_maskz_loadu_ps(mask, base.add(((p / A) * g.w + p % A) * g.c)))
            } else {
                std::array::from_fn(|p| match at[p] {
                    Some(off) => _mm512_maskz_loadu_ps(mask, xp.add(off + f0)),
                    None => _mm512_setzero_ps(),
                })
            };
            // e = Bᵀ d (combining rows), then e B (combining columns).
            let mut e = [_mm512_setzero_ps(); NX];
            for col in 0..A {
                let r = input_line::<A>(std::array::from_fn(|i| d[A * i + col]));
                for i in 0..A {
                    e[A * i + col] = r[i];
                }
            }
            let dst = vp.add(row * stride(NX * g.c) + f0);
            for i in 0..A {
                let out = input_line::<A>(std::array::from_fn(|j| e[A * i + j]));
                for (j, &val) in out.iter().enumerate() {
                    store(dst.add((A * i + j) * g.c), mask, val);
                }
            }
        }
    }
}

/// Bᵀ times one line of A inputs (the first A of `d`).
/// F(2×2) (points 0, ±1, ∞): Bᵀ = [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]].
/// F(4×4) (points 0, ±1, 2, -½, ∞: a third of the largest rounding error of the usual 0, ±1,
/// ±2, ∞ on random 64-feature layers): Bᵀ = [[1, 3/2, -2, -3/2, 1, 0], [0, -1, -5/2, -½, 1, 0],
/// [0, 1, ½, -5/2, 1, 0], [0, -½, -1, ½, 1, 0], [0, 2, -1, -2, 1, 0], [0, 1, 3/2, -2, -3/2, 1]].
#[target_feature(enable = "avx512f")]
#[inline]
fn input_line<const A: usize>(d: [__m512; A]) -> [__m512; A] {
    if A == 4 {
        let r = [_mm512_sub_ps(d[0], d[2]), _mm512_add_ps(d[1], d[2]), _mm512_sub_ps(d[2], d[1]), _mm512_sub_ps(d[1], d[3])];
        return std::array::from_fn(|i| r[i]);
    }
    let k = |v: f32| _mm512_set1_ps(v);
    let (inner, step) = (_mm512_sub_ps(d[4], d[2]), _mm512_sub_ps(d[3], d[1]));
    let r = [
        _mm512_fmadd_ps(k(1.5), _mm512_sub_ps(d[1], d[3]), _mm512_fnmadd_ps(k(2.0), d[2], _mm512_add_ps(d[0], d[4]))),
        _mm512_fnmadd_ps(k(2.5), d[2], _mm512_fnmadd_ps(k(0.5), d[3], _mm512_sub_ps(d[4], d[1]))),
        _mm512_fnmadd_ps(k(2.5), d[3], _mm512_fmadd_ps(k(0.5), d[2], _mm512_add_ps(d[4], d[1]))),
        _mm512_fmadd_ps(k(0.5), step, inner),
        _mm512_fnmadd_ps(k(2.0), step, inner),
        _mm512_fmadd_ps(k(1.5), _mm512_sub_ps(d[2], d[4]), _mm512_fnmadd_ps(k(2.0), d[3], _mm512_add_ps(d[5], d[1]))),
    ];
    std::array::from_fn(|i| r[i])
}

/// Aᵀ times one line of A products (the first A of `p`): M outputs.
/// F(2×2): Aᵀ = [[1, 1, 1, 0], [0, 1, -1, -1]].
/// F(4×4): Aᵀ = [[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -½, 0], [0, 1, 1, 4, ¼, 0], [0, 1, -1, 8, -⅛, 1]].
#[target_feature(enable = "avx512f")]
#[inline]
fn output_line<const A: usize, const M: usize>(p: [__m512; A]) -> [__m512; M] {
    if M == 2 {
        let r = [_mm512_add_ps(_mm512_add_ps(p[0], p[1]), p[2]), _mm512_sub_ps(_mm512_sub_ps(p[1], p[2]), p[3])];
        return std::array::from_fn(|i| r[i]);
    }
    let k = |v: f32| _mm512_set1_ps(v);
    let (sum, dif) = (_mm512_add_ps(p[1], p[2]), _mm512_sub_ps(p[1], p[2]));
    let r = [
        _mm512_add_ps(_mm512_add_ps(p[0], sum), _mm512_add_ps(p[3], p[4])),
        _mm512_fmadd_ps(k(2.0), p[3], _mm512_fnmadd_ps(k(0.5), p[4], dif)),
        _mm512_fmadd_ps(k(4.0), p[3], _mm512_fmadd_ps(k(0.25), p[4], sum)),
        _mm512_fmadd_ps(k(8.0), p[3], _mm512_fnmadd_ps(k(0.125), p[4], _mm512_add_ps(dif, p[5]))),
    ];
    std::array::from_fn(|i| r[i])
}

/// G times one line of the 3 kernel taps: A values.
/// F(2×2): G = [[1, 0, 0], [½, ½, ½], [½, -½, ½], [0, 0, 1]].
/// F(4×4): G = [[1, 0, 0], [-⅓, -⅓, -⅓], [⅓, -⅓, ⅓], [1/15, 2/15, 4/15], [-16/15, 8/15, -4/15],
/// [0, 0, 1]].
#[target_feature(enable = "avx512f")]
#[inline]
fn kernel_line<const A: usize>(g: [__m512; 3]) -> [__m512; A] {
    let k = |v: f32| _mm512_set1_ps(v);
    if A == 4 {
        let (s, d) = (_mm512_add_ps(_mm512_add_ps(g[0], g[1]), g[2]), _mm512_add_ps(_mm512_sub_ps(g[0], g[1]), g[2]));
        let r = [g[0], _mm512_mul_ps(k(0.5), s), _mm512_mul_ps(k(0.5), d), g[2]];
        return std::array::from_fn(|i| r[i]);
    }
    let ends = _mm512_add_ps(g[0], g[2]);
    let r = [
        g[0],
        _mm512_mul_ps(k(-1.0 / 3.0), _mm512_add_ps(ends, g[1])),
        _mm512_mul_ps(k(1.0 / 3.0), _mm512_sub_ps(ends, g[1])),
        _mm512_mul_ps(k(1.0 / 15.0), _mm512_fmadd_ps(k(4.0), g[2], _mm512_fmadd_ps(k(2.0), g[1], g[0]))),
        _mm512_mul_ps(k(-4.0 / 15.0), _mm512_fmadd_ps(k(4.0), g[0], _mm512_fnmadd_ps(k(2.0), g[1], g[2]))),
        g[2],
    ];
    std::array::from_fn(|i| r[i])
}

/// Writes tile `t`'s outputs `Aᵀ m A` (m its A² products, tile row `row` of `m`); outputs
/// past the image edge are dropped.
///
/// # Safety
/// AVX-512F; `m` holds tile row `row`; `y` is the [N, Ho, Wo, O] output and
/// tile t's outputs are this thread's.
#[target_feature(enable = "avx512f")]
unsafe fn output_tile<const M: usize>(g: &Geo, m: &[f32], row: usize, t: usize, y: SendPtr<f32>) {
    // SAFETY: forwarded; exact array sizes, as in `input_tile`.
    unsafe {
        if M == 2 {
            output_tile_sized::<2, 4, 16>(g, m, row, t, y)
        } else {
            output_tile_sized::<4, 6, 36>(g, m, row, t, y)
        }
    }
}

/// `output_tile` with A = M + 2 and NX = A² as parameters.
///
/// # Safety
/// As `output_tile`.
#[target_feature(enable = "avx512f")]
unsafe fn output_tile_sized<const M: usize, const A: usize, const NX: usize>(g: &Geo, m: &[f32], row: usize, t: usize, y: SendPtr<f32>) {
    let (img, rest) = (t / g.per_image, t % g.per_image);
    let (r0, c0) = (M * (rest / g.tw), M * (rest % g.tw));
    // SAFETY: loads read tile row `row`, features f0..f0+len of the A² products (inside m);
    // stores write in-image outputs of this tile (checked against Ho, Wo), features f0..f0+len.
    unsafe {
        let src = m.as_ptr().add(row * stride(NX * g.o));
        for f0 in (0..g.o).step_by(L) {
            let mask = lanes(g.o - f0);
            let p: [__m512; NX] = std::array::from_fn(|xi| _mm512_maskz_loadu_ps(mask, src.add(xi * g.o + f0)));
            // s = Aᵀ p (M rows of A), then s A (M columns each).
            let cols: [[__m512; M]; A] = std::array::from_fn(|col| output_line::<A, M>(std::array::from_fn(|i| p[A * i + col])));
            for i in 0..M {
                let outs = output_line::<A, M>(std::array::from_fn(|j| cols[j][i]));
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

/// Calls `f(start, run)` on each of tile `t`'s output rows (up to M pixels × O floats, clipped
/// to the image) with its flat offset in the output.
///
/// # Safety
/// `y` is the output and no other thread accesses tile t's outputs meanwhile.
unsafe fn tile_rows<const M: usize>(g: &Geo, t: usize, y: SendPtr<f32>, mut f: impl FnMut(usize, &mut [f32])) {
    let (img, rest) = (t / g.per_image, t % g.per_image);
    let (r0, c0) = (M * (rest / g.tw), M * (rest % g.tw));
    let cols = (g.wo - c0).min(M);
    for r in r0..(r0 + M).min(g.ho) {
        let start = ((img * g.ho + r) * g.wo + c0) * g.o;
        // SAFETY: pixels (r, c0..c0+cols) of image img are inside the output and the caller's.
        f(start, unsafe { std::slice::from_raw_parts_mut(y.get().add(start), cols * g.o) });
    }
}

/// The kernel's transform `G g Gᵀ` for every (input, output) feature pair, as A² matrices
/// [C, O] in panels (matrix ξ at ξ·`kmat`).
fn transform_kernel<const M: usize>(w: &[f32], c: usize, o: usize, u: &mut [f32]) {
    assert!(u.len() >= (M + 2) * (M + 2) * kmat(c, o));
    let up = SendPtr(u.as_mut_ptr());
    let row = |ci: usize| {
        let _ = up;
        // SAFETY: AVX-512F (checked by `applies`); this task writes row ci of each matrix.
        unsafe { kernel_row::<M>(w, c, o, ci, up) }
    };
    if crate::par::parallel((M + 2) * (M + 2) * c * o) {
        (0..c).into_par_iter().for_each(row);
    } else {
        (0..c).for_each(row);
    }
}

/// Row `ci` (input feature ci, every output feature) of the A² transformed kernel matrices.
///
/// # Safety
/// AVX-512F; `u` holds the A² matrices (`kmat`) and no other thread writes row ci of them.
#[target_feature(enable = "avx512f")]
unsafe fn kernel_row<const M: usize>(w: &[f32], c: usize, o: usize, ci: usize, u: SendPtr<f32>) {
    // SAFETY: forwarded; exact array sizes, as in `input_tile`.
    unsafe {
        if M == 2 {
            kernel_row_sized::<4>(w, c, o, ci, u)
        } else {
            kernel_row_sized::<6>(w, c, o, ci, u)
        }
    }
}

/// `kernel_row` with A = M + 2 as a parameter.
///
/// # Safety
/// As `kernel_row`.
#[target_feature(enable = "avx512f")]
unsafe fn kernel_row_sized<const A: usize>(w: &[f32], c: usize, o: usize, ci: usize, u: SendPtr<f32>) {
    // SAFETY: loads read w[kh, kw, ci, f0..f0+len] (inside the [3, 3, C, O] kernel); stores
    // write row ci of each matrix ξ, this task's row.
    unsafe {
        for f0 in (0..o).step_by(L) {
            let mask = lanes(o - f0);
            let g: [__m512; 9] = std::array::from_fn(|p| _mm512_maskz_loadu_ps(mask, w.as_ptr().add((p * c + ci) * o + f0)));
            // t = G g (A rows of three, by column), then t Gᵀ (A columns each).
            let cols: [[__m512; A]; 3] = std::array::from_fn(|col| kernel_line::<A>([g[col], g[3 + col], g[6 + col]]));
            let at = (f0 / PANEL) * PANEL * c + ci * PANEL + f0 % PANEL;
            for i in 0..A {
                let vals = kernel_line::<A>([cols[0][i], cols[1][i], cols[2][i]]);
                for (j, &val) in vals.iter().enumerate() {
                    store(u.get().add((A * i + j) * kmat(c, o) + at), mask, val);
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
