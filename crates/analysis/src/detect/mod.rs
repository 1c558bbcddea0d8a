//! Detectors: each reads one kind of evidence (pod status, events, nodes, Services and
//! Ingresses, controllers, logs, metrics) and reports [`Hit`]s — a problem on one object,
//! when it started, the evidence, and which other objects it points at.
//!
//! Detectors only observe; deciding what caused what is the ranking's job
//! (`analysis::diagnose`). Two numbers carry a detector's knowledge into the ranking:
//! `cause`, how often a problem of this kind is a root cause in itself (an invalid
//! ConfigMap key is; "calls to auth time out" is not, it points at auth), and `blames`,
//! the objects the evidence itself names as the culprit.
//!
//! Every detector is a pure function of the snapshot; output order is fixed by sorting in
//! [`detect_all`].

mod addresses;
mod certificates;
mod currency;
mod events;
mod injected;
mod latency;
mod load;
mod log_scan;
mod logs;
mod metrics;
mod netpol;
mod nodes;
mod pods;
mod probes;
mod scheduling;
mod series;
mod services;
mod startup;
mod workloads;

use std::collections::BTreeMap;

use crate::report::{Evidence, Severity};
use intel_engine::{ObjectRef, Relations};
use intel_model::Snapshot;
use intel_model::usage::Usage;

pub use currency::Resolution;
pub(crate) use metrics::{ContainerSeries, Matrix, container_series};

/// One log line read as the analyses read it (classified, templated): for the fuzz
/// targets (`src/fuzzing.rs`).
#[doc(hidden)]
pub fn read_log_line(line: &str) -> (Option<Signature>, String) {
    logs::read_line(line)
}
pub use log_scan::{LogScan, LogWork};
pub use logs::{LogStats, Signature};

/// One observed problem on one object.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub subject: ObjectRef,
    /// The category (`CrashLoopBackOff`, `OOMKilled`, …), stable: ranking and remediation
    /// key on it.
    pub kind: &'static str,
    pub severity: Severity,
    /// Epoch seconds when it started, as far as the evidence shows.
    pub since: Option<i64>,
    /// Epoch seconds when it was last seen, where the evidence says (log lines); `None`
    /// for current state or unknown.
    pub until: Option<i64>,
    pub message: String,
    pub evidence: Vec<Evidence>,
    /// Objects the evidence names as the culprit (a peer that times out, the ConfigMap
    /// missing a key, the node that evicted).
    pub blames: Vec<ObjectRef>,
    /// 0–1: how likely a problem of this kind is a root cause in itself.
    pub cause: f64,
    /// Objects between the subject and where the problem shows (ReplicaSet, Pod), for
    /// the chain: Deployment → ReplicaSet → Pod.
    pub via: Vec<ObjectRef>,
    /// Set when the failure is over (its object recovered): the hit is then `Info`, kept
    /// for the timeline, never a cause (`currency`).
    pub resolved: Option<Resolution>,
}

impl Hit {
    pub fn new(subject: ObjectRef, kind: &'static str, severity: Severity, cause: f64) -> Self {
        Hit {
            subject,
            kind,
            severity,
            since: None,
            until: None,
            message: String::new(),
            evidence: Vec::new(),
            blames: Vec::new(),
            cause,
            via: Vec::new(),
            resolved: None,
        }
    }

    pub fn msg(mut self, m: impl Into<String>) -> Self {
        let m = m.into();
        self.message = intel_redact::scrub(&m).into_owned();
        self
    }

    pub fn since(mut self, t: Option<i64>) -> Self {
        self.since = t;
        self
    }

    pub fn until(mut self, t: Option<i64>) -> Self {
        self.until = t;
        self
    }

    pub fn ev(
        mut self,
        source: &str,
        location: impl Into<String>,
        text: impl Into<String>,
        at: Option<i64>,
    ) -> Self {
        self.evidence.push(Evidence {
            source: source.to_string(),
            location: location.into(),
            text: clip(&intel_redact::scrub(&text.into()), 300),
            at: at.map(fmt_ts),
        });
        self
    }
}

/// A change to the cluster (rollout, config edit, scaling): the timeline's raw material
/// and the ranking's "a change just before the onset".
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub subject: ObjectRef,
    pub at: i64,
    /// `rollout`, `config-edit`, `spec-edit`, `scale`.
    pub kind: &'static str,
    pub message: String,
    /// The object the change happened to, when it is not the subject itself (the
    /// ConfigMap a workload uses).
    pub via: Option<ObjectRef>,
}

