//! Changes to the nodes under the workloads: cordon, drain (cluster-autoscaler's rules,
//! through the scheduler engine), a node deleted, a pool scaled. A pool is the set of
//! nodes sharing the node-group label their provisioner writes.

use std::collections::BTreeMap;

use intel_scheduler::drain::{BlockReason, Outcome};
use intel_scheduler::{Cluster, NodeInfo};

use super::sim::{Blocker, Sim, Step, unschedulable};

/// Node labels that name a node's pool, most specific first.
pub const POOL_LABELS: &[&str] = &[
    "eks.amazonaws.com/nodegroup",
    "cloud.google.com/gke-nodepool",
    "kubernetes.azure.com/agentpool",
    "agentpool",
    "karpenter.sh/nodepool",
    "karpenter.sh/provisioner-name",
    "node.kubernetes.io/pool",
    "nodepool",
    "pool",
];

/// The pool a node belongs to: (label, value), or its instance type when no pool label
/// is set.
pub fn pool_of(node: &NodeInfo) -> Option<(String, String)> {
    for key in POOL_LABELS {
        if let Some(v) = node.labels.get(*key) {
            return Some((key.to_string(), v.clone()));
        }
    }
    node.labels
        .get("node.kubernetes.io/instance-type")
        .map(|v| ("node.kubernetes.io/instance-type".to_string(), v.clone()))
}

/// Pools by name, each with its nodes (sorted).
pub fn pools(cluster: &Cluster) -> BTreeMap<String, (String, Vec<String>)> {
    let mut out: BTreeMap<String, (String, Vec<String>)> = BTreeMap::new();
    for n in &cluster.nodes {
        if let Some((key, value)) = pool_of(n) {
            out.entry(value)
                .or_insert_with(|| (key, Vec::new()))
                .1
                .push(n.name.clone());
        }
    }
    out
}

fn node_step(subject: &str, action: String, pending: i32, blocker: Option<Blocker>) -> Step {
    Step {
        step: 0,
        subject: subject.to_string(),
        action,
        desired: 0,
        new_replicas: 0,
        new_ready: 0,
        old_replicas: 0,
        old_ready: 0,
        pending,
        blocker,
    }
}

/// Pods taken off nodes, placed again; the ones that fit nowhere, with why.
fn replace(sim: &mut Sim, pods: &[usize]) -> Vec<Blocker> {
    let mut stuck = Vec::new();
    for &p in pods {
        let pod = &sim.cluster.pods[p];
        let replicated = pod.drain.controller.as_ref().is_some_and(|(k, _)| {
            matches!(
                k.as_str(),
                "ReplicaSet" | "StatefulSet" | "ReplicationController" | "Job"
            )
        });
        if !replicated || pod.terminal {
            continue;
        }
        if !sim.schedule(p) {
            stuck.push(unschedulable(sim.cluster, &sim.cluster.pods[p].unbound()));
        }
    }
    stuck
}

pub fn cordon(sim: &mut Sim, node: &str) -> Result<(), String> {
    if !sim.cluster.cordon(node, true) {
        return Err(format!("--cordon {node:?}: no such node"));
    }
    let subject = format!("Node {node}");
    sim.record(node_step(
        &subject,
        "cordoned: no new pods land on it".into(),
        0,
        None,
    ));
    Ok(())
}

/// `kubectl drain` as cluster-autoscaler judges it: a pod that blocks (a PDB with no
/// disruption left, a pod no controller recreates, local storage) stops the drain; the
/// evicted pods are placed again and the ones that fit nowhere are stranded.
pub fn drain(sim: &mut Sim, node: &str) -> Result<usize, String> {
    let Some(drained) = intel_scheduler::drain::drain(sim.cluster, node, false) else {
        return Err(format!("--drain {node:?}: no such node"));
    };
    let subject = format!("Node {node}");
    if !drained.plan.drainable {
        let (pod, reason, message) = drained
            .plan
            .pods
            .iter()
            .find_map(|(id, o)| match o {
                Outcome::Blocks { reason, message } => {
                    Some((id.clone(), Some(*reason), message.clone()))
                }
                _ => None,
            })
            .unwrap_or_default();
        let kind = match reason {
            Some(BlockReason::NotEnoughPdb) => "pdb",
            _ => "drain",
        };
        let b = Blocker {
            kind: kind.into(),
            subject: pod,
            message,
        };
        sim.record(node_step(
            &subject,
            "drain cannot proceed".into(),
            0,
            Some(b),
        ));
        return Ok(1);
    }
    let moved = drained.placed.len() + drained.stuck.len();
    let stuck: Vec<Blocker> = drained
        .stuck
        .iter()
        .filter_map(|(id, _)| {
            let (ns, name) = id.split_once('/')?;
            let i = sim.cluster.pod(ns, name)?;
            Some(unschedulable(sim.cluster, &sim.cluster.pods[i].unbound()))
        })
        .collect();
    let action = format!(
        "drained: {moved} pods evicted, {} placed elsewhere, {} stranded",
        drained.placed.len(),
        stuck.len()
    );
    let n = stuck.len();
    sim.record(node_step(
        &subject,
        action,
        n as i32,
        stuck.into_iter().next(),
    ));
    Ok(n)
}

