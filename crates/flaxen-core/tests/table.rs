//! The op table's two halves agree. For every row of `ops::table::OPS`, on representative
//! operands (shapes incl. broadcasting and empty dims, every dtype, number operands, axes and
//! keepdims variants), `infer` returns exactly the metas of `run`'s outputs when `run` succeeds,
//! and rejects with `run`'s error code when `run` fails. Plans rely on this: a graph is
//! validated by `infer` alone, so a wrong meta there is a wrong slot or a late failure.
//!
//! Known, deliberate differences are listed in `PERMISSIVE` (infer accepts, run fails: the
//! failure depends on values infer cannot see), `STRICTER` (infer refuses what run would do)
//! and `CODES` (both refuse, with different codes); each entry must still occur, so the lists
//! stay accurate.

mod common;

use std::collections::BTreeSet;
use std::panic::{catch_unwind, AssertUnwindSafe};

use flaxen_core::ops::table::{self, Arg, Attr, MArg, Meta, OpDef, OPS};
use flaxen_core::{DType, Error, ErrorCode, Result, Tensor};

use DType::*;

// ---- operands ------------------------------------------------------------------------------

/// An owned operand (the table takes borrowed `Arg`s).
#[derive(Clone, Debug)]
enum A {
    T(Tensor),
    S(f64),
    N,
    L(Vec<Tensor>),
}

/// Deterministic small values of `dt`: floats in [-3, 3) with fractions, integers in [-3, 3]
/// (non-negative for unsigned dtypes), bools both ways.
fn t(shape: &[usize], dt: DType, seed: u64) -> Tensor {
    let n: usize = shape.iter().product();
    let v = common::values(n, seed, 3.0);
    let v: Vec<f32> = match dt {
        F32 | F16 | BF16 => v,
        U32 | U16 | U8 => v.iter().map(|x| x.abs().round()).collect(),
        _ => v.iter().map(|x| x.round()).collect(),
    };
    Tensor::from_vec(v, shape).unwrap().astype(dt)
}

fn ints(v: &[i32], shape: &[usize]) -> Tensor {
    Tensor::from_slice(v, shape).unwrap()
}

fn key(a: u32, b: u32) -> A {
    A::T(Tensor::from_slice(&[a, b], &[2]).unwrap())
}

fn describe(a: &A) -> String {
    match a {
        A::T(t) => format!("{}{:?}", t.dtype(), t.shape()),
        A::S(s) => format!("{s}"),
        A::N => "null".into(),
        A::L(v) => format!("[{}]", v.iter().map(|t| format!("{}{:?}", t.dtype(), t.shape())).collect::<Vec<_>>().join(", ")),
    }
}

// ---- the check -----------------------------------------------------------------------------

/// What one case showed.
#[derive(Debug, PartialEq)]
enum Verdict {
    /// Both succeeded with equal metas.
    Same,
    /// Both failed with the same code.
    Agree,
    /// Run failed, infer accepted (value-dependent failures; see PERMISSIVE).
    Permissive(Error),
    /// Run succeeded, infer refused.
    Stricter(Error),
    /// Both refused, with different codes: (run's error, infer's error).
    Codes(Error, Error),
    /// Anything else: wrong metas, different codes, a panic.
    Bug(String),
}

fn check(def: &OpDef, attrs: &[Attr], args: &[A]) -> Verdict {
    let run_args: Vec<Arg> = args
        .iter()
        .map(|a| match a {
            A::T(t) => Arg::T(t),
            A::S(s) => Arg::S(*s),
            A::N => Arg::None,
            A::L(v) => Arg::L(v),
        })
        .collect();
    let metas: Vec<Option<Meta>> = args.iter().map(|a| if let A::T(t) = a { Some(Meta::of(t)) } else { None }).collect();
    let lists: Vec<Vec<Meta>> = args.iter().map(|a| if let A::L(v) = a { v.iter().map(Meta::of).collect() } else { vec![] }).collect();
    let m_args: Vec<MArg> = args
        .iter()
        .enumerate()
        .map(|(i, a)| match a {
            A::T(_) => MArg::T(metas[i].as_ref().unwrap()),
            A::S(s) => MArg::S(*s),
            A::N => MArg::None,
            A::L(_) => MArg::L(&lists[i]),
        })
        .collect();
    let run = catch_unwind(AssertUnwindSafe(|| def.execute(attrs, &run_args)));
    let inf = catch_unwind(AssertUnwindSafe(|| def.infer_metas(attrs, &m_args)));
    let (run, inf): (Result<Vec<Tensor>>, Result<Vec<Meta>>) = match (run, inf) {
        (Ok(r), Ok(i)) => (r, i),
        (r, i) => return Verdict::Bug(format!("panicked (run: {}, infer: {})", r.is_err(), i.is_err())),
    };
    match (run, inf) {
        (Ok(ts), Ok(ms)) => {
            let got: Vec<Meta> = ts.iter().map(Meta::of).collect();
            if got == ms {
                Verdict::Same
            } else {
                Verdict::Bug(format!("run gave {got:?}, infer {ms:?}"))
            }
        }
        (Ok(_), Err(e)) => Verdict::Stricter(e),
        (Err(r), Err(i)) if r.code == i.code => Verdict::Agree,
        (Err(r), Err(i)) => Verdict::Codes(r, i),
        (Err(r), Ok(_)) => Verdict::Permissive(r),
    }
}

