//! Request latency from access logs: how long a workload takes to answer, over time.
//!
//! "Production is slow" is usually visible first in the access logs of the services that
//! slowed down, long before anything crashes: the request durations they log
//! (`duration=2637.8ms`, `"duration_ms":1568.9`, nginx's `$request_time`). Each workload
//! keeps, per five-minute bucket, a log₂ histogram of those durations (bounded memory
//! whatever the log volume); the detector looks for the split of the buckets where the
//! median after is many times the median before, and reports when that began and by how
//! much. Without durations in the logs there is no finding, and nothing is guessed.

use std::collections::BTreeMap;

use super::{Hit, fmt_ts};
use crate::report::Severity;
use intel_engine::ObjectRef;

const BUCKET: i64 = 300;
const BINS: usize = 22;
/// Fewer requests than this on either side of a split say nothing about a median.
const MIN_SIDE: u32 = 8;
/// The median after must be at least this many times the median before…
const MIN_RATIO: f64 = 4.0;
/// …and slow enough for a user to notice.
const MIN_SLOW_MS: f64 = 200.0;

#[derive(Debug, Clone)]
struct Bucket {
    bins: [u32; BINS],
    /// Seconds into the bucket of each bin's first request (`u16::MAX`: none), for an
    /// onset to the second rather than to the bucket.
    first: [u16; BINS],
    count: u32,
    sum_ms: f64,
}

impl Default for Bucket {
    fn default() -> Self {
        Bucket {
            bins: [0; BINS],
            first: [u16::MAX; BINS],
            count: 0,
            sum_ms: 0.0,
        }
    }
}

impl Bucket {
    fn merge(&mut self, o: &Bucket) {
        for (a, b) in self.bins.iter_mut().zip(o.bins.iter()) {
            *a += b;
        }
        self.count += o.count;
        self.sum_ms += o.sum_ms;
    }

    /// The median's bin.
    fn median_bin(&self) -> usize {
        let half = self.count.div_ceil(2);
        let mut seen = 0;
        for (i, n) in self.bins.iter().enumerate() {
            seen += n;
            if seen >= half {
                return i;
            }
        }
        BINS - 1
    }

    /// Squared deviation of the bins from their mean: how mixed the durations are.
    fn sse(&self) -> f64 {
        let n = f64::from(self.count.max(1));
        let mean = self
            .bins
            .iter()
            .enumerate()
            .map(|(i, c)| i as f64 * f64::from(*c))
            .sum::<f64>()
            / n;
        self.bins
            .iter()
            .enumerate()
            .map(|(i, c)| f64::from(*c) * (i as f64 - mean).powi(2))
            .sum()
    }

    fn mean_ms(&self) -> f64 {
        self.sum_ms / f64::from(self.count.max(1))
    }
}

/// Bin `b` holds durations in [2^(b-2), 2^(b-1)) ms: bin 0 is under 0.5 ms.
fn bin(ms: f64) -> usize {
    if ms < 0.5 {
        return 0;
    }
    ((ms.log2().floor() as i64 + 2).clamp(0, BINS as i64 - 1)) as usize
}

/// The middle of a bin, for words ("about 2.9 s"): the geometric mean of its bounds.
fn bin_ms(b: usize) -> f64 {
    2f64.powf(b as f64 - 2.0) * std::f64::consts::SQRT_2
}

/// Request durations of one workload.
#[derive(Debug, Clone, Default)]
pub struct Latency {
    buckets: BTreeMap<i64, Bucket>,
    /// The slowest request line seen and its file: the evidence.
    slowest: Option<(f64, i64, String, String)>,
}

impl Latency {
    pub fn add(&mut self, t: i64, ms: f64, line: &str, file: &str) {
        let b = self.buckets.entry(t - t.rem_euclid(BUCKET)).or_default();
        let i = bin(ms);
        b.bins[i] += 1;
        b.first[i] = b.first[i].min(t.rem_euclid(BUCKET) as u16);
        b.count += 1;
        b.sum_ms += ms;
        if self.slowest.as_ref().is_none_or(|s| ms > s.0) {
            self.slowest = Some((ms, t, super::clip(line, 240), file.to_string()));
        }
    }

