//! InterPodAffinity's filter: the pod's required affinity and anti-affinity, and the
//! required anti-affinity of the pods already running, by topology domain.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::PodAffinityTerm;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, LabelSelectorRequirement};

use super::Status;
use crate::cluster::{Cluster, NodeInfo, PodInfo};
use crate::selectors::label_selector_matches;

/// A term resolved against the pod that owns it: namespaces, selector with
/// `matchLabelKeys`/`mismatchLabelKeys` merged, topology key.
struct Term {
    key: String,
    namespaces: BTreeSet<String>,
    namespace_selector: Option<LabelSelector>,
    selector: Option<LabelSelector>,
}

impl Term {
    fn new(owner: &PodInfo, t: &PodAffinityTerm) -> Term {
        let mut namespaces: BTreeSet<String> = t.namespaces.iter().flatten().cloned().collect();
        if namespaces.is_empty() && t.namespace_selector.is_none() {
            namespaces.insert(owner.namespace.clone());
        }
        let mut selector = t.label_selector.clone();
        if let Some(sel) = selector.as_mut() {
            let mut merge = |keys: &Option<Vec<String>>, op: &str| {
                for key in keys.iter().flatten() {
                    if let Some(v) = owner.labels.get(key) {
                        sel.match_expressions.get_or_insert_with(Vec::new).push(
                            LabelSelectorRequirement {
                                key: key.clone(),
                                operator: op.into(),
                                values: Some(vec![v.clone()]),
                            },
                        );
                    }
                }
            };
            merge(&t.match_label_keys, "In");
            merge(&t.mismatch_label_keys, "NotIn");
        }
        Term {
            key: t.topology_key.clone(),
            namespaces,
            namespace_selector: t.namespace_selector.clone(),
            selector,
        }
    }

    /// `AffinityTerm.Matches`: the pod is in one of the term's namespaces (listed or
    /// selected by their labels) and its labels match the selector.
    fn matches(&self, cluster: &Cluster, pod: &PodInfo) -> bool {
        let empty = BTreeMap::new();
        let ns_labels = cluster.namespaces.get(&pod.namespace).unwrap_or(&empty);
        (self.namespaces.contains(&pod.namespace)
            || label_selector_matches(self.namespace_selector.as_ref(), ns_labels))
            && label_selector_matches(self.selector.as_ref(), &pod.labels)
    }
}

fn required(pod: &PodInfo, anti: bool) -> &[PodAffinityTerm] {
    let a = pod.spec.affinity.as_ref();
    let terms = if anti {
        a.and_then(|a| a.pod_anti_affinity.as_ref()).and_then(|x| {
            x.required_during_scheduling_ignored_during_execution
                .as_deref()
        })
    } else {
        a.and_then(|a| a.pod_affinity.as_ref()).and_then(|x| {
            x.required_during_scheduling_ignored_during_execution
                .as_deref()
        })
    };
    terms.unwrap_or_default()
}

type Counts = BTreeMap<(String, String), i64>;

/// The counts the PreFilter made for one pod.
pub struct State {
    affinity: Vec<Term>,
    anti_affinity: Vec<Term>,
    affinity_counts: Counts,
    anti_affinity_counts: Counts,
    existing_anti_affinity_counts: Counts,
    /// The pod matches all its own affinity terms (the first of a group may go anywhere).
    self_match: bool,
}

impl State {
    pub fn new(cluster: &Cluster, pod: &PodInfo) -> State {
        let affinity: Vec<Term> = required(pod, false)
            .iter()
            .map(|t| Term::new(pod, t))
            .collect();
        let anti_affinity: Vec<Term> = required(pod, true)
            .iter()
            .map(|t| Term::new(pod, t))
            .collect();
        let mut s = State {
            self_match: !affinity.is_empty() && affinity.iter().all(|t| t.matches(cluster, pod)),
            affinity,
            anti_affinity,
            affinity_counts: Counts::new(),
            anti_affinity_counts: Counts::new(),
            existing_anti_affinity_counts: Counts::new(),
        };
        // Existing pods' anti-affinity against the incoming pod.
        for &i in &cluster.with_anti_affinity {
            let (other, Some(node)) = (&cluster.pods[i], cluster.node_of(i)) else {
                continue;
            };
            for t in required(other, true) {
                let term = Term::new(other, t);
                if let Some(v) = node.labels.get(&term.key) {
                    if term.matches(cluster, pod) {
                        *s.existing_anti_affinity_counts
                            .entry((term.key.clone(), v.clone()))
                            .or_default() += 1;
                    }
                }
            }
        }
        if s.affinity.is_empty() && s.anti_affinity.is_empty() {
            return s;
        }
        for (other, node) in cluster.bound_pods() {
            // The incoming pod's affinity: an existing pod counts if it matches all terms.
            if !s.affinity.is_empty() && s.affinity.iter().all(|t| t.matches(cluster, other)) {
                for t in &s.affinity {
                    if let Some(v) = node.labels.get(&t.key) {
                        *s.affinity_counts
                            .entry((t.key.clone(), v.clone()))
                            .or_default() += 1;
                    }
                }
            }
            for t in &s.anti_affinity {
                if let Some(v) = node.labels.get(&t.key) {
                    if t.matches(cluster, other) {
                        *s.anti_affinity_counts
                            .entry((t.key.clone(), v.clone()))
                            .or_default() += 1;
                    }
                }
            }
        }
        s
    }

    fn satisfies_affinity(&self, node: &NodeInfo) -> bool {
        let mut exist = true;
        for t in &self.affinity {
            let Some(v) = node.labels.get(&t.key) else {
                return false;
            };
            if self
                .affinity_counts
                .get(&(t.key.clone(), v.clone()))
                .copied()
                .unwrap_or(0)
                <= 0
            {
                exist = false;
            }
        }
        exist || (self.affinity_counts.is_empty() && self.self_match)
    }

    fn satisfies_anti_affinity(&self, node: &NodeInfo) -> bool {
        self.anti_affinity.iter().all(|t| {
            node.labels.get(&t.key).is_none_or(|v| {
                self.anti_affinity_counts
                    .get(&(t.key.clone(), v.clone()))
                    .is_none_or(|c| *c <= 0)
            })
        })
    }

    fn satisfies_existing_anti_affinity(&self, node: &NodeInfo) -> bool {
        self.existing_anti_affinity_counts.is_empty()
            || node.labels.iter().all(|(k, v)| {
                self.existing_anti_affinity_counts
                    .get(&(k.clone(), v.clone()))
                    .is_none_or(|c| *c <= 0)
            })
    }

    pub fn filter(&self, node: &NodeInfo) -> Option<Status> {
        if !self.satisfies_affinity(node) {
            return Some(Status::unresolvable(
                "InterPodAffinity",
                "node(s) didn't match pod affinity rules",
            ));
        }
        if !self.satisfies_anti_affinity(node) {
            return Some(Status::unschedulable(
                "InterPodAffinity",
                "node(s) didn't match pod anti-affinity rules",
            ));
        }
        if !self.satisfies_existing_anti_affinity(node) {
            return Some(Status::unschedulable(
                "InterPodAffinity",
                "node(s) didn't satisfy existing pods anti-affinity rules",
            ));
        }
        None
    }
}
