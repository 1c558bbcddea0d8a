//! Time and field formatting for every log style: timestamps in each software's own
//! layout written by hand from Unix milliseconds (RFC 3339, PostgreSQL, Redis, nginx,
//! RabbitMQ, klog), JSON string escaping, JSON and logfmt line builders, fixed decimals.
//! Also used by the metrics writer (`push_json_str`, `push_rfc3339_seconds`).

use std::fmt::Write as _;

// ---------------------------------------------------------------------------------------
// Time formatting. Hand-written from Unix milliseconds: logs hold many thousands of lines
// per container and each style needs its own layout, cheaper than going through a
// calendar library line by line (checked against jiff in the tests).

#[derive(Debug, Clone, Copy)]
pub(super) struct Civil {
    pub(super) year: i64,
    pub(super) month: u32,
    pub(super) day: u32,
    pub(super) hour: u32,
    pub(super) minute: u32,
    pub(super) second: u32,
    milli: u32,
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// UTC calendar fields of a Unix time in milliseconds (Howard Hinnant's civil_from_days).
pub(super) fn civil(ms: i64) -> Civil {
    let days = ms.div_euclid(86_400_000);
    let rem = ms.rem_euclid(86_400_000);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    Civil {
        year,
        month,
        day,
        hour: (rem / 3_600_000) as u32,
        minute: (rem / 60_000 % 60) as u32,
        second: (rem / 1000 % 60) as u32,
        milli: (rem % 1000) as u32,
    }
}

fn month_name(c: &Civil) -> &'static str {
    MONTHS[(c.month as usize).saturating_sub(1).min(11)]
}

/// `2026-11-24T13:58:01.123Z`
pub(super) fn push_rfc3339(out: &mut String, ms: i64) {
    let c = civil(ms);
    let _ = write!(
        out,
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        c.year, c.month, c.day, c.hour, c.minute, c.second, c.milli
    );
}

/// `2026-11-24T13:58:01Z`: the seconds form Kubernetes objects and x509 errors use.
pub(crate) fn push_rfc3339_seconds(out: &mut String, ms: i64) {
    let c = civil(ms);
    let _ = write!(
        out,
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        c.year, c.month, c.day, c.hour, c.minute, c.second
    );
}

pub(super) fn rfc3339_seconds(ms: i64) -> String {
    let mut s = String::new();
    push_rfc3339_seconds(&mut s, ms);
    s
}

/// PostgreSQL's `log_line_prefix = '%m [%p] '`: `2026-11-24 13:58:01.123 UTC [57] `.
pub(super) fn push_pg(out: &mut String, ms: i64, pid: u64) {
    let c = civil(ms);
    let _ = write!(
        out,
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:03} UTC [{pid}] ",
        c.year, c.month, c.day, c.hour, c.minute, c.second, c.milli
    );
}

/// Redis: `1:M 24 Nov 2026 13:58:01.123 `.
pub(super) fn push_redis(out: &mut String, ms: i64, pid: u64, role: char) {
    let c = civil(ms);
    let _ = write!(
        out,
        "{pid}:{role} {:02} {} {:04} {:02}:{:02}:{:02}.{:03} ",
        c.day,
        month_name(&c),
        c.year,
        c.hour,
        c.minute,
        c.second,
        c.milli
    );
}

/// nginx `$time_local`: `24/Nov/2026:13:58:01 +0000`.
pub(super) fn push_nginx_local(out: &mut String, ms: i64) {
    let c = civil(ms);
    let _ = write!(
        out,
        "{:02}/{}/{:04}:{:02}:{:02}:{:02} +0000",
        c.day,
        month_name(&c),
        c.year,
        c.hour,
        c.minute,
        c.second
    );
}

/// nginx error log: `2026/11/24 13:58:01 `.
pub(super) fn push_nginx_error(out: &mut String, ms: i64) {
    let c = civil(ms);
    let _ = write!(
        out,
        "{:04}/{:02}/{:02} {:02}:{:02}:{:02} ",
        c.year, c.month, c.day, c.hour, c.minute, c.second
    );
}

/// RabbitMQ 3.9+: `2026-11-24 13:58:01.123456+00:00 `.
pub(super) fn push_rabbit(out: &mut String, ms: i64, micro: u64) {
    let c = civil(ms);
    let _ = write!(
        out,
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:03}{:03}+00:00 ",
        c.year,
        c.month,
        c.day,
        c.hour,
        c.minute,
        c.second,
        c.milli,
        micro % 1000
    );
}

