//! Container logs for synthetic clusters: [`render`] turns what a container does
//! ([`ContainerSignals`]) into the text `kubectl logs` would return for it, current and
//! previous instance.
//!
//! Each [`LogStyle`] writes in the format real software of that kind writes (Go services'
//! JSON and logfmt, nginx-ingress access and error logs, PostgreSQL, Redis, RabbitMQ,
//! CoreDNS, klog), because the analyses under test parse real logs and must be exercised
//! on the same shapes. Every line carries a time the analyses can place on the timeline:
//! the style's native timestamp, or an RFC 3339 prefix where the software has none
//! (CoreDNS, whose lines are shown as `kubectl logs --timestamps` would show them).
//!
//! A log is a *sample* of the container's activity, not the literal tail: at most
//! `max_lines` events spread over the whole span (the later of the instance start and the
//! window start, up to capture), so a fault's onset inside the window always has healthy
//! lines before it and faulty lines after it. Lines come out in time order.
//!
//! Faults show after `onset_minutes_ago` only: requests fail with `error_status` at
//! `error_rate` and take `latency_ms`; a failing peer produces the errors its client
//! library prints, naming the peer's ClusterIP or host the way Go clients, pgx, go-redis
//! and nginx do, with retries and exponential backoff (`retry=1/3 backoff=400ms`) so
//! retry storms are visible.
//!
//! Determinism: the only randomness is a [`Rng`] forked per container
//! (`logs/<namespace>/<pod>/<container>`), times are milliseconds relative to `capture`,
//! and numbers are formatted as integers or fixed decimals. No line carries a credential
//! (users are `app`, no tokens or passwords).

//! Layout: this file holds [`render`], the sampling of an instance's life into events
//! (`Ctx`, `thin`) and the line writer (`Gen`) with its dispatch by style; the writers
//! of each style family are `impl Gen` blocks in their own files (`app`, `ingress`,
//! `datastores`, `system`, plus `startup` banners and the `peers`' errors every style
//! reports), and `format` holds the timestamp and field writers.

mod app;
mod datastores;
mod format;
mod ingress;
mod peers;
mod startup;
mod system;
#[cfg(test)]
mod tests;

use jiff::Timestamp;

use super::rng::Rng;
use super::signals::{ContainerSignals, LogStyle, Peer, PeerError};

use app::{Route, routes_for};
pub(crate) use format::{push_json_str, push_rfc3339_seconds};
use format::{push_pg, push_rabbit, push_redis, push_rfc3339};

/// How much log to write.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LogOptions {
    /// At most this many lines per log (the tail a capture would keep), extra lines and a
    /// previous instance's last lines excepted: those are the evidence faults add, never cut.
    pub max_lines: usize,
    /// How far back (minutes before capture) the current log may start.
    pub window_minutes: f64,
}

