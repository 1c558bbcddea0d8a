//! `capture` against `serve`: our replay is the test cluster (no API server can run here).
//! What capture writes must equal what was served, 403s must be survived and recorded, and
//! planted secrets must not survive.

mod common;

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use common::{Server, bin, contains, decompressed, entries, fixture_bundle};

fn capture(server: &Server, out: &Path, extra: &[&str]) -> std::process::Output {
    bin()
        .arg("capture")
        .arg("--kubeconfig")
        .arg(&server.kubeconfig)
        .arg("--out")
        .arg(out)
        .args(extra)
        .output()
        .expect("run capture")
}

fn files_except_manifest(bundle: &Path) -> Vec<(String, Vec<u8>)> {
    entries(bundle)
        .into_iter()
        .filter(|(p, _)| p != "manifest.json")
        .collect()
}

fn manifest(bundle: &Path) -> Value {
    let (_, m) = entries(bundle).into_iter().next().unwrap();
    serde_json::from_slice(&m).unwrap()
}

#[test]
fn capture_of_a_replay_equals_the_bundle() {
    let dir = tempfile::tempdir().unwrap();
    let original = fixture_bundle(dir.path());
    let server = Server::start(&original, dir.path(), &["--replay-metrics"]);
    let captured = dir.path().join("captured.intel.tar.zst");
    let out = capture(
        &server,
        &captured,
        &["--samples", "4", "--interval", "50ms"],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "capture failed: {stderr}");
    assert!(!stderr.contains("warning"), "{stderr}");

    // Resources, events, logs and metric samples: the same files with the same bytes.
    let want = files_except_manifest(&original);
    let got = files_except_manifest(&captured);
    let names = |v: &[(String, Vec<u8>)]| v.iter().map(|e| e.0.clone()).collect::<Vec<_>>();
    assert_eq!(names(&got), names(&want));
    for ((path, a), (_, b)) in got.iter().zip(&want) {
        assert!(a == b, "{path} differs after the round trip");
    }
    assert!(
        want.iter()
            .any(|(p, _)| p.starts_with("resources/ops.example.com/"))
    );
    assert!(want.iter().any(|(p, _)| p.ends_with(".previous.log")));
    assert_eq!(
        want.iter()
            .filter(|(p, _)| p.starts_with("metrics/") && p.ends_with("/pods.json"))
            .count(),
        4
    );

    // Capture metadata aside, the manifests agree on what was captured.
    let (m_orig, m_cap) = (manifest(&original), manifest(&captured));
    assert_eq!(m_cap["resourceTypes"], m_orig["resourceTypes"]);
    assert_eq!(m_cap["cluster"]["kubernetesVersion"], "v1.31.4");
    assert_eq!(m_cap["cluster"]["server"], server.url.as_str());
    assert_eq!(m_cap["format"], "kubectl-intel.bundle/v1");
    let errors: Vec<&Value> = m_cap["collectors"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c.get("errors").is_some())
        .collect();
    assert!(errors.is_empty(), "{errors:?}");

    // The captured bundle is itself valid and verifiable.
    let v = bin()
        .arg("inspect")
        .arg(&captured)
        .arg("--verify")
        .output()
        .unwrap();
    assert!(v.status.success());
}

