//! NodeResourcesFit: `fit_test.go`'s cases (R1–R12, P1–P2, S1–S2) on its node: 10m cpu,
//! 20 bytes of memory, 32 pods, 5 `example.com/aaa`, 20 bytes of ephemeral storage,
//! 5 `hugepages-2Mi`.

use serde_json::{Value, json};

use super::common::{merge, node_with, pod_with};
use super::expect;

fn small(pods: &str) -> Value {
    node_with(
        "n1",
        "10m",
        "20",
        json!({"status": {"allocatable": {"pods": pods, "example.com/aaa": "5", "ephemeral-storage": "20", "hugepages-2Mi": "5"}}}),
    )
}

fn requests(r: Value) -> Value {
    json!({"name": "c", "image": "x", "resources": {"requests": r}})
}

/// A pod with these containers and init containers.
fn with(containers: Vec<Value>, init: Vec<Value>, extra: Value) -> Value {
    let mut p = pod_with(
        "web",
        "",
        "",
        json!({"spec": {"containers": containers, "initContainers": init}}),
    );
    merge(&mut p, extra);
    p
}

fn existing(cpu: &str, mem: &str) -> Value {
    let mut p = pod_with(
        "old",
        "",
        "",
        json!({"spec": {"nodeName": "n1", "containers": [requests(json!({"cpu": cpu, "memory": mem}))]}, "status": {"phase": "Running"}}),
    );
    p["metadata"]["name"] = json!("old");
    p
}

fn msg(reasons: &str, preemption: &str) -> String {
    format!(
        "0/1 nodes are available: {reasons}. preemption: 0/1 nodes are available: {preemption}."
    )
}

