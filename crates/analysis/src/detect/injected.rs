//! Faults someone injected on purpose, still in force: Chaos Mesh experiments (PodChaos,
//! NetworkChaos, StressChaos, IOChaos, HTTPChaos, DNSChaos, TimeChaos, JVMChaos…) that are
//! running and not recovered or paused, LitmusChaos engines still running, and Istio
//! VirtualServices that inject delays or aborts. The finding is on the workload the fault
//! hits (found from the experiment's records of injected pods, or its selector), with the
//! fault's object on the path: that is where the symptom comes from, and what to stop.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{Ctx, Hit, jstr, parse_ts};
use crate::report::Severity;
use intel_engine::ObjectRef;

const CHAOS_MESH: &str = "chaos-mesh.org";

pub(super) fn detect(ctx: &Ctx, out: &mut Vec<Hit>) {
    for (key, list) in &ctx.snap.resources {
        if key.group != CHAOS_MESH || !list.rtype.kind.ends_with("Chaos") {
            continue;
        }
        for obj in &list.items {
            if ctx.in_scope(&obj.meta.namespace) {
                chaos_mesh(ctx, &obj.value(), out);
            }
        }
    }
    for obj in ctx.snap.items("litmuschaos.io", "chaosengines") {
        if ctx.in_scope(&obj.meta.namespace) {
            litmus(ctx, &obj.value(), out);
        }
    }
    for obj in ctx.snap.items("networking.istio.io", "virtualservices") {
        if ctx.in_scope(&obj.meta.namespace) {
            istio_fault(ctx, &obj.value(), out);
        }
    }
}

fn condition(v: &Value, kind: &str) -> Option<bool> {
    v.pointer("/status/conditions")?
        .as_array()?
        .iter()
        .find(|c| jstr(c, &["type"]) == Some(kind))
        .map(|c| jstr(c, &["status"]) == Some("True"))
}

/// What a Chaos Mesh experiment does, in words.
fn chaos_action(kind: &str, v: &Value) -> String {
    let spec = v.get("spec").cloned().unwrap_or(Value::Null);
    let action = jstr(&spec, &["action"]).unwrap_or("");
    match kind {
        "NetworkChaos" => {
            let detail = match action {
                "delay" => jstr(&spec, &["delay", "latency"])
                    .map(|l| format!(" of {l}"))
                    .unwrap_or_default(),
                "loss" => jstr(&spec, &["loss", "loss"])
                    .map(|l| format!(" of {l}%"))
                    .unwrap_or_default(),
                "bandwidth" => jstr(&spec, &["bandwidth", "rate"])
                    .map(|l| format!(" to {l}"))
                    .unwrap_or_default(),
                _ => String::new(),
            };
            format!("network {action}{detail}")
        }
        "StressChaos" => {
            let mut parts = Vec::new();
            if let Some(c) = spec.pointer("/stressors/cpu") {
                parts.push(format!(
                    "CPU stress ({} workers at {}%)",
                    c.get("workers").and_then(|w| w.as_i64()).unwrap_or(1),
                    c.get("load").and_then(|w| w.as_i64()).unwrap_or(100)
                ));
            }
            if let Some(m) = spec.pointer("/stressors/memory") {
                parts.push(format!(
                    "memory stress ({})",
                    jstr(m, &["size"]).unwrap_or("unbounded")
                ));
            }
            if parts.is_empty() {
                "resource stress".into()
            } else {
                parts.join(" and ")
            }
        }
        "PodChaos" => format!("pod fault: {action}"),
        "HTTPChaos" => format!(
            "HTTP fault on {}: {}",
            jstr(&spec, &["target"]).unwrap_or("requests"),
            if spec.get("abort").is_some() {
                "abort"
            } else if spec.get("delay").is_some() {
                "delay"
            } else {
                "rewrite"
            }
        ),
        "DNSChaos" => format!("DNS fault: {action}"),
        "IOChaos" => format!("disk I/O fault: {action}"),
        "TimeChaos" => "clock skew".into(),
        "JVMChaos" => format!("JVM fault: {action}"),
        _ => format!("{kind} {action}").trim().to_string(),
    }
}

