//! The weights-file goldens of `__test__/golden/weights/` (written by real Flax 0.12.8 and the
//! Python safetensors library; `scripts/golden/weights_files.py`): every file parses to exactly
//! what Python read back (manifest.json), arrays are slices of the file (no copy), and the trees
//! and tensor dicts serialize to the very same bytes, both re-serialized from the parse and
//! built afresh from the manifest.

mod common;
use flaxen_core::io::msgpack::{self, Array, ArrayData, Value, WriteOptions};
use flaxen_core::io::safetensors::{self as st, TensorEntry};
use flaxen_core::io::{detect_format, offset_in, FileDType, FileFormat};
use serde_json::Value as Json;
use std::borrow::Cow;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../__test__/golden/weights");

fn manifest() -> Json {
    let text = std::fs::read_to_string(format!("{DIR}/manifest.json")).expect("manifest.json");
    serde_json::from_str(&text).expect("manifest is JSON")
}

fn files(format: &str) -> Vec<(Json, Vec<u8>)> {
    let m = manifest();
    let out: Vec<_> = m["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["format"] == format)
        .map(|f| {
            let bytes = std::fs::read(format!("{DIR}/{}", f["path"].as_str().unwrap())).unwrap();
            assert_eq!(
                bytes.len() as u64,
                f["size"].as_u64().unwrap(),
                "{}",
                f["path"]
            );
            assert_eq!(
                common::sha256(&bytes),
                f["sha256"].as_str().unwrap(),
                "{}",
                f["path"]
            );
            (f.clone(), bytes)
        })
        .collect();
    assert!(!out.is_empty());
    out
}

/// Asserts two byte strings are equal, reporting the first difference (not both dumps).
#[track_caller]
fn same_bytes(got: &[u8], want: &[u8], what: &str) {
    if got != want {
        let at = got
            .iter()
            .zip(want)
            .position(|(a, b)| a != b)
            .unwrap_or(got.len().min(want.len()));
        let ctx = |b: &[u8]| format!("{:02x?}", &b[at.saturating_sub(4)..(at + 12).min(b.len())]);
        panic!(
            "{what}: {} bytes vs {} expected, first difference at {at}: {} vs {}",
            got.len(),
            want.len(),
            ctx(got),
            ctx(want)
        );
    }
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

fn f64_of(hex: &str) -> f64 {
    f64::from_bits(u64::from_str_radix(hex, 16).unwrap())
}

fn shape_of(j: &Json) -> Vec<usize> {
    j.as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_u64().unwrap() as usize)
        .collect()
}

// ---- msgpack ----------------------------------------------------------------------------------

/// Asserts `v` is the manifest node `j` (exactly: bits of floats, bytes of arrays).
fn check_node(v: &Value, j: &Json, path: &str, file: &[u8]) {
    let (kind, x) = j.as_object().unwrap().iter().next().unwrap();
    match (kind.as_str(), v) {
        ("map", Value::Map(m)) => {
            let want = x.as_array().unwrap();
            assert_eq!(m.len(), want.len(), "{path}: map size");
            for ((k, v), w) in m.iter().zip(want) {
                assert_eq!(k, w[0].as_str().unwrap(), "{path}: key order");
                check_node(v, &w[1], &format!("{path}/{k}"), file);
            }
        }
        ("list", Value::List(l)) => {
            let want = x.as_array().unwrap();
            assert_eq!(l.len(), want.len(), "{path}: list length");
            for (i, (v, w)) in l.iter().zip(want).enumerate() {
                check_node(v, w, &format!("{path}/[{i}]"), file);
            }
        }
        ("nil", Value::Nil) => {}
        ("bool", Value::Bool(b)) => assert_eq!(Some(*b), x.as_bool(), "{path}"),
        ("int", Value::Int(i)) => assert_eq!(Some(*i), x.as_i64(), "{path}"),
        ("int", Value::UInt(u)) => {
            assert!(*u > i64::MAX as u64, "{path}: UInt only past i64");
            assert_eq!(Some(*u), x.as_u64(), "{path}")
        }
        ("float", Value::Float(f)) => {
            assert_eq!(f.to_bits(), f64_of(x.as_str().unwrap()).to_bits(), "{path}")
        }
        ("str", Value::Str(s)) => assert_eq!(s, x.as_str().unwrap(), "{path}"),
        ("bytes", Value::Bin(b)) => {
            assert_eq!(&b[..], &unhex(x.as_str().unwrap())[..], "{path}");
            assert!(
                b.is_empty() || offset_in(file, b).is_some(),
                "{path}: bytes are copied"
            );
        }
        ("complex", Value::Complex(re, im)) => {
            assert_eq!(
                re.to_bits(),
                f64_of(x[0].as_str().unwrap()).to_bits(),
                "{path}"
            );
            assert_eq!(
                im.to_bits(),
                f64_of(x[1].as_str().unwrap()).to_bits(),
                "{path}"
            );
        }
        ("ndarray", Value::Array(a)) => {
            assert_eq!(
                a.dtype.numpy_name(),
                x["dtype"].as_str().unwrap(),
                "{path}: dtype"
            );
            assert_eq!(a.shape, shape_of(&x["shape"]), "{path}: shape");
            assert_eq!(a.scalar, x["scalar"].as_bool().unwrap(), "{path}: scalar");
            assert_eq!(
                &a.data.to_cow()[..],
                &unhex(x["hex"].as_str().unwrap())[..],
                "{path}: data"
            );
            let pieces: Vec<&[u8]> = match &a.data {
                ArrayData::Borrowed(b) => vec![b],
                ArrayData::Chunked(c) => c.clone(),
                ArrayData::Owned(_) => panic!("{path}: parsing copied an array"),
            };
            for p in pieces {
                assert!(
                    p.is_empty() || offset_in(file, p).is_some(),
                    "{path}: not a slice of the file"
                );
            }
        }
        (k, v) => panic!("{path}: expected {k}, parsed {}", v.kind()),
    }
}

/// The manifest node as a tree to write (arrays owning their bytes).
fn build(j: &Json) -> Value<'static> {
    let (kind, x) = j.as_object().unwrap().iter().next().unwrap();
    match kind.as_str() {
        "map" => Value::Map(
            x.as_array()
                .unwrap()
                .iter()
                .map(|w| (w[0].as_str().unwrap().to_string(), build(&w[1])))
                .collect(),
        ),
        "list" => Value::List(x.as_array().unwrap().iter().map(build).collect()),
        "nil" => Value::Nil,
        "bool" => Value::Bool(x.as_bool().unwrap()),
        "int" => match x.as_i64() {
            Some(i) => Value::Int(i),
            None => Value::UInt(x.as_u64().unwrap()),
        },
        "float" => Value::Float(f64_of(x.as_str().unwrap())),
        "str" => Value::Str(x.as_str().unwrap().to_string()),
        "bytes" => Value::Bin(Cow::Owned(unhex(x.as_str().unwrap()))),
        "complex" => Value::Complex(
            f64_of(x[0].as_str().unwrap()),
            f64_of(x[1].as_str().unwrap()),
        ),
        "ndarray" => Value::Array(Box::new(Array {
            dtype: FileDType::from_numpy_name(x["dtype"].as_str().unwrap().as_bytes()).unwrap(),
            shape: shape_of(&x["shape"]),
            data: ArrayData::Owned(unhex(x["hex"].as_str().unwrap())),
            scalar: x["scalar"].as_bool().unwrap(),
        })),
        k => panic!("unknown manifest node {k}"),
    }
}

