//! Fused elementwise chains and matmul epilogues give the bytes of the unfused ops: random
//! chains over every fusible op, number operands on either side (division by a number is a
//! multiply by its reciprocal, an integer power is lax.integer_pow, as in eager), broadcast bias
//! rows, a masked matmul, and outputs large enough to run in parallel chunks.

mod common;

use flaxen_core::ops::table::{self, Attr, Meta};
use flaxen_core::plan::{Graph, Plan, Src};
use flaxen_core::{DType, Tensor};

fn f32s(shape: &[usize], seed: u64) -> Tensor {
    let n = shape.iter().product();
    Tensor::from_vec(common::values(n, seed, 1.5), shape).unwrap()
}

fn node(g: &mut Graph, op: &str, attrs: Vec<Attr>, args: Vec<Src>) -> Src {
    g.add(table::code(op).unwrap(), attrs, args).unwrap_or_else(|e| panic!("{op}: {e}"));
    Src::Node(g.nodes.len() - 1, 0)
}

/// A small deterministic generator for choosing ops.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

const UNARY: &[&str] = &["exp", "log", "sqrt", "rsqrt", "tanh", "abs", "negative", "square", "reciprocal", "floor", "ceil", "sigmoid", "silu", "gelu", "gelu(approximate=false)", "erf", "relu", "sign", "sin", "cos", "log1p", "expm1"];
const BINARY: &[&str] = &["add", "subtract", "multiply", "divide", "maximum", "minimum", "power", "remainder", "floor_divide"];
const NUMBERS: &[f64] = &[0.5, 2.0, 3.0, -2.0, 0.1, 1e-3, 7.0, -0.75];

/// Builds a random chain starting from `start`, recording it into `g`; `others` are tensors the
/// binary steps may use (full or broadcast rows).
fn chain(g: &mut Graph, rng: &mut Lcg, start: Src, others: &[Src], len: usize) -> Src {
    let mut acc = start;
    for _ in 0..len {
        acc = match rng.next(3) {
            0 => node(g, UNARY[rng.next(UNARY.len() as u64) as usize], vec![], vec![acc]),
            1 => {
                let s = Src::Scalar(NUMBERS[rng.next(NUMBERS.len() as u64) as usize]);
                let op = BINARY[rng.next(BINARY.len() as u64) as usize];
                if rng.next(2) == 0 { node(g, op, vec![], vec![acc, s]) } else { node(g, op, vec![], vec![s, acc]) }
            }
            _ => {
                let o = others[rng.next(others.len() as u64) as usize];
                let op = BINARY[rng.next(BINARY.len() as u64) as usize];
                if rng.next(2) == 0 { node(g, op, vec![], vec![acc, o]) } else { node(g, op, vec![], vec![o, acc]) }
            }
        };
    }
    acc
}

/// The same graph with fusion, and op by op (each node its own plan output, so nothing fuses).
fn compare(g: Graph, out: Src, inputs: Vec<Tensor>, want_ops: &str) {
    let n = g.nodes.len();
    let g2 = g.clone();
    let fused = Plan::compile(g, vec![out]).unwrap();
    let ops = fused.stats().ops;
    assert!(ops.iter().any(|o| *o == want_ops), "expected {want_ops} in {ops:?}");
    // Every node an output: each value must exist, so no chain can form.
    let all: Vec<Src> = (0..n).map(|i| Src::Node(i, 0)).collect();
    let plain = Plan::compile(g2, all).unwrap();
    assert!(!plain.stats().ops.iter().any(|o| o.contains("fused")), "{:?}", plain.stats().ops);
    let got = fused.run(inputs.clone()).unwrap().remove(0);
    let want = plain.run(inputs).unwrap().pop().unwrap();
    assert_eq!(Meta::of(&got), Meta::of(&want));
    let (gb, wb) = (got.as_bytes(), want.as_bytes());
    if gb != wb {
        let (gv, wv) = (got.to_f64_vec(), want.to_f64_vec());
        let i = (0..gv.len()).find(|&i| gv[i].to_bits() != wv[i].to_bits() && !(gv[i].is_nan() && wv[i].is_nan())).unwrap();
        if i < gv.len() {
            panic!("element {i}: fused {} vs unfused {}", gv[i], wv[i]);
        }
    }
}

