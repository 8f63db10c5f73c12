//! Plans built by hand from table ops: a compiled plan gives the bytes eager execution of the
//! same ops gives; the passes do what `Plan::stats` claims (mask fusion, constant folding, dead
//! code elimination); a plan is reusable and shareable across threads; bad inputs are refused.

mod common;

use flaxen_core::ops::table::{self, Arg, Attr, Meta, OPS};
use flaxen_core::plan::{Graph, Plan, Src};
use flaxen_core::{DType, ErrorCode, Tensor};

fn f32s(shape: &[usize], seed: u64) -> Tensor {
    let n = shape.iter().product();
    Tensor::from_vec(common::values(n, seed, 2.0), shape).unwrap()
}

/// Records `op` and returns its first output.
fn node(g: &mut Graph, op: &str, attrs: Vec<Attr>, args: Vec<Src>) -> Src {
    g.add(table::code(op).unwrap(), attrs, args).unwrap_or_else(|e| panic!("{op}: {e}"));
    Src::Node(g.nodes.len() - 1, 0)
}

/// Runs `op` eagerly through its table row.
fn eager(op: &str, attrs: &[Attr], args: &[Arg]) -> Vec<Tensor> {
    OPS[table::code(op).unwrap()].execute(attrs, args).unwrap()
}

fn eager1(op: &str, attrs: &[Attr], args: &[Arg]) -> Tensor {
    eager(op, attrs, args).remove(0)
}

/// Same dtype, shape and bytes.
fn assert_bits(got: &[Tensor], want: &[Tensor]) {
    assert_eq!(got.len(), want.len());
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert_eq!(Meta::of(g), Meta::of(w), "output {i}");
        assert_eq!(g.as_bytes(), w.as_bytes(), "output {i} differs");
    }
}

fn meta(shape: &[usize], dt: DType) -> Meta {
    Meta::new(shape.to_vec(), dt)
}

/// relu(x @ W + b), with W and b captured constants.
fn dense(w: &Tensor, b: &Tensor) -> Plan {
    let mut g = Graph::new();
    let x = g.input(meta(&[4, 3], DType::F32));
    let (cw, cb) = (g.constant(w), g.constant(b));
    let m = node(&mut g, "matmul", vec![], vec![x, cw]);
    let s = node(&mut g, "add", vec![], vec![m, cb]);
    let r = node(&mut g, "relu", vec![], vec![s]);
    Plan::compile(g, vec![r]).unwrap()
}

#[test]
fn dense_relu_matches_eager_and_is_reusable_across_threads() {
    let (w, b, x) = (f32s(&[3, 5], 1), f32s(&[5], 2), f32s(&[4, 3], 3));
    let plan = dense(&w, &b);
    // The bias add and relu run as the matmul's epilogue, bit for bit as the eager ops.
    assert_eq!(plan.stats().ops, ["matmul_fused"]);
    let m = eager1("matmul", &[], &[Arg::T(&x), Arg::T(&w)]);
    let s = eager1("add", &[], &[Arg::T(&m), Arg::T(&b)]);
    let want = vec![eager1("relu", &[], &[Arg::T(&s)])];
    // relu must have zeroed something, or the comparison would not exercise it.
    assert!(want[0].to_f64_vec().contains(&0.0) && want[0].to_f64_vec().iter().any(|&v| v > 0.0));
    let first = plan.run(vec![x.clone()]).unwrap();
    assert_bits(&first, &want);
    // A second run of the same plan (its slots were freed and reused) gives the same bytes.
    assert_bits(&plan.run(vec![x.clone()]).unwrap(), &want);
    // Four threads at once: the plan is shared, each run has its own slots.
    std::thread::scope(|sc| {
        let handles: Vec<_> = (0..4).map(|_| sc.spawn(|| plan.run(vec![x.clone()]).unwrap())).collect();
        for h in handles {
            assert_bits(&h.join().unwrap(), &want);
        }
    });
    // The caller's tensor is untouched by the runs.
    assert_eq!(x.as_bytes(), f32s(&[4, 3], 3).as_bytes());
}

