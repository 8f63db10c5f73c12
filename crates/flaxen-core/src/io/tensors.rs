//! File arrays ⇄ tensors. A file array becomes a tensor of the core dtype JAX would give it in
//! its default 32-bit mode: 64-bit integers and floats narrow to 32 bits (integers checked to
//! fit, E_RANGE otherwise; float64 rounds as `jnp.asarray` does), int16 widens to int32 (the core
//! has no int16), complex and 8-bit floats are refused (E_DTYPE). An array whose bytes lie in a
//! buffer that outlives the tensor (a file mapping) is borrowed, not copied, when no conversion
//! is needed and its address suits the element type.

use std::ptr::NonNull;
use std::sync::Arc;

use super::FileDType;
use crate::dtype::DType;
use crate::error::{Error, ErrorCode, Result};
use crate::storage::{self, Storage};
use crate::tensor::Tensor;

/// The core dtype a file dtype loads as, or None when it cannot be loaded.
pub fn load_dtype(f: FileDType) -> Option<DType> {
    Some(match f {
        FileDType::F32 | FileDType::F64 => DType::F32,
        FileDType::I32 | FileDType::I64 | FileDType::I16 => DType::I32,
        FileDType::U32 | FileDType::U64 => DType::U32,
        FileDType::U16 => DType::U16,
        FileDType::F16 => DType::F16,
        FileDType::BF16 => DType::BF16,
        FileDType::U8 => DType::U8,
        FileDType::I8 => DType::I8,
        FileDType::BOOL => DType::Bool,
        _ => return None,
    })
}

/// The file dtype a tensor is written as.
pub fn save_dtype(d: DType) -> FileDType {
    match d {
        DType::F32 => FileDType::F32,
        DType::I32 => FileDType::I32,
        DType::U32 => FileDType::U32,
        DType::U16 => FileDType::U16,
        DType::F16 => FileDType::F16,
        DType::BF16 => FileDType::BF16,
        DType::U8 => FileDType::U8,
        DType::I8 => FileDType::I8,
        DType::Bool => FileDType::BOOL,
    }
}

/// Where an array's bytes live: a buffer kept alive by `keeper` (borrowable), or a transient one.
pub struct Source<'a> {
    pub bytes: &'a [u8],
    pub keeper: Option<&'a Arc<dyn Send + Sync>>,
}

/// The tensor for a file array of `dtype` and `shape` whose C-order little-endian bytes are
/// `src.bytes` (the parsers checked the length). `what` names the array in errors.
pub fn to_tensor(dtype: FileDType, shape: &[usize], src: Source<'_>, what: &str) -> Result<Tensor> {
    let Some(core) = load_dtype(dtype) else {
        return Err(Error::dtype(format!(
            "{what}: the file's dtype {} has no flaxen dtype (float32, float16, bfloat16, int32, uint32, uint16, uint8, int8, bool load as they are; \
             float64, int64, uint64 narrow and int16 widens to 32 bits)",
            dtype.numpy_name()
        )));
    };
    let n: usize = shape.iter().product();
    let bytes = src.bytes;
    if bytes.len() != n * dtype_size(dtype) {
        return Err(Error::arg(format!(
            "{what}: {} bytes for {} elements of {}",
            bytes.len(),
            n,
            dtype.numpy_name()
        )));
    }
    let same = core.size() == dtype_size(dtype)
        && !(dtype == FileDType::BOOL && bytes.iter().any(|&b| b > 1));
    if same {
        if let Some(keeper) = src.keeper {
            if (bytes.as_ptr() as usize).is_multiple_of(core.size()) && !bytes.is_empty() {
                let ptr =
                    NonNull::new(bytes.as_ptr() as *mut u8).expect("a slice's pointer is non-null");
                // SAFETY: `bytes` lies in the buffer `keeper` owns (the caller's contract for a
                // Source with a keeper), which lives as long as the storage holds the keeper. The
                // buffer is private to this process (a copy-on-write mapping or our own read), so
                // nothing else writes it; writes through the tensor's JS view stay in it.
                let s = unsafe { Storage::borrowed(keeper.clone(), ptr, bytes.len()) };
                return Tensor::from_storage(Arc::new(s), shape, core);
            }
        }
    }
    storage::check_alloc(n, core.size(), what)?;
    let out = Storage::try_uninit(n * core.size())?;
    // SAFETY: `out` is fresh, exactly n * core.size() bytes, and ours alone until returned.
    let dst = unsafe { std::slice::from_raw_parts_mut(out.as_mut_ptr(), n * core.size()) };
    convert(dtype, bytes, dst, what)?;
    Tensor::from_storage(Arc::new(out), shape, core)
}

fn dtype_size(f: FileDType) -> usize {
    f.numpy_itemsize() as usize
}

