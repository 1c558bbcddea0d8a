//! Resources from evidence: what a changed workload's containers use now (this cluster's
//! metrics.k8s.io samples), and what the new version uses where it already runs (the
//! same workload in a baseline cluster, e.g. staging, running the new image). Each figure
//! says its basis: which cluster, how many pods and samples, which percentile. A new
//! version measured above its memory limit is predicted to be OOM-killed, so its pods
//! never become ready in the simulation.

use serde::Serialize;
use serde_json::Value;

use intel_model::Snapshot;
use intel_model::quantity::value;
use intel_model::usage::Usage;

use super::plan::Plan;
use super::target::{Catalog, Workload};

/// One container's usage, now and projected.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Projection {
    pub workload: String,
    pub container: String,
    /// p95 of memory over every sample of every pod of the current version, bytes.
    pub current_memory_p95: Option<i64>,
    pub current_cpu_p95_millis: Option<i64>,
    pub current_basis: String,
    /// p95 of the new version's memory where it was measured, bytes.
    pub new_memory_p95: Option<i64>,
    pub new_cpu_p95_millis: Option<i64>,
    pub new_basis: String,
    /// The new version's memory against the current one's, in percent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory_change_percent: Option<i64>,
    /// The memory limit and request the new version would run with, bytes.
    pub memory_limit: Option<i64>,
    pub memory_request: Option<i64>,
}

fn p95(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let rank = ((v.len() as f64) * 0.95).ceil() as usize;
    v.get(rank.saturating_sub(1)).copied()
}

/// Memory and CPU p95 of one container over the pods named, with the sample count.
fn measure(
    usage: &Usage,
    ns: &str,
    pods: &[(String, bool)],
    container: &str,
) -> (Option<i64>, Option<i64>, usize, usize) {
    let mut mem = Vec::new();
    let mut cpu = Vec::new();
    let mut pods_seen = 0;
    for (pod, _) in pods {
        let series: Vec<_> = usage
            .pod(ns, pod)
            .into_iter()
            .filter(|(c, _)| *c == container)
            .collect();
        if !series.is_empty() {
            pods_seen += 1;
        }
        for (_, readings) in series {
            for r in readings {
                mem.push(r.memory_bytes);
                cpu.push(r.cpu_millis);
            }
        }
    }
    let n = mem.len();
    (
        p95(mem).map(|m| m as i64),
        p95(cpu).map(|c| c as i64),
        pods_seen,
        n,
    )
}

fn container<'a>(w: &'a Value, name: &str) -> Option<&'a Value> {
    w.pointer("/spec/template/spec/containers")?
        .as_array()?
        .iter()
        .find(|c| c.get("name").and_then(Value::as_str) == Some(name))
}

fn memory(c: Option<&Value>, side: &str) -> Option<i64> {
    c?.pointer(&format!("/resources/{side}/memory"))?
        .as_str()
        .and_then(value)
}

fn image(c: Option<&Value>) -> Option<&str> {
    c?.get("image")?.as_str()
}

pub fn mib(bytes: i64) -> String {
    format!("{}Mi", (bytes + (1 << 20) - 1) >> 20)
}

/// Another workload of the same cluster running the new image.
struct Canary {
    label: String,
    namespace: String,
    container: String,
    image: String,
    pods: Vec<(String, bool)>,
}