#[test]
fn elementwise_chain_with_numbers_matches_eager() {
    let x = f32s(&[2, 3, 4], 4);
    let mut g = Graph::new();
    let sx = g.input(meta(&[2, 3, 4], DType::F32));
    let e = node(&mut g, "exp", vec![], vec![sx]);
    let h = node(&mut g, "multiply", vec![], vec![e, Src::Scalar(0.5)]);
    let t = node(&mut g, "tanh", vec![], vec![h]);
    let d = node(&mut g, "subtract", vec![], vec![Src::Scalar(1.0), t]);
    let q = node(&mut g, "square", vec![], vec![d]);
    let c = node(&mut g, "greater", vec![], vec![q, sx]);
    let plan = Plan::compile(g, vec![q, c]).unwrap();
    // The float32 chain is one pass; the comparison (bool output) stays separate.
    assert_eq!(plan.stats().ops, ["fused_elementwise", "greater"]);

    let e = eager1("exp", &[], &[Arg::T(&x)]);
    let h = eager1("multiply", &[], &[Arg::T(&e), Arg::S(0.5)]);
    let t = eager1("tanh", &[], &[Arg::T(&h)]);
    let d = eager1("subtract", &[], &[Arg::S(1.0), Arg::T(&t)]);
    let q = eager1("square", &[], &[Arg::T(&d)]);
    let c = eager1("greater", &[], &[Arg::T(&q), Arg::T(&x)]);
    assert_eq!(c.dtype(), DType::Bool);
    assert_bits(&plan.run(vec![x]).unwrap(), &[q, c]);
}

#[test]
fn matmul_over_triu_of_a_constant_becomes_matmul_masked() {
    let (w, x) = (f32s(&[4, 4], 5), f32s(&[3, 4], 6));
    for (mask, k) in [("triu", 1), ("tril", 0), ("triu", -1)] {
        let mut g = Graph::new();
        let sx = g.input(meta(&[3, 4], DType::F32));
        let cw = g.constant(&w);
        let m = node(&mut g, mask, vec![Attr::Int(k)], vec![cw]);
        let y = node(&mut g, "matmul", vec![], vec![sx, m]);
        let plan = Plan::compile(g, vec![y]).unwrap();
        // Fused: no mask step and no plain matmul remain.
        assert_eq!(plan.stats().ops, ["matmul_masked"], "{mask}({k})");
        let masked = eager1(mask, &[Attr::Int(k)], &[Arg::T(&w)]);
        let want = eager1("matmul", &[], &[Arg::T(&x), Arg::T(&masked)]);
        assert_bits(&plan.run(vec![x.clone()]).unwrap(), &[want]);
    }
}

#[test]
fn matmul_over_a_transposed_weight_reads_it_in_place() {
    // x @ w.T with w a captured constant (folding would make the transposed copy) and with w an
    // input; with a bias epilogue too. The transpose step is gone; the bits are the eager pair's.
    let (w, b, x) = (f32s(&[6, 5], 11), f32s(&[6], 12), f32s(&[3, 5], 13));
    let tw = eager1("transpose", &[Attr::None], &[Arg::T(&w)]);
    let product = eager1("matmul", &[], &[Arg::T(&x), Arg::T(&tw)]);
    for (as_input, bias) in [(false, false), (true, false), (false, true)] {
        let mut g = Graph::new();
        let sx = g.input(meta(&[3, 5], DType::F32));
        let sw = if as_input { g.input(meta(&[6, 5], DType::F32)) } else { g.constant(&w) };
        let t = node(&mut g, "transpose", vec![Attr::Ints(vec![1, 0])], vec![sw]);
        let mut y = node(&mut g, "matmul", vec![], vec![sx, t]);
        if bias {
            let cb = g.constant(&b);
            y = node(&mut g, "add", vec![], vec![y, cb]);
        }
        let plan = Plan::compile(g, vec![y]).unwrap();
        assert_eq!(plan.stats().ops, [if bias { "matmul_fused" } else { "matmul_t" }], "input {as_input}, bias {bias}");
        let inputs = if as_input { vec![x.clone(), w.clone()] } else { vec![x.clone()] };
        let want = if bias { eager1("add", &[], &[Arg::T(&product), Arg::T(&b)]) } else { product.clone() };
        assert_bits(&plan.run(inputs).unwrap(), &[want]);
    }
}

