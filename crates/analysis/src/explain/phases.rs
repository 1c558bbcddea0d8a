//! Grouping a timeline into the phases of an incident — trigger → propagation → impact →
//! recovery — along the causality chain diagnose built, with the time between them.
//!
//! - **trigger**: the last change to the root cause (rollout, config or spec edit,
//!   scaling) at or before its first problem, within six hours; without one, the root's
//!   first problem.
//! - **propagation**: problems on the chain's links between the root and where users
//!   notice, from the trigger on.
//! - **impact**: problems on the user-facing links — workloads behind an Ingress or route,
//!   and the Ingresses themselves; the chain's last link when none is user-facing.
//! - **recovery**: after the impact began, a condition turning healthy, a remediation
//!   (rollout, edit, scaling) or an autoscaler scaling on a chain link. None means the
//!   incident was still going on when the snapshot was taken.

use std::collections::BTreeSet;

use serde::Serialize;

use crate::detect::{fmt_ts, human_duration};
use crate::timeline::{Entry, EntryOut, Timeline};
use intel_engine::ObjectRef;

/// How far before the root's first problem a change still counts as its trigger.
const TRIGGER_LOOKBACK: i64 = 6 * 3600;
/// Entries shown per phase (the phase's counts say how many there were).
const SHOWN_PER_PHASE: usize = 12;

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Phase {
    /// `trigger`, `propagation`, `impact` or `recovery`.
    pub phase: String,
    pub start: String,
    pub end: String,
    /// Seconds from the trigger to this phase's start.
    pub seconds_after_trigger: i64,
    /// The objects of the chain this phase touched, in chain order.
    pub subjects: Vec<String>,
    /// One line, in the tool's words (no cluster text).
    pub headline: String,
    pub entry_count: usize,
    pub entries: Vec<EntryOut>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct Phases {
    pub phases: Vec<Phase>,
    /// "rollout of … at 13:13 → … by 13:46 → … by 13:47; 14m of impact, ongoing".
    pub narrative: String,
    /// Seconds from the start of impact to recovery, or to the capture when ongoing.
    pub impact_seconds: Option<i64>,
    pub ongoing: bool,
}

fn is_change(e: &Entry) -> bool {
    matches!(
        e.category,
        "rollout" | "config-edit" | "spec-edit" | "scale"
    )
}

/// Words of a reason fit for a headline: cluster-provided reasons are CamelCase tokens;
/// anything else is reduced to letters, digits and `-`.
fn clean(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '=' | '_'))
        .take(60)
        .collect()
}

fn what(e: &Entry) -> String {
    let obj = if e.workload != e.subject && !e.workload.kind.is_empty() {
        format!("{} {}", e.workload.kind, e.workload.name)
    } else {
        format!("{} {}", e.subject.kind, e.subject.name)
    };
    match e.category {
        "rollout" => format!("rollout of {obj}"),
        "config-edit" => format!("config change to {obj}"),
        "spec-edit" => format!("spec edit of {obj}"),
        "scale" => format!("scaling of {obj}"),
        "termination" => format!("{} in {obj}", clean(&e.reason)),
        _ => format!("{} on {obj}", clean(&e.reason)),
    }
}

