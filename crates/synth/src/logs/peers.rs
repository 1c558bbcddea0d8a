//! Failing peers, in every style: the error text each client library prints for each
//! kind of failure (Go's net/http, pgx and lib/pq, go-redis, amqp), the retries with
//! exponential backoff around it, and the line each style writes for an attempt.

use std::fmt::Write as _;

use crate::signals::{LogStyle, Peer, PeerError};

use super::Gen;
use super::app::routes_for;
use super::format::{
    JsonLine, logfmt, push_json_str, push_klog, push_kv, push_pg, push_rabbit, push_redis,
    push_rfc3339, rfc3339_seconds,
};

/// The cluster DNS Service, as resolvers in pods see it.
const CLUSTER_DNS: &str = "10.96.0.10";
/// Retries a client makes after the first failed attempt.
const RETRIES: u32 = 3;
/// First backoff; doubled on each retry.
const BACKOFF_MS: u64 = 400;

/// How a peer is spoken to, which decides how its client library words its errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Proto {
    Http,
    Postgres,
    Redis,
    Amqp,
}

fn proto(p: &Peer) -> Proto {
    let name = format!("{} {}", p.service, p.host).to_ascii_lowercase();
    let has = |keys: &[&str]| keys.iter().any(|k| name.contains(k));
    if p.port == 5432 || has(&["postgres", "pgbouncer", "psql", "timescale"]) {
        Proto::Postgres
    } else if p.port == 6379 || has(&["redis", "valkey"]) {
        Proto::Redis
    } else if p.port == 5672 || has(&["rabbit", "amqp"]) {
        Proto::Amqp
    } else {
        Proto::Http
    }
}

/// Go's `net/http` spells the method like this in `url.Error`s: `Get "http://…"`.
fn go_method(method: &str) -> &'static str {
    match method {
        "POST" => "Post",
        "PUT" => "Put",
        "DELETE" => "Delete",
        "PATCH" => "Patch",
        _ => "Get",
    }
}

fn status_text(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        408 => "Request Timeout",
        409 => "Conflict",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Error",
    }
}

/// Why a peer-error line is written.
#[derive(Debug, Clone, Copy)]
enum Step {
    /// The attempt failed; retry `n` of [`RETRIES`] follows after `backoff_ms`.
    Retry { n: u32, backoff_ms: u64 },
    /// The last retry failed too.
    GiveUp,
}

impl<'c, 'a> Gen<'c, 'a> {
    /// How long one failed attempt of `kind` takes before the client notices (ms).
    pub(super) fn attempt_ms(&mut self, kind: PeerError) -> i64 {
        let lat = self.ctx.latency_ms;
        let ms = match kind {
            PeerError::Timeout => {
                if lat > 0.0 {
                    lat
                } else {
                    5_000.0
                }
            }
            PeerError::Refused => 1.0 + 2.0 * self.rng.unit(),
            PeerError::Reset => 5.0 + 200.0 * self.rng.unit(),
            PeerError::PoolExhausted => 1_000.0 + 2_000.0 * self.rng.unit(),
            PeerError::Dns => 2_000.0 + 3_000.0 * self.rng.unit(),
            PeerError::ServerError => 20.0 + 280.0 * self.rng.unit(),
            PeerError::TlsExpired => 2.0 + 8.0 * self.rng.unit(),
        };
        ms.round() as i64
    }

