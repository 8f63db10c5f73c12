//! When and how kernels go parallel. The machine targets are small (2+ cores), so kernels only
//! split work that is large enough to pay for rayon's scheduling (~a few µs).

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use rayon::prelude::*;

mod handoff;

/// Element count above which elementwise kernels use rayon.
pub const PAR_MIN: usize = 1 << 16;

/// Whether a kernel over `len` elements should split its work across the pool: large enough to
/// pay for rayon's scheduling, and a pool of more than one thread (with one, a parallel call
/// would only hand the work to the pool's thread and wait for it: a wake-up per kernel).
#[inline]
pub(crate) fn parallel(len: usize) -> bool {
    len >= PAR_MIN && rayon::current_num_threads() > 1
}

/// Elements per parallel chunk of an elementwise kernel.
pub(crate) const CHUNK: usize = 1 << 14;

/// Calls `f(start, chunk)` over `out` split into chunks of `chunk` elements (the last may be
/// shorter), in parallel when `out` is large. `start` is the chunk's flat offset.
pub(crate) fn chunks<T: Send>(
    out: &mut [T],
    chunk: usize,
    f: impl Fn(usize, &mut [T]) + Sync + Send,
) {
    let chunk = chunk.max(1);
    if crate::par::parallel(out.len()) {
        each_chunk(out, chunk, f);
    } else {
        out.chunks_mut(chunk)
            .enumerate()
            .for_each(|(i, c)| f(i * chunk, c));
    }
}

/// `f(start, chunk)` over `out` cut into chunks of `chunk` elements (the last may be shorter),
/// spread over the pool (`each`) whatever their size: `chunks` once the output is large, and
/// loops whose chunks are each a lot of work (conv+pool's batch slices).
pub(crate) fn each_chunk<T: Send>(out: &mut [T], chunk: usize, f: impl Fn(usize, &mut [T]) + Sync + Send) {
    let chunk = chunk.max(1);
    let (len, base) = (out.len(), SendPtr(out.as_mut_ptr()));
    each(len.div_ceil(chunk), |i| {
        let start = i * chunk;
        // SAFETY: chunk i is elements start..min(start + chunk, len) of `out`, which no other
        // index touches; `out` is borrowed mutably for the whole loop.
        f(start, unsafe { std::slice::from_raw_parts_mut(base.get().add(start), chunk.min(len - start)) })
    });
}

/// `f(i)` for every `i < n`, spread over the pool: through a lingering worker's slot when one
/// waits (`handoff`: ~1 µs to fork and join instead of rayon's ~2.5), else rayon's queues.
/// Each thread starts on a contiguous share of the indices and then steals from the others',
/// so uneven tasks balance.
pub(crate) fn each(n: usize, f: impl Fn(usize) + Sync + Send) {
    if n <= 1 || rayon::current_num_threads() < 2 {
        (0..n).for_each(f);
    } else {
        spread(n, &f);
    }
}

/// `each`'s parallel half, on a trait object: rayon's job machinery (its join closures, stack
/// jobs and cold paths) is then compiled once, rather than once per kernel with the kernel
/// inlined into each copy; that was about a third of the binary. The cost is one indirect call
/// per index, and an index is a chunk of work.
#[inline(never)]
fn spread(n: usize, f: &(dyn Fn(usize) + Sync)) {
    if !handoff::run(n, f) {
        (0..n).into_par_iter().for_each(f);
    }
}

/// A raw pointer that may cross threads: used when parallel tasks write disjoint regions that
/// cannot be expressed as disjoint slices (e.g. column blocks of a matrix).
pub(crate) struct SendPtr<T>(pub *mut T);
// By hand: derived, they would ask `T: Copy` (a pointer copies whatever it points to).
impl<T> Clone for SendPtr<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for SendPtr<T> {}
// SAFETY: users guarantee that concurrent tasks write disjoint elements.
unsafe impl<T> Send for SendPtr<T> {}
unsafe impl<T> Sync for SendPtr<T> {}

