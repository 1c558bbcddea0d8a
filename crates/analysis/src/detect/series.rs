//! Application and node series a bundle's Prometheus answers may hold beyond the
//! container basics: request latency (a histogram's buckets, a summary's sum and count, or
//! a quantile already computed), request and error rates (a request counter with a status
//! label), and node TCP retransmissions. Each series is joined to a workload by its labels
//! (`namespace` + `pod`, Istio's `destination_workload`, or a Service, Deployment or app
//! name), counters read as rates whichever way they were stored (`metrics::shape`).
//!
//! Findings: `LatencyIncrease` and `ErrorRateIncrease` on the workload (symptoms, weak as
//! causes: [`latency_origin`] decides which slow workload is slow on its own), and
//! `NodeNetworkDegraded` on a node whose retransmissions stepped up.

use std::collections::BTreeMap;

use super::load::{change_point, step_above};
use super::metrics::{Matrix, Series, Shape, numbers, per_second, shape};
use super::{Ctx, Hit, fmt_ts, human_duration};
use crate::report::Severity;
use intel_engine::ObjectRef;

/// A latency step counts from this ratio (after / before, medians) and this level after.
const LATENCY_STEP: f64 = 2.0;
const LATENCY_FLOOR: f64 = 0.05;
/// An error ratio counts when it rises from under `ERRORS_BEFORE` to at least
/// `ERRORS_AFTER` (medians), critical from `ERRORS_CRITICAL`.
const ERRORS_BEFORE: f64 = 0.01;
const ERRORS_AFTER: f64 = 0.05;
const ERRORS_CRITICAL: f64 = 0.2;
/// Callee and caller slowdowns this close belong to one cascade.
const TOGETHER: i64 = 5 * 60;

type Points = Vec<(i64, f64)>;
/// A histogram's buckets by upper bound (its bits, for ordering in a map): the bound and
/// the summed rate at each time.
type Buckets = BTreeMap<u64, (f64, BTreeMap<i64, f64>)>;

