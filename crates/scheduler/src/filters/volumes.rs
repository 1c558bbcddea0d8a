//! The volume plugins: VolumeRestrictions (ReadWriteOncePod), NodeVolumeLimits (CSI attach
//! limits), VolumeBinding (claims that must exist and be bound, bound volumes' node
//! affinity, where a delayed claim can be bound or provisioned) and VolumeZone.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim};

use super::Status;
use crate::cluster::{Cluster, NodeInfo, PodInfo};
use crate::selectors::terms_match;

/// The claims a pod's volumes name, with whether the claim is a generic ephemeral volume's
/// (named `<pod>-<volume>` and made by a controller). Computed once per pod (PreFilter):
/// the filters run on every node.
pub fn claims(pod: &PodInfo) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    for v in pod.spec.volumes.iter().flatten() {
        if let Some(pvc) = &v.persistent_volume_claim {
            out.push((pvc.claim_name.clone(), false));
        } else if v.ephemeral.is_some() {
            out.push((format!("{}-{}", pod.name, v.name), true));
        }
    }
    out
}

fn claim<'c>(cluster: &'c Cluster, pod: &PodInfo, name: &str) -> Option<&'c PersistentVolumeClaim> {
    cluster.pvcs.get(&(pod.namespace.clone(), name.to_string()))
}

fn bound_volume<'c>(
    cluster: &'c Cluster,
    pvc: &PersistentVolumeClaim,
) -> Option<&'c PersistentVolume> {
    let name = pvc
        .spec
        .as_ref()?
        .volume_name
        .as_deref()
        .filter(|n| !n.is_empty())?;
    cluster.pvs.get(name)
}

fn class_name(pvc: &PersistentVolumeClaim) -> Option<&str> {
    pvc.spec
        .as_ref()
        .and_then(|s| s.storage_class_name.as_deref())
        .or_else(|| {
            pvc.metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get("volume.beta.kubernetes.io/storage-class"))
                .map(String::as_str)
        })
        .filter(|c| !c.is_empty())
}

/// Whether an unbound claim waits for its first consumer (its StorageClass says
/// `WaitForFirstConsumer`). `None` when the snapshot has no such StorageClass to tell.
fn delayed(cluster: &Cluster, pvc: &PersistentVolumeClaim) -> Option<bool> {
    let Some(class) = class_name(pvc) else {
        return Some(false);
    };
    let sc = cluster.classes.get(class)?;
    Some(sc.volume_binding_mode.as_deref() == Some("WaitForFirstConsumer"))
}

/// VolumeBinding's PreFilter: every claim exists, is not being deleted, names a volume
/// that exists if it is bound, and an unbound one waits for its consumer rather than for
/// an immediate binding that has not happened.
pub fn pre_filter(cluster: &Cluster, pod: &PodInfo) -> Option<Status> {
    let fail = |reason: String| Some(Status::unresolvable("VolumeBinding", reason));
    let mut unbound_immediate = false;
    for (name, ephemeral) in claims(pod) {
        let Some(pvc) = claim(cluster, pod, &name) else {
            return if ephemeral {
                fail(format!(
                    "waiting for ephemeral volume controller to create the persistentvolumeclaim \"{name}\""
                ))
            } else {
                fail(format!("persistentvolumeclaim \"{name}\" not found"))
            };
        };
        if pvc.metadata.deletion_timestamp.is_some() {
            return fail(format!("persistentvolumeclaim \"{name}\" is being deleted"));
        }
        let volume = pvc
            .spec
            .as_ref()
            .and_then(|s| s.volume_name.as_deref())
            .unwrap_or_default();
        if !volume.is_empty() {
            if !cluster.pvs.contains_key(volume) && !cluster.pvs.is_empty() {
                return fail(format!(
                    "persistentvolumeclaim \"{name}\" bound to non-existent persistentvolume \"{volume}\""
                ));
            }
        } else if delayed(cluster, pvc) == Some(false) {
            unbound_immediate = true;
        }
    }
    unbound_immediate.then(|| {
        Status::unresolvable(
            "VolumeBinding",
            "pod has unbound immediate PersistentVolumeClaims",
        )
    })
}

