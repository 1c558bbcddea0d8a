//! cert-manager Certificates that have expired: `Ready=False` with reason `Expired`, or a
//! `status.notAfter` before the capture. A Certificate that is `Ready=True` with a
//! `notAfter` ahead was renewed: what callers logged about it before is history
//! (`currency`).

use super::{Ctx, Hit, fmt_ts, human_duration, jstr, parse_ts};
use crate::report::Severity;
use intel_engine::ObjectRef;

pub(super) fn detect(ctx: &Ctx, out: &mut Vec<Hit>) {
    for cert in ctx.snap.items("cert-manager.io", "certificates") {
        if !ctx.in_scope(&cert.meta.namespace) {
            continue;
        }
        let v = cert.value();
        let cref = ObjectRef::of(cert);
        let ready = v
            .pointer("/status/conditions")
            .and_then(|c| c.as_array())
            .into_iter()
            .flatten()
            .find(|c| jstr(c, &["type"]) == Some("Ready"));
        let reason = ready.and_then(|c| jstr(c, &["reason"])).unwrap_or("");
        let not_ready = ready.and_then(|c| jstr(c, &["status"])) == Some("False");
        let not_after = jstr(&v, &["status", "notAfter"]).and_then(parse_ts);
        let lapsed = not_after.filter(|t| *t <= ctx.now);
        if !(lapsed.is_some() || not_ready && reason == "Expired") {
            continue;
        }
        let secret = jstr(&v, &["spec", "secretName"]).unwrap_or("");
        let since = lapsed.or_else(|| {
            ready
                .and_then(|c| jstr(c, &["lastTransitionTime"]))
                .and_then(parse_ts)
        });
        let when = since
            .map(|t| format!(" on {} ({} ago)", fmt_ts(t), human_duration(ctx.now - t)))
            .unwrap_or_default();
        let message = ready.and_then(|c| jstr(c, &["message"])).unwrap_or("");
        // Critical when something serves it: an Ingress terminating TLS with its Secret,
        // a pod mounting it. Unused, it is only a warning.
        let used = !secret.is_empty() && consumed(ctx, &cref.namespace, secret);
        let (sev, cause) = if used {
            (Severity::Critical, 0.95)
        } else {
            (Severity::Warning, 0.5)
        };
        let mut h = Hit::new(cref.clone(), "CertificateExpired", sev, cause)
            .msg(format!(
                "certificate {} (Secret {secret}) expired{when}: clients that verify it fail",
                cref.name
            ))
            .since(since)
            .ev(
                "status",
                format!("Certificate {}/{} status", cref.namespace, cref.name),
                format!(
                    "Ready={} {reason}: {message}; notAfter={}",
                    if not_ready { "False" } else { "True" },
                    jstr(&v, &["status", "notAfter"]).unwrap_or("?")
                ),
                since,
            );
        if !secret.is_empty() {
            h.via = vec![ObjectRef::new("Secret", &cref.namespace, secret)];
        }
        out.push(h);
    }
}

/// Whether an Ingress terminates TLS with this Secret or anything relates to it (a pod
/// mounting it, a workload taking env from it).
fn consumed(ctx: &Ctx, namespace: &str, secret: &str) -> bool {
    let sref = ObjectRef::new("Secret", namespace, secret);
    if ctx.rel.to(&sref).into_iter().next().is_some() {
        return true;
    }
    ctx.snap
        .items("networking.k8s.io", "ingresses")
        .iter()
        .filter(|i| i.meta.namespace == namespace)
        .any(|i| {
            i.value()
                .pointer("/spec/tls")
                .and_then(|t| t.as_array())
                .is_some_and(|t| t.iter().any(|e| jstr(e, &["secretName"]) == Some(secret)))
        })
}
