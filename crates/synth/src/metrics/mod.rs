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

use intel_model::MetricsSample;

use super::logs::{push_json_str, push_rfc3339_seconds};
use super::rng::Rng;
use super::signals::Signals;

mod model;
mod prometheus;
#[cfg(test)]
mod tests;

use model::*;
pub use prometheus::prometheus;

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
