//! Draining a node as cluster-autoscaler decides it (`simulator/drainability/rules`, the
//! default rules in their order): which pods stay (mirror pods, DaemonSet pods, pods being
//! deleted), which are deleted without a new home (terminal pods), which must move, and
//! which block the drain — with cluster-autoscaler's reasons and messages. A drained node
//! stays in the cluster, cordoned, so its topology domains still count.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use serde::Serialize;

use crate::cluster::{Cluster, PodInfo};
use crate::score::place;
use crate::selectors::label_selector_matches;

const SAFE_TO_EVICT: &str = "cluster-autoscaler.kubernetes.io/safe-to-evict";
const SAFE_LOCAL_VOLUMES: &str = "cluster-autoscaler.kubernetes.io/safe-to-evict-local-volumes";
const MIRROR: &str = "kubernetes.io/config.mirror";

/// Owner kinds cluster-autoscaler counts as replicated (`skipNodesWithCustomControllerPods`,
/// its default): a pod of another controller blocks like an unowned one.
const REPLICATED_KINDS: &[&str] = &["ReplicationController", "Job", "ReplicaSet", "StatefulSet"];

/// What a drain reads of a pod.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DrainFacts {
    /// The kind and name of its controller owner (`ownerReferences[].controller`).
    pub controller: Option<(String, String)>,
    /// The annotations cluster-autoscaler honours (mirror, safe-to-evict, local volumes).
    pub annotations: BTreeMap<String, String>,
    /// Volumes that keep data on the node: hostPath, and emptyDir not backed by memory.
    pub local_volumes: Vec<String>,
}

/// A PodDisruptionBudget: whom it covers and how many may go now.
#[derive(Debug, Clone)]
pub struct Budget {
    pub namespace: String,
    pub name: String,
    pub selector: Option<LabelSelector>,
    pub disruptions_allowed: i32,
}

impl Budget {
    pub fn from_pdb(pdb: &PodDisruptionBudget) -> Budget {
        Budget {
            namespace: pdb.metadata.namespace.clone().unwrap_or_default(),
            name: pdb.metadata.name.clone().unwrap_or_default(),
            selector: pdb.spec.as_ref().and_then(|s| s.selector.clone()),
            disruptions_allowed: pdb
                .status
                .as_ref()
                .and_then(|s| s.disruptions_allowed)
                .unwrap_or(0),
        }
    }

    /// Whether the budget selects `pod`.
    pub fn covers(&self, pod: &PodInfo) -> bool {
        self.namespace == pod.namespace
            && label_selector_matches(self.selector.as_ref(), &pod.labels)
    }
}

/// Why a pod blocks a drain: cluster-autoscaler's `BlockingPodReason`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub enum BlockReason {
    NotReplicated,
    UnmovableKubeSystemPod,
    NotSafeToEvictAnnotation,
    LocalStorageRequested,
    NotEnoughPdb,
}

/// What happens to one pod when its node is drained.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", tag = "outcome")]
pub enum Outcome {
    /// Not evicted: a mirror pod, a DaemonSet pod, a pod already being deleted.
    Stays { why: String },
    /// Evicted and not recreated elsewhere: it has finished.
    Deleted,
    /// Evicted; its controller recreates it and the scheduler must place it.
    Moves,
    /// The drain cannot proceed while it is there.
    Blocks {
        reason: BlockReason,
        message: String,
    },
}

/// The drain of one node, pod by pod in the node's order.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DrainPlan {
    pub node: String,
    /// (namespace/name, outcome).
    pub pods: Vec<(String, Outcome)>,
    /// No pod blocks it.
    pub drainable: bool,
}

