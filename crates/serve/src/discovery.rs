//! Discovery documents (`/api`, `/apis`, `/api/v1`, `/apis/<group>/<version>`) built from the
//! types the bundle holds, so clients resolve kinds, short names and CRDs as they would
//! against the captured cluster. Only the legacy (unaggregated) forms are served; clients
//! fall back to them when the aggregated `apidiscovery.k8s.io` form is not offered.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::ServeState;
use intel_model::ResourceType;

pub const METRICS_GROUP: &str = "metrics.k8s.io";
pub const METRICS_VERSION: &str = "v1beta1";

/// Resource types served under a group/version, sorted by plural.
pub fn types_in<'s>(state: &'s ServeState, group: &str, version: &str) -> Vec<&'s ResourceType> {
    state
        .snap
        .resources
        .values()
        .map(|l| &l.rtype)
        .filter(|t| t.group == group && t.version == version)
        .collect()
}

pub fn find_type<'s>(
    state: &'s ServeState,
    group: &str,
    version: &str,
    resource: &str,
) -> Option<&'s ResourceType> {
    state
        .snap
        .resources
        .values()
        .map(|l| &l.rtype)
        .find(|t| t.group == group && t.version == version && t.resource == resource)
}

pub fn core_versions(state: &ServeState, server: &str) -> Value {
    let _ = state;
    json!({"kind": "APIVersions", "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server}]})
}

pub fn groups(state: &ServeState) -> Value {
    let mut by_group: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for t in state.snap.resources.keys() {
        if !t.group.is_empty() {
            let versions = by_group.entry(&t.group).or_default();
            if !versions.contains(&t.version.as_str()) {
                versions.push(&t.version);
            }
        }
    }
    if state.metrics.available() {
        by_group
            .entry(METRICS_GROUP)
            .or_default()
            .push(METRICS_VERSION);
    }
    let groups: Vec<Value> = by_group
        .into_iter()
        .map(|(g, versions)| {
            let gvs: Vec<Value> = versions
                .iter()
                .map(|v| json!({"groupVersion": format!("{g}/{v}"), "version": v}))
                .collect();
            let preferred = gvs.first().cloned().unwrap_or(Value::Null);
            json!({"name": g, "versions": gvs, "preferredVersion": preferred})
        })
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

pub fn group(state: &ServeState, group: &str) -> Option<Value> {
    let list = groups(state);
    list["groups"]
        .as_array()?
        .iter()
        .find(|g| g["name"] == group)
        .map(|g| {
            let mut g = g.clone();
            if let Some(o) = g.as_object_mut() {
                o.insert("kind".into(), json!("APIGroup"));
                o.insert("apiVersion".into(), json!("v1"));
            }
            g
        })
}

fn entry(t: &ResourceType) -> Value {
    let mut e = json!({"name": t.resource, "singularName": t.singular, "namespaced": t.namespaced,
        "kind": t.kind, "verbs": ["get", "list"]});
    if !t.short_names.is_empty() {
        e["shortNames"] = json!(t.short_names);
    }
    if !t.categories.is_empty() {
        e["categories"] = json!(t.categories);
    }
    e
}

/// The APIResourceList of a group/version; `None` when the bundle has nothing there.
pub fn resources(state: &ServeState, group: &str, version: &str) -> Option<Value> {
    let gv = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    if group == METRICS_GROUP && version == METRICS_VERSION && state.metrics.available() {
        return Some(
            json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv,
            "resources": [
                {"name": "nodes", "singularName": "", "namespaced": false, "kind": "NodeMetrics", "verbs": ["get", "list"]},
                {"name": "pods", "singularName": "", "namespaced": true, "kind": "PodMetrics", "verbs": ["get", "list"]}]}),
        );
    }
    let types = types_in(state, group, version);
    if types.is_empty() && !(group.is_empty() && version == "v1") {
        return None;
    }
    let mut resources: Vec<Value> = Vec::new();
    for t in types {
        resources.push(entry(t));
        if group.is_empty() && t.resource == "pods" {
            resources.push(
                json!({"name": "pods/log", "singularName": "", "namespaced": true,
                "kind": "Pod", "verbs": ["get"]}),
            );
        }
    }
    Some(
        json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources}),
    )
}

/// `/version`, from the captured cluster's version.
pub fn version(state: &ServeState) -> Value {
    let git = state
        .snap
        .manifest
        .cluster
        .kubernetes_version
        .clone()
        .unwrap_or_else(|| "v0.0.0".to_string());
    let core = git.trim_start_matches('v');
    let mut parts = core.split(['.', '-', '+']);
    let major = parts.next().unwrap_or("0").to_string();
    let minor = parts.next().unwrap_or("0").to_string();
    json!({"major": major, "minor": minor, "gitVersion": git, "gitCommit": "", "gitTreeState": "clean",
        "buildDate": state.snap.manifest.captured_at, "goVersion": "", "compiler": "gc",
        "platform": "linux/amd64"})
}