    /// Adds another's requests (of the same workload), as if they had been added here
    /// after this one's: the slowest stays the first seen of equal ones.
    pub fn absorb(&mut self, other: Latency) {
        for (t, b) in other.buckets {
            let into = self.buckets.entry(t).or_default();
            for i in 0..BINS {
                into.bins[i] += b.bins[i];
                into.first[i] = into.first[i].min(b.first[i]);
            }
            into.count += b.count;
            into.sum_ms += b.sum_ms;
        }
        if let Some(s) = other.slowest {
            if self.slowest.as_ref().is_none_or(|m| s.0 > m.0) {
                self.slowest = Some(s);
            }
        }
    }

    /// Requests with a logged duration.
    pub fn requests(&self) -> u32 {
        self.buckets.values().map(|b| b.count).sum()
    }
}

/// The duration of an access-log line in milliseconds, from the fields servers and
/// frameworks commonly log; `None` when the line has none or its unit is ambiguous (a bare
/// `duration=12`: seconds for zap, nanoseconds for slog).
pub fn request_ms(line: &str) -> Option<f64> {
    // One pass over the line's `=` and `:`: the key before each, the first occurrence of
    // each known key, then the keys in order (the most explicit first). A search per key
    // scanned every access line seventeen times.
    let b = line.as_bytes();
    let mut first: [Option<usize>; KEYS.len()] = [None; KEYS.len()];
    for pos in memchr::memchr2_iter(b'=', b':', b) {
        let (key, json) = if b[pos] == b'=' {
            // logfmt ` key=`: a space right before the key.
            let Some(sp) = b[..pos].iter().rposition(|&c| c == b' ') else {
                continue;
            };
            (&b[sp + 1..pos], false)
        } else {
            // JSON `"key":`.
            if pos < 2 || b[pos - 1] != b'"' {
                continue;
            }
            let Some(q) = b[..pos - 1].iter().rposition(|&c| c == b'"') else {
                continue;
            };
            (&b[q + 1..pos - 1], true)
        };
        if key.len() > 16 {
            continue;
        }
        if let Some(k) = KEYS
            .iter()
            .position(|(name, is_json, _)| *is_json == json && name.as_bytes() == key)
        {
            first[k].get_or_insert(pos + 1);
        }
    }
    for (k, (_, _, bare)) in KEYS.iter().enumerate() {
        if let Some(at) = first[k] {
            if let Some(ms) = with_unit(line[at..].trim_start_matches('"'), *bare) {
                return Some(ms);
            }
        }
    }
    nginx_request_time(line)
}

/// Duration fields: the key, whether it is a JSON key (else logfmt), and the unit of a
/// bare number (0: it needs a unit suffix).
const KEYS: &[(&str, bool, f64)] = &[
    ("duration_ms", true, 1.0),
    ("latency_ms", true, 1.0),
    ("elapsed_ms", true, 1.0),
    ("response_time_ms", true, 1.0),
    ("took_ms", true, 1.0),
    ("request_time", true, 1000.0),
    ("duration", true, 0.0),
    ("latency", true, 0.0),
    ("elapsed", true, 0.0),
    ("took", true, 0.0),
    ("duration_ms", false, 1.0),
    ("latency_ms", false, 1.0),
    ("request_time", false, 1000.0),
    ("duration", false, 0.0),
    ("latency", false, 0.0),
    ("elapsed", false, 0.0),
    ("took", false, 0.0),
];

/// `2637.8ms`, `2.6s`, `850us`, `1m2s` is not handled (rare in access logs).
fn with_unit(s: &str, bare: f64) -> Option<f64> {
    let end = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let n: f64 = s[..end].parse().ok()?;
    let unit = s[end..]
        .split(|c: char| !c.is_ascii_alphabetic() && c != 'µ')
        .next()
        .unwrap_or("");
    let factor = match unit {
        "ms" => 1.0,
        "s" => 1000.0,
        "us" | "µs" => 0.001,
        "ns" => 0.000_001,
        "" if bare > 0.0 => bare,
        _ => return None,
    };
    Some(n * factor).filter(|ms| ms.is_finite())
}

/// nginx (and ingress-nginx) access lines: `$request_time` is the first number with three
/// decimals after the quoted user agent, in seconds.
fn nginx_request_time(line: &str) -> Option<f64> {
    if !line.contains(" HTTP/") {
        return None;
    }
    let tail = &line[line.rfind('"')? + 1..];
    tail.split_whitespace()
        .take(3)
        .find(|tok| {
            tok.split_once('.').is_some_and(|(a, b)| {
                !a.is_empty()
                    && a.bytes().all(|c| c.is_ascii_digit())
                    && b.len() == 3
                    && b.bytes().all(|c| c.is_ascii_digit())
            })
        })
        .and_then(|tok| tok.parse::<f64>().ok())
        .map(|s| s * 1000.0)
}

