//! Controllers and their changes: rollouts, edits to specs and ConfigMaps (managedFields
//! times), Deployments that lost replicas or stopped progressing, autoscalers at their
//! ceiling or unable to scale, budgets that allow no disruption, suspended or silent
//! CronJobs, failed Jobs.

use super::services::{Managed, last_edit};
use super::{Change, Ctx, Hit, human_duration, jint, jstr, parse_ts};
use crate::report::Severity;
use intel_engine::ObjectRef;
use intel_engine::relations::RelationKind;

/// Edits by these managers are the cluster maintaining itself, not a change by a person
/// or a pipeline.
fn is_controller(manager: &str) -> bool {
    manager.starts_with("kube-controller-manager")
        || manager == "kubelet"
        || manager.ends_with("-controller")
        || manager == "kube-scheduler"
}

fn managed(v: &serde_json::Value) -> Option<Vec<Managed>> {
    v.pointer("/metadata/managedFields")
        .and_then(|m| serde_json::from_value(m.clone()).ok())
}

fn created(v: &serde_json::Value) -> Option<i64> {
    jstr(v, &["metadata", "creationTimestamp"]).and_then(parse_ts)
}

pub(super) fn detect(ctx: &Ctx, out: &mut Vec<Hit>) -> Vec<Change> {
    let mut changes = Vec::new();
    rollouts(ctx, &mut changes);
    edits(ctx, &mut changes);
    deployments(ctx, out);
    autoscalers(ctx, out);
    budgets(ctx, out);
    cronjobs(ctx, out);
    jobs(ctx, out);
    changes
}

