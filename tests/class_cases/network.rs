//! Classes of probes, Services, addresses and certificates.

use super::super::Case;
use crate::common::cluster::{Cluster, HASH, ago, lines_until};
use serde_json::json;

/// Makes every pod of `app` not ready (running, its readiness failing) since `since`
/// minutes, and the Deployment's ready count 0.
fn not_ready(c: &mut Cluster, app: &str, since: i64) {
    c.edit_pods(app, |p| {
        p["status"]["conditions"][3]["status"] = json!("False");
        p["status"]["conditions"][3]["reason"] = json!("ContainersNotReady");
        p["status"]["conditions"][3]["lastTransitionTime"] = json!(ago(since));
        p["status"]["conditions"][2]["status"] = json!("False");
        p["status"]["containerStatuses"][0]["ready"] = json!(false);
    });
    c.ready(app, 0);
}

/// Sets a probe on the app's template and pods.
fn probe(c: &mut Cluster, app: &str, kind: &str, probe: serde_json::Value) {
    let p2 = probe.clone();
    c.edit("Deployment", app, |d| {
        d["spec"]["template"]["spec"]["containers"][0][kind] = p2;
    });
    let rs = format!("{app}-{HASH}");
    let p3 = probe.clone();
    c.edit("ReplicaSet", &rs, |r| {
        r["spec"]["template"]["spec"]["containers"][0][kind] = p3;
    });
    c.edit_pods(app, |p| p["spec"]["containers"][0][kind] = probe.clone());
}

/// The readiness probe aims at a port the container does not open (twin: the right
/// port, and the application itself answers 503).
fn probe_port(wrong: bool) -> Cluster {
    let mut c = Cluster::new();
    c.app("card-tokenizer", 2, &[]);
    let port = if wrong { 8081 } else { 8080 };
    probe(
        &mut c,
        "card-tokenizer",
        "readinessProbe",
        json!({"httpGet": {"path": "/healthz", "port": port, "scheme": "HTTP"}, "periodSeconds": 10, "failureThreshold": 3, "timeoutSeconds": 1}),
    );
    not_ready(&mut c, "card-tokenizer", 30);
    for (i, p) in c.pods("card-tokenizer").iter().enumerate() {
        let ip = format!("10.244.{i}.21");
        let msg = if wrong {
            format!(
                "Readiness probe failed: Get \"http://{ip}:8081/healthz\": dial tcp {ip}:8081: connect: connection refused"
            )
        } else {
            "Readiness probe failed: HTTP probe failed with statuscode: 503".to_string()
        };
        c.event("Pod", p, true, "Unhealthy", &msg, 30, 0, 181);
    }
    c
}

/// An HTTP probe against a gRPC port (twin: a gRPC probe that the server answers
/// NOT_SERVING).
fn probe_protocol(wrong: bool) -> Cluster {
    let mut c = Cluster::new();
    c.app("fraud-scorer", 2, &[]);
    c.edit("Deployment", "fraud-scorer", |d| {
        d["spec"]["template"]["spec"]["containers"][0]["ports"] =
            json!([{"name": "grpc", "containerPort": 9090, "protocol": "TCP"}]);
    });
    let probe_spec = if wrong {
        json!({"httpGet": {"path": "/health", "port": 9090}, "periodSeconds": 10})
    } else {
        json!({"grpc": {"port": 9090}, "periodSeconds": 10})
    };
    probe(&mut c, "fraud-scorer", "readinessProbe", probe_spec);
    c.edit("Service", "fraud-scorer", |s| {
        s["spec"]["ports"] =
            json!([{"name": "grpc", "port": 9090, "targetPort": "grpc", "protocol": "TCP"}]);
    });
    c.edit_pods("fraud-scorer", |p| {
        p["spec"]["containers"][0]["ports"] =
            json!([{"name": "grpc", "containerPort": 9090, "protocol": "TCP"}]);
    });
    not_ready(&mut c, "fraud-scorer", 25);
    for (i, p) in c.pods("fraud-scorer").iter().enumerate() {
        let msg = if wrong {
            format!(
                "Readiness probe failed: Get \"http://10.244.{i}.31:9090/health\": net/http: HTTP/1.x transport connection broken: malformed HTTP response \"\\x00\\x00\\x06\\x04\\x00\\x00\\x00\\x00\\x00\\x00\\x05\\x00\\x00@\\x00\""
            )
        } else {
            "Readiness probe failed: service unhealthy (responded with \"NOT_SERVING\")".to_string()
        };
        c.event("Pod", p, true, "Unhealthy", &msg, 25, 0, 150);
    }
    c
}

