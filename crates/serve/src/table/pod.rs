//! The Pod printer: the READY / STATUS / RESTARTS logic of `printPod`.
//!
//! On its own because it is the most intricate printer and the one users compare against a
//! live cluster first; its init-container and sidecar rules are easy to break by accident.

use std::collections::BTreeSet;

use jiff::Timestamp;
use serde_json::{Value, json};

use super::cells::{
    age, at, bool_at, condition, int_at, list_at, name_of, opt_newer, or_placeholder, since,
    str_at, time_at,
};
use super::{AGE, Col, NAME, Row, c, w};

pub(super) fn pod_columns() -> Vec<Col> {
    vec![
        NAME,
        c(
            "Ready",
            "string",
            "The aggregate readiness state of this pod for accepting traffic.",
        ),
        c(
            "Status",
            "string",
            "The aggregate status of the containers in this pod.",
        ),
        c(
            "Restarts",
            "string",
            "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.",
        ),
        AGE,
        w(
            "IP",
            "string",
            "podIP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.",
        ),
        w(
            "Node",
            "string",
            "NodeName indicates in which node this pod is scheduled.",
        ),
        w(
            "Nominated Node",
            "string",
            "nominatedNodeName is set only when this pod preempts other pods on the node, but it cannot be scheduled right away as preemption victims receive their graceful termination periods.",
        ),
        w(
            "Readiness Gates",
            "string",
            "If specified, all readiness gates will be evaluated for pod readiness.",
        ),
    ]
}

