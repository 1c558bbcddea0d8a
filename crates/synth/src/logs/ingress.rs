//! ingress-nginx (the `Ingress` style): access lines with their upstream addresses,
//! statuses and times, the error-log lines of failed upstream attempts, and reloads.

use std::fmt::Write as _;

use crate::signals::{Peer, PeerError};

use super::app::{BROWSER_AGENTS, FRONTEND_ROUTES, TRANSIENT_SHARE};
use super::format::{fixed, push_klog, push_nginx_error, push_nginx_local};
use super::{Ctx, Gen, pseudo_ip};

impl<'c, 'a> Gen<'c, 'a> {
    /// The backend (Service) a path routes to: the peer named like the path's first API
    /// segment, else a frontend-like peer, else the first peer.
    fn backend_for(&self, path: &str) -> Option<&'c Peer> {
        let ctx: &'c Ctx<'a> = self.ctx;
        let peers = &ctx.sig.peers;
        let seg = path
            .trim_start_matches('/')
            .trim_start_matches("api/")
            .split(['/', '?'])
            .next()
            .unwrap_or("");
        let by_path = (!seg.is_empty()).then(|| {
            peers.iter().find(|p| {
                let s = p.service.as_str();
                seg.starts_with(s) || s.starts_with(seg)
            })
        });
        by_path
            .flatten()
            .or_else(|| {
                peers.iter().find(|p| {
                    ["front", "web", "storefront", "gateway"]
                        .iter()
                        .any(|k| p.service.contains(k))
                })
            })
            .or_else(|| peers.first())
    }

    pub(super) fn ingress_request(&mut self, t: i64) {
        let ctx = self.ctx;
        let after = ctx.after(t);
        let (method, path) = self.route(FRONTEND_ROUTES);
        let fails = after && self.rng.chance(ctx.error_rate);
        let transient =
            after && !fails && ctx.failing.is_some() && self.rng.chance(TRANSIENT_SHARE);
        let failing_peer = ctx.failing.as_ref().filter(|_| fails || transient);
        let (upstream_name, backend_ns, port, endpoint) = match failing_peer {
            Some((p, _)) => (
                format!("{}-{}-{}", p.namespace, p.service, p.port),
                p.namespace.clone(),
                p.port,
                // With the peer failing, nginx is shown reaching the Service address
                // (service-upstream): the address analyses can map to the Service.
                p.cluster_ip.clone(),
            ),
            None => match self.backend_for(&path) {
                Some(p) => {
                    let replica = self.rng.range(0, 2);
                    (
                        format!("{}-{}-{}", p.namespace, p.service, p.port),
                        p.namespace.clone(),
                        p.port,
                        pseudo_ip(
                            "10.244",
                            &format!("ep/{}/{}/{replica}", p.namespace, p.service),
                        ),
                    )
                }
                None => (
                    "upstream-default-backend".to_string(),
                    ctx.sig.namespace.clone(),
                    80,
                    pseudo_ip("10.244", "default-backend"),
                ),
            },
        };
        let server = format!("{backend_ns}.example.com");
        let client = format!("10.0.{}.{}", self.rng.range(0, 3), self.rng.range(2, 254));
        let rid = format!("{:016x}{:016x}", self.rng.next_u64(), self.rng.next_u64());
        let conn = self.next_id();
        let agent = self.pick(BROWSER_AGENTS);
        let healthy = self.healthy_latency();
        let mut latency = if after && ctx.latency_ms > 0.0 {
            ctx.latency_ms * self.rng.noise(0.25)
        } else {
            healthy
        };
        let mut addrs: Vec<String> = Vec::new();
        let mut statuses: Vec<u16> = Vec::new();
        let mut times: Vec<f64> = Vec::new();
        let mut status = if fails {
            ctx.sig.error_status
        } else {
            self.healthy_status(method, &path)
        };
        if let Some((peer, kind)) = failing_peer {
            // nginx's proxy_next_upstream retries errors and timeouts up to 3 tries;
            // an upstream's 503 is passed through.
            let tries = match (kind, fails) {
                (PeerError::ServerError, _) => 1,
                (_, true) => 3,
                (_, false) => 1,
            };
            let upstream_status = match kind {
                PeerError::Timeout => 504,
                PeerError::ServerError => 503,
                PeerError::PoolExhausted => 503,
                _ => 502,
            };
            let mut now = t;
            for _ in 0..tries {
                let spent = self.attempt_ms(*kind);
                now += spent;
                addrs.push(format!("{endpoint}:{port}"));
                statuses.push(upstream_status);
                times.push(spent as f64 / 1000.0);
                self.nginx_error(now, conn, *kind, peer, method, &path, &client, &server);
            }
            if !fails {
                // The next upstream answered.
                addrs.push(format!(
                    "{}:{port}",
                    pseudo_ip(
                        "10.244",
                        &format!("ep/{}/{}/0", peer.namespace, peer.service)
                    )
                ));
                statuses.push(status);
                times.push(healthy / 1000.0);
            } else {
                status = ctx.sig.error_status;
            }
            latency = (now - t) as f64 + if fails { 0.0 } else { healthy };
        } else {
            addrs.push(format!("{endpoint}:{port}"));
            statuses.push(status);
            times.push(latency / 1000.0);
        }
        let bytes = self.body_bytes(method, status);
        let req_len = self.rng.range(280, 900);
        let mut l = String::with_capacity(320);
        let _ = write!(l, "{client} - - [");
        let done = t + latency.round() as i64;
        push_nginx_local(&mut l, done);
        let referer = if self.rng.chance(0.6) {
            format!("https://{server}/")
        } else {
            "-".to_string()
        };
        let _ = write!(
            l,
            "] \"{method} {path} HTTP/1.1\" {status} {bytes} \"{referer}\" \"{agent}\" {req_len} {} [{upstream_name}] [] {} {} {} {} {rid}",
            fixed(latency / 1000.0, 3),
            addrs.join(", "),
            statuses
                .iter()
                .map(|s| if *s == status {
                    bytes.to_string()
                } else {
                    "0".to_string()
                })
                .collect::<Vec<_>>()
                .join(", "),
            times
                .iter()
                .map(|x| fixed(*x, 3))
                .collect::<Vec<_>>()
                .join(", "),
            statuses
                .iter()
                .map(u16::to_string)
                .collect::<Vec<_>>()
                .join(", "),
        );
        self.push(done, l);
    }

    /// nginx's error-log line for a failed attempt to reach `peer`.
    #[allow(clippy::too_many_arguments)]
    fn nginx_error(
        &mut self,
        t: i64,
        conn: u64,
        kind: PeerError,
        peer: &Peer,
        method: &str,
        path: &str,
        client: &str,
        server: &str,
    ) {
        let (level, msg) = match kind {
            PeerError::Timeout => (
                "error",
                "upstream timed out (110: Operation timed out) while reading response header from upstream".to_string(),
            ),
            PeerError::Refused => (
                "error",
                "connect() failed (111: Connection refused) while connecting to upstream".to_string(),
            ),
            PeerError::Reset => (
                "error",
                "recv() failed (104: Connection reset by peer) while reading response header from upstream".to_string(),
            ),
            PeerError::PoolExhausted => (
                "warn",
                "upstream server temporarily disabled while connecting to upstream".to_string(),
            ),
            PeerError::Dns => (
                "error",
                format!("{} could not be resolved (110: Operation timed out)", peer.host),
            ),
            // nginx passes an upstream's 503 through without an error-log line.
            PeerError::ServerError => return,
            PeerError::TlsExpired => (
                "error",
                "upstream SSL certificate verify error: (10:certificate has expired) while SSL handshaking to upstream".to_string(),
            ),
        };
        let scheme = if kind == PeerError::TlsExpired {
            "https"
        } else {
            "http"
        };
        let mut l = String::with_capacity(300);
        push_nginx_error(&mut l, t);
        let w = self.worker_pid;
        let _ = write!(
            l,
            "[{level}] {w}#{w}: *{conn} {msg}, client: {client}, server: {server}, request: \"{method} {path} HTTP/1.1\", upstream: \"{scheme}://{}:{}{path}\", host: \"{server}\"",
            peer.cluster_ip, peer.port
        );
        self.push(t, l);
    }

    pub(super) fn ingress_background(&mut self, t: i64) {
        let m = self.micro();
        let mut l = String::new();
        push_klog(&mut l, 'I', t, m, 7, "controller.go:190");
        l.push_str("\"Configuration changes detected, backend reload required\"");
        self.push(t, l);
        let t2 = t + self.rng.range(150, 900) as i64;
        let m = self.micro();
        let mut l = String::new();
        push_klog(&mut l, 'I', t2, m, 7, "controller.go:210");
        l.push_str("\"Backend successfully reloaded\"");
        self.push(t2, l);
    }
}