/// The projections of every changed workload's containers (the ones that exist now).
pub fn project(
    snap: &Snapshot,
    baseline: Option<&Snapshot>,
    plan: &Plan,
) -> (Vec<Projection>, Vec<String>) {
    let mut out = Vec::new();
    let mut limits = Vec::new();
    let changed: Vec<&Workload> = plan
        .workloads
        .iter()
        .filter(|w| w.before.is_some())
        .collect();
    if changed.is_empty() {
        return (out, limits);
    }
    // A canary in this cluster: another workload already running a changed container's
    // new image, keyed by (workload, container).
    let catalog = Catalog::new(snap);
    let mut canaries: std::collections::BTreeMap<(String, String), Canary> = Default::default();
    for w in &changed {
        for name in w.container_names() {
            let before = w.before.as_ref().and_then(|b| container(b, &name));
            let Some(new) = image(container(&w.after, &name)) else {
                continue;
            };
            if Some(new) == image(before) {
                continue;
            }
            let found = catalog
                .running(new)
                .into_iter()
                .find(|(k, ns, n, _)| !(k == &w.kind && ns == &w.namespace && n == &w.name));
            if let Some((k, ns, n, c)) = found {
                let pods = catalog.pods_of(&k, &ns, &n);
                canaries.insert(
                    (w.label(), name.clone()),
                    Canary {
                        label: format!("{k} {ns}/{n}"),
                        namespace: ns,
                        container: c,
                        image: new.to_string(),
                        pods,
                    },
                );
            }
        }
    }
    // Only the changed workloads' (and their canaries') pods are read from the samples.
    let wanted: std::collections::BTreeSet<(&str, &str)> = changed
        .iter()
        .flat_map(|w| {
            w.pods
                .iter()
                .map(|(p, _)| (w.namespace.as_str(), p.as_str()))
        })
        .chain(canaries.values().flat_map(|c| {
            c.pods
                .iter()
                .map(|(p, _)| (c.namespace.as_str(), p.as_str()))
        }))
        .collect();
    let usage = (!snap.metrics.is_empty())
        .then(|| Usage::build_for(snap, |ns, pod| wanted.contains(&(ns, pod))));
    if usage.is_none() {
        limits.push(format!(
            "Cluster {} has no metrics samples: the changed workloads' current usage is unknown, so no figure is projected.",
            snap.cluster()
        ));
    }
    let base = baseline.map(|b| (b, Catalog::new(b), b.usage()));
    for w in changed {
        for name in w.container_names() {
            let after = container(&w.after, &name);
            let before = w.before.as_ref().and_then(|b| container(b, &name));
            let (cur_mem, cur_cpu, pods, samples) =
                usage.as_ref().map_or((None, None, 0, 0), |u| {
                    measure(u, &w.namespace, &w.pods, &name)
                });
            let current_basis = if samples == 0 {
                format!("no samples of {name} in cluster {}", snap.cluster())
            } else {
                format!(
                    "p95 of {samples} samples of {pods} pod(s) in cluster {} (image {})",
                    snap.cluster(),
                    image(before).unwrap_or("?")
                )
            };
            let mut p = Projection {
                workload: w.label(),
                container: name.clone(),
                current_memory_p95: cur_mem,
                current_cpu_p95_millis: cur_cpu,
                current_basis,
                new_memory_p95: None,
                new_cpu_p95_millis: None,
                new_basis: "the new version was not measured anywhere: give --baseline-from a cluster where it runs".into(),
                memory_change_percent: None,
                memory_limit: memory(after, "limits"),
                memory_request: memory(after, "requests"),
            };
            if let Some((b, catalog, busage)) = &base {
                let same_ns = catalog
                    .workload(&w.kind, &w.namespace, &w.name)
                    .map(|v| (w.namespace.clone(), v));
                let found = same_ns.or_else(|| {
                    catalog
                        .resolve(
                            "--baseline-from",
                            &format!("{}/{}", w.kind.to_ascii_lowercase(), w.name),
                            None,
                        )
                        .ok()
                        .and_then(|(k, ns, n, _)| catalog.workload(&k, &ns, &n).map(|v| (ns, v)))
                });
                match found {
                    Some((ns, bw)) => {
                        let bc = container(&bw, &name);
                        let new_image = image(after);
                        if image(bc) == new_image && new_image != image(before)
                            || image(bc) == new_image && before.is_none()
                        {
                            let pods = catalog.pods_of(&w.kind, &ns, &w.name);
                            let (m, c, np, ns_samples) = measure(busage, &ns, &pods, &name);
                            if ns_samples > 0 {
                                p.new_memory_p95 = m;
                                p.new_cpu_p95_millis = c;
                                p.new_basis = format!(
                                    "p95 of {ns_samples} samples of {np} pod(s) of {}/{} in cluster {} (image {})",
                                    ns,
                                    w.name,
                                    b.cluster(),
                                    new_image.unwrap_or("?")
                                );
                            } else {
                                p.new_basis = format!(
                                    "cluster {} runs the new image in {ns}/{} but holds no samples of it",
                                    b.cluster(),
                                    w.name
                                );
                            }
                        } else if new_image == image(before) {
                            p.new_basis =
                                "the image does not change: the current usage is the new version's"
                                    .into();
                            p.new_memory_p95 = cur_mem;
                            p.new_cpu_p95_millis = cur_cpu;
                        } else {
                            p.new_basis = format!(
                                "cluster {} runs {} in {ns}/{}, not the new image {}: not a measure of the new version",
                                b.cluster(),
                                image(bc).unwrap_or("?"),
                                w.name,
                                new_image.unwrap_or("?")
                            );
                        }
                    }
                    None => {
                        p.new_basis =
                            format!("cluster {} has no {} named {}", b.cluster(), w.kind, w.name);
                    }
                }
            } else if image(after) == image(before) {
                p.new_basis =
                    "the image does not change: the current usage is the new version's".into();
                p.new_memory_p95 = cur_mem;
                p.new_cpu_p95_millis = cur_cpu;
            }
            // No measure elsewhere: a canary here.
            if !p.new_basis.starts_with("p95") {
                if let (Some(c), Some(u)) =
                    (canaries.get(&(w.label(), name.clone())), usage.as_ref())
                {
                    let (m, cpu, np, n) = measure(u, &c.namespace, &c.pods, &c.container);
                    if n > 0 {
                        p.new_memory_p95 = m;
                        p.new_cpu_p95_millis = cpu;
                        p.new_basis = format!(
                            "p95 of {n} samples of {np} pod(s) of {} in cluster {}, which already runs the new image {} (a canary)",
                            c.label,
                            snap.cluster(),
                            c.image
                        );
                    }
                }
            }
            if let (Some(n), Some(c)) = (p.new_memory_p95, p.current_memory_p95) {
                if c > 0 && p.new_basis.starts_with("p95") {
                    p.memory_change_percent =
                        Some(((n - c) as f64 * 100.0 / c as f64).round() as i64);
                }
            }
            out.push(p);
        }
    }
    (out, limits)
}

/// Marks the workloads whose new version was measured above the memory limit it would
/// run with in `plan` (which may carry a strategy's raised limit).
pub fn apply(projections: &[Projection], plan: &mut Plan) {
    for w in plan.workloads.iter_mut() {
        w.crash = None;
        let label = w.label();
        for p in projections
            .iter()
            .filter(|p| p.workload == label && p.new_basis.starts_with("p95"))
        {
            let limit = memory(container(&w.after, &p.container), "limits");
            if let (Some(n), Some(l)) = (p.new_memory_p95, limit) {
                if n > l {
                    w.crash = Some(format!(
                        "container {} of the new version used {} of memory ({}), over its limit of {}: it would be OOMKilled and never become ready",
                        p.container,
                        mib(n),
                        p.new_basis,
                        mib(l)
                    ));
                }
            }
        }
    }
}
