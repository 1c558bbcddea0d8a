//! What a change names, found in the snapshot: workloads (with their pods and current pod
//! template), nodes and pools. A reference that names nothing, or more than one thing,
//! is an error that says what exists instead.

use std::collections::BTreeMap;

use serde_json::Value;

use intel_model::Snapshot;

use super::change::{ChangeError, WorkloadRef, workload_kind, workload_readings};

/// A workload before and after the change.
#[derive(Debug, Clone)]
pub struct Workload {
    pub kind: String,
    pub namespace: String,
    pub name: String,
    /// The object as the snapshot has it (`None` for one the change creates).
    pub before: Option<Value>,
    /// The object after every edit.
    pub after: Value,
    /// Pods it has now, by name (from its ReplicaSets for a Deployment), with whether each
    /// is ready.
    pub pods: Vec<(String, bool)>,
    /// Predicted not to become ready (the new version's memory measured over its limit),
    /// with why.
    pub crash: Option<String>,
    /// The `--patch` references that named it, to match a patch to its command.
    pub patched_as: Vec<String>,
}

impl Workload {
    pub fn label(&self) -> String {
        format!("{} {}/{}", self.kind, self.namespace, self.name)
    }

    pub fn replicas_before(&self) -> i32 {
        self.before.as_ref().map_or(0, replicas)
    }

    pub fn replicas_after(&self) -> i32 {
        replicas(&self.after)
    }

    /// The pod template changed: the controller rolls out new pods.
    pub fn template_changed(&self) -> bool {
        match &self.before {
            None => true,
            Some(b) => b.pointer("/spec/template") != self.after.pointer("/spec/template"),
        }
    }

    pub fn container_names(&self) -> Vec<String> {
        self.after
            .pointer("/spec/template/spec/containers")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|c| c.get("name").and_then(Value::as_str).map(str::to_string))
            .collect()
    }
}

/// `spec.replicas`, defaulted to 1 as the API server does (DaemonSets have none: 0).
pub fn replicas(obj: &Value) -> i32 {
    if obj.get("kind").and_then(Value::as_str) == Some("DaemonSet") {
        return 0;
    }
    obj.pointer("/spec/replicas")
        .and_then(Value::as_i64)
        .map_or(1, |n| n as i32)
}

fn pod_ready(pod: &Value) -> bool {
    let running = pod.pointer("/status/phase").and_then(Value::as_str) == Some("Running");
    let ready = pod
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .any(|c| {
            c.get("type").and_then(Value::as_str) == Some("Ready")
                && c.get("status").and_then(Value::as_str) == Some("True")
        });
    running && ready && pod.pointer("/metadata/deletionTimestamp").is_none()
}

/// The workloads of the snapshot, by (kind, namespace, name).
pub struct Catalog<'s> {
    snap: &'s Snapshot,
    workloads: BTreeMap<(String, String, String), &'s intel_model::Object>,
}

const WORKLOAD_RESOURCES: &[(&str, &str, &str)] = &[
    ("apps", "deployments", "Deployment"),
    ("apps", "statefulsets", "StatefulSet"),
    ("apps", "daemonsets", "DaemonSet"),
    ("batch", "jobs", "Job"),
];