#[test]
fn constants_fold_and_dead_nodes_are_dropped() {
    let (c, x) = (f32s(&[2, 3], 7), f32s(&[2, 3], 8));
    let mut g = Graph::new();
    let sx = g.input(meta(&[2, 3], DType::F32));
    let sc = g.constant(&c);
    // Constant-only subgraph: exp(c) * 2 runs once, at compile time.
    let e = node(&mut g, "exp", vec![], vec![sc]);
    let e2 = node(&mut g, "multiply", vec![], vec![e, Src::Scalar(2.0)]);
    let y = node(&mut g, "add", vec![], vec![sx, e2]);
    // Dead: depends on the input but no output needs it.
    let dead = node(&mut g, "sqrt", vec![], vec![sx]);
    node(&mut g, "log", vec![], vec![dead]);
    let consts_before = g.consts.len();
    let plan = Plan::compile(g, vec![y]).unwrap();
    let stats = plan.stats();
    assert_eq!(stats.ops, ["add"]);
    assert_eq!(stats.steps, 1);
    // The two folded nodes became constants.
    assert_eq!(stats.consts, consts_before + 2);
    let e = eager1("exp", &[], &[Arg::T(&c)]);
    let e2 = eager1("multiply", &[], &[Arg::T(&e), Arg::S(2.0)]);
    let want = eager1("add", &[], &[Arg::T(&x), Arg::T(&e2)]);
    assert_bits(&plan.run(vec![x]).unwrap(), &[want]);
}

#[test]
fn an_output_that_is_a_folded_constant_is_a_fresh_copy() {
    let c = f32s(&[3], 9);
    let mut g = Graph::new();
    g.input(meta(&[1], DType::F32));
    let sc = g.constant(&c);
    let y = node(&mut g, "negative", vec![], vec![sc]);
    let plan = Plan::compile(g, vec![y]).unwrap();
    assert!(plan.stats().ops.is_empty());
    let (a, b) = (plan.run(vec![f32s(&[1], 1)]).unwrap(), plan.run(vec![f32s(&[1], 1)]).unwrap());
    assert_bits(&a, &[eager1("negative", &[], &[Arg::T(&c)])]);
    assert_bits(&b, &a);
    // JS may write through an output's bytes, so two runs must not share one storage.
    assert!(!std::sync::Arc::ptr_eq(a[0].storage(), b[0].storage()));
}

#[test]
fn random_draws_from_an_input_key_match_eager() {
    let key = Tensor::from_slice(&[0u32, 42], &[2]).unwrap();
    let mut g = Graph::new();
    let sk = g.input(meta(&[2], DType::U32));
    let split = table::code("split").unwrap();
    g.add(split, vec![Attr::Int(2), Attr::Bool(true)], vec![sk]).unwrap();
    let (k0, k1) = (Src::Node(0, 0), Src::Node(0, 1));
    let n = node(&mut g, "normal", vec![Attr::Shape(vec![3, 4]), Attr::DType(DType::F32), Attr::Bool(true)], vec![k1]);
    let f = node(&mut g, "fold_in", vec![Attr::Int(7)], vec![k0]);
    let u = node(&mut g, "uniform", vec![Attr::Shape(vec![5]), Attr::Num(-1.0), Attr::Num(1.0), Attr::DType(DType::F32), Attr::Bool(false)], vec![f]);
    let r = node(&mut g, "randint", vec![Attr::Shape(vec![2, 2]), Attr::Int(0), Attr::Int(10), Attr::Bool(true)], vec![k0]);
    let plan = Plan::compile(g, vec![n, u, r]).unwrap();
    assert_eq!(plan.stats().ops, ["split", "normal", "fold_in", "uniform", "randint"]);

    let keys = eager("split", &[Attr::Int(2), Attr::Bool(true)], &[Arg::T(&key)]);
    let n = eager1("normal", &[Attr::Shape(vec![3, 4]), Attr::DType(DType::F32), Attr::Bool(true)], &[Arg::T(&keys[1])]);
    let f = eager1("fold_in", &[Attr::Int(7)], &[Arg::T(&keys[0])]);
    let u = eager1("uniform", &[Attr::Shape(vec![5]), Attr::Num(-1.0), Attr::Num(1.0), Attr::DType(DType::F32), Attr::Bool(false)], &[Arg::T(&f)]);
    let r = eager1("randint", &[Attr::Shape(vec![2, 2]), Attr::Int(0), Attr::Int(10), Attr::Bool(true)], &[Arg::T(&keys[0])]);
    let want = [n, u, r];
    assert_bits(&plan.run(vec![key.clone()]).unwrap(), &want);
    // Another key gives other draws (the plan reads its input, not a captured value).
    let other = plan.run(vec![Tensor::from_slice(&[0u32, 43], &[2]).unwrap()]).unwrap();
    assert_ne!(other[0].as_bytes(), want[0].as_bytes());
}