/// Infer accepts, run fails: each entry is (op, run's code, a fragment of run's message, why).
/// All are failures that depend on operand values, which infer never sees.
const PERMISSIVE: &[(&str, ErrorCode, &str, &str)] = &[(
    "power",
    ErrorCode::Arg,
    "integers to negative integer powers are not allowed",
    "an int32 exponent tensor holding a negative value (a number exponent is checked by infer)",
)];

/// Infer refuses, run would succeed: (op, infer's code, a fragment of infer's message, why).
/// Both are checks the binding makes before calling the kernel; infer repeats them so a trace
/// fails like the eager call.
const STRICTER: &[(&str, ErrorCode, &str, &str)] = &[
    ("split", ErrorCode::Arg, "at most", "MAX_SPLIT: each key becomes a JS object"),
    ("truncated_normal", ErrorCode::Arg, "must not be NaN", "the binding rejects NaN bounds"),
];

/// Both refuse with different codes: (op, run's code, infer's code, a fragment of infer's
/// message, why).
const CODES: &[(&str, ErrorCode, ErrorCode, &str, &str)] = &[(
    "bits",
    ErrorCode::Arg,
    ErrorCode::DType,
    "width must be 8, 16 or 32",
    "a bad width is E_DTYPE in the binding's JS API (infer follows it) and E_ARG in the kernel",
)];

#[derive(Default)]
struct Log {
    cases: usize,
    covered: BTreeSet<&'static str>,
    /// Ops with at least one case that ran (so their metas were compared, not only errors).
    ran: BTreeSet<&'static str>,
    ran_cases: usize,
    bugs: Vec<String>,
    permissive_hit: BTreeSet<usize>,
    stricter_hit: BTreeSet<usize>,
    codes_hit: BTreeSet<usize>,
}

impl Log {
    fn case(&mut self, op: &'static str, attrs: Vec<Attr>, args: Vec<A>) {
        let def = &OPS[table::code(op).unwrap_or_else(|| panic!("no op {op}"))];
        self.cases += 1;
        self.covered.insert(def.name);
        let what = || format!("{op}({}; {attrs:?})", args.iter().map(describe).collect::<Vec<_>>().join(", "));
        let listed = |list: &[(&str, ErrorCode, &str, &str)], e: &Error| {
            list.iter().position(|&(o, c, m, _)| o == op && c == e.code && e.message.contains(m))
        };
        match check(def, &attrs, &args) {
            Verdict::Same => {
                self.ran_cases += 1;
                self.ran.insert(def.name);
            }
            Verdict::Agree => {}
            Verdict::Bug(s) => self.bugs.push(format!("{}: {s}", what())),
            Verdict::Permissive(e) => match listed(PERMISSIVE, &e) {
                Some(i) => drop(self.permissive_hit.insert(i)),
                None => self.bugs.push(format!("{}: run failed {:?} ({}) but infer accepted", what(), e.code, e.message)),
            },
            Verdict::Stricter(e) => match listed(STRICTER, &e) {
                Some(i) => drop(self.stricter_hit.insert(i)),
                None => self.bugs.push(format!("{}: run succeeded but infer failed {:?} ({})", what(), e.code, e.message)),
            },
            Verdict::Codes(r, i) => {
                match CODES.iter().position(|&(o, rc, ic, m, _)| o == op && rc == r.code && ic == i.code && i.message.contains(m)) {
                    Some(k) => drop(self.codes_hit.insert(k)),
                    None => self.bugs.push(format!(
                        "{}: run failed {:?} ({}), infer {:?} ({})",
                        what(),
                        r.code,
                        r.message,
                        i.code,
                        i.message
                    )),
                }
            }
        }
    }
}

// ---- the cases -----------------------------------------------------------------------------

const BINARY: &[&str] = &["add", "subtract", "multiply", "divide", "maximum", "minimum", "power", "remainder", "floor_divide"];
const COMPARE: &[&str] = &["equal", "not_equal", "less", "less_equal", "greater", "greater_equal"];
const LOGICAL: &[&str] = &["logical_and", "logical_or", "logical_xor"];
const UNARY: &[&str] = &[
    "exp", "log", "sqrt", "rsqrt", "tanh", "abs", "negative", "square", "reciprocal", "floor", "ceil", "sigmoid", "silu", "gelu",
    "gelu(approximate=false)", "erf", "logical_not", "sin", "cos", "log1p", "expm1", "isnan", "isfinite",
];
const REDUCE: &[&str] = &["sum", "mean", "max", "min", "prod", "var", "std"];
const RANDOM: &[&str] = &["bits", "uniform", "normal", "truncated_normal", "randint", "bernoulli"];

/// Pairs of operand shapes: equal, broadcast each way, scalar, empty, and two that do not fit.
const PAIRS: &[(&[usize], &[usize])] = &[
    (&[2, 3], &[2, 3]),
    (&[2, 3], &[3]),
    (&[1, 3], &[2, 1]),
    (&[], &[2, 3]),
    (&[4, 1, 3], &[2, 1]),
    (&[2, 0], &[1]),
    (&[0], &[0]),
    (&[2, 3], &[4]),
    (&[2, 3], &[3, 2]),
];

/// Number operands: integral, negative, fractional, zero, beyond int8/uint8/int32, non-finite.
const SCALARS: &[f64] = &[2.0, -1.0, 0.5, 0.0, 300.0, -3e9, f64::NAN, f64::INFINITY];

/// Single-operand shapes: matrix, scalar, empty.
const SHAPES: &[&[usize]] = &[&[2, 3], &[], &[0, 2]];

fn opt(v: Option<&[i64]>) -> Attr {
    v.map_or(Attr::None, |v| Attr::Ints(v.to_vec()))
}

