//! Traffic between zones: pairs of workloads that exchange many bytes, weighed by what
//! the callers' Istio proxies report (`istio_workload_bytes`: request and response bodies
//! by source and destination workload, which `capture --prometheus` asks for), and the
//! share of it that crosses zones.
//!
//! With kube-proxy's default routing a caller's pod reaches each endpoint of the Service
//! alike, so the share of a pair's bytes that leaves the caller's zone is, averaged over
//! the caller's pods, one minus the share of the callee's pods in that zone. A pair with
//! at least half its bytes crossing and 100 GB or more a month crossing is a finding,
//! priced at OpenCost's inter-zone egress rate ($0.01 per GB). The fix depends on where
//! the callee runs: in every zone the caller runs in, locality-aware routing keeps traffic
//! in the zone (see [`route`]); otherwise the callee is first spread over the zones (a
//! topology spread, simulated to fit).
//!
//! Pairs the service map knows but no bytes series weighs are not findings (their volume
//! is unknown); the report says how many cross zones.

use std::collections::BTreeMap;

use serde::Serialize;

use intel_engine::{ObjectRef, Relations};
use intel_model::Snapshot;
use intel_scheduler::Cluster;

use crate::detect::Matrix;
use crate::diagnose::remedy::values::shell_quote;

const ZONE: &str = "topology.kubernetes.io/zone";
/// OpenCost's default `zoneNetworkEgress`, dollars per GB.
pub const ZONE_EGRESS_PER_GB: f64 = 0.01;
const MIN_SHARE: f64 = 0.5;
const MIN_GB_MONTH: f64 = 100.0;
const SECONDS_PER_MONTH: f64 = 730.0 * 3600.0;

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Pair {
    pub caller: String,
    pub callee: String,
    /// Average bytes per second between them.
    pub bytes_per_second: f64,
    /// Share of those bytes that crosses zones, 0–1.
    pub cross_zone_share: f64,
    pub cross_zone_gb_month: f64,
    pub monthly_cost: f64,
    /// Pods per zone, caller's and callee's.
    pub caller_zones: BTreeMap<String, usize>,
    pub callee_zones: BTreeMap<String, usize>,
    /// `route` (topology-aware routing) or `spread` (spread the callee first).
    pub fix: String,
    pub commands: Vec<String>,
    /// For `spread`: the callee's pods per zone once spread, simulated; whether all fit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spread_to: Option<BTreeMap<String, usize>>,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Traffic {
    pub pairs: Vec<Pair>,
    /// Service-map pairs whose pods sit mostly in different zones and that no bytes
    /// series weighs.
    pub unweighed_cross_zone_pairs: usize,
    pub bytes_known: bool,
}

/// A workload's running pods and their count per zone, read once per workload (the
/// service map asks for the same callees again and again).
type Placed = (Vec<usize>, BTreeMap<String, usize>);

fn zones_of<'a>(
    cache: &'a mut BTreeMap<ObjectRef, Placed>,
    cluster: &Cluster,
    rel: &Relations,
    w: &ObjectRef,
) -> &'a Placed {
    cache.entry(w.clone()).or_insert_with(|| {
        let pods = super::spread::bound_pods(cluster, &rel.pods_of(w));
        let zones = super::spread::counts(cluster, &pods, ZONE);
        (pods, zones)
    })
}

/// The share of a caller's requests that leave its pod's zone, routed evenly.
fn cross_share(caller: &BTreeMap<String, usize>, callee: &BTreeMap<String, usize>) -> f64 {
    let (na, nb) = (
        caller.values().sum::<usize>() as f64,
        callee.values().sum::<usize>() as f64,
    );
    if na == 0.0 || nb == 0.0 {
        return 0.0;
    }
    caller
        .iter()
        .map(|(z, &n)| n as f64 * (1.0 - callee.get(z).copied().unwrap_or(0) as f64 / nb))
        .sum::<f64>()
        / na
}

fn workload(snap: &Snapshot, ns: &str, name: &str) -> Option<ObjectRef> {
    ["Deployment", "StatefulSet", "DaemonSet"]
        .into_iter()
        .find(|k| !snap.index().by_name(k, ns, name).is_empty())
        .map(|k| ObjectRef::new(k, ns, name))
}

/// The Services that select `w`'s pods (what callers address).
fn services_of(rel: &Relations, w: &ObjectRef) -> Vec<ObjectRef> {
    let map = rel.service_map();
    let mut out: Vec<ObjectRef> = map
        .edges
        .iter()
        .filter(|e| e.to.kind == "Service" && map.target_workload(&e.to) == Some(w))
        .map(|e| e.to.clone())
        .collect();
    out.sort();
    out.dedup();
    out
}

/// The commands that keep a meshed caller's requests to `svc` in its zone. The bytes come
/// from Istio's sidecars, and Envoy, not kube-proxy, picks the endpoint: a
/// DestinationRule turns on locality load balancing (with the outlier detection it needs
/// to fail over). From 1.31 the Service's `trafficDistribution` does the same for callers
/// outside the mesh and for ambient mode (`PreferSameZone` from 1.34, where `PreferClose`
/// became its deprecated alias); the `topology-mode` annotation before it is kube-proxy's
/// alone, so it is not proposed for this traffic.
fn route(svc: &ObjectRef, minor: u32) -> Vec<String> {
    let rule = serde_json::json!({
        "apiVersion": "networking.istio.io/v1",
        "kind": "DestinationRule",
        "metadata": {"name": format!("{}-locality", svc.name), "namespace": svc.namespace},
        "spec": {
            "host": format!("{}.{}.svc.cluster.local", svc.name, svc.namespace),
            "trafficPolicy": {
                "loadBalancer": {"localityLbSetting": {"enabled": true}},
                "outlierDetection": {"consecutive5xxErrors": 5, "interval": "10s", "baseEjectionTime": "30s"}
            }
        }
    });
    let mut out = vec![format!(
        "printf '%s' {} | kubectl apply -f -   # if a DestinationRule for this host exists, add this trafficPolicy to it instead",
        shell_quote(&rule.to_string())
    )];
    if minor >= 31 {
        let mode = if minor >= 34 {
            "PreferSameZone"
        } else {
            "PreferClose"
        };
        out.push(format!(
            "kubectl -n {} patch service {} --type=merge -p '{{\"spec\":{{\"trafficDistribution\":\"{mode}\"}}}}'",
            shell_quote(&svc.namespace),
            shell_quote(&svc.name)
        ));
    }
    out
}

