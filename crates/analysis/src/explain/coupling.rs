//! Hidden coupling: a workload that depends on another through intermediaries nobody
//! sees when they look at either end (payment → cart → catalog → inventory), and whether
//! their failures moved together — the downstream's first problem after the upstream's,
//! with the lag.
//!
//! Pairs come from the workloads that matter for the question: those with problems, those
//! the question names, and the root cause. A pair is reported when the dependency is at
//! least two hops away (a direct one is not hidden). The lag is read from the timeline's
//! first problem per workload (events, log signatures, metric anomalies), so it is only as
//! good as that evidence: the report says which end had none.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use serde::Serialize;

use intel_engine::ObjectRef;
use intel_engine::servicemap::ServiceMap;

/// How deep the search goes (hops).
const MAX_HOPS: usize = 6;
/// Pairs reported at most.
const MAX_PAIRS: usize = 25;

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Coupling {
    /// The workload that depends (`Deployment shop/payment`).
    pub from: String,
    /// The workload it depends on through others.
    pub to: String,
    /// The intermediaries, in call order.
    pub via: Vec<String>,
    pub hops: usize,
    /// Each hop with the evidence of the edge (`payment → cart: env CART_URL=…`).
    pub evidence: Vec<String>,
    /// Both ends had problems, the dependency's first.
    pub correlated: bool,
    /// Seconds from the dependency's first problem to the dependent's (positive: the
    /// dependency failed first, as propagation would have it).
    pub lag_seconds: Option<i64>,
    /// In words: "payment's problems began 4m after inventory's".
    pub note: String,
}

fn label(o: &ObjectRef) -> String {
    format!("{} {}/{}", o.kind, o.namespace, o.name)
}

/// The evidence of the edge(s) from workload `a` to workload `b`: one line.
fn hop_evidence(map: &ServiceMap, a: &ObjectRef, b: &ObjectRef) -> String {
    let mut parts = Vec::new();
    for e in map.edges_from(a) {
        let target = map.node(&e.to).and_then(|n| {
            if n.id == *b {
                Some(&n.id)
            } else {
                n.service_for.as_ref()
            }
        });
        if target == Some(b) {
            if let Some(ev) = e.evidence.first() {
                parts.push(format!("{} {}: {}", ev.source, ev.field, ev.text));
            }
        }
    }
    parts.sort();
    parts.dedup();
    format!(
        "{} → {}: {}",
        a.name,
        b.name,
        if parts.is_empty() {
            "(edge without evidence)".to_string()
        } else {
            crate::detect::clip(&parts.join("; "), 200)
        }
    )
}

/// Finds hidden coupling from `sources`; `onsets` is the first problem per workload.
pub fn hidden_coupling(
    map: &ServiceMap,
    sources: &BTreeSet<ObjectRef>,
    interesting: &BTreeSet<ObjectRef>,
    onsets: &BTreeMap<ObjectRef, i64>,
) -> Vec<Coupling> {
    let mut out = Vec::new();
    for src in sources {
        // BFS by name order: the path found is the shortest, ties broken by name.
        let mut prev: BTreeMap<ObjectRef, ObjectRef> = BTreeMap::new();
        let mut depth: BTreeMap<ObjectRef, usize> = BTreeMap::new();
        let mut queue = VecDeque::from([(src.clone(), 0usize)]);
        depth.insert(src.clone(), 0);
        while let Some((cur, d)) = queue.pop_front() {
            if d >= MAX_HOPS {
                continue;
            }
            for n in map.depends_on(&cur) {
                if depth.contains_key(n) {
                    continue;
                }
                depth.insert(n.clone(), d + 1);
                prev.insert(n.clone(), cur.clone());
                queue.push_back((n.clone(), d + 1));
            }
        }
        for (target, d) in &depth {
            if *d < 2 || !interesting.contains(target) {
                continue;
            }
            let mut path = vec![target.clone()];
            let mut at = target;
            while let Some(p) = prev.get(at) {
                path.push(p.clone());
                at = p;
            }
            path.reverse();
            let evidence: Vec<String> = path
                .windows(2)
                .map(|w| hop_evidence(map, &w[0], &w[1]))
                .collect();
            let (fo, to) = (onsets.get(src), onsets.get(target));
            let lag = match (fo, to) {
                (Some(f), Some(t)) => Some(f - t),
                _ => None,
            };
            let correlated = lag.is_some_and(|l| l >= 0);
            let note = match (fo, to, lag) {
                (Some(_), Some(_), Some(l)) if l >= 0 => format!(
                    "{}'s problems began {} after {}'s: consistent with propagation over {} hops",
                    src.name,
                    crate::detect::human_duration(l),
                    target.name,
                    d
                ),
                (Some(_), Some(_), Some(l)) => format!(
                    "{}'s problems began {} before {}'s: not caused by it",
                    src.name,
                    crate::detect::human_duration(-l),
                    target.name
                ),
                (None, Some(_), _) => format!(
                    "{} has problems but {} shows none yet: at risk through {} hops",
                    target.name, src.name, d
                ),
                (Some(_), None, _) => format!(
                    "{} shows no problem: {}'s trouble does not come from it",
                    target.name, src.name
                ),
                _ => format!("{} depends on {} through {d} hops", src.name, target.name),
            };
            out.push(Coupling {
                from: label(src),
                to: label(target),
                via: path[1..path.len() - 1].iter().map(label).collect(),
                hops: *d,
                evidence,
                correlated,
                lag_seconds: lag,
                note,
            });
        }
    }
    out.sort_by(|a, b| {
        b.correlated
            .cmp(&a.correlated)
            .then(b.hops.cmp(&a.hops))
            .then(a.from.cmp(&b.from))
            .then(a.to.cmp(&b.to))
    });
    out.truncate(MAX_PAIRS);
    out
}
