//! Known answers of JAX's original threefry layout (`jax_threefry_partitionable=False`): the
//! values upstream `random_test.py` asserts (spec g.3, g.6; flax-cases 115–118).

use flaxen_core::prng::{fold_in, key_from_seed, threefry2x32, Layout};
use flaxen_core::{DType, ErrorCode};

const O: Layout = Layout::Original;

fn close(got: &[f32], want: &[f32], tol: f32) {
    assert_eq!(got.len(), want.len());
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= tol,
            "[{i}] got {g}, want {w}\n got {got:?}\nwant {want:?}"
        );
    }
}

#[test]
fn split_key0_testprngvalues() {
    assert_eq!(
        O.split(key_from_seed(0), 4).unwrap(),
        vec![
            [2285895361, 1501764800],
            [1518642379, 4090693311],
            [433833334, 4221794875],
            [839183663, 3740430601]
        ]
    );
    // fold_in does not depend on the layout; its key is the first word pair of counter (0, 4).
    assert_eq!(fold_in(key_from_seed(0), 4), [2285895361, 433833334]);
    assert!(O.split(key_from_seed(0), 0).unwrap().is_empty());
}

#[test]
fn randint_key0_testprngvalues() {
    let r = O.randint(key_from_seed(0), &[3, 3], 0, 8).unwrap();
    assert_eq!(r.dtype(), DType::I32);
    assert_eq!(r.as_slice::<i32>().unwrap(), &[2, 1, 3, 6, 1, 5, 6, 3, 4]);
}

#[test]
fn bits_seed_1701_testrngrandombits() {
    let k = key_from_seed(1701);
    let b8 = O.random_bits(k, 8, &[3]).unwrap();
    assert_eq!(b8.as_slice::<u8>().unwrap(), &[216, 115, 43]);
    let b16 = O.random_bits(k, 16, &[3]).unwrap();
    assert_eq!(b16.as_slice::<u16>().unwrap(), &[41682, 1300, 55017]);
    let b32 = O.random_bits(k, 32, &[3]).unwrap();
    assert_eq!(
        b32.as_slice::<u32>().unwrap(),
        &[56197195, 4200222568, 961309823]
    );
}

#[test]
fn random_values_cases() {
    let k = key_from_seed(942802475);
    assert_eq!(
        O.random_bits(k, 8, &[5]).unwrap().as_slice::<u8>().unwrap(),
        &[10, 158, 82, 54, 158]
    );
    assert_eq!(
        O.random_bits(k, 16, &[5])
            .unwrap()
            .as_slice::<u16>()
            .unwrap(),
        &[6738, 38161, 50695, 57337, 61600]
    );
    assert_eq!(
        O.random_bits(k, 32, &[5])
            .unwrap()
            .as_slice::<u32>()
            .unwrap(),
        &[1978747883, 4134381225, 3628107870, 689687174, 2788938207]
    );
    // The upstream table prints 6 decimals.
    close(
        O.uniform(key_from_seed(1338574713), &[5], 0.0, 1.0)
            .unwrap()
            .as_slice()
            .unwrap(),
        &[0.298671, 0.073213, 0.873356, 0.260549, 0.412797],
        1e-6,
    );
    close(
        O.normal(key_from_seed(1193674498), &[5])
            .unwrap()
            .as_slice()
            .unwrap(),
        &[-1.173234, -1.511662, 0.070593, -0.099764, 1.052845],
        1e-6,
    );
    close(
        O.truncated_normal(key_from_seed(2846034731), 0.0, 2.0, &[5])
            .unwrap()
            .as_slice()
            .unwrap(),
        &[0.582807, 1.709771, 0.159513, 0.861376, 0.36148],
        1e-6,
    );
    assert_eq!(
        O.randint(key_from_seed(1319372649), &[5], 0, 10)
            .unwrap()
            .as_slice::<i32>()
            .unwrap(),
        &[0, 5, 7, 7, 5]
    );
}

#[test]
fn words_are_the_halves_of_threefry_2x32_over_iota() {
    // Odd count 5: counters [0..5) + pad 0 → halves (0,1,2) and (3,4,0).
    let k = key_from_seed(3);
    let got = O.random_bits(k, 32, &[5]).unwrap().to_vec::<u32>().unwrap();
    let pairs = [
        threefry2x32(k, [0, 3]),
        threefry2x32(k, [1, 4]),
        threefry2x32(k, [2, 0]),
    ];
    let want = [
        pairs[0][0],
        pairs[1][0],
        pairs[2][0],
        pairs[0][1],
        pairs[1][1],
    ];
    assert_eq!(got, want);
    // Unlike the partitionable layout, the words depend on the draw size.
    let first_of_4 = O.random_bits(k, 32, &[4]).unwrap().to_vec::<u32>().unwrap()[0];
    assert_ne!(first_of_4, got[0]);
    // Large (parallel) draws equal the per-element definition.
    let big = O.uniform(k, &[200_001], 0.0, 1.0).unwrap();
    let small: Vec<f32> = (0..200_001u64)
        .step_by(9_973)
        .map(|i| {
            let half = 100_001u64;
            let w = if i < half {
                let j = half + i;
                threefry2x32(k, [i as u32, if j < 200_001 { j as u32 } else { 0 }])[0]
            } else {
                threefry2x32(k, [(i - half) as u32, i as u32])[1]
            };
            f32::from_bits((w >> 9) | 0x3F80_0000) - 1.0
        })
        .collect();
    let bv = big.as_slice::<f32>().unwrap();
    let picked: Vec<f32> = (0..200_001usize).step_by(9_973).map(|i| bv[i]).collect();
    assert_eq!(picked, small);
}

#[test]
fn bits_shape_and_widths() {
    let k = key_from_seed(0);
    assert_eq!(O.random_bits(k, 8, &[2, 3]).unwrap().shape(), &[2, 3]);
    assert_eq!(O.random_bits(k, 32, &[]).unwrap().size(), 1);
    assert_eq!(O.random_bits(k, 16, &[0]).unwrap().size(), 0);
    assert_eq!(O.random_bits(k, 64, &[2]).unwrap_err().code, ErrorCode::Arg);
    // Partitionable through the same API equals the free functions.
    assert_eq!(
        Layout::Partitionable.split(k, 3).unwrap(),
        flaxen_core::prng::split(k, 3)
    );
}
