//! Ranking root causes. Documented in docs/report.md ("How root causes are ranked"); the
//! weights below are that table. Every candidate is a subject with findings; its score
//! (0–100) adds:
//!
//! | factor | points |
//! |---|---|
//! | intrinsic: how often its strongest finding's category is a cause in itself | up to 40 |
//! | severity of that finding (critical, or its subject is down / warning) | 8 / 4 |
//! | reach: failing objects that blame it, directly or through others | 4 each, up to 24 |
//! | upstream: failing workloads that depend on it | 2 each, up to 10 |
//! | a change (rollout, edit) to it or its configuration shortly before the onset | 10 |
//! | earliest onset among the candidates | up to 6 |
//! | the symptom's classes favour its category / it is named / it is upstream of what is named | 12 / 8 / 5 |
//! | neighbours: failing workloads it calls or that call it | 3 each, up to 9 |
//! | down: none of its replicas is ready | 6 |
//! | isolated (unless down, or missing replicas by a critical failure of its own): no failing object points at it, depends on it, calls it, is called by it, is related to it or lies on its finding's path | −8 |
//! | effect: its strongest finding blames another failing object | −20 |
//!
//! Ties are broken by subject (kind, namespace, name). A candidate needs an intrinsic
//! weight of at least 0.3 and a score of at least [`MIN_SCORE`] to be reported; when none
//! reaches it and no current finding is critical, the best candidate whose category the
//! symptom favours and that scores at least [`PROMOTED`] is reported alone. Failures that are over (`detect::currency`) are
//! `Info` and take no part; one kept as a bridge between current failures carries the
//! chain but is never a candidate. A workload scaled to 0 is a candidate only when
//! something failing points at it or depends on it.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use super::symptom::Symptom;
use crate::detect::{Change, Hit};
use crate::report::Severity;
use intel_engine::{ObjectRef, Relations};

pub const MIN_SCORE: f64 = 45.0;
/// Penalty for a candidate no failing object is connected to: none points at it, depends
/// on it, calls it or is called by it, is related to it (owns, runs on, scales, mounts,
/// uses…), or lies on its finding's path.
const ISOLATED: f64 = 8.0;
/// For a workload whose failure is critical and that has no ready replica at all.
const DOWN: f64 = 6.0;
/// A candidate below [`MIN_SCORE`] is still reported when it is the only one, the symptom
/// favours its category and it scores at least this.
const PROMOTED: f64 = 35.0;
/// A change this long before the onset (or up to 10 minutes after) counts.
const CHANGE_WINDOW: i64 = 3 * 3600;

#[derive(Debug, Clone)]
pub struct Candidate {
    pub subject: ObjectRef,
    /// The category of its strongest finding.
    pub category: &'static str,
    pub score: f64,
    pub since: Option<i64>,
    /// Indexes into the hits.
    pub hits: Vec<usize>,
    pub reasons: Vec<String>,
    pub change: Option<Change>,
}

/// Maps a blamed object to the subject its findings are on: a Service to the workload it
/// selects (unless the Service itself has findings).
pub fn resolve(rel: &Relations, subjects: &BTreeSet<ObjectRef>, r: &ObjectRef) -> ObjectRef {
    if subjects.contains(r) {
        return r.clone();
    }
    if r.kind == "Service" {
        if let Some(w) = rel
            .service_map()
            .node(r)
            .and_then(|n| n.service_for.clone())
        {
            return w;
        }
    }
    if r.kind == "Pod" {
        return rel.workload_of(r);
    }
    r.clone()
}

