//! Every validation rule of the weights-file parsers and writers, one crafted input each, with
//! the exact code it must give (the codes are API: the binding puts them on `err.code`).

use flaxen_core::io::msgpack::{self, Array, ArrayData, Value, WriteOptions};
use flaxen_core::io::safetensors::{self as st, TensorEntry};
use flaxen_core::io::{FileDType, FileError};
use flaxen_core::{Error, ErrorCode};
use std::borrow::Cow;

#[track_caller]
fn code<T: std::fmt::Debug>(r: Result<T, Error>) -> &'static str {
    match r {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(e) => {
            assert!(matches!(e.code, ErrorCode::File(_)), "{e:?}");
            assert!(!e.message.is_empty());
            e.code.as_str()
        }
    }
}

// ---- safetensors ------------------------------------------------------------------------------

fn st_file(header: &str, data: &[u8]) -> Vec<u8> {
    let mut f = (header.len() as u64).to_le_bytes().to_vec();
    f.extend_from_slice(header.as_bytes());
    f.extend_from_slice(data);
    f
}

#[test]
fn codes_are_distinct_and_named() {
    let mut seen = std::collections::HashSet::new();
    for &c in FileError::ALL {
        assert!(seen.insert(c.as_str()), "{c:?}");
        assert!(c.as_str().starts_with("E_SAFETENSORS_") || c.as_str().starts_with("E_MSGPACK_"));
        assert_eq!(ErrorCode::File(c).as_str(), c.as_str());
    }
}

#[test]
fn safetensors_header_rules() {
    assert_eq!(code(st::parse(b"")), "E_SAFETENSORS_HEADER_TOO_SMALL");
    assert_eq!(
        code(st::parse(&[2, 0, 0, 0, 0, 0, 0])),
        "E_SAFETENSORS_HEADER_TOO_SMALL"
    );
    let mut f = 100_000_001u64.to_le_bytes().to_vec();
    f.extend_from_slice(b"{}");
    assert_eq!(code(st::parse(&f)), "E_SAFETENSORS_HEADER_TOO_LARGE");
    assert_eq!(
        code(st::parse(&u64::MAX.to_le_bytes())),
        "E_SAFETENSORS_HEADER_TOO_LARGE"
    );
    assert_eq!(
        code(st::parse(&(1u64 << 63).to_le_bytes())),
        "E_SAFETENSORS_HEADER_TOO_LARGE"
    );
    let mut f = 100u64.to_le_bytes().to_vec();
    f.extend_from_slice(b"{}");
    assert_eq!(code(st::parse(&f)), "E_SAFETENSORS_HEADER_LENGTH");
    let mut f = 4u64.to_le_bytes().to_vec();
    f.extend_from_slice(&[b'{', 0xff, 0xfe, b'}']);
    assert_eq!(code(st::parse(&f)), "E_SAFETENSORS_INVALID_UTF8");
    for bad in ["", "{", "{}x", "{\"a\":}", "nul", "{\"a\" 1}", "{}\u{0}"] {
        assert_eq!(
            code(st::parse(&st_file(bad, b""))),
            "E_SAFETENSORS_INVALID_JSON",
            "{bad:?}"
        );
    }
    // Deep JSON: ignored in an unknown field (as the reference's derived deserializer does, and
    // serde_json skips it without recursing), refused where a value is expected.
    let deep = format!(
        "{{\"a\":{{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4],\"x\":{}{}}}}}",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    st::parse(&st_file(&deep, &[0; 4])).unwrap();
    let deep = format!(
        "{{\"__metadata__\":{{\"k\":{}{}}}}}",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    assert_eq!(
        code(st::parse(&st_file(&deep, &[]))),
        "E_SAFETENSORS_INVALID_HEADER"
    );
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert_eq!(
        code(st::parse(&st_file(&deep, &[]))),
        "E_SAFETENSORS_INVALID_HEADER"
    );
    let deep = format!("{{\"a\":{}", "{\"a\":".repeat(100_000));
    assert_eq!(
        code(st::parse(&st_file(&deep, &[]))),
        "E_SAFETENSORS_INVALID_JSON",
        "unterminated"
    );
    for bad in [
        "[]",
        "1",
        "{\"a\":5}",
        "{\"a\":[\"F32\",[1],[0,4]]}",
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}",
        "{\"a\":{\"shape\":[1],\"data_offsets\":[0,4]}}",
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}",
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[1.0],\"data_offsets\":[0,4]}}",
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[18446744073709551616],\"data_offsets\":[0,4]}}",
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]}}",
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}",
        "{\"a\":{\"dtype\":\"F32\",\"shape\":1,\"data_offsets\":[0,4]}}",
        "{\"a\":{\"dtype\":32,\"shape\":[1],\"data_offsets\":[0,4]}}",
        "{\"__metadata__\":{\"k\":1}}",
        "{\"__metadata__\":[]}",
    ] {
        assert_eq!(
            code(st::parse(&st_file(bad, &[0; 4]))),
            "E_SAFETENSORS_INVALID_HEADER",
            "{bad}"
        );
    }
    for bad in [
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
        "{\"__metadata__\":{},\"__metadata__\":{}}",
        "{\"__metadata__\":{\"k\":\"1\",\"k\":\"2\"}}",
        "{\"a\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
    ] {
        let data = if bad.contains("[4,8]") { &[0u8; 8][..] } else if bad.contains("[0,4]") { &[0u8; 4][..] } else { &[][..] };
        assert_eq!(code(st::parse(&st_file(bad, data))), "E_SAFETENSORS_DUPLICATE_KEY", "{bad}");
    }
    for bad in ["F128", "f32", "", "Float32", "C128", "F8_E4M3FN"] {
        let h = format!("{{\"a\":{{\"dtype\":\"{bad}\",\"shape\":[1],\"data_offsets\":[0,4]}}}}");
        assert_eq!(
            code(st::parse(&st_file(&h, &[0; 4]))),
            "E_SAFETENSORS_UNKNOWN_DTYPE",
            "{bad}"
        );
    }
}

