//! Consolidation: which nodes can be emptied if their pods move, as cluster-autoscaler's
//! scale-down and Karpenter's consolidation judge it, and where the pods would go.
//!
//! Nodes are tried least utilized first (cluster-autoscaler's utilization: the larger of
//! the CPU and memory requests over allocatable). A node is freed all or nothing: its
//! drain must pass cluster-autoscaler's drainability rules ([`crate::drain::plan`]: PDB
//! `disruptionsAllowed`, local storage, not-safe-to-evict, kube-system, unreplicated
//! pods), and every pod that moves must pass the scheduler's filters on another node;
//! otherwise every change for that node is reverted and it is kept, with the reason. Each
//! drain starts from the budgets the snapshot shows, as drains one after the other do
//! (a budget is spent by one drain and given back once its pods run again elsewhere).
//!
//! Pods go best-fit: the largest first, each onto the fullest node whose filters pass,
//! so that the space left stays in the nodes still to be tried. That is bin packing, not
//! the default scheduler's LeastAllocated spreading: the point is the nodes it frees, and
//! every placement is still one kube-scheduler's filters accept. The pods cluster-
//! autoscaler leaves in place (DaemonSet and mirror pods) stay and go with the node.

use std::cmp::Ordering;

use serde::Serialize;

use crate::cluster::{Cluster, NodeInfo};
use crate::drain::{self, Outcome};
use crate::filters;

/// How far to look.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// Try at most this many nodes, the least utilized first; `None` tries every node.
    pub max_candidates: Option<usize>,
}

/// One pod moved off a freed node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Move {
    /// `namespace/name`.
    pub pod: String,
    pub from: String,
    pub to: String,
}

/// A node that can be emptied.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Freed {
    pub node: String,
    /// Its utilization before (requests over allocatable, the larger of CPU and memory).
    pub utilization: f64,
    /// In the order they are placed (largest first).
    pub moves: Vec<Move>,
    /// Finished pods the drain deletes.
    pub deleted: Vec<String>,
    /// DaemonSet and mirror pods, which go with the node.
    pub stays: Vec<String>,
}

/// A node tried and kept, with why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Kept {
    pub node: String,
    pub reason: String,
}

/// What consolidation found. The cluster it ran on is left in the end state (freed nodes
/// cordoned with only the pods that stay), journalled: [`Cluster::revert`] undoes it.
#[derive(Debug, Clone, Default, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Consolidation {
    /// In the order they were freed.
    pub freed: Vec<Freed>,
    /// Tried and kept, in the order tried.
    pub kept: Vec<Kept>,
    /// Nodes not tried (past `max_candidates`).
    pub not_tried: usize,
}

/// cluster-autoscaler's node utilization: the larger of the CPU and memory requests over
/// allocatable (0 for a resource the node does not have).
pub fn utilization(node: &NodeInfo) -> f64 {
    let ratio = |used: i64, alloc: i64| {
        if alloc > 0 {
            used as f64 / alloc as f64
        } else {
            0.0
        }
    };
    ratio(node.requested.milli_cpu, node.allocatable.milli_cpu)
        .max(ratio(node.requested.memory, node.allocatable.memory))
}

/// Why an autoscaler would never remove `node`, whatever runs on it.
pub fn protected(node: &NodeInfo) -> Option<String> {
    for role in [
        "node-role.kubernetes.io/control-plane",
        "node-role.kubernetes.io/master",
    ] {
        if node.labels.contains_key(role) {
            return Some(format!("a control-plane node (label {role})"));
        }
    }
    for key in [
        "cluster-autoscaler.kubernetes.io/scale-down-disabled",
        "karpenter.sh/do-not-disrupt",
    ] {
        if node.annotations.get(key).map(String::as_str) == Some("true") {
            return Some(format!("annotated {key}=true"));
        }
    }
    None
}

fn by_utilization(a: &(f64, usize), b: &(f64, usize)) -> Ordering {
    a.0.total_cmp(&b.0).then(a.1.cmp(&b.1))
}

/// The orders nodes are tried in; consolidation keeps the one that frees the most.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Order {
    /// cluster-autoscaler's: the least utilized first.
    Utilization,
    /// The least requested first, in absolute terms (a large node half used holds more
    /// than a small one).
    Requested,
    /// The smallest nodes first, so the large ones are what stays.
    Smallest,
}

const ORDERS: [Order; 3] = [Order::Utilization, Order::Requested, Order::Smallest];

/// Frees as many nodes as the rules and the filters allow (see the module's text): each
/// order is tried on the cluster and reverted, and the best is applied again.
pub fn consolidate(cluster: &mut Cluster, settings: &Settings) -> Consolidation {
    let mut best: Option<(Order, usize, usize)> = None;
    for order in ORDERS {
        let mark = cluster.mark();
        let out = consolidate_in(cluster, settings, order);
        cluster.revert(mark);
        let moves: usize = out.freed.iter().map(|f| f.moves.len()).sum();
        // More nodes freed, then fewer pods moved; ties keep the earlier order.
        if best.is_none_or(|(_, n, m)| out.freed.len() > n || (out.freed.len() == n && moves < m)) {
            best = Some((order, out.freed.len(), moves));
        }
    }
    let order = best.map_or(Order::Utilization, |b| b.0);
    consolidate_in(cluster, settings, order)
}

