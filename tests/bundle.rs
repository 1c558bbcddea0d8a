//! Bundle format v1 end to end, through the binary: determinism, integrity, round trips,
//! and hostile input (each must fail with a clear error naming the entry, never panic).

mod common;

use std::io::Write;
use std::path::Path;

use common::{bin, contains, decompressed, entries, fixture_bundle};

#[test]
fn fixture_bundle_is_byte_identical_across_runs() {
    let dir = tempfile::tempdir().unwrap();
    let a = fixture_bundle(dir.path());
    let first = std::fs::read(&a).unwrap();
    std::fs::remove_file(&a).unwrap();
    let b = fixture_bundle(dir.path());
    assert_eq!(
        first,
        std::fs::read(&b).unwrap(),
        "same input, different bytes"
    );
}

#[test]
fn manifest_comes_first_and_lists_every_file_with_its_hash() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = fixture_bundle(dir.path());
    let entries = entries(&bundle);
    assert_eq!(entries[0].0, "manifest.json");
    let manifest: serde_json::Value = serde_json::from_slice(&entries[0].1).unwrap();
    assert_eq!(manifest["format"], "kubectl-intel.bundle/v1");
    // The writer is the binary, whichever of its crates writes the manifest.
    assert_eq!(manifest["tool"]["name"], "kubectl-intel");
    assert_eq!(manifest["tool"]["version"], env!("CARGO_PKG_VERSION"));
    let files = manifest["files"].as_array().unwrap();
    assert_eq!(files.len(), entries.len() - 1);
    for ((path, content), listed) in entries[1..].iter().zip(files) {
        assert_eq!(listed["path"], path.as_str());
        assert_eq!(listed["size"], content.len() as u64);
        use sha2::Digest;
        assert_eq!(listed["sha256"], hex::encode(sha2::Sha256::digest(content)));
    }
    // Entries after the manifest are sorted, and resource files are Lists whose items
    // carry apiVersion and kind, sorted by (namespace, name).
    let paths: Vec<&str> = entries[1..].iter().map(|e| e.0.as_str()).collect();
    let mut sorted = paths.clone();
    sorted.sort();
    assert_eq!(paths, sorted);
    let pods = &entries
        .iter()
        .find(|e| e.0 == "resources/core/v1/pods.json")
        .unwrap()
        .1;
    let pods: serde_json::Value = serde_json::from_slice(pods).unwrap();
    assert_eq!(pods["kind"], "List");
    let items = pods["items"].as_array().unwrap();
    assert!(
        items
            .iter()
            .all(|i| i["apiVersion"] == "v1" && i["kind"] == "Pod")
    );
    let keys: Vec<(String, String)> = items
        .iter()
        .map(|i| {
            (
                i["metadata"]["namespace"].as_str().unwrap().to_string(),
                i["metadata"]["name"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let mut sorted_keys = keys.clone();
    sorted_keys.sort();
    assert_eq!(keys, sorted_keys);
    for expected in [
        "resources/ops.example.com/v1/backups.json",
        "resources/core/v1/events.json",
        "metrics/2026-11-24T14:00:00Z/pods.json",
        "metrics/2026-11-24T14:00:00Z/nodes.json",
    ] {
        assert!(paths.contains(&expected), "missing {expected}");
    }
    assert!(paths.iter().any(|p| p.ends_with(".previous.log")));
}

/// Reading a bundle and writing it again gives the same bytes: nothing is lost or reordered.
#[test]
fn read_then_write_is_identity() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = fixture_bundle(dir.path());
    let loaded = kubectl_intel::bundle::read_bundle(&bundle).unwrap();
    assert!(loaded.integrity.ok(), "{:?}", loaded.integrity);
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    let again = dir.path().join("again.intel.tar.zst");
    kubectl_intel::bundle::write_bundle(&loaded.snapshot, &again).unwrap();
    assert_eq!(
        std::fs::read(&bundle).unwrap(),
        std::fs::read(&again).unwrap()
    );
}

/// Thousands of files the format does not define: one warning naming the first ten and
/// counting the rest, not a line each (issue 25: 100k of them printed 11 MB).
#[test]
fn unknown_files_are_summarized_in_one_warning() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = fixture_bundle(dir.path());
    let root = dir.path().join("unpacked");
    for (path, content) in entries(&bundle) {
        let p = root.join(&path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, content).unwrap();
    }
    let junk = root.join("notes");
    std::fs::create_dir_all(&junk).unwrap();
    for i in 0..2000 {
        std::fs::write(junk.join(format!("n{i:04}.txt")), "x").unwrap();
    }
    let loaded = kubectl_intel::bundle::read_bundle(&root).unwrap();
    let unknown: Vec<&String> = loaded
        .warnings
        .iter()
        .filter(|w| w.starts_with("skipped"))
        .collect();
    assert_eq!(unknown.len(), 1, "{unknown:?}");
    assert!(
        unknown[0]
            .starts_with("skipped 2000 files bundle format v1 does not define: notes/n0000.txt, "),
        "{}",
        unknown[0]
    );
    assert!(unknown[0].ends_with(" and 1990 more"), "{}", unknown[0]);
    let out = bin().arg("inspect").arg(&root).output().unwrap();
    assert!(out.status.success());
    assert!(
        out.stderr.len() < 4096,
        "{} bytes of warnings",
        out.stderr.len()
    );
}

/// A metrics folder whose name is no time is skipped with a warning; the real samples stay
/// (issue 25: `metrics/not-a-time/` hid every metric).
#[test]
fn a_metrics_folder_that_is_no_time_is_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = fixture_bundle(dir.path());
    let root = dir.path().join("unpacked");
    for (path, content) in entries(&bundle) {
        let p = root.join(&path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, content).unwrap();
    }
    let before = kubectl_intel::bundle::read_bundle(&root)
        .unwrap()
        .snapshot
        .metrics
        .len();
    assert!(before > 0, "the fixture has metrics samples");
    let odd = root.join("metrics/not-a-time");
    std::fs::create_dir_all(&odd).unwrap();
    std::fs::write(odd.join("nodes.json"), r#"{"items":[]}"#).unwrap();
    let loaded = kubectl_intel::bundle::read_bundle(&root).unwrap();
    assert_eq!(loaded.snapshot.metrics.len(), before);
    assert!(
        loaded
            .snapshot
            .metrics
            .iter()
            .all(|m| m.time != "not-a-time")
    );
    assert!(
        loaded
            .warnings
            .iter()
            .any(|w| w.contains("metrics/not-a-time/nodes.json")),
        "{:?}",
        loaded.warnings
    );
}

#[test]
fn unpacked_directory_is_accepted_like_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = fixture_bundle(dir.path());
    let root = dir.path().join("unpacked");
    common::unpack(&bundle, &root);
    let from_dir = kubectl_intel::bundle::read_bundle(&root).unwrap();
    assert!(from_dir.integrity.ok(), "{:?}", from_dir.integrity);
    let again = dir.path().join("from-dir.intel.tar.zst");
    kubectl_intel::bundle::write_bundle(&from_dir.snapshot, &again).unwrap();
    assert_eq!(
        std::fs::read(&bundle).unwrap(),
        std::fs::read(&again).unwrap()
    );
    let out = bin()
        .arg("inspect")
        .arg(&root)
        .args(["--verify", "-o", "json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["cluster"]["name"], "demo");
    assert_eq!(
        report["integrity"]["mismatched"].as_array().unwrap().len(),
        0
    );
}

#[test]
fn inspect_reports_counts_collectors_and_integrity() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = fixture_bundle(dir.path());
    let out = bin()
        .arg("inspect")
        .arg(&bundle)
        .args(["--verify", "-o", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["capturedAt"], "2026-11-24T14:00:00Z");
    let count = |kind: &str| {
        r["counts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["kind"] == kind)
            .map(|c| c["count"].as_u64().unwrap())
    };
    assert_eq!(count("Node"), Some(3));
    assert_eq!(count("Pod"), Some(10));
    assert_eq!(count("Backup.ops.example.com"), Some(2));
    assert_eq!(r["metrics"]["samples"], 4);
    assert_eq!(r["logs"]["previous"], 4);
    assert_eq!(r["redaction"]["enabled"], true);
    assert_eq!(
        r["integrity"]["filesChecked"].as_u64().unwrap() as usize,
        entries(&bundle).len() - 1
    );
    let text = bin().arg("inspect").arg(&bundle).output().unwrap();
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(text.contains("Cluster:     demo"), "{text}");
    assert!(text.contains("Backup.ops.example.com"), "{text}");
}

#[test]
fn tampered_file_fails_verification_with_exit_4() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = fixture_bundle(dir.path());
    let mut entries = entries(&bundle);
    let pods = entries
        .iter_mut()
        .find(|e| e.0 == "resources/core/v1/pods.json")
        .unwrap();
    let text = String::from_utf8(pods.1.clone())
        .unwrap()
        .replacen("Running", "Runnin_", 1);
    pods.1 = text.into_bytes();
    let tampered = dir.path().join("tampered.intel.tar.zst");
    write_tar(
        &tampered,
        entries
            .iter()
            .map(|(p, c)| Entry::file(p, c))
            .collect::<Vec<_>>(),
    );
    let out = bin()
        .arg("inspect")
        .arg(&tampered)
        .arg("--verify")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("resources/core/v1/pods.json: sha256 differs"),
        "{stdout}"
    );
}

#[test]
fn fixture_bundle_holds_no_secret_values() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = fixture_bundle(dir.path());
    let bytes = decompressed(&bundle);
    // Values planted in the demo's Secret, env and logs before redaction.
    for canary in [
        "ZGVtby1kYi1wYXNzd29yZC1jYW5hcnk=",
        "demo-db-password-canary",
        "hunter2-demo",
        "demo-signing-key-not-real",
        "c2lnbmF0dXJlLWRlbW8",
    ] {
        assert!(
            !contains(&bytes, canary),
            "canary {canary} leaked into the bundle"
        );
    }
    // ...while what analyses need survives: the secret's key names and the database host.
    assert!(contains(&bytes, "\"password\":\"\""));
    assert!(contains(&bytes, "postgres.shop:5432"));
}

