//! Classes that show on pods and their controllers: start-up, mounts, Jobs, scheduling,
//! admission.

use super::super::Case;
use crate::common::cluster::{Cluster, ago};
use serde_json::json;

/// Pods of `app` stuck in ContainerCreating, not ready.
fn container_creating(c: &mut Cluster, app: &str) {
    c.edit_pods(app, |p| {
        p["status"]["phase"] = json!("Pending");
        p["metadata"]["creationTimestamp"] = json!(ago(20));
        p["status"]["conditions"] = json!([
            {"type": "PodScheduled", "status": "True", "lastTransitionTime": ago(20)},
            {"type": "Initialized", "status": "True", "lastTransitionTime": ago(20)},
            {"type": "ContainersReady", "status": "False", "reason": "ContainersNotReady", "lastTransitionTime": ago(20)},
            {"type": "Ready", "status": "False", "reason": "ContainersNotReady", "lastTransitionTime": ago(20)}]);
        p["status"]["containerStatuses"][0]["ready"] = json!(false);
        p["status"]["containerStatuses"][0]["started"] = json!(false);
        p["status"]["containerStatuses"][0]["state"] = json!({"waiting": {"reason": "ContainerCreating"}});
    });
    c.ready(app, 0);
}

const SANDBOX_OOM: &str = "Failed to create pod sandbox: rpc error: code = Unknown desc = failed to start sandbox \"8c1f04e2b7\": failed to create containerd task: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: container init was OOM-killed (memory limit too low?): unknown";

fn sandbox_oom(current: bool) -> Cluster {
    let mut c = Cluster::new();
    c.app("receipt-renderer", 2, &[]);
    let limit = if current { "6Mi" } else { "512Mi" };
    let set_limit = |v: &mut serde_json::Value, path: &str| {
        if let Some(c) = v.pointer_mut(path) {
            c["resources"]["limits"]["memory"] = json!(limit);
        }
    };
    c.edit("Deployment", "receipt-renderer", |d| {
        set_limit(d, "/spec/template/spec/containers/0")
    });
    c.edit_pods("receipt-renderer", |p| set_limit(p, "/spec/containers/0"));
    let pods = c.pods("receipt-renderer");
    if current {
        container_creating(&mut c, "receipt-renderer");
        for p in &pods {
            c.event(
                "Pod",
                p,
                true,
                "FailedCreatePodSandBox",
                SANDBOX_OOM,
                19,
                1,
                27,
            );
        }
    } else {
        // Two days ago, before the limit was raised; running and ready since.
        c.event(
            "Pod",
            "receipt-renderer-7c4d9b8f6-h2k9d",
            true,
            "FailedCreatePodSandBox",
            SANDBOX_OOM,
            60 * 50,
            60 * 49,
            20,
        );
    }
    c
}

fn host_path_mount(current: bool) -> Cluster {
    let mut c = Cluster::new();
    c.app("audit-forwarder", 2, &[]);
    let pods = c.pods("audit-forwarder");
    if current {
        container_creating(&mut c, "audit-forwarder");
        for p in &pods {
            c.event("Pod", p, true, "FailedMount",
                "MountVolume.SetUp failed for volume \"audit-sock\" : hostPath type check failed: /var/run/audit/audit.sock is not a socket file",
                19, 1, 14);
        }
    } else {
        // The ConfigMap it mounts was missing for a minute during the last deploy.
        c.objects.push(json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "audit-forwarder-config", "namespace": "payments", "uid": "cm-af", "creationTimestamp": ago(60 * 24 * 2 + 1)},
            "data": {"fluent-bit.conf": "[INPUT]\n    Name tail\n"}}));
        for p in &pods {
            c.event("Pod", p, true, "FailedMount",
                "MountVolume.SetUp failed for volume \"config\" : configmap \"audit-forwarder-config\" not found",
                60 * 24 * 2 + 3, 60 * 24 * 2 + 2, 3);
        }
    }
    c
}

