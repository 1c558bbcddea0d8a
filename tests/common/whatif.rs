//! What-if cases stated in a few lines of YAML (`testdata/whatif/*.yaml`): node groups,
//! workloads and raw objects become a cluster whose pods were placed by the scheduler
//! engine in creation order (a Deployment's pods through its ReplicaSet, a StatefulSet's
//! with zonal volumes bound where they landed, a DaemonSet's one per node), with
//! metrics.k8s.io samples where a workload states its usage.
#![allow(dead_code)]

use kubectl_intel::model::{MetricsSample, Snapshot};
use kubectl_intel::scheduler::{Cluster, PodInfo, place};
use serde::Deserialize;
use serde_json::{Value, json};

pub const NOW: &str = "2026-11-20T14:00:00Z";
pub const HASH: &str = "7c9f8d6b5";

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct NodeGroup {
    pub pool: String,
    pub count: usize,
    pub zones: Vec<String>,
    pub cpu: String,
    pub memory: String,
    pub pods: Option<i64>,
    pub taints: Vec<Value>,
    pub labels: serde_json::Map<String, Value>,
    pub instance_type: Option<String>,
}

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct WorkloadSpec {
    pub kind: Option<String>,
    pub namespace: Option<String>,
    pub name: String,
    pub replicas: Option<i64>,
    pub image: Option<String>,
    pub cpu: Option<String>,
    pub memory: Option<String>,
    pub limit_memory: Option<String>,
    pub labels: Option<serde_json::Map<String, Value>>,
    pub strategy: Option<Value>,
    pub update_strategy: Option<Value>,
    pub pod: Option<Value>,
    /// Merged into the pod template's (only) container: probes, ports.
    pub container: Option<Value>,
    pub volume: Option<String>,
    pub usage: Option<Usage>,
    pub service: bool,
    pub env: serde_json::Map<String, Value>,
    pub annotations: serde_json::Map<String, Value>,
    /// The pod template's annotations (safe-to-evict and the like).
    pub pod_annotations: serde_json::Map<String, Value>,
    /// The current ReplicaSet's `deployment.kubernetes.io/revision` (1 by default).
    pub revision: Option<i64>,
}

#[derive(Deserialize, Default, Clone)]
pub struct Usage {
    pub memory: String,
    #[serde(default)]
    pub cpu: Option<String>,
}

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct ClusterSpec {
    pub name: Option<String>,
    pub nodes: Vec<NodeGroup>,
    pub workloads: Vec<WorkloadSpec>,
    pub objects: Vec<Value>,
}

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct ChangeSpec {
    pub set_image: Vec<String>,
    pub replicas: Vec<String>,
    pub set_resources: Vec<String>,
    pub scale_nodes: Vec<String>,
    pub cordon: Vec<String>,
    pub drain: Vec<String>,
    pub delete: Vec<String>,
    pub patch: Vec<String>,
    pub manifest: Option<String>,
}

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct Expect {
    pub verdict: String,
    pub step: Option<usize>,
    pub blocker: Option<String>,
    pub message_contains: Option<String>,
    pub strategy: Option<String>,
}

#[derive(Deserialize, Clone)]
pub struct Case {
    #[serde(skip)]
    pub name: String,
    pub description: String,
    #[serde(flatten)]
    pub cluster: ClusterSpec,
    #[serde(default)]
    pub baseline: Option<ClusterSpec>,
    pub change: ChangeSpec,
    pub expect: Expect,
}

/// Every YAML file of `testdata/<dir>/`, parsed, with its file name, in name order.
pub fn yaml_cases<T: serde::de::DeserializeOwned>(dir: &str) -> Vec<(String, T)> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(dir);
    let mut files: Vec<_> = std::fs::read_dir(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|p| {
            let text = std::fs::read_to_string(p).expect("read case");
            let c: T =
                serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            (p.file_stem().unwrap().to_string_lossy().into_owned(), c)
        })
        .collect()
}

/// Every case of `testdata/whatif/`, by file name.
pub fn cases() -> Vec<Case> {
    yaml_cases::<Case>("whatif")
        .into_iter()
        .map(|(name, mut c)| {
            c.name = name;
            c
        })
        .collect()
}

fn node(name: &str, g: &NodeGroup, zone: &str) -> Value {
    let mut labels = json!({
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
        "topology.kubernetes.io/zone": zone,
        "topology.kubernetes.io/region": zone.trim_end_matches(|c: char| c.is_ascii_lowercase()),
        "node.kubernetes.io/instance-type": g.instance_type.clone().unwrap_or("m5.xlarge".into()),
        "eks.amazonaws.com/nodegroup": g.pool,
    });
    for (k, v) in &g.labels {
        labels[k] = v.clone();
    }
    let alloc = json!({"cpu": g.cpu, "memory": g.memory, "pods": g.pods.unwrap_or(110).to_string(), "ephemeral-storage": "100Gi"});
    json!({
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "uid": format!("uid-node-{name}"), "labels": labels, "creationTimestamp": "2026-11-01T00:00:00Z"},
        "spec": {"taints": g.taints},
        "status": {"allocatable": alloc, "capacity": alloc,
            "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": "2026-11-01T00:00:00Z"}],
            "nodeInfo": {"kubeletVersion": "v1.31.4"}}
    })
}

