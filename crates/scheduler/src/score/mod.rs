//! Scoring the nodes a pod fits on, with the default profile's score plugins and weights,
//! and placing it the way kube-scheduler does: filter until enough feasible nodes are found
//! (`numFeasibleNodesToFind`), score them, take the best. The real scheduler breaks ties at
//! random; a placement here reports every best node and chooses the first by name.
//!
//! The default profile's score plugins and weights: NodeResourcesFit's LeastAllocated (1),
//! NodeResourcesBalancedAllocation (1), TaintToleration (3, PreferNoSchedule taints),
//! NodeAffinity (2, preferred terms), PodTopologySpread (2, `ScheduleAnyway` constraints or
//! the system defaults over the pod's siblings, `spread.rs`), InterPodAffinity (2,
//! preferences both ways, `affinity.rs`) and ImageLocality (1, `image.rs`).

mod affinity;
pub(crate) mod image;
mod spread;

use k8s_openapi::api::core::v1::Toleration;
use serde::Serialize;

use crate::cluster::{Cluster, NodeInfo, PodInfo};
use crate::filters::{self, tolerates};
use crate::selectors::term_matches;

/// `framework.MaxNodeScore`.
pub const MAX_NODE_SCORE: i64 = 100;

/// Score plugins of the default profile not modelled (none since every default one is; a
/// placement still lists what it left out, for the day a profile adds one).
pub const UNSCORED: &[&str] = &[];

/// One node's score: the weighted total and each plugin's weighted part.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct NodeScore {
    pub node: String,
    pub total: i64,
    pub plugins: Vec<PluginScore>,
}

/// One score plugin's weighted part of a node's score.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct PluginScore {
    pub plugin: &'static str,
    pub score: i64,
}

/// `leastRequestedScore`, per resource, averaged with equal weights (cpu, memory).
fn least_allocated(node: &NodeInfo, pod: &PodInfo) -> i64 {
    let pairs = [
        (node.non_zero.0 + pod.non_zero.0, node.allocatable.milli_cpu),
        (node.non_zero.1 + pod.non_zero.1, node.allocatable.memory),
    ];
    let (mut sum, mut weights) = (0, 0);
    for (requested, capacity) in pairs {
        if capacity == 0 {
            continue;
        }
        let score = if requested > capacity {
            0
        } else {
            (capacity - requested) * MAX_NODE_SCORE / capacity
        };
        sum += score;
        weights += 1;
    }
    if weights == 0 { 0 } else { sum / weights }
}

/// `balancedResourceScorer` on what is requested (no defaults for missing requests):
/// `(1 - std) × 100` of the cpu and memory fractions. `None`: the plugin skips
/// best-effort pods (since 1.33, kubernetes#129138).
fn balanced(cluster: &Cluster, node: &NodeInfo, pod: &PodInfo) -> Option<i64> {
    let (cpu, mem) = (pod.requests.milli_cpu, pod.requests.memory);
    if cpu == 0 && mem == 0 && cluster.version.minor >= 33 {
        return None;
    }
    let mut fractions = Vec::with_capacity(2);
    for (requested, capacity) in [
        (node.requested.milli_cpu + cpu, node.allocatable.milli_cpu),
        (node.requested.memory + mem, node.allocatable.memory),
    ] {
        if capacity == 0 {
            continue;
        }
        fractions.push((requested as f64 / capacity as f64).min(1.0));
    }
    let std = if fractions.len() == 2 {
        ((fractions[0] - fractions[1]) / 2.0).abs()
    } else {
        0.0
    };
    Some(((1.0 - std) * MAX_NODE_SCORE as f64) as i64)
}

/// The pod's tolerations that can tolerate a PreferNoSchedule taint (no effect, or that
/// one): `getAllTolerationPreferNoSchedule`.
fn prefer_no_schedule_tolerations(pod: &PodInfo) -> Vec<Toleration> {
    pod.spec
        .tolerations
        .iter()
        .flatten()
        .filter(|t| {
            t.effect
                .as_deref()
                .is_none_or(|e| e.is_empty() || e == "PreferNoSchedule")
        })
        .cloned()
        .collect()
}

/// PreferNoSchedule taints the pod does not tolerate (raw, before normalising).
fn intolerable_preferences(node: &NodeInfo, tolerations: &[Toleration]) -> i64 {
    node.taints
        .iter()
        .filter(|t| t.effect == "PreferNoSchedule" && !tolerates(tolerations, t))
        .count() as i64
}

/// The weights of the preferred node affinity terms the node matches (raw).
fn preferred_affinity(node: &NodeInfo, pod: &PodInfo) -> i64 {
    pod.spec
        .affinity
        .as_ref()
        .and_then(|a| a.node_affinity.as_ref())
        .and_then(|a| {
            a.preferred_during_scheduling_ignored_during_execution
                .as_ref()
        })
        .into_iter()
        .flatten()
        .filter(|p| p.weight != 0 && term_matches(&p.preference, &node.name, &node.labels))
        .map(|p| i64::from(p.weight))
        .sum()
}

/// `DefaultNormalizeScore`: scaled so the highest raw score is 100; reversed for plugins
/// where less is better.
fn normalize(raw: &mut [i64], reverse: bool) {
    let max = raw.iter().copied().max().unwrap_or(0);
    for s in raw.iter_mut() {
        if max == 0 {
            if reverse {
                *s = MAX_NODE_SCORE;
            }
            continue;
        }
        *s = MAX_NODE_SCORE * *s / max;
        if reverse {
            *s = MAX_NODE_SCORE - *s;
        }
    }
}