#[test]
fn random_chains_are_bit_identical() {
    for seed in 0..60 {
        let mut rng = Lcg(seed);
        // Sizes around the parallel threshold (2^16) and odd ones.
        let shape: Vec<usize> = match seed % 3 {
            0 => vec![3, 7],
            1 => vec![5, 64, 257],
            _ => vec![300, 301],
        };
        let mut g = Graph::new();
        let x = g.input(Meta::new(shape.clone(), DType::F32));
        let full = g.constant(&f32s(&shape, seed + 100));
        let row = g.constant(&f32s(&shape[shape.len() - 1..], seed + 200));
        let one = g.constant(&f32s(&[], seed + 300));
        let len = 2 + rng.next(6) as usize;
        let out = chain(&mut g, &mut rng, x, &[full, row, one, x], len);
        compare(g, out, vec![f32s(&shape, seed)], "fused_elementwise");
    }
}

#[test]
fn matmul_epilogues_are_bit_identical() {
    for seed in 0..30 {
        let mut rng = Lcg(seed + 1000);
        let (m, k, n) = [(1, 512, 2048), (32, 64, 96), (7, 33, 300), (300, 40, 260)][seed as usize % 4];
        let mut g = Graph::new();
        let x = g.input(Meta::new(vec![m, k], DType::F32));
        let w = g.constant(&f32s(&[k, n], seed + 1));
        let b = g.constant(&f32s(&[n], seed + 2));
        let p = if seed % 5 == 4 {
            let t = node(&mut g, "triu", vec![Attr::Int(0)], vec![w]);
            node(&mut g, "matmul", vec![], vec![x, t])
        } else {
            node(&mut g, "matmul", vec![], vec![x, w])
        };
        let biased = node(&mut g, "add", vec![], vec![p, b]);
        let len = rng.next(4) as usize;
        let out = chain(&mut g, &mut rng, biased, &[b], len);
        compare(g, out, vec![f32s(&[m, k], seed)], "matmul_fused");
    }
}

#[test]
fn shared_values_are_not_fused_away() {
    // x*sigmoid(x) written out: the matmul product is used twice, so it stays materialised (no
    // epilogue); sigmoid and the multiply still fuse, reading the product as an extra operand.
    let mut g = Graph::new();
    let x = g.input(Meta::new(vec![4, 8], DType::F32));
    let w = g.constant(&f32s(&[8, 6], 1));
    let p = node(&mut g, "matmul", vec![], vec![x, w]);
    let s = node(&mut g, "sigmoid", vec![], vec![p]);
    let y = node(&mut g, "multiply", vec![], vec![p, s]);
    let plan = Plan::compile(g, vec![y]).unwrap();
    assert_eq!(plan.stats().ops, ["matmul", "fused_elementwise"]);
    let xs = f32s(&[4, 8], 2);
    let want: Vec<f64> = {
        let p = flaxen_core::ops::matmul(&xs, &f32s(&[8, 6], 1)).unwrap();
        let s = flaxen_core::ops::unary(flaxen_core::ops::UnaryOp::Sigmoid, &p).unwrap();
        flaxen_core::ops::binary(flaxen_core::ops::BinaryOp::Mul, &p, &s).unwrap().to_f64_vec()
    };
    assert_eq!(plan.run(vec![xs]).unwrap()[0].to_f64_vec(), want);
}

