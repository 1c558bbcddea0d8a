//! Capture against a small fake API server on loopback (plain HTTP, no auth, like
//! `kubectl intel serve`): checks the whole conversation — discovery, paging, 403s, logs,
//! metrics, redaction — end to end through a real kube `Client`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::*;
use intel_exit::Exit;
use intel_model::TypeKey;

#[derive(Default)]
struct Fake {
    metrics: bool,
    metrics_calls: AtomicUsize,
}

fn status(code: u16, reason: &str, message: &str) -> Response {
    let body = json!({"kind": "Status", "apiVersion": "v1", "status": "Failure",
        "message": message, "reason": reason, "code": code});
    let code = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        code,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn ok(body: Value) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn resource(name: &str, kind: &str, namespaced: bool, verbs: &[&str]) -> Value {
    json!({"name": name, "singularName": kind.to_lowercase(), "kind": kind,
        "namespaced": namespaced, "verbs": verbs})
}

fn group(name: &str, version: &str) -> Value {
    let gv = json!({"groupVersion": format!("{name}/{version}"), "version": version});
    json!({"name": name, "versions": [gv.clone()], "preferredVersion": gv})
}

fn pod(name: &str, statuses: Value) -> Value {
    json!({"metadata": {"name": name, "namespace": "shop", "uid": format!("uid-{name}")},
        "spec": {"containers": [{"name": "app", "env": [{"name": "DB_PASSWORD", "value": "hunter2"}]}]},
        "status": {"containerStatuses": statuses}})
}

impl Fake {
    fn answer(&self, req: &Request) -> Response {
        let path = req.uri().path();
        let query = req.uri().query().unwrap_or("");
        let has = |p: &str| query.split('&').any(|q| q == p);
        let list = |kind: &str, items: Value| {
            ok(json!({"kind": kind, "apiVersion": "v1", "metadata": {}, "items": items}))
        };
        match path {
            "/version" => ok(json!({"major": "1", "minor": "37", "gitVersion": "v1.37.0"})),
            "/api" => ok(
                json!({"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []}),
            ),
            "/api/v1" => ok(
                json!({"kind": "APIResourceList", "groupVersion": "v1", "resources": [
                    resource("pods", "Pod", true, &["get", "list"]),
                    resource("pods/log", "Pod", true, &["get"]),
                    resource("secrets", "Secret", true, &["get", "list"]),
                    resource("events", "Event", true, &["list"]),
                    resource("namespaces", "Namespace", false, &["list"]),
                    resource("bindings", "Binding", true, &["create"]),
                ]}),
            ),
            "/apis" => ok(json!({"kind": "APIGroupList", "groups": [
                group("apps", "v1"), group("events.k8s.io", "v1"), group("metrics.k8s.io", "v1beta1"),
                group("broken.example.com", "v1"), group("stable.example.com", "v1"),
            ]})),
            "/apis/apps/v1" => ok(json!({"groupVersion": "apps/v1", "resources": [
                resource("deployments", "Deployment", true, &["list"]),
                resource("deployments/scale", "Scale", true, &["get"]),
            ]})),
            "/apis/events.k8s.io/v1" => {
                ok(json!({"groupVersion": "events.k8s.io/v1", "resources": [
                resource("events", "Event", true, &["list"])]}))
            }
            "/apis/stable.example.com/v1" => ok(
                json!({"groupVersion": "stable.example.com/v1", "resources": [
                resource("crontabs", "CronTab", true, &["list"])]}),
            ),
            "/apis/broken.example.com/v1" => status(
                503,
                "ServiceUnavailable",
                "the server is currently unable to handle the request",
            ),
            "/api/v1/pods" | "/api/v1/namespaces/shop/pods" => {
                assert!(has("limit=500"), "{query}");
                if has("continue=p2") {
                    list(
                        "PodList",
                        json!([pod(
                            "web-1",
                            json!([
                        {"name": "app", "restartCount": 0, "state": {"running": {}}}])
                        )]),
                    )
                } else {
                    ok(
                        json!({"kind": "PodList", "apiVersion": "v1", "metadata": {"continue": "p2"},
                        "items": [pod("worker-1", json!([
                            {"name": "crashy", "restartCount": 2, "state": {"waiting": {}},
                             "lastState": {"terminated": {"exitCode": 1}}},
                            {"name": "pulling", "restartCount": 0, "state": {"waiting": {}}}]))]}),
                    )
                }
            }
            "/api/v1/secrets" | "/api/v1/namespaces/shop/secrets" => status(
                403,
                "Forbidden",
                "secrets is forbidden: User \"ci\" cannot list resource \"secrets\"",
            ),
            "/api/v1/events" | "/api/v1/namespaces/shop/events" => list(
                "EventList",
                json!([
                {"metadata": {"name": "e1", "namespace": "shop"}, "reason": "BackOff", "message": "Back-off restarting"}]),
            ),
            "/apis/events.k8s.io/v1/events" | "/apis/events.k8s.io/v1/namespaces/shop/events" => {
                list(
                    "EventList",
                    json!([
                {"metadata": {"name": "e1", "namespace": "shop"}, "reason": "BackOff", "note": "Back-off restarting"}]),
                )
            }
            "/api/v1/namespaces" => list(
                "NamespaceList",
                json!([{"metadata": {"name": "shop"}}, {"metadata": {"name": "default"}}]),
            ),
            "/apis/apps/v1/deployments" | "/apis/apps/v1/namespaces/shop/deployments" => {
                list("DeploymentList", json!([]))
            }
            "/apis/stable.example.com/v1/crontabs"
            | "/apis/stable.example.com/v1/namespaces/shop/crontabs" => list(
                "CronTabList",
                json!([
                {"apiVersion": "stable.example.com/v1", "kind": "CronTab", "metadata": {"name": "c", "namespace": "shop"}}]),
            ),
            "/api/v1/namespaces/shop/pods/web-1/log" => {
                assert!(
                    has("container=app") && has("tailLines=1000") && has("limitBytes=1048576"),
                    "{query}"
                );
                "starting\nconnecting to postgres://app:s3cr3tpass@db:5432/shop\nready\n"
                    .into_response()
            }
            "/api/v1/namespaces/shop/pods/worker-1/log" if has("previous=true") => status(
                400,
                "BadRequest",
                "previous terminated container \"crashy\" in pod \"worker-1\" not found",
            ),
            "/api/v1/namespaces/shop/pods/worker-1/log" => "crash: boom\n".into_response(),
            "/apis/metrics.k8s.io/v1beta1/nodes" if self.metrics => {
                self.metrics_calls.fetch_add(1, Ordering::SeqCst);
                ok(
                    json!({"kind": "NodeMetricsList", "apiVersion": "metrics.k8s.io/v1beta1", "metadata": {},
                    "items": [{"metadata": {"name": "n1"}, "timestamp": "2026-11-24T14:00:05Z", "window": "10s",
                        "usage": {"cpu": "100m", "memory": "1Gi"}}]}),
                )
            }
            "/apis/metrics.k8s.io/v1beta1/pods"
            | "/apis/metrics.k8s.io/v1beta1/namespaces/shop/pods"
                if self.metrics =>
            {
                ok(
                    json!({"kind": "PodMetricsList", "apiVersion": "metrics.k8s.io/v1beta1", "metadata": {},
                    "items": [{"metadata": {"name": "web-1", "namespace": "shop"}, "timestamp": "2026-11-24T14:00:00Z",
                        "containers": [{"name": "app", "usage": {"cpu": "5m", "memory": "20Mi"}}]}]}),
                )
            }
            "/prom/api/v1/query_range" => {
                assert!(
                    query.contains("step=30s") && query.contains("start="),
                    "{query}"
                );
                // No node exporter here: its series answer empty, as Prometheus does for a
                // metric nobody exports.
                if query.contains("node_netstat") {
                    ok(json!({"status": "success", "data": {"resultType": "matrix", "result": []}}))
                } else {
                    ok(
                        json!({"status": "success", "data": {"resultType": "matrix", "result": [
                        {"metric": {"namespace": "shop", "pod": "web-1"}, "values": [[1795528800, "1"]]}]}}),
                    )
                }
            }
            _ => status(
                404,
                "NotFound",
                "the server could not find the requested resource",
            ),
        }
    }
}

async fn serve(fake: Fake) -> (String, Arc<Fake>) {
    let fake = Arc::new(fake);
    let state = fake.clone();
    let app = Router::new().fallback(move |req: Request| {
        let state = state.clone();
        async move { state.answer(&req) }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}"), fake)
}

fn client(url: &str) -> kube::Client {
    capture_client(
        kube::Config::new(url.parse().unwrap()),
        &CaptureOptions::default(),
    )
    .unwrap()
}

fn cluster(url: &str) -> ClusterInfo {
    ClusterInfo {
        name: "fake".into(),
        context: Some("fake".into()),
        server: Some(url.into()),
        kubernetes_version: None,
    }
}

fn collector<'a>(snap: &'a Snapshot, name: &str) -> &'a Collector {
    snap.manifest
        .collectors
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no collector {name}"))
}

#[tokio::test]
async fn captures_everything_it_can_and_records_the_rest() {
    let (url, _) = serve(Fake::default()).await;
    let opts = CaptureOptions::default();
    let snap = capture_snapshot(client(&url), &opts, cluster(&url), &NoProgress)
        .await
        .unwrap();
    let m = &snap.manifest;
    assert_eq!(m.cluster.kubernetes_version.as_deref(), Some("v1.37.0"));
    assert_eq!(m.captured_at.len(), "2026-11-24T14:00:00Z".len());
    assert!(m.window.start.as_deref() < m.window.end.as_deref());

    let keys: Vec<String> = snap.resources.keys().map(|k| k.to_string()).collect();
    assert_eq!(
        keys,
        vec![
            "events",
            "namespaces",
            "pods",
            "deployments.apps",
            "events.events.k8s.io",
            "crontabs.stable.example.com"
        ]
    );
    // Both pages, sorted, with apiVersion and kind; env credentials redacted.
    let pods = snap.pods();
    assert_eq!(pods.len(), 2);
    assert_eq!(pods[0].meta.name, "web-1");
    assert_eq!(pods[0].meta.kind, "Pod");
    assert_eq!(pods[0].meta.api_version, "v1");
    assert!(!pods[0].json().contains("hunter2"), "{}", pods[0].json());
    let crontab = &snap.items("stable.example.com", "crontabs")[0];
    assert_eq!(crontab.meta.api_version, "stable.example.com/v1");

    let secrets = collector(&snap, "resources/secrets");
    assert_eq!(secrets.errors.len(), 1);
    assert_eq!(secrets.errors[0].code, Some(403));
    assert!(
        !snap
            .resources
            .contains_key(&TypeKey::new("", "v1", "secrets"))
    );
    let discovery = collector(&snap, "discovery");
    assert_eq!(discovery.items, 7);
    assert_eq!(discovery.errors.len(), 1);
    assert_eq!(discovery.errors[0].code, Some(503));
    assert_eq!(discovery.errors[0].target, "/apis/broken.example.com/v1");

    // Logs: current logs of started containers, redacted; a missing previous log is an error.
    let logs: Vec<String> = snap.logs.keys().map(|k| k.bundle_path()).collect();
    assert_eq!(
        logs,
        vec!["logs/shop/web-1/app.log", "logs/shop/worker-1/crashy.log"]
    );
    let app_log = snap.logs.values().next().unwrap();
    assert!(
        app_log.contains("@db:5432") && !app_log.contains("s3cr3tpass"),
        "{app_log}"
    );
    let log_collector = collector(&snap, "logs");
    assert_eq!(log_collector.items, 2);
    assert_eq!(log_collector.errors.len(), 1);
    assert_eq!(log_collector.errors[0].code, Some(400));
    assert!(log_collector.errors[0].target.contains("previous=true"));

    // No metrics-server here.
    let metrics = collector(&snap, "metrics");
    assert!(snap.metrics.is_empty());
    assert_eq!(metrics.errors.len(), 1);
    assert_eq!(metrics.errors[0].code, Some(404));
    assert!(
        metrics.errors[0]
            .message
            .starts_with("metrics.k8s.io not available")
    );

    assert!(m.redaction.enabled);
    assert!(m.redaction.redacted_values >= 2);
    let names: Vec<&str> = m.collectors.iter().map(|c| c.name.as_str()).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted, "collectors are in name order");

    // The snapshot makes a valid bundle.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fake.intel.tar.zst");
    intel_bundle::write_bundle(&snap, &path).unwrap();
    let loaded = intel_bundle::read_bundle(&path).unwrap();
    assert_eq!(loaded.snapshot.pods().len(), 2);
}

#[tokio::test]
async fn output_does_not_depend_on_completion_order() {
    let (url, _) = serve(Fake::default()).await;
    let render = |snap: &Snapshot| -> Vec<String> {
        let mut out: Vec<String> = snap
            .resources
            .values()
            .flat_map(|l| l.items.iter().map(|o| o.json().to_string()))
            .collect();
        out.extend(snap.logs.values().cloned());
        out.extend(snap.manifest.collectors.iter().map(|c| format!("{c:?}")));
        out
    };
    let mut opts = CaptureOptions {
        concurrency: 1,
        ..Default::default()
    };
    let a = capture_snapshot(client(&url), &opts, cluster(&url), &NoProgress)
        .await
        .unwrap();
    opts.concurrency = 16;
    let b = capture_snapshot(client(&url), &opts, cluster(&url), &NoProgress)
        .await
        .unwrap();
    assert_eq!(render(&a), render(&b));
}

#[tokio::test]
async fn namespaces_restrict_namespaced_types_only() {
    let (url, _) = serve(Fake {
        metrics: true,
        ..Default::default()
    })
    .await;
    let opts = CaptureOptions {
        namespaces: vec!["shop".into()],
        samples: 2,
        interval: Duration::from_millis(50),
        ..Default::default()
    };
    let snap = capture_snapshot(client(&url), &opts, cluster(&url), &NoProgress)
        .await
        .unwrap();
    assert_eq!(snap.manifest.namespaces, vec!["shop"]);
    assert_eq!(snap.pods().len(), 2);
    assert_eq!(snap.items("", "namespaces").len(), 2, "cluster-scoped: all");
    // Both samples measured at the same time: the first is kept.
    assert_eq!(snap.metrics.len(), 1);
    let sample = &snap.metrics[0];
    assert_eq!(sample.time, "2026-11-24T14:00:05Z");
    let pods: Value = serde_json::from_str(sample.pods.as_ref().unwrap().get()).unwrap();
    assert_eq!(pods["kind"], "PodMetricsList");
    assert_eq!(pods["items"][0]["metadata"]["name"], "web-1");
    let metrics = collector(&snap, "metrics");
    assert_eq!(metrics.items, 1);
    assert!(metrics.errors.is_empty(), "{:?}", metrics.errors);
}

#[tokio::test]
async fn logs_and_metrics_can_be_turned_off() {
    let (url, fake) = serve(Fake {
        metrics: true,
        ..Default::default()
    })
    .await;
    let opts = CaptureOptions {
        logs: false,
        metrics: false,
        ..Default::default()
    };
    let snap = capture_snapshot(client(&url), &opts, cluster(&url), &NoProgress)
        .await
        .unwrap();
    assert!(snap.logs.is_empty() && snap.metrics.is_empty());
    assert!(
        snap.manifest
            .collectors
            .iter()
            .all(|c| c.name != "logs" && c.name != "metrics")
    );
    assert_eq!(fake.metrics_calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn an_unreachable_cluster_captures_nothing() {
    // A port that was just free: connections are refused.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let opts = CaptureOptions {
        request_timeout: Duration::from_secs(5),
        ..Default::default()
    };
    let err = capture_snapshot(client(&url), &opts, cluster(&url), &NoProgress)
        .await
        .unwrap_err();
    let message = err.to_string();
    assert!(
        matches!(
            err.downcast_ref::<CaptureError>(),
            Some(CaptureError::NothingCaptured { .. })
        ),
        "{message}"
    );
    assert!(message.contains(&url), "{message}");
    assert!(message.to_lowercase().contains("refused"), "{message}");
}

#[tokio::test]
async fn bad_redact_patterns_are_an_error() {
    let opts = CaptureOptions {
        redact_patterns: vec!["(unclosed".into()],
        ..Default::default()
    };
    let err = capture_snapshot(
        client("http://127.0.0.1:9"),
        &opts,
        cluster("x"),
        &NoProgress,
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("(unclosed"), "{err}");
}

fn parse(argv: &[&str]) -> Result<CaptureArgs, clap::Error> {
    use clap::Parser;
    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: CaptureArgs,
    }
    Cli::try_parse_from(argv).map(|c| c.args)
}

#[test]
fn arguments_map_to_options() {
    let args = parse(&["x"]).unwrap();
    assert_eq!(CaptureOptions::from(&args), CaptureOptions::default());

    let args = parse(&[
        "x",
        "-n",
        "shop",
        "-n",
        "auth",
        "-n",
        "shop",
        "--samples",
        "3",
        "--interval",
        "1m",
        "--log-bytes",
        "512Ki",
        "--no-logs",
        "--concurrency",
        "2",
        "--request-timeout",
        "5s",
        "--prometheus",
        "http://localhost:9090",
        "--window",
        "2h",
    ])
    .unwrap();
    let opts = CaptureOptions::from(&args);
    assert_eq!(opts.namespaces, vec!["auth", "shop"]);
    assert_eq!(opts.samples, 3);
    assert_eq!(opts.interval, Duration::from_secs(60));
    assert_eq!(opts.log_bytes, 512 * 1024);
    assert!(!opts.logs && opts.metrics);
    assert_eq!(opts.concurrency, 2);
    assert_eq!(opts.window, Duration::from_secs(7200));

    assert!(
        parse(&["x", "-n", "a", "-A"]).is_err(),
        "-n and -A conflict"
    );
    assert!(parse(&["x", "--context", "a", "--all-contexts"]).is_err());
    assert!(parse(&["x", "--samples", "0"]).is_err());
    assert!(parse(&["x", "--concurrency", "0"]).is_err());
    assert!(parse(&["x", "--interval", "soon"]).is_err());
    let all = parse(&["x", "-A"]).unwrap();
    assert!(CaptureOptions::from(&all).namespaces.is_empty());
}

/// Runs a fake API server on its own thread and runtime (`run` starts its own runtime, which
/// cannot nest in a test's).
fn serve_in_thread(fake: Fake) -> String {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let (url, _) = serve(fake).await;
            tx.send(url).unwrap();
            std::future::pending::<()>().await;
        });
    });
    rx.recv().unwrap()
}

