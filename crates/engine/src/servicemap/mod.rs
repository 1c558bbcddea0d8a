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

use std::collections::{HashMap, VecDeque};

use serde::Serialize;

use super::log_addresses::LogAddresses;
use super::relations::{ObjectRef, Relations};
use intel_model::Snapshot;

mod build;
#[cfg(test)]
mod tests;

use build::MapBuilder;
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
    pub fn target_workload<'a>(&'a self, to: &'a ObjectRef) -> Option<&'a ObjectRef> {
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

    /// Every workload's dependents at once, in one pass over the edges ([`Self::dependents_of`]
    /// for all workloads, which would scan the edges once per workload).
    pub fn dependents(&self) -> std::collections::BTreeMap<&ObjectRef, Vec<&ObjectRef>> {
        let mut out: std::collections::BTreeMap<&ObjectRef, Vec<&ObjectRef>> = Default::default();
        for e in &self.edges {
            if self.node(&e.from).is_none_or(|n| n.kind != WORKLOAD) {
                continue;
            }
            if let Some(t) = self.target_workload(&e.to).filter(|t| **t != e.from) {
                out.entry(t).or_default().push(&e.from);
            }
        }
        for v in out.values_mut() {
            v.sort();
            v.dedup();
        }
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
pub fn summarize(evidence: &[Evidence]) -> String {
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