#[test]
fn convolution_epilogues_are_bit_identical() {
    // An inference BatchNorm after a convolution ((y - mean) · scale + shift, per feature), relu,
    // a residual add and relu again: the kernel runs the chain on each region of its output as
    // it finishes it (`conv_fused`). Shapes for each path: im2col (and im2col for one input
    // feature, mnist's first layer), Winograd (by blocks and whole), a strided implicit product, implicit lines that
    // fall wholly in the padding, depthwise, and column bands split across threads; each with
    // that chain and with a plain bias and relu (nn.Conv + relu).
    struct Case {
        x: &'static [usize],
        o: usize,
        stride: i64,
        pad: i64,
        groups: usize,
    }
    let cases = [
        Case { x: &[2, 9, 7, 8], o: 16, stride: 1, pad: 1, groups: 1 },
        Case { x: &[3, 28, 28, 1], o: 32, stride: 1, pad: 1, groups: 1 },
        // The direct path with a partial last vector of features (its bias is applied in
        // registers, masked).
        Case { x: &[2, 10, 9, 3], o: 20, stride: 1, pad: 1, groups: 1 },
        Case { x: &[1, 16, 16, 16], o: 16, stride: 1, pad: 1, groups: 1 },
        Case { x: &[1, 11, 11, 6], o: 16, stride: 2, pad: 1, groups: 1 },
        Case { x: &[1, 4, 14, 8], o: 16, stride: 1, pad: 4, groups: 1 },
        Case { x: &[2, 12, 12, 32], o: 32, stride: 1, pad: 1, groups: 32 },
        Case { x: &[1, 7, 7, 256], o: 512, stride: 1, pad: 1, groups: 1 },
        // Winograd over all tiles at once (few tiles, many features).
        Case { x: &[1, 13, 15, 200], o: 72, stride: 1, pad: 1, groups: 1 },
        // Winograd's F(4×4) tiles (outputs of 24 and more each way): by blocks, with partial
        // last tiles (26 and 25 outputs); and all tiles at once on one thread (blocks on two).
        Case { x: &[2, 26, 25, 16], o: 24, stride: 1, pad: 1, groups: 1 },
        Case { x: &[1, 24, 26, 200], o: 72, stride: 1, pad: 1, groups: 1 },
    ];
    for (seed, (case, plain_bias)) in cases.iter().flat_map(|c| [(c, false), (c, true)]).enumerate() {
        let seed = seed as u64;
        let (c, o) = (case.x[3], case.o);
        let mut g = Graph::new();
        let x = g.input(Meta::new(case.x.to_vec(), DType::F32));
        let w = g.constant(&f32s(&[3, 3, c / case.groups, o], seed + 1));
        let attrs = vec![Attr::Ints(vec![case.stride; 2]), Attr::Ints(vec![case.pad; 4]), Attr::Ints(vec![1; 2]), Attr::Ints(vec![1; 2]), Attr::Int(case.groups as i64)];
        let y = node(&mut g, "conv_general_dilated", attrs, vec![x, w]);
        let shape = g.nodes[g.nodes.len() - 1].outs[0].shape.clone();
        let (mean, scale, shift) = (g.constant(&f32s(&[o], seed + 2)), g.constant(&f32s(&[o], seed + 3)), g.constant(&f32s(&[o], seed + 4)));
        let residual = g.constant(&f32s(&shape, seed + 5));
        let out = if plain_bias {
            // nn.Conv + relu: the bias-row fast path, the bias on either side of the add.
            let operands = if seed % 4 == 1 { vec![y, shift] } else { vec![shift, y] };
            let biased = node(&mut g, "add", vec![], operands);
            node(&mut g, "relu", vec![], vec![biased])
        } else {
            let centred = node(&mut g, "subtract", vec![], vec![y, mean]);
            let scaled = node(&mut g, "multiply", vec![], vec![centred, scale]);
            let shifted = node(&mut g, "add", vec![], vec![scaled, shift]);
            let act = node(&mut g, "relu", vec![], vec![shifted]);
            let sum = node(&mut g, "add", vec![], vec![residual, act]);
            node(&mut g, "relu", vec![], vec![sum])
        };
        let run = || compare(g.clone(), out, vec![f32s(case.x, seed)], "conv_fused");
        run();
        // Again on two threads (parallel tasks, Winograd blocks and column bands).
        rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap().install(run);
    }
}

#[test]
fn window_epilogues_are_bit_identical() {
    // Average pooling (a window sum divided by the window size, or by a per-position count as
    // with count_include_pad=False) and a chain after max pooling: the reduction runs the chain
    // on each chunk it finishes (`reduce_window_fused`).
    let cases: [(&[usize], [i64; 2], [i64; 2], [i64; 4], &str); 3] =
        [(&[4, 28, 28, 32], [2, 2], [2, 2], [0; 4], "add"), (&[1, 13, 13, 16], [3, 3], [2, 2], [1; 4], "add"), (&[2, 9, 9, 8], [3, 3], [1, 1], [1; 4], "max")];
    for (seed, &(xs, dims, strides, pad, op)) in cases.iter().enumerate() {
        let seed = seed as u64 + 40;
        let mut g = Graph::new();
        let x = g.input(Meta::new(xs.to_vec(), DType::F32));
        let attrs = vec![
            Attr::Num(0.0),
            Attr::Choice(if op == "add" { 0 } else { 1 }),
            Attr::Ints(vec![1, dims[0], dims[1], 1]),
            Attr::Ints(vec![1, strides[0], strides[1], 1]),
            Attr::Ints(vec![0, 0, pad[0], pad[1], pad[2], pad[3], 0, 0]),
        ];
        let y = node(&mut g, "reduce_window", attrs, vec![x]);
        let shape = g.nodes[g.nodes.len() - 1].outs[0].shape.clone();
        let counts = g.constant(&f32s(&shape[1..], seed + 1));
        let out = if seed % 2 == 0 { node(&mut g, "divide", vec![], vec![y, Src::Scalar(4.0)]) } else { node(&mut g, "divide", vec![], vec![y, counts]) };
        let out = node(&mut g, "tanh", vec![], vec![out]);
        let run = || compare(g.clone(), out, vec![f32s(xs, seed)], "reduce_window_fused");
        run();
        rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap().install(run);
    }
}

