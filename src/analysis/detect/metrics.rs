//! Saturation from metrics: containers at their CPU limit or throttled (metrics.k8s.io
//! usage against limits; Prometheus `container_cpu_cfs_throttled_periods_total` when
//! captured), and memory climbing toward its limit (a leak's slope).

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{Ctx, Hit, parse_ts};
use crate::analysis::report::Severity;
use crate::engine::ObjectRef;
use crate::model::quantity;

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
    throttled_series(ctx, out);
}

/// A Prometheus range-query answer (resultType "matrix"), as the bundle keeps it.
#[derive(Deserialize)]
pub(super) struct Matrix {
    pub data: MatrixData,
}

#[derive(Deserialize)]
pub(super) struct MatrixData {
    #[serde(default)]
    pub result: Vec<Series>,
}

#[derive(Deserialize)]
pub(super) struct Series {
    #[serde(default)]
    pub metric: BTreeMap<String, String>,
    #[serde(default)]
    pub values: Vec<(f64, String)>,
}

/// Containers throttled in more than a quarter of their CFS periods over the range.
fn throttled_series(ctx: &Ctx, out: &mut Vec<Hit>) {
    let Some(raw) = ctx
        .snap
        .prometheus
        .get("container_cpu_cfs_throttled_periods_total")
    else {
        return;
    };
    let Ok(m) = serde_json::from_str::<Matrix>(raw.get()) else {
        return;
    };
    for s in m.data.result {
        let (Some(ns), Some(pod)) = (s.metric.get("namespace"), s.metric.get("pod")) else {
            continue;
        };
        if !ctx.in_scope(ns) || s.values.len() < 2 {
            continue;
        }
        let val = |i: usize| s.values[i].1.parse::<f64>().unwrap_or(0.0);
        let n = s.values.len();
        // The onset: the first point from which the rate stays high.
        let mut onset = None;
        for i in 1..n {
            let dt = (s.values[i].0 - s.values[i - 1].0).max(1.0);
            let ratio = (val(i) - val(i - 1)).max(0.0) / dt / PERIODS_PER_SECOND;
            if ratio >= 0.25 {
                onset.get_or_insert(s.values[i - 1].0 as i64);
            } else {
                onset = None;
            }
        }
        let Some(onset) = onset else { continue };
        let dt = (s.values[n - 1].0 - onset as f64).max(1.0);
        let start = s
            .values
            .iter()
            .position(|v| v.0 as i64 == onset)
            .unwrap_or(0);
        let ratio = (val(n - 1) - val(start)).max(0.0) / dt / PERIODS_PER_SECOND;
        let pref = ObjectRef::new("Pod", ns, pod);
        let w = ctx.workload(&pref);
        let container = s.metric.get("container").cloned().unwrap_or_default();
        let mut h = Hit::new(w, "CPUThrottling", Severity::Critical, 0.75)
            .msg(format!(
                "{container} in {pod} is CPU-throttled in {:.0}% of its scheduling periods",
                100.0 * ratio.min(1.0)
            ))
            .since(Some(onset))
            .ev(
                "metric",
                "prometheus container_cpu_cfs_throttled_periods_total",
                format!(
                    "pod={pod} container={container}: {:.0}% of periods throttled since onset",
                    100.0 * ratio.min(1.0)
                ),
                Some(onset),
            );
        h.via = vec![pref];
        out.push(h);
    }
}
