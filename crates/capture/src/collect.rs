//! Listing every discovered type, with paging, bounded parallelism and redaction before
//! anything reaches the snapshot.
//!
//! Lists are raw GETs (`/api/v1/pods?limit=500`), so CRDs and kinds this tool has never
//! heard of are captured like built-ins. Namespaced types are listed cluster-wide when all
//! namespaces are in scope, else once per namespace; cluster-scoped types always.

use futures::StreamExt as _;
use kube::Client;
use serde_json::Value;

use intel_model::manifest::{Collector, CollectorError};
use intel_model::{Object, ResourceType};
use intel_redact::Redactor;

use super::CaptureOptions;
use super::api::get_json;
use super::progress::Progress;
use super::util::encode;

/// Items per page: the API server's usual chunk size (kubectl's is 500 as well).
const PAGE_SIZE: u32 = 500;

/// One type's outcome.
#[derive(Debug)]
pub(crate) struct Listed {
    pub rtype: ResourceType,
    /// `None` when no list of this type succeeded (the type is then left out of the
    /// snapshot; its collector says why). `Some(empty)` is a type with no objects.
    pub items: Option<Vec<Object>>,
    pub errors: Vec<CollectorError>,
}

impl Listed {
    /// The manifest entry: `resources/<type>`.
    pub(crate) fn collector(&self) -> Collector {
        Collector {
            name: format!("resources/{}", self.rtype.key()),
            items: self.items.as_ref().map_or(0, |i| i.len() as u64),
            errors: self.errors.clone(),
        }
    }
}

/// The URL path listing `rtype`, cluster-wide (`namespace = None`) or in one namespace.
pub(crate) fn list_path(rtype: &ResourceType, namespace: Option<&str>) -> String {
    let base = if rtype.group.is_empty() {
        format!("/api/{}", encode(&rtype.version))
    } else {
        format!("/apis/{}/{}", encode(&rtype.group), encode(&rtype.version))
    };
    match namespace {
        Some(ns) if rtype.namespaced => {
            format!(
                "{base}/namespaces/{}/{}",
                encode(ns),
                encode(&rtype.resource)
            )
        }
        _ => format!("{base}/{}", encode(&rtype.resource)),
    }
}

/// `path` with the paging parameters of one page.
pub(crate) fn page_path(path: &str, continue_token: Option<&str>) -> String {
    match continue_token {
        Some(token) => format!("{path}?limit={PAGE_SIZE}&continue={}", encode(token)),
        None => format!("{path}?limit={PAGE_SIZE}"),
    }
}

/// List items come without `apiVersion` and `kind` (they are on the list); a bundle's
/// items carry them, and redaction needs the kind to recognise Secrets. Values an item
/// already has (custom resources do) are kept.
pub(crate) fn complete_item(item: &mut Value, rtype: &ResourceType) {
    if let Value::Object(map) = item {
        let missing = |v: Option<&Value>| v.and_then(Value::as_str).is_none_or(str::is_empty);
        if missing(map.get("apiVersion")) {
            map.insert(
                "apiVersion".into(),
                Value::String(rtype.key().api_version()),
            );
        }
        if missing(map.get("kind")) {
            map.insert("kind".into(), Value::String(rtype.kind.clone()));
        }
    }
}

/// Completes, redacts and freezes one list item.
pub(crate) fn prepare(
    mut item: Value,
    rtype: &ResourceType,
    redactor: &Redactor,
) -> Result<Object, serde_json::Error> {
    complete_item(&mut item, rtype);
    redactor.redact_object(&mut item);
    Object::from_value(&item)
}

