//! The cluster as the scheduler's cache holds it: nodes with what is bound to them, and the
//! objects the volume plugins read. Built once from a snapshot; what-ifs move pods in and out.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Namespace, Node, PersistentVolume, PersistentVolumeClaim, Pod, PodSpec, Taint,
};
use k8s_openapi::api::storage::v1::{CSINode, StorageClass};

use intel_model::Snapshot;

use crate::resources::{Resources, pod_non_zero_requests, pod_requests};

mod whatif;

use crate::version::{DEFAULT_VERSION, KubeVersion};
use whatif::Change;
pub use whatif::Mark;

/// A host port a container binds (`NodePorts`): protocol, host IP (`0.0.0.0` when unset)
/// and port.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct HostPort {
    pub protocol: String,
    pub ip: String,
    pub port: i32,
}

impl HostPort {
    /// `HostPortInfo`'s conflict rule: same protocol and port, and the same IP or either
    /// side on every address.
    pub fn conflicts(&self, other: &HostPort) -> bool {
        self.protocol == other.protocol
            && self.port == other.port
            && (self.ip == other.ip || self.ip == "0.0.0.0" || other.ip == "0.0.0.0")
    }
}

/// One pod, parsed once.
#[derive(Debug, Clone)]
pub struct PodInfo {
    pub namespace: String,
    pub name: String,
    pub labels: BTreeMap<String, String>,
    /// The node it is bound to in the snapshot (`spec.nodeName`), if any.
    pub bound: Option<String>,
    pub spec: PodSpec,
    pub priority: i32,
    pub requests: Resources,
    /// Scoring's (milli-CPU, memory), with the defaults for missing requests.
    pub non_zero: (i64, i64),
    pub host_ports: Vec<HostPort>,
    /// Succeeded or Failed: the scheduler's cache holds no terminal pods.
    pub terminal: bool,
    /// Has a deletionTimestamp (topology spread does not count it).
    pub terminating: bool,
    /// What a node drain reads of it.
    pub drain: crate::drain::DrainFacts,
}

impl PodInfo {
    /// From a typed Pod (a manifest, a test): only the fields the scheduler reads are kept.
    pub fn from_pod(pod: &Pod) -> PodInfo {
        let json = serde_json::to_string(pod).unwrap_or_default();
        crate::lite::parse(&json)
            .map(PodInfo::from_parts)
            .unwrap_or_else(|| {
                PodInfo::from_parts(crate::lite::Parts {
                    namespace: pod.metadata.namespace.clone().unwrap_or_default(),
                    name: pod.metadata.name.clone().unwrap_or_default(),
                    labels: BTreeMap::new(),
                    terminating: false,
                    phase: None,
                    spec: PodSpec::default(),
                    drain: crate::drain::DrainFacts::default(),
                })
            })
    }

    /// From a pod's JSON as the snapshot holds it; `None` when it is not a pod.
    pub fn from_json(json: &str) -> Option<PodInfo> {
        crate::lite::parse(json).map(PodInfo::from_parts)
    }

    fn from_parts(p: crate::lite::Parts) -> PodInfo {
        let spec = p.spec;
        let mut host_ports = Vec::new();
        for c in &spec.containers {
            for port in c.ports.iter().flatten() {
                if let Some(number) = port.host_port.filter(|p| *p > 0) {
                    host_ports.push(HostPort {
                        protocol: port.protocol.clone().unwrap_or_else(|| "TCP".into()),
                        ip: port
                            .host_ip
                            .clone()
                            .filter(|ip| !ip.is_empty())
                            .unwrap_or_else(|| "0.0.0.0".into()),
                        port: number,
                    });
                }
            }
        }
        PodInfo {
            namespace: p.namespace,
            name: p.name,
            labels: p.labels,
            bound: spec.node_name.clone().filter(|n| !n.is_empty()),
            priority: spec.priority.unwrap_or(0),
            requests: pod_requests(&spec),
            non_zero: pod_non_zero_requests(&spec),
            host_ports,
            terminal: matches!(p.phase.as_deref(), Some("Succeeded" | "Failed")),
            terminating: p.terminating,
            drain: p.drain,
            spec,
        }
    }