/// A node deleted: its pods are placed again where they fit.
pub fn delete_node(sim: &mut Sim, node: &str) -> Result<usize, String> {
    let Some(pods) = sim.cluster.remove_node(node) else {
        return Err(format!("--delete node/{node}: no such node"));
    };
    let stuck = replace(sim, &pods);
    let n = stuck.len();
    let action = format!("deleted: {} pods displaced, {n} fit nowhere", pods.len());
    sim.record(node_step(
        &format!("Node {node}"),
        action,
        n as i32,
        stuck.into_iter().next(),
    ));
    Ok(n)
}

const ZONE: &str = "topology.kubernetes.io/zone";

/// Adds `count` nodes like the pool's (labels, taints, allocatable), named
/// `<pool>-sim-<n>`, spread over the pool's zones in turn as a cloud node group balances
/// them (one node like the first of each zone, zones by name). Returns the names.
pub fn add_nodes(
    cluster: &mut Cluster,
    members: &[String],
    pool: &str,
    count: usize,
) -> Vec<String> {
    let mut templates: Vec<NodeInfo> = Vec::new();
    for m in members {
        if let Some(n) = cluster.node(m) {
            if !templates
                .iter()
                .any(|t| t.labels.get(ZONE) == n.labels.get(ZONE))
            {
                templates.push(n.clone());
            }
        }
    }
    templates.sort_by(|a, b| a.labels.get(ZONE).cmp(&b.labels.get(ZONE)));
    if templates.is_empty() {
        return Vec::new();
    }
    let mut names = Vec::new();
    let mut k = 0;
    while names.len() < count {
        k += 1;
        let name = format!("{pool}-sim-{k}");
        if cluster.node(&name).is_some() {
            continue;
        }
        let mut node = templates[names.len() % templates.len()].clone();
        node.name = name.clone();
        node.unschedulable = false;
        node.labels
            .insert("kubernetes.io/hostname".into(), name.clone());
        if cluster.add_node(node) {
            names.push(name);
        }
    }
    names
}

/// `--scale-nodes POOL=N`: nodes added like the pool's first node, or its last nodes (by
/// name) removed and their pods placed again.
pub fn scale_pool(sim: &mut Sim, pool: &str, target: usize) -> Result<usize, String> {
    let all = pools(sim.cluster);
    let Some((_, members)) = all.get(pool) else {
        let known: Vec<&String> = all.keys().collect();
        return Err(format!(
            "--scale-nodes {pool:?}: no node pool of that name (pools: {})",
            if known.is_empty() {
                "none; nodes carry no pool label".to_string()
            } else {
                known
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        ));
    };
    let subject = format!("NodePool {pool}");
    let now = members.len();
    if target >= now {
        let members = members.clone();
        let added = add_nodes(sim.cluster, &members, pool, target - now);
        let action = format!(
            "scaled from {now} to {target} nodes (added {})",
            added.join(", ")
        );
        sim.record(node_step(&subject, action, 0, None));
        return Ok(0);
    }
    let mut stuck_all = Vec::new();
    let mut displaced = 0;
    let gone: Vec<String> = members.iter().rev().take(now - target).cloned().collect();
    let pods = sim.cluster.remove_nodes(&gone);
    displaced += pods.len();
    stuck_all.extend(replace(sim, &pods));
    let n = stuck_all.len();
    let action =
        format!("scaled from {now} to {target} nodes: {displaced} pods displaced, {n} fit nowhere");
    sim.record(node_step(
        &subject,
        action,
        n as i32,
        stuck_all.into_iter().next(),
    ));
    Ok(n)
}
