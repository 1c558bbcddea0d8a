//! Time of day: workloads idle at the same hours every day (or all weekend), from
//! Prometheus series that cover at least a day (a week for weekends), and a scale-down
//! schedule for them.
//!
//! A workload's CPU use is summed over its pods (every pod it had, as rightsizing reads
//! them) at each sample time, then averaged per (day, hour) in UTC. An hour of the day is
//! idle when, on every day the series cover it, the average is at most 10% of the
//! busiest hour's; the longest run of idle hours (round midnight too) of at least four is
//! the window. Weekends are idle when, with every day of the week seen, every hour of
//! every Saturday and Sunday is. A workload an HPA scales is left to it; one whose callers (the service map)
//! are busy in the window, or have no series to tell, is not scaled down, and says why.
//! The schedule is a KEDA `ScaledObject` with a cron trigger (the replicas outside the
//! window, zero inside), and what it saves is the workload's requests for those hours at
//! the nodes' prices — realized when the autoscaler removes the nodes it frees.

use std::collections::BTreeMap;

use serde::Serialize;

use intel_engine::{ObjectRef, Relations};

use crate::detect::ContainerSeries;

/// An hour of the day is idle below this share of the busiest hour's use.
const IDLE_SHARE: f64 = 0.10;
/// The shortest window worth a schedule, hours.
const MIN_HOURS: usize = 4;

/// One workload's idle window.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IdleWindow {
    /// `Deployment shop/reports`.
    pub subject: String,
    pub replicas: i64,
    /// UTC hours: idle from `start` to `end` (exclusive), round midnight when end < start.
    pub start_hour: usize,
    pub end_hour: usize,
    pub hours: usize,
    /// Saturdays and Sundays (UTC) are idle all day too (series of a week or more).
    pub weekends: bool,
    /// Hours a week the schedule keeps it at zero.
    pub off_hours_a_week: f64,
    /// UTC calendar days the series touch.
    pub days: usize,
    /// The busiest hour's average use and the highest in the window, millicores.
    pub peak_millis: f64,
    pub window_max_millis: f64,
    /// Why no schedule is proposed (an HPA, busy callers), when none is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub held_back: Option<String>,
    /// The ScaledObject to apply, when one is proposed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scaled_object: Option<serde_json::Value>,
    /// Requests freed over the window, per month.
    pub monthly_saved: f64,
}

/// Per (day, hour) the average of the summed use, and per hour of day the days seen.
type Hourly = BTreeMap<(i64, usize), f64>;

fn hourly(points: &BTreeMap<i64, f64>) -> Hourly {
    let mut sums: BTreeMap<(i64, usize), (f64, usize)> = BTreeMap::new();
    for (&t, &v) in points {
        let key = (t.div_euclid(86_400), (t.rem_euclid(86_400) / 3600) as usize);
        let e = sums.entry(key).or_default();
        e.0 += v;
        e.1 += 1;
    }
    sums.into_iter()
        .map(|(k, (s, n))| (k, s / n as f64))
        .collect()
}

/// The idle hours of the day (see the module's text), or `None` without a full day.
fn idle_hours(h: &Hourly) -> Option<([bool; 24], f64, usize)> {
    let peak = h.values().copied().fold(0.0, f64::max);
    let mut seen = [false; 24];
    let mut idle = [true; 24];
    for (&(_, hour), &v) in h {
        seen[hour] = true;
        if v > IDLE_SHARE * peak {
            idle[hour] = false;
        }
    }
    let days = h
        .keys()
        .map(|k| k.0)
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    (seen.iter().all(|s| *s) && peak > 0.0).then_some((idle, peak, days))
}

/// The longest run of idle hours, round midnight: (start, length).
fn longest_run(idle: &[bool; 24]) -> Option<(usize, usize)> {
    if idle.iter().all(|i| *i) {
        return Some((0, 24));
    }
    let mut best: Option<(usize, usize)> = None;
    for start in 0..24 {
        if !idle[start] || idle[(start + 23) % 24] {
            continue;
        }
        let len = (0..24).take_while(|k| idle[(start + k) % 24]).count();
        if best.is_none_or(|b| len > b.1) {
            best = Some((start, len));
        }
    }
    best
}

