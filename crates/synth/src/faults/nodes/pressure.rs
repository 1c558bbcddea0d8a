//! `node-pressure`: a node out of memory, disk or PIDs, with the kubelet's conditions,
//! taint and evictions, the pods that ran there and where they went. The words of each
//! pressure kind are shared with `node-blip` and live beside it, in
//! [`node_state`](super::node_state).

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::scenario::Fault;
use crate::signals::{ContainerSignals, Previous};
use crate::topology::Topology;
use crate::world::World;

use super::cluster::{
    add_taint, is_daemon, label, mem_at, node_cond, node_event, node_ip, node_quantity, node_zone,
    owner_of, pod_signals, pod_signals_mut, pods_on, schedule, workload,
};
use super::lifecycle::{evict_pod, recount, recreate, spawn_pod, spawn_pod_at};
use super::node_state::pressure_kind;
use super::{GI, MI, bytes_of, flag, ki, ns_app, pg_prefix, strings, target_node};

// -- node pressure ------------------------------------------------------------------------------

/// Pins an app to a pool (its template's nodeSelector, part of the change that introduced
/// it) and moves its pods there: the first onto `node`, the others onto the pool's other
/// nodes (or `node` when it is the only one).
fn pin_to_pool(world: &mut World, ns: &str, app: &str, selector: &Value, node: &str) {
    if let Some(d) = world.get_mut("Deployment", ns, app) {
        d["spec"]["template"]["spec"]["nodeSelector"] = selector.clone();
        if let Some(mf) = d["metadata"]["managedFields"]
            .as_array_mut()
            .and_then(|a| a.last_mut())
        {
            mf["fieldsV1"]["f:spec"]["f:template"]["f:spec"]["f:nodeSelector"] = json!({});
        }
    }
    for (_, rs) in world.names("ReplicaSet", Some(ns)) {
        if let Some(r) = world.get_mut("ReplicaSet", ns, &rs) {
            let mine = owner_of(r).is_some_and(|(k, n)| k == "Deployment" && n == app);
            if mine && r["spec"]["replicas"].as_u64().unwrap_or(0) > 0 {
                r["spec"]["template"]["spec"]["nodeSelector"] = selector.clone();
            }
        }
    }
    let pods = world.pods_of(ns, app);
    for (i, pod) in pods.iter().enumerate() {
        let Some(spec) = world.get("Pod", ns, pod).map(|p| {
            let mut s = p["spec"].clone();
            s["nodeSelector"] = selector.clone();
            s
        }) else {
            continue;
        };
        let target = if i == 0 {
            node.to_string()
        } else {
            schedule(world, &spec, &[node]).unwrap_or_else(|_| node.to_string())
        };
        let host = node_ip(world, &target);
        let zone = node_zone(world, &target);
        if let Some(p) = world.get_mut("Pod", ns, pod) {
            p["spec"]["nodeSelector"] = selector.clone();
            p["spec"]["nodeName"] = json!(target);
            p["status"]["hostIP"] = json!(host);
            p["status"]["hostIPs"] = json!([{"ip": host}]);
        }
        for pn in world
            .signals
            .pod_nodes
            .iter_mut()
            .filter(|((n, p), _)| n == ns && p == pod)
        {
            pn.1 = target.clone();
        }
        for (_, slice) in world.names("EndpointSlice", Some(ns)) {
            if let Some(s) = world.get_mut("EndpointSlice", ns, &slice) {
                if let Some(eps) = s["endpoints"].as_array_mut() {
                    for e in eps
                        .iter_mut()
                        .filter(|e| e["targetRef"]["name"] == pod.as_str())
                    {
                        e["nodeName"] = json!(target);
                        e["zone"] = json!(zone);
                    }
                }
            }
        }
    }
}

/// Last words of a container killed after failing its liveness probe.
fn shutdown_lines(world: &World, s: &ContainerSignals, at: f64) -> Vec<String> {
    match s.style {
        crate::signals::LogStyle::Postgres => vec![format!(
            "{}LOG:  received smart shutdown request",
            pg_prefix(world, at + 0.5, 1)
        )],
        _ => Vec::new(),
    }
}

