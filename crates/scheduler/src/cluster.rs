//! The cluster as the scheduler's cache holds it: nodes with what is bound to them, and the
//! objects the volume plugins read. Built once from a snapshot; what-ifs move pods in and out.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Namespace, Node, PersistentVolume, PersistentVolumeClaim, Pod, PodSpec, Taint,
};
use k8s_openapi::api::storage::v1::{CSINode, StorageClass};

use intel_model::Snapshot;

use crate::resources::{Resources, pod_non_zero_requests, pod_requests};
use crate::version::{DEFAULT_VERSION, KubeVersion};

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
}

impl PodInfo {
    pub fn from_pod(pod: &Pod) -> PodInfo {
        let spec = pod.spec.clone().unwrap_or_default();
        let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
        let mut host_ports = Vec::new();
        for c in &spec.containers {
            for p in c.ports.iter().flatten() {
                if let Some(port) = p.host_port.filter(|p| *p > 0) {
                    host_ports.push(HostPort {
                        protocol: p.protocol.clone().unwrap_or_else(|| "TCP".into()),
                        ip: p
                            .host_ip
                            .clone()
                            .filter(|ip| !ip.is_empty())
                            .unwrap_or_else(|| "0.0.0.0".into()),
                        port,
                    });
                }
            }
        }
        PodInfo {
            namespace: pod.metadata.namespace.clone().unwrap_or_default(),
            name: pod.metadata.name.clone().unwrap_or_default(),
            labels: pod.metadata.labels.clone().unwrap_or_default(),
            bound: spec.node_name.clone().filter(|n| !n.is_empty()),
            priority: spec.priority.unwrap_or(0),
            requests: pod_requests(&spec),
            non_zero: pod_non_zero_requests(&spec),
            host_ports,
            terminal: matches!(phase, Some("Succeeded" | "Failed")),
            terminating: pod.metadata.deletion_timestamp.is_some(),
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
}

impl NodeInfo {
    fn from_node(node: &Node) -> NodeInfo {
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
        }
    }
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
    pub pvcs: BTreeMap<(String, String), PersistentVolumeClaim>,
    pub pvs: BTreeMap<String, PersistentVolume>,
    pub classes: BTreeMap<String, StorageClass>,
    pub csinodes: BTreeMap<String, CSINode>,
    /// Namespace labels, for affinity terms' `namespaceSelector`.
    pub namespaces: BTreeMap<String, BTreeMap<String, String>>,
    /// Whether the snapshot listed Namespaces at all (a selector cannot be judged without).
    pub namespaces_known: bool,
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
        let pods: Vec<Pod> = typed(snap, "", "pods");
        let mut c = Cluster {
            version,
            ..Cluster::default()
        };
        for n in &nodes {
            c.add_node(NodeInfo::from_node(n));
        }
        for p in &pods {
            c.add_pod(PodInfo::from_pod(p));
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
        let namespaces: Vec<Namespace> = typed(snap, "", "namespaces");
        c.namespaces_known = !namespaces.is_empty();
        for ns in namespaces {
            c.namespaces.insert(
                ns.metadata.name.clone().unwrap_or_default(),
                ns.metadata.labels.clone().unwrap_or_default(),
            );
        }
        c
    }

    /// Adds a node (replacing one of the same name).
    pub fn add_node(&mut self, node: NodeInfo) {
        if let Some(&i) = self.node_ix.get(&node.name) {
            self.nodes[i] = node;
            return;
        }
        let at = self.nodes.partition_point(|n| n.name < node.name);
        self.nodes.insert(at, node);
        self.reindex_nodes();
    }

    fn reindex_nodes(&mut self) {
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
        self.pods.push(pod);
        self.placement.push(None);
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

    /// Binds pod `i` to `node`: its requests, scoring counts and host ports count there.
    /// False when the node does not exist.
    pub fn bind(&mut self, i: usize, node: &str) -> bool {
        let Some(&n) = self.node_ix.get(node) else {
            return false;
        };
        if self.placement[i].is_some() {
            self.unbind(i);
        }
        self.placement[i] = Some(n);
        let pod = &self.pods[i];
        let info = &mut self.nodes[n];
        info.requested.add(&pod.requests);
        info.non_zero.0 += pod.non_zero.0;
        info.non_zero.1 += pod.non_zero.1;
        info.ports.extend(pod.host_ports.iter().cloned());
        info.pods.push(i);
        true
    }

    /// Takes pod `i` off the node it is bound to (if any); returns that node's name.
    pub fn unbind(&mut self, i: usize) -> Option<String> {
        let n = self.placement.get_mut(i)?.take()?;
        let pod = &self.pods[i];
        let info = &mut self.nodes[n];
        info.pods.retain(|p| *p != i);
        info.requested.sub(&pod.requests);
        info.non_zero.0 -= pod.non_zero.0;
        info.non_zero.1 -= pod.non_zero.1;
        for hp in &pod.host_ports {
            if let Some(at) = info.ports.iter().position(|p| p == hp) {
                info.ports.remove(at);
            }
        }
        Some(info.name.clone())
    }

    /// Every pod bound to some node, with that node: what the affinity and spread plugins
    /// count.
    pub fn bound_pods(&self) -> impl Iterator<Item = (&PodInfo, &NodeInfo)> {
        self.nodes
            .iter()
            .flat_map(move |n| n.pods.iter().map(move |&p| (&self.pods[p], n)))
    }
}
