//! Application services (the `Access`, `Json` and `Logfmt` styles): requests served and
//! background work, and the request vocabulary (routes per application, user agents,
//! handler errors) that ingress and peer calls reuse.

use std::fmt::Write as _;

use crate::signals::LogStyle;

use super::Gen;
use super::format::{JsonLine, fixed, logfmt, push_kv, push_rfc3339};

// ---------------------------------------------------------------------------------------
// What requests look like per application.

pub(super) type Route = (&'static str, &'static str);

pub(super) const FRONTEND_ROUTES: &[Route] = &[
    ("GET", "/"),
    ("GET", "/api/products"),
    ("GET", "/api/products/{id}"),
    ("GET", "/api/cart"),
    ("POST", "/api/cart/items"),
    ("POST", "/api/checkout"),
    ("POST", "/api/login"),
    ("GET", "/static/js/main.js"),
];
const CART_ROUTES: &[Route] = &[
    ("GET", "/api/cart"),
    ("GET", "/api/cart"),
    ("POST", "/api/cart/items"),
    ("PUT", "/api/cart/items/{id}"),
    ("DELETE", "/api/cart/items/{id}"),
];
const CHECKOUT_ROUTES: &[Route] = &[
    ("POST", "/api/checkout"),
    ("GET", "/api/orders/{id}"),
    ("POST", "/api/checkout/{id}/confirm"),
];
const AUTH_ROUTES: &[Route] = &[
    ("POST", "/api/login"),
    ("POST", "/api/token/refresh"),
    ("GET", "/api/session"),
    ("GET", "/api/session"),
    ("POST", "/api/logout"),
];
const CATALOG_ROUTES: &[Route] = &[
    ("GET", "/api/products"),
    ("GET", "/api/products/{id}"),
    ("GET", "/api/products/{id}"),
    ("GET", "/api/search?q=shoes"),
    ("GET", "/api/products/{id}/stock"),
];
const PAYMENT_ROUTES: &[Route] = &[
    ("POST", "/api/payments"),
    ("POST", "/api/payments/{id}/capture"),
    ("GET", "/api/payments/{id}"),
];
const ORDER_ROUTES: &[Route] = &[
    ("GET", "/api/orders"),
    ("GET", "/api/orders/{id}"),
    ("POST", "/api/orders"),
];
const NOTIFY_ROUTES: &[Route] = &[("POST", "/api/notifications"), ("POST", "/api/emails")];
const RECOMMEND_ROUTES: &[Route] = &[("GET", "/api/recommendations?product={id}")];
const SHIPPING_ROUTES: &[Route] = &[
    ("POST", "/api/shipping/quote"),
    ("GET", "/api/shipments/{id}"),
];
const GENERIC_ROUTES: &[Route] = &[
    ("GET", "/api/v1/items"),
    ("GET", "/api/v1/items/{id}"),
    ("POST", "/api/v1/items"),
    ("GET", "/api/v1/status"),
];

/// The routes an application (or a Service, for outgoing calls) serves, by its name.
pub(super) fn routes_for(name: &str) -> &'static [Route] {
    const TABLE: &[(&[&str], &[Route])] = &[
        (&["checkout"], CHECKOUT_ROUTES),
        (&["cart", "basket"], CART_ROUTES),
        (
            &["auth", "login", "identity", "user", "account", "session"],
            AUTH_ROUTES,
        ),
        (
            &["catalog", "product", "search", "inventory", "stock"],
            CATALOG_ROUTES,
        ),
        (&["pay", "billing"], PAYMENT_ROUTES),
        (&["order"], ORDER_ROUTES),
        (&["notif", "email", "mail"], NOTIFY_ROUTES),
        (&["recommend"], RECOMMEND_ROUTES),
        (&["ship", "deliver"], SHIPPING_ROUTES),
        (
            &[
                "front",
                "web",
                "gateway",
                "storefront",
                "bff",
                "ingress",
                "shop",
            ],
            FRONTEND_ROUTES,
        ),
    ];
    let n = name.to_ascii_lowercase();
    TABLE
        .iter()
        .find(|(keys, _)| keys.iter().any(|k| n.contains(k)))
        .map_or(GENERIC_ROUTES, |(_, r)| *r)
}

