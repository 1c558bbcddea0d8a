//! Workload printers: Deployment, ReplicaSet, StatefulSet, DaemonSet, ControllerRevision,
//! Job, CronJob, ReplicationController and PodTemplate.
//!
//! Together because they share the same shape: a few status counts, then the wide
//! Containers / Images / Selector columns taken from the pod template.

use jiff::Timestamp;
use serde_json::{Value, json};

use super::cells::{
    age, at, bool_at, condition, container_cells, format_label_selector, format_labels, int_at,
    label_selector_text, len_at, list_at, map_at, name_of, opt_int_at, or_placeholder, since,
    str_at, time_at,
};
use super::duration::human_duration_nanos;
use super::{AGE, CONTAINERS_DESC, Col, IMAGES_DESC, NAME, Row, c, w};

pub(super) fn replication_controller_columns() -> Vec<Col> {
    vec![
        NAME,
        c(
            "Desired",
            "integer",
            "Replicas is the number of desired replicas.",
        ),
        c(
            "Current",
            "integer",
            "Replicas is the most recently observed number of replicas.",
        ),
        c(
            "Ready",
            "integer",
            "The number of ready replicas for this replication controller.",
        ),
        AGE,
        w("Containers", "string", CONTAINERS_DESC),
        w("Images", "string", IMAGES_DESC),
        w(
            "Selector",
            "string",
            "Selector is a label query over pods that should match the Replicas count.",
        ),
    ]
}

pub(super) fn print_replication_controller(rc: &Value, now: Timestamp) -> Row {
    let (names, images) = container_cells(list_at(rc, &["spec", "template", "spec", "containers"]));
    Row::new(vec![
        json!(name_of(rc)),
        json!(opt_int_at(rc, &["spec", "replicas"]).unwrap_or(1)),
        json!(int_at(rc, &["status", "replicas"])),
        json!(int_at(rc, &["status", "readyReplicas"])),
        age(rc, now),
        names,
        images,
        json!(format_labels(map_at(rc, &["spec", "selector"]))),
    ])
}

pub(super) fn pod_template_columns() -> Vec<Col> {
    vec![
        NAME,
        c("Containers", "string", CONTAINERS_DESC),
        c("Images", "string", IMAGES_DESC),
        c("Pod Labels", "string", "The labels for the pod template."),
    ]
}

pub(super) fn print_pod_template(pt: &Value, _now: Timestamp) -> Row {
    let (names, images) = container_cells(list_at(pt, &["template", "spec", "containers"]));
    Row::new(vec![
        json!(name_of(pt)),
        names,
        images,
        json!(format_labels(map_at(
            pt,
            &["template", "metadata", "labels"]
        ))),
    ])
}

pub(super) fn deployment_columns() -> Vec<Col> {
    vec![
        NAME,
        c("Ready", "string", "Number of the pod with ready state"),
        c(
            "Up-to-date",
            "string",
            "Total number of non-terminated pods targeted by this deployment that have the desired template spec.",
        ),
        c(
            "Available",
            "string",
            "Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.",
        ),
        AGE,
        w("Containers", "string", CONTAINERS_DESC),
        w("Images", "string", IMAGES_DESC),
        w(
            "Selector",
            "string",
            "Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment.",
        ),
    ]
}

/// `printDeployment`: READY is "ready/desired"; the selector is printed without "<none>".
pub(super) fn print_deployment(d: &Value, now: Timestamp) -> Row {
    let desired = opt_int_at(d, &["spec", "replicas"]).unwrap_or(1);
    let (names, images) = container_cells(list_at(d, &["spec", "template", "spec", "containers"]));
    let selector =
        label_selector_text(at(d, &["spec", "selector"])).unwrap_or_else(|| "<invalid>".into());
    Row::new(vec![
        json!(name_of(d)),
        json!(format!(
            "{}/{desired}",
            int_at(d, &["status", "readyReplicas"])
        )),
        json!(int_at(d, &["status", "updatedReplicas"])),
        json!(int_at(d, &["status", "availableReplicas"])),
        age(d, now),
        names,
        images,
        json!(selector),
    ])
}

