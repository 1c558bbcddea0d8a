//! Usage metrics for synthetic clusters: metrics.k8s.io samples ([`samples`]) and
//! Prometheus range-query answers ([`prometheus`]), both rendered from the same usage model
//! so that a leak or a CPU surge reads the same in either source.
//!
//! The model, per container instance at time `t`:
//! - CPU = `cpu_base_m` × the daily pattern × noise (±5%); after onset × `cpu_factor`;
//!   capped at the limit when there is one (what the kernel's CFS quota enforces).
//! - memory = `mem_base` × a third of the daily swing × noise (±2%) (a heap does not follow
//!   traffic the way CPU does, and a leak must read as a steady climb), plus, after onset,
//!   `mem_slope_per_min` × minutes since the later of onset and the instance's start (a
//!   restart frees the leaked memory); capped at the limit (the generator decides when
//!   that means an OOM kill).
//! - The daily pattern is ±30% around the base: busiest at 14:00 UTC, quietest at 04:00.
//! - Noise is drawn from a [`Rng`] seeded by the container and the second, not from a
//!   running stream, so both outputs agree at equal times and a sample's value does not
//!   depend on which other samples were asked for.
//!
//! A container has readings while an instance of it runs: the current one (if `running`)
//! since `started_minutes_ago`, and the previous one between its start and end. Output is
//! built as JSON text directly (no intermediate `Value`): 150,000 containers × a few
//! samples must render in seconds. Quantities are integers (`…n` nanocores, `…Ki`) and
//! Prometheus values fixed decimals, so output is byte-identical for the same inputs.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use jiff::Timestamp;
use serde_json::value::RawValue;

use crate::model::MetricsSample;

use super::logs::{push_json_str, push_rfc3339_seconds};
use super::rng::Rng;
use super::signals::{ContainerSignals, Signals};

/// At most this many series per Prometheus metric. A 150,000-pod cluster would otherwise
/// give hundreds of megabytes per metric; the analyses need the containers a fault touches
/// and some healthy neighbours to compare with. Chosen deterministically: containers (or
/// pods) with an onset first, then by namespace, pod and container.
pub const MAX_SERIES: usize = 2_000;

/// Prometheus refuses range queries of more than 11,000 points per series; a smaller step
/// is widened to stay under it, as a real query would have to be.
const MAX_POINTS: i64 = 11_000;

/// Received bytes per request (request line, headers, a small body) and per second of
/// background traffic (probes, scrapes, DNS), for the network series.
const BYTES_PER_REQUEST: f64 = 900.0;
const BACKGROUND_BYTES_PER_SECOND: f64 = 300.0;

/// metrics.k8s.io samples at `times`: a NodeMetricsList and a PodMetricsList each, as
/// metrics-server returns them (CPU in nanocores, memory in Ki), stamped with the sample
/// time to the second (the item `timestamp` too, which is how a capture names a sample).
///
/// A pod is listed with the containers that have a running instance at the sample time;
/// containers with `running == false` are never listed. Nodes with `reporting == false`
/// are absent, and so are their pods (metrics-server reads pods from the node's kubelet).
/// A node's usage is its system overhead plus the sum of its listed pods, exactly; a pod
/// whose node is unknown (not in `pod_nodes` or `nodes`) is listed and counted on none.
pub fn samples(
    signals: &Signals,
    times: &[Timestamp],
    capture: Timestamp,
    rng: &mut Rng,
) -> Vec<MetricsSample> {
    let cap = capture.as_millisecond();
    let containers = &signals.containers;
    let seeds: Vec<u64> = containers.iter().map(|c| seed(rng, c)).collect();
    let node_index: HashMap<&str, usize> = signals
        .nodes
        .iter()
        .enumerate()
        .rev()
        .map(|(i, n)| (n.name.as_str(), i))
        .collect();
    let pod_node = pod_node_map(signals);

    // Pods in (namespace, name) order with their running containers, resolved once.
    let mut by_pod: BTreeMap<(&str, &str), Vec<usize>> = BTreeMap::new();
    for (i, c) in containers.iter().enumerate() {
        if c.running {
            by_pod
                .entry((c.namespace.as_str(), c.pod.as_str()))
                .or_default()
                .push(i);
        }
    }
    struct Pod<'a> {
        namespace: &'a str,
        name: &'a str,
        node: Option<usize>,
        containers: Vec<usize>,
    }
    let pods: Vec<Pod> = by_pod
        .into_iter()
        .filter_map(|((namespace, name), containers)| {
            let node_name = pod_node.get(&(namespace, name)).copied();
            let node = node_name.and_then(|n| node_index.get(n).copied());
            if node.is_some_and(|n| !signals.nodes[n].reporting) {
                return None;
            }
            Some(Pod {
                namespace,
                name,
                node,
                containers,
            })
        })
        .collect();
    let mut node_order: Vec<usize> = (0..signals.nodes.len()).collect();
    node_order.sort_by(|a, b| signals.nodes[*a].name.cmp(&signals.nodes[*b].name));

    let mut out = Vec::with_capacity(times.len());
    for time in times {
        let t = time.as_millisecond();
        let mut stamp = String::new();
        push_rfc3339_seconds(&mut stamp, t);
        let daily = daily(t);
        let mut node_cpu = vec![0u64; signals.nodes.len()];
        let mut node_mem = vec![0u64; signals.nodes.len()];

        let mut json = String::with_capacity(pods.len() * 240 + 128);
        json.push_str(
            r#"{"kind":"PodMetricsList","apiVersion":"metrics.k8s.io/v1beta1","metadata":{},"items":["#,
        );
        let mut first_pod = true;
        let mut item = String::with_capacity(512);
        for pod in &pods {
            item.clear();
            let mut listed = 0;
            for &i in &pod.containers {
                let c = &containers[i];
                let Some(r) = reading(c, seeds[i], cap, t, daily) else {
                    continue;
                };
                let (nano, ki) = (nanocores(r.cpu_m), kib(r.mem));
                if let Some(n) = pod.node {
                    node_cpu[n] = node_cpu[n].saturating_add(nano);
                    node_mem[n] = node_mem[n].saturating_add(ki);
                }
                item.push_str(if listed == 0 { "" } else { "," });
                item.push_str("{\"name\":");
                push_json_str(&mut item, &c.container);
                let _ = write!(
                    item,
                    ",\"usage\":{{\"cpu\":\"{nano}n\",\"memory\":\"{ki}Ki\"}}}}"
                );
                listed += 1;
            }
            if listed == 0 {
                continue;
            }
            if !first_pod {
                json.push(',');
            }
            first_pod = false;
            json.push_str("{\"metadata\":{\"name\":");
            push_json_str(&mut json, pod.name);
            json.push_str(",\"namespace\":");
            push_json_str(&mut json, pod.namespace);
            let _ = write!(
                json,
                ",\"creationTimestamp\":\"{stamp}\"}},\"timestamp\":\"{stamp}\",\"window\":\"15s\",\"containers\":["
            );
            json.push_str(&item);
            json.push_str("]}");
        }
        json.push_str("]}");

        let mut nodes = String::with_capacity(signals.nodes.len() * 200 + 128);
        nodes.push_str(
            r#"{"kind":"NodeMetricsList","apiVersion":"metrics.k8s.io/v1beta1","metadata":{},"items":["#,
        );
        let mut first_node = true;
        for &n in &node_order {
            let node = &signals.nodes[n];
            if !node.reporting {
                continue;
            }
            if !first_node {
                nodes.push(',');
            }
            first_node = false;
            let cpu = nanocores(node.system_cpu_m).saturating_add(node_cpu[n]);
            let mem = kib(node.system_mem).saturating_add(node_mem[n]);
            nodes.push_str("{\"metadata\":{\"name\":");
            push_json_str(&mut nodes, &node.name);
            let _ = write!(
                nodes,
                ",\"creationTimestamp\":\"{stamp}\"}},\"timestamp\":\"{stamp}\",\"window\":\"20s\",\"usage\":{{\"cpu\":\"{cpu}n\",\"memory\":\"{mem}Ki\"}}}}"
            );
        }
        nodes.push_str("]}");

        out.push(MetricsSample {
            time: stamp,
            // Built from escaped strings and integers, so these parse; `.ok()` rather
            // than a panic if that ever stops being true.
            nodes: RawValue::from_string(nodes).ok(),
            pods: RawValue::from_string(json).ok(),
        });
    }
    out
}

