//! Pods that never get to run their containers, as the kubelet's events tell it: a
//! sandbox or container init killed for memory (a limit too low to even start), other
//! sandbox failures (the network plugin), and volumes that cannot be mounted or attached
//! (a missing ConfigMap or Secret, a hostPath of the wrong type, a volume still attached
//! elsewhere). Status shows only `ContainerCreating`; the events carry the reason.

use super::events::EventLean;
use super::{Ctx, Hit};
use crate::report::Severity;
use intel_engine::ObjectRef;
use intel_model::quantity::bytes;

#[allow(clippy::too_many_arguments)] // one event, already taken apart by the caller
pub(super) fn pod_event(
    ctx: &Ctx,
    e: &EventLean,
    pod: &ObjectRef,
    reason: &str,
    msg: &str,
    count: i64,
    loc: &str,
    out: &mut Vec<Hit>,
) {
    let w = ctx.workload(pod);
    let oom = msg.contains("OOM-killed")
        || msg.contains("memory limit too low")
        || msg.contains("oom-kill")
            && (msg.contains("container init") || reason == "FailedCreatePodSandBox");
    let evidence = format!("{msg} (x{count})");
    let mut h = if oom {
        let limit = smallest_memory_limit(ctx, pod);
        let what = match &limit {
            Some((c, l)) => {
                format!("memory limit {l} of container {c} is too low for it to even start")
            }
            None => "its memory limit is too low for it to even start".into(),
        };
        Hit::new(w.clone(), "MemoryLimitTooLow", Severity::Critical, 0.95).msg(format!(
            "pod {} cannot start: the runtime's init process was OOM-killed; {what}",
            pod.name
        ))
    } else if reason == "FailedCreatePodSandBox" {
        Hit::new(w.clone(), "SandboxCreationFailed", Severity::Critical, 0.75).msg(format!(
            "pod {} cannot get a sandbox (network or runtime): {}",
            pod.name,
            super::clip(msg, 200)
        ))
    } else if reason == "FailedMount" || reason == "FailedAttachVolume" {
        let sev = if count >= 2 {
            Severity::Critical
        } else {
            Severity::Warning
        };
        let mut h = Hit::new(w.clone(), "FailedMount", sev, 0.85).msg(format!(
            "pod {} cannot mount its volumes: {}",
            pod.name,
            super::clip(msg, 200)
        ));
        for missing in missing_objects(ctx, &pod.namespace, msg) {
            h.blames.push(missing.clone());
            let mut m = Hit::new(
                missing.clone(),
                "MissingConfigReference",
                Severity::Critical,
                0.95,
            )
            .msg(format!(
                "{} {} does not exist, and pod {} of {} mounts it",
                missing.kind, missing.name, pod.name, w.name
            ))
            .since(e.first())
            .ev("event", loc, &evidence, e.last());
            m.via = vec![w.clone(), pod.clone()];
            out.push(m);
        }
        h
    } else {
        return;
    };
    h = h.since(e.first()).ev("event", loc, evidence, e.last());
    h.via = super::pods::via_chain(ctx, pod, &w);
    out.push(h);
}

/// The smallest memory limit among the pod's containers (init containers included), as
/// written in its spec: (container, limit).
fn smallest_memory_limit(ctx: &Ctx, pod: &ObjectRef) -> Option<(String, String)> {
    let obj = ctx.object("Pod", &pod.namespace, &pod.name)?;
    let v = obj.value();
    let mut best: Option<(f64, String, String)> = None;
    for list in ["/spec/containers", "/spec/initContainers"] {
        for c in v
            .pointer(list)
            .and_then(|c| c.as_array())
            .into_iter()
            .flatten()
        {
            let Some(text) = c
                .pointer("/resources/limits/memory")
                .and_then(|l| l.as_str())
            else {
                continue;
            };
            let Some(n) = bytes(text) else { continue };
            let name = c
                .get("name")
                .and_then(|n| n.as_str())
                .unwrap_or("")
                .to_string();
            if best.as_ref().is_none_or(|(b, _, _)| n < *b) {
                best = Some((n, name, text.to_string()));
            }
        }
    }
    best.map(|(_, c, l)| (c, l))
}

/// ConfigMaps, Secrets and claims a mount error says are not found, that do not exist
/// in the snapshot either.
fn missing_objects(ctx: &Ctx, namespace: &str, msg: &str) -> Vec<ObjectRef> {
    let mut out = Vec::new();
    for (marker, kind) in [
        ("configmap \"", "ConfigMap"),
        ("secret \"", "Secret"),
        ("persistentvolumeclaim \"", "PersistentVolumeClaim"),
    ] {
        for rest in msg.split(marker).skip(1) {
            let Some((name, after)) = rest.split_once('"') else {
                continue;
            };
            if name.is_empty() || !after.trim_start().starts_with("not found") {
                continue;
            }
            if ctx.snap.index().by_name(kind, namespace, name).is_empty() {
                out.push(ObjectRef::new(kind, namespace, name));
            }
        }
    }
    out.sort();
    out.dedup();
    out
}
