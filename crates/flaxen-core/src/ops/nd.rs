//! ndarray views over tensor storage, for the strided layout kernels: ndarray steps the
//! multi-dimensional indices, so those kernels hold no index arithmetic of their own.

use ndarray::{ArrayBase, ArrayView, ArrayViewD, ArrayViewMut, ArrayViewMutD, Dimension, RawData};
use ndarray::{Ix1, Ix2, Ix3, Ix4, Ix5, IxDyn, Zip};

use crate::tensor::Tensor;

/// `x` as a C-order view of its storage.
pub(crate) fn view<T: Copy>(x: &Tensor) -> ArrayViewD<'_, T> {
    ArrayView::from_shape(x.shape(), x.raw::<T>()).expect("storage holds exactly shape's elements")
}

/// `o` (a fresh output's storage) as a C-order view of `shape`.
pub(crate) fn view_mut<'a, T>(o: &'a mut [T], shape: &[usize]) -> ArrayViewMutD<'a, T> {
    ArrayViewMut::from_shape(shape, o).expect("output holds exactly shape's elements")
}

/// `dst[i] = src[i]` over equal shapes, in parallel when large. Ranks up to 5 run with a fixed
/// rank, whose index stepping is several times faster than IxDyn's.
pub(crate) fn assign<T: Copy + Send + Sync>(dst: ArrayViewMutD<'_, T>, src: ArrayViewD<'_, T>) {
    match dst.ndim() {
        1 => zip_copy(fixed::<_, Ix1>(dst), fixed(src)),
        2 => zip_copy(fixed::<_, Ix2>(dst), fixed(src)),
        3 => zip_copy(fixed::<_, Ix3>(dst), fixed(src)),
        4 => zip_copy(fixed::<_, Ix4>(dst), fixed(src)),
        5 => zip_copy(fixed::<_, Ix5>(dst), fixed(src)),
        _ => zip_copy(dst, src),
    }
}

fn fixed<S: RawData, D: Dimension>(a: ArrayBase<S, IxDyn>) -> ArrayBase<S, D> {
    a.into_dimensionality().expect("rank matched by the caller")
}

fn zip_copy<T: Copy + Send + Sync, D: Dimension>(
    dst: ArrayViewMut<'_, T, D>,
    src: ArrayView<'_, T, D>,
) {
    let big = crate::par::parallel(dst.len());
    let z = Zip::from(dst).and(src);
    if big {
        z.par_for_each(|d, &s| *d = s);
    } else {
        z.for_each(|d, &s| *d = s);
    }
}
