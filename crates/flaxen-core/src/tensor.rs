//! `Tensor`: shared bytes + shape + dtype. Always contiguous row-major (no strides), which keeps
//! every kernel a loop over plain slices and lets JS see the bytes as one typed array.

use std::sync::Arc;

use crate::dtype::{DType, Element};
use crate::error::{Error, Result};
use crate::shape::numel;
use crate::storage::Storage;

/// Runs `$body` with `$T` bound to the storage element type of `$dt`. Bool storage is read as
/// `u8` because JS can write any byte through a zero-copy view, and a `bool` other than 0/1
/// would be undefined behaviour; kernels treat a bool byte as `!= 0`. float16 and bfloat16 are
/// `F16` / `Bf16` (their bits): a kernel that dispatches over every dtype either only moves
/// elements or converts through `Element`; arithmetic on them happens in float32 (the op
/// table's `Half` policy).
macro_rules! dispatch {
    ($dt:expr, $T:ident => $body:expr) => {
        match $dt {
            $crate::dtype::DType::F32 => {
                #[allow(dead_code)]
                type $T = f32;
                $body
            }
            $crate::dtype::DType::I32 => {
                #[allow(dead_code)]
                type $T = i32;
                $body
            }
            $crate::dtype::DType::U32 => {
                #[allow(dead_code)]
                type $T = u32;
                $body
            }
            $crate::dtype::DType::U16 => {
                #[allow(dead_code)]
                type $T = u16;
                $body
            }
            $crate::dtype::DType::U8 | $crate::dtype::DType::Bool => {
                #[allow(dead_code)]
                type $T = u8;
                $body
            }
            $crate::dtype::DType::I8 => {
                #[allow(dead_code)]
                type $T = i8;
                $body
            }
            $crate::dtype::DType::F16 => {
                #[allow(dead_code)]
                type $T = $crate::dtype::F16;
                $body
            }
            $crate::dtype::DType::BF16 => {
                #[allow(dead_code)]
                type $T = $crate::dtype::Bf16;
                $body
            }
        }
    };
}
pub(crate) use dispatch;

#[derive(Clone)]
pub struct Tensor {
    storage: Arc<Storage>,
    shape: Dims,
    dtype: DType,
}

/// A shape, inline up to `Dims::INLINE` axes: making and dropping a tensor then allocates
/// nothing but its storage (a heap shape per tensor was a measurable part of a tiny op).
#[derive(Clone)]
enum Dims {
    Inline(u8, [usize; Dims::INLINE]),
    Heap(Vec<usize>),
}

impl Dims {
    const INLINE: usize = 6;

    fn new(s: &[usize]) -> Dims {
        if s.len() <= Self::INLINE {
            let mut d = [0; Self::INLINE];
            d[..s.len()].copy_from_slice(s);
            Dims::Inline(s.len() as u8, d)
        } else {
            Dims::Heap(s.to_vec())
        }
    }

    fn from_vec(v: Vec<usize>) -> Dims {
        if v.len() <= Self::INLINE {
            Self::new(&v)
        } else {
            Dims::Heap(v)
        }
    }
}

impl std::ops::Deref for Dims {
    type Target = [usize];
    fn deref(&self) -> &[usize] {
        match self {
            Dims::Inline(n, d) => &d[..*n as usize],
            Dims::Heap(v) => v,
        }
    }
}

impl std::fmt::Debug for Tensor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tensor({}, {:?})", self.dtype.name(), &self.shape[..])
    }
}

