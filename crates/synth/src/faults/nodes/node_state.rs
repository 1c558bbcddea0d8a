//! Nodes that stop reporting: `node-notready` (the kubelet gone, the node tainted, its
//! pods evicted and rescheduled), `node-flap` (Ready toggling, kube-proxy losing the API)
//! and the near miss `node-blip` (a short NotReady or pressure episode that recovered).
//! Also the kubelet's words for each pressure kind ([`pressure_kind`]), which
//! `node-pressure` uses too.

use std::collections::BTreeSet;

use crate::scenario::Fault;
use crate::signals::{LogLine, PeerError};
use crate::topology::Topology;
use crate::world::World;

use super::cluster::{
    add_taint, event_names, expire_events, is_daemon, label, node_cond, node_event, node_ip,
    pod_node, pod_signals_mut, pods_on, schedule, set_endpoint, workload,
};
use super::lifecycle::{mark_deleted, recount, spawn_pod};
use super::{flag, klog, target_node};

/// The EKS API endpoint as kube-proxy's kubeconfig names it, and the control-plane ENI it
/// resolves to inside the VPC.
const API_HOST: &str = "4F2A9C71D03B58E6A1C2D9E07B3F5A18.gr7.eu-west-1.eks.amazonaws.com";
const API_IP: &str = "10.0.96.142";

// -- nodes: NotReady, flapping, blips ----------------------------------------------------------

/// The kubelet stops posting status (the node is down or cut off): every condition goes
/// Unknown (`NodeStatusUnknown`, `Kubelet stopped posting node status.`) 40 s after the
/// last heartbeat, the node controller taints it `node.kubernetes.io/unreachable`
/// (NoSchedule and NoExecute) and marks its pods not ready (`NodeNotReady` events), their
/// endpoints turn not ready, metrics-server gets no sample. After `tolerationSeconds`
/// (300) the taint-eviction controller marks the pods for deletion; they stay Terminating
/// (no kubelet to confirm) while Deployments get replacements elsewhere (`replace`, true);
/// StatefulSet pods are not replaced while their old pod exists. Params: `node`, `since`,
/// `tolerationSeconds`, `replace`.
pub(super) fn node_notready(
    world: &mut World,
    topo: &mut Topology,
    f: &Fault,
) -> Result<(), String> {
    let node = target_node(world, topo, f)?;
    let s = f.since;
    let marked = (s - 0.7).max(0.05);
    for c in ["MemoryPressure", "DiskPressure", "PIDPressure", "Ready"] {
        node_cond(
            world,
            &node,
            c,
            "Unknown",
            "NodeStatusUnknown",
            "Kubelet stopped posting node status.",
            marked,
            s,
        );
    }
    add_taint(
        world,
        &node,
        "node.kubernetes.io/unreachable",
        "NoSchedule",
        None,
    );
    add_taint(
        world,
        &node,
        "node.kubernetes.io/unreachable",
        "NoExecute",
        Some(marked),
    );
    node_event(
        world,
        &node,
        "Normal",
        "NodeNotReady",
        &format!("Node {node} status is now: NodeNotReady"),
        "node-controller",
        marked,
        marked,
        1,
    );
    if let Some(n) = world.signals.nodes.iter_mut().find(|n| n.name == node) {
        n.reporting = false;
    }
    let toleration = f.num("tolerationSeconds").unwrap_or(300.0) / 60.0;
    let evict_at = marked - toleration;
    let replace = flag(f, "replace").unwrap_or(true);
    let mut apps = BTreeSet::new();
    for (ns, pod) in pods_on(world, &node) {
        world.event(
            ("Pod", &ns, &pod),
            "Warning",
            "NodeNotReady",
            "Node is not ready",
            "node-controller",
            marked,
            marked,
            1,
        );
        world.pod_condition(&ns, &pod, "Ready", "False", None, None, marked);
        set_endpoint(world, &ns, &pod, Some((false, false, false)));
        for sig in pod_signals_mut(world, &ns, &pod) {
            // The API server cannot reach the kubelet: no logs, no metrics.
            sig.running = false;
            sig.previous = None;
        }
        let wl = workload(world, &ns, &pod);
        apps.insert((ns.clone(), label(world, &ns, &pod, "app")));
        if is_daemon(world, &ns, &pod) || evict_at <= 0.0 {
            continue;
        }
        mark_deleted(
            world,
            &ns,
            &pod,
            evict_at,
            "DeletionByTaintManager",
            "Taint manager: deleting due to NoExecute taint",
        );
        world.event(
            ("Pod", &ns, &pod),
            "Normal",
            "TaintManagerEviction",
            &format!("Marking for deletion Pod {ns}/{pod}"),
            "taint-eviction-controller",
            evict_at,
            evict_at,
            1,
        );
        set_endpoint(world, &ns, &pod, Some((false, false, true)));
        if replace && wl.is_some_and(|(k, _)| k == "Deployment") {
            let spec = world.get("Pod", &ns, &pod).map(|p| p["spec"].clone());
            let target = spec
                .map(|sp| schedule(world, &sp, &[node.as_str()]))
                .unwrap_or_else(|| Err("no pod spec".into()));
            spawn_pod(world, &ns, &pod, None, target, (evict_at - 0.05).max(0.02));
        }
    }
    for (ns, app) in apps {
        recount(world, &ns, &app, evict_at.max(0.05));
    }
    Ok(())
}

