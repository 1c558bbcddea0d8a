//! `kubectl intel mcp` through real clients: raw JSON-RPC over stdio (always), and the
//! independent Python `mcp` package over stdio and streamable HTTP (`tests/mcp_client.py`:
//! initialize, tools/list, every tool, resources, prompts, tool errors). The HTTP guards
//! (bearer token, Origin) and the refusal of a public listener without a token are checked
//! with plain HTTP requests; live mode against `kubectl intel serve` standing in for a
//! cluster.
//!
//! The Python interpreter is `$INTEL_PYTHON` (`scripts/test.sh` creates a venv with `mcp` and sets
//! it). Without it, `python3` is used if it can `import mcp`; otherwise the Python checks
//! are skipped with a loud message, so `cargo test` still runs on a machine without the venv.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;

use serde_json::json;

/// The scenario the client checks against: auth 3.5.0 leaks memory; the root cause is auth.
const SCENARIO: &str = "auth-memory-leak";
const ROOT_CAUSE: &str = "auth";

/// One scenario bundle per test process, written once under the target's temp dir.
fn bundle() -> &'static Path {
    static BUNDLE: OnceLock<PathBuf> = OnceLock::new();
    BUNDLE.get_or_init(|| {
        use kubectl_intel::synth::{Options, Scenario};
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("mcp");
        std::fs::create_dir_all(&dir).expect("create the test dir");
        let path = dir.join(format!("{SCENARIO}-{}.intel.tar.zst", std::process::id()));
        let scenario = Scenario::resolve(SCENARIO).expect("library scenario");
        let opts = Options {
            seed: scenario.seed.unwrap_or(1),
            nodes: scenario.nodes.unwrap_or(Options::default().nodes),
            ..Options::default()
        };
        let snap = kubectl_intel::synth::generate(&opts, Some(&scenario)).expect("generate");
        kubectl_intel::bundle::write_bundle(&snap, &path).expect("write the bundle");
        path
    })
}

/// The interpreter with the `mcp` package, or `None` (after saying so loudly) when there is
/// none and `$INTEL_PYTHON` is unset.
fn python() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("INTEL_PYTHON").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let has_mcp = Command::new("python3")
        .args(["-c", "import mcp"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if has_mcp {
        return Some(PathBuf::from("python3"));
    }
    common::skipped(
        "the Python MCP client checks (tests/mcp.rs): no $INTEL_PYTHON, and python3 cannot `import mcp`.\n\
         scripts/test.sh installs it; by hand: python3 -m venv /tmp/v && /tmp/v/bin/pip install mcp\n\
         && INTEL_PYTHON=/tmp/v/bin/python cargo test --test mcp",
    );
    None
}

fn client_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/mcp_client.py")
}

/// Runs the Python client; fails the test with its output unless every check passed.
fn run_client(python: &Path, args: &[&str]) -> String {
    let out = Command::new(python)
        .arg(client_script())
        .args(args)
        .args(["--expect-root-cause", ROOT_CAUSE])
        .output()
        .expect("run the Python MCP client");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("SUMMARY "),
        "Python MCP client {args:?} failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    stdout
}

/// A running `kubectl-intel mcp --listen`, killed on drop.
struct HttpServer {
    child: Child,
    url: String,
    addr: String,
}

impl HttpServer {
    fn start(extra: &[&str]) -> HttpServer {
        let mut child = common::bin()
            .args(["mcp", "--bundle"])
            .arg(bundle())
            .args(["--listen", "127.0.0.1:0"])
            .args(extra)
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
        // Keep draining stderr so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        let addr = url
            .trim_start_matches("http://")
            .trim_end_matches("/mcp")
            .to_string();
        HttpServer { child, url, addr }
    }