    /// The same pod, not bound anywhere: what the scheduler sees of a pending pod, and of
    /// a running one asked "where would it go now".
    pub fn unbound(&self) -> PodInfo {
        let mut p = self.clone();
        p.bound = None;
        p.spec.node_name = None;
        p
    }
}

/// One node with what is bound to it.
#[derive(Debug, Clone)]
pub struct NodeInfo {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub taints: Vec<Taint>,
    pub unschedulable: bool,
    pub allocatable: Resources,
    /// `allocatable.pods` (0 when absent: every pod is then "Too many pods").
    pub allowed_pods: i64,
    pub requested: Resources,
    pub non_zero: (i64, i64),
    /// Positions in [`Cluster::pods`] of the pods bound here, in snapshot order.
    pub pods: Vec<usize>,
    pub ports: Vec<HostPort>,
    /// Container images present (`status.images`): every name an image is known by,
    /// normalised with `:latest` where untagged, and its size in bytes.
    pub images: Vec<(Vec<String>, i64)>,
    /// The annotations autoscalers honour on a node (`cluster-autoscaler.kubernetes.io/*`,
    /// `karpenter.sh/*`): whether consolidation may remove it.
    pub annotations: BTreeMap<String, String>,
}

/// `normalizedImageName`: an image named without a tag or digest is `:latest`.
pub fn normalized_image(name: &str) -> String {
    let last = name.rsplit('/').next().unwrap_or(name);
    if last.contains(':') || name.contains('@') {
        name.to_string()
    } else {
        format!("{name}:latest")
    }
}

impl NodeInfo {
    /// From a typed Node: what the filters, scores and drains read of it.
    pub fn from_node(node: &Node) -> NodeInfo {
        let alloc = node
            .status
            .as_ref()
            .and_then(|s| s.allocatable.as_ref())
            .cloned()
            .unwrap_or_default();
        let spec = node.spec.clone().unwrap_or_default();
        NodeInfo {
            name: node.metadata.name.clone().unwrap_or_default(),
            labels: node.metadata.labels.clone().unwrap_or_default(),
            taints: spec.taints.unwrap_or_default(),
            annotations: node
                .metadata
                .annotations
                .iter()
                .flatten()
                .filter(|(k, _)| {
                    k.starts_with("cluster-autoscaler.kubernetes.io/")
                        || k.starts_with("karpenter.sh/")
                })
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            unschedulable: spec.unschedulable.unwrap_or(false),
            allowed_pods: alloc
                .get("pods")
                .and_then(|q| intel_model::quantity::value(&q.0))
                .unwrap_or(0),
            allocatable: Resources::from_list(&alloc),
            requested: Resources::default(),
            non_zero: (0, 0),
            pods: Vec::new(),
            ports: Vec::new(),
            images: node
                .status
                .as_ref()
                .and_then(|s| s.images.as_ref())
                .into_iter()
                .flatten()
                .map(|i| {
                    (
                        i.names
                            .iter()
                            .flatten()
                            .map(|n| normalized_image(n))
                            .collect(),
                        i.size_bytes.unwrap_or(0),
                    )
                })
                .collect(),
        }
    }
}

/// Answers computed from the cluster on first use and kept until what they read changes
/// (the owner clears them); a copy of a cluster copies them.
#[derive(Debug)]
pub(crate) struct Memo<K, V: ?Sized>(
    std::sync::Mutex<std::collections::HashMap<K, std::sync::Arc<V>>>,
);

impl<K, V: ?Sized> Default for Memo<K, V> {
    fn default() -> Self {
        Memo(std::sync::Mutex::default())
    }
}

impl<K: std::hash::Hash + Eq + Clone, V: ?Sized> Memo<K, V> {
    /// The answer for `key`, computed by `make` the first time.
    fn get_or(&self, key: K, make: impl FnOnce() -> std::sync::Arc<V>) -> std::sync::Arc<V> {
        let lock = || {
            self.0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        };
        if let Some(hit) = lock().get(&key) {
            return hit.clone();
        }
        let value = make();
        lock().insert(key, value.clone());
        value
    }