/// kube-proxy's client-go lines when its watches to the API server break (a NIC flap).
fn kube_proxy_lines(world: &World, node: &str, t: f64, k: u64) -> Vec<LogLine> {
    let ip = node_ip(world, node);
    let port = 40_000 + (k * 2_713) % 20_000;
    let rv = 48_213_000 + k * 97;
    let url = format!(
        "https://{API_HOST}/apis/discovery.k8s.io/v1/endpointslices?labelSelector=%21service.kubernetes.io%2Fheadless%2C%21service.kubernetes.io%2Fservice-proxy-name&resourceVersion={rv}"
    );
    let err = if k % 3 == 2 {
        format!("dial tcp {API_IP}:443: connect: network is unreachable")
    } else {
        format!("read tcp {ip}:{port}->{API_IP}:443: read: connection reset by peer")
    };
    let list = format!("failed to list *v1.EndpointSlice: Get \"{url}\": {err}");
    let escaped = list.replace('"', "\\\"");
    vec![
        LogLine {
            minutes_ago: t + 0.02,
            text: klog(
                world,
                'W',
                t + 0.02,
                1,
                "reflector.go:484",
                "k8s.io/client-go/informers/factory.go:160: watch of *v1.Service ended with: an error on the server (\"unable to decode an event from the watch stream: http2: client connection lost\") has prevented the request from succeeding",
            ),
        },
        LogLine {
            minutes_ago: t,
            text: klog(
                world,
                'W',
                t,
                1,
                "reflector.go:561",
                &format!("k8s.io/client-go/informers/factory.go:160: {list}"),
            ),
        },
        LogLine {
            minutes_ago: t - 0.001,
            text: klog(
                world,
                'E',
                t - 0.001,
                1,
                "reflector.go:158",
                &format!(
                    "\"Unhandled Error\" err=\"k8s.io/client-go/informers/factory.go:160: Failed to watch *v1.EndpointSlice: {escaped}\" logger=\"UnhandledError\""
                ),
            ),
        },
    ]
}

