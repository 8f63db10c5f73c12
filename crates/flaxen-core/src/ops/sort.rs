//! Orderings: jnp.sort / argsort (stable), lax.top_k and jnp.searchsorted, each in the order
//! JAX 0.10.2 defines:
//!
//! * sort, argsort and searchsorted compare floats after JAX's `_canonicalize_float_for_sort`
//!   (-0 is 0, every NaN is one NaN, greater than +inf), by a total order;
//! * top_k uses XLA's total order of the raw bits (-0 below +0, NaN above +inf, a NaN with the
//!   sign bit below -inf), ties going to the lower index;
//! * searchsorted is JAX's default `method='scan'`: a fixed number of binary-search steps, so
//!   even an unsorted `a` gives JAX's answer.
//!
//! Every element becomes a `u64` key whose integer order is that order, so one comparison
//! serves all dtypes.

use rayon::prelude::*;

use crate::dtype::{DType, Element};
use crate::error::{Error, Result};
use crate::shape::normalize_axis;
use crate::tensor::{dispatch, Tensor};

/// The order key of a float under JAX's sort canonicalisation.
fn sort_key_f(v: f64) -> u64 {
    let v = if v == 0.0 { 0.0 } else if v.is_nan() { f64::NAN } else { v };
    total_key(v.to_bits())
}

/// Integer order of IEEE total order on float64 bits.
fn total_key(bits: u64) -> u64 {
    if bits >> 63 == 1 { !bits } else { bits | 1 << 63 }
}

/// Keys of `x` (widened to f64 exactly, for every dtype): canonical (`sort`) or raw total order
/// (`top_k`).
fn keys(x: &Tensor, canonical: bool) -> Vec<u64> {
    let float = matches!(x.dtype(), DType::F32 | DType::F16 | DType::BF16);
    dispatch!(x.dtype(), T => {
        let xs = x.raw::<T>();
        let key = |v: T| -> u64 {
            let f = <T as Element>::to_f64(v);
            if !float {
                // Integers up to 32 bits: exact in f64, shifted to non-negative.
                (f as i64 + (1i64 << 40)) as u64
            } else if canonical {
                sort_key_f(f)
            } else {
                // f32/f16/bf16 → f64 keeps sign, NaN payload sign and order.
                total_key(f.to_bits())
            }
        };
        xs.iter().map(|&v| key(v)).collect()
    })
}

/// (outer, n, inner) of `shape` around axis `ax`.
fn lanes(shape: &[usize], ax: usize) -> (usize, usize, usize) {
    (shape[..ax].iter().product(), shape[ax], shape[ax + 1..].iter().product())
}

/// How a descending order treats equal elements. JAX's argsort keeps them in their original
/// order; its sort reverses the ascending sort, so equal elements (0 and -0) come out reversed.
#[derive(Clone, Copy)]
enum Descending {
    No,
    Stable,
    Reversed,
}

/// The sorting permutation of every lane along `axis`: `perm[lane][j]` is the index of the j-th
/// element.
fn permutation(x: &Tensor, axis: i64, descending: Descending, what: &str) -> Result<(Vec<u32>, usize, (usize, usize, usize))> {
    if x.ndim() == 0 {
        return Err(Error::shape(format!("{what}: x is a scalar (shape []); it needs at least one axis")));
    }
    let ax = normalize_axis(axis, x.ndim(), &format!("{what}: axis"))?;
    let k = keys(x, true);
    let (outer, n, inner) = lanes(x.shape(), ax);
    let mut perm = vec![0u32; x.size()];
    let sort_lane = |(l, dst): (usize, &mut [u32])| {
        let (o, i) = (l / inner.max(1), l % inner.max(1));
        let at = |j: usize| o * n * inner + j * inner + i;
        dst.iter_mut().enumerate().for_each(|(j, p)| *p = j as u32);
        match descending {
            Descending::No => dst.sort_by_key(|&a| k[at(a as usize)]),
            Descending::Stable => dst.sort_by(|&a, &b| k[at(b as usize)].cmp(&k[at(a as usize)])),
            Descending::Reversed => {
                dst.sort_by_key(|&a| k[at(a as usize)]);
                dst.reverse();
            }
        }
    };
    if n > 0 {
        if crate::par::parallel(x.size()) {
            perm.par_chunks_mut(n).enumerate().for_each(sort_lane);
        } else {
            perm.chunks_mut(n).enumerate().for_each(sort_lane);
        }
    }
    Ok((perm, ax, (outer, n, inner)))
}

