//! Fused float32 elementwise chains, made by the plan compiler (never called from JS): a chain
//! `acc = f_k(...f_1(start))` runs in one pass over the output, chunk by chunk, instead of one
//! kernel and one intermediate tensor per op. After a matmul the chain is its epilogue: it runs
//! in place over the product (bias add and activation without another pass through memory).
//!
//! Every step applies the same per-element function as the eager op (the same slice kernels
//! and scalar functions, the same weak-scalar rules as `binary_scalar`), in the same order, so
//! fused results are bit-identical to eager ones; no sums are reassociated.

use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::ops::binary::{floor_div_f32, fmax_nan, fmin_nan, rem_f32};
use crate::ops::elementwise::f32_kernel;
use crate::ops::unary::{relu_in_place, sign_f32};
use crate::ops::{BinaryOp, UnaryOp};
use crate::par;
use crate::shape::numel;
use crate::tensor::Tensor;

/// A step's second operand.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Other {
    /// A JS number, as the float32 the eager op would make of it.
    Scalar(f32),
    /// Extra tensor `i` of the fused op: the output's shape, a trailing block of it (a bias
    /// row, repeated), or one element.
    Extra(usize),
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Step {
    Unary(UnaryOp),
    Relu,
    Sign,
    /// `acc = op(acc, other)`, or `op(other, acc)` when `acc_right`.
    Binary { op: BinaryOp, other: Other, acc_right: bool },
    /// lax.integer_pow: `acc ** n` by repeated squaring, then a reciprocal when n < 0.
    IntPow(i64),
}

/// Where the chain starts.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Start {
    /// Extra tensor `i` (it has the output's shape).
    Extra(usize),
    /// The product of the matmul this chain is the epilogue of (updated in place).
    Product,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Program {
    pub start: Start,
    pub steps: Vec<Step>,
    pub shape: Vec<usize>,
}

/// Elements per chunk: small enough that the accumulators stay in L1.
const CHUNK: usize = 2048;

/// An extra operand read at flat output offsets: whole, repeated every `len`, or one element.
#[derive(Clone)]
struct Src<'a> {
    data: &'a [f32],
    /// A short repeated row (a per-feature BatchNorm statistic or bias) laid out again and
    /// again over `CHUNK + len` floats: a chunk then reads it in one run instead of one
    /// segment per row (32 calls per chunk for 64 features, each mostly loop overhead). Made on
    /// first use (a kernel applying a bias in registers never needs it), shared by the copies
    /// `Epilogue::at` makes; None inside when the row is not tiled.
    tiled: std::sync::Arc<std::sync::OnceLock<Option<Box<[f32]>>>>,
    /// Elements of the output the operand is read for.
    out_len: usize,
}

/// Rows up to this long are tiled (`Src::tiled`).
const TILE_ROWS: usize = 512;

impl<'a> Src<'a> {
    fn new(data: &'a [f32], out_len: usize) -> Src<'a> {
        Src { data, tiled: Default::default(), out_len }
    }

    /// The tiled row, made on the first call.
    fn tiled(&self) -> Option<&[f32]> {
        let (data, n) = (self.data, self.data.len());
        self.tiled
            .get_or_init(|| {
                (n > 1 && n <= TILE_ROWS && self.out_len > n).then(|| {
                    // Whole-row copies (an iterator's `cycle().take()` went element by element:
                    // 12% of a small convolution's call).
                    let mut t = Vec::with_capacity(CHUNK + 2 * n);
                    while t.len() < CHUNK + n {
                        t.extend_from_slice(data);
                    }
                    t.into_boxed_slice()
                })
            })
            .as_deref()
    }
}

impl Src<'_> {
    /// `acc[i] = op(acc[i], self[start + i])` (or `op(self[..], acc[i])`): a repeated row is
    /// read in place, segment by segment, rather than copied out first; one element is
    /// broadcast through `tmp`.
    #[inline(always)]
    fn apply(&self, op: BinaryOp, start: usize, acc: &mut [f32], tmp: &mut [f32], acc_right: bool) {
        let n = self.data.len();
        if n == 1 {
            tmp.fill(self.data[0]);
            return apply2(op, acc, tmp, acc_right);
        }
        if let Some(t) = self.tiled() {
            let at = start % n;
            if at + acc.len() <= t.len() {
                return apply2(op, acc, &t[at..at + acc.len()], acc_right);
            }
        }
        let mut p = 0;
        while p < acc.len() {
            let at = (start + p) % n;
            let len = (n - at).min(acc.len() - p);
            apply2(op, &mut acc[p..p + len], &self.data[at..at + len], acc_right);
            p += len;
        }
    }
}

