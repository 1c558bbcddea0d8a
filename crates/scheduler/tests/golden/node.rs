//! NodeUnschedulable, NodeName, TaintToleration, NodeAffinity, NodePorts.

use serde_json::{Value, json};

use super::common::{node, node_with, pod, pod_with, running};
use super::{V131, expect};

fn tainted(name: &str, taints: Value) -> Value {
    node_with(name, "4", "8Gi", json!({"spec": {"taints": taints}}))
}

fn tolerating(tolerations: Value) -> Value {
    pod_with(
        "web",
        "100m",
        "128Mi",
        json!({"spec": {"tolerations": tolerations}}),
    )
}

#[test]
fn cordoned_nodes() {
    let cordoned = node_with("n1", "4", "8Gi", json!({"spec": {"unschedulable": true}}));
    expect(
        "cordoned",
        V131,
        vec![cordoned.clone()],
        pod("web", "100m", "128Mi"),
        Some(
            "0/1 nodes are available: 1 node(s) were unschedulable. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.",
        ),
    );
    // The near miss: a pod that tolerates the unschedulable taint goes there anyway.
    expect(
        "cordoned, tolerated",
        V131,
        vec![cordoned.clone()],
        tolerating(
            json!([{"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"}]),
        ),
        None,
    );
    // A cordoned node with an untolerated taint reports only the first plugin.
    let both = node_with(
        "n1",
        "4",
        "8Gi",
        json!({"spec": {"unschedulable": true, "taints": [{"key": "dedicated", "value": "user1", "effect": "NoSchedule"}]}}),
    );
    expect(
        "cordoned and tainted",
        V131,
        vec![both],
        pod("web", "100m", "128Mi"),
        Some(
            "0/1 nodes are available: 1 node(s) were unschedulable. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.",
        ),
    );
    // Two nodes: one cordoned, one fine.
    expect(
        "one of two cordoned",
        V131,
        vec![cordoned, node("n2", "4", "8Gi")],
        pod("web", "100m", "128Mi"),
        None,
    );
}

#[test]
fn node_name() {
    expect(
        "names another node",
        V131,
        vec![node("n1", "4", "8Gi")],
        pod_with("web", "100m", "128Mi", json!({"spec": {"nodeName": "n9"}})),
        Some(
            "0/1 nodes are available: 1 node(s) didn't match the requested node name. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.",
        ),
    );
    expect(
        "names this node",
        V131,
        vec![node("n1", "4", "8Gi")],
        pod_with("web", "100m", "128Mi", json!({"spec": {"nodeName": "n1"}})),
        None,
    );
}

