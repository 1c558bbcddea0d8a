//! The service map: which workload calls which Service (and so which workload), which
//! Ingress fronts which Service, and which hosts outside the cluster workloads call.
//!
//! Nodes are workloads (as [`Relations::workloads`] finds them: Deployments, StatefulSets,
//! DaemonSets, CronJobs, unowned Jobs and ReplicaSets, bare pods), Services, Ingresses (and
//! Gateway routes: entry points) and external hosts. Edges go `workload → Service`,
//! `workload → workload` (only from an explicit annotation naming a workload),
//! `workload → External` and `Ingress → Service`; a Service leads on to the workload it
//! selects through [`MapNode::service_for`]. Every edge carries all its evidence, sorted:
//!
//! | source | what was seen |
//! |---|---|
//! | `env` | an env value naming a Service (`auth:9000`, `http://auth.shop.svc.cluster.local/`, `REDIS_HOST=redis`) |
//! | `configmap` | the same in a ConfigMap the workload uses (valueFrom, envFrom, volumes) |
//! | `log` | a Service's ClusterIP in the workload's pods' logs (`dial tcp 10.96.0.12:6379`) |
//! | `networkpolicy` | an egress rule allowing the workload's pods to reach the Service's pods |
//! | `annotation` | `intel.kubectl.io/depends-on: svc-a,ns/svc-b` |
//! | `ingress` | an Ingress or route backend |
//!
//! Precision comes first (a wrong dependency sends an engineer down the wrong path at 3 AM):
//! host tokens are matched whole ([`super::hosts`]), must resolve to an existing Service
//! (short names in the workload's namespace, `name.ns[.svc…]` elsewhere), and never to one
//! of the workload's own Services. NetworkPolicy peers that allow a whole namespace or
//! everything are not evidence of a dependency and are ignored.
//!
//! Cost: one pass over workload templates (not pods), each referenced ConfigMap scanned
//! once, one linear scan of the logs for IPv4 addresses looked up in a hash of ClusterIPs.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use serde::Serialize;

use super::hosts::{
    Form, HostHit, bare_key_ok, extract, is_external_host, is_ipv4, key_is_address, line_at,
    line_values,
};
use super::log_addresses::{LogAddresses, service_ips};
use super::relations::{
    EXTERNAL, ObjectRef, ROUTE_RESOURCES, RelationKind, Relations, WorkloadInfo, backends,
    config_map_data,
};
use super::views::{LabelSelector, NetworkPolicyView, ServiceView};
use crate::model::Snapshot;

/// [`MapNode::kind`] of workloads.
pub const WORKLOAD: &str = "Workload";
/// [`MapNode::kind`] of Services.
pub const SERVICE: &str = "Service";
/// [`MapNode::kind`] of Ingresses and Gateway routes.
pub const INGRESS: &str = "Ingress";

/// Log lines kept as evidence per edge: enough to show the pattern, bounded at scale.
const MAX_LOG_EVIDENCE: usize = 3;

/// The dependency graph. Nodes sorted by id, edges by (from, to).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ServiceMap {
    pub nodes: Vec<MapNode>,
    pub edges: Vec<MapEdge>,
    /// Configuration naming a Service the snapshot does not have, sorted: the references
    /// that resolve to nothing, for the analyses to judge (a typo, a Service deleted). Not
    /// part of the map's rendering: the finding an analysis makes of it is.
    #[serde(skip)]
    pub unresolved: Vec<Unresolved>,
}

