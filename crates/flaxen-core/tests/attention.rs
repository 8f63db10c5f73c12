//! The fused attention kernel against a float64 reference of Flax's composition
//! (`softmax(where(mask, q/sqrt(d)·kᵀ + bias, finfo.min))·v`): GEMM and few-query paths, causal
//! and padding masks (block skipping), broadcast masks and biases, rows with every key masked.

mod common;

use flaxen_core::ops::attention::attention;
use flaxen_core::Tensor;

fn t(shape: &[usize], seed: u64) -> Tensor {
    Tensor::from_vec(common::values(shape.iter().product(), seed, 2.0), shape).unwrap()
}

/// Reference with masks as f32 0/1 over [b, h, lq, lk] (already broadcast), bias likewise.
fn reference(q: &[f32], k: &[f32], v: &[f32], dims: [usize; 6], bias: Option<&dyn Fn(usize, usize, usize, usize) -> f32>, keep: Option<&dyn Fn(usize, usize, usize, usize) -> bool>) -> Vec<f32> {
    let [nb, lq, lk, h, d, dv] = dims;
    let scale = (d as f32).sqrt();
    let mut out = vec![0f32; nb * lq * h * dv];
    for b in 0..nb {
        for hh in 0..h {
            for i in 0..lq {
                let logits: Vec<f64> = (0..lk)
                    .map(|j| {
                        let mut s = 0f64;
                        for c in 0..d {
                            let qv = q[((b * lq + i) * h + hh) * d + c] / scale;
                            s += qv as f64 * k[((b * lk + j) * h + hh) * d + c] as f64;
                        }
                        if let Some(f) = bias {
                            s += f(b, hh, i, j) as f64;
                        }
                        if keep.is_some_and(|f| !f(b, hh, i, j)) {
                            s = -3.4028234663852886e38;
                        }
                        s
                    })
                    .collect();
                let m = logits.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                let p: Vec<f64> = logits.iter().map(|&x| (x - m).exp()).collect();
                let z: f64 = p.iter().sum();
                for c in 0..dv {
                    let y: f64 = (0..lk).map(|j| p[j] / z * v[((b * lk + j) * h + hh) * dv + c] as f64).sum();
                    out[((b * lq + i) * h + hh) * dv + c] = y as f32;
                }
            }
        }
    }
    out
}

fn assert_close(got: &Tensor, want: &[f32], what: &str) {
    let g = got.to_vec::<f32>().unwrap();
    let scale = want.iter().fold(1f32, |a, &x| a.max(x.abs()));
    for (i, (a, b)) in g.iter().zip(want).enumerate() {
        assert!((a - b).abs() <= 2e-6 * scale, "{what}[{i}]: {a} vs {b}");
    }
}

#[test]
fn unmasked_and_biased_match_the_reference_on_both_paths() {
    for &(nb, lq, lk, h, d, dv) in &[(2, 5, 7, 3, 8, 4), (1, 70, 300, 2, 16, 16), (2, 1, 129, 4, 32, 32), (1, 130, 130, 1, 64, 64), (1, 2, 1100, 12, 64, 64)] {
        let (q, k, v) = (t(&[nb, lq, h, d], 1), t(&[nb, lk, h, d], 2), t(&[nb, lk, h, dv], 3));
        let want = reference(q.to_vec().unwrap().as_slice(), &k.to_vec().unwrap(), &v.to_vec().unwrap(), [nb, lq, lk, h, d, dv], None, None);
        assert_close(&attention(&q, &k, &v, None, None).unwrap(), &want, "plain");
        // A bias broadcast over the batch: [h, lq, lk].
        let bias = t(&[h, lq, lk], 4);
        let bv = bias.to_vec::<f32>().unwrap();
        let f = |_b: usize, hh: usize, i: usize, j: usize| bv[(hh * lq + i) * lk + j];
        let want = reference(&q.to_vec().unwrap(), &k.to_vec().unwrap(), &v.to_vec().unwrap(), [nb, lq, lk, h, d, dv], Some(&f), None);
        assert_close(&attention(&q, &k, &v, Some(&bias), None).unwrap(), &want, "bias");
    }
}

#[test]
fn causal_and_padding_masks_including_fully_masked_rows() {
    for &(nb, lq, lk, h, d) in &[(2, 300, 300, 2, 16), (1, 3, 9, 2, 8), (1, 65, 260, 1, 8), (2, 1, 1030, 12, 64)] {
        let (q, k, v) = (t(&[nb, lq, h, d], 5), t(&[nb, lk, h, d], 6), t(&[nb, lk, h, d], 7));
        let (qv, kv, vv) = (q.to_vec().unwrap(), k.to_vec().unwrap(), v.to_vec().unwrap());
        // Causal, as makeCausalMask: [b, 1, lq, lk] float 0/1, offset so the last query sees all.
        let off = lk - lq;
        let causal: Vec<f32> = (0..nb * lq * lk).map(|x| ((x / lk) % lq + off >= x % lk) as u8 as f32).collect();
        let cm = Tensor::from_vec(causal, &[nb, 1, lq, lk]).unwrap();
        let keep = |_b: usize, _h: usize, i: usize, j: usize| i + off >= j;
        let want = reference(&qv, &kv, &vv, [nb, lq, lk, h, d, d], None, Some(&keep));
        assert_close(&attention(&q, &k, &v, None, Some(&cm)).unwrap(), &want, "causal");
        // Padding as a bool mask [b, 1, 1, lk]; batch entry 0 keeps no key at all (every row
        // fully masked: the uniform average of the values, as the unfused form).
        let pad: Vec<u8> = (0..nb * lk).map(|x| (x / lk > 0 && x % 3 != 0) as u8).collect();
        let pm = Tensor::from_vec(pad.clone(), &[nb, 1, 1, lk]).unwrap().astype(flaxen_core::DType::Bool);
        let keep = |b: usize, _h: usize, _i: usize, j: usize| pad[b * lk + j] != 0;
        let want = reference(&qv, &kv, &vv, [nb, lq, lk, h, d, d], None, Some(&keep));
        assert_close(&attention(&q, &k, &v, None, Some(&pm)).unwrap(), &want, "padding");
    }
}

#[test]
fn bad_shapes_are_refused_with_both_shapes() {
    let (q, k) = (t(&[1, 4, 2, 8], 1), t(&[1, 5, 2, 8], 2));
    let v = t(&[1, 6, 2, 8], 3);
    let e = attention(&q, &k, &v, None, None).unwrap_err();
    assert!(e.message.contains("[1, 5, 2, 8]") && e.message.contains("[1, 6, 2, 8]"), "{}", e.message);
    let m = t(&[3, 4, 5], 4);
    let e = attention(&q, &k, &k, None, Some(&m)).unwrap_err();
    assert!(e.message.contains("mask has shape [3, 4, 5]"), "{}", e.message);
}

#[test]
fn a_decode_step_gives_the_same_bits_on_any_thread_count() {
    // Key chunks are fixed in size, so splitting them across threads changes no sum's order.
    let (q, k, v) = (t(&[2, 1, 12, 64], 8), t(&[2, 1030, 12, 64], 9), t(&[2, 1030, 12, 64], 10));
    let bias = t(&[2, 1, 1, 1030], 11);
    let on = |n: usize| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(n).build().unwrap();
        pool.install(|| attention(&q, &k, &v, Some(&bias), None).unwrap().to_vec::<f32>().unwrap())
    };
    let one = on(1);
    for n in [2, 3] {
        assert!(on(n).iter().zip(&one).all(|(a, b)| a.to_bits() == b.to_bits()), "{n} threads differ from 1");
    }
}
