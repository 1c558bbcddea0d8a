//! Reads a bundle (a `.tar.zst` file or an unpacked directory) into a snapshot, treating
//! it as hostile: entry paths are checked before anything else, links and devices are
//! refused, sizes are capped per kind of file, and a JSON entry over 1 GiB is parsed as a
//! stream so that a decompression bomb fails at its first bytes instead of filling memory
//! (see `pipe.rs` for the two threads and the size rule). Nothing is ever
//! written to disk.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;

use serde::Deserialize;
use serde_json::value::RawValue;

use intel_model::manifest::FORMAT_V1;
use intel_model::{
    LogKey, Manifest, MetricsSample, Object, ResourceList, ResourceType, Snapshot, TypeKey,
};

use super::list;
use super::pipe::{self, Admission, Chunks, Failure, Msg};
use super::prefault;
use super::{BundleError, Hashing};

/// Caps that keep memory bounded on hostile input. The defaults fit a 150,000-pod cluster.
#[derive(Debug, Clone)]
pub struct ReadLimits {
    /// One resource list or metrics file.
    pub max_json_entry: u64,
    /// One log file (capture caps logs far below this).
    pub max_text_entry: u64,
    pub max_manifest: u64,
    /// All entries together, uncompressed.
    pub max_total: u64,
    pub max_entries: u64,
    /// Items of one list: an item-count bomb (`{"items":[{},{},…]}`, hundreds of millions
    /// of them in a few hundred kilobytes) is refused at this count, not when memory runs
    /// out. A 150,000-pod cluster's largest list is well under it.
    pub max_list_items: usize,
    /// Refuse the whole bundle when one entry's content cannot be read (invalid JSON in a
    /// list, a metrics sample or a series). Without it such an entry is skipped and named
    /// (`Loaded::warnings`, the snapshot's notes), and the rest is read. Structural attacks
    /// (links, paths out of the bundle, sizes past these limits) refuse it either way.
    pub strict: bool,
}

impl Default for ReadLimits {
    fn default() -> Self {
        ReadLimits {
            max_json_entry: 8 << 30,
            max_text_entry: 64 << 20,
            max_manifest: 512 << 20,
            max_total: 64 << 30,
            max_entries: 8_000_000,
            max_list_items: 4_000_000,
            strict: false,
        }
    }
}

/// How the files found compare with the sizes and sha256 sums the manifest lists.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Integrity {
    pub files_checked: usize,
    /// `path: what differs`
    pub mismatched: Vec<String>,
    /// Listed in the manifest, absent from the bundle.
    pub missing: Vec<String>,
    /// Present in the bundle, not listed in the manifest.
    pub unlisted: Vec<String>,
}

impl Integrity {
    pub fn ok(&self) -> bool {
        self.mismatched.is_empty() && self.missing.is_empty() && self.unlisted.is_empty()
    }
}

/// A snapshot read from a bundle, with what the reader noticed along the way.
#[derive(Debug)]
pub struct Loaded {
    pub snapshot: Snapshot,
    pub integrity: Integrity,
    /// Entries skipped and objects whose type had to be guessed.
    pub warnings: Vec<String>,
}

pub fn read_bundle(path: &Path) -> Result<Loaded, BundleError> {
    read_bundle_with(path, &ReadLimits::default())
}

