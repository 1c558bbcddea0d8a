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
use crate::analysis::report::Severity;
use crate::engine::{ObjectRef, Relations};
use crate::model::Snapshot;

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

/// The lower-cased text of `line` the rules read: the line with what it only configures
/// blanked out (command-line options and their values, the keys of assignments, lists of
/// names), or `None` when the whole line is an echo (a shell trace, a config line).
///
/// Keys go, values stay: `err="dial tcp …: connection refused"` still reports, and
/// `timeout_ms=5000` no longer does. The keys of the level field stay, since the level
/// rules read them (`level=error`, `"level":"error"`).
fn evidence_text(line: &str) -> Option<String> {
    let trimmed = line.trim();
    if is_trace(trimmed) || is_config_line(trimmed) {
        return None;
    }
    let lower = line.to_ascii_lowercase();
    let ranges = echo_ranges(line);
    if ranges.is_empty() {
        return Some(lower);
    }
    let mut bytes = lower.into_bytes();
    for r in ranges {
        if let Some(part) = bytes.get_mut(r) {
            part.fill(b' ');
        }
    }
    // Ranges end at ASCII bytes or the line's ends, so whole characters are blanked.
    Some(match String::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    })
}

/// A shell `set -x` trace: `+ exec java -XX:+ExitOnOutOfMemoryError -jar app.jar`, one `+`
/// per nesting level. The shell prints the command before running it: never an event.
fn is_trace(trimmed: &str) -> bool {
    let rest = trimmed.trim_start_matches('+');
    rest.len() < trimmed.len() && rest.starts_with(' ')
}

/// A line of configuration printed as it is: an nginx directive (`proxy_read_timeout
/// 60s;`, what `nginx -T` prints), or one assignment alone on its line (`timeout: 30`,
/// `connection-timeout: 30s`, `- connect_timeout: 0.25s`, `request.timeout.ms = 30000`,
/// `"retryOnConnectionFailure": true,`) whose key is a compound identifier or whose value
/// is a scalar. `error: ECONNREFUSED` or `panic: boom` (a plain word, then a message) stay
/// events.
fn is_config_line(trimmed: &str) -> bool {
    if let Some(body) = trimmed
        .strip_suffix(';')
        .or_else(|| trimmed.strip_suffix('{'))
    {
        let first = body.split_whitespace().next().unwrap_or("");
        if first.contains('_')
            && first.len() < body.trim_end().len()
            && first
                .bytes()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_')
        {
            return true;
        }
    }
    let t = trimmed.strip_prefix("- ").unwrap_or(trimmed).trim_start();
    let (key, rest) = match t.as_bytes().first() {
        Some(&q @ (b'"' | b'\'')) => {
            let inner = &t[1..];
            let Some(end) = inner.find(q as char) else {
                return false;
            };
            (&inner[..end], &inner[end + 1..])
        }
        _ => {
            let end = t.bytes().position(|c| !is_key_char(c)).unwrap_or(t.len());
            (&t[..end], &t[end..])
        }
    };
    if key.is_empty() || !key.bytes().any(|c| c.is_ascii_alphabetic()) {
        return false;
    }
    let rest = rest.trim_start();
    let value = if let Some(v) = rest.strip_prefix(':').or_else(|| rest.strip_prefix('=')) {
        v
    } else if rest.is_empty() && key.contains("....") {
        // HikariCP's `idleTimeout.....................600000`: the key char run took
        // the dots and the value.
        return true;
    } else {
        return false;
    };
    let value = value.trim().trim_end_matches([',', ';']);
    if value.is_empty() {
        return false;
    }
    let single = match value.as_bytes()[0] {
        q @ (b'"' | b'\'') => value.len() >= 2 && value.ends_with(q as char),
        _ => !value.contains(char::is_whitespace),
    };
    // `java.lang.OutOfMemoryError: Metaspace` is an exception and its message, `Error: 503`
    // a level and its message.
    single
        && if is_compound(key) {
            !is_class_name(key) || is_scalar(value)
        } else {
            is_scalar(value) && !is_level_word(key)
        }
}

/// Words that begin a message rather than name a setting (`Error: 503`, `panic: 5`).
fn is_level_word(word: &str) -> bool {
    [
        "error",
        "err",
        "panic",
        "fatal",
        "warn",
        "warning",
        "critical",
        "crit",
        "severe",
        "exception",
        "failed",
        "failure",
    ]
    .iter()
    .any(|w| word.eq_ignore_ascii_case(w))
}

