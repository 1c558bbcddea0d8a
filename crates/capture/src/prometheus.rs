//! Prometheus range queries over the capture window (`--prometheus URL --window D`): CPU,
//! memory, CPU throttling (throttled and all CFS periods), restarts and network per
//! container or pod, each stored as the query_range response (resultType "matrix") under
//! the series' metric name.
//!
//! The convention the bundle's series follow (synth writes it too, the detectors read
//! it): a counter (`*_total`) is stored as its per-second `rate()`, summed per container
//! (per pod for network), except `kube_pod_container_status_restarts_total`, whose value
//! is itself the count wanted; a gauge as its value.
//!
//! Prometheus is reached with a second kube `Client` whose base URL is the Prometheus URL:
//! the same hyper/rustls stack as the API server (http and https, system trust roots),
//! with no extra HTTP crate. No credentials are sent; for an authenticated Prometheus,
//! port-forward to it.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::Context as _;
use futures::StreamExt as _;
use jiff::Timestamp;
use kube::Client;
use serde_json::Value;
use serde_json::value::RawValue;

use intel_model::manifest::{Collector, CollectorError};

use super::CaptureOptions;
use super::api::get_json;
use super::progress::Progress;
use super::util::{encode, minus};

/// The fewest seconds between two points: the usual scrape interval.
const MIN_STEP: u64 = 15;
/// Points per series over the window.
const POINTS: u64 = 120;

/// One range query, stored under `name`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Query {
    pub name: &'static str,
    pub promql: String,
    /// An application or node series many clusters lack: stored only when the answer holds
    /// series, so that a bundle has no empty files for what was never exported.
    pub optional: bool,
}

/// The step of a window: window / 120, rounded to whole seconds, at least 15 s.
pub(crate) fn step_seconds(window: Duration) -> u64 {
    let step = (window.as_secs_f64() / POINTS as f64).round() as u64;
    step.max(MIN_STEP)
}

/// The queries, restricted to `namespaces` when some are given, in name order. Counters
/// are stored as rates (see the module's convention), taken over at least 5 minutes and
/// never less than one step, so no sample falls between two points. The throttled
/// periods come with all periods (`container_cpu_cfs_periods_total`, the periods in which
/// the container ran under its quota), so that the share throttled can be computed.
pub(crate) fn queries(namespaces: &[String], step: u64) -> Vec<Query> {
    let ns = if namespaces.is_empty() {
        None
    } else {
        let alternatives: Vec<String> = namespaces.iter().map(|n| regex::escape(n)).collect();
        Some(format!("namespace=~\"{}\"", alternatives.join("|")))
    };
    let selector = |container_level: bool| {
        let mut matchers = Vec::new();
        if container_level {
            // cAdvisor's pod-level cgroup rows carry container="" or "POD": not containers.
            matchers.push("container!=\"\"".to_string());
            matchers.push("container!=\"POD\"".to_string());
        }
        matchers.extend(ns.clone());
        if matchers.is_empty() {
            String::new()
        } else {
            format!("{{{}}}", matchers.join(","))
        }
    };
    let range = format!("[{}s]", step.max(300));
    let by_container = "sum by (namespace, pod, container)";
    let by_pod = "sum by (namespace, pod)";
    let c = selector(true);
    let p = selector(false);
    let q = |name: &'static str, promql: String| Query {
        name,
        promql,
        optional: false,
    };
    let mut all = vec![
        q(
            "container_cpu_cfs_periods_total",
            format!("{by_container} (rate(container_cpu_cfs_periods_total{c}{range}))"),
        ),
        q(
            "container_cpu_cfs_throttled_periods_total",
            format!("{by_container} (rate(container_cpu_cfs_throttled_periods_total{c}{range}))"),
        ),
        q(
            "container_cpu_usage_seconds_total",
            format!("{by_container} (rate(container_cpu_usage_seconds_total{c}{range}))"),
        ),
        q(
            "container_memory_working_set_bytes",
            format!("{by_container} (container_memory_working_set_bytes{c})"),
        ),
        q(
            "container_network_receive_bytes_total",
            format!("{by_pod} (rate(container_network_receive_bytes_total{p}{range}))"),
        ),
        q(
            "container_network_transmit_bytes_total",
            format!("{by_pod} (rate(container_network_transmit_bytes_total{p}{range}))"),
        ),
        q(
            "kube_pod_container_status_restarts_total",
            format!(
                "max by (namespace, pod, container) (kube_pod_container_status_restarts_total{p})"
            ),
        ),
    ];
    all.extend(application_queries(ns.as_deref(), &range));
    all
}

