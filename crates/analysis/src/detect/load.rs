//! Load propagation: where extra load enters and where it only arrives.
//!
//! A workload whose CPU use steps up (Prometheus `container_cpu_usage_seconds_total`,
//! summed over its pods: the median after a split point at least [`STEP`] times the
//! median before, and staying above everything before) is doing more work. Whether that
//! is its own problem or someone else's follows from the service map:
//!
//! - a workload that calls it stepped up at about the same time: the demand comes from
//!   that caller (`LoadIncrease`, blaming the caller), and so does any CPU throttling or
//!   request surge the workload shows (its `CPUThrottling` and `TrafficSurge` blame the
//!   caller too);
//! - no caller stepped up but the workloads it calls did: more requests are coming in
//!   through it, not more work per request (`TrafficSurge`) — unless callers' requests to
//!   it are failing, when retries of those failed calls are the likelier extra load
//!   (`LoadIncrease`, blaming nothing);
//! - neither: a step on its own (a slower build, load moved between replicas) is left
//!   to the other detectors.
//!
//! Runs after the other detectors: it reads their hits to know which callers fail.

use std::collections::{BTreeMap, BTreeSet};

use super::{Ctx, Hit, fmt_ts, human_duration};
use crate::report::Severity;
use intel_engine::ObjectRef;

/// The smallest rise (after / before, medians) that counts as a step.
pub const STEP: f64 = 1.8;
/// Steps of a caller and a callee this close in time belong together.
const TOGETHER: i64 = 15 * 60;
/// Points needed on each side of the split.
const MIN_POINTS: usize = 3;
/// Less CPU than this before the step (cores) is idle noise, not a baseline.
const MIN_BASELINE: f64 = 0.005;

use super::metrics::Matrix;

/// A step up in a workload's CPU use.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub onset: i64,
    /// Cores, medians before and after.
    pub before: f64,
    pub after: f64,
}

impl Step {
    pub fn ratio(&self) -> f64 {
        self.after / self.before
    }
}

/// The step in a series of (time, value) points sorted by time, if there is one: the
/// change point that leaves the least absolute deviation around the two sides' medians (a
/// clean step has one split that explains it, where the largest ratio of medians has
/// many), kept when the level before is a baseline, the level after is at least [`STEP`]
/// times it, and four in five points after stand above the midpoint between the two.
pub fn step(points: &[(i64, f64)]) -> Option<Step> {
    step_above(points, MIN_BASELINE)
}

/// [`step`] with the level before that counts as a baseline (CPU cores for the load, any
/// positive level for shares and latencies).
pub(super) fn step_above(points: &[(i64, f64)], baseline: f64) -> Option<Step> {
    let n = points.len();
    let (i, before, after) = change_point(points)?;
    if before < baseline || before <= 0.0 || after / before < STEP {
        return None;
    }
    let mid = (before + after) / 2.0;
    let above = points[i..].iter().filter(|p| p.1 > mid).count();
    if above * 5 < (n - i) * 4 {
        return None;
    }
    Some(Step {
        onset: points[i].0,
        before,
        after,
    })
}

/// Longest series the change point looks at point by point.
const MAX_POINTS: usize = 720;

/// The split (at least [`MIN_POINTS`] a side) that leaves the least absolute deviation
/// around the two sides' medians: (index of the first point after, median before, median
/// after).
pub(super) fn change_point(points: &[(i64, f64)]) -> Option<(usize, f64, f64)> {
    let n = points.len();
    // Quadratic in the points: a long series is looked at in at most MAX_POINTS steps.
    if n > MAX_POINTS {
        let stride = n.div_ceil(MAX_POINTS);
        let thin: Vec<(i64, f64)> = points.iter().step_by(stride).copied().collect();
        let (i, b, a) = change_point(&thin)?;
        return Some(((i * stride).min(n - 1), b, a));
    }
    if n < 2 * MIN_POINTS {
        return None;
    }
    let med = |p: &[(i64, f64)]| median(p.iter().map(|x| x.1));
    let deviation = |p: &[(i64, f64)], m: f64| p.iter().map(|x| (x.1 - m).abs()).sum::<f64>();
    (MIN_POINTS..=n - MIN_POINTS)
        .map(|i| {
            let (b, a) = (med(&points[..i]), med(&points[i..]));
            let cost = deviation(&points[..i], b) + deviation(&points[i..], a);
            (i, b, a, cost)
        })
        .min_by(|x, y| x.3.total_cmp(&y.3).then(x.0.cmp(&y.0)))
        .map(|(i, b, a, _)| (i, b, a))
}

