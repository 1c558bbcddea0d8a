//! The filter plugins of kube-scheduler's default profile, in its order. Each looks at one
//! node for one pod and says why it does not fit, in the scheduler's own words; like the
//! real framework, a node stops at its first failing plugin.

mod fit;
mod interpod;
pub mod node;
mod spread;
mod volumes;

use crate::cluster::{Cluster, NodeInfo, PodInfo};

pub use fit::{Shortfall, insufficient};

/// How a node failed: `Unschedulable` may be fixed by preempting pods on it,
/// `UnschedulableAndUnresolvable` cannot be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub enum Code {
    Unschedulable,
    UnschedulableAndUnresolvable,
}

/// A plugin's verdict on one node: its reasons, in the order the plugin gives them.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Status {
    pub plugin: &'static str,
    pub code: Code,
    pub reasons: Vec<String>,
}

impl Status {
    pub fn new(plugin: &'static str, code: Code, reason: impl Into<String>) -> Status {
        Status {
            plugin,
            code,
            reasons: vec![reason.into()],
        }
    }

    pub fn unschedulable(plugin: &'static str, reason: impl Into<String>) -> Status {
        Status::new(plugin, Code::Unschedulable, reason)
    }

    pub fn unresolvable(plugin: &'static str, reason: impl Into<String>) -> Status {
        Status::new(plugin, Code::UnschedulableAndUnresolvable, reason)
    }
}

/// The filter plugins of the default profile since 1.31, in order (`getDefaultPlugins`).
pub const FILTER_ORDER: &[&str] = &[
    "NodeUnschedulable",
    "NodeName",
    "TaintToleration",
    "NodeAffinity",
    "NodePorts",
    "NodeResourcesFit",
    "VolumeRestrictions",
    "NodeVolumeLimits",
    "VolumeBinding",
    "VolumeZone",
    "PodTopologySpread",
    "InterPodAffinity",
];

/// What the PreFilter plugins computed for one pod, once for all nodes.
pub struct PreFilter {
    /// A PreFilter plugin rejected the pod outright (`pod has unbound immediate
    /// PersistentVolumeClaims`): every node gets this, and the message has no histogram.
    pub rejected: Option<Status>,
    /// NodeAffinity's `matchFields metadata.name` restriction: only these nodes are filtered.
    pub node_names: Option<std::collections::BTreeSet<String>>,
    /// The claims the pod's volumes name.
    claims: Vec<(String, bool)>,
    /// The pod has inline disks (GCE PD, EBS, RBD, iSCSI) VolumeRestrictions checks per node.
    inline_disks: bool,
    /// VolumeRestrictions' verdict, the same on every node (a ReadWriteOncePod claim in
    /// use anywhere).
    restricted: Option<Status>,
    spread: spread::State,
    interpod: interpod::State,
}

/// Runs the PreFilter plugins for `pod` over `cluster`.
pub fn pre_filter(cluster: &Cluster, pod: &PodInfo) -> PreFilter {
    let node_names = node::affinity_node_names(pod);
    // PreFilter plugins in profile order; an unresolvable status stops them.
    let rejected = if node_names.as_ref().is_some_and(|n| n.is_empty()) {
        Some(Status::unresolvable(
            "NodeAffinity",
            "pod affinity terms conflict",
        ))
    } else {
        volumes::pre_filter(cluster, pod)
    };
    PreFilter {
        rejected,
        node_names,
        restricted: volumes::restrictions(cluster, pod, &volumes::claims(pod)),
        inline_disks: pod.spec.volumes.iter().flatten().any(|v| {
            v.gce_persistent_disk.is_some()
                || v.aws_elastic_block_store.is_some()
                || v.rbd.is_some()
                || v.iscsi.is_some()
        }),
        claims: volumes::claims(pod),
        spread: spread::State::new(cluster, pod),
        interpod: interpod::State::new(cluster, pod),
    }
}

/// Runs the filter plugins in order on one node; `None` when the pod fits.
pub fn filter(
    cluster: &Cluster,
    pre: &PreFilter,
    pod: &PodInfo,
    node: &NodeInfo,
) -> Option<Status> {
    node::unschedulable(pod, node)
        .or_else(|| node::name(pod, node))
        .or_else(|| node::taints(cluster.version, pod, node))
        .or_else(|| node::affinity(pod, node))
        .or_else(|| node::ports(pod, node))
        .or_else(|| fit::fit(cluster.version, pod, node))
        .or_else(|| {
            pre.inline_disks
                .then(|| volumes::disk_conflict(cluster, pod, node))
                .flatten()
        })
        .or_else(|| pre.restricted.clone())
        .or_else(|| volumes::limits(cluster, pod, &pre.claims, node))
        .or_else(|| volumes::binding(cluster, pod, &pre.claims, node))
        .or_else(|| volumes::zone(cluster, pod, &pre.claims, node))
        .or_else(|| pre.spread.filter(pod, node))
        .or_else(|| pre.interpod.filter(node))
}

/// Whether the pod's volumes can be used on `node` (VolumeBinding's and VolumeZone's
/// filters alone): where a pod pinned by its volumes could go at all.
pub fn volumes_admit(cluster: &Cluster, pod: &PodInfo, node: &NodeInfo) -> bool {
    let claims = volumes::claims(pod);
    volumes::binding(cluster, pod, &claims, node).is_none()
        && volumes::zone(cluster, pod, &claims, node).is_none()
}

/// Whether any toleration tolerates `taint`, exactly as `Toleration.ToleratesTaint`: the
/// effect matches or the toleration has none; the key matches or the toleration has none;
/// `Exists` ignores the value, `Equal` (or no operator) compares it.
pub fn tolerates(
    tolerations: &[k8s_openapi::api::core::v1::Toleration],
    taint: &k8s_openapi::api::core::v1::Taint,
) -> bool {
    tolerations.iter().any(|t| {
        let effect = t.effect.as_deref().unwrap_or_default();
        if !effect.is_empty() && effect != taint.effect {
            return false;
        }
        let key = t.key.as_deref().unwrap_or_default();
        if !key.is_empty() && key != taint.key {
            return false;
        }
        match t.operator.as_deref().unwrap_or_default() {
            "" | "Equal" => {
                t.value.as_deref().unwrap_or_default() == taint.value.as_deref().unwrap_or_default()
            }
            "Exists" => true,
            _ => false,
        }
    })
}