fn two_operands(log: &mut Log, op: &'static str) {
    let mut seed = 0;
    for &da in &DType::ALL {
        for &db in &DType::ALL {
            for &(sa, sb) in PAIRS {
                seed += 1;
                log.case(op, vec![], vec![A::T(t(sa, da, seed)), A::T(t(sb, db, seed + 1000))]);
            }
        }
        for &s in SCALARS {
            for shape in SHAPES {
                seed += 1;
                log.case(op, vec![], vec![A::T(t(shape, da, seed)), A::S(s)]);
                log.case(op, vec![], vec![A::S(s), A::T(t(shape, da, seed))]);
            }
        }
    }
    for (a, b) in [(2.0, 3.0), (0.5, 2.0), (-1.0, 0.0)] {
        log.case(op, vec![], vec![A::S(a), A::S(b)]);
    }
}

fn where_cases(log: &mut Log) {
    let conds = [A::T(t(&[2, 3], Bool, 1)), A::T(t(&[3], F32, 2)), A::T(t(&[2, 1], I32, 3)), A::S(1.0), A::S(0.0), A::T(t(&[4], Bool, 4))];
    let mut xs = vec![A::S(2.0), A::S(0.5), A::S(-3e9), A::T(t(&[4], F32, 5)), A::T(t(&[0, 3], F32, 6))];
    for &dt in &DType::ALL {
        xs.push(A::T(t(&[2, 3], dt, 10 + dt as u64)));
        xs.push(A::T(t(&[], dt, 20 + dt as u64)));
        xs.push(A::T(t(&[1, 3], dt, 30 + dt as u64)));
    }
    for c in &conds {
        for x in &xs {
            for y in &xs {
                log.case("where", vec![], vec![c.clone(), x.clone(), y.clone()]);
            }
        }
    }
}

fn unary_cases(log: &mut Log, op: &'static str) {
    for &dt in &DType::ALL {
        for (i, shape) in SHAPES.iter().enumerate() {
            log.case(op, vec![], vec![A::T(t(shape, dt, i as u64))]);
        }
    }
    for s in [2.0, -0.5, 0.0, f64::NAN] {
        log.case(op, vec![], vec![A::S(s)]);
    }
}

fn elementwise_tensor_cases(log: &mut Log) {
    for &dt in &DType::ALL {
        for (i, shape) in SHAPES.iter().enumerate() {
            let x = t(shape, dt, i as u64);
            log.case("sign", vec![], vec![A::T(x.clone())]);
            log.case("relu", vec![], vec![A::T(x.clone())]);
            for d in [0, 1, -1, 40, -40] {
                log.case("round", vec![Attr::Int(d)], vec![A::T(x.clone())]);
            }
            for &to in &DType::ALL {
                log.case("astype", vec![Attr::DType(to)], vec![A::T(x.clone())]);
            }
        }
    }
}

const MATMUL_SHAPES: &[(&[usize], &[usize])] = &[
    (&[2, 3], &[3, 4]),
    (&[3], &[3, 4]),
    (&[2, 3], &[3]),
    (&[3], &[3]),
    (&[5, 2, 3], &[3, 4]),
    (&[2, 3], &[5, 3, 4]),
    (&[5, 1, 2, 3], &[4, 3, 2]),
    (&[0, 3], &[3, 2]),
    (&[2, 0], &[0, 3]),
    (&[2, 3], &[4, 5]),
    (&[], &[3]),
    (&[2, 3, 4], &[3, 4, 2]),
];

fn matmul_cases(log: &mut Log) {
    let masks: Vec<Vec<Attr>> = [0, 1, -2, 10].iter().flat_map(|&k| [true, false].map(|u| vec![Attr::Int(k), Attr::Bool(u)])).collect();
    for (i, &(sa, sb)) in MATMUL_SHAPES.iter().enumerate() {
        let (a, b) = (t(sa, F32, i as u64), t(sb, F32, 100 + i as u64));
        log.case("matmul", vec![], vec![A::T(a.clone()), A::T(b.clone())]);
        log.case("matmul_t", vec![], vec![A::T(a.clone()), A::T(b.clone())]);
        for m in &masks {
            log.case("matmul_masked", m.clone(), vec![A::T(a.clone()), A::T(b.clone())]);
        }
    }
    // Every dtype pair, and a non-finite `a` (matmul_masked's fallback path).
    for &da in &DType::ALL {
        for &db in &DType::ALL {
            let (a, b) = (t(&[2, 3], da, 1), t(&[3, 4], db, 2));
            log.case("matmul", vec![], vec![A::T(a.clone()), A::T(b.clone())]);
            log.case("matmul_t", vec![], vec![A::T(a.clone()), A::T(t(&[4, 3], db, 6))]);
            log.case("matmul_masked", masks[0].clone(), vec![A::T(a), A::T(b.clone())]);
            log.case("matmul_masked", masks[0].clone(), vec![A::T(t(&[3], da, 3)), A::T(t(&[3], db, 4))]);
        }
    }
    let nan = Tensor::from_vec(vec![f32::NAN, 1.0, 2.0, 3.0, 4.0, 5.0], &[2, 3]).unwrap();
    log.case("matmul_masked", masks[1].clone(), vec![A::T(nan), A::T(t(&[3, 4], F32, 5))]);
}

fn mask_cases(log: &mut Log) {
    let shapes: &[&[usize]] = &[&[3, 4], &[2, 3, 4], &[4], &[], &[0, 3], &[3, 0]];
    for op in ["triu", "tril"] {
        for &dt in &DType::ALL {
            for (i, shape) in shapes.iter().enumerate() {
                for k in [0, 1, -1, 10, -10] {
                    log.case(op, vec![Attr::Int(k)], vec![A::T(t(shape, dt, i as u64))]);
                }
            }
        }
    }
}