pub fn read_bundle_with(path: &Path, limits: &ReadLimits) -> Result<Loaded, BundleError> {
    let open = |source| BundleError::Open {
        path: path.to_path_buf(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(open)?;
    let mut state = State::new(limits);
    if meta.is_dir() {
        read_dir(path, &mut state)?;
    } else {
        let mut file = File::open(path).map_err(open)?;
        let mut magic = [0u8; 4];
        let is_zstd = file.read_exact(&mut magic).is_ok() && magic == [0x28, 0xB5, 0x2F, 0xFD];
        if !is_zstd {
            return Err(BundleError::NotABundle {
                path: path.to_path_buf(),
                reason: "it is not zstd-compressed (a bundle is a .tar.zst file or an unpacked directory)".into(),
            });
        }
        let file = File::open(path).map_err(open)?;
        intel_timing::phase("read: decompress, hash, parse", || {
            read_tar(file, &mut state)
        })?;
    }
    intel_timing::phase("read: assemble snapshot", || state.finish())
}

fn read_tar(file: File, state: &mut State<'_>) -> Result<(), BundleError> {
    let (tx, rx) = pipe::channel();
    let limits = state.limits;
    let progress = AtomicUsize::new(0);
    let (feeder, taker) = prefault::channel(&progress);
    std::thread::scope(|s| {
        s.spawn(move || produce(file, limits, tx, taker));
        // Once the manifest says what comes, buffers are prepared on a third thread.
        let mut feeder = Some(feeder);
        let mut on_manifest = |m: &Manifest| {
            let files: Vec<(String, u64, u64)> = m
                .files
                .iter()
                .map(|f| {
                    let cap = limit_for(&classify(&f.path), limits).min(pipe::WHOLE);
                    (f.path.clone(), f.size, cap)
                })
                .collect();
            if let Some(feeder) = feeder.take() {
                s.spawn(move || feeder.run(&files));
            }
        };
        // `consume` owns the receiver: when it fails, the producer's next send fails
        // and it stops (and with it the helper), so the scope can join them.
        consume(rx, state, &mut on_manifest)
    })
}

/// The producer thread: inflates and checks every entry, in archive order.
fn produce(file: File, limits: &ReadLimits, tx: pipe::SyncSender, taker: prefault::Taker<'_>) {
    let mut sender = pipe::Sender::new(&tx, taker);
    let result = produce_entries(file, limits, &mut sender).and_then(|()| sender.flush());
    if let Err(Failure::Input(e)) = result {
        // What was read before the failure goes first, so that errors come in order.
        let _ = sender.flush();
        let _ = tx.send(Msg::Failed(e));
    }
}

fn produce_entries(
    file: File,
    limits: &ReadLimits,
    sender: &mut pipe::Sender<'_>,
) -> Result<(), Failure> {
    let corrupt = |entry: &str| {
        let entry = entry.to_string();
        move |source| BundleError::Corrupt { entry, source }
    };
    let decoder = zstd::Decoder::new(file).map_err(corrupt("the zstd stream"))?;
    let mut archive = tar::Archive::new(decoder);
    let mut admission = Admission::new(limits);
    let mut last = String::from("the start of the archive");
    let mut position = 0;
    for entry in archive
        .entries()
        .map_err(corrupt("the start of the archive"))?
    {
        let mut entry = entry.map_err(corrupt(&format!("the entry after {last}")))?;
        let path = checked_path(&entry.path_bytes())?;
        last = path.clone();
        let kind = entry.header().entry_type();
        if kind.is_dir() {
            continue;
        }
        if !(kind.is_file() || kind == tar::EntryType::Continuous) {
            let what = match kind {
                tar::EntryType::Symlink => "symbolic link".to_string(),
                tar::EntryType::Link => "hard link".to_string(),
                tar::EntryType::Char | tar::EntryType::Block => "device file".to_string(),
                tar::EntryType::Fifo => "FIFO".to_string(),
                other => format!("tar entry of type {other:?}"),
            };
            return Err(BundleError::NotAFile { entry: path, what }.into());
        }
        let size = entry.size();
        let limit = limit_for(&classify(&path), limits);
        admission.admit(&path, size, limit)?;
        // The manifest's files are numbered from the entry after it.
        let index = position;
        if path != "manifest.json" {
            position += 1;
        }
        sender.entry(path, index, size, limit, &mut entry)?;
    }
    // The tar ends before the zstd frame does: read to the frame's end, so that its
    // checksum is verified and a cut or altered tail is noticed (the archive's own end
    // marker can survive both). Padding after the archive is a few KiB of zeros; more than
    // a MiB of anything is not a bundle this format writes.
    let mut rest = archive.into_inner().take(1 << 20);
    let drained = std::io::copy(&mut rest, &mut std::io::sink())
        .map_err(corrupt("the end of the zstd stream (checksum or length)"))?;
    if drained == 1 << 20 {
        return Err(BundleError::Corrupt {
            entry: "the end of the archive".into(),
            source: std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "more than 1 MiB of data after the archive's end",
            ),
        }
        .into());
    }
    Ok(())
}

/// The reading thread: parses each entry the producer hands over.
fn consume(
    rx: pipe::Receiver,
    state: &mut State<'_>,
    on_manifest: &mut dyn FnMut(&Manifest),
) -> Result<(), BundleError> {
    let stopped = || BundleError::Corrupt {
        entry: "the archive".into(),
        source: io::Error::other("the decompressing thread stopped"),
    };
    loop {
        match rx.recv() {
            Err(_) => return Ok(()),
            Ok(Msg::Failed(e)) => return Err(e),
            Ok(Msg::Batch(batch)) => {
                for done in batch {
                    let (bytes, sha) = done.digest();
                    state.accept(&done.path, Body::Whole(done.body))?;
                    state.record(&done.path, done.limit, bytes, sha)?;
                    if done.path == "manifest.json" {
                        if let Some(m) = &state.manifest {
                            on_manifest(m);
                        }
                    }
                }
            }
            Ok(Msg::Start { path, limit }) => {
                let first = match rx.recv() {
                    Ok(Msg::Chunk(first)) => first,
                    Ok(Msg::End { bytes, sha }) => {
                        state.accept(&path, Body::Whole(Vec::new()))?;
                        state.record(&path, limit, bytes, sha)?;
                        continue;
                    }
                    Ok(Msg::Failed(e)) => return Err(e),
                    _ => return Err(stopped()),
                };
                let mut chunks = Chunks::new(&rx, first);
                let parsed = state.accept(&path, Body::Stream(&mut chunks));
                if let Some(e) = chunks.failed.take() {
                    return Err(e);
                }
                parsed?;
                let (bytes, sha) = chunks.finish()?;
                state.record(&path, limit, bytes, sha)?;
            }
            Ok(_) => return Err(stopped()),
        }
    }
}

fn read_dir(root: &Path, state: &mut State<'_>) -> Result<(), BundleError> {
    let walker = walkdir::WalkDir::new(root)
        .follow_links(false)
        .sort_by_file_name()
        .min_depth(1);
    let mut admission = Admission::new(state.limits);
    for item in walker {
        let item = item.map_err(|e| BundleError::Corrupt {
            entry: e
                .path()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            source: io::Error::other(e.to_string()),
        })?;
        let rel = item.path().strip_prefix(root).unwrap_or(item.path());
        let rel = rel.to_string_lossy().replace('\\', "/");
        let path = checked_path(rel.as_bytes())?;
        let ft = item.file_type();
        if ft.is_dir() {
            continue;
        }
        if !ft.is_file() {
            let what = if ft.is_symlink() {
                "symbolic link"
            } else {
                "special file"
            };
            return Err(BundleError::NotAFile {
                entry: path,
                what: what.into(),
            });
        }
        let corrupt = |source| BundleError::Corrupt {
            entry: path.clone(),
            source,
        };
        let file = File::open(item.path()).map_err(corrupt)?;
        let meta = file.metadata().map_err(corrupt)?;
        // A hard link is a second name for a file that may live outside the bundle (the
        // format refuses links of every kind, docs/bundle-format.md).
        #[cfg(unix)]
        if std::os::unix::fs::MetadataExt::nlink(&meta) > 1 {
            return Err(BundleError::NotAFile {
                entry: path,
                what: "hard link (a file with more than one name)".into(),
            });
        }
        let size = meta.len();
        let limit = limit_for(&classify(&path), state.limits);
        admission.admit(&path, size, limit)?;
        let mut hashing = Hashing::new(file.take(limit.saturating_add(1)));
        if size <= pipe::WHOLE {
            let mut buf = Vec::with_capacity(size as usize);
            hashing.read_to_end(&mut buf).map_err(corrupt)?;
            state.accept(&path, Body::Whole(buf))?;
        } else {
            state.accept(&path, Body::Stream(&mut hashing))?;
            io::copy(&mut hashing, &mut io::sink()).map_err(corrupt)?;
        }
        let (bytes, sha) = hashing.finish();
        state.record(&path, limit, bytes, sha)?;
    }
    Ok(())
}

/// Normalises an entry path and refuses anything that could point outside the bundle.
fn checked_path(raw: &[u8]) -> Result<String, BundleError> {
    let lossy = String::from_utf8_lossy(raw).into_owned();
    let unsafe_path = |reason| BundleError::UnsafePath {
        entry: lossy.clone(),
        reason,
    };
    let s = std::str::from_utf8(raw).map_err(|_| unsafe_path("its name is not UTF-8"))?;
    if s.starts_with('/') || s.starts_with('\\') || s.get(1..2) == Some(":") {
        return Err(unsafe_path("it is an absolute path"));
    }
    if s.contains('\\') || s.contains('\0') {
        return Err(unsafe_path("it contains a backslash or NUL"));
    }
    let s = s.trim_start_matches("./").trim_end_matches('/');
    let mut parts = Vec::new();
    for part in s.split('/') {
        match part {
            ".." => return Err(unsafe_path("it climbs out of the bundle with '..'")),
            "" | "." => continue,
            p => parts.push(p),
        }
    }
    if parts.is_empty() {
        return Err(unsafe_path("it has an empty name"));
    }
    Ok(parts.join("/"))
}

/// A metrics sample's node and pod lists, which arrive as separate entries.
type SamplePair = (Option<Box<RawValue>>, Option<Box<RawValue>>);

struct State<'l> {
    limits: &'l ReadLimits,
    manifest: Option<Manifest>,
    lists: BTreeMap<TypeKey, Vec<Object>>,
    logs: BTreeMap<LogKey, String>,
    metrics: BTreeMap<String, SamplePair>,
    prometheus: BTreeMap<String, Box<RawValue>>,
    seen: HashMap<String, (u64, String)>,
    warnings: Vec<String>,
    /// Entries the format does not define: how many, and the first few by name (a bundle
    /// with a hundred thousand of them gets one warning, not megabytes).
    unknown: (usize, Vec<String>),
    /// Entries whose content could not be read, skipped (not strict): path, why.
    skipped: Vec<(String, String)>,
    /// Lists with objects larger than Kubernetes stores, left out: path, how many.
    oversized: Vec<(String, usize)>,
}

