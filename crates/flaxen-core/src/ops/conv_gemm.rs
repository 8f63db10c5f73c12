//! The convolution as sgemm products (every case but depthwise; `conv.rs` has the layout), in
//! tasks of output rows × one group × a band of its output columns, run in parallel:
//!
//! * implicit: a task is part of one output line. Along the last spatial axis output column j's
//!   window row starts s·C floats after column j−1's (s the stride), and with no dilation there
//!   it is one contiguous run of kw·C floats (kw window positions × the features). So per window
//!   position over the other axes (kh), one product reads A in place: the input line, row
//!   stride s·C, depth kw·C, against the kernel's kh-th block of rows. Padding or lhs dilation
//!   along the last axis comes from a copy of the input line laid out as the product reads it
//!   (zero columns around and between); positions over the other axes that fall in padding are
//!   skipped. The products accumulate into the task's output rows. No gather at all for 1×1
//!   windows with strides; for the ResNet stem (7×7/2, C = 3) it replaces 49 copies of 3 floats
//!   per output position by 7 products of depth 21.
//! * im2col: a task is a tile of output rows (across lines) whose windows are gathered into a
//!   block [rows, window·C/G], then one product with the kernel read in place as a
//!   [window·C/G, O] matrix. A window row (its kw positions along the last axis) is one copy
//!   and zero fills for the padding, or one copy per position under dilation or groups. A 1×1
//!   window with unit strides, no padding and no dilation needs no gather: the input is already
//!   that matrix.

use std::cell::RefCell;
use std::sync::Arc;

use crate::ops::conv::{copy_padded, Geometry};
use crate::ops::fused::Epilogue;
use crate::ops::gemm::{gemm_st, pack_panels, BKind, Gemm, BANDS_PER_THREAD, FEW_ROWS, PANEL, PAR_WORK};
use crate::ops::kept::{kept, Form, Make};
use crate::storage::Storage;
use crate::par::SendPtr;

/// Most output rows per im2col tile.
const TILE: usize = 128;
/// Bytes of one im2col tile at most (fewer rows for deep windows, never under 12, the
/// microkernel's height): it stays in L2 while the product reads it. A 3×3×64 window is 576
/// floats a row, 288 KiB for 128 rows.
const TILE_BYTES: usize = 512 << 10;
/// Most output rows of one implicit task: its output block is read and written once per window
/// position over the other axes, so it should stay in cache.
const PIECE: usize = 256;
/// The most bytes of the single im2col tile made for few output rows (`FEW_ROWS`; each thread
/// keeps its tile buffer).
const ONE_TILE_BYTES: usize = 4 << 20;
/// A core's L2 cache (Zen 4/5: 1 MiB).
const L2_BYTES: usize = 1 << 20;

thread_local! {
    /// Each thread's im2col tile or copied input line, kept for the next call.
    static SCRATCH: RefCell<Scratch> = const { RefCell::new(Scratch { buf: Vec::new(), tile: None }) };
}

/// A thread's buffer, and which im2col tile it holds: (call, r0, r1, group). Tasks that differ
/// only in their column band share a tile, so a thread running several bands of one tile
/// gathers it once.
struct Scratch {
    buf: Vec<f32>,
    tile: Option<(u64, usize, usize, usize)>,
}

/// Numbers the `conv_gemm` calls, so that a tile held from another call is never taken for
/// this one's.
static CALLS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Output rows r0..r1 (within one line for the implicit path), group `grp`, its output columns
/// j0..j1.
#[derive(Clone, Copy)]
struct Task {
    r0: usize,
    r1: usize,
    grp: usize,
    j0: usize,
    j1: usize,
}

/// The kernel as the products read it: the [kdepth, O] matrix `w`, and the same in the
/// microkernel's panels when they are kept for it.
#[derive(Clone, Copy)]
struct Kernel<'a> {
    w: &'a [f32],
    panels: Option<&'a [f32]>,
}

