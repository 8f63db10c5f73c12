//! Array creation: copies from JS typed arrays and fills.

use flaxen_core::{DType, Tensor};
use node_api::{CallbackInfo, Env, JsError, TypedArrayInfo, TypedArrayType, Value};

use crate::{args, handle};

/// `fromData(typedArray, dtype, shape)`: copies (and casts) the elements into new storage.
pub fn from_data(env: Env, info: CallbackInfo) -> Result<Value, JsError> {
    let data = info.arg(0);
    if !env.is_typedarray(data)? {
        return Err(JsError::type_error("E_TYPE", "data: expected a typed array"));
    }
    let ta = env.typedarray_info(data)?;
    let dtype = args::dtype(env, info.arg(1), "dtype")?;
    let shape = args::shape(env, info.arg(2), "shape")?;
    let needed: usize = shape.iter().product();
    if ta.len != needed {
        return Err(JsError::error(
            "E_SHAPE",
            format!("fromData: data has {} elements but shape {shape:?} needs {needed}", ta.len),
        ));
    }
    // The copy below takes 8 bytes an element on the way: checked against the cap, and
    // reserved fallibly, so a huge typed array is an error rather than an abort.
    flaxen_core::storage::check_alloc(needed, 8.max(dtype.size()), "fromData").map_err(args::core_error)?;
    let values = read_f64(&ta)?;
    handle::wrap(env, cast_from_f64(&values, dtype, &shape))
}

/// The elements of a numeric typed array as f64 (exact for every supported kind).
fn read_f64(ta: &TypedArrayInfo) -> Result<Vec<f64>, JsError> {
    let mut v: Vec<f64> = Vec::new();
    v.try_reserve_exact(ta.len).map_err(|_| {
        JsError::range_error("E_ALLOC", format!("fromData: could not reserve {} bytes to copy the data", ta.len.saturating_mul(8)))
    })?;
    // SAFETY (each arm): the kind was matched, so the element type is right; the slice is read
    // during this callback while no JS runs.
    unsafe {
        match ta.kind {
            TypedArrayType::Float32 => v.extend(ta.as_slice::<f32>()?.iter().map(|&x| x as f64)),
            TypedArrayType::Float64 => v.extend_from_slice(ta.as_slice::<f64>()?),
            TypedArrayType::Int32 => v.extend(ta.as_slice::<i32>()?.iter().map(|&x| x as f64)),
            TypedArrayType::Uint32 => v.extend(ta.as_slice::<u32>()?.iter().map(|&x| x as f64)),
            TypedArrayType::Int16 => v.extend(ta.as_slice::<i16>()?.iter().map(|&x| x as f64)),
            TypedArrayType::Uint16 => v.extend(ta.as_slice::<u16>()?.iter().map(|&x| x as f64)),
            TypedArrayType::Int8 => v.extend(ta.as_slice::<i8>()?.iter().map(|&x| x as f64)),
            TypedArrayType::Uint8 | TypedArrayType::Uint8Clamped => v.extend(ta.as_slice::<u8>()?.iter().map(|&x| x as f64)),
            other => {
                return Err(JsError::type_error("E_TYPE", format!("data: {other:?} arrays are not supported")));
            }
        }
    };
    Ok(v)
}

/// Casts like numpy's `astype`: floats to ints truncate toward zero, anything to bool is `!= 0`.
fn cast_from_f64(v: &[f64], dtype: DType, shape: &[usize]) -> flaxen_core::Result<Tensor> {
    match dtype {
        DType::F32 => Tensor::from_vec(v.iter().map(|&x| x as f32).collect::<Vec<_>>(), shape),
        DType::I32 => Tensor::from_vec(v.iter().map(|&x| x as i32).collect::<Vec<_>>(), shape),
        DType::U32 => Tensor::from_vec(v.iter().map(|&x| x as i64 as u32).collect::<Vec<_>>(), shape),
        DType::U16 => Tensor::from_vec(v.iter().map(|&x| x as i64 as u16).collect::<Vec<_>>(), shape),
        DType::U8 => Tensor::from_vec(v.iter().map(|&x| x as i64 as u8).collect::<Vec<_>>(), shape),
        DType::I8 => Tensor::from_vec(v.iter().map(|&x| x as i64 as i8).collect::<Vec<_>>(), shape),
        DType::Bool => Tensor::from_vec(v.iter().map(|&x| x != 0.0).collect::<Vec<_>>(), shape),
        // As `jnp.array(x, dtype)`: float16 rounds the f64 directly, bfloat16 through float32.
        DType::F16 => Tensor::from_vec(v.iter().map(|&x| flaxen_core::F16(flaxen_core::halfconv::f64_to_f16(x))).collect::<Vec<_>>(), shape),
        DType::BF16 => Tensor::from_vec(v.iter().map(|&x| flaxen_core::Bf16(flaxen_core::halfconv::f64_to_bf16(x))).collect::<Vec<_>>(), shape),
    }
}
