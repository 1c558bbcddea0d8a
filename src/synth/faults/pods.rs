//! Pod-level incidents as the kubelet, the scheduler and the controllers report them: an
//! image that cannot be pulled, a container whose environment cannot be assembled, pods the
//! scheduler cannot place (its message computed from the generated cluster's real nodes,
//! taints, labels, zones and requests, so it is true), misconfigured probes — and the
//! near-misses that make a bundle honest (a pull that failed once and recovered, a Job pod
//! pending for a few seconds, a restart days ago, an HPA scale-up that went fine).
//!
//! Most of these faults arrive with a change to a workload. They share a *stuck rollout*: a
//! new ReplicaSet whose pods never become available while the old ReplicaSet keeps serving,
//! the state a RollingUpdate (25% surge, 25% unavailable) settles in; with
//! `strategy: Recreate` the old pods are gone first and nothing serves.
//!
//! Parameters common to the rollout-based kinds: `version` (the new image tag; the image is
//! unchanged without it), `strategy` (`Recreate` makes the Deployment use it), `count` (how
//! many pods the new ReplicaSet has; default what the strategy allows), `manager` (the
//! field manager recorded for the change), `since` (minutes before capture of the change).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

use crate::synth::rng::Rng;
use crate::synth::scenario::Fault;
use crate::synth::signals::{ContainerSignals, LogLine, Previous};
use crate::synth::topology::{Topology, ZONES};
use crate::synth::world::World;

pub const KINDS: &[&str] = &[
    "image-pull",
    "config-error",
    "pending",
    "probe",
    "scale",
    "past-restart",
    "reconcile",
];

pub fn apply(world: &mut World, topo: &mut Topology, f: &Fault) -> Option<Result<(), String>> {
    let r = match f.kind.as_str() {
        "image-pull" => image_pull(world, topo, f),
        "config-error" => config_error(world, topo, f),
        "pending" => pending(world, topo, f),
        "probe" => probe(world, topo, f),
        "scale" => scale_fault(world, topo, f),
        "past-restart" => past_restart(world, f),
        "reconcile" => reconcile_fault(world, f),
        _ => return None,
    };
    Some(r)
}

// ---------------------------------------------------------------------------------------
// image-pull

/// `image-pull`: a rollout to an image the kubelet cannot pull. The new ReplicaSet's pods
/// wait in `ImagePullBackOff` with the kubelet's events (Pulling, Failed with the runtime's
/// error, `Error: ErrImagePull`, BackOff, `Error: ImagePullBackOff`) while the old pods keep
/// serving; the Deployment reports unavailable replicas and, after its progress deadline,
/// `ProgressDeadlineExceeded`.
///
/// Params: `cause` — `bad-tag` (the tag does not exist: `NotFound … not found`) or
/// `no-pull-secret` (the registry is private: every workload of the namespace pulling from
/// it references the pull Secret `secret` (default `ghcr-pull`, created when missing) except
/// the new revision, which lost its `imagePullSecrets`: `401 Unauthorized`, or `pull access
/// denied` on Docker Hub); `version` (required: the tag). With `recoveredAfter` (minutes) it
/// is a near-miss instead: after a full rollout to `version` (when given) at `since`, pulls
/// failed (`cause` may also be `timeout`) until `recoveredAfter` minutes later — the image
/// was pushed, the registry answered again — and each of the first `pods` (1) pods created
/// before that succeeded at its next retry and has run fine since.
fn image_pull(world: &mut World, topo: &mut Topology, f: &Fault) -> Result<(), String> {
    let cause = f.str("cause").unwrap_or("bad-tag").to_string();
    if let Some(after) = f.num("recoveredAfter") {
        return pull_recovered(world, f, &cause, after);
    }
    if cause != "bad-tag" && cause != "no-pull-secret" {
        return Err(format!(
            "unknown image-pull cause {cause:?} (bad-tag, no-pull-secret; timeout with recoveredAfter)"
        ));
    }
    f.str("version")
        .ok_or("image-pull needs `version`: the tag the rollout asks for")?;
    let ns = f.namespace.clone();
    let app = f.app()?.to_string();
    if cause == "no-pull-secret" {
        let secret = f.str("secret").unwrap_or("ghcr-pull").to_string();
        require_pull_secret(world, &ns, &app, &secret)?;
    }
    let strip = cause == "no-pull-secret";
    let r = rollout_stuck(world, topo, f, &mut |t: &mut Value| {
        if strip {
            if let Some(s) = t["spec"].as_object_mut() {
                s.remove("imagePullSecrets");
            }
        }
    })?;
    let err = pull_error(&cause, &r.image)?;
    for pod in &r.new_pods {
        let created = pod_created(world, &ns, pod);
        let node = place(world, topo, &ns, pod)?;
        let state = json!({"waiting": {"reason": "ImagePullBackOff",
            "message": format!("Back-off pulling image \"{}\"", r.image)}});
        set_status(
            world,
            &ns,
            pod,
            &node,
            created,
            "Pending",
            &CState::new(state, false, false),
        );
        scheduled_event(world, &ns, pod, &node, created);
        let (attempts, last) = pull_attempts(created);
        let first = created - 0.02;
        let img = &r.image;
        let obj = ("Pod", ns.as_str(), pod.as_str());
        let k = "kubelet";
        world.event(
            obj,
            "Normal",
            "Pulling",
            &format!("Pulling image \"{img}\""),
            k,
            first,
            last,
            attempts,
        );
        world.event(
            obj,
            "Warning",
            "Failed",
            &format!("Failed to pull image \"{img}\": {err}"),
            k,
            first - 0.01,
            last - 0.01,
            attempts,
        );
        world.event(
            obj,
            "Warning",
            "Failed",
            "Error: ErrImagePull",
            k,
            first - 0.01,
            last - 0.01,
            attempts,
        );
        let backoffs = (created * 3.0).max(1.0) as u64;
        world.event(
            obj,
            "Normal",
            "BackOff",
            &format!("Back-off pulling image \"{img}\""),
            k,
            first - 0.05,
            0.2,
            backoffs,
        );
        world.event(
            obj,
            "Warning",
            "Failed",
            "Error: ImagePullBackOff",
            k,
            first - 0.05,
            0.2,
            backoffs,
        );
    }
    reconcile(world, &ns, &app, f.since);
    progressing(world, &ns, &app, &r.rs, f.since, true);
    Ok(())
}

/// Pull attempts the kubelet makes in `minutes` (back-off 10 s doubling to 5 min), and
/// when the last one was (minutes before capture).
fn pull_attempts(minutes: f64) -> (u64, f64) {
    let total = minutes * 60.0;
    let (mut t, mut n, mut delay) = (0.0, 1u64, 10.0);
    while t + delay <= total {
        t += delay;
        n += 1;
        delay = (delay * 2.0f64).min(300.0);
    }
    (n, (total - t) / 60.0)
}

/// Registry, repository path and tag of an image reference, as containerd normalises it.
fn image_parts(image: &str) -> (String, String, String) {
    let (name, tag) = match image.rsplit_once(':') {
        Some((n, t)) if !t.contains('/') => (n.to_string(), t.to_string()),
        _ => (image.to_string(), "latest".to_string()),
    };
    let (host, path) = match name.split_once('/') {
        Some((h, p)) if h.contains('.') || h.contains(':') => (h.to_string(), p.to_string()),
        Some(_) => ("docker.io".to_string(), name.clone()),
        None => ("docker.io".to_string(), format!("library/{name}")),
    };
    (host, path, tag)
}

/// The CRI error the kubelet quotes after `Failed to pull image "…": `.
fn pull_error(cause: &str, image: &str) -> Result<String, String> {
    let (host, path, tag) = image_parts(image);
    let full = format!("{host}/{path}:{tag}");
    let head = format!(
        "failed to pull and unpack image \"{full}\": failed to resolve reference \"{full}\""
    );
    Ok(match cause {
        "bad-tag" => format!("rpc error: code = NotFound desc = {head}: {full}: not found"),
        "no-pull-secret" if host == "ghcr.io" => format!(
            "rpc error: code = Unknown desc = {head}: failed to authorize: failed to fetch anonymous token: unexpected status from GET request to https://ghcr.io/token?scope=repository%3A{}%3Apull&service=ghcr.io: 401 Unauthorized",
            path.replace('/', "%2F")
        ),
        "no-pull-secret" if host == "docker.io" => format!(
            "rpc error: code = Unknown desc = {head}: pull access denied, repository does not exist or may require authorization: server message: insufficient_scope: authorization failed"
        ),
        "no-pull-secret" => format!(
            "rpc error: code = Unknown desc = {head}: unexpected status from HEAD request to https://{host}/v2/{path}/manifests/{tag}: 401 Unauthorized"
        ),
        "timeout" => format!(
            "rpc error: code = Unknown desc = {head}: failed to do request: Head \"https://{host}/v2/{path}/manifests/{tag}\": dial tcp 140.82.121.34:443: i/o timeout"
        ),
        other => {
            return Err(format!(
                "unknown image-pull cause {other:?} (bad-tag, no-pull-secret, timeout)"
            ));
        }
    })
}

