//! PodTopologySpread's score: the pod's `ScheduleAnyway` constraints, or the system
//! defaults (per host, skew 3; per zone, skew 5) over the pod's siblings — the pods the
//! Services, ReplicaSet, StatefulSet or ReplicationController of the pod select.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::TopologySpreadConstraint;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, LabelSelectorRequirement};

use crate::cluster::{Cluster, PodInfo};
use crate::filters::{node as node_filters, tolerates};

use super::MAX_NODE_SCORE;

const HOSTNAME: &str = "kubernetes.io/hostname";
const ZONE: &str = "topology.kubernetes.io/zone";

struct Constraint {
    key: String,
    max_skew: i64,
    /// `None` selects nothing (the API's nil selector).
    selector: Option<LabelSelector>,
    honour_affinity: bool,
    honour_taints: bool,
}

/// `DefaultSelector`: the labels of every Service selecting the pod, merged, plus the
/// requirements of its controller's selector. Empty when nothing selects the pod.
fn default_selector(cluster: &Cluster, pod: &PodInfo) -> Option<LabelSelector> {
    let mut labels: BTreeMap<String, String> = BTreeMap::new();
    for sel in cluster
        .service_selectors
        .get(&pod.namespace)
        .into_iter()
        .flatten()
    {
        if sel.iter().all(|(k, v)| pod.labels.get(k) == Some(v)) {
            labels.extend(sel.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
    }
    let mut exprs: Vec<LabelSelectorRequirement> = Vec::new();
    if let Some((kind, name)) = &pod.drain.controller {
        if let Some(owner) =
            cluster
                .owner_selectors
                .get(&(pod.namespace.clone(), kind.clone(), name.clone()))
        {
            for (k, v) in owner.match_labels.iter().flatten() {
                exprs.push(LabelSelectorRequirement {
                    key: k.clone(),
                    operator: "In".into(),
                    values: Some(vec![v.clone()]),
                });
            }
            exprs.extend(owner.match_expressions.iter().flatten().cloned());
        }
    }
    (!labels.is_empty() || !exprs.is_empty()).then_some(LabelSelector {
        match_labels: Some(labels),
        match_expressions: Some(exprs),
    })
}

fn constraints(cluster: &Cluster, pod: &PodInfo) -> (Vec<Constraint>, bool) {
    let own = pod
        .spec
        .topology_spread_constraints
        .as_deref()
        .unwrap_or_default();
    if !own.is_empty() {
        let cs = own
            .iter()
            .filter(|c| c.when_unsatisfiable == "ScheduleAnyway")
            .map(|c: &TopologySpreadConstraint| {
                let mut selector = c.label_selector.clone();
                if let Some(sel) = selector.as_mut() {
                    for key in c.match_label_keys.iter().flatten() {
                        if let Some(v) = pod.labels.get(key) {
                            sel.match_expressions.get_or_insert_with(Vec::new).push(
                                LabelSelectorRequirement {
                                    key: key.clone(),
                                    operator: "In".into(),
                                    values: Some(vec![v.clone()]),
                                },
                            );
                        }
                    }
                }
                Constraint {
                    key: c.topology_key.clone(),
                    max_skew: i64::from(c.max_skew),
                    selector,
                    honour_affinity: c.node_affinity_policy.as_deref() != Some("Ignore"),
                    honour_taints: c.node_taints_policy.as_deref() == Some("Honor"),
                }
            })
            .collect();
        return (cs, true);
    }
    let Some(selector) = default_selector(cluster, pod) else {
        return (Vec::new(), false);
    };
    let system = [(HOSTNAME, 3), (ZONE, 5)]
        .into_iter()
        .map(|(key, max_skew)| Constraint {
            key: key.into(),
            max_skew,
            selector: Some(selector.clone()),
            honour_affinity: true,
            honour_taints: false,
        })
        .collect();
    (system, false)
}

/// Raw scores per feasible node (`None`: the plugin skips the pod), then normalised.
pub(super) fn scores(cluster: &Cluster, pod: &PodInfo, feasible: &[usize]) -> Option<Vec<i64>> {
    let (cs, require_all) = constraints(cluster, pod);
    if cs.is_empty() {
        return None;
    }
    // Each constraint's domains, node by node (looked up once per cluster, not per
    // placement: label lookups were most of a placement at 150k pods).
    let topo: Vec<_> = cs.iter().map(|c| cluster.topology(&c.key)).collect();
    let has_all = |n: usize| topo.iter().all(|t| t.of_node[n].is_some());
    let mut ignored: BTreeSet<usize> = BTreeSet::new();
    // Per constraint, the domains of the feasible nodes (per-zone counts only count there).
    let mut counts: Vec<Vec<Option<i64>>> =
        topo.iter().map(|t| vec![None; t.values.len()]).collect();
    for &f in feasible {
        if require_all && !has_all(f) {
            ignored.insert(f);
            continue;
        }
        for (i, c) in cs.iter().enumerate() {
            if c.key != HOSTNAME {
                if let Some(d) = topo[i].of_node[f] {
                    counts[i][d] = Some(0);
                }
            }
        }
    }
    let weights: Vec<f64> = cs
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let size = if c.key == HOSTNAME {
                feasible.len() - ignored.len()
            } else {
                counts[i].iter().flatten().count()
            };
            ((size + 2) as f64).ln()
        })
        .collect();
    let tolerations = pod.spec.tolerations.as_deref().unwrap_or_default();
    // Whether a node passes the pod's node affinity, asked once per node.
    let mut affine: BTreeMap<usize, bool> = BTreeMap::new();
    // Matching pods per node, for the per-host constraints (counted at Score on the node
    // itself, whatever the policies). Only the pod's namespace counts, and only the pods
    // each selector matches (looked up once per selector, not matched for every pod).
    let mut per_node: Vec<BTreeMap<usize, i64>> = vec![BTreeMap::new(); cs.len()];
    for (i, c) in cs.iter().enumerate() {
        for &p in cluster
            .selected_in(&pod.namespace, c.selector.as_ref())
            .iter()
        {
            let Some(at) = cluster.node_index_of(p) else {
                continue;
            };
            if cluster.pods[p].terminating {
                continue;
            }
            if c.key == HOSTNAME {
                *per_node[i].entry(at).or_default() += 1;
                continue;
            }
            if require_all && !has_all(at) {
                continue;
            }
            let Some(d) = topo[i].of_node[at] else {
                continue;
            };
            if counts[i][d].is_none() {
                continue;
            }
            let n = &cluster.nodes[at];
            if c.honour_affinity
                && !*affine
                    .entry(at)
                    .or_insert_with(|| node_filters::affinity(pod, n).is_none())
            {
                continue;
            }
            if c.honour_taints
                && n.taints.iter().any(|t| {
                    matches!(t.effect.as_str(), "NoSchedule" | "NoExecute")
                        && !tolerates(tolerations, t)
                })
            {
                continue;
            }
            if let Some(count) = counts[i][d].as_mut() {
                *count += 1;
            }
        }
    }
    let raw: Vec<Option<i64>> = feasible
        .iter()
        .map(|&f| {
            if ignored.contains(&f) {
                return None;
            }
            let mut score = 0.0;
            for (i, c) in cs.iter().enumerate() {
                if let Some(d) = topo[i].of_node[f] {
                    let cnt = if c.key == HOSTNAME {
                        per_node[i].get(&f).copied().unwrap_or(0)
                    } else {
                        counts[i][d].unwrap_or(0)
                    };
                    score += cnt as f64 * weights[i] + (c.max_skew - 1) as f64;
                }
            }
            Some(score.round() as i64)
        })
        .collect();
    let valid = raw.iter().flatten();
    let min = valid.clone().copied().min().unwrap_or(0);
    let max = valid.copied().max().unwrap_or(0);
    Some(
        raw.iter()
            .map(|s| match s {
                None => 0,
                Some(_) if max == 0 => MAX_NODE_SCORE,
                Some(s) => MAX_NODE_SCORE * (max + min - s) / max,
            })
            .collect(),
    )
}