/// Unknown entries named in the warning before "and N more".
const UNKNOWN_NAMED: usize = 10;

enum Kind {
    Manifest,
    List(TypeKey),
    Log(LogKey),
    NodeMetrics(String),
    PodMetrics(String),
    Prometheus(String),
    Unknown,
}

fn classify(path: &str) -> Kind {
    if path == "manifest.json" {
        return Kind::Manifest;
    }
    if let Some(key) = TypeKey::from_bundle_path(path) {
        return Kind::List(key);
    }
    if let Some(key) = LogKey::from_bundle_path(path) {
        return Kind::Log(key);
    }
    if let Some(name) = path
        .strip_prefix("metrics/prometheus/")
        .and_then(|n| n.strip_suffix(".json"))
        .filter(|n| !n.is_empty() && !n.contains('/'))
    {
        return Kind::Prometheus(name.to_string());
    }
    if let Some(rest) = path.strip_prefix("metrics/") {
        // A sample's folder is its time; a folder that is no time is no sample (it would
        // otherwise sort among the samples and hide the real ones from the analyses).
        let sample = |t: &&str| !t.contains('/') && t.parse::<jiff::Timestamp>().is_ok();
        if let Some(t) = rest.strip_suffix("/nodes.json").filter(sample) {
            return Kind::NodeMetrics(t.to_string());
        }
        if let Some(t) = rest.strip_suffix("/pods.json").filter(sample) {
            return Kind::PodMetrics(t.to_string());
        }
    }
    Kind::Unknown
}

