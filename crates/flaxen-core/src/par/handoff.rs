//! A fork-join over the pool's lingering workers that bypasses rayon's job queues. Handing a
//! job through rayon cost ~2.5 µs per parallel region on this VM (join of two 2 µs halves:
//! 4.6 µs), mostly the thief's steal: it touches several of the owner's cache lines, each
//! ~0.25 µs away on the other core. Here a lingering worker watches one slot of its own; the
//! caller writes a task's address there, each side works through its own share of the indices
//! and then steals from the other's, and the caller waits on one counter: a few line transfers
//! in all (the same join takes 3.4 µs). A batch-1 model runs several such regions per call.
//!
//! Nothing here waits for a worker to arrive: a task the worker has not taken by the time the
//! caller has run out of indices is taken back, so a busy, parked or departed worker costs
//! nothing but its help.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

/// Slot states; any other value is a posted `Task`'s address (64-byte aligned) plus its share.
const ABSENT: usize = 0;
const IDLE: usize = 1;
const BUSY: usize = 2;

/// Workers with a slot (rayon thread indices below this).
const SLOTS: usize = 64;

/// One worker's slot, alone on its cache lines (the prefetcher pulls pairs).
#[repr(align(128))]
struct Slot(AtomicUsize);

static SLOT: [Slot; SLOTS] = [const { Slot(AtomicUsize::new(ABSENT)) }; SLOTS];

/// A parallel loop `f(0..n)` in progress, on its caller's stack. Its indices are cut into one
/// contiguous share per participant, as rayon's halving would: each works through its own
/// share from the front (the order that keeps neighbouring tasks' inputs in its cache), then
/// takes halves of what is left of the others' from their backs.
#[repr(align(64))]
struct Task<'a> {
    f: &'a (dyn Fn(usize) + Sync),
    shares: Vec<Share>,
    /// Workers that took the task and have finished with it (their last access).
    done: AtomicUsize,
    panicked: AtomicBool,
}

/// The unclaimed indices front..back of one share, packed (front low, back high) so that a
/// claim from either end is one compare-and-swap; alone on its cache line.
#[repr(align(64))]
struct Share(AtomicU64);

fn unpack(v: u64) -> (usize, usize) {
    ((v & 0xffff_ffff) as usize, (v >> 32) as usize)
}

fn pack(front: usize, back: usize) -> u64 {
    front as u64 | (back as u64) << 32
}

impl Task<'_> {
    /// Runs share `me` from its front, then steals from the others until nothing is left.
    fn work(&self, me: usize) {
        let own = &self.shares[me].0;
        let mut v = own.load(Ordering::Relaxed);
        loop {
            let (front, back) = unpack(v);
            if front >= back {
                break;
            }
            match own.compare_exchange_weak(v, pack(front + 1, back), Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => {
                    (self.f)(front);
                    v = own.load(Ordering::Relaxed);
                }
                Err(now) => v = now,
            }
        }
        let k = self.shares.len();
        'steal: loop {
            for o in (1..k).map(|d| (me + d) % k) {
                let share = &self.shares[o].0;
                let v = share.load(Ordering::Relaxed);
                let (front, back) = unpack(v);
                if front >= back {
                    continue;
                }
                let from = back - ((back - front) / 2).max(1);
                if share.compare_exchange(v, pack(front, from), Ordering::Relaxed, Ordering::Relaxed).is_ok() {
                    (from..back).for_each(self.f);
                }
                // Taken or lost a race: look again from the start.
                continue 'steal;
            }
            return;
        }
    }
}

/// Runs `f(i)` for every `i < n`, with the help of whichever lingering workers take it up;
/// false (nothing run) if no worker of the current pool was waiting.
pub(super) fn run(n: usize, f: &(dyn Fn(usize) + Sync)) -> bool {
    run_among(n, f, rayon::current_thread_index(), rayon::current_num_threads())
}

