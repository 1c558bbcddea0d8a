//! `kubectl intel serve`: replays a bundle as a read-only Kubernetes API, so `kubectl`, k9s
//! and any client-go tool work against a snapshot. It is also the project's test cluster:
//! no real API server can run on the build machines, so capture is tested against it.
//!
//! Owns HTTP only; what the objects are comes from the snapshot, how tables look from
//! [`table`], selector syntax from [`selector`]. It never writes anything but the kubeconfig
//! it was asked to write.

mod api;
mod discovery;
pub mod guard;
mod metrics;
mod prometheus;
pub mod selector;
pub mod table;

use axum::response::IntoResponse as _;
use intel_exit::Exit;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;
use clap::Args;

use intel_model::Snapshot;

#[derive(Args, Debug)]
#[command(
    after_help = "Examples:\n  kubectl intel serve prod.intel.tar.zst --kubeconfig-out prod.kubeconfig\n  kubectl --kubeconfig prod.kubeconfig get pods -A\n  kubectl --kubeconfig prod.kubeconfig logs -n shop auth-7d9f-x2k4p --previous\n  kubectl intel serve ./unpacked/ --listen 127.0.0.1:8001"
)]
pub struct ServeArgs {
    /// A bundle file (.intel.tar.zst) or an unpacked bundle directory.
    pub bundle: PathBuf,
    /// Address to listen on (loopback by default; port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:8001")]
    pub listen: SocketAddr,
    /// Write a kubeconfig pointing at this server, for `kubectl --kubeconfig PATH …`.
    #[arg(long)]
    pub kubeconfig_out: Option<PathBuf>,
    /// Step through the bundle's metric samples, oldest first, one per request (as if
    /// metrics-server were scraped live) instead of always answering the newest sample.
    #[arg(long)]
    pub replay_metrics: bool,
    /// Answer 403 Forbidden for a resource type (`secrets`, `deployments.apps`), as RBAC
    /// would; for testing how clients cope with partial access. Repeatable.
    #[arg(long, value_name = "RESOURCE[.GROUP]")]
    pub forbid: Vec<String>,
    /// Refuse a bundle one of whose files cannot be read (invalid JSON in a list, a metrics
    /// sample or a series). Without it that file is skipped, named on stderr and in the
    /// answer's limitations, and the rest is used.
    #[arg(long)]
    pub strict: bool,
}

/// Everything a request handler needs, built once at start.
pub struct ServeState {
    pub snap: Snapshot,
    /// The snapshot's capture time: ages in tables are computed against it, so a replay
    /// shows the cluster as it looked then.
    pub now: jiff::Timestamp,
    pub source: String,
    pub forbid: Vec<(String, String)>,
    pub metrics: metrics::Samples,
}

impl ServeState {
    pub fn new(snap: Snapshot, source: String, forbid: &[String], replay_metrics: bool) -> Self {
        let now = snap
            .manifest
            .captured_at
            .parse()
            .unwrap_or(jiff::Timestamp::UNIX_EPOCH);
        let forbid = forbid
            .iter()
            .map(|f| match f.split_once('.') {
                Some((r, g)) => (g.to_string(), r.to_string()),
                None => (String::new(), f.clone()),
            })
            .collect();
        let metrics = metrics::Samples::new(&snap, replay_metrics);
        ServeState {
            snap,
            now,
            source,
            forbid,
            metrics,
        }
    }
}

/// The router, for embedding in tests or other servers.
pub fn router(state: Arc<ServeState>) -> axum::Router {
    axum::Router::new()
        .fallback(api::handle)
        .layer(axum::middleware::map_response_with_state(
            state.clone(),
            stamp_date,
        ))
        .with_state(state)
}

/// Every answer's `Date` is the capture time: the replay's clock stands still there, so
/// a client that takes "now" from the server (as `capture` and live analyses do) sees
/// the cluster at the moment it was captured.
async fn stamp_date(
    axum::extract::State(state): axum::extract::State<Arc<ServeState>>,
    mut res: axum::response::Response,
) -> axum::response::Response {
    if let Ok(date) =
        jiff::fmt::rfc2822::DateTimePrinter::new().timestamp_to_rfc9110_string(&state.now)
    {
        if let Ok(v) = http::HeaderValue::from_str(&date) {
            res.headers_mut().insert(http::header::DATE, v);
        }
    }
    res
}

