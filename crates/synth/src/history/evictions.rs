//! Pods the kubelet evicted under node pressure, replaced at once by their ReplicaSet (the
//! evicted pod stays listed, Failed), and the node-pressure episodes themselves.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::pods::{
    Candidate, Owner, Timing, created_event, killed_events, node_misfit, replace, started_events,
};
use super::{Recorder, Subject, Touched, bytes, kubelet, minutes_ago, normal, warning};
use crate::world::World;

/// A node's kind of pressure as the kubelet words it.
pub(super) struct Pressure {
    pub(super) condition: &'static str,
    pub(super) resource: &'static str,
    pub(super) event_true: &'static str,
    pub(super) event_false: &'static str,
    pub(super) reason_false: &'static str,
    pub(super) message_false: &'static str,
}

pub(super) const MEMORY: Pressure = Pressure {
    condition: "MemoryPressure",
    resource: "memory",
    event_true: "NodeHasInsufficientMemory",
    event_false: "NodeHasSufficientMemory",
    reason_false: "KubeletHasSufficientMemory",
    message_false: "kubelet has sufficient memory available",
};

pub(super) const DISK: Pressure = Pressure {
    condition: "DiskPressure",
    resource: "ephemeral-storage",
    event_true: "NodeHasDiskPressure",
    event_false: "NodeHasNoDiskPressure",
    reason_false: "KubeletHasNoDiskPressure",
    message_false: "kubelet has no disk pressure",
};

/// The kubelet's node-pressure episode on `node`: the condition went True `start` minutes
/// ago, the eviction manager reclaimed, and it went False again `cleared` minutes ago.
pub(super) fn pressure_episode(
    world: &mut World,
    rec: &mut Recorder,
    node: &str,
    p: &Pressure,
    start: f64,
    cleared: f64,
) {
    let s = super::Subject::node_by_kubelet(node);
    let k = kubelet(node);
    rec.event(
        world,
        &s,
        normal(
            p.event_true,
            &format!("Node {node} status is now: {}", p.event_true),
        ),
        k,
        (start, start, 1),
    );
    rec.event(
        world,
        &s,
        warning(
            "EvictionThresholdMet",
            &format!("Attempting to reclaim {}", p.resource),
        ),
        k,
        (start - 0.05, start - 0.05, 1),
    );
    rec.event(
        world,
        &s,
        normal(
            p.event_false,
            &format!("Node {node} status is now: {}", p.event_false),
        ),
        k,
        (cleared, cleared, 1),
    );
    let at = world.at(cleared);
    if let Some(n) = world.get_mut("Node", "", node) {
        for c in n["status"]["conditions"]
            .as_array_mut()
            .into_iter()
            .flatten()
            .filter(|c| c["type"] == p.condition)
        {
            c["status"] = json!("False");
            c["reason"] = json!(p.reason_false);
            c["message"] = json!(p.message_false);
            c["lastTransitionTime"] = json!(at);
        }
    }
}

/// Nodes in service the scenario leaves alone, sorted.
pub(super) fn quiet_nodes(
    world: &World,
    touched: &Touched,
    used: &BTreeSet<String>,
) -> Vec<String> {
    world
        .names("Node", Some(""))
        .into_iter()
        .map(|(_, n)| n)
        .filter(|n| !touched.nodes.contains(n) && !used.contains(n))
        .filter(|n| {
            world.get("Node", "", n).is_some_and(|v| {
                v["spec"]["unschedulable"] != true
                    && v["status"]["conditions"].as_array().is_some_and(|cs| {
                        cs.iter()
                            .all(|c| (c["type"] == "Ready") == (c["status"] == "True"))
                    })
            })
        })
        .collect()
}

fn ki(b: f64) -> String {
    format!("{}Ki", (b / 1024.0).round().max(1.0) as u64)
}