/// One workload as the time-of-day rule reads it.
pub struct Candidate<'a> {
    pub workload: &'a ObjectRef,
    pub replicas: i64,
    pub hpa: bool,
    /// Its pods' requests, millicores and bytes, per replica.
    pub requests: (i64, i64),
    /// Summed CPU use per sample time.
    pub cpu: BTreeMap<i64, f64>,
}

/// The summed CPU use of a workload's pods per sample time, from the series of the pods
/// `owns` claims.
pub(crate) fn summed(
    series: &BTreeMap<(String, String, String), ContainerSeries>,
    namespace: &str,
    owns: impl Fn(&str) -> bool,
) -> BTreeMap<i64, f64> {
    let mut out: BTreeMap<i64, f64> = BTreeMap::new();
    for ((_, pod, _), s) in series
        .range((namespace.to_string(), String::new(), String::new())..)
        .take_while(|((ns, _, _), _)| ns == namespace)
    {
        if owns(pod) {
            for &(t, v) in &s.cpu_millis {
                *out.entry(t).or_default() += v;
            }
        }
    }
    out
}

/// Whether Saturdays and Sundays (UTC) are idle all day: the series cover every day of
/// the week, and every hour of a weekend day is at most [`IDLE_SHARE`] of the peak.
fn weekends_idle(h: &Hourly, peak: f64) -> bool {
    // 1970-01-01 was a Thursday: day 0 is weekday 4, Sunday is 0.
    let weekday = |day: i64| (day + 4).rem_euclid(7);
    let seen: std::collections::BTreeSet<i64> = h.keys().map(|k| weekday(k.0)).collect();
    seen.len() == 7
        && h.iter()
            .filter(|((day, _), _)| matches!(weekday(*day), 0 | 6))
            .all(|(_, v)| *v <= IDLE_SHARE * peak)
}

/// What a workload's use says: its idle hours of the day, whether weekends are idle, the
/// busiest hour's use and the days seen.
struct Idle {
    hours: [bool; 24],
    weekends: bool,
    peak: f64,
    days: usize,
}

fn idle_of(cpu: &BTreeMap<i64, f64>) -> Option<Idle> {
    let h = hourly(cpu);
    let (hours, peak, days) = idle_hours(&h)?;
    Some(Idle {
        hours,
        weekends: weekends_idle(&h, peak),
        peak,
        days,
    })
}