/// The kubelet restarting a container whose liveness probe timed out (the node stalled):
/// Unhealthy and Killing events, a restart with the terminated instance in lastState.
fn liveness_restart(world: &mut World, ns: &str, pod: &str, at: f64) {
    let Some(p) = world.get("Pod", ns, pod).cloned() else {
        return;
    };
    let ip = p["status"]["podIP"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let restarted = (at - 0.55).max(0.02);
    for c in p["spec"]["containers"]
        .as_array()
        .cloned()
        .unwrap_or_default()
    {
        let name = c["name"].as_str().unwrap_or_default().to_string();
        let probe = &c["livenessProbe"];
        let msg = if let Some(port) = probe["tcpSocket"]["port"].as_u64() {
            format!("Liveness probe failed: dial tcp {ip}:{port}: i/o timeout")
        } else {
            format!(
                "Liveness probe failed: Get \"http://{ip}:{}{}\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)",
                probe["httpGet"]["port"].as_u64().unwrap_or(8080),
                probe["httpGet"]["path"].as_str().unwrap_or("/healthz")
            )
        };
        world.event(
            ("Pod", ns, pod),
            "Warning",
            "Unhealthy",
            &msg,
            "kubelet",
            at + 0.35,
            at,
            3,
        );
        world.event(
            ("Pod", ns, pod),
            "Normal",
            "Killing",
            &format!("Container {name} failed liveness probe, will be restarted"),
            "kubelet",
            at,
            at,
            1,
        );
        let image = c["image"].as_str().unwrap_or_default().to_string();
        world.event(
            ("Pod", ns, pod),
            "Normal",
            "Pulled",
            &format!("Container image \"{image}\" already present on machine"),
            "kubelet",
            restarted,
            restarted,
            1,
        );
        world.event(
            ("Pod", ns, pod),
            "Normal",
            "Started",
            &format!("Started container {name}"),
            "kubelet",
            restarted,
            restarted,
            1,
        );
        let (finished, started) = (world.at(at - 0.5), world.at(restarted));
        if let Some(pv) = world.get_mut("Pod", ns, pod) {
            if let Some(cs) = pv["status"]["containerStatuses"].as_array_mut() {
                for st in cs.iter_mut().filter(|s| s["name"] == name.as_str()) {
                    let restarts = st["restartCount"].as_u64().unwrap_or(0) + 1;
                    let old_start = st["state"]["running"]["startedAt"].clone();
                    st["restartCount"] = json!(restarts);
                    st["lastState"] = json!({"terminated": {"exitCode": 137, "reason": "Error",
                        "startedAt": old_start, "finishedAt": finished, "containerID": st["containerID"].clone()}});
                    st["state"] = json!({"running": {"startedAt": started}});
                }
            }
        }
        let last = world
            .signals
            .containers
            .iter()
            .find(|s| s.namespace == ns && s.pod == pod && s.container == name)
            .map(|s| shutdown_lines(world, s, at))
            .unwrap_or_default();
        if let Some(s) = world.signals_mut(ns, pod, &name) {
            s.previous = Some(Previous {
                started_minutes_ago: s.started_minutes_ago,
                ended_minutes_ago: at - 0.5,
                last_lines: last,
            });
            s.started_minutes_ago = restarted;
        }
    }
    world.pod_condition(
        ns,
        pod,
        "Ready",
        "True",
        None,
        None,
        (restarted - 0.2).max(0.01),
    );
}

/// A container's (name, usage, request, request as written) for an eviction message.
type Usage = (String, f64, f64, String);

/// The kubelet's eviction message (`pkg/kubelet/eviction`): the resource, the threshold
/// and what was available, and each container using more than it requested.
fn eviction_message(
    resource: &str,
    threshold: &str,
    available: &str,
    containers: &[Usage],
) -> String {
    let mut m = format!(
        "The node was low on resource: {resource}. Threshold quantity: {threshold}, available: {available}. "
    );
    for (name, usage, request, request_text) in containers {
        if usage > request {
            m.push_str(&format!(
                "Container {name} was using {}, request is {request_text}, has larger consumption of {resource}. ",
                ki(*usage)
            ));
        }
    }
    m
}

/// A container's request for a resource, as bytes and as written.
fn request_of(
    world: &World,
    ns: &str,
    pod: &str,
    container: &str,
    resource: &str,
) -> (f64, String) {
    let q = world
        .get("Pod", ns, pod)
        .and_then(|p| p["spec"]["containers"].as_array())
        .and_then(|cs| cs.iter().find(|c| c["name"] == container))
        .and_then(|c| c["resources"]["requests"][resource].as_str())
        .map(str::to_string);
    match q {
        Some(q) => (bytes_of(&q).unwrap_or(0.0), q),
        None => (0.0, "0".to_string()),
    }
}

/// A node running out of memory, disk or PIDs (`pressure`: memory | disk | pid): the
/// kubelet's condition (MemoryPressure `KubeletHasInsufficientMemory`…) and event
/// (`NodeHasInsufficientMemory`…), the node controller's `node.kubernetes.io/<x>-pressure`
/// NoSchedule taint, the eviction manager's `EvictionThresholdMet` ("Attempting to reclaim
/// memory") and evictions: pods Failed/Evicted with the kubelet's message naming each
/// container using more than its request; replacements rescheduled elsewhere or Pending
/// with the scheduler's reasons. For disk, image GC failing (`FreeDiskSpaceFailed`).
///
/// Params: `node`, `since` (pressure began); `culprit` (the app consuming the resource;
/// evicted first, as the kubelet ranks pods by usage above request); `culpritSince`
/// (memory: when its growth began, default since + 30; it grows to fill the node by
/// `since` — it should have no memory limit); `nodeSelector` (pins the culprit's template
/// to a pool and moves its pods there, the first onto this node: part of the change that
/// introduced it); `usageGi` (disk: the culprit's writable-layer and log usage, 40);
/// `evict` (apps whose pods on the node are evicted after the culprit, in order) and
/// `evictOthers` (that many more of the node's pods, critical and DaemonSet pods spared);
/// `evictCulprit` (true) and `culpritEvictions` (how many of its pods; all); `evictAt` (minutes ago of the first eviction, since - 0.3) and
/// `evictEvery` (1.5); `stalled` (apps whose pods on the node fail their liveness probe as
/// the node thrashes and are restarted by the kubelet) at `stalledAt` (since + 0.6);
/// `until` (pressure ended this many minutes ago: condition back to False, taint removed,
/// Pending replacements scheduled then).
pub(super) fn node_pressure(
    world: &mut World,
    topo: &mut Topology,
    f: &Fault,
) -> Result<(), String> {
    let node = target_node(world, topo, f)?;
    let p = pressure_kind(f.str("pressure").unwrap_or("memory"))?;
    let s = f.since;
    let until = f.num("until").filter(|u| *u < s);
    let culprit = f.str("culprit").map(|c| {
        let (ns, app) = ns_app(f, c);
        (ns.to_string(), app.to_string())
    });
    if let (Some((cns, capp)), Some(sel)) = (&culprit, f.params.get("nodeSelector")) {
        pin_to_pool(world, cns, capp, sel, &node);
    }
    let on_node = pods_on(world, &node);
    let culprit_pods: Vec<(String, String)> = match &culprit {
        Some((cns, capp)) => on_node
            .iter()
            .filter(|(ns, pod)| ns == cns && label(world, ns, pod, "app") == *capp)
            .cloned()
            .collect(),
        None => Vec::new(),
    };
    if culprit.is_some() && culprit_pods.is_empty() {
        return Err(format!(
            "node-pressure: no pod of the culprit on {node} (pin it with `nodeSelector`)"
        ));
    }

    // The culprit's growth (memory): from `culpritSince`, to fill the node by `since`.
    let capacity = node_quantity(world, &node, "capacity", "memory");
    if p.resource == "memory" && !culprit_pods.is_empty() {
        let grow_from = f.num("culpritSince").unwrap_or(s + 30.0).max(s + 1.0);
        let system = world
            .signals
            .nodes
            .iter()
            .find(|n| n.name == node)
            .map(|n| n.system_mem)
            .unwrap_or(0.0);
        let others: f64 = on_node
            .iter()
            .filter(|x| !culprit_pods.contains(x))
            .flat_map(|(ns, pod)| pod_signals(world, ns, pod))
            .map(|sig| sig.mem_base)
            .sum();
        let room = (capacity - system - others - 80.0 * MI).max(GI);
        let share = room / culprit_pods.len() as f64;
        for (ns, pod) in &culprit_pods {
            for sig in pod_signals_mut(world, ns, pod) {
                sig.onset_minutes_ago = Some(grow_from);
                sig.mem_limit = None;
                sig.mem_slope_per_min =
                    (share - sig.mem_base).max(0.0) / (grow_from.min(sig.started_minutes_ago) - s);
            }
        }
    }

    // Condition, taint, events.
    node_cond(
        world,
        &node,
        p.condition,
        "True",
        p.reason_true,
        p.message_true,
        s,
        0.2,
    );
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
    add_taint(world, &node, p.taint, "NoSchedule", None);
    if let Some(u) = until {
        node_cond(
            world,
            &node,
            p.condition,
            "False",
            p.reason_false,
            p.message_false,
            u,
            0.2,
        );
        node_event(
            world,
            &node,
            "Normal",
            p.event_false,
            &format!("Node {node} status is now: {}", p.event_false),
            "kubelet",
            u,
            u,
            1,
        );
    }
    if p.resource == "ephemeral-storage" {
        let want = 8.0 * GI + (world.rng.range(0, 4096) as f64) * MI;
        let found = (world.rng.range(200, 1400) as f64) * MI;
        node_event(
            world,
            &node,
            "Warning",
            "FreeDiskSpaceFailed",
            &format!(
                "Failed to garbage collect required amount of images. Attempted to free {} bytes, but only found {} bytes eligible to free.",
                want as u64, found as u64
            ),
            "kubelet",
            s + 3.0,
            (s - 2.0).max(until.unwrap_or(0.0)).max(0.2),
            ((s / 5.0).ceil() as u64).max(1),
        );
    }

    // Evictions, in the kubelet's order.
    let mut victims: Vec<(String, String)> = Vec::new();
    if flag(f, "evictCulprit").unwrap_or(true) {
        let n = f
            .num("culpritEvictions")
            .map(|n| n as usize)
            .unwrap_or(culprit_pods.len());
        victims.extend(culprit_pods.iter().take(n).cloned());
    }
    for app in strings(f, "evict") {
        let (ans, aapp) = ns_app(f, &app);
        victims.extend(
            on_node
                .iter()
                .filter(|(ns, pod)| ns == ans && label(world, ns, pod, "app") == aapp)
                .cloned(),
        );
    }
    if let Some(n) = f.num("evictOthers") {
        let others: Vec<(String, String)> = on_node
            .iter()
            .filter(|(ns, pod)| {
                !culprit_pods.contains(&(ns.clone(), pod.clone()))
                    && !victims.contains(&(ns.clone(), pod.clone()))
                    && !is_daemon(world, ns, pod)
                    && !world
                        .get("Pod", ns, pod)
                        .is_some_and(|p| p["spec"]["priorityClassName"].is_string())
            })
            .take(n as usize)
            .cloned()
            .collect();
        victims.extend(others);
    }
    let first = f.num("evictAt").unwrap_or(s - 0.3).min(s);
    let every = f.num("evictEvery").unwrap_or(1.5);
    let mut rng = world.rng.fork(&format!("pressure/{node}"));
    let mut last_evict = first;
    let mut touched: BTreeSet<(String, String)> = BTreeSet::new();
    for (i, (ns, pod)) in victims.iter().enumerate() {
        let at = (first - every * i as f64).max(0.05);
        last_evict = at;
        let sigs = pod_signals(world, ns, pod);
        let (threshold, available, usages): (String, String, Vec<Usage>) = match p.resource {
            "memory" => {
                let avail = (rng.range(52, 97) as f64) * MI + rng.range(0, 1023) as f64 * 1024.0;
                let us = sigs
                    .iter()
                    .map(|sig| {
                        let (req, text) = request_of(world, ns, pod, &sig.container, "memory");
                        (sig.container.clone(), mem_at(sig, at), req, text)
                    })
                    .collect();
                ("100Mi".to_string(), ki(avail), us)
            }
            "ephemeral-storage" => {
                let cap = node_quantity(world, &node, "capacity", "ephemeral-storage");
                let thr = (cap * 0.1).floor();
                let avail = thr * (0.55 + 0.4 * rng.unit());
                let heavy = culprit_pods.contains(&(ns.clone(), pod.clone()));
                let us = sigs
                    .iter()
                    .map(|sig| {
                        let (req, text) =
                            request_of(world, ns, pod, &sig.container, "ephemeral-storage");
                        let used = if heavy {
                            f.num("usageGi").unwrap_or(40.0) * GI * (0.97 + 0.03 * rng.unit())
                        } else {
                            (rng.range(60, 420) as f64) * MI + rng.range(0, 1023) as f64 * 1024.0
                        };
                        (sig.container.clone(), used, req, text)
                    })
                    .collect();
                (format!("{}", thr as u64), ki(avail), us)
            }
            _ => {
                let max = 4_194_304.0_f64;
                let thr = (max * 0.05).floor();
                let avail = thr * (0.3 + 0.5 * rng.unit());
                (
                    format!("{}", thr as u64),
                    format!("{}", avail as u64),
                    Vec::new(),
                )
            }
        };
        let message = eviction_message(p.resource, &threshold, &available, &usages);
        evict_pod(world, ns, pod, &message, at);
        touched.insert((ns.clone(), label(world, ns, pod, "app")));
        // The controller replaces it; the pressured node is tainted.
        let wl = workload(world, ns, pod);
        let spec = world.get("Pod", ns, pod).map(|v| v["spec"].clone());
        let Some(spec) = spec else { continue };
        match wl {
            Some((k, _)) if k == "Deployment" => {
                let target = schedule(world, &spec, &[node.as_str()]);
                let created = (at - 0.05).max(0.02);
                match (target, until) {
                    (Err(msg), Some(u)) => {
                        // Pending until the taint went, then back on this node.
                        if let Some(n) =
                            spawn_pod_at(world, ns, pod, None, Ok(node.clone()), created, u)
                        {
                            world.event(
                                ("Pod", ns, &n),
                                "Warning",
                                "FailedScheduling",
                                &msg,
                                "default-scheduler",
                                created,
                                u + 0.1,
                                ((created - u) * 2.0).max(1.0) as u64,
                            );
                        }
                    }
                    (target, _) => {
                        spawn_pod(world, ns, pod, None, target, created);
                    }
                }
            }
            Some((k, _)) if k == "StatefulSet" => {
                // The StatefulSet controller deletes the failed pod and recreates it.
                let target = schedule(world, &spec, &[node.as_str()]);
                recreate(world, ns, pod, target, (at - 0.1).max(0.02));
            }
            _ => {}
        }
    }
    if !victims.is_empty() || p.resource != "pid" {
        let n = victims.len().max(1) as u64;
        node_event(
            world,
            &node,
            "Warning",
            "EvictionThresholdMet",
            &format!("Attempting to reclaim {}", p.resource),
            "kubelet",
            s - 0.1,
            last_evict.min(s - 0.1),
            n + 1,
        );
    }

    if until.is_some() {
        if let Some(n) = world.get_mut("Node", "", &node) {
            if let Some(ts) = n["spec"]["taints"].as_array_mut() {
                ts.retain(|t| t["key"] != p.taint);
            }
            if n["spec"]["taints"].as_array().is_some_and(|t| t.is_empty()) {
                if let Some(spec) = n["spec"].as_object_mut() {
                    spec.remove("taints");
                }
            }
        }
    }
    // Pods stalled by the thrashing node.
    let stalled_at = f.num("stalledAt").unwrap_or(s + 0.6);
    for app in strings(f, "stalled") {
        let (ans, aapp) = ns_app(f, &app);
        let hit: Vec<(String, String)> = on_node
            .iter()
            .filter(|(ns, pod)| ns == ans && label(world, ns, pod, "app") == aapp)
            .cloned()
            .collect();
        for (ns, pod) in hit {
            liveness_restart(world, &ns, &pod, stalled_at);
        }
    }
    for (ns, app) in touched {
        recount(world, &ns, &app, first.max(0.05));
    }
    Ok(())
}