/// Renders a container's logs: (current log, previous instance's log when `sig.previous`
/// is set). The current log is empty when the container is not running.
///
/// `sig.extra_lines` go to the instance alive at their time: the previous one when they
/// fall inside its life, else the current one (dropped when it is not running). They are
/// emitted verbatim when they carry their own time, that is when they start with a digit
/// (`2026-11-24T…`, `2026/11/24 …`, a Redis `1:M …`, an access line's client address),
/// with a klog header (`E1124 13:58:01.123456 …`), or are a JSON object with a
/// `ts`/`time`/`timestamp` key. A JSON object without one gets a `"ts"` field; any other
/// text gets the style's own prefix (PostgreSQL's `2026-11-24 13:58:01.123 UTC [pid] `,
/// Redis' `1:M 24 Nov 2026 13:58:01.123 `, RabbitMQ's, logfmt's `time=… `) or an RFC 3339
/// timestamp and a space. The previous log ends with `previous.last_lines`, verbatim.
pub fn render(
    sig: &ContainerSignals,
    capture: Timestamp,
    opts: &LogOptions,
    rng: &mut Rng,
) -> (String, Option<String>) {
    let rng = rng.fork(&format!(
        "logs/{}/{}/{}",
        sig.namespace, sig.pod, sig.container
    ));
    let cap = capture.as_millisecond();
    let ctx = Ctx::new(sig, cap);
    let window = clean(opts.window_minutes);
    let started = clean(sig.started_minutes_ago);

    let mut current_extra = Vec::new();
    let mut previous_extra = Vec::new();
    for line in &sig.extra_lines {
        let ago = clean(line.minutes_ago);
        let in_previous = sig.previous.as_ref().is_some_and(|p| {
            ago <= clean(p.started_minutes_ago) && ago >= clean(p.ended_minutes_ago)
        });
        if in_previous && (ago > started || !sig.running) {
            previous_extra.push((ago_ms(cap, ago), line.text.as_str()));
        } else {
            current_extra.push((ago_ms(cap, ago), line.text.as_str()));
        }
    }

    let current = if sig.running {
        let span = Span {
            start: ago_ms(cap, started.min(window)),
            end: cap,
            startup: started <= window,
        };
        let lines = ctx.instance(&rng.fork("current"), span, opts.max_lines, &current_extra);
        join(lines, &[])
    } else {
        String::new()
    };

    let previous = sig.previous.as_ref().map(|p| {
        let (p_start, p_end) = (clean(p.started_minutes_ago), clean(p.ended_minutes_ago));
        // Like a tail: at most one window of the instance's life, ending at its death.
        let first = p_start.min(p_end + window).max(p_end);
        let span = Span {
            start: ago_ms(cap, first),
            end: ago_ms(cap, p_end),
            startup: p_start <= p_end + window,
        };
        let budget = opts.max_lines.saturating_sub(p.last_lines.len());
        let lines = ctx.instance(&rng.fork("previous"), span, budget, &previous_extra);
        join(lines, &p.last_lines)
    });
    (current, previous)
}

/// Minutes as given, with non-finite or negative values read as 0 and absurd ones bounded,
/// so that no input can overflow the millisecond arithmetic.
fn clean(minutes: f64) -> f64 {
    if minutes.is_finite() {
        minutes.clamp(0.0, 1.0e8)
    } else {
        0.0
    }
}

/// The absolute time (Unix milliseconds) `minutes` before `cap`.
fn ago_ms(cap: i64, minutes: f64) -> i64 {
    cap.saturating_sub((clean(minutes) * 60_000.0).round() as i64)
}

fn join(lines: Vec<Line>, last: &[String]) -> String {
    let mut out = String::new();
    for l in lines {
        out.push_str(&l.text);
        out.push('\n');
    }
    for l in last {
        out.push_str(l);
        out.push('\n');
    }
    out
}

/// A deterministic pod-network address for a label (a pod, a backend replica), so that
/// every log mentioning the same pod shows the same address.
fn pseudo_ip(prefix: &str, label: &str) -> String {
    let h = Rng::new(0).fork(label).next_u64();
    format!("{prefix}.{}.{}", (h >> 8) % 64, 2 + h % 250)
}

// ---------------------------------------------------------------------------------------
// Rendering one instance.

/// The facts shared by both instances of a container.
struct Ctx<'a> {
    sig: &'a ContainerSignals,
    onset: Option<i64>,
    pod_ip: String,
    failing: Option<(Peer, PeerError)>,
    routes: &'static [Route],
    rps: f64,
    error_rate: f64,
    latency_ms: f64,
}

/// The part of an instance's life its log covers.
#[derive(Debug, Clone, Copy)]
struct Span {
    start: i64,
    end: i64,
    /// Whether the instance started inside the span (its startup banner is shown).
    startup: bool,
}

struct Line {
    t: i64,
    text: String,
    /// The event that wrote it, [`FIXED`] for lines that are not an event's (a banner).
    event: u32,
    /// An extra line from a fault: evidence, never cut to fit `max_lines`.
    pinned: bool,
}