pub(super) const BROWSER_AGENTS: &[&str] = &[
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0",
];
const SERVICE_AGENTS: &[&str] = &[
    "Go-http-client/1.1",
    "okhttp/4.12.0",
    "python-requests/2.32.3",
];
const PROBE_AGENT: &str = "kube-probe/1.33";

/// Share of requests that are kubelet probes (never failing: they touch no dependency).
const PROBE_SHARE: f64 = 0.04;
/// Share of otherwise successful requests after onset that hit the failing peer once and
/// succeed on retry: the retry storm around a flaky dependency.
pub(super) const TRANSIENT_SHARE: f64 = 0.2;

/// What a handler reports when a request fails without a named dependency to blame.
pub(super) fn handler_error(status: u16) -> &'static str {
    match status {
        429 => "rate limit exceeded",
        500 => "internal error: unexpected nil value",
        502 => "bad gateway",
        503 => "service overloaded, shedding load",
        504 => "context deadline exceeded",
        s if s < 500 => "request rejected",
        _ => "internal error",
    }
}

/// A request as an access log records it.
struct Request<'r> {
    method: &'r str,
    path: &'r str,
    status: u16,
    latency_ms: f64,
    bytes: u64,
    rid: &'r str,
    client: &'r str,
    agent: &'r str,
}

impl<'c, 'a> Gen<'c, 'a> {
    pub(super) fn app_request(&mut self, t: i64) {
        let ctx = self.ctx;
        let after = ctx.after(t);
        let probe = self.rng.chance(PROBE_SHARE);
        let (method, path) = if probe {
            ("GET", "/healthz".to_string())
        } else {
            self.route(ctx.routes)
        };
        let rid = self.req_id();
        let fails = after && !probe && self.rng.chance(ctx.error_rate);
        let mut latency = if probe {
            0.3 + 2.0 * self.rng.unit()
        } else if after && ctx.latency_ms > 0.0 {
            ctx.latency_ms * self.rng.noise(0.25)
        } else {
            self.healthy_latency()
        };
        let status = if fails {
            ctx.sig.error_status
        } else if probe {
            200
        } else {
            self.healthy_status(method, &path)
        };
        let mut blamed_peer = false;
        if after && !probe && ctx.failing.is_some() && (fails || self.rng.chance(TRANSIENT_SHARE)) {
            latency += self.call_failing_peer(t, fails, Some(&rid)) as f64;
            blamed_peer = fails;
        }
        let bytes = if probe {
            2
        } else {
            self.body_bytes(method, status)
        };
        let client = self.client_ip();
        let agent = if probe {
            PROBE_AGENT
        } else if ctx.routes == FRONTEND_ROUTES {
            self.pick(BROWSER_AGENTS)
        } else {
            self.pick(SERVICE_AGENTS)
        };
        let done = t + latency.round() as i64;
        let req = Request {
            method,
            path: &path,
            status,
            latency_ms: latency,
            bytes,
            rid: &rid,
            client: &client,
            agent,
        };
        self.request_line(done, &req, blamed_peer);
    }

