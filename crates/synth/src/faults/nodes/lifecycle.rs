//! Pods coming and going as the controllers make them: events expired by age, pods
//! spawned (scheduled, started, added to endpoints), deleted, recreated by their owner,
//! evicted by the taint manager or the kubelet, and the owners' and disruption budgets'
//! status recounted afterwards. Shared by the node, drain, DNS, autoscaling and scaling
//! faults.

use serde_json::{Value, json};

use crate::signals::Previous;
use crate::world::World;

use super::cluster::{
    add_endpoint, container_names, node_ip, owner_of, pod_signals, pod_signals_mut, set_endpoint,
    terminal,
};

// -- pod lifecycle ----------------------------------------------------------------------------

fn fresh_ip(world: &mut World) -> String {
    format!(
        "10.{}.{}.{}",
        120 + world.rng.range(0, 9),
        world.rng.range(0, 249),
        world.rng.range(2, 251)
    )
}

/// A new pod made from `template` (a pod of the same controller): named after the
/// controller (or `name`), created `created_ago`, running on `node` — or Pending with the
/// scheduler's message when `node` is an `Err`. Signals are cloned from the template's.
pub(super) fn spawn_pod(
    world: &mut World,
    ns: &str,
    template: &str,
    name: Option<&str>,
    node: Result<String, String>,
    created_ago: f64,
) -> Option<String> {
    spawn_pod_at(world, ns, template, name, node, created_ago, created_ago)
}