fn consolidate_in(cluster: &mut Cluster, settings: &Settings, order: Order) -> Consolidation {
    let mut out = Consolidation::default();
    // The largest node's CPU and memory: the units absolute sizes are compared in.
    let largest =
        |f: fn(&NodeInfo) -> i64| cluster.nodes.iter().map(f).max().unwrap_or(1).max(1) as f64;
    let max_cpu = largest(|n| n.allocatable.milli_cpu);
    let max_mem = largest(|n| n.allocatable.memory);
    let mut candidates: Vec<(f64, usize)> = Vec::new();
    for (i, n) in cluster.nodes.iter().enumerate() {
        if let Some(reason) = protected(n) {
            out.kept.push(Kept {
                node: n.name.clone(),
                reason,
            });
            continue;
        }
        let key = match order {
            Order::Utilization => utilization(n),
            Order::Requested => {
                n.requested.milli_cpu as f64 / max_cpu + n.requested.memory as f64 / max_mem
            }
            Order::Smallest => {
                n.allocatable.milli_cpu as f64 / max_cpu
                    + n.allocatable.memory as f64 / max_mem
                    + utilization(n) / 4.0
            }
        };
        candidates.push((key, i));
    }
    candidates.sort_by(by_utilization);
    let take = settings.max_candidates.unwrap_or(usize::MAX);
    out.not_tried = candidates.len().saturating_sub(take);
    let names: Vec<String> = candidates
        .iter()
        .take(take)
        .map(|&(_, i)| cluster.nodes[i].name.clone())
        .collect();
    for name in names {
        let u = cluster.node(&name).map_or(0.0, utilization);
        match free(cluster, &name, u) {
            Ok(freed) => out.freed.push(freed),
            Err(reason) => out.kept.push(Kept { node: name, reason }),
        }
    }
    out
}