/// What detectors share: the snapshot, its relations, usage series, and "now".
pub struct Ctx<'a> {
    pub snap: &'a Snapshot,
    pub rel: &'a Relations,
    pub usage: Usage,
    pub now: i64,
    /// Namespaces in scope; empty means all. Cluster-scoped objects are always in scope.
    pub namespaces: Vec<String>,
    /// Ignore evidence older than this (epoch seconds).
    pub not_before: Option<i64>,
}

impl<'a> Ctx<'a> {
    pub fn new(
        snap: &'a Snapshot,
        rel: &'a Relations,
        namespaces: Vec<String>,
        not_before: Option<i64>,
    ) -> Self {
        let usage = intel_timing::phase("evidence: usage series", || snap.usage());
        Ctx::with_usage(snap, rel, usage, namespaces, not_before)
    }

    /// With usage series already built (`Snapshot::usage`, which needs no relations, so
    /// that callers can build it beside them).
    pub fn with_usage(
        snap: &'a Snapshot,
        rel: &'a Relations,
        usage: Usage,
        namespaces: Vec<String>,
        not_before: Option<i64>,
    ) -> Self {
        let now = parse_ts(&snap.manifest.captured_at).unwrap_or(0);
        Ctx {
            snap,
            rel,
            usage,
            now,
            namespaces,
            not_before,
        }
    }

    pub fn in_scope(&self, namespace: &str) -> bool {
        namespace.is_empty()
            || self.namespaces.is_empty()
            || self.namespaces.iter().any(|n| n == namespace)
    }

    pub fn recent(&self, t: Option<i64>) -> bool {
        match (self.not_before, t) {
            (Some(nb), Some(t)) => t >= nb,
            _ => true,
        }
    }

    /// The object of this kind, namespace and name, if the snapshot holds it.
    pub fn object(
        &self,
        kind: &str,
        namespace: &str,
        name: &str,
    ) -> Option<&'a intel_model::Object> {
        self.snap
            .index()
            .by_name(kind, namespace, name)
            .first()
            .and_then(|id| self.snap.get(*id))
    }

    /// The pods of a workload present in the snapshot, sorted by name.
    pub fn pod_objects(&self, w: &ObjectRef) -> Vec<&'a intel_model::Object> {
        let index = self.snap.index();
        self.rel
            .pods_of(w)
            .iter()
            .filter_map(|p| index.by_name("Pod", &p.namespace, &p.name).first())
            .filter_map(|id| self.snap.get(*id))
            .collect()
    }

    /// The workload owning an object (a pod's Deployment), or the object itself.
    ///
    /// Events outlive their pods: a pod that is gone (an old rollout's, an evicted and
    /// deleted one) is placed by the name its controller generated for it — the
    /// ReplicaSet's, StatefulSet's or DaemonSet's name plus `-suffix` — when an owner of
    /// that name exists in its namespace.
    pub fn workload(&self, r: &ObjectRef) -> ObjectRef {
        let w = self.rel.workload_of(r);
        if w != *r || r.kind != "Pod" {
            return w;
        }
        let index = self.snap.index();
        if !index.by_name("Pod", &r.namespace, &r.name).is_empty() {
            return w;
        }
        let Some((owner, suffix)) = r.name.rsplit_once('-') else {
            return w;
        };
        // The suffix its controller generates: an ordinal for a StatefulSet, five
        // characters of the safe alphabet for the others.
        let ordinal = !suffix.is_empty() && suffix.bytes().all(|b| b.is_ascii_digit());
        let random = suffix.len() == 5 && suffix.bytes().all(|b| SAFE_ENCODING.contains(&b));
        for kind in ["ReplicaSet", "StatefulSet", "DaemonSet", "Job"] {
            let shaped = if kind == "StatefulSet" {
                ordinal
            } else {
                random
            };
            if shaped && !index.by_name(kind, &r.namespace, owner).is_empty() {
                return self
                    .rel
                    .workload_of(&ObjectRef::new(kind, &r.namespace, owner));
            }
        }
        // Its ReplicaSet (or Job) is gone too: `<deployment>-<pod-template-hash>` or
        // `<cronjob>-<scheduled minute>`.
        if let Some((top, tail)) = owner.rsplit_once('-').filter(|_| random) {
            let hash = tail.len() >= 5 && tail.bytes().all(|b| SAFE_ENCODING.contains(&b));
            let minute = !tail.is_empty() && tail.bytes().all(|b| b.is_ascii_digit());
            for (kind, fits) in [("Deployment", hash), ("CronJob", minute)] {
                if fits && !index.by_name(kind, &r.namespace, top).is_empty() {
                    return ObjectRef::new(kind, &r.namespace, top);
                }
            }
        }
        w
    }
}

