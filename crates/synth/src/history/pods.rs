//! The Deployments history may use, and pods with a past: replaced by their ReplicaSet
//! after a creation the admission refused for a while (a ServiceAccount being recreated, a
//! ResourceQuota too tight), after waiting for a node, or after waiting for their ConfigMap.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::{
    Recorder, Subject, Touched, controller, cpu_millis, fmt_cpu, kubelet, managed, minutes_ago,
    normal, record_edit, warning,
};
use crate::world::World;

/// A Deployment history may use: untouched by the scenario, every replica running and
/// ready, some on nodes the scenario leaves alone.
#[derive(Debug, Clone)]
pub(super) struct Candidate {
    pub(super) ns: String,
    pub(super) name: String,
    /// The current ReplicaSet, its uid and pod-template-hash.
    pub(super) rs: String,
    pub(super) rs_uid: String,
    pub(super) hash: String,
    pub(super) replicas: u64,
    /// Its pods, sorted by name, and those on nodes the scenario leaves alone (history
    /// may replace these).
    pub(super) pods: Vec<String>,
    pub(super) movable: Vec<String>,
    /// Minutes since the current ReplicaSet was created, and since its youngest pod was.
    pub(super) rs_age: f64,
    pub(super) pod_age: f64,
}

pub(super) fn candidates(world: &World, touched: &Touched) -> Vec<Candidate> {
    let mut out = Vec::new();
    for (ns, name) in world.names("Deployment", None) {
        if touched.app(&ns, &name) || touched.object("Deployment", &ns, &name) {
            continue;
        }
        let Some(d) = world.get("Deployment", &ns, &name) else {
            continue;
        };
        let replicas = d["spec"]["replicas"].as_u64().unwrap_or(0);
        if replicas == 0 || d["status"]["readyReplicas"].as_u64() != Some(replicas) {
            continue;
        }
        let Some(rs) = current_rs(world, &ns, &name) else {
            continue;
        };
        let Some(r) = world.get("ReplicaSet", &ns, &rs) else {
            continue;
        };
        let rs_uid = r["metadata"]["uid"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let hash = r["metadata"]["labels"]["pod-template-hash"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let rs_age = minutes_ago(world, &r["metadata"]["creationTimestamp"]).unwrap_or(0.0);
        let pods = pods_of_owner(world, &ns, &rs);
        let healthy = pods.iter().all(|p| {
            world.get("Pod", &ns, p).is_some_and(|v| {
                running_ready(v) && v["metadata"]["labels"]["app"] == name.as_str()
            })
        });
        let movable: Vec<String> = pods
            .iter()
            .filter(|p| {
                world.get("Pod", &ns, p).is_some_and(|v| {
                    v["spec"]["nodeName"]
                        .as_str()
                        .is_some_and(|n| !touched.nodes.contains(n))
                })
            })
            .cloned()
            .collect();
        if !healthy || pods.len() as u64 != replicas || hash.is_empty() || movable.is_empty() {
            continue;
        }
        let pod_age = pods
            .iter()
            .filter_map(|p| world.get("Pod", &ns, p))
            .filter_map(|v| minutes_ago(world, &v["metadata"]["creationTimestamp"]))
            .fold(f64::MAX, f64::min);
        out.push(Candidate {
            ns,
            name,
            rs,
            rs_uid,
            hash,
            replicas,
            pods,
            movable,
            rs_age,
            pod_age,
        });
    }
    out
}

pub(super) fn running_ready(p: &Value) -> bool {
    p["status"]["phase"] == "Running"
        && p["metadata"]["deletionTimestamp"].is_null()
        && p["status"]["conditions"].as_array().is_some_and(|c| {
            c.iter()
                .any(|c| c["type"] == "Ready" && c["status"] == "True")
        })
}

fn revision(rs: &Value) -> u64 {
    rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"]
        .as_str()
        .and_then(|r| r.parse().ok())
        .unwrap_or(0)
}

/// The highest revision among a Deployment's ReplicaSets.
pub(super) fn max_revision(world: &World, ns: &str, deployment: &str) -> u64 {
    world
        .owned_rs(ns, deployment)
        .iter()
        .filter_map(|r| world.get("ReplicaSet", ns, r))
        .map(revision)
        .max()
        .unwrap_or(0)
}

fn current_rs(world: &World, ns: &str, deployment: &str) -> Option<String> {
    world
        .owned_rs(ns, deployment)
        .into_iter()
        .max_by_key(|r| world.get("ReplicaSet", ns, r).map(revision).unwrap_or(0))
}

/// Pods whose controller is `owner`, sorted by name.
pub(super) fn pods_of_owner(world: &World, ns: &str, owner: &str) -> Vec<String> {
    world
        .names("Pod", Some(ns))
        .into_iter()
        .map(|(_, n)| n)
        .filter(|p| {
            world
                .get("Pod", ns, p)
                .is_some_and(|v| v["metadata"]["ownerReferences"][0]["name"] == owner)
        })
        .collect()
}

// -- replacing a pod --------------------------------------------------------------------------

/// The ReplicaSet a replacement pod belongs to.
pub(super) struct Owner {
    pub(super) name: String,
    pub(super) uid: String,
    pub(super) hash: String,
}

impl Owner {
    pub(super) fn of(c: &Candidate) -> Owner {
        Owner {
            name: c.rs.clone(),
            uid: c.rs_uid.clone(),
            hash: c.hash.clone(),
        }
    }
}

/// When a replacement pod was created, bound to its node and its containers started
/// (minutes before capture).
#[derive(Debug, Clone, Copy)]
pub(super) struct Timing {
    pub(super) created: f64,
    pub(super) bound: f64,
    pub(super) started: f64,
}

impl Timing {
    /// Created, bound at once, started a few seconds later.
    pub(super) fn prompt(rec: &mut Recorder, created: f64) -> Timing {
        let bound = created - 0.004;
        Timing {
            created,
            bound,
            started: bound - rec.minutes(0.02, 0.08),
        }
    }
}

/// Replaces running pod `old` by a new pod of `owner` on the same node: new name, uid, IP
/// and times; containers fresh; signals, placement and endpoints follow; `old` is gone.
/// Returns the new pod's name.
pub(super) fn replace(
    world: &mut World,
    rec: &mut Recorder,
    ns: &str,
    old: &str,
    owner: &Owner,
    t: Timing,
) -> Option<String> {
    let mut p = world.get("Pod", ns, old)?.clone();
    let mut name = format!("{}-{}", owner.name, rec.rng.suffix(5));
    while world.get("Pod", ns, &name).is_some() {
        name = format!("{}-{}", owner.name, rec.rng.suffix(5));
    }
    let ip = rec.pod_ip();
    let ready = (t.started - rec.minutes(0.05, 0.3)).max(0.01);
    let (created, bound, started, ready) = (
        world.at(t.created),
        world.at(t.bound),
        world.at(t.started),
        world.at(ready),
    );
    p["metadata"]["name"] = json!(name);
    p["metadata"]["uid"] = json!(rec.rng.uid());
    p["metadata"]["creationTimestamp"] = json!(created);
    p["metadata"]["resourceVersion"] = json!(format!("{}", 1000 + rec.rng.range(0, 900_000)));
    if let Some(m) = p["metadata"].as_object_mut() {
        m.remove("deletionTimestamp");
        m.remove("deletionGracePeriodSeconds");
    }
    p["metadata"]["labels"]["pod-template-hash"] = json!(owner.hash);
    p["metadata"]["ownerReferences"][0]["name"] = json!(owner.name);
    p["metadata"]["ownerReferences"][0]["uid"] = json!(owner.uid);
    if p["spec"]["hostNetwork"] != true {
        p["status"]["podIP"] = json!(ip);
        p["status"]["podIPs"] = json!([{"ip": ip}]);
    }
    let ip = p["status"]["podIP"].clone();
    p["status"]["startTime"] = json!(bound);
    p["status"]["conditions"] = json!([
        {"type": "PodReadyToStartContainers", "status": "True", "lastProbeTime": null, "lastTransitionTime": started},
        {"type": "Initialized", "status": "True", "lastProbeTime": null, "lastTransitionTime": bound},
        {"type": "Ready", "status": "True", "lastProbeTime": null, "lastTransitionTime": ready},
        {"type": "ContainersReady", "status": "True", "lastProbeTime": null, "lastTransitionTime": ready},
        {"type": "PodScheduled", "status": "True", "lastProbeTime": null, "lastTransitionTime": bound}]);
    if let Some(cs) = p["status"]["containerStatuses"].as_array_mut() {
        for c in cs {
            c["ready"] = json!(true);
            c["started"] = json!(true);
            c["restartCount"] = json!(0);
            c["state"] = json!({"running": {"startedAt": started}});
            c["containerID"] = json!(rec.container_id());
            if let Some(o) = c.as_object_mut() {
                o.remove("lastState");
            }
        }
    }
    world.remove("Pod", ns, old);
    let names = containers(&p);
    world.add(p);
    world.rename_signals(ns, old, &name);
    for (c, _) in &names {
        if let Some(s) = world.signals_mut(ns, &name, c) {
            s.started_minutes_ago = t.started;
            s.previous = None;
            s.running = true;
        }
    }
    for pn in world
        .signals
        .pod_nodes
        .iter_mut()
        .filter(|((n, p), _)| n == ns && p == old)
    {
        pn.0.1 = name.clone();
    }
    for (_, slice) in world.names("EndpointSlice", Some(ns)) {
        let Some(s) = world.get_mut("EndpointSlice", ns, &slice) else {
            continue;
        };
        for e in s["endpoints"]
            .as_array_mut()
            .into_iter()
            .flatten()
            .filter(|e| e["targetRef"]["name"] == old)
        {
            e["targetRef"]["name"] = json!(name);
            e["addresses"] = json!([ip.clone()]);
        }
    }
    Some(name)
}

/// Containers of a pod: (name, image).
pub(super) fn containers(p: &Value) -> Vec<(String, String)> {
    p["spec"]["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            (
                c["name"].as_str().unwrap_or_default().to_string(),
                c["image"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// The scheduler's and kubelet's events of a pod that started normally.
pub(super) fn started_events(
    world: &mut World,
    rec: &mut Recorder,
    ns: &str,
    pod: &str,
    t: Timing,
) {
    let Some(p) = world.get("Pod", ns, pod).cloned() else {
        return;
    };
    let node = p["spec"]["nodeName"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let subject = Subject::pod(&p);
    rec.event(
        world,
        &subject,
        normal(
            "Scheduled",
            &format!("Successfully assigned {ns}/{pod} to {node}"),
        ),
        controller("default-scheduler"),
        (t.bound, t.bound, 1),
    );
    for (c, image) in containers(&p) {
        let s = subject.container(&c);
        let steps = [
            (
                "Pulled",
                format!("Container image \"{image}\" already present on machine"),
                0.008,
            ),
            ("Created", format!("Created container {c}"), 0.004),
            ("Started", format!("Started container {c}"), 0.0),
        ];
        for (reason, message, before) in steps {
            let at = t.started + before;
            rec.event(
                world,
                &s,
                normal(reason, &message),
                kubelet(&node),
                (at, at, 1),
            );
        }
    }
}

/// The kubelet's events of a pod deleted (its containers stopped) at `at`.
pub(super) fn killed_events(world: &mut World, rec: &mut Recorder, p: &Value, at: f64) {
    let node = p["spec"]["nodeName"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let subject = Subject::pod(p);
    for (c, _) in containers(p) {
        rec.event(
            world,
            &subject.container(&c),
            normal("Killing", &format!("Stopping container {c}")),
            kubelet(&node),
            (at, at, 1),
        );
    }
}

pub(super) fn created_event(
    world: &mut World,
    rec: &mut Recorder,
    ns: &str,
    rs: &str,
    pod: &str,
    at: f64,
) {
    let subject = Subject::of(world, "ReplicaSet", ns, rs);
    rec.event(
        world,
        &subject,
        normal("SuccessfulCreate", &format!("Created pod: {pod}")),
        controller("replicaset-controller"),
        (at, at, 1),
    );
}

/// Sets a value in the pod template of the Deployment, of its current ReplicaSet and in the
/// spec of every pod of that ReplicaSet (they were all made from it).
fn edit_template(world: &mut World, c: &Candidate, edit: &dyn Fn(&mut Value)) {
    if let Some(d) = world.get_mut("Deployment", &c.ns, &c.name) {
        edit(&mut d["spec"]["template"]["spec"]);
    }
    if let Some(r) = world.get_mut("ReplicaSet", &c.ns, &c.rs) {
        edit(&mut r["spec"]["template"]["spec"]);
    }
    for p in pods_of_owner(world, &c.ns, &c.rs) {
        if let Some(v) = world.get_mut("Pod", &c.ns, &p) {
            edit(&mut v["spec"]);
        }
    }
}

/// The latest time (minutes ago) history may put a pod's replacement at: within the event
/// TTL (so its events remain) and a day at most, after the pod it replaces was created.
fn recent_window(rec: &Recorder, c: &Candidate) -> f64 {
    (rec.ttl.min(1440.0) - 3.0).min(c.pod_age - 5.0).max(6.0)
}

/// The ReplicaSet controller's retries of a failing create: 5 ms doubling, for `minutes`.
pub(super) fn retries(minutes: f64) -> u64 {
    ((minutes * 60.0 / 0.005 + 1.0).log2().floor() as u64 + 1).max(2)
}

// -- FailedCreate, resolved ------------------------------------------------------------------

/// A ResourceQuota of the namespace limiting `requests.cpu` that the scenario leaves alone.
pub(super) fn quota_of(world: &World, touched: &Touched, ns: &str) -> Option<String> {
    world
        .names("ResourceQuota", Some(ns))
        .into_iter()
        .map(|(_, n)| n)
        .find(|n| {
            !touched.object("ResourceQuota", ns, n)
                && world
                    .get("ResourceQuota", ns, n)
                    .is_some_and(|q| q["spec"]["hard"]["requests.cpu"].is_string())
        })
}

/// Requested CPU of a pod spec (millicores).
fn cpu_request(spec: &Value) -> f64 {
    spec["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| cpu_millis(&c["resources"]["requests"]["cpu"]))
        .sum()
}

/// A pod replaced minutes to a day ago whose creation the admission refused for a while:
/// its ServiceAccount was being recreated (one event, counted up: the message names the
/// pod's generateName), or the namespace's ResourceQuota was too tight until someone raised
/// it (each refusal names its pod, then the correlator combines them). The ServiceAccount
/// exists now, the quota has room, every replica is ready.
pub(super) fn failed_create(
    world: &mut World,
    rec: &mut Recorder,
    touched: &Touched,
    c: &Candidate,
    quota: bool,
) {
    let ns = c.ns.as_str();
    let Some(old) = rec.rng.pick(&c.movable).cloned() else {
        return;
    };
    let sa = c.name.clone();
    if !quota && world.get("ServiceAccount", ns, &sa).is_some() {
        return;
    }
    let t0 = rec.minutes(8.0, recent_window(rec, c));
    let burst = if quota {
        rec.minutes(1.0, 12.0)
    } else {
        rec.minutes(0.3, 4.0)
    };
    let ok = (t0 - burst).max(1.0);
    let Some(old_json) = world.get("Pod", ns, &old).cloned() else {
        return;
    };
    killed_events(world, rec, &old_json, t0 + 0.01);
    let rs_subject = Subject::of(world, "ReplicaSet", ns, &c.rs);
    let n = retries(t0 - ok);
    if quota {
        let Some(q) = quota_of(world, touched, ns) else {
            return;
        };
        let req = cpu_request(&old_json["spec"]).max(10.0);
        let usage: f64 = world
            .names("Pod", Some(ns))
            .iter()
            .filter_map(|(_, p)| world.get("Pod", ns, p))
            .filter(|p| !matches!(p["status"]["phase"].as_str(), Some("Succeeded" | "Failed")))
            .map(|p| cpu_request(&p["spec"]))
            .sum();
        let hard = ((usage / 1000.0).ceil() * 1000.0).max(1000.0);
        let mut used = usage.min(hard);
        if used + req <= hard {
            used = hard - req + 10.0;
        }
        let forbid = |name: &str| {
            format!(
                "Error creating: pods \"{name}\" is forbidden: exceeded quota: {q}, requested: requests.cpu={}, used: requests.cpu={}, limited: requests.cpu={}",
                fmt_cpu(req),
                fmt_cpu(used),
                fmt_cpu(hard)
            )
        };
        let mut at = t0;
        for k in 0..n.min(9) {
            at = t0 - 0.005 * (2f64.powi(k as i32) - 1.0) / 60.0;
            let msg = forbid(&format!("{}-{}", c.rs, rec.rng.suffix(5)));
            rec.event(
                world,
                &rs_subject,
                warning("FailedCreate", &msg),
                controller("replicaset-controller"),
                (at, at, 1),
            );
        }
        if n > 9 {
            let msg = format!(
                "(combined from similar events): {}",
                forbid(&format!("{}-{}", c.rs, rec.rng.suffix(5)))
            );
            rec.event(
                world,
                &rs_subject,
                warning("FailedCreate", &msg),
                controller("replicaset-controller"),
                (at - 0.01, ok + 0.01, n - 9),
            );
        }
        let when = world.at(ok + 0.03);
        if let Some(o) = world.get_mut("ResourceQuota", ns, &q) {
            record_edit(
                o,
                managed(
                    "kubectl-edit",
                    "v1",
                    when,
                    json!({"f:spec": {"f:hard": {"f:requests.cpu": {}}}}),
                ),
            );
        }
    } else {
        edit_template(world, c, &|spec: &mut Value| {
            spec["serviceAccountName"] = json!(sa);
            spec["serviceAccount"] = json!(sa);
        });
        let msg = format!(
            "Error creating: pods \"{}-\" is forbidden: error looking up service account {ns}/{sa}: serviceaccount \"{sa}\" not found",
            c.rs
        );
        rec.event(
            world,
            &rs_subject,
            warning("FailedCreate", &msg),
            controller("replicaset-controller"),
            (t0, ok + 0.01, n),
        );
        let labels = world
            .get("Deployment", ns, &c.name)
            .map(|d| d["metadata"]["labels"].clone())
            .unwrap_or(Value::Null);
        let mut m = json!({"name": sa, "namespace": ns, "uid": rec.rng.uid(),
            "creationTimestamp": world.at(ok + 0.02),
            "resourceVersion": format!("{}", 1000 + rec.rng.range(0, 900_000))});
        if !labels.is_null() {
            m["labels"] = labels;
        }
        world.add(json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": m}));
    }
    let t = Timing::prompt(rec, ok);
    let Some(new) = replace(world, rec, ns, &old, &Owner::of(c), t) else {
        return;
    };
    created_event(world, rec, ns, &c.rs, &new, ok);
    started_events(world, rec, ns, &new, t);
}

// -- FailedScheduling, resolved ---------------------------------------------------------------

fn tolerates(spec: &Value, taint: &Value) -> bool {
    spec["tolerations"].as_array().is_some_and(|tols| {
        tols.iter().any(|t| {
            let key_ok = t["key"] == taint["key"]
                || (t["key"].as_str().unwrap_or_default().is_empty() && t["operator"] == "Exists");
            let value_ok = t["operator"] == "Exists"
                || t["value"].as_str().unwrap_or_default()
                    == taint["value"].as_str().unwrap_or_default();
            let effect_ok = t["effect"].as_str().unwrap_or_default().is_empty()
                || t["effect"] == taint["effect"];
            key_ok && value_ok && effect_ok
        })
    })
}

/// Why a node cannot take a pod whatever the load (taint, selector, cordon), as the
/// scheduler's filters word it.
pub(super) fn node_misfit(spec: &Value, node: &Value) -> Option<String> {
    if node["spec"]["unschedulable"] == true {
        return Some("node(s) were unschedulable".into());
    }
    let taint = node["spec"]["taints"].as_array().and_then(|ts| {
        ts.iter()
            .filter(|t| t["effect"] == "NoSchedule" || t["effect"] == "NoExecute")
            .find(|t| !tolerates(spec, t))
    });
    if let Some(t) = taint {
        return Some(format!(
            "node(s) had untolerated taint {{{}: {}}}",
            t["key"].as_str().unwrap_or_default(),
            t["value"].as_str().unwrap_or_default()
        ));
    }
    let selector_ok = spec["nodeSelector"]
        .as_object()
        .is_none_or(|sel| sel.iter().all(|(k, v)| node["metadata"]["labels"][k] == *v));
    if !selector_ok {
        return Some("node(s) didn't match Pod's node affinity/selector".into());
    }
    None
}

/// kube-scheduler's FitError for a pod no node had room for at the time: each node's
/// reasons counted, sorted as strings, then the preemption plugin's verdict.
fn fit_error(world: &World, rec: &mut Recorder, spec: &Value) -> String {
    let nodes = world.names("Node", Some(""));
    let total = nodes.len();
    let mut reasons: std::collections::BTreeMap<String, usize> = Default::default();
    let mut preemption: std::collections::BTreeMap<&str, usize> = Default::default();
    for (_, name) in &nodes {
        let Some(n) = world.get("Node", "", name) else {
            continue;
        };
        match node_misfit(spec, n) {
            Some(r) => {
                *reasons.entry(r).or_default() += 1;
                *preemption
                    .entry("Preemption is not helpful for scheduling")
                    .or_default() += 1;
            }
            None => {
                let pick = rec.rng.range(0, 9);
                if pick < 8 {
                    *reasons.entry("Insufficient cpu".into()).or_default() += 1;
                }
                if pick >= 5 {
                    *reasons.entry("Insufficient memory".into()).or_default() += 1;
                }
                *preemption
                    .entry("No preemption victims found for incoming pod")
                    .or_default() += 1;
            }
        }
    }
    let histogram = |m: Vec<String>| {
        let mut v = m;
        v.sort();
        v.join(", ")
    };
    format!(
        "0/{total} nodes are available: {}. preemption: 0/{total} nodes are available: {}.",
        histogram(reasons.iter().map(|(r, c)| format!("{c} {r}")).collect()),
        histogram(preemption.iter().map(|(r, c)| format!("{c} {r}")).collect())
    )
}

/// A pod replaced minutes to a day ago that waited for a node with room (the scheduler's
/// FailedScheduling, retried) and was then bound and started; it runs now.
pub(super) fn failed_scheduling(world: &mut World, rec: &mut Recorder, c: &Candidate) {
    let ns = c.ns.as_str();
    let Some(old) = rec.rng.pick(&c.movable).cloned() else {
        return;
    };
    let Some(old_json) = world.get("Pod", ns, &old).cloned() else {
        return;
    };
    let t0 = rec.minutes(6.0, recent_window(rec, c));
    let wait = rec.minutes(0.4, 9.0).min(t0 - 1.0);
    let bound = t0 - wait;
    let message = fit_error(world, rec, &old_json["spec"]);
    killed_events(world, rec, &old_json, t0 + 0.01);
    let t = Timing {
        created: t0,
        bound,
        started: bound - rec.minutes(0.03, 0.1),
    };
    let Some(new) = replace(world, rec, ns, &old, &Owner::of(c), t) else {
        return;
    };
    created_event(world, rec, ns, &c.rs, &new, t0);
    let subject = Subject::of(world, "Pod", ns, &new);
    let attempts = 1 + (wait * 1.5) as u64;
    rec.event(
        world,
        &subject,
        warning("FailedScheduling", &message),
        controller("default-scheduler"),
        (t0 - 0.002, bound + 0.02, attempts),
    );
    started_events(world, rec, ns, &new, t);
}

// -- FailedMount, resolved --------------------------------------------------------------------

/// The ConfigMap a Deployment's pods read (envFrom or a volume), if the scenario leaves it
/// alone.
pub(super) fn config_map_of(world: &World, touched: &Touched, c: &Candidate) -> Option<String> {
    let d = world.get("Deployment", &c.ns, &c.name)?;
    let spec = &d["spec"]["template"]["spec"];
    let from_env = spec["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|c| c["envFrom"].as_array().into_iter().flatten())
        .filter_map(|e| e["configMapRef"]["name"].as_str());
    let from_volumes = spec["volumes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v["configMap"]["name"].as_str());
    let names: BTreeSet<&str> = from_env.chain(from_volumes).collect();
    names
        .into_iter()
        .find(|n| {
            world.get("ConfigMap", &c.ns, n).is_some() && !touched.object("ConfigMap", &c.ns, n)
        })
        .map(str::to_string)
}

/// A pod replaced minutes to a day ago whose ConfigMap volume could not be mounted until
/// the ConfigMap was recreated (a sync that deleted and re-applied it): the kubelet's
/// FailedMount retries, then the containers started. The ConfigMap exists now.
pub(super) fn failed_mount(
    world: &mut World,
    rec: &mut Recorder,
    touched: &Touched,
    c: &Candidate,
) {
    let ns = c.ns.as_str();
    let Some(cm) = config_map_of(world, touched, c) else {
        return;
    };
    let Some(old) = rec.rng.pick(&c.movable).cloned() else {
        return;
    };
    let t0 = rec.minutes(6.0, recent_window(rec, c));
    let gap = rec.minutes(0.4, 6.0).min(t0 - 1.5);
    // The kubelet retries a failed mount after 0.5 s, doubling up to 2m2s; the first try
    // after the ConfigMap exists mounts it.
    let (mut elapsed, mut delay, mut failures, mut last) = (0.0f64, 0.5f64, 0u64, 0.0f64);
    while elapsed < gap * 60.0 {
        failures += 1;
        last = elapsed;
        elapsed += delay;
        delay = (delay * 2.0).min(122.0);
    }
    let mounted = (t0 - elapsed / 60.0).max(0.5);
    let last_failure = (t0 - last / 60.0).max(mounted);
    // The pods mount the ConfigMap as a volume (the same template made them all).
    let volume = {
        let d = world.get("Deployment", ns, &c.name);
        d.and_then(|d| d["spec"]["template"]["spec"]["volumes"].as_array())
            .and_then(|vs| vs.iter().find(|v| v["configMap"]["name"] == cm.as_str()))
            .and_then(|v| v["name"].as_str())
            .map(str::to_string)
    };
    let volume = match volume {
        Some(v) => v,
        None => {
            let mount = format!("/etc/{}", c.name);
            let cm2 = cm.clone();
            edit_template(world, c, &|spec: &mut Value| {
                let vol = json!({"name": "config", "configMap": {"name": cm2, "defaultMode": 420}});
                match spec["volumes"].as_array_mut() {
                    Some(vs) => vs.push(vol),
                    None => spec["volumes"] = json!([vol]),
                }
                let m = json!({"name": "config", "mountPath": mount, "readOnly": true});
                match spec["containers"][0]["volumeMounts"].as_array_mut() {
                    Some(ms) => ms.push(m),
                    None => spec["containers"][0]["volumeMounts"] = json!([m]),
                }
            });
            "config".to_string()
        }
    };
    let Some(old_json) = world.get("Pod", ns, &old).cloned() else {
        return;
    };
    let recreated = world.at(t0 - gap);
    let (uid, rv) = (
        rec.rng.uid(),
        format!("{}", 1000 + rec.rng.range(0, 900_000)),
    );
    if let Some(m) = world.get_mut("ConfigMap", ns, &cm) {
        m["metadata"]["uid"] = json!(uid);
        m["metadata"]["creationTimestamp"] = json!(recreated);
        m["metadata"]["resourceVersion"] = json!(rv);
    }
    killed_events(world, rec, &old_json, t0 + 0.01);
    let t = Timing {
        created: t0,
        bound: t0 - 0.004,
        started: mounted - rec.minutes(0.02, 0.06),
    };
    let Some(new) = replace(world, rec, ns, &old, &Owner::of(c), t) else {
        return;
    };
    created_event(world, rec, ns, &c.rs, &new, t0);
    let node = world
        .get("Pod", ns, &new)
        .and_then(|p| p["spec"]["nodeName"].as_str())
        .unwrap_or_default()
        .to_string();
    let subject = Subject::of(world, "Pod", ns, &new);
    rec.event(
        world,
        &subject,
        warning(
            "FailedMount",
            &format!(
                "MountVolume.SetUp failed for volume \"{volume}\" : configmap \"{cm}\" not found"
            ),
        ),
        kubelet(&node),
        (t0 - 0.005, last_failure, failures),
    );
    if t0 - mounted > 2.0 {
        rec.event(
            world,
            &subject,
            warning(
                "FailedMount",
                &format!("Unable to attach or mount volumes: unmounted volumes=[{volume}], unattached volumes=[{volume}], failed to process volumes=[]: timed out waiting for the condition"),
            ),
            kubelet(&node),
            (t0 - 2.03, mounted + 0.02, ((t0 - mounted) / 2.0) as u64),
        );
    }
    started_events(world, rec, ns, &new, t);
}
