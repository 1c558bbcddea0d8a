//! Pods, their status and signals: creating, binding, removing pods, container states,
//! events and the quota usage they add up to. Its own file because every family edits pods.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::signals::ContainerSignals;
use crate::topology::Topology;
use crate::world::World;

use super::rollout::Rollout;
use super::scheduler::{node_views, topo_adjust};
use super::{bytes, spec_requests};

/// A container's status as the kubelet reports it.
pub(super) struct CState {
    state: Value,
    pub(super) last: Option<Value>,
    ready: bool,
    started: bool,
    pub(super) restarts: u64,
    /// Whether the image was pulled (an imageID and a container exist).
    pub(super) image_id: bool,
}

impl CState {
    pub(super) fn new(state: Value, ready: bool, started: bool) -> Self {
        let image_id = !state["running"].is_null() || !state["terminated"].is_null();
        CState {
            state,
            last: None,
            ready,
            started,
            restarts: 0,
            image_id,
        }
    }
}

/// A bound pod's status: IPs, conditions, one container status.
pub(super) fn set_status(
    world: &mut World,
    ns: &str,
    pod: &str,
    node: &str,
    created: f64,
    phase: &str,
    cs: &CState,
) {
    let host = node_views(world)
        .into_iter()
        .find(|n| n.name == node)
        .map(|n| n.ip)
        .unwrap_or_default();
    let ip = free_pod_ip(world);
    let (t0, t1, t2) = (
        world.at(created - 0.01),
        world.at(created - 0.02),
        world.at(created - 0.04),
    );
    let mut digest = String::new();
    let mut cid = String::new();
    for _ in 0..4 {
        digest.push_str(&format!("{:016x}", world.rng.next_u64()));
        cid.push_str(&format!("{:016x}", world.rng.next_u64()));
    }
    let Some(p) = world.get_mut("Pod", ns, pod) else {
        return;
    };
    let c = p["spec"]["containers"][0].clone();
    let name = c["name"].as_str().unwrap_or_default().to_string();
    let image = c["image"].as_str().unwrap_or_default().to_string();
    let repo = image
        .rsplit_once(':')
        .map(|(r, _)| r)
        .unwrap_or(&image)
        .to_string();
    let mut status = json!({"name": name, "image": image, "imageID": if cs.image_id { format!("{repo}@sha256:{digest}") } else { String::new() },
        "ready": cs.ready, "started": cs.started, "restartCount": cs.restarts, "state": cs.state.clone()});
    if cs.image_id {
        status["containerID"] = json!(format!("containerd://{cid}"));
    }
    if let Some(l) = &cs.last {
        status["lastState"] = l.clone();
    }
    let unready = |t: &str| {
        json!({"type": t, "status": "False", "reason": "ContainersNotReady",
            "message": format!("containers with unready status: [{name}]"), "lastProbeTime": null, "lastTransitionTime": t1})
    };
    let ready = |t: &str| json!({"type": t, "status": "True", "lastProbeTime": null, "lastTransitionTime": t2});
    let (r, cr) = if cs.ready {
        (ready("Ready"), ready("ContainersReady"))
    } else {
        (unready("Ready"), unready("ContainersReady"))
    };
    p["status"] = json!({"phase": phase, "hostIP": host, "hostIPs": [{"ip": host}], "podIP": ip, "podIPs": [{"ip": ip}],
        "startTime": t0, "qosClass": qos(&p["spec"]),
        "conditions": [
            {"type": "PodReadyToStartContainers", "status": "True", "lastProbeTime": null, "lastTransitionTime": t1},
            {"type": "Initialized", "status": "True", "lastProbeTime": null, "lastTransitionTime": t0},
            r, cr,
            {"type": "PodScheduled", "status": "True", "lastProbeTime": null, "lastTransitionTime": t0}],
        "containerStatuses": [status]});
}

/// A pod of a ReplicaSet, made from another pod of the app and a template spec.
pub(super) fn fresh_pod(
    world: &mut World,
    base: &Value,
    name: &str,
    (okind, oname, ouid): (&str, &str, &str),
    hash: Option<&str>,
    spec: Value,
    created: f64,
) -> Value {
    let mut p = json!({"apiVersion": "v1", "kind": "Pod"});
    let mut meta = base["metadata"].clone();
    meta["name"] = json!(name);
    meta["uid"] = json!(world.rng.uid());
    meta["creationTimestamp"] = json!(world.at(created));
    meta["resourceVersion"] = json!("1");
    if let Some(h) = hash {
        meta["labels"]["pod-template-hash"] = json!(h);
    }
    if let Some(m) = meta.as_object_mut() {
        m.remove("managedFields");
    }
    meta["ownerReferences"] = json!([{"apiVersion": "apps/v1", "kind": okind, "name": oname, "uid": ouid,
        "controller": true, "blockOwnerDeletion": true}]);
    p["metadata"] = meta;
    let mut spec = spec;
    if let Some(s) = spec.as_object_mut() {
        s.remove("nodeName");
    }
    p["status"] = json!({"phase": "Pending", "qosClass": qos(&spec)});
    p["spec"] = spec;
    p
}