/// Output position of lane `l`'s j-th entry (lanes are numbered outer-major).
fn place(l: usize, j: usize, (_, n, inner): (usize, usize, usize)) -> usize {
    let (o, i) = (l / inner.max(1), l % inner.max(1));
    o * n * inner + j * inner + i
}

/// jnp.sort along `axis` (stable; NaN last; descending is the ascending order reversed).
pub fn sort(x: &Tensor, axis: i64, descending: bool) -> Result<Tensor> {
    let (perm, _, dims) = permutation(x, axis, if descending { Descending::Reversed } else { Descending::No }, "sort")?;
    let dt = x.dtype();
    let n = dims.1;
    Ok(dispatch!(dt, T => {
        let xs = x.raw::<T>();
        Tensor::build::<T>(x.shape().to_vec(), dt, |o| {
            for (l, lane) in perm.chunks(n.max(1)).enumerate() {
                for (j, &p) in lane.iter().enumerate() {
                    o[place(l, j, dims)] = xs[place(l, p as usize, dims)];
                }
            }
        })
    }))
}

/// jnp.argsort along `axis` (stable): int32 indices.
pub fn argsort(x: &Tensor, axis: i64, descending: bool) -> Result<Tensor> {
    let (perm, _, dims) = permutation(x, axis, if descending { Descending::Stable } else { Descending::No }, "argsort")?;
    let n = dims.1;
    Ok(Tensor::build::<i32>(x.shape().to_vec(), DType::I32, |o| {
        for (l, lane) in perm.chunks(n.max(1)).enumerate() {
            for (j, &p) in lane.iter().enumerate() {
                o[place(l, j, dims)] = p as i32;
            }
        }
    }))
}

/// The output shape of `top_k(x, k)`: x's shape with the last axis k.
pub fn top_k_shape(shape: &[usize], k: i64) -> Result<Vec<usize>> {
    let Some(&n) = shape.last() else {
        return Err(Error::shape("top_k: operand is a scalar (shape []); it needs at least one axis"));
    };
    if k < 0 || k as usize > n {
        return Err(Error::arg(format!(
            "top_k: k = {k} must be between 0 and the last axis of the operand's shape {shape:?} ({n})"
        )));
    }
    let mut out = shape.to_vec();
    *out.last_mut().expect("rank ≥ 1") = k as usize;
    Ok(out)
}

/// lax.top_k: the k largest entries of each last-axis lane, largest first, and their int32
/// indices.
pub fn top_k(x: &Tensor, k: i64) -> Result<(Tensor, Tensor)> {
    let shape = top_k_shape(x.shape(), k)?;
    let (n, k) = (*x.shape().last().expect("rank ≥ 1"), k as usize);
    let keys = keys(x, false);
    let lanes = if n == 0 { 0 } else { x.size() / n };
    // Per lane: the k best (key descending, index ascending) as indices.
    let best = |l: usize| -> Vec<u32> {
        let kl = &keys[l * n..(l + 1) * n];
        let order = |a: &u32, b: &u32| kl[*b as usize].cmp(&kl[*a as usize]).then(a.cmp(b));
        let mut idx: Vec<u32> = (0..n as u32).collect();
        if k < n && k > 0 {
            idx.select_nth_unstable_by(k - 1, order);
            idx.truncate(k);
        }
        idx.truncate(k);
        idx.sort_unstable_by(order);
        idx
    };
    let picks: Vec<Vec<u32>> = if crate::par::parallel(x.size()) {
        (0..lanes).into_par_iter().map(best).collect()
    } else {
        (0..lanes).map(best).collect()
    };
    let dt = x.dtype();
    let values = dispatch!(dt, T => {
        let xs = x.raw::<T>();
        Tensor::build::<T>(shape.clone(), dt, |o| {
            for (l, p) in picks.iter().enumerate() {
                for (j, &i) in p.iter().enumerate() {
                    o[l * k + j] = xs[l * n + i as usize];
                }
            }
        })
    });
    let indices = Tensor::build::<i32>(shape, DType::I32, |o| {
        for (l, p) in picks.iter().enumerate() {
            o[l * k..(l + 1) * k].iter_mut().zip(p).for_each(|(z, &i)| *z = i as i32);
        }
    });
    Ok((values, indices))
}