fn access_modes(pvc: &PersistentVolumeClaim) -> &[String] {
    pvc.spec
        .as_ref()
        .and_then(|s| s.access_modes.as_deref())
        .unwrap_or_default()
}

/// VolumeRestrictions: a ReadWriteOncePod claim another pod already uses, anywhere.
pub fn restrictions(cluster: &Cluster, pod: &PodInfo, claims: &[(String, bool)]) -> Option<Status> {
    if claims.is_empty() {
        return None;
    }
    let rwop: BTreeSet<&String> = claims
        .iter()
        .filter(|(name, _)| {
            claim(cluster, pod, name)
                .is_some_and(|c| access_modes(c).iter().any(|m| m == "ReadWriteOncePod"))
        })
        .map(|(name, _)| name)
        .collect();
    if rwop.is_empty() {
        return None;
    }
    let used = cluster.bound_pods().any(|(other, _)| {
        other.namespace == pod.namespace
            && other.name != pod.name
            && self::claims(other).iter().any(|(n, _)| rwop.contains(n))
    });
    used.then(|| {
        Status::unschedulable(
            "VolumeRestrictions",
            "node has pod using PersistentVolumeClaim with the same name and ReadWriteOncePod access mode",
        )
    })
}

/// `isVolumeConflict`: two inline disks that cannot be attached to one node twice — the
/// same GCE PD unless both read-only, the same EBS volume, the same RBD image (pool and
/// image, a monitor in common) or iSCSI IQN unless both read-only.
fn disks_conflict(
    a: &k8s_openapi::api::core::v1::Volume,
    b: &k8s_openapi::api::core::v1::Volume,
) -> bool {
    if let (Some(x), Some(y)) = (&a.gce_persistent_disk, &b.gce_persistent_disk) {
        return x.pd_name == y.pd_name && !(x.read_only == Some(true) && y.read_only == Some(true));
    }
    if let (Some(x), Some(y)) = (&a.aws_elastic_block_store, &b.aws_elastic_block_store) {
        return x.volume_id == y.volume_id;
    }
    if let (Some(x), Some(y)) = (&a.iscsi, &b.iscsi) {
        return x.iqn == y.iqn && !(x.read_only == Some(true) && y.read_only == Some(true));
    }
    if let (Some(x), Some(y)) = (&a.rbd, &b.rbd) {
        let pool = |r: &k8s_openapi::api::core::v1::RBDVolumeSource| {
            r.pool.clone().unwrap_or_else(|| "rbd".into())
        };
        return x.monitors.iter().any(|m| y.monitors.contains(m))
            && pool(x) == pool(y)
            && x.image == y.image
            && !(x.read_only == Some(true) && y.read_only == Some(true));
    }
    false
}

/// VolumeRestrictions' disk check: an inline disk of the pod already attached on the node
/// by another pod.
pub fn disk_conflict(cluster: &Cluster, pod: &PodInfo, node: &NodeInfo) -> Option<Status> {
    let disks: Vec<&k8s_openapi::api::core::v1::Volume> = pod
        .spec
        .volumes
        .iter()
        .flatten()
        .filter(|v| {
            v.gce_persistent_disk.is_some()
                || v.aws_elastic_block_store.is_some()
                || v.rbd.is_some()
                || v.iscsi.is_some()
        })
        .collect();
    if disks.is_empty() {
        return None;
    }
    let clash = node.pods.iter().any(|&p| {
        cluster.pods[p]
            .spec
            .volumes
            .iter()
            .flatten()
            .any(|theirs| disks.iter().any(|ours| disks_conflict(ours, theirs)))
    });
    clash.then(|| Status::unschedulable("VolumeRestrictions", "node(s) had no available disk"))
}

