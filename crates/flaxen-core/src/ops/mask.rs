//! jnp.triu / jnp.tril on the last two axes. Per row the kept span is one contiguous copy and
//! the rest one fill, so there is no per-element branch. Large 4-byte outputs are written with
//! AVX-512 non-temporal stores instead (`row_stream`): a masked copy writes every byte of its
//! output, so fetching the destination lines first (what ordinary stores do) only costs
//! bandwidth; streaming them measured ~1.7× faster at 4096².

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::tensor::{dispatch, Tensor};

/// Zeroes elements below diagonal `k` (keeps column j of row i when j >= i + k).
pub fn triu(x: &Tensor, k: i64) -> Result<Tensor> {
    band(x, k, true, "triu")
}

/// Zeroes elements above diagonal `k` (keeps column j of row i when j <= i + k).
pub fn tril(x: &Tensor, k: i64) -> Result<Tensor> {
    band(x, k, false, "tril")
}

fn band(x: &Tensor, k: i64, upper: bool, what: &str) -> Result<Tensor> {
    if x.ndim() < 2 {
        return Err(Error::shape(format!(
            "{what}: x has shape {:?}; expected at least 2 dimensions (the last two form the matrix)",
            x.shape()
        )));
    }
    let rows = x.shape()[x.ndim() - 2] as i64;
    let cols = x.shape()[x.ndim() - 1];
    if x.size() == 0 {
        return Ok(Tensor::zeros(x.shape(), x.dtype()));
    }
    let dt = x.dtype();
    Ok(dispatch!(dt, T => {
        let xs = x.raw::<T>();
        let zero: T = bytemuck::Zeroable::zeroed();
        let stream = std::mem::size_of::<T>() == 4 && x.nbytes() >= STREAM_MIN && crate::cpu::has_avx512f();
        Tensor::build::<T>(x.shape().to_vec(), dt, |o| {
            let row = |(r, out): (usize, &mut [T])| {
                let i = (r as i64) % rows;
                // Columns [lo, hi) are kept.
                let (lo, hi) = if upper {
                    ((i + k).clamp(0, cols as i64) as usize, cols)
                } else {
                    (0, (i + k + 1).clamp(0, cols as i64) as usize)
                };
                let src = &xs[r * cols..(r + 1) * cols];
                #[cfg(target_arch = "x86_64")]
                if stream {
                    // SAFETY: AVX-512F was detected; T is 4 bytes wide (checked with `stream`),
                    // `src` and `out` are one row of `cols` elements.
                    unsafe {
                        row_stream(src.as_ptr() as *const f32, out.as_mut_ptr() as *mut f32, cols, lo, hi.max(lo))
                    };
                    return;
                }
                out[..lo].fill(zero);
                out[lo..hi.max(lo)].copy_from_slice(&src[lo..hi.max(lo)]);
                out[hi.max(lo)..].fill(zero);
            };
            if crate::par::parallel(o.len()) {
                o.par_chunks_mut(cols).enumerate().for_each(row);
            } else {
                o.chunks_mut(cols).enumerate().for_each(row);
            }
        })
    }))
}

/// Outputs of at least this many bytes are written with streaming stores (smaller ones are
/// likely to be read again from cache, where ordinary stores measured faster).
const STREAM_MIN: usize = 16 << 20;

/// One row: `dst[j] = src[j]` for j in lo..hi, else 0, with non-temporal stores for the
/// 64-byte-aligned body (masked ordinary stores for the unaligned head and tail). Element bits
/// are moved, never interpreted, so any 4-byte type works.
///
/// # Safety
/// AVX-512F; `src` readable and `dst` writable for `cols` elements; lo ≤ hi ≤ cols.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn row_stream(src: *const f32, dst: *mut f32, cols: usize, lo: usize, hi: usize) {
    use std::arch::x86_64::*;
    // Lanes l of the 16 starting at column j that lie in [lo, hi) and in the row.
    let keep = |j: usize| -> u16 {
        let from = lo.saturating_sub(j).min(16);
        let to = hi.saturating_sub(j).min(16);
        if from >= to {
            0
        } else {
            (((1u32 << to) - 1) & !((1u32 << from) - 1)) as u16
        }
    };
    let valid = |j: usize| -> u16 { if cols - j >= 16 { 0xffff } else { ((1u32 << (cols - j)) - 1) as u16 } };
    // SAFETY (whole body): every load is masked to kept columns < cols and every store to
    // columns < cols of this row; streamed stores hit 64-byte aligned addresses.
    unsafe {
        let head = ((64 - (dst as usize % 64)) % 64 / 4).min(cols);
        let mut j = 0;
        if head > 0 {
            let v = _mm512_maskz_loadu_ps(keep(0) & valid(0), src);
            _mm512_mask_storeu_ps(dst, ((1u32 << head) - 1) as u16, v);
            j = head;
        }
        while j + 16 <= cols {
            let m = keep(j);
            let v = if m == 0 { _mm512_setzero_ps() } else { _mm512_maskz_loadu_ps(m, src.add(j)) };
            _mm512_stream_ps(dst.add(j), v);
            j += 16;
        }
        if j < cols {
            let v = _mm512_maskz_loadu_ps(keep(j) & valid(j), src.add(j));
            _mm512_mask_storeu_ps(dst.add(j), valid(j), v);
        }
        // Streaming stores are weakly ordered: fence before the task reports completion.
        _mm_sfence();
    }
}

