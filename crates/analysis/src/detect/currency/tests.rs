//! Current or resolved, on hand-written clusters: each rule with its near miss.

use serde_json::{Value, json};

use super::super::{Ctx, Hit, detect_all};
use crate::report::Severity;
use intel_engine::Relations;

const NOW: &str = "2026-11-24T14:00:00Z";

/// `minutes` before capture, RFC 3339.
fn ago(minutes: i64) -> String {
    let t: jiff::Timestamp = NOW.parse().unwrap();
    t.checked_sub(jiff::SignedDuration::from_mins(minutes))
        .unwrap()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

fn deployment(name: &str, desired: i64, ready: i64) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": "prod", "uid": format!("d-{name}"),
                     "generation": 2, "creationTimestamp": ago(60 * 24 * 10)},
        "spec": {"replicas": desired, "selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": {"app": name}},
                              "spec": {"containers": [{"name": name, "image": "registry.example/x:1"}]}}},
        "status": {"observedGeneration": 2, "replicas": desired, "readyReplicas": ready,
                   "availableReplicas": ready, "updatedReplicas": desired,
                   "unavailableReplicas": desired - ready}})
}

fn replicaset(name: &str, owner: &str) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {"name": name, "namespace": "prod", "uid": format!("rs-{name}"),
                     "creationTimestamp": ago(60 * 24 * 10),
                     "annotations": {"deployment.kubernetes.io/revision": "3"},
                     "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment",
                         "name": owner, "uid": format!("d-{owner}"), "controller": true}]},
        "spec": {"replicas": 3, "selector": {"matchLabels": {"app": owner}},
                 "template": {"metadata": {"labels": {"app": owner}},
                              "spec": {"containers": [{"name": owner, "image": "registry.example/x:1"}]}}}})
}

fn pod(name: &str, rs: &str, app: &str, ready_since: Option<i64>, node: &str) -> Value {
    let ready = ready_since.is_some();
    json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "prod", "uid": format!("p-{name}"),
                     "labels": {"app": app}, "creationTimestamp": ago(60 * 24),
                     "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                         "name": rs, "uid": format!("rs-{rs}"), "controller": true}]},
        "spec": {"nodeName": node, "containers": [{"name": app, "image": "registry.example/x:1"}]},
        "status": {"phase": "Running",
            "conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" },
                            "lastTransitionTime": ago(ready_since.unwrap_or(5))}],
            "containerStatuses": [{"name": app, "ready": ready, "restartCount": 0,
                "state": {"running": {"startedAt": ago(60 * 24)}}}]}})
}

fn evicted_pod(name: &str, rs: &str, app: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "prod", "uid": format!("p-{name}"),
                     "labels": {"app": app}, "creationTimestamp": ago(60 * 30),
                     "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                         "name": rs, "uid": format!("rs-{rs}"), "controller": true}]},
        "spec": {"nodeName": "node-a", "containers": [{"name": app, "image": "registry.example/x:1"}]},
        "status": {"phase": "Failed", "reason": "Evicted",
            "message": format!("The node was low on resource: memory. Threshold quantity: 100Mi, available: 91564Ki. Container {app} was using 412Mi, request is 256Mi, has larger consumption of memory.")}})
}

#[allow(clippy::too_many_arguments)] // an Event's fields, named at each call
fn event(
    name: &str,
    kind: &str,
    obj: &str,
    ns: &str,
    reason: &str,
    msg: &str,
    first: i64,
    last: i64,
    count: i64,
) -> Value {
    json!({"apiVersion": "v1", "kind": "Event",
        "metadata": {"name": name, "namespace": if ns.is_empty() { "default" } else { ns }},
        "involvedObject": {"kind": kind, "namespace": ns, "name": obj},
        "type": "Warning", "reason": reason, "message": msg, "count": count,
        "firstTimestamp": ago(first), "lastTimestamp": ago(last)})
}

fn node(name: &str, disk_pressure: bool, since: i64) -> Value {
    json!({"apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "uid": format!("n-{name}"), "creationTimestamp": ago(60 * 24 * 30)},
        "status": {"conditions": [
            {"type": "DiskPressure", "status": if disk_pressure { "True" } else { "False" },
             "lastTransitionTime": ago(since)},
            {"type": "Ready", "status": "True", "lastTransitionTime": ago(60 * 24 * 30)}]}})
}

fn service_account(name: &str, created: i64) -> Value {
    json!({"apiVersion": "v1", "kind": "ServiceAccount",
        "metadata": {"name": name, "namespace": "prod", "uid": format!("sa-{name}"),
                     "creationTimestamp": ago(created)}})
}

fn hits(objects: Vec<Value>) -> Vec<Hit> {
    let snap = intel_fixture::snapshot_of(NOW, objects);
    let rel = Relations::build(&snap);
    let ctx = Ctx::new(&snap, &rel, vec![], None);
    detect_all(&ctx).hits
}