    /// Forgets every answer.
    pub(super) fn clear(&mut self) {
        self.0
            .get_mut()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clear();
    }
}

impl<K: Clone, V: ?Sized> Clone for Memo<K, V> {
    fn clone(&self) -> Self {
        let map = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Memo(std::sync::Mutex::new(map.clone()))
    }
}

/// The domains of one topology key: each node's domain (by position in `nodes`), and the
/// domains' values.
#[derive(Debug, Default)]
pub(crate) struct Topology {
    pub of_node: Vec<Option<usize>>,
    pub values: Vec<String>,
}

/// The cluster the filters read.
#[derive(Debug, Clone, Default)]
pub struct Cluster {
    pub version: KubeVersion,
    /// Sorted by name.
    pub nodes: Vec<NodeInfo>,
    node_ix: BTreeMap<String, usize>,
    /// Every pod of the snapshot, terminal ones included (they are bound to no node here).
    pub pods: Vec<PodInfo>,
    pod_ix: BTreeMap<(String, String), usize>,
    /// Pod position → the position in `nodes` of the node it is bound to.
    placement: Vec<Option<usize>>,
    /// Pods with required anti-affinity terms: the only ones whose terms can keep a new
    /// pod off a node, so the only ones InterPodAffinity reads for every pod.
    pub(crate) with_anti_affinity: Vec<usize>,
    /// Pods with required pod affinity or preferred affinity or anti-affinity: the only
    /// ones whose terms weigh on another pod's score (required anti-affinity filters, it
    /// does not score).
    pub(crate) with_affinity: Vec<usize>,
    /// Pods by namespace: spreading and affinity count the pods of one namespace.
    pub(crate) by_namespace: BTreeMap<String, Vec<usize>>,
    /// Per image name, its size and how many nodes have it (ImageLocality), computed on
    /// first use and forgotten when nodes come or go.
    images: std::sync::OnceLock<BTreeMap<String, (i64, usize)>>,
    /// The pods of a namespace a label selector matches, by (namespace, selector);
    /// forgotten when pods come or go.
    pub(crate) selected: Memo<(String, String), [usize]>,
    /// Nodes' domains per topology key; forgotten when nodes come or go.
    topologies: Memo<String, Topology>,
    /// What-if changes since the snapshot, newest last, so that [`Cluster::revert`] undoes
    /// what changed and nothing else.
    journal: Vec<Change>,
    pub pvcs: BTreeMap<(String, String), PersistentVolumeClaim>,
    pub pvs: BTreeMap<String, PersistentVolume>,
    pub classes: BTreeMap<String, StorageClass>,
    pub csinodes: BTreeMap<String, CSINode>,
    /// Namespace labels, for affinity terms' `namespaceSelector`.
    pub namespaces: BTreeMap<String, BTreeMap<String, String>>,
    /// Whether the snapshot listed Namespaces at all (a selector cannot be judged without).
    pub namespaces_known: bool,
    /// PodDisruptionBudgets, for drains.
    pub pdbs: Vec<crate::drain::Budget>,
    /// Services' selectors by namespace, and the selectors of ReplicaSets, StatefulSets
    /// and ReplicationControllers by (namespace, kind, name): what the system default
    /// topology spreading selects a pod's siblings with.
    pub service_selectors: BTreeMap<String, Vec<BTreeMap<String, String>>>,
    pub owner_selectors: BTreeMap<
        (String, String, String),
        k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector,
    >,
}

impl Default for KubeVersion {
    fn default() -> Self {
        DEFAULT_VERSION
    }
}

fn typed<T: serde::de::DeserializeOwned>(snap: &Snapshot, group: &str, resource: &str) -> Vec<T> {
    snap.items(group, resource)
        .iter()
        .filter_map(|o| o.typed::<T>().ok())
        .collect()
}