pub(super) fn qos(spec: &Value) -> &'static str {
    let cs: Vec<&Value> = spec["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .collect();
    let none = cs.iter().all(|c| {
        c["resources"]["requests"]
            .as_object()
            .is_none_or(|m| m.is_empty())
            && c["resources"]["limits"]
                .as_object()
                .is_none_or(|m| m.is_empty())
    });
    if none {
        return "BestEffort";
    }
    let guaranteed = cs.iter().all(|c| {
        ["cpu", "memory"].iter().all(|r| {
            let l = &c["resources"]["limits"][*r];
            let q = &c["resources"]["requests"][*r];
            !l.is_null() && (q.is_null() || q == l)
        })
    });
    if guaranteed {
        "Guaranteed"
    } else {
        "Burstable"
    }
}

pub(super) fn remove_pod(world: &mut World, topo: &mut Topology, ns: &str, pod: &str) {
    if let Some(p) = world.remove("Pod", ns, pod) {
        if let Some(n) = p["spec"]["nodeName"].as_str() {
            let (cpu, mem) = spec_requests(&p["spec"]);
            topo_adjust(topo, n, -cpu, -mem);
        }
    }
    world
        .signals
        .containers
        .retain(|s| !(s.namespace == ns && s.pod == pod));
    world.reindex_signals();
    world
        .signals
        .pod_nodes
        .retain(|((n, p), _)| !(n == ns && p == pod));
}

pub(super) fn add_pod_signals(
    world: &mut World,
    mut s: ContainerSignals,
    ns: &str,
    pod: &str,
    node: &str,
    started: f64,
) {
    s.pod = pod.to_string();
    s.started_minutes_ago = started;
    world.add_signals(s);
    world
        .signals
        .pod_nodes
        .push(((ns.to_string(), pod.to_string()), node.to_string()));
}

/// Another pod's signals as a new pod's: its behaviour, not its history.
pub(super) fn fresh_signals(mut s: ContainerSignals) -> ContainerSignals {
    s.previous = None;
    s.extra_lines.clear();
    s.running = true;
    s
}

fn free_pod_ip(world: &World) -> String {
    let used: BTreeSet<&str> = world
        .objects()
        .filter(|o| o["kind"] == "Pod")
        .filter_map(|o| o["status"]["podIP"].as_str())
        .collect();
    // The generator's pod IP sequence, well past where a shop's pods end.
    (150u32..)
        .map(|n| {
            format!(
                "10.{}.{}.{}",
                100 + (n / 62500) % 100,
                (n / 250) % 250,
                2 + n % 250
            )
        })
        .find(|ip| !used.contains(ip.as_str()))
        .unwrap_or_default()
}

pub(super) fn pod_created(world: &World, ns: &str, pod: &str) -> f64 {
    world
        .get("Pod", ns, pod)
        .and_then(|p| p["metadata"]["creationTimestamp"].as_str())
        .and_then(|t| t.parse::<jiff::Timestamp>().ok())
        .map(|t| world.capture.duration_since(t).as_secs_f64() / 60.0)
        .unwrap_or(0.0)
}

/// (container name, image) of a pod's first container.
pub(super) fn pod_container(world: &World, ns: &str, pod: &str) -> (String, String) {
    let c = world
        .get("Pod", ns, pod)
        .map(|p| p["spec"]["containers"][0].clone())
        .unwrap_or_default();
    (
        c["name"].as_str().unwrap_or_default().to_string(),
        c["image"].as_str().unwrap_or_default().to_string(),
    )
}

pub(super) fn scheduled_event(world: &mut World, ns: &str, pod: &str, node: &str, at: f64) {
    world.event(
        ("Pod", ns, pod),
        "Normal",
        "Scheduled",
        &format!("Successfully assigned {ns}/{pod} to {node}"),
        "default-scheduler",
        at,
        at,
        1,
    );
}

