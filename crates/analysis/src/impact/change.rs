//! A proposed change, described the way users already describe one: the flags of
//! `kubectl set image`, `kubectl scale`, `kubectl cordon`/`drain`/`delete`, and the
//! manifests they would `kubectl apply`. Parsing checks the syntax only; what the change
//! names is resolved against the snapshot in `target.rs`, which says when it names nothing.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Why a change cannot be simulated: it names the flag or field and what was wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ChangeError(pub String);

fn err<T>(msg: impl Into<String>) -> Result<T, ChangeError> {
    Err(ChangeError(msg.into()))
}

/// A workload as a flag names it: `deployment/web`, `shop/deployment/web`, `shop/web`,
/// `web`, optionally followed by `/CONTAINER` where a container can be named.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WorkloadRef {
    /// The text as given, for messages.
    pub text: String,
    pub namespace: Option<String>,
    /// `Deployment`, `StatefulSet` or `DaemonSet`, when given.
    pub kind: Option<String>,
    pub name: String,
    pub container: Option<String>,
}

/// The workload kinds a change can roll out, with the short names kubectl accepts.
pub fn workload_kind(word: &str) -> Option<&'static str> {
    match word.to_ascii_lowercase().as_str() {
        "deployment" | "deployments" | "deploy" | "deployment.apps" => Some("Deployment"),
        "statefulset" | "statefulsets" | "sts" | "statefulset.apps" => Some("StatefulSet"),
        "daemonset" | "daemonsets" | "ds" | "daemonset.apps" => Some("DaemonSet"),
        _ => None,
    }
}

/// Every reading of a `/`-separated workload reference, most specific first. Which one
/// holds is decided against the snapshot (`NS/NAME` and `NAME/CONTAINER` look alike).
pub fn workload_readings(text: &str, default_ns: Option<&str>) -> Vec<WorkloadRef> {
    let parts: Vec<&str> = text.split('/').collect();
    let mk =
        |ns: Option<&str>, kind: Option<&str>, name: &str, container: Option<&str>| WorkloadRef {
            text: text.to_string(),
            namespace: ns.or(default_ns).map(str::to_string),
            kind: kind.map(str::to_string),
            name: name.to_string(),
            container: container.map(str::to_string),
        };
    if parts.iter().any(|p| p.is_empty()) {
        return Vec::new();
    }
    let mut out = Vec::new();
    match parts.as_slice() {
        [name] => out.push(mk(None, None, name, None)),
        [a, b] => {
            if let Some(k) = workload_kind(a) {
                out.push(mk(None, Some(k), b, None));
            }
            out.push(mk(Some(a), None, b, None));
            out.push(mk(None, None, a, Some(b)));
        }
        [a, b, c] => {
            if let Some(k) = workload_kind(b) {
                out.push(mk(Some(a), Some(k), c, None));
            }
            if let Some(k) = workload_kind(a) {
                out.push(mk(None, Some(k), b, Some(c)));
            }
            out.push(mk(Some(a), None, b, Some(c)));
        }
        [a, b, c, d] => {
            if let Some(k) = workload_kind(b) {
                out.push(mk(Some(a), Some(k), c, Some(d)));
            }
        }
        _ => {}
    }
    out
}

/// Container resources to set: either side may be absent (`--set-resources
/// web=/memory=2Gi` changes limits only).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ResourceEdit {
    #[serde(default)]
    pub requests: Vec<(String, String)>,
    #[serde(default)]
    pub limits: Vec<(String, String)>,
}

/// One edit of the cluster or a workload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum Edit {
    SetImage {
        target: String,
        image: String,
    },
    Replicas {
        target: String,
        replicas: i32,
    },
    SetResources {
        target: String,
        resources: ResourceEdit,
    },
    ScaleNodes {
        pool: String,
        nodes: usize,
    },
    Cordon {
        node: String,
    },
    Drain {
        node: String,
    },
    Delete {
        target: String,
    },
    /// A JSON merge patch (RFC 7386) of a workload, as `kubectl patch --type merge`.
    Patch {
        target: String,
        patch: Value,
    },
    /// One document of a manifest: an object to create or replace.
    Apply {
        object: Value,
    },
}