/// [`spawn_pod`] for a pod created `created_ago` and bound to its node `bound_ago` (it
/// waited Pending in between).
pub(super) fn spawn_pod_at(
    world: &mut World,
    ns: &str,
    template: &str,
    name: Option<&str>,
    node: Result<String, String>,
    created_ago: f64,
    bound_ago: f64,
) -> Option<String> {
    let mut p = world.get("Pod", ns, template)?.clone();
    let (okind, oname) = owner_of(&p).unwrap_or_default();
    let new_name = match name {
        Some(n) => n.to_string(),
        None => format!("{oname}-{}", world.rng.suffix(5)),
    };
    let created = world.at(created_ago);
    let bound = world.at(bound_ago);
    let started = world.at((bound_ago - 0.1).max(0.0));
    p["metadata"]["name"] = json!(new_name);
    p["metadata"]["uid"] = json!(world.rng.uid());
    p["metadata"]["creationTimestamp"] = json!(created);
    if let Some(m) = p["metadata"].as_object_mut() {
        m.remove("deletionTimestamp");
        m.remove("deletionGracePeriodSeconds");
    }
    if p["metadata"]["labels"]["statefulset.kubernetes.io/pod-name"].is_string() {
        p["metadata"]["labels"]["statefulset.kubernetes.io/pod-name"] = json!(new_name);
    }
    let containers = p["spec"]["containers"].clone();
    let old_statuses = p["status"]["containerStatuses"].clone();
    let qos = p["status"]["qosClass"].clone();
    match &node {
        Ok(n) => {
            let host = node_ip(world, n);
            let ip = if p["spec"]["hostNetwork"] == true {
                host.clone()
            } else {
                fresh_ip(world)
            };
            p["spec"]["nodeName"] = json!(n);
            let statuses: Vec<Value> = containers
                .as_array()
                .map(|cs| {
                    cs.iter()
                        .map(|c| {
                            let image_id = old_statuses
                                .as_array()
                                .and_then(|o| o.iter().find(|s| s["name"] == c["name"]))
                                .map(|s| s["imageID"].clone())
                                .unwrap_or(json!(""));
                            json!({"name": c["name"], "image": c["image"], "imageID": image_id,
                                "containerID": format!("containerd://{:016x}{:016x}", world.rng.next_u64(), world.rng.next_u64()),
                                "ready": true, "started": true, "restartCount": 0, "state": {"running": {"startedAt": started}}})
                        })
                        .collect()
                })
                .unwrap_or_default();
            p["status"] = json!({"phase": "Running", "hostIP": host, "hostIPs": [{"ip": host}], "podIP": ip, "podIPs": [{"ip": ip}],
                "startTime": bound, "qosClass": qos,
                "conditions": [
                    {"type": "PodReadyToStartContainers", "status": "True", "lastProbeTime": null, "lastTransitionTime": started},
                    {"type": "Initialized", "status": "True", "lastProbeTime": null, "lastTransitionTime": bound},
                    {"type": "Ready", "status": "True", "lastProbeTime": null, "lastTransitionTime": world.at((bound_ago - 0.3).max(0.0))},
                    {"type": "ContainersReady", "status": "True", "lastProbeTime": null, "lastTransitionTime": world.at((bound_ago - 0.3).max(0.0))},
                    {"type": "PodScheduled", "status": "True", "lastProbeTime": null, "lastTransitionTime": bound}],
                "containerStatuses": statuses});
        }
        Err(_) => {
            if let Some(s) = p["spec"].as_object_mut() {
                s.remove("nodeName");
            }
            p["status"] = json!({"phase": "Pending", "qosClass": qos});
        }
    }
    world.add(p);
    // Signals: a fresh instance of each container.
    let sigs = pod_signals(world, ns, template);
    for mut s in sigs {
        s.pod = new_name.clone();
        s.started_minutes_ago = (bound_ago - 0.1).max(0.0);
        s.running = true;
        s.previous = None;
        s.extra_lines.retain(|l| l.minutes_ago < bound_ago);
        world.add_signals(s);
    }
    if okind == "ReplicaSet" || okind == "StatefulSet" || okind == "DaemonSet" {
        let msg = if okind == "StatefulSet" {
            format!("create Pod {new_name} in StatefulSet {oname} successful")
        } else {
            format!("Created pod: {new_name}")
        };
        let component = match okind.as_str() {
            "ReplicaSet" => "replicaset-controller",
            "StatefulSet" => "statefulset-controller",
            _ => "daemonset-controller",
        };
        world.event(
            (&okind, ns, &oname),
            "Normal",
            "SuccessfulCreate",
            &msg,
            component,
            created_ago,
            created_ago,
            1,
        );
    }
    match node {
        Ok(n) => {
            world.event(
                ("Pod", ns, &new_name),
                "Normal",
                "Scheduled",
                &format!("Successfully assigned {ns}/{new_name} to {n}"),
                "default-scheduler",
                bound_ago,
                bound_ago,
                1,
            );
            for c in containers.as_array().cloned().unwrap_or_default() {
                let cname = c["name"].as_str().unwrap_or_default();
                let image = c["image"].as_str().unwrap_or_default();
                let t = (bound_ago - 0.05).max(0.0);
                world.event(
                    ("Pod", ns, &new_name),
                    "Normal",
                    "Pulled",
                    &format!("Container image \"{image}\" already present on machine"),
                    "kubelet",
                    t,
                    t,
                    1,
                );
                world.event(
                    ("Pod", ns, &new_name),
                    "Normal",
                    "Created",
                    &format!("Created container {cname}"),
                    "kubelet",
                    t,
                    t,
                    1,
                );
                world.event(
                    ("Pod", ns, &new_name),
                    "Normal",
                    "Started",
                    &format!("Started container {cname}"),
                    "kubelet",
                    t,
                    t,
                    1,
                );
            }
            world
                .signals
                .pod_nodes
                .push(((ns.to_string(), new_name.clone()), n));
            add_endpoint(world, ns, &new_name, true);
        }
        Err(msg) => world.unschedulable(ns, &new_name, &msg, created_ago),
    }
    Some(new_name)
}

/// Removes a pod (deleted, or evicted through the API and gone): the kubelet's Killing
/// event, and its object, signals, placement and endpoints.
pub(super) fn delete_pod(world: &mut World, ns: &str, pod: &str, at: f64) {
    for c in container_names(world, ns, pod) {
        world.event(
            ("Pod", ns, pod),
            "Normal",
            "Killing",
            &format!("Stopping container {c}"),
            "kubelet",
            at,
            at,
            1,
        );
    }
    world.remove("Pod", ns, pod);
    world
        .signals
        .containers
        .retain(|s| !(s.namespace == ns && s.pod == pod));
    world.reindex_signals();
    world
        .signals
        .pod_nodes
        .retain(|((n, p), _)| !(n == ns && p == pod));
    set_endpoint(world, ns, pod, None);
}