/// `TestTaintTolerationFilter`: T1–T9.
#[test]
fn taints_and_tolerations() {
    let t = |key: &str, value: &str, effect: &str| json!({"key": key, "value": value, "effect": effect});
    // The first untolerated taint as the message names it, or None when the pod fits.
    let cases: Vec<(&str, Value, Value, Option<&str>)> = vec![
        (
            "T1 no toleration",
            json!([]),
            json!([t("dedicated", "user1", "NoSchedule")]),
            Some("{dedicated: user1}"),
        ),
        (
            "T2 equal",
            json!([{"key": "dedicated", "value": "user1", "effect": "NoSchedule"}]),
            json!([t("dedicated", "user1", "NoSchedule")]),
            None,
        ),
        (
            "T3 other value",
            json!([{"key": "dedicated", "operator": "Equal", "value": "user2", "effect": "NoSchedule"}]),
            json!([t("dedicated", "user1", "NoSchedule")]),
            Some("{dedicated: user1}"),
        ),
        (
            "T4 exists",
            json!([{"key": "foo", "operator": "Exists", "effect": "NoSchedule"}]),
            json!([t("foo", "bar", "NoSchedule")]),
            None,
        ),
        (
            "T5 both tolerated",
            json!([{"key": "dedicated", "operator": "Equal", "value": "user2", "effect": "NoSchedule"}, {"key": "foo", "operator": "Exists", "effect": "NoSchedule"}]),
            json!([
                t("dedicated", "user2", "NoSchedule"),
                t("foo", "bar", "NoSchedule")
            ]),
            None,
        ),
        (
            "T6 effect mismatch",
            json!([{"key": "foo", "operator": "Equal", "value": "bar", "effect": "PreferNoSchedule"}]),
            json!([t("foo", "bar", "NoSchedule")]),
            Some("{foo: bar}"),
        ),
        (
            "T7 empty effect",
            json!([{"key": "foo", "operator": "Equal", "value": "bar"}]),
            json!([t("foo", "bar", "NoSchedule")]),
            None,
        ),
        (
            "T8 prefer no schedule",
            json!([{"key": "dedicated", "operator": "Equal", "value": "user2", "effect": "NoSchedule"}]),
            json!([t("dedicated", "user1", "PreferNoSchedule")]),
            None,
        ),
        (
            "T9 prefer, no toleration",
            json!([]),
            json!([t("dedicated", "user1", "PreferNoSchedule")]),
            None,
        ),
        (
            "empty key exists tolerates all",
            json!([{"operator": "Exists"}]),
            json!([t("a", "b", "NoExecute"), t("c", "", "NoSchedule")]),
            None,
        ),
        (
            "NoExecute filters too",
            json!([]),
            json!([t("dedicated", "user1", "NoExecute")]),
            Some("{dedicated: user1}"),
        ),
        (
            "Exists with other key",
            json!([{"key": "other", "operator": "Exists"}]),
            json!([t("dedicated", "user1", "NoSchedule")]),
            Some("{dedicated: user1}"),
        ),
        (
            "unknown operator",
            json!([{"key": "dedicated", "operator": "Gt", "value": "user1"}]),
            json!([t("dedicated", "user1", "NoSchedule")]),
            Some("{dedicated: user1}"),
        ),
    ];
    for (name, tolerations, taints, taint) in cases {
        let want = taint.map(|t| {
            format!("0/1 nodes are available: 1 node(s) had untolerated taint {t}. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.")
        });
        expect(
            name,
            V131,
            vec![tainted("n1", taints)],
            tolerating(tolerations),
            want.as_deref(),
        );
    }
}

#[test]
fn the_first_untolerated_taint_is_named_and_counted_per_taint() {
    let nodes = vec![
        tainted(
            "a",
            json!([{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}]),
        ),
        tainted(
            "b",
            json!([{"key": "gpu", "value": "true", "effect": "NoSchedule"}, {"key": "spot", "value": "true", "effect": "NoSchedule"}]),
        ),
        tainted(
            "c",
            json!([{"key": "gpu", "value": "true", "effect": "NoSchedule"}]),
        ),
    ];
    expect(
        "three taints, 1.31",
        V131,
        nodes.clone(),
        pod("web", "100m", "128Mi"),
        Some(
            "0/3 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, 2 node(s) had untolerated taint {gpu: true}. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.",
        ),
    );
    // The spot taint is second on b: tolerating gpu moves b's reason to spot.
    expect(
        "second taint on b",
        V131,
        nodes.clone(),
        tolerating(json!([{"key": "gpu", "operator": "Exists"}])),
        None,
    );
    expect(
        "three taints, 1.35",
        "v1.35.0",
        nodes.clone(),
        pod("web", "100m", "128Mi"),
        Some(
            "0/3 nodes are available: 3 node(s) had untolerated taint(s). preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.",
        ),
    );
    expect(
        "three taints, 1.34.1 still names them",
        "v1.34.1",
        nodes.clone(),
        pod("web", "100m", "128Mi"),
        Some(
            "0/3 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, 2 node(s) had untolerated taint {gpu: true}. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.",
        ),
    );
    expect(
        "three taints, 1.34.2 does not",
        "v1.34.2",
        nodes.clone(),
        pod("web", "100m", "128Mi"),
        Some(
            "0/3 nodes are available: 3 node(s) had untolerated taint(s). preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.",
        ),
    );
    expect(
        "three taints, 1.24",
        "v1.24.17",
        nodes,
        pod("web", "100m", "128Mi"),
        Some(
            "0/3 nodes are available: 1 node(s) had taint {node-role.kubernetes.io/control-plane: }, that the pod didn't tolerate, 2 node(s) had taint {gpu: true}, that the pod didn't tolerate. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.",
        ),
    );
}

fn labelled(name: &str, labels: Value) -> Value {
    node_with(name, "4", "8Gi", json!({"metadata": {"labels": labels}}))
}