fn transpose_cases(log: &mut Log) {
    let x = t(&[2, 3, 4], F32, 1);
    let perms: &[Option<&[i64]>] =
        &[None, Some(&[2, 0, 1]), Some(&[-1, 0, 1]), Some(&[0, 1, 2]), Some(&[0, 1]), Some(&[0, 0, 1]), Some(&[0, 1, 3]), Some(&[0, 1, -4])];
    for &p in perms {
        log.case("transpose", vec![opt(p)], vec![A::T(x.clone())]);
    }
    for &dt in &DType::ALL {
        for shape in [&[][..], &[5], &[0, 2], &[2, 1, 0, 3]] {
            log.case("transpose", vec![Attr::None], vec![A::T(t(shape, dt, 2))]);
        }
        log.case("transpose", vec![Attr::Ints(vec![])], vec![A::T(t(&[], dt, 3))]);
    }
}

fn reduce_cases(log: &mut Log) {
    let shapes: &[&[usize]] = &[&[2, 3, 4], &[], &[0, 3], &[3, 0], &[5]];
    let axes: &[Option<&[i64]>] = &[None, Some(&[0]), Some(&[-1]), Some(&[0, 2]), Some(&[1, -1]), Some(&[3]), Some(&[0, 0]), Some(&[])];
    for &op in REDUCE {
        for &dt in &DType::ALL {
            for (i, shape) in shapes.iter().enumerate() {
                for &ax in axes {
                    for keep in [false, true] {
                        let mut attrs = vec![opt(ax), Attr::Bool(keep)];
                        if op == "var" || op == "std" {
                            attrs.push(Attr::Num([0.0, 1.0][i % 2]));
                        }
                        log.case(op, attrs, vec![A::T(t(shape, dt, i as u64))]);
                    }
                }
            }
        }
    }
    // ddof at or beyond the count (jnp gives inf/nan, not an error).
    for op in ["var", "std"] {
        for ddof in [3.0, 5.0, -1.0] {
            log.case(op, vec![Attr::Ints(vec![0]), Attr::Bool(false), Attr::Num(ddof)], vec![A::T(t(&[3, 2], F32, 1))]);
        }
    }
    for op in ["argmax", "argmin"] {
        for &dt in &DType::ALL {
            for (i, shape) in shapes.iter().enumerate() {
                for ax in [None, Some(0), Some(-1), Some(1), Some(3), Some(-4)] {
                    for keep in [false, true] {
                        let attrs = vec![ax.map_or(Attr::None, Attr::Int), Attr::Bool(keep)];
                        log.case(op, attrs, vec![A::T(t(shape, dt, i as u64))]);
                    }
                }
            }
        }
    }
    let axes: &[Option<&[i64]>] = &[None, Some(&[0]), Some(&[-1]), Some(&[0, 1]), Some(&[5]), Some(&[0, 0]), Some(&[])];
    for &dt in &DType::ALL {
        for (i, shape) in [&[2, 3][..], &[], &[0, 3], &[4]].iter().enumerate() {
            for &ax in axes {
                let x = A::T(t(shape, dt, i as u64));
                log.case("softmax", vec![opt(ax)], vec![x.clone()]);
                log.case("log_softmax", vec![opt(ax)], vec![x.clone()]);
                for keep in [false, true] {
                    log.case("logsumexp", vec![opt(ax), Attr::Bool(keep)], vec![x.clone()]);
                }
            }
        }
    }
}

fn layer_norm_cases(log: &mut Log) {
    let params = [A::N, A::T(t(&[4], F32, 1)), A::T(t(&[3], F32, 2)), A::T(t(&[4], I32, 3)), A::T(t(&[1, 4], F32, 4))];
    let flags = [(false, false), (false, true), (true, false)];
    for (i, shape) in [&[2, 4][..], &[4], &[], &[0, 4], &[2, 0]].iter().enumerate() {
        for s in &params {
            for b in &params {
                for (rms, fast) in flags {
                    let attrs = vec![Attr::Num(1e-5), Attr::Bool(rms), Attr::Bool(fast)];
                    log.case("layer_norm", attrs, vec![A::T(t(shape, F32, i as u64)), s.clone(), b.clone()]);
                }
            }
        }
    }
    for &dt in &DType::ALL {
        for p in [A::N, A::T(t(&[4], F32, 1))] {
            log.case("layer_norm", vec![Attr::Num(0.0), Attr::Bool(false), Attr::Bool(false)], vec![A::T(t(&[2, 4], dt, 5)), p.clone(), A::N]);
        }
    }
}

fn take_cases(log: &mut Log) {
    let idx = [
        ints(&[0, 2], &[2]),
        ints(&[1, -1, 7, -9], &[2, 2]),
        ints(&[1], &[]),
        ints(&[], &[0]),
        t(&[2], U8, 1),
        t(&[3], I8, 2),
        t(&[2], U32, 3),
        t(&[2], U16, 4),
        t(&[2], Bool, 5),
        t(&[2], F32, 6),
    ];
    for &dt in &[F32, I32, Bool, U8] {
        for (i, shape) in [&[3, 4][..], &[5], &[], &[0, 4], &[3, 0]].iter().enumerate() {
            let x = A::T(t(shape, dt, i as u64));
            for ix in &idx {
                for ax in [None, Some(0), Some(1), Some(-1), Some(2)] {
                    for mode in 0..3 {
                        let attrs = vec![ax.map_or(Attr::None, Attr::Int), Attr::Choice(mode)];
                        log.case("take", attrs, vec![x.clone(), A::T(ix.clone())]);
                    }
                }
            }
        }
    }
}

