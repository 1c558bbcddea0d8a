//! Credentials planted in the clear in a bundle nobody redacted — as a support bundle, a
//! `cluster-info dump` or a folder of `kubectl get -o yaml` would hold them — never reach
//! an answer: every analysis in every output format, `inspect`, and every MCP tool and
//! resource, asserted surface by surface. Each credential form the scrubber covers is
//! planted where clusters really carry it: a Secret's data, env values, a ConfigMap, the
//! last-applied annotation, an Event's message, and the logs. MySQL's "(using password:
//! YES)" is no secret and must survive.

mod common;

use std::path::Path;

use base64::Engine;
use kubectl_intel::model::{Object, ResourceList, ResourceType, Snapshot, TypeKey};
use serde_json::{Value, json};

/// Each planted credential, unique, with digits (log templates mask digits: a check that
/// only looked for the text after templating would miss them).
const CANARIES: &[&str] = &[
    "CanarySecretData-4711",
    "CanaryEnvPass-0815",
    "CanaryUrlPass-2024",
    "PASS-WORD-5",
    "CanaryRedisPw7890",
    "CanaryApiKey-31337",
    "CanaryLastApplied-99",
    "CanaryEventPw-1234",
    "CanaryBasicPw-5678",
    "CanaryJwtSig0123456789",
    "AKIACANARY0123456789",
    "CanaryPemBody0123456789abcdef",
    "CanaryDockerPw-42",
    "CanaryTokenArg-777",
];

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// Adds objects to a list of the snapshot (made when the snapshot has none).
fn plant(snap: &mut Snapshot, group: &str, version: &str, resource: &str, objs: Vec<Value>) {
    let mut items: Vec<Object> = snap
        .list(group, resource)
        .map(|l| {
            l.items
                .iter()
                .map(|o| Object::from_json(o.json()).unwrap())
                .collect()
        })
        .unwrap_or_default();
    let rtype = snap
        .list(group, resource)
        .map(|l| l.rtype.clone())
        .unwrap_or_else(|| {
            ResourceType::builtin(&TypeKey::new(group, version, resource)).expect("builtin type")
        });
    items.extend(objs.iter().map(|o| Object::from_value(o).unwrap()));
    snap.insert_list(ResourceList::new(rtype, items));
}

