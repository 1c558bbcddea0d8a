//! `dns-outage`: cluster DNS down (CoreDNS scaled away or misconfigured), with the
//! Corefile it serves and the resolution errors of the workloads that depend on it.

use serde_json::{Value, json};

use crate::scenario::Fault;
use crate::signals::Previous;
use crate::world::World;

use super::cluster::{owner_of, pod_node, set_endpoint};
use super::lifecycle::{delete_pod, recount, spawn_pod};
use super::services::scale_down;
use super::{managed, record_edit, stamped};

// -- DNS ----------------------------------------------------------------------------------------

fn corefile(forward: &str) -> String {
    format!(
        ".:53 {{\n    errors\n    health {{\n        lameduck 5s\n      }}\n    ready\n    kubernetes cluster.local in-addr.arpa ip6.arpa {{\n      pods insecure\n      fallthrough in-addr.arpa ip6.arpa\n    }}\n    prometheus :9153\n    forward . {forward}\n    cache 30\n    loop\n    reload\n    loadbalance\n}}\n"
    )
}

/// Mounts the Corefile ConfigMap into CoreDNS's template (as the real Deployment does).
fn mount_corefile(spec: &mut Value) {
    spec["volumes"] = json!([{"name": "config-volume", "configMap": {"name": "coredns", "items": [{"key": "Corefile", "path": "Corefile"}], "defaultMode": 420}}]);
    spec["containers"][0]["args"] = json!(["-conf", "/etc/coredns/Corefile"]);
    spec["containers"][0]["volumeMounts"] =
        json!([{"name": "config-volume", "mountPath": "/etc/coredns", "readOnly": true}]);
}

/// Cluster DNS down. `mode: corefile` (default): the `coredns` ConfigMap in kube-system was
/// edited `editedAt` minutes ago (since + 15) to forward to `forward` (default
/// `8.8.8.8:53:53`, not an address); the running pods' reload failed and kept the old
/// config, then the pods were deleted `since` minutes ago to "pick it up" and their
/// replacements crash-loop on start (`plugin/forward: not an IP address or file: …`).
/// `mode: scaled-to-zero`: the Deployment was scaled to 0 `since` minutes ago. Either way
/// the kube-dns Service has no ready endpoint. Clients' DNS errors are separate
/// `peer-failure` faults with `error: dns` (any namespace).
pub(super) fn dns_outage(world: &mut World, f: &Fault) -> Result<(), String> {
    let ns = "kube-system";
    let app = "coredns";
    let s = f.since;
    let pods = world.pods_of(ns, app);
    if pods.is_empty() {
        return Err("dns-outage: no coredns pods in kube-system".into());
    }
    let mode = f.str("mode").unwrap_or("corefile");
    let created_days = 200.0 * 1440.0;
    let original = corefile("/etc/resolv.conf");
    let cm_meta = json!({"name": "coredns", "namespace": ns, "uid": world.rng.uid(),
        "creationTimestamp": world.at(created_days), "resourceVersion": "912",
        "labels": {"eks.amazonaws.com/component": "coredns", "k8s-app": "kube-dns"},
        "managedFields": [managed("eks", &world.at(created_days), json!({"f:data": {"f:Corefile": {}}}))]});
    let mut cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": cm_meta, "data": {"Corefile": original}});
    // The Deployment, its ReplicaSets and pods mount it.
    if let Some(d) = world.get_mut("Deployment", ns, app) {
        mount_corefile(&mut d["spec"]["template"]["spec"]);
    }
    for (_, rs) in world.names("ReplicaSet", Some(ns)) {
        if let Some(r) = world.get_mut("ReplicaSet", ns, &rs) {
            if owner_of(r).is_some_and(|(_, n)| n == app) {
                mount_corefile(&mut r["spec"]["template"]["spec"]);
            }
        }
    }
    for pod in &pods {
        if let Some(p) = world.get_mut("Pod", ns, pod) {
            mount_corefile(&mut p["spec"]);
        }
    }
    match mode {
        "corefile" => {
            let forward = f.str("forward").unwrap_or("8.8.8.8:53:53").to_string();
            let edited = f.num("editedAt").unwrap_or(s + 15.0).max(s);
            cm["data"]["Corefile"] = json!(corefile(&forward));
            let t = world.at(edited);
            record_edit(
                &mut cm,
                managed("kubectl-edit", &t, json!({"f:data": {"f:Corefile": {}}})),
            );
            world.add(cm);
            let error = format!("plugin/forward: not an IP address or file: \"{forward}\"");
            // The old pods' reload failed (their logs went with them); the pods were deleted.
            let restarts = f
                .num("restarts")
                .unwrap_or(((s - 1.0) / 2.5).clamp(2.0, 12.0)) as u64;
            for (i, pod) in pods.iter().enumerate() {
                let node = pod_node(world, ns, pod).ok_or("coredns pod without a node")?;
                let created = s - 0.02 * i as f64;
                let new = spawn_pod(world, ns, pod, None, Ok(node), created)
                    .ok_or("cannot recreate coredns pod")?;
                delete_pod(world, ns, pod, s + 0.01);
                let last = vec![stamped(world, 2.51, &error)];
                world.crash_loop(ns, &new, app, "Error", 1, restarts, s, last.clone());
                let (started, finished) = (world.at(2.51), world.at(2.5));
                if let Some(p) = world.get_mut("Pod", ns, &new) {
                    if let Some(cs) = p["status"]["containerStatuses"].as_array_mut() {
                        for c in cs {
                            c["lastState"]["terminated"]["startedAt"] = json!(started);
                            c["lastState"]["terminated"]["finishedAt"] = json!(finished);
                        }
                    }
                }
                if let Some(sig) = world.signals_mut(ns, &new, app) {
                    sig.rps = 0.0;
                    sig.previous = Some(Previous {
                        started_minutes_ago: 2.51,
                        ended_minutes_ago: 2.51,
                        last_lines: last,
                    });
                }
                set_endpoint(world, ns, &new, Some((false, false, false)));
            }
        }
        "scaled-to-zero" => {
            world.add(cm);
            scale_down(world, ns, app, s, "kubectl", &json!({}))?;
        }
        other => {
            return Err(format!(
                "dns-outage: unknown mode {other:?} (corefile, scaled-to-zero)"
            ));
        }
    }
    recount(world, ns, app, (s - 0.5).max(0.05));
    Ok(())
}