/// A StatefulSet pod recreated under the same name (the controller deletes the old pod
/// first): the new pod replaces the old object, on `node` or Pending.
pub(super) fn recreate(
    world: &mut World,
    ns: &str,
    pod: &str,
    node: Result<String, String>,
    created_ago: f64,
) {
    let Some(mut old) = world.remove("Pod", ns, pod) else {
        return;
    };
    let tmp = format!("{pod}.previous");
    old["metadata"]["name"] = json!(tmp);
    world.add(old);
    for sig in pod_signals_mut(world, ns, pod) {
        sig.pod = tmp.clone();
    }
    world.reindex_signals();
    world
        .signals
        .pod_nodes
        .retain(|((n, p), _)| !(n == ns && p == pod));
    set_endpoint(world, ns, pod, None);
    spawn_pod(world, ns, &tmp, Some(pod), node, created_ago);
    world.remove("Pod", ns, &tmp);
    world
        .signals
        .containers
        .retain(|s| !(s.namespace == ns && s.pod == tmp));
    world.reindex_signals();
}

/// Marks a pod for deletion `at` minutes ago (Terminating), with a DisruptionTarget
/// condition naming who deleted it.
pub(super) fn mark_deleted(
    world: &mut World,
    ns: &str,
    pod: &str,
    at: f64,
    reason: &str,
    message: &str,
) {
    let t = world.at((at - 0.5).max(0.0));
    if let Some(p) = world.get_mut("Pod", ns, pod) {
        p["metadata"]["deletionTimestamp"] = json!(t);
        p["metadata"]["deletionGracePeriodSeconds"] = json!(30);
    }
    world.pod_condition(
        ns,
        pod,
        "DisruptionTarget",
        "True",
        Some(reason),
        Some(message),
        at,
    );
}

/// The kubelet's eviction of a pod under node pressure: phase Failed, reason Evicted, the
/// eviction manager's message, a DisruptionTarget condition, terminated containers, and
/// the Evicted and Killing events. The pod object stays (as evicted pods do).
pub(super) fn evict_pod(world: &mut World, ns: &str, pod: &str, message: &str, at: f64) {
    let at_s = world.at(at);
    if let Some(p) = world.get_mut("Pod", ns, pod) {
        p["status"]["phase"] = json!("Failed");
        p["status"]["reason"] = json!("Evicted");
        p["status"]["message"] = json!(message);
        if let Some(cs) = p["status"]["containerStatuses"].as_array_mut() {
            for c in cs {
                let started = c["state"]["running"]["startedAt"].clone();
                c["ready"] = json!(false);
                c["started"] = json!(false);
                c["state"] = json!({"terminated": {"exitCode": 137, "reason": "Error", "startedAt": started,
                    "finishedAt": at_s, "containerID": c["containerID"].clone()}});
            }
        }
    }
    world.pod_condition(
        ns,
        pod,
        "DisruptionTarget",
        "True",
        Some("TerminationByKubelet"),
        Some(message),
        at,
    );
    for c in ["Ready", "ContainersReady"] {
        world.pod_condition(ns, pod, c, "False", Some("PodFailed"), None, at);
    }
    world.pod_condition(
        ns,
        pod,
        "PodReadyToStartContainers",
        "False",
        None,
        None,
        at,
    );
    world.event(
        ("Pod", ns, pod),
        "Warning",
        "Evicted",
        message,
        "kubelet",
        at,
        at,
        1,
    );
    for c in container_names(world, ns, pod) {
        world.event(
            ("Pod", ns, pod),
            "Normal",
            "Killing",
            &format!("Stopping container {c}"),
            "kubelet",
            at,
            at,
            1,
        );
    }
    for s in pod_signals_mut(world, ns, pod) {
        if s.running {
            s.previous = Some(Previous {
                started_minutes_ago: s.started_minutes_ago,
                ended_minutes_ago: at,
                last_lines: Vec::new(),
            });
        }
        s.running = false;
    }
    set_endpoint(world, ns, pod, None);
}