// ---- hostile bundles -------------------------------------------------------------

struct Entry {
    path: String,
    kind: tar::EntryType,
    data: Box<dyn std::io::Read>,
    size: u64,
    link: Option<String>,
}

impl Entry {
    fn file(path: &str, data: &[u8]) -> Self {
        Entry {
            path: path.to_string(),
            kind: tar::EntryType::Regular,
            data: Box::new(std::io::Cursor::new(data.to_vec())),
            size: data.len() as u64,
            link: None,
        }
    }

    fn zeros(path: &str, size: u64) -> Self {
        Entry {
            path: path.to_string(),
            kind: tar::EntryType::Regular,
            data: Box::new(std::io::Read::take(std::io::repeat(0), size)),
            size,
            link: None,
        }
    }

    /// `head`, then `unit` `count` times, then `tail`, generated as it is read (an
    /// item-count bomb takes no memory in the test).
    fn repeated(path: &str, head: &[u8], unit: &'static [u8], count: u64, tail: &[u8]) -> Self {
        struct Cycle(&'static [u8], usize);
        impl std::io::Read for Cycle {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                for b in buf.iter_mut() {
                    *b = self.0[self.1];
                    self.1 = (self.1 + 1) % self.0.len();
                }
                Ok(buf.len())
            }
        }
        let body = unit.len() as u64 * count;
        let data = std::io::Read::chain(
            std::io::Read::chain(
                std::io::Cursor::new(head.to_vec()),
                std::io::Read::take(Cycle(unit, 0), body),
            ),
            std::io::Cursor::new(tail.to_vec()),
        );
        Entry {
            path: path.to_string(),
            kind: tar::EntryType::Regular,
            data: Box::new(data),
            size: head.len() as u64 + body + tail.len() as u64,
            link: None,
        }
    }

