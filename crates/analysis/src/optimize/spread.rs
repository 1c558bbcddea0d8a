//! Contention and affinity: replicas piled on one node or one zone, and workloads that
//! saturate the same node together, each with a placement change simulated to still fit.
//!
//! - Piled up: a Deployment or StatefulSet with two or more running replicas, all on one
//!   node (a node failure takes it down) or all in one zone of a cluster with several. The
//!   change is a topology spread constraint on that key (maxSkew 1, `ScheduleAnyway`, so it
//!   never blocks a rollout), and the simulation places the workload's pods again, one by
//!   one, with it: the result says where they land and whether they now spread.
//! - Contention: from the usage series, a node where the pods' summed CPU (or memory) use
//!   reached 90% of its allocatable at some instant; the two workloads using most of it
//!   then are the pair. The change is a preferred pod anti-affinity of the larger on the
//!   smaller's labels (hostname), simulated the same way.
//!
//! Every simulation is reverted; the cluster is the same afterwards.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Affinity, PodAffinityTerm, PodAntiAffinity, PodSpec, TopologySpreadConstraint,
    WeightedPodAffinityTerm,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use serde::Serialize;

use intel_engine::{ObjectRef, Relations};
use intel_model::Snapshot;
use intel_scheduler::{Cluster, place};

use crate::detect::ContainerSeries;
use crate::diagnose::remedy::values::shell_quote;

const HOSTNAME: &str = "kubernetes.io/hostname";
const ZONE: &str = "topology.kubernetes.io/zone";
/// A node is saturated when its pods use this share of an allocatable resource.
const SATURATED: f64 = 0.9;

/// One proposed placement change and what the simulation made of it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Change {
    /// `PiledOnNode`, `PiledInZone`, `Contention` (and `ZoneSpread`, for the traffic analysis).
    pub kind: String,
    pub subject: String,
    pub message: String,
    /// The nodes (or zones) the pods are on now, and after the change, by count.
    pub before: BTreeMap<String, usize>,
    pub after: BTreeMap<String, usize>,
    /// Every pod found a node with the change.
    pub fits: bool,
    /// The `kubectl patch` that makes the change.
    pub patch: String,
}

fn subject(w: &ObjectRef) -> String {
    format!("{} {}/{}", w.kind, w.namespace, w.name)
}

/// The pods' positions in the cluster, running ones only.
pub(super) fn bound_pods(cluster: &Cluster, pods: &[ObjectRef]) -> Vec<usize> {
    pods.iter()
        .filter_map(|p| cluster.pod(&p.namespace, &p.name))
        .filter(|&i| cluster.node_of(i).is_some())
        .collect()
}

fn domain(cluster: &Cluster, i: usize, key: &str) -> Option<String> {
    cluster.node_of(i).and_then(|n| n.labels.get(key).cloned())
}

pub(super) fn counts(cluster: &Cluster, pods: &[usize], key: &str) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for &i in pods {
        if let Some(d) = domain(cluster, i, key) {
            *out.entry(d).or_default() += 1;
        }
    }
    out
}

/// Places `pods` again one by one with `edit` applied to each, and says where they went
/// (by `key`) and whether all fit; the cluster is reverted.
fn simulate(
    cluster: &mut Cluster,
    pods: &[usize],
    key: &str,
    edit: &dyn Fn(&mut k8s_openapi::api::core::v1::PodSpec),
) -> (BTreeMap<String, usize>, bool) {
    let mark = cluster.mark();
    for &i in pods {
        cluster.unbind(i);
    }
    let mut fits = true;
    let mut start = 0;
    let mut edited_at = Vec::new();
    for &i in pods {
        let mut pod = cluster.pods[i].unbound();
        edit(&mut pod.spec);
        let (placement, next) = place(cluster, &pod, start);
        start = next;
        match placement.node {
            Some(node) => {
                cluster.bind(i, &node);
                edited_at.push(i);
            }
            None => fits = false,
        }
    }
    let after = counts(cluster, &edited_at, key);
    cluster.revert(mark);
    (after, fits)
}

/// The workload's pod template labels (its selector's matchLabels, which its pods carry).
fn match_labels(cluster: &Cluster, pods: &[usize]) -> BTreeMap<String, String> {
    let Some(&first) = pods.first() else {
        return BTreeMap::new();
    };
    let mut labels = cluster.pods[first].labels.clone();
    // Labels every replica carries, minus the ones a controller varies per pod.
    for &p in pods {
        labels.retain(|k, v| cluster.pods[p].labels.get(k) == Some(v));
    }
    labels.retain(|k, _| {
        k != "pod-template-hash"
            && k != "controller-revision-hash"
            && k != "statefulset.kubernetes.io/pod-name"
            && k != "apps.kubernetes.io/pod-index"
    });
    labels
}

fn patch(w: &ObjectRef, spec: serde_json::Value) -> String {
    format!(
        "kubectl -n {} patch {} --type=merge -p {}",
        shell_quote(&w.namespace),
        shell_quote(&format!("{}/{}", w.kind.to_ascii_lowercase(), w.name)),
        shell_quote(&serde_json::json!({"spec": {"template": {"spec": spec}}}).to_string())
    )
}