fn find<'a>(hits: &'a [Hit], kind: &str, name: &str) -> &'a Hit {
    hits.iter()
        .find(|h| h.kind == kind && h.subject.name == name)
        .unwrap_or_else(|| panic!("no {kind} on {name} in {hits:#?}"))
}

fn healthy_web() -> Vec<Value> {
    vec![
        deployment("web", 2, 2),
        replicaset("web-5d8f7c9b4", "web"),
        pod(
            "web-5d8f7c9b4-a",
            "web-5d8f7c9b4",
            "web",
            Some(45),
            "node-a",
        ),
        pod(
            "web-5d8f7c9b4-b",
            "web-5d8f7c9b4",
            "web",
            Some(40),
            "node-b",
        ),
    ]
}

const SA_MISSING: &str = "Error creating: pods \"web-5d8f7c9b4-\" is forbidden: error looking up service account prod/web: serviceaccount \"web\" not found";

#[test]
fn a_failed_create_burst_before_all_replicas_became_ready_is_history() {
    let mut objects = healthy_web();
    objects.push(event(
        "e1",
        "ReplicaSet",
        "web-5d8f7c9b4",
        "prod",
        "FailedCreate",
        SA_MISSING,
        62,
        58,
        14,
    ));
    let hits = hits(objects);
    let h = find(&hits, "FailedCreate", "web");
    assert_eq!(h.severity, Severity::Info);
    let r = h.resolved.as_ref().unwrap();
    assert_eq!(r.was, Severity::Critical);
    assert!(r.why.contains("has all 2 replicas ready"), "{}", r.why);
}

#[test]
fn a_failed_create_while_replicas_are_missing_is_current() {
    let mut objects = vec![deployment("web", 2, 0), replicaset("web-5d8f7c9b4", "web")];
    objects.push(event(
        "e1",
        "ReplicaSet",
        "web-5d8f7c9b4",
        "prod",
        "FailedCreate",
        SA_MISSING,
        62,
        1,
        40,
    ));
    let hits = hits(objects);
    let h = find(&hits, "FailedCreate", "web");
    assert_eq!(h.severity, Severity::Critical);
    assert!(h.resolved.is_none());
}

#[test]
fn a_creation_error_naming_an_object_that_exists_now_is_over() {
    let mut objects = vec![deployment("web", 2, 0), replicaset("web-5d8f7c9b4", "web")];
    objects.push(event(
        "e1",
        "ReplicaSet",
        "web-5d8f7c9b4",
        "prod",
        "FailedCreate",
        SA_MISSING,
        12,
        3,
        9,
    ));
    objects.push(service_account("web", 2));
    let hits = hits(objects);
    let h = find(&hits, "FailedCreate", "web");
    assert_eq!(h.severity, Severity::Info, "{h:#?}");
    assert!(
        h.resolved
            .as_ref()
            .unwrap()
            .why
            .contains("ServiceAccount web exists now")
    );
}

#[test]
fn an_object_that_existed_before_the_failures_continued_does_not_resolve_them() {
    // The ServiceAccount exists, but the controller kept failing long after it was
    // created: the message is about something else than its absence now.
    let mut objects = vec![deployment("web", 2, 0), replicaset("web-5d8f7c9b4", "web")];
    objects.push(event(
        "e1",
        "ReplicaSet",
        "web-5d8f7c9b4",
        "prod",
        "FailedCreate",
        SA_MISSING,
        30,
        1,
        30,
    ));
    objects.push(service_account("web", 25));
    let hits = hits(objects);
    assert_eq!(
        find(&hits, "FailedCreate", "web").severity,
        Severity::Critical
    );
}

#[test]
fn an_evicted_pod_replaced_by_a_ready_one_is_history_but_not_while_replicas_are_missing() {
    let mut objects = healthy_web();
    objects.push(evicted_pod("web-5d8f7c9b4-old", "web-5d8f7c9b4", "web"));
    let h = hits(objects);
    assert_eq!(find(&h, "Evicted", "web").severity, Severity::Info);

    let mut objects = vec![
        deployment("web", 2, 1),
        replicaset("web-5d8f7c9b4", "web"),
        pod(
            "web-5d8f7c9b4-a",
            "web-5d8f7c9b4",
            "web",
            Some(45),
            "node-a",
        ),
        evicted_pod("web-5d8f7c9b4-old", "web-5d8f7c9b4", "web"),
    ];
    objects.push(deployment("other", 1, 1));
    let h = hits(objects);
    assert_eq!(find(&h, "Evicted", "web").severity, Severity::Warning);
}