impl<'a> Ctx<'a> {
    fn new(sig: &'a ContainerSignals, cap: i64) -> Self {
        let pos = |x: f64| if x.is_finite() { x.max(0.0) } else { 0.0 };
        let failing = sig.failing_peer.as_ref().map(|(name, kind)| {
            let peer = sig
                .peers
                .iter()
                .find(|p| &p.service == name)
                .cloned()
                // A peer the config does not list: name it as in-cluster DNS would.
                .unwrap_or_else(|| Peer {
                    service: name.clone(),
                    namespace: sig.namespace.clone(),
                    host: format!("{name}.{}.svc.cluster.local", sig.namespace),
                    port: 8080,
                    cluster_ip: pseudo_ip("10.96", &format!("svc/{}/{name}", sig.namespace)),
                });
            (peer, *kind)
        });
        Ctx {
            sig,
            onset: sig.onset_minutes_ago.map(|m| ago_ms(cap, m)),
            pod_ip: pseudo_ip("10.244", &format!("pod/{}/{}", sig.namespace, sig.pod)),
            failing,
            routes: routes_for(&sig.app),
            rps: pos(sig.rps),
            error_rate: pos(sig.error_rate).min(1.0),
            // Bounded (an hour) so that no input overflows the time arithmetic.
            latency_ms: pos(sig.latency_ms).min(3_600_000.0),
        }
    }

    fn after(&self, t: i64) -> bool {
        self.onset.is_some_and(|o| t >= o)
    }

    /// Ordinary events per second of this style (requests, connections, checkpoints…).
    fn rate(&self) -> f64 {
        let rps = self.rps;
        match self.sig.style {
            LogStyle::Access | LogStyle::Json | LogStyle::Logfmt | LogStyle::Ingress => {
                rps + 1.0 / 60.0
            }
            LogStyle::CoreDns => rps.max(1.0 / 60.0),
            LogStyle::Postgres => 1.0 / 30.0 + rps / 100.0,
            LogStyle::Redis => 1.0 / 300.0 + rps / 10_000.0,
            LogStyle::Queue => 1.0 / 60.0 + rps / 100.0,
            LogStyle::Batch => 1.0 / 600.0,
            LogStyle::System => 1.0 / 30.0,
        }
    }

    /// The lines of one instance over `span`: about `rate × span` events, at most
    /// `budget` lines besides `extra` (which are always kept), in time order.
    fn instance(&self, rng: &Rng, span: Span, budget: usize, extra: &[(i64, &str)]) -> Vec<Line> {
        let seconds = (span.end - span.start).max(0) as f64 / 1000.0;
        let natural = (self.rate() * seconds).ceil();
        let n = if natural.is_finite() && natural < budget as f64 {
            natural as usize
        } else {
            budget
        };
        // Events write one line or a burst (a retry storm, a checkpoint pair). When they
        // overflow, whole events are dropped evenly: the log keeps spanning the window
        // instead of losing its healthy beginning to the tail cut.
        let mut g = Gen::new(self, rng.clone(), span.end);
        if span.startup {
            g.startup(span.start);
        }
        g.events(span.start, span.end, n);
        let mut lines = g.lines;
        if lines.len() > budget {
            lines = thin(lines, budget);
        }
        let mut prefix_rng = rng.fork("extra");
        for (t, text) in extra {
            lines.push(Line {
                t: *t,
                text: self.extra_text(text, *t, &mut prefix_rng),
                event: FIXED,
                pinned: true,
            });
        }
        lines.sort_by_key(|l| l.t);
        let mut excess = lines.len().saturating_sub(budget);
        if excess > 0 {
            lines.retain(|l| {
                if excess > 0 && !l.pinned {
                    excess -= 1;
                    false
                } else {
                    true
                }
            });
        }
        lines
    }