fn chaos_mesh(ctx: &Ctx, v: &Value, out: &mut Vec<Hit>) {
    let kind = jstr(v, &["kind"]).unwrap_or("");
    let name = jstr(v, &["metadata", "name"]).unwrap_or("");
    let ns = jstr(v, &["metadata", "namespace"]).unwrap_or("");
    let phase = jstr(v, &["status", "experiment", "desiredPhase"]);
    if phase == Some("Stop")
        || condition(v, "Paused") == Some(true)
        || condition(v, "AllRecovered") == Some(true)
    {
        return;
    }
    let created = jstr(v, &["metadata", "creationTimestamp"]).and_then(parse_ts);
    // A duration that has run out (from creation) is over, whatever the status says.
    if let (Some(c), Some(d)) = (
        created,
        jstr(v, &["spec", "duration"]).and_then(|d| intel_model::duration::parse_duration(d).ok()),
    ) {
        if c.saturating_add(d.as_secs() as i64) < ctx.now {
            return;
        }
    }
    let chaos = ObjectRef::new(kind, ns, name);
    // The pods it was injected into, as its records say; else those its selector picks.
    let mut pods: Vec<ObjectRef> = v
        .pointer("/status/experiment/containerRecords")
        .and_then(|r| r.as_array())
        .into_iter()
        .flatten()
        .filter(|r| jstr(r, &["phase"]) != Some("Not Injected"))
        .filter_map(|r| {
            let id = jstr(r, &["id"])?;
            let mut parts = id.split('/');
            Some(ObjectRef::new("Pod", parts.next()?, parts.next()?))
        })
        .collect();
    if pods.is_empty() {
        pods = selected_pods(ctx, v.pointer("/spec/selector"), ns);
    }
    let action = chaos_action(kind, v);
    targets(ctx, &chaos, &pods, &action, created, out);
}

