//! The builder: walks each object type once, over interned references.

mod kinds;

use std::collections::HashMap;
use std::sync::Arc;

use crate::views::{LabelSelector, PodLiteView, PodView};
use intel_model::{ObjId, Object, OwnerRef, ResourceType, Snapshot, TypeKey};

use super::*;

/// Per-target aggregation of pod-level facts into one workload-level relation.
#[derive(Default)]
pub(super) struct Agg {
    pods: usize,
    what: String,
}

/// Builds relations over interned references: every distinct [`ObjectRef`] gets an id
/// once, and the per-pod work (a million relations at 150,000 pods) moves ids, not strings.
pub(super) struct Builder<'s> {
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
    pub(super) fn new(snap: &'s Snapshot) -> Self {
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
    ) -> impl Iterator<Item = (&'s TypeKey, &'s intel_model::ResourceList)> + use<'s> {
        let (group, resource) = (group.to_string(), resource.to_string());
        self.snap
            .resources
            .iter()
            .filter(move |(k, _)| k.group == group && k.resource == resource)
    }

    pub(super) fn run(mut self) -> (Staged, Vec<WorkloadInfo>) {
        use intel_timing::phase;
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
}

/// Pods by (namespace, label key, value) and by namespace: selectors are matched from
/// their most selective requirement instead of testing every pod.
pub(super) struct PodLabels<'s> {
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
pub(super) fn postings<'m>(
    map: &'m HashMap<(&'m str, &'m str, &'m str), Vec<usize>>,
    ns: &'m str,
    k: &'m str,
    v: &'m str,
) -> &'m [usize] {
    map.get(&(ns, k, v)).map(Vec::as_slice).unwrap_or(&[])
}