#[test]
fn namespaced_capture_keeps_cluster_scoped_types() {
    let dir = tempfile::tempdir().unwrap();
    let original = fixture_bundle(dir.path());
    let server = Server::start(&original, dir.path(), &[]);
    let captured = dir.path().join("shop.intel.tar.zst");
    let out = capture(&server, &captured, &["-n", "shop", "--no-metrics"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let snap = kubectl_intel::bundle::read_bundle(&captured)
        .unwrap()
        .snapshot;
    assert_eq!(snap.manifest.namespaces, ["shop"]);
    assert!(snap.pods().iter().all(|p| p.meta.namespace == "shop"));
    assert_eq!(snap.pods().len(), 8);
    assert_eq!(
        snap.nodes().len(),
        3,
        "cluster-scoped types are always captured"
    );
    assert!(snap.metrics.is_empty());
    assert!(snap.logs.keys().all(|k| k.namespace == "shop"));
}

#[test]
fn a_forbidden_type_is_recorded_and_the_capture_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let original = fixture_bundle(dir.path());
    let server = Server::start(&original, dir.path(), &["--forbid", "secrets"]);
    let captured = dir.path().join("partial.intel.tar.zst");
    let out = capture(&server, &captured, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("warning"), "{stderr}");
    assert!(
        stderr.contains("secrets") && stderr.contains("403"),
        "{stderr}"
    );
    let m = manifest(&captured);
    let failed: Vec<&Value> = m["collectors"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["errors"].as_array().is_some_and(|e| !e.is_empty()))
        .collect();
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert!(failed[0]["name"].as_str().unwrap().contains("secrets"));
    assert_eq!(failed[0]["errors"][0]["code"], 403);
    // Everything else is there.
    let snap = kubectl_intel::bundle::read_bundle(&captured)
        .unwrap()
        .snapshot;
    assert_eq!(snap.pods().len(), 10);
    assert!(snap.items("", "secrets").is_empty());
    let inspect = bin().arg("inspect").arg(&captured).output().unwrap();
    let text = String::from_utf8_lossy(&inspect.stdout);
    assert!(
        text.contains("with errors") && text.contains("[403]"),
        "{text}"
    );
}

const CANARIES: [&str; 4] = [
    "CANARY-SECRET-VALUE-7f3a",
    "CANARY-ENV-PASSWORD-91bd",
    "CANARYBEARERTOKEN0123456789abcdef",
    "CANARY-URL-PASS-55e0",
];

/// A bundle with secrets planted in the clear (as a cluster would hold them), written
/// without redaction so that capture is the only thing standing between them and the output.
fn bundle_with_canaries(dir: &Path) -> PathBuf {
    use base64::Engine as _;
    use kubectl_intel::model::{LogKey, Object, ResourceList};
    let demo = fixture_bundle(dir);
    let mut snap = kubectl_intel::bundle::read_bundle(&demo).unwrap().snapshot;
    let secret = json!({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
        "metadata": {"name": "planted", "namespace": "shop", "uid": "planted-1",
            "annotations": {"kubectl.kubernetes.io/last-applied-configuration":
                format!("{{\"data\":{{\"token\":\"{}\"}}}}", base64::engine::general_purpose::STANDARD.encode(CANARIES[0]))}},
        "data": {"token": base64::engine::general_purpose::STANDARD.encode(CANARIES[0])},
        "stringData": {"plain": CANARIES[0]}});
    let pod = json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "planted-pod", "namespace": "shop", "uid": "planted-2"},
        "spec": {"nodeName": "node-a1", "containers": [{"name": "app", "image": "app:1",
            "env": [{"name": "DB_PASSWORD", "value": CANARIES[1]},
                    {"name": "DATABASE_URL", "value": format!("postgres://app:{}@postgres.shop:5432/db", CANARIES[3])}]}]},
        "status": {"phase": "Running", "containerStatuses": [{"name": "app", "image": "app:1", "imageID": "",
            "ready": true, "restartCount": 0, "state": {"running": {"startedAt": "2026-11-24T13:00:00Z"}}}]}});
    for (group, resource, obj) in [("", "secrets", secret), ("", "pods", pod)] {
        let list = snap.list(group, resource).unwrap();
        let rtype = list.rtype.clone();
        let mut items: Vec<Object> = list
            .items
            .iter()
            .map(|o| Object::from_json(o.json()).unwrap())
            .collect();
        items.push(Object::from_value(&obj).unwrap());
        snap.insert_list(ResourceList::new(rtype, items));
    }
    snap.logs.insert(
        LogKey {
            namespace: "shop".into(),
            pod: "planted-pod".into(),
            container: "app".into(),
            previous: false,
        },
        format!(
            "GET /api/orders Authorization: Bearer {}\nconnecting to postgres://app:{}@postgres.shop:5432/db\n",
            CANARIES[2], CANARIES[3]
        ),
    );
    let path = dir.join("planted.intel.tar.zst");
    kubectl_intel::bundle::write_bundle(&snap, &path).unwrap();
    path
}

#[test]
fn planted_secrets_never_reach_the_captured_bundle() {
    let dir = tempfile::tempdir().unwrap();
    let source = bundle_with_canaries(dir.path());
    let raw = decompressed(&source);
    for c in CANARIES {
        assert!(
            contains(&raw, c),
            "the test must plant {c} in the served data"
        );
    }
    let server = Server::start(&source, dir.path(), &[]);
    // The replay serves them in the clear, as a real cluster would.
    let leaked = server.kubectl_ok(&["get", "secret", "-n", "shop", "planted", "-o", "json"]);
    assert!(leaked.contains(&base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        CANARIES[0]
    )));

    let captured = dir.path().join("captured.intel.tar.zst");
    let out = capture(&server, &captured, &["--no-metrics"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bytes = decompressed(&captured);
    for c in CANARIES {
        assert!(!contains(&bytes, c), "{c} leaked into the captured bundle");
        assert!(
            !contains(&out.stderr, c),
            "{c} leaked into capture's output"
        );
    }
    // Encoded forms too.
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(CANARIES[0]);
    assert!(!contains(&bytes, &b64));
    // What analyses need survived: the secret's keys, the database host, the log's shape.
    let snap = kubectl_intel::bundle::read_bundle(&captured)
        .unwrap()
        .snapshot;
    let secret = snap
        .items("", "secrets")
        .iter()
        .find(|s| s.meta.name == "planted")
        .unwrap()
        .value();
    assert_eq!(secret["data"]["token"], "");
    let log = snap
        .logs
        .iter()
        .find(|(k, _)| k.pod == "planted-pod")
        .unwrap()
        .1;
    assert!(log.contains("Authorization: Bearer <redacted:"), "{log}");
    assert!(log.contains("@postgres.shop:5432/db"), "{log}");
    let inspect = bin().arg("inspect").arg(&captured).output().unwrap();
    for c in CANARIES {
        assert!(!contains(&inspect.stdout, c));
    }
}

#[test]
fn an_unreachable_cluster_writes_nothing_and_exits_5() {
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kc");
    // Port 1 on loopback: nothing listens there.
    std::fs::write(
        &kubeconfig,
        r#"{"apiVersion":"v1","kind":"Config","current-context":"gone",
            "clusters":[{"name":"gone","cluster":{"server":"http://127.0.0.1:1"}}],
            "users":[{"name":"u","user":{}}],
            "contexts":[{"name":"gone","context":{"cluster":"gone","user":"u"}}]}"#,
    )
    .unwrap();
    let out_path = dir.path().join("never.intel.tar.zst");
    let out = bin()
        .arg("capture")
        .arg("--kubeconfig")
        .arg(&kubeconfig)
        .arg("--out")
        .arg(&out_path)
        .args(["--request-timeout", "5s"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(5), "{stderr}");
    assert!(stderr.contains("127.0.0.1:1"), "{stderr}");
    assert!(!out_path.exists());
    assert!(!stderr.contains("panicked"));
}
