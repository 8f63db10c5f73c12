//! Deterministic fuzzing of the weights-file parsers (issue 11, "hostile files"): for each of
//! safetensors and Flax msgpack, more than 10,000 inputs (mutations of valid files, random token
//! streams, crafted attacks: huge lengths, overflowing shape products, 100k-deep nesting,
//! offsets out of range, duplicate keys, non-UTF-8, sizes near 2^63). Every input must end in Ok
//! or in an Err with a file code, never a panic (each runs under `catch_unwind`), within 1 s,
//! and without allocating far more than its own size: a counting global allocator measures the
//! largest single allocation and the peak of live bytes during each parse.
//!
//! The allocation bounds are linear in the input, with the constant of the tree each parser
//! builds (it cannot be below 1: a one-byte msgpack `nil` or `0` is a node of its own):
//! * safetensors: largest allocation <= max(64 KiB, 8 x input). The worst case is a shape of
//!   many 1-dimensions (`[1,1,1,...]`: 2 bytes of JSON per 8-byte `usize`, and the vector's
//!   doubling growth may reserve up to twice that).
//! * msgpack: largest allocation <= max(64 KiB, 32 x input). A container's elements are
//!   reserved at once (`count` is first checked against the bytes left, one byte per element, two
//!   per map entry), and a `Value` is 32 bytes (a map entry 56 for 2 input bytes): an array of N
//!   one-byte `nil`s is an N x 32-byte vector. msgpack-python, for comparison, builds an 8-byte
//!   slot plus an object per element.
//! * peak live bytes <= max(256 KiB, 48 x input) for both (the tree plus scratch).
//!
//! What the bounds exclude is the attack: an allocation sized by a length or count field
//! rather than by the bytes actually present (a 5-byte file claiming 2^32 elements).

use flaxen_core::io::msgpack::{self, Array, ArrayData, Value, WriteOptions};
use flaxen_core::io::safetensors::{self as st, TensorEntry};
use flaxen_core::io::{FileDType, FileError};
use flaxen_core::{Error, ErrorCode};
use std::alloc::{GlobalAlloc, Layout, System};
use std::borrow::Cow;
use std::cell::Cell;
use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

// ---- a counting allocator (per thread: the test harness runs tests in parallel) ---------------

struct Counting;

thread_local! {
    static ON: Cell<bool> = const { Cell::new(false) };
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

fn note_alloc(n: usize) {
    let _ = ON.try_with(|on| {
        if on.get() {
            LIVE.with(|l| {
                l.set(l.get() + n as isize);
                PEAK.with(|p| p.set(p.get().max(l.get())));
            });
            LARGEST.with(|m| m.set(m.get().max(n)));
        }
    });
}

fn note_free(n: usize) {
    let _ = ON.try_with(|on| {
        if on.get() {
            LIVE.with(|l| l.set(l.get() - n as isize));
        }
    });
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(l) };
        if !p.is_null() {
            note_alloc(l.size());
        }
        p
    }
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(l) };
        if !p.is_null() {
            note_alloc(l.size());
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) };
        note_free(l.size());
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        let q = unsafe { System.realloc(p, l, new) };
        if !q.is_null() {
            note_free(l.size());
            note_alloc(new);
        }
        q
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[derive(Clone, Copy, Default)]
struct Usage {
    largest: usize,
    peak: usize,
    /// CPU time of this thread (wall time where /proc is missing): other builds share this
    /// machine, and a parse should not fail for waiting on a core.
    time: Duration,
}

/// This thread's CPU time, from /proc/thread-self/schedstat (ns on a CPU, then ns waiting).
fn thread_cpu() -> Option<Duration> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    Some(Duration::from_nanos(
        s.split_whitespace().next()?.parse().ok()?,
    ))
}

/// Runs `f` with the allocation counters on; a panic is returned as Err.
fn measured<R>(f: impl FnOnce() -> R) -> (std::thread::Result<R>, Usage) {
    LIVE.with(|c| c.set(0));
    PEAK.with(|c| c.set(0));
    LARGEST.with(|c| c.set(0));
    let cpu0 = thread_cpu();
    ON.with(|c| c.set(true));
    let t = Instant::now();
    let r = catch_unwind(AssertUnwindSafe(f));
    let wall = t.elapsed();
    ON.with(|c| c.set(false));
    let time = match (cpu0, thread_cpu()) {
        (Some(a), Some(b)) => b.saturating_sub(a),
        _ => wall,
    };
    let u = Usage {
        largest: LARGEST.with(|c| c.get()),
        peak: PEAK.with(|c| c.get()).max(0) as usize,
        time,
    };
    (r, u)
}