/// Scores `pod` on `nodes` (positions in `cluster.nodes`, all feasible).
pub fn score(cluster: &Cluster, pod: &PodInfo, nodes: &[usize]) -> Vec<NodeScore> {
    let parts = parts(cluster, pod, nodes);
    nodes
        .iter()
        .zip(&parts)
        .map(|(&n, p)| node_score(&cluster.nodes[n], p))
        .collect()
}

/// The score plugins in the order a breakdown lists them.
const PLUGINS: [&str; 7] = [
    "NodeResourcesFit",
    "TaintToleration",
    "NodeAffinity",
    "PodTopologySpread",
    "InterPodAffinity",
    "NodeResourcesBalancedAllocation",
    "ImageLocality",
];

/// Each plugin's weighted score for one node, `None` where the plugin skipped the pod.
type Parts = [Option<i64>; 7];

fn node_score(n: &NodeInfo, p: &Parts) -> NodeScore {
    NodeScore {
        node: n.name.clone(),
        total: p.iter().flatten().sum(),
        plugins: PLUGINS
            .iter()
            .zip(p)
            .filter_map(|(plugin, s)| s.map(|score| PluginScore { plugin, score }))
            .collect(),
    }
}

/// The weighted scores of every plugin on every node (no names, no allocation per node:
/// a placement scores hundreds of nodes and keeps five).
fn parts(cluster: &Cluster, pod: &PodInfo, nodes: &[usize]) -> Vec<Parts> {
    let infos: Vec<&NodeInfo> = nodes.iter().map(|&n| &cluster.nodes[n]).collect();
    let tolerations = prefer_no_schedule_tolerations(pod);
    let mut taints: Vec<i64> = infos
        .iter()
        .map(|n| intolerable_preferences(n, &tolerations))
        .collect();
    normalize(&mut taints, true);
    let mut affinity: Vec<i64> = infos.iter().map(|n| preferred_affinity(n, pod)).collect();
    normalize(&mut affinity, false);
    let spread = spread::scores(cluster, pod, nodes);
    let pod_affinity = affinity::scores(cluster, pod, nodes);
    let images = cluster.image_states();
    let pod_images = image::pod_images(pod);
    infos
        .iter()
        .enumerate()
        .map(|(i, n)| {
            [
                Some(least_allocated(n, pod)),
                Some(3 * taints[i]),
                Some(2 * affinity[i]),
                spread.as_ref().map(|s| 2 * s[i]),
                pod_affinity.as_ref().map(|a| 2 * a[i]),
                balanced(cluster, n, pod),
                Some(image::score(images, cluster.nodes.len(), n, &pod_images)),
            ]
        })
        .collect()
}

/// How many node scores a placement keeps.
pub const TOP_SCORES: usize = 5;

/// Where a pod would go.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Placement {
    /// The choice among the best nodes (the first by name); `None` when it fits nowhere.
    pub node: Option<String>,
    /// Every node with the best score (the real scheduler picks one of them at random).
    pub best: Vec<String>,
    /// The best scores (at most [`TOP_SCORES`]), best first.
    pub scores: Vec<NodeScore>,
    /// Score plugins not modelled.
    pub unscored: Vec<&'static str>,
}

/// `numFeasibleNodesToFind` with the default percentage: every node below 100, otherwise
/// `max(100, n × (50 − n/125)% )` with the percentage at least 5.
pub fn feasible_nodes_to_find(nodes: usize) -> usize {
    if nodes < 100 {
        return nodes;
    }
    let pct = (50 - nodes as i64 / 125).max(5) as usize;
    (nodes * pct / 100).max(100)
}

/// Places `pod` as kube-scheduler would: filters nodes from `start` round the list until
/// enough feasible ones are found, scores them, takes the best. Returns the placement and
/// the next start (the scheduler's `nextStartNodeIndex`), so successive placements spread
/// over the cluster as the scheduler's do. A pod that fits nowhere gets no node: ask
/// [`crate::simulate`] for the reasons.
pub fn place(cluster: &Cluster, pod: &PodInfo, start: usize) -> (Placement, usize) {
    let n = cluster.nodes.len();
    let mut placement = Placement {
        node: None,
        best: Vec::new(),
        scores: Vec::new(),
        unscored: UNSCORED.to_vec(),
    };
    if n == 0 {
        return (placement, 0);
    }
    let pre = filters::pre_filter(cluster, pod);
    if pre.rejected.is_some() {
        return (placement, start % n);
    }
    let want = feasible_nodes_to_find(n);
    let mut feasible = Vec::new();
    let mut processed = 0;
    for k in 0..n {
        let at = (start + k) % n;
        processed += 1;
        let node = &cluster.nodes[at];
        if pre
            .node_names
            .as_ref()
            .is_some_and(|names| !names.contains(&node.name))
        {
            continue;
        }
        if filters::filter(cluster, &pre, pod, node).is_none() {
            feasible.push(at);
            if feasible.len() >= want {
                break;
            }
        }
    }
    let next = (start + processed) % n;
    let parts = parts(cluster, pod, &feasible);
    // Best score first, ties by name: `nodes` is sorted by name, so by position.
    let mut ranked: Vec<(i64, usize, usize)> = feasible
        .iter()
        .zip(&parts)
        .enumerate()
        .map(|(i, (&n, p))| (p.iter().flatten().sum(), n, i))
        .collect();
    ranked.sort_unstable_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    if let Some(&(top, _, _)) = ranked.first() {
        placement.best = ranked
            .iter()
            .take_while(|r| r.0 == top)
            .map(|r| cluster.nodes[r.1].name.clone())
            .collect();
        placement.node = placement.best.first().cloned();
    }
    placement.scores = ranked
        .iter()
        .take(TOP_SCORES)
        .map(|&(_, _, i)| node_score(&cluster.nodes[feasible[i]], &parts[i]))
        .collect();
    (placement, next)
}