/// A sustained rise of a workload's request latency, when its logs carry durations.
pub fn detect(w: &ObjectRef, lat: &Latency, out: &mut Vec<Hit>) {
    let buckets: Vec<(&i64, &Bucket)> = lat.buckets.iter().collect();
    if buckets.len() < 3 {
        return;
    }
    // The change point: the split of the buckets that best separates slow from fast
    // requests (least squared deviation of the log-duration bins on both sides).
    let mut best: Option<(f64, usize, Bucket, Bucket)> = None;
    for k in 1..buckets.len() {
        let mut before = Bucket::default();
        buckets[..k].iter().for_each(|(_, b)| before.merge(b));
        let mut after = Bucket::default();
        buckets[k..].iter().for_each(|(_, b)| after.merge(b));
        if before.count < MIN_SIDE || after.count < MIN_SIDE {
            continue;
        }
        let sse = before.sse() + after.sse();
        if best.as_ref().is_none_or(|b| sse < b.0 - 1e-9) {
            best = Some((sse, k, before, after));
        }
    }
    let Some((_, k, before, after)) = best else {
        return;
    };
    let (mb, ma) = (bin_ms(before.median_bin()), bin_ms(after.median_bin()));
    if ma / mb < MIN_RATIO || ma < MIN_SLOW_MS {
        return;
    }
    // Still slow in the last bucket, or it recovered: say which.
    let last = buckets[buckets.len() - 1].1;
    let ongoing = bin_ms(last.median_bin()) >= 2.0 * bin_ms(before.median_bin());
    // The first request of the onset bucket at least four times the median before.
    let slow_from = (before.median_bin() + 2).min(BINS - 1);
    let since = *buckets[k].0
        + buckets[k].1.first[slow_from..]
            .iter()
            .copied()
            .filter(|f| *f != u16::MAX)
            .min()
            .map_or(0, i64::from);
    let ratio = after.mean_ms() / before.mean_ms().max(0.001);
    let severity = if ratio >= 10.0 && after.mean_ms() >= 1000.0 && ongoing {
        Severity::Critical
    } else {
        Severity::Warning
    };
    let mut h = Hit::new(w.clone(), "LatencyIncrease", severity, 0.15)
        .msg(format!(
            "{}'s requests take {} on average since {}, {:.0}x the {} before ({} of {} logged requests after){}",
            w.name,
            human_ms(after.mean_ms()),
            fmt_ts(since),
            ratio,
            human_ms(before.mean_ms()),
            after.count,
            after.count + before.count,
            if ongoing { "" } else { "; back to normal in the last five minutes" }
        ))
        .since(Some(since))
        .until(Some(*buckets[buckets.len() - 1].0 + BUCKET));
    if let Some((_, t, line, file)) = &lat.slowest {
        h = h.ev("log", file.clone(), line.clone(), Some(*t));
    }
    out.push(h);
}