fn limit_for(kind: &Kind, limits: &ReadLimits) -> u64 {
    match kind {
        Kind::Manifest => limits.max_manifest,
        Kind::Log(_) | Kind::Unknown => limits.max_text_entry,
        _ => limits.max_json_entry,
    }
}

/// An entry's bytes: in memory, or (past [`pipe::WHOLE`]) as a stream parsed as it comes.
pub(crate) enum Body<'a> {
    Whole(Vec<u8>),
    Stream(&'a mut dyn Read),
}

impl Body<'_> {
    fn bytes(self) -> io::Result<Vec<u8>> {
        match self {
            Body::Whole(b) => Ok(b),
            Body::Stream(r) => {
                let mut buf = Vec::new();
                r.read_to_end(&mut buf)?;
                Ok(buf)
            }
        }
    }

    pub(crate) fn json<T: serde::de::DeserializeOwned>(self, path: &str) -> Result<T, BundleError> {
        match self {
            Body::Whole(b) => serde_json::from_slice(&b),
            Body::Stream(r) => from_reader(r),
        }
        .map_err(|e| classify_json(e, path))
    }
}

impl<'l> State<'l> {
    fn new(limits: &'l ReadLimits) -> Self {
        State {
            limits,
            manifest: None,
            lists: BTreeMap::new(),
            logs: BTreeMap::new(),
            metrics: BTreeMap::new(),
            prometheus: BTreeMap::new(),
            seen: HashMap::new(),
            warnings: Vec::new(),
            unknown: (0, Vec::new()),
            skipped: Vec::new(),
            oversized: Vec::new(),
        }
    }

