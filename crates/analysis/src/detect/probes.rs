//! Why a probe fails, when the probe itself is wrong rather than the application: it aims
//! at a port no container opens, it speaks the wrong protocol (HTTP to a gRPC or TLS
//! port), its path changed in the rollout and the new pods answer 404, or its timings
//! kill a container that is still starting. Read from the kubelet's `Unhealthy` message
//! against the pod's spec and its previous revision; the near misses (a probe on the
//! right port answering 503, a gRPC probe told NOT_SERVING) stay plain probe failures.

use serde_json::Value;

use super::{Ctx, jint, jstr};
use intel_engine::ObjectRef;
use intel_engine::relations::RelationKind;

/// A probe found wrong: its category and what is wrong, in words.
pub(super) struct Misprobe {
    pub kind: &'static str,
    pub message: String,
}

/// `kind` is `readinessProbe`, `livenessProbe` or `startupProbe`.
/// `last`: when the failure was last reported.
pub(super) fn classify(
    ctx: &Ctx,
    pod: &ObjectRef,
    kind: &str,
    msg: &str,
    last: Option<i64>,
) -> Option<Misprobe> {
    let obj = ctx.object("Pod", &pod.namespace, &pod.name)?;
    let v = obj.value();
    let containers: Vec<&Value> = v
        .pointer("/spec/containers")
        .and_then(|c| c.as_array())
        .map(|c| c.iter().collect())
        .unwrap_or_default();
    let port = port_in(msg);
    // The container whose probe this is: the one probing the port the message names.
    let (container, probe) = containers
        .iter()
        .filter_map(|c| c.get(kind).map(|p| (*c, p)))
        .find(|(c, p)| port.is_none() || probe_port(c, p) == port)
        .or_else(|| containers.iter().find_map(|c| c.get(kind).map(|p| (*c, p))))?;
    let cname = jstr(container, &["name"]).unwrap_or("");
    let what = kind.trim_end_matches("Probe");

    // Refused while the container still starts is what any slow start looks like: only
    // refusals after the probe's whole window of a running container count.
    let started = v
        .pointer("/status/containerStatuses")
        .and_then(|c| c.as_array())
        .into_iter()
        .flatten()
        .find(|s| jstr(s, &["name"]) == jstr(container, &["name"]))
        .and_then(|s| jstr(s, &["state", "running", "startedAt"]))
        .and_then(super::parse_ts);
    let settled = match (started, last) {
        (Some(s), Some(l)) => l > s.saturating_add(timings(probe).4),
        _ => false,
    };
    if msg.contains("connection refused") && settled {
        let p = probe_port(container, probe).or(port)?;
        let open = declared_ports(&containers);
        if !open.is_empty() && !open.iter().any(|(n, _)| *n == p) {
            let listing = open
                .iter()
                .map(|(n, name)| match name {
                    Some(name) => format!("{n} ({name})"),
                    None => n.to_string(),
                })
                .collect::<Vec<_>>()
                .join(", ");
            return Some(Misprobe {
                kind: "ProbeWrongPort",
                message: format!(
                    "the {what} probe of container {cname} in pod {} targets port {p}, but the pod's containers open {listing}: every probe is refused",
                    pod.name
                ),
            });
        }
    }
    let wrong_protocol = [
        "malformed HTTP response",
        "HTTP/1.x transport connection broken",
        "server gave HTTP response to HTTPS client",
        "first record does not look like a TLS handshake",
        "error reading server preface",
        "http2: frame too large",
    ];
    if let Some(sign) = wrong_protocol.iter().find(|s| msg.contains(*s)) {
        let speaks = if probe.get("grpc").is_some() {
            "gRPC"
        } else if probe.get("httpGet").is_some() {
            if jstr(probe, &["httpGet", "scheme"]) == Some("HTTPS") {
                "HTTPS"
            } else {
                "HTTP"
            }
        } else {
            "its protocol"
        };
        return Some(Misprobe {
            kind: "ProbeWrongProtocol",
            message: format!(
                "the {what} probe of container {cname} in pod {} speaks {speaks} to a port that speaks something else ({sign})",
                pod.name
            ),
        });
    }
    if msg.contains("statuscode: 404") {
        let path = jstr(probe, &["httpGet", "path"]).unwrap_or("/");
        if let Some((rev, before)) = previous_probe_path(ctx, pod, cname, kind) {
            if before != path {
                return Some(Misprobe {
                    kind: "ProbeChanged",
                    message: format!(
                        "the {what} probe path of container {cname} changed from {before} (revision {rev}) to {path}; the new pods answer 404 there, so the rollout cannot complete",
                    ),
                });
            }
        }
    }
    if kind == "livenessProbe" {
        return too_tight(&v, container, probe, cname, pod);
    }
    None
}