// ---- a small deterministic PRNG (splitmix64) ---------------------------------------------------

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
    fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
    fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len())]
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
    /// Up to `max - 1` random bytes.
    fn some_bytes(&mut self, max: usize) -> Vec<u8> {
        let n = self.below(max);
        self.bytes(n)
    }
}

const INTERESTING_U64: [u64; 22] = [
    0,
    1,
    2,
    7,
    8,
    15,
    16,
    255,
    256,
    65535,
    65536,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_ffff,
    0x1_0000_0000,
    100_000_000,
    100_000_001,
    (1 << 62) - 1,
    1 << 62,
    (1 << 63) - 1,
    1 << 63,
    u64::MAX,
];

const INTERESTING_BYTES: [u8; 24] = [
    0x00, 0x01, 0x7f, 0x80, 0xff, 0xc0, 0xc1, 0xc4, 0xc6, 0xc7, 0xc9, 0xcf, 0xd3, 0xd8, 0xd9, 0xdb,
    0xdc, 0xdd, 0xde, 0xdf, b'"', b'\\', b'{', b'[',
];

/// One random byte-level mutation (or a few).
fn mutate(r: &mut Rng, seed: &[u8]) -> Vec<u8> {
    let mut v = seed.to_vec();
    let rounds = 1 + r.below(3);
    for _ in 0..rounds {
        let len = v.len();
        match r.below(10) {
            0 if len > 0 => {
                for _ in 0..1 + r.below(4) {
                    let i = r.below(len);
                    v[i] ^= 1 << r.below(8);
                }
            }
            1 if len > 0 => {
                let i = r.below(len);
                v[i] = r.pick(&INTERESTING_BYTES);
            }
            2 => v.truncate(r.below(len + 1)),
            3 => {
                let i = r.below(len + 1);
                let ins = r.some_bytes(9);
                v.splice(i..i, ins);
            }
            4 if len > 0 => {
                let i = r.below(len);
                let j = (i + 1 + r.below(16)).min(len);
                v.drain(i..j);
            }
            5 if len > 0 => {
                let i = r.below(len);
                let j = (i + 1 + r.below(64)).min(len);
                let piece = v[i..j].to_vec();
                let at = r.below(len + 1);
                v.splice(at..at, piece);
            }
            6 if len >= 8 => {
                // an interesting number, big- or little-endian, 1/2/4/8 bytes wide
                let x = r.pick(&INTERESTING_U64);
                let w = r.pick(&[1usize, 2, 4, 8]);
                let i = r.below(len - w + 1);
                let b = if r.chance(0.5) {
                    x.to_be_bytes()
                } else {
                    x.to_le_bytes()
                };
                let b = if r.chance(0.5) { &b[8 - w..] } else { &b[..w] };
                v[i..i + w].copy_from_slice(b);
            }
            7 => {
                let extra = r.some_bytes(17);
                v.extend_from_slice(&extra);
            }
            8 if len > 0 => {
                let i = r.below(len);
                v[i] = v[i].wrapping_add(r.pick(&[1u8, 255, 2, 254]));
            }
            _ => {
                if len > 0 {
                    let i = r.below(len);
                    v[i] = r.next() as u8;
                }
            }
        }
    }
    v
}

// ---- the harness --------------------------------------------------------------------------------

#[derive(Default)]
struct Report {
    inputs: usize,
    ok: usize,
    codes: BTreeMap<&'static str, usize>,
    worst_largest_ratio: f64,
    largest_alloc: usize,
    largest_alloc_input: usize,
    worst_peak_ratio: f64,
    slowest: Duration,
    slowest_input: String,
    biggest_input: usize,
}

impl Report {
    fn print(&self, name: &str) {
        eprintln!(
            "{name}: {} inputs ({} ok), largest allocation {} B (for a {} B input); over inputs of 64 KiB and more: worst largest allocation / input {:.1}x, worst peak live / input {:.1}x; slowest {:?} ({}), biggest input {} B",
            self.inputs,
            self.ok,
            self.largest_alloc,
            self.largest_alloc_input,
            self.worst_largest_ratio,
            self.worst_peak_ratio,
            self.slowest,
            self.slowest_input,
            self.biggest_input
        );
        eprintln!("  codes: {:?}", self.codes);
    }
}

struct Bounds {
    largest_factor: usize,
    peak_factor: usize,
}

