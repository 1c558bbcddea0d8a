//! Scale-ups and StatefulSet rolling updates: pods created from the current template and
//! placed where they fit or left Pending. Its own file because several families use it.

use serde_json::{Value, json};

use crate::scenario::Fault;
use crate::topology::Topology;
use crate::world::World;

use super::controllers::reconcile;
use super::pod::{
    CState, add_pod_signals, current_rs, fresh_pod, fresh_signals, live_pods_of_owner,
    pod_container, pulled_fresh, qos, scheduled_event, set_status,
};
use super::scheduler::{bind, topo_adjust, try_schedule};
use super::{spec_requests, stable_rng};

pub(super) struct ScaleOut {
    pub(super) pending: Vec<String>,
}

/// Scales the app's current ReplicaSet: creates pods up to `create` (placing each where it
/// fits, or leaving it Pending with the scheduler's message) and sets the desired count to
/// `desired`; the HPA, when there is one, is what asked.
pub(super) fn scale(
    world: &mut World,
    topo: &mut Topology,
    f: &Fault,
    create: u64,
    desired: u64,
) -> Result<ScaleOut, String> {
    let ns = f.namespace.clone();
    let app = f.app()?.to_string();
    let since = f.since;
    let rs = current_rs(world, &ns, &app)?;
    let rsv = world
        .get("ReplicaSet", &ns, &rs)
        .cloned()
        .unwrap_or_default();
    let from = live_pods_of_owner(world, &ns, &rs) as u64;
    if desired <= from {
        return Err(format!("{app} already runs {from} pods; scale to more"));
    }
    let pods = world.pods_of(&ns, &app);
    let base = pods
        .iter()
        .find_map(|p| world.get("Pod", &ns, p).cloned())
        .ok_or_else(|| format!("no pods of {ns}/{app}"))?;
    let sig = world
        .signals
        .containers
        .iter()
        .find(|s| s.namespace == ns && pods.contains(&s.pod))
        .cloned()
        .map(fresh_signals);
    let hash = rsv["metadata"]["labels"]["pod-template-hash"]
        .as_str()
        .map(str::to_string);
    let rs_uid = rsv["metadata"]["uid"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let spec = rsv["spec"]["template"]["spec"].clone();
    let image = spec["containers"][0]["image"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let container = spec["containers"][0]["name"]
        .as_str()
        .unwrap_or(&app)
        .to_string();
    let mut rng = stable_rng(&format!("scale/{ns}/{rs}/{desired}"));
    let mut out = ScaleOut {
        pending: Vec::new(),
    };
    for i in from..create {
        let name = format!("{rs}-{}", rng.suffix(5));
        let created = since - 0.01 - 0.002 * (i - from) as f64;
        let pod = fresh_pod(
            world,
            &base,
            &name,
            ("ReplicaSet", &rs, &rs_uid),
            hash.as_deref(),
            spec.clone(),
            created,
        );
        world.add(pod);
        world.event(
            ("ReplicaSet", &ns, &rs),
            "Normal",
            "SuccessfulCreate",
            &format!("Created pod: {name}"),
            "replicaset-controller",
            created,
            created,
            1,
        );
        match try_schedule(world, &ns, &spec, None) {
            Ok(node) => {
                let had_image = world.names("Pod", Some(&ns)).iter().any(|(_, p)| {
                    p != &name
                        && world.get("Pod", &ns, p).is_some_and(|x| {
                            x["spec"]["nodeName"] == node.as_str()
                                && x["spec"]["containers"][0]["image"] == image.as_str()
                        })
                });
                bind(world, topo, &ns, &name, &node);
                let state = json!({"running": {"startedAt": world.at(created - 0.05)}});
                let mut cs = CState::new(state, true, true);
                cs.image_id = true;
                set_status(world, &ns, &name, &node, created, "Running", &cs);
                scheduled_event(world, &ns, &name, &node, created);
                if had_image {
                    world.event(
                        ("Pod", &ns, &name),
                        "Normal",
                        "Pulled",
                        &format!("Container image \"{image}\" already present on machine"),
                        "kubelet",
                        created - 0.03,
                        created - 0.03,
                        1,
                    );
                } else {
                    pulled_fresh(world, &ns, &name, &image, created - 0.01);
                }
                for (reason, msg) in [
                    ("Created", format!("Created container {container}")),
                    ("Started", format!("Started container {container}")),
                ] {
                    world.event(
                        ("Pod", &ns, &name),
                        "Normal",
                        reason,
                        &msg,
                        "kubelet",
                        created - 0.05,
                        created - 0.05,
                        1,
                    );
                }
                if let Some(s) = &sig {
                    add_pod_signals(world, s.clone(), &ns, &name, &node, created - 0.05);
                }
            }
            Err(msg) => {
                world.unschedulable(&ns, &name, &msg, created);
                out.pending.push(name);
            }
        }
    }
    if let Some(d) = world.get_mut("Deployment", &ns, &app) {
        d["spec"]["replicas"] = json!(desired);
    }
    if let Some(r) = world.get_mut("ReplicaSet", &ns, &rs) {
        r["spec"]["replicas"] = json!(desired);
        r["metadata"]["annotations"]["deployment.kubernetes.io/desired-replicas"] =
            json!(desired.to_string());
    }
    world.event(
        ("Deployment", &ns, &app),
        "Normal",
        "ScalingReplicaSet",
        &format!("Scaled up replica set {rs} from {from} to {desired}"),
        "deployment-controller",
        since,
        since,
        1,
    );
    if world.get("HorizontalPodAutoscaler", &ns, &app).is_some() {
        let util = f.num("utilization").unwrap_or(91.0) as u64;
        let at = world.at(since);
        let max_set = f.num("maxReplicas").map(|m| m as u64);
        world.event(
            ("HorizontalPodAutoscaler", &ns, &app),
            "Normal",
            "SuccessfulRescale",
            &format!("New size: {desired}; reason: cpu resource utilization (percentage of request) above target"),
            "horizontal-pod-autoscaler",
            since + 0.01,
            since + 0.01,
            1,
        );
        let cpu_req = spec_requests(&spec).0;
        if let Some(h) = world.get_mut("HorizontalPodAutoscaler", &ns, &app) {
            if let Some(m) = max_set {
                h["spec"]["maxReplicas"] = json!(m);
            }
            let max = h["spec"]["maxReplicas"].as_u64().unwrap_or(desired);
            h["status"]["currentReplicas"] = json!(create);
            h["status"]["desiredReplicas"] = json!(desired);
            h["status"]["lastScaleTime"] = json!(at);
            h["status"]["currentMetrics"] = json!([{"type": "Resource", "resource": {"name": "cpu",
                "current": {"averageUtilization": util, "averageValue": format!("{}m", (cpu_req * util as f64 / 100.0) as u64)}}}]);
            let limited = desired >= max;
            h["status"]["conditions"] = json!([
                {"type": "AbleToScale", "status": "True", "reason": "SucceededRescale", "message": format!("the HPA controller was able to update the target scale to {desired}"), "lastTransitionTime": at},
                {"type": "ScalingActive", "status": "True", "reason": "ValidMetricFound", "message": "the HPA was able to successfully calculate a replica count from cpu resource utilization (percentage of request)", "lastTransitionTime": at},
                if limited {
                    json!({"type": "ScalingLimited", "status": "True", "reason": "TooManyReplicas", "message": "the desired replica count is more than the maximum replica count", "lastTransitionTime": at})
                } else {
                    json!({"type": "ScalingLimited", "status": "False", "reason": "DesiredWithinRange", "message": "the desired count is within the acceptable range", "lastTransitionTime": at})
                }
            ]);
        }
    }
    reconcile(world, &ns, &app, since);
    Ok(out)
}

/// A StatefulSet rolling update: the template changes and the highest ordinal is deleted
/// and recreated from it (unscheduled; the caller decides its fate).
pub(super) fn sts_update(
    world: &mut World,
    topo: &mut Topology,
    f: &Fault,
    mutate: &mut dyn FnMut(&mut Value),
) -> Result<String, String> {
    let ns = f.namespace.clone();
    let app = f.app()?.to_string();
    let since = f.since;
    let sts = world
        .get("StatefulSet", &ns, &app)
        .cloned()
        .ok_or_else(|| format!("no StatefulSet {ns}/{app}"))?;
    let replicas = sts["spec"]["replicas"].as_u64().unwrap_or(1).max(1);
    let pod = format!("{app}-{}", replicas - 1);
    let old = world
        .get("Pod", &ns, &pod)
        .cloned()
        .ok_or_else(|| format!("no pod {ns}/{pod}"))?;
    let mut template = sts["spec"]["template"].clone();
    if let Some(v) = f.str("version") {
        let img = template["spec"]["containers"][0]["image"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let base = img
            .rsplit_once(':')
            .map(|(b, _)| b.to_string())
            .unwrap_or(img);
        template["spec"]["containers"][0]["image"] = json!(format!("{base}:{v}"));
    }
    mutate(&mut template);
    let mut rng = stable_rng(&format!("sts/{ns}/{app}"));
    let current = format!("{app}-{:010x}", rng.next_u64() & 0xff_ffff_ffff);
    let update = format!("{app}-{:010x}", rng.next_u64() & 0xff_ffff_ffff);
    let at = world.at(since);
    let manager = f
        .str("manager")
        .unwrap_or("kubectl-client-side-apply")
        .to_string();
    if let Some(s) = world.get_mut("StatefulSet", &ns, &app) {
        s["spec"]["template"] = template.clone();
        let generation = s["metadata"]["generation"].as_u64().unwrap_or(1) + 1;
        s["metadata"]["generation"] = json!(generation);
        s["metadata"]["managedFields"] = json!([{"manager": manager, "operation": "Update", "apiVersion": "apps/v1",
            "time": at, "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {"f:template": {"f:spec": {}}}}}]);
        s["status"]["observedGeneration"] = json!(generation);
        s["status"]["currentRevision"] = json!(current);
        s["status"]["updateRevision"] = json!(update);
    }
    let (container, _) = pod_container(world, &ns, &pod);
    world.event(
        ("Pod", &ns, &pod),
        "Normal",
        "Killing",
        &format!("Stopping container {container}"),
        "kubelet",
        since,
        since,
        1,
    );
    world.event(
        ("StatefulSet", &ns, &app),
        "Normal",
        "SuccessfulDelete",
        &format!("delete Pod {pod} in StatefulSet {app} successful"),
        "statefulset-controller",
        since,
        since,
        1,
    );
    if let Some(n) = old["spec"]["nodeName"].as_str() {
        let (cpu, mem) = spec_requests(&old["spec"]);
        topo_adjust(topo, n, -cpu, -mem);
    }
    let created = since - 0.5;
    let mut fresh = old.clone();
    fresh["metadata"]["uid"] = json!(world.rng.uid());
    fresh["metadata"]["creationTimestamp"] = json!(world.at(created));
    fresh["metadata"]["labels"]["controller-revision-hash"] = json!(update);
    let mut spec = template["spec"].clone();
    for k in ["volumes", "hostname", "subdomain"] {
        if !old["spec"][k].is_null() {
            spec[k] = old["spec"][k].clone();
        }
    }
    fresh["spec"] = spec;
    fresh["status"] = json!({"phase": "Pending", "qosClass": qos(&fresh["spec"])});
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
    Ok(pod)
}
