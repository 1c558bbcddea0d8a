//! Decompression and parsing on two cores: a producer thread inflates the tar.zst stream,
//! checks each entry's path, type and size and hands its bytes over a bounded channel; the
//! reading thread hashes and parses what arrives. The producer hashes only the entries it
//! streams: a whole entry is hashed by the reader, which waits on the producer through
//! the many small log files at the front of a bundle (sha256 was a quarter of the
//! producer's time at 150k pods, on the critical path).
//!
//! An entry up to [`WHOLE`] bytes travels in one piece, to be parsed from a slice (serde's
//! fastest path); a larger one in [`CHUNK`]-sized pieces that the parser pulls as it goes,
//! so a decompression bomb still fails at its first bytes with bounded memory: the channel
//! holds at most [`DEPTH`] messages and the producer stops when the reader hangs up.

use std::collections::HashSet;
use std::io::{self, Read};
use std::sync::mpsc::sync_channel;

use super::read::ReadLimits;
use super::{BundleError, Hashing};

/// Entries up to this size are read whole (1 GiB: a 150k-pod `pods.json` is under 500 MiB).
pub(super) const WHOLE: u64 = 1 << 30;
const CHUNK: usize = 1 << 20;
const DEPTH: usize = 8;
const BATCH_BYTES: usize = 4 << 20;
const BATCH_LEN: usize = 512;

/// A whole entry, read and checked (the reader hashes it: [`Done::digest`]).
pub(super) struct Done {
    pub(super) path: String,
    pub(super) limit: u64,
    pub(super) body: Vec<u8>,
}

impl Done {
    /// The entry's size and sha256, for the manifest's integrity check.
    pub(super) fn digest(&self) -> (u64, String) {
        use sha2::{Digest, Sha256};
        (
            self.body.len() as u64,
            hex::encode(Sha256::digest(&self.body)),
        )
    }
}

pub(super) enum Msg {
    /// Whole entries, several at a time: a bundle has one log file per container, and a
    /// hand-over per file would cost more in thread wake-ups than the parsing.
    Batch(Vec<Done>),
    /// An admitted entry over [`WHOLE`] bytes; its chunks follow, then `End`.
    Start {
        path: String,
        limit: u64,
    },
    Chunk(Vec<u8>),
    End {
        bytes: u64,
        sha: String,
    },
    Failed(BundleError),
}

/// The checks every entry passes before its bytes are read: a safe path (done by the
/// caller), no duplicate, not too many entries, within its size limit and the total.
pub(super) struct Admission<'l> {
    limits: &'l ReadLimits,
    paths: HashSet<String>,
    total: u64,
}

impl<'l> Admission<'l> {
    pub(super) fn new(limits: &'l ReadLimits) -> Self {
        Admission {
            limits,
            paths: HashSet::new(),
            total: 0,
        }
    }

    /// The entry's size limit, or why it is refused.
    pub(super) fn admit(&mut self, path: &str, size: u64, limit: u64) -> Result<(), BundleError> {
        if self.paths.contains(path) {
            return Err(BundleError::Duplicate {
                entry: path.to_string(),
            });
        }
        if self.paths.len() as u64 >= self.limits.max_entries {
            return Err(BundleError::TooManyEntries {
                limit: self.limits.max_entries,
            });
        }
        if size > limit {
            return Err(BundleError::TooLarge {
                entry: path.to_string(),
                size,
                limit,
            });
        }
        self.total = self.total.saturating_add(size);
        if self.total > self.limits.max_total {
            return Err(BundleError::TooLarge {
                entry: path.to_string(),
                size: self.total,
                limit: self.limits.max_total,
            });
        }
        self.paths.insert(path.to_string());
        Ok(())
    }
}

/// Batches whole entries and streams large ones, in archive order.
pub(super) struct Sender<'t> {
    tx: &'t SyncSender,
    batch: Vec<Done>,
    batch_bytes: usize,
    /// Buffers prepared ahead on another core (`prefault.rs`).
    buffers: super::prefault::Taker<'t>,
}

impl<'t> Sender<'t> {
    pub(super) fn new(tx: &'t SyncSender, buffers: super::prefault::Taker<'t>) -> Self {
        Sender {
            tx,
            batch: Vec::new(),
            batch_bytes: 0,
            buffers,
        }
    }