/// Prometheus range-query answers over `[capture - window, capture]` every `step_seconds`
/// (widened to at most 11,000 points), keyed by metric name, shaped like
/// `/api/v1/query_range` answers, following capture's convention (a counter as its
/// per-second rate, `capture::prometheus`): `container_cpu_usage_seconds_total` (a rate:
/// cores), `container_memory_working_set_bytes`, `container_cpu_cfs_periods_total` and
/// `container_cpu_cfs_throttled_periods_total` (rates of the 100 ms periods the container
/// ran in, and of those it was throttled in; only containers with a CPU limit, as
/// cAdvisor only exports them under a CFS quota), `kube_pod_container_status_restarts_total`
/// (steps from 0 to 1 at the previous instance's end; every container, running or not, as
/// kube-state-metrics reports them) and `container_network_receive_bytes_total` (a rate,
/// per pod as cAdvisor measures the pod's network namespace and captures query it `sum by
/// (namespace, pod)`; ∝ rps).
///
/// Labels: `__name__`, `container` (container-level metrics), `namespace`, `node` (when
/// the pod's node is known), `pod`. At most [`MAX_SERIES`] series per metric (see there);
/// series without any point in the window are left out, as Prometheus does.
pub fn prometheus(
    signals: &Signals,
    capture: Timestamp,
    window_minutes: f64,
    step_seconds: u64,
    rng: &mut Rng,
) -> BTreeMap<String, Box<RawValue>> {
    let cap = capture.as_millisecond();
    let end = capture.as_second();
    let window = if window_minutes.is_finite() {
        (window_minutes.clamp(0.0, 1.0e7) * 60.0).round() as i64
    } else {
        0
    };
    let mut step = i64::try_from(step_seconds.max(1)).unwrap_or(i64::MAX);
    if window / step + 1 > MAX_POINTS {
        step = (window + MAX_POINTS - 2) / (MAX_POINTS - 1);
    }
    let start = end - window;
    let points: Vec<(i64, f64)> = (0..)
        .map(|k| start + k * step)
        .take_while(|t| *t <= end)
        .map(|t| (t, daily(t * 1000)))
        .collect();

    let containers = &signals.containers;
    let seeds: Vec<u64> = containers.iter().map(|c| seed(rng, c)).collect();
    let pod_node = pod_node_map(signals);
    let node_of = |c: &ContainerSignals| {
        pod_node
            .get(&(c.namespace.as_str(), c.pod.as_str()))
            .copied()
    };

    // Candidates in selection order: containers with an onset first, then by name.
    let mut order: Vec<usize> = (0..containers.len()).collect();
    order.sort_by(|&a, &b| {
        let (x, y) = (&containers[a], &containers[b]);
        (
            x.onset_minutes_ago.is_none(),
            &x.namespace,
            &x.pod,
            &x.container,
        )
            .cmp(&(
                y.onset_minutes_ago.is_none(),
                &y.namespace,
                &y.pod,
                &y.container,
            ))
    });
    let pick = |filter: &dyn Fn(&ContainerSignals) -> bool| -> Vec<usize> {
        let mut picked: Vec<usize> = order
            .iter()
            .copied()
            .filter(|&i| filter(&containers[i]))
            .take(MAX_SERIES)
            .collect();
        picked.sort_by(|&a, &b| {
            let (x, y) = (&containers[a], &containers[b]);
            (&x.namespace, &x.pod, &x.container).cmp(&(&y.namespace, &y.pod, &y.container))
        });
        picked
    };
    let all = pick(&|_| true);
    let limited = pick(&|c| c.cpu_limit_m.is_some_and(|l| l.is_finite() && l > 0.0));

    let mut out = BTreeMap::new();
    let mut add = |name: &str, body: String| {
        if let Ok(raw) = RawValue::from_string(body) {
            out.insert(name.to_string(), raw);
        }
    };

    let container_metric = |name: &str,
                            picked: &[usize],
                            value: &dyn Fn(&ContainerSignals, i64, Reading) -> String|
     -> String {
        let mut m = Matrix::new();
        for &i in picked {
            let c = &containers[i];
            let mut series =
                Series::new(name, &c.namespace, &c.pod, Some(&c.container), node_of(c));
            for &(t, daily) in &points {
                if let Some(r) = reading(c, seeds[i], cap, t * 1000, daily) {
                    series.point(t, &value(c, t, r));
                }
            }
            m.push(series);
        }
        m.finish()
    };

    add(
        "container_cpu_usage_seconds_total",
        container_metric("container_cpu_usage_seconds_total", &all, &|_, _, r| {
            decimals(r.cpu_m / 1000.0, 6)
        }),
    );
    add(
        "container_memory_working_set_bytes",
        container_metric("container_memory_working_set_bytes", &all, &|_, _, r| {
            decimals(r.mem, 0)
        }),
    );
    add(
        "container_cpu_cfs_periods_total",
        container_metric("container_cpu_cfs_periods_total", &limited, &|c, _, r| {
            decimals(periods_per_second(c, r), 3)
        }),
    );
    add(
        "container_cpu_cfs_throttled_periods_total",
        container_metric(
            "container_cpu_cfs_throttled_periods_total",
            &limited,
            &|c, _, r| decimals(throttled_per_second(c, r), 3),
        ),
    );

    // Restarts: every container, whether or not an instance runs at the point.
    {
        let name = "kube_pod_container_status_restarts_total";
        let mut m = Matrix::new();
        for &i in &all {
            let c = &containers[i];
            let first = clean(c.started_minutes_ago).max(
                c.previous
                    .as_ref()
                    .map_or(0.0, |p| clean(p.started_minutes_ago)),
            );
            let mut series =
                Series::new(name, &c.namespace, &c.pod, Some(&c.container), node_of(c));
            for &(t, _) in &points {
                let ago = (cap - t * 1000) as f64 / 60_000.0;
                if ago > first {
                    continue;
                }
                let restarted = c
                    .previous
                    .as_ref()
                    .is_some_and(|p| ago <= clean(p.ended_minutes_ago));
                series.point(t, if restarted { "1" } else { "0" });
            }
            m.push(series);
        }
        add(name, m.finish());
    }

    // Network: per pod, pods with an onset first.
    {
        let name = "container_network_receive_bytes_total";
        let mut pods: BTreeMap<(&str, &str), (bool, Vec<usize>)> = BTreeMap::new();
        for (i, c) in containers.iter().enumerate() {
            let e = pods
                .entry((c.namespace.as_str(), c.pod.as_str()))
                .or_insert((false, Vec::new()));
            e.0 |= c.onset_minutes_ago.is_some();
            e.1.push(i);
        }
        let mut picked: Vec<_> = pods.iter().collect();
        // Stable: pods with an onset first, name order kept within each group.
        picked.sort_by_key(|(_, (onset, _))| !*onset);
        picked.truncate(MAX_SERIES);
        picked.sort_by_key(|(key, _)| **key);
        let mut m = Matrix::new();
        for ((namespace, pod), (_, members)) in picked {
            let node = pod_node.get(&(*namespace, *pod)).copied();
            let mut series = Series::new(name, namespace, pod, None, node);
            for &(t, daily) in &points {
                let mut total = 0.0;
                let mut present = false;
                for &i in members {
                    let c = &containers[i];
                    if reading(c, seeds[i], cap, t * 1000, daily).is_none() {
                        continue;
                    }
                    present = true;
                    let rps = if c.rps.is_finite() {
                        c.rps.max(0.0)
                    } else {
                        0.0
                    };
                    let noise = point_rng(seeds[i], t * 1000, 1).noise(0.1);
                    total +=
                        (rps * BYTES_PER_REQUEST + BACKGROUND_BYTES_PER_SECOND) * daily * noise;
                }
                if present {
                    series.point(t, &decimals(total, 3));
                }
            }
            m.push(series);
        }
        add(name, m.finish());
    }
    out
}

