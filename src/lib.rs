//! The flaxen addon: binds `flaxen-core` to JS through our `node-api` layer, nothing else.
//! Every entry point validates its arguments (wrong JS types → TypeError `E_TYPE`; core errors
//! keep their codes) before any kernel runs.

mod alloc;
mod args;
mod creation;
mod elementwise;
mod handle;
mod linalg;
mod memory;
mod norm;
mod operands;
mod ops;
mod random;
mod reductions;
mod round;
mod shape;
mod threads;

use node_api::{Callback, Env, JsError, Value};

#[global_allocator]
static ALLOC: alloc::CachingAlloc = alloc::CachingAlloc;

/// Every function the addon exports, by its JS name.
const FUNCTIONS: &[(&str, Callback)] = &[
    ("fromData", creation::from_data),
    ("full", creation::full),
    ("arange", creation::arange),
    ("linspace", creation::linspace),
    ("eye", creation::eye),
    ("meta", memory::meta),
    ("view", memory::view),
    ("dispose", memory::dispose),
    ("liveBytes", memory::live_bytes),
    ("blockUntilReady", memory::block_until_ready),
    ("matmul", ops::matmul),
    ("binary", ops::binary),
    ("binaryScalar", ops::binary_scalar),
    ("triu", ops::triu),
    ("tril", ops::tril),
    ("sign", ops::sign),
    ("relu", ops::relu),
    ("transpose", ops::transpose),
    ("sum", ops::sum),
    ("mean", ops::mean),
    ("reshape", ops::reshape),
    ("astype", ops::astype),
    ("unary", elementwise::unary),
    ("compare", elementwise::compare),
    ("compareScalar", elementwise::compare_scalar),
    ("logical", elementwise::logical),
    ("where", elementwise::where_),
    ("max", reductions::max),
    ("min", reductions::min),
    ("prod", reductions::prod),
    ("variance", reductions::var),
    ("std", reductions::std),
    ("argmax", reductions::argmax),
    ("argmin", reductions::argmin),
    ("softmax", reductions::softmax),
    ("logSoftmax", reductions::log_softmax),
    ("logsumexp", reductions::logsumexp),
    ("layerNorm", norm::layer_norm),
    ("round", round::round),
    ("take", shape::take),
    ("oneHot", shape::one_hot),
    ("concatenate", shape::concatenate),
    ("stack", shape::stack),
    ("expandDims", shape::expand_dims),
    ("squeeze", shape::squeeze),
    ("broadcastTo", shape::broadcast_to),
    ("swapaxes", shape::swapaxes),
    ("moveaxis", shape::moveaxis),
    ("threefry2x32", random::threefry2x32),
    ("keyFromSeed", random::key_from_seed),
    ("foldIn", random::fold_in),
    ("split", random::split),
    ("bits", random::bits),
    ("uniform", random::uniform),
    ("normal", random::normal),
    ("truncatedNormal", random::truncated_normal),
    ("randint", random::randint),
    ("bernoulli", random::bernoulli),
    ("qr", linalg::qr),
    ("panicForTest", panic_for_test),
];

fn init(env: Env, exports: Value) -> Result<(), JsError> {
    handle::init_env(env)?;
    threads::init_pool();
    for &(name, cb) in FUNCTIONS {
        let f = env.create_function(name, cb)?;
        env.set_named_property(exports, name, f)?;
    }
    let names = env.create_array(handle::DTYPES.len())?;
    for (i, dt) in handle::DTYPES.iter().enumerate() {
        env.set_element(names, i as u32, env.create_string(dt.name())?)?;
    }
    env.set_named_property(exports, "DTYPE_NAMES", names)?;
    Ok(())
}

node_api::register_module!(init);

/// Panics on purpose, so tests can prove a panic surfaces as a JS Error with code `E_PANIC`.
fn panic_for_test(env: Env, info: node_api::CallbackInfo) -> Result<Value, JsError> {
    let message = args::string(env, info.arg(0), "message")?;
    panic!("{message}");
}