fn required(terms: Value) -> Value {
    json!({"spec": {"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": terms}}}}})
}

const AFFINITY: &str = "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.";

/// `TestNodeAffinity`: A1–A11.
#[test]
fn node_selector_and_affinity() {
    let with = |patch: Value| pod_with("web", "100m", "128Mi", patch);
    let expr =
        |key: &str, op: &str, values: Value| json!({"key": key, "operator": op, "values": values});
    let cases: Vec<(&str, Value, Value, bool)> = vec![
        (
            "A1 selector, no labels",
            json!({"spec": {"nodeSelector": {"foo": "bar"}}}),
            json!({}),
            false,
        ),
        (
            "A2 selector, superset",
            json!({"spec": {"nodeSelector": {"foo": "bar"}}}),
            json!({"foo": "bar", "baz": "blah"}),
            true,
        ),
        (
            "A3 selector, subset",
            json!({"spec": {"nodeSelector": {"foo": "bar", "baz": "blah"}}}),
            json!({"foo": "bar"}),
            false,
        ),
        (
            "A4 In misses",
            required(
                json!([{"matchExpressions": [expr("foo", "In", json!(["value1", "value2"]))]}]),
            ),
            json!({"foo": "bar"}),
            false,
        ),
        (
            "A5 Gt",
            required(
                json!([{"matchExpressions": [expr("kernel-version", "Gt", json!(["0204"]))]}]),
            ),
            json!({"kernel-version": "0206"}),
            true,
        ),
        (
            "A5b Gt fails",
            required(
                json!([{"matchExpressions": [expr("kernel-version", "Gt", json!(["0206"]))]}]),
            ),
            json!({"kernel-version": "0204"}),
            false,
        ),
        (
            "A5c Lt",
            required(
                json!([{"matchExpressions": [expr("kernel-version", "Lt", json!(["0206"]))]}]),
            ),
            json!({"kernel-version": "0204"}),
            true,
        ),
        (
            "A5d Gt not a number",
            required(json!([{"matchExpressions": [expr("kernel-version", "Gt", json!(["x"]))]}])),
            json!({"kernel-version": "0204"}),
            false,
        ),
        (
            "A6 empty term",
            required(json!([{"matchExpressions": []}])),
            json!({"foo": "bar"}),
            false,
        ),
        (
            "A8 Exists and In",
            required(
                json!([{"matchExpressions": [expr("GPU", "Exists", json!(null)), expr("GPU", "In", json!(["AMD", "INTER"]))]}]),
            ),
            json!({"GPU": "NVIDIA-GRID-K1"}),
            false,
        ),
        (
            "A9 terms are ORed",
            required(
                json!([{"matchExpressions": [expr("foo", "In", json!(["bar", "value2"]))]}, {"matchExpressions": [expr("diffkey", "In", json!(["wrong", "value2"]))]}]),
            ),
            json!({"foo": "bar"}),
            true,
        ),
        (
            "A10 selector ANDed with affinity",
            {
                let mut p =
                    required(json!([{"matchExpressions": [expr("foo", "Exists", json!(null))]}]));
                super::common::merge(&mut p, json!({"spec": {"nodeSelector": {"foo": "bar"}}}));
                p
            },
            json!({"foo": "barrrrrr"}),
            false,
        ),
        (
            "A11 invalid value",
            required(
                json!([{"matchExpressions": [expr("foo", "NotIn", json!(["invalid value: ___@#$%^"]))]}]),
            ),
            json!({"foo": "bar"}),
            false,
        ),
        (
            "NotIn, key absent",
            required(json!([{"matchExpressions": [expr("zone", "NotIn", json!(["a"]))]}])),
            json!({"foo": "bar"}),
            true,
        ),
        (
            "DoesNotExist",
            required(json!([{"matchExpressions": [expr("spot", "DoesNotExist", json!(null))]}])),
            json!({"spot": "true"}),
            false,
        ),
        (
            "In hits",
            required(json!([{"matchExpressions": [expr("zone", "In", json!(["a", "b"]))]}])),
            json!({"zone": "b"}),
            true,
        ),
    ];
    for (name, patch, labels, fits) in cases {
        expect(
            name,
            V131,
            vec![labelled("n1", labels)],
            with(patch),
            (!fits).then_some(AFFINITY),
        );
    }
}