    fn symlink(path: &str, target: &str) -> Self {
        Entry {
            path: path.to_string(),
            kind: tar::EntryType::Symlink,
            data: Box::new(std::io::empty()),
            size: 0,
            link: Some(target.to_string()),
        }
    }
}

const MANIFEST: &[u8] = br#"{"format":"kubectl-intel.bundle/v1","tool":{"name":"t","version":"0"},"cluster":{"name":"c"},"capturedAt":"2026-01-01T00:00:00Z"}"#;

/// Writes a tar.zst with raw headers: the tar crate's `append` does not check names, so
/// `../` and absolute paths can be planted as an attacker would.
fn write_tar(path: &Path, entries: Vec<Entry>) {
    let file = std::fs::File::create(path).unwrap();
    let enc = zstd::Encoder::new(file, 1).unwrap();
    let mut ar = tar::Builder::new(enc);
    for e in entries {
        let mut h = tar::Header::new_gnu();
        {
            let gnu = h.as_gnu_mut().unwrap();
            gnu.name = [0; 100];
            gnu.name[..e.path.len()].copy_from_slice(e.path.as_bytes());
        }
        h.set_entry_type(e.kind);
        h.set_size(e.size);
        h.set_mode(0o644);
        if let Some(link) = &e.link {
            h.set_link_name(link).unwrap();
        }
        h.set_cksum();
        ar.append(&h, e.data).unwrap();
    }
    let enc = ar.into_inner().unwrap();
    enc.finish().unwrap().flush().unwrap();
}

