//! Small pure helpers of the capture: byte counts for the command line, the one time
//! format bundles use, and URL encoding for the paths and queries we build by hand.
//! Durations are parsed by `intel_model::duration` (the analyses read them too).

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};

pub use intel_model::duration::parse_duration;

/// Parses a byte count: a plain number, or one with a binary (`Ki`, `Mi`, `Gi`) or decimal
/// (`k`, `K`, `M`, `G`) suffix as Kubernetes quantities write them; a trailing `B` is
/// accepted (`1MiB`). Zero is refused: a cap of zero bytes would capture empty logs.
pub fn parse_bytes(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let t = t.strip_suffix('B').unwrap_or(t);
    let digits = t.bytes().take_while(u8::is_ascii_digit).count();
    let (number, suffix) = t.split_at(digits);
    let unit: u64 = match suffix {
        "" => 1,
        "k" | "K" => 1_000,
        "M" => 1_000_000,
        "G" => 1_000_000_000,
        "Ki" => 1 << 10,
        "Mi" => 1 << 20,
        "Gi" => 1 << 30,
        _ => {
            return Err(format!(
                "invalid size {text:?}; write e.g. 1048576, 512Ki or 1Mi"
            ));
        }
    };
    let n: u64 = number
        .parse()
        .map_err(|_| format!("invalid size {text:?}; write e.g. 1048576, 512Ki or 1Mi"))?;
    let bytes = n
        .checked_mul(unit)
        .ok_or_else(|| format!("size {text:?} is too large"))?;
    if bytes == 0 {
        return Err(format!("invalid size {text:?}: must be more than zero"));
    }
    Ok(bytes)
}

/// RFC 3339 in UTC with whole seconds (`2026-11-24T14:00:00Z`): the form of `capturedAt`,
/// the window and metrics sample directories. Sub-second digits are dropped, not rounded,
/// so a time never moves into the future.
pub fn rfc3339_seconds(ts: Timestamp) -> String {
    ts.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// `ts` moved back by `d`, saturating at the earliest time jiff can represent (only
/// reachable with absurd windows, which must not panic).
pub fn minus(ts: Timestamp, d: Duration) -> Timestamp {
    SignedDuration::try_from(d)
        .ok()
        .and_then(|d| ts.checked_sub(d).ok())
        .unwrap_or(Timestamp::MIN)
}

/// Percent-encodes everything but RFC 3986's unreserved characters, for path segments
/// and query values (continue tokens, PromQL, namespaces typed on the command line).
pub fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Cuts a message from a server (which may be an HTML error page from a proxy) to a length
/// that fits a manifest entry and a terminal line, on a character boundary.
pub fn clip(text: &str, max: usize) -> String {
    let text = text.trim();
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_quantity_suffixes() {
        assert_eq!(parse_bytes("1048576"), Ok(1_048_576));
        assert_eq!(parse_bytes("1Mi"), Ok(1_048_576));
        assert_eq!(parse_bytes("1MiB"), Ok(1_048_576));
        assert_eq!(parse_bytes("512Ki"), Ok(524_288));
        assert_eq!(parse_bytes("2M"), Ok(2_000_000));
        assert_eq!(parse_bytes("1Gi"), Ok(1 << 30));
        for bad in [
            "",
            "0",
            "Mi",
            "1.5Mi",
            "1Ti",
            "-1",
            "99999999999999999999Gi",
        ] {
            assert!(parse_bytes(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn times_are_utc_whole_seconds() {
        let ts: Timestamp = "2026-11-24T14:00:00.987654Z".parse().unwrap();
        assert_eq!(rfc3339_seconds(ts), "2026-11-24T14:00:00Z");
        let ts: Timestamp = "2026-11-24T15:00:00+01:00".parse().unwrap();
        assert_eq!(rfc3339_seconds(ts), "2026-11-24T14:00:00Z");
        assert_eq!(
            rfc3339_seconds(minus(ts, Duration::from_secs(3600))),
            "2026-11-24T13:00:00Z"
        );
        assert_eq!(minus(ts, Duration::MAX), Timestamp::MIN);
    }

    #[test]
    fn encoding_keeps_unreserved_only() {
        assert_eq!(encode("abc-1.2_~"), "abc-1.2_~");
        assert_eq!(encode("a b/c?d=e&f"), "a%20b%2Fc%3Fd%3De%26f");
        assert_eq!(encode("é"), "%C3%A9");
        assert_eq!(
            encode("rate(x{container!=\"\"}[5m])"),
            "rate%28x%7Bcontainer%21%3D%22%22%7D%5B5m%5D%29"
        );
    }

    #[test]
    fn clipping_respects_char_boundaries() {
        assert_eq!(clip("  short  ", 10), "short");
        assert_eq!(clip("ééééé", 3), "é…");
        assert_eq!(clip("abcdef", 4), "abcd…");
    }
}
