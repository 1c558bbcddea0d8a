//! Buffers for the entries ahead of the decompressing thread, allocated and their pages
//! touched on the other core.
//!
//! Measured on a 150,000-pod bundle (1.25 GB inflated): half of the producer's time was the
//! kernel zeroing each fresh page on its first write, while the reading thread mostly
//! waited for entries. The manifest, the archive's first entry, lists every file's size in
//! archive order; once it is parsed, a helper allocates each next entry's buffer and
//! touches its pages, and the producer takes the buffer when it reaches that entry. The
//! helper stays at most [`LEAD`] bytes ahead of the producer, and every buffer is capped
//! by the reader's own limits, so a manifest that lies costs bounded, short-lived memory
//! (a buffer nobody takes is freed, and the allocator hands its pages out again).
//!
//! Nothing here changes what is read: a buffer is only ever an empty `Vec` with capacity.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::time::Duration;

/// How far (in bytes of entries) the helper may run ahead of the producer. Above the
/// largest list a 150,000-pod cluster has (`pods.json`, under 500 MiB).
const LEAD: u64 = 640 << 20;
/// Buffers waiting in the channel.
const QUEUED: usize = 4096;
/// Buffers under a page are not worth the hand-over: the allocator's small pages are
/// shared and mostly recycled.
const MIN: u64 = 4096;
const PAGE: usize = 4096;

/// A buffer for entry `index` (its position among the manifest's files).
pub(super) struct Ready {
    index: usize,
    path: String,
    buf: Vec<u8>,
}

/// The producer's end: buffers that arrived, and how far the producer got.
pub(super) struct Taker<'p> {
    rx: Receiver<Ready>,
    pending: Option<Ready>,
    progress: &'p AtomicUsize,
}

/// The helper's end.
pub(super) struct Feeder<'p> {
    tx: SyncSender<Ready>,
    progress: &'p AtomicUsize,
}

pub(super) fn channel(progress: &AtomicUsize) -> (Feeder<'_>, Taker<'_>) {
    let (tx, rx) = sync_channel(QUEUED);
    (
        Feeder { tx, progress },
        Taker {
            rx,
            pending: None,
            progress,
        },
    )
}

impl Drop for Taker<'_> {
    /// The producer is done (or failed): the helper stops at its next step.
    fn drop(&mut self) {
        self.progress.store(usize::MAX, Ordering::Relaxed);
    }
}

impl Taker<'_> {
    /// The prepared buffer for entry `index` at `path` of `size` bytes, if the helper got
    /// there first; never waits. Says the producer reached `index` either way.
    pub(super) fn take(&mut self, index: usize, path: &str, size: u64) -> Option<Vec<u8>> {
        self.progress.store(index, Ordering::Relaxed);
        loop {
            if self.pending.is_none() {
                self.pending = self.rx.try_recv().ok();
            }
            let ready = self.pending.as_ref()?;
            if ready.index < index {
                // Behind the producer: dropped (its pages go back to the allocator).
                self.pending = None;
                continue;
            }
            if ready.index > index || ready.path != path {
                return None;
            }
            let ready = self.pending.take()?;
            return (ready.buf.capacity() as u64 >= size).then_some(ready.buf);
        }
    }
}

impl Feeder<'_> {
    /// Prepares buffers for `files` (path, size, cap) in order, from the one the producer
    /// is at, until the producer hangs up or the list ends.
    pub(super) fn run(self, files: &[(String, u64, u64)]) {
        // Buffers sent and not yet reached by the producer: (index, size).
        let mut sent: std::collections::VecDeque<(usize, u64)> = Default::default();
        let mut ahead: u64 = 0;
        for (index, (path, size, cap)) in files.iter().enumerate() {
            if *size < MIN || *size > *cap {
                continue;
            }
            let go = loop {
                let at = self.progress.load(Ordering::Relaxed);
                while sent.front().is_some_and(|(i, _)| *i < at) {
                    ahead -= sent.pop_front().map_or(0, |(_, n)| n);
                }
                if index <= at {
                    // The producer is there already (or finished: `usize::MAX`).
                    break false;
                }
                if ahead + size <= LEAD {
                    break true;
                }
                std::thread::sleep(Duration::from_millis(1));
            };
            if !go {
                continue;
            }
            let mut buf: Vec<u8> = Vec::with_capacity(*size as usize);
            touch(&mut buf);
            ahead += size;
            sent.push_back((index, *size));
            let ready = Ready {
                index,
                path: path.clone(),
                buf,
            };
            if self.tx.send(ready).is_err() {
                return;
            }
        }
    }
}

/// Writes one byte per page of the spare capacity, so the kernel maps and zeroes the pages
/// here; the length stays 0.
fn touch(buf: &mut Vec<u8>) {
    let spare = buf.spare_capacity_mut();
    for b in spare.iter_mut().step_by(PAGE) {
        b.write(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(sizes: &[u64]) -> Vec<(String, u64, u64)> {
        sizes
            .iter()
            .enumerate()
            .map(|(i, &n)| (format!("f{i}"), n, 1 << 30))
            .collect()
    }

    #[test]
    fn buffers_arrive_in_order_for_their_entry_only() {
        let progress = AtomicUsize::new(0);
        let list = files(&[10_000, 100, 50_000, 20_000, 2 << 30]);
        let (feeder, mut taker) = channel(&progress);
        std::thread::scope(|s| {
            s.spawn(|| feeder.run(&list));
            // The helper prepares f2 and f3 meanwhile (not f0: the producer is there).
            std::thread::sleep(Duration::from_millis(200));
            assert!(taker.take(0, "f0", 10_000).is_none());
            // Entry 1 is under a page: never prepared.
            assert!(taker.take(1, "f1", 100).is_none());
            // Entry 2: prepared, empty, with room for the entry.
            let b = taker.take(2, "f2", 50_000).expect("a buffer for f2");
            assert!(b.is_empty() && b.capacity() >= 50_000);
            // A path that differs from the manifest's gets no buffer (the next one stays).
            assert!(taker.take(3, "other", 20_000).is_none());
            assert!(taker.take(3, "f3", 20_000).is_some());
            // Over its cap: never prepared.
            assert!(taker.take(4, "f4", 2 << 30).is_none());
            drop(taker);
        });
    }

    #[test]
    fn the_helper_stops_when_the_producer_does() {
        let progress = AtomicUsize::new(0);
        // More than the lead: the helper waits for a producer that goes away.
        let list = files(&[400 << 20, 400 << 20, 400 << 20]);
        let (feeder, taker) = channel(&progress);
        std::thread::scope(|s| {
            let helper = s.spawn(|| feeder.run(&list));
            std::thread::sleep(Duration::from_millis(20));
            drop(taker);
            helper.join().expect("the helper returns");
        });
    }
}