/// Everything the user asked for, in the order it is applied: node edits first (they are
/// the ground the rollout lands on), then objects that gate admission (quotas, budgets),
/// then workloads in the order given.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Change {
    pub edits: Vec<Edit>,
    /// `-n`: the namespace of references that name none.
    pub namespace: Option<String>,
}

fn split_assignment<'a>(flag: &str, text: &'a str) -> Result<(&'a str, &'a str), ChangeError> {
    match text.split_once('=') {
        Some((l, r)) if !l.is_empty() && !r.is_empty() => Ok((l, r)),
        _ => err(format!(
            "{flag} {text:?}: expected {}",
            match flag {
                "--set-image" => "WORKLOAD[/CONTAINER]=IMAGE, e.g. deployment/web=registry/web:v2",
                "--replicas" => "WORKLOAD=N, e.g. deployment/web=6",
                "--scale-nodes" => "POOL=N, e.g. general=12",
                _ =>
                    "WORKLOAD[/CONTAINER]=REQUESTS[/LIMITS], e.g. deployment/web=cpu=500m,memory=1Gi/memory=2Gi",
            }
        )),
    }
}

/// `cpu=500m,memory=1Gi`: the quantities checked to parse.
fn resource_list(flag: &str, text: &str) -> Result<Vec<(String, String)>, ChangeError> {
    let mut out = Vec::new();
    for item in text.split(',').filter(|s| !s.is_empty()) {
        let Some((name, q)) = item.split_once('=') else {
            return err(format!(
                "{flag}: {item:?} is not RESOURCE=QUANTITY (e.g. memory=1Gi)"
            ));
        };
        if intel_model::quantity::milli_value(q).is_none() {
            return err(format!(
                "{flag}: {q:?} is not a Kubernetes quantity (e.g. 500m, 1Gi)"
            ));
        }
        out.push((name.to_string(), q.to_string()));
    }
    Ok(out)
}

impl Change {
    pub fn set_image(&mut self, text: &str) -> Result<(), ChangeError> {
        // The image may hold `=` nowhere, but a digest holds `:`; split on the first `=`.
        let (target, image) = split_assignment("--set-image", text)?;
        self.edits.push(Edit::SetImage {
            target: target.into(),
            image: image.into(),
        });
        Ok(())
    }

    pub fn replicas(&mut self, text: &str) -> Result<(), ChangeError> {
        let (target, n) = split_assignment("--replicas", text)?;
        let Ok(replicas) = n.parse::<i32>() else {
            return err(format!("--replicas {text:?}: {n:?} is not a replica count"));
        };
        if replicas < 0 {
            return err(format!("--replicas {text:?}: a count cannot be negative"));
        }
        self.edits.push(Edit::Replicas {
            target: target.into(),
            replicas,
        });
        Ok(())
    }

    pub fn set_resources(&mut self, text: &str) -> Result<(), ChangeError> {
        let (target, value) = split_assignment("--set-resources", text)?;
        let mut resources = ResourceEdit::default();
        if value.contains("requests.") || value.contains("limits.") {
            for item in value.split(',') {
                let (side, rest) = item.split_once('.').unwrap_or(("", item));
                let list = resource_list("--set-resources", rest)?;
                match side {
                    "requests" => resources.requests.extend(list),
                    "limits" => resources.limits.extend(list),
                    _ => {
                        return err(format!(
                            "--set-resources: {item:?} should start with requests. or limits."
                        ));
                    }
                }
            }
        } else {
            let (req, lim) = value.split_once('/').unwrap_or((value, ""));
            resources.requests = resource_list("--set-resources", req)?;
            resources.limits = resource_list("--set-resources", lim)?;
        }
        if resources.requests.is_empty() && resources.limits.is_empty() {
            return err(format!("--set-resources {text:?}: no resource named"));
        }
        self.edits.push(Edit::SetResources {
            target: target.into(),
            resources,
        });
        Ok(())
    }

    pub fn scale_nodes(&mut self, text: &str) -> Result<(), ChangeError> {
        let (pool, n) = split_assignment("--scale-nodes", text)?;
        let Ok(nodes) = n.parse::<usize>() else {
            return err(format!("--scale-nodes {text:?}: {n:?} is not a node count"));
        };
        self.edits.push(Edit::ScaleNodes {
            pool: pool.into(),
            nodes,
        });
        Ok(())
    }

