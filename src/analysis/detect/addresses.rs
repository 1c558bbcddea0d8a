//! Configured addresses that name a Service that does not exist: `ledgr.payments.svc`
//! where the Service is `ledger`. Read from env values and the ConfigMap keys a container
//! takes its environment from; an in-cluster name (`x.ns.svc[.cluster.local]`, `x.ns`
//! for a namespace that exists) with no such Service is wrong, and a short name (`x:8080`,
//! `http://x`) is only when it is a near miss of a Service in the namespace. The callers'
//! DNS failures for that name make it critical: the misconfiguration is what is failing.
//! Runs after the other detectors: it reads their DNS findings.

use std::collections::BTreeSet;

use super::{Ctx, Hit};
use crate::analysis::report::Severity;
use crate::engine::hosts::{self, Form};

pub(super) fn detect(ctx: &Ctx, out: &mut Vec<Hit>) {
    let index = ctx.snap.index();
    let namespaces: BTreeSet<&str> = ctx
        .snap
        .items("", "namespaces")
        .iter()
        .map(|n| n.meta.name.as_str())
        .collect();
    let mut found = Vec::new();
    for info in ctx.rel.workload_infos() {
        let ns = info.id.namespace.as_str();
        if !ctx.in_scope(ns) {
            continue;
        }
        for (_, c) in info.spec.all_containers() {
            for (field, value) in values(ctx, ns, c) {
                for hh in hosts::extract(&value) {
                    let Some((svc, svc_ns, qualified)) =
                        in_cluster(&hh.host, hh.form, ns, &namespaces)
                    else {
                        continue;
                    };
                    if !index.by_name("Service", &svc_ns, &svc).is_empty() {
                        continue;
                    }
                    // Only where the capture saw that namespace's Services: a capture
                    // limited to some namespaces says nothing of the others.
                    if !ctx.in_scope(&svc_ns) || !namespaces.contains(svc_ns.as_str()) {
                        continue;
                    }
                    let near = nearest_service(ctx, &svc_ns, &svc);
                    if near.is_none() && !qualified {
                        continue;
                    }
                    found.push((
                        info.id.clone(),
                        c.name.clone(),
                        field.clone(),
                        hh.host.clone(),
                        svc,
                        svc_ns,
                        near,
                    ));
                }
            }
        }
    }
    found.sort();
    found.dedup();
    for (w, container, field, host, svc, svc_ns, near) in found {
        let failing = out.iter().find(|h| {
            h.subject == w
                && h.kind == "DNSResolutionFailures"
                && h.resolved.is_none()
                && h.evidence
                    .iter()
                    .any(|e| names_host(&e.text, &host) || names_host(&e.text, &svc))
        });
        let (sev, cause) = if failing.is_some() {
            (Severity::Critical, 0.95)
        } else {
            (Severity::Warning, 0.5)
        };
        let hint = near
            .as_ref()
            .map(|n| format!("; did you mean {n}?"))
            .unwrap_or_default();
        let corroborated = if failing.is_some() {
            ", and its lookups fail"
        } else {
            ""
        };
        let mut h = Hit::new(w.clone(), "MisconfiguredAddress", sev, cause)
            .msg(format!(
                "{} {} (container {container}) is configured to reach {host}, but namespace {svc_ns} has no Service {svc}{corroborated}{hint}",
                w.kind, w.name
            ))
            .ev("spec", field, host.clone(), None);
        if let Some(d) = failing {
            h = h.since(d.since);
            h.evidence.extend(d.evidence.iter().take(2).cloned());
        }
        out.push(h);
    }
}

/// Whether `text` names `host` as a whole token (`db` is not named by `mongodb-0`).
fn names_host(text: &str, host: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    let edge = |c: Option<char>| c.is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '-'));
    lower.match_indices(host).any(|(i, _)| {
        edge(lower[..i].chars().next_back()) && edge(lower[i + host.len()..].chars().next())
    })
}