/// `run` for the caller `me` (a worker index, if it is one) of a pool of `workers`.
fn run_among(n: usize, f: &(dyn Fn(usize) + Sync), me: Option<usize>, workers: usize) -> bool {
    if n > u32::MAX as usize {
        return false;
    }
    let workers = workers.min(SLOTS);
    // Which workers wait; each gets share 1, 2, … (the caller's is 0).
    let waiting: Vec<usize> = (0..workers).filter(|&w| Some(w) != me && SLOT[w].0.load(Ordering::Relaxed) == IDLE).collect();
    if waiting.is_empty() {
        return false;
    }
    let k = waiting.len() + 1;
    let shares = (0..k).map(|i| Share(AtomicU64::new(pack(n * i / k, n * (i + 1) / k)))).collect();
    let task = Task { f, shares, done: AtomicUsize::new(0), panicked: AtomicBool::new(false) };
    let addr = &task as *const Task as usize;
    // A slot holds the task's address plus the share (below the 64-byte alignment).
    let post = |i: usize| addr | (i + 1);
    let mut posted = 0u64;
    for (i, &w) in waiting.iter().enumerate() {
        // Release: a worker that takes the address sees the task (and what `f` reads).
        if SLOT[w].0.compare_exchange(IDLE, post(i), Ordering::AcqRel, Ordering::Relaxed).is_ok() {
            posted |= 1 << i;
        }
    }
    // The caller's own share; a panic must wait for the helpers before it unwinds this frame.
    let mine = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| task.work(0)));
    let mut taken = 0;
    for (i, &w) in waiting.iter().enumerate().filter(|&(i, _)| posted & (1 << i) != 0) {
        // Still posted: never taken, and now it cannot be (its share was run above). Anything
        // else: the worker took it (only a worker moves its slot off a posted address).
        if SLOT[w].0.compare_exchange(post(i), IDLE, Ordering::AcqRel, Ordering::Relaxed).is_err() {
            taken += 1;
        }
    }
    let mut spins = 0u32;
    // Acquire: the helpers' writes (their outputs) are visible once they count themselves done.
    while task.done.load(Ordering::Acquire) < taken {
        spins = spins.saturating_add(1);
        if spins < 1 << 14 {
            std::hint::spin_loop();
        } else {
            // A helper was descheduled: let it have the core.
            std::thread::yield_now();
        }
    }
    if let Err(p) = mine {
        std::panic::resume_unwind(p);
    }
    if task.panicked.load(Ordering::Relaxed) {
        panic!("a parallel task panicked on another thread");
    }
    true
}