#[test]
fn safetensors_offset_and_size_rules() {
    let t = |name: &str, dt: &str, shape: &str, b: u64, e: u64| {
        format!("\"{name}\":{{\"dtype\":\"{dt}\",\"shape\":{shape},\"data_offsets\":[{b},{e}]}}")
    };
    let file = |entries: &[String], n: usize| {
        st_file(&format!("{{{}}}", entries.join(",")), &vec![0u8; n])
    };
    // holes, overlaps, end < begin, not starting at 0
    for (entries, n) in [
        (
            vec![t("a", "F32", "[1]", 0, 4), t("b", "F32", "[1]", 8, 12)],
            12,
        ),
        (
            vec![t("a", "F32", "[2]", 0, 8), t("b", "F32", "[1]", 4, 8)],
            8,
        ),
        (vec![t("a", "F32", "[0]", 4, 0)], 4),
        (vec![t("a", "F32", "[1]", 4, 8)], 8),
        (
            vec![t("a", "F32", "[1]", 0, 4), t("b", "F32", "[1]", 0, 4)],
            4,
        ),
    ] {
        assert_eq!(
            code(st::parse(&file(&entries, n))),
            "E_SAFETENSORS_OFFSETS",
            "{entries:?}"
        );
    }
    // overflowing shape products and bit counts
    for shape in [
        "[4294967296,4294967296,2]",
        "[18446744073709551615,2]",
        "[4611686018427387904]",
    ] {
        let f = file(&[t("a", "F32", shape, 0, 4)], 4);
        assert_eq!(code(st::parse(&f)), "E_SAFETENSORS_OVERFLOW", "{shape}");
    }
    // 0 in the shape makes any product 0, as the reference computes it (no overflow).
    let f = file(&[t("a", "F32", "[18446744073709551615,0]", 0, 0)], 0);
    assert_eq!(st::parse(&f).unwrap().tensors[0].numel(), 0);
    assert_eq!(
        code(st::parse(&file(&[t("a", "F4", "[3]", 0, 2)], 2))),
        "E_SAFETENSORS_MISALIGNED"
    );
    assert_eq!(
        code(st::parse(&file(&[t("a", "F6_E2M3", "[2]", 0, 2)], 2))),
        "E_SAFETENSORS_MISALIGNED"
    );
    st::parse(&file(&[t("a", "F4", "[2,3]", 0, 3)], 3)).unwrap();
    st::parse(&file(&[t("a", "F6_E3M2", "[4]", 0, 3)], 3)).unwrap();
    assert_eq!(
        code(st::parse(&file(&[t("a", "F32", "[2]", 0, 4)], 4))),
        "E_SAFETENSORS_SIZE_MISMATCH"
    );
    assert_eq!(
        code(st::parse(&file(&[t("a", "F32", "[]", 0, 8)], 8))),
        "E_SAFETENSORS_SIZE_MISMATCH"
    );
    assert_eq!(
        code(st::parse(&file(&[t("a", "F32", "[2]", 0, 8)], 7))),
        "E_SAFETENSORS_TRUNCATED"
    );
    let big = 1u64 << 60;
    let f = file(&[t("a", "U8", &format!("[{big}]"), 0, big)], 0);
    assert_eq!(code(st::parse(&f)), "E_SAFETENSORS_TRUNCATED");
    assert_eq!(
        code(st::parse(&file(&[t("a", "F32", "[2]", 0, 8)], 9))),
        "E_SAFETENSORS_TRAILING_DATA"
    );
    assert_eq!(
        code(st::parse(&file(&[], 1))),
        "E_SAFETENSORS_TRAILING_DATA"
    );
}

