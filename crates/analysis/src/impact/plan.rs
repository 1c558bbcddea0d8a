//! A change resolved against the snapshot: which workloads change and how (their objects
//! before and after every edit), which nodes, and which objects gate admission. Every
//! name the change gives is checked here, so a typo is an error that says what exists,
//! never an empty simulation.

use std::collections::BTreeMap;

use serde_json::Value;

use intel_model::Snapshot;

use super::change::{Change, ChangeError, Edit, ResourceEdit};
use super::target::{Catalog, Workload, delete_target};

#[derive(Debug, Clone, PartialEq)]
pub enum NodeOp {
    Cordon(String),
    Drain(String),
    Delete(String),
    ScalePool(String, usize),
}

/// HorizontalPodAutoscaler bounds on a workload.
#[derive(Debug, Clone, PartialEq)]
pub struct Bounds {
    pub name: String,
    pub min: i32,
    pub max: i32,
}

#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub nodes: Vec<NodeOp>,
    pub quotas: Vec<Value>,
    pub deleted_quotas: Vec<(String, String)>,
    pub limit_ranges: Vec<Value>,
    pub pdbs: Vec<Value>,
    pub deleted_pdbs: Vec<(String, String)>,
    /// Workloads the change touches, in the order first named.
    pub workloads: Vec<Workload>,
    pub deleted: Vec<Workload>,
    /// HPA bounds by workload (kind, namespace, name), the change's or the cluster's.
    pub hpas: BTreeMap<(String, String, String), Bounds>,
    /// Workloads a manifest changes: their command is applying it, not a diff.
    pub declared: std::collections::BTreeSet<(String, String, String)>,
    /// What the change holds that schedules nothing (a ConfigMap, a Service), said plainly.
    pub notes: Vec<String>,
}

/// Sets `path` in `v`, making an object of whatever stands in the way: a manifest or a
/// patch can put a string where an object belongs, and the simulation must not panic on
/// it (`validate` refuses such a workload first).
pub fn set_path(v: &mut Value, path: &[&str], val: Value) {
    let mut cur = v;
    for key in path {
        if !cur.is_object() {
            *cur = Value::Object(Default::default());
        }
        let Value::Object(m) = cur else {
            return;
        };
        cur = m.entry(key.to_string()).or_insert(Value::Null);
    }
    *cur = val;
}

/// The highest replica count simulated: more than any cluster holds, and a bound on the
/// pods a simulation creates.
pub const MAX_REPLICAS: i64 = 100_000;

/// RFC 7386: objects merge, `null` deletes, anything else replaces.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    match (target.as_object_mut(), patch.as_object()) {
        (Some(t), Some(p)) => {
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else {
                    merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
        (_, Some(p)) => {
            *target = Value::Object(Default::default());
            merge_patch(target, &Value::Object(p.clone()));
        }
        _ => *target = patch.clone(),
    }
}

fn image_repo(image: &str) -> &str {
    let no_digest = image.split('@').next().unwrap_or(image);
    match no_digest.rfind(':') {
        Some(i) if !no_digest[i..].contains('/') => &no_digest[..i],
        _ => no_digest,
    }
}

fn containers_mut(obj: &mut Value) -> Vec<&mut Value> {
    obj.pointer_mut("/spec/template/spec/containers")
        .and_then(Value::as_array_mut)
        .map(|a| a.iter_mut().collect())
        .unwrap_or_default()
}