/// `printPod`: the READY / STATUS / RESTARTS logic kubectl users know, step by step.
pub(super) fn print_pod(pod: &Value, now: Timestamp) -> Row {
    let mut restarts: i64 = 0;
    let mut restartable_init_restarts: i64 = 0;
    let mut total = i64::try_from(list_at(pod, &["spec", "containers"]).len()).unwrap_or(0);
    let mut ready: i64 = 0;
    let mut last_restart: Option<Timestamp> = None;
    let mut last_restartable_init_restart: Option<Timestamp> = None;

    let phase = str_at(pod, &["status", "phase"]);
    let status_reason = str_at(pod, &["status", "reason"]);
    let mut reason = if status_reason.is_empty() {
        phase.to_string()
    } else {
        status_reason.to_string()
    };
    let conditions = list_at(pod, &["status", "conditions"]);
    if conditions.iter().any(|c| {
        str_at(c, &["type"]) == "PodScheduled" && str_at(c, &["reason"]) == "SchedulingGated"
    }) {
        reason = "SchedulingGated".into();
    }

    let row_conditions = match phase {
        "Succeeded" => Some(json!([{
            "type": "Completed", "status": "True", "reason": "Succeeded",
            "message": "The pod has completed successfully."
        }])),
        "Failed" => Some(json!([{
            "type": "Completed", "status": "True", "reason": "Failed",
            "message": "The pod failed."
        }])),
        _ => None,
    };

    let init_specs = list_at(pod, &["spec", "initContainers"]);
    let mut restartable: BTreeSet<&str> = BTreeSet::new();
    for ic in init_specs {
        if str_at(ic, &["restartPolicy"]) == "Always" {
            restartable.insert(str_at(ic, &["name"]));
            total += 1;
        }
    }

    let mut initializing = false;
    for (i, cs) in list_at(pod, &["status", "initContainerStatuses"])
        .iter()
        .enumerate()
    {
        let rc = int_at(cs, &["restartCount"]);
        let finished = time_at(cs, &["lastState", "terminated", "finishedAt"]);
        restarts += rc;
        last_restart = opt_newer(last_restart, finished);
        let is_restartable = restartable.contains(str_at(cs, &["name"]));
        if is_restartable {
            restartable_init_restarts += rc;
            last_restartable_init_restart = opt_newer(last_restartable_init_restart, finished);
        }
        let terminated = at(cs, &["state", "terminated"]);
        let waiting_reason = str_at(cs, &["state", "waiting", "reason"]);
        if terminated.is_some_and(|t| int_at(t, &["exitCode"]) == 0) {
            continue;
        }
        if is_restartable && bool_at(cs, &["started"]) {
            if bool_at(cs, &["ready"]) {
                ready += 1;
            }
            continue;
        }
        if let Some(t) = terminated {
            let r = str_at(t, &["reason"]);
            reason = if !r.is_empty() {
                format!("Init:{r}")
            } else if int_at(t, &["signal"]) != 0 {
                format!("Init:Signal:{}", int_at(t, &["signal"]))
            } else {
                format!("Init:ExitCode:{}", int_at(t, &["exitCode"]))
            };
        } else if !waiting_reason.is_empty() && waiting_reason != "PodInitializing" {
            reason = format!("Init:{waiting_reason}");
        } else {
            reason = format!("Init:{i}/{}", init_specs.len());
        }
        initializing = true;
        break;
    }

    let initialized = condition(pod, &["status", "conditions"], "Initialized")
        .is_some_and(|c| str_at(c, &["status"]) == "True");
    if !initializing || initialized {
        restarts = restartable_init_restarts;
        last_restart = last_restartable_init_restart;
        let mut has_running = false;
        for cs in list_at(pod, &["status", "containerStatuses"]).iter().rev() {
            restarts += int_at(cs, &["restartCount"]);
            last_restart = opt_newer(
                last_restart,
                time_at(cs, &["lastState", "terminated", "finishedAt"]),
            );
            let waiting_reason = str_at(cs, &["state", "waiting", "reason"]);
            let terminated = at(cs, &["state", "terminated"]);
            if !waiting_reason.is_empty() {
                reason = waiting_reason.to_string();
            } else if let Some(t) = terminated {
                let r = str_at(t, &["reason"]);
                reason = if !r.is_empty() {
                    r.to_string()
                } else if int_at(t, &["signal"]) != 0 {
                    format!("Signal:{}", int_at(t, &["signal"]))
                } else {
                    format!("ExitCode:{}", int_at(t, &["exitCode"]))
                };
            } else if bool_at(cs, &["ready"]) && at(cs, &["state", "running"]).is_some() {
                has_running = true;
                ready += 1;
            }
        }
        if reason == "Completed" && has_running {
            let pod_ready = condition(pod, &["status", "conditions"], "Ready")
                .is_some_and(|c| str_at(c, &["status"]) == "True");
            reason = if pod_ready { "Running" } else { "NotReady" }.into();
        }
    }

    let deleting = at(pod, &["metadata", "deletionTimestamp"]).is_some();
    if deleting && status_reason == "NodeLost" {
        reason = "Unknown".into();
    } else if deleting && phase != "Failed" && phase != "Succeeded" {
        reason = "Terminating".into();
    }

    let restarts_text = match last_restart {
        Some(t) if restarts != 0 => format!("{restarts} ({} ago)", since(now, Some(t))),
        _ => restarts.to_string(),
    };

    let mut pod_ip = list_at(pod, &["status", "podIPs"])
        .first()
        .map(|ip| str_at(ip, &["ip"]))
        .unwrap_or("");
    if pod_ip.is_empty() {
        pod_ip = str_at(pod, &["status", "podIP"]);
    }
    let gates = list_at(pod, &["spec", "readinessGates"]);
    let readiness_gates = if gates.is_empty() {
        "<none>".to_string()
    } else {
        let true_count = gates
            .iter()
            .filter(|g| {
                condition(
                    pod,
                    &["status", "conditions"],
                    str_at(g, &["conditionType"]),
                )
                .is_some_and(|c| str_at(c, &["status"]) == "True")
            })
            .count();
        format!("{true_count}/{}", gates.len())
    };

    Row {
        cells: vec![
            json!(name_of(pod)),
            json!(format!("{ready}/{total}")),
            json!(reason),
            json!(restarts_text),
            age(pod, now),
            json!(or_placeholder(pod_ip, "<none>")),
            json!(or_placeholder(str_at(pod, &["spec", "nodeName"]), "<none>")),
            json!(or_placeholder(
                str_at(pod, &["status", "nominatedNodeName"]),
                "<none>"
            )),
            json!(readiness_gates),
        ],
        conditions: row_conditions,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::tests::{build, cell, column_names, wide_columns};

    #[test]
    fn crashlooping_pod() {
        let pod = json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "web-1", "namespace": "default",
                         "creationTimestamp": "2024-05-01T10:00:00Z"},
            "spec": {"nodeName": "n1", "containers": [{"name": "app", "image": "web:1"}]},
            "status": {
                "phase": "Running",
                "podIP": "10.0.0.7",
                "conditions": [{"type": "Ready", "status": "False"}],
                "containerStatuses": [{
                    "name": "app", "ready": false, "restartCount": 5,
                    "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                    "lastState": {"terminated": {"exitCode": 1, "reason": "Error",
                                  "finishedAt": "2024-05-01T11:58:00Z"}}
                }]
            }
        });
        let t = build("", "Pod", &pod);
        assert_eq!(t["kind"], "Table");
        assert_eq!(t["apiVersion"], "meta.k8s.io/v1");
        assert_eq!(t["metadata"]["resourceVersion"], "42");
        assert_eq!(
            column_names(&t),
            [
                "Name",
                "Ready",
                "Status",
                "Restarts",
                "Age",
                "IP",
                "Node",
                "Nominated Node",
                "Readiness Gates"
            ]
        );
        assert_eq!(t["columnDefinitions"][0]["format"], "name");
        assert_eq!(t["columnDefinitions"][3]["type"], "string");
        assert_eq!(
            wide_columns(&t),
            ["IP", "Node", "Nominated Node", "Readiness Gates"]
        );
        assert_eq!(cell(&t, 0, "Name"), "web-1");
        assert_eq!(cell(&t, 0, "Ready"), "0/1");
        assert_eq!(cell(&t, 0, "Status"), "CrashLoopBackOff");
        assert_eq!(cell(&t, 0, "Restarts"), "5 (2m ago)");
        assert_eq!(cell(&t, 0, "Age"), "120m");
        assert_eq!(cell(&t, 0, "IP"), "10.0.0.7");
        assert_eq!(cell(&t, 0, "Node"), "n1");
        assert_eq!(cell(&t, 0, "Nominated Node"), "<none>");
        assert_eq!(cell(&t, 0, "Readiness Gates"), "<none>");
        // Default includeObject is Metadata.
        let obj = &t["rows"][0]["object"];
        assert_eq!(obj["kind"], "PartialObjectMetadata");
        assert_eq!(obj["apiVersion"], "meta.k8s.io/v1");
        assert_eq!(obj["metadata"]["name"], "web-1");
        assert!(obj.get("spec").is_none());
    }

    #[test]
    fn pod_status_variants() {
        let base = |status: Value, extra_meta: Value| {
            let mut meta = json!({"name": "p", "creationTimestamp": "2024-05-01T11:00:00Z"});
            if let (Some(m), Some(e)) = (meta.as_object_mut(), extra_meta.as_object()) {
                m.extend(e.clone());
            }
            json!({"metadata": meta,
                   "spec": {"initContainers": [{"name": "init"}],
                            "containers": [{"name": "a"}, {"name": "b"}]},
                   "status": status})
        };
        let status_of = |pod: &Value| cell(&build("", "Pod", pod), 0, "Status");

        let init_running = base(
            json!({"phase": "Pending",
                   "initContainerStatuses": [{"name": "init", "state": {"running": {}}}]}),
            json!({}),
        );
        assert_eq!(status_of(&init_running), "Init:0/1");

        let init_failed = base(
            json!({"phase": "Pending", "initContainerStatuses": [{"name": "init",
                "state": {"terminated": {"exitCode": 2}}}]}),
            json!({}),
        );
        assert_eq!(status_of(&init_failed), "Init:ExitCode:2");

        let oom = base(
            json!({"phase": "Running", "containerStatuses": [
                {"name": "a", "ready": true, "state": {"running": {}}},
                {"name": "b", "ready": false, "state": {"terminated": {"reason": "OOMKilled", "exitCode": 137}}}
            ]}),
            json!({}),
        );
        let t = build("", "Pod", &oom);
        assert_eq!(cell(&t, 0, "Status"), "OOMKilled");
        assert_eq!(cell(&t, 0, "Ready"), "1/2");

        let completed_with_running = base(
            json!({"phase": "Running", "conditions": [{"type": "Ready", "status": "False"}],
                   "containerStatuses": [
                {"name": "a", "ready": true, "state": {"running": {}}},
                {"name": "b", "ready": false, "state": {"terminated": {"reason": "Completed", "exitCode": 0}}}
            ]}),
            json!({}),
        );
        assert_eq!(status_of(&completed_with_running), "NotReady");

        let evicted = base(json!({"phase": "Failed", "reason": "Evicted"}), json!({}));
        let t = build("", "Pod", &evicted);
        assert_eq!(cell(&t, 0, "Status"), "Evicted");
        assert_eq!(t["rows"][0]["conditions"][0]["reason"], "Failed");

        let terminating = base(
            json!({"phase": "Running"}),
            json!({"deletionTimestamp": "2024-05-01T11:59:00Z"}),
        );
        assert_eq!(status_of(&terminating), "Terminating");

        let running = json!({"metadata": {"name": "ok"},
            "spec": {"containers": [{"name": "a"}], "readinessGates": [{"conditionType": "x/y"}]},
            "status": {"phase": "Running", "conditions": [{"type": "x/y", "status": "True"}],
                "podIPs": [{"ip": "fd00::1"}],
                "containerStatuses": [{"name": "a", "ready": true, "restartCount": 0,
                    "state": {"running": {"startedAt": "2024-05-01T11:00:00Z"}}}]}});
        let t = build("", "Pod", &running);
        assert_eq!(cell(&t, 0, "Status"), "Running");
        assert_eq!(cell(&t, 0, "Restarts"), "0");
        assert_eq!(cell(&t, 0, "Age"), "<unknown>");
        assert_eq!(cell(&t, 0, "IP"), "fd00::1");
        assert_eq!(cell(&t, 0, "Readiness Gates"), "1/1");
    }
}