impl Tensor {
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }
    pub fn dtype(&self) -> DType {
        self.dtype
    }
    /// Number of elements (1 for a scalar).
    pub fn size(&self) -> usize {
        numel(&self.shape)
    }
    pub fn ndim(&self) -> usize {
        self.shape.len()
    }
    pub fn storage(&self) -> &Arc<Storage> {
        &self.storage
    }
    pub fn nbytes(&self) -> usize {
        self.size() * self.dtype.size()
    }
    /// The raw bytes (little-endian elements, bool as 0/1 bytes).
    pub fn as_bytes(&self) -> &[u8] {
        &self.storage.as_bytes()[..self.nbytes()]
    }

    /// Wraps an existing storage; E_SHAPE if its length is not `product(shape) * dtype.size()`.
    pub fn from_storage(storage: Arc<Storage>, shape: &[usize], dtype: DType) -> Result<Tensor> {
        let need = numel(shape) * dtype.size();
        if storage.len() != need {
            return Err(Error::shape(format!(
                "from_storage: shape {shape:?} of {} needs {need} bytes but the storage has {}",
                dtype.name(),
                storage.len()
            )));
        }
        Ok(Tensor {
            storage,
            shape: Dims::new(shape),
            dtype,
        })
    }

    pub fn from_vec<T: Element>(data: Vec<T>, shape: &[usize]) -> Result<Tensor> {
        Self::from_slice(&data, shape)
    }

    pub fn from_slice<T: Element>(data: &[T], shape: &[usize]) -> Result<Tensor> {
        let n = numel(shape);
        if data.len() != n {
            return Err(Error::shape(format!(
                "from_vec: data has {} elements but shape {shape:?} needs {n}",
                data.len()
            )));
        }
        // SAFETY: Element types are plain data of size T::DTYPE.size() (bool is a 0/1 byte).
        let bytes = unsafe {
            std::slice::from_raw_parts(data.as_ptr() as *const u8, std::mem::size_of_val(data))
        };
        Ok(Tensor {
            storage: Arc::new(Storage::from_bytes(bytes)),
            shape: Dims::new(shape),
            dtype: T::DTYPE,
        })
    }

    /// A copy of little-endian element bytes. Bool bytes are normalised to 0/1.
    pub fn from_bytes(dtype: DType, bytes: &[u8], shape: &[usize]) -> Result<Tensor> {
        let need = numel(shape) * dtype.size();
        if bytes.len() != need {
            return Err(Error::shape(format!(
                "from_bytes: {} bytes given but shape {shape:?} of {} needs {need}",
                bytes.len(),
                dtype.name()
            )));
        }
        if dtype == DType::Bool {
            let v: Vec<bool> = bytes.iter().map(|&b| b != 0).collect();
            return Self::from_slice(&v, shape);
        }
        Ok(Tensor {
            storage: Arc::new(Storage::from_bytes(bytes)),
            shape: Dims::new(shape),
            dtype,
        })
    }

    pub fn zeros(shape: &[usize], dtype: DType) -> Tensor {
        let storage = Storage::zeroed(numel(shape) * dtype.size());
        Tensor {
            storage: Arc::new(storage),
            shape: Dims::new(shape),
            dtype,
        }
    }

    /// Zeros of `shape`, or E_ALLOC if they do not fit the byte cap (checked arithmetic) or the
    /// allocator refuses them.
    pub fn try_zeros(shape: &[usize], dtype: DType) -> Result<Tensor> {
        let n = shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d)).unwrap_or(usize::MAX);
        crate::storage::check_alloc(n, dtype.size(), "zeros")?;
        Ok(Tensor {
            storage: Arc::new(Storage::try_zeroed(n * dtype.size())?),
            shape: Dims::new(shape),
            dtype,
        })
    }

    /// A 0-d tensor.
    pub fn scalar<T: Element>(v: T) -> Tensor {
        Self::from_slice(&[v], &[]).expect("one element fits shape []")
    }

    /// Builds a fresh tensor whose elements are all written by `fill` (storage starts
    /// uninitialised; `fill` must write every element). `T` is the storage type (u8 for bool).
    pub(crate) fn build<T: Copy>(
        shape: Vec<usize>,
        dtype: DType,
        fill: impl FnOnce(&mut [T]),
    ) -> Tensor {
        assert_eq!(
            std::mem::size_of::<T>(),
            dtype.size(),
            "storage type does not match dtype"
        );
        let n = numel(&shape);
        let storage = Storage::uninit(n * dtype.size());
        // SAFETY: the storage is fresh (no other reference), aligned to 64 and n*size bytes long;
        // `fill` writes every element before the tensor becomes visible.
        let out = unsafe { std::slice::from_raw_parts_mut(storage.as_mut_ptr() as *mut T, n) };
        fill(out);
        Tensor {
            storage: Arc::new(storage),
            shape: Dims::from_vec(shape),
            dtype,
        }
    }

    /// `build`, fallible: E_ALLOC if the output does not fit the byte cap or the allocator
    /// refuses it (for kernels whose outputs can be large: no memset pass before `fill`).
    pub(crate) fn try_build<T: Copy>(shape: &[usize], dtype: DType, what: &str, fill: impl FnOnce(&mut [T])) -> Result<Tensor> {
        assert_eq!(std::mem::size_of::<T>(), dtype.size(), "storage type does not match dtype");
        let n = shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d)).unwrap_or(usize::MAX);
        crate::storage::check_alloc(n, dtype.size(), what)?;
        let storage = Storage::try_uninit(n * dtype.size())?;
        // SAFETY: as in `build`: fresh, aligned, n elements long, all written by `fill`.
        fill(unsafe { std::slice::from_raw_parts_mut(storage.as_mut_ptr() as *mut T, n) });
        Ok(Tensor { storage: Arc::new(storage), shape: Dims::new(shape), dtype })
    }

    /// The elements as the storage type `T` (u8 for bool). Caller picks T via `dispatch!`.
    pub(crate) fn raw<T: Copy>(&self) -> &[T] {
        assert_eq!(
            std::mem::size_of::<T>(),
            self.dtype.size(),
            "storage type does not match dtype"
        );
        // SAFETY: storage is aligned to 64, holds size() elements of this width, and every bit
        // pattern is valid for the storage types used (f32, i32, u32, u16, u8).
        unsafe { std::slice::from_raw_parts(self.storage.as_ptr() as *const T, self.size()) }
    }

    /// The elements for writing in place, if this tensor is the only owner of its storage and
    /// JS never got a view of it (so nothing else can observe the write).
    pub(crate) fn raw_mut<T: Copy>(&mut self) -> Option<&mut [T]> {
        assert_eq!(std::mem::size_of::<T>(), self.dtype.size(), "storage type does not match dtype");
        let n = self.size();
        let storage = Arc::get_mut(&mut self.storage)?;
        if storage.is_exposed() {
            return None;
        }
        // SAFETY: `get_mut` proves this is the only reference to the storage (no other tensor
        // or view reads it), which holds `n` aligned elements of this width.
        Some(unsafe { std::slice::from_raw_parts_mut(storage.as_mut_ptr() as *mut T, n) })
    }

    fn check_dtype<T: Element>(&self, what: &str) -> Result<()> {
        if T::DTYPE != self.dtype {
            return Err(Error::dtype(format!(
                "{what}: tensor has dtype {} but {} was requested",
                self.dtype.name(),
                T::DTYPE.name()
            )));
        }
        Ok(())
    }

    /// Borrowed typed view. E_DTYPE if `T` is not the dtype. For bool, E_ARG if some byte is not
    /// 0/1 (possible only if JS wrote one through the zero-copy view).
    pub fn as_slice<T: Element>(&self) -> Result<&[T]> {
        self.check_dtype::<T>("as_slice")?;
        if self.dtype == DType::Bool && self.raw::<u8>().iter().any(|&b| b > 1) {
            return Err(Error::arg(
                "as_slice: bool tensor holds a byte other than 0 or 1",
            ));
        }
        // SAFETY: dtype matches T (checked), so size and validity hold as in `raw`.
        Ok(unsafe { std::slice::from_raw_parts(self.storage.as_ptr() as *const T, self.size()) })
    }

    /// Owned typed copy; E_DTYPE if `T` is not the dtype.
    pub fn to_vec<T: Element>(&self) -> Result<Vec<T>> {
        self.check_dtype::<T>("to_vec")?;
        if self.dtype == DType::Bool {
            return Ok(self
                .raw::<u8>()
                .iter()
                .map(|&b| T::from_i64((b != 0) as i64))
                .collect());
        }
        Ok(self.as_slice::<T>()?.to_vec())
    }

    /// Every element converted to f64 (any dtype), handy for tests and printing.
    pub fn to_f64_vec(&self) -> Vec<f64> {
        if self.dtype == DType::Bool {
            return self
                .raw::<u8>()
                .iter()
                .map(|&b| (b != 0) as u8 as f64)
                .collect();
        }
        dispatch!(self.dtype, T => self.raw::<T>().iter().map(|&v| v.to_f64()).collect())
    }

    /// Same data, new shape; shares the storage. One -1 is inferred.
    pub fn reshape(&self, shape: &[i64]) -> Result<Tensor> {
        let out = crate::shape::resolve_reshape(&self.shape, shape)?;
        Ok(Tensor {
            storage: self.storage.clone(),
            shape: Dims::from_vec(out),
            dtype: self.dtype,
        })
    }

    /// numpy-style cast into a new storage (always a copy, even for the same dtype, because JS
    /// may write through a view of either). float→int truncates toward zero (out of range
    /// saturates, NaN → 0); int→int wraps; x→bool is `x != 0`; bool→x is 0/1.
    pub fn astype(&self, dtype: DType) -> Tensor {
        let src = self;
        let shape = self.shape.to_vec();
        if src.dtype.is_half() || dtype.is_half() {
            return self.astype_half(dtype);
        }
        if src.dtype == DType::Bool {
            let s = src.raw::<u8>();
            if dtype == DType::Bool {
                return Tensor::build::<u8>(shape, dtype, |o| {
                    cast_into(s, o, |b: u8| (b != 0) as u8)
                });
            }
            return dispatch!(dtype, D => Tensor::build::<D>(shape, dtype, |o| {
                cast_into(s, o, |b: u8| D::from_i64((b != 0) as i64))
            }));
        }
        dispatch!(src.dtype, S => {
            let s = src.raw::<S>();
            if dtype == DType::Bool {
                Tensor::build::<u8>(shape, dtype, |o| cast_into(s, o, |v: S| (v != S::from_i64(0)) as u8))
            } else if src.dtype.is_float() {
                dispatch!(dtype, D => Tensor::build::<D>(shape, dtype, |o| cast_into(s, o, |v: S| D::from_f64(v.to_f64()))))
            } else {
                dispatch!(dtype, D => Tensor::build::<D>(shape, dtype, |o| cast_into(s, o, |v: S| D::from_i64(v.to_i64()))))
            }
        })
    }
}