    /// Reads and hands over one admitted entry (hashing it if it is streamed).
    pub(super) fn entry(
        &mut self,
        path: String,
        index: usize,
        size: u64,
        limit: u64,
        reader: &mut dyn Read,
    ) -> Result<(), Failure> {
        let corrupt = |source| {
            Failure::Input(BundleError::Corrupt {
                entry: path.clone(),
                source,
            })
        };
        // The header's size was checked; `take` keeps a lying header honest.
        let mut bounded = reader.take(limit.saturating_add(1));
        if size <= WHOLE {
            let mut body = self
                .buffers
                .take(index, &path, size)
                .unwrap_or_else(|| Vec::with_capacity(size as usize));
            bounded.read_to_end(&mut body).map_err(corrupt)?;
            self.batch_bytes += body.len();
            self.batch.push(Done { path, limit, body });
            if self.batch_bytes >= BATCH_BYTES || self.batch.len() >= BATCH_LEN {
                self.flush()?;
            }
            return Ok(());
        }
        self.buffers.take(index, &path, size);
        let mut hashing = Hashing::new(bounded);
        self.flush()?;
        self.send(Msg::Start {
            path: path.clone(),
            limit,
        })?;
        loop {
            let mut buf = vec![0u8; CHUNK];
            let mut n = 0;
            while n < CHUNK {
                match hashing.read(&mut buf[n..]) {
                    Ok(0) => break,
                    Ok(k) => n += k,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(corrupt(e)),
                }
            }
            if n == 0 {
                break;
            }
            buf.truncate(n);
            self.send(Msg::Chunk(buf))?;
        }
        let (bytes, sha) = hashing.finish();
        self.send(Msg::End { bytes, sha })
    }

    pub(super) fn flush(&mut self) -> Result<(), Failure> {
        if self.batch.is_empty() {
            return Ok(());
        }
        self.batch_bytes = 0;
        let batch = std::mem::take(&mut self.batch);
        self.send(Msg::Batch(batch))
    }

    fn send(&self, msg: Msg) -> Result<(), Failure> {
        self.tx.send(msg).map_err(|_| Failure::HungUp)
    }
}

/// Why the producer stopped.
pub(super) enum Failure {
    /// The input is bad: the reader is told.
    Input(BundleError),
    /// The reader hung up: it failed, and reports why.
    HungUp,
}

impl From<BundleError> for Failure {
    fn from(e: BundleError) -> Self {
        Failure::Input(e)
    }
}

pub(super) type SyncSender = std::sync::mpsc::SyncSender<Msg>;
pub(super) type Receiver = std::sync::mpsc::Receiver<Msg>;

pub(super) fn channel() -> (SyncSender, Receiver) {
    sync_channel(DEPTH)
}

/// The body of the current entry as a reader over the chunks that arrive.
pub(super) struct Chunks<'r> {
    rx: &'r Receiver,
    cur: Vec<u8>,
    pos: usize,
    /// Size and sha256, once the entry's `End` arrived.
    pub(super) end: Option<(u64, String)>,
    /// Why the producer stopped mid-entry, reported in preference to what the parser saw.
    pub(super) failed: Option<BundleError>,
}

impl<'r> Chunks<'r> {
    pub(super) fn new(rx: &'r Receiver, first: Vec<u8>) -> Self {
        Chunks {
            rx,
            cur: first,
            pos: 0,
            end: None,
            failed: None,
        }
    }

    /// Reads to the entry's end, for its size and sha256.
    pub(super) fn finish(mut self) -> Result<(u64, String), BundleError> {
        io::copy(&mut self, &mut io::sink()).ok();
        if let Some(e) = self.failed {
            return Err(e);
        }
        self.end.ok_or_else(|| BundleError::Corrupt {
            entry: "the archive".into(),
            source: io::Error::other("the decompressing thread stopped"),
        })
    }
}

impl Read for Chunks<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.cur.len() {
            if self.end.is_some() || self.failed.is_some() {
                return Ok(0);
            }
            match self.rx.recv() {
                Ok(Msg::Chunk(b)) => {
                    self.cur = b;
                    self.pos = 0;
                }
                Ok(Msg::End { bytes, sha }) => self.end = Some((bytes, sha)),
                Ok(Msg::Failed(e)) => {
                    let text = e.to_string();
                    self.failed = Some(e);
                    return Err(io::Error::other(text));
                }
                Ok(Msg::Start { .. }) | Ok(Msg::Batch(_)) | Err(_) => {
                    return Err(io::Error::other("the decompressing thread stopped"));
                }
            }
        }
        let n = out.len().min(self.cur.len() - self.pos);
        out[..n].copy_from_slice(&self.cur[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}