/// A liveness probe that kills a container before it ever became ready, with no startup
/// probe to hold it off: the window it gives is shorter than the start-up.
fn too_tight(
    pod: &Value,
    container: &Value,
    probe: &Value,
    cname: &str,
    pref: &ObjectRef,
) -> Option<Misprobe> {
    if container.get("startupProbe").is_some() {
        return None;
    }
    let status = pod
        .pointer("/status/containerStatuses")?
        .as_array()?
        .iter()
        .find(|s| jstr(s, &["name"]) == Some(cname))?;
    let restarts = jint(status, &["restartCount"]).unwrap_or(0);
    let ready = status
        .get("ready")
        .and_then(|r| r.as_bool())
        .unwrap_or(false);
    if restarts < 3 || ready {
        return None;
    }
    // Killed by the kubelet (SIGKILL or SIGTERM: 137, 143), not exited on its own, and
    // within about the window the probe gives.
    let last = status.pointer("/lastState/terminated")?;
    let code = jint(last, &["exitCode"]).unwrap_or(0);
    if code != 137 && code != 143 {
        return None;
    }
    // Ready before, in its last life? Then it is not the start-up that is too slow.
    let never_ready = pod
        .pointer("/status/conditions")
        .and_then(|c| c.as_array())
        .into_iter()
        .flatten()
        .filter(|c| jstr(c, &["type"]) == Some("Ready"))
        .all(|c| jstr(c, &["status"]) != Some("True"));
    if !never_ready {
        return None;
    }
    let (delay, period, threshold, timeout, window) = timings(probe);
    let ran = match (
        jstr(last, &["startedAt"]).and_then(super::parse_ts),
        jstr(last, &["finishedAt"]).and_then(super::parse_ts),
    ) {
        (Some(a), Some(b)) => Some(b.saturating_sub(a)),
        _ => None,
    };
    if ran.is_some_and(|r| {
        r > window
            .saturating_add(period.saturating_mul(2))
            .saturating_add(timeout)
    }) {
        return None;
    }
    Some(Misprobe {
        kind: "ProbeTooTight",
        message: format!(
            "the liveness probe of container {cname} in pod {} kills it before it ever becomes ready ({restarts} restarts): it allows initialDelaySeconds {delay} + failureThreshold {threshold} × periodSeconds {period} = {window} s to start, with a {timeout} s timeout, and there is no startupProbe",
            pref.name
        ),
    })
}

/// A probe's timings with the API's defaults: (initialDelaySeconds, periodSeconds,
/// failureThreshold, timeoutSeconds, the seconds it allows before acting).
fn timings(probe: &Value) -> (i64, i64, i64, i64, i64) {
    let delay = jint(probe, &["initialDelaySeconds"]).unwrap_or(0).max(0);
    let period = jint(probe, &["periodSeconds"]).unwrap_or(10).max(1);
    let threshold = jint(probe, &["failureThreshold"]).unwrap_or(3).max(1);
    let timeout = jint(probe, &["timeoutSeconds"]).unwrap_or(1).max(1);
    let window = delay.saturating_add(period.saturating_mul(threshold));
    (delay, period, threshold, timeout, window)
}

