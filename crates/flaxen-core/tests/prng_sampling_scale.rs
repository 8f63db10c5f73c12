//! Bit-exact sampling at scale, against __test__/golden/sampling_scale.json (JAX 0.10.2,
//! scripts/golden/sampling_scale.py): every value normal / truncated_normal can produce (all
//! 2^23 mantissas of the uniform step, as sha256 of the float32 bytes + sampled bit patterns),
//! and the sampled entries of 2^22-draw arrays from several keys.
//!
//! An unoptimised build (`cargo test`, as CI runs it) is ~50x slower here, so it checks a subset:
//! the 2^16-entry chunks at both tails and the middle of each mapping table (the tails are where
//! erf_inv's log rounding bit), and the first 2^16 values of each draw, plus all sampled entries
//! that fall there. A release build, or FLAXEN_FULL=1, checks every value:
//!
//!     cargo test -p flaxen-core --release --test prng_sampling_scale
//!
//! With FLAXEN_XLA_DUMPS=<dir> set, `xla_elementwise_dumps` also compares log, log1p, erf,
//! erf_inv, sin, cos, exp, expm1 and tanh elementwise with dumps of the jnp / lax functions made
//! by scripts/golden/xla_elementwise_dumps.py (too big to commit; 34M-113M inputs per function;
//! FLAXEN_XLA_DUMPS_ONLY=sin,cos picks some).

mod common;
use common::golden::*;
use common::sha256;
use flaxen_core::prng::*;

const DOC: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../__test__/golden/sampling_scale.json"
);


fn doc() -> Json {
    let text = std::fs::read_to_string(DOC).unwrap_or_else(|e| panic!("read {DOC}: {e}"));
    parse(&text)
}

fn entries(j: &Json) -> &[(String, Json)] {
    match j {
        Json::Obj(m) => m,
        _ => panic!("not an object"),
    }
}

fn ints(j: &Json) -> Vec<u64> {
    j.arr().iter().map(|v| v.num() as u64).collect()
}

/// Every value, or (unoptimised builds) the subset described at the top.
fn full() -> bool {
    !cfg!(debug_assertions) || std::env::var_os("FLAXEN_FULL").is_some()
}

const PREFIX: usize = 1 << 16;

fn digest(v: &[f32]) -> String {
    let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
    sha256(&bytes)
}

/// Asserts the sampled (index, bits) of a golden entry that lie in `got` (the whole array, or
/// its first values), then the digest of the whole array or of its first 2^16 values.
fn check(name: &str, want: &Json, got: &[f32]) {
    let shape: Vec<usize> = ints(want.get("shape"))
        .iter()
        .map(|&v| v as usize)
        .collect();
    let total: usize = shape.iter().product();
    assert!(
        got.len() == total || got.len() == PREFIX,
        "{name}: {} values",
        got.len()
    );
    let (idx, bits) = (ints(want.get("index")), ints(want.get("bits")));
    assert!(idx.len() >= 200, "{name}: only {} samples", idx.len());
    let mut bad = Vec::new();
    for (&i, &b) in idx.iter().zip(&bits) {
        let Some(&g) = got.get(i as usize) else {
            continue;
        };
        if g.to_bits() as u64 != b {
            bad.push(format!(
                "[{i}] got {g:e} ({:08x}) want {:e} ({b:08x})",
                g.to_bits(),
                f32::from_bits(b as u32)
            ));
        }
    }
    assert!(
        bad.is_empty(),
        "{name}: {} of {} samples differ: {:?}",
        bad.len(),
        idx.len(),
        &bad[..bad.len().min(5)]
    );
    if got.len() == total {
        assert_eq!(
            digest(got),
            want.get("sha256").str(),
            "{name}: sha256 of all {total} values"
        );
    } else {
        assert_eq!(
            digest(got),
            want.get("prefix_sha256").str(),
            "{name}: sha256 of the first {PREFIX}"
        );
    }
}