    /// A raw POST of an initialize request; returns the status line and the response.
    fn post(&self, headers: &[(&str, &str)]) -> (u16, String) {
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "raw", "version": "0"}}})
        .to_string();
        let mut req = format!(
            "POST /mcp HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nContent-Length: {}\r\nConnection: close\r\n",
            self.addr,
            body.len()
        );
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        req.push_str("\r\n");
        req.push_str(&body);
        let mut stream = std::net::TcpStream::connect(&self.addr).expect("connect");
        stream
            .set_read_timeout(Some(std::time::Duration::from_secs(10)))
            .expect("timeout");
        stream.write_all(req.as_bytes()).expect("send");
        let mut resp = Vec::new();
        // An SSE response stays open after its first event: read what arrives, then stop.
        let mut buf = [0u8; 4096];
        while let Ok(n) = stream.read(&mut buf) {
            if n == 0 {
                break;
            }
            resp.extend_from_slice(&buf[..n]);
            if String::from_utf8_lossy(&resp).contains("serverInfo") {
                break;
            }
        }
        let text = String::from_utf8_lossy(&resp).into_owned();
        let status = text
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        (status, text)
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

use common::stdio::StdioSession;

/// A session on the test bundle.
fn start() -> StdioSession {
    let bundle = bundle().to_str().expect("utf-8 path");
    StdioSession::with_args(&["--bundle", bundle])
}

#[test]
fn stdio_raw_json_rpc() {
    let mut s = start();
    let init = s.initialize();
    let result = &init["result"];
    assert_eq!(result["serverInfo"]["name"], "kubectl-intel", "{init}");
    assert_eq!(result["protocolVersion"], "2025-06-18");
    for cap in ["tools", "resources", "prompts"] {
        assert!(result["capabilities"][cap].is_object(), "{cap}: {init}");
    }
    assert!(
        result["instructions"]
            .as_str()
            .is_some_and(|i| i.contains("untrusted")),
        "{init}"
    );
    let list = s.request(2, "tools/list", json!({}));
    let tools = list["result"]["tools"].as_array().expect("tools");
    let names: Vec<&str> = tools.iter().filter_map(|t| t["name"].as_str()).collect();
    for want in [
        "list_clusters",
        "get_resources",
        "get_events",
        "get_logs",
        "get_metrics",
        "get_timeline",
        "get_service_map",
        "simulate_scheduling",
        "diagnose_cluster_issue",
        "explain_infrastructure_behavior",
        "analyze_deployment_impact",
        "generate_disaster_recovery_plan",
        "optimize_workload_placement",
    ] {
        assert!(names.contains(&want), "{want} missing: {names:?}");
    }
    for t in tools {
        assert_eq!(t["annotations"]["readOnlyHint"], true, "{t}");
        assert_eq!(t["inputSchema"]["type"], "object", "{t}");
        assert_eq!(t["outputSchema"]["type"], "object", "{t}");
    }

    let call = s.request(
        3,
        "tools/call",
        json!({"name": "get_resources", "arguments": {"kind": "Deployment", "namespace": "shop", "name": "auth"}}),
    );
    let r = &call["result"];
    assert_eq!(r["isError"], false, "{call}");
    assert_eq!(r["structuredContent"]["items"][0]["name"], "auth");
    assert!(
        r["structuredContent"]["source"]["capturedAt"].is_string(),
        "{call}"
    );

    // Bad arguments are tool errors (isError) that name the problem, not protocol errors.
    let bad = s.request(
        4,
        "tools/call",
        json!({"name": "get_logs", "arguments": {"namespace": "shop", "tail": "many"}}),
    );
    assert_eq!(bad["result"]["isError"], true, "{bad}");
    let msg = bad["result"]["content"][0]["text"].as_str().unwrap_or("");
    assert!(msg.contains("invalid arguments"), "{msg}");
    let unknown = s.request(
        5,
        "tools/call",
        json!({"name": "get_events", "arguments": {"cluster": "prod-eu"}}),
    );
    assert_eq!(unknown["result"]["isError"], true, "{unknown}");
    let msg = unknown["result"]["content"][0]["text"]
        .as_str()
        .unwrap_or("");
    assert!(
        msg.contains("unknown cluster \"prod-eu\"") && msg.contains("synth-auth-memory-leak"),
        "{msg}"
    );
}

