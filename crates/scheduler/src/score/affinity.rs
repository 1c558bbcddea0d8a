//! InterPodAffinity's score: the pod's preferred affinity (+weight) and anti-affinity
//! (−weight) toward the pods already running, and the running pods' own preferences and
//! required affinity (`hardPodAffinityWeight` 1) toward it, summed per topology domain.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{PodAffinityTerm, WeightedPodAffinityTerm};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

use crate::cluster::{Cluster, NodeInfo, PodInfo};
use crate::selectors::label_selector_matches;

use super::MAX_NODE_SCORE;

/// `hardPodAffinityWeight`, the default of InterPodAffinityArgs.
const HARD_POD_AFFINITY_WEIGHT: i64 = 1;

fn preferred(pod: &PodInfo, anti: bool) -> &[WeightedPodAffinityTerm] {
    let a = pod.spec.affinity.as_ref();
    let terms = if anti {
        a.and_then(|a| a.pod_anti_affinity.as_ref()).and_then(|x| {
            x.preferred_during_scheduling_ignored_during_execution
                .as_deref()
        })
    } else {
        a.and_then(|a| a.pod_affinity.as_ref()).and_then(|x| {
            x.preferred_during_scheduling_ignored_during_execution
                .as_deref()
        })
    };
    terms.unwrap_or_default()
}

fn required_affinity(pod: &PodInfo) -> &[PodAffinityTerm] {
    pod.spec
        .affinity
        .as_ref()
        .and_then(|a| a.pod_affinity.as_ref())
        .and_then(|x| {
            x.required_during_scheduling_ignored_during_execution
                .as_deref()
        })
        .unwrap_or_default()
}

/// Whether `term` of `owner` matches `pod` (namespaces as the filter reads them).
fn matches(cluster: &Cluster, owner: &PodInfo, term: &PodAffinityTerm, pod: &PodInfo) -> bool {
    let listed = term.namespaces.as_deref().unwrap_or_default();
    let in_ns = if listed.is_empty() && term.namespace_selector.is_none() {
        pod.namespace == owner.namespace
    } else {
        let empty = BTreeMap::new();
        let labels = cluster.namespaces.get(&pod.namespace).unwrap_or(&empty);
        listed.contains(&pod.namespace)
            || label_selector_matches(term.namespace_selector.as_ref(), labels)
    };
    in_ns
        && label_selector_matches(
            term.label_selector.as_ref().map(|s: &LabelSelector| s),
            &pod.labels,
        )
}

/// Raw scores per feasible node, normalised to 0–100 between the lowest and the highest;
/// `None` when nothing has an affinity to weigh (the plugin skips the pod).
pub(super) fn scores(cluster: &Cluster, pod: &PodInfo, feasible: &[usize]) -> Option<Vec<i64>> {
    let pod_has = !preferred(pod, false).is_empty() || !preferred(pod, true).is_empty();
    // Topology key → label value → score: few keys, so a node's score is a lookup per key.
    let mut domain: BTreeMap<String, BTreeMap<String, i64>> = BTreeMap::new();
    let mut add = |key: &str, node: &NodeInfo, w: i64| {
        if let Some(v) = node.labels.get(key) {
            *domain
                .entry(key.to_string())
                .or_default()
                .entry(v.clone())
                .or_default() += w;
        }
    };
    // Without preferences of its own, only pods with affinity terms can weigh on it.
    let others: Box<dyn Iterator<Item = (&PodInfo, &NodeInfo)>> = if pod_has {
        Box::new(cluster.bound_pods())
    } else {
        Box::new(
            cluster
                .with_affinity
                .iter()
                .filter_map(|&p| Some((&cluster.pods[p], cluster.node_of(p)?))),
        )
    };
    for (other, node) in others {
        for w in preferred(pod, false) {
            if matches(cluster, pod, &w.pod_affinity_term, other) {
                add(&w.pod_affinity_term.topology_key, node, i64::from(w.weight));
            }
        }
        for w in preferred(pod, true) {
            if matches(cluster, pod, &w.pod_affinity_term, other) {
                add(
                    &w.pod_affinity_term.topology_key,
                    node,
                    -i64::from(w.weight),
                );
            }
        }
        if node.labels.is_empty() {
            continue;
        }
        for t in required_affinity(other) {
            if matches(cluster, other, t, pod) {
                add(&t.topology_key, node, HARD_POD_AFFINITY_WEIGHT);
            }
        }
        for w in preferred(other, false) {
            if matches(cluster, other, &w.pod_affinity_term, pod) {
                add(&w.pod_affinity_term.topology_key, node, i64::from(w.weight));
            }
        }
        for w in preferred(other, true) {
            if matches(cluster, other, &w.pod_affinity_term, pod) {
                add(
                    &w.pod_affinity_term.topology_key,
                    node,
                    -i64::from(w.weight),
                );
            }
        }
    }
    if domain.is_empty() {
        return None;
    }
    let raw: Vec<i64> = feasible
        .iter()
        .map(|&f| {
            let n = &cluster.nodes[f];
            domain
                .iter()
                .filter_map(|(k, values)| values.get(n.labels.get(k)?))
                .sum()
        })
        .collect();
    let min = raw.iter().copied().min().unwrap_or(0);
    let max = raw.iter().copied().max().unwrap_or(0);
    Some(
        raw.iter()
            .map(|s| {
                if max > min {
                    (MAX_NODE_SCORE as f64 * ((s - min) as f64 / (max - min) as f64)) as i64
                } else {
                    0
                }
            })
            .collect(),
    )
}
