//! `pending`: pods the scheduler cannot place (a PVC's zone, anti-affinity, a quota), with
//! the scheduler's message computed from the cluster as generated. Split out of the fault
//! group so that the family fits in one file.

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use crate::scenario::Fault;
use crate::topology::{Topology, ZONES};
use crate::world::World;

use super::controllers::{progressing, reconcile};
use super::misc::ephemeral_volume;
use super::pod::{current_rs, live_pods_of_owner, pod_created, quota_usage};
use super::rollout::rollout_stuck;
use super::scale_out::{scale, sts_update};
use super::scheduler::{Verdict, filter, move_pod, node_views, topo_adjust, try_schedule};
use super::{bytes, cpu_m, fmt_cpu, fmt_mem, spec_requests, stable_rng};

/// `pending`: pods the scheduler cannot place, with its exact FailedScheduling message
/// computed from the cluster (filters in kube-scheduler's order: unschedulable node, taints,
/// node selector/affinity, resources, volume zone, pod anti-affinity; then the preemption
/// summary), or pods that cannot even be created.
///
/// `cause`:
/// - `insufficient-cpu` / `insufficient-memory`: the change sets `cpu` / `memory` (the
///   container's request) beyond what any eligible node has free;
/// - `taint`: the change adds `nodeSelector: pool=<pool>` (default `batch`) without a
///   toleration for the pool's taint;
/// - `node-selector`: the change adds `selector` (a map, default `disktype: ssd`) that no
///   node matches;
/// - `pvc-zone`: a StatefulSet pod (`pod`, default `<app>-0`) lost its node: the node it ran
///   on (in `zone`, default a zone where no eligible node is) was terminated and deleted,
///   the pod was recreated, and its volume's node affinity pins it to that zone;
/// - `anti-affinity`: the Deployment carries a required pod anti-affinity on
///   `kubernetes.io/hostname` and is scaled (by its HPA, whose `maxReplicas` may be raised)
///   to `replicas`, more than the nodes that can take one;
/// - `quota`: scaled to `replicas`, the ReplicaSet cannot create the pods: the namespace's
///   ResourceQuota (`quota`, default `compute`, with `requests.cpu` hard limit `hard`,
///   default the smallest whole number of cores that blocks the first new pod; set
///   `changedAgo` minutes ago, default a week) forbids them (FailedCreate events,
///   ReplicaFailure conditions, no pods at all; the pods that still fit are created);
/// - `ephemeral-volume` (a near-miss, for an existing pod such as a CronJob's): the pod got
///   a generic ephemeral volume and waited `recoveredAfter` minutes (default 0.08) for the
///   ephemeral volume controller before it was scheduled and ran.
///
/// For spec changes, a Deployment gets a stuck rollout (`count` new pods pending) and a
/// StatefulSet a rolling update that recreated its highest ordinal (Pending).
pub(super) fn pending(world: &mut World, topo: &mut Topology, f: &Fault) -> Result<(), String> {
    let cause = f
        .str("cause")
        .ok_or("pending needs `cause` (insufficient-cpu, insufficient-memory, taint, node-selector, pvc-zone, anti-affinity, quota, ephemeral-volume)")?;
    match cause {
        "insufficient-cpu" | "insufficient-memory" | "taint" | "node-selector" => {
            spec_change(world, topo, f, cause)
        }
        "pvc-zone" => pvc_zone(world, topo, f),
        "anti-affinity" => anti_affinity(world, topo, f),
        "quota" => quota(world, topo, f),
        "ephemeral-volume" => ephemeral_volume(world, f),
        other => Err(format!("unknown pending cause {other:?}")),
    }
}