#[test]
fn python_client_over_stdio() {
    let Some(py) = python() else { return };
    let bin = env!("CARGO_BIN_EXE_kubectl-intel");
    let bundle = bundle().to_string_lossy().into_owned();
    let out = run_client(&py, &["stdio", "--bin", bin, "--bundle", &bundle]);
    assert!(out.contains("ok: prompts"), "{out}");
    assert!(out.contains("ok: analyze_deployment_impact"), "{out}");
    assert!(out.contains("ok: generate_disaster_recovery_plan"), "{out}");
    assert!(out.contains("ok: optimize_workload_placement"), "{out}");
    // The pre-2026 handshake (initialize) as well as the newest protocol.
    run_client(
        &py,
        &[
            "stdio", "--mode", "legacy", "--bin", bin, "--bundle", &bundle,
        ],
    );
}

#[test]
fn python_client_over_http() {
    let Some(py) = python() else { return };
    let server = HttpServer::start(&[]);
    let out = run_client(&py, &["http", "--url", &server.url]);
    assert!(out.contains("ok: prompts"), "{out}");
    assert!(out.contains("ok: analyze_deployment_impact"), "{out}");
    run_client(&py, &["http", "--mode", "legacy", "--url", &server.url]);
}

#[test]
fn http_requires_the_token_and_checks_origin() {
    let dir = tempfile::tempdir().expect("tempdir");
    let token = "0123456789abcdef0123456789abcdef";
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, format!("{token}\n")).expect("write token");
    let server = HttpServer::start(&["--token-file", token_file.to_str().expect("utf-8 path")]);

    let (status, resp) = server.post(&[]);
    assert_eq!(status, 401, "{resp}");
    let (status, resp) = server.post(&[("Authorization", "Bearer wrong-token-wrong-token")]);
    assert_eq!(status, 401, "{resp}");
    let bearer = format!("Bearer {token}");
    let (status, resp) = server.post(&[("Authorization", &bearer)]);
    assert_eq!(status, 200, "{resp}");
    assert!(resp.contains("kubectl-intel"), "{resp}");
    // DNS rebinding / a web page posting to localhost: a foreign Origin is refused, even
    // with the token; a localhost one is fine.
    let (status, resp) = server.post(&[
        ("Authorization", &bearer),
        ("Origin", "http://evil.example"),
    ]);
    assert_eq!(status, 403, "{resp}");
    let (status, resp) = server.post(&[
        ("Authorization", &bearer),
        ("Origin", "http://localhost:6274"),
    ]);
    assert_eq!(status, 200, "{resp}");

    if let Some(py) = python() {
        run_client(&py, &["http", "--url", &server.url, "--token", token]);
    }
}

#[test]
fn http_without_token_checks_origin() {
    let server = HttpServer::start(&[]);
    let (status, resp) = server.post(&[("Origin", "http://attacker.test:8080")]);
    assert_eq!(status, 403, "{resp}");
    let (status, resp) = server.post(&[("Origin", "http://127.0.0.1:3000")]);
    assert_eq!(status, 200, "{resp}");
}

/// New sessions past `--max-sessions` get 503 with Retry-After (issue 25: 40,000
/// initialize calls held 2.7 GB); the ones open keep working.
#[test]
fn sessions_are_capped() {
    let server = HttpServer::start(&["--max-sessions", "2"]);
    for _ in 0..2 {
        let (status, resp) = server.post(&[]);
        assert_eq!(status, 200, "{resp}");
    }
    let (status, resp) = server.post(&[]);
    assert_eq!(status, 503, "{resp}");
    assert!(
        resp.contains("too many MCP sessions") && resp.to_ascii_lowercase().contains("retry-after"),
        "{resp}"
    );
}

#[test]
fn refuses_a_public_listener_without_a_token() {
    let out = common::bin()
        .args(["mcp", "--bundle"])
        .arg(bundle())
        .args(["--listen", "0.0.0.0:0"])
        .output()
        .expect("run mcp");
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--token-file"), "{stderr}");
    assert!(out.stdout.is_empty());
}