/// `src` (elements of `dtype`) into `dst` (elements of `load_dtype(dtype)`), little-endian.
fn convert(dtype: FileDType, src: &[u8], dst: &mut [u8], what: &str) -> Result<()> {
    let range = |i: usize, v: String, to: &str| {
        Error::new(ErrorCode::Range, format!("{what}: element {i} is {v}, which does not fit {to} (flaxen computes in 32 bits, as JAX does without x64)"))
    };
    match dtype {
        FileDType::I64 => {
            for (i, (s, d)) in src.chunks_exact(8).zip(dst.chunks_exact_mut(4)).enumerate() {
                let v = i64::from_le_bytes(s.try_into().expect("8 bytes"));
                let w = i32::try_from(v).map_err(|_| range(i, v.to_string(), "int32"))?;
                d.copy_from_slice(&w.to_le_bytes());
            }
        }
        FileDType::U64 => {
            for (i, (s, d)) in src.chunks_exact(8).zip(dst.chunks_exact_mut(4)).enumerate() {
                let v = u64::from_le_bytes(s.try_into().expect("8 bytes"));
                let w = u32::try_from(v).map_err(|_| range(i, v.to_string(), "uint32"))?;
                d.copy_from_slice(&w.to_le_bytes());
            }
        }
        FileDType::F64 => {
            for (s, d) in src.chunks_exact(8).zip(dst.chunks_exact_mut(4)) {
                d.copy_from_slice(
                    &(f64::from_le_bytes(s.try_into().expect("8 bytes")) as f32).to_le_bytes(),
                );
            }
        }
        FileDType::I16 => {
            for (s, d) in src.chunks_exact(2).zip(dst.chunks_exact_mut(4)) {
                d.copy_from_slice(
                    &i32::from(i16::from_le_bytes(s.try_into().expect("2 bytes"))).to_le_bytes(),
                );
            }
        }
        FileDType::BOOL => {
            for (s, d) in src.iter().zip(dst.iter_mut()) {
                *d = u8::from(*s != 0);
            }
        }
        _ => dst.copy_from_slice(src),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keeper(v: Vec<u8>) -> (Arc<dyn Send + Sync>, *const u8) {
        let p = v.as_ptr();
        (Arc::new(v), p)
    }

    #[test]
    fn aligned_arrays_are_borrowed_misaligned_ones_copied() {
        let mut raw = vec![0u8; 4 + 1 + 8];
        raw[4..8].copy_from_slice(&1.5f32.to_le_bytes());
        raw[9..13].copy_from_slice(&2.5f32.to_le_bytes());
        let (k, p) = keeper(raw);
        // SAFETY: the Vec is kept alive by `k` and never resized.
        let all = unsafe { std::slice::from_raw_parts(p, 13) };
        let at = |r: std::ops::Range<usize>, name| to_tensor(FileDType::F32, &[1], Source { bytes: &all[r], keeper: Some(&k) }, name).unwrap();
        let t = at(4..8, "a");
        assert!(t.storage().is_borrowed());
        assert_eq!(t.as_bytes(), &1.5f32.to_le_bytes());
        let u = at(9..13, "b");
        assert!(
            !u.storage().is_borrowed(),
            "an address that is not a multiple of 4 is copied"
        );
        assert_eq!(u.as_bytes(), &2.5f32.to_le_bytes());
    }

    #[test]
    fn wide_types_narrow_with_range_checks() {
        let src: Vec<u8> = [-5i64, 1 << 31]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let e = to_tensor(
            FileDType::I64,
            &[2],
            Source {
                bytes: &src,
                keeper: None,
            },
            "step",
        )
        .unwrap_err();
        assert_eq!(e.code, ErrorCode::Range);
        assert!(
            e.message.contains("element 1 is 2147483648"),
            "{}",
            e.message
        );
        let ok: Vec<u8> = [-5i64, 7].iter().flat_map(|v| v.to_le_bytes()).collect();
        let t = to_tensor(
            FileDType::I64,
            &[2],
            Source {
                bytes: &ok,
                keeper: None,
            },
            "step",
        )
        .unwrap();
        assert_eq!(
            (t.dtype(), t.as_bytes()),
            (DType::I32, &[251u8, 255, 255, 255, 7, 0, 0, 0][..])
        );
        let f: Vec<u8> = [0.1f64, 1e300]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let t = to_tensor(
            FileDType::F64,
            &[2],
            Source {
                bytes: &f,
                keeper: None,
            },
            "x",
        )
        .unwrap();
        let got: Vec<f32> = t
            .as_bytes()
            .chunks(4)
            .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
            .collect();
        assert_eq!(got, vec![0.1f32, f32::INFINITY]);
        let b = to_tensor(
            FileDType::BOOL,
            &[3],
            Source {
                bytes: &[0, 1, 9],
                keeper: None,
            },
            "m",
        )
        .unwrap();
        assert_eq!(b.as_bytes(), &[0, 1, 1]);
        let c = to_tensor(
            FileDType::C64,
            &[1],
            Source {
                bytes: &[0; 8],
                keeper: None,
            },
            "z",
        )
        .unwrap_err();
        assert_eq!(c.code, ErrorCode::DType);
    }
}
