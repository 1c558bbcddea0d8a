//! Saturation from metrics: containers at their CPU limit or throttled (metrics.k8s.io
//! usage against limits; Prometheus `container_cpu_cfs_throttled_periods_total` over
//! `container_cpu_cfs_periods_total` when captured), and memory climbing toward its limit
//! (a leak's slope).
//!
//! One convention for Prometheus series (capture's queries and synth write it): a series
//! named after a counter (`*_total`) holds its per-second `rate()`, summed per container;
//! gauges hold their value. The detectors read a counter series either way, though — a
//! bundle written by another tool, or by hand, may hold the raw counter — and tell the
//! two apart by their shape ([`per_second`]).

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{Ctx, Hit, parse_ts};
use crate::report::{Evidence, Severity};
use intel_engine::ObjectRef;
use intel_model::quantity;

#[derive(Deserialize, Default)]
struct PodRes {
    #[serde(default)]
    spec: PodResSpec,
}

#[derive(Deserialize, Default)]
struct PodResSpec {
    #[serde(default)]
    containers: Option<Vec<ContainerRes>>,
}

#[derive(Deserialize, Default)]
struct ContainerRes {
    #[serde(default)]
    name: String,
    #[serde(default)]
    resources: Option<Resources>,
}

#[derive(Deserialize, Default)]
struct Resources {
    #[serde(default)]
    limits: Option<BTreeMap<String, String>>,
}

/// A container's name with its CPU (millicores) and memory (bytes) limits.
type Limits = (String, Option<f64>, Option<f64>);

