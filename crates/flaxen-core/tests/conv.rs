//! The convolution against a direct float64 reference written from XLA's definition (dilate the
//! input, pad it, slide the dilated window), over random shapes and attributes: 1 to 3 spatial
//! axes, strides, negative padding, both dilations, feature groups (depthwise included), the
//! 1×1 path and the parallel tiles; then each lowering to products (implicit per output line,
//! im2col tiles) on shapes chosen to take it, on 1 to 3 threads.

mod common;

use flaxen_core::ops::{conv, conv_shape, ConvSpec};
use flaxen_core::Tensor;

struct Case {
    lhs: Vec<usize>,
    rhs: Vec<usize>,
    spec: ConvSpec,
}

/// The reference: out[n, p.., o] = Σ_{k.., i} x[n, src(p, k).., g·cg + i] · w[k.., i, o].
fn reference(x: &[f32], w: &[f32], c: &Case, out: &[usize]) -> Vec<f64> {
    let nsp = c.spec.strides.len();
    let (cin, o, g) = (c.lhs[nsp + 1], c.rhs[nsp + 1], c.spec.groups);
    let (cg, og) = (cin / g, o / g);
    let window: usize = c.rhs[..nsp].iter().product();
    let positions: usize = out[1..=nsp].iter().product();
    let mut y = vec![0f64; out.iter().product()];
    let unravel = |mut i: usize, dims: &[usize]| -> Vec<usize> {
        let mut v = vec![0; dims.len()];
        for d in (0..dims.len()).rev() {
            v[d] = i % dims[d];
            i /= dims[d];
        }
        v
    };
    for n in 0..out[0] {
        for p in 0..positions {
            let pos = unravel(p, &out[1..=nsp]);
            for k in 0..window {
                let kk = unravel(k, &c.rhs[..nsp]);
                // The input element under window position kk, if any.
                let mut flat = n;
                let mut inside = true;
                for d in 0..nsp {
                    let q = (pos[d] * c.spec.strides[d] + kk[d] * c.spec.rhs_dilation[d]) as i64 - c.spec.padding[d].0;
                    let ld = c.spec.lhs_dilation[d] as i64;
                    if q < 0 || q % ld != 0 || (q / ld) as usize >= c.lhs[1 + d] {
                        inside = false;
                        break;
                    }
                    flat = flat * c.lhs[1 + d] + (q / ld) as usize;
                }
                if !inside {
                    continue;
                }
                for oc in 0..o {
                    let grp = oc / og;
                    let mut acc = 0f64;
                    for i in 0..cg {
                        acc += x[flat * cin + grp * cg + i] as f64 * w[(k * cg + i) * o + oc] as f64;
                    }
                    y[(n * positions + p) * o + oc] += acc;
                }
            }
        }
    }
    y
}

/// A small deterministic generator for the cases.
struct Rng(u64);
impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

fn random_case(r: &mut Rng) -> Case {
    let nsp = 1 + r.below(3) as usize;
    let g = [1, 1, 2, 3][r.below(4) as usize];
    let cg = 1 + r.below(5) as usize;
    let og = 1 + r.below(6) as usize;
    let mut lhs = vec![1 + r.below(2) as usize];
    let mut rhs = vec![];
    let mut spec = ConvSpec { strides: vec![], padding: vec![], lhs_dilation: vec![], rhs_dilation: vec![], groups: g };
    for _ in 0..nsp {
        lhs.push(1 + r.below(if nsp == 3 { 5 } else { 9 }) as usize);
        rhs.push(1 + r.below(3) as usize);
        spec.strides.push(1 + r.below(2) as usize);
        spec.padding.push((r.below(4) as i64 - 1, r.below(4) as i64 - 1));
        spec.lhs_dilation.push(1 + r.below(2) as usize);
        spec.rhs_dilation.push(1 + r.below(2) as usize);
    }
    lhs.push(g * cg);
    rhs.push(cg);
    rhs.push(g * og);
    Case { lhs, rhs, spec }
}

