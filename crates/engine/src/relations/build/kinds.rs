//! The edges of each object kind beyond owners and pods: Services and their endpoints,
//! NetworkPolicies, routes, autoscalers, storage, nodes and workloads.

use std::collections::{BTreeMap, HashMap};

use crate::views::{
    EndpointSliceView, LabelSelector, NetworkPolicyView, PdbView, PodSpecView, PvView, PvcView,
    ScalerView, ServiceView, describe_map,
};

use super::*;

impl<'s> Builder<'s> {
    /// Service → pods, from the snapshot index (its inverted label index).
    pub(super) fn services(&mut self) {
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
    pub(super) fn endpoint_slices(&mut self) {
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
    pub(super) fn policies(&mut self, labels: &PodLabels<'s>) {
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

    pub(super) fn routes(&mut self) {
        let snap = self.snap;
        let ix = snap.index();
        let mut lists: Vec<&intel_model::ResourceList> = Vec::new();
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

    pub(super) fn scalers(&mut self) {
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

    pub(super) fn storage(&mut self) {
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

    pub(super) fn nodes(&mut self) {
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
    pub(super) fn workloads(&mut self) -> Vec<WorkloadInfo> {
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