/// Empties one node, or reverts everything it did and says why not.
fn free(cluster: &mut Cluster, name: &str, utilization: f64) -> Result<Freed, String> {
    let plan = drain::plan(cluster, name).ok_or_else(|| format!("no node {name}"))?;
    // Karpenter leaves a node alone while a pod on it asks so.
    if let Some(&p) = cluster.node(name).and_then(|n| {
        n.pods.iter().find(|&&p| {
            cluster.pods[p]
                .drain
                .annotations
                .get("karpenter.sh/do-not-disrupt")
                .is_some_and(|v| v == "true")
        })
    }) {
        return Err(format!(
            "pod annotated karpenter.sh/do-not-disrupt present: {}",
            cluster.pods[p].name
        ));
    }
    if let Some(message) = plan.pods.iter().find_map(|(_, o)| match o {
        Outcome::Blocks { message, .. } => Some(message.clone()),
        _ => None,
    }) {
        return Err(message);
    }
    let mark = cluster.mark();
    let mut moving = drain::evict(cluster, name, &plan);
    let mut freed = Freed {
        node: name.to_string(),
        utilization,
        moves: Vec::new(),
        deleted: Vec::new(),
        stays: Vec::new(),
    };
    for (id, o) in &plan.pods {
        match o {
            Outcome::Moves => {}
            Outcome::Deleted => freed.deleted.push(id.clone()),
            Outcome::Stays { .. } | Outcome::Blocks { .. } => freed.stays.push(id.clone()),
        }
    }
    // The largest first: they are the hardest to fit.
    moving.sort_by(|&a, &b| {
        let (ra, rb) = (&cluster.pods[a].requests, &cluster.pods[b].requests);
        (rb.milli_cpu, rb.memory)
            .cmp(&(ra.milli_cpu, ra.memory))
            .then(a.cmp(&b))
    });
    // The fullest first, fixed for this node's pods: best fit without re-sorting the
    // cluster for every pod.
    let mut targets: Vec<(f64, usize)> = cluster
        .nodes
        .iter()
        .enumerate()
        .filter(|(_, n)| !n.unschedulable && n.name != name)
        .map(|(i, n)| (-self::utilization(n), i))
        .collect();
    targets.sort_by(by_utilization);
    for p in moving {
        let pod = cluster.pods[p].unbound();
        let pre = filters::pre_filter(cluster, &pod);
        let to = pre
            .rejected
            .is_none()
            .then(|| {
                targets.iter().map(|&(_, i)| i).find(|&i| {
                    let node = &cluster.nodes[i];
                    pre.node_names
                        .as_ref()
                        .is_none_or(|names| names.contains(&node.name))
                        && filters::filter(cluster, &pre, &pod, node).is_none()
                })
            })
            .flatten()
            .map(|i| cluster.nodes[i].name.clone());
        match to {
            Some(to) => {
                cluster.bind(p, &to);
                freed.moves.push(Move {
                    pod: format!("{}/{}", pod.namespace, pod.name),
                    from: name.to_string(),
                    to,
                });
            }
            None => {
                let why = crate::simulate(cluster, &pod).message.unwrap_or_default();
                cluster.revert(mark);
                return Err(format!(
                    "{}/{} fits on no other node: {why}",
                    pod.namespace, pod.name
                ));
            }
        }
    }
    Ok(freed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::PodInfo;
    use k8s_openapi::api::core::v1::{Node, Pod};
    use serde_json::json;

    fn node(name: &str, cpu: &str) -> NodeInfo {
        let n: Node = serde_json::from_value(json!({
            "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}},
            "status": {"allocatable": {"cpu": cpu, "memory": "16Gi", "pods": "110"}}
        }))
        .unwrap();
        NodeInfo::from_node(&n)
    }

    fn pod(name: &str, node: &str, cpu: &str) -> PodInfo {
        let p: Pod = serde_json::from_value(json!({
            "metadata": {"name": name, "namespace": "app",
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs",
                    "uid": "u", "controller": true}]},
            "spec": {"nodeName": node, "containers": [{"name": "c", "image": "i",
                "resources": {"requests": {"cpu": cpu, "memory": "1Gi"}}}]},
            "status": {"phase": "Running"}
        }))
        .unwrap();
        PodInfo::from_pod(&p)
    }

    fn cluster() -> Cluster {
        let mut c = Cluster::default();
        for (n, cpu) in [("a", "4"), ("b", "4"), ("c", "4")] {
            c.add_node(node(n, cpu));
        }
        c.add_pod(pod("p1", "a", "3"));
        c.add_pod(pod("p2", "b", "500m"));
        c.add_pod(pod("p3", "c", "1"));
        c
    }

    #[test]
    fn frees_the_emptiest_nodes_onto_the_fullest() {
        let mut c = cluster();
        let mark = c.mark();
        let out = consolidate(&mut c, &Settings::default());
        let freed: Vec<&str> = out.freed.iter().map(|f| f.node.as_str()).collect();
        // b (12.5%) goes first, onto a (the fullest that fits: 3 + 0.5 of 4);
        // c's 1 CPU then fits on neither a (3.5 of 4) nor a cordoned b... it is kept.
        assert_eq!(freed, ["b"]);
        assert_eq!(
            out.freed[0].moves,
            [Move {
                pod: "app/p2".into(),
                from: "b".into(),
                to: "a".into()
            }]
        );
        assert_eq!(out.kept.len(), 2, "{:?}", out.kept);
        assert!(out.kept[0].reason.contains("fits on no other node"));
        assert!(out.kept[0].reason.contains("Insufficient cpu"));
        c.revert(mark);
        assert_eq!(c.node("b").unwrap().pods.len(), 1);
        assert!(!c.node("b").unwrap().unschedulable);
    }

    #[test]
    fn protected_nodes_are_never_candidates() {
        let mut c = cluster();
        let mut cp = node("cp", "4");
        cp.labels.insert(
            "node-role.kubernetes.io/control-plane".into(),
            String::new(),
        );
        c.add_node(cp);
        let mut pinned = node("d", "4");
        pinned.annotations.insert(
            "cluster-autoscaler.kubernetes.io/scale-down-disabled".into(),
            "true".into(),
        );
        c.add_node(pinned);
        let out = consolidate(&mut c, &Settings::default());
        let kept: Vec<(&str, &str)> = out
            .kept
            .iter()
            .map(|k| (k.node.as_str(), k.reason.as_str()))
            .collect();
        assert!(kept.contains(&(
            "cp",
            "a control-plane node (label node-role.kubernetes.io/control-plane)"
        )));
        assert!(kept.contains(&(
            "d",
            "annotated cluster-autoscaler.kubernetes.io/scale-down-disabled=true"
        )));
        // The near miss: an annotation set to "false" protects nothing.
        let mut c2 = cluster();
        let mut open = node("d", "4");
        open.annotations.insert(
            "cluster-autoscaler.kubernetes.io/scale-down-disabled".into(),
            "false".into(),
        );
        c2.add_node(open);
        let out = consolidate(&mut c2, &Settings::default());
        assert!(out.freed.iter().any(|f| f.node == "d"));
    }

    #[test]
    fn max_candidates_limits_the_tries() {
        let mut c = cluster();
        let out = consolidate(
            &mut c,
            &Settings {
                max_candidates: Some(1),
            },
        );
        assert_eq!(out.freed.len() + out.kept.len(), 1);
        assert_eq!(out.not_tried, 2);
    }

    #[test]
    fn a_pod_karpenter_must_not_disrupt_keeps_its_node() {
        for (value, kept) in [("true", true), ("false", false)] {
            let mut c = cluster();
            let i = c.pod("app", "p2").unwrap();
            c.pods[i]
                .drain
                .annotations
                .insert("karpenter.sh/do-not-disrupt".into(), value.into());
            let out = consolidate(&mut c, &Settings::default());
            let b = out.kept.iter().find(|k| k.node == "b");
            assert_eq!(b.is_some(), kept, "{value}: {:?}", out.kept);
            if let Some(b) = b {
                assert_eq!(
                    b.reason,
                    "pod annotated karpenter.sh/do-not-disrupt present: p2"
                );
            }
        }
    }
}
