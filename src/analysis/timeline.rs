//! The timeline engine: everything that happened in a snapshot, merged in time order.
//!
//! Sources (DESIGN.md): events (core/v1 and events.k8s.io/v1, de-duplicated), rollouts and
//! config changes (the detectors' [`Change`]s: ReplicaSet revisions, managedFields edit
//! times), container terminations and restarts (pod status), node condition transitions,
//! autoscaler scaling, Job and CronJob runs, and the onsets of the detectors' findings —
//! which is where metric anomalies and log signatures (first timeout, first slow query)
//! enter. It lives beside the detectors, not in `engine`, because the onsets are theirs.
//!
//! Cost: one lean pass over pods, nodes, autoscalers, Jobs and events; nothing per pod per
//! pod. Output order is total: (time, subject, category, reason).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::detect::{Change, Hit, clip, fmt_ts, parse_ts};
use super::report::Severity;
use crate::engine::{ObjectRef, Relations};
use crate::model::{Object, Snapshot};

/// One thing that happened.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// Epoch seconds (first seen).
    pub at: i64,
    /// Last seen, for repeated events.
    pub last: Option<i64>,
    /// The object it happened to (a Pod, a Node, a Deployment…).
    pub subject: ObjectRef,
    /// The workload owning the subject (a pod's Deployment), or the subject itself.
    pub workload: ObjectRef,
    /// `event`, `rollout`, `config-edit`, `spec-edit`, `scale`, `termination`, `restart`,
    /// `node-condition`, `autoscaling`, `job`, `onset`.
    pub category: &'static str,
    pub severity: Severity,
    /// The event reason, the termination reason, the finding kind…
    pub reason: String,
    /// One line; event messages and log lines are untrusted text.
    pub message: String,
    /// `event`, `status`, `spec`, `log`, `metric`, `finding`.
    pub source: &'static str,
    /// Where it was read: the resource file and field, or the log file.
    pub location: String,
    pub count: i64,
}

/// The serialized shape of an entry (`details.timeline.entries[]` in reports, and
/// `get_timeline` in MCP).
#[derive(Debug, Clone, Serialize, PartialEq, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EntryOut {
    pub time: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_seen: Option<String>,
    pub category: String,
    /// `info`, `warning` or `critical`.
    pub severity: String,
    pub reason: String,
    pub kind: String,
    pub namespace: String,
    pub name: String,
    /// The workload the subject belongs to (`Deployment/checkout`).
    pub workload: String,
    /// Untrusted text (event messages, log lines) as data.
    pub message: String,
    pub source: String,
    pub location: String,
    pub count: i64,
}

impl Entry {
    pub fn out(&self) -> EntryOut {
        EntryOut {
            time: fmt_ts(self.at),
            last_seen: self.last.filter(|l| *l != self.at).map(fmt_ts),
            category: self.category.to_string(),
            severity: match self.severity {
                Severity::Info => "info",
                Severity::Warning => "warning",
                Severity::Critical => "critical",
            }
            .to_string(),
            reason: self.reason.clone(),
            kind: self.subject.kind.clone(),
            namespace: self.subject.namespace.clone(),
            name: self.subject.name.clone(),
            workload: format!("{}/{}", self.workload.kind, self.workload.name),
            message: self.message.clone(),
            source: self.source.to_string(),
            location: self.location.clone(),
            count: self.count,
        }
    }

    /// Whether the entry concerns `obj`: the object itself, or a pod, ReplicaSet or
    /// container of the workload `obj`.
    pub fn concerns(&self, obj: &ObjectRef) -> bool {
        self.subject == *obj || self.workload == *obj
    }

    pub fn is_problem(&self) -> bool {
        self.severity >= Severity::Warning
    }
}

/// The merged timeline, oldest first.
#[derive(Debug, Clone, Default)]
pub struct Timeline {
    pub entries: Vec<Entry>,
}

