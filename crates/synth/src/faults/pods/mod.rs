//! Pod-level incidents as the kubelet, the scheduler and the controllers report them: an
//! image that cannot be pulled, a container whose environment cannot be assembled, pods the
//! scheduler cannot place (its message computed from the generated cluster's real nodes,
//! taints, labels, zones and requests, so it is true), misconfigured probes — and the
//! near-misses that make a bundle honest (a pull that failed once and recovered, a Job pod
//! pending for a few seconds, a restart days ago, an HPA scale-up that went fine).
//!
//! Most of these faults arrive with a change to a workload. They share a *stuck rollout*: a
//! new ReplicaSet whose pods never become available while the old ReplicaSet keeps serving,
//! the state a RollingUpdate (25% surge, 25% unavailable) settles in; with
//! `strategy: Recreate` the old pods are gone first and nothing serves.
//!
//! Parameters common to the rollout-based kinds: `version` (the new image tag; the image is
//! unchanged without it), `strategy` (`Recreate` makes the Deployment use it), `count` (how
//! many pods the new ReplicaSet has; default what the strategy allows), `manager` (the
//! field manager recorded for the change), `since` (minutes before capture of the change).
//!
//! Layout: this file holds the kinds, the dispatch and the quantity helpers; the stuck
//! rollout every rollout-based kind shares lives in [`rollout`] (and the scale-up and
//! StatefulSet update in [`scale_out`]), the controllers' status recomputation in
//! [`controllers`], the scheduler's filters in [`scheduler`] and the edits of pods, their
//! status and signals in [`pod`]; each family of faults has its own file.

mod config_error;
mod controllers;
mod image_pull;
mod misc;
mod pending;
mod pod;
mod probe;
mod rollout;
mod scale_out;
mod scheduler;

use serde_json::Value;

use crate::rng::Rng;
use crate::scenario::Fault;
use crate::topology::Topology;
use crate::world::World;

use config_error::config_error;
use image_pull::image_pull;
use misc::{past_restart, reconcile_fault, scale_fault};
use pending::pending;
use probe::probe;

pub const KINDS: &[&str] = &[
    "image-pull",
    "config-error",
    "pending",
    "probe",
    "scale",
    "past-restart",
    "reconcile",
];

pub fn apply(world: &mut World, topo: &mut Topology, f: &Fault) -> Option<Result<(), String>> {
    let r = match f.kind.as_str() {
        "image-pull" => image_pull(world, topo, f),
        "config-error" => config_error(world, topo, f),
        "pending" => pending(world, topo, f),
        "probe" => probe(world, topo, f),
        "scale" => scale_fault(world, topo, f),
        "past-restart" => past_restart(world, f),
        "reconcile" => reconcile_fault(world, f),
        _ => return None,
    };
    Some(r)
}

// ---------------------------------------------------------------------------------------
// Quantities

fn quantity_str(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// CPU in millicores (`250m`, `2`, `1.5`).
fn cpu_m(v: &Value) -> f64 {
    let Some(s) = quantity_str(v) else {
        return 0.0;
    };
    match s.strip_suffix('m') {
        Some(m) => m.parse().unwrap_or(0.0),
        None => s.parse::<f64>().map(|c| c * 1000.0).unwrap_or(0.0),
    }
}

/// Memory in bytes (`512Mi`, `4Gi`, `30870077Ki`, `1G`).
fn bytes(v: &Value) -> f64 {
    let Some(s) = quantity_str(v) else {
        return 0.0;
    };
    const UNITS: [(&str, f64); 8] = [
        ("Ki", 1024.0),
        ("Mi", 1048576.0),
        ("Gi", 1073741824.0),
        ("Ti", 1099511627776.0),
        ("k", 1e3),
        ("M", 1e6),
        ("G", 1e9),
        ("T", 1e12),
    ];
    for (suffix, mult) in UNITS {
        if let Some(n) = s.strip_suffix(suffix) {
            return n.parse::<f64>().unwrap_or(0.0) * mult;
        }
    }
    s.parse().unwrap_or(0.0)
}

/// Requested (cpu millicores, memory bytes) of a pod spec.
fn spec_requests(spec: &Value) -> (f64, f64) {
    spec["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .fold((0.0, 0.0), |(c, m), x| {
            (
                c + cpu_m(&x["resources"]["requests"]["cpu"]),
                m + bytes(&x["resources"]["requests"]["memory"]),
            )
        })
}

fn fmt_cpu(m: f64) -> String {
    let m = m.round() as u64;
    if m % 1000 == 0 {
        format!("{}", m / 1000)
    } else {
        format!("{m}m")
    }
}

fn fmt_mem(b: f64) -> String {
    let b = b.round() as u64;
    for (unit, size) in [("Gi", 1u64 << 30), ("Mi", 1 << 20), ("Ki", 1 << 10)] {
        if b >= size && b % size == 0 {
            return format!("{}{unit}", b / size);
        }
    }
    b.to_string()
}

/// Random numbers that depend on the label only, so that names this module invents stay
/// the same when the rest of the generator changes.
fn stable_rng(label: &str) -> Rng {
    Rng::new(0x706f_6473).fork(label)
}