#[test]
fn safetensors_accepts_what_the_reference_accepts() {
    // whitespace around the JSON, unknown fields, empty tensors sharing an offset, any order,
    // metadata null, escaped names
    let h = " \n{\"z\":{\"data_offsets\":[0,0],\"dtype\":\"F32\",\"shape\":[0,3],\"extra\":{\"x\":[1,2]}},\
             \"y\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]},\
             \"b\":{\"dtype\":\"I8\",\"shape\":[],\"data_offsets\":[4,5]},\
             \"a\\u0041\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\
             \"__metadata__\":null}   ";
    let f = st_file(h, &[0, 0, 128, 63, 7]);
    let p = st::parse(&f).unwrap();
    assert_eq!(p.metadata, None);
    let names: Vec<&str> = p.tensors.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["z", "y", "b", "aA"]);
    assert_eq!(p.bytes(&f, p.get("aA").unwrap()), &1f32.to_le_bytes());
    assert_eq!(p.bytes(&f, p.get("b").unwrap()), &[7]);
    let order: Vec<&str> = p.in_data_order().iter().map(|t| t.name.as_str()).collect();
    assert_eq!(&order[2..], ["aA", "b"]);
    // parse_header from a prefix of the file and its length
    let q = st::parse_header(&f[..8 + h.len()], f.len() as u64).unwrap();
    let short = st::parse_header(&f[..10], f.len() as u64).unwrap_err();
    assert_eq!(
        short.code,
        ErrorCode::Arg,
        "a short head is the caller's error: {short:?}"
    );
    assert_eq!(p, q);
    assert_eq!(
        code(st::parse_header(&f[..8 + h.len()], f.len() as u64 + 1)),
        "E_SAFETENSORS_TRAILING_DATA"
    );
}

#[test]
fn safetensors_writer_rules() {
    let e = |name: &'static str, dtype, shape: &'static [usize], data: &'static [u8]| TensorEntry {
        name,
        dtype,
        shape,
        data,
    };
    assert_eq!(
        code(st::serialize(
            &[e("a", FileDType::F32, &[2], &[0; 4])],
            None
        )),
        "E_SAFETENSORS_SIZE_MISMATCH"
    );
    assert_eq!(
        code(st::serialize(
            &[
                e("a", FileDType::F32, &[1], &[0; 4]),
                e("a", FileDType::I8, &[], &[0])
            ],
            None
        )),
        "E_SAFETENSORS_DUPLICATE_KEY"
    );
    assert_eq!(
        code(st::serialize(
            &[e("__metadata__", FileDType::U8, &[], &[0])],
            None
        )),
        "E_SAFETENSORS_INVALID_HEADER"
    );
    assert_eq!(
        code(st::serialize(
            &[e("c", FileDType::C128, &[], &[0; 16])],
            None
        )),
        "E_SAFETENSORS_UNKNOWN_DTYPE"
    );
    assert_eq!(
        code(st::serialize(&[e("a", FileDType::F4, &[3], &[0; 2])], None)),
        "E_SAFETENSORS_MISALIGNED"
    );
    assert_eq!(
        code(st::serialize(
            &[e("a", FileDType::F32, &[usize::MAX, 2], &[])],
            None
        )),
        "E_SAFETENSORS_OVERFLOW"
    );
    let meta = vec![
        ("k".to_string(), "1".to_string()),
        ("k".to_string(), "2".to_string()),
    ];
    assert_eq!(
        code(st::serialize(&[], Some(&meta))),
        "E_SAFETENSORS_DUPLICATE_KEY"
    );
    // The reference crate's own test vector (safetensors/src/tensor.rs, test_serialization).
    let data: Vec<u8> = [0f32, 1., 2., 3., 4., 5.]
        .iter()
        .flat_map(|f| f.to_le_bytes())
        .collect();
    let out = st::serialize(
        &[TensorEntry {
            name: "attn.0",
            dtype: FileDType::F32,
            shape: &[1, 2, 3],
            data: &data,
        }],
        None,
    )
    .unwrap();
    let mut want = vec![64, 0, 0, 0, 0, 0, 0, 0];
    want.extend_from_slice(
        b"{\"attn.0\":{\"dtype\":\"F32\",\"shape\":[1,2,3],\"data_offsets\":[0,24]}}",
    );
    want.extend_from_slice(&data);
    assert_eq!(out, want);
    // Round trip with every safetensors dtype.
    let bytes: Vec<u8> = (0..64u8).collect();
    let mut entries = Vec::new();
    let names: Vec<String> = FileDType::ALL.iter().map(|d| format!("t_{d}")).collect();
    for (d, n) in FileDType::ALL.iter().zip(&names) {
        if d.safetensors_name().is_none() {
            continue;
        }
        let shape: &'static [usize] = &[2, 4];
        let len = st::byte_size(*d, shape).unwrap();
        entries.push(TensorEntry {
            name: n,
            dtype: *d,
            shape,
            data: &bytes[..len],
        });
    }
    let f = st::serialize(&entries, Some(&[("format".into(), "flax".into())])).unwrap();
    let p = st::parse(&f).unwrap();
    assert_eq!(p.tensors.len(), entries.len());
    for e in &entries {
        let t = p.get(e.name).unwrap();
        assert_eq!(
            (t.dtype, &t.shape[..], p.bytes(&f, t)),
            (e.dtype, e.shape, e.data)
        );
    }
    // F64/I64/U64 first, then 4-byte, 2-byte, 1-byte and sub-byte dtypes, BOOL last.
    let order: Vec<&str> = p.tensors.iter().map(|t| &t.name[2..]).collect();
    assert_eq!(order[..4], ["U64", "I64", "F64", "C64"]);
    assert_eq!(*order.last().unwrap(), "BOOL");
    assert_eq!(p.header_len % 8, 0);
}