/// The CSI volumes (driver → volume handles) a pod's claims put on a node: bound claims by
/// their volume's handle, unbound ones as a new volume of their class's provisioner.
fn csi_volumes(
    cluster: &Cluster,
    pod: &PodInfo,
    claims: &[(String, bool)],
) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (name, _) in claims {
        let Some(pvc) = claim(cluster, pod, name) else {
            continue;
        };
        if let Some(pv) = bound_volume(cluster, pvc) {
            if let Some(csi) = pv.spec.as_ref().and_then(|s| s.csi.as_ref()) {
                out.entry(csi.driver.clone())
                    .or_default()
                    .insert(csi.volume_handle.clone());
            }
        } else if let Some(sc) = class_name(pvc).and_then(|c| cluster.classes.get(c)) {
            out.entry(sc.provisioner.clone())
                .or_default()
                .insert(format!("{}/{}", pod.namespace, name));
        }
    }
    out
}

/// NodeVolumeLimits: more CSI volumes of one driver than the node's CSINode allows.
pub fn limits(
    cluster: &Cluster,
    pod: &PodInfo,
    claims: &[(String, bool)],
    node: &NodeInfo,
) -> Option<Status> {
    if claims.is_empty() {
        return None;
    }
    let csinode = cluster.csinodes.get(&node.name)?;
    let new = csi_volumes(cluster, pod, claims);
    if new.is_empty() {
        return None;
    }
    let mut attached: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for &p in &node.pods {
        let other = &cluster.pods[p];
        for (driver, handles) in csi_volumes(cluster, other, &self::claims(other)) {
            attached.entry(driver).or_default().extend(handles);
        }
    }
    for driver in &csinode.spec.drivers {
        let Some(limit) = driver.allocatable.as_ref().and_then(|a| a.count) else {
            continue;
        };
        let Some(wanted) = new.get(&driver.name) else {
            continue;
        };
        let have = attached.get(&driver.name);
        let added = wanted
            .iter()
            .filter(|h| have.is_none_or(|a| !a.contains(*h)))
            .count();
        if added > 0 && have.map_or(0, BTreeSet::len) + added > limit.max(0) as usize {
            return Some(Status::unschedulable(
                "NodeVolumeLimits",
                "node(s) exceed max volume count",
            ));
        }
    }
    None
}

fn pv_matches_node(pv: &PersistentVolume, node: &NodeInfo) -> bool {
    pv.spec
        .as_ref()
        .and_then(|s| s.node_affinity.as_ref())
        .and_then(|a| a.required.as_ref())
        .is_none_or(|r| terms_match(&r.node_selector_terms, &node.name, &node.labels))
}

/// Whether a static volume could take this claim on this node: same class, free (or
/// reserved for this claim), large enough, the access modes, and reachable from the node.
fn static_match(
    cluster: &Cluster,
    pod: &PodInfo,
    name: &str,
    pvc: &PersistentVolumeClaim,
    node: &NodeInfo,
) -> bool {
    let want_class = class_name(pvc).unwrap_or_default();
    let want_size = pvc
        .spec
        .as_ref()
        .and_then(|s| s.resources.as_ref())
        .and_then(|r| r.requests.as_ref())
        .and_then(|r| r.get("storage"))
        .and_then(|q| intel_model::quantity::value(&q.0))
        .unwrap_or(0);
    let modes = access_modes(pvc);
    cluster.pvs.values().any(|pv| {
        let Some(spec) = pv.spec.as_ref() else {
            return false;
        };
        let free = match &spec.claim_ref {
            None => true,
            Some(r) => {
                r.namespace.as_deref() == Some(&pod.namespace) && r.name.as_deref() == Some(name)
            }
        };
        let available = pv
            .status
            .as_ref()
            .and_then(|s| s.phase.as_deref())
            .is_none_or(|p| p == "Available" || p == "Pending");
        let size = spec
            .capacity
            .as_ref()
            .and_then(|c| c.get("storage"))
            .and_then(|q| intel_model::quantity::value(&q.0))
            .unwrap_or(0);
        let pv_modes = spec.access_modes.as_deref().unwrap_or_default();
        free && available
            && spec.storage_class_name.as_deref().unwrap_or_default() == want_class
            && size >= want_size
            && modes.iter().all(|m| pv_modes.contains(m))
            && pv_matches_node(pv, node)
    })
}