fn set_image(
    w: &mut Workload,
    container: Option<&str>,
    image: &str,
    flag: &str,
) -> Result<(), ChangeError> {
    let names = w.container_names();
    let pick = match container {
        Some(c) => c.to_string(),
        None if names.len() == 1 => names[0].clone(),
        None => {
            // Several containers: the one running the same repository.
            let repo = image_repo(image);
            let same: Vec<String> = w
                .after
                .pointer("/spec/template/spec/containers")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter(|c| c.get("image").and_then(Value::as_str).map(image_repo) == Some(repo))
                .filter_map(|c| c.get("name").and_then(Value::as_str).map(str::to_string))
                .collect();
            if same.len() != 1 {
                return Err(ChangeError(format!(
                    "{flag}: {} has containers {}; name one ({}/CONTAINER=IMAGE)",
                    w.label(),
                    names.join(", "),
                    w.name
                )));
            }
            same[0].clone()
        }
    };
    for c in containers_mut(&mut w.after) {
        if c.get("name").and_then(Value::as_str) == Some(pick.as_str()) {
            set_path(c, &["image"], Value::String(image.to_string()));
        }
    }
    Ok(())
}

fn set_resources(
    w: &mut Workload,
    container: Option<&str>,
    r: &ResourceEdit,
    flag: &str,
) -> Result<(), ChangeError> {
    let names = w.container_names();
    if container.is_none() && names.len() > 1 {
        return Err(ChangeError(format!(
            "{flag}: {} has containers {}; name one (WORKLOAD/CONTAINER=…)",
            w.label(),
            names.join(", ")
        )));
    }
    for c in containers_mut(&mut w.after) {
        if container.is_some_and(|x| c.get("name").and_then(Value::as_str) != Some(x)) {
            continue;
        }
        for (side, list) in [("requests", &r.requests), ("limits", &r.limits)] {
            for (k, q) in list {
                set_path(c, &["resources", side, k], Value::String(q.clone()));
            }
        }
    }
    Ok(())
}

/// The API server's validation of a changed pod template that the simulation depends on:
/// a request above its limit is refused (`ValidateResourceRequirements`), in its words.
fn validate(w: &Workload) -> Result<(), ChangeError> {
    let bad = |field: &str, want: &str| {
        Err(ChangeError(format!(
            "{} {}/{}: {field} must be {want} (the API server would refuse it)",
            w.kind, w.namespace, w.name
        )))
    };
    if let Some(r) = w.after.pointer("/spec/replicas") {
        match r.as_i64() {
            Some(n) if (0..=MAX_REPLICAS).contains(&n) => {}
            Some(n) if n < 0 => return bad("spec.replicas", "0 or more"),
            Some(_) => {
                return bad(
                    "spec.replicas",
                    &format!("at most {MAX_REPLICAS} to be simulated"),
                );
            }
            None => return bad("spec.replicas", "an integer"),
        }
    }
    for (path, field) in [
        ("/spec", "spec"),
        ("/spec/template", "spec.template"),
        ("/spec/template/spec", "spec.template.spec"),
    ] {
        if w.after.pointer(path).is_some_and(|v| !v.is_object()) {
            return bad(field, "an object");
        }
    }
    for (path, field, object) in [
        (
            "/spec/template/spec/affinity",
            "spec.template.spec.affinity",
            true,
        ),
        (
            "/spec/template/spec/nodeSelector",
            "spec.template.spec.nodeSelector",
            true,
        ),
        (
            "/spec/template/spec/tolerations",
            "spec.template.spec.tolerations",
            false,
        ),
        (
            "/spec/template/spec/volumes",
            "spec.template.spec.volumes",
            false,
        ),
        (
            "/spec/template/metadata/labels",
            "spec.template.metadata.labels",
            true,
        ),
    ] {
        if let Some(v) = w.after.pointer(path).filter(|v| !v.is_null()) {
            if object && !v.is_object() {
                return bad(field, "an object");
            }
            if !object && !v.is_array() {
                return bad(field, "a list");
            }
        }
    }
    match w
        .after
        .pointer("/spec/template/spec/containers")
        .and_then(Value::as_array)
    {
        Some(list)
            if !list.is_empty()
                && list.iter().all(|c| {
                    c.is_object()
                        && c.get("resources")
                            .is_none_or(|r| r.is_object() || r.is_null())
                }) => {}
        _ if w.after.is_null() => {}
        _ => {
            return bad(
                "spec.template.spec.containers",
                "a list of containers (objects, resources an object)",
            );
        }
    }
    let containers = w
        .after
        .pointer("/spec/template/spec/containers")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for (i, c) in containers.iter().enumerate() {
        let list = |side: &str| {
            c.pointer(&format!("/resources/{side}"))
                .and_then(Value::as_object)
                .cloned()
        };
        let (Some(req), Some(lim)) = (list("requests"), list("limits")) else {
            continue;
        };
        for (name, r) in &req {
            let (Some(rq), Some(lq)) = (r.as_str(), lim.get(name).and_then(Value::as_str)) else {
                continue;
            };
            let (Some(rv), Some(lv)) = (
                intel_model::quantity::milli_value(rq),
                intel_model::quantity::milli_value(lq),
            ) else {
                continue;
            };
            if rv > lv {
                return Err(ChangeError(format!(
                    "the API server would refuse this change: {}.{} \"{}\" is invalid: spec.template.spec.containers[{i}].resources.requests: Invalid value: \"{rq}\": must be less than or equal to {name} limit of {lq} (set the limit too, e.g. --set-resources {}/{}/{}/{}={name}={rq}/{name}={rq})",
                    w.kind,
                    if w.kind == "Job" { "batch" } else { "apps" },
                    w.name,
                    w.namespace,
                    w.kind.to_ascii_lowercase(),
                    w.name,
                    c.get("name").and_then(Value::as_str).unwrap_or("app"),
                )));
            }
        }
    }
    Ok(())
}