pub(super) fn pulled_fresh(world: &mut World, ns: &str, pod: &str, image: &str, at: f64) {
    let spread = pod
        .bytes()
        .fold(7u64, |h, b| h.wrapping_mul(31).wrapping_add(b as u64));
    let secs = 2.2 + (spread % 3100) as f64 / 1000.0;
    world.event(
        ("Pod", ns, pod),
        "Normal",
        "Pulling",
        &format!("Pulling image \"{image}\""),
        "kubelet",
        at,
        at,
        1,
    );
    world.event(
        ("Pod", ns, pod),
        "Normal",
        "Pulled",
        &format!(
            "Successfully pulled image \"{image}\" in {secs:.3}s ({secs:.3}s including waiting). Image size: {} bytes.",
            38_000_000 + image.len() as u64 * 524_287
        ),
        "kubelet",
        at - secs / 60.0,
        at - secs / 60.0,
        1,
    );
}

/// The kubelet's events for a pod created at `created` whose container started once; returns
/// when it started (minutes before capture).
pub(super) fn start_events(
    world: &mut World,
    ns: &str,
    pod: &str,
    r: &Rollout,
    created: f64,
) -> f64 {
    let pull = created - 0.02;
    let start = created - 0.15;
    if r.image_changed {
        pulled_fresh(world, ns, pod, &r.image, pull);
    } else {
        world.event(
            ("Pod", ns, pod),
            "Normal",
            "Pulled",
            &format!("Container image \"{}\" already present on machine", r.image),
            "kubelet",
            pull,
            pull,
            1,
        );
    }
    for (reason, msg) in [
        ("Created", format!("Created container {}", r.container)),
        ("Started", format!("Started container {}", r.container)),
    ] {
        world.event(
            ("Pod", ns, pod),
            "Normal",
            reason,
            &msg,
            "kubelet",
            start,
            start,
            1,
        );
    }
    start
}

pub(super) fn remove_events(world: &mut World, ns: &str, pod: &str, reason: &str) {
    for (_, name) in world.names("Event", Some(ns)) {
        let hit = world
            .get("Event", ns, &name)
            .is_some_and(|e| e["involvedObject"]["name"] == pod && e["reason"] == reason);
        if hit {
            world.remove("Event", ns, &name);
        }
    }
}

/// Adds `change` to the pod template of the Deployment, its newest ReplicaSet and its pods.
pub(super) fn patch_current_template(
    world: &mut World,
    ns: &str,
    app: &str,
    change: &dyn Fn(&mut Value),
) {
    if let Some(d) = world.get_mut("Deployment", ns, app) {
        change(&mut d["spec"]["template"]);
    }
    if let Ok(rs) = current_rs(world, ns, app) {
        if let Some(r) = world.get_mut("ReplicaSet", ns, &rs) {
            change(&mut r["spec"]["template"]);
        }
    }
    for pod in world.pods_of(ns, app) {
        if let Some(p) = world.get_mut("Pod", ns, &pod) {
            change(p);
        }
    }
}

/// The app's ReplicaSet of the highest revision.
pub(super) fn current_rs(world: &World, ns: &str, app: &str) -> Result<String, String> {
    world
        .owned_rs(ns, app)
        .into_iter()
        .max_by_key(|r| {
            world
                .get("ReplicaSet", ns, r)
                .and_then(|x| {
                    x["metadata"]["annotations"]["deployment.kubernetes.io/revision"].as_str()
                })
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0)
        })
        .ok_or_else(|| format!("no ReplicaSet of Deployment {ns}/{app}"))
}

pub(super) fn live_pods_of_owner(world: &World, ns: &str, owner: &str) -> usize {
    world
        .names("Pod", Some(ns))
        .into_iter()
        .filter(|(_, p)| {
            world.get("Pod", ns, p).is_some_and(|x| {
                x["metadata"]["ownerReferences"][0]["name"] == owner
                    && !matches!(x["status"]["phase"].as_str(), Some("Succeeded" | "Failed"))
            })
        })
        .count()
}

pub(super) struct Usage {
    pub(super) cpu: f64,
    pub(super) mem: f64,
    pub(super) limit_mem: f64,
    pub(super) pods: u64,
}

/// What a ResourceQuota counts in a namespace: requests and limits of non-terminal pods.
pub(super) fn quota_usage(world: &World, ns: &str) -> Usage {
    let mut u = Usage {
        cpu: 0.0,
        mem: 0.0,
        limit_mem: 0.0,
        pods: 0,
    };
    for (_, name) in world.names("Pod", Some(ns)) {
        let Some(p) = world.get("Pod", ns, &name) else {
            continue;
        };
        if matches!(p["status"]["phase"].as_str(), Some("Succeeded" | "Failed")) {
            continue;
        }
        let (cpu, mem) = spec_requests(&p["spec"]);
        u.cpu += cpu;
        u.mem += mem;
        for c in p["spec"]["containers"].as_array().into_iter().flatten() {
            u.limit_mem += bytes(&c["resources"]["limits"]["memory"]);
        }
        u.pods += 1;
    }
    u
}