/// A rollout whose new revision changed the readiness path: the new pods answer 404, the
/// old ones still serve (twin: same path in both revisions, the new pods answer 500).
fn probe_path_changed(changed: bool) -> Cluster {
    let mut c = Cluster::new();
    c.app("payout-api", 2, &[]);
    let new_path = if changed { "/healthz/ready" } else { "/ready" };
    // The old revision keeps serving: its ReplicaSet is renamed to an older hash.
    let old_rs = "payout-api-58d4c9b7f";
    c.edit("ReplicaSet", &format!("payout-api-{HASH}"), |r| {
        r["metadata"]["name"] = json!(old_rs);
        r["metadata"]["uid"] = json!("rs-old-payout");
        r["metadata"]["annotations"]["deployment.kubernetes.io/revision"] = json!("6");
    });
    c.edit_pods("payout-api", |p| {
        let name = p["metadata"]["name"]
            .as_str()
            .unwrap_or("")
            .replace(HASH, "58d4c9b7f");
        p["metadata"]["name"] = json!(name);
        p["metadata"]["ownerReferences"][0]["name"] = json!(old_rs);
        p["metadata"]["ownerReferences"][0]["uid"] = json!("rs-old-payout");
    });
    // The new revision: one pod, not ready.
    let template = {
        let d = c
            .find("Deployment", "payout-api")
            .cloned()
            .unwrap_or_default();
        let mut t = d["spec"]["template"].clone();
        t["spec"]["containers"][0]["image"] = json!("ghcr.io/acme/payout-api:4.3.0");
        t["spec"]["containers"][0]["readinessProbe"] =
            json!({"httpGet": {"path": new_path, "port": 8080}, "periodSeconds": 10});
        t
    };
    c.edit("Deployment", "payout-api", |d| {
        d["spec"]["template"] = template.clone();
        d["metadata"]["generation"] = json!(5);
        d["status"] = json!({"observedGeneration": 5, "replicas": 3, "readyReplicas": 2, "availableReplicas": 2, "updatedReplicas": 1, "unavailableReplicas": 1,
            "conditions": [
                {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable", "lastTransitionTime": ago(60 * 24)},
                {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded", "lastTransitionTime": ago(8),
                 "message": "ReplicaSet \"payout-api-7d6b5c9f8\" has timed out progressing."}]});
    });
    c.objects.push(json!({"apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {"name": "payout-api-7d6b5c9f8", "namespace": "payments", "uid": "rs-new-payout", "creationTimestamp": ago(18),
            "labels": {"app.kubernetes.io/name": "payout-api"}, "annotations": {"deployment.kubernetes.io/revision": "7"},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "payout-api", "uid": "deploy-payout-api", "controller": true}]},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app.kubernetes.io/name": "payout-api"}}, "template": template.clone()},
        "status": {"replicas": 1, "readyReplicas": 0}}));
    let mut spec = template["spec"].clone();
    spec["nodeName"] = json!("worker-2");
    c.objects.push(json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "payout-api-7d6b5c9f8-w4x9z", "namespace": "payments", "uid": "pod-new-payout", "creationTimestamp": ago(18),
            "labels": {"app.kubernetes.io/name": "payout-api"},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "payout-api-7d6b5c9f8", "uid": "rs-new-payout", "controller": true}]},
        "spec": spec,
        "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "False", "reason": "ContainersNotReady", "lastTransitionTime": ago(18)}],
            "containerStatuses": [{"name": "payout-api", "ready": false, "restartCount": 0, "state": {"running": {"startedAt": ago(18)}}}]}}));
    let msg = if changed {
        "Readiness probe failed: HTTP probe failed with statuscode: 404"
    } else {
        "Readiness probe failed: HTTP probe failed with statuscode: 500"
    };
    c.event(
        "Pod",
        "payout-api-7d6b5c9f8-w4x9z",
        true,
        "Unhealthy",
        msg,
        17,
        0,
        104,
    );
    c.event(
        "Deployment",
        "payout-api",
        false,
        "ScalingReplicaSet",
        "Scaled up replica set payout-api-7d6b5c9f8 to 1",
        18,
        18,
        1,
    );
    c
}