/// What a configuration value looks like: a number with an optional unit (`30`, `0.25s`,
/// `512Mi`, `-1`), a boolean, a null, a dash, or one of those quoted.
fn is_scalar(value: &str) -> bool {
    let v = value.trim_matches(|c| c == '"' || c == '\'');
    if matches!(
        v.to_ascii_lowercase().as_str(),
        "" | "-"
            | "~"
            | "true"
            | "false"
            | "yes"
            | "no"
            | "on"
            | "off"
            | "null"
            | "none"
            | "nil"
            | "{}"
            | "[]"
    ) {
        return true;
    }
    let v = v.strip_prefix('-').unwrap_or(v);
    let digits = v
        .bytes()
        .take_while(|c| c.is_ascii_digit() || *c == b'.')
        .count();
    digits > 0
        && v.as_bytes()[0].is_ascii_digit()
        && v.len() - digits <= 3
        && v[digits..].bytes().all(|c| c.is_ascii_alphabetic())
}

/// Characters of a key (`spring.datasource.hikari.connection-timeout`, `timeout_ms`).
fn is_key_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.')
}

/// A name made of several words: snake, kebab or dotted (`connect_timeout`,
/// `connection-timeout`, `request.timeout.ms`) or camel case (`connectTimeout`,
/// `retryOnConnectionFailure`). Plain words (`error`, `panic`) are not.
fn is_compound(word: &str) -> bool {
    let b = word.as_bytes();
    let joined = b.windows(3).any(|w| {
        w[0].is_ascii_alphanumeric()
            && matches!(w[1], b'_' | b'-' | b'.')
            && w[2].is_ascii_alphanumeric()
    });
    let camel = b
        .windows(2)
        .any(|w| w[0].is_ascii_lowercase() && w[1].is_ascii_uppercase());
    (joined && b.iter().any(u8::is_ascii_alphabetic)) || camel
}

/// A class name (`java.lang.OutOfMemoryError`, `psycopg2.OperationalError`,
/// `ConnectionRefusedError`): its last segment starts with a capital and goes on in lower
/// case. `Name: message` is then an exception and its message, not a key and its value.
fn is_class_name(word: &str) -> bool {
    let last = word.rsplit(['.', '$']).next().unwrap_or(word);
    last.as_bytes().first().is_some_and(u8::is_ascii_uppercase)
        && last.bytes().any(|c| c.is_ascii_lowercase())
}

/// The level field's keys stay: the level rules read them (`loglevel=error` too).
fn is_level_key(key: &str) -> bool {
    key.len() >= 5 && key.as_bytes()[key.len() - 5..].eq_ignore_ascii_case(b"level")
}

