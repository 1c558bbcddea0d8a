//! Event printers for both core/v1 and events.k8s.io/v1 Events.
//!
//! The server converts events.k8s.io Events to the core shape before printing, so both groups
//! print identically; keeping them in one place keeps that mapping next to the printer it
//! feeds.

use jiff::Timestamp;
use serde_json::{Value, json};

use super::cells::{at, int_at, name_of, since, str_at, time_at};
use super::{Col, NAME, Row, c, w};

pub(super) fn event_columns() -> Vec<Col> {
    vec![
        c(
            "Last Seen",
            "string",
            "The time at which the most recent occurrence of this event was recorded.",
        ),
        c(
            "Type",
            "string",
            "Type of this event (Normal, Warning), new types could be added in the future",
        ),
        c(
            "Reason",
            "string",
            "This should be a short, machine understandable string that gives the reason for the transition into the object's current status.",
        ),
        c("Object", "string", "The object that this event is about."),
        w(
            "Subobject",
            "string",
            "If referring to a piece of an object instead of an entire object, this string should contain a valid JSON/Go field access statement, such as desiredState.manifest.containers[2].",
        ),
        w(
            "Source",
            "string",
            "The component reporting this event. Should be a short machine understandable string.",
        ),
        c(
            "Message",
            "string",
            "A human-readable description of the status of this operation.",
        ),
        w(
            "First Seen",
            "string",
            "The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)",
        ),
        w(
            "Count",
            "string",
            "The number of times this event has occurred.",
        ),
        Col {
            priority: 1,
            ..NAME
        },
    ]
}

/// `printEvent` over a core/v1 Event.
pub(super) fn print_event(ev: &Value, now: Timestamp) -> Row {
    let first = match time_at(ev, &["firstTimestamp"]) {
        Some(t) => since(now, Some(t)),
        None => since(now, time_at(ev, &["eventTime"])),
    };
    let mut last = match time_at(ev, &["lastTimestamp"]) {
        Some(t) => since(now, Some(t)),
        None => first.clone(),
    };
    let mut count = int_at(ev, &["count"]);
    if let Some(series) = at(ev, &["series"]) {
        last = since(now, time_at(series, &["lastObservedTime"]));
        count = int_at(series, &["count"]);
    } else if count == 0 {
        count = 1; // singleton events don't set a count in the new API
    }
    let kind = str_at(ev, &["involvedObject", "kind"]).to_lowercase();
    let obj_name = str_at(ev, &["involvedObject", "name"]);
    let target = if obj_name.is_empty() {
        kind
    } else {
        format!("{kind}/{obj_name}")
    };
    let first_non_empty = |a: &str, b: &str| {
        if a.is_empty() {
            b.to_string()
        } else {
            a.to_string()
        }
    };
    let component = first_non_empty(
        str_at(ev, &["source", "component"]),
        str_at(ev, &["reportingComponent"]),
    );
    let instance = first_non_empty(
        str_at(ev, &["source", "host"]),
        str_at(ev, &["reportingInstance"]),
    );
    let source = if instance.is_empty() {
        component
    } else {
        format!("{component}, {instance}")
    };
    Row::new(vec![
        json!(last),
        json!(str_at(ev, &["type"])),
        json!(str_at(ev, &["reason"])),
        json!(target),
        json!(str_at(ev, &["involvedObject", "fieldPath"])),
        json!(source),
        json!(str_at(ev, &["message"]).trim()),
        json!(first),
        json!(count),
        json!(name_of(ev)),
    ])
}

/// events.k8s.io/v1 Events are converted to the internal (core-shaped) Event before printing,
/// so both groups print identically.
pub(super) fn print_events_v1_event(ev: &Value, now: Timestamp) -> Row {
    let pick = |k: &str| ev.get(k).cloned().unwrap_or(Value::Null);
    let core = json!({
        "metadata": pick("metadata"),
        "involvedObject": pick("regarding"),
        "message": pick("note"),
        "reason": pick("reason"),
        "type": pick("type"),
        "source": pick("deprecatedSource"),
        "firstTimestamp": pick("deprecatedFirstTimestamp"),
        "lastTimestamp": pick("deprecatedLastTimestamp"),
        "count": pick("deprecatedCount"),
        "eventTime": pick("eventTime"),
        "series": pick("series"),
        "reportingComponent": pick("reportingController"),
        "reportingInstance": pick("reportingInstance"),
    });
    print_event(&core, now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::tests::{build, cell, column_names, wide_columns};

    #[test]
    fn events_core_and_events_v1() {
        let ev = json!({
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": "web-1.17a", "namespace": "default"},
            "involvedObject": {"kind": "Pod", "name": "web-1", "fieldPath": "spec.containers{app}"},
            "reason": "BackOff", "type": "Warning",
            "message": "Back-off restarting failed container\n",
            "source": {"component": "kubelet", "host": "n1"},
            "firstTimestamp": "2024-05-01T11:00:00Z",
            "lastTimestamp": "2024-05-01T11:59:30Z",
            "count": 12
        });
        let t = build("", "Event", &ev);
        assert_eq!(
            column_names(&t),
            [
                "Last Seen",
                "Type",
                "Reason",
                "Object",
                "Subobject",
                "Source",
                "Message",
                "First Seen",
                "Count",
                "Name"
            ]
        );
        assert_eq!(
            wide_columns(&t),
            ["Subobject", "Source", "First Seen", "Count", "Name"]
        );
        assert_eq!(cell(&t, 0, "Last Seen"), "30s");
        assert_eq!(cell(&t, 0, "Object"), "pod/web-1");
        assert_eq!(
            cell(&t, 0, "Message"),
            "Back-off restarting failed container"
        );
        assert_eq!(cell(&t, 0, "Source"), "kubelet, n1");
        assert_eq!(cell(&t, 0, "First Seen"), "60m");
        assert_eq!(cell(&t, 0, "Count"), 12);

        let v1 = json!({
            "apiVersion": "events.k8s.io/v1", "kind": "Event",
            "metadata": {"name": "e2"},
            "regarding": {"kind": "Node", "name": "n1"},
            "reason": "NodeNotReady", "type": "Normal", "note": "Node is not ready",
            "eventTime": "2024-05-01T11:50:00.000000Z",
            "reportingController": "node-controller"
        });
        let t = build("events.k8s.io", "Event", &v1);
        assert_eq!(cell(&t, 0, "Last Seen"), "10m");
        assert_eq!(cell(&t, 0, "Object"), "node/n1");
        assert_eq!(cell(&t, 0, "Message"), "Node is not ready");
        assert_eq!(cell(&t, 0, "Source"), "node-controller");
        assert_eq!(cell(&t, 0, "Count"), 1);
    }
}