/// The convolution into `y` ([rows, O]; every element is written), with `tail` run on each
/// task's outputs once they are final. `src`: the storage of `w`, when there is one.
pub(super) fn conv_gemm(geo: &Geometry, x: &[f32], w: &[f32], src: Option<&Arc<Storage>>, y: &mut [f32], tail: Option<&Epilogue>) {
    let implicit = takes_implicit(geo);
    let (rows, ol) = (geo.rows(), geo.line_len());
    let units: Vec<(usize, usize)> = if implicit {
        // Each line in pieces of equal length.
        let per = ol.div_ceil(PIECE);
        (0..rows / ol).flat_map(|line| (0..per).map(move |i| (line * ol + ol * i / per, line * ol + ol * (i + 1) / per))).collect()
    } else {
        // Few rows in all (batch-1 late stages) make one tile: the product then reads the
        // kernel once with every row, block by block of depth (gemm's few-row order keeps
        // the tile's current depth block in L2, however long the tile).
        let one = rows <= FEW_ROWS && 4 * rows * geo.kdepth() <= ONE_TILE_BYTES;
        let most = if one { rows } else { (TILE_BYTES / (4 * geo.kdepth())).clamp(12, TILE) };
        let n = rows.div_ceil(most);
        (0..n).map(|i| (rows * i / n, rows * (i + 1) / n)).collect()
    };
    // Products of few rows read each kernel row once per row panel of ≤ 12 rows, column panel
    // by column panel: kept in panels, a panel is one contiguous run instead of a strip at
    // the row stride of O floats, which the hardware prefetchers do not follow and which maps
    // onto few cache sets when O is a power of two. ResNet's 3×3 7×7×512 at batch 1, weights
    // from memory: p10 0.84–0.86 → 0.74–0.79 ms on two threads, unchanged on one (1.30).
    // (Not for single rows: in place those are the matvec, whose sums run in another order,
    // and a call must give the bits the call before gave.)
    let few = units.iter().all(|&(r0, r1)| (2..=FEW_ROWS).contains(&(r1 - r0)));
    let panels = src.filter(|_| few && geo.cg == geo.c && crate::cpu::has_avx512f()).and_then(|s| {
        let (k, n) = (geo.kdepth(), geo.o);
        kept(s, Form::Panels { k, n }, n.next_multiple_of(PANEL) * k, Make::OnReuse, |out| pack_panels(w, k, n, out))
    });
    let kernel = Kernel { w, panels: panels.as_ref().map(|p| &p[..]) };
    let g = geo.c / geo.cg;
    let threads = rayon::current_num_threads();
    let parallel = threads > 1 && rows * geo.kdepth() * geo.o >= PAR_WORK;
    let bands = if parallel { column_bands(geo.og, units.len() * g, threads) } else { vec![(0, geo.og)] };
    let mut tasks = Vec::with_capacity(units.len() * g * bands.len());
    for &(r0, r1) in &units {
        for grp in 0..g {
            tasks.extend(bands.iter().map(|&(j0, j1)| Task { r0, r1, grp, j0, j1 }));
        }
    }
    let yp = SendPtr(y.as_mut_ptr());
    let call = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let run = |t: &Task| {
        SCRATCH.with(|s| {
            let s = &mut *s.borrow_mut();
            if implicit {
                s.tile = None;
                implicit_task(geo, x, kernel, yp, t, &mut s.buf)
            } else {
                let key = (call, t.r0, t.r1, t.grp);
                let gathered = s.tile == Some(key);
                s.tile = Some(key);
                im2col_task(geo, x, kernel, yp, t, &mut s.buf, gathered)
            }
        });
        if let Some(tail) = tail {
            task_rows(geo, yp, t, |start, run| tail.apply(start, run));
        }
    };
    if parallel && tasks.len() > 1 {
        crate::par::each(tasks.len(), |i| run(&tasks[i]));
    } else {
        tasks.iter().for_each(run);
    }
}

