//! Namespaces and the namespaced configuration objects: ConfigMap, Secret, ServiceAccount,
//! ResourceQuota.
//!
//! Mostly count-and-age printers; they live together so the tiny ones do not clutter the
//! modules with real logic. Secret rows print a type and a key count, never values, so a
//! redacted bundle prints the same rows as the live cluster did.

use jiff::Timestamp;
use serde_json::{Value, json};

use super::cells::{age, at, len_at, map_at, name_of, quantity, str_at};
use super::{AGE, Col, NAME, Row, c};

pub(super) fn namespace_columns() -> Vec<Col> {
    vec![
        NAME,
        c("Status", "string", "The status of the namespace"),
        AGE,
    ]
}

pub(super) fn print_namespace(ns: &Value, now: Timestamp) -> Row {
    Row::new(vec![
        json!(name_of(ns)),
        json!(str_at(ns, &["status", "phase"])),
        age(ns, now),
    ])
}

pub(super) fn config_map_columns() -> Vec<Col> {
    vec![
        NAME,
        c("Data", "string", "Data contains the configuration data."),
        AGE,
    ]
}

pub(super) fn print_config_map(cm: &Value, now: Timestamp) -> Row {
    Row::new(vec![
        json!(name_of(cm)),
        json!(len_at(cm, &["data"]) + len_at(cm, &["binaryData"])),
        age(cm, now),
    ])
}

pub(super) fn secret_columns() -> Vec<Col> {
    vec![
        NAME,
        c(
            "Type",
            "string",
            "Used to facilitate programmatic handling of secret data.",
        ),
        c("Data", "string", "Data contains the secret data."),
        AGE,
    ]
}

pub(super) fn print_secret(s: &Value, now: Timestamp) -> Row {
    Row::new(vec![
        json!(name_of(s)),
        json!(str_at(s, &["type"])),
        json!(len_at(s, &["data"])),
        age(s, now),
    ])
}

pub(super) fn service_account_columns() -> Vec<Col> {
    vec![
        NAME,
        c(
            "Secrets",
            "string",
            "Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use.",
        ),
        AGE,
    ]
}

pub(super) fn print_service_account(sa: &Value, now: Timestamp) -> Row {
    Row::new(vec![
        json!(name_of(sa)),
        json!(len_at(sa, &["secrets"])),
        age(sa, now),
    ])
}

pub(super) fn resource_quota_columns() -> Vec<Col> {
    vec![
        NAME,
        c(
            "Request",
            "string",
            "Request represents a minimum amount of cpu/memory that a container may consume.",
        ),
        c(
            "Limit",
            "string",
            "Limits control the maximum amount of cpu/memory that a container may use independent of contention on the node.",
        ),
        AGE,
    ]
}

/// `printResourceQuota`: `resource: used/hard`, `limits.*` in the Limit column.
pub(super) fn print_resource_quota(rq: &Value, now: Timestamp) -> Row {
    let mut resources: Vec<&String> = map_at(rq, &["status", "hard"])
        .map(|m| m.keys().collect())
        .unwrap_or_default();
    resources.sort();
    let mut requests = Vec::new();
    let mut limits = Vec::new();
    for r in resources {
        let used = quantity(at(rq, &["status", "used", r.as_str()]), "0");
        let hard = quantity(at(rq, &["status", "hard", r.as_str()]), "0");
        let text = format!("{r}: {used}/{hard}");
        let mut pieces = r.split('.');
        if pieces.next() == Some("limits") && pieces.next().is_some() {
            limits.push(text);
        } else {
            requests.push(text);
        }
    }
    Row::new(vec![
        json!(name_of(rq)),
        json!(requests.join(", ")),
        json!(limits.join(", ")),
        age(rq, now),
    ])
}