fn job(oom: bool) -> Cluster {
    let mut c = Cluster::new();
    c.app("ledger-api", 2, &[]);
    let (reason, code) = if oom {
        ("OOMKilled", 137)
    } else {
        ("Error", 2)
    };
    c.objects.push(json!({"apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": "nightly-reconcile-29318640", "namespace": "payments", "uid": "job-1", "creationTimestamp": ago(95),
            "labels": {"job-name": "nightly-reconcile-29318640"}},
        "spec": {"backoffLimit": 2, "completions": 1, "parallelism": 1,
            "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": "job-1"}},
            "template": {"metadata": {"labels": {"job-name": "nightly-reconcile-29318640"}},
                "spec": {"restartPolicy": "Never", "containers": [{"name": "reconcile", "image": "ghcr.io/acme/reconcile:2.0.3",
                    "resources": {"requests": {"memory": "256Mi"}, "limits": {"memory": "256Mi"}}}]}}},
        "status": {"failed": 3, "startTime": ago(95), "conditions": [
            {"type": "FailureTarget", "status": "True", "reason": "BackoffLimitExceeded", "message": "Job has reached the specified backoff limit", "lastTransitionTime": ago(60)},
            {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded", "message": "Job has reached the specified backoff limit", "lastTransitionTime": ago(60)}]}}));
    for (i, suffix) in ["8xq2v", "k4m7p", "z9r3t"].iter().enumerate() {
        let name = format!("nightly-reconcile-29318640-{suffix}");
        c.objects.push(json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "payments", "uid": format!("jp-{i}"), "creationTimestamp": ago(95 - 12 * i as i64),
                "labels": {"job-name": "nightly-reconcile-29318640"},
                "ownerReferences": [{"apiVersion": "batch/v1", "kind": "Job", "name": "nightly-reconcile-29318640", "uid": "job-1", "controller": true}]},
            "spec": {"restartPolicy": "Never", "nodeName": "worker-1", "containers": [{"name": "reconcile", "image": "ghcr.io/acme/reconcile:2.0.3",
                "resources": {"requests": {"memory": "256Mi"}, "limits": {"memory": "256Mi"}}}]},
            "status": {"phase": "Failed", "conditions": [{"type": "Ready", "status": "False", "reason": "PodFailed", "lastTransitionTime": ago(85 - 12 * i as i64)}],
                "containerStatuses": [{"name": "reconcile", "ready": false, "restartCount": 0,
                    "state": {"terminated": {"reason": reason, "exitCode": code,
                        "startedAt": ago(95 - 12 * i as i64), "finishedAt": ago(85 - 12 * i as i64)}}}]}}));
    }
    c
}

/// Pods that nothing schedules: no PodScheduled condition, no node, no scheduler event.
fn unscheduled(no_scheduler: bool) -> Cluster {
    let mut c = Cluster::new();
    c.app("statement-export", 2, &[]).app("ledger-api", 2, &[]);
    c.edit_pods("statement-export", |p| {
        p["metadata"]["creationTimestamp"] = json!(ago(35));
        if let Some(spec) = p["spec"].as_object_mut() {
            spec.remove("nodeName");
        }
        p["status"] = if no_scheduler {
            json!({"phase": "Pending", "qosClass": "Burstable"})
        } else {
            json!({"phase": "Pending", "qosClass": "Burstable", "conditions": [
                {"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "lastTransitionTime": ago(35),
                 "message": "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling."}]})
        };
    });
    c.ready("statement-export", 0);
    if !no_scheduler {
        for p in c.pods("statement-export") {
            c.event("Pod", &p, true, "FailedScheduling",
                "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.",
                35, 2, 9);
        }
    }
    c
}