/// Pods of a Deployment evicted by the kubelet under memory or disk pressure hours or days
/// ago (or, sometimes, within the last hour), each replaced at once by its ReplicaSet. The
/// evicted pod stays (phase Failed, reason Evicted), on the node that was under pressure;
/// the replacement runs on a node of the same pool; the pressure cleared minutes later.
pub(super) fn evicted(
    world: &mut World,
    rec: &mut Recorder,
    touched: &Touched,
    c: &Candidate,
    count: usize,
    pressured: &mut BTreeSet<String>,
) {
    let ns = c.ns.as_str();
    let p = if rec.rng.chance(0.6) { &MEMORY } else { &DISK };
    let mut pods = c.movable.clone();
    for _ in 0..count {
        if pods.is_empty() {
            return;
        }
        let old = pods.remove(rec.rng.range(0, pods.len() as u64 - 1) as usize);
        let Some(old_json) = world.get("Pod", ns, &old).cloned() else {
            continue;
        };
        // The node under pressure: another node of the pod's pool, in service and quiet.
        let home = old_json["spec"]["nodeName"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let pool = world
            .get("Node", "", &home)
            .map(|n| n["metadata"]["labels"]["pool"].clone())
            .unwrap_or(Value::Null);
        let nodes: Vec<String> = quiet_nodes(world, touched, pressured)
            .into_iter()
            .filter(|n| {
                world.get("Node", "", n).is_some_and(|v| {
                    v["metadata"]["labels"]["pool"] == pool
                        && node_misfit(&old_json["spec"], v).is_none()
                })
            })
            .collect();
        let others: Vec<String> = nodes.iter().filter(|n| **n != home).cloned().collect();
        let Some(node) = rec
            .rng
            .pick(if others.is_empty() { &nodes } else { &others })
            .cloned()
        else {
            continue;
        };
        let node_age = world
            .get("Node", "", &node)
            .and_then(|n| minutes_ago(world, &n["metadata"]["creationTimestamp"]))
            .unwrap_or(0.0);
        let oldest = (c.pod_age - 10.0).min(c.rs_age - 30.0).min(node_age - 30.0);
        let at = if rec.rng.chance(0.35) {
            rec.minutes(12.0, rec.ttl.min(58.0))
        } else {
            rec.minutes(90.0, 4320.0)
        }
        .min(oldest);
        if at < 5.0 {
            continue;
        }
        let born = (at + rec.minutes(120.0, 4000.0))
            .min(c.rs_age - 1.0)
            .max(at + 1.0);
        let message = eviction_message(world, rec, &old_json, &node, p);
        // The evicted pod, as the kubelet left it.
        let mut ghost = old_json.clone();
        let name = format!("{}-{}", c.rs, rec.rng.suffix(5));
        let host_ip = world
            .get("Node", "", &node)
            .and_then(|n| n["status"]["addresses"].as_array())
            .and_then(|a| a.iter().find(|x| x["type"] == "InternalIP"))
            .map(|x| x["address"].clone())
            .unwrap_or(Value::Null);
        let ip = rec.pod_ip();
        let (t_born, t_start, t_ev) = (world.at(born), world.at(born - 0.05), world.at(at));
        ghost["metadata"]["name"] = json!(name);
        ghost["metadata"]["uid"] = json!(rec.rng.uid());
        ghost["metadata"]["creationTimestamp"] = json!(t_born);
        ghost["spec"]["nodeName"] = json!(node);
        let statuses: Vec<Value> = old_json["status"]["containerStatuses"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|s| {
                json!({"name": s["name"], "image": s["image"], "imageID": s["imageID"], "ready": false, "started": false,
                    "restartCount": 0, "state": {"terminated": {"exitCode": 137, "reason": "Error",
                        "startedAt": t_start, "finishedAt": t_ev, "containerID": rec.container_id()}}})
            })
            .collect();
        ghost["status"] = json!({"phase": "Failed", "reason": "Evicted", "message": message,
            "hostIP": host_ip, "hostIPs": [{"ip": host_ip}], "podIP": ip, "podIPs": [{"ip": ip}],
            "startTime": t_born, "qosClass": old_json["status"]["qosClass"],
            "conditions": [
                {"type": "DisruptionTarget", "status": "True", "reason": "TerminationByKubelet", "message": message, "lastProbeTime": null, "lastTransitionTime": t_ev},
                {"type": "PodReadyToStartContainers", "status": "False", "lastProbeTime": null, "lastTransitionTime": t_ev},
                {"type": "Initialized", "status": "True", "lastProbeTime": null, "lastTransitionTime": t_born},
                {"type": "Ready", "status": "False", "reason": "PodFailed", "lastProbeTime": null, "lastTransitionTime": t_ev},
                {"type": "ContainersReady", "status": "False", "reason": "PodFailed", "lastProbeTime": null, "lastTransitionTime": t_ev},
                {"type": "PodScheduled", "status": "True", "lastProbeTime": null, "lastTransitionTime": t_born}],
            "containerStatuses": statuses});
        world.add(ghost.clone());
        // Its replacement, created at once (the node under pressure was tainted).
        let t = Timing::prompt(rec, at - 0.01);
        let Some(new) = replace(world, rec, ns, &old, &Owner::of(c), t) else {
            continue;
        };
        let ghost_subject = Subject::pod(&ghost);
        rec.event(
            world,
            &ghost_subject,
            warning("Evicted", &message),
            kubelet(&node),
            (at, at, 1),
        );
        killed_events(world, rec, &ghost, at - 0.002);
        created_event(world, rec, ns, &c.rs, &new, at - 0.01);
        started_events(world, rec, ns, &new, t);
        let start = at + rec.minutes(0.2, 1.5);
        let cleared = at - rec.minutes(1.0, 6.0);
        pressure_episode(world, rec, &node, p, start, cleared.max(0.5));
        pressured.insert(node);
    }
}

/// The eviction manager's message: the resource, the threshold and what was left, and each
/// container using more than it requested.
fn eviction_message(
    world: &World,
    rec: &mut Recorder,
    pod: &Value,
    node: &str,
    p: &Pressure,
) -> String {
    let (threshold, available) = if p.resource == "memory" {
        (
            "100Mi".to_string(),
            ki(rec.minutes(58.0, 99.0) * 1024.0 * 1024.0),
        )
    } else {
        let cap = world
            .get("Node", "", node)
            .map(|n| bytes(&n["status"]["capacity"]["ephemeral-storage"]))
            .unwrap_or(100.0 * 1024.0 * 1024.0 * 1024.0);
        let t = (cap * 0.1).floor();
        (format!("{}", t as u64), ki(t * rec.minutes(0.55, 0.95)))
    };
    let mut m = format!(
        "The node was low on resource: {}. Threshold quantity: {threshold}, available: {available}. ",
        p.resource
    );
    for c in pod["spec"]["containers"].as_array().into_iter().flatten() {
        let name = c["name"].as_str().unwrap_or_default();
        let request = &c["resources"]["requests"][p.resource];
        let (usage, request_text) = if p.resource == "memory" {
            let r = bytes(request);
            let base = if r > 0.0 { r } else { 128.0 * 1024.0 * 1024.0 };
            (
                base * rec.minutes(1.25, 1.9),
                request.as_str().unwrap_or("0").to_string(),
            )
        } else {
            (
                rec.minutes(2.5, 9.0) * 1024.0 * 1024.0 * 1024.0,
                request.as_str().unwrap_or("0").to_string(),
            )
        };
        m.push_str(&format!(
            "Container {name} was using {}, request is {request_text}, has larger consumption of {}. ",
            ki(usage),
            p.resource
        ));
    }
    m
}
