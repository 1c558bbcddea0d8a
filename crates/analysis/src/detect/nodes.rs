//! Nodes: readiness, pressure conditions, cordons, saturation from metrics, and the pod
//! behind node pressure (the kubelet names the biggest consumer in its eviction message).

use std::collections::BTreeMap;

use serde::Deserialize;

use super::pods::Condition;
use super::{Ctx, Hit, parse_ts};
use crate::report::Severity;
use intel_engine::ObjectRef;
use intel_engine::relations::RelationKind;
use intel_model::quantity;

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct NodeLean {
    #[serde(default)]
    spec: NodeSpec,
    #[serde(default)]
    status: NodeStatus,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct NodeSpec {
    #[serde(default)]
    unschedulable: Option<bool>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct NodeStatus {
    #[serde(default)]
    conditions: Option<Vec<Condition>>,
    #[serde(default)]
    allocatable: Option<BTreeMap<String, String>>,
}

pub(super) fn detect(ctx: &Ctx, out: &mut Vec<Hit>) {
    for node in ctx.snap.nodes() {
        let Ok(n) = serde_json::from_str::<NodeLean>(node.json()) else {
            continue;
        };
        let nref = ObjectRef::of(node);
        let loc = |f: &str| format!("Node {} {f}", nref.name);
        for c in n.status.conditions.iter().flatten() {
            let since = c.last_transition_time.as_deref().and_then(parse_ts);
            let text = format!(
                "{}={} reason={} {}",
                c.kind,
                c.status,
                c.reason.as_deref().unwrap_or(""),
                c.message.as_deref().unwrap_or("")
            );
            let (kind, sev, cause) = match (c.kind.as_str(), c.status.as_str()) {
                ("Ready", "True") => continue,
                ("Ready", _) => ("NodeNotReady", Severity::Critical, 0.8),
                ("MemoryPressure", "True") => ("NodeMemoryPressure", Severity::Critical, 0.45),
                ("DiskPressure", "True") => ("NodeDiskPressure", Severity::Critical, 0.45),
                ("PIDPressure", "True") => ("NodePIDPressure", Severity::Critical, 0.45),
                ("NetworkUnavailable", "True") => {
                    ("NodeNetworkUnavailable", Severity::Critical, 0.8)
                }
                _ => continue,
            };
            out.push(
                Hit::new(nref.clone(), kind, sev, cause)
                    .msg(format!("node {} reports {}", nref.name, c.kind))
                    .since(since)
                    .ev(
                        "status",
                        loc(&format!("status.conditions[{}]", c.kind)),
                        text,
                        since,
                    ),
            );
        }
        if n.spec.unschedulable == Some(true) {
            out.push(
                Hit::new(nref.clone(), "NodeCordoned", Severity::Info, 0.1)
                    .msg(format!("node {} is cordoned (unschedulable)", nref.name))
                    .ev("spec", loc("spec.unschedulable"), "true", None),
            );
        }
        let alloc_mem = n
            .status
            .allocatable
            .as_ref()
            .and_then(|a| a.get("memory"))
            .and_then(|q| quantity::bytes(q));
        let alloc_cpu = n
            .status
            .allocatable
            .as_ref()
            .and_then(|a| a.get("cpu"))
            .and_then(|q| quantity::cpu_millis(q));
        if let Some(series) = ctx.usage.nodes.get(&nref.name) {
            if let Some(last) = series.last() {
                let mem = alloc_mem.map(|a| last.memory_bytes / a).unwrap_or(0.0);
                let cpu = alloc_cpu.map(|a| last.cpu_millis / a).unwrap_or(0.0);
                if mem >= 0.95 || cpu >= 0.95 {
                    let what = if mem >= cpu { "memory" } else { "CPU" };
                    out.push(
                        Hit::new(nref.clone(), "NodeSaturated", Severity::Warning, 0.4)
                            .msg(format!(
                                "node {} uses {:.0}% of its allocatable {what}",
                                nref.name,
                                100.0 * mem.max(cpu)
                            ))
                            .since(parse_ts(&last.time))
                            .ev(
                                "metric",
                                format!("metrics.k8s.io nodes/{}", nref.name),
                                format!(
                                    "cpu {:.0}m, memory {:.0}Mi",
                                    last.cpu_millis,
                                    last.memory_bytes / 1048576.0
                                ),
                                parse_ts(&last.time),
                            ),
                    );
                }
            }
        }
    }
    pressure_culprits(ctx, out);
}

/// Bytes used, the workload, the kubelet's message, when.
type Culprit = (f64, ObjectRef, String, Option<i64>);

/// For each node and starved resource, the container the kubelet named as the biggest
/// consumer in its eviction messages, when it uses far more than it requested: that
/// workload is what drove the node into pressure.
fn pressure_culprits(ctx: &Ctx, out: &mut Vec<Hit>) {
    // (node, resource) → (bytes, workload, message, since)
    let mut worst: BTreeMap<(String, String), Culprit> = BTreeMap::new();
    for pod in ctx.snap.pods() {
        // Evicted pods are few: a substring test skips the others without parsing them.
        if !pod.json().contains("\"Evicted\"") {
            continue;
        }
        let v: serde_json::Value = match serde_json::from_str(pod.json()) {
            Ok(v) if super::jstr(&v, &["status", "reason"]) == Some("Evicted") => v,
            _ => continue,
        };
        let msg = super::jstr(&v, &["status", "message"]).unwrap_or("");
        let Some((resource, container, using, request)) = parse_eviction(msg) else {
            continue;
        };
        let pref = ObjectRef::of(pod);
        let node = ctx
            .rel
            .from(&pref)
            .iter()
            .find(|r| r.kind == RelationKind::RunsOn)
            .map(|r| r.to.name.clone())
            .or_else(|| super::jstr(&v, &["spec", "nodeName"]).map(str::to_string))
            .unwrap_or_default();
        if node.is_empty() || using <= 2.0 * request.max(64.0 * 1048576.0) {
            continue;
        }
        // The pod evicted may not be the consumer; the consumer is the named container of a
        // pod on the same node: prefer the evicted pod when its container matches.
        let workload = if pod_has_container(&v, &container) {
            ctx.workload(&pref)
        } else {
            match ctx
                .rel
                .workloads()
                .find(|w| w.namespace == pref.namespace && w.name == container)
            {
                Some(w) => w.clone(),
                None => continue,
            }
        };
        let since = super::jstr(&v, &["metadata", "creationTimestamp"]).and_then(parse_ts);
        let e =
            worst
                .entry((node, resource))
                .or_insert((0.0, workload.clone(), String::new(), since));
        if using > e.0 || (using == e.0 && workload < e.1) {
            *e = (using, workload, msg.to_string(), since);
        }
    }
    for ((node, resource), (using, workload, msg, since)) in worst {
        let kind = if resource == "memory" {
            "UnboundedMemoryUse"
        } else {
            "EphemeralStorageExhaustion"
        };
        let mut h = Hit::new(workload.clone(), kind, Severity::Critical, 0.9)
            .msg(format!(
                "{} used {:.1} GiB of {resource} on node {node}, far beyond its request, and starved the node",
                workload.name,
                using / 1073741824.0
            ))
            .since(since)
            .ev("status", format!("evicted pod status.message (node {node})"), msg, None);
        h.via.push(ObjectRef::new("Node", "", &node));
        out.push(h);
    }
}

fn pod_has_container(v: &serde_json::Value, name: &str) -> bool {
    v.pointer("/spec/containers")
        .and_then(|c| c.as_array())
        .is_some_and(|cs| {
            cs.iter()
                .any(|c| c.get("name").and_then(|n| n.as_str()) == Some(name))
        })
}

/// "The node was low on resource: ephemeral-storage. … Container notification was using
/// 42379532Ki, request is 0, …" → (resource, container, bytes used, bytes requested).
pub(super) fn parse_eviction(msg: &str) -> Option<(String, String, f64, f64)> {
    let resource = msg
        .split("low on resource: ")
        .nth(1)?
        .split(['.', ' '])
        .next()?
        .to_string();
    let rest = msg.split("Container ").nth(1)?;
    let mut words = rest.split_whitespace();
    let container = words.next()?.to_string();
    let using = rest.split("was using ").nth(1)?.split([',', ' ']).next()?;
    let request = rest
        .split("request is ")
        .nth(1)
        .and_then(|r| r.split([',', ' ']).next())
        .unwrap_or("0");
    Some((
        resource,
        container,
        quantity::bytes(using)?,
        quantity::bytes(request).unwrap_or(0.0),
    ))
}
