//! Every entry of shared/fixtures/golden/prng_values.json (produced by JAX 0.10.2, default
//! partitionable threefry) reproduced by the core.

mod common;
use common::golden::*;

fn ulps(a: f32, b: f32) -> i64 {
    (a.to_bits() as i32 as i64 - b.to_bits() as i32 as i64).abs()
}

#[test]
fn every_golden_prng_value() {
    let text = std::fs::read_to_string(GOLDEN).unwrap_or_else(|e| panic!("read {GOLDEN}: {e}"));
    let doc = parse(&text);
    let Json::Obj(entries) = doc.get("expect") else {
        panic!("expect is not an object")
    };
    assert!(entries.len() >= 30, "only {} entries", entries.len());
    let mut worst_ulps = 0;
    for (name, e) in entries {
        let (got, dt, shape, kind) = eval(name);
        let want: Vec<f64> = e.get("data").arr().iter().map(Json::num).collect();
        let want_shape: Vec<usize> = e
            .get("shape")
            .arr()
            .iter()
            .map(|v| v.num() as usize)
            .collect();
        assert_eq!(dt, e.get("dtype").str(), "{name}: dtype");
        assert_eq!(shape, want_shape, "{name}: shape");
        assert_eq!(got.len(), want.len(), "{name}: length");
        for (i, (&g, &w)) in got.iter().zip(&want).enumerate() {
            match kind {
                "exact" => assert_eq!(g, w, "{name}[{i}]"),
                "uniform" => assert!((g - w).abs() <= 1e-6, "{name}[{i}]: got {g}, want {w}"),
                _ => {
                    let u = ulps(g as f32, w as f32);
                    worst_ulps = worst_ulps.max(u);
                    assert!(
                        (g - w).abs() <= 2e-6 * w.abs().max(1e-3) || u <= 4,
                        "{name}[{i}]: got {g}, want {w} ({u} ulp)"
                    );
                }
            }
        }
    }
    eprintln!(
        "golden prng: {} entries, worst normal/truncated_normal difference {worst_ulps} ulp",
        entries.len()
    );
}

#[test]
fn golden_floats_are_bit_exact() {
    // Stronger than the tolerances above: erf_inv/log1p/uniform follow XLA's CPU code (fused
    // multiply-adds, Cephes log), so every float32 value matches JAX to the last bit.
    let text = std::fs::read_to_string(GOLDEN).unwrap();
    let doc = parse(&text);
    let Json::Obj(entries) = doc.get("expect") else {
        panic!()
    };
    let mut n = 0;
    for (name, e) in entries
        .iter()
        .filter(|(_, e)| e.get("dtype").str() == "float32")
    {
        let (got, ..) = eval(name);
        let want: Vec<f64> = e.get("data").arr().iter().map(Json::num).collect();
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            assert_eq!(
                (*g as f32).to_bits(),
                (*w as f32).to_bits(),
                "{name}[{i}]: got {g}, want {w}"
            );
            n += 1;
        }
    }
    assert!(n > 2000);
}