pub(super) fn detect(ctx: &Ctx, out: &mut Vec<Hit>) {
    let mut latency: BTreeMap<ObjectRef, (String, Vec<Points>)> = BTreeMap::new();
    let mut requests: BTreeMap<ObjectRef, (String, BTreeMap<bool, Vec<Points>>)> = BTreeMap::new();
    for (name, raw) in &ctx.snap.prometheus {
        let Ok(m) = serde_json::from_str::<Matrix>(raw.get()) else {
            continue;
        };
        if name == "node_netstat_Tcp_RetransSegs" {
            retransmits(ctx, name, &m.data.result, out);
            continue;
        }
        let lower = name.to_ascii_lowercase();
        // A client's view of its calls (client-go's `rest_client_…`, Micrometer's
        // `http_client_…`) is about the servers it calls, not the workload it runs in.
        if lower.contains("client") {
            continue;
        }
        // A stored quantile (capture's `<histogram>_p90`) is a latency whatever its name.
        let is_latency =
            (lower.contains("duration") || lower.contains("latency") || lower.ends_with("_p90"))
                && !lower.ends_with("_count")
                && !lower.ends_with("_sum");
        let is_requests = !is_latency
            && (lower.ends_with("requests_total")
                || lower.ends_with("_requests_count")
                || lower.ends_with("_seconds_count") && lower.contains("request"));
        if is_latency {
            for (w, points) in latency_series(ctx, &lower, &m.data.result) {
                let e = latency
                    .entry(w)
                    .or_insert_with(|| (name.clone(), Vec::new()));
                e.1.push(points);
            }
        } else if is_requests {
            // One shape for the whole metric: a status code seen once stays flat, but it
            // is a counter like the others.
            let counter = m.data.result.iter().any(|s| {
                let v: Vec<f64> = numbers(s).iter().map(|p| p.1).collect();
                shape(&v, 1e6) == Shape::Counter
            });
            let sh = if counter { Shape::Counter } else { Shape::Rate };
            for s in &m.data.result {
                let Some(w) = workload_of_labels(ctx, &s.metric) else {
                    continue;
                };
                let points = per_second(&numbers(s), sh);
                let failed = is_server_error(&s.metric);
                let e = requests
                    .entry(w)
                    .or_insert_with(|| (name.clone(), BTreeMap::new()));
                e.1.entry(failed).or_default().push(points);
            }
        }
    }
    for (w, (name, series)) in latency {
        if !ctx.in_scope(&w.namespace) {
            continue;
        }
        let points = combine(&series, f64::max);
        let Some(s) = step_above(&points, 0.0) else {
            continue;
        };
        if s.ratio() < LATENCY_STEP || s.after < LATENCY_FLOOR {
            continue;
        }
        let sev = if s.ratio() >= 5.0 && s.after >= 0.5 {
            Severity::Critical
        } else {
            Severity::Warning
        };
        out.push(
            Hit::new(w.clone(), "LatencyIncrease", sev, 0.15)
                .msg(format!(
                    "{}'s requests take {} since {}, {:.1}x the {} before",
                    w.name,
                    seconds(s.after),
                    fmt_ts(s.onset),
                    s.ratio(),
                    seconds(s.before)
                ))
                .since(Some(s.onset))
                .ev(
                    "metric",
                    format!("prometheus {name}"),
                    format!(
                        "median {} before, {} after",
                        seconds(s.before),
                        seconds(s.after)
                    ),
                    Some(s.onset),
                ),
        );
    }
    for (w, (name, by_status)) in requests {
        if !ctx.in_scope(&w.namespace) {
            continue;
        }
        let all: Vec<Points> = by_status.values().flatten().cloned().collect();
        let total = combine(&all, |a, b| a + b);
        let failed = by_status
            .get(&true)
            .map(|f| combine(f, |a, b| a + b))
            .unwrap_or_default();
        let ratio: Points = total
            .iter()
            .filter(|(_, t)| *t > 0.0)
            .map(|(at, t)| {
                let f = failed
                    .binary_search_by_key(at, |p| p.0)
                    .map(|i| failed[i].1)
                    .unwrap_or(0.0);
                (*at, f / t)
            })
            .collect();
        if let Some((onset, before, after)) = error_step(&ratio) {
            let sev = if after >= ERRORS_CRITICAL {
                Severity::Critical
            } else {
                Severity::Warning
            };
            out.push(
                Hit::new(w.clone(), "ErrorRateIncrease", sev, 0.2)
                    .msg(format!(
                        "{} fails {:.0}% of its requests since {} ({:.1}% before)",
                        w.name,
                        after * 100.0,
                        fmt_ts(onset),
                        before * 100.0
                    ))
                    .since(Some(onset))
                    .ev(
                        "metric",
                        format!("prometheus {name}"),
                        format!(
                            "5xx share {:.1}% before, {:.1}% after",
                            before * 100.0,
                            after * 100.0
                        ),
                        Some(onset),
                    ),
            );
        }
    }
}

/// Latency points per workload of one metric: a quantile as stored, a histogram's buckets
/// (the 90th percentile of each step, from the buckets' rates), or a summary's mean.
fn latency_series(ctx: &Ctx, lower: &str, result: &[Series]) -> Vec<(ObjectRef, Points)> {
    let base = lower
        .trim_end_matches("_bucket")
        .trim_end_matches("_sum")
        .trim_end_matches("_count");
    let scale = if base.contains("milli") || base.ends_with("_ms") {
        0.001
    } else {
        1.0
    };
    let mut out = Vec::new();
    if lower.ends_with("_bucket") {
        // Buckets are counters (stored raw, or as rates): the metric's `+Inf` buckets,
        // which grow whenever a request is served, tell which, for all of them.
        let counter = result.iter().any(|s| {
            s.metric.get("le").and_then(|l| parse_le(l)) == Some(f64::INFINITY) && {
                let v: Vec<f64> = numbers(s).iter().map(|p| p.1).collect();
                shape(&v, 1e6) != Shape::Rate
            }
        });
        let sh = if counter { Shape::Counter } else { Shape::Rate };
        // Summed per workload and bound, as `histogram_quantile(0.9, sum by (le) (…))`:
        // one rarely used slow path does not make the workload slow.
        let mut groups: BTreeMap<ObjectRef, Buckets> = BTreeMap::new();
        for s in result {
            let Some(le) = s.metric.get("le").and_then(|l| parse_le(l)) else {
                continue;
            };
            let Some(w) = workload_of_labels(ctx, &s.metric) else {
                continue;
            };
            let bucket = groups
                .entry(w)
                .or_default()
                .entry(le.to_bits())
                .or_insert((le, BTreeMap::new()));
            for (t, v) in per_second(&numbers(s), sh) {
                *bucket.1.entry(t).or_default() += v;
            }
        }
        for (w, by_le) in groups {
            let mut buckets: Vec<(f64, Points)> = by_le
                .into_values()
                .map(|(le, pts)| (le, pts.into_iter().collect()))
                .collect();
            buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
            let points = quantile_points(&buckets, 0.9)
                .into_iter()
                .map(|(t, v)| (t, v * scale))
                .collect();
            out.push((w, points));
        }
    } else {
        for s in result {
            if s.metric.contains_key("le") {
                continue;
            }
            if let Some(q) = s.metric.get("quantile") {
                if q != "0.9" && q != "0.95" && q != "0.99" {
                    continue;
                }
            }
            let Some(w) = workload_of_labels(ctx, &s.metric) else {
                continue;
            };
            let points = numbers(s)
                .into_iter()
                .map(|(t, v)| (t, v * scale))
                .collect();
            out.push((w, points));
        }
    }
    out
}