/// A ReplicaSet created after its Deployment is a rollout; its images against the
/// previous revision's say what changed.
fn rollouts(ctx: &Ctx, changes: &mut Vec<Change>) {
    let mut by_owner: std::collections::BTreeMap<ObjectRef, Vec<(i64, i64, String, ObjectRef)>> =
        Default::default();
    for rs in ctx.snap.items("apps", "replicasets") {
        if !ctx.in_scope(&rs.meta.namespace) {
            continue;
        }
        let rref = ObjectRef::of(rs);
        let Some(owner) = ctx
            .rel
            .from(&rref)
            .iter()
            .find(|r| r.kind == RelationKind::OwnedBy)
            .map(|r| (*r.to).clone())
        else {
            continue;
        };
        let v = rs.value();
        let rev = jstr(
            &v,
            &[
                "metadata",
                "annotations",
                "deployment.kubernetes.io/revision",
            ],
        )
        .and_then(|r| r.parse::<i64>().ok())
        .unwrap_or(0);
        let images = v
            .pointer("/spec/template/spec/containers")
            .and_then(|c| c.as_array())
            .map(|cs| {
                cs.iter()
                    .filter_map(|c| c.get("image").and_then(|i| i.as_str()))
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default();
        if let Some(t) = created(&v) {
            by_owner
                .entry(owner)
                .or_default()
                .push((rev, t, images, rref));
        }
    }
    for (owner, mut sets) in by_owner {
        sets.sort();
        for i in 1..sets.len() {
            let (rev, at, images, rs) = &sets[i];
            let prev = &sets[i - 1].2;
            let what = if prev != images {
                format!("rolled out {images} (was {prev})")
            } else {
                "rolled out a new pod template (same images: configuration or resources changed)"
                    .to_string()
            };
            changes.push(Change {
                subject: owner.clone(),
                at: *at,
                kind: "rollout",
                message: format!("{} {} {what}, revision {rev}", owner.kind, owner.name),
                via: Some(rs.clone()),
            });
        }
    }
}

/// Edits recorded in managedFields after creation: ConfigMaps (and the workloads that use
/// them), workload specs, Services, autoscalers, budgets, CronJobs.
fn edits(ctx: &Ctx, changes: &mut Vec<Change>) {
    let kinds: [(&str, &str); 9] = [
        ("", "configmaps"),
        ("apps", "deployments"),
        ("apps", "statefulsets"),
        ("apps", "daemonsets"),
        ("", "services"),
        ("autoscaling", "horizontalpodautoscalers"),
        ("policy", "poddisruptionbudgets"),
        ("batch", "cronjobs"),
        ("networking.k8s.io", "ingresses"),
    ];
    for (group, plural) in kinds {
        for obj in ctx.snap.items(group, plural) {
            if !ctx.in_scope(&obj.meta.namespace) {
                continue;
            }
            let v = obj.value();
            let born = created(&v).unwrap_or(i64::MIN);
            let Some(fields) = managed(&v) else { continue };
            let oref = ObjectRef::of(obj);
            for f in &fields {
                let (Some(t), Some(m)) =
                    (f.time.as_deref().and_then(parse_ts), f.manager.as_deref())
                else {
                    continue;
                };
                if t <= born + 60 || is_controller(m) || f.operation.as_deref() == Some("Create") {
                    continue;
                }
                let kind = if plural == "configmaps" {
                    "config-edit"
                } else {
                    "spec-edit"
                };
                changes.push(Change {
                    subject: oref.clone(),
                    at: t,
                    kind,
                    message: format!("{} {} edited by {m}", oref.kind, oref.name),
                    via: None,
                });
                if plural == "configmaps" {
                    for r in ctx.rel.to(&oref) {
                        if r.kind == RelationKind::UsesConfig {
                            changes.push(Change {
                                subject: (*r.from).clone(),
                                at: t,
                                kind,
                                message: format!(
                                    "ConfigMap {} it uses was edited by {m}",
                                    oref.name
                                ),
                                via: Some(oref.clone()),
                            });
                        }
                    }
                }
            }
        }
    }
}

fn deployments(ctx: &Ctx, out: &mut Vec<Hit>) {
    for (group, plural) in [("apps", "deployments"), ("apps", "statefulsets")] {
        for d in ctx.snap.items(group, plural) {
            if !ctx.in_scope(&d.meta.namespace) {
                continue;
            }
            let v = d.value();
            let dref = ObjectRef::of(d);
            let want = jint(&v, &["spec", "replicas"]).unwrap_or(1);
            let ready = jint(&v, &["status", "readyReplicas"]).unwrap_or(0);
            let loc = format!("{} {}/{} status", dref.kind, dref.namespace, dref.name);
            if want > 0 && ready < want {
                let sev = if ready == 0 {
                    Severity::Critical
                } else {
                    Severity::Warning
                };
                out.push(
                    Hit::new(dref.clone(), "ReplicasUnavailable", sev, 0.1)
                        .msg(format!(
                            "{} {} has {ready}/{want} replicas ready",
                            dref.kind, dref.name
                        ))
                        .ev(
                            "status",
                            loc.clone(),
                            format!("readyReplicas={ready} replicas={want}"),
                            None,
                        ),
                );
            }
            for c in v
                .pointer("/status/conditions")
                .and_then(|c| c.as_array())
                .into_iter()
                .flatten()
            {
                let kind = c.get("type").and_then(|t| t.as_str()).unwrap_or("");
                let status = c.get("status").and_then(|t| t.as_str()).unwrap_or("");
                let reason = c.get("reason").and_then(|t| t.as_str()).unwrap_or("");
                let msg = c.get("message").and_then(|t| t.as_str()).unwrap_or("");
                let at = c
                    .get("lastTransitionTime")
                    .and_then(|t| t.as_str())
                    .and_then(parse_ts);
                if kind == "Progressing" && status == "False" {
                    out.push(
                        Hit::new(dref.clone(), "RolloutStuck", Severity::Warning, 0.2)
                            .msg(format!(
                                "the rollout of {} stopped progressing: {reason}",
                                dref.name
                            ))
                            .since(at)
                            .ev(
                                "status",
                                format!("{loc}.conditions[Progressing]"),
                                format!("{reason}: {msg}"),
                                at,
                            ),
                    );
                }
            }
        }
    }
}

fn autoscalers(ctx: &Ctx, out: &mut Vec<Hit>) {
    for hpa in ctx.snap.items("autoscaling", "horizontalpodautoscalers") {
        if !ctx.in_scope(&hpa.meta.namespace) {
            continue;
        }
        let v = hpa.value();
        let href = ObjectRef::of(hpa);
        let max = jint(&v, &["spec", "maxReplicas"]).unwrap_or(0);
        let current = jint(&v, &["status", "currentReplicas"]).unwrap_or(0);
        let desired = jint(&v, &["status", "desiredReplicas"]).unwrap_or(0);
        let target = jstr(&v, &["spec", "scaleTargetRef", "name"]).unwrap_or("");
        let target_kind = jstr(&v, &["spec", "scaleTargetRef", "kind"]).unwrap_or("Deployment");
        let loc = format!(
            "HorizontalPodAutoscaler {}/{} status",
            href.namespace, href.name
        );
        let conditions: Vec<&serde_json::Value> = v
            .pointer("/status/conditions")
            .and_then(|c| c.as_array())
            .map(|c| c.iter().collect())
            .unwrap_or_default();
        let cond = |t: &str| {
            conditions
                .iter()
                .find(|c| c.get("type").and_then(|x| x.as_str()) == Some(t))
        };
        let limited = cond("ScalingLimited").filter(|c| {
            c.get("status").and_then(|s| s.as_str()) == Some("True")
                && c.get("reason").and_then(|s| s.as_str()) == Some("TooManyReplicas")
        });
        if max > 0 && current >= max && (limited.is_some() || desired > max) {
            let at = limited
                .and_then(|c| c.get("lastTransitionTime"))
                .and_then(|t| t.as_str())
                .and_then(parse_ts);
            let metrics = v
                .pointer("/status/currentMetrics")
                .map(|m| m.to_string())
                .unwrap_or_default();
            let mut h = Hit::new(href.clone(), "AutoscalerAtMax", Severity::Critical, 0.7)
                .msg(format!(
                    "autoscaler {} is pinned at maxReplicas {max} and wants more: {target_kind} {target} cannot keep up",
                    href.name
                ))
                .since(at)
                .ev("status", loc.clone(), format!("currentReplicas={current} desiredReplicas={desired} maxReplicas={max}"), at);
            if !metrics.is_empty() {
                h = h.ev("status", format!("{loc}.currentMetrics"), metrics, None);
            }
            h.via = vec![ObjectRef::new(target_kind, &href.namespace, target)];
            out.push(h);
        }
        for t in ["AbleToScale", "ScalingActive"] {
            if let Some(c) =
                cond(t).filter(|c| c.get("status").and_then(|s| s.as_str()) == Some("False"))
            {
                let reason = c.get("reason").and_then(|s| s.as_str()).unwrap_or("");
                let msg = c.get("message").and_then(|s| s.as_str()).unwrap_or("");
                let at = c
                    .get("lastTransitionTime")
                    .and_then(|t| t.as_str())
                    .and_then(parse_ts);
                out.push(
                    Hit::new(
                        href.clone(),
                        "AutoscalerUnableToScale",
                        Severity::Warning,
                        0.6,
                    )
                    .msg(format!("autoscaler {} cannot scale: {reason}", href.name))
                    .since(at)
                    .ev(
                        "status",
                        format!("{loc}.conditions[{t}]"),
                        format!("{reason}: {msg}"),
                        at,
                    ),
                );
            }
        }
    }
}

fn budgets(ctx: &Ctx, out: &mut Vec<Hit>) {
    for pdb in ctx.snap.items("policy", "poddisruptionbudgets") {
        if !ctx.in_scope(&pdb.meta.namespace) {
            continue;
        }
        let v = pdb.value();
        let allowed = jint(&v, &["status", "disruptionsAllowed"]);
        let expected = jint(&v, &["status", "expectedPods"]).unwrap_or(0);
        let healthy = jint(&v, &["status", "currentHealthy"]).unwrap_or(0);
        let desired = jint(&v, &["status", "desiredHealthy"]).unwrap_or(0);
        if allowed == Some(0) && expected > 0 && healthy >= desired && desired >= expected {
            let pref = ObjectRef::of(pdb);
            out.push(
                Hit::new(pref.clone(), "PDBAllowsNoDisruption", Severity::Warning, 0.35)
                    .msg(format!(
                        "budget {} requires all {expected} pods healthy: no voluntary eviction (drain, upgrade) can proceed",
                        pref.name
                    ))
                    .ev("status", format!("PodDisruptionBudget {}/{} status", pref.namespace, pref.name), format!("disruptionsAllowed=0 currentHealthy={healthy} desiredHealthy={desired} expectedPods={expected}"), None),
            );
        }
    }
}

/// Seconds between runs of a cron schedule, for the usual forms; a day otherwise.
fn cron_interval(schedule: &str) -> i64 {
    let f: Vec<&str> = schedule.split_whitespace().collect();
    if f.len() != 5 {
        return match schedule {
            "@hourly" => 3600,
            "@weekly" => 7 * 86400,
            "@monthly" => 31 * 86400,
            _ => 86400,
        };
    }
    let every = |field: &str| field.strip_prefix("*/").and_then(|n| n.parse::<i64>().ok());
    if let Some(n) = every(f[0]) {
        return 60 * n;
    }
    if f[0] == "*" {
        return 60;
    }
    if f[1] == "*" {
        return 3600;
    }
    if let Some(n) = every(f[1]) {
        return 3600 * n;
    }
    if f[4] != "*" {
        return 7 * 86400;
    }
    if f[2] != "*" {
        return 31 * 86400;
    }
    86400
}

fn cronjobs(ctx: &Ctx, out: &mut Vec<Hit>) {
    for cj in ctx.snap.items("batch", "cronjobs") {
        if !ctx.in_scope(&cj.meta.namespace) {
            continue;
        }
        let v = cj.value();
        let cref = ObjectRef::of(cj);
        let schedule = jstr(&v, &["spec", "schedule"]).unwrap_or("");
        let interval = cron_interval(schedule);
        let last = jstr(&v, &["status", "lastScheduleTime"]).and_then(parse_ts);
        let suspended = v.pointer("/spec/suspend").and_then(|s| s.as_bool()) == Some(true);
        let overdue = last
            .map(|l| ctx.now - l)
            .filter(|age| *age > 2 * interval + 300);
        let since = last_edit(&managed(&v)).map(|(t, _)| t);
        let loc = format!("CronJob {}/{}", cref.namespace, cref.name);
        if suspended {
            let missed = overdue.map(|age| age / interval.max(60)).unwrap_or(0);
            let h = Hit::new(cref.clone(), "SuspendedCronJob", if missed > 2 { Severity::Critical } else { Severity::Warning }, if missed > 2 { 0.8 } else { 0.3 })
                .msg(format!(
                    "CronJob {} ({schedule}) is suspended; it last ran {} ago and has missed about {missed} runs",
                    cref.name,
                    last.map(|l| human_duration(ctx.now - l)).unwrap_or_else(|| "never".into())
                ))
                .since(since.or(last))
                .ev("spec", format!("{loc} spec.suspend"), format!("suspend=true schedule={schedule}"), since)
                .ev("status", format!("{loc} status.lastScheduleTime"), last.map(super::fmt_ts).unwrap_or_default(), last);
            out.push(h);
        } else if let Some(age) = overdue {
            out.push(
                Hit::new(cref.clone(), "CronJobNotRunning", Severity::Warning, 0.6)
                    .msg(format!(
                        "CronJob {} ({schedule}) has not run for {}",
                        cref.name,
                        human_duration(age)
                    ))
                    .since(last.map(|l| l + interval))
                    .ev(
                        "status",
                        format!("{loc} status.lastScheduleTime"),
                        last.map(super::fmt_ts).unwrap_or_default(),
                        last,
                    ),
            );
        }
    }
}

fn jobs(ctx: &Ctx, out: &mut Vec<Hit>) {
    for job in ctx.snap.items("batch", "jobs") {
        if !ctx.in_scope(&job.meta.namespace) {
            continue;
        }
        let v = job.value();
        let jref = ObjectRef::of(job);
        for c in v
            .pointer("/status/conditions")
            .and_then(|c| c.as_array())
            .into_iter()
            .flatten()
        {
            if c.get("type").and_then(|t| t.as_str()) == Some("Failed")
                && c.get("status").and_then(|t| t.as_str()) == Some("True")
            {
                let reason = c.get("reason").and_then(|t| t.as_str()).unwrap_or("");
                let msg = c.get("message").and_then(|t| t.as_str()).unwrap_or("");
                let at = c
                    .get("lastTransitionTime")
                    .and_then(|t| t.as_str())
                    .and_then(parse_ts);
                let owner = ctx.workload(&jref);
                // Its pods killed at their memory limit: that is why it failed.
                let oom = oom_killed_pod(ctx, &jref);
                let (kind, cause, sev, text) = match &oom {
                    Some((pod, container, limit)) => (
                        "OOMKilled",
                        0.85,
                        Severity::Critical,
                        format!(
                            "Job {} failed ({reason}): its pod {pod} was OOMKilled, container {container} at its memory limit {limit}",
                            jref.name
                        ),
                    ),
                    None => {
                        // A CronJob with no success since this run started: its runs keep
                        // failing, not one bad night.
                        let started = jstr(&v, &["status", "startTime"]).and_then(parse_ts);
                        let stuck = owner.kind == "CronJob"
                            && started
                                .is_some_and(|s| last_success(ctx, &owner).is_none_or(|ok| ok < s));
                        if stuck {
                            (
                                "JobFailed",
                                0.75,
                                Severity::Critical,
                                format!(
                                    "Job {} failed ({reason} {msg}) and CronJob {} has not succeeded since",
                                    jref.name, owner.name
                                ),
                            )
                        } else {
                            (
                                "JobFailed",
                                0.6,
                                Severity::Warning,
                                format!("Job {} failed: {reason} {msg}", jref.name),
                            )
                        }
                    }
                };
                let mut h = Hit::new(owner, kind, sev, cause).msg(text).since(at).ev(
                    "status",
                    format!(
                        "Job {}/{} status.conditions[Failed]",
                        jref.namespace, jref.name
                    ),
                    format!("{reason}: {msg}"),
                    at,
                );
                h.via = vec![jref.clone()];
                out.push(h);
            }
        }
    }
}

/// A pod of the Job whose container was OOMKilled: (pod, container, memory limit).
fn oom_killed_pod(ctx: &Ctx, job: &ObjectRef) -> Option<(String, String, String)> {
    for pod in ctx.pod_objects(job) {
        if !pod.json().contains("\"OOMKilled\"") {
            continue;
        }
        let v = pod.value();
        for cs in v
            .pointer("/status/containerStatuses")
            .and_then(|c| c.as_array())
            .into_iter()
            .flatten()
        {
            let killed = ["/state/terminated/reason", "/lastState/terminated/reason"]
                .iter()
                .any(|path| cs.pointer(path).and_then(|r| r.as_str()) == Some("OOMKilled"));
            if !killed {
                continue;
            }
            let name = cs.get("name").and_then(|n| n.as_str()).unwrap_or("");
            let limit = v
                .pointer("/spec/containers")
                .and_then(|c| c.as_array())
                .into_iter()
                .flatten()
                .find(|c| c.get("name").and_then(|n| n.as_str()) == Some(name))
                .and_then(|c| c.pointer("/resources/limits/memory"))
                .and_then(|l| l.as_str())
                .unwrap_or("(none set: the node's memory)");
            return Some((pod.meta.name.clone(), name.to_string(), limit.to_string()));
        }
    }
    None
}

/// When a CronJob last ran successfully (`status.lastSuccessfulTime`).
fn last_success(ctx: &Ctx, cronjob: &ObjectRef) -> Option<i64> {
    let v = ctx
        .object("CronJob", &cronjob.namespace, &cronjob.name)?
        .value();
    jstr(&v, &["status", "lastSuccessfulTime"]).and_then(parse_ts)
}
