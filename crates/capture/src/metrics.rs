//! metrics.k8s.io samples: NodeMetricsList and PodMetricsList taken `--samples` times,
//! `--interval` apart, each stored under the time metrics-server measured it.

use std::time::Duration;

use jiff::Timestamp;
use kube::Client;
use serde_json::Value;
use serde_json::value::RawValue;

use intel_model::MetricsSample;
use intel_model::manifest::{Collector, CollectorError};

use super::CaptureOptions;
use super::api::{FetchError, get_json};
use super::progress::Progress;
use super::util::{encode, rfc3339_seconds};

const BASE: &str = "/apis/metrics.k8s.io/v1beta1";

/// Takes the samples. Never fails: a cluster without metrics-server gives one error
/// entry ("metrics.k8s.io not available") and no samples; other failures are recorded
/// per request and the sampling goes on.
pub(crate) async fn sample_metrics(
    client: &Client,
    opts: &CaptureOptions,
    progress: &dyn Progress,
) -> (Vec<MetricsSample>, Collector) {
    let mut collector = Collector {
        name: "metrics".to_string(),
        items: 0,
        errors: Vec::new(),
    };
    let mut samples: Vec<MetricsSample> = Vec::new();
    let per_sample = 1 + opts.namespaces.len().max(1) as u64;
    progress.add_work(per_sample * u64::from(opts.samples));
    for i in 0..opts.samples {
        if i > 0 {
            tokio::time::sleep(opts.interval).await;
        }
        progress.phase("metrics");
        let nodes = fetch(client, &format!("{BASE}/nodes"), opts.request_timeout).await;
        progress.done(1);
        if let Err((e, _)) = &nodes
            && unavailable(e)
        {
            collector.errors.push(not_available(e));
            progress.done(per_sample * u64::from(opts.samples - i) - 1);
            break;
        }
        let pods = fetch_pods(client, opts, &mut collector.errors).await;
        progress.done(per_sample - 1);
        let nodes = match nodes {
            Ok(v) => Some(v),
            Err((e, path)) => {
                collector.errors.push(e.to_collector_error(&path));
                None
            }
        };
        if nodes.is_none() && pods.is_none() {
            continue;
        }
        let lists: Vec<&Value> = nodes.iter().chain(pods.iter()).collect();
        let time = sample_time(&lists, Timestamp::now());
        if samples.iter().any(|s| s.time == time) {
            // metrics-server had not scraped again since the last sample: same data.
            continue;
        }
        let raw = |v: Option<Value>, what: &str, errors: &mut Vec<CollectorError>| {
            v.and_then(|v| match serde_json::value::to_raw_value(&v) {
                Ok(raw) => Some(raw),
                Err(e) => {
                    errors.push(CollectorError {
                        target: format!("{BASE}/{what}"),
                        code: None,
                        message: format!("cannot store the answer: {e}"),
                    });
                    None
                }
            })
        };
        let nodes: Option<Box<RawValue>> = raw(nodes, "nodes", &mut collector.errors);
        let pods: Option<Box<RawValue>> = raw(pods, "pods", &mut collector.errors);
        samples.push(MetricsSample { time, nodes, pods });
    }
    samples.sort_by(|a, b| a.time.cmp(&b.time));
    collector.items = samples.len() as u64;
    (samples, collector)
}

async fn fetch(
    client: &Client,
    path: &str,
    timeout: Duration,
) -> Result<Value, (FetchError, String)> {
    get_json(client, path, timeout)
        .await
        .map_err(|e| (e, path.to_string()))
}

/// The PodMetricsList of the namespaces in scope: one request for all namespaces, or one
/// per namespace merged into a single list (items sorted by namespace, then name).
async fn fetch_pods(
    client: &Client,
    opts: &CaptureOptions,
    errors: &mut Vec<CollectorError>,
) -> Option<Value> {
    if opts.namespaces.is_empty() {
        return match fetch(client, &format!("{BASE}/pods"), opts.request_timeout).await {
            Ok(v) => Some(v),
            Err((e, path)) => {
                errors.push(e.to_collector_error(&path));
                None
            }
        };
    }
    let mut lists = Vec::new();
    for ns in &opts.namespaces {
        let path = format!("{BASE}/namespaces/{}/pods", encode(ns));
        match fetch(client, &path, opts.request_timeout).await {
            Ok(v) => lists.push(v),
            Err((e, path)) => errors.push(e.to_collector_error(&path)),
        }
    }
    if lists.is_empty() {
        None
    } else {
        Some(merge_pod_lists(lists))
    }
}

