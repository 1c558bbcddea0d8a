//! Infrastructure and control-plane incidents: nodes that stop reporting, flap or run out
//! of memory, disk or PIDs; Services that select nothing or the wrong port; cluster DNS
//! down; an expired certificate at the edge; a drain stuck on a disruption budget; an
//! autoscaler at its ceiling; a CronJob that stopped running. Plus the near misses that
//! sit beside such incidents in real clusters (a node that blipped and recovered, an app
//! scaled to zero on purpose, a harmless Service edit, an HPA busy but within range).
//!
//! Each fault writes what the components that observe it would write: node conditions and
//! taints as the kubelet and the node lifecycle controller set them, events with the
//! reasons and messages of the kubelet, node controller, taint-eviction controller,
//! scheduler, eviction manager, HPA and disruption controller, log lines of kube-proxy,
//! CoreDNS and ingress-nginx, and the signals (errors, resets, load) of the workloads hit.
//!
//! Layout: this file holds the kinds, the dispatch and the small helpers every fault uses
//! (parameters, timestamps in the components' log formats, quantities); the world edits
//! several faults share live in [`cluster`] (pods, nodes, Services, endpoints),
//! [`lifecycle`] (pods created, deleted, evicted; controller status) and [`traffic`] (the
//! callers of a Service, the ingress edge); each family of faults has its own file.

mod autoscaling;
mod cluster;
mod cronjobs;
mod dns;
mod drain;
mod lifecycle;
mod node_state;
mod pressure;
mod services;
mod tls;
mod traffic;

use serde_json::{Value, json};

use crate::scenario::Fault;
use crate::topology::Topology;
use crate::world::World;

use autoscaling::hpa;
use cluster::pod_node;
use cronjobs::cronjob_stopped;
use dns::dns_outage;
use drain::pdb_blocks_drain;
use node_state::{node_blip, node_flap, node_notready};
use pressure::node_pressure;
use services::{scale_to_zero, service_edit, service_port_mismatch, service_selector_mismatch};
use tls::tls_expired;

pub const KINDS: &[&str] = &[
    "node-notready",
    "node-flap",
    "node-pressure",
    "service-selector-mismatch",
    "service-port-mismatch",
    "dns-outage",
    "tls-expired",
    "pdb-blocks-drain",
    "hpa-at-max",
    "cronjob-stopped",
    "node-blip",
    "scale-to-zero",
    "service-edit",
    "hpa-scaled",
];

pub fn apply(world: &mut World, topo: &mut Topology, f: &Fault) -> Option<Result<(), String>> {
    let r = match f.kind.as_str() {
        "node-notready" => node_notready(world, topo, f),
        "node-flap" => node_flap(world, topo, f),
        "node-pressure" => node_pressure(world, topo, f),
        "service-selector-mismatch" => service_selector_mismatch(world, f),
        "service-port-mismatch" => service_port_mismatch(world, f),
        "dns-outage" => dns_outage(world, f),
        "tls-expired" => tls_expired(world, f),
        "pdb-blocks-drain" => pdb_blocks_drain(world, topo, f),
        "hpa-at-max" => hpa(world, f, true),
        "cronjob-stopped" => cronjob_stopped(world, f),
        "node-blip" => node_blip(world, topo, f),
        "scale-to-zero" => scale_to_zero(world, f),
        "service-edit" => service_edit(world, f),
        "hpa-scaled" => hpa(world, f, false),
        _ => return None,
    };
    Some(r)
}

const MI: f64 = 1024.0 * 1024.0;
const GI: f64 = 1024.0 * MI;

// -- parameters -------------------------------------------------------------------------------

fn flag(f: &Fault, key: &str) -> Option<bool> {
    f.params.get(key).and_then(Value::as_bool)
}

fn strings(f: &Fault, key: &str) -> Vec<String> {
    f.params
        .get(key)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// `ns/app` or `app` (in the fault's namespace).
fn ns_app<'a>(f: &'a Fault, s: &'a str) -> (&'a str, &'a str) {
    s.split_once('/').unwrap_or((f.namespace.as_str(), s))
}

