//! `lax.conv_general_dilated` in its channels-last form: lhs [N, *spatial, C], rhs
//! [*window, C/G, O] (Flax's NHWC / HWIO), out [N, *out_spatial, O], for 1 to 3 spatial axes,
//! with window strides, (lo, hi) padding (negative crops), lhs (input) and rhs (kernel)
//! dilation and G feature groups. Other layouts are transposes in front of it (`ts/lax.ts`).
//!
//! The product goes through the sgemm microkernel: output positions are taken in tiles of up
//! to `TILE` rows; a tile gathers its windows into an im2col block [rows, window·C/G] (channels
//! are contiguous, so each window position is one copy or one zero fill), then one product per
//! group with that group's columns of the kernel, read in place as a [window·C/G, O] matrix.
//! A 1×1 window with unit strides, no padding and no dilation needs no gather: the input is
//! already that matrix. Tiles (and groups) run in parallel. Depthwise convolutions (one input
//! feature per group) skip the product: each output row adds its window's input rows, scaled.
//! 3×3 windows with unit strides (most of a ResNet) take Winograd's F(2×2, 3×3) instead
//! (`winograd.rs`): 2.25× fewer multiply-adds.

use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::ops::gemm::{gemm_st, BKind, Gemm};
use crate::par::SendPtr;
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

/// Most output rows (positions) per im2col tile.
const TILE: usize = 128;
/// Bytes of one im2col tile at most (fewer rows for deep windows, never under 12, the
/// microkernel's height): it stays in L2 while the product reads it. A 3×3×64 window is 576
/// floats a row, 288 KiB for 128 rows.
const TILE_BYTES: usize = 512 << 10;

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
    for (t, what) in [(lhs, "lhs"), (rhs, "rhs")] {
        if t.dtype() != DType::F32 {
            return Err(Error::dtype(format!("conv_general_dilated: {what} has dtype {}; expected a float dtype", t.dtype())));
        }
    }
    let (ls, rs) = (lhs.shape(), rhs.shape());
    let out_shape = conv_shape(ls, rs, spec)?;
    let nsp = spec.strides.len();
    let (c, o, g) = (ls[nsp + 1], rs[nsp + 1], spec.groups);
    let (cg, og) = (c / g, o / g);
    let window: Vec<usize> = rs[..nsp].to_vec();
    let kdepth = numel(&window) * cg;
    let rows = numel(&out_shape[..nsp + 1]);
    if rows == 0 || o == 0 {
        return Tensor::try_zeros(&out_shape, DType::F32);
    }
    let mut out = Tensor::try_zeros(&out_shape, DType::F32)?;
    if kdepth == 0 {
        return Ok(out);
    }
    let (x, w) = (lhs.raw::<f32>(), rhs.raw::<f32>());
    let y = out.raw_mut::<f32>().expect("a fresh tensor is not shared");
    #[cfg(target_arch = "x86_64")]
    if super::winograd::applies(ls, rs, &out_shape, spec) {
        super::winograd::conv(x, w, y, ls, &out_shape, spec);
        return Ok(out);
    }
    let pointwise = window.iter().all(|&k| k == 1)
        && spec.strides.iter().all(|&s| s == 1)
        && spec.padding.iter().all(|&p| p == (0, 0))
        && spec.lhs_dilation.iter().all(|&d| d == 1);
    let yp = SendPtr(y.as_mut_ptr());
    let product = |a: *const f32, lda: usize, r0: usize, nrows: usize, grp: usize| {
        let prod = Gemm {
            m: nrows,
            n: og,
            k: kdepth,
            a,
            lda,
            // SAFETY (offsets): column grp·og of the [kdepth, o] kernel and of output row r0.
            b: unsafe { (w.as_ptr() as *const u8).add(grp * og * 4) },
            bkind: BKind::F32,
            ldb: o,
            c: unsafe { yp.get().add(r0 * o + grp * og) },
            ldc: o,
            accumulate: false,
        };
        // SAFETY: A holds nrows rows of kdepth floats (stride lda); B is the kernel read as
        // kdepth rows of o floats, og of them from column grp·og; C is rows r0.. of the output,
        // columns grp·og..(grp+1)·og, written by this task alone (tiles and groups partition it).
        unsafe { gemm_st(&prod) };
    };
    let tile_rows = (TILE_BYTES / (4 * kdepth)).clamp(12, TILE);
    let tasks = rows.div_ceil(tile_rows) * g;
    let run = |t: usize| {
        let (tile, grp) = (t / g, t % g);
        let (r0, r1) = (tile * tile_rows, ((tile + 1) * tile_rows).min(rows));
        if pointwise {
            // Row r of the input is output row r's window: the group's channels, in place.
            product(x[r0 * c + grp * cg..].as_ptr(), c, r0, r1 - r0, grp);
            return;
        }
        IM2COL.with(|cell| {
            let mut col = cell.borrow_mut();
            col.clear();
            col.resize((r1 - r0) * kdepth, 0.0);
            let mut idx = Vec::new();
            for (r, dst) in (r0..r1).zip(col.chunks_exact_mut(kdepth)) {
                // The row's window, position k at k·cg: the group's channels, or zeros.
                for_window(ls, &window, &out_shape, spec, r, &mut idx, |k, src| {
                    let d = &mut dst[k * cg..(k + 1) * cg];
                    match src {
                        Some(s) => d.copy_from_slice(&x[s * c + grp * cg..][..cg]),
                        None => d.fill(0.0),
                    }
                });
            }
            product(col.as_ptr(), kdepth, r0, r1 - r0, grp);
        });
    };
    if cg == 1 && g > 1 {
        // Depthwise (one input feature per group): no product to speak of (a window's worth of
        // multiply-adds per output), so each output row adds its window's input rows, scaled by
        // the kernel, across all features at once (features are contiguous on both sides).
        crate::par::chunks(y, o * TILE, |start, rows_out| {
            let mut idx = Vec::new();
            // The output starts zeroed (try_zeros).
            for (i, yr) in rows_out.chunks_exact_mut(o).enumerate() {
                for_window(ls, &window, &out_shape, spec, start / o + i, &mut idx, |k, src| {
                    let Some(s) = src else { return };
                    let (xs, ws) = (&x[s * c..(s + 1) * c], &w[k * o..(k + 1) * o]);
                    if og == 1 {
                        yr.iter_mut().zip(xs).zip(ws).for_each(|((y, &a), &b)| *y += a * b);
                    } else {
                        yr.iter_mut().zip(ws).enumerate().for_each(|(oc, (y, &b))| *y += xs[oc / og] * b);
                    }
                });
            }
        });
        return Ok(out);
    }
    let work = rows * kdepth * o;
    if tasks > 1 && rayon::current_num_threads() > 1 && work >= crate::ops::gemm::PAR_WORK {
        use rayon::prelude::*;
        (0..tasks).into_par_iter().for_each(|t| {
            let _ = yp;
            run(t)
        });
    } else {
        (0..tasks).for_each(run);
    }
    Ok(out)
}