/// A Service whose port speaks UDP to a container that opens the port only for TCP
/// (twin: both protocols declared on both sides).
fn service_protocol(mismatch: bool) -> Cluster {
    let mut c = Cluster::new();
    c.app("dns-cache", 2, &[]);
    let container_ports = if mismatch {
        json!([{"name": "dns-tcp", "containerPort": 5353, "protocol": "TCP"}])
    } else {
        json!([{"name": "dns-tcp", "containerPort": 5353, "protocol": "TCP"}, {"name": "dns", "containerPort": 5353, "protocol": "UDP"}])
    };
    let cp = container_ports.clone();
    c.edit("Deployment", "dns-cache", |d| {
        d["spec"]["template"]["spec"]["containers"][0]["ports"] = cp
    });
    c.edit_pods("dns-cache", |p| {
        p["spec"]["containers"][0]["ports"] = container_ports.clone()
    });
    c.edit("Service", "dns-cache", |s| {
        s["spec"]["ports"] =
            json!([{"name": "dns", "port": 53, "targetPort": 5353, "protocol": "UDP"}]);
    });
    c.app(
        "checkout-api",
        2,
        &[("RESOLVER", "dns-cache.payments.svc.cluster.local:53")],
    );
    if mismatch {
        c.log("checkout-api", &lines_until(
            "level=error msg=\"lookup failed\" err=\"read udp 10.244.1.17:41235->10.96.14.11:53: i/o timeout\" host=acquirer.example.net",
            30, 0));
    }
    c
}

/// A configured address naming a Service that does not exist, one letter off a real one;
/// the callers' DNS lookups fail (twin: an external host whose lookups fail: not a near
/// miss of any Service).
fn address_typo(typo: bool) -> Cluster {
    let mut c = Cluster::new();
    c.app("ledger", 2, &[]);
    let host = if typo {
        "ledgr.payments.svc.cluster.local"
    } else {
        "api.acquirer-partner.example"
    };
    c.app(
        "invoicing",
        2,
        &[("LEDGER_ENDPOINT", &format!("http://{host}:80"))],
    );
    let line = format!(
        "level=error msg=\"request failed\" err=\"Get \\\"http://{host}:80/v1/entries\\\": dial tcp: lookup {host} on 10.96.0.10:53: no such host\""
    );
    c.log("invoicing", &lines_until(&line, 40, 0));
    c
}

/// An expired certificate (cert-manager Certificate not Ready, Expired), callers failing
/// TLS (twin: the Certificate was renewed yesterday and is Ready; old x509 errors only
/// before the renewal).
fn cert_expired(expired: bool) -> Cluster {
    let mut c = Cluster::new();
    c.app("acquirer-gateway", 2, &[]);
    // It serves the certificate: its pods mount the Secret.
    let volume = json!([{"name": "tls", "secret": {"secretName": "acquirer-gateway-tls"}}]);
    let v2 = volume.clone();
    c.edit("Deployment", "acquirer-gateway", |d| {
        d["spec"]["template"]["spec"]["volumes"] = v2
    });
    c.edit_pods("acquirer-gateway", |p| {
        p["spec"]["volumes"] = volume.clone()
    });
    c.app(
        "checkout-api",
        2,
        &[(
            "ACQUIRER_URL",
            "https://acquirer-gateway.payments.svc.cluster.local",
        )],
    );
    c.objects.push(json!({"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
        "metadata": {"name": "acquirer-gateway-tls", "namespace": "payments", "uid": "sec-tls", "creationTimestamp": ago(60 * 24 * 200),
            "annotations": {"cert-manager.io/certificate-name": "acquirer-gateway", "cert-manager.io/issuer-name": "internal-ca"}},
        "data": {"tls.crt": "", "tls.key": ""}}));
    let (ready, not_after) = if expired {
        (
            json!({"type": "Ready", "status": "False", "reason": "Expired", "message": "Certificate expired on Wed, 01 Oct 2026 09:00:00 UTC", "lastTransitionTime": ago(60 * 48 + 30)}),
            "2026-10-01T09:00:00Z",
        )
    } else {
        (
            json!({"type": "Ready", "status": "True", "reason": "Ready", "message": "Certificate is up to date and has not expired", "lastTransitionTime": ago(60 * 20)}),
            "2026-12-31T09:00:00Z",
        )
    };
    c.objects.push(json!({"apiVersion": "cert-manager.io/v1", "kind": "Certificate",
        "metadata": {"name": "acquirer-gateway", "namespace": "payments", "uid": "cert-1", "creationTimestamp": ago(60 * 24 * 200)},
        "spec": {"secretName": "acquirer-gateway-tls", "dnsNames": ["acquirer-gateway.payments.svc.cluster.local"], "issuerRef": {"name": "internal-ca", "kind": "Issuer"}},
        "status": {"conditions": [ready], "notAfter": not_after}}));
    let line = "level=error msg=\"authorize failed\" err=\"Post \\\"https://acquirer-gateway.payments.svc.cluster.local/authorize\\\": tls: failed to verify certificate: x509: certificate has expired or is not yet valid: current time 2026-10-03T09:29:10Z is after 2026-10-01T09:00:00Z\"";
    if expired {
        c.log("checkout-api", &lines_until(line, 40, 0));
    } else {
        // Ten failures 21 hours ago; the service went on serving since.
        let mut lines = lines_until(line, 10, 60 * 21);
        lines.extend(lines_until(
            "level=info msg=\"authorize ok\" status=200 duration_ms=41",
            60 * 20,
            0,
        ));
        c.log("checkout-api", &lines);
    }
    c
}