/// The alphabet of generated name parts (pod-template hashes, random suffixes):
/// apimachinery's `rand.SafeEncodeString`.
const SAFE_ENCODING: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// Everything the detectors found, sorted; the changes seen; and the log statistics.
pub struct Detected {
    pub hits: Vec<Hit>,
    pub changes: Vec<Change>,
    /// Log signatures per workload, below the detectors' thresholds too (the timeline
    /// shows them).
    pub logs: LogStats,
}

/// Runs every detector, on two threads. Hits are concatenated in one fixed order
/// whatever finishes first, so the merge below is deterministic.
pub fn detect_all(ctx: &Ctx) -> Detected {
    detect_all_scanned(ctx, None)
}

/// [`detect_all`] with the log lines already read ([`LogScan::build`] needs no relations,
/// so a caller can run it beside them). The other thread runs the log statistics and the
/// log, Service and (when the lines were read already, and the log statistics are cheap)
/// metrics detectors; this one the pod, event, node and workload detectors.
pub fn detect_all_scanned(ctx: &Ctx, scan: Option<LogScan>) -> Detected {
    let metrics_beside = scan.is_some();
    let run_metrics = || {
        let mut hits = Vec::new();
        intel_timing::phase("detect: metrics", || metrics::detect(ctx, &mut hits));
        intel_timing::phase("detect: series", || series::detect(ctx, &mut hits));
        hits
    };
    let (mut hits, changes, others, stats) = std::thread::scope(|s| {
        let beside = s.spawn(|| {
            let stats = intel_timing::phase("evidence: log statistics", || match scan {
                Some(scan) => scan.into_stats(ctx.rel),
                None => LogStats::build(ctx.snap, ctx.rel, &ctx.namespaces),
            });
            let mut log_hits = Vec::new();
            intel_timing::phase("detect: logs", || logs::detect(ctx, &stats, &mut log_hits));
            let mut service_hits = Vec::new();
            intel_timing::phase("detect: services", || {
                services::detect(ctx, &mut service_hits)
            });
            let metric_hits = if metrics_beside {
                run_metrics()
            } else {
                Vec::new()
            };
            (service_hits, log_hits, metric_hits, stats)
        });
        let mut hits = Vec::new();
        intel_timing::phase("detect: pods", || pods::detect(ctx, &mut hits));
        intel_timing::phase("detect: events", || events::detect(ctx, &mut hits));
        intel_timing::phase("detect: nodes", || nodes::detect(ctx, &mut hits));
        let mut workload_hits = Vec::new();
        let changes = intel_timing::phase("detect: workloads", || {
            workloads::detect(ctx, &mut workload_hits)
        });
        let own_metrics = if metrics_beside {
            Vec::new()
        } else {
            run_metrics()
        };
        let (service_hits, log_hits, metric_hits, stats) = beside
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        let metric_hits = if metrics_beside {
            metric_hits
        } else {
            own_metrics
        };
        (
            hits,
            changes,
            [service_hits, workload_hits, log_hits, metric_hits],
            stats,
        )
    });
    hits.extend(others.into_iter().flatten());
    // Last: it reads the other detectors' hits.
    intel_timing::phase("detect: load", || load::detect(ctx, &mut hits));
    hits.retain(|h| ctx.in_scope(&h.subject.namespace) && ctx.recent(h.since));
    // Failures whose object has recovered are history, not causes: judged per event, pod
    // and line group before merging, so that yesterday's burst and today's stay apart.
    intel_timing::phase("detect: current or resolved", || {
        currency::mark(ctx, &mut hits, &stats)
    });
    // After currency: they read which failures are current.
    intel_timing::phase("detect: addresses", || addresses::detect(ctx, &mut hits));
    intel_timing::phase("detect: network policies", || {
        netpol::detect(ctx, &mut hits)
    });
    // Merge hits of one kind on one subject (several pods of a workload, several detectors
    // seeing one problem), history apart from what is current: earliest onset, highest
    // severity, evidence united.
    let mut merged: BTreeMap<(ObjectRef, &'static str, bool), Hit> = BTreeMap::new();
    for h in hits {
        match merged.entry((h.subject.clone(), h.kind, h.resolved.is_some())) {
            std::collections::btree_map::Entry::Vacant(v) => {
                v.insert(h);
            }
            std::collections::btree_map::Entry::Occupied(mut o) => {
                let m = o.get_mut();
                m.severity = m.severity.max(h.severity);
                m.since = match (m.since, h.since) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
                m.until = m.until.max(h.until);
                m.cause = m.cause.max(h.cause);
                if m.message.is_empty() {
                    m.message = h.message;
                }
                m.evidence.extend(h.evidence);
                m.blames.extend(h.blames);
                // One representative path (the first pod's) is enough for the chain.
                if m.via.is_empty() {
                    m.via = h.via;
                }
                if let (Some(a), Some(b)) = (m.resolved.as_mut(), h.resolved) {
                    if b.at > a.at {
                        *a = Resolution {
                            was: a.was.max(b.was),
                            ..b
                        };
                    }
                }
            }
        }
    }
    let mut hits: Vec<Hit> = merged
        .into_values()
        .map(|mut h| {
            // The last time it was seen, before evidence is cut to a few items.
            let latest = h
                .evidence
                .iter()
                .filter_map(|e| e.at.as_deref().and_then(parse_ts))
                .max();
            h.until = h.until.max(latest);
            h.evidence.sort();
            h.evidence.dedup();
            h.evidence.truncate(8);
            h.blames.sort();
            h.blames.dedup();
            h.blames.retain(|b| *b != h.subject);
            h
        })
        .collect();
    // After currency: only current trouble explains a slowdown.
    intel_timing::phase("detect: latency origin", || {
        series::latency_origin(ctx, &mut hits)
    });
    hits.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then(a.since.cmp(&b.since))
            .then(a.subject.cmp(&b.subject))
            .then(a.kind.cmp(b.kind))
    });
    let mut changes = changes;
    changes.sort_by(|a, b| a.at.cmp(&b.at).then(a.subject.cmp(&b.subject)));
    changes.dedup();
    Detected {
        hits,
        changes,
        logs: stats,
    }
}

