//! The kernels' thread pool. On the process's main thread (where Node runs JS), that thread
//! joins rayon's global pool as worker 0 (`flaxen_core::par::join_global_pool`): a parallel
//! kernel called from JS then starts its share at once on the calling thread, and the other
//! workers steal the rest as they wake. Otherwise rayon queues the whole job for its workers and
//! parks the JS thread until they finish: wake-ups of ~50–100 µs each on a VM whose idle vCPUs
//! sleep, paid by every kernel that follows some JS work (a module apply, say).
//!
//! Only on the main thread, and only with two threads or more: a Node worker thread may exit
//! (worker 0 would be gone), and with one thread in all, jobs queued from Node worker threads
//! would wait for a worker 0 that only runs jobs it makes itself.

use flaxen_core::par;

/// Sets up the global pool (once per process: the first env to load the addon decides).
pub fn init_pool() {
    let threads = par::configured_threads();
    // False means the pool already exists (the addon loaded twice, or rayon ran first): that
    // pool then serves, which is correct, only slower to start each kernel.
    if threads >= 2 && is_main_thread() {
        let _ = par::join_global_pool(threads);
    } else if threads == 1 {
        // Sized explicitly: rayon's own default reads only RAYON_NUM_THREADS, so
        // FLAXEN_NUM_THREADS=1 would still get a pool of every core, each kernel handed to it
        // while the calling thread waits. With one thread the kernels run on the caller.
        let _ = par::size_global_pool(1);
    }
}

#[cfg(all(target_os = "linux", any(target_arch = "x86_64", target_arch = "aarch64")))]
fn is_main_thread() -> bool {
    // gettid() as a system call: glibc's wrapper only exists since 2.30, and the release build
    // links against glibc 2.17 (the older distributions Node still runs on).
    #[cfg(target_arch = "x86_64")]
    const SYS_GETTID: i64 = 186;
    #[cfg(target_arch = "aarch64")]
    const SYS_GETTID: i64 = 178;
    extern "C" {
        fn getpid() -> i32;
        fn syscall(number: i64, ...) -> i64;
    }
    // SAFETY: getpid takes no arguments and cannot fail; gettid's system call takes no
    // arguments, cannot fail and only returns the calling thread's id.
    unsafe { i64::from(getpid()) == syscall(SYS_GETTID) }
}

#[cfg(not(all(target_os = "linux", any(target_arch = "x86_64", target_arch = "aarch64"))))]
fn is_main_thread() -> bool {
    false
}
