//! Pending pods beyond "the scheduler said no": a pod no scheduler ever looked at (no
//! `PodScheduled` condition, no scheduling event, while the scheduler it names placed
//! nothing since), and a request that no node of the cluster could satisfy even empty —
//! where the fix is the request, not more capacity.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{Ctx, Hit, fmt_ts, human_duration, parse_ts};
use crate::report::Severity;
use intel_engine::ObjectRef;
use intel_model::Object;
use intel_model::quantity::quantity;

/// How long a pod may wait before the scheduler's silence means something: it normally
/// binds or reports within seconds.
const SCHEDULER_SILENCE: i64 = 120;

/// Resources a pod asks for, as the scheduler sums them: the containers' requests (a
/// limit stands for a missing request), or the largest init container's where larger,
/// plus the pod's overhead.
pub(super) fn pod_requests(pod: &serde_json::Value) -> BTreeMap<String, f64> {
    let read = |c: &serde_json::Value| -> BTreeMap<String, f64> {
        let mut out = BTreeMap::new();
        for part in ["limits", "requests"] {
            if let Some(m) = c
                .pointer(&format!("/resources/{part}"))
                .and_then(|r| r.as_object())
            {
                for (k, v) in m {
                    if let Some(q) = v.as_str().and_then(quantity) {
                        out.insert(k.clone(), q);
                    }
                }
            }
        }
        out
    };
    let mut sum: BTreeMap<String, f64> = BTreeMap::new();
    for c in pod
        .pointer("/spec/containers")
        .and_then(|c| c.as_array())
        .into_iter()
        .flatten()
    {
        for (k, v) in read(c) {
            *sum.entry(k).or_default() += v;
        }
    }
    for c in pod
        .pointer("/spec/initContainers")
        .and_then(|c| c.as_array())
        .into_iter()
        .flatten()
    {
        for (k, v) in read(c) {
            let e = sum.entry(k).or_default();
            *e = e.max(v);
        }
    }
    if let Some(m) = pod.pointer("/spec/overhead").and_then(|o| o.as_object()) {
        for (k, v) in m {
            if let Some(q) = v.as_str().and_then(quantity) {
                *sum.entry(k.clone()).or_default() += q;
            }
        }
    }
    sum
}

/// The largest allocatable amount of each resource on any node, and that node.
fn largest_allocatable(ctx: &Ctx) -> BTreeMap<String, (f64, String)> {
    let mut out: BTreeMap<String, (f64, String)> = BTreeMap::new();
    for n in ctx.snap.nodes() {
        let v = n.value();
        let Some(m) = v.pointer("/status/allocatable").and_then(|a| a.as_object()) else {
            continue;
        };
        for (k, q) in m {
            let Some(q) = q.as_str().and_then(quantity) else {
                continue;
            };
            let e = out.entry(k.clone()).or_insert((q, n.meta.name.clone()));
            if q > e.0 || (q == e.0 && n.meta.name < e.1) {
                *e = (q, n.meta.name.clone());
            }
        }
    }
    out
}

/// Resources named by the scheduler's `N Insufficient <resource>` reasons.
fn insufficient(msg: &str) -> Vec<String> {
    let mut out: Vec<String> = msg
        .split("Insufficient ")
        .skip(1)
        .filter_map(|rest| rest.split([',', ' ']).next())
        .map(|r| r.trim_end_matches('.').to_string())
        .filter(|r| !r.is_empty())
        .collect();
    out.sort();
    out.dedup();
    out
}

fn show(resource: &str, v: f64) -> String {
    match resource {
        "cpu" => format!("{:.0}m CPU", v * 1000.0),
        "memory" | "ephemeral-storage" => {
            let gi = v / 1073741824.0;
            if gi >= 1.0 {
                format!("{gi:.1}Gi {resource}")
            } else {
                format!("{:.0}Mi {resource}", v / 1048576.0)
            }
        }
        _ => format!("{v} {resource}"),
    }
}

