//! Causality chains: from a root cause to where the symptom shows.
//!
//! The chain starts with the root and the objects its finding runs through (ConfigMap →
//! Deployment → ReplicaSet → Pod, PVC → Pod → StatefulSet). From there it follows the
//! propagation graph: failing objects joined by what links them — one blaming the other
//! in its evidence, a service dependency, a shared node, a selector, an Ingress route —
//! and takes the path that explains the most failing objects (blame links count extra),
//! preferring one that ends at an entry point (an Ingress). Objects whose trouble began
//! well before the root's are left out: they cannot be its consequence.
//!
//! The search is a depth-first enumeration of simple paths, bounded in depth and in
//! expansions; neighbours are visited in sorted order, so the result is deterministic.

use std::collections::{BTreeMap, BTreeSet};

use super::rank::resolve;
use crate::detect::Hit;
use crate::report::Severity;
use intel_engine::relations::RelationKind;
use intel_engine::{ObjectRef, Relations};

#[derive(Debug, Clone, PartialEq)]
pub struct Link {
    pub object: ObjectRef,
    pub reason: String,
    pub evidence: String,
    /// The link this one follows from when it is a branch (not the previous one).
    pub from: Option<usize>,
}

type Adj = BTreeMap<ObjectRef, BTreeMap<ObjectRef, (String, String, bool)>>;

const MAX_DEPTH: usize = 10;
/// Other failing dependents of the chain's objects, listed after the path.
const MAX_BRANCHES: usize = 6;
const MAX_EXPANSIONS: usize = 200_000;
/// Trouble that began this long before the root's onset is not its consequence.
const SLACK: i64 = 15 * 60;
/// The weight of a warning finding: branches only list objects with a finding of their own,
/// not the healthy workloads the path passes through.
const WARNING_WEIGHT: f64 = 0.7;

pub struct Graph<'a> {
    adj: Adj,
    weight: BTreeMap<ObjectRef, f64>,
    onset: BTreeMap<ObjectRef, i64>,
    /// (from, to) steps the search must not take.
    one_way: BTreeSet<(ObjectRef, ObjectRef)>,
    /// (culprit, object whose evidence names it).
    blamed_by: BTreeSet<(ObjectRef, ObjectRef)>,
    rel: &'a Relations,
}

