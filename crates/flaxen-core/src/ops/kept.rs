//! Derived forms of weights kept for the storage they came from: Winograd's transformed
//! kernels and weights packed in the microkernel's panels (`gemm::BKind::Panels`).
//!
//! A served model passes the same weights every call, so their transform need not be redone
//! per call. Sound as plan reuse is (`plan/reuse.rs`): the core never writes a storage it has
//! returned, so the same storage holds the same bytes unless JS can write it, and a storage
//! exposed to JS (`.data`) is never kept. In-place writes (`Tensor::raw_mut`, a donated
//! buffer) need the only reference to a storage, which the `Weak` held here denies. Identity
//! is the storage's address held through that `Weak`, which also keeps the address from being
//! reused while the entry exists; entries of dropped or exposed weights are let go at the next
//! lookup.

use std::sync::{Arc, Mutex, Weak};

use crate::storage::Storage;

/// What a kept form is, with the dimensions it was made for.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Form {
    /// Winograd's (side + 2)² transformed C×O kernels, for output tiles of side × side.
    Winograd { c: usize, o: usize, side: usize },
    /// The storage's first k×n floats as a row-major matrix, in panels.
    Panels { k: usize, n: usize },
}

/// A kept form's floats, the first one 64-byte aligned (the microkernel's loads then never
/// straddle cache lines).
pub(crate) struct Floats {
    buf: Vec<f32>,
    at: usize,
    len: usize,
}

impl std::ops::Deref for Floats {
    type Target = [f32];
    fn deref(&self) -> &[f32] {
        &self.buf[self.at..self.at + self.len]
    }
}

struct Entry {
    src: Weak<Storage>,
    form: Form,
    /// None: seen once, not made yet (`Make::OnReuse`).
    floats: Option<Arc<Floats>>,
}

/// Kept entries, least recently used first, the bytes of their forms and the most bytes kept.
struct Store {
    entries: Vec<Entry>,
    bytes: usize,
    cap: usize,
}

impl Store {
    const fn new(cap: usize) -> Store {
        Store { entries: Vec::new(), bytes: 0, cap }
    }
}

static KEPT: Mutex<Store> = Mutex::new(Store::new(KEEP_BYTES));

/// Most bytes of forms kept (ResNet-18 at batch 1: 22 MB of Winograd kernels and 33 MB of
/// panels; at batch 8, 72 MB of Winograd kernels; the batch-32 MLP of the bench, 8 MB of
/// panels).
const KEEP_BYTES: usize = 256 << 20;
/// Most entries: each lookup scans them all.
const MOST: usize = 1024;

/// When a form is made.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Make {
    /// At the first call (the caller would make it anyway, into scratch).
    Now,
    /// At the second call with the same storage: a weight read once (an eager call, an
    /// intermediate) is not copied for nothing.
    OnReuse,
}

/// The form `form` of the weights in `src`, made by `fill` (given `len` floats to write in
/// full) and kept while `src` lives. None when the storage is exposed, the form does not fit
/// what is left of the budget or the byte cap, memory is short, or (`Make::OnReuse`) this is
/// the first call.
pub(crate) fn kept(src: &Arc<Storage>, form: Form, len: usize, make: Make, fill: impl FnOnce(&mut [f32])) -> Option<Arc<Floats>> {
    kept_in(&KEPT, src, form, len, make, fill)
}

