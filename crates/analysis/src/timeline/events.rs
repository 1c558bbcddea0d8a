//! Events of both API groups (core/v1 and events.k8s.io/v1) read into one shape, with the
//! copies a cluster keeps in both groups kept once.

use serde::Deserialize;

use intel_engine::ObjectRef;
use intel_model::{Object, Snapshot};

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