/// A kubeconfig with a live context `fake` (current) and an unreachable one `dead`.
fn kubeconfig(dir: &std::path::Path, url: &str) -> std::path::PathBuf {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let path = dir.join("kubeconfig");
    std::fs::write(
        &path,
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: fake\n\
             clusters:\n- name: fake\n  cluster:\n    server: {url}\n\
             - name: dead\n  cluster:\n    server: {dead}\n\
             users:\n- name: nobody\n  user: {{}}\n\
             contexts:\n- name: fake\n  context:\n    cluster: fake\n    user: nobody\n\
             - name: dead\n  context:\n    cluster: dead\n    user: nobody\n"
        ),
    )
    .unwrap();
    path
}

fn bundles_in(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".intel.tar.zst"))
        .collect();
    names.sort();
    names
}

#[test]
fn run_writes_one_bundle_for_the_current_context() {
    let url = serve_in_thread(Fake::default());
    let tmp = tempfile::tempdir().unwrap();
    let kc = kubeconfig(tmp.path(), &url);
    let out = tmp.path().join("prod.intel.tar.zst");
    let args = parse(&[
        "x",
        "--kubeconfig",
        kc.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--no-metrics",
    ])
    .unwrap();
    assert_eq!(run(args).unwrap(), Exit::Ok);
    let loaded = intel_bundle::read_bundle(&out).unwrap();
    let cluster = &loaded.snapshot.manifest.cluster;
    assert_eq!(cluster.name, "fake");
    assert_eq!(cluster.context.as_deref(), Some("fake"));
    assert_eq!(cluster.server.as_deref(), Some(url.as_str()));
    assert_eq!(loaded.snapshot.pods().len(), 2);
}

