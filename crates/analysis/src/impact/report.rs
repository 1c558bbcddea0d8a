//! The impact report: the verdict and the first step that cannot proceed in the summary,
//! a finding per blocked or waiting step, the strategies as ranked recommendations, the
//! blast radius through the service map, and every step in `details.steps`.

use std::collections::BTreeSet;

use serde_json::json;

use intel_engine::{ObjectRef, Relations};
use intel_model::Snapshot;

use super::change::{Change, Edit};
use super::plan::Plan;
use super::project::{Projection, mib};
use super::run::{Run, Verdict};
use super::strategy::Strategy;
use crate::diagnose::impact::{business_of, entry_points, replicas};
use crate::report::{
    AffectedService, ClusterData, Evidence, Finding, Impact, Recommendation, Report, RequestEcho,
    Severity, Subject,
};

/// The change in a line, the way the user gave it.
pub fn describe(change: &Change) -> String {
    let parts: Vec<String> = change
        .edits
        .iter()
        .map(|e| match e {
            Edit::SetImage { target, image } => format!("set image {target}={image}"),
            Edit::Replicas { target, replicas } => format!("replicas {target}={replicas}"),
            Edit::SetResources { target, resources } => {
                let side = |l: &[(String, String)]| {
                    l.iter()
                        .map(|(k, v)| format!("{k}={v}"))
                        .collect::<Vec<_>>()
                        .join(",")
                };
                format!(
                    "set resources {target} requests {} limits {}",
                    side(&resources.requests),
                    side(&resources.limits)
                )
            }
            Edit::ScaleNodes { pool, nodes } => format!("scale node pool {pool} to {nodes}"),
            Edit::Cordon { node } => format!("cordon {node}"),
            Edit::Drain { node } => format!("drain {node}"),
            Edit::Delete { target } => format!("delete {target}"),
            Edit::Patch { target, patch } => format!("patch {target} {patch}"),
            Edit::Apply { object } => format!(
                "apply {} {}",
                object.get("kind").and_then(|k| k.as_str()).unwrap_or("?"),
                object
                    .pointer("/metadata/name")
                    .and_then(|k| k.as_str())
                    .unwrap_or("?")
            ),
        })
        .collect();
    parts.join("; ")
}