    /// [`Self::parse`], except that an entry whose content is no valid JSON is skipped
    /// and named when the read is not strict. Only an entry read whole: one streamed (over
    /// 1 GiB) that is not JSON is a decompression bomb, which refuses the bundle.
    fn accept(&mut self, path: &str, body: Body<'_>) -> Result<(), BundleError> {
        let whole = matches!(body, Body::Whole(_));
        match self.parse(path, body) {
            Err(BundleError::Json { entry, source })
                if whole && !self.limits.strict && entry != "manifest.json" =>
            {
                self.skipped.push((entry, source.to_string()));
                Ok(())
            }
            other => other,
        }
    }

    /// Parses one entry's body into the snapshot.
    fn parse(&mut self, path: &str, body: Body<'_>) -> Result<(), BundleError> {
        let json_err = |source| BundleError::Json {
            entry: path.to_string(),
            source,
        };
        let corrupt = |source| BundleError::Corrupt {
            entry: path.to_string(),
            source,
        };
        match classify(path) {
            Kind::Manifest => {
                let buf = body.bytes().map_err(corrupt)?;
                let manifest = parse_manifest(&buf).map_err(|e| match e {
                    ManifestError::Json(source) => json_err(source),
                    ManifestError::Format(found) => BundleError::UnsupportedFormat { found },
                })?;
                check_capture_time(&manifest.captured_at)?;
                self.manifest = Some(manifest);
            }
            Kind::List(key) => {
                let max = self.limits.max_list_items;
                let (objects, dropped) = match body {
                    // Valid UTF-8 in memory: parsed in place, objects point into it.
                    Body::Whole(buf) => match String::from_utf8(buf) {
                        Ok(text) => list::in_place(Arc::new(text), path, max)?,
                        Err(e) => list::owned(Body::Whole(e.into_bytes()), path, max)?,
                    },
                    stream => list::owned(stream, path, max)?,
                };
                if dropped > 0 {
                    self.oversized.push((path.to_string(), dropped));
                }
                self.lists.insert(key, objects);
            }
            Kind::Log(key) => {
                let buf = body.bytes().map_err(corrupt)?;
                let text = match String::from_utf8(buf) {
                    Ok(t) => t,
                    Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
                };
                self.logs.insert(key, text);
            }
            Kind::NodeMetrics(t) => self.metrics.entry(t).or_default().0 = Some(body.json(path)?),
            Kind::PodMetrics(t) => self.metrics.entry(t).or_default().1 = Some(body.json(path)?),
            Kind::Prometheus(t) => {
                self.prometheus.insert(t, body.json(path)?);
            }
            Kind::Unknown => {
                self.unknown.0 += 1;
                if self.unknown.1.len() < UNKNOWN_NAMED {
                    self.unknown.1.push(path.to_string());
                }
            }
        }
        Ok(())
    }