/// Whether the implicit lowering serves this convolution (else im2col). Its products have a
/// line's outputs as rows and read the whole kernel once per line: below 6 rows they lose to
/// im2col's tiles (of up to 128 rows), and below 12 too when the kernel outgrows L2. Measured
/// on one thread, implicit against im2col in GFLOP/s, [N, H, W, C] → O, 3×3/2 unpadded:
/// [1, 11, 11, 64] → 128 (5-output lines) 181 vs 196, [1, 15, 15, 64] → 128 (7) 200 vs 194,
/// [1, 17, 17, 256] → 256 (8, a 2.4 MB kernel) 146 vs 163; 3×3/2 SAME [1, 28, 28, 128] → 256
/// (14, 1.2 MB) 197 vs 198; the ResNet stem (112, C = 3) 178 vs 124.
fn takes_implicit(geo: &Geometry) -> bool {
    let ol = geo.line_len();
    let kernel_bytes = 4 * geo.kdepth() * geo.o;
    ol >= 6 && (ol >= 12 || kernel_bytes <= L2_BYTES) && !pointwise(geo)
}

/// Whether a window row is one contiguous run of kw·C input floats (no dilation along the last
/// axis, no groups), which one implicit product reads in place.
fn one_run(geo: &Geometry) -> bool {
    geo.kw() == 1 || (geo.spec.rhs_dilation[geo.last()] == 1 && geo.cg == geo.c)
}

/// A 1×1 window with unit strides, no padding and no lhs dilation: the input is the im2col
/// matrix.
fn pointwise(geo: &Geometry) -> bool {
    let s = geo.spec;
    geo.window.iter().all(|&k| k == 1)
        && s.strides.iter().all(|&v| v == 1)
        && s.padding.iter().all(|&p| p == (0, 0))
        && s.lhs_dilation.iter().all(|&d| d == 1)
}

/// Bands of a group's `og` output columns, cut on the microkernel's 32-column boundaries: as
/// few as keep the threads evenly loaded (no more than a tenth of their time idle when tasks
/// cost alike), given `units` tasks of rows per band, and `BANDS_PER_THREAD` tasks per thread
/// while a band keeps two panels: a core of this VM runs ~20% slow for stretches at a time,
/// and the hand-off's stealing then moves its last tasks to the other thread (a thread
/// gathers an im2col tile once for all its bands of it). ResNet's last stage has 7 output
/// lines: 7 tasks on 2 threads leave one idle for 1/8 of the time, 14 (two bands) none; at
/// batch 1 it is one tile of 49 rows, now in 8 bands. ResNet-18 at batch 1 on two threads,
/// ten alternated runs: median 10.77 → 10.53 ms (better in 8 of the 10 pairs).
fn column_bands(og: usize, units: usize, threads: usize) -> Vec<(usize, usize)> {
    let panels = og.div_ceil(32);
    let even = |n: usize| 10 * (units * n).div_ceil(threads) * threads <= 11 * units * n;
    let n = (1..=panels).find(|&n| even(n) && (units * n >= BANDS_PER_THREAD * threads || 2 * n > panels)).unwrap_or(panels);
    (0..n).map(|i| ((panels * i / n * 32).min(og), (panels * (i + 1) / n * 32).min(og))).collect()
}