/// A container that asks for more memory than any node has, or for a little more than
/// the busy nodes have left.
fn too_big(beyond_any_node: bool) -> Cluster {
    let mut c = Cluster::new();
    c.app("risk-model", 1, &[]).app("ledger-api", 2, &[]);
    let request = if beyond_any_node { "48Gi" } else { "6Gi" };
    let set = |v: &mut serde_json::Value, path: &str| {
        if let Some(c) = v.pointer_mut(path) {
            c["resources"] = json!({"requests": {"cpu": "500m", "memory": request}, "limits": {"memory": request}});
        }
    };
    c.edit("Deployment", "risk-model", |d| {
        set(d, "/spec/template/spec/containers/0")
    });
    let msg = "0/3 nodes are available: 3 Insufficient memory. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.";
    c.edit_pods("risk-model", |p| {
        set(p, "/spec/containers/0");
        if let Some(spec) = p["spec"].as_object_mut() {
            spec.remove("nodeName");
        }
        p["metadata"]["creationTimestamp"] = json!(ago(25));
        p["status"] = json!({"phase": "Pending", "qosClass": "Burstable", "conditions": [
            {"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "lastTransitionTime": ago(25), "message": msg}]});
    });
    c.ready("risk-model", 0);
    if !beyond_any_node {
        // The nodes are nearly full: 12 GiB of 15 requested on each.
        for n in 0..3 {
            c.objects.push(json!({"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": format!("warehouse-cache-{n}"), "namespace": "payments", "uid": format!("wc-{n}"), "creationTimestamp": ago(60 * 24)},
                "spec": {"nodeName": format!("worker-{n}"), "containers": [{"name": "cache", "image": "redis:7.2",
                    "resources": {"requests": {"cpu": "1", "memory": "12Gi"}}}]},
                "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": ago(60 * 24)}],
                    "containerStatuses": [{"name": "cache", "ready": true, "restartCount": 0, "state": {"running": {"startedAt": ago(60 * 24)}}}]}}));
        }
    }
    for p in c.pods("risk-model") {
        c.event("Pod", &p, true, "FailedScheduling", msg, 25, 1, 11);
    }
    c
}

