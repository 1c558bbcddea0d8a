//! The controllers' view: ReplicaSet, Deployment and StatefulSet status, EndpointSlices
//! and PDBs recomputed from the pods. Its own file because every family ends with it.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::world::World;

use super::scheduler::node_views;

/// Recomputes ReplicaSet/Deployment/StatefulSet status, the EndpointSlice and the PDB of an
/// app from its pods, as the controllers would. `since`: when a flipped condition flipped.
pub(super) fn reconcile(world: &mut World, ns: &str, app: &str, since: f64) {
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
        let rss = world.owned_rs(ns, app);
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
pub(super) fn progressing(
    world: &mut World,
    ns: &str,
    app: &str,
    rs: &str,
    since: f64,
    stuck: bool,
) {
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
