//! "Why didn't our alerts catch this?": observability gaps on the components that failed
//! (the root cause's chain first, then every workload with a problem).
//!
//! Per component: no readiness or liveness probe, no resource limits, no
//! PodDisruptionBudget, no SLO annotation, no alerting rule that names it (PrometheusRule
//! objects, when the cluster has the type), and failures that only logs or metrics show
//! while Kubernetes reported the workload healthy (a readiness probe blind to them). Across
//! the chain: dependencies nothing declares (no `intel.kubectl.io/depends-on` annotation, no
//! NetworkPolicy) — edges seen only in configuration or logs, invisible to whoever reads
//! the manifests.

use std::collections::BTreeSet;

use serde::Serialize;

use crate::timeline::Timeline;
use intel_engine::ObjectRef;
use intel_engine::relations::{RelationKind, Relations};
use intel_model::Snapshot;

const SLO: &str = "intel.kubectl.io/slo";
/// Components examined at most.
const MAX_SUBJECTS: usize = 15;

#[derive(Debug, Clone, Serialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "camelCase")]
pub struct Gap {
    /// `high`, `medium`, `low`.
    pub severity: String,
    pub subject: String,
    /// `no-readiness-probe`, `no-liveness-probe`, `no-resource-limits`, `no-pdb`,
    /// `no-slo`, `no-alert-rule`, `no-alert-rules-in-cluster`, `healthy-while-failing`,
    /// `undeclared-dependency`.
    pub gap: String,
    pub detail: String,
    /// What to add.
    pub fix: String,
}

fn containers(v: &serde_json::Value) -> Vec<&serde_json::Value> {
    for p in [
        "/spec/template/spec/containers",
        "/spec/jobTemplate/spec/template/spec/containers",
        "/spec/containers",
    ] {
        if let Some(a) = v.pointer(p).and_then(|c| c.as_array()) {
            return a.iter().collect();
        }
    }
    Vec::new()
}

fn has_annotation(snap: &Snapshot, o: &ObjectRef, key: &str) -> bool {
    snap.index()
        .by_name(&o.kind, &o.namespace, &o.name)
        .first()
        .and_then(|id| snap.get(*id))
        .is_some_and(|obj| {
            obj.value()
                .pointer("/metadata/annotations")
                .and_then(|a| a.get(key))
                .is_some()
        })
}

/// Whether `text` holds `word` delimited by characters that cannot be part of a name.
fn has_token(text: &str, word: &str) -> bool {
    let is_name = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '.';
    text.match_indices(word).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + word.len()..].chars().next();
        !before.is_some_and(is_name) && !after.is_some_and(is_name)
    })
}

/// The snapshot's alerting rules (PrometheusRule objects), to ask whether one names a
/// component. `None` when the snapshot has no PrometheusRule type at all: then nobody can
/// say. Shared with dr-plan's runbooks, which say the same thing about the same workload.
pub struct AlertRules(Option<Vec<String>>);

impl AlertRules {
    pub fn of(snap: &Snapshot) -> AlertRules {
        if snap
            .list("monitoring.coreos.com", "prometheusrules")
            .is_none()
        {
            return AlertRules(None);
        }
        AlertRules(Some(
            snap.items("monitoring.coreos.com", "prometheusrules")
                .iter()
                .map(|r| r.json().to_string())
                .collect(),
        ))
    }

    /// Whether the snapshot lists PrometheusRules at all.
    pub fn known(&self) -> bool {
        self.0.is_some()
    }

    /// Whether some rule names the workload or matches its namespace (`None`: unknown).
    pub fn cover(&self, o: &ObjectRef) -> Option<bool> {
        let rules = self.0.as_ref()?;
        Some(rules.iter().any(|r| {
            has_token(r, &o.name) || r.contains(&format!("namespace=\\\"{}\\\"", o.namespace))
        }))
    }
}