pub fn traffic(snap: &Snapshot, rel: &Relations, cluster: &mut Cluster) -> Traffic {
    let minor = snap
        .manifest
        .cluster
        .kubernetes_version
        .as_deref()
        .and_then(intel_scheduler::KubeVersion::parse)
        .map_or(31, |v| v.minor);
    let mut out = Traffic::default();
    let mut rates: BTreeMap<(ObjectRef, ObjectRef), f64> = BTreeMap::new();
    if let Some(m) = snap
        .prometheus
        .get("istio_workload_bytes")
        .and_then(|raw| serde_json::from_str::<Matrix>(raw.get()).ok())
    {
        out.bytes_known = true;
        for s in m.data.result {
            let l = |k: &str| s.metric.get(k).map(String::as_str).unwrap_or_default();
            let (Some(a), Some(b)) = (
                workload(snap, l("source_workload_namespace"), l("source_workload")),
                workload(
                    snap,
                    l("destination_workload_namespace"),
                    l("destination_workload"),
                ),
            ) else {
                continue;
            };
            let values: Vec<f64> = s
                .values
                .iter()
                .filter_map(|(_, v)| v.parse::<f64>().ok())
                .filter(|v| v.is_finite() && *v >= 0.0)
                .collect();
            if values.is_empty() || a == b {
                continue;
            }
            *rates.entry((a, b)).or_default() += values.iter().sum::<f64>() / values.len() as f64;
        }
    }
    let mut placed: BTreeMap<ObjectRef, Placed> = BTreeMap::new();
    // The pairs no series weighs, from the service map.
    let map = rel.service_map();
    for w in rel.workloads() {
        for b in map.depends_on(w) {
            if rates.contains_key(&(w.clone(), b.clone())) {
                continue;
            }
            let za = zones_of(&mut placed, cluster, rel, w).1.clone();
            let zb = &zones_of(&mut placed, cluster, rel, b).1;
            if cross_share(&za, zb) >= MIN_SHARE {
                out.unweighed_cross_zone_pairs += 1;
            }
        }
    }
    for ((a, b), rate) in rates {
        let za = zones_of(&mut placed, cluster, rel, &a).1.clone();
        let (pb, zb) = zones_of(&mut placed, cluster, rel, &b).clone();
        let share = cross_share(&za, &zb);
        let gb = rate * share * SECONDS_PER_MONTH / 1e9;
        if share < MIN_SHARE || gb < MIN_GB_MONTH {
            continue;
        }
        let services = services_of(rel, &b);
        let everywhere = za.keys().all(|z| zb.contains_key(z));
        let mut commands = Vec::new();
        let mut spread_to = None;
        let fix = if everywhere {
            "route"
        } else {
            // Spread the callee over the zones first, simulated.
            let zones: usize = cluster
                .nodes
                .iter()
                .filter_map(|n| n.labels.get(ZONE))
                .collect::<std::collections::BTreeSet<_>>()
                .len();
            if let Some(c) = super::spread::zone_spread(
                cluster,
                &b,
                &pb,
                zones,
                &super::spread::template(snap, &b),
            ) {
                commands.push(c.patch.clone());
                spread_to = Some(c.after.clone());
            }
            "spread"
        };
        commands.extend(services.iter().flat_map(|s| route(s, minor)));
        out.pairs.push(Pair {
            caller: format!("{} {}/{}", a.kind, a.namespace, a.name),
            callee: format!("{} {}/{}", b.kind, b.namespace, b.name),
            bytes_per_second: (rate * 10.0).round() / 10.0,
            cross_zone_share: (share * 1000.0).round() / 1000.0,
            cross_zone_gb_month: (gb * 10.0).round() / 10.0,
            monthly_cost: (gb * ZONE_EGRESS_PER_GB * 100.0).round() / 100.0,
            caller_zones: za,
            callee_zones: zb,
            fix: fix.into(),
            commands,
            spread_to,
        });
    }
    out.pairs.sort_by(|x, y| {
        y.monthly_cost
            .total_cmp(&x.monthly_cost)
            .then_with(|| (&x.caller, &x.callee).cmp(&(&y.caller, &y.callee)))
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn even_routing_crosses_zones_in_proportion() {
        let z = |v: &[(&str, usize)]| -> BTreeMap<String, usize> {
            v.iter().map(|(k, n)| (k.to_string(), *n)).collect()
        };
        // Callee only in b: every byte from a crosses.
        assert_eq!(cross_share(&z(&[("a", 2)]), &z(&[("b", 3)])), 1.0);
        // One callee pod per zone of three: two thirds cross.
        let share = cross_share(
            &z(&[("a", 1), ("b", 1), ("c", 1)]),
            &z(&[("a", 1), ("b", 1), ("c", 1)]),
        );
        assert!((share - 2.0 / 3.0).abs() < 1e-12);
        // Both wholly in one zone: nothing crosses.
        assert_eq!(cross_share(&z(&[("a", 2)]), &z(&[("a", 1)])), 0.0);
    }
}
