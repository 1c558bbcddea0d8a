//! Live mode is bundle mode: `diagnose --context` against `kubectl intel serve` replaying a
//! bundle gives the same `-o json` report as `diagnose --bundle` on that bundle. Live
//! capture and bundle reading must meet in the same snapshot; any difference in findings,
//! root causes, chains, scores or summary is a bug in capture or source, not something to
//! normalise here.

mod common;

use std::path::Path;

use kubectl_intel::model::LogKey;
use serde_json::Value;

use common::{Server, bin};

/// Writes a library scenario as a bundle; returns its path and the scenario's symptom.
fn scenario_bundle(name: &str, dir: &Path) -> (std::path::PathBuf, String) {
    let (snap, _) = common::scenario_snapshot(name);
    let path = dir.join(format!("{name}.intel.tar.zst"));
    kubectl_intel::bundle::write_bundle(&snap, &path).unwrap();
    let expected: Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("testdata/scenarios")
                .join(name)
                .join("expected.json"),
        )
        .unwrap(),
    )
    .unwrap();
    (path, expected["symptom"].as_str().unwrap().to_string())
}

fn report(args: &[&str]) -> Value {
    let out = bin().arg("diagnose").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "diagnose {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The log a `pods/log` path asks for: `/api/v1/namespaces/NS/pods/POD/log?container=C…`.
fn log_key(path: &str) -> Option<LogKey> {
    let (path, query) = path.split_once('?')?;
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let ["api", "v1", "namespaces", namespace, "pods", pod, "log"] = parts.as_slice() else {
        return None;
    };
    let param = |k: &str| {
        query
            .split('&')
            .find_map(|p| p.strip_prefix(&format!("{k}=")))
    };
    Some(LogKey {
        namespace: namespace.to_string(),
        pod: pod.to_string(),
        container: param("container")?.to_string(),
        previous: param("previous") == Some("true"),
    })
}

/// Removes from the live report what legitimately differs from the bundle report, after
/// checking that it does:
///
/// - `limitations` entries `CLUSTER: logs could not read PATH: …`. The synthetic bundle
///   holds no log for some containers the kubelet would have one for (a finished Job's
///   pod, the current instance of a crash-looping container, the previous instance of
///   some restarted ones). The replay answers those requests as a kubelet without the log
///   would (404 / 400), and a live capture rightly records each as a collector error that
///   limits the answer; a bundle that was generated, not captured, has no such error to
///   record. Each removed entry must name a log the bundle does not hold.
///
/// Nothing else is touched: the cluster name is the same (serve names its kubeconfig
/// context after the bundle's cluster, and a live capture names the cluster after the
/// context), `capturedAt` is the same (capture takes "now" from the API server's `Date`,
/// which the replay sets to its capture time), and `sources` are the same (metrics are
/// sampled as often as the bundle has samples, and Prometheus is read from the replay).
fn normalise(mut live: Value, bundle: &kubectl_intel::model::Snapshot) -> Value {
    let cluster = bundle.cluster().to_string();
    let prefix = format!("{cluster}: logs could not read ");
    if let Some(list) = live["limitations"].as_array_mut() {
        list.retain(|l| {
            let Some(rest) = l.as_str().and_then(|l| l.strip_prefix(&prefix)) else {
                return true;
            };
            let path = rest.split(": ").next().unwrap_or("");
            let key = log_key(path).unwrap_or_else(|| panic!("not a log path: {path}"));
            assert!(
                !bundle.logs.contains_key(&key),
                "the live capture could not read {path}, which the bundle holds"
            );
            false
        });
    }
    live
}

fn live_equals_bundle(name: &str) {
    let dir = tempfile::tempdir().unwrap();
    let (bundle, symptom) = scenario_bundle(name, dir.path());
    let snap = kubectl_intel::bundle::read_bundle(&bundle)
        .unwrap()
        .snapshot;
    let server = Server::start(&bundle, dir.path(), &["--replay-metrics"]);
    let offline = report(&[&symptom, "--bundle", bundle.to_str().unwrap(), "-o", "json"]);
    let samples = snap.metrics.len().to_string();
    let prometheus = format!("{}/prometheus", server.url);
    let live = report(&[
        &symptom,
        "--context",
        snap.cluster(),
        "--kubeconfig",
        server.kubeconfig.to_str().unwrap(),
        "--samples",
        &samples,
        "--interval",
        "10ms",
        "--prometheus",
        &prometheus,
        "-o",
        "json",
    ]);
    let live = normalise(live, &snap);
    if live != offline {
        let (a, b) = (
            serde_json::to_string_pretty(&offline).unwrap(),
            serde_json::to_string_pretty(&live).unwrap(),
        );
        let first = a
            .lines()
            .zip(b.lines())
            .position(|(x, y)| x != y)
            .unwrap_or(0);
        let around = |s: &str| {
            s.lines()
                .skip(first.saturating_sub(5))
                .take(15)
                .collect::<Vec<_>>()
                .join("\n")
        };
        panic!(
            "{name}: live and bundle reports differ at line {}:\n--- bundle\n{}\n--- live\n{}",
            first + 1,
            around(&a),
            around(&b)
        );
    }
    // The comparison is not vacuous.
    if name.starts_with("healthy") {
        assert!(offline["rootCauses"].as_array().unwrap().is_empty());
    } else {
        assert!(!offline["rootCauses"].as_array().unwrap().is_empty());
    }
    let sources = offline["clusters"][0]["sources"].as_array().unwrap();
    for s in ["logs", "metrics", "prometheus"] {
        assert!(
            sources.iter().any(|x| x == s),
            "{name}: no {s} in {sources:?}"
        );
    }
}

/// Logs, previous logs and a rollout.
#[test]
fn live_equals_bundle_memory_leak() {
    live_equals_bundle("auth-memory-leak");
}

/// Prometheus series (CPU throttling) and metrics samples.
#[test]
fn live_equals_bundle_throttling() {
    live_equals_bundle("frontend-throttling-after-deploy");
}

/// Clock-dependent findings: how long a CronJob has not run, measured from "now".
#[test]
fn live_equals_bundle_cronjob() {
    live_equals_bundle("cronjob-stopped-running");
}

/// Clock-dependent findings: a certificate's expiry against "now".
#[test]
fn live_equals_bundle_expired_certificate() {
    live_equals_bundle("tls-certificate-expired");
}

#[test]
fn live_equals_bundle_healthy() {
    live_equals_bundle("healthy-baseline");
}