    /// Notes an entry's size and sha256 for the integrity check.
    fn record(
        &mut self,
        path: &str,
        limit: u64,
        bytes: u64,
        sha: String,
    ) -> Result<(), BundleError> {
        if bytes > limit {
            return Err(BundleError::TooLarge {
                entry: path.to_string(),
                size: bytes,
                limit,
            });
        }
        self.seen.insert(path.to_string(), (bytes, sha));
        Ok(())
    }

    fn finish(self) -> Result<Loaded, BundleError> {
        let State {
            manifest,
            lists,
            logs,
            metrics,
            prometheus,
            seen,
            mut warnings,
            unknown,
            skipped,
            oversized,
            ..
        } = self;
        match unknown {
            (0, _) => {}
            (1, names) => warnings.push(format!(
                "skipped {}: not a file bundle format v1 defines",
                names.join("")
            )),
            (n, names) => warnings.push(format!(
                "skipped {n} files bundle format v1 does not define: {}{}",
                names.join(", "),
                if n > names.len() {
                    format!(" and {} more", n - names.len())
                } else {
                    String::new()
                }
            )),
        }
        let manifest = manifest.ok_or(BundleError::MissingManifest)?;
        let integrity = integrity(&manifest, &seen);
        let crd_types = crd_types(lists.get(&TypeKey::new(
            "apiextensions.k8s.io",
            "v1",
            "customresourcedefinitions",
        )));
        let mut snapshot = Snapshot::new(manifest);
        for (key, items) in lists {
            let rtype = snapshot
                .manifest
                .resource_types
                .iter()
                .find(|t| t.key() == key)
                .cloned()
                .or_else(|| ResourceType::builtin(&key))
                .or_else(|| crd_types.iter().find(|t| t.key() == key).cloned())
                .unwrap_or_else(|| {
                    warnings.push(format!(
                        "{}: no discovery facts for this type in the manifest; kind and scope guessed from its items",
                        key.bundle_path()
                    ));
                    guess_type(&key, &items)
                });
            snapshot.insert_list(ResourceList::new(rtype, items));
        }
        snapshot.logs = logs;
        snapshot.metrics = metrics
            .into_iter()
            .map(|(time, (nodes, pods))| MetricsSample { time, nodes, pods })
            .collect();
        snapshot.prometheus = prometheus;
        // The manifest is part of the bundle's structure: an unreadable one never gets here.
        for (path, why) in &skipped {
            warnings.push(format!(
                "skipped {path}: not valid JSON ({why}); the rest was read (--strict refuses the bundle instead)"
            ));
            snapshot.notes.push(format!(
                "The bundle's file {path} could not be read (not valid JSON: {why}) and was skipped: what it held is missing from this answer."
            ));
        }
        for (path, n) in &oversized {
            let what = format!(
                "{n} object(s) of {path} are larger than a Kubernetes API server stores (over {} MiB; etcd refuses 1.5 MiB) or nested deeper than {} levels, and were left out",
                list::MAX_OBJECT_BYTES >> 20,
                list::MAX_DEPTH
            );
            warnings.push(what.clone());
            snapshot.notes.push(format!(
                "{what}: a hostile or corrupt bundle; what they held is missing from this answer."
            ));
        }
        Ok(Loaded {
            snapshot,
            integrity,
            warnings,
        })
    }
}