fn human_ms(ms: f64) -> String {
    if ms >= 1000.0 {
        format!("{:.1} s", ms / 1000.0)
    } else {
        format!("{ms:.0} ms")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_read_from_common_access_log_formats() {
        let cases = [
            (
                "time=2026-11-24T13:12:53Z level=warn msg=\"request completed\" status=404 duration=2637.8ms bytes=160",
                Some(2637.8),
            ),
            (
                r#"{"ts":"2026-11-24T13:13:42Z","status":504,"duration_ms":1568.9,"bytes":85}"#,
                Some(1568.9),
            ),
            (r#"{"status":200,"latency":"1.5s"}"#, Some(1500.0)),
            (r#"{"status":200,"request_time":0.25}"#, Some(250.0)),
            (
                r#"10.0.1.49 - - [24/Nov/2026:13:00:12 +0000] "GET /api/cart HTTP/1.1" 200 2191 "https://x/" "Mozilla/5.0" 840 0.006 [upstream-default-backend] [] 10.244.0.1:80 2191 0.006 200 abc"#,
                Some(6.0),
            ),
            (
                r#"2026-11-24T13:06:12Z 10.244.13.9 - - "GET /api/cart HTTP/1.1" 304 0 "-" "Mozilla/5.0" 0.017 req_id=0f1c"#,
                Some(17.0),
            ),
            // A bare number without a unit is ambiguous: no duration.
            (r#"{"status":200,"duration":12}"#, None),
            ("status=200 path=/ bytes=12", None),
        ];
        for (line, want) in cases {
            let got = request_ms(line);
            match (got, want) {
                (Some(g), Some(w)) => assert!((g - w).abs() < 1e-6, "{line}: {g} != {w}"),
                _ => assert_eq!(got, want, "{line}"),
            }
        }
    }

    /// The one-pass scan finds what a search per key finds.
    fn reference(line: &str) -> Option<f64> {
        for (name, json, bare) in KEYS {
            let key = if *json {
                format!("\"{name}\":")
            } else {
                format!(" {name}=")
            };
            if let Some(i) = line.find(&key) {
                if let Some(ms) = with_unit(line[i + key.len()..].trim_start_matches('"'), *bare) {
                    return Some(ms);
                }
            }
        }
        nginx_request_time(line)
    }

    #[test]
    fn one_pass_equals_a_search_per_key() {
        let mut lines: Vec<String> = vec![
            r#"{"duration":"bad","duration_ms":12.5,"latency":"3s"}"#.into(),
            "time=1 a=b duration=oops latency=20ms".into(),
            r#"msg="x duration=5ms" duration=7ms"#.into(),
            "duration=9ms at line start".into(),
        ];
        for name in ["tenant-traffic-surge", "hidden-coupling-payment-inventory"] {
            let scenario = intel_synth::Scenario::resolve(name).expect("library scenario");
            let opts = intel_synth::Options {
                seed: scenario.seed.unwrap_or(1),
                ..intel_synth::Options::default()
            };
            let snap = intel_synth::generate(&opts, Some(&scenario)).expect("generate");
            for text in snap.logs.values() {
                lines.extend(text.lines().map(str::to_string));
            }
        }
        assert!(lines.len() > 1000);
        for line in &lines {
            assert_eq!(request_ms(line), reference(line), "{line}");
        }
    }

    fn series(before: &[(i64, f64)], after: &[(i64, f64)]) -> Latency {
        let mut l = Latency::default();
        for (t, ms) in before.iter().chain(after) {
            l.add(*t, *ms, "GET / status=200", "logs/x.log");
        }
        l
    }

    #[test]
    fn a_sustained_rise_is_found_with_its_onset() {
        let w = ObjectRef::new("Deployment", "shop", "inventory");
        let before: Vec<(i64, f64)> = (0..60).map(|i| (i * 30, 20.0 + (i % 7) as f64)).collect();
        let after: Vec<(i64, f64)> = (60..120)
            .map(|i| (i * 30, 2500.0 + (i % 5) as f64 * 100.0))
            .collect();
        let mut out = Vec::new();
        detect(&w, &series(&before, &after), &mut out);
        assert_eq!(out.len(), 1, "{out:?}");
        let h = out[0].clone();
        assert_eq!(h.kind, "LatencyIncrease");
        assert_eq!(h.severity, Severity::Critical);
        // A rise in the middle of a bucket: the onset is its first slow request.
        let before: Vec<(i64, f64)> = (0..64).map(|i| (i * 30, 20.0)).collect();
        let after: Vec<(i64, f64)> = (64..120).map(|i| (i * 30, 2500.0)).collect();
        out.clear();
        detect(&w, &series(&before, &after), &mut out);
        assert_eq!(out[0].since, Some(1920), "{:?}", out[0]);
        assert!(h.message.contains("2.7 s on average"), "{}", h.message);
        assert_eq!(h.since, Some(1800));
    }

    #[test]
    fn steady_or_fast_latency_is_no_finding() {
        let w = ObjectRef::new("Deployment", "shop", "catalog");
        let steady: Vec<(i64, f64)> = (0..120)
            .map(|i| (i * 30, 900.0 + (i % 9) as f64 * 40.0))
            .collect();
        let mut out = Vec::new();
        detect(&w, &series(&steady, &[]), &mut out);
        // 5 ms → 40 ms is eight times slower and still nothing a user notices.
        let fast: Vec<(i64, f64)> = (0..60).map(|i| (i * 30, 5.0)).collect();
        let faster: Vec<(i64, f64)> = (60..120).map(|i| (i * 30, 40.0)).collect();
        detect(&w, &series(&fast, &faster), &mut out);
        assert!(out.is_empty(), "{out:?}");
    }
}
