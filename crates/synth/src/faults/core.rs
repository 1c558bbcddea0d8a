//! The building blocks of application incidents: a rollout, a memory leak, a crash loop, a
//! failing dependency (with client retries), CPU overload, and raw log lines and events for
//! whatever else a scenario needs to say.

use serde_json::{Value, json};

use crate::scenario::Fault;
use crate::signals::{LogLine, PeerError};
use crate::topology::Topology;
use crate::world::World;

pub const KINDS: &[&str] = &[
    "rollout",
    "memory-leak",
    "crashloop",
    "peer-failure",
    "overload",
    "errors",
    "log-lines",
    "event",
    "add-dependency",
];

pub fn apply(world: &mut World, topo: &mut Topology, f: &Fault) -> Option<Result<(), String>> {
    let r = match f.kind.as_str() {
        "rollout" => rollout(world, f),
        "memory-leak" => memory_leak(world, topo, f),
        "crashloop" => crashloop(world, f),
        "peer-failure" => peer_failure(world, f),
        "overload" => overload(world, f),
        "errors" => errors(world, f),
        "log-lines" => log_lines(world, f),
        "event" => event(world, f),
        "add-dependency" => add_dependency(world, f),
        _ => return None,
    };
    Some(r)
}

/// Pods of the fault's app, or an error naming the app.
pub fn pods(world: &World, f: &Fault) -> Result<Vec<String>, String> {
    let app = f.app()?;
    let pods = world.pods_of(&f.namespace, app);
    if pods.is_empty() {
        return Err(format!(
            "no pods of app {app:?} in namespace {:?}",
            f.namespace
        ));
    }
    Ok(pods)
}