/// A liveness probe that kills a slow starter before it is up (twin: the container exits
/// with an error by itself; the probe only saw it down).
fn liveness_kills(killed: bool) -> Cluster {
    let mut c = Cluster::new();
    c.app("report-builder", 1, &[]);
    probe(
        &mut c,
        "report-builder",
        "livenessProbe",
        json!({"httpGet": {"path": "/healthz", "port": 8080}, "initialDelaySeconds": 5, "periodSeconds": 5, "failureThreshold": 3, "timeoutSeconds": 1}),
    );
    let (code, reason, ran) = if killed {
        (137, "Error", 21)
    } else {
        (1, "Error", 3)
    };
    c.edit_pods("report-builder", |p| {
        p["status"]["conditions"][3]["status"] = json!("False");
        p["status"]["conditions"][3]["lastTransitionTime"] = json!(ago(30));
        p["status"]["containerStatuses"][0]["ready"] = json!(false);
        p["status"]["containerStatuses"][0]["restartCount"] = json!(7);
        p["status"]["containerStatuses"][0]["state"] = json!({"waiting": {"reason": "CrashLoopBackOff",
            "message": "back-off 2m40s restarting failed container=report-builder"}});
        let finished: jiff::Timestamp = ago(1).parse().unwrap();
        let started = finished.checked_sub(jiff::SignedDuration::from_secs(ran)).unwrap();
        p["status"]["containerStatuses"][0]["lastState"] = json!({"terminated": {"reason": reason, "exitCode": code,
            "startedAt": started.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(), "finishedAt": ago(1)}});
    });
    c.ready("report-builder", 0);
    let pod = c.pods("report-builder")[0].clone();
    c.event("Pod", &pod, true, "Unhealthy",
        "Liveness probe failed: Get \"http://10.244.0.41:8080/healthz\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)",
        30, 1, 21);
    if killed {
        c.event(
            "Pod",
            &pod,
            false,
            "Killing",
            "Container report-builder failed liveness probe, will be restarted",
            30,
            1,
            7,
        );
    }
    c
}

