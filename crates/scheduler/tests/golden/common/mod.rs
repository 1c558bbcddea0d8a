//! Small clusters for the golden cases: nodes and pods as the API returns them.
#![allow(dead_code)]

use serde_json::{Value, json};

use intel_scheduler::{Cluster, PodInfo, Verdict, simulate};

/// Merges `patch` into `base` (objects key by key, anything else replaced).
pub fn merge(base: &mut Value, patch: Value) {
    match (base, patch) {
        (Value::Object(b), Value::Object(p)) => {
            for (k, v) in p {
                merge(b.entry(k).or_insert(Value::Null), v);
            }
        }
        (b, p) => *b = p,
    }
}

/// A Ready node with `cpu` and `memory` allocatable and room for 110 pods.
pub fn node(name: &str, cpu: &str, memory: &str) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}},
        "spec": {},
        "status": {"allocatable": {"cpu": cpu, "memory": memory, "pods": "110", "ephemeral-storage": "100Gi"}}
    })
}

pub fn node_with(name: &str, cpu: &str, memory: &str, patch: Value) -> Value {
    let mut n = node(name, cpu, memory);
    merge(&mut n, patch);
    n
}

/// A pod in `shop` with one container requesting `cpu` and `memory` ("" for none).
pub fn pod(name: &str, cpu: &str, memory: &str) -> Value {
    let mut requests = serde_json::Map::new();
    if !cpu.is_empty() {
        requests.insert("cpu".into(), json!(cpu));
    }
    if !memory.is_empty() {
        requests.insert("memory".into(), json!(memory));
    }
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "shop", "labels": {"app": name}},
        "spec": {"containers": [{"name": "app", "image": "app:1", "resources": {"requests": requests}}]},
        "status": {"phase": "Pending"}
    })
}

pub fn pod_with(name: &str, cpu: &str, memory: &str, patch: Value) -> Value {
    let mut p = pod(name, cpu, memory);
    merge(&mut p, patch);
    p
}

/// A pod running on `node`.
pub fn running(name: &str, cpu: &str, memory: &str, node: &str) -> Value {
    pod_with(
        name,
        cpu,
        memory,
        json!({"spec": {"nodeName": node}, "status": {"phase": "Running"}}),
    )
}

/// The cluster of these objects at Kubernetes `version`.
pub fn cluster(version: &str, objects: Vec<Value>) -> Cluster {
    let mut snap = intel_fixture::snapshot_of("2026-11-24T14:00:00Z", objects);
    snap.manifest.cluster.kubernetes_version = Some(version.to_string());
    Cluster::from_snapshot(&snap)
}

/// Schedules `incoming` on a cluster of `objects`.
pub fn schedule(version: &str, objects: Vec<Value>, incoming: Value) -> Verdict {
    let c = cluster(version, objects);
    let pod: k8s_openapi::api::core::v1::Pod = serde_json::from_value(incoming).expect("pod");
    simulate(&c, &PodInfo::from_pod(&pod))
}