impl<'a> Graph<'a> {
    pub fn build(hits: &[Hit], rel: &'a Relations) -> Graph<'a> {
        let mut g = Graph {
            adj: Adj::new(),
            weight: BTreeMap::new(),
            onset: BTreeMap::new(),
            one_way: BTreeSet::new(),
            blamed_by: BTreeSet::new(),
            rel,
        };
        let failing: BTreeSet<ObjectRef> = hits
            .iter()
            .filter(|h| h.severity >= Severity::Warning)
            .map(|h| h.subject.clone())
            .collect();
        for h in hits.iter().filter(|h| h.severity >= Severity::Warning) {
            let w = if h.severity == Severity::Critical {
                1.0
            } else {
                WARNING_WEIGHT
            };
            let e = g.weight.entry(h.subject.clone()).or_insert(0.0);
            *e = e.max(w);
            if let Some(t) = h.since {
                let o = g.onset.entry(h.subject.clone()).or_insert(t);
                *o = (*o).min(t);
            }
        }
        // Blame links.
        for h in hits.iter().filter(|h| h.severity >= Severity::Warning) {
            for b in &h.blames {
                let target = resolve(rel, &failing, b);
                g.blamed_by.insert((target.clone(), h.subject.clone()));
                g.edge(
                    &h.subject,
                    &target,
                    "depends-on",
                    &format!("{} names {} in its evidence", h.subject.name, target.name),
                    true,
                );
                if target != *b && failing.contains(b) {
                    g.edge(&h.subject, b, "depends-on", "named in its evidence", true);
                }
            }
        }
        let map = rel.service_map();
        g.passthrough(&failing);
        let nodes: Vec<ObjectRef> = failing.iter().cloned().collect();
        for a in &nodes {
            // Service dependencies between failing workloads (either direction); through
            // the Service when the Service itself is failing.
            for e in map.edges_from(a) {
                let via_failing_service = e.to.kind == "Service" && failing.contains(&e.to);
                let target = map.node(&e.to).and_then(|n| n.service_for.clone());
                if via_failing_service {
                    g.edge(a, &e.to, "depends-on", "service map", false);
                } else if let Some(d) = target.filter(|d| failing.contains(d) && d != a) {
                    g.edge(a, &d, "depends-on", "service map", false);
                }
            }
            // Direct relations between failing objects (runs-on, selected-by, uses-config,
            // scales, owned-by, mounts).
            for r in rel.from(a) {
                if failing.contains(&r.to) && r.kind != RelationKind::DependsOn {
                    g.edge(a, &r.to, kebab(r.kind), &r.evidence, false);
                }
                // A failing Service's consumers and its workload.
                if r.kind == RelationKind::DependsOn
                    && r.to.kind == "Service"
                    && failing.contains(&r.to)
                {
                    g.edge(a, &r.to, "depends-on", &r.evidence, false);
                }
            }
            if a.kind == "Service" {
                if let Some(w) = map.node(a).and_then(|n| n.service_for.clone()) {
                    g.edge(&w, a, "selected-by", "the Service selects its pods", false);
                }
            }
            // Entry points: Ingress → Service → this workload.
            for svc in rel.to(a).iter().chain(rel.from(a)) {
                let s = if *svc.from == *a { &svc.to } else { &svc.from };
                if s.kind != "Service" || (svc.kind != RelationKind::SelectedBy && *svc.from != *a)
                {
                    continue;
                }
                for ing in rel.to(s) {
                    if ing.kind == RelationKind::Routes {
                        g.edge(
                            a,
                            &ing.from,
                            "routes",
                            &format!(
                                "{} {} routes to Service {}",
                                ing.from.kind, ing.from.name, s.name
                            ),
                            false,
                        );
                    }
                }
            }
            if a.kind == "Service" {
                for ing in rel.to(a) {
                    if ing.kind == RelationKind::Routes {
                        g.edge(a, &ing.from, "routes", "backend", false);
                    }
                }
            }
        }
        g
    }

    /// Healthy workloads between failing ones and an entry point still carry the failure
    /// to users (the frontend in front of a failing gateway): they join the graph with a
    /// small weight, as callers of what they depend on, and entry workloads link to the
    /// Ingresses that route to them.
    fn passthrough(&mut self, failing: &BTreeSet<ObjectRef>) {
        let rel = self.rel;
        let map = rel.service_map();
        let mut entry: Vec<(ObjectRef, ObjectRef, String)> = Vec::new();
        for n in &map.nodes {
            if n.kind != intel_engine::servicemap::INGRESS {
                continue;
            }
            for e in map.edges_from(&n.id) {
                if let Some(w) = map.node(&e.to).and_then(|s| s.service_for.clone()) {
                    entry.push((n.id.clone(), w, e.to.name.clone()));
                }
            }
        }
        let mut upstream: BTreeSet<ObjectRef> = BTreeSet::new();
        let mut queue: Vec<ObjectRef> = entry.iter().map(|(_, w, _)| w.clone()).collect();
        while let Some(w) = queue.pop() {
            if upstream.len() > 5000 || !upstream.insert(w.clone()) {
                continue;
            }
            for d in map.depends_on(&w) {
                queue.push(d.clone());
            }
        }
        for (ing, w, svc) in &entry {
            if upstream.contains(w) {
                self.edge(
                    w,
                    ing,
                    "routes",
                    &format!("{} {} routes to Service {svc}", ing.kind, ing.name),
                    false,
                );
            }
        }
        for w in &upstream {
            if !failing.contains(w) {
                self.weight.entry(w.clone()).or_insert(0.1);
            }
            for d in map.depends_on(w) {
                if upstream.contains(d) || failing.contains(d) {
                    self.edge(w, d, "depends-on", "service map", false);
                    if !failing.contains(w) || !failing.contains(d) {
                        // Through a healthy workload failure only travels from callee to
                        // caller, towards the entry point.
                        self.one_way.insert((w.clone(), d.clone()));
                    }
                }
            }
        }
    }

    fn edge(&mut self, a: &ObjectRef, b: &ObjectRef, reason: &str, evidence: &str, blame: bool) {
        if a == b {
            return;
        }
        for (x, y) in [(a, b), (b, a)] {
            let e = self
                .adj
                .entry(x.clone())
                .or_default()
                .entry(y.clone())
                .or_insert_with(|| {
                    (
                        reason.to_string(),
                        crate::detect::clip(evidence, 200),
                        blame,
                    )
                });
            if blame && !e.2 {
                e.2 = true;
            }
        }
    }

    /// The chain for a root: its prefix (root and `via`), then the best propagation path.
    pub fn chain(
        &self,
        root: &ObjectRef,
        via: &[ObjectRef],
        root_since: Option<i64>,
        mentions: &[ObjectRef],
    ) -> Vec<Link> {
        let mut links = vec![Link {
            object: root.clone(),
            reason: String::new(),
            evidence: String::new(),
            from: None,
        }];
        let mut prev = root.clone();
        for v in via {
            if links.iter().any(|l| l.object == *v) {
                continue;
            }
            let (reason, evidence) = self.describe(&prev, v);
            links.push(Link {
                object: v.clone(),
                reason,
                evidence,
                from: None,
            });
            prev = v.clone();
        }
        // Propagate from the last workload-like object of the prefix.
        let anchor = links
            .iter()
            .rev()
            .map(|l| &l.object)
            .find(|o| self.adj.contains_key(*o) && !matches!(o.kind.as_str(), "Pod" | "ReplicaSet"))
            .cloned()
            .unwrap_or_else(|| root.clone());
        let own_services: BTreeSet<ObjectRef> = self
            .rel
            .from(&anchor)
            .iter()
            .filter(|r| r.kind == RelationKind::SelectedBy && r.to.kind == "Service")
            .map(|r| (*r.to).clone())
            .collect();
        let used: BTreeSet<ObjectRef> = links.iter().map(|l| l.object.clone()).collect();
        let mut search = Search {
            g: self,
            not_before: root_since.map(|t| t - SLACK),
            mentions,
            own_services: &own_services,
            best: (f64::MIN, Vec::new()),
            expansions: 0,
        };
        let mut path = vec![anchor.clone()];
        let mut seen = used.clone();
        seen.insert(anchor.clone());

        search.dfs(&mut path, &mut seen, 0.0);
        let best = search.best.1;
        let mut prev = anchor;
        for o in best.into_iter().skip(1) {
            let (reason, evidence) = self.describe(&prev, &o);
            links.push(Link {
                object: o.clone(),
                reason,
                evidence,
                from: None,
            });
            prev = o;
        }
        self.branches(&mut links, root_since.map(|t| t - SLACK));
        links
    }

    /// A path explains one line of consequences; a saturated database slows every client.
    /// The other failing objects that depend on a link of the chain (or whose evidence
    /// blames it) follow the path as branches, the most affected first.
    fn branches(&self, links: &mut Vec<Link>, not_before: Option<i64>) {
        let map = self.rel.service_map();
        let mut used: BTreeSet<ObjectRef> = links.iter().map(|l| l.object.clone()).collect();
        let mut found: Vec<(usize, f64, ObjectRef)> = Vec::new();
        for (i, l) in links.iter().enumerate() {
            let Some(next) = self.adj.get(&l.object) else {
                continue;
            };
            for (n, (_, _, blame)) in next {
                let w = self.weight.get(n).copied().unwrap_or(0.0);
                if used.contains(n)
                    || w < WARNING_WEIGHT
                    || matches!(n.kind.as_str(), "Pod" | "ReplicaSet" | "Ingress")
                    || self.too_early(n, not_before)
                {
                    continue;
                }
                // A chain workload's own Service is the workload, not a consequence.
                let own_service = map
                    .node(n)
                    .and_then(|m| m.service_for.as_ref())
                    .is_some_and(|w| used.contains(w));
                if own_service {
                    continue;
                }
                let blames = self.blamed_by.contains(&(l.object.clone(), n.clone()));
                let calls = map.depends_on(n).contains(&&l.object)
                    || map.edges_from(n).iter().any(|e| e.to == l.object);
                if blames || calls {
                    found.push((i, w + if *blame { 0.5 } else { 0.0 }, n.clone()));
                }
            }
        }
        found.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.total_cmp(&a.1)).then(a.2.cmp(&b.2)));
        let mut added = 0;
        for (i, _, n) in found {
            if added == MAX_BRANCHES {
                break;
            }
            if !used.insert(n.clone()) {
                continue;
            }
            added += 1;
            let (reason, evidence) = self.describe(&links[i].object, &n);
            links.push(Link {
                object: n,
                reason,
                evidence,
                from: Some(i),
            });
        }
    }

    /// Whether `n`'s trouble began before `not_before`: then it is not a consequence.
    fn too_early(&self, n: &ObjectRef, not_before: Option<i64>) -> bool {
        not_before
            .zip(self.onset.get(n))
            .is_some_and(|(nb, t)| *t < nb)
    }

    fn describe(&self, a: &ObjectRef, b: &ObjectRef) -> (String, String) {
        if let Some((r, e, _)) = self.adj.get(a).and_then(|m| m.get(b)) {
            let reason = if r == "depends-on" && self.rel.service_map().depends_on(b).contains(&a) {
                "depended-on-by".to_string()
            } else {
                r.clone()
            };
            return (reason, e.clone());
        }
        if let Some(r) = self.rel.related(a, b) {
            let reason = if *r.from == *a {
                kebab(r.kind).to_string()
            } else {
                inverse(r.kind).to_string()
            };
            return (reason, r.evidence.clone());
        }
        ("followed-in-time".to_string(), String::new())
    }
}