fn meta<'a>(v: &'a Value, field: &str) -> Option<&'a str> {
    v.pointer(&format!("/metadata/{field}"))
        .and_then(Value::as_str)
}

impl Plan {
    fn workload(&mut self, catalog: &Catalog, kind: &str, ns: &str, name: &str) -> &mut Workload {
        let at = self
            .workloads
            .iter()
            .position(|w| w.kind == kind && w.namespace == ns && w.name == name);
        let at = match at {
            Some(i) => i,
            None => {
                let before = catalog.workload(kind, ns, name);
                let after = before.clone().unwrap_or_default();
                self.workloads.push(Workload {
                    kind: kind.into(),
                    namespace: ns.into(),
                    name: name.into(),
                    pods: catalog.pods_of(kind, ns, name),
                    before,
                    after,
                    crash: None,
                    patched_as: Vec::new(),
                });
                self.workloads.len() - 1
            }
        };
        &mut self.workloads[at]
    }

    /// Resolves every edit of `change` against the snapshot.
    pub fn resolve(snap: &Snapshot, change: &Change) -> Result<Plan, ChangeError> {
        let catalog = Catalog::new(snap);
        let ns = change.namespace.as_deref();
        let node_exists = |n: &str| snap.nodes().iter().any(|o| o.meta.name == n);
        let mut plan = Plan::default();
        for edit in change.ordered() {
            match edit {
                Edit::SetImage { target, image } => {
                    let (k, n, name, c) = catalog.resolve("--set-image", target, ns)?;
                    let w = plan.workload(&catalog, &k, &n, &name);
                    set_image(w, c.as_deref(), image, "--set-image")?;
                }
                Edit::Replicas { target, replicas } => {
                    let (k, n, name, _) = catalog.resolve("--replicas", target, ns)?;
                    if k == "DaemonSet" {
                        return Err(ChangeError(format!(
                            "--replicas {target}: a DaemonSet runs one pod per node; it has no replica count"
                        )));
                    }
                    let w = plan.workload(&catalog, &k, &n, &name);
                    set_path(&mut w.after, &["spec", "replicas"], Value::from(*replicas));
                }
                Edit::SetResources { target, resources } => {
                    let (k, n, name, c) = catalog.resolve("--set-resources", target, ns)?;
                    let w = plan.workload(&catalog, &k, &n, &name);
                    set_resources(w, c.as_deref(), resources, "--set-resources")?;
                }
                Edit::Patch { target, patch } => {
                    let (k, n, name, _) = catalog.resolve("--patch", target, ns)?;
                    let w = plan.workload(&catalog, &k, &n, &name);
                    merge_patch(&mut w.after, patch);
                    w.patched_as.push(target.clone());
                }
                Edit::ScaleNodes { pool, nodes } => {
                    plan.nodes.push(NodeOp::ScalePool(pool.clone(), *nodes))
                }
                Edit::Cordon { node } | Edit::Drain { node } => {
                    if !node_exists(node) {
                        return Err(ChangeError(format!(
                            "--{} {node:?}: no such node in this cluster ({} nodes)",
                            if matches!(edit, Edit::Cordon { .. }) {
                                "cordon"
                            } else {
                                "drain"
                            },
                            snap.nodes().len()
                        )));
                    }
                    plan.nodes.push(match edit {
                        Edit::Cordon { .. } => NodeOp::Cordon(node.clone()),
                        _ => NodeOp::Drain(node.clone()),
                    });
                }
                Edit::Delete { target } => plan.delete(snap, &catalog, target, ns)?,
                Edit::Apply { object } => plan.apply(&catalog, object, ns)?,
            }
        }
        for w in &plan.workloads {
            validate(w)?;
        }
        // The cluster's own autoscalers on the workloads that change.
        for hpa in snap.items("autoscaling", "horizontalpodautoscalers") {
            let v = hpa.value();
            plan.add_hpa(&v, &hpa.meta.namespace, false);
        }
        Ok(plan)
    }