/// Recomputes the status of the workloads of an app and of the PDBs selecting them.
pub(super) fn recount(world: &mut World, ns: &str, app: &str, at: f64) {
    let at_s = world.at(at);
    let pods = world.pods_of(ns, app);
    let mut ready = 0u64;
    let mut total = 0u64;
    for p in &pods {
        let Some(v) = world.get("Pod", ns, p) else {
            continue;
        };
        if terminal(v) {
            continue;
        }
        total += 1;
        let is_ready = v["status"]["conditions"].as_array().is_some_and(|c| {
            c.iter()
                .any(|c| c["type"] == "Ready" && c["status"] == "True")
        }) && v["metadata"]["deletionTimestamp"].is_null()
            && v["status"]["phase"] == "Running";
        if is_ready {
            ready += 1;
        }
    }
    for kind in ["Deployment", "StatefulSet"] {
        let Some(w) = world.get_mut(kind, ns, app) else {
            continue;
        };
        let desired = w["spec"]["replicas"].as_u64().unwrap_or(total);
        w["status"]["replicas"] = json!(total);
        w["status"]["readyReplicas"] = json!(ready);
        w["status"]["availableReplicas"] = json!(ready);
        if kind == "Deployment" {
            w["status"]["updatedReplicas"] = json!(total);
            if desired > ready {
                w["status"]["unavailableReplicas"] = json!(desired - ready);
            } else if let Some(s) = w["status"].as_object_mut() {
                s.remove("unavailableReplicas");
            }
            let avail = ready > 0 || desired == 0;
            if let Some(conds) = w["status"]["conditions"].as_array_mut() {
                for c in conds.iter_mut().filter(|c| c["type"] == "Available") {
                    if avail && c["status"] == "False" || !avail && c["status"] == "True" {
                        c["lastTransitionTime"] = json!(at_s);
                        c["lastUpdateTime"] = json!(at_s);
                        c["status"] = json!(if avail { "True" } else { "False" });
                        c["reason"] = json!(if avail {
                            "MinimumReplicasAvailable"
                        } else {
                            "MinimumReplicasUnavailable"
                        });
                        c["message"] = json!(if avail {
                            "Deployment has minimum availability."
                        } else {
                            "Deployment does not have minimum availability."
                        });
                    }
                }
            }
        } else {
            w["status"]["currentReplicas"] = json!(total);
        }
    }
    // The current ReplicaSet of a Deployment follows.
    for (_, rs) in world.names("ReplicaSet", Some(ns)) {
        let Some(r) = world.get_mut("ReplicaSet", ns, &rs) else {
            continue;
        };
        let mine = owner_of(r).is_some_and(|(k, n)| k == "Deployment" && n == app);
        if mine && r["spec"]["replicas"].as_u64().unwrap_or(0) > 0 {
            r["status"]["replicas"] = json!(total);
            r["status"]["fullyLabeledReplicas"] = json!(total);
            r["status"]["readyReplicas"] = json!(ready);
            r["status"]["availableReplicas"] = json!(ready);
        }
    }
    pdb_status(world, ns, app, ready, total, at);
}

fn pdb_status(world: &mut World, ns: &str, app: &str, healthy: u64, expected: u64, at: f64) {
    for (_, name) in world.names("PodDisruptionBudget", Some(ns)) {
        let at = world.at(at);
        let Some(p) = world.get_mut("PodDisruptionBudget", ns, &name) else {
            continue;
        };
        if p["spec"]["selector"]["matchLabels"]["app"] != app {
            continue;
        }
        let desired = match (&p["spec"]["minAvailable"], &p["spec"]["maxUnavailable"]) {
            (Value::Number(n), _) => n.as_u64().unwrap_or(0),
            (_, Value::Number(n)) => expected.saturating_sub(n.as_u64().unwrap_or(0)),
            _ => 0,
        };
        let allowed = healthy.saturating_sub(desired);
        let was = p["status"]["disruptionsAllowed"].as_u64();
        p["status"]["currentHealthy"] = json!(healthy);
        p["status"]["desiredHealthy"] = json!(desired);
        p["status"]["expectedPods"] = json!(expected);
        p["status"]["disruptionsAllowed"] = json!(allowed);
        let ok = allowed > 0;
        let generation = p["status"]["observedGeneration"].clone();
        if let Some(c) = p["status"]["conditions"]
            .as_array_mut()
            .and_then(|c| c.first_mut())
        {
            if was.map(|w| w > 0) != Some(ok) {
                c["lastTransitionTime"] = json!(at);
            }
            c["observedGeneration"] = generation;
            c["status"] = json!(if ok { "True" } else { "False" });
            c["reason"] = json!(if ok {
                "SufficientPods"
            } else {
                "InsufficientPods"
            });
        }
    }
}
