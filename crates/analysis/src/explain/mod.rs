//! `explain_infrastructure_behavior`: answers a question about what a cluster did — why
//! (the cause, from diagnose), what happened (a timeline in phases), how services are
//! connected (the service map and hidden coupling), what it costs (impact, SLO budget),
//! why alerts stayed quiet (observability gaps), and how clusters differ.
//!
//! It reuses diagnose's evidence ([`diagnose::prepare`]: relations, service map, detector
//! hits and changes, gathered once) and its report (root causes, chains, remediations,
//! impact); the timeline is the shared engine in `analysis::timeline`. What this module
//! adds is the routing of the question and the views: phases, coupling, gaps, comparison.

mod business;
mod compare;
mod coupling;
pub(crate) mod gaps;
mod phases;
pub mod question;
pub mod render;
mod zone;

use std::collections::{BTreeMap, BTreeSet};

use jiff::tz::TimeZone;
use serde::Serialize;

use super::detect::{Hit, fmt_ts, human_duration};
use super::diagnose::{self, Prepared};
use super::report::{Report, Severity};
use super::timeline::{EntryOut, Inputs, Timeline, first_problem_by_workload};
use intel_engine::ObjectRef;
use intel_engine::servicemap::{INGRESS, MapEdge, MapNode, ServiceMap, WORKLOAD};
use intel_model::Fleet;

pub use business::{BusinessView, SloBurn};
pub use compare::Difference;
pub use coupling::Coupling;
pub use gaps::Gap;
pub use phases::{Phase, Phases};
pub use question::{Intent, Question};
use zone::cluster_timezone;
pub use zone::resolve_timezone;

/// The annotation naming a cluster's time zone (on the `kube-system` namespace), for
/// clusters whose operators think in local time.
pub const TIMEZONE_ANNOTATION: &str = "intel.kubectl.io/timezone";
/// Timeline entries listed per cluster at most (problems and changes kept first).
const MAX_ENTRIES: usize = 200;
/// Default window around a named time, and before the capture otherwise.
const DEFAULT_WINDOW: i64 = 2 * 3600;

/// What the user asked.
#[derive(Debug, Clone, Default)]
pub struct Request {
    pub question: String,
    /// Namespaces to look at; empty means all.
    pub namespaces: Vec<String>,
    /// The time the question is about (`--at`): overrides a time in the question.
    pub at: Option<String>,
    /// The window's length (`--window`, `2h`); centred on the time asked about, or ending
    /// at the capture.
    pub window: Option<String>,
    /// The zone times are read and said in; `None`: the cluster's (annotation
    /// `intel.kubectl.io/timezone` on kube-system, else its CronJobs' `timeZone`), else UTC.
    pub timezone: Option<String>,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ExplainError {
    #[error("{0}")]
    BadTime(String),
    #[error("invalid window {0:?}: use a duration such as 30m, 2h or 1d")]
    BadWindow(String),
    #[error(
        "unknown time zone {0:?}: use an IANA name (Europe/Berlin, America/New_York), UTC, or an offset such as +02:00"
    )]
    BadTimeZone(String),
}