fn check_input<'a, T: 'a>(
    report: &mut Report,
    input: &'a [u8],
    bounds: &Bounds,
    parse: impl FnOnce(&'a [u8]) -> Result<T, Error>,
    then: impl FnOnce(&T, &'a [u8]),
) {
    let (r, u) = measured(|| parse(input));
    let show = || {
        let n = input.len().min(64);
        format!(
            "input of {} bytes starting {:02x?}",
            input.len(),
            &input[..n]
        )
    };
    let r = match r {
        Ok(r) => r,
        Err(p) => {
            let msg = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            panic!("the parser panicked ({msg}) on {}", show());
        }
    };
    assert!(
        u.time < Duration::from_secs(1),
        "{:?} on {}",
        u.time,
        show()
    );
    let n = input.len();
    assert!(
        u.largest <= (64 << 10).max(bounds.largest_factor * n),
        "an allocation of {} bytes for {}",
        u.largest,
        show()
    );
    assert!(
        u.peak <= (256 << 10).max(bounds.peak_factor * n),
        "a peak of {} live bytes for {}",
        u.peak,
        show()
    );
    report.inputs += 1;
    if u.time > report.slowest {
        report.slowest = u.time;
        report.slowest_input = show();
    }
    report.biggest_input = report.biggest_input.max(n);
    if u.largest > report.largest_alloc {
        report.largest_alloc = u.largest;
        report.largest_alloc_input = n;
    }
    if n >= 64 << 10 {
        report.worst_largest_ratio = report.worst_largest_ratio.max(u.largest as f64 / n as f64);
        report.worst_peak_ratio = report.worst_peak_ratio.max(u.peak as f64 / n as f64);
    }
    match r {
        Ok(v) => {
            report.ok += 1;
            then(&v, input);
        }
        Err(e) => {
            let ErrorCode::File(c) = e.code else {
                panic!("error without a file code: {e:?} on {}", show())
            };
            assert!(!e.message.is_empty());
            *report.codes.entry(c.as_str()).or_default() += 1;
        }
    }
}

// ---- safetensors ------------------------------------------------------------------------------

const ST_DTYPES: [&str; 26] = [
    "BOOL",
    "U8",
    "I8",
    "U16",
    "I16",
    "F16",
    "BF16",
    "U32",
    "I32",
    "F32",
    "U64",
    "I64",
    "F64",
    "C64",
    "F8_E5M2",
    "F8_E4M3",
    "F8_E8M0",
    "F8_E4M3FNUZ",
    "F8_E5M2FNUZ",
    "F6_E2M3",
    "F6_E3M2",
    "F4",
    "F128",
    "f32",
    "",
    "C128",
];

const NAMES: [&str; 10] = [
    "a",
    "dense.kernel",
    "a/b.kernel",
    "ü€😀",
    "q\"uo\\te",
    "tab\t\n",
    "",
    "__metadata",
    "0",
    "x.y.z",
];

fn random_valid_safetensors(r: &mut Rng) -> Vec<u8> {
    let n = r.below(6);
    let mut names = Vec::new();
    while names.len() < n {
        let name = format!("{}{}", r.pick(&NAMES), r.below(100));
        if !names.contains(&name) {
            names.push(name);
        }
    }
    let mut owned = Vec::new();
    for name in names {
        let dtype = loop {
            let d = r.pick(&FileDType::ALL);
            if d.safetensors_name().is_some() {
                break d;
            }
        };
        let rank = r.below(4);
        let mut shape: Vec<usize> = (0..rank).map(|_| r.below(5)).collect();
        if st::byte_size(dtype, &shape).is_err() {
            shape = vec![2; rank.max(1)];
            shape[0] = 8;
        }
        let len = st::byte_size(dtype, &shape).unwrap();
        owned.push((name, dtype, shape, r.bytes(len)));
    }
    let entries: Vec<TensorEntry> = owned
        .iter()
        .map(|(n, d, s, b)| TensorEntry {
            name: n,
            dtype: *d,
            shape: s,
            data: b,
        })
        .collect();
    let meta: Option<Vec<(String, String)>> = if r.chance(0.5) {
        Some(
            (0..r.below(3))
                .map(|i| {
                    (
                        format!("k{i}{}", r.pick(&NAMES)),
                        r.pick(&NAMES).to_string(),
                    )
                })
                .collect(),
        )
    } else {
        None
    };
    st::serialize(&entries, meta.as_deref()).unwrap()
}

/// Header-aware mutations: edit the JSON text, then (usually) fix the length field.
fn mutate_safetensors(r: &mut Rng, seed: &[u8]) -> Vec<u8> {
    let n = u64::from_le_bytes(seed[..8].try_into().unwrap()) as usize;
    let header = &seed[8..8 + n];
    let data = &seed[8 + n..];
    let mut h = String::from_utf8(header.to_vec()).unwrap();
    match r.below(8) {
        0 => {
            // a number replaced by an interesting one (near 2^63, 2^64, negative, float)
            let nums: Vec<usize> = h
                .match_indices(|c: char| c.is_ascii_digit())
                .map(|(i, _)| i)
                .collect();
            if let Some(&i) = nums.get(r.below(nums.len().max(1))) {
                let j = i + h[i..].find(|c: char| !c.is_ascii_digit()).unwrap_or(0);
                let x = r.pick(&INTERESTING_U64).to_string();
                let rep = match r.below(6) {
                    0 => format!("-{x}"),
                    1 => format!("{x}.5"),
                    2 => "18446744073709551616".into(),
                    3 => "1e400".into(),
                    4 => (j as u64 + r.below(3) as u64).to_string(),
                    _ => x,
                };
                h.replace_range(i..j.max(i), &rep);
            }
        }
        1 => {
            // a dtype name replaced
            if let Some(i) = h.find("\"dtype\":\"") {
                let s = i + 9;
                let e = s + h[s..].find('"').unwrap();
                h.replace_range(s..e, r.pick(&ST_DTYPES));
            }
        }
        2 => {
            // an entry duplicated (same name: a duplicate key)
            if let (Some(s), Some(e)) = (h.find("},\"").map(|i| i + 2), h.rfind('}')) {
                if s < e {
                    let piece = h[s..e].to_string();
                    h.insert_str(e, &format!(",{piece}"));
                }
            }
        }
        3 => {
            // a shape made huge or long
            if let Some(i) = h.find("\"shape\":[") {
                let s = i + 9;
                let dims = match r.below(4) {
                    0 => "4294967296,4294967296,4".to_string(),
                    1 => vec!["1"; 1 + r.below(2000)].join(","),
                    2 => "9223372036854775807,2".into(),
                    _ => format!("{}", u64::MAX),
                };
                h.insert_str(s, &format!("{dims},"));
            }
        }
        4 => {
            // non-UTF-8 or a control byte inside a string
            let mut b = h.into_bytes();
            if !b.is_empty() {
                let i = r.below(b.len());
                b[i] = r.pick(&[0xff, 0xc3, 0x80, 0x00, 0x1f, 0xed]);
            }
            return finish_st(r, b, data);
        }
        5 => {
            // offsets swapped or shifted
            if let Some(i) = h.find("\"data_offsets\":[") {
                let s = i + 16;
                let e = s + h[s..].find(']').unwrap();
                let shift = r.pick(&[1i64, -1, 8, 1 << 40]);
                let parts: Vec<i64> = h[s..e].split(',').filter_map(|x| x.parse().ok()).collect();
                if parts.len() == 2 {
                    let rep = match r.below(3) {
                        0 => format!("{},{}", parts[1], parts[0]),
                        1 => format!("{},{}", parts[0] + shift, parts[1] + shift),
                        _ => format!("{},{}", parts[0], parts[1] + shift),
                    };
                    h.replace_range(s..e, &rep);
                }
            }
        }
        6 => {
            // deep nesting in a field
            let depth = r.pick(&[10usize, 129, 1000, 20_000]);
            if let Some(i) = h.find("\"dtype\"") {
                h.insert_str(
                    i,
                    &format!("\"x\":{}{},", "[".repeat(depth), "]".repeat(depth)),
                );
            }
        }
        _ => {
            let mut b = mutate(r, h.as_bytes());
            b.truncate(b.len().min(1 << 20));
            return finish_st(r, b, data);
        }
    }
    finish_st(r, h.into_bytes(), data)
}

fn finish_st(r: &mut Rng, header: Vec<u8>, data: &[u8]) -> Vec<u8> {
    let n = if r.chance(0.85) {
        header.len() as u64
    } else {
        r.pick(&INTERESTING_U64)
    };
    let mut f = n.to_le_bytes().to_vec();
    f.extend_from_slice(&header);
    f.extend_from_slice(data);
    if r.chance(0.1) {
        f.truncate(r.below(f.len() + 1));
    }
    f
}

fn crafted_safetensors() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let file = |h: &str, data: usize| {
        let mut f = (h.len() as u64).to_le_bytes().to_vec();
        f.extend_from_slice(h.as_bytes());
        f.extend(std::iter::repeat_n(0u8, data));
        f
    };
    for len in 0..8 {
        out.push(vec![b'{'; len]);
    }
    for n in INTERESTING_U64 {
        let mut f = n.to_le_bytes().to_vec();
        f.extend_from_slice(b"{}");
        out.push(f);
    }
    let dims = [
        "0",
        "1",
        "3",
        "4294967296",
        "9223372036854775807",
        "9223372036854775808",
        "18446744073709551615",
        "-1",
        "1.5",
        "\"2\"",
    ];
    let offs = [0u64, 1, 4, 8, 12, 1 << 32, (1 << 63) - 1, 1 << 63, u64::MAX];
    for dt in ST_DTYPES {
        for d in dims {
            for (i, &e) in offs.iter().enumerate() {
                let b = offs[i.saturating_sub(1)];
                let h = format!(
                    "{{\"t\":{{\"dtype\":\"{dt}\",\"shape\":[{d},2],\"data_offsets\":[{b},{e}]}}}}"
                );
                out.push(file(&h, (e as usize).min(16)));
            }
        }
    }
    // duplicates, metadata shapes, nesting, non-UTF-8, holes and overlaps
    for h in [
        "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]}}",
        "{\"__metadata__\":{\"a\":\"1\",\"a\":\"1\"}}",
        "{\"__metadata__\":{\"a\":1}}",
        "{\"__metadata__\":null}",
        "{\"__metadata__\":{}}",
        "{\"__metadata__\":\"x\"}",
        "{\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]},\"b\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[1,3]}}",
        "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},\"b\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[2,3]}}",
        "{\"a\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,0]},\"b\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,0]}}",
    ] {
        for data in [0, 1, 2, 3, 4] {
            out.push(file(h, data));
        }
    }
    for depth in [100, 128, 129, 100_000] {
        out.push(file(
            &format!("{}{}", "[".repeat(depth), "]".repeat(depth)),
            0,
        ));
        out.push(file(&format!("{{\"a\":{}", "{\"a\":".repeat(depth)), 0));
        out.push(file(
            &format!("{{\"__metadata__\":{{\"k\":{}}}}}", "[".repeat(depth)),
            0,
        ));
    }
    // a shape of 100k ones (many small dims), a name of 100k bytes, 10k tensors
    let ones = vec!["1"; 100_000].join(",");
    out.push(file(
        &format!("{{\"a\":{{\"dtype\":\"U8\",\"shape\":[{ones}],\"data_offsets\":[0,1]}}}}"),
        1,
    ));
    out.push(file(
        &format!(
            "{{\"{}\":{{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}}}",
            "n".repeat(100_000)
        ),
        1,
    ));
    let many: Vec<String> = (0..10_000)
        .map(|i| {
            format!(
                "\"t{i}\":{{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[{i},{}]}}",
                i + 1
            )
        })
        .collect();
    out.push(file(&format!("{{{}}}", many.join(",")), 10_000));
    out.push(file(&format!("{{{}}}", many.join(",")), 9_999));
    let mut bad = file(
        "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}",
        1,
    );
    bad[12] = 0xff;
    out.push(bad);
    out
}

fn st_roundtrip(h: &st::Header, file: &[u8]) {
    let entries: Vec<TensorEntry> = h
        .tensors
        .iter()
        .map(|t| TensorEntry {
            name: &t.name,
            dtype: t.dtype,
            shape: &t.shape,
            data: h.bytes(file, t),
        })
        .collect();
    let out = st::serialize(&entries, h.metadata.as_deref()).expect("a parsed file re-serializes");
    let back = st::parse(&out).expect("what we write parses");
    assert_eq!(back.metadata, h.metadata);
    assert_eq!(back.tensors.len(), h.tensors.len());
    for t in &back.tensors {
        let o = h.get(&t.name).unwrap();
        assert_eq!((t.dtype, &t.shape), (o.dtype, &o.shape));
        assert_eq!(back.bytes(&out, t), h.bytes(file, o));
    }
}

#[test]
fn fuzz_safetensors() {
    let mut r = Rng(0x5afe_7e45_0511_0011);
    let bounds = Bounds {
        largest_factor: 8,
        peak_factor: 48,
    };
    let mut report = Report::default();
    let mut seeds: Vec<Vec<u8>> = golden("safetensors");
    for _ in 0..200 {
        seeds.push(random_valid_safetensors(&mut r));
    }
    let go = |report: &mut Report, input: &[u8]| {
        check_input(report, input, &bounds, st::parse, st_roundtrip)
    };
    for s in &seeds {
        go(&mut report, s);
    }
    assert_eq!(report.ok, seeds.len(), "every seed is valid");
    for input in crafted_safetensors() {
        go(&mut report, &input);
    }
    for i in 0..12_000 {
        let seed = &seeds[i % seeds.len()];
        let input = if r.chance(0.5) {
            mutate_safetensors(&mut r, seed)
        } else {
            mutate(&mut r, seed)
        };
        go(&mut report, &input);
    }
    // parse_header with a lying file length
    for s in seeds.iter().take(50) {
        let n = (u64::from_le_bytes(s[..8].try_into().unwrap()) + 8) as usize;
        for len in [
            0u64,
            7,
            n as u64 - 1,
            n as u64,
            s.len() as u64 + 1,
            u64::MAX,
        ] {
            check_input(
                &mut report,
                &s[..n],
                &bounds,
                |b| st::parse_header(b, len),
                |_, _| {},
            );
        }
    }
    report.print("safetensors");
    assert!(report.inputs >= 10_000);
    for code in [
        FileError::SafetensorsHeaderTooSmall,
        FileError::SafetensorsHeaderTooLarge,
        FileError::SafetensorsHeaderLength,
        FileError::SafetensorsInvalidUtf8,
        FileError::SafetensorsInvalidJson,
        FileError::SafetensorsInvalidHeader,
        FileError::SafetensorsDuplicateKey,
        FileError::SafetensorsUnknownDtype,
        FileError::SafetensorsOffsets,
        FileError::SafetensorsOverflow,
        FileError::SafetensorsMisaligned,
        FileError::SafetensorsSizeMismatch,
        FileError::SafetensorsTruncated,
        FileError::SafetensorsTrailingData,
    ] {
        assert!(
            report.codes.contains_key(code.as_str()),
            "the fuzz never reached {code}"
        );
    }
}

fn golden(format: &str) -> Vec<Vec<u8>> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../__test__/golden/weights");
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == format))
        .collect();
    v.sort();
    let out: Vec<Vec<u8>> = v.iter().map(|p| std::fs::read(p).unwrap()).collect();
    assert!(!out.is_empty());
    out
}