/// Byte ranges of `line` that configure rather than report (see [`evidence_text`]).
fn echo_ranges(line: &str) -> Vec<std::ops::Range<usize>> {
    let b = line.as_bytes();
    let mut out = Vec::new();
    // Command-line options: `-` or `--` and a letter, after a space, a quote, a bracket or
    // `=` (`JAVA_OPTS=-Xmx512m`), up to a space, quote or bracket; and the value after an
    // option that takes one (`-l warning`, `--component-log-level misc:error`).
    let ends_option =
        |c: u8| c.is_ascii_whitespace() || matches!(c, b'"' | b'\'' | b',' | b']' | b')' | b'}');
    let mut i = 0;
    while i < b.len() {
        let starts = b[i] == b'-'
            && (i == 0
                || matches!(
                    b[i - 1],
                    b' ' | b'\t' | b'"' | b'\'' | b'[' | b'(' | b'{' | b',' | b'='
                ));
        let name = if b.get(i + 1) == Some(&b'-') {
            i + 2
        } else {
            i + 1
        };
        if !starts || !b.get(name).is_some_and(u8::is_ascii_alphabetic) {
            i += 1;
            continue;
        }
        let mut end = (name..b.len())
            .find(|&j| ends_option(b[j]))
            .unwrap_or(b.len());
        // `--proxyLogLevel="warning"`, `-XX:OnOutOfMemoryError="kill -9 %p"`: the quoted
        // value is the option's.
        if b[end - 1] == b'=' {
            if let Some(&q @ (b'"' | b'\'')) = b.get(end) {
                if let Some(close) = (end + 1..b.len()).find(|&j| b[j] == q) {
                    end = close + 1;
                }
            }
        }
        out.push(i..end);
        let option = &line[i..end];
        i = end;
        if option.contains(['=', ':']) || !b.get(end).is_some_and(u8::is_ascii_whitespace) {
            continue;
        }
        let start = (end..b.len())
            .find(|&j| !b[j].is_ascii_whitespace())
            .unwrap_or(b.len());
        if start < b.len() && b[start] != b'-' {
            let stop = (start..b.len())
                .find(|&j| b[j].is_ascii_whitespace())
                .unwrap_or(b.len());
            out.push(start..stop);
            i = stop;
        }
    }
    // Lists of names: Envoy's `request header map: … :authority,:method,…,grpc-timeout,…`,
    // `5xx,reset,connect-failure`.
    let mut at = 0;
    for token in line.split(|c: char| c.is_ascii_whitespace()) {
        let start = at;
        at += token.len() + 1;
        if !token.contains(',') {
            continue;
        }
        let body = token.trim_end_matches(['.', ',', ';', ')', ']', '}', '"', '\'']);
        let (mut parts, mut names, mut compound) = (0, true, false);
        for p in body.split(',') {
            parts += 1;
            names &= !p.is_empty()
                && p.bytes().all(|c| {
                    c.is_ascii_lowercase()
                        || c.is_ascii_digit()
                        || matches!(c, b':' | b'_' | b'.' | b'-' | b'/')
                });
            compound |= p.contains(['-', '_']);
        }
        if parts >= 3 && names && compound {
            out.push(start..start + token.len());
        }
    }
    // Keys of assignments.
    let mut i = 0;
    while i < b.len() {
        if !is_key_char(b[i]) {
            i += 1;
            continue;
        }
        let s = i;
        while i < b.len() && is_key_char(b[i]) {
            i += 1;
        }
        if let Some(r) = key_range(line, s, i) {
            out.push(r);
        }
    }
    out
}

