//! Configured addresses that name a Service that does not exist: `ledgr.payments.svc`
//! where the Service is `ledger`. The service map already reads every env value and
//! ConfigMap key a workload uses and keeps the in-cluster names that resolve to no Service
//! (`ServiceMap::unresolved`); an in-cluster form (`x.ns.svc[.cluster.local]`, `x.ns` for a
//! namespace that exists) is wrong, a short name (`x:8080`, `http://x`) only when it is a
//! near miss of a Service in the namespace. The callers' DNS failures for that name make
//! it critical: the misconfiguration is what is failing. Runs after the other detectors
//! and after currency: it reads their current DNS findings.

use super::{Ctx, Hit};
use crate::report::Severity;

pub(super) fn detect(ctx: &Ctx, out: &mut Vec<Hit>) {
    for u in &ctx.rel.service_map().unresolved {
        // Only where the capture saw that namespace's Services: a capture limited to some
        // namespaces says nothing of the others.
        if !ctx.in_scope(&u.from.namespace) || !ctx.in_scope(&u.namespace) {
            continue;
        }
        let near = nearest_service(ctx, &u.namespace, &u.service);
        if near.is_none() && !u.qualified {
            continue;
        }
        let (w, host, svc, svc_ns) = (&u.from, &u.host, &u.service, &u.namespace);
        let failing = out.iter().find(|h| {
            h.subject == *w
                && h.kind == "DNSResolutionFailures"
                && h.resolved.is_none()
                && h.evidence
                    .iter()
                    .any(|e| names_host(&e.text, host) || names_host(&e.text, svc))
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
        let ev = &u.evidence;
        let mut h = Hit::new(w.clone(), "MisconfiguredAddress", sev, cause)
            .msg(format!(
                "{} {} is configured to reach {host} ({}), but namespace {svc_ns} has no Service {svc}{corroborated}{hint}",
                w.kind, w.name, ev.field
            ))
            .ev(
                "spec",
                format!("{} {}/{} {}", ev.object.kind, ev.object.namespace, ev.object.name, ev.field),
                ev.text.clone(),
                None,
            );
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
}