    /// The error text a client of `peer` prints for `kind`, at time `t`.
    fn peer_error(
        &mut self,
        t: i64,
        peer: &Peer,
        kind: PeerError,
        method: &str,
        path: &str,
    ) -> String {
        let ctx = self.ctx;
        let (host, port, ip) = (&peer.host, peer.port, &peer.cluster_ip);
        let pod_ip = &ctx.pod_ip;
        let eph = self.rng.range(32_768, 60_999);
        let alt = self.rng.chance(0.5);
        let waiting = self.rng.range(80, 200);
        let expired = || {
            format!(
                "x509: certificate has expired or is not yet valid: current time {} is after {}",
                rfc3339_seconds(t),
                rfc3339_seconds(ctx.onset.unwrap_or(t))
            )
        };
        let dns = |alt: bool| {
            if alt {
                format!(
                    "lookup {host} on {CLUSTER_DNS}:53: read udp {pod_ip}:{eph}->{CLUSTER_DNS}:53: i/o timeout"
                )
            } else {
                format!("lookup {host} on {CLUSTER_DNS}:53: no such host")
            }
        };
        let refused = || format!("dial tcp {ip}:{port}: connect: connection refused");
        let reset =
            || format!("read tcp {pod_ip}:{eph}->{ip}:{port}: read: connection reset by peer");
        let pool = || format!("connection pool exhausted (max=50, waiting={waiting})");
        match proto(peer) {
            Proto::Http => {
                let scheme = if kind == PeerError::TlsExpired { "https" } else { "http" };
                let url = format!("{scheme}://{host}:{port}{path}");
                let m = go_method(method);
                match kind {
                    PeerError::Timeout if alt => format!("{m} \"{url}\": dial tcp {ip}:{port}: i/o timeout"),
                    PeerError::Timeout => format!(
                        "{m} \"{url}\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)"
                    ),
                    PeerError::Refused => format!("{m} \"{url}\": {}", refused()),
                    PeerError::Reset => format!("{m} \"{url}\": {}", reset()),
                    PeerError::PoolExhausted => format!("{m} \"{url}\": {}", pool()),
                    PeerError::Dns => format!("{m} \"{url}\": dial tcp: {}", dns(alt)),
                    PeerError::ServerError => {
                        let code = if self.rng.chance(0.8) { 503 } else { 500 };
                        format!("{method} {url}: upstream returned {code} {}", status_text(code))
                    }
                    PeerError::TlsExpired => {
                        format!("{m} \"{url}\": tls: failed to verify certificate: {}", expired())
                    }
                }
            }
            Proto::Postgres => {
                let dsn = format!("host={host} user=app database={}", peer.namespace);
                match kind {
                    PeerError::Timeout => format!(
                        "failed to connect to `{dsn}`: dial error (timeout: dial tcp {ip}:{port}: i/o timeout)"
                    ),
                    PeerError::Refused => format!("failed to connect to `{dsn}`: dial error ({})", refused()),
                    PeerError::Reset => format!("unexpected EOF: {}", reset()),
                    PeerError::PoolExhausted if alt => format!(
                        "failed to connect to `{dsn}`: server error (FATAL: sorry, too many clients already (SQLSTATE 53300))"
                    ),
                    PeerError::PoolExhausted => {
                        "pq: remaining connection slots are reserved for non-replication superuser connections".to_string()
                    }
                    PeerError::Dns => {
                        format!("failed to connect to `{dsn}`: hostname resolving error ({})", dns(alt))
                    }
                    PeerError::ServerError => format!(
                        "failed to connect to `{dsn}`: server error (FATAL: the database system is starting up (SQLSTATE 57P03))"
                    ),
                    PeerError::TlsExpired => format!(
                        "failed to connect to `{dsn}`: tls error (tls: failed to verify certificate: {})",
                        expired()
                    ),
                }
            }
            p @ (Proto::Redis | Proto::Amqp) => match kind {
                PeerError::Timeout if alt => format!("dial tcp {ip}:{port}: i/o timeout"),
                PeerError::Timeout => format!("read tcp {pod_ip}:{eph}->{ip}:{port}: i/o timeout"),
                PeerError::Refused => refused(),
                PeerError::Reset => reset(),
                PeerError::PoolExhausted => pool(),
                PeerError::Dns => format!("dial tcp: {}", dns(alt)),
                PeerError::ServerError if p == Proto::Redis => {
                    "LOADING Redis is loading the dataset in memory".to_string()
                }
                PeerError::ServerError => {
                    "Exception (320) Reason: \"CONNECTION_FORCED - broker forced connection closure with reason 'shutdown'\"".to_string()
                }
                PeerError::TlsExpired => format!("tls: failed to verify certificate: {}", expired()),
            },
        }
    }

    /// Calls the failing peer at `t` and logs each failed attempt as the client does.
    /// `give_up`: every attempt fails; otherwise one or two fail and a retry succeeds.
    /// Returns the time spent (ms).
    pub(super) fn call_failing_peer(&mut self, t: i64, give_up: bool, rid: Option<&str>) -> i64 {
        let ctx = self.ctx;
        let Some((peer, kind)) = ctx.failing.as_ref() else {
            return 0;
        };
        let (method, path) = self.route(routes_for(&peer.service));
        let failures = if give_up {
            RETRIES + 1
        } else {
            self.rng.range(1, 2) as u32
        };
        let mut now = t;
        for attempt in 1..=failures {
            now += self.attempt_ms(*kind);
            let err = self.peer_error(now, peer, *kind, method, &path);
            if attempt <= RETRIES {
                let backoff_ms = BACKOFF_MS << (attempt - 1);
                self.peer_line(
                    now,
                    peer,
                    &err,
                    Step::Retry {
                        n: attempt,
                        backoff_ms,
                    },
                    rid,
                );
                now += backoff_ms as i64;
            } else {
                self.peer_line(now, peer, &err, Step::GiveUp, rid);
            }
        }
        if !give_up {
            now += self.healthy_latency().round() as i64;
        }
        now - t
    }