#[test]
fn sha256_matches_the_standard_vectors() {
    assert_eq!(
        sha256(b""),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    assert_eq!(
        sha256(b"abc"),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    let long = [b'a'; 1000];
    assert_eq!(
        sha256(&long),
        "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3"
    );
}

/// u = max(minval, f * (maxval - minval) + minval) for mantissa m, fused as XLA emits it: the
/// uniform step of normal / truncated_normal, written out so every m can be fed in.
fn uniform_of_mantissa(m: u32, minval: f32, maxval: f32) -> f32 {
    let f = f32::from_bits(m | 0x3F80_0000) - 1.0;
    minval.max(f.mul_add(maxval - minval, minval))
}

fn parse_bounds(name: &str) -> (f32, f32) {
    let inner = &name[name.find('(').unwrap() + 1..name.find(')').unwrap()];
    let mut it = inner.split(',').map(|s| s.trim().parse::<f32>().unwrap());
    (it.next().unwrap(), it.next().unwrap())
}

#[test]
fn every_normal_and_truncated_normal_value_is_bit_exact() {
    // All 2^23 values each distribution can produce, indexed by the mantissa m of the uniform
    // step: erf_inv (and its log1p / log) on exactly the inputs sampling feeds it, the uniform
    // mapping and the truncation bounds.
    let d = doc();
    let tabs = entries(d.get("mapping_tables").get("expect"));
    assert!(tabs.len() >= 6, "{} tables", tabs.len());
    let sqrt2 = std::f32::consts::SQRT_2;
    let mut checked = 0usize;
    for (name, want) in tabs {
        let value: Box<dyn Fn(u32) -> f32> = if name == "normal" {
            let lo = f32::from_bits((-1.0f32).to_bits() - 1); // nextafter(-1, 0)
            Box::new(move |m| sqrt2 * erf_inv(uniform_of_mantissa(m, lo, 1.0)))
        } else {
            // The bounds as truncated_normal computes them (the sampler itself is checked on
            // keys below: random words cannot be chosen to hit every m).
            let (lower, upper) = parse_bounds(name);
            let a = erf_scalar(lower * std::f32::consts::FRAC_1_SQRT_2);
            let b = erf_scalar(upper * std::f32::consts::FRAC_1_SQRT_2);
            let (lo, hi) = (
                next_after(lower, f32::INFINITY),
                next_after(upper, f32::NEG_INFINITY),
            );
            Box::new(move |m| {
                (sqrt2 * erf_inv(uniform_of_mantissa(m, a, b)))
                    .max(lo)
                    .min(hi)
            })
        };
        let chunks: Vec<String> = want
            .get("chunk_sha256")
            .arr()
            .iter()
            .map(|c| c.str().to_string())
            .collect();
        assert_eq!(chunks.len(), (1 << 23) / PREFIX, "{name}: chunk digests");
        if full() {
            let got: Vec<f32> = (0..1u32 << 23).map(&value).collect();
            check(name, want, &got);
            checked += got.len();
        } else {
            let (idx, bits) = (ints(want.get("index")), ints(want.get("bits")));
            for (&i, &b) in idx.iter().zip(&bits) {
                assert_eq!(value(i as u32).to_bits() as u64, b, "{name}: m = {i}");
            }
            checked += idx.len();
        }
        let picked: Vec<usize> = if full() {
            (0..chunks.len()).collect()
        } else {
            vec![0, chunks.len() / 2, chunks.len() - 1]
        };
        for c in picked {
            let got: Vec<f32> = (c * PREFIX..(c + 1) * PREFIX)
                .map(|m| value(m as u32))
                .collect();
            assert_eq!(digest(&got), chunks[c], "{name}: m in chunk {c} (m >> 16)");
        }
    }
    assert!(checked >= 200 * tabs.len(), "only {checked} values");
}

fn next_after(x: f32, toward: f32) -> f32 {
    let up = toward > x;
    let b = x.to_bits();
    if x == 0.0 {
        return if up {
            f32::from_bits(1)
        } else {
            -f32::from_bits(1)
        };
    }
    f32::from_bits(if (x > 0.0) == up { b + 1 } else { b - 1 })
}

fn key_of(name: &str) -> [u32; 2] {
    if name.contains("split(key(1234))[1]") {
        return split(key_from_seed(1234), 2)[1];
    }
    let s = &name[name.find("key(").unwrap() + 4..];
    key_from_seed(s[..s.find(')').unwrap()].parse().unwrap())
}

fn shape_of(name: &str) -> Vec<usize> {
    let s = &name[name.rfind('(').unwrap() + 1..name.len() - 1];
    s.split(',')
        .filter(|p| !p.trim().is_empty())
        .map(|p| p.trim().parse().unwrap())
        .collect()
}

#[test]
fn normal_and_truncated_normal_draws_at_scale() {
    // The full sampler (threefry words, uniform, erf_inv, clip) on 2^22-draw arrays from several
    // keys. Unoptimised builds draw the first 2^16 values only: in the partitionable layout value
    // i depends on i alone, so they are the start of the same array.
    let d = doc();
    let mut n = 0;
    for (name, want) in entries(d.get("expect")) {
        let key = key_of(name);
        let shape = if full() { shape_of(name) } else { vec![PREFIX] };
        let got = if name.starts_with("normal ") {
            normal(key, &shape)
        } else if name.starts_with("truncated_normal(")
            && name[..name.find(')').unwrap()].contains(',')
        {
            // truncated_normal(lower, upper) draws; "truncated_normal(0.02)" is the initializer.
            let (lo, hi) = parse_bounds(name);
            truncated_normal(key, lo, hi, &shape)
        } else {
            continue; // initializers: the ava test draws them through the TS API
        };
        let v = got.to_vec::<f32>().unwrap();
        check(name, want, &v);
        n += 1;
    }
    assert_eq!(n, 12, "normal and truncated_normal cases");
}

fn read_u32s(path: &std::path::Path) -> Vec<u32> {
    let b = std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    b.chunks_exact(4)
        .map(|c| u32::from_le_bytes(c.try_into().unwrap()))
        .collect()
}

/// `f` applied to each element, as one batch.
fn each(xs: &[f32], f: fn(f32) -> f32) -> Vec<f32> {
    xs.iter().map(|&x| f(x)).collect()
}

/// The eager float32 kernel of `op` over the whole batch (the vectorised path and its
/// fallbacks, as jnp calls reach it).
fn kernel(xs: &[f32], op: flaxen_core::ops::UnaryOp) -> Vec<f32> {
    let t = flaxen_core::Tensor::from_slice(xs, &[xs.len()]).unwrap();
    flaxen_core::ops::unary(op, &t)
        .unwrap()
        .to_vec::<f32>()
        .unwrap()
}

#[test]
fn xla_elementwise_dumps() {
    use flaxen_core::ops::UnaryOp;
    let Some(dir) = std::env::var_os("FLAXEN_XLA_DUMPS") else {
        eprintln!("FLAXEN_XLA_DUMPS not set: skipping the elementwise dump comparison");
        return;
    };
    let dir = std::path::PathBuf::from(dir);
    // (name, batch function, whether subnormal inputs/outputs are left out). The prng functions
    // do not model subnormals (XLA's own vector and scalar loops disagree on them); the
    // elementwise kernels model XLA's flushed denormals and are compared on every input.
    type Batch = Box<dyn Fn(&[f32]) -> Vec<f32>>;
    let fns: Vec<(&str, Batch, bool)> = vec![
        ("log", Box::new(|x| each(x, log)), true),
        ("log1p", Box::new(|x| each(x, log1p)), true),
        ("erf", Box::new(|x| each(x, erf)), true),
        ("erf_inv", Box::new(|x| each(x, erf_inv)), true),
        ("sin", Box::new(|x| kernel(x, UnaryOp::Sin)), false),
        ("cos", Box::new(|x| kernel(x, UnaryOp::Cos)), false),
        ("exp", Box::new(|x| kernel(x, UnaryOp::Exp)), false),
        ("expm1", Box::new(|x| kernel(x, UnaryOp::Expm1)), false),
        ("tanh", Box::new(|x| kernel(x, UnaryOp::Tanh)), false),
    ];
    let only = std::env::var("FLAXEN_XLA_DUMPS_ONLY").ok();
    for (name, f, skip_subnormal) in fns {
        if only
            .as_deref()
            .is_some_and(|o| !o.split(',').any(|n| n == name))
        {
            continue;
        }
        let inp = read_u32s(&dir.join(format!("{name}_in.u32")));
        let out = read_u32s(&dir.join(format!("{name}_out.f32")));
        assert_eq!(inp.len(), out.len(), "{name}: dump lengths");
        let xs: Vec<f32> = inp.iter().map(|&i| f32::from_bits(i)).collect();
        let got = f(&xs);
        let subnormal = |v: f32| v != 0.0 && v.abs() < f32::MIN_POSITIVE;
        let (mut checked, mut bad) = (0usize, Vec::new());
        for ((&x, &g), &o) in xs.iter().zip(&got).zip(&out) {
            if skip_subnormal && (subnormal(x) || subnormal(g) || subnormal(f32::from_bits(o))) {
                continue;
            }
            checked += 1;
            if g.to_bits() != o && !(g.is_nan() && f32::from_bits(o).is_nan()) {
                bad.push(format!(
                    "{name}({x:e}) = {g:e}, XLA {:e}",
                    f32::from_bits(o)
                ));
            }
        }
        eprintln!("{name}: {checked} inputs compared, {} differ", bad.len());
        assert!(checked > 1_000_000, "{name}: only {checked} inputs");
        assert!(
            bad.is_empty(),
            "{name}: {} differ, e.g. {:?}",
            bad.len(),
            &bad[..bad.len().min(5)]
        );
    }
}