fn check(c: &Case, seed: u64) {
    let nx: usize = c.lhs.iter().product();
    let nw: usize = c.rhs.iter().product();
    let (xv, wv) = (common::values(nx, seed, 1.0), common::values(nw, seed + 1, 1.0));
    let x = Tensor::from_vec(xv.clone(), &c.lhs).unwrap();
    let w = Tensor::from_vec(wv.clone(), &c.rhs).unwrap();
    let got = conv(&x, &w, &c.spec).unwrap();
    let shape = conv_shape(&c.lhs, &c.rhs, &c.spec).unwrap();
    assert_eq!(got.shape(), shape.as_slice());
    let want = reference(&xv, &wv, c, &shape);
    let got = got.to_vec::<f32>().unwrap();
    // Later calls with the same weights read them as kept for them (products of few rows read
    // the kernel in panels from the second call on): the same bits.
    for call in 2..=3 {
        let again = conv(&x, &w, &c.spec).unwrap().to_vec::<f32>().unwrap();
        assert!(again.iter().zip(&got).all(|(a, b)| a.to_bits() == b.to_bits()), "lhs {:?} rhs {:?}: call {call} differs from the first", c.lhs, c.rhs);
    }
    let depth = (nw / c.rhs[c.rhs.len() - 1]) as f64;
    for (i, (&g, &e)) in got.iter().zip(&want).enumerate() {
        assert!(
            (g as f64 - e).abs() <= 1e-6 * depth.sqrt() * (1.0 + e.abs()),
            "lhs {:?} rhs {:?} {:?}: element {i} is {g}, expected {e}",
            c.lhs,
            c.rhs,
            c.spec
        );
    }
}

#[test]
fn random_convolutions_equal_the_direct_reference() {
    let mut r = Rng(7);
    for i in 0..300 {
        check(&random_case(&mut r), i);
    }
}

#[test]
fn the_pointwise_path_and_the_parallel_tiles_equal_the_reference() {
    let one = |s: usize| ConvSpec { strides: vec![1; s], padding: vec![(0, 0); s], lhs_dilation: vec![1; s], rhs_dilation: vec![1; s], groups: 1 };
    // 1×1 (no gather), grouped 1×1, and a 3×3 over enough rows for several tiles and threads
    // (outputs under 24 each way: F(2×2) Winograd, whose rounding this bound covers; the
    // F(4×4) tiles of larger outputs are checked in winograd.rs against their own bound).
    check(&Case { lhs: vec![2, 9, 11, 16], rhs: vec![1, 1, 16, 24], spec: one(2) }, 1);
    check(&Case { lhs: vec![1, 7, 7, 12], rhs: vec![1, 1, 3, 8], spec: ConvSpec { groups: 4, ..one(2) } }, 2);
    let same = ConvSpec { padding: vec![(1, 1), (1, 1)], ..one(2) };
    check(&Case { lhs: vec![2, 22, 22, 16], rhs: vec![3, 3, 16, 32], spec: same.clone() }, 3);
    // Depthwise: one input feature per group, two outputs each.
    check(&Case { lhs: vec![1, 20, 20, 8], rhs: vec![3, 3, 1, 16], spec: ConvSpec { groups: 8, ..same.clone() } }, 4);
    // Depthwise with one output per feature (the register-blocked kernel): features not a
    // multiple of 16, lines not a multiple of 8 positions, strides, kernel dilation, uneven
    // and cropping padding, 1 and 3 spatial axes.
    let dw = |lhs: Vec<usize>, window: &[usize], spec: ConvSpec| {
        let c = *lhs.last().unwrap();
        Case { rhs: window.iter().copied().chain([1, c]).collect(), lhs, spec: ConvSpec { groups: c, ..spec } }
    };
    check(&dw(vec![2, 13, 21, 40], &[3, 3], same), 5);
    check(&dw(vec![1, 17, 19, 32], &[3, 3], spec(&[2, 2], &[(1, 1), (0, 1)], &[1, 1], &[1, 1], 1)), 6);
    check(&dw(vec![1, 12, 30, 16], &[3, 5], spec(&[1, 3], &[(2, 2), (-1, 4)], &[1, 1], &[2, 2], 1)), 7);
    check(&dw(vec![3, 50, 7], &[5], spec(&[1], &[(2, 2)], &[1], &[1], 1)), 8);
    check(&dw(vec![1, 5, 6, 7, 20], &[3, 3, 3], spec(&[1, 1, 1], &[(1, 1), (1, 1), (1, 1)], &[1, 1, 1], &[1, 1, 1], 1)), 9);
}

/// A spec from its parts, per spatial axis.
fn spec(strides: &[usize], padding: &[(i64, i64)], lhs_dilation: &[usize], rhs_dilation: &[usize], groups: usize) -> ConvSpec {
    ConvSpec { strides: strides.to_vec(), padding: padding.to_vec(), lhs_dilation: lhs_dilation.to_vec(), rhs_dilation: rhs_dilation.to_vec(), groups }
}

/// Runs `f` on pools of 1, 2 and 3 threads (serial tasks, and column bands for the threads).
fn on_pools(f: impl Fn() + Send + Sync) {
    for n in 1..=3 {
        rayon::ThreadPoolBuilder::new().num_threads(n).build().unwrap().install(&f);
    }
}