    /// One peer-error line in the container's style.
    fn peer_line(&mut self, t: i64, peer: &Peer, err: &str, step: Step, rid: Option<&str>) {
        let svc = peer.service.as_str();
        let addr = format!("{}:{}", peer.host, peer.port);
        let (level, msg, retry, backoff) = match step {
            Step::Retry { n, backoff_ms } => (
                "warn",
                format!("call to {svc} failed, retrying"),
                Some(format!("{n}/{RETRIES}")),
                Some(format!("{backoff_ms}ms")),
            ),
            Step::GiveUp => (
                "error",
                format!("call to {svc} failed after {} attempts", RETRIES + 1),
                None,
                None,
            ),
        };
        // ` peer=… addr=… retry=… backoff=…` for the styles with free-form text.
        let mut tail = String::new();
        push_kv(&mut tail, "peer", svc);
        push_kv(&mut tail, "addr", &addr);
        if let (Some(r), Some(b)) = (&retry, &backoff) {
            push_kv(&mut tail, "retry", r);
            push_kv(&mut tail, "backoff", b);
        }
        let upper = if level == "warn" { "WARN" } else { "ERROR" };
        let line = match self.ctx.sig.style {
            LogStyle::Json => {
                let mut l = JsonLine::new(t, level, &msg)
                    .str("peer", svc)
                    .str("addr", &addr)
                    .str("error", err);
                if let (Some(r), Some(b)) = (&retry, &backoff) {
                    l = l.str("retry", r).str("backoff", b);
                }
                if let Some(rid) = rid {
                    l = l.str("request_id", rid);
                }
                l.end()
            }
            LogStyle::Logfmt => {
                let mut l = logfmt(t, level, &msg);
                push_kv(&mut l, "peer", svc);
                push_kv(&mut l, "addr", &addr);
                push_kv(&mut l, "err", err);
                if let (Some(r), Some(b)) = (&retry, &backoff) {
                    push_kv(&mut l, "retry", r);
                    push_kv(&mut l, "backoff", b);
                }
                if let Some(rid) = rid {
                    push_kv(&mut l, "request_id", rid);
                }
                l
            }
            LogStyle::Postgres => {
                let mut l = String::new();
                push_pg(&mut l, t, self.worker_pid + 2);
                let _ = write!(l, "WARNING:  {msg}: {err} ({})", tail.trim_start());
                l
            }
            LogStyle::Redis => {
                let mut l = String::new();
                push_redis(&mut l, t, 1, 'M');
                let _ = write!(l, "# {msg}: {err}{tail}");
                l
            }
            LogStyle::Queue => {
                let mut l = String::new();
                let m = self.micro();
                push_rabbit(&mut l, t, m);
                let id = self.next_id();
                let level = if level == "warn" { "warning" } else { "error" };
                let _ = write!(l, "[{level}] <0.{id}.0> {msg}: {err}{tail}");
                l
            }
            LogStyle::System => {
                let mut l = String::new();
                let m = self.micro();
                let lvl = if level == "warn" { 'W' } else { 'E' };
                push_klog(&mut l, lvl, t, m, 1, "client.go:187");
                push_json_str(&mut l, &msg);
                let _ = write!(l, " peer=\"{svc}\" addr=\"{addr}\" err=");
                push_json_str(&mut l, err);
                if let (Some(r), Some(b)) = (&retry, &backoff) {
                    let _ = write!(l, " retry=\"{r}\" backoff=\"{b}\"");
                }
                l
            }
            LogStyle::CoreDns => {
                let mut l = String::new();
                push_rfc3339(&mut l, t);
                let _ = write!(l, " [{upper}] plugin/forward: {msg}: {err}{tail}");
                l
            }
            LogStyle::Access | LogStyle::Batch | LogStyle::Ingress => {
                let mut l = String::new();
                push_rfc3339(&mut l, t);
                let _ = write!(l, " {upper} {msg}{tail}");
                push_kv(&mut l, "err", err);
                if let Some(rid) = rid {
                    push_kv(&mut l, "req_id", rid);
                }
                l
            }
        };
        self.push(t, line);
    }

    /// After onset, a background task (no request to fail) that talks to the failing peer:
    /// logs its failures and returns whether it gave up.
    pub(super) fn background_peer_call(&mut self, t: i64) -> Option<bool> {
        let ctx = self.ctx;
        if ctx.failing.is_none() || !ctx.after(t) {
            return None;
        }
        // A worker's every task needs the peer; a server (a database, a broker, a
        // system component) keeps doing its own work between the failing calls.
        let worker = matches!(
            ctx.sig.style,
            LogStyle::Access | LogStyle::Json | LogStyle::Logfmt | LogStyle::Batch
        );
        if !worker && self.rng.chance(0.5) {
            return None;
        }
        let p = if ctx.error_rate > 0.0 {
            ctx.error_rate.max(0.5)
        } else {
            0.3
        };
        let give_up = self.rng.chance(p);
        self.call_failing_peer(t, give_up, None);
        Some(give_up)
    }
}
