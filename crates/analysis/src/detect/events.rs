//! Events: probe failures, quota and LimitRange rejections, blocked drains, kernel OOM
//! kills, node readiness flapping, certificate renewals. Events carry what status does
//! not: the kubelet's and controllers' own words, with counts and times.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{Ctx, Hit, parse_ts};
use crate::report::Severity;
use intel_engine::ObjectRef;
use intel_engine::relations::RelationKind;

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(crate) struct EventLean {
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub involved_object: Involved,
    #[serde(default)]
    pub count: Option<i64>,
    #[serde(default)]
    pub first_timestamp: Option<String>,
    #[serde(default)]
    pub last_timestamp: Option<String>,
    #[serde(default)]
    pub event_time: Option<String>,
}

#[derive(Deserialize, Default)]
pub(crate) struct Involved {
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub namespace: String,
    #[serde(default)]
    pub name: String,
}

impl EventLean {
    pub fn first(&self) -> Option<i64> {
        self.first_timestamp
            .as_deref()
            .or(self.event_time.as_deref())
            .or(self.last_timestamp.as_deref())
            .and_then(parse_ts)
    }
    pub fn last(&self) -> Option<i64> {
        self.last_timestamp
            .as_deref()
            .or(self.event_time.as_deref())
            .or(self.first_timestamp.as_deref())
            .and_then(parse_ts)
    }
    pub fn object(&self) -> ObjectRef {
        ObjectRef::new(
            &self.involved_object.kind,
            &self.involved_object.namespace,
            &self.involved_object.name,
        )
    }
}

/// Every core/v1 event of the snapshot, parsed leanly, in bundle order.
pub(crate) fn all_events(ctx: &Ctx) -> Vec<EventLean> {
    ctx.snap
        .items("", "events")
        .iter()
        .filter_map(|e| serde_json::from_str::<EventLean>(e.json()).ok())
        .collect()
}

