//! Log signatures: every line of every container log is classified (timeouts, refused
//! and reset connections, exhausted pools, DNS failures, 5xx answers, out-of-memory,
//! panics, TLS, slow operations, error and warning levels), grouped into templates
//! (numbers, ids and addresses masked) with counts and first/last times, and attributed
//! to the peer it names (`peer=auth`, a Service's ClusterIP, a Service host name).
//!
//! One linear pass over the logs. Per line: a few searches with finders built once, and
//! one automaton over every word a signature looks for; only a line that contains one is
//! lower-cased and classified word by word (at 150,000 pods, rebuilding a searcher per
//! `contains` was most of the pass). Log text is untrusted: it is only ever quoted as
//! evidence.
//!
//! Evidence, not echoes: a rule matches what happened, not what a process was told.
//! Before the rules read a line, what it merely configures is blanked out
//! ([`evidence_text`]): command-line options and their values (`-XX:+HeapDumpOnOutOfMemoryError`,
//! `--log-level warning`), the keys of assignments (`timeout_ms=5000`, `"connect_timeout":`,
//! `connectionTimeoutMillis: 5000`, HikariCP's `idleTimeout.......600000`) and lists of
//! names (Envoy's header map). A line that is all echo — a shell `set -x` trace, a config
//! line such as `connection-timeout: 30s` or nginx's `proxy_read_timeout 60s;` — is no
//! signature at all.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use aho_corasick::AhoCorasick;
use memchr::memmem::Finder;

use super::{Ctx, Hit, parse_ts};
use crate::report::Severity;
use intel_engine::{ObjectRef, Relations};
use intel_model::Snapshot;

mod echo;
mod template;
#[cfg(test)]
mod tests;

use echo::*;
pub use template::template;

/// What a line says, most specific first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Signature {
    Dns,
    PoolExhausted,
    Timeout,
    Refused,
    Reset,
    Tls,
    OutOfMemory,
    Panic,
    Slow,
    Http5xx,
    Error,
    Warning,
}