fn take_along_axis_cases(log: &mut Log) {
    let idx = [
        ints(&[0, 2, -1, 3, 1, 0], &[2, 3]),
        ints(&[1, 0, 2], &[1, 3]),
        ints(&[2, -4], &[2, 1]),
        ints(&[0, 1], &[2]),
        ints(&[], &[0, 3]),
        ints(&[1], &[]),
        t(&[2, 3], U8, 1),
        t(&[2, 3], F32, 2),
        t(&[2, 3], Bool, 3),
        ints(&[0, 1, 0, 1], &[4, 1]),
    ];
    for &dt in &[F32, I32, Bool, U16] {
        for (i, shape) in [&[2, 3][..], &[1, 3], &[2, 1], &[6], &[], &[0, 3], &[2, 0]].iter().enumerate() {
            let x = A::T(t(shape, dt, i as u64));
            for ix in &idx {
                for ax in [None, Some(0), Some(1), Some(-1), Some(2)] {
                    for mode in 0..3 {
                        let attrs = vec![ax.map_or(Attr::None, Attr::Int), Attr::Choice(mode)];
                        log.case("take_along_axis", attrs, vec![x.clone(), A::T(ix.clone())]);
                    }
                }
            }
        }
    }
}

/// Slices, pad, orderings, any/all and fused attention, over valid and invalid arguments.
fn transformer_cases(log: &mut Log) {
    let ints_attr = |v: &[i64]| Attr::Ints(v.to_vec());
    for &dt in &[F32, I32, Bool, U16] {
        for (i, shape) in [&[2, 3, 4][..], &[5], &[], &[0, 3]].iter().enumerate() {
            let x = A::T(t(shape, dt, i as u64));
            let nd = shape.len();
            for op in ["any", "all"] {
                for ax in [None, Some(vec![0]), Some(vec![-1, 0]), Some(vec![3])] {
                    log.case(op, vec![ax.map_or(Attr::None, Attr::Ints), Attr::Bool(i == 0)], vec![x.clone()]);
                }
            }
            for op in ["sort", "argsort"] {
                for ax in [0, -1, 2, 3] {
                    log.case(op, vec![Attr::Int(ax), Attr::Bool(ax == 0)], vec![x.clone()]);
                }
            }
            for k in [0, 2, 9, -1] {
                log.case("top_k", vec![Attr::Int(k)], vec![x.clone()]);
            }
            let zeros = vec![0i64; nd];
            let dims: Vec<i64> = shape.iter().map(|&d| d as i64).collect();
            for (start, limit, strides) in [(zeros.clone(), dims.clone(), None), (zeros.clone(), dims.clone(), Some(vec![2; nd])), (vec![1; nd], dims.clone(), None), (zeros.clone(), vec![9; nd], None), (vec![0], vec![1], None)] {
                log.case("slice", vec![ints_attr(&start), ints_attr(&limit), strides.map_or(Attr::None, Attr::Ints)], vec![x.clone()]);
            }
            for sizes in [shape.to_vec(), vec![1; nd], vec![9; nd], vec![1]] {
                for starts in [ints(&vec![1; nd].iter().map(|&v| v as i32).collect::<Vec<_>>(), &[nd]), ints(&[0], &[1]), t(&[nd], F32, 3)] {
                    log.case("dynamic_slice", vec![Attr::Shape(sizes.clone())], vec![x.clone(), A::T(starts.clone())]);
                    let upd = t(&sizes, dt, 4);
                    log.case("dynamic_update_slice", vec![], vec![x.clone(), A::T(upd), A::T(starts.clone())]);
                    log.case("dynamic_update_slice", vec![], vec![x.clone(), A::T(t(&sizes, if dt == F32 { I32 } else { F32 }, 5)), A::T(starts)]);
                }
            }
            for widths in [vec![1i64; 2 * nd], vec![0; 2 * nd], vec![2, 0], vec![-1; 2 * nd]] {
                for mode in 0..5 {
                    log.case("pad", vec![ints_attr(&widths), Attr::Choice(mode), Attr::Num(1.5)], vec![x.clone()]);
                }
            }
            let sorted = t(&[4], dt, 6);
            for side in 0..2 {
                log.case("searchsorted", vec![Attr::Choice(side)], vec![A::T(sorted.clone()), x.clone()]);
                log.case("searchsorted", vec![Attr::Choice(side)], vec![x.clone(), A::T(t(&[3], dt, 7))]);
            }
        }
    }
    let (q, k, v) = (t(&[2, 5, 3, 4], F32, 1), t(&[2, 6, 3, 4], F32, 2), t(&[2, 6, 3, 2], F32, 3));
    let mask = [A::N, A::T(t(&[2, 1, 5, 6], Bool, 4)), A::T(t(&[5, 6], F32, 5)), A::T(t(&[4, 6], F32, 6))];
    let bias = [A::N, A::T(t(&[3, 5, 6], F32, 7)), A::T(t(&[2, 3, 1, 6], I32, 8))];
    for m in &mask {
        for b in &bias {
            log.case("dot_product_attention", vec![], vec![A::T(q.clone()), A::T(k.clone()), A::T(v.clone()), b.clone(), m.clone()]);
        }
    }
    log.case("dot_product_attention", vec![], vec![A::T(q.clone()), A::T(v.clone()), A::T(k.clone()), A::N, A::N]);
    log.case("dot_product_attention", vec![], vec![A::T(t(&[5, 3, 4], F32, 9)), A::T(k), A::T(v), A::N, A::N]);
    // Convolutions: 1 to 3 spatial axes, padding that crops or empties the output, dilations,
    // groups that do and do not divide the features, mismatched ranks, non-float operands.
    let conv = |log: &mut Log, lhs: &[usize], rhs: &[usize], s: usize, pad: i64, dil: i64, groups: i64, dt: DType| {
        let attrs = vec![ints_attr(&vec![s as i64; rhs.len().saturating_sub(2)]), ints_attr(&vec![pad; 2 * rhs.len().saturating_sub(2)]), ints_attr(&vec![dil; rhs.len().saturating_sub(2)]), ints_attr(&vec![dil; rhs.len().saturating_sub(2)]), Attr::Int(groups)];
        log.case("conv_general_dilated", attrs, vec![A::T(t(lhs, dt, 1)), A::T(t(rhs, F32, 2))]);
    };
    for (lhs, rhs) in [(&[2, 7, 4][..], &[3, 4, 6][..]), (&[1, 5, 6, 4], &[3, 2, 2, 4]), (&[1, 4, 3, 5, 2], &[2, 2, 2, 1, 4]), (&[1, 5, 5, 4], &[1, 1, 4, 8]), (&[1, 5, 4], &[3, 3, 4, 8]), (&[0, 5, 4], &[3, 4, 0])] {
        for (s, pad, dil, groups) in [(1, 0, 1, 1), (2, 1, 2, 2), (1, -2, 1, 4), (3, 9, 1, 3), (0, 0, 1, 1), (1, 0, 1, 0)] {
            for dt in [F32, I32] {
                conv(log, lhs, rhs, s, pad, dil, groups, dt);
            }
        }
    }
    // Windows: pooling shapes, cropping and over-wide padding, a window wider than the axis,
    // wrong attribute lengths, zero strides, non-float operands.
    for (shape, dims, strides, pad) in [
        (&[2, 5, 6, 3][..], &[1, 2, 3, 1][..], &[1, 2, 2, 1][..], &[0i64, 0, 1, 1, 0, 2, 0, 0][..]),
        (&[7], &[3], &[2], &[-1, 2]),
        (&[2, 3], &[1, 4], &[1, 1], &[0, 0, 0, 0]),
        (&[4, 4], &[2, 2], &[0, 1], &[0, 0, 0, 0]),
        (&[4, 4], &[2], &[1], &[0, 0]),
        (&[0, 3], &[1, 2], &[1, 1], &[0, 0, 1, 1]),
    ] {
        for dt in [F32, I32] {
            for op in 0..3 {
                log.case("reduce_window", vec![Attr::Num(-1.5), Attr::Choice(op), ints_attr(dims), ints_attr(strides), ints_attr(pad)], vec![A::T(t(shape, dt, 3))]);
            }
        }
    }
}

