// Link arguments for a Node addon built without napi-build.
fn main() {
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    match os.as_str() {
        // nodelete: Node never dlcloses an addon, but a worker thread that loaded it tears down
        // its env at exit; without nodelete the library can be unmapped while TLS destructors
        // (rayon's worker registry) still point into it, and the process crashes at exit.
        "linux" => println!("cargo:rustc-cdylib-link-arg=-Wl,-z,nodelete"),
        // Node's symbols are resolved against the running executable at load time.
        "macos" => {
            println!("cargo:rustc-cdylib-link-arg=-undefined");
            println!("cargo:rustc-cdylib-link-arg=dynamic_lookup");
        }
        _ => {}
    }
    println!("cargo:rerun-if-changed=build.rs");
}