/// Checks of `searchsorted(a, v)`: a is 1-D; the dtypes match (the façade promotes them).
pub fn searchsorted_check(a: &[usize], adt: DType, vdt: DType) -> Result<()> {
    if a.len() != 1 {
        return Err(Error::shape(format!("searchsorted: a has shape {a:?}; expected a 1-D array")));
    }
    if adt != vdt {
        return Err(Error::dtype(format!("searchsorted: a has dtype {adt} and v has dtype {vdt}; they must match")));
    }
    Ok(())
}

/// jnp.searchsorted: for each element of `v`, the insertion index into `a` (int32): the
/// first position whose element is ≥ it (`right`: >), by JAX's binary search.
pub fn searchsorted(a: &Tensor, v: &Tensor, right: bool) -> Result<Tensor> {
    searchsorted_check(a.shape(), a.dtype(), v.dtype())?;
    let (ka, kv) = (keys(a, true), keys(v, true));
    let n = ka.len();
    // JAX runs ceil(log2(n + 1)) steps of `mid = low + (high - low) / 2`.
    let levels = usize::BITS - n.leading_zeros();
    let find = |q: u64| -> i32 {
        let (mut low, mut high) = (0usize, n);
        for _ in 0..levels {
            let mid = low + (high - low) / 2;
            let left = if right { q < ka[mid.min(n - 1)] } else { q <= ka[mid.min(n - 1)] };
            if left { high = mid } else { low = mid }
        }
        high as i32
    };
    Ok(Tensor::build::<i32>(v.shape().to_vec(), DType::I32, |o| {
        if n == 0 {
            o.fill(0);
        } else {
            o.iter_mut().zip(&kv).for_each(|(z, &q)| *z = find(q));
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(v: &[f32]) -> Tensor {
        Tensor::from_slice(v, &[v.len()]).unwrap()
    }

    #[test]
    fn sort_matches_jax_order() {
        let nan = f32::NAN;
        let x = f(&[3., nan, -0., 0., -1., f32::INFINITY, f32::NEG_INFINITY, 0., -0., nan]);
        let i = argsort(&x, 0, false).unwrap().to_vec::<i32>().unwrap();
        assert_eq!(i, vec![6, 4, 2, 3, 7, 8, 0, 5, 1, 9]);
        let d = argsort(&x, 0, true).unwrap().to_vec::<i32>().unwrap();
        assert_eq!(d, vec![1, 9, 5, 0, 2, 3, 7, 8, 4, 6]);
        let (v, i) = top_k(&x, 6).unwrap();
        assert_eq!(i.to_vec::<i32>().unwrap(), vec![1, 9, 5, 0, 3, 7]);
        assert_eq!(v.to_vec::<f32>().unwrap()[3], 3.0);
    }

    #[test]
    fn searchsorted_sides() {
        let a = f(&[0., 1., 1., 2.]);
        let v = f(&[1., f32::NAN, -0., 3.]);
        assert_eq!(searchsorted(&a, &v, false).unwrap().to_vec::<i32>().unwrap(), vec![1, 4, 0, 4]);
        assert_eq!(searchsorted(&a, &v, true).unwrap().to_vec::<i32>().unwrap(), vec![3, 4, 1, 4]);
    }

    #[test]
    fn sort_along_inner_axis() {
        let x = Tensor::from_vec(vec![3i32, 1, 2, 0, 5, 4], &[3, 2]).unwrap();
        assert_eq!(sort(&x, 0, false).unwrap().to_vec::<i32>().unwrap(), vec![2, 0, 3, 1, 5, 4]);
        assert_eq!(argsort(&x, 0, false).unwrap().to_vec::<i32>().unwrap(), vec![1, 1, 0, 0, 2, 2]);
    }
}
