//! `image-pull`: a rollout to an image the kubelet cannot pull, with the kubelet's events
//! and the runtime's errors, and the near miss of a pull that failed and then recovered.
//! Split out of the fault group so that the image-pull family fits in one file.

use serde_json::{Value, json};

use crate::scenario::Fault;
use crate::topology::Topology;
use crate::world::World;

use super::controllers::{progressing, reconcile};
use super::pod::{
    CState, current_rs, pod_container, pod_created, remove_events, scheduled_event, set_status,
};
use super::rollout::rollout_stuck;
use super::scheduler::place;

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
pub(super) fn image_pull(world: &mut World, topo: &mut Topology, f: &Fault) -> Result<(), String> {
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
        super::super::core::rollout(world, f)?;
    }
    let ns = f.namespace.clone();
    let n = f.num("pods").unwrap_or(1.0) as usize;
    let fixed = f.since - after;
    if fixed <= 0.0 {
        return Err(format!("recoveredAfter {after} is not before capture"));
    }
    let mut touched = 0;
    for pod in super::super::core::pods(world, f)?.into_iter().take(n) {
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
pub(super) fn rollout_done(world: &mut World, ns: &str, app: &str, done: f64) {
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
pub(super) fn restart_at(world: &mut World, ns: &str, pod: &str, container: &str, ok: f64) {
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