    /// An extra line as it appears in the log; see [`render`] for the rule.
    fn extra_text(&self, text: &str, t: i64, rng: &mut Rng) -> String {
        if text.starts_with(|c: char| c.is_ascii_digit()) || is_klog(text) {
            return text.to_string();
        }
        if let Some(rest) = text.strip_prefix('{') {
            if ["\"ts\"", "\"time\"", "\"timestamp\"", "\"@timestamp\""]
                .iter()
                .any(|k| text.contains(k))
            {
                return text.to_string();
            }
            let mut s = String::from("{\"ts\":\"");
            push_rfc3339(&mut s, t);
            s.push('"');
            if !rest.trim_start().starts_with('}') {
                s.push(',');
            }
            s.push_str(rest);
            return s;
        }
        let mut s = String::with_capacity(text.len() + 40);
        match self.sig.style {
            LogStyle::Postgres => push_pg(&mut s, t, rng.range(1000, 60_000)),
            LogStyle::Redis => push_redis(&mut s, t, 1, 'M'),
            LogStyle::Queue => push_rabbit(&mut s, t, rng.next_u64()),
            LogStyle::Logfmt if text.contains('=') => {
                s.push_str("time=");
                push_rfc3339(&mut s, t);
                s.push(' ');
            }
            _ => {
                push_rfc3339(&mut s, t);
                s.push(' ');
            }
        }
        s.push_str(text);
        s
    }
}

/// The event number of lines that belong to no event (banners, extra lines).
const FIXED: u32 = u32::MAX;

/// Keeps about `budget` lines of an overflowing draw by dropping whole events evenly
/// (a retry storm stays whole or goes), never lines outside events.
fn thin(lines: Vec<Line>, budget: usize) -> Vec<Line> {
    let fixed = lines.iter().filter(|l| l.event == FIXED).count();
    let eventful = lines.len() - fixed;
    if eventful == 0 {
        return lines;
    }
    let ratio = budget.saturating_sub(fixed) as f64 / eventful as f64;
    let (mut acc, mut last, mut keep) = (0.0, None, false);
    lines
        .into_iter()
        .filter(|l| {
            if l.event == FIXED {
                return true;
            }
            if last != Some(l.event) {
                last = Some(l.event);
                acc += ratio;
                keep = acc >= 1.0;
                if keep {
                    acc -= 1.0;
                }
            }
            keep
        })
        .collect()
}

/// Whether a line starts with a klog header (`I1124 13:58:01.123456`).
fn is_klog(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() > 9
        && matches!(b[0], b'I' | b'W' | b'E' | b'F')
        && b[1..5].iter().all(u8::is_ascii_digit)
        && b[5] == b' '
        && b[6].is_ascii_digit()
}

/// The writer of one instance's lines.
struct Gen<'c, 'a> {
    ctx: &'c Ctx<'a>,
    rng: Rng,
    /// Lines later than this (capture, or the previous instance's death) are not written yet.
    end: i64,
    lines: Vec<Line>,
    /// Next PostgreSQL backend pid, RabbitMQ process number, nginx connection number…
    counter: u64,
    /// A long-lived process id: PostgreSQL's checkpointer, nginx's worker.
    worker_pid: u64,
    run: u64,
    /// The event being written ([`FIXED`] outside events).
    event: u32,
}

impl<'c, 'a> Gen<'c, 'a> {
    fn new(ctx: &'c Ctx<'a>, mut rng: Rng, end: i64) -> Self {
        let counter = rng.range(1_000, 30_000);
        let worker_pid = rng.range(20, 90);
        let run = rng.range(100, 5_000);
        Gen {
            ctx,
            rng,
            end,
            lines: Vec::new(),
            counter,
            worker_pid,
            run,
            event: FIXED,
        }
    }