    pub fn cordon(&mut self, node: &str) {
        self.edits.push(Edit::Cordon { node: node.into() });
    }

    pub fn drain(&mut self, node: &str) {
        self.edits.push(Edit::Drain { node: node.into() });
    }

    pub fn delete(&mut self, target: &str) -> Result<(), ChangeError> {
        if !target.contains('/') {
            return err(format!(
                "--delete {target:?}: expected KIND/NAME or NAMESPACE/KIND/NAME (e.g. deployment/web)"
            ));
        }
        self.edits.push(Edit::Delete {
            target: target.into(),
        });
        Ok(())
    }

    /// The documents of a manifest (YAML or JSON, `---`-separated, `List`s unpacked), each
    /// checked for the fields a simulation needs.
    pub fn apply_documents(&mut self, docs: Vec<Value>, origin: &str) -> Result<(), ChangeError> {
        let mut flat = Vec::new();
        for doc in docs {
            if doc.is_null() {
                continue;
            }
            if doc.get("kind").and_then(Value::as_str) == Some("List") {
                flat.extend(
                    doc.get("items")
                        .and_then(Value::as_array)
                        .cloned()
                        .unwrap_or_default(),
                );
            } else {
                flat.push(doc);
            }
        }
        if flat.is_empty() {
            return err(format!("{origin}: holds no object"));
        }
        for (i, doc) in flat.into_iter().enumerate() {
            let at = format!("{origin}: document {}", i + 1);
            let Some(kind) = doc.get("kind").and_then(Value::as_str) else {
                return err(format!("{at}: has no kind"));
            };
            if doc
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .is_none()
            {
                return err(format!("{at} ({kind}): has no metadata.name"));
            }
            if !SUPPORTED_KINDS.contains(&kind) {
                return err(format!(
                    "{at}: kind {kind} is not simulated (supported: {})",
                    SUPPORTED_KINDS.join(", ")
                ));
            }
            if matches!(kind, "Deployment" | "StatefulSet" | "DaemonSet" | "Job")
                && doc.pointer("/spec/template/spec/containers").is_none()
            {
                return err(format!(
                    "{at} ({kind}): has no spec.template.spec.containers"
                ));
            }
            if kind == "HorizontalPodAutoscaler" && doc.pointer("/spec/scaleTargetRef").is_none() {
                return err(format!(
                    "{at} (HorizontalPodAutoscaler): has no spec.scaleTargetRef"
                ));
            }
            self.edits.push(Edit::Apply { object: doc });
        }
        Ok(())
    }

    /// Reads a manifest's text (YAML, several documents, or JSON).
    pub fn apply_text(&mut self, text: &str, origin: &str) -> Result<(), ChangeError> {
        let mut docs = Vec::new();
        for (i, doc) in split_yaml_documents(text).into_iter().enumerate() {
            if doc.trim().is_empty() {
                continue;
            }
            let value: Value = serde_saphyr::from_str(doc).map_err(|e| {
                ChangeError(format!(
                    "{origin}: document {} is not YAML or JSON: {e}",
                    i + 1
                ))
            })?;
            docs.push(value);
        }
        self.apply_documents(docs, origin)
    }

    pub fn patch(&mut self, text: &str) -> Result<(), ChangeError> {
        let Some((target, json)) = text.split_once('=') else {
            return err(format!(
                "--patch {text:?}: expected WORKLOAD=JSON, e.g. deployment/web={{\"spec\":{{\"replicas\":3}}}}"
            ));
        };
        let patch: Value = serde_json::from_str(json)
            .map_err(|e| ChangeError(format!("--patch {target}: not JSON: {e}")))?;
        if !patch.is_object() {
            return err(format!("--patch {target}: a merge patch is a JSON object"));
        }
        self.edits.push(Edit::Patch {
            target: target.into(),
            patch,
        });
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.edits.is_empty()
    }

