//! Typed relations between the objects of one snapshot, each with its evidence.
//!
//! Every analysis asks the same questions — what owns this pod, where does it run, which
//! Services and budgets select it, what does it mount, what does it depend on — so they
//! are answered once here. [`Relations::build`] walks each object type once and uses the
//! snapshot's [`Index`](intel_model::Index) (uid, names, Service → pods) plus a
//! namespace-scoped inverted label index of its own for PDB and NetworkPolicy selectors:
//! nothing scans all pods per pod or per selector, except a selector that genuinely selects
//! a whole namespace.
//!
//! Relations are kept once, sorted by source, with positions into them sorted by target, so
//! [`Relations::from`] (a slice) and [`Relations::to`] (an [`Incoming`] view) are binary
//! searches. Both ends of every relation are interned `Arc<ObjectRef>`s shared by all the
//! relations naming them: at 150,000 pods a million relations had six strings each. One
//! relation per (from, kind, to): when two facts give the same relation the first evidence
//! (sorted) is kept.
//!
//! `DependsOn` comes from the service map: `build` builds the base relations, then
//! [`ServiceMap::build`] over them, then merges in one `DependsOn` per map edge leaving a
//! workload. The map it built is kept ([`Relations::service_map`]) so nobody builds it
//! twice.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use serde::Serialize;

use super::servicemap::ServiceMap;
use super::views::PodSpecView;
use intel_model::{Object, Snapshot};

mod build;
mod specs;
mod store;
#[cfg(test)]
pub mod tests;

use build::Builder;
use specs::*;
pub use specs::{Backend, ROUTE_RESOURCES, backends, config_map_data, config_refs};
use store::*;

/// Names an object of the snapshot (or a thing outside it: a `Zone`, an `External` host).
/// Cluster-scoped objects have an empty namespace.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct ObjectRef {
    pub kind: String,
    pub namespace: String,
    pub name: String,
}

impl ObjectRef {
    pub fn new(
        kind: impl Into<String>,
        namespace: impl Into<String>,
        name: impl Into<String>,
    ) -> Self {
        ObjectRef {
            kind: kind.into(),
            namespace: namespace.into(),
            name: name.into(),
        }
    }

    /// The reference of an object, by the kind its JSON declares.
    pub fn of(obj: &Object) -> Self {
        ObjectRef::new(&obj.meta.kind, &obj.meta.namespace, &obj.meta.name)
    }

    /// A topology zone (the value of `topology.kubernetes.io/zone`).
    pub fn zone(name: impl Into<String>) -> Self {
        ObjectRef::new(ZONE, "", name)
    }

    /// A host outside the cluster (`api.stripe.com`).
    pub fn external(host: impl Into<String>) -> Self {
        ObjectRef::new(EXTERNAL, "", host)
    }
}

impl fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.namespace.is_empty() {
            write!(f, "{}/{}", self.kind, self.name)
        } else {
            write!(f, "{}/{}/{}", self.kind, self.namespace, self.name)
        }
    }
}

/// The kind of [`ObjectRef`] for topology zones.
pub const ZONE: &str = "Zone";
/// The kind of [`ObjectRef`] for endpoints outside the cluster.
pub const EXTERNAL: &str = "External";

/// What a relation says. Serialised in kebab-case, the words causality chains use
/// (`owned-by`, `runs-on`, `selected-by`, `depends-on`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RelationKind {
    /// Object → owner (ownerReferences). Pod → ReplicaSet → Deployment, Job → CronJob.
    OwnedBy,
    /// Pod → Node (`spec.nodeName`); workload → each node its pods run on.
    RunsOn,
    /// Pod or workload → Service, PodDisruptionBudget or NetworkPolicy whose selector
    /// matches it (Services without a selector: through their EndpointSlices).
    SelectedBy,
    /// Ingress or Gateway route → backend Service.
    Routes,
    /// HorizontalPodAutoscaler or VerticalPodAutoscaler → its target.
    Scales,
    /// Pod → PersistentVolumeClaim (claims and generic ephemeral volumes).
    Mounts,
    /// PersistentVolumeClaim → PersistentVolume.
    BoundTo,
    /// PersistentVolume or Node → `Zone` (from zone labels or the volume's node affinity).
    InZone,
    /// Workload or pod → ConfigMap or Secret (env, envFrom, volumes, imagePullSecrets).
    /// Pods of a captured workload do not repeat their template's: ask the workload.
    UsesConfig,
    /// Workload → Service, workload or external host, from the service map.
    DependsOn,
}

