//! Fused dot-product attention: `softmax(where(mask, (q / sqrt(d))·kᵀ + bias, finfo.min))·v`
//! per batch entry and head, for `[batch..., len, heads, depth]` operands (Flax's layout), without
//! materialising the `len_q × len_kv` weights.
//!
//! * Blocked online softmax (running max, running sum, rescaled accumulator): per block of
//!   `BQ` queries, the logits of one block of `BK` keys are one GEMM on our microkernel, and the
//!   weighted values another.
//! * A key block that the mask removes for the whole query block is skipped (a causal mask skips
//!   about half the work); a block the mask keeps whole is not masked element by element.
//! * Few queries (a decode step over the cache) take the bandwidth-bound path: per query, the
//!   key rows of all heads are read in memory order (a head's rows alone are `h·d` apart, too
//!   far for the prefetcher), then the value rows, in fixed chunks of keys across threads.
//! * A masked logit is excluded instead of set to `finfo.min`: the same softmax whenever a row
//!   keeps some key (`exp(min - max)` is 0 there). A row the mask removes entirely gives what the
//!   unfused composition gives: every logit is `finfo.min`, so the uniform average of the values.

use rayon::prelude::*;

use crate::cpu::fast_fn;
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::ops::elementwise::exp;
use crate::ops::gemm::{gemm_st, BKind, Gemm};
use crate::par::SendPtr;
use crate::tensor::Tensor;

/// Queries per block of the GEMM path.
const BQ: usize = 64;
/// Keys per block.
const BK: usize = 128;
/// Below this many queries per (batch, head), the dot-product path.
const SMALL_Q: usize = 8;

/// The shapes of one attention call, checked.
struct Dims {
    batch: Vec<usize>,
    nb: usize,
    lq: usize,
    lk: usize,
    h: usize,
    d: usize,
    dv: usize,
    /// Strides (elements, 0 where broadcast) of mask and bias over `[batch..., h, lq, lk]`.
    mask: Option<Vec<usize>>,
    bias: Option<Vec<usize>>,
}

/// Strides of `shape` broadcast (numpy's right-aligned rule) to `target`, 0 on broadcast axes.
fn broadcast_strides(shape: &[usize], target: &[usize], what: &str) -> Result<Vec<usize>> {
    if shape.len() > target.len() {
        return Err(Error::shape(format!("attention: {what} has shape {shape:?}, which does not broadcast to {target:?}")));
    }
    let pad = target.len() - shape.len();
    let own = crate::shape::strides(shape);
    (0..target.len())
        .map(|a| {
            if a < pad {
                return Ok(0);
            }
            let d = shape[a - pad];
            if d == target[a] {
                Ok(if d == 1 { 0 } else { own[a - pad] })
            } else if d == 1 {
                Ok(0)
            } else {
                Err(Error::shape(format!("attention: {what} has shape {shape:?}, which does not broadcast to {target:?}")))
            }
        })
        .collect()
}

/// The output shape of `attention(q, k, v, bias, mask)`: `[batch..., lq, h, dv]`.
pub fn attention_shape(q: &[usize], k: &[usize], v: &[usize], bias: Option<&[usize]>, mask: Option<&[usize]>) -> Result<Vec<usize>> {
    Ok(dims(q, k, v, bias, mask)?.out_shape())
}

fn dims(q: &[usize], k: &[usize], v: &[usize], bias: Option<&[usize]>, mask: Option<&[usize]>) -> Result<Dims> {
    let r = q.len();
    if r < 3 || k.len() != r || v.len() != r {
        return Err(Error::shape(format!(
            "attention: query {q:?}, key {k:?} and value {v:?} must have the same rank, at least 3 ([batch..., length, heads, depth])"
        )));
    }
    let nbd = r - 3;
    let batch = q[..nbd].to_vec();
    if k[..nbd] != batch[..] || v[..nbd] != batch[..] {
        return Err(Error::shape(format!("attention: batch dims of query {q:?}, key {k:?} and value {v:?} must match")));
    }
    let (lq, h, d) = (q[nbd], q[nbd + 1], q[nbd + 2]);
    let (lk, dv) = (k[nbd], v[nbd + 2]);
    if k[nbd + 1] != h || v[nbd + 1] != h || k[nbd + 2] != d || v[nbd] != lk {
        return Err(Error::shape(format!(
            "attention: query {q:?}, key {k:?} and value {v:?} disagree: heads must match, key depth must be query depth, and value length key length"
        )));
    }
    let mut target = batch.clone();
    target.extend([h, lq, lk]);
    let mask = mask.map(|m| broadcast_strides(m, &target, "mask")).transpose()?;
    let bias = bias.map(|b| broadcast_strides(b, &target, "bias")).transpose()?;
    Ok(Dims { nb: batch.iter().product(), batch, lq, lk, h, d, dv, mask, bias })
}