pub(super) fn replica_set_columns() -> Vec<Col> {
    vec![
        NAME,
        c(
            "Desired",
            "integer",
            "Replicas is the number of desired replicas.",
        ),
        c(
            "Current",
            "integer",
            "Replicas is the most recently observed number of replicas.",
        ),
        c(
            "Ready",
            "integer",
            "The number of ready replicas for this replica set.",
        ),
        AGE,
        w("Containers", "string", CONTAINERS_DESC),
        w("Images", "string", IMAGES_DESC),
        w(
            "Selector",
            "string",
            "Selector is a label query over pods that should match the replica count.",
        ),
    ]
}

pub(super) fn print_replica_set(rs: &Value, now: Timestamp) -> Row {
    let (names, images) = container_cells(list_at(rs, &["spec", "template", "spec", "containers"]));
    Row::new(vec![
        json!(name_of(rs)),
        json!(opt_int_at(rs, &["spec", "replicas"]).unwrap_or(1)),
        json!(int_at(rs, &["status", "replicas"])),
        json!(int_at(rs, &["status", "readyReplicas"])),
        age(rs, now),
        names,
        images,
        json!(format_label_selector(at(rs, &["spec", "selector"]))),
    ])
}

pub(super) fn stateful_set_columns() -> Vec<Col> {
    vec![
        NAME,
        c("Ready", "string", "Number of the pod with ready state"),
        AGE,
        w("Containers", "string", CONTAINERS_DESC),
        w("Images", "string", IMAGES_DESC),
    ]
}

pub(super) fn print_stateful_set(ss: &Value, now: Timestamp) -> Row {
    let (names, images) = container_cells(list_at(ss, &["spec", "template", "spec", "containers"]));
    Row::new(vec![
        json!(name_of(ss)),
        json!(format!(
            "{}/{}",
            int_at(ss, &["status", "readyReplicas"]),
            opt_int_at(ss, &["spec", "replicas"]).unwrap_or(1)
        )),
        age(ss, now),
        names,
        images,
    ])
}

pub(super) fn daemon_set_columns() -> Vec<Col> {
    vec![
        NAME,
        c(
            "Desired",
            "integer",
            "The total number of nodes that should be running the daemon pod.",
        ),
        c(
            "Current",
            "integer",
            "The number of nodes that are running at least 1 daemon pod and are supposed to run the daemon pod.",
        ),
        c(
            "Ready",
            "integer",
            "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and ready.",
        ),
        c(
            "Up-to-date",
            "integer",
            "The total number of nodes that are running updated daemon pod.",
        ),
        c(
            "Available",
            "integer",
            "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and available.",
        ),
        c(
            "Node Selector",
            "string",
            "NodeSelector is a selector which must be true for the pod to fit on a node.",
        ),
        AGE,
        w("Containers", "string", CONTAINERS_DESC),
        w("Images", "string", IMAGES_DESC),
        w(
            "Selector",
            "string",
            "A label query over pods that are managed by the daemon set.",
        ),
    ]
}

pub(super) fn print_daemon_set(ds: &Value, now: Timestamp) -> Row {
    let (names, images) = container_cells(list_at(ds, &["spec", "template", "spec", "containers"]));
    Row::new(vec![
        json!(name_of(ds)),
        json!(int_at(ds, &["status", "desiredNumberScheduled"])),
        json!(int_at(ds, &["status", "currentNumberScheduled"])),
        json!(int_at(ds, &["status", "numberReady"])),
        json!(int_at(ds, &["status", "updatedNumberScheduled"])),
        json!(int_at(ds, &["status", "numberAvailable"])),
        json!(format_labels(map_at(
            ds,
            &["spec", "template", "spec", "nodeSelector"]
        ))),
        age(ds, now),
        names,
        images,
        json!(format_label_selector(at(ds, &["spec", "selector"]))),
    ])
}

pub(super) fn controller_revision_columns() -> Vec<Col> {
    vec![
        NAME,
        c("Controller", "string", "Controller of the object"),
        c(
            "Revision",
            "string",
            "Revision indicates the revision of the state represented by Data.",
        ),
        AGE,
    ]
}

