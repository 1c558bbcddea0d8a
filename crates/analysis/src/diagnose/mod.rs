//! `diagnose_cluster_issue`: from a symptom in plain words to the root cause, the chain,
//! the fix and the cost.
//!
//! Pipeline per cluster: relations and service map (engine) → detectors (findings with
//! evidence) → ranking of root causes (`rank`) → a causality chain per root (`chain`) →
//! remediations (`remedy`) → impact. Several clusters: each is diagnosed alone, then
//! merged, and the report says where the problem exists and what differs where it does
//! not.

mod chain;
pub(crate) mod impact;
mod rank;
pub(crate) mod remedy;
pub mod symptom;

use std::collections::BTreeMap;

use serde_json::json;

use super::detect::{self, Ctx, Detected, fmt_ts, human_duration, parse_ts};
use super::report::*;
use intel_engine::{ObjectRef, Relations};
use intel_model::{Fleet, Snapshot};

/// What the user asked.
#[derive(Debug, Clone, Default)]
pub struct Request {
    pub symptom: String,
    /// Namespaces to look at; empty means all.
    pub namespaces: Vec<String>,
    /// Only evidence newer than this long before capture (`2h`, `30m`).
    pub since: Option<String>,
}

/// One cluster's diagnosis before merging.
struct ClusterResult {
    name: String,
    findings: Vec<Finding>,
    roots: Vec<(RootCause, Chain, Vec<Recommendation>)>,
    impact: Impact,
    limitations: Vec<String>,
    summary: String,
    /// The symptom as read against this cluster (its workload names).
    symptom: symptom::Symptom,
}

/// One cluster's evidence, gathered once: relations (with the service map) and what the
/// detectors found. Other analyses (explain) reuse it instead of detecting again.
pub struct Prepared<'a> {
    pub name: String,
    pub snap: &'a Snapshot,
    pub rel: Relations,
    pub hits: Vec<detect::Hit>,
    pub changes: Vec<detect::Change>,
    /// Log signatures per workload, below the detectors' thresholds too (the timeline
    /// shows them).
    pub logs: detect::LogStats,
    pub limitations: Vec<String>,
    /// The snapshot's "now": its capture time, epoch seconds.
    pub now: i64,
}

/// Gathers every cluster's evidence for a request (its namespaces and `since` window).
pub fn prepare<'a>(fleet: &'a Fleet, req: &Request) -> Vec<Prepared<'a>> {
    fleet
        .clusters
        .iter()
        .map(|(name, snap)| {
            // The Service addresses in the logs, the usage series and the pass over the
            // log lines need no relations: built beside them, on the other core; the
            // lines are read in pieces, and this core takes its share once the
            // relations are built.
            let lines = detect::LogWork::new(snap, &req.namespaces);
            let (rel, usage) = std::thread::scope(|s| {
                // The Service addresses in the logs first: the service map waits for them.
                let (addresses_tx, addresses) = std::sync::mpsc::channel();
                let lines = &lines;
                let beside = s.spawn(move || {
                    let found = intel_timing::phase("evidence: log addresses", || {
                        intel_engine::LogAddresses::scan(snap)
                    });
                    // The relations may have stopped (a panic): they are joined below.
                    let _ = addresses_tx.send(found);
                    let usage = intel_timing::phase("evidence: usage series", || snap.usage());
                    intel_timing::phase("evidence: log lines (beside)", || lines.help());
                    usage
                });
                let rel = intel_timing::phase("relations and service map", || {
                    Relations::build_with(snap, || addresses.recv().ok())
                });
                // Done with the relations: this core takes its share of the lines.
                intel_timing::phase("evidence: log lines (after relations)", || lines.help());
                let usage = beside
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
                (rel, usage)
            });
            let scan = lines.finish();
            let now = parse_ts(&snap.manifest.captured_at).unwrap_or(0);
            let not_before = req
                .since
                .as_deref()
                .and_then(since_seconds)
                .map(|s| now - s);
            let ctx = Ctx::with_usage(snap, &rel, usage, req.namespaces.clone(), not_before);
            let Detected {
                hits,
                changes,
                logs,
            } = detect::detect_all_scanned(&ctx, Some(scan));
            let limitations = limitations(snap, &ctx);
            Prepared {
                name: name.clone(),
                snap,
                rel,
                hits,
                changes,
                logs,
                limitations,
                now,
            }
        })
        .collect()
}

