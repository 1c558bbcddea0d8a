//! Durations as kubectl users write them, for the command line and for durations the
//! analyses read from objects (a chaos experiment's `spec.duration`).

use std::time::Duration;

use jiff::SignedDuration;

/// Parses a duration the way kubectl users write one: `15s`, `1m`, `1h30m`, `500ms`, or
/// a bare number of seconds (`30`). ISO 8601 (`PT15S`) works too, since jiff accepts it.
/// Zero and negative durations are refused: every duration of the capture is a period,
/// a window or a timeout, none of which means anything at zero.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("empty duration; write e.g. 15s, 1m or 1h30m".to_string());
    }
    let parsed = if text.bytes().all(|b| b.is_ascii_digit()) {
        text.parse::<u64>()
            .map(Duration::from_secs)
            .map_err(|e| format!("invalid duration {text:?}: {e}"))?
    } else {
        let signed: SignedDuration = text
            .parse()
            .map_err(|e| format!("invalid duration {text:?} (write e.g. 15s, 1m or 1h30m): {e}"))?;
        if signed.is_negative() {
            return Err(format!("invalid duration {text:?}: must not be negative"));
        }
        Duration::try_from(signed).map_err(|e| format!("invalid duration {text:?}: {e}"))?
    };
    if parsed.is_zero() {
        return Err(format!("invalid duration {text:?}: must be more than zero"));
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_like_kubectl() {
        assert_eq!(parse_duration("15s"), Ok(Duration::from_secs(15)));
        assert_eq!(parse_duration("1m"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("30"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration(" 2m "), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("PT15S"), Ok(Duration::from_secs(15)));
    }

    #[test]
    fn bad_durations_are_refused_with_a_hint() {
        for bad in ["", "0", "0s", "-5s", "fast", "15x", "1m-"] {
            let err = parse_duration(bad).expect_err(bad);
            assert!(err.contains("duration"), "{bad}: {err}");
        }
    }
}