fn container(w: &WorkloadSpec) -> Value {
    let mut requests = serde_json::Map::new();
    if let Some(c) = &w.cpu {
        requests.insert("cpu".into(), json!(c));
    }
    if let Some(m) = &w.memory {
        requests.insert("memory".into(), json!(m));
    }
    let mut limits = serde_json::Map::new();
    if let Some(m) = w.limit_memory.as_ref().or(w.memory.as_ref()) {
        limits.insert("memory".into(), json!(m));
    }
    let env: Vec<Value> = w
        .env
        .iter()
        .map(|(k, v)| json!({"name": k, "value": v}))
        .collect();
    json!({
        "name": "app",
        "image": w.image.clone().unwrap_or_else(|| format!("registry.example.com/{}:1.0.0", w.name)),
        "ports": [{"containerPort": 8080, "protocol": "TCP"}],
        "resources": {"requests": requests, "limits": limits},
        "env": env,
    })
}

fn merge(target: &mut Value, patch: &Value) {
    match (target.as_object_mut(), patch.as_object()) {
        (Some(t), Some(p)) => {
            for (k, v) in p {
                merge(t.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
        _ => *target = patch.clone(),
    }
}

fn labels_of(w: &WorkloadSpec) -> Value {
    match &w.labels {
        Some(l) => Value::Object(l.clone()),
        None => json!({"app": w.name}),
    }
}

fn template(w: &WorkloadSpec) -> Value {
    let mut spec = json!({"containers": [container(w)]});
    if let Some(c) = &w.container {
        merge(&mut spec["containers"][0], c);
    }
    if let Some(p) = &w.pod {
        merge(&mut spec, p);
    }
    let mut metadata = json!({"labels": labels_of(w)});
    if !w.pod_annotations.is_empty() {
        metadata["annotations"] = Value::Object(w.pod_annotations.clone());
    }
    json!({"metadata": metadata, "spec": spec})
}

/// The snapshot of a cluster spec, pods placed by the scheduler engine.
pub fn build(spec: &ClusterSpec, name: &str) -> Snapshot {
    let mut objects: Vec<Value> = Vec::new();
    let mut k = 0;
    for g in &spec.nodes {
        for i in 0..g.count {
            k += 1;
            let zone = if g.zones.is_empty() {
                "eu-west-1a".to_string()
            } else {
                g.zones[i % g.zones.len()].clone()
            };
            let _ = k;
            objects.push(node(&format!("{}-{}", g.pool, i + 1), g, &zone));
        }
    }
    let mut namespaces: Vec<String> = spec
        .workloads
        .iter()
        .map(|w| w.namespace.clone().unwrap_or("shop".into()))
        .collect();
    namespaces.sort();
    namespaces.dedup();
    for ns in &namespaces {
        objects.push(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns, "uid": format!("uid-ns-{ns}"), "labels": {"kubernetes.io/metadata.name": ns}}}));
    }
    objects.extend(spec.objects.iter().cloned());
    let nodes_only = kubectl_intel::fixture::snapshot_of(NOW, objects.clone());
    let mut cluster = Cluster::from_snapshot(&nodes_only);
    let mut start = 0;
    let mut samples: Vec<Value> = Vec::new();
    for w in &spec.workloads {
        let kind = w.kind.clone().unwrap_or("Deployment".into());
        let ns = w.namespace.clone().unwrap_or("shop".into());
        let replicas = w.replicas.unwrap_or(1);
        let tpl = template(w);
        let uid = format!("uid-{}-{ns}-{}", kind.to_lowercase(), w.name);
        let selector = json!({"matchLabels": labels_of(w)});
        let mut obj = json!({
            "apiVersion": if kind == "Job" { "batch/v1" } else { "apps/v1" }, "kind": kind,
            "metadata": {"name": w.name, "namespace": ns, "uid": uid, "generation": 1, "annotations": w.annotations,
                "creationTimestamp": "2026-11-10T00:00:00Z"},
            "spec": {"selector": selector, "template": tpl},
        });
        match kind.as_str() {
            "Deployment" => {
                obj["spec"]["replicas"] = json!(replicas);
                if let Some(s) = &w.strategy {
                    obj["spec"]["strategy"] = s.clone();
                }
                obj["status"] = json!({"replicas": replicas, "readyReplicas": replicas, "availableReplicas": replicas, "updatedReplicas": replicas, "observedGeneration": 1});
            }
            "StatefulSet" => {
                obj["spec"]["replicas"] = json!(replicas);
                obj["spec"]["serviceName"] = json!(w.name);
                if let Some(s) = &w.update_strategy {
                    obj["spec"]["updateStrategy"] = s.clone();
                }
                if let Some(size) = &w.volume {
                    obj["spec"]["volumeClaimTemplates"] = json!([{"metadata": {"name": "data"},
                        "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "gp3", "resources": {"requests": {"storage": size}}}}]);
                }
                obj["status"] = json!({"replicas": replicas, "readyReplicas": replicas, "currentReplicas": replicas});
            }
            "DaemonSet" => {
                if let Some(s) = &w.update_strategy {
                    obj["spec"]["updateStrategy"] = s.clone();
                }
            }
            _ => {}
        }
        objects.push(obj.clone());
        let (owner_kind, owner_name, owner_uid) = if kind == "Deployment" {
            let rs = format!("{}-{HASH}", w.name);
            let rs_uid = format!("uid-rs-{ns}-{rs}");
            let mut rs_tpl = tpl.clone();
            rs_tpl["metadata"]["labels"]["pod-template-hash"] = json!(HASH);
            objects.push(json!({
                "apiVersion": "apps/v1", "kind": "ReplicaSet",
                "metadata": {"name": rs, "namespace": ns, "uid": rs_uid, "creationTimestamp": "2026-11-10T00:00:00Z",
                    "annotations": {"deployment.kubernetes.io/revision": w.revision.unwrap_or(1).to_string()},
                    "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": w.name, "uid": uid, "controller": true}]},
                "spec": {"replicas": replicas, "selector": {"matchLabels": rs_tpl["metadata"]["labels"].clone()}, "template": rs_tpl},
                "status": {"replicas": replicas, "readyReplicas": replicas, "availableReplicas": replicas}
            }));
            ("ReplicaSet".to_string(), rs, rs_uid)
        } else {
            (kind.clone(), w.name.clone(), uid.clone())
        };
        let pod_names: Vec<(String, Option<String>)> = match kind.as_str() {
            "StatefulSet" => (0..replicas)
                .map(|i| (format!("{}-{i}", w.name), None))
                .collect(),
            "DaemonSet" => cluster
                .nodes
                .iter()
                .enumerate()
                .map(|(i, n)| (format!("{}-{:05}", w.name, i), Some(n.name.clone())))
                .collect(),
            _ => (0..replicas)
                .map(|i| (format!("{owner_name}-{}", suffix(i as usize)), None))
                .collect(),
        };
        for (pod_name, pinned) in pod_names {
            let mut labels = tpl["metadata"]["labels"].clone();
            if kind == "Deployment" {
                labels["pod-template-hash"] = json!(HASH);
            }
            let mut pod_spec = tpl["spec"].clone();
            if let Some(n) = &pinned {
                pod_spec["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"] = json!({
                    "nodeSelectorTerms": [{"matchFields": [{"key": "metadata.name", "operator": "In", "values": [n]}]}]});
                pod_spec["tolerations"] = json!([{"operator": "Exists"}]);
            }
            let mut pod = json!({
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": pod_name, "namespace": ns, "uid": format!("uid-pod-{ns}-{pod_name}"), "labels": labels,
                    "creationTimestamp": "2026-11-10T00:01:00Z",
                    "ownerReferences": [{"apiVersion": "apps/v1", "kind": owner_kind, "name": owner_name, "uid": owner_uid, "controller": true}]},
                "spec": pod_spec,
                "status": {"phase": "Pending"}
            });
            if let Some(a) = tpl["metadata"].get("annotations") {
                pod["metadata"]["annotations"] = a.clone();
            }
            let info = PodInfo::from_json(&pod.to_string()).expect("a pod");
            let (placement, next) = place(&cluster, &info.unbound(), start);
            start = next;
            if let Some(node) = placement.node {
                let i = cluster.add_pod(info.unbound());
                cluster.bind(i, &node);
                pod["spec"]["nodeName"] = json!(node);
                pod["status"] = json!({"phase": "Running", "startTime": "2026-11-10T00:01:05Z",
                    "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": "2026-11-10T00:01:30Z"}],
                    "containerStatuses": [{"name": "app", "ready": true, "restartCount": 0, "image": tpl["spec"]["containers"][0]["image"].clone(), "imageID": "", "started": true, "state": {"running": {"startedAt": "2026-11-10T00:01:10Z"}}}]});
                if kind == "StatefulSet" && w.volume.is_some() {
                    let zone = cluster
                        .node(&node)
                        .and_then(|n| n.labels.get("topology.kubernetes.io/zone").cloned())
                        .unwrap_or_default();
                    let claim = format!("data-{pod_name}");
                    let pv = format!("pvc-{ns}-{claim}");
                    objects.push(json!({"apiVersion": "v1", "kind": "PersistentVolume",
                        "metadata": {"name": pv, "uid": format!("uid-{pv}")},
                        "spec": {"capacity": {"storage": w.volume}, "accessModes": ["ReadWriteOnce"], "storageClassName": "gp3",
                            "claimRef": {"namespace": ns, "name": claim},
                            "csi": {"driver": "ebs.csi.aws.com", "volumeHandle": format!("vol-{pod_name}")},
                            "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [{"key": "topology.kubernetes.io/zone", "operator": "In", "values": [zone]}]}]}}},
                        "status": {"phase": "Bound"}}));
                    objects.push(json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                        "metadata": {"name": claim, "namespace": ns, "uid": format!("uid-pvc-{claim}")},
                        "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "gp3", "volumeName": pv, "resources": {"requests": {"storage": w.volume}}},
                        "status": {"phase": "Bound"}}));
                    pod["spec"]["volumes"] =
                        json!([{"name": "data", "persistentVolumeClaim": {"claimName": claim}}]);
                }
            } else {
                cluster.add_pod(info.unbound());
            }
            if let Some(u) = &w.usage {
                samples.push(json!({"metadata": {"name": pod_name, "namespace": ns},
                    "containers": [{"name": "app", "usage": {"cpu": u.cpu.clone().unwrap_or("100m".into()), "memory": u.memory}}]}));
            }
            objects.push(pod);
        }
        if w.service {
            objects.push(json!({"apiVersion": "v1", "kind": "Service",
                "metadata": {"name": w.name, "namespace": ns, "uid": format!("uid-svc-{ns}-{}", w.name)},
                "spec": {"selector": labels_of(w), "clusterIP": format!("10.96.0.{}", 10 + objects.len() % 200), "ports": [{"port": 8080, "targetPort": 8080, "protocol": "TCP"}]}}));
        }
    }
    objects.push(json!({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
        "metadata": {"name": "gp3"}, "provisioner": "ebs.csi.aws.com", "volumeBindingMode": "WaitForFirstConsumer"}));
    let mut snap = kubectl_intel::fixture::snapshot_of(NOW, objects);
    snap.manifest.cluster.name = name.to_string();
    if !samples.is_empty() {
        for k in 0..6 {
            let t = format!("2026-11-20T13:{:02}:00Z", 30 + k * 5);
            let list = json!({"kind": "PodMetricsList", "apiVersion": "metrics.k8s.io/v1beta1", "items": samples});
            snap.metrics.push(MetricsSample {
                time: t,
                nodes: None,
                pods: Some(serde_json::value::to_raw_value(&list).expect("raw")),
            });
        }
    }
    snap
}