fn scan_and_flip_cases(log: &mut Log) {
    for &dt in &DType::ALL {
        for (i, shape) in [&[2, 3, 4][..], &[5], &[], &[0, 3], &[3, 0]].iter().enumerate() {
            let x = A::T(t(shape, dt, i as u64));
            for op in ["cumsum", "cumprod"] {
                for ax in [None, Some(0), Some(-1), Some(2), Some(3), Some(-4)] {
                    log.case(op, vec![ax.map_or(Attr::None, Attr::Int)], vec![x.clone()]);
                }
            }
            for ax in [None, Some(&[0][..]), Some(&[-1]), Some(&[0, 2]), Some(&[1, 1]), Some(&[3]), Some(&[])] {
                log.case("flip", vec![opt(ax)], vec![x.clone()]);
            }
        }
    }
}

fn one_hot_cases(log: &mut Log) {
    let xs = [
        ints(&[0, 2, 5], &[3]),
        Tensor::from_vec(vec![0.0f32, 1.5, 2.0, -1.0], &[2, 2]).unwrap(),
        t(&[3], Bool, 1),
        t(&[], U8, 2),
        ints(&[], &[0]),
        t(&[2], I8, 3),
    ];
    for x in &xs {
        for n in [0, 3] {
            for &dt in &DType::ALL {
                for ax in [-1, 0, 1, 2, -3] {
                    log.case("one_hot", vec![Attr::Int(n), Attr::DType(dt), Attr::Int(ax)], vec![A::T(x.clone())]);
                }
            }
        }
    }
}

fn list_cases(log: &mut Log) {
    let lists: Vec<Vec<Tensor>> = vec![
        vec![],
        vec![t(&[2, 3], F32, 1)],
        vec![t(&[2, 3], F32, 1), t(&[2, 3], F32, 2)],
        vec![t(&[2, 3], F32, 1), t(&[4, 3], F32, 2)],
        vec![t(&[2, 3], F32, 1), t(&[2, 5], F32, 2), t(&[2, 0], F32, 3)],
        vec![t(&[2, 3], F32, 1), t(&[3], F32, 2)],
        vec![t(&[], F32, 1), t(&[], F32, 2)],
        vec![t(&[0, 3], F32, 1), t(&[0, 3], F32, 2)],
        vec![t(&[2, 3], I32, 1), t(&[2, 3], F32, 2)],
        vec![t(&[2, 3], U8, 1), t(&[2, 3], I8, 2)],
        vec![t(&[2, 3], Bool, 1), t(&[2, 3], Bool, 2)],
        vec![t(&[2, 3], U32, 1), t(&[2, 3], I32, 2), t(&[2, 3], U16, 3)],
        vec![t(&[2, 3], Bool, 1), t(&[2, 3], U16, 2)],
    ];
    for xs in &lists {
        for op in ["concatenate", "stack"] {
            for ax in [0, 1, -1, 2, -3] {
                log.case(op, vec![Attr::Int(ax)], vec![A::L(xs.clone())]);
            }
        }
    }
}

