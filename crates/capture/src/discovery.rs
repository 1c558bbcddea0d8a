//! Discovery: every resource type the API server can list, CRDs and aggregated APIs
//! included, each in its group's preferred version.
//!
//! Uses the classic (non-aggregated) discovery endpoints, which every API server and
//! `kubectl intel serve` answer. A failure for one group is recorded and the others go on.

use futures::StreamExt as _;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{
    APIGroup, APIGroupList, APIResource, APIResourceList, APIVersions,
};
use kube::Client;

use intel_model::ResourceType;
use intel_model::manifest::CollectorError;

use super::CaptureOptions;
use super::api::get_typed;
use super::progress::Progress;
use super::util::encode;

/// Groups not captured as resource lists: metrics.k8s.io is captured as timed samples
/// (`metrics/<time>/…`), and listing it here would store a second, untimed copy.
const SKIPPED_GROUPS: &[&str] = &["metrics.k8s.io"];

/// What discovery found.
#[derive(Debug, Default)]
pub(crate) struct Discovered {
    /// Listable types, sorted by (group, version, resource), each once.
    pub types: Vec<ResourceType>,
    pub errors: Vec<CollectorError>,
}

/// Discovers every listable type. Never fails as a whole: an unreachable server shows as
/// errors and no types, which the caller turns into "nothing captured".
pub(crate) async fn discover(
    client: &Client,
    opts: &CaptureOptions,
    progress: &dyn Progress,
) -> Discovered {
    let timeout = opts.request_timeout;
    let mut out = Discovered::default();
    progress.phase("discovery");
    progress.add_work(2);

    // The legacy core group. These are the endpoints of kube's `list_core_api_versions`,
    // `list_core_api_resources`, `list_api_groups` and `list_api_group_resources`, fetched
    // through `api` for its timeout, retries and error mapping.
    let core = async {
        let versions: APIVersions = get_typed(client, "/api", timeout)
            .await
            .map_err(|e| e.to_collector_error("/api"))?;
        let version = core_version(&versions.versions);
        let path = format!("/api/{}", encode(&version));
        get_typed::<APIResourceList>(client, &path, timeout)
            .await
            .map(|list| (version.clone(), list))
            .map_err(|e| e.to_collector_error(&path))
    };
    let groups = async {
        get_typed::<APIGroupList>(client, "/apis", timeout)
            .await
            .map_err(|e| e.to_collector_error("/apis"))
    };
    let (core, groups) = futures::join!(core, groups);
    progress.done(2);

    match core {
        Ok((version, list)) => out.types.extend(listable_types("", &version, &list)),
        Err(e) => out.errors.push(e),
    }
    let groups = match groups {
        Ok(list) => list.groups,
        Err(e) => {
            out.errors.push(e);
            Vec::new()
        }
    };

    let group_versions: Vec<(String, String)> = groups.iter().filter_map(preferred).collect();
    let group_versions = &group_versions;
    progress.add_work(group_versions.len() as u64);
    let mut results: Vec<(usize, Result<APIResourceList, CollectorError>)> =
        // Items are indices, not references: a stream of borrowed items makes the capture
        // future lose `Send` (rustc's higher-ranked lifetime limitation with closures).
        futures::stream::iter(0..group_versions.len())
            .map(|i| async move {
                let gv = group_versions.get(i).map_or("", |(_, gv)| gv.as_str());
                // A groupVersion is `group/version`: both parts are path segments.
                let path = format!(
                    "/apis/{}",
                    gv.split('/').map(encode).collect::<Vec<_>>().join("/")
                );
                let result = get_typed::<APIResourceList>(client, &path, timeout)
                    .await
                    .map_err(|e| e.to_collector_error(&path));
                progress.done(1);
                (i, result)
            })
            .buffer_unordered(opts.concurrency.max(1))
            .collect()
            .await;
    // Completion order is arbitrary; the output is not.
    results.sort_by_key(|(i, _)| *i);
    for (i, result) in results {
        let Some((group, gv)) = group_versions.get(i) else {
            continue;
        };
        match result {
            Ok(list) => {
                let version = gv.rsplit('/').next().unwrap_or(gv.as_str());
                out.types.extend(listable_types(group, version, &list));
            }
            Err(e) => out.errors.push(e),
        }
    }

    out.types.sort_by_key(|t| t.key());
    out.types.dedup_by(|a, b| a.key() == b.key());
    out
}

/// `v1` when the server offers it (every real one does), else the first it names.
fn core_version(versions: &[String]) -> String {
    match versions.first() {
        Some(first) if !versions.iter().any(|v| v == "v1") => first.clone(),
        _ => "v1".to_string(),
    }
}