    /// The line a service writes when a request completes.
    fn request_line(&mut self, t: i64, r: &Request, blamed_peer: bool) {
        let failed = r.status >= 500 || r.status == 429;
        let error = (failed && !blamed_peer).then(|| handler_error(r.status));
        let level = if r.status >= 500 {
            "error"
        } else if r.status >= 400 {
            "warn"
        } else {
            "info"
        };
        let msg = if failed {
            "request failed"
        } else {
            "request completed"
        };
        match self.ctx.sig.style {
            LogStyle::Json => {
                let mut l = JsonLine::new(t, level, msg)
                    .str("method", r.method)
                    .str("path", r.path)
                    .num("status", r.status)
                    .num("duration_ms", fixed(r.latency_ms, 1))
                    .num("bytes", r.bytes)
                    .str("remote_addr", r.client)
                    .str("user_agent", r.agent)
                    .str("request_id", r.rid);
                if let Some(e) = error {
                    l = l.str("error", e);
                }
                self.push(t, l.end());
            }
            LogStyle::Logfmt => {
                let mut l = logfmt(t, level, msg);
                push_kv(&mut l, "method", r.method);
                push_kv(&mut l, "path", r.path);
                push_kv(&mut l, "status", &r.status.to_string());
                push_kv(&mut l, "duration", &format!("{}ms", fixed(r.latency_ms, 1)));
                push_kv(&mut l, "bytes", &r.bytes.to_string());
                push_kv(&mut l, "remote_addr", r.client);
                push_kv(&mut l, "request_id", r.rid);
                if let Some(e) = error {
                    push_kv(&mut l, "err", e);
                }
                self.push(t, l);
            }
            _ => {
                if let Some(e) = error {
                    let mut l = String::new();
                    push_rfc3339(&mut l, t);
                    let _ = write!(l, " ERROR handler error");
                    push_kv(&mut l, "status", &r.status.to_string());
                    push_kv(&mut l, "err", e);
                    push_kv(&mut l, "req_id", r.rid);
                    self.push(t, l);
                }
                let mut l = String::new();
                push_rfc3339(&mut l, t);
                let _ = write!(
                    l,
                    " {} - - \"{} {} HTTP/1.1\" {} {} \"-\" \"{}\" {} req_id={}",
                    r.client,
                    r.method,
                    r.path,
                    r.status,
                    r.bytes,
                    r.agent,
                    fixed(r.latency_ms / 1000.0, 3),
                    r.rid
                );
                self.push(t, l);
            }
        }
    }

    pub(super) fn app_background(&mut self, t: i64) {
        let ctx = self.ctx;
        let worker = ctx.rps <= 0.0;
        if ctx.sig.style == LogStyle::Access && !worker {
            // A web server's idle time shows as its probes.
            let rid = self.req_id();
            let latency = 0.3 + 2.0 * self.rng.unit();
            let client = self.client_ip();
            let req = Request {
                method: "GET",
                path: "/healthz",
                status: 200,
                latency_ms: latency,
                bytes: 2,
                rid: &rid,
                client: &client,
                agent: PROBE_AGENT,
            };
            self.request_line(t, &req, false);
            return;
        }
        let mut t_done = t;
        let mut failed = false;
        if worker && let Some(gave_up) = self.background_peer_call(t) {
            failed = gave_up;
            t_done = t + 5_000 + self.rng.range(0, 4_000) as i64;
        }
        if worker && !failed && ctx.after(t) && self.rng.chance(ctx.error_rate) {
            failed = true;
        }
        let (level, msg, fields): (&str, &str, Vec<(&str, String)>) = if worker {
            let count = self.rng.range(10, 200);
            let ms = self.rng.range(40, 900);
            if failed {
                (
                    "error",
                    "batch processing failed",
                    vec![
                        ("count", count.to_string()),
                        ("duration_ms", ms.to_string()),
                    ],
                )
            } else {
                (
                    "info",
                    "processed messages",
                    vec![
                        ("count", count.to_string()),
                        ("duration_ms", ms.to_string()),
                    ],
                )
            }
        } else if self.rng.chance(0.5) {
            let hits = self.rng.range(1_000, 90_000);
            let misses = self.rng.range(10, hits / 10 + 11);
            (
                "info",
                "cache stats",
                vec![("hits", hits.to_string()), ("misses", misses.to_string())],
            )
        } else {
            let open = self.rng.range(4, 20);
            let idle = self.rng.range(1, open);
            (
                "info",
                "db pool stats",
                vec![
                    ("open", open.to_string()),
                    ("idle", idle.to_string()),
                    ("in_use", (open - idle).to_string()),
                    ("wait_count", "0".to_string()),
                ],
            )
        };
        let line = match ctx.sig.style {
            LogStyle::Json => {
                let mut l = JsonLine::new(t_done, level, msg);
                for (k, v) in &fields {
                    l = l.num(k, v);
                }
                l.end()
            }
            LogStyle::Logfmt => {
                let mut l = logfmt(t_done, level, msg);
                for (k, v) in &fields {
                    push_kv(&mut l, k, v);
                }
                l
            }
            _ => {
                let mut l = String::new();
                push_rfc3339(&mut l, t_done);
                let _ = write!(l, " {} {msg}", level.to_ascii_uppercase());
                for (k, v) in &fields {
                    push_kv(&mut l, k, v);
                }
                l
            }
        };
        self.push(t_done, line);
    }
}