/// The range to blank when the word at `s..e` is the key of an assignment: `key=value`,
/// `"key": value` / `'key': value`, a compound `key: value` or `Key:value` (Go's `%+v`),
/// or HikariCP's `key.......value`.
fn key_range(line: &str, s: usize, e: usize) -> Option<std::ops::Range<usize>> {
    let b = line.as_bytes();
    let word = &line[s..e];
    if let Some(dots) = word.find("....") {
        let after = s + dots + word[dots..].bytes().take_while(|&c| c == b'.').count();
        let key = &word[..dots];
        return (after < e && key.bytes().any(|c| c.is_ascii_alphabetic())).then_some(s..s + dots);
    }
    if b[s] == b'-' || is_level_key(word) || !word.bytes().any(|c| c.is_ascii_alphabetic()) {
        return None;
    }
    let next = b.get(e).copied();
    let after = b.get(e + 1).copied();
    if s > 0
        && matches!(b[s - 1], b'"' | b'\'')
        && next == Some(b[s - 1])
        && line[e + 1..].trim_start().starts_with(':')
    {
        return Some(s - 1..e + 1);
    }
    // JSON inside a JSON string: `"msg":"config {\"timeout\":5}"`.
    if s > 1
        && b[s - 1] == b'"'
        && b[s - 2] == b'\\'
        && line[e..].starts_with("\\\"")
        && line[e + 2..].trim_start().starts_with(':')
    {
        return Some(s - 2..e + 2);
    }
    match next {
        Some(b'=') if after != Some(b'=') => Some(s..e),
        Some(b':') => match after {
            None => None,
            Some(c) if c.is_ascii_whitespace() => {
                (is_compound(word) && !is_class_name(word)).then_some(s..e)
            }
            // `host:6379`, `Errors.java:124`: a port or a line, not a value.
            Some(c) if c.is_ascii_digit() => {
                let rest = &b[e + 1..];
                let n = rest.iter().take_while(|c| c.is_ascii_digit()).count();
                (is_compound(word) && rest.get(n).is_some_and(u8::is_ascii_alphabetic))
                    .then_some(s..e)
            }
            Some(b':' | b'/') => None,
            Some(_) => is_compound(word).then_some(s..e),
        },
        _ => None,
    }
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

/// A line with its variable parts masked: the message (`msg` for structured lines),
/// numbers as `#`, long hex ids as `<id>`.
pub fn template(line: &str) -> String {
    let msg = line
        .split("\"msg\":\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .or_else(|| {
            line.split("msg=\"")
                .nth(1)
                .and_then(|r| r.split('"').next())
        })
        .unwrap_or(line);
    let mut out = String::with_capacity(msg.len().min(160));
    let mut last_hash = false;
    for word in msg.split_whitespace().take(24) {
        if !out.is_empty() {
            out.push(' ');
        }
        let hexy = word.len() >= 8 && word.chars().all(|c| c.is_ascii_hexdigit() || c == '-');
        if hexy {
            out.push_str("<id>");
            continue;
        }
        for c in word.chars() {
            if c.is_ascii_digit() {
                if !last_hash {
                    out.push('#');
                }
                last_hash = true;
            } else {
                last_hash = false;
                out.push(c);
            }
        }
    }
    super::clip(&out, 160)
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

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use super::{FIRST_WORDS, Signature, classify, classify_by, http_status};

    /// A line without any of [`FIRST_WORDS`] skips the word-by-word rules: so every word
    /// those rules ask about first must be in the list. On a line that has none, every
    /// `||` operand and every `&&` left side is asked; record them.
    #[test]
    fn first_words_cover_every_rule() {
        let asked = RefCell::new(Vec::new());
        let has = |s: &str| {
            asked.borrow_mut().push(s.to_string());
            false
        };
        for status in [None, Some(200)] {
            assert_eq!(classify_by(&has, "", status), None);
        }
        for word in asked.borrow().iter() {
            assert!(
                FIRST_WORDS.contains(&word.as_str()),
                "{word:?} is not in FIRST_WORDS"
            );
        }
        assert!(
            FIRST_WORDS.contains(&"duration: "),
            "slow_duration's marker"
        );
    }

    /// The fast path and the rules agree, in any case, on lines of every signature.
    #[test]
    fn classify_matches_the_rules_in_any_case() {
        let lines = [
            ("GET / HTTP/1.1\" 200 12", Some(200), None),
            (
                "GET / HTTP/1.1\" 503 12",
                Some(503),
                Some(Signature::Http5xx),
            ),
            (
                "dial tcp 10.96.0.1:5432: Connection Refused",
                None,
                Some(Signature::Refused),
            ),
            (
                "upstream request TIMEOUT",
                Some(504),
                Some(Signature::Timeout),
            ),
            (
                "lookup db on 10.96.0.10:53: no such host",
                None,
                Some(Signature::Dns),
            ),
            (
                "\"AAAA IN api.example.com. udp 46 false 512\" NXDOMAIN",
                None,
                None,
            ),
            (
                "LOG:  duration: 2350.114 ms  statement: SELECT 1",
                None,
                Some(Signature::Slow),
            ),
            ("LOG:  duration: 2.1 ms  statement: SELECT 1", None, None),
            (
                "level=WARN msg=\"disk almost full\"",
                None,
                Some(Signature::Warning),
            ),
            (
                "{\"level\":\"error\",\"msg\":\"boom\"}",
                None,
                Some(Signature::Error),
            ),
            ("all good", None, None),
        ];
        for (line, status, want) in lines {
            let lower = line.to_ascii_lowercase();
            let rules = classify_by(&|s| lower.contains(s), &lower, status);
            assert_eq!(classify(line, status), want, "{line}");
            assert_eq!(rules, want, "{line}");
        }
    }

    /// The rules alone, over the whole line: what classification was before echoes were
    /// told apart.
    fn bare_rules(line: &str) -> Option<Signature> {
        let lower = line.to_ascii_lowercase();
        classify_by(&|s| lower.contains(s), &lower, http_status(line))
    }

    /// Start-up logs of common runtimes, as they print them: command lines, JVM flags,
    /// shell traces, config dumps. None of it is an event; each fixture holds lines the
    /// rules alone fall for, so it tests something.
    #[test]
    fn startup_logs_of_common_runtimes_classify_as_nothing() {
        let fixtures = [
            (
                "jvm-spring-startup.log",
                include_str!("../../../testdata/logs/jvm-spring-startup.log"),
            ),
            (
                "go-startup.log",
                include_str!("../../../testdata/logs/go-startup.log"),
            ),
            (
                "node-startup.log",
                include_str!("../../../testdata/logs/node-startup.log"),
            ),
            (
                "python-startup.log",
                include_str!("../../../testdata/logs/python-startup.log"),
            ),
            (
                "nginx-startup.log",
                include_str!("../../../testdata/logs/nginx-startup.log"),
            ),
            (
                "envoy-startup.log",
                include_str!("../../../testdata/logs/envoy-startup.log"),
            ),
            (
                "shell-trace.log",
                include_str!("../../../testdata/logs/shell-trace.log"),
            ),
        ];
        for (name, text) in fixtures {
            let mut echoes = 0;
            for line in text.lines() {
                assert_eq!(classify(line, http_status(line)), None, "{name}: {line:?}");
                echoes += usize::from(bare_rules(line).is_some());
            }
            assert!(echoes >= 2, "{name}: no line the bare rules fall for");
        }
    }

    /// Real failures of the same runtimes still classify, as what they are.
    #[test]
    fn real_errors_of_common_runtimes_still_classify() {
        use Signature::*;
        let lines = [
            // JVM
            ("java.lang.OutOfMemoryError: Java heap space", OutOfMemory),
            (
                "Exception in thread \"main\" java.lang.OutOfMemoryError: Java heap space",
                OutOfMemory,
            ),
            (
                "Terminating due to java.lang.OutOfMemoryError: Java heap space",
                OutOfMemory,
            ),
            ("java.lang.OutOfMemoryError: Metaspace", OutOfMemory),
            (
                "Exception in thread \"main\" java.net.ConnectException: Connection refused",
                Refused,
            ),
            (
                "Exception in thread \"main\" java.lang.IllegalStateException: no config",
                Panic,
            ),
            (
                "Caused by: java.net.UnknownHostException: ts-order-servce: Name or service not known",
                Dns,
            ),
            (
                "com.mysql.cj.jdbc.exceptions.CommunicationsException: Communications link failure",
                Refused,
            ),
            (
                "org.springframework.web.client.HttpServerErrorException$ServiceUnavailable: 503 Service Unavailable: [no body]",
                Error,
            ),
            ("curl: (6) Could not resolve host: payments.internal", Dns),
            // Envoy / istio-proxy access log lines with their response flags.
            (
                "[2026-10-03T09:29:10.123Z] \"GET /api/stock HTTP/1.1\" 503 UF upstream_reset_before_response_started{connection_failure} - \"-\" 0 91 2 - \"-\" \"curl/8.5.0\" \"5c1f\" \"inventory.payments.svc.cluster.local\" \"10.244.1.5:8080\" outbound|80||inventory.payments.svc.cluster.local - 10.96.14.12:80 10.244.0.7:51234 - default",
                Refused,
            ),
            (
                "[2026-10-03T09:29:11.001Z] \"GET /api/stock HTTP/1.1\" 503 UH no_healthy_upstream - \"-\" 0 19 0 - \"-\" \"curl/8.5.0\" \"5c20\" \"inventory.payments.svc.cluster.local\" \"-\" outbound|80||inventory.payments.svc.cluster.local - 10.96.14.12:80 10.244.0.7:51236 - default",
                Refused,
            ),
            (
                "[2026-10-03T09:29:12.001Z] \"POST /pay HTTP/1.1\" 504 UT response_timeout - \"-\" 120 24 15001 - \"-\" \"okhttp/4.12\" \"5c21\" \"payments:8080\" \"10.244.2.9:8080\" outbound|8080||payments.payments.svc.cluster.local - 10.96.14.20:8080 10.244.0.7:40000 - default",
                Timeout,
            ),
            ("Error: getaddrinfo ENOTFOUND redis-master", Dns),
            (
                "Caused by: java.net.ConnectException: Connection refused",
                Refused,
            ),
            ("java.net.SocketTimeoutException: Read timed out", Timeout),
            (
                "2024-05-01T10:05:00.000Z ERROR 1 --- [orders] [nio-8080-exec-3] o.h.engine.jdbc.spi.SqlExceptionHelper   : HikariPool-1 - Connection is not available, request timed out after 30000ms.",
                PoolExhausted,
            ),
            (
                "java.sql.SQLException: Access denied for user 'app'@'10.0.1.5' (using password: YES)",
                Error,
            ),
            // Go
            (
                "dial tcp 10.96.0.12:6379: connect: connection refused",
                Refused,
            ),
            (
                "panic: runtime error: invalid memory address or nil pointer dereference",
                Panic,
            ),
            (
                "{\"level\":\"error\",\"ts\":\"2024-05-01T10:05:00.000Z\",\"msg\":\"charge failed\",\"error\":\"Post \\\"http://payments:8080/charge\\\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)\"}",
                Timeout,
            ),
            (
                "Get \"http://auth:9000/verify\": net/http: request canceled (Client.Timeout exceeded while awaiting headers)",
                Timeout,
            ),
            (
                "Error 1045 (28000): Access denied for user 'app'@'10.0.1.5' (using password: YES)",
                Error,
            ),
            // Node.js
            ("Error: connect ECONNREFUSED 10.0.0.5:5432", Refused),
            ("Error: read ECONNRESET", Reset),
            ("Error: connect ETIMEDOUT 10.0.0.5:443", Timeout),
            (
                "FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory",
                OutOfMemory,
            ),
            // Python
            (
                "psycopg2.OperationalError: could not connect to server: Connection refused",
                Refused,
            ),
            ("socket.timeout: timed out", Timeout),
            (
                "requests.exceptions.ReadTimeout: HTTPConnectionPool(host='api', port=80): Read timed out. (read timeout=5)",
                Timeout,
            ),
            ("Traceback (most recent call last):", Panic),
            (
                "ConnectionResetError: [Errno 104] Connection reset by peer",
                Reset,
            ),
            // nginx
            (
                "2024/05/01 10:05:00 [error] 29#29: *1 connect() failed (111: Connection refused) while connecting to upstream, client: 10.244.0.1, server: _, request: \"GET / HTTP/1.1\", upstream: \"http://10.244.1.5:8080/\", host: \"shop.example.com\"",
                Refused,
            ),
            (
                "2024/05/01 10:05:00 [error] 29#29: *7 upstream timed out (110: Connection timed out) while reading response header from upstream, client: 10.244.0.1, server: _, request: \"GET /api HTTP/1.1\", upstream: \"http://10.244.1.5:8080/api\"",
                Timeout,
            ),
            // Envoy
            (
                "[2024-05-01T10:05:00.000Z] \"GET /api/cart HTTP/1.1\" 503 UF,URX upstream_reset_before_response_started{connection_failure} - \"-\" 0 91 30 - \"-\" \"curl/8.5.0\" \"5e1c3b2a-1f0e-4d7c-9a8b-7c6d5e4f3a2b\" \"cart:8080\" \"10.244.1.17:8080\"",
                Refused,
            ),
            (
                "upstream connect error or disconnect/reset before headers. reset reason: connection failure",
                Error,
            ),
            (
                "[2024-05-01 10:05:00.000][1][warning][main] [source/server/server.cc:910] There is no configured limit to the number of allowed active downstream connections.",
                Warning,
            ),
            // PostgreSQL, RabbitMQ
            (
                "2024-05-01 10:05:00.000 UTC [68] FATAL:  password authentication failed for user \"app\"",
                Error,
            ),
            (
                "closing AMQP connection <0.1234.0> (10.244.1.5:43210 -> 10.244.2.9:5672): missed heartbeats from client, timeout: 60s",
                Timeout,
            ),
        ];
        for (line, want) in lines {
            assert_eq!(classify(line, http_status(line)), Some(want), "{line}");
        }
    }

    /// Each rule an echo could trip, with its near-miss twin: the echo names the failure
    /// (a flag, a key, a trace, a config line), the event reports it.
    #[test]
    fn echoes_and_their_events() {
        use Signature::*;
        let twins = [
            (
                "Picked up JAVA_TOOL_OPTIONS: -XX:+HeapDumpOnOutOfMemoryError -XX:OnOutOfMemoryError=\"kill -9 %p\"",
                "java.lang.OutOfMemoryError: Java heap space",
                OutOfMemory,
            ),
            (
                "+ exec java -Xmx512m -XX:+ExitOnOutOfMemoryError -jar app.jar",
                "Terminating due to java.lang.OutOfMemoryError: Java heap space",
                OutOfMemory,
            ),
            (
                "{\"msg\":\"starting\",\"args\":[\"-XX:+HeapDumpOnOutOfMemoryError\",\"-jar\",\"app.jar\"]}",
                "{\"level\":\"error\",\"msg\":\"java.lang.OutOfMemoryError: Java heap space\"}",
                OutOfMemory,
            ),
            (
                "connection-timeout: 30s",
                "HikariPool-1 - Connection is not available, request timed out after 30000ms.",
                PoolExhausted,
            ),
            (
                "level=info msg=\"config\" timeout_ms=5000 read_timeout=5s",
                "level=info msg=\"call failed\" err=\"i/o timeout\" timeout_ms=5000",
                Timeout,
            ),
            (
                "{\"level\":\"info\",\"msg\":\"config\",\"connect_timeout\":\"0.25s\"}",
                "{\"level\":\"info\",\"msg\":\"config\",\"error\":\"context deadline exceeded\"}",
                Timeout,
            ),
            (
                "  timeout: 30",
                "missed heartbeats from client, timeout: 60s",
                Timeout,
            ),
            (
                "retryOn: ETIMEDOUT",
                "Error: connect ETIMEDOUT 10.0.0.5:443",
                Timeout,
            ),
            (
                "    proxy_next_upstream error timeout http_502;",
                "upstream timed out (110: Connection timed out) while reading response header from upstream",
                Timeout,
            ),
            (
                "cfg=\"{Addr::8080 ReadTimeout:5s DialTimeout:3s}\"",
                "read tcp 10.244.1.5:43210->10.96.0.12:6379: i/o timeout",
                Timeout,
            ),
            (
                "--retry-on=ECONNREFUSED",
                "Error: connect ECONNREFUSED 10.0.0.5:5432",
                Refused,
            ),
            (
                "+ echo 'waiting for mysql (connection refused until it is up)'",
                "dial tcp 10.96.0.12:3306: connect: connection refused",
                Refused,
            ),
            (
                "retry_on: ECONNRESET,EPIPE",
                "Error: read ECONNRESET",
                Reset,
            ),
            (
                "{\"level\":\"info\",\"msg\":\"effective config {\\\"timeout\\\":5,\\\"retries\\\":3}\"}",
                "{\"level\":\"info\",\"msg\":\"call failed {\\\"error\\\":\\\"i/o timeout\\\"}\"}",
                Timeout,
            ),
            ("  on_error: retry", "Error: 503", Error),
            (
                "kernel.panic: 10",
                "panic: runtime error: index out of range [3] with length 3",
                Panic,
            ),
            (
                "+ mysql -h mysql -u app -e 'select 1' || echo 'Access denied for user app'",
                "ERROR 1045 (28000): Access denied for user 'app'@'10.0.1.5' (using password: YES)",
                Error,
            ),
            (
                "LOG_LEVEL=error",
                "level=error msg=\"payment failed\"",
                Error,
            ),
            (
                "Envoy command: [-c envoy.json -l warning --component-log-level misc:error]",
                "[2024-05-01 10:05:00.000][1][warning][misc] [source/common/protobuf/message_validator_impl.cc:21] Deprecated field: type envoy.type.matcher.v3.RegexMatcher Using deprecated option 'envoy.type.matcher.v3.RegexMatcher.google_re2'",
                Warning,
            ),
        ];
        for (echo, event, sig) in twins {
            assert!(bare_rules(echo).is_some(), "{echo:?} is no near miss");
            assert_eq!(classify(echo, http_status(echo)), None, "echo {echo:?}");
            assert_eq!(
                classify(event, http_status(event)),
                Some(sig),
                "event {event:?}"
            );
        }
    }

    /// What an echo blanks, exactly: options with their values, keys but not values.
    #[test]
    fn evidence_text_blanks_options_and_keys_only() {
        let t = |l: &str| {
            super::evidence_text(l).map(|s| s.split_whitespace().collect::<Vec<_>>().join(" "))
        };
        assert_eq!(
            t("run -l warning --x=1 -XX:Foo=\"a b\" now").as_deref(),
            Some("run now")
        );
        assert_eq!(
            t("level=error err=\"connection refused\"").as_deref(),
            Some("level=error =\"connection refused\"")
        );
        assert_eq!(
            t("{\"level\":\"warn\",\"read_timeout\":\"5s\"}").as_deref(),
            Some("{\"level\":\"warn\", :\"5s\"}")
        );
        assert_eq!(
            t("java.lang.OutOfMemoryError: Java heap space").as_deref(),
            Some("java.lang.outofmemoryerror: java heap space")
        );
        assert_eq!(t("+ exec java -jar app.jar"), None);
        assert_eq!(t("proxy_read_timeout 60s;"), None);
        assert_eq!(t("\"retryOnConnectionFailure\": true,"), None);
        assert_eq!(t("spring.datasource.url=jdbc:mysql://db:3306/x"), None);
        // Non-ASCII text around a blanked option stays valid text.
        assert_eq!(
            t("démarrage -XX:+UseG1GC terminé").as_deref(),
            Some("démarrage terminé")
        );
    }
}