/// The node a fault names: `node` as `<pool>-<index>` or a node name, or `with:<app>` /
/// `with:<ns>/<app>` for the node running that app's first pod (robust to placement).
fn target_node(world: &World, topo: &Topology, f: &Fault) -> Result<String, String> {
    if let Some(spec) = f.node.as_deref().and_then(|n| n.strip_prefix("with:")) {
        let (ns, app) = ns_app(f, spec);
        return world
            .pods_of(ns, app)
            .iter()
            .find_map(|p| pod_node(world, ns, p))
            .ok_or_else(|| format!("no running pod of {ns}/{app} to find a node by"));
    }
    f.node_name(topo)
}

// -- time and log formatting -----------------------------------------------------------------

fn instant(world: &World, minutes_ago: f64) -> jiff::Timestamp {
    let ms = (minutes_ago * 60_000.0).round() as i64;
    world
        .capture
        .checked_sub(jiff::SignedDuration::from_millis(ms))
        .unwrap_or(world.capture)
}

/// A klog line (`W1124 13:41:07.412385       1 reflector.go:561] …`) at a time.
fn klog(world: &World, level: char, minutes_ago: f64, pid: u32, source: &str, msg: &str) -> String {
    let t = instant(world, minutes_ago);
    let micros = t.as_millisecond().rem_euclid(1000) * 1000
        + ((minutes_ago * 7919.0).abs() as i64).rem_euclid(1000);
    format!(
        "{level}{} {}.{micros:06} {pid:>7} {source}] {msg}",
        t.strftime("%m%d"),
        t.strftime("%H:%M:%S")
    )
}

/// A time as Go prints a `time.Time` in UTC (`2026-11-24 12:25:00 +0000 UTC`).
fn go_time(world: &World, minutes_ago: f64) -> String {
    instant(world, minutes_ago)
        .strftime("%Y-%m-%d %H:%M:%S +0000 UTC")
        .to_string()
}

/// A PostgreSQL log prefix (`2026-11-24 13:46:12.345 UTC [1] `).
fn pg_prefix(world: &World, minutes_ago: f64, pid: u32) -> String {
    let t = instant(world, minutes_ago);
    format!(
        "{}.{:03} UTC [{pid}] ",
        t.strftime("%Y-%m-%d %H:%M:%S"),
        t.as_millisecond().rem_euclid(1000)
    )
}

/// A line as `kubectl logs --timestamps` shows it for software without its own timestamp.
fn stamped(world: &World, minutes_ago: f64, text: &str) -> String {
    let t = instant(world, minutes_ago);
    format!(
        "{}.{:03}Z {text}",
        t.strftime("%Y-%m-%dT%H:%M:%S"),
        t.as_millisecond().rem_euclid(1000)
    )
}

fn managed(manager: &str, time: &str, fields: Value) -> Value {
    json!({"manager": manager, "operation": "Update", "apiVersion": "v1", "time": time,
        "fieldsType": "FieldsV1", "fieldsV1": fields})
}

/// Appends a managedFields entry (an edit by `manager` at a time).
fn record_edit(obj: &mut Value, entry: Value) {
    match obj["metadata"]["managedFields"].as_array_mut() {
        Some(a) => a.push(entry),
        None => obj["metadata"]["managedFields"] = json!([entry]),
    }
}

/// A Kubernetes quantity of bytes as the kubelet prints one (`61392184Ki`).
fn ki(bytes: f64) -> String {
    format!("{}Ki", (bytes / 1024.0).round().max(1.0) as u64)
}

/// Bytes of a memory or storage quantity (`512Mi`, `1Gi`, `104845292Ki`, `95551679124`).
fn bytes_of(q: &str) -> Option<f64> {
    let units = [
        ("Ki", 1024.0),
        ("Mi", MI),
        ("Gi", GI),
        ("Ti", GI * 1024.0),
        ("k", 1e3),
        ("M", 1e6),
        ("G", 1e9),
    ];
    for (u, m) in units {
        if let Some(n) = q.strip_suffix(u) {
            return n.parse::<f64>().ok().map(|x| x * m);
        }
    }
    q.parse().ok()
}