/// A database pod whose volume lives in a zone its node pool no longer has: the message in
/// the words of Kubernetes 1.33+ (VolumeBinding's renamed reason), or (twin) a pod that is
/// pending for want of memory and mounts a claim that is not to blame.
fn pinned_by_its_volume(volume_is_the_reason: bool) -> Cluster {
    let mut c = Cluster::new();
    c.app("ledger-db", 1, &[])
        .app("ledger-api", 2, &[("DB_HOST", "ledger-db")]);
    c.objects.push(json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
        "metadata": {"name": "data-ledger-db-0", "namespace": "payments", "uid": "pvc-1", "creationTimestamp": ago(60 * 24 * 30)},
        "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "gp3", "volumeName": "pv-ledger", "resources": {"requests": {"storage": "50Gi"}}},
        "status": {"phase": "Bound"}}));
    let msg = if volume_is_the_reason {
        "0/3 nodes are available: 3 node(s) didn't match PersistentVolume's node affinity. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling."
    } else {
        "0/3 nodes are available: 3 Insufficient memory. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod."
    };
    c.edit_pods("ledger-db", |p| {
        if let Some(spec) = p["spec"].as_object_mut() {
            spec.remove("nodeName");
        }
        p["spec"]["volumes"] = json!([{"name": "data", "persistentVolumeClaim": {"claimName": "data-ledger-db-0"}}]);
        p["metadata"]["creationTimestamp"] = json!(ago(40));
        p["status"] = json!({"phase": "Pending", "qosClass": "Burstable", "conditions": [
            {"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "lastTransitionTime": ago(40), "message": msg}]});
    });
    c.ready("ledger-db", 0);
    for p in c.pods("ledger-db") {
        c.event("Pod", &p, true, "FailedScheduling", msg, 40, 1, 15);
    }
    c
}

/// A StatefulSet whose claim the storage quota rejects, or (twin) one rejected an hour
/// ago and bound since.
fn storage_quota(current: bool) -> Cluster {
    let mut c = Cluster::new();
    c.app("ledger-api", 2, &[]);
    c.objects.push(json!({"apiVersion": "v1", "kind": "ResourceQuota",
        "metadata": {"name": "storage-budget", "namespace": "payments", "uid": "rq-1", "creationTimestamp": ago(60 * 24 * 100)},
        "spec": {"hard": {"requests.storage": "100Gi", "persistentvolumeclaims": "10"}},
        "status": {"hard": {"requests.storage": "100Gi", "persistentvolumeclaims": "10"},
                   "used": {"requests.storage": if current { "90Gi" } else { "70Gi" }, "persistentvolumeclaims": "4"}}}));
    let ready = if current { 0 } else { 1 };
    c.objects.push(json!({"apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": {"name": "ledger-db", "namespace": "payments", "uid": "sts-1", "generation": 1, "creationTimestamp": ago(40)},
        "spec": {"replicas": 1, "serviceName": "ledger-db", "selector": {"matchLabels": {"app": "ledger-db"}},
            "template": {"metadata": {"labels": {"app": "ledger-db"}}, "spec": {"containers": [{"name": "postgres", "image": "postgres:16.4"}]}},
            "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "20Gi"}}}}]},
        "status": {"observedGeneration": 1, "replicas": ready, "readyReplicas": ready, "currentReplicas": ready, "updatedReplicas": ready,
                   "currentRevision": "ledger-db-5f8d7", "updateRevision": "ledger-db-5f8d7"}}));
    let msg = "create Claim data-ledger-db-0 for Pod ledger-db-0 in StatefulSet ledger-db failed error: persistentvolumeclaims \"data-ledger-db-0\" is forbidden: exceeded quota: storage-budget, requested: requests.storage=20Gi, used: requests.storage=90Gi, limited: requests.storage=100Gi";
    if current {
        c.event(
            "StatefulSet",
            "ledger-db",
            true,
            "FailedCreate",
            msg,
            39,
            1,
            22,
        );
    } else {
        c.event(
            "StatefulSet",
            "ledger-db",
            true,
            "FailedCreate",
            msg,
            62,
            58,
            4,
        );
        c.objects.push(json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "ledger-db-0", "namespace": "payments", "uid": "pod-db0", "creationTimestamp": ago(57), "labels": {"app": "ledger-db"},
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "ledger-db", "uid": "sts-1", "controller": true}]},
            "spec": {"nodeName": "worker-2", "containers": [{"name": "postgres", "image": "postgres:16.4"}]},
            "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": ago(55)}],
                "containerStatuses": [{"name": "postgres", "ready": true, "restartCount": 0, "state": {"running": {"startedAt": ago(56)}}}]}}));
    }
    c
}