    fn add_hpa(&mut self, v: &Value, ns: &str, from_change: bool) {
        let Some(kind) = v
            .pointer("/spec/scaleTargetRef/kind")
            .and_then(Value::as_str)
        else {
            return;
        };
        let Some(target) = v
            .pointer("/spec/scaleTargetRef/name")
            .and_then(Value::as_str)
        else {
            return;
        };
        let key = (kind.to_string(), ns.to_string(), target.to_string());
        if !from_change && self.hpas.contains_key(&key) {
            return;
        }
        let max = v
            .pointer("/spec/maxReplicas")
            .and_then(Value::as_i64)
            .unwrap_or(0) as i32;
        let min = v
            .pointer("/spec/minReplicas")
            .and_then(Value::as_i64)
            .unwrap_or(1) as i32;
        self.hpas.insert(
            key,
            Bounds {
                name: meta(v, "name").unwrap_or_default().to_string(),
                min,
                max,
            },
        );
    }

    fn delete(
        &mut self,
        snap: &Snapshot,
        catalog: &Catalog,
        target: &str,
        ns: Option<&str>,
    ) -> Result<(), ChangeError> {
        let Some((kind, tns, name)) = delete_target(target, ns) else {
            return Err(ChangeError(format!(
                "--delete {target:?}: expected KIND/NAME or NAMESPACE/KIND/NAME with a kind of deployment, statefulset, daemonset, node, service, pdb, quota or hpa"
            )));
        };
        match kind.as_str() {
            "Node" => {
                if !snap.nodes().iter().any(|o| o.meta.name == name) {
                    return Err(ChangeError(format!("--delete {target:?}: no such node")));
                }
                self.nodes.push(NodeOp::Delete(name));
            }
            "Deployment" | "StatefulSet" | "DaemonSet" => {
                let text = match &tns {
                    Some(n) => format!("{n}/{}/{name}", kind.to_ascii_lowercase()),
                    None => format!("{}/{name}", kind.to_ascii_lowercase()),
                };
                let (k, n, name, _) = catalog.resolve("--delete", &text, None)?;
                let w = Workload {
                    pods: catalog.pods_of(&k, &n, &name),
                    before: catalog.workload(&k, &n, &name),
                    after: Value::Null,
                    kind: k,
                    namespace: n,
                    name,
                    crash: None,
                    patched_as: Vec::new(),
                };
                self.deleted.push(w);
            }
            other => {
                let (group, resource) = match other {
                    "Service" => ("", "services"),
                    "PodDisruptionBudget" => ("policy", "poddisruptionbudgets"),
                    "ResourceQuota" => ("", "resourcequotas"),
                    _ => ("autoscaling", "horizontalpodautoscalers"),
                };
                let found: Vec<&intel_model::Object> = snap
                    .items(group, resource)
                    .iter()
                    .filter(|o| {
                        o.meta.name == name && tns.as_ref().is_none_or(|n| *n == o.meta.namespace)
                    })
                    .collect();
                let [o] = found.as_slice() else {
                    return Err(ChangeError(format!(
                        "--delete {target:?}: {} {other} of that name{}",
                        if found.is_empty() {
                            "no"
                        } else {
                            "more than one"
                        },
                        if found.is_empty() {
                            ""
                        } else {
                            "; say the namespace (NAMESPACE/KIND/NAME)"
                        }
                    )));
                };
                let key = (o.meta.namespace.clone(), o.meta.name.clone());
                match other {
                    "PodDisruptionBudget" => self.deleted_pdbs.push(key),
                    "ResourceQuota" => self.deleted_quotas.push(key),
                    "HorizontalPodAutoscaler" => self.notes.push(format!(
                        "HorizontalPodAutoscaler {}/{} deleted: its workload keeps the replica count it has",
                        key.0, key.1
                    )),
                    _ => self.notes.push(format!(
                        "Service {}/{} deleted: its clients lose the address; nothing is rescheduled",
                        key.0, key.1
                    )),
                }
            }
        }
        Ok(())
    }

