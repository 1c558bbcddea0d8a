//! How long a workload hit by a lost node takes to be back, in parts, each with its basis:
//! detection (the node controller's grace period), eviction (the pods' tolerationSeconds
//! for the unreachable taint), scheduling, the image pull and the start-up until Ready as
//! observed in the snapshot, and a volume's re-attach (or why it cannot). A workload with
//! a pod that fits nowhere, or a volume in a zone that is gone, has no bound.

use serde::Serialize;
use serde_json::Value;

use intel_model::Snapshot;
use intel_scheduler::{Cluster, KubeVersion};

use super::index::Owned;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Part {
    /// `detection`, `eviction`, `scheduling`, `image-pull`, `start-up`, `volume`; for a
    /// replica's self-healing `detection`, `restart`, `start-up` and `traffic-off` (when
    /// Services stop sending to it; not part of the total).
    pub part: String,
    /// Seconds; `None` when the part has no bound or was not observed.
    pub seconds: Option<f64>,
    pub basis: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Rto {
    pub subject: String,
    pub parts: Vec<Part>,
    /// The sum of the parts; `None` when one has no bound (`unbounded` says why) — a part
    /// that was merely not observed counts as zero and is said in its basis.
    pub total_seconds: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unbounded: Option<String>,
}

const UNREACHABLE: &str = "node.kubernetes.io/unreachable";

/// Pods of a workload read for its observed pulls and start-ups.
pub const SAMPLE: usize = 8;

/// A Go duration as the kubelet prints it (`3.2s`, `1m2.5s`, `850ms`, `1.5µs`), in seconds.
pub fn go_duration(text: &str) -> Option<f64> {
    let mut total = 0.0;
    let mut rest = text.trim();
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
        let n: f64 = rest[..end].parse().ok()?;
        rest = &rest[end..];
        let (mult, len) = if rest.starts_with("ms") {
            (1e-3, 2)
        } else if rest.starts_with("µs") {
            (1e-6, "µs".len())
        } else if rest.starts_with("us") {
            (1e-6, 2)
        } else if rest.starts_with("ns") {
            (1e-9, 2)
        } else if rest.starts_with('h') {
            (3600.0, 1)
        } else if rest.starts_with('m') {
            (60.0, 1)
        } else if rest.starts_with('s') {
            (1.0, 1)
        } else {
            return None;
        };
        total += n * mult;
        rest = &rest[len..];
    }
    Some(total)
}

/// The node controller's grace period: kube-controller-manager's flag where its pod is in
/// the snapshot, else the default of the cluster's version (40 s, 50 s from 1.32).
pub fn grace_period(snap: &Snapshot, version: KubeVersion) -> Part {
    for p in snap.pods() {
        if p.meta.namespace != "kube-system" || !p.meta.name.starts_with("kube-controller-manager")
        {
            continue;
        }
        let v = p.value();
        let args = v
            .pointer("/spec/containers/0/command")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .chain(
                v.pointer("/spec/containers/0/args")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten(),
            );
        for a in args {
            if let Some(d) = a
                .as_str()
                .and_then(|a| a.strip_prefix("--node-monitor-grace-period="))
            {
                if let Some(s) = go_duration(d) {
                    return Part {
                        part: "detection".into(),
                        seconds: Some(s),
                        basis: format!(
                            "--node-monitor-grace-period={d} of pod kube-system/{}",
                            p.meta.name
                        ),
                    };
                }
            }
        }
    }
    let (s, since) = if version.minor >= 32 {
        (50.0, "since 1.32")
    } else {
        (40.0, "before 1.32")
    };
    Part {
        part: "detection".into(),
        seconds: Some(s),
        basis: format!(
            "the node controller marks a silent node unreachable after --node-monitor-grace-period, {s:.0} s by default {since} (the flag is not in the snapshot)"
        ),
    }
}

fn at(v: Option<&Value>) -> Option<jiff::Timestamp> {
    v?.as_str()?.parse().ok()
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    Some(v[v.len() / 2])
}

