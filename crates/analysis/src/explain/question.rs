//! Reading a question: which of the kinds it asks (why, what happened, how services are
//! connected, what the impact is, why alerts stayed quiet, how clusters differ), and the
//! time it names ("yesterday at 2pm", "at 14:05", "2 hours ago"), resolved against the
//! snapshot's capture time in the cluster's time zone.
//!
//! Matching is on whole words and phrases of the lower-cased question, never substrings of
//! words, so "slowly" does not read as "slow" by accident and "cost" not inside "costume".

use jiff::civil::{Date, Time};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};

/// What the question asks, in the order the answer presents it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Intent {
    /// "why is latency high?": the cause, with diagnose's engines.
    Why,
    /// "what happened at 2pm?": a timeline in phases.
    WhatHappened,
    /// "how are services connected?": the service map and hidden coupling.
    Connections,
    /// "what is the impact?": affected services, money, users, SLO budget.
    Impact,
    /// "why didn't our alerts catch this?": observability gaps.
    AlertGaps,
    /// "compare staging and production": what differs and why it matters.
    Compare,
}

impl Intent {
    pub fn label(self) -> &'static str {
        match self {
            Intent::Why => "why",
            Intent::WhatHappened => "what-happened",
            Intent::Connections => "connections",
            Intent::Impact => "impact",
            Intent::AlertGaps => "alert-gaps",
            Intent::Compare => "compare",
        }
    }
}

/// Words and phrases per intent. A phrase matches at word boundaries.
const CUES: &[(Intent, &[&str])] = &[
    (
        Intent::Why,
        &[
            "why",
            "cause",
            "caused",
            "causing",
            "root cause",
            "reason",
            "slow",
            "slowness",
            "latency",
            "timeout",
            "timeouts",
            "timing out",
            "failing",
            "failure",
            "failures",
            "errors",
            "error",
            "broken",
            "down",
            "wrong",
            "crash",
            "crashing",
            "restarting",
            "5xx",
            "500s",
            "502s",
            "503s",
            "504s",
            "high",
            "degraded",
            "pending",
        ],
    ),
    (
        Intent::WhatHappened,
        &[
            "what happened",
            "happened",
            "timeline",
            "outage",
            "incident",
            "sequence",
            "history",
            "when did",
            "when was",
            "yesterday",
            "today",
            "this morning",
            "last night",
            "ago",
            "earlier",
            "post-mortem",
            "postmortem",
            "chronology",
            "what changed",
            "changed",
            "at",
        ],
    ),
    (
        Intent::Connections,
        &[
            "connected",
            "connect",
            "connection between",
            "depend",
            "depends",
            "dependency",
            "dependencies",
            "service map",
            "map",
            "talks to",
            "talk to",
            "calls",
            "call graph",
            "topology",
            "coupling",
            "coupled",
            "upstream",
            "downstream",
            "architecture",
            "wired",
            "graph",
            "related",
            "relationship",
        ],
    ),
    (
        Intent::Impact,
        &[
            "impact",
            "cost",
            "costs",
            "revenue",
            "money",
            "users",
            "customers",
            "business",
            "slo",
            "slos",
            "error budget",
            "budget",
            "blast radius",
            "affected",
            "who is affected",
            "how bad",
            "sla",
        ],
    ),
    (
        Intent::AlertGaps,
        &[
            "alert",
            "alerts",
            "alerting",
            "alerted",
            "monitor",
            "monitoring",
            "catch",
            "caught",
            "detect",
            "detected",
            "observability",
            "noticed",
            "notice",
            "page",
            "paged",
            "pager",
            "blind spot",
            "blind spots",
            "visibility",
        ],
    ),
    (
        Intent::Compare,
        &[
            "compare",
            "comparison",
            "differ",
            "differs",
            "difference",
            "differences",
            "different",
            "versus",
            "vs",
            "between",
            "drift",
            "side by side",
        ],
    ),
];

/// A question as understood.
#[derive(Debug, Clone, PartialEq)]
pub struct Question {
    pub text: String,
    /// What it asks, sorted; never empty (a question that names nothing gets why and
    /// what-happened: a general explanation).
    pub intents: Vec<Intent>,
    /// Whether no cue matched at all (the answer is a general triage).
    pub general: bool,
    /// The time the question names, epoch seconds, and how it was read.
    pub at: Option<(i64, String)>,
    /// A span before the capture the question names ("in the last hour", "past 30
    /// minutes"), seconds.
    pub window: Option<i64>,
}