#[test]
fn a_bad_bundle_fails_at_start() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("bad.intel.tar.zst");
    std::fs::write(&bad, b"not a bundle").expect("write");
    let out = common::bin()
        .args(["mcp", "--bundle"])
        .arg(&bad)
        .stdin(Stdio::null())
        .output()
        .expect("run mcp");
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    assert!(
        out.stdout.is_empty(),
        "stdout is the protocol: nothing else"
    );
}

#[test]
fn live_context_is_captured_on_first_use() {
    // `serve` stands in for a cluster: the kubeconfig it writes has one context, current.
    let dir = tempfile::tempdir().expect("tempdir");
    let api = common::Server::start(bundle(), dir.path(), &[]);
    let kubeconfig = api.kubeconfig.to_str().expect("utf-8 path");
    let mut s = StdioSession::with_args(&["--kubeconfig", kubeconfig, "--max-age", "3600"]);
    s.initialize();

    let before = s.call(2, "list_clusters", json!({}));
    let c = &before["structuredContent"]["clusters"][0];
    assert_eq!(c["captured"], false, "{before}");
    assert!(
        c["origin"]
            .as_str()
            .unwrap_or("")
            .starts_with("live context"),
        "{before}"
    );

    let r = s.call(
        3,
        "get_resources",
        json!({"kind": "Deployment", "namespace": "shop", "name": "auth"}),
    );
    assert_eq!(r["isError"], false, "{r}");
    assert_eq!(r["structuredContent"]["items"][0]["name"], "auth");
    let source = &r["structuredContent"]["source"];
    // Capture takes "now" from the API server's clock, and the replay's clock stands at
    // its capture time: the data is as old as the bundle, and the answer says so.
    let captured_at = kubectl_intel::bundle::read_bundle(bundle())
        .expect("read the bundle")
        .snapshot
        .manifest
        .captured_at;
    assert_eq!(source["capturedAt"], captured_at.as_str(), "{r}");
    assert!(source["ageSeconds"].as_i64().is_some(), "{r}");
    assert!(
        r["content"][0]["text"]
            .as_str()
            .is_some_and(|t| t.contains("ago)")),
        "every answer says how old its data is: {r}"
    );

    let after = s.call(4, "list_clusters", json!({}));
    let c = &after["structuredContent"]["clusters"][0];
    assert_eq!(c["captured"], true, "{after}");
    let pods = kubectl_intel::bundle::read_bundle(bundle())
        .expect("read the bundle")
        .snapshot
        .pods()
        .len();
    assert_eq!(c["pods"], pods, "{after}");
    // The cached capture answers the next call.
    assert_eq!(c["capturedAt"], source["capturedAt"], "{after}");
}

/// explain's `compareWith`: two bundles loaded, one question about both; the leaking
/// cluster's auth is the difference that matters.
#[test]
fn explain_compares_loaded_clusters() {
    use kubectl_intel::synth::{Options, Scenario};
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("mcp");
    std::fs::create_dir_all(&dir).expect("create the test dir");
    let healthy = dir.join(format!("healthy-{}.intel.tar.zst", std::process::id()));
    let scenario = Scenario::resolve("healthy-baseline").expect("library scenario");
    let opts = Options {
        seed: scenario.seed.unwrap_or(1),
        ..Options::default()
    };
    let snap = kubectl_intel::synth::generate(&opts, Some(&scenario)).expect("generate");
    kubectl_intel::bundle::write_bundle(&snap, &healthy).expect("write the bundle");
    let leak = bundle().to_str().expect("utf-8 path");
    let mut s = StdioSession::with_args(&[
        "--bundle",
        leak,
        "--bundle",
        healthy.to_str().expect("utf-8 path"),
    ]);
    s.initialize();
    let r = s.call(
        2,
        "explain_infrastructure_behavior",
        json!({"cluster": "synth-auth-memory-leak", "question": "compare these clusters",
               "compareWith": ["synth-healthy-baseline"]}),
    );
    assert_ne!(r["isError"], true, "{r}");
    let report = &r["structuredContent"];
    let names: Vec<&str> = report["clusters"]
        .as_array()
        .expect("clusters")
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert_eq!(
        names,
        ["synth-auth-memory-leak", "synth-healthy-baseline"],
        "{}",
        serde_json::to_string(&r)
            .unwrap_or_default()
            .chars()
            .take(1500)
            .collect::<String>()
    );
    let top = &report["details"]["comparison"][0];
    assert_eq!(top["name"], "auth", "{top}");
    assert_eq!(top["matters"], true, "{top}");
    // An unknown peer is a clear tool error.
    let r = s.call(
        3,
        "explain_infrastructure_behavior",
        json!({"question": "compare", "cluster": "synth-auth-memory-leak",
               "compareWith": ["nowhere"]}),
    );
    assert_eq!(r["isError"], true, "{r}");
    assert!(
        r["content"][0]["text"]
            .as_str()
            .unwrap_or("")
            .contains("nowhere"),
        "{r}"
    );
}

