//! What would make a pod fit: the smallest changes, each checked by scheduling the pod again
//! with the change made (on the pod, or on the cluster through a journalled what-if that is
//! reverted), so a hint is never a guess. The values are the snapshot's: the taint to
//! tolerate, the node to uncordon, the label no node carries, the CPU a node lacks.

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::{Taint, Toleration};
use serde::Serialize;

use crate::cluster::{Cluster, PodInfo};
use crate::filters::{insufficient, tolerates, volumes_admit};
use crate::simulate::{Verdict, simulate};

/// One change and what it would do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Hint {
    /// The change, concretely (`add the toleration dedicated=gpu:NoSchedule`).
    pub change: String,
    /// What it was checked to do (`fits on 3 nodes`), or why it is only a lead.
    pub effect: String,
    /// Nodes the pod fits on with the change (0 for a lead that was not enough alone).
    pub nodes: usize,
}

fn fits(cluster: &Cluster, pod: &PodInfo) -> usize {
    simulate(cluster, pod).feasible.len()
}

fn toleration(t: &Taint) -> Toleration {
    Toleration {
        key: Some(t.key.clone()),
        operator: Some(if t.value.as_deref().unwrap_or_default().is_empty() {
            "Exists".into()
        } else {
            "Equal".into()
        }),
        value: t.value.clone().filter(|v| !v.is_empty()),
        effect: Some(t.effect.clone()),
        ..Toleration::default()
    }
}

/// Taints that reserve nodes for the control plane or cluster add-ons: tolerating them
/// fits the pod, but on nodes it should not share.
const SYSTEM_TAINTS: &[&str] = &[
    "node-role.kubernetes.io/control-plane",
    "node-role.kubernetes.io/master",
    "CriticalAddonsOnly",
];

fn taint_text(t: &Taint) -> String {
    match t.value.as_deref().filter(|v| !v.is_empty()) {
        Some(v) => format!("{}={v}:{}", t.key, t.effect),
        None => format!("{}:{}", t.key, t.effect),
    }
}

fn quantity(resource: &str, amount: i64) -> String {
    match resource {
        "cpu" => format!("{amount}m"),
        "memory" | "ephemeral-storage" => {
            let mi = (amount as f64 / (1024.0 * 1024.0)).ceil() as i64;
            format!("{mi}Mi")
        }
        _ => amount.to_string(),
    }
}