#[test]
fn concatenate_of_a_list_matches_eager() {
    let (a, c) = (f32s(&[2, 3], 10), Tensor::from_slice(&[1i32, 2, 3], &[1, 3]).unwrap());
    let mut g = Graph::new();
    let sa = g.input(meta(&[2, 3], DType::F32));
    let sc = g.constant(&c);
    let e = node(&mut g, "exp", vec![], vec![sa]);
    // Input, constant (int32, promoted to float32) and node in one list operand.
    let cat = node(&mut g, "concatenate", vec![Attr::Int(0)], vec![sa, sc, e]);
    let st = node(&mut g, "stack", vec![Attr::Int(-1)], vec![sa, e]);
    assert_eq!(g.nodes[1].outs, [meta(&[5, 3], DType::F32)]);
    let plan = Plan::compile(g, vec![cat, st]).unwrap();
    assert_eq!(plan.stats().ops, ["exp", "concatenate", "stack"]);

    let e = eager1("exp", &[], &[Arg::T(&a)]);
    let list = [a.clone(), c.clone(), e.clone()];
    let cat = eager1("concatenate", &[Attr::Int(0)], &[Arg::L(&list)]);
    let st = eager1("stack", &[Attr::Int(-1)], &[Arg::L(&[a.clone(), e])]);
    assert_bits(&plan.run(vec![a]).unwrap(), &[cat, st]);
}

#[test]
fn bad_calls_fail_at_trace_time_with_the_eager_code() {
    let mut g = Graph::new();
    let x = g.input(meta(&[2, 3], DType::F32));
    let y = g.input(meta(&[4, 5], DType::F32));
    let i = g.input(meta(&[2, 3], DType::I32));
    let err = |g: &mut Graph, op: &str, attrs: Vec<Attr>, args: Vec<Src>| g.add(table::code(op).unwrap(), attrs, args).unwrap_err().code;
    assert_eq!(err(&mut g, "matmul", vec![], vec![x, y]), ErrorCode::Shape);
    assert_eq!(err(&mut g, "sigmoid", vec![], vec![i]), ErrorCode::DType);
    assert_eq!(err(&mut g, "sum", vec![Attr::Ints(vec![2]), Attr::Bool(false)], vec![x]), ErrorCode::Arg);
    // A source that is not part of this trace.
    assert_eq!(err(&mut g, "exp", vec![], vec![Src::Node(9, 0)]), ErrorCode::Arg);
    assert!(g.nodes.is_empty(), "a failed add records nothing");
}

#[test]
fn wrong_inputs_to_run_are_refused() {
    let plan = dense(&f32s(&[3, 5], 1), &f32s(&[5], 2));
    assert_eq!(plan.inputs(), [meta(&[4, 3], DType::F32)]);
    let code = |inputs: Vec<Tensor>| plan.run(inputs).unwrap_err().code;
    assert_eq!(code(vec![f32s(&[3, 4], 1)]), ErrorCode::Shape);
    assert_eq!(code(vec![f32s(&[4, 3], 1).astype(DType::I32)]), ErrorCode::DType);
    assert_eq!(code(vec![]), ErrorCode::Arg);
    assert_eq!(code(vec![f32s(&[4, 3], 1), f32s(&[4, 3], 2)]), ErrorCode::Arg);
    // The plan still runs after refusing.
    assert!(plan.run(vec![f32s(&[4, 3], 1)]).is_ok());
}