fn find<'v, 'a>(v: &'v Value<'a>, path: &str) -> &'v Value<'a> {
    path.split('/')
        .filter(|p| !p.is_empty())
        .fold(v, |v, k| v.get(k).unwrap())
}

#[test]
fn flax_msgpack_files_restore_exactly() {
    for (f, bytes) in files("msgpack") {
        let name = f["path"].as_str().unwrap();
        assert_eq!(detect_format(&bytes), FileFormat::Msgpack, "{name}");
        let v = msgpack::restore(&bytes).unwrap_or_else(|e| panic!("{name}: {e:?}"));
        check_node(&v, &f["tree"], name, &bytes);
        for p in f["chunked"].as_array().unwrap() {
            let p = p.as_str().unwrap();
            let Value::Array(a) = find(&v, p) else {
                panic!("{name}: {p} is not an array")
            };
            let chunk = f["chunk_size"].as_u64().unwrap() as usize;
            let per = (chunk / a.dtype.numpy_itemsize() as usize).max(1);
            let n = a.numel().div_ceil(per);
            match &a.data {
                ArrayData::Chunked(c) => assert_eq!(c.len(), n, "{name}: {p}: chunks"),
                ArrayData::Borrowed(_) => assert_eq!(n, 1, "{name}: {p}"),
                ArrayData::Owned(_) => panic!("copied"),
            }
        }
        // Without reassembly the chunked dicts are there as Flax wrote them.
        let raw = msgpack::parse(&bytes).unwrap();
        for p in f["chunked"].as_array().unwrap() {
            assert!(find(&raw, p.as_str().unwrap())
                .get(msgpack::CHUNKED_KEY)
                .is_some());
        }
    }
}

