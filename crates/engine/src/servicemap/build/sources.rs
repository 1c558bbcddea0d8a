//! Where the evidence comes from: env values and ConfigMaps, annotations, Service
//! addresses in logs, NetworkPolicy egress, Ingress and route backends.

use std::collections::{BTreeMap, HashMap};

use crate::hosts::{Form, HostHit, extract, line_at, line_values};
use crate::log_addresses::LogAddresses;
use crate::relations::{ObjectRef, ROUTE_RESOURCES, WorkloadInfo, backends, config_map_data};
use crate::views::{LabelSelector, NetworkPolicyView};

use super::*;

impl<'a> MapBuilder<'a> {
    pub(super) fn env_and_config(&mut self, w: &WorkloadInfo) {
        let ns = w.id.namespace.clone();
        for (field, c) in w.spec.all_containers() {
            for e in &c.env {
                let at = format!("{}.{field}[{}].env[{}]", w.spec_path, c.name, e.name);
                if let Some(v) = &e.value {
                    for hit in extract(v) {
                        let t = self.resolve(&hit, &ns, &e.name);
                        let ev = Evidence {
                            source: "env".into(),
                            object: w.source.clone(),
                            field: at.clone(),
                            text: hit.text,
                        };
                        self.add(&w.id, t, ev);
                    }
                }
                if let Some(r) = e
                    .value_from
                    .as_ref()
                    .and_then(|f| f.config_map_key_ref.as_ref())
                {
                    self.config_map(w, &r.name, Some(&r.key), &e.name);
                }
            }
            for e in &c.env_from {
                if let Some(r) = &e.config_map_ref {
                    self.config_map(w, &r.name, None, &e.prefix);
                }
            }
        }
        for v in &w.spec.volumes {
            if let Some(r) = &v.config_map {
                let keys: Vec<&str> = r.items.iter().map(|k| k.key.as_str()).collect();
                self.config_map_keys(w, &r.name, &keys);
            }
            if let Some(p) = &v.projected {
                for s in &p.sources {
                    if let Some(r) = &s.config_map {
                        let keys: Vec<&str> = r.items.iter().map(|k| k.key.as_str()).collect();
                        self.config_map_keys(w, &r.name, &keys);
                    }
                }
            }
        }
    }

    /// Host hits of a ConfigMap, computed once per ConfigMap.
    pub(super) fn cm_hits(&mut self, ns: &str, name: &str) -> std::rc::Rc<CmHits> {
        let snap = self.snap;
        self.cm_cache
            .entry((ns.to_string(), name.to_string()))
            .or_insert_with(|| {
                let data = config_map_data(snap, ns, name);
                std::rc::Rc::new(
                    data.into_iter()
                        .map(|(k, v)| {
                            let hits = extract(&v);
                            let lines = line_values(&v);
                            (k, hits, lines)
                        })
                        .collect(),
                )
            })
            .clone()
    }

    /// A ConfigMap used through env: one key (`valueFrom`, `env_key` = the env var name)
    /// or all keys (`envFrom`, `env_key` = the prefix).
    pub(super) fn config_map(
        &mut self,
        w: &WorkloadInfo,
        name: &str,
        only: Option<&str>,
        env_key: &str,
    ) {
        let hits = self.cm_hits(&w.id.namespace, name);
        for (key, top, lines) in hits.iter() {
            if only.is_some_and(|o| o != key) {
                continue;
            }
            let semantic = match only {
                Some(_) => env_key.to_string(),
                None => format!("{env_key}{key}"),
            };
            self.config_hits(w, name, key, &semantic, top, lines);
        }
    }

    /// A ConfigMap mounted as files: the listed keys, or all.
    pub(super) fn config_map_keys(&mut self, w: &WorkloadInfo, name: &str, keys: &[&str]) {
        let hits = self.cm_hits(&w.id.namespace, name);
        for (key, top, lines) in hits.iter() {
            if !keys.is_empty() && !keys.contains(&key.as_str()) {
                continue;
            }
            self.config_hits(w, name, key, key, top, lines);
        }
    }

