//! Prometheus range-query answers (matrices) of the usage model, at most [`MAX_SERIES`]
//! per metric, faulty containers first.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use jiff::Timestamp;
use serde_json::value::RawValue;

use crate::logs::push_json_str;
use crate::rng::Rng;
use crate::signals::{ContainerSignals, Signals};

use super::*;

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

/// One series of a matrix: its labels (in Prometheus' sorted order) and its points.
pub(super) struct Series {
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
pub(super) struct Matrix {
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
