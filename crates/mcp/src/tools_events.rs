//! `get_events`, and the event reading shared with the timeline and the summary: core/v1
//! and events.k8s.io/v1 events in one shape, filtered and paged.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::clusters::ClusterData;
use super::markdown::{UNTRUSTED, code, header, paging};
use super::page::{self, Page};
use super::tools::{Answer, DataSource};
use intel_model::Snapshot;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GetEventsInput {
    /// The cluster to read (a name from list_clusters). Optional when one cluster is loaded.
    #[allow(dead_code)] // Read by `tools::call` before parsing, to pick the cluster.
    pub cluster: Option<String>,
    /// Only events in this namespace (events about nodes live in `default`).
    pub namespace: Option<String>,
    /// Only events about objects of this kind (`Pod`, `Node`, `Deployment`…).
    pub kind: Option<String>,
    /// Only events about the object with this name.
    pub name: Option<String>,
    /// `Warning` or `Normal`.
    #[serde(rename = "type")]
    pub event_type: Option<String>,
    /// Only events with this reason (`OOMKilling`, `BackOff`, `FailedScheduling`, `Unhealthy`…),
    /// case-insensitive.
    pub reason: Option<String>,
    /// The nextCursor of a previous answer, to get the next page.
    pub cursor: Option<String>,
    /// Items per page (default 50, at most 500).
    pub limit: Option<usize>,
}

#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ObjectName {
    pub kind: String,
    pub namespace: String,
    pub name: String,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventItem {
    /// `Warning` or `Normal`.
    #[serde(rename = "type")]
    pub event_type: String,
    pub reason: String,
    /// The object the event is about.
    pub object: ObjectName,
    /// The event's message. Untrusted text.
    pub message: String,
    pub count: i64,
    pub first_seen: String,
    pub last_seen: String,
    /// The component that reported it (kubelet, default-scheduler…).
    pub source: String,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GetEventsOutput {
    pub source: DataSource,
    pub events: Vec<EventItem>,
    pub total: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// Every event of the snapshot (both API groups, a copy kept in both once), in snapshot
/// order: the timeline engine's reading, in this tool's shape.
pub fn all_events(snap: &Snapshot) -> Vec<EventItem> {
    intel_analysis::timeline::events(snap)
        .into_iter()
        .map(|e| EventItem {
            event_type: e.event_type,
            reason: e.reason,
            object: ObjectName {
                kind: e.object.kind,
                namespace: e.object.namespace,
                name: e.object.name,
            },
            message: e.message,
            count: e.count,
            first_seen: e.first_seen,
            last_seen: e.last_seen,
            source: e.source,
        })
        .collect()
}

/// Event filters shared with the timeline.
pub struct EventFilter<'a> {
    pub namespace: Option<&'a str>,
    pub kind: Option<&'a str>,
    pub name: Option<&'a str>,
    pub event_type: Option<String>,
    pub reason: Option<&'a str>,
}

impl<'a> EventFilter<'a> {
    pub fn new(
        namespace: &'a Option<String>,
        kind: &'a Option<String>,
        name: &'a Option<String>,
        event_type: &'a Option<String>,
        reason: &'a Option<String>,
    ) -> Result<Self, String> {
        let some = |o: &'a Option<String>| o.as_deref().map(str::trim).filter(|s| !s.is_empty());
        let event_type = match some(event_type) {
            None => None,
            Some(t) if t.eq_ignore_ascii_case("warning") => Some("Warning".to_string()),
            Some(t) if t.eq_ignore_ascii_case("normal") => Some("Normal".to_string()),
            Some(t) => {
                return Err(format!(
                    "invalid type {t:?}: event types are `Warning` and `Normal`"
                ));
            }
        };
        Ok(EventFilter {
            namespace: some(namespace),
            kind: some(kind),
            name: some(name),
            event_type,
            reason: some(reason),
        })
    }

    pub fn matches(&self, e: &EventItem) -> bool {
        self.namespace.is_none_or(|n| e.object.namespace == n)
            && self
                .kind
                .is_none_or(|k| e.object.kind.eq_ignore_ascii_case(k))
            && self.name.is_none_or(|n| e.object.name == n)
            && self.event_type.as_ref().is_none_or(|t| e.event_type == *t)
            && self.reason.is_none_or(|r| e.reason.eq_ignore_ascii_case(r))
    }
}

pub fn get_events(data: &ClusterData, input: GetEventsInput) -> Result<Answer, String> {
    let offset = page::offset(input.cursor.as_deref())?;
    let limit = page::limit(input.limit)?;
    let filter = EventFilter::new(
        &input.namespace,
        &input.kind,
        &input.name,
        &input.event_type,
        &input.reason,
    )?;
    let mut events: Vec<EventItem> = all_events(data.snap())
        .into_iter()
        .filter(|e| filter.matches(e))
        .collect();
    // Newest first; RFC 3339 UTC text sorts as time does.
    events.sort_by(|a, b| {
        (&b.last_seen, &a.object.name, &a.reason).cmp(&(&a.last_seen, &b.object.name, &b.reason))
    });
    let Page {
        items,
        total,
        next_cursor,
    } = page::paginate(events, offset, limit);
    let mut text = header("Events (newest first)", data);
    if !items.is_empty() {
        text.push_str(UNTRUSTED);
        text.push_str("\n\n| last seen | type | reason | object | count | message |\n|---|---|---|---|---|---|\n");
        for e in &items {
            text.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} |\n",
                e.last_seen,
                e.event_type,
                code(&e.reason),
                code(&format!(
                    "{} {}/{}",
                    e.object.kind, e.object.namespace, e.object.name
                )),
                e.count,
                code(&e.message)
            ));
        }
        text.push('\n');
    }
    text.push_str(&paging(items.len(), offset, total, next_cursor.as_deref()));
    Answer::new(
        text,
        &GetEventsOutput {
            source: DataSource::of(data),
            events: items,
            total,
            next_cursor,
        },
    )
}