/// The port a probe failure message names: `http://10.1.2.3:8081/…`, `dial tcp
/// 10.1.2.3:8081:`.
fn port_in(msg: &str) -> Option<i64> {
    for marker in ["http://", "https://", "dial tcp "] {
        if let Some(rest) = msg.split(marker).nth(1) {
            // `10.1.2.3:8081/healthz`, or `10.1.2.3:8081: connect…` after `dial tcp`.
            let host_port = rest.split(['/', '"', ' ']).next().unwrap_or("");
            let port = host_port
                .trim_end_matches(':')
                .rsplit(':')
                .next()
                .unwrap_or("");
            if let Ok(p) = port.parse::<i64>() {
                return Some(p);
            }
        }
    }
    None
}

/// The port number a probe targets, resolving a named port against the container's.
fn probe_port(container: &Value, probe: &Value) -> Option<i64> {
    let raw = probe
        .pointer("/httpGet/port")
        .or(probe.pointer("/tcpSocket/port"))
        .or(probe.pointer("/grpc/port"))?;
    if let Some(n) = raw.as_i64() {
        return Some(n);
    }
    let name = raw.as_str()?;
    if let Ok(n) = name.parse::<i64>() {
        return Some(n);
    }
    container
        .get("ports")?
        .as_array()?
        .iter()
        .find(|p| jstr(p, &["name"]) == Some(name))
        .and_then(|p| jint(p, &["containerPort"]))
}

/// Every port the pod's containers declare: (number, name).
fn declared_ports(containers: &[&Value]) -> Vec<(i64, Option<String>)> {
    let mut out: Vec<(i64, Option<String>)> = containers
        .iter()
        .flat_map(|c| {
            c.get("ports")
                .and_then(|p| p.as_array())
                .into_iter()
                .flatten()
        })
        .filter_map(|p| {
            Some((
                jint(p, &["containerPort"])?,
                jstr(p, &["name"]).map(str::to_string),
            ))
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

/// The same probe's HTTP path in the revision before the pod's own: (revision, path).
fn previous_probe_path(
    ctx: &Ctx,
    pod: &ObjectRef,
    container: &str,
    kind: &str,
) -> Option<(i64, String)> {
    let rel = ctx.rel;
    let owner = |o: &ObjectRef| {
        rel.from(o)
            .iter()
            .find(|r| r.kind == RelationKind::OwnedBy)
            .map(|r| (*r.to).clone())
    };
    let rs = owner(pod).filter(|o| o.kind == "ReplicaSet")?;
    let deployment = owner(&rs)?;
    let revision = |o: &ObjectRef| -> Option<(i64, Value)> {
        let v = ctx.object(&o.kind, &o.namespace, &o.name)?.value();
        let rev = jstr(
            &v,
            &[
                "metadata",
                "annotations",
                "deployment.kubernetes.io/revision",
            ],
        )?
        .parse::<i64>()
        .ok()?;
        Some((rev, v))
    };
    let (mine, _) = revision(&rs)?;
    let (rev, before) = rel
        .to(&deployment)
        .into_iter()
        .filter(|r| r.kind == RelationKind::OwnedBy && r.from.kind == "ReplicaSet")
        .filter_map(|r| revision(&r.from))
        .filter(|(rev, _)| *rev < mine)
        .max_by_key(|(rev, _)| *rev)?;
    let path = before
        .pointer("/spec/template/spec/containers")?
        .as_array()?
        .iter()
        .find(|c| jstr(c, &["name"]) == Some(container))?
        .get(kind)
        .and_then(|p| jstr(p, &["httpGet", "path"]))?
        .to_string();
    Some((rev, path))
}

#[cfg(test)]
mod tests {
    use super::port_in;

    #[test]
    fn ports_are_read_from_the_kubelets_messages() {
        assert_eq!(
            port_in(
                "Readiness probe failed: Get \"http://10.244.0.21:8081/healthz\": dial tcp 10.244.0.21:8081: connect: connection refused"
            ),
            Some(8081)
        );
        assert_eq!(
            port_in("Liveness probe failed: dial tcp 10.1.2.3:6379: connect: connection refused"),
            Some(6379)
        );
        assert_eq!(
            port_in("Readiness probe failed: HTTP probe failed with statuscode: 503"),
            None
        );
    }
}