/// The worker-side view of a slot, for the lingering loop of rayon worker `index`.
pub(super) struct Watch(Option<&'static AtomicUsize>);

impl Watch {
    /// Opens worker `index`'s slot for tasks (none if it has no slot).
    pub(super) fn open(index: Option<usize>) -> Watch {
        let slot = index.filter(|&i| i < SLOTS).map(|i| &SLOT[i].0);
        if let Some(s) = slot {
            s.store(IDLE, Ordering::Release);
        }
        Watch(slot)
    }

    /// Whether a task is waiting (a plain load: the line stays in this core's cache until a
    /// caller writes it).
    #[inline]
    pub(super) fn pending(&self) -> bool {
        self.0.is_some_and(|s| s.load(Ordering::Relaxed) > BUSY)
    }

    /// Runs a posted task's remaining indices, if one is there; true if it ran one.
    pub(super) fn serve(&self) -> bool {
        let Some(slot) = self.0 else { return false };
        let v = slot.load(Ordering::Acquire);
        if v <= BUSY || slot.compare_exchange(v, BUSY, Ordering::AcqRel, Ordering::Relaxed).is_err() {
            return false;
        }
        // SAFETY: `v` is a posted task's address (plus its share), and its caller waits (in
        // `run`) until this worker counts itself done, since the slot no longer holds the value
        // it would take back.
        let task = unsafe { &*((v & !63) as *const Task) };
        if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| task.work(v & 63))).is_err() {
            task.panicked.store(true, Ordering::Relaxed);
        }
        // The last access to the task: after it, the caller may return.
        task.done.fetch_add(1, Ordering::Release);
        slot.store(IDLE, Ordering::Release);
        true
    }

    /// Closes the slot; a task posted meanwhile is served first.
    pub(super) fn close(self) {
        let Some(slot) = self.0 else { return };
        while slot.compare_exchange(IDLE, ABSENT, Ordering::AcqRel, Ordering::Relaxed).is_err() {
            self.serve();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A helper thread serving slot `index` (above the global pool's) until `stop`.
    fn helper(index: usize, stop: &'static AtomicBool) -> std::thread::JoinHandle<()> {
        let opened = std::sync::Arc::new(std::sync::Barrier::new(2));
        let o = opened.clone();
        let h = std::thread::spawn(move || {
            let watch = Watch::open(Some(index));
            o.wait();
            while !stop.load(Ordering::Acquire) {
                if !watch.serve() {
                    std::hint::spin_loop();
                }
            }
            watch.close();
        });
        opened.wait();
        h
    }

    /// `run` from outside a pool of 8 workers (so slots up to 7 count).
    fn run8(n: usize, f: &(dyn Fn(usize) + Sync)) -> bool {
        run_among(n, f, None, 8)
    }

    #[test]
    fn handed_off_loops_run_every_index_once_and_carry_panics() {
        static STOP: AtomicBool = AtomicBool::new(false);
        let h = helper(6, &STOP);
        for n in [1usize, 2, 3, 17, 1000] {
            for round in 0..20 {
                let hits: Vec<AtomicUsize> = (0..n).map(|_| AtomicUsize::new(0)).collect();
                let ran = run8(n, &|i| {
                    if round % 2 == 1 {
                        // Uneven tasks: the stealing must still cover every index.
                        std::thread::sleep(std::time::Duration::from_micros((i % 7) as u64 * 20));
                    }
                    hits[i].fetch_add(1, Ordering::Relaxed);
                });
                assert!(ran, "slot 6 was open, so the loop was handed off (n = {n})");
                assert!(hits.iter().all(|h| h.load(Ordering::Relaxed) == 1), "n = {n}: every index exactly once");
            }
        }
        // A panic in either share reaches the caller, after the helper is done with the task.
        for bad in [0usize, 999] {
            let r = std::panic::catch_unwind(|| run8(1000, &|i| assert!(i != bad, "task {bad} fails")));
            assert!(r.is_err(), "a panicking task {bad} must panic the caller");
        }
        // The slot still serves afterwards.
        let hits: Vec<AtomicUsize> = (0..64).map(|_| AtomicUsize::new(0)).collect();
        assert!(run8(64, &|i| {
            hits[i].fetch_add(1, Ordering::Relaxed);
        }));
        assert!(hits.iter().all(|h| h.load(Ordering::Relaxed) == 1));
        STOP.store(true, Ordering::Release);
        h.join().unwrap();
        assert_eq!(SLOT[6].0.load(Ordering::Acquire), ABSENT);
    }

    #[test]
    fn an_unserved_post_is_taken_back_and_run_by_the_caller() {
        // Slot 7 is open but nobody serves it: the caller must run all of it and return.
        let watch = Watch::open(Some(7));
        let hits: Vec<AtomicUsize> = (0..100).map(|_| AtomicUsize::new(0)).collect();
        assert!(run8(100, &|i| {
            hits[i].fetch_add(1, Ordering::Relaxed);
        }));
        assert!(hits.iter().all(|h| h.load(Ordering::Relaxed) == 1));
        assert_eq!(SLOT[7].0.load(Ordering::Acquire), IDLE, "the post was withdrawn");
        watch.close();
        assert_eq!(SLOT[7].0.load(Ordering::Acquire), ABSENT);
    }
}