fn planted() -> Snapshot {
    let (mut snap, _) = common::scenario_snapshot("auth-memory-leak");
    // Written by a tool that does not redact.
    snap.manifest.redaction = Default::default();
    let node = snap.nodes()[0].meta.name.clone();
    let docker =
        json!({"auths": {"registry.example.com": {"auth": b64(&format!("ci:{}", CANARIES[12]))}}})
            .to_string();
    plant(
        &mut snap,
        "",
        "v1",
        "secrets",
        vec![
            json!({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": {"name": "leaky-db", "namespace": "shop", "uid": "canary-secret",
                "annotations": {"kubectl.kubernetes.io/last-applied-configuration":
                    json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "leaky-db"},
                        "stringData": {"password": CANARIES[6]}}).to_string()}},
            "data": {"password": b64(CANARIES[0]), ".dockerconfigjson": b64(&docker)}}),
        ],
    );
    plant(
        &mut snap,
        "",
        "v1",
        "configmaps",
        vec![json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "leaky-config", "namespace": "shop", "uid": "canary-cm"},
            "data": {"cache.url": format!("redis://:{}@redis.shop:6379/0", CANARIES[4]),
                     "app.properties": format!("api_key={}\nmysql.error=Access denied for user 'app'@'10.0.1.5' (using password: YES)\n", CANARIES[5]),
                     "docker.json": docker}})],
    );
    let pod = json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "leaky-7f9c-abcde", "namespace": "shop", "uid": "canary-pod",
            "creationTimestamp": "2026-11-24T13:00:00Z",
            "annotations": {"kubectl.kubernetes.io/last-applied-configuration":
                json!({"spec": {"containers": [{"name": "app", "env": [{"name": "DB_PASSWORD", "value": CANARIES[6]}]}]}}).to_string()}},
        "spec": {"nodeName": node, "containers": [{"name": "app", "image": "leaky:1",
            "args": ["--token", CANARIES[13]],
            "env": [{"name": "DB_PASSWORD", "value": CANARIES[1]},
                    {"name": "DATABASE_URL", "value": format!("postgres://app:{}@postgres.shop:5432/db", CANARIES[2])},
                    {"name": "AWS_ACCESS_KEY_ID", "value": CANARIES[10]}],
            "envFrom": [{"configMapRef": {"name": "leaky-config"}}]}]},
        "status": {"phase": "Running", "containerStatuses": [{"name": "app", "image": "leaky:1", "imageID": "",
            "ready": false, "restartCount": 9,
            "state": {"waiting": {"reason": "CrashLoopBackOff",
                "message": format!("back-off restarting failed container; password={}", CANARIES[7])}},
            "lastState": {"terminated": {"reason": "Error", "exitCode": 1,
                "startedAt": "2026-11-24T13:50:00Z", "finishedAt": "2026-11-24T13:51:00Z"}}}]}});
    plant(&mut snap, "", "v1", "pods", vec![pod]);
    plant(
        &mut snap,
        "",
        "v1",
        "events",
        vec![json!({"apiVersion": "v1", "kind": "Event",
            "metadata": {"name": "leaky-7f9c-abcde.canary", "namespace": "shop", "uid": "canary-event"},
            "involvedObject": {"kind": "Pod", "namespace": "shop", "name": "leaky-7f9c-abcde"},
            "reason": "BackOff", "type": "Warning", "count": 12,
            "message": format!("login to postgres://app:{}@postgres.shop:5432/db failed; password={}", CANARIES[2], CANARIES[7]),
            "firstTimestamp": "2026-11-24T13:40:00Z", "lastTimestamp": "2026-11-24T13:59:00Z"})],
    );
    let jwt = format!(
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJjYW5hcnkifQ.{}",
        CANARIES[9]
    );
    let log = format!(
        "level=error msg=\"connecting to postgres://user:{}@db:5432/x failed\"\n\
         level=error msg=\"request failed\" Authorization: Basic {}\n\
         level=error msg=\"token rejected\" jwt={jwt}\n\
         level=error msg=\"cache down\" url=redis://:{}@cache:6379\n\
         level=error msg=\"aws\" key={}\n\
         -----BEGIN RSA PRIVATE KEY-----\n{}\n-----END RSA PRIVATE KEY-----\n\
         level=error msg=\"Access denied for user 'app'@'10.0.1.5' (using password: YES)\"\n",
        CANARIES[3],
        b64(&format!("admin:{}", CANARIES[8])),
        CANARIES[4],
        CANARIES[10],
        CANARIES[11],
    )
    .repeat(15);
    common::insert_logs(&mut snap, "shop", "leaky-7f9c-abcde", "app", &log);
    snap
}

/// The canary (or its base64, as a Secret's data holds it, or the base64 of the
/// `user:password` pair Basic auth and docker configs hold) `out` holds, if any.
fn leaked(out: &str) -> Option<String> {
    CANARIES.iter().find_map(|c| {
        let forms = [
            c.to_string(),
            b64(c),
            b64(&format!("ci:{c}")),
            b64(&format!("admin:{c}")),
        ];
        let hit = forms.iter().find(|f| out.contains(f.as_str()))?.clone();
        let i = out.find(&hit).unwrap_or(0);
        let around: String = out[i..].chars().take(80).collect();
        Some(format!("{c} ({hit}): …{around}…"))
    })
}

fn bundle(dir: &Path) -> String {
    let path = dir.join("unredacted.intel.tar.zst");
    kubectl_intel::bundle::write_bundle(&planted(), &path).unwrap();
    path.to_string_lossy().into_owned()
}