fn spec_change(
    world: &mut World,
    topo: &mut Topology,
    f: &Fault,
    cause: &str,
) -> Result<(), String> {
    let ns = f.namespace.clone();
    let app = f.app()?.to_string();
    let (field, value) = match cause {
        "insufficient-cpu" => (
            "cpu",
            f.str("cpu")
                .ok_or("insufficient-cpu needs `cpu` (the new request)")?,
        ),
        "insufficient-memory" => (
            "memory",
            f.str("memory")
                .ok_or("insufficient-memory needs `memory` (the new request)")?,
        ),
        _ => ("", ""),
    };
    let pool = f.str("pool").unwrap_or("batch").to_string();
    let selector: Map<String, Value> = f
        .params
        .get("selector")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_else(|| {
            let mut m = Map::new();
            m.insert("disktype".into(), json!("ssd"));
            m
        });
    let cause_s = cause.to_string();
    let mut mutate = |t: &mut Value| {
        let c = &mut t["spec"]["containers"][0];
        match cause_s.as_str() {
            "insufficient-cpu" | "insufficient-memory" => {
                c["resources"]["requests"][field] = json!(value);
                let limit = &c["resources"]["limits"][field];
                let (lim, req) = if field == "cpu" {
                    (cpu_m(limit), cpu_m(&json!(value)))
                } else {
                    (bytes(limit), bytes(&json!(value)))
                };
                if !limit.is_null() && lim < req {
                    c["resources"]["limits"][field] = json!(value);
                }
            }
            "taint" => t["spec"]["nodeSelector"]["pool"] = json!(pool),
            _ => {
                for (k, v) in &selector {
                    t["spec"]["nodeSelector"][k] = v.clone();
                }
            }
        }
    };
    let expect = match cause {
        "insufficient-cpu" => "Insufficient cpu",
        "insufficient-memory" => "Insufficient memory",
        "taint" => "untolerated taint",
        _ => "didn't match Pod's node affinity/selector",
    };
    if world.get("StatefulSet", &ns, &app).is_some() {
        let pod = sts_update(world, topo, f, &mut mutate)?;
        let created = pod_created(world, &ns, &pod);
        let msg = unschedulable_message(world, &ns, &pod, expect)?;
        world.unschedulable(&ns, &pod, &msg, created);
        reconcile(world, &ns, &app, f.since);
        return Ok(());
    }
    let r = rollout_stuck(world, topo, f, &mut mutate)?;
    for pod in &r.new_pods {
        let created = pod_created(world, &ns, pod);
        let msg = unschedulable_message(world, &ns, pod, expect)?;
        world.unschedulable(&ns, pod, &msg, created);
    }
    reconcile(world, &ns, &app, f.since);
    progressing(world, &ns, &app, &r.rs, f.since, true);
    Ok(())
}

/// The scheduler's message for a pod that must not fit, checked to say what the fault means.
fn unschedulable_message(
    world: &World,
    ns: &str,
    pod: &str,
    expect: &str,
) -> Result<String, String> {
    let spec = world
        .get("Pod", ns, pod)
        .map(|p| p["spec"].clone())
        .ok_or_else(|| format!("no pod {ns}/{pod}"))?;
    match try_schedule(world, ns, &spec, None) {
        Ok(node) => Err(format!(
            "pod {ns}/{pod} would still fit on node {node}: the fault's parameters do not make it unschedulable"
        )),
        Err(msg) if !msg.contains(expect) => Err(format!(
            "pod {ns}/{pod} is unschedulable but not for the expected reason ({expect}): {msg}"
        )),
        Err(msg) => Ok(msg),
    }
}