#[test]
fn the_implicit_products_equal_the_reference() {
    // Output lines of 6 or more (so these take the implicit path): products per line and window
    // row reading the input in place, or a zero-padded copy of the line.
    let one = [1, 1];
    let cases = [
        // The ResNet stem's shape at odd sizes, batch 2: 7×7/2, padding at both ends.
        Case { lhs: vec![2, 23, 21, 3], rhs: vec![7, 7, 3, 8], spec: spec(&[2, 2], &[(3, 3), (3, 3)], &one, &one, 1) },
        // Stride 3 and uneven padding.
        Case { lhs: vec![2, 19, 26, 3], rhs: vec![7, 5, 3, 6], spec: spec(&[3, 3], &[(2, 4), (1, 3)], &one, &one, 1) },
        // 3×3/2 SAME on an even input (padding on the high side only), batch 3.
        Case { lhs: vec![3, 15, 16, 8], rhs: vec![3, 3, 8, 16], spec: spec(&[2, 2], &[(0, 1), (0, 1)], &one, &one, 1) },
        Case { lhs: vec![2, 17, 20, 5], rhs: vec![3, 3, 5, 7], spec: spec(&[3, 3], &[(1, 1), (1, 1)], &one, &one, 1) },
        // Strided 1×1 projections: no copy at all; with two groups.
        Case { lhs: vec![2, 13, 15, 16], rhs: vec![1, 1, 16, 40], spec: spec(&[2, 2], &[(0, 0), (0, 0)], &one, &one, 1) },
        Case { lhs: vec![2, 10, 19, 12], rhs: vec![1, 1, 6, 10], spec: spec(&[3, 3], &[(0, 0), (0, 0)], &one, &one, 2) },
        // Groups with a 3×3 window: one product per window position.
        Case { lhs: vec![2, 12, 15, 12], rhs: vec![3, 3, 4, 9], spec: spec(&[2, 2], &[(1, 2), (2, 1)], &one, &one, 3) },
        // Kernel dilation along the lines; lhs dilation (the copied line has holes); cropping.
        Case { lhs: vec![1, 11, 20, 6], rhs: vec![3, 3, 6, 10], spec: spec(&[1, 2], &[(2, 2), (2, 2)], &one, &[2, 2], 1) },
        Case { lhs: vec![2, 7, 9, 4], rhs: vec![3, 3, 4, 5], spec: spec(&[1, 1], &[(2, 2), (2, 1)], &[2, 2], &one, 1) },
        Case { lhs: vec![1, 10, 18, 5], rhs: vec![3, 3, 5, 6], spec: spec(&[1, 2], &[(-1, 2), (-2, 1)], &one, &one, 1) },
        // Lines longer than one task (split in pieces), in 1 and 2 spatial axes.
        Case { lhs: vec![2, 700, 5], rhs: vec![5, 5, 7], spec: spec(&[2], &[(2, 3)], &[1], &[1], 1) },
        Case { lhs: vec![1, 3, 600, 4], rhs: vec![3, 3, 4, 6], spec: spec(&[1, 1], &[(1, 1), (1, 1)], &one, &one, 1) },
        // Enough work for parallel tasks: 7 lines of 1×1 projections (two column bands on 2 or
        // 3 threads) and 40 stem lines.
        Case { lhs: vec![1, 14, 14, 128], rhs: vec![1, 1, 128, 256], spec: spec(&[2, 2], &[(0, 0), (0, 0)], &one, &one, 1) },
        Case { lhs: vec![2, 40, 40, 3], rhs: vec![7, 7, 3, 16], spec: spec(&[2, 2], &[(3, 3), (3, 3)], &one, &one, 1) },
        // Three spatial axes.
        Case { lhs: vec![2, 4, 5, 14, 3], rhs: vec![2, 3, 3, 3, 4], spec: spec(&[1, 2, 2], &[(1, 0), (1, 1), (1, 2)], &[1; 3], &[1; 3], 1) },
        // Whole lines whose every window row is padding (those outputs stay zero).
        Case { lhs: vec![1, 3, 10, 2], rhs: vec![2, 3, 2, 3], spec: spec(&[1, 1], &[(3, 3), (1, 1)], &one, &one, 1) },
    ];
    on_pools(|| {
        for (i, c) in cases.iter().enumerate() {
            check(c, 100 + i as u64);
        }
    });
}