struct Search<'g, 'a> {
    g: &'g Graph<'a>,
    not_before: Option<i64>,
    mentions: &'g [ObjectRef],
    /// The anchor's own Services: a hop right after the anchor (clients fail through
    /// them), never later (out of the anchor and back in through its Service).
    own_services: &'g BTreeSet<ObjectRef>,
    best: (f64, Vec<ObjectRef>),
    expansions: usize,
}

impl Search<'_, '_> {
    fn dfs(&mut self, path: &mut Vec<ObjectRef>, seen: &mut BTreeSet<ObjectRef>, score: f64) {
        let last = path[path.len() - 1].clone();
        // Reaching an entry point beats any path that does not.
        let terminal = if last.kind == "Ingress" { 1000.0 } else { 0.0 };
        let total = score + terminal;
        if total > self.best.0 + 1e-9 {
            self.best = (total, path.clone());
        }
        if path.len() > MAX_DEPTH
            || self.expansions > MAX_EXPANSIONS
            || last.kind == "Ingress" && path.len() > 1
        {
            return;
        }
        let Some(next) = self.g.adj.get(&last) else {
            return;
        };
        for (n, (_, _, blame)) in next {
            if seen.contains(n)
                || (path.len() > 1 && self.own_services.contains(n))
                || self.g.one_way.contains(&(last.clone(), n.clone()))
            {
                continue;
            }
            let w = self.g.weight.get(n).copied().unwrap_or(0.0);
            if w == 0.0 && n.kind != "Ingress" {
                continue;
            }
            if self.g.too_early(n, self.not_before) {
                continue;
            }
            self.expansions += 1;
            let gain = w
                + if *blame { 0.5 } else { 0.0 }
                + if self.mentions.contains(n) { 1.0 } else { 0.0 };
            seen.insert(n.clone());
            path.push(n.clone());
            self.dfs(path, seen, score + gain);
            path.pop();
            seen.remove(n);
        }
    }
}

