//! Element types. The set is deliberately small: what Flax inference and jax.random need in the
//! default 32-bit mode. `Element` ties a Rust type to its `DType` so typed access is checked.

use crate::error::{Error, Result};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DType {
    F32,
    I32,
    U32,
    U16,
    U8,
    /// Signed bytes (e.g. int8-quantised weights).
    I8,
    /// One byte per element holding 0 or 1 (numpy's layout).
    Bool,
    /// IEEE binary16 (numpy's float16), stored as its 16 bits.
    F16,
    /// bfloat16 (the top half of a float32), stored as its 16 bits.
    BF16,
}

impl DType {
    pub const ALL: [DType; 9] = [
        DType::F32,
        DType::I32,
        DType::U32,
        DType::U16,
        DType::U8,
        DType::Bool,
        DType::I8,
        DType::F16,
        DType::BF16,
    ];

    /// The numpy / jnp name.
    pub fn name(&self) -> &'static str {
        match self {
            DType::F32 => "float32",
            DType::I32 => "int32",
            DType::U32 => "uint32",
            DType::U16 => "uint16",
            DType::U8 => "uint8",
            DType::I8 => "int8",
            DType::Bool => "bool",
            DType::F16 => "float16",
            DType::BF16 => "bfloat16",
        }
    }

    pub fn from_name(name: &str) -> Result<DType> {
        DType::ALL
            .iter()
            .copied()
            .find(|d| d.name() == name)
            .ok_or_else(|| {
                let valid: Vec<&str> = DType::ALL.iter().map(|d| d.name()).collect();
                Error::dtype(format!(
                    "unknown dtype {name:?}; expected one of {}",
                    valid.join(", ")
                ))
            })
    }

    /// Bytes per element.
    pub fn size(&self) -> usize {
        match self {
            DType::F32 | DType::I32 | DType::U32 => 4,
            DType::U16 | DType::F16 | DType::BF16 => 2,
            DType::U8 | DType::I8 | DType::Bool => 1,
        }
    }

    /// Floating-point dtypes: float32, float16 and bfloat16.
    pub fn is_float(&self) -> bool {
        matches!(self, DType::F32 | DType::F16 | DType::BF16)
    }

    /// The 2-byte floats (float16, bfloat16): stored as bits, computed in float32 (see
    /// `ops::table::Half` for which ops accept them).
    pub fn is_half(&self) -> bool {
        matches!(self, DType::F16 | DType::BF16)
    }

    /// Integer types (bool excluded).
    pub fn is_int(&self) -> bool {
        matches!(
            self,
            DType::I32 | DType::U32 | DType::U16 | DType::U8 | DType::I8
        )
    }

    pub fn is_unsigned(&self) -> bool {
        matches!(self, DType::U32 | DType::U16 | DType::U8)
    }
}

impl std::fmt::Display for DType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for i32 {}
    impl Sealed for u32 {}
    impl Sealed for u16 {}
    impl Sealed for u8 {}
    impl Sealed for i8 {}
    impl Sealed for bool {}
    impl Sealed for super::F16 {}
    impl Sealed for super::Bf16 {}
}

/// A Rust type that is the element of some `DType`. Sealed: the set of dtypes is closed, and
/// unsafe code relies on `size_of::<T>() == T::DTYPE.size()` and on every bit pattern of the
/// storage being a valid `T` (true for all but `bool`, which is handled separately).
pub trait Element:
    sealed::Sealed + Copy + Send + Sync + PartialEq + std::fmt::Debug + 'static
{
    const DTYPE: DType;
    /// numpy cast from f64 (float→int truncates toward zero; out of range saturates, NaN → 0).
    fn from_f64(v: f64) -> Self;
    /// numpy cast from a (wide) integer: wraps to the width, like numpy's astype.
    fn from_i64(v: i64) -> Self;
    fn to_f64(self) -> f64;
    /// Integer value (floats truncate toward zero, saturating).
    fn to_i64(self) -> i64;
}

