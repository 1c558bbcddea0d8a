//! `kubectl intel schedule` through the binary: the pending pods of library incidents get
//! the FailedScheduling text their events hold, a running pod is placed again, manifests
//! are read, bad requests exit 2, and the answer is deterministic.

mod common;

use std::path::Path;

use common::{bin, scenario_snapshot};
use serde_json::Value;

/// A library scenario written as a bundle in `dir`.
fn bundle(dir: &Path, scenario: &str) -> (std::path::PathBuf, kubectl_intel::model::Snapshot) {
    let (snap, _) = scenario_snapshot(scenario);
    let path = dir.join(format!("{scenario}.intel.tar.zst"));
    kubectl_intel::bundle::write_bundle(&snap, &path).unwrap();
    (path, snap)
}

fn run(args: &[&str]) -> (i32, String, String) {
    let out = bin().args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// The message of the latest FailedScheduling event of `pod`.
fn event_message(snap: &kubectl_intel::model::Snapshot, ns: &str, pod: &str) -> Option<String> {
    let mut found: Option<(String, String)> = None;
    for e in snap.items("", "events") {
        let v = e.value();
        if v["reason"] == "FailedScheduling"
            && v["involvedObject"]["namespace"] == ns
            && v["involvedObject"]["name"] == pod
        {
            let at = v["lastTimestamp"].as_str().unwrap_or_default().to_string();
            if found.as_ref().is_none_or(|(t, _)| at >= *t) {
                found = Some((at, v["message"].as_str().unwrap_or_default().to_string()));
            }
        }
    }
    found.map(|(_, m)| m)
}

#[test]
fn pending_pods_get_the_message_their_events_hold() {
    let dir = tempfile::tempdir().unwrap();
    for scenario in [
        "pending-taint-without-toleration",
        "pending-insufficient-cpu",
        "pending-pvc-zone",
    ] {
        let (path, snap) = bundle(dir.path(), scenario);
        let (code, out, err) = run(&[
            "schedule",
            "--pending",
            "--bundle",
            path.to_str().unwrap(),
            "-o",
            "json",
        ]);
        assert_eq!(code, 0, "{scenario}: {err}");
        let answer: Value = serde_json::from_str(&out).unwrap();
        let pods = answer["pods"].as_array().unwrap();
        let mut checked = 0;
        for p in pods {
            let (ns, name) = (
                p["namespace"].as_str().unwrap(),
                p["name"].as_str().unwrap(),
            );
            if let Some(want) = event_message(&snap, ns, name) {
                assert_eq!(p["schedulable"], false, "{scenario} {ns}/{name}");
                assert_eq!(
                    p["message"].as_str(),
                    Some(want.as_str()),
                    "{scenario} {ns}/{name}"
                );
                assert!(
                    !p["reasons"].as_object().unwrap().is_empty(),
                    "{scenario}: {p}"
                );
                checked += 1;
            }
        }
        assert!(
            checked >= 1,
            "{scenario}: no pending pod with an event in {out}"
        );
        // Text says the same, in a person's words.
        let (code, text, _) = run(&["schedule", "--pending", "--bundle", path.to_str().unwrap()]);
        assert_eq!(code, 0);
        assert!(text.contains("does not fit"), "{text}");
        assert!(text.contains("nodes are available"), "{text}");
    }
}

#[test]
fn a_running_pod_is_placed_again_and_answers_are_deterministic() {
    let dir = tempfile::tempdir().unwrap();
    let (path, snap) = bundle(dir.path(), "pending-insufficient-cpu");
    let running = snap
        .pods()
        .iter()
        .map(|p| p.value())
        .find(|p| p["status"]["phase"] == "Running" && p["metadata"]["namespace"] == "shop")
        .expect("a running pod");
    let id = format!(
        "{}/{}",
        running["metadata"]["namespace"].as_str().unwrap(),
        running["metadata"]["name"].as_str().unwrap()
    );
    let args = [
        "schedule",
        "--pod",
        &id,
        "--bundle",
        path.to_str().unwrap(),
        "-o",
        "json",
    ];
    let (code, out, err) = run(&args);
    assert_eq!(code, 0, "{err}");
    let answer: Value = serde_json::from_str(&out).unwrap();
    let pod = &answer["pods"][0];
    assert_eq!(pod["schedulable"], true, "{pod}");
    assert!(pod["message"].is_null());
    let node = running["spec"]["nodeName"].as_str().unwrap();
    assert!(
        pod["nodes"].as_array().unwrap().iter().any(|n| n == node),
        "{id} fits back on {node}: {pod}"
    );
    let (_, again, _) = run(&args);
    assert_eq!(out, again, "same bundle, same answer");
}

#[test]
fn manifests_are_scheduled_from_their_pod_template() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = bundle(dir.path(), "pending-taint-without-toleration");
    let deployment = |cpu: &str| {
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: report\n  namespace: shop\nspec:\n  template:\n    metadata:\n      labels: {{app: report}}\n    spec:\n      containers:\n      - name: app\n        image: report:1\n        resources:\n          requests: {{cpu: \"{cpu}\", memory: 64Mi}}\n"
        )
    };
    let small = dir.path().join("small.yaml");
    std::fs::write(&small, deployment("100m")).unwrap();
    let (code, out, err) = run(&[
        "schedule",
        "-f",
        small.to_str().unwrap(),
        "--bundle",
        path.to_str().unwrap(),
        "-o",
        "json",
    ]);
    assert_eq!(code, 0, "{err}");
    let answer: Value = serde_json::from_str(&out).unwrap();
    let pod = &answer["pods"][0];
    assert_eq!(pod["name"], "report-new");
    assert_eq!(pod["schedulable"], true, "{out}");
    // Where it would go: the choice is one of the best-scored nodes, which fit.
    let choice = pod["choice"].as_str().unwrap();
    assert!(
        pod["best"].as_array().unwrap().iter().any(|n| n == choice),
        "{pod}"
    );
    assert!(
        pod["nodes"].as_array().unwrap().iter().any(|n| n == choice),
        "{pod}"
    );
    let totals: Vec<i64> = pod["scores"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["total"].as_i64().unwrap())
        .collect();
    assert!(
        !totals.is_empty() && totals.windows(2).all(|w| w[0] >= w[1]),
        "{totals:?}"
    );
    assert_eq!(pod["scores"][0]["node"], choice);
    assert_eq!(
        pod["unscored"],
        serde_json::json!([]),
        "every default score plugin"
    );
    let plugins: Vec<&str> = pod["scores"][0]["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["plugin"].as_str().unwrap())
        .collect();
    // The Deployment's pods have no ReplicaSet or Service in the snapshot: no system
    // default spreading to weigh; the rest are scored.
    for want in [
        "NodeResourcesFit",
        "TaintToleration",
        "NodeAffinity",
        "ImageLocality",
    ] {
        assert!(plugins.contains(&want), "{want} in {plugins:?}");
    }
    // The near miss: the same Deployment asking for more CPU than any node has.
    let huge = dir.path().join("huge.yaml");
    std::fs::write(&huge, deployment("500")).unwrap();
    let (code, out, _) = run(&[
        "schedule",
        "-f",
        huge.to_str().unwrap(),
        "--bundle",
        path.to_str().unwrap(),
        "-o",
        "json",
    ]);
    assert_eq!(code, 0);
    let answer: Value = serde_json::from_str(&out).unwrap();
    let msg = answer["pods"][0]["message"].as_str().unwrap();
    assert!(msg.contains("Insufficient cpu"), "{msg}");
}

#[test]
fn bad_requests_exit_2_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = bundle(dir.path(), "pending-insufficient-cpu");
    let b = path.to_str().unwrap();
    let (code, _, err) = run(&["schedule", "--bundle", b]);
    assert_eq!(code, 2);
    assert!(
        err.contains("--pod NS/NAME, --pending, -f FILE or --drain NODE"),
        "{err}"
    );
    let (code, _, err) = run(&["schedule", "--pod", "shop/nope", "--bundle", b]);
    assert_eq!(code, 2);
    assert!(err.contains("no pod shop/nope"), "{err}");
    let (code, _, err) = run(&["schedule", "--pod", "nope", "--bundle", b]);
    assert_eq!(code, 2);
    assert!(err.contains("NAMESPACE/NAME"), "{err}");
    let cm = dir.path().join("cm.yaml");
    std::fs::write(
        &cm,
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n",
    )
    .unwrap();
    let (code, _, err) = run(&["schedule", "-f", cm.to_str().unwrap(), "--bundle", b]);
    assert_eq!(code, 2);
    assert!(err.contains("kind \"ConfigMap\" has no pods"), "{err}");
    let (code, _, err) = run(&[
        "schedule",
        "--pending",
        "--bundle",
        "/nonexistent.intel.tar.zst",
    ]);
    assert_eq!(code, 3, "{err}");
}

#[test]
fn draining_nodes_says_what_stays_blocks_and_moves() {
    let dir = tempfile::tempdir().unwrap();
    let (path, snap) = bundle(dir.path(), "pdb-blocks-node-drain");
    let b = path.to_str().unwrap();
    let nodes: Vec<String> = snap
        .nodes()
        .iter()
        .map(|n| n.value()["metadata"]["name"].as_str().unwrap().to_string())
        .collect();
    let (mut blocked_by_budget, mut drained_with_moves) = (0, 0);
    for node in &nodes {
        let (code, out, err) = run(&["schedule", "--drain", node, "--bundle", b, "-o", "json"]);
        assert_eq!(code, 0, "{err}");
        let answer: Value = serde_json::from_str(&out).unwrap();
        let d = &answer["drains"][0];
        assert_eq!(d["plan"]["node"], node.as_str());
        let blocked = d["plan"]["pods"].as_array().unwrap().iter().any(|p| {
            p[1]["outcome"] == "blocks"
                && p[1]["message"]
                    .as_str()
                    .unwrap()
                    .starts_with("not enough pod disruption budget")
        });
        if blocked {
            assert_eq!(d["plan"]["drainable"], false);
            assert!(
                d["placed"].as_array().unwrap().is_empty(),
                "a blocked drain moves nothing"
            );
            blocked_by_budget += 1;
        }
        if d["plan"]["drainable"] == true && !d["placed"].as_array().unwrap().is_empty() {
            drained_with_moves += 1;
        }
    }
    assert!(
        blocked_by_budget >= 1,
        "the scenario's budget blocks a drain"
    );
    assert!(
        drained_with_moves >= 1,
        "other nodes drain and their pods find homes"
    );
    let (code, _, err) = run(&["schedule", "--drain", "no-such-node", "--bundle", b]);
    assert_eq!(code, 2);
    assert!(err.contains("no node \"no-such-node\""), "{err}");
}