impl Dims {
    fn out_shape(&self) -> Vec<usize> {
        let mut s = self.batch.clone();
        s.extend([self.lq, self.h, self.dv]);
        s
    }

    /// Offset of `[b, h, i, 0]` in a broadcast operand with `strides` (b is the flat batch index).
    fn at(&self, strides: &[usize], b: usize, h: usize, i: usize) -> usize {
        let nbd = self.batch.len();
        let (mut rem, mut off) = (b, 0);
        for a in (0..nbd).rev() {
            off += (rem % self.batch[a]) * strides[a];
            rem /= self.batch[a];
        }
        off + h * strides[nbd] + i * strides[nbd + 1]
    }
}

/// Fused attention of float32 operands; `mask` is any dtype (nonzero keeps), `bias` float32.
pub fn attention(q: &Tensor, k: &Tensor, v: &Tensor, bias: Option<&Tensor>, mask: Option<&Tensor>) -> Result<Tensor> {
    let dm = dims(q.shape(), k.shape(), v.shape(), bias.map(Tensor::shape), mask.map(Tensor::shape))?;
    for (t, what) in [(Some(q), "query"), (Some(k), "key"), (Some(v), "value"), (bias, "bias")] {
        if let Some(t) = t.filter(|t| t.dtype() != DType::F32) {
            return Err(Error::dtype(format!("attention: {what} has dtype {}; expected float32", t.dtype())));
        }
    }
    // The mask as bytes (1 keeps), so the kernel reads one type.
    let keep: Option<Vec<u8>> = mask.map(|m| {
        crate::tensor::dispatch!(m.dtype(), T => m.raw::<T>().iter().map(|&x| (<T as crate::dtype::Element>::to_f64(x) != 0.0) as u8).collect())
    });
    let out_shape = dm.out_shape();
    let (lq, h, dv) = (dm.lq, dm.h, dm.dv);
    // One unit per (batch entry, head): its keys are transposed once for all its query blocks.
    let units = dm.nb * h;
    Ok(Tensor::build::<f32>(out_shape, DType::F32, |o| {
        if o.is_empty() {
            return;
        }
        if lq < SMALL_Q {
            // Few queries (a decode step): bandwidth-bound, so the key and value rows are read
            // in memory order, all heads of a row at once, key chunks split across threads.
            for (r, orow) in o.chunks_exact_mut(h * dv).enumerate() {
                let at = |hh| Ctx { dm: &dm, q: q.raw(), k: k.raw(), v: v.raw(), bias: bias.map(|t| t.raw()), keep: keep.as_deref(), b: r / lq, h: hh };
                few_queries(&dm, &(0..h).map(at).collect::<Vec<_>>(), r % lq, orow);
            }
            return;
        }
        let optr = SendPtr(o.as_mut_ptr());
        let run = |u: usize| {
            let (b, hh) = (u / h, u % h);
            let ctx = Ctx { dm: &dm, q: q.raw(), k: k.raw(), v: v.raw(), bias: bias.map(|t| t.raw()), keep: keep.as_deref(), b, h: hh };
            // SAFETY: unit (b, h) writes the rows of head hh of batch b only: disjoint across
            // units, inside the output (row stride h·dv).
            let out = unsafe { optr.get().add((b * lq * h + hh) * dv) };
            let kt = ctx.keys_transposed();
            for i0 in (0..lq).step_by(BQ) {
                ctx.block(i0, (i0 + BQ).min(lq), &kt, out);
            }
        };
        let work = dm.nb * h * lq * dm.lk * (dm.d + dv);
        if crate::par::parallel(work) {
            (0..units).into_par_iter().for_each(run);
        } else {
            (0..units).for_each(run);
        }
    }))
}

/// Keys per chunk of the few-queries path: the unit of work across threads. Fixed, so results
/// do not depend on the thread count.
const KC: usize = 128;