pub(super) fn detect(ctx: &Ctx, out: &mut Vec<Hit>) {
    let events = all_events(ctx);
    let mut node_flaps: BTreeMap<String, (i64, Option<i64>)> = BTreeMap::new();
    for e in &events {
        let reason = e.reason.as_deref().unwrap_or("");
        let msg = e.message.as_deref().unwrap_or("");
        let obj = e.object();
        let loc = format!("Event {} on {} {}", reason, obj.kind, obj.name);
        let count = e.count.unwrap_or(1);
        let warning = e.kind.as_deref() == Some("Warning");
        match reason {
            "Unhealthy" if obj.kind == "Pod" => {
                let w = ctx.workload(&obj);
                let liveness = msg.starts_with("Liveness");
                let kind = if liveness {
                    "LivenessProbeFailing"
                } else if msg.starts_with("Startup") {
                    "StartupProbeFailing"
                } else {
                    "ReadinessProbeFailing"
                };
                // A probe that failed once or twice is noise (a slow GC, a node hiccup).
                let sev = if count >= 3 {
                    Severity::Warning
                } else {
                    Severity::Info
                };
                let field = match kind {
                    "LivenessProbeFailing" => "livenessProbe",
                    "StartupProbeFailing" => "startupProbe",
                    _ => "readinessProbe",
                };
                // The probe itself wrong (port, protocol, path, timings): that is the cause.
                if let Some(m) = super::probes::classify(ctx, &obj, field, msg, e.last())
                    .filter(|_| sev == Severity::Warning)
                {
                    let mut p = Hit::new(w.clone(), m.kind, Severity::Critical, 0.95)
                        .msg(m.message)
                        .since(e.first())
                        .ev("event", loc.clone(), format!("{msg} (x{count})"), e.last());
                    p.via = super::pods::via_chain(ctx, &obj, &w);
                    out.push(p);
                }
                let mut h = Hit::new(w, kind, sev, 0.55)
                    .msg(format!(
                        "{} (x{count}) on pod {}",
                        super::clip(msg, 160),
                        obj.name
                    ))
                    .since(e.first())
                    .ev("event", loc, format!("{msg} (x{count})"), e.last());
                h.via = vec![obj.clone()];
                out.push(h);
            }
            "FailedCreate" => {
                let w = ctx.workload(&obj);
                if let Some(q) = quota_named(msg) {
                    let quota = ObjectRef::new("ResourceQuota", &obj.namespace, q);
                    let mut h = Hit::new(quota, "ResourceQuotaExceeded", Severity::Critical, 0.9)
                        .msg(format!(
                            "quota {q} rejects new pods of {} {}: {}",
                            w.kind,
                            w.name,
                            super::clip(msg, 160)
                        ))
                        .since(e.first())
                        .ev("event", loc.clone(), format!("{msg} (x{count})"), e.last());
                    h.via = vec![w.clone(), obj.clone()];
                    out.push(h);
                } else if msg.contains("LimitRange")
                    || msg.contains("maximum")
                    || msg.contains("minimum")
                {
                    let mut h = Hit::new(w.clone(), "LimitRangeRejected", Severity::Critical, 0.85)
                        .msg(format!(
                            "{} cannot create pods: {}",
                            w.name,
                            super::clip(msg, 160)
                        ))
                        .since(e.first())
                        .ev("event", loc.clone(), msg, e.last());
                    h.via = vec![obj.clone()];
                    out.push(h);
                } else if warning {
                    let mut h = Hit::new(w.clone(), "FailedCreate", Severity::Critical, 0.7)
                        .msg(format!(
                            "{} cannot create pods: {}",
                            w.name,
                            super::clip(msg, 160)
                        ))
                        .since(e.first())
                        .ev("event", loc.clone(), msg, e.last());
                    h.via = vec![obj.clone()];
                    out.push(h);
                }
            }
            "FailedCreatePodSandBox" | "Failed" | "FailedMount" | "FailedAttachVolume"
                if obj.kind == "Pod" && warning =>
            {
                super::startup::pod_event(ctx, e, &obj, reason, msg, count, &loc, out);
            }
            "OOMKilling" if obj.kind == "Node" => {
                if let Some(proc_name) = msg.split('(').nth(1).and_then(|s| s.split(')').next()) {
                    for w in ctx.rel.workloads() {
                        if w.name == proc_name && ctx.in_scope(&w.namespace) {
                            out.push(
                                Hit::new(w.clone(), "OOMKilled", Severity::Critical, 0.85)
                                    .msg(format!(
                                        "the kernel OOM-killed {proc_name} on node {} (x{count})",
                                        obj.name
                                    ))
                                    .since(e.first())
                                    .ev(
                                        "event",
                                        loc.clone(),
                                        format!("{msg} (x{count})"),
                                        e.last(),
                                    ),
                            );
                        }
                    }
                }
            }
            "EvictionThresholdMet" | "FreeDiskSpaceFailed" if obj.kind == "Node" => {
                let kind = if msg.contains("memory") {
                    "NodeMemoryPressure"
                } else {
                    "NodeDiskPressure"
                };
                out.push(
                    Hit::new(obj.clone(), kind, Severity::Critical, 0.45)
                        .msg(format!(
                            "node {} ran out of {}: {msg}",
                            obj.name,
                            if kind == "NodeMemoryPressure" {
                                "memory"
                            } else {
                                "disk"
                            }
                        ))
                        .since(e.first())
                        .ev("event", loc.clone(), format!("{msg} (x{count})"), e.last()),
                );
            }
            "Evicted" if obj.kind == "Pod" => {
                let w = ctx.workload(&obj);
                let mut h = Hit::new(w, "Evicted", Severity::Warning, 0.2)
                    .msg(format!(
                        "pod {} was evicted: {}",
                        obj.name,
                        super::clip(msg, 160)
                    ))
                    .since(e.first())
                    .ev("event", loc.clone(), msg, e.last());
                h.via = vec![obj.clone()];
                out.push(h);
            }
            "NodeNotReady" | "NodeReady" if obj.kind == "Node" => {
                let entry = node_flaps.entry(obj.name.clone()).or_insert((0, None));
                entry.0 += count;
                entry.1 = match (entry.1, e.first()) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
            }
            "NodeNotReady" if obj.kind == "Pod" => {
                // The node lifecycle controller marks each pod of a NotReady node.
                if let Some(node) = ctx
                    .rel
                    .from(&obj)
                    .iter()
                    .find(|r| r.kind == RelationKind::RunsOn)
                {
                    let entry = node_flaps.entry(node.to.name.clone()).or_insert((0, None));
                    entry.0 += count;
                    entry.1 = match (entry.1, e.first()) {
                        (Some(a), Some(b)) => Some(a.min(b)),
                        (a, b) => a.or(b),
                    };
                }
            }
            "CordonAndDrainError" | "FailedEviction" | "EvictionBlocked" => {
                for pod in evicted_pods(msg, &obj) {
                    for r in ctx.rel.from(&pod) {
                        if r.kind != RelationKind::SelectedBy || r.to.kind != "PodDisruptionBudget"
                        {
                            continue;
                        }
                        let node = if obj.kind == "Node" {
                            Some(obj.clone())
                        } else {
                            None
                        };
                        let mut h = Hit::new(
                            (*r.to).clone(),
                            "DrainBlockedByPDB",
                            Severity::Critical,
                            0.9,
                        )
                        .msg(format!(
                            "budget {} allows no disruption, so evicting {} keeps failing",
                            r.to.name, pod.name
                        ))
                        .since(e.first())
                        .ev(
                            "event",
                            loc.clone(),
                            format!("{msg} (x{count})"),
                            e.last(),
                        );
                        h.via = std::iter::once(pod.clone()).chain(node).collect();
                        out.push(h);
                    }
                }
            }
            "Failed" | "Issuing" | "ErrIssuerNotReady" | "OrderFailed"
                if warning
                    && (obj.kind == "Certificate"
                        || obj.kind == "CertificateRequest"
                        || obj.kind == "Challenge"
                        || obj.kind == "Order") =>
            {
                // cert-manager: find the Secret its Certificate writes.
                // Requests, orders and challenges are named `<certificate>-<n>-<hash>…`.
                let mut parts: Vec<&str> = obj.name.split('-').collect();
                while parts.len() > 1
                    && parts
                        .last()
                        .is_some_and(|p| p.bytes().all(|b| b.is_ascii_digit()))
                {
                    parts.pop();
                }
                let cert = parts.join("-");
                for secret in certificate_secrets(ctx, &obj.namespace, &[&obj.name, &cert]) {
                    out.push(
                        Hit::new(secret, "CertificateRenewalFailing", Severity::Warning, 0.6)
                            .msg(format!(
                                "cert-manager cannot renew the certificate: {}",
                                super::clip(msg, 200)
                            ))
                            .since(e.first())
                            .ev("event", loc.clone(), format!("{msg} (x{count})"), e.last()),
                    );
                }
            }
            _ => {}
        }
    }
    for (node, (n, since)) in node_flaps {
        if n >= 2 {
            let (sev, cause) = if n >= 10 {
                (Severity::Critical, 0.8)
            } else {
                (Severity::Warning, 0.5)
            };
            out.push(
                Hit::new(
                    ObjectRef::new("Node", "", &node),
                    "NodeFlapping",
                    sev,
                    cause,
                )
                .msg(format!("node {node} went NotReady {n} times"))
                .since(since)
                .ev(
                    "event",
                    format!("Events NodeNotReady on node {node} and its pods"),
                    format!("{n} NotReady transitions"),
                    since,
                ),
            );
        }
    }
}