impl<'s> Catalog<'s> {
    pub fn new(snap: &'s Snapshot) -> Catalog<'s> {
        let mut workloads = BTreeMap::new();
        for (group, resource, kind) in WORKLOAD_RESOURCES {
            for o in snap.items(group, resource) {
                workloads.insert(
                    (
                        kind.to_string(),
                        o.meta.namespace.clone(),
                        o.meta.name.clone(),
                    ),
                    o,
                );
            }
        }
        Catalog { snap, workloads }
    }

    /// Resolves a flag's workload reference; the one reading that names an existing
    /// workload (and container, when one is named) wins.
    pub fn resolve(
        &self,
        flag: &str,
        text: &str,
        default_ns: Option<&str>,
    ) -> Result<(String, String, String, Option<String>), ChangeError> {
        let readings = workload_readings(text, default_ns);
        if readings.is_empty() {
            return Err(ChangeError(format!(
                "{flag} {text:?}: not a workload reference (KIND/NAME, NAMESPACE/KIND/NAME or NAME)"
            )));
        }
        let mut found: Vec<(String, String, String, Option<String>)> = Vec::new();
        for r in &readings {
            for key in self.matches(r) {
                if let Some(c) = &r.container {
                    let has = self
                        .workload(&key.0, &key.1, &key.2)
                        .unwrap_or_default()
                        .pointer("/spec/template/spec/containers")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .any(|x| x.get("name").and_then(Value::as_str) == Some(c));
                    if !has {
                        continue;
                    }
                }
                let hit = (key.0, key.1, key.2, r.container.clone());
                if !found.contains(&hit) {
                    found.push(hit);
                }
            }
            if !found.is_empty() {
                break;
            }
        }
        match found.len() {
            1 => Ok(found.remove(0)),
            0 => Err(ChangeError(format!(
                "{flag} {text:?}: names no Deployment, StatefulSet or DaemonSet in this cluster{}",
                self.near(&readings[0])
            ))),
            _ => Err(ChangeError(format!(
                "{flag} {text:?}: names more than one workload ({}); say which with NAMESPACE/KIND/NAME",
                found
                    .iter()
                    .map(|(k, ns, n, _)| format!("{ns}/{}/{n}", k.to_ascii_lowercase()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }

    fn matches(&self, r: &WorkloadRef) -> Vec<(String, String, String)> {
        self.workloads
            .keys()
            .filter(|(k, ns, n)| {
                n == &r.name
                    && r.namespace.as_ref().is_none_or(|x| x == ns)
                    && r.kind.as_ref().is_none_or(|x| x == k)
                    && k != "Job"
            })
            .cloned()
            .collect()
    }

    /// Workloads of the same name elsewhere, to say what exists instead.
    fn near(&self, r: &WorkloadRef) -> String {
        let same: Vec<String> = self
            .workloads
            .keys()
            .filter(|(_, _, n)| n == &r.name)
            .map(|(k, ns, n)| format!("{ns}/{}/{n}", k.to_ascii_lowercase()))
            .collect();
        if same.is_empty() {
            String::new()
        } else {
            format!(" (found: {})", same.join(", "))
        }
    }

    /// Pods a workload has now, by name, with readiness.
    pub fn pods_of(&self, kind: &str, namespace: &str, name: &str) -> Vec<(String, bool)> {
        let owners: Vec<String> = if kind == "Deployment" {
            self.snap
                .items("apps", "replicasets")
                .iter()
                .filter(|rs| rs.meta.namespace == namespace)
                .filter(|rs| {
                    rs.controller()
                        .is_some_and(|c| c.kind == "Deployment" && c.name == name)
                })
                .map(|rs| rs.meta.name.clone())
                .collect()
        } else {
            vec![name.to_string()]
        };
        let owner_kind = match kind {
            "Deployment" => "ReplicaSet",
            k => k,
        };
        let mut out: Vec<(String, bool)> = self
            .snap
            .pods()
            .iter()
            .filter(|p| p.meta.namespace == namespace)
            .filter_map(|p| {
                let c = p.controller()?;
                (c.kind == owner_kind && owners.contains(&c.name)).then(|| p.value())
            })
            .filter(|v| {
                !matches!(
                    v.pointer("/status/phase").and_then(Value::as_str),
                    Some("Succeeded" | "Failed")
                )
            })
            .map(|v| {
                (
                    v.pointer("/metadata/name")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string(),
                    pod_ready(&v),
                )
            })
            .collect();
        out.sort();
        out
    }

    /// Workloads whose pod template runs `image`, with the container that does: a canary
    /// of the new version in the same cluster. Found by the image's quoted text first, so
    /// only candidates are parsed.
    pub fn running(&self, image: &str) -> Vec<(String, String, String, String)> {
        let needle = format!("\"{image}\"");
        let mut out = Vec::new();
        for ((kind, ns, name), o) in &self.workloads {
            if kind == "Job" || !o.json().contains(&needle) {
                continue;
            }
            let v = o.value();
            for c in v
                .pointer("/spec/template/spec/containers")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if c.get("image").and_then(Value::as_str) == Some(image) {
                    if let Some(cn) = c.get("name").and_then(Value::as_str) {
                        out.push((kind.clone(), ns.clone(), name.clone(), cn.to_string()));
                    }
                }
            }
        }
        out
    }

    /// A workload's object, with its `kind` (lists from the API omit each item's).
    pub fn workload(&self, kind: &str, namespace: &str, name: &str) -> Option<Value> {
        let o = self
            .workloads
            .get(&(kind.to_string(), namespace.to_string(), name.to_string()))?;
        let mut v = o.value();
        v["kind"] = Value::String(kind.to_string());
        Some(v)
    }
}

/// A `--delete` target: `KIND/NAME` or `NAMESPACE/KIND/NAME` (or `KIND/NAMESPACE/NAME`).
pub fn delete_target(
    text: &str,
    default_ns: Option<&str>,
) -> Option<(String, Option<String>, String)> {
    let parts: Vec<&str> = text.split('/').collect();
    let kind_of = |w: &str| -> Option<String> {
        if let Some(k) = workload_kind(w) {
            return Some(k.to_string());
        }
        match w.to_ascii_lowercase().as_str() {
            "node" | "nodes" | "no" => Some("Node".into()),
            "service" | "services" | "svc" => Some("Service".into()),
            "poddisruptionbudget" | "poddisruptionbudgets" | "pdb" => {
                Some("PodDisruptionBudget".into())
            }
            "resourcequota" | "resourcequotas" | "quota" => Some("ResourceQuota".into()),
            "horizontalpodautoscaler" | "hpa" => Some("HorizontalPodAutoscaler".into()),
            _ => None,
        }
    };
    match parts.as_slice() {
        [k, n] => Some((kind_of(k)?, default_ns.map(str::to_string), n.to_string())),
        [ns, k, n] if kind_of(k).is_some() => {
            Some((kind_of(k)?, Some(ns.to_string()), n.to_string()))
        }
        [k, ns, n] => Some((kind_of(k)?, Some(ns.to_string()), n.to_string())),
        _ => None,
    }
}
