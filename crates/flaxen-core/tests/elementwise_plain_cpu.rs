//! The float32 unary kernels and the softmax rows are compiled twice (baseline and AVX2+FMA):
//! both variants must give identical bits. The CPU choice is made once per process, so the
//! plain variant runs in a child process of this test binary (`FLAXEN_NO_SIMD=1`).

use flaxen_core::ops::*;
use flaxen_core::Tensor;

/// One FNV-1a digest of the output bits per op, over values spanning every range.
fn digests() -> Vec<(String, u64)> {
    let mut v: Vec<f32> = (-3000..=3000).map(|i| i as f32 / 100.0).collect();
    let mut b: u32 = 0;
    while b < 0x7f80_0000 {
        v.push(f32::from_bits(b));
        v.push(-f32::from_bits(b));
        b += 65_537;
    }
    v.extend([f32::NAN, f32::INFINITY, f32::NEG_INFINITY]);
    let x = Tensor::from_vec(v.clone(), &[v.len()]).unwrap();
    let fnv = |t: &Tensor| {
        t.to_vec::<f32>()
            .unwrap()
            .iter()
            .fold(0xcbf2_9ce4_8422_2325u64, |h, f| {
                (h ^ f.to_bits() as u64).wrapping_mul(0x0100_0000_01b3)
            })
    };
    let mut out: Vec<(String, u64)> = UnaryOp::ALL[..16]
        .iter()
        .map(|&op| (format!("{op:?}"), fnv(&unary(op, &x).unwrap())))
        .collect();
    let logits = Tensor::from_vec(v[..6000].to_vec(), &[60, 100]).unwrap();
    out.push(("softmax".into(), fnv(&softmax(&logits, None).unwrap())));
    out.push((
        "softmax rows".into(),
        fnv(&softmax(&logits, Some(&[-1])).unwrap()),
    ));
    out.push((
        "log_softmax rows".into(),
        fnv(&log_softmax(&logits, Some(&[-1])).unwrap()),
    ));
    out.push((
        "logsumexp rows".into(),
        fnv(&logsumexp(&logits, Some(&[-1]), false).unwrap()),
    ));
    out
}

#[test]
fn simd_and_plain_kernels_agree_bit_for_bit() {
    if std::env::var_os("FLAXEN_PLAIN_CHILD").is_some() {
        for (name, d) in digests() {
            println!("DIGEST {name}={d}");
        }
        return;
    }
    let child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "simd_and_plain_kernels_agree_bit_for_bit",
            "--exact",
            "--nocapture",
        ])
        .env("FLAXEN_NO_SIMD", "1")
        .env("FLAXEN_PLAIN_CHILD", "1")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&child.stdout);
    let plain: Vec<&str> = text
        .lines()
        .filter_map(|l| l.split_once("DIGEST ").map(|(_, r)| r))
        .collect();
    let simd = digests();
    assert_eq!(plain.len(), simd.len(), "child output:\n{text}");
    for ((name, d), p) in simd.iter().zip(&plain) {
        assert_eq!(
            format!("{name}={d}"),
            *p,
            "{name}: the two kernel variants differ"
        );
    }
}
