use std::path::PathBuf;

/// Everything that can go wrong reading or writing a bundle. Each variant names the bundle
/// entry (or file) involved, so a user can find it with `tar -tf`.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("cannot open bundle {path}: {source}")]
    Open {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "bundle is truncated or corrupt while reading {entry}: {source} (re-copy the file, or re-capture)"
    )]
    Corrupt {
        entry: String,
        #[source]
        source: std::io::Error,
    },
    #[error("bundle entry {entry:?} is unsafe: {reason}; refusing to read this bundle")]
    UnsafePath { entry: String, reason: &'static str },
    #[error(
        "bundle entry {entry:?} is a {what}; bundles contain only regular files and directories"
    )]
    NotAFile { entry: String, what: String },
    #[error("bundle entry {entry:?} appears twice; a bundle names each file once")]
    Duplicate { entry: String },
    #[error(
        "bundle entry {entry:?} is {size} bytes, over the {limit}-byte limit for such a file (a decompression bomb, or raise the limit)"
    )]
    TooLarge {
        entry: String,
        size: u64,
        limit: u64,
    },
    #[error("bundle holds more than {limit} entries; refusing to read further")]
    TooManyEntries { limit: u64 },
    #[error(
        "bundle entry {entry:?} lists more than {limit} items (an item-count bomb, or raise the limit); refusing to read further"
    )]
    TooManyItems { entry: String, limit: u64 },
    #[error("bundle entry {entry:?} is not valid JSON of the expected shape: {source}")]
    Json {
        entry: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("bundle has no manifest.json; is this a kubectl-intel bundle?")]
    MissingManifest,
    #[error(
        "bundle format {found:?} is not supported by this kubectl-intel (it reads kubectl-intel.bundle/v1); upgrade kubectl-intel"
    )]
    UnsupportedFormat { found: String },
    #[error(
        "manifest.json: capturedAt {found:?} {reason}; every age and \"now\" is read from it (write the capture time in RFC 3339, e.g. 2026-11-24T14:00:00Z)"
    )]
    BadCaptureTime { found: String, reason: &'static str },
    #[error("{path} is not a kubectl-intel bundle: {reason}")]
    NotABundle { path: PathBuf, reason: String },
    #[error("cannot write bundle {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write {what} into a bundle: {reason}")]
    InvalidContent { what: String, reason: String },
}

impl BundleError {
    /// The exit code this failure ends a command with: a bundle that cannot be read is bad
    /// input ([`Exit::BadBundle`]); failing to write one, or content no bundle can hold, is
    /// a failure of the run ([`Exit::Failure`]).
    pub fn exit(&self) -> intel_exit::Exit {
        match self {
            BundleError::Write { .. } | BundleError::InvalidContent { .. } => {
                intel_exit::Exit::Failure
            }
            _ => intel_exit::Exit::BadBundle,
        }
    }
}
