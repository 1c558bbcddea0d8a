//! The analysis core is pure, and the compiler's dependency graph says so.
//!
//! ARCHITECTURE.md's first invariant — the snapshot model, the redactor, the engines and the
//! analyses do no I/O, no async, no networking, and read no clock — is kept by the crate
//! boundaries: these crates may not depend, directly or through anything they pull in, on
//! an async runtime, an HTTP stack, a Kubernetes client, file-system helpers, or the crates
//! of the pipeline that have them (bundle, capture, serve, mcp, source, synth). This test
//! reads `cargo metadata` and walks each pure crate's normal dependencies (dev- and
//! build-dependencies are the tests' business), then scans the pure crates' non-test
//! sources for the standard library's I/O, process, environment and clock APIs, which no
//! dependency graph shows.
//!
//! To see it fail: add `tokio.workspace = true` under `[dependencies]` in
//! `crates/analysis/Cargo.toml` and run `cargo test --test purity`; it names
//! `intel-analysis -> tokio` and the path that brought it in. A call to `std::fs::read` in
//! `crates/engine/src/views.rs` (outside its tests) fails the source scan the same way.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::{Path, PathBuf};

use serde_json::Value;

/// The crates that must stay pure. `intel-timing` (which reads `INTEL_TIMINGS` and the
/// clock, the documented exception) is checked for its dependencies but not its source.
const PURE: &[&str] = &[
    "intel-model",
    "intel-redact",
    "intel-engine",
    "intel-scheduler",
    "intel-analysis",
    "intel-fixture",
    "intel-exit",
    "intel-timing",
];

/// Packages a pure crate may never reach: async runtimes and their plumbing, HTTP and
/// TLS stacks, Kubernetes clients, file-system and archive helpers, and the pipeline's
/// own impure crates.
const FORBIDDEN: &[&str] = &[
    "tokio",
    "tokio-util",
    "async-std",
    "smol",
    "mio",
    "futures",
    "futures-executor",
    "futures-util",
    "hyper",
    "hyper-util",
    "http",
    "http-body",
    "h2",
    "tower",
    "axum",
    "reqwest",
    "rustls",
    "kube",
    "kube-client",
    "kube-runtime",
    "kube-core",
    "rmcp",
    "walkdir",
    "tempfile",
    "tar",
    "zstd",
    "notify",
    "ignore",
    "intel-bundle",
    "intel-capture",
    "intel-serve",
    "intel-mcp",
    "intel-source",
    "intel-synth",
];

/// Standard-library calls that mean I/O, a process, the environment or the wall clock.
const FORBIDDEN_CODE: &[&str] = &[
    "std::fs",
    "std::net",
    "std::env",
    "std::process::Command",
    "std::process::exit",
    "std::io::stdin",
    "std::io::stdout",
    "std::io::stderr",
    "println!",
    "eprintln!",
    "SystemTime",
    "Instant::now",
    "Timestamp::now",
    "Zoned::now",
    "async fn",
    ".await",
];

/// A pure crate's way to a forbidden package: the chain of package names.
type Violation = (String, Vec<String>);