/// One directed relation with the evidence that establishes it (the field it was read
/// from, the selector that matched).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Relation {
    /// Shared with every other relation of the same object: a million relations at
    /// 150,000 pods, each of which had its own six strings.
    pub from: Arc<ObjectRef>,
    pub kind: RelationKind,
    pub to: Arc<ObjectRef>,
    pub evidence: String,
}

/// Evidence prefix of the controller owner reference: [`Relations::workload_of`] follows
/// only these.
const CONTROLLER: &str = "ownerReferences (controller";

/// Kinds that are the top of an ownership chain for analysis purposes: an operator owning
/// a StatefulSet does not make the operator's custom resource the workload.
const TOP_WORKLOADS: &[&str] = &["Deployment", "StatefulSet", "DaemonSet", "CronJob"];

/// A workload as the engines see it: its pod template (or a representative pod's spec when
/// the workload object is not in the snapshot or has no template).
#[derive(Debug, Clone)]
pub struct WorkloadInfo {
    pub id: ObjectRef,
    /// The object the spec was read from: the workload itself, or one of its pods.
    pub source: ObjectRef,
    /// JSON path of the pod spec in `source` (`spec.template.spec`, `spec`, …).
    pub spec_path: String,
    pub labels: BTreeMap<String, String>,
    /// `intel.kubectl.io/depends-on` values with the field they were read from.
    pub depends_on: Vec<(String, String)>,
    pub spec: PodSpecView,
}

/// The annotation declaring dependencies explicitly.
pub const DEPENDS_ON_ANNOTATION: &str = "intel.kubectl.io/depends-on";

/// All relations of one snapshot. See the module documentation.
#[derive(Debug, Clone)]
pub struct Relations {
    /// Sorted by (from, kind, to, evidence); unique per (from, kind, to).
    out: Vec<Relation>,
    /// Positions in `out` of the same relations sorted by (to, kind, from, evidence): a
    /// second copy of a million relations cost as much again in memory and allocations.
    inc: Vec<u32>,
    /// Sorted by id.
    workloads: Vec<WorkloadInfo>,
    map: ServiceMap,
}

impl Relations {
    /// Builds every relation, the service map, and the `DependsOn` relations from it.
    pub fn build(snap: &Snapshot) -> Relations {
        Self::build_with(snap, || None)
    }

    /// [`Relations::build`], with the Service addresses in the logs found elsewhere:
    /// `addresses` is called when the service map needs them (`None`: found here).
    pub fn build_with(
        snap: &Snapshot,
        addresses: impl FnOnce() -> Option<super::LogAddresses>,
    ) -> Relations {
        let (mut staged, workloads) =
            intel_timing::phase("relations: edges", || Builder::new(snap).run());
        let mut rel = Relations {
            out: std::mem::take(&mut staged.out),
            inc: std::mem::take(&mut staged.inc),
            workloads,
            map: ServiceMap::default(),
        };
        let addresses = intel_timing::phase("relations: wait for log addresses", addresses);
        let map = intel_timing::phase("relations: service map", || {
            ServiceMap::build_with(snap, &rel, addresses)
        });
        let deps: Vec<Relation> = map
            .edges
            .iter()
            .filter(|e| {
                map.node(&e.from)
                    .is_some_and(|n| n.kind == super::servicemap::WORKLOAD)
            })
            .map(|e| Relation {
                from: staged.shared(&e.from),
                kind: RelationKind::DependsOn,
                to: staged.shared(&e.to),
                evidence: super::servicemap::summarize(&e.evidence),
            })
            .collect();
        // The map's edges are unique per (from, to) and the base has no DependsOn: merged
        // on integer keys, both orders stay sorted and unique without a second sort.
        staged.out = std::mem::take(&mut rel.out);
        staged.inc = std::mem::take(&mut rel.inc);
        staged.merge(deps);
        rel.out = staged.out;
        rel.inc = staged.inc;
        rel.map = map;
        rel
    }

    /// The service map built with these relations.
    pub fn service_map(&self) -> &ServiceMap {
        &self.map
    }

    /// Every relation, sorted by (from, kind, to).
    pub fn all(&self) -> &[Relation] {
        &self.out
    }

    /// Outgoing relations of an object, sorted by (kind, to).
    pub fn from(&self, obj: &ObjectRef) -> &[Relation] {
        let lo = self.out.partition_point(|r| *r.from < *obj);
        let n = self.out[lo..].partition_point(|r| *r.from == *obj);
        &self.out[lo..lo + n]
    }

