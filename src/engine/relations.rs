//! Typed relations between the objects of one snapshot, each with its evidence.
//!
//! Every analysis asks the same questions — what owns this pod, where does it run, which
//! Services and budgets select it, what does it mount, what does it depend on — so they
//! are answered once here. [`Relations::build`] walks each object type once and uses the
//! snapshot's [`Index`](crate::model::Index) (uid, names, Service → pods) plus a
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

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::Arc;

use serde::Serialize;

use super::servicemap::ServiceMap;
use super::views::{
    ConfigMapView, EndpointSliceView, IngressView, LabelSelector, NetworkPolicyView, PdbView,
    PodLiteView, PodSpecView, PodView, PvView, PvcView, RouteView, ScalerView, ServiceView,
    WorkloadView, describe_map,
};
use crate::model::{ObjId, Object, OwnerRef, ResourceType, Snapshot, TypeKey};

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
pub(crate) struct WorkloadInfo {
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
            crate::timing::phase("relations: edges", || Builder::new(snap).run());
        let mut rel = Relations {
            out: std::mem::take(&mut staged.out),
            inc: std::mem::take(&mut staged.inc),
            workloads,
            map: ServiceMap::default(),
        };
        let addresses = crate::timing::phase("relations: wait for log addresses", addresses);
        let map = crate::timing::phase("relations: service map", || {
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

    pub(crate) fn workload_infos(&self) -> &[WorkloadInfo] {
        &self.workloads
    }

    pub(crate) fn workload_info(&self, id: &ObjectRef) -> Option<&WorkloadInfo> {
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

/// A fast non-cryptographic hasher (the rustc "Fx" hash) for lookups built and dropped
/// inside one function. Never used for anything iterated into output.
#[derive(Default, Clone, Copy)]
struct FxHasher(u64);

impl std::hash::Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut b = [0u8; 8];
            b.copy_from_slice(c);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(b)).wrapping_mul(K);
        }
        for &b in chunks.remainder() {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(K);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

type FxBuild = std::hash::BuildHasherDefault<FxHasher>;

/// Sorts and deduplicates the builder's relations into both orders ([`Staged`]).
///
/// At 150,000 pods there are a million relations: sorting them by comparing their strings
/// (cold in memory by then) and moving 200-byte structs dominated the build. Instead each
/// reference was interned when its relation was made ([`Builder::push`]); the distinct
/// references (a few per pod) are sorted once to get their ranks, relations are ordered by
/// integer keys (strings compared only between duplicates' evidence), and moved into place
/// once. One relation per (from, kind, to) is kept: the one with the first evidence.
fn finish(
    rels: Vec<Relation>,
    pairs: &[(u32, u32)],
    refs: Vec<Arc<ObjectRef>>,
    ids: HashMap<Arc<ObjectRef>, u32, FxBuild>,
) -> Staged {
    let mut order: Vec<u32> = (0..refs.len() as u32).collect();
    order.sort_unstable_by(|a, b| refs[*a as usize].cmp(&refs[*b as usize]));
    let mut rank = vec![0u32; refs.len()];
    for (pos, id) in order.iter().enumerate() {
        rank[*id as usize] = pos as u32;
    }
    let mut slots: Vec<Option<Arc<ObjectRef>>> = refs.into_iter().map(Some).collect();
    let sorted: Vec<Arc<ObjectRef>> = order
        .iter()
        .filter_map(|&id| slots[id as usize].take())
        .collect();
    drop(slots);
    // (from rank, kind, to rank, position)
    let mut keys: Vec<(u32, u8, u32, u32)> = pairs
        .iter()
        .zip(&rels)
        .enumerate()
        .map(|(i, ((f, t), r))| (rank[*f as usize], r.kind as u8, rank[*t as usize], i as u32))
        .collect();
    keys.sort_unstable();
    let mut kept: Vec<(u32, u8, u32, u32)> = Vec::with_capacity(keys.len());
    for k in keys {
        match kept.last_mut() {
            Some(last) if (last.0, last.1, last.2) == (k.0, k.1, k.2) => {
                if rels[k.3 as usize].evidence < rels[last.3 as usize].evidence {
                    *last = k;
                }
            }
            _ => kept.push(k),
        }
    }
    let mut slots: Vec<Option<Relation>> = rels.into_iter().map(Some).collect();
    let out: Vec<Relation> = kept
        .iter()
        .filter_map(|k| slots[k.3 as usize].take())
        .collect();
    drop(slots);
    let mut inc_keys: Vec<(u32, u8, u32, u32)> = kept
        .iter()
        .enumerate()
        .map(|(pos, k)| (k.2, k.1, k.0, pos as u32))
        .collect();
    inc_keys.sort_unstable();
    let inc = inc_keys.iter().map(|k| k.3).collect();
    Staged {
        out,
        inc,
        out_keys: kept.iter().map(|k| (k.0, k.1, k.2)).collect(),
        inc_keys: inc_keys.iter().map(|k| (k.0, k.1, k.2)).collect(),
        sorted,
        ids,
        rank,
    }
}

/// Sorted relations with what [`Staged::merge`] needs to add more without comparing
/// strings again: the integer keys of every relation and the ranks of every reference.
struct Staged {
    out: Vec<Relation>,
    /// Positions in `out`, in (to, kind, from) order.
    inc: Vec<u32>,
    /// (from rank, kind, to rank) of `out`, and (to rank, kind, from rank) of `inc`.
    out_keys: Vec<(u32, u8, u32)>,
    inc_keys: Vec<(u32, u8, u32)>,
    /// Every interned reference, sorted; `rank[id]` is the position of id's reference.
    sorted: Vec<Arc<ObjectRef>>,
    ids: HashMap<Arc<ObjectRef>, u32, FxBuild>,
    rank: Vec<u32>,
}

impl Staged {
    /// A sort key for any reference, consistent with string order: `2·rank + 1` for an
    /// interned one, `2·(number of interned ones before it)` for any other. Ties (two new
    /// references between the same interned ones) keep the order they are given in.
    fn key(&self, r: &ObjectRef) -> u64 {
        match self.ids.get(r) {
            Some(&id) => 2 * u64::from(self.rank[id as usize]) + 1,
            None => 2 * self.sorted.partition_point(|x| **x < *r) as u64,
        }
    }

    /// The interned reference equal to `r`, or a new one.
    fn shared(&self, r: &ObjectRef) -> Arc<ObjectRef> {
        match self.ids.get(r) {
            Some(&id) => Arc::clone(&self.sorted[self.rank[id as usize] as usize]),
            None => Arc::new(r.clone()),
        }
    }

    /// Adds relations of a kind the staged ones do not have (so no duplicates), keeping
    /// both orders, by merging on integer keys.
    fn merge(&mut self, mut extra: Vec<Relation>) {
        if extra.is_empty() {
            return;
        }
        extra.sort();
        let keyed: Vec<(u64, u8, u64)> = extra
            .iter()
            .map(|r| (self.key(&r.from), r.kind as u8, self.key(&r.to)))
            .collect();
        let mut by_to: Vec<usize> = (0..extra.len()).collect();
        by_to.sort_by(|&a, &b| inc_order(&extra[a], &extra[b]));
        let wide = |k: &(u32, u8, u32)| (2 * u64::from(k.0) + 1, k.1, 2 * u64::from(k.2) + 1);
        let out_extra: Vec<((u64, u8, u64), Relation)> = keyed.iter().copied().zip(extra).collect();
        let (base_pos, extra_pos) = merge_keyed(&mut self.out, &self.out_keys, out_extra, wide);
        // The incoming order: both sorted by (to, kind, from) keys, merged, as positions
        // in the merged `out`.
        let mut inc = Vec::with_capacity(self.inc.len() + by_to.len());
        let mut extras = by_to.iter().peekable();
        for (pos, key) in self.inc.iter().zip(&self.inc_keys) {
            let key = wide(key);
            while let Some(&&e) = extras.peek() {
                if (keyed[e].2, keyed[e].1, keyed[e].0) >= key {
                    break;
                }
                inc.push(extra_pos[e]);
                extras.next();
            }
            inc.push(base_pos[*pos as usize]);
        }
        inc.extend(extras.map(|&e| extra_pos[e]));
        self.inc = inc;
    }
}

/// Merges `extra` (sorted by key) into `base` (sorted, with keys `base_keys`) in place,
/// from the back: each element moves once and no second vector of a million relations is
/// allocated. Returns where each base and each extra element ended up.
fn merge_keyed(
    base: &mut Vec<Relation>,
    base_keys: &[(u32, u8, u32)],
    extra: Vec<((u64, u8, u64), Relation)>,
    wide: impl Fn(&(u32, u8, u32)) -> (u64, u8, u64),
) -> (Vec<u32>, Vec<u32>) {
    let n = base.len();
    let m = extra.len();
    let none = Arc::new(ObjectRef::new("", "", ""));
    let blank = Relation {
        from: Arc::clone(&none),
        kind: RelationKind::OwnedBy,
        to: none,
        evidence: String::new(),
    };
    // One shared empty reference and an empty string: the blanks are free.
    base.resize(n + m, blank);
    let mut base_pos: Vec<u32> = (0..n as u32).collect();
    let mut extra_pos = vec![0u32; m];
    // Invariant: base[i..w] are blanks; base[..i] and base[w..] are in place.
    let (mut i, mut w) = (n, base.len());
    for (j, (key, e)) in extra.into_iter().enumerate().rev() {
        while i > 0 && wide(&base_keys[i - 1]) > key {
            i -= 1;
            w -= 1;
            base.swap(i, w);
            base_pos[i] = w as u32;
        }
        w -= 1;
        base[w] = e;
        extra_pos[j] = w as u32;
    }
    (base_pos, extra_pos)
}

/// The order of [`Relations::to`]: (to, kind, from, evidence).
fn inc_order(a: &Relation, b: &Relation) -> std::cmp::Ordering {
    (&a.to, a.kind, &a.from, &a.evidence).cmp(&(&b.to, b.kind, &b.from, &b.evidence))
}

/// Walks controller owners up from `start` (see [`Relations::workload_of`]).
fn climb(start: &ObjectRef, parent: impl Fn(&ObjectRef) -> Option<ObjectRef>) -> ObjectRef {
    let mut cur = start.clone();
    for _ in 0..16 {
        if TOP_WORKLOADS.contains(&cur.kind.as_str()) {
            break;
        }
        match parent(&cur) {
            Some(p) if p.kind != "Node" && p != *start => cur = p,
            _ => break,
        }
    }
    cur
}

/// The ConfigMaps and Secrets a pod spec references: (kind, name, field).
pub(crate) fn config_refs(spec: &PodSpecView, prefix: &str) -> Vec<(&'static str, String, String)> {
    let mut out = Vec::new();
    for (field, c) in spec.all_containers() {
        for e in &c.env {
            let Some(from) = &e.value_from else { continue };
            let at = format!("{prefix}.{field}[{}].env[{}].valueFrom", c.name, e.name);
            if let Some(r) = &from.config_map_key_ref {
                out.push(("ConfigMap", r.name.clone(), format!("{at}.configMapKeyRef")));
            }
            if let Some(r) = &from.secret_key_ref {
                out.push(("Secret", r.name.clone(), format!("{at}.secretKeyRef")));
            }
        }
        for (i, e) in c.env_from.iter().enumerate() {
            let at = format!("{prefix}.{field}[{}].envFrom[{i}]", c.name);
            if let Some(r) = &e.config_map_ref {
                out.push(("ConfigMap", r.name.clone(), format!("{at}.configMapRef")));
            }
            if let Some(r) = &e.secret_ref {
                out.push(("Secret", r.name.clone(), format!("{at}.secretRef")));
            }
        }
    }
    for v in &spec.volumes {
        let at = format!("{prefix}.volumes[{}]", v.name);
        if let Some(r) = &v.config_map {
            out.push(("ConfigMap", r.name.clone(), format!("{at}.configMap")));
        }
        if let Some(r) = &v.secret {
            out.push(("Secret", r.secret_name.clone(), format!("{at}.secret")));
        }
        if let Some(p) = &v.projected {
            for (i, s) in p.sources.iter().enumerate() {
                if let Some(r) = &s.config_map {
                    out.push((
                        "ConfigMap",
                        r.name.clone(),
                        format!("{at}.projected.sources[{i}].configMap"),
                    ));
                }
                if let Some(r) = &s.secret {
                    out.push((
                        "Secret",
                        r.name.clone(),
                        format!("{at}.projected.sources[{i}].secret"),
                    ));
                }
            }
        }
    }
    for s in &spec.image_pull_secrets {
        out.push((
            "Secret",
            s.name.clone(),
            format!("{prefix}.imagePullSecrets"),
        ));
    }
    out.retain(|(_, name, _)| !name.is_empty());
    out
}

/// A backend Service of an Ingress or a Gateway route.
pub(crate) struct Backend {
    pub service: ObjectRef,
    pub field: String,
    /// `host/path → service:port`.
    pub text: String,
}

/// The backend Services of an Ingress (`resource` "ingresses") or a Gateway API route.
pub(crate) fn backends(obj: &Object, resource: &str) -> Vec<Backend> {
    let ns = &obj.meta.namespace;
    let mut out = Vec::new();
    if resource == "ingresses" {
        let view: IngressView = obj.typed().unwrap_or_default();
        let mut push = |b: &super::views::IngressBackend, field: String, host: &str, path: &str| {
            let (name, port) = match &b.service {
                Some(s) => (
                    s.name.clone(),
                    s.port
                        .as_ref()
                        .and_then(|p| p.number.map(|n| n.to_string()).or(p.name.clone())),
                ),
                None => (
                    b.service_name.clone(),
                    b.service_port.as_ref().map(|p| match p {
                        serde_json::Value::String(s) => s.clone(),
                        other => other.to_string(),
                    }),
                ),
            };
            if name.is_empty() {
                return;
            }
            let target = match port {
                Some(p) => format!("{name}:{p}"),
                None => name.clone(),
            };
            let host = if host.is_empty() { "*" } else { host };
            out.push(Backend {
                service: ObjectRef::new("Service", ns, name),
                field,
                text: format!("{host}{path} → {target}"),
            });
        };
        if let Some(b) = view
            .spec
            .default_backend
            .as_ref()
            .or(view.spec.backend.as_ref())
        {
            let field = if view.spec.default_backend.is_some() {
                "spec.defaultBackend"
            } else {
                "spec.backend"
            };
            push(b, field.to_string(), "", "");
        }
        for (i, rule) in view.spec.rules.iter().enumerate() {
            let Some(http) = &rule.http else { continue };
            for (j, p) in http.paths.iter().enumerate() {
                push(
                    &p.backend,
                    format!("spec.rules[{i}].http.paths[{j}].backend"),
                    &rule.host,
                    &p.path,
                );
            }
        }
    } else {
        let view: RouteView = obj.typed().unwrap_or_default();
        for (i, rule) in view.spec.rules.iter().enumerate() {
            for (j, b) in rule.backend_refs.iter().enumerate() {
                let kind = b.kind.as_deref().unwrap_or("Service");
                if kind != "Service" || !b.group.is_empty() || b.name.is_empty() {
                    continue;
                }
                let svc_ns = if b.namespace.is_empty() {
                    ns
                } else {
                    &b.namespace
                };
                let target = match b.port {
                    Some(p) => format!("{}:{p}", b.name),
                    None => b.name.clone(),
                };
                out.push(Backend {
                    service: ObjectRef::new("Service", svc_ns, &b.name),
                    field: format!("spec.rules[{i}].backendRefs[{j}]"),
                    text: format!("{} → {target}", obj.meta.name),
                });
            }
        }
    }
    out
}

/// Gateway API route resources whose backends are Services.
pub(crate) const ROUTE_RESOURCES: &[&str] = &[
    "httproutes",
    "grpcroutes",
    "tcproutes",
    "tlsroutes",
    "udproutes",
];

const ZONE_LABELS: &[&str] = &[
    "topology.kubernetes.io/zone",
    "failure-domain.beta.kubernetes.io/zone",
];

/// The reference of an object in a list, falling back to the list's kind when the JSON
/// has none.
fn oref(obj: &Object, rtype: &ResourceType) -> ObjectRef {
    let kind = if obj.meta.kind.is_empty() {
        &rtype.kind
    } else {
        &obj.meta.kind
    };
    ObjectRef::new(kind, &obj.meta.namespace, &obj.meta.name)
}

/// Per-target aggregation of pod-level facts into one workload-level relation.
#[derive(Default)]
struct Agg {
    pods: usize,
    what: String,
}

/// Builds relations over interned references: every distinct [`ObjectRef`] gets an id
/// once, and the per-pod work (a million relations at 150,000 pods) moves ids, not strings.
struct Builder<'s> {
    snap: &'s Snapshot,
    out: Vec<Relation>,
    /// Interned ends of `out`.
    pairs: Vec<(u32, u32)>,
    ids: HashMap<Arc<ObjectRef>, u32, FxBuild>,
    /// Interned references, shared by every relation that names them.
    refs: Vec<Arc<ObjectRef>>,
    /// Object id → its controller owner's id.
    controller: HashMap<u32, u32, FxBuild>,
    /// Pods of the snapshot (the `("", "pods")` list), their ids and workloads' ids.
    pods: &'s [Object],
    pods_ty: Option<u32>,
    pod_ids: Vec<u32>,
    pod_wl: Vec<u32>,
    /// (workload, target, kind) → pod count, for workload-level relations. A hash map is
    /// fine here: what it produces is sorted by [`finish`].
    agg: HashMap<(u32, u32, RelationKind), Agg, FxBuild>,
}

impl<'s> Builder<'s> {
    fn new(snap: &'s Snapshot) -> Self {
        let pods_ty = snap
            .resources
            .keys()
            .position(|k| k.group.is_empty() && k.resource == "pods")
            .map(|p| p as u32);
        Builder {
            snap,
            out: Vec::new(),
            pairs: Vec::new(),
            ids: HashMap::default(),
            refs: Vec::new(),
            controller: HashMap::default(),
            pods: snap.pods(),
            pods_ty,
            pod_ids: Vec::new(),
            pod_wl: Vec::new(),
            agg: HashMap::default(),
        }
    }

    /// Records a relation, interning both ends while they are still hot in cache (see
    /// [`finish`]).
    fn push(&mut self, from: ObjectRef, kind: RelationKind, to: ObjectRef, evidence: String) {
        let f = self.intern(&from);
        let t = self.intern(&to);
        self.push_ids(f, kind, t, evidence);
    }

    /// A relation between interned references.
    fn push_ids(&mut self, f: u32, kind: RelationKind, t: u32, evidence: String) {
        self.pairs.push((f, t));
        self.out.push(Relation {
            from: Arc::clone(&self.refs[f as usize]),
            kind,
            to: Arc::clone(&self.refs[t as usize]),
            evidence,
        });
    }

    fn intern(&mut self, r: &ObjectRef) -> u32 {
        if let Some(&id) = self.ids.get(r) {
            return id;
        }
        let id = self.refs.len() as u32;
        let shared = Arc::new(r.clone());
        self.ids.insert(Arc::clone(&shared), id);
        self.refs.push(shared);
        id
    }

    /// [`climb`] over interned ids and the controller map.
    fn climb_id(&self, start: u32) -> u32 {
        let mut cur = start;
        for _ in 0..16 {
            if TOP_WORKLOADS.contains(&self.refs[cur as usize].kind.as_str()) {
                break;
            }
            match self.controller.get(&cur) {
                Some(&p) if self.refs[p as usize].kind != "Node" && p != start => cur = p,
                _ => break,
            }
        }
        cur
    }

    fn lists(
        &self,
        group: &str,
        resource: &str,
    ) -> impl Iterator<Item = (&'s TypeKey, &'s crate::model::ResourceList)> + use<'s> {
        let (group, resource) = (group.to_string(), resource.to_string());
        self.snap
            .resources
            .iter()
            .filter(move |(k, _)| k.group == group && k.resource == resource)
    }

    fn run(mut self) -> (Staged, Vec<WorkloadInfo>) {
        use crate::timing::phase;
        // Each pod's node and volumes are parsed from its JSON on the other core while
        // the owner edges are built: the pod pass needs both, and neither needs the other.
        let pods = self.pods;
        let views = std::thread::scope(|s| {
            let views = s.spawn(|| {
                phase("relations: pod specs", || {
                    pods.iter()
                        .map(|p| p.typed::<PodLiteView>().unwrap_or_default())
                        .collect::<Vec<_>>()
                })
            });
            phase("relations: owners", || self.owners());
            views
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        });
        phase("relations: pods", || self.pods_pass(&views));
        phase("relations: services", || self.services());
        phase("relations: endpoint slices", || self.endpoint_slices());
        let labels = PodLabels::build(self.pods);
        phase("relations: policies", || self.policies(&labels));
        self.routes();
        self.scalers();
        self.storage();
        self.nodes();
        let workloads = phase("relations: workloads", || self.workloads());
        for ((wl, target, kind), a) in std::mem::take(&mut self.agg) {
            let evidence = match kind {
                RelationKind::RunsOn => format!("{} pod(s) on the node", a.pods),
                _ => format!("{} pod(s) selected by {}", a.pods, a.what),
            };
            self.push_ids(wl, kind, target, evidence);
        }
        (
            phase("relations: sort", || {
                finish(self.out, &self.pairs, self.refs, self.ids)
            }),
            workloads,
        )
    }

    /// Where an owner reference points: the object with that uid, or a reference built from
    /// it (namespaced like its child unless its kind is cluster-scoped).
    fn owner_target(&self, obj: &Object, o: &OwnerRef) -> (ObjectRef, bool) {
        let ix = self.snap.index();
        if let Some(t) = ix.by_uid(&o.uid).and_then(|id| self.snap.get(id)) {
            let kind = if t.meta.kind.is_empty() {
                &o.kind
            } else {
                &t.meta.kind
            };
            return (ObjectRef::new(kind, &t.meta.namespace, &t.meta.name), true);
        }
        let ns = if obj.meta.namespace.is_empty() || !self.kind_namespaced(o) {
            ""
        } else {
            obj.meta.namespace.as_str()
        };
        (ObjectRef::new(&o.kind, ns, &o.name), false)
    }

    fn kind_namespaced(&self, o: &OwnerRef) -> bool {
        if let Some(l) = self
            .snap
            .resources
            .values()
            .find(|l| l.rtype.kind == o.kind)
        {
            return l.rtype.namespaced;
        }
        let (group, version) = o
            .api_version
            .rsplit_once('/')
            .unwrap_or(("", &o.api_version));
        ResourceType::builtin_by_kind(group, &o.kind)
            .and_then(|r| ResourceType::builtin(&TypeKey::new(group, version, r)))
            .is_none_or(|t| t.namespaced)
    }

    fn owners(&mut self) {
        let snap = self.snap;
        let ix = snap.index();
        for list in snap.resources.values() {
            if list.rtype.kind == "Event" {
                continue;
            }
            let is_pods = list.rtype.group.is_empty() && list.rtype.resource == "pods";
            for obj in &list.items {
                if obj.meta.owners.is_empty() {
                    continue;
                }
                let me = oref(obj, &list.rtype);
                let ctrl = obj.controller();
                for o in &obj.meta.owners {
                    let (to, found) = self.owner_target(obj, o);
                    let is_ctrl = ctrl.is_some_and(|c| std::ptr::eq(c, o));
                    let mut evidence = if is_ctrl {
                        format!("{CONTROLLER})")
                    } else {
                        "ownerReferences".to_string()
                    };
                    if !found {
                        evidence.push_str("; owner not in snapshot");
                    }
                    // A pod whose ReplicaSet was not captured: its Deployment is named by
                    // the ReplicaSet's name minus the pod-template-hash suffix.
                    if is_ctrl && !found && is_pods && o.kind == "ReplicaSet" {
                        if let Some(hash) = obj.meta.labels.get("pod-template-hash") {
                            if let Some(dep) = o.name.strip_suffix(&format!("-{hash}")) {
                                if !ix.by_name("Deployment", &me.namespace, dep).is_empty() {
                                    let d = ObjectRef::new("Deployment", &me.namespace, dep);
                                    let (rs, d) = (self.intern(&to), self.intern(&d));
                                    if let std::collections::hash_map::Entry::Vacant(e) =
                                        self.controller.entry(rs)
                                    {
                                        e.insert(d);
                                        self.push_ids(
                                            rs,
                                            RelationKind::OwnedBy,
                                            d,
                                            format!("{CONTROLLER}, inferred from pod-template-hash {hash}: the ReplicaSet is not in the snapshot)"),
                                        );
                                    }
                                }
                            }
                        }
                    }
                    let (m, t) = (self.intern(&me), self.intern(&to));
                    if is_ctrl {
                        self.controller.insert(m, t);
                    }
                    self.push_ids(m, RelationKind::OwnedBy, t, evidence);
                }
            }
        }
    }

    /// `views`: each pod's [`PodLiteView`], in the order of the pods list.
    fn pods_pass(&mut self, views: &[PodLiteView]) {
        let pods = self.pods;
        for (pod, view) in pods.iter().zip(views) {
            let me = ObjectRef::new("Pod", &pod.meta.namespace, &pod.meta.name);
            let me_id = self.intern(&me);
            let wl_id = self.climb_id(me_id);
            let spec = &view.spec;
            if !spec.node_name.is_empty() {
                let node = self.intern(&ObjectRef::new("Node", "", &spec.node_name));
                if wl_id != me_id {
                    self.agg
                        .entry((wl_id, node, RelationKind::RunsOn))
                        .or_default()
                        .pods += 1;
                }
                self.push_ids(me_id, RelationKind::RunsOn, node, "spec.nodeName".into());
            }
            let ix = self.snap.index();
            for v in &spec.volumes {
                let (claim, field) = if let Some(c) = &v.persistent_volume_claim {
                    (c.claim_name.clone(), "persistentVolumeClaim")
                } else if v.ephemeral.is_some() {
                    (format!("{}-{}", pod.meta.name, v.name), "ephemeral")
                } else {
                    continue;
                };
                if claim.is_empty() {
                    continue;
                }
                let mut evidence = format!("spec.volumes[{}].{field}", v.name);
                if ix
                    .by_name("PersistentVolumeClaim", &me.namespace, &claim)
                    .is_empty()
                {
                    evidence.push_str("; claim not in snapshot");
                }
                let to = self.intern(&ObjectRef::new(
                    "PersistentVolumeClaim",
                    &me.namespace,
                    claim,
                ));
                self.push_ids(me_id, RelationKind::Mounts, to, evidence);
            }
            // A pod of a captured workload uses what its template uses: that relation is
            // kept once, on the workload (150,000 copies would cost memory and time and
            // say nothing more). Bare pods and pods whose owner was not captured keep theirs.
            let own_config = wl_id == me_id || {
                let wl = &self.refs[wl_id as usize];
                ix.by_name(&wl.kind, &wl.namespace, &wl.name).is_empty()
            };
            let full: PodView = match own_config {
                true => pod.typed().unwrap_or_default(),
                false => PodView::default(),
            };
            for (kind, name, field) in config_refs(&full.spec, "spec") {
                let to = ObjectRef::new(kind, &me.namespace, name);
                let evidence = self.config_evidence(&to, field);
                let to = self.intern(&to);
                self.push_ids(me_id, RelationKind::UsesConfig, to, evidence);
            }
            self.pod_ids.push(me_id);
            self.pod_wl.push(wl_id);
        }
    }

    fn config_evidence(&self, to: &ObjectRef, field: String) -> String {
        if self
            .snap
            .index()
            .by_name(&to.kind, &to.namespace, &to.name)
            .is_empty()
        {
            format!("{field}; {} not in snapshot", to.kind)
        } else {
            field
        }
    }

    /// The position of a pod id in the pods list.
    fn pod_pos(&self, id: ObjId) -> Option<usize> {
        (Some(id.ty) == self.pods_ty)
            .then_some(id.item as usize)
            .filter(|&i| i < self.pod_ids.len())
    }

    /// A pod selected by `target` (interned), and its workload's aggregate.
    fn select_pod(&mut self, pos: usize, target: u32, evidence: &str) {
        let (pod, wl) = (self.pod_ids[pos], self.pod_wl[pos]);
        if wl != pod {
            let a = self
                .agg
                .entry((wl, target, RelationKind::SelectedBy))
                .or_default();
            a.pods += 1;
            if a.what.is_empty() {
                a.what = evidence.to_string();
            }
        }
        self.push_ids(pod, RelationKind::SelectedBy, target, evidence.to_string());
    }

    /// Service → pods, from the snapshot index (its inverted label index).
    fn services(&mut self) {
        let snap = self.snap;
        let ix = snap.index();
        for (_, list) in self.lists("", "services") {
            for svc in &list.items {
                let me = oref(svc, &list.rtype);
                let Some(id) = ix
                    .by_name(&me.kind, &me.namespace, &me.name)
                    .iter()
                    .copied()
                    .find(|id| {
                        ix.type_of(*id)
                            .is_some_and(|t| t.group.is_empty() && t.resource == "services")
                    })
                else {
                    continue;
                };
                let Some(selected) = ix.service_pods(id) else {
                    continue;
                };
                if selected.is_empty() {
                    continue;
                }
                let view: ServiceView = svc.typed().unwrap_or_default();
                let what = format!("spec.selector {}", describe_map(&view.spec.selector));
                let target = self.intern(&me);
                for pid in selected {
                    if let Some(pos) = self.pod_pos(*pid) {
                        self.select_pod(pos, target, &what);
                    }
                }
            }
        }
    }

    /// Services without a selector: their EndpointSlices name the pods.
    fn endpoint_slices(&mut self) {
        let snap = self.snap;
        let ix = snap.index();
        for (_, list) in self.lists("discovery.k8s.io", "endpointslices") {
            for slice in &list.items {
                let Some(svc_name) = slice.meta.labels.get("kubernetes.io/service-name") else {
                    continue;
                };
                let ns = &slice.meta.namespace;
                let svc_ids = ix.by_name("Service", ns, svc_name);
                if svc_ids.is_empty() || svc_ids.iter().any(|id| ix.service_pods(*id).is_some()) {
                    continue;
                }
                let target = ObjectRef::new("Service", ns, svc_name);
                let view: EndpointSliceView = slice.typed().unwrap_or_default();
                for ep in &view.endpoints {
                    let Some(t) = &ep.target_ref else { continue };
                    if t.kind != "Pod" {
                        continue;
                    }
                    let pns = if t.namespace.is_empty() {
                        ns
                    } else {
                        &t.namespace
                    };
                    let pos = ix
                        .by_name("Pod", pns, &t.name)
                        .iter()
                        .find_map(|id| self.pod_pos(*id));
                    if let Some(pos) = pos {
                        let what =
                            format!("EndpointSlice {} endpoints[].targetRef", slice.meta.name);
                        let target = self.intern(&target);
                        self.select_pod(pos, target, &what);
                    }
                }
            }
        }
    }

    /// PodDisruptionBudgets and NetworkPolicies → the pods they select.
    fn policies(&mut self, labels: &PodLabels<'s>) {
        let mut found: Vec<(ObjectRef, &'static str, LabelSelector)> = Vec::new();
        for (_, list) in self.lists("policy", "poddisruptionbudgets") {
            for pdb in &list.items {
                let view: PdbView = pdb.typed().unwrap_or_default();
                if let Some(sel) = view.spec.selector {
                    found.push((oref(pdb, &list.rtype), "spec.selector", sel));
                }
            }
        }
        for (_, list) in self.lists("networking.k8s.io", "networkpolicies") {
            for np in &list.items {
                let Ok(view) = np.typed::<NetworkPolicyView>() else {
                    continue;
                };
                found.push((
                    oref(np, &list.rtype),
                    "spec.podSelector",
                    view.spec.pod_selector,
                ));
            }
        }
        for (target, field, sel) in found {
            let what = format!("{field} {}", sel.describe());
            let id = self.intern(&target);
            for pos in labels.select(self.pods, &target.namespace, &sel) {
                self.select_pod(pos, id, &what);
            }
        }
    }

    fn routes(&mut self) {
        let snap = self.snap;
        let ix = snap.index();
        let mut lists: Vec<&crate::model::ResourceList> = Vec::new();
        for (k, l) in &snap.resources {
            let ingress = k.resource == "ingresses"
                && (k.group == "networking.k8s.io" || k.group == "extensions");
            let route = k.group == "gateway.networking.k8s.io"
                && ROUTE_RESOURCES.contains(&k.resource.as_str());
            if ingress || route {
                lists.push(l);
            }
        }
        for list in lists {
            for obj in &list.items {
                let me = oref(obj, &list.rtype);
                for b in backends(obj, &list.rtype.resource) {
                    let mut evidence = format!("{}: {}", b.field, b.text);
                    if ix
                        .by_name("Service", &b.service.namespace, &b.service.name)
                        .is_empty()
                    {
                        evidence.push_str("; Service not in snapshot");
                    }
                    self.push(me.clone(), RelationKind::Routes, b.service, evidence);
                }
            }
        }
    }

    fn scalers(&mut self) {
        let mut found = Vec::new();
        for (group, resource) in [
            ("autoscaling", "horizontalpodautoscalers"),
            ("autoscaling.k8s.io", "verticalpodautoscalers"),
        ] {
            for (_, list) in self.lists(group, resource) {
                for obj in &list.items {
                    let view: ScalerView = obj.typed().unwrap_or_default();
                    let (t, field) = match (view.spec.scale_target_ref, view.spec.target_ref) {
                        (Some(t), _) => (t, "spec.scaleTargetRef"),
                        (None, Some(t)) => (t, "spec.targetRef"),
                        _ => continue,
                    };
                    if t.kind.is_empty() || t.name.is_empty() {
                        continue;
                    }
                    let to = ObjectRef::new(&t.kind, &obj.meta.namespace, &t.name);
                    found.push((oref(obj, &list.rtype), to, field));
                }
            }
        }
        let ix = self.snap.index();
        for (from, to, field) in found {
            let mut evidence = field.to_string();
            if ix.by_name(&to.kind, &to.namespace, &to.name).is_empty() {
                evidence.push_str("; target not in snapshot");
            }
            self.push(from, RelationKind::Scales, to, evidence);
        }
    }

    fn storage(&mut self) {
        let snap = self.snap;
        let ix = snap.index();
        let mut bound: HashMap<ObjectRef, String> = HashMap::new();
        for (_, list) in self.lists("", "persistentvolumeclaims") {
            for pvc in &list.items {
                let view: PvcView = pvc.typed().unwrap_or_default();
                if view.spec.volume_name.is_empty() {
                    continue;
                }
                let me = oref(pvc, &list.rtype);
                bound.insert(me.clone(), view.spec.volume_name.clone());
                self.push(
                    me,
                    RelationKind::BoundTo,
                    ObjectRef::new("PersistentVolume", "", view.spec.volume_name),
                    "spec.volumeName".into(),
                );
            }
        }
        for (_, list) in self.lists("", "persistentvolumes") {
            for pv in &list.items {
                let me = oref(pv, &list.rtype);
                let view: PvView = pv.typed().unwrap_or_default();
                if let Some(c) = &view.spec.claim_ref {
                    let claim = ObjectRef::new("PersistentVolumeClaim", &c.namespace, &c.name);
                    let exists = !ix
                        .by_name(&claim.kind, &claim.namespace, &claim.name)
                        .is_empty();
                    // A released volume still names its deleted claim: only a claim that
                    // exists and is not bound elsewhere counts.
                    if exists && bound.get(&claim).is_none_or(|v| *v == me.name) {
                        self.push(
                            claim,
                            RelationKind::BoundTo,
                            me.clone(),
                            "PersistentVolume spec.claimRef".into(),
                        );
                    }
                }
                for label in ZONE_LABELS {
                    if let Some(z) = pv.meta.labels.get(*label) {
                        // Regional disks list their zones joined by "__".
                        for zone in z.split("__").filter(|z| !z.is_empty()) {
                            self.push(
                                me.clone(),
                                RelationKind::InZone,
                                ObjectRef::zone(zone),
                                format!("metadata.labels[{label}]"),
                            );
                        }
                    }
                }
                let terms = view
                    .spec
                    .node_affinity
                    .and_then(|a| a.required)
                    .map(|r| r.node_selector_terms)
                    .unwrap_or_default();
                for (i, term) in terms.iter().enumerate() {
                    for r in &term.match_expressions {
                        if ZONE_LABELS.contains(&r.key.as_str()) && r.operator == "In" {
                            for zone in &r.values {
                                self.push(
                                    me.clone(),
                                    RelationKind::InZone,
                                    ObjectRef::zone(zone),
                                    format!("spec.nodeAffinity.required.nodeSelectorTerms[{i}] {} in ({})", r.key, r.values.join(",")),
                                );
                            }
                        }
                    }
                }
            }
        }
    }

    fn nodes(&mut self) {
        for node in self.snap.nodes() {
            let me = ObjectRef::new("Node", "", &node.meta.name);
            for label in ZONE_LABELS {
                if let Some(z) = node.meta.labels.get(*label) {
                    self.push(
                        me.clone(),
                        RelationKind::InZone,
                        ObjectRef::zone(z),
                        format!("metadata.labels[{label}]"),
                    );
                }
            }
        }
    }

    /// Collects the workloads, their templates, and their template-level relations
    /// (UsesConfig, SelectedBy for Services selecting the template's labels even with no
    /// pods running).
    fn workloads(&mut self) -> Vec<WorkloadInfo> {
        let snap = self.snap;
        let ix = snap.index();
        let mut set: BTreeMap<ObjectRef, Option<WorkloadInfo>> = BTreeMap::new();
        for (group, resource) in [
            ("apps", "deployments"),
            ("apps", "statefulsets"),
            ("apps", "daemonsets"),
            ("batch", "cronjobs"),
            ("batch", "jobs"),
            ("apps", "replicasets"),
            ("", "replicationcontrollers"),
        ] {
            for (_, list) in self.lists(group, resource) {
                for obj in &list.items {
                    let me = oref(obj, &list.rtype);
                    let id = self.intern(&me);
                    if self.climb_id(id) != id {
                        continue;
                    }
                    let info = template_info(obj, &me);
                    set.insert(me, info);
                }
            }
        }
        // Workloads found through pods: bare pods, custom controllers, owners not captured.
        for (pos, &wl_id) in self.pod_wl.iter().enumerate() {
            let wl = &self.refs[wl_id as usize];
            if set.get(wl).is_some_and(Option::is_some) {
                continue;
            }
            let from_object = ix
                .by_name(&wl.kind, &wl.namespace, &wl.name)
                .first()
                .and_then(|id| snap.get(*id))
                .filter(|_| wl.kind != "Pod")
                .and_then(|obj| template_info(obj, wl));
            let info = from_object.or_else(|| pod_info(&self.pods[pos], wl));
            set.insert((**wl).clone(), info);
        }

        // Service selectors by (namespace, key, value), to match templates without pods.
        let mut svc_labels: HashMap<(String, String, String), Vec<usize>> = HashMap::new();
        let mut svcs: Vec<(ObjectRef, BTreeMap<String, String>)> = Vec::new();
        for (_, list) in self.lists("", "services") {
            for svc in &list.items {
                let view: ServiceView = svc.typed().unwrap_or_default();
                if view.spec.selector.is_empty() {
                    continue;
                }
                for (k, v) in &view.spec.selector {
                    svc_labels
                        .entry((svc.meta.namespace.clone(), k.clone(), v.clone()))
                        .or_default()
                        .push(svcs.len());
                }
                svcs.push((oref(svc, &list.rtype), view.spec.selector));
            }
        }

        let mut out = Vec::new();
        for (id, info) in set {
            let Some(info) = info else {
                out.push(WorkloadInfo {
                    source: id.clone(),
                    id,
                    spec_path: String::new(),
                    labels: BTreeMap::new(),
                    depends_on: Vec::new(),
                    spec: PodSpecView::default(),
                });
                continue;
            };
            if id.kind != "Pod" {
                let via = if info.source == id {
                    String::new()
                } else {
                    format!(" (of {})", info.source)
                };
                for (kind, name, field) in config_refs(&info.spec, &info.spec_path) {
                    let to = ObjectRef::new(kind, &id.namespace, name);
                    let evidence = self.config_evidence(&to, format!("{field}{via}"));
                    self.push(id.clone(), RelationKind::UsesConfig, to, evidence);
                }
                let mut hits: BTreeMap<usize, usize> = BTreeMap::new();
                for (k, v) in &info.labels {
                    let key = (id.namespace.clone(), k.clone(), v.clone());
                    for &s in svc_labels.get(&key).map(Vec::as_slice).unwrap_or(&[]) {
                        *hits.entry(s).or_default() += 1;
                    }
                }
                for (s, n) in hits {
                    let (svc, sel) = &svcs[s];
                    if n != sel.len() {
                        continue;
                    }
                    let (w, t) = (self.intern(&id), self.intern(svc));
                    if !self.agg.contains_key(&(w, t, RelationKind::SelectedBy)) {
                        let evidence = format!(
                            "spec.selector {} matches the pod template labels",
                            describe_map(sel)
                        );
                        self.push_ids(w, RelationKind::SelectedBy, t, evidence);
                    }
                }
            }
            out.push(info);
        }
        out
    }
}

/// A workload's info from its own template (`None` when it has none).
fn template_info(obj: &Object, id: &ObjectRef) -> Option<WorkloadInfo> {
    let view: WorkloadView = obj.typed().ok()?;
    let mut depends_on = Vec::new();
    if let Some(v) = view.metadata.annotations.get(DEPENDS_ON_ANNOTATION) {
        depends_on.push((
            format!("metadata.annotations[{DEPENDS_ON_ANNOTATION}]"),
            v.clone(),
        ));
    }
    let (t, path) = view.into_template()?;
    if let Some(v) = t.metadata.annotations.get(DEPENDS_ON_ANNOTATION) {
        depends_on.push((
            format!("{path}.metadata.annotations[{DEPENDS_ON_ANNOTATION}]"),
            v.clone(),
        ));
    }
    Some(WorkloadInfo {
        id: id.clone(),
        source: id.clone(),
        spec_path: format!("{path}.spec"),
        labels: t.metadata.labels,
        depends_on,
        spec: t.spec,
    })
}

/// A workload's info from one of its pods.
fn pod_info(pod: &Object, id: &ObjectRef) -> Option<WorkloadInfo> {
    let view: PodView = pod.typed().ok()?;
    let depends_on = view
        .metadata
        .annotations
        .get(DEPENDS_ON_ANNOTATION)
        .map(|v| {
            vec![(
                format!("metadata.annotations[{DEPENDS_ON_ANNOTATION}]"),
                v.clone(),
            )]
        })
        .unwrap_or_default();
    Some(WorkloadInfo {
        id: id.clone(),
        source: ObjectRef::new("Pod", &pod.meta.namespace, &pod.meta.name),
        spec_path: "spec".into(),
        labels: pod.meta.labels.clone(),
        depends_on,
        spec: view.spec,
    })
}

/// Pods by (namespace, label key, value) and by namespace: selectors are matched from
/// their most selective requirement instead of testing every pod.
struct PodLabels<'s> {
    by_label: HashMap<(&'s str, &'s str, &'s str), Vec<usize>>,
    by_ns: HashMap<&'s str, Vec<usize>>,
}

impl<'s> PodLabels<'s> {
    fn build(pods: &'s [Object]) -> Self {
        let mut by_label: HashMap<(&str, &str, &str), Vec<usize>> = HashMap::new();
        let mut by_ns: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, p) in pods.iter().enumerate() {
            let ns = p.meta.namespace.as_str();
            by_ns.entry(ns).or_default().push(i);
            for (k, v) in &p.meta.labels {
                by_label
                    .entry((ns, k.as_str(), v.as_str()))
                    .or_default()
                    .push(i);
            }
        }
        PodLabels { by_label, by_ns }
    }

    /// Positions of the pods of `ns` that `sel` selects, ascending.
    fn select(&self, pods: &[Object], ns: &str, sel: &LabelSelector) -> Vec<usize> {
        let map = &self.by_label;
        let candidates: Vec<usize> = if !sel.match_labels.is_empty() {
            sel.match_labels
                .iter()
                .map(|(k, v)| postings(map, ns, k, v))
                .min_by_key(|p| p.len())
                .unwrap_or(&[])
                .to_vec()
        } else if let Some(r) = sel.match_expressions.iter().find(|r| r.operator == "In") {
            let mut c: Vec<usize> = r
                .values
                .iter()
                .flat_map(|v| postings(map, ns, &r.key, v).iter().copied())
                .collect();
            c.sort_unstable();
            c.dedup();
            c
        } else {
            self.by_ns.get(ns).cloned().unwrap_or_default()
        };
        candidates
            .into_iter()
            .filter(|&i| sel.matches(&pods[i].meta.labels))
            .collect()
    }
}

/// Covariance shrinks the map's key lifetimes to the query's: the result lives as long as
/// the shortest of them, which is all callers need (they copy it).
fn postings<'m>(
    map: &'m HashMap<(&'m str, &'m str, &'m str), Vec<usize>>,
    ns: &'m str,
    k: &'m str,
    v: &'m str,
) -> &'m [usize] {
    map.get(&(ns, k, v)).map(Vec::as_slice).unwrap_or(&[])
}