impl<T> SendPtr<T> {
    /// The pointer. A method (not `.0`) so closures capture the whole `SendPtr`, which is
    /// `Send`/`Sync`, rather than the raw field, which is not.
    #[inline(always)]
    pub(crate) fn get(self) -> *mut T {
        self.0
    }
}

/// The pool size: `FLAXEN_NUM_THREADS`, else `RAYON_NUM_THREADS` (rayon's own rule), if a
/// positive integer; else the available cores.
pub fn configured_threads() -> usize {
    let var = |name: &str| std::env::var(name).ok().and_then(|v| v.trim().parse::<usize>().ok()).filter(|&n| n > 0);
    var("FLAXEN_NUM_THREADS")
        .or_else(|| var("RAYON_NUM_THREADS"))
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// Builds the global pool with the calling thread as worker 0 and `threads` in all: parallel
/// kernels called from this thread then start their share at once instead of queueing the job
/// and parking until the workers finish. The caller must stay alive for the process's life and
/// `threads` must be at least 2 (the calling thread only runs jobs it makes itself, so jobs
/// from other threads need another worker). False if the global pool already existed.
pub fn join_global_pool(threads: usize) -> bool {
    assert!(threads >= 2, "join_global_pool needs at least 2 threads, got {threads}");
    kernel_pool(threads).use_current_thread().build_global().is_ok()
}

/// Builds the global pool with `threads` workers of its own (the calling thread not among them).
/// False if the global pool already existed.
pub fn size_global_pool(threads: usize) -> bool {
    kernel_pool(threads).build_global().is_ok()
}

/// The global pool's builder. Its threads are named (as `top -H` and `perf` show them); with
/// the caller as worker 0, only the others are spawned and named.
fn kernel_pool(threads: usize) -> rayon::ThreadPoolBuilder {
    rayon::ThreadPoolBuilder::new().num_threads(threads).thread_name(|i| format!("flaxen-kernel-{i}"))
}

/// Threads of the pool that runs plans called asynchronously (0 = `configured_threads()`).
static ASYNC_THREADS: AtomicUsize = AtomicUsize::new(0);

static ASYNC_POOL: std::sync::Mutex<Option<std::sync::Arc<rayon::ThreadPool>>> = std::sync::Mutex::new(None);

/// Sets the size of the async pool (0 = the default); the next async run builds it anew.
/// Runs already in flight finish on the pool they started on.
pub fn set_async_threads(n: usize) {
    ASYNC_THREADS.store(n, Ordering::Relaxed);
    *ASYNC_POOL.lock().unwrap_or_else(|e| e.into_inner()) = None;
}

/// The async pool's size.
pub fn async_threads() -> usize {
    match ASYNC_THREADS.load(Ordering::Relaxed) {
        0 => configured_threads(),
        n => n,
    }
}

/// Runs `f` inside the async pool: its parallel kernels use that pool's workers. Plans called
/// asynchronously run here rather than in the global pool, whose worker 0 is the JS thread
/// (which only works on jobs it starts itself): there they would get one core fewer.
pub fn in_async_pool<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    let pool = {
        let mut slot = ASYNC_POOL.lock().unwrap_or_else(|e| e.into_inner());
        match &*slot {
            Some(p) => p.clone(),
            None => {
                let built = rayon::ThreadPoolBuilder::new().num_threads(async_threads()).thread_name(|i| format!("flaxen-async-{i}")).build();
                match built {
                    Ok(p) => slot.insert(std::sync::Arc::new(p)).clone(),
                    // No threads could be started: run on the calling (libuv) thread instead.
                    Err(_) => return f(),
                }
            }
        }
    };
    pool.install(f)
}

/// How long the pool's other workers keep looking for work after a synchronous run.
pub const LINGER: std::time::Duration = std::time::Duration::from_millis(1);

/// Idle rounds of a lingering worker per OS yield (the others spin, ~0.5 µs each).
const SPINS_PER_YIELD: u32 = 256;

