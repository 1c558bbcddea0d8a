//! Current or resolved: a failure is history once its object has recovered. Real clusters
//! carry the events of yesterday's rollout, a ReplicaSet that could not create pods for a
//! minute before its ServiceAccount existed, an eviction whose pod was replaced long ago.
//! An SRE reads those as history; so does this pass, from the objects' *current* state,
//! never from age alone:
//!
//! - a workload with every desired replica ready (and its rollout complete) has recovered
//!   from what its events, evicted pods and earlier log lines say, when their last
//!   occurrence precedes the moment its last replica became ready;
//! - a creation error naming an object (ServiceAccount, Secret, ConfigMap, claim) that
//!   exists now is over;
//! - a node pressure condition that has cleared since its events, and a node that has been
//!   Ready for longer than its flapping ever paused, have recovered;
//! - an older failure, seen only in events, superseded by a newer, different one on the
//!   same object: the newer one is what is happening.
//!
//! A resolved hit is kept (the timeline and explain show it) but downgraded to `Info`, so
//! it never ranks as a root cause nor adds weight, reach or dependents to anything; its
//! [`Resolution`] says when and why.

use std::collections::BTreeMap;

use super::{Ctx, Hit, fmt_ts, jint, jstr, parse_ts};
use crate::report::Severity;
use intel_engine::ObjectRef;

/// Why and when a failure is over.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolution {
    /// When the object recovered, where the snapshot says.
    pub at: Option<i64>,
    /// One line, for people: "Deployment web has all 3 replicas ready since …".
    pub why: String,
    /// The severity the failure had while it lasted.
    pub was: Severity,
}

/// A workload's current health, from its controller's status and its pods.
#[derive(Debug, Clone)]
struct Health {
    /// Every desired replica is ready and the rollout (if any) is complete.
    healthy: bool,
    desired: i64,
    /// When its last replica became ready (the latest Ready transition of its ready pods).
    since: Option<i64>,
}