fn inspect(path: &Path) -> (Option<i32>, String) {
    let out = bin().arg("inspect").arg(path).output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn assert_rejected(path: &Path, needle: &str) {
    let (code, stderr) = inspect(path);
    assert_eq!(
        code,
        Some(3),
        "expected exit 3 (bad bundle), stderr: {stderr}"
    );
    assert!(
        stderr.contains(needle),
        "stderr does not mention {needle:?}: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn parent_dir_entry_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let b = dir.path().join("b.tar.zst");
    write_tar(
        &b,
        vec![
            Entry::file("manifest.json", MANIFEST),
            Entry::file("../escaped.json", b"{}"),
        ],
    );
    assert_rejected(&b, "\"../escaped.json\" is unsafe");
    assert!(!dir.path().parent().unwrap().join("escaped.json").exists());
}

#[test]
fn absolute_entry_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let b = dir.path().join("b.tar.zst");
    write_tar(
        &b,
        vec![
            Entry::file("manifest.json", MANIFEST),
            Entry::file("/tmp/abs.json", b"{}"),
        ],
    );
    assert_rejected(&b, "\"/tmp/abs.json\" is unsafe: it is an absolute path");
}

#[test]
fn symlink_entry_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let b = dir.path().join("b.tar.zst");
    write_tar(
        &b,
        vec![
            Entry::file("manifest.json", MANIFEST),
            Entry::symlink("resources/core/v1/pods.json", "/etc/passwd"),
        ],
    );
    assert_rejected(&b, "\"resources/core/v1/pods.json\" is a symbolic link");
}

#[test]
fn symlink_in_unpacked_directory_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("unpacked");
    std::fs::create_dir_all(root.join("resources/core/v1")).unwrap();
    std::fs::write(root.join("manifest.json"), MANIFEST).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", root.join("resources/core/v1/pods.json")).unwrap();
    assert_rejected(&root, "\"resources/core/v1/pods.json\" is a symbolic link");
}

/// A hard link in an unpacked bundle is refused like a symbolic one: it can name a file
/// outside the bundle (issue 25).
#[cfg(unix)]
#[test]
fn hard_link_in_unpacked_directory_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = fixture_bundle(dir.path());
    let root = dir.path().join("unpacked");
    for (path, content) in entries(&bundle) {
        let p = root.join(&path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, content).unwrap();
    }
    let outside = dir.path().join("secret-outside.txt");
    std::fs::write(&outside, "not the bundle's").unwrap();
    std::fs::create_dir_all(root.join("logs")).unwrap();
    std::fs::hard_link(&outside, root.join("logs/extra.log")).unwrap();
    assert_rejected(&root, "hard link");
}

#[test]
fn duplicate_entry_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let b = dir.path().join("b.tar.zst");
    let list = br#"{"apiVersion":"v1","kind":"List","items":[]}"#;
    write_tar(
        &b,
        vec![
            Entry::file("manifest.json", MANIFEST),
            Entry::file("resources/core/v1/pods.json", list),
            Entry::file("resources/core/v1/pods.json", list),
        ],
    );
    assert_rejected(&b, "\"resources/core/v1/pods.json\" appears twice");
}