/// Query `i` of one batch entry over all heads (`heads[hh]` is head hh's context), into `out`
/// (`[h, dv]`). Logits of every head (key rows in memory order), one softmax per head, then
/// per-chunk weighted sums of the value rows, added in chunk order.
fn few_queries(dm: &Dims, heads: &[Ctx], i: usize, out: &mut [f32]) {
    let (d, dv, lk, h) = (dm.d, dm.dv, dm.lk, dm.h);
    let c0 = &heads[0];
    let scale = c0.scale();
    let qi = c0.row(dm.lq, d, i);
    let qs: Vec<f32> = c0.q[qi..qi + h * d].iter().map(|&x| x / scale).collect();
    let (ms, bs) = (Ctx::key_stride(dm.mask.as_ref()), Ctx::key_stride(dm.bias.as_ref()));
    let masks: Vec<Option<&[u8]>> = heads.iter().map(|c| c.mask_at(i)).collect();
    let biases: Vec<Option<&[f32]>> = heads.iter().map(|c| c.bias_at(i)).collect();
    let (k0, v0) = (c0.row(lk, d, 0), c0.row(lk, dv, 0));
    let parallel = crate::par::parallel(h * lk * (d + dv));
    // Logits, head-major [h, lk]; each chunk writes its own columns.
    let mut s = vec![0f32; h * lk];
    let sp = SendPtr(s.as_mut_ptr());
    let logits = |j0: usize| {
        let mut row = vec![0f32; h];
        for j in j0..(j0 + KC).min(lk) {
            head_dots(&qs, &c0.k[k0 + j * h * d..k0 + (j + 1) * h * d], &mut row);
            for (hh, &x) in row.iter().enumerate() {
                let mut x = x + biases[hh].map_or(0.0, |bz| bz[j * bs]);
                if masks[hh].is_some_and(|m| m[j * ms] == 0) {
                    x = f32::NEG_INFINITY;
                }
                // SAFETY: column j of s belongs to this chunk alone; hh·lk + j < h·lk.
                unsafe { *sp.get().add(hh * lk + j) = x };
            }
        }
    };
    let chunks: Vec<usize> = (0..lk).step_by(KC).collect();
    if parallel {
        chunks.par_iter().for_each(|&j0| logits(j0));
    } else {
        chunks.iter().for_each(|&j0| logits(j0));
    }
    // One softmax per head (without the division, done once at the end).
    let mut inv = vec![0f32; h];
    for (row, inv) in s.chunks_exact_mut(lk).zip(&mut inv) {
        let max = row.iter().fold(f32::NEG_INFINITY, |a, &x| a.max(x));
        let mut sum = lk as f64;
        if max > f32::NEG_INFINITY {
            exp_shifted(row, max, &mut sum);
        } else {
            // All masked: every logit is finfo.min in the unfused form, so uniform weights.
            row.iter_mut().for_each(|x| *x = 1.0);
        }
        *inv = (1.0 / sum) as f32;
    }
    // Weighted value rows per chunk, then the chunks' sums in order.
    let partial = |j0: usize| {
        let (mut acc, mut w) = (vec![0f32; h * dv], vec![0f32; h]);
        for j in j0..(j0 + KC).min(lk) {
            w.iter_mut().enumerate().for_each(|(hh, w)| *w = s[hh * lk + j]);
            head_axpy(&w, &c0.v[v0 + j * h * dv..v0 + (j + 1) * h * dv], &mut acc);
        }
        acc
    };
    let parts: Vec<Vec<f32>> = if parallel { chunks.par_iter().map(|&j0| partial(j0)).collect() } else { chunks.iter().map(|&j0| partial(j0)).collect() };
    out.iter_mut().for_each(|z| *z = 0.0);
    for p in &parts {
        out.iter_mut().zip(p).for_each(|(z, &a)| *z += a);
    }
    for (o, &inv) in out.chunks_exact_mut(dv).zip(&inv) {
        o.iter_mut().for_each(|z| *z *= inv);
    }
}

/// One (batch entry, head) of a call.
struct Ctx<'a> {
    dm: &'a Dims,
    q: &'a [f32],
    k: &'a [f32],
    v: &'a [f32],
    bias: Option<&'a [f32]>,
    keep: Option<&'a [u8]>,
    b: usize,
    h: usize,
}