fn suffix(i: usize) -> String {
    const A: &[u8] = b"bcdfghjklmnpqrstvwxz";
    let mut n = i + 7 * 20 * 20;
    let mut s = String::new();
    for _ in 0..5 {
        s.push(A[n % A.len()] as char);
        n /= A.len();
    }
    s
}

/// A Prometheus range-query answer (`matrix`) for container series of metric `name`:
/// per (namespace, pod) the values of container `app`, one a minute from `start`.
pub fn prometheus_matrix(
    name: &str,
    start: i64,
    series: Vec<(String, String, Vec<f64>)>,
) -> Box<serde_json::value::RawValue> {
    let result: Vec<Value> = series
        .into_iter()
        .map(|(ns, pod, values)| {
            json!({"metric": {"__name__": name, "namespace": ns, "pod": pod, "container": "app"},
                "values": values.iter().enumerate()
                    .map(|(k, v)| json!([start + 60 * k as i64, v.to_string()]))
                    .collect::<Vec<_>>()})
        })
        .collect();
    serde_json::value::to_raw_value(
        &json!({"status": "success", "data": {"resultType": "matrix", "result": result}}),
    )
    .unwrap()
}

/// Marks the pods `killed` picks as OOM-killed at their last termination.
pub fn mark_oom_killed(snap: &mut Snapshot, killed: impl Fn(&str) -> bool) {
    use kubectl_intel::model::{Object, ResourceList};
    let list = snap.list("", "pods").unwrap();
    let rtype = list.rtype.clone();
    let items: Vec<Object> = list
        .items
        .iter()
        .map(|o| {
            let mut v = o.value();
            if killed(&o.meta.name) {
                v["status"]["containerStatuses"][0]["lastState"] =
                    json!({"terminated": {"reason": "OOMKilled", "exitCode": 137}});
            }
            Object::from_value(&v).unwrap()
        })
        .collect();
    snap.insert_list(ResourceList::new(rtype, items));
}