/// Whether an operand of `shape` can be read by `Src` for an output of `out`: the same shape,
/// one element, or a trailing block of the output's axes (leading 1s allowed).
pub fn fits(shape: &[usize], out: &[usize]) -> bool {
    let trimmed: &[usize] = {
        let lead = shape.iter().take_while(|&&d| d == 1).count();
        &shape[lead..]
    };
    numel(shape) == 1 || (trimmed.len() <= out.len() && out.ends_with(trimmed) && numel(shape) > 0)
}

#[inline(always)]
fn apply2(op: BinaryOp, acc: &mut [f32], x: &[f32], acc_right: bool) {
    macro_rules! go {
        ($f:expr) => {
            if acc_right {
                acc.iter_mut().zip(x).for_each(|(a, &b)| *a = $f(b, *a));
            } else {
                acc.iter_mut().zip(x).for_each(|(a, &b)| *a = $f(*a, b));
            }
        };
    }
    match op {
        BinaryOp::Add => go!(|p: f32, q: f32| p + q),
        BinaryOp::Sub => go!(|p: f32, q: f32| p - q),
        BinaryOp::Mul => go!(|p: f32, q: f32| p * q),
        BinaryOp::Div => go!(|p: f32, q: f32| p / q),
        BinaryOp::Max => go!(fmax_nan),
        BinaryOp::Min => go!(fmin_nan),
        BinaryOp::Pow => go!(f32::powf),
        BinaryOp::Rem => go!(rem_f32),
        BinaryOp::FloorDiv => go!(floor_div_f32),
    }
}

/// `integer_pow`'s per-element sequence of multiplications, on a chunk.
fn int_pow(acc: &mut [f32], n: i64, base: &mut [f32], tmp: &mut [f32]) {
    let mut e = n.unsigned_abs();
    if e == 0 {
        acc.fill(1.0);
        return;
    }
    base.copy_from_slice(acc);
    let mut have = false;
    loop {
        if e & 1 != 0 {
            if have {
                acc.iter_mut().zip(base.iter()).for_each(|(a, &b)| *a *= b);
            } else {
                acc.copy_from_slice(base);
                have = true;
            }
        }
        e >>= 1;
        if e == 0 {
            break;
        }
        base.iter_mut().for_each(|b| *b = *b * *b);
    }
    if n < 0 {
        tmp.copy_from_slice(acc);
        f32_kernel(UnaryOp::Reciprocal)(tmp, acc);
    }
}

/// Runs `steps` over `acc` (a chunk at flat offset `start`): compiled for AVX-512 where the
/// CPU has it (the step loops vectorise 16 wide instead of the baseline's 4; measured 3×
/// faster chains), else for the baseline. The same IEEE operations either way (no
/// contraction into FMAs), so the results are the same bits.
fn run_steps(steps: &[Step], extras: &[Src], start: usize, acc: &mut [f32], tmp: &mut [f32], tmp2: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if crate::cpu::has_avx512f() {
        // SAFETY: AVX-512F was detected at run time.
        return unsafe { run_steps_avx512(steps, extras, start, acc, tmp, tmp2) };
    }
    run_steps_any(steps, extras, start, acc, tmp, tmp2)
}

/// `run_steps` compiled with AVX-512F.
///
/// # Safety
/// The CPU must have AVX-512F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn run_steps_avx512(steps: &[Step], extras: &[Src], start: usize, acc: &mut [f32], tmp: &mut [f32], tmp2: &mut [f32]) {
    run_steps_any(steps, extras, start, acc, tmp, tmp2)
}

#[inline(always)]
fn run_steps_any(steps: &[Step], extras: &[Src], start: usize, acc: &mut [f32], tmp: &mut [f32], tmp2: &mut [f32]) {
    let n = acc.len();
    let (tmp, tmp2) = (&mut tmp[..n], &mut tmp2[..n]);
    for step in steps {
        match *step {
            Step::Unary(op) => {
                tmp.copy_from_slice(acc);
                f32_kernel(op)(tmp, acc);
            }
            Step::Relu => relu_in_place(acc),
            Step::Sign => acc.iter_mut().for_each(|v| *v = sign_f32(*v)),
            Step::Binary { op, other: Other::Scalar(s), acc_right } => {
                tmp.fill(s);
                apply2(op, acc, tmp, acc_right);
            }
            Step::Binary { op, other: Other::Extra(i), acc_right } => extras[i].apply(op, start, acc, tmp, acc_right),
            Step::IntPow(p) => int_pow(acc, p, tmp, tmp2),
        }
    }
}