#[test]
fn no_canary_reaches_any_command_in_any_format() {
    let dir = tempfile::tempdir().unwrap();
    let b = bundle(dir.path());
    let mut surfaces: Vec<(String, Vec<String>)> =
        vec![("inspect".into(), vec!["inspect".into(), b.clone()])];
    for format in ["text", "json", "markdown"] {
        let with = |args: &[&str]| -> Vec<String> {
            let mut v: Vec<String> = args.iter().map(|s| s.to_string()).collect();
            v.extend(["--bundle".into(), b.clone(), "-o".into(), format.into()]);
            v
        };
        surfaces.push((
            format!("diagnose -o {format}"),
            with(&[
                "diagnose",
                "why does leaky crash and why is checkout failing",
            ]),
        ));
        surfaces.push((
            format!("diagnose (triage) -o {format}"),
            with(&["diagnose", ""]),
        ));
        surfaces.push((
            format!("explain -o {format}"),
            with(&[
                "explain",
                "why does leaky crash: what happened, how is it connected, why no alerts?",
            ]),
        ));
        surfaces.push((
            format!("impact -o {format}"),
            with(&[
                "impact",
                "--set-image",
                "deployment/auth=ghcr.io/acme-shop/auth:3.5.1",
            ]),
        ));
        if format != "markdown" {
            surfaces.push((
                format!("schedule -o {format}"),
                with(&["schedule", "--pod", "shop/leaky-7f9c-abcde"]),
            ));
        }
        surfaces.push((
            format!("dr-plan -o {format}"),
            with(&["dr-plan", "--incident", "why does leaky crash"]),
        ));
    }
    let mut checked = 0;
    for (name, args) in &surfaces {
        let out = common::bin().args(args).output().unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.status.success() || out.status.code() == Some(6),
            "{name}: {text}"
        );
        assert!(!out.stdout.is_empty(), "{name}: no answer");
        if let Some(l) = leaked(&text) {
            panic!("{name} leaked {l}");
        }
        checked += 1;
    }
    // The planted pod did reach the answers (so the check is not vacuous).
    let out = common::bin()
        .args([
            "diagnose",
            "why does leaky crash",
            "--bundle",
            &b,
            "-o",
            "json",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("leaky"), "the planted pod is in no answer");
    assert_eq!(checked, surfaces.len());
}