/// VolumeBinding's filter: a bound volume's node affinity, and for a claim waiting for its
/// consumer, a static volume on this node or a provisioner whose allowed topologies admit
/// it.
pub fn binding(
    cluster: &Cluster,
    pod: &PodInfo,
    claims: &[(String, bool)],
    node: &NodeInfo,
) -> Option<Status> {
    let (mut bound_conflict, mut bind_conflict) = (false, false);
    for (name, _) in claims {
        let Some(pvc) = claim(cluster, pod, name) else {
            continue;
        };
        if let Some(pv) = bound_volume(cluster, pvc) {
            bound_conflict |= !pv_matches_node(pv, node);
            continue;
        }
        if delayed(cluster, pvc) != Some(true) {
            continue;
        }
        let Some(sc) = class_name(pvc).and_then(|c| cluster.classes.get(c)) else {
            continue;
        };
        let satisfied = if sc.provisioner == "kubernetes.io/no-provisioner" {
            static_match(cluster, pod, name, pvc, node)
        } else {
            static_match(cluster, pod, name, pvc, node)
                || sc
                    .allowed_topologies
                    .as_deref()
                    .unwrap_or_default()
                    .is_empty()
                || sc.allowed_topologies.iter().flatten().any(|term| {
                    term.match_label_expressions.iter().flatten().all(|req| {
                        node.labels
                            .get(&req.key)
                            .is_some_and(|v| req.values.contains(v))
                    })
                })
        };
        bind_conflict |= !satisfied;
    }
    let mut reasons = Vec::new();
    if bound_conflict {
        reasons.push(cluster.version.volume_node_conflict().to_string());
    }
    if bind_conflict {
        reasons.push("node(s) didn't find available persistent volumes to bind".to_string());
    }
    (!reasons.is_empty()).then_some(Status {
        plugin: "VolumeBinding",
        code: super::Code::UnschedulableAndUnresolvable,
        reasons,
    })
}

/// The zone and region labels VolumeZone compares, GA and beta.
const TOPOLOGY_LABELS: &[&str] = &[
    "topology.kubernetes.io/zone",
    "topology.kubernetes.io/region",
    "failure-domain.beta.kubernetes.io/zone",
    "failure-domain.beta.kubernetes.io/region",
];

/// VolumeZone: a bound volume labelled with zones (or regions) the node is not in. A node
/// with no zone or region label at all is not constrained.
pub fn zone(
    cluster: &Cluster,
    pod: &PodInfo,
    claims: &[(String, bool)],
    node: &NodeInfo,
) -> Option<Status> {
    if claims.is_empty() || !TOPOLOGY_LABELS.iter().any(|l| node.labels.contains_key(*l)) {
        return None;
    }
    for (name, _) in claims {
        let Some(pv) = claim(cluster, pod, name).and_then(|c| bound_volume(cluster, c)) else {
            continue;
        };
        for (key, value) in pv.metadata.labels.iter().flatten() {
            if !TOPOLOGY_LABELS.contains(&key.as_str()) {
                continue;
            }
            let ga = key.replace(
                "failure-domain.beta.kubernetes.io",
                "topology.kubernetes.io",
            );
            let have = node.labels.get(key).or_else(|| node.labels.get(&ga));
            let zones: BTreeSet<&str> = value.split("__").map(str::trim).collect();
            if !have.is_some_and(|v| zones.contains(v.as_str())) {
                return Some(Status::unresolvable(
                    "VolumeZone",
                    "node(s) had no available volume zone",
                ));
            }
        }
    }
    None
}
