//! A small cluster stated in a few lines, for the failure-class fixtures: nodes, apps
//! (Deployment → ReplicaSet → pods, a Service in front), events and log lines, written the
//! way the API server, the kubelet and the controllers write them. Names are deliberately
//! unlike the synthetic shop's.
#![allow(dead_code)]

use kubectl_intel::analysis::diagnose::{Request, diagnose};
use kubectl_intel::analysis::report::Report;
use kubectl_intel::model::{Fleet, LogKey};
use serde_json::{Value, json};

pub const NOW: &str = "2026-10-03T09:30:00Z";

/// `minutes` before capture, RFC 3339.
pub fn ago(minutes: i64) -> String {
    let t: jiff::Timestamp = NOW.parse().expect("NOW parses");
    t.checked_sub(jiff::SignedDuration::from_secs(minutes * 60))
        .expect("in range")
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// The pod-template hash every app's current ReplicaSet gets.
pub const HASH: &str = "6f7b9c8d5";

pub struct Cluster {
    pub objects: Vec<Value>,
    pub logs: Vec<(LogKey, String)>,
    /// Prometheus matrix results by metric name.
    pub prometheus: std::collections::BTreeMap<String, Vec<Value>>,
    services: u32,
    events: u32,
}

impl Default for Cluster {
    fn default() -> Self {
        Self::new()
    }
}

impl Cluster {
    /// Three Ready worker nodes in two zones, 4 CPUs and 16 GiB each.
    pub fn new() -> Self {
        let mut c = Cluster {
            objects: Vec::new(),
            logs: Vec::new(),
            prometheus: Default::default(),
            services: 10,
            events: 0,
        };
        for (i, zone) in ["eu-central-1a", "eu-central-1b", "eu-central-1a"]
            .iter()
            .enumerate()
        {
            c.node(&format!("worker-{i}"), zone);
        }
        c.objects.push(json!({"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": "payments", "uid": "ns-payments", "creationTimestamp": ago(60 * 24 * 90)}}));
        c
    }

    pub fn node(&mut self, name: &str, zone: &str) -> &mut Self {
        self.objects.push(json!({"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "uid": format!("node-{name}"), "creationTimestamp": ago(60 * 24 * 60),
                "labels": {"kubernetes.io/hostname": name, "topology.kubernetes.io/zone": zone,
                           "kubernetes.io/os": "linux"}},
            "spec": {},
            "status": {
                "capacity": {"cpu": "4", "memory": "16Gi", "pods": "110", "ephemeral-storage": "100Gi"},
                "allocatable": {"cpu": "3920m", "memory": "15Gi", "pods": "110", "ephemeral-storage": "95Gi"},
                "conditions": [
                    {"type": "MemoryPressure", "status": "False", "reason": "KubeletHasSufficientMemory", "lastTransitionTime": ago(60 * 24 * 60)},
                    {"type": "DiskPressure", "status": "False", "reason": "KubeletHasNoDiskPressure", "lastTransitionTime": ago(60 * 24 * 60)},
                    {"type": "PIDPressure", "status": "False", "reason": "KubeletHasSufficientPID", "lastTransitionTime": ago(60 * 24 * 60)},
                    {"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "kubelet is posting ready status", "lastTransitionTime": ago(60 * 24 * 60)}],
                "nodeInfo": {"kubeletVersion": "v1.31.4", "containerRuntimeVersion": "containerd://1.7.22"}}}));
        self
    }

    /// A Deployment with `replicas` running, ready pods, its ReplicaSet and a ClusterIP
    /// Service of the same name on port 80 → 8080. `env` is the container's environment.
    pub fn app(&mut self, name: &str, replicas: i64, env: &[(&str, &str)]) -> &mut Self {
        let ns = "payments";
        let labels = json!({"app.kubernetes.io/name": name});
        let env: Vec<Value> = env
            .iter()
            .map(|(k, v)| json!({"name": k, "value": v}))
            .collect();
        let container = json!({"name": name, "image": format!("ghcr.io/acme/{name}:4.2.1"),
            "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"}],
            "env": env,
            "resources": {"requests": {"cpu": "250m", "memory": "256Mi"}, "limits": {"memory": "512Mi"}},
            "readinessProbe": {"httpGet": {"path": "/ready", "port": 8080}, "periodSeconds": 10}});
        let template = json!({"metadata": {"labels": labels}, "spec": {"containers": [container]}});
        self.objects.push(json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": ns, "uid": format!("deploy-{name}"), "generation": 4,
                         "creationTimestamp": ago(60 * 24 * 30), "labels": labels},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels}, "template": template},
            "status": {"observedGeneration": 4, "replicas": replicas, "readyReplicas": replicas,
                       "availableReplicas": replicas, "updatedReplicas": replicas,
                       "conditions": [{"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable", "lastTransitionTime": ago(60 * 24 * 2)}]}}));
        let rs = format!("{name}-{HASH}");
        self.objects.push(json!({"apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": rs, "namespace": ns, "uid": format!("rs-{rs}"), "creationTimestamp": ago(60 * 24 * 2),
                "labels": labels, "annotations": {"deployment.kubernetes.io/revision": "7"},
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": name,
                    "uid": format!("deploy-{name}"), "controller": true, "blockOwnerDeletion": true}]},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels}, "template": template},
            "status": {"replicas": replicas, "readyReplicas": replicas, "availableReplicas": replicas}}));
        for i in 0..replicas {
            let pod = format!(
                "{rs}-{}",
                ["x7k2p", "q9w4z", "m3n8b", "t5v6c"][i as usize % 4]
            );
            let mut spec = template["spec"].clone();
            spec["nodeName"] = json!(format!("worker-{}", i % 3));
            self.objects.push(json!({"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": pod, "namespace": ns, "uid": format!("pod-{pod}"), "creationTimestamp": ago(60 * 24 * 2),
                    "labels": labels,
                    "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": rs,
                        "uid": format!("rs-{rs}"), "controller": true, "blockOwnerDeletion": true}]},
                "spec": spec,
                "status": {"phase": "Running", "podIP": format!("10.244.{}.{}", i % 3, 10 + self.services),
                    "startTime": ago(60 * 24 * 2),
                    "conditions": [
                        {"type": "PodScheduled", "status": "True", "lastTransitionTime": ago(60 * 24 * 2)},
                        {"type": "Initialized", "status": "True", "lastTransitionTime": ago(60 * 24 * 2)},
                        {"type": "ContainersReady", "status": "True", "lastTransitionTime": ago(60 * 24 * 2 - 1)},
                        {"type": "Ready", "status": "True", "lastTransitionTime": ago(60 * 24 * 2 - 1)}],
                    "containerStatuses": [{"name": name, "ready": true, "started": true, "restartCount": 0,
                        "image": format!("ghcr.io/acme/{name}:4.2.1"),
                        "state": {"running": {"startedAt": ago(60 * 24 * 2)}}}]}}));
        }
        self.services += 1;
        self.objects.push(json!({"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "namespace": ns, "uid": format!("svc-{name}"), "creationTimestamp": ago(60 * 24 * 30)},
            "spec": {"type": "ClusterIP", "clusterIP": format!("10.96.14.{}", self.services),
                     "selector": labels,
                     "ports": [{"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"}]}}));
        self
    }

    /// The ClusterIP `app` got.
    pub fn cluster_ip(&self, app: &str) -> String {
        self.find("Service", app)
            .and_then(|s| s.pointer("/spec/clusterIP"))
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_string()
    }

    pub fn find(&self, kind: &str, name: &str) -> Option<&Value> {
        self.objects
            .iter()
            .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
    }

    /// Edits the first object of this kind and name in place.
    pub fn edit(&mut self, kind: &str, name: &str, f: impl FnOnce(&mut Value)) -> &mut Self {
        if let Some(o) = self
            .objects
            .iter_mut()
            .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        {
            f(o);
        }
        self
    }

    /// Edits every pod of an app.
    pub fn edit_pods(&mut self, app: &str, f: impl Fn(&mut Value)) -> &mut Self {
        let prefix = format!("{app}-{HASH}-");
        for o in &mut self.objects {
            if o["kind"] == "Pod"
                && o["metadata"]["name"]
                    .as_str()
                    .is_some_and(|n| n.starts_with(&prefix))
            {
                f(o);
            }
        }
        self
    }

    /// The pods of an app, by name.
    pub fn pods(&self, app: &str) -> Vec<String> {
        let prefix = format!("{app}-{HASH}-");
        self.objects
            .iter()
            .filter(|o| o["kind"] == "Pod")
            .filter_map(|o| o["metadata"]["name"].as_str())
            .filter(|n| n.starts_with(&prefix))
            .map(str::to_string)
            .collect()
    }

    /// Sets the Deployment's and ReplicaSet's ready counts (after editing pods).
    pub fn ready(&mut self, app: &str, ready: i64) -> &mut Self {
        self.edit("Deployment", app, |d| {
            let want = d["spec"]["replicas"].as_i64().unwrap_or(1);
            d["status"]["readyReplicas"] = json!(ready);
            d["status"]["availableReplicas"] = json!(ready);
            d["status"]["unavailableReplicas"] = json!(want - ready);
        });
        let rs = format!("{app}-{HASH}");
        self.edit("ReplicaSet", &rs, |r| {
            r["status"]["readyReplicas"] = json!(ready);
            r["status"]["availableReplicas"] = json!(ready);
        })
    }

    #[allow(clippy::too_many_arguments)] // an Event's fields, named at each call
    pub fn event(
        &mut self,
        kind: &str,
        name: &str,
        warning: bool,
        reason: &str,
        message: &str,
        first_ago: i64,
        last_ago: i64,
        count: i64,
    ) -> &mut Self {
        self.events += 1;
        let ns = if kind == "Node" {
            "default"
        } else {
            "payments"
        };
        self.objects.push(json!({"apiVersion": "v1", "kind": "Event",
            "metadata": {"name": format!("{name}.18a{:05x}", self.events), "namespace": ns,
                         "uid": format!("ev-{}", self.events), "creationTimestamp": ago(first_ago)},
            "involvedObject": {"kind": kind, "namespace": if kind == "Node" { "" } else { "payments" }, "name": name},
            "type": if warning { "Warning" } else { "Normal" }, "reason": reason, "message": message,
            "count": count, "firstTimestamp": ago(first_ago), "lastTimestamp": ago(last_ago),
            "source": {"component": "kubelet"}}));
        self
    }

    /// Log lines of every pod of `app` (current container).
    pub fn log(&mut self, app: &str, lines: &[String]) -> &mut Self {
        for pod in self.pods(app) {
            self.logs.push((
                LogKey {
                    namespace: "payments".into(),
                    pod,
                    container: app.into(),
                    previous: false,
                },
                lines.join("\n") + "\n",
            ));
        }
        self
    }

    /// One Prometheus series: its labels and one value a minute, the last at capture.
    pub fn series(&mut self, name: &str, labels: Value, values: &[f64]) -> &mut Self {
        let end: jiff::Timestamp = NOW.parse().expect("NOW parses");
        let n = values.len() as i64;
        let points: Vec<Value> = values
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let t = end.as_second() - (n - 1 - i as i64) * 60;
                json!([t, format!("{v}")])
            })
            .collect();
        let mut metric = labels;
        metric["__name__"] = json!(name);
        self.prometheus
            .entry(name.to_string())
            .or_default()
            .push(json!({"metric": metric, "values": points}));
        self
    }

    pub fn snapshot(&self) -> kubectl_intel::model::Snapshot {
        let mut snap = kubectl_intel::fixture::snapshot_of(NOW, self.objects.clone());
        for (k, v) in &self.logs {
            snap.logs.insert(k.clone(), v.clone());
        }
        for (name, result) in &self.prometheus {
            let body =
                json!({"status": "success", "data": {"resultType": "matrix", "result": result}});
            if let Ok(raw) = serde_json::value::to_raw_value(&body) {
                snap.prometheus.insert(name.clone(), raw);
            }
        }
        snap
    }

    pub fn diagnose(&self, symptom: &str) -> Report {
        let mut fleet = Fleet::default();
        fleet.add(self.snapshot());
        diagnose(
            &fleet,
            &Request {
                symptom: symptom.to_string(),
                ..Request::default()
            },
        )
    }
}

/// Log lines at one-minute steps ending `end_ago` minutes before capture, in logfmt with
/// an RFC 3339 time, `count` copies of `line`.
pub fn lines_until(line: &str, count: i64, end_ago: i64) -> Vec<String> {
    (0..count)
        .map(|i| {
            let t = ago(end_ago + count - 1 - i);
            format!("time={t} {line}")
        })
        .collect()
}
