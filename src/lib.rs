//! The flaxen addon: binds `flaxen-core` to JS through our `node-api` layer, nothing else.
//! Every entry point validates its arguments (wrong JS types → TypeError `E_TYPE`; core errors
//! keep their codes) before any kernel runs.

mod alloc;
mod args;
mod creation;
mod handle;
mod io;
mod memory;
mod op;
mod plan;
mod random;
mod threads;
mod trace;

use node_api::{Callback, Env, JsError, Value};

#[global_allocator]
static ALLOC: alloc::CachingAlloc = alloc::CachingAlloc;

/// Every function the addon exports, by its JS name.
const FUNCTIONS: &[(&str, Callback)] = &[
    ("op", op::op),
    ("fromData", creation::from_data),
    ("meta", memory::meta),
    ("view", memory::view),
    ("dispose", memory::dispose),
    ("liveBytes", memory::live_bytes),
    ("blockUntilReady", memory::block_until_ready),
    ("keyFromSeed", random::key_from_seed),
    ("traceBegin", trace::begin),
    ("traceInput", trace::input),
    ("traceEnd", trace::end),
    ("traceAbort", trace::abort),
    ("traceEvalKnown", trace::eval_known),
    ("planRun", plan::run),
    ("planRunAsync", plan::run_async),
    ("planStats", plan::stats),
    ("cancelToken", plan::new_cancel_token),
    ("cancel", plan::cancel),
    ("setNumThreads", plan::set_num_threads),
    ("getNumThreads", plan::get_num_threads),
    ("floorExternal", memory::floor_external),
    ("setMaxBytes", memory::set_max_bytes),
    ("getMaxBytes", memory::get_max_bytes),
    ("safetensorsLoad", io::safetensors_load),
    ("safetensorsHeader", io::safetensors_header),
    ("safetensorsSave", io::safetensors_save),
    ("msgpackRestore", io::msgpack_restore),
    ("msgpackSerialize", io::msgpack_serialize),
    ("registerErrorClass", register_error_class),
    ("panicForTest", panic_for_test),
];

fn init(env: Env, exports: Value) -> Result<(), JsError> {
    // A bad FLAXEN_MAX_BYTES fails the load with its E_ARG, rather than being ignored.
    flaxen_core::storage::max_bytes_from_env().map_err(args::core_error)?;
    // Likewise a bad FLAXEN_CPU, rather than silently running the widest kernels.
    flaxen_core::cpu::cap_from_env().map_err(args::core_error)?;
    memory::init_alloc_failures();
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
    env.set_named_property(exports, "OP_NAMES", op::names(env)?)?;
    env.set_named_property(exports, "CPU_LEVEL", env.create_string(flaxen_core::cpu::level().name())?)?;
    Ok(())
}

node_api::register_module!(init);

/// Panics on purpose, so tests can prove a panic surfaces as a JS Error with code `E_PANIC`.
fn panic_for_test(env: Env, info: node_api::CallbackInfo) -> Result<Value, JsError> {
    let message = args::string(env, info.arg(0), "message")?;
    panic!("{message}");
}

/// `registerErrorClass(code, ctor)`: errors with this code are thrown as `new ctor(message)`
/// (JAX's tracing errors, so `instanceof` works wherever they are raised).
fn register_error_class(env: Env, info: node_api::CallbackInfo) -> Result<Value, JsError> {
    let code = args::string(env, info.arg(0), "code")?;
    let ctor = info.arg(1);
    if env.type_of(ctor)? != node_api::ValueType::Function {
        return Err(JsError::type_error("E_TYPE", "ctor: expected a class"));
    }
    env.register_error_class(&code, ctor)?;
    env.undefined()
}