impl Ctx<'_> {
    /// Offset of row `i` of this head in a `[batch, len, h, depth]` operand.
    fn row(&self, len: usize, depth: usize, i: usize) -> usize {
        ((self.b * len + i) * self.dm.h + self.h) * depth
    }

    fn scale(&self) -> f32 {
        // `query / jnp.sqrt(depth)`: the query divided by the float32 square root.
        (self.dm.d as f32).sqrt()
    }

    /// Whether key `j` is kept for query `i`, and the bias added to its logit.
    fn mask_at(&self, i: usize) -> Option<&[u8]> {
        let (keep, s) = (self.keep?, self.dm.mask.as_ref()?);
        let off = self.dm.at(s, self.b, self.h, i);
        Some(&keep[off..])
    }

    fn bias_at(&self, i: usize) -> Option<&[f32]> {
        let (bias, s) = (self.bias?, self.dm.bias.as_ref()?);
        let off = self.dm.at(s, self.b, self.h, i);
        Some(&bias[off..])
    }

    /// Column stride of the mask / bias along keys (0 when broadcast).
    fn key_stride(strides: Option<&Vec<usize>>) -> usize {
        strides.map_or(0, |s| s[s.len() - 1])
    }

    /// This head's keys as `[d, lk]` (the GEMM's B for the logits).
    fn keys_transposed(&self) -> Vec<f32> {
        let (d, lk) = (self.dm.d, self.dm.lk);
        let mut kt = vec![0f32; d * lk];
        for j in 0..lk {
            let kj = self.row(lk, d, j);
            for (c, &x) in self.k[kj..kj + d].iter().enumerate() {
                kt[c * lk + j] = x;
            }
        }
        kt
    }

    /// The GEMM path for queries i0..i1 (`kt`: `keys_transposed`): blocked online softmax.
    fn block(&self, i0: usize, i1: usize, kt: &[f32], out: *mut f32) {
        let dm = self.dm;
        let (d, dv, lk, h) = (dm.d, dm.dv, dm.lk, dm.h);
        let bq = i1 - i0;
        let scale = self.scale();
        // Scaled queries, contiguous [bq, d]; keys of a block transposed to [d, bk].
        let mut qs = vec![0f32; bq * d];
        for (r, dst) in qs.chunks_exact_mut(d).enumerate() {
            let qi = self.row(dm.lq, d, i0 + r);
            dst.iter_mut().zip(&self.q[qi..qi + d]).for_each(|(z, &x)| *z = x / scale);
        }
        let mut s = vec![0f32; bq * BK];
        let mut acc = vec![0f32; bq * dv];
        let mut max = vec![f32::NEG_INFINITY; bq];
        let mut sum = vec![0f64; bq];
        let (ms, bs) = (Self::key_stride(dm.mask.as_ref()), Self::key_stride(dm.bias.as_ref()));
        let masks: Vec<Option<&[u8]>> = (i0..i1).map(|i| self.mask_at(i)).collect();
        let biases: Vec<Option<&[f32]>> = (i0..i1).map(|i| self.bias_at(i)).collect();
        let mut first = true;
        for j0 in (0..lk).step_by(BK) {
            let bk = (lk - j0).min(BK);
            // Skip a block no query of this block may see; note whether every entry is kept.
            let (mut kept_any, mut kept_all) = (masks[0].is_none(), true);
            if masks[0].is_some() {
                for m in masks.iter().flatten() {
                    for j in j0..j0 + bk {
                        let k = m[j * ms] != 0;
                        kept_any |= k;
                        kept_all &= k;
                    }
                }
            }
            if !kept_any {
                continue;
            }
            let g = Gemm {
                m: bq, n: bk, k: d, a: qs.as_ptr(), lda: d, b: kt[j0..].as_ptr() as *const u8, bkind: BKind::F32, ldb: lk,
                c: s.as_mut_ptr(), ldc: BK, accumulate: false,
            };
            // SAFETY: qs is bq×d, kt's columns j0..j0+bk of d rows (stride lk), s bq×BK ≥ bq×bk.
            unsafe { gemm_st(&g) };
            // Bias, mask, new maxima; rescale the running sums and accumulators.
            for r in 0..bq {
                let row = &mut s[r * BK..r * BK + bk];
                if let Some(bz) = biases[r] {
                    row.iter_mut().enumerate().for_each(|(j, x)| *x += bz[(j0 + j) * bs]);
                }
                if !kept_all {
                    let m = masks[r].expect("a mask");
                    row.iter_mut().enumerate().for_each(|(j, x)| {
                        if m[(j0 + j) * ms] == 0 {
                            *x = f32::NEG_INFINITY
                        }
                    });
                }
                let bmax = row.iter().fold(f32::NEG_INFINITY, |a, &x| a.max(x));
                let new = max[r].max(bmax);
                if new == f32::NEG_INFINITY {
                    row.iter_mut().for_each(|x| *x = 0.0);
                    continue;
                }
                let corr = if max[r] == f32::NEG_INFINITY { 0.0 } else { exp(max[r] - new) };
                max[r] = new;
                let mut bsum = 0f64;
                exp_shifted(row, new, &mut bsum);
                sum[r] = sum[r] * corr as f64 + bsum;
                if !first && corr != 1.0 {
                    acc[r * dv..(r + 1) * dv].iter_mut().for_each(|a| *a *= corr);
                }
            }
            // SAFETY: value rows j0..j0+bk of this head: row stride h·dv, unit column stride.
            let vb = unsafe { self.v.as_ptr().add(self.row(lk, dv, j0)) };
            let g = Gemm {
                m: bq, n: dv, k: bk, a: s.as_ptr(), lda: BK, b: vb as *const u8, bkind: BKind::F32, ldb: h * dv,
                c: acc.as_mut_ptr(), ldc: dv, accumulate: !first,
            };
            // SAFETY: s is bq×bk (stride BK), the value block bk×dv inside v, acc bq×dv.
            unsafe { gemm_st(&g) };
            first = false;
        }
        for r in 0..bq {
            // SAFETY: row i0 + r of this head: dv floats owned by this unit.
            let o = unsafe { std::slice::from_raw_parts_mut(out.add((i0 + r) * h * dv), dv) };
            if first || max[r] == f32::NEG_INFINITY {
                // Every key masked for this query: the unfused softmax of equal logits.
                self.mean_value(o);
            } else {
                let inv = (1.0 / sum[r]) as f32;
                o.iter_mut().zip(&acc[r * dv..(r + 1) * dv]).for_each(|(z, &a)| *z = a * inv);
            }
        }
    }

    /// The average of this head's value rows.
    fn mean_value(&self, o: &mut [f32]) {
        let (lk, dv) = (self.dm.lk, self.dm.dv);
        let mut acc = vec![0f64; dv];
        for j in 0..lk {
            let vj = self.row(lk, dv, j);
            acc.iter_mut().zip(&self.v[vj..vj + dv]).for_each(|(a, &x)| *a += x as f64);
        }
        o.iter_mut().zip(&acc).for_each(|(z, &a)| *z = (a / lk as f64) as f32);
    }
}