pub(super) fn print_controller_revision(cr: &Value, now: Timestamp) -> Row {
    let controller = list_at(cr, &["metadata", "ownerReferences"])
        .iter()
        .find(|o| bool_at(o, &["controller"]))
        .map(|o| {
            let api_version = str_at(o, &["apiVersion"]);
            let group = api_version.rsplit_once('/').map(|(g, _)| g).unwrap_or("");
            let kind = str_at(o, &["kind"]);
            let group_kind = if group.is_empty() {
                kind.to_string()
            } else {
                format!("{kind}.{group}")
            };
            let name = str_at(o, &["name"]);
            if group_kind.is_empty() {
                name.to_string()
            } else {
                format!("{}/{name}", group_kind.to_lowercase())
            }
        })
        .unwrap_or_else(|| "<none>".into());
    Row::new(vec![
        json!(name_of(cr)),
        json!(controller),
        json!(int_at(cr, &["revision"])),
        age(cr, now),
    ])
}

pub(super) fn job_columns() -> Vec<Col> {
    vec![
        NAME,
        c("Status", "string", "Status of the job."),
        c(
            "Completions",
            "string",
            "The number of pods which reached phase Succeeded.",
        ),
        c("Duration", "string", "Time required to complete the job."),
        AGE,
        w("Containers", "string", CONTAINERS_DESC),
        w("Images", "string", IMAGES_DESC),
        w(
            "Selector",
            "string",
            "A label query over pods that should match the pod count.",
        ),
    ]
}

/// `printJob`: status from conditions, "succeeded/completions", duration start→completion.
pub(super) fn print_job(job: &Value, now: Timestamp) -> Row {
    let succeeded = int_at(job, &["status", "succeeded"]);
    let completions = match opt_int_at(job, &["spec", "completions"]) {
        Some(n) => format!("{succeeded}/{n}"),
        None => match int_at(job, &["spec", "parallelism"]) {
            p if p > 1 => format!("{succeeded}/1 of {p}"),
            _ => format!("{succeeded}/1"),
        },
    };
    let start = time_at(job, &["status", "startTime"]);
    let duration = match (start, time_at(job, &["status", "completionTime"])) {
        (None, _) => String::new(),
        (Some(s), None) => since(now, Some(s)),
        (Some(s), Some(done)) => human_duration_nanos(done.as_nanosecond() - s.as_nanosecond()),
    };
    let has = |ty: &str| {
        condition(job, &["status", "conditions"], ty)
            .is_some_and(|c| str_at(c, &["status"]) == "True")
    };
    let status = if has("Complete") {
        "Complete"
    } else if has("Failed") {
        "Failed"
    } else if at(job, &["metadata", "deletionTimestamp"]).is_some() {
        "Terminating"
    } else if has("Suspended") {
        "Suspended"
    } else if has("FailureTarget") {
        "FailureTarget"
    } else {
        "Running"
    };
    let (names, images) =
        container_cells(list_at(job, &["spec", "template", "spec", "containers"]));
    Row::new(vec![
        json!(name_of(job)),
        json!(status),
        json!(completions),
        json!(duration),
        age(job, now),
        names,
        images,
        json!(format_label_selector(at(job, &["spec", "selector"]))),
    ])
}

pub(super) fn cron_job_columns() -> Vec<Col> {
    vec![
        NAME,
        c(
            "Schedule",
            "string",
            "The schedule in Cron format, see https://en.wikipedia.org/wiki/Cron.",
        ),
        c(
            "Timezone",
            "string",
            "The time zone name for the given schedule, see https://en.wikipedia.org/wiki/List_of_tz_database_time_zones.",
        ),
        c(
            "Suspend",
            "boolean",
            "This flag tells the controller to suspend subsequent executions, it does not apply to already started executions.",
        ),
        c(
            "Active",
            "integer",
            "A list of pointers to currently running jobs.",
        ),
        c(
            "Last Schedule",
            "string",
            "Information when was the last time the job was successfully scheduled.",
        ),
        AGE,
        w("Containers", "string", CONTAINERS_DESC),
        w("Images", "string", IMAGES_DESC),
        w(
            "Selector",
            "string",
            "A label query over pods that should match the pod count.",
        ),
    ]
}

