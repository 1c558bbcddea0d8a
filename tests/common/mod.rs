//! Helpers shared by the integration tests: the binary, demo bundles, reading tar.zst files.
#![allow(dead_code)]

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Says a check was skipped: on stderr (straight to the handle: the harness captures
/// `eprintln!` of passing tests) and, when `$INTEL_SKIP_LOG` names a file, as a line there,
/// which `scripts/test.sh` prints at the very end.
pub fn skipped(what: &str) {
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "\n**********************************************************************\n\
         SKIPPED: {what}\n\
         **********************************************************************"
    );
    if let Some(log) = std::env::var_os("INTEL_SKIP_LOG").filter(|p| !p.is_empty()) {
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
        {
            let first = what.lines().next().unwrap_or(what);
            let _ = writeln!(f, "{first}");
        }
    }
}

pub fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_kubectl-intel"))
}

/// Writes the compact fixture cluster (`kubectl_intel::fixture`) as a bundle in `dir`.
pub fn fixture_bundle(dir: &Path) -> PathBuf {
    let out = dir.join("fixture.intel.tar.zst");
    kubectl_intel::bundle::write_bundle(&kubectl_intel::fixture::snapshot(), &out)
        .expect("write the fixture bundle");
    out
}

/// Every entry of a bundle: (path, content), in archive order.
pub fn entries(bundle: &Path) -> Vec<(String, Vec<u8>)> {
    let file = std::fs::File::open(bundle).expect("open bundle");
    let dec = zstd::Decoder::new(file).expect("zstd");
    let mut ar = tar::Archive::new(dec);
    let mut out = Vec::new();
    for e in ar.entries().expect("entries") {
        let mut e = e.expect("entry");
        let path = e.path().expect("path").to_string_lossy().into_owned();
        let mut buf = Vec::new();
        e.read_to_end(&mut buf).expect("read entry");
        out.push((path, buf));
    }
    out
}

/// Unpacks a bundle into directory `root` (a directory bundle of the same files).
pub fn unpack(bundle: &Path, root: &Path) {
    for (path, content) in entries(bundle) {
        let p = root.join(&path);
        std::fs::create_dir_all(p.parent().expect("entry has a parent")).expect("mkdir");
        std::fs::write(p, content).expect("write entry");
    }
}

/// The same log as the pod's current and previous container log.
pub fn insert_logs(
    snap: &mut kubectl_intel::model::Snapshot,
    namespace: &str,
    pod: &str,
    container: &str,
    text: &str,
) {
    for previous in [false, true] {
        snap.logs.insert(
            kubectl_intel::model::LogKey {
                namespace: namespace.into(),
                pod: pod.into(),
                container: container.into(),
                previous,
            },
            text.to_string(),
        );
    }
}

/// Runs the binary, which must succeed, and returns its standard output.
pub fn text_of(cmd: &mut Command) -> String {
    let out = cmd.output().expect("run kubectl-intel");
    assert!(
        out.status.success(),
        "{:?}: {}",
        cmd.get_args().collect::<Vec<_>>(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

/// Every command a report's recommendations suggest (steps, verify, rollback), in order.
pub fn commands(report: &serde_json::Value) -> Vec<String> {
    report["recommendations"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|r| ["steps", "verify", "rollback"].map(|k| r[k].clone()))
        .flat_map(|l| l.as_array().cloned().unwrap_or_default())
        .filter_map(|c| c.as_str().map(str::to_string))
        .collect()
}

/// Runs the binary, which must succeed, and parses its JSON answer.
pub fn json_of(cmd: &mut Command) -> serde_json::Value {
    serde_json::from_str(&text_of(cmd)).expect("a JSON answer")
}

/// A bundle's decompressed bytes (the whole tar), for searching for canaries.
pub fn decompressed(bundle: &Path) -> Vec<u8> {
    let file = std::fs::File::open(bundle).expect("open bundle");
    let mut dec = zstd::Decoder::new(file).expect("zstd");
    let mut buf = Vec::new();
    dec.read_to_end(&mut buf).expect("decompress");
    buf
}

pub fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

/// Finds the `kubectl` binary; CI installs it, so a missing one fails the test unless
/// `INTEL_SKIP_KUBECTL=1` is set (for a developer machine without kubectl).
pub fn kubectl() -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join("kubectl"))
            .find(|p| p.is_file())
    });
    if found.is_none() && std::env::var("INTEL_SKIP_KUBECTL").as_deref() != Ok("1") {
        panic!(
            "kubectl is not on PATH: install it (Debian: kubernetes-client) or set INTEL_SKIP_KUBECTL=1"
        );
    }
    found
}

/// A running `kubectl intel serve`, killed on drop.
pub struct Server {
    pub child: std::process::Child,
    pub kubeconfig: PathBuf,
    pub url: String,
}

impl Server {
    pub fn start(bundle: &Path, dir: &Path, extra: &[&str]) -> Server {
        let kubeconfig = dir.join(format!(
            "kubeconfig-{}",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0)
        ));
        let mut child = bin()
            .arg("serve")
            .arg(bundle)
            .args(["--listen", "127.0.0.1:0", "--kubeconfig-out"])
            .arg(&kubeconfig)
            .args(extra)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start serve");
        let mut stdout = child.stdout.take().expect("stdout");
        let mut line = Vec::new();
        let mut byte = [0u8; 1];
        while stdout.read(&mut byte).map(|n| n == 1).unwrap_or(false) && byte[0] != b'\n' {
            line.push(byte[0]);
        }
        let line = String::from_utf8_lossy(&line).into_owned();
        let url = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("serve did not announce its URL: {line:?}"))
            .to_string();
        Server {
            child,
            kubeconfig,
            url,
        }
    }

    pub fn kubectl(&self, args: &[&str]) -> std::process::Output {
        Command::new(kubectl().expect("kubectl"))
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .args(args)
            .output()
            .expect("run kubectl")
    }

    /// Runs kubectl and returns stdout, failing the test with stderr on a non-zero exit.
    pub fn kubectl_ok(&self, args: &[&str]) -> String {
        let out = self.kubectl(args);
        assert!(
            out.status.success(),
            "kubectl {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Asserts every object of a type deserializes into its k8s-openapi type; returns the count.
pub fn assert_typed<T: serde::de::DeserializeOwned>(
    snap: &kubectl_intel::model::Snapshot,
    group: &str,
    resource: &str,
) -> usize {
    let items = snap.items(group, resource);
    for o in items {
        if let Err(e) = o.typed::<T>() {
            panic!(
                "{resource} {}/{} is not a valid object: {e}",
                o.meta.namespace, o.meta.name
            );
        }
    }
    items.len()
}

/// A library scenario generated in memory with its own seed and node count, as its bundle
/// would load.
pub fn scenario_snapshot(
    name: &str,
) -> (
    kubectl_intel::model::Snapshot,
    kubectl_intel::synth::Scenario,
) {
    let scenario = kubectl_intel::synth::Scenario::resolve(name).expect("library scenario");
    let snap = kubectl_intel::synth::scenario_snapshot(name).expect("generate");
    (snap, scenario)
}
pub mod cluster;
pub mod stdio;
pub mod whatif;
