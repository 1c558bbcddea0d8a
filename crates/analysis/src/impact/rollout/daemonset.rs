//! The DaemonSet controller: one pod per node, pinned to it, updated node by node.

use serde_json::Value;

use super::*;

/// The tolerations the DaemonSet controller adds to every daemon pod.
fn daemon_tolerations(spec: &mut Value) {
    let host_network = spec.get("hostNetwork").and_then(Value::as_bool) == Some(true);
    let mut add = vec![
        ("node.kubernetes.io/not-ready", "NoExecute"),
        ("node.kubernetes.io/unreachable", "NoExecute"),
        ("node.kubernetes.io/disk-pressure", "NoSchedule"),
        ("node.kubernetes.io/memory-pressure", "NoSchedule"),
        ("node.kubernetes.io/pid-pressure", "NoSchedule"),
        ("node.kubernetes.io/unschedulable", "NoSchedule"),
    ];
    if host_network {
        add.push(("node.kubernetes.io/network-unavailable", "NoSchedule"));
    }
    let Some(list) = spec
        .as_object_mut()
        .map(|o| {
            o.entry("tolerations")
                .or_insert_with(|| Value::Array(Vec::new()))
        })
        .and_then(Value::as_array_mut)
    else {
        return;
    };
    // AddOrUpdateTolerationInPodSpec: the same toleration (key, operator, effect) is not
    // added twice; another one on the key does not stand in for it.
    for (key, effect) in add {
        let has = list.iter().any(|t| {
            t.get("key").and_then(Value::as_str) == Some(key)
                && t.get("operator").and_then(Value::as_str) == Some("Exists")
                && t.get("effect").and_then(Value::as_str) == Some(effect)
        });
        if !has {
            list.push(serde_json::json!({"key": key, "operator": "Exists", "effect": effect}));
        }
    }
}

