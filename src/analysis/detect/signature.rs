//! What a log line says: its [`Signature`], most specific first.
//!
//! Most lines say nothing (an access log's "request completed … status=200"): one
//! Aho–Corasick pass over the line, case-insensitive, finds whether any of the words the
//! rules look for occurs at all, and only lines that have one are lower-cased and run
//! through the rules.

use std::sync::LazyLock;

use aho_corasick::AhoCorasick;

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

/// Every word `classify` needs to find for a signature (a necessary condition of each
/// rule): `:53`, `expired`, ` udp ` and ` tcp ` only count beside another one of these.
const WORDS: &[&str] = &[
    "\" in ",
    " in a ",
    "\"a in ",
    "\"aaaa in ",
    "no such host",
    "server misbehaving",
    "nxdomain",
    "servfail",
    "lookup ",
    "too many clients",
    "remaining connection slots",
    "pool exhausted",
    "too many connections",
    "pool timeout",
    "connection pool",
    "x509:",
    "certificate",
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
    "connection refused",
    "connection reset",
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
    "level=warn",
    "\"level\":\"warn",
    " warn ",
    "[warn",
    " warning",
];

static ANY_WORD: LazyLock<Option<AhoCorasick>> = LazyLock::new(|| {
    AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .build(WORDS)
        .ok()
});

/// The signature of a line with the HTTP status it carries, if any.
pub fn classify(line: &str, status: Option<u16>) -> Option<Signature> {
    if ANY_WORD.as_ref().is_some_and(|ac| !ac.is_match(line)) {
        return status.and_then(|s| (s >= 500).then_some(Signature::Http5xx));
    }
    rules(&line.to_ascii_lowercase(), status)
}

fn rules(lower: &str, status: Option<u16>) -> Option<Signature> {
    let has = |s: &str| lower.contains(s);
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
    {
        return Some(Signature::Dns);
    }
    if has("too many clients")
        || has("remaining connection slots")
        || has("pool exhausted")
        || has("too many connections")
        || has("pool timeout")
        || has("connection pool")
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
    if has("panic:")
        || has("traceback (most recent call last)")
        || has("exception in thread")
        || has("fatal error")
        || has("segmentation fault")
    {
        return Some(Signature::Panic);
    }
    if has("timeout") || has("timed out") || has("deadline exceeded") {
        return Some(Signature::Timeout);
    }
    if has("connection refused") {
        return Some(Signature::Refused);
    }
    if has("connection reset") || has("broken pipe") {
        return Some(Signature::Reset);
    }
    if let Some(s) = status {
        return (s >= 500).then_some(Signature::Http5xx);
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The pre-filter only skips work: on every line of several generated incidents, and
    /// on lines made to trip it, the answer is the one the rules give on their own.
    #[test]
    fn the_prefilter_never_changes_a_signature() {
        let mut lines: Vec<String> = [
            "2026-11-24T13:53:00Z GET /x status=200 took 12ms",
            "lookup postgres on 10.96.0.10:53: no such host",
            "dial tcp: lookup auth on 10.96.0.10:53: server misbehaving",
            r#"[INFO] 10.244.0.1:53 - 1 "A IN api.example.com. udp 46 false 512" NXDOMAIN"#,
            r#"{"status":503,"msg":"upstream failed"}"#,
            "x509: certificate has EXPIRED or is not yet valid",
            "LOG:  duration: 2350.114 ms  statement: SELECT 1",
            "LOG:  duration: 12.1 ms  statement: SELECT 1",
            "WARNING: evicting keys",
            "Level=Error something",
            "",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        for name in [
            "coredns-down-dns-errors",
            "tls-certificate-expired",
            "auth-memory-leak",
        ] {
            let scenario = crate::synth::Scenario::resolve(name).expect("library scenario");
            let opts = crate::synth::Options {
                seed: scenario.seed.unwrap_or(1),
                nodes: scenario
                    .nodes
                    .unwrap_or(crate::synth::Options::default().nodes),
                ..crate::synth::Options::default()
            };
            let snap = crate::synth::generate(&opts, Some(&scenario)).expect("generate");
            for text in snap.logs.values() {
                lines.extend(text.lines().map(str::to_string));
            }
        }
        assert!(lines.len() > 1000);
        for line in &lines {
            for status in [None, Some(200), Some(503)] {
                assert_eq!(
                    classify(line, status),
                    rules(&line.to_ascii_lowercase(), status),
                    "{line} ({status:?})"
                );
            }
        }
    }
}
