//! The StatefulSet controller: ordered creation and the rolling update from the highest
//! ordinal down to the partition, each pod with its own claims.

use serde_json::Value;

use super::*;

/// A StatefulSet's pod for one ordinal: its template plus the claims of its
/// volumeClaimTemplates (`<template>-<set>-<ordinal>`), created when missing.
fn statefulset_spec(sim: &mut Sim, w: &Workload, ordinal: i32) -> Value {
    let mut spec = template_spec(w);
    let templates = w
        .after
        .pointer("/spec/volumeClaimTemplates")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for t in templates {
        let Some(tname) = t.pointer("/metadata/name").and_then(Value::as_str) else {
            continue;
        };
        let claim = format!("{tname}-{}-{ordinal}", w.name);
        let class = t.pointer("/spec/storageClassName").and_then(Value::as_str);
        let size = t
            .pointer("/spec/resources/requests/storage")
            .and_then(Value::as_str)
            .unwrap_or("1Gi");
        sim.add_claim(&w.namespace, &claim, class, size);
        if let Some(vols) = spec
            .as_object_mut()
            .map(|o| {
                o.entry("volumes")
                    .or_insert_with(|| Value::Array(Vec::new()))
            })
            .and_then(Value::as_array_mut)
        {
            vols.retain(|v| v.get("name").and_then(Value::as_str) != Some(tname));
            vols.push(
                serde_json::json!({"name": tname, "persistentVolumeClaim": {"claimName": claim}}),
            );
        }
    }
    spec
}

/// OrderedReady creation of ordinals `from..to`, one at a time, each placed before the
/// next is created.
/// One ordinal's pod: its name, spec (with its claims) and labels (with its pod name).
fn ordinal_pod(sim: &mut Sim, w: &Workload, ordinal: i32) -> (String, Value, Value) {
    let name = format!("{}-{ordinal}", w.name);
    let spec = statefulset_spec(sim, w, ordinal);
    let labels = template_labels(
        w,
        Some(("statefulset.kubernetes.io/pod-name", name.as_str())),
    );
    (name, spec, labels)
}

pub(super) fn statefulset_create(
    sim: &mut Sim,
    w: &Workload,
    pool: &mut Pool,
    from: i32,
    to: i32,
) -> Option<Blocker> {
    for ordinal in from..to {
        let (name, spec, labels) = ordinal_pod(sim, w, ordinal);
        match sim.create(
            &w.namespace,
            &name,
            &labels,
            ("StatefulSet", &w.name),
            &spec,
        ) {
            Ok(p) => {
                let idx = p.index;
                let placed = sim.schedule(idx);
                pool.pods.push(p);
                if !placed || !sim.ready(idx) {
                    return pool.blocker(sim);
                }
            }
            Err(b) => return Some(b),
        }
    }
    None
}

/// The StatefulSet controller's rolling update: from the highest ordinal down to the
/// partition, each pod deleted and recreated with the new template (and its own claims,
/// so a zonal volume keeps it in its zone), the next only once it is running.
pub fn statefulset(sim: &mut Sim, w: &Workload) -> Outcome {
    if let Some(why) = w.crash.clone() {
        sim.predict_crash(&w.namespace, "StatefulSet", &w.name, why);
    }
    let r = w.replicas_after();
    let partition = w
        .after
        .pointer("/spec/updateStrategy/rollingUpdate/partition")
        .and_then(Value::as_i64)
        .unwrap_or(0) as i32;
    let on_delete = w
        .after
        .pointer("/spec/updateStrategy/type")
        .and_then(Value::as_str)
        == Some("OnDelete");
    let old = old_pods(sim, w);
    let ready_now = old.iter().filter(|(_, ready)| *ready).count() as i32;
    let mut out = Outcome {
        desired: r,
        min_ready: ready_now,
        ..Outcome::default()
    };
    if on_delete {
        let c = Counts {
            desired: r,
            new: 0,
            new_ready: 0,
            old: old.len() as i32,
            old_ready: ready_now,
            pending: 0,
        };
        sim.record(step(
            w,
            "updateStrategy OnDelete: no pod is replaced until it is deleted".into(),
            &c,
            None,
        ));
        out.completed = true;
        return out;
    }
    let mut pool = Pool::new(w.name.clone());
    let mut updated = 0;
    for ordinal in (partition..r).rev() {
        if let Some(i) = sim
            .cluster
            .pod(&w.namespace, &format!("{}-{ordinal}", w.name))
        {
            sim.delete(i, None);
        }
        let (name, spec, labels) = ordinal_pod(sim, w, ordinal);
        let created = sim.create(
            &w.namespace,
            &name,
            &labels,
            ("StatefulSet", &w.name),
            &spec,
        );
        let blocker = match created {
            Ok(p) => {
                let idx = p.index;
                let placed = sim.schedule(idx);
                pool.pods.push(p);
                // OrderedReady: the next ordinal waits for this one to be Ready.
                (!placed || !sim.ready(idx))
                    .then(|| pool.blocker(sim))
                    .flatten()
            }
            Err(b) => Some(b),
        };
        updated += 1;
        let old_ready = ready_now - updated.min(ready_now);
        let c = Counts {
            desired: r,
            new: updated,
            new_ready: pool.ready(sim),
            old: (old.len() as i32 - updated).max(0),
            old_ready,
            pending: pool.pending(sim),
        };
        out.min_ready = out.min_ready.min(c.new_ready + c.old_ready);
        let action = format!("pod {name} deleted and recreated with the new template");
        sim.record(step(w, action, &c, blocker.clone()));
        if blocker.is_some() {
            out.blocker = blocker;
            return finish(out, sim, &pool);
        }
    }
    out.completed = true;
    finish(out, sim, &pool)
}