/// The registry is private: a dockerconfigjson Secret exists and every workload of the
/// namespace pulling from the app's registry references it.
fn require_pull_secret(world: &mut World, ns: &str, app: &str, secret: &str) -> Result<(), String> {
    let image = world
        .get("Deployment", ns, app)
        .and_then(|d| d["spec"]["template"]["spec"]["containers"][0]["image"].as_str())
        .ok_or_else(|| format!("no Deployment {ns}/{app}"))?
        .to_string();
    let prefix = match image.rsplit_once('/') {
        Some((p, _)) => format!("{p}/"),
        None => return Err(format!("{image} is not in a private registry path")),
    };
    if world.get("Secret", ns, secret).is_none() {
        let created = world.at(60.0 * 24.0 * 180.0);
        let uid = world.rng.uid();
        world.add(json!({"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/dockerconfigjson",
            "metadata": {"name": secret, "namespace": ns, "uid": uid, "creationTimestamp": created, "resourceVersion": "4121",
                "annotations": {"intel.kubectl.io/redacted": "data"}},
            "data": {".dockerconfigjson": ""}}));
    }
    let paths: &[(&str, &[&str])] = &[
        ("Deployment", &["spec", "template", "spec"]),
        ("StatefulSet", &["spec", "template", "spec"]),
        ("DaemonSet", &["spec", "template", "spec"]),
        ("ReplicaSet", &["spec", "template", "spec"]),
        ("Job", &["spec", "template", "spec"]),
        (
            "CronJob",
            &["spec", "jobTemplate", "spec", "template", "spec"],
        ),
        ("Pod", &["spec"]),
    ];
    for (kind, path) in paths {
        for (_, name) in world.names(kind, Some(ns)) {
            let Some(obj) = world.get_mut(kind, ns, &name) else {
                continue;
            };
            let mut spec = &mut *obj;
            for p in *path {
                spec = &mut spec[*p];
            }
            let pulls = spec["containers"].as_array().is_some_and(|cs| {
                cs.iter()
                    .any(|c| c["image"].as_str().is_some_and(|i| i.starts_with(&prefix)))
            });
            if pulls {
                spec["imagePullSecrets"] = json!([{"name": secret}]);
            }
        }
    }
    Ok(())
}

/// The near-miss: pulls failed until `after` minutes after `since` (the image appeared, the
/// registry recovered); each affected pod succeeded at its next retry.
fn pull_recovered(world: &mut World, f: &Fault, cause: &str, after: f64) -> Result<(), String> {
    if f.str("version").is_some() {
        super::core::rollout(world, f)?;
    }
    let ns = f.namespace.clone();
    let n = f.num("pods").unwrap_or(1.0) as usize;
    let fixed = f.since - after;
    if fixed <= 0.0 {
        return Err(format!("recoveredAfter {after} is not before capture"));
    }
    let mut touched = 0;
    for pod in super::core::pods(world, f)?.into_iter().take(n) {
        let created = pod_created(world, &ns, &pod);
        if created <= fixed {
            continue;
        }
        touched += 1;
        let (container, image) = pod_container(world, &ns, &pod);
        let err = pull_error(cause, &image)?;
        // Attempts at 0, 10, 30, 70… s after creation; the first one after the fix works.
        let (mut t, mut delay, mut failures) = (0.0f64, 10.0f64, 0u64);
        while created - t / 60.0 > fixed {
            failures += 1;
            t += delay;
            delay = (delay * 2.0).min(300.0);
        }
        let last_fail = created - (t - delay / 2.0) / 60.0;
        let ok = created - t / 60.0;
        remove_events(world, &ns, &pod, "Pulled");
        let obj = ("Pod", ns.as_str(), pod.as_str());
        let k = "kubelet";
        world.event(
            obj,
            "Normal",
            "Pulling",
            &format!("Pulling image \"{image}\""),
            k,
            created - 0.01,
            ok,
            failures + 1,
        );
        for msg in [
            format!("Failed to pull image \"{image}\": {err}"),
            "Error: ErrImagePull".to_string(),
        ] {
            world.event(
                obj,
                "Warning",
                "Failed",
                &msg,
                k,
                created - 0.02,
                last_fail,
                failures,
            );
        }
        let backoffs = (failures * 2).saturating_sub(1).max(1);
        world.event(
            obj,
            "Normal",
            "BackOff",
            &format!("Back-off pulling image \"{image}\""),
            k,
            created - 0.03,
            ok + 0.02,
            backoffs,
        );
        world.event(
            obj,
            "Warning",
            "Failed",
            "Error: ImagePullBackOff",
            k,
            created - 0.03,
            ok + 0.02,
            backoffs,
        );
        let secs = 1.1 + ((image.len() * 37 + failures as usize * 11) % 2900) as f64 / 1000.0;
        let done = ok - secs / 60.0;
        world.event(
            obj,
            "Normal",
            "Pulled",
            &format!(
                "Successfully pulled image \"{image}\" in {secs:.3}s ({secs:.3}s including waiting). Image size: {} bytes.",
                41_000_000 + image.len() as u64 * 131_071
            ),
            k,
            done,
            done,
            1,
        );
        for (reason, msg) in [
            ("Created", format!("Created container {container}")),
            ("Started", format!("Started container {container}")),
        ] {
            world.event(obj, "Normal", reason, &msg, k, done - 0.01, done - 0.01, 1);
        }
        restart_at(world, &ns, &pod, &container, done - 0.01);
    }
    if touched == 0 {
        return Err("no pod of the app existed before the pull recovered".into());
    }
    if f.str("version").is_some() {
        rollout_done(world, &ns, f.app()?, fixed);
    }
    reconcile(world, &ns, f.app()?, fixed);
    Ok(())
}

/// After a core rollout: what the kube-scheduler and the deployment controller would also
/// have said (the node in Scheduled events, the Progressing condition of the new ReplicaSet).
fn rollout_done(world: &mut World, ns: &str, app: &str, done: f64) {
    for pod in world.pods_of(ns, app) {
        let node = world
            .get("Pod", ns, &pod)
            .and_then(|p| p["spec"]["nodeName"].as_str())
            .unwrap_or_default()
            .to_string();
        let bare = format!("Successfully assigned {ns}/{pod}");
        for (_, name) in world.names("Event", Some(ns)) {
            if let Some(e) = world.get_mut("Event", ns, &name) {
                if e["involvedObject"]["name"] == pod.as_str() && e["message"] == bare.as_str() {
                    e["message"] = json!(format!("{bare} to {node}"));
                }
            }
        }
    }
    let Ok(rs) = current_rs(world, ns, app) else {
        return;
    };
    let at = world.at(done);
    if let Some(d) = world.get_mut("Deployment", ns, app) {
        for c in d["status"]["conditions"]
            .as_array_mut()
            .into_iter()
            .flatten()
            .filter(|c| c["type"] == "Progressing")
        {
            c["reason"] = json!("NewReplicaSetAvailable");
            c["message"] = json!(format!("ReplicaSet \"{rs}\" has successfully progressed."));
            c["lastUpdateTime"] = json!(at);
        }
    }
}