/// Lists every type in `types`. The result is in the order of `types`, whatever order
/// the requests completed in.
pub(crate) async fn list_all(
    client: &Client,
    types: &[ResourceType],
    opts: &CaptureOptions,
    redactor: &Redactor,
    progress: &dyn Progress,
) -> Vec<Listed> {
    // One task per (type, namespace); namespace None = cluster-wide.
    let mut tasks: Vec<(&ResourceType, Option<&str>)> = Vec::new();
    for t in types {
        if t.namespaced && !opts.namespaces.is_empty() {
            tasks.extend(opts.namespaces.iter().map(|ns| (t, Some(ns.as_str()))));
        } else {
            tasks.push((t, None));
        }
    }
    progress.phase("resources");
    progress.add_work(tasks.len() as u64);
    let tasks_ref = &tasks;
    // Items are indices, not references: a stream of borrowed items makes the capture
    // future lose `Send` (rustc's higher-ranked lifetime limitation with closures).
    let mut results: Vec<(usize, PageRun)> = futures::stream::iter(0..tasks.len())
        .map(|order| async move {
            let run = match tasks_ref.get(order) {
                Some((rtype, ns)) => list_one(client, rtype, *ns, opts, redactor).await,
                None => PageRun::default(),
            };
            progress.done(1);
            (order, run)
        })
        .buffer_unordered(opts.concurrency.max(1))
        .collect()
        .await;
    // Completion order is arbitrary; the output is not.
    results.sort_by_key(|(order, _)| *order);

    let mut out: Vec<Listed> = Vec::with_capacity(types.len());
    for ((rtype, _), (_, run)) in tasks.iter().zip(results) {
        // Tasks of one type are adjacent, in namespace order.
        if out.last().is_none_or(|l| l.rtype.key() != rtype.key()) {
            out.push(Listed {
                rtype: (*rtype).clone(),
                items: None,
                errors: Vec::new(),
            });
        }
        let Some(listed) = out.last_mut() else {
            continue;
        };
        // A list that failed half-way keeps what was read; its error says it is partial.
        if run.complete || !run.items.is_empty() {
            listed.items.get_or_insert_with(Vec::new).extend(run.items);
        }
        listed.errors.extend(run.errors);
    }
    out
}

/// What reading one list (all its pages) gave.
#[derive(Debug, Default)]
struct PageRun {
    /// Every page was read (single malformed items may still have been skipped).
    complete: bool,
    items: Vec<Object>,
    errors: Vec<CollectorError>,
}

/// Reads every page of one list, following `continue` tokens.
async fn list_one(
    client: &Client,
    rtype: &ResourceType,
    namespace: Option<&str>,
    opts: &CaptureOptions,
    redactor: &Redactor,
) -> PageRun {
    let path = list_path(rtype, namespace);
    let mut run = PageRun {
        complete: false,
        items: Vec::new(),
        errors: Vec::new(),
    };
    let mut token: Option<String> = None;
    loop {
        let url = page_path(&path, token.as_deref());
        let page = match get_json(client, &url, opts.request_timeout).await {
            Ok(page) => page,
            Err(e) => {
                let mut error = e.to_collector_error(&path);
                if !run.items.is_empty() {
                    error.message = format!(
                        "{} (partial list: {} items kept)",
                        error.message,
                        run.items.len()
                    );
                }
                run.errors.push(error);
                return run;
            }
        };
        let (items, next) = split_page(page);
        for item in items {
            match prepare(item, rtype, redactor) {
                Ok(object) => run.items.push(object),
                Err(e) => run.errors.push(CollectorError {
                    target: path.clone(),
                    code: None,
                    message: format!("an item is not a Kubernetes object, skipped: {e}"),
                }),
            }
        }
        match next {
            // A server repeating its token would loop forever: stop instead.
            Some(next) if token.as_ref() != Some(&next) => token = Some(next),
            _ => break,
        }
    }
    run.complete = true;
    run
}

/// A list page's items and its continue token (absent or empty on the last page).
pub(crate) fn split_page(page: Value) -> (Vec<Value>, Option<String>) {
    let Value::Object(mut map) = page else {
        return (Vec::new(), None);
    };
    let next = map
        .get("metadata")
        .and_then(|m| m.get("continue"))
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .map(str::to_string);
    let items = match map.remove("items") {
        Some(Value::Array(items)) => items,
        _ => Vec::new(),
    };
    (items, next)
}

#[cfg(test)]
mod tests {
    use super::*;
    use intel_model::TypeKey;
    use serde_json::json;

    fn rtype(group: &str, version: &str, resource: &str, kind: &str, ns: bool) -> ResourceType {
        ResourceType {
            group: group.into(),
            version: version.into(),
            resource: resource.into(),
            kind: kind.into(),
            namespaced: ns,
            singular: String::new(),
            short_names: Vec::new(),
            categories: Vec::new(),
        }
    }