/// A workload's configured address that names an in-cluster Service that does not exist.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Unresolved {
    pub from: ObjectRef,
    /// The Service it names, and its namespace.
    pub service: String,
    pub namespace: String,
    /// Written in an in-cluster form (`x.ns.svc…`, `x.ns` of a namespace that exists):
    /// surely meant for a Service; a bare `x:80` or `http://x` may be anything.
    pub qualified: bool,
    /// The host as written, and where.
    pub host: String,
    pub evidence: Evidence,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MapNode {
    pub id: ObjectRef,
    /// `Workload`, `Service`, `Ingress` or `External`.
    pub kind: String,
    /// For a Service: the workload it selects (the first by name if several).
    pub service_for: Option<ObjectRef>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct MapEdge {
    pub from: ObjectRef,
    pub to: ObjectRef,
    /// Sorted, never empty.
    pub evidence: Vec<Evidence>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Evidence {
    /// `env`, `configmap`, `log`, `networkpolicy`, `annotation` or `ingress`.
    pub source: String,
    /// Where it was seen: the workload (or the pod its spec was read from), the ConfigMap,
    /// the pod whose log it is, the NetworkPolicy, the Ingress.
    pub object: ObjectRef,
    /// The field (`spec.template.spec.containers[app].env[DB_HOST]`, `data[app.yaml]`) or
    /// the log file (`logs/<ns>/<pod>/<container>.log`).
    pub field: String,
    /// What matched: the host token (`redis:6379`, `postgres://db:5432` — never userinfo),
    /// the log line (at most 200 characters), the selector.
    pub text: String,
}

impl ServiceMap {
    /// Builds the map from a snapshot and its relations (ownership, selection, workloads).
    /// [`Relations::build`] already does this and keeps the result
    /// ([`Relations::service_map`]); building again gives the same map.
    pub fn build(snap: &Snapshot, rel: &Relations) -> ServiceMap {
        Self::build_with(snap, rel, None)
    }

    /// [`ServiceMap::build`] with the log addresses already found (else it finds them).
    pub fn build_with(
        snap: &Snapshot,
        rel: &Relations,
        addresses: Option<LogAddresses>,
    ) -> ServiceMap {
        MapBuilder::new(snap, rel).run(addresses)
    }

    /// The node with this id.
    pub fn node(&self, id: &ObjectRef) -> Option<&MapNode> {
        self.nodes
            .binary_search_by(|n| n.id.cmp(id))
            .ok()
            .map(|i| &self.nodes[i])
    }

    /// The edges leaving a node, sorted by target.
    pub fn edges_from(&self, id: &ObjectRef) -> &[MapEdge] {
        let lo = self.edges.partition_point(|e| e.from < *id);
        let n = self.edges[lo..].partition_point(|e| e.from == *id);
        &self.edges[lo..lo + n]
    }

    /// The workload an edge target stands for: a Service's workload, or a workload itself.
    fn target_workload<'a>(&'a self, to: &'a ObjectRef) -> Option<&'a ObjectRef> {
        let node = self.node(to)?;
        match node.kind.as_str() {
            SERVICE => node.service_for.as_ref(),
            WORKLOAD => Some(&node.id),
            _ => None,
        }
    }

    /// Workload → workload dependencies (resolving Services to the workloads they select),
    /// sorted. Works from an Ingress too (the workloads behind it).
    pub fn depends_on(&self, workload: &ObjectRef) -> Vec<&ObjectRef> {
        let mut out: Vec<&ObjectRef> = self
            .edges_from(workload)
            .iter()
            .filter_map(|e| self.target_workload(&e.to))
            .filter(|w| *w != workload)
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// The workloads that depend on this one, sorted. A scan of the edges: cheap next to
    /// any analysis that asks.
    pub fn dependents_of(&self, workload: &ObjectRef) -> Vec<&ObjectRef> {
        let mut out: Vec<&ObjectRef> = self
            .edges
            .iter()
            .filter(|e| e.from != *workload)
            .filter(|e| self.node(&e.from).is_some_and(|n| n.kind == WORKLOAD))
            .filter(|e| self.target_workload(&e.to) == Some(workload))
            .map(|e| &e.from)
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// The shortest dependency path from `from` to `to` over workload edges, both ends
    /// included (BFS; among equally short paths, neighbours are tried by name). Shows hidden
    /// coupling: payment → checkout → inventory.
    pub fn path(&self, from: &ObjectRef, to: &ObjectRef) -> Option<Vec<ObjectRef>> {
        if from == to {
            return Some(vec![from.clone()]);
        }
        let mut prev: HashMap<&ObjectRef, &ObjectRef> = HashMap::new();
        let mut queue: VecDeque<&ObjectRef> = VecDeque::from([from]);
        while let Some(cur) = queue.pop_front() {
            let mut next = self.depends_on(cur);
            next.sort_by(|a, b| {
                (&a.name, &a.namespace, &a.kind).cmp(&(&b.name, &b.namespace, &b.kind))
            });
            for n in next {
                if n == from || prev.contains_key(n) {
                    continue;
                }
                prev.insert(n, cur);
                if n == to {
                    let mut path = vec![n.clone()];
                    let mut at = n;
                    while let Some(p) = prev.get(at) {
                        path.push((*p).clone());
                        at = p;
                    }
                    path.reverse();
                    return Some(path);
                }
                queue.push_back(n);
            }
        }
        None
    }
}

/// One line summarising an edge's evidence, for [`RelationKind::DependsOn`] relations.
pub(crate) fn summarize(evidence: &[Evidence]) -> String {
    let mut parts: Vec<String> = evidence
        .iter()
        .take(3)
        .map(|e| format!("{} {}: {}", e.source, e.field, e.text))
        .collect();
    if evidence.len() > 3 {
        parts.push(format!("+{} more", evidence.len() - 3));
    }
    parts.join("; ")
}

/// A Service as the resolver needs it.
struct SvcInfo {
    id: ObjectRef,
    selector: BTreeMap<String, String>,
    headless: bool,
    /// Ports and numeric target ports.
    ports: Vec<i64>,
    /// The workloads it selects, sorted (filled before anything reads it).
    workloads: Vec<ObjectRef>,
}

enum Target {
    Service(ObjectRef),
    External(String),
    /// An in-cluster Service name with no such Service: (name, namespace, qualified, host).
    Missing(String, String, bool, String),
    Nothing,
}

/// One ConfigMap key's host hits: (data key, whole-value/free-text hits, per-line hits).
type CmHits = Vec<(String, Vec<HostHit>, Vec<(String, HostHit)>)>;

struct MapBuilder<'a> {
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
    fn new(snap: &'a Snapshot, rel: &'a Relations) -> Self {
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

    fn run(mut self, addresses: Option<LogAddresses>) -> ServiceMap {
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

    fn env_and_config(&mut self, w: &WorkloadInfo) {
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
    fn cm_hits(&mut self, ns: &str, name: &str) -> std::rc::Rc<CmHits> {
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
    fn config_map(&mut self, w: &WorkloadInfo, name: &str, only: Option<&str>, env_key: &str) {
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
    fn config_map_keys(&mut self, w: &WorkloadInfo, name: &str, keys: &[&str]) {
        let hits = self.cm_hits(&w.id.namespace, name);
        for (key, top, lines) in hits.iter() {
            if !keys.is_empty() && !keys.contains(&key.as_str()) {
                continue;
            }
            self.config_hits(w, name, key, key, top, lines);
        }
    }

    fn config_hits(
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
    fn annotations(&mut self, w: &WorkloadInfo) {
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
    fn logs(&mut self, addresses: &LogAddresses) {
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
                    text: crate::redact::scrub(&line_at(text, at, 200)).into_owned(),
                };
                self.add(&w, Target::Service(svc), ev);
            }
        }
    }

    /// Egress rules naming specific pods (a non-empty podSelector): the Services selecting
    /// those pods are dependencies of the workloads the policy applies to.
    fn network_policies(&mut self) {
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
    fn reaches(&self, svc: &SvcInfo, sel: &LabelSelector) -> bool {
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

    fn ingresses(&mut self) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::relations::tests::{r, snapshot};
    use serde_json::{Value, json};

    fn dep(ns: &str, name: &str, env: Value, spec: Value, annotations: Value) -> Value {
        let mut pod_spec = json!({"containers": [{"name": "app", "env": env}]});
        if let Value::Object(m) = spec {
            for (k, v) in m {
                pod_spec[k] = v;
            }
        }
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": ns, "uid": format!("d-{ns}-{name}")},
            "spec": {"selector": {"matchLabels": {"app": name}},
                "template": {"metadata": {"labels": {"app": name}, "annotations": annotations}, "spec": pod_spec}}})
    }

    fn svc(ns: &str, name: &str, ip: &str, port: i64) -> Value {
        json!({"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "namespace": ns, "uid": format!("s-{ns}-{name}")},
            "spec": {"selector": {"app": name}, "clusterIP": ip, "ports": [{"port": port}]}})
    }

    fn env(pairs: &[(&str, &str)]) -> Value {
        Value::Array(
            pairs
                .iter()
                .map(|(k, v)| json!({"name": k, "value": v}))
                .collect(),
        )
    }

    /// (from, to, sources) of every edge leaving `from`.
    fn edges_of(map: &ServiceMap, from: &ObjectRef) -> Vec<(String, Vec<String>)> {
        map.edges_from(from)
            .iter()
            .map(|e| {
                let mut sources: Vec<String> =
                    e.evidence.iter().map(|x| x.source.clone()).collect();
                sources.dedup();
                (e.to.to_string(), sources)
            })
            .collect()
    }

    fn shop() -> Snapshot {
        let mut objects = vec![
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "prod", "uid": "ns-prod", "labels": {"env": "prod"}}}),
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop", "uid": "ns-shop"}}),
        ];
        for (i, name) in [
            "db",
            "redis",
            "auth",
            "checkout",
            "search",
            "mq",
            "users",
            "memcached",
            "client",
        ]
        .iter()
        .enumerate()
        {
            objects.push(svc("shop", name, &format!("10.96.0.{}", 10 + i), 8080));
        }
        for (i, name) in ["db", "ledger", "billing"].iter().enumerate() {
            objects.push(svc("prod", name, &format!("10.96.1.{}", 10 + i), 8080));
        }
        objects.push(dep("prod", "ledger", json!([]), json!({}), json!({})));
        objects.push(dep(
            "shop",
            "client",
            env(&[
                ("DB_HOST", "db"),
                ("LEDGER", "ledger.prod"),
                (
                    "BILLING_URL",
                    "http://billing.prod.svc.cluster.local:9000/v1",
                ),
                ("PROD_DB", "db.prod.svc"),
                ("CACHE", "redis:6379"),
                (
                    "DATABASE_URL",
                    "postgres://auth:<redacted:0123456789ab>@users:5432/x",
                ),
                ("PEERS", "search:9200, mq:5672"),
                ("STRIPE", "https://api.stripe.com/v1/charges"),
                ("SELF", "client:8080"),
                // Negatives: substrings, lookalikes, constants, non-address keys.
                ("AUTHOR", "auth-team"),
                ("NAME", "mycheckout-x"),
                ("CHECKOUT_DB", "checkout_db:5432"),
                ("MODE", "AUTH"),
                ("CACHE_DRIVER", "memcached"),
                ("SERVICE_NAME", "checkout"),
                ("NOTE", "talk to checkout later"),
                ("LOG_FILE", "/var/log/app.log"),
                ("GHOST", "ghost.prod:80"),
                ("LOCAL", "http://localhost:8080"),
            ]),
            json!({}),
            json!({}),
        ));
        objects.push(json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "worker-env", "namespace": "shop", "uid": "cm1"},
            "data": {"QUEUE_HOST": "mq", "MODE": "auth"}}));
        objects.push(json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "worker-files", "namespace": "shop", "uid": "cm2"},
            "data": {"app.yaml": "db:\n  url: jdbc:postgresql://db.prod:5432/x\ncache:\n  host: redis\n  mode: auth\n"}}));
        objects.push(dep(
            "shop",
            "worker",
            json!([{"name": "Q", "valueFrom": {"configMapKeyRef": {"name": "worker-env", "key": "QUEUE_HOST"}}}]),
            json!({"containers": [{"name": "app", "envFrom": [{"configMapRef": {"name": "worker-env"}}]}],
                "volumes": [{"name": "files", "configMap": {"name": "worker-files"}}]}),
            json!({}),
        ));
        objects.push(dep(
            "shop",
            "reporter",
            json!([]),
            json!({}),
            json!({"intel.kubectl.io/depends-on": "search, prod/billing, worker, nothing-here"}),
        ));
        // search: a Deployment with a running pod whose log dials mq's ClusterIP.
        objects.push(dep("shop", "search", json!([]), json!({}), json!({})));
        objects.push(json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "search-1", "namespace": "shop", "uid": "p-search", "labels": {"app": "search"},
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "search", "uid": "d-shop-search", "controller": true}]},
            "spec": {"nodeName": "n1", "containers": [{"name": "app"}]}}));
        // NetworkPolicy: worker may reach ledger pods in prod; a namespace-wide peer is no evidence.
        objects.push(json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": "worker-egress", "namespace": "shop", "uid": "np1"},
            "spec": {"podSelector": {"matchLabels": {"app": "worker"}}, "policyTypes": ["Egress"],
                "egress": [
                    {"to": [{"namespaceSelector": {"matchLabels": {"env": "prod"}}, "podSelector": {"matchLabels": {"app": "ledger"}}}],
                     "ports": [{"port": 8080, "protocol": "TCP"}]},
                    {"to": [{"namespaceSelector": {}}]},
                    {"to": [{"podSelector": {"matchLabels": {"app": "db"}}}], "ports": [{"port": 5432}]}
                ]}}));
        let log = "2026-01-01T00:00:00Z connecting to amqp 10.96.0.15:5672 ok\nself 10.96.0.14:8080\nunknown 10.96.9.9:1\n";
        snapshot(objects, vec![("shop", "search-1", log)])
    }

    #[test]
    fn env_forms_resolve_strictly() {
        let s = shop();
        let rel = Relations::build(&s);
        let map = rel.service_map();
        assert_eq!(
            edges_of(map, &r("Deployment", "shop", "client")),
            vec![
                (
                    "External/api.stripe.com".to_string(),
                    vec!["env".to_string()]
                ),
                ("Service/prod/billing".into(), vec!["env".into()]),
                ("Service/prod/db".into(), vec!["env".into()]),
                ("Service/prod/ledger".into(), vec!["env".into()]),
                ("Service/shop/db".into(), vec!["env".into()]),
                ("Service/shop/mq".into(), vec!["env".into()]),
                ("Service/shop/redis".into(), vec!["env".into()]),
                ("Service/shop/search".into(), vec!["env".into()]),
                ("Service/shop/users".into(), vec!["env".into()]),
            ]
        );
        let users = &map.edges_from(&r("Deployment", "shop", "client"))[8];
        assert_eq!(
            users.evidence[0],
            Evidence {
                source: "env".into(),
                object: r("Deployment", "shop", "client"),
                field: "spec.template.spec.containers[app].env[DATABASE_URL]".into(),
                text: "postgres://users:5432".into(),
            }
        );
        let ext = map.node(&ObjectRef::external("api.stripe.com")).unwrap();
        assert_eq!(ext.kind, "External");
        let ledger = map.node(&r("Service", "prod", "ledger")).unwrap();
        assert_eq!(ledger.service_for, Some(r("Deployment", "prod", "ledger")));
        assert_eq!(
            map.depends_on(&r("Deployment", "shop", "client")),
            vec![
                &r("Deployment", "prod", "ledger"),
                &r("Deployment", "shop", "search")
            ],
            "only Services with a workload behind them resolve to workloads"
        );
    }

    #[test]
    fn config_maps_annotations_logs_and_policies() {
        let s = shop();
        let rel = Relations::build(&s);
        let map = rel.service_map();
        assert_eq!(
            edges_of(map, &r("Deployment", "shop", "worker")),
            vec![
                ("Service/prod/db".to_string(), vec!["configmap".to_string()]),
                ("Service/prod/ledger".into(), vec!["networkpolicy".into()]),
                ("Service/shop/mq".into(), vec!["configmap".into()]),
                ("Service/shop/redis".into(), vec!["configmap".into()]),
            ],
            "mode: auth is not an address; the port-5432 rule matches no db Service port; \
             a namespace-wide peer is no evidence"
        );
        let mq = &map.edges_from(&r("Deployment", "shop", "worker"))[2];
        let fields: Vec<&str> = mq.evidence.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            vec!["data[QUEUE_HOST]"],
            "valueFrom and envFrom give one item"
        );
        assert_eq!(
            edges_of(map, &r("Deployment", "shop", "reporter")),
            vec![
                (
                    "Deployment/shop/worker".to_string(),
                    vec!["annotation".to_string()]
                ),
                ("Service/prod/billing".into(), vec!["annotation".into()]),
                ("Service/shop/search".into(), vec!["annotation".into()]),
            ]
        );
        let search = map.edges_from(&r("Deployment", "shop", "search"));
        assert_eq!(
            search.len(),
            1,
            "own ClusterIP and unknown IPs give nothing"
        );
        assert_eq!(search[0].to, r("Service", "shop", "mq"));
        assert_eq!(
            search[0].evidence,
            vec![Evidence {
                source: "log".into(),
                object: r("Pod", "shop", "search-1"),
                field: "logs/shop/search-1/app.log".into(),
                text: "2026-01-01T00:00:00Z connecting to amqp 10.96.0.15:5672 ok".into(),
            }]
        );
        assert_eq!(
            map.dependents_of(&r("Deployment", "shop", "search")),
            vec![
                &r("Deployment", "shop", "client"),
                &r("Deployment", "shop", "reporter")
            ]
        );
        // Relations carry the map's edges as DependsOn.
        let d = rel
            .related(
                &r("Deployment", "shop", "reporter"),
                &r("Deployment", "shop", "worker"),
            )
            .unwrap();
        assert_eq!(d.kind, RelationKind::DependsOn);
        assert!(
            d.evidence
                .starts_with("annotation spec.template.metadata.annotations")
        );
    }

    #[test]
    fn paths_take_the_shortest_route_by_name() {
        let mut objects = Vec::new();
        for name in ["payment", "checkout", "zeta", "inventory", "audit"] {
            objects.push(svc("pay", name, "None", 80));
        }
        objects.push(dep(
            "pay",
            "payment",
            env(&[
                ("CHECKOUT_ADDR", "checkout:80"),
                ("ZETA_URL", "http://zeta"),
            ]),
            json!({}),
            json!({}),
        ));
        objects.push(dep(
            "pay",
            "checkout",
            env(&[("INVENTORY_URL", "http://inventory/")]),
            json!({}),
            json!({}),
        ));
        objects.push(dep(
            "pay",
            "zeta",
            env(&[("INVENTORY_URL", "http://inventory.pay/")]),
            json!({}),
            json!({}),
        ));
        objects.push(dep(
            "pay",
            "inventory",
            env(&[("AUDIT", "audit.pay.svc.cluster.local")]),
            json!({}),
            json!({}),
        ));
        objects.push(dep("pay", "audit", json!([]), json!({}), json!({})));
        let s = snapshot(objects, vec![]);
        let rel = Relations::build(&s);
        let map = rel.service_map();
        let p = |n: &str| r("Deployment", "pay", n);
        assert_eq!(
            map.path(&p("payment"), &p("inventory")),
            Some(vec![p("payment"), p("checkout"), p("inventory")])
        );
        assert_eq!(
            map.path(&p("payment"), &p("audit")),
            Some(vec![
                p("payment"),
                p("checkout"),
                p("inventory"),
                p("audit")
            ])
        );
        assert_eq!(map.path(&p("inventory"), &p("payment")), None);
        assert_eq!(map.path(&p("audit"), &p("audit")), Some(vec![p("audit")]));
        assert_eq!(
            map.depends_on(&p("payment")),
            vec![&p("checkout"), &p("zeta")]
        );
        assert_eq!(
            map.dependents_of(&p("inventory")),
            vec![&p("checkout"), &p("zeta")]
        );
    }

    #[test]
    fn names_of_no_service_are_kept_as_unresolved_by_their_shape() {
        let s = snapshot(
            vec![
                json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "pay", "uid": "ns-pay"}}),
                svc("pay", "ledger", "10.96.9.9", 80),
                dep("pay", "ledger", json!([]), json!({}), json!({})),
                dep(
                    "pay",
                    "invoicing",
                    env(&[
                        ("A", "http://ledgr.pay.svc.cluster.local:80"),
                        ("B", "ledgr.pay:80"),
                        ("C", "ledgr:80"),
                        ("D", "https://api.stripe.com"),
                        ("E", "http://localhost:8080"),
                        ("F", "otel-collector.observability.svc:4317"),
                        ("G", "ledger:80"),
                    ]),
                    json!({}),
                    json!({}),
                ),
            ],
            vec![],
        );
        let rel = Relations::build(&s);
        let map = rel.service_map();
        let got: Vec<(&str, &str, bool)> = map
            .unresolved
            .iter()
            .map(|u| (u.host.as_str(), u.service.as_str(), u.qualified))
            .collect();
        // In-cluster forms of a namespace the snapshot has, and a bare name, with no such
        // Service; never an external host, localhost, a namespace not captured, or a
        // name that resolves.
        assert_eq!(
            got,
            vec![
                ("ledgr", "ledgr", false),
                ("ledgr.pay", "ledgr", true),
                ("ledgr.pay.svc.cluster.local", "ledgr", true),
            ]
        );
        assert!(
            map.unresolved
                .iter()
                .all(|u| u.from == r("Deployment", "pay", "invoicing"))
        );
    }

    #[test]
    fn headless_members_and_gateway_routes() {
        let mut headless = svc("data", "pg", "None", 5432);
        headless["spec"]["clusterIP"] = json!("None");
        let s = snapshot(
            vec![
                headless,
                svc("data", "web", "10.96.5.5", 80),
                dep("data", "pg", json!([]), json!({}), json!({})),
                dep(
                    "data",
                    "web",
                    env(&[
                        ("PRIMARY", "pg-0.pg.data.svc.cluster.local:5432"),
                        ("REPLICA", "pg-1.pg:5432"),
                    ]),
                    json!({}),
                    json!({}),
                ),
                json!({"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
                    "metadata": {"name": "edge", "namespace": "data", "uid": "hr1"},
                    "spec": {"rules": [{"backendRefs": [{"name": "web", "port": 80}, {"name": "missing"},
                        {"kind": "Bucket", "group": "storage.example.com", "name": "web"}]}]}}),
            ],
            vec![],
        );
        let rel = Relations::build(&s);
        let map = rel.service_map();
        let web = map.edges_from(&r("Deployment", "data", "web"));
        assert_eq!(web.len(), 1);
        assert_eq!(web[0].to, r("Service", "data", "pg"));
        assert_eq!(web[0].evidence.len(), 2, "both StatefulSet member names");
        let route = r("HTTPRoute", "data", "edge");
        assert_eq!(map.node(&route).unwrap().kind, INGRESS);
        assert_eq!(
            edges_of(map, &route),
            vec![("Service/data/web".to_string(), vec!["ingress".to_string()])]
        );
        let routes: Vec<String> = rel
            .from(&route)
            .iter()
            .map(|x| format!("{:?} {}", x.kind, x.to))
            .collect();
        assert_eq!(
            routes,
            vec!["Routes Service/data/missing", "Routes Service/data/web"]
        );
        assert_eq!(
            map.path(&route, &r("Deployment", "data", "pg"))
                .map(|p| p.len()),
            Some(3)
        );
    }

    #[test]
    fn demo_service_map_is_exact() {
        let s = crate::fixture::snapshot();
        let rel = Relations::build(&s);
        let map = rel.service_map();
        let got: Vec<(String, String, Vec<String>)> = map
            .edges
            .iter()
            .map(|e| {
                let mut sources: Vec<String> =
                    e.evidence.iter().map(|x| x.source.clone()).collect();
                sources.dedup();
                (e.from.to_string(), e.to.to_string(), sources)
            })
            .collect();
        let want = [
            ("Deployment/shop/auth", "Service/shop/postgres", vec!["env"]),
            (
                "Deployment/shop/checkout",
                "Service/shop/auth",
                vec!["env", "log"],
            ),
            (
                "Deployment/shop/checkout",
                "Service/shop/postgres",
                vec!["env"],
            ),
            (
                "Deployment/shop/checkout",
                "Service/shop/redis",
                vec!["env"],
            ),
            (
                "Deployment/shop/frontend",
                "Service/shop/checkout",
                vec!["env"],
            ),
            (
                "Ingress/shop/shop",
                "Service/shop/frontend",
                vec!["ingress"],
            ),
        ];
        let want: Vec<(String, String, Vec<String>)> = want
            .iter()
            .map(|(a, b, c)| {
                (
                    a.to_string(),
                    b.to_string(),
                    c.iter().map(|s| s.to_string()).collect(),
                )
            })
            .collect();
        assert_eq!(got, want);

        let edge = |from: &str, to: &str| {
            map.edges
                .iter()
                .find(|e| e.from.name == from && e.to.name == to)
                .unwrap()
        };
        let pg = &edge("checkout", "postgres").evidence[0];
        assert_eq!(
            pg.field,
            "spec.template.spec.containers[checkout].env[DATABASE_URL]"
        );
        assert_eq!(pg.text, "postgres://postgres.shop:5432");
        let auth = edge("checkout", "auth");
        let log = auth.evidence.iter().find(|e| e.source == "log").unwrap();
        assert!(
            log.text.contains("dial tcp 10.96.3.12:9000"),
            "{}",
            log.text
        );
        assert!(log.text.chars().count() <= 200);
        assert_eq!(log.object.kind, "Pod");
        assert!(auth.evidence.iter().filter(|e| e.source == "log").count() <= MAX_LOG_EVIDENCE);
        assert_eq!(edge("checkout", "redis").evidence[0].text, "redis");
        assert_eq!(
            edge("frontend", "checkout").evidence[0].text,
            "http://checkout.shop.svc.cluster.local:8080"
        );

        let d = |n: &str| r("Deployment", "shop", n);
        let pg_sts = r("StatefulSet", "shop", "postgres");
        assert_eq!(
            map.node(&r("Service", "shop", "auth")).unwrap().service_for,
            Some(d("auth"))
        );
        assert_eq!(
            map.node(&r("Service", "shop", "postgres"))
                .unwrap()
                .service_for,
            Some(pg_sts.clone())
        );
        assert_eq!(
            map.depends_on(&d("checkout")),
            vec![&d("auth"), &d("redis"), &pg_sts]
        );
        assert_eq!(map.dependents_of(&pg_sts), vec![&d("auth"), &d("checkout")]);
        assert_eq!(
            map.path(&r("Ingress", "shop", "shop"), &pg_sts),
            Some(vec![
                r("Ingress", "shop", "shop"),
                d("frontend"),
                d("checkout"),
                pg_sts.clone()
            ])
        );
        assert_eq!(
            map.node(&r("Ingress", "shop", "shop")).unwrap().kind,
            INGRESS
        );

        // Deterministic, and building again from the relations gives the same map.
        let again = ServiceMap::build(&s, &rel);
        assert_eq!(&again, map);
        let json = serde_json::to_string(map).unwrap();
        assert_eq!(
            json,
            serde_json::to_string(&Relations::build(&crate::fixture::snapshot()).service_map())
                .unwrap()
        );
        assert!(!json.contains("hunter2"), "no credential in evidence");
        assert!(json.contains("\"serviceFor\""));
    }
}