// ---- msgpack ----------------------------------------------------------------------------------

fn arr(dtype: FileDType, shape: &[usize], data: &[u8]) -> Vec<u8> {
    // ext 1 payload [shape, name, bin] written by hand
    let mut p = vec![0x93, 0x90 | shape.len() as u8];
    for &d in shape {
        p.push(0xcd);
        p.extend_from_slice(&(d as u16).to_be_bytes());
    }
    let n = dtype.numpy_name();
    p.push(0xa0 | n.len() as u8);
    p.extend_from_slice(n.as_bytes());
    p.push(0xc4);
    p.push(data.len() as u8);
    p.extend_from_slice(data);
    ext(1, &p)
}

fn ext(t: u8, payload: &[u8]) -> Vec<u8> {
    let mut v = vec![0xc7, payload.len() as u8, t];
    v.extend_from_slice(payload);
    v
}

fn map(entries: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut v = vec![0x80 | entries.len() as u8];
    for (k, x) in entries {
        v.push(0xa0 | k.len() as u8);
        v.extend_from_slice(k.as_bytes());
        v.extend_from_slice(x);
    }
    v
}

#[test]
fn msgpack_structure_rules() {
    assert_eq!(code(msgpack::restore(b"")), "E_MSGPACK_TRUNCATED");
    assert_eq!(code(msgpack::restore(&[0xc1])), "E_MSGPACK_INVALID_BYTE");
    assert_eq!(
        code(msgpack::restore(&[0xc0, 0xc0])),
        "E_MSGPACK_TRAILING_DATA"
    );
    assert_eq!(
        code(msgpack::restore(&[0xdd, 0xff, 0xff, 0xff, 0xff])),
        "E_MSGPACK_TRUNCATED"
    );
    assert_eq!(
        code(msgpack::restore(&[
            0xdf, 0xff, 0xff, 0xff, 0xff, 0xc0, 0xc0
        ])),
        "E_MSGPACK_TRUNCATED"
    );
    assert_eq!(
        code(msgpack::restore(&[0xdb, 0xff, 0xff, 0xff, 0xff, b'a'])),
        "E_MSGPACK_TRUNCATED"
    );
    assert_eq!(
        code(msgpack::restore(&[0xc6, 0x80, 0, 0, 0])),
        "E_MSGPACK_TRUNCATED"
    );
    assert_eq!(
        code(msgpack::restore(&[0xc9, 0xff, 0xff, 0xff, 0xff, 1])),
        "E_MSGPACK_TRUNCATED"
    );
    assert_eq!(code(msgpack::restore(&[0xcf, 0, 0])), "E_MSGPACK_TRUNCATED");
    assert_eq!(code(msgpack::restore(&[0x92, 0xc0])), "E_MSGPACK_TRUNCATED");
    assert_eq!(
        code(msgpack::restore(&[0x81, 0x01, 0xc0])),
        "E_MSGPACK_KEY_TYPE"
    );
    assert_eq!(
        code(msgpack::restore(&[0x81, 0x90, 0xc0])),
        "E_MSGPACK_KEY_TYPE"
    );
    assert_eq!(
        code(msgpack::restore(&[0x81, 0xc4, 0x01, b'a', 0xc0])),
        "E_MSGPACK_KEY_TYPE"
    );
    assert_eq!(
        code(msgpack::restore(&[
            0x82, 0xa1, b'a', 0xc0, 0xa1, b'a', 0x01
        ])),
        "E_MSGPACK_DUPLICATE_KEY"
    );
    let mut big = vec![0x8a];
    for k in [b'a', b'b', b'c', b'd', b'e', b'f', b'g', b'h', b'i', b'c'] {
        big.extend_from_slice(&[0xa1, k, 0xc0]);
    }
    assert_eq!(code(msgpack::restore(&big)), "E_MSGPACK_DUPLICATE_KEY");
    assert_eq!(
        code(msgpack::restore(&[0xa2, 0xc3, 0x28])),
        "E_MSGPACK_INVALID_UTF8"
    );
    assert_eq!(
        code(msgpack::restore(&[0x81, 0xa1, 0xff, 0xc0])),
        "E_MSGPACK_INVALID_UTF8"
    );

    // 1024 nested containers restore (msgpack-python's limit), 1025 do not, empty or not.
    let nest = |n: usize, tail: &[u8]| {
        let mut v = vec![0x91; n];
        v.extend_from_slice(tail);
        v
    };
    msgpack::restore(&nest(1024, &[0xc0])).unwrap();
    assert_eq!(
        code(msgpack::restore(&nest(1024, &[0x90]))),
        "E_MSGPACK_TOO_DEEP"
    );
    assert_eq!(
        code(msgpack::restore(&nest(1024, &[0x80]))),
        "E_MSGPACK_TOO_DEEP"
    );
    assert_eq!(
        code(msgpack::restore(&nest(100_000, &[0xc0]))),
        "E_MSGPACK_TOO_DEEP"
    );
    // Nested containers whose counts are each plausible alone but not together: refused at the
    // second level (no vector reserved per level); the same nesting with honest counts parses.
    let mut lie = Vec::new();
    for _ in 0..1000 {
        lie.extend_from_slice(&[0xdc, 0x27, 0x10]); // 10,000 elements, again and again
    }
    lie.extend(std::iter::repeat_n(0xc0, 10_000));
    assert_eq!(code(msgpack::restore(&lie)), "E_MSGPACK_TRUNCATED");
    let mut honest = Vec::new();
    for _ in 0..1000 {
        honest.extend_from_slice(&[0x93, 0xc0]); // [nil, <next>, 1]
    }
    honest.push(0xc0);
    honest.extend(std::iter::repeat_n(0x01, 1000));
    let mut v = &msgpack::restore(&honest).unwrap();
    for _ in 0..999 {
        let Value::List(l) = v else { panic!() };
        assert_eq!((l.len(), &l[0], &l[2]), (3, &Value::Nil, &Value::Int(1)));
        v = &l[1];
    }
    let mut maps = Vec::new();
    for _ in 0..100_000 {
        maps.extend_from_slice(&[0x81, 0xa0]);
    }
    maps.push(0xc0);
    assert_eq!(code(msgpack::restore(&maps)), "E_MSGPACK_TOO_DEEP");
}