#[test]
fn invalid_json_names_the_entry() {
    let dir = tempfile::tempdir().unwrap();
    let b = dir.path().join("b.tar.zst");
    write_tar(
        &b,
        vec![
            Entry::file("manifest.json", MANIFEST),
            Entry::file(
                "resources/apps/v1/deployments.json",
                br#"{"items":[{"metadata":"#,
            ),
        ],
    );
    // Skipped and named, the rest read; refused with --strict.
    let out = bin().arg("inspect").arg(&b).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        report.contains("skipped resources/apps/v1/deployments.json: not valid JSON"),
        "{report}"
    );
    let out = bin()
        .arg("inspect")
        .arg(&b)
        .arg("--strict")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("resources/apps/v1/deployments.json"),
        "{stderr}"
    );
}

#[test]
fn unknown_major_format_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let b = dir.path().join("b.tar.zst");
    write_tar(
        &b,
        vec![Entry::file(
            "manifest.json",
            br#"{"format":"kubectl-intel.bundle/v2","whatever":1}"#,
        )],
    );
    assert_rejected(
        &b,
        "bundle format \"kubectl-intel.bundle/v2\" is not supported",
    );
}

/// An absurd or unreadable capture time is refused with its value and the fix (issue 25:
/// reports said "0s before capture" and the replay's Date became 1970); a plausible one
/// (the near miss) is read.
#[test]
fn capture_times_that_are_no_time_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = fixture_bundle(dir.path());
    let with_time = |name: &str, at: &str| {
        let b = dir.path().join(name);
        let entries: Vec<Entry> = entries(&bundle)
            .into_iter()
            .map(|(path, content)| {
                if path == "manifest.json" {
                    let mut m: serde_json::Value = serde_json::from_slice(&content).unwrap();
                    m["capturedAt"] = serde_json::json!(at);
                    Entry::file(&path, m.to_string().as_bytes())
                } else {
                    Entry::file(&path, &content)
                }
            })
            .collect();
        write_tar(&b, entries);
        b
    };
    assert_rejected(
        &with_time("words.tar.zst", "not-a-time"),
        "capturedAt \"not-a-time\" is not an RFC 3339 time",
    );
    assert_rejected(
        &with_time("future.tar.zst", "9999-01-01T00:00:00Z"),
        "is outside 2014-06-01..2200-01-01",
    );
    assert_rejected(
        &with_time("epoch.tar.zst", "1970-01-01T00:00:00Z"),
        "capturedAt",
    );
    let fine = with_time("fine.tar.zst", "2025-03-01T08:00:00Z");
    assert!(kubectl_intel::bundle::read_bundle(&fine).is_ok());
}

#[test]
fn missing_manifest_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let b = dir.path().join("b.tar.zst");
    write_tar(
        &b,
        vec![Entry::file(
            "resources/core/v1/pods.json",
            br#"{"items":[]}"#,
        )],
    );
    assert_rejected(&b, "no manifest.json");
}

#[test]
fn truncated_bundle_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = fixture_bundle(dir.path());
    let bytes = std::fs::read(&bundle).unwrap();
    let cut = dir.path().join("cut.intel.tar.zst");
    std::fs::write(&cut, &bytes[..bytes.len() * 2 / 3]).unwrap();
    assert_rejected(&cut, "truncated or corrupt");
}

/// The zstd frame's checksum is verified (issue 25: cutting or flipping the last 4 bytes
/// passed `inspect --verify`, the tar's end marker surviving both).
#[test]
fn a_cut_or_altered_tail_fails_the_frame_checksum() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = fixture_bundle(dir.path());
    let bytes = std::fs::read(&bundle).unwrap();
    let cut = dir.path().join("cut4.intel.tar.zst");
    std::fs::write(&cut, &bytes[..bytes.len() - 4]).unwrap();
    assert_rejected(&cut, "the end of the zstd stream");
    let mut flipped = bytes.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 0x5a;
    let altered = dir.path().join("flipped.intel.tar.zst");
    std::fs::write(&altered, &flipped).unwrap();
    assert_rejected(&altered, "the end of the zstd stream");
    // The intact bundle still reads.
    assert!(kubectl_intel::bundle::read_bundle(&bundle).is_ok());
}