/// Builds the phases. `chain` is the root cause's chain (root first); `user_facing` the
/// workloads and Ingresses users reach directly; `tz_fmt` formats a time for people.
pub fn phases(
    timeline: &Timeline,
    chain: &[ObjectRef],
    user_facing: &BTreeSet<ObjectRef>,
    now: i64,
    tz_fmt: &dyn Fn(i64) -> String,
) -> Phases {
    let Some(root) = chain.first() else {
        return Phases::default();
    };
    let on = |e: &Entry, objs: &[ObjectRef]| objs.iter().any(|o| e.concerns(o));
    // A root's problem that began days before anything downstream is a standing
    // condition, not this incident's start: only the root's problems within the lookback
    // of the first downstream problem can trigger.
    let downstream_first = timeline
        .entries
        .iter()
        .find(|e| e.is_problem() && on(e, &chain[1..]))
        .map(|e| e.at);
    let recent = |e: &Entry| downstream_first.is_none_or(|d| e.at >= d - TRIGGER_LOOKBACK);
    let is_root_change = |e: &Entry| is_change(e) && on(e, &chain[..chain.len().min(2)]);
    // A change just before the root's very first problem is the trigger however long ago
    // it was (a CronJob suspended three days ago).
    let first_ever = timeline
        .entries
        .iter()
        .find(|e| e.is_problem() && e.concerns(root))
        .map(|e| e.at);
    let change_before = |anchor: i64| {
        timeline
            .entries
            .iter()
            .filter(|e| is_root_change(e))
            .filter(|e| e.at <= anchor + 60 && e.at >= anchor - TRIGGER_LOOKBACK)
            // The latest; at one time a rollout says more than the edit that caused it.
            .max_by_key(|e| (e.at, e.category == "rollout"))
    };
    let root_first_problem = timeline
        .entries
        .iter()
        .find(|e| e.is_problem() && e.concerns(root) && recent(e))
        .map(|e| e.at);
    let trigger = first_ever
        .and_then(change_before)
        .or_else(|| change_before(root_first_problem.unwrap_or(now)))
        .or_else(|| {
            timeline
                .entries
                .iter()
                .find(|e| e.is_problem() && e.concerns(root) && recent(e))
        })
        .or_else(|| {
            timeline
                .entries
                .iter()
                .find(|e| e.is_problem() && e.concerns(root))
        });
    let Some(trigger) = trigger else {
        return Phases::default();
    };
    let t0 = trigger.at;
    // Where users notice: the user-facing links that had problems; else the furthest link
    // problems reached.
    let troubled = |o: &ObjectRef| {
        timeline
            .entries
            .iter()
            .any(|e| e.at >= t0 && e.is_problem() && e.concerns(o))
    };
    let impact_links: Vec<ObjectRef> = {
        let uf: Vec<ObjectRef> = chain[1..]
            .iter()
            .filter(|o| user_facing.contains(*o) && troubled(o))
            .cloned()
            .collect();
        if uf.is_empty() {
            chain[1..]
                .iter()
                .rev()
                .find(|o| troubled(o))
                .into_iter()
                .cloned()
                .collect()
        } else {
            uf
        }
    };
    let prop_links: Vec<ObjectRef> = chain[1..]
        .iter()
        .filter(|o| !impact_links.contains(o))
        .cloned()
        .collect();
    let mut out = Phases::default();
    let push = |name: &str, entries: Vec<&Entry>, out: &mut Phases| {
        let (Some(first), Some(last)) = (entries.first(), entries.last()) else {
            return;
        };
        let mut subjects: Vec<String> = Vec::new();
        for o in chain {
            if entries.iter().any(|e| e.concerns(o)) {
                subjects.push(format!("{} {}", o.kind, o.name));
            }
        }
        out.phases.push(Phase {
            phase: name.to_string(),
            start: fmt_ts(first.at),
            end: fmt_ts(last.last.unwrap_or(last.at).max(last.at)),
            seconds_after_trigger: first.at - t0,
            subjects,
            headline: format!("{} at {}", what(first), tz_fmt(first.at)),
            entry_count: entries.len(),
            entries: entries
                .iter()
                .take(SHOWN_PER_PHASE)
                .map(|e| e.out())
                .collect(),
        });
    };
    // The trigger phase: the trigger and the root's own problems up to the first problem
    // downstream.
    let downstream_start = timeline
        .entries
        .iter()
        .filter(|e| e.at >= t0 && e.is_problem() && on(e, &chain[1..]))
        .map(|e| e.at)
        .next();
    let mut trig: Vec<&Entry> = vec![trigger];
    trig.extend(timeline.entries.iter().filter(|e| {
        !std::ptr::eq(*e, trigger)
            && e.at >= t0
            && downstream_start.is_none_or(|d| e.at < d)
            && e.is_problem()
            && e.concerns(root)
    }));
    push("trigger", trig, &mut out);
    let prop: Vec<&Entry> = timeline
        .entries
        .iter()
        .filter(|e| e.at >= t0 && e.is_problem() && on(e, &prop_links))
        .collect();
    push("propagation", prop, &mut out);
    let imp: Vec<&Entry> = timeline
        .entries
        .iter()
        .filter(|e| e.at >= t0 && e.is_problem() && on(e, &impact_links))
        .collect();
    let impact_start = imp.first().map(|e| e.at);
    push("impact", imp, &mut out);
    let rec: Vec<&Entry> = match impact_start {
        Some(s) => timeline
            .entries
            .iter()
            .filter(|e| e.at > s && !e.is_problem() && on(e, chain))
            .filter(|e| is_change(e) || matches!(e.category, "node-condition" | "autoscaling"))
            .collect(),
        None => Vec::new(),
    };
    // Recovered only if no problem on the chain was seen after the recovery began: a node
    // condition clearing while the database still refuses connections is not recovery.
    let last_problem = timeline
        .entries
        .iter()
        .filter(|e| e.at >= t0 && e.is_problem() && on(e, &chain[1..]))
        .map(|e| e.last.unwrap_or(e.at).max(e.at))
        .max();
    let recovered = rec
        .first()
        .map(|e| e.at)
        .filter(|r| last_problem.is_none_or(|l| l <= *r));
    push("recovery", rec, &mut out);
    out.ongoing = impact_start.is_some() && recovered.is_none();
    out.impact_seconds = impact_start.map(|s| recovered.unwrap_or(now) - s);
    let mut parts: Vec<String> = Vec::new();
    for p in &out.phases {
        let lead = if p.phase == "trigger" { "" } else { "by " };
        let head = p
            .headline
            .rsplit_once(" at ")
            .map(|x| x.0)
            .unwrap_or(&p.headline);
        let at = p.headline.rsplit_once(" at ").map(|x| x.1).unwrap_or("");
        parts.push(if p.phase == "trigger" {
            format!("{head} at {at}")
        } else if p.phase == "recovery" && out.ongoing {
            format!("partly recovered: {head} at {at}")
        } else {
            format!("{head} {lead}{at}")
        });
    }
    let mut narrative = parts.join(" → ");
    if let Some(s) = out.impact_seconds {
        narrative.push_str(&format!(
            "; {} of impact{}",
            human_duration(s),
            if out.ongoing {
                ", still ongoing at the capture"
            } else {
                " until recovery"
            }
        ));
    }
    out.narrative = narrative;
    out
}