macro_rules! int_element {
    ($t:ty, $d:expr) => {
        impl Element for $t {
            const DTYPE: DType = $d;
            #[inline(always)]
            fn from_f64(v: f64) -> Self {
                v as $t
            }
            #[inline(always)]
            fn from_i64(v: i64) -> Self {
                v as $t
            }
            #[inline(always)]
            fn to_f64(self) -> f64 {
                self as f64
            }
            #[inline(always)]
            fn to_i64(self) -> i64 {
                self as i64
            }
        }
    };
}
int_element!(i32, DType::I32);
int_element!(u32, DType::U32);
int_element!(u16, DType::U16);
int_element!(u8, DType::U8);
int_element!(i8, DType::I8);

impl Element for f32 {
    const DTYPE: DType = DType::F32;
    #[inline(always)]
    fn from_f64(v: f64) -> Self {
        v as f32
    }
    #[inline(always)]
    fn from_i64(v: i64) -> Self {
        v as f32
    }
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self as f64
    }
    #[inline(always)]
    fn to_i64(self) -> i64 {
        self as i64
    }
}

impl Element for bool {
    const DTYPE: DType = DType::Bool;
    #[inline(always)]
    fn from_f64(v: f64) -> Self {
        v != 0.0
    }
    #[inline(always)]
    fn from_i64(v: i64) -> Self {
        v != 0
    }
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self as u8 as f64
    }
    #[inline(always)]
    fn to_i64(self) -> i64 {
        self as i64
    }
}

/// A float16 element: its IEEE binary16 bits. Conversions follow JAX (see `crate::halfconv`):
/// from f64 (a JS number, `jnp.array`/`jnp.full`) rounds directly, as numpy does; from integers
/// through float32, as XLA's convert does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[repr(transparent)]
pub struct F16(pub u16);

/// A bfloat16 element: the top 16 bits of a float32. From f64 and from integers it rounds
/// through float32 (ml_dtypes' and XLA's conversions); NaN becomes the quiet NaN 0x7fc0.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[repr(transparent)]
pub struct Bf16(pub u16);

// SAFETY: both are `repr(transparent)` over u16: every bit pattern is valid, zero included.
unsafe impl bytemuck::Zeroable for F16 {}
unsafe impl bytemuck::Pod for F16 {}
unsafe impl bytemuck::Zeroable for Bf16 {}
unsafe impl bytemuck::Pod for Bf16 {}

impl F16 {
    #[inline(always)]
    pub fn to_f32(self) -> f32 {
        crate::halfconv::f16_to_f32(self.0)
    }
    #[inline(always)]
    pub fn from_f32(x: f32) -> F16 {
        F16(crate::halfconv::f32_to_f16(x))
    }
}

impl Bf16 {
    #[inline(always)]
    pub fn to_f32(self) -> f32 {
        crate::halfconv::bf16_to_f32(self.0)
    }
    #[inline(always)]
    pub fn from_f32(x: f32) -> Bf16 {
        Bf16(crate::halfconv::f32_to_bf16(x))
    }
}

/// The half dtypes convert through float32 (exact for them), except where `from_f64` says.
macro_rules! half_element {
    ($t:ident, $dt:expr, $from_f64:expr) => {
        impl Element for $t {
            const DTYPE: DType = $dt;
            #[inline(always)]
            fn from_f64(v: f64) -> Self {
                $from_f64(v)
            }
            #[inline(always)]
            fn from_i64(v: i64) -> Self {
                $t::from_f32(v as f32)
            }
            #[inline(always)]
            fn to_f64(self) -> f64 {
                self.to_f32() as f64
            }
            #[inline(always)]
            fn to_i64(self) -> i64 {
                self.to_f32() as i64
            }
        }
    };
}

// float16 rounds a float64 once; bfloat16 rounds it to float32 first.
half_element!(F16, DType::F16, |v: f64| F16(crate::halfconv::f64_to_f16(v)));
half_element!(Bf16, DType::BF16, |v: f64| Bf16::from_f32(v as f32));