#[test]
fn msgpack_scalars_read_as_python_does() {
    let v = msgpack::restore(&[
        0x9a, 0xca, 0x3f, 0xc0, 0, 0, // float32 1.5 -> float
        0xd3, 0, 0, 0, 0, 0, 0, 0, 5, // int64 5
        0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // u64 max
        0xd0, 0x80, 0xe0, 0xc2, 0xc3, 0xc0, // -128, -32, false, true, nil
        0xd4, 0x05, 0x07, // unknown ext 5
        0xd6, 0xff, 0, 0, 0, 1, // ext -1 (timestamp) kept raw
    ])
    .unwrap();
    let Value::List(l) = v else { panic!() };
    assert_eq!(l[0], Value::Float(1.5));
    assert_eq!(l[1], Value::Int(5));
    assert_eq!(l[2], Value::UInt(u64::MAX));
    assert_eq!(
        &l[3..7],
        &[
            Value::Int(-128),
            Value::Int(-32),
            Value::Bool(false),
            Value::Bool(true)
        ]
    );
    assert_eq!(l[7], Value::Nil);
    assert_eq!(l[8], Value::Ext(Box::new((5, Cow::Borrowed(&[7][..])))));
    assert_eq!(
        l[9],
        Value::Ext(Box::new((-1, Cow::Borrowed(&[0, 0, 0, 1][..]))))
    );
    // re-written as msgpack-python would: float64, smallest ints
    let out = msgpack::serialize(&Value::List(l)).unwrap();
    assert_eq!(
        &out[..12],
        &[0x9a, 0xcb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0, 0x05, 0xcf]
    );
}

