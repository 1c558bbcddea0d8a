//! Nodes with a past: DiskPressure that image garbage collection cleared an hour or more
//! ago, a kubelet restart that left the node NotReady for a minute, and the control plane's
//! leader elections.

use std::collections::BTreeSet;

use serde_json::json;

use super::evictions::{DISK, pressure_episode, quiet_nodes};
use super::{Recorder, Subject, Touched, controller, kubelet, minutes_ago, normal, warning};
use crate::world::World;

fn node_age(world: &World, node: &str) -> f64 {
    world
        .get("Node", "", node)
        .and_then(|n| minutes_ago(world, &n["metadata"]["creationTimestamp"]))
        .unwrap_or(0.0)
}

/// A node whose DiskPressure went True and cleared (images collected, nothing evicted) an
/// hour to three days ago; its condition is False since.
pub(super) fn pressure_cleared(
    world: &mut World,
    rec: &mut Recorder,
    touched: &Touched,
    used: &mut BTreeSet<String>,
) {
    let nodes = quiet_nodes(world, touched, used);
    let Some(node) = rec.rng.pick(&nodes).cloned() else {
        return;
    };
    let oldest = (node_age(world, &node) - 30.0).min(4320.0);
    if oldest < 70.0 {
        return;
    }
    let cleared = rec.minutes(60.0, oldest - 10.0);
    let start = cleared + rec.minutes(1.5, 9.0);
    pressure_episode(world, rec, &node, &DISK, start, cleared);
    used.insert(node);
}

/// A kubelet restart an hour to two days ago: the node controller saw the node NotReady
/// for a minute or two and marked its pods not ready; the kubelet came back, reported its
/// conditions and Ready. Only a node whose pods the scenario leaves alone.
pub(super) fn kubelet_restart(
    world: &mut World,
    rec: &mut Recorder,
    touched: &Touched,
    used: &mut BTreeSet<String>,
) {
    let pods: Vec<(String, String, String)> = world
        .names("Pod", None)
        .into_iter()
        .filter_map(|(ns, p)| {
            let v = world.get("Pod", &ns, &p)?;
            if matches!(v["status"]["phase"].as_str(), Some("Succeeded" | "Failed")) {
                return None;
            }
            let node = v["spec"]["nodeName"].as_str()?.to_string();
            Some((node, ns, p))
        })
        .collect();
    let nodes: Vec<String> = quiet_nodes(world, touched, used)
        .into_iter()
        .filter(|n| {
            pods.iter()
                .filter(|(node, _, _)| node == n)
                .all(|(_, ns, p)| {
                    world.get("Pod", ns, p).is_some_and(|v| {
                        let app = v["metadata"]["labels"]["app"].as_str().unwrap_or_default();
                        !touched.app(ns, app) && !touched.object("Pod", ns, p)
                    })
                })
        })
        .collect();
    let Some(node) = rec.rng.pick(&nodes).cloned() else {
        return;
    };
    let oldest = (node_age(world, &node) - 30.0).min(2880.0);
    if oldest < 70.0 {
        return;
    }
    let down = rec.minutes(60.0, oldest);
    let up = down - rec.minutes(0.7, 2.5);
    let nc = Subject::of(world, "Node", "", &node);
    rec.event(
        world,
        &nc,
        normal(
            "NodeNotReady",
            &format!("Node {node} status is now: NodeNotReady"),
        ),
        controller("node-controller"),
        (down, down, 1),
    );
    let s = Subject::node_by_kubelet(&node);
    let k = kubelet(&node);
    let status = |c: &str| format!("Node {node} status is now: {c}");
    rec.event(
        world,
        &s,
        normal("Starting", "Starting kubelet."),
        k,
        (up + 0.15, up + 0.15, 1),
    );
    rec.event(
        world,
        &s,
        warning(
            "InvalidDiskCapacity",
            "invalid capacity 0 on image filesystem",
        ),
        k,
        (up + 0.149, up + 0.149, 1),
    );
    for c in [
        "NodeHasSufficientMemory",
        "NodeHasNoDiskPressure",
        "NodeHasSufficientPID",
    ] {
        rec.event(
            world,
            &s,
            normal(c, &status(c)),
            k,
            (up + 0.12, up + 0.12, 1),
        );
    }
    rec.event(
        world,
        &s,
        normal(
            "NodeAllocatableEnforced",
            "Updated Node Allocatable limit across pods",
        ),
        k,
        (up + 0.11, up + 0.11, 1),
    );
    rec.event(
        world,
        &s,
        normal("NodeReady", &status("NodeReady")),
        k,
        (up, up, 1),
    );
    let ready_at = world.at(up);
    if let Some(n) = world.get_mut("Node", "", &node) {
        for c in n["status"]["conditions"]
            .as_array_mut()
            .into_iter()
            .flatten()
            .filter(|c| c["type"] == "Ready")
        {
            c["lastTransitionTime"] = json!(ready_at);
        }
    }
    // The node controller marked the pods that were there not ready; they are again.
    for (_, ns, p) in pods.iter().filter(|(n, _, _)| *n == node) {
        let Some(v) = world.get("Pod", ns, p) else {
            continue;
        };
        let daemon = v["metadata"]["ownerReferences"][0]["kind"] == "DaemonSet";
        let created = minutes_ago(world, &v["metadata"]["creationTimestamp"]).unwrap_or(0.0);
        let ready_since = v["status"]["conditions"]
            .as_array()
            .and_then(|cs| cs.iter().find(|c| c["type"] == "Ready"))
            .and_then(|c| minutes_ago(world, &c["lastTransitionTime"]))
            .unwrap_or(0.0);
        if daemon || created <= down || ready_since <= down {
            continue;
        }
        let subject = Subject::of(world, "Pod", ns, p);
        rec.event(
            world,
            &subject,
            warning("NodeNotReady", "Node is not ready"),
            controller("node-controller"),
            (down, down, 1),
        );
        let at = world.at(up - 0.05);
        if let Some(v) = world.get_mut("Pod", ns, p) {
            for c in v["status"]["conditions"]
                .as_array_mut()
                .into_iter()
                .flatten()
                .filter(|c| c["type"] == "Ready")
            {
                c["lastTransitionTime"] = json!(at);
            }
        }
    }
    used.insert(node);
}

/// Leader elections of the control plane (its instances restarted or were upgraded),
/// reported on their Leases in kube-system.
pub(super) fn leader_elections(world: &mut World, rec: &mut Recorder, count: usize) {
    if world.get("Namespace", "", "kube-system").is_none() {
        return;
    }
    for i in 0..count {
        let (lease, component) = if i % 2 == 0 {
            ("kube-controller-manager", "kube-controller-manager")
        } else {
            ("kube-scheduler", "default-scheduler")
        };
        let at = rec.minutes(5.0, (rec.ttl - 1.0).min(2880.0));
        let holder = format!(
            "ip-172-16-{}-{}.eu-west-1.compute.internal_{}",
            rec.rng.range(0, 255),
            rec.rng.range(1, 254),
            rec.rng.uid()
        );
        let uid = rec.rng.uid();
        let subject = Subject::other(
            "Lease",
            "coordination.k8s.io/v1",
            "kube-system",
            lease,
            &uid,
        );
        rec.event(
            world,
            &subject,
            normal("LeaderElection", &format!("{holder} became leader")),
            controller(component),
            (at, at, 1),
        );
    }
}