#[test]
fn flax_msgpack_files_serialize_to_the_same_bytes() {
    for (f, bytes) in files("msgpack") {
        let name = f["path"].as_str().unwrap();
        let opts = WriteOptions {
            max_chunk_size: f["chunk_size"].as_u64().unwrap(),
        };
        let v = msgpack::restore(&bytes).unwrap();
        let out = msgpack::serialize_with(&v, opts).unwrap();
        same_bytes(
            &out,
            &bytes,
            &format!("{name}: re-serialized from the parse"),
        );
        assert_eq!(msgpack::encoded_len(&v, opts).unwrap(), bytes.len() as u64);
        let mut streamed = Vec::new();
        msgpack::write_to(&v, opts, &mut streamed).unwrap();
        same_bytes(&streamed, &bytes, &format!("{name}: streamed"));

        let mut built = build(&f["tree"]);
        same_bytes(
            &msgpack::serialize_with(&built, opts).unwrap(),
            &bytes,
            &format!("{name}: built from the manifest"),
        );
        if f["sorted_keys"].as_bool().unwrap() {
            // msgpack_serialize's default sorts keys: reversing every map and sorting again
            // gives Flax's bytes.
            reverse_maps(&mut built);
            built.sort_keys();
            same_bytes(
                &msgpack::serialize_with(&built, opts).unwrap(),
                &bytes,
                &format!("{name}: sort_keys"),
            );
        }
        if opts.max_chunk_size == msgpack::MAX_CHUNK_SIZE {
            same_bytes(
                &msgpack::serialize(&v).unwrap(),
                &bytes,
                &format!("{name}: default options"),
            );
        }
    }
}

fn reverse_maps(v: &mut Value) {
    match v {
        Value::Map(m) => {
            m.reverse();
            m.iter_mut().for_each(|(_, v)| reverse_maps(v));
        }
        Value::List(l) => l.iter_mut().for_each(reverse_maps),
        _ => {}
    }
}

#[test]
fn flax_model_msgpack_has_the_hugging_face_layout() {
    let bytes = std::fs::read(format!("{DIR}/flax_model.msgpack")).unwrap();
    let v = msgpack::restore(&bytes).unwrap();
    assert!(
        v.get("params").is_none(),
        "HF files have no top-level 'params'"
    );
    let t = v.get("transformer").unwrap();
    let Value::Array(wte) = t.get("wte").unwrap().get("embedding").unwrap() else {
        panic!()
    };
    assert_eq!((wte.dtype, &wte.shape[..]), (FileDType::F32, &[16, 8][..]));
    let Value::Array(k) = find(t, "h/1/attn/c_attn/kernel") else {
        panic!()
    };
    assert_eq!(
        k.shape,
        vec![24, 8],
        "FlaxConv1D kernels are (features, in)"
    );
    assert!(find(t, "ln_f/scale") != &Value::Nil);
}

