//! Consolidation in the optimize report: the scheduler engine's
//! [`intel_scheduler::consolidate`] on the cluster as requested, and again with the
//! rightsizing applied first (pods' requests set to the proposals), each with the nodes,
//! request-based and usage-based utilization before and after, and the commands that
//! empty each freed node. The cluster is the same afterwards (every run is reverted).

use std::collections::BTreeMap;

use serde::Serialize;

use intel_scheduler::Cluster;
use intel_scheduler::consolidate::{self as engine, Consolidation, Settings};

use super::rightsize::Rightsizing;
use crate::diagnose::remedy::values::shell_quote;

/// Average use per pod, (namespace, name) → (millicores, bytes).
pub type PodUsage = BTreeMap<(String, String), (f64, f64)>;

/// Nodes and how full they are.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Totals {
    pub nodes: usize,
    pub cpu_allocatable_millis: i64,
    pub memory_allocatable_bytes: i64,
    pub cpu_requested_millis: i64,
    pub memory_requested_bytes: i64,
    /// Requests over allocatable, percent.
    pub cpu_request_percent: f64,
    pub memory_request_percent: f64,
    /// Average use over allocatable, percent; `None` without usage data.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_usage_percent: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory_usage_percent: Option<f64>,
}

/// One consolidation: what it frees, what it keeps, and the cluster before and after.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Outcome {
    pub before: Totals,
    pub after: Totals,
    #[serde(flatten)]
    pub result: Consolidation,
}

/// Consolidation as requested and after the rightsizing.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Consolidations {
    pub as_requested: Outcome,
    /// With every rightsizing proposal applied first; `None` when there is none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rightsized: Option<Outcome>,
}

fn percent(part: f64, whole: i64) -> f64 {
    if whole > 0 {
        (part / whole as f64 * 1000.0).round() / 10.0
    } else {
        0.0
    }
}

/// The nodes still in service (not freed), their allocatable, requests and use.
pub fn totals(cluster: &Cluster, freed: &[String], usage: &PodUsage) -> Totals {
    let mut t = Totals::default();
    let (mut cpu_used, mut mem_used) = (0.0, 0.0);
    for n in &cluster.nodes {
        if freed.contains(&n.name) {
            continue;
        }
        t.nodes += 1;
        t.cpu_allocatable_millis += n.allocatable.milli_cpu;
        t.memory_allocatable_bytes += n.allocatable.memory;
        t.cpu_requested_millis += n.requested.milli_cpu;
        t.memory_requested_bytes += n.requested.memory;
        for &p in &n.pods {
            let pod = &cluster.pods[p];
            if let Some((c, m)) = usage.get(&(pod.namespace.clone(), pod.name.clone())) {
                cpu_used += c;
                mem_used += m;
            }
        }
    }
    t.cpu_request_percent = percent(t.cpu_requested_millis as f64, t.cpu_allocatable_millis);
    t.memory_request_percent = percent(t.memory_requested_bytes as f64, t.memory_allocatable_bytes);
    if !usage.is_empty() {
        t.cpu_usage_percent = Some(percent(cpu_used, t.cpu_allocatable_millis));
        t.memory_usage_percent = Some(percent(mem_used, t.memory_allocatable_bytes));
    }
    t
}

fn run(cluster: &mut Cluster, settings: &Settings, usage: &PodUsage) -> Outcome {
    let before = totals(cluster, &[], usage);
    let mark = cluster.mark();
    let result = engine::consolidate(cluster, settings);
    let freed: Vec<String> = result.freed.iter().map(|f| f.node.clone()).collect();
    let after = totals(cluster, &freed, usage);
    cluster.revert(mark);
    Outcome {
        before,
        after,
        result,
    }
}

/// Applies the rightsizing proposals to the pods the workloads run now: each pod's
/// requests move by the difference between proposed and current, per container.
pub(super) fn apply(cluster: &mut Cluster, rows: &[Rightsizing]) -> usize {
    let mut delta: BTreeMap<usize, (i64, i64)> = BTreeMap::new();
    for r in rows {
        let cpu = r
            .cpu
            .value
            .map_or(0, |p| p - r.current.cpu_request.unwrap_or(0));
        let mem = r
            .memory
            .value
            .map_or(0, |p| p - r.current.memory_request.unwrap_or(0));
        if cpu == 0 && mem == 0 {
            continue;
        }
        for (ns, name) in &r.pods {
            if let Some(i) = cluster.pod(ns, name) {
                let d = delta.entry(i).or_default();
                d.0 += cpu;
                d.1 += mem;
            }
        }
    }
    for (&i, &(cpu, mem)) in &delta {
        let pod = &cluster.pods[i];
        let mut requests = pod.requests.clone();
        requests.milli_cpu = (requests.milli_cpu + cpu).max(0);
        requests.memory = (requests.memory + mem).max(0);
        let non_zero = ((pod.non_zero.0 + cpu).max(0), (pod.non_zero.1 + mem).max(0));
        cluster.resize(i, requests, non_zero);
    }
    delta.len()
}

/// Consolidation as requested, then with the rightsizing applied (when it changes any pod).
pub fn consolidate(
    cluster: &mut Cluster,
    rows: &[Rightsizing],
    settings: &Settings,
    usage: &PodUsage,
) -> Consolidations {
    let as_requested = run(cluster, settings, usage);
    let mark = cluster.mark();
    let rightsized = (apply(cluster, rows) > 0).then(|| {
        let mut r = run(cluster, settings, usage);
        // Before means the cluster as it is: the rightsizing is part of the change.
        r.before = as_requested.before.clone();
        r
    });
    cluster.revert(mark);
    Consolidations {
        as_requested,
        rightsized,
    }
}

/// The commands that empty one freed node: cordon, drain with the flags its pods need,
/// and a check that only the pods that stay are left.
pub fn drain_steps(cluster: &Cluster, freed: &engine::Freed) -> Vec<String> {
    let node = shell_quote(&freed.node);
    let mut flags = String::from(" --ignore-daemonsets");
    let pods = cluster
        .node(&freed.node)
        .map(|n| n.pods.clone())
        .unwrap_or_default();
    let empty_dir = pods.iter().any(|&p| {
        cluster.pods[p]
            .spec
            .volumes
            .iter()
            .flatten()
            .any(|v| v.empty_dir.is_some())
    });
    if empty_dir {
        flags.push_str(" --delete-emptydir-data");
    }
    // A pod no controller owns (allowed by safe-to-evict) needs --force: nothing
    // recreates it, which the drain then accepts.
    let moved: Vec<&str> = freed.moves.iter().map(|m| m.pod.as_str()).collect();
    let unowned = pods.iter().any(|&p| {
        let pod = &cluster.pods[p];
        pod.drain.controller.is_none()
            && moved.contains(&format!("{}/{}", pod.namespace, pod.name).as_str())
    });
    if unowned {
        flags.push_str(" --force");
    }
    vec![
        format!("kubectl cordon {node}"),
        format!("kubectl drain {node}{flags} --timeout=10m"),
    ]
}