/// Request latency (the 90th percentile of the common HTTP histograms: Prometheus client
/// libraries, Spring's Micrometer, OpenTelemetry, Istio), request counters by status, and
/// node TCP retransmissions. Stored as `<histogram>_p90` for a quantile the query computes,
/// else under the metric's name.
fn application_queries(ns: Option<&str>, range: &str) -> Vec<Query> {
    let with = |extra: &str| {
        let m: Vec<&str> = [extra, ns.unwrap_or("")]
            .into_iter()
            .filter(|x| !x.is_empty())
            .collect();
        if m.is_empty() {
            String::new()
        } else {
            format!("{{{}}}", m.join(","))
        }
    };
    let istio_ns = ns
        .map(|n| n.replacen("namespace=~", "destination_workload_namespace=~", 1))
        .unwrap_or_default();
    let istio = {
        let m: Vec<&str> = ["reporter=\"destination\"", istio_ns.as_str()]
            .into_iter()
            .filter(|x| !x.is_empty())
            .collect();
        format!("{{{}}}", m.join(","))
    };
    let q = |name: &'static str, promql: String| Query {
        name,
        promql,
        optional: true,
    };
    let p90 = |bucket: &str, by: &str, sel: &str| {
        format!("histogram_quantile(0.9, sum by ({by}, le) (rate({bucket}{sel}{range})))")
    };
    let pods = with("");
    vec![
        q(
            "http_request_duration_seconds_p90",
            p90(
                "http_request_duration_seconds_bucket",
                "namespace, pod",
                &pods,
            ),
        ),
        q(
            "http_requests_total",
            format!("sum by (namespace, pod, code) (rate(http_requests_total{pods}{range}))"),
        ),
        q(
            "http_server_request_duration_seconds_p90",
            p90(
                "http_server_request_duration_seconds_bucket",
                "namespace, pod",
                &pods,
            ),
        ),
        q(
            "http_server_requests_seconds_count",
            format!(
                "sum by (namespace, pod, outcome) (rate(http_server_requests_seconds_count{pods}{range}))"
            ),
        ),
        q(
            "http_server_requests_seconds_p90",
            p90(
                "http_server_requests_seconds_bucket",
                "namespace, pod",
                &pods,
            ),
        ),
        q(
            "istio_request_duration_milliseconds_p90",
            p90(
                "istio_request_duration_milliseconds_bucket",
                "destination_workload_namespace, destination_workload",
                &istio,
            ),
        ),
        q(
            "istio_requests_total",
            format!(
                "sum by (destination_workload_namespace, destination_workload, response_code) (rate(istio_requests_total{istio}{range}))"
            ),
        ),
        // Bytes between workloads, as the caller's proxy reports them (request and
        // response bodies): what the placement analysis weighs cross-zone pairs by.
        q("istio_workload_bytes", {
            let by = "source_workload_namespace, source_workload, destination_workload_namespace, destination_workload";
            let sel = {
                let m: Vec<&str> = ["reporter=\"source\"", istio_ns.as_str()]
                    .into_iter()
                    .filter(|x| !x.is_empty())
                    .collect();
                format!("{{{}}}", m.join(","))
            };
            // `+` alone would drop a pair that has only one of the two series.
            let req = format!("sum by ({by}) (rate(istio_request_bytes_sum{sel}{range}))");
            let resp = format!("sum by ({by}) (rate(istio_response_bytes_sum{sel}{range}))");
            format!("({req} + {resp}) or {req} or {resp}")
        }),
        q(
            "node_netstat_Tcp_OutSegs",
            format!("sum by (instance) (rate(node_netstat_Tcp_OutSegs{range}))"),
        ),
        q(
            "node_netstat_Tcp_RetransSegs",
            format!("sum by (instance) (rate(node_netstat_Tcp_RetransSegs{range}))"),
        ),
    ]
}