pub(super) fn median(values: impl Iterator<Item = f64>) -> f64 {
    let mut v: Vec<f64> = values.filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    }
}

/// CPU use per workload (cores, summed over its pods), by time.
fn workload_cpu(ctx: &Ctx) -> BTreeMap<ObjectRef, Vec<(i64, f64)>> {
    let mut out: BTreeMap<ObjectRef, BTreeMap<i64, f64>> = BTreeMap::new();
    let Some(raw) = ctx.snap.prometheus.get("container_cpu_usage_seconds_total") else {
        return BTreeMap::new();
    };
    let Ok(m) = serde_json::from_str::<Matrix>(raw.get()) else {
        return BTreeMap::new();
    };
    for s in m.data.result {
        let (Some(ns), Some(pod)) = (s.metric.get("namespace"), s.metric.get("pod")) else {
            continue;
        };
        if !ctx.in_scope(ns) {
            continue;
        }
        let w = ctx.workload(&ObjectRef::new("Pod", ns, pod));
        if w.kind == "Pod" {
            continue;
        }
        let series = out.entry(w).or_default();
        for (t, v) in &s.values {
            if let Ok(x) = v.parse::<f64>() {
                if t.is_finite() && x.is_finite() {
                    *series.entry(*t as i64).or_default() += x;
                }
            }
        }
    }
    out.into_iter()
        .map(|(w, s)| (w, s.into_iter().collect()))
        .collect()
}