/// A node whose network keeps dropping (a flapping interface, a failing ENA, a bad top-of-
/// rack port): the node controller marks it NotReady when heartbeats stop and the kubelet
/// posts Ready when they resume, `flaps` times over `since` minutes (`NodeNotReady` from the
/// node controller, `NodeReady` from the kubelet, with counts; the Ready condition's
/// lastTransitionTime recent). Pods on the node are marked not ready each time and, while
/// up, fail their own calls (connection resets) and answer `status` (503) at `errorRate`
/// (0.25); kube-proxy on the node loses its API watches (`connection reset by peer`,
/// `network is unreachable`). With `retryAmplification` (a factor), the other replicas of
/// the apps on the node take the retried traffic: CPU and requests multiplied, latency
/// `latencyMs`. Params: `node`, `since`, `flaps`, `lastReady` (minutes ago it last came
/// back, 1.5), `errorRate`, `status`, `retryAmplification`, `latencyMs`.
pub(super) fn node_flap(world: &mut World, topo: &mut Topology, f: &Fault) -> Result<(), String> {
    let node = target_node(world, topo, f)?;
    let s = f.since;
    let flaps = f.num("flaps").unwrap_or(6.0).max(1.0) as u64;
    let last_ready = f.num("lastReady").unwrap_or(1.5).clamp(0.1, s);
    let last_down = (last_ready + 0.8).min(s);
    node_event(
        world,
        &node,
        "Normal",
        "NodeNotReady",
        &format!("Node {node} status is now: NodeNotReady"),
        "node-controller",
        s,
        last_down,
        flaps,
    );
    node_event(
        world,
        &node,
        "Normal",
        "NodeReady",
        &format!("Node {node} status is now: NodeReady"),
        "kubelet",
        (s - 0.8).max(last_ready),
        last_ready,
        flaps,
    );
    node_cond(
        world,
        &node,
        "Ready",
        "True",
        "KubeletReady",
        "kubelet is posting ready status",
        last_ready,
        0.2,
    );
    let rate = f.num("errorRate").unwrap_or(0.25);
    let status = f.num("status").unwrap_or(503.0) as u16;
    let latency = f.num("latencyMs");
    let mut apps: BTreeSet<(String, String)> = BTreeSet::new();
    for (ns, pod) in pods_on(world, &node) {
        if is_daemon(world, &ns, &pod) {
            if label(world, &ns, &pod, "app") == "kube-proxy" {
                let mut lines = Vec::new();
                for k in 0..flaps {
                    let t = s - (s - last_down) * k as f64 / (flaps.max(2) - 1) as f64
                        + 0.0071 * ((k * 37) % 11) as f64;
                    lines.extend(kube_proxy_lines(world, &node, t, k));
                }
                for sig in pod_signals_mut(world, &ns, &pod) {
                    sig.extra_lines.extend(lines.iter().cloned());
                }
            }
            continue;
        }
        world.event(
            ("Pod", &ns, &pod),
            "Warning",
            "NodeNotReady",
            "Node is not ready",
            "node-controller",
            s,
            last_down,
            flaps,
        );
        world.pod_condition(&ns, &pod, "Ready", "True", None, None, last_ready - 0.1);
        world.pod_condition(
            &ns,
            &pod,
            "ContainersReady",
            "True",
            None,
            None,
            last_ready - 0.1,
        );
        for sig in pod_signals_mut(world, &ns, &pod) {
            sig.onset_minutes_ago = Some(s);
            sig.error_rate = rate;
            sig.error_status = status;
            if let Some(l) = latency {
                sig.latency_ms = l;
            }
            if let Some(p) = sig.peers.first() {
                sig.failing_peer = Some((p.service.clone(), PeerError::Reset));
            }
        }
        apps.insert((ns.clone(), label(world, &ns, &pod, "app")));
    }
    if let Some(a) = f.num("retryAmplification") {
        for (ns, app) in &apps {
            for pod in world.pods_of(ns, app) {
                if pod_node(world, ns, &pod).as_deref() == Some(node.as_str()) {
                    continue;
                }
                for sig in pod_signals_mut(world, ns, &pod) {
                    sig.onset_minutes_ago = Some(s);
                    sig.cpu_factor = a;
                    sig.rps *= a;
                    if let Some(l) = latency {
                        sig.latency_ms = l;
                    }
                }
            }
        }
    }
    Ok(())
}

/// A near miss: a node condition that was bad for `duration` minutes (1) from `since`
/// minutes ago and recovered — `condition` Ready (NotReady blip: the node controller's and
/// kubelet's events, its pods' NodeNotReady events) or MemoryPressure/DiskPressure/
/// PIDPressure (the kubelet's events; reclaimed without evicting, e.g. by image GC).
pub(super) fn node_blip(world: &mut World, topo: &mut Topology, f: &Fault) -> Result<(), String> {
    let before = event_names(world);
    node_blip_events(world, topo, f)?;
    expire_events(world, &before);
    Ok(())
}