/// The DaemonSet controller's rolling update, node by node (maxSurge 0: the old pod goes
/// first; with maxSurge the new one must fit beside it). Each daemon pod is pinned to its
/// node (`ReplaceDaemonSetPodNodeNameNodeAffinity`). The update stops once maxUnavailable
/// nodes hold a pod that cannot run; every node where the new version would not fit is
/// counted.
pub fn daemonset(sim: &mut Sim, w: &Workload) -> Outcome {
    if let Some(why) = w.crash.clone() {
        sim.predict_crash(&w.namespace, "DaemonSet", &w.name, why);
    }
    let old = old_pods(sim, w);
    let mut nodes: Vec<(String, usize)> = old
        .iter()
        .filter_map(|(i, _)| Some((sim.cluster.node_of(*i)?.name.clone(), *i)))
        .collect();
    nodes.sort();
    let n = nodes.len() as i32;
    let ru = w.after.pointer("/spec/updateStrategy/rollingUpdate");
    let surge = scaled(ru.and_then(|r| r.get("maxSurge")), n, true, 0);
    let mut max_unavailable = scaled(ru.and_then(|r| r.get("maxUnavailable")), n, true, 0);
    if ru.and_then(|r| r.get("maxUnavailable")).is_none() {
        max_unavailable = 1;
    }
    if surge == 0 && max_unavailable == 0 {
        max_unavailable = 1;
    }
    let on_delete = w
        .after
        .pointer("/spec/updateStrategy/type")
        .and_then(Value::as_str)
        == Some("OnDelete");
    let mut out = Outcome {
        desired: n,
        min_ready: old.iter().filter(|(_, r)| *r).count() as i32,
        ..Outcome::default()
    };
    if on_delete || n == 0 {
        let c = Counts {
            desired: n,
            new: 0,
            new_ready: 0,
            old: n,
            old_ready: out.min_ready,
            pending: 0,
        };
        let action = if on_delete {
            "updateStrategy OnDelete: no pod is replaced until it is deleted"
        } else {
            "no node runs this DaemonSet's pods"
        };
        sim.record(step(w, action.into(), &c, None));
        out.completed = true;
        return out;
    }
    let hash = template_hash(w.after.pointer("/spec/template").unwrap_or(&Value::Null));
    let labels = template_labels(w, Some(("controller-revision-hash", &hash)));
    let base = template_spec(w);
    let mut failed: Vec<(String, Blocker)> = Vec::new();
    let mut updated = 0;
    let mut batch_start: Option<String> = None;
    let mut batch = 0;
    let mut pool = Pool::new(w.name.clone());
    for (k, (node, old_index)) in nodes.iter().enumerate() {
        let mut spec = base.clone();
        daemon_tolerations(&mut spec);
        crate::impact::plan::set_path(
            &mut spec,
            &[
                "affinity",
                "nodeAffinity",
                "requiredDuringSchedulingIgnoredDuringExecution",
            ],
            serde_json::json!({
                "nodeSelectorTerms": [{"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node]}]}]
            }),
        );
        // Once maxUnavailable nodes cannot run the new version, the controller stops:
        // the other nodes keep their old pods. Whether the new version would fit on each
        // of them is still asked, and undone.
        let stopped = (failed.len() as i32) >= max_unavailable;
        let undo = stopped.then(|| (sim.cluster.mark(), sim.admission.clone()));
        if surge == 0 {
            sim.delete(*old_index, None);
        }
        let name = format!("{}-{hash}-{k:05}", w.name);
        let verdict = match sim.create(&w.namespace, &name, &labels, ("DaemonSet", &w.name), &spec)
        {
            Ok(p) => {
                let placed = sim.schedule(p.index);
                let idx = p.index;
                if undo.is_none() {
                    pool.pods.push(p);
                }
                if placed && sim.ready(idx) {
                    if surge > 0 {
                        sim.delete(*old_index, None);
                    }
                    None
                } else {
                    Some(sim.blocker(idx))
                }
            }
            Err(b) => Some(b),
        };
        if let Some((mark, admission)) = undo {
            sim.cluster.revert(mark);
            sim.admission = admission;
        }
        match verdict {
            None => {
                updated += 1;
                batch += 1;
                batch_start.get_or_insert_with(|| node.clone());
            }
            Some(b) => failed.push((node.clone(), b)),
        }
    }
    let c = Counts {
        desired: n,
        new: updated + failed.len() as i32,
        new_ready: updated,
        old: 0,
        old_ready: 0,
        pending: failed.len() as i32,
    };
    let first_fail = failed.first().cloned();
    if batch > 0 {
        let action = format!("daemon pods updated on {batch} of {n} nodes");
        let fit = Counts {
            pending: 0,
            new: updated,
            ..c
        };
        sim.record(step(w, action, &fit, None));
    }
    if let Some((node, b)) = first_fail {
        let action = format!(
            "the new daemon pod does not fit on {} of {n} nodes (first: {node}); the update stops once {max_unavailable} node(s) are unavailable",
            failed.len()
        );
        out.min_ready = n - failed.len().min(max_unavailable as usize) as i32;
        sim.record(step(w, action, &c, Some(b.clone())));
        out.blocker = Some(b);
    } else {
        out.completed = true;
        out.min_ready = out.min_ready.min(n - max_unavailable.min(n));
    }
    finish(out, sim, &pool)
}

/// A new DaemonSet: a pod for every node whose labels and taints admit it.
pub(super) fn daemonset_create(sim: &mut Sim, w: &Workload) -> Outcome {
    let base = template_spec(w);
    let hash = template_hash(w.after.pointer("/spec/template").unwrap_or(&Value::Null));
    let labels = template_labels(w, Some(("controller-revision-hash", &hash)));
    let mut pool = Pool::new(w.name.clone());
    // Which nodes should run it: the pod as written, ignoring resources, would be
    // accepted by the node's selector, affinity and taints.
    let probe = {
        let mut spec = base.clone();
        daemon_tolerations(&mut spec);
        spec
    };
    let nodes: Vec<String> = sim.cluster.nodes.iter().map(|n| n.name.clone()).collect();
    let mut eligible = Vec::new();
    let probed = sim.create(
        &w.namespace,
        &format!("{}-probe", w.name),
        &labels,
        ("DaemonSet", &w.name),
        &probe,
    );
    if let Err(refused) = probed {
        // The API server refuses every daemon pod alike: nothing runs.
        let c = Counts {
            desired: 0,
            new: 0,
            new_ready: 0,
            old: 0,
            old_ready: 0,
            pending: 0,
        };
        sim.record(step(
            w,
            "created: the API server refuses its pods".into(),
            &c,
            Some(refused.clone()),
        ));
        return Outcome {
            blocker: Some(refused),
            ..Outcome::default()
        };
    }
    if let Ok(p) = probed {
        let pod = sim.cluster.pods[p.index].unbound();
        let v = intel_scheduler::simulate(sim.cluster, &pod);
        let mut ok: Vec<String> = v.feasible.clone();
        for (node, status) in &v.rejected {
            if !matches!(
                status.plugin,
                "TaintToleration" | "NodeAffinity" | "NodeUnschedulable"
            ) {
                ok.push(node.clone());
            }
        }
        sim.delete(p.index, Some(&p.spec));
        eligible = nodes.into_iter().filter(|n| ok.contains(n)).collect();
    }
    let n = eligible.len() as i32;
    let mut failed: Vec<Blocker> = Vec::new();
    for (k, node) in eligible.iter().enumerate() {
        let mut spec = probe.clone();
        crate::impact::plan::set_path(
            &mut spec,
            &[
                "affinity",
                "nodeAffinity",
                "requiredDuringSchedulingIgnoredDuringExecution",
            ],
            serde_json::json!({
                "nodeSelectorTerms": [{"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node]}]}]
            }),
        );
        let name = format!("{}-{hash}-{k:05}", w.name);
        match sim.create(&w.namespace, &name, &labels, ("DaemonSet", &w.name), &spec) {
            Ok(p) => {
                if !sim.schedule(p.index) {
                    failed.push(sim.blocker(p.index));
                }
                pool.pods.push(p);
            }
            Err(b) => failed.push(b),
        }
    }
    let c = Counts {
        desired: n,
        new: pool.pods.len() as i32,
        new_ready: pool.ready(sim),
        old: 0,
        old_ready: 0,
        pending: failed.len() as i32,
    };
    let blocker = failed.first().cloned();
    sim.record(step(
        w,
        format!("created on {n} eligible nodes"),
        &c,
        blocker.clone(),
    ));
    Outcome {
        completed: blocker.is_none(),
        min_ready: c.new_ready,
        desired: n,
        waited: false,
        placed: c.new_ready as usize,
        blocker,
    }
}