/// A new revision of a Deployment `since` minutes ago: a new ReplicaSet (image `version`,
/// optional `env` changes, `removeMemoryLimit`), the old one scaled to zero, the pods
/// replaced (new names, new start times), and the controller's events.
pub fn rollout(world: &mut World, f: &Fault) -> Result<(), String> {
    let app = f.app()?.to_string();
    let ns = f.namespace.clone();
    let since = f.since;
    let dep = world
        .get("Deployment", &ns, &app)
        .cloned()
        .ok_or_else(|| format!("no Deployment {ns}/{app}"))?;
    let old_rev: u64 = dep["metadata"]["annotations"]["deployment.kubernetes.io/revision"]
        .as_str()
        .and_then(|r| r.parse().ok())
        .unwrap_or(1);
    let rev = old_rev + 1;
    let image_base = dep["spec"]["template"]["spec"]["containers"][0]["image"]
        .as_str()
        .unwrap_or_default()
        .rsplit_once(':')
        .map(|(b, _)| b.to_string())
        .unwrap_or_default();
    let version = f.str("version").unwrap_or("next").to_string();
    let image = format!("{image_base}:{version}");
    let mut rng = world.rng.fork(&format!("rollout/{ns}/{app}/{version}"));
    let hash: String = (0..10).map(|_| rng.suffix(1)).collect();
    let rs_name = format!("{app}-{hash}");

    let mut template = dep["spec"]["template"].clone();
    template["spec"]["containers"][0]["image"] = json!(image);
    if let Some(env) = f.params.get("env").and_then(Value::as_object) {
        let list = template["spec"]["containers"][0]["env"].as_array_mut();
        if let Some(list) = list {
            for (k, v) in env {
                list.retain(|e| e["name"] != k.as_str());
                if !v.is_null() {
                    list.push(json!({"name": k, "value": v}));
                }
            }
        }
    }
    if f.params.get("removeMemoryLimit").and_then(Value::as_bool) == Some(true) {
        if let Some(l) = template["spec"]["containers"][0]["resources"]["limits"].as_object_mut() {
            l.remove("memory");
        }
    }
    if let Some(args) = f.params.get("args") {
        template["spec"]["containers"][0]["args"] = args.clone();
    }
    template["metadata"]["labels"]["pod-template-hash"] = json!(hash);
    let replicas = dep["spec"]["replicas"].as_u64().unwrap_or(1);

    // Old ReplicaSets to zero, the new one owning the pods.
    for (_, name) in world.names("ReplicaSet", Some(&ns)) {
        if let Some(rs) = world.get_mut("ReplicaSet", &ns, &name) {
            if rs["metadata"]["ownerReferences"][0]["name"] == app.as_str() {
                rs["spec"]["replicas"] = json!(0);
                rs["status"] = json!({"replicas": 0, "observedGeneration": 2});
            }
        }
    }
    let dep_uid = dep["metadata"]["uid"].clone();
    let mut rs_meta = json!({"name": rs_name, "namespace": ns, "uid": world.rng.uid(), "creationTimestamp": world.at(since),
        "labels": template["metadata"]["labels"].clone(), "resourceVersion": "1",
        "annotations": {"deployment.kubernetes.io/revision": rev.to_string(), "deployment.kubernetes.io/desired-replicas": replicas.to_string()},
        "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": app, "uid": dep_uid, "controller": true, "blockOwnerDeletion": true}]});
    rs_meta["labels"]["pod-template-hash"] = json!(hash);
    let rs_uid = rs_meta["uid"].clone();
    world.add(json!({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": rs_meta,
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": app, "pod-template-hash": hash}}, "template": template.clone()},
        "status": {"replicas": replicas, "readyReplicas": replicas, "availableReplicas": replicas, "observedGeneration": 1}}));
    let changed_at = world.at(since);
    if let Some(d) = world.get_mut("Deployment", &ns, &app) {
        d["spec"]["template"] = template.clone();
        d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] = json!(rev.to_string());
        d["metadata"]["generation"] = json!(rev);
        d["status"]["observedGeneration"] = json!(rev);
        d["metadata"]["managedFields"] = json!([{"manager": "kubectl-client-side-apply", "operation": "Update", "apiVersion": "apps/v1",
            "time": changed_at, "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {"f:template": {"f:spec": {"f:containers": {}}}}}}]);
    }
    // Replace the pods: same placement, new identity.
    let old_pods = pods(world, f)?;
    for (i, old) in old_pods.iter().enumerate() {
        let Some(mut pod) = world.remove("Pod", &ns, old) else {
            continue;
        };
        let new_name = format!("{rs_name}-{}", rng.suffix(5));
        let created = since - 0.5 - i as f64 * 0.8;
        pod["metadata"]["name"] = json!(new_name);
        pod["metadata"]["uid"] = json!(world.rng.uid());
        pod["metadata"]["creationTimestamp"] = json!(world.at(created));
        pod["metadata"]["labels"]["pod-template-hash"] = json!(hash);
        pod["metadata"]["ownerReferences"][0]["name"] = json!(rs_name);
        pod["metadata"]["ownerReferences"][0]["uid"] = rs_uid.clone();
        let node = pod["spec"]["nodeName"].clone();
        pod["spec"] = template["spec"].clone();
        pod["spec"]["nodeName"] = node;
        pod["status"]["startTime"] = json!(world.at(created));
        if let Some(cs) = pod["status"]["containerStatuses"].as_array_mut() {
            for c in cs {
                c["image"] = json!(image);
                c["restartCount"] = json!(0);
                c["state"] = json!({"running": {"startedAt": world.at(created - 0.2)}});
                if let Some(o) = c.as_object_mut() {
                    o.remove("lastState");
                }
            }
        }
        world.add(pod);
        for s in world
            .signals
            .containers
            .iter_mut()
            .filter(|s| s.namespace == ns && &s.pod == old)
        {
            s.pod = new_name.clone();
            s.started_minutes_ago = created;
        }
        world.reindex_signals();
        for pn in world
            .signals
            .pod_nodes
            .iter_mut()
            .filter(|((n, p), _)| *n == ns && p == old)
        {
            pn.0.1 = new_name.clone();
        }
        world.event(
            ("Pod", &ns, &new_name),
            "Normal",
            "Scheduled",
            &format!("Successfully assigned {ns}/{new_name}"),
            "default-scheduler",
            created,
            created,
            1,
        );
        world.event(
            ("Pod", &ns, &new_name),
            "Normal",
            "Pulled",
            &format!("Successfully pulled image \"{image}\" in 2.1s"),
            "kubelet",
            created - 0.1,
            created - 0.1,
            1,
        );
    }
    world.event(
        ("Deployment", &ns, &app),
        "Normal",
        "ScalingReplicaSet",
        &format!("Scaled up replica set {rs_name} from 0 to {replicas}"),
        "deployment-controller",
        since,
        since,
        1,
    );
    Ok(())
}

/// Memory grows from `since` until the limit; containers are OOMKilled and crash-loop.
/// `restarts` (default: one per 20 minutes) and `rollout` (a version: the leak came with it).
fn memory_leak(world: &mut World, topo: &mut Topology, f: &Fault) -> Result<(), String> {
    let _ = topo;
    if f.str("version").is_some() {
        rollout(world, f)?;
    }
    let ns = f.namespace.clone();
    let app = f.app()?.to_string();
    let since = f.since;
    let restarts = f.num("restarts").unwrap_or((since / 20.0).max(1.0)) as u64;
    for (i, pod) in pods(world, f)?.into_iter().enumerate() {
        let node = world
            .get("Pod", &ns, &pod)
            .and_then(|p| p["spec"]["nodeName"].as_str())
            .unwrap_or_default()
            .to_string();
        let limit = world
            .signals_mut(&ns, &pod, &app)
            .and_then(|s| s.mem_limit)
            .unwrap_or(512.0 * 1024.0 * 1024.0);
        if let Some(s) = world.signals_mut(&ns, &pod, &app) {
            s.onset_minutes_ago = Some(since);
            s.mem_slope_per_min = (limit - s.mem_base) / 15.0;
        }
        let mb = (limit / 1024.0 / 1024.0) as u64;
        let last = vec![
            format!(
                "level=warn msg=\"heap growing\" heap_mb={} goroutines=812",
                mb * 9 / 10
            ),
            "fatal error: runtime: out of memory".to_string(),
            String::new(),
            "runtime stack:".to_string(),
            "runtime.throw({0x1a2b3c4, 0x16})".to_string(),
            "\t/usr/local/go/src/runtime/panic.go:1047 +0x5d".to_string(),
            format!(
                "main.(*SessionCache).Put(0xc000a1e000, {{0xc0123, 0x24}})\n\t/src/{app}/cache.go:88 +0x1a4"
            ),
        ];
        world.crash_loop(
            &ns,
            &pod,
            &app,
            "OOMKilled",
            137,
            restarts + i as u64,
            since,
            last,
        );
        world.event(("Node", "", &node), "Warning", "OOMKilling",
            &format!("Memory cgroup out of memory: Killed process {} ({app}) total-vm:{}kB, anon-rss:{}kB, file-rss:0kB, shmem-rss:0kB, UID:65532 pgtables:2048kB oom_score_adj:999",
                12000 + i * 37, mb * 1400, mb * 1024), "kernel-monitor", since - 12.0, 3.0, restarts);
    }
    if let Some(d) = world.get_mut("Deployment", &ns, &app) {
        d["status"]["readyReplicas"] = json!(0);
        d["status"]["availableReplicas"] = json!(0);
        d["status"]["unavailableReplicas"] = d["status"]["replicas"].clone();
    }
    Ok(())
}

/// A container that exits at start: `reason` (Error), `exitCode` (1), `message` (its last log
/// lines, `\n`-separated), `restarts`, optionally after a `version` rollout.
fn crashloop(world: &mut World, f: &Fault) -> Result<(), String> {
    if f.str("version").is_some() {
        rollout(world, f)?;
    }
    let ns = f.namespace.clone();
    let app = f.app()?.to_string();
    let reason = f.str("reason").unwrap_or("Error").to_string();
    let exit = f.num("exitCode").unwrap_or(1.0) as i64;
    let lines: Vec<String> = f
        .str("message")
        .unwrap_or("fatal: exiting")
        .lines()
        .map(str::to_string)
        .collect();
    let restarts = f
        .num("restarts")
        .unwrap_or((f.since / 5.0).clamp(3.0, 60.0)) as u64;
    let all = pods(world, f)?;
    let count = f.num("pods").map(|n| n as usize).unwrap_or(all.len());
    for pod in all.into_iter().take(count) {
        world.crash_loop(
            &ns,
            &pod,
            &app,
            &reason,
            exit,
            restarts,
            f.since,
            lines.clone(),
        );
    }
    Ok(())
}

fn peer_error(name: &str) -> Result<PeerError, String> {
    Ok(match name {
        "timeout" => PeerError::Timeout,
        "refused" => PeerError::Refused,
        "reset" => PeerError::Reset,
        "pool-exhausted" => PeerError::PoolExhausted,
        "dns" => PeerError::Dns,
        "server-error" => PeerError::ServerError,
        "tls-expired" => PeerError::TlsExpired,
        other => {
            return Err(format!(
                "unknown peer error {other:?} (timeout, refused, reset, pool-exhausted, dns, server-error, tls-expired)"
            ));
        }
    })
}

/// `app`'s calls to `peer` fail with `error` from `since`: error lines with retries, an
/// `errorRate` of its own requests failing with `status`, latency `latencyMs`.
fn peer_failure(world: &mut World, f: &Fault) -> Result<(), String> {
    let peer = f
        .str("peer")
        .ok_or("peer-failure needs `peer`")?
        .to_string();
    let err = peer_error(f.str("error").unwrap_or("timeout"))?;
    let app = f.app()?.to_string();
    let ns = f.namespace.clone();
    pods(world, f)?;
    for s in world.app_signals_mut(&ns, &app) {
        if !s.peers.iter().any(|p| p.service == peer) {
            // Hidden or undeclared coupling: the app reaches the peer without config naming it.
            s.peers.push(crate::signals::Peer {
                service: peer.clone(),
                namespace: ns.clone(),
                host: format!("{peer}.{ns}.svc.cluster.local"),
                port: 8080,
                cluster_ip: String::new(),
            });
        }
        s.failing_peer = Some((peer.clone(), err));
        s.onset_minutes_ago = Some(s.onset_minutes_ago.map_or(f.since, |o| o.max(f.since)));
        s.error_rate = f.num("errorRate").unwrap_or(0.3);
        s.error_status = f.num("status").unwrap_or(504.0) as u16;
        s.latency_ms = f.num("latencyMs").unwrap_or(2500.0);
        if let Some(m) = f.num("trafficFactor") {
            s.rps *= m;
        }
    }
    // Fill ClusterIPs of peers added above from the Service.
    let ip = world
        .get("Service", &ns, &peer)
        .and_then(|s| s["spec"]["clusterIP"].as_str())
        .unwrap_or_default()
        .to_string();
    for s in world.app_signals_mut(&ns, &app) {
        for p in s
            .peers
            .iter_mut()
            .filter(|p| p.service == peer && p.cluster_ip.is_empty())
        {
            p.cluster_ip = ip.clone();
        }
    }
    Ok(())
}

/// CPU use multiplied by `cpuFactor` from `since` (throttled at its limit), traffic by
/// `trafficFactor`, latency `latencyMs`.
fn overload(world: &mut World, f: &Fault) -> Result<(), String> {
    let app = f.app()?.to_string();
    let ns = f.namespace.clone();
    pods(world, f)?;
    for s in world.app_signals_mut(&ns, &app) {
        s.onset_minutes_ago = Some(f.since);
        s.cpu_factor = f.num("cpuFactor").unwrap_or(3.0);
        s.rps *= f.num("trafficFactor").unwrap_or(1.0);
        if let Some(l) = f.num("latencyMs") {
            s.latency_ms = l;
        }
        if let Some(e) = f.num("errorRate") {
            s.error_rate = e;
            s.error_status = f.num("status").unwrap_or(503.0) as u16;
        }
        if f.params.get("memory").and_then(Value::as_bool) == Some(true) {
            s.mem_slope_per_min = s.mem_request / 60.0;
        }
    }
    Ok(())
}

/// The app's own requests fail: `errorRate`, `status`, `latencyMs`, from `since`.
fn errors(world: &mut World, f: &Fault) -> Result<(), String> {
    let app = f.app()?.to_string();
    let ns = f.namespace.clone();
    pods(world, f)?;
    for s in world.app_signals_mut(&ns, &app) {
        s.onset_minutes_ago = Some(f.since);
        s.error_rate = f.num("errorRate").unwrap_or(0.2);
        s.error_status = f.num("status").unwrap_or(500.0) as u16;
        s.latency_ms = f.num("latencyMs").unwrap_or(s.latency_ms);
    }
    Ok(())
}

/// Adds `lines` (a list of strings) to the logs of the app's pods, spread from `since`.
fn log_lines(world: &mut World, f: &Fault) -> Result<(), String> {
    let app = f.app()?.to_string();
    let ns = f.namespace.clone();
    let lines: Vec<String> = f
        .params
        .get("lines")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|l| l.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    if lines.is_empty() {
        return Err("log-lines needs a non-empty `lines` list".into());
    }
    let repeat = f.num("repeat").unwrap_or(1.0).max(1.0) as usize;
    pods(world, f)?;
    for s in world.app_signals_mut(&ns, &app) {
        let n = lines.len() * repeat;
        for i in 0..n {
            let t = f.since - f.since * (i as f64) / (n as f64);
            s.extra_lines.push(LogLine {
                minutes_ago: t.max(0.1),
                text: lines[i % lines.len()].clone(),
            });
        }
    }
    Ok(())
}

/// An event: `object` {kind, namespace, name} or the app's first pod, `reason`, `message`,
/// `eventType` (Warning), `component`, `count`.
fn event(world: &mut World, f: &Fault) -> Result<(), String> {
    let (kind, ns, name) = match f.params.get("object") {
        Some(o) => (
            o["kind"].as_str().unwrap_or("Pod").to_string(),
            o["namespace"].as_str().unwrap_or(&f.namespace).to_string(),
            o["name"].as_str().unwrap_or_default().to_string(),
        ),
        None => (
            "Pod".to_string(),
            f.namespace.clone(),
            pods(world, f)?.first().cloned().unwrap_or_default(),
        ),
    };
    let reason = f.str("reason").ok_or("event needs `reason`")?.to_string();
    let message = f.str("message").unwrap_or_default().to_string();
    let etype = f.str("eventType").unwrap_or("Warning").to_string();
    let component = f.str("component").unwrap_or("kubelet").to_string();
    let count = f.num("count").unwrap_or(1.0) as u64;
    world.event(
        (&kind, &ns, &name),
        &etype,
        &reason,
        &message,
        &component,
        f.since,
        (f.since - 1.0).max(0.2),
        count,
    );
    Ok(())
}

/// Configuration that has always been there: `app` reaches `peer` through env `env`
/// (`http://<peer>.<ns>.svc.cluster.local:<port><path>`). No rollout, no events: the kind of
/// coupling nobody remembers until it breaks.
fn add_dependency(world: &mut World, f: &Fault) -> Result<(), String> {
    let app = f.app()?.to_string();
    let ns = f.namespace.clone();
    let peer = f
        .str("peer")
        .ok_or("add-dependency needs `peer`")?
        .to_string();
    let env = f
        .str("env")
        .ok_or("add-dependency needs `env`")?
        .to_string();
    let svc = world
        .get("Service", &ns, &peer)
        .cloned()
        .ok_or_else(|| format!("no Service {ns}/{peer}"))?;
    let port = svc["spec"]["ports"][0]["port"].as_u64().unwrap_or(8080) as u16;
    let ip = svc["spec"]["clusterIP"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let host = format!("{peer}.{ns}.svc.cluster.local");
    let value = format!("http://{host}:{port}{}", f.str("path").unwrap_or(""));
    let var = json!({"name": env, "value": value});
    let push = |spec: &mut Value| {
        if let Some(list) = spec["containers"][0]["env"].as_array_mut() {
            list.push(var.clone());
        }
    };
    if let Some(d) = world.get_mut("Deployment", &ns, &app) {
        push(&mut d["spec"]["template"]["spec"]);
    }
    for (_, rs) in world.names("ReplicaSet", Some(&ns)) {
        if let Some(r) = world.get_mut("ReplicaSet", &ns, &rs) {
            if r["metadata"]["ownerReferences"][0]["name"] == app.as_str() {
                push(&mut r["spec"]["template"]["spec"]);
            }
        }
    }
    for pod in pods(world, f)? {
        if let Some(p) = world.get_mut("Pod", &ns, &pod) {
            push(&mut p["spec"]);
        }
    }
    for s in world.app_signals_mut(&ns, &app) {
        s.peers.push(crate::signals::Peer {
            service: peer.clone(),
            namespace: ns.clone(),
            host: host.clone(),
            port,
            cluster_ip: ip.clone(),
        });
    }
    Ok(())
}