/// A StatefulSet pod whose volume is pinned to a zone that has no eligible node any more.
fn pvc_zone(world: &mut World, topo: &mut Topology, f: &Fault) -> Result<(), String> {
    let ns = f.namespace.clone();
    let app = f.app()?.to_string();
    let since = f.since;
    world
        .get("StatefulSet", &ns, &app)
        .ok_or_else(|| format!("pvc-zone needs a StatefulSet; no StatefulSet {ns}/{app}"))?;
    let pod = f
        .str("pod")
        .map(str::to_string)
        .unwrap_or_else(|| format!("{app}-0"));
    let old = world
        .get("Pod", &ns, &pod)
        .cloned()
        .ok_or_else(|| format!("no pod {ns}/{pod}"))?;
    let claim = old["spec"]["volumes"]
        .as_array()
        .into_iter()
        .flatten()
        .find_map(|v| v["persistentVolumeClaim"]["claimName"].as_str())
        .ok_or_else(|| format!("pod {ns}/{pod} mounts no PersistentVolumeClaim"))?
        .to_string();
    let pv = world
        .get("PersistentVolumeClaim", &ns, &claim)
        .and_then(|c| c["spec"]["volumeName"].as_str())
        .ok_or_else(|| format!("PersistentVolumeClaim {ns}/{claim} is not bound"))?
        .to_string();
    // Zones where a node passes the pod's taint and selector filters.
    let mut spec = old["spec"].clone();
    if let Some(s) = spec.as_object_mut() {
        s.remove("nodeName");
        s.remove("volumes");
    }
    let views = node_views(world);
    let eligible: BTreeSet<String> = views
        .iter()
        .filter(|n| {
            !matches!(
                filter(n, &spec, &ns, &[], (0.0, 0.0)),
                Verdict::Unresolvable(_)
            )
        })
        .map(|n| n.zone.clone())
        .collect();
    let zone = match f.str("zone") {
        Some(z) => z.to_string(),
        None => ZONES
            .iter()
            .find(|z| !eligible.contains(**z))
            .map(|z| z.to_string())
            .ok_or("every zone has an eligible node; pass `zone` and remove nodes first")?,
    };
    if eligible.contains(&zone) {
        return Err(format!(
            "zone {zone} has a node pod {ns}/{pod} may run on: the volume would not strand it"
        ));
    }
    let gone = f.str("goneNode").map(str::to_string).unwrap_or_else(|| {
        let i = views.len();
        format!("ip-10-0-{i}-{}.eu-west-1.compute.internal", 10 + i % 7)
    });
    if let Some(v) = world.get_mut("PersistentVolume", "", &pv) {
        v["spec"]["nodeAffinity"] = json!({"required": {"nodeSelectorTerms": [{"matchExpressions": [
            {"key": "topology.kubernetes.io/zone", "operator": "In", "values": [zone]}]}]}});
    }
    if let Some(c) = world.get_mut("PersistentVolumeClaim", &ns, &claim) {
        c["metadata"]["annotations"]["volume.kubernetes.io/selected-node"] = json!(gone);
    }
    // The node's end: its instance terminated, the node went NotReady, the cloud node
    // lifecycle controller deleted it, the pod was garbage-collected and recreated.
    let node_obj = ("Node", "", gone.as_str());
    world.event(
        node_obj,
        "Normal",
        "NodeNotReady",
        &format!("Node {gone} status is now: NodeNotReady"),
        "node-controller",
        since + 1.2,
        since + 1.2,
        1,
    );
    world.event(
        ("Pod", &ns, &pod),
        "Warning",
        "NodeNotReady",
        "Node is not ready",
        "node-controller",
        since + 1.2,
        since + 1.2,
        1,
    );
    world.event(
        node_obj,
        "Normal",
        "DeletingNode",
        &format!("Deleting node {gone} because it does not exist in the cloud provider"),
        "cloud-node-lifecycle-controller",
        since + 0.1,
        since + 0.1,
        1,
    );
    world.event(
        node_obj,
        "Normal",
        "RemovingNode",
        &format!("Node {gone} event: Removing Node {gone} from Controller"),
        "node-controller",
        since,
        since,
        1,
    );
    if let Some(n) = old["spec"]["nodeName"].as_str() {
        let (cpu, mem) = spec_requests(&old["spec"]);
        topo_adjust(topo, n, -cpu, -mem);
    }
    let created = since - 0.05;
    let mut fresh = old.clone();
    fresh["metadata"]["uid"] = json!(world.rng.uid());
    fresh["metadata"]["creationTimestamp"] = json!(world.at(created));
    if let Some(s) = fresh["spec"].as_object_mut() {
        s.remove("nodeName");
    }
    fresh["status"] = json!({"phase": "Pending", "qosClass": old["status"]["qosClass"].clone()});
    world.add(fresh);
    world.event(
        ("StatefulSet", &ns, &app),
        "Normal",
        "SuccessfulCreate",
        &format!("create Pod {pod} in StatefulSet {app} successful"),
        "statefulset-controller",
        created,
        created,
        1,
    );
    let msg = unschedulable_message(world, &ns, &pod, "volume node affinity conflict")?;
    world.unschedulable(&ns, &pod, &msg, created);
    reconcile(world, &ns, &app, since);
    Ok(())
}

