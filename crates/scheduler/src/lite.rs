//! The parts of a Pod the scheduler reads, and nothing else: at 150,000 pods, parsing
//! whole Pods (env, probes, status, managedFields) and keeping their specs took most of a
//! run and gigabytes. A pod spec here keeps only what a plugin or the accounting reads.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    AWSElasticBlockStoreVolumeSource, Affinity, Container, ContainerPort, EphemeralVolumeSource,
    GCEPersistentDiskVolumeSource, ISCSIVolumeSource, PersistentVolumeClaimVolumeSource, PodSpec,
    RBDVolumeSource, ResourceRequirements, Toleration, TopologySpreadConstraint, Volume,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use serde::Deserialize;

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Meta {
    #[serde(default)]
    name: String,
    #[serde(default)]
    namespace: String,
    #[serde(default)]
    labels: Option<BTreeMap<String, String>>,
    #[serde(default)]
    deletion_timestamp: Option<serde::de::IgnoredAny>,
    #[serde(default)]
    annotations: Option<BTreeMap<String, String>>,
    #[serde(default)]
    owner_references: Option<Vec<OwnerLite>>,
}

#[derive(Deserialize, Default)]
struct OwnerLite {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    controller: Option<bool>,
}

#[derive(Deserialize, Default)]
struct EmptyDirLite {
    medium: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct ContainerLite {
    #[serde(default)]
    name: String,
    resources: Option<ResourceRequirements>,
    ports: Option<Vec<ContainerPort>>,
    restart_policy: Option<String>,
    image: Option<String>,
}

impl From<ContainerLite> for Container {
    fn from(c: ContainerLite) -> Container {
        Container {
            name: c.name,
            image: c.image,
            resources: c.resources,
            ports: c.ports,
            restart_policy: c.restart_policy,
            ..Container::default()
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct VolumeLite {
    #[serde(default)]
    name: String,
    persistent_volume_claim: Option<PersistentVolumeClaimVolumeSource>,
    ephemeral: Option<serde::de::IgnoredAny>,
    host_path: Option<serde::de::IgnoredAny>,
    empty_dir: Option<EmptyDirLite>,
    // The inline disks VolumeRestrictions checks for conflicts on a node.
    gce_persistent_disk: Option<GCEPersistentDiskVolumeSource>,
    aws_elastic_block_store: Option<AWSElasticBlockStoreVolumeSource>,
    rbd: Option<RBDVolumeSource>,
    iscsi: Option<ISCSIVolumeSource>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct SpecLite {
    #[serde(default)]
    containers: Vec<ContainerLite>,
    init_containers: Option<Vec<ContainerLite>>,
    node_name: Option<String>,
    node_selector: Option<BTreeMap<String, String>>,
    affinity: Option<Affinity>,
    tolerations: Option<Vec<Toleration>>,
    topology_spread_constraints: Option<Vec<TopologySpreadConstraint>>,
    priority: Option<i32>,
    preemption_policy: Option<String>,
    overhead: Option<BTreeMap<String, Quantity>>,
    resources: Option<ResourceRequirements>,
    volumes: Option<Vec<VolumeLite>>,
    scheduler_name: Option<String>,
}

#[derive(Deserialize, Default)]
struct StatusLite {
    phase: Option<String>,
}

#[derive(Deserialize, Default)]
struct PodLite {
    #[serde(default)]
    metadata: Meta,
    spec: Option<SpecLite>,
    status: Option<StatusLite>,
}

/// What one pod gives the scheduler: namespace, name, labels, whether it is being
/// deleted, its phase, and a spec holding only the fields the scheduler reads.
pub struct Parts {
    pub namespace: String,
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub terminating: bool,
    pub phase: Option<String>,
    pub spec: PodSpec,
    /// What a drain reads: the controller's kind, the annotations cluster-autoscaler
    /// honours, and the volumes that keep data on the node.
    pub drain: crate::drain::DrainFacts,
}

/// The annotations a drain reads, kept; the rest are not the scheduler's business.
const DRAIN_ANNOTATIONS: &[&str] = &[
    "kubernetes.io/config.mirror",
    "cluster-autoscaler.kubernetes.io/safe-to-evict",
    "cluster-autoscaler.kubernetes.io/safe-to-evict-local-volumes",
    "karpenter.sh/do-not-disrupt",
];

/// Parses a Pod's JSON into [`Parts`]; `None` for text that is not a pod object.
pub fn parse(json: &str) -> Option<Parts> {
    let pod: PodLite = serde_json::from_str(json).ok()?;
    let spec = pod.spec.unwrap_or_default();
    let annotations = pod.metadata.annotations.unwrap_or_default();
    let drain = crate::drain::DrainFacts {
        controller: pod
            .metadata
            .owner_references
            .unwrap_or_default()
            .into_iter()
            .find(|o| o.controller == Some(true))
            .map(|o| (o.kind, o.name)),
        annotations: annotations
            .into_iter()
            .filter(|(k, _)| DRAIN_ANNOTATIONS.contains(&k.as_str()))
            .collect(),
        local_volumes: spec
            .volumes
            .iter()
            .flatten()
            .filter(|v| {
                v.host_path.is_some()
                    || v.empty_dir
                        .as_ref()
                        .is_some_and(|e| e.medium.as_deref() != Some("Memory"))
            })
            .map(|v| v.name.clone())
            .collect(),
    };
    Some(Parts {
        namespace: pod.metadata.namespace,
        name: pod.metadata.name,
        labels: pod.metadata.labels.unwrap_or_default(),
        terminating: pod.metadata.deletion_timestamp.is_some(),
        phase: pod.status.and_then(|s| s.phase),
        drain,
        spec: PodSpec {
            containers: spec.containers.into_iter().map(Container::from).collect(),
            init_containers: spec
                .init_containers
                .map(|cs| cs.into_iter().map(Container::from).collect()),
            node_name: spec.node_name,
            node_selector: spec.node_selector,
            affinity: spec.affinity,
            tolerations: spec.tolerations,
            topology_spread_constraints: spec.topology_spread_constraints,
            priority: spec.priority,
            preemption_policy: spec.preemption_policy,
            overhead: spec.overhead,
            resources: spec.resources,
            scheduler_name: spec.scheduler_name,
            volumes: spec.volumes.map(|vs| {
                vs.into_iter()
                    .map(|v| Volume {
                        name: v.name,
                        persistent_volume_claim: v.persistent_volume_claim,
                        ephemeral: v.ephemeral.map(|_| EphemeralVolumeSource::default()),
                        gce_persistent_disk: v.gce_persistent_disk,
                        aws_elastic_block_store: v.aws_elastic_block_store,
                        rbd: v.rbd,
                        iscsi: v.iscsi,
                        ..Volume::default()
                    })
                    .collect()
            }),
            ..PodSpec::default()
        },
    })
}