/// Tokens of a lower-cased question: words of letters, digits, `-`, `'` and `:`.
fn words(text: &str) -> Vec<String> {
    text.to_lowercase()
        .split(|c: char| !(c.is_alphanumeric() || c == '-' || c == '\'' || c == ':'))
        .filter(|w| !w.is_empty())
        .map(|w| w.trim_matches('\'').to_string())
        .collect()
}

fn has_phrase(words: &[String], phrase: &str) -> bool {
    let p: Vec<&str> = phrase.split(' ').collect();
    words
        .windows(p.len())
        .any(|w| w.iter().zip(&p).all(|(a, b)| a == b))
}

impl Question {
    /// Reads `text`; `now` is the capture time, `tz` the zone times are said in, and
    /// `clusters` the number of clusters (a comparison needs two).
    pub fn parse(text: &str, now: i64, tz: &TimeZone, clusters: usize) -> Question {
        let w = words(text);
        let mut intents: Vec<Intent> = CUES
            .iter()
            .filter(|(_, cues)| cues.iter().any(|c| has_phrase(&w, c)))
            .map(|(i, _)| *i)
            .collect();
        let at = parse_time(&w, now, tz);
        // "at" alone is a cue only when it introduces a time.
        if at.is_none() && intents.contains(&Intent::WhatHappened) {
            let only_at = CUES
                .iter()
                .find(|(i, _)| *i == Intent::WhatHappened)
                .is_some_and(|(_, cues)| {
                    cues.iter()
                        .filter(|c| has_phrase(&w, c))
                        .all(|c| *c == "at")
                });
            if only_at {
                intents.retain(|i| *i != Intent::WhatHappened);
            }
        }
        if at.is_some() && !intents.contains(&Intent::WhatHappened) {
            intents.push(Intent::WhatHappened);
        }
        // "between A and B" compares only when there is something to compare.
        if intents.contains(&Intent::Compare)
            && clusters < 2
            && !w
                .iter()
                .any(|x| x.starts_with("compar") || x.starts_with("differ"))
        {
            intents.retain(|i| *i != Intent::Compare);
        }
        if intents.contains(&Intent::Compare) && clusters >= 2 && !intents.contains(&Intent::Why) {
            intents.push(Intent::Why);
        }
        let general = intents.is_empty();
        if general {
            intents = vec![Intent::Why, Intent::WhatHappened];
        }
        intents.sort();
        intents.dedup();
        Question {
            text: text.to_string(),
            intents,
            general,
            at,
            window: parse_span(&w),
        }
    }

    pub fn asks(&self, i: Intent) -> bool {
        self.intents.contains(&i)
    }

    pub fn labels(&self) -> Vec<String> {
        let mut l: Vec<String> = self.intents.iter().map(|i| i.label().to_string()).collect();
        if self.general {
            l.insert(0, "general".into());
        }
        l
    }
}

/// "last hour", "past 30 minutes", "last 2 days" → seconds.
fn parse_span(w: &[String]) -> Option<i64> {
    let unit = |u: &str| -> Option<i64> {
        match u.trim_end_matches('s') {
            "minute" | "min" => Some(60),
            "hour" | "hr" | "h" => Some(3600),
            "day" => Some(86_400),
            _ => None,
        }
    };
    for (i, x) in w.iter().enumerate() {
        if x != "last" && x != "past" {
            continue;
        }
        let (Some(a), b) = (w.get(i + 1), w.get(i + 2)) else {
            continue;
        };
        if let Some(u) = unit(a) {
            return Some(u);
        }
        if let (Ok(n), Some(u)) = (a.parse::<i64>(), b.and_then(|b| unit(b))) {
            return Some(n * u).filter(|s| *s > 0);
        }
    }
    None
}

/// "2pm", "14:05", "2:30pm", "14h" → (hour, minute).
fn clock(word: &str, next: Option<&str>) -> Option<(i8, i8)> {
    let (body, pm) = if let Some(b) = word.strip_suffix("pm") {
        (b, Some(true))
    } else if let Some(b) = word.strip_suffix("am") {
        (b, Some(false))
    } else {
        match next {
            Some("pm") | Some("p.m") => (word, Some(true)),
            Some("am") | Some("a.m") => (word, Some(false)),
            _ => (word, None),
        }
    };
    let body = body.strip_suffix('h').unwrap_or(body);
    let (h, m) = match body.split_once(':') {
        Some((h, m)) => (h.parse::<i8>().ok()?, m.parse::<i8>().ok()?),
        None => {
            // A bare number is a time only with am/pm ("at 2pm"), never "at 3" replicas.
            pm?;
            (body.parse::<i8>().ok()?, 0)
        }
    };
    let h = match pm {
        Some(true) if (1..12).contains(&h) => h + 12,
        Some(false) if h == 12 => 0,
        Some(_) if !(1..=12).contains(&h) => return None,
        _ => h,
    };
    ((0..24).contains(&h) && (0..60).contains(&m)).then_some((h, m))
}