/// One container's usage at an instant.
#[derive(Debug, Clone, Copy)]
struct Reading {
    /// What the cgroup got, millicores (capped at the limit).
    cpu_m: f64,
    /// What the process wanted, millicores (for throttling).
    demand_m: f64,
    /// Working set, bytes.
    mem: f64,
}

/// Minutes as given, non-finite or negative read as 0.
fn clean(minutes: f64) -> f64 {
    if minutes.is_finite() {
        minutes.max(0.0)
    } else {
        0.0
    }
}

fn finite(x: f64, default: f64) -> f64 {
    if x.is_finite() { x } else { default }
}

/// The container's noise seed: forked from the caller's generator by its identity, so it
/// does not depend on the other containers.
fn seed(rng: &Rng, c: &ContainerSignals) -> u64 {
    rng.fork(&format!(
        "metrics/{}/{}/{}",
        c.namespace, c.pod, c.container
    ))
    .next_u64()
}

/// The generator for one container at one second; `salt` separates independent draws.
fn point_rng(seed: u64, t_ms: i64, salt: u64) -> Rng {
    let second = t_ms.div_euclid(1000) as u64;
    Rng::new(
        seed ^ second.wrapping_mul(0x9E37_79B9_7F4A_7C15)
            ^ salt.wrapping_mul(0xD6E8_FEB8_6659_FD93),
    )
}