impl Cluster {
    /// The scheduler's view of a snapshot: every node, and every pod that is not terminal
    /// bound to the node it names. A pod naming a node the snapshot does not have is
    /// counted nowhere (not on a node that is gone, not twice).
    pub fn from_snapshot(snap: &Snapshot) -> Cluster {
        let version = snap
            .manifest
            .cluster
            .kubernetes_version
            .as_deref()
            .and_then(KubeVersion::parse)
            .unwrap_or(DEFAULT_VERSION);
        let nodes: Vec<Node> = typed(snap, "", "nodes");
        let mut c = Cluster {
            version,
            ..Cluster::default()
        };
        for n in &nodes {
            c.add_node(NodeInfo::from_node(n));
        }
        for p in snap.pods() {
            if let Some(info) = PodInfo::from_json(p.json()) {
                c.add_pod(info);
            }
        }
        for pvc in typed::<PersistentVolumeClaim>(snap, "", "persistentvolumeclaims") {
            let key = (
                pvc.metadata.namespace.clone().unwrap_or_default(),
                pvc.metadata.name.clone().unwrap_or_default(),
            );
            c.pvcs.insert(key, pvc);
        }
        for pv in typed::<PersistentVolume>(snap, "", "persistentvolumes") {
            c.pvs
                .insert(pv.metadata.name.clone().unwrap_or_default(), pv);
        }
        for sc in typed::<StorageClass>(snap, "storage.k8s.io", "storageclasses") {
            c.classes
                .insert(sc.metadata.name.clone().unwrap_or_default(), sc);
        }
        for cn in typed::<CSINode>(snap, "storage.k8s.io", "csinodes") {
            c.csinodes
                .insert(cn.metadata.name.clone().unwrap_or_default(), cn);
        }
        for pdb in typed::<k8s_openapi::api::policy::v1::PodDisruptionBudget>(
            snap,
            "policy",
            "poddisruptionbudgets",
        ) {
            c.pdbs.push(crate::drain::Budget::from_pdb(&pdb));
        }
        for svc in typed::<k8s_openapi::api::core::v1::Service>(snap, "", "services") {
            if let Some(sel) = svc.spec.and_then(|s| s.selector).filter(|s| !s.is_empty()) {
                c.service_selectors
                    .entry(svc.metadata.namespace.unwrap_or_default())
                    .or_default()
                    .push(sel);
            }
        }
        let key = |m: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta, kind: &str| {
            (
                m.namespace.clone().unwrap_or_default(),
                kind.to_string(),
                m.name.clone().unwrap_or_default(),
            )
        };
        for rs in typed::<k8s_openapi::api::apps::v1::ReplicaSet>(snap, "apps", "replicasets") {
            c.owner_selectors
                .insert(key(&rs.metadata, "ReplicaSet"), rs.spec.selector.clone());
        }
        for ss in typed::<k8s_openapi::api::apps::v1::StatefulSet>(snap, "apps", "statefulsets") {
            c.owner_selectors
                .insert(key(&ss.metadata, "StatefulSet"), ss.spec.selector.clone());
        }
        for rc in typed::<k8s_openapi::api::core::v1::ReplicationController>(
            snap,
            "",
            "replicationcontrollers",
        ) {
            if let Some(sel) = rc.spec.as_ref().and_then(|s| s.selector.clone()) {
                c.owner_selectors.insert(
                    key(&rc.metadata, "ReplicationController"),
                    k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector {
                        match_labels: Some(sel),
                        match_expressions: None,
                    },
                );
            }
        }
        let namespaces: Vec<Namespace> = typed(snap, "", "namespaces");
        c.namespaces_known = !namespaces.is_empty();
        c.journal.clear();
        for ns in namespaces {
            c.namespaces.insert(
                ns.metadata.name.clone().unwrap_or_default(),
                ns.metadata.labels.clone().unwrap_or_default(),
            );
        }
        c
    }

    /// Adds a node with nothing bound to it; false when one of that name exists.
    pub fn add_node(&mut self, mut node: NodeInfo) -> bool {
        if self.node_ix.contains_key(&node.name) {
            return false;
        }
        node.pods.clear();
        node.requested = Resources::default();
        node.non_zero = (0, 0);
        node.ports.clear();
        self.journal.push(Change::NodeAdded {
            name: node.name.clone(),
        });
        self.insert_node(node);
        true
    }

