//! What each container and node *does* during the capture window, described once so that
//! logs, metrics and Prometheus series are rendered consistently from the same facts.
//! The generator fills a healthy baseline; faults change it (a leak's slope, a failing
//! peer, a crash) before anything is rendered.

/// How a container writes its log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogStyle {
    /// HTTP access log lines (frontend, gateway): method, path, status, latency, upstream.
    Access,
    /// JSON lines from an application service (auth, cart, checkout…).
    Json,
    /// logfmt lines (`level=info msg=…`) from an application service.
    Logfmt,
    Postgres,
    Redis,
    /// A message broker (RabbitMQ-style).
    Queue,
    /// The ingress controller (nginx-ingress access log format).
    Ingress,
    CoreDns,
    /// A batch job: start, progress, completion.
    Batch,
    /// Terse system component lines (kube-proxy, metrics-server).
    System,
}

/// A dependency as the container is configured to reach it.
#[derive(Debug, Clone, PartialEq)]
pub struct Peer {
    /// The Service name (`auth`), namespace-local.
    pub service: String,
    pub namespace: String,
    /// How the config names it (`auth.shop.svc.cluster.local`, `redis`, `postgres.shop`).
    pub host: String,
    pub port: u16,
    /// The Service's ClusterIP, as it shows in connection errors (`dial tcp 10.96.3.12:9000`).
    pub cluster_ip: String,
}

/// A failure seen when calling a peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerError {
    /// i/o timeout / context deadline exceeded.
    Timeout,
    /// connection refused (no endpoints, process down).
    Refused,
    /// connection reset by peer.
    Reset,
    /// the peer's connection pool or slots are exhausted ("too many clients", "pool exhausted").
    PoolExhausted,
    /// DNS lookup failures (`no such host`, `i/o timeout` on port 53).
    Dns,
    /// the peer answered 503/500.
    ServerError,
    /// TLS handshake failure: certificate expired.
    TlsExpired,
}

/// An explicit log line a fault adds at a time (minutes before capture).
#[derive(Debug, Clone, PartialEq)]
pub struct LogLine {
    pub minutes_ago: f64,
    pub text: String,
}

/// The previous (terminated) instance of a restarted container.
#[derive(Debug, Clone, PartialEq)]
pub struct Previous {
    /// Started this many minutes before capture…
    pub started_minutes_ago: f64,
    /// …and ended this many minutes before capture.
    pub ended_minutes_ago: f64,
    /// Lines it wrote at the end (its last words: a panic, an OOM, a config error). Rendered
    /// after ordinary lines of its style.
    pub last_lines: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ContainerSignals {
    pub namespace: String,
    pub pod: String,
    pub container: String,
    /// The application the container belongs to (`checkout`), for message content.
    pub app: String,
    pub style: LogStyle,
    pub peers: Vec<Peer>,
    /// Requests and limits: CPU in millicores, memory in bytes.
    pub cpu_request_m: f64,
    pub cpu_limit_m: Option<f64>,
    pub mem_request: f64,
    pub mem_limit: Option<f64>,
    /// Healthy usage at the start of the window.
    pub cpu_base_m: f64,
    pub mem_base: f64,
    /// Memory growth in bytes per minute after `onset_minutes_ago` (a leak).
    pub mem_slope_per_min: f64,
    /// CPU multiplier after onset (a surge, a costly new code path). 1.0 = unchanged.
    pub cpu_factor: f64,
    /// Requests per second served (0 for non-serving containers).
    pub rps: f64,
    /// Share of requests failing after onset, 0..1, and the status they fail with.
    pub error_rate: f64,
    pub error_status: u16,
    /// Typical latency in ms after onset (healthy latency is the style's own baseline).
    pub latency_ms: f64,
    /// A dependency that fails after onset, and how.
    pub failing_peer: Option<(String, PeerError)>,
    /// When the fault's effects begin, in minutes before capture; `None` = healthy all along.
    pub onset_minutes_ago: Option<f64>,
    /// Whether the container is running at capture (has a current log and metrics).
    pub running: bool,
    /// Minutes before capture the current instance started (its log begins there).
    pub started_minutes_ago: f64,
    pub previous: Option<Previous>,
    /// Explicit lines added by faults, rendered in time order among the ordinary ones.
    pub extra_lines: Vec<LogLine>,
}

impl ContainerSignals {
    /// A healthy, quiet container; the generator then fills in what it knows.
    pub fn new(namespace: &str, pod: &str, container: &str, app: &str, style: LogStyle) -> Self {
        ContainerSignals {
            namespace: namespace.to_string(),
            pod: pod.to_string(),
            container: container.to_string(),
            app: app.to_string(),
            style,
            peers: Vec::new(),
            cpu_request_m: 100.0,
            cpu_limit_m: None,
            mem_request: 128.0 * 1024.0 * 1024.0,
            mem_limit: None,
            cpu_base_m: 20.0,
            mem_base: 64.0 * 1024.0 * 1024.0,
            mem_slope_per_min: 0.0,
            cpu_factor: 1.0,
            rps: 0.0,
            error_rate: 0.0,
            error_status: 500,
            latency_ms: 0.0,
            failing_peer: None,
            onset_minutes_ago: None,
            running: true,
            started_minutes_ago: 60.0 * 24.0,
            previous: None,
            extra_lines: Vec::new(),
        }
    }
}

/// A node's usage: the sum of its pods is computed by the renderer; this adds the
/// system overhead and any fault (a noisy neighbour, a runaway daemon).
#[derive(Debug, Clone, PartialEq)]
pub struct NodeSignals {
    pub name: String,
    pub cpu_capacity_m: f64,
    pub mem_capacity: f64,
    pub system_cpu_m: f64,
    pub system_mem: f64,
    /// Whether metrics-server can scrape it (a NotReady node has no sample).
    pub reporting: bool,
}

/// Everything the renderers need.
#[derive(Debug, Clone, Default)]
pub struct Signals {
    pub containers: Vec<ContainerSignals>,
    pub nodes: Vec<NodeSignals>,
    /// pod (namespace, name) → node name, for node sums.
    pub pod_nodes: Vec<((String, String), String)>,
}
