//! The disaster-recovery report: a finding per single point of failure and per scenario
//! that loses replicas, the fixes with their exact commands, the blast radius of the
//! worst scenario, and every scenario's simulation in `details.scenarios`.

use std::collections::BTreeSet;

use serde_json::json;

use intel_engine::{ObjectRef, Relations};
use intel_model::Snapshot;

use super::scenario::Outcome;
use super::spof::Spof;
use crate::diagnose::impact::{business_of, entry_points};
use crate::diagnose::remedy::values::shell_quote;
use crate::report::{
    AffectedService, ClusterData, Evidence, Finding, Impact, Recommendation, Report, RequestEcho,
    Severity, Subject,
};

fn selector_json(s: &Spof) -> serde_json::Value {
    json!({"matchLabels": s.labels})
}

/// The fix of a single point of failure, with the values the snapshot knows.
fn fix(s: &Spof) -> Option<Recommendation> {
    let (kind, ns, name) = &s.kind_name;
    let k = kind.to_ascii_lowercase();
    let kubectl = format!("kubectl -n {}", shell_quote(ns));
    let target = format!("{k}/{}", shell_quote(name));
    let spread = |key: &str| {
        json!({"spec": {"template": {"spec": {"topologySpreadConstraints": [
            {"maxSkew": 1, "topologyKey": key, "whenUnsatisfiable": "ScheduleAnyway", "labelSelector": selector_json(s)}
        ]}}}})
    };
    let patch = |p: serde_json::Value| {
        format!(
            "{kubectl} patch {k} {} --type merge -p {}",
            shell_quote(name),
            shell_quote(&p.to_string())
        )
    };
    let (title, why, steps, verify, rollback): (
        String,
        String,
        Vec<String>,
        Vec<String>,
        Vec<String>,
    ) = match s.kind.as_str() {
        "single-replica" | "lone-dns" | "lone-ingress-controller" => (
            format!("Run {} with 2 replicas on different nodes", s.subject),
            s.evidence.clone(),
            vec![
                format!("{kubectl} scale {target} --replicas=2"),
                patch(spread("kubernetes.io/hostname")),
            ],
            vec![format!(
                "{kubectl} get pods -l {} -o wide   # two pods, two nodes",
                shell_quote(&label_text(s))
            )],
            vec![format!(
                "{kubectl} scale {target} --replicas={}",
                s.desired.max(1)
            )],
        ),
        "datastore-without-replicas" => (
            format!(
                "Replicate {} (a replicated setup, not more copies of one)",
                s.subject
            ),
            format!(
                "{}; scaling the workload alone does not replicate a datastore's data: run it replicated (its operator or chart's replication mode) and keep backups",
                s.evidence
            ),
            Vec::new(),
            Vec::new(),
            Vec::new(),
        ),
        "one-node" | "no-spread" => (
            format!("Spread {} across nodes", s.subject),
            s.evidence.clone(),
            vec![patch(spread("kubernetes.io/hostname"))],
            vec![format!(
                "{kubectl} get pods -l {} -o wide",
                shell_quote(&label_text(s))
            )],
            vec![format!("{kubectl} rollout undo {target}")],
        ),
        "one-zone" => (
            format!("Spread {} across zones", s.subject),
            s.evidence.clone(),
            vec![patch(spread("topology.kubernetes.io/zone"))],
            vec![format!(
                "{kubectl} get pods -l {} -o wide",
                shell_quote(&label_text(s))
            )],
            vec![format!("{kubectl} rollout undo {target}")],
        ),
        "no-pdb" => {
            let pdb = json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
                "metadata": {"name": name, "namespace": ns},
                "spec": {"maxUnavailable": 1, "selector": selector_json(s)}});
            (
                format!(
                    "Add a PodDisruptionBudget for {} (maxUnavailable 1)",
                    s.subject
                ),
                s.evidence.clone(),
                vec![format!(
                    "kubectl apply -f - <<'EOF'\n{}\nEOF",
                    serde_json::to_string_pretty(&pdb).unwrap_or_default()
                )],
                vec![format!("{kubectl} get pdb {}", shell_quote(name))],
                vec![format!("{kubectl} delete pdb {}", shell_quote(name))],
            )
        }
        "fan-in" => (
            format!(
                "Keep {} at 3 or more replicas across zones; callers need timeouts and circuit breakers",
                s.subject
            ),
            s.evidence.clone(),
            vec![
                format!("{kubectl} scale {target} --replicas={}", s.desired.max(3)),
                patch(spread("topology.kubernetes.io/zone")),
            ],
            vec![format!(
                "{kubectl} get pods -l {} -o wide",
                shell_quote(&label_text(s))
            )],
            vec![format!(
                "{kubectl} scale {target} --replicas={}",
                s.desired.max(1)
            )],
        ),
        "external-dependency" => (
            format!("Keep the paths through {} working when it is down", name),
            format!(
                "{}: give {} timeouts and a circuit breaker on it, and a fallback (a queue to retry later, a cached answer or a second provider) so its outage degrades them instead of stopping them",
                s.evidence,
                s.dependents.join(", ")
            ),
            Vec::new(),
            Vec::new(),
            Vec::new(),
        ),
        "zonal-volume" => (
            format!("Keep {}'s data available beyond one zone", s.subject),
            format!(
                "{}: replicate at the application level across zones, or use a storage class that replicates across zones",
                s.evidence
            ),
            Vec::new(),
            Vec::new(),
            Vec::new(),
        ),
        _ => return None,
    };
    Some(Recommendation {
        rank: 0,
        title,
        why,
        risk: "low".into(),
        horizon: "long-term".into(),
        expected_effect: format!(
            "removes the single point of failure {} of {} (no scenario of this plan hits it, so none was simulated again)",
            s.kind, s.subject
        ),
        steps,
        verify,
        rollback,
        addresses: None,
    })
}