impl Tensor {
    /// `astype` when either side is float16 or bfloat16, as XLA converts: through float32 (exact
    /// for the half dtypes), so integers round to float32 first and float32 rounds once; half to
    /// bool is `x != 0` by value (-0.0 is false, NaN true); half to an integer truncates toward
    /// zero and saturates, NaN → 0, as float32 does.
    /// A tensor of `dtype` whose elements `f` converts from this one's, chunk by chunk (in
    /// parallel when large).
    fn convert_chunks<S: Copy + Sync, D: Copy + Send>(&self, dtype: DType, f: fn(&[S], &mut [D])) -> Tensor {
        let src = self.raw::<S>();
        Tensor::build::<D>(self.shape.to_vec(), dtype, |o| crate::par::chunks(o, crate::par::CHUNK, |s, c| f(&src[s..s + c.len()], c)))
    }

    fn astype_half(&self, dtype: DType) -> Tensor {
        use crate::halfconv as hc;
        let shape = self.shape.to_vec();
        match (self.dtype, dtype) {
            (s, d) if s == d => {
                let src = self.raw::<u16>();
                Tensor::build::<u16>(shape, d, |o| o.copy_from_slice(src))
            }
            (DType::F32, DType::BF16) => self.convert_chunks(dtype, hc::narrow_bf16),
            (DType::F32, DType::F16) => self.convert_chunks(dtype, hc::narrow_f16),
            (DType::BF16, DType::F32) => self.convert_chunks(dtype, hc::widen_bf16),
            (DType::F16, DType::F32) => self.convert_chunks(dtype, hc::widen_f16),
            // Anything else goes through float32: exact out of a half dtype (then float32's own
            // cast to the integer, bool or other half dtype); into one, integers round to
            // float32 first (XLA's convert; so int → bfloat16 rounds twice, as in JAX).
            (_, d) => self.astype(DType::F32).astype(d),
        }
    }
}

#[inline]
fn cast_into<S: Copy, D>(src: &[S], dst: &mut [D], f: impl Fn(S) -> D) {
    for (d, &s) in dst.iter_mut().zip(src) {
        *d = f(s);
    }
}