/// One PodMetricsList from several (one per namespace).
pub(crate) fn merge_pod_lists(lists: Vec<Value>) -> Value {
    let mut items: Vec<Value> = Vec::new();
    for list in lists {
        if let Value::Object(mut map) = list
            && let Some(Value::Array(list_items)) = map.remove("items")
        {
            items.extend(list_items);
        }
    }
    let key = |v: &Value| {
        let meta = &v["metadata"];
        (
            meta["namespace"].as_str().unwrap_or("").to_string(),
            meta["name"].as_str().unwrap_or("").to_string(),
        )
    };
    items.sort_by_key(key);
    serde_json::json!({
        "apiVersion": "metrics.k8s.io/v1beta1",
        "kind": "PodMetricsList",
        "metadata": {},
        "items": items,
    })
}

/// The sample's time: the newest `timestamp` among the items of `lists` (when
/// metrics-server measured), RFC 3339 UTC seconds; `fallback` (the wall clock) when no
/// item has a readable one.
pub(crate) fn sample_time(lists: &[&Value], fallback: Timestamp) -> String {
    let newest = lists
        .iter()
        .filter_map(|l| l.get("items").and_then(Value::as_array))
        .flatten()
        .filter_map(|item| item.get("timestamp").and_then(Value::as_str))
        .filter_map(|t| t.parse::<Timestamp>().ok())
        .max();
    rfc3339_seconds(newest.unwrap_or(fallback))
}

/// No metrics API at all: 404 (not registered) or 503 (registered, metrics-server down).
fn unavailable(e: &FetchError) -> bool {
    matches!(e.code(), Some(404 | 503))
}

fn not_available(e: &FetchError) -> CollectorError {
    CollectorError {
        target: BASE.to_string(),
        code: e.code(),
        message: format!(
            "metrics.k8s.io not available (is metrics-server installed and healthy?): {}",
            e.message()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kube::core::Status;
    use serde_json::json;

    fn wall() -> Timestamp {
        "2026-11-24T14:05:09.5Z".parse().unwrap()
    }

    #[test]
    fn sample_time_is_the_newest_item_timestamp() {
        let nodes = json!({"items": [
            {"metadata": {"name": "n1"}, "timestamp": "2026-11-24T14:00:00Z"},
            {"metadata": {"name": "n2"}, "timestamp": "2026-11-24T14:00:07.250Z"}
        ]});
        let pods = json!({"items": [
            {"metadata": {"name": "p"}, "timestamp": "2026-11-24T13:59:58Z"}
        ]});
        assert_eq!(
            sample_time(&[&nodes, &pods], wall()),
            "2026-11-24T14:00:07Z"
        );
    }

    #[test]
    fn sample_time_falls_back_to_the_wall_clock() {
        let empty = json!({"items": []});
        let odd = json!({"items": [{"timestamp": "yesterday"}, {"timestamp": 5}]});
        assert_eq!(sample_time(&[&empty, &odd], wall()), "2026-11-24T14:05:09Z");
        assert_eq!(sample_time(&[], wall()), "2026-11-24T14:05:09Z");
    }

    #[test]
    fn per_namespace_lists_merge_sorted() {
        let a = json!({"kind": "PodMetricsList", "items": [
            {"metadata": {"namespace": "shop", "name": "b"}},
            {"metadata": {"namespace": "shop", "name": "a"}}
        ]});
        let b = json!({"kind": "PodMetricsList", "items": [
            {"metadata": {"namespace": "auth", "name": "z"}}
        ]});
        let merged = merge_pod_lists(vec![a, b, json!("junk")]);
        assert_eq!(merged["kind"], "PodMetricsList");
        assert_eq!(merged["apiVersion"], "metrics.k8s.io/v1beta1");
        let names: Vec<&str> = merged["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["metadata"]["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, vec!["z", "a", "b"]);
    }

    #[test]
    fn missing_metrics_server_is_recognised() {
        let api = |code| {
            let mut s = Status::failure(
                "the server could not find the requested resource",
                "NotFound",
            );
            s.code = code;
            FetchError::Kube(kube::Error::Api(s.boxed()))
        };
        assert!(unavailable(&api(404)));
        assert!(unavailable(&api(503)));
        assert!(!unavailable(&api(403)));
        assert!(!unavailable(&FetchError::Timeout(Duration::from_secs(1))));
        let e = not_available(&api(503));
        assert_eq!(e.code, Some(503));
        assert!(
            e.message.starts_with("metrics.k8s.io not available"),
            "{}",
            e.message
        );
    }
}