    pub(super) fn config_hits(
        &mut self,
        w: &WorkloadInfo,
        cm: &str,
        key: &str,
        semantic: &str,
        top: &[HostHit],
        lines: &[(String, HostHit)],
    ) {
        let object = ObjectRef::new("ConfigMap", &w.id.namespace, cm);
        let all = top
            .iter()
            .map(|h| (semantic, h))
            .chain(lines.iter().map(|(k, h)| (k.as_str(), h)));
        let mut found = Vec::new();
        for (k, hit) in all {
            found.push((
                self.resolve(hit, &w.id.namespace, k),
                Evidence {
                    source: "configmap".into(),
                    object: object.clone(),
                    field: format!("data[{key}]"),
                    text: hit.text.clone(),
                },
            ));
        }
        for (t, ev) in found {
            self.add(&w.id, t, ev);
        }
    }

    /// `intel.kubectl.io/depends-on: svc-a, ns/svc-b, workload, api.example.com`.
    pub(super) fn annotations(&mut self, w: &WorkloadInfo) {
        for (field, value) in &w.depends_on {
            for item in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                let ev = Evidence {
                    source: "annotation".into(),
                    object: w.id.clone(),
                    field: field.clone(),
                    text: item.to_string(),
                };
                let (ns, name) = item
                    .split_once('/')
                    .map_or((w.id.namespace.as_str(), item), |(n, s)| (n, s));
                let name_lc = name.to_ascii_lowercase();
                if let Some(s) = self.service(ns, &name_lc) {
                    let id = s.id.clone();
                    // Explicit, so even one's own Service would be meant: but a self-loop
                    // says nothing.
                    if !self.own(&w.id).contains(&id) {
                        self.edges.entry((w.id.clone(), id)).or_default().insert(ev);
                    }
                    continue;
                }
                if !item.contains('/') {
                    let hit = HostHit {
                        host: name_lc.clone(),
                        form: Form::Url,
                        text: item.to_string(),
                    };
                    match self.resolve(&hit, ns, "") {
                        Target::Nothing | Target::Missing(..) => {}
                        t => {
                            self.add(&w.id, t, ev);
                            continue;
                        }
                    }
                }
                let workload = ["Deployment", "StatefulSet", "DaemonSet", "CronJob", "Job"]
                    .iter()
                    .map(|k| ObjectRef::new(*k, ns, &name_lc))
                    .find(|r| self.rel.workload_info(r).is_some());
                if let Some(target) = workload.filter(|t| *t != w.id) {
                    self.edges
                        .entry((w.id.clone(), target))
                        .or_default()
                        .insert(ev);
                }
            }
        }
    }

    /// ClusterIPs in the logs of each workload's pods (found by [`LogAddresses::scan`]).
    pub(super) fn logs(&mut self, addresses: &LogAddresses) {
        let snap = self.snap;
        let mut per_edge: HashMap<(ObjectRef, usize), usize> = HashMap::new();
        for ((key, text), found) in snap.logs.iter().zip(&addresses.files) {
            if found.is_empty() {
                continue;
            }
            let pod = ObjectRef::new("Pod", &key.namespace, &key.pod);
            let w = self.rel.workload_of(&pod);
            if self.rel.workload_info(&w).is_none() {
                continue;
            }
            for &(at, s) in found {
                let count = per_edge.entry((w.clone(), s)).or_default();
                if *count >= MAX_LOG_EVIDENCE {
                    continue;
                }
                *count += 1;
                let svc = self.services[s].id.clone();
                let ev = Evidence {
                    source: "log".into(),
                    object: pod.clone(),
                    field: key.bundle_path(),
                    text: intel_redact::scrub(&line_at(text, at, 200)).into_owned(),
                };
                self.add(&w, Target::Service(svc), ev);
            }
        }
    }

    /// Egress rules naming specific pods (a non-empty podSelector): the Services selecting
    /// those pods are dependencies of the workloads the policy applies to.
    pub(super) fn network_policies(&mut self) {
        let snap = self.snap;
        let rel = self.rel;
        let mut by_ns: HashMap<&str, Vec<&WorkloadInfo>> = HashMap::new();
        for w in rel.workload_infos() {
            by_ns.entry(w.id.namespace.as_str()).or_default().push(w);
        }
        for np in snap.items("networking.k8s.io", "networkpolicies") {
            let Ok(view) = np.typed::<NetworkPolicyView>() else {
                continue;
            };
            if view.spec.egress.is_empty() {
                continue;
            }
            let ns = np.meta.namespace.as_str();
            let np_ref = ObjectRef::new("NetworkPolicy", ns, &np.meta.name);
            let applies: Vec<&WorkloadInfo> = by_ns
                .get(ns)
                .map(Vec::as_slice)
                .unwrap_or(&[])
                .iter()
                .copied()
                .filter(|w| view.spec.pod_selector.matches(&w.labels))
                .collect();
            if applies.is_empty() {
                continue;
            }
            for (i, rule) in view.spec.egress.iter().enumerate() {
                let numeric: Option<Vec<i64>> = rule
                    .ports
                    .iter()
                    .map(|p| p.port.as_ref().and_then(|v| v.as_i64()))
                    .collect();
                let ports = numeric.filter(|p| !p.is_empty());
                for (j, peer) in rule.to.iter().enumerate() {
                    let Some(pod_sel) = peer.pod_selector.as_ref().filter(|s| !s.is_empty()) else {
                        continue;
                    };
                    let namespaces: Vec<&str> = match &peer.namespace_selector {
                        None => vec![ns],
                        Some(sel) => self
                            .namespaces
                            .iter()
                            .filter(|(_, labels)| sel.matches(labels))
                            .map(|(n, _)| n.as_str())
                            .collect(),
                    };
                    let mut text = format!("podSelector {}", pod_sel.describe());
                    if let Some(sel) = &peer.namespace_selector {
                        text.push_str(&format!(" namespaceSelector {}", sel.describe()));
                    }
                    if let Some(p) = &ports {
                        let list: Vec<String> = p.iter().map(i64::to_string).collect();
                        text.push_str(&format!(" ports {}", list.join(",")));
                    }
                    let mut targets = Vec::new();
                    for n in namespaces {
                        for &s in self.by_ns.get(n).map(Vec::as_slice).unwrap_or(&[]) {
                            let svc = &self.services[s];
                            if svc.selector.is_empty() {
                                continue;
                            }
                            if let Some(p) = &ports {
                                if !svc.ports.iter().any(|sp| p.contains(sp)) {
                                    continue;
                                }
                            }
                            if self.reaches(svc, pod_sel) {
                                targets.push(svc.id.clone());
                            }
                        }
                    }
                    for w in &applies {
                        for t in &targets {
                            let ev = Evidence {
                                source: "networkpolicy".into(),
                                object: np_ref.clone(),
                                field: format!("spec.egress[{i}].to[{j}]"),
                                text: text.clone(),
                            };
                            self.add(&w.id, Target::Service(t.clone()), ev);
                        }
                    }
                }
            }
        }
    }

    /// Whether a policy peer's podSelector selects the pods behind a Service, judged on the
    /// pod template labels of the workloads it selects (or its own selector without any).
    pub(super) fn reaches(&self, svc: &SvcInfo, sel: &LabelSelector) -> bool {
        let label_sets: Vec<&BTreeMap<String, String>> = svc
            .workloads
            .iter()
            .filter_map(|w| self.rel.workload_info(w))
            .map(|w| &w.labels)
            .filter(|l| !l.is_empty())
            .collect();
        if label_sets.is_empty() {
            sel.matches(&svc.selector)
        } else {
            label_sets.iter().any(|l| sel.matches(l))
        }
    }

    pub(super) fn ingresses(&mut self) {
        let snap = self.snap;
        for (k, list) in &snap.resources {
            let ingress = k.resource == "ingresses"
                && (k.group == "networking.k8s.io" || k.group == "extensions");
            let route = k.group == "gateway.networking.k8s.io"
                && ROUTE_RESOURCES.contains(&k.resource.as_str());
            if !ingress && !route {
                continue;
            }
            for obj in &list.items {
                let kind = if obj.meta.kind.is_empty() {
                    list.rtype.kind.clone()
                } else {
                    obj.meta.kind.clone()
                };
                let id = ObjectRef::new(kind, &obj.meta.namespace, &obj.meta.name);
                self.nodes.insert(
                    id.clone(),
                    MapNode {
                        id: id.clone(),
                        kind: INGRESS.into(),
                        service_for: None,
                    },
                );
                for b in backends(obj, &k.resource) {
                    if self
                        .service(&b.service.namespace, &b.service.name)
                        .is_none()
                    {
                        continue;
                    }
                    let ev = Evidence {
                        source: "ingress".into(),
                        object: id.clone(),
                        field: b.field,
                        text: b.text,
                    };
                    self.edges
                        .entry((id.clone(), b.service))
                        .or_default()
                        .insert(ev);
                }
            }
        }
    }
}
