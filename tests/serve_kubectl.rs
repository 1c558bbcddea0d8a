//! The real `kubectl` against `kubectl intel serve`, with what it prints compared to what the
//! bundle holds.

mod common;

use std::collections::BTreeSet;

use serde_json::Value;

use common::{Server, fixture_bundle, kubectl};

struct Fixture {
    _dir: tempfile::TempDir,
    server: Server,
    snap: kubectl_intel::model::Snapshot,
}

fn fixture() -> Option<Fixture> {
    kubectl()?;
    let dir = tempfile::tempdir().unwrap();
    let bundle = fixture_bundle(dir.path());
    let snap = kubectl_intel::bundle::read_bundle(&bundle)
        .unwrap()
        .snapshot;
    let server = Server::start(&bundle, dir.path(), &[]);
    Some(Fixture {
        _dir: dir,
        server,
        snap,
    })
}

/// Rows of a kubectl table, split on runs of 2+ spaces would break on empty cells; the
/// columns we read never contain spaces, so whitespace splitting is exact for them.
fn rows(out: &str) -> Vec<Vec<String>> {
    out.lines()
        .skip(1)
        .map(|l| l.split_whitespace().map(str::to_string).collect())
        .collect()
}

fn header(out: &str) -> Vec<String> {
    out.lines()
        .next()
        .unwrap_or("")
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

#[test]
fn kubectl_reads_the_snapshot() {
    let Some(f) = fixture() else { return };
    let (s, snap) = (&f.server, &f.snap);

    // get pods -A: every pod of the bundle, with the usual columns.
    let out = s.kubectl_ok(&["get", "pods", "-A"]);
    assert_eq!(
        header(&out),
        ["NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    );
    let got: BTreeSet<(String, String)> = rows(&out)
        .into_iter()
        .map(|r| (r[0].clone(), r[1].clone()))
        .collect();
    let want: BTreeSet<(String, String)> = snap
        .pods()
        .iter()
        .map(|p| (p.meta.namespace.clone(), p.meta.name.clone()))
        .collect();
    assert_eq!(got, want);
    let auth_rows: Vec<Vec<String>> = rows(&out)
        .into_iter()
        .filter(|r| r[1].starts_with("auth-"))
        .collect();
    assert_eq!(auth_rows.len(), 2);
    assert!(
        auth_rows
            .iter()
            .all(|r| r[2] == "0/1" && r[3] == "CrashLoopBackOff")
    );

    // get deploy -n shop -o json: the bundle's objects, unchanged.
    let out = s.kubectl_ok(&["get", "deploy", "-n", "shop", "-o", "json"]);
    let list: Value = serde_json::from_str(&out).unwrap();
    let got: Vec<Value> = list["items"].as_array().unwrap().clone();
    let want: Vec<Value> = snap
        .items("apps", "deployments")
        .iter()
        .filter(|d| d.meta.namespace == "shop")
        .map(|d| d.value())
        .collect();
    assert_eq!(got.len(), 4);
    assert_eq!(got, want);

    // get nodes -o wide: names and internal IPs.
    let out = s.kubectl_ok(&["get", "nodes", "-o", "wide"]);
    let h = header(&out);
    let ip_col = h.iter().position(|c| c == "INTERNAL-IP").unwrap();
    let got: Vec<(String, String)> = rows(&out)
        .into_iter()
        .map(|r| (r[0].clone(), r[ip_col].clone()))
        .collect();
    assert_eq!(
        got,
        [
            ("node-a1".to_string(), "10.0.0.10".to_string()),
            ("node-b1".into(), "10.0.1.10".into()),
            ("node-c1".into(), "10.0.2.10".into())
        ]
    );

    // a CRD's kind, by plural and by short name, with its printer columns.
    let out = s.kubectl_ok(&["get", "backups", "-A"]);
    assert_eq!(
        header(&out),
        ["NAMESPACE", "NAME", "TARGET", "PHASE", "AGE"]
    );
    let r = rows(&out);
    assert_eq!(r.len(), 2);
    assert_eq!(r[0][1], "orders-hourly");
    assert_eq!(r[0][3], "Failed");
    let out = s.kubectl_ok(&["get", "bk", "-n", "monitoring", "-o", "name"]);
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        [
            "backup.ops.example.com/orders-hourly",
            "backup.ops.example.com/orders-nightly"
        ]
    );

    // events, and field selectors on them.
    let out = s.kubectl_ok(&["get", "events", "-n", "shop"]);
    let n_events = snap
        .items("", "events")
        .iter()
        .filter(|e| e.meta.namespace == "shop")
        .count();
    assert_eq!(rows(&out).len(), n_events);
    let out = s.kubectl_ok(&[
        "get",
        "events",
        "-n",
        "shop",
        "--field-selector",
        "reason=BackOff",
    ]);
    assert_eq!(rows(&out).len(), 2);
    assert!(
        rows(&out)
            .iter()
            .all(|r| r.contains(&"BackOff".to_string()))
    );

    // label selectors and paging.
    let out = s.kubectl_ok(&["get", "pods", "-n", "shop", "-l", "app=auth", "-o", "name"]);
    assert_eq!(out.lines().count(), 2);
    assert!(out.lines().all(|l| l.starts_with("pod/auth-")));
    let out = s.kubectl_ok(&["get", "pods", "-A", "--chunk-size=3", "-o", "name"]);
    assert_eq!(out.lines().count(), snap.pods().len());
}

#[test]
fn kubectl_describe_logs_and_top() {
    let Some(f) = fixture() else { return };
    let (s, snap) = (&f.server, &f.snap);
    let auth = snap
        .pods()
        .iter()
        .find(|p| p.meta.name.starts_with("auth-"))
        .unwrap();
    let name = auth.meta.name.as_str();

    let out = s.kubectl_ok(&["describe", "pod", "-n", "shop", name]);
    assert!(out.contains(&format!("Name:             {name}")), "{out}");
    assert!(out.contains("OOMKilled"), "{out}");
    assert!(
        out.contains("Back-off restarting failed container"),
        "{out}"
    );

    let key = |previous| kubectl_intel::model::LogKey {
        namespace: "shop".into(),
        pod: name.into(),
        container: "auth".into(),
        previous,
    };
    let out = s.kubectl_ok(&["logs", "-n", "shop", name, "-c", "auth"]);
    assert_eq!(out, snap.logs[&key(false)]);
    let out = s.kubectl_ok(&["logs", "-n", "shop", name, "--previous"]);
    assert_eq!(out, snap.logs[&key(true)]);
    assert!(out.contains("fatal error: runtime: out of memory"));
    let out = s.kubectl_ok(&["logs", "-n", "shop", name, "--previous", "--tail=2"]);
    assert_eq!(out.lines().count(), 2);
    let healthy = snap
        .pods()
        .iter()
        .find(|p| p.meta.name.starts_with("frontend-"))
        .unwrap();
    let out = s.kubectl(&["logs", "-n", "shop", &healthy.meta.name, "--previous"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("previous terminated container"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // top: the newest metrics sample.
    let out = s.kubectl_ok(&["top", "pods", "-n", "shop"]);
    let r = rows(&out);
    let pg = r.iter().find(|r| r[0] == "postgres-0").unwrap();
    assert_eq!(pg[1], "489m");
    assert_eq!(pg[2], "1532Mi");
    assert_eq!(r.len(), 8);
    let out = s.kubectl_ok(&["top", "nodes"]);
    assert_eq!(rows(&out).len(), 3);
}

#[test]
fn writes_and_watches_are_refused_in_the_api_shape() {
    let Some(f) = fixture() else { return };
    let s = &f.server;
    let out = s.kubectl(&["delete", "pod", "-n", "shop", "postgres-0"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("MethodNotAllowed") || err.contains("read-only"),
        "{err}"
    );
    let out = s.kubectl(&["get", "pod", "-n", "shop", "no-such-pod"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("pods \"no-such-pod\" not found"), "{err}");
    // discovery knows the CRD's short name and the built-ins' scope.
    let out = s.kubectl_ok(&["api-resources", "--api-group=ops.example.com"]);
    assert!(
        out.contains("backups") && out.contains("bk") && out.contains("Backup"),
        "{out}"
    );
    let out = s.kubectl_ok(&["get", "ns", "-o", "name"]);
    assert_eq!(out.lines().count(), 4);
}

/// DNS rebinding and cross-site requests are refused (issue 25): the replay answers only
/// requests addressed to it on loopback, like `kubectl proxy`.
#[test]
fn foreign_hosts_and_origins_are_refused() {
    use std::io::{Read, Write};
    let dir = tempfile::tempdir().unwrap();
    let bundle = fixture_bundle(dir.path());
    let server = Server::start(&bundle, dir.path(), &[]);
    let authority = server.url.trim_start_matches("http://").to_string();
    let get = |host: &str, origin: Option<&str>| -> String {
        let mut s = std::net::TcpStream::connect(&authority).unwrap();
        let origin = origin
            .map(|o| format!("Origin: {o}\r\n"))
            .unwrap_or_default();
        write!(
            s,
            "GET /api/v1/namespaces HTTP/1.1\r\nHost: {host}\r\n{origin}Connection: close\r\n\r\n"
        )
        .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    };
    let ok = get(&authority, None);
    assert!(ok.starts_with("HTTP/1.1 200"), "{ok}");
    let localhost = get(&authority.replace("127.0.0.1", "localhost"), None);
    assert!(localhost.starts_with("HTTP/1.1 200"), "{localhost}");
    let rebound = get("evil.example", None);
    assert!(rebound.starts_with("HTTP/1.1 403"), "{rebound}");
    assert!(
        rebound.contains("\"kind\":\"Status\"") && rebound.contains("DNS rebinding"),
        "{rebound}"
    );
    let cross_site = get(&authority, Some("http://evil.example"));
    assert!(cross_site.starts_with("HTTP/1.1 403"), "{cross_site}");
    let same_site = get(&authority, Some("http://localhost:3000"));
    assert!(same_site.starts_with("HTTP/1.1 200"), "{same_site}");
}