#[test]
fn msgpack_ext_rules() {
    let f32s: Vec<u8> = [1f32, 2.].iter().flat_map(|f| f.to_le_bytes()).collect();
    let file = arr(FileDType::F32, &[2], &f32s);
    let ok = msgpack::restore(&file).unwrap();
    let Value::Array(a) = &ok else { panic!() };
    assert_eq!(
        (a.dtype, &a.shape[..], a.scalar),
        (FileDType::F32, &[2][..], false)
    );
    // The spec's worked example: np.float32([1.0, 2.0]).
    let mut want = vec![0xc7, 0x15, 0x01, 0x93, 0x91, 0x02, 0xa7];
    want.extend_from_slice(b"float32");
    want.extend_from_slice(&[0xc4, 0x08]);
    want.extend_from_slice(&f32s);
    assert_eq!(msgpack::serialize(&ok).unwrap(), want);

    assert_eq!(
        code(msgpack::restore(&ext(1, &[0x92, 0x90, 0xa0]))),
        "E_MSGPACK_EXT"
    );
    assert_eq!(
        code(msgpack::restore(&ext(
            1,
            &[0x93, 0x91, 0xff, 0xa4, b'i', b'n', b't', b'8', 0xc4, 0]
        ))),
        "E_MSGPACK_EXT"
    );
    assert_eq!(
        code(msgpack::restore(&ext(
            1,
            &[0x93, 0x91, 0xc0, 0xa4, b'i', b'n', b't', b'8', 0xc4, 0]
        ))),
        "E_MSGPACK_EXT"
    );
    assert_eq!(
        code(msgpack::restore(&ext(1, &[0x93, 0x90, 0x01, 0xc4, 0]))),
        "E_MSGPACK_EXT"
    );
    assert_eq!(
        code(msgpack::restore(&ext(
            1,
            &[0x93, 0x90, 0xa4, b'i', b'n', b't', b'8', 0xc0]
        ))),
        "E_MSGPACK_EXT"
    );
    assert_eq!(
        code(msgpack::restore(&ext(
            1,
            &[0x93, 0x90, 0xa4, b'i', b'n', b't', b'8', 0xc4, 1, 7, 0xc0]
        ))),
        "E_MSGPACK_EXT"
    );
    assert_eq!(
        code(msgpack::restore(&ext(
            1,
            &[0x93, 0xdd, 0xff, 0xff, 0xff, 0xff]
        ))),
        "E_MSGPACK_EXT"
    );
    // names numpy would not restore, or we do not read
    for name in ["object", "float", "<f4", "str96", "int4", "Float32", ""] {
        let mut p = vec![0x93, 0x90, 0xa0 | name.len() as u8];
        p.extend_from_slice(name.as_bytes());
        p.extend_from_slice(&[0xc4, 0]);
        assert_eq!(
            code(msgpack::restore(&ext(1, &p))),
            "E_MSGPACK_UNKNOWN_DTYPE",
            "{name}"
        );
    }
    // name and data as str/bin either way (msgpack-python reads the payload with raw=True)
    let file = ext(3, &[0x93, 0x90, 0xc4, 4, b'i', b'n', b't', b'8', 0xa1, 7]);
    let v = msgpack::restore(&file).unwrap();
    let Value::Array(a) = v else { panic!() };
    assert_eq!(
        (a.dtype, a.scalar, a.data.contiguous()),
        (FileDType::I8, true, Some(&[7u8][..]))
    );
    let mut p = vec![
        0x93, 0x93, 0xcf, 0x10, 0, 0, 0, 0, 0, 0, 0, 0xcf, 0x10, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xa4,
    ];
    p.extend_from_slice(b"int8\xc4\x00");
    assert_eq!(code(msgpack::restore(&ext(1, &p))), "E_MSGPACK_OVERFLOW");
    assert_eq!(
        code(msgpack::restore(&arr(FileDType::F32, &[3], &f32s))),
        "E_MSGPACK_SIZE_MISMATCH"
    );
    assert_eq!(
        code(msgpack::restore(&arr(FileDType::F32, &[2], &f32s[..7]))),
        "E_MSGPACK_SIZE_MISMATCH"
    );
    // complex
    let mut c = vec![0x92, 0xcb];
    c.extend_from_slice(&1.5f64.to_bits().to_be_bytes());
    c.push(0x02);
    assert_eq!(
        msgpack::restore(&ext(2, &c)).unwrap(),
        Value::Complex(1.5, 2.0)
    );
    assert_eq!(
        code(msgpack::restore(&ext(2, &[0x91, 0x01]))),
        "E_MSGPACK_EXT"
    );
    assert_eq!(
        code(msgpack::restore(&ext(2, &[0x92, 0x01, 0xa0]))),
        "E_MSGPACK_EXT"
    );
    assert_eq!(
        code(msgpack::restore(&ext(2, &[0x92, 0x01, 0x01, 0x01]))),
        "E_MSGPACK_EXT"
    );
}

