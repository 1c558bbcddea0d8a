//! Bundle format v1: the only module that knows how a snapshot is laid out on disk.
//!
//! A bundle is a zstd-compressed POSIX tar whose first entry is `manifest.json`; every other
//! file is JSON in the shape the Kubernetes API returns (or plain log text). See
//! `docs/bundle-format.md`. The writer is deterministic (same snapshot, same bytes); the
//! reader treats its input as hostile (paths, links, bombs, truncation, bad JSON).

mod error;
mod list;
mod pipe;
mod prefault;
mod read;
mod render;
mod write;

pub use error::BundleError;
pub use read::{Integrity, Loaded, ReadLimits, read_bundle, read_bundle_with};
pub use render::prune_unwritable;
pub use write::{default_file_name, write_bundle};

/// A resource list file's bytes read as the reader reads one (in place when UTF-8): how
/// many objects it held. For the fuzz targets (`src/fuzzing.rs`).
#[doc(hidden)]
pub fn parse_list(bytes: &[u8], path: &str) -> Result<usize, BundleError> {
    let max = ReadLimits::default().max_list_items;
    let (objects, _) = match std::str::from_utf8(bytes) {
        Ok(text) => list::in_place(std::sync::Arc::new(text.to_string()), path, max)?,
        Err(_) => list::owned(read::Body::Whole(bytes.to_vec()), path, max)?,
    };
    Ok(objects.len())
}

use std::io::{self, Read, Write};

use sha2::{Digest, Sha256};

/// Counts and hashes what passes through it, for the manifest's size and sha256 of a file.
pub(crate) struct Hashing<R> {
    inner: R,
    hasher: Sha256,
    bytes: u64,
}

impl<R> Hashing<R> {
    pub(crate) fn new(inner: R) -> Self {
        Hashing {
            inner,
            hasher: Sha256::new(),
            bytes: 0,
        }
    }

    pub(crate) fn finish(self) -> (u64, String) {
        (self.bytes, hex::encode(self.hasher.finalize()))
    }
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}
