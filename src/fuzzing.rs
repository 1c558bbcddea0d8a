//! The fuzz targets' bodies, one function per target, shared by `fuzz/` (cargo-fuzz with
//! libFuzzer, on nightly) and `tests/fuzz_corpus.rs` (every kept corpus input run on stable
//! in the test suite, so a crash found once stays fixed). Each reads untrusted bytes the
//! way a surface does and must return, never panic, whatever the bytes are.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

/// A path of its own in the temporary directory, removed (file or tree) when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(suffix: &str) -> Scratch {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        Scratch(std::env::temp_dir().join(format!(
            "kubectl-intel-fuzz-{}-{n}{suffix}",
            std::process::id()
        )))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
        let _ = std::fs::remove_file(&self.0);
    }
}

/// A bundle as a `.tar.zst` file: read, and on success its snapshot indexed.
pub fn bundle_tar(data: &[u8]) {
    let file = Scratch::new(".intel.tar.zst");
    if std::fs::write(&file.0, data).is_err() {
        return;
    }
    if let Ok(loaded) = crate::bundle::read_bundle(&file.0) {
        let _ = loaded.snapshot.index();
        let _ = loaded.snapshot.pods().len();
    }
}

/// A bundle as an unpacked directory: `data` is split at NUL bytes into name, content,
/// name, content…; names are made into safe relative paths (the fuzzer explores the
/// reader's handling of what the files hold, not the machine's file system).
pub fn bundle_dir(data: &[u8]) {
    let dir = Scratch::new("");
    if std::fs::create_dir_all(&dir.0).is_err() {
        return;
    }
    let mut parts = data.split(|b| *b == 0);
    let mut files = 0;
    while let (Some(name), Some(content)) = (parts.next(), parts.next()) {
        let name: String = String::from_utf8_lossy(name)
            .split('/')
            .filter(|s| !s.is_empty() && *s != "." && *s != "..")
            .map(|s| {
                s.chars()
                    .filter(|c| c.is_ascii_alphanumeric() || "-_.:".contains(*c))
                    .collect::<String>()
            })
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join("/");
        if name.is_empty() || files >= 64 {
            continue;
        }
        let path = dir.0.join(&name);
        if let Some(parent) = path.parent() {
            if std::fs::create_dir_all(parent).is_err() {
                continue;
            }
        }
        if std::fs::write(&path, content).is_ok() {
            files += 1;
        }
    }
    if let Ok(loaded) = crate::bundle::read_bundle(&dir.0) {
        let _ = loaded.snapshot.index();
    }
}

/// A bundle's manifest.
pub fn manifest(data: &[u8]) {
    let _ = serde_json::from_slice::<crate::model::Manifest>(data);
}

/// A resource list file.
pub fn resource_list(data: &[u8]) {
    let _ = crate::bundle::parse_list(data, "resources/core/v1/pods.json");
}

/// One log line, as the log detectors read it.
pub fn log_line(data: &[u8]) {
    let line = String::from_utf8_lossy(data);
    let _ = crate::analysis::detect::read_log_line(&line);
}

/// serve's label and field selectors, parsed and matched against an object.
pub fn selectors(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let (label, field) = text.split_once('\n').unwrap_or((&text, &text));
    let labels: BTreeMap<String, String> = [("app", "web"), ("tier", "front")]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    if let Ok(s) = crate::serve::selector::LabelSelector::parse(label) {
        let _ = s.matches(&labels);
    }
    let obj = serde_json::json!({"metadata": {"name": "web-1", "namespace": "shop"},
        "spec": {"nodeName": "n1"}, "status": {"phase": "Running"}});
    if let Ok(s) = crate::serve::selector::FieldSelector::parse(field) {
        let _ = s.matches(&obj);
    }
}

/// Quantities (`250m`, `1.5Gi`, `1e3`) as the scheduler and the analyses read them.
pub fn quantity(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let _ = crate::model::quantity::milli_value(&text);
    let _ = crate::model::quantity::value(&text);
}

/// A target's body.
pub type Target = fn(&[u8]);

/// Every target by name, for the corpus test and the fuzz crate.
pub const TARGETS: &[(&str, Target)] = &[
    ("bundle_tar", bundle_tar),
    ("bundle_dir", bundle_dir),
    ("manifest", manifest),
    ("resource_list", resource_list),
    ("log_line", log_line),
    ("selectors", selectors),
    ("quantity", quantity),
];