#[test]
fn a_file_that_is_not_a_bundle_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let b = dir.path().join("notes.txt");
    std::fs::write(&b, "hello").unwrap();
    assert_rejected(&b, "not zstd-compressed");
}

/// Peak resident memory of a child process run to completion, in KiB: that child's own
/// (wait4), not the maximum over every child this test binary ran in parallel.
fn peak_rss_kib(cmd: &mut std::process::Command) -> (std::process::Output, i64) {
    use std::io::Read;
    use std::os::unix::process::ExitStatusExt;
    let mut child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let stdout = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out.read_to_end(&mut v);
        v
    });
    let stderr = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = err.read_to_end(&mut v);
        v
    });
    let mut status = 0;
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waits for our own child, writing into values we own.
    let pid = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
    assert!(pid > 0, "wait4 failed");
    // Reaped above; std's wait now finds nothing to wait for.
    let _ = child.try_wait();
    let output = std::process::Output {
        status: std::process::ExitStatus::from_raw(status),
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    };
    (output, usage.ru_maxrss)
}

/// Gigabytes of zeros compress to almost nothing; the reader must fail at the first byte of
/// a JSON entry, and refuse an oversized log by its header, without filling memory.
#[test]
fn decompression_bomb_keeps_memory_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let json_bomb = dir.path().join("json-bomb.tar.zst");
    write_tar(
        &json_bomb,
        vec![
            Entry::file("manifest.json", MANIFEST),
            Entry::zeros("resources/core/v1/pods.json", 4 << 30),
        ],
    );
    assert!(
        std::fs::metadata(&json_bomb).unwrap().len() < 8 << 20,
        "the bomb should be small on disk"
    );
    let (out, rss) = peak_rss_kib(bin().arg("inspect").arg(&json_bomb));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("resources/core/v1/pods.json"), "{stderr}");
    assert!(rss < 200 * 1024, "peak RSS {rss} KiB exceeds 200 MB");

    let log_bomb = dir.path().join("log-bomb.tar.zst");
    write_tar(
        &log_bomb,
        vec![
            Entry::file("manifest.json", MANIFEST),
            Entry::zeros("logs/ns/pod/c.log", 2 << 30),
        ],
    );
    let (out, rss) = peak_rss_kib(bin().arg("inspect").arg(&log_bomb));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("\"logs/ns/pod/c.log\" is 2147483648 bytes, over the"),
        "{stderr}"
    );
    assert!(rss < 200 * 1024, "peak RSS {rss} KiB exceeds 200 MB");
}

/// Every built-in object the demo writes is valid for the Kubernetes API: it deserializes
/// into its k8s-openapi type. And the snapshot's usage series come from its samples.
#[test]
fn demo_objects_are_valid_api_objects() {
    use k8s_openapi::api::{apps, core, networking, policy};
    let dir = tempfile::tempdir().unwrap();
    let snap = kubectl_intel::bundle::read_bundle(&fixture_bundle(dir.path()))
        .unwrap()
        .snapshot;
    assert_eq!(common::assert_typed::<core::v1::Pod>(&snap, "", "pods"), 10);
    assert_eq!(
        common::assert_typed::<core::v1::Node>(&snap, "", "nodes"),
        3
    );
    assert!(common::assert_typed::<core::v1::Service>(&snap, "", "services") > 0);
    assert!(common::assert_typed::<core::v1::Event>(&snap, "", "events") > 0);
    assert!(common::assert_typed::<core::v1::Secret>(&snap, "", "secrets") > 0);
    assert!(common::assert_typed::<core::v1::PersistentVolume>(&snap, "", "persistentvolumes") > 0);
    assert!(common::assert_typed::<apps::v1::Deployment>(&snap, "apps", "deployments") > 0);
    assert!(common::assert_typed::<apps::v1::ReplicaSet>(&snap, "apps", "replicasets") > 0);
    assert!(common::assert_typed::<apps::v1::StatefulSet>(&snap, "apps", "statefulsets") > 0);
    assert!(
        common::assert_typed::<networking::v1::Ingress>(&snap, "networking.k8s.io", "ingresses")
            > 0
    );
    assert!(
        common::assert_typed::<policy::v1::PodDisruptionBudget>(
            &snap,
            "policy",
            "poddisruptionbudgets"
        ) > 0
    );

    let usage = snap.usage();
    assert_eq!(usage.nodes.len(), 3);
    assert!(usage.nodes.values().all(|s| s.len() == 4));
    let auth = snap
        .pods()
        .iter()
        .find(|p| p.meta.name.starts_with("auth-"))
        .unwrap();
    let series = usage.pod("shop", &auth.meta.name);
    assert_eq!(series.len(), 1);
    let (container, readings) = series[0];
    assert_eq!(container, "auth");
    assert_eq!(readings.len(), 4);
    // The leak: memory climbs sample after sample.
    assert!(
        readings
            .windows(2)
            .all(|w| w[1].memory_bytes > w[0].memory_bytes)
    );
    // The index relates the pod to its owners, node, Service and events.
    let ix = snap.index();
    let chain: Vec<&str> = snap
        .owner_chain(auth)
        .iter()
        .map(|o| o.meta.kind.as_str())
        .collect();
    assert_eq!(chain, ["ReplicaSet", "Deployment"]);
    let svc = ix.by_name("Service", "shop", "auth")[0];
    assert_eq!(ix.service_pods(svc).unwrap().len(), 2);
    assert!(!ix.events_for("Pod", "shop", &auth.meta.name).is_empty());
}