/// (name, objects beside the node, containers, patch, expected message).
type Case = (&'static str, Vec<Value>, Vec<Value>, Value, Option<String>);

const VICTIMLESS: &str = "1 No preemption victims found for incoming pod";
const HOPELESS: &str = "1 Preemption is not helpful for scheduling";

#[test]
fn requests_against_what_is_left() {
    let c = |cpu: &str, mem: &str| requests(json!({"cpu": cpu, "memory": mem}));
    let cases: Vec<Case> = vec![
        (
            "R1 no requests always fits",
            vec![],
            vec![],
            json!({"spec": {"containers": [{"name": "c", "image": "x"}]}}),
            None,
        ),
        (
            "R2 cpu and memory",
            vec![existing("10m", "20")],
            vec![c("1m", "1")],
            json!({}),
            Some(msg("1 Insufficient cpu, 1 Insufficient memory", VICTIMLESS)),
        ),
        (
            "R3 an init container counts",
            vec![existing("8m", "19")],
            vec![c("1m", "1")],
            json!({"spec": {"initContainers": [c("3m", "1")]}}),
            Some(msg("1 Insufficient cpu", VICTIMLESS)),
        ),
        (
            "R4 the largest init container",
            vec![existing("9m", "19")],
            vec![c("1m", "1")],
            json!({"spec": {"initContainers": [c("1m", "3"), c("1m", "2")]}}),
            Some(msg("1 Insufficient memory", VICTIMLESS)),
        ),
        (
            "R5 init containers are not summed",
            vec![existing("9m", "19")],
            vec![c("1m", "1")],
            json!({"spec": {"initContainers": [c("1m", "1"), c("1m", "1")]}}),
            None,
        ),
        (
            "R6 exactly what is left",
            vec![existing("5m", "19")],
            vec![c("5m", "1")],
            json!({}),
            None,
        ),
        (
            "R9 overhead fits",
            vec![existing("5m", "5")],
            vec![c("1m", "1")],
            json!({"spec": {"overhead": {"cpu": "3m", "memory": "13"}}}),
            None,
        ),
        (
            "R10 overhead does not",
            vec![existing("5m", "5")],
            vec![c("1m", "1")],
            json!({"spec": {"overhead": {"cpu": "1m", "memory": "15"}}}),
            Some(msg("1 Insufficient memory", VICTIMLESS)),
        ),
    ];
    for (name, objects, containers, extra, want) in cases {
        let mut objects = objects;
        objects.insert(0, small("32"));
        let incoming = if containers.is_empty() {
            let mut p = with(vec![], vec![], json!({}));
            merge(&mut p, extra);
            p
        } else {
            with(containers, vec![], extra)
        };
        expect(name, super::V131, objects, incoming, want.as_deref());
    }
}

#[test]
fn extended_resources_and_storage() {
    let c = |r: Value| requests(r);
    let cases: Vec<(&str, &str, Value, Option<String>)> = vec![
        (
            "R7 unknown extended resource, 1.31",
            "v1.31.4",
            json!({"cpu": "1m", "memory": "1", "example.com/bbb": "1"}),
            Some(msg("1 Insufficient example.com/bbb", VICTIMLESS)),
        ),
        (
            "R7 unknown extended resource, 1.34",
            "v1.34.0",
            json!({"cpu": "1m", "memory": "1", "example.com/bbb": "1"}),
            Some(msg("1 Insufficient example.com/bbb", HOPELESS)),
        ),
        (
            "extended resource fits",
            "v1.31.4",
            json!({"cpu": "1m", "memory": "1", "example.com/aaa": "5"}),
            None,
        ),
        (
            "extended resource above allocatable, 1.31",
            "v1.31.4",
            json!({"example.com/aaa": "6"}),
            Some(msg("1 Insufficient example.com/aaa", VICTIMLESS)),
        ),
        (
            "R8 hugepages, 1.34",
            "v1.34.0",
            json!({"cpu": "1m", "memory": "1", "hugepages-2Mi": "10"}),
            Some(msg("1 Insufficient hugepages-2Mi", HOPELESS)),
        ),
        (
            "R12 ephemeral storage, 1.34",
            "v1.34.0",
            json!({"ephemeral-storage": "25"}),
            Some(msg("1 Insufficient ephemeral-storage", HOPELESS)),
        ),
        (
            "ephemeral storage, 1.31",
            "v1.31.4",
            json!({"ephemeral-storage": "25"}),
            Some(msg("1 Insufficient ephemeral-storage", VICTIMLESS)),
        ),
        (
            "ephemeral storage fits",
            "v1.31.4",
            json!({"ephemeral-storage": "20"}),
            None,
        ),
        (
            "a resource nobody schedules on is ignored",
            "v1.31.4",
            json!({"storage": "1Ti"}),
            None,
        ),
    ];
    for (name, version, r, want) in cases {
        expect(
            name,
            version,
            vec![small("32")],
            with(vec![c(r)], vec![], json!({})),
            want.as_deref(),
        );
    }
}

#[test]
fn the_pod_count() {
    let c = |cpu: &str, mem: &str| requests(json!({"cpu": cpu, "memory": mem}));
    expect(
        "P1 no requests, no room",
        super::V131,
        vec![small("1"), existing("0", "0")],
        with(vec![json!({"name": "c", "image": "x"})], vec![], json!({})),
        Some(&msg("1 Too many pods", VICTIMLESS)),
    );
    expect(
        "P2 fits exactly, no room",
        super::V131,
        vec![small("1"), existing("5m", "19")],
        with(vec![c("5m", "1")], vec![], json!({})),
        Some(&msg("1 Too many pods", VICTIMLESS)),
    );
    expect(
        "too many pods and cpu, in that order",
        super::V131,
        vec![small("1"), existing("10m", "1")],
        with(vec![c("5m", "1")], vec![], json!({})),
        Some(&msg("1 Insufficient cpu, 1 Too many pods", VICTIMLESS)),
    );
    expect(
        "no pods allocatable at all",
        super::V131,
        vec![node_with(
            "n1",
            "4",
            "8Gi",
            json!({"status": {"allocatable": {"pods": "0"}}}),
        )],
        with(vec![c("5m", "1")], vec![], json!({})),
        Some(&msg("1 Too many pods", VICTIMLESS)),
    );
}

#[test]
fn sidecars_and_pod_level_resources() {
    let two_cpu = node_with("n1", "2m", "1Gi", json!({}));
    let sidecar = |cpu: &str| json!({"name": "proxy", "image": "x", "restartPolicy": "Always", "resources": {"requests": {"cpu": cpu}}});
    let main = requests(json!({"cpu": "1m"}));
    expect(
        "S1 a sidecar adds to the containers, 1.34",
        "v1.34.0",
        vec![two_cpu.clone()],
        with(vec![main.clone()], vec![sidecar("2m")], json!({})),
        Some(&msg("1 Insufficient cpu", HOPELESS)),
    );
    expect(
        "S2 a small sidecar fits",
        "v1.34.0",
        vec![two_cpu.clone()],
        with(vec![main.clone()], vec![sidecar("1m")], json!({})),
        None,
    );
    // An init container after a sidecar runs beside it: 1m + 2m > 2m.
    expect(
        "init after a sidecar",
        super::V131,
        vec![two_cpu.clone()],
        with(
            vec![requests(json!({"cpu": "0"}))],
            vec![sidecar("1m"), requests(json!({"cpu": "2m"}))],
            json!({}),
        ),
        Some(&msg("1 Insufficient cpu", VICTIMLESS)),
    );
    // The near miss: the same init container before the sidecar runs alone.
    expect(
        "init before a sidecar",
        super::V131,
        vec![two_cpu.clone()],
        with(
            vec![requests(json!({"cpu": "0"}))],
            vec![requests(json!({"cpu": "2m"})), sidecar("1m")],
            json!({}),
        ),
        None,
    );
    // Pod-level requests replace the containers' cpu and memory.
    expect(
        "pod-level requests win",
        super::V131,
        vec![two_cpu.clone()],
        with(
            vec![requests(json!({"cpu": "5m"}))],
            vec![],
            json!({"spec": {"resources": {"requests": {"cpu": "1m"}}}}),
        ),
        None,
    );
    expect(
        "pod-level requests too big",
        super::V131,
        vec![two_cpu],
        with(
            vec![requests(json!({"cpu": "1m"}))],
            vec![],
            json!({"spec": {"resources": {"requests": {"cpu": "3m"}}}}),
        ),
        Some(&msg("1 Insufficient cpu", VICTIMLESS)),
    );
}

#[test]
fn terminal_and_orphaned_pods_take_nothing() {
    let node = node_with("n1", "1", "1Gi", json!({}));
    let big = |name: &str, patch: Value| {
        let mut p = pod_with(name, "900m", "100Mi", json!({"spec": {"nodeName": "n1"}}));
        merge(&mut p, patch);
        p
    };
    let incoming = pod_with("web", "500m", "100Mi", json!({}));
    expect(
        "a succeeded pod",
        super::V131,
        vec![
            node.clone(),
            big("done", json!({"status": {"phase": "Succeeded"}})),
        ],
        incoming.clone(),
        None,
    );
    expect(
        "a failed pod",
        super::V131,
        vec![
            node.clone(),
            big("evicted", json!({"status": {"phase": "Failed"}})),
        ],
        incoming.clone(),
        None,
    );
    expect(
        "a running pod",
        super::V131,
        vec![
            node.clone(),
            big("busy", json!({"status": {"phase": "Running"}})),
        ],
        incoming.clone(),
        Some(&msg("1 Insufficient cpu", VICTIMLESS)),
    );
    expect(
        "a pod on a node that is gone",
        super::V131,
        vec![
            node,
            big(
                "ghost",
                json!({"spec": {"nodeName": "gone"}, "status": {"phase": "Running"}}),
            ),
        ],
        incoming,
        None,
    );
}