/// A pod the scheduler reports `Insufficient <resource>` for, whose request for that
/// resource exceeds what the largest node can allocate at all.
pub(super) fn beyond_any_node(
    ctx: &Ctx,
    pod: &Object,
    msg: &str,
    base: impl FnOnce(&'static str, Severity, f64) -> Hit,
    since: Option<i64>,
) -> Option<Hit> {
    let short = insufficient(msg);
    if short.is_empty() {
        return None;
    }
    let v = pod.value();
    let asks = pod_requests(&v);
    let largest = largest_allocatable(ctx);
    let over: Vec<String> = short
        .iter()
        .filter_map(|r| {
            let want = *asks.get(r)?;
            let (have, node) = largest.get(r).cloned().unwrap_or((0.0, String::new()));
            (want > have).then(|| {
                if node.is_empty() {
                    format!("{} but no node offers any", show(r, want))
                } else {
                    format!(
                        "{} but the largest node ({node}) can allocate {}",
                        show(r, want),
                        show(r, have)
                    )
                }
            })
        })
        .collect();
    if over.is_empty() {
        return None;
    }
    // A node autoscaler adding a node for it (cluster-autoscaler's TriggeredScaleUp,
    // Karpenter's Nominated): a larger node may be on its way; not a verdict yet.
    let scaling = ctx
        .snap
        .index()
        .events_for("Pod", &pod.meta.namespace, &pod.meta.name)
        .iter()
        .filter_map(|id| ctx.snap.get(*id))
        .any(|e| {
            let j = e.json();
            j.contains("\"TriggeredScaleUp\"") || j.contains("\"Nominated\"")
        });
    if scaling {
        return None;
    }
    let loc = format!(
        "Pod {}/{} spec.containers[].resources",
        pod.meta.namespace, pod.meta.name
    );
    Some(
        base("RequestExceedsNodeCapacity", Severity::Critical, 0.95)
            .msg(format!(
                "pod {} asks for {}: no node can ever run it, whatever else is running",
                pod.meta.name,
                over.join("; ")
            ))
            .since(since)
            .ev("spec", loc, over.join("; "), None)
            .ev(
                "status",
                format!(
                    "Pod {}/{} status.conditions[PodScheduled]",
                    pod.meta.namespace, pod.meta.name
                ),
                msg,
                since,
            ),
    )
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct SchedLean {
    #[serde(default)]
    spec: SchedSpec,
    #[serde(default)]
    status: SchedStatus,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct SchedSpec {
    #[serde(default)]
    scheduler_name: Option<String>,
    #[serde(default)]
    node_name: Option<String>,
}

#[derive(Deserialize, Default)]
struct SchedStatus {
    #[serde(default)]
    conditions: Option<Vec<super::pods::Condition>>,
}

/// When each scheduler (by name) last bound a pod, as far as pods' `PodScheduled`
/// conditions say.
pub(super) struct LastBinding(BTreeMap<String, i64>);

impl LastBinding {
    pub(super) fn build(ctx: &Ctx) -> LastBinding {
        let mut out: BTreeMap<String, i64> = BTreeMap::new();
        for p in ctx.snap.pods() {
            let Ok(v) = serde_json::from_str::<SchedLean>(p.json()) else {
                continue;
            };
            if v.spec.node_name.as_deref().is_none_or(str::is_empty) {
                continue;
            }
            let at = v
                .status
                .conditions
                .iter()
                .flatten()
                .find(|c| c.kind == "PodScheduled" && c.status == "True")
                .and_then(|c| c.last_transition_time.as_deref())
                .and_then(parse_ts);
            if let Some(at) = at {
                let name = v
                    .spec
                    .scheduler_name
                    .unwrap_or_else(|| "default-scheduler".into());
                let e = out.entry(name).or_insert(at);
                *e = (*e).max(at);
            }
        }
        LastBinding(out)
    }
}

/// A pod with no node and no `PodScheduled` condition at all, older than a couple of
/// minutes, with no scheduling event: no scheduler has looked at it. Only when the
/// scheduler it names has bound no pod since it was created (a live scheduler that
/// skips one pod is something else).
pub(super) fn never_scheduled(
    ctx: &Ctx,
    pod: &Object,
    created: Option<i64>,
    last: &mut Option<LastBinding>,
    base: impl FnOnce(&'static str, Severity, f64) -> Hit,
) -> Option<Hit> {
    let v: SchedLean = serde_json::from_str(pod.json()).ok()?;
    if let Some(node) = v.spec.node_name.as_deref().filter(|n| !n.is_empty()) {
        // Bound by `spec.nodeName` (no scheduler involved) to a node that does not exist:
        // no kubelet will ever run it. Only when the snapshot holds nodes at all.
        let nodes = ctx.snap.nodes();
        if nodes.is_empty() || nodes.iter().any(|n| n.meta.name == node) {
            return None;
        }
        let waited = created
            .map(|c| human_duration(ctx.now - c))
            .unwrap_or_default();
        return Some(
            base("NodeNotFound", Severity::Critical, 0.95)
                .msg(format!(
                    "pod {} is bound by spec.nodeName to node {node}, which does not exist: no kubelet will start it (pending {waited})",
                    pod.meta.name
                ))
                .since(created)
                .ev(
                    "spec",
                    format!("Pod {}/{} spec.nodeName", pod.meta.namespace, pod.meta.name),
                    format!("nodeName={node}; nodes: {}", nodes.len()),
                    created,
                ),
        );
    }
    if v.status
        .conditions
        .iter()
        .flatten()
        .any(|c| c.kind == "PodScheduled")
    {
        return None;
    }
    let created = created?;
    if ctx.now - created < SCHEDULER_SILENCE {
        return None;
    }
    let index = ctx.snap.index();
    let seen = index
        .events_for("Pod", &pod.meta.namespace, &pod.meta.name)
        .iter()
        .filter_map(|id| ctx.snap.get(*id))
        .any(|e| {
            let j = e.json();
            j.contains("\"FailedScheduling\"") || j.contains("\"Scheduled\"")
        });
    if seen {
        return None;
    }
    let scheduler = v
        .spec
        .scheduler_name
        .clone()
        .unwrap_or_else(|| "default-scheduler".into());
    let last = last.get_or_insert_with(|| LastBinding::build(ctx));
    let bound = last.0.get(&scheduler).copied();
    if bound.is_some_and(|t| t > created) {
        return None;
    }
    let waited = human_duration(ctx.now - created);
    let since_last = match bound {
        Some(t) => format!("; it last bound a pod at {}", fmt_ts(t)),
        None => "; no pod in the snapshot was bound by it".into(),
    };
    let mut h = base("SchedulerNotRunning", Severity::Critical, 0.9)
        .msg(format!(
            "pod {} has waited {waited} without any scheduler looking at it: no PodScheduled condition, no scheduling event, and scheduler \"{scheduler}\" placed nothing since{since_last}",
            pod.meta.name
        ))
        .since(Some(created))
        .ev(
            "status",
            format!("Pod {}/{} status.conditions", pod.meta.namespace, pod.meta.name),
            format!("no PodScheduled condition; spec.schedulerName={scheduler}; no node"),
            Some(created),
        );
    // The default scheduler's own pods, where the control plane is visible.
    for p in ctx
        .snap
        .pods()
        .iter()
        .filter(|_| scheduler == "default-scheduler")
    {
        if p.meta.namespace == "kube-system"
            && (p.meta.name.starts_with("kube-scheduler")
                || p.meta.labels.get("component").map(String::as_str) == Some("kube-scheduler"))
        {
            h.blames.push(ObjectRef::of(p));
        }
    }
    Some(h)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insufficient_resources_are_read_from_the_schedulers_message() {
        assert_eq!(
            insufficient(
                "0/3 nodes are available: 3 Insufficient memory. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod."
            ),
            vec!["memory"]
        );
        assert_eq!(
            insufficient(
                "0/5 nodes are available: 2 Insufficient cpu, 3 Insufficient nvidia.com/gpu, 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }."
            ),
            vec!["cpu", "nvidia.com/gpu"]
        );
        assert!(
            insufficient(
                "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector."
            )
            .is_empty()
        );
    }

    #[test]
    fn requests_sum_containers_and_take_the_largest_init_container() {
        let pod = serde_json::json!({"spec": {
            "containers": [
                {"resources": {"requests": {"cpu": "250m", "memory": "1Gi"}}},
                {"resources": {"limits": {"memory": "512Mi"}}}],
            "initContainers": [{"resources": {"requests": {"memory": "2Gi"}}}],
            "overhead": {"memory": "64Mi"}}});
        let r = pod_requests(&pod);
        assert_eq!(r["cpu"], 0.25);
        assert_eq!(r["memory"], 2.0 * 1073741824.0 + 64.0 * 1048576.0);
    }
}