pub fn rank(
    hits: &[Hit],
    changes: &[Change],
    rel: &Relations,
    symptom: &Symptom,
) -> Vec<Candidate> {
    let failing: BTreeSet<ObjectRef> = hits
        .iter()
        .filter(|h| h.severity >= Severity::Warning)
        .map(|h| h.subject.clone())
        .collect();
    let mut by_subject: BTreeMap<ObjectRef, Vec<usize>> = BTreeMap::new();
    for (i, h) in hits.iter().enumerate() {
        by_subject.entry(h.subject.clone()).or_default().push(i);
    }
    // Blame graph: culprit ← accuser.
    let mut accusers: BTreeMap<ObjectRef, BTreeSet<ObjectRef>> = BTreeMap::new();
    for h in hits.iter().filter(|h| h.severity >= Severity::Warning) {
        for b in &h.blames {
            let culprit = resolve(rel, &failing, b);
            if culprit != h.subject {
                accusers
                    .entry(culprit)
                    .or_default()
                    .insert(h.subject.clone());
            }
        }
    }
    // Through nodes: failing workloads on a failing node accuse the node, and a node
    // starved by one workload accuses that workload.
    for h in hits.iter().filter(|h| h.severity >= Severity::Warning) {
        if h.subject.kind == "Node" {
            for r in rel.to(&h.subject) {
                if r.kind == intel_engine::RelationKind::RunsOn
                    && r.from.kind != "Pod"
                    && failing.contains(&r.from)
                {
                    accusers
                        .entry(h.subject.clone())
                        .or_default()
                        .insert((*r.from).clone());
                }
            }
        }
        if matches!(h.kind, "UnboundedMemoryUse" | "EphemeralStorageExhaustion") {
            for n in h.via.iter().filter(|v| v.kind == "Node") {
                accusers
                    .entry(h.subject.clone())
                    .or_default()
                    .insert(n.clone());
            }
        }
    }
    let map = rel.service_map();
    let mut reverse: BTreeMap<ObjectRef, Vec<ObjectRef>> = BTreeMap::new();
    for n in &map.nodes {
        if n.kind == intel_engine::servicemap::WORKLOAD {
            for d in map.depends_on(&n.id) {
                reverse.entry(d.clone()).or_default().push(n.id.clone());
            }
        }
    }
    let onsets: Vec<i64> = by_subject
        .values()
        .filter_map(|ix| ix.iter().filter_map(|i| hits[*i].since).min())
        .collect();
    let (earliest, latest) = (
        onsets.iter().min().copied().unwrap_or(0),
        onsets.iter().max().copied().unwrap_or(0),
    );
    let mentioned_upstream: BTreeSet<ObjectRef> = symptom
        .mentions
        .iter()
        .flat_map(|m| upstream_of(map, m))
        .collect();

    let mut out = Vec::new();
    for (subject, ix) in &by_subject {
        let best = ix
            .iter()
            .copied()
            // A recovered failure kept as a bridge between current ones is never a
            // root cause itself.
            .filter(|i| hits[*i].severity >= Severity::Warning && hits[*i].resolved.is_none())
            .max_by(|a, b| {
                let (x, y) = (&hits[*a], &hits[*b]);
                let fx = x.cause + if symptom.favours(x.kind) { 0.1 } else { 0.0 };
                let fy = y.cause + if symptom.favours(y.kind) { 0.1 } else { 0.0 };
                fx.total_cmp(&fy).then(y.kind.cmp(x.kind))
            });
        let Some(best) = best else { continue };
        let top = &hits[best];
        if top.cause < 0.3 {
            continue;
        }
        let mut reasons = Vec::new();
        let mut score = 40.0 * top.cause;
        reasons.push(format!("{}: intrinsic weight {:.2}", top.kind, top.cause));
        // Down: none of its replicas is ready (its controller says so, now).
        let down = ix.iter().any(|i| {
            let h = &hits[*i];
            h.kind == "ReplicasUnavailable"
                && h.severity == Severity::Critical
                && h.resolved.is_none()
        });
        score += if top.severity == Severity::Critical || down {
            8.0
        } else {
            4.0
        };
        // A workload with no pods is reached through the Service its callers name.
        let reach = transitive(&accusers, subject)
            + top
                .via
                .iter()
                .filter(|v| v.kind == "Service" && top.kind == "ScaledToZero")
                .map(|v| transitive(&accusers, v))
                .sum::<usize>();
        if reach > 0 {
            score += (4.0 * reach as f64).min(24.0);
            reasons.push(format!("{reach} failing objects point at it"));
        }
        let dependents = transitive_dependents(&reverse, subject)
            .into_iter()
            .filter(|d| failing.contains(d))
            .count();
        if dependents > 0 {
            score += (2.0 * dependents as f64).min(10.0);
            reasons.push(format!("{dependents} failing workloads depend on it"));
        }
        let neighbours = map
            .depends_on(subject)
            .into_iter()
            .chain(reverse.get(subject).into_iter().flatten())
            .filter(|n| *n != subject && failing.contains(*n))
            .collect::<BTreeSet<_>>()
            .len();
        if neighbours > 0 {
            score += (3.0 * neighbours as f64).min(9.0);
            reasons.push(format!(
                "{neighbours} failing workloads call it or are called by it"
            ));
        }
        let since = ix.iter().filter_map(|i| hits[*i].since).min();
        let change = since.and_then(|t| {
            changes
                .iter()
                .filter(|c| {
                    (c.subject == *subject || top.via.first() == Some(&c.subject))
                        && c.at <= t + 600
                        && c.at >= t - CHANGE_WINDOW
                })
                .max_by_key(|c| c.at)
                .cloned()
        });
        if let Some(c) = &change {
            score += 10.0;
            reasons.push(format!("changed shortly before the onset: {}", c.message));
        }
        if let Some(t) = since {
            if latest > earliest {
                score += 6.0 * (latest - t) as f64 / (latest - earliest) as f64;
            } else {
                score += 6.0;
            }
        }
        if symptom.favours(top.kind) {
            score += 12.0;
            reasons.push(format!("the symptom points at {}", top.kind));
        }
        if symptom.mentions.contains(subject)
            || top.via.iter().any(|v| symptom.mentions.contains(v))
        {
            score += 8.0;
            reasons.push("the symptom names it".to_string());
        } else if mentioned_upstream.contains(subject) {
            score += 5.0;
            reasons.push("it is upstream of what the symptom names".to_string());
        }
        // Nothing failing is connected to it: it explains nothing that shows.
        let connected = reach > 0
            || dependents > 0
            || neighbours > 0
            || top
                .via
                .iter()
                .chain(&top.blames)
                .any(|o| failing.contains(o))
            || rel
                .from(subject)
                .iter()
                .map(|r| &r.to)
                .chain(rel.to(subject).iter().map(|r| &r.from))
                .any(|o| **o != *subject && failing.contains(&**o));
        // Scaled to 0 on purpose is no fault: only failing callers make it one.
        if top.kind == "ScaledToZero" && !connected {
            continue;
        }
        // Down and current: an entry point or a leaf backend with nothing serving is the
        // answer even when nothing else shows it.
        // Degraded now (replicas missing) by a critical failure of its own: it explains
        // itself, whether or not anything else shows it.
        let degraded = top.severity == Severity::Critical
            && ix
                .iter()
                .any(|i| hits[*i].kind == "ReplicasUnavailable" && hits[*i].resolved.is_none());
        if down {
            score += DOWN;
            reasons.push("none of its replicas is ready".to_string());
        } else if !connected && !degraded {
            score -= ISOLATED;
            reasons.push("nothing failing is connected to it".to_string());
        }
        let blames_failing = top
            .blames
            .iter()
            .any(|b| failing.contains(&resolve(rel, &failing, b)));
        if blames_failing {
            score -= 20.0;
            reasons.push("its own evidence points elsewhere".to_string());
        }
        out.push(Candidate {
            subject: subject.clone(),
            category: top.kind,
            score: (score.clamp(0.0, 100.0) * 10.0).round() / 10.0,
            since,
            hits: ix.clone(),
            reasons,
            change,
        });
    }
    out.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.subject.cmp(&b.subject)));
    // Nothing strong enough and nothing critical: the warning-level finding that fits the
    // symptom, alone, is the answer.
    let critical = hits
        .iter()
        .any(|h| h.severity == Severity::Critical && h.resolved.is_none());
    if !critical && out.first().is_some_and(|c| c.score < MIN_SCORE) {
        let fits = out
            .iter()
            .find(|c| c.score >= PROMOTED && symptom.favours(c.category))
            .cloned();
        if let Some(mut c) = fits {
            c.reasons
                .push("the only finding that fits the symptom, though weak".to_string());
            return vec![c];
        }
    }
    out.retain(|c| c.score >= MIN_SCORE);
    out
}