/// The CPU and memory limits of a pod's containers (none when the pod is not captured).
fn limits_of(ctx: &Ctx, ns: &str, pod: &str) -> Vec<Limits> {
    ctx.snap
        .index()
        .by_name("Pod", ns, pod)
        .first()
        .and_then(|id| ctx.snap.get(*id))
        .and_then(|o| serde_json::from_str::<PodRes>(o.json()).ok())
        .map(|p| {
            p.spec
                .containers
                .unwrap_or_default()
                .into_iter()
                .map(|c| {
                    let l = c.resources.and_then(|r| r.limits).unwrap_or_default();
                    (
                        c.name,
                        l.get("cpu").and_then(|q| quantity::cpu_millis(q)),
                        l.get("memory").and_then(|q| quantity::bytes(q)),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// CFS periods per second (the default 100 ms period).
const PERIODS_PER_SECOND: f64 = 10.0;

pub(super) fn detect(ctx: &Ctx, out: &mut Vec<Hit>) {
    // Series come sorted by (namespace, pod, container): one pod's limits serve all its
    // containers, then the next pod's replace them.
    let mut pod_limits: Option<(&str, &str, Vec<Limits>)> = None;
    // The samples' throttling hits, by container: Prometheus' evidence joins them.
    let mut at_limit: BTreeMap<(String, String, String), usize> = BTreeMap::new();
    for ((ns, pod, container), series) in &ctx.usage.containers {
        if !ctx.in_scope(ns) || series.len() < 2 {
            continue;
        }
        if pod_limits
            .as_ref()
            .is_none_or(|(n, p, _)| (*n, *p) != (ns.as_str(), pod.as_str()))
        {
            pod_limits = Some((ns, pod, limits_of(ctx, ns, pod)));
        }
        let limits = pod_limits
            .as_ref()
            .map_or(&[][..], |(_, _, l)| l.as_slice());
        let Some((_, cpu_limit, mem_limit)) = limits.iter().find(|(n, _, _)| n == container) else {
            continue;
        };
        let pref = ObjectRef::new("Pod", ns, pod);
        let last = &series[series.len() - 1];
        let first = &series[0];
        let loc = || format!("metrics.k8s.io pods/{ns}/{pod} container {container}");
        if let Some(limit) = cpu_limit.filter(|l| *l > 0.0) {
            let hot = series
                .iter()
                .filter(|r| r.cpu_millis >= 0.9 * limit)
                .count();
            if hot * 2 >= series.len() && last.cpu_millis >= 0.9 * limit {
                let since = series
                    .iter()
                    .find(|r| r.cpu_millis >= 0.9 * limit)
                    .and_then(|r| parse_ts(&r.time));
                let mut h = Hit::new(ctx.workload(&pref), "CPUThrottling", Severity::Critical, 0.75)
                    .msg(format!(
                        "{container} in {pod} runs at its CPU limit ({:.0}m of {limit:.0}m): the kernel throttles it",
                        last.cpu_millis
                    ))
                    .since(since)
                    .ev("metric", loc(), format!("cpu {:.0}m against limit {limit:.0}m in {hot} of {} samples", last.cpu_millis, series.len()), since);
                h.via = vec![pref.clone()];
                at_limit.insert((ns.clone(), pod.clone(), container.clone()), out.len());
                out.push(h);
            }
        }
        if let Some(limit) = mem_limit.filter(|l| *l > 0.0) {
            let rising = series
                .windows(2)
                .filter(|p| p[1].memory_bytes > p[0].memory_bytes)
                .count();
            let grew = last.memory_bytes - first.memory_bytes;
            if last.memory_bytes >= 0.8 * limit
                && rising * 3 >= (series.len() - 1) * 2
                && grew > 0.1 * limit
            {
                let (t0, t1) = (
                    parse_ts(&first.time).unwrap_or(0),
                    parse_ts(&last.time).unwrap_or(0),
                );
                let per_min = grew / ((t1 - t0).max(60) as f64 / 60.0);
                let left = (limit - last.memory_bytes).max(0.0) / per_min.max(1.0);
                let mut h = Hit::new(ctx.workload(&pref), "MemoryLeak", Severity::Critical, 0.85)
                    .msg(format!(
                        "{container} in {pod} grows {:.1} MiB/min and is at {:.0}% of its {:.0} MiB limit (OOM in about {left:.0} min)",
                        per_min / 1048576.0,
                        100.0 * last.memory_bytes / limit,
                        limit / 1048576.0
                    ))
                    .since(Some(t0))
                    .ev("metric", loc(), format!("memory {:.0} MiB → {:.0} MiB", first.memory_bytes / 1048576.0, last.memory_bytes / 1048576.0), Some(t1));
                h.via = vec![pref.clone()];
                out.push(h);
            }
        }
    }
    throttled_series(ctx, &at_limit, out);
}

/// A Prometheus range-query answer (resultType "matrix"), as the bundle keeps it.
#[derive(Deserialize)]
pub(crate) struct Matrix {
    pub data: MatrixData,
}

#[derive(Deserialize)]
pub(crate) struct MatrixData {
    #[serde(default)]
    pub result: Vec<Series>,
}

#[derive(Deserialize)]
pub(crate) struct Series {
    #[serde(default)]
    pub metric: BTreeMap<String, String>,
    #[serde(default)]
    pub values: Vec<(f64, String)>,
}

/// The throttled share of CFS periods from which a container counts as throttled: the
/// threshold of kube-prometheus' `CPUThrottlingHigh` alert.
const THROTTLED_RATIO: f64 = 0.25;
/// Fewer throttled periods per second than this is a burst now and then, not saturation
/// (one in twenty of the default 100 ms periods).
const MIN_THROTTLED_PER_SECOND: f64 = 0.5;
/// No per-second rate of CFS periods goes beyond this: the kernel's shortest period is
/// 1 ms. A series above it holds counts.
const MAX_PERIODS_PER_SECOND: f64 = 1000.0;

/// How a series was stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Shape {
    /// A raw counter: it only grows, except when it restarts from zero.
    Counter,
    /// A per-second rate (the stored convention).
    Rate,
    /// Cannot tell (flat, or too short): the other series of a pair, or the convention.
    Unknown,
}

/// Tells a raw counter from a rate by its shape. A counter never dips: it grows, stays,
/// or restarts from zero (to less than half of where it was), and restarts are rare. So
/// a dip, or many drops, is a rate. A series that only grows is a counter when it goes
/// beyond what any rate of it could be (`max_rate` per second), or grows in most steps (a
/// rate that climbs step after step is rare, a counter of a running container that does
/// not is); else it could be either.
pub(super) fn shape(values: &[f64], max_rate: f64) -> Shape {
    if values.len() < 3 {
        return Shape::Unknown;
    }
    let (mut rises, mut drops) = (0usize, 0usize);
    for w in values.windows(2) {
        if w[1] > w[0] {
            rises += 1;
        } else if w[1] < w[0] {
            if w[1] >= w[0] / 2.0 {
                return Shape::Rate;
            }
            drops += 1;
        }
    }
    if drops > 1 + rises / 10 {
        return Shape::Rate;
    }
    let max = values.iter().copied().fold(0.0, f64::max);
    if max > max_rate || rises * 2 >= values.len() - 1 {
        Shape::Counter
    } else {
        Shape::Unknown
    }
}

/// The per-second rates of a series stored as `shape` says: a rate's points as they are,
/// a counter's increase over each step divided by the step (a drop is a restart from
/// zero, as Prometheus' `rate` reads it), at the step's end.
pub(super) fn per_second(points: &[(i64, f64)], shape: Shape) -> Vec<(i64, f64)> {
    match shape {
        Shape::Counter => points
            .windows(2)
            .filter(|w| w[1].0 > w[0].0)
            .map(|w| {
                let grew = if w[1].1 >= w[0].1 {
                    w[1].1 - w[0].1
                } else {
                    w[1].1
                };
                (w[1].0, grew / (w[1].0 - w[0].0) as f64)
            })
            .collect(),
        Shape::Rate | Shape::Unknown => points.to_vec(),
    }
}

/// A series' points as numbers, in time order; points that are not finite numbers are
/// left out.
/// Times outside years 1970–9999 are not a capture's: left out, so that no arithmetic
/// on them can overflow.
pub(super) fn numbers(s: &Series) -> Vec<(i64, f64)> {
    const LAST: f64 = 253_402_300_799.0;
    let mut out: Vec<(i64, f64)> = s
        .values
        .iter()
        .filter_map(|(t, v)| {
            let v = v.parse::<f64>().ok()?;
            (t.is_finite() && (0.0..=LAST).contains(t) && v.is_finite()).then_some((*t as i64, v))
        })
        .collect();
    out.sort_by_key(|p| p.0);
    out.dedup_by_key(|p| p.0);
    out
}

/// A series' points: (epoch second, value).
type Points = Vec<(i64, f64)>;

/// Per-second rates of a pair of series stored alike (throttled and all periods of one
/// container): each by its own shape, or its partner's when its own cannot tell, or the
/// stored convention (rates) when neither can.
fn pair_rates(a: &[(i64, f64)], b: Option<&[(i64, f64)]>) -> (Points, Option<Points>) {
    let values = |p: &[(i64, f64)]| p.iter().map(|x| x.1).collect::<Vec<_>>();
    let sa = shape(&values(a), MAX_PERIODS_PER_SECOND);
    let sb = b.map(|b| shape(&values(b), MAX_PERIODS_PER_SECOND));
    let resolve = |own: Shape, other: Option<Shape>| match (own, other) {
        (Shape::Unknown, Some(o @ (Shape::Counter | Shape::Rate))) => o,
        (Shape::Unknown, _) => Shape::Rate,
        (own, _) => own,
    };
    let ra = per_second(a, resolve(sa, sb));
    let rb = b.zip(sb).map(|(b, s)| per_second(b, resolve(s, Some(sa))));
    (ra, rb)
}

type ContainerKey = (String, String, String);

/// Containers throttled in at least a quarter of their CFS periods from some point to the
/// end of the range: `container_cpu_cfs_throttled_periods_total` over
/// `container_cpu_cfs_periods_total` (the periods in which the container ran; without
/// that series, the 10 periods per second of the default 100 ms period), each a rate or a
/// counter. Several series of one container (a raw bundle's, one per instance): the
/// longest. Evidence joins the samples' hit on the same container when there is one
/// (`at_limit`: its index in `out`).
fn throttled_series(ctx: &Ctx, at_limit: &BTreeMap<ContainerKey, usize>, out: &mut Vec<Hit>) {
    const THROTTLED: &str = "container_cpu_cfs_throttled_periods_total";
    const PERIODS: &str = "container_cpu_cfs_periods_total";
    let matrix = |name: &str| -> Vec<Series> {
        ctx.snap
            .prometheus
            .get(name)
            .and_then(|raw| serde_json::from_str::<Matrix>(raw.get()).ok())
            .map(|m| m.data.result)
            .unwrap_or_default()
    };
    let key = |s: &Series| -> Option<ContainerKey> {
        Some((
            s.metric.get("namespace")?.clone(),
            s.metric.get("pod")?.clone(),
            s.metric.get("container").cloned().unwrap_or_default(),
        ))
    };
    let longest = |name: &str| {
        let mut by: BTreeMap<ContainerKey, Vec<(i64, f64)>> = BTreeMap::new();
        for s in matrix(name) {
            let Some(k) = key(&s) else { continue };
            let points = numbers(&s);
            let e = by.entry(k).or_default();
            if points.len() > e.len() {
                *e = points;
            }
        }
        by
    };
    let periods = longest(PERIODS);
    for (k, points) in longest(THROTTLED) {
        let (ns, pod, container) = &k;
        if !ctx.in_scope(ns) {
            continue;
        }
        let own_periods = periods.get(&k).map(Vec::as_slice);
        let (throttled, total) = pair_rates(&points, own_periods);
        let total: Option<BTreeMap<i64, f64>> = total.map(|t| t.into_iter().collect());
        // (time, throttled per second, periods per second)
        let joined: Vec<(i64, f64, f64)> = throttled
            .iter()
            .filter_map(|&(t, thr)| {
                let per = match &total {
                    Some(total) => *total.get(&t)?,
                    None => PERIODS_PER_SECOND,
                };
                Some((t, thr.max(0.0), per.max(thr).max(0.0)))
            })
            .collect();
        let high = |&(_, thr, per): &(i64, f64, f64)| {
            thr >= MIN_THROTTLED_PER_SECOND && per > 0.0 && thr / per >= THROTTLED_RATIO
        };
        let stretch = joined.iter().rev().take_while(|p| high(p)).count();
        if stretch < 2 {
            continue;
        }
        let since = &joined[joined.len() - stretch..];
        let onset = since[0].0;
        let (thr, per) = since
            .iter()
            .fold((0.0, 0.0), |(a, b), p| (a + p.1, b + p.2));
        let ratio = (thr / per).min(1.0);
        let n = since.len() as f64;
        let location = if total.is_some() {
            format!("prometheus {THROTTLED} / {PERIODS}")
        } else {
            format!("prometheus {THROTTLED}")
        };
        let text = format!(
            "pod={pod} container={container}: {:.0}% of CFS periods throttled since onset ({:.1} of {:.1} periods/s)",
            100.0 * ratio,
            thr / n,
            per / n
        );
        if let Some(h) = at_limit.get(&k).and_then(|&i| out.get_mut(i)) {
            // The same finding, seen by the samples: one hit, both pieces of evidence.
            h.evidence.push(Evidence {
                source: "metric".into(),
                location,
                text: super::clip(&intel_redact::scrub(&text), 300),
                at: Some(super::fmt_ts(onset)),
            });
            continue;
        }
        // Throttled in half its periods or more, a container lives at its limit, as one
        // the samples show at it; in a quarter to a half, it bursts into it
        // (kube-prometheus' `CPUThrottlingHigh`, at a quarter, is an `info` alert):
        // latency's tail, a warning, and as often the effect of more load per pod as a
        // cause of its own.
        let (severity, cause) = if ratio >= 0.5 {
            (Severity::Critical, 0.75)
        } else {
            (Severity::Warning, 0.5)
        };
        let pref = ObjectRef::new("Pod", ns, pod);
        let w = ctx.workload(&pref);
        let mut h = Hit::new(w, "CPUThrottling", severity, cause)
            .msg(format!(
                "{container} in {pod} is CPU-throttled in {:.0}% of its scheduling periods",
                100.0 * ratio
            ))
            .since(Some(onset))
            .ev("metric", location, text, Some(onset));
        h.via = vec![pref];
        out.push(h);
    }
}

/// One container's use over time from the bundle's Prometheus series: CPU in millicores
/// (`container_cpu_usage_seconds_total`, read as a rate however it was stored) and the
/// memory working set in bytes (`container_memory_working_set_bytes`), each in time order.
#[derive(Debug, Default, Clone)]
pub(crate) struct ContainerSeries {
    pub cpu_millis: Vec<(i64, f64)>,
    pub memory_bytes: Vec<(i64, f64)>,
}

/// No container uses more cores than this: a CPU series above it holds a raw counter.
const MAX_CORES: f64 = 4096.0;

/// Every container's [`ContainerSeries`], by (namespace, pod, container). Series without
/// those labels (a pod's cgroup total, the pause container) are left out.
pub(crate) fn container_series(
    snap: &intel_model::Snapshot,
) -> BTreeMap<(String, String, String), ContainerSeries> {
    let mut out: BTreeMap<(String, String, String), ContainerSeries> = BTreeMap::new();
    for (name, cpu) in [
        ("container_cpu_usage_seconds_total", true),
        ("container_memory_working_set_bytes", false),
    ] {
        let Some(raw) = snap.prometheus.get(name) else {
            continue;
        };
        let Ok(m) = serde_json::from_str::<Matrix>(raw.get()) else {
            continue;
        };
        for s in &m.data.result {
            let label = |k: &str| s.metric.get(k).filter(|v| !v.is_empty()).cloned();
            let (Some(ns), Some(pod), Some(container)) =
                (label("namespace"), label("pod"), label("container"))
            else {
                continue;
            };
            if container == "POD" {
                continue;
            }
            let points = numbers(s);
            let entry = out.entry((ns, pod, container)).or_default();
            if cpu {
                let values: Vec<f64> = points.iter().map(|p| p.1).collect();
                entry.cpu_millis = per_second(&points, shape(&values, MAX_CORES))
                    .into_iter()
                    .map(|(t, v)| (t, v * 1000.0))
                    .collect();
            } else {
                entry.memory_bytes = points;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use serde_json::value::RawValue;

    use super::{Ctx, Hit, MAX_PERIODS_PER_SECOND, Shape, detect, per_second, shape};
    use intel_engine::Relations;
    use intel_engine::relations::ObjectRef;
    use intel_fixture::snapshot_with_logs as snapshot;

    fn r(kind: &str, ns: &str, name: &str) -> ObjectRef {
        ObjectRef::new(kind, ns, name)
    }
    use intel_model::{MetricsSample, Snapshot};

    /// 2026-01-01T00:00:00Z, the test snapshots' capture time, minus 20 minutes.
    const T0: i64 = 1_767_225_600 - 1_200;

    fn pod() -> serde_json::Value {
        json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "web-1", "namespace": "a", "uid": "p1"},
            "spec": {"containers": [{"name": "app",
                "resources": {"limits": {"cpu": "500m"}}}]}})
    }

    /// A matrix of one series for a/web-1/app, a point a minute from `T0`.
    fn matrix(name: &str, values: &[f64]) -> Box<RawValue> {
        let values: Vec<serde_json::Value> = values
            .iter()
            .enumerate()
            .map(|(i, v)| json!([T0 + 60 * i as i64, format!("{v}")]))
            .collect();
        let body = json!({"status": "success", "data": {"resultType": "matrix", "result": [
            {"metric": {"__name__": name, "namespace": "a", "pod": "web-1", "container": "app"},
             "values": values}]}});
        RawValue::from_string(body.to_string()).unwrap()
    }

    fn with_series(mut snap: Snapshot, throttled: &[f64], periods: Option<&[f64]>) -> Snapshot {
        snap.prometheus.insert(
            "container_cpu_cfs_throttled_periods_total".into(),
            matrix("container_cpu_cfs_throttled_periods_total", throttled),
        );
        if let Some(p) = periods {
            snap.prometheus.insert(
                "container_cpu_cfs_periods_total".into(),
                matrix("container_cpu_cfs_periods_total", p),
            );
        }
        snap
    }

    fn hits(snap: &Snapshot) -> Vec<Hit> {
        let rel = Relations::build(snap);
        let ctx = Ctx::new(snap, &rel, vec![], None);
        let mut out = Vec::new();
        detect(&ctx, &mut out);
        out
    }

    /// Per-second rates a minute apart: `before` for 10 minutes, then `after` for 10,
    /// with a little noise, as `rate()` gives them.
    fn rates(before: f64, after: f64) -> Vec<f64> {
        (0..=20)
            .map(|i| {
                let v = if i <= 10 { before } else { after };
                v * (1.0 + [0.0, 0.01, -0.01, 0.02][i % 4])
            })
            .collect()
    }

    /// The counter whose per-minute increases are `rates` × 60, from `start`.
    fn counter(start: f64, rates: &[f64]) -> Vec<f64> {
        let mut v = start;
        let mut out = vec![v];
        for r in &rates[1..] {
            v += r * 60.0;
            out.push(v);
        }
        out
    }

    #[test]
    fn counters_and_rates_are_told_apart() {
        let noisy_rate = rates(0.2, 6.0);
        assert_eq!(shape(&noisy_rate, MAX_PERIODS_PER_SECOND), Shape::Rate);
        assert_eq!(
            shape(&counter(50_000.0, &noisy_rate), MAX_PERIODS_PER_SECOND),
            Shape::Counter
        );
        // A young container's counter grows in every step, even below any rate's ceiling.
        assert_eq!(
            shape(&[0.0, 12.0, 30.0, 41.0, 60.0], MAX_PERIODS_PER_SECOND),
            Shape::Counter
        );
        // A restart (from zero) keeps a counter a counter; a dip makes a rate.
        let mut restarted = counter(50_000.0, &noisy_rate);
        restarted[12] = 300.0;
        for v in &mut restarted[13..] {
            *v -= 50_000.0 + 600.0;
        }
        assert_eq!(shape(&restarted, MAX_PERIODS_PER_SECOND), Shape::Counter);
        assert_eq!(
            shape(&[5.0, 5.5, 5.2, 6.0], MAX_PERIODS_PER_SECOND),
            Shape::Rate
        );
        // Flat, a single step up, or too short: either.
        assert_eq!(shape(&[10.0; 8], MAX_PERIODS_PER_SECOND), Shape::Unknown);
        assert_eq!(
            shape(
                &[0.0, 0.0, 0.0, 0.0, 10.0, 10.0, 10.0],
                MAX_PERIODS_PER_SECOND
            ),
            Shape::Unknown
        );
        assert_eq!(shape(&[1.0, 2.0], MAX_PERIODS_PER_SECOND), Shape::Unknown);
        // A counter's rates: increases per second, a restart counted from zero.
        assert_eq!(
            per_second(&[(0, 100.0), (60, 160.0), (120, 30.0)], Shape::Counter),
            vec![(60, 1.0), (120, 0.5)]
        );
        assert_eq!(
            per_second(&[(0, 1.5), (60, 2.0)], Shape::Rate),
            vec![(0, 1.5), (60, 2.0)]
        );
    }

    /// The same throttling (6 of 10 periods per second from ten minutes before the end)
    /// stored as raw counters and as rates: one finding, the same numbers, the same onset
    /// but for a counter's first step.
    #[test]
    fn throttling_fires_on_counters_and_on_the_equivalent_rates() {
        let throttled = rates(0.2, 6.0);
        let periods = rates(10.0, 10.0);
        let as_rates = hits(&with_series(
            snapshot(vec![pod()], vec![]),
            &throttled,
            Some(&periods),
        ));
        let as_counters = hits(&with_series(
            snapshot(vec![pod()], vec![]),
            &counter(50_000.0, &throttled),
            Some(&counter(1_000_000.0, &periods)),
        ));
        for found in [&as_rates, &as_counters] {
            assert_eq!(found.len(), 1, "{found:#?}");
            let h = &found[0];
            assert_eq!(h.kind, "CPUThrottling");
            assert_eq!(h.subject, r("Pod", "a", "web-1"));
            assert_eq!(h.since, Some(T0 + 11 * 60), "{h:#?}");
            assert!(h.message.contains("throttled in 60%"), "{}", h.message);
            assert_eq!(
                h.evidence[0].location,
                "prometheus container_cpu_cfs_throttled_periods_total / container_cpu_cfs_periods_total"
            );
        }
        assert_eq!(as_rates[0].evidence, as_counters[0].evidence);
        // Without the periods series, the default period's 10 per second stand in.
        let alone = hits(&with_series(
            snapshot(vec![pod()], vec![]),
            &counter(50_000.0, &throttled),
            None,
        ));
        assert_eq!(alone.len(), 1, "{alone:#?}");
        assert!(
            alone[0].message.contains("throttled in 60%"),
            "{}",
            alone[0].message
        );
        // A rate read as a counter (the old reading) finds nothing: once throttled, the
        // rate barely changes, far from the 2.5 periods/s a quarter of ten takes.
        assert!(
            per_second(
                &throttled
                    .iter()
                    .enumerate()
                    .map(|(i, v)| (i as i64 * 60, *v))
                    .collect::<Vec<_>>(),
                Shape::Counter
            )[12..]
                .iter()
                .all(|(_, r)| *r < 0.5)
        );
    }

    /// Near misses: throttled in a tenth of the periods; throttled in most periods of a
    /// container that hardly runs; throttled once, long ago, in a counter that stays.
    #[test]
    fn throttling_does_not_fire_on_near_misses() {
        let low = rates(0.2, 1.0);
        let periods = rates(10.0, 10.0);
        for (throttled, total) in [
            (low.clone(), periods.clone()),
            (counter(50_000.0, &low), counter(1_000_000.0, &periods)),
            (rates(0.0, 0.4), rates(1.0, 1.0)),
            (vec![50_000.0; 21], counter(1_000_000.0, &periods)),
        ] {
            let found = hits(&with_series(
                snapshot(vec![pod()], vec![]),
                &throttled,
                Some(&total),
            ));
            assert!(found.is_empty(), "{throttled:?}: {found:#?}");
        }
    }

    /// A container the samples already show at its limit gets one finding, with the
    /// Prometheus evidence beside the samples'.
    #[test]
    fn prometheus_evidence_joins_the_samples_finding() {
        let mut snap = snapshot(vec![pod()], vec![]);
        for m in 0..3 {
            let time = format!("2026-01-01T00:0{m}:00Z");
            let pods = json!({"kind": "PodMetricsList", "apiVersion": "metrics.k8s.io/v1beta1",
                "items": [{"metadata": {"name": "web-1", "namespace": "a"}, "timestamp": time,
                    "window": "30s", "containers": [{"name": "app",
                        "usage": {"cpu": "495000000n", "memory": "104857600"}}]}]});
            snap.metrics.push(MetricsSample {
                time,
                nodes: None,
                pods: Some(RawValue::from_string(pods.to_string()).unwrap()),
            });
        }
        let found = hits(&with_series(
            snap,
            &rates(0.2, 6.0),
            Some(&rates(10.0, 10.0)),
        ));
        assert_eq!(found.len(), 1, "{found:#?}");
        assert_eq!(found[0].evidence.len(), 2, "{:#?}", found[0].evidence);
        assert!(found[0].evidence[0].location.starts_with("metrics.k8s.io"));
        assert!(found[0].evidence[1].location.starts_with("prometheus"));
    }
}