/// `histogram_quantile` over cumulative bucket rates sorted by upper bound, per step:
/// linear within the bucket the rank falls in; the last finite bound when it falls in
/// `+Inf`.
fn quantile_points(buckets: &[(f64, Points)], q: f64) -> Points {
    let Some((_, first)) = buckets.first() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (t, _) in first {
        let counts: Vec<(f64, f64)> = buckets
            .iter()
            .filter_map(|(le, pts)| {
                let i = pts.binary_search_by_key(t, |p| p.0).ok()?;
                Some((*le, pts[i].1))
            })
            .collect();
        let Some(&(_, total)) = counts.last() else {
            continue;
        };
        if total <= 0.0 {
            continue;
        }
        let rank = q * total;
        let (mut lo_bound, mut lo_count) = (0.0, 0.0);
        for (le, c) in &counts {
            if *c >= rank {
                let v = if le.is_infinite() {
                    lo_bound
                } else if c - lo_count <= 0.0 {
                    *le
                } else {
                    lo_bound + (le - lo_bound) * (rank - lo_count) / (c - lo_count)
                };
                out.push((*t, v));
                break;
            }
            (lo_bound, lo_count) = (*le, *c);
        }
    }
    out
}

fn parse_le(le: &str) -> Option<f64> {
    match le {
        "+Inf" | "Inf" | "inf" => Some(f64::INFINITY),
        _ => le.parse().ok(),
    }
}

/// Per-second rates of a counter, however it was stored.
fn rates(points: &[(i64, f64)]) -> Points {
    let values: Vec<f64> = points.iter().map(|p| p.1).collect();
    let sh = match shape(&values, 1e6) {
        Shape::Unknown => Shape::Rate,
        s => s,
    };
    per_second(points, sh)
}

/// Several series of one workload merged per timestamp with `f`.
fn combine(series: &[Points], f: impl Fn(f64, f64) -> f64) -> Points {
    let mut at: BTreeMap<i64, f64> = BTreeMap::new();
    for s in series {
        for (t, v) in s {
            at.entry(*t).and_modify(|x| *x = f(*x, *v)).or_insert(*v);
        }
    }
    at.into_iter().collect()
}

/// An error ratio that rose and stayed: (onset, median before, median after).
fn error_step(points: &[(i64, f64)]) -> Option<(i64, f64, f64)> {
    let (i, before, after) = change_point(points)?;
    (before < ERRORS_BEFORE && after >= ERRORS_AFTER).then(|| (points[i].0, before, after))
}

/// Whether a request series counts server errors: a 5xx status label, or Micrometer's
/// `outcome="SERVER_ERROR"`.
fn is_server_error(labels: &BTreeMap<String, String>) -> bool {
    for key in [
        "code",
        "status",
        "status_code",
        "response_code",
        "http_status",
    ] {
        if let Some(v) = labels.get(key) {
            return v.starts_with('5');
        }
    }
    labels.get("outcome").is_some_and(|o| o == "SERVER_ERROR")
}

