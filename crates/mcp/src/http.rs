//! Streamable HTTP transport (`--listen`), at `/mcp`.
//!
//! Two guards run before rmcp sees a request. `Origin`: a web page the user visits can make
//! the browser post to a loopback server, and DNS rebinding can make any host name resolve
//! to 127.0.0.1, so a request carrying an Origin whose host is not loopback (or the listen
//! host) is refused. `Authorization`: with `--token-file`, every request must carry
//! `Bearer <token>` (compared in constant time). rmcp's own `Host` check stays on for
//! loopback listeners.

use intel_serve::guard::{origin_allowed, url_host};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use http::header::{AUTHORIZATION, ORIGIN, WWW_AUTHENTICATE};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};

use super::server::IntelServer;

/// The credentials of an `Authorization: Bearer <token>` header. The scheme is
/// case-insensitive (RFC 7235 §2.1: `bearer`, `BEARER` are the same scheme).
fn bearer(header: &str) -> Option<&str> {
    let (scheme, credentials) = header.trim_start().split_once(' ')?;
    scheme.eq_ignore_ascii_case("Bearer").then_some(credentials)
}

/// Reads a bearer token: the file's content, surrounding whitespace removed.
pub fn read_token(path: &Path) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read --token-file {}", path.display()))?;
    let token = text.trim().to_string();
    if token.len() < 16 || token.chars().any(|c| c.is_whitespace() || c.is_control()) {
        anyhow::bail!(
            "--token-file {}: the token must be one word of at least 16 characters (e.g. `openssl rand -hex 32 > {}`)",
            path.display(),
            path.display()
        );
    }
    Ok(token)
}

struct Guard {
    token: Option<String>,
    /// Hosts an Origin may name besides the loopback ones: the listen address, if specific.
    extra_host: Option<String>,
    /// The sessions rmcp holds, to refuse new ones past `max_sessions` (each holds a worker
    /// and its buffers; idle ones expire after rmcp's keep-alive, five minutes).
    sessions: Arc<LocalSessionManager>,
    max_sessions: usize,
}

/// Sessions at once when `--max-sessions` is not given.
pub const DEFAULT_MAX_SESSIONS: usize = 256;

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn guard(State(g): State<Arc<Guard>>, req: Request, next: Next) -> Response {
    if let Some(origin) = req.headers().get(ORIGIN) {
        let allowed = origin
            .to_str()
            .is_ok_and(|o| origin_allowed(o, g.extra_host.as_deref()));
        if !allowed {
            return (
                StatusCode::FORBIDDEN,
                "Origin not allowed: this server only accepts browser requests from localhost",
            )
                .into_response();
        }
    }
    if let Some(token) = &g.token {
        let ok = req
            .headers()
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(bearer)
            .is_some_and(|got| constant_time_eq(got.trim().as_bytes(), token.as_bytes()));
        if !ok {
            return (
                StatusCode::UNAUTHORIZED,
                [(WWW_AUTHENTICATE, "Bearer")],
                "missing or wrong bearer token (Authorization: Bearer <token from --token-file>)",
            )
                .into_response();
        }
    }
    // A request without a session id opens one (initialize): refused while full.
    if req.method() == http::Method::POST
        && !req.headers().contains_key("mcp-session-id")
        && g.sessions.sessions.read().await.len() >= g.max_sessions
    {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [(http::header::RETRY_AFTER, "60")],
            format!(
                "too many MCP sessions ({} open, --max-sessions {}): close one (DELETE /mcp with its Mcp-Session-Id) or wait for idle ones to expire",
                g.max_sessions, g.max_sessions
            ),
        )
            .into_response();
    }
    next.run(req).await
}

/// The router: `/mcp` behind the guards. Public for tests and the benchmark.
pub fn router(
    server: IntelServer,
    listen: SocketAddr,
    token: Option<String>,
    max_sessions: usize,
) -> axum::Router {
    let ip = listen.ip();
    let mut config = StreamableHttpServerConfig::default();
    if ip.is_loopback() {
        let mut hosts = vec!["localhost".to_string(), "127.0.0.1".into(), "::1".into()];
        hosts.push(ip.to_string());
        config = config.with_allowed_hosts(hosts);
    } else {
        // Clients reach a public listener by names we cannot know; the token guards it.
        config = config.disable_allowed_hosts();
    }
    let sessions = Arc::new(LocalSessionManager::default());
    let service = StreamableHttpService::new(move || Ok(server.clone()), sessions.clone(), config);
    let guard_state = Arc::new(Guard {
        token,
        extra_host: (!ip.is_unspecified()).then(|| url_host(ip)),
        sessions,
        max_sessions: max_sessions.max(1),
    });
    axum::Router::new()
        .nest_service("/mcp", service)
        .layer(axum::middleware::from_fn_with_state(guard_state, guard))
}

pub async fn serve(
    server: IntelServer,
    addr: SocketAddr,
    token: Option<String>,
    max_sessions: usize,
) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let bound = listener.local_addr()?;
    eprintln!(
        "kubectl-intel mcp: listening on http://{}/mcp{}",
        bound,
        if token.is_some() {
            " (bearer token required)"
        } else {
            ""
        }
    );
    axum::serve(listener, router(server, bound, token, max_sessions))
        .with_graceful_shutdown(shutdown())
        .await
        .context("MCP HTTP server failed")
}

async fn shutdown() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bearer_scheme_is_case_insensitive() {
        assert_eq!(bearer("Bearer abc"), Some("abc"));
        assert_eq!(bearer("bearer abc"), Some("abc"));
        assert_eq!(bearer("BEARER abc"), Some("abc"));
        assert_eq!(bearer("Basic abc"), None);
        assert_eq!(bearer("Bearerabc"), None);
        assert_eq!(bearer(""), None);
    }

    #[test]
    fn origins_are_checked_by_host() {
        assert!(origin_allowed("http://localhost:6274", None));
        assert!(origin_allowed("https://127.0.0.1", None));
        assert!(origin_allowed("http://[::1]:80", None));
        assert!(!origin_allowed("http://evil.example", None));
        assert!(!origin_allowed("http://localhost.evil.example", None));
        assert!(!origin_allowed("null", None));
        assert!(!origin_allowed("file://", None));
        assert!(origin_allowed("http://10.0.0.5:8765", Some("10.0.0.5")));
        assert!(!origin_allowed("http://10.0.0.6:8765", Some("10.0.0.5")));
    }

    #[test]
    fn tokens_compare_exactly() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
    }
}
