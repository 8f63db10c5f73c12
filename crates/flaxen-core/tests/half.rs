//! float16 / bfloat16 in the core: the widening matmul equals the float32 product of the widened
//! weights bit for bit (at this CPU level; in child processes at `FLAXEN_CPU=avx2`, whose
//! products must give this level's bits, and with `FLAXEN_NO_SIMD` on the portable paths),
//! astype agrees with the scalar conversions on every bit pattern, and the op table's half
//! policy rounds a primitive once. (Agreement with JAX itself is checked by
//! `__test__/dtypes-half.spec.ts` against goldens.)

mod common;

use flaxen_core::halfconv;
use flaxen_core::ops::table::{self, Arg, Attr, OPS};
use flaxen_core::{DType, Tensor};

fn f32s(shape: &[usize], seed: u64) -> Tensor {
    let n: usize = shape.iter().product();
    Tensor::from_vec(common::values(n, seed, 2.0), shape).unwrap()
}

/// FNV-1a of a tensor's bytes.
fn digest(t: &Tensor) -> u64 {
    t.as_bytes().iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| (h ^ b as u64).wrapping_mul(0x0100_0000_01b3))
}

/// Shapes (m, k, n) off the kernel tiles, on both sides of the packing and split-k thresholds.
const SHAPES: &[(usize, usize, usize)] = &[
    (1, 1, 1),
    (1, 37, 29),
    (1, 1000, 777),
    (1, 3000, 300),
    (1, 40, 8300),
    (2, 33, 17),
    (13, 70, 45),
    (32, 513, 1100),
    (49, 200, 2050),
    (60, 300, 100),
];

/// One digest line per shape and half dtype: `ok` when the widened product equals the float32
/// one, else the two digests.
fn widening_report() -> Vec<String> {
    let mut out = Vec::new();
    for (i, &(m, k, n)) in SHAPES.iter().enumerate() {
        let x = f32s(&[m, k], i as u64);
        for dt in [DType::BF16, DType::F16] {
            let w = f32s(&[k, n], 100 + i as u64).astype(dt);
            let wide = w.astype(DType::F32);
            let got = flaxen_core::ops::matmul(&x, &w).unwrap();
            let want = flaxen_core::ops::matmul(&x, &wide).unwrap();
            assert_eq!(got.dtype(), DType::F32);
            let (g, e) = (digest(&got), digest(&want));
            // Each line carries its digest: the AVX2 and AVX-512 products (matvec and GEMM) sum
            // in the same order.
            out.push(if g == e { format!("{m}x{k}x{n} {dt} {e} ok") } else { format!("{m}x{k}x{n} {dt} {g} != {e}") });
            // Batched, with the weights broadcast over the batch.
            let xb = f32s(&[3, m, k], 7 + i as u64);
            let (gb, eb) = (
                digest(&flaxen_core::ops::matmul(&xb, &w).unwrap()),
                digest(&flaxen_core::ops::matmul(&xb, &wide).unwrap()),
            );
            out.push(if gb == eb { format!("3x{m}x{k}x{n} {dt} {eb} ok") } else { format!("3x{m}x{k}x{n} {dt} {gb} != {eb}") });
        }
    }
    out
}

#[test]
fn widening_matmul_equals_the_float32_product_of_the_widened_weights() {
    if std::env::var_os("FLAXEN_HALF_CHILD").is_some() {
        for line in widening_report() {
            println!("REPORT {line}");
        }
        return;
    }
    let here = widening_report();
    assert!(here.iter().all(|l| l.ends_with(" ok")), "{here:#?}");
    // The AVX2 kernels (FLAXEN_CPU=avx2) and the portable paths (no SIMD: matrixmultiply, the
    // plain matvec), each in a child process.
    for (var, value) in [("FLAXEN_CPU", "avx2"), ("FLAXEN_NO_SIMD", "1")] {
        let child = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["widening_matmul_equals_the_float32_product_of_the_widened_weights", "--exact", "--nocapture"])
            .env(var, value)
            .env("FLAXEN_HALF_CHILD", "1")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&child.stdout);
        let lower: Vec<&str> = text.lines().filter_map(|l| l.strip_prefix("REPORT ")).collect();
        assert_eq!(lower.len(), here.len(), "{var}={value}, child output:\n{text}");
        assert!(lower.iter().all(|l| l.ends_with(" ok")), "{var}={value}: {lower:#?}");
        if var == "FLAXEN_CPU" {
            assert_eq!(lower, here, "the AVX2 products give other bits than this level's");
        }
    }
}

#[test]
fn matmul_of_two_half_operands_rounds_the_float32_sums_once() {
    for dt in [DType::BF16, DType::F16] {
        let a = f32s(&[9, 40], 1).astype(dt);
        let b = f32s(&[40, 11], 2).astype(dt);
        let y = flaxen_core::ops::matmul(&a, &b).unwrap();
        assert_eq!(y.dtype(), dt);
        let want = flaxen_core::ops::matmul(&a.astype(DType::F32), &b.astype(DType::F32)).unwrap().astype(dt);
        assert_eq!(y.as_bytes(), want.as_bytes());
        // float16 with bfloat16 is float32.
        let other = if dt == DType::BF16 { DType::F16 } else { DType::BF16 };
        assert_eq!(flaxen_core::ops::matmul(&a, &b.astype(DType::F32).astype(other)).unwrap().dtype(), DType::F32);
    }
    // Integers are refused.
    let e = flaxen_core::ops::matmul(&Tensor::zeros(&[2, 2], DType::I32), &Tensor::zeros(&[2, 2], DType::BF16)).unwrap_err();
    assert_eq!(e.code, flaxen_core::ErrorCode::DType);
}