#[test]
fn the_im2col_tiles_equal_the_reference() {
    let one = [1, 1];
    let cases = [
        // Lines of 3 outputs, padded at both ends: gathered tiles of 94 and 95 rows, so tiles
        // end mid-line; batch 3 (three column bands on 3 threads).
        Case { lhs: vec![3, 41, 5, 8], rhs: vec![3, 3, 8, 80], spec: spec(&[2, 2], &[(1, 1), (1, 1)], &one, &one, 1) },
        // Lines of 7 with a kernel larger than L2 (1.5 MB): one tile, column bands on threads.
        Case { lhs: vec![1, 15, 15, 256], rhs: vec![3, 3, 256, 160], spec: spec(&[2, 2], &[(0, 0), (0, 0)], &one, &one, 1) },
        // Short lines with groups and kernel dilation: a copy per window position.
        Case { lhs: vec![2, 9, 4, 6], rhs: vec![3, 2, 2, 6], spec: spec(&[2, 1], &[(1, 1), (1, 0)], &one, &[1, 2], 3) },
    ];
    on_pools(|| {
        for (i, c) in cases.iter().enumerate() {
            check(c, 200 + i as u64);
        }
        // The one-tile case twice more, with other values: a thread that gathered a tile for
        // several bands of the call before must gather this call's anew.
        check(&cases[1], 298);
        check(&cases[1], 299);
    });
}

#[test]
fn bad_shapes_and_attributes_are_refused_with_both_shapes() {
    let spec = |s: usize, g: i64| ConvSpec::new(s, &vec![1; s], &vec![0; 2 * s], &vec![1; s], &vec![1; s], g);
    let e = conv_shape(&[1, 5, 5, 4], &[3, 3, 3, 8], &spec(2, 1).unwrap()).unwrap_err().to_string();
    assert!(e.contains("[1, 5, 5, 4]") && e.contains("[3, 3, 3, 8]") && e.contains("4/1"), "{e}");
    let e = conv_shape(&[1, 5, 5, 4], &[3, 3, 2, 6], &spec(2, 2).unwrap()).unwrap();
    assert_eq!(e, vec![1, 3, 3, 6]);
    let e = conv_shape(&[1, 5, 5, 4], &[3, 3, 2, 5], &spec(2, 2).unwrap()).unwrap_err().to_string();
    assert!(e.contains("not a multiple of feature_group_count 2"), "{e}");
    let e = conv_shape(&[1, 5, 4], &[3, 3, 4, 8], &spec(2, 1).unwrap()).unwrap_err().to_string();
    assert!(e.contains("rank 4"), "{e}");
    assert!(ConvSpec::new(2, &[1, 0], &[0; 4], &[1, 1], &[1, 1], 1).unwrap_err().to_string().contains("window_strides"));
    assert!(ConvSpec::new(2, &[1, 1], &[0; 3], &[1, 1], &[1, 1], 1).unwrap_err().to_string().contains("(lo, hi) pair"));
    assert!(ConvSpec::new(2, &[1, 1], &[0; 4], &[1, 1], &[1, 1], 0).unwrap_err().to_string().contains("feature_group_count"));
    // A window larger than the padded input gives an empty output, as XLA's.
    assert_eq!(conv_shape(&[1, 2, 2, 1], &[3, 3, 1, 1], &spec(2, 1).unwrap()).unwrap(), vec![1, 0, 0, 1]);
}

#[test]
fn the_direct_path_for_shallow_windows_equals_the_reference() {
    // Windows of at most 32 floats: mnist's first layer, an RGB 3×3/2 with 40 features (a
    // second, partial block of 32), a dilated 5×5 over one feature with 17 outputs, padding
    // wider than the window (whole lines of zeros), and lines longer than one task.
    let spec = |s: usize, p: i64, d: usize| ConvSpec { strides: vec![s; 2], padding: vec![(p, p); 2], lhs_dilation: vec![1; 2], rhs_dilation: vec![d; 2], groups: 1 };
    let cases = [
        Case { lhs: vec![3, 28, 28, 1], rhs: vec![3, 3, 1, 32], spec: spec(1, 1, 1) },
        Case { lhs: vec![2, 15, 13, 3], rhs: vec![3, 3, 3, 40], spec: spec(2, 1, 1) },
        Case { lhs: vec![1, 12, 12, 1], rhs: vec![5, 5, 1, 17], spec: spec(1, 3, 2) },
        Case { lhs: vec![1, 4, 9, 2], rhs: vec![2, 2, 2, 8], spec: spec(1, 4, 1) },
        Case { lhs: vec![2, 64, 600, 1], rhs: vec![3, 3, 1, 48], spec: spec(1, 1, 1) },
    ];
    on_pools(|| {
        for (i, c) in cases.iter().enumerate() {
            check(c, 50 + i as u64);
        }
    });
}
