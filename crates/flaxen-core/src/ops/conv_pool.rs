//! A convolution and the pooling after it, batch slice by batch slice (a plan fusion, never
//! called from JS): each slice's convolution output (with its epilogue: bias, relu) is pooled
//! while it is still in cache, instead of the whole convolution output going to memory and
//! coming back. At mnist's batch 256 the first layer's output is 26 MB; its slices are ~0.5 MB.
//!
//! Valid because both ops treat images independently (the pooling window spans one image: size
//! 1, stride 1 and no padding along the batch axis), and bit for bit the separate ops: each
//! element is computed the same way, and the convolution's path is chosen for the whole batch.

use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::ops::conv::{conv_into, conv_shape, takes_winograd, ConvSpec};
use crate::ops::fused::Epilogue;
use crate::ops::window::{reduce_window_into, reduce_window_shape, Window, WindowOp};
use crate::shape::numel;
use crate::tensor::Tensor;

/// Convolution output bytes per slice: a share of L2.
const SLICE_BYTES: usize = 512 << 10;

thread_local! {
    static SCRATCH: std::cell::Cell<Vec<f32>> = const { std::cell::Cell::new(Vec::new()) };
}

/// The pooling `reduce_window(conv(x, w), init, op, win)` with each op's epilogue.
#[allow(clippy::too_many_arguments)]
pub fn conv_pool(x: &Tensor, w: &Tensor, spec: &ConvSpec, conv_tail: Option<&Epilogue>, init: f64, op: WindowOp, win: &Window, pool_tail: Option<&Epilogue>) -> Result<Tensor> {
    for (t, what) in [(x, "lhs"), (w, "rhs")] {
        if t.dtype() != DType::F32 {
            return Err(Error::dtype(format!("conv_pool: {what} has dtype {}; expected float32", t.dtype())));
        }
    }
    let (ls, rs) = (x.shape(), w.shape());
    let cs = conv_shape(ls, rs, spec)?;
    let ps = reduce_window_shape(&cs, win)?;
    if win.dims.len() != cs.len() || (win.dims[0], win.strides[0], win.padding[0]) != (1, 1, (0, 0)) {
        return Err(Error::arg("conv_pool: the pooling window must span one image (size 1, stride 1, no padding along the batch axis)"));
    }
    if let Some(t) = conv_tail {
        t.check(&cs, "conv_pool: convolution")?;
    }
    if let Some(t) = pool_tail {
        t.check(&ps, "conv_pool: pooling")?;
    }
    let winograd = takes_winograd(ls, rs, &cs, spec);
    let n = ls[0];
    let (x_per, c_per, p_per) = (numel(&ls[1..]), numel(&cs[1..]), numel(&ps[1..]));
    let per_slice = (SLICE_BYTES / (4 * c_per).max(1)).clamp(1, n.max(1));
    let (xv, wv) = (x.raw::<f32>(), w.raw::<f32>());
    Tensor::try_build::<f32>(&ps, DType::F32, "conv_pool: output", |out| {
        if out.is_empty() {
            return;
        }
        let slice = |(i, po): (usize, &mut [f32])| {
            let (b0, imgs) = (i * per_slice, po.len() / p_per);
            let with = |shape: &[usize]| -> Vec<usize> { [imgs].into_iter().chain(shape[1..].iter().copied()).collect() };
            let (lsi, csi) = (with(ls), with(&cs));
            // Taken out of the cell: a slice started on this thread while this one waits for
            // its inner tasks makes its own.
            let mut buf = SCRATCH.take();
            buf.resize(imgs * c_per, 0.0);
            let ct = conv_tail.map(|t| t.at(b0 * c_per));
            conv_into(&xv[b0 * x_per..(b0 + imgs) * x_per], &lsi, wv, Some(w.storage()), rs, spec, &csi, winograd, &mut buf, ct.as_ref());
            let pt = pool_tail.map(|t| t.at(b0 * p_per));
            reduce_window_into(&buf, &csi, init, op, win, &with(&ps), po, pt.as_ref());
            SCRATCH.set(buf);
        };
        if p_per == 0 {
            return;
        }
        let per = per_slice * p_per;
        crate::par::each_chunk(out, per, |start, po| slice((start / per, po)));
    })
}