#[test]
fn run_with_several_contexts_writes_a_directory_and_reports_the_dead_one() {
    let url = serve_in_thread(Fake::default());
    let tmp = tempfile::tempdir().unwrap();
    let kc = kubeconfig(tmp.path(), &url);
    let out = tmp.path().join("bundles");
    let args = parse(&[
        "x",
        "--kubeconfig",
        kc.to_str().unwrap(),
        "--all-contexts",
        "--out",
        out.to_str().unwrap(),
        "--request-timeout",
        "5s",
    ])
    .unwrap();
    assert_eq!(run(args).unwrap(), Exit::NothingCaptured);
    let names = bundles_in(&out);
    assert_eq!(names.len(), 1, "{names:?}");
    assert!(names[0].starts_with("fake-"), "{names:?}");
}

#[test]
fn run_against_an_unreachable_cluster_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let kc = kubeconfig(tmp.path(), "http://127.0.0.1:9");
    let args = parse(&[
        "x",
        "--kubeconfig",
        kc.to_str().unwrap(),
        "--context",
        "dead",
        "--out",
        tmp.path().to_str().unwrap(),
    ])
    .unwrap();
    assert_eq!(run(args).unwrap(), Exit::NothingCaptured);
    assert!(bundles_in(tmp.path()).is_empty());
    // An unknown context is a usage problem, reported before connecting.
    let args = parse(&[
        "x",
        "--kubeconfig",
        kc.to_str().unwrap(),
        "--context",
        "nope",
    ])
    .unwrap();
    let err = run(args).unwrap_err().to_string();
    assert!(
        err.contains("\"nope\"") && err.contains("dead, fake"),
        "{err}"
    );
}