impl Signature {
    pub fn label(self) -> &'static str {
        match self {
            Signature::Dns => "DNS lookup failures",
            Signature::PoolExhausted => "connection pool or slots exhausted",
            Signature::Timeout => "timeouts",
            Signature::Refused => "connections refused",
            Signature::Reset => "connections reset",
            Signature::Tls => "TLS/certificate errors",
            Signature::OutOfMemory => "out of memory",
            Signature::Panic => "panics and fatal errors",
            Signature::Slow => "slow operations",
            Signature::Http5xx => "HTTP 5xx answers",
            Signature::Error => "errors",
            Signature::Warning => "warnings",
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct SigStat {
    pub count: u64,
    pub first: Option<i64>,
    pub last: Option<i64>,
    /// The first line seen (clipped) and its file.
    pub sample: String,
    pub file: String,
    /// Peers named by these lines: workloads (or Services without one), with counts.
    pub peers: BTreeMap<ObjectRef, u64>,
    /// Templates with counts.
    pub templates: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, Default)]
pub struct WorkloadLogs {
    pub lines: u64,
    /// Lines with an HTTP status (access logs).
    pub requests: u64,
    /// Requests per time bucket (start epoch second → count), for traffic trends.
    pub buckets: BTreeMap<i64, u64>,
    pub sigs: BTreeMap<Signature, SigStat>,
    pub first: Option<i64>,
    pub last: Option<i64>,
    /// When each container (by name) last logged a line with a time.
    pub container_last: BTreeMap<String, i64>,
    /// Durations of the logged requests, over time.
    pub latency: super::latency::Latency,
}

/// Log statistics per workload, and hosts whose certificates the logs say expired.
#[derive(Debug, Default)]
pub struct LogStats {
    pub workloads: BTreeMap<ObjectRef, WorkloadLogs>,
    pub expired_cert_hosts: BTreeMap<String, (i64, String, String)>,
}

pub(super) const BUCKET: i64 = 600;

impl LogStats {
    /// Log statistics of the logs in scope (`namespaces`; empty means all), in one pass
    /// (see `log_scan` for the two halves, which callers can also run apart).
    pub fn build(snap: &Snapshot, rel: &Relations, namespaces: &[String]) -> LogStats {
        super::log_scan::LogScan::build(snap, namespaces).into_stats(rel)
    }
}

/// The time of a log line: a leading RFC 3339 stamp, a JSON `ts`/`time` field, logfmt
/// `time=`, PostgreSQL's `2026-11-24 13:03:15.170 UTC`, klog's `W1124 13:02:00.1`.
pub(super) fn line_time(line: &str, year: &str) -> Option<i64> {
    let head = line.trim_start().trim_start_matches('{');
    for key in &FINDERS.time {
        if let Some(rest) = segment(line, key) {
            let tok = rest.split(['"', ' ']).next().unwrap_or("");
            if let Some(t) = parse_ts(tok) {
                return Some(t);
            }
        }
    }
    let first = head.split_whitespace().next().unwrap_or("");
    if let Some(t) = parse_ts(first) {
        return Some(t);
    }
    let b = line.as_bytes();
    if b.len() > 23 && b[4] == b'-' && b[10] == b' ' {
        let stamp = format!("{}T{}Z", &line[..10], line.get(11..19)?);
        return parse_ts(&stamp);
    }
    if b.len() > 21
        && matches!(b[0], b'I' | b'W' | b'E' | b'F')
        && b[5] == b' '
        && b[1].is_ascii_digit()
    {
        let stamp = format!(
            "{year}-{}-{}T{}Z",
            &line[1..3],
            &line[3..5],
            line.get(6..14)?
        );
        return parse_ts(&stamp);
    }
    None
}

/// The HTTP status of an access-log line: JSON `"status":503`, logfmt `status=503`, or
/// common log format `"GET / HTTP/1.1" 503`.
pub(super) fn http_status(line: &str) -> Option<u16> {
    let num = |s: &str| -> Option<u16> {
        let digits = s.bytes().take_while(u8::is_ascii_digit).count();
        s[..digits].parse().ok().filter(|n| (100..600).contains(n))
    };
    let f = &*FINDERS;
    if let Some(rest) = segment(line, &f.status_json) {
        return num(rest.trim_start_matches('"'));
    }
    if let Some(rest) = segment(line, &f.status_logfmt) {
        return num(rest);
    }
    if let Some(rest) = segment(line, &f.http11).or_else(|| segment(line, &f.http2)) {
        return num(rest);
    }
    None
}

/// Searchers for the keys every line is looked at for, built once.
struct Finders {
    /// `line_time`'s keys, in its order.
    time: [Finder<'static>; 4],
    status_json: Finder<'static>,
    status_logfmt: Finder<'static>,
    http11: Finder<'static>,
    http2: Finder<'static>,
}

static FINDERS: LazyLock<Finders> = LazyLock::new(|| {
    let f = |key: &str| Finder::new(key.as_bytes()).into_owned();
    Finders {
        time: [
            f("\"ts\":\""),
            f("\"time\":\""),
            f("\"timestamp\":\""),
            f("time="),
        ],
        status_json: f("\"status\":"),
        status_logfmt: f(" status="),
        http11: f(" HTTP/1.1\" "),
        http2: f(" HTTP/2.0\" "),
    }
});

/// What `line.split(key).nth(1)` gives: the text between the key's first occurrence and
/// its next one (or the end).
fn segment<'a>(line: &'a str, key: &Finder<'_>) -> Option<&'a str> {
    let at = key.find(line.as_bytes())? + key.needle().len();
    let rest = line.get(at..)?;
    let end = key.find(rest.as_bytes()).unwrap_or(rest.len());
    rest.get(..end)
}

/// Every word [`classify_by`] can find first in a `||` chain or on the left of an `&&`
/// (the right sides only matter when a left side is there), and `slow_duration`'s
/// marker. A line with none of them is classified by its status alone.
const FIRST_WORDS: &[&str] = &[
    "\" in ",
    " in a ",
    "\"a in ",
    "\"aaaa in ",
    "no such host",
    "server misbehaving",
    "nxdomain",
    "servfail",
    "lookup ",
    "unknownhostexception",
    "name or service not known",
    "temporary failure in name resolution",
    "could not resolve host",
    "getaddrinfo enotfound",
    "connection is not available",
    "communications link failure",
    "no healthy upstream",
    "connection_failure",
    " uf ",
    " uh ",
    " ut ",
    "exception: ",
    "exception$",
    "too many clients",
    "remaining connection slots",
    "pool exhausted",
    "too many connections",
    "pool timeout",
    "connection pool",
    "x509:",
    "certificate has expired",
    "certificate",
    "certificate verify failed",
    "out of memory",
    "outofmemoryerror",
    "cannot allocate memory",
    "panic:",
    "traceback (most recent call last)",
    "exception in thread",
    "fatal error",
    "segmentation fault",
    "timeout",
    "timed out",
    "deadline exceeded",
    "etimedout",
    "connection refused",
    "econnrefused",
    "connection reset",
    "econnreset",
    "broken pipe",
    "slow query",
    "slow request",
    "slow render",
    "slow operation",
    "duration: ",
    "level=error",
    "\"level\":\"error\"",
    " error ",
    "[error]",
    " fatal:",
    "error:",
    "access denied for user",
    "level=warn",
    "\"level\":\"warn",
    " warn ",
    "[warn",
    " warning",
];

/// [`FIRST_WORDS`] in any ASCII case (`has` looks in the lower-cased line). `None` if it
/// cannot be built, and then every line takes the word-by-word path.
static FIRST_WORD_SET: LazyLock<Option<AhoCorasick>> = LazyLock::new(|| {
    AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .build(FIRST_WORDS)
        .ok()
});

/// Every reading of one log line the analyses make: its HTTP status, its signature, its
/// template (the fuzz target `log_line` drives this; it must never panic).
pub(crate) fn read_line(line: &str) -> (Option<Signature>, String) {
    let status = http_status(line);
    (classify(line, status), template::template(line))
}

/// The signature of a line, if any; `status` is its HTTP status ([`http_status`]).
pub(super) fn classify(line: &str, status: Option<u16>) -> Option<Signature> {
    if let Some(set) = FIRST_WORD_SET.as_ref() {
        if !set.is_match(line) {
            return by_status(status);
        }
    }
    let text = evidence_text(line)?;
    classify_by(&|s| text.contains(s), &text, status)
}

fn by_status(status: Option<u16>) -> Option<Signature> {
    status.and_then(|s| (s >= 500).then_some(Signature::Http5xx))
}

/// The rules, over the lower-cased line: `has` says whether it contains a word.
fn classify_by(has: &dyn Fn(&str) -> bool, lower: &str, status: Option<u16>) -> Option<Signature> {
    // A DNS server's query log (`"AAAA IN api.example.com. udp …" NXDOMAIN`): answers,
    // not failures; search-path expansions are NXDOMAIN by design.
    if (has("\" in ") || has(" in a ") || has("\"a in ") || has("\"aaaa in "))
        && (has(" udp ") || has(" tcp "))
    {
        return None;
    }
    if has("no such host")
        || has("server misbehaving")
        || has("nxdomain")
        || has("servfail")
        || (has("lookup ") && has(":53"))
        // The JVM's, glibc's, curl's and Node's words for a name that does not resolve.
        || has("unknownhostexception")
        || has("name or service not known")
        || has("temporary failure in name resolution")
        || has("could not resolve host")
        || has("getaddrinfo enotfound")
    {
        return Some(Signature::Dns);
    }
    if has("too many clients")
        || has("remaining connection slots")
        || has("pool exhausted")
        || has("too many connections")
        || has("pool timeout")
        || has("connection pool")
        // HikariCP: `HikariPool-1 - Connection is not available, request timed out …`.
        || (has("connection is not available") && has("timed out"))
    {
        return Some(Signature::PoolExhausted);
    }
    if has("x509:")
        || has("certificate has expired")
        || (has("certificate") && has("expired"))
        || has("certificate verify failed")
    {
        return Some(Signature::Tls);
    }
    if has("out of memory") || has("outofmemoryerror") || has("cannot allocate memory") {
        return Some(Signature::OutOfMemory);
    }
    // Node's errno codes (`Error: connect ECONNREFUSED 10.0.0.5:5432`) name the same
    // failures as the C library's text. Before the crash words: `Exception in thread
    // "main" java.net.ConnectException: Connection refused` is about the peer.
    if has("timeout") || has("timed out") || has("deadline exceeded") || has("etimedout") {
        return Some(Signature::Timeout);
    }
    // MySQL's JDBC driver says `Communications link failure` for a server it cannot reach.
    // Envoy (Istio's sidecar) logs its response flags: UF, a failed upstream connection;
    // UH, no healthy upstream (no ready endpoint); UT, an upstream timeout.
    if has("connection refused")
        || has("econnrefused")
        || has("communications link failure")
        || has("no healthy upstream")
        || has("connection_failure")
        || has(" uf ")
        || has(" uh ")
    {
        return Some(Signature::Refused);
    }
    if has(" ut ") {
        return Some(Signature::Timeout);
    }
    if has("connection reset") || has("econnreset") || has("broken pipe") {
        return Some(Signature::Reset);
    }
    if has("panic:")
        || has("traceback (most recent call last)")
        || has("exception in thread")
        || has("fatal error")
        || has("segmentation fault")
    {
        return Some(Signature::Panic);
    }
    if status.is_some() {
        return by_status(status);
    }
    if has("slow query")
        || has("slow request")
        || has("slow render")
        || has("slow operation")
        || slow_duration(lower)
    {
        return Some(Signature::Slow);
    }
    if has("level=error")
        || has("\"level\":\"error\"")
        || has(" error ")
        || has("[error]")
        || has(" fatal:")
        || has("error:")
        || has("access denied for user")
        // A Java exception as the line's message (`…HttpServerErrorException$ServiceUnavailable:
        // 503 Service Unavailable`, `java.lang.NullPointerException: …`).
        || has("exception: ")
        || has("exception$")
    {
        return Some(Signature::Error);
    }
    if has("level=warn")
        || has("\"level\":\"warn")
        || has(" warn ")
        || has("[warn")
        || has(" warning")
    {
        return Some(Signature::Warning);
    }
    None
}

/// PostgreSQL's `duration: 2350.114 ms` above a second.
fn slow_duration(lower: &str) -> bool {
    lower
        .split("duration: ")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .and_then(|n| n.parse::<f64>().ok())
        .is_some_and(|ms| ms >= 1000.0)
}

pub(super) fn quoted_after(line: &str, marker: &str) -> Option<String> {
    let rest = line.split(marker).nth(1)?;
    let v = rest.split('"').next()?;
    (!v.is_empty()).then(|| v.to_string())
}

pub(super) fn detect(ctx: &Ctx, stats: &LogStats, out: &mut Vec<Hit>) {
    for (w, logs) in &stats.workloads {
        for (sig, s) in &logs.sigs {
            let top = s
                .templates
                .iter()
                .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
                .map(|(t, _)| t.clone())
                .unwrap_or_default();
            let peers: Vec<ObjectRef> = s.peers.keys().cloned().collect();
            let peer_names = peers
                .iter()
                .map(|p| p.name.clone())
                .collect::<Vec<_>>()
                .join(", ");
            let (kind, cause, min) = match sig {
                Signature::Dns => ("DNSResolutionFailures", 0.1, 3),
                Signature::PoolExhausted if peers.is_empty() => ("ConnectionsExhausted", 0.45, 3),
                Signature::PoolExhausted
                | Signature::Timeout
                | Signature::Refused
                | Signature::Reset
                    if !peers.is_empty() =>
                {
                    ("UpstreamErrors", 0.15, 3)
                }
                Signature::Timeout | Signature::Refused | Signature::Reset => {
                    ("ConnectionErrors", 0.3, 5)
                }
                Signature::Tls => ("TLSErrors", 0.3, 1),
                Signature::OutOfMemory => ("OutOfMemory", 0.6, 1),
                Signature::Panic => ("Panics", 0.5, 1),
                Signature::Slow => ("SlowOperations", 0.5, 3),
                Signature::Http5xx => {
                    let rate = s.count as f64 / logs.requests.max(1) as f64;
                    if rate < 0.02 {
                        continue;
                    }
                    ("HTTP5xx", 0.1, 5)
                }
                Signature::Error => ("LogErrors", 0.25, 5),
                Signature::Warning => ("LogWarnings", 0.15, 5),
                Signature::PoolExhausted => ("ConnectionsExhausted", 0.45, 3),
            };
            if s.count < min {
                continue;
            }
            let sev = if matches!(sig, Signature::Warning | Signature::Slow) || s.count < 10 {
                Severity::Warning
            } else {
                Severity::Critical
            };
            let mut message = if peers.is_empty() {
                format!(
                    "{}: {} log lines with {} (\"{top}\")",
                    w.name,
                    s.count,
                    sig.label()
                )
            } else {
                format!(
                    "{}: {} log lines with {} calling {peer_names} (\"{top}\")",
                    w.name,
                    s.count,
                    sig.label()
                )
            };
            if *sig == Signature::Http5xx {
                message = format!(
                    "{} answered {} of {} logged requests with 5xx ({:.0}%)",
                    w.name,
                    s.count,
                    logs.requests,
                    100.0 * s.count as f64 / logs.requests.max(1) as f64
                );
            }
            let mut h = Hit::new(w.clone(), kind, sev, cause)
                .msg(message)
                .since(s.first)
                .until(s.last)
                .ev("log", s.file.clone(), s.sample.clone(), s.first);
            h.blames = peers;
            out.push(h);
        }
        traffic(w, logs, out);
        super::latency::detect(w, &logs.latency, out);
    }
    for (host, (t, line, file)) in &stats.expired_cert_hosts {
        if let Some(secret) = super::services::tls_secret_for_host(ctx, host) {
            out.push(
                Hit::new(
                    secret.clone(),
                    "CertificateExpired",
                    Severity::Critical,
                    0.95,
                )
                .msg(format!(
                    "the certificate in Secret {} for {host} has expired",
                    secret.name
                ))
                .since(Some(*t))
                .ev("log", file.clone(), line.clone(), Some(*t)),
            );
        }
    }
}

/// Request volume in the last buckets against the earlier ones.
fn traffic(w: &ObjectRef, logs: &WorkloadLogs, out: &mut Vec<Hit>) {
    let counts: Vec<(i64, u64)> = logs.buckets.iter().map(|(k, v)| (*k, *v)).collect();
    if counts.len() < 4 || logs.requests < 40 {
        return;
    }
    let half = counts.len() / 2;
    let before: f64 = counts[..half].iter().map(|c| c.1 as f64).sum::<f64>() / half as f64;
    let after: f64 =
        counts[half..].iter().map(|c| c.1 as f64).sum::<f64>() / (counts.len() - half) as f64;
    if before > 0.0 && after / before >= 2.5 {
        out.push(
            Hit::new(w.clone(), "TrafficSurge", Severity::Warning, 0.6)
                .msg(format!(
                    "{} receives {:.1}x the requests it did earlier in the logs",
                    w.name,
                    after / before
                ))
                .since(Some(counts[half].0))
                .ev(
                    "log",
                    format!("access log lines of {}", w.name),
                    format!("{before:.0} → {after:.0} requests per 10 minutes"),
                    Some(counts[half].0),
                ),
        );
    }
}