fn label_text(s: &Spof) -> String {
    s.labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// What the plan found, for the report.
pub struct Parts<'a> {
    pub spofs: &'a [Spof],
    /// Default scenarios left out, and how to ask for them.
    pub left_out: &'a [String],
    /// The incident the plan starts from, if any.
    pub incident: Option<&'a super::incident::Incident>,
    pub outcomes: &'a [Outcome],
    pub rpos: &'a [super::rpo::Rpo],
    pub improvements: &'a [super::improve::Improvement],
    pub runbooks: &'a [super::runbook::Runbook],
    /// The default scenarios (no `--scenario`).
    pub all: bool,
}

pub fn build(snap: &Snapshot, rel: &Relations, parts: &Parts) -> Report {
    let Parts {
        spofs,
        outcomes,
        rpos,
        improvements,
        runbooks,
        all,
        left_out,
        incident,
    } = *parts;
    let cluster = snap.cluster();
    let mut findings = Vec::new();
    for s in spofs {
        findings.push(Finding {
            id: String::new(),
            kind: "SinglePointOfFailure".into(),
            severity: if s.severity == "critical" {
                Severity::Critical
            } else {
                Severity::Warning
            },
            subject: Subject::from_label(cluster, &s.subject),
            since: None,
            message: format!("{}: {}", s.kind, s.evidence),
            evidence: vec![Evidence {
                source: "spec".into(),
                location: s.kind.clone(),
                text: s.evidence.clone(),
                at: None,
            }],
            resolved: None,
        });
    }
    for o in outcomes.iter().filter(|o| o.verdict != "survives") {
        let worst = o.losses.first();
        findings.push(Finding {
            id: String::new(),
            kind: "FailureScenario".into(),
            severity: if o.verdict == "outage" {
                Severity::Critical
            } else {
                Severity::Warning
            },
            subject: worst.map_or_else(
                || Subject::from_label(cluster, ""),
                |l| Subject::from_label(cluster, &l.subject),
            ),
            since: None,
            message: format!(
                "{}: {} — {} workload(s) lose replicas, {} pod(s) pending{}",
                o.scenario.text(),
                o.verdict,
                o.losses.len(),
                o.pending_total,
                o.pending
                    .first()
                    .map_or(String::new(), |p| format!(" ({})", p.message))
            ),
            evidence: o
                .pending
                .iter()
                .map(|p| Evidence {
                    source: "simulation".into(),
                    location: p.pod.clone(),
                    text: p.message.clone(),
                    at: None,
                })
                .collect(),
            resolved: None,
        });
    }
    for r in rpos.iter().filter(|r| r.rpo_seconds.is_none()) {
        findings.push(Finding {
            id: String::new(),
            kind: "NoBackup".into(),
            severity: Severity::Warning,
            subject: Subject::from_label(cluster, &r.subject),
            since: None,
            message: r.basis.clone(),
            evidence: Vec::new(),
            resolved: None,
        });
    }
    findings.sort_by_key(|f| std::cmp::Reverse(f.severity));
    for (i, f) in findings.iter_mut().enumerate() {
        f.id = format!("F{}", i + 1);
    }
    let mut recommendations: Vec<Recommendation> = Vec::new();
    let mut critical_first: Vec<&Spof> = spofs.iter().collect();
    // The incident's causes first, by rank: their fixes are how it is prevented, the
    // diagnosis' own first of all.
    let cause = |s: &Spof| {
        incident
            .and_then(|i| i.rank_of(&s.subject))
            .unwrap_or(u64::MAX)
    };
    // Then the fixes whose simulation helps most.
    let gain = |s: &Spof| {
        improvements
            .iter()
            .find(|i| i.subject == s.subject && i.removes == s.kind)
            .map_or(0, |i| i.gain)
    };
    critical_first.sort_by_key(|s| {
        (
            cause(s),
            std::cmp::Reverse(gain(s)),
            s.severity != "critical",
            s.dependents.is_empty(),
        )
    });
    for f in incident.map(|i| i.fixes.as_slice()).unwrap_or_default() {
        let mut f = f.clone();
        f.why = format!(
            "from the diagnosis ({}): {}",
            incident.map(|i| i.source.as_str()).unwrap_or_default(),
            f.why
        );
        f.addresses = None;
        recommendations.push(f);
    }
    for s in critical_first {
        if let Some(mut r) = fix(s) {
            if let Some(i) = improvements
                .iter()
                .find(|i| i.subject == s.subject && i.removes == s.kind)
            {
                let effects: Vec<String> = i
                    .effects
                    .iter()
                    .map(|e| format!("{}: {} → {}", e.scenario, e.before, e.after))
                    .collect();
                r.expected_effect = format!("simulated with {}: {}", i.change, effects.join("; "));
            } else if matches!(
                s.kind.as_str(),
                "datastore-without-replicas"
                    | "zonal-volume"
                    | "external-dependency"
                    | "no-pdb"
                    | "pdb-allows-no-disruption"
            ) {
                r.expected_effect = format!(
                    "removes the single point of failure {} of {}; not simulated: the fix is not a placement the scheduler engine can try",
                    s.kind, s.subject
                );
            }
            if !recommendations.iter().any(|x| x.title == r.title) {
                recommendations.push(r);
            }
        }
    }
    for (i, r) in recommendations.iter_mut().enumerate() {
        r.rank = i + 1;
    }
    crate::diagnose::remedy::values::seal(&mut recommendations);
    // The worst scenario's blast radius.
    let rank = |v: &str| match v {
        "outage" => 0,
        "degraded" => 1,
        _ => 2,
    };
    let worst = outcomes.iter().min_by(|a, b| {
        rank(&a.verdict)
            .cmp(&rank(&b.verdict))
            .then_with(|| b.losses.len().cmp(&a.losses.len()))
    });
    let mut impact = Impact {
        note: "No scenario takes a workload's replicas away.".into(),
        ..Impact::default()
    };
    if let Some(o) = worst.filter(|o| !o.losses.is_empty()) {
        let mut affected: BTreeSet<ObjectRef> = BTreeSet::new();
        for l in &o.losses {
            let s = Subject::from_label(cluster, &l.subject);
            affected.insert(s.object());
            impact.services.push(AffectedService {
                subject: s,
                state: match l.state.as_str() {
                    "down" => "down",
                    "degraded" => "degraded",
                    _ => "at-risk",
                }
                .into(),
                ready_replicas: l.after as i64,
                replicas: l.before as i64,
                error_rate: None,
            });
        }
        impact.entry_points = entry_points(snap, rel, &affected);
        let (business, note) = business_of(snap, rel, &affected);
        impact.business = business;
        impact.note = format!("The worst scenario, {}. {note}", o.scenario.text());
    }
    let critical = spofs.iter().filter(|s| s.severity == "critical").count();
    let outages: Vec<String> = outcomes
        .iter()
        .filter(|o| o.verdict == "outage")
        .map(|o| o.scenario.text())
        .collect();
    let mut summary = format!(
        "{} single point(s) of failure ({critical} critical) in {} workload(s); {} scenario(s) simulated: ",
        spofs.len(),
        spofs
            .iter()
            .map(|s| &s.subject)
            .collect::<BTreeSet<_>>()
            .len(),
        outcomes.len()
    );
    if outages.is_empty() {
        summary
            .push_str("none leaves a workload with no replica running once pods are placed again.");
    } else {
        summary.push_str(&format!(
            "{} leave(s) a workload with none running ({}{}).",
            outages.len(),
            outages
                .iter()
                .take(4)
                .cloned()
                .collect::<Vec<_>>()
                .join(", "),
            if outages.len() > 4 { ", …" } else { "" }
        ));
    }
    if let Some(r) = recommendations.first() {
        summary.push_str(&format!(" First fix: {}.", r.title));
    }
    if let Some(i) = incident {
        let causes: Vec<String> = i
            .causes
            .iter()
            .map(|c| format!("{} in {}", c.category, c.subject))
            .collect();
        summary = format!(
            "Preventing the incident of {} ({}): {summary}",
            i.source,
            causes.join("; ")
        );
    }
    let mut limitations = vec![
        "Fixes are re-simulated against the node, zone and pool scenarios that hit them (not against a budget, a datastore's replication or a volume).".to_string(),
        "Replicas count as running once placed again in the losses; the time that takes is each scenario's rto, whose parts not observed in the snapshot count as 0 and say so.".to_string(),
    ];
    limitations.extend(left_out.iter().cloned());
    limitations.extend(crate::report::source_limitations(snap));
    if let Some(i) = incident.filter(|_| all) {
        limitations.push(format!(
            "The incident's causes ({}) are no workload or node of this cluster: every default scenario was simulated instead.",
            i.causes
                .iter()
                .map(|c| c.subject.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let mut details = json!({
        "singlePointsOfFailure": spofs,
        "scenarios": outcomes,
        "rpo": rpos,
        "improvements": improvements,
        "runbooks": runbooks,
    });
    if let (Some(i), Some(d)) = (incident, details.as_object_mut()) {
        d.insert("incident".into(), json!(i));
    }
    Report {
        analysis: "generate_disaster_recovery_plan".into(),
        request: RequestEcho::plain(
            if all {
                "every zone, pool, small cluster's node and most depended-on workload".into()
            } else {
                outcomes
                    .iter()
                    .map(|o| o.scenario.text())
                    .collect::<Vec<_>>()
                    .join(", ")
            },
            "disaster-recovery",
        ),
        clusters: vec![ClusterData::of(snap)],
        summary,
        root_causes: Vec::new(),
        findings,
        chains: Vec::new(),
        recommendations,
        impact,
        limitations,
        details,
    }
}