thread_local! {
    /// Each thread's im2col tile, kept for the next call.
    static IM2COL: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Calls `f(k, src)` for each window position `k` of output row `r` (row-major over the
/// window): `src` is the input's position under it (batch and spatial indices flattened), or
/// None where it falls in padding or between dilated input elements. `idx` is scratch: each
/// axis's input index per window index is worked out once per row, not once per position.
fn for_window(ls: &[usize], window: &[usize], out_shape: &[usize], spec: &ConvSpec, r: usize, idx: &mut Vec<i64>, mut f: impl FnMut(usize, Option<usize>)) {
    let nsp = window.len();
    let mut rem = r;
    let mut pos = [0usize; 3];
    for d in (0..nsp).rev() {
        pos[d] = rem % out_shape[1 + d];
        rem /= out_shape[1 + d];
    }
    let batch = rem;
    idx.clear();
    let mut first = [0usize; 3];
    for d in 0..nsp {
        first[d] = idx.len();
        let ld = spec.lhs_dilation[d] as i64;
        for k in 0..window[d] {
            let q = (pos[d] * spec.strides[d] + k * spec.rhs_dilation[d]) as i64 - spec.padding[d].0;
            let inside = q >= 0 && q % ld == 0 && ((q / ld) as usize) < ls[1 + d];
            idx.push(if inside { q / ld } else { -1 });
        }
    }
    let mut kidx = [0usize; 3];
    for k in 0..numel(window) {
        let mut flat = Some(batch);
        for d in 0..nsp {
            let i = idx[first[d] + kidx[d]];
            flat = flat.filter(|_| i >= 0).map(|f| f * ls[1 + d] + i as usize);
        }
        f(k, flat);
        // Next window position, last axis fastest.
        for d in (0..nsp).rev() {
            kidx[d] += 1;
            if kidx[d] < window[d] {
                break;
            }
            kidx[d] = 0;
        }
    }
}
