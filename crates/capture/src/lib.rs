//! Capture: turns a live cluster into a [`Snapshot`] — every listable resource type (CRDs
//! included), container logs, metrics.k8s.io samples and optional Prometheus series — with
//! credentials redacted before anything enters the snapshot.
//!
//! This is the one place that knows the Kubernetes API for capturing. It owns the HTTP
//! conversation with the API server (discovery, paged lists, logs, metrics) and nothing
//! else: the snapshot layout belongs to `model`, the file format to `bundle`, what counts
//! as a credential to `redact`. A failure of one request is a collector error in the
//! manifest, never the end of the capture; only a cluster from which no resource type at
//! all could be listed ends it ([`CaptureError::NothingCaptured`]).
//!
//! Two entry points: [`run`] for `kubectl intel capture` (contexts, bundles, summary), and
//! [`capture_snapshot`] for live-mode analyses, which want the snapshot in memory.

mod api;
mod collect;
mod discovery;
mod logs;
mod metrics;
mod progress;
mod prometheus;
mod run;
mod util;

#[cfg(test)]
mod tests;

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use jiff::Timestamp;
use kube::Client;

use intel_model::manifest::{ClusterInfo, Collector, CollectorError, Redaction, Window};
use intel_model::{Manifest, ResourceList, Snapshot};
use intel_redact::Redactor;

pub use progress::{BarProgress, NoProgress, Progress, stderr_progress};
pub use run::{capture_context, run};
pub use util::{parse_bytes, parse_duration};

/// Write a snapshot bundle of a live cluster (one per context).
#[derive(Args, Debug, Clone)]
#[command(after_help = "Examples:\n  \
    kubectl intel capture\n  \
    kubectl intel capture --context prod -n shop -n payments --out prod.intel.tar.zst\n  \
    kubectl intel capture --all-contexts --out bundles/\n  \
    kubectl intel capture --samples 4 --interval 30s --prometheus http://localhost:9090 --window 2h\n  \
    kubectl intel capture --no-logs --redact-pattern 'acct-[0-9]{8}'\n\n\
    Exit status: 0 when every bundle was written (collector errors such as a 403 on one\n\
    resource are listed as a warning and recorded in the bundle), 5 when a cluster gave\n\
    nothing usable (no bundle is written for it), 1 on other failures.")]
pub struct CaptureArgs {
    /// Kubeconfig file. Default: like kubectl, $KUBECONFIG, then ~/.kube/config, then the
    /// in-cluster service account.
    #[arg(long, value_name = "PATH")]
    pub kubeconfig: Option<PathBuf>,
    /// Context to capture (default: the current context). Repeatable: one bundle per context.
    #[arg(long = "context", value_name = "NAME", conflicts_with = "all_contexts")]
    pub contexts: Vec<String>,
    /// Capture every context of the kubeconfig, in name order, one bundle each.
    #[arg(long)]
    pub all_contexts: bool,
    /// Namespace to capture (repeatable). Cluster-scoped resources (nodes, PVs, CRDs…) are
    /// always captured. Default: all namespaces.
    #[arg(
        short = 'n',
        long = "namespace",
        value_name = "NS",
        conflicts_with = "all_namespaces"
    )]
    pub namespaces: Vec<String>,
    /// Capture all namespaces (the default when no --namespace is given).
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,
    /// Bundle file to write. With several contexts, a directory that receives one
    /// `<cluster>-<UTC time>.intel.tar.zst` per context. Default: that name in the current
    /// directory.
    #[arg(long, value_name = "PATH")]
    pub out: Option<PathBuf>,
    /// metrics.k8s.io samples of node and pod usage to take.
    #[arg(long, value_name = "N", default_value_t = 1,
          value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub samples: u32,
    /// Time between two metrics samples (e.g. 15s, 1m).
    #[arg(long, value_name = "DURATION", default_value = "15s", value_parser = parse_duration)]
    pub interval: Duration,
    /// Prometheus base URL (e.g. http://localhost:9090 after a port-forward): adds range
    /// queries for CPU, memory, throttling, restarts and network over --window, and, where
    /// exported, request latency, requests by status and node TCP retransmits. No
    /// credentials are sent. With several contexts, this one Prometheus is queried for each.
    #[arg(long, value_name = "URL")]
    pub prometheus: Option<String>,
    /// How far back Prometheus series (and the bundle's time window) reach.
    #[arg(long, value_name = "DURATION", default_value = "1h", value_parser = parse_duration)]
    pub window: Duration,
    /// Lines kept from the end of each container log.
    #[arg(long, value_name = "N", default_value_t = 1000,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub log_lines: u64,
    /// Bytes kept from the end of each container log (1048576, 512Ki, 1Mi…).
    #[arg(long, value_name = "BYTES", default_value = "1Mi", value_parser = parse_bytes)]
    pub log_bytes: u64,
    /// Do not capture container logs.
    #[arg(long)]
    pub no_logs: bool,
    /// Do not sample metrics.k8s.io (Prometheus, if given, is still queried).
    #[arg(long)]
    pub no_metrics: bool,
    /// Extra regular expression to redact, in logs and every string value (repeatable);
    /// the first capture group is redacted when there is one, else the whole match.
    #[arg(long = "redact-pattern", value_name = "REGEX")]
    pub redact_patterns: Vec<String>,
    /// Requests in flight at once.
    #[arg(long, value_name = "N", default_value_t = 8,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=256))]
    pub concurrency: usize,
    /// Longest wait for one API request (one page of a list, one log, one sample).
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_duration)]
    pub request_timeout: Duration,
}