    /// Incoming relations of an object, sorted by (kind, from).
    pub fn to(&self, obj: &ObjectRef) -> Incoming<'_> {
        let out = &self.out;
        let lo = self.inc.partition_point(|&i| *out[i as usize].to < *obj);
        let n = self.inc[lo..].partition_point(|&i| *out[i as usize].to == *obj);
        Incoming {
            out,
            idx: &self.inc[lo..lo + n],
        }
    }

    /// Any direct relation between two objects, `a → b` first, then `b → a`.
    pub fn related(&self, a: &ObjectRef, b: &ObjectRef) -> Option<&Relation> {
        self.from(a)
            .iter()
            .find(|r| *r.to == *b)
            .or_else(|| self.from(b).iter().find(|r| *r.to == *a))
    }

    /// The workload that owns a pod (Deployment via ReplicaSet, StatefulSet, DaemonSet,
    /// Job/CronJob, or a custom controller owning a ReplicaSet or pods), or the pod itself.
    /// Follows controller owner references up to the first Deployment, StatefulSet,
    /// DaemonSet or CronJob; a Node owner (static pods) is not a workload.
    pub fn workload_of(&self, pod: &ObjectRef) -> ObjectRef {
        climb(pod, |r| {
            self.from(r)
                .iter()
                .find(|x| x.kind == RelationKind::OwnedBy && x.evidence.starts_with(CONTROLLER))
                .map(|x| (*x.to).clone())
        })
    }

    /// The pods a workload owns (through ReplicaSets or Jobs), sorted.
    pub fn pods_of(&self, workload: &ObjectRef) -> Vec<ObjectRef> {
        let mut out = Vec::new();
        let mut stack = vec![workload.clone()];
        let mut depth = 0;
        while !stack.is_empty() && depth < 8 {
            let mut next = Vec::new();
            for cur in &stack {
                for r in self.to(cur) {
                    if r.kind != RelationKind::OwnedBy || !r.evidence.starts_with(CONTROLLER) {
                        continue;
                    }
                    if r.from.kind == "Pod" {
                        out.push((*r.from).clone());
                    } else {
                        next.push((*r.from).clone());
                    }
                }
            }
            stack = next;
            depth += 1;
        }
        out.sort();
        out.dedup();
        out
    }

    /// Every workload: the targets of [`Relations::workload_of`] for all pods, plus
    /// Deployments, StatefulSets, DaemonSets, CronJobs and unowned Jobs/ReplicaSets with no
    /// pods. Sorted.
    pub fn workloads(&self) -> impl Iterator<Item = &ObjectRef> {
        self.workloads.iter().map(|w| &w.id)
    }

    pub fn workload_infos(&self) -> &[WorkloadInfo] {
        &self.workloads
    }

    pub fn workload_info(&self, id: &ObjectRef) -> Option<&WorkloadInfo> {
        self.workloads
            .binary_search_by(|w| w.id.cmp(id))
            .ok()
            .map(|i| &self.workloads[i])
    }
}

/// The incoming relations of one object ([`Relations::to`]), in order.
#[derive(Clone, Copy)]
pub struct Incoming<'a> {
    out: &'a [Relation],
    idx: &'a [u32],
}

impl<'a> Incoming<'a> {
    pub fn iter(&self) -> IncomingIter<'a> {
        IncomingIter {
            out: self.out,
            idx: self.idx.iter(),
        }
    }

    pub fn len(&self) -> usize {
        self.idx.len()
    }

    pub fn is_empty(&self) -> bool {
        self.idx.is_empty()
    }
}

impl<'a> IntoIterator for Incoming<'a> {
    type Item = &'a Relation;
    type IntoIter = IncomingIter<'a>;

    fn into_iter(self) -> IncomingIter<'a> {
        self.iter()
    }
}

#[derive(Clone)]
pub struct IncomingIter<'a> {
    out: &'a [Relation],
    idx: std::slice::Iter<'a, u32>,
}

impl<'a> Iterator for IncomingIter<'a> {
    type Item = &'a Relation;

    fn next(&mut self) -> Option<&'a Relation> {
        self.idx.next().map(|&i| &self.out[i as usize])
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.idx.size_hint()
    }
}

impl DoubleEndedIterator for IncomingIter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.idx.next_back().map(|&i| &self.out[i as usize])
    }
}

impl ExactSizeIterator for IncomingIter<'_> {}