/// One event of either API group, read into one shape.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub object: ObjectRef,
    /// `Normal` or `Warning`.
    pub event_type: String,
    pub reason: String,
    pub message: String,
    pub count: i64,
    /// RFC 3339 as written (first seen; the event's creation time when it has none).
    pub first_seen: String,
    pub last_seen: String,
    /// The component that reported it.
    pub source: String,
    /// `core/v1/events.json` or `events.k8s.io/v1/events.json`.
    pub file: &'static str,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct EventView {
    involved_object: Option<RefView>,
    regarding: Option<RefView>,
    #[serde(rename = "type")]
    event_type: Option<String>,
    reason: Option<String>,
    message: Option<String>,
    note: Option<String>,
    count: Option<i64>,
    deprecated_count: Option<i64>,
    series: Option<SeriesView>,
    first_timestamp: Option<String>,
    last_timestamp: Option<String>,
    deprecated_first_timestamp: Option<String>,
    deprecated_last_timestamp: Option<String>,
    event_time: Option<String>,
    source: Option<SourceView>,
    reporting_component: Option<String>,
    reporting_controller: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RefView {
    kind: String,
    namespace: String,
    name: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct SourceView {
    component: String,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct SeriesView {
    count: Option<i64>,
    last_observed_time: Option<String>,
}

fn event_of(obj: &Object, file: &'static str) -> Option<Event> {
    let v: EventView = serde_json::from_str(obj.json()).ok()?;
    let r = v.involved_object.or(v.regarding).unwrap_or_default();
    let first = v
        .first_timestamp
        .or(v.deprecated_first_timestamp)
        .or(v.event_time.clone())
        .unwrap_or_else(|| obj.meta.creation_timestamp.clone());
    let last = v
        .last_timestamp
        .or(v.deprecated_last_timestamp)
        .or(v.series.as_ref().and_then(|s| s.last_observed_time.clone()))
        .or(v.event_time)
        .unwrap_or_else(|| first.clone());
    // Events about cluster-scoped objects live in `default`; they have no namespace.
    let namespace = if r.namespace.is_empty() && !matches!(r.kind.as_str(), "Node" | "Namespace") {
        obj.meta.namespace.clone()
    } else {
        r.namespace
    };
    Some(Event {
        object: ObjectRef::new(&r.kind, &namespace, &r.name),
        event_type: v.event_type.unwrap_or_default(),
        reason: v.reason.unwrap_or_default(),
        message: v.message.or(v.note).unwrap_or_default(),
        count: v
            .count
            .or(v.deprecated_count)
            .or(v.series.and_then(|s| s.count))
            .unwrap_or(1),
        first_seen: first,
        last_seen: last,
        source: v
            .source
            .map(|s| s.component)
            .filter(|c| !c.is_empty())
            .or(v.reporting_component)
            .or(v.reporting_controller)
            .unwrap_or_default(),
        file,
    })
}

/// Every event of the snapshot, both API groups, with the copies a cluster keeps of one
/// event in both groups (same object, reason, first time and message) kept once.
pub fn events(snap: &Snapshot) -> Vec<Event> {
    let mut out: Vec<Event> = snap
        .items("", "events")
        .iter()
        .filter_map(|o| event_of(o, "resources/core/v1/events.json"))
        .collect();
    let mut seen: std::collections::HashSet<(ObjectRef, String, String, String)> = out
        .iter()
        .map(|e| {
            (
                e.object.clone(),
                e.reason.clone(),
                e.first_seen.clone(),
                e.message.clone(),
            )
        })
        .collect();
    for o in snap.items("events.k8s.io", "events") {
        if let Some(e) = event_of(o, "resources/events.k8s.io/v1/events.json") {
            let key = (
                e.object.clone(),
                e.reason.clone(),
                e.first_seen.clone(),
                e.message.clone(),
            );
            if seen.insert(key) {
                out.push(e);
            }
        }
    }
    out
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct PodLean {
    status: PodStatusLean,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct PodStatusLean {
    container_statuses: Option<Vec<ContainerLean>>,
    init_container_statuses: Option<Vec<ContainerLean>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct ContainerLean {
    name: String,
    restart_count: i64,
    state: Option<StateLean>,
    last_state: Option<StateLean>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct StateLean {
    terminated: Option<TerminatedLean>,
    running: Option<RunningLean>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct TerminatedLean {
    reason: Option<String>,
    exit_code: i64,
    finished_at: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct RunningLean {
    started_at: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ConditionsLean {
    metadata: CreatedLean,
    status: ConditionsStatus,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct CreatedLean {
    creation_timestamp: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct ConditionsStatus {
    conditions: Option<Vec<ConditionLean>>,
    last_scale_time: Option<String>,
    current_replicas: Option<i64>,
    desired_replicas: Option<i64>,
    last_schedule_time: Option<String>,
    last_successful_time: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct ConditionLean {
    #[serde(rename = "type")]
    kind: String,
    status: String,
    reason: Option<String>,
    message: Option<String>,
    last_transition_time: Option<String>,
}

/// Everything the timeline is built from besides the snapshot: the detectors' output.
pub struct Inputs<'a> {
    pub snap: &'a Snapshot,
    pub rel: &'a Relations,
    pub hits: &'a [Hit],
    pub changes: &'a [Change],
}

impl Timeline {
    pub fn build(inp: &Inputs) -> Timeline {
        let mut b = Builder {
            rel: inp.rel,
            entries: Vec::new(),
        };
        b.events(inp.snap);
        b.changes(inp.changes);
        b.pods(inp.snap);
        b.nodes(inp.snap);
        b.autoscalers(inp.snap);
        b.jobs(inp.snap);
        b.onsets(
            inp.hits,
            parse_ts(&inp.snap.manifest.captured_at).unwrap_or(0),
        );
        let mut entries = b.entries;
        entries.sort_by(|a, b| {
            a.at.cmp(&b.at)
                .then_with(|| a.subject.cmp(&b.subject))
                .then_with(|| a.category.cmp(b.category))
                .then_with(|| a.reason.cmp(&b.reason))
                .then_with(|| a.message.cmp(&b.message))
        });
        entries.dedup_by(|b, a| {
            a.at == b.at && a.subject == b.subject && a.reason == b.reason && a.message == b.message
        });
        Timeline { entries }
    }

    /// Entries from `from` (inclusive) to `to` (inclusive), epoch seconds. Repeated events
    /// that started earlier but were still seen inside the window count as inside.
    pub fn window(&self, from: Option<i64>, to: Option<i64>) -> impl Iterator<Item = &Entry> {
        self.entries.iter().filter(move |e| {
            let last = e.last.unwrap_or(e.at).max(e.at);
            from.is_none_or(|f| last >= f) && to.is_none_or(|t| e.at <= t)
        })
    }
}

struct Builder<'a> {
    rel: &'a Relations,
    entries: Vec<Entry>,
}

impl Builder<'_> {
    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        at: i64,
        subject: ObjectRef,
        category: &'static str,
        severity: Severity,
        reason: impl Into<String>,
        message: impl Into<String>,
        source: &'static str,
        location: impl Into<String>,
    ) -> &mut Entry {
        let workload = self.rel.workload_of(&subject);
        self.entries.push(Entry {
            at,
            last: None,
            subject,
            workload,
            category,
            severity,
            reason: reason.into(),
            message: clip(&message.into(), 300),
            source,
            location: location.into(),
            count: 1,
        });
        self.entries.last_mut().expect("just pushed")
    }

    fn events(&mut self, snap: &Snapshot) {
        for e in events(snap) {
            let Some(at) = parse_ts(&e.first_seen) else {
                continue;
            };
            let sev = if e.event_type == "Warning" {
                Severity::Warning
            } else {
                Severity::Info
            };
            let last = parse_ts(&e.last_seen);
            let count = e.count.max(1);
            let entry = self.push(
                at, e.object, "event", sev, e.reason, e.message, "event", e.file,
            );
            entry.last = last;
            entry.count = count;
        }
    }

    fn changes(&mut self, changes: &[Change]) {
        for c in changes {
            let location = match c.kind {
                "rollout" => "resources/apps/v1/replicasets.json metadata.creationTimestamp",
                _ => "metadata.managedFields[].time",
            };
            self.push(
                c.at,
                c.subject.clone(),
                c.kind,
                Severity::Info,
                c.kind,
                c.message.clone(),
                "spec",
                location,
            );
        }
    }

    fn pods(&mut self, snap: &Snapshot) {
        for pod in snap.pods() {
            // Cheap pre-filter: only pods that have restarted or terminated are parsed.
            let json = pod.json();
            if !json.contains("\"terminated\"") {
                continue;
            }
            let Ok(p) = serde_json::from_str::<PodLean>(json) else {
                continue;
            };
            let pref = ObjectRef::of(pod);
            let statuses = p
                .status
                .container_statuses
                .into_iter()
                .flatten()
                .chain(p.status.init_container_statuses.into_iter().flatten());
            for cs in statuses {
                for (state, which) in [(&cs.last_state, "lastState"), (&cs.state, "state")] {
                    let Some(t) = state.as_ref().and_then(|s| s.terminated.as_ref()) else {
                        continue;
                    };
                    let Some(at) = t.finished_at.as_deref().and_then(parse_ts) else {
                        continue;
                    };
                    let reason = t.reason.clone().unwrap_or_else(|| "Terminated".into());
                    let sev = if reason == "Completed" && t.exit_code == 0 {
                        Severity::Info
                    } else {
                        Severity::Warning
                    };
                    self.push(
                        at,
                        pref.clone(),
                        "termination",
                        sev,
                        reason.clone(),
                        format!(
                            "container {} of pod {} terminated: {reason}, exit code {}",
                            cs.name, pref.name, t.exit_code
                        ),
                        "status",
                        format!(
                            "resources/core/v1/pods.json status.containerStatuses[{}].{which}.terminated",
                            cs.name
                        ),
                    );
                }
                if cs.restart_count > 0 {
                    if let Some(at) = cs
                        .state
                        .as_ref()
                        .and_then(|s| s.running.as_ref())
                        .and_then(|r| r.started_at.as_deref())
                        .and_then(parse_ts)
                    {
                        self.push(
                            at,
                            pref.clone(),
                            "restart",
                            Severity::Info,
                            "Restarted",
                            format!(
                                "container {} of pod {} started again (restart {})",
                                cs.name, pref.name, cs.restart_count
                            ),
                            "status",
                            format!(
                                "resources/core/v1/pods.json status.containerStatuses[{}].state.running.startedAt",
                                cs.name
                            ),
                        );
                    }
                }
            }
        }
    }

    fn nodes(&mut self, snap: &Snapshot) {
        for node in snap.nodes() {
            let Ok(n) = serde_json::from_str::<ConditionsLean>(node.json()) else {
                continue;
            };
            let born = n
                .metadata
                .creation_timestamp
                .as_deref()
                .and_then(parse_ts)
                .unwrap_or(i64::MIN);
            let nref = ObjectRef::of(node);
            for c in n.status.conditions.into_iter().flatten() {
                let Some(at) = c.last_transition_time.as_deref().and_then(parse_ts) else {
                    continue;
                };
                // Conditions set while the node registered are its birth, not news.
                if at <= born.saturating_add(300) {
                    continue;
                }
                let bad = if c.kind == "Ready" {
                    c.status != "True"
                } else {
                    c.status == "True"
                };
                let sev = if bad {
                    Severity::Warning
                } else {
                    Severity::Info
                };
                let msg = format!(
                    "node {} condition {} became {}{}",
                    nref.name,
                    c.kind,
                    c.status,
                    c.reason
                        .as_deref()
                        .map(|r| format!(" ({r})"))
                        .unwrap_or_default()
                );
                let msg = match c.message.as_deref().filter(|m| !m.is_empty()) {
                    Some(m) => format!("{msg}: {m}"),
                    None => msg,
                };
                self.push(
                    at,
                    nref.clone(),
                    "node-condition",
                    sev,
                    format!("{}={}", c.kind, c.status),
                    msg,
                    "status",
                    format!(
                        "resources/core/v1/nodes.json status.conditions[{}].lastTransitionTime",
                        c.kind
                    ),
                );
            }
        }
    }

    fn autoscalers(&mut self, snap: &Snapshot) {
        for group in ["autoscaling"] {
            for hpa in snap.items(group, "horizontalpodautoscalers") {
                let Ok(h) = serde_json::from_str::<ConditionsLean>(hpa.json()) else {
                    continue;
                };
                let href = ObjectRef::of(hpa);
                if let Some(at) = h.status.last_scale_time.as_deref().and_then(parse_ts) {
                    self.push(
                        at,
                        href.clone(),
                        "autoscaling",
                        Severity::Info,
                        "Scaled",
                        format!(
                            "autoscaler {} scaled its target (now {} replicas, desired {})",
                            href.name,
                            h.status.current_replicas.unwrap_or_default(),
                            h.status.desired_replicas.unwrap_or_default()
                        ),
                        "status",
                        "resources/autoscaling/v2/horizontalpodautoscalers.json status.lastScaleTime",
                    );
                }
                for c in h.status.conditions.into_iter().flatten() {
                    let Some(at) = c.last_transition_time.as_deref().and_then(parse_ts) else {
                        continue;
                    };
                    let bad = (c.kind == "ScalingLimited" && c.status == "True")
                        || (c.kind != "ScalingLimited" && c.status == "False");
                    if !bad {
                        continue;
                    }
                    self.push(
                        at,
                        href.clone(),
                        "autoscaling",
                        Severity::Warning,
                        format!("{}={}", c.kind, c.status),
                        format!(
                            "autoscaler {}: {} is {} ({})",
                            href.name,
                            c.kind,
                            c.status,
                            c.message.or(c.reason).unwrap_or_default()
                        ),
                        "status",
                        "resources/autoscaling/v2/horizontalpodautoscalers.json status.conditions",
                    );
                }
            }
        }
    }

    fn jobs(&mut self, snap: &Snapshot) {
        for job in snap.items("batch", "jobs") {
            let Ok(j) = serde_json::from_str::<ConditionsLean>(job.json()) else {
                continue;
            };
            let jref = ObjectRef::of(job);
            for c in j.status.conditions.into_iter().flatten() {
                if c.status != "True" || !matches!(c.kind.as_str(), "Failed" | "Complete") {
                    continue;
                }
                let Some(at) = c.last_transition_time.as_deref().and_then(parse_ts) else {
                    continue;
                };
                let sev = if c.kind == "Failed" {
                    Severity::Warning
                } else {
                    Severity::Info
                };
                self.push(
                    at,
                    jref.clone(),
                    "job",
                    sev,
                    c.kind.clone(),
                    format!(
                        "job {} {}{}",
                        jref.name,
                        if c.kind == "Failed" {
                            "failed"
                        } else {
                            "completed"
                        },
                        c.message
                            .map(|m| format!(": {m}"))
                            .or(c.reason.map(|r| format!(" ({r})")))
                            .unwrap_or_default()
                    ),
                    "status",
                    "resources/batch/v1/jobs.json status.conditions",
                );
            }
        }
        for cj in snap.items("batch", "cronjobs") {
            let Ok(c) = serde_json::from_str::<ConditionsLean>(cj.json()) else {
                continue;
            };
            if let Some(at) = c.status.last_schedule_time.as_deref().and_then(parse_ts) {
                let cref = ObjectRef::of(cj);
                let ok = c
                    .status
                    .last_successful_time
                    .as_deref()
                    .and_then(parse_ts)
                    .is_some_and(|s| s >= at);
                self.push(
                    at,
                    cref.clone(),
                    "job",
                    Severity::Info,
                    "LastSchedule",
                    format!(
                        "cronjob {} last scheduled a run{}",
                        cref.name,
                        if ok { ", which succeeded" } else { "" }
                    ),
                    "status",
                    "resources/batch/v1/cronjobs.json status.lastScheduleTime",
                );
            }
        }
    }

    /// The onset of each finding: where log signatures and metric anomalies enter.
    fn onsets(&mut self, hits: &[Hit], now: i64) {
        for h in hits {
            let Some(at) = h.since else { continue };
            let (source, location) = h
                .evidence
                .iter()
                .find(|e| e.at.as_deref().and_then(parse_ts) == Some(at))
                .or(h.evidence.first())
                .map(|e| (evidence_source(&e.source), e.location.clone()))
                .unwrap_or(("finding", String::new()));
            // How long it lasted, as far as the evidence shows: its latest timed evidence,
            // or the capture when the evidence is current state (status without a time).
            let latest = h
                .evidence
                .iter()
                .filter_map(|e| e.at.as_deref().and_then(parse_ts))
                .max();
            let current = h
                .evidence
                .iter()
                .any(|e| e.at.is_none() && e.source == "status");
            let last = if current {
                Some(now)
            } else {
                h.until.max(latest)
            };
            let entry = self.push(
                at,
                h.subject.clone(),
                "onset",
                h.severity,
                h.kind,
                h.message.clone(),
                source,
                location,
            );
            entry.last = last.filter(|l| *l > at);
        }
    }
}

fn evidence_source(s: &str) -> &'static str {
    match s {
        "event" => "event",
        "log" => "log",
        "metric" => "metric",
        "spec" => "spec",
        "status" => "status",
        _ => "finding",
    }
}

/// Per workload, the first problem still going on at or after `not_before` (problems
/// that ended before are history, not this incident): the onsets the explanation compares.
pub fn first_problem_by_workload(t: &Timeline, not_before: i64) -> BTreeMap<ObjectRef, i64> {
    let mut out: BTreeMap<ObjectRef, i64> = BTreeMap::new();
    for e in t
        .entries
        .iter()
        .filter(|e| e.is_problem() && e.last.unwrap_or(e.at).max(e.at) >= not_before)
    {
        out.entry(e.workload.clone()).or_insert(e.at);
    }
    out
}
