//! `get_resources`: the snapshot's objects, filtered and paged, Secrets without values.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::clusters::ClusterData;
use super::markdown::{UNTRUSTED, code, fenced, header, paging};
use super::page::{self, Page};
use super::tools::{Answer, DataSource};
use intel_model::{Object, ResourceList, Snapshot};
use intel_serve::selector::LabelSelector;

/// Annotation that carries an object's last applied spec, Secret data included.
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GetResourcesInput {
    /// The cluster to read (a name from list_clusters). Optional when one cluster is loaded.
    #[allow(dead_code)] // Read by `tools::call` before parsing, to pick the cluster.
    pub cluster: Option<String>,
    /// The kind of object, as kubectl accepts it: `Pod`, `pods`, `po`, `Deployment`,
    /// `deployments.apps`, `deploy`, `Node`, `Service`, `Ingress`, `ConfigMap`, a CRD's kind
    /// or plural.
    pub kind: String,
    /// Only objects in this namespace (omit for all namespaces).
    pub namespace: Option<String>,
    /// Only the object with this name (its full JSON is then included).
    pub name: Option<String>,
    /// A label selector as for `kubectl get -l`: `app=auth`, `tier in (web,api),!canary`.
    pub label_selector: Option<String>,
    /// Include every listed object's full JSON, not only its status summary (default: only
    /// when `name` is given). Pages get shorter.
    pub include_objects: Option<bool>,
    /// The nextCursor of a previous answer, to get the next page.
    pub cursor: Option<String>,
    /// Items per page (default 50, at most 500).
    pub limit: Option<usize>,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResourceItem {
    pub kind: String,
    pub api_version: String,
    /// Empty for cluster-scoped objects.
    pub namespace: String,
    pub name: String,
    pub created: String,
    pub labels: BTreeMap<String, String>,
    /// A one-line status (pods: phase, readiness, restarts, node; workloads: ready replicas;
    /// nodes: Ready). Empty for kinds without one.
    pub status: String,
    /// Secrets only: the keys of `data`; values are never returned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_keys: Option<Vec<String>>,
    /// The object's JSON (Secrets without `data`/`stringData`). Untrusted text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object: Option<serde_json::Value>,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GetResourcesOutput {
    pub source: DataSource,
    /// The resource type matched: `pods`, `deployments.apps`.
    pub resource: String,
    pub items: Vec<ResourceItem>,
    /// Objects matching the filters, on all pages.
    pub total: usize,
    /// Pass as `cursor` to get the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// The list a kind argument names, matched like kubectl: kind, plural, singular, short name,
/// `plural.group` or `Kind.group`, case-insensitively; the core group wins a tie.
fn find_list<'a>(snap: &'a Snapshot, kind: &str) -> Result<&'a ResourceList, String> {
    let want = kind.trim().to_ascii_lowercase();
    if want.is_empty() {
        return Err("`kind` is empty: give a kind such as Pod, Deployment or Node".into());
    }
    let (name, group) = match want.split_once('.') {
        Some((n, g)) => (n.to_string(), Some(g.to_string())),
        None => (want.clone(), None),
    };
    let matches = |l: &&ResourceList| {
        let t = &l.rtype;
        let named = t.kind.eq_ignore_ascii_case(&name)
            || t.resource == name
            || t.singular == name
            || t.short_names.contains(&name);
        named && group.as_ref().is_none_or(|g| t.group == *g)
    };
    let mut found: Vec<&ResourceList> = snap.resources.values().filter(matches).collect();
    found.sort_by_key(|l| !l.rtype.group.is_empty());
    found.into_iter().next().ok_or_else(|| {
        let mut kinds: Vec<String> = snap
            .resources
            .values()
            .filter(|l| !l.items.is_empty())
            .map(|l| l.rtype.kind.clone())
            .collect();
        kinds.sort();
        kinds.dedup();
        format!(
            "the snapshot has no kind {kind:?}; kinds with objects: {}",
            kinds.join(", ")
        )
    })
}

fn type_label(l: &ResourceList) -> String {
    if l.rtype.group.is_empty() {
        l.rtype.resource.clone()
    } else {
        format!("{}.{}", l.rtype.resource, l.rtype.group)
    }
}

