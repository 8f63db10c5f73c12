//! One thread that runs short jobs (light plans called asynchronously) in arrival order. After
//! a job it spins for a while before parking: waking a parked thread costs more than such a job
//! (~13 µs per wake-up on this VM against a few µs of work), and callers awaiting one call
//! after another submit the next within that window.

use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

type Job = Box<dyn FnOnce() + Send>;

/// How long the thread keeps looking for work after a job before it parks.
pub const SPIN: Duration = Duration::from_micros(100);

/// A yield taking longer than this means other threads want the core: stop spinning.
const CONTENDED: Duration = Duration::from_micros(20);

struct Queue {
    jobs: Mutex<VecDeque<Job>>,
    /// Jobs queued: read without the lock while spinning.
    len: AtomicUsize,
    /// The thread is (about to be) waiting on `wake`; set and read under `jobs`' lock.
    parked: AtomicBool,
    wake: Condvar,
}

static QUEUE: OnceLock<Queue> = OnceLock::new();

fn queue() -> &'static Queue {
    QUEUE.get_or_init(|| Queue { jobs: Mutex::new(VecDeque::new()), len: AtomicUsize::new(0), parked: AtomicBool::new(false), wake: Condvar::new() })
}

/// Queues `job`. Gives it back when the thread could not be started, for the caller to run some
/// other way.
pub fn submit(job: impl FnOnce() + Send + 'static) -> Result<(), Box<dyn FnOnce() + Send>> {
    static STARTED: OnceLock<bool> = OnceLock::new();
    let job: Job = Box::new(job);
    if !*STARTED.get_or_init(|| std::thread::Builder::new().name("flaxen-exec".into()).spawn(run).is_ok()) {
        return Err(job);
    }
    let q = queue();
    let mut jobs = q.jobs.lock().unwrap_or_else(|e| e.into_inner());
    jobs.push_back(job);
    q.len.fetch_add(1, Ordering::Release);
    if q.parked.load(Ordering::Relaxed) {
        q.wake.notify_one();
    }
    Ok(())
}

fn run() {
    let q = queue();
    let mut last = Instant::now();
    loop {
        if q.len.load(Ordering::Acquire) > 0 {
            let job = q.jobs.lock().unwrap_or_else(|e| e.into_inner()).pop_front();
            if let Some(job) = job {
                q.len.fetch_sub(1, Ordering::Release);
                // A job settles its own result; a panic must not take the thread with it.
                let _ = catch_unwind(AssertUnwindSafe(job));
                last = Instant::now();
            }
            continue;
        }
        if last.elapsed() < SPIN {
            // Yield rather than busy-wait, and park at once when a yield took long: the core
            // is contended, and there a spinning thread only loses its scheduling priority to
            // the threads that sleep (measured under load: awaited calls 4× slower than
            // through libuv's sleeping pool). On an idle core a yield returns in about a µs.
            let t = Instant::now();
            std::thread::yield_now();
            if t.elapsed() < CONTENDED {
                continue;
            }
        }
        let mut jobs = q.jobs.lock().unwrap_or_else(|e| e.into_inner());
        q.parked.store(true, Ordering::Relaxed);
        while jobs.is_empty() {
            jobs = q.wake.wait(jobs).unwrap_or_else(|e| e.into_inner());
        }
        q.parked.store(false, Ordering::Relaxed);
        drop(jobs);
        last = Instant::now();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;

    #[test]
    fn runs_jobs_in_order_after_parking() {
        let (tx, rx) = mpsc::channel();
        for i in 0..100 {
            let tx = tx.clone();
            super::submit(move || tx.send(i).unwrap()).ok().unwrap();
        }
        let got: Vec<i32> = (0..100).map(|_| rx.recv().unwrap()).collect();
        assert_eq!(got, (0..100).collect::<Vec<_>>());
        // Past the spin window the thread parks; a new job must still wake it.
        std::thread::sleep(super::SPIN * 20);
        let tx2 = tx.clone();
        super::submit(move || tx2.send(7).unwrap()).ok().unwrap();
        assert_eq!(rx.recv_timeout(std::time::Duration::from_secs(5)).unwrap(), 7);
        // A panicking job does not stop the thread.
        super::submit(|| panic!("job panics")).ok().unwrap();
        super::submit(move || tx.send(8).unwrap()).ok().unwrap();
        assert_eq!(rx.recv_timeout(std::time::Duration::from_secs(5)).unwrap(), 8);
    }
}