/// The workload a series is about, from its labels: the pod (`namespace` and `pod`), an
/// Istio destination workload, or a Service, Deployment or app of that name.
pub(super) fn workload_of_labels(
    ctx: &Ctx,
    labels: &BTreeMap<String, String>,
) -> Option<ObjectRef> {
    let get = |keys: &[&str]| keys.iter().find_map(|k| labels.get(*k)).cloned();
    if labels.get("reporter").is_some_and(|r| r == "source") {
        return None;
    }
    let index = ctx.snap.index();
    // A proxy's series about its backends (ingress-nginx scraped by kube-prometheus:
    // `exported_namespace`/`exported_service`, or its own `service` label beside the
    // controller's `pod`): the backend's, never the proxy's.
    if let (Some(ns), Some(svc)) = (
        labels.get("exported_namespace"),
        labels.get("exported_service"),
    ) {
        return backend(ctx, ns, svc);
    }
    let ns = get(&[
        "destination_workload_namespace",
        "namespace",
        "kubernetes_namespace",
    ])?;
    if labels.contains_key("ingress") {
        return backend(ctx, &ns, labels.get("service")?);
    }
    if let Some(pod) = get(&["pod", "kubernetes_pod_name", "pod_name"]) {
        // Pods replaced since keep their series: their workload by name (`Ctx::workload`).
        let w = ctx.workload(&ObjectRef::new("Pod", &ns, &pod));
        if w.kind != "Pod" || !index.by_name("Pod", &ns, &pod).is_empty() {
            return Some(w);
        }
    }
    let name = get(&[
        "destination_workload",
        "deployment",
        "workload",
        "service",
        "destination_service_name",
        "app",
        "application",
    ])?;
    for kind in ["Deployment", "StatefulSet", "DaemonSet"] {
        if !index.by_name(kind, &ns, &name).is_empty() {
            return Some(ObjectRef::new(kind, &ns, &name));
        }
    }
    backend(ctx, &ns, &name)
}

/// The workload behind a Service.
fn backend(ctx: &Ctx, ns: &str, service: &str) -> Option<ObjectRef> {
    let svc = ObjectRef::new("Service", ns, service);
    ctx.rel
        .service_map()
        .node(&svc)
        .and_then(|n| n.service_for.clone())
}

/// Node TCP retransmissions that stepped up: the network under the node degraded.
fn retransmits(ctx: &Ctx, name: &str, result: &[Series], out: &mut Vec<Hit>) {
    // Segments sent, per instance: retransmits are judged as a share of them, so that more
    // traffic alone is no degradation.
    let sent: BTreeMap<String, Points> = ctx
        .snap
        .prometheus
        .get("node_netstat_Tcp_OutSegs")
        .and_then(|raw| serde_json::from_str::<Matrix>(raw.get()).ok())
        .map(|m| {
            m.data
                .result
                .iter()
                .filter_map(|s| Some((s.metric.get("instance")?.clone(), rates(&numbers(s)))))
                .collect()
        })
        .unwrap_or_default();
    for s in result {
        let Some(node) = node_of_labels(ctx, &s.metric) else {
            continue;
        };
        let points = rates(&numbers(s));
        let share = s
            .metric
            .get("instance")
            .and_then(|i| sent.get(i))
            .map(|out| {
                points
                    .iter()
                    .filter_map(|(t, r)| {
                        let i = out.binary_search_by_key(t, |p| p.0).ok()?;
                        (out[i].1 > 0.0).then(|| (*t, r / out[i].1))
                    })
                    .collect::<Points>()
            });
        let st = match &share {
            // At least 1% of segments retransmitted after the step.
            Some(share) => {
                step_above(share, 0.0).filter(|st| st.ratio() >= 3.0 && st.after >= 0.01)
            }
            // Without the segments sent, only a large absolute step.
            None => step_above(&points, 0.0).filter(|st| st.ratio() >= 3.0 && st.after >= 10.0),
        };
        let Some(st) = st else { continue };
        let unit = |v: f64| {
            if share.is_some() {
                format!("{:.1}% of its TCP segments", v * 100.0)
            } else {
                format!("{v:.0} TCP segments a second")
            }
        };
        out.push(
            Hit::new(node.clone(), "NodeNetworkDegraded", Severity::Warning, 0.6)
                .msg(format!(
                    "node {} retransmits {} since {} ({} ago), {:.1}x before",
                    node.name,
                    unit(st.after),
                    fmt_ts(st.onset),
                    human_duration(ctx.now.saturating_sub(st.onset)),
                    st.ratio()
                ))
                .since(Some(st.onset))
                .ev(
                    "metric",
                    format!("prometheus {name}"),
                    format!("{} before, {} after", unit(st.before), unit(st.after)),
                    Some(st.onset),
                ),
        );
    }
}