/// One huge field cannot make a huge answer: an object over the size a Kubernetes API
/// server stores (5 MiB) is left out at load, said in `list_clusters` and on stderr; one
/// under it (a 2 MiB annotation) is served with that field cut to the answer's field cap,
/// saying how much was left out, and the whole answer stays small.
#[test]
fn answers_are_capped_by_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let pod = |name: &str, size: usize| {
        json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "shop", "uid": name,
                "annotations": {"example.com/blob": "x".repeat(size)}},
            "spec": {"containers": [{"name": "app", "image": "app:1"}]},
            "status": {"phase": "Running"}})
    };
    let snap = kubectl_intel::fixture::snapshot_of(
        "2026-11-24T14:00:00Z",
        vec![pod("big", 2 << 20), pod("huge", 5 << 20), pod("small", 10)],
    );
    let bundle = dir.path().join("big.intel.tar.zst");
    kubectl_intel::bundle::write_bundle(&snap, &bundle).unwrap();
    let mut s = StdioSession::with_args(&["--bundle", bundle.to_str().unwrap()]);
    s.initialize();
    let clusters = s.call(2, "list_clusters", json!({}));
    assert!(
        clusters.to_string().contains("were left out"),
        "{}",
        &clusters.to_string()[..2000.min(clusters.to_string().len())]
    );
    let huge = s.call(
        3,
        "get_resources",
        json!({"kind": "Pod", "namespace": "shop", "name": "huge"}),
    );
    assert_eq!(huge["isError"], true, "the oversized pod is not served");
    let big = s.call(
        4,
        "get_resources",
        json!({"kind": "Pod", "namespace": "shop", "name": "big"}),
    );
    assert_eq!(big["isError"], false);
    let bytes = big.to_string().len();
    assert!(bytes < 1_300_000, "answer of {bytes} bytes");
    let blob = big["structuredContent"]["items"][0]["object"]["metadata"]["annotations"]
        ["example.com/blob"]
        .as_str()
        .unwrap();
    assert!(
        blob.len() < 70 << 10 && blob.contains("more bytes not shown"),
        "{}",
        blob.len()
    );
    let all = s.call(
        5,
        "get_resources",
        json!({"kind": "Pod", "namespace": "shop", "includeObjects": true}),
    );
    assert!(all.to_string().len() < 1_300_000);
}

/// A session flood (1,000 `initialize` calls, as a hostile client would send 40,000) is
/// refused past the default cap with 503 while the server's peak memory stays far under
/// 1 GiB, read from the kernel (VmHWM) while it runs.
#[test]
fn a_session_flood_is_refused_with_memory_bounded() {
    let server = HttpServer::start(&[]);
    let (mut ok, mut full) = (0, 0);
    for _ in 0..1000 {
        match server.post(&[]).0 {
            200 => ok += 1,
            503 => full += 1,
            other => panic!("unexpected status {other}"),
        }
    }
    assert_eq!(ok, 256, "the default cap");
    assert_eq!(full, 744);
    let status = std::fs::read_to_string(format!("/proc/{}/status", server.child.id())).unwrap();
    let hwm_kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap();
    assert!(hwm_kib < 1024 * 1024, "peak RSS {hwm_kib} KiB");
}