/// C (+)= A·B for task `t`: output rows r0..r0+m, columns j0..j1 of group grp's; A is m rows
/// of depth `k` at stride `lda` from the start of `a`; B is rows kr..kr+k of the kernel.
#[allow(clippy::too_many_arguments)]
fn product(geo: &Geometry, w: Kernel, y: SendPtr<f32>, t: &Task, r0: usize, m: usize, a: &[f32], lda: usize, kr: usize, k: usize, accumulate: bool) {
    assert!(m > 0 && (m - 1) * lda + k <= a.len() && kr + k <= geo.kdepth() && r0 + m <= geo.rows());
    let col = t.grp * geo.og + t.j0;
    let (b, bkind, ldb) = match w.panels {
        // Panels exist only without groups, and bands start on panel boundaries.
        Some(p) => {
            assert!(col % PANEL == 0 && p.len() >= geo.o.next_multiple_of(PANEL) * geo.kdepth());
            (&p[col * geo.kdepth() + kr * PANEL..], BKind::Panels, geo.kdepth())
        }
        None => (&w.w[kr * geo.o + col..], BKind::F32, geo.o),
    };
    let prod = Gemm {
        m,
        n: t.j1 - t.j0,
        k,
        a: a.as_ptr(),
        lda,
        b: b.as_ptr() as *const u8,
        bkind,
        ldb,
        // SAFETY (offset): row r0 < rows, column col < o of the [rows, o] output.
        c: unsafe { y.get().add(r0 * geo.o + col) },
        ldc: geo.o,
        accumulate,
    };
    // SAFETY: A holds m rows of k floats at stride lda (asserted); B is the kernel read as
    // kdepth rows of o floats (or its panels, all there: asserted), k rows from kr and
    // j1 − j0 ≤ og − j0 columns from col; C is
    // output rows r0..r0+m, those columns, written by this task alone (tasks partition the
    // output by rows, groups and bands).
    unsafe { gemm_st(&prod) };
}

/// Calls `f(start, run)` on task `t`'s outputs: one run when it covers whole output rows, else
/// one per row (its band of columns), with the run's flat offset in the output.
fn task_rows(geo: &Geometry, y: SendPtr<f32>, t: &Task, mut f: impl FnMut(usize, &mut [f32])) {
    let (o, col) = (geo.o, t.grp * geo.og + t.j0);
    let width = t.j1 - t.j0;
    let mut run = |start: usize, len: usize| {
        // SAFETY: the run lies inside the [rows, O] output, in this task's rows and columns,
        // which no other task writes; the task has finished with them.
        f(start, unsafe { std::slice::from_raw_parts_mut(y.get().add(start), len) })
    };
    if width == o {
        run(t.r0 * o, (t.r1 - t.r0) * o);
    } else {
        (t.r0..t.r1).for_each(|r| run(r * o + col, width));
    }
}

/// The implicit lowering of task `t` (see the module docs).
fn implicit_task(geo: &Geometry, x: &[f32], w: Kernel, y: SendPtr<f32>, t: &Task, buf: &mut Vec<f32>) {
    let (l, s, c, cg) = (geo.last(), geo.spec, geo.c, geo.cg);
    let (ol, kw, stride, rd) = (geo.line_len(), geo.kw(), s.strides[l], s.rhs_dilation[l]);
    let (line, o0) = (t.r0 / ol, t.r0 % ol);
    let m = t.r1 - t.r0;
    // The columns of the padded, dilated input line the task reads: `span` from `start`.
    let span = (m - 1) * stride + (kw - 1) * rd + 1;
    let start = (o0 * stride) as i64 - s.padding[l].0;
    let one_run = one_run(geo);
    let lda = stride * c;
    let mut first = true;
    geo.for_outer(line, |ko, base| {
        let Some(base) = base else { return };
        let a = line_input(geo, x, base, start, span, buf);
        if one_run {
            // The window row is one run of kw·cg floats: the whole kh block of the kernel.
            product(geo, w, y, t, t.r0, m, &a[t.grp * cg..], lda, ko * kw * cg, kw * cg, !first);
        } else {
            for k in 0..kw {
                let a = &a[k * rd * c + t.grp * cg..];
                product(geo, w, y, t, t.r0, m, a, lda, (ko * kw + k) * cg, cg, !first);
                first = false;
            }
        }
        first = false;
    });
    if first {
        // Every window row fell in padding: the outputs are zeros.
        task_rows(geo, y, t, |_, run| run.fill(0.0));
    }
}