/// (group, groupVersion) to discover: the preferred version, or the first listed when the
/// server names none. `None` for skipped groups and groups without versions.
fn preferred(group: &APIGroup) -> Option<(String, String)> {
    if SKIPPED_GROUPS.contains(&group.name.as_str()) {
        return None;
    }
    let gv = group
        .preferred_version
        .as_ref()
        .or_else(|| group.versions.first())?;
    if gv.group_version.is_empty() {
        return None;
    }
    Some((group.name.clone(), gv.group_version.clone()))
}

/// The types of one group version that can be listed: verbs include `list`, and not a
/// subresource (`pods/log`, `deployments/scale`).
pub(crate) fn listable_types(
    group: &str,
    version: &str,
    list: &APIResourceList,
) -> Vec<ResourceType> {
    list.resources
        .iter()
        .filter(|r| is_listable(r))
        .map(|r| resource_type(group, version, r))
        .collect()
}

fn is_listable(r: &APIResource) -> bool {
    !r.name.is_empty() && !r.name.contains('/') && r.verbs.iter().any(|v| v == "list")
}

fn resource_type(group: &str, version: &str, r: &APIResource) -> ResourceType {
    let singular = if r.singular_name.is_empty() {
        // Older servers leave singularName empty; kubectl falls back to the lower-cased kind.
        r.kind.to_lowercase()
    } else {
        r.singular_name.clone()
    };
    let mut short_names = r.short_names.clone().unwrap_or_default();
    short_names.sort();
    let mut categories = r.categories.clone().unwrap_or_default();
    categories.sort();
    ResourceType {
        group: group.to_string(),
        version: version.to_string(),
        resource: r.name.clone(),
        kind: r.kind.clone(),
        namespaced: r.namespaced,
        singular,
        short_names,
        categories,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::GroupVersionForDiscovery;

    fn res(name: &str, kind: &str, namespaced: bool, verbs: &[&str]) -> APIResource {
        APIResource {
            name: name.to_string(),
            kind: kind.to_string(),
            namespaced,
            verbs: verbs.iter().map(|v| v.to_string()).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn keeps_listable_types_and_skips_subresources() {
        let mut pods = res("pods", "Pod", true, &["get", "list", "watch"]);
        pods.singular_name = "pod".into();
        pods.short_names = Some(vec!["po".into()]);
        pods.categories = Some(vec!["all".into()]);
        let list = APIResourceList {
            group_version: "v1".into(),
            resources: vec![
                pods,
                res("pods/log", "Pod", true, &["get", "list"]),
                res("bindings", "Binding", true, &["create"]),
                res("nodes", "Node", false, &["list"]),
            ],
        };
        let types = listable_types("", "v1", &list);
        assert_eq!(types.len(), 2);
        assert_eq!(types[0].resource, "pods");
        assert_eq!(types[0].singular, "pod");
        assert_eq!(types[0].short_names, vec!["po"]);
        assert_eq!(types[0].categories, vec!["all"]);
        assert!(types[0].namespaced);
        assert_eq!(types[1].resource, "nodes");
        assert_eq!(
            types[1].singular, "node",
            "falls back to the lower-cased kind"
        );
        assert!(!types[1].namespaced);
    }

    #[test]
    fn preferred_version_and_skipped_groups() {
        let gv = |g: &str, v: &str| GroupVersionForDiscovery {
            group_version: format!("{g}/{v}"),
            version: v.to_string(),
        };
        let apps = APIGroup {
            name: "apps".into(),
            preferred_version: Some(gv("apps", "v1")),
            versions: vec![gv("apps", "v1beta1"), gv("apps", "v1")],
            ..Default::default()
        };
        assert_eq!(preferred(&apps), Some(("apps".into(), "apps/v1".into())));
        let crd = APIGroup {
            name: "stable.example.com".into(),
            preferred_version: None,
            versions: vec![gv("stable.example.com", "v2")],
            ..Default::default()
        };
        assert_eq!(
            preferred(&crd),
            Some(("stable.example.com".into(), "stable.example.com/v2".into()))
        );
        let metrics = APIGroup {
            name: "metrics.k8s.io".into(),
            preferred_version: Some(gv("metrics.k8s.io", "v1beta1")),
            versions: vec![gv("metrics.k8s.io", "v1beta1")],
            ..Default::default()
        };
        assert_eq!(preferred(&metrics), None);
        let empty = APIGroup {
            name: "empty.io".into(),
            ..Default::default()
        };
        assert_eq!(preferred(&empty), None);
    }

    #[test]
    fn core_version_prefers_v1() {
        assert_eq!(core_version(&["v1".into()]), "v1");
        assert_eq!(core_version(&[]), "v1");
        assert_eq!(core_version(&["v2".into()]), "v2");
    }
}