fn layout_cases(log: &mut Log) {
    for &dt in &[F32, I8, Bool] {
        for (i, shape) in [&[2, 3][..], &[], &[0]].iter().enumerate() {
            let x = A::T(t(shape, dt, i as u64));
            for ax in [&[0][..], &[-1], &[2], &[3], &[0, 0], &[0, -1], &[1, 3], &[]] {
                log.case("expand_dims", vec![Attr::Ints(ax.to_vec())], vec![x.clone()]);
            }
        }
        for (i, shape) in [&[1, 3, 1][..], &[1], &[], &[2, 3], &[0, 1]].iter().enumerate() {
            let x = A::T(t(shape, dt, i as u64));
            for ax in [None, Some(&[0][..]), Some(&[-1]), Some(&[1]), Some(&[0, 2]), Some(&[0, -3]), Some(&[5]), Some(&[])] {
                log.case("squeeze", vec![opt(ax)], vec![x.clone()]);
            }
        }
        for (i, shape) in [&[2, 3][..], &[0, 3], &[]].iter().enumerate() {
            let x = A::T(t(shape, dt, i as u64));
            for s in [&[6][..], &[3, 2], &[-1], &[-1, 2], &[-1, -1], &[4], &[-2, 3], &[0, -1], &[], &[1, 1, -1], &[3, 0]] {
                log.case("reshape", vec![Attr::Ints(s.to_vec())], vec![x.clone()]);
            }
        }
        for (i, shape) in [&[3][..], &[1, 3], &[], &[2, 3], &[0], &[2, 1]].iter().enumerate() {
            let x = A::T(t(shape, dt, i as u64));
            for s in [&[2, 3][..], &[3], &[4, 2, 3], &[0, 3], &[3, 1], &[], &[2, 0]] {
                log.case("broadcast_to", vec![Attr::Shape(s.to_vec())], vec![x.clone()]);
            }
        }
        let x = A::T(t(&[2, 3, 4], dt, 1));
        for (a, b) in [(0, 1), (-1, 0), (1, 1), (3, 0), (0, -4)] {
            log.case("swapaxes", vec![Attr::Int(a), Attr::Int(b)], vec![x.clone()]);
        }
        log.case("swapaxes", vec![Attr::Int(0), Attr::Int(0)], vec![A::T(t(&[], dt, 2))]);
        let moves: &[(&[i64], &[i64])] =
            &[(&[0], &[2]), (&[0, 1], &[-1, -2]), (&[2, 0], &[0, 1]), (&[0], &[0, 1]), (&[0, 0], &[1, 2]), (&[5], &[0]), (&[], &[])];
        for &(s, d) in moves {
            log.case("moveaxis", vec![Attr::Ints(s.to_vec()), Attr::Ints(d.to_vec())], vec![x.clone()]);
        }
    }
}

fn creation_cases(log: &mut Log) {
    for &dt in &DType::ALL {
        for shape in [&[2, 3][..], &[], &[0, 4]] {
            for v in [1.5, -2.0, f64::NAN, 1e10] {
                log.case("full", vec![Attr::Shape(shape.to_vec()), Attr::Num(v), Attr::DType(dt)], vec![]);
            }
        }
        for (a, b, s) in [(0.0, 5.0, 1.0), (5.0, 0.0, -1.0), (0.0, 1.0, 0.3), (0.0, 5.0, 0.0), (3.0, 1.0, 1.0), (0.0, 1e13, 1.0), (-1.5, 2.5, 0.5)] {
            log.case("arange", vec![Attr::Num(a), Attr::Num(b), Attr::Num(s), Attr::DType(dt)], vec![]);
        }
        for (n, m) in [(0, 0), (3, 3), (2, 4), (4, 0)] {
            log.case("eye", vec![Attr::Int(n), Attr::Int(m), Attr::DType(dt)], vec![]);
        }
    }
    for n in [0, 1, 5] {
        log.case("linspace", vec![Attr::Num(0.0), Attr::Num(1.0), Attr::Int(n)], vec![]);
    }
    for shape in [&[3, 2][..], &[2, 3], &[3], &[2, 2, 2], &[0, 2], &[2, 0]] {
        for dt in [F32, I32] {
            log.case("qr", vec![], vec![A::T(t(shape, dt, 1))]);
        }
    }
}

