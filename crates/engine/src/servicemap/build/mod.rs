//! The map's builder: Services by name and address, and how a workload's evidence
//! resolves to a Service, a workload or an external host.

mod sources;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::hosts::{Form, HostHit, bare_key_ok, is_external_host, is_ipv4, key_is_address};
use crate::log_addresses::{LogAddresses, service_ips};
use crate::relations::{EXTERNAL, ObjectRef, RelationKind, Relations};
use crate::views::ServiceView;
use intel_model::Snapshot;

use super::*;

/// A Service as the resolver needs it.
pub(super) struct SvcInfo {
    id: ObjectRef,
    selector: BTreeMap<String, String>,
    headless: bool,
    /// Ports and numeric target ports.
    ports: Vec<i64>,
    /// The workloads it selects, sorted (filled before anything reads it).
    workloads: Vec<ObjectRef>,
}

pub(super) enum Target {
    Service(ObjectRef),
    External(String),
    /// An in-cluster Service name with no such Service: (name, namespace, qualified, host).
    Missing(String, String, bool, String),
    Nothing,
}

/// One ConfigMap key's host hits: (data key, whole-value/free-text hits, per-line hits).
pub(super) type CmHits = Vec<(String, Vec<HostHit>, Vec<(String, HostHit)>)>;

pub(super) struct MapBuilder<'a> {
    snap: &'a Snapshot,
    rel: &'a Relations,
    services: Vec<SvcInfo>,
    by_name: HashMap<(String, String), usize>,
    by_ip: HashMap<String, usize>,
    by_ns: BTreeMap<String, Vec<usize>>,
    namespaces: BTreeMap<String, BTreeMap<String, String>>,
    nodes: BTreeMap<ObjectRef, MapNode>,
    edges: BTreeMap<(ObjectRef, ObjectRef), BTreeSet<Evidence>>,
    own: HashMap<ObjectRef, BTreeSet<ObjectRef>>,
    cm_cache: HashMap<(String, String), std::rc::Rc<CmHits>>,
    unresolved: BTreeSet<Unresolved>,
}

impl<'a> MapBuilder<'a> {
    pub(super) fn new(snap: &'a Snapshot, rel: &'a Relations) -> Self {
        let mut b = MapBuilder {
            snap,
            rel,
            services: Vec::new(),
            by_name: HashMap::new(),
            by_ip: HashMap::new(),
            by_ns: BTreeMap::new(),
            namespaces: BTreeMap::new(),
            nodes: BTreeMap::new(),
            edges: BTreeMap::new(),
            own: HashMap::new(),
            cm_cache: HashMap::new(),
            unresolved: BTreeSet::new(),
        };
        for svc in snap.items("", "services") {
            let view: ServiceView = svc.typed().unwrap_or_default();
            let i = b.services.len();
            let ns = svc.meta.namespace.clone();
            b.by_name.insert((ns.clone(), svc.meta.name.clone()), i);
            b.by_ns.entry(ns.clone()).or_default().push(i);
            let mut ports = Vec::new();
            for p in &view.spec.ports {
                ports.extend(p.port);
                ports.extend(p.target_port.as_ref().and_then(|t| t.as_i64()));
            }
            b.namespaces
                .entry(ns.clone())
                .or_default()
                .insert("kubernetes.io/metadata.name".into(), ns.clone());
            b.services.push(SvcInfo {
                id: ObjectRef::new("Service", ns, &svc.meta.name),
                headless: view.spec.cluster_ip == "None",
                selector: view.spec.selector,
                ports,
                workloads: Vec::new(),
            });
        }
        b.by_ip = service_ips(snap);
        for n in snap.items("", "namespaces") {
            let labels = b.namespaces.entry(n.meta.name.clone()).or_default();
            labels.extend(n.meta.labels.clone());
            labels.insert("kubernetes.io/metadata.name".into(), n.meta.name.clone());
        }
        b
    }

    fn service(&self, ns: &str, name: &str) -> Option<&SvcInfo> {
        self.by_name
            .get(&(ns.to_string(), name.to_string()))
            .map(|&i| &self.services[i])
    }

    /// The Services selecting a workload's pods (or its template): never dependencies.
    fn own(&mut self, w: &ObjectRef) -> &BTreeSet<ObjectRef> {
        let rel = self.rel;
        self.own.entry(w.clone()).or_insert_with(|| {
            rel.from(w)
                .iter()
                .filter(|r| r.kind == RelationKind::SelectedBy && r.to.kind == "Service")
                .map(|r| (*r.to).clone())
                .collect()
        })
    }

