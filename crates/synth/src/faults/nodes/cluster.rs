//! Reading and editing the objects faults act on: pods (their node, owner, labels,
//! signals), nodes (conditions, taints, events, addresses, capacity, scheduling onto them)
//! and Services with their EndpointSlices. Shared by every fault family; kept apart so
//! each family's file holds only its own story.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::signals::ContainerSignals;
use crate::world::World;

use super::bytes_of;

// -- pods ---------------------------------------------------------------------------------------

pub(super) fn pod_node(world: &World, ns: &str, pod: &str) -> Option<String> {
    world
        .get("Pod", ns, pod)
        .and_then(|p| p["spec"]["nodeName"].as_str())
        .map(str::to_string)
}

pub(super) fn terminal(p: &Value) -> bool {
    matches!(p["status"]["phase"].as_str(), Some("Succeeded" | "Failed"))
}

/// Non-terminated pods bound to a node, sorted by (namespace, name).
pub(super) fn pods_on(world: &World, node: &str) -> Vec<(String, String)> {
    world
        .names("Pod", None)
        .into_iter()
        .filter(|(ns, n)| {
            world
                .get("Pod", ns, n)
                .is_some_and(|p| p["spec"]["nodeName"] == node && !terminal(p))
        })
        .collect()
}

pub(super) fn label(world: &World, ns: &str, pod: &str, key: &str) -> String {
    world
        .get("Pod", ns, pod)
        .and_then(|p| p["metadata"]["labels"][key].as_str())
        .unwrap_or_default()
        .to_string()
}

/// The controller owner of an object: (kind, name).
pub(super) fn owner_of(obj: &Value) -> Option<(String, String)> {
    let o = obj["metadata"]["ownerReferences"]
        .as_array()?
        .iter()
        .find(|o| o["controller"] == true)?;
    Some((
        o["kind"].as_str()?.to_string(),
        o["name"].as_str()?.to_string(),
    ))
}

/// The workload a pod belongs to: (kind, name), a ReplicaSet resolved to its Deployment.
pub(super) fn workload(world: &World, ns: &str, pod: &str) -> Option<(String, String)> {
    let (kind, name) = owner_of(world.get("Pod", ns, pod)?)?;
    if kind == "ReplicaSet" {
        if let Some(dep) = world.get("ReplicaSet", ns, &name).and_then(owner_of) {
            return Some(dep);
        }
    }
    Some((kind, name))
}

pub(super) fn is_daemon(world: &World, ns: &str, pod: &str) -> bool {
    workload(world, ns, pod).is_some_and(|(k, _)| k == "DaemonSet")
}