/// serde_json over a buffered reader; the whole input must be one JSON value.
fn from_reader<T: serde::de::DeserializeOwned>(r: &mut dyn Read) -> serde_json::Result<T> {
    serde_json::from_reader(BufReader::with_capacity(1 << 16, r))
}

/// A JSON error caused by the stream (truncation) is reported as corruption, not as bad JSON.
pub(crate) fn classify_json(e: serde_json::Error, path: &str) -> BundleError {
    if e.is_io() {
        BundleError::Corrupt {
            entry: path.to_string(),
            source: io::Error::other(e.to_string()),
        }
    } else {
        BundleError::Json {
            entry: path.to_string(),
            source: e,
        }
    }
}

enum ManifestError {
    Json(serde_json::Error),
    Format(String),
}

fn parse_manifest(bytes: &[u8]) -> Result<Manifest, ManifestError> {
    #[derive(Deserialize)]
    struct FormatOnly {
        #[serde(default)]
        format: Option<String>,
    }
    let f: FormatOnly = serde_json::from_slice(bytes).map_err(ManifestError::Json)?;
    let found = f.format.unwrap_or_default();
    if !is_v1(&found) {
        return Err(ManifestError::Format(found));
    }
    serde_json::from_slice(bytes).map_err(ManifestError::Json)
}

/// The capture time is every analysis's "now" and the replay's clock: it must be a time,
/// and one Kubernetes could have been captured at (after its first release, before 2200).
/// A bundle whose clock is absurd is refused rather than answered with ages of "0s".
fn check_capture_time(at: &str) -> Result<(), BundleError> {
    let bad = |reason| BundleError::BadCaptureTime {
        found: at.chars().take(80).collect(),
        reason,
    };
    let ts: jiff::Timestamp = at.parse().map_err(|_| bad("is not an RFC 3339 time"))?;
    let lo: jiff::Timestamp = "2014-06-01T00:00:00Z".parse().map_err(|_| bad("?"))?;
    let hi: jiff::Timestamp = "2200-01-01T00:00:00Z".parse().map_err(|_| bad("?"))?;
    if ts < lo || ts >= hi {
        return Err(bad(
            "is outside 2014-06-01..2200-01-01, when no cluster was captured",
        ));
    }
    Ok(())
}

/// `kubectl-intel.bundle/v1` and minor revisions `…/v1.N` (extensions, never breaks).
fn is_v1(format: &str) -> bool {
    match format.strip_prefix(FORMAT_V1) {
        Some("") => true,
        Some(minor) => minor
            .strip_prefix('.')
            .is_some_and(|m| !m.is_empty() && m.bytes().all(|b| b.is_ascii_digit())),
        None => false,
    }
}

fn integrity(manifest: &Manifest, seen: &HashMap<String, (u64, String)>) -> Integrity {
    let mut out = Integrity::default();
    let mut listed = std::collections::HashSet::new();
    for f in &manifest.files {
        listed.insert(f.path.as_str());
        match seen.get(&f.path) {
            None => out.missing.push(f.path.clone()),
            Some((size, sha)) => {
                out.files_checked += 1;
                if *size != f.size {
                    out.mismatched
                        .push(format!("{}: size {} != {} listed", f.path, size, f.size));
                } else if *sha != f.sha256 {
                    out.mismatched
                        .push(format!("{}: sha256 differs from the manifest", f.path));
                }
            }
        }
    }
    let mut unlisted: Vec<String> = seen
        .keys()
        .filter(|p| p.as_str() != "manifest.json" && !listed.contains(p.as_str()))
        .cloned()
        .collect();
    unlisted.sort();
    out.unlisted = unlisted;
    out
}