/// Idle windows of the candidates; `price` gives (per core-hour, per GiB-hour).
pub fn windows(rel: &Relations, candidates: &[Candidate], price: (f64, f64)) -> Vec<IdleWindow> {
    let idle_by: BTreeMap<&ObjectRef, Idle> = candidates
        .iter()
        .filter_map(|c| Some((c.workload, idle_of(&c.cpu)?)))
        .collect();
    let dependents = rel.service_map().dependents();
    let mut out = Vec::new();
    for c in candidates {
        let Some(idle) = idle_by.get(c.workload) else {
            continue;
        };
        let night = longest_run(&idle.hours).filter(|r| r.1 >= MIN_HOURS);
        if night.is_none() && !idle.weekends {
            continue;
        }
        let (start, hours) = night.unwrap_or((0, 0));
        let end = (start + hours) % 24;
        let in_window = |hour: usize| (0..hours).any(|k| (start + k) % 24 == hour);
        let window_max = hourly(&c.cpu)
            .iter()
            .filter(|((_, hour), _)| in_window(*hour))
            .map(|(_, v)| *v)
            .fold(0.0, f64::max);
        let callers = dependents.get(c.workload).cloned().unwrap_or_default();
        let busy: Vec<String> = callers
            .iter()
            .filter(|w| {
                idle_by.get(*w).is_none_or(|other| {
                    (0..hours).any(|k| !other.hours[(start + k) % 24])
                        || (idle.weekends && !other.weekends)
                })
            })
            .map(|w| format!("{} {}/{}", w.kind, w.namespace, w.name))
            .collect();
        let held_back = if c.hpa {
            Some("an autoscaler (HPA or ScaledObject) scales it: its minimum is the floor at these hours".to_string())
        } else if !busy.is_empty() {
            Some(format!(
                "callers are busy in the window or have no series to tell: {}",
                busy.join(", ")
            ))
        } else {
            None
        };
        // The cron that keeps the replicas up when it is busy: weekdays only when the
        // weekends are idle too (and the night window wraps midnight, so each busy
        // stretch lies within one day), every day otherwise; weekends alone without a
        // night window.
        let weekdays = idle.weekends && (hours == 0 || start > end);
        let (from, to, off_hours_a_week) = match (hours, weekdays) {
            (0, _) => ("0 0 * * 1".to_string(), "0 0 * * 6".to_string(), 48.0),
            (h, true) => (
                format!("0 {end} * * 1-5"),
                format!("0 {start} * * 1-5"),
                48.0 + 5.0 * h as f64,
            ),
            (h, false) => (
                format!("0 {end} * * *"),
                format!("0 {start} * * *"),
                7.0 * h as f64,
            ),
        };
        let subject = format!(
            "{} {}/{}",
            c.workload.kind, c.workload.namespace, c.workload.name
        );
        let per_hour = c.replicas as f64
            * (c.requests.0 as f64 / 1000.0 * price.0
                + c.requests.1 as f64 / 1073741824.0 * price.1);
        // 365 / 12 / 7 weeks a month.
        let saved = (per_hour * off_hours_a_week * 365.0 / 84.0 * 100.0).round() / 100.0;
        let scaled_object = held_back.is_none().then(|| {
            serde_json::json!({
                "apiVersion": "keda.sh/v1alpha1",
                "kind": "ScaledObject",
                "metadata": {"name": format!("{}-by-hour", c.workload.name), "namespace": c.workload.namespace},
                "spec": {
                    "scaleTargetRef": {"apiVersion": "apps/v1", "kind": c.workload.kind, "name": c.workload.name},
                    "minReplicaCount": 0,
                    "maxReplicaCount": c.replicas,
                    "triggers": [{"type": "cron", "metadata": {
                        "timezone": "Etc/UTC",
                        "start": from,
                        "end": to,
                        "desiredReplicas": c.replicas.to_string(),
                    }}],
                },
            })
        });
        let proposed = scaled_object.is_some();
        out.push(IdleWindow {
            subject,
            replicas: c.replicas,
            start_hour: start,
            end_hour: end,
            hours,
            weekends: idle.weekends,
            days: idle.days,
            peak_millis: (idle.peak * 10.0).round() / 10.0,
            window_max_millis: (window_max * 10.0).round() / 10.0,
            held_back,
            scaled_object,
            off_hours_a_week,
            monthly_saved: if proposed { saved } else { 0.0 },
        });
    }
    out
}