fn node_blip_events(world: &mut World, topo: &mut Topology, f: &Fault) -> Result<(), String> {
    let node = target_node(world, topo, f)?;
    let s = f.since;
    let back = (s - f.num("duration").unwrap_or(1.0)).max(0.05);
    let cond = f.str("condition").unwrap_or("Ready");
    match cond {
        "Ready" => {
            node_event(
                world,
                &node,
                "Normal",
                "NodeNotReady",
                &format!("Node {node} status is now: NodeNotReady"),
                "node-controller",
                s,
                s,
                1,
            );
            node_event(
                world,
                &node,
                "Normal",
                "NodeReady",
                &format!("Node {node} status is now: NodeReady"),
                "kubelet",
                back,
                back,
                1,
            );
            node_cond(
                world,
                &node,
                "Ready",
                "True",
                "KubeletReady",
                "kubelet is posting ready status",
                back,
                0.3,
            );
            for (ns, pod) in pods_on(world, &node) {
                if is_daemon(world, &ns, &pod) {
                    continue;
                }
                world.event(
                    ("Pod", &ns, &pod),
                    "Warning",
                    "NodeNotReady",
                    "Node is not ready",
                    "node-controller",
                    s,
                    s,
                    1,
                );
                world.pod_condition(&ns, &pod, "Ready", "True", None, None, back - 0.1);
            }
        }
        "MemoryPressure" | "DiskPressure" | "PIDPressure" => {
            let p = pressure_kind(match cond {
                "MemoryPressure" => "memory",
                "DiskPressure" => "disk",
                _ => "pid",
            })?;
            node_event(
                world,
                &node,
                "Normal",
                p.event_true,
                &format!("Node {node} status is now: {}", p.event_true),
                "kubelet",
                s,
                s,
                1,
            );
            node_event(
                world,
                &node,
                "Warning",
                "EvictionThresholdMet",
                &format!("Attempting to reclaim {}", p.resource),
                "kubelet",
                s - 0.1,
                s - 0.1,
                1,
            );
            node_event(
                world,
                &node,
                "Normal",
                p.event_false,
                &format!("Node {node} status is now: {}", p.event_false),
                "kubelet",
                back,
                back,
                1,
            );
            node_cond(
                world,
                &node,
                p.condition,
                "False",
                p.reason_false,
                p.message_false,
                back,
                0.3,
            );
        }
        other => return Err(format!("node-blip: unknown condition {other:?}")),
    }
    Ok(())
}

// -- pressure kinds: the kubelet's words for each, shared with `node-pressure` --------------

pub(super) struct Pressure {
    pub(super) condition: &'static str,
    pub(super) reason_true: &'static str,
    pub(super) message_true: &'static str,
    pub(super) reason_false: &'static str,
    pub(super) message_false: &'static str,
    pub(super) taint: &'static str,
    pub(super) resource: &'static str,
    pub(super) event_true: &'static str,
    pub(super) event_false: &'static str,
}

pub(super) fn pressure_kind(kind: &str) -> Result<Pressure, String> {
    Ok(match kind {
        "memory" => Pressure {
            condition: "MemoryPressure",
            reason_true: "KubeletHasInsufficientMemory",
            message_true: "kubelet has insufficient memory available",
            reason_false: "KubeletHasSufficientMemory",
            message_false: "kubelet has sufficient memory available",
            taint: "node.kubernetes.io/memory-pressure",
            resource: "memory",
            event_true: "NodeHasInsufficientMemory",
            event_false: "NodeHasSufficientMemory",
        },
        "disk" => Pressure {
            condition: "DiskPressure",
            reason_true: "KubeletHasDiskPressure",
            message_true: "kubelet has disk pressure",
            reason_false: "KubeletHasNoDiskPressure",
            message_false: "kubelet has no disk pressure",
            taint: "node.kubernetes.io/disk-pressure",
            resource: "ephemeral-storage",
            event_true: "NodeHasDiskPressure",
            event_false: "NodeHasNoDiskPressure",
        },
        "pid" => Pressure {
            condition: "PIDPressure",
            reason_true: "KubeletHasInsufficientPID",
            message_true: "kubelet has insufficient PID available",
            reason_false: "KubeletHasSufficientPID",
            message_false: "kubelet has sufficient PID available",
            taint: "node.kubernetes.io/pid-pressure",
            resource: "pids",
            event_true: "NodeHasInsufficientPID",
            event_false: "NodeHasSufficientPID",
        },
        other => return Err(format!("unknown pressure {other:?} (memory, disk, pid)")),
    })
}