/// Changes that would let `pod` (which `verdict` says fits nowhere) be scheduled, most
/// useful first: tolerating a taint, uncordoning a node, dropping a node selector no node
/// satisfies, and the node that comes closest on resources with what it lacks.
pub fn what_would_fit(cluster: &mut Cluster, pod: &PodInfo, verdict: &Verdict) -> Vec<Hint> {
    let mut out = Vec::new();
    if verdict.schedulable {
        return out;
    }
    let rejected_by = |plugin: &str| -> Vec<&str> {
        verdict
            .rejected
            .iter()
            .filter(|(_, s)| s.plugin == plugin)
            .map(|(n, _)| n.as_str())
            .collect()
    };

    // Taints: each distinct first untolerated taint, tolerated.
    let tolerations = pod.spec.tolerations.clone().unwrap_or_default();
    let mut taints: Vec<Taint> = Vec::new();
    for name in rejected_by("TaintToleration") {
        if let Some(node) = cluster.node(name) {
            if let Some(t) = node.taints.iter().find(|t| {
                matches!(t.effect.as_str(), "NoSchedule" | "NoExecute")
                    && !tolerates(&tolerations, t)
            }) {
                if !taints
                    .iter()
                    .any(|x| x.key == t.key && x.value == t.value && x.effect == t.effect)
                {
                    taints.push(t.clone());
                }
            }
        }
    }
    for t in taints {
        let mut changed = pod.clone();
        changed
            .spec
            .tolerations
            .get_or_insert_with(Vec::new)
            .push(toleration(&t));
        let n = fits(cluster, &changed);
        if n > 0 {
            let reserved = if SYSTEM_TAINTS.contains(&t.key.as_str()) {
                ", but those nodes are reserved for system components: add capacity instead"
            } else {
                ""
            };
            out.push(Hint {
                change: format!("add the toleration {}", taint_text(&t)),
                effect: format!("fits on {n} node(s){reserved}"),
                nodes: n,
            });
        }
    }

    // Cordoned nodes, uncordoned one at a time (journalled and reverted).
    for name in rejected_by("NodeUnschedulable") {
        let name = name.to_string();
        let mark = cluster.mark();
        cluster.cordon(&name, false);
        let fits_there = simulate(cluster, pod).feasible.contains(&name);
        cluster.revert(mark);
        if fits_there {
            out.push(Hint {
                change: format!("uncordon node {name} (kubectl uncordon {name})"),
                effect: format!("fits on {name}"),
                nodes: 1,
            });
        }
    }

    // A nodeSelector label no node carries.
    if let Some(selector) = pod.spec.node_selector.as_ref().filter(|s| !s.is_empty()) {
        let missing: BTreeSet<String> = selector
            .iter()
            .filter(|(k, v)| !cluster.nodes.iter().any(|n| n.labels.get(*k) == Some(*v)))
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        if !missing.is_empty() {
            let mut changed = pod.clone();
            changed.spec.node_selector = Some(
                selector
                    .iter()
                    .filter(|(k, v)| !missing.contains(&format!("{k}={v}")))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            );
            let n = fits(cluster, &changed);
            let labels = missing.into_iter().collect::<Vec<_>>().join(", ");
            out.push(Hint {
                change: format!(
                    "no node has the label {labels}: fix the nodeSelector or label a node"
                ),
                effect: if n > 0 {
                    format!("without it the pod fits on {n} node(s)")
                } else {
                    "not enough alone: other constraints still fail".into()
                },
                nodes: n,
            });
        }
    }

    // The pod's own anti-affinity or spread: every domain taken. A lead, checked.
    if !rejected_by("InterPodAffinity").is_empty() || !rejected_by("PodTopologySpread").is_empty() {
        let mut changed = pod.clone();
        if let Some(a) = changed.spec.affinity.as_mut() {
            a.pod_anti_affinity = None;
        }
        for c in changed
            .spec
            .topology_spread_constraints
            .iter_mut()
            .flatten()
        {
            c.when_unsatisfiable = "ScheduleAnyway".into();
        }
        let n = fits(cluster, &changed);
        if n > 0 {
            out.push(Hint {
                change: "every topology domain its required anti-affinity or DoNotSchedule spread allows is taken: add a node in a new domain, or relax the rule".into(),
                effect: format!("without them it fits on {n} node(s)"),
                nodes: n,
            });
        }
    }

    // Volumes: where its volumes can be used, and why those nodes failed.
    if !rejected_by("VolumeZone").is_empty() || !rejected_by("VolumeBinding").is_empty() {
        let usable: Vec<String> = verdict
            .rejected
            .iter()
            .filter(|(n, _)| {
                cluster
                    .node(n)
                    .is_some_and(|node| volumes_admit(cluster, pod, node))
            })
            .map(|(n, s)| format!("{n} ({})", s.reasons.join(", ")))
            .collect();
        let shown: Vec<&str> = usable.iter().take(5).map(String::as_str).collect();
        let more = usable.len().saturating_sub(shown.len());
        out.push(Hint {
            change: if usable.is_empty() {
                "its volumes can be used on none of the nodes: add a node where they live (their zone or node affinity)".into()
            } else {
                format!(
                    "its volumes can be used on {} node(s), which failed: {}{}: free or add capacity there",
                    usable.len(),
                    shown.join("; "),
                    if more > 0 { format!(" and {more} more") } else { String::new() }
                )
            },
            effect: "a lead: the volumes decide where the pod can go".into(),
            nodes: 0,
        });
    }

    // Resources: the node that comes closest, when the resources are all it lacks.
    let mut nearest: Option<(f64, String, String)> = None;
    for name in rejected_by("NodeResourcesFit") {
        let Some(node) = cluster.node(name) else {
            continue;
        };
        let short = insufficient(pod, node);
        // The share of the request the node cannot give, summed: smallest is nearest.
        let gap: f64 = short
            .iter()
            .map(|s| (s.requested - s.free.max(0)) as f64 / s.requested.max(1) as f64)
            .sum();
        let what: Vec<String> = short
            .iter()
            .map(|s| {
                if s.resource == "pods" {
                    format!(
                        "room for one more pod ({} allowed, all used)",
                        s.allocatable
                    )
                } else {
                    format!(
                        "{} {} (requests {}, {} free of {})",
                        quantity(&s.resource, s.requested - s.free.max(0)),
                        s.resource,
                        quantity(&s.resource, s.requested),
                        quantity(&s.resource, s.free.max(0)),
                        quantity(&s.resource, s.allocatable)
                    )
                }
            })
            .collect();
        let text = what.join(" and ");
        if nearest
            .as_ref()
            .is_none_or(|(g, n, _)| gap < *g || (gap == *g && name < n.as_str()))
        {
            nearest = Some((gap, name.to_string(), text));
        }
    }
    if let Some((_, node, text)) = nearest {
        out.push(Hint {
            change: format!("free or add capacity: the nearest node, {node}, lacks {text}"),
            effect: "lower the request, or free that much on the node, or add a node".into(),
            nodes: 0,
        });
    }
    out
}