/// The node a node-exporter series is about: `node`/`kubernetes_node` labels, or its
/// `instance` address (`10.0.1.5:9100`) matched against the nodes' addresses.
fn node_of_labels(ctx: &Ctx, labels: &BTreeMap<String, String>) -> Option<ObjectRef> {
    let index = ctx.snap.index();
    for key in ["node", "kubernetes_node", "nodename"] {
        if let Some(n) = labels.get(key) {
            if !index.by_name("Node", "", n).is_empty() {
                return Some(ObjectRef::new("Node", "", n));
            }
        }
    }
    let instance = labels.get("instance")?;
    let host = instance
        .rsplit_once(':')
        .map(|(h, _)| h)
        .unwrap_or(instance);
    ctx.snap.nodes().iter().find_map(|n| {
        let v = n.value();
        let addresses = v.pointer("/status/addresses")?.as_array()?;
        addresses
            .iter()
            .any(|a| a.get("address").and_then(|x| x.as_str()) == Some(host))
            .then(|| ObjectRef::of(n))
    })
}

fn seconds(v: f64) -> String {
    if v >= 1.0 {
        format!("{v:.2} s")
    } else {
        format!("{:.0} ms", v * 1000.0)
    }
}

/// Latency cascades: a slow workload whose callees also slowed, no later than it, is an
/// effect; one whose callees stayed flat, and that nothing else explains
/// (more load, saturation, an autoscaler at its ceiling, its own failures), is slow on its
/// own and a cause in itself — the deepest slow workload of the cascade. Runs after the
/// other detectors.
pub(super) fn latency_origin(ctx: &Ctx, hits: &mut [Hit]) {
    let map = ctx.rel.service_map();
    // Current trouble per workload: the earliest onset of a warning-or-worse hit.
    let mut trouble: BTreeMap<ObjectRef, i64> = BTreeMap::new();
    for h in hits.iter() {
        if h.severity >= Severity::Warning && h.resolved.is_none() {
            if let Some(t) = h.since {
                let e = trouble.entry(h.subject.clone()).or_insert(t);
                *e = (*e).min(t);
            }
        }
    }
    // What else, on the workload or on what scales or hosts it, explains a slowdown: load,
    // saturation, its own failures.
    let mut explained: BTreeMap<ObjectRef, ()> = BTreeMap::new();
    for h in hits.iter() {
        if h.severity < Severity::Warning || h.resolved.is_some() {
            continue;
        }
        if matches!(
            h.kind,
            "LatencyIncrease"
                | "ErrorRateIncrease"
                | "HTTP5xx"
                | "LogErrors"
                | "LogWarnings"
                | "UpstreamErrors"
                | "SlowOperations"
        ) {
            continue;
        }
        explained.insert(h.subject.clone(), ());
        // An autoscaler at its ceiling, a saturated node: explains what it scales or hosts.
        for r in ctx.rel.from(&h.subject) {
            explained.insert((*r.to).clone(), ());
        }
        for r in ctx.rel.to(&h.subject) {
            explained.insert((*r.from).clone(), ());
        }
    }
    for h in hits.iter_mut() {
        if h.kind != "LatencyIncrease" || h.severity < Severity::Warning {
            continue;
        }
        let Some(since) = h.since else { continue };
        let callees: Vec<ObjectRef> = map.depends_on(&h.subject).into_iter().cloned().collect();
        // A callee slowed first (within half an hour before, or together): this one only
        // waits for it (and stays a weak cause).
        if callees.iter().any(|c| {
            trouble
                .get(c)
                .is_some_and(|t| *t <= since + TOGETHER && *t >= since - 6 * TOGETHER)
        }) {
            continue;
        }
        if explained.contains_key(&h.subject) {
            continue;
        }
        let names = callees
            .iter()
            .map(|c| c.name.clone())
            .collect::<Vec<_>>()
            .join(", ");
        h.cause = 0.7;
        h.message = if callees.is_empty() {
            format!(
                "{}; it calls nothing that could slow it: it is slow on its own",
                h.message
            )
        } else {
            format!(
                "{}; what it calls ({names}) shows no trouble: it is slow on its own",
                h.message
            )
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    const NOW: &str = "2026-10-03T09:30:00Z";

    /// A matrix answer of these series, one point a minute ending at `NOW`.
    fn matrix(series: &[(Value, Vec<f64>)]) -> Box<serde_json::value::RawValue> {
        let end: i64 = NOW.parse::<jiff::Timestamp>().unwrap().as_second();
        let result: Vec<Value> = series
            .iter()
            .map(|(labels, values)| {
                let n = values.len() as i64;
                let points: Vec<Value> = values
                    .iter()
                    .enumerate()
                    .map(|(i, v)| json!([end - (n - 1 - i as i64) * 60, v.to_string()]))
                    .collect();
                json!({"metric": labels, "values": points})
            })
            .collect();
        serde_json::value::to_raw_value(
            &json!({"status": "success", "data": {"resultType": "matrix", "result": result}}),
        )
        .unwrap()
    }

    /// The findings of `detect` on a Deployment `api` (one pod) and a node `n1`
    /// (10.0.0.5), with these Prometheus answers.
    fn findings(prometheus: Vec<(&str, Box<serde_json::value::RawValue>)>) -> Vec<Hit> {
        let objects = vec![
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "api", "namespace": "prod", "uid": "d1"},
                "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "api"}}, "template": {"metadata": {"labels": {"app": "api"}}, "spec": {"containers": [{"name": "api", "image": "x"}]}}}}),
            json!({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "api-5d8f7c9b4", "namespace": "prod", "uid": "r1",
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "api", "uid": "d1", "controller": true}]},
                "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "api"}}, "template": {"metadata": {"labels": {"app": "api"}}, "spec": {"containers": [{"name": "api", "image": "x"}]}}}}),
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "api-5d8f7c9b4-x7k2p", "namespace": "prod", "uid": "p1", "labels": {"app": "api"},
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "api-5d8f7c9b4", "uid": "r1", "controller": true}]},
                "spec": {"nodeName": "n1", "containers": [{"name": "api", "image": "x"}]}, "status": {"phase": "Running"}}),
            json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1", "uid": "n1"},
                "status": {"addresses": [{"type": "InternalIP", "address": "10.0.0.5"}]}}),
        ];
        let mut snap = intel_fixture::snapshot_of(NOW, objects);
        for (name, raw) in prometheus {
            snap.prometheus.insert(name.to_string(), raw);
        }
        let rel = intel_engine::Relations::build(&snap);
        let ctx = Ctx::new(&snap, &rel, vec![], None);
        let mut out = Vec::new();
        detect(&ctx, &mut out);
        out
    }

    /// Per-second rates: `before` for 15 minutes, then `after`.
    fn stepped(before: f64, after: f64) -> Vec<f64> {
        (0..30)
            .map(|m| if m < 15 { before } else { after })
            .collect()
    }

    #[test]
    fn a_rising_share_of_server_errors_is_found_and_a_steady_one_is_not() {
        let pod = json!({"namespace": "prod", "pod": "api-5d8f7c9b4-x7k2p", "code": "200"});
        let failed = json!({"namespace": "prod", "pod": "api-5d8f7c9b4-x7k2p", "code": "503"});
        let rising = matrix(&[
            (pod.clone(), vec![100.0; 30]),
            (failed.clone(), stepped(0.0, 30.0)),
        ]);
        let h = findings(vec![("http_requests_total", rising)]);
        assert!(
            h.iter()
                .any(|h| h.kind == "ErrorRateIncrease" && h.subject.name == "api"),
            "{h:#?}"
        );
        // 3% of requests failing all along: a steady state, not a change.
        let steady = matrix(&[(pod, vec![100.0; 30]), (failed, vec![3.0; 30])]);
        assert!(findings(vec![("http_requests_total", steady)]).is_empty());
    }

    #[test]
    fn retransmits_count_as_a_share_of_segments_sent() {
        let node = json!({"instance": "10.0.0.5:9100"});
        // Retransmits up thirtyfold while traffic stays: the network degraded.
        let h = findings(vec![
            (
                "node_netstat_Tcp_RetransSegs",
                matrix(&[(node.clone(), stepped(2.0, 60.0))]),
            ),
            (
                "node_netstat_Tcp_OutSegs",
                matrix(&[(node.clone(), vec![2000.0; 30])]),
            ),
        ]);
        assert!(
            h.iter()
                .any(|h| h.kind == "NodeNetworkDegraded" && h.subject.name == "n1"),
            "{h:#?}"
        );
        // Retransmits up as much as the traffic: the share is flat, no degradation.
        let h = findings(vec![
            (
                "node_netstat_Tcp_RetransSegs",
                matrix(&[(node.clone(), stepped(2.0, 60.0))]),
            ),
            (
                "node_netstat_Tcp_OutSegs",
                matrix(&[(node, stepped(2000.0, 60000.0))]),
            ),
        ]);
        assert!(h.is_empty(), "{h:#?}");
    }

    #[test]
    fn the_90th_percentile_is_interpolated_within_its_bucket() {
        // 100 requests a second: 50 under 0.1 s, 90 under 0.5 s, all under 1 s.
        let b = |le: f64, c: f64| (le, vec![(0, c)]);
        let buckets = vec![
            b(0.1, 50.0),
            b(0.5, 90.0),
            b(1.0, 100.0),
            b(f64::INFINITY, 100.0),
        ];
        let p = quantile_points(&buckets, 0.9);
        assert_eq!(p, vec![(0, 0.5)]);
        let p = quantile_points(&buckets, 0.7);
        assert!((p[0].1 - 0.3).abs() < 1e-9, "{p:?}");
    }

    #[test]
    fn an_error_ratio_that_rises_and_stays_is_a_step_and_a_blip_is_not() {
        let pts = |v: &[f64]| {
            v.iter()
                .enumerate()
                .map(|(i, x)| (i as i64 * 60, *x))
                .collect::<Vec<_>>()
        };
        let s = error_step(&pts(&[0.0, 0.001, 0.0, 0.0, 0.3, 0.32, 0.29, 0.31])).unwrap();
        assert_eq!(s.0, 240);
        assert!(error_step(&pts(&[0.0, 0.0, 0.4, 0.0, 0.0, 0.0, 0.0, 0.0])).is_none());
        assert!(error_step(&pts(&[0.02, 0.03, 0.02, 0.03, 0.04, 0.03, 0.02, 0.03])).is_none());
    }

    #[test]
    fn a_clean_step_is_found_at_its_onset_and_a_slow_drift_is_not_a_step() {
        let pts = |v: &[f64]| {
            v.iter()
                .enumerate()
                .map(|(i, x)| (i as i64 * 60, *x))
                .collect::<Vec<_>>()
        };
        let mut v = vec![0.1; 15];
        v.extend([2.0; 15]);
        let s = step_above(&pts(&v), 0.0).unwrap();
        assert_eq!(s.onset, 15 * 60);
        let drift: Vec<f64> = (0..30).map(|i| 0.1 + 0.001 * i as f64).collect();
        assert!(step_above(&pts(&drift), 0.0).is_none());
        let mut blip = vec![0.1; 30];
        blip[12] = 3.0;
        assert!(step_above(&pts(&blip), 0.0).is_none());
    }

    #[test]
    fn server_errors_are_read_from_status_labels() {
        let l = |k: &str, v: &str| [(k.to_string(), v.to_string())].into_iter().collect();
        assert!(is_server_error(&l("code", "503")));
        assert!(is_server_error(&l("response_code", "500")));
        assert!(!is_server_error(&l("status", "404")));
        assert!(is_server_error(&l("outcome", "SERVER_ERROR")));
        assert!(!is_server_error(&l("outcome", "CLIENT_ERROR")));
    }
}
