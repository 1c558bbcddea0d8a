//! A runbook per scenario that hurts: how it shows (the alert rules the snapshot has for
//! it, or that it has none), what to do with the exact commands, how to check it worked,
//! and the end state following it reaches — the scenario's own simulation, so the runbook
//! says what was tested, not what is hoped.

use serde::Serialize;
use serde_json::Value;

use intel_model::Snapshot;

use super::rpo::Rpo;
use super::scenario::{Outcome, Scenario};
use crate::diagnose::remedy::values::shell_quote;
use crate::explain::gaps::AlertRules;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Runbook {
    pub scenario: String,
    pub detection: Vec<String>,
    pub actions: Vec<String>,
    pub validation: Vec<String>,
    /// What the simulation reached by the end: replicas back, pods left Pending.
    pub end_state: String,
}

/// Alert names of the snapshot's PrometheusRules.
fn alerts(snap: &Snapshot) -> Vec<String> {
    let mut out = Vec::new();
    for r in snap.items("monitoring.coreos.com", "prometheusrules") {
        let v = r.value();
        for g in v
            .pointer("/spec/groups")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            for rule in g
                .get("rules")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(a) = rule.get("alert").and_then(Value::as_str) {
                    out.push(a.to_string());
                }
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

fn detection(alerts: &[String], wanted: &[&str], what: &str) -> Vec<String> {
    let found: Vec<&String> = alerts
        .iter()
        .filter(|a| wanted.contains(&a.as_str()))
        .collect();
    if found.is_empty() {
        vec![format!(
            "no alert rule in the snapshot watches {what} (none of {}): add one, or this is noticed by users first (explain's alert gaps)",
            wanted.join(", ")
        )]
    } else {
        found.iter().map(|a| format!("alert {a} fires")).collect()
    }
}

/// The end state the simulation reached.
pub fn end_state(o: &Outcome) -> String {
    if let Some(r) = &o.rollback {
        return format!("rollback {}: {}", r.verdict, r.detail);
    }
    let down: Vec<&str> = o
        .losses
        .iter()
        .filter(|l| l.state == "down")
        .map(|l| l.subject.as_str())
        .collect();
    let degraded = o.losses.iter().filter(|l| l.state == "degraded").count();
    let mut s = format!(
        "{} of {} displaced pod(s) placed again; {} Pending",
        o.placed, o.displaced, o.pending_total
    );
    if let Some(p) = &o.primary {
        s.push_str(&format!(
            "; primary {} {} (failover {})",
            p.pod,
            if p.rescheduled {
                "runs again"
            } else {
                "stays Pending"
            },
            p.failover
        ));
    }
    if down.is_empty() && degraded == 0 {
        s.push_str("; every workload back at its replicas");
    } else {
        if !down.is_empty() {
            s.push_str(&format!("; still down: {}", down.join(", ")));
        }
        if degraded > 0 {
            s.push_str(&format!("; {degraded} workload(s) short of replicas"));
        }
    }
    s
}

/// The Velero Schedule (else Backup) protecting it: (`from-schedule`|`from-backup`, name).
fn velero_source(p: &Rpo) -> Option<(&'static str, String)> {
    let name = |s: &str, prefix: &str| {
        s.strip_prefix(prefix)
            .and_then(|x| x.split_whitespace().next())
            .and_then(|x| x.split('/').nth(1))
            .map(str::to_string)
    };
    p.sources
        .iter()
        .find_map(|s| name(s, "Velero Schedule ").map(|n| ("from-schedule", n)))
        .or_else(|| {
            p.sources
                .iter()
                .find_map(|s| name(s, "Velero Backup ").map(|n| ("from-backup", n)))
        })
}

/// Whether an alert names each workload the scenario takes down or degrades (explain's
/// alert gaps, the same test), and how the failing workload's own probes show it.
fn coverage(rules: &AlertRules, o: &Outcome) -> Vec<String> {
    let mut out = Vec::new();
    let hit: Vec<&str> = o
        .losses
        .iter()
        .filter(|l| l.state == "down" || l.state == "degraded")
        .map(|l| l.subject.as_str())
        .take(5)
        .collect();
    if !rules.known() {
        out.push("the snapshot has no PrometheusRule type: whether an alert fires for these workloads cannot be checked here (explain's alert gap no-alert-rules-in-cluster)".into());
    } else {
        for subject in hit {
            let o = crate::report::Subject::from_label("", subject).object();
            match rules.cover(&o) {
                Some(true) => out.push(format!("an alert rule names {subject} or its namespace")),
                _ => out.push(format!("no alert rule names {subject} or its namespace: its failure pages nobody (explain's alert gap no-alert-rule)")),
            }
        }
    }
    if matches!(o.scenario, Scenario::Workload(_)) {
        for r in &o.rto {
            for p in r
                .parts
                .iter()
                .filter(|p| p.part == "detection" || p.part == "traffic-off")
            {
                let basis = p.basis.trim_start_matches("not part of the total: ");
                out.push(format!("{}: {basis}", r.subject));
            }
        }
    }
    out
}

pub fn build(snap: &Snapshot, outcomes: &[Outcome], rpos: &[Rpo]) -> Vec<Runbook> {
    let alerts = alerts(snap);
    let rules = AlertRules::of(snap);
    let mut out = Vec::new();
    for o in outcomes
        .iter()
        .filter(|o| o.verdict != "survives" || !o.losses.is_empty())
    {
        let mut actions = Vec::new();
        let mut validation = Vec::new();
        let node_alerts = ["KubeNodeNotReady", "KubeNodeUnreachable", "NodeNotReady"];
        let det = match &o.scenario {
            Scenario::Node(_) | Scenario::Zone(_) | Scenario::Pool(_) | Scenario::Primary(_) => {
                if let Some(p) = &o.primary {
                    let (ns, pod) = p.pod.split_once('/').unwrap_or_default();
                    actions.push(format!(
                        "kubectl -n {} get pods -o wide --show-labels   # the primary was {pod} ({}); failover {}: {}",
                        shell_quote(ns),
                        p.basis,
                        p.failover,
                        p.failover_basis
                    ));
                    if p.failover == "none" {
                        actions.push(format!("# writes {}", p.writes));
                    }
                }
                actions.push("kubectl get nodes -o wide".into());
                for n in o.nodes_lost.iter().take(20) {
                    let n = shell_quote(n);
                    // A node that is gone keeps its volumes attached until it is marked
                    // out of service (non-graceful node shutdown).
                    actions.push(format!(
                        "kubectl taint nodes {n} node.kubernetes.io/out-of-service=nodeshutdown:NoExecute   # only once the node is confirmed down"
                    ));
                }
                if o.nodes_lost.len() > 20 {
                    actions.push(format!(
                        "# … and the other {} nodes of {}",
                        o.nodes_lost.len() - 20,
                        o.scenario.text()
                    ));
                }
                detection(&alerts, &node_alerts, "node readiness")
            }
            Scenario::Workload(w) | Scenario::Rollback(w) => {
                let (ns, name) = w.split_once('/').unwrap_or(("", w));
                actions.push(format!("kubectl -n {} get pods -o wide", shell_quote(ns)));
                if let Some(c) = o.rollback.as_ref().and_then(|r| r.command.clone()) {
                    actions.push(c);
                }
                let _ = name;
                detection(
                    &alerts,
                    &[
                        "KubePodCrashLooping",
                        "KubeDeploymentReplicasMismatch",
                        "KubeStatefulSetReplicasMismatch",
                    ],
                    "the workload's replicas",
                )
            }
        };
        for p in &o.pending {
            actions.push(format!(
                "kubectl -n {} describe pod {}   # Pending: {}",
                shell_quote(p.pod.split('/').next().unwrap_or_default()),
                shell_quote(p.pod.split('/').nth(1).unwrap_or_default()),
                p.message
            ));
        }
        // Data in a lost zone: restore from the last backup when there is one.
        for r in o.rto.iter().filter(|r| {
            r.unbounded
                .as_deref()
                .is_some_and(|u| u.contains("volume in zone"))
        }) {
            match rpos.iter().find(|p| p.subject == r.subject) {
                Some(p) if velero_source(p).is_some() => {
                    let (flag, name) = velero_source(p).unwrap_or_default();
                    actions.push(format!(
                        "velero restore create --{flag} {}   # {}: {}",
                        shell_quote(&name),
                        r.subject,
                        p.basis
                    ));
                }
                Some(p) => actions.push(format!("# {}: restore from {} ({})", r.subject, p.sources.join(", "), p.basis)),
                None => actions.push(format!("# {}: its volume stays in the lost zone and no backup covers it: wait for the zone", r.subject)),
            }
        }
        for l in o.losses.iter().take(20) {
            let (kind, rest) = l.subject.split_once(' ').unwrap_or(("", &l.subject));
            let (ns, name) = rest.split_once('/').unwrap_or(("", rest));
            validation.push(format!(
                "kubectl -n {} rollout status {}/{} --timeout=10m",
                shell_quote(ns),
                kind.to_ascii_lowercase(),
                shell_quote(name)
            ));
        }
        validation.push("kubectl get pods -A --field-selector=status.phase=Pending".into());
        // Without the PrometheusRule type, no rule can be named either way: say that.
        let actions: Vec<String> = actions
            .iter()
            .map(|a| crate::diagnose::remedy::values::one_line(a))
            .collect();
        let validation: Vec<String> = validation
            .iter()
            .map(|a| crate::diagnose::remedy::values::one_line(a))
            .collect();
        let mut det = if rules.known() { det } else { Vec::new() };
        det.extend(coverage(&rules, o));
        out.push(Runbook {
            scenario: o.scenario.text(),
            detection: det,
            actions,
            validation,
            end_state: end_state(o),
        });
    }
    out
}