fn f32_data<'a>(t: &'a Tensor, what: &str) -> Result<&'a [f32]> {
    if t.dtype() != DType::F32 {
        return Err(Error::dtype(format!("fused: {what} has dtype {}; fused chains are float32", t.dtype())));
    }
    Ok(t.raw::<f32>())
}

fn sources<'a>(extras: &'a [Tensor], out: &[usize]) -> Result<Vec<Src<'a>>> {
    extras
        .iter()
        .enumerate()
        .map(|(i, t)| {
            if !fits(t.shape(), out) {
                return Err(Error::shape(format!("fused: extra {i} of shape {:?} does not fit output {out:?}", t.shape())));
            }
            Ok(Src::new(f32_data(t, "an extra operand")?, numel(out)))
        })
        .collect()
}

fn chunks(out: &mut [f32], f: impl Fn(usize, &mut [f32]) + Sync + Send) {
    par::chunks(out, CHUNK, |s, c| f(s, c))
}

/// Runs a chain that starts from an extra operand into a new tensor.
pub fn run(prog: &Program, extras: &[Tensor]) -> Result<Tensor> {
    let Start::Extra(first) = prog.start else {
        return Err(Error::arg("fused: a matmul epilogue needs its product (use run_epilogue)"));
    };
    let srcs = sources(extras, &prog.shape)?;
    let head = srcs.get(first).ok_or_else(|| Error::arg("fused: the start operand is missing"))?;
    if head.data.len() != numel(&prog.shape) {
        return Err(Error::shape(format!("fused: the start operand has {} elements; the output {:?} needs {}", head.data.len(), prog.shape, numel(&prog.shape))));
    }
    Ok(Tensor::build::<f32>(prog.shape.clone(), DType::F32, |o| {
        chunks(o, |s, c| {
            c.copy_from_slice(&head.data[s..s + c.len()]);
            let (mut t1, mut t2) = ([0f32; CHUNK], [0f32; CHUNK]);
            run_steps(&prog.steps, &srcs, s, c, &mut t1, &mut t2);
        })
    }))
}

/// The commonest epilogue, a bias row added and an optional relu (Dense + relu, Conv + relu):
/// (the bias row, whether it is the left operand, relu) when `steps` is that chain.
fn bias_relu<'s>(steps: &[Step], srcs: &[Src<'s>]) -> Option<(&'s [f32], bool, bool)> {
    let (bias, right, relu) = match *steps {
        [Step::Binary { op: BinaryOp::Add, other: Other::Extra(i), acc_right }] => (i, acc_right, false),
        [Step::Binary { op: BinaryOp::Add, other: Other::Extra(i), acc_right }, Step::Relu] => (i, acc_right, true),
        _ => return None,
    };
    let row = srcs[bias].data;
    (!row.is_empty()).then_some((row, right, relu))
}

/// The bias-and-relu chain over whole rows of `acc` (its length a multiple of the row's), in
/// one pass per row; the same per-element operations as the general path. Compiled for AVX-512
/// where the CPU has it.
fn bias_relu_rows(row: &[f32], right: bool, relu: bool, acc: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if crate::cpu::has_avx512f() {
        // SAFETY: AVX-512F was detected at run time.
        return unsafe { bias_relu_rows_avx512(row, right, relu, acc) };
    }
    bias_relu_rows_any(row, right, relu, acc)
}

/// # Safety
/// The CPU must have AVX-512F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn bias_relu_rows_avx512(row: &[f32], right: bool, relu: bool, acc: &mut [f32]) {
    bias_relu_rows_any(row, right, relu, acc)
}

#[inline(always)]
fn bias_relu_rows_any(row: &[f32], right: bool, relu: bool, acc: &mut [f32]) {
    // Blocks of whole rows that stay in L1 between the two passes.
    for block in acc.chunks_mut(row.len() * (CHUNK / row.len()).max(1)) {
        for r in block.chunks_exact_mut(row.len()) {
            // Operand order kept: with two NaNs x86 returns the first one's payload.
            if right {
                r.iter_mut().zip(row).for_each(|(a, &b)| *a = b + *a);
            } else {
                r.iter_mut().zip(row).for_each(|(a, &b)| *a += b);
            }
        }
        if relu {
            relu_in_place(block);
        }
    }
}