/// What to capture and how hard to push; independent of where the client comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptureOptions {
    /// Namespaces in scope, sorted and distinct; empty means all.
    pub namespaces: Vec<String>,
    /// Capture container logs.
    pub logs: bool,
    pub log_lines: u64,
    pub log_bytes: u64,
    /// Sample metrics.k8s.io.
    pub metrics: bool,
    pub samples: u32,
    pub interval: Duration,
    /// Prometheus base URL, if any.
    pub prometheus: Option<String>,
    pub window: Duration,
    pub redact_patterns: Vec<String>,
    pub concurrency: usize,
    pub request_timeout: Duration,
}

impl Default for CaptureOptions {
    /// The command line's defaults: all namespaces, logs, one metrics sample.
    fn default() -> Self {
        CaptureOptions {
            namespaces: Vec::new(),
            logs: true,
            log_lines: 1000,
            log_bytes: 1 << 20,
            metrics: true,
            samples: 1,
            interval: Duration::from_secs(15),
            prometheus: None,
            window: Duration::from_secs(3600),
            redact_patterns: Vec::new(),
            concurrency: 8,
            request_timeout: Duration::from_secs(30),
        }
    }
}

impl From<&CaptureArgs> for CaptureOptions {
    fn from(args: &CaptureArgs) -> Self {
        let mut namespaces = if args.all_namespaces {
            Vec::new()
        } else {
            args.namespaces.clone()
        };
        namespaces.sort();
        namespaces.dedup();
        CaptureOptions {
            namespaces,
            logs: !args.no_logs,
            log_lines: args.log_lines,
            log_bytes: args.log_bytes,
            metrics: !args.no_metrics,
            samples: args.samples.max(1),
            interval: args.interval,
            prometheus: args.prometheus.clone(),
            window: args.window,
            redact_patterns: args.redact_patterns.clone(),
            concurrency: args.concurrency.max(1),
            request_timeout: args.request_timeout,
        }
    }
}

/// Why a capture produced no snapshot.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    /// Not a single resource type could be listed: the cluster is unreachable, or the
    /// credentials allow nothing. `cause` is the first underlying error.
    #[error("nothing could be captured from {server} (cluster {cluster}): {cause}")]
    NothingCaptured {
        cluster: String,
        server: String,
        cause: String,
    },
}

/// The client a capture should use for `config`: kube's own retry layer off (it retries a
/// 503 up to 15 times with growing backoff, which turns an aggregated API that is down
/// into a wait of the whole --request-timeout per request; the capture retries briefly
/// itself), and socket reads bounded by the request timeout. Needs a tokio runtime.
pub fn capture_client(mut config: kube::Config, opts: &CaptureOptions) -> kube::Result<Client> {
    config.default_retry = false;
    config.read_timeout = Some(opts.request_timeout);
    Client::try_from(config)
}