/// `x @ exp(w)`: exp(w) depends only on `w`, so a run with the same `w` storage as the run
/// before reuses it; a new `w`, or a `w` whose bytes were exposed (JS could write them), is
/// recomputed. (`x @ transpose(w)` no longer makes anything to reuse: it reads w in place.)
#[test]
fn unchanged_arguments_reuse_their_sub_results() {
    let mut g = Graph::new();
    let x = g.input(meta(&[2, 3], DType::F32));
    let w = g.input(meta(&[3, 4], DType::F32));
    let t = node(&mut g, "exp", vec![], vec![w]);
    let y = node(&mut g, "matmul", vec![], vec![x, t]);
    let plan = Plan::compile(g, vec![y]).unwrap();
    let (w1, w2) = (f32s(&[3, 4], 1), f32s(&[3, 4], 2));
    let want = |x: &Tensor, w: &Tensor| {
        let t = eager1("exp", &[], &[Arg::T(w)]);
        eager1("matmul", &[], &[Arg::T(x), Arg::T(&t)])
    };
    let run = |x: &Tensor, w: &Tensor| plan.run(vec![x.clone(), w.clone()]).unwrap().remove(0);
    let reused = || plan.stats().reused;
    // Run 1 has no previous run; run 2 sees w unchanged and keeps the transpose; run 3 reuses it.
    for (i, seed) in [10, 11, 12].into_iter().enumerate() {
        let x = f32s(&[2, 3], seed);
        assert_bits(&[run(&x, &w1)], &[want(&x, &w1)]);
        assert_eq!(reused(), if i == 2 { 1 } else { 0 }, "run {i}");
    }
    let x = f32s(&[2, 3], 13);
    assert_bits(&[run(&x, &w1)], &[want(&x, &w1)]);
    assert_eq!(reused(), 1);
    // Another w: recomputed (and the result is right).
    assert_bits(&[run(&x, &w2)], &[want(&x, &w2)]);
    assert_eq!(reused(), 0);
    // w2 again, then exposed: from then on never reused.
    run(&x, &w2);
    run(&x, &w2);
    assert_eq!(reused(), 1);
    w2.storage().mark_exposed();
    assert_bits(&[run(&x, &w2)], &[want(&x, &w2)]);
    assert_eq!(reused(), 0);
    run(&x, &w2);
    assert_eq!(reused(), 0);
}

#[test]
fn eval_known_runs_only_what_the_outputs_need_and_refuses_input_dependent_ones() {
    // A 2^40-element abstract input: anything reading it must never run.
    let mut g = Graph::abstract_only();
    let x = g.input(Meta::new(vec![1 << 20, 1 << 20], DType::F32));
    let w = f32s(&[3, 4], 1);
    let wc = g.constant(&w);
    let e = node(&mut g, "exp", vec![], vec![wc]);
    let s = node(&mut g, "add", vec![], vec![e, Src::Scalar(1.0)]);
    let big = node(&mut g, "add", vec![], vec![x, Src::Scalar(1.0)]);
    let want = eager1("add", &[], &[Arg::T(&eager1("exp", &[], &[Arg::T(&w)])), Arg::S(1.0)]);
    let got = flaxen_core::plan::eval_known(&g, &[s, e, wc]).unwrap().unwrap();
    assert_eq!(got[0].as_bytes(), want.as_bytes());
    // A returned constant is a copy: writing it never reaches the captured tensor.
    assert_eq!(got[2].as_bytes(), w.as_bytes());
    assert!(!std::sync::Arc::ptr_eq(got[2].storage(), w.storage()));
    // The first output depending on the input is named; nothing ran for it.
    assert_eq!(flaxen_core::plan::eval_known(&g, &[s, big]).unwrap().unwrap_err(), 1);
    assert_eq!(flaxen_core::plan::eval_known(&g, &[x]).unwrap().unwrap_err(), 0);
}