pub(super) fn print_cron_job(cj: &Value, now: Timestamp) -> Row {
    let last_schedule = match time_at(cj, &["status", "lastScheduleTime"]) {
        Some(t) => since(now, Some(t)),
        None => "<none>".into(),
    };
    let suspend = match at(cj, &["spec", "suspend"]).and_then(Value::as_bool) {
        Some(true) => "True",
        Some(false) => "False",
        None => "<unset>",
    };
    let (names, images) = container_cells(list_at(
        cj,
        &[
            "spec",
            "jobTemplate",
            "spec",
            "template",
            "spec",
            "containers",
        ],
    ));
    Row::new(vec![
        json!(name_of(cj)),
        json!(str_at(cj, &["spec", "schedule"])),
        json!(or_placeholder(str_at(cj, &["spec", "timeZone"]), "<none>")),
        json!(suspend),
        json!(len_at(cj, &["status", "active"])),
        json!(last_schedule),
        age(cj, now),
        names,
        images,
        json!(format_label_selector(at(
            cj,
            &["spec", "jobTemplate", "spec", "selector"]
        ))),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::table;
    use crate::table::tests::{build, cell, column_names, now};

    #[test]
    fn deployment_and_workloads() {
        let d = json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "creationTimestamp": "2024-04-29T12:00:00Z"},
            "spec": {"replicas": 3,
                "selector": {"matchLabels": {"app": "web"},
                    "matchExpressions": [{"key": "env", "operator": "In", "values": ["prod", "canary"]}]},
                "template": {"spec": {"containers": [{"name": "app", "image": "web:1"},
                                                      {"name": "proxy", "image": "envoy:1"}]}}},
            "status": {"readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2}
        });
        let t = table(
            "apps",
            "v1",
            "Deployment",
            &[&d],
            None,
            now(),
            json!({}),
            "Object",
        );
        assert_eq!(
            column_names(&t),
            [
                "Name",
                "Ready",
                "Up-to-date",
                "Available",
                "Age",
                "Containers",
                "Images",
                "Selector"
            ]
        );
        assert_eq!(cell(&t, 0, "Ready"), "2/3");
        assert_eq!(cell(&t, 0, "Up-to-date"), 3);
        assert_eq!(cell(&t, 0, "Available"), 2);
        assert_eq!(cell(&t, 0, "Age"), "2d");
        assert_eq!(cell(&t, 0, "Containers"), "app,proxy");
        assert_eq!(cell(&t, 0, "Images"), "web:1,envoy:1");
        assert_eq!(cell(&t, 0, "Selector"), "app=web,env in (canary,prod)");
        assert_eq!(t["rows"][0]["object"]["kind"], "Deployment");

        let none = table(
            "apps",
            "v1",
            "Deployment",
            &[&d],
            None,
            now(),
            json!({}),
            "None",
        );
        assert!(none["rows"][0].get("object").is_none());

        let job = json!({"metadata": {"name": "j"},
            "spec": {"completions": 1},
            "status": {"succeeded": 1, "startTime": "2024-05-01T11:00:00Z",
                "completionTime": "2024-05-01T11:00:42Z",
                "conditions": [{"type": "Complete", "status": "True"}]}});
        let t = build("batch", "Job", &job);
        assert_eq!(cell(&t, 0, "Status"), "Complete");
        assert_eq!(cell(&t, 0, "Completions"), "1/1");
        assert_eq!(cell(&t, 0, "Duration"), "42s");

        let cj = json!({"metadata": {"name": "c"},
            "spec": {"schedule": "*/5 * * * *", "suspend": false},
            "status": {"lastScheduleTime": "2024-05-01T11:55:00Z", "active": [{}]}});
        let t = build("batch", "CronJob", &cj);
        assert_eq!(cell(&t, 0, "Timezone"), "<none>");
        assert_eq!(cell(&t, 0, "Suspend"), "False");
        assert_eq!(cell(&t, 0, "Active"), 1);
        assert_eq!(cell(&t, 0, "Last Schedule"), "5m");
    }
}