/// `exceeded quota: compute, requested: …` → `compute`.
fn quota_named(msg: &str) -> Option<&str> {
    let rest = msg.split("exceeded quota: ").nth(1)?;
    let name = rest.split([',', ' ']).next()?;
    (!name.is_empty()).then_some(name)
}

/// Pods a drain or eviction event names: `evicting pods/"payment-x" -n "shop"`.
fn evicted_pods(msg: &str, obj: &ObjectRef) -> Vec<ObjectRef> {
    if obj.kind == "Pod" {
        return vec![obj.clone()];
    }
    let mut out = Vec::new();
    let clean = msg.replace("\\\"", "\"");
    for part in clean.split("pods/").skip(1) {
        let name = part.trim_start_matches('"').split('"').next().unwrap_or("");
        let ns = part
            .split("-n ")
            .nth(1)
            .map(|s| s.trim_start_matches('"').split('"').next().unwrap_or(""))
            .unwrap_or("");
        if !name.is_empty() && !ns.is_empty() {
            out.push(ObjectRef::new("Pod", ns, name));
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Secrets a cert-manager Certificate writes: by the Secret's
/// `cert-manager.io/certificate-name` annotation, or the Certificate's own name.
fn certificate_secrets(ctx: &Ctx, namespace: &str, names: &[&str]) -> Vec<ObjectRef> {
    let mut out = Vec::new();
    for s in ctx.snap.items("", "secrets") {
        if s.meta.namespace != namespace {
            continue;
        }
        let v = s.value();
        let cert = super::jstr(
            &v,
            &[
                "metadata",
                "annotations",
                "cert-manager.io/certificate-name",
            ],
        );
        if cert.is_some_and(|c| names.contains(&c)) {
            out.push(ObjectRef::of(s));
        }
    }
    out.sort();
    out.dedup();
    out
}