pub fn diagnose(fleet: &Fleet, req: &Request) -> Report {
    diagnose_prepared(fleet, req, &prepare(fleet, req))
}

/// [`diagnose`] over evidence already gathered by [`prepare`].
pub fn diagnose_prepared(fleet: &Fleet, req: &Request, prepared: &[Prepared]) -> Report {
    let results = intel_timing::phase("diagnose: rank, chains, remedies", || {
        prepared.iter().map(|p| diagnose_cluster(p, req)).collect()
    });
    merge(fleet, req, results)
}

fn since_seconds(text: &str) -> Option<i64> {
    intel_model::duration::parse_duration(text)
        .ok()
        .map(|d| d.as_secs() as i64)
}

fn diagnose_cluster(p: &Prepared, req: &Request) -> ClusterResult {
    let (name, snap, rel, now) = (p.name.as_str(), p.snap, &p.rel, p.now);
    let (hits, changes) = (&p.hits, &p.changes);
    let sym = symptom::Symptom::parse(&req.symptom, rel);
    let candidates = rank::rank(hits, changes, rel, &sym);
    let graph = chain::Graph::build(hits, rel);

    let mut findings: Vec<Finding> = hits
        .iter()
        .enumerate()
        .map(|(i, h)| Finding {
            id: format!("F{}", i + 1),
            kind: h.kind.to_string(),
            severity: h.severity,
            subject: Subject::new(name, &h.subject),
            since: h.since.map(fmt_ts),
            message: h.message.clone(),
            evidence: h.evidence.clone(),
            resolved: h.resolved.as_ref().map(|r| Resolved {
                at: r.at.map(fmt_ts),
                why: r.why.clone(),
                was: r.was,
            }),
        })
        .collect();
    if !req.namespaces.is_empty() {
        findings.retain(|f| {
            f.subject.namespace.is_empty() || req.namespaces.contains(&f.subject.namespace)
        });
    }
    let finding_of = |o: &ObjectRef| -> Option<String> {
        hits.iter()
            .position(|h| h.subject == *o)
            .map(|i| format!("F{}", i + 1))
    };

    let mut roots = Vec::new();
    for (rank_i, c) in candidates.iter().take(5).enumerate() {
        let best = c
            .hits
            .iter()
            .copied()
            .max_by(|a, b| {
                hits[*a]
                    .cause
                    .total_cmp(&hits[*b].cause)
                    .then(hits[*b].kind.cmp(hits[*a].kind))
            })
            .unwrap_or(c.hits[0]);
        let mut subject = c.subject.clone();
        let mut category = c.category.to_string();
        let mut via: Vec<ObjectRef> = hits[best].via.clone();
        // A crash that began right after an edit to a ConfigMap the workload uses: the
        // edit is the root, the workload the first link.
        if let Some(ch) = c.change.as_ref().filter(|ch| ch.kind == "config-edit") {
            if let Some(cfg) = &ch.via {
                if matches!(
                    c.category,
                    "CrashLoopBackOff" | "ContainerFailed" | "Restarts" | "Panics"
                ) {
                    via.insert(0, subject.clone());
                    subject = cfg.clone();
                    category = "ConfigChange".into();
                }
            }
        }
        let root_since = match (c.since, c.change.as_ref().map(|ch| ch.at)) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        // Extra load travels with the requests: the chain of a surge first follows the
        // workloads whose load it raised, then what their saturation did.
        let mut chain_via = via.clone();
        if category == "TrafficSurge" {
            chain_via.extend(chain::load_path(&subject, hits));
        }
        let links = graph.chain(&subject, &chain_via, root_since, &sym.mentions);
        let chain = Chain {
            links: links
                .iter()
                .map(|l| ChainLink {
                    subject: Subject::new(name, &l.object),
                    finding: finding_of(&l.object),
                    reason: l.reason.clone(),
                    evidence: l.evidence.clone(),
                    from: l.from,
                })
                .collect(),
        };
        let workload = via
            .iter()
            .find(|v| {
                !matches!(
                    v.kind.as_str(),
                    "Pod" | "ReplicaSet" | "Node" | "Job" | "Service"
                )
            })
            .or(Some(&c.subject))
            .cloned();
        let facts = remedy::Facts::new(snap, rel, hits, &c.hits);
        let recs = remedy::remedies(
            &category,
            &subject,
            workload.as_ref(),
            c.change.as_ref(),
            &facts,
        )
        .into_iter()
        .map(|r| (r, rank_i + 1))
        .collect::<Vec<_>>();
        let mut reasons = c.reasons.clone();
        if let Some(t) = c.since {
            reasons.push(format!(
                "onset {} ({} before capture)",
                fmt_ts(t),
                human_duration(now - t)
            ));
        }
        roots.push((
            RootCause {
                rank: rank_i + 1,
                subject: Subject::new(name, &subject),
                category,
                score: c.score,
                chain: 0,
                findings: c.hits.iter().map(|i| format!("F{}", i + 1)).collect(),
                reasons,
            },
            chain,
            recs.into_iter()
                .map(|(r, addresses)| Recommendation {
                    rank: 0,
                    title: r.title,
                    why: r.why,
                    risk: r.risk.to_string(),
                    horizon: r.horizon.to_string(),
                    expected_effect: r.effect,
                    steps: r.steps,
                    verify: r.verify,
                    rollback: r.rollback,
                    addresses: Some(addresses),
                })
                .collect(),
        ));
    }
    let impact = impact::impact(snap, rel, name, hits, roots.first().map(|r| &r.1));
    let limitations = p.limitations.clone();
    let summary = summarize(&roots, hits, &candidates, &impact, now, changes);
    ClusterResult {
        name: name.to_string(),
        findings,
        roots,
        impact,
        limitations,
        summary,
        symptom: sym,
    }
}

