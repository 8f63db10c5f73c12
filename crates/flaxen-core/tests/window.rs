//! reduce_window against a direct reference of JAX's results (each window starts from init and
//! combines its input elements in row-major order; padded positions add nothing), over random shapes,
//! windows, strides and (negative) padding, on both the contiguous-row and the element path.

mod common;

use flaxen_core::ops::{reduce_window, reduce_window_shape, Window, WindowOp};
use flaxen_core::Tensor;

fn reference(x: &[f32], shape: &[usize], init: f32, op: WindowOp, w: &Window, out: &[usize]) -> Vec<f32> {
    let f = |a: f32, b: f32| match op {
        WindowOp::Add => a + b,
        WindowOp::Max => if a.is_nan() || b.is_nan() { f32::NAN } else { a.max(b) },
        WindowOp::Min => if a.is_nan() || b.is_nan() { f32::NAN } else { a.min(b) },
    };
    let nd = shape.len();
    let unravel = |mut i: usize, dims: &[usize]| {
        let mut v = vec![0; dims.len()];
        for d in (0..dims.len()).rev() {
            v[d] = i % dims[d];
            i /= dims[d];
        }
        v
    };
    (0..out.iter().product::<usize>())
        .map(|o| {
            let p = unravel(o, out);
            let mut acc = init;
            for k in 0..w.dims.iter().product::<usize>() {
                let kk = unravel(k, &w.dims);
                let mut flat = Some(0usize);
                for d in 0..nd {
                    let q = (p[d] * w.strides[d] + kk[d]) as i64 - w.padding[d].0;
                    flat = flat.filter(|_| q >= 0 && (q as usize) < shape[d]).map(|fl| fl * shape[d] + q as usize);
                }
                if let Some(i) = flat {
                    acc = f(acc, x[i]);
                }
            }
            acc
        })
        .collect()
}

#[test]
fn random_windows_equal_the_direct_reference() {
    let mut s = 11u64;
    let mut below = |n: u64| {
        s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (s >> 33) % n
    };
    for case in 0..400 {
        let nd = 1 + below(4) as usize;
        let shape: Vec<usize> = (0..nd).map(|_| 1 + below(6) as usize).collect();
        // Half the cases leave the last axis unwindowed (the pooling layout's contiguous rows).
        let free_last = below(2) == 0;
        let (mut dims, mut strides, mut pads) = (vec![], vec![], vec![]);
        for d in 0..nd {
            let free = free_last && d == nd - 1;
            dims.push(if free { 1 } else { 1 + below(3) as i64 });
            strides.push(if free { 1 } else { 1 + below(3) as i64 });
            pads.extend(if free { [0, 0] } else { [below(4) as i64 - 1, below(4) as i64 - 1] });
        }
        let w = Window::new(nd, &dims, &strides, &pads).unwrap();
        let mut xv = common::values(shape.iter().product(), case, 3.0);
        if case % 7 == 0 {
            xv[0] = f32::NAN;
        }
        let x = Tensor::from_vec(xv.clone(), &shape).unwrap();
        let out = reduce_window_shape(&shape, &w).unwrap();
        for (op, init) in [(WindowOp::Add, 0.0f32), (WindowOp::Add, 0.5), (WindowOp::Max, f32::NEG_INFINITY), (WindowOp::Min, f32::INFINITY), (WindowOp::Max, 0.0)] {
            let got = reduce_window(&x, init as f64, op, &w).unwrap();
            assert_eq!(got.shape(), out.as_slice());
            let want = reference(&xv, &shape, init, op, &w, &out);
            let got = got.to_vec::<f32>().unwrap();
            for (i, (g, e)) in got.iter().zip(&want).enumerate() {
                assert!(g.to_bits() == e.to_bits() || (g.is_nan() && e.is_nan()), "{shape:?} {w:?} {op:?} init {init}: element {i} is {g}, expected {e}");
            }
        }
    }
}

#[test]
fn windows_far_larger_than_the_input_visit_only_the_input() {
    // A window of 2^30 positions, mostly padding: each output combines at most the 5 inputs
    // (the work is bounded by the input, not by the window).
    let x = Tensor::from_vec(vec![1.0f32, 2.0, 4.0, 8.0, 16.0], &[5]).unwrap();
    let w = Window::new(1, &[1 << 30], &[1 << 29], &[(1 << 30) - 1, (1 << 30) - 1]).unwrap();
    let got = reduce_window(&x, 0.5, WindowOp::Add, &w).unwrap();
    assert_eq!(got.to_vec::<f32>().unwrap(), vec![1.5, 31.5, 30.5]);
}