/// An OS yield taking longer than this means other threads want the core: stop lingering.
const CONTENDED: std::time::Duration = std::time::Duration::from_micros(20);

/// Synchronous runs in progress (`warm` guards alive).
static ACTIVE: AtomicUsize = AtomicUsize::new(0);
/// Linger jobs running or queued.
static LINGERING: AtomicUsize = AtomicUsize::new(0);
/// When lingering ends, in ns since `epoch()`.
static UNTIL: AtomicU64 = AtomicU64::new(0);

fn epoch() -> std::time::Instant {
    static E: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    *E.get_or_init(std::time::Instant::now)
}

fn now_ns() -> u64 {
    epoch().elapsed().as_nanos() as u64
}

/// Keeps the global pool's other workers awake while a run from this thread is in progress
/// and for `LINGER` after it (the guard's drop). A parked rayon worker takes tens of µs to
/// wake on a VM, and a run pays that at each parallel kernel that follows serial work (a batch-1
/// model: several per call, as much as the work itself); callers calling again within the
/// window find the workers awake too. Each worker does so in a job that runs the pool's
/// pending work (`rayon::yield_now`) until the window ends, or at once when the core is
/// contended. Inert with one thread.
pub fn warm() -> Warm {
    let threads = rayon::current_num_threads();
    if threads < 2 {
        return Warm(false);
    }
    let _ = epoch();
    ACTIVE.fetch_add(1, Ordering::AcqRel);
    // The calling thread is (at most) one worker: the others linger.
    let spawner = std::thread::current().id();
    while LINGERING.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| (n + 1 < threads).then_some(n + 1)).is_ok() {
        rayon::spawn(move || linger(spawner));
    }
    Warm(true)
}

/// Ends a run's `warm` window (LINGER from now).
pub struct Warm(bool);

impl Drop for Warm {
    fn drop(&mut self) {
        if self.0 {
            UNTIL.fetch_max(now_ns() + LINGER.as_nanos() as u64, Ordering::AcqRel);
            ACTIVE.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

fn linger(spawner: std::thread::ThreadId) {
    // Not on the thread that asked (worker 0 may pick its own job up while it waits).
    if std::thread::current().id() != spawner {
        let watch = handoff::Watch::open(rayon::current_thread_index());
        let mut idle = 0u32;
        while ACTIVE.load(Ordering::Acquire) > 0 || now_ns() < UNTIL.load(Ordering::Acquire) {
            if watch.serve() {
                continue;
            }
            match rayon::yield_now() {
                Some(rayon::Yield::Executed) => {}
                // Mostly spin (`pause`) rather than yield to the OS each time: a syscall per
                // round made the small steps of a run slower. mnist CNN batch 1 on 2 threads,
                // medians of alternated runs: 121-125 -> 98-111 µs. Every 256th idle round
                // still yields, to notice a contended core.
                Some(rayon::Yield::Idle) => {
                    idle = idle.wrapping_add(1);
                    if !idle.is_multiple_of(SPINS_PER_YIELD) {
                        for _ in 0..32 {
                            if watch.pending() {
                                break;
                            }
                            std::hint::spin_loop();
                        }
                        continue;
                    }
                    let t = std::time::Instant::now();
                    std::thread::yield_now();
                    if t.elapsed() >= CONTENDED {
                        break;
                    }
                }
                None => break,
            }
        }
        watch.close();
    }
    LINGERING.fetch_sub(1, Ordering::AcqRel);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warm_workers_run_parallel_work_then_stop_lingering() {
        let guard = warm();
        let sum: u64 = (0..1_000_000u64).into_par_iter().sum();
        assert_eq!(sum, 999_999 * 1_000_000 / 2);
        drop(guard);
        let t = std::time::Instant::now();
        while LINGERING.load(Ordering::Acquire) > 0 {
            assert!(t.elapsed() < std::time::Duration::from_secs(10), "the linger jobs did not end");
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        assert_eq!(ACTIVE.load(Ordering::Acquire), 0);
    }
}