/// The time a question names, resolved against `now` in `tz`: the latest such time not
/// after the capture ("at 2pm" captured at 11:00 means yesterday's 2pm).
fn parse_time(w: &[String], now: i64, tz: &TimeZone) -> Option<(i64, String)> {
    let now_ts = Timestamp::from_second(now).ok()?;
    let now_zoned = now_ts.to_zoned(tz.clone());
    // "N minutes/hours/days ago".
    for win in w.windows(3) {
        if win[2] == "ago" {
            if let Ok(n) = win[0].parse::<i64>() {
                let secs = match win[1].trim_end_matches('s') {
                    "second" | "sec" => n,
                    "minute" | "min" => n * 60,
                    "hour" | "hr" | "h" => n * 3600,
                    "day" => n * 86_400,
                    _ => continue,
                };
                return Some((now - secs, format!("{n} {} before the capture", win[1])));
            }
        }
    }
    let mut day_offset: Option<i64> = None;
    if w.iter().any(|x| x == "yesterday") || has_phrase(w, "last night") {
        day_offset = Some(1);
    } else if w.iter().any(|x| x == "today") || has_phrase(w, "this morning") {
        day_offset = Some(0);
    }
    let mut hm = None;
    for (i, word) in w.iter().enumerate() {
        if let Some(c) = clock(word, w.get(i + 1).map(|s| s.as_str())) {
            hm = Some(c);
            break;
        }
    }
    let (h, m) = match (hm, day_offset) {
        (Some(c), _) => c,
        (None, Some(_)) if has_phrase(w, "this morning") => (9, 0),
        (None, Some(_)) if has_phrase(w, "last night") => (22, 0),
        (None, _) => return None,
    };
    let today: Date = now_zoned.date();
    let time = Time::new(h, m, 0, 0).ok()?;
    let resolve = |days: i64| -> Option<i64> {
        let d = today.checked_sub(days.days()).ok()?;
        d.to_datetime(time)
            .to_zoned(tz.clone())
            .ok()
            .map(|z| z.timestamp().as_second())
    };
    let (t, said) = match day_offset {
        Some(d) => (resolve(d)?, if d == 1 { "yesterday" } else { "today" }),
        None => {
            let t = resolve(0)?;
            if t <= now {
                (t, "today")
            } else {
                (resolve(1)?, "yesterday")
            }
        }
    };
    Some((
        t,
        format!(
            "{said} at {h:02}:{m:02} {} (the capture was at {})",
            tz_label(tz),
            now_zoned.strftime("%Y-%m-%d %H:%M")
        ),
    ))
}

/// A zone's name for people: `Europe/Berlin`, `UTC`, `UTC+02:00`.
pub fn tz_label(tz: &TimeZone) -> String {
    match tz.iana_name() {
        Some(n) => n.to_string(),
        None => {
            let off = tz.to_offset(Timestamp::UNIX_EPOCH);
            if off.seconds() == 0 {
                "UTC".into()
            } else {
                format!("UTC{off}")
            }
        }
    }
}

/// A time for people in `tz`: `14:05` (and the date when it is not the capture's day).
pub fn local(t: i64, tz: &TimeZone, now: i64) -> String {
    let (Ok(ts), Ok(n)) = (Timestamp::from_second(t), Timestamp::from_second(now)) else {
        return String::new();
    };
    let z = ts.to_zoned(tz.clone());
    if z.date() == n.to_zoned(tz.clone()).date() {
        z.strftime("%H:%M").to_string()
    } else {
        z.strftime("%Y-%m-%d %H:%M").to_string()
    }
}

