//! The stuck rollout the rollout-based kinds share: a new ReplicaSet whose pods never
//! become available while the old one keeps serving. Its own file because every family
//! uses it.

use serde_json::{Value, json};

use crate::scenario::Fault;
use crate::signals::ContainerSignals;
use crate::topology::Topology;
use crate::world::World;

use super::pod::{fresh_pod, fresh_signals, remove_pod};
use super::stable_rng;

pub(super) struct Rollout {
    pub(super) rs: String,
    pub(super) image: String,
    pub(super) container: String,
    pub(super) image_changed: bool,
    pub(super) new_pods: Vec<String>,
    /// Signals of one of the app's containers before the change, for new pods' logs.
    pub(super) sig: Option<ContainerSignals>,
}

/// A new revision of a Deployment whose pods will not become available: the new
/// ReplicaSet scaled to what the strategy allows, the old one keeping the rest, the
/// controllers' events. New pods are created unscheduled; callers place them.
pub(super) fn rollout_stuck(
    world: &mut World,
    topo: &mut Topology,
    f: &Fault,
    mutate: &mut dyn FnMut(&mut Value),
) -> Result<Rollout, String> {
    let app = f.app()?.to_string();
    let ns = f.namespace.clone();
    let since = f.since;
    let dep = world
        .get("Deployment", &ns, &app)
        .cloned()
        .ok_or_else(|| format!("no Deployment {ns}/{app}"))?;
    let replicas = dep["spec"]["replicas"].as_u64().unwrap_or(1);
    let old_rev: u64 = dep["metadata"]["annotations"]["deployment.kubernetes.io/revision"]
        .as_str()
        .and_then(|r| r.parse().ok())
        .unwrap_or(1);
    let rev = old_rev + 1;
    let mut template = dep["spec"]["template"].clone();
    let container = template["spec"]["containers"][0]["name"]
        .as_str()
        .unwrap_or(&app)
        .to_string();
    let old_image = template["spec"]["containers"][0]["image"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let image = match f.str("version") {
        Some(v) => {
            let base = old_image
                .rsplit_once(':')
                .map(|(b, _)| b)
                .unwrap_or(&old_image);
            format!("{base}:{v}")
        }
        None => old_image.clone(),
    };
    template["spec"]["containers"][0]["image"] = json!(image);
    mutate(&mut template);
    let mut rng = stable_rng(&format!("rollout/{ns}/{app}/{rev}/{image}"));
    let hash = rng.suffix(10);
    let rs_name = format!("{app}-{hash}");
    template["metadata"]["labels"]["pod-template-hash"] = json!(hash);

    let recreate =
        f.str("strategy") == Some("Recreate") || dep["spec"]["strategy"]["type"] == "Recreate";
    let surge = if recreate {
        0
    } else {
        (replicas as f64 * 0.25).ceil() as u64
    };
    let unavail = if recreate {
        0
    } else {
        (replicas as f64 * 0.25).floor() as u64
    };
    let (new, keep) = if recreate {
        (replicas, 0)
    } else {
        let new = f
            .num("count")
            .map(|c| c as u64)
            .unwrap_or(surge + unavail)
            .clamp(1, replicas + surge);
        (new, (replicas + surge).saturating_sub(new).min(replicas))
    };

    // The old ReplicaSet, its pods, and what the new pods inherit from them.
    let old_rs: Vec<String> = world
        .owned_rs(&ns, &app)
        .into_iter()
        .filter(|r| {
            world
                .get("ReplicaSet", &ns, r)
                .is_some_and(|x| x["spec"]["replicas"].as_u64().unwrap_or(0) > 0)
        })
        .collect();
    let old_pods = world.pods_of(&ns, &app);
    let base = old_pods
        .first()
        .and_then(|p| world.get("Pod", &ns, p))
        .cloned()
        .ok_or_else(|| format!("no pods of {ns}/{app}"))?;
    let sig = old_pods.first().and_then(|p| {
        world
            .signals
            .containers
            .iter()
            .find(|s| s.namespace == ns && &s.pod == p)
            .cloned()
            .map(fresh_signals)
    });
    let old_count = old_pods.len() as u64;
    let removed: Vec<String> = old_pods
        .iter()
        .rev()
        .take(old_count.saturating_sub(keep) as usize)
        .cloned()
        .collect();
    let down_at = if recreate { since } else { since - 0.01 };
    for p in &removed {
        world.event(
            ("Pod", &ns, p),
            "Normal",
            "Killing",
            &format!("Stopping container {container}"),
            "kubelet",
            down_at,
            down_at,
            1,
        );
        if let Some(r) = old_rs.first() {
            world.event(
                ("ReplicaSet", &ns, r),
                "Normal",
                "SuccessfulDelete",
                &format!("Deleted pod: {p}"),
                "replicaset-controller",
                down_at,
                down_at,
                1,
            );
        }
        remove_pod(world, topo, &ns, p);
    }
    for r in &old_rs {
        if let Some(x) = world.get_mut("ReplicaSet", &ns, r) {
            x["spec"]["replicas"] = json!(keep);
        }
    }

    let dep_uid = dep["metadata"]["uid"].clone();
    let rs_uid = world.rng.uid();
    let mut labels = template["metadata"]["labels"].clone();
    labels["pod-template-hash"] = json!(hash);
    let created_rs = world.at(since);
    world.add(json!({"apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {"name": rs_name, "namespace": ns, "uid": rs_uid, "creationTimestamp": created_rs, "labels": labels,
            "resourceVersion": "1",
            "annotations": {"deployment.kubernetes.io/revision": rev.to_string(), "deployment.kubernetes.io/desired-replicas": replicas.to_string(),
                "deployment.kubernetes.io/max-replicas": (replicas + surge).to_string()},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": app, "uid": dep_uid, "controller": true, "blockOwnerDeletion": true}]},
        "spec": {"replicas": new, "selector": {"matchLabels": {"app": app, "pod-template-hash": hash}}, "template": template.clone()},
        "status": {"replicas": 0, "observedGeneration": 1}}));
    let changed_at = world.at(since);
    let manager = f
        .str("manager")
        .unwrap_or("kubectl-client-side-apply")
        .to_string();
    if let Some(d) = world.get_mut("Deployment", &ns, &app) {
        d["spec"]["template"] = template.clone();
        if recreate {
            d["spec"]["strategy"] = json!({"type": "Recreate"});
        }
        let generation = d["metadata"]["generation"].as_u64().unwrap_or(old_rev) + 1;
        d["metadata"]["generation"] = json!(generation);
        d["status"]["observedGeneration"] = json!(generation);
        d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] = json!(rev.to_string());
        d["metadata"]["managedFields"] = json!([{"manager": manager, "operation": "Update", "apiVersion": "apps/v1",
            "time": changed_at, "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {"f:template": {"f:spec": {"f:containers": {}}}}}}]);
    }
    let dobj = ("Deployment", ns.as_str(), app.as_str());
    let cname = "deployment-controller";
    let old_name = old_rs.first().cloned().unwrap_or_default();
    if recreate {
        world.event(
            dobj,
            "Normal",
            "ScalingReplicaSet",
            &format!("Scaled down replica set {old_name} from {old_count} to 0"),
            cname,
            since,
            since,
            1,
        );
        world.event(
            dobj,
            "Normal",
            "ScalingReplicaSet",
            &format!("Scaled up replica set {rs_name} from 0 to {new}"),
            cname,
            since - 0.5,
            since - 0.5,
            1,
        );
    } else {
        let first = new.min(surge.max(1));
        world.event(
            dobj,
            "Normal",
            "ScalingReplicaSet",
            &format!("Scaled up replica set {rs_name} from 0 to {first}"),
            cname,
            since,
            since,
            1,
        );
        if keep < old_count && !old_name.is_empty() {
            world.event(
                dobj,
                "Normal",
                "ScalingReplicaSet",
                &format!("Scaled down replica set {old_name} from {old_count} to {keep}"),
                cname,
                since - 0.01,
                since - 0.01,
                1,
            );
        }
        if new > first {
            world.event(
                dobj,
                "Normal",
                "ScalingReplicaSet",
                &format!("Scaled up replica set {rs_name} from {first} to {new}"),
                cname,
                since - 0.02,
                since - 0.02,
                1,
            );
        }
    }
    let mut new_pods = Vec::new();
    for i in 0..new {
        let name = format!("{rs_name}-{}", rng.suffix(5));
        let created = if recreate {
            since - 0.5
        } else if i < surge.max(1) {
            since - 0.01
        } else {
            since - 0.03
        };
        let pod = fresh_pod(
            world,
            &base,
            &name,
            ("ReplicaSet", &rs_name, &rs_uid),
            Some(&hash),
            template["spec"].clone(),
            created,
        );
        world.add(pod);
        world.event(
            ("ReplicaSet", &ns, &rs_name),
            "Normal",
            "SuccessfulCreate",
            &format!("Created pod: {name}"),
            "replicaset-controller",
            created,
            created,
            1,
        );
        new_pods.push(name);
    }
    Ok(Rollout {
        rs: rs_name,
        image_changed: image != old_image,
        image,
        container,
        new_pods,
        sig,
    })
}