fast_fn! {
    /// `row[j] = exp(row[j] - max)` (XLA's float32 exp, with FMA when the CPU has it), and
    /// their sum in float64.
    fn exp_shifted(row: &mut [f32], max: f32, sum: &mut f64) {
        // Eight independent lanes, so the loop vectorises.
        let mut lanes = [0f64; 8];
        let mut it = row.chunks_exact_mut(8);
        for c in &mut it {
            for j in 0..8 {
                c[j] = exp(c[j] - max);
                lanes[j] += c[j] as f64;
            }
        }
        let mut tail = 0f64;
        for x in it.into_remainder() {
            *x = exp(*x - max);
            tail += *x as f64;
        }
        *sum = lanes.iter().sum::<f64>() + tail;
    }
}

/// `out[hh] = q[hh·d ..][..d] · krow[hh·d ..][..d]` for every head: one key row's logits.
fn head_dots(q: &[f32], krow: &[f32], out: &mut [f32]) {
    assert!(q.len() == krow.len() && q.len() % out.len().max(1) == 0);
    #[cfg(target_arch = "x86_64")]
    if crate::cpu::has_avx512f() {
        // SAFETY: AVX-512F was detected; the lengths were checked above.
        return unsafe { avx512::head_dots(q, krow, out) };
    }
    head_dots_portable(q, krow, out)
}

/// `acc[hh·dv ..][..dv] += w[hh] · vrow[hh·dv ..][..dv]` for every head with a nonzero weight:
/// one value row's share.
fn head_axpy(w: &[f32], vrow: &[f32], acc: &mut [f32]) {
    assert!(vrow.len() == acc.len() && acc.len() % w.len().max(1) == 0);
    #[cfg(target_arch = "x86_64")]
    if crate::cpu::has_avx512f() {
        // SAFETY: AVX-512F was detected; the lengths were checked above.
        return unsafe { avx512::head_axpy(w, vrow, acc) };
    }
    head_axpy_portable(w, vrow, acc)
}

