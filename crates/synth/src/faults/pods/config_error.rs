//! `config-error`: a rollout whose containers cannot be created because their
//! environment (a ConfigMap or Secret, a key in one) is missing. Split out of the fault
//! group so that the family fits in one file.

use serde_json::{Value, json};

use crate::scenario::Fault;
use crate::topology::Topology;
use crate::world::World;

use super::controllers::{progressing, reconcile};
use super::image_pull::{restart_at, rollout_done};
use super::pod::{
    CState, patch_current_template, pod_container, pod_created, pulled_fresh, scheduled_event,
    set_status,
};
use super::rollout::rollout_stuck;
use super::scheduler::place;

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
pub(super) fn config_error(
    world: &mut World,
    topo: &mut Topology,
    f: &Fault,
) -> Result<(), String> {
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
        super::super::core::rollout(world, f)?;
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
        for pod in super::super::core::pods(world, f)? {
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