/// A required anti-affinity per node, and a scale-up beyond the nodes that can take a pod.
fn anti_affinity(world: &mut World, topo: &mut Topology, f: &Fault) -> Result<(), String> {
    let ns = f.namespace.clone();
    let app = f.app()?.to_string();
    let replicas = f
        .num("replicas")
        .ok_or("anti-affinity needs `replicas` (the scale-up target)")? as u64;
    let rs = current_rs(world, &ns, &app)?;
    let term = json!([{"labelSelector": {"matchLabels": {"app": app}}, "topologyKey": "kubernetes.io/hostname"}]);
    let set = |spec: &mut Value| {
        spec["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"] =
            term.clone();
    };
    if let Some(d) = world.get_mut("Deployment", &ns, &app) {
        set(&mut d["spec"]["template"]["spec"]);
    }
    if let Some(r) = world.get_mut("ReplicaSet", &ns, &rs) {
        set(&mut r["spec"]["template"]["spec"]);
    }
    // The rule has been there since the current revision: the pods already obey it.
    let mut taken = BTreeSet::new();
    for pod in world.pods_of(&ns, &app) {
        if let Some(p) = world.get_mut("Pod", &ns, &pod) {
            set(&mut p["spec"]);
        }
        let node = world
            .get("Pod", &ns, &pod)
            .and_then(|p| p["spec"]["nodeName"].as_str())
            .unwrap_or_default()
            .to_string();
        if node.is_empty() {
            continue;
        }
        if !taken.insert(node.clone()) {
            let spec = world
                .get("Pod", &ns, &pod)
                .map(|p| p["spec"].clone())
                .unwrap_or_default();
            let to = try_schedule(world, &ns, &spec, Some(&pod))
                .map_err(|m| format!("cannot spread the existing {app} pods one per node: {m}"))?;
            move_pod(world, topo, &ns, &pod, &to);
            taken.insert(to);
        }
    }
    let out = scale(world, topo, f, replicas, replicas)?;
    if out.pending.is_empty() {
        return Err(format!(
            "all {replicas} {app} pods found a node: raise `replicas` beyond the eligible nodes"
        ));
    }
    Ok(())
}