/// `/api/v1/query_range?query=…&start=…&end=…&step=…s`, times in Unix seconds.
pub(crate) fn query_range_path(
    promql: &str,
    start: Timestamp,
    end: Timestamp,
    step: u64,
) -> String {
    format!(
        "/api/v1/query_range?query={}&start={}&end={}&step={step}s",
        encode(promql),
        start.as_second(),
        end.as_second()
    )
}

/// Checks a --prometheus URL: http or https, with a host, optionally a path prefix such
/// as `/prometheus`.
pub(crate) fn parse_url(url: &str) -> anyhow::Result<http::Uri> {
    let uri: http::Uri = url
        .parse()
        .with_context(|| format!("--prometheus {url:?} is not a URL"))?;
    if !matches!(uri.scheme_str(), Some("http" | "https")) || uri.authority().is_none() {
        anyhow::bail!("--prometheus {url:?} must be an http:// or https:// URL with a host");
    }
    Ok(uri)
}

/// A client for the Prometheus at `url`. Needs a tokio runtime.
pub(crate) fn client(url: &str, timeout: Duration) -> anyhow::Result<Client> {
    let mut config = kube::Config::new(parse_url(url)?);
    config.read_timeout = Some(timeout);
    // The capture retries 429/503/504 briefly itself; kube's layer would retry for minutes.
    config.default_retry = false;
    Client::try_from(config)
        .with_context(|| format!("cannot set up a client for --prometheus {url}"))
}

/// Checks a query_range answer: `status: success` with a matrix. Returns how many series it holds.
pub(crate) fn check_matrix(answer: &Value) -> Result<u64, String> {
    if answer.get("status").and_then(Value::as_str) != Some("success") {
        let error = answer
            .get("error")
            .and_then(Value::as_str)
            .unwrap_or("no error message");
        return Err(format!("Prometheus answered an error: {error}"));
    }
    let data = answer.get("data");
    let result_type = data
        .and_then(|d| d.get("resultType"))
        .and_then(Value::as_str);
    if result_type != Some("matrix") {
        return Err(format!(
            "expected a matrix, got resultType {}",
            result_type.unwrap_or("(none)")
        ));
    }
    Ok(data
        .and_then(|d| d.get("result"))
        .and_then(Value::as_array)
        .map_or(0, |r| r.len() as u64))
}

/// A stored answer and its number of series, or why there is none.
type Answer = Result<(Box<RawValue>, u64), CollectorError>;