// ---- msgpack ----------------------------------------------------------------------------------

fn random_value(r: &mut Rng, depth: usize) -> Value<'static> {
    let leaf = depth >= 4 || r.chance(0.4);
    if !leaf {
        let n = r.below(5);
        return if r.chance(0.7) {
            let mut m = Vec::new();
            for i in 0..n {
                m.push((format!("{}{i}", r.pick(&NAMES)), random_value(r, depth + 1)));
            }
            Value::Map(m)
        } else {
            Value::List((0..n).map(|_| random_value(r, depth + 1)).collect())
        };
    }
    match r.below(10) {
        0 => Value::Nil,
        1 => Value::Bool(r.chance(0.5)),
        2 => {
            let x = r.pick(&INTERESTING_U64);
            if x > i64::MAX as u64 {
                Value::UInt(x)
            } else if r.chance(0.5) {
                Value::Int(-(x as i64))
            } else {
                Value::Int(x as i64)
            }
        }
        3 => Value::Float(f64::from_bits(r.next())),
        4 => Value::Str(r.pick(&NAMES).repeat(1 + r.below(40))),
        5 => Value::Bin(Cow::Owned(r.some_bytes(300))),
        6 => Value::Complex(r.next() as f64, -1.5),
        7 => Value::Ext(Box::new((
            r.pick(&[4i8, -1, 100]),
            Cow::Owned(r.some_bytes(20)),
        ))),
        _ => {
            let dtype = r.pick(&FileDType::ALL);
            let scalar = r.chance(0.2);
            let shape: Vec<usize> = if scalar {
                vec![]
            } else {
                (0..r.below(4)).map(|_| r.below(6)).collect()
            };
            let n = shape.iter().product::<usize>() * dtype.numpy_itemsize() as usize;
            Value::Array(Box::new(Array {
                dtype,
                shape,
                data: ArrayData::Owned(r.bytes(n)),
                scalar,
            }))
        }
    }
}

