//! Failure classes real clusters show, each as a hand-built fixture written from Kubernetes
//! semantics (the API's objects, the kubelet's and controllers' own messages) with a
//! near-miss twin that must not trigger it. Names are unlike the synthetic shop's. The
//! table prints with `--nocapture`.

mod class_cases;
mod common;

use common::cluster::{Cluster, ago, lines_until};
use kubectl_intel::analysis::report::Report;
use serde_json::json;

pub struct Case {
    pub name: &'static str,
    pub symptom: &'static str,
    pub cluster: Cluster,
    /// `Kind/name` of the first root cause, or `None` for "no root cause".
    pub want: Option<&'static str>,
    /// Finding kinds that must not appear at warning or above.
    pub never: &'static [&'static str],
    /// The first root cause's category, where the class is about it.
    pub category: Option<&'static str>,
}

/// Text the first recommendation's steps must carry, per case: the concrete values the
/// snapshot knows.
fn expected_steps(case: &str) -> &'static [&'static str] {
    match case {
        "scaled-to-zero-with-failing-callers" => {
            &["kubectl scale deployment/ledger -n payments --replicas=2"]
        }
        "isolated-leaf-crash-looping" => &["fx-rates"],
        // The last applied manifest's count wins over the ReplicaSet's annotation.
        "scaled-to-zero-applied-manifest" => {
            &["kubectl scale deployment/ledger -n payments --replicas=3"]
        }
        "sandbox-oom-memory-limit-too-low" => &["-c receipt-renderer --limits=memory=256Mi"],
        "request-beyond-any-node" => &["-c risk-model --requests=memory=13824Mi"],
        "hostpath-type-mount-failure" => &["reason=FailedMount"],
        "scheduler-not-running" => &["component=kube-scheduler"],
        "network-policy-blocks-a-caller" => &[
            "\"path\":\"/spec/ingress/-\"",
            "\"app.kubernetes.io/name\":\"settlement\"",
        ],
        "chaos-mesh-network-delay" => &[
            "kubectl annotate networkchaos/inventory-latency -n payments experiment.chaos-mesh.org/pause=true",
        ],
        "istio-virtualservice-abort" => &["\"path\":\"/spec/http/0/fault\""],
        _ => &[],
    }
}

fn first_root(r: &Report) -> Option<String> {
    r.root_causes
        .first()
        .map(|rc| format!("{}/{}", rc.subject.kind, rc.subject.name))
}

/// A caller whose every request to `callee` is refused: what callers of a workload with
/// nothing behind its Service log.
fn refused_caller(c: &mut Cluster, caller: &str, callee: &str) {
    let ip = c.cluster_ip(callee);
    let line = format!(
        "level=error msg=\"POST /v1/settle failed\" upstream={callee} err=\"dial tcp {ip}:80: connect: connection refused\""
    );
    c.log(caller, &lines_until(&line, 40, 0));
}