/// One unreadable file (invalid JSON in a metrics sample and in a resource list) no longer
/// rejects the bundle: the rest is analysed, each skipped file is named on stderr and in
/// the answer's limitations, exit 0. `--strict` keeps the old refusal (exit 3, naming the
/// file). A structural attack (a symbolic link) is refused either way.
#[test]
fn a_partly_corrupt_bundle_still_gets_an_answer_unless_strict() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("demo.intel.tar.zst");
    assert!(
        bin()
            .args(["demo", "--out"])
            .arg(&bundle)
            .output()
            .unwrap()
            .status
            .success()
    );
    let root = dir.path().join("unpacked");
    common::unpack(&bundle, &root);
    let sample = std::fs::read_dir(root.join("metrics"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .min()
        .unwrap()
        .join("pods.json");
    std::fs::write(&sample, b"{\"items\": [ {\"metadata\": ").unwrap();
    std::fs::write(root.join("resources/core/v1/configmaps.json"), b"not json").unwrap();
    let out = bin()
        .args(["diagnose", "checkout fails", "--bundle"])
        .arg(&root)
        .args(["-o", "json"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("skipped resources/core/v1/configmaps.json: not valid JSON")
            && stderr.contains("/pods.json: not valid JSON"),
        "{stderr}"
    );
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let limits = r["limitations"].to_string();
    assert!(
        limits.contains("resources/core/v1/configmaps.json could not be read")
            && limits.contains("/pods.json could not be read"),
        "{limits}"
    );
    // The rest was analysed: the demo's root cause is still found.
    assert_eq!(
        r["rootCauses"][0]["subject"]["name"], "auth",
        "{}",
        r["rootCauses"]
    );
    // --strict: refused, naming the file.
    let out = bin()
        .args(["diagnose", "checkout fails", "--strict", "--bundle"])
        .arg(&root)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("is not valid JSON"), "{stderr}");
    // inspect reads it the same way.
    let out = bin().arg("inspect").arg(&root).output().unwrap();
    assert!(out.status.success());
    let out = bin()
        .arg("inspect")
        .arg(&root)
        .arg("--strict")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    // A symbolic link is structural: refused without --strict too.
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink("/etc/hostname", root.join("logs/link.log")).unwrap();
        let out = bin()
            .args(["diagnose", "", "--bundle"])
            .arg(&root)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(3));
    }
}

