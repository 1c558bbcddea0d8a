//! The plugins that read only the node and the pod: NodeUnschedulable, NodeName,
//! TaintToleration, NodeAffinity and NodePorts.

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::Taint;

use super::{Status, tolerates};
use crate::cluster::{NodeInfo, PodInfo};
use crate::selectors::terms_match;
use crate::version::KubeVersion;

/// A cordoned node, unless the pod tolerates `node.kubernetes.io/unschedulable:NoSchedule`.
pub fn unschedulable(pod: &PodInfo, node: &NodeInfo) -> Option<Status> {
    if !node.unschedulable {
        return None;
    }
    let taint = Taint {
        key: "node.kubernetes.io/unschedulable".into(),
        effect: "NoSchedule".into(),
        ..Taint::default()
    };
    let tolerations = pod.spec.tolerations.as_deref().unwrap_or_default();
    (!tolerates(tolerations, &taint))
        .then(|| Status::unresolvable("NodeUnschedulable", "node(s) were unschedulable"))
}

/// A pod that names another node.
pub fn name(pod: &PodInfo, node: &NodeInfo) -> Option<Status> {
    let want = pod.spec.node_name.as_deref().unwrap_or_default();
    (!want.is_empty() && want != node.name)
        .then(|| Status::unresolvable("NodeName", "node(s) didn't match the requested node name"))
}

/// The first `NoSchedule` or `NoExecute` taint, in the node's order, that no toleration
/// tolerates (`PreferNoSchedule` never filters).
pub fn taints(version: KubeVersion, pod: &PodInfo, node: &NodeInfo) -> Option<Status> {
    let tolerations = pod.spec.tolerations.as_deref().unwrap_or_default();
    let taint = node.taints.iter().find(|t| {
        matches!(t.effect.as_str(), "NoSchedule" | "NoExecute") && !tolerates(tolerations, t)
    })?;
    Some(Status::unresolvable(
        "TaintToleration",
        version.untolerated_taint(&taint.key, taint.value.as_deref().unwrap_or_default()),
    ))
}

/// `nodeSelector` and the required node affinity, ANDed; the terms of the affinity ORed.
pub fn affinity(pod: &PodInfo, node: &NodeInfo) -> Option<Status> {
    let selector_ok = pod
        .spec
        .node_selector
        .iter()
        .flatten()
        .all(|(k, v)| node.labels.get(k) == Some(v));
    let required = pod
        .spec
        .affinity
        .as_ref()
        .and_then(|a| a.node_affinity.as_ref())
        .and_then(|na| {
            na.required_during_scheduling_ignored_during_execution
                .as_ref()
        });
    let affinity_ok =
        required.is_none_or(|r| terms_match(&r.node_selector_terms, &node.name, &node.labels));
    (!(selector_ok && affinity_ok)).then(|| {
        Status::unresolvable(
            "NodeAffinity",
            "node(s) didn't match Pod's node affinity/selector",
        )
    })
}

/// NodeAffinity's PreFilter result: when every required term names nodes with
/// `matchFields metadata.name In`, only those nodes are filtered at all (the others count
/// as "didn't satisfy plugin(s) [NodeAffinity]"). A term's name requirements intersect,
/// terms unite; an empty result is "pod affinity terms conflict".
pub fn affinity_node_names(pod: &PodInfo) -> Option<BTreeSet<String>> {
    let terms = &pod
        .spec
        .affinity
        .as_ref()?
        .node_affinity
        .as_ref()?
        .required_during_scheduling_ignored_during_execution
        .as_ref()?
        .node_selector_terms;
    let mut names: Option<BTreeSet<String>> = None;
    for term in terms {
        let mut term_names: Option<BTreeSet<String>> = None;
        for r in term.match_fields.iter().flatten() {
            if r.key == "metadata.name" && r.operator == "In" {
                let set: BTreeSet<String> = r.values.iter().flatten().cloned().collect();
                term_names = Some(match term_names {
                    None => set,
                    Some(prev) => prev.intersection(&set).cloned().collect(),
                });
            }
        }
        // A term without a name requirement admits every node: the terms are ORed.
        let term_names = term_names?;
        names.get_or_insert_with(BTreeSet::new).extend(term_names);
    }
    names
}

/// A host port the node already has bound.
pub fn ports(pod: &PodInfo, node: &NodeInfo) -> Option<Status> {
    let clash = pod
        .host_ports
        .iter()
        .any(|want| node.ports.iter().any(|used| used.conflicts(want)));
    clash.then(|| {
        Status::unschedulable(
            "NodePorts",
            "node(s) didn't have free ports for the requested pod ports",
        )
    })
}