/// The workloads idle at the same hours every day (`daily.rs`), priced at the nodes'
/// average rates.
pub(super) fn time_of_day(
    rel: &Relations,
    series: &std::collections::BTreeMap<(String, String, String), crate::detect::ContainerSeries>,
    rows: &[super::rightsize::Rightsizing],
    money: &super::cost::Cost,
) -> Vec<IdleWindow> {
    let mut requests: std::collections::BTreeMap<&str, (i64, i64, i64)> = Default::default();
    for r in rows {
        let e = requests.entry(r.subject.as_str()).or_default();
        e.0 += r.current.cpu_request.unwrap_or(0);
        e.1 += r.current.memory_request.unwrap_or(0);
        e.2 = r.replicas;
    }
    let mut candidates = Vec::new();
    for w in rel.workloads() {
        if !matches!(w.kind.as_str(), "Deployment" | "StatefulSet") {
            continue;
        }
        let subject = format!("{} {}/{}", w.kind, w.namespace, w.name);
        let Some(&(cpu, mem, replicas)) = requests.get(subject.as_str()) else {
            continue;
        };
        let prefixes = super::rightsize::name_prefixes(rel, w);
        let cpu_series = summed(series, &w.namespace, |pod| {
            prefixes
                .iter()
                .any(|p| super::rightsize::generated_from(pod, p))
        });
        if cpu_series.is_empty() {
            continue;
        }
        candidates.push(Candidate {
            workload: w,
            replicas,
            // Any autoscaler (an HPA on any metric, a KEDA ScaledObject): a second one
            // would fight it over the replicas.
            hpa: rel
                .to(w)
                .iter()
                .any(|r| r.kind == intel_engine::RelationKind::Scales),
            requests: (cpu, mem),
            cpu: cpu_series,
        });
    }
    let n = money.nodes.len().max(1) as f64;
    let price = (
        money.nodes.iter().map(|p| p.cpu_core_hour).sum::<f64>() / n,
        money.nodes.iter().map(|p| p.ram_gib_hour).sum::<f64>() / n,
    );
    windows(rel, &candidates, price)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_longest_idle_run_wraps_round_midnight() {
        let mut idle = [false; 24];
        for h in [22, 23, 0, 1, 2, 3, 4, 5, 12] {
            idle[h] = true;
        }
        assert_eq!(longest_run(&idle), Some((22, 8)));
        assert_eq!(longest_run(&[false; 24]), None);
        assert_eq!(longest_run(&[true; 24]), Some((0, 24)));
    }

    #[test]
    fn a_day_is_needed_and_every_day_must_be_idle() {
        // 12 hours only: no judgement.
        let half: BTreeMap<i64, f64> = (0..12 * 60).map(|m| (m * 60, 100.0)).collect();
        assert!(idle_hours(&hourly(&half)).is_none());
        // Two days, busy 8–20 both days: idle at night.
        let busy = |t: i64| (8..20).contains(&((t % 86_400) / 3600));
        let two: BTreeMap<i64, f64> = (0..2 * 24 * 60)
            .map(|m| m * 60)
            .map(|t| (t, if busy(t) { 500.0 } else { 5.0 }))
            .collect();
        let (idle, _, days) = idle_hours(&hourly(&two)).unwrap();
        assert_eq!(days, 2);
        assert_eq!(longest_run(&idle), Some((20, 12)));
        // The near miss: one night of the two was busy at 2 AM.
        let mut noisy = two.clone();
        for m in 0..60 {
            noisy.insert(86_400 + 2 * 3600 + m * 60, 400.0);
        }
        let (idle, _, _) = idle_hours(&hourly(&noisy)).unwrap();
        assert!(!idle[2]);
        assert_eq!(longest_run(&idle), Some((20, 6)));
    }

    #[test]
    fn weekends_need_a_week_and_every_weekend_hour_idle() {
        // Day 2 of the epoch is a Saturday (1970-01-03). Fifteen days, busy on weekdays.
        let weekday = |t: i64| (t.div_euclid(86_400) + 4).rem_euclid(7);
        let week: BTreeMap<i64, f64> = (0..15 * 24)
            .map(|h| h * 3600)
            .map(|t| {
                (
                    t,
                    if matches!(weekday(t), 0 | 6) {
                        1.0
                    } else {
                        300.0
                    },
                )
            })
            .collect();
        let h = hourly(&week);
        assert!(weekends_idle(&h, 300.0));
        // Near miss: one Saturday hour busy.
        let mut busy = week.clone();
        busy.insert(2 * 86_400 + 10 * 3600, 250.0);
        assert!(!weekends_idle(&hourly(&busy), 300.0));
        // Near miss: five days cannot tell.
        let short: BTreeMap<i64, f64> = week.range(..5 * 86_400).map(|(k, v)| (*k, *v)).collect();
        assert!(!weekends_idle(&hourly(&short), 300.0));
    }
}