/// A time given on the command line (`--at`): RFC 3339, `YYYY-MM-DD HH:MM` (in `tz`), or
/// anything [`Question::parse`] reads ("yesterday 2pm", "14:05", "2 hours ago").
pub fn parse_at(text: &str, now: i64, tz: &TimeZone) -> Result<(i64, String), String> {
    let s = text.trim();
    if let Ok(t) = s.parse::<Timestamp>() {
        return Ok((t.as_second(), format!("{t}")));
    }
    if let Ok(dt) = s.replace(' ', "T").parse::<jiff::civil::DateTime>() {
        if let Ok(z) = dt.to_zoned(tz.clone()) {
            return Ok((z.timestamp().as_second(), format!("{s} {}", tz_label(tz))));
        }
    }
    parse_time(&words(s), now, tz).ok_or_else(|| {
        format!(
            "cannot read the time {text:?}: use RFC 3339 (2026-11-24T14:00:00Z), \"2026-11-24 14:00\", \"14:00\", \"yesterday 2pm\" or \"2 hours ago\""
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_764_000_000; // 2025-11-24T16:00:00Z

    fn q(text: &str) -> Question {
        Question::parse(text, NOW, &TimeZone::UTC, 1)
    }

    #[test]
    fn the_four_kinds_route() {
        assert_eq!(q("why is latency high?").intents, vec![Intent::Why]);
        assert!(q("we had an outage yesterday at 2pm").asks(Intent::WhatHappened));
        assert_eq!(
            q("how are services connected?").intents,
            vec![Intent::Connections]
        );
        assert!(q("what is the business impact?").asks(Intent::Impact));
        assert!(q("why didn't our alerts catch this?").asks(Intent::AlertGaps));
        let g = q("tell me a story");
        assert!(g.general);
        assert_eq!(g.intents, vec![Intent::Why, Intent::WhatHappened]);
    }

    #[test]
    fn spans_before_the_capture() {
        assert_eq!(q("what happened in the last hour?").window, Some(3600));
        assert_eq!(q("errors in the past 30 minutes").window, Some(1800));
        assert_eq!(q("the last 2 days").window, Some(2 * 86_400));
        assert_eq!(q("the last deploy").window, None);
    }

    #[test]
    fn everyday_phrasings_route() {
        assert!(q("what broke last night?").asks(Intent::WhatHappened));
        assert!(q("show me the dependency graph").asks(Intent::Connections));
        assert!(q("how much money are we losing?").asks(Intent::Impact));
        assert!(q("are we even monitoring checkout?").asks(Intent::AlertGaps));
        assert!(q("what's the blast radius of redis?").asks(Intent::Impact));
        let two = Question::parse("diff prod vs staging", NOW, &TimeZone::UTC, 2);
        assert!(two.asks(Intent::Compare));
        // Words are matched whole: "slowly" is not "slow", "atlas" not "at".
        assert!(q("the atlas job runs slowly").general);
    }

    #[test]
    fn compare_needs_two_clusters_unless_asked_outright() {
        let two = Question::parse("compare staging and production", NOW, &TimeZone::UTC, 2);
        assert!(two.asks(Intent::Compare) && two.asks(Intent::Why));
        let link = q("what is the connection between cart and catalog?");
        assert!(!link.asks(Intent::Compare));
    }

    #[test]
    fn times_resolve_against_the_capture() {
        let (t, said) = q("we had an outage yesterday at 2pm").at.unwrap();
        assert_eq!(t, NOW - 86_400 - 2 * 3600);
        assert!(said.starts_with("yesterday at 14:00"), "{said}");
        // A clock time later than the capture is the day before.
        let (t, _) = q("what happened at 17:30").at.unwrap();
        assert_eq!(t, NOW - 86_400 + 3600 + 1800);
        let (t, _) = q("what happened 2 hours ago").at.unwrap();
        assert_eq!(t, NOW - 7200);
        assert!(q("why are 3 pods pending").at.is_none());
        assert!(q("look at the cart").general);
    }

    #[test]
    fn time_zones_shift_the_clock() {
        let tz = TimeZone::fixed(jiff::tz::offset(2));
        let (t, said) = Question::parse("what happened at 2pm", NOW, &tz, 1)
            .at
            .unwrap();
        // 14:00 at UTC+2 is 12:00Z, four hours before the 16:00Z capture.
        assert_eq!(t, NOW - 4 * 3600);
        assert!(said.contains("UTC+02"), "{said}");
        assert_eq!(
            parse_at("2025-11-24 14:00", NOW, &tz).unwrap().0,
            NOW - 4 * 3600
        );
        assert!(parse_at("banana", NOW, &tz).is_err());
    }
}