/// Pods a Chaos Mesh selector picks: `pods` by name, or `labelSelectors` within
/// `namespaces` (the experiment's own when none is given).
fn selected_pods(ctx: &Ctx, selector: Option<&Value>, own: &str) -> Vec<ObjectRef> {
    let Some(sel) = selector else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if let Some(by_ns) = sel.get("pods").and_then(|p| p.as_object()) {
        for (ns, names) in by_ns {
            for n in names
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|n| n.as_str())
            {
                out.push(ObjectRef::new("Pod", ns, n));
            }
        }
        return out;
    }
    let namespaces: Vec<String> = sel
        .get("namespaces")
        .and_then(|n| n.as_array())
        .map(|n| {
            n.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_else(|| vec![own.to_string()]);
    let labels: BTreeMap<String, String> = sel
        .get("labelSelectors")
        .and_then(|l| serde_json::from_value(l.clone()).ok())
        .unwrap_or_default();
    if labels.is_empty() {
        return out;
    }
    for p in ctx.snap.pods() {
        if namespaces.contains(&p.meta.namespace)
            && labels.iter().all(|(k, v)| p.meta.labels.get(k) == Some(v))
        {
            out.push(ObjectRef::of(p));
        }
    }
    out
}

/// One finding per workload the fault's pods belong to.
fn targets(
    ctx: &Ctx,
    source: &ObjectRef,
    pods: &[ObjectRef],
    action: &str,
    since: Option<i64>,
    out: &mut Vec<Hit>,
) {
    let mut workloads: BTreeMap<ObjectRef, Vec<String>> = BTreeMap::new();
    for p in pods {
        workloads
            .entry(ctx.workload(p))
            .or_default()
            .push(p.name.clone());
    }
    for (w, names) in workloads {
        let mut h = Hit::new(w.clone(), "FaultInjection", Severity::Critical, 0.95)
            .msg(format!(
                "{} {} injects {action} into {} {} ({} pod{})",
                source.kind,
                source.name,
                w.kind,
                w.name,
                names.len(),
                if names.len() == 1 { "" } else { "s" }
            ))
            .since(since)
            .ev(
                "spec",
                format!("{} {}/{}", source.kind, source.namespace, source.name),
                format!("{action}; pods {}", names.join(", ")),
                since,
            );
        h.via = vec![source.clone()];
        out.push(h);
    }
}

/// A LitmusChaos engine not completed or stopped: the experiment it runs against the
/// application it names (`appinfo`).
fn litmus(ctx: &Ctx, v: &Value, out: &mut Vec<Hit>) {
    let status = jstr(v, &["status", "engineStatus"]).unwrap_or("");
    if matches!(status, "completed" | "stopped")
        || jstr(v, &["spec", "engineState"]) == Some("stop")
    {
        return;
    }
    let name = jstr(v, &["metadata", "name"]).unwrap_or("");
    let ns = jstr(v, &["metadata", "namespace"]).unwrap_or("");
    let app_ns = jstr(v, &["spec", "appinfo", "appns"]).unwrap_or(ns);
    let Some((k, val)) = jstr(v, &["spec", "appinfo", "applabel"]).and_then(|l| l.split_once('='))
    else {
        return;
    };
    let experiments: Vec<&str> = v
        .pointer("/spec/experiments")
        .and_then(|e| e.as_array())
        .into_iter()
        .flatten()
        .filter_map(|e| jstr(e, &["name"]))
        .collect();
    let pods: Vec<ObjectRef> = ctx
        .snap
        .pods()
        .iter()
        .filter(|p| {
            p.meta.namespace == app_ns && p.meta.labels.get(k).map(String::as_str) == Some(val)
        })
        .map(ObjectRef::of)
        .collect();
    let since = jstr(v, &["metadata", "creationTimestamp"]).and_then(parse_ts);
    targets(
        ctx,
        &ObjectRef::new("ChaosEngine", ns, name),
        &pods,
        &format!("chaos experiment {}", experiments.join(", ")),
        since,
        out,
    );
}

/// An Istio VirtualService whose HTTP routes inject a delay or an abort: the workloads
/// behind the routes' destinations answer slowly or with errors, by configuration.
fn istio_fault(ctx: &Ctx, v: &Value, out: &mut Vec<Hit>) {
    let name = jstr(v, &["metadata", "name"]).unwrap_or("");
    let ns = jstr(v, &["metadata", "namespace"]).unwrap_or("");
    let since = jstr(v, &["metadata", "creationTimestamp"]).and_then(parse_ts);
    let vs = ObjectRef::new("VirtualService", ns, name);
    for route in v
        .pointer("/spec/http")
        .and_then(|h| h.as_array())
        .into_iter()
        .flatten()
    {
        let Some(fault) = route.get("fault") else {
            continue;
        };
        let percent = |f: &Value| {
            f.pointer("/percentage/value")
                .and_then(|p| p.as_f64())
                .map(|p| format!(" to {p}% of requests"))
                .unwrap_or_default()
        };
        let mut what = Vec::new();
        if let Some(d) = fault.get("delay") {
            what.push(format!(
                "a {} delay{}",
                jstr(d, &["fixedDelay"]).unwrap_or("fixed"),
                percent(d)
            ));
        }
        if let Some(a) = fault.get("abort") {
            what.push(format!(
                "HTTP {} aborts{}",
                a.get("httpStatus").and_then(|s| s.as_i64()).unwrap_or(0),
                percent(a)
            ));
        }
        if what.is_empty() {
            continue;
        }
        let mut pods = Vec::new();
        for dest in route
            .get("route")
            .and_then(|r| r.as_array())
            .into_iter()
            .flatten()
        {
            let Some(host) = jstr(dest, &["destination", "host"]) else {
                continue;
            };
            let mut labels = host.split('.');
            let svc = labels.next().unwrap_or("");
            let svc_ns = labels.next().unwrap_or(ns);
            let sref = ObjectRef::new("Service", svc_ns, svc);
            if let Some(w) = ctx
                .rel
                .service_map()
                .node(&sref)
                .and_then(|n| n.service_for.clone())
            {
                pods.extend(ctx.rel.pods_of(&w));
            }
        }
        targets(ctx, &vs, &pods, &what.join(" and "), since, out);
    }
}