#[allow(clippy::too_many_arguments)]
pub fn build(
    snap: &Snapshot,
    rel: &Relations,
    change: &Change,
    plan: &Plan,
    run: &Run,
    projections: &[Projection],
    strategies: Vec<Strategy>,
    mut limitations: Vec<String>,
) -> Report {
    let cluster = snap.cluster();
    let mut findings = Vec::new();
    for s in &run.steps {
        let Some(b) = &s.blocker else { continue };
        let is_hpa = s.action.starts_with("autoscaler at its maximum");
        findings.push(Finding {
            id: String::new(),
            kind: match (is_hpa, b.kind.as_str()) {
                (true, _) => "AutoscalerMaxDoesNotFit".into(),
                (_, "pdb" | "drain") => "DrainBlocked".into(),
                (_, "quota" | "limit-range") => "AdmissionRejected".into(),
                (_, "crash") => "NewVersionCrashes".into(),
                _ => "RolloutBlocked".into(),
            },
            severity: if is_hpa {
                Severity::Warning
            } else {
                Severity::Critical
            },
            subject: Subject::from_label(cluster, &s.subject),
            since: None,
            message: format!("step {}: {} — {} ({})", s.step, s.action, b.message, b.kind),
            evidence: vec![Evidence {
                source: "simulation".into(),
                location: format!("step {} ({})", s.step, b.subject),
                text: b.message.clone(),
                at: None,
            }],
            resolved: None,
        });
    }
    for w in run.workloads.iter().filter(|w| w.waited && w.completed) {
        findings.push(Finding {
            id: String::new(),
            kind: "RolloutWaitsForRoom".into(),
            severity: Severity::Warning,
            subject: Subject::from_label(cluster, &w.subject),
            since: None,
            message: format!(
                "new pods wait for old ones to be removed: the cluster has no room for the surge; {} of {} replicas ready at the worst step",
                w.min_ready, w.desired
            ),
            evidence: Vec::new(),
            resolved: None,
        });
    }
    for p in projections {
        let (Some(n), Some(pct)) = (p.new_memory_p95, p.memory_change_percent) else {
            continue;
        };
        let over = p.memory_limit.is_some_and(|l| n > l);
        findings.push(Finding {
            id: String::new(),
            kind: "MemoryProjection".into(),
            severity: if over {
                Severity::Critical
            } else if p.memory_request.is_some_and(|r| n > r) {
                Severity::Warning
            } else {
                Severity::Info
            },
            subject: Subject::from_label(cluster, &p.workload),
            since: None,
            message: format!(
                "container {}: memory {pct:+}% with the new version ({} vs {}){}",
                p.container,
                mib(n),
                p.current_memory_p95.map_or("?".into(), mib),
                match (p.memory_limit, p.memory_request) {
                    (Some(l), _) if n > l => format!(", over its limit of {}", mib(l)),
                    (_, Some(r)) if n > r => format!(
                        ", over its request of {} (the scheduler packs by requests)",
                        mib(r)
                    ),
                    _ => String::new(),
                }
            ),
            evidence: vec![
                Evidence {
                    source: "metric".into(),
                    location: "new version".into(),
                    text: p.new_basis.clone(),
                    at: None,
                },
                Evidence {
                    source: "metric".into(),
                    location: "current version".into(),
                    text: p.current_basis.clone(),
                    at: None,
                },
            ],
            resolved: None,
        });
    }
    findings.sort_by_key(|f| std::cmp::Reverse(f.severity));
    for (i, f) in findings.iter_mut().enumerate() {
        f.id = format!("F{}", i + 1);
    }

    // Blast radius: the changed workloads, and who calls them.
    let map = rel.service_map();
    let mut affected: BTreeSet<ObjectRef> = BTreeSet::new();
    let mut services = Vec::new();
    let mut dependents: BTreeSet<ObjectRef> = BTreeSet::new();
    for w in &run.workloads {
        let o = ObjectRef::new(&w.kind, &w.namespace, &w.name);
        // Hit by the change: fewer ready than before (or than wanted, if fewer were wanted)
        // at some step, or not done.
        let reduced =
            w.min_ready < w.ready_before.min(w.desired) || !w.completed || w.action == "delete";
        if reduced {
            let state = if (w.min_ready == 0 && w.desired > 0) || w.action == "delete" {
                "down"
            } else if w.min_ready < w.desired || !w.completed {
                "degraded"
            } else {
                "at-risk"
            };
            services.push(AffectedService {
                subject: Subject::from_label(cluster, &w.subject),
                state: state.into(),
                ready_replicas: w.min_ready as i64,
                replicas: if w.action == "delete" {
                    w.min_ready as i64
                } else {
                    w.desired as i64
                },
                error_rate: None,
            });
            for d in map.dependents_of(&o) {
                dependents.insert(d.clone());
            }
            affected.insert(o);
        }
    }
    for d in &dependents {
        if affected.contains(d) {
            continue;
        }
        let (ready, want) = replicas(snap, d);
        services.push(AffectedService {
            subject: Subject::new(cluster, d),
            state: "at-risk".into(),
            ready_replicas: ready,
            replicas: want,
            error_rate: None,
        });
    }
    let mut reach = affected.clone();
    reach.extend(dependents.iter().cloned());
    let (business, note) = if affected.is_empty() {
        (
            None,
            "No workload has fewer ready replicas than before at any simulated step.".to_string(),
        )
    } else {
        business_of(snap, rel, &affected)
    };
    let impact = Impact {
        services,
        entry_points: entry_points(snap, rel, &reach),
        business,
        note,
    };

    let mut recommendations: Vec<Recommendation> = strategies
        .iter()
        .enumerate()
        .map(|(i, s)| Recommendation {
            rank: i + 1,
            title: s.title.clone(),
            why: s.why.clone(),
            risk: s.risk.clone(),
            horizon: "immediate".into(),
            expected_effect: format!("simulated: {} ({})", s.verdict.as_str(), s.outcome),
            steps: s.commands.clone(),
            verify: s.verify.clone(),
            rollback: s.rollback.clone(),
            addresses: None,
        })
        .collect();
    crate::diagnose::remedy::values::seal(&mut recommendations);

    limitations.push("New pods count as ready once placed: readiness probes, image pulls and start-up time are not simulated (a measured memory over the limit is).".into());
    if !plan.notes.is_empty() {
        limitations.extend(plan.notes.iter().cloned());
    }
    limitations.extend(crate::report::source_limitations(snap));
    let summary = summary(run, &strategies, &dependents, cluster);
    let mentions: Vec<Subject> = run
        .workloads
        .iter()
        .map(|w| Subject::from_label(cluster, &w.subject))
        .collect();
    let mut namespaces: Vec<String> = run.workloads.iter().map(|w| w.namespace.clone()).collect();
    namespaces.sort();
    namespaces.dedup();
    Report {
        analysis: "analyze_deployment_impact".into(),
        request: RequestEcho {
            text: describe(change),
            classes: vec!["what-if".into()],
            mentions,
            namespaces,
            since: None,
        },
        clusters: vec![ClusterData::of(snap)],
        summary,
        root_causes: Vec::new(),
        findings,
        chains: Vec::new(),
        recommendations,
        impact,
        limitations,
        details: json!({
            "verdict": run.verdict,
            "change": change.edits,
            "steps": run.steps,
            "workloads": run.workloads,
            "nodeBlockers": run.node_blockers,
            "projections": projections,
            "strategies": strategies,
        }),
    }
}