/// klog: `I1124 13:58:01.123456       1 proxier.go:805] `.
pub(super) fn push_klog(
    out: &mut String,
    level: char,
    ms: i64,
    micro: u64,
    pid: u64,
    source: &str,
) {
    let c = civil(ms);
    let _ = write!(
        out,
        "{level}{:02}{:02} {:02}:{:02}:{:02}.{:03}{:03} {pid:>7} {source}] ",
        c.month,
        c.day,
        c.hour,
        c.minute,
        c.second,
        c.milli,
        micro % 1000
    );
}

// ---------------------------------------------------------------------------------------
// Field writers.

/// Appends `s` as a JSON string literal.
pub(crate) fn push_json_str(out: &mut String, s: &str) {
    out.push('"');
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// A JSON log line under construction: `{"ts":"…"` then fields, closed by [`JsonLine::end`].
pub(super) struct JsonLine(String);

impl JsonLine {
    pub(super) fn new(t: i64, level: &str, msg: &str) -> Self {
        let mut s = String::with_capacity(160);
        s.push_str("{\"ts\":\"");
        push_rfc3339(&mut s, t);
        s.push_str("\",\"level\":");
        push_json_str(&mut s, level);
        s.push_str(",\"msg\":");
        push_json_str(&mut s, msg);
        JsonLine(s)
    }
    pub(super) fn str(mut self, key: &str, value: &str) -> Self {
        self.0.push(',');
        push_json_str(&mut self.0, key);
        self.0.push(':');
        push_json_str(&mut self.0, value);
        self
    }
    /// A number already formatted (integer or fixed decimals).
    pub(super) fn num(mut self, key: &str, value: impl std::fmt::Display) -> Self {
        self.0.push(',');
        push_json_str(&mut self.0, key);
        let _ = write!(self.0, ":{value}");
        self
    }
    pub(super) fn end(mut self) -> String {
        self.0.push('}');
        self.0
    }
}

/// Appends ` key=value`, quoting the value logfmt-style when it needs it.
pub(super) fn push_kv(out: &mut String, key: &str, value: &str) {
    out.push(' ');
    out.push_str(key);
    out.push('=');
    let quote = value.is_empty()
        || value
            .chars()
            .any(|c| c == ' ' || c == '"' || c == '=' || c == '\\' || u32::from(c) < 0x20);
    if !quote {
        out.push_str(value);
        return;
    }
    out.push('"');
    for ch in value.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if u32::from(c) < 0x20 => out.push(' '),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// A logfmt line: `time=… level=… msg=…` then fields.
pub(super) fn logfmt(t: i64, level: &str, msg: &str) -> String {
    let mut s = String::with_capacity(160);
    s.push_str("time=");
    push_rfc3339(&mut s, t);
    push_kv(&mut s, "level", level);
    push_kv(&mut s, "msg", msg);
    s
}

/// `x` with `decimals` fixed decimals: the only float formatting used, for stable bytes.
pub(super) fn fixed(x: f64, decimals: usize) -> String {
    let x = if x.is_finite() { x } else { 0.0 };
    format!("{x:.decimals$}")
}

#[cfg(test)]
mod tests {
    use jiff::Timestamp;

    use super::*;
    use crate::rng::Rng;

    fn cap() -> Timestamp {
        "2026-11-24T14:00:00Z".parse().unwrap()
    }

    fn ms(t: Timestamp) -> i64 {
        t.as_millisecond()
    }

    #[test]
    fn civil_time_matches_jiff() {
        let mut rng = Rng::new(3);
        for _ in 0..2_000 {
            let ms = rng.range(0, 4_102_444_800_000) as i64; // 1970..2100
            let mut ours = String::new();
            push_rfc3339(&mut ours, ms);
            let theirs = Timestamp::from_millisecond(ms)
                .unwrap()
                .strftime("%Y-%m-%dT%H:%M:%S%.3fZ")
                .to_string();
            assert_eq!(ours, theirs);
        }
        let mut s = String::new();
        push_redis(&mut s, ms(cap()) + 1_123, 1, 'M');
        push_pg(&mut s, ms(cap()), 57);
        push_nginx_local(&mut s, ms(cap()));
        assert_eq!(
            s,
            "1:M 24 Nov 2026 14:00:01.123 2026-11-24 14:00:00.000 UTC [57] 24/Nov/2026:14:00:00 +0000"
        );
    }
}