pub(super) fn detect(ctx: &Ctx, hits: &mut Vec<Hit>) {
    let steps: BTreeMap<ObjectRef, Step> = workload_cpu(ctx)
        .into_iter()
        .filter_map(|(w, points)| step(&points).map(|s| (w, s)))
        .collect();
    if steps.is_empty() {
        return;
    }
    let map = ctx.rel.service_map();
    let mut callers: BTreeMap<ObjectRef, BTreeSet<ObjectRef>> = BTreeMap::new();
    for n in &map.nodes {
        if n.kind == intel_engine::servicemap::WORKLOAD {
            for d in map.depends_on(&n.id) {
                callers.entry(d.clone()).or_default().insert(n.id.clone());
            }
        }
    }
    let together = |a: &Step, b: &Step| (a.onset - b.onset).abs() <= TOGETHER;
    // Workloads a failing caller names as the peer its calls fail on.
    let mut failed_calls: BTreeMap<ObjectRef, BTreeSet<ObjectRef>> = BTreeMap::new();
    for h in hits.iter().filter(|h| h.severity >= Severity::Warning) {
        for b in &h.blames {
            let target = map
                .node(b)
                .and_then(|n| n.service_for.clone())
                .unwrap_or_else(|| b.clone());
            failed_calls
                .entry(target)
                .or_default()
                .insert(h.subject.clone());
        }
    }
    let describe = |w: &ObjectRef, s: &Step| {
        format!(
            "{} {:.1}x at {} ({:.2} → {:.2} cores)",
            w.name,
            s.ratio(),
            fmt_ts(s.onset),
            s.before,
            s.after
        )
    };
    let mut new = Vec::new();
    let mut throttled_by: BTreeMap<ObjectRef, (Vec<ObjectRef>, String)> = BTreeMap::new();
    for (w, s) in &steps {
        let stepped_callers: Vec<ObjectRef> = callers
            .get(w)
            .into_iter()
            .flatten()
            .filter(|c| *c != w && steps.get(*c).is_some_and(|cs| together(cs, s)))
            .cloned()
            .collect();
        let stepped_callees: Vec<&ObjectRef> = map
            .depends_on(w)
            .into_iter()
            .filter(|d| steps.get(*d).is_some_and(|ds| together(ds, s)))
            .collect();
        let evidence = |h: Hit, others: &[&ObjectRef]| {
            let mut h = h.since(Some(s.onset)).ev(
                "metric",
                "prometheus container_cpu_usage_seconds_total",
                describe(w, s),
                Some(s.onset),
            );
            for o in others {
                if let Some(os) = steps.get(*o) {
                    h = h.ev(
                        "metric",
                        "prometheus container_cpu_usage_seconds_total",
                        describe(o, os),
                        Some(os.onset),
                    );
                }
            }
            h
        };
        if !stepped_callers.is_empty() {
            let names: Vec<&str> = stepped_callers.iter().map(|c| c.name.as_str()).collect();
            let message = format!(
                "{}'s CPU use rose {:.1}x at {} together with its caller {}: the extra load comes from there",
                w.name,
                s.ratio(),
                fmt_ts(s.onset),
                names.join(", ")
            );
            let refs: Vec<&ObjectRef> = stepped_callers.iter().collect();
            let mut h = evidence(
                Hit::new(w.clone(), "LoadIncrease", Severity::Warning, 0.2).msg(message.clone()),
                &refs,
            );
            h.blames = stepped_callers.clone();
            new.push(h);
            throttled_by.insert(w.clone(), (stepped_callers, message));
            continue;
        }
        if stepped_callees.is_empty() {
            continue;
        }
        let callee_names: Vec<&str> = stepped_callees.iter().map(|c| c.name.as_str()).collect();
        let failing_callers: Vec<&ObjectRef> = failed_calls
            .get(w)
            .into_iter()
            .flatten()
            .filter(|c| callers.get(w).is_some_and(|cs| cs.contains(*c)))
            .collect();
        if failing_callers.is_empty() {
            let message = format!(
                "{}'s CPU use rose {:.1}x at {} and {}, which it calls, followed within {}: more requests are coming in through it, not more work per request",
                w.name,
                s.ratio(),
                fmt_ts(s.onset),
                callee_names.join(", "),
                human_duration(TOGETHER)
            );
            new.push(evidence(
                Hit::new(w.clone(), "TrafficSurge", Severity::Warning, 0.45).msg(message),
                &stepped_callees,
            ));
        } else {
            let names: Vec<&str> = failing_callers.iter().map(|c| c.name.as_str()).collect();
            let message = format!(
                "{}'s CPU use rose {:.1}x at {} while calls to it from {} fail: retries of failed calls add load",
                w.name,
                s.ratio(),
                fmt_ts(s.onset),
                names.join(", ")
            );
            new.push(evidence(
                Hit::new(w.clone(), "LoadIncrease", Severity::Warning, 0.2).msg(message),
                &stepped_callees,
            ));
        }
    }
    // Throttling, or more requests, that began with load from a caller is the caller's
    // doing.
    for h in hits
        .iter_mut()
        .filter(|h| matches!(h.kind, "CPUThrottling" | "TrafficSurge"))
    {
        if let Some((by, message)) = throttled_by.get(&h.subject) {
            h.blames.extend(by.iter().cloned());
            h.evidence.push(crate::report::Evidence {
                source: "metric".into(),
                location: "prometheus container_cpu_usage_seconds_total".into(),
                text: super::clip(message, 300),
                at: steps.get(&h.subject).map(|s| fmt_ts(s.onset)),
            });
        }
    }
    hits.extend(new);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(values: &[f64]) -> Vec<(i64, f64)> {
        values
            .iter()
            .enumerate()
            .map(|(i, v)| (i as i64 * 60, *v))
            .collect()
    }

    #[test]
    fn a_sustained_rise_is_a_step() {
        let s = step(&series(&[
            0.2, 0.21, 0.19, 0.2, 0.3, 0.42, 0.45, 0.44, 0.46, 0.45,
        ]))
        .unwrap();
        assert!(s.ratio() >= 2.0, "{s:?}");
        assert!(s.onset >= 4 * 60 && s.onset <= 5 * 60, "{s:?}");
    }

    #[test]
    fn noise_spikes_and_slow_drifts_are_not() {
        assert_eq!(
            step(&series(&[0.2, 0.21, 0.9, 0.2, 0.19, 0.2, 0.22, 0.2])),
            None
        );
        assert_eq!(
            step(&series(&[0.2, 0.22, 0.24, 0.26, 0.28, 0.3, 0.32, 0.34])),
            None
        );
        assert_eq!(step(&series(&[0.0, 0.0, 0.0, 0.3, 0.3, 0.3])), None);
    }
}