fn summary(
    run: &Run,
    strategies: &[Strategy],
    dependents: &BTreeSet<ObjectRef>,
    _cluster: &str,
) -> String {
    let mut s = match (run.verdict, run.first_blocked()) {
        (Verdict::Fails, Some(step)) => {
            let b = step.blocker.as_ref().expect("a blocked step has a blocker");
            let progress = if step.desired > 0 {
                format!(
                    " with {} of {} new replicas ready ({}% of the rollout)",
                    step.new_ready,
                    step.desired,
                    step.new_ready * 100 / step.desired
                )
            } else {
                String::new()
            };
            format!(
                "Fails: {} cannot proceed at step {}{progress}: {} [{}].",
                step.subject, step.step, b.message, b.kind
            )
        }
        (Verdict::Fails, None) => "Fails: the change cannot complete.".into(),
        (Verdict::Risky, _) => {
            let w: Vec<String> = run
                .workloads
                .iter()
                .filter(|w| {
                    w.waited || w.outage() || w.autoscaler.as_ref().is_some_and(|a| a.blocker.is_some())
                })
                .map(|w| match &w.autoscaler {
                    _ if w.outage() => format!(
                        "{} completes, but no replica is ready at some step (all {} were before): an outage while it rolls",
                        w.subject, w.ready_before
                    ),
                    Some(a) if a.blocker.is_some() => format!(
                        "{} completes, but at its autoscaler's maximum of {} only {} replicas fit",
                        w.subject, a.max_replicas, a.fit
                    ),
                    _ => format!(
                        "{} completes, but new pods wait for old ones to make room ({} of {} ready at the worst step)",
                        w.subject, w.min_ready, w.desired
                    ),
                })
                .collect();
            format!("Risky: {}.", w.join("; "))
        }
        (Verdict::Safe, _) => format!(
            "Safe: every step fits ({} simulated steps; each new pod is placed when it is created).",
            run.steps.len()
        ),
    };
    if !dependents.is_empty() && run.verdict != Verdict::Safe {
        let names: Vec<String> = dependents
            .iter()
            .take(5)
            .map(|d| format!("{}/{}", d.namespace, d.name))
            .collect();
        s.push_str(&format!(
            " {} workload(s) depend on it: {}{}.",
            dependents.len(),
            names.join(", "),
            if dependents.len() > 5 { ", …" } else { "" }
        ));
    }
    if let Some(best) = strategies.iter().find(|s| s.kind != "proceed") {
        s.push_str(&format!(
            " Best simulated strategy: {} ({}).",
            best.title,
            best.verdict.as_str()
        ));
    }
    s
}