#[test]
fn astype_agrees_with_the_scalar_conversions_on_every_bit_pattern() {
    let bits: Vec<u16> = (0..=u16::MAX).collect();
    let bf = Tensor::from_vec(bits.iter().map(|&b| flaxen_core::Bf16(b)).collect(), &[65536]).unwrap();
    let hf = Tensor::from_vec(bits.iter().map(|&b| flaxen_core::F16(b)).collect(), &[65536]).unwrap();
    let bw = bf.astype(DType::F32).to_vec::<f32>().unwrap();
    let hw = hf.astype(DType::F32).to_vec::<f32>().unwrap();
    for (i, &b) in bits.iter().enumerate() {
        assert_eq!(bw[i].to_bits(), halfconv::bf16_to_f32(b).to_bits());
        assert_eq!(hw[i].to_bits(), halfconv::f16_to_f32(b).to_bits());
    }
    // float32 → half over a stride of all float32 patterns (the slice paths may use F16C).
    let xs: Vec<f32> = (0..(1u64 << 32)).step_by(40_503).map(|b| f32::from_bits(b as u32)).collect();
    let x = Tensor::from_vec(xs.clone(), &[xs.len()]).unwrap();
    let to_bf = x.astype(DType::BF16);
    let to_hf = x.astype(DType::F16);
    let (vb, vh) = (to_bf.to_vec::<flaxen_core::Bf16>().unwrap(), to_hf.to_vec::<flaxen_core::F16>().unwrap());
    for (i, &v) in xs.iter().enumerate() {
        assert_eq!(vb[i].0, halfconv::f32_to_bf16(v), "{:#x}", v.to_bits());
        assert_eq!(vh[i].0, halfconv::f32_to_f16(v), "{:#x}", v.to_bits());
    }
    // Half to bool is by value: -0.0 is false, NaN true.
    let z = Tensor::from_vec(vec![flaxen_core::Bf16(0x8000), flaxen_core::Bf16(0x7fc0), flaxen_core::Bf16(0)], &[3]).unwrap();
    assert_eq!(z.astype(DType::Bool).to_vec::<bool>().unwrap(), [false, true, false]);
}

fn run(op: &str, attrs: &[Attr], args: &[Arg]) -> Tensor {
    OPS[table::code(op).unwrap()].execute(attrs, args).unwrap().remove(0)
}

#[test]
fn the_table_rounds_a_half_primitive_once_and_refuses_where_it_says() {
    let x = f32s(&[4, 50], 3).astype(DType::BF16);
    let y = f32s(&[4, 50], 4).astype(DType::BF16);
    let sum = run("add", &[], &[Arg::T(&x), Arg::T(&y)]);
    assert_eq!(sum.dtype(), DType::BF16);
    let want = run("add", &[], &[Arg::T(&x.astype(DType::F32)), Arg::T(&y.astype(DType::F32))]).astype(DType::BF16);
    assert_eq!(sum.as_bytes(), want.as_bytes());
    // A weak number is rounded to bfloat16 first: x + 0.1 == x + bf16(0.1).
    let a = run("add", &[], &[Arg::T(&x), Arg::S(0.1)]);
    let b = run("add", &[], &[Arg::T(&x), Arg::S(halfconv::bf16_to_f32(halfconv::f32_to_bf16(0.1)) as f64)]);
    assert_eq!(a.as_bytes(), b.as_bytes());
    // int32 with bfloat16 is bfloat16; float16 with bfloat16 is float32.
    let i = Tensor::from_vec(vec![257i32; 200], &[4, 50]).unwrap();
    assert_eq!(run("multiply", &[], &[Arg::T(&i), Arg::T(&x)]).dtype(), DType::BF16);
    assert_eq!(run("add", &[], &[Arg::T(&x), Arg::T(&y.astype(DType::F16))]).dtype(), DType::F32);
    // Data movement keeps the bits (a signalling-NaN payload survives a transpose).
    let odd = Tensor::from_vec(vec![flaxen_core::Bf16(0x7f81), flaxen_core::Bf16(0x1234)], &[1, 2]).unwrap();
    assert_eq!(run("transpose", &[Attr::None], &[Arg::T(&odd)]).as_bytes(), odd.as_bytes());
    // qr refuses with E_DTYPE naming the op and the dtype.
    let e = OPS[table::code("qr").unwrap()].execute(&[], &[Arg::T(&Tensor::zeros(&[3, 3], DType::F16))]).unwrap_err();
    assert_eq!(e.code, flaxen_core::ErrorCode::DType);
    assert!(e.message.contains("qr") && e.message.contains("float16"), "{}", e.message);
    // Random draws in half dtypes have the dtype and stay in range.
    let key = Tensor::from_slice(&[0u32, 42], &[2]).unwrap();
    for dt in [DType::BF16, DType::F16] {
        let u = run("uniform", &[Attr::Shape(vec![500]), Attr::Num(-1.0), Attr::Num(2.0), Attr::DType(dt), Attr::Bool(true)], &[Arg::T(&key)]);
        assert_eq!(u.dtype(), dt);
        assert!(u.to_f64_vec().iter().all(|&v| (-1.0..2.0).contains(&v)));
        let t = run("truncated_normal", &[Attr::Num(-2.0), Attr::Num(2.0), Attr::Shape(vec![500]), Attr::DType(dt), Attr::Bool(true)], &[Arg::T(&key)]);
        assert!(t.to_f64_vec().iter().all(|&v| v > -2.0 && v < 2.0));
    }
}