/// An item-count bomb — a list of hundreds of millions of tiny items in a small file — is
/// refused with exit 3 naming the entry, with memory bounded: read whole (450 MB of
/// `{},`) or streamed (1.5 GiB), the parse stops at the item cap.
#[test]
fn item_count_bombs_are_refused_with_memory_bounded() {
    let dir = tempfile::tempdir().unwrap();
    for (name, count) in [("whole", 150_000_000u64), ("streamed", 540_000_000)] {
        let bomb = dir.path().join(format!("{name}.tar.zst"));
        write_tar(
            &bomb,
            vec![
                Entry::file("manifest.json", MANIFEST),
                Entry::repeated(
                    "resources/core/v1/pods.json",
                    b"{\"items\":[",
                    b"{},",
                    count,
                    b"{}]}",
                ),
            ],
        );
        assert!(
            std::fs::metadata(&bomb).unwrap().len() < 4 << 20,
            "{name}: small on disk"
        );
        let (out, rss) = peak_rss_kib(bin().arg("inspect").arg(&bomb));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{name}: {stderr}");
        assert!(
            stderr.contains("resources/core/v1/pods.json") && stderr.contains("items"),
            "{name}: {stderr}"
        );
        assert!(
            rss < 1024 * 1024,
            "{name}: peak RSS {rss} KiB is over 1 GiB"
        );
    }
}

/// A field nested 100,000 deep is no object Kubernetes would hold (every JSON parser the
/// analyses use stops at 128 levels): the object is left out and its list named, the rest
/// read; nothing overflows a stack.
#[test]
fn a_deeply_nested_object_is_left_out_naming_its_entry() {
    let dir = tempfile::tempdir().unwrap();
    let b = dir.path().join("deep.tar.zst");
    let deep = format!(
        r#"{{"items":[{{"apiVersion":"v1","kind":"Pod","metadata":{{"name":"deep","namespace":"shop"}},"spec":{{"x":{}{}}}}},{{"apiVersion":"v1","kind":"Pod","metadata":{{"name":"flat","namespace":"shop"}},"spec":{{"x":"[[[["}}}}]}}"#,
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    write_tar(
        &b,
        vec![
            Entry::file("manifest.json", MANIFEST),
            Entry::file("resources/core/v1/pods.json", deep.as_bytes()),
        ],
    );
    let out = bin().arg("inspect").arg(&b).output().unwrap();
    let report = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        report.contains("1 object(s) of resources/core/v1/pods.json")
            && report.contains("nested deeper than 128 levels"),
        "{report}"
    );
    // Its near miss, brackets inside a string, is an ordinary pod.
    assert!(
        report
            .lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["Pod", "1"]),
        "{report}"
    );
    let out = bin()
        .args(["diagnose", "", "-o", "json", "--bundle"])
        .arg(&b)
        .output()
        .unwrap();
    assert!(out.status.success());
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        r["limitations"]
            .to_string()
            .contains("nested deeper than 128"),
        "{}",
        r["limitations"]
    );
}

/// What no bundle can hold (a log of a pod named `a/b`, a type whose name has a slash) is
/// removed and said by `prune_unwritable`, as capture does before writing, instead of the
/// whole write failing; its near miss, an ordinary name, stays.
#[test]
fn names_no_file_can_have_are_pruned_not_fatal() {
    use kubectl_intel::model::{LogKey, ResourceList, ResourceType, TypeKey};
    let mut snap = kubectl_intel::fixture::snapshot();
    for (pod, container) in [("a/b", "app"), ("web-1", ".."), ("web-2", "app")] {
        snap.logs.insert(
            LogKey {
                namespace: "shop".into(),
                pod: pod.into(),
                container: container.into(),
                previous: false,
            },
            "line\n".into(),
        );
    }
    let mut rtype = ResourceType::builtin(&TypeKey::new("", "v1", "pods")).unwrap();
    rtype.group = "evil.io/x".into();
    snap.insert_list(ResourceList::new(rtype, Vec::new()));
    let dir = tempfile::tempdir().unwrap();
    assert!(kubectl_intel::bundle::write_bundle(&snap, &dir.path().join("no.tar.zst")).is_err());
    let pruned = kubectl_intel::bundle::prune_unwritable(&mut snap);
    assert_eq!(pruned.len(), 3, "{pruned:?}");
    assert!(pruned.iter().any(|p| p.contains("\"a/b\"")), "{pruned:?}");
    assert!(snap.logs.keys().any(|k| k.pod == "web-2"));
    kubectl_intel::bundle::write_bundle(&snap, &dir.path().join("ok.tar.zst")).unwrap();
}
