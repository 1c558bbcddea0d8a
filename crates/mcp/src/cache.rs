//! Analysis results per snapshot, computed once, and a bound on how many run at once.
//!
//! The analyses are pure and deterministic: the same snapshot and request give the same
//! report, so a report can be reused for as long as its snapshot is. Concurrent identical
//! requests wait for the one computation instead of each starting their own (an assistant
//! retrying, or paging through findings, asks the same thing again). Distinct requests
//! are admitted a few at a time: a diagnosis of a large cluster holds hundreds of MiB while
//! it runs, and the machine has few cores to run them on anyway.

use std::collections::BTreeMap;
use std::sync::{Arc, Condvar, Mutex, OnceLock};

use intel_analysis::report::Report;

/// Reports kept per snapshot; past it the cache starts over (requests are few and cheap
/// to recompute next to the memory a large report set would hold).
const MAX_ENTRIES: usize = 32;

type Slot<T> = Arc<OnceLock<Arc<T>>>;

/// Results of one snapshot, by a request key.
pub struct Cache<T> {
    slots: Mutex<BTreeMap<String, Slot<T>>>,
}

/// Diagnose reports.
pub type Reports = Cache<Report>;

impl<T> Default for Cache<T> {
    fn default() -> Self {
        Cache {
            slots: Mutex::new(BTreeMap::new()),
        }
    }
}

impl<T> Cache<T> {
    /// The result for `key`, computing it with `f` (at most once per key, whoever asks).
    pub fn get_or_compute(&self, key: String, f: impl FnOnce() -> T) -> Arc<T> {
        let slot = {
            let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
            if slots.len() >= MAX_ENTRIES && !slots.contains_key(&key) {
                slots.clear();
            }
            slots.entry(key).or_default().clone()
        };
        slot.get_or_init(|| {
            let _permit = GATE.enter();
            Arc::new(f())
        })
        .clone()
    }
}

/// A counting gate for blocking threads (the analyses run on tokio's blocking pool).
struct Gate {
    busy: Mutex<usize>,
    free: Condvar,
    max: usize,
}

struct Permit<'a>(&'a Gate);

impl Gate {
    fn enter(&self) -> Permit<'_> {
        let mut busy = self.busy.lock().unwrap_or_else(|p| p.into_inner());
        while *busy >= self.max {
            busy = self.free.wait(busy).unwrap_or_else(|p| p.into_inner());
        }
        *busy += 1;
        Permit(self)
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        let mut busy = self.0.busy.lock().unwrap_or_else(|p| p.into_inner());
        *busy = busy.saturating_sub(1);
        self.0.free.notify_one();
    }
}

/// One analysis per core at a time.
static GATE: std::sync::LazyLock<Gate> = std::sync::LazyLock::new(|| Gate {
    busy: Mutex::new(0),
    free: Condvar::new(),
    max: std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2),
});

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A real (empty) report, so the test follows the report type as it grows.
    fn report(summary: &str) -> Report {
        let mut r = intel_analysis::diagnose::diagnose(
            &intel_model::Fleet::default(),
            &intel_analysis::diagnose::Request::default(),
        );
        r.summary = summary.into();
        r
    }

    #[test]
    fn concurrent_identical_requests_compute_once() {
        let reports = Arc::new(Reports::default());
        let runs = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let (reports, runs) = (reports.clone(), runs.clone());
                std::thread::spawn(move || {
                    reports.get_or_compute("same".into(), || {
                        runs.fetch_add(1, Ordering::SeqCst);
                        std::thread::sleep(std::time::Duration::from_millis(50));
                        report("x")
                    })
                })
            })
            .collect();
        for t in threads {
            assert_eq!(t.join().unwrap().summary, "x");
        }
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        let other = reports.get_or_compute("other".into(), || report("y"));
        assert_eq!(other.summary, "y");
    }
}