/// Epoch seconds of an RFC 3339 time.
pub fn parse_ts(s: &str) -> Option<i64> {
    s.parse::<jiff::Timestamp>()
        .ok()
        .map(|t| t.as_second())
        // Go's zero time (`0001-01-01T00:00:00Z`, an unset field written out) and anything
        // before Kubernetes existed is no moment of this cluster: never an onset.
        .filter(|&t| t >= EARLIEST_TS)
}

/// 2014-06-01T00:00:00Z: no Kubernetes object is older.
pub const EARLIEST_TS: i64 = 1_401_580_800;

/// RFC 3339 in UTC, seconds precision.
pub fn fmt_ts(t: i64) -> String {
    jiff::Timestamp::from_second(t)
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

/// "42m", "3h05m", "2d4h": a duration as people say it.
pub fn human_duration(secs: i64) -> String {
    let s = secs.max(0);
    if s < 90 {
        format!("{s}s")
    } else if s < 3600 {
        format!("{}m", (s + 30) / 60)
    } else if s < 86400 * 2 {
        let m = (s + 30) / 60;
        if m % 60 == 0 {
            format!("{}h", m / 60)
        } else {
            format!("{}h{:02}m", m / 60, m % 60)
        }
    } else {
        format!("{}d{}h", s / 86400, (s % 86400) / 3600)
    }
}

/// At most `max` characters, on a char boundary, with `…` when cut.
pub fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max).collect();
    out.push('…');
    out
}

/// A JSON string field of a raw object, through a path of keys.
pub fn jstr<'v>(v: &'v serde_json::Value, path: &[&str]) -> Option<&'v str> {
    let mut cur = v;
    for p in path {
        cur = cur.get(p)?;
    }
    cur.as_str()
}

pub fn jint(v: &serde_json::Value, path: &[&str]) -> Option<i64> {
    let mut cur = v;
    for p in path {
        cur = cur.get(p)?;
    }
    cur.as_i64()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Go's zero time, written out for an unset field, is no onset; a real time is.
    #[test]
    fn go_zero_time_is_no_moment() {
        assert_eq!(parse_ts("0001-01-01T00:00:00Z"), None);
        assert_eq!(parse_ts("1970-01-01T00:00:00Z"), None);
        assert_eq!(parse_ts("2014-06-01T00:00:00Z"), Some(EARLIEST_TS));
        assert_eq!(parse_ts("2026-11-24T14:00:00Z"), Some(1_795_528_800));
        assert_eq!(parse_ts("not a time"), None);
    }
}
