//! HorizontalPodAutoscaler faults: `hpa-at-max` (an autoscaler pinned at its ceiling)
//! and the near miss `hpa-scaled` (busy, but within range), with the replicas it made.

use serde_json::json;

use crate::scenario::Fault;
use crate::world::World;

use super::cluster::{owner_of, pod_signals_mut, schedule};
use super::instant;
use super::lifecycle::{recount, spawn_pod};

// -- HPA -----------------------------------------------------------------------------------------

/// The daily traffic factor at capture, as the metrics renderer applies it.
fn daily_at(world: &World, minutes_ago: f64) -> f64 {
    let t = instant(world, minutes_ago).as_millisecond();
    let hour = t.rem_euclid(86_400_000) as f64 / 3_600_000.0;
    let since_peak = (hour - 14.0).rem_euclid(24.0);
    let phase = if since_peak < 14.0 {
        since_peak / 28.0
    } else {
        0.5 + (since_peak - 14.0) / 20.0
    };
    1.0 + 0.3 * (std::f64::consts::TAU * phase).cos()
}

/// `hpa-at-max`: an HorizontalPodAutoscaler pinned at its ceiling under load. From `since`
/// it scaled the Deployment (`app`) up in steps to `maxReplicas` (the HPA's, or a new one);
/// the pods' CPU averages `utilization` percent of request (default 180% of the target);
/// status currentReplicas = desiredReplicas = maxReplicas and ScalingLimited True
/// `TooManyReplicas` ("the desired replica count is more than the maximum replica count").
/// Traffic per pod is the load (`trafficFactor`, default utilization/target) spread over
/// the replicas; `latencyMs` (900), `errorRate`/`status` optional.
///
/// `hpa-scaled` (a near miss): the same scale-up to `replicas` within range, utilization
/// near target (default target + 5), ScalingLimited False.
pub(super) fn hpa(world: &mut World, f: &Fault, at_max: bool) -> Result<(), String> {
    let app = f.app()?.to_string();
    let ns = f.namespace.clone();
    let s = f.since;
    let h = world
        .get("HorizontalPodAutoscaler", &ns, &app)
        .cloned()
        .ok_or_else(|| format!("no HorizontalPodAutoscaler {ns}/{app}"))?;
    let target = f.num("targetUtilization").unwrap_or(
        h["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"]
            .as_f64()
            .unwrap_or(70.0),
    );
    let max = f
        .num("maxReplicas")
        .map(|m| m as u64)
        .unwrap_or(h["spec"]["maxReplicas"].as_u64().unwrap_or(10));
    let min = h["spec"]["minReplicas"].as_u64().unwrap_or(1);
    let want = if at_max {
        max
    } else {
        f.num("replicas")
            .map(|r| r as u64)
            .unwrap_or((min + max) / 2)
            .min(max.saturating_sub(1))
    };
    let util = f
        .num("utilization")
        .unwrap_or(if at_max { target * 1.8 } else { target + 5.0 });
    let pods = world.pods_of(&ns, &app);
    let template = pods
        .first()
        .cloned()
        .ok_or("the HPA's target has no pods")?;
    let current = pods.len() as u64;
    // Scale-up steps (the default policy at most doubles, or adds 4, per 15 s — the
    // stabilised recommendation moves up as the load rises).
    let mut steps: Vec<(f64, u64)> = Vec::new();
    let mut n = current;
    let mut t = s;
    while n < want {
        let next = (n * 2).min(n + 4).min(want).max(n + 1);
        steps.push((t, next));
        n = next;
        t = (t - (s / 8.0).clamp(1.0, 3.0)).max(s * 0.25);
    }
    let rs = owner_of(
        world
            .get("Pod", &ns, &template)
            .cloned()
            .as_ref()
            .unwrap_or(&json!({})),
    )
    .map(|(_, n)| n)
    .unwrap_or_default();
    let mut made = current;
    for (i, (at, to)) in steps.iter().enumerate() {
        let from = if i == 0 { current } else { steps[i - 1].1 };
        world.event(
            ("HorizontalPodAutoscaler", &ns, &app),
            "Normal",
            "SuccessfulRescale",
            &format!(
                "New size: {to}; reason: cpu resource utilization (percentage of request) above target"
            ),
            "horizontal-pod-autoscaler",
            *at,
            *at,
            1,
        );
        world.event(
            ("Deployment", &ns, &app),
            "Normal",
            "ScalingReplicaSet",
            &format!("Scaled up replica set {rs} from {from} to {to}"),
            "deployment-controller",
            *at,
            *at,
            1,
        );
        while made < *to {
            let spec = world.get("Pod", &ns, &template).map(|p| p["spec"].clone());
            let target_node = spec
                .map(|sp| schedule(world, &sp, &[]))
                .unwrap_or_else(|| Err("no spec".into()));
            spawn_pod(world, &ns, &template, None, target_node, at - 0.05);
            made += 1;
        }
    }
    let last_scale = steps.last().map(|x| x.0).unwrap_or(s);
    if let Some(d) = world.get_mut("Deployment", &ns, &app) {
        d["spec"]["replicas"] = json!(want);
    }
    for (_, r) in world.names("ReplicaSet", Some(&ns)) {
        if let Some(rv) = world.get_mut("ReplicaSet", &ns, &r) {
            if r == rs {
                rv["spec"]["replicas"] = json!(want);
                rv["metadata"]["annotations"]["deployment.kubernetes.io/desired-replicas"] =
                    json!(want.to_string());
            }
        }
    }
    // Load: CPU per pod to match the utilization; requests per pod in proportion (the same
    // cost per request), or the total `trafficFactor` spread over the replicas.
    let daily = daily_at(world, 0.0);
    let latency = f
        .num("latencyMs")
        .unwrap_or(if at_max { 900.0 } else { 0.0 });
    let spread = current as f64 / want as f64;
    for pod in world.pods_of(&ns, &app) {
        for sig in pod_signals_mut(world, &ns, &pod) {
            let base = sig.cpu_base_m.max(1.0) * daily;
            sig.onset_minutes_ago = Some(s);
            sig.cpu_factor = util / 100.0 * sig.cpu_request_m / base;
            sig.rps *= f
                .num("trafficFactor")
                .map(|t| t * spread)
                .unwrap_or(sig.cpu_factor);
            if latency > 0.0 {
                sig.latency_ms = latency;
            }
            if let Some(e) = f.num("errorRate") {
                sig.error_rate = e;
                sig.error_status = f.num("status").unwrap_or(503.0) as u16;
            }
        }
    }
    // The HPA's status.
    let avg_m = (util / 100.0
        * world
            .app_signals_mut(&ns, &app)
            .first()
            .map(|s| s.cpu_request_m)
            .unwrap_or(100.0))
    .round() as u64;
    let last_t = world.at(last_scale);
    if let Some(hv) = world.get_mut("HorizontalPodAutoscaler", &ns, &app) {
        hv["spec"]["maxReplicas"] = json!(max);
        hv["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"] =
            json!(target.round() as u64);
        hv["status"]["currentReplicas"] = json!(want);
        hv["status"]["desiredReplicas"] = json!(want);
        hv["status"]["lastScaleTime"] = json!(last_t);
        hv["status"]["currentMetrics"] = json!([{"type": "Resource", "resource": {"name": "cpu",
            "current": {"averageUtilization": util.round() as u64, "averageValue": format!("{avg_m}m")}}}]);
        if let Some(conds) = hv["status"]["conditions"].as_array_mut() {
            for c in conds.iter_mut() {
                if c["type"] == "AbleToScale" {
                    c["message"] = json!("recommended size matches current size");
                }
                if c["type"] == "ScalingLimited" && at_max {
                    c["status"] = json!("True");
                    c["reason"] = json!("TooManyReplicas");
                    c["message"] =
                        json!("the desired replica count is more than the maximum replica count");
                    c["lastTransitionTime"] = json!(last_t);
                }
            }
        }
    }
    recount(world, &ns, &app, s);
    Ok(())
}