/// Columns start..start+span of input line `base` as the padded, lhs-dilated line has them
/// (`span` pixels of C floats): in place when they are all input pixels, else copied into `buf`
/// with zeros for the padding and the dilation holes.
fn line_input<'b>(geo: &Geometry, x: &'b [f32], base: usize, start: i64, span: usize, buf: &'b mut Vec<f32>) -> &'b [f32] {
    let (c, wl, ld) = (geo.c, geo.in_len(), geo.spec.lhs_dilation[geo.last()] as i64);
    let row = &x[base * wl * c..(base + 1) * wl * c];
    if ld == 1 && start >= 0 && start as usize + span <= wl {
        return &row[start as usize * c..][..span * c];
    }
    if buf.len() < span * c {
        buf.resize(span * c, 0.0);
    }
    let out = &mut buf[..span * c];
    if ld == 1 {
        copy_padded(row, c, start, out);
    } else {
        for (j, px) in out.chunks_exact_mut(c).enumerate() {
            let q = start + j as i64;
            if q >= 0 && q % ld == 0 && ((q / ld) as usize) < wl {
                px.copy_from_slice(&row[(q / ld) as usize * c..][..c]);
            } else {
                px.fill(0.0);
            }
        }
    }
    out
}

/// The im2col lowering of task `t` (see the module docs).
fn im2col_task(geo: &Geometry, x: &[f32], w: Kernel, y: SendPtr<f32>, t: &Task, col: &mut Vec<f32>, gathered: bool) {
    let (kd, m) = (geo.kdepth(), t.r1 - t.r0);
    if pointwise(geo) {
        // Row r of the input is output row r's window: the group's features, in place.
        product(geo, w, y, t, t.r0, m, &x[t.r0 * geo.c + t.grp * geo.cg..], geo.c, 0, kd, false);
        return;
    }
    if col.len() < m * kd {
        col.resize(m * kd, 0.0);
    }
    if gathered {
        // This thread gathered the tile for another band of the same rows in this call.
        product(geo, w, y, t, t.r0, m, &col[..m * kd], kd, 0, kd, false);
        return;
    }
    // Every float of the tile is written below (a copy or a zero fill).
    let tile = &mut col[..m * kd];
    let (ol, seg) = (geo.line_len(), geo.kw() * geo.cg);
    let mut r = t.r0;
    while r < t.r1 {
        // The tile's rows on line r / ol: window position ko's runs at ko·seg of each.
        let (line, end) = (r / ol, (r / ol + 1) * ol);
        let end = end.min(t.r1);
        let rows = &mut tile[(r - t.r0) * kd..(end - t.r0) * kd];
        geo.for_outer(line, |ko, base| {
            for (ow, dst) in (r % ol..).zip(rows.chunks_exact_mut(kd)) {
                gather_run(geo, x, base, ow, t.grp, &mut dst[ko * seg..(ko + 1) * seg]);
            }
        });
        r = end;
    }
    product(geo, w, y, t, t.r0, m, tile, kd, 0, kd, false);
}

/// Writes output column `ow`'s window row over input line `base` (None: padding) into `dst`:
/// kw positions × the group's features, zeros where the window falls outside the input.
fn gather_run(geo: &Geometry, x: &[f32], base: Option<usize>, ow: usize, grp: usize, dst: &mut [f32]) {
    let Some(base) = base else {
        dst.fill(0.0);
        return;
    };
    let (l, s, c, cg, kw, wl) = (geo.last(), geo.spec, geo.c, geo.cg, geo.kw(), geo.in_len());
    let row = &x[base * wl * c..(base + 1) * wl * c];
    if cg == c && s.lhs_dilation[l] == 1 && (s.rhs_dilation[l] == 1 || kw == 1) {
        // Consecutive positions read consecutive pixels: one run, zeros either side.
        copy_padded(row, c, (ow * s.strides[l]) as i64 - s.padding[l].0, dst);
        return;
    }
    for (k, d) in dst.chunks_exact_mut(cg).enumerate() {
        match geo.input_index(l, ow, k) {
            Some(i) => d.copy_from_slice(&row[i * c + grp * cg..][..cg]),
            None => d.fill(0.0),
        }
    }
}