pub fn run(args: ServeArgs) -> anyhow::Result<Exit> {
    let limits = intel_bundle::ReadLimits {
        strict: args.strict,
        ..Default::default()
    };
    let loaded = intel_bundle::read_bundle_with(&args.bundle, &limits)?;
    for w in &loaded.warnings {
        eprintln!("warning: {w}");
    }
    let cluster = loaded.snapshot.cluster().to_string();
    let state = Arc::new(ServeState::new(
        loaded.snapshot,
        args.bundle.display().to_string(),
        &args.forbid,
        args.replay_metrics,
    ));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("cannot listen on {}", args.listen))?;
        let addr = listener.local_addr()?;
        let url = format!("http://{addr}");
        if let Some(path) = &args.kubeconfig_out {
            write_kubeconfig(path, &cluster, &url)?;
            eprintln!(
                "wrote {}: kubectl --kubeconfig {} get pods -A",
                path.display(),
                path.display()
            );
        }
        println!("serving cluster '{cluster}' (read-only replay) at {url}");
        if !addr.ip().is_loopback() {
            eprintln!(
                "warning: listening on {addr}, not loopback: anyone who can reach it can read this snapshot"
            );
        }
        let listen = addr.ip();
        let app = router(state).layer(axum::middleware::from_fn_with_state(
            listen,
            refuse_foreign_hosts,
        ));
        axum::serve(listener, app)
            .with_graceful_shutdown(shutdown())
            .await
            .context("server failed")?;
        Ok::<Exit, anyhow::Error>(Exit::Ok)
    })
}

/// Whether a request's `Host` and `Origin` name this server: loopback, or the address it
/// listens on (`guard`).
fn addressed_to_us(listen: std::net::IpAddr, headers: &http::HeaderMap) -> bool {
    let get =
        |name: http::header::HeaderName| headers.get(name).map(|v| v.to_str().unwrap_or("\u{0}"));
    let extra =
        (!listen.is_loopback() && !listen.is_unspecified()).then(|| guard::url_host(listen));
    let host_ok = get(http::header::HOST).is_none_or(|h| guard::host_allowed(h, listen));
    let origin_ok = listen.is_unspecified()
        || get(http::header::ORIGIN).is_none_or(|o| guard::origin_allowed(o, extra.as_deref()));
    host_ok && origin_ok
}

/// Refuses requests whose `Host` or `Origin` names something other than this server
/// (DNS rebinding, cross-site requests from a browser): a `Status` 403, as the API server
/// writes errors.
async fn refuse_foreign_hosts(
    axum::extract::State(listen): axum::extract::State<std::net::IpAddr>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    if addressed_to_us(listen, req.headers()) {
        return next.run(req).await;
    }
    let body = serde_json::json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": "this replay answers only requests addressed to it on loopback (Host and Origin); DNS rebinding and cross-site requests are refused",
        "reason": "Forbidden", "code": 403});
    (
        http::StatusCode::FORBIDDEN,
        [(http::header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

async fn shutdown() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(t) => t,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

/// A kubeconfig with one cluster, context and (credential-free) user for the replay.
pub fn write_kubeconfig(path: &Path, cluster: &str, url: &str) -> anyhow::Result<()> {
    let name = if cluster.is_empty() {
        "intel-replay"
    } else {
        cluster
    };
    let doc = serde_json::json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": name, "cluster": {"server": url}}],
        "users": [{"name": "intel-replay", "user": {}}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": "intel-replay"}}],
        "current-context": name,
    });
    // JSON is valid YAML; kubectl reads either.
    let text = serde_json::to_string_pretty(&doc)?;
    std::fs::write(path, text + "\n")
        .with_context(|| format!("cannot write kubeconfig {}", path.display()))
}