/// Findings that say a workload's load comes from the one they blame.
const LOAD_EFFECTS: &[&str] = &["LoadIncrease", "CPUThrottling", "TrafficSurge"];

/// From a load origin, the workloads whose load it raised, one after the other: each
/// next one has a load finding blaming the previous (the most severe, then by name).
pub fn load_path(root: &ObjectRef, hits: &[Hit]) -> Vec<ObjectRef> {
    let mut path = Vec::new();
    let mut seen = BTreeSet::from([root.clone()]);
    let mut cur = root.clone();
    while path.len() < MAX_DEPTH {
        let next = hits
            .iter()
            .filter(|h| {
                LOAD_EFFECTS.contains(&h.kind)
                    && h.blames.contains(&cur)
                    && !seen.contains(&h.subject)
            })
            .map(|h| {
                let severity = hits
                    .iter()
                    .filter(|x| x.subject == h.subject)
                    .map(|x| x.severity)
                    .max()
                    .unwrap_or(h.severity);
                (std::cmp::Reverse(severity), h.subject.clone())
            })
            .min();
        let Some((_, n)) = next else { break };
        seen.insert(n.clone());
        path.push(n.clone());
        cur = n;
    }
    path
}

fn kebab(k: RelationKind) -> &'static str {
    match k {
        RelationKind::OwnedBy => "owned-by",
        RelationKind::RunsOn => "runs-on",
        RelationKind::SelectedBy => "selected-by",
        RelationKind::Routes => "routes",
        RelationKind::Scales => "scales",
        RelationKind::Mounts => "mounts",
        RelationKind::BoundTo => "bound-to",
        RelationKind::InZone => "in-zone",
        RelationKind::UsesConfig => "uses-config",
        RelationKind::DependsOn => "depends-on",
    }
}

fn inverse(k: RelationKind) -> &'static str {
    match k {
        RelationKind::OwnedBy => "owns",
        RelationKind::RunsOn => "hosts",
        RelationKind::SelectedBy => "selects",
        RelationKind::Routes => "routed-from",
        RelationKind::Scales => "scaled-by",
        RelationKind::Mounts => "mounted-by",
        RelationKind::BoundTo => "bound-from",
        RelationKind::InZone => "zone-of",
        RelationKind::UsesConfig => "used-by",
        RelationKind::DependsOn => "depended-on-by",
    }
}
