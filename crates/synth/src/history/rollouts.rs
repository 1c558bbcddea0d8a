//! Old rollouts: a `kubectl rollout restart` hours or days ago (a new ReplicaSet, the old
//! one scaled to zero, the deployment controller's ScalingReplicaSet steps, the probe
//! failures and back-offs of the pods it replaced), and a rollout the namespace's LimitRange
//! forbade, rolled back with `kubectl rollout undo`.

use serde_json::{Value, json};

use super::pods::{
    Candidate, Owner, Timing, containers, killed_events, max_revision, replace, retries,
    started_events,
};
use super::{
    Recorder, Subject, Touched, bytes, controller, kubelet, managed, normal, record_edit, warning,
};
use crate::world::World;

const GI: f64 = 1024.0 * 1024.0 * 1024.0;

/// maxSurge and maxUnavailable of a RollingUpdate of 25%/25% for `n` replicas.
fn rolling(n: u64) -> (u64, u64) {
    let surge = n.div_ceil(4);
    let unavailable = n / 4;
    if surge == 0 && unavailable == 0 {
        (1, 0)
    } else {
        (surge, unavailable)
    }
}

fn scaling(world: &mut World, rec: &mut Recorder, ns: &str, deployment: &str, msg: &str, at: f64) {
    let subject = Subject::of(world, "Deployment", ns, deployment);
    rec.event(
        world,
        &subject,
        normal("ScalingReplicaSet", msg),
        controller("deployment-controller"),
        (at, at, 1),
    );
}

/// The URL or socket a container's probe checks, as the kubelet prints it in a failure.
fn probe_target(p: &Value, probe: &str) -> Option<(String, bool)> {
    let c = &p["spec"]["containers"][0];
    let ip = p["status"]["podIP"].as_str()?;
    let pr = &c[probe];
    if let Some(port) = pr["httpGet"]["port"].as_u64() {
        let path = pr["httpGet"]["path"].as_str().unwrap_or("/");
        return Some((format!("http://{ip}:{port}{path}"), true));
    }
    let port = pr["tcpSocket"]["port"].as_u64()?;
    Some((format!("{ip}:{port}"), false))
}

/// "Readiness probe failed: …" for a container that does not listen (yet or any more).
fn refused(p: &Value, probe: &str, label: &str) -> Option<String> {
    let (target, http) = probe_target(p, probe)?;
    Some(if http {
        let hostport = target
            .trim_start_matches("http://")
            .split('/')
            .next()
            .unwrap_or_default()
            .to_string();
        format!(
            "{label} probe failed: Get \"{target}\": dial tcp {hostport}: connect: connection refused"
        )
    } else {
        format!("{label} probe failed: dial tcp {target}: connect: connection refused")
    })
}

