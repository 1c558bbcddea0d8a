//! Policy and access-control printers: PodDisruptionBudget, RoleBinding /
//! ClusterRoleBinding, and the admission webhook configurations.
//!
//! Role, ClusterRole and LimitRange have no printer on the real server; they use the default
//! convertor in the parent module.

use jiff::Timestamp;
use serde_json::{Value, json};

use super::cells::{age, at, int_at, int_or_string, len_at, list_at, name_of, str_at};
use super::{AGE, Col, NAME, Row, c, w};

pub(super) fn pdb_columns() -> Vec<Col> {
    vec![
        NAME,
        c(
            "Min Available",
            "string",
            "The minimum number of pods that must be available.",
        ),
        c(
            "Max Unavailable",
            "string",
            "The maximum number of pods that may be unavailable.",
        ),
        c(
            "Allowed Disruptions",
            "integer",
            "Calculated number of pods that may be disrupted at this time.",
        ),
        AGE,
    ]
}

pub(super) fn print_pdb(pdb: &Value, now: Timestamp) -> Row {
    let field = |k: &str| at(pdb, &["spec", k]).map_or("N/A".to_string(), int_or_string);
    Row::new(vec![
        json!(name_of(pdb)),
        json!(field("minAvailable")),
        json!(field("maxUnavailable")),
        json!(int_at(pdb, &["status", "disruptionsAllowed"])),
        age(pdb, now),
    ])
}

pub(super) fn binding_columns(what: &'static str) -> Vec<Col> {
    let (users, groups, sas) = if what == "roleBinding" {
        (
            "Users in the roleBinding",
            "Groups in the roleBinding",
            "ServiceAccounts in the roleBinding",
        )
    } else {
        (
            "Users in the clusterRoleBinding",
            "Groups in the clusterRoleBinding",
            "ServiceAccounts in the clusterRoleBinding",
        )
    };
    vec![
        NAME,
        c(
            "Role",
            "string",
            "RoleRef can reference a Role in the current namespace or a ClusterRole in the global namespace.",
        ),
        AGE,
        w("Users", "string", users),
        w("Groups", "string", groups),
        w("ServiceAccounts", "string", sas),
    ]
}

/// `printRoleBinding` / `printClusterRoleBinding` with `SubjectsStrings`.
pub(super) fn print_binding(b: &Value, now: Timestamp) -> Row {
    let mut users = Vec::new();
    let mut groups = Vec::new();
    let mut sas = Vec::new();
    for s in list_at(b, &["subjects"]) {
        match str_at(s, &["kind"]) {
            "ServiceAccount" => sas.push(format!(
                "{}/{}",
                str_at(s, &["namespace"]),
                str_at(s, &["name"])
            )),
            "User" => users.push(str_at(s, &["name"]).to_string()),
            "Group" => groups.push(str_at(s, &["name"]).to_string()),
            _ => {}
        }
    }
    Row::new(vec![
        json!(name_of(b)),
        json!(format!(
            "{}/{}",
            str_at(b, &["roleRef", "kind"]),
            str_at(b, &["roleRef", "name"])
        )),
        age(b, now),
        json!(users.join(", ")),
        json!(groups.join(", ")),
        json!(sas.join(", ")),
    ])
}

pub(super) fn webhook_configuration_columns() -> Vec<Col> {
    vec![
        NAME,
        c(
            "Webhooks",
            "integer",
            "Webhooks indicates the number of webhooks registered in this configuration",
        ),
        AGE,
    ]
}

pub(super) fn print_webhook_configuration(wc: &Value, now: Timestamp) -> Row {
    Row::new(vec![
        json!(name_of(wc)),
        json!(len_at(wc, &["webhooks"])),
        age(wc, now),
    ])
}
