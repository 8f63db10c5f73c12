//! The same golden values through the plain (non-AVX2/FMA) kernel versions: both compiled
//! variants must give identical bits. Its own test binary, because the CPU choice is made once
//! per process.

mod common;
use common::golden::*;

#[test]
fn plain_kernels_match_golden_bit_for_bit() {
    // Must run before any kernel in this process (the choice is cached on first use).
    std::env::set_var("FLAXEN_NO_SIMD", "1");
    let text = std::fs::read_to_string(GOLDEN).unwrap();
    let doc = parse(&text);
    let Json::Obj(entries) = doc.get("expect") else {
        panic!("expect is not an object")
    };
    for (name, e) in entries {
        let (got, ..) = eval(name);
        let want: Vec<f64> = e.get("data").arr().iter().map(Json::num).collect();
        assert_eq!(got.len(), want.len(), "{name}");
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            assert_eq!(
                (*g as f32).to_bits(),
                (*w as f32).to_bits(),
                "{name}[{i}]: got {g}, want {w}"
            );
        }
    }
}