/// A random msgpack token stream: heads of every type byte with interesting lengths, little
/// actual data.
fn random_tokens(r: &mut Rng) -> Vec<u8> {
    let mut v = Vec::new();
    for _ in 0..1 + r.below(12) {
        let b = r.next() as u8;
        v.push(b);
        let width = match b {
            0xc4 | 0xc7 | 0xcc | 0xd0 | 0xd9 => 1,
            0xc5 | 0xc8 | 0xcd | 0xd1 | 0xda | 0xdc | 0xde => 2,
            0xc6 | 0xc9 | 0xca | 0xce | 0xd2 | 0xdb | 0xdd | 0xdf => 4,
            0xcb | 0xcf | 0xd3 => 8,
            _ => 0,
        };
        let x = r.pick(&INTERESTING_U64).to_be_bytes();
        v.extend_from_slice(&x[8 - width..]);
        if matches!(b, 0xc7..=0xc9 | 0xd4..=0xd8) {
            v.push(r.pick(&[1u8, 2, 3, 0xff, 5]));
        }
        let fill = r.some_bytes(8);
        v.extend_from_slice(&fill);
    }
    v
}

fn ext_bytes(t: u8, payload: &[u8]) -> Vec<u8> {
    let mut v = vec![0xc9];
    v.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    v.push(t);
    v.extend_from_slice(payload);
    v
}

