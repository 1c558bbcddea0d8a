//! A compact, hand-written cluster: the fixture of the round-trip, replay and redaction tests.
//! Small enough to assert on exactly, yet it exercises every part of the bundle format:
//! several namespaces, a CRD and its objects, restarted containers with previous logs,
//! events, metric samples, and secrets planted before redaction.
//!
//! The incident: `auth` v2 was rolled out three hours before capture with a memory leak; its
//! pods are OOMKilled and restarting, `checkout` times out calling it, the edge returns 504s.

use serde_json::{Value, json};

use crate::model::manifest::{ClusterInfo, Collector, Manifest, Redaction, Window};
use crate::model::{LogKey, MetricsSample, Object, ResourceList, ResourceType, Snapshot, TypeKey};
use crate::redact::Redactor;

/// Capture time of the fixture: every timestamp in it is relative to this.
pub const CAPTURED_AT: &str = "2026-11-24T14:00:00Z";

fn at(minutes_before: i64) -> String {
    let t: jiff::Timestamp = CAPTURED_AT.parse().unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    let t = t
        .checked_sub(jiff::SignedDuration::from_mins(minutes_before))
        .unwrap_or(t);
    t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn uid(kind: &str, ns: &str, name: &str) -> String {
    // Stable, unique, uid-shaped: derived from the object's identity.
    let hex = sha_hex(&format!("{kind}/{ns}/{name}"));
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

fn sha_hex(s: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(s.as_bytes()))
}

fn meta(kind: &str, ns: &str, name: &str, created: i64, labels: Value) -> Value {
    let mut m = json!({
        "name": name,
        "uid": uid(kind, ns, name),
        "creationTimestamp": at(created),
        "resourceVersion": "1",
    });
    if !ns.is_empty() {
        m["namespace"] = json!(ns);
    }
    if labels.as_object().is_some_and(|l| !l.is_empty()) {
        m["labels"] = labels;
    }
    m
}

fn owner(kind: &str, api: &str, ns: &str, name: &str) -> Value {
    json!([{"apiVersion": api, "kind": kind, "name": name, "uid": uid(kind, ns, name),
            "controller": true, "blockOwnerDeletion": true}])
}

struct App {
    name: &'static str,
    image: &'static str,
    replicas: usize,
    cpu: &'static str,
    memory: &'static str,
    port: u16,
    env: Value,
}

fn shop_apps() -> Vec<App> {
    vec![
        App {
            name: "frontend",
            image: "ghcr.io/acme/frontend:1.14.2",
            replicas: 2,
            cpu: "200m",
            memory: "256Mi",
            port: 8080,
            env: json!([{"name": "CHECKOUT_URL", "value": "http://checkout.shop.svc.cluster.local:8080"}]),
        },
        App {
            name: "checkout",
            image: "ghcr.io/acme/checkout:3.2.0",
            replicas: 2,
            cpu: "250m",
            memory: "256Mi",
            port: 8080,
            env: json!([
                {"name": "AUTH_ADDR", "value": "auth:9000"},
                {"name": "DATABASE_URL", "value": "postgres://checkout:hunter2-demo@postgres.shop:5432/orders"},
                {"name": "CACHE_HOST", "value": "redis"}
            ]),
        },
        App {
            name: "auth",
            image: "ghcr.io/acme/auth:2.0.0",
            replicas: 2,
            cpu: "250m",
            memory: "256Mi",
            port: 9000,
            env: json!([
                {"name": "DB_HOST", "value": "postgres.shop.svc.cluster.local"},
                {"name": "JWT_SIGNING_KEY", "value": "demo-signing-key-not-real"}
            ]),
        },
        App {
            name: "redis",
            image: "redis:7.2",
            replicas: 1,
            cpu: "100m",
            memory: "128Mi",
            port: 6379,
            env: json!([]),
        },
    ]
}

const NODES: [(&str, &str); 3] = [
    ("node-a1", "eu-west-1a"),
    ("node-b1", "eu-west-1b"),
    ("node-c1", "eu-west-1c"),
];

struct Builder {
    objects: Vec<Value>,
    logs: Vec<(LogKey, String)>,
}

impl Builder {
    fn push(&mut self, v: Value) {
        self.objects.push(v);
    }

    fn nodes(&mut self) {
        for (i, (name, zone)) in NODES.iter().enumerate() {
            self.push(json!({
                "apiVersion": "v1", "kind": "Node",
                "metadata": meta("Node", "", name, 60 * 24 * 30, json!({
                    "kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
                    "topology.kubernetes.io/zone": zone, "topology.kubernetes.io/region": "eu-west-1",
                    "node.kubernetes.io/instance-type": "m6i.xlarge", "pool": "general"})),
                "spec": {"providerID": format!("aws:///{zone}/i-0{i}a1b2c3d4e5f6")},
                "status": {
                    "capacity": {"cpu": "4", "memory": "16086508Ki", "pods": "58", "ephemeral-storage": "104845292Ki"},
                    "allocatable": {"cpu": "3920m", "memory": "15222508Ki", "pods": "58", "ephemeral-storage": "95551679124"},
                    "conditions": [
                        {"type": "MemoryPressure", "status": "False", "reason": "KubeletHasSufficientMemory", "lastHeartbeatTime": at(1), "lastTransitionTime": at(60 * 24 * 30)},
                        {"type": "DiskPressure", "status": "False", "reason": "KubeletHasNoDiskPressure", "lastHeartbeatTime": at(1), "lastTransitionTime": at(60 * 24 * 30)},
                        {"type": "PIDPressure", "status": "False", "reason": "KubeletHasSufficientPID", "lastHeartbeatTime": at(1), "lastTransitionTime": at(60 * 24 * 30)},
                        {"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "kubelet is posting ready status", "lastHeartbeatTime": at(1), "lastTransitionTime": at(60 * 24 * 30)}
                    ],
                    "addresses": [{"type": "InternalIP", "address": format!("10.0.{i}.10")}, {"type": "Hostname", "address": name}],
                    "nodeInfo": {"kubeletVersion": "v1.31.4", "kubeProxyVersion": "v1.31.4", "osImage": "Amazon Linux 2023",
                        "kernelVersion": "6.1.112-124.190.amzn2023.x86_64", "containerRuntimeVersion": "containerd://1.7.23",
                        "operatingSystem": "linux", "architecture": "amd64"}
                }
            }));
        }
    }

    fn namespace(&mut self, name: &str, labels: Value) {
        self.push(json!({"apiVersion": "v1", "kind": "Namespace",
            "metadata": meta("Namespace", "", name, 60 * 24 * 60, labels),
            "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}));
    }

    fn app(&mut self, ns: &str, app: &App, ordinal: usize) {
        let labels = json!({"app": app.name});
        let container = json!({
            "name": app.name, "image": app.image,
            "ports": [{"containerPort": app.port, "protocol": "TCP"}],
            "env": app.env,
            "resources": {"requests": {"cpu": app.cpu, "memory": app.memory}, "limits": {"memory": app.memory}},
            "readinessProbe": {"httpGet": {"path": "/healthz", "port": app.port}, "periodSeconds": 10},
            "livenessProbe": {"httpGet": {"path": "/healthz", "port": app.port}, "periodSeconds": 10, "failureThreshold": 3}
        });
        let leaking = app.name == "auth";
        let revision = if leaking { 2 } else { 1 };
        let rs_name = format!("{}-{}", app.name, pod_hash(app.name, revision));
        let template = json!({"metadata": {"labels": labels.clone()}, "spec": {"containers": [container.clone()]}});
        let mut dep = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": meta("Deployment", ns, app.name, 60 * 24 * 20, labels.clone()),
            "spec": {"replicas": app.replicas, "selector": {"matchLabels": labels.clone()}, "template": template,
                "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}}},
            "status": {"observedGeneration": revision, "replicas": app.replicas,
                "updatedReplicas": app.replicas, "readyReplicas": if leaking { 0 } else { app.replicas },
                "availableReplicas": if leaking { 0 } else { app.replicas }}});
        dep["metadata"]["annotations"] =
            json!({"deployment.kubernetes.io/revision": revision.to_string()});
        dep["metadata"]["generation"] = json!(revision);
        self.push(dep);
        for rev in 1..=revision {
            let name = format!("{}-{}", app.name, pod_hash(app.name, rev));
            let current = rev == revision;
            let mut image = app.image.to_string();
            if !current {
                image = image.replace("2.0.0", "1.9.3");
            }
            let mut c = container.clone();
            c["image"] = json!(image);
            let mut rs_labels = labels.clone();
            rs_labels["pod-template-hash"] = json!(pod_hash(app.name, rev));
            let created = if current && leaking {
                180
            } else {
                60 * 24 * 20
            };
            let mut rs = json!({"apiVersion": "apps/v1", "kind": "ReplicaSet",
                "metadata": meta("ReplicaSet", ns, &name, created, rs_labels.clone()),
                "spec": {"replicas": if current { app.replicas } else { 0 }, "selector": {"matchLabels": rs_labels.clone()},
                    "template": {"metadata": {"labels": rs_labels.clone()}, "spec": {"containers": [c]}}},
                "status": {"replicas": if current { app.replicas } else { 0 },
                    "readyReplicas": if current && !leaking { app.replicas } else { 0 }}});
            rs["metadata"]["ownerReferences"] = owner("Deployment", "apps/v1", ns, app.name);
            rs["metadata"]["annotations"] =
                json!({"deployment.kubernetes.io/revision": rev.to_string()});
            self.push(rs);
        }
        for r in 0..app.replicas {
            let pod_name = format!("{rs_name}-{}", pod_suffix(app.name, r));
            let (node, _) = NODES[(ordinal + r) % NODES.len()];
            let mut pod_labels = labels.clone();
            pod_labels["pod-template-hash"] = json!(pod_hash(app.name, revision));
            let created = if leaking {
                178 - r as i64
            } else {
                60 * 24 * 20 - r as i64
            };
            let restarts = if leaking { 7 + r } else { 0 };
            let status = if leaking {
                json!({"name": app.name, "image": app.image, "imageID": format!("{}@sha256:{}", app.image, "ab".repeat(32)),
                    "ready": false, "started": false, "restartCount": restarts,
                    "state": {"waiting": {"reason": "CrashLoopBackOff",
                        "message": format!("back-off 5m0s restarting failed container={} pod={pod_name}", app.name)}},
                    "lastState": {"terminated": {"reason": "OOMKilled", "exitCode": 137, "startedAt": at(9), "finishedAt": at(3)}}})
            } else {
                json!({"name": app.name, "image": app.image, "imageID": format!("{}@sha256:{}", app.image, "cd".repeat(32)),
                    "ready": true, "started": true, "restartCount": 0, "state": {"running": {"startedAt": at(created - 1)}}})
            };
            let mut pod = json!({"apiVersion": "v1", "kind": "Pod",
                "metadata": meta("Pod", ns, &pod_name, created, pod_labels),
                "spec": {"nodeName": node, "containers": [container.clone()], "restartPolicy": "Always",
                    "serviceAccountName": "default", "terminationGracePeriodSeconds": 30, "dnsPolicy": "ClusterFirst"},
                "status": {"phase": "Running", "hostIP": format!("10.0.{}.10", (ordinal + r) % 3),
                    "podIP": format!("10.244.{}.{}", (ordinal + r) % 3, 10 + ordinal * 4 + r),
                    "startTime": at(created), "qosClass": "Burstable",
                    "conditions": [
                        {"type": "PodScheduled", "status": "True", "lastTransitionTime": at(created)},
                        {"type": "Initialized", "status": "True", "lastTransitionTime": at(created)},
                        {"type": "ContainersReady", "status": if leaking {"False"} else {"True"}, "lastTransitionTime": at(if leaking {3} else {created - 1})},
                        {"type": "Ready", "status": if leaking {"False"} else {"True"}, "lastTransitionTime": at(if leaking {3} else {created - 1})}],
                    "containerStatuses": [status]}});
            pod["metadata"]["ownerReferences"] = owner("ReplicaSet", "apps/v1", ns, &rs_name);
            self.push(pod);
            self.logs_for(ns, app, &pod_name, leaking, r);
            if leaking {
                self.event(
                    ns,
                    "Pod",
                    &pod_name,
                    "Warning",
                    "BackOff",
                    &format!(
                        "Back-off restarting failed container {} in pod {pod_name}_{ns}({})",
                        app.name,
                        uid("Pod", ns, &pod_name)
                    ),
                    "kubelet",
                    150,
                    2,
                    31,
                );
                self.event(ns, "Pod", &pod_name, "Warning", "Unhealthy",
                    "Readiness probe failed: Get \"http://10.244.0.14:9000/healthz\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)",
                    "kubelet", 160, 3, 24);
                self.event(
                    ns,
                    "Pod",
                    &pod_name,
                    "Normal",
                    "Pulled",
                    &format!(
                        "Container image \"{}\" already present on machine",
                        app.image
                    ),
                    "kubelet",
                    170,
                    9,
                    restarts as u64,
                );
            }
        }
        self.push(json!({"apiVersion": "v1", "kind": "Service",
            "metadata": meta("Service", ns, app.name, 60 * 24 * 20, labels.clone()),
            "spec": {"type": "ClusterIP", "clusterIP": format!("10.96.{}.{}", 1 + ordinal, 10 + ordinal),
                "clusterIPs": [format!("10.96.{}.{}", 1 + ordinal, 10 + ordinal)],
                "ports": [{"name": "http", "port": app.port, "targetPort": app.port, "protocol": "TCP"}],
                "selector": {"app": app.name}, "sessionAffinity": "None"}}));
        if leaking {
            self.event(
                ns,
                "Deployment",
                app.name,
                "Normal",
                "ScalingReplicaSet",
                &format!("Scaled up replica set {rs_name} from 0 to {}", app.replicas),
                "deployment-controller",
                180,
                180,
                1,
            );
        }
    }

    fn logs_for(&mut self, ns: &str, app: &App, pod: &str, leaking: bool, r: usize) {
        let key = |previous| LogKey {
            namespace: ns.to_string(),
            pod: pod.to_string(),
            container: app.name.to_string(),
            previous,
        };
        let mut text = String::new();
        match app.name {
            "frontend" => {
                for i in 0..12 {
                    let (status, ms) = if i % 3 == 0 {
                        (504, 10002)
                    } else {
                        (200, 40 + i * 7)
                    };
                    text.push_str(&format!(
                        "{} 10.244.1.{} \"POST /api/checkout HTTP/1.1\" {status} {ms}ms upstream=checkout.shop.svc.cluster.local:8080\n",
                        at(12 - i as i64), 20 + i
                    ));
                }
            }
            "checkout" => {
                for i in 0..8 {
                    text.push_str(&format!(
                        "{} level=error msg=\"token validation failed\" err=\"dial tcp 10.96.3.12:9000: i/o timeout\" retry={} request_id=req-{r}{i:03}\n",
                        at(10 - i as i64), i % 4
                    ));
                }
                text.push_str(&format!(
                    "{} level=info msg=\"order placed\" order=ord-{r}81 latency_ms=812\n",
                    at(1)
                ));
                text.push_str(&format!("{} level=debug msg=\"calling billing\" authorization=\"Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJkZW1vIn0.c2lnbmF0dXJlLWRlbW8\"\n", at(1)));
            }
            "auth" => {
                text.push_str(&format!(
                    "{} level=info msg=\"auth 2.0.0 starting\" cache=session-v2\n",
                    at(2)
                ));
                text.push_str(&format!("{} level=info msg=\"connected to postgres\" host=postgres.shop.svc.cluster.local\n", at(2)));
                let mut prev = String::new();
                prev.push_str(&format!(
                    "{} level=info msg=\"auth 2.0.0 starting\" cache=session-v2\n",
                    at(9)
                ));
                for i in 0..5 {
                    prev.push_str(&format!(
                        "{} level=warn msg=\"session cache growing\" entries={} heap_mb={}\n",
                        at(8 - i),
                        120_000 * (i + 1),
                        140 + 25 * i
                    ));
                }
                prev.push_str("fatal error: runtime: out of memory\n\ngoroutine 1 [running]:\nmain.(*SessionCache).Put(...)\n\t/src/cache.go:88 +0x1a4\n");
                self.logs.push((key(true), prev));
            }
            _ => text.push_str(&format!(
                "1:M {} * Ready to accept connections tcp\n",
                at(60 * 24)
            )),
        }
        let _ = leaking;
        self.logs.push((key(false), text));
    }

    #[allow(clippy::too_many_arguments)]
    fn event(
        &mut self,
        ns: &str,
        kind: &str,
        name: &str,
        etype: &str,
        reason: &str,
        message: &str,
        component: &str,
        first: i64,
        last: i64,
        count: u64,
    ) {
        let ename = format!(
            "{name}.{}",
            &uid("Event", ns, &format!("{name}{reason}")).replace('-', "")[..16]
        );
        let ns_for_obj = if kind == "Node" { "" } else { ns };
        self.push(json!({"apiVersion": "v1", "kind": "Event",
            "metadata": meta("Event", ns, &ename, first, json!({})),
            "involvedObject": {"kind": kind, "namespace": ns_for_obj, "name": name, "uid": uid(kind, ns_for_obj, name),
                "apiVersion": if kind == "Pod" || kind == "Node" {"v1"} else {"apps/v1"}},
            "reason": reason, "message": message, "type": etype, "count": count,
            "firstTimestamp": at(first), "lastTimestamp": at(last),
            "source": {"component": component}, "reportingComponent": component, "reportingInstance": ""}));
    }

    fn extras(&mut self) {
        let ns = "shop";
        self.push(json!({"apiVersion": "apps/v1", "kind": "StatefulSet",
            "metadata": meta("StatefulSet", ns, "postgres", 60 * 24 * 60, json!({"app": "postgres"})),
            "spec": {"replicas": 1, "serviceName": "postgres", "selector": {"matchLabels": {"app": "postgres"}},
                "template": {"metadata": {"labels": {"app": "postgres"}}, "spec": {"containers": [{"name": "postgres", "image": "postgres:16.4",
                    "env": [{"name": "POSTGRES_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "postgres-credentials", "key": "password"}}}],
                    "resources": {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"memory": "2Gi"}}}]}}},
            "status": {"replicas": 1, "readyReplicas": 1, "currentReplicas": 1, "updatedReplicas": 1}}));
        let mut pg = json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": meta("Pod", ns, "postgres-0", 60 * 24 * 10, json!({"app": "postgres", "statefulset.kubernetes.io/pod-name": "postgres-0"})),
            "spec": {"nodeName": "node-c1", "containers": [{"name": "postgres", "image": "postgres:16.4",
                "resources": {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"memory": "2Gi"}}}],
                "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "data-postgres-0"}}]},
            "status": {"phase": "Running", "podIP": "10.244.2.30", "hostIP": "10.0.2.10", "qosClass": "Burstable", "startTime": at(60 * 24 * 10),
                "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": at(60 * 24 * 10)}],
                "containerStatuses": [{"name": "postgres", "image": "postgres:16.4", "imageID": "", "ready": true, "started": true,
                    "restartCount": 0, "state": {"running": {"startedAt": at(60 * 24 * 10)}}}]}});
        pg["metadata"]["ownerReferences"] = owner("StatefulSet", "apps/v1", ns, "postgres");
        self.push(pg);
        self.logs.push((LogKey { namespace: ns.into(), pod: "postgres-0".into(), container: "postgres".into(), previous: false },
            format!("{} FATAL:  remaining connection slots are reserved for non-replication superuser connections\n{} LOG:  checkpoint complete\n", at(6), at(5))));
        self.push(json!({"apiVersion": "v1", "kind": "Service",
            "metadata": meta("Service", ns, "postgres", 60 * 24 * 60, json!({"app": "postgres"})),
            "spec": {"clusterIP": "10.96.9.5", "clusterIPs": ["10.96.9.5"], "type": "ClusterIP",
                "ports": [{"name": "pg", "port": 5432, "targetPort": 5432, "protocol": "TCP"}], "selector": {"app": "postgres"}}}));
        self.push(json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": meta("PersistentVolumeClaim", ns, "data-postgres-0", 60 * 24 * 60, json!({"app": "postgres"})),
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "50Gi"}}, "storageClassName": "gp3", "volumeName": "pvc-0d1e2f"},
            "status": {"phase": "Bound", "capacity": {"storage": "50Gi"}, "accessModes": ["ReadWriteOnce"]}}));
        self.push(json!({"apiVersion": "v1", "kind": "PersistentVolume",
            "metadata": meta("PersistentVolume", "", "pvc-0d1e2f", 60 * 24 * 60, json!({"topology.kubernetes.io/zone": "eu-west-1c"})),
            "spec": {"capacity": {"storage": "50Gi"}, "accessModes": ["ReadWriteOnce"], "storageClassName": "gp3", "persistentVolumeReclaimPolicy": "Delete",
                "claimRef": {"kind": "PersistentVolumeClaim", "namespace": ns, "name": "data-postgres-0"},
                "csi": {"driver": "ebs.csi.aws.com", "volumeHandle": "vol-0abc"}},
            "status": {"phase": "Bound"}}));
        self.push(json!({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": meta("Secret", ns, "postgres-credentials", 60 * 24 * 60, json!({"app": "postgres"})),
            "data": {"password": "ZGVtby1kYi1wYXNzd29yZC1jYW5hcnk=", "username": "cG9zdGdyZXM="}}));
        self.push(json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": meta("ConfigMap", ns, "checkout-config", 60 * 24 * 20, json!({"app": "checkout"})),
            "data": {"AUTH_TIMEOUT": "2s", "RETRIES": "5", "RETRY_BACKOFF": "exponential"}}));
        self.push(json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": meta("Ingress", ns, "shop", 60 * 24 * 20, json!({})),
            "spec": {"ingressClassName": "nginx", "rules": [{"host": "shop.example.com", "http": {"paths": [
                {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "frontend", "port": {"number": 8080}}}}]}}]},
            "status": {"loadBalancer": {"ingress": [{"hostname": "a1b2.elb.eu-west-1.amazonaws.com"}]}}}));
        self.push(json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
            "metadata": meta("PodDisruptionBudget", ns, "auth", 60 * 24 * 20, json!({})),
            "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "auth"}}},
            "status": {"currentHealthy": 0, "desiredHealthy": 1, "disruptionsAllowed": 0, "expectedPods": 2}}));
        self.event(
            ns,
            "Pod",
            "postgres-0",
            "Warning",
            "Unhealthy",
            "Readiness probe failed: psql: error: FATAL: sorry, too many clients already",
            "kubelet",
            20,
            6,
            4,
        );
        // kube-system: DNS
        for (i, node) in ["node-a1", "node-b1"].iter().enumerate() {
            let name = format!("coredns-5d78c9869d-{}", ["x7k2p", "q9m4t"][i]);
            let mut p = json!({"apiVersion": "v1", "kind": "Pod",
                "metadata": meta("Pod", "kube-system", &name, 60 * 24 * 30, json!({"k8s-app": "kube-dns"})),
                "spec": {"nodeName": node, "priorityClassName": "system-cluster-critical", "containers": [{"name": "coredns", "image": "registry.k8s.io/coredns/coredns:v1.11.3",
                    "resources": {"requests": {"cpu": "100m", "memory": "70Mi"}, "limits": {"memory": "170Mi"}}}]},
                "status": {"phase": "Running", "podIP": format!("10.244.{i}.2"), "qosClass": "Burstable", "startTime": at(60 * 24 * 30),
                    "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": at(60 * 24 * 30)}],
                    "containerStatuses": [{"name": "coredns", "image": "registry.k8s.io/coredns/coredns:v1.11.3", "imageID": "", "ready": true,
                        "started": true, "restartCount": 1, "state": {"running": {"startedAt": at(60 * 24 * 29)}},
                        "lastState": {"terminated": {"reason": "Completed", "exitCode": 0, "startedAt": at(60 * 24 * 30), "finishedAt": at(60 * 24 * 29)}}}]}});
            p["metadata"]["ownerReferences"] =
                owner("ReplicaSet", "apps/v1", "kube-system", "coredns-5d78c9869d");
            self.push(p);
            self.logs.push((LogKey { namespace: "kube-system".into(), pod: name.clone(), container: "coredns".into(), previous: false },
                ".:53\n[INFO] plugin/reload: Running configuration SHA512 = 591cf328\nCoreDNS-1.11.3\nlinux/amd64, go1.21.11\n".into()));
            self.logs.push((
                LogKey {
                    namespace: "kube-system".into(),
                    pod: name,
                    container: "coredns".into(),
                    previous: true,
                },
                "[INFO] SIGTERM: Shutting down servers then terminating\n".into(),
            ));
        }
        self.push(json!({"apiVersion": "v1", "kind": "Service",
            "metadata": meta("Service", "kube-system", "kube-dns", 60 * 24 * 60, json!({"k8s-app": "kube-dns"})),
            "spec": {"clusterIP": "10.96.0.10", "clusterIPs": ["10.96.0.10"], "type": "ClusterIP",
                "ports": [{"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53}], "selector": {"k8s-app": "kube-dns"}}}));
        // monitoring: a CRD and its objects.
        self.push(json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": meta("CustomResourceDefinition", "", "backups.ops.example.com", 60 * 24 * 90, json!({})),
            "spec": {"group": "ops.example.com", "scope": "Namespaced",
                "names": {"plural": "backups", "singular": "backup", "kind": "Backup", "listKind": "BackupList", "shortNames": ["bk"]},
                "versions": [{"name": "v1", "served": true, "storage": true,
                    "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}},
                    "additionalPrinterColumns": [
                        {"name": "Target", "type": "string", "jsonPath": ".spec.target"},
                        {"name": "Phase", "type": "string", "jsonPath": ".status.phase"},
                        {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}]}]},
            "status": {"acceptedNames": {"plural": "backups", "kind": "Backup"}, "storedVersions": ["v1"]}}));
        for (name, target, phase, ago) in [
            ("orders-nightly", "postgres", "Completed", 60 * 14),
            ("orders-hourly", "postgres", "Failed", 50),
        ] {
            self.push(json!({"apiVersion": "ops.example.com/v1", "kind": "Backup",
                "metadata": meta("Backup", "monitoring", name, ago, json!({"app": "backup"})),
                "spec": {"target": target, "schedule": if name.ends_with("nightly") {"0 0 * * *"} else {"0 * * * *"}},
                "status": {"phase": phase, "message": if phase == "Failed" {"pg_dump: error: connection to server failed: FATAL: sorry, too many clients already"} else {"ok"}}}));
        }
    }
}

fn pod_hash(app: &str, revision: usize) -> String {
    let digits: String = sha_hex(&format!("{app}:{revision}"))
        .chars()
        .map(|c| match c {
            'a'..='f' => (b'b' + (c as u8 - b'a') * 3) as char,
            other => other,
        })
        .collect();
    format!("{digits:0<10}")[..10].to_string()
}

fn pod_suffix(app: &str, r: usize) -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    sha_hex(&format!("{app}#{r}"))
        .bytes()
        .take(5)
        .map(|b| ALPHABET[b as usize % ALPHABET.len()] as char)
        .collect()
}

fn metrics(samples: usize) -> Vec<MetricsSample> {
    let mut out = Vec::new();
    for s in 0..samples {
        let minutes = (samples - 1 - s) as i64;
        let time = at(minutes);
        let nodes: Vec<Value> = NODES
            .iter()
            .enumerate()
            .map(|(i, (name, _))| {
                json!({"metadata": {"name": name, "creationTimestamp": time}, "timestamp": time, "window": "20s",
                    "usage": {"cpu": format!("{}m", 900 + 150 * i + 40 * s), "memory": format!("{}Ki", 6_100_000 + 400_000 * i + 90_000 * s)}})
            })
            .collect();
        let mut pods = Vec::new();
        for (ordinal, app) in shop_apps().iter().enumerate() {
            let revision = if app.name == "auth" { 2 } else { 1 };
            for r in 0..app.replicas {
                let pod = format!(
                    "{}-{}-{}",
                    app.name,
                    pod_hash(app.name, revision),
                    pod_suffix(app.name, r)
                );
                let mem_mi = if app.name == "auth" {
                    150 + 35 * s + 10 * r
                } else {
                    90 + 20 * ordinal + 2 * s
                };
                let cpu_m = if app.name == "frontend" {
                    195 + s
                } else {
                    40 + 30 * ordinal + 5 * s
                };
                pods.push(json!({"metadata": {"name": pod, "namespace": "shop", "creationTimestamp": time},
                    "timestamp": time, "window": "15s",
                    "containers": [{"name": app.name, "usage": {"cpu": format!("{cpu_m}m"), "memory": format!("{mem_mi}Mi")}}]}));
            }
        }
        pods.push(json!({"metadata": {"name": "postgres-0", "namespace": "shop", "creationTimestamp": time},
            "timestamp": time, "window": "15s",
            "containers": [{"name": "postgres", "usage": {"cpu": format!("{}m", 480 + 3 * s), "memory": "1532Mi"}}]}));
        let wrap = |kind: &str, items: Vec<Value>| {
            serde_json::value::to_raw_value(&json!({"kind": kind, "apiVersion": "metrics.k8s.io/v1beta1", "metadata": {}, "items": items})).ok()
        };
        out.push(MetricsSample {
            nodes: wrap("NodeMetricsList", nodes),
            pods: wrap("PodMetricsList", pods),
            time,
        });
    }
    out
}

/// Builds the fixture snapshot, redacted like a real capture.
pub fn snapshot() -> Snapshot {
    let mut b = Builder {
        objects: Vec::new(),
        logs: Vec::new(),
    };
    b.nodes();
    for ns in ["default", "kube-system", "monitoring"] {
        b.namespace(ns, json!({"kubernetes.io/metadata.name": ns}));
    }
    b.namespace(
        "shop",
        json!({"kubernetes.io/metadata.name": "shop", "team": "commerce"}),
    );
    for (i, app) in shop_apps().iter().enumerate() {
        b.app("shop", app, i);
    }
    b.extras();

    // Only a bad user pattern can fail, and the fixture passes none.
    let redactor = Redactor::new(&[]).expect("built-in redaction rules compile");
    let mut objects = b.objects;
    for v in &mut objects {
        redactor.redact_object(v);
    }
    let lists = lists_of(objects);
    let mut manifest = Manifest::new(
        ClusterInfo {
            name: "demo".into(),
            context: None,
            server: None,
            kubernetes_version: Some("v1.31.4".into()),
        },
        CAPTURED_AT.into(),
    );
    manifest.window = Window {
        start: Some(at(60 * 3)),
        end: Some(CAPTURED_AT.into()),
    };
    let mut snap = Snapshot::new(manifest.clone());
    let collectors = insert_lists(&mut snap, lists);
    finish(snap, collectors, b.logs, &redactor)
}

/// A snapshot of just these objects (no logs, no metrics), captured at `captured_at`: for
/// tests that state a cluster's situation in a few objects.
pub fn snapshot_of(captured_at: &str, objects: Vec<Value>) -> Snapshot {
    let manifest = Manifest::new(
        ClusterInfo {
            name: "test".into(),
            context: None,
            server: None,
            kubernetes_version: Some("v1.31.4".into()),
        },
        captured_at.into(),
    );
    let mut snap = Snapshot::new(manifest);
    let collectors = insert_lists(&mut snap, lists_of(objects));
    snap.manifest.collectors = collectors;
    snap
}

type Lists = std::collections::BTreeMap<TypeKey, (String, Vec<Object>)>;

/// Objects grouped into the lists a bundle has, by API group, version and resource.
fn lists_of(objects: Vec<Value>) -> Lists {
    let mut lists: Lists = Default::default();
    for v in objects {
        let (api, kind) = (
            v["apiVersion"].as_str().unwrap_or("v1").to_string(),
            v["kind"].as_str().unwrap_or("").to_string(),
        );
        let (group, version) = api
            .rsplit_once('/')
            .map(|(g, v)| (g.to_string(), v.to_string()))
            .unwrap_or((String::new(), api.clone()));
        let resource = ResourceType::builtin_by_kind(&group, &kind)
            .map(str::to_string)
            .unwrap_or_else(|| format!("{}s", kind.to_lowercase()));
        if let Ok(obj) = Object::from_value(&v) {
            let entry = lists
                .entry(TypeKey::new(&group, &version, &resource))
                .or_default();
            entry.0 = kind;
            entry.1.push(obj);
        }
    }
    lists
}

/// Inserts the lists (custom resources with the discovery facts their CRD declares) and
/// returns one collector entry per list.
fn insert_lists(snap: &mut Snapshot, lists: Lists) -> Vec<Collector> {
    let mut collectors = Vec::new();
    for (key, (kind, items)) in lists {
        // Custom resources: discovery facts as the CRD above declares them.
        let rtype = ResourceType::builtin(&key).unwrap_or_else(|| ResourceType {
            group: key.group.clone(),
            version: key.version.clone(),
            resource: key.resource.clone(),
            singular: kind.to_lowercase(),
            namespaced: items.iter().any(|o| !o.meta.namespace.is_empty()),
            short_names: if kind == "Backup" {
                vec!["bk".into()]
            } else {
                vec![]
            },
            kind,
            categories: vec![],
        });
        collectors.push(Collector {
            name: format!("resources/{key}"),
            items: items.len() as u64,
            errors: vec![],
        });
        snap.insert_list(ResourceList::new(rtype, items));
    }
    collectors
}

fn finish(
    mut snap: Snapshot,
    mut collectors: Vec<Collector>,
    logs: Vec<(LogKey, String)>,
    redactor: &Redactor,
) -> Snapshot {
    for (key, text) in logs {
        let text = redactor.redact_text(&text).into_owned();
        snap.logs.insert(key, text);
    }
    collectors.push(Collector {
        name: "logs".into(),
        items: snap.logs.len() as u64,
        errors: vec![],
    });
    snap.metrics = metrics(4);
    collectors.push(Collector {
        name: "metrics".into(),
        items: snap.metrics.len() as u64,
        errors: vec![],
    });
    snap.manifest.collectors = collectors;
    snap.manifest.redaction = Redaction {
        enabled: true,
        rules: redactor.rules(),
        redacted_values: redactor.redacted_count(),
    };
    snap
}