/// The daily traffic factor at a Unix time in ms: 1.3 at 14:00 UTC, 0.7 at 04:00, a
/// cosine warped so that the 14 hours of decline and the 10 of climb are each smooth.
fn daily(t_ms: i64) -> f64 {
    let hour = t_ms.rem_euclid(86_400_000) as f64 / 3_600_000.0;
    let since_peak = (hour - 14.0).rem_euclid(24.0);
    let phase = if since_peak < 14.0 {
        since_peak / 28.0
    } else {
        0.5 + (since_peak - 14.0) / 20.0
    };
    1.0 + 0.3 * (std::f64::consts::TAU * phase).cos()
}

/// The usage of `c` at `t_ms` (daily factor `daily` at that time), or `None` when no
/// instance of it runs then.
fn reading(c: &ContainerSignals, seed: u64, cap_ms: i64, t_ms: i64, daily: f64) -> Option<Reading> {
    let ago = (cap_ms - t_ms) as f64 / 60_000.0;
    let started = if c.running && ago <= clean(c.started_minutes_ago) {
        clean(c.started_minutes_ago)
    } else {
        match &c.previous {
            Some(p) if ago <= clean(p.started_minutes_ago) && ago >= clean(p.ended_minutes_ago) => {
                clean(p.started_minutes_ago)
            }
            _ => return None,
        }
    };
    let mut r = point_rng(seed, t_ms, 0);
    let cpu_noise = r.noise(0.05);
    let mem_noise = r.noise(0.02);
    let mut demand = finite(c.cpu_base_m, 0.0).max(0.0) * daily * cpu_noise;
    let mut mem = finite(c.mem_base, 0.0).max(0.0) * (1.0 + (daily - 1.0) / 3.0) * mem_noise;
    if let Some(onset) = c.onset_minutes_ago.map(clean)
        && ago <= onset
    {
        demand *= finite(c.cpu_factor, 1.0).max(0.0);
        let leaking_for = onset.min(started) - ago;
        mem += finite(c.mem_slope_per_min, 0.0) * leaking_for.max(0.0);
    }
    let cpu = match c.cpu_limit_m.filter(|l| l.is_finite() && *l > 0.0) {
        // At the quota a container gets just under it, period after period.
        Some(limit) if demand > limit => limit * (0.97 + 0.03 * r.unit()),
        _ => demand,
    };
    let mem = match c.mem_limit.filter(|l| l.is_finite() && *l > 0.0) {
        Some(limit) => mem.min(limit),
        None => mem,
    };
    Some(Reading {
        cpu_m: cpu.max(0.0),
        demand_m: demand.max(0.0),
        mem: mem.max(0.0),
    })
}

/// CFS periods per second the container ran in (of the 10 periods of 100 ms a second):
/// a container serving traffic runs in most of them, one near its limit in all, an idle
/// one in few (never fewer than 1, nor than the throttled ones).
fn periods_per_second(c: &ContainerSignals, r: Reading) -> f64 {
    let Some(limit) = c.cpu_limit_m.filter(|l| l.is_finite() && *l > 0.0) else {
        return 0.0;
    };
    (10.0 * (2.0 * r.demand_m / limit).clamp(0.1, 1.0)).max(throttled_per_second(c, r))
}

/// Throttled CFS periods per second (10 periods of 100 ms per second): none below 70% of
/// the limit, all of them at 120% demand and beyond.
fn throttled_per_second(c: &ContainerSignals, r: Reading) -> f64 {
    let Some(limit) = c.cpu_limit_m.filter(|l| l.is_finite() && *l > 0.0) else {
        return 0.0;
    };
    let pressure = ((r.demand_m / limit - 0.7) / 0.5).clamp(0.0, 1.0);
    10.0 * pressure
}

fn nanocores(millicores: f64) -> u64 {
    let n = (finite(millicores, 0.0) * 1e6).round();
    if n > 0.0 { n as u64 } else { 0 }
}

fn kib(bytes: f64) -> u64 {
    let k = (finite(bytes, 0.0) / 1024.0).round();
    if k > 0.0 { k as u64 } else { 0 }
}

/// `x` with at most `places` decimals, trailing zeros dropped (`0.25`, `3`, `1048576`):
/// how Prometheus prints sample values, from fixed-precision formatting.
fn decimals(x: f64, places: usize) -> String {
    let x = finite(x, 0.0);
    let mut s = format!("{x:.places$}");
    if s.contains('.') {
        while s.ends_with('0') {
            s.pop();
        }
        if s.ends_with('.') {
            s.pop();
        }
    }
    if s == "-0" {
        s = "0".to_string();
    }
    s
}

fn pod_node_map(signals: &Signals) -> HashMap<(&str, &str), &str> {
    let mut m = HashMap::with_capacity(signals.pod_nodes.len());
    for ((ns, pod), node) in &signals.pod_nodes {
        m.entry((ns.as_str(), pod.as_str()))
            .or_insert(node.as_str());
    }
    m
}

/// One series of a matrix: its labels (in Prometheus' sorted order) and its points.
struct Series {
    text: String,
    points: usize,
}