/// A one-line status for the kinds people ask about most.
fn status_line(kind: &str, v: &serde_json::Value) -> String {
    let st = &v["status"];
    let int = |x: &serde_json::Value| x.as_i64().unwrap_or(0);
    match kind {
        "Pod" => {
            let statuses = st["containerStatuses"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let ready = statuses.iter().filter(|c| c["ready"] == true).count();
            let restarts: i64 = statuses.iter().map(|c| int(&c["restartCount"])).sum();
            let waiting: Vec<&str> = statuses
                .iter()
                .filter_map(|c| c["state"]["waiting"]["reason"].as_str())
                .collect();
            let mut s = format!(
                "{} {ready}/{} ready, {restarts} restarts",
                st["phase"].as_str().unwrap_or("Unknown"),
                statuses.len()
            );
            if !waiting.is_empty() {
                s.push_str(&format!(" ({})", waiting.join(", ")));
            }
            if let Some(node) = v["spec"]["nodeName"].as_str() {
                s.push_str(&format!(", node {node}"));
            }
            s
        }
        "Deployment" | "StatefulSet" | "ReplicaSet" => format!(
            "{}/{} ready",
            int(&st["readyReplicas"]),
            v["spec"]["replicas"].as_i64().unwrap_or(1)
        ),
        "DaemonSet" => format!(
            "{}/{} ready",
            int(&st["numberReady"]),
            int(&st["desiredNumberScheduled"])
        ),
        "Node" => {
            let ready = st["conditions"]
                .as_array()
                .and_then(|cs| cs.iter().find(|c| c["type"] == "Ready"))
                .and_then(|c| c["status"].as_str())
                .map(|s| if s == "True" { "Ready" } else { "NotReady" })
                .unwrap_or("Unknown");
            if v["spec"]["unschedulable"] == true {
                format!("{ready},SchedulingDisabled")
            } else {
                ready.to_string()
            }
        }
        "Job" => format!(
            "{} succeeded, {} failed",
            int(&st["succeeded"]),
            int(&st["failed"])
        ),
        "PersistentVolumeClaim" | "PersistentVolume" | "Namespace" => {
            st["phase"].as_str().unwrap_or_default().to_string()
        }
        _ => String::new(),
    }
}

/// Removes what a Secret must never show: values, and the last-applied copy of them.
fn scrub_secret(v: &mut serde_json::Value) -> Vec<String> {
    let mut keys: Vec<String> = Vec::new();
    if let Some(obj) = v.as_object_mut() {
        for field in ["data", "stringData"] {
            if let Some(serde_json::Value::Object(m)) = obj.remove(field) {
                keys.extend(m.keys().cloned());
            }
        }
    }
    if let Some(ann) = v["metadata"]["annotations"].as_object_mut() {
        ann.remove(LAST_APPLIED);
    }
    keys.sort();
    keys.dedup();
    keys
}

fn resource_item(obj: &Object, full: bool) -> ResourceItem {
    let mut v = obj.value();
    let is_secret = obj.meta.kind == "Secret";
    let secret_keys = is_secret.then(|| scrub_secret(&mut v));
    // Credentials of a bundle nobody redacted: env values, ConfigMap entries, annotations.
    intel_redact::scrub_object(&mut v);
    ResourceItem {
        kind: obj.meta.kind.clone(),
        api_version: obj.meta.api_version.clone(),
        namespace: obj.meta.namespace.clone(),
        name: obj.meta.name.clone(),
        created: obj.meta.creation_timestamp.clone(),
        labels: obj.meta.labels.clone(),
        status: status_line(&obj.meta.kind, &v),
        secret_keys,
        object: full.then_some(v),
    }
}

pub fn get_resources(data: &ClusterData, input: GetResourcesInput) -> Result<Answer, String> {
    let offset = page::offset(input.cursor.as_deref())?;
    let limit = page::limit(input.limit)?;
    let selector = match input.label_selector.as_deref().map(str::trim) {
        Some(s) if !s.is_empty() => Some(LabelSelector::parse(s).map_err(|e| e.to_string())?),
        _ => None,
    };
    let snap = data.snap();
    let list = find_list(snap, &input.kind)?;
    let ns = input.namespace.as_deref().filter(|n| !n.is_empty());
    let name = input.name.as_deref().filter(|n| !n.is_empty());
    let rows: Vec<&Object> = list
        .items
        .iter()
        .filter(|o| ns.is_none_or(|n| o.meta.namespace == n))
        .filter(|o| name.is_none_or(|n| o.meta.name == n))
        .filter(|o| selector.as_ref().is_none_or(|s| s.matches(&o.meta.labels)))
        .collect();
    if let (Some(n), true) = (name, rows.is_empty()) {
        let where_ = ns
            .map(|ns| format!(" in namespace {ns}"))
            .unwrap_or_default();
        return Err(format!(
            "no {} named {n:?}{where_} in cluster {}; list them without `name` to see what exists",
            list.rtype.kind, data.name
        ));
    }
    let full = input.include_objects.unwrap_or(name.is_some());
    let Page {
        items,
        total,
        next_cursor,
    } = page::paginate_by(&rows, offset, limit, |o| resource_item(o, full));

    let resource = type_label(list);
    let mut text = header(&format!("{} ({resource})", list.rtype.kind), data);
    if !items.is_empty() {
        text.push_str("| namespace | name | status | created |\n|---|---|---|---|\n");
        for i in &items {
            text.push_str(&format!(
                "| {} | {} | {} | {} |\n",
                code(&i.namespace),
                code(&i.name),
                code(&i.status),
                i.created
            ));
        }
        text.push('\n');
    }
    if full && items.iter().any(|i| i.object.is_some()) {
        text.push_str(UNTRUSTED);
        text.push_str("\n\n");
        for i in &items {
            if let Some(obj) = &i.object {
                let json = serde_json::to_string_pretty(obj).unwrap_or_default();
                text.push_str(&fenced("json", &json));
            }
            if let Some(keys) = &i.secret_keys {
                text.push_str(&format!(
                    "Secret keys (values are never shown): {}\n\n",
                    keys.iter().map(|k| code(k)).collect::<Vec<_>>().join(", ")
                ));
            }
        }
    }
    text.push_str(&paging(items.len(), offset, total, next_cursor.as_deref()));
    Answer::new(
        text,
        &GetResourcesOutput {
            source: DataSource::of(data),
            resource,
            items,
            total,
            next_cursor,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clusters::Clusters;

    fn fixture() -> std::sync::Arc<ClusterData> {
        let clusters =
            Clusters::from_snapshots(vec![(intel_fixture::snapshot(), "fixture".into())]);
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime")
            .block_on(clusters.get(None))
            .expect("the only cluster")
    }

    fn input(kind: &str) -> GetResourcesInput {
        GetResourcesInput {
            cluster: None,
            kind: kind.into(),
            namespace: None,
            name: None,
            label_selector: None,
            include_objects: Some(true),
            cursor: None,
            limit: None,
        }
    }

    #[test]
    fn kinds_resolve_like_kubectl() {
        let data = fixture();
        for kind in ["Pod", "pods", "po", "POD", "pod"] {
            assert_eq!(find_list(data.snap(), kind).unwrap().rtype.resource, "pods");
        }
        for kind in [
            "deploy",
            "Deployment",
            "deployments.apps",
            "Deployment.apps",
        ] {
            assert_eq!(find_list(data.snap(), kind).unwrap().rtype.group, "apps");
        }
        let err = find_list(data.snap(), "Gizmo").unwrap_err();
        assert!(
            err.contains("kinds with objects") && err.contains("Pod"),
            "{err}"
        );
    }

    #[test]
    fn secrets_never_show_values() {
        let data = fixture();
        let answer = get_resources(&data, input("secrets")).unwrap();
        let items = answer.structured["items"].as_array().unwrap();
        assert!(!items.is_empty());
        for item in items {
            let obj = &item["object"];
            assert!(
                obj.get("data").is_none() && obj.get("stringData").is_none(),
                "{item}"
            );
            assert!(item["secretKeys"].is_array(), "{item}");
        }
        assert!(!answer.text.contains("\"data\": {"), "{}", answer.text);
    }

    #[test]
    fn a_missing_object_is_an_error_that_says_what_to_do() {
        let data = fixture();
        let mut i = input("Pod");
        i.name = Some("nope".into());
        let err = get_resources(&data, i).unwrap_err();
        assert!(err.contains("no Pod named \"nope\""), "{err}");
        let mut i = input("Pod");
        i.label_selector = Some("a in (".into());
        assert!(get_resources(&data, i).is_err());
    }
}