    #[test]
    fn list_paths_by_group_and_scope() {
        let pods = rtype("", "v1", "pods", "Pod", true);
        assert_eq!(list_path(&pods, None), "/api/v1/pods");
        assert_eq!(
            list_path(&pods, Some("shop")),
            "/api/v1/namespaces/shop/pods"
        );
        let deploy = rtype("apps", "v1", "deployments", "Deployment", true);
        assert_eq!(
            list_path(&deploy, Some("shop")),
            "/apis/apps/v1/namespaces/shop/deployments"
        );
        // Cluster-scoped types ignore the namespace.
        let nodes = rtype("", "v1", "nodes", "Node", false);
        assert_eq!(list_path(&nodes, Some("shop")), "/api/v1/nodes");
        let crd = rtype("stable.example.com", "v1", "crontabs", "CronTab", true);
        assert_eq!(
            list_path(&crd, None),
            "/apis/stable.example.com/v1/crontabs"
        );
        // A namespace typed on the command line cannot break out of its segment.
        assert_eq!(
            list_path(&pods, Some("a/b?c")),
            "/api/v1/namespaces/a%2Fb%3Fc/pods"
        );
    }

    #[test]
    fn paging_parameters() {
        assert_eq!(page_path("/api/v1/pods", None), "/api/v1/pods?limit=500");
        assert_eq!(
            page_path("/api/v1/pods", Some("eyJ2Ijo+/=")),
            "/api/v1/pods?limit=500&continue=eyJ2Ijo%2B%2F%3D"
        );
    }

    #[test]
    fn items_get_api_version_and_kind() {
        let deploy = rtype("apps", "v1", "deployments", "Deployment", true);
        let mut item = json!({"metadata": {"name": "web", "namespace": "shop"}});
        complete_item(&mut item, &deploy);
        assert_eq!(item["apiVersion"], "apps/v1");
        assert_eq!(item["kind"], "Deployment");
        let pods = rtype("", "v1", "pods", "Pod", true);
        let mut item = json!({"apiVersion": "", "metadata": {"name": "p"}});
        complete_item(&mut item, &pods);
        assert_eq!(item["apiVersion"], "v1");
        assert_eq!(item["kind"], "Pod");
        // Custom resources carry their own; they are kept.
        let crd = rtype("stable.example.com", "v1", "crontabs", "CronTab", true);
        let mut item = json!({"apiVersion": "stable.example.com/v1beta1", "kind": "CronTab"});
        complete_item(&mut item, &crd);
        assert_eq!(item["apiVersion"], "stable.example.com/v1beta1");
        // Not an object: left alone.
        let mut item = json!(["x"]);
        complete_item(&mut item, &pods);
        assert_eq!(item, json!(["x"]));
    }

    #[test]
    fn pages_split_into_items_and_continue_token() {
        let (items, next) = split_page(json!({
            "kind": "PodList", "metadata": {"continue": "tok", "resourceVersion": "5"},
            "items": [{"metadata": {"name": "a"}}, {"metadata": {"name": "b"}}]
        }));
        assert_eq!(items.len(), 2);
        assert_eq!(next.as_deref(), Some("tok"));
        let (items, next) = split_page(json!({"metadata": {"continue": ""}, "items": []}));
        assert!(items.is_empty());
        assert_eq!(next, None);
        let (items, next) = split_page(json!("nonsense"));
        assert!(items.is_empty() && next.is_none());
    }

    #[test]
    fn secrets_are_completed_then_redacted() {
        let redactor = Redactor::new(&[]).unwrap();
        let secrets = rtype("", "v1", "secrets", "Secret", true);
        let item = json!({
            "metadata": {"name": "db", "namespace": "shop"},
            "type": "Opaque",
            "data": {"password": "c3VwZXJzZWNyZXQ="}
        });
        let object = prepare(item, &secrets, &redactor).unwrap();
        assert_eq!(object.meta.kind, "Secret");
        assert_eq!(object.meta.api_version, "v1");
        assert!(
            !object.json().contains("c3VwZXJzZWNyZXQ="),
            "{}",
            object.json()
        );
        assert!(object.json().contains("password"), "key names are kept");
        assert!(prepare(json!([1]), &secrets, &redactor).is_err());
    }

    #[test]
    fn collector_is_named_after_the_type() {
        let listed = Listed {
            rtype: rtype("apps", "v1", "deployments", "Deployment", true),
            items: Some(Vec::new()),
            errors: Vec::new(),
        };
        assert_eq!(listed.collector().name, "resources/deployments.apps");
        assert_eq!(
            TypeKey::new("", "v1", "pods").to_string(),
            "pods",
            "core types have no group suffix"
        );
    }
}