impl Series {
    fn new(
        name: &str,
        namespace: &str,
        pod: &str,
        container: Option<&str>,
        node: Option<&str>,
    ) -> Self {
        let mut text = String::with_capacity(256);
        text.push_str("{\"metric\":{\"__name__\":");
        push_json_str(&mut text, name);
        if let Some(c) = container {
            text.push_str(",\"container\":");
            push_json_str(&mut text, c);
        }
        text.push_str(",\"namespace\":");
        push_json_str(&mut text, namespace);
        if let Some(n) = node {
            text.push_str(",\"node\":");
            push_json_str(&mut text, n);
        }
        text.push_str(",\"pod\":");
        push_json_str(&mut text, pod);
        text.push_str("},\"values\":[");
        Series { text, points: 0 }
    }

    fn point(&mut self, t: i64, value: &str) {
        if self.points > 0 {
            self.text.push(',');
        }
        let _ = write!(self.text, "[{t},\"{value}\"]");
        self.points += 1;
    }
}

/// A `query_range` answer under construction.
struct Matrix {
    text: String,
    series: usize,
}

impl Matrix {
    fn new() -> Self {
        Matrix {
            text: String::from(r#"{"status":"success","data":{"resultType":"matrix","result":["#),
            series: 0,
        }
    }

    /// Adds a series; one without points is left out.
    fn push(&mut self, s: Series) {
        if s.points == 0 {
            return;
        }
        if self.series > 0 {
            self.text.push(',');
        }
        self.text.push_str(&s.text);
        self.text.push_str("]}");
        self.series += 1;
    }

    fn finish(mut self) -> String {
        self.text.push_str("]}}");
        self.text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::quantity;
    use crate::synth::signals::{LogStyle, NodeSignals, Previous};
    use serde_json::Value;

    const MI: f64 = 1024.0 * 1024.0;

    fn cap() -> Timestamp {
        "2026-11-24T14:00:00Z".parse().unwrap()
    }

    fn minutes_before(m: i64) -> Timestamp {
        cap() - jiff::SignedDuration::from_mins(m)
    }

    fn node(name: &str, reporting: bool) -> NodeSignals {
        NodeSignals {
            name: name.into(),
            cpu_capacity_m: 4_000.0,
            mem_capacity: 16_384.0 * MI,
            system_cpu_m: 150.0,
            system_mem: 900.0 * MI,
            reporting,
        }
    }

    fn container(ns: &str, pod: &str, name: &str) -> ContainerSignals {
        let mut c = ContainerSignals::new(ns, pod, name, "cart", LogStyle::Json);
        c.cpu_base_m = 120.0;
        c.mem_base = 200.0 * MI;
        c.rps = 10.0;
        c
    }

    /// Two nodes; a leaking cart pod on node-a, a sidecar pod and a stopped container on
    /// node-b, a pod on a node that does not report.
    fn cluster() -> Signals {
        let mut leak = container("shop", "cart-1", "app");
        leak.mem_limit = Some(300.0 * MI);
        leak.mem_slope_per_min = 5.0 * MI;
        leak.onset_minutes_ago = Some(60.0);
        let mut api = container("shop", "api-1", "app");
        api.cpu_limit_m = Some(200.0);
        api.cpu_factor = 3.0;
        api.onset_minutes_ago = Some(30.0);
        let sidecar = container("shop", "api-1", "proxy");
        let mut stopped = container("shop", "api-1", "migrate");
        stopped.running = false;
        let lost = container("shop", "lost-1", "app");
        Signals {
            containers: vec![leak, api, sidecar, stopped, lost],
            nodes: vec![
                node("node-b", true),
                node("node-a", true),
                node("node-x", false),
            ],
            pod_nodes: vec![
                (("shop".into(), "cart-1".into()), "node-a".into()),
                (("shop".into(), "api-1".into()), "node-b".into()),
                (("shop".into(), "lost-1".into()), "node-x".into()),
            ],
        }
    }

    fn parse(raw: &Option<Box<RawValue>>) -> Value {
        serde_json::from_str(raw.as_ref().unwrap().get()).unwrap()
    }

    fn times() -> Vec<Timestamp> {
        (0..=12).rev().map(|k| minutes_before(5 * k)).collect()
    }

    /// (cpu millicores, memory bytes) of a container in a PodMetricsList.
    fn usage(pods: &Value, pod: &str, container: &str) -> Option<(f64, f64)> {
        let item = pods["items"]
            .as_array()?
            .iter()
            .find(|i| i["metadata"]["name"] == pod)?;
        let c = item["containers"]
            .as_array()?
            .iter()
            .find(|c| c["name"] == container)?;
        Some((
            quantity::cpu_millis(c["usage"]["cpu"].as_str()?)?,
            quantity::bytes(c["usage"]["memory"].as_str()?)?,
        ))
    }

    #[test]
    fn same_seed_same_bytes() {
        let s = cluster();
        let text = |seed| {
            samples(&s, &times(), cap(), &mut Rng::new(seed))
                .iter()
                .map(|m| {
                    format!(
                        "{}{}{}",
                        m.time,
                        m.nodes.as_ref().unwrap().get(),
                        m.pods.as_ref().unwrap().get()
                    )
                })
                .collect::<String>()
        };
        assert_eq!(text(1), text(1));
        assert_ne!(text(1), text(2));
        let prom = |seed| {
            prometheus(&s, cap(), 60.0, 60, &mut Rng::new(seed))
                .iter()
                .map(|(k, v)| format!("{k}{}", v.get()))
                .collect::<String>()
        };
        assert_eq!(prom(1), prom(1));
        assert_ne!(prom(1), prom(2));
    }

    #[test]
    fn samples_look_like_metrics_server() {
        let out = samples(&cluster(), &times(), cap(), &mut Rng::new(1));
        assert_eq!(out.len(), 13);
        assert_eq!(out[0].time, "2026-11-24T13:00:00Z");
        assert_eq!(out[12].time, "2026-11-24T14:00:00Z");
        let pods = parse(&out[12].pods);
        assert_eq!(pods["kind"], "PodMetricsList");
        assert_eq!(pods["apiVersion"], "metrics.k8s.io/v1beta1");
        let item = &pods["items"][0];
        assert_eq!(item["metadata"]["namespace"], "shop");
        assert_eq!(item["timestamp"], "2026-11-24T14:00:00Z");
        assert_eq!(item["window"], "15s");
        let cpu = item["containers"][0]["usage"]["cpu"].as_str().unwrap();
        let mem = item["containers"][0]["usage"]["memory"].as_str().unwrap();
        assert!(
            cpu.ends_with('n') && cpu[..cpu.len() - 1].parse::<u64>().is_ok(),
            "{cpu}"
        );
        assert!(
            mem.ends_with("Ki") && mem[..mem.len() - 2].parse::<u64>().is_ok(),
            "{mem}"
        );
        let names: Vec<&str> = pods["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["metadata"]["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            ["api-1", "cart-1"],
            "sorted; the unreporting node's pod absent"
        );
        let nodes = parse(&out[12].nodes);
        assert_eq!(nodes["kind"], "NodeMetricsList");
        let names: Vec<&str> = nodes["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["metadata"]["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["node-a", "node-b"]);
        assert_eq!(nodes["items"][0]["window"], "20s");
    }

    #[test]
    fn a_leak_climbs_every_sample_and_stops_at_the_limit() {
        let out = samples(&cluster(), &times(), cap(), &mut Rng::new(1));
        let mem: Vec<f64> = out
            .iter()
            .map(|m| usage(&parse(&m.pods), "cart-1", "app").unwrap().1)
            .collect();
        // 200 MiB + 5 MiB/min reaches the 300 MiB limit 20 minutes after onset (3 samples
        // of the 13; the daily pattern and noise move the base a little).
        let limit = 300.0 * MI;
        let capped = mem.iter().filter(|m| **m == limit).count();
        assert!((8..=10).contains(&capped), "{mem:?}");
        for w in mem.windows(2) {
            assert!(w[1] > w[0] || w[1] == limit, "{mem:?}");
            assert!(w[1] <= limit);
        }
        // 200 MiB a little above base at 13:00, the day's busy hours.
        assert!(mem[0] > 200.0 * MI && mem[0] < 230.0 * MI, "{mem:?}");
    }

    #[test]
    fn cpu_surges_after_onset_up_to_the_limit() {
        let out = samples(&cluster(), &times(), cap(), &mut Rng::new(1));
        let cpu: Vec<f64> = out
            .iter()
            .map(|m| usage(&parse(&m.pods), "api-1", "app").unwrap().0)
            .collect();
        // Healthy ~120m × daily (≈1.3 at 13:00-14:00); ×3 after onset, capped at 200m.
        assert!(
            cpu[..6].iter().all(|c| (120.0..=175.0).contains(c)),
            "{cpu:?}"
        );
        assert!(
            cpu[7..].iter().all(|c| (194.0..=200.0).contains(c)),
            "{cpu:?}"
        );
    }

    #[test]
    fn node_usage_is_system_plus_its_pods() {
        let s = cluster();
        for m in samples(&s, &times(), cap(), &mut Rng::new(1)) {
            let pods = parse(&m.pods);
            let nodes = parse(&m.nodes);
            for (node, pod_names) in [("node-a", vec!["cart-1"]), ("node-b", vec!["api-1"])] {
                let (mut cpu, mut mem) = (150.0 * 1e6, 900.0 * 1024.0);
                for item in pods["items"].as_array().unwrap() {
                    if pod_names.contains(&item["metadata"]["name"].as_str().unwrap()) {
                        for c in item["containers"].as_array().unwrap() {
                            let q = |k: &str| {
                                let v = c["usage"][k].as_str().unwrap();
                                v.trim_end_matches(['n', 'K', 'i']).parse::<f64>().unwrap()
                            };
                            cpu += q("cpu");
                            mem += q("memory");
                        }
                    }
                }
                let n = nodes["items"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|n| n["metadata"]["name"] == node)
                    .unwrap();
                assert_eq!(n["usage"]["cpu"], format!("{cpu}n"));
                assert_eq!(n["usage"]["memory"], format!("{mem}Ki"));
            }
        }
    }

    #[test]
    fn a_stopped_container_has_no_pod_metric() {
        let out = samples(&cluster(), &times(), cap(), &mut Rng::new(1));
        for m in &out {
            let pods = parse(&m.pods);
            assert!(usage(&pods, "api-1", "app").is_some());
            assert!(usage(&pods, "api-1", "proxy").is_some());
            assert!(usage(&pods, "api-1", "migrate").is_none());
        }
        // A pod whose only container stopped is not listed at all.
        let mut s = cluster();
        s.containers.retain(|c| c.pod == "api-1");
        for c in &mut s.containers {
            c.running = false;
        }
        let out = samples(&s, &times(), cap(), &mut Rng::new(1));
        assert_eq!(parse(&out[0].pods)["items"], serde_json::json!([]));
    }

    #[test]
    fn a_restarted_container_shows_its_instances_in_turn() {
        let mut s = cluster();
        let leak = &mut s.containers[0];
        leak.started_minutes_ago = 12.0;
        leak.previous = Some(Previous {
            started_minutes_ago: 200.0,
            ended_minutes_ago: 17.0,
            last_lines: Vec::new(),
        });
        let out = samples(&s, &times(), cap(), &mut Rng::new(1));
        let mem: Vec<Option<f64>> = out
            .iter()
            .map(|m| usage(&parse(&m.pods), "cart-1", "app").map(|u| u.1))
            .collect();
        // The previous instance leaks up to the limit, is gone between 17 and 12 minutes
        // before capture, and the new instance starts low and leaks again.
        assert_eq!(mem[8], Some(300.0 * MI), "{mem:?}");
        assert_eq!(mem[9], None, "{mem:?}");
        assert!(mem[10].unwrap() < 235.0 * MI, "{mem:?}");
        assert!(mem[11].unwrap() > mem[10].unwrap(), "{mem:?}");
        assert!(mem[12].unwrap() > mem[11].unwrap(), "{mem:?}");
    }

    #[test]
    fn prometheus_answers_are_matrices() {
        let s = cluster();
        let out = prometheus(&s, cap(), 60.0, 60, &mut Rng::new(1));
        let names: Vec<&str> = out.keys().map(String::as_str).collect();
        assert_eq!(
            names,
            [
                "container_cpu_cfs_periods_total",
                "container_cpu_cfs_throttled_periods_total",
                "container_cpu_usage_seconds_total",
                "container_memory_working_set_bytes",
                "container_network_receive_bytes_total",
                "kube_pod_container_status_restarts_total",
            ]
        );
        for (name, raw) in &out {
            let v: Value = serde_json::from_str(raw.get()).unwrap();
            assert_eq!(v["status"], "success");
            assert_eq!(v["data"]["resultType"], "matrix");
            for series in v["data"]["result"].as_array().unwrap() {
                assert_eq!(series["metric"]["__name__"], name.as_str());
                assert_eq!(series["metric"]["namespace"], "shop");
                for p in series["values"].as_array().unwrap() {
                    assert!(p[0].as_i64().is_some());
                    assert!(p[1].as_str().unwrap().parse::<f64>().unwrap().is_finite());
                }
            }
        }
        let cpu: Value =
            serde_json::from_str(out["container_cpu_usage_seconds_total"].get()).unwrap();
        let first = &cpu["data"]["result"][0];
        assert_eq!(first["metric"]["pod"], "api-1");
        assert_eq!(first["metric"]["container"], "app");
        assert_eq!(first["metric"]["node"], "node-b");
        let values = first["values"].as_array().unwrap();
        assert_eq!(values.len(), 61);
        assert_eq!(values[60][0], cap().as_second());
        // The stopped container has no usage series; every container has a restarts one.
        let has = |metric: &str, container: &str| {
            let v: Value = serde_json::from_str(out[metric].get()).unwrap();
            v["data"]["result"]
                .as_array()
                .unwrap()
                .iter()
                .any(|s| s["metric"]["container"] == container)
        };
        assert!(!has("container_cpu_usage_seconds_total", "migrate"));
        assert!(has("kube_pod_container_status_restarts_total", "migrate"));
        // Network is per pod.
        let net: Value =
            serde_json::from_str(out["container_network_receive_bytes_total"].get()).unwrap();
        let series = net["data"]["result"].as_array().unwrap();
        assert_eq!(series.len(), 3);
        assert!(
            series
                .iter()
                .all(|s| s["metric"].get("container").is_none())
        );
        let rate: f64 = series[0]["values"][0][1].as_str().unwrap().parse().unwrap();
        assert!((10_000.0..30_000.0).contains(&rate), "{rate}");
    }

    #[test]
    fn throttling_and_restarts_follow_the_signals() {
        let mut s = cluster();
        s.containers[1].previous = Some(Previous {
            started_minutes_ago: 300.0,
            ended_minutes_ago: 20.5,
            last_lines: Vec::new(),
        });
        s.containers[1].started_minutes_ago = 19.5;
        let out = prometheus(&s, cap(), 60.0, 60, &mut Rng::new(1));
        let series = |metric: &str, pod: &str, container: &str| -> Vec<(i64, f64)> {
            let v: Value = serde_json::from_str(out[metric].get()).unwrap();
            let s = v["data"]["result"]
                .as_array()
                .unwrap()
                .iter()
                .find(|s| s["metric"]["pod"] == pod && s["metric"]["container"] == container)
                .unwrap()
                .clone();
            s["values"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| {
                    (
                        p[0].as_i64().unwrap(),
                        p[1].as_str().unwrap().parse().unwrap(),
                    )
                })
                .collect()
        };
        let onset = cap().as_second() - 30 * 60;
        let throttled = series("container_cpu_cfs_throttled_periods_total", "api-1", "app");
        // Before onset ~156m of 200m: a little throttling, as bursts near a limit get.
        assert!(
            throttled
                .iter()
                .filter(|(t, _)| *t < onset)
                .all(|(_, v)| *v < 3.0),
            "{throttled:?}"
        );
        assert!(throttled.iter().any(|(_, v)| *v < 2.0));
        assert!(
            throttled
                .iter()
                .filter(|(t, _)| *t >= onset)
                .all(|(_, v)| *v > 5.0),
            "{throttled:?}"
        );
        let restarts = series("kube_pod_container_status_restarts_total", "api-1", "app");
        let ended = cap().as_second() - 20 * 60 - 30;
        assert!(
            restarts
                .iter()
                .all(|(t, v)| *v == if *t >= ended { 1.0 } else { 0.0 }),
            "{restarts:?}"
        );
        // Between the two instances (20.5 to 19.5 minutes before capture) there is no usage.
        let cpu = series("container_cpu_usage_seconds_total", "api-1", "app");
        assert_eq!(cpu.len(), 60, "one point missing");
        for metric in [
            "container_cpu_cfs_throttled_periods_total",
            "container_cpu_cfs_periods_total",
        ] {
            let v: Value = serde_json::from_str(out[metric].get()).unwrap();
            assert_eq!(
                v["data"]["result"].as_array().unwrap().len(),
                1,
                "{metric}: only limited containers"
            );
        }
        // The container ran in every period once throttled, and never throttled in more
        // periods than it ran in.
        let periods = series("container_cpu_cfs_periods_total", "api-1", "app");
        assert_eq!(periods.len(), throttled.len());
        for ((t, ran), (_, thr)) in periods.iter().zip(&throttled) {
            assert!(
                ran >= thr && *ran <= 10.0 && *ran >= 1.0,
                "{t}: {ran} {thr}"
            );
            if *t >= onset {
                assert_eq!(*ran, 10.0, "{t}");
            }
        }
    }

    #[test]
    fn prometheus_keeps_at_most_max_series_faulty_first() {
        let mut s = Signals::default();
        for i in 0..2_500 {
            let mut c = container("bulk", &format!("pod-{i:05}"), "app");
            if i % 1_000 == 999 {
                c.onset_minutes_ago = Some(5.0);
            }
            s.containers.push(c);
        }
        let out = prometheus(&s, cap(), 10.0, 60, &mut Rng::new(1));
        for (name, raw) in &out {
            let v: Value = serde_json::from_str(raw.get()).unwrap();
            let result = v["data"]["result"].as_array().unwrap();
            if name.starts_with("container_cpu_cfs_") {
                assert!(result.is_empty());
                continue;
            }
            assert_eq!(result.len(), MAX_SERIES, "{name}");
            let pods: Vec<&str> = result
                .iter()
                .map(|s| s["metric"]["pod"].as_str().unwrap())
                .collect();
            assert!(pods.windows(2).all(|w| w[0] < w[1]), "{name} sorted");
            for faulty in ["pod-00999", "pod-01999", "pod-02499"] {
                assert_eq!(
                    pods.contains(&faulty),
                    faulty != "pod-02499",
                    "{name} {faulty}"
                );
            }
        }
        // A tiny step over a long window is widened to Prometheus' point limit.
        s.containers.truncate(1);
        s.containers[0].started_minutes_ago = 30.0 * 1440.0;
        let out = prometheus(&s, cap(), 7.0 * 1440.0, 1, &mut Rng::new(1));
        let v: Value =
            serde_json::from_str(out["container_memory_working_set_bytes"].get()).unwrap();
        let n = v["data"]["result"][0]["values"].as_array().unwrap().len() as i64;
        assert!(n <= MAX_POINTS && n > MAX_POINTS / 2, "{n}");
    }

    #[test]
    fn daily_pattern_peaks_at_two_and_bottoms_at_four() {
        let at = |h: i64| daily(ms_of(h));
        fn ms_of(h: i64) -> i64 {
            cap().as_millisecond() - 14 * 3_600_000 + h * 3_600_000
        }
        assert!((at(14) - 1.3).abs() < 1e-9);
        assert!((at(4) - 0.7).abs() < 1e-9);
        assert!((at(28) - 0.7).abs() < 1e-9);
        for h in 0..24 {
            assert!((0.7 - 1e-9..=1.3 + 1e-9).contains(&at(h)));
        }
        assert!(at(13) > at(10) && at(18) > at(22));
    }

    #[test]
    fn odd_inputs_give_valid_json() {
        let mut s = cluster();
        let c = &mut s.containers[0];
        c.cpu_base_m = f64::NAN;
        c.mem_base = f64::INFINITY;
        c.mem_slope_per_min = -1e30;
        c.cpu_factor = f64::NAN;
        c.onset_minutes_ago = Some(f64::NAN);
        c.pod = "we\"ird\\pod".into();
        s.containers[1].cpu_base_m = 1e300;
        s.nodes[0].system_cpu_m = 1e300;
        s.pod_nodes
            .push((("shop".into(), "we\"ird\\pod".into()), "node-a".into()));
        let out = samples(&s, &times(), cap(), &mut Rng::new(1));
        for m in &out {
            parse(&m.pods);
            parse(&m.nodes);
        }
        for raw in prometheus(&s, cap(), f64::NAN, 0, &mut Rng::new(1)).values() {
            serde_json::from_str::<Value>(raw.get()).unwrap();
        }
        assert!(samples(&s, &[], cap(), &mut Rng::new(1)).is_empty());
    }

    /// `cargo test --release -- --ignored scale`: 150,000 containers on 5,000 nodes.
    #[test]
    #[ignore = "timing check, run in release"]
    fn scale_150k_containers() {
        let mut s = Signals::default();
        for n in 0..5_000 {
            s.nodes.push(node(&format!("node-{n:04}"), n % 500 != 7));
        }
        for p in 0..150_000 {
            let pod = format!("app-{p:06}-x7k2p");
            let mut c = container(&format!("ns-{:03}", p % 300), &pod, "app");
            if p % 100 == 0 {
                c.onset_minutes_ago = Some(20.0);
                c.mem_slope_per_min = MI;
            }
            s.pod_nodes
                .push(((c.namespace.clone(), pod), format!("node-{:04}", p % 5_000)));
            s.containers.push(c);
        }
        let start = std::time::Instant::now();
        let out = samples(&s, &times()[9..], cap(), &mut Rng::new(1));
        let took = start.elapsed();
        let bytes: usize = out
            .iter()
            .map(|m| m.pods.as_ref().unwrap().get().len())
            .sum();
        eprintln!("samples: 4 × 150k containers in {took:?}, {bytes} bytes of pods");
        let start = std::time::Instant::now();
        let prom = prometheus(&s, cap(), 120.0, 60, &mut Rng::new(1));
        let bytes: usize = prom.values().map(|v| v.get().len()).sum();
        eprintln!("prometheus: {:?}, {bytes} bytes", start.elapsed());
        assert!(took.as_secs_f64() < 10.0);
    }
}