pub fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "network-policy-blocks-a-caller",
            symptom: "settlements time out",
            cluster: network_policy(true),
            want: Some("NetworkPolicy/ledger-ingress"),
            never: &[],
            category: Some("NetworkPolicyBlocks"),
        },
        Case {
            name: "network-policy-admits-the-caller (twin)",
            symptom: "settlements time out",
            cluster: network_policy(false),
            want: None, // settlement's timeouts alone name no cause
            never: &["NetworkPolicyBlocks"],
            category: None,
        },
        Case {
            name: "liveness-kills-a-slow-starter",
            symptom: "reports are not generated",
            cluster: liveness_kills(true),
            want: Some("Deployment/report-builder"),
            never: &[],
            category: Some("ProbeTooTight"),
        },
        Case {
            name: "crashes-by-itself-liveness-saw-it (twin)",
            symptom: "reports are not generated",
            cluster: liveness_kills(false),
            want: Some("Deployment/report-builder"),
            never: &["ProbeTooTight"],
            category: Some("CrashLoopBackOff"),
        },
        Case {
            name: "probe-wrong-port",
            symptom: "card tokenization is down",
            cluster: probe_port(true),
            want: Some("Deployment/card-tokenizer"),
            never: &[],
            category: Some("ProbeWrongPort"),
        },
        Case {
            name: "probe-right-port-app-unhealthy (twin)",
            symptom: "card tokenization is down",
            cluster: probe_port(false),
            want: Some("Deployment/card-tokenizer"),
            never: &["ProbeWrongPort"],
            category: Some("ReadinessProbeFailing"),
        },
        Case {
            name: "http-probe-on-grpc-port",
            symptom: "fraud scoring is unavailable",
            cluster: probe_protocol(true),
            want: Some("Deployment/fraud-scorer"),
            never: &[],
            category: Some("ProbeWrongProtocol"),
        },
        Case {
            name: "grpc-probe-not-serving (twin)",
            symptom: "fraud scoring is unavailable",
            cluster: probe_protocol(false),
            want: Some("Deployment/fraud-scorer"),
            never: &["ProbeWrongProtocol"],
            category: Some("ReadinessProbeFailing"),
        },
        Case {
            name: "probe-path-changed-in-rollout",
            symptom: "the payout-api rollout is stuck",
            cluster: probe_path_changed(true),
            want: Some("Deployment/payout-api"),
            never: &[],
            category: Some("ProbeChanged"),
        },
        Case {
            name: "rollout-fails-same-probe (twin)",
            symptom: "the payout-api rollout is stuck",
            cluster: probe_path_changed(false),
            want: Some("Deployment/payout-api"),
            never: &["ProbeChanged"],
            category: None,
        },
        Case {
            name: "service-protocol-mismatch",
            symptom: "name resolution times out in checkout",
            cluster: service_protocol(true),
            want: Some("Service/dns-cache"),
            never: &[],
            category: Some("ServiceProtocolMismatch"),
        },
        Case {
            name: "service-both-protocols (twin)",
            symptom: "is anything wrong in payments?",
            cluster: service_protocol(false),
            want: None,
            never: &["ServiceProtocolMismatch", "ServicePortMismatch"],
            category: None,
        },
        Case {
            name: "address-names-missing-service",
            symptom: "invoices cannot be posted to the ledger",
            cluster: address_typo(true),
            want: Some("Deployment/invoicing"),
            never: &[],
            category: Some("MisconfiguredAddress"),
        },
        // DNS failures for a host outside the cluster point outside it: no cluster cause.
        Case {
            name: "external-host-dns-failure (twin)",
            symptom: "invoices cannot be posted to the ledger",
            cluster: address_typo(false),
            want: None,
            never: &["MisconfiguredAddress"],
            category: None,
        },
        Case {
            name: "certificate-expired",
            symptom: "card authorizations fail with TLS errors",
            cluster: cert_expired(true),
            want: Some("Certificate/acquirer-gateway"),
            never: &[],
            category: Some("CertificateExpired"),
        },
        Case {
            name: "certificate-expired-unused (twin)",
            symptom: "card authorizations fail with TLS errors",
            cluster: {
                let mut c = cert_expired(true);
                c.edit("Deployment", "acquirer-gateway", |d| {
                    d["spec"]["template"]["spec"]["volumes"] = json!([])
                });
                c.edit_pods("acquirer-gateway", |p| p["spec"]["volumes"] = json!([]));
                c.logs.clear();
                c
            },
            want: None,
            // Still a warning finding: an expired certificate nothing serves.
            never: &[],
            category: None,
        },
        Case {
            name: "certificate-renewed-yesterday (twin)",
            symptom: "card authorizations fail with TLS errors",
            cluster: cert_expired(false),
            want: None,
            never: &["CertificateExpired"],
            category: None,
        },
    ]
}

/// A NetworkPolicy isolating the ledger for ingress, admitting only the reporting app,
/// while settlement calls it and times out (twin: the policy admits settlement too, whose
/// calls time out all the same).
pub fn network_policy(blocks: bool) -> Cluster {
    let mut c = Cluster::new();
    c.app("ledger", 2, &[])
        .app(
            "reporting",
            1,
            &[("LEDGER_URL", "http://ledger.payments.svc.cluster.local")],
        )
        .app(
            "settlement",
            2,
            &[("LEDGER_URL", "http://ledger.payments.svc.cluster.local")],
        );
    let mut from =
        vec![json!({"podSelector": {"matchLabels": {"app.kubernetes.io/name": "reporting"}}})];
    if !blocks {
        from.push(
            json!({"podSelector": {"matchLabels": {"app.kubernetes.io/name": "settlement"}}}),
        );
    }
    c.objects.push(json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
        "metadata": {"name": "ledger-ingress", "namespace": "payments", "uid": "np-1", "creationTimestamp": ago(33)},
        "spec": {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "ledger"}}, "policyTypes": ["Ingress"],
                 "ingress": [{"from": from, "ports": [{"protocol": "TCP", "port": 8080}]}]}}));
    // The calls time out either way: the twin's policy admits them, so it is not the cause.
    let ip = c.cluster_ip("ledger");
    let line = format!(
        "level=error msg=\"POST /v1/entries failed\" upstream=ledger err=\"dial tcp {ip}:80: i/o timeout\""
    );
    c.log("settlement", &lines_until(&line, 30, 0));
    c
}
