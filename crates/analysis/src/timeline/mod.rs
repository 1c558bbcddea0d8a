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

use serde::Serialize;

use super::detect::{Change, Hit, LogStats, fmt_ts, parse_ts};
use super::report::Severity;
use intel_engine::{ObjectRef, Relations};
use intel_model::Snapshot;

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

mod events;
mod sources;

pub use events::{Event, events};

/// Everything the timeline is built from besides the snapshot: the detectors' output.
pub struct Inputs<'a> {
    pub snap: &'a Snapshot,
    pub rel: &'a Relations,
    pub hits: &'a [Hit],
    pub changes: &'a [Change],
    /// Log signatures per workload, when the caller has them.
    pub logs: Option<&'a LogStats>,
}

impl Timeline {
    pub fn build(inp: &Inputs) -> Timeline {
        let mut b = sources::Builder {
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
        if let Some(logs) = inp.logs {
            b.log_signatures(logs);
        }
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