/// What a workload's pods show — the same in every scenario, so read once per workload:
/// eviction, scheduling, image pull and start-up parts, and whether eviction never comes.
pub fn observe(snap: &Snapshot, cluster: &Cluster, w: &Owned) -> Observed {
    let mut parts = Vec::new();
    let mut unbounded = None;
    // A sample of its pods is enough for what they share (the spec) and for what is
    // observed per pod (pulls, start-ups); a large workload is not read whole.
    let sample = &w.pods[..w.pods.len().min(SAMPLE)];
    let pods: Vec<Value> = sample
        .iter()
        .filter_map(|&i| {
            let p = &cluster.pods[i];
            let id = snap
                .index()
                .by_name("Pod", &p.namespace, &p.name)
                .first()
                .copied()?;
            snap.get(id).map(|o| o.value())
        })
        .collect();
    // Eviction: the taint-based eviction waits the pod's tolerationSeconds.
    let tolerations: Vec<&Value> = pods
        .first()
        .and_then(|p| p.pointer("/spec/tolerations"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .collect();
    let matching = tolerations.iter().find(|t| {
        let key = t.get("key").and_then(Value::as_str).unwrap_or_default();
        let effect = t.get("effect").and_then(Value::as_str).unwrap_or_default();
        (key == UNREACHABLE
            || (key.is_empty() && t.get("operator").and_then(Value::as_str) == Some("Exists")))
            && (effect.is_empty() || effect == "NoExecute")
    });
    parts.push(match matching {
        Some(t) => match t.get("tolerationSeconds").and_then(Value::as_i64) {
            Some(s) => Part {
                part: "eviction".into(),
                seconds: Some(s.max(0) as f64),
                basis: format!("tolerationSeconds {s} for {UNREACHABLE}:NoExecute in the pod spec"),
            },
            None => {
                unbounded = Some("its pods tolerate the unreachable taint without a limit: they are never evicted from a lost node".to_string());
                Part {
                    part: "eviction".into(),
                    seconds: None,
                    basis: format!("a toleration of {UNREACHABLE}:NoExecute without tolerationSeconds"),
                }
            }
        },
        None => Part {
            part: "eviction".into(),
            seconds: Some(0.0),
            basis: format!("no toleration of {UNREACHABLE} in the pod spec: evicted as soon as the taint is set (DefaultTolerationSeconds would have added 300 s where it runs)"),
        },
    });
    parts.push(Part {
        part: "scheduling".into(),
        seconds: Some(0.0),
        basis: "placement takes well under a second once the replacement pod exists (the simulation placed it)".into(),
    });
    // Image pull, as the kubelet reported it for these pods.
    let images: Vec<String> = pods
        .first()
        .and_then(|p| p.pointer("/spec/containers"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| c.get("image").and_then(Value::as_str).map(str::to_string))
        .collect();
    let mut pulls = Vec::new();
    let mut present = false;
    for p in sample {
        let pod = &cluster.pods[*p];
        for id in snap.index().events_for("Pod", &pod.namespace, &pod.name) {
            let Some(e) = snap.get(*id).map(|o| o.value()) else {
                continue;
            };
            if e.get("reason").and_then(Value::as_str) != Some("Pulled") {
                continue;
            }
            let m = e.get("message").and_then(Value::as_str).unwrap_or_default();
            if m.contains("already present on machine") {
                present = true;
            }
            if let Some(rest) = m.split(" in ").nth(1) {
                if let Some(d) = rest.split_whitespace().next().and_then(go_duration) {
                    pulls.push(d);
                }
            }
        }
    }
    parts.push(match pulls.iter().copied().reduce(f64::max) {
        Some(s) => Part {
            part: "image-pull".into(),
            seconds: Some(s),
            basis: format!("the longest pull of {} in the kubelet's Pulled events ({} observed)", images.join(", "), pulls.len()),
        },
        None if present => Part {
            part: "image-pull".into(),
            seconds: Some(0.0),
            basis: "the image was already present on its nodes (Pulled events); a replacement node may still have to pull it".into(),
        },
        None => Part {
            part: "image-pull".into(),
            seconds: None,
            basis: "no pull observed in the snapshot's events: counted as 0".into(),
        },
    });
    // Start-up: from the containers' start to Ready, as these pods did it.
    let startups: Vec<f64> = pods
        .iter()
        .filter_map(|p| {
            let started = p
                .pointer("/status/containerStatuses")
                .and_then(Value::as_array)?
                .iter()
                .filter_map(|c| at(c.pointer("/state/running/startedAt")))
                .max()?;
            let ready = p
                .pointer("/status/conditions")
                .and_then(Value::as_array)?
                .iter()
                .find(|c| {
                    c.get("type").and_then(Value::as_str) == Some("Ready")
                        && c.get("status").and_then(Value::as_str) == Some("True")
                })
                .and_then(|c| at(c.get("lastTransitionTime")))?;
            let d = ready.duration_since(started).as_secs_f64();
            (d >= 0.0).then_some(d)
        })
        .collect();
    let n = startups.len();
    parts.push(match median(startups) {
        Some(s) => Part {
            part: "start-up".into(),
            seconds: Some(s),
            basis: format!("median from container start to Ready over {n} running pod(s) (at most {SAMPLE} read)"),
        },
        None => Part {
            part: "start-up".into(),
            seconds: None,
            basis: "no running pod with both a container start and a Ready time: counted as 0"
                .into(),
        },
    });
    Observed { parts, unbounded }
}

/// What [`observe`] found of a workload.
#[derive(Debug, Clone)]
pub struct Observed {
    parts: Vec<Part>,
    unbounded: Option<String>,
}

/// The estimate for one workload whose pods on lost nodes were placed again (`stuck`: the
/// scheduler's message for one that fits nowhere; `lost_zones`: zones that are gone).
pub fn estimate(
    cluster: &Cluster,
    w: &Owned,
    detection: &Part,
    observed: &Observed,
    stuck: Option<&str>,
    lost_zones: &[String],
) -> Rto {
    let mut parts = vec![detection.clone()];
    parts.extend(observed.parts.iter().cloned());
    let mut unbounded = observed.unbounded.clone();
    // Volumes: a ReadWriteOnce volume is force-detached from a node that is gone after
    // the attach-detach controller's 6 minutes; one in a lost zone cannot follow.
    let zonal = w
        .pods
        .first()
        .map(|&p| super::spof::volume_zones(cluster, &cluster.pods[p]))
        .unwrap_or_default();
    let rwo = w.pods.first().is_some_and(|&p| {
        cluster.pods[p]
            .spec
            .volumes
            .iter()
            .flatten()
            .any(|v| v.persistent_volume_claim.is_some())
    });
    if let Some((claim, zone)) = zonal.iter().find(|(_, z)| lost_zones.contains(z)) {
        unbounded.get_or_insert(format!("claim {claim} is bound to a volume in zone {zone}, which is lost: it cannot be attached elsewhere"));
        parts.push(Part {
            part: "volume".into(),
            seconds: None,
            basis: format!("a ReadWriteOnce volume in the lost zone {zone}"),
        });
    } else if rwo {
        parts.push(Part {
            part: "volume".into(),
            seconds: Some(360.0),
            basis: "the attach-detach controller force-detaches a volume from a node that is gone after maxWaitForUnmountDuration, 6 minutes (sooner with the out-of-service taint)".into(),
        });
    }
    if let Some(m) = stuck {
        unbounded.get_or_insert(format!("a replacement pod fits nowhere: {m}"));
    }
    let total = if unbounded.is_some() {
        None
    } else {
        Some(parts.iter().filter_map(|p| p.seconds).sum())
    };
    Rto {
        subject: w.label(),
        parts,
        total_seconds: total,
        unbounded,
    }
}

/// How long one failed replica of `w` takes to heal itself, read from its probes: the
/// liveness probe notices a hung container after `failureThreshold × periodSeconds`, the
/// kubelet kills it within the grace period (the probe's `terminationGracePeriodSeconds`,
/// else the pod's, default 30 s) and starts it again at once (the back-off from 10 s
/// comes after repeated restarts), and it is Ready after its start-up as observed.
/// Meanwhile the readiness probe takes the pod out of its Services after its own
/// `failureThreshold × periodSeconds`. Without a liveness probe a hung process is never
/// restarted: no bound.
pub fn self_healing(snap: &Snapshot, cluster: &Cluster, w: &Owned, observed: &Observed) -> Rto {
    use k8s_openapi::api::core::v1::Probe;
    let mut parts = Vec::new();
    let mut unbounded = None;
    // The scheduler's pods keep no probes: the spec is read from the snapshot.
    let spec = w.pods.first().and_then(|&p| {
        let p = &cluster.pods[p];
        let id = *snap.index().by_name("Pod", &p.namespace, &p.name).first()?;
        snap.get(id).map(|o| o.value()["spec"].clone())
    });
    let Some(spec) = spec else {
        return Rto {
            subject: w.label(),
            parts,
            total_seconds: None,
            unbounded: Some("no pod of it in the snapshot".into()),
        };
    };
    let containers: Vec<&Value> = spec["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .collect();
    let probes = |field: &str| -> Vec<(String, Probe)> {
        containers
            .iter()
            .filter_map(|c| {
                let p: Probe = serde_json::from_value(c.get(field)?.clone()).ok()?;
                Some((c["name"].as_str().unwrap_or_default().to_string(), p))
            })
            .collect()
    };
    let threshold = |p: &Probe| {
        let period = p.period_seconds.unwrap_or(10).max(1);
        let failures = p.failure_threshold.unwrap_or(3).max(1);
        (
            f64::from(period) * f64::from(failures),
            format!(
                "failureThreshold {failures} × periodSeconds {period}{}",
                if p.period_seconds.is_none() || p.failure_threshold.is_none() {
                    " (defaults where unset)"
                } else {
                    ""
                }
            ),
        )
    };
    // The slowest container decides.
    let slowest = |list: Vec<(String, Probe)>| {
        list.into_iter()
            .max_by(|a, b| threshold(&a.1).0.total_cmp(&threshold(&b.1).0))
    };
    match slowest(probes("livenessProbe")) {
        Some((c, p)) => {
            let (secs, basis) = threshold(&p);
            parts.push(Part {
                part: "detection".into(),
                seconds: Some(secs),
                basis: format!("livenessProbe of container {c}: {basis}"),
            });
            let pod_grace = spec["terminationGracePeriodSeconds"].as_i64();
            let (grace, whose) = match (p.termination_grace_period_seconds, pod_grace) {
                (Some(g), _) => (g, "the probe's terminationGracePeriodSeconds"),
                (None, Some(g)) => (g, "the pod's terminationGracePeriodSeconds"),
                (None, None) => (30, "the default terminationGracePeriodSeconds"),
            };
            parts.push(Part {
                part: "restart".into(),
                seconds: Some(grace.max(0) as f64),
                basis: format!("the kubelet kills the container within {whose}, {grace} s, and starts it again at once (back-off from 10 s only after repeated restarts)"),
            });
        }
        None => {
            let names: Vec<&str> = containers
                .iter()
                .filter_map(|c| c["name"].as_str())
                .collect();
            unbounded = Some(format!(
                "no livenessProbe on {}: a hung process is never restarted (a crash is, at once)",
                names.join(", ")
            ));
            parts.push(Part {
                part: "detection".into(),
                seconds: None,
                basis: "no livenessProbe: nothing notices a hung container".into(),
            });
        }
    }
    if let Some(p) = observed.parts.iter().find(|p| p.part == "start-up") {
        parts.push(p.clone());
    }
    parts.push(match slowest(probes("readinessProbe")) {
        Some((c, p)) => {
            let (secs, basis) = threshold(&p);
            Part {
                part: "traffic-off".into(),
                seconds: Some(secs),
                basis: format!("not part of the total: the readinessProbe of container {c} takes a failing pod out of its Services after {secs} s ({basis})"),
            }
        }
        None => Part {
            part: "traffic-off".into(),
            seconds: None,
            basis: "not part of the total: no readinessProbe, so a hung pod keeps receiving traffic until it is restarted".into(),
        },
    });
    let total = if unbounded.is_some() {
        None
    } else {
        Some(
            parts
                .iter()
                .filter(|p| p.part != "traffic-off")
                .filter_map(|p| p.seconds)
                .sum(),
        )
    };
    Rto {
        subject: w.label(),
        parts,
        total_seconds: total,
        unbounded,
    }
}

#[cfg(test)]
mod tests {
    use super::go_duration;

    #[test]
    fn go_durations_as_the_kubelet_prints_them() {
        assert_eq!(go_duration("3.2s"), Some(3.2));
        assert_eq!(go_duration("1m2.5s"), Some(62.5));
        assert_eq!(go_duration("850ms"), Some(0.85));
        assert_eq!(go_duration("40s"), Some(40.0));
        assert_eq!(go_duration("1h"), Some(3600.0));
        assert_eq!(go_duration("fast"), None);
        assert_eq!(go_duration(""), None);
    }
}