fast_fn! {
    fn head_dots_portable(q: &[f32], krow: &[f32], out: &mut [f32]) {
        let d = q.len() / out.len();
        for (hh, o) in out.iter_mut().enumerate() {
            let (qh, kh) = (&q[hh * d..(hh + 1) * d], &krow[hh * d..(hh + 1) * d]);
            let mut lanes = [0f32; 8];
            let (qc, kc) = (qh.chunks_exact(8), kh.chunks_exact(8));
            let tail: f32 = qc.remainder().iter().zip(kc.remainder()).map(|(x, y)| x * y).sum();
            for (x, y) in qc.zip(kc) {
                for l in 0..8 {
                    lanes[l] = x[l].mul_add(y[l], lanes[l]);
                }
            }
            *o = lanes.iter().sum::<f32>() + tail;
        }
    }
}

fast_fn! {
    fn head_axpy_portable(w: &[f32], vrow: &[f32], acc: &mut [f32]) {
        let dv = acc.len() / w.len();
        for (hh, &w) in w.iter().enumerate().filter(|(_, &w)| w != 0.0) {
            let (a, x) = (&mut acc[hh * dv..(hh + 1) * dv], &vrow[hh * dv..(hh + 1) * dv]);
            a.iter_mut().zip(x).for_each(|(a, &x)| *a = w.mul_add(x, *a));
        }
    }
}

/// The few-queries kernels on AVX-512: full-width loads (masked at a head's tail), two FMA
/// chains per dot product.
#[cfg(target_arch = "x86_64")]
mod avx512 {
    use std::arch::x86_64::*;

    /// Rows ahead of the current one that the kernels prefetch: a head's rows are short, and
    /// a stream prefetcher restarts at every 4 KiB page, so without it each row waits on DRAM.
    const AHEAD_ROWS: usize = 2;

    #[inline(always)]
    fn prefetch(p: *const f32) {
        // SAFETY: a prefetch never faults, whatever the address.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(p as *const i8) }
    }

    /// As `super::head_dots`.
    ///
    /// # Safety
    /// AVX-512F is present; `q` and `krow` hold `out.len()·d` floats.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn head_dots(q: &[f32], krow: &[f32], out: &mut [f32]) {
        let d = q.len() / out.len();
        for (hh, o) in out.iter_mut().enumerate() {
            // SAFETY: head hh's d floats lie inside q and krow (the caller's lengths).
            let (qp, kp) = unsafe { (q.as_ptr().add(hh * d), krow.as_ptr().add(hh * d)) };
            let (mut a0, mut a1) = (_mm512_setzero_ps(), _mm512_setzero_ps());
            let mut c = 0;
            while c < d {
                prefetch(kp.wrapping_add(c + krow.len() * AHEAD_ROWS));
                let m = crate::ops::simd::lanes(d - c);
                // SAFETY: lanes c..c+16 masked to d.
                let (x, y) = unsafe { (_mm512_maskz_loadu_ps(m, qp.add(c)), _mm512_maskz_loadu_ps(m, kp.add(c))) };
                (a0, a1) = (a1, _mm512_fmadd_ps(x, y, a0));
                c += 16;
            }
            *o = _mm512_reduce_add_ps(_mm512_add_ps(a0, a1));
        }
    }

    /// As `super::head_axpy`.
    ///
    /// # Safety
    /// AVX-512F is present; `vrow` and `acc` hold `w.len()·dv` floats.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn head_axpy(w: &[f32], vrow: &[f32], acc: &mut [f32]) {
        let dv = acc.len() / w.len();
        for (hh, &wh) in w.iter().enumerate().filter(|(_, &w)| w != 0.0) {
            let wv = _mm512_set1_ps(wh);
            // SAFETY: head hh's dv floats lie inside vrow and acc (the caller's lengths).
            let (xp, ap) = unsafe { (vrow.as_ptr().add(hh * dv), acc.as_mut_ptr().add(hh * dv)) };
            for c in (0..dv).step_by(16) {
                prefetch(xp.wrapping_add(c + vrow.len() * AHEAD_ROWS));
                let m = crate::ops::simd::lanes(dv - c);
                // SAFETY: lanes c..c+16 masked to dv.
                unsafe {
                    let a = _mm512_fmadd_ps(wv, _mm512_maskz_loadu_ps(m, xp.add(c)), _mm512_maskz_loadu_ps(m, ap.add(c)));
                    _mm512_mask_storeu_ps(ap.add(c), m, a);
                }
            }
        }
    }
}