/// Replicas piled on one node or zone.
fn piled(
    cluster: &mut Cluster,
    w: &ObjectRef,
    pods: &[usize],
    zones: usize,
    template: &PodSpec,
) -> Option<Change> {
    if pods.len() < 2 {
        return None;
    }
    let nodes = counts(cluster, pods, HOSTNAME);
    let in_zones = counts(cluster, pods, ZONE);
    let (kind, key, before, what) = if nodes.len() == 1 && cluster.nodes.len() > 1 {
        ("PiledOnNode", HOSTNAME, nodes, "node")
    } else if in_zones.len() == 1 && zones > 1 {
        ("PiledInZone", ZONE, in_zones, "zone")
    } else {
        return None;
    };
    Some(spread_change(
        cluster,
        w,
        pods,
        key,
        (kind, what),
        before,
        template,
    ))
}

/// The workload's pods spread over zones (a constraint on the zone key), simulated: what
/// the traffic analysis proposes for a callee missing from its callers' zones. `None`
/// in a single-zone cluster or without running pods.
pub(super) fn zone_spread(
    cluster: &mut Cluster,
    w: &ObjectRef,
    pods: &[usize],
    zones: usize,
    template: &PodSpec,
) -> Option<Change> {
    if zones < 2 || pods.is_empty() {
        return None;
    }
    let before = counts(cluster, pods, ZONE);
    Some(spread_change(
        cluster,
        w,
        pods,
        ZONE,
        ("ZoneSpread", "zone"),
        before,
        template,
    ))
}

/// A topology spread on `key` added to the workload template's own,
/// simulated; `(kind, what)` name the finding and the domain.
fn spread_change(
    cluster: &mut Cluster,
    w: &ObjectRef,
    pods: &[usize],
    key: &str,
    (kind, what): (&str, &str),
    before: BTreeMap<String, usize>,
    template: &PodSpec,
) -> Change {
    let labels = match_labels(cluster, pods);
    let existing = template
        .topology_spread_constraints
        .clone()
        .unwrap_or_default();
    let constraint = TopologySpreadConstraint {
        max_skew: 1,
        topology_key: key.to_string(),
        when_unsatisfiable: "ScheduleAnyway".into(),
        label_selector: Some(LabelSelector {
            match_labels: Some(labels),
            match_expressions: None,
        }),
        ..Default::default()
    };
    // The API refuses two constraints with the same key and `whenUnsatisfiable`.
    let mut all: Vec<TopologySpreadConstraint> = existing
        .into_iter()
        .filter(|c| !(c.topology_key == key && c.when_unsatisfiable == "ScheduleAnyway"))
        .collect();
    all.push(constraint);
    let with = all.clone();
    let (after, fits) = simulate(cluster, pods, key, &|spec| {
        spec.topology_spread_constraints = Some(with.clone());
    });
    let spread = after.len() > 1;
    Change {
        kind: kind.into(),
        subject: subject(w),
        message: format!(
            "all {} running replicas of {} are in one {what} ({}); with a topology spread on {key} they {}",
            pods.len(),
            subject(w),
            before.keys().next().cloned().unwrap_or_default(),
            match (fits, spread) {
                (true, true) => format!("spread over {} {what}s and all fit", after.len()),
                (true, false) => format!("still land in one {what}: no other {what} has room"),
                (false, _) => "do not all fit".into(),
            }
        ),
        before,
        after,
        fits: fits && spread,
        patch: patch(
            w,
            serde_json::json!({"topologySpreadConstraints": serde_json::to_value(&all).unwrap_or_default()}),
        ),
    }
}