/// A `kubectl rollout restart` of a Deployment hours or days ago, often because a pod had
/// turned unhealthy: its liveness probe failed, the kubelet restarted it and backed off.
/// Every pod was replaced in RollingUpdate steps; the new ones have run since.
pub(super) fn restart(world: &mut World, rec: &mut Recorder, c: &Candidate) {
    let ns = c.ns.as_str();
    let n = c.replicas;
    let oldest = (c.rs_age - 120.0).min(c.pod_age - 60.0).min(4320.0);
    if oldest < 95.0 {
        return;
    }
    let t_r = rec.minutes(90.0, oldest);
    let Some(dep) = world.get("Deployment", ns, &c.name).cloned() else {
        return;
    };
    let Some(old_rs) = world.get("ReplicaSet", ns, &c.rs).cloned() else {
        return;
    };
    let rev = max_revision(world, ns, &c.name) + 1;
    let hash = rec.rng.suffix(10);
    let new_rs = format!("{}-{hash}", c.name);
    let mut template = dep["spec"]["template"].clone();
    template["metadata"]["annotations"]["kubectl.kubernetes.io/restartedAt"] = json!(world.at(t_r));
    let mut rs_template = template.clone();
    rs_template["metadata"]["labels"]["pod-template-hash"] = json!(hash);
    let mut selector = old_rs["spec"]["selector"].clone();
    selector["matchLabels"]["pod-template-hash"] = json!(hash);
    let (surge, unavailable) = rolling(n);
    let rs_uid = rec.rng.uid();
    world.add(json!({"apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {"name": new_rs, "namespace": ns, "uid": rs_uid, "creationTimestamp": world.at(t_r),
            "resourceVersion": format!("{}", 1000 + rec.rng.range(0, 900_000)),
            "labels": rs_template["metadata"]["labels"].clone(),
            "annotations": {"deployment.kubernetes.io/revision": rev.to_string(),
                "deployment.kubernetes.io/desired-replicas": n.to_string(), "deployment.kubernetes.io/max-replicas": (n + surge).to_string()},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": c.name, "uid": dep["metadata"]["uid"], "controller": true, "blockOwnerDeletion": true}]},
        "spec": {"replicas": n, "selector": selector, "template": rs_template},
        "status": {"replicas": n, "fullyLabeledReplicas": n, "readyReplicas": n, "availableReplicas": n, "observedGeneration": 1}}));
    if let Some(r) = world.get_mut("ReplicaSet", ns, &c.rs) {
        r["spec"]["replicas"] = json!(0);
        r["status"] = json!({"replicas": 0, "observedGeneration": 2});
    }

    // The deployment controller's steps: scale the new ReplicaSet up within maxSurge, the
    // old one down within maxUnavailable once new pods are available.
    let step = rec.minutes(0.3, 0.9);
    let (mut new, mut old, mut at) = (0u64, n, t_r);
    let mut creates: Vec<f64> = Vec::new();
    let mut deletes: Vec<f64> = Vec::new();
    while new < n || old > 0 {
        let target = n.min(n + surge - old.min(n + surge));
        let before = (new, old);
        if target > new {
            let msg = if new == 0 {
                format!("Scaled up replica set {new_rs} to {target}")
            } else {
                format!("Scaled up replica set {new_rs} to {target} from {new}")
            };
            scaling(world, rec, ns, &c.name, &msg, at);
            creates.extend((new..target).map(|i| at - 0.002 * i as f64));
            new = target;
        }
        at -= step;
        let keep = (n - unavailable).saturating_sub(new).min(old);
        if keep < old {
            let msg = format!("Scaled down replica set {} to {keep} from {old}", c.rs);
            scaling(world, rec, ns, &c.name, &msg, at);
            deletes.extend((keep..old).map(|i| at - 0.002 * i as f64));
            old = keep;
        }
        if (new, old) == before {
            break;
        }
    }
    let done = at - 0.1;

    // An unhealthy pod before the restart (often why someone restarted).
    let olds = c.pods.clone();
    if rec.rng.chance(0.6) {
        if let Some(p) = olds.first().and_then(|o| world.get("Pod", ns, o)).cloned() {
            unhealthy_before(world, rec, &p, t_r);
        }
    }
    let owner = Owner {
        name: new_rs.clone(),
        uid: rs_uid,
        hash,
    };
    let old_subject = Subject::of(world, "ReplicaSet", ns, &c.rs);
    for (i, o) in olds.iter().enumerate() {
        let Some(p) = world.get("Pod", ns, o).cloned() else {
            continue;
        };
        let created = creates.get(i).copied().unwrap_or(t_r);
        let deleted = deletes.get(i).copied().unwrap_or(done);
        let t = Timing {
            created,
            bound: created - 0.003,
            started: created - rec.minutes(0.02, 0.06),
        };
        let Some(np) = replace(world, rec, ns, o, &owner, t) else {
            continue;
        };
        let rs_subject = Subject::of(world, "ReplicaSet", ns, &new_rs);
        rec.event(
            world,
            &rs_subject,
            normal("SuccessfulCreate", &format!("Created pod: {np}")),
            controller("replicaset-controller"),
            (created, created, 1),
        );
        started_events(world, rec, ns, &np, t);
        if rec.rng.chance(0.4) {
            if let Some(v) = world.get("Pod", ns, &np).cloned() {
                if let Some(msg) = refused(&v, "readinessProbe", "Readiness") {
                    let node = v["spec"]["nodeName"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string();
                    let at = t.started - 0.01;
                    rec.event(
                        world,
                        &Subject::pod(&v).container(&containers(&v)[0].0),
                        warning("Unhealthy", &msg),
                        kubelet(&node),
                        (at, at, 1),
                    );
                }
            }
        }
        rec.event(
            world,
            &old_subject,
            normal("SuccessfulDelete", &format!("Deleted pod: {o}")),
            controller("replicaset-controller"),
            (deleted, deleted, 1),
        );
        killed_events(world, rec, &p, deleted - 0.001);
        // Shutting down, it stopped answering its readiness probe.
        if rec.rng.chance(0.5) {
            if let Some(msg) = refused(&p, "readinessProbe", "Readiness") {
                let node = p["spec"]["nodeName"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                let at = deleted - 0.08;
                rec.event(
                    world,
                    &Subject::pod(&p).container(&containers(&p)[0].0),
                    warning("Unhealthy", &msg),
                    kubelet(&node),
                    (at, at, 1),
                );
            }
        }
    }
    let (t_start, t_done) = (world.at(t_r), world.at(done));
    if let Some(d) = world.get_mut("Deployment", ns, &c.name) {
        d["spec"]["template"] = template;
        d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] = json!(rev.to_string());
        let generation = d["metadata"]["generation"].as_u64().unwrap_or(1) + 1;
        d["metadata"]["generation"] = json!(generation);
        d["status"]["observedGeneration"] = json!(generation);
        for cond in d["status"]["conditions"]
            .as_array_mut()
            .into_iter()
            .flatten()
            .filter(|x| x["type"] == "Progressing")
        {
            cond["reason"] = json!("NewReplicaSetAvailable");
            cond["message"] = json!(format!(
                "ReplicaSet \"{new_rs}\" has successfully progressed."
            ));
            cond["lastUpdateTime"] = json!(t_done);
        }
        record_edit(
            d,
            managed(
                "kubectl-rollout",
                "apps/v1",
                t_start,
                json!({"f:spec": {"f:template": {"f:metadata": {"f:annotations": {".": {}, "f:kubectl.kubernetes.io/restartedAt": {}}}}}}),
            ),
        );
    }
}

/// A pod's liveness probe failing for a while before `until`: the kubelet restarted its
/// container, it crashed again and was backed off.
fn unhealthy_before(world: &mut World, rec: &mut Recorder, p: &Value, until: f64) {
    let Some((c, _)) = containers(p).into_iter().next() else {
        return;
    };
    let node = p["spec"]["nodeName"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let ns = p["metadata"]["namespace"].as_str().unwrap_or_default();
    let pod = p["metadata"]["name"].as_str().unwrap_or_default();
    let uid = p["metadata"]["uid"].as_str().unwrap_or_default();
    let subject = Subject::pod(p).container(&c);
    let since = until + rec.minutes(8.0, 45.0);
    let http = p["spec"]["containers"][0]["livenessProbe"]["httpGet"].is_object();
    let liveness = if http {
        "Liveness probe failed: HTTP probe failed with statuscode: 503".to_string()
    } else {
        refused(p, "livenessProbe", "Liveness")
            .unwrap_or_else(|| "Liveness probe failed: context deadline exceeded".to_string())
    };
    let restarts = 1 + rec.rng.range(1, 4);
    let k = kubelet(&node);
    rec.event(
        world,
        &subject,
        warning("Unhealthy", &liveness),
        k,
        (since, until + 0.4, restarts * 3),
    );
    let (extra_ready, extra_backoff) = (rec.rng.range(0, 6), rec.rng.range(0, 5));
    if http {
        rec.event(
            world,
            &subject,
            warning(
                "Unhealthy",
                "Readiness probe failed: HTTP probe failed with statuscode: 503",
            ),
            k,
            (since + 0.1, until + 0.35, restarts * 3 + extra_ready),
        );
    }
    rec.event(
        world,
        &subject,
        normal(
            "Killing",
            &format!("Container {c} failed liveness probe, will be restarted"),
        ),
        k,
        (since - 0.5, until + 0.5, restarts),
    );
    rec.event(
        world,
        &subject,
        warning(
            "BackOff",
            &format!("Back-off restarting failed container {c} in pod {pod}_{ns}({uid})"),
        ),
        k,
        (since - 0.6, until + 0.2, restarts * 2 + extra_backoff),
    );
}

/// The namespace's LimitRange maximum for a container's memory, if the scenario leaves the
/// LimitRange alone: (its name, the maximum as written, in bytes).
pub(super) fn limit_max(
    world: &World,
    touched: &Touched,
    c: &Candidate,
) -> Option<(String, String, f64)> {
    world
        .names("LimitRange", Some(&c.ns))
        .into_iter()
        .filter(|(_, n)| !touched.object("LimitRange", &c.ns, n))
        .find_map(|(_, n)| {
            let lr = world.get("LimitRange", &c.ns, &n)?;
            let max = lr["spec"]["limits"]
                .as_array()?
                .iter()
                .find(|l| l["type"] == "Container")?["max"]["memory"]
                .as_str()?
                .to_string();
            let b = bytes(&json!(max));
            (b > 0.0).then_some((n, max, b))
        })
}

/// The next patch version of an image tag (`1.9.2` → `1.9.3`); the tag itself otherwise.
fn bump(image: &str) -> String {
    let Some((repo, tag)) = image.rsplit_once(':') else {
        return image.to_string();
    };
    let mut parts: Vec<String> = tag.split('.').map(str::to_string).collect();
    match parts.last().and_then(|p| p.parse::<u64>().ok()) {
        Some(z) => {
            if let Some(l) = parts.last_mut() {
                *l = (z + 1).to_string();
            }
            format!("{repo}:{}", parts.join("."))
        }
        None => image.to_string(),
    }
}

/// A rollout whose pods the LimitRange refused (memory limit above the maximum): the new
/// ReplicaSet never created a pod (`FailedCreate`, each refusal naming its pod, combined by
/// the event correlator), the old pods kept serving (maxUnavailable 0), and minutes later
/// `kubectl rollout undo` made the old template current again under a new revision.
pub(super) fn rollback_forbidden(
    world: &mut World,
    rec: &mut Recorder,
    touched: &Touched,
    c: &Candidate,
) {
    let ns = c.ns.as_str();
    let Some((_, max_text, max_bytes)) = limit_max(world, touched, c) else {
        return;
    };
    let oldest = (c.rs_age - 60.0).min(2880.0);
    if oldest < 50.0 {
        return;
    }
    let t1 = rec.minutes(45.0, oldest);
    let t2 = t1 - rec.minutes(4.0, 25.0).min(t1 - 2.0);
    let Some(dep) = world.get("Deployment", ns, &c.name).cloned() else {
        return;
    };
    let n = c.replicas;
    let (surge, _) = rolling(n);
    let rev = max_revision(world, ns, &c.name);
    let cur_rev = world
        .get("ReplicaSet", ns, &c.rs)
        .and_then(|r| r["metadata"]["annotations"]["deployment.kubernetes.io/revision"].as_str())
        .unwrap_or("1")
        .to_string();
    let hash = rec.rng.suffix(10);
    let bad = format!("{}-{hash}", c.name);
    let limit = format!("{}Gi", ((max_bytes * 1.5) / GI).ceil().max(1.0) as u64);
    let mut tpl = dep["spec"]["template"].clone();
    let image = bump(
        tpl["spec"]["containers"][0]["image"]
            .as_str()
            .unwrap_or_default(),
    );
    tpl["spec"]["containers"][0]["image"] = json!(image);
    tpl["spec"]["containers"][0]["resources"]["limits"]["memory"] = json!(limit);
    tpl["metadata"]["labels"]["pod-template-hash"] = json!(hash);
    let mut selector = dep["spec"]["selector"].clone();
    selector["matchLabels"]["pod-template-hash"] = json!(hash);
    world.add(json!({"apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {"name": bad, "namespace": ns, "uid": rec.rng.uid(), "creationTimestamp": world.at(t1),
            "resourceVersion": format!("{}", 1000 + rec.rng.range(0, 900_000)),
            "labels": tpl["metadata"]["labels"].clone(),
            "annotations": {"deployment.kubernetes.io/revision": (rev + 1).to_string(),
                "deployment.kubernetes.io/desired-replicas": n.to_string(), "deployment.kubernetes.io/max-replicas": (n + surge).to_string()},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": c.name, "uid": dep["metadata"]["uid"], "controller": true, "blockOwnerDeletion": true}]},
        "spec": {"replicas": 0, "selector": selector, "template": tpl},
        "status": {"replicas": 0, "observedGeneration": 2}}));
    if let Some(r) = world.get_mut("ReplicaSet", ns, &c.rs) {
        let history =
            match r["metadata"]["annotations"]["deployment.kubernetes.io/revision-history"].as_str()
            {
                Some(h) => format!("{h},{cur_rev}"),
                None => cur_rev.clone(),
            };
        r["metadata"]["annotations"]["deployment.kubernetes.io/revision"] =
            json!((rev + 2).to_string());
        r["metadata"]["annotations"]["deployment.kubernetes.io/revision-history"] = json!(history);
    }
    scaling(
        world,
        rec,
        ns,
        &c.name,
        &format!("Scaled up replica set {bad} to 1"),
        t1,
    );
    scaling(
        world,
        rec,
        ns,
        &c.name,
        &format!("Scaled down replica set {bad} to 0 from 1"),
        t2,
    );
    let subject = Subject::of(world, "ReplicaSet", ns, &bad);
    let forbid = |name: &str| {
        format!(
            "Error creating: pods \"{name}\" is forbidden: maximum memory usage per Container is {max_text}, but limit is {limit}"
        )
    };
    let tries = retries(t1 - t2);
    let mut at = t1;
    for k in 0..tries.min(9) {
        at = t1 - 0.005 * (2f64.powi(k as i32) - 1.0) / 60.0;
        let msg = forbid(&format!("{bad}-{}", rec.rng.suffix(5)));
        rec.event(
            world,
            &subject,
            warning("FailedCreate", &msg),
            controller("replicaset-controller"),
            (at, at, 1),
        );
    }
    if tries > 9 {
        let msg = format!(
            "(combined from similar events): {}",
            forbid(&format!("{bad}-{}", rec.rng.suffix(5)))
        );
        rec.event(
            world,
            &subject,
            warning("FailedCreate", &msg),
            controller("replicaset-controller"),
            (at - 0.01, t2 + 0.02, tries - 9),
        );
    }
    let (a1, a2) = (world.at(t1), world.at(t2));
    let stuck = t1 - t2 > 10.5;
    if let Some(d) = world.get_mut("Deployment", ns, &c.name) {
        d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] =
            json!((rev + 2).to_string());
        let generation = d["metadata"]["generation"].as_u64().unwrap_or(1) + 2;
        d["metadata"]["generation"] = json!(generation);
        d["status"]["observedGeneration"] = json!(generation);
        for cond in d["status"]["conditions"]
            .as_array_mut()
            .into_iter()
            .flatten()
            .filter(|x| x["type"] == "Progressing")
        {
            cond["lastUpdateTime"] = json!(a2);
            if stuck {
                cond["lastTransitionTime"] = json!(a2);
            }
        }
        let fields = json!({"f:spec": {"f:template": {"f:spec": {"f:containers": {}}}}});
        record_edit(
            d,
            managed("kubectl-client-side-apply", "apps/v1", a1, fields.clone()),
        );
        record_edit(d, managed("kubectl-rollout", "apps/v1", a2, fields));
    }
}