/// Runs every query over `[end - window, end]`. Returns the responses by name and one
/// collector per series (`prometheus/<name>`), in name order. Never fails: an unreachable
/// Prometheus is an error entry on each series.
pub(crate) async fn query_all(
    url: &str,
    opts: &CaptureOptions,
    end: Timestamp,
    progress: &dyn Progress,
) -> (BTreeMap<String, Box<RawValue>>, Vec<Collector>) {
    let step = step_seconds(opts.window);
    let start = minus(end, opts.window);
    let queries = queries(&opts.namespaces, step);
    let mut series = BTreeMap::new();
    let mut collectors: Vec<Collector> = queries
        .iter()
        .map(|q| Collector {
            name: format!("prometheus/{}", q.name),
            items: 0,
            errors: Vec::new(),
        })
        .collect();
    let client = match client(url, opts.request_timeout) {
        Ok(client) => client,
        Err(e) => {
            for c in &mut collectors {
                c.errors.push(CollectorError {
                    target: url.to_string(),
                    code: None,
                    message: format!("{e:#}"),
                });
            }
            return (series, collectors);
        }
    };
    progress.phase("prometheus");
    progress.add_work(queries.len() as u64);
    let client = &client;
    let queries_ref = &queries;
    // Items are indices, not references: a stream of borrowed items makes the capture
    // future lose `Send` (rustc's higher-ranked lifetime limitation with closures).
    let mut answers: Vec<(usize, Answer)> = futures::stream::iter(0..queries.len())
        .map(|i| async move {
            let promql = queries_ref.get(i).map_or("", |q| q.promql.as_str());
            let path = query_range_path(promql, start, end, step);
            let target = format!("{}{path}", url.trim_end_matches('/'));
            let result = match get_json(client, &path, opts.request_timeout).await {
                Err(e) => Err(e.to_collector_error(&target)),
                Ok(answer) => check_matrix(&answer)
                    .and_then(|n| {
                        serde_json::value::to_raw_value(&answer)
                            .map(|raw| (raw, n))
                            .map_err(|e| format!("cannot store the answer: {e}"))
                    })
                    .map_err(|message| CollectorError {
                        target: target.clone(),
                        code: None,
                        message,
                    }),
            };
            progress.done(1);
            (i, result)
        })
        .buffer_unordered(opts.concurrency.max(1))
        .collect()
        .await;
    answers.sort_by_key(|(i, _)| *i);
    for (i, result) in answers {
        let (Some(q), Some(collector)) = (queries.get(i), collectors.get_mut(i)) else {
            continue;
        };
        match result {
            Ok((_, 0)) if q.optional => {}
            Ok((raw, n)) => {
                series.insert(q.name.to_string(), raw);
                collector.items = n;
            }
            Err(e) => collector.errors.push(e),
        }
    }
    (series, collectors)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn step_is_window_over_120_at_least_15s() {
        assert_eq!(step_seconds(Duration::from_secs(3600)), 30);
        assert_eq!(step_seconds(Duration::from_secs(600)), 15);
        assert_eq!(step_seconds(Duration::from_secs(86_400)), 720);
        assert_eq!(
            step_seconds(Duration::from_secs(3_630)),
            30,
            "30.25 rounds to 30"
        );
        assert_eq!(
            step_seconds(Duration::from_secs(3_660)),
            31,
            "30.5 rounds up"
        );
    }

    #[test]
    fn every_series_is_queried_under_its_metric_name() {
        let qs: Vec<Query> = queries(&[], 30)
            .into_iter()
            .filter(|q| !q.optional)
            .collect();
        let names: Vec<&str> = qs.iter().map(|q| q.name).collect();
        assert_eq!(
            names,
            vec![
                "container_cpu_cfs_periods_total",
                "container_cpu_cfs_throttled_periods_total",
                "container_cpu_usage_seconds_total",
                "container_memory_working_set_bytes",
                "container_network_receive_bytes_total",
                "container_network_transmit_bytes_total",
                "kube_pod_container_status_restarts_total",
            ]
        );
        assert!(names.windows(2).all(|w| w[0] < w[1]), "name order");
        for q in &qs {
            assert!(q.promql.contains(q.name), "{q:?}");
            assert!(!q.promql.contains("{}"), "{q:?}");
            // Counters as per-second rates, but for the restarts count.
            assert_eq!(
                q.promql.contains("rate("),
                q.name.ends_with("_total") && q.name != "kube_pod_container_status_restarts_total",
                "{q:?}"
            );
        }
        assert_eq!(
            qs[0].promql,
            "sum by (namespace, pod, container) (rate(container_cpu_cfs_periods_total{container!=\"\",container!=\"POD\"}[300s]))"
        );
        assert_eq!(
            qs[2].promql,
            "sum by (namespace, pod, container) (rate(container_cpu_usage_seconds_total{container!=\"\",container!=\"POD\"}[300s]))"
        );
        assert_eq!(
            qs[6].promql,
            "max by (namespace, pod, container) (kube_pod_container_status_restarts_total)"
        );
    }

    #[test]
    fn namespaces_restrict_every_query() {
        let qs = queries(&["shop".into(), "a.b".into()], 600);
        // Node series have no namespace.
        for q in qs.iter().filter(|q| !q.name.starts_with("node_")) {
            assert!(q.promql.contains("namespace=~\"shop|a\\.b\""), "{q:?}");
        }
        assert!(
            qs[4].promql.contains("[600s]"),
            "rate range follows a long step"
        );
    }

    #[test]
    fn application_series_are_optional_quantiles_and_rates() {
        let qs = queries(&[], 30);
        let app: Vec<&Query> = qs.iter().filter(|q| q.optional).collect();
        assert_eq!(app.len(), 10);
        for q in &app {
            if q.name == "istio_workload_bytes" {
                assert!(
                    q.promql
                        .contains("rate(istio_request_bytes_sum{reporter=\"source\"}")
                );
                assert!(
                    q.promql
                        .contains("rate(istio_response_bytes_sum{reporter=\"source\"}")
                );
            } else if q.name.ends_with("_p90") {
                let bucket = format!("{}_bucket", q.name.trim_end_matches("_p90"));
                assert!(
                    q.promql.starts_with("histogram_quantile(0.9, sum by ("),
                    "{q:?}"
                );
                assert!(q.promql.contains(&format!("rate({bucket}")), "{q:?}");
                assert!(q.promql.contains(", le)"), "{q:?}");
            } else {
                assert!(q.promql.contains(&format!("rate({}", q.name)), "{q:?}");
            }
        }
        let istio = app
            .iter()
            .find(|q| q.name == "istio_requests_total")
            .unwrap();
        assert!(
            istio.promql.contains("reporter=\"destination\""),
            "{istio:?}"
        );
        // The names keep the analysis' reading of them: latency, requests, retransmits.
        let names: Vec<&str> = app.iter().map(|q| q.name).collect();
        assert!(names.contains(&"http_server_requests_seconds_p90"));
        assert!(names.contains(&"node_netstat_Tcp_RetransSegs"));
    }

    #[test]
    fn query_range_url() {
        let end: Timestamp = "2026-11-24T14:00:00Z".parse().unwrap();
        let start = minus(end, Duration::from_secs(3600));
        assert_eq!(
            query_range_path("up{job=\"x\"}", start, end, 30),
            "/api/v1/query_range?query=up%7Bjob%3D%22x%22%7D&start=1795525200&end=1795528800&step=30s"
        );
    }

    #[test]
    fn answers_must_be_successful_matrices() {
        let ok = json!({"status": "success", "data": {"resultType": "matrix", "result": [{}, {}]}});
        assert_eq!(check_matrix(&ok), Ok(2));
        let err = json!({"status": "error", "errorType": "bad_data", "error": "parse error"});
        assert!(check_matrix(&err).unwrap_err().contains("parse error"));
        let vector = json!({"status": "success", "data": {"resultType": "vector", "result": []}});
        assert!(check_matrix(&vector).unwrap_err().contains("vector"));
    }

    #[test]
    fn prometheus_urls_are_checked() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            assert!(client("http://127.0.0.1:9090", Duration::from_secs(1)).is_ok());
            assert!(client("https://prom.example/prometheus", Duration::from_secs(1)).is_ok());
            assert!(client("ftp://x", Duration::from_secs(1)).is_err());
            assert!(client("not a url", Duration::from_secs(1)).is_err());
            assert!(client("/just/a/path", Duration::from_secs(1)).is_err());
        });
    }
}
