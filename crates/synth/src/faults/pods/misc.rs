//! The smaller kinds: `scale`, `past-restart`, `reconcile` and the ephemeral-volume near
//! miss of `pending`. Split out of the fault group so that each file fits in one head.

use serde_json::{Value, json};

use crate::scenario::Fault;
use crate::signals::Previous;
use crate::topology::Topology;
use crate::world::World;

use super::controllers::reconcile;
use super::image_pull::rollout_done;
use super::pod::{current_rs, pod_container, pod_created, scheduled_event};
use super::scale_out::scale;
use super::scheduler::{node_views, try_schedule};

/// `scale`: the app is scaled to `replicas` at `since` — by its HPA when it has one
/// (SuccessfulRescale; `maxReplicas` raises the HPA's maximum, `utilization` its reported
/// CPU) — and the new pods land where the scheduler would put them (Pending, with its
/// message, where nothing fits).
pub(super) fn scale_fault(world: &mut World, topo: &mut Topology, f: &Fault) -> Result<(), String> {
    let replicas = f.num("replicas").ok_or("scale needs `replicas`")? as u64;
    scale(world, topo, f, replicas, replicas).map(|_| ())
}

/// `past-restart`: the first `pods` (1) pods of the app restarted `restarts` (1) times at
/// `since` — long ago, say 2880 for two days — and have run fine since: restart count,
/// `lastState.terminated` (`reason` Error, `exitCode` 1), and a previous log ending with
/// `message` (its last lines). The events of the time have expired.
pub(super) fn past_restart(world: &mut World, f: &Fault) -> Result<(), String> {
    let ns = f.namespace.clone();
    let n = f.num("pods").unwrap_or(1.0) as usize;
    let restarts = f.num("restarts").unwrap_or(1.0) as u64;
    let reason = f.str("reason").unwrap_or("Error").to_string();
    let exit = f.num("exitCode").unwrap_or(1.0) as i64;
    let lines: Vec<String> = f
        .str("message")
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect();
    let at = f.since;
    for pod in super::super::core::pods(world, f)?.into_iter().take(n) {
        let created = pod_created(world, &ns, &pod);
        if at >= created {
            return Err(format!(
                "pod {pod} was created {created:.0} min ago, after the restart at {at}"
            ));
        }
        let (container, _) = pod_container(world, &ns, &pod);
        let (started, finished, again) =
            (world.at(created - 0.1), world.at(at), world.at(at - 0.02));
        let cid = format!(
            "containerd://{:016x}{:016x}{:016x}{:016x}",
            world.rng.next_u64(),
            world.rng.next_u64(),
            world.rng.next_u64(),
            world.rng.next_u64()
        );
        let ready = world.at(at - 0.2);
        if let Some(p) = world.get_mut("Pod", &ns, &pod) {
            for c in p["status"]["containerStatuses"]
                .as_array_mut()
                .into_iter()
                .flatten()
                .filter(|c| c["name"] == container.as_str())
            {
                let before = c["restartCount"].as_u64().unwrap_or(0);
                c["restartCount"] = json!(before + restarts);
                c["lastState"] = json!({"terminated": {"reason": reason, "exitCode": exit,
                    "startedAt": started, "finishedAt": finished, "containerID": cid}});
                c["state"] = json!({"running": {"startedAt": again}});
            }
            for c in p["status"]["conditions"]
                .as_array_mut()
                .into_iter()
                .flatten()
            {
                if c["type"] == "Ready" || c["type"] == "ContainersReady" {
                    c["lastTransitionTime"] = json!(ready);
                }
            }
        }
        if let Some(s) = world.signals_mut(&ns, &pod, &container) {
            s.previous = Some(Previous {
                started_minutes_ago: created - 0.1,
                ended_minutes_ago: at,
                last_lines: lines.clone(),
            });
            s.started_minutes_ago = at - 0.02;
        }
    }
    Ok(())
}