#[test]
fn msgpack_chunked_rules() {
    let c = |d: &[u8]| arr(FileDType::U8, &[d.len()], d);
    let good = map(&[
        (msgpack::CHUNKED_KEY, vec![0xc3]),
        ("shape", map(&[("0", vec![2]), ("1", vec![3])])),
        ("chunks", map(&[("1", c(&[4, 5, 6])), ("0", c(&[1, 2, 3]))])),
    ]);
    let v = msgpack::restore(&good).unwrap();
    let Value::Array(a) = &v else { panic!("{v:?}") };
    assert_eq!(a.shape, vec![2, 3]);
    assert_eq!(
        &a.data.to_cow()[..],
        &[1, 2, 3, 4, 5, 6],
        "chunks in index order"
    );
    assert!(matches!(a.data, ArrayData::Chunked(ref p) if p.len() == 2));
    // nested in a dict: reassembled; inside a list: left alone (as Flax)
    let nested = map(&[
        ("w", good.clone()),
        ("l", [vec![0x91], good.clone()].concat()),
    ]);
    let v = msgpack::restore(&nested).unwrap();
    assert!(matches!(v.get("w"), Some(Value::Array(_))));
    assert!(matches!(v.get("l"), Some(Value::List(l)) if matches!(l[0], Value::Map(_))));

    let bad = |entries: &[(&str, Vec<u8>)]| code(msgpack::restore(&map(entries)));
    let k = || (msgpack::CHUNKED_KEY, vec![0xc3]);
    let shape = || ("shape", map(&[("0", vec![6])]));
    assert_eq!(
        bad(&[k(), ("chunks", map(&[("0", c(&[1; 6]))]))]),
        "E_MSGPACK_CHUNKED"
    );
    assert_eq!(bad(&[k(), shape()]), "E_MSGPACK_CHUNKED");
    assert_eq!(
        bad(&[k(), shape(), ("chunks", map(&[]))]),
        "E_MSGPACK_CHUNKED"
    );
    assert_eq!(
        bad(&[k(), shape(), ("chunks", map(&[("1", c(&[1; 6]))]))]),
        "E_MSGPACK_CHUNKED"
    );
    assert_eq!(
        bad(&[k(), shape(), ("chunks", map(&[("00", c(&[1; 6]))]))]),
        "E_MSGPACK_CHUNKED"
    );
    assert_eq!(
        bad(&[k(), shape(), ("chunks", vec![0x91, 0x01])]),
        "E_MSGPACK_CHUNKED"
    );
    assert_eq!(
        bad(&[k(), shape(), ("chunks", map(&[("0", vec![0x01])]))]),
        "E_MSGPACK_CHUNKED"
    );
    assert_eq!(
        bad(&[
            k(),
            ("shape", map(&[("0", vec![0xff])])),
            ("chunks", map(&[("0", c(&[1; 6]))]))
        ]),
        "E_MSGPACK_CHUNKED"
    );
    let i8c = arr(FileDType::I8, &[3], &[1; 3]);
    assert_eq!(
        bad(&[
            k(),
            shape(),
            ("chunks", map(&[("0", c(&[1; 3])), ("1", i8c)]))
        ]),
        "E_MSGPACK_CHUNKED"
    );
    let two_d = arr(FileDType::U8, &[2, 3], &[1; 6]);
    assert_eq!(
        bad(&[k(), shape(), ("chunks", map(&[("0", two_d)]))]),
        "E_MSGPACK_CHUNKED"
    );
    assert_eq!(
        bad(&[k(), shape(), ("chunks", map(&[("0", c(&[1; 5]))]))]),
        "E_MSGPACK_SIZE_MISMATCH"
    );
}

fn owned(dtype: FileDType, shape: &[usize], data: Vec<u8>) -> Value<'static> {
    Value::Array(Box::new(Array {
        dtype,
        shape: shape.to_vec(),
        data: ArrayData::Owned(data),
        scalar: false,
    }))
}