pub(super) fn container_names(world: &World, ns: &str, pod: &str) -> Vec<String> {
    world
        .get("Pod", ns, pod)
        .and_then(|p| p["spec"]["containers"].as_array())
        .map(|cs| {
            cs.iter()
                .filter_map(|c| c["name"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

pub(super) fn pod_signals_mut<'w>(
    world: &'w mut World,
    ns: &str,
    pod: &str,
) -> Vec<&'w mut ContainerSignals> {
    world
        .signals
        .containers
        .iter_mut()
        .filter(|s| s.namespace == ns && s.pod == pod)
        .collect()
}

pub(super) fn pod_signals(world: &World, ns: &str, pod: &str) -> Vec<ContainerSignals> {
    world
        .signals
        .containers
        .iter()
        .filter(|s| s.namespace == ns && s.pod == pod)
        .cloned()
        .collect()
}

/// Memory a container uses at a time, per its signals (base plus any growth since onset).
pub(super) fn mem_at(s: &ContainerSignals, minutes_ago: f64) -> f64 {
    let mut m = s.mem_base;
    if let Some(onset) = s.onset_minutes_ago {
        let since = onset.min(s.started_minutes_ago) - minutes_ago;
        m += s.mem_slope_per_min * since.max(0.0);
    }
    match s.mem_limit {
        Some(l) => m.min(l),
        None => m,
    }
}

// -- nodes ------------------------------------------------------------------------------------

/// Sets a node condition with explicit transition and heartbeat times.
#[allow(clippy::too_many_arguments)]
pub(super) fn node_cond(
    world: &mut World,
    node: &str,
    ctype: &str,
    status: &str,
    reason: &str,
    message: &str,
    transition_ago: f64,
    heartbeat_ago: f64,
) {
    let (t, hb) = (world.at(transition_ago), world.at(heartbeat_ago));
    if let Some(n) = world.get_mut("Node", "", node) {
        if let Some(conds) = n["status"]["conditions"].as_array_mut() {
            for c in conds.iter_mut().filter(|c| c["type"] == ctype) {
                c["status"] = json!(status);
                c["reason"] = json!(reason);
                c["message"] = json!(message);
                c["lastTransitionTime"] = json!(t);
                c["lastHeartbeatTime"] = json!(hb);
            }
        }
    }
}

pub(super) fn add_taint(
    world: &mut World,
    node: &str,
    key: &str,
    effect: &str,
    added_ago: Option<f64>,
) {
    let added = added_ago.map(|a| world.at(a));
    if let Some(n) = world.get_mut("Node", "", node) {
        let mut t = json!({"key": key, "effect": effect});
        if let Some(a) = added {
            t["timeAdded"] = json!(a);
        }
        match n["spec"]["taints"].as_array_mut() {
            Some(list) => {
                list.retain(|x| !(x["key"] == key && x["effect"] == effect));
                list.push(t);
            }
            None => n["spec"]["taints"] = json!([t]),
        }
    }
}

#[allow(clippy::too_many_arguments)]
pub(super) fn node_event(
    world: &mut World,
    node: &str,
    etype: &str,
    reason: &str,
    message: &str,
    component: &str,
    first: f64,
    last: f64,
    count: u64,
) {
    world.event(
        ("Node", "", node),
        etype,
        reason,
        message,
        component,
        first,
        last,
        count,
    );
}

pub(super) fn node_ip(world: &World, node: &str) -> String {
    world
        .get("Node", "", node)
        .and_then(|n| n["status"]["addresses"].as_array())
        .and_then(|a| a.iter().find(|x| x["type"] == "InternalIP"))
        .and_then(|x| x["address"].as_str())
        .unwrap_or("10.0.0.1")
        .to_string()
}

pub(super) fn node_zone(world: &World, node: &str) -> String {
    world
        .get("Node", "", node)
        .and_then(|n| n["metadata"]["labels"]["topology.kubernetes.io/zone"].as_str())
        .unwrap_or_default()
        .to_string()
}

pub(super) fn node_quantity(world: &World, node: &str, field: &str, resource: &str) -> f64 {
    world
        .get("Node", "", node)
        .and_then(|n| n["status"][field][resource].as_str())
        .and_then(bytes_of)
        .unwrap_or(0.0)
}

/// Pods per node, for spreading replacements (one pass over the placements).
fn loads(world: &World) -> std::collections::HashMap<&str, usize> {
    let mut m = std::collections::HashMap::new();
    for (_, n) in &world.signals.pod_nodes {
        *m.entry(n.as_str()).or_insert(0) += 1;
    }
    m
}

fn tolerates(spec: &Value, taint: &Value) -> bool {
    let Some(tols) = spec["tolerations"].as_array() else {
        return false;
    };
    tols.iter().any(|t| {
        let key_ok = t["key"] == taint["key"]
            || (t["key"].as_str().unwrap_or_default().is_empty() && t["operator"] == "Exists");
        let value_ok = t["operator"] == "Exists"
            || t["value"].as_str().unwrap_or_default()
                == taint["value"].as_str().unwrap_or_default();
        let effect_ok =
            t["effect"].as_str().unwrap_or_default().is_empty() || t["effect"] == taint["effect"];
        key_ok && value_ok && effect_ok
    })
}

/// Where kube-scheduler's filters would put a pod with this spec: the eligible node with the
/// fewest pods (ties by name), or the scheduler's FitError message when none is eligible.
pub(super) fn schedule(world: &World, spec: &Value, exclude: &[&str]) -> Result<String, String> {
    let nodes = world.names("Node", Some(""));
    let total = nodes.len();
    let mut reasons: Vec<String> = Vec::new();
    let mut best: Option<(usize, String)> = None;
    let loads = loads(world);
    for (_, name) in &nodes {
        let Some(n) = world.get("Node", "", name) else {
            continue;
        };
        let selector_ok = spec["nodeSelector"]
            .as_object()
            .is_none_or(|sel| sel.iter().all(|(k, v)| n["metadata"]["labels"][k] == *v));
        let taint = n["spec"]["taints"].as_array().and_then(|ts| {
            ts.iter()
                .filter(|t| t["effect"] == "NoSchedule" || t["effect"] == "NoExecute")
                .find(|t| !tolerates(spec, t))
        });
        let reason = if n["spec"]["unschedulable"] == true {
            Some("node(s) were unschedulable".to_string())
        } else if let Some(t) = taint {
            Some(format!(
                "node(s) had untolerated taint {{{}: {}}}",
                t["key"].as_str().unwrap_or_default(),
                t["value"].as_str().unwrap_or_default()
            ))
        } else if !selector_ok {
            Some("node(s) didn't match Pod's node affinity/selector".to_string())
        } else if exclude.contains(&name.as_str()) {
            Some("node(s) didn't have free ports for the requested pod ports".to_string())
        } else {
            None
        };
        match reason {
            Some(r) => reasons.push(r),
            None => {
                let l = loads.get(name.as_str()).copied().unwrap_or(0);
                if best.as_ref().is_none_or(|(b, _)| l < *b) {
                    best = Some((l, name.clone()));
                }
            }
        }
    }
    if let Some((_, n)) = best {
        return Ok(n);
    }
    let mut counts: Vec<(String, usize)> = Vec::new();
    for r in reasons {
        match counts.iter_mut().find(|(x, _)| *x == r) {
            Some(c) => c.1 += 1,
            None => counts.push((r, 1)),
        }
    }
    let mut parts: Vec<String> = counts.iter().map(|(r, c)| format!("{c} {r}")).collect();
    parts.sort();
    Err(format!(
        "0/{total} nodes are available: {}. preemption: 0/{total} nodes are available: {total} Preemption is not helpful for scheduling.",
        parts.join(", ")
    ))
}

// -- Services and endpoints -------------------------------------------------------------------

/// EndpointSlices of a Service, by name.
pub(super) fn slices_of(world: &World, ns: &str, svc: &str) -> Vec<String> {
    world
        .names("EndpointSlice", Some(ns))
        .into_iter()
        .filter(|(_, n)| {
            world
                .get("EndpointSlice", ns, n)
                .is_some_and(|s| s["metadata"]["labels"]["kubernetes.io/service-name"] == svc)
        })
        .map(|(_, n)| n)
        .collect()
}

/// Services of a namespace whose selector matches these labels.
fn services_selecting(world: &World, ns: &str, labels: &Value) -> Vec<String> {
    world
        .names("Service", Some(ns))
        .into_iter()
        .filter(|(_, n)| {
            world.get("Service", ns, n).is_some_and(|s| {
                s["spec"]["selector"]
                    .as_object()
                    .is_some_and(|sel| !sel.is_empty() && sel.iter().all(|(k, v)| labels[k] == *v))
            })
        })
        .map(|(_, n)| n)
        .collect()
}

/// Updates (or with `None`, removes) a pod's endpoint in every slice of its namespace.
pub(super) fn set_endpoint(
    world: &mut World,
    ns: &str,
    pod: &str,
    conditions: Option<(bool, bool, bool)>,
) {
    for (_, name) in world.names("EndpointSlice", Some(ns)) {
        let Some(s) = world.get_mut("EndpointSlice", ns, &name) else {
            continue;
        };
        let Some(eps) = s["endpoints"].as_array_mut() else {
            continue;
        };
        match conditions {
            Some((ready, serving, terminating)) => {
                for e in eps.iter_mut().filter(|e| e["targetRef"]["name"] == pod) {
                    e["conditions"] =
                        json!({"ready": ready, "serving": serving, "terminating": terminating});
                }
            }
            None => eps.retain(|e| e["targetRef"]["name"] != pod),
        }
    }
}

/// Adds a running pod's endpoint to the slices of the Services selecting it.
pub(super) fn add_endpoint(world: &mut World, ns: &str, pod: &str, ready: bool) {
    let Some(p) = world.get("Pod", ns, pod).cloned() else {
        return;
    };
    let node = p["spec"]["nodeName"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let zone = node_zone(world, &node);
    let ep = json!({"addresses": [p["status"]["podIP"].clone()],
        "conditions": {"ready": ready, "serving": ready, "terminating": false},
        "nodeName": node, "zone": zone, "targetRef": {"kind": "Pod", "namespace": ns, "name": pod}});
    for svc in services_selecting(world, ns, &p["metadata"]["labels"]) {
        for slice in slices_of(world, ns, &svc) {
            if let Some(s) = world.get_mut("EndpointSlice", ns, &slice) {
                match s["endpoints"].as_array_mut() {
                    Some(a) => {
                        a.retain(|e| e["targetRef"]["name"] != pod);
                        a.push(ep.clone());
                    }
                    None => s["endpoints"] = json!([ep.clone()]),
                }
            }
        }
    }
}

/// Every event's (namespace, name), to tell the ones a fault adds.
pub(super) fn event_names(world: &World) -> BTreeSet<(String, String)> {
    world.names("Event", None).into_iter().collect()
}

/// Drops the events added since `before` that the API server would have expired by
/// capture (last seen more than an hour ago: `--event-ttl`).
pub(super) fn expire_events(world: &mut World, before: &BTreeSet<(String, String)>) {
    let cutoff = world.at(60.0);
    for (ns, e) in world.names("Event", None) {
        if before.contains(&(ns.clone(), e.clone())) {
            continue;
        }
        let old = world.get("Event", &ns, &e).is_some_and(|ev| {
            ev["lastTimestamp"]
                .as_str()
                .is_some_and(|t| t < cutoff.as_str())
        });
        if old {
            world.remove("Event", &ns, &e);
        }
    }
}