/// Captures the cluster behind `client` into an in-memory snapshot.
///
/// Build `client` with [`capture_client`] (any kube `Client` works, but kube's default
/// retry layer makes unavailable aggregated APIs slow).
///
/// `cluster` names the cluster in the manifest (its `kubernetesVersion` is filled in
/// here). The snapshot's `capturedAt` is the API server's clock when the capture started
/// (the `Date` of its `/version` answer; the local clock when it sends none); its window
/// reaches back `max(opts.window, sampling span)` and ends when the capture ended, on the
/// same clock.
/// Every object is redacted (Secrets reduced to metadata, type and key names) and every
/// log is redacted as text before it enters the snapshot.
///
/// Failures of single requests (a 403 on one type, a log that is gone, no metrics-server)
/// are recorded as collector errors in the manifest. Returns
/// [`CaptureError::NothingCaptured`] when no resource type at all could be listed, and an
/// error for an invalid `redact_patterns` entry.
pub async fn capture_snapshot(
    client: Client,
    opts: &CaptureOptions,
    mut cluster: ClusterInfo,
    progress: &dyn Progress,
) -> anyhow::Result<Snapshot> {
    let redactor = Redactor::new(&opts.redact_patterns)?;
    let started = Timestamp::now();
    let client = &client;

    let (version, discovered) = futures::join!(
        kubernetes_version(client, opts.request_timeout),
        discovery::discover(client, opts, progress)
    );
    let mut discovery_collector = Collector {
        name: "discovery".to_string(),
        items: discovered.types.len() as u64,
        errors: discovered.errors,
    };
    // "Now" is the API server's clock (its `Date` header on /version), not ours: object
    // timestamps are set by the server, so ages measured on its clock carry no client
    // skew, and a replay (`kubectl intel serve`) shows the time it was captured.
    let mut server_now = None;
    match version {
        Ok((v, date)) => {
            cluster.kubernetes_version = v;
            server_now = date;
        }
        Err(e) => discovery_collector.errors.push(e),
    }
    let skew = server_now
        .map(|t| t.duration_since(started))
        .unwrap_or_default();
    let on_server = |t: Timestamp| t.checked_add(skew).unwrap_or(t);
    let captured_at = util::rfc3339_seconds(server_now.unwrap_or(started));
    if discovered.types.is_empty() {
        progress.finish();
        return Err(nothing_captured(&cluster, discovery_collector.errors.first()).into());
    }

    let resources_and_logs = async {
        let listed = collect::list_all(client, &discovered.types, opts, &redactor, progress).await;
        let logs = if opts.logs {
            let pods = listed
                .iter()
                .find(|l| l.rtype.group.is_empty() && l.rtype.resource == "pods")
                .and_then(|l| l.items.as_deref())
                .unwrap_or(&[]);
            Some(logs::fetch_logs(client, pods, opts, &redactor, progress).await)
        } else {
            None
        };
        (listed, logs)
    };
    let samples = async {
        if opts.metrics {
            Some(metrics::sample_metrics(client, opts, progress).await)
        } else {
            None
        }
    };
    let series = async {
        match &opts.prometheus {
            Some(url) => Some(prometheus::query_all(url, opts, started, progress).await),
            None => None,
        }
    };
    let ((listed, logs), samples, series) = futures::join!(resources_and_logs, samples, series);
    progress.finish();
    let ended = Timestamp::now();

    if listed.iter().all(|l| l.items.is_none()) {
        let first = listed
            .iter()
            .flat_map(|l| l.errors.first())
            .next()
            .or(discovery_collector.errors.first());
        return Err(nothing_captured(&cluster, first).into());
    }

    let mut manifest = Manifest::new(cluster, captured_at.clone());
    let sampling_span = opts.interval.saturating_mul(opts.samples.saturating_sub(1));
    let reach = if opts.metrics {
        opts.window.max(sampling_span)
    } else {
        opts.window
    };
    manifest.window = Window {
        start: Some(util::rfc3339_seconds(util::minus(
            on_server(started),
            reach,
        ))),
        end: Some(util::rfc3339_seconds(on_server(ended)).max(captured_at)),
    };
    manifest.namespaces = opts.namespaces.clone();
    let mut collectors = vec![discovery_collector];
    collectors.extend(listed.iter().map(collect::Listed::collector));

    let mut snap = Snapshot::new(manifest);
    for l in listed {
        if let Some(items) = l.items {
            snap.insert_list(ResourceList::new(l.rtype, items));
        }
    }
    if let Some((logs, collector)) = logs {
        snap.logs = logs;
        collectors.push(collector);
    }
    if let Some((samples, collector)) = samples {
        snap.metrics = samples;
        collectors.push(collector);
    }
    if let Some((series, series_collectors)) = series {
        snap.prometheus = series;
        collectors.extend(series_collectors);
    }
    collectors.sort_by(|a, b| a.name.cmp(&b.name));
    snap.manifest.collectors = collectors;
    snap.manifest.redaction = Redaction {
        enabled: true,
        rules: redactor.rules(),
        redacted_values: redactor.redacted_count(),
    };
    Ok(snap)
}

/// The server's `gitVersion` (`v1.31.2`) and its clock (the answer's `Date` header).
/// `/version` is read as plain JSON rather than k8s-openapi's `Info`, so a server that
/// leaves fields out still gives its version.
async fn kubernetes_version(
    client: &Client,
    timeout: Duration,
) -> Result<(Option<String>, Option<Timestamp>), CollectorError> {
    let (info, date) = api::get_json_dated(client, "/version", timeout)
        .await
        .map_err(|e| e.to_collector_error("/version"))?;
    let version = info
        .get("gitVersion")
        .and_then(serde_json::Value::as_str)
        .filter(|v| !v.is_empty())
        .map(str::to_string);
    Ok((version, date))
}

fn nothing_captured(cluster: &ClusterInfo, first: Option<&CollectorError>) -> CaptureError {
    let cause = match first {
        Some(e) => match e.code {
            Some(code) => format!("GET {} answered {code}: {}", e.target, e.message),
            None => format!("GET {}: {}", e.target, e.message),
        },
        None => "the API server lists no resource types".to_string(),
    };
    CaptureError::NothingCaptured {
        cluster: cluster.name.clone(),
        server: cluster
            .server
            .clone()
            .unwrap_or_else(|| "the API server".to_string()),
        cause,
    }
}