    /// What a host found in a workload's configuration refers to. `key` is the env var or
    /// config key the value came from.
    fn resolve(&self, hit: &HostHit, ns: &str, key: &str) -> Target {
        let h = hit.host.as_str();
        let found = |s: Option<&SvcInfo>| s.map(|s| Target::Service(s.id.clone()));
        if is_ipv4(h) {
            return self.by_ip.get(h).map_or(Target::Nothing, |&i| {
                Target::Service(self.services[i].id.clone())
            });
        }
        let labels: Vec<&str> = h.split('.').collect();
        if labels.len() == 1 {
            let allowed = match hit.form {
                Form::Dotted => false,
                Form::Whole => bare_key_ok(key),
                Form::Url | Form::HostPort => true,
            };
            return if allowed {
                found(self.service(ns, h)).unwrap_or_else(|| {
                    if h == "localhost" {
                        Target::Nothing
                    } else {
                        Target::Missing(h.to_string(), ns.to_string(), false, h.to_string())
                    }
                })
            } else {
                Target::Nothing
            };
        }
        // name.namespace, name.namespace.svc[.cluster.local]
        if labels.len() == 2 || labels[2] == "svc" {
            if let Some(t) = found(self.service(labels[1], labels[0])) {
                return t;
            }
        }
        // pod.headless-service.namespace.svc[.cluster.local] (StatefulSet members)
        if labels.len() >= 4 && labels[3] == "svc" {
            if let Some(t) = found(self.service(labels[2], labels[1])) {
                return t;
            }
        }
        // pod.headless-service, through the namespace's search path
        if labels.len() == 2 && hit.form != Form::Dotted {
            if let Some(t) = found(self.service(ns, labels[1]).filter(|s| s.headless)) {
                return t;
            }
        }
        let internal = h.ends_with(".cluster.local")
            || labels.contains(&"svc")
            || (labels.len() == 2 && self.namespaces.contains_key(labels[1]));
        if internal {
            // `name.ns` or `name.ns.svc[.cluster.local]` with no such Service.
            let svc_form = labels.len() == 2 || labels[2] == "svc";
            return if svc_form && self.namespaces.contains_key(labels[1]) {
                Target::Missing(labels[0].into(), labels[1].into(), true, h.to_string())
            } else {
                Target::Nothing
            };
        }
        let external_form = match hit.form {
            Form::Url | Form::HostPort => true,
            Form::Whole => key_is_address(key),
            Form::Dotted => false,
        };
        if external_form && is_external_host(h) {
            Target::External(h.to_string())
        } else {
            Target::Nothing
        }
    }

    fn add(&mut self, from: &ObjectRef, target: Target, ev: Evidence) {
        let to = match target {
            Target::Service(s) => {
                if self.own(from).contains(&s) {
                    return;
                }
                s
            }
            Target::External(host) => {
                let id = ObjectRef::external(host);
                self.nodes.entry(id.clone()).or_insert_with(|| MapNode {
                    id: id.clone(),
                    kind: EXTERNAL.to_string(),
                    service_for: None,
                });
                id
            }
            Target::Missing(service, namespace, qualified, host) => {
                self.unresolved.insert(Unresolved {
                    from: from.clone(),
                    service,
                    namespace,
                    qualified,
                    host,
                    evidence: ev,
                });
                return;
            }
            Target::Nothing => return,
        };
        if to == *from {
            return;
        }
        self.edges.entry((from.clone(), to)).or_default().insert(ev);
    }

    pub(super) fn run(mut self, addresses: Option<LogAddresses>) -> ServiceMap {
        let rel = self.rel;
        for w in rel.workload_infos() {
            self.nodes.insert(
                w.id.clone(),
                MapNode {
                    id: w.id.clone(),
                    kind: WORKLOAD.into(),
                    service_for: None,
                },
            );
        }
        for i in 0..self.services.len() {
            let id = self.services[i].id.clone();
            let workloads = self.selected_workloads(&id);
            let service_for = workloads.iter().cloned().min_by(|a, b| {
                (&a.name, &a.kind, &a.namespace).cmp(&(&b.name, &b.kind, &b.namespace))
            });
            self.services[i].workloads = workloads;
            self.nodes.insert(
                id.clone(),
                MapNode {
                    id,
                    kind: SERVICE.into(),
                    service_for,
                },
            );
        }
        for w in rel.workload_infos() {
            self.env_and_config(w);
            self.annotations(w);
        }
        let addresses = addresses.unwrap_or_else(|| LogAddresses::scan(self.snap));
        self.logs(&addresses);
        self.network_policies();
        self.ingresses();
        ServiceMap {
            unresolved: self.unresolved.into_iter().collect(),
            nodes: self.nodes.into_values().collect(),
            edges: self
                .edges
                .into_iter()
                .map(|((from, to), ev)| MapEdge {
                    from,
                    to,
                    evidence: ev.into_iter().collect(),
                })
                .collect(),
        }
    }

    /// The workloads whose pods (or template) a Service selects, sorted.
    fn selected_workloads(&self, svc: &ObjectRef) -> Vec<ObjectRef> {
        let mut out: Vec<ObjectRef> = self
            .rel
            .to(svc)
            .iter()
            .filter(|r| r.kind == RelationKind::SelectedBy)
            .filter(|r| self.rel.workload_info(&r.from).is_some())
            .map(|r| (*r.from).clone())
            .collect();
        out.sort();
        out.dedup();
        out
    }
}