/// A scale-up the namespace's ResourceQuota forbids.
fn quota(world: &mut World, topo: &mut Topology, f: &Fault) -> Result<(), String> {
    let ns = f.namespace.clone();
    let app = f.app()?.to_string();
    let since = f.since;
    let replicas = f
        .num("replicas")
        .ok_or("quota needs `replicas` (the scale-up target)")? as u64;
    let qname = f.str("quota").unwrap_or("compute").to_string();
    world
        .get("ResourceQuota", &ns, &qname)
        .ok_or_else(|| format!("no ResourceQuota {ns}/{qname}"))?;
    let rs = current_rs(world, &ns, &app)?;
    let spec = world
        .get("ReplicaSet", &ns, &rs)
        .map(|r| r["spec"]["template"]["spec"].clone())
        .unwrap_or_default();
    let req = spec_requests(&spec).0;
    if req <= 0.0 {
        return Err(format!(
            "{app} requests no cpu; a requests.cpu quota cannot stop it"
        ));
    }
    let have = live_pods_of_owner(world, &ns, &rs) as u64;
    if replicas <= have {
        return Err(format!(
            "{app} already has {have} pods; `replicas` must be more"
        ));
    }
    let used = quota_usage(world, &ns);
    let hard = match f.str("hard") {
        Some(h) => cpu_m(&json!(h)),
        None => ((used.cpu + 1.0) / 1000.0).ceil() * 1000.0,
    };
    let fit = ((hard - used.cpu) / req).floor().max(0.0) as u64;
    if have + fit >= replicas {
        return Err(format!(
            "quota {ns}/{qname} (requests.cpu={}) leaves room for all of them (used {}); lower `hard`",
            fmt_cpu(hard),
            fmt_cpu(used.cpu)
        ));
    }
    let hard_s = fmt_cpu(hard);
    let changed = world.at(f.num("changedAgo").unwrap_or(7.0 * 1440.0));
    if let Some(q) = world.get_mut("ResourceQuota", &ns, &qname) {
        q["spec"]["hard"]["requests.cpu"] = json!(hard_s);
        q["status"]["hard"]["requests.cpu"] = json!(hard_s);
        q["metadata"]["managedFields"] = json!([{"manager": "kubectl-client-side-apply", "operation": "Update", "apiVersion": "v1",
            "time": changed, "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {"f:hard": {"f:requests.cpu": {}}}}}]);
    }
    scale(world, topo, f, have + fit, replicas)?;
    let used = quota_usage(world, &ns);
    if let Some(q) = world.get_mut("ResourceQuota", &ns, &qname) {
        q["status"]["used"] = json!({"requests.cpu": fmt_cpu(used.cpu), "requests.memory": fmt_mem(used.mem),
            "limits.memory": fmt_mem(used.limit_mem), "pods": used.pods.to_string()});
    }
    let forbid = |name: &str| {
        format!(
            "pods \"{name}\" is forbidden: exceeded quota: {qname}, requested: requests.cpu={}, used: requests.cpu={}, limited: requests.cpu={hard_s}",
            fmt_cpu(req),
            fmt_cpu(used.cpu)
        )
    };
    let mut rng = stable_rng(&format!("quota/{ns}/{rs}/{replicas}"));
    let obj = ("ReplicaSet", ns.as_str(), rs.as_str());
    let start = since - 0.01 * (fit as f64 + 1.0);
    let mut last = String::new();
    for i in 0..9 {
        let name = format!("{rs}-{}", rng.suffix(5));
        let at = start - i as f64 * 0.004 * 2f64.powi(i);
        world.event(
            obj,
            "Warning",
            "FailedCreate",
            &format!("Error creating: {}", forbid(&name)),
            "replicaset-controller",
            at,
            at,
            1,
        );
        last = name;
    }
    let name = format!("{rs}-{}", rng.suffix(5));
    let retries = (since / 2.0).max(2.0) as u64 + 8;
    world.event(
        obj,
        "Warning",
        "FailedCreate",
        &format!(
            "(combined from similar events): Error creating: {}",
            forbid(&name)
        ),
        "replicaset-controller",
        start - 1.2,
        0.6,
        retries,
    );
    let failure = json!({"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate",
        "message": forbid(&last), "lastTransitionTime": world.at(start)});
    if let Some(r) = world.get_mut("ReplicaSet", &ns, &rs) {
        r["status"]["conditions"] = json!([failure.clone()]);
    }
    reconcile(world, &ns, &app, since);
    if let Some(d) = world.get_mut("Deployment", &ns, &app) {
        let mut c = failure.clone();
        c["lastUpdateTime"] = c["lastTransitionTime"].clone();
        if let Some(cs) = d["status"]["conditions"].as_array_mut() {
            cs.retain(|x| x["type"] != "ReplicaFailure");
            cs.push(c);
        }
    }
    Ok(())
}
