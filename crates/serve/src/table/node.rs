//! Nodes and the cluster-scoped objects about where and how pods run: RuntimeClass,
//! PriorityClass and Lease (the node heartbeats and leader elections).
//!
//! Grouped because they are small, cluster-level, and read together when debugging
//! scheduling.

use std::collections::BTreeSet;

use jiff::Timestamp;
use serde_json::{Value, json};

use super::cells::{
    age, bool_at, condition, int_at, list_at, map_at, name_of, or_placeholder, str_at,
};
use super::{AGE, Col, NAME, Row, c, w};

pub(super) fn node_columns() -> Vec<Col> {
    vec![
        NAME,
        c("Status", "string", "The status of the node"),
        c("Roles", "string", "The roles of the node"),
        AGE,
        c("Version", "string", "Kubelet Version reported by the node."),
        w(
            "Internal-IP",
            "string",
            "List of addresses reachable to the node.",
        ),
        w(
            "External-IP",
            "string",
            "List of addresses reachable to the node.",
        ),
        w(
            "OS-Image",
            "string",
            "OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).",
        ),
        w(
            "Kernel-Version",
            "string",
            "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).",
        ),
        w(
            "Container-Runtime",
            "string",
            "ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2).",
        ),
    ]
}

/// `printNode`: Ready/NotReady/Unknown from the Ready condition, plus SchedulingDisabled.
pub(super) fn print_node(node: &Value, now: Timestamp) -> Row {
    let mut status = match condition(node, &["status", "conditions"], "Ready") {
        Some(c) if str_at(c, &["status"]) == "True" => vec!["Ready"],
        Some(_) => vec!["NotReady"],
        None => vec!["Unknown"],
    };
    if bool_at(node, &["spec", "unschedulable"]) {
        status.push("SchedulingDisabled");
    }
    let mut roles: BTreeSet<String> = BTreeSet::new();
    if let Some(labels) = map_at(node, &["metadata", "labels"]) {
        for (k, v) in labels {
            if let Some(role) = k.strip_prefix("node-role.kubernetes.io/") {
                if !role.is_empty() {
                    roles.insert(role.to_string());
                }
            } else if k == "kubernetes.io/role" {
                let v = v.as_str().unwrap_or("");
                if !v.is_empty() {
                    roles.insert(v.to_string());
                }
            }
        }
    }
    let roles = if roles.is_empty() {
        "<none>".to_string()
    } else {
        roles.into_iter().collect::<Vec<_>>().join(",")
    };
    let address = |ty: &str| {
        list_at(node, &["status", "addresses"])
            .iter()
            .find(|a| str_at(a, &["type"]) == ty)
            .map(|a| str_at(a, &["address"]).to_string())
            .unwrap_or_else(|| "<none>".into())
    };
    let info =
        |field: &str| or_placeholder(str_at(node, &["status", "nodeInfo", field]), "<unknown>");
    Row::new(vec![
        json!(name_of(node)),
        json!(status.join(",")),
        json!(roles),
        age(node, now),
        json!(str_at(node, &["status", "nodeInfo", "kubeletVersion"])),
        json!(address("InternalIP")),
        json!(address("ExternalIP")),
        json!(info("osImage")),
        json!(info("kernelVersion")),
        json!(info("containerRuntimeVersion")),
    ])
}

pub(super) fn priority_class_columns() -> Vec<Col> {
    vec![
        NAME,
        c(
            "Value",
            "integer",
            "value represents the integer value of this priority class.",
        ),
        c(
            "Global-Default",
            "boolean",
            "globalDefault specifies whether this PriorityClass should be considered as the default priority for pods that do not have any priority class.",
        ),
        AGE,
        c(
            "PreemptionPolicy",
            "string",
            "preemptionPolicy is the Policy for preempting pods with lower priority.",
        ),
    ]
}

pub(super) fn print_priority_class(pc: &Value, now: Timestamp) -> Row {
    Row::new(vec![
        json!(name_of(pc)),
        json!(int_at(pc, &["value"])),
        json!(bool_at(pc, &["globalDefault"])),
        age(pc, now),
        json!(str_at(pc, &["preemptionPolicy"])),
    ])
}

pub(super) fn lease_columns() -> Vec<Col> {
    vec![
        NAME,
        c(
            "Holder",
            "string",
            "holderIdentity contains the identity of the holder of a current lease.",
        ),
        AGE,
    ]
}

pub(super) fn print_lease(l: &Value, now: Timestamp) -> Row {
    Row::new(vec![
        json!(name_of(l)),
        json!(str_at(l, &["spec", "holderIdentity"])),
        age(l, now),
    ])
}

pub(super) fn runtime_class_columns() -> Vec<Col> {
    vec![
        NAME,
        c(
            "Handler",
            "string",
            "handler specifies the underlying runtime and configuration that the CRI implementation will use to handle pods of this class.",
        ),
        AGE,
    ]
}

pub(super) fn print_runtime_class(rc: &Value, now: Timestamp) -> Row {
    Row::new(vec![
        json!(name_of(rc)),
        json!(str_at(rc, &["handler"])),
        age(rc, now),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::tests::{build, cell, wide_columns};

    #[test]
    fn node_not_ready_and_cordoned() {
        let node = json!({
            "metadata": {"name": "n1", "creationTimestamp": "2024-04-01T12:00:00Z",
                "labels": {"node-role.kubernetes.io/worker": "", "node-role.kubernetes.io/control-plane": ""}},
            "spec": {"unschedulable": true},
            "status": {
                "conditions": [{"type": "MemoryPressure", "status": "False"},
                               {"type": "Ready", "status": "Unknown"}],
                "addresses": [{"type": "InternalIP", "address": "192.168.1.10"}],
                "nodeInfo": {"kubeletVersion": "v1.30.1", "osImage": "Ubuntu 22.04",
                             "kernelVersion": "6.1.0", "containerRuntimeVersion": "containerd://1.7.2"}
            }
        });
        let t = build("", "Node", &node);
        assert_eq!(cell(&t, 0, "Status"), "NotReady,SchedulingDisabled");
        assert_eq!(cell(&t, 0, "Roles"), "control-plane,worker");
        assert_eq!(cell(&t, 0, "Age"), "30d");
        assert_eq!(cell(&t, 0, "Version"), "v1.30.1");
        assert_eq!(cell(&t, 0, "Internal-IP"), "192.168.1.10");
        assert_eq!(cell(&t, 0, "External-IP"), "<none>");
        assert_eq!(cell(&t, 0, "Container-Runtime"), "containerd://1.7.2");
        assert_eq!(
            wide_columns(&t),
            [
                "Internal-IP",
                "External-IP",
                "OS-Image",
                "Kernel-Version",
                "Container-Runtime"
            ]
        );

        let bare = json!({"metadata": {"name": "n2"}});
        let t = build("", "Node", &bare);
        assert_eq!(cell(&t, 0, "Status"), "Unknown");
        assert_eq!(cell(&t, 0, "Roles"), "<none>");
        assert_eq!(cell(&t, 0, "OS-Image"), "<unknown>");
    }
}