/// Marks the hits whose object has recovered; see the module doc.
pub(super) fn mark(ctx: &Ctx, hits: &mut [Hit], logs: &super::LogStats) {
    let mut health: BTreeMap<ObjectRef, Option<Health>> = BTreeMap::new();
    // Onsets of current hits that status shows (not events alone), per subject and kind.
    let mut current: BTreeMap<ObjectRef, Vec<(&'static str, i64)>> = BTreeMap::new();
    for h in hits.iter() {
        if !history_capable(h) {
            if let Some(t) = h.since {
                current
                    .entry(h.subject.clone())
                    .or_default()
                    .push((h.kind, t));
            }
        }
    }
    for h in hits.iter_mut() {
        if h.severity == Severity::Info || h.resolved.is_some() {
            continue;
        }
        let resolution = if h.subject.kind == "Node" {
            node_resolution(ctx, h)
        } else if h.subject.kind == "CronJob" && matches!(h.kind, "JobFailed" | "OOMKilled") {
            cronjob_succeeded_since(ctx, h)
        } else if matches!(h.kind, "Restarts" | "OOMKilled")
            && h.severity == Severity::Warning
            && h.evidence
                .iter()
                .any(|e| e.location.ends_with("restartCount"))
        {
            restarts_settled(ctx, h)
        } else if matches!(h.kind, "UnboundedMemoryUse" | "EphemeralStorageExhaustion") {
            let w = h.subject.clone();
            let hl = health
                .entry(w.clone())
                .or_insert_with(|| workload_health(ctx, &w))
                .clone();
            // Still far over its request with no limit: it will starve the node again.
            let unbounded = h.kind == "UnboundedMemoryUse" && memory_unbounded_now(ctx, &w);
            starved_node_recovered(ctx, h)
                .filter(|_| !unbounded)
                .and_then(|node| {
                    recovered(h, &w, hl.as_ref()).map(|r| Resolution {
                        why: format!("{}, and {node}", r.why),
                        ..r
                    })
                })
        } else if history_capable(h) {
            let w = workload_of_hit(h);
            let hl = health
                .entry(w.clone())
                .or_insert_with(|| workload_health(ctx, &w))
                .clone();
            recovered(h, &w, hl.as_ref())
                .or_else(|| pod_started(ctx, h))
                .or_else(|| pod_gone(ctx, h))
                .or_else(|| quiet_since(h, logs))
                .or_else(|| creator_satisfied(ctx, h))
                .or_else(|| named_object_exists(ctx, h))
                .or_else(|| superseded(h, current.get(&h.subject)))
        } else {
            None
        };
        if let Some(r) = resolution {
            h.resolved = Some(Resolution {
                was: h.severity,
                ..r
            });
            h.severity = Severity::Info;
        }
    }
    keep_bridges(ctx, hits);
}

/// Objects related to a failure → (its onset, its subject).
type Near = BTreeMap<ObjectRef, Vec<(i64, ObjectRef)>>;

/// How far apart in time a recovered failure and a current one on a related object may
/// begin and still be one incident.
const SAME_INCIDENT: i64 = 600;

/// A recovered failure that overlapped in time with the onset of a current failure on a
/// related object is part of the current incident (the node pressure that got postgres
/// restarted, the innocent pod evicted by the disk pressure that is still on): it keeps
/// its severity so that the chain can pass through it, but its resolution stays on
/// record and it is never a root cause itself (`diagnose::rank`). History from another
/// time touches nothing current.
fn keep_bridges(ctx: &Ctx, hits: &mut [Hit]) {
    // Objects related to a current failure (or a bridge) → the onsets of those failures.
    let mut near: Near = BTreeMap::new();
    let map = ctx.rel.service_map();
    let add = |near: &mut Near, c: &Hit| {
        let Some(t) = c.since else { return };
        let mut related: Vec<ObjectRef> = c.blames.iter().chain(&c.via).cloned().collect();
        related.push(c.subject.clone());
        related.extend(ctx.rel.from(&c.subject).iter().map(|r| (*r.to).clone()));
        related.extend(
            ctx.rel
                .to(&c.subject)
                .into_iter()
                .map(|r| (*r.from).clone()),
        );
        related.extend(map.depends_on(&c.subject).into_iter().cloned());
        for r in related {
            near.entry(r).or_default().push((t, c.subject.clone()));
        }
    };
    for c in hits.iter() {
        if c.severity >= Severity::Warning && c.resolved.is_none() {
            add(&mut near, c);
        }
    }
    // A bridge joins the incident and may join others to it: a few rounds, each adding
    // the bridges found.
    for _ in 0..4 {
        let mut joined = Vec::new();
        for (i, h) in hits.iter().enumerate() {
            let Some(res) = &h.resolved else { continue };
            if res.was < Severity::Warning || h.severity >= Severity::Warning {
                continue;
            }
            let (Some(start), Some(end)) = (h.since, last_seen(h).or(res.at).or(h.since)) else {
                continue;
            };
            let mut mine: Vec<&ObjectRef> = vec![&h.subject];
            mine.extend(h.via.iter().chain(&h.blames));
            let during = |t: i64| t >= start - SAME_INCIDENT && t <= end + SAME_INCIDENT;
            // Another object's current failure: the same object failing again later is
            // not what ties its past to the incident.
            if mine
                .iter()
                .filter_map(|o| near.get(*o))
                .flatten()
                .any(|(t, from)| *from != h.subject && during(*t))
            {
                joined.push(i);
            }
        }
        if joined.is_empty() {
            break;
        }
        for i in joined {
            if let Some(was) = hits[i].resolved.as_ref().map(|r| r.was) {
                hits[i].severity = was;
            }
            add(&mut near, &hits[i]);
        }
    }
}

/// Hits whose evidence is a record of the past (events, log lines, the status of a pod
/// that already failed) rather than the object's current state.
fn history_capable(h: &Hit) -> bool {
    if h.kind == "Evicted" {
        return true;
    }
    !h.evidence.is_empty()
        && h.evidence
            .iter()
            .all(|e| e.source == "event" || e.source == "log")
}

/// The last time the failure was seen: the hit's `until`, or its latest timed evidence.
fn last_seen(h: &Hit) -> Option<i64> {
    let latest = h
        .evidence
        .iter()
        .filter_map(|e| e.at.as_deref().and_then(parse_ts))
        .max();
    h.until.max(latest)
}

/// The workload a hit is about: its subject, or for a hit on a quota or a missing
/// ConfigMap or Secret, the workload whose pods it held back.
fn workload_of_hit(h: &Hit) -> ObjectRef {
    if matches!(h.subject.kind.as_str(), "ResourceQuota") || h.kind == "MissingConfigReference" {
        if let Some(w) = h.via.first() {
            return w.clone();
        }
    }
    h.subject.clone()
}

fn recovered(h: &Hit, w: &ObjectRef, health: Option<&Health>) -> Option<Resolution> {
    let hl = health.filter(|hl| hl.healthy)?;
    let last = last_seen(h);
    // Seen again after the last replica became ready: it is still happening.
    if let (Some(last), Some(since)) = (last, hl.since) {
        if last > since {
            return None;
        }
    }
    // Replicas wanted but no pod says when they became ready (pods not captured): no
    // telling whether the failure came before the recovery.
    if hl.since.is_none() && hl.desired > 0 && last.is_some() {
        return None;
    }
    // Log lines with no time cannot be placed before the recovery.
    if last.is_none() && h.evidence.iter().any(|e| e.source == "log") {
        return None;
    }
    let state = if hl.desired == 0 {
        "is scaled to 0 and has no pods".to_string()
    } else {
        format!("has all {} replicas ready", hl.desired)
    };
    Some(Resolution {
        at: hl.since,
        why: format!(
            "{} {} {state}{}",
            w.kind,
            w.name,
            hl.since
                .map(|t| format!(" since {}", fmt_ts(t)))
                .unwrap_or_default()
        ),
        was: h.severity,
    })
}

/// Failures seen only in a workload's logs, that stopped while its logging went on: quiet
/// for ten times the mean interval between them, and at least 30 minutes, before the
/// last line the workload logged. The process kept working without them.
fn quiet_since(h: &Hit, logs: &super::LogStats) -> Option<Resolution> {
    if h.evidence.is_empty() || h.evidence.iter().any(|e| e.source != "log") {
        return None;
    }
    let (first, last) = (h.since?, h.until?);
    let wl = logs.workloads.get(&h.subject)?;
    // The same container's stream: a sidecar that keeps logging says nothing of the app.
    let container = h.evidence.iter().find_map(|e| {
        let file = e.location.rsplit('/').next()?;
        Some(
            file.trim_end_matches(".log")
                .trim_end_matches(".previous")
                .to_string(),
        )
    });
    let stream_end = match container.and_then(|c| wl.container_last.get(&c).copied()) {
        Some(t) => t,
        None => wl.last?,
    };
    let interval = (last - first).max(0) / (log_count(h).max(2) - 1);
    if stream_end - last < (10 * interval).max(1800) {
        return None;
    }
    Some(Resolution {
        at: Some(last),
        why: format!(
            "not seen since {} while {} kept logging until {}",
            fmt_ts(last),
            h.subject.name,
            fmt_ts(stream_end)
        ),
        was: h.severity,
    })
}

/// A start-up failure (a volume, a sandbox, a limit too low to start) of a pod whose
/// containers have all been running since after it was last reported: that pod got past
/// it.
fn pod_started(ctx: &Ctx, h: &Hit) -> Option<Resolution> {
    if !matches!(
        h.kind,
        "FailedMount" | "SandboxCreationFailed" | "MemoryLimitTooLow"
    ) {
        return None;
    }
    let last = last_seen(h)?;
    let pod = h.via.iter().rev().find(|v| v.kind == "Pod")?;
    let v = ctx.object("Pod", &pod.namespace, &pod.name)?.value();
    let statuses = v.pointer("/status/containerStatuses")?.as_array()?;
    let started: Vec<i64> = statuses
        .iter()
        .filter_map(|c| jstr(c, &["state", "running", "startedAt"]).and_then(parse_ts))
        .collect();
    if statuses.is_empty() || started.len() < statuses.len() {
        return None;
    }
    let first = started.iter().copied().min()?;
    (first > last).then(|| Resolution {
        at: Some(first),
        why: format!("pod {} has been running since {}", pod.name, fmt_ts(first)),
        was: h.severity,
    })
}

/// Restarts of a container that has run, ready, for three times as long as it ever ran
/// between them (and at least 30 minutes) since the last one: they stopped. A container
/// that keeps failing every so often is not settled by one quiet spell shorter than that.
fn restarts_settled(ctx: &Ctx, h: &Hit) -> Option<Resolution> {
    let pod = h.via.iter().rev().find(|v| v.kind == "Pod")?;
    let v = ctx.object("Pod", &pod.namespace, &pod.name)?.value();
    let created = jstr(&v, &["metadata", "creationTimestamp"]).and_then(parse_ts)?;
    let mut settled: Option<(String, i64)> = None;
    for cs in v
        .pointer("/status/containerStatuses")?
        .as_array()?
        .iter()
        .filter(|c| jint(c, &["restartCount"]).unwrap_or(0) > 0)
    {
        let ready = cs.get("ready").and_then(|r| r.as_bool()) == Some(true);
        let started = jstr(cs, &["state", "running", "startedAt"]).and_then(parse_ts)?;
        let restarts = jint(cs, &["restartCount"]).unwrap_or(1).max(1);
        let between = (started - created).max(0) / restarts;
        let quiet = ctx.now - started;
        if !ready || quiet < (3 * between).max(1800) {
            return None;
        }
        let name = jstr(cs, &["name"]).unwrap_or("").to_string();
        if settled.as_ref().is_none_or(|(_, s)| started > *s) {
            settled = Some((name, started));
        }
    }
    let (name, started) = settled?;
    Some(Resolution {
        at: Some(started),
        why: format!(
            "container {name} of pod {} has run, ready, since {}: longer than it ever ran between its restarts",
            pod.name,
            fmt_ts(started)
        ),
        was: h.severity,
    })
}

/// A CronJob's failed run followed by a successful one (`status.lastSuccessfulTime`
/// after the failure): the failed Job kept by `failedJobsHistoryLimit` is history.
fn cronjob_succeeded_since(ctx: &Ctx, h: &Hit) -> Option<Resolution> {
    let failed = h.since?;
    let v = ctx
        .object("CronJob", &h.subject.namespace, &h.subject.name)?
        .value();
    let ok = jstr(&v, &["status", "lastSuccessfulTime"]).and_then(parse_ts)?;
    (ok > failed).then(|| Resolution {
        at: Some(ok),
        why: format!(
            "CronJob {} ran successfully since, at {}",
            h.subject.name,
            fmt_ts(ok)
        ),
        was: h.severity,
    })
}

/// A failure of a pod no controller owns that no longer exists (a `kubectl run --rm`, a
/// deleted debugging pod): nothing of it is left to fail.
fn pod_gone(ctx: &Ctx, h: &Hit) -> Option<Resolution> {
    if h.subject.kind != "Pod"
        || !ctx
            .snap
            .index()
            .by_name("Pod", &h.subject.namespace, &h.subject.name)
            .is_empty()
    {
        return None;
    }
    Some(Resolution {
        at: last_seen(h),
        why: format!("pod {} no longer exists", h.subject.name),
        was: h.severity,
    })
}

/// How many log lines a log finding counts ("… 80 log lines with …"), or 2.
fn log_count(h: &Hit) -> i64 {
    h.message
        .split(" log lines")
        .next()
        .and_then(|head| head.rsplit(' ').next())
        .and_then(|n| n.parse::<i64>().ok())
        .unwrap_or(2)
}

/// A creation error of a ReplicaSet that no longer wants pods (scaled to 0: a later
/// revision or a rollback replaced it) or has all it wants, ready. Which pods of the
/// workload were ready before does not matter: the controller that failed is satisfied.
fn creator_satisfied(ctx: &Ctx, h: &Hit) -> Option<Resolution> {
    if !matches!(
        h.kind,
        "FailedCreate" | "LimitRangeRejected" | "ResourceQuotaExceeded"
    ) {
        return None;
    }
    let rs = h.via.iter().find(|v| v.kind == "ReplicaSet")?;
    let v = ctx.object("ReplicaSet", &rs.namespace, &rs.name)?.value();
    let want = jint(&v, &["spec", "replicas"]).unwrap_or(1);
    let have = jint(&v, &["status", "replicas"]).unwrap_or(0);
    let ready = jint(&v, &["status", "readyReplicas"]).unwrap_or(0);
    let why = if want == 0 {
        format!(
            "ReplicaSet {} is scaled to 0: a later revision replaced it",
            rs.name
        )
    } else if have >= want && ready >= want {
        format!("ReplicaSet {} has all {want} pods, ready", rs.name)
    } else {
        return None;
    };
    Some(Resolution {
        at: None,
        why,
        was: h.severity,
    })
}

/// A creation or mount error naming an object that is missing: `serviceaccount "web" not
/// found`, `secret "tls" not found`, `configmap "cfg" not found`, `persistentvolumeclaim
/// "data" not found`. Once that object exists, the error is over.
fn named_object_exists(ctx: &Ctx, h: &Hit) -> Option<Resolution> {
    if !matches!(h.kind, "FailedCreate" | "FailedMount") {
        return None;
    }
    let last = last_seen(h);
    for e in &h.evidence {
        for (marker, kind) in [
            ("serviceaccount \"", "ServiceAccount"),
            ("secret \"", "Secret"),
            ("configmap \"", "ConfigMap"),
            ("persistentvolumeclaim \"", "PersistentVolumeClaim"),
        ] {
            let Some(rest) = e.text.split(marker).nth(1) else {
                continue;
            };
            let Some(name) = rest.split('"').next().filter(|n| !n.is_empty()) else {
                continue;
            };
            if !e.text[..].contains("not found") {
                continue;
            }
            let ns = &h.subject.namespace;
            let Some(obj) = ctx.object(kind, ns, name) else {
                continue;
            };
            let created = jstr(&obj.value(), &["metadata", "creationTimestamp"]).and_then(parse_ts);
            // Created after the last failure, or no times to compare: it exists now.
            if matches!((created, last), (Some(c), Some(l)) if c + 60 < l) {
                continue;
            }
            return Some(Resolution {
                at: created,
                why: format!(
                    "{kind} {name} exists now{}",
                    created
                        .map(|t| format!(" (created {})", fmt_ts(t)))
                        .unwrap_or_default()
                ),
                was: h.severity,
            });
        }
    }
    None
}

/// What a failure leads to rather than a failure of its own: never supersedes what
/// caused it (a liveness probe's kills show as restarts right after its last event).
const CONSEQUENCES: &[&str] = &[
    "Restarts",
    "CrashLoopBackOff",
    "OOMKilled",
    "ContainerFailed",
    "NotReady",
    "ReplicasUnavailable",
    "RolloutStuck",
    "ServiceNoReadyEndpoints",
    "LatencyIncrease",
    "ErrorRateIncrease",
    "HTTP5xx",
    "LogErrors",
    "LogWarnings",
    "UpstreamErrors",
];

/// An older failure seen only in events or logs, last seen before a newer, different
/// failure of the same object began: the newer one is the cause.
fn superseded(h: &Hit, current: Option<&Vec<(&'static str, i64)>>) -> Option<Resolution> {
    let last = last_seen(h)?;
    let (kind, at) = current?
        .iter()
        .filter(|(k, t)| *k != h.kind && *t > last && !CONSEQUENCES.contains(k))
        .min_by_key(|(k, t)| (*t, *k))?;
    Some(Resolution {
        at: Some(*at),
        why: format!("superseded by {kind} since {}", fmt_ts(*at)),
        was: h.severity,
    })
}

/// Whether a pod of the workload has a container with no memory limit whose latest
/// usage sample is more than twice its memory request.
fn memory_unbounded_now(ctx: &Ctx, w: &ObjectRef) -> bool {
    use intel_model::quantity::bytes;
    for pod in ctx.pod_objects(w) {
        let v = pod.value();
        let containers = v.pointer("/spec/containers").and_then(|c| c.as_array());
        for (name, readings) in ctx.usage.pod(&pod.meta.namespace, &pod.meta.name) {
            let Some(latest) = readings.last() else {
                continue;
            };
            let Some(c) = containers
                .into_iter()
                .flatten()
                .find(|c| c.get("name").and_then(|n| n.as_str()) == Some(name))
            else {
                continue;
            };
            let quantity = |path: &str| c.pointer(path).and_then(|q| q.as_str()).and_then(bytes);
            let limited = quantity("/resources/limits/memory").is_some();
            let request = quantity("/resources/requests/memory").unwrap_or(0.0);
            if !limited && latest.memory_bytes > 2.0 * request.max(64.0 * 1048576.0) {
                return true;
            }
        }
    }
    false
}

/// A workload that starved its node (named by the kubelet's eviction messages) stops
/// being a current cause once that node's pressure has cleared: the node, said in words.
fn starved_node_recovered(ctx: &Ctx, h: &Hit) -> Option<String> {
    let condition = if h.kind == "UnboundedMemoryUse" {
        "MemoryPressure"
    } else {
        "DiskPressure"
    };
    let node = h.via.iter().find(|v| v.kind == "Node")?;
    let (status, _) = node_condition(ctx, &node.name, condition)?;
    (status == "False").then(|| format!("node {} is {condition}=False", node.name))
}

/// A node's condition of this type: its status and when it last changed.
fn node_condition(ctx: &Ctx, node: &str, condition: &str) -> Option<(String, Option<i64>)> {
    let v = ctx.object("Node", "", node)?.value();
    let c = v
        .pointer("/status/conditions")?
        .as_array()?
        .iter()
        .find(|c| c.get("type").and_then(|t| t.as_str()) == Some(condition))?;
    let status = c.get("status").and_then(|s| s.as_str()).unwrap_or("");
    let since = c
        .get("lastTransitionTime")
        .and_then(|t| t.as_str())
        .and_then(parse_ts);
    Some((status.to_string(), since))
}

/// Node findings from events: a pressure condition that is False again since after the
/// last event, or a flapping node that has stayed Ready longer than its flapping paused.
fn node_resolution(ctx: &Ctx, h: &Hit) -> Option<Resolution> {
    let condition = match h.kind {
        "NodeMemoryPressure" => "MemoryPressure",
        "NodeDiskPressure" => "DiskPressure",
        "NodePIDPressure" => "PIDPressure",
        "NodeFlapping" => "Ready",
        _ => return None,
    };
    if !history_capable(h) {
        return None;
    }
    let (status, since) = node_condition(ctx, &h.subject.name, condition)?;
    let last = last_seen(h);
    let cleared = if condition == "Ready" {
        "True"
    } else {
        "False"
    };
    if status != cleared {
        return None;
    }
    if let (Some(since), Some(last)) = (since, last) {
        if since < last {
            return None;
        }
    }
    if h.kind == "NodeFlapping" {
        // Flapping pauses between transitions: Ready for a short while is not recovered.
        // Recovered once Ready for three times its mean interval, and at least 30 minutes.
        let since = since?;
        let first = h.since.unwrap_or(since);
        let transitions = h
            .evidence
            .iter()
            .find_map(|e| e.text.strip_suffix(" NotReady transitions"))
            .and_then(|n| n.parse::<i64>().ok())
            .unwrap_or(2)
            .max(2);
        let interval = (last.unwrap_or(since) - first).max(0) / (transitions - 1);
        if ctx.now - since < (3 * interval).max(1800) {
            return None;
        }
    }
    Some(Resolution {
        at: since,
        why: format!(
            "node {} is {condition}={cleared} again{}",
            h.subject.name,
            since
                .map(|t| format!(" since {}", fmt_ts(t)))
                .unwrap_or_default()
        ),
        was: h.severity,
    })
}

/// Whether a workload is fully available now, and since when.
fn workload_health(ctx: &Ctx, w: &ObjectRef) -> Option<Health> {
    let obj = ctx.object(&w.kind, &w.namespace, &w.name)?;
    let v = obj.value();
    let int = |p: &[&str]| jint(&v, p);
    let observed = match (
        int(&["status", "observedGeneration"]),
        int(&["metadata", "generation"]),
    ) {
        (Some(o), Some(g)) => o >= g,
        _ => true,
    };
    let (healthy, desired) = match w.kind.as_str() {
        "Deployment" => {
            let desired = int(&["spec", "replicas"]).unwrap_or(1);
            let ready = int(&["status", "readyReplicas"]).unwrap_or(0);
            let available = int(&["status", "availableReplicas"]).unwrap_or(0);
            let updated = int(&["status", "updatedReplicas"]).unwrap_or(0);
            let unavailable = int(&["status", "unavailableReplicas"]).unwrap_or(0);
            let total = int(&["status", "replicas"]).unwrap_or(0);
            let ok = if desired == 0 {
                total == 0
            } else {
                ready >= desired && available >= desired && updated >= desired && unavailable == 0
            };
            (ok && observed, desired)
        }
        "StatefulSet" => {
            let desired = int(&["spec", "replicas"]).unwrap_or(1);
            let ready = int(&["status", "readyReplicas"]).unwrap_or(0);
            let current = jstr(&v, &["status", "currentRevision"]);
            let update = jstr(&v, &["status", "updateRevision"]);
            let rolled = current.is_none() || update.is_none() || current == update;
            (ready >= desired && rolled && observed, desired)
        }
        "DaemonSet" => {
            // No status yet: unknown, not healthy.
            let desired = int(&["status", "desiredNumberScheduled"])?;
            let ready = int(&["status", "numberReady"]).unwrap_or(0);
            let unavailable = int(&["status", "numberUnavailable"]).unwrap_or(0);
            (ready >= desired && unavailable == 0 && observed, desired)
        }
        "ReplicaSet" | "ReplicationController" => {
            let desired = int(&["spec", "replicas"]).unwrap_or(1);
            let ready = int(&["status", "readyReplicas"]).unwrap_or(0);
            (ready >= desired && observed, desired)
        }
        _ => return None,
    };
    let since = ready_since(ctx, w);
    Some(Health {
        healthy,
        desired,
        since,
    })
}

/// When the last of a workload's ready pods became ready.
fn ready_since(ctx: &Ctx, w: &ObjectRef) -> Option<i64> {
    ctx.pod_objects(w)
        .into_iter()
        .filter_map(|pod| {
            let v = pod.value();
            v.pointer("/status/conditions")?
                .as_array()?
                .iter()
                .find(|c| {
                    c.get("type").and_then(|t| t.as_str()) == Some("Ready")
                        && c.get("status").and_then(|s| s.as_str()) == Some("True")
                })?
                .get("lastTransitionTime")?
                .as_str()
                .and_then(parse_ts)
        })
        .max()
}

#[cfg(test)]
mod tests;