fn crafted_msgpack() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    // deep nesting: lists, maps, mixed, just under and over the limit, and 100k deep
    for depth in [1023usize, 1024, 1025, 100_000] {
        let mut l = vec![0x91; depth];
        l.push(0xc0);
        out.push(l);
        let mut m = Vec::new();
        for _ in 0..depth {
            m.extend_from_slice(&[0x81, 0xa1, b'k']);
        }
        m.push(0x01);
        out.push(m);
        let mut x = Vec::new();
        for i in 0..depth {
            if i % 2 == 0 {
                x.push(0x91);
            } else {
                x.extend_from_slice(&[0x81, 0xa0]);
            }
        }
        out.push(x); // unterminated too
    }
    // 1024 nested arrays each claiming every byte left (alone, each count is plausible;
    // together they are not): nothing may be reserved per level
    for (head, w) in [(0xddu8, 4usize), (0xdc, 2), (0xdf, 4)] {
        let levels = 1000;
        let filler = 60_000usize;
        let total = levels * (1 + w) + filler;
        let mut v = Vec::new();
        for _ in 0..levels {
            let left = (total - v.len() - 1 - w) as u64;
            let n = if head == 0xdf { left / 2 } else { left }.min(if w == 2 {
                0xffff
            } else {
                u64::MAX
            });
            v.push(head);
            v.extend_from_slice(&n.to_be_bytes()[8 - w..]);
            if head == 0xdf {
                v.extend_from_slice(&[0xa0]); // a key, then the next map as its value
            }
        }
        v.extend(std::iter::repeat_n(0xc0, filler));
        out.push(v);
    }
    // huge declared lengths with nothing behind them
    for head in [
        0xc4u8, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf,
    ] {
        for n in [0xffu64, 0xffff, 0x7fff_ffff, 0xffff_ffff, 0x8000_0000] {
            let w = match head {
                0xc4 | 0xc7 | 0xd9 => 1,
                0xc5 | 0xc8 | 0xda | 0xdc | 0xde => 2,
                _ => 4,
            };
            let mut v = vec![head];
            v.extend_from_slice(&n.to_be_bytes()[8 - w..]);
            v.extend_from_slice(&[1, 0xc0, 0xc0]);
            out.push(v);
        }
    }
    // a million elements for real: a list of 1M nils and a map of 500k entries
    let mut big = vec![0xdd];
    big.extend_from_slice(&1_000_000u32.to_be_bytes());
    big.extend(std::iter::repeat_n(0xc0, 1_000_000));
    out.push(big);
    let mut bigm = vec![0xdf];
    bigm.extend_from_slice(&500_000u32.to_be_bytes());
    for i in 0..500_000u32 {
        bigm.extend_from_slice(&[0xce]);
        bigm.extend_from_slice(&i.to_be_bytes());
        bigm.push(0xc0);
    }
    out.push(bigm.clone());
    // (string keys, all distinct)
    let mut bigs = vec![0xdf];
    bigs.extend_from_slice(&100_000u32.to_be_bytes());
    for i in 0..100_000u32 {
        let k = format!("{i:05}");
        bigs.push(0xa5);
        bigs.extend_from_slice(k.as_bytes());
        bigs.push(0xc0);
    }
    out.push(bigs);
    // ndarray payloads: shapes whose product overflows, sizes near 2^63, negative dims
    let dims: [&[u8]; 8] = [
        &[0xcf, 0x80, 0, 0, 0, 0, 0, 0, 0],
        &[0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
        &[0xd3, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
        &[0xd3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
        &[0xce, 0xff, 0xff, 0xff, 0xff],
        &[0x00],
        &[0x02],
        &[0xcb, 0, 0, 0, 0, 0, 0, 0, 0],
    ];
    for a in dims {
        for b in dims {
            for name in ["float32", "bool", "complex128", "object", "bfloat16"] {
                let mut p = vec![0x93, 0x92];
                p.extend_from_slice(a);
                p.extend_from_slice(b);
                p.push(0xa0 | name.len() as u8);
                p.extend_from_slice(name.as_bytes());
                p.extend_from_slice(&[0xc4, 8, 0, 0, 0, 0, 0, 0, 0, 0]);
                out.push(ext_bytes(1, &p));
                out.push(ext_bytes(3, &p));
            }
        }
    }
    // chunked dicts: wrong keys, counts, dtypes, sizes
    let chunk = |n: usize, name: &str| {
        let mut p = vec![0x93, 0x91, n as u8, 0xa0 | name.len() as u8];
        p.extend_from_slice(name.as_bytes());
        p.extend_from_slice(&[0xc4, n as u8]);
        p.extend(std::iter::repeat_n(7u8, n));
        ext_bytes(1, &p)
    };
    let key = |k: &str| {
        let mut v = vec![0xa0 | k.len() as u8];
        v.extend_from_slice(k.as_bytes());
        v
    };
    for shape in [vec![3u8], vec![0xff], vec![0x00], vec![0xc0]] {
        for chunks in [
            vec![("0", 3usize)],
            vec![("1", 3)],
            vec![("0", 1), ("1", 2)],
            vec![("0", 2), ("0", 1)],
            vec![],
        ] {
            let mut v = vec![0x83];
            v.extend(key(msgpack::CHUNKED_KEY));
            v.push(0xc3);
            v.extend(key("shape"));
            v.push(0x81);
            v.extend(key("0"));
            v.extend(&shape);
            v.extend(key("chunks"));
            v.push(0x80 | chunks.len() as u8);
            for (k, n) in &chunks {
                v.extend(key(k));
                v.extend(chunk(*n, "uint8"));
            }
            out.push(v.clone());
            let mut nested = vec![0x81, 0xa1, b'w'];
            nested.extend_from_slice(&v);
            out.push(nested);
        }
    }
    // non-UTF-8 strings and keys, 0xc1, trailing bytes, ints near 2^63
    out.push(vec![0xa2, 0xc3, 0x28]);
    out.push(vec![0x81, 0xa2, 0xed, 0xa0, 0xc0]);
    out.push(vec![0xc1]);
    out.push(vec![0xc0, 0x00]);
    out.push(vec![0xcf, 0x80, 0, 0, 0, 0, 0, 0, 0]);
    out.push(vec![0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0]);
    out
}

fn mp_roundtrip(v: &Value, _input: &[u8]) {
    let a = msgpack::serialize(v).expect("a restored tree serializes");
    let back = msgpack::restore(&a).expect("what we write restores");
    let b = msgpack::serialize(&back).unwrap();
    assert_eq!(a, b, "serialize(restore(serialize(v))) == serialize(v)");
}

#[test]
fn fuzz_msgpack() {
    let mut r = Rng(0xf1a8_0000_5eed_0011);
    let bounds = Bounds {
        largest_factor: 32,
        peak_factor: 48,
    };
    let mut report = Report::default();
    let mut seeds = golden("msgpack");
    for _ in 0..200 {
        let v = random_value(&mut r, 0);
        let opts = WriteOptions {
            max_chunk_size: r.pick(&[1u64, 8, 64, 1 << 30]),
        };
        seeds.push(msgpack::serialize_with(&v, opts).unwrap());
    }
    let go = |report: &mut Report, input: &[u8]| {
        check_input(report, input, &bounds, msgpack::restore, mp_roundtrip)
    };
    for s in &seeds {
        go(&mut report, s);
    }
    assert_eq!(report.ok, seeds.len(), "every seed is valid");
    for input in crafted_msgpack() {
        go(&mut report, &input);
    }
    for _ in 0..2_000 {
        let input = random_tokens(&mut r);
        go(&mut report, &input);
    }
    for i in 0..11_000 {
        let input = mutate(&mut r, &seeds[i % seeds.len()]);
        go(&mut report, &input);
    }
    report.print("msgpack");
    assert!(report.inputs >= 10_000);
    for code in [
        FileError::MsgpackTruncated,
        FileError::MsgpackTrailingData,
        FileError::MsgpackInvalidByte,
        FileError::MsgpackTooDeep,
        FileError::MsgpackInvalidUtf8,
        FileError::MsgpackKeyType,
        FileError::MsgpackDuplicateKey,
        FileError::MsgpackExt,
        FileError::MsgpackUnknownDtype,
        FileError::MsgpackOverflow,
        FileError::MsgpackSizeMismatch,
        FileError::MsgpackChunked,
    ] {
        assert!(
            report.codes.contains_key(code.as_str()),
            "the fuzz never reached {code}"
        );
    }
}

#[test]
fn tree_node_sizes() {
    // The constants the msgpack bound above is derived from.
    assert!(
        std::mem::size_of::<Value>() <= 32,
        "{}",
        std::mem::size_of::<Value>()
    );
    assert!(std::mem::size_of::<(String, Value)>() <= 56);
}