fn limitations(snap: &Snapshot, ctx: &Ctx) -> Vec<String> {
    let mut out = source_limitations(snap);
    let name = snap.cluster();
    if snap.logs.is_empty() {
        out.push(format!("{name}: no container logs: timeouts, errors and dependencies seen only in logs are invisible"));
    }
    if snap.metrics.is_empty() && snap.prometheus.is_empty() {
        out.push(format!(
            "{name}: no metrics: CPU throttling, memory growth and saturation cannot be measured"
        ));
    }
    if snap.items("", "events").is_empty() {
        out.push(format!("{name}: no events (or none kept): probe failures, evictions and scheduling failures are seen only through status"));
    }
    for (collector, e) in snap.manifest.errors() {
        out.push(format!(
            "{name}: {collector} could not read {}: {}",
            e.target,
            detect::clip(&e.message, 120)
        ));
    }
    if !ctx.namespaces.is_empty() {
        out.push(format!(
            "only namespaces {} were examined; causes elsewhere are not seen",
            ctx.namespaces.join(", ")
        ));
    }
    out.truncate(20);
    out
}

fn summarize(
    roots: &[(RootCause, Chain, Vec<Recommendation>)],
    hits: &[detect::Hit],
    candidates: &[rank::Candidate],
    impact: &Impact,
    now: i64,
    _changes: &[detect::Change],
) -> String {
    let Some((root, chain, recs)) = roots.first() else {
        let warnings = hits
            .iter()
            .filter(|h| h.severity >= Severity::Warning)
            .count();
        return if warnings == 0 {
            "No problem found: workloads are running and ready, and events, logs and metrics show nothing abnormal.".to_string()
        } else {
            format!(
                "No root cause stands out: {warnings} minor findings, none strong enough to explain the symptom (see findings)."
            )
        };
    };
    let cand = &candidates[0];
    let best = cand
        .hits
        .iter()
        .map(|i| &hits[*i])
        .max_by(|a, b| a.cause.total_cmp(&b.cause).then(b.kind.cmp(a.kind)));
    let mechanism = best.map(|h| h.message.clone()).unwrap_or_default();
    let when = cand
        .since
        .map(|t| {
            format!(
                " since {} ({} before capture)",
                fmt_ts(t),
                human_duration(now - t)
            )
        })
        .unwrap_or_default();
    let change = cand
        .change
        .as_ref()
        .map(|c| format!(", right after {}", c.message))
        .unwrap_or_default();
    let names = |branch: bool| -> Vec<String> {
        chain
            .links
            .iter()
            .skip(1)
            .filter(|l| l.from.is_some() == branch)
            .filter(|l| !matches!(l.subject.kind.as_str(), "Pod" | "ReplicaSet"))
            .map(|l| l.subject.name.clone())
            .collect()
    };
    let (path, branches) = (names(false), names(true));
    let blast = match (path.is_empty(), branches.is_empty()) {
        (true, _) => String::new(),
        (false, true) => format!(" It propagates through {}.", path.join(" → ")),
        (false, false) => format!(
            " It propagates through {}, and also reaches {}.",
            path.join(" → "),
            branches.join(", ")
        ),
    };
    let affected = if impact.services.is_empty() {
        String::new()
    } else {
        format!(" {} services affected.", impact.services.len())
    };
    let fix = recs
        .first()
        .map(|r| format!(" Fix: {}.", r.title))
        .unwrap_or_default();
    format!(
        "Root cause: {} ({}){when}{change}: {}.{blast}{affected}{fix}",
        root.subject.label(),
        root.category,
        detect::clip(&mechanism, 220)
    )
}

