//! Rightsizing per container from the usage the snapshot holds, with krr's `simple`
//! strategy as robusta-dev/krr computes it (`robusta_krr/strategies/simple.py`):
//!
//! - CPU request: the 95th percentile of each pod's CPU use over the history (linear
//!   interpolation, as numpy and Prometheus' `quantile_over_time` compute it), the largest
//!   over the pods; CPU limit: unset.
//! - Memory request and limit: the largest working set of any pod, plus 15%; when the
//!   container was OOM-killed, at least its memory limit then plus 25% (krr's
//!   `--use_oomkill_data`, on here: a recommendation under the limit that was already too
//!   small would be wrong).
//! - Fewer than 100 points across the pods: "not enough data", no number. A workload
//!   scaled by an HPA on CPU (or memory) gets none for that resource ("HPA detected").
//! - Rounded as krr's runner does: CPU up to the millicore, at least 10m; memory up to the
//!   MiB, at least 100Mi.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use intel_engine::{ObjectRef, RelationKind, Relations};
use intel_model::Snapshot;
use intel_model::quantity;

use super::vpa::{Estimates, Vpa};
use crate::detect::ContainerSeries;
use crate::diagnose::remedy::values::shell_quote;

/// krr `simple`'s defaults, with the OOM data on.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Simple {
    pub cpu_percentile: f64,
    pub memory_buffer_percentage: f64,
    pub points_required: usize,
    pub oom_memory_buffer_percentage: f64,
    pub allow_hpa: bool,
}

impl Default for Simple {
    fn default() -> Self {
        Simple {
            cpu_percentile: 95.0,
            memory_buffer_percentage: 15.0,
            points_required: 100,
            oom_memory_buffer_percentage: 25.0,
            allow_hpa: false,
        }
    }
}

const MIB: f64 = 1024.0 * 1024.0;
/// krr's `--cpu-min-value` (millicores) and `--mem-min-value` (MiB).
const CPU_MIN: i64 = 10;
const MEMORY_MIN_MIB: i64 = 100;

/// One resource's proposal, or why there is none.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Proposal {
    /// Millicores for CPU, bytes for memory.
    pub value: Option<i64>,
    /// `Not enough data (N points, M needed)`, `HPA detected`, `OOMKill detected`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub info: Option<String>,
}

/// Requests and limits as the pod template has them (millicores, bytes).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Current {
    pub cpu_request: Option<i64>,
    pub cpu_limit: Option<i64>,
    pub memory_request: Option<i64>,
    pub memory_limit: Option<i64>,
}

/// What the proposal was computed from.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Basis {
    /// `prometheus` (range series) or `metrics.k8s.io` (samples).
    pub source: String,
    pub pods: usize,
    pub cpu_points: usize,
    pub memory_points: usize,
    /// From the first to the last point, seconds.
    pub span_seconds: i64,
    /// The largest per-pod CPU percentile, millicores, before rounding.
    pub cpu_percentile_millis: Option<f64>,
    /// The largest working set, bytes.
    pub memory_max_bytes: Option<f64>,
    pub oom_kills: usize,
    /// The memory limit the OOM-killed container had, bytes.
    pub oom_limit_bytes: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Rightsizing {
    /// `Deployment shop/web`.
    pub subject: String,
    pub container: String,
    pub replicas: i64,
    pub current: Current,
    pub cpu: Proposal,
    pub memory: Proposal,
    pub basis: Basis,
    /// The VPA recommender's estimates (target and bounds, confidence), with `--strategy vpa`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vpa: Option<Estimates>,
    /// The commands that apply it (empty when there is nothing to apply).
    pub patch: Vec<String>,
    /// The container's position in the pod template (for a JSON patch).
    #[serde(skip)]
    index: usize,
    /// The workload's pods now, (namespace, name): where a proposal would apply.
    #[serde(skip)]
    pub pods: Vec<(String, String)>,
}

/// `q`-th percentile (0–100) with linear interpolation between closest ranks.
pub fn percentile(values: &[f64], q: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let rank = q / 100.0 * (v.len() - 1) as f64;
    let (lo, hi) = (rank.floor() as usize, rank.ceil() as usize);
    Some(v[lo] + (v[hi] - v[lo]) * (rank - lo as f64))
}

fn round_cpu(millis: f64) -> i64 {
    (millis.ceil() as i64).max(CPU_MIN)
}

fn round_memory(bytes: f64) -> i64 {
    let mib = (bytes / MIB).ceil() as i64;
    mib.max(MEMORY_MIN_MIB) * (1 << 20)
}