#[test]
fn bad_windows_are_refused() {
    assert!(Window::new(2, &[2], &[1, 1], &[0; 4]).unwrap_err().to_string().contains("window_dimensions has 1 entries"));
    assert!(Window::new(2, &[2, 2], &[1, 0], &[0; 4]).unwrap_err().to_string().contains("window_strides must be positive"));
    assert!(Window::new(2, &[2, 2], &[1, 1], &[0; 3]).unwrap_err().to_string().contains("(lo, hi) pair per axis"));
    let w = Window::new(2, &[3, 1], &[1, 1], &[0; 4]).unwrap();
    assert_eq!(reduce_window_shape(&[2, 4], &w).unwrap(), vec![0, 4]);
    let x = Tensor::from_vec(vec![1i32; 4], &[2, 2]).unwrap();
    assert!(reduce_window(&x, 0.0, WindowOp::Add, &w).unwrap_err().to_string().contains("expected a float dtype"));
}

#[test]
fn pooling_rows_of_any_width_combine_as_the_scalar_order_does() {
    // NHWC pooling combines whole feature rows in registers, 128 features at a time: widths
    // across 1, 2, 4 and 8 vectors, partial vectors and several blocks. Signed zeros and NaNs
    // check the operand order (x > y ? x : y keeps y on ties; NaNs give x + y).
    let fmax = |x: f32, y: f32| if x.is_nan() || y.is_nan() { x + y } else if x > y { x } else { y };
    let fmin = |x: f32, y: f32| if x.is_nan() || y.is_nan() { x + y } else if x < y { x } else { y };
    for (case, &c) in [1usize, 15, 16, 17, 33, 64, 100, 128, 129, 300].iter().enumerate() {
        let shape = [2, 5, 4, c];
        let mut xv = common::values(shape.iter().product(), case as u64 + 500, 2.0);
        for (i, x) in xv.iter_mut().enumerate() {
            match i % 37 {
                0 => *x = 0.0,
                1 => *x = -0.0,
                2 if i % 3 == 0 => *x = f32::NAN,
                _ => {}
            }
        }
        let x = Tensor::from_vec(xv.clone(), &shape).unwrap();
        let w = Window::new(4, &[1, 3, 2, 1], &[1, 1, 2, 1], &[0, 0, 0, 0, 0, 0, 0, 0]).unwrap();
        let out = reduce_window_shape(&shape, &w).unwrap();
        for (op, init) in [(WindowOp::Add, -0.0f32), (WindowOp::Max, f32::NEG_INFINITY), (WindowOp::Max, 0.0), (WindowOp::Min, f32::INFINITY)] {
            let got = reduce_window(&x, init as f64, op, &w).unwrap().to_vec::<f32>().unwrap();
            let mut want = vec![];
            for b in 0..2 {
                for i in 0..out[1] {
                    for j in 0..out[2] {
                        for f in 0..c {
                            let mut acc = init;
                            for di in 0..3 {
                                for dj in 0..2 {
                                    let v = xv[((b * 5 + i + di) * 4 + 2 * j + dj) * c + f];
                                    acc = match op {
                                        WindowOp::Add => acc + v,
                                        WindowOp::Max => fmax(acc, v),
                                        WindowOp::Min => fmin(acc, v),
                                    };
                                }
                            }
                            want.push(acc);
                        }
                    }
                }
            }
            assert_eq!(got.len(), want.len());
            for (i, (g, e)) in got.iter().zip(&want).enumerate() {
                assert_eq!(g.to_bits(), e.to_bits(), "{c} features, {op:?} init {init}: element {i} is {g}, expected {e}");
            }
        }
    }
}

#[test]
fn row_stepping_continues_across_chunks_inside_and_in_the_padding() {
    // Rows of features take the row-stepping path: VALID and cropping windows (every window
    // inside the input), and padded ones (SAME-like, one side or both), whose border rows are
    // combined one by one between the inside rows. An output of several chunks starts each
    // chunk mid-odometer (rows 341.. of 48 features), possibly on a border row.
    let cases = [[0i64, 0, 0, 0, 0, 0, 0, 0], [0, 0, -1, 0, 0, -2, 0, 0], [-1, 0, -2, -1, -1, 0, 0, 0], [0, 0, 0, 1, 0, 1, 0, 0], [0, 0, 1, 1, 2, 1, 0, 0], [1, 1, 1, 0, 0, 2, 0, 0]];
    for (case, pads) in cases.iter().enumerate() {
        let shape = [3usize, 45, 41, 48];
        let xv = common::values(shape.iter().product(), case as u64 + 900, 3.0);
        let x = Tensor::from_vec(xv.clone(), &shape).unwrap();
        let w = Window::new(4, &[1, 3, 2, 1], &[1, 2, 3, 1], pads).unwrap();
        let out = reduce_window_shape(&shape, &w).unwrap();
        assert!(out.iter().product::<usize>() > 16384, "{out:?}: several chunks");
        for (op, init) in [(WindowOp::Add, 0.0f32), (WindowOp::Max, f32::NEG_INFINITY), (WindowOp::Min, 0.25)] {
            let got = reduce_window(&x, init as f64, op, &w).unwrap().to_vec::<f32>().unwrap();
            let want = reference(&xv, &shape, init, op, &w, &out);
            for (i, (g, e)) in got.iter().zip(&want).enumerate() {
                assert_eq!(g.to_bits(), e.to_bits(), "pads {pads:?} {op:?}: element {i} is {g}, expected {e}");
            }
        }
    }
}