/// Discovery facts for custom resources, from the CRD objects in the bundle.
fn crd_types(crds: Option<&Vec<Object>>) -> Vec<ResourceType> {
    #[derive(Deserialize, Default)]
    #[serde(rename_all = "camelCase")]
    struct Crd {
        #[serde(default)]
        spec: CrdSpec,
    }
    #[derive(Deserialize, Default)]
    #[serde(rename_all = "camelCase")]
    struct CrdSpec {
        #[serde(default)]
        group: String,
        #[serde(default)]
        scope: String,
        #[serde(default)]
        names: CrdNames,
        #[serde(default)]
        versions: Vec<CrdVersion>,
    }
    #[derive(Deserialize, Default)]
    #[serde(rename_all = "camelCase")]
    struct CrdNames {
        #[serde(default)]
        plural: String,
        #[serde(default)]
        singular: String,
        #[serde(default)]
        kind: String,
        #[serde(default)]
        short_names: Vec<String>,
        #[serde(default)]
        categories: Vec<String>,
    }
    #[derive(Deserialize, Default)]
    struct CrdVersion {
        #[serde(default)]
        name: String,
    }
    let mut out = Vec::new();
    for obj in crds.map(Vec::as_slice).unwrap_or_default() {
        let crd: Crd = obj.typed().unwrap_or_default();
        for v in &crd.spec.versions {
            out.push(ResourceType {
                group: crd.spec.group.clone(),
                version: v.name.clone(),
                resource: crd.spec.names.plural.clone(),
                kind: crd.spec.names.kind.clone(),
                namespaced: crd.spec.scope != "Cluster",
                singular: crd.spec.names.singular.clone(),
                short_names: crd.spec.names.short_names.clone(),
                categories: crd.spec.names.categories.clone(),
            });
        }
    }
    out
}

fn guess_type(key: &TypeKey, items: &[Object]) -> ResourceType {
    let kind = items
        .iter()
        .map(|o| o.meta.kind.as_str())
        .find(|k| !k.is_empty())
        .map(str::to_string)
        .unwrap_or_else(|| {
            let mut k = key.resource.trim_end_matches('s').to_string();
            if let Some(first) = k.get_mut(0..1) {
                first.make_ascii_uppercase();
            }
            k
        });
    ResourceType {
        group: key.group.clone(),
        version: key.version.clone(),
        resource: key.resource.clone(),
        singular: kind.to_lowercase(),
        kind,
        namespaced: items.iter().any(|o| !o.meta.namespace.is_empty()),
        short_names: Vec::new(),
        categories: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_checked() {
        assert_eq!(
            checked_path(b"./resources/core/v1/pods.json").unwrap(),
            "resources/core/v1/pods.json"
        );
        assert!(matches!(
            checked_path(b"../evil"),
            Err(BundleError::UnsafePath { .. })
        ));
        assert!(matches!(
            checked_path(b"logs/../../evil"),
            Err(BundleError::UnsafePath { .. })
        ));
        assert!(matches!(
            checked_path(b"/etc/passwd"),
            Err(BundleError::UnsafePath { .. })
        ));
        assert!(matches!(
            checked_path(b"C:/x"),
            Err(BundleError::UnsafePath { .. })
        ));
        assert!(matches!(
            checked_path(b"a\\..\\b"),
            Err(BundleError::UnsafePath { .. })
        ));
        assert!(matches!(
            checked_path(b"\xff\xfe"),
            Err(BundleError::UnsafePath { .. })
        ));
    }

    #[test]
    fn format_versions() {
        assert!(is_v1("kubectl-intel.bundle/v1"));
        assert!(is_v1("kubectl-intel.bundle/v1.3"));
        assert!(!is_v1("kubectl-intel.bundle/v2"));
        assert!(!is_v1("kubectl-intel.bundle/v10"));
        assert!(!is_v1("kubectl-intel.bundle/v1.x"));
        assert!(!is_v1(""));
    }
}