/// A producer's epilogue bound to its extra operands, run by the producing kernel on each
/// region of the output as soon as the region is final (still in cache), instead of in a second
/// pass over the whole output: convolutions call it per task or tile block, `reduce_window` per
/// chunk. Regions may start anywhere; extras are read at the region's flat offsets.
#[derive(Clone)]
pub struct Epilogue<'a> {
    steps: &'a [Step],
    srcs: Vec<Src<'a>>,
    shape: &'a [usize],
    /// Added to every region's offset: the flat offset of the output slice a kernel writes
    /// (`conv_pool` runs its producers on batch slices).
    base: usize,
}

thread_local! {
    /// Each thread's scratch for the chain's temporaries (2 × CHUNK floats).
    static TMP: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
}

impl<'a> Epilogue<'a> {
    /// `prog` (a `Start::Product` chain) over an output of `prog.shape`, with its extras.
    pub fn new(prog: &'a Program, extras: &'a [Tensor]) -> Result<Epilogue<'a>> {
        if prog.start != Start::Product {
            return Err(Error::arg("fused: an epilogue starts from its producer's output"));
        }
        Ok(Epilogue { steps: &prog.steps, srcs: sources(extras, &prog.shape)?, shape: &prog.shape, base: 0 })
    }

    /// This epilogue for a kernel writing the output's elements from flat offset `base` on.
    pub fn at(&self, base: usize) -> Epilogue<'a> {
        Epilogue { base: self.base + base, ..self.clone() }
    }

    /// E_SHAPE unless the producer's output has the shape the chain was compiled for.
    pub fn check(&self, out: &[usize], what: &str) -> Result<()> {
        if out != self.shape {
            return Err(Error::shape(format!("{what}: the fused epilogue expects an output of shape {:?}, got {out:?}", self.shape)));
        }
        Ok(())
    }

    /// The chain when it is only a bias over the last `len` elements of each row (then relu),
    /// which a kernel can apply to its accumulators before storing them: (bias, whether the
    /// bias is the left operand of the add, relu).
    pub fn row_bias(&self, len: usize) -> Option<(&'a [f32], bool, bool)> {
        bias_relu(self.steps, &self.srcs).filter(|(row, ..)| row.len() == len)
    }

    /// Runs the chain in place over `acc`, the output elements from flat offset `start`.
    pub fn apply(&self, start: usize, acc: &mut [f32]) {
        let start = self.base + start;
        if let Some((row, right, relu)) = bias_relu(self.steps, &self.srcs) {
            if start.is_multiple_of(row.len()) && acc.len().is_multiple_of(row.len()) {
                return bias_relu_rows(row, right, relu, acc);
            }
        }
        TMP.with(|t| {
            let mut t = t.borrow_mut();
            if t.len() < 2 * CHUNK {
                t.resize(2 * CHUNK, 0.0);
            }
            let (t1, t2) = t.split_at_mut(CHUNK);
            for (i, c) in acc.chunks_mut(CHUNK).enumerate() {
                run_steps(self.steps, &self.srcs, start + i * CHUNK, c, t1, t2);
            }
        })
    }
}

/// Runs the chain in place over `product` (a fresh matmul output this call owns).
pub fn run_epilogue(prog: &Program, mut product: Tensor, extras: &[Tensor]) -> Result<Tensor> {
    let srcs = sources(extras, product.shape())?;
    let steps = &prog.steps;
    if let Some(acc) = product.raw_mut::<f32>() {
        if let Some((row, right, relu)) = bias_relu(steps, &srcs).filter(|(row, ..)| acc.len().is_multiple_of(row.len())) {
            let rows = acc.len() / row.len();
            if par::parallel(acc.len()) && rows > 1 {
                use rayon::prelude::*;
                let per = rows.div_ceil(rayon::current_num_threads()).max(1) * row.len();
                acc.par_chunks_mut(per).for_each(|c| bias_relu_rows(row, right, relu, c));
            } else {
                bias_relu_rows(row, right, relu, acc);
            }
            return Ok(product);
        }
        chunks(acc, |s, c| {
            let (mut t1, mut t2) = ([0f32; CHUNK], [0f32; CHUNK]);
            run_steps(steps, &srcs, s, c, &mut t1, &mut t2);
        });
        return Ok(product);
    }
    // Shared storage (an empty product, or one a zero-size op aliased): compute into a copy.
    let src = product.raw::<f32>();
    Ok(Tensor::build::<f32>(product.shape().to_vec(), DType::F32, |o| {
        chunks(o, |s, c| {
            c.copy_from_slice(&src[s..s + c.len()]);
            let (mut t1, mut t2) = ([0f32; CHUNK], [0f32; CHUNK]);
            run_steps(steps, &srcs, s, c, &mut t1, &mut t2);
        })
    }))
}
