//! PodTopologySpread's filter: the pod's `DoNotSchedule` constraints, counted over the
//! topology domains of the nodes the constraint's policies admit.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::TopologySpreadConstraint;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, LabelSelectorRequirement};

use super::{Status, node, tolerates};
use crate::cluster::{Cluster, NodeInfo, PodInfo};
use crate::selectors::label_selector_matches;

struct Constraint {
    key: String,
    max_skew: i64,
    min_domains: Option<i64>,
    selector: Option<LabelSelector>,
    /// Matching pods per domain (the node label's value).
    counts: BTreeMap<String, i64>,
}

/// The counts the PreFilter made for one pod.
pub struct State {
    constraints: Vec<Constraint>,
}

/// The constraint's selector with `matchLabelKeys` turned into `key In (pod's value)`.
fn selector(pod: &PodInfo, sel: Option<&LabelSelector>, keys: &[String]) -> Option<LabelSelector> {
    let mut sel = sel?.clone();
    for key in keys {
        if let Some(v) = pod.labels.get(key) {
            sel.match_expressions
                .get_or_insert_with(Vec::new)
                .push(LabelSelectorRequirement {
                    key: key.clone(),
                    operator: "In".into(),
                    values: Some(vec![v.clone()]),
                });
        }
    }
    Some(sel)
}

impl State {
    pub fn new(cluster: &Cluster, pod: &PodInfo) -> State {
        let specs: Vec<_> = pod
            .spec
            .topology_spread_constraints
            .iter()
            .flatten()
            .filter(|c| c.when_unsatisfiable == "DoNotSchedule")
            .collect();
        let mut constraints: Vec<Constraint> = specs
            .iter()
            .map(|c| Constraint {
                key: c.topology_key.clone(),
                max_skew: i64::from(c.max_skew),
                min_domains: c.min_domains.map(i64::from),
                selector: selector(
                    pod,
                    c.label_selector.as_ref(),
                    c.match_label_keys.as_deref().unwrap_or_default(),
                ),
                counts: BTreeMap::new(),
            })
            .collect();
        if constraints.is_empty() {
            return State { constraints };
        }
        let tolerations = pod.spec.tolerations.as_deref().unwrap_or_default();
        // Whether node `n` counts for constraint `spec`: it has every constraint's key, and
        // passes the constraint's node inclusion policies.
        let eligible = |spec: &TopologySpreadConstraint, n: &NodeInfo| {
            let affinity_policy = spec.node_affinity_policy.as_deref().unwrap_or("Honor");
            let taints_policy = spec.node_taints_policy.as_deref().unwrap_or("Ignore");
            specs.iter().all(|c| n.labels.contains_key(&c.topology_key))
                && !(affinity_policy == "Honor" && node::affinity(pod, n).is_some())
                && !(taints_policy == "Honor"
                    && n.taints.iter().any(|t| {
                        matches!(t.effect.as_str(), "NoSchedule" | "NoExecute")
                            && !tolerates(tolerations, t)
                    }))
        };
        // Every eligible node's domain exists, with or without matching pods.
        for n in &cluster.nodes {
            for (c, spec) in constraints.iter_mut().zip(&specs) {
                if eligible(spec, n) {
                    c.counts.entry(n.labels[&c.key].clone()).or_insert(0);
                }
            }
        }
        // Matching pods are of the pod's namespace: walk those, not every node's pods.
        for (other, n) in cluster.bound_in(&pod.namespace) {
            if other.terminating {
                continue;
            }
            for (c, spec) in constraints.iter_mut().zip(&specs) {
                if label_selector_matches(c.selector.as_ref(), &other.labels) && eligible(spec, n) {
                    *c.counts.entry(n.labels[&c.key].clone()).or_default() += 1;
                }
            }
        }
        State { constraints }
    }

    pub fn filter(&self, pod: &PodInfo, node: &NodeInfo) -> Option<Status> {
        for c in &self.constraints {
            let Some(value) = node.labels.get(&c.key) else {
                return Some(Status::unresolvable(
                    "PodTopologySpread",
                    "node(s) didn't match pod topology spread constraints (missing required label)",
                ));
            };
            let domains = c.counts.len() as i64;
            let min = if c.min_domains.is_some_and(|m| domains < m) {
                0
            } else {
                c.counts
                    .values()
                    .copied()
                    .min()
                    .unwrap_or(i64::from(i32::MAX))
            };
            let own = i64::from(label_selector_matches(c.selector.as_ref(), &pod.labels));
            let skew = c.counts.get(value).copied().unwrap_or(0) + own - min;
            if skew > c.max_skew {
                return Some(Status::unschedulable(
                    "PodTopologySpread",
                    "node(s) didn't match pod topology spread constraints",
                ));
            }
        }
        None
    }
}