fn scaled_to_zero(callers_fail: bool) -> Cluster {
    let mut c = Cluster::new();
    c.app("ledger", 2, &[]).app(
        "settlement",
        2,
        &[("LEDGER_URL", "http://ledger.payments.svc.cluster.local")],
    );
    // Someone scaled ledger to 0: no pods, an empty ReplicaSet.
    c.objects.retain(|o| {
        !(o["kind"] == "Pod"
            && o["metadata"]["name"]
                .as_str()
                .is_some_and(|n| n.starts_with("ledger-")))
    });
    c.edit("ReplicaSet", "ledger-6f7b9c8d5", |r| {
        r["metadata"]["annotations"]["deployment.kubernetes.io/desired-replicas"] = json!("2");
        r["spec"]["replicas"] = json!(0);
    });
    c.edit("Deployment", "ledger", |d| {
        d["spec"]["replicas"] = json!(0);
        d["status"] = json!({"observedGeneration": 5, "conditions": [
            {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable", "lastTransitionTime": ago(60 * 24)}]});
        d["metadata"]["generation"] = json!(5);
        d["metadata"]["managedFields"] = json!([
            {"manager": "kubectl", "operation": "Update", "apiVersion": "apps/v1", "time": ago(42),
             "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {"f:replicas": {}}}}]);
    });
    if callers_fail {
        refused_caller(&mut c, "settlement", "ledger");
    }
    c
}

fn crash_looping_leaf(crashing: bool) -> Cluster {
    let mut c = Cluster::new();
    c.app("fx-rates", 2, &[]);
    if crashing {
        c.edit_pods("fx-rates", |p| {
            p["status"]["conditions"][3]["status"] = json!("False");
            p["status"]["conditions"][3]["lastTransitionTime"] = json!(ago(25));
            p["status"]["containerStatuses"][0]["ready"] = json!(false);
            p["status"]["containerStatuses"][0]["restartCount"] = json!(9);
            p["status"]["containerStatuses"][0]["state"] = json!({"waiting": {"reason": "CrashLoopBackOff",
                "message": "back-off 5m0s restarting failed container=fx-rates pod=fx-rates"}});
            p["status"]["containerStatuses"][0]["lastState"] = json!({"terminated": {"reason": "Error", "exitCode": 1,
                "startedAt": ago(3), "finishedAt": ago(3)}});
        });
        c.ready("fx-rates", 0);
    } else {
        // Restarted twice a week ago, ready since: nothing to see.
        c.edit_pods("fx-rates", |p| {
            p["status"]["containerStatuses"][0]["restartCount"] = json!(2);
            p["status"]["containerStatuses"][0]["lastState"] = json!({"terminated": {"reason": "Error", "exitCode": 1,
                "startedAt": ago(60 * 24 * 7), "finishedAt": ago(60 * 24 * 7)}});
        });
    }
    c
}

/// Yesterday's noise on a cluster that is fine now: a ReplicaSet that failed to create pods
/// before its ServiceAccount existed, probe failures of an old rollout's pods, a pod evicted
/// and replaced. With `current`, one app is actually failing now.
fn history(current: bool) -> Cluster {
    let mut c = Cluster::new();
    c.app("checkout-api", 3, &[]).app("card-vault", 2, &[]);
    c.objects.push(json!({"apiVersion": "v1", "kind": "ServiceAccount",
        "metadata": {"name": "checkout-api", "namespace": "payments", "uid": "sa-1", "creationTimestamp": ago(60 * 26)}}));
    c.event("ReplicaSet", "checkout-api-6f7b9c8d5", true, "FailedCreate",
        "Error creating: pods \"checkout-api-6f7b9c8d5-\" is forbidden: error looking up service account payments/checkout-api: serviceaccount \"checkout-api\" not found",
        60 * 26 + 3, 60 * 26, 13);
    c.event(
        "ReplicaSet",
        "checkout-api-6f7b9c8d5",
        false,
        "SuccessfulCreate",
        "Created pod: checkout-api-6f7b9c8d5-x7k2p",
        60 * 26 - 1,
        60 * 26 - 1,
        1,
    );
    c.event(
        "Pod",
        "card-vault-54c8d7f9b-r2d2x",
        true,
        "Unhealthy",
        "Readiness probe failed: HTTP probe failed with statuscode: 503",
        60 * 50,
        60 * 49,
        17,
    );
    c.event("Pod", "card-vault-54c8d7f9b-r2d2x", true, "BackOff",
        "Back-off restarting failed container card-vault in pod card-vault-54c8d7f9b-r2d2x_payments(1f0c)", 60 * 50, 60 * 49, 6);
    c.objects.push(json!({"apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {"name": "card-vault-54c8d7f9b", "namespace": "payments", "uid": "rs-old", "creationTimestamp": ago(60 * 24 * 9),
            "annotations": {"deployment.kubernetes.io/revision": "6"},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "card-vault", "uid": "deploy-card-vault", "controller": true}]},
        "spec": {"replicas": 0, "selector": {"matchLabels": {"app.kubernetes.io/name": "card-vault"}},
                 "template": {"metadata": {"labels": {"app.kubernetes.io/name": "card-vault"}}, "spec": {"containers": [{"name": "card-vault", "image": "ghcr.io/acme/card-vault:4.1.0"}]}}},
        "status": {"replicas": 0}}));
    c.objects.push(json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "checkout-api-6f7b9c8d5-zz9k4", "namespace": "payments", "uid": "pod-evicted", "creationTimestamp": ago(60 * 30),
            "labels": {"app.kubernetes.io/name": "checkout-api"},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "checkout-api-6f7b9c8d5", "uid": "rs-checkout-api-6f7b9c8d5", "controller": true}]},
        "spec": {"nodeName": "worker-1", "containers": [{"name": "checkout-api", "image": "ghcr.io/acme/checkout-api:4.2.1"}]},
        "status": {"phase": "Failed", "reason": "Evicted",
            "message": "The node was low on resource: ephemeral-storage. Threshold quantity: 10Gi, available: 9612Mi. Container checkout-api was using 6Gi, request is 0, has larger consumption of ephemeral-storage. "}}));
    if current {
        c.edit_pods("card-vault", |p| {
            p["status"]["conditions"][3]["status"] = json!("False");
            p["status"]["containerStatuses"][0]["ready"] = json!(false);
            p["status"]["containerStatuses"][0]["restartCount"] = json!(14);
            p["status"]["containerStatuses"][0]["state"] = json!({"waiting": {"reason": "CrashLoopBackOff"}});
            p["status"]["containerStatuses"][0]["lastState"] = json!({"terminated": {"reason": "OOMKilled", "exitCode": 137,
                "startedAt": ago(2), "finishedAt": ago(1)}});
        });
        c.ready("card-vault", 0);
    }
    c
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "scaled-to-zero-with-failing-callers",
            symptom: "settlements fail with connection refused",
            cluster: scaled_to_zero(true),
            want: Some("Deployment/ledger"),
            never: &["ServiceSelectorMismatch"],
            category: None,
        },
        Case {
            name: "scaled-to-zero-applied-manifest",
            symptom: "settlements fail with connection refused",
            cluster: {
                let mut c = scaled_to_zero(true);
                c.edit("Deployment", "ledger", |d| {
                    d["metadata"]["annotations"] = json!({
                        "kubectl.kubernetes.io/last-applied-configuration":
                            "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"ledger\",\"namespace\":\"payments\"},\"spec\":{\"replicas\":3}}"
                    });
                });
                c
            },
            want: Some("Deployment/ledger"),
            never: &["ServiceSelectorMismatch"],
            category: Some("ScaledToZero"),
        },
        Case {
            name: "scaled-to-zero-callers-fine (twin)",
            symptom: "is anything wrong in payments?",
            cluster: scaled_to_zero(false),
            want: None,
            never: &["ServiceSelectorMismatch"],
            category: None,
        },
        Case {
            name: "scaled-to-zero-nobody-calls (twin)",
            symptom: "is anything wrong in payments?",
            cluster: {
                let mut c = scaled_to_zero(false);
                c.edit("Deployment", "settlement", |d| {
                    d["spec"]["template"]["spec"]["containers"][0]["env"] = json!([]);
                });
                c.edit_pods("settlement", |p| {
                    p["spec"]["containers"][0]["env"] = json!([])
                });
                c
            },
            want: None,
            never: &["ServiceSelectorMismatch", "ScaledToZero"],
            category: None,
        },
        Case {
            name: "isolated-leaf-crash-looping",
            symptom: "exchange rates are missing",
            cluster: crash_looping_leaf(true),
            want: Some("Deployment/fx-rates"),
            never: &[],
            category: None,
        },
        Case {
            name: "isolated-leaf-old-restarts (twin)",
            symptom: "exchange rates are missing",
            cluster: crash_looping_leaf(false),
            want: None,
            never: &[],
            category: None,
        },
        Case {
            name: "healthy-with-history",
            symptom: "is anything wrong in payments?",
            cluster: history(false),
            want: None,
            never: &["FailedCreate", "Evicted", "ReadinessProbeFailing"],
            category: None,
        },
        Case {
            name: "history-plus-a-current-failure",
            symptom: "card payments fail",
            cluster: history(true),
            want: Some("Deployment/card-vault"),
            never: &["FailedCreate", "Evicted"],
            category: None,
        },
    ]
    .into_iter()
    .chain(more_cases())
    .collect()
}