    fn apply(
        &mut self,
        catalog: &Catalog,
        object: &Value,
        ns: Option<&str>,
    ) -> Result<(), ChangeError> {
        let kind = object
            .get("kind")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let name = meta(object, "name").unwrap_or_default();
        let ns = meta(object, "namespace")
            .or(ns)
            .unwrap_or("default")
            .to_string();
        let mut obj = object.clone();
        set_path(
            &mut obj,
            &["metadata", "namespace"],
            Value::String(ns.clone()),
        );
        match kind {
            "Deployment" | "StatefulSet" | "DaemonSet" | "Job" => {
                self.declared.insert((kind.to_string(), ns.clone(), name.to_string()));
                let w = self.workload(catalog, kind, &ns, name);
                // `kubectl apply` of a manifest without replicas leaves the count as it is
                // (an autoscaler owns it).
                let keep = w.before.as_ref().and_then(|b| b.pointer("/spec/replicas").cloned());
                let mut after = obj;
                if after.pointer("/spec/replicas").is_none() {
                    if let Some(r) = keep {
                        set_path(&mut after, &["spec", "replicas"], r);
                    }
                }
                w.after = after;
            }
            "HorizontalPodAutoscaler" => self.add_hpa(&obj, &ns, true),
            "PodDisruptionBudget" => self.pdbs.push(obj),
            "ResourceQuota" => self.quotas.push(obj),
            "LimitRange" => self.limit_ranges.push(obj),
            "ConfigMap" => self.notes.push(format!(
                "ConfigMap {ns}/{name}: changing it restarts no pod; pods read it when they start (or the kubelet refreshes a mounted file), so its effect shows at the next rollout"
            )),
            _ => self.notes.push(format!(
                "{kind} {ns}/{name}: schedules nothing; its effect on clients is not simulated"
            )),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_patch_follows_rfc_7386() {
        let mut t = json!({"a": {"b": 1, "c": [1, 2]}, "d": 1});
        merge_patch(&mut t, &json!({"a": {"b": null, "c": [3]}, "e": {"f": 1}}));
        assert_eq!(t, json!({"a": {"c": [3]}, "d": 1, "e": {"f": 1}}));
    }

    #[test]
    fn image_repositories_ignore_tags_and_digests_not_ports() {
        assert_eq!(image_repo("reg:5000/web:v2"), "reg:5000/web");
        assert_eq!(image_repo("reg:5000/web"), "reg:5000/web");
        assert_eq!(image_repo("web@sha256:ab"), "web");
    }
}