#[test]
fn help_explains_every_flag_and_shows_examples() {
    let help = parse(&["kubectl-intel-capture", "--help"])
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    println!("{help}");
    for needle in [
        "--kubeconfig",
        "--all-contexts",
        "--namespace",
        "--samples",
        "--interval",
        "--prometheus",
        "--window",
        "--log-lines",
        "--log-bytes",
        "--no-logs",
        "--no-metrics",
        "--redact-pattern",
        "--concurrency",
        "--request-timeout",
        "Examples:",
        "kubectl intel capture --all-contexts",
    ] {
        assert!(help.contains(needle), "{needle} missing from:\n{help}");
    }
}

#[tokio::test]
async fn prometheus_series_are_stored_under_their_metric_names() {
    let (url, _) = serve(Fake::default()).await;
    let opts = CaptureOptions {
        prometheus: Some(format!("{url}/prom/")),
        metrics: false,
        logs: false,
        ..Default::default()
    };
    let snap = capture_snapshot(client(&url), &opts, cluster(&url), &NoProgress)
        .await
        .unwrap();
    let names: Vec<&str> = snap.prometheus.keys().map(String::as_str).collect();
    // The seven container series and the application ones that answered; the node
    // exporter's, empty, are not stored (their collectors say 0 items).
    assert_eq!(names.len(), 15, "{names:?}");
    assert!(names.contains(&"container_memory_working_set_bytes"));
    assert!(names.contains(&"istio_workload_bytes"));
    assert!(names.contains(&"istio_request_duration_milliseconds_p90"));
    assert!(!names.contains(&"node_netstat_Tcp_RetransSegs"));
    let c = collector(&snap, "prometheus/node_netstat_Tcp_RetransSegs");
    assert_eq!(c.items, 0);
    assert!(c.errors.is_empty());
    let c = collector(&snap, "prometheus/container_cpu_usage_seconds_total");
    assert_eq!(c.items, 1);
    assert!(c.errors.is_empty());
    // Nothing answers there: every series records the failure, the capture goes on.
    let opts = CaptureOptions {
        prometheus: Some(format!("{url}/nowhere")),
        ..opts
    };
    let snap = capture_snapshot(client(&url), &opts, cluster(&url), &NoProgress)
        .await
        .unwrap();
    assert!(snap.prometheus.is_empty());
    let c = collector(&snap, "prometheus/kube_pod_container_status_restarts_total");
    assert_eq!(c.errors[0].code, Some(404));
}

/// Live-mode callers (the MCP server) spawn captures on a multi-threaded runtime.
#[tokio::test]
async fn the_capture_future_can_be_spawned() {
    fn assert_send<T: Send>(_: &T) {}
    let opts = CaptureOptions::default();
    let fut = capture_snapshot(
        client("http://127.0.0.1:9"),
        &opts,
        cluster("x"),
        &NoProgress,
    );
    assert_send(&fut);
}
