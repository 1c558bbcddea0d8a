//! Pod status: waiting and terminated reasons, restarts, Pending with the scheduler's
//! reason, evictions, containers not ready. Findings are reported on the workload that
//! owns the pods (the thing an engineer fixes), with the pod in `via`.

use serde::Deserialize;

use super::{Ctx, Hit, parse_ts};
use crate::report::Severity;
use intel_engine::ObjectRef;
use intel_engine::relations::RelationKind;

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct PodLean {
    #[serde(default)]
    metadata: MetaLean,
    #[serde(default)]
    status: StatusLean,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct MetaLean {
    #[serde(default)]
    creation_timestamp: Option<String>,
    #[serde(default)]
    deletion_timestamp: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct StatusLean {
    #[serde(default)]
    phase: Option<String>,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    conditions: Option<Vec<Condition>>,
    #[serde(default)]
    container_statuses: Option<Vec<ContainerStatus>>,
    #[serde(default)]
    init_container_statuses: Option<Vec<ContainerStatus>>,
    #[serde(default)]
    start_time: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(super) struct Condition {
    #[serde(default, rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub last_transition_time: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct ContainerStatus {
    #[serde(default)]
    name: String,
    #[serde(default)]
    ready: bool,
    #[serde(default)]
    restart_count: i64,
    #[serde(default)]
    state: Option<State>,
    #[serde(default)]
    last_state: Option<State>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct State {
    #[serde(default)]
    waiting: Option<Waiting>,
    #[serde(default)]
    terminated: Option<Terminated>,
    #[serde(default)]
    running: Option<Running>,
}

#[derive(Deserialize, Default)]
struct Waiting {
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Terminated {
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    exit_code: i64,
    #[serde(default)]
    finished_at: Option<String>,
    #[serde(default)]
    started_at: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Running {
    #[serde(default)]
    started_at: Option<String>,
}

/// Restarts below this within a pod's life are noise, not a finding.
const RESTARTS_WORTH_A_FINDING: i64 = 3;

pub(super) fn detect(ctx: &Ctx, out: &mut Vec<Hit>) {
    // When each scheduler last bound a pod: built only if a pod was never scheduled.
    let mut last_binding = None;
    for pod in ctx.snap.pods() {
        if !ctx.in_scope(&pod.meta.namespace) {
            continue;
        }
        let Ok(p) = serde_json::from_str::<PodLean>(pod.json()) else {
            continue;
        };
        if p.metadata.deletion_timestamp.is_some() {
            continue;
        }
        let pref = ObjectRef::of(pod);
        let workload = ctx.workload(&pref);
        let via = via_chain(ctx, &pref, &workload);
        let created = p.metadata.creation_timestamp.as_deref().and_then(parse_ts);
        let loc = |field: &str| format!("Pod {}/{} {field}", pref.namespace, pref.name);
        let base = |kind: &'static str, sev: Severity, cause: f64| {
            let mut h = Hit::new(workload.clone(), kind, sev, cause);
            h.via = via.clone();
            h
        };
        let st = &p.status;
        let phase = st.phase.as_deref().unwrap_or("");

        if st.reason.as_deref() == Some("Evicted") || (phase == "Failed" && st.reason.is_some()) {
            let msg = st.message.clone().unwrap_or_default();
            let mut h = base("Evicted", Severity::Warning, 0.2)
                .msg(format!(
                    "pod {} was evicted: {}",
                    pref.name,
                    super::clip(&msg, 160)
                ))
                .ev("status", loc("status.message"), &msg, None);
            if let Some(node) = ctx
                .rel
                .from(&pref)
                .iter()
                .find(|r| r.kind == RelationKind::RunsOn)
            {
                h.blames.push((*node.to).clone());
            }
            if let Some(top) = eviction_culprit(&msg) {
                if let Some(w) = container_workload(ctx, &pref.namespace, &top, &msg) {
                    h.blames.push(w);
                }
            }
            out.push(h);
            continue;
        }

        if phase == "Pending" {
            let sched = st
                .conditions
                .iter()
                .flatten()
                .find(|c| c.kind == "PodScheduled" && c.status == "False");
            if let Some(c) = sched {
                let msg = c.message.clone().unwrap_or_default();
                let since = c
                    .last_transition_time
                    .as_deref()
                    .and_then(parse_ts)
                    .or(created);
                let mut h = base("Unschedulable", Severity::Critical, 0.75)
                    .msg(format!(
                        "pod {} cannot be scheduled: {}",
                        pref.name,
                        super::clip(&msg, 200)
                    ))
                    .since(since)
                    .ev(
                        "status",
                        loc("status.conditions[PodScheduled]"),
                        &msg,
                        since,
                    );
                // The scheduler's words for a claim that pins the pod where it cannot go:
                // VolumeBinding's (renamed in 1.33), VolumeZone's, and the PreFilter's.
                if msg.contains("volume node affinity conflict")
                    || msg.contains("didn't match PersistentVolume's node affinity")
                    || msg.contains("had no available volume zone")
                    || msg.contains("unbound immediate PersistentVolumeClaims")
                {
                    for r in ctx.rel.from(&pref) {
                        if r.kind == RelationKind::Mounts {
                            h.blames.push((*r.to).clone());
                            let mut v = Hit::new(
                                (*r.to).clone(),
                                "VolumeZoneConflict",
                                Severity::Critical,
                                0.95,
                            )
                            .msg(format!(
                                "claim {} pins pod {} to a zone where it cannot be scheduled",
                                r.to.name, pref.name
                            ))
                            .since(since)
                            .ev(
                                "status",
                                loc("status.conditions[PodScheduled]"),
                                &msg,
                                since,
                            );
                            v.via = vec![pref.clone(), workload.clone()];
                            out.push(v);
                        }
                    }
                }
                if let Some(b) = super::scheduling::beyond_any_node(ctx, pod, &msg, base, since) {
                    out.push(b);
                }
                out.push(h);
            } else if let Some(h) =
                super::scheduling::never_scheduled(ctx, pod, created, &mut last_binding, base)
            {
                out.push(h);
            }
        }

        let containers = st
            .init_container_statuses
            .iter()
            .flatten()
            .chain(st.container_statuses.iter().flatten());
        for cs in containers {
            let waiting = cs.state.as_ref().and_then(|s| s.waiting.as_ref());
            let last = cs.last_state.as_ref().and_then(|s| s.terminated.as_ref());
            let cur_term = cs.state.as_ref().and_then(|s| s.terminated.as_ref());
            let wreason = waiting.and_then(|w| w.reason.as_deref()).unwrap_or("");
            let wmsg = waiting.and_then(|w| w.message.as_deref()).unwrap_or("");
            let last_reason = last.and_then(|t| t.reason.as_deref()).unwrap_or("");
            let field = |f: &str| loc(&format!("status.containerStatuses[{}].{f}", cs.name));
            let first_failure = last
                .and_then(|t| t.started_at.as_deref().and_then(parse_ts))
                .or(created);
            match wreason {
                "ImagePullBackOff" | "ErrImagePull" | "InvalidImageName" => {
                    out.push(
                        base("ImagePullBackOff", Severity::Critical, 0.9)
                            .msg(format!(
                                "container {} of pod {} cannot pull its image: {}",
                                cs.name,
                                pref.name,
                                super::clip(wmsg, 200)
                            ))
                            .since(created)
                            .ev(
                                "status",
                                field("state.waiting"),
                                format!("{wreason}: {wmsg}"),
                                None,
                            ),
                    );
                }
                "CreateContainerConfigError" | "CreateContainerError" | "RunContainerError" => {
                    let mut h = base("CreateContainerConfigError", Severity::Critical, 0.9)
                        .msg(format!(
                            "container {} of pod {} cannot start: {}",
                            cs.name,
                            pref.name,
                            super::clip(wmsg, 200)
                        ))
                        .since(created)
                        .ev(
                            "status",
                            field("state.waiting"),
                            format!("{wreason}: {wmsg}"),
                            None,
                        );
                    for cfg in config_named(ctx, &pref.namespace, wmsg) {
                        h.blames.push(cfg.clone());
                        let mut c = Hit::new(
                            cfg.clone(),
                            "MissingConfigReference",
                            Severity::Critical,
                            0.95,
                        )
                        .msg(format!(
                            "{} {} lacks what container {} of {} needs: {}",
                            cfg.kind,
                            cfg.name,
                            cs.name,
                            workload.name,
                            super::clip(wmsg, 160)
                        ))
                        .since(created)
                        .ev(
                            "status",
                            field("state.waiting"),
                            format!("{wreason}: {wmsg}"),
                            None,
                        );
                        c.via = std::iter::once(workload.clone())
                            .chain(via.iter().cloned())
                            .collect();
                        out.push(c);
                    }
                    out.push(h);
                }
                "CrashLoopBackOff" => {
                    let oom = last_reason == "OOMKilled";
                    let kind = if oom { "OOMKilled" } else { "CrashLoopBackOff" };
                    let code = last.map(|t| t.exit_code).unwrap_or(0);
                    out.push(
                        base(kind, Severity::Critical, if oom { 0.85 } else { 0.8 })
                            .msg(format!(
                                "container {} of pod {} is crash-looping ({} restarts, last exit: {} code {code})",
                                cs.name,
                                pref.name,
                                cs.restart_count,
                                if last_reason.is_empty() { "unknown" } else { last_reason }
                            ))
                            .since(created.or(first_failure))
                            .ev(
                                "status",
                                field("lastState.terminated"),
                                format!("reason={last_reason} exitCode={code} restartCount={}", cs.restart_count),
                                last.and_then(|t| t.finished_at.as_deref().and_then(parse_ts)),
                            ),
                    );
                }
                _ => {
                    if let Some(t) = cur_term.filter(|t| t.exit_code != 0 && phase != "Succeeded") {
                        let reason = t.reason.as_deref().unwrap_or("Error");
                        out.push(
                            base(
                                if reason == "OOMKilled" {
                                    "OOMKilled"
                                } else {
                                    "ContainerFailed"
                                },
                                Severity::Warning,
                                0.6,
                            )
                            .msg(format!(
                                "container {} of pod {} terminated: {reason} (exit code {})",
                                cs.name, pref.name, t.exit_code
                            ))
                            .since(t.finished_at.as_deref().and_then(parse_ts))
                            .ev(
                                "status",
                                field("state.terminated"),
                                format!("reason={reason} exitCode={}", t.exit_code),
                                None,
                            ),
                        );
                    } else if cs.restart_count >= RESTARTS_WORTH_A_FINDING && last.is_some() {
                        let finished =
                            last.and_then(|t| t.finished_at.as_deref().and_then(parse_ts));
                        let oom = last_reason == "OOMKilled";
                        out.push(
                            base(
                                if oom { "OOMKilled" } else { "Restarts" },
                                Severity::Warning,
                                if oom { 0.8 } else { 0.5 },
                            )
                            .msg(format!(
                                "container {} of pod {} restarted {} times (last: {})",
                                cs.name, pref.name, cs.restart_count, last_reason
                            ))
                            .since(finished)
                            .ev(
                                "status",
                                field("restartCount"),
                                format!(
                                    "restartCount={} lastState={last_reason}",
                                    cs.restart_count
                                ),
                                finished,
                            ),
                        );
                    } else if !cs.ready
                        && phase == "Running"
                        && cs.state.as_ref().is_some_and(|s| s.running.is_some())
                    {
                        let started = cs
                            .state
                            .as_ref()
                            .and_then(|s| s.running.as_ref())
                            .and_then(|r| r.started_at.as_deref())
                            .and_then(parse_ts);
                        out.push(
                            base("NotReady", Severity::Warning, 0.3)
                                .msg(format!(
                                    "container {} of pod {} is running but not ready",
                                    cs.name, pref.name
                                ))
                                .since(started)
                                .ev("status", field("ready"), "ready=false", None),
                        );
                    }
                }
            }
        }
        let _ = &st.start_time;
    }
}

/// Pod → ReplicaSet/Job → … up to (not including) the workload: the chain's middle.
pub(super) fn via_chain(ctx: &Ctx, pod: &ObjectRef, workload: &ObjectRef) -> Vec<ObjectRef> {
    let mut chain = vec![pod.clone()];
    let mut cur = pod.clone();
    for _ in 0..4 {
        let Some(next) = ctx
            .rel
            .from(&cur)
            .iter()
            .find(|r| r.kind == RelationKind::OwnedBy)
            .map(|r| r.to.clone())
        else {
            break;
        };
        if *next == *workload {
            break;
        }
        chain.push((*next).clone());
        cur = (*next).clone();
    }
    chain.reverse();
    chain
}

/// "Container notification was using 42379532Ki…" → `notification`.
fn eviction_culprit(msg: &str) -> Option<String> {
    let rest = msg.split("Container ").nth(1)?;
    let name = rest.split_whitespace().next()?;
    rest.contains("was using").then(|| name.to_string())
}

/// The workload of the pod in `namespace` named by an eviction message: the container
/// name matched against the workloads' pods on the same node would be exact, but the
/// kubelet message names only the container; a workload of that name is the usual case.
fn container_workload(
    ctx: &Ctx,
    namespace: &str,
    container: &str,
    _msg: &str,
) -> Option<ObjectRef> {
    ctx.rel
        .workloads()
        .find(|w| w.namespace == namespace && w.name == container)
        .cloned()
}

/// ConfigMaps and Secrets a kubelet message names: `couldn't find key X in ConfigMap
/// ns/name`, `configmap "name" not found`, `secret "name" not found`.
pub(super) fn config_named(ctx: &Ctx, namespace: &str, msg: &str) -> Vec<ObjectRef> {
    let mut out = Vec::new();
    for (kind, marker) in [("ConfigMap", "ConfigMap "), ("Secret", "Secret ")] {
        if let Some(rest) = msg.split(marker).nth(1) {
            let token = rest.split_whitespace().next().unwrap_or("");
            let name = token
                .rsplit('/')
                .next()
                .unwrap_or("")
                .trim_matches(['"', '\'', '.']);
            if !name.is_empty() {
                out.push(ObjectRef::new(kind, namespace, name));
            }
        }
    }
    for (kind, marker) in [("ConfigMap", "configmap \""), ("Secret", "secret \"")] {
        if let Some(rest) = msg.split(marker).nth(1) {
            let name = rest.split('"').next().unwrap_or("");
            if !name.is_empty() {
                out.push(ObjectRef::new(kind, namespace, name));
            }
        }
    }
    out.retain(|r| {
        !ctx.snap
            .index()
            .by_name(&r.kind, &r.namespace, &r.name)
            .is_empty()
            || r.kind == "ConfigMap"
    });
    out
}