/// `reconcile`: recomputes, from the pods as they are, what the controllers would report
/// for the app (or every Deployment and StatefulSet of the namespace without `app`):
/// ReplicaSet, Deployment and StatefulSet status, the Service's EndpointSlice, the PDB.
/// Useful after faults that change pods only (a crash loop).
pub(super) fn reconcile_fault(world: &mut World, f: &Fault) -> Result<(), String> {
    let ns = f.namespace.clone();
    let apps: Vec<String> = match &f.app {
        Some(a) => vec![a.clone()],
        None => world
            .names("Deployment", Some(&ns))
            .into_iter()
            .chain(world.names("StatefulSet", Some(&ns)))
            .map(|(_, n)| n)
            .collect(),
    };
    for app in apps {
        reconcile(world, &ns, &app, f.since);
        // A finished rollout the Progressing condition does not name yet.
        let Ok(rs) = current_rs(world, &ns, &app) else {
            continue;
        };
        let finished = world.get("Deployment", &ns, &app).is_some_and(|d| {
            d["status"]["updatedReplicas"] == d["spec"]["replicas"]
                && d["status"]["conditions"].as_array().is_some_and(|cs| {
                    cs.iter().any(|c| {
                        c["type"] == "Progressing"
                            && c["reason"] == "NewReplicaSetAvailable"
                            && !c["message"]
                                .as_str()
                                .unwrap_or_default()
                                .contains(&format!("\"{rs}\""))
                    })
                })
        });
        if finished {
            rollout_done(world, &ns, &app, f.since);
        }
    }
    Ok(())
}