/// A CronJob whose run failed; `recovered`: a later run succeeded and the failed Job is
/// only kept by `failedJobsHistoryLimit`.
fn cronjob_failed_run(recovered: bool) -> Cluster {
    let mut c = Cluster::new();
    c.app("ledger-api", 2, &[]);
    let last_ok = if recovered { ago(60 * 2) } else { ago(60 * 50) };
    c.objects.push(json!({"apiVersion": "batch/v1", "kind": "CronJob",
        "metadata": {"name": "settlement-export", "namespace": "payments", "uid": "cj-1", "creationTimestamp": ago(60 * 24 * 60)},
        "spec": {"schedule": "0 * * * *", "failedJobsHistoryLimit": 1, "successfulJobsHistoryLimit": 3,
            "jobTemplate": {"spec": {"backoffLimit": 1, "template": {"spec": {"restartPolicy": "Never",
                "containers": [{"name": "export", "image": "ghcr.io/acme/export:1.4.0"}]}}}}},
        "status": {"lastScheduleTime": ago(30), "lastSuccessfulTime": last_ok}}));
    c.objects.push(json!({"apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": "settlement-export-29318520", "namespace": "payments", "uid": "job-cj", "creationTimestamp": ago(60 * 26),
            "ownerReferences": [{"apiVersion": "batch/v1", "kind": "CronJob", "name": "settlement-export", "uid": "cj-1", "controller": true}]},
        "spec": {"backoffLimit": 1, "template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "export", "image": "ghcr.io/acme/export:1.4.0"}]}}},
        "status": {"failed": 2, "startTime": ago(60 * 26), "conditions": [
            {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded", "message": "Job has reached the specified backoff limit", "lastTransitionTime": ago(60 * 26 - 5)}]}}));
    c
}

/// Pods bound by `spec.nodeName` to a node that does not exist (twin: to one that does,
/// still starting).
fn bound_to_missing_node(missing: bool) -> Cluster {
    let mut c = Cluster::new();
    c.app("fraud-rules", 2, &[]);
    let node = if missing { "worker-9" } else { "worker-1" };
    c.edit_pods("fraud-rules", |p| {
        p["spec"]["nodeName"] = json!(node);
        p["metadata"]["creationTimestamp"] = json!(ago(if missing { 40 } else { 1 }));
        p["status"] = json!({"phase": "Pending", "qosClass": "Burstable"});
    });
    c.ready("fraud-rules", 0);
    c
}

/// One of three replicas cannot pull its image after being rescheduled (the tag was
/// deleted from the registry); the other two serve. Twin: all three run.
fn one_replica_cannot_pull(failing: bool) -> Cluster {
    let mut c = Cluster::new();
    c.app("statement-api", 3, &[]);
    if failing {
        let pod = c.pods("statement-api")[2].clone();
        c.edit("Pod", &pod, |p| {
            p["metadata"]["creationTimestamp"] = json!(ago(50));
            p["status"]["phase"] = json!("Pending");
            p["status"]["conditions"][3]["status"] = json!("False");
            p["status"]["containerStatuses"][0]["ready"] = json!(false);
            p["status"]["containerStatuses"][0]["state"] = json!({"waiting": {"reason": "ImagePullBackOff",
                "message": "Back-off pulling image \"ghcr.io/acme/statement-api:4.2.1\""}});
        });
        c.ready("statement-api", 2);
        c.event("Pod", &pod, true, "Failed",
            "Failed to pull image \"ghcr.io/acme/statement-api:4.2.1\": rpc error: code = NotFound desc = failed to pull and unpack image \"ghcr.io/acme/statement-api:4.2.1\": failed to resolve reference \"ghcr.io/acme/statement-api:4.2.1\": ghcr.io/acme/statement-api:4.2.1: not found",
            50, 1, 14);
    }
    c
}

pub fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "pinned-by-its-volume-1.33-words",
            symptom: "payments cannot reach their database",
            cluster: pinned_by_its_volume(true),
            want: Some("PersistentVolumeClaim/data-ledger-db-0"),
            never: &[],
            category: Some("VolumeZoneConflict"),
        },
        Case {
            name: "pending-for-memory-with-a-claim (twin)",
            symptom: "payments cannot reach their database",
            cluster: pinned_by_its_volume(false),
            want: Some("Deployment/ledger-db"),
            never: &["VolumeZoneConflict"],
            category: Some("Unschedulable"),
        },
        Case {
            name: "one-replica-cannot-pull-its-image",
            symptom: "some statement downloads fail",
            cluster: one_replica_cannot_pull(true),
            want: Some("Deployment/statement-api"),
            never: &[],
            category: Some("ImagePullBackOff"),
        },
        Case {
            name: "all-replicas-running (twin)",
            symptom: "some statement downloads fail",
            cluster: one_replica_cannot_pull(false),
            want: None,
            never: &["ImagePullBackOff"],
            category: None,
        },
        Case {
            name: "pods-bound-to-a-missing-node",
            symptom: "fraud rules are not applied",
            cluster: bound_to_missing_node(true),
            want: Some("Deployment/fraud-rules"),
            never: &[],
            category: Some("NodeNotFound"),
        },
        Case {
            name: "pods-bound-to-a-real-node-starting (twin)",
            symptom: "is anything wrong in payments?",
            cluster: bound_to_missing_node(false),
            want: None,
            never: &["NodeNotFound"],
            category: None,
        },
        Case {
            name: "cronjob-run-failing",
            symptom: "settlement exports are missing",
            cluster: cronjob_failed_run(false),
            want: Some("CronJob/settlement-export"),
            never: &[],
            category: Some("JobFailed"),
        },
        Case {
            name: "cronjob-failed-yesterday-ran-since (twin)",
            symptom: "settlement exports are missing",
            cluster: cronjob_failed_run(true),
            want: None,
            never: &["JobFailed"],
            category: None,
        },
        Case {
            name: "sandbox-oom-memory-limit-too-low",
            symptom: "receipts are not generated",
            cluster: sandbox_oom(true),
            want: Some("Deployment/receipt-renderer"),
            never: &[],
            category: Some("MemoryLimitTooLow"),
        },
        Case {
            name: "sandbox-oom-two-days-ago (twin)",
            symptom: "receipts are not generated",
            cluster: sandbox_oom(false),
            want: None,
            never: &["MemoryLimitTooLow"],
            category: None,
        },
        Case {
            name: "hostpath-type-mount-failure",
            symptom: "audit logs stopped arriving",
            cluster: host_path_mount(true),
            want: Some("Deployment/audit-forwarder"),
            never: &[],
            category: Some("FailedMount"),
        },
        Case {
            name: "mount-failure-resolved-since (twin)",
            symptom: "audit logs stopped arriving",
            cluster: host_path_mount(false),
            want: None,
            never: &["FailedMount", "MissingConfigReference"],
            category: None,
        },
        Case {
            name: "job-failed-oomkilled",
            symptom: "the nightly reconcile job failed",
            cluster: job(true),
            want: Some("Job/nightly-reconcile-29318640"),
            never: &[],
            category: Some("OOMKilled"),
        },
        Case {
            name: "job-failed-exit-code (twin)",
            symptom: "the nightly reconcile job failed",
            cluster: job(false),
            want: Some("Job/nightly-reconcile-29318640"),
            never: &["OOMKilled"],
            category: Some("JobFailed"),
        },
        Case {
            name: "scheduler-not-running",
            symptom: "statement export pods stay pending",
            cluster: unscheduled(true),
            want: Some("Deployment/statement-export"),
            never: &[],
            category: Some("SchedulerNotRunning"),
        },
        Case {
            name: "unschedulable-by-selector (twin)",
            symptom: "statement export pods stay pending",
            cluster: unscheduled(false),
            want: Some("Deployment/statement-export"),
            never: &["SchedulerNotRunning"],
            category: Some("Unschedulable"),
        },
        Case {
            name: "request-beyond-any-node",
            symptom: "risk model never starts",
            cluster: too_big(true),
            want: Some("Deployment/risk-model"),
            never: &[],
            category: Some("RequestExceedsNodeCapacity"),
        },
        Case {
            name: "request-beyond-nodes-autoscaler-adds-one (twin)",
            symptom: "risk model never starts",
            cluster: {
                let mut c = too_big(true);
                for p in c.pods("risk-model") {
                    c.event(
                        "Pod",
                        &p,
                        false,
                        "TriggeredScaleUp",
                        "pod triggered scale-up: [{eks-memory-optimized-4ac6 0->1 (max: 3)}]",
                        20,
                        20,
                        1,
                    );
                }
                c
            },
            want: Some("Deployment/risk-model"),
            never: &["RequestExceedsNodeCapacity"],
            category: Some("Unschedulable"),
        },
        Case {
            name: "request-fits-an-empty-node (twin)",
            symptom: "risk model never starts",
            cluster: too_big(false),
            want: Some("Deployment/risk-model"),
            never: &["RequestExceedsNodeCapacity"],
            category: Some("Unschedulable"),
        },
        Case {
            name: "storage-quota-blocks-claim",
            symptom: "the ledger database does not come up",
            cluster: storage_quota(true),
            want: Some("ResourceQuota/storage-budget"),
            never: &[],
            category: Some("ResourceQuotaExceeded"),
        },
        Case {
            name: "storage-quota-rejected-then-bound (twin)",
            symptom: "the ledger database does not come up",
            cluster: storage_quota(false),
            want: None,
            never: &["ResourceQuotaExceeded"],
            category: None,
        },
    ]
}