fn random_cases(log: &mut Log) {
    let keys = [key(0, 42), key(u32::MAX, 7), A::T(t(&[2], F32, 1)), A::T(t(&[3], U32, 2)), A::T(t(&[], U32, 3)), A::T(t(&[2], I32, 4))];
    let shapes: &[&[usize]] = &[&[3], &[], &[2, 0], &[2, 3]];
    for k in &keys {
        for c in &keys {
            log.case("threefry2x32", vec![], vec![k.clone(), c.clone()]);
        }
        for d in [0, -1, 1 << 40] {
            log.case("fold_in", vec![Attr::Int(d)], vec![k.clone()]);
        }
        for p in [false, true] {
            let pb = Attr::Bool(p);
            for n in [0, 1, 3] {
                log.case("split", vec![Attr::Int(n), pb.clone()], vec![k.clone()]);
            }
            for shape in shapes {
                let sh = Attr::Shape(shape.to_vec());
                for w in [8, 16, 32, 64, 0] {
                    log.case("bits", vec![Attr::Int(w), sh.clone(), pb.clone()], vec![k.clone()]);
                }
                for dt in [F32, F16, BF16, I32] {
                    let d = Attr::DType(dt);
                    for (lo, hi) in [(0.0, 1.0), (1.0, 0.0), (-2.0, 2.0)] {
                        log.case("uniform", vec![sh.clone(), Attr::Num(lo), Attr::Num(hi), d.clone(), pb.clone()], vec![k.clone()]);
                    }
                    log.case("normal", vec![sh.clone(), d.clone(), pb.clone()], vec![k.clone()]);
                    for (lo, hi) in [(-2.0, 2.0), (f64::NAN, 1.0), (2.0, -2.0), (f64::NEG_INFINITY, f64::INFINITY), (0.0, 0.0)] {
                        log.case("truncated_normal", vec![Attr::Num(lo), Attr::Num(hi), sh.clone(), d.clone(), pb.clone()], vec![k.clone()]);
                    }
                }
                for (lo, hi) in [(0, 10), (5, 5), (10, 0), (-(1 << 40), 1 << 40)] {
                    log.case("randint", vec![sh.clone(), Attr::Int(lo), Attr::Int(hi), pb.clone()], vec![k.clone()]);
                }
                for p in [0.5, 0.0, 1.0, 2.0, -1.0] {
                    log.case("bernoulli", vec![Attr::Num(p), sh.clone(), pb.clone()], vec![k.clone()]);
                }
            }
        }
    }
    // One more key than a split may make.
    log.case("split", vec![Attr::Int(table::MAX_SPLIT as i64 + 1), Attr::Bool(true)], vec![key(0, 1)]);
}

#[test]
fn infer_matches_run_for_every_op() {
    let mut log = Log::default();
    for &op in BINARY.iter().chain(COMPARE).chain(LOGICAL) {
        two_operands(&mut log, op);
    }
    where_cases(&mut log);
    for &op in UNARY {
        unary_cases(&mut log, op);
    }
    elementwise_tensor_cases(&mut log);
    matmul_cases(&mut log);
    mask_cases(&mut log);
    transpose_cases(&mut log);
    reduce_cases(&mut log);
    layer_norm_cases(&mut log);
    take_cases(&mut log);
    take_along_axis_cases(&mut log);
    scan_and_flip_cases(&mut log);
    one_hot_cases(&mut log);
    list_cases(&mut log);
    layout_cases(&mut log);
    creation_cases(&mut log);
    random_cases(&mut log);
    transformer_cases(&mut log);
    assert!(RANDOM.iter().all(|r| log.covered.contains(r)));

    println!("{} cases over {} ops ({} ran)", log.cases, log.covered.len(), log.ran_cases);
    assert!(log.bugs.is_empty(), "{} disagreements:\n{}", log.bugs.len(), log.bugs.join("\n"));
    // A new row without cases fails here.
    let missing: Vec<&str> = OPS.iter().map(|d| d.name).filter(|n| !log.covered.contains(n)).collect();
    assert!(missing.is_empty(), "ops without cases: {missing:?}");
    let never_ran: Vec<&str> = OPS.iter().map(|d| d.name).filter(|n| !log.ran.contains(n)).collect();
    assert!(never_ran.is_empty(), "ops whose every case failed: {never_ran:?}");
    // Each documented difference still happens (else its entry is stale and must go).
    for (i, e) in PERMISSIVE.iter().enumerate() {
        assert!(log.permissive_hit.contains(&i), "PERMISSIVE entry {e:?} no longer occurs");
    }
    for (i, e) in STRICTER.iter().enumerate() {
        assert!(log.stricter_hit.contains(&i), "STRICTER entry {e:?} no longer occurs");
    }
    for (i, e) in CODES.iter().enumerate() {
        assert!(log.codes_hit.contains(&i), "CODES entry {e:?} no longer occurs");
    }
}

/// The checker itself flags a wrong meta, a wrong code and a permissive infer (so a pass above
/// means agreement, not a blind harness).
#[test]
fn check_detects_disagreements() {
    let add = &OPS[table::code("add").unwrap()];
    let x = A::T(t(&[2, 3], F32, 1));
    let wrong_dtype = OpDef { infer: |_, _| Ok(vec![Meta::new(vec![2, 3], I32)]), ..clone_def(add) };
    assert!(matches!(check(&wrong_dtype, &[], &[x.clone(), x.clone()]), Verdict::Bug(_)));
    let wrong_code = OpDef { infer: |_, _| Err(Error::arg("no")), ..clone_def(add) };
    assert!(matches!(check(&wrong_code, &[], &[x.clone(), A::T(t(&[4], F32, 2))]), Verdict::Codes(..)));
    let lax = OpDef { infer: |_, _| Ok(vec![Meta::new(vec![], F32)]), ..clone_def(add) };
    assert!(matches!(check(&lax, &[], &[x.clone(), A::T(t(&[4], F32, 2))]), Verdict::Permissive(_)));
    assert!(matches!(check(&wrong_code, &[], &[x.clone(), x.clone()]), Verdict::Stricter(_)));
    assert_eq!(check(add, &[], &[x.clone(), x]), Verdict::Same);
}

fn clone_def(d: &OpDef) -> OpDef {
    OpDef { name: d.name, inputs: d.inputs, attrs: d.attrs, class: d.class, infer: d.infer, run: d.run, half: d.half }
}