/// The near-miss: a pod that waited a few seconds for its generic ephemeral volume's claim.
pub(super) fn ephemeral_volume(world: &mut World, f: &Fault) -> Result<(), String> {
    let ns = f.namespace.clone();
    let app = f.app()?.to_string();
    let after = f.num("recoveredAfter").unwrap_or(0.08);
    let pod = super::super::core::pods(world, f)?
        .into_iter()
        .next()
        .unwrap_or_default();
    let p = world.get("Pod", &ns, &pod).cloned().unwrap_or_default();
    let created = pod_created(world, &ns, &pod);
    let vname = f.str("volume").unwrap_or("scratch").to_string();
    let claim = format!("{pod}-{vname}");
    let vol = json!({"name": vname, "ephemeral": {"volumeClaimTemplate": {"metadata": {"labels": {"app": app}},
        "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "gp3", "resources": {"requests": {"storage": "1Gi"}}}}}});
    let mount = json!({"name": vname, "mountPath": format!("/{vname}")});
    let add = |spec: &mut Value| {
        spec["volumes"] = json!([vol.clone()]);
        spec["containers"][0]["volumeMounts"] = json!([mount.clone()]);
    };
    // The pod, its Job and the CronJob all carry the volume.
    let job = p["metadata"]["ownerReferences"][0]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let cron = world
        .get("Job", &ns, &job)
        .and_then(|j| j["metadata"]["ownerReferences"][0]["name"].as_str())
        .unwrap_or_default()
        .to_string();
    if let Some(c) = world.get_mut("CronJob", &ns, &cron) {
        add(&mut c["spec"]["jobTemplate"]["spec"]["template"]["spec"]);
    }
    if let Some(j) = world.get_mut("Job", &ns, &job) {
        add(&mut j["spec"]["template"]["spec"]);
    }
    let mut spec = p["spec"].clone();
    add(&mut spec);
    let node = match p["spec"]["nodeName"].as_str() {
        Some(n) => n.to_string(),
        None => {
            let mut probe = spec.clone();
            if let Some(s) = probe.as_object_mut() {
                s.remove("volumes");
            }
            try_schedule(world, &ns, &probe, Some(&pod))
                .map_err(|m| format!("pod {ns}/{pod} fits nowhere: {m}"))?
        }
    };
    let views = node_views(world);
    let zone = views
        .iter()
        .find(|n| n.name == node)
        .map(|n| n.zone.clone())
        .unwrap_or_default();
    let host_ip = views
        .iter()
        .find(|n| n.name == node)
        .map(|n| n.ip.clone())
        .unwrap_or_default();
    spec["nodeName"] = json!(node);
    let pod_uid = p["metadata"]["uid"].clone();
    let scheduled_at = created - after;
    if let Some(pm) = world.get_mut("Pod", &ns, &pod) {
        pm["spec"] = spec;
        pm["status"]["hostIP"] = json!(host_ip);
        pm["status"]["hostIPs"] = json!([{"ip": host_ip}]);
    }
    let pv = format!("pvc-{}", world.rng.uid());
    let handle = format!("vol-0{:016x}", world.rng.next_u64());
    let (puid, vuid) = (world.rng.uid(), world.rng.uid());
    world.add(json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
        "metadata": {"name": claim, "namespace": ns, "uid": puid, "creationTimestamp": world.at(created - 0.01), "resourceVersion": "1",
            "labels": {"app": app},
            "annotations": {"pv.kubernetes.io/bind-completed": "yes", "pv.kubernetes.io/bound-by-controller": "yes",
                "volume.beta.kubernetes.io/storage-provisioner": "ebs.csi.aws.com", "volume.kubernetes.io/storage-provisioner": "ebs.csi.aws.com",
                "volume.kubernetes.io/selected-node": node},
            "ownerReferences": [{"apiVersion": "v1", "kind": "Pod", "name": pod, "uid": pod_uid, "controller": true, "blockOwnerDeletion": true}]},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}, "storageClassName": "gp3", "volumeMode": "Filesystem", "volumeName": pv},
        "status": {"phase": "Bound", "accessModes": ["ReadWriteOnce"], "capacity": {"storage": "1Gi"}}}));
    world.add(json!({"apiVersion": "v1", "kind": "PersistentVolume",
        "metadata": {"name": pv, "uid": vuid, "creationTimestamp": world.at(scheduled_at - 0.02), "resourceVersion": "1",
            "annotations": {"pv.kubernetes.io/provisioned-by": "ebs.csi.aws.com", "volume.kubernetes.io/provisioner-deletion-secret-name": "",
                "volume.kubernetes.io/provisioner-deletion-secret-namespace": ""}},
        "spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"], "persistentVolumeReclaimPolicy": "Delete", "storageClassName": "gp3",
            "volumeMode": "Filesystem", "claimRef": {"kind": "PersistentVolumeClaim", "namespace": ns, "name": claim, "apiVersion": "v1", "uid": puid},
            "csi": {"driver": "ebs.csi.aws.com", "fsType": "ext4", "volumeHandle": handle},
            "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [{"key": "topology.kubernetes.io/zone", "operator": "In", "values": [zone]}]}]}}},
        "status": {"phase": "Bound"}}));
    let n = views.len();
    world.event(
        ("Pod", &ns, &pod),
        "Warning",
        "FailedScheduling",
        &format!(
            "0/{n} nodes are available: waiting for ephemeral volume controller to create the persistentvolumeclaim \"{claim}\". preemption: 0/{n} nodes are available: {n} Preemption is not helpful for scheduling."
        ),
        "default-scheduler",
        created,
        created,
        1,
    );
    let pvc_obj = ("PersistentVolumeClaim", ns.as_str(), claim.as_str());
    world.event(
        pvc_obj,
        "Normal",
        "WaitForFirstConsumer",
        "waiting for first consumer to be created before binding",
        "persistentvolume-controller",
        created - 0.01,
        created - 0.01,
        1,
    );
    world.event(
        pvc_obj,
        "Normal",
        "ExternalProvisioning",
        "Waiting for a volume to be created either by the external provisioner 'ebs.csi.aws.com' or manually by the system administrator. If volume creation is delayed, please verify that the provisioner is running and correctly registered.",
        "persistentvolume-controller",
        scheduled_at,
        scheduled_at - 0.01,
        2,
    );
    world.event(
        pvc_obj,
        "Normal",
        "Provisioning",
        &format!("External provisioner is provisioning volume for claim \"{ns}/{claim}\""),
        "ebs.csi.aws.com_ebs-csi-controller-6f8d9c7b5d-q2x7k_7c1e4a52-9b3d-4d6e-8f21-3a5b7c9d0e12",
        scheduled_at,
        scheduled_at,
        1,
    );
    world.event(
        pvc_obj,
        "Normal",
        "ProvisioningSucceeded",
        &format!("Successfully provisioned volume {pv}"),
        "ebs.csi.aws.com_ebs-csi-controller-6f8d9c7b5d-q2x7k_7c1e4a52-9b3d-4d6e-8f21-3a5b7c9d0e12",
        scheduled_at - 0.03,
        scheduled_at - 0.03,
        1,
    );
    scheduled_event(world, &ns, &pod, &node, scheduled_at);
    world.event(
        ("Pod", &ns, &pod),
        "Normal",
        "SuccessfulAttachVolume",
        &format!("AttachVolume.Attach succeeded for volume \"{pv}\""),
        "attachdetach-controller",
        scheduled_at - 0.05,
        scheduled_at - 0.05,
        1,
    );
    let (container, image) = pod_container(world, &ns, &pod);
    for (reason, msg) in [
        (
            "Pulled",
            format!("Container image \"{image}\" already present on machine"),
        ),
        ("Created", format!("Created container {container}")),
        ("Started", format!("Started container {container}")),
    ] {
        world.event(
            ("Pod", &ns, &pod),
            "Normal",
            reason,
            &msg,
            "kubelet",
            scheduled_at - 0.1,
            scheduled_at - 0.1,
            1,
        );
    }
    let (started, start_time) = (world.at(scheduled_at - 0.1), world.at(scheduled_at));
    if let Some(pm) = world.get_mut("Pod", &ns, &pod) {
        pm["status"]["startTime"] = json!(start_time);
        for c in pm["status"]["containerStatuses"]
            .as_array_mut()
            .into_iter()
            .flatten()
        {
            c["state"]["terminated"]["startedAt"] = json!(started);
        }
    }
    Ok(())
}