    fn insert_node(&mut self, node: NodeInfo) {
        let at = self.nodes.partition_point(|n| n.name < node.name);
        self.nodes.insert(at, node);
        self.reindex_nodes();
    }

    /// ImageLocality's image states of the current nodes.
    pub fn image_states(&self) -> &BTreeMap<String, (i64, usize)> {
        self.images
            .get_or_init(|| crate::score::image::image_states(&self.nodes))
    }

    fn reindex_nodes(&mut self) {
        self.images = std::sync::OnceLock::new();
        self.topologies.clear();
        self.node_ix = self
            .nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (n.name.clone(), i))
            .collect();
        self.placement = vec![None; self.pods.len()];
        for (n, node) in self.nodes.iter().enumerate() {
            for &p in &node.pods {
                self.placement[p] = Some(n);
            }
        }
    }

    /// Adds a pod; bound to its node when it names an existing one and is not terminal.
    pub fn add_pod(&mut self, pod: PodInfo) -> usize {
        let i = self.pods.len();
        self.pod_ix
            .insert((pod.namespace.clone(), pod.name.clone()), i);
        let target = pod.bound.clone().filter(|_| !pod.terminal);
        let anti = pod
            .spec
            .affinity
            .as_ref()
            .and_then(|a| a.pod_anti_affinity.as_ref())
            .and_then(|a| {
                a.required_during_scheduling_ignored_during_execution
                    .as_ref()
            })
            .is_some_and(|terms| !terms.is_empty());
        if anti {
            self.with_anti_affinity.push(i);
        }
        let scores_others = pod.spec.affinity.as_ref().is_some_and(|a| {
            a.pod_affinity.as_ref().is_some_and(|x| {
                x.required_during_scheduling_ignored_during_execution
                    .as_ref()
                    .is_some_and(|t| !t.is_empty())
                    || x.preferred_during_scheduling_ignored_during_execution
                        .as_ref()
                        .is_some_and(|t| !t.is_empty())
            }) || a.pod_anti_affinity.as_ref().is_some_and(|x| {
                x.preferred_during_scheduling_ignored_during_execution
                    .as_ref()
                    .is_some_and(|t| !t.is_empty())
            })
        });
        if scores_others {
            self.with_affinity.push(i);
        }
        self.by_namespace
            .entry(pod.namespace.clone())
            .or_default()
            .push(i);
        self.selected.clear();
        self.pods.push(pod);
        self.placement.push(None);
        self.journal.push(Change::PodAdded);
        if let Some(node) = target {
            self.bind(i, &node);
        }
        i
    }

    pub fn node(&self, name: &str) -> Option<&NodeInfo> {
        self.node_ix.get(name).map(|&i| &self.nodes[i])
    }

    pub fn pod(&self, namespace: &str, name: &str) -> Option<usize> {
        self.pod_ix
            .get(&(namespace.to_string(), name.to_string()))
            .copied()
    }

    /// The node a pod is bound to here (None for pending, terminal or orphaned pods).
    pub fn node_of(&self, pod: usize) -> Option<&NodeInfo> {
        self.placement
            .get(pod)
            .copied()
            .flatten()
            .map(|n| &self.nodes[n])
    }

    /// The position in `nodes` of the node pod `i` is bound to.
    pub(crate) fn node_index_of(&self, pod: usize) -> Option<usize> {
        self.placement.get(pod).copied().flatten()
    }

    /// Binds pod `i` to `node`: its requests, scoring counts and host ports count there.
    /// False when the node does not exist.
    pub fn bind(&mut self, i: usize, node: &str) -> bool {
        if !self.node_ix.contains_key(node) || i >= self.pods.len() {
            return false;
        }
        if self.placement[i].is_some() {
            self.unbind(i);
        }
        self.journal.push(Change::Bound { pod: i });
        self.bind_raw(i, node, None)
    }

    /// Binds without journalling; `at` puts the pod back where it was in the node's list
    /// (a revert restores the order, so answers after it are the same as before).
    fn bind_raw(&mut self, i: usize, node: &str, at: Option<usize>) -> bool {
        let Some(&n) = self.node_ix.get(node) else {
            return false;
        };
        self.placement[i] = Some(n);
        let pod = &self.pods[i];
        let info = &mut self.nodes[n];
        info.requested.add(&pod.requests);
        info.non_zero.0 += pod.non_zero.0;
        info.non_zero.1 += pod.non_zero.1;
        info.ports.extend(pod.host_ports.iter().cloned());
        match at {
            Some(at) if at <= info.pods.len() => info.pods.insert(at, i),
            _ => info.pods.push(i),
        }
        true
    }

    /// Takes pod `i` off the node it is bound to (if any); returns that node's name.
    pub fn unbind(&mut self, i: usize) -> Option<String> {
        let (node, at) = self.unbind_raw(i)?;
        self.journal.push(Change::Unbound {
            pod: i,
            node: node.clone(),
            at,
        });
        Some(node)
    }

    /// Unbinds without journalling; returns the node and the pod's place in its list.
    fn unbind_raw(&mut self, i: usize) -> Option<(String, usize)> {
        let n = self.placement.get_mut(i)?.take()?;
        let pod = &self.pods[i];
        let info = &mut self.nodes[n];
        let at = info
            .pods
            .iter()
            .position(|p| *p == i)
            .unwrap_or(info.pods.len());
        info.pods.retain(|p| *p != i);
        info.requested.sub(&pod.requests);
        info.non_zero.0 -= pod.non_zero.0;
        info.non_zero.1 -= pod.non_zero.1;
        for hp in &pod.host_ports {
            if let Some(at) = info.ports.iter().position(|p| p == hp) {
                info.ports.remove(at);
            }
        }
        Some((info.name.clone(), at))
    }

    /// The pods of `namespace` (bound or not) that `selector` matches; `None` selects
    /// nothing. Pods' labels never change here, so the answer holds until pods come or go:
    /// spreading asks it for every placement, and matching every pod of a namespace each
    /// time was most of re-placing a lost zone.
    pub(crate) fn selected_in(
        &self,
        namespace: &str,
        selector: Option<&k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector>,
    ) -> std::sync::Arc<[usize]> {
        let Some(selector) = selector else {
            return std::sync::Arc::from(Vec::new());
        };
        let key = (
            namespace.to_string(),
            serde_json::to_string(selector).unwrap_or_default(),
        );
        self.selected.get_or(key, || {
            self.by_namespace
                .get(namespace)
                .into_iter()
                .flatten()
                .copied()
                .filter(|&p| {
                    crate::selectors::label_selector_matches(Some(selector), &self.pods[p].labels)
                })
                .collect()
        })
    }

    /// Each node's domain of topology `key` (spreading and affinity count per domain;
    /// looking the label up on every node for every placement was most of a zone's
    /// re-placement).
    pub(crate) fn topology(&self, key: &str) -> std::sync::Arc<Topology> {
        self.topologies.get_or(key.to_string(), || {
            let mut values: Vec<String> = Vec::new();
            let mut ids: BTreeMap<&str, usize> = BTreeMap::new();
            let of_node = self
                .nodes
                .iter()
                .map(|n| {
                    let v = n.labels.get(key)?;
                    Some(*ids.entry(v.as_str()).or_insert_with(|| {
                        values.push(v.clone());
                        values.len() - 1
                    }))
                })
                .collect();
            std::sync::Arc::new(Topology { of_node, values })
        })
    }

    /// The pods of a namespace that are bound, with their nodes.
    pub(crate) fn bound_in(&self, namespace: &str) -> impl Iterator<Item = (&PodInfo, &NodeInfo)> {
        self.by_namespace
            .get(namespace)
            .into_iter()
            .flatten()
            .filter_map(move |&p| Some((&self.pods[p], self.node_of(p)?)))
    }

    /// Every pod bound to some node, with that node: what the affinity and spread plugins
    /// count.
    pub fn bound_pods(&self) -> impl Iterator<Item = (&PodInfo, &NodeInfo)> {
        self.nodes
            .iter()
            .flat_map(move |n| n.pods.iter().map(move |&p| (&self.pods[p], n)))
    }
}