/// The pod's container (re)started at `ok` minutes before capture and runs since.
fn restart_at(world: &mut World, ns: &str, pod: &str, container: &str, ok: f64) {
    let (started, ready) = (world.at(ok), world.at(ok - 0.1));
    if let Some(p) = world.get_mut("Pod", ns, pod) {
        for c in p["status"]["containerStatuses"]
            .as_array_mut()
            .into_iter()
            .flatten()
        {
            c["state"] = json!({"running": {"startedAt": started}});
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
    if let Some(s) = world.signals_mut(ns, pod, container) {
        s.started_minutes_ago = ok;
    }
}

// ---------------------------------------------------------------------------------------
// config-error

/// `config-error`: a rollout whose container reads an env var from a ConfigMap or Secret key
/// that is not there. The new pods wait in `CreateContainerConfigError` (`couldn't find key
/// K in ConfigMap ns/name`, or `configmap "name" not found` / `secret "name" not found` when
/// the object itself is missing), the kubelet repeats `Error: …` events; old pods serve.
///
/// Params: `source` (`configmap`, default, or `secret`), `missing` (the key; required unless
/// `absent`), `object` (default `<app>-config` / `<app>-credentials`), `absent` (the object
/// does not exist), `env` (the variable's name, default the key), plus the rollout params.
/// With `recoveredAfter` (minutes, needs `version`) it is a near-miss: a full rollout whose
/// pods failed this way until the key (with `value`) or the object appeared that much later.
fn config_error(world: &mut World, topo: &mut Topology, f: &Fault) -> Result<(), String> {
    let ns = f.namespace.clone();
    let app = f.app()?.to_string();
    let secret = match f.str("source").unwrap_or("configmap") {
        "configmap" => false,
        "secret" => true,
        other => {
            return Err(format!(
                "unknown config-error source {other:?} (configmap, secret)"
            ));
        }
    };
    let (kind, ref_field) = if secret {
        ("Secret", "secretKeyRef")
    } else {
        ("ConfigMap", "configMapKeyRef")
    };
    let object = f.str("object").map(str::to_string).unwrap_or_else(|| {
        if secret {
            format!("{app}-credentials")
        } else {
            format!("{app}-config")
        }
    });
    let absent = f.params.get("absent").and_then(Value::as_bool) == Some(true);
    let key = match (f.str("missing"), absent) {
        (Some(k), _) => k.to_string(),
        (None, true) => "config".to_string(),
        (None, false) => return Err("config-error needs `missing` (the key)".into()),
    };
    let env = f.str("env").unwrap_or(&key).to_string();
    let recovered = f.num("recoveredAfter");
    match (world.get(kind, &ns, &object), absent) {
        (Some(_), true) if recovered.is_none() => {
            return Err(format!(
                "{kind} {ns}/{object} exists; `absent` says it does not"
            ));
        }
        (None, false) => return Err(format!("no {kind} {ns}/{object} (use `absent: true`)")),
        (Some(o), false) if !o["data"][&key].is_null() && recovered.is_none() => {
            return Err(format!("{kind} {ns}/{object} already has key {key}"));
        }
        _ => {}
    }
    let message = match (absent, secret) {
        (true, false) => format!("configmap \"{object}\" not found"),
        (true, true) => format!("secret \"{object}\" not found"),
        (false, false) => format!("couldn't find key {key} in ConfigMap {ns}/{object}"),
        (false, true) => format!("couldn't find key {key} in Secret {ns}/{object}"),
    };
    let var = json!({"name": env, "valueFrom": {ref_field: {"name": object, "key": key}}});
    let add_var = |t: &mut Value| {
        if let Some(list) = t["spec"]["containers"][0]["env"].as_array_mut() {
            list.retain(|e| e["name"] != env.as_str());
            list.push(var.clone());
        } else {
            t["spec"]["containers"][0]["env"] = json!([var.clone()]);
        }
    };

    if let Some(after) = recovered {
        if f.str("version").is_none() {
            return Err("config-error with recoveredAfter needs `version` (the rollout)".into());
        }
        super::core::rollout(world, f)?;
        patch_current_template(world, &ns, &app, &add_var);
        let fixed = f.since - after;
        // The object or key arrives just before the pods finally start.
        let value = f.str("value").unwrap_or("enabled").to_string();
        let fixed_at = world.at(fixed + 0.05);
        let uid = world.rng.uid();
        let obj = world.get(kind, &ns, &object).cloned().unwrap_or_else(|| {
            json!({"apiVersion": "v1", "kind": kind, "metadata": {"name": object, "namespace": ns, "uid": uid,
                "labels": {"app": app}, "resourceVersion": "1"}, "data": {}})
        });
        let mut obj = obj;
        obj["data"][&key] = json!(if secret { "" } else { value.as_str() });
        if world.get(kind, &ns, &object).is_none() || absent {
            obj["metadata"]["creationTimestamp"] = json!(fixed_at);
        }
        obj["metadata"]["managedFields"] = json!([{"manager": "argocd-controller", "operation": "Apply", "apiVersion": "v1",
            "time": fixed_at, "fieldsType": "FieldsV1", "fieldsV1": {"f:data": {format!("f:{key}"): {}}}}]);
        world.add(obj);
        for pod in super::core::pods(world, f)? {
            let created = pod_created(world, &ns, &pod);
            if created <= fixed {
                continue;
            }
            let (container, image) = pod_container(world, &ns, &pod);
            let tries = ((created - fixed) * 1.5).max(1.0) as u64 + 1;
            let obj = ("Pod", ns.as_str(), pod.as_str());
            world.event(
                obj,
                "Warning",
                "Failed",
                &format!("Error: {message}"),
                "kubelet",
                created - 0.1,
                fixed + 0.1,
                tries,
            );
            world.event(
                obj,
                "Normal",
                "Pulled",
                &format!("Container image \"{image}\" already present on machine"),
                "kubelet",
                created - 0.3,
                fixed,
                tries,
            );
            world.event(
                obj,
                "Normal",
                "Created",
                &format!("Created container {container}"),
                "kubelet",
                fixed,
                fixed,
                1,
            );
            world.event(
                obj,
                "Normal",
                "Started",
                &format!("Started container {container}"),
                "kubelet",
                fixed,
                fixed,
                1,
            );
            restart_at(world, &ns, &pod, &container, fixed - 0.01);
        }
        rollout_done(world, &ns, &app, fixed - 0.1);
        reconcile(world, &ns, &app, fixed);
        return Ok(());
    }

    let r = rollout_stuck(world, topo, f, &mut |t: &mut Value| add_var(t))?;
    for pod in &r.new_pods {
        let created = pod_created(world, &ns, pod);
        let node = place(world, topo, &ns, pod)?;
        let state =
            json!({"waiting": {"reason": "CreateContainerConfigError", "message": message}});
        set_status(
            world,
            &ns,
            pod,
            &node,
            created,
            "Pending",
            &CState::new(state, false, false),
        );
        scheduled_event(world, &ns, pod, &node, created);
        let obj = ("Pod", ns.as_str(), pod.as_str());
        let tries = (created * 1.5).max(1.0) as u64 + 1;
        if r.image_changed {
            pulled_fresh(world, &ns, pod, &r.image, created - 0.01);
        }
        world.event(
            obj,
            "Normal",
            "Pulled",
            &format!("Container image \"{}\" already present on machine", r.image),
            "kubelet",
            created - 0.2,
            0.4,
            if r.image_changed { tries - 1 } else { tries },
        );
        world.event(
            obj,
            "Warning",
            "Failed",
            &format!("Error: {message}"),
            "kubelet",
            created - 0.02,
            0.4,
            tries,
        );
    }
    reconcile(world, &ns, &app, f.since);
    progressing(world, &ns, &app, &r.rs, f.since, true);
    Ok(())
}

// ---------------------------------------------------------------------------------------
// pending

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
fn pending(world: &mut World, topo: &mut Topology, f: &Fault) -> Result<(), String> {
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

/// The near-miss: a pod that waited a few seconds for its generic ephemeral volume's claim.
fn ephemeral_volume(world: &mut World, f: &Fault) -> Result<(), String> {
    let ns = f.namespace.clone();
    let app = f.app()?.to_string();
    let after = f.num("recoveredAfter").unwrap_or(0.08);
    let pod = super::core::pods(world, f)?
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

// ---------------------------------------------------------------------------------------
// probe

/// `probe`: a probe that is wrong for the app.
///
/// - `cause: readiness-wrong-port`: the change points the readiness probe at `port`
///   (default the container port + 1) where nothing listens: the new pods run but stay 0/1
///   Ready (`Readiness probe failed: … connect: connection refused`), their EndpointSlice
///   endpoints are not ready; with `strategy: Recreate` no old pod is left to serve and the
///   Service has no ready endpoint at all.
/// - `cause: liveness-slow-start`: the change sets the liveness probe's
///   `initialDelaySeconds` (default 5) while the new version needs `startupSeconds` (default
///   110) to load its `model` (default `collab-filter-v4`): the kubelet kills each start
///   (`Liveness probe failed: HTTP probe failed with statuscode: 503`, `Container x failed
///   liveness probe, will be restarted`), the app ignores SIGTERM while loading and dies by
///   SIGKILL (`Error`, exit 137) after the grace period, then CrashLoopBackOff; the previous
///   log shows it still loading model shards.
fn probe(world: &mut World, topo: &mut Topology, f: &Fault) -> Result<(), String> {
    match f.str("cause") {
        Some("readiness-wrong-port") => readiness_wrong_port(world, topo, f),
        Some("liveness-slow-start") => liveness_slow_start(world, topo, f),
        other => Err(format!(
            "unknown probe cause {other:?} (readiness-wrong-port, liveness-slow-start)"
        )),
    }
}

fn readiness_wrong_port(world: &mut World, topo: &mut Topology, f: &Fault) -> Result<(), String> {
    let ns = f.namespace.clone();
    let app = f.app()?.to_string();
    let c0 = world
        .get("Deployment", &ns, &app)
        .map(|d| d["spec"]["template"]["spec"]["containers"][0].clone())
        .ok_or_else(|| format!("no Deployment {ns}/{app}"))?;
    let cport = c0["ports"][0]["containerPort"].as_u64().unwrap_or(8080);
    let port = f.num("port").map(|p| p as u64).unwrap_or(cport + 1);
    if port == cport {
        return Err(format!("port {port} is the port {app} listens on"));
    }
    let http = c0["readinessProbe"]["httpGet"].is_object();
    let path = c0["readinessProbe"]["httpGet"]["path"]
        .as_str()
        .unwrap_or("/")
        .to_string();
    let r = rollout_stuck(world, topo, f, &mut |t: &mut Value| {
        let p = &mut t["spec"]["containers"][0]["readinessProbe"];
        if http {
            p["httpGet"]["port"] = json!(port);
        } else {
            p["tcpSocket"]["port"] = json!(port);
        }
    })?;
    for pod in &r.new_pods {
        let created = pod_created(world, &ns, pod);
        let node = place(world, topo, &ns, pod)?;
        scheduled_event(world, &ns, pod, &node, created);
        let started = start_events(world, &ns, pod, &r, created);
        let state = json!({"running": {"startedAt": world.at(started)}});
        set_status(
            world,
            &ns,
            pod,
            &node,
            created,
            "Running",
            &CState::new(state, false, true),
        );
        if let Some(sig) = &r.sig {
            let mut s = sig.clone();
            s.rps = 0.0;
            add_pod_signals(world, s, &ns, pod, &node, started);
        }
        let ip = world
            .get("Pod", &ns, pod)
            .and_then(|p| p["status"]["podIP"].as_str())
            .unwrap_or_default()
            .to_string();
        let msg = if http {
            format!(
                "Get \"http://{ip}:{port}{path}\": dial tcp {ip}:{port}: connect: connection refused"
            )
        } else {
            format!("dial tcp {ip}:{port}: connect: connection refused")
        };
        world.probe_failing(&ns, pod, &r.container, "Readiness", &msg, started - 0.02);
    }
    reconcile(world, &ns, &app, f.since);
    progressing(world, &ns, &app, &r.rs, f.since, true);
    Ok(())
}

fn liveness_slow_start(world: &mut World, topo: &mut Topology, f: &Fault) -> Result<(), String> {
    let ns = f.namespace.clone();
    let app = f.app()?.to_string();
    let dep = world
        .get("Deployment", &ns, &app)
        .cloned()
        .ok_or_else(|| format!("no Deployment {ns}/{app}"))?;
    let tspec = &dep["spec"]["template"]["spec"];
    let live = &tspec["containers"][0]["livenessProbe"];
    if !live.is_object() {
        return Err(format!("{app} has no liveness probe"));
    }
    let delay = f.num("initialDelaySeconds").unwrap_or(5.0);
    let needs = f.num("startupSeconds").unwrap_or(110.0);
    let period = live["periodSeconds"].as_f64().unwrap_or(10.0);
    let threshold = live["failureThreshold"].as_f64().unwrap_or(3.0);
    let grace = tspec["terminationGracePeriodSeconds"]
        .as_f64()
        .unwrap_or(30.0);
    let kill = delay + period * threshold;
    if kill >= needs {
        return Err(format!(
            "the liveness probe gives up after {kill}s but the app is up after {needs}s: no kill"
        ));
    }
    let model = f.str("model").unwrap_or("collab-filter-v4").to_string();
    let r = rollout_stuck(world, topo, f, &mut |t: &mut Value| {
        t["spec"]["containers"][0]["livenessProbe"]["initialDelaySeconds"] = json!(delay as u64);
    })?;
    let run = kill + grace;
    let shards = 9u32;
    let per_shard = needs / shards as f64;
    for pod in &r.new_pods {
        let created = pod_created(world, &ns, pod);
        let node = place(world, topo, &ns, pod)?;
        let uid = world
            .get("Pod", &ns, pod)
            .and_then(|p| p["metadata"]["uid"].as_str())
            .unwrap_or_default()
            .to_string();
        // The container's lives: start, killed `run` s later, back-off, again.
        let horizon = created * 60.0;
        let mut starts = vec![4.0];
        let mut backoff = 10.0f64;
        loop {
            let next = starts[starts.len() - 1] + run + backoff;
            if next > horizon {
                break;
            }
            starts.push(next);
            backoff = (backoff * 2.0).min(300.0);
        }
        let last = starts[starts.len() - 1];
        let running = horizon < last + run;
        let ago = |s: f64| created - s / 60.0;
        let restarts = starts.len() as u64 - 1;
        let kills = if running { restarts } else { restarts + 1 };
        let c = r.container.clone();
        let (state, term) = if running {
            let prev = starts.len().checked_sub(2).map(|i| starts[i]);
            (
                json!({"running": {"startedAt": world.at(ago(last))}}),
                prev.map(|p| (p, p + run)),
            )
        } else {
            (
                json!({"waiting": {"reason": "CrashLoopBackOff",
                    "message": format!("back-off {} restarting failed container={c} pod={pod}_{ns}({uid})", go_duration(backoff))}}),
                Some((last, last + run)),
            )
        };
        let mut cs = CState::new(state, false, running);
        cs.restarts = restarts;
        cs.image_id = true;
        if let Some((s, e)) = term {
            cs.last = Some(json!({"terminated": {"reason": "Error", "exitCode": 137,
                "startedAt": world.at(ago(s)), "finishedAt": world.at(ago(e)),
                "containerID": format!("containerd://{:016x}{:016x}", world.rng.next_u64(), world.rng.next_u64())}}));
        }
        set_status(world, &ns, pod, &node, created, "Running", &cs);
        scheduled_event(world, &ns, pod, &node, created);
        if r.image_changed {
            pulled_fresh(world, &ns, pod, &r.image, created - 0.01);
        }
        let obj = ("Pod", ns.as_str(), pod.as_str());
        let n = starts.len() as u64;
        let k = "kubelet";
        let first_kill = ago(starts[0] + kill);
        let last_kill = ago(if running {
            starts[starts.len() - 2] + kill
        } else {
            last + kill
        });
        world.event(
            obj,
            "Normal",
            "Created",
            &format!("Created container {c}"),
            k,
            ago(starts[0]),
            ago(last),
            n,
        );
        world.event(
            obj,
            "Normal",
            "Started",
            &format!("Started container {c}"),
            k,
            ago(starts[0]),
            ago(last),
            n,
        );
        if n > 1 {
            world.event(
                obj,
                "Normal",
                "Pulled",
                &format!("Container image \"{}\" already present on machine", r.image),
                k,
                ago(starts[1]),
                ago(last),
                n - 1,
            );
        }
        if kills > 0 {
            world.event(
                obj,
                "Warning",
                "Unhealthy",
                "Liveness probe failed: HTTP probe failed with statuscode: 503",
                k,
                ago(starts[0] + delay + period),
                last_kill,
                kills * threshold as u64,
            );
            world.event(
                obj,
                "Normal",
                "Killing",
                &format!("Container {c} failed liveness probe, will be restarted"),
                k,
                first_kill,
                last_kill,
                kills,
            );
        }
        world.event(
            obj,
            "Warning",
            "Unhealthy",
            "Readiness probe failed: HTTP probe failed with statuscode: 503",
            k,
            ago(starts[0] + period),
            if running { 0.1 } else { ago(last + kill) },
            (n as f64 * kill / period).max(1.0) as u64,
        );
        if restarts > 0 || !running {
            world.event(
                obj,
                "Warning",
                "BackOff",
                &format!("Back-off restarting failed container {c} in pod {pod}_{ns}({uid})"),
                k,
                ago(starts[0] + run + 1.0),
                if running { ago(last) + 0.05 } else { 0.2 },
                (restarts * 2).max(1),
            );
        }
        // What the app wrote in its last lives: loading shards until it was killed.
        let load_lines = |start: f64, until: f64| -> Vec<LogLine> {
            let mut out = Vec::new();
            let at = |s: f64| (ago(start + s)).max(0.0);
            out.push(LogLine {
                minutes_ago: at(0.4),
                text: format!("{{\"level\":\"info\",\"msg\":\"loading model\",\"model\":\"{model}\",\"shards\":{shards},\"path\":\"/models/{model}\"}}"),
            });
            for i in 1..=shards {
                let t = per_shard * i as f64;
                if t >= until {
                    break;
                }
                out.push(LogLine {
                    minutes_ago: at(t),
                    text: format!(
                        "{{\"level\":\"info\",\"msg\":\"loading model shard {i}/{shards}\",\"model\":\"{model}\",\"elapsed_ms\":{}}}",
                        (t * 1000.0) as u64
                    ),
                });
            }
            if until >= kill {
                out.push(LogLine {
                    minutes_ago: at(kill + 0.01),
                    text: "{\"level\":\"info\",\"msg\":\"received signal, shutting down\",\"signal\":\"terminated\"}".into(),
                });
                out.push(LogLine {
                    minutes_ago: at(kill + 0.02),
                    text: format!("{{\"level\":\"warn\",\"msg\":\"model loader still running, waiting for it before exit\",\"grace_period\":\"{}s\"}}", grace as u64),
                });
            }
            out
        };
        if let Some(sig) = &r.sig {
            let mut s = sig.clone();
            s.rps = 0.0;
            s.running = running;
            let cur_start = if running { last } else { starts[0] };
            s.started_minutes_ago = ago(cur_start);
            if let Some((ps, pe)) = term {
                s.previous = Some(Previous {
                    started_minutes_ago: ago(ps),
                    ended_minutes_ago: ago(pe),
                    last_lines: Vec::new(),
                });
                s.extra_lines.extend(load_lines(ps, run));
            }
            if running {
                s.extra_lines.extend(load_lines(last, horizon - last));
            }
            add_pod_signals(world, s, &ns, pod, &node, ago(cur_start));
            if !running {
                if let Some(x) = world.signals_mut(&ns, pod, &c) {
                    x.running = false;
                }
            }
        }
    }
    reconcile(world, &ns, &app, f.since);
    progressing(world, &ns, &app, &r.rs, f.since, true);
    Ok(())
}

/// A Go duration as the kubelet prints it (`10s`, `1m20s`, `5m0s`).
fn go_duration(secs: f64) -> String {
    let s = secs.round() as u64;
    if s < 60 {
        format!("{s}s")
    } else {
        format!("{}m{}s", s / 60, s % 60)
    }
}

// ---------------------------------------------------------------------------------------
// scale, past-restart, reconcile

/// `scale`: the app is scaled to `replicas` at `since` — by its HPA when it has one
/// (SuccessfulRescale; `maxReplicas` raises the HPA's maximum, `utilization` its reported
/// CPU) — and the new pods land where the scheduler would put them (Pending, with its
/// message, where nothing fits).
fn scale_fault(world: &mut World, topo: &mut Topology, f: &Fault) -> Result<(), String> {
    let replicas = f.num("replicas").ok_or("scale needs `replicas`")? as u64;
    scale(world, topo, f, replicas, replicas).map(|_| ())
}

/// `past-restart`: the first `pods` (1) pods of the app restarted `restarts` (1) times at
/// `since` — long ago, say 2880 for two days — and have run fine since: restart count,
/// `lastState.terminated` (`reason` Error, `exitCode` 1), and a previous log ending with
/// `message` (its last lines). The events of the time have expired.
fn past_restart(world: &mut World, f: &Fault) -> Result<(), String> {
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
    for pod in super::core::pods(world, f)?.into_iter().take(n) {
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
fn reconcile_fault(world: &mut World, f: &Fault) -> Result<(), String> {
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

// ---------------------------------------------------------------------------------------
// The stuck rollout and the scale-up

struct Rollout {
    rs: String,
    image: String,
    container: String,
    image_changed: bool,
    new_pods: Vec<String>,
    /// Signals of one of the app's containers before the change, for new pods' logs.
    sig: Option<ContainerSignals>,
}

/// A new revision of a Deployment whose pods will not become available: the new
/// ReplicaSet scaled to what the strategy allows, the old one keeping the rest, the
/// controllers' events. New pods are created unscheduled; callers place them.
fn rollout_stuck(
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
    let old_rs: Vec<String> = owned_rs(world, &ns, &app)
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

struct ScaleOut {
    pending: Vec<String>,
}

/// Scales the app's current ReplicaSet: creates pods up to `create` (placing each where it
/// fits, or leaving it Pending with the scheduler's message) and sets the desired count to
/// `desired`; the HPA, when there is one, is what asked.
fn scale(
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
fn sts_update(
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

// ---------------------------------------------------------------------------------------
// Controllers' view: status from pods

/// Recomputes ReplicaSet/Deployment/StatefulSet status, the EndpointSlice and the PDB of an
/// app from its pods, as the controllers would. `since`: when a flipped condition flipped.
fn reconcile(world: &mut World, ns: &str, app: &str, since: f64) {
    struct P {
        name: String,
        owner: String,
        live: bool,
        ready: bool,
        ip: Option<String>,
        node: Option<String>,
    }
    let pods: Vec<P> = world
        .pods_of(ns, app)
        .into_iter()
        .filter_map(|name| {
            let p = world.get("Pod", ns, &name)?;
            let phase = p["status"]["phase"].as_str().unwrap_or("Pending");
            Some(P {
                owner: p["metadata"]["ownerReferences"][0]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                live: phase != "Succeeded" && phase != "Failed",
                ready: p["status"]["conditions"].as_array().is_some_and(|cs| {
                    cs.iter()
                        .any(|c| c["type"] == "Ready" && c["status"] == "True")
                }),
                ip: p["status"]["podIP"].as_str().map(str::to_string),
                node: p["spec"]["nodeName"].as_str().map(str::to_string),
                name,
            })
        })
        .collect();
    let at = world.at(since);
    if let Some(dep) = world.get("Deployment", ns, app).cloned() {
        let rss = owned_rs(world, ns, app);
        let (mut total_spec, mut actual, mut ready, mut updated, mut newest) =
            (0u64, 0u64, 0u64, 0u64, (0u64, String::new()));
        for r in &rss {
            let rev = world
                .get("ReplicaSet", ns, r)
                .and_then(|x| {
                    x["metadata"]["annotations"]["deployment.kubernetes.io/revision"].as_str()
                })
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            if rev >= newest.0 {
                newest = (rev, r.clone());
            }
        }
        for r in &rss {
            let n = pods.iter().filter(|p| p.live && &p.owner == r).count() as u64;
            let rd = pods
                .iter()
                .filter(|p| p.live && p.ready && &p.owner == r)
                .count() as u64;
            if let Some(x) = world.get_mut("ReplicaSet", ns, r) {
                total_spec += x["spec"]["replicas"].as_u64().unwrap_or(0);
                x["status"]["replicas"] = json!(n);
                x["status"]["fullyLabeledReplicas"] = json!(n);
                x["status"]["readyReplicas"] = json!(rd);
                x["status"]["availableReplicas"] = json!(rd);
                if let Some(s) = x["status"].as_object_mut() {
                    if n == 0 {
                        s.remove("fullyLabeledReplicas");
                        s.remove("readyReplicas");
                        s.remove("availableReplicas");
                    }
                }
            }
            actual += n;
            ready += rd;
            if *r == newest.1 {
                updated = n;
            }
        }
        let desired = dep["spec"]["replicas"].as_u64().unwrap_or(1);
        let max_unavail = if dep["spec"]["strategy"]["type"] == "Recreate" {
            0
        } else {
            match &dep["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] {
                Value::Number(n) => n.as_u64().unwrap_or(0),
                Value::String(s) => s
                    .trim_end_matches('%')
                    .parse::<f64>()
                    .map(|p| (desired as f64 * p / 100.0).floor() as u64)
                    .unwrap_or(0),
                _ => (desired as f64 * 0.25).floor() as u64,
            }
        };
        let ok = ready >= desired.saturating_sub(max_unavail);
        if let Some(d) = world.get_mut("Deployment", ns, app) {
            let st = &mut d["status"];
            st["replicas"] = json!(actual);
            st["updatedReplicas"] = json!(updated);
            st["readyReplicas"] = json!(ready);
            st["availableReplicas"] = json!(ready);
            let unavailable = total_spec.saturating_sub(ready);
            if let Some(s) = st.as_object_mut() {
                if unavailable > 0 {
                    s.insert("unavailableReplicas".into(), json!(unavailable));
                } else {
                    s.remove("unavailableReplicas");
                }
                if ready == 0 {
                    s.remove("readyReplicas");
                    s.remove("availableReplicas");
                }
            }
            if let Some(cs) = st["conditions"].as_array_mut() {
                for c in cs.iter_mut().filter(|c| c["type"] == "Available") {
                    let was = c["status"] == "True";
                    if was != ok {
                        c["lastTransitionTime"] = json!(at);
                        c["lastUpdateTime"] = json!(at);
                    }
                    c["status"] = json!(if ok { "True" } else { "False" });
                    c["reason"] = json!(if ok {
                        "MinimumReplicasAvailable"
                    } else {
                        "MinimumReplicasUnavailable"
                    });
                    c["message"] = json!(if ok {
                        "Deployment has minimum availability."
                    } else {
                        "Deployment does not have minimum availability."
                    });
                }
            }
        }
    }
    if world.get("StatefulSet", ns, app).is_some() {
        let n = pods.iter().filter(|p| p.live).count() as u64;
        let rd = pods.iter().filter(|p| p.live && p.ready).count() as u64;
        if let Some(s) = world.get_mut("StatefulSet", ns, app) {
            let st = &mut s["status"];
            st["replicas"] = json!(n);
            st["readyReplicas"] = json!(rd);
            st["availableReplicas"] = json!(rd);
            let updated = if st["updateRevision"].is_null() { n } else { 0 };
            if !st["updateRevision"].is_null() {
                st["currentReplicas"] = json!(n.saturating_sub(1));
                st["updatedReplicas"] = json!(n.min(1).max(updated));
            }
            if let Some(o) = st.as_object_mut() {
                if rd == 0 {
                    o.remove("readyReplicas");
                }
            }
        }
    }
    // EndpointSlice of the app's Service.
    let zones: BTreeMap<String, String> = node_views(world)
        .into_iter()
        .map(|n| (n.name, n.zone))
        .collect();
    let endpoints: Vec<Value> = pods
        .iter()
        .filter(|p| p.live && p.ip.is_some())
        .map(|p| {
            let node = p.node.clone().unwrap_or_default();
            json!({"addresses": [p.ip.clone().unwrap_or_default()],
                "conditions": {"ready": p.ready, "serving": p.ready, "terminating": false},
                "nodeName": node, "zone": zones.get(&node).cloned().unwrap_or_default(),
                "targetRef": {"kind": "Pod", "namespace": ns, "name": p.name}})
        })
        .collect();
    let slices: Vec<String> = world
        .names("EndpointSlice", Some(ns))
        .into_iter()
        .map(|(_, n)| n)
        .filter(|n| {
            world
                .get("EndpointSlice", ns, n)
                .is_some_and(|s| s["metadata"]["labels"]["kubernetes.io/service-name"] == app)
        })
        .collect();
    if let Some(first) = slices.first() {
        if let Some(s) = world.get_mut("EndpointSlice", ns, first) {
            s["endpoints"] = json!(endpoints);
        }
    }
    // PodDisruptionBudget named after the app.
    let healthy = pods.iter().filter(|p| p.live && p.ready).count() as u64;
    let expected = pods.iter().filter(|p| p.live).count() as u64;
    if let Some(pdb) = world.get_mut("PodDisruptionBudget", ns, app) {
        let min = pdb["spec"]["minAvailable"].as_u64().unwrap_or(0);
        let allowed = healthy.saturating_sub(min);
        let st = &mut pdb["status"];
        st["currentHealthy"] = json!(healthy);
        st["expectedPods"] = json!(expected);
        st["disruptionsAllowed"] = json!(allowed);
        let was = st["conditions"][0]["status"] == "True";
        if was != (allowed > 0) {
            st["conditions"] = json!([{"type": "DisruptionAllowed", "status": if allowed > 0 { "True" } else { "False" },
                "reason": if allowed > 0 { "SufficientPods" } else { "InsufficientPods" }, "message": "",
                "lastTransitionTime": at, "observedGeneration": 1}]);
        }
    }
}

/// The Deployment's Progressing condition after a change at `since` to ReplicaSet `rs`.
fn progressing(world: &mut World, ns: &str, app: &str, rs: &str, since: f64, stuck: bool) {
    let deadline = world
        .get("Deployment", ns, app)
        .and_then(|d| d["spec"]["progressDeadlineSeconds"].as_f64())
        .unwrap_or(600.0)
        / 60.0;
    let cond = if stuck && since > deadline {
        let t = world.at(since - deadline);
        json!({"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
            "message": format!("ReplicaSet \"{rs}\" has timed out progressing."), "lastUpdateTime": t, "lastTransitionTime": t})
    } else {
        let (u, t) = (world.at(since - 0.05), world.at(since));
        json!({"type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated",
            "message": format!("ReplicaSet \"{rs}\" is progressing."), "lastUpdateTime": u, "lastTransitionTime": t})
    };
    if let Some(d) = world.get_mut("Deployment", ns, app) {
        if let Some(cs) = d["status"]["conditions"].as_array_mut() {
            let keep_transition = cs
                .iter()
                .find(|c| c["type"] == "Progressing" && c["status"] == cond["status"])
                .map(|c| c["lastTransitionTime"].clone());
            cs.retain(|c| c["type"] != "Progressing");
            let mut c = cond;
            if let (Some(t), "True") = (keep_transition, c["status"].as_str().unwrap_or_default()) {
                c["lastTransitionTime"] = t;
            }
            cs.push(c);
        }
    }
}

// ---------------------------------------------------------------------------------------
// The scheduler's filters over the cluster as it is

struct NodeView {
    name: String,
    zone: String,
    ip: String,
    labels: Map<String, Value>,
    taints: Vec<Value>,
    unschedulable: bool,
    cpu_alloc: f64,
    mem_alloc: f64,
    pods_alloc: f64,
    cpu_used: f64,
    mem_used: f64,
    /// (namespace, labels, name) of the pods bound to the node.
    pods: Vec<(String, Value, String)>,
}

fn node_views(world: &World) -> Vec<NodeView> {
    let mut nodes: Vec<NodeView> = world
        .names("Node", None)
        .into_iter()
        .filter_map(|(_, name)| {
            let n = world.get("Node", "", &name)?;
            Some(NodeView {
                zone: n["metadata"]["labels"]["topology.kubernetes.io/zone"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                ip: n["status"]["addresses"]
                    .as_array()
                    .and_then(|a| a.iter().find(|x| x["type"] == "InternalIP"))
                    .and_then(|x| x["address"].as_str())
                    .unwrap_or_default()
                    .to_string(),
                labels: n["metadata"]["labels"]
                    .as_object()
                    .cloned()
                    .unwrap_or_default(),
                taints: n["spec"]["taints"].as_array().cloned().unwrap_or_default(),
                unschedulable: n["spec"]["unschedulable"].as_bool() == Some(true),
                cpu_alloc: cpu_m(&n["status"]["allocatable"]["cpu"]),
                mem_alloc: bytes(&n["status"]["allocatable"]["memory"]),
                pods_alloc: n["status"]["allocatable"]["pods"]
                    .as_str()
                    .and_then(|p| p.parse().ok())
                    .unwrap_or(110.0),
                cpu_used: 0.0,
                mem_used: 0.0,
                pods: Vec::new(),
                name,
            })
        })
        .collect();
    let index: BTreeMap<String, usize> = nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.name.clone(), i))
        .collect();
    for p in world.objects().filter(|o| o["kind"] == "Pod") {
        let Some(node) = p["spec"]["nodeName"].as_str() else {
            continue;
        };
        let phase = p["status"]["phase"].as_str().unwrap_or("Pending");
        if phase == "Succeeded" || phase == "Failed" {
            continue;
        }
        if let Some(&i) = index.get(node) {
            let (cpu, mem) = spec_requests(&p["spec"]);
            let n = &mut nodes[i];
            n.cpu_used += cpu;
            n.mem_used += mem;
            n.pods.push((
                p["metadata"]["namespace"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                p["metadata"]["labels"].clone(),
                p["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            ));
        }
    }
    nodes
}

enum Verdict {
    Fit,
    /// A filter that preemption cannot help (taints, selectors, volume zones).
    Unresolvable(String),
    /// Filters that evicting lower-priority pods could satisfy (resources, anti-affinity).
    Unschedulable(Vec<String>),
}

fn tolerates(tolerations: &[Value], taint: &Value) -> bool {
    tolerations.iter().any(|t| {
        let op = t["operator"].as_str().unwrap_or("Equal");
        let key_ok = match t["key"].as_str() {
            None | Some("") => op == "Exists",
            Some(k) => Some(k) == taint["key"].as_str(),
        };
        let value_ok = op == "Exists"
            || t["value"].as_str().unwrap_or_default()
                == taint["value"].as_str().unwrap_or_default();
        let effect_ok = match t["effect"].as_str() {
            None | Some("") => true,
            Some(e) => Some(e) == taint["effect"].as_str(),
        };
        key_ok && value_ok && effect_ok
    })
}

fn node_matches(spec: &Value, labels: &Map<String, Value>) -> bool {
    if let Some(sel) = spec["nodeSelector"].as_object() {
        if sel.iter().any(|(k, v)| labels.get(k) != Some(v)) {
            return false;
        }
    }
    let terms = &spec["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
        ["nodeSelectorTerms"];
    let Some(terms) = terms.as_array() else {
        return true;
    };
    terms.iter().any(|term| {
        term["matchExpressions"]
            .as_array()
            .into_iter()
            .flatten()
            .all(|e| {
                let key = e["key"].as_str().unwrap_or_default();
                let have = labels.get(key).and_then(Value::as_str);
                let values: Vec<&str> = e["values"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .collect();
                match e["operator"].as_str().unwrap_or_default() {
                    "In" => have.is_some_and(|h| values.contains(&h)),
                    "NotIn" => have.is_none_or(|h| !values.contains(&h)),
                    "Exists" => have.is_some(),
                    "DoesNotExist" => have.is_none(),
                    _ => false,
                }
            })
    })
}

/// kube-scheduler's filters for one node, in its order, stopping at the first failure.
/// `exclude`: a pod already bound whose own footprint does not count (it is being moved).
fn filter(
    node: &NodeView,
    spec: &Value,
    ns: &str,
    zones: &[String],
    exclude: (f64, f64),
) -> Verdict {
    let tolerations = spec["tolerations"].as_array().cloned().unwrap_or_default();
    if node.unschedulable
        && !tolerates(
            &tolerations,
            &json!({"key": "node.kubernetes.io/unschedulable", "value": "", "effect": "NoSchedule"}),
        )
    {
        return Verdict::Unresolvable("node(s) were unschedulable".into());
    }
    for t in &node.taints {
        let effect = t["effect"].as_str().unwrap_or_default();
        if (effect == "NoSchedule" || effect == "NoExecute") && !tolerates(&tolerations, t) {
            return Verdict::Unresolvable(format!(
                "node(s) had untolerated taint {{{}: {}}}",
                t["key"].as_str().unwrap_or_default(),
                t["value"].as_str().unwrap_or_default()
            ));
        }
    }
    if !node_matches(spec, &node.labels) {
        return Verdict::Unresolvable("node(s) didn't match Pod's node affinity/selector".into());
    }
    let (cpu, mem) = spec_requests(spec);
    let mut short = Vec::new();
    if node.pods.len() as f64 + 1.0 > node.pods_alloc {
        short.push("Too many pods".to_string());
    }
    if cpu > 0.0 && node.cpu_used - exclude.0 + cpu > node.cpu_alloc {
        short.push("Insufficient cpu".to_string());
    }
    if mem > 0.0 && node.mem_used - exclude.1 + mem > node.mem_alloc {
        short.push("Insufficient memory".to_string());
    }
    if !short.is_empty() {
        return Verdict::Unschedulable(short);
    }
    if !zones.is_empty() && !zones.contains(&node.zone) {
        return Verdict::Unresolvable("node(s) had volume node affinity conflict".into());
    }
    let anti =
        &spec["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"];
    for term in anti.as_array().into_iter().flatten() {
        if term["topologyKey"] != "kubernetes.io/hostname" {
            continue;
        }
        let sel = term["labelSelector"]["matchLabels"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        if node
            .pods
            .iter()
            .any(|(pns, labels, _)| pns == ns && sel.iter().all(|(k, v)| &labels[k] == v))
        {
            return Verdict::Unschedulable(vec![
                "node(s) didn't match pod anti-affinity rules".into(),
            ]);
        }
    }
    Verdict::Fit
}

/// Zones the pod's bound volumes are pinned to.
fn volume_zones(world: &World, ns: &str, spec: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for v in spec["volumes"].as_array().into_iter().flatten() {
        let Some(claim) = v["persistentVolumeClaim"]["claimName"].as_str() else {
            continue;
        };
        let Some(pv) = world
            .get("PersistentVolumeClaim", ns, claim)
            .and_then(|c| c["spec"]["volumeName"].as_str())
            .and_then(|pv| world.get("PersistentVolume", "", pv))
        else {
            continue;
        };
        for term in pv["spec"]["nodeAffinity"]["required"]["nodeSelectorTerms"]
            .as_array()
            .into_iter()
            .flatten()
        {
            for e in term["matchExpressions"].as_array().into_iter().flatten() {
                if e["key"] == "topology.kubernetes.io/zone" {
                    out.extend(
                        e["values"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .filter_map(|z| z.as_str().map(str::to_string)),
                    );
                }
            }
        }
    }
    out
}

/// Where the scheduler puts a pod with `spec` (the least allocated fitting node), or its
/// FailedScheduling message. `moving`: a bound pod of the namespace being re-placed.
fn try_schedule(
    world: &World,
    ns: &str,
    spec: &Value,
    moving: Option<&str>,
) -> Result<String, String> {
    let zones = volume_zones(world, ns, spec);
    let mut nodes = node_views(world);
    let mut exclude_on = String::new();
    if let Some(m) = moving {
        if let Some(p) = world.get("Pod", ns, m) {
            exclude_on = p["spec"]["nodeName"]
                .as_str()
                .unwrap_or_default()
                .to_string();
        }
        for n in &mut nodes {
            n.pods.retain(|(pns, _, name)| !(pns == ns && name == m));
        }
    }
    let own = spec_requests(spec);
    let mut best: Option<(f64, String)> = None;
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    let (mut hopeless, mut victimless) = (0usize, 0usize);
    for n in &nodes {
        let ex = if n.name == exclude_on {
            own
        } else {
            (0.0, 0.0)
        };
        match filter(n, spec, ns, &zones, ex) {
            Verdict::Fit => {
                let score = (n.cpu_used - ex.0) / n.cpu_alloc.max(1.0)
                    + (n.mem_used - ex.1) / n.mem_alloc.max(1.0);
                if best
                    .as_ref()
                    .is_none_or(|(s, name)| score < *s || (score == *s && n.name < *name))
                {
                    best = Some((score, n.name.clone()));
                }
            }
            Verdict::Unresolvable(r) => {
                *reasons.entry(r).or_default() += 1;
                hopeless += 1;
            }
            Verdict::Unschedulable(rs) => {
                for r in rs {
                    *reasons.entry(r).or_default() += 1;
                }
                victimless += 1;
            }
        }
    }
    if let Some((_, name)) = best {
        return Ok(name);
    }
    let total = nodes.len();
    let mut parts: Vec<String> = reasons.iter().map(|(r, c)| format!("{c} {r}")).collect();
    parts.sort();
    let mut pre = Vec::new();
    if hopeless > 0 {
        pre.push(format!(
            "{hopeless} Preemption is not helpful for scheduling"
        ));
    }
    if victimless > 0 {
        pre.push(format!(
            "{victimless} No preemption victims found for incoming pod"
        ));
    }
    pre.sort();
    Err(format!(
        "0/{total} nodes are available: {}. preemption: 0/{total} nodes are available: {}.",
        parts.join(", "),
        pre.join(", ")
    ))
}

/// Schedules an unbound pod that must fit, and binds it.
fn place(world: &mut World, topo: &mut Topology, ns: &str, pod: &str) -> Result<String, String> {
    let spec = world
        .get("Pod", ns, pod)
        .map(|p| p["spec"].clone())
        .ok_or_else(|| format!("no pod {ns}/{pod}"))?;
    let node = try_schedule(world, ns, &spec, None)
        .map_err(|m| format!("pod {ns}/{pod} cannot be scheduled: {m}"))?;
    bind(world, topo, ns, pod, &node);
    Ok(node)
}

fn bind(world: &mut World, topo: &mut Topology, ns: &str, pod: &str, node: &str) {
    let mut req = (0.0, 0.0);
    if let Some(p) = world.get_mut("Pod", ns, pod) {
        p["spec"]["nodeName"] = json!(node);
        req = spec_requests(&p["spec"]);
    }
    topo_adjust(topo, node, req.0, req.1);
}

/// Moves a running pod to another node (as if it had been placed there).
fn move_pod(world: &mut World, topo: &mut Topology, ns: &str, pod: &str, to: &str) {
    let host = node_views(world)
        .into_iter()
        .find(|n| n.name == to)
        .map(|n| n.ip)
        .unwrap_or_default();
    let mut from = String::new();
    let mut req = (0.0, 0.0);
    if let Some(p) = world.get_mut("Pod", ns, pod) {
        from = p["spec"]["nodeName"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        req = spec_requests(&p["spec"]);
        p["spec"]["nodeName"] = json!(to);
        p["status"]["hostIP"] = json!(host);
        p["status"]["hostIPs"] = json!([{"ip": host}]);
    }
    topo_adjust(topo, &from, -req.0, -req.1);
    topo_adjust(topo, to, req.0, req.1);
    for pn in world
        .signals
        .pod_nodes
        .iter_mut()
        .filter(|((n, p), _)| n == ns && p == pod)
    {
        pn.1 = to.to_string();
    }
}

fn topo_adjust(topo: &mut Topology, node: &str, cpu: f64, mem: f64) {
    if let Some(n) = topo.nodes.iter_mut().find(|n| n.name == node) {
        n.cpu_used_m = (n.cpu_used_m + cpu).max(0.0);
        n.mem_used = (n.mem_used + mem).max(0.0);
        if cpu >= 0.0 {
            n.pods += 1;
        } else {
            n.pods = n.pods.saturating_sub(1);
        }
    }
}

// ---------------------------------------------------------------------------------------
// Pods, their status and signals

/// A container's status as the kubelet reports it.
struct CState {
    state: Value,
    last: Option<Value>,
    ready: bool,
    started: bool,
    restarts: u64,
    /// Whether the image was pulled (an imageID and a container exist).
    image_id: bool,
}

impl CState {
    fn new(state: Value, ready: bool, started: bool) -> Self {
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
fn set_status(
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
fn fresh_pod(
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

fn qos(spec: &Value) -> &'static str {
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

fn remove_pod(world: &mut World, topo: &mut Topology, ns: &str, pod: &str) {
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

fn add_pod_signals(
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
fn fresh_signals(mut s: ContainerSignals) -> ContainerSignals {
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

fn pod_created(world: &World, ns: &str, pod: &str) -> f64 {
    world
        .get("Pod", ns, pod)
        .and_then(|p| p["metadata"]["creationTimestamp"].as_str())
        .and_then(|t| t.parse::<jiff::Timestamp>().ok())
        .map(|t| world.capture.duration_since(t).as_secs_f64() / 60.0)
        .unwrap_or(0.0)
}

/// (container name, image) of a pod's first container.
fn pod_container(world: &World, ns: &str, pod: &str) -> (String, String) {
    let c = world
        .get("Pod", ns, pod)
        .map(|p| p["spec"]["containers"][0].clone())
        .unwrap_or_default();
    (
        c["name"].as_str().unwrap_or_default().to_string(),
        c["image"].as_str().unwrap_or_default().to_string(),
    )
}

fn scheduled_event(world: &mut World, ns: &str, pod: &str, node: &str, at: f64) {
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

fn pulled_fresh(world: &mut World, ns: &str, pod: &str, image: &str, at: f64) {
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
fn start_events(world: &mut World, ns: &str, pod: &str, r: &Rollout, created: f64) -> f64 {
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

fn remove_events(world: &mut World, ns: &str, pod: &str, reason: &str) {
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
fn patch_current_template(world: &mut World, ns: &str, app: &str, change: &dyn Fn(&mut Value)) {
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

/// ReplicaSets owned by the app's Deployment, sorted by name.
fn owned_rs(world: &World, ns: &str, app: &str) -> Vec<String> {
    world
        .names("ReplicaSet", Some(ns))
        .into_iter()
        .map(|(_, n)| n)
        .filter(|n| {
            world.get("ReplicaSet", ns, n).is_some_and(|r| {
                r["metadata"]["ownerReferences"][0]["kind"] == "Deployment"
                    && r["metadata"]["ownerReferences"][0]["name"] == app
            })
        })
        .collect()
}

/// The app's ReplicaSet of the highest revision.
fn current_rs(world: &World, ns: &str, app: &str) -> Result<String, String> {
    owned_rs(world, ns, app)
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

fn live_pods_of_owner(world: &World, ns: &str, owner: &str) -> usize {
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

struct Usage {
    cpu: f64,
    mem: f64,
    limit_mem: f64,
    pods: u64,
}

/// What a ResourceQuota counts in a namespace: requests and limits of non-terminal pods.
fn quota_usage(world: &World, ns: &str) -> Usage {
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

// ---------------------------------------------------------------------------------------
// Quantities

fn quantity_str(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// CPU in millicores (`250m`, `2`, `1.5`).
fn cpu_m(v: &Value) -> f64 {
    let Some(s) = quantity_str(v) else {
        return 0.0;
    };
    match s.strip_suffix('m') {
        Some(m) => m.parse().unwrap_or(0.0),
        None => s.parse::<f64>().map(|c| c * 1000.0).unwrap_or(0.0),
    }
}

/// Memory in bytes (`512Mi`, `4Gi`, `30870077Ki`, `1G`).
fn bytes(v: &Value) -> f64 {
    let Some(s) = quantity_str(v) else {
        return 0.0;
    };
    const UNITS: [(&str, f64); 8] = [
        ("Ki", 1024.0),
        ("Mi", 1048576.0),
        ("Gi", 1073741824.0),
        ("Ti", 1099511627776.0),
        ("k", 1e3),
        ("M", 1e6),
        ("G", 1e9),
        ("T", 1e12),
    ];
    for (suffix, mult) in UNITS {
        if let Some(n) = s.strip_suffix(suffix) {
            return n.parse::<f64>().unwrap_or(0.0) * mult;
        }
    }
    s.parse().unwrap_or(0.0)
}

/// Requested (cpu millicores, memory bytes) of a pod spec.
fn spec_requests(spec: &Value) -> (f64, f64) {
    spec["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .fold((0.0, 0.0), |(c, m), x| {
            (
                c + cpu_m(&x["resources"]["requests"]["cpu"]),
                m + bytes(&x["resources"]["requests"]["memory"]),
            )
        })
}

fn fmt_cpu(m: f64) -> String {
    let m = m.round() as u64;
    if m % 1000 == 0 {
        format!("{}", m / 1000)
    } else {
        format!("{m}m")
    }
}

fn fmt_mem(b: f64) -> String {
    let b = b.round() as u64;
    for (unit, size) in [("Gi", 1u64 << 30), ("Mi", 1 << 20), ("Ki", 1 << 10)] {
        if b >= size && b % size == 0 {
            return format!("{}{unit}", b / size);
        }
    }
    b.to_string()
}

/// Random numbers that depend on the label only, so that names this module invents stay
/// the same when the rest of the generator changes.
fn stable_rng(label: &str) -> Rng {
    Rng::new(0x706f_6473).fork(label)
}