#[test]
fn probe_failures_after_the_pod_became_ready_are_current() {
    let msg =
        "Liveness probe failed: Get \"http://10.1.2.3:8080/healthz\": context deadline exceeded";
    let mut objects = healthy_web();
    objects.push(event(
        "e1",
        "Pod",
        "web-5d8f7c9b4-a",
        "prod",
        "Unhealthy",
        msg,
        30,
        1,
        12,
    ));
    let h = hits(objects);
    assert_eq!(
        find(&h, "LivenessProbeFailing", "web").severity,
        Severity::Warning
    );

    // The same failures, all before the last replica became ready: history.
    let mut objects = healthy_web();
    objects.push(event(
        "e1",
        "Pod",
        "web-5d8f7c9b4-zq7xk",
        "prod",
        "Unhealthy",
        msg,
        90,
        50,
        12,
    ));
    let h = hits(objects);
    let f = find(&h, "LivenessProbeFailing", "web");
    assert_eq!(f.severity, Severity::Info, "{f:#?}");
}

#[test]
fn log_failures_are_quiet_only_if_their_own_container_logged_on() {
    use super::super::logs::{LogStats, WorkloadLogs};
    let w = intel_engine::ObjectRef::new("Deployment", "prod", "refunds");
    let t0 = 1_000_000;
    let h = Hit::new(w.clone(), "ConnectionErrors", Severity::Critical, 0.3)
        .msg("refunds: 40 log lines with connections refused")
        .since(Some(t0))
        .until(Some(t0 + 600))
        .ev(
            "log",
            "logs/prod/refunds-5d8f7c9b4-x7k2p/refunds.log",
            "connection refused",
            Some(t0),
        );
    let stats = |app_last: i64| {
        let mut wl = WorkloadLogs {
            last: Some(t0 + 7200),
            ..Default::default()
        };
        wl.container_last.insert("refunds".into(), app_last);
        wl.container_last.insert("istio-proxy".into(), t0 + 7200);
        let mut s = LogStats::default();
        s.workloads.insert(w.clone(), wl);
        s
    };
    // The app stopped logging with its last error; only the sidecar went on.
    assert!(super::quiet_since(&h, &stats(t0 + 600)).is_none());
    // The app went on logging for two hours without the error.
    let r = super::quiet_since(&h, &stats(t0 + 7200)).unwrap();
    assert!(r.why.contains("kept logging"), "{}", r.why);
}

#[test]
fn a_node_pressure_that_cleared_is_history_and_one_that_holds_is_not() {
    let msg = "Attempting to reclaim ephemeral-storage";
    let objects = vec![
        node("node-a", false, 100),
        event(
            "e1",
            "Node",
            "node-a",
            "",
            "EvictionThresholdMet",
            msg,
            130,
            110,
            3,
        ),
    ];
    let h = hits(objects);
    let f = find(&h, "NodeDiskPressure", "node-a");
    assert_eq!(f.severity, Severity::Info);
    assert!(
        f.resolved
            .as_ref()
            .unwrap()
            .why
            .contains("DiskPressure=False")
    );

    let objects = vec![
        node("node-a", true, 12),
        event(
            "e1",
            "Node",
            "node-a",
            "",
            "EvictionThresholdMet",
            msg,
            13,
            2,
            3,
        ),
    ];
    let h = hits(objects);
    assert_eq!(
        find(&h, "NodeDiskPressure", "node-a").severity,
        Severity::Critical
    );
}

/// A running, ready pod whose container restarted `restarts` times, the last one
/// `last_restart` minutes ago, the pod created `age` minutes ago.
fn restarted_pod(restarts: i64, last_restart: i64, age: i64) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "web-5d8f7c9b4-x7k2p", "namespace": "prod", "uid": "p-r",
                     "labels": {"app": "web"}, "creationTimestamp": ago(age),
                     "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                         "name": "web-5d8f7c9b4", "uid": "rs-web-5d8f7c9b4", "controller": true}]},
        "spec": {"nodeName": "node-a", "containers": [{"name": "web", "image": "registry.example/x:1"}]},
        "status": {"phase": "Running",
            "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": ago(last_restart - 1)}],
            "containerStatuses": [{"name": "web", "ready": true, "restartCount": restarts,
                "state": {"running": {"startedAt": ago(last_restart)}},
                "lastState": {"terminated": {"reason": "Error", "exitCode": 1,
                    "startedAt": ago(last_restart + 2), "finishedAt": ago(last_restart)}}}]}})
}

#[test]
fn restarts_long_settled_are_history_and_recurring_ones_are_not() {
    // Four restarts while the cluster came up three days ago; running, ready since.
    let h = hits(vec![
        deployment("web", 1, 1),
        replicaset("web-5d8f7c9b4", "web"),
        restarted_pod(4, 60 * 72 - 10, 60 * 72),
    ]);
    let f = find(&h, "Restarts", "web");
    assert_eq!(f.severity, Severity::Info, "{f:#?}");
    assert!(f.resolved.as_ref().unwrap().why.contains("since"));

    // Six restarts over three hours, the last 20 minutes ago: it keeps failing.
    let h = hits(vec![
        deployment("web", 1, 1),
        replicaset("web-5d8f7c9b4", "web"),
        restarted_pod(6, 20, 180),
    ]);
    assert_eq!(find(&h, "Restarts", "web").severity, Severity::Warning);
}