/// The answer: the report (the JSON contract) and what the surfaces render besides it
/// (the service maps as diagrams).
#[derive(Debug, Clone)]
pub struct Explanation {
    pub report: Report,
    pub details: Details,
    /// Per cluster: its service map (scoped to the request's namespaces) and the state of
    /// the nodes that failed (`root`, `down`, `degraded`, `at-risk`).
    pub maps: Vec<(String, ServiceMap, BTreeMap<ObjectRef, String>)>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct Details {
    /// The kinds of answer the question was read as (`why`, `what-happened`…).
    pub intents: Vec<String>,
    /// The time the question is about, as read.
    pub asked_time: Option<String>,
    pub timezone: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub timeline: Vec<ClusterTimeline>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub service_map: Vec<ClusterMap>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub business: Option<BusinessView>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub alert_gaps: Vec<Gap>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comparison: Option<Vec<Difference>>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ClusterTimeline {
    pub cluster: String,
    pub window_start: String,
    pub window_end: String,
    pub phases: Vec<Phase>,
    pub narrative: String,
    pub impact_seconds: Option<i64>,
    pub ongoing: bool,
    /// Entries in the window, oldest first (at most 200: problems and changes first).
    pub entries: Vec<EntryOut>,
    pub total_entries: usize,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ClusterMap {
    pub cluster: String,
    pub nodes: Vec<MapNode>,
    /// At most 300: the part of the map the answer is about (see `edgesTotal`).
    pub edges: Vec<MapEdge>,
    /// The edges in scope before the cut.
    pub edges_total: usize,
    pub hidden_coupling: Vec<Coupling>,
}

fn parse_window(s: &str) -> Result<i64, ExplainError> {
    intel_model::duration::parse_duration(s)
        .map(|d| d.as_secs() as i64)
        .ok()
        .filter(|s| *s > 0)
        .ok_or_else(|| ExplainError::BadWindow(s.to_string()))
}

/// Workloads and Ingresses users reach directly.
fn user_facing(map: &ServiceMap) -> BTreeSet<ObjectRef> {
    let mut out = BTreeSet::new();
    for n in map.nodes.iter().filter(|n| n.kind == INGRESS) {
        out.insert(n.id.clone());
        for w in map.depends_on(&n.id) {
            out.insert(w.clone());
        }
    }
    out
}

fn scoped_map(map: &ServiceMap, namespaces: &[String]) -> ServiceMap {
    if namespaces.is_empty() {
        return map.clone();
    }
    let keep = |o: &ObjectRef| o.namespace.is_empty() || namespaces.contains(&o.namespace);
    let edges: Vec<MapEdge> = map
        .edges
        .iter()
        .filter(|e| keep(&e.from) || keep(&e.to))
        .cloned()
        .collect();
    let ids: BTreeSet<&ObjectRef> = edges.iter().flat_map(|e| [&e.from, &e.to]).collect();
    ServiceMap {
        unresolved: Vec::new(),
        nodes: map
            .nodes
            .iter()
            .filter(|n| keep(&n.id) || ids.contains(&n.id))
            .cloned()
            .collect(),
        edges,
    }
}

/// Edges of the service map an answer shows at most (the rest are counted, and a tool
/// like `get_service_map` pages through them).
const MAX_MAP_EDGES: usize = 300;

/// The part of the map an answer is about: the namespaces of `focus` (the chain, the
/// objects the question names, what failed), edges touching a focus object first, at most
/// [`MAX_MAP_EDGES`]. Returns the map and the number of edges it was cut from.
fn focus_map(map: &ServiceMap, focus: &BTreeSet<ObjectRef>) -> (ServiceMap, usize) {
    let namespaces: BTreeSet<&str> = focus
        .iter()
        .map(|o| o.namespace.as_str())
        .filter(|n| !n.is_empty())
        .collect();
    let in_focus_ns =
        |o: &ObjectRef| namespaces.is_empty() || namespaces.contains(o.namespace.as_str());
    let touches = |e: &MapEdge| {
        let via = |o: &ObjectRef| {
            focus.contains(o)
                || map
                    .node(o)
                    .and_then(|n| n.service_for.as_ref())
                    .is_some_and(|w| focus.contains(w))
        };
        via(&e.from) || via(&e.to)
    };
    let mut edges: Vec<&MapEdge> = map
        .edges
        .iter()
        .filter(|e| in_focus_ns(&e.from) || in_focus_ns(&e.to))
        .collect();
    let total = edges.len();
    if total > MAX_MAP_EDGES {
        edges.sort_by_key(|e| !touches(e));
        edges.truncate(MAX_MAP_EDGES);
        edges.sort_by(|a, b| (&a.from, &a.to).cmp(&(&b.from, &b.to)));
    }
    let ids: BTreeSet<&ObjectRef> = edges.iter().flat_map(|e| [&e.from, &e.to]).collect();
    let nodes = map
        .nodes
        .iter()
        .filter(|n| ids.contains(&n.id) || focus.contains(&n.id))
        .cloned()
        .collect();
    // One piece of evidence per kind of source is enough to show why an edge exists
    // (get_service_map has them all).
    let edges = edges
        .into_iter()
        .map(|e| {
            let mut e = e.clone();
            let mut seen = BTreeSet::new();
            e.evidence.retain(|ev| seen.insert(ev.source.clone()));
            e
        })
        .collect();
    (
        ServiceMap {
            nodes,
            edges,
            unresolved: Vec::new(),
        },
        total,
    )
}

/// Keeps at most [`MAX_ENTRIES`]: all problems and changes first, then the rest, in time
/// order.
fn cap_entries(entries: Vec<&super::timeline::Entry>) -> (Vec<&super::timeline::Entry>, usize) {
    let total = entries.len();
    if total <= MAX_ENTRIES {
        return (entries, total);
    }
    let important = |e: &super::timeline::Entry| {
        e.is_problem()
            || matches!(
                e.category,
                "rollout" | "config-edit" | "spec-edit" | "scale"
            )
    };
    let mut keep: Vec<&super::timeline::Entry> =
        entries.iter().copied().filter(|e| important(e)).collect();
    if keep.len() > MAX_ENTRIES {
        // The latest problems matter most to an incident still going on.
        keep = keep.split_off(keep.len() - MAX_ENTRIES);
    } else {
        let room = MAX_ENTRIES - keep.len();
        keep.extend(entries.iter().copied().filter(|e| !important(e)).take(room));
        keep.sort_by(|a, b| a.at.cmp(&b.at).then(a.subject.cmp(&b.subject)));
    }
    (keep, total)
}

fn failing_workloads(p: &Prepared) -> Vec<ObjectRef> {
    let mut v: Vec<(i64, ObjectRef)> = p
        .hits
        .iter()
        .filter(|h: &&Hit| h.severity >= Severity::Warning)
        .map(|h| (h.since.unwrap_or(p.now), p.rel.workload_of(&h.subject)))
        .collect();
    v.sort();
    let mut out: Vec<ObjectRef> = Vec::new();
    for (_, w) in v {
        if !out.contains(&w) {
            out.push(w);
        }
    }
    out
}

/// Up to the first ". " (names and numbers have dots but no space after them).
fn first_sentence(s: &str) -> String {
    match s.find(". ") {
        Some(i) => s[..=i].to_string(),
        None => s.to_string(),
    }
}

/// Answers the question.
pub fn explain(fleet: &Fleet, req: &Request) -> Result<Explanation, ExplainError> {
    let dreq = diagnose::Request {
        symptom: req.question.clone(),
        namespaces: req.namespaces.clone(),
        since: None,
    };
    let prepared = diagnose::prepare(fleet, &dreq);
    let mut report = diagnose::diagnose_prepared(fleet, &dreq, &prepared);
    report.analysis = "explain_infrastructure_behavior".into();
    let first = prepared.first();
    let now = first.map(|p| p.now).unwrap_or(0);
    let tz_name = req
        .timezone
        .clone()
        .or_else(|| first.and_then(|p| cluster_timezone(p.snap)));
    let tz = match &tz_name {
        Some(n) => match resolve_timezone(n) {
            Ok(tz) => tz,
            // A zone the user typed must be right; a cluster's hint that is not is ignored.
            Err(e) if req.timezone.is_some() => return Err(e),
            Err(_) => TimeZone::UTC,
        },
        None => TimeZone::UTC,
    };
    let window = req.window.as_deref().map(parse_window).transpose()?;
    let mut q = Question::parse(&req.question, now, &tz, fleet.clusters.len());
    // "in the last hour": the question's span, unless --window says otherwise.
    let window = window.or(q.window);
    if let Some(at) = &req.at {
        let parsed = question::parse_at(at, now, &tz).map_err(ExplainError::BadTime)?;
        q.at = Some(parsed);
        if !q.asks(Intent::WhatHappened) {
            q.intents.push(Intent::WhatHappened);
            q.intents.sort();
        }
    }
    let mut details = Details {
        intents: q.labels(),
        asked_time: q
            .at
            .as_ref()
            .map(|(t, said)| format!("{} ({said})", fmt_ts(*t))),
        timezone: question::tz_label(&tz),
        ..Details::default()
    };
    report.request.classes = q.labels();
    let tz_fmt = |t: i64| question::local(t, &tz, now);
    let top = report.root_causes.first().cloned();
    let top_chain: Vec<ObjectRef> = top
        .as_ref()
        .and_then(|rc| report.chains.get(rc.chain))
        .map(|c| c.links.iter().map(|l| l.subject.object()).collect())
        .unwrap_or_default();
    let mut maps = Vec::new();
    let mut failing_by_cluster: BTreeMap<String, BTreeSet<ObjectRef>> = BTreeMap::new();
    let mut impact_seconds = None;
    let mut sentences: Vec<String> = Vec::new();
    if q.asks(Intent::Why) || q.general {
        // Asked only why: diagnose's whole summary; asked more: its first sentence (the
        // cause and mechanism), leaving room for the rest.
        let only_why = q.general || q.intents == [Intent::Why];
        sentences.push(if only_why {
            report.summary.clone()
        } else {
            first_sentence(&report.summary)
        });
    }
    for p in &prepared {
        let timeline = Timeline::build(&Inputs {
            snap: p.snap,
            rel: &p.rel,
            hits: &p.hits,
            changes: &p.changes,
            logs: Some(&p.logs),
        });
        let is_top = top.as_ref().is_some_and(|t| t.subject.cluster == p.name);
        let chain: Vec<ObjectRef> = if is_top {
            top_chain.clone()
        } else {
            Vec::new()
        };
        let failing = failing_workloads(p);
        failing_by_cluster.insert(p.name.clone(), failing.iter().cloned().collect());
        let map = scoped_map(p.rel.service_map(), &req.namespaces);
        let uf = user_facing(&map);
        let mentioned: BTreeSet<ObjectRef> = report
            .request
            .mentions
            .iter()
            .filter(|m| m.cluster == p.name)
            .map(|m| p.rel.workload_of(&m.object()))
            .collect();
        let mut focus: BTreeSet<ObjectRef> = chain.iter().cloned().collect();
        focus.extend(mentioned.iter().cloned());
        focus.extend(failing.iter().take(50).cloned());
        let (shown_map, map_edges_total) = focus_map(&map, &focus);
        if map_edges_total > shown_map.edges.len() {
            report.limitations.push(format!(
                "{}: the service map shown is cut to {} of {} edges (the namespaces of the root cause, what the question names and what failed, their edges first); narrow it with -n, or page through get_service_map",
                p.name,
                shown_map.edges.len(),
                map_edges_total
            ));
        }
        let ph = phases::phases(&timeline, &chain, &uf, p.now, &tz_fmt);
        if is_top {
            impact_seconds = ph.impact_seconds;
        }
        if q.asks(Intent::WhatHappened) {
            let span = window.unwrap_or(DEFAULT_WINDOW);
            let (from, to) = match &q.at {
                Some((t, _)) => (t - span / 2, (t + span / 2).min(p.now)),
                None => {
                    // Back far enough to include the trigger.
                    let trig = ph
                        .phases
                        .first()
                        .and_then(|f| super::detect::parse_ts(&f.start));
                    let from = p.now - span;
                    (
                        if window.is_none() {
                            trig.map(|t| t.min(from) - 300).unwrap_or(from)
                        } else {
                            from
                        },
                        p.now,
                    )
                }
            };
            let in_scope = |e: &&super::timeline::Entry| {
                req.namespaces.is_empty()
                    || e.subject.namespace.is_empty()
                    || req.namespaces.contains(&e.subject.namespace)
            };
            let entries: Vec<_> = timeline
                .window(Some(from), Some(to))
                .filter(in_scope)
                .collect();
            if let Some((t, said)) = &q.at {
                let first_event = timeline
                    .entries
                    .iter()
                    .find(|e| e.category == "event")
                    .map(|e| e.at);
                if *t > p.now {
                    report.limitations.push(format!(
                        "{}: {said} is after the capture ({}): nothing is known about it",
                        p.name,
                        fmt_ts(p.now)
                    ));
                } else if entries.is_empty() {
                    report.limitations.push(format!(
                        "{}: nothing in the snapshot is from {said} ({} to {}): the cluster keeps events about an hour and pods' status only their last restart; older history needs a capture from then, or Prometheus range data",
                        p.name,
                        fmt_ts(from),
                        fmt_ts(to)
                    ));
                } else if first_event.is_none_or(|e| e > from) {
                    report.limitations.push(format!(
                        "{}: the snapshot's events start at {}, after the window's start ({}): events are kept about an hour, so the timeline before then comes from status, changes and logs only",
                        p.name,
                        first_event.map(fmt_ts).unwrap_or_else(|| "(none)".into()),
                        fmt_ts(from)
                    ));
                }
            }
            let (shown, total) = cap_entries(entries);
            if is_top && !ph.narrative.is_empty() {
                sentences.push(format!("Timeline: {}.", ph.narrative));
            } else if q.at.is_some() || top.is_none() {
                let warn = shown.iter().filter(|e| e.is_problem()).count();
                // With nothing failing now, the warnings on record are history.
                let current = p
                    .hits
                    .iter()
                    .any(|h| h.severity >= Severity::Warning && h.resolved.is_none());
                let what = if current || warn == 0 {
                    "of them problems"
                } else {
                    "of them warnings on record, none failing now"
                };
                sentences.push(format!(
                    "{}: {} entries between {} and {} ({}), {warn} {what}{}.",
                    p.name,
                    total,
                    tz_fmt(from),
                    tz_fmt(to),
                    question::tz_label(&tz),
                    shown
                        .iter()
                        .find(|e| e.is_problem())
                        .map(|e| format!(
                            "; the first: {} {} at {}",
                            e.reason,
                            e.workload.name,
                            tz_fmt(e.at)
                        ))
                        .unwrap_or_default()
                ));
            }
            details.timeline.push(ClusterTimeline {
                cluster: p.name.clone(),
                window_start: fmt_ts(from),
                window_end: fmt_ts(to),
                phases: ph.phases.clone(),
                narrative: ph.narrative.clone(),
                impact_seconds: ph.impact_seconds,
                ongoing: ph.ongoing,
                entries: shown.iter().map(|e| e.out()).collect(),
                total_entries: total,
            });
        }
        // Problems over six hours before the capture are history, not this incident.
        let onsets = first_problem_by_workload(&timeline, p.now - 6 * 3600);
        if q.asks(Intent::Connections) {
            let mentions = &mentioned;
            let mut sources: BTreeSet<ObjectRef> = failing.iter().cloned().collect();
            sources.extend(mentions.iter().cloned());
            sources.extend(uf.iter().filter(|o| o.kind != INGRESS).cloned());
            let mut interesting: BTreeSet<ObjectRef> = failing.iter().cloned().collect();
            interesting.extend(mentions.iter().cloned());
            interesting.extend(chain.first().cloned());
            let coupling = coupling::hidden_coupling(&map, &sources, &interesting, &onsets);
            let workloads = map.nodes.iter().filter(|n| n.kind == WORKLOAD).count();
            let mut s = format!(
                "{}: {} workloads, {} dependency edges, each with its evidence",
                p.name,
                workloads,
                map.edges.len()
            );
            if let Some(c) = coupling.iter().find(|c| c.correlated).or(coupling.first()) {
                s.push_str(&format!(
                    "; hidden coupling: {} depends on {} through {} ({} hops){}",
                    c.from,
                    c.to,
                    if c.via.is_empty() {
                        "nothing".to_string()
                    } else {
                        c.via.join(" → ")
                    },
                    c.hops,
                    c.lag_seconds
                        .filter(|l| *l >= 0)
                        .map(|l| format!(", its problems followed {} later", human_duration(l)))
                        .unwrap_or_default()
                ));
            }
            sentences.push(s + ".");
            details.service_map.push(ClusterMap {
                cluster: p.name.clone(),
                nodes: shown_map.nodes.clone(),
                edges: shown_map.edges.clone(),
                edges_total: map_edges_total,
                hidden_coupling: coupling,
            });
        }
        if q.asks(Intent::AlertGaps) {
            let g = gaps::gaps(p.snap, &p.rel, &timeline, &chain, &failing);
            if is_top || top.is_none() {
                let high = g.iter().filter(|x| x.severity == "high").count();
                sentences.push(match g.first() {
                    Some(f) => format!(
                        "{} observability gaps on what failed ({high} serious); the worst: {} — {}.",
                        g.len(),
                        f.subject,
                        f.detail
                    ),
                    None => "No observability gap found on what failed.".to_string(),
                });
            }
            details.alert_gaps.extend(g);
        }
        let mut states: BTreeMap<ObjectRef, String> = BTreeMap::new();
        for s in report
            .impact
            .services
            .iter()
            .filter(|s| s.subject.cluster == p.name)
        {
            states.insert(s.subject.object(), s.state.clone());
        }
        if let Some(t) = top.as_ref().filter(|t| t.subject.cluster == p.name) {
            states.insert(p.rel.workload_of(&t.subject.object()), "root".into());
        }
        maps.push((p.name.clone(), shown_map, states));
    }
    if q.asks(Intent::Impact) {
        let b = business::business(&prepared, &report, impact_seconds);
        let services = report.impact.services.len();
        let mut s = if services == 0 {
            "No service is affected.".to_string()
        } else {
            format!(
                "{services} services affected{}",
                if report.impact.entry_points.is_empty() {
                    String::new()
                } else {
                    format!(" behind {}", report.impact.entry_points.join(", "))
                }
            )
        };
        if services > 0 {
            match (b.revenue_lost, b.revenue_per_hour_at_risk) {
                (Some(l), Some(h)) => s.push_str(&format!(
                    "; {h:.0} per hour at risk, about {l:.0} lost so far"
                )),
                _ => s.push_str("; no business context (intel.kubectl.io/revenue-per-hour, …/users, …/slo), so no money or user figures"),
            }
            if let Some(burn) = b.slo_burn.first() {
                s.push_str(&format!(
                    "; {} burned {:.0}% of its 30-day error budget",
                    burn.subject, burn.burned_percent
                ));
            }
            s.push('.');
        }
        sentences.push(s);
        details.business = Some(b);
    }
    if q.asks(Intent::Compare) {
        if fleet.clusters.len() < 2 {
            report.limitations.push(
                "a comparison needs two clusters: give --bundle or --context once per cluster"
                    .into(),
            );
            details.comparison = Some(Vec::new());
        } else {
            let diffs = compare::compare(fleet, &failing_by_cluster);
            let matters: Vec<&Difference> = diffs.iter().filter(|d| d.matters).collect();
            sentences.push(match matters.first() {
                Some(d) => format!(
                    "{} workloads differ between the clusters; the difference that matters: {} {}/{} ({} differ) fails only in {}.",
                    diffs.len(),
                    d.kind,
                    d.namespace,
                    d.name,
                    d.differs.join(", "),
                    d.failing_in.join(", ")
                ),
                None => format!(
                    "{} workloads differ between the clusters; none of the differences lines up with a failure in one cluster only.",
                    diffs.len()
                ),
            });
            details.comparison = Some(diffs);
        }
    }
    sentences.retain(|s| !s.is_empty());
    if sentences.is_empty() {
        sentences.push(report.summary.clone());
    }
    // One sentence per kind asked (the cause's in a few words when more was asked).
    sentences.truncate(q.intents.len().clamp(3, 4));
    report.summary = sentences.join(" ");
    report.details = serde_json::to_value(&details).unwrap_or_default();
    Ok(Explanation {
        report,
        details,
        maps,
    })
}