#[test]
fn match_fields_restrict_the_nodes_filtered() {
    let by_name = |names: Value| {
        pod_with(
            "web",
            "100m",
            "128Mi",
            required(
                json!([{"matchFields": [{"key": "metadata.name", "operator": "In", "values": names}]}]),
            ),
        )
    };
    let nodes = vec![
        node("n1", "4", "8Gi"),
        node("n2", "4", "8Gi"),
        node("n3", "4", "8Gi"),
    ];
    expect(
        "A12 names n2",
        V131,
        nodes.clone(),
        by_name(json!(["n2"])),
        None,
    );
    expect(
        "names a node that does not exist",
        V131,
        nodes.clone(),
        by_name(json!(["n9"])),
        Some(
            "0/3 nodes are available: 3 node(s) didn't satisfy plugin(s) [NodeAffinity]. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.",
        ),
    );
    // The named node is full: it reports its own reason, the others the PreFilter's.
    let full = vec![
        node("n1", "4", "8Gi"),
        node("n2", "100m", "8Gi"),
        node("n3", "4", "8Gi"),
    ];
    expect(
        "names a full node",
        V131,
        full,
        pod_with(
            "web",
            "1",
            "128Mi",
            required(
                json!([{"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n2"]}]}]),
            ),
        ),
        Some(
            "0/3 nodes are available: 1 Insufficient cpu, 2 node(s) didn't satisfy plugin(s) [NodeAffinity]. preemption: 0/3 nodes are available: 1 No preemption victims found for incoming pod, 2 Preemption is not helpful for scheduling.",
        ),
    );
    expect(
        "terms that conflict",
        V131,
        nodes,
        pod_with(
            "web",
            "100m",
            "128Mi",
            required(json!([{"matchFields": [
                {"key": "metadata.name", "operator": "In", "values": ["n1"]},
                {"key": "metadata.name", "operator": "In", "values": ["n2"]}
            ]}])),
        ),
        Some(
            "0/3 nodes are available: pod affinity terms conflict. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.",
        ),
    );
}

#[test]
fn host_ports() {
    let with_port = |name: &str, port: i64, ip: Option<&str>, protocol: Option<&str>| {
        let mut p = json!({"containerPort": 8080, "hostPort": port});
        if let Some(ip) = ip {
            p["hostIP"] = json!(ip);
        }
        if let Some(proto) = protocol {
            p["protocol"] = json!(proto);
        }
        json!({"spec": {"containers": [{"name": name, "image": "x", "ports": [p]}]}})
    };
    let holder = |patch: Value| {
        let mut p = running("agent", "", "", "n1");
        super::common::merge(&mut p, patch);
        p
    };
    const PORTS: &str = "0/1 nodes are available: 1 node(s) didn't have free ports for the requested pod ports. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.";
    let cases: Vec<(&str, Value, Value, bool)> = vec![
        (
            "same port",
            with_port("a", 8080, None, None),
            with_port("b", 8080, None, None),
            false,
        ),
        (
            "other port",
            with_port("a", 8080, None, None),
            with_port("b", 8081, None, None),
            true,
        ),
        (
            "other protocol",
            with_port("a", 8080, None, Some("UDP")),
            with_port("b", 8080, None, None),
            true,
        ),
        (
            "specific IPs differ",
            with_port("a", 8080, Some("10.0.0.1"), None),
            with_port("b", 8080, Some("10.0.0.2"), None),
            true,
        ),
        (
            "wildcard meets specific",
            with_port("a", 8080, None, None),
            with_port("b", 8080, Some("10.0.0.2"), None),
            false,
        ),
        (
            "specific meets wildcard",
            with_port("a", 8080, Some("10.0.0.1"), None),
            with_port("b", 8080, None, None),
            false,
        ),
    ];
    for (name, existing, incoming, fits) in cases {
        let mut p = pod("web", "", "");
        super::common::merge(&mut p, incoming);
        expect(
            name,
            V131,
            vec![node("n1", "4", "8Gi"), holder(existing)],
            p,
            (!fits).then_some(PORTS),
        );
    }
}