#[test]
fn flax_params_hold_bfloat16_and_float16() {
    let bytes = std::fs::read(format!("{DIR}/flax_params.msgpack")).unwrap();
    let v = msgpack::restore(&bytes).unwrap();
    let Value::Array(k) = find(&v, "params/dense_bf16/kernel") else {
        panic!()
    };
    assert_eq!(k.dtype, FileDType::BF16);
    let Value::Array(k) = find(&v, "params/dense_f16/kernel") else {
        panic!()
    };
    assert_eq!(k.dtype, FileDType::F16);
    let Value::Array(m) = find(&v, "batch_stats/bn/mean") else {
        panic!()
    };
    assert_eq!((m.dtype, &m.shape[..]), (FileDType::F32, &[3][..]));
}

// ---- safetensors ------------------------------------------------------------------------------

#[test]
fn safetensors_files_parse_exactly() {
    let mut dtypes_seen = std::collections::BTreeSet::new();
    for (f, bytes) in files("safetensors") {
        let name = f["path"].as_str().unwrap();
        assert_eq!(detect_format(&bytes), FileFormat::Safetensors, "{name}");
        let h = st::parse(&bytes).unwrap_or_else(|e| panic!("{name}: {e:?}"));
        assert_eq!(h.data_start, 8 + h.header_len);
        assert_eq!(h.data_start % 8, 0, "the reference pads the header to 8");
        let meta = f["metadata"].as_array().map(|m| {
            m.iter()
                .map(|p| {
                    (
                        p[0].as_str().unwrap().to_string(),
                        p[1].as_str().unwrap().to_string(),
                    )
                })
                .collect::<Vec<_>>()
        });
        assert_eq!(h.metadata, meta, "{name}: metadata");
        let want = f["tensors"].as_array().unwrap();
        assert_eq!(h.tensors.len(), want.len(), "{name}");
        for (t, w) in h.tensors.iter().zip(want) {
            assert_eq!(t.name, w["name"].as_str().unwrap(), "{name}: header order");
            assert_eq!(
                t.dtype.safetensors_name().unwrap(),
                w["dtype"].as_str().unwrap()
            );
            assert_eq!(t.shape, shape_of(&w["shape"]));
            let off = shape_of(&w["data_offsets"]);
            assert_eq!(
                t.data,
                h.data_start + off[0]..h.data_start + off[1],
                "{name}: {}",
                t.name
            );
            assert_eq!(
                h.bytes(&bytes, t),
                &unhex(w["hex"].as_str().unwrap())[..],
                "{name}: {}",
                t.name
            );
            dtypes_seen.insert(w["dtype"].as_str().unwrap().to_string());
        }
        if let Some(fmt) = f["metadata"]
            .as_array()
            .and_then(|m| m.iter().find(|p| p[0] == "format"))
        {
            assert_eq!(h.metadata_value("format"), fmt[1].as_str());
        }
    }
    for d in [
        "F64", "F32", "F16", "BF16", "I64", "I32", "I16", "I8", "U64", "U32", "U16", "U8", "BOOL",
        "C64",
    ] {
        assert!(dtypes_seen.contains(d), "no golden tensor of {d}");
    }
}

#[test]
fn safetensors_files_serialize_to_the_same_bytes() {
    for (f, bytes) in files("safetensors") {
        let name = f["path"].as_str().unwrap();
        let h = st::parse(&bytes).unwrap();
        // From the parse, in reverse order (the writer sorts).
        let entries: Vec<TensorEntry> = h
            .tensors
            .iter()
            .rev()
            .map(|t| TensorEntry {
                name: &t.name,
                dtype: t.dtype,
                shape: &t.shape,
                data: h.bytes(&bytes, t),
            })
            .collect();
        let out = st::serialize(&entries, h.metadata.as_deref()).unwrap();
        same_bytes(&out, &bytes, &format!("{name}: re-serialized"));
        let mut streamed = Vec::new();
        st::write_to(&entries, h.metadata.as_deref(), &mut streamed).unwrap();
        same_bytes(&streamed, &bytes, &format!("{name}: streamed"));

        // Built from the manifest alone.
        let want = f["tensors"].as_array().unwrap();
        let owned: Vec<(String, FileDType, Vec<usize>, Vec<u8>)> = want
            .iter()
            .map(|w| {
                (
                    w["name"].as_str().unwrap().to_string(),
                    FileDType::from_safetensors_name(w["dtype"].as_str().unwrap()).unwrap(),
                    shape_of(&w["shape"]),
                    unhex(w["hex"].as_str().unwrap()),
                )
            })
            .collect();
        let entries: Vec<TensorEntry> = owned
            .iter()
            .map(|(n, d, s, b)| TensorEntry {
                name: n,
                dtype: *d,
                shape: s,
                data: b,
            })
            .collect();
        let meta: Option<Vec<(String, String)>> = f["metadata"].as_array().map(|m| {
            m.iter()
                .map(|p| {
                    (
                        p[0].as_str().unwrap().to_string(),
                        p[1].as_str().unwrap().to_string(),
                    )
                })
                .collect()
        });
        same_bytes(
            &st::serialize(&entries, meta.as_deref()).unwrap(),
            &bytes,
            &format!("{name}: built"),
        );
    }
}