/// The outcome of the rules for one pod, `budgets` holding what each PDB still allows
/// (decremented as pods of this drain are evicted).
fn outcome(cluster: &Cluster, pod: &PodInfo, budgets: &mut [(usize, i32)]) -> Outcome {
    let f = &pod.drain;
    let annotation = |k: &str| f.annotations.get(k).map(String::as_str);
    if annotation(MIRROR).is_some() {
        return Outcome::Stays {
            why: "a mirror pod (static pod of the kubelet)".into(),
        };
    }
    if pod.terminating {
        return Outcome::Stays {
            why: "already being deleted".into(),
        };
    }
    let kind = f.controller.as_ref().map(|(k, _)| k.as_str());
    if kind == Some("DaemonSet") {
        return Outcome::Stays {
            why: "a DaemonSet pod (it runs on every node)".into(),
        };
    }
    if annotation(SAFE_TO_EVICT) == Some("true") {
        return Outcome::Moves;
    }
    if pod.terminal {
        return Outcome::Deleted;
    }
    let id = format!("{}/{}", pod.namespace, pod.name);
    let block = |reason, message: String| Outcome::Blocks { reason, message };
    if !kind.is_some_and(|k| REPLICATED_KINDS.contains(&k)) {
        return block(
            BlockReason::NotReplicated,
            format!("{id} is not replicated"),
        );
    }
    let matching: Vec<usize> = budgets
        .iter()
        .map(|(b, _)| *b)
        .filter(|&b| cluster.pdbs[b].covers(pod))
        .collect();
    if pod.namespace == "kube-system" && matching.is_empty() {
        return block(
            BlockReason::UnmovableKubeSystemPod,
            format!(
                "non-daemonset, non-mirrored, non-pdb-assigned kube-system pod present: {}",
                pod.name
            ),
        );
    }
    if annotation(SAFE_TO_EVICT) == Some("false") {
        return block(
            BlockReason::NotSafeToEvictAnnotation,
            format!("pod annotated as not safe to evict present: {}", pod.name),
        );
    }
    let safe: BTreeSet<&str> = annotation(SAFE_LOCAL_VOLUMES)
        .map(|v| v.split(',').map(str::trim).collect())
        .unwrap_or_default();
    if f.local_volumes.iter().any(|v| !safe.contains(v.as_str())) {
        return block(
            BlockReason::LocalStorageRequested,
            format!("pod with local storage present: {}", pod.name),
        );
    }
    if budgets
        .iter()
        .any(|(b, left)| matching.contains(b) && *left < 1)
    {
        return block(
            BlockReason::NotEnoughPdb,
            format!("not enough pod disruption budget to move {id}"),
        );
    }
    for (b, left) in budgets.iter_mut() {
        if matching.contains(b) {
            *left -= 1;
        }
    }
    Outcome::Moves
}

/// How a drain of `node` would go, without changing anything.
pub fn plan(cluster: &Cluster, node: &str) -> Option<DrainPlan> {
    let info = cluster.node(node)?;
    let mut budgets: Vec<(usize, i32)> = cluster
        .pdbs
        .iter()
        .enumerate()
        .map(|(i, b)| (i, b.disruptions_allowed))
        .collect();
    let pods: Vec<(String, Outcome)> = info
        .pods
        .iter()
        .map(|&p| {
            let pod = &cluster.pods[p];
            (
                format!("{}/{}", pod.namespace, pod.name),
                outcome(cluster, pod, &mut budgets),
            )
        })
        .collect();
    let drainable = !pods
        .iter()
        .any(|(_, o)| matches!(o, Outcome::Blocks { .. }));
    Some(DrainPlan {
        node: node.to_string(),
        pods,
        drainable,
    })
}

/// Where each evicted pod went.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Drained {
    pub plan: DrainPlan,
    /// (namespace/name, the node it was placed on).
    pub placed: Vec<(String, String)>,
    /// (namespace/name, why it fits nowhere: the scheduler's message).
    pub stuck: Vec<(String, String)>,
}

/// Cordons `node` and takes off the pods its drain `plan` evicts: those that finished,
/// and those that move, which are returned in the node's order for placing.
pub(crate) fn evict(cluster: &mut Cluster, node: &str, plan: &DrainPlan) -> Vec<usize> {
    cluster.cordon(node, true);
    let on_node: Vec<usize> = cluster
        .node(node)
        .map(|n| n.pods.clone())
        .unwrap_or_default();
    let mut moving = Vec::new();
    for (&p, (_, o)) in on_node.iter().zip(&plan.pods) {
        match o {
            Outcome::Moves => {
                cluster.unbind(p);
                moving.push(p);
            }
            Outcome::Deleted => {
                cluster.unbind(p);
            }
            Outcome::Stays { .. } | Outcome::Blocks { .. } => {}
        }
    }
    moving
}

/// Drains `node` on the cluster (journalled: [`Cluster::revert`] undoes it): when no pod
/// blocks it (or `force`), the node is cordoned, pods that move or finished are taken off,
/// and each pod that moves is placed as the scheduler would, in the node's order.
pub fn drain(cluster: &mut Cluster, node: &str, force: bool) -> Option<Drained> {
    let plan = plan(cluster, node)?;
    let mut out = Drained {
        plan,
        placed: Vec::new(),
        stuck: Vec::new(),
    };
    if !out.plan.drainable && !force {
        return Some(out);
    }
    let moving = evict(cluster, node, &out.plan);
    let mut start = 0;
    for p in moving {
        let pod = cluster.pods[p].unbound();
        let id = format!("{}/{}", pod.namespace, pod.name);
        let (placement, next) = place(cluster, &pod, start);
        start = next;
        match placement.node {
            Some(to) => {
                cluster.bind(p, &to);
                out.placed.push((id, to));
            }
            None => {
                let why = crate::simulate(cluster, &pod).message.unwrap_or_default();
                out.stuck.push((id, why));
            }
        }
    }
    Some(out)
}