#[test]
fn failure_classes_and_their_near_misses() {
    let mut problems = Vec::new();
    println!(
        "{:<44} {:<28} {:<28} result",
        "case", "expected", "got (category)"
    );
    // INTEL_CLASS_DUMP=DIR writes each case as a bundle, to look at with the CLI.
    let dump = std::env::var_os("INTEL_CLASS_DUMP").map(std::path::PathBuf::from);
    for case in cases() {
        if let Some(dir) = &dump {
            let path = dir.join(format!(
                "{}.intel.tar.zst",
                case.name.replace([' ', '(', ')'], "")
            ));
            kubectl_intel::bundle::write_bundle(&case.cluster.snapshot(), &path)
                .expect("write bundle");
        }
        let report = case.cluster.diagnose(case.symptom);
        // Same cluster, same question: byte-identical answer.
        let again = case.cluster.diagnose(case.symptom);
        if serde_json::to_string(&report).ok() != serde_json::to_string(&again).ok() {
            problems.push(format!("{}: two runs differ", case.name));
        }
        let got = first_root(&report);
        let got_category = report.root_causes.first().map(|r| r.category.clone());
        let mut ok = got.as_deref() == case.want;
        if let Some(want) = case.category {
            if got_category.as_deref() != Some(want) {
                ok = false;
                problems.push(format!(
                    "{}: category {:?}, expected {want}",
                    case.name, got_category
                ));
            }
        }
        for f in &report.findings {
            if case.never.contains(&f.kind.as_str())
                && f.severity >= kubectl_intel::analysis::report::Severity::Warning
            {
                ok = false;
                problems.push(format!(
                    "{}: unexpected current {} on {}: {}",
                    case.name, f.kind, f.subject.name, f.message
                ));
            }
        }
        println!(
            "{:<44} {:<28} {:<28} {}",
            case.name,
            case.want.unwrap_or("(none)"),
            format!(
                "{} ({})",
                got.as_deref().unwrap_or("(none)"),
                got_category.as_deref().unwrap_or("-")
            ),
            if ok { "ok" } else { "FAIL" }
        );
        let steps: Vec<&str> = report
            .recommendations
            .first()
            .map(|r| r.steps.iter().map(String::as_str).collect())
            .unwrap_or_default();
        for want in expected_steps(case.name) {
            if !steps.iter().any(|s| s.contains(want)) {
                ok = false;
                problems.push(format!("{}: no step with {want:?} in {steps:?}", case.name));
            }
        }
        if got.as_deref() != case.want {
            let reasons = report
                .root_causes
                .first()
                .map(|r| format!("{} {:?}", r.category, r.reasons))
                .unwrap_or_default();
            problems.push(format!(
                "{}: first root cause {:?}, expected {:?} {reasons}",
                case.name, got, case.want
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

fn more_cases() -> Vec<Case> {
    class_cases::pods::cases()
        .into_iter()
        .chain(class_cases::network::cases())
        .chain(class_cases::series::cases())
        .chain(class_cases::injected::cases())
        .collect()
}
