//! Services and Ingresses: selectors that match no pod, target ports no container
//! listens on, Services whose pods are all unready, Ingress backends and TLS Secrets that
//! do not exist.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{Ctx, Hit, parse_ts};
use crate::report::Severity;
use intel_engine::ObjectRef;
use intel_engine::relations::RelationKind;

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct SvcLean {
    #[serde(default)]
    metadata: Meta,
    #[serde(default)]
    spec: SvcSpec,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Meta {
    #[serde(default)]
    creation_timestamp: Option<String>,
    #[serde(default)]
    managed_fields: Option<Vec<Managed>>,
}

#[derive(Deserialize, Default)]
pub(super) struct Managed {
    #[serde(default)]
    pub manager: Option<String>,
    #[serde(default)]
    pub operation: Option<String>,
    #[serde(default)]
    pub time: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct SvcSpec {
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    selector: Option<BTreeMap<String, String>>,
    #[serde(default)]
    ports: Option<Vec<SvcPort>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct SvcPort {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    port: Option<i64>,
    #[serde(default)]
    target_port: Option<serde_json::Value>,
    #[serde(default)]
    protocol: Option<String>,
}

/// A pod's container ports, nothing else.
#[derive(Deserialize, Default)]
struct PodPorts {
    #[serde(default)]
    spec: PodPortsSpec,
}

#[derive(Deserialize, Default)]
struct PodPortsSpec {
    #[serde(default)]
    containers: Option<Vec<ContainerPorts>>,
}

#[derive(Deserialize, Default)]
struct ContainerPorts {
    #[serde(default)]
    ports: Option<Vec<ContainerPort>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct ContainerPort {
    #[serde(default)]
    container_port: Option<serde_json::Value>,
    #[serde(default)]
    name: Option<serde_json::Value>,
    #[serde(default)]
    protocol: Option<String>,
}

/// The latest managedFields time: when the object was last edited.
pub(super) fn last_edit(m: &Option<Vec<Managed>>) -> Option<(i64, String)> {
    m.iter()
        .flatten()
        .filter_map(|f| {
            let t = parse_ts(f.time.as_deref()?)?;
            Some((t, f.manager.clone().unwrap_or_default()))
        })
        .max()
}

pub(super) fn detect(ctx: &Ctx, out: &mut Vec<Hit>) {
    let index = ctx.snap.index();
    for svc in ctx.snap.items("", "services") {
        if !ctx.in_scope(&svc.meta.namespace) {
            continue;
        }
        let Ok(s) = serde_json::from_str::<SvcLean>(svc.json()) else {
            continue;
        };
        let Some(selector) = s.spec.selector.as_ref().filter(|s| !s.is_empty()) else {
            continue;
        };
        if s.spec.kind.as_deref() == Some("ExternalName") {
            continue;
        }
        let sref = ObjectRef::of(svc);
        let edited = last_edit(&s.metadata.managed_fields);
        let since = edited.as_ref().map(|(t, _)| *t).or(s
            .metadata
            .creation_timestamp
            .as_deref()
            .and_then(parse_ts));
        let Some(id) = index
            .by_name("Service", &sref.namespace, &sref.name)
            .first()
            .copied()
        else {
            continue;
        };
        let pods = index.service_pods(id).unwrap_or(&[]);
        let loc = |f: &str| format!("Service {}/{} {f}", sref.namespace, sref.name);
        let sel_text = selector
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(",");
        if pods.is_empty() {
            // The selector is right when a workload's pod template matches it: the
            // Service has no pods because the workload has none. That workload is the
            // cause, not the selector.
            if let Some(w) = selected_workload(ctx, &sref.namespace, selector) {
                no_pods_behind(ctx, &sref, &w, &sel_text, out);
                continue;
            }
            let near = near_miss(ctx, &sref.namespace, selector);
            let mut h = Hit::new(sref.clone(), "ServiceSelectorMismatch", Severity::Critical, 0.95)
                .msg(match &near {
                    Some((w, diff)) => format!(
                        "Service {} selects no pod: its selector {sel_text} differs from {} {}'s pod labels ({diff})",
                        sref.name, w.kind, w.name
                    ),
                    None => format!("Service {} selects no pod (selector {sel_text})", sref.name),
                })
                .since(since)
                .ev("spec", loc("spec.selector"), sel_text.clone(), since);
            if let Some((w, _)) = near {
                h.via.push(w);
            }
            out.push(h);
            continue;
        }
        let ready = pods
            .iter()
            .filter_map(|id| ctx.snap.get(*id))
            .filter(|p| pod_ready(p.json()))
            .count();
        if ready == 0 {
            let mut h = Hit::new(
                sref.clone(),
                "ServiceNoReadyEndpoints",
                Severity::Critical,
                0.3,
            )
            .msg(format!(
                "Service {} has no ready endpoint: none of its {} pods is ready",
                sref.name,
                pods.len()
            ))
            .ev(
                "status",
                loc("endpoints"),
                format!("0 of {} selected pods ready", pods.len()),
                None,
            );
            if let Some(p) = pods.first().and_then(|id| ctx.snap.get(*id)) {
                h.blames.push(ctx.workload(&ObjectRef::of(p)));
            }
            out.push(h);
        }
        // Target ports: a number must be a containerPort of the selected pods (when they
        // declare any), a name must be a named port.
        let mut numbers = Vec::new();
        let mut names = Vec::new();
        let mut declared = false;
        // (number, name, protocol) of every declared container port.
        let mut protocols: Vec<(i64, String, String)> = Vec::new();
        for pid in pods.iter().take(20) {
            let Some(p) = ctx.snap.get(*pid) else {
                continue;
            };
            // Only the ports are read: the rest of the pod is skipped, not built as a tree.
            let Ok(v) = serde_json::from_str::<PodPorts>(p.json()) else {
                continue;
            };
            for c in v.spec.containers.iter().flatten() {
                for port in c.ports.iter().flatten() {
                    declared = true;
                    protocols.push((
                        port.container_port
                            .as_ref()
                            .and_then(|n| n.as_i64())
                            .unwrap_or(0),
                        port.name
                            .as_ref()
                            .and_then(|n| n.as_str())
                            .unwrap_or("")
                            .to_string(),
                        port.protocol.clone().unwrap_or_else(|| "TCP".into()),
                    ));
                    if let Some(n) = port.container_port.as_ref().and_then(|n| n.as_i64()) {
                        numbers.push(n);
                    }
                    if let Some(n) = port.name.as_ref().and_then(|n| n.as_str()) {
                        names.push(n.to_string());
                    }
                }
            }
        }
        // Only when no port of the Service reaches a declared container port: a
        // multi-port Service with one unused port still works for its clients.
        let resolves = |port: &SvcPort| match &port.target_port {
            Some(serde_json::Value::Number(n)) => n.as_i64().is_some_and(|n| numbers.contains(&n)),
            Some(serde_json::Value::String(name)) => names.contains(name),
            _ => port.port.is_some_and(|p| numbers.contains(&p)),
        };
        let any_ok = s.spec.ports.iter().flatten().any(resolves);
        protocol_mismatch(&sref, &s.spec, &protocols, since, out);
        if declared && !any_ok {
            for port in s.spec.ports.iter().flatten().take(1) {
                let target = match &port.target_port {
                    Some(serde_json::Value::Number(n)) => n.as_i64().map(|n| (Some(n), None)),
                    Some(serde_json::Value::String(name)) => Some((None, Some(name.clone()))),
                    _ => port.port.map(|p| (Some(p), None)),
                };
                let bad = match &target {
                    Some((Some(n), _)) => !numbers.contains(n),
                    Some((None, Some(name))) => !names.contains(name),
                    _ => false,
                };
                if bad {
                    let wanted = match &target {
                        Some((Some(n), _)) => n.to_string(),
                        Some((_, Some(name))) => name.clone(),
                        _ => String::new(),
                    };
                    numbers.sort();
                    numbers.dedup();
                    let listening = numbers
                        .iter()
                        .map(|n| n.to_string())
                        .collect::<Vec<_>>()
                        .join(", ");
                    out.push(
                        Hit::new(sref.clone(), "ServicePortMismatch", Severity::Critical, 0.95)
                            .msg(format!(
                                "Service {} port {} targets {wanted}, but its pods listen on {listening}",
                                sref.name,
                                port.name.clone().or(port.port.map(|p| p.to_string())).unwrap_or_default()
                            ))
                            .since(since)
                            .ev("spec", loc("spec.ports"), format!("port {} → targetPort {wanted}; containerPorts {listening}", port.port.unwrap_or(0)), since),
                    );
                }
            }
        }
    }
    ingresses(ctx, out);
    super::certificates::detect(ctx, out);
    super::injected::detect(ctx, out);
}

/// A Service port whose target the pods open, but only for another protocol (a UDP
/// Service port in front of a TCP-only container port): its packets go nowhere.
fn protocol_mismatch(
    sref: &ObjectRef,
    spec: &SvcSpec,
    declared: &[(i64, String, String)],
    since: Option<i64>,
    out: &mut Vec<Hit>,
) {
    for port in spec.ports.iter().flatten() {
        let proto = port.protocol.as_deref().unwrap_or("TCP");
        let same_target = |(n, name, _): &&(i64, String, String)| match &port.target_port {
            Some(serde_json::Value::Number(t)) => t.as_i64() == Some(*n),
            Some(serde_json::Value::String(t)) => t == name,
            _ => port.port == Some(*n),
        };
        let targets: Vec<&(i64, String, String)> = declared.iter().filter(same_target).collect();
        if targets.is_empty() || targets.iter().any(|(_, _, p)| p == proto) {
            continue;
        }
        let opened: Vec<String> = targets.iter().map(|(n, _, p)| format!("{n}/{p}")).collect();
        let target = match &port.target_port {
            Some(serde_json::Value::Number(t)) => t.to_string(),
            Some(serde_json::Value::String(t)) => t.clone(),
            _ => port.port.unwrap_or(0).to_string(),
        };
        out.push(
            Hit::new(sref.clone(), "ServiceProtocolMismatch", Severity::Critical, 0.9)
                .msg(format!(
                    "Service {} port {}/{proto} targets {target}, which its pods open only as {}: {proto} traffic reaches nothing",
                    sref.name,
                    port.port.unwrap_or(0),
                    opened.join(", ")
                ))
                .since(since)
                .ev(
                    "spec",
                    format!("Service {}/{} spec.ports", sref.namespace, sref.name),
                    format!(
                        "port {}/{proto} → targetPort {target}; containerPorts {}",
                        port.port.unwrap_or(0),
                        opened.join(", ")
                    ),
                    since,
                ),
        );
    }
}

/// The workload in `namespace` whose pod template carries every label of `selector`
/// (the first by name when several do).
fn selected_workload(
    ctx: &Ctx,
    namespace: &str,
    selector: &BTreeMap<String, String>,
) -> Option<ObjectRef> {
    ctx.rel
        .workload_infos()
        .iter()
        .filter(|info| info.id.namespace == namespace)
        .filter(|info| info.id.kind != "Pod")
        .find(|info| selector.iter().all(|(k, v)| info.labels.get(k) == Some(v)))
        .map(|info| info.id.clone())
}

/// A Service whose selector matches a workload's pod template, while the workload has no
/// pods: an effect of the workload. Scaled to 0 by someone, the workload is a cause only
/// if something that depends on it fails (the ranking requires failing callers); with
/// replicas wanted but none there, the workload's own findings say why.
fn no_pods_behind(ctx: &Ctx, sref: &ObjectRef, w: &ObjectRef, sel_text: &str, out: &mut Vec<Hit>) {
    let Some(obj) = ctx.object(&w.kind, &w.namespace, &w.name) else {
        return;
    };
    let v = obj.value();
    let desired = v.pointer("/spec/replicas").and_then(|r| r.as_i64());
    let loc = format!("Service {}/{} spec.selector", sref.namespace, sref.name);
    if desired == Some(0) {
        let managed: Option<Vec<Managed>> = v
            .pointer("/metadata/managedFields")
            .and_then(|m| serde_json::from_value(m.clone()).ok());
        let edited = last_edit(&managed);
        let since = edited.as_ref().map(|(t, _)| *t);
        let by = edited
            .as_ref()
            .map(|(t, m)| format!(" (last edited by {m} at {})", super::fmt_ts(*t)))
            .unwrap_or_default();
        // Only worth a warning when something is configured to call it.
        let called = ctx.rel.service_map().edges.iter().any(|e| e.to == *sref);
        let sev = if called {
            Severity::Warning
        } else {
            Severity::Info
        };
        let mut z = Hit::new(w.clone(), "ScaledToZero", sev, 0.9)
            .msg(format!(
                "{} {} is scaled to 0 replicas{by}, so Service {} has no endpoints",
                w.kind, w.name, sref.name
            ))
            .since(since)
            .ev(
                "spec",
                format!("{} {}/{} spec.replicas", w.kind, w.namespace, w.name),
                "replicas=0",
                since,
            );
        z.via = vec![sref.clone()];
        out.push(z);
        let mut h = Hit::new(sref.clone(), "ServiceNoEndpoints", Severity::Info, 0.1)
            .msg(format!(
                "Service {} has no endpoints: {} {} it selects is scaled to 0",
                sref.name, w.kind, w.name
            ))
            .ev("spec", loc, sel_text.to_string(), None);
        h.blames.push(w.clone());
        out.push(h);
    } else {
        let mut h = Hit::new(sref.clone(), "ServiceNoEndpoints", Severity::Critical, 0.2)
            .msg(format!(
                "Service {} has no endpoints: its selector {sel_text} matches {} {}'s pods, but it has none running",
                sref.name, w.kind, w.name
            ))
            .ev("spec", loc, sel_text.to_string(), None);
        h.blames.push(w.clone());
        out.push(h);
    }
}

/// The workload in `namespace` whose pod labels come closest to `selector`, and what
/// differs: shows a selector typo or a relabelled Deployment.
fn near_miss(
    ctx: &Ctx,
    namespace: &str,
    selector: &BTreeMap<String, String>,
) -> Option<(ObjectRef, String)> {
    let mut best: Option<(usize, ObjectRef, String)> = None;
    for info in ctx.rel.workload_infos() {
        if info.id.namespace != namespace {
            continue;
        }
        let matched = selector
            .iter()
            .filter(|(k, v)| info.labels.get(*k) == Some(*v))
            .count();
        if matched == 0 {
            continue;
        }
        let diff = selector
            .iter()
            .filter(|(k, v)| info.labels.get(*k) != Some(*v))
            .map(|(k, v)| match info.labels.get(k) {
                Some(have) => format!("{k}: selector wants {v}, pods have {have}"),
                None => format!("{k}={v} is not a pod label"),
            })
            .collect::<Vec<_>>()
            .join("; ");
        if best
            .as_ref()
            .is_none_or(|(m, id, _)| matched > *m || (matched == *m && info.id < *id))
        {
            best = Some((matched, info.id.clone(), diff));
        }
    }
    best.map(|(_, id, d)| (id, d))
}

fn ingresses(ctx: &Ctx, out: &mut Vec<Hit>) {
    let index = ctx.snap.index();
    for ing in ctx.snap.items("networking.k8s.io", "ingresses") {
        if !ctx.in_scope(&ing.meta.namespace) {
            continue;
        }
        let iref = ObjectRef::of(ing);
        let v = ing.value();
        let mut backends: Vec<String> = Vec::new();
        let mut collect = |b: &serde_json::Value| {
            if let Some(n) = b.pointer("/service/name").and_then(|n| n.as_str()) {
                backends.push(n.to_string());
            }
        };
        if let Some(b) = v.pointer("/spec/defaultBackend") {
            collect(b);
        }
        for rule in v
            .pointer("/spec/rules")
            .and_then(|r| r.as_array())
            .into_iter()
            .flatten()
        {
            for path in rule
                .pointer("/http/paths")
                .and_then(|p| p.as_array())
                .into_iter()
                .flatten()
            {
                if let Some(b) = path.get("backend") {
                    collect(b);
                }
            }
        }
        backends.sort();
        backends.dedup();
        for b in backends {
            if index.by_name("Service", &iref.namespace, &b).is_empty() {
                out.push(
                    Hit::new(
                        iref.clone(),
                        "IngressBackendMissing",
                        Severity::Critical,
                        0.9,
                    )
                    .msg(format!(
                        "Ingress {} routes to Service {b}, which does not exist",
                        iref.name
                    ))
                    .ev(
                        "spec",
                        format!("Ingress {}/{} spec.rules", iref.namespace, iref.name),
                        format!("backend service {b}"),
                        None,
                    ),
                );
            }
        }
        for tls in v
            .pointer("/spec/tls")
            .and_then(|t| t.as_array())
            .into_iter()
            .flatten()
        {
            if let Some(secret) = tls.get("secretName").and_then(|s| s.as_str()) {
                if index.by_name("Secret", &iref.namespace, secret).is_empty() {
                    out.push(
                        Hit::new(
                            iref.clone(),
                            "IngressTLSSecretMissing",
                            Severity::Critical,
                            0.85,
                        )
                        .msg(format!(
                            "Ingress {} uses TLS Secret {secret}, which does not exist",
                            iref.name
                        ))
                        .ev(
                            "spec",
                            format!("Ingress {}/{} spec.tls", iref.namespace, iref.name),
                            format!("secretName {secret}"),
                            None,
                        ),
                    );
                }
            }
        }
    }
    let _ = RelationKind::Routes;
}

/// The TLS Secret an Ingress uses for `host`, if any.
pub(super) fn tls_secret_for_host(ctx: &Ctx, host: &str) -> Option<ObjectRef> {
    for ing in ctx.snap.items("networking.k8s.io", "ingresses") {
        let v = ing.value();
        for tls in v
            .pointer("/spec/tls")
            .and_then(|t| t.as_array())
            .into_iter()
            .flatten()
        {
            let hosts = tls.get("hosts").and_then(|h| h.as_array());
            if hosts.is_some_and(|hs| hs.iter().any(|h| h.as_str() == Some(host))) {
                if let Some(secret) = tls.get("secretName").and_then(|s| s.as_str()) {
                    return Some(ObjectRef::new("Secret", &ing.meta.namespace, secret));
                }
            }
        }
    }
    None
}

/// Whether a pod's Ready condition is True.
fn pod_ready(json: &str) -> bool {
    #[derive(Deserialize, Default)]
    struct P {
        #[serde(default)]
        status: S,
    }
    #[derive(Deserialize, Default)]
    struct S {
        #[serde(default)]
        conditions: Option<Vec<super::pods::Condition>>,
    }
    serde_json::from_str::<P>(json).is_ok_and(|p| {
        p.status
            .conditions
            .iter()
            .flatten()
            .any(|c| c.kind == "Ready" && c.status == "True")
    })
}