/// The resources an HPA of `w` scales on: `cpu`, `memory`.
pub(super) fn hpa_resources(snap: &Snapshot, rel: &Relations, w: &ObjectRef) -> Vec<String> {
    let mut out = Vec::new();
    for r in rel.to(w).iter() {
        if r.kind != RelationKind::Scales || r.from.kind != "HorizontalPodAutoscaler" {
            continue;
        }
        let Some(obj) = snap
            .index()
            .by_name(&r.from.kind, &r.from.namespace, &r.from.name)
            .first()
            .and_then(|id| snap.get(*id))
        else {
            continue;
        };
        let v = obj.value();
        if v.pointer("/spec/targetCPUUtilizationPercentage").is_some() {
            out.push("cpu".to_string());
        }
        for m in v
            .pointer("/spec/metrics")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let name = m
                .pointer("/resource/name")
                .or_else(|| m.pointer("/containerResource/name"))
                .and_then(Value::as_str);
            if let Some(n) = name {
                out.push(n.to_string());
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// A container's current requests and limits from the workload's template.
fn current(template: &Value) -> Current {
    let q = |path: &str, f: fn(&str) -> Option<i64>| {
        template.pointer(path).and_then(Value::as_str).and_then(f)
    };
    Current {
        cpu_request: q("/resources/requests/cpu", quantity::milli_value),
        cpu_limit: q("/resources/limits/cpu", quantity::milli_value),
        memory_request: q("/resources/requests/memory", quantity::value),
        memory_limit: q("/resources/limits/memory", quantity::value),
    }
}

/// Per pod of the container: its CPU points (millicores) and memory points (bytes).
type PodPoints = Vec<(Vec<(i64, f64)>, Vec<(i64, f64)>)>;

/// How many times the container's pods were OOM-killed, as their statuses show.
fn oom_kills(snap: &Snapshot, pods: &[ObjectRef], container: &str) -> usize {
    pods.iter()
        .filter_map(|p| {
            snap.index()
                .by_name("Pod", &p.namespace, &p.name)
                .first()
                .and_then(|id| snap.get(*id))
        })
        .filter(|o| {
            o.value()
                .pointer("/status/containerStatuses")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .any(|c| {
                    c["name"] == container
                        && (c.pointer("/lastState/terminated/reason")
                            == Some(&Value::from("OOMKilled"))
                            || c.pointer("/state/terminated/reason")
                                == Some(&Value::from("OOMKilled")))
                })
        })
        .count()
}

/// One workload as rightsizing reads it.
struct Workload<'a> {
    subject: String,
    /// Containers in the pod template (the VPA shares its per-pod minimums among them).
    containers: usize,
    replicas: i64,
    hpa: Vec<String>,
    pods: &'a [ObjectRef],
}

/// The proposal for container `index` (its `template`) of workload `w`.
#[allow(clippy::too_many_arguments)]
fn container(
    snap: &Snapshot,
    settings: &Simple,
    vpa: Option<&Vpa>,
    w: &Workload,
    index: usize,
    template: &Value,
    points: &PodPoints,
    source: &str,
) -> Rightsizing {
    let (hpa, pods) = (&w.hpa, w.pods);
    let name = template["name"].as_str().unwrap_or_default().to_string();
    let current = current(template);
    let cpu_points: usize = points.iter().map(|p| p.0.len()).sum();
    let memory_points: usize = points.iter().map(|p| p.1.len()).sum();
    let times: Vec<i64> = points
        .iter()
        .flat_map(|p| p.0.iter().chain(&p.1).map(|x| x.0))
        .collect();
    let span = times
        .iter()
        .max()
        .zip(times.iter().min())
        .map_or(0, |(a, b)| a - b);
    let cpu_pct = points
        .iter()
        .filter_map(|p| {
            let v: Vec<f64> = p.0.iter().map(|x| x.1).collect();
            percentile(&v, settings.cpu_percentile)
        })
        .fold(None, |m: Option<f64>, x| Some(m.map_or(x, |m| m.max(x))));
    let memory_max = points
        .iter()
        .flat_map(|p| p.1.iter().map(|x| x.1))
        .fold(None, |m: Option<f64>, x| Some(m.map_or(x, |m| m.max(x))));
    let kills = oom_kills(snap, pods, &name);
    let oom_limit = (kills > 0).then_some(current.memory_limit).flatten();
    let not_enough = |n: usize| Proposal {
        value: None,
        info: Some(format!(
            "Not enough data ({n} points, {} needed)",
            settings.points_required
        )),
    };
    let hpa_on = |r: &str| !settings.allow_hpa && hpa.iter().any(|h| h == r);
    let estimates = vpa.map(|v| {
        v.estimate(&super::vpa::Input {
            cpu: points.iter().map(|p| p.0.as_slice()).collect(),
            memory: points.iter().map(|p| p.1.as_slice()).collect(),
            cpu_request: current.cpu_request,
            memory_request: current.memory_request,
            oom_killed: kills > 0,
            containers: w.containers,
        })
    });
    // The VPA's target rounded up to the millicore and the MiB (what kubectl is given).
    let vpa_cpu = estimates
        .as_ref()
        .map(|e| e.cpu.map(|c| c.target.ceil() as i64));
    let vpa_memory = estimates
        .as_ref()
        .map(|e| e.memory.map(|m| ((m.target / MIB).ceil() as i64) << 20));
    let cpu = if cpu_points < settings.points_required {
        not_enough(cpu_points)
    } else if hpa_on("cpu") {
        Proposal {
            value: None,
            info: Some("HPA detected".into()),
        }
    } else {
        Proposal {
            value: vpa_cpu.unwrap_or(cpu_pct.map(round_cpu)),
            info: None,
        }
    };
    let memory = if memory_points < settings.points_required {
        not_enough(memory_points)
    } else if hpa_on("memory") {
        Proposal {
            value: None,
            info: Some("HPA detected".into()),
        }
    } else {
        let usage = memory_max.map(|m| m * (1.0 + settings.memory_buffer_percentage / 100.0));
        let after_oom = oom_limit
            .map(|l| l as f64 * (1.0 + settings.oom_memory_buffer_percentage / 100.0))
            .unwrap_or(0.0);
        Proposal {
            value: vpa_memory.unwrap_or(usage.map(|u| round_memory(u.max(after_oom)))),
            info: (kills > 0 && (vpa.is_some() || oom_limit.is_some()))
                .then(|| "OOMKill detected".to_string()),
        }
    };
    let mut r = Rightsizing {
        subject: w.subject.clone(),
        container: name,
        replicas: w.replicas,
        current,
        cpu,
        memory,
        basis: Basis {
            source: source.into(),
            pods: points.len(),
            cpu_points,
            memory_points,
            span_seconds: span,
            cpu_percentile_millis: cpu_pct,
            memory_max_bytes: memory_max,
            oom_kills: kills,
            oom_limit_bytes: oom_limit,
        },
        vpa: estimates,
        patch: Vec::new(),
        index,
        pods: pods
            .iter()
            .map(|p| (p.namespace.clone(), p.name.clone()))
            .collect(),
    };
    r.patch = patch(&r);
    r
}

/// `Deployment shop/web` → (`shop`, `deployment/web`), each quoted for a shell.
pub(super) fn ns_target(subject: &str) -> (String, String) {
    let (kind, rest) = subject.split_once(' ').unwrap_or_default();
    let (ns, name) = rest.split_once('/').unwrap_or_default();
    (
        shell_quote(ns),
        shell_quote(&format!("{}/{name}", kind.to_ascii_lowercase())),
    )
}

/// `kubectl set resources` with the proposed values, and the removal of a CPU limit the
/// strategy leaves unset.
fn patch(r: &Rightsizing) -> Vec<String> {
    let (ns, target) = ns_target(&r.subject);
    let mut requests = Vec::new();
    let mut limits = Vec::new();
    // The VPA keeps each limit in proportion to its request (`RequestsAndLimits`); krr
    // sets the memory limit to the request and leaves CPU unlimited.
    // A container with a limit and no request has the limit as its request (the API
    // server's default).
    let proportional = |value: i64, request: Option<i64>, limit: Option<i64>| {
        request
            .or(limit)
            .zip(limit)
            .filter(|(q, _)| *q > 0)
            .map(|(q, l)| (value as f64 * l as f64 / q as f64).ceil() as i64)
    };
    if let Some(c) = r.cpu.value {
        requests.push(format!("cpu={c}m"));
        if r.vpa.is_some() {
            if let Some(l) = proportional(c, r.current.cpu_request, r.current.cpu_limit) {
                limits.push(format!("cpu={l}m"));
            }
        }
    }
    if let Some(m) = r.memory.value {
        requests.push(format!("memory={}Mi", m >> 20));
        if r.vpa.is_none() {
            limits.push(format!("memory={}Mi", m >> 20));
        } else if let Some(l) = proportional(m, r.current.memory_request, r.current.memory_limit) {
            limits.push(format!("memory={}Mi", (l + (1 << 20) - 1) >> 20));
        }
    }
    if requests.is_empty() {
        return Vec::new();
    }
    let mut cmd = format!(
        "kubectl -n {ns} set resources {target} -c {} --requests={}",
        shell_quote(&r.container),
        requests.join(",")
    );
    if !limits.is_empty() {
        cmd.push_str(&format!(" --limits={}", limits.join(",")));
    }
    let mut out = Vec::new();
    // The CPU limit goes first: a request raised above the old limit would be refused.
    if r.vpa.is_none() && r.cpu.value.is_some() && r.current.cpu_limit.is_some() {
        out.push(format!(
            "kubectl -n {ns} patch {target} --type=json -p {}   # krr simple leaves the CPU limit unset",
            shell_quote(&format!(
                "[{{\"op\":\"remove\",\"path\":\"/spec/template/spec/containers/{}/resources/limits/cpu\"}}]",
                r.index
            ))
        ));
    }
    out.push(cmd);
    out
}

/// The names a workload's pods are generated from: a Deployment's ReplicaSets, else the
/// workload's own name.
pub(super) fn name_prefixes(rel: &Relations, w: &ObjectRef) -> Vec<String> {
    if w.kind != "Deployment" {
        return vec![w.name.clone()];
    }
    let mut out: Vec<String> = rel
        .to(w)
        .iter()
        .filter(|r| r.kind == RelationKind::OwnedBy && r.from.kind == "ReplicaSet")
        .map(|r| r.from.name.clone())
        .collect();
    out.push(w.name.clone());
    out.sort();
    out.dedup();
    out
}

/// Whether `pod` is a name generated from `prefix`: the prefix, a dash, then one segment
/// of lowercase letters and digits (a pod of a ReplicaSet, DaemonSet or StatefulSet), so
/// `web` does not claim `web-api-7f9c-x2k4p`.
pub(super) fn generated_from(pod: &str, prefix: &str) -> bool {
    pod.strip_prefix(prefix)
        .and_then(|rest| rest.strip_prefix('-'))
        .is_some_and(|s| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        })
}

/// Every container of every Deployment, StatefulSet and DaemonSet with pods in the
/// snapshot, sorted by subject and container.
pub(crate) fn rightsize(
    snap: &Snapshot,
    rel: &Relations,
    series: &BTreeMap<(String, String, String), ContainerSeries>,
    usage: &intel_model::usage::Usage,
    settings: &Simple,
    vpa: Option<&Vpa>,
) -> Vec<Rightsizing> {
    let mut out = Vec::new();
    for w in rel.workloads() {
        if !matches!(w.kind.as_str(), "Deployment" | "StatefulSet" | "DaemonSet") {
            continue;
        }
        let Some(obj) = snap
            .index()
            .by_name(&w.kind, &w.namespace, &w.name)
            .first()
            .and_then(|id| snap.get(*id))
        else {
            continue;
        };
        let v = obj.value();
        let pods = rel.pods_of(w);
        if pods.is_empty() {
            continue;
        }
        let replicas = v
            .pointer("/spec/replicas")
            .and_then(Value::as_i64)
            .unwrap_or(pods.len() as i64);
        let prefixes = name_prefixes(rel, w);
        let workload = Workload {
            subject: format!("{} {}/{}", w.kind, w.namespace, w.name),
            replicas,
            hpa: hpa_resources(snap, rel, w),
            pods: &pods,
            containers: v
                .pointer("/spec/template/spec/containers")
                .and_then(Value::as_array)
                .map_or(1, Vec::len),
        };
        for (i, t) in v
            .pointer("/spec/template/spec/containers")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            let c = t["name"].as_str().unwrap_or_default();
            let key = |p: &ObjectRef| (p.namespace.clone(), p.name.clone(), c.to_string());
            // Every pod the workload had over the history, gone ones too (as krr reads
            // them): series whose pod name is one of its generated names.
            let from_prometheus: PodPoints = series
                .range((w.namespace.clone(), String::new(), String::new())..)
                .take_while(|((ns, _, _), _)| *ns == w.namespace)
                .filter(|((_, pod, container), _)| {
                    container == c && prefixes.iter().any(|p| generated_from(pod, p))
                })
                .map(|(_, s)| (s.cpu_millis.clone(), s.memory_bytes.clone()))
                .collect();
            let (points, source) = if from_prometheus.is_empty() {
                let samples: PodPoints = pods
                    .iter()
                    .filter_map(|p| usage.containers.get(&key(p)))
                    .map(|readings| {
                        let at = |r: &intel_model::usage::Reading| {
                            crate::detect::parse_ts(&r.time).unwrap_or(0)
                        };
                        (
                            readings.iter().map(|r| (at(r), r.cpu_millis)).collect(),
                            readings.iter().map(|r| (at(r), r.memory_bytes)).collect(),
                        )
                    })
                    .collect();
                (samples, "metrics.k8s.io")
            } else {
                (from_prometheus, "prometheus")
            };
            out.push(container(
                snap, settings, vpa, &workload, i, t, &points, source,
            ));
        }
    }
    out.sort_by(|a, b| (&a.subject, &a.container).cmp(&(&b.subject, &b.container)));
    out
}