#[test]
fn torch_state_dict_names_and_dtypes() {
    let bytes = std::fs::read(format!("{DIR}/st_torch.safetensors")).unwrap();
    let h = st::parse(&bytes).unwrap();
    assert_eq!(h.metadata_value("format"), Some("pt"));
    let t = h.get("bn.num_batches_tracked").unwrap();
    assert_eq!((t.dtype, t.shape.len()), (FileDType::I64, 0));
    assert_eq!(h.bytes(&bytes, t), &3i64.to_le_bytes());
    assert_eq!(
        h.get("conv.weight").unwrap().shape,
        vec![3, 2, 3, 3],
        "OIHW"
    );
    assert_eq!(h.get("fc.weight").unwrap().shape, vec![3, 4], "(out, in)");
    for n in [
        "bn.running_mean",
        "bn.running_var",
        "emb.weight",
        "ln.weight",
        "ln.bias",
    ] {
        assert!(h.get(n).is_some(), "{n}");
    }
}

// ---- the conversion table (bfloat16 / float16 rounding, from ml_dtypes) ------------------------

#[test]
fn half_crate_agrees_with_ml_dtypes_on_the_golden_conversions() {
    let m = manifest();
    let c = &m["conversions"];
    let col = |k: &str| -> Vec<u64> {
        c[k].as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_u64().unwrap())
            .collect()
    };
    let (f32s, bf, h) = (col("f32_bits"), col("bf16_bits"), col("f16_bits"));
    assert!(f32s.len() >= 50);
    for i in 0..f32s.len() {
        let x = f32::from_bits(f32s[i] as u32);
        let b = half::bf16::from_f32(x);
        let f = half::f16::from_f32(x);
        if x.is_nan() {
            assert!(b.is_nan() && f.is_nan(), "{:#x}", f32s[i]);
            continue;
        }
        assert_eq!(b.to_bits() as u64, bf[i], "bf16 of {:#010x}", f32s[i]);
        assert_eq!(f.to_bits() as u64, h[i], "f16 of {:#010x}", f32s[i]);
    }
    let (u16s, bf32, f32b) = (
        col("u16_bits"),
        col("bf16_to_f32_bits"),
        col("f16_to_f32_bits"),
    );
    for i in 0..u16s.len() {
        let b = half::bf16::from_bits(u16s[i] as u16).to_f32();
        let f = half::f16::from_bits(u16s[i] as u16).to_f32();
        if b.is_nan() {
            assert!(f32::from_bits(bf32[i] as u32).is_nan());
        } else {
            assert_eq!(b.to_bits() as u64, bf32[i], "bf16 {:#06x} to f32", u16s[i]);
        }
        if f.is_nan() {
            assert!(f32::from_bits(f32b[i] as u32).is_nan());
        } else {
            assert_eq!(f.to_bits() as u64, f32b[i], "f16 {:#06x} to f32", u16s[i]);
        }
    }
}


#[test]
fn sha256_known_answer() {
    assert_eq!(
        common::sha256(b"abc"),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    assert_eq!(
        common::sha256(b""),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
}
