//! The timeline's sources besides events: changes, pod status (terminations, restarts),
//! node conditions, autoscalers, Jobs and CronJobs, detector onsets, log signatures. Each
//! reads a lean view of its objects: at 150,000 pods only those that ever terminated are
//! parsed at all.

use serde::Deserialize;

use super::{Entry, events};
use crate::detect::{Change, Hit, LogStats, Signature, clip, parse_ts};
use crate::report::Severity;
use intel_engine::{ObjectRef, Relations};
use intel_model::Snapshot;

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

pub(super) struct Builder<'a> {
    pub rel: &'a Relations,
    pub entries: Vec<Entry>,
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
            message: clip(&intel_redact::scrub(&message.into()), 300),
            source,
            location: location.into(),
            count: 1,
        });
        self.entries.last_mut().expect("just pushed")
    }

    pub(super) fn events(&mut self, snap: &Snapshot) {
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

    pub(super) fn changes(&mut self, changes: &[Change]) {
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

    pub(super) fn pods(&mut self, snap: &Snapshot) {
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

    pub(super) fn nodes(&mut self, snap: &Snapshot) {
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

    pub(super) fn autoscalers(&mut self, snap: &Snapshot) {
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

    pub(super) fn jobs(&mut self, snap: &Snapshot) {
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
    pub(super) fn onsets(&mut self, hits: &[Hit], now: i64) {
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

impl Builder<'_> {
    /// Log signatures over time (first and last line, count), including those too weak
    /// for a finding: a 5% error rate shows when a dependency started to hurt. Signatures
    /// whose finding already has an onset entry at the same time are not repeated.
    pub(super) fn log_signatures(&mut self, logs: &LogStats) {
        let onsets: std::collections::HashSet<(ObjectRef, i64)> = self
            .entries
            .iter()
            .filter(|e| e.category == "onset" && e.source == "log")
            .map(|e| (e.subject.clone(), e.at))
            .collect();
        for (w, wl) in &logs.workloads {
            for (sig, st) in &wl.sigs {
                let Some(first) = st.first else { continue };
                if onsets.contains(&(w.clone(), first)) {
                    continue;
                }
                let sev = if matches!(sig, Signature::Warning | Signature::Slow) {
                    Severity::Info
                } else {
                    Severity::Warning
                };
                let entry = self.push(
                    first,
                    w.clone(),
                    "log",
                    sev,
                    sig.label(),
                    format!("{}: {} log lines with {}", w.name, st.count, sig.label()),
                    "log",
                    st.file.clone(),
                );
                entry.last = st.last.filter(|l| *l > first);
                entry.count = st.count as i64;
            }
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