/// Reads a ConfigMap's data (empty when absent or unparsable).
pub(crate) fn config_map_data(snap: &Snapshot, ns: &str, name: &str) -> BTreeMap<String, String> {
    snap.index()
        .by_name("ConfigMap", ns, name)
        .first()
        .and_then(|id| snap.get(*id))
        .and_then(|o| o.typed::<ConfigMapView>().ok())
        .map(|v| v.data)
        .unwrap_or_default()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::model::manifest::{ClusterInfo, Manifest};
    use crate::model::{LogKey, ResourceList};
    use serde_json::{Value, json};

    /// A snapshot of the given objects, grouped into lists by apiVersion and kind.
    pub(crate) fn snapshot(objects: Vec<Value>, logs: Vec<(&str, &str, &str)>) -> Snapshot {
        let mut s = Snapshot::new(Manifest::new(
            ClusterInfo::default(),
            "2026-01-01T00:00:00Z".into(),
        ));
        let mut lists: BTreeMap<TypeKey, (String, Vec<Object>)> = BTreeMap::new();
        for v in objects {
            let api = v["apiVersion"].as_str().unwrap_or("v1");
            let kind = v["kind"].as_str().unwrap_or("");
            let (group, version) = api.rsplit_once('/').unwrap_or(("", api));
            // Kinds outside the built-in table (Gateway API routes) as a CRD would serve them.
            let resource = ResourceType::builtin_by_kind(group, kind)
                .map(str::to_string)
                .unwrap_or_else(|| format!("{}s", kind.to_lowercase()));
            let entry = lists
                .entry(TypeKey::new(group, version, &resource))
                .or_default();
            entry.0 = kind.to_string();
            entry.1.push(Object::from_value(&v).unwrap());
        }
        for (key, (kind, items)) in lists {
            let rtype = ResourceType::builtin(&key).unwrap_or_else(|| ResourceType {
                group: key.group.clone(),
                version: key.version.clone(),
                resource: key.resource.clone(),
                singular: kind.to_lowercase(),
                kind,
                namespaced: true,
                short_names: vec![],
                categories: vec![],
            });
            s.insert_list(ResourceList::new(rtype, items));
        }
        for (ns, pod, text) in logs {
            s.logs.insert(
                LogKey {
                    namespace: ns.into(),
                    pod: pod.into(),
                    container: "app".into(),
                    previous: false,
                },
                text.into(),
            );
        }
        s
    }

    pub(crate) fn r(kind: &str, ns: &str, name: &str) -> ObjectRef {
        ObjectRef::new(kind, ns, name)
    }

    fn meta(
        name: &str,
        ns: &str,
        uid: &str,
        labels: Value,
        owner: Option<(&str, &str, &str)>,
    ) -> Value {
        let mut m = json!({"name": name, "uid": uid, "labels": labels});
        if !ns.is_empty() {
            m["namespace"] = json!(ns);
        }
        if let Some((kind, oname, ouid)) = owner {
            m["ownerReferences"] = json!([{"apiVersion": "apps/v1", "kind": kind, "name": oname, "uid": ouid, "controller": true}]);
        }
        m
    }

    fn cluster() -> Snapshot {
        let pod = |name: &str,
                   owner: Option<(&str, &str, &str)>,
                   node: &str,
                   labels: Value,
                   extra: Value| {
            let mut p = json!({"apiVersion": "v1", "kind": "Pod",
                "metadata": meta(name, "a", &format!("u-{name}"), labels, owner),
                "spec": {"nodeName": node, "containers": [{"name": "app"}]}});
            if let Value::Object(m) = extra {
                for (k, v) in m {
                    p["spec"][k] = v;
                }
            }
            p
        };
        snapshot(
            vec![
                json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1", "uid": "n1",
                    "labels": {"topology.kubernetes.io/zone": "z1"}}}),
                json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n2", "uid": "n2",
                    "labels": {"failure-domain.beta.kubernetes.io/zone": "z2"}}}),
                json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta("web", "a", "d1", json!({}), None),
                    "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": {"metadata": {"labels": {"app": "web"}},
                        "spec": {"containers": [{"name": "app", "envFrom": [{"configMapRef": {"name": "web-env"}}],
                            "env": [{"name": "PW", "valueFrom": {"secretKeyRef": {"name": "web-secret", "key": "pw"}}}]}],
                            "volumes": [{"name": "cfg", "projected": {"sources": [{"configMap": {"name": "web-files"}}]}}]}}}}),
                json!({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": meta("web-7f", "a", "r1", json!({"app": "web"}), Some(("Deployment", "web", "d1")))}),
                pod(
                    "web-7f-1",
                    Some(("ReplicaSet", "web-7f", "r1")),
                    "n1",
                    json!({"app": "web", "pod-template-hash": "7f"}),
                    json!({"containers": [{"name": "app", "envFrom": [{"configMapRef": {"name": "web-env"}}]}]}),
                ),
                pod(
                    "web-7f-2",
                    Some(("ReplicaSet", "web-7f", "r1")),
                    "n2",
                    json!({"app": "web", "pod-template-hash": "7f"}),
                    json!({}),
                ),
                pod(
                    "web-7f-3",
                    Some(("ReplicaSet", "web-7f", "r1")),
                    "n2",
                    json!({"app": "web", "pod-template-hash": "7f"}),
                    json!({}),
                ),
                // A pod whose ReplicaSet was not captured, a bare pod, a static pod.
                json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta("api", "a", "d2", json!({}), None),
                    "spec": {"template": {"metadata": {"labels": {"app": "api"}}, "spec": {"containers": []}}}}),
                pod(
                    "api-5c-1",
                    Some(("ReplicaSet", "api-5c", "gone")),
                    "n1",
                    json!({"app": "api", "pod-template-hash": "5c"}),
                    json!({}),
                ),
                pod(
                    "debug",
                    None,
                    "n1",
                    json!({"app": "debug"}),
                    json!({"imagePullSecrets": [{"name": "pull"}]}),
                ),
                {
                    let mut p = pod(
                        "etcd-n1",
                        None,
                        "n1",
                        json!({"component": "etcd"}),
                        json!({}),
                    );
                    p["metadata"]["ownerReferences"] = json!([{"apiVersion": "v1", "kind": "Node", "name": "n1", "uid": "n1", "controller": true}]);
                    p
                },
                // CronJob → Job → pod
                json!({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": meta("backup", "a", "cj", json!({}), None),
                    "spec": {"jobTemplate": {"spec": {"template": {"metadata": {"labels": {"app": "backup"}},
                        "spec": {"containers": [{"name": "b", "env": [{"name": "X", "valueFrom": {"configMapKeyRef": {"name": "backup-cfg", "key": "k"}}}]}]}}}}}}),
                json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "backup-1", "namespace": "a", "uid": "j1",
                    "ownerReferences": [{"apiVersion": "batch/v1", "kind": "CronJob", "name": "backup", "uid": "cj", "controller": true}]}}),
                pod(
                    "backup-1-x",
                    Some(("Job", "backup-1", "j1")),
                    "n2",
                    json!({"app": "backup"}),
                    json!({"volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "data"}}]}),
                ),
                // Storage
                json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": meta("data", "a", "pvc1", json!({}), None),
                    "spec": {"volumeName": "pv-1"}}),
                json!({"apiVersion": "v1", "kind": "PersistentVolume", "metadata": meta("pv-1", "", "pv1", json!({}), None),
                    "spec": {"claimRef": {"namespace": "a", "name": "data"}, "nodeAffinity": {"required": {"nodeSelectorTerms": [
                        {"matchExpressions": [{"key": "topology.kubernetes.io/zone", "operator": "In", "values": ["z2"]}]}]}}}}),
                // Selection
                json!({"apiVersion": "v1", "kind": "Service", "metadata": meta("web", "a", "s1", json!({}), None),
                    "spec": {"selector": {"app": "web"}, "clusterIP": "10.96.0.1"}}),
                json!({"apiVersion": "v1", "kind": "Service", "metadata": meta("backup", "a", "s2", json!({}), None),
                    "spec": {"selector": {"app": "backup"}}}),
                json!({"apiVersion": "v1", "kind": "Service", "metadata": meta("web", "b", "s3", json!({}), None),
                    "spec": {"selector": {"app": "web"}}}),
                json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": meta("web", "a", "pdb1", json!({}), None),
                    "spec": {"selector": {"matchExpressions": [{"key": "app", "operator": "In", "values": ["web", "api"]}]}}}),
                json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": meta("deny", "a", "np1", json!({}), None),
                    "spec": {"podSelector": {"matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["web"]}]}}}),
                json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": meta("edge", "a", "i1", json!({}), None),
                    "spec": {"rules": [{"host": "x.example.com", "http": {"paths": [{"path": "/", "backend": {"service": {"name": "web", "port": {"number": 80}}}}]}}]}}),
                json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": meta("web", "a", "h1", json!({}), None),
                    "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}}}),
                json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta("web-env", "a", "c1", json!({}), None), "data": {}}),
            ],
            vec![],
        )
    }

    fn targets(rel: &Relations, from: &ObjectRef, kind: RelationKind) -> Vec<String> {
        rel.from(from)
            .iter()
            .filter(|r| r.kind == kind)
            .map(|r| r.to.to_string())
            .collect()
    }

    #[test]
    fn owner_chains_and_workloads() {
        let s = cluster();
        let rel = Relations::build(&s);
        assert_eq!(
            rel.workload_of(&r("Pod", "a", "web-7f-1")),
            r("Deployment", "a", "web")
        );
        assert_eq!(
            rel.workload_of(&r("ReplicaSet", "a", "web-7f")),
            r("Deployment", "a", "web")
        );
        assert_eq!(
            rel.workload_of(&r("Pod", "a", "backup-1-x")),
            r("CronJob", "a", "backup")
        );
        assert_eq!(
            rel.workload_of(&r("Pod", "a", "debug")),
            r("Pod", "a", "debug")
        );
        assert_eq!(
            rel.workload_of(&r("Pod", "a", "etcd-n1")),
            r("Pod", "a", "etcd-n1"),
            "a Node owner is no workload"
        );
        assert_eq!(
            rel.workload_of(&r("Pod", "a", "api-5c-1")),
            r("Deployment", "a", "api"),
            "missing ReplicaSet inferred from pod-template-hash"
        );
        assert_eq!(
            targets(&rel, &r("Pod", "a", "web-7f-1"), RelationKind::OwnedBy),
            vec!["ReplicaSet/a/web-7f"]
        );
        assert_eq!(
            targets(&rel, &r("Pod", "a", "etcd-n1"), RelationKind::OwnedBy),
            vec!["Node/n1"]
        );
        assert_eq!(
            rel.pods_of(&r("Deployment", "a", "web")),
            vec![
                r("Pod", "a", "web-7f-1"),
                r("Pod", "a", "web-7f-2"),
                r("Pod", "a", "web-7f-3")
            ]
        );
        let wls: Vec<String> = rel.workloads().map(|w| w.to_string()).collect();
        assert_eq!(
            wls,
            vec![
                "CronJob/a/backup",
                "Deployment/a/api",
                "Deployment/a/web",
                "Pod/a/debug",
                "Pod/a/etcd-n1"
            ]
        );
    }

    #[test]
    fn nodes_zones_and_storage() {
        let s = cluster();
        let rel = Relations::build(&s);
        let on_n2: Vec<String> = rel
            .to(&r("Node", "", "n2"))
            .iter()
            .filter(|x| x.kind == RelationKind::RunsOn)
            .map(|x| x.from.to_string())
            .collect();
        assert_eq!(
            on_n2,
            vec![
                "CronJob/a/backup",
                "Deployment/a/web",
                "Pod/a/backup-1-x",
                "Pod/a/web-7f-2",
                "Pod/a/web-7f-3"
            ]
        );
        let web_n2 = rel
            .related(&r("Deployment", "a", "web"), &r("Node", "", "n2"))
            .unwrap();
        assert_eq!(
            (web_n2.kind, web_n2.evidence.as_str()),
            (RelationKind::RunsOn, "2 pod(s) on the node")
        );
        assert_eq!(
            targets(&rel, &r("Node", "", "n1"), RelationKind::InZone),
            vec!["Zone/z1"]
        );
        assert_eq!(
            targets(&rel, &r("Node", "", "n2"), RelationKind::InZone),
            vec!["Zone/z2"]
        );
        // Pod → PVC → PV → zone
        assert_eq!(
            targets(&rel, &r("Pod", "a", "backup-1-x"), RelationKind::Mounts),
            vec!["PersistentVolumeClaim/a/data"]
        );
        assert_eq!(
            targets(
                &rel,
                &r("PersistentVolumeClaim", "a", "data"),
                RelationKind::BoundTo
            ),
            vec!["PersistentVolume/pv-1"]
        );
        assert_eq!(
            targets(
                &rel,
                &r("PersistentVolume", "", "pv-1"),
                RelationKind::InZone
            ),
            vec!["Zone/z2"]
        );
        assert_eq!(
            rel.from(&r("PersistentVolumeClaim", "a", "data")).len(),
            1,
            "spec.volumeName and the PV's claimRef give one relation"
        );
    }

    #[test]
    fn selection_routes_scaling_and_config() {
        let s = cluster();
        let rel = Relations::build(&s);
        let web1 = r("Pod", "a", "web-7f-1");
        assert_eq!(
            targets(&rel, &web1, RelationKind::SelectedBy),
            vec!["PodDisruptionBudget/a/web", "Service/a/web"]
        );
        assert_eq!(
            targets(&rel, &r("Pod", "a", "debug"), RelationKind::SelectedBy),
            vec!["NetworkPolicy/a/deny"],
            "NotIn web selects the others only"
        );
        let svc_web: Vec<String> = rel
            .to(&r("Service", "a", "web"))
            .iter()
            .map(|x| format!("{:?} {}", x.kind, x.from))
            .collect();
        assert_eq!(
            svc_web,
            vec![
                "SelectedBy Deployment/a/web",
                "SelectedBy Pod/a/web-7f-1",
                "SelectedBy Pod/a/web-7f-2",
                "SelectedBy Pod/a/web-7f-3",
                "Routes Ingress/a/edge"
            ],
            "other namespace's pods are not selected; ingress routes"
        );
        assert!(rel.to(&r("Service", "b", "web")).is_empty());
        assert_eq!(
            rel.related(&r("Deployment", "a", "web"), &r("Service", "a", "web"))
                .unwrap()
                .evidence,
            "3 pod(s) selected by spec.selector app=web"
        );
        // Template-level selection for a CronJob with a running pod, and pod-level.
        assert!(
            rel.related(&r("CronJob", "a", "backup"), &r("Service", "a", "backup"))
                .is_some()
        );
        let hpa = rel
            .related(
                &r("Deployment", "a", "web"),
                &r("HorizontalPodAutoscaler", "a", "web"),
            )
            .unwrap();
        assert_eq!(
            (hpa.kind, hpa.from.kind.as_str()),
            (RelationKind::Scales, "HorizontalPodAutoscaler")
        );
        assert_eq!(
            targets(&rel, &r("Deployment", "a", "web"), RelationKind::UsesConfig),
            vec![
                "ConfigMap/a/web-env",
                "ConfigMap/a/web-files",
                "Secret/a/web-secret"
            ]
        );
        let missing = rel
            .related(
                &r("Deployment", "a", "web"),
                &r("ConfigMap", "a", "web-files"),
            )
            .unwrap();
        assert!(
            missing.evidence.ends_with("ConfigMap not in snapshot"),
            "{}",
            missing.evidence
        );
        assert!(
            targets(&rel, &web1, RelationKind::UsesConfig).is_empty(),
            "kept on the workload"
        );
        assert_eq!(
            targets(&rel, &r("Pod", "a", "debug"), RelationKind::UsesConfig),
            vec!["Secret/a/pull"],
            "a bare pod keeps its own"
        );
        assert_eq!(
            targets(&rel, &r("CronJob", "a", "backup"), RelationKind::UsesConfig),
            vec!["ConfigMap/a/backup-cfg"]
        );
        assert!(
            rel.related(&r("Pod", "a", "debug"), &r("Service", "a", "web"))
                .is_none()
        );
    }

    #[test]
    fn hostile_objects_never_panic() {
        let s = snapshot(
            vec![
                json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "bad", "namespace": "a", "uid": "p1",
                    "ownerReferences": [{"kind": "ReplicaSet", "name": "x", "uid": "loop-a", "controller": true}]},
                    "spec": {"containers": "oops", "nodeName": 7}}),
                json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "env", "namespace": "a", "uid": "p2"},
                    "spec": {"containers": [{"name": "c", "env": [{"name": "N", "value": 42}]}], "volumes": null}}),
                // An ownership cycle.
                json!({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "x", "namespace": "a", "uid": "loop-a",
                    "ownerReferences": [{"kind": "ReplicaSet", "name": "y", "uid": "loop-b", "controller": true}]}}),
                json!({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "y", "namespace": "a", "uid": "loop-b",
                    "ownerReferences": [{"kind": "ReplicaSet", "name": "x", "uid": "loop-a", "controller": true}]}}),
                json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s", "namespace": "a", "uid": "s1"}, "spec": null}),
                json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "i", "namespace": "a", "uid": "i1"},
                    "spec": {"rules": [{"http": {"paths": [{"backend": {"service": {"name": 5}}}]}}]}}),
                json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "a", "uid": "c1"}, "data": null}),
                json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "n", "namespace": "a", "uid": "n1"},
                    "spec": {"podSelector": {"matchExpressions": [{"key": "app", "operator": "Bogus"}]},
                        "egress": [{"to": [{"podSelector": {"matchLabels": {"app": "x"}}}], "ports": [{"port": "http"}]}]}}),
                json!({"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": "pv", "uid": "pv1"},
                    "spec": {"nodeAffinity": {"required": "nope"}, "claimRef": {"namespace": "a", "name": "gone"}}}),
            ],
            vec![("a", "bad", "dial tcp 999.1.1.1:80 \u{0}\u{ff} é 10.0.0.")],
        );
        let rel = Relations::build(&s);
        let w = rel.workload_of(&r("Pod", "a", "bad"));
        assert_eq!(w.kind, "ReplicaSet", "a cycle stops, it does not loop");
        assert!(
            rel.from(&r("PersistentVolume", "", "pv")).is_empty(),
            "a claim that is gone binds nothing"
        );
        assert!(rel.service_map().edges.is_empty());
    }

    #[test]
    fn deterministic_and_sorted() {
        let a = Relations::build(&cluster());
        let b = Relations::build(&cluster());
        assert_eq!(a.all(), b.all());
        sorted(&a);
        let demo = Relations::build(&crate::fixture::snapshot());
        assert!(demo.all().iter().any(|r| r.kind == RelationKind::DependsOn));
        sorted(&demo);
    }

    fn sorted(a: &Relations) {
        assert!(a.all().windows(2).all(|w| w[0] < w[1]));
        assert!(
            a.inc
                .windows(2)
                .map(|w| (&a.out[w[0] as usize], &a.out[w[1] as usize]))
                .all(|(x, y)| (&x.to, x.kind, &x.from) < (&y.to, y.kind, &y.from))
        );
        assert_eq!(a.all().len(), a.inc.len());
        let mut seen = a.inc.clone();
        seen.sort_unstable();
        assert!(seen.iter().enumerate().all(|(i, &p)| p as usize == i));
    }

    #[test]
    fn demo_relations() {
        let s = crate::fixture::snapshot();
        let rel = Relations::build(&s);
        let pods = rel.pods_of(&r("Deployment", "shop", "auth"));
        assert_eq!(pods.len(), 2);
        for p in &pods {
            assert_eq!(rel.workload_of(p), r("Deployment", "shop", "auth"));
            assert_eq!(
                targets(&rel, p, RelationKind::SelectedBy),
                vec!["PodDisruptionBudget/shop/auth", "Service/shop/auth"]
            );
        }
        assert_eq!(
            rel.workload_of(&r("Pod", "shop", "postgres-0")),
            r("StatefulSet", "shop", "postgres")
        );
        assert_eq!(
            targets(&rel, &r("Pod", "shop", "postgres-0"), RelationKind::RunsOn),
            vec!["Node/node-c1"]
        );
        assert_eq!(
            targets(&rel, &r("Pod", "shop", "postgres-0"), RelationKind::Mounts),
            vec!["PersistentVolumeClaim/shop/data-postgres-0"]
        );
        assert_eq!(
            targets(
                &rel,
                &r("PersistentVolume", "", "pvc-0d1e2f"),
                RelationKind::InZone
            ),
            vec!["Zone/eu-west-1c"]
        );
        assert_eq!(
            targets(
                &rel,
                &r("StatefulSet", "shop", "postgres"),
                RelationKind::UsesConfig
            ),
            vec!["Secret/shop/postgres-credentials"]
        );
        assert_eq!(
            targets(&rel, &r("Ingress", "shop", "shop"), RelationKind::Routes),
            vec!["Service/shop/frontend"]
        );
        let deps = targets(
            &rel,
            &r("Deployment", "shop", "checkout"),
            RelationKind::DependsOn,
        );
        assert_eq!(
            deps,
            vec![
                "Service/shop/auth",
                "Service/shop/postgres",
                "Service/shop/redis"
            ]
        );
        let nodes: Vec<String> = targets(
            &rel,
            &r("Deployment", "shop", "frontend"),
            RelationKind::RunsOn,
        );
        assert_eq!(nodes.len(), 2);
    }

    /// Scale check (run with `cargo test --release --lib scale_150k -- --ignored
    /// --nocapture`): 150,000 pods, 10,000 Services, 5,000 nodes.
    #[test]
    #[ignore]
    fn scale_150k_pods() {
        let t0 = std::time::Instant::now();
        let mut objects = Vec::new();
        for n in 0..5000 {
            objects.push(json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": format!("n{n}"), "uid": format!("n{n}"),
                "labels": {"topology.kubernetes.io/zone": format!("z{}", n % 3)}}}));
        }
        let mut logs = Vec::new();
        for ns_i in 0..100 {
            let ns = format!("ns{ns_i}");
            objects.push(json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                "metadata": {"name": "default-deny", "namespace": ns, "uid": format!("np-{ns}")},
                "spec": {"podSelector": {}, "egress": [{"to": [{"podSelector": {"matchLabels": {"app": "app1"}}}]}]}}));
            for a in 0..100 {
                let app = format!("app{a}");
                let uid = format!("d-{ns}-{app}");
                objects.push(json!({"apiVersion": "apps/v1", "kind": "Deployment",
                    "metadata": {"name": app, "namespace": ns, "uid": uid},
                    "spec": {"template": {"metadata": {"labels": {"app": app}}, "spec": {"containers": [{"name": "app",
                        "env": [{"name": "NEXT_HOST", "value": format!("app{}", (a + 1) % 100)},
                                {"name": "DB_URL", "value": format!("postgres://u:p@app{}.{ns}:5432/x", (a + 7) % 100)}],
                        "envFrom": [{"configMapRef": {"name": format!("{app}-env")}}]}]}}}}));
                objects.push(json!({"apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": {"name": format!("{app}-env"), "namespace": ns, "uid": format!("cm-{ns}-{app}")},
                    "data": {"CACHE_HOST": format!("app{}", (a + 3) % 100), "MODE": "fast"}}));
                objects.push(json!({"apiVersion": "apps/v1", "kind": "ReplicaSet",
                    "metadata": {"name": format!("{app}-h"), "namespace": ns, "uid": format!("r-{ns}-{app}"),
                        "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": app, "uid": uid, "controller": true}]}}));
                objects.push(json!({"apiVersion": "v1", "kind": "Service",
                    "metadata": {"name": app, "namespace": ns, "uid": format!("s-{ns}-{app}")},
                    "spec": {"selector": {"app": app}, "clusterIP": format!("10.{}.{}.1", 100 + ns_i, a)}}));
                objects.push(
                    json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
                    "metadata": {"name": app, "namespace": ns, "uid": format!("pdb-{ns}-{app}")},
                    "spec": {"selector": {"matchLabels": {"app": app}}}}),
                );
                for p in 0..15 {
                    let pod = format!("{app}-h-{p}");
                    objects.push(json!({"apiVersion": "v1", "kind": "Pod",
                        "metadata": {"name": pod, "namespace": ns, "uid": format!("p-{ns}-{pod}"), "labels": {"app": app, "pod-template-hash": "h"},
                            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": format!("{app}-h"), "uid": format!("r-{ns}-{app}"), "controller": true}]},
                        "spec": {"nodeName": format!("n{}", (ns_i * 1500 + a * 15 + p) % 5000),
                            "containers": [{"name": "app", "env": [{"name": "NEXT_HOST", "value": format!("app{}", (a + 1) % 100)}],
                                "envFrom": [{"configMapRef": {"name": format!("{app}-env")}}]}]}}));
                    if p == 0 {
                        logs.push((
                            ns.clone(),
                            pod,
                            format!(
                                "dial tcp 10.{}.{}.1:80: timeout\n",
                                100 + ns_i,
                                (a + 5) % 100
                            )
                            .repeat(20),
                        ));
                    }
                }
            }
        }
        let mut s = snapshot(objects, vec![]);
        for (ns, pod, text) in logs {
            s.logs.insert(
                LogKey {
                    namespace: ns,
                    pod,
                    container: "app".into(),
                    previous: false,
                },
                text,
            );
        }
        let t1 = std::time::Instant::now();
        s.index();
        let t2 = std::time::Instant::now();
        let rss = || {
            std::fs::read_to_string("/proc/self/statm")
                .ok()
                .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
                .map_or(0, |pages| pages * 4096 / (1 << 20))
        };
        let before = rss();
        let rel = Relations::build(&s);
        let t3 = std::time::Instant::now();
        eprintln!(
            "snapshot {:?}, index {:?}, relations+map {:?} (+{} MiB resident): {} relations, {} map edges",
            t1 - t0,
            t2 - t1,
            t3 - t2,
            rss().saturating_sub(before),
            rel.all().len(),
            rel.service_map().edges.len()
        );
        // Determinism at scale: sorted both ways.
        assert!(rel.all().windows(2).all(|w| w[0] < w[1]));
        assert!(
            rel.inc
                .windows(2)
                .all(|w| { inc_order(&rel.out[w[0] as usize], &rel.out[w[1] as usize]).is_lt() })
        );
        assert_eq!(rel.pods_of(&r("Deployment", "ns3", "app4")).len(), 15);
        assert_eq!(
            rel.service_map()
                .depends_on(&r("Deployment", "ns3", "app4"))
                .len(),
            5
        );
        assert!(
            t3 - t2 < std::time::Duration::from_secs(30),
            "relations at scale took {:?}",
            t3 - t2
        );
    }
}
