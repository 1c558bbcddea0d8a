//! Who sees a Service fail: its callers (found by their peers, failed with the client
//! error of the fault) and the ingress edge (ingress-nginx pods wired to their backends,
//! their error lines and failing upstreams). Shared by the Service, TLS and DNS faults.

use std::collections::BTreeSet;

use crate::scenario::Fault;
use crate::signals::{LogLine, Peer, PeerError};
use crate::world::World;

use super::cluster::{label, pod_signals_mut, terminal};
use super::{ns_app, strings};

// -- callers --------------------------------------------------------------------------------

/// Apps of a namespace whose containers are configured to reach a Service.
fn callers_of(world: &World, ns: &str, svc: &str) -> Vec<(String, String)> {
    let mut out: BTreeSet<(String, String)> = BTreeSet::new();
    for s in &world.signals.containers {
        if s.peers
            .iter()
            .any(|p| p.service == svc && p.namespace == ns)
        {
            out.insert((s.namespace.clone(), s.app.clone()));
        }
    }
    out.into_iter().collect()
}

/// A failure calling `svc` for the pods of `callers` from `since`: the peer added where the
/// config does not name it, the error kind, the share of the callers' own requests failing.
#[allow(clippy::too_many_arguments)]
pub(super) fn fail_callers(
    world: &mut World,
    svc_ns: &str,
    svc: &str,
    callers: &[(String, String)],
    kind: PeerError,
    since: f64,
    rate: f64,
    status: u16,
    latency: Option<f64>,
) {
    let (ip, port) = world
        .get("Service", svc_ns, svc)
        .map(|s| {
            (
                s["spec"]["clusterIP"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                s["spec"]["ports"][0]["port"].as_u64().unwrap_or(8080) as u16,
            )
        })
        .unwrap_or_default();
    for (ns, app) in callers {
        for s in world.app_signals_mut(ns, app) {
            if !s
                .peers
                .iter()
                .any(|p| p.service == svc && p.namespace == svc_ns)
            {
                s.peers.push(Peer {
                    service: svc.to_string(),
                    namespace: svc_ns.to_string(),
                    host: format!("{svc}.{svc_ns}.svc.cluster.local"),
                    port,
                    cluster_ip: ip.clone(),
                });
            }
            s.failing_peer = Some((svc.to_string(), kind));
            s.onset_minutes_ago = Some(s.onset_minutes_ago.map_or(since, |o| o.max(since)));
            s.error_rate = rate;
            s.error_status = status;
            if let Some(l) = latency {
                s.latency_ms = l;
            }
        }
    }
}

pub(super) fn callers_param(
    world: &World,
    f: &Fault,
    svc_ns: &str,
    svc: &str,
) -> Vec<(String, String)> {
    let listed = strings(f, "clients");
    if listed.is_empty() {
        return callers_of(world, svc_ns, svc);
    }
    listed
        .iter()
        .map(|c| {
            let (ns, app) = ns_app(f, c);
            (ns.to_string(), app.to_string())
        })
        .collect()
}

// -- the edge -------------------------------------------------------------------------------

/// Pods of the ingress controller.
fn ingress_pods(world: &World) -> Vec<(String, String)> {
    world
        .names("Pod", None)
        .into_iter()
        .filter(|(ns, p)| {
            label(world, ns, p, "app") == "ingress-nginx-controller"
                && world.get("Pod", ns, p).is_some_and(|v| !terminal(v))
        })
        .collect()
}

/// Gives the ingress controller's containers the Ingress backends as peers (nginx routes to
/// them), so its access log names the real upstreams.
pub(super) fn wire_ingress(world: &mut World) {
    let mut backends: Vec<Peer> = Vec::new();
    for (ns, ing) in world.names("Ingress", None) {
        let Some(i) = world.get("Ingress", &ns, &ing) else {
            continue;
        };
        for rule in i["spec"]["rules"].as_array().cloned().unwrap_or_default() {
            for path in rule["http"]["paths"]
                .as_array()
                .cloned()
                .unwrap_or_default()
            {
                let svc = path["backend"]["service"]["name"]
                    .as_str()
                    .unwrap_or_default();
                let port = path["backend"]["service"]["port"]["number"]
                    .as_u64()
                    .unwrap_or(80) as u16;
                let ip = world
                    .get("Service", &ns, svc)
                    .and_then(|s| s["spec"]["clusterIP"].as_str())
                    .unwrap_or_default()
                    .to_string();
                if !svc.is_empty()
                    && !backends
                        .iter()
                        .any(|b| b.service == svc && b.namespace == ns)
                {
                    backends.push(Peer {
                        service: svc.to_string(),
                        namespace: ns.clone(),
                        host: format!("{svc}.{ns}.svc.cluster.local"),
                        port,
                        cluster_ip: ip,
                    });
                }
            }
        }
    }
    for (ns, pod) in ingress_pods(world) {
        for s in pod_signals_mut(world, &ns, &pod) {
            for b in &backends {
                if !s
                    .peers
                    .iter()
                    .any(|p| p.service == b.service && p.namespace == b.namespace)
                {
                    s.peers.push(b.clone());
                }
            }
        }
    }
}

/// Whether an Ingress routes to this Service.
pub(super) fn routed(world: &World, ns: &str, svc: &str) -> bool {
    world.names("Ingress", Some(ns)).iter().any(|(_, ing)| {
        world.get("Ingress", ns, ing).is_some_and(|i| {
            i["spec"]["rules"].as_array().is_some_and(|rules| {
                rules.iter().any(|r| {
                    r["http"]["paths"]
                        .as_array()
                        .is_some_and(|ps| ps.iter().any(|p| p["backend"]["service"]["name"] == svc))
                })
            })
        })
    })
}

/// Adds lines (already formatted) to every ingress controller container.
pub(super) fn ingress_lines(world: &mut World, lines: Vec<LogLine>) {
    for (ns, pod) in ingress_pods(world) {
        for s in pod_signals_mut(world, &ns, &pod) {
            s.extra_lines.extend(lines.iter().cloned());
        }
    }
}

/// The edge failing for a routed Service: nginx's errors reaching it, and the share of
/// requests the controller answers with an error.
pub(super) fn edge_failure(
    world: &mut World,
    ns: &str,
    svc: &str,
    kind: PeerError,
    since: f64,
    rate: f64,
) {
    wire_ingress(world);
    let status = match kind {
        PeerError::Timeout => 504,
        PeerError::ServerError | PeerError::PoolExhausted => 503,
        _ => 502,
    };
    for (ins, pod) in ingress_pods(world) {
        for s in pod_signals_mut(world, &ins, &pod) {
            if s.peers
                .iter()
                .any(|p| p.service == svc && p.namespace == ns)
            {
                s.failing_peer = Some((svc.to_string(), kind));
                s.onset_minutes_ago = Some(since);
                s.error_rate = rate;
                s.error_status = status;
            }
        }
    }
}