fn kept_in(store: &Mutex<Store>, src: &Arc<Storage>, form: Form, len: usize, make: Make, fill: impl FnOnce(&mut [f32])) -> Option<Arc<Floats>> {
    if src.is_exposed() {
        return None;
    }
    let same = |e: &Entry| e.form == form && std::ptr::eq(e.src.as_ptr(), Arc::as_ptr(src));
    // Some(found) when an entry exists (moved to the back), None when there is none.
    let find = |kept: &mut Store| -> Option<Option<Arc<Floats>>> {
        kept.entries.retain(|e| e.src.upgrade().is_some_and(|s| !s.is_exposed()));
        kept.bytes = kept.entries.iter().filter_map(|e| e.floats.as_ref()).map(|f| 4 * f.len).sum();
        let i = kept.entries.iter().position(same)?;
        let e = kept.entries.remove(i);
        let found = e.floats.clone();
        kept.entries.push(e);
        Some(found)
    };
    let remember = |kept: &mut Store, floats: Option<Arc<Floats>>| {
        if kept.entries.len() >= MOST {
            // The oldest sighting not made yet goes first, else the oldest form.
            let gone = kept.entries.remove(kept.entries.iter().position(|e| e.floats.is_none()).unwrap_or(0));
            kept.bytes -= gone.floats.map_or(0, |f| 4 * f.len);
        }
        kept.bytes += floats.as_ref().map_or(0, |f| 4 * f.len);
        kept.entries.push(Entry { src: Arc::downgrade(src), form, floats });
    };
    {
        let mut k = store.lock().unwrap_or_else(|e| e.into_inner());
        match find(&mut k) {
            Some(Some(f)) => return Some(f),
            None if make == Make::OnReuse => {
                remember(&mut k, None);
                return None;
            }
            _ => {}
        }
        // Live forms are never evicted to make room: with more weights than the budget, a
        // model's later layers would evict its first ones every call and each call would remake
        // them all. The forms that fit are kept; the rest of the weights are read as they are.
        if k.bytes + 4 * len > k.cap {
            return None;
        }
    }
    // Within the byte cap a single storage has (`FLAXEN_MAX_BYTES`).
    if 4 * len > crate::storage::max_bytes() {
        return None;
    }
    let mut buf = Vec::new();
    buf.try_reserve_exact(len + 16).ok()?;
    buf.resize(len + 16, 0.0);
    let at = buf.as_ptr().align_offset(64).min(16);
    fill(&mut buf[at..at + len]);
    let floats = Arc::new(Floats { buf, at, len });
    let mut k = store.lock().unwrap_or_else(|e| e.into_inner());
    match find(&mut k) {
        Some(Some(other)) => return Some(other), // made meanwhile by another thread
        Some(None) => k.entries.retain(|e| !same(e)),
        None => {}
    }
    remember(&mut k, Some(floats.clone()));
    Some(floats)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor::Tensor;

    fn fill_with(v: f32) -> impl FnOnce(&mut [f32]) {
        move |out| out.fill(v)
    }

    #[test]
    fn forms_are_kept_per_storage_and_form_and_never_for_exposed_weights() {
        let w = Tensor::from_vec(vec![1f32; 64], &[8, 8]).unwrap();
        let src = w.storage().clone();
        let form = Form::Panels { k: 8, n: 8 };
        // OnReuse: nothing at the first call, made at the second, the same form after.
        assert!(kept(&src, form, 16, Make::OnReuse, fill_with(1.0)).is_none());
        let made = kept(&src, form, 16, Make::OnReuse, fill_with(2.0)).unwrap();
        assert_eq!((made.len(), made[0], made.as_ptr() as usize % 64), (16, 2.0, 0));
        let again = kept(&src, form, 16, Make::OnReuse, |_| panic!("made twice")).unwrap();
        assert!(Arc::ptr_eq(&made, &again));
        // Another form of the same storage is its own entry; Now makes it at once.
        let other = kept(&src, Form::Panels { k: 4, n: 16 }, 16, Make::Now, fill_with(3.0)).unwrap();
        assert_eq!(other[5], 3.0);
        // A storage JS can write is never kept, and its entries go.
        src.mark_exposed();
        assert!(kept(&src, form, 16, Make::Now, fill_with(4.0)).is_none());
        let x = Tensor::from_vec(vec![0f32; 4], &[4]).unwrap();
        kept(x.storage(), Form::Panels { k: 1, n: 4 }, 32, Make::OnReuse, fill_with(0.0));
        let k = KEPT.lock().unwrap();
        assert!(k.entries.iter().all(|e| !std::ptr::eq(e.src.as_ptr(), Arc::as_ptr(&src))));
    }

    #[test]
    fn forms_that_fit_the_budget_stay_and_the_rest_are_declined_not_swapped_in() {
        // A budget of 96 floats: two forms of 40 fit, a third is declined at every call
        // instead of evicting the first (which would remake them all, call after call).
        let store = Mutex::new(Store::new(4 * 96));
        let ws: Vec<Tensor> = (0..3).map(|_| Tensor::from_vec(vec![1f32; 40], &[4, 10]).unwrap()).collect();
        let form = Form::Panels { k: 4, n: 10 };
        let get = |w: &Tensor, v: f32| kept_in(&store, w.storage(), form, 40, Make::Now, fill_with(v));
        let (a, b) = (get(&ws[0], 1.0).unwrap(), get(&ws[1], 2.0).unwrap());
        for _ in 0..2 {
            assert!(get(&ws[2], 3.0).is_none());
            assert!(Arc::ptr_eq(&a, &get(&ws[0], 9.0).unwrap()) && Arc::ptr_eq(&b, &get(&ws[1], 9.0).unwrap()));
        }
        assert_eq!(store.lock().unwrap().bytes, 4 * 80);
        // Once a kept weight is dropped, its bytes are free for the next.
        drop((a, ws.into_iter().next()));
        let w = Tensor::from_vec(vec![1f32; 40], &[4, 10]).unwrap();
        assert_eq!(get(&w, 4.0).unwrap()[0], 4.0);
    }

    #[test]
    fn entries_of_dropped_weights_are_let_go_and_in_place_writes_are_denied() {
        let mut w = Tensor::from_vec(vec![1f32; 16], &[4, 4]).unwrap();
        let src = w.storage().clone();
        let form = Form::Panels { k: 4, n: 4 };
        assert!(kept(&src, form, 128, Make::Now, fill_with(1.0)).is_some());
        drop(src);
        // The entry's Weak denies writing the weights in place (a donated buffer is copied).
        assert!(w.raw_mut::<f32>().is_none());
        let weak = Arc::downgrade(w.storage());
        drop(w);
        assert!(weak.upgrade().is_none());
        // The next lookup (of anything) lets the dead entry go.
        let x = Tensor::from_vec(vec![0f32; 4], &[4]).unwrap();
        kept(x.storage(), Form::Panels { k: 1, n: 4 }, 32, Make::OnReuse, fill_with(0.0));
        let k = KEPT.lock().unwrap();
        assert!(k.entries.iter().all(|e| !std::ptr::eq(e.src.as_ptr(), weak.as_ptr())));
    }
}