/// How many distinct objects blame `who`, following accusations transitively.
fn transitive(accusers: &BTreeMap<ObjectRef, BTreeSet<ObjectRef>>, who: &ObjectRef) -> usize {
    let mut seen = BTreeSet::new();
    let mut queue = VecDeque::from([who.clone()]);
    while let Some(cur) = queue.pop_front() {
        for a in accusers.get(&cur).into_iter().flatten() {
            if a != who && seen.insert(a.clone()) {
                queue.push_back(a.clone());
            }
        }
    }
    seen.len()
}

fn transitive_dependents(
    reverse: &BTreeMap<ObjectRef, Vec<ObjectRef>>,
    w: &ObjectRef,
) -> BTreeSet<ObjectRef> {
    let mut seen = BTreeSet::new();
    let mut queue = VecDeque::from([w.clone()]);
    while let Some(cur) = queue.pop_front() {
        if seen.len() > 200 {
            break;
        }
        for d in reverse.get(&cur).into_iter().flatten() {
            if d != w && seen.insert(d.clone()) {
                queue.push_back(d.clone());
            }
        }
    }
    seen
}

fn upstream_of(map: &intel_engine::ServiceMap, w: &ObjectRef) -> BTreeSet<ObjectRef> {
    let mut seen = BTreeSet::new();
    let mut queue = VecDeque::from([w.clone()]);
    while let Some(cur) = queue.pop_front() {
        if seen.len() > 200 {
            break;
        }
        for d in map.depends_on(&cur) {
            if d != w && seen.insert(d.clone()) {
                queue.push_back(d.clone());
            }
        }
    }
    seen
}