#[test]
fn no_canary_reaches_any_mcp_tool_or_resource() {
    let dir = tempfile::tempdir().unwrap();
    let b = bundle(dir.path());
    let mut s = common::stdio::StdioSession::with_args(&["--bundle", &b]);
    s.initialize();
    let calls: Vec<(&str, Value)> = vec![
        ("list_clusters", json!({})),
        (
            "get_resources",
            json!({"kind": "Pod", "namespace": "shop", "name": "leaky-7f9c-abcde"}),
        ),
        (
            "get_resources",
            json!({"kind": "Pod", "namespace": "shop", "includeObjects": true}),
        ),
        (
            "get_resources",
            json!({"kind": "ConfigMap", "namespace": "shop", "includeObjects": true}),
        ),
        (
            "get_resources",
            json!({"kind": "ConfigMap", "namespace": "shop", "name": "leaky-config"}),
        ),
        (
            "get_resources",
            json!({"kind": "Secret", "namespace": "shop", "includeObjects": true}),
        ),
        ("get_events", json!({"namespace": "shop"})),
        (
            "get_logs",
            json!({"namespace": "shop", "pod": "leaky-7f9c-abcde"}),
        ),
        (
            "get_logs",
            json!({"namespace": "shop", "pod": "leaky-7f9c-abcde", "previous": true}),
        ),
        ("get_metrics", json!({"kind": "pods", "namespace": "shop"})),
        ("get_timeline", json!({})),
        ("get_service_map", json!({})),
        ("simulate_scheduling", json!({"pending": true})),
        (
            "diagnose_cluster_issue",
            json!({"symptom": "why does leaky crash"}),
        ),
        (
            "explain_infrastructure_behavior",
            json!({"question": "why does leaky crash, and why no alerts?"}),
        ),
        (
            "analyze_deployment_impact",
            json!({"setImage": ["deployment/auth=ghcr.io/acme-shop/auth:3.5.1"]}),
        ),
        (
            "generate_disaster_recovery_plan",
            json!({"incident": "why does leaky crash"}),
        ),
    ];
    let mut answered = 0;
    for (i, (tool, args)) in calls.iter().enumerate() {
        let r = s.call(10 + i as u64, tool, args.clone());
        let text = r.to_string();
        if let Some(l) = leaked(&text) {
            panic!("{tool} {args} leaked {l}");
        }
        if r["isError"] != true {
            answered += 1;
        }
    }
    assert!(
        answered >= calls.len() - 2,
        "only {answered} tools answered"
    );
    // Every resource the server lists, read.
    let list = s.request(100, "resources/list", json!({}));
    let resources = list["result"]["resources"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(!resources.is_empty(), "{list}");
    for (i, r) in resources.iter().enumerate() {
        let uri = r["uri"].as_str().unwrap();
        let read = s.request(200 + i as u64, "resources/read", json!({"uri": uri}));
        if let Some(l) = leaked(&read.to_string()) {
            panic!("resource {uri} leaked {l}");
        }
    }
    // The log really was served (scrubbed), and MySQL's wording survived.
    let logs = s.call(
        300,
        "get_logs",
        json!({"namespace": "shop", "pod": "leaky-7f9c-abcde"}),
    );
    let text = logs.to_string();
    assert!(text.contains("<redacted:"), "{text}");
    assert!(text.contains("using password: YES"), "{text}");
}

/// A bundle written without redaction says so in every report's limitations and in
/// `list_clusters`; a redacted one (the demo) does not.
#[test]
fn an_unredacted_bundle_is_said_to_be_one() {
    let dir = tempfile::tempdir().unwrap();
    let b = bundle(dir.path());
    for args in [
        vec!["diagnose", "why does leaky crash"],
        vec![
            "impact",
            "--set-image",
            "deployment/auth=ghcr.io/acme-shop/auth:3.5.1",
        ],
        vec!["dr-plan", "--scenario", "workload=shop/auth"],
    ] {
        let r = common::json_of(
            common::bin()
                .args(&args)
                .args(["--bundle", &b, "-o", "json"]),
        );
        assert!(
            r["limitations"]
                .as_array()
                .unwrap()
                .iter()
                .any(|l| l.as_str().unwrap().contains("written without redaction")),
            "{args:?}: {}",
            r["limitations"]
        );
    }
    let mut s = common::stdio::StdioSession::with_args(&["--bundle", &b]);
    s.initialize();
    let r = s.call(2, "list_clusters", json!({}));
    assert_eq!(
        r["structuredContent"]["clusters"][0]["redacted"], false,
        "{r}"
    );
    assert!(r.to_string().contains("written without redaction"), "{r}");
    // The demo was redacted: nothing said.
    let demo = dir.path().join("demo.intel.tar.zst");
    let made = common::bin()
        .args(["demo", "--out"])
        .arg(&demo)
        .output()
        .unwrap();
    assert!(made.status.success());
    let r = common::json_of(
        common::bin()
            .args(["diagnose", "checkout fails", "--bundle"])
            .arg(&demo)
            .args(["-o", "json"]),
    );
    assert!(
        !r["limitations"].to_string().contains("without redaction"),
        "{}",
        r["limitations"]
    );
}

/// A bundle changed after it was written (one file's bytes differ from the manifest's
/// hash) still gets an answer, which says so in its limitations, naming the file.
#[test]
fn a_bundle_that_fails_its_integrity_check_says_so_in_the_answer() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = common::fixture_bundle(dir.path());
    let root = dir.path().join("unpacked");
    common::unpack(&bundle, &root);
    let pods = root.join("resources/core/v1/pods.json");
    let text = std::fs::read_to_string(&pods).unwrap();
    std::fs::write(&pods, format!("{text}\n")).unwrap();
    let r = common::json_of(
        common::bin()
            .args(["diagnose", "", "--bundle"])
            .arg(&root)
            .args(["-o", "json"]),
    );
    let l = r["limitations"].to_string();
    assert!(
        l.contains("integrity check failed") && l.contains("resources/core/v1/pods.json"),
        "{l}"
    );
}