/// Finds the gaps. `failing` are the workloads with problems, the chain's first.
pub fn gaps(
    snap: &Snapshot,
    rel: &Relations,
    timeline: &Timeline,
    chain: &[ObjectRef],
    failing: &[ObjectRef],
) -> Vec<Gap> {
    let mut subjects: Vec<ObjectRef> = Vec::new();
    for o in chain.iter().chain(failing) {
        if matches!(
            o.kind.as_str(),
            "Deployment" | "StatefulSet" | "DaemonSet" | "CronJob"
        ) && !subjects.contains(o)
        {
            subjects.push(o.clone());
        }
    }
    subjects.truncate(MAX_SUBJECTS);
    let rules = AlertRules::of(snap);
    let has_rule_type = rules.known();
    let mut out = Vec::new();
    let mut push = |sev: &str, o: &ObjectRef, gap: &str, detail: String, fix: String| {
        out.push(Gap {
            severity: sev.to_string(),
            subject: format!("{} {}/{}", o.kind, o.namespace, o.name),
            gap: gap.to_string(),
            detail,
            fix,
        });
    };
    for o in &subjects {
        let Some(obj) = snap
            .index()
            .by_name(&o.kind, &o.namespace, &o.name)
            .first()
            .and_then(|id| snap.get(*id))
        else {
            continue;
        };
        let v = obj.value();
        let cs = containers(&v);
        let names = |pred: &dyn Fn(&serde_json::Value) -> bool| -> Vec<String> {
            cs.iter()
                .filter(|c| pred(c))
                .filter_map(|c| c.get("name").and_then(|n| n.as_str()).map(String::from))
                .collect()
        };
        let no_ready = names(&|c| c.get("readinessProbe").is_none());
        if !no_ready.is_empty() && o.kind != "CronJob" {
            push(
                "high",
                o,
                "no-readiness-probe",
                format!(
                    "containers {} have no readiness probe: broken pods keep receiving traffic and nothing flips to NotReady",
                    no_ready.join(", ")
                ),
                format!(
                    "add a readinessProbe that exercises the request path (and its critical dependencies) to {} {}",
                    o.kind, o.name
                ),
            );
        }
        let no_live = names(&|c| c.get("livenessProbe").is_none());
        if !no_live.is_empty() && o.kind != "CronJob" {
            push(
                "medium",
                o,
                "no-liveness-probe",
                format!(
                    "containers {} have no liveness probe: a hung process is never restarted",
                    no_live.join(", ")
                ),
                "add a livenessProbe on a cheap local endpoint (not on dependencies)".into(),
            );
        }
        let no_limits = names(&|c| c.pointer("/resources/limits/memory").is_none());
        if !no_limits.is_empty() {
            push(
                "medium",
                o,
                "no-resource-limits",
                format!(
                    "containers {} have no memory limit: a leak grows until the node evicts its neighbours instead of this container being OOM-killed",
                    no_limits.join(", ")
                ),
                "set resources.limits.memory (and alert on container_memory_working_set_bytes / limit)".into(),
            );
        }
        let replicas = v
            .pointer("/spec/replicas")
            .and_then(|r| r.as_i64())
            .unwrap_or(1);
        let has_pdb = rel
            .from(o)
            .iter()
            .any(|r| r.kind == RelationKind::SelectedBy && r.to.kind == "PodDisruptionBudget");
        if !has_pdb && matches!(o.kind.as_str(), "Deployment" | "StatefulSet") && replicas > 1 {
            push(
                "low",
                o,
                "no-pdb",
                "no PodDisruptionBudget: a drain or node upgrade can take every replica at once"
                    .into(),
                {
                    let q = crate::diagnose::remedy::values::shell_quote;
                    // The workload's own selector, as the budget must select its pods.
                    let labels: Vec<String> = v["spec"]["selector"]["matchLabels"]
                        .as_object()
                        .into_iter()
                        .flatten()
                        .filter_map(|(k, v)| v.as_str().map(|v| format!("{k}={v}")))
                        .collect();
                    if labels.is_empty() {
                        format!(
                            "kubectl get {} {} -n {} -o jsonpath='{{.spec.selector}}'   # then a PodDisruptionBudget with that selector and maxUnavailable 1",
                            o.kind.to_lowercase(),
                            q(&o.name),
                            q(&o.namespace)
                        )
                    } else {
                        format!(
                            "kubectl create pdb {} -n {} --selector={} --max-unavailable=1",
                            q(&o.name),
                            q(&o.namespace),
                            q(&labels.join(","))
                        )
                    }
                },
            );
        }
        let ns = intel_engine::ObjectRef::new("Namespace", "", &o.namespace);
        let slo = has_annotation(snap, o, SLO)
            || has_annotation(snap, &ns, SLO)
            || rel.from(o).iter().any(|r| {
                r.kind == RelationKind::SelectedBy
                    && r.to.kind == "Service"
                    && has_annotation(snap, &r.to, SLO)
            });
        if !slo {
            push(
                "low",
                o,
                "no-slo",
                "no SLO declared (annotation intel.kubectl.io/slo on it, its Service or namespace): nobody can say how much failure is too much, so error-budget alerts cannot exist".into(),
                format!(
                    "kubectl annotate {} {} -n {} intel.kubectl.io/slo=99.9",
                    o.kind.to_lowercase(),
                    crate::diagnose::remedy::values::shell_quote(&o.name),
                    crate::diagnose::remedy::values::shell_quote(&o.namespace)
                ),
            );
        }
        if rules.cover(o) == Some(false) {
            push(
                    "high",
                    o,
                    "no-alert-rule",
                    format!(
                        "no PrometheusRule names {} or matches namespace {}: its failures page nobody",
                        o.name, o.namespace
                    ),
                    "add an alerting rule on its error rate and latency (and on kube_deployment_status_replicas_unavailable)".into(),
                );
        }
        // Failing in logs or metrics while no Warning event or status problem said so.
        let problems: Vec<_> = timeline
            .entries
            .iter()
            .filter(|e| e.is_problem() && e.concerns(o))
            .collect();
        let seen_by_k8s = problems
            .iter()
            .any(|e| matches!(e.source, "event" | "status"));
        if !problems.is_empty()
            && !seen_by_k8s
            && problems
                .iter()
                .all(|e| matches!(e.source, "log" | "metric"))
        {
            push(
                "high",
                o,
                "healthy-while-failing",
                format!(
                    "{} problems seen only in {} while Kubernetes reported {} healthy (no Warning event, pods Ready): probes and kube-state alerts could not fire",
                    problems.len(),
                    {
                        let mut s: Vec<&str> = problems.iter().map(|e| e.source).collect();
                        s.sort();
                        s.dedup();
                        s.join(" and ")
                    },
                    o.name
                ),
                "alert on the service's own error rate and latency (RED metrics), not only on pod health".into(),
            );
        }
    }
    // Dependencies along the chain that nothing declares.
    let map = rel.service_map();
    let mut seen = BTreeSet::new();
    for w in chain.windows(2) {
        for (a, b) in [(&w[1], &w[0]), (&w[0], &w[1])] {
            if !map.depends_on(a).contains(&b) || !seen.insert((a.clone(), b.clone())) {
                continue;
            }
            let sources: BTreeSet<&str> = map
                .edges_from(a)
                .iter()
                .filter(|e| {
                    e.to == *b
                        || map
                            .node(&e.to)
                            .and_then(|n| n.service_for.as_ref())
                            .is_some_and(|s| s == b)
                })
                .flat_map(|e| e.evidence.iter().map(|ev| ev.source.as_str()))
                .collect();
            // An Ingress backend declares itself; so do annotations and NetworkPolicies.
            if !sources.contains("annotation")
                && !sources.contains("networkpolicy")
                && !sources.contains("ingress")
            {
                out.push(Gap {
                    severity: "medium".into(),
                    subject: format!("{} {}/{}", a.kind, a.namespace, a.name),
                    gap: "undeclared-dependency".into(),
                    detail: format!(
                        "{} depends on {} (seen in {}) but nothing declares it: no depends-on annotation, no NetworkPolicy; dashboards and alerts grouped by service miss the coupling",
                        a.name,
                        b.name,
                        sources.into_iter().collect::<Vec<_>>().join(", ")
                    ),
                    fix: format!(
                        "kubectl annotate {} {} -n {} {}",
                        a.kind.to_lowercase(),
                        crate::diagnose::remedy::values::shell_quote(&a.name),
                        crate::diagnose::remedy::values::shell_quote(&a.namespace),
                        crate::diagnose::remedy::values::shell_quote(&format!(
                            "intel.kubectl.io/depends-on={}",
                            b.name
                        ))
                    ),
                });
            }
        }
    }
    if !has_rule_type && !subjects.is_empty() {
        out.push(Gap {
            severity: "medium".into(),
            subject: "cluster".into(),
            gap: "no-alert-rules-in-cluster".into(),
            detail: "the snapshot has no PrometheusRule type (Prometheus Operator absent, or rules kept outside the cluster): whether alerts exist cannot be checked".into(),
            fix: "keep alerting rules as PrometheusRule objects, or check the external alerting system for the components listed".into(),
        });
    }
    // A gap on the root cause itself is what let this incident happen: one level up, and
    // first among equals.
    let root = chain
        .first()
        .map(|o| format!("{} {}/{}", o.kind, o.namespace, o.name));
    for g in out.iter_mut().filter(|g| Some(&g.subject) == root.as_ref()) {
        g.severity = match g.severity.as_str() {
            "low" => "medium",
            _ => "high",
        }
        .to_string();
    }
    out.sort_by(|a, b| {
        let rank = |s: &str| match s {
            "high" => 0,
            "medium" => 1,
            _ => 2,
        };
        rank(&a.severity)
            .cmp(&rank(&b.severity))
            .then((Some(&b.subject) == root.as_ref()).cmp(&(Some(&a.subject) == root.as_ref())))
            .then(a.subject.cmp(&b.subject))
            .then(a.gap.cmp(&b.gap))
    });
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn tokens_are_whole_names() {
        assert!(super::has_token("up{job=\"auth\"} == 0", "auth"));
        assert!(!super::has_token("up{job=\"oauth-proxy\"}", "auth"));
        assert!(!super::has_token("authz", "auth"));
    }
}
