//! Time zones: the one the user names, or the cluster's own, resolved from the bundled
//! tz database (no I/O, the same answer on every machine).

use std::collections::BTreeMap;

use jiff::tz::TimeZone;

use super::{ExplainError, TIMEZONE_ANNOTATION};
use intel_model::Snapshot;

/// A zone from a name: IANA (from the bundled database, so no I/O), `UTC`, or an offset.
pub fn resolve_timezone(name: &str) -> Result<TimeZone, ExplainError> {
    let n = name.trim();
    if n.eq_ignore_ascii_case("utc") || n == "Z" {
        return Ok(TimeZone::UTC);
    }
    if let Some(off) = parse_offset(n.trim_start_matches("UTC")) {
        return Ok(TimeZone::fixed(off));
    }
    jiff::tz::TimeZoneDatabase::bundled()
        .get(n)
        .map_err(|_| ExplainError::BadTimeZone(name.to_string()))
}

/// `+02:00`, `-0530`, `+2` → an offset.
fn parse_offset(s: &str) -> Option<jiff::tz::Offset> {
    let (sign, rest) = match s.chars().next()? {
        '+' => (1, &s[1..]),
        '-' => (-1, &s[1..]),
        _ => return None,
    };
    let digits: String = rest.chars().filter(|c| *c != ':').collect();
    if digits.is_empty() || digits.len() > 4 || !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let (h, m) = if digits.len() <= 2 {
        (digits.parse::<i32>().ok()?, 0)
    } else {
        let split = digits.len() - 2;
        (
            digits[..split].parse::<i32>().ok()?,
            digits[split..].parse::<i32>().ok()?,
        )
    };
    if h > 14 || m > 59 {
        return None;
    }
    jiff::tz::Offset::from_seconds(sign * (h * 3600 + m * 60)).ok()
}

/// The cluster's own zone: the kube-system annotation, else the zone most of its CronJobs
/// name (ties by name).
pub(super) fn cluster_timezone(snap: &Snapshot) -> Option<String> {
    let ns = snap.index().by_name("Namespace", "", "kube-system");
    if let Some(z) = ns.first().and_then(|id| snap.get(*id)).and_then(|o| {
        o.value()
            .pointer("/metadata/annotations")
            .and_then(|a| a.get(TIMEZONE_ANNOTATION))
            .and_then(|v| v.as_str())
            .map(String::from)
    }) {
        return Some(z);
    }
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for cj in snap.items("batch", "cronjobs") {
        if let Some(z) = cj
            .value()
            .pointer("/spec/timeZone")
            .and_then(|v| v.as_str())
        {
            *counts.entry(z.to_string()).or_default() += 1;
        }
    }
    counts
        .into_iter()
        .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)))
        .map(|x| x.0)
}