fn merge(fleet: &Fleet, req: &Request, results: Vec<ClusterResult>) -> Report {
    let clusters: Vec<ClusterData> = fleet
        .clusters
        .values()
        .map(|s| ClusterData::of(s))
        .collect();
    let sym_classes = results
        .first()
        .map(|r| r.symptom.labels())
        .unwrap_or_else(|| vec!["triage".into()]);
    let mentions: Vec<Subject> = results
        .iter()
        .flat_map(|r| r.symptom.mentions.iter().map(|m| Subject::new(&r.name, m)))
        .collect();
    let mut findings = Vec::new();
    let mut all_roots = Vec::new();
    let mut impact = Impact::default();
    let mut limitations = Vec::new();
    let mut summaries = Vec::new();
    for r in results {
        findings.extend(r.findings);
        for root in r.roots {
            all_roots.push(root);
        }
        impact.services.extend(r.impact.services);
        impact.entry_points.extend(r.impact.entry_points);
        if r.impact.business.is_some() {
            impact.business = r.impact.business;
        }
        if impact.note.is_empty() {
            impact.note = r.impact.note;
        }
        limitations.extend(r.limitations);
        summaries.push((r.name, r.summary));
    }
    findings.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then(a.since.cmp(&b.since))
            .then(a.subject.cmp(&b.subject))
            .then(a.kind.cmp(&b.kind))
    });
    // Renumber findings, and references to them.
    let mut ids = BTreeMap::new();
    for (i, f) in findings.iter_mut().enumerate() {
        ids.insert(
            (f.subject.cluster.clone(), f.id.clone()),
            format!("F{}", i + 1),
        );
        f.id = format!("F{}", i + 1);
    }
    all_roots.sort_by(|a, b| {
        b.0.score
            .total_cmp(&a.0.score)
            .then(a.0.subject.cmp(&b.0.subject))
    });
    let mut root_causes = Vec::new();
    let mut chains = Vec::new();
    let mut recommendations: Vec<Recommendation> = Vec::new();
    for (i, (mut rc, mut chain, recs)) in all_roots.into_iter().take(5).enumerate() {
        let cluster = rc.subject.cluster.clone();
        rc.rank = i + 1;
        rc.chain = chains.len();
        rc.findings = rc
            .findings
            .iter()
            .filter_map(|f| ids.get(&(cluster.clone(), f.clone())).cloned())
            .collect();
        for l in &mut chain.links {
            l.finding = l
                .finding
                .as_ref()
                .and_then(|f| ids.get(&(cluster.clone(), f.clone())).cloned());
        }
        for mut r in recs {
            r.addresses = Some(i + 1);
            recommendations.push(r);
        }
        chains.push(chain);
        root_causes.push(rc);
    }
    // Ranked by the root cause they address, immediate before long-term, keeping each
    // root's own order (most likely to succeed first).
    recommendations.sort_by_key(|r| (r.addresses, r.horizon != "immediate"));
    remedy::values::seal(&mut recommendations);
    for (i, r) in recommendations.iter_mut().enumerate() {
        r.rank = i + 1;
    }
    impact.services.sort_by(|a, b| a.subject.cmp(&b.subject));
    impact.services.dedup();
    impact.entry_points.sort();
    impact.entry_points.dedup();
    let summary = if summaries.len() == 1 {
        summaries.pop().map(|s| s.1).unwrap_or_default()
    } else {
        let with: Vec<&str> = root_causes
            .iter()
            .map(|r| r.subject.cluster.as_str())
            .collect();
        let (hit, clean): (Vec<_>, Vec<_>) = summaries
            .iter()
            .partition(|(n, _)| with.contains(&n.as_str()));
        let mut s = String::new();
        if let Some(top) = root_causes.first() {
            s.push_str(&format!(
                "The problem exists in {}",
                hit.iter()
                    .map(|(n, _)| n.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
            if !clean.is_empty() {
                s.push_str(&format!(
                    " but not in {}",
                    clean
                        .iter()
                        .map(|(n, _)| n.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            s.push_str(&format!(
                ". {}",
                summaries
                    .iter()
                    .find(|(n, _)| *n == top.subject.cluster)
                    .map(|x| x.1.clone())
                    .unwrap_or_default()
            ));
        } else {
            s.push_str("No root cause found in any cluster.");
        }
        s
    };
    let details = json!({
        "comparison": if fleet.clusters.len() > 1 { compare(fleet, &root_causes) } else { serde_json::Value::Null },
    });
    Report {
        analysis: "diagnose_cluster_issue".into(),
        request: RequestEcho {
            text: req.symptom.clone(),
            classes: sym_classes,
            mentions,
            namespaces: req.namespaces.clone(),
            since: req.since.clone(),
        },
        clusters,
        summary,
        root_causes,
        findings,
        chains,
        recommendations,
        impact,
        limitations,
        details,
    }
}

/// What differs between clusters for the workloads the root causes name: images,
/// resources and ConfigMap data keys, side by side.
fn compare(fleet: &Fleet, roots: &[RootCause]) -> serde_json::Value {
    let mut rows = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for rc in roots {
        let key = (
            rc.subject.kind.clone(),
            rc.subject.namespace.clone(),
            rc.subject.name.clone(),
        );
        if !seen.insert(key.clone()) {
            continue;
        }
        let mut per = serde_json::Map::new();
        for (name, snap) in &fleet.clusters {
            let ids = snap.index().by_name(&key.0, &key.1, &key.2);
            let v = ids
                .first()
                .and_then(|id| snap.get(*id))
                .map(|o| {
                    let v = o.value();
                    json!({
                        "images": v.pointer("/spec/template/spec/containers").and_then(|c| c.as_array()).map(|cs| cs.iter().filter_map(|c| c.get("image").cloned()).collect::<Vec<_>>()),
                        "resources": v.pointer("/spec/template/spec/containers").and_then(|c| c.as_array()).map(|cs| cs.iter().filter_map(|c| c.get("resources").cloned()).collect::<Vec<_>>()),
                        "replicas": v.pointer("/spec/replicas").cloned(),
                        "dataKeys": v.get("data").and_then(|d| d.as_object()).map(|d| d.keys().cloned().collect::<Vec<_>>()),
                    })
                })
                .unwrap_or(serde_json::Value::Null);
            per.insert(name.clone(), v);
        }
        let values: Vec<&serde_json::Value> = per.values().collect();
        let differs = values.windows(2).any(|w| w[0] != w[1]);
        rows.push(json!({
            "subject": {"kind": key.0, "namespace": key.1, "name": key.2},
            "differs": differs,
            "clusters": per,
        }));
    }
    serde_json::Value::Array(rows)
}
