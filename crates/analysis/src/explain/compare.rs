//! "Compare staging and production": per workload present in any cluster, what differs —
//! presence, images, replicas, resources, env variable names, the ConfigMaps it uses —
//! and whether it has problems in one cluster and not another, which is when a difference
//! matters. Env values are not compared (they are redacted where they look like secrets,
//! and differ legitimately per environment); their names are.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::{Value, json};

use intel_engine::ObjectRef;
use intel_model::Fleet;

const KINDS: &[(&str, &str, &str)] = &[
    ("apps", "deployments", "Deployment"),
    ("apps", "statefulsets", "StatefulSet"),
    ("apps", "daemonsets", "DaemonSet"),
    ("batch", "cronjobs", "CronJob"),
];
/// Rows reported at most (problems first).
const MAX_ROWS: usize = 60;

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Difference {
    pub kind: String,
    pub namespace: String,
    pub name: String,
    /// Clusters where it has problems (findings of warning or worse).
    pub failing_in: Vec<String>,
    /// The fields that differ (`images`, `replicas`, `resources`, `env`, `configMaps`,
    /// `presence`).
    pub differs: Vec<String>,
    /// True when it fails somewhere and something differs: the lead to follow.
    pub matters: bool,
    /// Per cluster: the compared facts (null where it does not exist).
    pub clusters: BTreeMap<String, Value>,
}

fn facts(v: &Value) -> Value {
    let cs = v
        .pointer("/spec/template/spec/containers")
        .or_else(|| v.pointer("/spec/jobTemplate/spec/template/spec/containers"))
        .and_then(|c| c.as_array())
        .cloned()
        .unwrap_or_default();
    let images: Vec<Value> = cs.iter().filter_map(|c| c.get("image").cloned()).collect();
    let resources: Vec<Value> = cs
        .iter()
        .map(|c| c.get("resources").cloned().unwrap_or(Value::Null))
        .collect();
    let mut env: Vec<String> = cs
        .iter()
        .flat_map(|c| {
            c.get("env")
                .and_then(|e| e.as_array())
                .into_iter()
                .flatten()
                .filter_map(|e| e.get("name").and_then(|n| n.as_str()).map(String::from))
        })
        .collect();
    env.sort();
    env.dedup();
    let mut cms: BTreeSet<String> = BTreeSet::new();
    let text = v.to_string();
    for key in ["configMapKeyRef", "configMapRef", "configMap"] {
        let mut rest = text.as_str();
        let pat = format!("\"{key}\":{{");
        while let Some(i) = rest.find(&pat) {
            rest = &rest[i + pat.len()..];
            if let Some(n) = rest
                .split("\"name\":\"")
                .nth(1)
                .and_then(|s| s.split('"').next())
            {
                cms.insert(n.to_string());
            }
        }
    }
    json!({
        "images": images,
        "replicas": v.pointer("/spec/replicas").cloned().unwrap_or(Value::Null),
        "resources": resources,
        "env": env,
        "configMaps": cms,
    })
}

/// Compares every workload across the fleet's clusters. `failing` maps cluster → the
/// workloads with problems there.
pub fn compare(fleet: &Fleet, failing: &BTreeMap<String, BTreeSet<ObjectRef>>) -> Vec<Difference> {
    let mut all: BTreeMap<ObjectRef, BTreeMap<String, Value>> = BTreeMap::new();
    for (cluster, snap) in &fleet.clusters {
        for (group, plural, kind) in KINDS {
            for obj in snap.items(group, plural) {
                let key = ObjectRef::new(*kind, &obj.meta.namespace, &obj.meta.name);
                all.entry(key)
                    .or_default()
                    .insert(cluster.clone(), facts(&obj.value()));
            }
        }
    }
    let names: Vec<&String> = fleet.clusters.keys().collect();
    let mut rows = Vec::new();
    for (key, per) in all {
        let mut differs = Vec::new();
        if per.len() < names.len() {
            differs.push("presence".to_string());
        }
        let vals: Vec<&Value> = per.values().collect();
        for field in ["images", "replicas", "resources", "env", "configMaps"] {
            if vals.windows(2).any(|w| w[0].get(field) != w[1].get(field)) {
                differs.push(field.to_string());
            }
        }
        let failing_in: Vec<String> = names
            .iter()
            .filter(|c| failing.get(**c).is_some_and(|f| f.contains(&key)))
            .map(|c| c.to_string())
            .collect();
        // A workload failing everywhere is not explained by a difference between clusters.
        let uneven = !failing_in.is_empty() && failing_in.len() < names.len();
        if differs.is_empty() && !uneven {
            continue;
        }
        let clusters = names
            .iter()
            .map(|c| ((*c).clone(), per.get(*c).cloned().unwrap_or(Value::Null)))
            .collect();
        rows.push(Difference {
            kind: key.kind,
            namespace: key.namespace,
            name: key.name,
            matters: uneven && !differs.is_empty(),
            failing_in,
            differs,
            clusters,
        });
    }
    rows.sort_by(|a, b| {
        b.matters
            .cmp(&a.matters)
            .then(a.failing_in.is_empty().cmp(&b.failing_in.is_empty()))
            .then((&a.namespace, &a.name, &a.kind).cmp(&(&b.namespace, &b.name, &b.kind)))
    });
    rows.truncate(MAX_ROWS);
    rows
}