/// `where(c, x, y)` for 4-byte x and y when the condition has the output's shape and x and y
/// each have it too or are scalars (the common cases): AVX-512, 16 elements per step, the
/// condition bytes turned into a lane mask and one blend, streaming stores for large outputs.
/// None when the case or the CPU does not fit (the general broadcasting kernel runs instead).
/// `c` is a bool tensor (bytes, non-zero = true), x and y have one dtype.
pub(crate) fn select_fast(c: &Tensor, x: &Tensor, y: &Tensor, out: &[usize]) -> Option<Tensor> {
    #[cfg(target_arch = "x86_64")]
    {
        let dt = x.dtype();
        let fits = |t: &Tensor| t.shape() == out || t.size() == 1;
        if dt.size() != 4 || c.shape() != out || !fits(x) || !fits(y) || !crate::cpu::has_avx512f() {
            return None;
        }
        let n = c.size();
        let (cv, xv, yv) = (c.raw::<u8>(), x.raw::<f32>(), y.raw::<f32>());
        let (xs, ys) = (x.size() == n && n != 1, y.size() == n && n != 1);
        let stream = n * 4 >= STREAM_MIN;
        Some(Tensor::build::<f32>(out.to_vec(), dt, |o| {
            crate::par::chunks(o, crate::par::CHUNK, |start, chunk| {
                let len = chunk.len();
                // SAFETY: AVX-512F detected; the condition and walked operands have n ≥
                // start + len elements, scalars one; `chunk` is this task's part of the output.
                unsafe {
                    select_avx512(
                        cv.as_ptr().add(start),
                        if xs { xv.as_ptr().add(start) } else { xv.as_ptr() },
                        xs,
                        if ys { yv.as_ptr().add(start) } else { yv.as_ptr() },
                        ys,
                        chunk.as_mut_ptr(),
                        len,
                        stream,
                    )
                }
            })
        }))
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (c, x, y, out);
        None
    }
}

/// out[i] = c[i] != 0 ? x[i] : y[i] for i < len (x/y repeat element 0 when not `walk`).
///
/// # Safety
/// AVX-512F; c readable for len bytes, x and y for len elements (or 1 when not walked), out
/// writable for len elements.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[allow(clippy::too_many_arguments)]
unsafe fn select_avx512(
    c: *const u8,
    x: *const f32,
    xw: bool,
    y: *const f32,
    yw: bool,
    out: *mut f32,
    len: usize,
    stream: bool,
) {
    use std::arch::x86_64::*;
    // SAFETY (whole body): every access is at an index < len (masked for the last step), or at
    // index 0 of a scalar operand; streamed stores hit 64-byte aligned addresses.
    unsafe {
        let (xb, yb) = (_mm512_set1_ps(*x), _mm512_set1_ps(*y));
        let step = |j: usize, m: u16| -> __m512 {
            // 16 condition bytes (the tail via a zero-padded copy: AVX-512F has no masked
            // byte load).
            let cb = if m == 0xffff {
                _mm_loadu_si128(c.add(j) as *const __m128i)
            } else {
                let mut tail = [0u8; 16];
                let n = m.count_ones() as usize;
                std::ptr::copy_nonoverlapping(c.add(j), tail.as_mut_ptr(), n);
                _mm_loadu_si128(tail.as_ptr() as *const __m128i)
            };
            let keep = _mm512_test_epi32_mask(_mm512_cvtepu8_epi32(cb), _mm512_cvtepu8_epi32(cb)) & m;
            let xv = if xw { _mm512_maskz_loadu_ps(m, x.add(j)) } else { xb };
            let yv = if yw { _mm512_maskz_loadu_ps(m, y.add(j)) } else { yb };
            _mm512_mask_blend_ps(keep, yv, xv)
        };
        let mut j = 0;
        if stream {
            let head = ((64 - (out as usize % 64)) % 64 / 4).min(len);
            if head > 0 {
                let m = ((1u32 << head) - 1) as u16;
                _mm512_mask_storeu_ps(out, m, step(0, m));
                j = head;
            }
            while j + 16 <= len {
                _mm512_stream_ps(out.add(j), step(j, 0xffff));
                j += 16;
            }
            _mm_sfence();
        } else {
            while j + 16 <= len {
                _mm512_storeu_ps(out.add(j), step(j, 0xffff));
                j += 16;
            }
        }
        if j < len {
            let m = ((1u32 << (len - j)) - 1) as u16;
            _mm512_mask_storeu_ps(out.add(j), m, step(j, m));
        }
    }
}