/// Every forbidden package a pure crate reaches through normal dependencies, with the
/// shortest chain that reaches it.
fn violations(metadata: &Value) -> Vec<Violation> {
    let packages: BTreeMap<&str, &str> = metadata["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| Some((p["id"].as_str()?, p["name"].as_str()?)))
        .collect();
    // id -> ids of its normal (not dev, not build) dependencies.
    let mut normal: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for node in metadata["resolve"]["nodes"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let Some(id) = node["id"].as_str() else {
            continue;
        };
        let deps = node["deps"].as_array().into_iter().flatten().filter(|d| {
            d["dep_kinds"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|k| k["kind"].is_null())
        });
        normal.insert(id, deps.filter_map(|d| d["pkg"].as_str()).collect());
    }
    let mut found = Vec::new();
    for (&id, &name) in &packages {
        if !PURE.contains(&name) {
            continue;
        }
        // Breadth first, so each forbidden package is reported with its shortest path.
        let mut parent: BTreeMap<&str, &str> = BTreeMap::new();
        let mut queue = VecDeque::from([id]);
        let mut seen = BTreeSet::from([id]);
        while let Some(at) = queue.pop_front() {
            for &dep in normal.get(at).into_iter().flatten() {
                if !seen.insert(dep) {
                    continue;
                }
                parent.insert(dep, at);
                let dep_name = packages.get(dep).copied().unwrap_or(dep);
                if FORBIDDEN.contains(&dep_name) {
                    let mut chain = vec![dep_name.to_string()];
                    let mut step = at;
                    while step != id {
                        chain.push(packages.get(step).copied().unwrap_or(step).to_string());
                        step = parent[step];
                    }
                    chain.reverse();
                    found.push((name.to_string(), chain));
                    continue; // what it pulls in is reported through it
                }
                queue.push_back(dep);
            }
        }
    }
    found
}

/// The host's target triple: metadata is filtered to it, so that packages of other
/// platforms need not be downloaded (the test runs offline).
fn host() -> String {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let out = std::process::Command::new(rustc)
        .arg("-vV")
        .output()
        .expect("run rustc -vV");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .expect("rustc -vV names the host")
        .to_string()
}

fn metadata() -> Value {
    let host = host();
    let out = std::process::Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--locked", "--offline"])
        .args(["--filter-platform", &host])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run cargo metadata");
    assert!(
        out.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("cargo metadata prints JSON")
}

#[test]
fn pure_crates_depend_on_no_runtime_http_client_or_file_system() {
    let metadata = metadata();
    let names: BTreeSet<&str> = metadata["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["name"].as_str())
        .collect();
    for pure in PURE {
        assert!(
            names.contains(pure),
            "{pure} is not in the workspace any more: update PURE"
        );
    }
    let found = violations(&metadata);
    let text: Vec<String> = found
        .iter()
        .map(|(krate, chain)| format!("{krate} -> {}", chain.join(" -> ")))
        .collect();
    assert!(
        found.is_empty(),
        "pure crates reach forbidden dependencies (ARCHITECTURE.md, Invariants):\n  {}",
        text.join("\n  ")
    );
}

/// The checker itself, on a hand-made graph: a pure crate reaching tokio through a
/// helper is caught with its path; a dev-dependency and an impure crate's own tokio are not.
#[test]
fn the_checker_catches_a_forbidden_dependency_through_another_crate() {
    let dep = |pkg: &str, kind: Option<&str>| serde_json::json!({"pkg": pkg, "dep_kinds": [{"kind": kind}]});
    let metadata = serde_json::json!({
        "packages": [
            {"id": "a", "name": "intel-analysis"},
            {"id": "h", "name": "helper"},
            {"id": "t", "name": "tokio"},
            {"id": "m", "name": "intel-model"},
            {"id": "c", "name": "intel-capture"},
        ],
        "resolve": {"nodes": [
            {"id": "a", "deps": [dep("h", None), dep("c", Some("dev"))]},
            {"id": "h", "deps": [dep("t", None)]},
            {"id": "m", "deps": [dep("t", Some("dev"))]},
            {"id": "c", "deps": [dep("t", None)]},
            {"id": "t", "deps": []},
        ]},
    });
    assert_eq!(
        violations(&metadata),
        vec![(
            "intel-analysis".to_string(),
            vec!["helper".to_string(), "tokio".to_string()]
        )]
    );
}

/// A file's source without its `#[cfg(test)]` items (tests may read files and clocks):
/// each such item is skipped to the end of its braces, or of its line for `mod tests;`.
fn non_test_source(path: &Path) -> String {
    let text = std::fs::read_to_string(path).expect("read source");
    let mut out = String::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if line.trim() != "#[cfg(test)]" {
            out.push_str(line);
            out.push('\n');
            continue;
        }
        let mut depth = 0i64;
        let mut opened = false;
        for item in lines.by_ref() {
            out.push('\n'); // keep line numbers
            depth += item.matches('{').count() as i64 - item.matches('}').count() as i64;
            opened |= item.contains('{');
            if (opened && depth <= 0) || (!opened && item.trim_end().ends_with(';')) {
                break;
            }
        }
        out.push('\n');
    }
    out
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read crate dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs")
            && path.file_name().is_some_and(|n| n != "tests.rs")
        {
            out.push(path);
        }
    }
}

/// Code lines only: comments may name what the code must not do.
fn code_lines(source: &str) -> impl Iterator<Item = (usize, &str)> {
    source
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim_start().starts_with("//"))
        .map(|(i, l)| (i + 1, l))
}

#[test]
fn pure_crates_do_no_io_and_read_no_clock() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("crates");
    let mut found = Vec::new();
    for pure in PURE.iter().filter(|p| **p != "intel-timing") {
        let dir = root.join(pure.trim_start_matches("intel-")).join("src");
        let mut files = Vec::new();
        rust_files(&dir, &mut files);
        files.sort();
        assert!(!files.is_empty(), "no sources under {}", dir.display());
        for file in files {
            let source = non_test_source(&file);
            for (line, text) in code_lines(&source) {
                for call in FORBIDDEN_CODE {
                    if text.contains(call) {
                        found.push(format!("{}:{line}: {call}", file.display()));
                    }
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "I/O, environment or clock in a pure crate (ARCHITECTURE.md, Invariants):\n  {}",
        found.join("\n  ")
    );
}
