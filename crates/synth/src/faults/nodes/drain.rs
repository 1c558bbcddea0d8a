//! `pdb-blocks-drain`: a node cordoned for a drain that a PodDisruptionBudget keeps from
//! finishing, with the evictions that went through and the one that keeps being refused.

use std::collections::BTreeSet;

use serde_json::json;

use crate::scenario::Fault;
use crate::topology::Topology;
use crate::world::World;

use super::cluster::{
    add_taint, container_names, is_daemon, label, node_event, pod_node, pods_on, schedule, workload,
};
use super::lifecycle::{delete_pod, recount, recreate, spawn_pod};
use super::{managed, record_edit, target_node};

// -- drains -------------------------------------------------------------------------------------

/// A node drain stuck on a PodDisruptionBudget: the node cordoned `since` minutes ago
/// (spec.unschedulable, `node.kubernetes.io/unschedulable` taint, the kubelet's
/// `NodeNotSchedulable` event), every other pod evicted and replaced elsewhere, DaemonSet
/// pods left, and the pod of `app` still there because its PDB allows no disruption:
/// `minAvailable` (set on the PDB `pdbChangedAgo` minutes ago, 6 days; default: the app's
/// replicas) equals the healthy pods. The drainer (`drainer`: aws-node-termination-handler,
/// handling an ASG lifecycle hook) times out (`drainTimeout`), retries and reports
/// `CordonAndDrainError` on the node. (The eviction API's 429, `Cannot evict pod as it would
/// violate the pod's disruption budget.`, only reaches the drainer's own output: no
/// component records it as an event.) Params: `node`, `app`, `since`, `minAvailable`,
/// `pdbChangedAgo`, `drainer`, `drainTimeout` ("2m0s").
pub(super) fn pdb_blocks_drain(
    world: &mut World,
    topo: &mut Topology,
    f: &Fault,
) -> Result<(), String> {
    let app = f.app()?.to_string();
    let ns = f.namespace.clone();
    let node = match f.node {
        Some(_) => target_node(world, topo, f)?,
        None => world
            .pods_of(&ns, &app)
            .iter()
            .find_map(|p| pod_node(world, &ns, p))
            .ok_or("pdb-blocks-drain: the app has no running pod")?,
    };
    let s = f.since;
    if world.get("PodDisruptionBudget", &ns, &app).is_none() {
        return Err(format!("no PodDisruptionBudget {ns}/{app}"));
    }
    let replicas = world
        .get("Deployment", &ns, &app)
        .or_else(|| world.get("StatefulSet", &ns, &app))
        .and_then(|d| d["spec"]["replicas"].as_u64())
        .unwrap_or(1);
    let min = f.num("minAvailable").map(|m| m as u64).unwrap_or(replicas);
    let changed = f.num("pdbChangedAgo").unwrap_or(6.0 * 1440.0 + 200.0);
    let changed_t = world.at(changed);
    if let Some(p) = world.get_mut("PodDisruptionBudget", &ns, &app) {
        p["spec"]["minAvailable"] = json!(min);
        p["metadata"]["generation"] = json!(2);
        p["status"]["observedGeneration"] = json!(2);
        let mut e = managed(
            "kubectl-client-side-apply",
            &changed_t,
            json!({"f:spec": {"f:minAvailable": {}}}),
        );
        e["apiVersion"] = json!("policy/v1");
        record_edit(p, e);
        p["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"] = json!(
            format!(
                "{{\"apiVersion\":\"policy/v1\",\"kind\":\"PodDisruptionBudget\",\"metadata\":{{\"annotations\":{{}},\"name\":\"{app}\",\"namespace\":\"{ns}\"}},\"spec\":{{\"minAvailable\":{min},\"selector\":{{\"matchLabels\":{{\"app\":\"{app}\"}}}}}}}}\n"
            )
        );
    }
    // Cordon.
    let cordon_t = world.at(s);
    if let Some(n) = world.get_mut("Node", "", &node) {
        n["spec"]["unschedulable"] = json!(true);
        let mut e = managed(
            "aws-node-termination-handler",
            &cordon_t,
            json!({"f:spec": {"f:unschedulable": {}}}),
        );
        e["apiVersion"] = json!("v1");
        record_edit(n, e);
    }
    add_taint(
        world,
        &node,
        "node.kubernetes.io/unschedulable",
        "NoSchedule",
        Some(s),
    );
    node_event(
        world,
        &node,
        "Normal",
        "NodeNotSchedulable",
        &format!("Node {node} status is now: NodeNotSchedulable"),
        "kubelet",
        s - 0.02,
        s - 0.02,
        1,
    );
    let drainer = f
        .str("drainer")
        .unwrap_or("aws-node-termination-handler")
        .to_string();
    let drain_timeout = f.str("drainTimeout").unwrap_or("2m0s").to_string();
    let interruption = world.at(s - 2.0);
    node_event(
        world,
        &node,
        "Normal",
        "ASGLifecycle",
        &format!(
            "ASG Lifecycle Termination event received. Instance will be interrupted at {} \n",
            interruption.replace('T', " ").replace('Z', " +0000 UTC")
        ),
        &drainer,
        s + 0.05,
        s + 0.05,
        1,
    );
    // Evict everything else.
    let mut blocked = Vec::new();
    let mut touched = BTreeSet::new();
    for (i, (pns, pod)) in pods_on(world, &node).into_iter().enumerate() {
        if is_daemon(world, &pns, &pod) {
            continue;
        }
        let papp = label(world, &pns, &pod, "app");
        if pns == ns && papp == app {
            blocked.push(pod);
            continue;
        }
        let at = s - 0.05 - 0.01 * i as f64;
        let spec = world.get("Pod", &pns, &pod).map(|p| p["spec"].clone());
        let wl = workload(world, &pns, &pod);
        world.pod_condition(
            &pns,
            &pod,
            "DisruptionTarget",
            "True",
            Some("EvictionByEvictionAPI"),
            Some("Eviction API: evicting"),
            at,
        );
        match (spec, wl) {
            (Some(spec), Some((k, _))) if k == "Deployment" => {
                let target = schedule(world, &spec, &[node.as_str()]);
                spawn_pod(world, &pns, &pod, None, target, at - 0.02);
                delete_pod(world, &pns, &pod, at);
            }
            (Some(spec), Some((k, _))) if k == "StatefulSet" => {
                for c in container_names(world, &pns, &pod) {
                    world.event(
                        ("Pod", &pns, &pod),
                        "Normal",
                        "Killing",
                        &format!("Stopping container {c}"),
                        "kubelet",
                        at,
                        at,
                        1,
                    );
                }
                let target = schedule(world, &spec, &[node.as_str()]);
                recreate(world, &pns, &pod, target, at - 0.4);
            }
            _ => delete_pod(world, &pns, &pod, at),
        }
        touched.insert((pns.clone(), papp));
    }
    let Some(stuck) = blocked.first().cloned() else {
        return Err(format!("pdb-blocks-drain: no pod of {ns}/{app} on {node}"));
    };
    let retries = ((s / 2.5).floor() as u64).max(1);
    node_event(
        world,
        &node,
        "Warning",
        "CordonAndDrainError",
        &format!(
            "There was a problem while trying to cordon and drain the node: [error when evicting pods/\"{stuck}\" -n \"{ns}\": global timeout reached: {drain_timeout}]"
        ),
        &drainer,
        s - 2.0,
        (s - 2.0 - 2.5 * (retries - 1) as f64).max(0.4),
        retries,
    );
    for (tns, tapp) in touched {
        recount(world, &tns, &tapp, s);
    }
    // The budget has allowed nothing since its change.
    recount(world, &ns, &app, changed);
    Ok(())
}