/// Per node, the instants its pods' summed use crossed [`SATURATED`] of allocatable, and
/// per such instant the use by workload.
fn contention(
    cluster: &mut Cluster,
    series: &BTreeMap<(String, String, String), ContainerSeries>,
    owner_of: &BTreeMap<(String, String), ObjectRef>,
    pods_of: &BTreeMap<ObjectRef, Vec<usize>>,
    templates: &BTreeMap<ObjectRef, PodSpec>,
) -> Vec<Change> {
    // node → time → (cpu, memory, per workload cpu+mem share)
    type At = BTreeMap<i64, (f64, f64, BTreeMap<ObjectRef, f64>)>;
    let mut nodes: BTreeMap<String, At> = BTreeMap::new();
    for ((ns, pod, _), s) in series {
        let Some(i) = cluster.pod(ns, pod) else {
            continue;
        };
        let Some(node) = cluster.node_of(i) else {
            continue;
        };
        let (cpu_alloc, mem_alloc) = (
            node.allocatable.milli_cpu.max(1) as f64,
            node.allocatable.memory.max(1) as f64,
        );
        let owner = owner_of.get(&(ns.clone(), pod.clone()));
        let at = nodes.entry(node.name.clone()).or_default();
        for &(t, v) in &s.cpu_millis {
            let e = at.entry(t).or_default();
            e.0 += v / cpu_alloc;
            if let Some(o) = owner {
                *e.2.entry(o.clone()).or_default() += v / cpu_alloc;
            }
        }
        for &(t, v) in &s.memory_bytes {
            let e = at.entry(t).or_default();
            e.1 += v / mem_alloc;
            if let Some(o) = owner {
                *e.2.entry(o.clone()).or_default() += v / mem_alloc;
            }
        }
    }
    let mut pairs: BTreeMap<(ObjectRef, ObjectRef), (String, f64)> = BTreeMap::new();
    for (node, at) in &nodes {
        for (cpu, mem, by) in at.values() {
            let worst = cpu.max(*mem);
            if worst < SATURATED {
                continue;
            }
            let mut top: Vec<(&ObjectRef, f64)> = by.iter().map(|(w, x)| (w, *x)).collect();
            top.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(b.0)));
            if let [(a, _), (b, _), ..] = top.as_slice() {
                let e = pairs
                    .entry(((*a).clone(), (*b).clone()))
                    .or_insert((node.clone(), 0.0));
                if worst > e.1 {
                    *e = (node.clone(), worst);
                }
            }
        }
    }
    let mut out = Vec::new();
    for ((a, b), (node, worst)) in pairs {
        let (Some(pa), Some(pb)) = (pods_of.get(&a), pods_of.get(&b)) else {
            continue;
        };
        let other = match_labels(cluster, pb);
        let term = WeightedPodAffinityTerm {
            weight: 100,
            pod_affinity_term: PodAffinityTerm {
                topology_key: HOSTNAME.into(),
                label_selector: Some(LabelSelector {
                    match_labels: Some(other),
                    match_expressions: None,
                }),
                // A term without namespaces selects pods of the pod's own namespace only.
                namespaces: (a.namespace != b.namespace).then(|| vec![b.namespace.clone()]),
                ..Default::default()
            },
        };
        let mut affinity = templates
            .get(&a)
            .and_then(|t| t.affinity.clone())
            .unwrap_or_default();
        let anti = affinity
            .pod_anti_affinity
            .get_or_insert_with(PodAntiAffinity::default);
        anti.preferred_during_scheduling_ignored_during_execution
            .get_or_insert_with(Vec::new)
            .push(term);
        let with: Affinity = affinity.clone();
        let before = counts(cluster, pa, HOSTNAME);
        let (after, fits) = simulate(cluster, pa, HOSTNAME, &|spec| {
            spec.affinity = Some(with.clone());
        });
        let apart = after.keys().all(|n| {
            !pb.iter()
                .any(|&p| domain(cluster, p, HOSTNAME).as_deref() == Some(n))
        });
        out.push(Change {
            kind: "Contention".into(),
            subject: subject(&a),
            message: format!(
                "node {node}'s pods used {:.0}% of its CPU or memory at once, {} and {} the most of it; with a preferred anti-affinity to {} the first {}",
                worst * 100.0,
                subject(&a),
                subject(&b),
                subject(&b),
                match (fits, apart) {
                    (true, true) => "runs on other nodes and fits".to_string(),
                    (true, false) => "still shares a node with it: no other node has room".into(),
                    (false, _) => "does not fit".into(),
                }
            ),
            before,
            after,
            fits: fits && apart,
            patch: patch(
                &a,
                serde_json::json!({"affinity": serde_json::to_value(&affinity).unwrap_or_default()}),
            ),
        });
    }
    out
}

/// The workload's pod template spec (what a patch edits: a pod's spec may come from an
/// older template or an admission webhook).
pub(super) fn template(snap: &Snapshot, w: &ObjectRef) -> PodSpec {
    snap.index()
        .by_name(&w.kind, &w.namespace, &w.name)
        .first()
        .and_then(|id| snap.get(*id))
        .and_then(|o| o.value().pointer("/spec/template/spec").cloned())
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_default()
}

/// Every piled-up workload and contending pair, simulated.
pub(crate) fn changes(
    snap: &Snapshot,
    cluster: &mut Cluster,
    rel: &Relations,
    series: &BTreeMap<(String, String, String), ContainerSeries>,
) -> Vec<Change> {
    let zones = cluster
        .nodes
        .iter()
        .filter_map(|n| n.labels.get(ZONE))
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    let mut out = Vec::new();
    let mut owner_of = BTreeMap::new();
    let mut pods_of = BTreeMap::new();
    let mut templates = BTreeMap::new();
    for w in rel.workloads() {
        if !matches!(w.kind.as_str(), "Deployment" | "StatefulSet") {
            continue;
        }
        let refs = rel.pods_of(w);
        for p in &refs {
            owner_of.insert((p.namespace.clone(), p.name.clone()), w.clone());
        }
        let pods = bound_pods(cluster, &refs);
        let spec = template(snap, w);
        if let Some(c) = piled(cluster, w, &pods, zones, &spec) {
            out.push(c);
        }
        pods_of.insert(w.clone(), pods);
        templates.insert(w.clone(), spec);
    }
    out.extend(contention(cluster, series, &owner_of, &pods_of, &templates));
    out
}
