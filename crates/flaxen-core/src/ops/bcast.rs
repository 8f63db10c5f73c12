//! numpy broadcasting of N operands as runs of the output (the row scheme of `binary.rs`,
//! generalised): size-1 axes are dropped and neighbouring axes that every operand traverses
//! contiguously are merged, so the innermost axis is as long as possible. Along it each operand
//! either walks (stride 1) or repeats one element (stride 0), and a kernel handles a run as a
//! plain slice loop. Used by comparisons, logical ops, `where` and `broadcast_to`.

use crate::par;
use crate::shape::broadcast_strides;

pub(crate) struct Plan<const N: usize> {
    /// Coalesced output dimensions (never empty).
    dims: Vec<usize>,
    /// Per operand, its element stride along each coalesced dimension (0 when broadcast).
    st: [Vec<usize>; N],
}

impl<const N: usize> Plan<N> {
    /// `shapes` must each broadcast to `out` (checked by the caller).
    pub(crate) fn new(out: &[usize], shapes: [&[usize]; N]) -> Plan<N> {
        let bst: [Vec<usize>; N] = std::array::from_fn(|k| broadcast_strides(shapes[k], out));
        let mut dims: Vec<usize> = Vec::new();
        let mut st: [Vec<usize>; N] = std::array::from_fn(|_| Vec::new());
        for (i, &d) in out.iter().enumerate() {
            if d == 1 {
                continue;
            }
            if let Some(k) = dims.len().checked_sub(1) {
                // Axis k merges into axis i if stepping k equals stepping i `d` times, for all.
                if (0..N).all(|j| st[j][k] == bst[j][i] * d) {
                    dims[k] *= d;
                    for j in 0..N {
                        st[j][k] = bst[j][i];
                    }
                    continue;
                }
            }
            dims.push(d);
            for j in 0..N {
                st[j].push(bst[j][i]);
            }
        }
        if dims.is_empty() {
            dims.push(1);
            for s in st.iter_mut() {
                s.push(0);
            }
        }
        Plan { dims, st }
    }

    /// Calls `f(run, offsets, incs)` for consecutive runs of `out` (whose length must be the
    /// product of the output shape) along the innermost coalesced axis: `offsets[k]` is operand
    /// k's element offset for the run's first element and `incs[k]` is 1 (walks) or 0 (repeats).
    /// Chunks of the output run in parallel when it is large.
    pub(crate) fn runs<U: Send>(
        &self,
        out: &mut [U],
        f: impl Fn(&mut [U], [usize; N], [usize; N]) + Sync + Send,
    ) {
        let d = self.dims.len();
        let row = self.dims[d - 1];
        let inc: [usize; N] = std::array::from_fn(|k| self.st[k][d - 1]);
        par::chunks(out, par::CHUNK, |start, c| {
            let mut p = 0;
            while p < c.len() {
                let flat = start + p;
                let (mut r, col) = (flat / row, flat % row);
                let mut off: [usize; N] = std::array::from_fn(|k| col * inc[k]);
                for l in (0..d - 1).rev() {
                    let i = r % self.dims[l];
                    r /= self.dims[l];
                    for (k, o) in off.iter_mut().enumerate() {
                        *o += i * self.st[k][l];
                    }
                }
                let len = (row - col).min(c.len() - p);
                f(&mut c[p..p + len], off, inc);
                p += len;
            }
        })
    }
}

/// One operand of a run: a walked slice (exactly as long as the run, so indexing it in a
/// `0..len` loop needs no bounds check) or one repeated element.
pub(crate) trait Src<T>: Copy {
    fn at(self, i: usize) -> T;
}

#[derive(Clone, Copy)]
pub(crate) struct Walk<'a, T>(pub &'a [T]);
#[derive(Clone, Copy)]
pub(crate) struct Rep<T>(pub T);

impl<T: Copy> Src<T> for Walk<'_, T> {
    #[inline(always)]
    fn at(self, i: usize) -> T {
        self.0[i]
    }
}
impl<T: Copy> Src<T> for Rep<T> {
    #[inline(always)]
    fn at(self, _: usize) -> T {
        self.0
    }
}

/// `o[i] = f(a[i], b[i])` over one run; `ia`/`ib` are 1 (walk from element 0 of the slice) or
/// 0 (repeat element 0). Monomorphised per walk/repeat combination so each loop vectorises.
#[inline(always)]
pub(crate) fn run2<A: Copy, B: Copy, U>(
    o: &mut [U],
    a: &[A],
    ia: usize,
    b: &[B],
    ib: usize,
    f: impl Fn(A, B) -> U,
) {
    #[inline(always)]
    fn go<A, B, U>(o: &mut [U], a: impl Src<A>, b: impl Src<B>, f: impl Fn(A, B) -> U) {
        for (i, z) in o.iter_mut().enumerate() {
            *z = f(a.at(i), b.at(i));
        }
    }
    let n = o.len();
    match (ia, ib) {
        (1, 1) => go(o, Walk(&a[..n]), Walk(&b[..n]), f),
        (1, _) => go(o, Walk(&a[..n]), Rep(b[0]), f),
        (_, 1) => go(o, Rep(a[0]), Walk(&b[..n]), f),
        _ => go(o, Rep(a[0]), Rep(b[0]), f),
    }
}

/// `o[i] = f(a[i], b[i], c[i])` over one run (see `run2`).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(crate) fn run3<A: Copy, B: Copy, C: Copy, U>(
    o: &mut [U],
    a: &[A],
    ia: usize,
    b: &[B],
    ib: usize,
    c: &[C],
    ic: usize,
    f: impl Fn(A, B, C) -> U,
) {
    #[inline(always)]
    fn go<A, B, C, U>(
        o: &mut [U],
        a: impl Src<A>,
        b: impl Src<B>,
        c: impl Src<C>,
        f: impl Fn(A, B, C) -> U,
    ) {
        for (i, z) in o.iter_mut().enumerate() {
            *z = f(a.at(i), b.at(i), c.at(i));
        }
    }
    let n = o.len();
    match (ia, ib, ic) {
        (1, 1, 1) => go(o, Walk(&a[..n]), Walk(&b[..n]), Walk(&c[..n]), f),
        (1, 1, _) => go(o, Walk(&a[..n]), Walk(&b[..n]), Rep(c[0]), f),
        (1, _, 1) => go(o, Walk(&a[..n]), Rep(b[0]), Walk(&c[..n]), f),
        (1, _, _) => go(o, Walk(&a[..n]), Rep(b[0]), Rep(c[0]), f),
        (_, 1, 1) => go(o, Rep(a[0]), Walk(&b[..n]), Walk(&c[..n]), f),
        (_, 1, _) => go(o, Rep(a[0]), Walk(&b[..n]), Rep(c[0]), f),
        (_, _, 1) => go(o, Rep(a[0]), Rep(b[0]), Walk(&c[..n]), f),
        _ => go(o, Rep(a[0]), Rep(b[0]), Rep(c[0]), f),
    }
}