    /// The edits in the order they are simulated (see [`Change`]).
    pub fn ordered(&self) -> Vec<&Edit> {
        let rank = |e: &Edit| match e {
            Edit::ScaleNodes { .. } | Edit::Cordon { .. } => 0,
            Edit::Drain { .. } => 1,
            Edit::Apply { object } => match object.get("kind").and_then(Value::as_str) {
                Some("ResourceQuota" | "LimitRange" | "PodDisruptionBudget") => 2,
                Some("HorizontalPodAutoscaler") => 4,
                _ => 3,
            },
            Edit::Delete { .. } => 2,
            _ => 3,
        };
        let mut edits: Vec<&Edit> = self.edits.iter().collect();
        edits.sort_by_key(|e| rank(e));
        edits
    }
}

/// The kinds `-f` simulates.
pub const SUPPORTED_KINDS: &[&str] = &[
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "Job",
    "HorizontalPodAutoscaler",
    "PodDisruptionBudget",
    "ResourceQuota",
    "Service",
    "ConfigMap",
];

/// `---` lines separate YAML documents (a JSON text is one document).
fn split_yaml_documents(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut pos = 0;
    for line in text.split_inclusive('\n') {
        let t = line.trim_end();
        if t == "---" || t.starts_with("--- ") {
            out.push(&text[start..pos]);
            start = pos + line.len();
        }
        pos += line.len();
    }
    out.push(&text[start..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_are_parsed_and_bad_ones_name_the_flag() {
        let mut c = Change::default();
        c.set_image("deployment/web=registry.example/web:v2@sha256:ab")
            .unwrap();
        c.replicas("web=6").unwrap();
        c.set_resources("shop/deploy/web/app=cpu=500m,memory=1Gi/memory=2Gi")
            .unwrap();
        c.set_resources("web=requests.memory=1Gi,limits.memory=2Gi")
            .unwrap();
        c.scale_nodes("general=12").unwrap();
        assert_eq!(c.edits.len(), 5);
        let Edit::SetResources { resources, .. } = &c.edits[2] else {
            panic!()
        };
        assert_eq!(resources.requests.len(), 2);
        assert_eq!(resources.limits, vec![("memory".into(), "2Gi".into())]);
        assert!(c.replicas("web=-1").unwrap_err().0.contains("negative"));
        assert!(c.replicas("web").unwrap_err().0.contains("--replicas"));
        assert!(
            c.set_resources("web=memory=lots")
                .unwrap_err()
                .0
                .contains("not a Kubernetes quantity")
        );
        assert!(c.delete("web").unwrap_err().0.contains("KIND/NAME"));
    }

    #[test]
    fn references_have_every_reading() {
        let r = workload_readings("shop/web", None);
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].namespace.as_deref(), Some("shop"));
        assert_eq!(r[1].container.as_deref(), Some("web"));
        let r = workload_readings("deploy/web", Some("shop"));
        assert_eq!(r[0].kind.as_deref(), Some("Deployment"));
        assert_eq!(r[0].namespace.as_deref(), Some("shop"));
        assert!(workload_readings("a//b", None).is_empty());
        let r = workload_readings("shop/sts/db/postgres", None);
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].container.as_deref(), Some("postgres"));
    }

    #[test]
    fn manifests_are_checked_field_by_field() {
        let mut c = Change::default();
        let e = c
            .apply_text(
                "kind: Deployment\nmetadata: {name: web}\nspec: {}\n",
                "x.yaml",
            )
            .unwrap_err();
        assert!(e.0.contains("spec.template.spec.containers"), "{e}");
        let e = c
            .apply_text("kind: Secret\nmetadata: {name: s}\n", "x.yaml")
            .unwrap_err();
        assert!(e.0.contains("not simulated"), "{e}");
        let e = c.apply_text("apiVersion: v1\n", "x.yaml").unwrap_err();
        assert!(e.0.contains("has no kind"), "{e}");
        c.apply_text(
            "kind: ResourceQuota\nmetadata: {name: q}\n---\nkind: List\nitems:\n- kind: ConfigMap\n  metadata: {name: c}\n",
            "x.yaml",
        )
        .unwrap();
        assert_eq!(c.edits.len(), 2);
        assert!(
            c.apply_text("---\n", "y.yaml")
                .unwrap_err()
                .0
                .contains("no object")
        );
    }
}
