//! `get_events`, and the event reading shared with the timeline and the summary: core/v1
//! and events.k8s.io/v1 events in one shape, filtered and paged.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::clusters::ClusterData;
use super::markdown::{UNTRUSTED, code, header, paging};
use super::page::{self, Page};
use super::tools::{Answer, DataSource};
use crate::model::{Object, Snapshot};

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

/// core/v1 and events.k8s.io/v1 events, read into one shape.
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

fn event_item(obj: &Object) -> Option<EventItem> {
    let v: EventView = obj.typed().ok()?;
    let r = v.involved_object.or(v.regarding).unwrap_or_default();
    let first = v
        .first_timestamp
        .or(v.deprecated_first_timestamp)
        .or(v.event_time.clone())
        .unwrap_or_else(|| obj.meta.creation_timestamp.clone());
    let last = v
        .last_timestamp
        .or(v.deprecated_last_timestamp)
        .or(v.event_time)
        .unwrap_or_else(|| first.clone());
    // Events about cluster-scoped objects live in `default`; they have no namespace.
    let namespace = if r.namespace.is_empty() && !matches!(r.kind.as_str(), "Node" | "Namespace") {
        obj.meta.namespace.clone()
    } else {
        r.namespace
    };
    Some(EventItem {
        event_type: v.event_type.unwrap_or_default(),
        reason: v.reason.unwrap_or_default(),
        object: ObjectName {
            namespace,
            kind: r.kind,
            name: r.name,
        },
        message: v.message.or(v.note).unwrap_or_default(),
        count: v.count.or(v.deprecated_count).unwrap_or(1),
        first_seen: first,
        last_seen: last,
        source: v
            .source
            .map(|s| s.component)
            .filter(|c| !c.is_empty())
            .or(v.reporting_component)
            .or(v.reporting_controller)
            .unwrap_or_default(),
    })
}

/// Every event of the snapshot (both API groups), in snapshot order.
pub fn all_events(snap: &Snapshot) -> Vec<EventItem> {
    snap.items("", "events")
        .iter()
        .chain(snap.items("events.k8s.io", "events"))
        .filter_map(event_item)
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