#[test]
fn msgpack_writer_rules() {
    // depth: a value inside 1024 containers is fine, inside 1025 is not (msgpack-python)
    let mut v = Value::Nil;
    for _ in 0..1024 {
        v = Value::List(vec![v]);
    }
    let bytes = msgpack::serialize(&v).unwrap();
    msgpack::restore(&bytes).unwrap();
    let deeper = Value::Map(vec![("k".into(), v)]);
    assert_eq!(code(msgpack::serialize(&deeper)), "E_MSGPACK_TOO_DEEP");
    let mut v = Value::List(vec![]);
    for _ in 0..1024 {
        v = Value::List(vec![v]);
    }
    msgpack::serialize(&v).unwrap();

    assert_eq!(
        code(msgpack::serialize(&owned(FileDType::F32, &[2], vec![0; 7]))),
        "E_MSGPACK_SIZE_MISMATCH"
    );
    assert_eq!(
        code(msgpack::serialize(&owned(
            FileDType::F32,
            &[usize::MAX, 2],
            vec![]
        ))),
        "E_MSGPACK_OVERFLOW"
    );

    // A 4 GiB + array in a list (never chunked) cannot be one msgpack bin: refused while sizing,
    // before any byte is written (its data: one 64 MiB block repeated, never copied).
    let block = vec![0u8; 64 << 20];
    let pieces: Vec<&[u8]> = std::iter::repeat_n(&block[..], 65).collect();
    let huge = Value::List(vec![Value::Array(Box::new(Array {
        dtype: FileDType::U8,
        shape: vec![65 << 20 << 6],
        data: ArrayData::Chunked(pieces.clone()),
        scalar: false,
    }))]);
    assert_eq!(
        code(msgpack::encoded_len(&huge, WriteOptions::default())),
        "E_MSGPACK_TOO_LARGE"
    );
    // ... and as a dict value it is chunked, as Flax does, into 2^30-byte chunks.
    let Value::List(mut l) = huge else { panic!() };
    let as_dict = Value::Map(vec![("emb".into(), l.pop().unwrap())]);
    let n = msgpack::encoded_len(&as_dict, WriteOptions::default()).unwrap();
    assert!(n > 65 << 26 && n < (65 << 26) + 4096, "{n}");
    // str/bin/ext/array/map length forms at their boundaries, read back
    for n in [0usize, 15, 16, 31, 32, 255, 256, 65535, 65536] {
        let v = Value::List(vec![
            Value::Str("x".repeat(n)),
            Value::Bin(Cow::Owned(vec![1; n])),
            Value::List(vec![Value::Nil; n]),
            Value::Map((0..n).map(|i| (i.to_string(), Value::Bool(true))).collect()),
            Value::Ext(Box::new((7, Cow::Owned(vec![2; n])))),
            owned(FileDType::U8, &[n], vec![3; n]),
        ]);
        let bytes = msgpack::serialize(&v).unwrap();
        assert_eq!(msgpack::restore(&bytes).unwrap(), v, "{n}");
    }
    let s = msgpack::serialize(&Value::Str("x".repeat(65536))).unwrap();
    assert_eq!(s[..5], [0xdb, 0, 1, 0, 0]);
    let s = msgpack::serialize(&Value::Str("x".repeat(32))).unwrap();
    assert_eq!(s[..2], [0xd9, 32], "str8 (use_bin_type=True)");
}

#[test]
fn msgpack_chunking_matches_flax_for_any_split_of_the_source() {
    // Source data in uneven pieces; chunks of 4 elements (16 bytes of f32): the bytes must equal
    // those of the same array held in one piece.
    let data: Vec<u8> = (0..40u8).collect();
    let whole = owned(FileDType::F32, &[2, 5], data.clone());
    let pieces = Value::Array(Box::new(Array {
        dtype: FileDType::F32,
        shape: vec![2, 5],
        data: ArrayData::Chunked(vec![&data[..12], &data[12..13], &data[13..30], &data[30..]]),
        scalar: false,
    }));
    let opts = WriteOptions { max_chunk_size: 16 };
    fn tree(a: Value<'_>) -> Value<'_> {
        Value::Map(vec![("a".into(), a)])
    }
    let a = msgpack::serialize_with(&tree(whole), opts).unwrap();
    let b = msgpack::serialize_with(&tree(pieces.clone()), opts).unwrap();
    assert_eq!(a, b);
    let back = msgpack::restore(&a).unwrap();
    let Some(Value::Array(r)) = back.get("a") else {
        panic!()
    };
    assert_eq!(&r.data.to_cow()[..], &data[..]);
    assert!(
        matches!(r.data, ArrayData::Chunked(ref p) if p.len() == 3),
        "10 elements in chunks of 4"
    );
    // chunk size below the itemsize: one element per chunk
    let c = msgpack::serialize_with(&tree(pieces), WriteOptions { max_chunk_size: 1 }).unwrap();
    let back = msgpack::restore(&c).unwrap();
    let Some(Value::Array(r)) = back.get("a") else {
        panic!()
    };
    assert!(matches!(r.data, ArrayData::Chunked(ref p) if p.len() == 10));
    // numpy scalars are never chunked
    let s = Value::Array(Box::new(Array {
        dtype: FileDType::F64,
        shape: vec![],
        data: ArrayData::Owned(vec![0; 8]),
        scalar: true,
    }));
    let out = msgpack::serialize_with(&tree(s), WriteOptions { max_chunk_size: 1 }).unwrap();
    assert_eq!(out[3], 0xc7, "an ext, not a chunked dict");
}