    fn push(&mut self, t: i64, text: String) {
        if t <= self.end {
            self.lines.push(Line {
                t,
                text,
                event: self.event,
                pinned: false,
            });
        }
    }

    fn next_id(&mut self) -> u64 {
        self.counter += self.rng.range(1, 40);
        self.counter
    }

    fn micro(&mut self) -> u64 {
        self.rng.range(0, 999)
    }

    fn req_id(&mut self) -> String {
        format!("{:016x}", self.rng.next_u64())
    }

    fn client_ip(&mut self) -> String {
        format!(
            "10.244.{}.{}",
            self.rng.range(0, 63),
            self.rng.range(2, 254)
        )
    }

    fn pick<'s>(&mut self, items: &[&'s str]) -> &'s str {
        self.rng.pick(items).copied().unwrap_or("")
    }

    /// A route with its `{id}` filled in.
    fn route(&mut self, routes: &'static [Route]) -> (&'static str, String) {
        let (method, path) = self.rng.pick(routes).copied().unwrap_or(("GET", "/"));
        let path = if path.contains("{id}") {
            path.replace("{id}", &self.rng.range(1, 9_999).to_string())
        } else {
            path.to_string()
        };
        (method, path)
    }

    /// Healthy latency: mostly fast, a tail toward 80 ms.
    fn healthy_latency(&mut self) -> f64 {
        let u = self.rng.unit();
        5.0 + 75.0 * u * u
    }

    fn healthy_status(&mut self, method: &str, path: &str) -> u16 {
        let u = self.rng.unit();
        let s = match method {
            "POST" if path.contains("login") && u < 0.04 => 401,
            "POST" if u < 0.5 => 201,
            "DELETE" => 204,
            "GET" if u < 0.03 => 304,
            "GET" if u < 0.045 => 404,
            _ => 200,
        };
        // Keep the fault's own status out of healthy traffic so its share is the fault's.
        if s == self.ctx.sig.error_status {
            200
        } else {
            s
        }
    }

    fn body_bytes(&mut self, method: &str, status: u16) -> u64 {
        match status {
            204 | 304 => 0,
            s if s >= 400 => self.rng.range(19, 180),
            _ if method == "GET" => self.rng.range(180, 9_000),
            _ => self.rng.range(40, 600),
        }
    }

    /// `count` events evenly spread over [start, end], each jittered within its slot.
    fn events(&mut self, start: i64, end: i64, count: usize) {
        if count == 0 || end < start {
            return;
        }
        let slot = (end - start) as f64 / count as f64;
        for i in 0..count {
            self.event = u32::try_from(i).unwrap_or(FIXED - 1);
            let jitter = if self.ctx.sig.style == LogStyle::Batch {
                0.05 * self.rng.unit()
            } else {
                self.rng.unit()
            };
            let t = start + ((i as f64 + jitter) * slot) as i64;
            self.event(t, slot);
        }
    }

    fn event(&mut self, t: i64, slot_ms: f64) {
        let ctx = self.ctx;
        match ctx.sig.style {
            LogStyle::Access | LogStyle::Json | LogStyle::Logfmt => {
                let request_share = ctx.rps / (ctx.rps + 1.0 / 60.0);
                if ctx.rps > 0.0 && self.rng.chance(request_share) {
                    self.app_request(t);
                } else {
                    self.app_background(t);
                }
            }
            LogStyle::Ingress => {
                if ctx.rps > 0.0 && self.rng.chance(ctx.rps / (ctx.rps + 1.0 / 60.0)) {
                    self.ingress_request(t);
                } else {
                    self.ingress_background(t);
                }
            }
            LogStyle::Postgres => self.postgres_event(t),
            LogStyle::Redis => self.redis_event(t),
            LogStyle::Queue => self.queue_event(t),
            LogStyle::CoreDns => self.coredns_event(t),
            LogStyle::Batch => self.batch_run(t, slot_ms),
            LogStyle::System => self.system_event(t),
        }
    }
}