#[test]
fn convolution_then_pooling_runs_per_batch_slice_bit_identically() {
    // A convolution (with bias and relu, or bare) and the pooling after it become one node
    // (`conv_pool_fused`) run batch slice by batch slice: mnist's layers (the direct path, in
    // several slices), a Winograd layer in two slices, one with F(4×4) tiles (28² outputs) in
    // several, a strided one with padded max pooling.
    struct Case {
        x: &'static [usize],
        o: usize,
        stride: i64,
        pool: &'static str,
        epilogues: bool,
    }
    let cases = [
        Case { x: &[8, 28, 28, 1], o: 32, stride: 1, pool: "avg", epilogues: true },
        Case { x: &[3, 14, 14, 32], o: 64, stride: 1, pool: "avg", epilogues: true },
        Case { x: &[12, 28, 28, 16], o: 16, stride: 1, pool: "max", epilogues: false },
        Case { x: &[6, 30, 30, 8], o: 24, stride: 2, pool: "max", epilogues: true },
    ];
    for (seed, case) in cases.iter().enumerate() {
        let seed = seed as u64 + 70;
        let (c, o) = (case.x[3], case.o);
        let mut g = Graph::new();
        let x = g.input(Meta::new(case.x.to_vec(), DType::F32));
        let w = g.constant(&f32s(&[3, 3, c, o], seed + 1));
        let attrs = vec![Attr::Ints(vec![case.stride; 2]), Attr::Ints(vec![1; 4]), Attr::Ints(vec![1; 2]), Attr::Ints(vec![1; 2]), Attr::Int(1)];
        let mut y = node(&mut g, "conv_general_dilated", attrs, vec![x, w]);
        if case.epilogues {
            let bias = g.constant(&f32s(&[o], seed + 2));
            let biased = node(&mut g, "add", vec![], vec![y, bias]);
            y = node(&mut g, "relu", vec![], vec![biased]);
        }
        let (op, pad) = if case.pool == "avg" { (0, 0) } else { (1, 1) };
        let attrs = vec![Attr::Num(if op == 0 { 0.0 } else { f64::NEG_INFINITY }), Attr::Choice(op), Attr::Ints(vec![1, 2, 2, 1]), Attr::Ints(vec![1, 2, 2, 1]), Attr::Ints(vec![0, 0, 0, pad, 0, pad, 0, 0])];
        let mut out = node(&mut g, "reduce_window", attrs, vec![y]);
        if case.pool == "avg" {
            out = node(&mut g, "divide", vec![], vec![out, Src::Scalar(4.0)]);
        }
        let run = || compare(g.clone(), out, vec![f32s(case.x, seed)], "conv_pool_fused");
        run();
        rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap().install(run);
    }
}

#[test]
fn pooling_over_the_batch_axis_or_a_shared_convolution_is_not_fused() {
    let build = |batch_window: i64, share: bool| {
        let mut g = Graph::new();
        let x = g.input(Meta::new(vec![4, 8, 8, 3], DType::F32));
        let w = g.constant(&f32s(&[3, 3, 3, 8], 1));
        let attrs = vec![Attr::Ints(vec![1; 2]), Attr::Ints(vec![1; 4]), Attr::Ints(vec![1; 2]), Attr::Ints(vec![1; 2]), Attr::Int(1)];
        let y = node(&mut g, "conv_general_dilated", attrs, vec![x, w]);
        let attrs = vec![Attr::Num(0.0), Attr::Choice(0), Attr::Ints(vec![batch_window, 2, 2, 1]), Attr::Ints(vec![1, 2, 2, 1]), Attr::Ints(vec![0; 8])];
        let p = node(&mut g, "reduce_window", attrs, vec![y]);
        let outs = if share { vec![p, y] } else { vec![p] };
        Plan::compile(g, outs).unwrap().stats().ops
    };
    assert!(build(1, false).iter().any(|o| *o == "conv_pool_fused"));
    for ops in [build(2, false), build(1, true)] {
        assert!(!ops.iter().any(|o| *o == "conv_pool_fused"), "{ops:?}");
        assert!(ops.iter().any(|o| *o == "conv_general_dilated"), "{ops:?}");
    }
}