/// A decode-cache step: `dynamic_update_slice(cache, row, [i, 0])` then a read of the new cache.
/// With the cache handed over (donated: the caller keeps no reference) the row is written into
/// the cache's own buffer; a cache the caller still holds is copied and left unchanged.
#[test]
fn dynamic_update_slice_writes_a_donated_cache_in_place() {
    let mut g = Graph::new();
    let cache = g.input(meta(&[64, 8], DType::F32));
    let row = g.input(meta(&[1, 8], DType::F32));
    let at = g.input(meta(&[2], DType::I32));
    let updated = node(&mut g, "dynamic_update_slice", vec![], vec![cache, row, at]);
    let total = node(&mut g, "sum", vec![Attr::None, Attr::Bool(false)], vec![updated]);
    let plan = Plan::compile(g, vec![updated, total]).unwrap();
    let (c, r) = (f32s(&[64, 8], 1), f32s(&[1, 8], 2));
    let idx = Tensor::from_vec(vec![5i32, 0], &[2]).unwrap();
    let want = eager("dynamic_update_slice", &[], &[Arg::T(&c), Arg::T(&r), Arg::T(&idx)]);
    // Held by the caller: a copy, and the caller's cache is untouched.
    let before = c.as_bytes().to_vec();
    let out = plan.run(vec![c.clone(), r.clone(), idx.clone()]).unwrap();
    assert_ne!(out[0].storage().as_ptr(), c.storage().as_ptr());
    assert_eq!(c.as_bytes(), &before[..]);
    assert_bits(&out[..1], &want);
    // Donated: the output is the cache's buffer.
    let ptr = c.storage().as_ptr();
    let out = plan.run(vec![c, r, idx]).unwrap();
    assert_eq!(out[0].storage().as_ptr(), ptr, "written in place");
    assert_bits(&out[..1], &want);
}

/// A value computed from a cache that a later step updates in place is not reused by the next
/// call, which passes the same storage back with new bytes.
#[test]
fn an_in_place_input_is_never_taken_for_unchanged() {
    let mut g = Graph::new();
    let cache = g.input(meta(&[16, 4], DType::F32));
    let row = g.input(meta(&[1, 4], DType::F32));
    let at = g.input(meta(&[2], DType::I32));
    let total = node(&mut g, "sum", vec![Attr::None, Attr::Bool(false)], vec![cache]);
    let scaled = node(&mut g, "multiply", vec![], vec![row, total]);
    let updated = node(&mut g, "dynamic_update_slice", vec![], vec![cache, row, at]);
    let plan = Plan::compile(g, vec![updated, scaled]).unwrap();
    let mut c = f32s(&[16, 4], 3);
    let ptr = c.storage().as_ptr();
    for step in 0..4 {
        let r = f32s(&[1, 4], 10 + step);
        let idx = Tensor::from_vec(vec![step as i32, 0], &[2]).unwrap();
        let s = eager1("sum", &[Attr::None, Attr::Bool(false)], &[Arg::T(&c)]);
        let want = eager1("multiply", &[], &[Arg::T(&r), Arg::T(&s)]);
        let mut out = plan.run(vec![c, r, idx]).unwrap();
        assert_bits(&out[1..], &[want]);
        assert_eq!(out[0].storage().as_ptr(), ptr, "step {step} wrote the cache in place");
        c = out.remove(0);
    }
}

/// With the weight unchanged (the same storage twice: the second call keeps its negated
/// copy), the third call reuses that copy and skips the cast, which only the reused value reads.
#[test]
fn steps_only_a_reused_value_reads_are_skipped() {
    let mut g = Graph::new();
    let x = g.input(meta(&[2, 3], DType::F32));
    let w = g.input(meta(&[3, 4], DType::BF16));
    let wide = node(&mut g, "astype", vec![Attr::DType(DType::F32)], vec![w]);
    let wt = node(&mut g, "negative", vec![], vec![wide]);
    let y = node(&mut g, "matmul", vec![], vec![x, wt]);
    let plan = Plan::compile(g, vec![y]).unwrap();
    let weight = f32s(&[3, 4], 1).astype(DType::BF16);
    for (i, seed) in [2u64, 3, 4].iter().enumerate() {
        let xv = f32s(&[2, 3], *seed);
        let wt = eager1("negative", &[], &[Arg::T(&weight.astype(DType::F32))]);
        let expect = eager1("matmul", &[], &[Arg::T(&xv), Arg::T(&wt)]);
        let out = plan.run(vec![xv.clone(), weight.clone()]).unwrap();
        assert_bits(&out, &[expect]);
        let s = plan.stats();
        assert_eq!((s.reused, s.skipped), if i < 2 { (0, 0) } else { (1, 1) }, "call {i}");
    }
}