/// Values a container is configured with, with where each was read: env values, and the
/// keys of ConfigMaps it takes env from (`envFrom`, `configMapKeyRef`).
fn values(ctx: &Ctx, ns: &str, c: &crate::engine::views::ContainerView) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let data = |cm: &str| -> Option<serde_json::Map<String, serde_json::Value>> {
        let v = ctx.object("ConfigMap", ns, cm)?.value();
        v.get("data")?.as_object().cloned()
    };
    for e in &c.env {
        if let Some(v) = &e.value {
            out.push((format!("container {} env {}", c.name, e.name), v.clone()));
        } else if let Some(r) = e
            .value_from
            .as_ref()
            .and_then(|f| f.config_map_key_ref.as_ref())
        {
            if let Some(v) = data(&r.name)
                .and_then(|d| d.get(&r.key).and_then(|v| v.as_str()).map(str::to_string))
            {
                out.push((format!("ConfigMap {} key {}", r.name, r.key), v));
            }
        }
    }
    for f in &c.env_from {
        if let Some(r) = &f.config_map_ref {
            for (k, v) in data(&r.name).unwrap_or_default() {
                if let Some(v) = v.as_str() {
                    out.push((format!("ConfigMap {} key {k}", r.name), v.to_string()));
                }
            }
        }
    }
    out
}

/// The Service a host names inside the cluster: (name, namespace, fully qualified).
fn in_cluster(
    host: &str,
    form: Form,
    own: &str,
    namespaces: &BTreeSet<&str>,
) -> Option<(String, String, bool)> {
    let labels: Vec<&str> = host.split('.').collect();
    match labels.as_slice() {
        [name, ns, "svc", "cluster", "local"] | [name, ns, "svc"] => {
            Some((name.to_string(), ns.to_string(), true))
        }
        [name, ns] if namespaces.contains(ns) => Some((name.to_string(), ns.to_string(), true)),
        [name] if matches!(form, Form::Url | Form::HostPort) && *name != "localhost" => {
            Some((name.to_string(), own.to_string(), false))
        }
        _ => None,
    }
}

/// The Service of the namespace whose name is closest to `name`: at most two edits away
/// (and less than a third of the name), ties by name.
fn nearest_service(ctx: &Ctx, ns: &str, name: &str) -> Option<String> {
    let mut best: Option<(usize, String)> = None;
    for s in ctx.snap.items("", "services") {
        if s.meta.namespace != ns {
            continue;
        }
        let d = edit_distance(name, &s.meta.name);
        if d == 0 || d > 2 || d * 3 > name.len().max(s.meta.name.len()) {
            continue;
        }
        if best
            .as_ref()
            .is_none_or(|(bd, bn)| d < *bd || (d == *bd && s.meta.name < *bn))
        {
            best = Some((d, s.meta.name.clone()));
        }
    }
    best.map(|(_, n)| n)
}

/// Levenshtein distance, for short names.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn near_misses_are_a_letter_or_two_away() {
        assert_eq!(edit_distance("ledgr", "ledger"), 1);
        assert_eq!(edit_distance("paymnet", "payment"), 2);
        assert_eq!(edit_distance("db", "redis"), 4);
    }

    #[test]
    fn in_cluster_names_are_recognised_by_their_shape() {
        let ns: BTreeSet<&str> = ["payments", "default"].into_iter().collect();
        assert_eq!(
            in_cluster("ledgr.payments.svc.cluster.local", Form::Url, "x", &ns),
            Some(("ledgr".into(), "payments".into(), true))
        );
        assert_eq!(
            in_cluster("ledger.payments", Form::HostPort, "x", &ns),
            Some(("ledger".into(), "payments".into(), true))
        );
        // A dotted name whose second label is no namespace is outside the cluster.
        assert_eq!(in_cluster("api.stripe.com", Form::Url, "x", &ns), None);
        assert_eq!(in_cluster("cdn.example", Form::Url, "x", &ns), None);
        assert_eq!(in_cluster("localhost", Form::Url, "x", &ns), None);
        assert_eq!(in_cluster("ledgr", Form::Whole, "x", &ns), None);
    }
}
